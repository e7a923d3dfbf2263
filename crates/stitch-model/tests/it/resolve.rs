use stitch_model::inventory::*;
use stitch_model::resolve::{Link, ResolveError, resolve};

use crate::*;

fn node_obj(s: &stitch_model::Snapshot, n: u128) -> Object<NodeSpec> {
    s.nodes.get(&id(n)).unwrap().clone()
}

#[test]
fn sriov_label_resolves_to_every_cabled_nic() {
    let s = apply(&base(), vec![node(10, "n1", Some(6), vec![nic("ens1f0", 2, "swp1"), nic("ens1f1", 3, "swp9"), nic("eno1", 2, "swp48")])]).unwrap().0;
    let links = resolve(&s, &node_obj(&s, 10), "sriov").unwrap();
    assert_eq!(
        links,
        vec![
            Link { nic: "ens1f0".into(), switch_id: id(2), switch: "leaf1".into(), switch_port: "swp1".into() },
            Link { nic: "ens1f1".into(), switch_id: id(3), switch: "leaf2".into(), switch_port: "swp9".into() },
        ]
    );
    let links = resolve(&s, &node_obj(&s, 10), "physnet2").unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].switch, "leaf2");
}

#[test]
fn each_missing_link_is_named() {
    let s = apply(
        &base(),
        vec![
            node(10, "no-profile", None, vec![]),
            put(obj(11, NodeProfileSpec { name: "empty".into(), hardware_ids: vec![] })),
            node(12, "empty-profile", Some(11), vec![]),
            node(13, "uncabled", Some(6), vec![nic("eno1", 2, "swp3")]),
        ],
    )
    .unwrap()
    .0;
    assert_eq!(resolve(&s, &node_obj(&s, 10), "sriov"), Err(ResolveError::NoNodeProfile("no-profile".into())));
    assert_eq!(resolve(&s, &node_obj(&s, 12), "sriov"), Err(ResolveError::ProfileWithoutHardware("empty".into())));
    assert_eq!(resolve(&s, &node_obj(&s, 13), "infiniband"), Err(ResolveError::NoLabelledNic { profile: "compute-sriov".into(), label: "infiniband".into() }));
    let e = resolve(&s, &node_obj(&s, 13), "sriov").unwrap_err();
    assert_eq!(e, ResolveError::NicNotCabled { node: "uncabled".into(), nic: "ens1f0".into(), label: "sriov".into() });
    assert!(e.to_string().contains("not cabled"));
}
