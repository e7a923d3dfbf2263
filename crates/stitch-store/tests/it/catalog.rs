//! The catalog over a real embedded store: all-or-nothing writes, and a reload
//! that sees exactly what was acknowledged.

use std::sync::Arc;

use stitch_model::ModelError;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_store::{Catalog, CatalogError, RedbStore, Store};
use time::OffsetDateTime;
use uuid::Uuid;

fn obj<S>(spec: S) -> Object<S> {
    let now = OffsetDateTime::now_utc();
    Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec }
}

fn fabric(name: &str) -> Object<FabricSpec> {
    obj(FabricSpec { name: name.into(), vni_range: default_vni_range(), vlan_range: default_vlan_range(), vlan_mode: VlanMode::PerSwitch })
}

fn switch(name: &str, fabric: Uuid) -> Object<SwitchSpec> {
    obj(SwitchSpec {
        name: name.into(),
        fabric_id: fabric,
        ovsdb: "unix:/tmp/x.sock".parse().unwrap(),
        tunnel_ip: "10.0.0.1".parse().unwrap(),
        management_ip: None,
        vlan_range: None,
        role: SwitchRole::Leaf,
        chassis_mac: None,
    })
}

#[tokio::test]
async fn failed_request_writes_nothing_and_reload_matches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(&path).unwrap());
    let cat = Catalog::open(store.clone()).await.unwrap();
    let f = fabric("dc1");
    let sw = switch("leaf1", f.id);
    let node = obj(NodeSpec {
        name: "n1".into(),
        node_profile_id: None,
        node_type: NodeType::Compute,
        aliases: vec!["ironic-1".into()],
        ports: vec![NodePort { name: "ens1f0".into(), mac: None, switch_id: sw.id, switch_port: "swp1".into() }],
    });
    let (snap, eff) = cat
        .apply(vec![Change::Put(AnyObject::Fabric(f.clone())), Change::Put(AnyObject::Switch(sw.clone())), Change::Put(AnyObject::Node(node.clone()))])
        .await
        .unwrap();
    // The cabling created the switch-port record in the same transaction.
    assert_eq!(eff.len(), 4);
    assert_eq!(snap.switch_ports.by_name(Some(sw.id), "swp1").unwrap().spec.discovered, false);
    let rev = store.revision().await.unwrap();
    assert_eq!(rev, 1, "one request, one transaction");

    // A request whose second item is bad stores neither item.
    let ok = fabric("dc2");
    let bad = switch("leaf2", Uuid::new_v4());
    let err = cat.apply(vec![Change::Put(AnyObject::Fabric(ok.clone())), Change::Put(AnyObject::Switch(bad))]).await.unwrap_err();
    assert!(matches!(err, CatalogError::Model(ModelError::MissingReference { ref field, .. }) if field == "items[1].fabric_id"), "{err:?}");
    assert_eq!(store.revision().await.unwrap(), rev);
    assert!(cat.snapshot().fabrics.get(&ok.id).is_none());

    // Deleting a referenced switch is refused and names the node.
    let err = cat.apply(vec![Change::Delete(Kind::Switch, sw.id)]).await.unwrap_err();
    assert!(err.to_string().contains("node \"n1\""), "{err}");

    // Reopen from disk once every handle is gone.
    drop(cat);
    drop(store);
    let cat3 = Catalog::open(Arc::new(RedbStore::open(&path).unwrap())).await.unwrap();
    let s3 = cat3.snapshot();
    assert_eq!(s3.revision, 1);
    assert_eq!(s3.nodes.get(&node.id).unwrap().spec, node.spec);
    assert_eq!(s3.node_by_host("ironic-1").unwrap().id, node.id);
    assert_eq!(s3.len(Kind::SwitchPort), 1);
}

