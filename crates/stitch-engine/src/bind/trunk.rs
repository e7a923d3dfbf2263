//! Trunks: one vNIC carrying many networks.
//!
//! Decisions:
//! * Subports are ports whose binding follows the parent: same host, same
//!   vNIC type, same switch ports, with the subport's `segmentation_id` as
//!   the wire VLAN there (one `vlan_binding` per subport). Their
//!   `device_owner` becomes `trunk:subport` and `device_id` the trunk id, as
//!   Neutron does. Their MACs are advertised as remote MACs on other leaves
//!   like any bound port's (compile needs nothing special).
//! * A subport VLAN is dictated: it is checked per switch port against other
//!   networks' VLANs there, and refused with the owner named when it clashes.
//! * `inherit` takes the subport network's `vlan` segmentation id (a `vlan`
//!   network's own, else its single stored `vlan` segment); a network with
//!   none cannot be inherited from.
//! * Parents of type `direct-physical`/`baremetal` own the switch port: the
//!   parent's network is untagged (VLAN 0, the native VLAN) next to the
//!   tagged subports. An SR-IOV (`direct`/`macvtap`) parent shares the port
//!   with other VFs, so its network keeps its own allocated VLAN and VLAN 0
//!   is never mixed in; the VF runs in guest-tagging mode and the host
//!   applies the allowed list returned in `binding:vif_details.trunk_vlans`
//!   (the parent's VLAN and every subport's, ascending).
//! * Adding or removing a subport re-binds only that subport (and refreshes
//!   the parent's `trunk_vlans`); the parent's switch binding is untouched.

use std::collections::BTreeSet;

use stitch_model::inventory::Object;
use stitch_model::neutron::*;
use stitch_model::snapshot::Change;
use stitch_model::{AnyObject, Kind, Snapshot};
use uuid::Uuid;

use super::{Attachment, Bound, Commit, Work, check_ports, rebind};
use crate::EngineError;

/// The VLAN an `inherit` subport takes from its network.
pub fn inherited_vlan(snap: &Snapshot, port_id: Uuid) -> Result<u16, EngineError> {
    let port = snap.ports.get(&port_id).ok_or(EngineError::PortNotFound(port_id))?;
    let net = snap.networks.get(&port.spec.network_id).ok_or(EngineError::NetworkNotFound(port.spec.network_id))?;
    match super::vlan_segments(snap, net).as_slice() {
        [s] => Ok(s.vlan),
        segs => Err(EngineError::Invalid {
            field: "sub_ports".into(),
            message: format!(
                "segmentation_type inherit needs the subport's network to have exactly one vlan segment; network {} ({}) has {}: give segmentation_type vlan and a segmentation_id",
                net.id,
                net.spec.network_type.as_str(),
                segs.len()
            ),
        }),
    }
}

/// Create or update a trunk (its subports given in full: adding and
/// removing subports is an update) and re-bind what changes.
pub fn put_trunk(snap: &Snapshot, trunk: Object<TrunkSpec>) -> Result<Vec<Change>, EngineError> {
    let old = snap.trunks.get(&trunk.id);
    if let Some(o) = old {
        if o.spec.port_id != trunk.spec.port_id {
            return Err(EngineError::Invalid { field: "port_id".into(), message: "the parent port of a trunk cannot change".into() });
        }
        if !o.spec.admin_state_up && o.spec.sub_ports != trunk.spec.sub_ports {
            return Err(EngineError::InUse { kind: "TrunkDisabled", message: format!("Trunk {} is currently disabled.", trunk.id) });
        }
    }
    let mut vlans = BTreeSet::new();
    for sp in &trunk.spec.sub_ports {
        if sp.port_id == trunk.spec.port_id {
            return Err(EngineError::Invalid { field: "sub_ports".into(), message: format!("port {} is the trunk's parent port", sp.port_id) });
        }
        if !vlans.insert(sp.segmentation_id) {
            return Err(EngineError::InUse {
                kind: "DuplicateSubPort",
                message: format!(
                    "segmentation_type {} and segmentation_id {} already in use on trunk {}.",
                    sp.segmentation_type.as_str(),
                    sp.segmentation_id,
                    trunk.id
                ),
            });
        }
    }
    for p in trunk.spec.all_ports() {
        snap.ports.get(&p).ok_or(EngineError::PortNotFound(p))?;
        if let Some(other) = snap.trunk_of(p).filter(|t| t.id != trunk.id) {
            return Err(EngineError::InUse { kind: "TrunkPortInUse", message: format!("Port {p} is in use by another trunk ({}).", other.id) });
        }
    }
    let before: BTreeSet<Uuid> = old.map(|o| o.spec.sub_ports.iter().map(|s| s.port_id).collect()).unwrap_or_default();
    let after: BTreeSet<Uuid> = trunk.spec.sub_ports.iter().map(|s| s.port_id).collect();
    let (parent, at, tid) = (trunk.spec.port_id, trunk.updated_at, trunk.id);

    let mut w = Work::new(snap);
    w.commit(vec![Change::Put(AnyObject::Trunk(trunk))])?;
    rebind(&mut w, parent, at, |_| {})?;
    for gone in before.difference(&after) {
        rebind(&mut w, *gone, at, leave_trunk)?;
    }
    let parent_bound = w.snap().ports.get(&parent).is_some_and(|p| p.spec.binding.is_bound());
    for new in after.difference(&before) {
        let b = &w.snap().ports.get(new).ok_or(EngineError::PortNotFound(*new))?.spec.binding;
        if parent_bound && !b.is_bound() {
            return Err(EngineError::Conflict(format!("subport {new} cannot join trunk {tid}: {}", b.rare.failure.clone().unwrap_or_default())));
        }
    }
    Ok(w.into_changes())
}

