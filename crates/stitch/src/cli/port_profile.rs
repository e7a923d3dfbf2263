//! `stitch port-profile ...` flags: a port profile's fields. Security
//! groups and QoS policies live in the Neutron API, so they are given by
//! id; networks too.

use clap::Args;
use serde_json::{Map, Value, json};

use super::client::Client;

#[derive(Args, Debug, Clone, Default)]
pub struct PortProfileFields {
    /// all, tagged_only or untagged_only.
    #[arg(long = "allowed-frames")]
    pub allowed_frames: Option<String>,
    /// A VLAN a trunk parent may carry; repeat. Replaces the list.
    #[arg(long = "allowed-vlan")]
    pub allowed_vlans: Vec<u16>,
    /// MTU given to the compute host (binding:vif_details.mtu).
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Default security group (Neutron id); repeat. Replaces the list.
    #[arg(long = "security-group")]
    pub security_groups: Vec<String>,
    /// Default QoS policy (Neutron id).
    #[arg(long = "qos-policy")]
    pub qos_policy: Option<String>,
    /// A network (Neutron id) whose ports use this profile by default; repeat. Replaces the list.
    #[arg(long = "network")]
    pub networks: Vec<String>,
}

impl PortProfileFields {
    pub async fn fill(&self, _c: &Client, m: &mut Map<String, Value>, _create: bool) -> anyhow::Result<()> {
        if let Some(v) = &self.allowed_frames {
            m.insert("allowed_frames".into(), json!(v));
        }
        if !self.allowed_vlans.is_empty() {
            m.insert("allowed_vlans".into(), json!(self.allowed_vlans));
        }
        if let Some(v) = self.mtu {
            m.insert("mtu".into(), json!(v));
        }
        if !self.security_groups.is_empty() {
            m.insert("security_groups".into(), json!(self.security_groups));
        }
        if let Some(v) = &self.qos_policy {
            m.insert("qos_policy_id".into(), json!(v));
        }
        if !self.networks.is_empty() {
            m.insert("networks".into(), json!(self.networks));
        }
        Ok(())
    }
}
