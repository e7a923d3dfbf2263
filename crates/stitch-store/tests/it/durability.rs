//! The embedded backend keeps what it acknowledged across reopen, including
//! the change log a resuming watcher needs.

use stitch_store::{RedbStore, Store};

use crate::suite::{next, put};

#[tokio::test]
async fn reopen_keeps_data_revisions_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    {
        let s = RedbStore::open(&path).unwrap();
        s.txn(vec![], vec![put("/a", "1")]).await.unwrap();
        s.txn(vec![], vec![put("/a", "2"), put("/b", "3")]).await.unwrap();
    }
    let s = RedbStore::open(&path).unwrap();
    assert_eq!(s.revision().await.unwrap(), 2);
    let a = s.get("/a").await.unwrap().unwrap();
    assert_eq!((a.value.as_slice(), a.version, a.mod_revision), (&b"2"[..], 2, 2));
    let mut w = s.watch("/", 0).await.unwrap();
    assert_eq!(next(&mut w).await.revision, 1);
    assert_eq!(next(&mut w).await.events.len(), 2);
    assert_eq!(s.txn(vec![], vec![put("/c", "x")]).await.unwrap().revision, 3);
}

#[tokio::test]
async fn bounded_history_compacts_itself() {
    let dir = tempfile::tempdir().unwrap();
    let s = RedbStore::open_with_history(&dir.path().join("s.redb"), 10).unwrap();
    for i in 0..30 {
        s.txn(vec![], vec![put("/k", &i.to_string())]).await.unwrap();
    }
    let mut old = s.watch("/", 0).await.unwrap();
    assert!(matches!(old.recv().await, Some(Err(stitch_store::StoreError::Compacted { .. }))));
    let mut recent = s.watch("/", 25).await.unwrap();
    assert_eq!(next(&mut recent).await.revision, 26);
}

/// With no history (how `stitch serve` opens it), watches are live only:
/// one from an older revision is told it is compacted, never handed a
/// partial replay, also after a reopen with history.
#[tokio::test]
async fn no_history_means_live_watches_only_and_reopening_with_history_starts_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    // A watch that was not refused would wait for the next write: give
    // it a while, then fail rather than hang.
    async fn compacted(mut w: stitch_store::WatchStream) -> u64 {
        match tokio::time::timeout(std::time::Duration::from_secs(5), w.recv()).await {
            Ok(Some(Err(stitch_store::StoreError::Compacted { compacted, .. }))) => compacted,
            other => panic!("expected Compacted, got {other:?}"),
        }
    }
    {
        // Written with history first: that log must not survive a
        // history-less stretch as if it were complete.
        let s = RedbStore::open(&path).unwrap();
        s.txn(vec![], vec![put("/a", "1")]).await.unwrap();
    }
    {
        let s = RedbStore::open_with_history(&path, 0).unwrap();
        let mut live = s.watch("/", 1).await.unwrap();
        s.txn(vec![], vec![put("/a", "2")]).await.unwrap();
        s.txn(vec![], vec![put("/b", "3")]).await.unwrap();
        assert_eq!(next(&mut live).await.revision, 2);
        assert_eq!(next(&mut live).await.revision, 3);
        assert_eq!(compacted(s.watch("/", 1).await.unwrap()).await, 3);
        assert_eq!(s.get("/a").await.unwrap().unwrap().version, 2);
    }
    let s = RedbStore::open(&path).unwrap();
    assert_eq!(s.revision().await.unwrap(), 3);
    assert_eq!(compacted(s.watch("/", 0).await.unwrap()).await, 3);
    s.txn(vec![], vec![put("/c", "4")]).await.unwrap();
    let mut w = s.watch("/", 3).await.unwrap();
    assert_eq!(next(&mut w).await.revision, 4);
}
