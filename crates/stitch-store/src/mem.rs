//! An in-memory store with the same semantics as the durable ones: for unit
//! tests and fault injection, never for production data.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::types::*;
use crate::watch::Hub;

#[derive(Default)]
struct State {
    revision: u64,
    compacted: u64,
    kv: BTreeMap<String, KeyValue>,
    history: BTreeMap<u64, WatchBatch>,
}

/// A [`Store`] that lives in memory only.
#[derive(Default)]
pub struct MemStore {
    state: Mutex<State>,
    hub: Hub,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `c` holds for its key, given the key's `mod_revision` (`None`: absent).
pub(crate) fn compare_holds(c: &Compare, cur: Option<u64>) -> bool {
    match c {
        Compare::ModRevision(_, r) => cur.unwrap_or(0) == *r,
        Compare::Exists(_) => cur.is_some(),
        Compare::Absent(_) => cur.is_none(),
    }
}

pub(crate) fn compare_key(c: &Compare) -> &str {
    match c {
        Compare::ModRevision(k, _) | Compare::Exists(k) | Compare::Absent(k) => k,
    }
}

#[async_trait]
impl Store for MemStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.lock().revision)
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.lock().kv.get(key).cloned())
    }

    async fn range(&self, prefix: &str) -> Result<(Vec<KeyValue>, u64), StoreError> {
        let s = self.lock();
        let kvs = s.kv.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v.clone()).collect();
        Ok((kvs, s.revision))
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult, StoreError> {
        let mut s = self.lock();
        if !compares.iter().all(|c| compare_holds(c, s.kv.get(compare_key(c)).map(|kv| kv.mod_revision))) {
            return Ok(TxnResult { succeeded: false, revision: s.revision });
        }
        if ops.is_empty() {
            return Ok(TxnResult { succeeded: true, revision: s.revision });
        }
        let rev = s.revision + 1;
        let mut events = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                Op::Put { key, value } => {
                    let (create, version) = s.kv.get(&key).map_or((rev, 1), |kv| (kv.create_revision, kv.version + 1));
                    let kv = KeyValue { key: key.clone(), value, create_revision: create, mod_revision: rev, version };
                    s.kv.insert(key, kv.clone());
                    events.push(Event { kind: EventKind::Put, kv });
                }
                Op::Delete { key } => {
                    if let Some(old) = s.kv.remove(&key) {
                        let kv = KeyValue { value: Vec::new(), mod_revision: rev, ..old };
                        events.push(Event { kind: EventKind::Delete, kv });
                    }
                }
            }
        }
        s.revision = rev;
        let batch = WatchBatch { revision: rev, events };
        s.history.insert(rev, batch.clone());
        self.hub.publish(&batch);
        Ok(TxnResult { succeeded: true, revision: rev })
    }

    async fn watch(&self, prefix: &str, after_revision: u64) -> Result<WatchStream, StoreError> {
        let s = self.lock();
        if after_revision < s.compacted {
            return Ok(Hub::failed(StoreError::Compacted { requested: after_revision, compacted: s.compacted }));
        }
        let history = s.history.range(after_revision + 1..).map(|(_, b)| b.clone()).collect();
        Ok(self.hub.register(prefix, history))
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        let mut s = self.lock();
        let revision = revision.min(s.revision);
        s.history = s.history.split_off(&(revision + 1));
        s.compacted = s.compacted.max(revision);
        Ok(())
    }
}
