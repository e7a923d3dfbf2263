//! Reference versions of the indexed engine paths, written as plain scans
//! of every table (as the engine did before the snapshot had indexes).
//! `props.rs` checks that the indexed versions agree with these on random
//! binding histories.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use stitch_engine::compile::{Learned, endpoint_key, ls_name};
use stitch_model::inventory::{Object, SwitchSpec, VlanMode};
use stitch_model::{MacAddr, Snapshot};
use stitch_vtep::{DesiredLogicalSwitch, DesiredVtep, Owner, RemoteMac, ReplicationMode};
use uuid::Uuid;

pub fn compile_endpoint(snap: &Snapshot, learned: &Learned, owner: &Owner, key: &str) -> DesiredVtep {
    let mut d = DesiredVtep::empty(owner.clone());
    let local: Vec<&Object<SwitchSpec>> = snap.switches.iter().filter(|s| endpoint_key(s) == key).collect();
    let local_ids: BTreeSet<Uuid> = local.iter().map(|s| s.id).collect();
    let local_ips: BTreeSet<IpAddr> = local.iter().map(|s| s.spec.tunnel_ip).collect();
    let mut nets: BTreeSet<Uuid> = BTreeSet::new();
    for g in snap.vpgs.iter().filter(|g| local_ids.contains(&g.spec.switch_id)) {
        let (Some(net), Some(sw)) = (snap.networks.get(&g.spec.network_id), snap.switches.get(&g.spec.switch_id)) else {
            continue;
        };
        nets.insert(net.id);
        for port in &g.spec.switch_ports {
            d.port_bindings.insert(sw.spec.name.as_str().into(), port.as_str().into(), g.spec.vlan, ls_name(net.id).into());
        }
    }
    for net in nets.iter().filter_map(|n| snap.networks.get(n)) {
        let mut ls = DesiredLogicalSwitch::new(net.spec.vni.get() as i64);
        ls.replication_mode = Some(ReplicationMode::SourceNode);
        d.logical_switches.insert(ls_name(net.id).into(), ls);
    }
    // Which groups count is what the index must agree on; what they
    // advertise is one rule, shared with the engine.
    let groups = snap.vpgs.iter().filter(|g| nets.contains(&g.spec.network_id));
    let bound = stitch_engine::compile::remote_macs(snap, groups, &local_ids, &local_ips, &mut d);
    for (_, macs) in learned.iter().filter(|(ep, _)| ep.as_str() != key) {
        for ((ls, mac), ip) in macs {
            let Ok(net) = Uuid::try_parse(ls) else { continue };
            if !nets.contains(&net) || local_ips.contains(ip) || bound.contains(&(net, *mac)) {
                continue;
            }
            let here = d.ucast_remote.entry(ls.as_str().into()).or_default();
            if here.get(mac).is_none() {
                here.insert(*mac, RemoteMac::at(*ip));
            }
        }
    }
    d
}

pub fn contradicting(snap: &Snapshot, learned: &Learned) -> Vec<(String, String, MacAddr)> {
    let mut bound: BTreeMap<(Uuid, MacAddr), BTreeSet<IpAddr>> = BTreeMap::new();
    for g in snap.vpgs.iter() {
        let Some(ip) = snap.switches.get(&g.spec.switch_id).map(|s| s.spec.tunnel_ip) else { continue };
        for p in g.spec.port_ids.iter().chain(&g.spec.draining).filter_map(|p| snap.ports.get(p)) {
            bound.entry((g.spec.network_id, p.spec.mac_address)).or_default().insert(ip);
        }
    }
    let mut out = Vec::new();
    for (ep, macs) in learned {
        for ((ls, mac), ip) in macs {
            let Ok(net) = Uuid::try_parse(ls) else { continue };
            if bound.get(&(net, *mac)).is_some_and(|ips| !ips.contains(ip)) {
                out.push((ep.clone(), ls.clone(), *mac));
            }
        }
    }
    out
}

/// The VLAN `vlan_for` must answer, by scanning every group.
pub fn vlan_for(snap: &Snapshot, sw: &Object<SwitchSpec>, network: Uuid) -> Option<u16> {
    let mode = snap.fabrics.get(&sw.spec.fabric_id).map(|f| f.spec.vlan_mode).unwrap_or_default();
    let range = stitch_engine::alloc::switch_range(snap, sw);
    let fabric_switches: BTreeSet<Uuid> = match mode {
        VlanMode::PerSwitch => [sw.id].into(),
        VlanMode::FabricWide => snap.switches.iter().filter(|s| s.spec.fabric_id == sw.spec.fabric_id).map(|s| s.id).collect(),
    };
    let mut used = BTreeSet::new();
    for g in snap.vpgs.iter().filter(|v| fabric_switches.contains(&v.spec.switch_id) && v.spec.vlan != 0) {
        if g.spec.network_id == network && g.spec.automatic && !g.spec.dictated {
            return Some(g.spec.vlan);
        }
        used.insert(g.spec.vlan);
    }
    (range.first.get()..=range.last.get()).find(|v| !used.contains(v))
}

/// The VNI `allocate_vni` must answer, by scanning every network: the
/// lowest VNI no network uses, from the fabrics' ranges in name order.
pub fn allocate_vni(snap: &Snapshot) -> Option<u32> {
    let mut fabrics: Vec<_> = snap.fabrics.iter().collect();
    fabrics.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    fabrics
        .into_iter()
        .find_map(|f| (f.spec.vni_range.first.get()..=f.spec.vni_range.last.get()).find(|v| !snap.networks.iter().any(|n| n.spec.vni.get() == *v)))
}
