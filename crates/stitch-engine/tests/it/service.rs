//! Issue 6 in the engine: trunks, L2 gateway connections and multi-segment
//! networks — binding decisions, refusals, and the golden-scenario events.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use stitch_engine::EngineError;
use stitch_engine::bind;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_model::{Kind, Snapshot};
use uuid::Uuid;

use crate::fixture::*;

/// The issue-6 events of the golden scenarios.
pub enum FabricEvent {
    Trunk { n: u128, parent: u128, subports: Vec<(u128, u16)> },
    DeleteTrunk { n: u128 },
    Segment { n: u128, net: u128, physnet: String, vlan: u32 },
    DeleteSegment { n: u128 },
    L2gw { n: u128, interfaces: Vec<(String, String, Option<u16>)> },
    Connect { n: u128, gw: u128, net: u128, vlan: Option<u16> },
    Disconnect { n: u128 },
    None,
}

pub fn trunk(s: &Snapshot, n: u128, parent: u128, subports: &[(u128, u16)]) -> Object<TrunkSpec> {
    let mut t = s.trunks.get(&id(n)).cloned().unwrap_or_else(|| {
        obj(
            n,
            TrunkSpec {
                name: format!("trunk{n}"),
                project_id: String::new(),
                description: String::new(),
                admin_state_up: true,
                port_id: id(parent),
                sub_ports: vec![],
            },
        )
    });
    t.spec.sub_ports = subports.iter().map(|(p, v)| SubPort { port_id: id(*p), segmentation_type: SegmentationType::Vlan, segmentation_id: *v }).collect();
    t
}

pub fn segment(n: u128, net: u128, physnet: &str, vlan: u32) -> Object<SegmentSpec> {
    obj(
        n,
        SegmentSpec {
            name: String::new(),
            description: String::new(),
            network_id: id(net),
            network_type: NetworkType::Vlan,
            physical_network: physnet.into(),
            segmentation_id: vlan,
            index: 0,
        },
    )
}

pub fn gateway(s: &Snapshot, n: u128, interfaces: &[(String, String, Option<u16>)]) -> Object<L2GatewaySpec> {
    let mut devices: BTreeMap<String, Vec<L2gwInterface>> = BTreeMap::new();
    for (sw, port, vlan) in interfaces {
        devices.entry(sw.clone()).or_default().push(L2gwInterface { name: port.clone(), segmentation_id: vlan.iter().copied().collect() });
    }
    let devices = devices
        .into_iter()
        .enumerate()
        .map(|(i, (sw, interfaces))| L2gwDevice {
            id: id(n * 100 + i as u128),
            switch_id: s.switches.by_name(None, &sw).unwrap().id,
            device_name: sw,
            interfaces,
        })
        .collect();
    obj(n, L2GatewaySpec { name: format!("gw{n}"), project_id: String::new(), devices })
}

pub fn connection(n: u128, gw: u128, net: u128, vlan: Option<u16>) -> Object<L2gwConnectionSpec> {
    obj(
        n,
        L2gwConnectionSpec {
            name: String::new(),
            project_id: String::new(),
            l2_gateway_id: id(gw),
            network_id: id(net),
            segmentation_id: vlan,
            vpg_ids: vec![],
        },
    )
}

/// Apply one issue-6 event through the engine, as the API would.
pub fn scenario_event(s: &Snapshot, e: &FabricEvent) -> Option<Result<Vec<Change>, EngineError>> {
    Some(match e {
        FabricEvent::Trunk { n, parent, subports } => bind::put_trunk(s, trunk(s, *n, *parent, subports)),
        FabricEvent::DeleteTrunk { n } => bind::delete_trunk(s, id(*n)),
        FabricEvent::Segment { n, net, physnet, vlan } => bind::put_segment(s, segment(*n, *net, physnet, *vlan)),
        FabricEvent::DeleteSegment { n } => bind::delete_segment(s, id(*n), time::OffsetDateTime::UNIX_EPOCH),
        FabricEvent::L2gw { n, interfaces } => Ok(vec![put(gateway(s, *n, interfaces))]),
        FabricEvent::Connect { n, gw, net, vlan } => bind::connect_l2gw(s, connection(*n, *gw, *net, *vlan)),
        FabricEvent::Disconnect { n } => bind::disconnect_l2gw(s, id(*n)),
        FabricEvent::None => return None,
    })
}

