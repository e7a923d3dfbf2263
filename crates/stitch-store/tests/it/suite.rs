//! The backend-independent store suite. Every backend must pass it unchanged;
//! each backend instantiates it with `suite!(fixture)`, where `fixture()`
//! gives `None` when the backend cannot run here (the test then skips).

use std::time::Duration;

use stitch_store::*;

pub fn put(k: &str, v: &str) -> Op {
    Op::Put { key: k.into(), value: v.as_bytes().to_vec() }
}

pub fn del(k: &str) -> Op {
    Op::Delete { key: k.into() }
}

pub async fn next(w: &mut WatchStream) -> WatchBatch {
    tokio::time::timeout(Duration::from_secs(10), w.recv()).await.expect("watch delivered nothing within 10 s").expect("watch closed").expect("watch error")
}

pub async fn revisions_and_versions(s: &dyn Store) {
    assert_eq!(s.revision().await.unwrap(), 0);
    let r = s.txn(vec![], vec![put("/a", "1")]).await.unwrap();
    assert_eq!(r, TxnResult { succeeded: true, revision: 1 });
    let r = s.txn(vec![], vec![put("/a", "2"), put("/b", "x")]).await.unwrap();
    assert_eq!(r.revision, 2);
    let a = s.get("/a").await.unwrap().unwrap();
    assert_eq!((a.value.as_slice(), a.create_revision, a.mod_revision, a.version), (&b"2"[..], 1, 2, 2));
    let b = s.get("/b").await.unwrap().unwrap();
    assert_eq!((b.create_revision, b.mod_revision, b.version), (2, 2, 1));
    // A transaction that writes nothing does not move the revision.
    assert_eq!(s.txn(vec![], vec![]).await.unwrap().revision, 2);
    // A delete is a write: it takes a revision.
    s.txn(vec![], vec![del("/a")]).await.unwrap();
    assert_eq!(s.get("/a").await.unwrap(), None);
    assert_eq!(s.revision().await.unwrap(), 3);
    // Re-created keys start a new life.
    s.txn(vec![], vec![put("/a", "3")]).await.unwrap();
    let a = s.get("/a").await.unwrap().unwrap();
    assert_eq!((a.create_revision, a.version), (4, 1));
}

pub async fn range_by_prefix(s: &dyn Store) {
    s.txn(vec![], vec![put("/x/2", "b"), put("/x/1", "a"), put("/x0", "no"), put("/w", "no"), put("/x/3/deep", "c")]).await.unwrap();
    let (kvs, rev) = s.range("/x/").await.unwrap();
    assert_eq!(rev, 1);
    let keys: Vec<_> = kvs.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(keys, ["/x/1", "/x/2", "/x/3/deep"]);
    assert_eq!(s.range("/nothing/").await.unwrap().0, vec![]);
    assert_eq!(s.range("").await.unwrap().0.len(), 5);
}

/// A streamed range is the range, in order, read at one revision: a write
/// made while it is being read is not in it. More keys than a stream
/// buffers, so the reader must wait for the consumer.
pub async fn range_stream_is_the_range_at_one_revision(s: &dyn Store) {
    // In transactions of 100: etcd takes at most 128 operations in one.
    for chunk in 0..7 {
        s.txn(vec![], (chunk * 100..chunk * 100 + 100).map(|i| put(&format!("/x/{i:04}"), &i.to_string())).collect()).await.unwrap();
    }
    s.txn(vec![], vec![put("/x0", "no"), put("/w", "no")]).await.unwrap();
    let (all, rev) = s.range("/x/").await.unwrap();
    let (mut stream, srev) = s.range_stream("/x/").await.unwrap();
    assert_eq!(srev, rev);
    s.txn(vec![], vec![put("/x/0350a", "late"), put("/x/9999", "late")]).await.unwrap();
    let mut got = Vec::new();
    while let Some(kv) = stream.recv().await {
        got.push(kv.unwrap());
    }
    assert_eq!(got.len(), 700);
    assert_eq!(got, all);
    let (mut none, _) = s.range_stream("/nothing/").await.unwrap();
    assert!(none.recv().await.is_none());
}

pub async fn compares_guard_writes(s: &dyn Store) {
    s.txn(vec![], vec![put("/k", "1")]).await.unwrap();
    let failed = s.txn(vec![Compare::ModRevision("/k".into(), 7)], vec![put("/k", "2"), put("/other", "x")]).await.unwrap();
    assert_eq!(failed, TxnResult { succeeded: false, revision: 1 });
    assert_eq!(s.get("/k").await.unwrap().unwrap().value, b"1");
    assert_eq!(s.get("/other").await.unwrap(), None);
    assert!(!s.txn(vec![Compare::Absent("/k".into())], vec![put("/k", "3")]).await.unwrap().succeeded);
    assert!(!s.txn(vec![Compare::Exists("/nope".into())], vec![put("/k", "3")]).await.unwrap().succeeded);
    assert!(!s.txn(vec![Compare::ModRevision("/nope".into(), 1)], vec![put("/k", "3")]).await.unwrap().succeeded);
    let ok = s
        .txn(
            vec![Compare::ModRevision("/k".into(), 1), Compare::Absent("/new".into()), Compare::ModRevision("/nope".into(), 0)],
            vec![put("/k", "4"), put("/new", "n")],
        )
        .await
        .unwrap();
    assert_eq!(ok, TxnResult { succeeded: true, revision: 2 });
    assert_eq!(s.get("/k").await.unwrap().unwrap().value, b"4");
}

