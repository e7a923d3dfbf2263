//! The embedded, durable backend on redb. Each transaction is one redb write
//! transaction committed with `Durability::Immediate` (fsync before the call
//! returns), so an acknowledged write survives `kill -9` and power loss.
//!
//! Layout: `kv` maps key → record (revisions + value); `log` maps revision →
//! the batch of events, for watchers that resume from an older revision;
//! `meta` holds the current and the compacted revision.
//!
//! The log writes every value a second time. A store opened with no
//! history ([`RedbStore::open_with_history`] with 0) keeps none: live
//! watches work, a watch from an older revision gets `Compacted`. `stitch
//! serve` opens it so, as nothing in it resumes watches (issue 8: without
//! it, a network + port pair costs the controller 3–16% less CPU).

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use redb::{Database, Durability, ReadableTable, TableDefinition};

use crate::mem::{compare_holds, compare_key};
use crate::types::*;
use crate::watch::Hub;

const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";
const COMPACTED: &str = "compacted";

/// How many revisions of history are kept for watch replay by default.
pub const DEFAULT_HISTORY: u64 = 100_000;

struct Inner {
    db: Database,
    /// Serialises commit + publish so watchers see revisions in order.
    commit: Mutex<()>,
    hub: Hub,
    history: u64,
}

/// A [`Store`] in one redb file.
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

/// redb's page cache. Its default (1 GiB) let the cache grow with the
/// store file — the whole file after a restart, which reads every key —
/// and dominated the controller's RSS at scale (issue 8: 136 MiB of a
/// restarted controller at 10k ports). Reads that miss it are served from
/// the kernel's page cache.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// How many records a [`Store::range_stream`] reader may be ahead by.
const STREAM_BATCH: usize = 256;

fn be<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl RedbStore {
    /// Open (or create) the store file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_history(path, DEFAULT_HISTORY)
    }

    /// Open keeping `history` revisions of change log for watch replay;
    /// 0 keeps no log at all.
    pub fn open_with_history(path: &Path, history: u64) -> Result<Self, StoreError> {
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(path).map_err(be)?;
        let mut w = db.begin_write().map_err(be)?;
        w.set_durability(Durability::Immediate);
        {
            w.open_table(KV).map_err(be)?;
            let mut log = w.open_table(LOG).map_err(be)?;
            let mut meta = w.open_table(META).map_err(be)?;
            if meta.get(REVISION).map_err(be)?.is_none() {
                meta.insert(REVISION, 0).map_err(be)?;
                meta.insert(COMPACTED, 0).map_err(be)?;
            }
            // Revisions written while no log was kept cannot be replayed:
            // the log must reach the current revision, or start after it.
            let rev = meta.get(REVISION).map_err(be)?.map(|v| v.value()).unwrap_or(0);
            let logged = log.last().map_err(be)?.map(|(k, _)| k.value());
            if rev > 0 && (history == 0 || logged != Some(rev)) {
                log.retain(|_, _| false).map_err(be)?;
                let compacted = meta.get(COMPACTED).map_err(be)?.map(|v| v.value()).unwrap_or(0);
                meta.insert(COMPACTED, compacted.max(rev)).map_err(be)?;
            }
        }
        w.commit().map_err(be)?;
        Ok(RedbStore { inner: Arc::new(Inner { db, commit: Mutex::new(()), hub: Hub::default(), history }) })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(be)?
    }
}

fn meta_get(db: &Database, key: &str) -> Result<u64, StoreError> {
    let r = db.begin_read().map_err(be)?;
    let t = r.open_table(META).map_err(be)?;
    Ok(t.get(key).map_err(be)?.map(|v| v.value()).unwrap_or(0))
}

fn encode_batch(b: &WatchBatch) -> Vec<u8> {
    let mut out = Vec::new();
    for e in &b.events {
        out.push(match e.kind {
            EventKind::Put => 0u8,
            EventKind::Delete => 1u8,
        });
        let rec = encode_record(e.kv.create_revision, e.kv.mod_revision, e.kv.version, &e.kv.value);
        out.extend_from_slice(&(e.kv.key.len() as u32).to_le_bytes());
        out.extend_from_slice(e.kv.key.as_bytes());
        out.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        out.extend_from_slice(&rec);
    }
    out
}

