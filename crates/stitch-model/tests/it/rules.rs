use proptest::prelude::*;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_model::{ModelError, Snapshot};

use crate::*;

#[test]
fn cabling_creates_switch_port_records_once() {
    let s = base();
    let (s, eff) = apply(&s, vec![node(10, "n1", Some(6), vec![nic("ens1f0", 2, "swp1"), nic("ens1f1", 3, "swp1")])]).unwrap();
    assert_eq!(eff.len(), 3, "two switch ports and the node: {eff:?}");
    assert_eq!(s.len(Kind::SwitchPort), 2);
    // Same-named ports on different switches are distinct records.
    assert!(s.switch_ports.by_name(Some(id(2)), "swp1").is_some());
    assert!(s.switch_ports.by_name(Some(id(3)), "swp1").is_some());
    // Re-applying the node creates nothing new.
    let (s2, eff) = apply(&s, vec![node(10, "n1", Some(6), vec![nic("ens1f0", 2, "swp1"), nic("ens1f1", 3, "swp1")])]).unwrap();
    assert_eq!(eff.len(), 1);
    assert_eq!(s2.len(Kind::SwitchPort), 2);
}

#[test]
fn references_must_exist() {
    let err = apply(&base(), vec![switch(20, "leaf9", 99)]).unwrap_err();
    assert_eq!(err, ModelError::MissingReference { field: "fabric_id".into(), kind: "fabric", id: id(99).to_string() });
    let err = apply(&base(), vec![node(20, "n", Some(6), vec![nic("ens1f0", 77, "swp1")])]).unwrap_err();
    assert_eq!(err.field(), Some("ports[0].switch_id"));
    let err = apply(&base(), vec![node(20, "n", Some(66), vec![])]).unwrap_err();
    assert_eq!(err.field(), Some("node_profile_id"));
}

#[test]
fn names_are_unique_in_their_scope() {
    let err = apply(&base(), vec![switch(20, "leaf1", 1)]).unwrap_err();
    assert!(matches!(err, ModelError::DuplicateName { kind: "switch", ref existing, .. } if *existing == id(2).to_string()));
    // Renaming an object to its own name is fine.
    assert!(apply(&base(), vec![switch(2, "leaf1", 1)]).is_ok());
    // Switch-port names are per switch.
    let sp = |n, sw, name: &str| put(obj(n, SwitchPortSpec { switch_id: id(sw), name: name.into(), discovered: true }));
    let s = apply(&base(), vec![sp(30, 2, "swp1"), sp(31, 3, "swp1")]).unwrap().0;
    assert!(apply(&s, vec![sp(32, 2, "swp1")]).is_err());
}

#[test]
fn host_names_and_aliases_do_not_collide() {
    let mut n1 = obj(10, NodeSpec { name: "n1".into(), node_profile_id: None, node_type: NodeType::Compute, aliases: vec!["uuid-a".into()], ports: vec![] });
    let s = apply(&base(), vec![put(n1.clone())]).unwrap().0;
    n1.id = id(11);
    n1.spec.name = "uuid-a".into();
    n1.spec.aliases = vec![];
    let err = apply(&s, vec![put(n1)]).unwrap_err();
    assert!(matches!(err, ModelError::DuplicateName { ref field, .. } if field == "name"), "{err:?}");
    let n3 =
        obj(12, NodeSpec { name: "n3".into(), node_profile_id: None, node_type: NodeType::Baremetal, aliases: vec!["x".into(), "n1".into()], ports: vec![] });
    let err = apply(&s, vec![put(n3)]).unwrap_err();
    assert_eq!(err.field(), Some("aliases[1]"));
    assert_eq!(s.node_by_host("uuid-a").unwrap().spec.name, "n1");
}

#[test]
fn a_switch_port_is_cabled_once() {
    let s = apply(&base(), vec![node(10, "n1", Some(6), vec![nic("ens1f0", 2, "swp1")])]).unwrap().0;
    let err = apply(&s, vec![node(11, "n2", Some(6), vec![nic("ens1f0", 2, "swp1")])]).unwrap_err();
    assert!(matches!(err, ModelError::Conflict { ref field, .. } if field == "ports[0].switch_port"), "{err:?}");
    let err = apply(&s, vec![node(11, "n2", Some(6), vec![nic("a", 2, "swp7"), nic("b", 2, "swp7")])]).unwrap_err();
    assert_eq!(err.field(), Some("ports[1].switch_port"));
}

