use async_trait::async_trait;
use thiserror::Error;
use tokio::sync::mpsc;

/// One stored key with its etcd-style revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the transaction that created the key.
    pub create_revision: u64,
    /// Revision of the last transaction that wrote the key.
    pub mod_revision: u64,
    /// Number of writes since creation (1 after the first put).
    pub version: u64,
}

/// A condition that must hold for a transaction to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compare {
    /// The key's `mod_revision` equals this value; 0 means "the key is absent".
    ModRevision(String, u64),
    /// The key exists.
    Exists(String),
    /// The key does not exist.
    Absent(String),
}

/// A write inside a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

/// What a transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnResult {
    /// False when a compare failed; nothing was written then.
    pub succeeded: bool,
    /// The store revision after the transaction (unchanged on failure or when
    /// the transaction wrote nothing).
    pub revision: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watcher. For deletes `kv.value` is empty and
/// `kv.mod_revision` is the deleting revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
}

/// Every change of one revision that matched a watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchBatch {
    pub revision: u64,
    pub events: Vec<Event>,
}

/// The keys of a [`Store::range_stream`], in key order; an error ends it.
pub type RangeStream = mpsc::Receiver<Result<KeyValue, StoreError>>;

/// A watch's stream of batches; ends with an error if the watcher falls
/// behind compaction.
pub type WatchStream = mpsc::UnboundedReceiver<Result<WatchBatch, StoreError>>;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The requested start revision has been compacted away; re-read with
    /// `range` and watch from its revision.
    #[error("revision {requested} has been compacted (oldest kept is {compacted})")]
    Compacted { requested: u64, compacted: u64 },
    #[error("storage error: {0}")]
    Backend(String),
    #[error("store is closed")]
    Closed,
}

/// The store interface every backend implements (embedded, memory, etcd).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The current revision.
    async fn revision(&self) -> Result<u64, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;
    /// Every key starting with `prefix`, in key order, and the revision read at.
    async fn range(&self, prefix: &str) -> Result<(Vec<KeyValue>, u64), StoreError>;
    /// [`Store::range`], handed over a few keys at a time, so that reading
    /// a big store does not hold every value at once (the catalog's load
    /// at start: 100,000 ports are ~100 MB of records). All of one
    /// revision, returned first. The default reads the whole range first.
    async fn range_stream(&self, prefix: &str) -> Result<(RangeStream, u64), StoreError> {
        let (kvs, rev) = self.range(prefix).await?;
        let (tx, rx) = mpsc::channel(kvs.len().max(1));
        for kv in kvs {
            // The channel holds them all; the receiver is still here.
            let _ = tx.try_send(Ok(kv));
        }
        Ok((rx, rev))
    }
    /// Apply `ops` atomically if every compare holds. The write is durable
    /// (on disk, fsync'd) when this returns for a durable backend.
    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult, StoreError>;
    /// Changes under `prefix` with revision > `after_revision`, in order,
    /// followed by every later change as it happens.
    async fn watch(&self, prefix: &str, after_revision: u64) -> Result<WatchStream, StoreError>;
    /// Forget history up to and including `revision` (watch replay only).
    async fn compact(&self, revision: u64) -> Result<(), StoreError>;
}

/// Encode a key-value's metadata and value into one stored record.
pub(crate) fn encode_record(create: u64, modrev: u64, version: u64, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + value.len());
    v.extend_from_slice(&create.to_le_bytes());
    v.extend_from_slice(&modrev.to_le_bytes());
    v.extend_from_slice(&version.to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// A stored record's (create, mod, version) without copying its value.
pub(crate) fn decode_meta(key: &str, rec: &[u8]) -> Result<(u64, u64, u64), StoreError> {
    if rec.len() < 24 {
        return Err(StoreError::Backend(format!("corrupt record for key {key:?}")));
    }
    let u = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rec[i..i + 8]);
        u64::from_le_bytes(b)
    };
    Ok((u(0), u(8), u(16)))
}

/// Rewrite an encoded record's metadata in place.
pub(crate) fn set_meta(rec: &mut [u8], create: u64, modrev: u64, version: u64) {
    rec[..8].copy_from_slice(&create.to_le_bytes());
    rec[8..16].copy_from_slice(&modrev.to_le_bytes());
    rec[16..24].copy_from_slice(&version.to_le_bytes());
}

pub(crate) fn decode_record(key: &str, rec: &[u8]) -> Result<KeyValue, StoreError> {
    let (create_revision, mod_revision, version) = decode_meta(key, rec)?;
    Ok(KeyValue { key: key.to_string(), create_revision, mod_revision, version, value: rec[24..].to_vec() })
}
