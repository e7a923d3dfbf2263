//! Typed rows of every `hardware_vtep` table, with conversion from and to
//! [`ovsdb::notation::Row`].
//!
//! Decoding is lenient about *absent* columns (they take the column's
//! default, as a monitor of a column subset or an older server would
//! leave them) and strict about *present* ones: a value of the wrong
//! shape or type is a [`RowError`] naming the table, row and column.
//! Encoding writes every non-ephemeral column, never `_uuid`.
//!
//! Each row type also lists the columns it reads with the type it expects
//! ([`VtepRow::COLUMNS`]); [`crate::check_schema`] validates that list
//! against the schema a server reports.

mod logical;
mod physical;

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::notation::{Atom, AtomicType, Row, Value};
use stitch_model::VecMap;
use uuid::Uuid;

use crate::table::Table;

pub(crate) use logical::replication_mode_value;
pub use logical::{
    Acl, AclEntry, ArpSource, LogicalRouter, LogicalSwitch, McastMac, PhysicalLocator, PhysicalLocatorSet, ReplicationMode, UcastMac, VXLAN_OVER_IPV4,
};
pub use physical::{Global, LogicalBindingStats, Manager, PhysicalPort, PhysicalSwitch, Tunnel};

/// A row that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table} row {uuid}: column {column}: {reason}")]
pub struct RowError {
    /// Table.
    pub table: Table,
    /// The row's UUID.
    pub uuid: Uuid,
    /// The offending column.
    pub column: &'static str,
    /// What was wrong.
    pub reason: String,
}

/// The type a row type expects a column to have (checked against the
/// server's schema by [`crate::check_schema`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly one atom.
    Scalar(AtomicType),
    /// Zero or one atom.
    Optional(AtomicType),
    /// A set of atoms (any size).
    Set(AtomicType),
    /// A map.
    Map(AtomicType, AtomicType),
    /// Exactly one reference to a row of the table.
    Ref(Table),
    /// A set of references.
    RefSet(Table),
    /// A map whose values are references.
    RefMap(AtomicType, Table),
    /// A string that must accept each of these values (we write them).
    Enum(&'static [&'static str]),
    /// An optional string that must accept each of these values.
    OptionalEnum(&'static [&'static str]),
}

/// One column a row type reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// Expected type.
    pub expect: Expect,
}

pub(crate) const fn col(name: &'static str, expect: Expect) -> ColumnSpec {
    ColumnSpec { name, expect }
}

/// A typed row of one `hardware_vtep` table.
pub trait VtepRow: Sized + Clone + PartialEq + std::fmt::Debug {
    /// The table (row types shared by two tables, like [`UcastMac`],
    /// report the remote one; decode takes the actual table).
    const TABLE: Table;
    /// The columns this type reads and writes.
    const COLUMNS: &'static [ColumnSpec];
    /// The row's UUID (nil for a row not yet inserted).
    fn uuid(&self) -> Uuid;
    /// Decodes a row of `table` (whose UUID is `uuid`).
    fn decode(table: Table, uuid: Uuid, row: &Row) -> Result<Self, RowError>;
    /// Encodes every non-ephemeral column (not `_uuid`).
    fn encode(&self) -> Row;
    /// Encodes every column the type reads, ephemeral ones included: the
    /// row as the server holds it, as far as this type sees it (decoding
    /// it gives the row back). The cache applies an `update2` diff of a
    /// column it has no in-place rule for to this encoding.
    fn encode_observed(&self) -> Row {
        self.encode()
    }
}

