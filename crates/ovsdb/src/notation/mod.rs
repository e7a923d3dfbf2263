//! OVSDB notation (RFC 7047 §5.1): atoms, sets, maps, values and rows.
//!
//! Parsing is schema-free: a bare atom parses as [`Value::Atom`] even when
//! the column is a set (the single-element shorthand). Use
//! [`crate::schema::ColumnType::check`] to normalize a value against its
//! column type. Hostile input yields a [`NotationError`], never a panic.

mod atom;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

pub(crate) use atom::truncate;
pub use atom::{Atom, AtomicType, is_id, parse_uuid};

use crate::error::NotationError;

/// An OVSDB `<value>`: an atom, a set, or a map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// A single atom (also the shorthand for a one-element set).
    Atom(Atom),
    /// `["set", [...]]`
    Set(BTreeSet<Atom>),
    /// `["map", [[k, v], ...]]`
    Map(BTreeMap<Atom, Atom>),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Value::Atom(Atom::String(s.into()))
    }

    /// An integer value.
    pub fn integer(i: i64) -> Self {
        Value::Atom(Atom::Integer(i))
    }

    /// A real value.
    pub fn real(r: f64) -> Self {
        Value::Atom(Atom::Real(r))
    }

    /// A boolean value.
    pub fn boolean(b: bool) -> Self {
        Value::Atom(Atom::Boolean(b))
    }

    /// A uuid value.
    pub fn uuid(u: Uuid) -> Self {
        Value::Atom(Atom::Uuid(u))
    }

    /// A named-uuid value (a row inserted earlier in the same transaction).
    pub fn named_uuid(name: impl Into<String>) -> Self {
        Value::Atom(Atom::NamedUuid(name.into()))
    }

    /// The empty set (also a valid empty map for map columns).
    pub fn empty_set() -> Self {
        Value::Set(BTreeSet::new())
    }

    /// A set of the given atoms (duplicates collapse).
    pub fn set<A: Into<Atom>>(atoms: impl IntoIterator<Item = A>) -> Self {
        Value::Set(atoms.into_iter().map(Into::into).collect())
    }

    /// A map of the given pairs (a later duplicate key wins).
    pub fn map<K: Into<Atom>, V: Into<Atom>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// The single atom: an atom, or a one-element set.
    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Value::Atom(a) => Some(a),
            Value::Set(s) if s.len() == 1 => s.iter().next(),
            _ => None,
        }
    }

    /// The single string (an atom or a one-element set).
    pub fn as_str(&self) -> Option<&str> {
        self.as_atom().and_then(Atom::as_str)
    }

    /// The single integer.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_atom().and_then(Atom::as_i64)
    }

    /// The single boolean.
    pub fn as_bool(&self) -> Option<bool> {
        self.as_atom().and_then(Atom::as_bool)
    }

    /// The single uuid.
    pub fn as_uuid(&self) -> Option<Uuid> {
        self.as_atom().and_then(Atom::as_uuid)
    }

    /// The elements as a set: an atom is a one-element set; a map yields
    /// `None`.
    pub fn as_set(&self) -> Option<BTreeSet<Atom>> {
        match self {
            Value::Atom(a) => Some(BTreeSet::from([a.clone()])),
            Value::Set(s) => Some(s.clone()),
            Value::Map(m) if m.is_empty() => Some(BTreeSet::new()),
            Value::Map(_) => None,
        }
    }

    /// The map, if this is a map (an empty set counts as an empty map).
    pub fn as_map(&self) -> Option<&BTreeMap<Atom, Atom>> {
        static EMPTY: BTreeMap<Atom, Atom> = BTreeMap::new();
        match self {
            Value::Map(m) => Some(m),
            Value::Set(s) if s.is_empty() => Some(&EMPTY),
            _ => None,
        }
    }

    /// Number of elements (1 for an atom).
    pub fn len(&self) -> usize {
        match self {
            Value::Atom(_) => 1,
            Value::Set(s) => s.len(),
            Value::Map(m) => m.len(),
        }
    }

    /// True for an empty set or map.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses a `<value>` from JSON. Duplicate set elements or map keys are
    /// rejected, as ovsdb-server does.
    pub fn from_json(json: &Json) -> Result<Self, NotationError> {
        if let Json::Array(a) = json {
            if let [Json::String(tag), body] = a.as_slice() {
                match tag.as_str() {
                    "set" => return parse_set(body).map(Value::Set),
                    "map" => return parse_map(body).map(Value::Map),
                    _ => {}
                }
            }
        }
        Atom::from_json(json).map(Value::Atom)
    }

    /// The value as JSON (sets always in `["set", ...]` form).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Atom(a) => a.to_json(),
            Value::Set(s) => Json::Array(vec!["set".into(), Json::Array(s.iter().map(Atom::to_json).collect())]),
            Value::Map(m) => Json::Array(vec!["map".into(), Json::Array(m.iter().map(|(k, v)| Json::Array(vec![k.to_json(), v.to_json()])).collect())]),
        }
    }
}

