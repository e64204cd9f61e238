//! The power monitor: reads the UPS status from NUT's `upsd` (or a file) and
//! drives the write gate.
//!
//! NUT's network protocol is line based: the client sends
//! `GET VAR <ups> ups.status` and `upsd` answers `VAR <ups> ups.status "OL"`,
//! or `ERR <code>` (`UNKNOWN-UPS`, `DATA-STALE`, `DRIVER-NOT-CONNECTED`, ...).
//! On `OB` or `LB` the gate closes at once; on `OL` it opens. When the status
//! cannot be read for longer than the grace period, the gate closes (fail
//! safe) with the reason "power monitor unreachable"; until the first reading
//! the gate is closed for the same reason.

use crate::gate::{Gate, Reason};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Where the UPS status comes from (`--power`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerSource {
    /// `nut://HOST:PORT/UPSNAME`: NUT's `upsd`.
    Nut {
        /// Host of `upsd`.
        host: String,
        /// Port of `upsd` (NUT's default is 3493).
        port: u16,
        /// The UPS name as `upsd` knows it.
        ups: String,
    },
    /// `file:PATH`: a file holding the status words (`OL`, `OB`, `OB LB`).
    File(PathBuf),
    /// `none`: no power monitoring; the power never gates writes.
    None,
}

impl FromStr for PowerSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "none" {
            return Ok(PowerSource::None);
        }
        if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` needs a path, e.g. file:/run/ups.status".into());
            }
            return Ok(PowerSource::File(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("nut://") {
            let (hostport, ups) = rest
                .split_once('/')
                .ok_or_else(|| format!("`{s}`: expected nut://HOST:PORT/UPSNAME"))?;
            if ups.is_empty()
                || !ups
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(format!("`{s}`: bad UPS name `{ups}`"));
            }
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    p.parse::<u16>()
                        .map_err(|_| format!("`{s}`: bad port `{p}`"))?,
                ),
                None => (hostport, 3493),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(format!("`{s}`: missing host"));
            }
            return Ok(PowerSource::Nut {
                host: host.to_string(),
                port,
                ups: ups.to_string(),
            });
        }
        Err(format!(
            "`{s}`: expected nut://HOST:PORT/UPSNAME, file:PATH or none"
        ))
    }
}

impl fmt::Display for PowerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PowerSource::Nut { host, port, ups } => write!(f, "nut://{host}:{port}/{ups}"),
            PowerSource::File(p) => write!(f, "file:{}", p.display()),
            PowerSource::None => write!(f, "none"),
        }
    }
}

/// What the UPS status words mean for writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerStatus {
    /// `OL`: on line power.
    Online,
    /// `OB`: on battery.
    OnBattery,
    /// `LB` (or `FSD`): low battery, shutdown imminent.
    LowBattery,
}

/// Interprets NUT status words (`OL`, `OB`, `OB LB`, `OL CHRG`, ...).
pub fn parse_status_words(words: &str) -> Result<PowerStatus, String> {
    let w: Vec<&str> = words.split_whitespace().collect();
    if w.iter().any(|x| *x == "LB" || *x == "FSD") {
        Ok(PowerStatus::LowBattery)
    } else if w.contains(&"OB") {
        Ok(PowerStatus::OnBattery)
    } else if w.contains(&"OL") {
        Ok(PowerStatus::Online)
    } else {
        Err(format!("unrecognised UPS status `{}`", words.trim()))
    }
}

/// A client of NUT's network protocol, keeping one connection open.
#[derive(Debug)]
pub struct NutClient {
    addr: String,
    ups: String,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
}

impl NutClient {
    /// A client for `ups` on `upsd` at `host:port`; connects on first use.
    pub fn new(host: &str, port: u16, ups: &str, timeout: Duration) -> Self {
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        NutClient {
            addr,
            ups: ups.to_string(),
            timeout,
            conn: None,
        }
    }

    /// Reads `ups.status` (the raw status words). Any failure drops the
    /// connection; the next call reconnects.
    pub async fn status(&mut self) -> Result<String, String> {
        let r = tokio::time::timeout(self.timeout, self.query()).await;
        match r {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => {
                self.conn = None;
                Err(format!(
                    "upsd at {} did not answer within {:?}",
                    self.addr, self.timeout
                ))
            }
        }
    }

    async fn query(&mut self) -> Result<String, String> {
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("cannot connect to upsd at {}: {e}", self.addr))?;
            let _ = s.set_nodelay(true);
            self.conn = Some(BufReader::new(s));
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err("no connection".into());
        };
        conn.get_mut()
            .write_all(format!("GET VAR {} ups.status\n", self.ups).as_bytes())
            .await
            .map_err(|e| format!("upsd at {}: write failed: {e}", self.addr))?;
        let mut line = String::new();
        let mut limited = AsyncReadExt::take(&mut *conn, 4096);
        let n = limited
            .read_line(&mut line)
            .await
            .map_err(|e| format!("upsd at {}: read failed: {e}", self.addr))?;
        if n == 0 || !line.ends_with('\n') {
            return Err(format!("upsd at {} closed the connection", self.addr));
        }
        parse_var_reply(&line, &self.ups)
    }
}

/// Parses `upsd`'s reply to `GET VAR <ups> ups.status`.
pub fn parse_var_reply(line: &str, ups: &str) -> Result<String, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(err) = line.strip_prefix("ERR ") {
        return Err(format!("upsd refused: {}", err.trim()));
    }
    let prefix = format!("VAR {ups} ups.status ");
    let rest = line
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("unexpected reply from upsd: `{}`", line.escape_debug()))?;
    let inner = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| format!("unquoted value from upsd: `{}`", rest.escape_debug()))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Reads a status file (at most 4 KiB).
async fn read_status_file(path: &PathBuf) -> Result<String, String> {
    let data = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if data.len() > 4096 {
        return Err(format!("{} is larger than 4 KiB", path.display()));
    }
    String::from_utf8(data).map_err(|_| format!("{} is not UTF-8", path.display()))
}

/// What the monitor last saw, for metrics and logs.
#[derive(Debug, Default)]
pub struct PowerInfo {
    /// Raw status words of the last good reading.
    pub last_status: Mutex<Option<String>>,
    /// The last error, cleared by a good reading.
    pub last_error: Mutex<Option<String>>,
    /// Failed readings.
    pub errors: AtomicU64,
    /// Good readings.
    pub readings: AtomicU64,
}

/// Reads the status once from a source (`None` for [`PowerSource::None`]).
pub struct StatusReader {
    source: PowerSource,
    nut: Option<NutClient>,
}

impl StatusReader {
    /// A reader for `source`; `timeout` bounds each NUT query.
    pub fn new(source: PowerSource, timeout: Duration) -> Self {
        let nut = match &source {
            PowerSource::Nut { host, port, ups } => Some(NutClient::new(host, *port, ups, timeout)),
            _ => None,
        };
        StatusReader { source, nut }
    }

    /// One reading: the status words, or why there is none.
    pub async fn read(&mut self) -> Result<String, String> {
        match (&self.source, self.nut.as_mut()) {
            (_, Some(nut)) => nut.status().await,
            (PowerSource::File(p), _) => read_status_file(p).await,
            _ => Ok("OL".to_string()),
        }
    }
}

/// Applies one reading (or failure) to the gate. `last_ok` is when the last
/// good reading was taken (`None`: never).
fn apply_reading(
    gate: &Gate,
    info: &PowerInfo,
    reading: Result<String, String>,
    last_ok: &mut Option<Instant>,
    grace: Duration,
) {
    let parsed = reading.and_then(|w| parse_status_words(&w).map(|s| (w, s)));
    match parsed {
        Ok((words, status)) => {
            *last_ok = Some(Instant::now());
            info.readings.fetch_add(1, Ordering::Relaxed);
            let had_error = lock(&info.last_error).take().is_some();
            let changed = lock(&info.last_status).as_deref() != Some(words.trim());
            if changed || had_error {
                tracing::info!(status = words.trim(), "power monitor: UPS status");
            }
            *lock(&info.last_status) = Some(words.trim().to_string());
            // Close first, then open what no longer holds, so there is no
            // moment where the gate is open between two closed states.
            gate.set(Reason::LowBattery, status == PowerStatus::LowBattery);
            gate.set(Reason::OnBattery, status == PowerStatus::OnBattery);
            gate.set(Reason::PowerMonitorUnreachable, false);
        }
        Err(e) => {
            info.errors.fetch_add(1, Ordering::Relaxed);
            let first = lock(&info.last_error).replace(e.clone()).is_none();
            if first {
                tracing::warn!(error = %e, "power monitor: cannot read the UPS status");
            }
            let expired = match last_ok {
                None => true,
                Some(t) => t.elapsed() > grace,
            };
            if expired && gate.set(Reason::PowerMonitorUnreachable, true) {
                tracing::error!(error = %e, grace = ?grace, "power monitor: no UPS status within the grace period; failing safe (writes refused)");
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the power monitor task. For [`PowerSource::None`] nothing is
/// started and the power never gates writes.
pub fn spawn_monitor(
    source: PowerSource,
    gate: Arc<Gate>,
    info: Arc<PowerInfo>,
    poll: Duration,
    grace: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if source == PowerSource::None {
        return None;
    }
    gate.set(Reason::PowerMonitorUnreachable, true);
    let timeout = poll
        .max(Duration::from_millis(200))
        .min(Duration::from_secs(2));
    Some(tokio::spawn(async move {
        let mut reader = StatusReader::new(source, timeout);
        let mut last_ok = None;
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let r = reader.read().await;
            apply_reading(&gate, &info, r, &mut last_ok, grace);
        }
    }))
}

/// An in-process fake `upsd` for tests: answers `GET VAR <ups> ups.status`
/// with the status it holds, or with an `ERR` line.
#[doc(hidden)]
pub mod fake_nut {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// Handle to a running fake server.
    #[derive(Clone)]
    pub struct FakeNut {
        /// Its port on 127.0.0.1.
        pub port: u16,
        reply: Arc<Mutex<Result<String, String>>>,
        task: Arc<tokio::task::JoinHandle<()>>,
    }

    impl FakeNut {
        /// Starts a fake `upsd` serving UPS `ups` with status `status`.
        pub async fn start(ups: &str, status: &str) -> std::io::Result<FakeNut> {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            let reply: Arc<Mutex<Result<String, String>>> = Arc::new(Mutex::new(Ok(status.into())));
            let r = reply.clone();
            let ups = ups.to_string();
            let task = tokio::spawn(async move {
                while let Ok((sock, _)) = listener.accept().await {
                    let r = r.clone();
                    let ups = ups.clone();
                    tokio::spawn(async move {
                        let (rd, mut wr) = sock.into_split();
                        let mut lines = BufReader::new(rd).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            let parts: Vec<&str> = line.split_whitespace().collect();
                            let out = match parts.as_slice() {
                                ["GET", "VAR", u, "ups.status"] if *u == ups => {
                                    match &*r.lock().unwrap_or_else(|p| p.into_inner()) {
                                        Ok(s) => format!("VAR {u} ups.status \"{s}\"\n"),
                                        Err(e) => format!("ERR {e}\n"),
                                    }
                                }
                                ["GET", "VAR", _, _] => "ERR UNKNOWN-UPS\n".to_string(),
                                _ => "ERR UNKNOWN-COMMAND\n".to_string(),
                            };
                            if wr.write_all(out.as_bytes()).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            Ok(FakeNut {
                port,
                reply,
                task: Arc::new(task),
            })
        }

        /// Sets the status words served from now on.
        pub fn set_status(&self, s: &str) {
            *self.reply.lock().unwrap_or_else(|p| p.into_inner()) = Ok(s.to_string());
        }

        /// Makes the server answer `ERR <code>`.
        pub fn set_error(&self, code: &str) {
            *self.reply.lock().unwrap_or_else(|p| p.into_inner()) = Err(code.to_string());
        }

        /// Stops accepting connections (existing ones stay until dropped).
        pub fn stop(&self) {
            self.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake_nut::FakeNut;
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            "nut://127.0.0.1:3493/ups".parse::<PowerSource>(),
            Ok(PowerSource::Nut {
                host: "127.0.0.1".into(),
                port: 3493,
                ups: "ups".into()
            })
        );
        assert_eq!(
            "nut://localhost/myups"
                .parse::<PowerSource>()
                .map(|s| s.to_string()),
            Ok("nut://localhost:3493/myups".to_string())
        );
        assert_eq!(
            "file:/tmp/x".parse::<PowerSource>(),
            Ok(PowerSource::File("/tmp/x".into()))
        );
        assert_eq!("none".parse::<PowerSource>(), Ok(PowerSource::None));
        for bad in [
            "nut://h:1/",
            "nut://h:99999/u",
            "nut://h/u x",
            "nut://h/u\nLOGOUT",
            "http://x",
            "file:",
        ] {
            assert!(bad.parse::<PowerSource>().is_err(), "{bad}");
        }
    }

    #[test]
    fn status_words() {
        assert_eq!(parse_status_words("OL"), Ok(PowerStatus::Online));
        assert_eq!(parse_status_words("OL CHRG\n"), Ok(PowerStatus::Online));
        assert_eq!(parse_status_words("OB"), Ok(PowerStatus::OnBattery));
        assert_eq!(
            parse_status_words("OB DISCHRG LB"),
            Ok(PowerStatus::LowBattery)
        );
        assert_eq!(parse_status_words("FSD OB"), Ok(PowerStatus::LowBattery));
        assert!(parse_status_words("").is_err());
        assert!(parse_status_words("BYPASS").is_err());
    }

    #[test]
    fn var_replies() {
        assert_eq!(
            parse_var_reply("VAR ups ups.status \"OL\"\n", "ups"),
            Ok("OL".into())
        );
        assert_eq!(
            parse_var_reply("VAR ups ups.status \"OB LB\"\r\n", "ups"),
            Ok("OB LB".into())
        );
        assert_eq!(
            parse_var_reply("ERR UNKNOWN-UPS\n", "ups"),
            Err("upsd refused: UNKNOWN-UPS".into())
        );
        assert!(parse_var_reply("VAR other ups.status \"OL\"\n", "ups").is_err());
        assert!(parse_var_reply("VAR ups ups.status OL\n", "ups").is_err());
    }

    #[tokio::test]
    async fn nut_client_against_fake_server() {
        let fake = FakeNut::start("ups", "OL").await.unwrap();
        let mut c = NutClient::new("127.0.0.1", fake.port, "ups", Duration::from_secs(1));
        assert_eq!(c.status().await, Ok("OL".into()));
        fake.set_status("OB LB");
        assert_eq!(c.status().await, Ok("OB LB".into()));
        fake.set_error("DATA-STALE");
        assert_eq!(c.status().await, Err("upsd refused: DATA-STALE".into()));
        let mut wrong = NutClient::new("127.0.0.1", fake.port, "nope", Duration::from_secs(1));
        assert_eq!(
            wrong.status().await,
            Err("upsd refused: UNKNOWN-UPS".into())
        );
    }

    async fn wait_for(gate: &Gate, want: Option<Reason>, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if gate.check().err() == want {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn monitor_drives_the_gate_from_nut() {
        let fake = FakeNut::start("ups", "OL").await.unwrap();
        let gate = Arc::new(Gate::new());
        let info = Arc::new(PowerInfo::default());
        let src = PowerSource::Nut {
            host: "127.0.0.1".into(),
            port: fake.port,
            ups: "ups".into(),
        };
        let h = spawn_monitor(
            src,
            gate.clone(),
            info.clone(),
            Duration::from_millis(20),
            Duration::from_millis(300),
        )
        .unwrap();
        let s = Duration::from_secs(2);
        assert!(wait_for(&gate, None, s).await, "opens on OL");
        fake.set_status("OB");
        assert!(wait_for(&gate, Some(Reason::OnBattery), s).await);
        fake.set_status("OB LB");
        assert!(wait_for(&gate, Some(Reason::LowBattery), s).await);
        fake.set_status("OL CHRG");
        assert!(wait_for(&gate, None, s).await);
        // Errors within the grace period keep the last state...
        fake.set_error("DATA-STALE");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(gate.check().is_ok(), "still within grace");
        // ...and close the gate after it, saying why.
        assert!(wait_for(&gate, Some(Reason::PowerMonitorUnreachable), s).await);
        assert!(info.errors.load(Ordering::Relaxed) > 0);
        assert!(lock(&info.last_error)
            .as_deref()
            .unwrap_or("")
            .contains("DATA-STALE"));
        fake.set_status("OL");
        assert!(wait_for(&gate, None, s).await, "recovers");
        h.abort();
    }

    #[tokio::test]
    async fn unreachable_upsd_fails_safe() {
        // A port nobody listens on.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let gate = Arc::new(Gate::new());
        let info = Arc::new(PowerInfo::default());
        let src = PowerSource::Nut {
            host: "127.0.0.1".into(),
            port,
            ups: "ups".into(),
        };
        let h = spawn_monitor(
            src,
            gate.clone(),
            info.clone(),
            Duration::from_millis(20),
            Duration::from_millis(100),
        )
        .unwrap();
        assert_eq!(
            gate.check(),
            Err(Reason::PowerMonitorUnreachable),
            "closed before any reading"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(gate.check(), Err(Reason::PowerMonitorUnreachable));
        assert!(lock(&info.last_error)
            .as_deref()
            .unwrap_or("")
            .contains("cannot connect"));
        h.abort();
    }

    #[tokio::test]
    async fn monitor_reads_a_status_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("status");
        std::fs::write(&p, "OL\n").unwrap();
        let gate = Arc::new(Gate::new());
        let info = Arc::new(PowerInfo::default());
        let h = spawn_monitor(
            PowerSource::File(p.clone()),
            gate.clone(),
            info,
            Duration::from_millis(20),
            Duration::from_millis(200),
        )
        .unwrap();
        let s = Duration::from_secs(2);
        assert!(wait_for(&gate, None, s).await);
        std::fs::write(&p, "OB").unwrap();
        assert!(wait_for(&gate, Some(Reason::OnBattery), s).await);
        std::fs::write(&p, "OL").unwrap();
        assert!(wait_for(&gate, None, s).await);
        std::fs::remove_file(&p).unwrap();
        assert!(wait_for(&gate, Some(Reason::PowerMonitorUnreachable), s).await);
        h.abort();
    }

    #[test]
    fn none_source_never_gates() {
        let gate = Arc::new(Gate::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _g = rt.enter();
        assert!(spawn_monitor(
            PowerSource::None,
            gate.clone(),
            Arc::default(),
            Duration::from_millis(10),
            Duration::ZERO
        )
        .is_none());
        assert!(gate.check().is_ok());
    }
}
