//! The embedded, durable backend `stitch serve` runs on: an append-only log
//! of transactions in one file, with the key index in memory.
//!
//! Why a log (issue 8): the catalog already holds every object in memory
//! and reads nothing back from its store after start, so the store's work
//! on the hot path is making one transaction durable. A B-tree store
//! (redb) rewrites and checksums a path of pages per commit: ~0.3 ms of
//! CPU per request, a quarter of the controller's CPU per incremental
//! binding. Here a commit is one record written at the end of the file and
//! one `fdatasync`.
//!
//! # File
//! A sequence of records, each `len: u32 LE`, `crc32(payload): u32 LE`,
//! `payload` (`len` bytes, at least one). A payload starts with its type:
//! - `Header`: the format's magic; always the first record.
//! - `Txn`: one transaction: its revision, then each put (key, create
//!   revision, version, value) and each delete that removed a key (key,
//!   create revision, version). A record says everything a watcher is told,
//!   so a replay never needs the state it was written against.
//! - `Base` + `Entry` records: the state at a revision, written by a
//!   rewrite (below); history starts after it.
//!
//! # Recovery
//! Opening reads the file once, checking every record. A record cut short
//! or failing its checksum at the very end of the file is a write that was
//! never acknowledged (the process or machine stopped inside it): the file
//! is truncated there. A bad record with a whole record after it is
//! damage, not a torn write (a torn write leaves at most part of one
//! record), and opening refuses rather than drop acknowledged writes.
//!
//! A write or sync that fails is reported as failed. After a failed sync
//! the store takes no more writes (the kernel may have dropped the pages
//! and reports that once), and a restart finds that transaction either
//! whole or cut off: failed means "not known to be durable", as in any
//! database.
//!
//! # Rewrite
//! Superseded records are garbage. When the file grows past twice the live
//! data (plus a floor), it is rewritten: the state at the current revision
//! is written to a new file *without* holding the commit lock (values are
//! read from the old file, which is only ever appended to), then, under the
//! lock, the records committed meanwhile are copied after it verbatim, the
//! new file is synced and renamed over the old one, and the directory is
//! synced. Readers that still hold the old file keep reading it.
//!
//! # Metrics
//! `stitch_store_log_bytes` (the file), `stitch_store_live_bytes` (what a
//! rewrite would keep), `stitch_store_commit_seconds` (write + sync of one
//! transaction), `stitch_store_rewrites_total`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

mod format;
mod index;

use format::*;
use index::{Key, KeyIndex, render};

use crate::mem::{compare_holds, compare_key};
use crate::types::*;
use crate::watch::Hub;

/// A rewrite syncs its new file every this many bytes.
const REWRITE_SYNC_BYTES: u64 = 8 << 20;
/// How many records a [`Store::range_stream`] reader may be ahead by.
const STREAM_BATCH: usize = 256;

/// When the file is rewritten: once it holds more than `live * 2 +
/// floor` bytes.
#[derive(Clone, Copy, Debug)]
pub struct LogOptions {
    pub rewrite_floor: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { rewrite_floor: 64 * 1024 * 1024 }
    }
}

/// Where a live key's value is, and its revisions.
#[derive(Clone, Copy, Debug)]
struct Slot {
    create: u64,
    modrev: u64,
    version: u64,
    off: u64,
    len: u32,
}

/// What one key costs in [`State::live`] besides its key and value.
const SLOT_BYTES: u64 = 32;

struct State {
    index: KeyIndex,
    revision: u64,
    /// Watches from before this revision are refused.
    compacted: u64,
    file: Arc<File>,
    /// Where the next record goes: everything before it is durable.
    len: u64,
    /// Bytes of the live keys and values, to tell when a rewrite pays.
    live: u64,
    /// Set after a failed sync: nothing is known about what reached the disk.
    failed: Option<String>,
    rewriting: bool,
    /// After a failed rewrite, none is tried before the file reaches this.
    retry_at: u64,
    buf: Vec<u8>,
}

struct Inner {
    path: PathBuf,
    opts: LogOptions,
    state: Mutex<State>,
    /// Held by whoever rewrites the file: one rewrite at a time.
    rewrite_gate: Mutex<()>,
    /// The rewrite started by a write, if any, for [`LogStore::close`].
    rewriter: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// An exclusive lock on `<path>.lock`, held while the store is open:
    /// two processes appending to one log would interleave their records.
    _lock: File,
    hub: Hub,
}

