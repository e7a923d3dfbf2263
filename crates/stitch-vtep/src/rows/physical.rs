//! Tables the switch owns: `Global`, `Manager`, `Physical_Switch`,
//! `Physical_Port`, `Tunnel`, `Logical_Binding_Stats`.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::notation::{AtomicType as A, Row, Value};
use stitch_model::VecMap;
use uuid::Uuid;

use super::{ColumnSpec, Expect as E, Reader, RowError, VtepRow, col, enc};
use crate::table::Table;

/// `Global`: the single root row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Global {
    /// Row UUID.
    pub uuid: Uuid,
    /// `managers`.
    pub managers: BTreeSet<Uuid>,
    /// `switches`.
    pub switches: BTreeSet<Uuid>,
    /// `other_config`.
    pub other_config: VecMap<String, String>,
}

impl VtepRow for Global {
    const TABLE: Table = Table::Global;
    const COLUMNS: &'static [ColumnSpec] =
        &[col("managers", E::RefSet(Table::Manager)), col("switches", E::RefSet(Table::PhysicalSwitch)), col("other_config", E::Map(A::String, A::String))];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(Global { uuid, managers: r.uuid_set("managers")?, switches: r.uuid_set("switches")?, other_config: r.string_map("other_config")? })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("managers", enc::uuid_set(&self.managers))
            .with("switches", enc::uuid_set(&self.switches))
            .with("other_config", enc::string_map(&self.other_config))
    }
}

/// `Manager`: an OVSDB manager the switch connects to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manager {
    /// Row UUID.
    pub uuid: Uuid,
    /// `target`, e.g. `ssl:10.0.0.5:6640`.
    pub target: String,
    /// `max_backoff` (ms).
    pub max_backoff: Option<i64>,
    /// `inactivity_probe` (ms).
    pub inactivity_probe: Option<i64>,
    /// `other_config`.
    pub other_config: VecMap<String, String>,
    /// `is_connected` (ephemeral).
    pub is_connected: bool,
    /// `status` (ephemeral).
    pub status: VecMap<String, String>,
}

