use stitch_engine::EngineError;
use stitch_engine::bind::{self, Attachment};
use stitch_model::Kind;
use stitch_model::inventory::*;

use crate::fixture::*;

#[test]
fn vnis_are_allocated_from_the_fabric_range_and_user_vnis_are_unique() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    assert_eq!(s.networks.get(&id(100)).unwrap().spec.vni.get(), 5000);
    assert_eq!(s.networks.get(&id(100)).unwrap().spec.segmentation_id, Some(5000));
    let s = network(&s, 101, NetworkType::Vxlan, Some(5001), None);
    let s = network(&s, 102, NetworkType::Vlan, Some(2901), Some("physnet1"));
    // The vlan network still gets an overlay VNI, the next free one.
    assert_eq!(s.networks.get(&id(102)).unwrap().spec.vni.get(), 5002);
    let mut dup = s.networks.get(&id(101)).unwrap().clone();
    dup.id = id(103);
    assert_eq!(bind::put_network(&s, dup, Some(5001)).unwrap_err(), EngineError::VniInUse { vni: 5001, network: id(101) });
}

#[test]
fn sriov_port_binds_to_the_cabled_switch_port_with_a_vlan() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let p = port(&s, 200);
    assert_eq!(p.spec.binding.vif_type, "hw_veb");
    assert_eq!(p.spec.binding.rare.failure, None);
    // Binding writes the rare fields (to clear them): a port with none
    // keeps no box for them (100,000 ports at fabric scale).
    assert!(!p.spec.rare.is_boxed() && !p.spec.binding.rare.is_boxed(), "nothing rare, nothing boxed");
    assert_eq!(vlan_of(&s, 200).as_deref(), Some("100"));
    assert_eq!(s.vpgs.len(), 1);
    let g = s.vpgs.iter().next().unwrap();
    assert_eq!(
        (g.spec.switch_id, g.spec.switch_ports.clone(), g.spec.vlan, g.spec.port_ids.clone()),
        (id(LEAF1), vec!["swp1".to_string()], 100, vec![id(200)])
    );
    assert!(g.spec.automatic);
    // A host alias resolves the same way; same network, same switch: same VLAN, new group for another port.
    let s = bind_port(&s, 201, port_spec(100, 2, "alias-n2", VnicType::Macvtap));
    assert_eq!(vlan_of(&s, 201).as_deref(), Some("100"), "per-switch VLANs start at the bottom of each switch's range");
    assert_eq!(port(&s, 201).spec.binding.vif_type, "hw_veb");
    let s = bind_port(&s, 202, port_spec(100, 3, "n3", VnicType::Direct));
    assert_eq!(vlan_of(&s, 202).as_deref(), Some("100"), "same network on the same switch shares its VLAN");
    assert_eq!(s.vpgs.len(), 3);
}

#[test]
fn networks_never_share_a_vlan_on_one_switch() {
    let mut s = fabric();
    for n in 0..5u128 {
        s = network(&s, 100 + n, NetworkType::Vxlan, None, None);
        s = bind_port(&s, 200 + n, port_spec(100 + n, n as u8, "n2", VnicType::Direct));
        s = bind_port(&s, 300 + n, port_spec(100 + n, 100 + n as u8, "n3", VnicType::Direct));
    }
    let vlans: Vec<_> = (0..5).map(|n| vlan_of(&s, 200 + n).unwrap()).collect();
    assert_eq!(vlans, ["100", "101", "102", "103", "104"]);
    for n in 0..5 {
        assert_eq!(vlan_of(&s, 300 + n), vlan_of(&s, 200 + n));
    }
}

#[test]
fn fabric_wide_mode_uses_one_vlan_per_network_everywhere() {
    let s = fabric_with(VlanMode::FabricWide, "[200, 4094]");
    let s = network(&s, 100, NetworkType::Vxlan, None, None);
    let s = network(&s, 101, NetworkType::Vxlan, None, None);
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct)); // leaf1
    let s = bind_port(&s, 201, port_spec(101, 2, "n2", VnicType::Direct)); // leaf2: must not reuse 200
    let s = bind_port(&s, 202, port_spec(100, 3, "n3", VnicType::Direct)); // leaf2, network 100: 200
    assert_eq!(vlan_of(&s, 200).as_deref(), Some("200"));
    assert_eq!(vlan_of(&s, 201).as_deref(), Some("201"));
    assert_eq!(vlan_of(&s, 202).as_deref(), Some("200"));
}

#[test]
fn vlan_provider_network_dictates_the_vlan_and_picks_the_physnet_nic() {
    let s = network(&fabric(), 100, NetworkType::Vlan, Some(2901), Some("physnet2"));
    let s = bind_port(&s, 200, port_spec(100, 1, "dual", VnicType::Direct));
    assert_eq!(vlan_of(&s, 200).as_deref(), Some("2901"));
    let g = s.vpgs.iter().next().unwrap();
    assert_eq!((g.spec.switch_id, g.spec.switch_ports[0].as_str()), (id(LEAF2), "swp20"), "physnet2 is ens1f1, cabled to leaf2");
}