pub async fn watch_replays_then_follows(s: &dyn Store) {
    s.txn(vec![], vec![put("/w/a", "1")]).await.unwrap(); // rev 1
    s.txn(vec![], vec![put("/other", "1")]).await.unwrap(); // rev 2, not watched
    s.txn(vec![], vec![put("/w/b", "1"), del("/w/a")]).await.unwrap(); // rev 3
    let mut w = s.watch("/w/", 0).await.unwrap();
    let b1 = next(&mut w).await;
    assert_eq!(b1.revision, 1);
    assert_eq!(b1.events[0].kv.key, "/w/a");
    let b3 = next(&mut w).await;
    assert_eq!(b3.revision, 3);
    let kinds: Vec<_> = b3.events.iter().map(|e| (e.kind, e.kv.key.as_str())).collect();
    assert_eq!(kinds, [(EventKind::Put, "/w/b"), (EventKind::Delete, "/w/a")]);
    // Live changes arrive after the replay, in order, filtered by prefix.
    s.txn(vec![], vec![put("/other", "2")]).await.unwrap(); // rev 4
    s.txn(vec![], vec![put("/w/c", "1")]).await.unwrap(); // rev 5
    let b5 = next(&mut w).await;
    assert_eq!((b5.revision, b5.events.len()), (5, 1));
    assert_eq!(b5.events[0].kv.value, b"1");
    // A watch from the current revision sees only what comes next.
    let mut w2 = s.watch("/w/", 5).await.unwrap();
    s.txn(vec![], vec![put("/w/d", "1")]).await.unwrap();
    assert_eq!(next(&mut w2).await.revision, 6);
    assert_eq!(next(&mut w).await.revision, 6);
}

pub async fn watch_sees_every_revision_under_concurrency(s: std::sync::Arc<dyn Store>) {
    let mut w = s.watch("/c/", 0).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..25 {
                revs.push(s.txn(vec![], vec![put(&format!("/c/{t}/{i}"), "v")]).await.unwrap().revision);
            }
            revs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<u64>>(), "every commit gets its own revision");
    let mut seen = Vec::new();
    while seen.len() < 200 {
        seen.push(next(&mut w).await.revision);
    }
    assert_eq!(seen, (1..=200).collect::<Vec<u64>>(), "watch order equals commit order");
}

pub async fn compaction_refuses_old_watches(s: &dyn Store) {
    for i in 0..5 {
        s.txn(vec![], vec![put("/k", &i.to_string())]).await.unwrap();
    }
    s.compact(3).await.unwrap();
    let mut w = s.watch("/", 1).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), w.recv()).await.unwrap().unwrap().unwrap_err();
    assert_eq!(err, StoreError::Compacted { requested: 1, compacted: 3 });
    let mut w = s.watch("/", 3).await.unwrap();
    assert_eq!(next(&mut w).await.revision, 4);
    // Data itself is never compacted.
    assert_eq!(s.get("/k").await.unwrap().unwrap().value, b"4");
}

/// Instantiate the suite for one backend: `suite!(path::to::fixture_fn)`.
macro_rules! suite {
    ($fixture:path) => {
        use crate::suite as s;
        #[tokio::test]
        async fn revisions_and_versions() {
            let Some(f) = $fixture() else { return };
            s::revisions_and_versions(&*f.store).await
        }
        #[tokio::test]
        async fn range_by_prefix() {
            let Some(f) = $fixture() else { return };
            s::range_by_prefix(&*f.store).await
        }
        #[tokio::test]
        async fn range_stream_is_the_range_at_one_revision() {
            let Some(f) = $fixture() else { return };
            s::range_stream_is_the_range_at_one_revision(&*f.store).await
        }
        #[tokio::test]
        async fn compares_guard_writes() {
            let Some(f) = $fixture() else { return };
            s::compares_guard_writes(&*f.store).await
        }
        #[tokio::test]
        async fn watch_replays_then_follows() {
            let Some(f) = $fixture() else { return };
            s::watch_replays_then_follows(&*f.store).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn watch_sees_every_revision_under_concurrency() {
            let Some(f) = $fixture() else { return };
            s::watch_sees_every_revision_under_concurrency(f.store.clone()).await
        }
        #[tokio::test]
        async fn compaction_refuses_old_watches() {
            let Some(f) = $fixture() else { return };
            s::compaction_refuses_old_watches(&*f.store).await
        }
    };
}
