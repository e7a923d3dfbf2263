//! QoS and port-level settings the compute host enforces: the effective
//! QoS policy of a port (its own `qos_policy_id`, else its port profile's,
//! else its network's) becomes `max_kbps` / `max_burst_kbps` in
//! `binding:vif_details`, and the port profile's `mtu` becomes `mtu`.

use serde_json::{Map, Value, json};
use stitch_model::Snapshot;
use stitch_model::inventory::Object;
use stitch_model::neutron::{NetworkSpec, PortSpec};
use uuid::Uuid;

use crate::EngineError;

/// The policy that applies to a port: its own, its port profile's, its
/// network's.
pub fn effective_policy(snap: &Snapshot, spec: &PortSpec, net: &Object<NetworkSpec>) -> Option<Uuid> {
    let profile = crate::profile::resolve(snap, spec).ok().flatten().and_then(|p| p.spec.qos_policy_id);
    spec.rare.qos_policy_id.or(profile).or(net.spec.qos_policy_id)
}

/// A port naming a policy that does not exist is refused (404
/// `QosPolicyNotFound`, as Neutron does).
pub fn check_port(snap: &Snapshot, spec: &PortSpec) -> Result<(), EngineError> {
    match spec.rare.qos_policy_id {
        Some(id) if snap.qos_policies.get(&id).is_none() => {
            Err(EngineError::NotFound { kind: "QosPolicyNotFound", message: format!("QoS policy {id} could not be found.") })
        }
        _ => Ok(()),
    }
}

/// Adds the rate limit of a bound port's policy to its `vif_details`.
pub fn vif_details(snap: &Snapshot, spec: &PortSpec, net: &Object<NetworkSpec>, details: &mut Map<String, Value>) {
    if let Some(mtu) = crate::profile::resolve(snap, spec).ok().flatten().and_then(|p| p.spec.mtu) {
        details.insert("mtu".into(), json!(mtu));
    }
    let Some(p) = effective_policy(snap, spec, net).and_then(|id| snap.qos_policies.get(&id)) else { return };
    if let Some(r) = p.spec.bandwidth_limit_rules.first() {
        details.insert("max_kbps".into(), json!(r.max_kbps));
        details.insert("max_burst_kbps".into(), json!(r.max_burst_kbps));
    }
}

/// The ports whose binding depends on a policy (directly or through their
/// network): they are re-bound when the policy changes.
pub fn ports_using(snap: &Snapshot, policy: Uuid) -> Vec<Uuid> {
    snap.ports
        .iter()
        .filter(|p| snap.networks.get(&p.spec.network_id).is_some_and(|n| effective_policy(snap, &p.spec, n) == Some(policy)))
        .map(|p| p.id)
        .collect()
}
