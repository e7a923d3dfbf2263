//! Database schemas (RFC 7047 §3.2) and type checking of values.

mod check;
mod parse;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value as Json;

use crate::error::SchemaError;
use crate::notation::{Atom, AtomicType};

/// `<database-schema>`.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    /// Database name.
    pub name: String,
    /// Schema version (`"x.y.z"`), if given.
    pub version: Option<String>,
    /// Checksum, if given.
    pub cksum: Option<String>,
    /// Tables by name.
    pub tables: BTreeMap<String, TableSchema>,
}

/// `<table-schema>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// Table name.
    pub name: String,
    /// Columns by name (without the implicit `_uuid` and `_version`).
    pub columns: BTreeMap<String, ColumnSchema>,
    /// `maxRows`, if given.
    pub max_rows: Option<u64>,
    /// Whether the table is in the root set. Per RFC 7047 §3.2, when no
    /// table of a schema says `"isRoot": true`, every table is a root table;
    /// parsing applies that rule.
    pub is_root: bool,
    /// `indexes`: each a set of column names whose values are unique.
    pub indexes: Vec<Vec<String>>,
}

/// `<column-schema>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// The column's type.
    pub type_: ColumnType,
    /// `ephemeral` (not persisted).
    pub ephemeral: bool,
    /// `mutable` (defaults to true).
    pub mutable: bool,
}

/// `<type>`: a key base type, an optional value base type (for maps), and
/// element count bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    /// Key (or element) base type.
    pub key: BaseType,
    /// Value base type: `Some` for maps.
    pub value: Option<BaseType>,
    /// Minimum number of elements (0 or 1).
    pub min: u64,
    /// Maximum number of elements; `None` is `"unlimited"`.
    pub max: Option<u64>,
}

/// Whether a reference keeps its target alive (RFC 7047 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefType {
    /// The referenced row may not be deleted while referenced.
    #[default]
    Strong,
    /// The reference is removed when the referenced row is deleted.
    Weak,
}

/// `<base-type>`: an atomic type plus optional constraints.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BaseType {
    /// The atomic type.
    pub atomic: Option<AtomicType>,
    /// `enum`: the only allowed values.
    pub enum_: Option<BTreeSet<Atom>>,
    /// `minInteger`
    pub min_integer: Option<i64>,
    /// `maxInteger`
    pub max_integer: Option<i64>,
    /// `minReal`
    pub min_real: Option<f64>,
    /// `maxReal`
    pub max_real: Option<f64>,
    /// `minLength` (in characters)
    pub min_length: Option<u64>,
    /// `maxLength` (in characters)
    pub max_length: Option<u64>,
    /// `refTable`, for uuid columns that reference rows.
    pub ref_table: Option<String>,
    /// `refType` (meaningful only with `ref_table`).
    pub ref_type: RefType,
}

impl BaseType {
    /// An unconstrained base type.
    pub fn of(atomic: AtomicType) -> Self {
        BaseType { atomic: Some(atomic), ..Default::default() }
    }

    /// The atomic type (defaults to string if somehow absent).
    pub fn atomic_type(&self) -> AtomicType {
        self.atomic.unwrap_or(AtomicType::String)
    }
}

impl ColumnType {
    /// A scalar column of the given atomic type (`min = max = 1`).
    pub fn scalar(atomic: AtomicType) -> Self {
        ColumnType { key: BaseType::of(atomic), value: None, min: 1, max: Some(1) }
    }

    /// True for exactly-one-atom columns (`min = max = 1`, no value type).
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }

    /// True for map columns.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// True for set columns (anything not scalar and not a map, including
    /// optional `min 0, max 1` columns).
    pub fn is_set(&self) -> bool {
        !self.is_map() && !self.is_scalar()
    }
}

static UUID_COLUMN: LazyLock<ColumnType> = LazyLock::new(|| ColumnType::scalar(AtomicType::Uuid));

impl TableSchema {
    /// The type of a column, including the implicit `_uuid` and `_version`.
    pub fn column_type(&self, column: &str) -> Option<&ColumnType> {
        match column {
            "_uuid" | "_version" => Some(&UUID_COLUMN),
            _ => self.columns.get(column).map(|c| &c.type_),
        }
    }

    /// Like [`column_type`](Self::column_type) but an error names the
    /// table and column.
    pub fn require_column(&self, column: &str) -> Result<&ColumnType, SchemaError> {
        self.column_type(column).ok_or_else(|| SchemaError::UnknownColumn { table: self.name.clone(), column: column.to_owned() })
    }
}

impl DatabaseSchema {
    /// Parses a `<database-schema>` JSON document (as `get_schema` returns
    /// or as an `.ovsschema` file holds).
    pub fn from_json(json: &Json) -> Result<Self, SchemaError> {
        parse::database(json)
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }

    /// A table by name, or an error naming it.
    pub fn require_table(&self, name: &str) -> Result<&TableSchema, SchemaError> {
        self.tables.get(name).ok_or_else(|| SchemaError::UnknownTable(name.to_owned()))
    }
}

impl std::str::FromStr for DatabaseSchema {
    type Err = SchemaError;

    /// Parses a schema from JSON text.
    fn from_str(text: &str) -> Result<Self, SchemaError> {
        let json: Json = serde_json::from_str(text).map_err(|e| SchemaError::Invalid(e.to_string()))?;
        Self::from_json(&json)
    }
}

#[cfg(test)]
mod tests;