#[test]
fn deletes_refuse_referenced_objects_and_cascade_children() {
    let s = apply(&base(), vec![node(10, "n1", Some(6), vec![nic("ens1f0", 2, "swp1")])]).unwrap().0;
    let err = apply(&s, vec![Change::Delete(Kind::Hardware, id(4))]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("card \"x710\"") && msg.contains("node profile \"compute-sriov\""), "{msg}");
    let err = apply(&s, vec![Change::Delete(Kind::Switch, id(2))]).unwrap_err();
    assert!(err.to_string().contains("node \"n1\""), "{err}");
    let sp = s.switch_ports.by_name(Some(id(2)), "swp1").unwrap().id;
    assert!(apply(&s, vec![Change::Delete(Kind::SwitchPort, sp)]).unwrap_err().to_string().contains("n1"));
    // Once the node is gone, the switch goes and takes its port records along.
    let (s, eff) = apply(&s, vec![Change::Delete(Kind::Node, id(10)), Change::Delete(Kind::Switch, id(2))]).unwrap();
    assert_eq!(eff, vec![Change::Delete(Kind::Node, id(10)), Change::Delete(Kind::SwitchPort, sp), Change::Delete(Kind::Switch, id(2))]);
    assert_eq!(s.len(Kind::SwitchPort), 0);
    assert!(matches!(apply(&s, vec![Change::Delete(Kind::Node, id(10))]).unwrap_err(), ModelError::NotFound { .. }));
}

#[test]
fn switch_vlan_range_stays_inside_the_fabric() {
    let mut sw = match switch(20, "leaf9", 1) {
        Change::Put(AnyObject::Switch(o)) => o,
        _ => unreachable!(),
    };
    sw.spec.vlan_range = Some(serde_json::from_str("[1, 100]").unwrap());
    let err = apply(&base(), vec![put(sw.clone())]).unwrap_err();
    assert!(matches!(err, ModelError::Unprocessable { .. }), "{err:?}");
    sw.spec.vlan_range = Some(serde_json::from_str("[100, 200]").unwrap());
    let s = apply(&base(), vec![put(sw)]).unwrap().0;
    // Narrowing the fabric under the switch is refused too.
    let mut f = s.fabrics.get(&id(1)).unwrap().clone();
    f.spec.vlan_range = serde_json::from_str("[300, 400]").unwrap();
    assert!(matches!(apply(&s, vec![put(f)]).unwrap_err(), ModelError::Unprocessable { .. }));
}

#[test]
fn bulk_errors_name_the_item() {
    let err = apply(&base(), vec![fabric(50, "dc9"), switch(51, "x", 1), switch(52, "leaf1", 1)]).unwrap_err();
    assert_eq!(err.field(), Some("items[2].name"));
}

#[test]
fn specs_refuse_unknown_fields_and_bad_values() {
    let e = serde_json::from_str::<FabricSpec>(r#"{"name":"a","colour":"red"}"#).unwrap_err().to_string();
    assert!(e.contains("unknown field"), "{e}");
    assert!(
        serde_json::from_str::<SwitchSpec>(r#"{"name":"a","fabric_id":"00000000-0000-0000-0000-000000000001","ovsdb":"passive","tunnel_ip":"10.0.0.300"}"#)
            .is_err()
    );
    assert!(serde_json::from_str::<FabricSpec>(r#"{"name":"a","vni_range":[0,10]}"#).is_err());
    let f: FabricSpec = serde_json::from_str(r#"{"name":"a"}"#).unwrap();
    assert_eq!(f.vlan_mode, VlanMode::PerSwitch);
}

proptest! {
    /// Whatever sequence of puts and deletes is attempted, every reference in
    /// the resulting snapshot resolves and a refused change leaves it as it was.
    #[test]
    fn integrity_holds_under_random_changes(ops in proptest::collection::vec((0u8..6, 0u128..6, 0u128..6), 1..40)) {
        let mut s: Snapshot = base();
        for (op, a, b) in ops {
            let change = match op {
                0 => switch(100 + a, &format!("sw{a}"), if b % 2 == 0 { 1 } else { 900 }),
                1 => node(200 + a, &format!("n{a}"), Some(6), vec![nic("ens1f0", 100 + b, &format!("p{}", b % 2))]),
                2 => Change::Delete(Kind::Switch, id(100 + a)),
                3 => Change::Delete(Kind::Node, id(200 + a)),
                4 => Change::Delete(Kind::Hardware, id(4)),
                _ => fabric(300 + a, &format!("f{b}")),
            };
            let before = format!("{:?}", s.list_any(Kind::Node));
            match apply(&s, vec![change]) {
                Ok((next, _)) => s = next,
                Err(_) => prop_assert_eq!(before, format!("{:?}", s.list_any(Kind::Node))),
            }
            for k in Kind::ALL {
                for o in s.list_any(*k) {
                    let refs = match &o {
                        AnyObject::Switch(o) => o.spec.references(),
                        AnyObject::Node(o) => o.spec.references(),
                        AnyObject::Card(o) => o.spec.references(),
                        AnyObject::NodeProfile(o) => o.spec.references(),
                        AnyObject::SwitchPort(o) => o.spec.references(),
                        _ => vec![],
                    };
                    for r in refs {
                        prop_assert!(s.contains(r.kind, &r.id), "{} {} dangles at {}", k, o.id(), r.field);
                    }
                }
            }
            for n in s.nodes.iter() {
                for p in &n.spec.ports {
                    prop_assert!(s.switch_ports.by_name(Some(p.switch_id), &p.switch_port).is_some());
                }
            }
        }
    }
}
