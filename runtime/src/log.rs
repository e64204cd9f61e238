//! The durable append-only log.
//!
//! Each record is a frame `len: u32 LE | crc32: u32 LE | payload`, where the
//! CRC covers the payload. A dedicated writer thread appends frames and calls
//! `fdatasync` before it replies, so a reply means the record is on disk. With
//! group commit on, the writer drains every request that arrived while it was
//! busy and covers all of them with one fsync; with it off, each request gets
//! its own fsync.
//!
//! On open, the log is replayed from the start; the first frame that is short,
//! oversized, fails its CRC or does not decode ends the valid log, and the file
//! is cut there (a torn tail from a crash mid-write). Note that a corrupt frame
//! in the middle also ends the log at that point: nothing after a bad frame can
//! be trusted to be in order.
//!
//! Committed records (`Put`, `Delete`) carry consecutive sequence numbers,
//! starting at one. Appending a committed record with an explicit sequence
//! number is idempotent: one at or below the last committed number is skipped,
//! one past the next is refused as a gap. `Prepare*` and `Abort` records (sync
//! replication on a replica) carry the sequence number they refer to and are
//! not numbered themselves.

use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};

/// Largest payload a frame may declare; anything larger is corruption.
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;
const HEADER: usize = 8;
/// Most requests one group commit takes.
const MAX_BATCH_REQUESTS: usize = 4096;
/// Most bytes one group commit writes.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// What a record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Set `key` to `value` (committed, numbered).
    Put = 1,
    /// Remove `key` (committed, numbered).
    Delete = 2,
    /// A durable but not yet committed put, held for a sync-replication primary.
    PreparePut = 3,
    /// A durable but not yet committed delete, held for a sync-replication primary.
    PrepareDelete = 4,
    /// Drops the prepared record with this sequence number.
    Abort = 5,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Put,
            2 => Kind::Delete,
            3 => Kind::PreparePut,
            4 => Kind::PrepareDelete,
            5 => Kind::Abort,
            _ => return None,
        })
    }

    /// Whether records of this kind are committed and numbered.
    pub fn is_committed(self) -> bool {
        matches!(self, Kind::Put | Kind::Delete)
    }
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What it does.
    pub kind: Kind,
    /// Its sequence number (0 in an append: let the log assign the next one).
    pub seq: u64,
    /// Wall-clock time of the original write, in milliseconds since the epoch.
    pub ts_ms: u64,
    /// The key.
    pub key: Vec<u8>,
    /// The value (empty for deletes and aborts), shared with the request
    /// body and the store rather than copied.
    pub value: Bytes,
}

