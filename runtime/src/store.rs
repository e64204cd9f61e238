//! The in-memory key-value view of the log.

use crate::log::{Kind, Record};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};

/// What reads see: every committed record applied in order. Prepared records
/// (sync replication, on a replica) are held apart and never visible.
#[derive(Debug, Default)]
pub struct Store {
    map: RwLock<HashMap<Vec<u8>, Bytes>>,
    pending: Mutex<BTreeMap<u64, Record>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// Applies one durable record (moving its key and value in).
    pub fn apply(&self, r: Record) {
        match r.kind {
            Kind::Put => {
                self.write().insert(r.key, r.value);
                self.drop_pending_through(r.seq);
            }
            Kind::Delete => {
                self.write().remove(&r.key);
                self.drop_pending_through(r.seq);
            }
            Kind::PreparePut | Kind::PrepareDelete => {
                self.pending_lock().insert(r.seq, r);
            }
            Kind::Abort => {
                self.pending_lock().remove(&r.seq);
            }
        }
    }

    fn drop_pending_through(&self, seq: u64) {
        let mut p = self.pending_lock();
        if !p.is_empty() {
            *p = p.split_off(&(seq + 1));
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Vec<u8>, Bytes>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Record>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prepared (not committed) records held.
    pub fn pending_len(&self) -> usize {
        self.pending_lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_records_are_invisible_until_committed() {
        let s = Store::new();
        let prep = Record {
            kind: Kind::PreparePut,
            seq: 1,
            ..Record::put("k", "v")
        };
        s.apply(prep.clone());
        assert_eq!(s.get(b"k"), None);
        assert_eq!(s.pending_len(), 1);
        s.apply(Record {
            kind: Kind::Abort,
            ..prep.clone()
        });
        assert_eq!(s.pending_len(), 0);
        s.apply(prep);
        s.apply(Record {
            seq: 1,
            ..Record::put("k", "v")
        });
        assert_eq!(s.get(b"k").as_deref(), Some(&b"v"[..]));
        assert_eq!(s.pending_len(), 0);
        s.apply(Record {
            seq: 2,
            ..Record::delete("k")
        });
        assert!(s.is_empty());
    }
}