#[test]
fn ambiguity_and_missing_links_fail_the_binding_with_a_reason() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let failure = |s: &stitch_model::Snapshot, n| port(s, n).spec.binding.rare.failure.clone().unwrap_or_default();
    let s = bind_port(&s, 200, port_spec(100, 1, "dual", VnicType::Direct));
    assert_eq!(port(&s, 200).spec.binding.vif_type, "binding_failed");
    assert!(failure(&s, 200).contains("ambiguous: NICs ens1f0, ens1f1"), "{}", failure(&s, 200));
    let s = bind_port(&s, 201, port_spec(100, 2, "nowhere", VnicType::Direct));
    assert!(failure(&s, 201).contains("no node has the name or alias \"nowhere\""));
    let mut spec = port_spec(100, 3, "dual", VnicType::Direct);
    spec.profile.insert("physical_network".into(), "physnet9".into());
    let s = bind_port(&s, 202, spec);
    assert!(failure(&s, 202).contains("labelled \"physnet9\""), "{}", failure(&s, 202));
    let s = bind_port(&s, 203, port_spec(100, 4, "n1", VnicType::Normal));
    assert!(failure(&s, 203).contains("vnic_type normal"));
    assert_eq!(s.vpgs.len(), 0, "failed bindings create no group");
    // Disambiguated by the profile, the same port binds.
    let mut spec = port_spec(100, 1, "dual", VnicType::Direct);
    spec.profile.insert("physical_network".into(), "physnet1".into());
    let s = bind_port(&s, 200, spec);
    assert_eq!(port(&s, 200).spec.binding.vif_type, "hw_veb");
    assert_eq!(s.vpgs.iter().next().unwrap().spec.switch_id, id(LEAF1));
}

#[test]
fn unbind_migrate_and_delete_release_groups_and_vlans() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let s = network(&s, 101, NetworkType::Vxlan, None, None);
    let s = bind_port(&s, 200, port_spec(100, 1, "n2", VnicType::Direct));
    assert_eq!(port(&s, 200).spec.binding.generation, 1);
    // Migrate n2 (leaf2) -> n1 (leaf1): a leaf1 group comes; the leaf2 group
    // goes once leaf1 confirms.
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    assert_eq!(port(&s, 200).spec.binding.generation, 2);
    assert_eq!(s.vpgs.len(), 2);
    let s = settle(&s);
    assert_eq!(s.vpgs.len(), 1);
    assert_eq!(s.vpgs.iter().next().unwrap().spec.switch_id, id(LEAF1));
    // Leaf2's VLAN 100 is free again: another network takes it there.
    let s2 = bind_port(&s, 201, port_spec(101, 2, "n3", VnicType::Direct));
    assert_eq!(vlan_of(&s2, 201).as_deref(), Some("100"));
    // Unbind: host cleared, binding gone, group gone.
    let s = bind_port(&s, 200, port_spec(100, 1, "", VnicType::Direct));
    assert_eq!(port(&s, 200).spec.binding.vif_type, "unbound");
    assert!(port(&s, 200).spec.binding.vif_details.is_empty());
    assert_eq!(s.vpgs.len(), 0);
    // Delete a bound port: its group goes with it.
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let s = commit(&s, bind::delete_port(&s, id(200)).unwrap());
    assert_eq!((s.ports.len(), s.vpgs.len()), (0, 0));
    // With no ports left the networks can go.
    let s = commit(&s, vec![stitch_model::Change::Delete(Kind::Network, id(100))]);
    assert_eq!(s.networks.len(), 1);
}

#[test]
fn a_network_with_ports_cannot_be_deleted() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let err = s.apply(vec![stitch_model::Change::Delete(Kind::Network, id(100))], &mut Seq).unwrap_err();
    assert!(err.to_string().contains("still referenced by port"), "{err}");
}

#[test]
fn baremetal_bond_binds_every_link_untagged_and_owns_the_ports() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let s = network(&s, 101, NetworkType::Vxlan, None, None);
    let mut spec = port_spec(100, 1, "bm1", VnicType::Baremetal);
    spec.profile = lli(&[("leaf1", "swp11"), ("leaf1", "swp10")]).into();
    let s = bind_port(&s, 200, spec);
    assert_eq!(port(&s, 200).spec.binding.vif_type, "other");
    assert_eq!(vlan_of(&s, 200), None, "untagged: no VLAN for the host to apply");
    let g = s.vpgs.iter().next().unwrap();
    assert_eq!(
        Attachment { switch_id: g.spec.switch_id, switch_ports: g.spec.switch_ports.clone(), vlan: g.spec.vlan },
        Attachment { switch_id: id(LEAF1), switch_ports: vec!["swp10".into(), "swp11".into()], vlan: 0 }
    );
    // Another network on the same switch port conflicts with the untagged owner.
    let mut spec = port_spec(101, 2, "bm1", VnicType::Baremetal);
    spec.profile = lli(&[("leaf1", "swp10")]).into();
    let s = bind_port(&s, 201, spec);
    let f = port(&s, 201).spec.binding.rare.failure.clone().unwrap();
    assert!(f.contains("conflicts with virtual port group"), "{f}");
    // A compute node cannot bind a baremetal port.
    let s = bind_port(&s, 202, port_spec(100, 3, "n1", VnicType::Baremetal));
    assert!(port(&s, 202).spec.binding.rare.failure.clone().unwrap().contains("not a bare-metal node"));
}

