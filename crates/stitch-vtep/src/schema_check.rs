//! Checking our expectations against the schema a server reports.
//!
//! Every column a typed row reads ([`VtepRow::COLUMNS`]) must exist with a
//! compatible type: same atomic types, same shape (scalar, optional, set,
//! map), same `refTable`, and every enum value we may write must be
//! allowed. The check runs against `get_schema` output before the first
//! plan; a mismatch lists everything that differs at once.

use std::fmt;

use ovsdb::notation::{Atom, AtomicType};
use ovsdb::schema::{BaseType, ColumnType, DatabaseSchema};

use crate::rows::{
    Acl, AclEntry, ArpSource, ColumnSpec, Expect, Global, LogicalBindingStats, LogicalRouter, LogicalSwitch, Manager, McastMac, PhysicalLocator,
    PhysicalLocatorSet, PhysicalPort, PhysicalSwitch, Tunnel, UcastMac, VtepRow,
};
use crate::table::Table;

/// The schema name we speak.
pub const DATABASE: &str = "hardware_vtep";

/// Where Debian's `openvswitch-vtep` installs the `hardware_vtep` schema.
/// Stitch itself always uses the schema the switch reports; this file is
/// for tests and simulations that have no server to ask.
pub const INSTALLED_SCHEMA_PATH: &str = "/usr/share/openvswitch/vtep.ovsschema";

/// The installed `hardware_vtep` schema (see [`INSTALLED_SCHEMA_PATH`]).
pub fn installed_schema() -> Result<DatabaseSchema, String> {
    let text = std::fs::read_to_string(INSTALLED_SCHEMA_PATH).map_err(|e| format!("{INSTALLED_SCHEMA_PATH}: {e} (apt-get install openvswitch-vtep)"))?;
    text.parse().map_err(|e| format!("{INSTALLED_SCHEMA_PATH}: {e}"))
}

/// The columns our row type for `table` reads.
pub fn expected_columns(table: Table) -> &'static [ColumnSpec] {
    match table {
        Table::Global => Global::COLUMNS,
        Table::Manager => Manager::COLUMNS,
        Table::PhysicalSwitch => PhysicalSwitch::COLUMNS,
        Table::PhysicalPort => PhysicalPort::COLUMNS,
        Table::Tunnel => Tunnel::COLUMNS,
        Table::LogicalSwitch => LogicalSwitch::COLUMNS,
        Table::LogicalBindingStats => LogicalBindingStats::COLUMNS,
        Table::LogicalRouter => LogicalRouter::COLUMNS,
        Table::UcastMacsLocal | Table::UcastMacsRemote => UcastMac::COLUMNS,
        Table::McastMacsLocal | Table::McastMacsRemote => McastMac::COLUMNS,
        Table::ArpSourcesLocal | Table::ArpSourcesRemote => ArpSource::COLUMNS,
        Table::PhysicalLocator => PhysicalLocator::COLUMNS,
        Table::PhysicalLocatorSet => PhysicalLocatorSet::COLUMNS,
        Table::Acl => Acl::COLUMNS,
        Table::AclEntry => AclEntry::COLUMNS,
    }
}

/// One difference between what we expect and what the server has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaMismatch {
    /// The database is not `hardware_vtep`.
    WrongDatabase {
        /// The name the schema gives.
        found: String,
    },
    /// A table we use is missing.
    MissingTable {
        /// Table.
        table: Table,
    },
    /// A column we use is missing.
    MissingColumn {
        /// Table.
        table: Table,
        /// Column.
        column: &'static str,
    },
    /// A column has a type we cannot read or write.
    WrongType {
        /// Table.
        table: Table,
        /// Column.
        column: &'static str,
        /// What we expect.
        expected: String,
        /// What the schema says.
        found: String,
    },
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaMismatch::WrongDatabase { found } => {
                write!(f, "database is {found:?}, expected {DATABASE:?}")
            }
            SchemaMismatch::MissingTable { table } => write!(f, "table {table} is missing"),
            SchemaMismatch::MissingColumn { table, column } => {
                write!(f, "column {table}.{column} is missing")
            }
            SchemaMismatch::WrongType { table, column, expected, found } => {
                write!(f, "column {table}.{column} is {found}, expected {expected}")
            }
        }
    }
}

/// The server's schema is not one we can work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incompatible {DATABASE} schema (version {}): {}", .version.as_deref().unwrap_or("unknown"),
    .mismatches.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SchemaCheckError {
    /// The schema's version, if it gave one.
    pub version: Option<String>,
    /// Every mismatch found (never empty).
    pub mismatches: Vec<SchemaMismatch>,
}

/// Checks that every table and column we use exists in `schema` with a
/// compatible type.
pub fn check_schema(schema: &DatabaseSchema) -> Result<(), SchemaCheckError> {
    let mut mismatches = Vec::new();
    if schema.name != DATABASE {
        mismatches.push(SchemaMismatch::WrongDatabase { found: schema.name.clone() });
    }
    for table in Table::ALL {
        let Some(ts) = schema.table(table.name()) else {
            mismatches.push(SchemaMismatch::MissingTable { table });
            continue;
        };
        for spec in expected_columns(table) {
            match ts.columns.get(spec.name) {
                None => mismatches.push(SchemaMismatch::MissingColumn { table, column: spec.name }),
                Some(c) => {
                    if let Err(found) = compatible(&spec.expect, &c.type_) {
                        mismatches.push(SchemaMismatch::WrongType { table, column: spec.name, expected: describe(&spec.expect), found });
                    }
                }
            }
        }
    }
    if mismatches.is_empty() { Ok(()) } else { Err(SchemaCheckError { version: schema.version.clone(), mismatches }) }
}