fn decode_batch(revision: u64, mut b: &[u8]) -> Result<WatchBatch, StoreError> {
    let corrupt = || StoreError::Backend(format!("corrupt log entry at revision {revision}"));
    let take = |n: usize, b: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
        if b.len() < n {
            return Err(corrupt());
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Ok(h.to_vec())
    };
    let mut events = Vec::new();
    while !b.is_empty() {
        let kind = if take(1, &mut b)?[0] == 0 { EventKind::Put } else { EventKind::Delete };
        let klen = u32::from_le_bytes(take(4, &mut b)?.try_into().map_err(|_| corrupt())?) as usize;
        let key = String::from_utf8(take(klen, &mut b)?).map_err(|_| corrupt())?;
        let rlen = u32::from_le_bytes(take(4, &mut b)?.try_into().map_err(|_| corrupt())?) as usize;
        let kv = decode_record(&key, &take(rlen, &mut b)?)?;
        events.push(Event { kind, kv });
    }
    Ok(WatchBatch { revision, events })
}

impl Inner {
    fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult, StoreError> {
        let _g = self.commit.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = self.db.begin_write().map_err(be)?;
        w.set_durability(Durability::Immediate);
        let (result, batch) = {
            let mut kv = w.open_table(KV).map_err(be)?;
            let mut meta = w.open_table(META).map_err(be)?;
            let cur = meta.get(REVISION).map_err(be)?.map(|v| v.value()).unwrap_or(0);
            for c in &compares {
                let k = compare_key(c);
                let existing = kv.get(k).map_err(be)?.map(|v| decode_meta(k, v.value())).transpose()?;
                if !compare_holds(c, existing.map(|(_, modrev, _)| modrev)) {
                    return Ok(TxnResult { succeeded: false, revision: cur });
                }
            }
            if ops.is_empty() {
                return Ok(TxnResult { succeeded: true, revision: cur });
            }
            let rev = cur + 1;
            let mut events = Vec::with_capacity(ops.len());
            for op in ops {
                match op {
                    Op::Put { key, value } => {
                        // Most puts create their key (a new port, its new
                        // group): store the record as new, and only when the
                        // insert hands an old one back, store it again with
                        // the key's history. One tree walk per new key, not a
                        // lookup and then an insert.
                        let mut rec = encode_record(rev, rev, 1, &value);
                        let old = kv.insert(key.as_str(), rec.as_slice()).map_err(be)?.map(|v| decode_meta(&key, v.value())).transpose()?;
                        let (create, version) = match old {
                            None => (rev, 1),
                            Some((create, _, version)) => {
                                set_meta(&mut rec, create, rev, version + 1);
                                kv.insert(key.as_str(), rec.as_slice()).map_err(be)?;
                                (create, version + 1)
                            }
                        };
                        events.push(Event { kind: EventKind::Put, kv: KeyValue { key, value, create_revision: create, mod_revision: rev, version } });
                    }
                    Op::Delete { key } => {
                        // A delete event carries no value: read the old record's header only.
                        let old = kv.remove(key.as_str()).map_err(be)?.map(|v| decode_meta(&key, v.value())).transpose()?;
                        if let Some((create_revision, _, version)) = old {
                            events
                                .push(Event { kind: EventKind::Delete, kv: KeyValue { key, value: Vec::new(), create_revision, mod_revision: rev, version } });
                        }
                    }
                }
            }
            meta.insert(REVISION, rev).map_err(be)?;
            let batch = WatchBatch { revision: rev, events };
            if self.history == 0 {
                // Published live below; nothing kept for replay.
                (TxnResult { succeeded: true, revision: rev }, batch)
            } else {
                let mut log = w.open_table(LOG).map_err(be)?;
                log.insert(rev, encode_batch(&batch).as_slice()).map_err(be)?;
                // Keep the change log bounded: drop what falls out of the window.
                let compacted = meta.get(COMPACTED).map_err(be)?.map(|v| v.value()).unwrap_or(0);
                if rev > self.history && rev - self.history > compacted + self.history / 10 {
                    let upto = rev - self.history;
                    log.retain_in(..=upto, |_, _| false).map_err(be)?;
                    meta.insert(COMPACTED, upto).map_err(be)?;
                }
                (TxnResult { succeeded: true, revision: rev }, batch)
            }
        };
        w.commit().map_err(be)?;
        self.hub.publish(&batch);
        Ok(result)
    }

