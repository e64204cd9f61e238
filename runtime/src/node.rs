//! One node of the service: its log, store, gate, peers and the write path.
//!
//! ## Replication
//!
//! A primary ships its committed log records to every peer in order, in
//! batches of encoded frames (`POST /v1/replicate?op=append`); a peer appends
//! them with their sequence numbers, so a record it already has is skipped
//! (idempotent) and a gap is answered `409` with the peer's last sequence
//! number, from which the primary resends. Each peer's acknowledged sequence
//! number gives its lag in records, and the write time of its oldest
//! unacknowledged record gives its lag in time.
//!
//! **Async** (`max lag L`): a watcher closes the gate (reason: replication lag)
//! while any peer lags more than `L`, and opens it when all are back within.
//!
//! **Sync** (`quorum Q`): writes are serialised. For write number `n`, the
//! primary first sends the record as a *prepare* to every peer, which makes it
//! durable apart from its visible data (`op=prepare`). Only once `Q - 1` peers
//! have it does the primary append it to its own log; that local fsync is the
//! commit point, after which the record becomes visible and is shipped as an
//! ordinary committed record (replacing the prepared copy on the peers). If
//! fewer than `Q - 1` peers answer, the primary writes nothing locally, sends
//! an abort for `n` to the peers that did prepare it, and refuses the write as
//! retryable; number `n` is reused by the next write, whose prepare replaces
//! any stale one. A refused write is therefore never visible: not on the
//! primary (never in its log), not after its restart, and not on a peer
//! (prepared records are never read, and are dropped by the abort or replaced
//! by the committed record with that number).

use crate::config::{Replication, ServiceConfig};
use crate::gate::{Gate, GateState, Reason};
use crate::log::{self, Kind, Log, Record};
use crate::metrics::{self, Metrics};
use crate::power::PowerInfo;
use crate::store::Store;
use bytes::Bytes;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A node's role (`--role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Takes client writes and ships them to its peers.
    Primary,
    /// Takes replicated records from a primary; refuses client writes (retryable).
    Replica,
}

/// Why a write was not acknowledged.
#[derive(Debug)]
pub enum WriteError {
    /// A contract refused it: retryable `503`.
    Refused(Reason),
    /// The disk failed it: nothing was acknowledged.
    Storage(String),
}

