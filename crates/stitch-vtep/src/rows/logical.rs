//! Logical tables: `Logical_Switch`, `Logical_Router`, the MAC tables,
//! ARP sources, locators and locator sets, ACLs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ovsdb::notation::{Atom, AtomicType as A, Row, Value};
use smol_str::SmolStr;
use stitch_model::VecMap;
use uuid::Uuid;

use super::{ColumnSpec, Expect as E, Reader, RowError, VtepRow, col, enc};
use crate::table::Table;

/// `Logical_Switch.replication_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplicationMode {
    /// `service_node`: BUM traffic goes to a replication service node.
    ServiceNode,
    /// `source_node`: the switch replicates to every flood-list member.
    SourceNode,
}

impl ReplicationMode {
    /// Every value, as the schema spells it.
    pub const VALUES: &'static [&'static str] = &["service_node", "source_node"];

    /// The schema spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicationMode::ServiceNode => "service_node",
            ReplicationMode::SourceNode => "source_node",
        }
    }

    /// Parses the schema spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "service_node" => Some(ReplicationMode::ServiceNode),
            "source_node" => Some(ReplicationMode::SourceNode),
            _ => None,
        }
    }
}

impl fmt::Display for ReplicationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Logical_Switch`: one L2 domain (a network), identified by its VNI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogicalSwitch {
    /// Row UUID.
    pub uuid: Uuid,
    /// `name` (unique).
    pub name: String,
    /// `description` (inline when short, as Stitch's is).
    pub description: SmolStr,
    /// `tunnel_key`: the VNI.
    pub tunnel_key: Option<i64>,
    /// `replication_mode`.
    pub replication_mode: Option<ReplicationMode>,
    /// `other_config` (keys and values inline when short, as Stitch's
    /// owner marker is: a leaf holds a row per network).
    pub other_config: VecMap<SmolStr, SmolStr>,
}

impl VtepRow for LogicalSwitch {
    const TABLE: Table = Table::LogicalSwitch;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("name", E::Scalar(A::String)),
        col("description", E::Scalar(A::String)),
        col("tunnel_key", E::Optional(A::Integer)),
        col("replication_mode", E::OptionalEnum(ReplicationMode::VALUES)),
        col("other_config", E::Map(A::String, A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(LogicalSwitch {
            uuid,
            name: r.string("name")?,
            description: r.small_string("description")?,
            tunnel_key: r.opt_integer("tunnel_key")?,
            replication_mode: r.parsed("replication_mode", ReplicationMode::parse)?,
            other_config: r.string_map("other_config")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("name", self.name.as_str())
            .with("description", self.description.as_str())
            .with("tunnel_key", enc::opt_integer(self.tunnel_key))
            .with("replication_mode", replication_mode_value(self.replication_mode))
            .with("other_config", enc::string_map(&self.other_config))
    }
}

/// The `replication_mode` column's value.
pub(crate) fn replication_mode_value(m: Option<ReplicationMode>) -> Value {
    Value::set(m.map(|m| Atom::string(m.as_str())))
}

/// `Logical_Router`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogicalRouter {
    /// Row UUID.
    pub uuid: Uuid,
    /// `name` (unique).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `switch_binding`: IP prefix → `Logical_Switch`.
    pub switch_binding: BTreeMap<String, Uuid>,
    /// `static_routes`.
    pub static_routes: VecMap<String, String>,
    /// `acl_binding`: IP prefix → `ACL`.
    pub acl_binding: BTreeMap<String, Uuid>,
    /// `other_config`.
    pub other_config: VecMap<String, String>,
    /// `LR_fault_status` (ephemeral).
    pub lr_fault_status: BTreeSet<String>,
}

impl VtepRow for LogicalRouter {
    const TABLE: Table = Table::LogicalRouter;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("name", E::Scalar(A::String)),
        col("description", E::Scalar(A::String)),
        col("switch_binding", E::RefMap(A::String, Table::LogicalSwitch)),
        col("static_routes", E::Map(A::String, A::String)),
        col("acl_binding", E::RefMap(A::String, Table::Acl)),
        col("other_config", E::Map(A::String, A::String)),
        col("LR_fault_status", E::Set(A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(LogicalRouter {
            uuid,
            name: r.string("name")?,
            description: r.string("description")?,
            switch_binding: r.string_uuid_map("switch_binding")?,
            static_routes: r.string_map("static_routes")?,
            acl_binding: r.string_uuid_map("acl_binding")?,
            other_config: r.string_map("other_config")?,
            lr_fault_status: r.string_set("LR_fault_status")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("name", self.name.as_str())
            .with("description", self.description.as_str())
            .with("switch_binding", enc::string_uuid_map(&self.switch_binding))
            .with("static_routes", enc::string_map(&self.static_routes))
            .with("acl_binding", enc::string_uuid_map(&self.acl_binding))
            .with("other_config", enc::string_map(&self.other_config))
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("LR_fault_status", enc::string_set(&self.lr_fault_status))
    }
}

/// A row of `Ucast_Macs_Local` or `Ucast_Macs_Remote` (same columns).
///
/// The strings are [`SmolStr`]: a MAC (17 bytes) and most IP addresses
/// are kept inline, with no allocation of their own. There is one of these
/// per remote MAC per switch: 200,000 rows at 100k ports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UcastMac {
    /// Row UUID.
    pub uuid: Uuid,
    /// `MAC`, as written (case is not normalized here).
    pub mac: SmolStr,
    /// `logical_switch`.
    pub logical_switch: Uuid,
    /// `locator`.
    pub locator: Uuid,
    /// `ipaddr` (may be empty).
    pub ipaddr: SmolStr,
}

impl VtepRow for UcastMac {
    const TABLE: Table = Table::UcastMacsRemote;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("MAC", E::Scalar(A::String)),
        col("logical_switch", E::Ref(Table::LogicalSwitch)),
        col("locator", E::Ref(Table::PhysicalLocator)),
        col("ipaddr", E::Scalar(A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(UcastMac {
            uuid,
            mac: r.small_string("MAC")?,
            logical_switch: r.uuid("logical_switch")?,
            locator: r.uuid("locator")?,
            ipaddr: r.small_string("ipaddr")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("MAC", self.mac.as_str())
            .with("logical_switch", Value::uuid(self.logical_switch))
            .with("locator", Value::uuid(self.locator))
            .with("ipaddr", self.ipaddr.as_str())
    }
}

/// A row of `Mcast_Macs_Local` or `Mcast_Macs_Remote` (same columns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct McastMac {
    /// Row UUID.
    pub uuid: Uuid,
    /// `MAC`: a multicast MAC or `unknown-dst`.
    pub mac: SmolStr,
    /// `logical_switch`.
    pub logical_switch: Uuid,
    /// `locator_set`.
    pub locator_set: Uuid,
    /// `ipaddr` (may be empty).
    pub ipaddr: SmolStr,
}

impl VtepRow for McastMac {
    const TABLE: Table = Table::McastMacsRemote;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("MAC", E::Scalar(A::String)),
        col("logical_switch", E::Ref(Table::LogicalSwitch)),
        col("locator_set", E::Ref(Table::PhysicalLocatorSet)),
        col("ipaddr", E::Scalar(A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(McastMac {
            uuid,
            mac: r.small_string("MAC")?,
            logical_switch: r.uuid("logical_switch")?,
            locator_set: r.uuid("locator_set")?,
            ipaddr: r.small_string("ipaddr")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("MAC", self.mac.as_str())
            .with("logical_switch", Value::uuid(self.logical_switch))
            .with("locator_set", Value::uuid(self.locator_set))
            .with("ipaddr", self.ipaddr.as_str())
    }
}

/// A row of `Arp_Sources_Local` or `Arp_Sources_Remote`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArpSource {
    /// Row UUID.
    pub uuid: Uuid,
    /// `src_mac`.
    pub src_mac: String,
    /// `locator`.
    pub locator: Uuid,
}

impl VtepRow for ArpSource {
    const TABLE: Table = Table::ArpSourcesRemote;
    const COLUMNS: &'static [ColumnSpec] = &[col("src_mac", E::Scalar(A::String)), col("locator", E::Ref(Table::PhysicalLocator))];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(ArpSource { uuid, src_mac: r.string("src_mac")?, locator: r.uuid("locator")? })
    }
    fn encode(&self) -> Row {
        Row::new().with("src_mac", self.src_mac.as_str()).with("locator", Value::uuid(self.locator))
    }
}

/// `Physical_Locator`: a tunnel endpoint. Shared by everyone who points
/// at the same `(encapsulation_type, dst_ip, tunnel_key)`; its columns
/// (except `tunnel_key`) are immutable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhysicalLocator {
    /// Row UUID.
    pub uuid: Uuid,
    /// `encapsulation_type` (only `vxlan_over_ipv4` in 1.7.0).
    pub encapsulation_type: String,
    /// `dst_ip`.
    pub dst_ip: String,
    /// `tunnel_key`.
    pub tunnel_key: Option<i64>,
}

/// The only encapsulation of `hardware_vtep` 1.7.0.
pub const VXLAN_OVER_IPV4: &str = "vxlan_over_ipv4";

impl VtepRow for PhysicalLocator {
    const TABLE: Table = Table::PhysicalLocator;
    const COLUMNS: &'static [ColumnSpec] =
        &[col("encapsulation_type", E::Enum(&[VXLAN_OVER_IPV4])), col("dst_ip", E::Scalar(A::String)), col("tunnel_key", E::Optional(A::Integer))];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(PhysicalLocator { uuid, encapsulation_type: r.string("encapsulation_type")?, dst_ip: r.string("dst_ip")?, tunnel_key: r.opt_integer("tunnel_key")? })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("encapsulation_type", self.encapsulation_type.as_str())
            .with("dst_ip", self.dst_ip.as_str())
            .with("tunnel_key", enc::opt_integer(self.tunnel_key))
    }
}

/// `Physical_Locator_Set`: an immutable, non-empty set of locators.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhysicalLocatorSet {
    /// Row UUID.
    pub uuid: Uuid,
    /// `locators`.
    pub locators: BTreeSet<Uuid>,
}

impl VtepRow for PhysicalLocatorSet {
    const TABLE: Table = Table::PhysicalLocatorSet;
    const COLUMNS: &'static [ColumnSpec] = &[col("locators", E::RefSet(Table::PhysicalLocator))];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(PhysicalLocatorSet { uuid, locators: r.uuid_set("locators")? })
    }
    fn encode(&self) -> Row {
        Row::new().with("locators", enc::uuid_set(&self.locators))
    }
}

/// `ACL`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    /// Row UUID.
    pub uuid: Uuid,
    /// `acl_name` (unique).
    pub acl_name: String,
    /// `acl_entries`.
    pub acl_entries: BTreeSet<Uuid>,
    /// `acl_fault_status` (ephemeral).
    pub acl_fault_status: BTreeSet<String>,
}

impl VtepRow for Acl {
    const TABLE: Table = Table::Acl;
    const COLUMNS: &'static [ColumnSpec] =
        &[col("acl_name", E::Scalar(A::String)), col("acl_entries", E::RefSet(Table::AclEntry)), col("acl_fault_status", E::Set(A::String))];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(Acl { uuid, acl_name: r.string("acl_name")?, acl_entries: r.uuid_set("acl_entries")?, acl_fault_status: r.string_set("acl_fault_status")? })
    }
    fn encode(&self) -> Row {
        Row::new().with("acl_name", self.acl_name.as_str()).with("acl_entries", enc::uuid_set(&self.acl_entries))
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("acl_fault_status", enc::string_set(&self.acl_fault_status))
    }
}

/// `ACL_entry`: one match/action rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AclEntry {
    /// Row UUID.
    pub uuid: Uuid,
    /// `sequence`.
    pub sequence: i64,
    /// `source_mac`.
    pub source_mac: Option<String>,
    /// `dest_mac`.
    pub dest_mac: Option<String>,
    /// `ethertype`.
    pub ethertype: Option<String>,
    /// `source_ip`.
    pub source_ip: Option<String>,
    /// `source_mask`.
    pub source_mask: Option<String>,
    /// `dest_ip`.
    pub dest_ip: Option<String>,
    /// `dest_mask`.
    pub dest_mask: Option<String>,
    /// `protocol`.
    pub protocol: Option<i64>,
    /// `source_port_min`.
    pub source_port_min: Option<i64>,
    /// `source_port_max`.
    pub source_port_max: Option<i64>,
    /// `dest_port_min`.
    pub dest_port_min: Option<i64>,
    /// `dest_port_max`.
    pub dest_port_max: Option<i64>,
    /// `tcp_flags`.
    pub tcp_flags: Option<i64>,
    /// `tcp_flags_mask`.
    pub tcp_flags_mask: Option<i64>,
    /// `icmp_code`.
    pub icmp_code: Option<i64>,
    /// `icmp_type`.
    pub icmp_type: Option<i64>,
    /// `direction`: `ingress` or `egress`.
    pub direction: String,
    /// `action`: `permit` or `deny`.
    pub action: String,
    /// `acle_fault_status` (ephemeral).
    pub acle_fault_status: BTreeSet<String>,
}

const ACL_OPT_STRINGS: [&str; 7] = ["source_mac", "dest_mac", "ethertype", "source_ip", "source_mask", "dest_ip", "dest_mask"];
const ACL_OPT_INTS: [&str; 9] =
    ["protocol", "source_port_min", "source_port_max", "dest_port_min", "dest_port_max", "tcp_flags", "tcp_flags_mask", "icmp_code", "icmp_type"];

impl AclEntry {
    /// What the entry matches and does, without its identity (`uuid`)
    /// or the switch's fault status: two entries with the same content
    /// are the same rule.
    pub fn content(&self) -> AclEntry {
        AclEntry { uuid: Uuid::nil(), acle_fault_status: BTreeSet::new(), ..self.clone() }
    }

    fn opt_strings(&self) -> [&Option<String>; 7] {
        [&self.source_mac, &self.dest_mac, &self.ethertype, &self.source_ip, &self.source_mask, &self.dest_ip, &self.dest_mask]
    }

    fn opt_ints(&self) -> [Option<i64>; 9] {
        [
            self.protocol,
            self.source_port_min,
            self.source_port_max,
            self.dest_port_min,
            self.dest_port_max,
            self.tcp_flags,
            self.tcp_flags_mask,
            self.icmp_code,
            self.icmp_type,
        ]
    }
}

impl VtepRow for AclEntry {
    const TABLE: Table = Table::AclEntry;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("sequence", E::Scalar(A::Integer)),
        col("source_mac", E::Optional(A::String)),
        col("dest_mac", E::Optional(A::String)),
        col("ethertype", E::Optional(A::String)),
        col("source_ip", E::Optional(A::String)),
        col("source_mask", E::Optional(A::String)),
        col("dest_ip", E::Optional(A::String)),
        col("dest_mask", E::Optional(A::String)),
        col("protocol", E::Optional(A::Integer)),
        col("source_port_min", E::Optional(A::Integer)),
        col("source_port_max", E::Optional(A::Integer)),
        col("dest_port_min", E::Optional(A::Integer)),
        col("dest_port_max", E::Optional(A::Integer)),
        col("tcp_flags", E::Optional(A::Integer)),
        col("tcp_flags_mask", E::Optional(A::Integer)),
        col("icmp_code", E::Optional(A::Integer)),
        col("icmp_type", E::Optional(A::Integer)),
        col("direction", E::Enum(&["ingress", "egress"])),
        col("action", E::Enum(&["permit", "deny"])),
        col("acle_fault_status", E::Set(A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        let s = |c| r.opt_string(c);
        let i = |c| r.opt_integer(c);
        Ok(AclEntry {
            uuid,
            sequence: r.integer("sequence")?,
            source_mac: s("source_mac")?,
            dest_mac: s("dest_mac")?,
            ethertype: s("ethertype")?,
            source_ip: s("source_ip")?,
            source_mask: s("source_mask")?,
            dest_ip: s("dest_ip")?,
            dest_mask: s("dest_mask")?,
            protocol: i("protocol")?,
            source_port_min: i("source_port_min")?,
            source_port_max: i("source_port_max")?,
            dest_port_min: i("dest_port_min")?,
            dest_port_max: i("dest_port_max")?,
            tcp_flags: i("tcp_flags")?,
            tcp_flags_mask: i("tcp_flags_mask")?,
            icmp_code: i("icmp_code")?,
            icmp_type: i("icmp_type")?,
            direction: r.string("direction")?,
            action: r.string("action")?,
            acle_fault_status: r.string_set("acle_fault_status")?,
        })
    }
    fn encode(&self) -> Row {
        let mut row = Row::new().with("sequence", self.sequence).with("direction", self.direction.as_str()).with("action", self.action.as_str());
        for (c, v) in ACL_OPT_STRINGS.iter().zip(self.opt_strings()) {
            row.insert(*c, enc::opt_string(v));
        }
        for (c, v) in ACL_OPT_INTS.iter().zip(self.opt_ints()) {
            row.insert(*c, enc::opt_integer(v));
        }
        row
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("acle_fault_status", enc::string_set(&self.acle_fault_status))
    }
}
