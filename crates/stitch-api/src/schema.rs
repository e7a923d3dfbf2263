//! OpenAPI schemas of the wire types. The model crate stays free of utoipa,
//! so these mirror its JSON shape; a test checks each mirror against the
//! real serialization so they cannot drift apart silently.

#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Server-assigned metadata of every stored object.
#[derive(Serialize, ToSchema)]
pub struct Meta {
    #[schema(read_only)]
    id: Uuid,
    #[schema(read_only, format = DateTime)]
    created_at: String,
    #[schema(read_only, format = DateTime)]
    updated_at: String,
}

/// `[first, last]`, inclusive; `first` must not exceed `last`.
#[derive(Serialize)]
pub struct Range(Vec<u32>);

impl utoipa::PartialSchema for Range {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some("`[first, last]`, inclusive; `first` must not exceed `last`"))
            .into()
    }
}

impl ToSchema for Range {
    fn name() -> std::borrow::Cow<'static, str> {
        "Range".into()
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VlanMode {
    PerSwitch,
    FabricWide,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SwitchRole {
    Leaf,
    Spine,
    BorderLeaf,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeType {
    Compute,
    Baremetal,
}

/// A VXLAN fabric: the pools its networks draw VNIs (1-16777215) and VLANs (1-4094) from.
#[derive(Serialize, ToSchema)]
pub struct FabricSpec {
    name: String,
    /// Default [5000, 16777215].
    vni_range: Option<Range>,
    /// Default [2, 4094].
    vlan_range: Option<Range>,
    vlan_mode: Option<VlanMode>,
}

/// A top-of-rack switch with a hardware VTEP.
#[derive(Serialize, ToSchema)]
pub struct SwitchSpec {
    name: String,
    fabric_id: Uuid,
    /// `unix:PATH`, `tcp:IP:PORT`, `ssl:IP:PORT` or `passive`.
    #[schema(example = "tcp:10.0.0.1:6640")]
    ovsdb: String,
    #[schema(format = Ipv4)]
    tunnel_ip: String,
    management_ip: Option<String>,
    vlan_range: Option<Range>,
    role: Option<SwitchRole>,
    #[schema(example = "fa:16:3e:00:00:01")]
    chassis_mac: Option<String>,
}

/// A port of a switch; names are unique per switch.
#[derive(Serialize, ToSchema)]
pub struct SwitchPortSpec {
    switch_id: Uuid,
    name: String,
    discovered: Option<bool>,
}

/// A server hardware model.
#[derive(Serialize, ToSchema)]
pub struct HardwareSpec {
    name: String,
    model: Option<String>,
}

/// One NIC of a card and its roles (e.g. `sriov`, `physnet1`).
#[derive(Serialize, ToSchema)]
pub struct Interface {
    name: String,
    labels: Option<Vec<String>>,
}

/// A card fitted to hardware models.
#[derive(Serialize, ToSchema)]
pub struct CardSpec {
    name: String,
    hardware_ids: Option<Vec<Uuid>>,
    interface_map: Option<Vec<Interface>>,
}

/// A profile shared by servers of the same build.
#[derive(Serialize, ToSchema)]
pub struct NodeProfileSpec {
    name: String,
    hardware_ids: Option<Vec<Uuid>>,
}

/// One cabled NIC of a node.
#[derive(Serialize, ToSchema)]
pub struct NodePort {
    name: String,
    mac: Option<String>,
    switch_id: Uuid,
    switch_port: String,
}

/// A server and its cabling.
#[derive(Serialize, ToSchema)]
pub struct NodeSpec {
    name: String,
    node_profile_id: Option<Uuid>,
    #[serde(rename = "type")]
    node_type: Option<NodeType>,
    aliases: Option<Vec<String>>,
    ports: Option<Vec<NodePort>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllowedFrames {
    All,
    TaggedOnly,
    UntaggedOnly,
}

/// A port profile (802.1Qbg sense): what a VM port may carry and its
/// defaults. Used by a port whose `binding:profile.port_profile` names it
/// (name or id), or by ports of the `networks` it lists.
#[derive(Serialize, ToSchema)]
pub struct PortProfileSpec {
    name: String,
    /// Enforced by which VLAN bindings exist (default `all`).
    allowed_frames: Option<AllowedFrames>,
    /// Subport VLANs a trunk parent may carry (empty: any).
    allowed_vlans: Option<Vec<u16>>,
    /// Given to the compute host in `binding:vif_details.mtu`.
    mtu: Option<u32>,
    /// Security groups of ports that list none.
    security_groups: Option<Vec<Uuid>>,
    /// QoS policy of ports that name none.
    qos_policy_id: Option<Uuid>,
    /// Networks whose ports use this profile by default.
    networks: Option<Vec<Uuid>>,
}

/// A port profile in an apply document (groups, policy and networks by id).
#[derive(Serialize, ToSchema)]
pub struct PortProfileItem {
    #[serde(flatten)]
    spec: PortProfileSpec,
}

macro_rules! objects {
    ($($obj:ident => $spec:ident),*) => {$(
        /// A stored object: metadata plus the spec fields.
        #[derive(Serialize, ToSchema)]
        pub struct $obj {
            #[serde(flatten)]
            meta: Meta,
            #[serde(flatten)]
            spec: $spec,
        }
    )*};
}
objects!(Fabric => FabricSpec, Switch => SwitchSpec, SwitchPort => SwitchPortSpec, Hardware => HardwareSpec,
         Card => CardSpec, NodeProfile => NodeProfileSpec, Node => NodeSpec, PortProfile => PortProfileSpec);

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine string, e.g. `missing_reference`.
    code: String,
    message: String,
    /// The request field the error is about (a path such as `nodes[3].ports[0].switch`).
    field: Option<String>,
}

/// Every error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// One cabled NIC carrying the requested label.
#[derive(Serialize, ToSchema)]
pub struct Link {
    nic: String,
    switch_id: Uuid,
    switch: String,
    switch_port: String,
}

#[derive(Serialize, ToSchema)]
pub struct Links {
    links: Vec<Link>,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: String,
    revision: u64,
}

// ---------------------------------------------------------------- apply document

#[derive(Serialize, ToSchema)]
pub struct FabricItem {
    name: String,
    vni_range: Option<Range>,
    vlan_range: Option<Range>,
    vlan_mode: Option<VlanMode>,
}

/// References (`fabric`) are a name or an id. Absent fields keep their stored value; `null` clears.
#[derive(Serialize, ToSchema)]
pub struct SwitchItem {
    name: String,
    fabric: Option<String>,
    ovsdb: Option<String>,
    tunnel_ip: Option<String>,
    management_ip: Option<String>,
    vlan_range: Option<Range>,
    role: Option<SwitchRole>,
    chassis_mac: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SwitchPortItem {
    switch: String,
    name: String,
    discovered: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct HardwareItem {
    name: String,
    model: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CardItem {
    name: String,
    hardware: Option<Vec<String>>,
    interface_map: Option<Vec<Interface>>,
}

#[derive(Serialize, ToSchema)]
pub struct NodeProfileItem {
    name: String,
    hardware: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct PortItem {
    name: String,
    mac: Option<String>,
    switch: String,
    switch_port: String,
}

/// When `ports` is given, the node's cabling becomes exactly that list.
#[derive(Serialize, ToSchema)]
pub struct NodeItem {
    name: String,
    node_profile: Option<String>,
    #[serde(rename = "type")]
    node_type: Option<NodeType>,
    aliases: Option<Vec<String>>,
    ports: Option<Vec<PortItem>>,
}

/// Objects are matched by name (switch ports by switch and name): existing
/// ones are updated, new ones created, all in one transaction.
#[derive(Serialize, ToSchema)]
pub struct ApplyDocument {
    fabrics: Option<Vec<FabricItem>>,
    switches: Option<Vec<SwitchItem>>,
    switch_ports: Option<Vec<SwitchPortItem>>,
    hardware: Option<Vec<HardwareItem>>,
    cards: Option<Vec<CardItem>>,
    node_profiles: Option<Vec<NodeProfileItem>>,
    nodes: Option<Vec<NodeItem>>,
    port_profiles: Option<Vec<PortProfileItem>>,
}

#[derive(Serialize, ToSchema)]
pub struct Counts {
    created: usize,
    updated: usize,
    unchanged: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ApplyReport {
    revision: u64,
    created: usize,
    updated: usize,
    unchanged: usize,
    /// Per document section with items.
    kinds: std::collections::BTreeMap<String, Counts>,
}