fn parse_set(body: &Json) -> Result<BTreeSet<Atom>, NotationError> {
    let Json::Array(items) = body else {
        return Err(NotationError::InvalidSet(truncate(body)));
    };
    let mut set = BTreeSet::new();
    for item in items {
        let atom = Atom::from_json(item)?;
        if let Some(dup) = set.replace(atom) {
            return Err(NotationError::Duplicate(dup.to_string()));
        }
    }
    Ok(set)
}

fn parse_map(body: &Json) -> Result<BTreeMap<Atom, Atom>, NotationError> {
    let Json::Array(items) = body else {
        return Err(NotationError::InvalidMap(truncate(body)));
    };
    let mut map = BTreeMap::new();
    for item in items {
        let Json::Array(pair) = item else {
            return Err(NotationError::InvalidMap(truncate(item)));
        };
        let [k, v] = pair.as_slice() else {
            return Err(NotationError::InvalidMap(truncate(item)));
        };
        let key = Atom::from_json(k)?;
        let value = Atom::from_json(v)?;
        if map.contains_key(&key) {
            return Err(NotationError::Duplicate(key.to_string()));
        }
        map.insert(key, value);
    }
    Ok(map)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        Value::from_json(&json).map_err(serde::de::Error::custom)
    }
}

macro_rules! value_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Atom(Atom::from(v))
            }
        }
    )*};
}
value_from!(i64, f64, bool, &str, String, Uuid);

impl From<Atom> for Value {
    fn from(v: Atom) -> Self {
        Value::Atom(v)
    }
}

/// A `<row>`: column name → value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Row(BTreeMap<String, Value>);

impl Row {
    /// An empty row.
    pub fn new() -> Self {
        Row(BTreeMap::new())
    }

    /// Sets a column, builder style.
    pub fn with(mut self, column: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(column.into(), value.into());
        self
    }

    /// Sets a column; returns the previous value.
    pub fn insert(&mut self, column: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(column.into(), value.into())
    }

    /// Removes a column.
    pub fn remove(&mut self, column: &str) -> Option<Value> {
        self.0.remove(column)
    }

    /// A column's value.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.0.get(column)
    }

    /// A column's value, mutably.
    pub fn get_mut(&mut self, column: &str) -> Option<&mut Value> {
        self.0.get_mut(column)
    }

    /// The `_uuid` column, if present.
    pub fn uuid(&self) -> Option<Uuid> {
        self.get("_uuid").and_then(Value::as_uuid)
    }

    /// A string column (atom or one-element set).
    pub fn get_str(&self, column: &str) -> Option<&str> {
        self.get(column).and_then(Value::as_str)
    }

    /// Iterates over (column, value) in column order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// Number of columns present.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no column is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The columns as a map.
    pub fn columns(&self) -> &BTreeMap<String, Value> {
        &self.0
    }

    /// Consumes the row into its map.
    pub fn into_columns(self) -> BTreeMap<String, Value> {
        self.0
    }

    /// Parses a `<row>` (a JSON object of column → value).
    pub fn from_json(json: &Json) -> Result<Self, NotationError> {
        let Json::Object(obj) = json else {
            return Err(NotationError::InvalidRow(truncate(json)));
        };
        obj.iter().map(|(k, v)| Ok((k.clone(), Value::from_json(v)?))).collect::<Result<BTreeMap<_, _>, NotationError>>().map(Row)
    }

    /// The row as a JSON object.
    pub fn to_json(&self) -> Json {
        Json::Object(self.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<Map<_, _>>())
    }
}

impl FromIterator<(String, Value)> for Row {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Row(iter.into_iter().collect())
    }
}

impl IntoIterator for Row {
    type Item = (String, Value);
    type IntoIter = std::collections::btree_map::IntoIter<String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<BTreeMap<String, Value>> for Row {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Row(m)
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        Row::from_json(&json).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
