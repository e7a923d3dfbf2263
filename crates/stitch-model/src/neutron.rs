//! Overlay resources: networks and ports as the Neutron API presents them,
//! and the virtual port groups that attach a network to switch ports.
//!
//! These are Stitch's stored forms; the Neutron API maps them to Neutron's
//! attribute names (`provider:network_type`, `binding:host_id`, ...).

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use uuid::Uuid;

use crate::error::ModelError;
use crate::inventory::{Kind, Ref, Rules};
use crate::net::{MacAddr, Vni};
use crate::rare::{Rare, RareFields};
use crate::vecmap::JsonObject;

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
    /// The QoS policy of its ports that name none (`qos_policy_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_policy_id: Option<Uuid>,
}

fn default_mtu() -> u32 {
    1500
}

impl NetworkSpec {
    /// A `vxlan` network called `name`, every other attribute at Neutron's
    /// default. Its VNI is a placeholder until the engine allocates one.
    pub fn vxlan(name: impl Into<String>) -> Self {
        NetworkSpec {
            name: name.into(),
            project_id: String::new(),
            description: String::new(),
            admin_state_up: true,
            shared: false,
            network_type: NetworkType::Vxlan,
            physical_network: None,
            segmentation_id: None,
            vni: Vni::LOWEST,
            mtu: default_mtu(),
            qos_policy_id: None,
        }
    }
}

impl Rules for NetworkSpec {
    fn check(&self) -> Result<(), ModelError> {
        match (self.network_type, self.segmentation_id) {
            (NetworkType::Vxlan, Some(id)) if id != self.vni.get() => {
                Err(ModelError::invalid("provider:segmentation_id", "a vxlan network's segmentation id is its VNI"))
            }
            (NetworkType::Vlan, None) => Err(ModelError::invalid("provider:segmentation_id", "a vlan network needs a segmentation id (its VLAN)")),
            (NetworkType::Vlan, Some(v)) if !(1..=4094).contains(&v) => {
                Err(ModelError::invalid("provider:segmentation_id", format!("invalid VLAN {v}: must be between 1 and 4094")))
            }
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
    /// `unbound`, `binding_failed`, or the vif type of a bound port
    /// (inline: every one is a short word).
    pub vif_type: SmolStr,
    #[serde(default)]
    pub vif_details: JsonObject,
    /// Bumped on every host change: tells a migrated VM from a re-bound one.
    #[serde(default)]
    pub generation: u64,
    /// The failure, segment and port profile, when there is any.
    #[serde(flatten)]
    pub rare: Rare<BindingRare>,
}

/// What most bindings do not have (see [`Rare`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BindingRare {
    /// Why binding failed, naming the missing or ambiguous link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The stored `vlan` segment whose VLAN the binding uses (multi-segment
    /// networks); a segment named here is in use and cannot be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<Uuid>,
    /// The port profile the binding used (see [`crate::profile`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_profile_id: Option<Uuid>,
}

static NO_BINDING_RARE: BindingRare = BindingRare { failure: None, segment_id: None, port_profile_id: None };

impl RareFields for BindingRare {
    fn empty() -> &'static Self {
        &NO_BINDING_RARE
    }
}

impl PortBinding {
    pub fn unbound() -> Self {
        PortBinding { vif_type: "unbound".into(), ..Default::default() }
    }
    pub fn is_bound(&self) -> bool {
        self.rare.failure.is_none() && self.vif_type != "unbound" && self.vif_type != "binding_failed"
    }
}

/// An inactive binding of a port (Neutron's `binding-extended`): the
/// destination of a live migration before Nova activates it, or the source
/// after. Programmed on its switches (`standby`), never advertised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostBinding {
    pub host: SmolStr,
    #[serde(default)]
    pub vnic_type: VnicType,
    #[serde(default)]
    pub profile: JsonObject,
    #[serde(default)]
    pub binding: PortBinding,
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
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// `binding:host_id`; empty when unbound. Inline up to 23 bytes (host
    /// names usually are): one allocation less per port.
    #[serde(default)]
    pub host_id: SmolStr,
    #[serde(default)]
    pub vnic_type: VnicType,
    /// `binding:profile`, as given.
    #[serde(default)]
    pub profile: JsonObject,
    #[serde(default)]
    pub binding: PortBinding,
    /// The description, QoS policy and inactive bindings, when there is any.
    #[serde(flatten)]
    pub rare: Rare<PortRare>,
}

