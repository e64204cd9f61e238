//! Against the real NUT daemon (`upsd` with the `dummy-ups` driver, no
//! hardware). Runs for real when `CI=true` (and fails if NUT is missing);
//! elsewhere it is skipped, saying why, when `/lib/nut/upsd` is absent.

use clap::Parser;
use nines_runtime::power::NutClient;
use nines_runtime::{start, Cli, ServiceConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UPSD: &str = "/lib/nut/upsd";
const DUMMY: &str = "/lib/nut/dummy-ups";

/// The two daemons; killed by pid when dropped.
struct Nut {
    dir: tempfile::TempDir,
    port: u16,
    upsd: Option<Child>,
    dummy: Option<Child>,
}

impl Nut {
    fn dev(&self) -> PathBuf {
        self.dir.path().join("ups.dev")
    }

    fn set_status(&self, s: &str) {
        std::fs::write(self.dev(), format!("ups.status: {s}\n")).unwrap();
    }

    fn stop_upsd(&mut self) {
        if let Some(mut c) = self.upsd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nut {
    fn drop(&mut self) {
        self.stop_upsd();
        if let Some(mut c) = self.dummy.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(bin: &str, args: &[&str], dir: &Path) -> Child {
    Command::new(bin)
        .args(args)
        .env("NUT_CONFPATH", dir)
        .env("NUT_STATEPATH", dir.join("state"))
        .env("NUT_ALTPIDPATH", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"))
}

fn start_nut() -> Nut {
    let dir = tempfile::tempdir().unwrap();
    let dpath = dir.path().to_path_buf();
    let d = dpath.as_path();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::create_dir(d.join("state")).unwrap();
    std::fs::write(
        d.join("ups.conf"),
        format!(
            "[ups]\n  driver = dummy-ups\n  port = {}\n",
            d.join("ups.dev").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("upsd.conf"),
        format!(
            "LISTEN 127.0.0.1 {port}\nSTATEPATH {}\n",
            d.join("state").display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("upsd.users"), "").unwrap();
    std::fs::write(d.join("ups.dev"), "ups.status: OL\n").unwrap();
    let mut nut = Nut {
        port,
        upsd: None,
        dummy: Some(spawn(DUMMY, &["-a", "ups", "-u", "root", "-D"], d)),
        dir,
    };
    // upsd needs the driver's socket: wait for it (bounded).
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        let ready = std::fs::read_dir(d.join("state"))
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("dummy-ups"))
            })
            .unwrap_or(false);
        if ready {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    nut.upsd = Some(spawn(UPSD, &["-u", "root", "-D"], nut.dir.path()));
    nut
}

fn should_run() -> bool {
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    let have = Path::new(UPSD).exists() && Path::new(DUMMY).exists();
    if ci {
        assert!(have, "CI=true but NUT is not installed ({UPSD}, {DUMMY}): apt-get install nut-server nut-client");
        return true;
    }
    if !have {
        println!(
            "skipped: {UPSD} is absent (apt-get install nut-server nut-client to run this test)"
        );
    }
    have
}

async fn status_within(c: &mut NutClient, want: &str, within: Duration) -> Result<(), String> {
    let end = Instant::now() + within;
    let mut last = Err("no reading".to_string());
    while Instant::now() < end {
        last = c.status().await;
        if last.as_deref() == Ok(want) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("wanted {want}, last reading {last:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_upsd_gates_writes() {
    if !should_run() {
        return;
    }
    let mut nut = start_nut();
    let mut client = NutClient::new("127.0.0.1", nut.port, "ups", Duration::from_secs(1));
    status_within(&mut client, "OL", Duration::from_secs(10))
        .await
        .unwrap();

    // The service, gated by this upsd.
    let data = tempfile::tempdir().unwrap();
    let cfg = ServiceConfig {
        gated: true,
        retry_after: Duration::from_secs(2),
        ..ServiceConfig::new("nut-test")
    };
    let power = format!("nut://127.0.0.1:{}/ups", nut.port);
    let cli = Cli::try_parse_from([
        "kv",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--power",
        &power,
        "--power-poll",
        "100ms",
        "--power-grace",
        "1s",
    ])
    .unwrap();
    let svc = start(cfg, cli).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let put = |k: &str| {
        http.put(format!("http://{}/v1/kv/{k}", svc.addr))
            .body("v")
            .send()
    };
    let end = Instant::now() + Duration::from_secs(5);
    while put("warm").await.unwrap().status() != 200 {
        assert!(Instant::now() < end, "writes never accepted on OL");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // OB: upsd reports it within about a second, the service within its poll.
    nut.set_status("OB");
    status_within(&mut client, "OB", Duration::from_secs(5))
        .await
        .unwrap();
    let seen = Instant::now();
    loop {
        let r = put("x").await.unwrap();
        if r.status() == 503 {
            assert_eq!(r.headers()["retry-after"], "2");
            let b: serde_json::Value = r.json().await.unwrap();
            assert_eq!(b["reason"], "on_battery");
            break;
        }
        assert!(
            seen.elapsed() < Duration::from_secs(1),
            "not refused within 1s of upsd reporting OB"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nut.set_status("OB LB");
    status_within(&mut client, "OB LB", Duration::from_secs(5))
        .await
        .unwrap();
    nut.set_status("OL");
    status_within(&mut client, "OL", Duration::from_secs(5))
        .await
        .unwrap();
    let seen = Instant::now();
    while put("y").await.unwrap().status() != 200 {
        assert!(
            seen.elapsed() < Duration::from_secs(1),
            "not reopened within 1s of OL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // upsd gone: fail safe after the grace period, and say why.
    nut.stop_upsd();
    let gone = Instant::now();
    loop {
        let r = put("z").await.unwrap();
        if r.status() == 503 {
            let b: serde_json::Value = r.json().await.unwrap();
            assert_eq!(b["reason"], "power_monitor_unreachable");
            break;
        }
        assert!(
            gone.elapsed() < Duration::from_secs(4),
            "gate still open 4s after upsd stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        gone.elapsed() >= Duration::from_millis(900),
        "closed before the grace period"
    );
    let m = http
        .get(format!("http://{}/metrics", svc.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("nines_write_gate_reason{reason=\"power_monitor_unreachable\"} 1"),
        "{m}"
    );
    assert!(m.contains("nines_power_monitor_up{error=\""), "{m}");
    svc.stop().await;
}
