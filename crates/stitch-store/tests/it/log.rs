//! The store log (`LogStore`, what `stitch serve` runs on): what it
//! acknowledged survives reopening, a write cut short by a crash is cut
//! off and nothing before it is lost, damage is refused rather than
//! dropped, and a rewrite under concurrent writes keeps every write.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use stitch_store::{Compare, KeyValue, LogOptions, LogStore, MemStore, Op, Store, StoreError};

use crate::suite::{del, next, put};

fn open(path: &Path) -> LogStore {
    LogStore::open(path).unwrap()
}

/// Every key with its revisions, and the store's revision.
async fn state(s: &dyn Store) -> (Vec<KeyValue>, u64) {
    let (kvs, rev) = s.range("").await.unwrap();
    assert_eq!(rev, s.revision().await.unwrap());
    (kvs, rev)
}

#[tokio::test]
async fn reopen_keeps_data_revisions_versions_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    {
        let s = open(&path);
        s.txn(vec![], vec![put("/a", "1")]).await.unwrap();
        s.txn(vec![], vec![put("/a", "2"), put("/b", "3")]).await.unwrap();
        s.txn(vec![], vec![del("/b"), del("/nothing")]).await.unwrap();
        // A transaction that only deletes what is not there still takes a revision.
        assert_eq!(s.txn(vec![], vec![del("/nothing")]).await.unwrap().revision, 4);
    }
    let s = open(&path);
    assert_eq!(s.revision().await.unwrap(), 4);
    let a = s.get("/a").await.unwrap().unwrap();
    assert_eq!((a.value.as_slice(), a.create_revision, a.mod_revision, a.version), (&b"2"[..], 1, 2, 2));
    assert_eq!(s.get("/b").await.unwrap(), None);
    let mut w = s.watch("/", 0).await.unwrap();
    assert_eq!(next(&mut w).await.revision, 1);
    let b2 = next(&mut w).await;
    assert_eq!((b2.revision, b2.events.len(), b2.events[0].kv.version), (2, 2, 2));
    let b3 = next(&mut w).await;
    assert_eq!(b3.revision, 3);
    assert_eq!(b3.events.len(), 1, "the delete of a missing key is no event");
    assert_eq!((b3.events[0].kv.key.as_str(), b3.events[0].kv.create_revision, b3.events[0].kv.mod_revision), ("/b", 2, 3));
    s.txn(vec![], vec![put("/c", "x")]).await.unwrap();
    assert_eq!(next(&mut w).await.revision, 5, "the empty revision 4 sends nothing; the live feed follows");
}