/// What most ports do not have (see [`Rare`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortRare {
    #[serde(default)]
    pub description: String,
    /// `qos_policy_id` (else the network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_policy_id: Option<Uuid>,
    /// Inactive bindings, one per host other than `host_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inactive_bindings: Vec<HostBinding>,
}

static NO_PORT_RARE: PortRare = PortRare { description: String::new(), qos_policy_id: None, inactive_bindings: Vec::new() };

impl RareFields for PortRare {
    fn empty() -> &'static Self {
        &NO_PORT_RARE
    }
}

impl PortSpec {
    /// An unbound port with `mac_address` on `network_id`, every other
    /// attribute at Neutron's default.
    pub fn new(network_id: Uuid, mac_address: MacAddr) -> Self {
        PortSpec {
            name: String::new(),
            network_id,
            mac_address,
            fixed_ips: Vec::new(),
            device_id: String::new(),
            device_owner: String::new(),
            project_id: String::new(),
            admin_state_up: true,
            security_groups: Vec::new(),
            host_id: SmolStr::default(),
            vnic_type: VnicType::Normal,
            profile: JsonObject::new(),
            binding: PortBinding::unbound(),
            rare: Rare::default(),
        }
    }
}

impl Rules for PortSpec {
    fn refs(&self) -> Vec<Ref> {
        let mut r = vec![Ref { field: "network_id".into(), kind: Kind::Network, id: self.network_id }];
        r.extend(self.binding.rare.port_profile_id.map(|id| Ref { field: "binding:profile.port_profile".into(), kind: Kind::PortProfile, id }));
        r
    }
    fn check(&self) -> Result<(), ModelError> {
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
    /// Members of `port_ids` that arrived here from another location (or
    /// re-incarnated) and are not confirmed yet: programmed here, but other
    /// switches still point their MACs at the previous location (or at
    /// nothing) until every switch of the network holds this group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Uuid>,
    /// Ports that moved to another location and stay programmed here until
    /// the switches of the network have switched to the new location
    /// (make-before-break). While the new location is `pending`, their MACs
    /// are still advertised here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub draining: Vec<Uuid>,
    /// Ports with an inactive binding here (Neutron's `binding-extended`,
    /// a live-migration target or source): programmed, never advertised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<Uuid>,
    #[serde(default)]
    pub automatic: bool,
    /// The VLAN was dictated from outside (a `vlan` segment, a trunk
    /// subport, an L2 gateway) rather than allocated from the switch's pool.
    /// Dictated VLANs are checked per switch port; allocated ones stay unique
    /// per switch, and only allocated ones are reused for the network.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dictated: bool,
}

impl VpgSpec {
    /// Whether nothing (current, draining or standby) uses this group any more.
    pub fn is_unused(&self) -> bool {
        self.port_ids.is_empty() && self.draining.is_empty() && self.standby.is_empty()
    }

    /// Whether `port` uses this group in any role.
    pub fn involves(&self, port: &Uuid) -> bool {
        self.port_ids.contains(port) || self.draining.contains(port) || self.standby.contains(port)
    }

