//! Inventory resources: the fabric, its switches and ports, servers (nodes)
//! with their cabling, and the hardware descriptions (node profiles, hardware,
//! cards) that say which NIC of a server plays which role.
//!
//! Every resource is stored as an [`Object`]: server-assigned metadata around
//! a *spec*, the part a client writes. Specs refuse unknown fields.

use std::fmt;
use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{FieldError, ModelError};
use crate::net::{MacAddr, OvsdbTarget, Range, VlanId, Vni};
pub use crate::neutron::*;
pub use crate::profile::{AllowedFrames, PortProfileSpec};
pub use crate::qos::QosPolicySpec;
pub use crate::security::SecurityGroupSpec;
use crate::snapshot::{Snapshot, Table};

/// A stored resource: server-assigned `id` and timestamps around a spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Object<S> {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(flatten)]
    pub spec: S,
}

/// One reference from a spec to another object, for integrity checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    pub field: String,
    pub kind: Kind,
    pub id: Uuid,
}

impl Ref {
    fn new(field: impl Into<String>, kind: Kind, id: Uuid) -> Self {
        Ref { field: field.into(), kind, id }
    }

    /// One reference per id of a list field, named `field[i]`.
    pub(crate) fn list(field: &str, kind: Kind, ids: &[Uuid]) -> impl Iterator<Item = Ref> {
        let field = field.to_string();
        ids.iter().enumerate().map(move |(i, id)| Ref { field: format!("{field}[{i}]"), kind, id: *id })
    }
}

/// The integrity rules of one spec, with the common defaults: names are
/// global, nothing is referenced, nothing beyond its own types is checked.
pub(crate) trait Rules {
    fn scope(&self) -> Option<Uuid> {
        None
    }
    fn refs(&self) -> Vec<Ref> {
        Vec::new()
    }
    fn check(&self) -> Result<(), ModelError> {
        Ok(())
    }
}

/// What every resource spec provides so the snapshot can keep it consistent.
pub trait Spec: Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: Kind;
    /// Whether names must be unique (Neutron resources allow duplicates).
    const UNIQUE_NAMES: bool = true;
    fn name(&self) -> &str;
    /// Names are unique per kind, or per scope when this returns one
    /// (switch-port names are unique per switch).
    fn name_scope(&self) -> Option<Uuid> {
        None
    }
    /// Every id this spec points at, with the field that holds it.
    fn references(&self) -> Vec<Ref> {
        Vec::new()
    }
    /// Checks that need only the spec itself.
    fn validate(&self) -> Result<(), ModelError> {
        Ok(())
    }
    fn table(s: &Snapshot) -> &Table<Self>;
    fn table_mut(s: &mut Snapshot) -> &mut Table<Self>;
    fn wrap(o: Object<Self>) -> AnyObject;
}

