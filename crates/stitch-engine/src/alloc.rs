//! VNI and VLAN allocation, derived from what is stored.

use stitch_model::inventory::{Object, SwitchSpec, VlanMode};
use stitch_model::{Range, Snapshot, VlanId, Vni};
use uuid::Uuid;

use crate::EngineError;

/// The smallest VNI free across every network, taken from the fabrics'
/// `vni_range`s in fabric-name order: O(log n) per fabric, from the
/// snapshot's index of runs of VNIs in use.
pub fn allocate_vni(snap: &Snapshot) -> Result<Vni, EngineError> {
    let mut fabrics: Vec<_> = snap.fabrics.iter().collect();
    fabrics.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    for f in fabrics {
        let (first, last) = (f.spec.vni_range.first.get(), f.spec.vni_range.last.get());
        if let Some(v) = snap.vni_free_from(first).filter(|v| *v <= last) {
            return Vni::new(v as i64).map_err(|_| EngineError::NoFreeVni);
        }
    }
    Err(EngineError::NoFreeVni)
}

/// The network already using `vni`, if any.
pub fn vni_owner(snap: &Snapshot, vni: Vni, except: Option<Uuid>) -> Option<Uuid> {
    snap.networks_with_vni_in(vni.get(), vni.get()).map(|(_, n)| n.id).find(|n| Some(*n) != except)
}

/// The smallest VLAN of `[first, last]` that none of `switches` uses: each
/// switch skips the run of used VLANs the candidate falls in (O(log n)),
/// until every switch agrees the candidate is free.
fn lowest_free_vlan(snap: &Snapshot, switches: &[Uuid], first: u32, last: u32) -> Option<u32> {
    let mut candidate = first;
    loop {
        let mut moved = false;
        for s in switches {
            if candidate > last {
                return None;
            }
            let free = snap.vlan_free_from(*s, candidate)?;
            moved |= free != candidate;
            candidate = free;
        }
        if !moved {
            return (candidate <= last).then_some(candidate);
        }
    }
}

/// The VLAN range a switch allocates from: its own or its fabric's.
pub fn switch_range(snap: &Snapshot, sw: &Object<SwitchSpec>) -> Range<VlanId> {
    sw.spec.vlan_range.or_else(|| snap.fabrics.get(&sw.spec.fabric_id).map(|f| f.spec.vlan_range)).unwrap_or_else(stitch_model::inventory::default_vlan_range)
}

/// VLANs in use on a switch by any virtual port group, with their network.
pub fn vlans_on_switch(snap: &Snapshot, switch_id: Uuid) -> Vec<(u16, Uuid)> {
    snap.vlans_on_switch(switch_id).map(|(v, g)| (v, g.spec.network_id)).collect()
}

/// The VLAN `network` uses on `sw`, allocating one when it has none yet.
/// Every VLAN in use on the switch counts as taken, dictated ones (trunk
/// subports, `vlan` segments, L2 gateways) included, so allocations stay
/// unique per switch; only allocated VLANs are reused for the network.
/// `per_switch`: the network's VLAN on this switch, else the lowest VLAN no
/// group on this switch uses. `fabric_wide`: the network's VLAN anywhere in
/// the fabric, else the lowest VLAN no switch of the fabric uses.
pub fn vlan_for(snap: &Snapshot, sw: &Object<SwitchSpec>, network: Uuid) -> Result<u16, String> {
    let mode = snap.fabrics.get(&sw.spec.fabric_id).map(|f| f.spec.vlan_mode).unwrap_or_default();
    let range = switch_range(snap, sw);
    let fabric_switches: Vec<Uuid> = match mode {
        VlanMode::PerSwitch => vec![sw.id],
        VlanMode::FabricWide => snap.switches_of_fabric(sw.spec.fabric_id).map(|s| s.id).collect(),
    };
    // The network's own allocated VLAN: the first such group by id, as a
    // scan of every group would find it.
    let own = fabric_switches
        .iter()
        .flat_map(|s| snap.vpgs_on_switch_for(*s, network))
        .filter(|g| g.spec.vlan != 0 && g.spec.automatic && !g.spec.dictated)
        .min_by_key(|g| g.id);
    if let Some(g) = own {
        return Ok(g.spec.vlan);
    }
    let (first, last) = (range.first.get() as u32, range.last.get() as u32);
    lowest_free_vlan(snap, &fabric_switches, first, last)
        .map(|v| v as u16)
        .ok_or_else(|| format!("VLAN pool [{}, {}] of switch {:?} is exhausted", range.first, range.last, sw.spec.name))
}