    /// Whether `port` is an active member whose MAC is advertised here.
    pub fn advertises(&self, port: &Uuid) -> bool {
        self.port_ids.contains(port) && !self.pending.contains(port)
    }
}

impl Rules for VpgSpec {
    fn refs(&self) -> Vec<Ref> {
        let mut r = vec![
            Ref { field: "switch_id".into(), kind: Kind::Switch, id: self.switch_id },
            Ref { field: "network_id".into(), kind: Kind::Network, id: self.network_id },
        ];
        r.extend(Ref::list("port_ids", Kind::Port, &self.port_ids));
        r.extend(Ref::list("draining", Kind::Port, &self.draining));
        r.extend(Ref::list("standby", Kind::Port, &self.standby));
        r
    }
    fn check(&self) -> Result<(), ModelError> {
        if let Some(p) = self.pending.iter().find(|p| !self.port_ids.contains(p)) {
            return Err(ModelError::invalid("pending", format!("port {p} is pending but not a member")));
        }
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

// ------------------------------------------------------------------ segments

/// An extra `vlan` segment of a multi-segment network (the multi-provider
/// and segment extensions): on switch ports reached through a NIC that
/// serves `physical_network`, the network uses `segmentation_id` as its VLAN
/// and is still mapped to the network's one VNI.
///
/// A network's first segment is the network's own provider attributes
/// (`network_type`, `physical_network`, `segmentation_id`, and always the
/// overlay VNI), so single-segment networks are stored exactly as before;
/// only the segments beyond it are stored as objects of this kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub network_id: Uuid,
    /// Always `vlan` (a network's VNI is its one `vxlan` segment).
    pub network_type: NetworkType,
    pub physical_network: String,
    /// The VLAN.
    pub segmentation_id: u32,
    /// Position among the network's segments (the network itself is 0).
    #[serde(default)]
    pub index: u32,
}

impl Rules for SegmentSpec {
    fn refs(&self) -> Vec<Ref> {
        vec![Ref { field: "network_id".into(), kind: Kind::Network, id: self.network_id }]
    }
    fn check(&self) -> Result<(), ModelError> {
        if self.network_type != NetworkType::Vlan {
            return Err(ModelError::invalid("network_type", "only vlan segments can be added: a network's VNI is its one vxlan segment"));
        }
        if self.physical_network.is_empty() {
            return Err(ModelError::invalid("physical_network", "a vlan segment needs a physical network"));
        }
        if !(1..=4094).contains(&self.segmentation_id) {
            return Err(ModelError::invalid("segmentation_id", format!("invalid VLAN {}: must be between 1 and 4094", self.segmentation_id)));
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ trunks

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentationType {
    Vlan,
    /// The VLAN is the subport network's `vlan` segmentation id.
    Inherit,
}

impl SegmentationType {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentationType::Vlan => "vlan",
            SegmentationType::Inherit => "inherit",
        }
    }
}

/// One subport: a port whose network rides the parent's vNIC tagged with
/// `segmentation_id` (already resolved for `inherit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubPort {
    pub port_id: Uuid,
    pub segmentation_type: SegmentationType,
    pub segmentation_id: u16,
}

/// A trunk (Neutron's `trunk` extension): one vNIC — the parent port —
/// carrying many networks, each subport tagged with its own VLAN.
///
/// Subports are ports whose binding follows the parent: same host, same
/// switch ports, with the subport's `segmentation_id` as the wire VLAN
/// there. Their MACs are advertised as remote MACs on other leaves like any
/// bound port's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrunkSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    pub port_id: Uuid,
    #[serde(default)]
    pub sub_ports: Vec<SubPort>,
}

impl TrunkSpec {
    /// Every port of the trunk: the parent, then the subports.
    pub fn all_ports(&self) -> impl Iterator<Item = Uuid> + '_ {
        std::iter::once(self.port_id).chain(self.sub_ports.iter().map(|s| s.port_id))
    }
}

