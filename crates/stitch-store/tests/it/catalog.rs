//! The catalog over a real embedded store: all-or-nothing writes, and a reload
//! that sees exactly what was acknowledged.

use std::sync::Arc;

use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_model::ModelError;
use stitch_store::{Catalog, CatalogError, RedbStore, Store};
use time::OffsetDateTime;
use uuid::Uuid;

fn obj<S>(spec: S) -> Object<S> {
    let now = OffsetDateTime::now_utc();
    Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec }
}

fn fabric(name: &str) -> Object<FabricSpec> {
    obj(FabricSpec {
        name: name.into(),
        vni_range: default_vni_range(),
        vlan_range: default_vlan_range(),
        vlan_mode: VlanMode::PerSwitch,
    })
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
    let err = cat
        .apply(vec![Change::Put(AnyObject::Fabric(ok.clone())), Change::Put(AnyObject::Switch(bad))])
        .await
        .unwrap_err();
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