#[test]
fn duplicate_mac_on_a_network_is_refused() {
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let err = bind::put_port(&s, obj(201, port_spec(100, 1, "n2", VnicType::Direct))).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(ref m) if m.contains("fa:16:3e:00:00:01")), "{err:?}");
}

#[test]
fn migration_is_make_before_break() {
    use stitch_engine::compile::{Learned, compile};
    let s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct)); // leaf1 swp1
    let s = bind_port(&s, 201, port_spec(100, 2, "n3", VnicType::Direct)); // leaf2 swp2
    let old = s.vpgs.iter().find(|g| g.spec.switch_id == id(LEAF1)).unwrap().id;
    // Move port 200 to n2 (leaf2 swp1).
    let s = bind_port(&s, 200, port_spec(100, 1, "n2", VnicType::Direct));
    let g = s.vpgs.get(&old).expect("the old group stays while the port drains");
    assert_eq!((g.spec.port_ids.clone(), g.spec.draining.clone()), (vec![], vec![id(200)]));
    let new = s.vpgs.iter().find(|g| g.spec.port_ids.contains(&id(200))).unwrap().id;
    assert_eq!(s.vpgs.get(&new).unwrap().spec.pending, vec![id(200)], "the new place waits for confirmation");
    let owner = stitch_vtep::Owner::new("t").unwrap();
    let mac: stitch_model::MacAddr = "fa:16:3e:00:00:01".parse().unwrap();
    let key = (id(100).to_string(), mac);
    // Phase 1: leaf2 is programmed, leaf3 (another port of the network)
    // still points the MAC at leaf1, where it is draining.
    let s = bind_port(&s, 202, port_spec(100, 3, "n4", VnicType::Direct)); // leaf3
    let d = compile(&s, &Learned::new(), &owner);
    assert!(d["unix:/tmp/leaf1.sock"].port_bindings.contains_key(&("leaf1".into(), "swp1".into())), "old place still programmed");
    assert!(d["unix:/tmp/leaf2.sock"].port_bindings.contains_key(&("leaf2".into(), "swp1".into())), "new place programmed");
    assert_eq!(d["unix:/tmp/leaf3.sock"].ucast_remote[key.0.as_str()][&key.1].dst_ip.to_string(), "10.0.0.1", "still advertised at the old place");
    assert_eq!(
        d["unix:/tmp/leaf2.sock"].ucast_remote[key.0.as_str()][&key.1].dst_ip.to_string(),
        "10.0.0.1",
        "the new leaf reaches the VM where it still runs"
    );
    // Nothing moves on until every switch of the network holds phase 1.
    assert!(bind::advance_moves(&s, |_, _| false).is_empty());
    assert!(bind::advance_moves(&s, |sw, _| sw == id(LEAF2)).is_empty(), "the new switch's word is not enough");
    // Phase 2: confirmed; every other leaf points at leaf2; leaf1 still programmed.
    let s = commit(&s, bind::advance_moves(&s, |_, _| true));
    assert!(s.vpgs.get(&new).unwrap().spec.pending.is_empty());
    assert_eq!(s.vpgs.get(&old).unwrap().spec.draining, vec![id(200)], "released only after the others switched");
    let d = compile(&s, &Learned::new(), &owner);
    assert_eq!(d["unix:/tmp/leaf3.sock"].ucast_remote[key.0.as_str()][&key.1].dst_ip.to_string(), "10.0.0.2");
    assert_eq!(d["unix:/tmp/leaf1.sock"].ucast_remote[key.0.as_str()][&key.1].dst_ip.to_string(), "10.0.0.2");
    assert!(d["unix:/tmp/leaf1.sock"].port_bindings.contains_key(&("leaf1".into(), "swp1".into())));
    // Phase 3: released once every switch holds phase 2.
    assert!(bind::advance_moves(&s, |sw, _| sw != id(LEAF3)).is_empty(), "leaf3 has not switched yet");
    let s = commit(&s, bind::advance_moves(&s, |_, _| true));
    assert!(s.vpgs.get(&old).is_none());
    let d = compile(&s, &Learned::new(), &owner);
    assert!(d["unix:/tmp/leaf1.sock"].port_bindings.is_empty());
    // Unbinding is immediate: nothing to make before the break.
    let s = bind_port(&s, 201, port_spec(100, 2, "", VnicType::Direct));
    assert!(s.vpgs.iter().all(|g| !g.spec.port_ids.contains(&id(201)) && !g.spec.draining.contains(&id(201))));
}