impl Record {
    /// A committed put, numbered by the log.
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Bytes>) -> Record {
        Record {
            kind: Kind::Put,
            seq: 0,
            ts_ms: now_ms(),
            key: key.into(),
            value: value.into(),
        }
    }

    /// A committed delete, numbered by the log.
    pub fn delete(key: impl Into<Vec<u8>>) -> Record {
        Record {
            kind: Kind::Delete,
            seq: 0,
            ts_ms: now_ms(),
            key: key.into(),
            value: Bytes::new(),
        }
    }

    /// Encodes the record as one frame, appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payload_len = 1 + 8 + 8 + 4 + self.key.len() + 4 + self.value.len();
        let start = out.len();
        out.extend_from_slice(&(payload_len as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.ts_ms.to_le_bytes());
        out.extend_from_slice(&(self.key.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&(self.value.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.value);
        let crc = crc32fast::hash(&out[start + HEADER..]);
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Encodes the record as one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    fn decode_payload(p: &[u8]) -> Option<Record> {
        let kind = Kind::from_u8(*p.first()?)?;
        let seq = u64::from_le_bytes(p.get(1..9)?.try_into().ok()?);
        let ts_ms = u64::from_le_bytes(p.get(9..17)?.try_into().ok()?);
        let klen = u32::from_le_bytes(p.get(17..21)?.try_into().ok()?) as usize;
        let kend = 21usize.checked_add(klen)?;
        let key = p.get(21..kend)?.to_vec();
        let vlen = u32::from_le_bytes(p.get(kend..kend + 4)?.try_into().ok()?) as usize;
        let vstart = kend + 4;
        let vend = vstart.checked_add(vlen)?;
        if vend != p.len() {
            return None;
        }
        let value = Bytes::copy_from_slice(p.get(vstart..vend)?);
        Some(Record {
            kind,
            seq,
            ts_ms,
            key,
            value,
        })
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The buffer ends inside the frame.
    Incomplete,
    /// The frame is oversized, fails its checksum or does not decode.
    Corrupt,
}

/// Decodes the frame at the start of `buf`: the record and the frame's length.
pub fn decode_frame(buf: &[u8]) -> Result<(Record, usize), FrameError> {
    if buf.len() < HEADER {
        return Err(FrameError::Incomplete);
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if len > MAX_PAYLOAD {
        return Err(FrameError::Corrupt);
    }
    let Some(payload) = buf.get(HEADER..HEADER + len) else {
        return Err(FrameError::Incomplete);
    };
    if crc32fast::hash(payload) != crc {
        return Err(FrameError::Corrupt);
    }
    let rec = Record::decode_payload(payload).ok_or(FrameError::Corrupt)?;
    Ok((rec, HEADER + len))
}

/// Decodes a buffer of whole frames (a replication batch).
pub fn decode_frames(mut buf: &[u8]) -> Result<Vec<Record>, FrameError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (r, n) = decode_frame(buf)?;
        out.push(r);
        buf = &buf[n..];
    }
    Ok(out)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What opening the log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Records replayed.
    pub records: u64,
    /// Last committed sequence number.
    pub last_seq: u64,
    /// Bytes cut from the tail (a torn or corrupt write).
    pub truncated_bytes: u64,
}

/// Counters the log keeps for metrics.
#[derive(Debug, Default)]
pub struct LogStats {
    /// fsyncs done by the writer.
    pub fsyncs: AtomicU64,
    /// Records appended.
    pub records: AtomicU64,
    /// Append requests served.
    pub requests: AtomicU64,
    /// Largest number of requests one fsync covered.
    pub max_batch: AtomicU64,
}

/// Called by the writer thread for each record once it is durable, in log order
/// (and for each record replayed on open). It takes the record by value: the
/// log keeps no copy.
pub type ApplyFn = Box<dyn FnMut(Record) + Send>;

#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    offset: u64,
    len: u32,
    ts_ms: u64,
}

struct Shared {
    /// Committed records: entry `i` is sequence number `i + 1`.
    index: RwLock<Vec<IndexEntry>>,
    durable: watch::Sender<u64>,
    stats: LogStats,
}

enum Cmd {
    Append {
        records: Vec<Record>,
        reply: oneshot::Sender<io::Result<u64>>,
    },
    Flush {
        reply: oneshot::Sender<io::Result<Duration>>,
    },
}

/// The log: cheap to share behind an `Arc`.
pub struct Log {
    tx: mpsc::Sender<Cmd>,
    shared: Arc<Shared>,
    reader: File,
    path: PathBuf,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("path", &self.path).finish()
    }
}