fn ok(s: &Snapshot, r: Result<Vec<Change>, EngineError>) -> Snapshot {
    commit(s, r.unwrap())
}

/// (switch, port) → vlan → network, as compile would program it.
fn bindings(s: &Snapshot) -> BTreeMap<(Uuid, String), BTreeMap<u16, Uuid>> {
    let mut m: BTreeMap<(Uuid, String), BTreeMap<u16, Uuid>> = BTreeMap::new();
    for g in s.vpgs.iter() {
        for p in &g.spec.switch_ports {
            m.entry((g.spec.switch_id, p.clone())).or_default().insert(g.spec.vlan, g.spec.network_id);
        }
    }
    m
}

fn nets(s: Snapshot) -> Snapshot {
    let mut s = s;
    for n in 100..104 {
        s = network(&s, n, NetworkType::Vxlan, None, None);
    }
    s
}

fn unbound(s: &Snapshot, n: u128, net: u128, mac: u8) -> Snapshot {
    bind_port(s, n, port_spec(net, mac, "", VnicType::Direct))
}

#[test]
fn sriov_trunk_binds_each_subport_on_the_parents_switch_port() {
    let s = nets(fabric());
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let s = unbound(&s, 201, 101, 2);
    let s = unbound(&s, 202, 102, 3);
    let s = ok(&s, bind::put_trunk(&s, trunk(&s, 300, 200, &[(201, 10)])));
    let sw1 = (id(LEAF1), "swp1".to_string());
    assert_eq!(bindings(&s)[&sw1], BTreeMap::from([(10, id(101)), (100, id(100))]));
    let sub = port(&s, 201);
    assert_eq!((sub.spec.host_id.as_str(), sub.spec.device_owner.as_str()), ("n1", "trunk:subport"));
    assert_eq!(vlan_of(&s, 201).as_deref(), Some("10"));
    assert_eq!(port(&s, 200).spec.binding.vif_details["trunk_vlans"], serde_json::json!([10, 100]));

    // Add a subport: only its binding appears; the parent's group is untouched.
    let parent_group: Vec<_> = s.vpgs.iter().filter(|g| g.spec.port_ids.contains(&id(200))).cloned().collect();
    let s = ok(&s, bind::put_trunk(&s, trunk(&s, 300, 200, &[(201, 10), (202, 20)])));
    assert_eq!(bindings(&s)[&sw1], BTreeMap::from([(10, id(101)), (20, id(102)), (100, id(100))]));
    assert_eq!(s.vpgs.iter().filter(|g| g.spec.port_ids.contains(&id(200))).cloned().collect::<Vec<_>>(), parent_group);
    assert_eq!(port(&s, 200).spec.binding.vif_details["trunk_vlans"], serde_json::json!([10, 20, 100]));

    // Remove one: its binding goes, the port is unbound and released.
    let s = ok(&s, bind::put_trunk(&s, trunk(&s, 300, 200, &[(202, 20)])));
    assert_eq!(bindings(&s)[&sw1], BTreeMap::from([(20, id(102)), (100, id(100))]));
    assert_eq!(port(&s, 201).spec.binding.vif_type, "unbound");
    assert_eq!(port(&s, 201).spec.host_id, "");

    // The parent migrates: subports follow it to leaf2.
    let s = bind_port(&s, 200, port_spec(100, 1, "n2", VnicType::Direct));
    assert!(bindings(&s).contains_key(&sw1), "leaf1 kept until leaf2 confirms (make-before-break)");
    let s = settle(&s);
    assert!(!bindings(&s).contains_key(&sw1), "leaf1 released");
    assert_eq!(bindings(&s)[&(id(LEAF2), "swp1".to_string())], BTreeMap::from([(20, id(102)), (100, id(100))]));
    assert_eq!(port(&s, 202).spec.host_id, "n2");

    // Parent and subports cannot be deleted while the trunk holds them.
    assert!(matches!(bind::delete_port(&s, id(200)), Err(EngineError::InUse { kind: "PortInUseAsTrunkParent", .. })));
    assert!(matches!(bind::delete_port(&s, id(202)), Err(EngineError::InUse { kind: "PortInUseAsSubPort", .. })));
    // A subport's host follows the parent: setting another is refused.
    let err = bind::put_port(&s, obj(202, port_spec(102, 3, "n3", VnicType::Direct))).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(ref m) if m.contains("follows the parent")), "{err:?}");
    // Deleting the trunk unbinds the subports; then everything can go.
    let s = ok(&s, bind::delete_trunk(&s, id(300)));
    assert_eq!(port(&s, 202).spec.binding.vif_type, "unbound");
    assert!(port(&s, 200).spec.binding.vif_details.get("trunk_vlans").is_none());
    let s = commit(&s, bind::delete_port(&s, id(200)).unwrap());
    assert_eq!(s.vpgs.len(), 0);
}