impl VtepRow for Manager {
    const TABLE: Table = Table::Manager;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("target", E::Scalar(A::String)),
        col("max_backoff", E::Optional(A::Integer)),
        col("inactivity_probe", E::Optional(A::Integer)),
        col("other_config", E::Map(A::String, A::String)),
        col("is_connected", E::Scalar(A::Boolean)),
        col("status", E::Map(A::String, A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(Manager {
            uuid,
            target: r.string("target")?,
            max_backoff: r.opt_integer("max_backoff")?,
            inactivity_probe: r.opt_integer("inactivity_probe")?,
            other_config: r.string_map("other_config")?,
            is_connected: r.boolean("is_connected")?,
            status: r.string_map("status")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("target", self.target.as_str())
            .with("max_backoff", enc::opt_integer(self.max_backoff))
            .with("inactivity_probe", enc::opt_integer(self.inactivity_probe))
            .with("other_config", enc::string_map(&self.other_config))
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("is_connected", self.is_connected).with("status", enc::string_map(&self.status))
    }
}

/// `Physical_Switch`: one switch (an OVSDB endpoint may hold several).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhysicalSwitch {
    /// Row UUID.
    pub uuid: Uuid,
    /// `name` (unique).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `management_ips`.
    pub management_ips: BTreeSet<String>,
    /// `tunnel_ips`: the switch's own VTEP addresses.
    pub tunnel_ips: BTreeSet<String>,
    /// `ports`.
    pub ports: BTreeSet<Uuid>,
    /// `tunnels`.
    pub tunnels: BTreeSet<Uuid>,
    /// `other_config`.
    pub other_config: VecMap<String, String>,
    /// `switch_fault_status` (ephemeral).
    pub switch_fault_status: BTreeSet<String>,
}

impl VtepRow for PhysicalSwitch {
    const TABLE: Table = Table::PhysicalSwitch;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("name", E::Scalar(A::String)),
        col("description", E::Scalar(A::String)),
        col("management_ips", E::Set(A::String)),
        col("tunnel_ips", E::Set(A::String)),
        col("ports", E::RefSet(Table::PhysicalPort)),
        col("tunnels", E::RefSet(Table::Tunnel)),
        col("other_config", E::Map(A::String, A::String)),
        col("switch_fault_status", E::Set(A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(PhysicalSwitch {
            uuid,
            name: r.string("name")?,
            description: r.string("description")?,
            management_ips: r.string_set("management_ips")?,
            tunnel_ips: r.string_set("tunnel_ips")?,
            ports: r.uuid_set("ports")?,
            tunnels: r.uuid_set("tunnels")?,
            other_config: r.string_map("other_config")?,
            switch_fault_status: r.string_set("switch_fault_status")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("name", self.name.as_str())
            .with("description", self.description.as_str())
            .with("management_ips", enc::string_set(&self.management_ips))
            .with("tunnel_ips", enc::string_set(&self.tunnel_ips))
            .with("ports", enc::uuid_set(&self.ports))
            .with("tunnels", enc::uuid_set(&self.tunnels))
            .with("other_config", enc::string_map(&self.other_config))
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("switch_fault_status", enc::string_set(&self.switch_fault_status))
    }
}

/// `Physical_Port`: a port of a switch, with its VLAN → logical switch
/// bindings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhysicalPort {
    /// Row UUID.
    pub uuid: Uuid,
    /// `name` (unique per switch, not per database).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `vlan_bindings`: VLAN (0 = untagged) → `Logical_Switch`.
    pub vlan_bindings: BTreeMap<u16, Uuid>,
    /// `acl_bindings`: VLAN → `ACL`.
    pub acl_bindings: BTreeMap<u16, Uuid>,
    /// `vlan_stats` (ephemeral): VLAN → `Logical_Binding_Stats`.
    pub vlan_stats: BTreeMap<u16, Uuid>,
    /// `other_config`.
    pub other_config: VecMap<String, String>,
    /// `port_fault_status` (ephemeral).
    pub port_fault_status: BTreeSet<String>,
}

impl VtepRow for PhysicalPort {
    const TABLE: Table = Table::PhysicalPort;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("name", E::Scalar(A::String)),
        col("description", E::Scalar(A::String)),
        col("vlan_bindings", E::RefMap(A::Integer, Table::LogicalSwitch)),
        col("acl_bindings", E::RefMap(A::Integer, Table::Acl)),
        col("vlan_stats", E::RefMap(A::Integer, Table::LogicalBindingStats)),
        col("other_config", E::Map(A::String, A::String)),
        col("port_fault_status", E::Set(A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(PhysicalPort {
            uuid,
            name: r.string("name")?,
            description: r.string("description")?,
            vlan_bindings: r.vlan_uuid_map("vlan_bindings")?,
            acl_bindings: r.vlan_uuid_map("acl_bindings")?,
            vlan_stats: r.vlan_uuid_map("vlan_stats")?,
            other_config: r.string_map("other_config")?,
            port_fault_status: r.string_set("port_fault_status")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("name", self.name.as_str())
            .with("description", self.description.as_str())
            .with("vlan_bindings", enc::vlan_uuid_map(&self.vlan_bindings))
            .with("acl_bindings", enc::vlan_uuid_map(&self.acl_bindings))
            .with("other_config", enc::string_map(&self.other_config))
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("vlan_stats", enc::vlan_uuid_map(&self.vlan_stats)).with("port_fault_status", enc::string_set(&self.port_fault_status))
    }
}

/// `Tunnel`: BFD state of a tunnel between two locators.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tunnel {
    /// Row UUID.
    pub uuid: Uuid,
    /// `local` locator.
    pub local: Uuid,
    /// `remote` locator.
    pub remote: Uuid,
    /// `bfd_config_local`.
    pub bfd_config_local: VecMap<String, String>,
    /// `bfd_config_remote`.
    pub bfd_config_remote: VecMap<String, String>,
    /// `bfd_params`.
    pub bfd_params: VecMap<String, String>,
    /// `bfd_status` (ephemeral).
    pub bfd_status: VecMap<String, String>,
}

impl VtepRow for Tunnel {
    const TABLE: Table = Table::Tunnel;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("local", E::Ref(Table::PhysicalLocator)),
        col("remote", E::Ref(Table::PhysicalLocator)),
        col("bfd_config_local", E::Map(A::String, A::String)),
        col("bfd_config_remote", E::Map(A::String, A::String)),
        col("bfd_params", E::Map(A::String, A::String)),
        col("bfd_status", E::Map(A::String, A::String)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(Tunnel {
            uuid,
            local: r.uuid("local")?,
            remote: r.uuid("remote")?,
            bfd_config_local: r.string_map("bfd_config_local")?,
            bfd_config_remote: r.string_map("bfd_config_remote")?,
            bfd_params: r.string_map("bfd_params")?,
            bfd_status: r.string_map("bfd_status")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
            .with("local", Value::uuid(self.local))
            .with("remote", Value::uuid(self.remote))
            .with("bfd_config_local", enc::string_map(&self.bfd_config_local))
            .with("bfd_config_remote", enc::string_map(&self.bfd_config_remote))
            .with("bfd_params", enc::string_map(&self.bfd_params))
    }
    fn encode_observed(&self) -> Row {
        self.encode().with("bfd_status", enc::string_map(&self.bfd_status))
    }
}

/// `Logical_Binding_Stats` (all columns ephemeral; written by the switch).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogicalBindingStats {
    /// Row UUID.
    pub uuid: Uuid,
    /// `bytes_from_local`.
    pub bytes_from_local: i64,
    /// `packets_from_local`.
    pub packets_from_local: i64,
    /// `bytes_to_local`.
    pub bytes_to_local: i64,
    /// `packets_to_local`.
    pub packets_to_local: i64,
}

impl VtepRow for LogicalBindingStats {
    const TABLE: Table = Table::LogicalBindingStats;
    const COLUMNS: &'static [ColumnSpec] = &[
        col("bytes_from_local", E::Scalar(A::Integer)),
        col("packets_from_local", E::Scalar(A::Integer)),
        col("bytes_to_local", E::Scalar(A::Integer)),
        col("packets_to_local", E::Scalar(A::Integer)),
    ];
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError> {
        let r = Reader::new(table, uuid, row);
        Ok(LogicalBindingStats {
            uuid,
            bytes_from_local: r.integer("bytes_from_local")?,
            packets_from_local: r.integer("packets_from_local")?,
            bytes_to_local: r.integer("bytes_to_local")?,
            packets_to_local: r.integer("packets_to_local")?,
        })
    }
    fn encode(&self) -> Row {
        Row::new()
    }
    fn encode_observed(&self) -> Row {
        Row::new()
            .with("bytes_from_local", self.bytes_from_local)
            .with("packets_from_local", self.packets_from_local)
            .with("bytes_to_local", self.bytes_to_local)
            .with("packets_to_local", self.packets_to_local)
    }
}