impl Log {
    /// Opens (or creates) the log at `path`, replays it through `apply`, cuts a
    /// torn tail, and starts the writer thread.
    pub fn open(
        path: &Path,
        group_commit: bool,
        mut apply: ApplyFn,
    ) -> io::Result<(Log, Recovery)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let file_len = file.metadata()?.len();
        let mut index = Vec::new();
        let mut rec_info = Recovery::default();
        let mut valid: u64 = 0;
        {
            let mut r = BufReader::with_capacity(1 << 20, &mut file);
            let mut header = [0u8; HEADER];
            let mut payload = Vec::new();
            loop {
                if read_full(&mut r, &mut header)? < HEADER {
                    break;
                }
                let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
                let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
                if len > MAX_PAYLOAD || valid + (HEADER + len) as u64 > file_len {
                    break;
                }
                payload.resize(len, 0);
                if read_full(&mut r, &mut payload)? < len {
                    break;
                }
                if crc32fast::hash(&payload) != crc {
                    break;
                }
                let Some(rec) = Record::decode_payload(&payload) else {
                    break;
                };
                if rec.kind.is_committed() {
                    if rec.seq != index.len() as u64 + 1 {
                        // Out of order: not something this log writes. Stop here.
                        break;
                    }
                    index.push(IndexEntry {
                        offset: valid,
                        len: (HEADER + len) as u32,
                        ts_ms: rec.ts_ms,
                    });
                }
                apply(rec);
                rec_info.records += 1;
                valid += (HEADER + len) as u64;
            }
        }
        if valid < file_len {
            tracing::warn!(
                path = %path.display(),
                valid_bytes = valid,
                cut_bytes = file_len - valid,
                "log: cutting a torn or corrupt tail"
            );
            file.set_len(valid)?;
            file.sync_all()?;
            rec_info.truncated_bytes = file_len - valid;
        }
        rec_info.last_seq = index.len() as u64;
        let (durable, _) = watch::channel(rec_info.last_seq);
        let shared = Arc::new(Shared {
            index: RwLock::new(index),
            durable,
            stats: LogStats::default(),
        });
        let reader = File::open(path)?;
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            file,
            end: valid,
            last_seq: rec_info.last_seq,
            group_commit,
            shared: shared.clone(),
            apply,
            poisoned: false,
        };
        std::thread::Builder::new()
            .name("nines-log-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok((
            Log {
                tx,
                shared,
                reader,
                path: path.to_path_buf(),
            },
            rec_info,
        ))
    }

    /// Appends records and waits until they are durable. Returns the sequence
    /// number of the request's last committed record (or the log's last one
    /// when the request held none).
    pub async fn append(&self, records: Vec<Record>) -> io::Result<u64> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Append { records, reply })
            .map_err(|_| io::Error::other("log writer stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("log writer stopped"))?
    }

    /// Waits until everything appended before this call is durable; returns
    /// how long that took.
    pub async fn flush(&self) -> io::Result<Duration> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Flush { reply })
            .map_err(|_| io::Error::other("log writer stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("log writer stopped"))?
    }

    /// The last durable committed sequence number.
    pub fn last_seq(&self) -> u64 {
        *self.shared.durable.borrow()
    }

    /// Watches the last durable committed sequence number.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.durable.subscribe()
    }

    /// The write time (ms since the epoch) of committed record `seq`.
    pub fn ts_of(&self, seq: u64) -> Option<u64> {
        let idx = self.shared.index.read().unwrap_or_else(|p| p.into_inner());
        idx.get(seq.checked_sub(1)? as usize).map(|e| e.ts_ms)
    }

    /// The log's counters.
    pub fn stats(&self) -> &LogStats {
        &self.shared.stats
    }

    /// Reads committed records `from..` (at most `max_records` and about
    /// `max_bytes`) as encoded frames, ready to ship. Returns the frames and
    /// the last sequence number included (`from - 1` when none).
    pub fn read_frames(
        &self,
        from: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> io::Result<(Vec<u8>, u64)> {
        let entries: Vec<IndexEntry> = {
            let idx = self.shared.index.read().unwrap_or_else(|p| p.into_inner());
            let start = from.saturating_sub(1) as usize;
            if from == 0 || start >= idx.len() {
                return Ok((Vec::new(), from.saturating_sub(1)));
            }
            let mut total = 0usize;
            let mut v = Vec::new();
            for e in &idx[start..] {
                if v.len() >= max_records || (total > 0 && total + e.len as usize > max_bytes) {
                    break;
                }
                total += e.len as usize;
                v.push(*e);
            }
            v
        };
        let Some(first) = entries.first() else {
            return Ok((Vec::new(), from - 1));
        };
        let last = entries[entries.len() - 1];
        let span = (last.offset + last.len as u64 - first.offset) as usize;
        let mut buf = vec![0u8; span];
        self.reader.read_exact_at(&mut buf, first.offset)?;
        if entries.iter().map(|e| e.len as usize).sum::<usize>() == span {
            // Contiguous (always so on a primary): the read is the answer.
            return Ok((buf, from - 1 + entries.len() as u64));
        }
        let mut out = Vec::with_capacity(span);
        for e in &entries {
            let s = (e.offset - first.offset) as usize;
            out.extend_from_slice(&buf[s..s + e.len as usize]);
        }
        Ok((out, from - 1 + entries.len() as u64))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

struct Writer {
    file: File,
    end: u64,
    last_seq: u64,
    group_commit: bool,
    shared: Arc<Shared>,
    apply: ApplyFn,
    poisoned: bool,
}

struct Pending {
    records: Vec<Record>,
    reply: oneshot::Sender<io::Result<u64>>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Cmd>) {
        loop {
            let first = match rx.recv() {
                Ok(c) => c,
                Err(_) => return,
            };
            let mut batch = Vec::new();
            let mut flushes = Vec::new();
            let mut bytes = 0usize;
            let push =
                |c: Cmd, batch: &mut Vec<Pending>, flushes: &mut Vec<_>, bytes: &mut usize| match c
                {
                    Cmd::Append { records, reply } => {
                        *bytes += records
                            .iter()
                            .map(|r| r.key.len() + r.value.len() + 32)
                            .sum::<usize>();
                        batch.push(Pending { records, reply });
                    }
                    Cmd::Flush { reply } => flushes.push(reply),
                };
            push(first, &mut batch, &mut flushes, &mut bytes);
            if self.group_commit {
                while batch.len() < MAX_BATCH_REQUESTS && bytes < MAX_BATCH_BYTES {
                    match rx.try_recv() {
                        Ok(c) => push(c, &mut batch, &mut flushes, &mut bytes),
                        Err(_) => break,
                    }
                }
            }
            let started = Instant::now();
            self.commit(batch);
            for f in flushes {
                let r = if self.poisoned {
                    Err(io::Error::other("log is poisoned after a failed write"))
                } else {
                    self.file.sync_data().map(|_| started.elapsed())
                };
                let _ = f.send(r);
            }
        }
    }

    fn commit(&mut self, batch: Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        if self.poisoned {
            for p in batch {
                let _ = p.reply.send(Err(io::Error::other(
                    "log is poisoned after a failed write",
                )));
            }
            return;
        }
        let mut buf = Vec::new();
        let mut next = self.last_seq;
        let mut new_index = Vec::new();
        let mut accepted: Vec<(Pending, Vec<Record>, u64)> = Vec::with_capacity(batch.len());
        for mut p in batch {
            let mut err = None;
            let mut to_write = Vec::with_capacity(p.records.len());
            let save_next = next;
            let save_len = buf.len();
            let save_idx = new_index.len();
            for mut r in std::mem::take(&mut p.records) {
                if r.kind.is_committed() {
                    if r.seq == 0 {
                        r.seq = next + 1;
                    } else if r.seq <= next {
                        continue; // already have it: idempotent
                    } else if r.seq != next + 1 {
                        err = Some(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("sequence gap: got {}, expected {}", r.seq, next + 1),
                        ));
                        break;
                    }
                    next = r.seq;
                    let offset = self.end + buf.len() as u64;
                    r.encode_into(&mut buf);
                    new_index.push(IndexEntry {
                        offset,
                        len: (buf.len() as u64 + self.end - offset) as u32,
                        ts_ms: r.ts_ms,
                    });
                } else {
                    r.encode_into(&mut buf);
                }
                to_write.push(r);
            }
            if let Some(e) = err {
                next = save_next;
                buf.truncate(save_len);
                new_index.truncate(save_idx);
                let _ = p.reply.send(Err(e));
                continue;
            }
            accepted.push((p, to_write, next));
        }
        let result = if buf.is_empty() {
            Ok(())
        } else {
            self.file
                .write_all(&buf)
                .and_then(|_| self.file.sync_data())
        };
        let stats = &self.shared.stats;
        match result {
            Ok(()) => {
                if !buf.is_empty() {
                    stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                }
                stats
                    .requests
                    .fetch_add(accepted.len() as u64, Ordering::Relaxed);
                stats
                    .max_batch
                    .fetch_max(accepted.len() as u64, Ordering::Relaxed);
                self.end += buf.len() as u64;
                self.last_seq = next;
                {
                    let mut idx = self.shared.index.write().unwrap_or_else(|p| p.into_inner());
                    idx.extend(new_index);
                }
                for (_, recs, _) in &mut accepted {
                    stats
                        .records
                        .fetch_add(recs.len() as u64, Ordering::Relaxed);
                    for r in recs.drain(..) {
                        (self.apply)(r);
                    }
                }
                // Publish the new durable position before acknowledging, so
                // that an acknowledged write is always visible to readers of
                // `last_seq` and to replication.
                self.shared.durable.send_replace(next);
                for (p, _, mine) in accepted {
                    let _ = p.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "log: write or fsync failed; refusing the batch");
                // Undo a partial write so the next batch starts on a frame boundary.
                if self
                    .file
                    .set_len(self.end)
                    .and_then(|_| self.file.sync_all())
                    .is_err()
                {
                    self.poisoned = true;
                }
                for (p, _, _) in accepted {
                    let _ = p.reply.send(Err(io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<Record>>>;

    fn collector() -> (Seen, ApplyFn) {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        (seen, Box::new(move |r: Record| s.lock().unwrap().push(r)))
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn frame_roundtrip_and_corruption() {
        let r = Record {
            kind: Kind::Put,
            seq: 7,
            ts_ms: 42,
            key: b"k".to_vec(),
            value: Bytes::from_static(b"value"),
        };
        let f = r.encode();
        assert_eq!(decode_frame(&f), Ok((r.clone(), f.len())));
        assert_eq!(decode_frame(&f[..f.len() - 1]), Err(FrameError::Incomplete));
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(decode_frame(&bad), Err(FrameError::Corrupt));
        let mut huge = f;
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_frame(&huge), Err(FrameError::Corrupt));
    }

    #[test]
    fn append_replay_and_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let rt = rt();
        {
            let (_, apply) = collector();
            let (log, rec) = Log::open(&path, true, apply).unwrap();
            assert_eq!(rec, Recovery::default());
            rt.block_on(async {
                assert_eq!(log.append(vec![Record::put("a", "1")]).await.unwrap(), 1);
                assert_eq!(
                    log.append(vec![Record::put("b", "2"), Record::delete("a")])
                        .await
                        .unwrap(),
                    3
                );
                // The durable position is published right after the
                // acknowledgement; wait for it rather than race it.
                let mut durable = log.subscribe();
                durable.wait_for(|s| *s >= 3).await.unwrap();
            });
            assert_eq!(log.last_seq(), 3);
            let (frames, last) = log.read_frames(2, 10, 1 << 20).unwrap();
            assert_eq!(last, 3);
            let recs = decode_frames(&frames).unwrap();
            assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 3]);
            assert_eq!(log.read_frames(4, 10, 1 << 20).unwrap(), (Vec::new(), 3));
        }
        let (seen, apply) = collector();
        let (log, rec) = Log::open(&path, true, apply).unwrap();
        assert_eq!(rec.records, 3);
        assert_eq!(rec.last_seq, 3);
        assert_eq!(rec.truncated_bytes, 0);
        assert_eq!(log.last_seq(), 3);
        let seen = seen.lock().unwrap();
        assert_eq!(seen[2].kind, Kind::Delete);
        assert_eq!(seen[2].key, b"a");
    }

    #[test]
    fn torn_tail_is_cut_at_every_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let rt = rt();
        {
            let (log, _) = Log::open(&path, true, Box::new(|_| {})).unwrap();
            rt.block_on(async {
                for i in 0..3 {
                    log.append(vec![Record::put(format!("k{i}"), vec![b'x'; 100])])
                        .await
                        .unwrap();
                }
            });
        }
        let full = std::fs::read(&path).unwrap();
        let frame = full.len() / 3;
        // Cut the last frame at every possible length: two records survive.
        for cut in (2 * frame + 1)..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (seen, apply) = collector();
            let (log, rec) = Log::open(&path, true, apply).unwrap();
            assert_eq!(rec.last_seq, 2, "cut at {cut}");
            assert_eq!(rec.truncated_bytes as usize, cut - 2 * frame);
            assert_eq!(seen.lock().unwrap().len(), 2);
            drop(log);
            assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, 2 * frame);
        }
        // After the cut, appends continue from the last valid record.
        let (log, _) = Log::open(&path, true, Box::new(|_| {})).unwrap();
        assert_eq!(
            rt.block_on(log.append(vec![Record::put("z", "z")]))
                .unwrap(),
            3
        );
        drop(log);
        let (_, rec) = Log::open(&path, true, Box::new(|_| {})).unwrap();
        assert_eq!((rec.records, rec.truncated_bytes), (3, 0));
    }

    #[test]
    fn crc_corruption_cuts_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let rt = rt();
        {
            let (log, _) = Log::open(&path, true, Box::new(|_| {})).unwrap();
            rt.block_on(async {
                for i in 0..4 {
                    log.append(vec![Record::put(format!("k{i}"), "vvvv")])
                        .await
                        .unwrap();
                }
            });
        }
        let mut data = std::fs::read(&path).unwrap();
        let frame = data.len() / 4;
        data[frame + frame / 2 + 4] ^= 0xff; // inside record 2's payload
        std::fs::write(&path, &data).unwrap();
        let (seen, apply) = collector();
        let (_, rec) = Log::open(&path, true, apply).unwrap();
        assert_eq!(rec.last_seq, 1);
        assert_eq!(rec.truncated_bytes as usize, 3 * frame);
        assert_eq!(seen.lock().unwrap().len(), 1);
        // Garbage appended after valid records is cut too.
        let mut data = std::fs::read(&path).unwrap();
        data.extend_from_slice(&[0xAB; 13]);
        std::fs::write(&path, &data).unwrap();
        let (_, rec) = Log::open(&path, true, Box::new(|_| {})).unwrap();
        assert_eq!((rec.last_seq, rec.truncated_bytes), (1, 13));
    }

    #[test]
    fn idempotent_explicit_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let (seen, apply) = collector();
        let (log, _) = Log::open(&dir.path().join("log"), true, apply).unwrap();
        let rt = rt();
        let mk = |seq: u64, v: &'static str| Record {
            seq,
            ..Record::put("k", v)
        };
        rt.block_on(async {
            assert_eq!(log.append(vec![mk(1, "a"), mk(2, "b")]).await.unwrap(), 2);
            // Replaying 1..=3 applies only 3.
            assert_eq!(
                log.append(vec![mk(1, "a"), mk(2, "b"), mk(3, "c")])
                    .await
                    .unwrap(),
                3
            );
            // A gap is refused and nothing of that request is written.
            let e = log.append(vec![mk(4, "d"), mk(6, "f")]).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert_eq!(log.last_seq(), 3);
        });
        let seqs: Vec<u64> = seen.lock().unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    #[test]
    fn group_commit_batches_concurrent_writes() {
        let rt = rt();
        for group in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (log, _) = Log::open(&dir.path().join("log"), group, Box::new(|_| {})).unwrap();
            let log = Arc::new(log);
            rt.block_on(async {
                let mut tasks = Vec::new();
                for i in 0..200 {
                    let log = log.clone();
                    tasks.push(tokio::spawn(async move {
                        log.append(vec![Record::put(format!("k{i}"), "v")])
                            .await
                            .unwrap()
                    }));
                }
                let mut seqs = Vec::new();
                for t in tasks {
                    seqs.push(t.await.unwrap());
                }
                seqs.sort();
                seqs.dedup();
                assert_eq!(
                    seqs,
                    (1..=200).collect::<Vec<u64>>(),
                    "each write gets its own number"
                );
            });
            let fsyncs = log.stats().fsyncs.load(Ordering::Relaxed);
            assert_eq!(log.last_seq(), 200);
            if group {
                assert!(
                    fsyncs < 200,
                    "group commit used {fsyncs} fsyncs for 200 writes"
                );
                assert!(log.stats().max_batch.load(Ordering::Relaxed) > 1);
            } else {
                assert_eq!(fsyncs, 200, "one fsync per write without group commit");
            }
        }
    }

    #[test]
    fn prepare_and_abort_are_not_numbered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let rt = rt();
        let (log, _) = Log::open(&path, true, Box::new(|_| {})).unwrap();
        rt.block_on(async {
            let prep = Record {
                kind: Kind::PreparePut,
                seq: 1,
                ..Record::put("k", "v")
            };
            let abort = Record {
                kind: Kind::Abort,
                seq: 1,
                ..Record::delete("k")
            };
            assert_eq!(log.append(vec![prep]).await.unwrap(), 0);
            assert_eq!(log.append(vec![abort]).await.unwrap(), 0);
            assert_eq!(log.append(vec![Record::put("k", "w")]).await.unwrap(), 1);
            let (frames, last) = log.read_frames(1, 10, 1 << 20).unwrap();
            assert_eq!(last, 1);
            assert_eq!(decode_frames(&frames).unwrap()[0].value, &b"w"[..]);
            assert!(log.flush().await.is_ok());
        });
        drop(log);
        let (seen, apply) = collector();
        let (_, rec) = Log::open(&path, true, apply).unwrap();
        assert_eq!((rec.records, rec.last_seq), (3, 1));
        let kinds: BTreeMap<usize, Kind> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.kind)
            .enumerate()
            .collect();
        assert_eq!(kinds[&0], Kind::PreparePut);
        assert_eq!(kinds[&1], Kind::Abort);
    }
}