    fn watch(&self, prefix: &str, after: u64) -> Result<WatchStream, StoreError> {
        let _g = self.commit.lock().unwrap_or_else(|e| e.into_inner());
        // Without a log, every revision before the current one is gone.
        let compacted = if self.history == 0 { meta_get(&self.db, REVISION)? } else { meta_get(&self.db, COMPACTED)? };
        if after < compacted {
            return Ok(Hub::failed(StoreError::Compacted { requested: after, compacted }));
        }
        let r = self.db.begin_read().map_err(be)?;
        let log = r.open_table(LOG).map_err(be)?;
        let mut history = Vec::new();
        for entry in log.range(after + 1..).map_err(be)? {
            let (k, v) = entry.map_err(be)?;
            let b = decode_batch(k.value(), v.value())?;
            if let Some(b) = crate::watch::filter(&b, prefix) {
                history.push(b);
            }
        }
        Ok(self.hub.register(prefix, history))
    }
}

#[async_trait]
impl Store for RedbStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        self.blocking(|i| meta_get(&i.db, REVISION)).await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.blocking(move |i| {
            let r = i.db.begin_read().map_err(be)?;
            let t = r.open_table(KV).map_err(be)?;
            t.get(key.as_str()).map_err(be)?.map(|v| decode_record(&key, v.value())).transpose()
        })
        .await
    }

    async fn range(&self, prefix: &str) -> Result<(Vec<KeyValue>, u64), StoreError> {
        let prefix = prefix.to_string();
        self.blocking(move |i| {
            let r = i.db.begin_read().map_err(be)?;
            let t = r.open_table(KV).map_err(be)?;
            let meta = r.open_table(META).map_err(be)?;
            let rev = meta.get(REVISION).map_err(be)?.map(|v| v.value()).unwrap_or(0);
            let mut out = Vec::new();
            for entry in t.range(prefix.as_str()..).map_err(be)? {
                let (k, v) = entry.map_err(be)?;
                let key = k.value();
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                out.push(decode_record(key, v.value())?);
            }
            Ok((out, rev))
        })
        .await
    }

    async fn range_stream(&self, prefix: &str) -> Result<(RangeStream, u64), StoreError> {
        // One read transaction, on a blocking thread, feeding a bounded
        // channel: at most STREAM_BATCH records are decoded and waiting.
        let prefix = prefix.to_string();
        let inner = self.inner.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BATCH);
        let (rev_tx, rev_rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let read = || -> Result<_, StoreError> {
                let r = inner.db.begin_read().map_err(be)?;
                let t = r.open_table(KV).map_err(be)?;
                let meta = r.open_table(META).map_err(be)?;
                let rev = meta.get(REVISION).map_err(be)?.map(|v| v.value()).unwrap_or(0);
                Ok((t, rev))
            };
            let (t, rev) = match read() {
                Ok(x) => x,
                Err(e) => {
                    let _ = rev_tx.send(Err(e));
                    return;
                }
            };
            if rev_tx.send(Ok(rev)).is_err() {
                return;
            }
            let entries = match t.range(prefix.as_str()..).map_err(be) {
                Ok(e) => e,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            for entry in entries {
                let kv = match entry {
                    Ok((k, _)) if !k.value().starts_with(prefix.as_str()) => break,
                    Ok((k, v)) => decode_record(k.value(), v.value()),
                    Err(e) => Err(be(e)),
                };
                let failed = kv.is_err();
                // A dropped receiver stops the read; an error ends the stream.
                if tx.blocking_send(kv).is_err() || failed {
                    break;
                }
            }
        });
        let rev = rev_rx.await.map_err(be)??;
        Ok((rx, rev))
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult, StoreError> {
        self.blocking(move |i| i.txn(compares, ops)).await
    }

    async fn watch(&self, prefix: &str, after_revision: u64) -> Result<WatchStream, StoreError> {
        let prefix = prefix.to_string();
        self.blocking(move |i| i.watch(&prefix, after_revision)).await
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        self.blocking(move |i| {
            let _g = i.commit.lock().unwrap_or_else(|e| e.into_inner());
            let w = i.db.begin_write().map_err(be)?;
            {
                let mut meta = w.open_table(META).map_err(be)?;
                let cur = meta.get(REVISION).map_err(be)?.map(|v| v.value()).unwrap_or(0);
                let old = meta.get(COMPACTED).map_err(be)?.map(|v| v.value()).unwrap_or(0);
                let upto = revision.min(cur).max(old);
                let mut log = w.open_table(LOG).map_err(be)?;
                log.retain_in(..=upto, |_, _| false).map_err(be)?;
                meta.insert(COMPACTED, upto).map_err(be)?;
            }
            w.commit().map_err(be)
        })
        .await
    }
}
