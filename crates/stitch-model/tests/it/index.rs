//! The snapshot's secondary indexes agree with a naive scan of the tables
//! after any sequence of puts (replacing objects in place) and deletes.

use proptest::prelude::*;
use serde_json::json;
use stitch_model::inventory::*;
use stitch_model::neutron::NetworkType;
use stitch_model::snapshot::Change;
use stitch_model::{MacAddr, Snapshot};
use uuid::Uuid;

use crate::{Seq, id, obj};

const PORTS: [&str; 3] = ["p1", "p2", "p3"];

#[derive(Clone, Debug)]
enum Op {
    Port { n: u8, net: u8, mac: u8, bound: bool },
    Vpg { n: u8, switch: u8, net: u8, ports: Vec<u8>, draining: Vec<u8>, sps: Vec<u8>, vlan: u16 },
    Trunk { n: u8, parent: u8, subs: Vec<u8> },
    Segment { n: u8, net: u8 },
    Switch { n: u8, fabric: u8 },
    Network { n: u8, vni: u8, vlan: Option<(bool, u8)> },
    Delete { kind: u8, n: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8u8, 0..3u8, 0..3u8, any::<bool>()).prop_map(|(n, net, mac, bound)| Op::Port { n, net, mac, bound }),
        (0..8u8, 0..3u8, 0..3u8, prop::collection::vec(0..8u8, 0..3), prop::collection::vec(0..8u8, 0..2), prop::collection::vec(0..3u8, 1..3), 0..4u16)
            .prop_map(|(n, switch, net, ports, draining, sps, vlan)| Op::Vpg { n, switch, net, ports, draining, sps, vlan }),
        (0..3u8, 0..8u8, prop::collection::vec(0..8u8, 0..3)).prop_map(|(n, parent, subs)| Op::Trunk { n, parent, subs }),
        (0..4u8, 0..3u8).prop_map(|(n, net)| Op::Segment { n, net }),
        (0..3u8, 0..2u8).prop_map(|(n, fabric)| Op::Switch { n, fabric }),
        (0..3u8, 0..4u8, proptest::option::of((any::<bool>(), 0..2u8))).prop_map(|(n, vni, vlan)| Op::Network { n, vni, vlan }),
        (0..6u8, 0..8u8).prop_map(|(kind, n)| Op::Delete { kind, n }),
    ]
}

// Id spaces per kind, so that ids never collide across kinds.
fn port_id(n: u8) -> Uuid {
    id(0x1000 + n as u128)
}
fn vpg_id(n: u8) -> Uuid {
    id(0x2000 + n as u128)
}
fn trunk_id(n: u8) -> Uuid {
    id(0x3000 + n as u128)
}
fn seg_id(n: u8) -> Uuid {
    id(0x4000 + n as u128)
}
fn switch_id(n: u8) -> Uuid {
    id(0x5000 + n as u128)
}
fn net_id(n: u8) -> Uuid {
    id(0x6000 + n as u128)
}
fn fabric_id(n: u8) -> Uuid {
    id(0x7000 + n as u128)
}
fn mac(n: u8) -> MacAddr {
    MacAddr([0xfa, 0x16, 0x3e, 0, 0, n])
}