/// A store whose transactions take a while (a slow disk) and can be made to
/// fail; counts the transactions it was asked for.
struct SlowStore {
    inner: stitch_store::MemStore,
    txns: std::sync::atomic::AtomicUsize,
    fail_next: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Store for SlowStore {
    async fn revision(&self) -> Result<u64, stitch_store::StoreError> {
        self.inner.revision().await
    }
    async fn get(&self, key: &str) -> Result<Option<stitch_store::KeyValue>, stitch_store::StoreError> {
        self.inner.get(key).await
    }
    async fn range(&self, prefix: &str) -> Result<(Vec<stitch_store::KeyValue>, u64), stitch_store::StoreError> {
        self.inner.range(prefix).await
    }
    async fn txn(&self, compares: Vec<stitch_store::Compare>, ops: Vec<stitch_store::Op>) -> Result<stitch_store::TxnResult, stitch_store::StoreError> {
        self.txns.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if self.fail_next.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(stitch_store::StoreError::Backend("disk full".into()));
        }
        self.inner.txn(compares, ops).await
    }
    async fn watch(&self, prefix: &str, after: u64) -> Result<stitch_store::WatchStream, stitch_store::StoreError> {
        self.inner.watch(prefix, after).await
    }
    async fn compact(&self, revision: u64) -> Result<(), stitch_store::StoreError> {
        self.inner.compact(revision).await
    }
}

fn slow() -> Arc<SlowStore> {
    Arc::new(SlowStore { inner: stitch_store::MemStore::new(), txns: Default::default(), fail_next: Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_a_transaction_and_each_sees_its_own_changes() {
    let store = slow();
    let cat = Arc::new(Catalog::open(store.clone()).await.unwrap());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let cat = cat.clone();
            tokio::spawn(async move {
                let f = fabric(&format!("f{i}"));
                let (snap, eff) = cat.apply(vec![Change::Put(AnyObject::Fabric(f.clone()))]).await.unwrap();
                // Answered once durable: the snapshot holds the write, at its revision.
                assert_eq!(eff.len(), 1);
                assert!(snap.fabrics.get(&f.id).is_some());
                assert_eq!(snap.mod_revision(&f.id), snap.revision);
                f.id
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let txns = store.txns.load(std::sync::atomic::Ordering::SeqCst);
    assert!(txns < 20, "20 concurrent writes took {txns} transactions: none was shared");
    let snap = cat.snapshot();
    assert_eq!(snap.revision, store.revision().await.unwrap());
    assert_eq!(snap.revision as usize, txns);
    for id in &ids {
        assert!(snap.fabrics.get(id).is_some());
        assert!(snap.mod_revision(id) >= 1 && snap.mod_revision(id) <= snap.revision);
    }
    // What was acknowledged is what a reload finds.
    let again = Catalog::open(store.clone()).await.unwrap().snapshot();
    assert_eq!(again.fabrics.len(), 20);
    for id in &ids {
        assert_eq!(again.mod_revision(id), snap.mod_revision(id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_group_commit_fails_its_writes_and_those_planned_on_it() {
    let store = slow();
    let cat = Arc::new(Catalog::open(store.clone()).await.unwrap());
    store.fail_next.store(true, std::sync::atomic::Ordering::SeqCst);
    let first = fabric("first");
    let cat1 = cat.clone();
    let f1 = first.clone();
    let t1 = tokio::spawn(async move { cat1.apply(vec![Change::Put(AnyObject::Fabric(f1))]).await });
    // While the failing transaction is on its way, a switch of that fabric
    // is planned on top of it.
    while store.txns.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let sw = switch("leaf1", first.id);
    let r2 = cat.apply(vec![Change::Put(AnyObject::Switch(sw.clone()))]).await;
    let r1 = t1.await.unwrap();
    assert!(matches!(r1, Err(CatalogError::Store(_))), "{r1:?}");
    assert!(matches!(r2, Err(CatalogError::Store(_))), "{r2:?}");
    let snap = cat.snapshot();
    assert!(snap.fabrics.get(&first.id).is_none() && snap.switches.get(&sw.id).is_none());
    assert_eq!(store.revision().await.unwrap(), 0);
    // The catalog keeps working, from the committed state.
    let later = fabric("later");
    let (snap, _) = cat.apply(vec![Change::Put(AnyObject::Fabric(later.clone()))]).await.unwrap();
    assert!(snap.fabrics.get(&later.id).is_some() && snap.fabrics.get(&first.id).is_none());
    let err = cat.apply(vec![Change::Put(AnyObject::Switch(switch("leaf2", first.id)))]).await.unwrap_err();
    assert!(matches!(err, CatalogError::Model(ModelError::MissingReference { .. })), "{err:?}");
}