#[test]
fn trunk_refusals_leave_state_unchanged() {
    let s = nets(fabric());
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let s = bind_port(&s, 210, port_spec(103, 9, "n1", VnicType::Direct)); // network 103 at VLAN 101 on leaf1 swp1
    assert_eq!(vlan_of(&s, 210).as_deref(), Some("101"));
    let s = unbound(&s, 201, 101, 2);
    let s = unbound(&s, 202, 102, 3);
    // The subport VLAN collides with another network's VLAN on that switch port: refused, owner named.
    let err = bind::put_trunk(&s, trunk(&s, 300, 200, &[(201, 101)])).unwrap_err();
    let EngineError::Conflict(m) = &err else { panic!("{err:?}") };
    assert!(m.contains("VLAN 101") && m.contains(&format!("port {}", id(210))), "{m}");
    // VLAN reused within one trunk.
    let err = bind::put_trunk(&s, trunk(&s, 300, 200, &[(201, 10), (202, 10)])).unwrap_err();
    assert!(matches!(err, EngineError::InUse { kind: "DuplicateSubPort", .. }), "{err:?}");
    // A subport already in another trunk.
    let s = bind_port(&s, 220, port_spec(100, 4, "n2", VnicType::Direct));
    let s = ok(&s, bind::put_trunk(&s, trunk(&s, 300, 200, &[(201, 10)])));
    let err = bind::put_trunk(&s, trunk(&s, 301, 220, &[(201, 11)])).unwrap_err();
    assert!(matches!(err, EngineError::InUse { kind: "TrunkPortInUse", .. }), "{err:?}");
    // inherit from a vxlan network with no vlan segment: the network cannot carry it.
    let err = bind::inherited_vlan(&s, id(202)).unwrap_err();
    assert!(matches!(err, EngineError::Invalid { ref message, .. } if message.contains("exactly one vlan segment")), "{err:?}");
    // inherit from a vlan network takes its VLAN.
    let s = network(&s, 104, NetworkType::Vlan, Some(2901), Some("physnet1"));
    let s = unbound(&s, 203, 104, 5);
    assert_eq!(bind::inherited_vlan(&s, id(203)).unwrap(), 2901);
}

