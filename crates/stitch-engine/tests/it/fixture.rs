//! A small fabric: three leaves, four compute nodes with an SR-IOV NIC each
//! (n1 on leaf1, n2 and n3 on leaf2, n4 on leaf3), a bare-metal node bonded
//! to leaf1.

use serde_json::json;
use stitch_engine::bind;
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::snapshot::{Change, Context};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct Seq;
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
impl Context for Seq {
    fn new_id(&mut self) -> Uuid {
        Uuid::from_u128(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128)
    }
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn obj<S>(n: u128, spec: S) -> Object<S> {
    Object { id: id(n), created_at: OffsetDateTime::UNIX_EPOCH, updated_at: OffsetDateTime::UNIX_EPOCH, spec }
}

pub fn put<S: Spec>(o: Object<S>) -> Change {
    Change::Put(S::wrap(o))
}

pub const LEAF1: u128 = 2;
pub const LEAF2: u128 = 3;
pub const LEAF3: u128 = 7;

pub fn fabric_with(mode: VlanMode, vlan_range: &str) -> Snapshot {
    let sw = |n: u128, name: &str, ip: &str| {
        put(obj(
            n,
            SwitchSpec {
                name: name.into(),
                fabric_id: id(1),
                ovsdb: format!("unix:/tmp/{name}.sock").parse().unwrap(),
                tunnel_ip: ip.parse().unwrap(),
                management_ip: None,
                vlan_range: None,
                role: SwitchRole::Leaf,
                chassis_mac: Some(format!("02:00:00:00:00:{n:02x}").parse().unwrap()),
            },
        ))
    };
    let nic = |name: &str, sw: u128, port: &str| NodePort { name: name.into(), mac: None, switch_id: id(sw), switch_port: port.into() };
    let node = |n: u128, name: &str, t: NodeType, ports| {
        put(obj(n, NodeSpec { name: name.into(), node_profile_id: Some(id(6)), node_type: t, aliases: vec![format!("alias-{name}")], ports }))
    };
    let changes = vec![
        put(obj(
            1,
            FabricSpec {
                name: "dc1".into(),
                vni_range: serde_json::from_str("[5000, 5999]").unwrap(),
                vlan_range: serde_json::from_str(vlan_range).unwrap(),
                vlan_mode: mode,
            },
        )),
        sw(LEAF1, "leaf1", "10.0.0.1"),
        sw(LEAF2, "leaf2", "10.0.0.2"),
        sw(LEAF3, "leaf3", "10.0.0.3"),
        put(obj(4, HardwareSpec { name: "r640".into(), model: None })),
        put(obj(
            5,
            CardSpec {
                name: "x710".into(),
                hardware_ids: vec![id(4)],
                interface_map: vec![
                    Interface { name: "ens1f0".into(), labels: vec!["sriov".into(), "physnet1".into()] },
                    Interface { name: "ens1f1".into(), labels: vec!["sriov".into(), "physnet2".into()] },
                ],
            },
        )),
        put(obj(6, NodeProfileSpec { name: "sriov".into(), hardware_ids: vec![id(4)] })),
        node(10, "n1", NodeType::Compute, vec![nic("ens1f0", LEAF1, "swp1")]),
        node(11, "n2", NodeType::Compute, vec![nic("ens1f0", LEAF2, "swp1")]),
        node(12, "n3", NodeType::Compute, vec![nic("ens1f0", LEAF2, "swp2")]),
        node(15, "n4", NodeType::Compute, vec![nic("ens1f0", LEAF3, "swp1")]),
        node(13, "bm1", NodeType::Baremetal, vec![nic("eth0", LEAF1, "swp10"), nic("eth1", LEAF1, "swp11")]),
        node(14, "dual", NodeType::Compute, vec![nic("ens1f0", LEAF1, "swp20"), nic("ens1f1", LEAF2, "swp20")]),
    ];
    Snapshot::default().apply(changes, &mut Seq).unwrap().0
}

pub fn fabric() -> Snapshot {
    fabric_with(VlanMode::PerSwitch, "[100, 4094]")
}

/// Apply engine changes to a snapshot, as the catalog would.
pub fn commit(s: &Snapshot, changes: Vec<Change>) -> Snapshot {
    s.apply(changes, &mut Seq).expect("engine produced changes the model refuses").0
}

/// Every switch confirms the current state, as often as it takes: ports
/// that moved are confirmed at their new place, then release their old one
/// (the end of a make-before-break migration).
pub fn settle(s: &Snapshot) -> Snapshot {
    let mut s = s.clone();
    for _ in 0..4 {
        let c = stitch_engine::bind::advance_moves(&s, |_, _| true);
        if c.is_empty() {
            return s;
        }
        s = commit(&s, c);
    }
    panic!("moves still advancing after four rounds of confirmations");
}

pub fn network(s: &Snapshot, n: u128, ty: NetworkType, seg: Option<u32>, physnet: Option<&str>) -> Snapshot {
    let net = obj(
        n,
        NetworkSpec {
            network_type: ty,
            physical_network: physnet.map(str::to_string),
            segmentation_id: if ty == NetworkType::Vlan { seg } else { None },
            ..NetworkSpec::vxlan(format!("net{n}"))
        },
    );
    let req = if ty == NetworkType::Vxlan { seg } else { None };
    commit(s, bind::put_network(s, net, req).unwrap())
}

pub fn port_spec(net: u128, mac: u8, host: &str, vnic: VnicType) -> PortSpec {
    PortSpec {
        device_id: format!("vm-{mac}"),
        device_owner: "compute:nova".into(),
        host_id: host.into(),
        vnic_type: vnic,
        ..PortSpec::new(id(net), format!("fa:16:3e:00:00:{mac:02x}").parse().unwrap())
    }
}

pub fn bind_port(s: &Snapshot, n: u128, spec: PortSpec) -> Snapshot {
    commit(s, bind::put_port(s, obj(n, spec)).unwrap())
}

pub fn port(s: &Snapshot, n: u128) -> &Object<PortSpec> {
    s.ports.get(&id(n)).unwrap()
}

pub fn vlan_of(s: &Snapshot, n: u128) -> Option<String> {
    port(s, n).spec.binding.vif_details.get("vlan").and_then(|v| v.as_str()).map(str::to_string)
}

pub fn lli(links: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    let l: Vec<_> = links.iter().map(|(sw, p)| json!({"switch_info": sw, "port_id": p})).collect();
    json!({ "local_link_information": l }).as_object().unwrap().clone()
}