macro_rules! kinds {
    ($( $variant:ident => $spec:ident, $field:ident, $plural:literal, $singular:literal, $unique:literal; )*) => {
        /// The kinds of resource Stitch stores.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($variant),* }

        impl Kind {
            /// Every kind, in dependency order (a kind only references earlier ones).
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];
            /// The URL path segment and store prefix, e.g. `switch-ports`.
            pub fn plural(self) -> &'static str {
                match self { $(Kind::$variant => $plural),* }
            }
            /// The human name, e.g. `switch port`.
            pub fn singular(self) -> &'static str {
                match self { $(Kind::$variant => $singular),* }
            }
            pub fn from_plural(s: &str) -> Option<Kind> {
                match s { $($plural => Some(Kind::$variant),)* _ => None }
            }
        }

        /// A stored object of any kind.
        #[derive(Clone, Debug, PartialEq)]
        pub enum AnyObject { $($variant(Object<$spec>)),* }

        impl AnyObject {
            pub fn kind(&self) -> Kind {
                match self { $(AnyObject::$variant(_) => Kind::$variant),* }
            }
            pub fn id(&self) -> Uuid {
                match self { $(AnyObject::$variant(o) => o.id),* }
            }
            pub fn name(&self) -> &str {
                match self { $(AnyObject::$variant(o) => o.spec.name()),* }
            }
            pub fn to_json(&self) -> serde_json::Value {
                match self { $(AnyObject::$variant(o) => serde_json::to_value(o).unwrap_or_default()),* }
            }
            /// The JSON form as bytes, serialized straight from the object
            /// (no intermediate `Value`): what the catalog stores.
            pub fn to_json_vec(&self) -> Vec<u8> {
                let out = match self { $(AnyObject::$variant(o) => serde_json::to_vec(o)),* };
                out.unwrap_or_else(|_| b"null".to_vec())
            }
            /// Decode a stored object of `kind` from its JSON form.
            pub fn from_json(kind: Kind, v: &[u8]) -> Result<AnyObject, serde_json::Error> {
                Ok(match kind { $(Kind::$variant => AnyObject::$variant(serde_json::from_slice(v)?)),* })
            }
        }

        $(
        impl Spec for $spec {
            const KIND: Kind = Kind::$variant;
            const UNIQUE_NAMES: bool = $unique;
            fn name(&self) -> &str { &self.name }
            fn name_scope(&self) -> Option<Uuid> { Rules::scope(self) }
            fn references(&self) -> Vec<Ref> { Rules::refs(self) }
            fn validate(&self) -> Result<(), ModelError> { Rules::check(self) }
            fn table(s: &Snapshot) -> &Table<Self> { &s.$field }
            fn table_mut(s: &mut Snapshot) -> &mut Table<Self> { &mut s.$field }
            fn wrap(o: Object<Self>) -> AnyObject { AnyObject::$variant(o) }
        }
        )*
    };
}

kinds! {
    Fabric => FabricSpec, fabrics, "fabrics", "fabric", true;
    Switch => SwitchSpec, switches, "switches", "switch", true;
    SwitchPort => SwitchPortSpec, switch_ports, "switch-ports", "switch port", true;
    Hardware => HardwareSpec, hardware, "hardware", "hardware", true;
    Card => CardSpec, cards, "cards", "card", true;
    NodeProfile => NodeProfileSpec, node_profiles, "node-profiles", "node profile", true;
    Node => NodeSpec, nodes, "nodes", "node", true;
    Network => NetworkSpec, networks, "networks", "network", false;
    Segment => SegmentSpec, segments, "segments", "segment", false;
    Port => PortSpec, ports, "ports", "port", false;
    Trunk => TrunkSpec, trunks, "trunks", "trunk", false;
    L2Gateway => L2GatewaySpec, l2_gateways, "l2-gateways", "l2 gateway", false;
    VirtualPortGroup => VpgSpec, vpgs, "virtual-port-groups", "virtual port group", true;
    L2GatewayConnection => L2gwConnectionSpec, l2gw_connections, "l2-gateway-connections", "l2 gateway connection", false;
    SecurityGroup => SecurityGroupSpec, security_groups, "security-groups", "security group", false;
    QosPolicy => QosPolicySpec, qos_policies, "qos-policies", "QoS policy", false;
    PortProfile => PortProfileSpec, port_profiles, "port-profiles", "port profile", true;
}

impl Kind {
    /// The kinds served by the generic `/v1` inventory CRUD. Networks,
    /// segments, ports, trunks, L2 gateways and their connections are served
    /// by the Neutron API; virtual port groups by their own routes
    /// (automatic ones are read-only).
    pub fn is_inventory(self) -> bool {
        !matches!(
            self,
            Kind::Network
                | Kind::Segment
                | Kind::Port
                | Kind::Trunk
                | Kind::L2Gateway
                | Kind::VirtualPortGroup
                | Kind::L2GatewayConnection
                | Kind::SecurityGroup
                | Kind::QosPolicy
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.singular())
    }
}