#[test]
fn baremetal_trunk_parent_is_native_untagged_with_tagged_subports() {
    let s = nets(fabric());
    let mut spec = port_spec(100, 1, "bm1", VnicType::Baremetal);
    spec.profile = lli(&[("leaf1", "swp10"), ("leaf1", "swp11")]).into();
    let s = bind_port(&s, 200, spec);
    let s = unbound(&s, 201, 101, 2);
    let s = ok(&s, bind::put_trunk(&s, trunk(&s, 300, 200, &[(201, 30)])));
    for p in ["swp10", "swp11"] {
        assert_eq!(bindings(&s)[&(id(LEAF1), p.to_string())], BTreeMap::from([(0, id(100)), (30, id(101))]));
    }
    assert_eq!(port(&s, 200).spec.binding.vif_details["trunk_vlans"], serde_json::json!([30]));
    // Another network's port on those switch ports still conflicts with the untagged owner.
    let mut spec = port_spec(102, 3, "bm1", VnicType::Baremetal);
    spec.profile = lli(&[("leaf1", "swp10")]).into();
    let s = bind_port(&s, 202, spec);
    assert!(port(&s, 202).spec.binding.rare.failure.clone().unwrap().contains("of trunk"), "{:?}", port(&s, 202).spec.binding.rare.failure);
}

#[test]
fn l2_gateway_connection_binds_the_legacy_vlan_and_refuses_clashes() {
    let s = nets(fabric());
    let s = bind_port(&s, 200, port_spec(100, 1, "n1", VnicType::Direct));
    let ifs = vec![("leaf2".to_string(), "swp5".to_string(), None)];
    let s = commit(&s, vec![put(gateway(&s, 400, &ifs))]);
    // Neither the interface nor the connection gives a VLAN: 400.
    assert!(matches!(bind::connect_l2gw(&s, connection(500, 400, 100, None)), Err(EngineError::Invalid { .. })));
    let s = ok(&s, bind::connect_l2gw(&s, connection(500, 400, 100, Some(500))));
    assert_eq!(bindings(&s)[&(id(LEAF2), "swp5".to_string())], BTreeMap::from([(500, id(100))]));
    let g = s.vpgs.iter().find(|g| g.spec.switch_ports == ["swp5"]).unwrap();
    assert!(!g.spec.automatic && g.spec.dictated);
    // The same port+VLAN for another network is refused, naming the connection.
    let s = commit(&s, vec![put(gateway(&s, 401, &ifs))]);
    let err = bind::connect_l2gw(&s, connection(501, 401, 101, Some(500))).unwrap_err();
    assert!(matches!(err, EngineError::InUse { ref message, .. } if message.contains(&format!("L2 gateway connection {}", id(500)))), "{err:?}");
    // The same gateway twice on one network.
    assert!(matches!(bind::connect_l2gw(&s, connection(502, 400, 100, Some(501))), Err(EngineError::InUse { kind: "L2GatewayConnectionExists", .. })));
    // The gateway's group cannot be deleted behind the connection's back, nor the gateway.
    assert!(s.apply(vec![Change::Delete(Kind::VirtualPortGroup, g.id)], &mut Seq).is_err());
    assert!(s.apply(vec![Change::Delete(Kind::L2Gateway, id(400))], &mut Seq).is_err());
    // An SR-IOV port of another network landing on VLAN 500 there would be refused too (per port).
    let s = ok(&s, bind::disconnect_l2gw(&s, id(500)));
    assert!(!bindings(&s).contains_key(&(id(LEAF2), "swp5".to_string())));
    let s = commit(&s, vec![Change::Delete(Kind::L2Gateway, id(400))]);
    assert_eq!(s.l2_gateways.len(), 1);
}