fn step(s: &mut Snapshot, op: Op) {
    let o = |n: u128, v: serde_json::Value| (n, v);
    match op {
        Op::Port { n, net, mac: m, bound } => {
            let vif = if bound { "hw_veb" } else { "unbound" };
            let (i, v) = o(port_id(n).as_u128(), json!({"network_id": net_id(net), "mac_address": mac(m).to_string(), "binding": {"vif_type": vif}}));
            s.load(AnyObject::Port(obj(i, serde_json::from_value(v).unwrap())));
        }
        Op::Vpg { n, switch, net, mut ports, mut draining, sps, vlan } => {
            ports.sort();
            ports.dedup();
            draining.sort();
            draining.dedup();
            draining.retain(|d| !ports.contains(d));
            let mut sps: Vec<String> = sps.iter().map(|p| PORTS[*p as usize].to_string()).collect();
            sps.sort();
            sps.dedup();
            let spec = VpgSpec {
                name: format!("g{n}"),
                switch_id: switch_id(switch),
                switch_ports: sps,
                network_id: net_id(net),
                vlan,
                // Some members pending, some draining ports also standby.
                pending: ports.iter().step_by(2).filter(|_| n % 2 == 1).map(|p| port_id(*p)).collect(),
                standby: draining.iter().filter(|_| n % 3 == 0).map(|p| port_id(*p)).collect(),
                port_ids: ports.into_iter().map(port_id).collect(),
                draining: draining.into_iter().map(port_id).collect(),
                automatic: true,
                dictated: false,
            };
            s.load(AnyObject::VirtualPortGroup(obj(vpg_id(n).as_u128(), spec)));
        }
        Op::Trunk { n, parent, subs } => {
            let v = json!({"port_id": port_id(parent), "sub_ports": subs.iter().map(|p| json!({"port_id": port_id(*p), "segmentation_type": "vlan", "segmentation_id": 10 + *p as u16})).collect::<Vec<_>>()});
            s.load(AnyObject::Trunk(obj(trunk_id(n).as_u128(), serde_json::from_value(v).unwrap())));
        }
        Op::Segment { n, net } => {
            let v = json!({"network_id": net_id(net), "network_type": "vlan", "physical_network": "physnet1", "segmentation_id": 100 + (n % 2) as u32});
            s.load(AnyObject::Segment(obj(seg_id(n).as_u128(), serde_json::from_value(v).unwrap())));
        }
        Op::Switch { n, fabric } => {
            let spec = SwitchSpec {
                name: format!("leaf{n}"),
                fabric_id: fabric_id(fabric),
                ovsdb: if n == 2 { stitch_model::OvsdbTarget::Passive } else { format!("unix:/tmp/s{}.sock", fabric).parse().unwrap() },
                tunnel_ip: "192.0.2.1".parse().unwrap(),
                management_ip: None,
                vlan_range: None,
                role: SwitchRole::Leaf,
                chassis_mac: None,
            };
            s.load(AnyObject::Switch(obj(switch_id(n).as_u128(), spec)));
        }
        Op::Network { n, vni, vlan } => {
            let mut v = json!({"name": format!("n{n}"), "vni": 5000 + vni as u32});
            // Some networks are `vlan` ones, on physnet1 or on no physical
            // network, with VLANs that segments use too.
            if let Some((physnet, vlan)) = vlan {
                v["network_type"] = json!("vlan");
                v["segmentation_id"] = json!(100 + vlan as u32);
                if physnet {
                    v["physical_network"] = json!("physnet1");
                }
            }
            s.load(AnyObject::Network(obj(net_id(n).as_u128(), serde_json::from_value(v).unwrap())));
        }
        Op::Delete { kind, n } => {
            let (k, i) = match kind {
                0 => (Kind::Port, port_id(n)),
                1 => (Kind::VirtualPortGroup, vpg_id(n)),
                2 => (Kind::Trunk, trunk_id(n % 3)),
                3 => (Kind::Segment, seg_id(n % 4)),
                4 => (Kind::Network, net_id(n % 3)),
                _ => (Kind::Switch, switch_id(n % 3)),
            };
            // Refused deletes (missing, still referenced) change nothing.
            if let Ok((next, _)) = s.apply(vec![Change::Delete(k, i)], &mut Seq) {
                *s = next;
            }
        }
    }
}

fn ids<'a, S: 'a>(it: impl Iterator<Item = &'a Object<S>>) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = it.map(|o| o.id).collect();
    v.sort();
    v
}