impl Rules for TrunkSpec {
    fn refs(&self) -> Vec<Ref> {
        let mut r = vec![Ref { field: "port_id".into(), kind: Kind::Port, id: self.port_id }];
        for (i, s) in self.sub_ports.iter().enumerate() {
            r.push(Ref { field: format!("sub_ports[{i}].port_id"), kind: Kind::Port, id: s.port_id });
        }
        r
    }
    fn check(&self) -> Result<(), ModelError> {
        let mut vlans = std::collections::BTreeSet::new();
        let mut ports = std::collections::BTreeSet::from([self.port_id]);
        for (i, s) in self.sub_ports.iter().enumerate() {
            if !(1..=4094).contains(&s.segmentation_id) {
                return Err(ModelError::invalid(
                    format!("sub_ports[{i}].segmentation_id"),
                    format!("invalid VLAN {}: must be between 1 and 4094", s.segmentation_id),
                ));
            }
            if !vlans.insert(s.segmentation_id) {
                return Err(ModelError::invalid(format!("sub_ports[{i}].segmentation_id"), format!("VLAN {} is used twice in this trunk", s.segmentation_id)));
            }
            if !ports.insert(s.port_id) {
                return Err(ModelError::invalid(format!("sub_ports[{i}].port_id"), format!("port {} is twice in this trunk", s.port_id)));
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ L2 gateways

/// A switch port of a gateway device and the legacy VLANs it bridges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L2gwInterface {
    pub name: String,
    #[serde(default)]
    pub segmentation_id: Vec<u16>,
}

/// A device of an L2 gateway: a switch (by name) and some of its ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L2gwDevice {
    pub id: Uuid,
    pub device_name: String,
    /// The switch `device_name` named when the gateway was written.
    pub switch_id: Uuid,
    pub interfaces: Vec<L2gwInterface>,
}

/// An L2 gateway (networking-l2gw): switch ports where a legacy VLAN
/// domain can be joined to an overlay network by a connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L2GatewaySpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
    pub devices: Vec<L2gwDevice>,
}

impl L2GatewaySpec {
    /// Whether the interfaces carry their own VLANs (then a connection gives none).
    pub fn has_vlans(&self) -> bool {
        self.devices.iter().flat_map(|d| &d.interfaces).any(|i| !i.segmentation_id.is_empty())
    }
}

impl Rules for L2GatewaySpec {
    fn refs(&self) -> Vec<Ref> {
        self.devices.iter().enumerate().map(|(i, d)| Ref { field: format!("devices[{i}].device_name"), kind: Kind::Switch, id: d.switch_id }).collect()
    }
    fn check(&self) -> Result<(), ModelError> {
        if self.devices.is_empty() {
            return Err(ModelError::invalid("devices", "an L2 gateway needs at least one device"));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, d) in self.devices.iter().enumerate() {
            if !names.insert(d.switch_id) {
                return Err(ModelError::invalid(format!("devices[{i}].device_name"), format!("device {:?} is listed twice", d.device_name)));
            }
            if d.interfaces.is_empty() {
                return Err(ModelError::invalid(format!("devices[{i}].interfaces"), "a device needs at least one interface"));
            }
            let mut ifs = std::collections::BTreeSet::new();
            for (j, it) in d.interfaces.iter().enumerate() {
                let f = format!("devices[{i}].interfaces[{j}]");
                if it.name.is_empty() || !ifs.insert(it.name.as_str()) {
                    return Err(ModelError::invalid(format!("{f}.name"), format!("interface name {:?} is empty or repeated", it.name)));
                }
                if let Some(v) = it.segmentation_id.iter().find(|v| !(1..=4094).contains(*v)) {
                    return Err(ModelError::invalid(format!("{f}.segmentation_id"), format!("invalid VLAN {v}: must be between 1 and 4094")));
                }
            }
        }
        let with = self.devices.iter().flat_map(|d| &d.interfaces).filter(|i| !i.segmentation_id.is_empty()).count();
        let all = self.devices.iter().map(|d| d.interfaces.len()).sum::<usize>();
        if with != 0 && with != all {
            return Err(ModelError::invalid("devices", "give segmentation_id on every interface or on none"));
        }
        Ok(())
    }
}

/// A connection of an L2 gateway to a network: every gateway interface
/// bridges its VLAN (the interface's own, else the connection's) into the
/// network's VNI. It materializes as the manual virtual port groups listed
/// in `vpg_ids`, which it owns: they go when the connection goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L2gwConnectionSpec {
    /// Unused by the API (connections have no name); kept for the name index.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
    pub l2_gateway_id: Uuid,
    pub network_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation_id: Option<u16>,
    #[serde(default)]
    pub vpg_ids: Vec<Uuid>,
}

impl Rules for L2gwConnectionSpec {
    fn refs(&self) -> Vec<Ref> {
        let mut r = vec![
            Ref { field: "l2_gateway_id".into(), kind: Kind::L2Gateway, id: self.l2_gateway_id },
            Ref { field: "network_id".into(), kind: Kind::Network, id: self.network_id },
        ];
        r.extend(Ref::list("vpg_ids", Kind::VirtualPortGroup, &self.vpg_ids));
        r
    }
    fn check(&self) -> Result<(), ModelError> {
        if let Some(v) = self.segmentation_id.filter(|v| !(1..=4094).contains(v)) {
            return Err(ModelError::invalid("segmentation_id", format!("invalid VLAN {v}: must be between 1 and 4094")));
        }
        Ok(())
    }
}
