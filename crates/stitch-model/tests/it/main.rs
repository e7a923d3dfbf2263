//! Model rules: integrity, uniqueness, implied changes and the resolution chain.

mod draft;
mod index;
mod resolve;
mod rules;

use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::snapshot::{Change, Context};
use time::OffsetDateTime;
use uuid::Uuid;

/// Ids from one process-wide sequence (never reused across calls) and a fixed clock.
pub struct Seq;

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_000_000);

impl Context for Seq {
    fn new_id(&mut self) -> Uuid {
        Uuid::from_u128(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128)
    }
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }
}

pub fn obj<S>(id: u128, spec: S) -> Object<S> {
    Object { id: Uuid::from_u128(id), created_at: OffsetDateTime::UNIX_EPOCH, updated_at: OffsetDateTime::UNIX_EPOCH, spec }
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn put<S: Spec>(o: Object<S>) -> Change {
    Change::Put(S::wrap(o))
}

pub fn fabric(n: u128, name: &str) -> Change {
    put(obj(n, FabricSpec { name: name.into(), vni_range: default_vni_range(), vlan_range: default_vlan_range(), vlan_mode: VlanMode::PerSwitch }))
}

pub fn switch(n: u128, name: &str, fabric: u128) -> Change {
    put(obj(
        n,
        SwitchSpec {
            name: name.into(),
            fabric_id: id(fabric),
            ovsdb: "unix:/tmp/s.sock".parse().unwrap(),
            tunnel_ip: "192.0.2.1".parse().unwrap(),
            management_ip: None,
            vlan_range: None,
            role: SwitchRole::Leaf,
            chassis_mac: None,
        },
    ))
}

pub fn nic(name: &str, switch: u128, port: &str) -> NodePort {
    NodePort { name: name.into(), mac: None, switch_id: id(switch), switch_port: port.into() }
}

pub fn node(n: u128, name: &str, profile: Option<u128>, ports: Vec<NodePort>) -> Change {
    put(obj(n, NodeSpec { name: name.into(), node_profile_id: profile.map(id), node_type: NodeType::Compute, aliases: vec![], ports }))
}

pub fn apply(s: &Snapshot, changes: Vec<Change>) -> Result<(Snapshot, Vec<Change>), stitch_model::ModelError> {
    s.apply(changes, &mut Seq)
}

/// A fabric with two leaves, a hardware model with an SR-IOV card, a profile.
pub fn base() -> Snapshot {
    let changes = vec![
        fabric(1, "dc1"),
        switch(2, "leaf1", 1),
        switch(3, "leaf2", 1),
        put(obj(4, HardwareSpec { name: "r640".into(), model: None })),
        put(obj(
            5,
            CardSpec {
                name: "x710".into(),
                hardware_ids: vec![id(4)],
                interface_map: vec![
                    Interface { name: "ens1f0".into(), labels: vec!["sriov".into(), "physnet1".into()] },
                    Interface { name: "ens1f1".into(), labels: vec!["sriov".into(), "physnet2".into()] },
                    Interface { name: "eno1".into(), labels: vec!["mgmt".into()] },
                ],
            },
        )),
        put(obj(6, NodeProfileSpec { name: "compute-sriov".into(), hardware_ids: vec![id(4)] })),
    ];
    apply(&Snapshot::default(), changes).unwrap().0
}
