//! VNI and VLAN allocation, derived from what is stored.

use std::collections::BTreeSet;

use stitch_model::inventory::{Object, SwitchSpec, VlanMode};
use stitch_model::{Range, Snapshot, VlanId, Vni};
use uuid::Uuid;

use crate::EngineError;

/// The smallest VNI free across every network, taken from the fabrics'
/// `vni_range`s in fabric-name order.
pub fn allocate_vni(snap: &Snapshot) -> Result<Vni, EngineError> {
    let used: BTreeSet<u32> = snap.networks.iter().map(|n| n.spec.vni.get()).collect();
    let mut fabrics: Vec<_> = snap.fabrics.iter().collect();
    fabrics.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    for f in fabrics {
        let r = f.spec.vni_range;
        if let Some(v) = first_free(r.first.get(), r.last.get(), &used) {
            return Vni::new(v as i64).map_err(|_| EngineError::NoFreeVni);
        }
    }
    Err(EngineError::NoFreeVni)
}

/// The network already using `vni`, if any.
pub fn vni_owner(snap: &Snapshot, vni: Vni, except: Option<Uuid>) -> Option<Uuid> {
    snap.networks.iter().find(|n| n.spec.vni == vni && Some(n.id) != except).map(|n| n.id)
}

fn first_free(first: u32, last: u32, used: &BTreeSet<u32>) -> Option<u32> {
    // Walk the used values inside the range: O(used), not O(range).
    let mut candidate = first;
    for u in used.range(first..=last) {
        if *u > candidate {
            break;
        }
        candidate = u + 1;
    }
    (candidate <= last && candidate >= first).then_some(candidate)
}

/// The VLAN range a switch allocates from: its own or its fabric's.
pub fn switch_range(snap: &Snapshot, sw: &Object<SwitchSpec>) -> Range<VlanId> {
    sw.spec
        .vlan_range
        .or_else(|| snap.fabrics.get(&sw.spec.fabric_id).map(|f| f.spec.vlan_range))
        .unwrap_or_else(stitch_model::inventory::default_vlan_range)
}

/// VLANs in use on a switch by any virtual port group, with their network.
pub fn vlans_on_switch(snap: &Snapshot, switch_id: Uuid) -> Vec<(u16, Uuid)> {
    snap.vpgs.iter().filter(|v| v.spec.switch_id == switch_id && v.spec.vlan != 0).map(|v| (v.spec.vlan, v.spec.network_id)).collect()
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
    let fabric_switches: BTreeSet<Uuid> = match mode {
        VlanMode::PerSwitch => [sw.id].into(),
        VlanMode::FabricWide => snap.switches.iter().filter(|s| s.spec.fabric_id == sw.spec.fabric_id).map(|s| s.id).collect(),
    };
    let groups = snap.vpgs.iter().filter(|v| fabric_switches.contains(&v.spec.switch_id) && v.spec.vlan != 0);
    let mut used = BTreeSet::new();
    for g in groups {
        if g.spec.network_id == network && g.spec.automatic && !g.spec.dictated {
            return Ok(g.spec.vlan);
        }
        used.insert(g.spec.vlan as u32);
    }
    first_free(range.first.get() as u32, range.last.get() as u32, &used).map(|v| v as u16).ok_or_else(|| {
        format!(
            "VLAN pool [{}, {}] of switch {:?} is exhausted",
            range.first, range.last, sw.spec.name
        )
    })
}

#[cfg(test)]
mod tests {
    use super::first_free;

    #[test]
    fn first_free_skips_used_runs() {
        let used = [5, 6, 7, 9].into_iter().collect();
        assert_eq!(first_free(5, 10, &used), Some(8));
        assert_eq!(first_free(1, 10, &used), Some(1));
        assert_eq!(first_free(5, 7, &used), None);
        assert_eq!(first_free(9, 9, &used), None);
        assert_eq!(first_free(10, 12, &used), Some(10));
    }
}