/// One replication target, as seen by the primary.
#[derive(Debug)]
pub struct Peer {
    /// Its base URL (`http://HOST:PORT`).
    pub url: String,
    endpoint: String,
    /// The last sequence number it acknowledged as durable.
    pub acked: AtomicU64,
    /// Whether the last call reached it.
    pub up: AtomicBool,
    /// Failed calls.
    pub errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Peer {
    /// A peer at `url` (`http://HOST:PORT`, no path).
    pub fn new(url: &str) -> Result<Peer, String> {
        let base = url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .ok_or_else(|| format!("peer `{url}`: expected http://HOST:PORT"))?;
        if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(format!("peer `{url}`: expected http://HOST:PORT (no path)"));
        }
        Ok(Peer {
            url: base.to_string(),
            endpoint: format!("{base}/v1/replicate"),
            acked: AtomicU64::new(0),
            up: AtomicBool::new(false),
            errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    fn fail(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let was_up = self.up.swap(false, Ordering::Relaxed);
        let mut le = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        if was_up || le.is_none() {
            tracing::warn!(peer = %self.url, error = %e, "replication: peer unreachable");
        }
        *le = Some(e);
    }

    fn ok(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(peer = %self.url, "replication: peer reachable");
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// What the node was started with besides its config.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Primary or replica.
    pub role: Role,
    /// Replication targets (primary only).
    pub peers: Vec<String>,
    /// Shared secret for `POST /v1/replicate`.
    pub peer_token: Option<String>,
}

/// A running node.
pub struct Node {
    /// The service's configuration.
    pub config: ServiceConfig,
    /// Its role.
    pub role: Role,
    /// The visible data.
    pub store: Arc<Store>,
    /// The durable log.
    pub log: Log,
    /// The write gate.
    pub gate: Arc<Gate>,
    /// Replication targets.
    pub peers: Vec<Arc<Peer>>,
    /// Counters.
    pub metrics: Metrics,
    /// What the power monitor saw.
    pub power: Arc<PowerInfo>,
    token: Option<String>,
    http: reqwest::Client,
    sync_lock: tokio::sync::Mutex<()>,
    started: Instant,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("service", &self.config.service)
            .field("role", &self.role)
            .finish()
    }
}

/// Answer of a peer to a replicate call.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct ReplicateReply {
    /// The peer's last committed sequence number.
    pub applied: u64,
}

enum CallError {
    Gap(u64),
    Other(String),
}

impl Node {
    /// Opens the log in `data_dir` (replaying it) and builds the node. Does not
    /// start any task: see [`Node::spawn_tasks`].
    pub fn open(
        config: ServiceConfig,
        opts: NodeOptions,
        data_dir: &Path,
    ) -> Result<Arc<Node>, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", data_dir.display()))?;
        let store = Arc::new(Store::new());
        let s = store.clone();
        let path = data_dir.join("kv.log");
        let (log, rec) = Log::open(&path, config.group_commit, Box::new(move |r| s.apply(r)))
            .map_err(|e| format!("cannot open log {}: {e}", path.display()))?;
        tracing::info!(
            records = rec.records,
            last_seq = rec.last_seq,
            cut_bytes = rec.truncated_bytes,
            keys = store.len(),
            "log replayed"
        );
        let peers = opts
            .peers
            .iter()
            .map(|u| Peer::new(u).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(config.peer_timeout)
            .connect_timeout(config.peer_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Arc::new(Node {
            config,
            role: opts.role,
            store,
            log,
            gate: Arc::new(Gate::new()),
            peers,
            metrics: Metrics::default(),
            power: Arc::new(PowerInfo::default()),
            token: opts.peer_token.filter(|t| !t.is_empty()),
            http,
            sync_lock: tokio::sync::Mutex::new(()),
            started: Instant::now(),
        }))
    }

    /// Starts the shippers, the lag watcher and the flush-on-close task.
    pub fn spawn_tasks(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.role == Role::Primary {
            for p in &self.peers {
                tasks.push(tokio::spawn(ship_loop(self.clone(), p.clone())));
            }
            if let Replication::Async { max_lag } = self.config.replication {
                if !self.peers.is_empty() {
                    tasks.push(tokio::spawn(lag_watch(self.clone(), max_lag)));
                }
            }
        }
        // Subscribe now, not when the task first runs: a close that happens
        // before then must still be seen, and a gate closed already is the
        // starting state, not a close.
        tasks.push(tokio::spawn(flush_on_close(
            self.clone(),
            self.gate.subscribe(),
        )));
        tasks
    }

    /// Checks that the peer token matches (constant time).
    pub fn token_ok(&self, given: Option<&str>) -> bool {
        match (&self.token, given) {
            (Some(t), Some(g)) => {
                let (a, b) = (t.as_bytes(), g.as_bytes());
                let mut diff = a.len() ^ b.len();
                for i in 0..a.len().max(b.len()) {
                    diff |=
                        (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as usize;
                }
                diff == 0
            }
            _ => false,
        }
    }

    /// Reads a key.
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        self.store.get(key)
    }

    /// A client write (a committed `Put` or `Delete` record with `seq` 0):
    /// acknowledged (`Ok(seq)`) only once durable as the contracts require.
    pub async fn write(&self, rec: Record) -> Result<u64, WriteError> {
        if self.role == Role::Replica {
            return Err(self.refuse(Reason::Replica));
        }
        self.gate.check().map_err(|r| self.refuse(r))?;
        match self.config.replication {
            Replication::Sync { quorum } => self.write_sync(rec, quorum).await,
            _ => self
                .log
                .append(vec![rec])
                .await
                .map_err(|e| WriteError::Storage(e.to_string())),
        }
    }

    fn refuse(&self, r: Reason) -> WriteError {
        self.metrics.count_refusal(r.code());
        WriteError::Refused(r)
    }

    async fn write_sync(&self, mut rec: Record, quorum: usize) -> Result<u64, WriteError> {
        let _g = self.sync_lock.lock().await;
        self.gate.check().map_err(|r| self.refuse(r))?;
        let seq = self.log.last_seq() + 1;
        rec.seq = seq;
        let needed = quorum.saturating_sub(1);
        let mut prepared: Vec<Arc<Peer>> = Vec::new();
        if needed > 0 {
            let prep = Record {
                kind: if rec.kind == Kind::Put {
                    Kind::PreparePut
                } else {
                    Kind::PrepareDelete
                },
                ..rec.clone()
            };
            let frame = Bytes::from(prep.encode());
            let mut set = tokio::task::JoinSet::new();
            for p in &self.peers {
                let (p, frame, http, token) = (
                    p.clone(),
                    frame.clone(),
                    self.http.clone(),
                    self.token.clone(),
                );
                set.spawn(async move {
                    let r = call(&http, &p, token.as_deref(), "prepare", frame).await;
                    (p, r)
                });
            }
            while let Some(j) = set.join_next().await {
                if let Ok((p, r)) = j {
                    match r {
                        Ok(_) => {
                            p.ok();
                            prepared.push(p);
                        }
                        Err(CallError::Gap(_)) => {}
                        Err(CallError::Other(e)) => p.fail(e),
                    }
                }
                if prepared.len() >= needed {
                    break;
                }
            }
            drop(set); // cancels calls still in flight: their prepares stay invisible
            if prepared.len() < needed {
                tracing::warn!(
                    seq,
                    have = prepared.len() + 1,
                    quorum,
                    "sync write refused: quorum not reached"
                );
                self.abort_on(prepared, &rec);
                return Err(self.refuse(Reason::SyncQuorumUnreachable));
            }
        }
        match self.log.append(vec![rec.clone()]).await {
            Ok(s) => Ok(s),
            Err(e) => {
                self.abort_on(prepared, &rec);
                Err(WriteError::Storage(e.to_string()))
            }
        }
    }

    /// Sends an abort for `rec.seq` to the peers that prepared it (in the
    /// background: the prepared copies are invisible either way).
    fn abort_on(&self, peers: Vec<Arc<Peer>>, rec: &Record) {
        if peers.is_empty() {
            return;
        }
        let abort = Record {
            kind: Kind::Abort,
            seq: rec.seq,
            ts_ms: rec.ts_ms,
            key: Vec::new(),
            value: Bytes::new(),
        };
        let frame = Bytes::from(abort.encode());
        for p in peers {
            let (frame, http, token) = (frame.clone(), self.http.clone(), self.token.clone());
            tokio::spawn(async move {
                let _ = call(&http, &p, token.as_deref(), "abort", frame).await;
            });
        }
    }

    /// Applies a replication call on a replica. `op` is `append`, `prepare`
    /// or `abort`. Returns the last committed sequence number, or an HTTP
    /// status with a message.
    pub async fn apply_replicated(&self, op: &str, body: &[u8]) -> Result<u64, (u16, String)> {
        if self.role != Role::Replica {
            return Err((
                403,
                "this node is a primary; it does not take replicated records".into(),
            ));
        }
        if let Some(r) = self.gate.state().reason() {
            if r.is_power() {
                self.metrics.count_refusal(r.code());
                return Err((503, r.message().to_string()));
            }
        }
        let records = log::decode_frames(body).map_err(|e| (400, format!("bad frames: {e:?}")))?;
        let ok = match op {
            "append" => records.iter().all(|r| r.kind.is_committed()),
            "prepare" => {
                records.len() == 1
                    && matches!(records[0].kind, Kind::PreparePut | Kind::PrepareDelete)
            }
            "abort" => records.len() == 1 && records[0].kind == Kind::Abort,
            _ => return Err((400, format!("unknown op `{op}`"))),
        };
        if !ok {
            return Err((400, format!("records do not fit op `{op}`")));
        }
        if records.is_empty() {
            return Ok(self.log.last_seq());
        }
        match self.log.append(records).await {
            Ok(_) => Ok(self.log.last_seq()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Err((409, e.to_string())),
            Err(e) => Err((500, e.to_string())),
        }
    }

    /// The lag of `peer`: (seconds, records).
    pub fn lag_of(&self, peer: &Peer) -> (f64, u64) {
        let last = self.log.last_seq();
        let acked = peer.acked.load(Ordering::Relaxed).min(last);
        if acked >= last {
            return (0.0, 0);
        }
        let ts = self.log.ts_of(acked + 1).unwrap_or_else(log::now_ms);
        let secs = log::now_ms().saturating_sub(ts) as f64 / 1000.0;
        (secs, last - acked)
    }

    /// The Prometheus text for `GET /metrics`.
    pub fn render_metrics(&self) -> String {
        let mut out = String::with_capacity(4096);
        let svc = metrics::escape(&self.config.service);
        metrics::header(
            &mut out,
            "nines_service_info",
            "gauge",
            "The service and this node's role.",
        );
        let role = match self.role {
            Role::Primary => "primary",
            Role::Replica => "replica",
        };
        let _ = writeln!(
            out,
            "nines_service_info{{service=\"{svc}\",role=\"{role}\"}} 1"
        );
        metrics::gauge(
            &mut out,
            "nines_uptime_seconds",
            "Seconds since start.",
            self.started.elapsed().as_secs_f64(),
        );
        self.metrics.render_into(&mut out);
        let st = self.gate.state();
        metrics::gauge(
            &mut out,
            "nines_write_gate_open",
            "1 while writes are accepted.",
            u8::from(st.is_open()),
        );
        metrics::header(
            &mut out,
            "nines_write_gate_reason",
            "gauge",
            "1 for each reason holding the write gate closed.",
        );
        for r in Reason::ALL {
            if r == Reason::SyncQuorumUnreachable || r == Reason::Replica {
                continue; // per-write refusals, not gate states
            }
            let _ = writeln!(
                out,
                "nines_write_gate_reason{{reason=\"{}\"}} {}",
                r.code(),
                u8::from(st.has(r))
            );
        }
        let p = &self.power;
        let status = p
            .last_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let error = p
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        metrics::header(
            &mut out,
            "nines_power_status",
            "gauge",
            "The last UPS status words read (1 for the current ones).",
        );
        if let Some(s) = status {
            let _ = writeln!(
                out,
                "nines_power_status{{status=\"{}\"}} 1",
                metrics::escape(&s)
            );
        }
        metrics::header(
            &mut out,
            "nines_power_monitor_up",
            "gauge",
            "1 when the last reading of the UPS status succeeded; the label says why not.",
        );
        let _ = writeln!(
            out,
            "nines_power_monitor_up{{error=\"{}\"}} {}",
            metrics::escape(error.as_deref().unwrap_or("")),
            u8::from(error.is_none())
        );
        metrics::header(
            &mut out,
            "nines_power_monitor_errors_total",
            "counter",
            "Failed readings of the UPS status.",
        );
        let _ = writeln!(
            out,
            "nines_power_monitor_errors_total {}",
            p.errors.load(Ordering::Relaxed)
        );
        let ls = self.log.stats();
        metrics::gauge(
            &mut out,
            "nines_log_last_seq",
            "Last durable sequence number.",
            self.log.last_seq(),
        );
        metrics::header(
            &mut out,
            "nines_log_fsyncs_total",
            "counter",
            "fsyncs of the log.",
        );
        let _ = writeln!(
            out,
            "nines_log_fsyncs_total {}",
            ls.fsyncs.load(Ordering::Relaxed)
        );
        metrics::header(
            &mut out,
            "nines_log_appends_total",
            "counter",
            "Append requests made durable.",
        );
        let _ = writeln!(
            out,
            "nines_log_appends_total {}",
            ls.requests.load(Ordering::Relaxed)
        );
        metrics::gauge(
            &mut out,
            "nines_log_group_commit_max_batch",
            "Most append requests one fsync covered.",
            ls.max_batch.load(Ordering::Relaxed),
        );
        metrics::gauge(&mut out, "nines_store_keys", "Keys held.", self.store.len());
        metrics::header(
            &mut out,
            "nines_replication_lag_seconds",
            "gauge",
            "Age of the oldest record a peer has not acknowledged.",
        );
        let lags: Vec<_> = self.peers.iter().map(|p| (p, self.lag_of(p))).collect();
        for (p, (s, _)) in &lags {
            let _ = writeln!(
                out,
                "nines_replication_lag_seconds{{peer=\"{}\"}} {s}",
                metrics::escape(&p.url)
            );
        }
        metrics::header(
            &mut out,
            "nines_replication_lag_records",
            "gauge",
            "Records a peer has not acknowledged.",
        );
        for (p, (_, n)) in &lags {
            let _ = writeln!(
                out,
                "nines_replication_lag_records{{peer=\"{}\"}} {n}",
                metrics::escape(&p.url)
            );
        }
        metrics::header(
            &mut out,
            "nines_replication_peer_up",
            "gauge",
            "1 when the last call to the peer succeeded.",
        );
        for p in &self.peers {
            let _ = writeln!(
                out,
                "nines_replication_peer_up{{peer=\"{}\"}} {}",
                metrics::escape(&p.url),
                u8::from(p.up.load(Ordering::Relaxed))
            );
        }
        if let Replication::Async { max_lag } = self.config.replication {
            metrics::gauge(
                &mut out,
                "nines_replication_max_lag_seconds",
                "The spec's max lag.",
                max_lag.as_secs_f64(),
            );
        }
        out
    }
}

async fn call(
    http: &reqwest::Client,
    p: &Peer,
    token: Option<&str>,
    op: &str,
    body: Bytes,
) -> Result<u64, CallError> {
    let mut req = http
        .post(format!("{}?op={op}", p.endpoint))
        .header("content-type", "application/octet-stream")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| CallError::Other(format!("{e}")))?;
    let status = resp.status().as_u16();
    let text = resp
        .bytes()
        .await
        .map_err(|e| CallError::Other(format!("{e}")))?;
    let parsed: Option<ReplicateReply> = serde_json::from_slice(&text).ok();
    match (status, parsed) {
        (200, Some(r)) => Ok(r.applied),
        (409, Some(r)) => Err(CallError::Gap(r.applied)),
        _ => Err(CallError::Other(format!(
            "peer answered {status}: {}",
            String::from_utf8_lossy(&text[..text.len().min(200)])
        ))),
    }
}

/// The least time between the starts of two calls to a peer, and how long a
/// caught-up shipper waits after new records before shipping them. Each
/// call costs the peer an HTTP request and an fsync whatever it carries, so
/// under load fewer, larger calls leave more CPU for client writes; 20ms is
/// far below any max lag a spec can usefully state.
const SHIP_COALESCE: Duration = Duration::from_millis(20);

/// Ships committed records to one peer, in order, forever.
async fn ship_loop(node: Arc<Node>, peer: Arc<Peer>) {
    const MAX_RECORDS: usize = 2048;
    const MAX_BYTES: usize = 4 * 1024 * 1024;
    let mut durable = node.log.subscribe();
    let mut known = false; // whether `acked` reflects what the peer told us
    let mut backoff = Duration::from_millis(50);
    let mut last_call: Option<Instant> = None;
    loop {
        let last = node.log.last_seq();
        let acked = peer.acked.load(Ordering::Relaxed);
        if known && acked >= last {
            tokio::select! {
                r = durable.changed() => {
                    if r.is_err() { return; }
                    // Let a few group commits accumulate: one call then carries
                    // them all, which keeps replication cheap under load (the
                    // delay is far below any max lag).
                    tokio::time::sleep(SHIP_COALESCE).await;
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => { known = false; }
            }
            continue;
        }
        // Behind by less than a full call: space the calls (under load the
        // previous call's round trip alone would let only a few records in).
        let since = last_call.map(|t| t.elapsed()).unwrap_or(SHIP_COALESCE);
        if known && last - acked < MAX_RECORDS as u64 && since < SHIP_COALESCE {
            tokio::time::sleep(SHIP_COALESCE - since).await;
            continue;
        }
        last_call = Some(Instant::now());
        let (frames, _upto) = if known {
            match node.log.read_frames(acked + 1, MAX_RECORDS, MAX_BYTES) {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!(error = %e, "replication: cannot read the log");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        } else {
            (Vec::new(), acked)
        };
        match call(
            &node.http,
            &peer,
            node.token.as_deref(),
            "append",
            Bytes::from(frames),
        )
        .await
        {
            Ok(applied) | Err(CallError::Gap(applied)) => {
                peer.ok();
                if applied > last {
                    tracing::warn!(peer = %peer.url, applied, last, "replication: peer is ahead of this primary");
                }
                peer.acked.store(
                    applied.min(last.max(node.log.last_seq())),
                    Ordering::Relaxed,
                );
                known = true;
                backoff = Duration::from_millis(50);
            }
            Err(CallError::Other(e)) => {
                peer.fail(e);
                known = false;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Closes the gate while any peer lags more than `max_lag` (async mode).
async fn lag_watch(node: Arc<Node>, max_lag: Duration) {
    let period = (max_lag / 10).clamp(Duration::from_millis(20), Duration::from_millis(250));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let worst = node
            .peers
            .iter()
            .map(|p| (p, node.lag_of(p)))
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0));
        if let Some((p, (secs, records))) = worst {
            let over = secs > max_lag.as_secs_f64();
            if node.gate.set(Reason::ReplicationLag, over) && over {
                tracing::warn!(peer = %p.url, lag_seconds = secs, lag_records = records, max_lag = ?max_lag, "replication lag over the limit");
            }
        }
    }
}

/// On every close of the gate, flushes pending writes and records how long it took.
async fn flush_on_close(node: Arc<Node>, mut rx: watch::Receiver<GateState>) {
    let mut was_open = rx.borrow_and_update().is_open();
    while rx.changed().await.is_ok() {
        let open = rx.borrow_and_update().is_open();
        if was_open && !open {
            let limit = node.config.flush_within;
            match tokio::time::timeout(limit, node.log.flush()).await {
                Ok(Ok(d)) => {
                    node.metrics.record_flush(d, d > limit);
                    tracing::info!(duration = ?d, flush_within = ?limit, "write gate closed: cached writes flushed");
                }
                Ok(Err(e)) => {
                    node.metrics.record_flush(limit, true);
                    tracing::error!(error = %e, "write gate closed: flush failed");
                }
                Err(_) => {
                    node.metrics.record_flush(limit, true);
                    tracing::error!(flush_within = ?limit, "write gate closed: flush did not finish within the limit");
                }
            }
        }
        was_open = open;
    }
}