/// Reads typed columns out of a [`Row`], producing [`RowError`]s.
pub(crate) struct Reader<'a> {
    table: Table,
    uuid: Uuid,
    row: &'a Row,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(table: Table, uuid: Uuid, row: &'a Row) -> Self {
        Reader { table, uuid, row }
    }

    fn err(&self, column: &'static str, reason: impl Into<String>) -> RowError {
        RowError { table: self.table, uuid: self.uuid, column, reason: reason.into() }
    }

    /// The elements of a set-or-atom column (empty when absent).
    fn elements(&self, column: &'static str) -> Result<BTreeSet<Atom>, RowError> {
        match self.row.get(column) {
            None => Ok(BTreeSet::new()),
            Some(v) => v.as_set().ok_or_else(|| self.err(column, format!("expected a set, got {v}"))),
        }
    }

    fn map(&self, column: &'static str) -> Result<BTreeMap<Atom, Atom>, RowError> {
        match self.row.get(column) {
            None => Ok(BTreeMap::new()),
            Some(v) => v.as_map().cloned().ok_or_else(|| self.err(column, format!("expected a map, got {v}"))),
        }
    }

    fn optional(&self, column: &'static str) -> Result<Option<Atom>, RowError> {
        let e = self.elements(column)?;
        if e.len() > 1 {
            return Err(self.err(column, format!("expected at most one element, got {}", e.len())));
        }
        Ok(e.into_iter().next())
    }

    fn typed<T>(&self, column: &'static str, a: Atom, want: &str, f: impl Fn(&Atom) -> Option<T>) -> Result<T, RowError> {
        f(&a).ok_or_else(|| self.err(column, format!("expected {want}, got {a}")))
    }

    pub(crate) fn string(&self, column: &'static str) -> Result<String, RowError> {
        Ok(self.opt_string(column)?.unwrap_or_default())
    }

    /// [`Reader::string`] kept inline when short (MACs, IP addresses).
    pub(crate) fn small_string(&self, column: &'static str) -> Result<smol_str::SmolStr, RowError> {
        Ok(self.optional(column)?.map(|a| self.typed(column, a, "a string", |a| a.as_str().map(smol_str::SmolStr::new))).transpose()?.unwrap_or_default())
    }

    pub(crate) fn opt_string(&self, column: &'static str) -> Result<Option<String>, RowError> {
        self.optional(column)?.map(|a| self.typed(column, a, "a string", |a| a.as_str().map(str::to_owned))).transpose()
    }

    pub(crate) fn integer(&self, column: &'static str) -> Result<i64, RowError> {
        Ok(self.opt_integer(column)?.unwrap_or_default())
    }

    pub(crate) fn opt_integer(&self, column: &'static str) -> Result<Option<i64>, RowError> {
        self.optional(column)?.map(|a| self.typed(column, a, "an integer", Atom::as_i64)).transpose()
    }

    pub(crate) fn boolean(&self, column: &'static str) -> Result<bool, RowError> {
        Ok(self.optional(column)?.map(|a| self.typed(column, a, "a boolean", Atom::as_bool)).transpose()?.unwrap_or_default())
    }

    /// A required reference; absent reads as the nil UUID.
    pub(crate) fn uuid(&self, column: &'static str) -> Result<Uuid, RowError> {
        Ok(self.optional(column)?.map(|a| self.typed(column, a, "a uuid", Atom::as_uuid)).transpose()?.unwrap_or_default())
    }

    pub(crate) fn uuid_set(&self, column: &'static str) -> Result<BTreeSet<Uuid>, RowError> {
        self.elements(column)?.into_iter().map(|a| self.typed(column, a, "a uuid", Atom::as_uuid)).collect()
    }

    pub(crate) fn string_set(&self, column: &'static str) -> Result<BTreeSet<String>, RowError> {
        self.elements(column)?.into_iter().map(|a| self.typed(column, a, "a string", |a| a.as_str().map(str::to_owned))).collect()
    }

    pub(crate) fn string_map<S: for<'s> From<&'s str> + Ord>(&self, column: &'static str) -> Result<VecMap<S, S>, RowError> {
        self.map(column)?
            .into_iter()
            .map(|(k, v)| match (k.as_str(), v.as_str()) {
                (Some(k), Some(v)) => Ok((S::from(k), S::from(v))),
                _ => Err(self.err(column, format!("expected string → string, got {k} → {v}"))),
            })
            .collect()
    }

    pub(crate) fn string_uuid_map(&self, column: &'static str) -> Result<BTreeMap<String, Uuid>, RowError> {
        self.map(column)?
            .into_iter()
            .map(|(k, v)| match (k.as_str(), v.as_uuid()) {
                (Some(k), Some(v)) => Ok((k.to_owned(), v)),
                _ => Err(self.err(column, format!("expected string → uuid, got {k} → {v}"))),
            })
            .collect()
    }

    /// A map keyed by VLAN (0..=4095) with uuid values.
    pub(crate) fn vlan_uuid_map(&self, column: &'static str) -> Result<BTreeMap<u16, Uuid>, RowError> {
        self.map(column)?
            .into_iter()
            .map(|(k, v)| {
                let vlan = k.as_i64().and_then(|i| u16::try_from(i).ok()).filter(|v| *v <= 4095);
                match (vlan, v.as_uuid()) {
                    (Some(k), Some(v)) => Ok((k, v)),
                    _ => Err(self.err(column, format!("expected vlan (0..=4095) → uuid, got {k} → {v}"))),
                }
            })
            .collect()
    }

    /// An enum-valued string parsed by `parse`.
    pub(crate) fn parsed<T>(&self, column: &'static str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, RowError> {
        match self.opt_string(column)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).ok_or_else(|| self.err(column, format!("unexpected value {s:?}"))),
        }
    }
}

/// Encoding helpers.
pub(crate) mod enc {
    use super::*;

    pub(crate) fn opt_string(v: &Option<String>) -> Value {
        Value::set(v.iter().map(|s| Atom::string(s.clone())))
    }

    pub(crate) fn opt_integer(v: Option<i64>) -> Value {
        Value::set(v.map(Atom::Integer))
    }

    pub(crate) fn uuid_set(v: &BTreeSet<Uuid>) -> Value {
        Value::set(v.iter().copied().map(Atom::Uuid))
    }

    pub(crate) fn string_set(v: &BTreeSet<String>) -> Value {
        Value::set(v.iter().map(|s| Atom::string(s.clone())))
    }

    pub(crate) fn string_map<S: AsRef<str>>(v: &VecMap<S, S>) -> Value {
        Value::map(v.iter().map(|(k, v)| (Atom::string(k.as_ref()), Atom::string(v.as_ref()))))
    }

    pub(crate) fn string_uuid_map(v: &BTreeMap<String, Uuid>) -> Value {
        Value::map(v.iter().map(|(k, v)| (Atom::string(k.clone()), Atom::Uuid(*v))))
    }

    pub(crate) fn vlan_uuid_map(v: &BTreeMap<u16, Uuid>) -> Value {
        Value::map(v.iter().map(|(k, v)| (Atom::Integer(i64::from(*k)), Atom::Uuid(*v))))
    }
}

#[cfg(test)]
mod tests;
