// Helpers of the end-to-end tests of a service (the runtime's example `kv`
// binaries, and every project `nines gen` writes, which carries this file as
// `tests/support/mod.rs`): service processes on loopback, a small HTTP/1.1
// client, and the real NUT daemon (`upsd` with its `dummy-ups` driver).
//
// Only the standard library: the tests need nothing the service does not.

#![allow(
    dead_code,
    reason = "each test crate that includes this module uses a different part of it"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The peer token every test process shares.
pub const TOKEN: &str = "e2e-peer-token";

/// A scratch folder, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new empty folder under the system's temporary folder.
    pub fn new(label: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "nines-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed with SIGKILL (and reaped) when dropped.
pub struct Proc(Option<Child>);

impl Proc {
    /// `kill -9`, then wait for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.0.take() {
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

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// Starts the service binary `bin` on `port` with its data in `data` (its
/// log goes beside it, in `data.log`) and the shared peer token.
pub fn spawn_service(bin: &str, port: u16, data: &Path, args: &[&str]) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.with_extension("log"))
        .expect("service log file");
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
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Proc(Some(child))
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The JSON body's `reason`.
    pub fn reason(&self) -> String {
        self.json()["reason"].as_str().unwrap_or("").to_string()
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on its own connection.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // A server may answer (413) before reading a body it refuses: the answer
    // still counts, so a failed body write is not an error by itself.
    let sent = s.write_all(body);
    let mut raw = Vec::new();
    let read = s.read_to_end(&mut raw);
    if raw.is_empty() {
        sent?;
        read?;
    }
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// `PUT /v1/kv/{key}`.
pub fn put(port: u16, key: &str, value: &str) -> std::io::Result<Reply> {
    request(port, "PUT", &format!("/v1/kv/{key}"), &[], value.as_bytes())
}

/// `GET /v1/kv/{key}`: the status and the body as text.
pub fn get(port: u16, key: &str) -> (u16, String) {
    match request(port, "GET", &format!("/v1/kv/{key}"), &[], b"") {
        Ok(r) => (r.status, r.text()),
        Err(e) => (0, e.to_string()),
    }
}

/// The status of `GET path` (0 when unreachable).
pub fn status_of(port: u16, path: &str) -> u16 {
    request(port, "GET", path, &[], b"").map_or(0, |r| r.status)
}

/// The text of `GET /metrics` (empty when unreachable).
pub fn metrics(port: u16) -> String {
    request(port, "GET", "/metrics", &[], b"").map_or(String::new(), |r| r.text())
}

/// The value of an unlabelled metric.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// The node's last durable sequence number.
pub fn last_seq(port: u16) -> Option<u64> {
    metric(&metrics(port), "nines_log_last_seq").map(|v| v as u64)
}

/// Retries `f` every 25ms until it holds or `within` passes.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits (up to 15s) until the service on `port` answers `/healthz`.
pub fn wait_healthy(port: u16) {
    assert!(
        eventually(Duration::from_secs(15), || status_of(port, "/healthz")
            == 200),
        "service on {port} never became healthy"
    );
}

/// Whether the tests run as CI (`CI=true`): then every program a test needs
/// must be there, and a missing one fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

const UPSD: &str = "/lib/nut/upsd";
const DUMMY_UPS: &str = "/lib/nut/dummy-ups";

/// Whether the real NUT daemon is installed. Under `CI=true` it must be.
pub fn real_nut_available() -> bool {
    let have = Path::new(UPSD).exists() && Path::new(DUMMY_UPS).exists();
    assert!(
        have || !in_ci(),
        "CI=true but NUT is not installed ({UPSD}, {DUMMY_UPS}): apt-get install nut-server nut-client"
    );
    have
}

/// The real NUT daemon on loopback: `upsd` serving one UPS named `ups`
/// through the `dummy-ups` driver, whose status is a file this handle
/// rewrites. Both are stopped by process id when dropped.
pub struct Nut {
    dir: Scratch,
    /// upsd's port on 127.0.0.1.
    pub port: u16,
    upsd: Proc,
    _driver: Proc,
}

fn spawn_nut(bin: &str, args: &[&str], dir: &Path) -> Proc {
    let child = Command::new(bin)
        .args(args)
        .env("NUT_CONFPATH", dir)
        .env("NUT_STATEPATH", dir.join("state"))
        .env("NUT_ALTPIDPATH", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Proc(Some(child))
}

impl Nut {
    /// Starts the driver and upsd (status `OL`) and waits until upsd answers.
    pub fn start() -> Nut {
        let dir = Scratch::new("nut");
        let d = dir.path().to_path_buf();
        let port = free_port();
        std::fs::create_dir_all(d.join("state")).expect("state folder");
        let conf = [
            (
                "ups.conf",
                format!(
                    "[ups]\n  driver = dummy-ups\n  port = {}\n",
                    d.join("ups.dev").display()
                ),
            ),
            (
                "upsd.conf",
                format!(
                    "LISTEN 127.0.0.1 {port}\nSTATEPATH {}\n",
                    d.join("state").display()
                ),
            ),
            ("upsd.users", String::new()),
            ("ups.dev", "ups.status: OL\n".to_string()),
        ];
        for (name, text) in conf {
            std::fs::write(d.join(name), text).expect("NUT configuration");
        }
        let driver = spawn_nut(DUMMY_UPS, &["-a", "ups", "-u", "root", "-D"], &d);
        // upsd needs the driver's socket: wait for it (bounded).
        eventually(Duration::from_secs(5), || {
            std::fs::read_dir(d.join("state")).is_ok_and(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("dummy-ups"))
            })
        });
        let upsd = spawn_nut(UPSD, &["-u", "root", "-D"], &d);
        let nut = Nut {
            dir,
            port,
            upsd,
            _driver: driver,
        };
        nut.wait_status("OL", Duration::from_secs(10));
        nut
    }

    /// The `--power` argument of a service watching this UPS.
    pub fn source(&self) -> String {
        format!("nut://127.0.0.1:{}/ups", self.port)
    }

    /// Makes the driver report `status` (e.g. `OB`, `OB LB`, `OL`).
    pub fn set_status(&self, status: &str) {
        std::fs::write(
            self.dir.path().join("ups.dev"),
            format!("ups.status: {status}\n"),
        )
        .expect("write ups.dev");
    }

    /// `ups.status` as upsd reports it now (`GET VAR ups ups.status`).
    pub fn status(&self) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"GET VAR ups ups.status\n")?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while s.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        line.strip_prefix("VAR ups ups.status \"")
            .and_then(|v| v.strip_suffix('"'))
            .map(str::to_string)
            .ok_or_else(|| std::io::Error::other(format!("upsd answered {line:?}")))
    }

    /// Waits until upsd reports `status`; panics after `within`.
    pub fn wait_status(&self, status: &str, within: Duration) {
        let mut last = None;
        let ok = eventually(within, || {
            let s = self.status().map_err(|e| e.to_string());
            let hit = s.as_deref() == Ok(status);
            last = Some(s);
            hit
        });
        assert!(ok, "upsd never reported {status:?}; last reading {last:?}");
    }

    /// Stops upsd (the driver keeps running): the UPS becomes unreachable.
    pub fn stop_upsd(&mut self) {
        self.upsd.kill9();
    }
}