fn check(s: &Snapshot) {
    for net in (0..3).map(net_id) {
        for m in (0..3).map(mac) {
            let naive = ids(s.ports.iter().filter(|p| p.spec.network_id == net && p.spec.mac_address == m));
            assert_eq!(ids(s.ports_with_mac(net, m)), naive, "ports_with_mac");
        }
        assert_eq!(ids(s.vpgs_of_network(net)), ids(s.vpgs.iter().filter(|g| g.spec.network_id == net)), "vpgs_of_network");
        assert_eq!(ids(s.segments_of_network(net)), ids(s.segments.iter().filter(|g| g.spec.network_id == net)), "segments_of_network");
    }
    for pn in [Some("physnet1"), None] {
        for vlan in 99..103u16 {
            let naive = ids(s.networks.iter().filter(|n| {
                let own =
                    n.spec.network_type == NetworkType::Vlan && n.spec.physical_network.as_deref() == pn && n.spec.segmentation_id.unwrap_or(0) as u16 == vlan;
                own || s
                    .segments
                    .iter()
                    .any(|g| g.spec.network_id == n.id && Some(g.spec.physical_network.as_str()) == pn && g.spec.segmentation_id as u16 == vlan)
            }));
            let indexed: Vec<Uuid> = s.networks_with_vlan(pn, vlan).map(|n| n.id).collect();
            assert_eq!(indexed, naive, "networks_with_vlan({pn:?}, {vlan}), in id order, each once");
        }
    }
    for sw in (0..3).map(switch_id) {
        assert_eq!(ids(s.vpgs_on_switch(sw)), ids(s.vpgs.iter().filter(|g| g.spec.switch_id == sw)), "vpgs_on_switch");
        for net in (0..3).map(net_id) {
            let naive = ids(s.vpgs.iter().filter(|g| g.spec.switch_id == sw && g.spec.network_id == net));
            assert_eq!(ids(s.vpgs_on_switch_for(sw, net)), naive, "vpgs_on_switch_for");
        }
        for p in PORTS {
            let naive = ids(s.vpgs.iter().filter(|g| g.spec.switch_id == sw && g.spec.switch_ports.iter().any(|x| x == p)));
            assert_eq!(ids(s.vpgs_on_switch_port(sw, p)), naive, "vpgs_on_switch_port");
            let vlans: std::collections::BTreeSet<u16> = s.vpgs.iter().map(|g| g.spec.vlan).chain([0, 7]).collect();
            for v in vlans {
                let naive = ids(s.vpgs.iter().filter(|g| g.spec.switch_id == sw && g.spec.vlan == v && g.spec.switch_ports.iter().any(|x| x == p)));
                assert_eq!(ids(s.vpgs_on_switch_port_with_vlan(sw, p, v)), naive, "vpgs_on_switch_port_with_vlan");
            }
        }
        let mut naive: Vec<(u16, Uuid)> = s.vpgs.iter().filter(|g| g.spec.switch_id == sw && g.spec.vlan != 0).map(|g| (g.spec.vlan, g.id)).collect();
        naive.sort();
        let indexed: Vec<(u16, Uuid)> = s.vlans_on_switch(sw).map(|(v, g)| (v, g.id)).collect();
        assert_eq!(indexed, naive, "vlans_on_switch (in VLAN order)");
        let used: Vec<u16> = s.vlans_used_on_switch(sw).collect();
        assert_eq!(used, naive.iter().map(|(v, _)| *v).collect::<Vec<_>>(), "vlans_used_on_switch");
        for from in 0..=6u32 {
            let naive = (from..).find(|v| !used.iter().any(|u| u32::from(*u) == *v));
            assert_eq!(s.vlan_free_from(sw, from), naive, "vlan_free_from({from})");
        }
    }
    for p in (0..8).map(port_id) {
        let naive = ids(s.vpgs.iter().filter(|g| g.spec.involves(&p)));
        assert_eq!(ids(s.vpgs_of_port(p)), naive, "vpgs_of_port");
        let naive: Vec<Uuid> = ids(s.trunks.iter().filter(|t| t.spec.all_ports().any(|x| x == p)));
        assert_eq!(s.trunk_of(p).map(|t| t.id), naive.first().copied(), "trunk_of");
        let naive = s.trunks.iter().find(|t| t.spec.port_id == p).map(|t| t.id);
        assert_eq!(s.trunk_with_parent(p).map(|t| t.id), naive, "trunk_with_parent");
    }
    assert_eq!(s.bound_port_count(), s.ports.iter().filter(|p| p.spec.binding.is_bound()).count(), "bound_port_count");
    assert_eq!(ids(s.vpgs_moving()), ids(s.vpgs.iter().filter(|g| !g.spec.draining.is_empty() || !g.spec.pending.is_empty())), "vpgs_moving");
    let mut naive: Vec<(u32, Uuid)> = s.networks.iter().map(|n| (n.spec.vni.get(), n.id)).collect();
    naive.sort();
    let indexed: Vec<(u32, Uuid)> = s.networks_with_vni_in(0, u32::MAX).map(|(v, n)| (v, n.id)).collect();
    assert_eq!(indexed, naive, "networks_with_vni_in");
    let mid: Vec<(u32, Uuid)> = naive.iter().copied().filter(|(v, _)| (5001..=5002).contains(v)).collect();
    assert_eq!(s.networks_with_vni_in(5001, 5002).map(|(v, n)| (v, n.id)).collect::<Vec<_>>(), mid, "networks_with_vni_in range");
    for from in 4998..=5006u32 {
        let naive = (from..).find(|v| !s.networks.iter().any(|n| n.spec.vni.get() == *v));
        assert_eq!(s.vni_free_from(from), naive, "vni_free_from({from})");
    }
    for key in s.switches.iter().map(|w| w.spec.endpoint_key()).chain(["nowhere".to_string()]) {
        let naive = ids(s.switches.iter().filter(|w| w.spec.endpoint_key() == key));
        assert_eq!(ids(s.switches_at_endpoint(&key)), naive, "switches_at_endpoint");
    }
    for f in (0..2).map(fabric_id) {
        assert_eq!(ids(s.switches_of_fabric(f)), ids(s.switches.iter().filter(|w| w.spec.fabric_id == f)), "switches_of_fabric");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn indexes_agree_with_naive_scans(ops in prop::collection::vec(op(), 1..40)) {
        let mut s = Snapshot::default();
        let mut clones = Vec::new();
        for op in ops {
            step(&mut s, op);
            check(&s);
            clones.push(s.clone());
        }
        // Earlier clones are untouched by later writes (persistent maps).
        for c in &clones {
            check(c);
        }
    }
}