#[test]
fn vlan_segments_dictate_the_vlan_on_nics_of_their_physical_network() {
    let s = nets(fabric());
    // vxlan network 100 + vlan segment on physnet2 (ens1f1: only "dual" cables it, to leaf2 swp20).
    let s = ok(&s, bind::put_segment(&s, segment(600, 100, "physnet2", 2000)));
    let s = bind_port(&s, 200, port_spec(100, 1, "dual", VnicType::Direct));
    assert_eq!(vlan_of(&s, 200).as_deref(), Some("2000"));
    assert_eq!(port(&s, 200).spec.binding.rare.segment_id, Some(id(600)));
    assert_eq!(bindings(&s)[&(id(LEAF2), "swp20".to_string())], BTreeMap::from([(2000, id(100))]));
    // n2 has no physnet2 NIC cabled: it binds through "sriov" with an allocated VLAN.
    let s = bind_port(&s, 201, port_spec(100, 2, "n2", VnicType::Direct));
    assert_eq!(vlan_of(&s, 201).as_deref(), Some("100"));
    // A segment on physnet1 re-binds n2's port (ens1f0 serves physnet1) — but "dual" would become
    // ambiguous (it serves both), so the segment is refused and nothing changes.
    let err = bind::put_segment(&s, segment(601, 100, "physnet1", 1000)).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(ref m) if m.contains("ambiguous")), "{err:?}");
    let mut spec = port_spec(100, 1, "dual", VnicType::Direct);
    spec.profile.insert("physical_network".into(), "physnet2".into());
    let s = bind_port(&s, 200, spec);
    let s = settle(&ok(&s, bind::put_segment(&s, segment(601, 100, "physnet1", 1000))));
    assert_eq!(vlan_of(&s, 201).as_deref(), Some("1000"));
    assert_eq!(bindings(&s)[&(id(LEAF2), "swp1".to_string())], BTreeMap::from([(1000, id(100))]));
    // The same VLAN on the same physical network for another network: 409.
    assert!(matches!(bind::put_segment(&s, segment(602, 101, "physnet1", 1000)), Err(EngineError::InUse { kind: "VlanIdInUse", .. })));
    // In use: refused; once unused, deleting re-converges.
    assert!(matches!(bind::delete_segment(&s, id(601), time::OffsetDateTime::UNIX_EPOCH), Err(EngineError::InUse { kind: "SegmentInUse", .. })));
    assert!(matches!(bind::delete_segment(&s, bind::primary_segment_id(id(100)), time::OffsetDateTime::UNIX_EPOCH), Err(EngineError::InUse { .. })));
    let s = commit(&s, bind::delete_port(&s, id(201)).unwrap());
    let s = ok(&s, bind::delete_segment(&s, id(601), time::OffsetDateTime::UNIX_EPOCH));
    assert_eq!(s.segments.len(), 1);
}

// ------------------------------------------------------------------ proptest

#[derive(Clone, Debug)]
enum Op {
    Bind { port: u8, net: u8, host: u8 },
    Delete { port: u8 },
    Trunk { parent: u8, subs: Vec<(u8, u16)> },
    DropTrunk,
    Connect { net: u8, vlan: u16 },
    Disconnect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..10, 0u8..4, 0u8..3).prop_map(|(port, net, host)| Op::Bind { port, net, host }),
        1 => (0u8..10).prop_map(|port| Op::Delete { port }),
        2 => (0u8..10, proptest::collection::vec((0u8..10, 100u16..104), 0..4)).prop_map(|(parent, subs)| Op::Trunk { parent, subs }),
        1 => Just(Op::DropTrunk),
        1 => (0u8..4, 100u16..104).prop_map(|(net, vlan)| Op::Connect { net, vlan }),
        1 => Just(Op::Disconnect),
    ]
}