/// A [`Store`] in one append-only file.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

fn be<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// Apply one record to an index being rebuilt.
fn replay(st: &mut State, off: u64, payload: &[u8]) -> Result<(), String> {
    let value_at = |at: usize| off + FRAME + at as u64;
    match decode(payload).ok_or("a record that does not decode")? {
        Payload::Header if off == 0 => {}
        Payload::Header => return Err("a second header".into()),
        _ if off == 0 => return Err("not a Stitch store log (no header)".into()),
        Payload::Base { revision } => {
            st.index.clear();
            st.live = 0;
            st.revision = revision;
            st.compacted = revision;
        }
        Payload::Entry { key, create, modrev, version, value, at } => {
            if modrev > st.revision {
                return Err(format!("an entry of revision {modrev} in a base of revision {}", st.revision));
            }
            let slot = Slot { create, modrev, version, off: value_at(at), len: value.len() as u32 };
            set(st, key, slot);
        }
        Payload::Txn { revision, writes } => {
            if revision != st.revision + 1 {
                return Err(format!("revision {revision} after revision {}", st.revision));
            }
            for w in writes {
                match w {
                    Logged::Put { key, create, version, value, at } => {
                        set(st, key, Slot { create, modrev: revision, version, off: value_at(at), len: value.len() as u32 });
                    }
                    Logged::Delete { key, .. } => unset(st, key),
                }
            }
            st.revision = revision;
        }
    }
    Ok(())
}

fn set(st: &mut State, key: &str, slot: Slot) {
    st.live += key.len() as u64 + slot.len as u64 + SLOT_BYTES;
    if let Some(old) = st.index.insert(key, slot) {
        st.live -= key.len() as u64 + old.len as u64 + SLOT_BYTES;
    }
}

fn unset(st: &mut State, key: &str) {
    if let Some(old) = st.index.remove(key) {
        st.live -= key.len() as u64 + old.len as u64 + SLOT_BYTES;
    }
}

/// The file's size and what of it is live, for `/metrics`.
fn sizes(st: &State) {
    metrics::gauge!("stitch_store_log_bytes").set(st.len as f64);
    metrics::gauge!("stitch_store_live_bytes").set(st.live as f64);
}

fn read_value(file: &File, s: &Slot) -> Result<Vec<u8>, StoreError> {
    let mut v = vec![0; s.len as usize];
    file.read_exact_at(&mut v, s.off).map_err(be)?;
    Ok(v)
}

fn kv(key: &str, s: &Slot, value: Vec<u8>) -> KeyValue {
    KeyValue { key: key.to_string(), value, create_revision: s.create, mod_revision: s.modrev, version: s.version }
}

// ---- the store --------------------------------------------------------------