fn check_name(name: &str) -> Result<(), ModelError> {
    if name.is_empty() {
        return Err(ModelError::invalid("name", "name must not be empty"));
    }
    if name.len() > 255 {
        return Err(ModelError::invalid("name", "name must be at most 255 bytes"));
    }
    if name.trim() != name || name.chars().any(char::is_control) {
        return Err(ModelError::invalid("name", "name must not have leading/trailing spaces or control characters"));
    }
    Ok(())
}

fn check_label(field: &str, s: &str) -> Result<(), ModelError> {
    if s.is_empty() || s.len() > 255 || s.trim() != s || s.chars().any(char::is_control) {
        return Err(ModelError::invalid(field, format!("invalid value {s:?}: must be 1-255 printable characters")));
    }
    Ok(())
}

fn no_duplicates<'a>(field: &str, items: impl IntoIterator<Item = &'a str>) -> Result<(), ModelError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, it) in items.into_iter().enumerate() {
        if !seen.insert(it) {
            return Err(ModelError::invalid(format!("{field}[{i}]"), format!("duplicate entry {it:?}")));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- fabric

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VlanMode {
    /// Each switch allocates VLANs from its own pool, per network.
    #[default]
    PerSwitch,
    /// One VLAN per network across the whole fabric ("enterprise style").
    FabricWide,
}

pub fn default_vni_range() -> Range<Vni> {
    Range { first: Vni::new(5000).expect("constant"), last: Vni::new(16_777_215).expect("constant") }
}

pub fn default_vlan_range() -> Range<VlanId> {
    Range { first: VlanId::new(2).expect("constant"), last: VlanId::new(4094).expect("constant") }
}

/// A VXLAN fabric: the pools its networks draw VNIs and VLANs from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricSpec {
    pub name: String,
    #[serde(default = "default_vni_range")]
    pub vni_range: Range<Vni>,
    #[serde(default = "default_vlan_range")]
    pub vlan_range: Range<VlanId>,
    #[serde(default)]
    pub vlan_mode: VlanMode,
}

impl Rules for FabricSpec {
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)
    }
}

// ---------------------------------------------------------------- switch

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchRole {
    #[default]
    Leaf,
    Spine,
    BorderLeaf,
}

/// A top-of-rack switch with a hardware VTEP, reached over OVSDB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    /// Must equal the `Physical_Switch.name` the switch reports.
    pub name: String,
    pub fabric_id: Uuid,
    pub ovsdb: OvsdbTarget,
    pub tunnel_ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_ip: Option<IpAddr>,
    /// Narrows the fabric's VLAN range for this switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_range: Option<Range<VlanId>>,
    #[serde(default)]
    pub role: SwitchRole,
    /// What LLDP and bare-metal `local_link_information.switch_id` call it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis_mac: Option<MacAddr>,
}

impl SwitchSpec {
    /// Identifies the OVSDB endpoint (one database) serving this switch:
    /// switches with the same `ovsdb` target share it; each passive switch
    /// is its own.
    pub fn endpoint_key(&self) -> String {
        match &self.ovsdb {
            OvsdbTarget::Passive => format!("passive:{}", self.name),
            t => t.to_string(),
        }
    }
}

impl Rules for SwitchSpec {
    fn refs(&self) -> Vec<Ref> {
        vec![Ref::new("fabric_id", Kind::Fabric, self.fabric_id)]
    }
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)
    }
}

/// A port of a switch, provisioned by hand or discovered from its
/// `Physical_Port` rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchPortSpec {
    pub switch_id: Uuid,
    pub name: String,
    /// True when the switch reported this port rather than an operator.
    #[serde(default)]
    pub discovered: bool,
}

impl Rules for SwitchPortSpec {
    fn scope(&self) -> Option<Uuid> {
        Some(self.switch_id)
    }
    fn refs(&self) -> Vec<Ref> {
        vec![Ref::new("switch_id", Kind::Switch, self.switch_id)]
    }
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)
    }
}

// ---------------------------------------------------------------- hardware

/// A server hardware model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Rules for HardwareSpec {
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)
    }
}

