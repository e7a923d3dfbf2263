//! The apply document: a declarative description of inventory objects, one
//! list per kind, where references are given by name (or id) rather than by
//! id only. `POST /v1/apply` takes it as JSON; the CSV and YAML importers
//! produce it.
//!
//! Objects are matched by name (switch ports by switch + name). An existing
//! object is updated with the fields an item gives; a field left out keeps
//! its stored value (or its default on create). Optional scalar fields take
//! `null` to clear them. List fields, when given, replace the stored list.

use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize};
use stitch_model::inventory::{AllowedFrames, Interface, NodeType, SwitchRole, VlanMode};
use stitch_model::net::{MacAddr, OvsdbTarget, Range, VlanId, Vni};
use uuid::Uuid;

/// Every inventory kind, in the order the server applies them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyDocument {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fabrics: Vec<FabricItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<SwitchItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switch_ports: Vec<SwitchPortItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hardware: Vec<HardwareItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<CardItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_profiles: Vec<NodeProfileItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_profiles: Vec<PortProfileItem>,
}

impl ApplyDocument {
    /// How many items the document holds, all kinds together.
    pub fn len(&self) -> usize {
        self.fabrics.len()
            + self.switches.len()
            + self.switch_ports.len()
            + self.hardware.len()
            + self.cards.len()
            + self.node_profiles.len()
            + self.nodes.len()
            + self.port_profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A port profile. Security groups, the QoS policy and the networks are
/// Neutron objects, given by id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortProfileItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_frames: Option<AllowedFrames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_vlans: Option<Vec<u16>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub mtu: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub qos_policy_id: Option<Option<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<Uuid>>,
}

/// Deserialize a field that may be absent (`None`), `null` (`Some(None)`) or
/// a value (`Some(Some(v))`).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni_range: Option<Range<Vni>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_range: Option<Range<VlanId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_mode: Option<VlanMode>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchItem {
    pub name: String,
    /// The fabric's name or id; required when the switch is new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ovsdb: Option<OvsdbTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_ip: Option<IpAddr>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub management_ip: Option<Option<IpAddr>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub vlan_range: Option<Option<Range<VlanId>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<SwitchRole>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub chassis_mac: Option<Option<MacAddr>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchPortItem {
    /// The switch's name or id.
    pub switch: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareItem {
    pub name: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub model: Option<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardItem {
    pub name: String,
    /// Hardware names or ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_map: Option<Vec<Interface>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeProfileItem {
    pub name: String,
    /// Hardware names or ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeItem {
    pub name: String,
    /// The node profile's name or id; `null` removes it.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub node_profile: Option<Option<String>>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<NodeType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// When given, the node's cabling becomes exactly this list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortItem>>,
}

/// One cabled NIC: `switch` is the switch's name or id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    pub switch: String,
    pub switch_port: String,
}

/// The JSON key of each list, in the order the server applies them.
pub const SECTIONS: &[&str] = &["fabrics", "switches", "switch_ports", "hardware", "cards", "node_profiles", "nodes"];