impl LogStore {
    /// Open (or create) the store log at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, LogOptions::default())
    }

    pub fn open_with(path: &Path, opts: LogOptions) -> Result<Self, StoreError> {
        let lock = lock(path)?;
        // A rewrite that a stop interrupted left its file: never renamed, not the store.
        let _ = std::fs::remove_file(tmp_path(path));
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(be)?;
        let mut st = State {
            index: KeyIndex::default(),
            revision: 0,
            compacted: 0,
            file: Arc::new(file),
            len: 0,
            live: 0,
            failed: None,
            rewriting: false,
            retry_at: 0,
            buf: Vec::new(),
        };
        let file = st.file.clone();
        let end = file.metadata().map_err(be)?.len();
        check_header(&file, end, path)?;
        let valid = match scan(&file, 0, end, |off, p| replay(&mut st, off, p))? {
            End::Clean => end,
            End::Torn(at, why) => {
                tracing::warn!(path = %path.display(), at, %why, "the store log ends in a write that was never acknowledged; cutting it off");
                file.set_len(at).map_err(be)?;
                file.sync_all().map_err(be)?;
                at
            }
        };
        st.len = valid;
        if valid == 0 {
            let mut out = Vec::new();
            header(&mut out);
            file.write_all_at(&out, 0).map_err(be)?;
            file.sync_all().map_err(be)?;
            sync_dir(path).map_err(be)?;
            st.len = out.len() as u64;
        }
        sizes(&st);
        Ok(LogStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                opts,
                state: Mutex::new(st),
                rewrite_gate: Mutex::new(()),
                rewriter: Mutex::new(None),
                _lock: lock,
                hub: Hub::default(),
            }),
        })
    }

    /// Write a new store log at `path` holding `kvs` at `revision` (an
    /// import from another store; their revisions are kept). Refuses when
    /// `path` exists. The log appears whole or not at all.
    /// An error from `kvs` ends the import with nothing written.
    pub fn create_from(path: &Path, kvs: impl IntoIterator<Item = Result<KeyValue, StoreError>>, revision: u64) -> Result<(), StoreError> {
        let _lock = lock(path)?;
        if path.exists() {
            return Err(StoreError::Backend(format!("{} exists already", path.display())));
        }
        let tmp = tmp_path(path);
        // Whatever goes wrong, the partial file goes, as after a rewrite.
        let r = write_base(&tmp, kvs, revision).and_then(|()| std::fs::rename(&tmp, path).map_err(be));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r?;
        sync_dir(path).map_err(be)
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(be)?
    }

    /// The file's size: what a rewrite shrinks (for tests and benches).
    pub fn file_len(&self) -> u64 {
        self.inner.lock().len
    }

    /// Wait for a rewrite that a write started. Once every handle is
    /// dropped after this, the store is closed and may be opened again.
    pub async fn close(&self) {
        let h = self.inner.rewriter.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = h {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    /// Rewrite the file now, after any rewrite under way (writes go on
    /// meanwhile). The store rewrites itself as it grows; this is for tests
    /// and for an operator's tool.
    pub async fn rewrite(&self) -> Result<(), StoreError> {
        self.blocking(|i| i.rewrite()).await
    }
}

/// Write a log holding `kvs` at `revision` to `tmp`, synced.
fn write_base(tmp: &Path, kvs: impl IntoIterator<Item = Result<KeyValue, StoreError>>, revision: u64) -> Result<(), StoreError> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).open(tmp).map_err(be)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, &file);
    let mut out = Vec::new();
    header(&mut out);
    base(&mut out, revision);
    for kv in kvs {
        let kv = kv?;
        if kv.mod_revision > revision {
            return Err(StoreError::Backend(format!("key {:?} was written at revision {}, after {revision}", kv.key, kv.mod_revision)));
        }
        let s = Slot { create: kv.create_revision, modrev: kv.mod_revision, version: kv.version, off: 0, len: 0 };
        entry(&mut out, &kv.key, &s, &kv.value);
        std::io::Write::write_all(&mut w, &out).map_err(be)?;
        out.clear();
    }
    std::io::Write::write_all(&mut w, &out).map_err(be)?;
    std::io::Write::flush(&mut w).map_err(be)?;
    drop(w);
    file.sync_all().map_err(be)
}

/// Refuse a file that is not a store log, before recovery would cut it
/// short: its start must be the header, or a part of it (a crash while
/// the header was first written), or zeros.
fn check_header(file: &File, end: u64, path: &Path) -> Result<(), StoreError> {
    let mut want = Vec::new();
    header(&mut want);
    let mut got = vec![0; (end as usize).min(want.len())];
    file.read_exact_at(&mut got, 0).map_err(be)?;
    if got == want[..got.len()] || got.iter().all(|b| *b == 0) {
        return Ok(());
    }
    Err(StoreError::Backend(format!("{} is not a Stitch store log", path.display())))
}

