//! Type checking values against column types.

use std::collections::{BTreeMap, BTreeSet};

use super::{BaseType, ColumnType, TableSchema};
use crate::error::SchemaError;
use crate::notation::{Atom, AtomicType, Row, Value};

fn type_err(msg: impl Into<String>) -> SchemaError {
    SchemaError::Type(msg.into())
}

impl BaseType {
    /// Checks one atom against this base type and its constraints. Integers
    /// are accepted (and converted) where reals are expected; named-uuids
    /// are accepted for uuid types.
    pub fn check_atom(&self, atom: &Atom) -> Result<Atom, SchemaError> {
        let want = self.atomic_type();
        let atom = match (want, atom) {
            (AtomicType::Real, Atom::Integer(i)) => Atom::Real(*i as f64),
            (w, a) if a.atomic_type() == w => a.clone(),
            (w, a) => return Err(type_err(format!("expected {w}, got {a}"))),
        };
        if let Some(allowed) = &self.enum_ {
            if !allowed.contains(&atom) {
                return Err(type_err(format!("{atom} is not one of the allowed values")));
            }
        }
        let out_of_range = match &atom {
            Atom::Integer(i) => self.min_integer.is_some_and(|m| *i < m) || self.max_integer.is_some_and(|m| *i > m),
            Atom::Real(r) => self.min_real.is_some_and(|m| *r < m) || self.max_real.is_some_and(|m| *r > m),
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                self.min_length.is_some_and(|m| n < m) || self.max_length.is_some_and(|m| n > m)
            }
            _ => false,
        };
        if out_of_range {
            return Err(type_err(format!("{atom} is outside the range or length the column allows")));
        }
        Ok(atom)
    }
}

impl ColumnType {
    /// Checks a value against this type and returns it normalized: scalar
    /// columns as [`Value::Atom`], set columns (including optional ones) as
    /// [`Value::Set`], map columns as [`Value::Map`].
    pub fn check(&self, value: &Value) -> Result<Value, SchemaError> {
        let out = match &self.value {
            Some(vt) => {
                let map = value.as_map().ok_or_else(|| type_err(format!("expected a map, got {value}")))?;
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    out.insert(self.key.check_atom(k)?, vt.check_atom(v)?);
                }
                Value::Map(out)
            }
            None => {
                let set = value.as_set().ok_or_else(|| type_err(format!("expected a set or atom, got a map {value}")))?;
                let mut out = BTreeSet::new();
                for a in &set {
                    out.insert(self.key.check_atom(a)?);
                }
                if self.is_scalar() {
                    match out.into_iter().next() {
                        Some(a) if set.len() == 1 => Value::Atom(a),
                        _ => return Err(type_err(format!("expected exactly one element, got {}", set.len()))),
                    }
                } else {
                    Value::Set(out)
                }
            }
        };
        let n = out.len() as u64;
        if n < self.min || self.max.is_some_and(|m| n > m) {
            return Err(type_err(format!("{n} elements, but the column allows {}..{}", self.min, self.max.map_or("unlimited".into(), |m| m.to_string()))));
        }
        Ok(out)
    }

    /// Converts a value to this type's shape without checking atom types or
    /// constraints: scalar columns as [`Value::Atom`], set columns as
    /// [`Value::Set`], map columns as [`Value::Map`]. Used for data coming
    /// from the server, which has already checked it.
    pub fn normalize(&self, value: &Value) -> Result<Value, SchemaError> {
        if self.max.is_some_and(|m| value.len() as u64 > m) {
            return Err(type_err(format!("{} elements in a column of at most {:?}", value.len(), self.max)));
        }
        if self.is_map() {
            return value.as_map().map(|m| Value::Map(m.clone())).ok_or_else(|| type_err(format!("expected a map, got {value}")));
        }
        if self.is_scalar() {
            return value.as_atom().map(|a| Value::Atom(a.clone())).ok_or_else(|| type_err(format!("expected exactly one element, got {value}")));
        }
        value.as_set().map(Value::Set).ok_or_else(|| type_err(format!("expected a set, got a map {value}")))
    }

    /// The default value of a column of this type: the empty set/map, or
    /// 0 / 0.0 / false / "" / the all-zero UUID for scalar columns.
    pub fn default_value(&self) -> Value {
        if self.is_map() {
            return Value::Map(BTreeMap::new());
        }
        if !self.is_scalar() {
            return Value::empty_set();
        }
        Value::Atom(match self.key.atomic_type() {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid(uuid::Uuid::nil()),
        })
    }
}

impl TableSchema {
    /// Checks every column of `row` and returns it normalized. Unknown
    /// columns are an error.
    pub fn check_row(&self, row: &Row) -> Result<Row, SchemaError> {
        row.iter()
            .map(|(c, v)| {
                let t = self.require_column(c)?;
                let v = t.check(v).map_err(|e| type_err(format!("{}.{c}: {e}", self.name)))?;
                Ok((c.clone(), v))
            })
            .collect()
    }
}
