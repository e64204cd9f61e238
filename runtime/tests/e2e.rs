//! End to end: the service binaries (`kv`, `kv-sync`) as separate processes on
//! loopback, checked from outside over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-peer-token";

/// A service process; killed (SIGKILL) when dropped.
struct Proc {
    child: Option<Child>,
}

impl Proc {
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn spawn(bin: &str, port: u16, data: &Path, args: &[&str]) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.with_extension("log"))
        .unwrap();
    let child = Command::new(bin)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("NINES_PEER_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Proc { child: Some(child) }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn wait_healthy(c: &reqwest::Client, port: u16) {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(r) = c
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < end,
            "service on {port} never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn put(
    c: &reqwest::Client,
    port: u16,
    key: &str,
    val: &str,
) -> Result<(u16, Option<String>, serde_json::Value), reqwest::Error> {
    let r = c
        .put(format!("http://127.0.0.1:{port}/v1/kv/{key}"))
        .body(val.to_string())
        .send()
        .await?;
    let s = r.status().as_u16();
    let ra = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    Ok((s, ra, body))
}

async fn get(c: &reqwest::Client, port: u16, key: &str) -> (u16, String) {
    let r = c
        .get(format!("http://127.0.0.1:{port}/v1/kv/{key}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn last_seq(c: &reqwest::Client, port: u16) -> Option<u64> {
    let m = c
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    m.lines()
        .find_map(|l| l.strip_prefix("nines_log_last_seq "))
        .and_then(|v| v.trim().parse().ok())
}

/// Retries `f` every 25ms until it holds or `within` passes.
async fn eventually(within: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

struct Cluster {
    dir: tempfile::TempDir,
    ports: [u16; 3], // primary, replica 1, replica 2
    status: PathBuf,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("ups.status");
        std::fs::write(&status, "OL\n").unwrap();
        Cluster {
            ports: [free_port(), free_port(), free_port()],
            status,
            dir,
        }
    }

    fn replica(&self, i: usize) -> Proc {
        let data = self.dir.path().join(format!("r{i}"));
        spawn(
            env!("CARGO_BIN_EXE_kv"),
            self.ports[i],
            &data,
            &["--role", "replica", "--power", "none"],
        )
    }

    fn primary(&self) -> Proc {
        let data = self.dir.path().join("p");
        let power = format!("file:{}", self.status.display());
        let p1 = format!("http://127.0.0.1:{}", self.ports[1]);
        let p2 = format!("http://127.0.0.1:{}", self.ports[2]);
        spawn(
            env!("CARGO_BIN_EXE_kv"),
            self.ports[0],
            &data,
            &[
                "--power",
                &power,
                "--power-poll",
                "100ms",
                "--peer",
                &p1,
                "--peer",
                &p2,
                "--max-lag",
                "1s",
            ],
        )
    }

    fn set_power(&self, s: &str) {
        std::fs::write(&self.status, s).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_and_two_replicas() {
    let cl = Cluster::new();
    let c = client();
    let mut r1 = cl.replica(1);
    let mut r2 = cl.replica(2);
    let mut p = cl.primary();
    let [pp, p1, p2] = cl.ports;
    for port in cl.ports {
        wait_healthy(&c, port).await;
    }

    // Writes acknowledged on line power.
    assert!(
        eventually(Duration::from_secs(5), async || matches!(
            put(&c, pp, "hello", "world").await,
            Ok((200, _, _))
        ))
        .await,
        "writes acknowledged on OL"
    );

    // On battery: refused within a second, with Retry-After and a JSON reason; reads work.
    cl.set_power("OB\n");
    let t = Instant::now();
    assert!(
        eventually(Duration::from_secs(1), async || matches!(
            put(&c, pp, "probe", "x").await,
            Ok((503, _, _))
        ))
        .await,
        "refused within 1s of OB"
    );
    assert!(t.elapsed() < Duration::from_millis(1100));
    let (s, ra, b) = put(&c, pp, "refused", "x").await.unwrap();
    assert_eq!((s, ra.as_deref()), (503, Some("2")));
    assert_eq!(
        (b["reason"].as_str(), b["retryable"].as_bool()),
        (Some("on_battery"), Some(true))
    );
    assert_eq!(get(&c, pp, "hello").await, (200, "world".into()));
    assert_eq!(get(&c, pp, "refused").await.0, 404);
    assert_eq!(
        c.get(format!("http://127.0.0.1:{pp}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    cl.set_power("OL\n");
    assert!(
        eventually(Duration::from_secs(1), async || matches!(
            put(&c, pp, "resumed", "y").await,
            Ok((200, _, _))
        ))
        .await,
        "writes resume on OL"
    );

    // The replication endpoint needs the token.
    let u = format!("http://127.0.0.1:{p1}/v1/replicate");
    assert_eq!(c.post(&u).send().await.unwrap().status(), 401);
    assert_eq!(
        c.post(&u)
            .bearer_auth("nope")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // kill -9 during a write load; every acknowledged write survives the restart.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..16 {
        let (acked, stop, c) = (acked.clone(), stop.clone(), c.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..100_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let k = format!("load-{w}-{i}");
                match put(&c, pp, &k, &k).await {
                    Ok((200, _, _)) => acked.lock().unwrap().push(k),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    p.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "the load wrote too little: {}",
        acked.len()
    );
    let mut p = cl.primary();
    wait_healthy(&c, pp).await;
    for k in &acked {
        assert_eq!(
            get(&c, pp, k).await,
            (200, k.clone()),
            "acknowledged write {k} lost"
        );
    }
    assert_eq!(get(&c, pp, "hello").await.0, 200);
    // And on the peers once they catch up.
    let want = last_seq(&c, pp).await.unwrap();
    for port in [p1, p2] {
        assert!(
            eventually(Duration::from_secs(15), async || last_seq(&c, port).await
                == Some(want))
            .await,
            "peer {port} did not catch up to {want}"
        );
        for k in acked.iter().step_by(7) {
            assert_eq!(
                get(&c, port, k).await,
                (200, k.clone()),
                "peer {port} misses {k}"
            );
        }
    }

    // A stopped peer: lag grows past max lag (1s) and closes the gate until it is back.
    r2.kill9();
    assert!(matches!(
        put(&c, pp, "during-outage", "1").await,
        Ok((200, _, _))
    ));
    assert!(
        eventually(Duration::from_secs(5), async || matches!(put(&c, pp, "lagprobe", "1").await, Ok((503, _, b)) if b["reason"] == "replication_lag")).await,
        "lag over max lag closes the gate"
    );
    let m = c
        .get(format!("http://127.0.0.1:{pp}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("nines_write_gate_reason{reason=\"replication_lag\"} 1"),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "nines_replication_peer_up{{peer=\"http://127.0.0.1:{p2}\"}} 0"
        )),
        "{m}"
    );
    r2 = cl.replica(2);
    assert!(
        eventually(Duration::from_secs(10), async || matches!(
            put(&c, pp, "after-outage", "1").await,
            Ok((200, _, _))
        ))
        .await,
        "the gate reopens once the peer catches up"
    );
    assert!(
        eventually(Duration::from_secs(5), async || get(
            &c,
            p2,
            "during-outage"
        )
        .await
        .0 == 200)
        .await
    );
    p.kill9();
    r1.kill9();
    r2.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_mode_without_quorum_refuses_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let (pp, rp) = (free_port(), free_port());
    let peer = format!("http://127.0.0.1:{rp}");
    let pdata = dir.path().join("p");
    let args = ["--power", "none", "--peer", &peer];
    let mut p = spawn(env!("CARGO_BIN_EXE_kv-sync"), pp, &pdata, &args);
    wait_healthy(&c, pp).await;
    // The only peer is down: quorum 2 cannot be reached.
    let (s, ra, b) = put(&c, pp, "ghost", "boo").await.unwrap();
    assert_eq!((s, ra.as_deref()), (503, Some("2")));
    assert_eq!(
        (b["reason"].as_str(), b["retryable"].as_bool()),
        (Some("sync_quorum_unreachable"), Some(true))
    );
    assert_eq!(get(&c, pp, "ghost").await.0, 404);
    // Not after a restart either, nor on the peer once it is up.
    p.kill9();
    let mut r = spawn(
        env!("CARGO_BIN_EXE_kv-sync"),
        rp,
        &dir.path().join("r"),
        &["--role", "replica", "--power", "none"],
    );
    let mut p = spawn(env!("CARGO_BIN_EXE_kv-sync"), pp, &pdata, &args);
    wait_healthy(&c, pp).await;
    wait_healthy(&c, rp).await;
    assert_eq!(get(&c, pp, "ghost").await.0, 404);
    assert!(
        eventually(Duration::from_secs(5), async || matches!(
            put(&c, pp, "real", "yes").await,
            Ok((200, _, _))
        ))
        .await,
        "acknowledged once the quorum is reachable"
    );
    assert!(
        eventually(Duration::from_secs(5), async || get(&c, rp, "real").await
            == (200, "yes".into()))
        .await,
        "the peer shows it once committed"
    );
    assert_eq!(get(&c, rp, "ghost").await.0, 404);
    assert_eq!(last_seq(&c, pp).await, Some(1));
    p.kill9();
    r.kill9();
}

#[tokio::test]
async fn unreachable_upsd_closes_the_gate_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let port = free_port();
    let dead = format!("nut://127.0.0.1:{}/ups", free_port());
    let peer = format!("http://127.0.0.1:{}", free_port());
    let mut p = spawn(
        env!("CARGO_BIN_EXE_kv"),
        port,
        &dir.path().join("p"),
        &["--power", &dead, "--power-grace", "500ms", "--peer", &peer],
    );
    wait_healthy(&c, port).await;
    let (s, ra, b) = put(&c, port, "k", "v").await.unwrap();
    assert_eq!((s, ra.as_deref()), (503, Some("2")));
    assert_eq!(b["reason"], "power_monitor_unreachable");
    let m = c
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("nines_power_monitor_up{error=\"cannot connect to upsd"),
        "{m}"
    );
    p.kill9();
}

#[test]
fn primary_without_peers_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(["--listen", "127.0.0.1:0", "--power", "none", "--data-dir"])
        .arg(dir.path())
        .env("NINES_PEER_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("replicates async") && err.contains("--peer"),
        "{err}"
    );
}
