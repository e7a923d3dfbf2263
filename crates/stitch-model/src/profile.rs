//! Port profiles (802.1Qbg sense, `/v1/port-profiles`): what a VM's port
//! may carry and its defaults, for what Neutron has no word for.
//!
//! A port uses the profile its `binding:profile.port_profile` names (by
//! name or id), else the profile that lists its network in `networks`
//! (a network default), else none. The binding records the profile it
//! used (`PortBinding::port_profile_id`), so a profile in use cannot be
//! deleted.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ModelError;
use crate::inventory::{Kind, Ref, Rules};

/// Which frames the port may carry: enforced by which VLAN bindings
/// Stitch creates (a refused binding is `binding_failed`), not by ACLs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowedFrames {
    #[default]
    All,
    TaggedOnly,
    UntaggedOnly,
}

impl AllowedFrames {
    pub fn as_str(self) -> &'static str {
        match self {
            AllowedFrames::All => "all",
            AllowedFrames::TaggedOnly => "tagged_only",
            AllowedFrames::UntaggedOnly => "untagged_only",
        }
    }
}

/// A port profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortProfileSpec {
    pub name: String,
    #[serde(default)]
    pub allowed_frames: AllowedFrames,
    /// For trunk parents: the subport VLANs allowed (empty: any).
    #[serde(default)]
    pub allowed_vlans: Vec<u16>,
    /// Given to the compute host in `binding:vif_details.mtu`.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// Security groups of ports that list none.
    #[serde(default)]
    pub security_groups: Vec<Uuid>,
    /// QoS policy of ports that name none (before the network's).
    #[serde(default)]
    pub qos_policy_id: Option<Uuid>,
    /// Networks whose ports use this profile when they name none.
    #[serde(default)]
    pub networks: Vec<Uuid>,
}

impl Rules for PortProfileSpec {
    fn refs(&self) -> Vec<Ref> {
        let mut r: Vec<Ref> = Ref::list("security_groups", Kind::SecurityGroup, &self.security_groups).collect();
        r.extend(self.qos_policy_id.map(|id| Ref { field: "qos_policy_id".into(), kind: Kind::QosPolicy, id }));
        r.extend(Ref::list("networks", Kind::Network, &self.networks));
        r
    }
    fn check(&self) -> Result<(), ModelError> {
        if self.name.is_empty() || self.name.len() > 255 {
            return Err(ModelError::invalid("name", "name must be 1 to 255 bytes"));
        }
        if Uuid::try_parse(&self.name).is_ok() {
            return Err(ModelError::invalid("name", "a name must not look like an id (binding:profile.port_profile takes either)"));
        }
        if let Some((i, v)) = self.allowed_vlans.iter().enumerate().find(|(_, v)| !(1..=4094).contains(*v)) {
            return Err(ModelError::invalid(format!("allowed_vlans[{i}]"), format!("invalid VLAN {v}: must be between 1 and 4094")));
        }
        if let Some(m) = self.mtu.filter(|m| !(68..=9216).contains(m)) {
            return Err(ModelError::invalid("mtu", format!("{m} is not in range 68-9216")));
        }
        Ok(())
    }
}