/// One NIC of a card and the roles it plays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// The NIC name as the server sees it, e.g. `ens1f0`.
    pub name: String,
    /// Roles such as `sriov` or a physical network name like `physnet1`.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A card fitted to one or more hardware models, naming its NICs and roles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSpec {
    pub name: String,
    #[serde(default)]
    pub hardware_ids: Vec<Uuid>,
    #[serde(default)]
    pub interface_map: Vec<Interface>,
}

impl Rules for CardSpec {
    fn refs(&self) -> Vec<Ref> {
        Ref::list("hardware_ids", Kind::Hardware, &self.hardware_ids).collect()
    }
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)?;
        for (i, nic) in self.interface_map.iter().enumerate() {
            check_label(&format!("interface_map[{i}].name"), &nic.name)?;
            for (j, l) in nic.labels.iter().enumerate() {
                check_label(&format!("interface_map[{i}].labels[{j}]"), l)?;
            }
        }
        no_duplicates("interface_map", self.interface_map.iter().map(|n| n.name.as_str()))?;
        let ids: Vec<String> = self.hardware_ids.iter().map(Uuid::to_string).collect();
        no_duplicates("hardware_ids", ids.iter().map(String::as_str))
    }
}

/// A profile shared by servers of the same build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeProfileSpec {
    pub name: String,
    #[serde(default)]
    pub hardware_ids: Vec<Uuid>,
}

impl Rules for NodeProfileSpec {
    fn refs(&self) -> Vec<Ref> {
        Ref::list("hardware_ids", Kind::Hardware, &self.hardware_ids).collect()
    }
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)?;
        let ids: Vec<String> = self.hardware_ids.iter().map(Uuid::to_string).collect();
        no_duplicates("hardware_ids", ids.iter().map(String::as_str))
    }
}

// ---------------------------------------------------------------- node

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeType {
    #[default]
    Compute,
    Baremetal,
}

/// One cabled NIC of a server: which switch port it is plugged into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePort {
    /// NIC name, e.g. `ens1f0`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    pub switch_id: Uuid,
    /// A port name on that switch.
    pub switch_port: String,
}

/// A server and its cabling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_profile_id: Option<Uuid>,
    #[serde(default, rename = "type")]
    pub node_type: NodeType,
    /// Other names orchestrators use for this host (e.g. the Ironic node UUID).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub ports: Vec<NodePort>,
}

impl Rules for NodeSpec {
    fn refs(&self) -> Vec<Ref> {
        let mut r: Vec<Ref> = self.node_profile_id.iter().map(|id| Ref::new("node_profile_id", Kind::NodeProfile, *id)).collect();
        for (i, p) in self.ports.iter().enumerate() {
            r.push(Ref::new(format!("ports[{i}].switch_id"), Kind::Switch, p.switch_id));
        }
        r
    }
    fn check(&self) -> Result<(), ModelError> {
        check_name(&self.name)?;
        for (i, a) in self.aliases.iter().enumerate() {
            check_label(&format!("aliases[{i}]"), a)?;
            if a == &self.name {
                return Err(ModelError::invalid(format!("aliases[{i}]"), "an alias must differ from the node's name"));
            }
        }
        no_duplicates("aliases", self.aliases.iter().map(String::as_str))?;
        for (i, p) in self.ports.iter().enumerate() {
            check_label(&format!("ports[{i}].name"), &p.name)?;
            check_label(&format!("ports[{i}].switch_port"), &p.switch_port)?;
        }
        no_duplicates("ports", self.ports.iter().map(|p| p.name.as_str()))?;
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.ports.iter().enumerate() {
            if !seen.insert((p.switch_id, p.switch_port.as_str())) {
                return Err(ModelError::Invalid(FieldError::new(
                    format!("ports[{i}].switch_port"),
                    format!("switch port {:?} is cabled to two NICs of this node", p.switch_port),
                )));
            }
        }
        Ok(())
    }
}