fn describe(e: &Expect) -> String {
    match e {
        Expect::Scalar(t) => format!("one {t}"),
        Expect::Optional(t) => format!("an optional {t}"),
        Expect::Set(t) => format!("a set of {t}"),
        Expect::Map(k, v) => format!("a map of {k} to {v}"),
        Expect::Ref(t) => format!("one reference to {t}"),
        Expect::RefSet(t) => format!("a set of references to {t}"),
        Expect::RefMap(k, t) => format!("a map of {k} to references to {t}"),
        Expect::Enum(v) => format!("one string allowing {v:?}"),
        Expect::OptionalEnum(v) => format!("an optional string allowing {v:?}"),
    }
}

fn describe_type(t: &ColumnType) -> String {
    let base = |b: &BaseType| match &b.ref_table {
        Some(r) => format!("{} (refTable {r})", b.atomic_type()),
        None => b.atomic_type().to_string(),
    };
    let max = t.max.map_or("unlimited".to_owned(), |m| m.to_string());
    match &t.value {
        Some(v) => format!("a map of {} to {} [{}..{max}]", base(&t.key), base(v), t.min),
        None => format!("{} [{}..{max}]", base(&t.key), t.min),
    }
}

/// `Ok` when a column of type `t` can hold what `e` reads and writes;
/// otherwise a description of `t`.
fn compatible(e: &Expect, t: &ColumnType) -> Result<(), String> {
    let atomic = |b: &BaseType, want: AtomicType| b.atomic_type() == want;
    let refs = |b: &BaseType, table: Table| b.atomic_type() == AtomicType::Uuid && b.ref_table.as_deref() == Some(table.name());
    let is_set = !t.is_map() && !t.is_scalar() && t.max != Some(1);
    let is_optional = !t.is_map() && t.min == 0 && t.max == Some(1);
    let enum_allows = |vals: &[&str]| t.key.enum_.as_ref().is_none_or(|allowed| vals.iter().all(|v| allowed.contains(&Atom::string(*v))));
    let ok = match e {
        Expect::Scalar(a) => t.is_scalar() && atomic(&t.key, *a),
        Expect::Optional(a) => is_optional && atomic(&t.key, *a),
        Expect::Set(a) => is_set && atomic(&t.key, *a),
        Expect::Map(k, v) => t.value.as_ref().is_some_and(|vt| atomic(&t.key, *k) && atomic(vt, *v)),
        Expect::Ref(table) => t.is_scalar() && refs(&t.key, *table),
        Expect::RefSet(table) => is_set && refs(&t.key, *table),
        Expect::RefMap(k, table) => t.value.as_ref().is_some_and(|vt| atomic(&t.key, *k) && refs(vt, *table)),
        Expect::Enum(vals) => t.is_scalar() && atomic(&t.key, AtomicType::String) && enum_allows(vals),
        Expect::OptionalEnum(vals) => is_optional && atomic(&t.key, AtomicType::String) && enum_allows(vals),
    };
    if ok { Ok(()) } else { Err(describe_type(t)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_schema_passes() {
        let s = installed_schema().unwrap();
        assert_eq!(s.version.as_deref(), Some("1.7.0"));
        check_schema(&s).unwrap();
    }

    #[test]
    fn mismatches_are_all_listed() {
        let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(INSTALLED_SCHEMA_PATH).unwrap()).unwrap();
        let tables = json["tables"].as_object_mut().unwrap();
        tables.remove("Arp_Sources_Local");
        let ls = tables["Logical_Switch"]["columns"].as_object_mut().unwrap();
        ls.remove("tunnel_key");
        ls["description"]["type"] = serde_json::json!({"key": "integer"});
        ls["replication_mode"]["type"]["key"]["enum"] = serde_json::json!("service_node");
        tables["Physical_Port"]["columns"]["vlan_bindings"]["type"]["value"]["refTable"] = serde_json::json!("ACL");
        let schema = DatabaseSchema::from_json(&json).unwrap();
        let err = check_schema(&schema).unwrap_err();
        assert_eq!(err.version.as_deref(), Some("1.7.0"));
        let got: Vec<String> = err.mismatches.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "column Physical_Port.vlan_bindings is a map of integer to uuid (refTable ACL) [0..unlimited], \
                 expected a map of integer to references to Logical_Switch",
                "column Logical_Switch.description is integer [1..1], expected one string",
                "column Logical_Switch.tunnel_key is missing",
                "column Logical_Switch.replication_mode is string [0..1], \
                 expected an optional string allowing [\"service_node\", \"source_node\"]",
                "table Arp_Sources_Local is missing",
            ]
        );
        assert!(err.to_string().starts_with("incompatible hardware_vtep schema (version 1.7.0): "));
    }
}