/// Take the exclusive lock of the log at `path` (on `<path>.lock`: the log
/// itself is replaced by a rewrite), held while the returned file is open.
fn lock(path: &Path) -> Result<File, StoreError> {
    let lock = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(with_suffix(path, ".lock")).map_err(be)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StoreError::Backend(format!("the store log {} is in use (is another stitch serve running on this data directory?)", path.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(be(e)),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn tmp_path(path: &Path) -> PathBuf {
    with_suffix(path, ".rewrite")
}

/// What one operation of a transaction does to the index.
enum Write {
    /// The key's new slot; `off` within the transaction's record.
    Put(Slot),
    /// The key's slot before it was deleted.
    Delete(Slot),
    /// A delete of a key that is not there.
    Nothing,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn txn(self: &Arc<Self>, compares: &[Compare], ops: Vec<Op>) -> Result<TxnResult, StoreError> {
        let mut st = self.lock();
        if let Some(why) = &st.failed {
            return Err(StoreError::Backend(format!("the store log failed earlier and takes no writes: {why}")));
        }
        let cur = st.revision;
        for c in compares {
            if !compare_holds(c, st.index.get(compare_key(c)).map(|s| s.modrev)) {
                return Ok(TxnResult { succeeded: false, revision: cur });
            }
        }
        if ops.is_empty() {
            return Ok(TxnResult { succeeded: true, revision: cur });
        }
        let rev = cur + 1;
        // The record, and what each write does to the index (decided once,
        // here, and applied once it is durable). A key written twice in one
        // transaction: the later write sees the earlier one.
        let mut buf = std::mem::take(&mut st.buf);
        buf.clear();
        let mut staged: BTreeMap<&str, Option<Slot>> = BTreeMap::new();
        let mut writes = Vec::with_capacity(ops.len());
        record(&mut buf, |p| {
            p.push(T_TXN);
            p.extend_from_slice(&rev.to_le_bytes());
            let count = p.len();
            p.extend_from_slice(&0u32.to_le_bytes());
            let mut n = 0u32;
            for op in &ops {
                let key = match op {
                    Op::Put { key, .. } | Op::Delete { key } => key.as_str(),
                };
                let old = staged.get(key).copied().unwrap_or_else(|| st.index.get(key).copied());
                match op {
                    Op::Put { value, .. } => {
                        let (create, version) = old.map_or((rev, 1), |s| (s.create, s.version + 1));
                        p.push(0);
                        put_bytes(p, key.as_bytes());
                        p.extend_from_slice(&create.to_le_bytes());
                        p.extend_from_slice(&version.to_le_bytes());
                        p.extend_from_slice(&(value.len() as u32).to_le_bytes());
                        // Where the value is in the record, frame included.
                        let slot = Slot { create, modrev: rev, version, off: p.len() as u64, len: value.len() as u32 };
                        p.extend_from_slice(value);
                        staged.insert(key, Some(slot));
                        writes.push(Write::Put(slot));
                        n += 1;
                    }
                    Op::Delete { .. } => match old {
                        // Deleting what is not there is no write.
                        None => writes.push(Write::Nothing),
                        Some(s) => {
                            p.push(1);
                            put_bytes(p, key.as_bytes());
                            p.extend_from_slice(&s.create.to_le_bytes());
                            p.extend_from_slice(&s.version.to_le_bytes());
                            staged.insert(key, None);
                            writes.push(Write::Delete(s));
                            n += 1;
                        }
                    },
                }
            }
            p[count..count + 4].copy_from_slice(&n.to_le_bytes());
        });
        drop(staged);
        if buf.len() as u64 > MAX_RECORD as u64 {
            st.buf = buf;
            return Err(StoreError::Backend(format!("a transaction of more than {MAX_RECORD} bytes")));
        }
        let start = st.len;
        let began = std::time::Instant::now();
        if let Err(e) = st.file.write_all_at(&buf, start) {
            // Take back whatever part of the record reached the file, so
            // the next record follows the last whole one.
            if let Err(t) = st.file.set_len(start) {
                st.failed = Some(format!("a write failed ({e}) and could not be taken back ({t})"));
            }
            st.buf = buf;
            return Err(be(e));
        }
        if let Err(e) = st.file.sync_data() {
            // After a failed sync the kernel may have dropped the pages:
            // nothing is known about what is on disk (fsync errors are not
            // reported twice). Take no more writes; a restart recovers.
            st.failed = Some(format!("sync failed: {e}"));
            st.buf = buf;
            return Err(be(e));
        }
        metrics::histogram!("stitch_store_commit_seconds").record(began.elapsed().as_secs_f64());
        st.len = start + buf.len() as u64;
        st.revision = rev;
        st.buf = buf;
        // Committed: index the writes and tell the watchers.
        let mut events = Vec::with_capacity(ops.len());
        for (op, w) in ops.into_iter().zip(writes) {
            match (op, w) {
                (Op::Put { key, value }, Write::Put(slot)) => {
                    let slot = Slot { off: start + slot.off, ..slot };
                    set(&mut st, &key, slot);
                    events.push(Event { kind: EventKind::Put, kv: kv(&key, &slot, value) });
                }
                (Op::Delete { key }, Write::Delete(old)) => {
                    unset(&mut st, &key);
                    events.push(Event {
                        kind: EventKind::Delete,
                        kv: KeyValue { key, value: Vec::new(), create_revision: old.create, mod_revision: rev, version: old.version },
                    });
                }
                _ => {}
            }
        }
        self.hub.publish(&WatchBatch { revision: rev, events });
        sizes(&st);
        let rewrite = !st.rewriting && st.len >= st.retry_at && st.len > st.live.saturating_mul(2).saturating_add(self.opts.rewrite_floor);
        if rewrite {
            st.rewriting = true;
            drop(st);
            let inner = self.clone();
            let spawned = std::thread::Builder::new().name("store-rewrite".into()).spawn(move || {
                let failed = inner.rewrite().err();
                let mut st = inner.lock();
                st.rewriting = false;
                if let Some(e) = failed {
                    st.retry_at = st.len + st.live.max(inner.opts.rewrite_floor);
                    tracing::warn!(error = %e, retry_at = st.retry_at, "rewriting the store log failed; it goes on growing and is tried again later");
                }
            });
            // The write is committed either way; the next one tries again.
            match spawned {
                Ok(h) => *self.rewriter.lock().unwrap_or_else(|e| e.into_inner()) = Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the store log's rewrite");
                    self.lock().rewriting = false;
                }
            }
        }
        Ok(TxnResult { succeeded: true, revision: rev })
    }

    /// Rewrite the log as the state at the current revision plus whatever
    /// is committed while that is written (see the module's doc). On any
    /// failure the old file stays in use, unchanged.
    fn rewrite(&self) -> Result<(), StoreError> {
        let _gate = self.rewrite_gate.lock().unwrap_or_else(|e| e.into_inner());
        let tmp = tmp_path(&self.path);
        let r = self.rewrite_into(&tmp);
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }

    fn rewrite_into(&self, tmp: &Path) -> Result<(), StoreError> {
        let (keys, prefixes, file, revision, from) = {
            let st = self.lock();
            let keys: Vec<(Key, Slot)> = st.index.iter().map(|(k, s)| (k.clone(), *s)).collect();
            (keys, st.index.prefixes().to_vec(), st.file.clone(), st.revision, st.len)
        };
        let out = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(tmp).map_err(be)?;
        let mut pos = 0u64;
        let mut offs = Vec::with_capacity(keys.len());
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, &out);
            let mut rec = Vec::new();
            header(&mut rec);
            base(&mut rec, revision);
            let mut synced = 0;
            for (k, s) in &keys {
                let value = read_value(&file, s)?;
                let at = entry(&mut rec, &render(&prefixes, k), s, &value);
                offs.push(pos + at as u64);
                std::io::Write::write_all(&mut w, &rec).map_err(be)?;
                pos += rec.len() as u64;
                rec.clear();
                // Keep little of it dirty in the page cache: on ext4 a
                // commit's fdatasync may wait for every dirty page the
                // journal orders before it, this file's included.
                if pos - synced >= REWRITE_SYNC_BYTES {
                    std::io::Write::flush(&mut w).map_err(be)?;
                    out.sync_data().map_err(be)?;
                    synced = pos;
                }
            }
            std::io::Write::write_all(&mut w, &rec).map_err(be)?;
            pos += rec.len() as u64;
            std::io::Write::flush(&mut w).map_err(be)?;
        }
        out.sync_data().map_err(be)?;

        // Under the lock: the records committed meanwhile, then the swap.
        let mut st = self.lock();
        if let Some(why) = &st.failed {
            return Err(StoreError::Backend(format!("the store failed during the rewrite: {why}")));
        }
        let tail = st.len - from;
        let mut copied = 0;
        let mut chunk = vec![0u8; (1 << 20).min(tail as usize).max(1)];
        while copied < tail {
            let n = chunk.len().min((tail - copied) as usize);
            file.read_exact_at(&mut chunk[..n], from + copied).map_err(be)?;
            out.write_all_at(&chunk[..n], pos + copied).map_err(be)?;
            copied += n as u64;
        }
        out.sync_data().map_err(be)?;
        // Where each live value is in the new file: written since the base
        // was read, in the copied tail; otherwise in the base, in key order.
        let mut base_offs = keys.iter().zip(offs).peekable();
        let mut moved = Vec::with_capacity(st.index.len());
        for (k, s) in st.index.iter() {
            if s.modrev > revision {
                moved.push(s.off - from + pos);
                continue;
            }
            while base_offs.peek().is_some_and(|((bk, _), _)| bk < k) {
                base_offs.next();
            }
            match base_offs.next() {
                Some(((bk, bs), off)) if bk == k && bs.modrev == s.modrev => moved.push(off),
                _ => return Err(StoreError::Backend(format!("rewrite: key {k:?}, unchanged since revision {revision}, is not in the base written at it"))),
            }
        }
        std::fs::rename(tmp, &self.path).map_err(be)?;
        // Before any write goes to the new file, its name must be durable:
        // a crash would otherwise bring back the old file without them.
        if let Err(e) = sync_dir(&self.path) {
            st.failed = Some(format!("syncing the directory after a rewrite failed: {e}"));
            return Err(be(e));
        }
        for (s, off) in st.index.slots_mut().zip(moved) {
            s.off = off;
        }
        st.file = Arc::new(out);
        st.len = pos + tail;
        st.compacted = st.compacted.max(revision);
        sizes(&st);
        drop(st);
        metrics::counter!("stitch_store_rewrites_total").increment(1);
        tracing::info!(path = %self.path.display(), revision, bytes = pos + tail, "store log rewritten");
        Ok(())
    }

    /// Every committed batch after `after` still in the file.
    fn history(&self, st: &State, after: u64) -> Result<Vec<WatchBatch>, StoreError> {
        let mut out = Vec::new();
        scan(&st.file, 0, st.len, |_, p| {
            if let Some(Payload::Txn { revision, writes }) = decode(p)
                && revision > after
            {
                let events = writes
                    .into_iter()
                    .map(|w| match w {
                        Logged::Put { key, create, version, value, .. } => Event {
                            kind: EventKind::Put,
                            kv: KeyValue { key: key.into(), value: value.to_vec(), create_revision: create, mod_revision: revision, version },
                        },
                        Logged::Delete { key, create, version } => Event {
                            kind: EventKind::Delete,
                            kv: KeyValue { key: key.into(), value: Vec::new(), create_revision: create, mod_revision: revision, version },
                        },
                    })
                    .collect();
                out.push(WatchBatch { revision, events });
            }
            Ok(())
        })?;
        Ok(out)
    }
}

