//! VNI and VLAN allocation, derived from what is stored.

use std::collections::BTreeSet;

use stitch_model::inventory::{Object, SwitchSpec, VlanMode};
use stitch_model::{Range, Snapshot, VlanId, Vni};
use uuid::Uuid;

use crate::EngineError;

/// The smallest VNI free across every network, taken from the fabrics'
/// `vni_range`s in fabric-name order.
pub fn allocate_vni(snap: &Snapshot) -> Result<Vni, EngineError> {
    let mut fabrics: Vec<_> = snap.fabrics.iter().collect();
    fabrics.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    for f in fabrics {
        let (first, last) = (f.spec.vni_range.first.get(), f.spec.vni_range.last.get());
        if let Some(v) = first_free_sorted(first, last, snap.networks_with_vni_in(first, last).map(|(v, _)| v)) {
            return Vni::new(v as i64).map_err(|_| EngineError::NoFreeVni);
        }
    }
    Err(EngineError::NoFreeVni)
}

/// The network already using `vni`, if any.
pub fn vni_owner(snap: &Snapshot, vni: Vni, except: Option<Uuid>) -> Option<Uuid> {
    snap.networks_with_vni_in(vni.get(), vni.get()).map(|(_, n)| n.id).find(|n| Some(*n) != except)
}

/// The smallest value of `[first, last]` not in `used` (ascending, maybe
/// with repeats): walks the used values from the bottom of the range.
fn first_free_sorted(first: u32, last: u32, used: impl Iterator<Item = u32>) -> Option<u32> {
    let mut candidate = first;
    for u in used.skip_while(|u| *u < first) {
        if u > candidate {
            break;
        }
        candidate = candidate.max(u + 1);
    }
    (candidate <= last && candidate >= first).then_some(candidate)
}

fn first_free(first: u32, last: u32, used: &BTreeSet<u32>) -> Option<u32> {
    // Walk the used values inside the range: O(used), not O(range).
    first_free_sorted(first, last, used.range(first..=last).copied())
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
    let free = if let [only] = fabric_switches.as_slice() {
        // The index yields this switch's VLANs in order: no set to build,
        // no group to look up (this walk is O(VLANs in use) per binding).
        first_free_sorted(first, last, snap.vlans_used_on_switch(*only).map(u32::from))
    } else {
        let used: BTreeSet<u32> = fabric_switches.iter().flat_map(|s| snap.vlans_used_on_switch(*s)).map(u32::from).collect();
        first_free(first, last, &used)
    };
    free.map(|v| v as u16).ok_or_else(|| format!("VLAN pool [{}, {}] of switch {:?} is exhausted", range.first, range.last, sw.spec.name))
}

#[cfg(test)]
mod tests {
    use super::{first_free, first_free_sorted};

    #[test]
    fn first_free_skips_used_runs() {
        let used = [5, 6, 7, 9].into_iter().collect();
        assert_eq!(first_free(5, 10, &used), Some(8));
        assert_eq!(first_free(1, 10, &used), Some(1));
        assert_eq!(first_free(5, 7, &used), None);
        assert_eq!(first_free(9, 9, &used), None);
        assert_eq!(first_free(10, 12, &used), Some(10));
    }

    #[test]
    fn first_free_sorted_takes_repeats_and_values_below_the_range() {
        let f = |first, last, v: &[u32]| first_free_sorted(first, last, v.iter().copied());
        assert_eq!(f(5, 10, &[1, 5, 5, 6, 6, 7, 9]), Some(8));
        assert_eq!(f(1, 10, &[2, 2, 3]), Some(1));
        assert_eq!(f(2, 3, &[2, 2, 3, 3]), None);
        assert_eq!(f(2, 9, &[]), Some(2));
    }
}
