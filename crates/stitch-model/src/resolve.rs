//! The resolution chain: which switch ports carry a node's NICs of a role.
//!
//! node → node profile → hardware → cards fitted to that hardware → NICs in
//! their `interface_map` whose labels include the role → the node's own
//! cabling for that NIC → switch + switch port. Each missing link is an
//! error that names it.

use serde::Serialize;
use thiserror::Error;
use uuid::Uuid;

use crate::inventory::{NodeSpec, Object};
use crate::snapshot::Snapshot;

/// One cabled NIC that carries the requested role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub nic: String,
    pub switch_id: Uuid,
    pub switch: String,
    pub switch_port: String,
}

/// The missing or broken link in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ResolveError {
    #[error("no node has the name or alias {0:?}")]
    UnknownHost(String),
    #[error("node {0:?} has no node profile")]
    NoNodeProfile(String),
    #[error("node profile {0:?} references no hardware")]
    ProfileWithoutHardware(String),
    #[error("no card fitted to the hardware of node profile {profile:?} has a NIC labelled {label:?}")]
    NoLabelledNic { profile: String, label: String },
    #[error("NIC {nic:?} labelled {label:?} is not cabled on node {node:?}")]
    NicNotCabled { node: String, nic: String, label: String },
    #[error("NIC {nic:?} of node {node:?} is cabled to switch {switch_id}, which does not exist")]
    UnknownSwitch { node: String, nic: String, switch_id: Uuid },
}

/// Every cabled NIC of `node` whose card labels include `label`, in NIC-name
/// order. Labelled NICs that are not cabled make the whole resolution fail
/// only when none is cabled: a card may have more ports than the server
/// has cables.
pub fn resolve(snap: &Snapshot, node: &Object<NodeSpec>, label: &str) -> Result<Vec<Link>, ResolveError> {
    let name = &node.spec.name;
    let profile_id = node.spec.node_profile_id.ok_or_else(|| ResolveError::NoNodeProfile(name.clone()))?;
    let profile = snap.node_profiles.get(&profile_id).ok_or_else(|| ResolveError::NoNodeProfile(name.clone()))?;
    if profile.spec.hardware_ids.is_empty() {
        return Err(ResolveError::ProfileWithoutHardware(profile.spec.name.clone()));
    }
    let mut nics: Vec<&str> = snap
        .cards
        .iter()
        .filter(|c| c.spec.hardware_ids.iter().any(|h| profile.spec.hardware_ids.contains(h)))
        .flat_map(|c| c.spec.interface_map.iter())
        .filter(|i| i.labels.iter().any(|l| l == label))
        .map(|i| i.name.as_str())
        .collect();
    nics.sort_unstable();
    nics.dedup();
    if nics.is_empty() {
        return Err(ResolveError::NoLabelledNic { profile: profile.spec.name.clone(), label: label.to_string() });
    }
    let mut links = Vec::new();
    let mut first_uncabled = None;
    for nic in &nics {
        match node.spec.ports.iter().find(|p| p.name == *nic) {
            Some(p) => {
                let sw = snap.switches.get(&p.switch_id).ok_or_else(|| ResolveError::UnknownSwitch {
                    node: name.clone(),
                    nic: nic.to_string(),
                    switch_id: p.switch_id,
                })?;
                links.push(Link { nic: nic.to_string(), switch_id: sw.id, switch: sw.spec.name.clone(), switch_port: p.switch_port.clone() });
            }
            None => {
                first_uncabled.get_or_insert(*nic);
            }
        }
    }
    if links.is_empty() {
        return Err(ResolveError::NicNotCabled { node: name.clone(), nic: first_uncabled.unwrap_or_default().to_string(), label: label.to_string() });
    }
    Ok(links)
}