#[async_trait]
impl Store for LogStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.inner.lock().revision)
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.blocking(move |i| {
            let (slot, file) = {
                let st = i.lock();
                (st.index.get(key.as_str()).copied(), st.file.clone())
            };
            slot.map(|s| Ok(kv(&key, &s, read_value(&file, &s)?))).transpose()
        })
        .await
    }

    async fn range(&self, prefix: &str) -> Result<(Vec<KeyValue>, u64), StoreError> {
        let (mut rx, rev) = self.range_stream(prefix).await?;
        let mut out = Vec::new();
        while let Some(kv) = rx.recv().await {
            out.push(kv?);
        }
        Ok((out, rev))
    }

    async fn range_stream(&self, prefix: &str) -> Result<(RangeStream, u64), StoreError> {
        // The keys and where their values are, taken at one revision; the
        // values are read after the lock is let go, from that same file.
        let (keys, file, rev) = {
            let st = self.inner.lock();
            (st.index.range(prefix), st.file.clone(), st.revision)
        };
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BATCH);
        tokio::task::spawn_blocking(move || {
            for (k, s) in keys {
                let kv = read_value(&file, &s).map(|v| kv(&k, &s, v));
                let failed = kv.is_err();
                if tx.blocking_send(kv).is_err() || failed {
                    break;
                }
            }
        });
        Ok((rx, rev))
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.txn(&compares, ops)).await.map_err(be)?
    }

    async fn watch(&self, prefix: &str, after_revision: u64) -> Result<WatchStream, StoreError> {
        let prefix = prefix.to_string();
        self.blocking(move |i| {
            // Under the lock, so no revision falls between the replay and
            // the live feed.
            let st = i.lock();
            if after_revision < st.compacted {
                return Ok(Hub::failed(StoreError::Compacted { requested: after_revision, compacted: st.compacted }));
            }
            let history = if after_revision < st.revision { i.history(&st, after_revision)? } else { Vec::new() };
            Ok(i.hub.register(&prefix, history))
        })
        .await
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        let mut st = self.inner.lock();
        st.compacted = st.compacted.max(revision.min(st.revision));
        Ok(())
    }
}