/// No two networks share a VLAN on one switch port; allocated VLANs stay
/// unique per switch; a bound subport sits on its parent's switch ports.
fn check(s: &Snapshot) -> Result<(), TestCaseError> {
    let mut per_port: BTreeMap<(Uuid, String, u16), BTreeSet<Uuid>> = BTreeMap::new();
    let mut allocated: BTreeMap<(Uuid, u16), BTreeSet<Uuid>> = BTreeMap::new();
    for g in s.vpgs.iter() {
        for p in &g.spec.switch_ports {
            per_port.entry((g.spec.switch_id, p.clone(), g.spec.vlan)).or_default().insert(g.spec.network_id);
        }
        if !g.spec.dictated && g.spec.vlan != 0 {
            allocated.entry((g.spec.switch_id, g.spec.vlan)).or_default().insert(g.spec.network_id);
        }
    }
    for (k, n) in per_port {
        prop_assert_eq!(n.len(), 1, "{:?} carries {:?}", k, n);
    }
    for (k, n) in allocated {
        prop_assert_eq!(n.len(), 1, "allocated {:?} carries {:?}", k, n);
    }
    for t in s.trunks.iter() {
        let parent: BTreeSet<_> =
            s.vpgs.iter().filter(|g| g.spec.port_ids.contains(&t.spec.port_id)).map(|g| (g.spec.switch_id, g.spec.switch_ports.clone())).collect();
        for sp in &t.spec.sub_ports {
            if s.ports.get(&sp.port_id).unwrap().spec.binding.is_bound() {
                let mine: BTreeSet<_> =
                    s.vpgs.iter().filter(|g| g.spec.port_ids.contains(&sp.port_id)).map(|g| (g.spec.switch_id, g.spec.switch_ports.clone())).collect();
                prop_assert_eq!(&mine, &parent);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn no_two_networks_share_a_vlan_on_a_switch_port(ops in proptest::collection::vec(op(), 1..40)) {
        let mut s = nets(fabric_with(VlanMode::PerSwitch, "[100, 103]"));
        s = commit(&s, vec![put(gateway(&s, 400, &[("leaf1".into(), "swp1".into(), None)]))]);
        let hosts = ["n1", "n2", "n3"];
        let mut port_net: BTreeMap<u8, u8> = BTreeMap::new();
        for op in ops {
            let r = match op {
                Op::Bind { port, net, host } => {
                    let net = *port_net.entry(port).or_insert(net);
                    bind::put_port(&s, obj(1000 + port as u128, port_spec(100 + net as u128, port, hosts[host as usize], VnicType::Direct)))
                }
                Op::Delete { port } if s.ports.get(&id(1000 + port as u128)).is_some() => {
                    let r = bind::delete_port(&s, id(1000 + port as u128));
                    if r.is_ok() { port_net.remove(&port); }
                    r
                }
                Op::Trunk { parent, subs } if s.ports.get(&id(1000 + parent as u128)).is_some() && subs.iter().all(|(p, _)| s.ports.get(&id(1000 + *p as u128)).is_some()) => {
                    let subs: Vec<(u128, u16)> = subs.iter().map(|(p, v)| (1000 + *p as u128, *v)).collect();
                    let existing = s.trunks.get(&id(300)).map(|t| t.spec.port_id);
                    let parent = existing.unwrap_or(id(1000 + parent as u128)).as_u128();
                    bind::put_trunk(&s, trunk(&s, 300, parent, &subs))
                }
                Op::DropTrunk if s.trunks.get(&id(300)).is_some() => bind::delete_trunk(&s, id(300)),
                Op::Connect { net, vlan } if s.l2gw_connections.is_empty() => bind::connect_l2gw(&s, connection(500, 400, 100 + net as u128, Some(vlan))),
                Op::Disconnect if !s.l2gw_connections.is_empty() => bind::disconnect_l2gw(&s, id(500)),
                _ => continue,
            };
            if let Ok(changes) = r {
                s = commit(&s, changes);
            }
            check(&s)?;
        }
    }
}

#[test]
fn a_provider_vlan_belongs_to_one_network_per_physical_network() {
    let s = network(&fabric(), 700, NetworkType::Vlan, Some(2001), Some("physnet1"));
    let before = format!("{:?}", s.list_any(stitch_model::Kind::Network));
    let dup = obj(
        701,
        NetworkSpec { network_type: NetworkType::Vlan, physical_network: Some("physnet1".into()), segmentation_id: Some(2001), ..NetworkSpec::vxlan("dup") },
    );
    let err = bind::put_network(&s, dup.clone(), None).unwrap_err();
    assert!(matches!(err, EngineError::InUse { kind: "VlanIdInUse", ref message } if message.contains("2001") && message.contains("physnet1")), "{err:?}");
    assert_eq!(format!("{:?}", s.list_any(stitch_model::Kind::Network)), before);
    // The same VLAN on another physical network is another domain.
    let mut other = dup;
    other.spec.physical_network = Some("physnet2".into());
    assert!(bind::put_network(&s, other, None).is_ok());
}
