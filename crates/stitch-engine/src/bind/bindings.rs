//! Neutron's port-bindings API (`binding-extended`), as Nova drives a live
//! migration: create an inactive binding for the destination host (it is
//! programmed there as `standby`, so the VF can be set up before the VM
//! moves), activate it when the VM runs there (the previous active binding
//! becomes inactive and the move goes make-before-break, see `moves`), then
//! delete the source's inactive binding.

use stitch_model::Snapshot;
use stitch_model::neutron::{HostBinding, PortBinding, PortSpec};
use stitch_model::snapshot::Change;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Work, bind_cascade};
use crate::EngineError;

fn port_of(snap: &Snapshot, id: Uuid) -> Result<stitch_model::inventory::Object<PortSpec>, EngineError> {
    snap.ports.get(&id).cloned().ok_or(EngineError::PortNotFound(id))
}

fn not_found(port: Uuid, host: &str) -> EngineError {
    EngineError::NotFound { kind: "PortBindingNotFound", message: format!("Binding for port {port} for host {host} could not be found.") }
}

fn store(snap: &Snapshot, mut port: stitch_model::inventory::Object<PortSpec>) -> Result<Vec<Change>, EngineError> {
    port.updated_at = OffsetDateTime::now_utc();
    let mut w = Work::new(snap);
    bind_cascade(&mut w, port)?;
    Ok(w.into_changes())
}

/// Add an inactive binding for `binding.host`.
pub fn add_binding(snap: &Snapshot, port_id: Uuid, binding: HostBinding) -> Result<Vec<Change>, EngineError> {
    let mut port = port_of(snap, port_id)?;
    if binding.host.is_empty() {
        return Err(EngineError::Invalid { field: "host".into(), message: "a binding needs a host".into() });
    }
    if port.spec.host_id == binding.host || port.spec.rare.inactive_bindings.iter().any(|b| b.host == binding.host) {
        return Err(EngineError::InUse {
            kind: "PortBindingAlreadyExists",
            message: format!("Binding for port {port_id} on host {} already exists.", binding.host),
        });
    }
    if snap.trunk_of(port_id).is_some() {
        return Err(EngineError::Conflict(format!(
            "port {port_id} belongs to a trunk: its subports follow the active binding only, so Stitch does not take inactive bindings for trunk ports (migrate by changing binding:host_id)"
        )));
    }
    port.spec.rare.inactive_bindings.push(HostBinding { binding: PortBinding::unbound(), ..binding });
    store(snap, port)
}

/// Make the inactive binding for `host` the active one; the active one
/// becomes inactive.
pub fn activate_binding(snap: &Snapshot, port_id: Uuid, host: &str) -> Result<Vec<Change>, EngineError> {
    let mut port = port_of(snap, port_id)?;
    let Some(i) = port.spec.rare.inactive_bindings.iter().position(|b| b.host == host) else {
        if port.spec.host_id == host {
            return Err(EngineError::InUse {
                kind: "PortBindingAlreadyActive",
                message: format!("Binding for port {port_id} on host {host} is already active."),
            });
        }
        return Err(not_found(port_id, host));
    };
    let next = port.spec.rare.inactive_bindings.remove(i);
    if let Some(reason) = &next.binding.rare.failure {
        return Err(EngineError::Conflict(format!("the binding of port {port_id} for host {host} failed, so it cannot be activated: {reason}")));
    }
    let s = &mut port.spec;
    if !s.host_id.is_empty() {
        s.rare.inactive_bindings.push(HostBinding {
            host: std::mem::take(&mut s.host_id),
            vnic_type: s.vnic_type,
            profile: std::mem::take(&mut s.profile),
            binding: PortBinding::unbound(),
        });
    }
    s.host_id = next.host;
    s.vnic_type = next.vnic_type;
    s.profile = next.profile;
    store(snap, port)
}

/// Delete the inactive binding for `host`. The active binding is removed by
/// unbinding the port (`binding:host_id` = ""), not here.
pub fn delete_binding(snap: &Snapshot, port_id: Uuid, host: &str) -> Result<Vec<Change>, EngineError> {
    let mut port = port_of(snap, port_id)?;
    let before = port.spec.rare.inactive_bindings.len();
    port.spec.rare.inactive_bindings.retain(|b| b.host != host);
    if port.spec.rare.inactive_bindings.len() == before {
        if port.spec.host_id == host {
            return Err(EngineError::Conflict(format!(
                "the binding of port {port_id} for host {host} is the active one; unbind the port (binding:host_id = \"\") instead"
            )));
        }
        return Err(not_found(port_id, host));
    }
    store(snap, port)
}
