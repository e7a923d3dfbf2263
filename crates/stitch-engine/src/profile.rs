//! Port profiles at bind time: which profile a port uses, and what it
//! refuses. A port names its profile in `binding:profile.port_profile`
//! (name or id); without one it uses the profile that lists its network.
//! A name that matches nothing is a binding failure (Neutron's way for
//! `binding:profile` content a mechanism driver cannot honour: the port is
//! stored, `binding:vif_type = binding_failed`, with the reason), not a 4xx.
//!
//! Enforced here: `allowed_frames` (a `tagged_only` profile refuses an
//! untagged binding, `untagged_only` a tagged one: the VLAN binding is
//! never created) and `allowed_vlans` (a trunk parent's subport VLANs).
//! Used elsewhere: the default security groups ([`crate::acl`]), QoS policy
//! and `mtu` ([`crate::qos`]).

use serde_json::Value;
use stitch_model::Snapshot;
use stitch_model::inventory::Object;
use stitch_model::neutron::{PortSpec, TrunkSpec};
use stitch_model::profile::{AllowedFrames, PortProfileSpec};
use stitch_model::snapshot::{Change, SystemContext};
use uuid::Uuid;

use crate::EngineError;
use crate::bind::Attachment;

/// The profile a port uses, or why the one it names does not exist.
pub fn resolve<'a>(snap: &'a Snapshot, spec: &PortSpec) -> Result<Option<&'a Object<PortProfileSpec>>, String> {
    match spec.profile.get("port_profile") {
        None | Some(Value::Null) => Ok(snap.port_profiles.iter().find(|p| p.spec.networks.contains(&spec.network_id))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Uuid::try_parse(s)
            .ok()
            .and_then(|id| snap.port_profiles.get(&id))
            .or_else(|| snap.port_profiles.by_name(None, s))
            .map(Some)
            .ok_or_else(|| format!("binding:profile.port_profile {s:?} names no port profile (by name or id)")),
        Some(v) => Err(format!("binding:profile.port_profile must be a port profile's name or id, not {v}")),
    }
}

/// The id of the profile a port uses (`None` if none, or if it names a
/// missing one).
pub fn id_of(snap: &Snapshot, spec: &PortSpec) -> Option<Uuid> {
    resolve(snap, spec).ok().flatten().map(|p| p.id)
}

/// Whether the profile allows this binding (`atts` empty when unbound).
pub fn check(snap: &Snapshot, port: Uuid, spec: &PortSpec, trunk: Option<&Object<TrunkSpec>>, atts: &[Attachment]) -> Result<(), String> {
    if spec.host_id.is_empty() {
        return Ok(());
    }
    let Some(p) = resolve(snap, spec)? else { return Ok(()) };
    for a in atts {
        match (p.spec.allowed_frames, a.vlan) {
            (AllowedFrames::TaggedOnly, 0) => {
                return Err(format!("port profile {:?} allows tagged frames only, but a {} port is attached untagged", p.spec.name, spec.vnic_type.as_str()));
            }
            (AllowedFrames::UntaggedOnly, v) if v != 0 => {
                return Err(format!("port profile {:?} allows untagged frames only, but the port would carry VLAN {v}", p.spec.name));
            }
            _ => {}
        }
    }
    if let Some(t) = trunk.filter(|t| t.spec.port_id == port && !p.spec.allowed_vlans.is_empty()) {
        if let Some(sp) = t.spec.sub_ports.iter().find(|s| !p.spec.allowed_vlans.contains(&s.segmentation_id)) {
            return Err(format!(
                "port profile {:?} does not allow VLAN {} (subport {} of trunk {}); allowed_vlans: {:?}",
                p.spec.name, sp.segmentation_id, sp.port_id, t.id, p.spec.allowed_vlans
            ));
        }
    }
    Ok(())
}

/// `changes` (which write or delete port profiles) plus the re-binding of
/// every port whose profile may have changed: the ports that use a
/// written profile before or after, so their `vif_details`, failures and
/// ACLs follow.
pub fn with_rebound_ports(snap: &Snapshot, changes: Vec<Change>) -> Result<Vec<Change>, EngineError> {
    let touched: Vec<Uuid> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Put(stitch_model::AnyObject::PortProfile(p)) => Some(p.id),
            _ => None,
        })
        .collect();
    if touched.is_empty() {
        return Ok(changes);
    }
    let mut cur = snap.apply(changes.clone(), &mut SystemContext)?.0;
    let users: Vec<Uuid> = snap
        .ports
        .iter()
        .filter(|p| {
            let before = id_of(snap, &p.spec);
            let after = cur.ports.get(&p.id).and_then(|q| id_of(&cur, &q.spec));
            touched.iter().any(|t| before == Some(*t) || after == Some(*t)) || before != after
        })
        .map(|p| p.id)
        .collect();
    // A rename must not strand ports that name the profile by its name.
    for id in &users {
        let (Some(old), Some(new)) = (snap.ports.get(id), cur.ports.get(id)) else { continue };
        if let (Some(before), Err(_)) = (id_of(snap, &old.spec), resolve(&cur, &new.spec)) {
            let name = snap.port_profiles.get(&before).map_or(String::new(), |o| o.spec.name.clone());
            return Err(EngineError::Conflict(format!(
                "port profile {name:?} ({before}) is named by port {id} (binding:profile.port_profile); change the port first"
            )));
        }
    }
    let mut changes = changes;
    for id in users {
        let Some(o) = cur.ports.get(&id).cloned() else { continue };
        let more = crate::bind::put_port(&cur, o)?;
        cur = cur.apply(more.clone(), &mut SystemContext)?.0;
        changes.extend(more);
    }
    Ok(changes)
}
