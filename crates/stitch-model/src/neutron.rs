//! Overlay resources: networks and ports as the Neutron API presents them,
//! and the virtual port groups that attach a network to switch ports.
//!
//! These are Stitch's stored forms; the Neutron API maps them to Neutron's
//! attribute names (`provider:network_type`, `binding:host_id`, ...).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ModelError;
use crate::inventory::{Kind, Ref};
use crate::net::{MacAddr, Vni};

type JsonMap = serde_json::Map<String, serde_json::Value>;

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkType {
    #[default]
    Vxlan,
    Vlan,
}

impl NetworkType {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Vxlan => "vxlan",
            NetworkType::Vlan => "vlan",
        }
    }
}

/// A layer-2 network. Every network has an overlay VNI; a `vlan` provider
/// network also dictates the VLAN its ports use on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub shared: bool,
    #[serde(default)]
    pub network_type: NetworkType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_network: Option<String>,
    /// The VNI for `vxlan`, the VLAN for `vlan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation_id: Option<u32>,
    /// The overlay VNI (equal to `segmentation_id` for `vxlan`).
    pub vni: Vni,
    #[serde(default = "default_mtu")]
    pub mtu: u32,
}

fn default_mtu() -> u32 {
    1500
}

impl NetworkSpec {
    pub(crate) fn scope(&self) -> Option<Uuid> {
        None
    }
    pub(crate) fn refs(&self) -> Vec<Ref> {
        Vec::new()
    }
    pub(crate) fn check(&self) -> Result<(), ModelError> {
        match (self.network_type, self.segmentation_id) {
            (NetworkType::Vxlan, Some(id)) if id != self.vni.get() => Err(ModelError::invalid(
                "provider:segmentation_id",
                "a vxlan network's segmentation id is its VNI",
            )),
            (NetworkType::Vlan, None) => {
                Err(ModelError::invalid("provider:segmentation_id", "a vlan network needs a segmentation id (its VLAN)"))
            }
            (NetworkType::Vlan, Some(v)) if !(1..=4094).contains(&v) => Err(ModelError::invalid(
                "provider:segmentation_id",
                format!("invalid VLAN {v}: must be between 1 and 4094"),
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VnicType {
    #[default]
    Normal,
    Direct,
    Macvtap,
    DirectPhysical,
    Baremetal,
}

impl VnicType {
    pub fn as_str(self) -> &'static str {
        match self {
            VnicType::Normal => "normal",
            VnicType::Direct => "direct",
            VnicType::Macvtap => "macvtap",
            VnicType::DirectPhysical => "direct-physical",
            VnicType::Baremetal => "baremetal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "normal" => VnicType::Normal,
            "direct" => VnicType::Direct,
            "macvtap" => VnicType::Macvtap,
            "direct-physical" => VnicType::DirectPhysical,
            "baremetal" => VnicType::Baremetal,
            _ => return None,
        })
    }
    /// Whether Stitch binds this port to a switch port (the hypervisor
    /// switch handles `normal` ports).
    pub fn binds_to_fabric(self) -> bool {
        !matches!(self, VnicType::Normal)
    }
    /// The Neutron `binding:vif_type` of a successful binding.
    pub fn vif_type(self) -> &'static str {
        match self {
            VnicType::Direct | VnicType::Macvtap => "hw_veb",
            VnicType::DirectPhysical => "hostdev_physical",
            VnicType::Baremetal => "other",
            VnicType::Normal => "unbound",
        }
    }
    /// Whether the port owns the whole switch port and is attached untagged.
    pub fn untagged(self) -> bool {
        matches!(self, VnicType::DirectPhysical | VnicType::Baremetal)
    }
}

/// The outcome of binding a port, computed by the engine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortBinding {
    /// `unbound`, `binding_failed`, or the vif type of a bound port.
    pub vif_type: String,
    #[serde(default)]
    pub vif_details: JsonMap,
    /// Why binding failed, naming the missing or ambiguous link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Bumped on every host change: tells a migrated VM from a re-bound one.
    #[serde(default)]
    pub generation: u64,
}

impl PortBinding {
    pub fn unbound() -> Self {
        PortBinding { vif_type: "unbound".into(), ..Default::default() }
    }
    pub fn is_bound(&self) -> bool {
        self.failure.is_none() && self.vif_type != "unbound" && self.vif_type != "binding_failed"
    }
}

/// A port on a network, possibly bound to a host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortSpec {
    #[serde(default)]
    pub name: String,
    pub network_id: Uuid,
    pub mac_address: MacAddr,
    #[serde(default)]
    pub fixed_ips: Vec<serde_json::Value>,
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    pub device_owner: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// `binding:host_id`; empty when unbound.
    #[serde(default)]
    pub host_id: String,
    #[serde(default)]
    pub vnic_type: VnicType,
    /// `binding:profile`, as given.
    #[serde(default)]
    pub profile: JsonMap,
    #[serde(default)]
    pub binding: PortBinding,
}

impl PortSpec {
    pub(crate) fn scope(&self) -> Option<Uuid> {
        None
    }
    pub(crate) fn refs(&self) -> Vec<Ref> {
        vec![Ref { field: "network_id".into(), kind: Kind::Network, id: self.network_id }]
    }
    pub(crate) fn check(&self) -> Result<(), ModelError> {
        if self.mac_address.is_multicast() {
            return Err(ModelError::invalid("mac_address", format!("{} is a multicast MAC address", self.mac_address)));
        }
        Ok(())
    }
}

/// Switch ports + a VLAN attached to a network: what a switch is told to
/// bridge into the network's VNI. Automatic ones are created and removed by
/// port binding; manual ones attach bare metal or static devices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpgSpec {
    pub name: String,
    pub switch_id: Uuid,
    pub switch_ports: Vec<String>,
    pub network_id: Uuid,
    /// The VLAN on the wire; 0 means untagged.
    pub vlan: u16,
    /// The Neutron ports using this group (empty for a static attachment).
    #[serde(default)]
    pub port_ids: Vec<Uuid>,
    #[serde(default)]
    pub automatic: bool,
}

impl VpgSpec {
    pub(crate) fn scope(&self) -> Option<Uuid> {
        None
    }
    pub(crate) fn refs(&self) -> Vec<Ref> {
        let mut r = vec![
            Ref { field: "switch_id".into(), kind: Kind::Switch, id: self.switch_id },
            Ref { field: "network_id".into(), kind: Kind::Network, id: self.network_id },
        ];
        for (i, p) in self.port_ids.iter().enumerate() {
            r.push(Ref { field: format!("port_ids[{i}]"), kind: Kind::Port, id: *p });
        }
        r
    }
    pub(crate) fn check(&self) -> Result<(), ModelError> {
        if self.name.is_empty() {
            return Err(ModelError::invalid("name", "name must not be empty"));
        }
        if self.switch_ports.is_empty() {
            return Err(ModelError::invalid("switch_ports", "a virtual port group needs at least one switch port"));
        }
        if self.vlan > 4094 {
            return Err(ModelError::invalid("vlan", format!("invalid VLAN {}: must be 0 (untagged) or 1-4094", self.vlan)));
        }
        Ok(())
    }
}