/// The byte offsets where each record of the file starts, and the file's end.
fn record_starts(path: &Path) -> Vec<u64> {
    let b = std::fs::read(path).unwrap();
    let mut at = 0usize;
    let mut out = Vec::new();
    while at < b.len() {
        out.push(at as u64);
        at += 8 + u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(at, b.len());
    out.push(at as u64);
    out
}

/// A crash inside the last write leaves part of its record (or space the
/// file system allocated, zeroed). Reopening cuts it off, keeps every
/// earlier write, and the next write lands after them.
#[tokio::test]
async fn a_torn_last_write_is_cut_off_and_nothing_before_it_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.log");
    // The last write is big, and its bytes read as frames of 16-byte
    // records: what is left of it behind a shorter next write must be cut
    // off, or the next open finds a bad record before the end.
    let big: Vec<u8> = [16u8, 0, 0, 0].repeat(750);
    {
        let s = open(&whole);
        s.txn(vec![], vec![put("/a", "1"), put("/b", "2")]).await.unwrap();
        s.txn(vec![], vec![Op::Put { key: "/a".into(), value: big.clone() }]).await.unwrap();
    }
    let starts = record_starts(&whole);
    let (last, end) = (starts[starts.len() - 2], starts[starts.len() - 1]);
    let bytes = std::fs::read(&whole).unwrap();
    let mut zeroed = bytes.clone();
    zeroed.extend_from_slice(&[0; 5000]);
    let mut bad_crc = bytes.clone();
    bad_crc[end as usize - 1] ^= 0xff;
    let mut cases: Vec<(String, Vec<u8>, u64)> = [1, 4, 8, 9, end - last - 1]
        .into_iter()
        .map(|cut| (format!("cut {cut} bytes into the last record"), bytes[..(last + cut) as usize].to_vec(), 1))
        .collect();
    cases.push(("a zeroed tail".into(), zeroed, 2));
    cases.push(("a last record failing its checksum".into(), bad_crc, 1));
    for (what, content, kept) in cases {
        // Next writes of four lengths: the leftover starts at each alignment.
        for key in ["/c", "/cc", "/ccc", "/cccc"] {
            let path = dir.path().join("torn.log");
            std::fs::write(&path, &content).unwrap();
            let s = open(&path);
            assert_eq!(s.revision().await.unwrap(), kept, "{what}");
            let a = s.get("/a").await.unwrap().unwrap();
            assert_eq!(a.value, if kept == 1 { b"1".to_vec() } else { big.clone() }, "{what}");
            assert_eq!(s.txn(vec![], vec![put(key, "new")]).await.unwrap().revision, kept + 1, "{what}");
            drop(s);
            let s = LogStore::open(&path).unwrap_or_else(|e| panic!("{what}, then {key}: {e}"));
            assert_eq!(s.get(key).await.unwrap().unwrap().mod_revision, kept + 1, "{what}: the write after the cut survives");
            assert_eq!(s.get("/b").await.unwrap().unwrap().value, b"2", "{what}");
            drop(s);
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// A bad record with whole records after it is damage: opening refuses,
/// saying where, and leaves the file as it was.
#[tokio::test]
async fn damage_before_the_end_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    {
        let s = open(&path);
        s.txn(vec![], vec![put("/a", "1")]).await.unwrap();
        s.txn(vec![], vec![put("/b", "2")]).await.unwrap();
    }
    let starts = record_starts(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let second = starts[1] as usize;
    bytes[starts[2] as usize - 1] ^= 0x01; // the first transaction's value
    std::fs::write(&path, &bytes).unwrap();
    let err = LogStore::open(&path).err().expect("a damaged log must not open");
    assert!(err.to_string().contains(&format!("damaged at byte {second}")), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "a refused file is left alone");

    // A length nobody wrote, with data after it.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[starts[2] as usize - 1] ^= 0x01;
    bytes[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert!(LogStore::open(&path).err().expect("refused").to_string().contains("damaged"));
}

/// One log, one process: a second open fails while the first holds it.
#[tokio::test]
async fn a_log_in_use_is_not_opened_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let s = open(&path);
    let err = LogStore::open(&path).err().expect("a second open must fail");
    assert!(err.to_string().contains("in use"), "{err}");
    // Nor is one imported beside it.
    std::fs::remove_file(&path).unwrap();
    let err = LogStore::create_from(&path, std::iter::empty(), 0).expect_err("an import beside an open log must fail");
    assert!(err.to_string().contains("in use"), "{err}");
    assert!(!path.exists());
    drop(s);
    LogStore::create_from(&path, std::iter::empty(), 0).unwrap();
    open(&path);
}

#[tokio::test]
async fn a_file_that_is_not_a_store_log_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let text = b"[store]\nthis is somebody's config file\n".to_vec();
    std::fs::write(&path, &text).unwrap();
    let err = LogStore::open(&path).err().expect("refused");
    assert!(err.to_string().contains("not a Stitch store log"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), text);
}

/// Writers keep writing while the file is rewritten (it rewrites itself
/// here at every doubling); afterwards the state is what the writes say,
/// on the live store and after reopening, and the file has shrunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rewrites_under_concurrent_writes_keep_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let s = Arc::new(LogStore::open_with(&path, LogOptions { rewrite_floor: 0 }).unwrap());
    let big = "v".repeat(2000);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            let big = big.clone();
            tokio::spawn(async move {
                for i in 0..60 {
                    let mut ops = vec![put(&format!("/w{w}/hot"), &format!("{big}{i}")), put(&format!("/w{w}/k{i:03}"), &i.to_string())];
                    if i % 3 == 2 {
                        ops.push(del(&format!("/w{w}/k{:03}", i - 1)));
                    }
                    s.txn(vec![], ops).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    s.rewrite().await.unwrap();
    let live = state(&*s).await;
    assert_eq!(live.1, 240);
    for w in 0..4 {
        let hot = s.get(&format!("/w{w}/hot")).await.unwrap().unwrap();
        assert_eq!((hot.value, hot.version), (format!("{big}59").into_bytes(), 60));
        let keys: Vec<_> = live.0.iter().filter(|kv| kv.key.starts_with(&format!("/w{w}/k"))).map(|kv| kv.key.clone()).collect();
        let want: Vec<_> = (0..60).filter(|i| i % 3 != 1).map(|i| format!("/w{w}/k{i:03}")).collect();
        assert_eq!(keys, want);
    }
    assert!(s.file_len() < 3 * 4 * 2100, "rewritten down to about the live data: {} bytes", s.file_len());
    // History before the rewrite is gone, and says so.
    let mut old = s.watch("/", 1).await.unwrap();
    assert!(matches!(old.recv().await, Some(Err(StoreError::Compacted { .. }))));
    s.close().await;
    drop(s);
    let s = LogStore::open(&path).unwrap();
    assert_eq!(state(&s).await, live, "reopened after rewrites");
    assert_eq!(s.txn(vec![], vec![put("/w0/hot", "x")]).await.unwrap().revision, 241);
    assert_eq!(s.get("/w0/hot").await.unwrap().unwrap().version, 61);
}

/// An import (how `stitch serve` moves a redb store over) keeps every key's
/// revisions and the store's revision; writes go on from there.
#[tokio::test]
async fn create_from_keeps_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let src = MemStore::new();
    src.txn(vec![], vec![put("/a", "1"), put("/b", "2")]).await.unwrap();
    src.txn(vec![], vec![put("/a", "3")]).await.unwrap();
    src.txn(vec![], vec![del("/b")]).await.unwrap();
    let (kvs, rev) = src.range("").await.unwrap();
    let path = dir.path().join("s.log");
    LogStore::create_from(&path, kvs.iter().cloned().map(Ok), rev).unwrap();
    assert!(LogStore::create_from(&path, kvs.iter().cloned().map(Ok), rev).is_err(), "an existing log is never overwritten");
    // A source that fails part way leaves no log (and no partial file) behind.
    let other = dir.path().join("other.log");
    let failing = kvs.iter().cloned().map(Ok).chain([Err(StoreError::Closed)]);
    assert_eq!(LogStore::create_from(&other, failing, rev), Err(StoreError::Closed));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with("other")).count(),
        1,
        "only the lock file"
    );
    let s = LogStore::open(&path).unwrap();
    assert_eq!(state(&s).await, (kvs, 3));
    s.txn(vec![], vec![put("/a", "4")]).await.unwrap();
    let a = s.get("/a").await.unwrap().unwrap();
    assert_eq!((a.create_revision, a.mod_revision, a.version), (1, 4, 3));
}

/// Key `k` of the model: plain text keys, the catalog's keys (a UUID in
/// its canonical form after a prefix, which the index keeps as numbers),
/// and text keys that look like them under the same prefixes (a UUID in
/// capitals, one cut short).
fn key(k: u8) -> String {
    match k {
        0 | 1 => format!("/k{k}"),
        2 => "/objects/ports/00000000-0000-0000-0000-000000000002".into(),
        3 => "/objects/ports/ffffffff-0000-0000-0000-000000000003".into(),
        4 => "/objects/networks/00000000-0000-0000-0000-000000000004".into(),
        5 => "/objects/ports/FFFFFFFF-0000-0000-0000-000000000005".into(),
        _ => "/objects/ports/00000000-0000-0000-0000-00000000000".into(),
    }
}

#[derive(Clone, Debug)]
enum Step {
    Txn(Vec<(bool, u8)>, Option<(u8, bool)>),
    Reopen,
    Rewrite,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (prop::collection::vec((any::<bool>(), 0u8..7), 0..4), prop::option::of((0u8..7, any::<bool>()))).prop_map(|(w, c)| Step::Txn(w, c)),
        1 => Just(Step::Reopen),
        1 => Just(Step::Rewrite),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// The log against the in-memory store: the same transactions (puts,
    /// deletes, guarded by compares) give the same answers and the same
    /// keys with the same revisions, across reopens and rewrites.
    #[test]
    fn the_log_behaves_as_the_memory_store(steps in prop::collection::vec(step(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.log");
            let opts = LogOptions { rewrite_floor: 64 };
            let mut log = LogStore::open_with(&path, opts).unwrap();
            let mem = MemStore::new();
            for (n, st) in steps.iter().enumerate() {
                match st {
                    Step::Txn(writes, guard) => {
                        let ops: Vec<Op> = writes.iter().map(|(p, k)| if *p { put(&key(*k), &format!("{n}")) } else { del(&key(*k)) }).collect();
                        let compares: Vec<Compare> = guard.iter().map(|(k, exists)| if *exists { Compare::Exists(key(*k)) } else { Compare::Absent(key(*k)) }).collect();
                        let a = log.txn(compares.clone(), ops.clone()).await.unwrap();
                        let b = mem.txn(compares, ops).await.unwrap();
                        prop_assert_eq!(a, b);
                    }
                    Step::Reopen => {
                        log.close().await;
                        drop(log);
                        log = LogStore::open_with(&path, opts).unwrap();
                    }
                    Step::Rewrite => log.rewrite().await.unwrap(),
                }
                prop_assert_eq!(state(&log).await, state(&mem).await);
                for prefix in ["/objects/", "/objects/ports/0", "/objects/ports/F", "/k"] {
                    prop_assert_eq!(log.range(prefix).await.unwrap(), mem.range(prefix).await.unwrap(), "range {}", prefix);
                }
            }
            Ok(())
        })?;
    }
}

#[derive(Clone, Debug)]
enum Damage {
    /// Keep this many bytes (a crash inside a write).
    Cut(usize),
    /// Flip one bit (the disk or a bad copy).
    Flip(usize, u8),
    /// Flip one bit of a record's length.
    FlipLength(usize, u8),
    /// Bytes after the last record.
    Append(Vec<u8>),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Whatever happens to the file, opening it never panics and never
    /// hands back a state that was not one the store acknowledged: it
    /// opens at some revision with exactly the state of that revision, or
    /// refuses. A cut keeps every whole record before it; damage loses at
    /// most the last record (it cannot be told from a torn write), never
    /// one with a whole record after it.
    #[test]
    fn damage_never_opens_a_state_that_was_not_acknowledged(
        txns in prop::collection::vec(prop::collection::vec((any::<bool>(), 0u8..5, 0usize..300), 1..4), 1..8),
        damage in prop_oneof![
            any::<prop::sample::Index>().prop_map(|i| Damage::Cut(i.index(usize::MAX))),
            (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Damage::Flip(i.index(usize::MAX), b)),
            (any::<prop::sample::Index>(), 0u8..32).prop_map(|(i, b)| Damage::FlipLength(i.index(usize::MAX), b)),
            prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
        ],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.log");
            let mem = MemStore::new();
            let mut states = vec![state(&mem).await];
            {
                let log = open(&path);
                for (n, t) in txns.iter().enumerate() {
                    let ops: Vec<Op> = t.iter().map(|(p, k, len)| if *p { Op::Put { key: format!("/k{k}"), value: vec![n as u8; *len] } } else { del(&format!("/k{k}")) }).collect();
                    log.txn(vec![], ops.clone()).await.unwrap();
                    mem.txn(vec![], ops).await.unwrap();
                    states.push(state(&mem).await);
                }
            }
            let whole = std::fs::read(&path).unwrap();
            let starts = record_starts(&path);
            let n = txns.len() as u64;
            let mut bytes = whole.clone();
            // The fewest revisions an open may come back with, when it opens.
            let least = match &damage {
                Damage::Cut(i) => {
                    let keep = i % (whole.len() + 1);
                    bytes.truncate(keep);
                    // Whole records kept, less the header.
                    (starts.iter().filter(|s| **s as usize <= keep).count() as u64).saturating_sub(2)
                }
                Damage::Flip(i, bit) => {
                    bytes[i % whole.len()] ^= 1 << bit;
                    n - 1
                }
                Damage::FlipLength(i, bit) => {
                    let at = starts[i % (starts.len() - 1)] as usize + (*bit as usize / 8);
                    bytes[at] ^= 1 << (bit % 8);
                    n - 1
                }
                Damage::Append(tail) => {
                    bytes.extend_from_slice(tail);
                    n
                }
            };
            std::fs::write(&path, &bytes).unwrap();
            match LogStore::open(&path) {
                Err(e) => {
                    prop_assert!(!matches!(damage, Damage::Cut(_)), "a cut must open: {}", e);
                    prop_assert_eq!(std::fs::read(&path).unwrap(), bytes, "a refused file is left alone");
                }
                Ok(log) => {
                    let (kvs, rev) = state(&log).await;
                    prop_assert!(rev >= least && rev <= n, "opened at revision {} of {}, at least {}", rev, n, least);
                    prop_assert_eq!(&(kvs, rev), &states[rev as usize]);
                }
            }
            Ok(())
        })?;
    }
}