fn leave_trunk(spec: &mut PortSpec) {
    spec.host_id = Default::default();
    spec.device_owner.clear();
    spec.device_id.clear();
}

/// Delete a trunk: its subports are unbound and released, the parent keeps
/// its own binding (without `trunk_vlans`).
pub fn delete_trunk(snap: &Snapshot, id: Uuid) -> Result<Vec<Change>, EngineError> {
    let t = snap.trunks.get(&id).ok_or_else(|| EngineError::NotFound { kind: "TrunkNotFound", message: format!("Trunk {id} could not be found.") })?;
    let (parent, subs, at) = (t.spec.port_id, t.spec.sub_ports.clone(), t.updated_at);
    let mut w = Work::new(snap);
    w.commit(vec![Change::Delete(Kind::Trunk, id)])?;
    rebind(&mut w, parent, at, |_| {})?;
    for sp in subs {
        rebind(&mut w, sp.port_id, at, leave_trunk)?;
    }
    Ok(w.into_changes())
}

/// A subport lands where its parent landed, tagged with its VLAN.
pub(crate) fn subport_binding(snap: &Snapshot, t: &Object<TrunkSpec>, port: &Object<PortSpec>) -> Result<Option<Bound>, String> {
    let parent = snap.ports.get(&t.spec.port_id).ok_or_else(|| format!("trunk {} has no parent port", t.id))?;
    if parent.spec.host_id.is_empty() {
        return Ok(None);
    }
    if !parent.spec.binding.is_bound() {
        return Err(format!("the parent port {} of trunk {} is not bound: {}", parent.id, t.id, parent.spec.binding.rare.failure.clone().unwrap_or_default()));
    }
    let sp = t.spec.sub_ports.iter().find(|s| s.port_id == port.id).ok_or_else(|| format!("port {} is not a subport of trunk {}", port.id, t.id))?;
    let family: BTreeSet<Uuid> = t.spec.all_ports().collect();
    let mut atts = Vec::new();
    for g in snap.vpgs_of_port(parent.id).filter(|g| g.spec.port_ids.contains(&parent.id)) {
        let sw = snap.switches.get(&g.spec.switch_id).ok_or_else(|| format!("switch {} does not exist", g.spec.switch_id))?;
        check_ports(snap, sw, port.spec.network_id, &g.spec.switch_ports, sp.segmentation_id, Some(port.id), &family)?;
        atts.push(Attachment { switch_id: g.spec.switch_id, switch_ports: g.spec.switch_ports.clone(), vlan: sp.segmentation_id });
    }
    atts.sort();
    atts.dedup();
    Ok(Some(Bound { atts, dictated: true, segment: None }))
}

/// The VLANs a trunk parent's vNIC must allow: its own (when tagged) and
/// every subport's, ascending.
pub(crate) fn trunk_vlans(t: &Object<TrunkSpec>, parent_atts: &[Attachment]) -> Vec<u16> {
    let mut v: BTreeSet<u16> = parent_atts.iter().map(|a| a.vlan).filter(|v| *v != 0).collect();
    v.extend(t.spec.sub_ports.iter().map(|s| s.segmentation_id));
    v.into_iter().collect()
}
