//! Applying `update2` "modify" diffs (ovsdb-server(7), "update2 notification").

use std::collections::BTreeMap;

use crate::error::SchemaError;
use crate::notation::Value;
use crate::schema::ColumnType;

/// True when ovsdb-server sends diffs (not new values) for this type:
/// sets and maps that may hold more than one element.
fn is_composite(ty: &ColumnType) -> bool {
    ty.max != Some(1)
}

/// Applies one column's `modify` diff to its old value, as ovsdb-server
/// computes it (`ovsdb_datum_diff`):
///
/// * a column of at most one element (scalar, or optional `min 0, max 1`):
///   the diff is the new value;
/// * set column: the diff is the symmetric difference between old and new,
///   so `new = old XOR diff`;
/// * map column: for each `(key, value)` in the diff, if `key` is not in the
///   old map it is added; if it is, with the same value, it is removed; with
///   a different value, the value is replaced.
///
/// `old` of `None` is the column's empty/default value. The result is
/// normalized to the column's shape.
pub fn apply_diff(ty: &ColumnType, old: Option<&Value>, diff: &Value) -> Result<Value, SchemaError> {
    if !is_composite(ty) {
        return ty.normalize(diff);
    }
    let default = ty.default_value();
    let old = ty.normalize(old.unwrap_or(&default))?;
    let diff = ty.normalize(diff)?;
    match (old, diff) {
        (Value::Map(mut m), Value::Map(d)) => {
            for (k, v) in d {
                match m.get(&k) {
                    Some(ov) if *ov == v => {
                        m.remove(&k);
                    }
                    _ => {
                        m.insert(k, v);
                    }
                }
            }
            Ok(Value::Map(m))
        }
        (Value::Set(mut s), Value::Set(d)) => {
            for a in d {
                if !s.remove(&a) {
                    s.insert(a);
                }
            }
            if ty.max.is_some_and(|max| s.len() as u64 > max) {
                return Err(SchemaError::Type(format!("diff leaves {} elements in a column of at most {}", s.len(), ty.max.unwrap_or_default())));
            }
            Ok(Value::Set(s))
        }
        (old, diff) => Err(SchemaError::Type(format!("cannot apply diff {diff} to {old}"))),
    }
}

/// Computes the diff that [`apply_diff`] turns `old` into `new` with, as
/// ovsdb-server would send it. Useful for tests and for servers.
pub fn compute_diff(ty: &ColumnType, old: &Value, new: &Value) -> Result<Value, SchemaError> {
    let old = ty.normalize(old)?;
    let new = ty.normalize(new)?;
    if !is_composite(ty) {
        return Ok(new);
    }
    Ok(match (old, new) {
        (Value::Set(o), Value::Set(n)) => Value::Set(o.symmetric_difference(&n).cloned().collect()),
        (Value::Map(o), Value::Map(n)) => {
            let mut d = BTreeMap::new();
            for (k, v) in &o {
                match n.get(k) {
                    None => {
                        d.insert(k.clone(), v.clone());
                    }
                    Some(nv) if nv != v => {
                        d.insert(k.clone(), nv.clone());
                    }
                    _ => {}
                }
            }
            for (k, v) in &n {
                if !o.contains_key(k) {
                    d.insert(k.clone(), v.clone());
                }
            }
            Value::Map(d)
        }
        (o, n) => return Err(SchemaError::Type(format!("cannot diff {o} and {n}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notation::{Atom, AtomicType};
    use crate::schema::BaseType;
    use proptest::prelude::*;

    fn set_type(max: Option<u64>) -> ColumnType {
        ColumnType { key: BaseType::of(AtomicType::String), value: None, min: 0, max }
    }

    fn map_type() -> ColumnType {
        ColumnType { key: BaseType::of(AtomicType::String), value: Some(BaseType::of(AtomicType::String)), min: 0, max: None }
    }

    #[test]
    fn scalar_diff_is_the_new_value() {
        let t = ColumnType::scalar(AtomicType::Integer);
        assert_eq!(apply_diff(&t, Some(&Value::integer(1)), &Value::integer(7)).unwrap(), Value::integer(7));
        assert_eq!(apply_diff(&t, None, &Value::set([3i64])).unwrap(), Value::integer(3));
    }

    #[test]
    fn set_diff_is_symmetric_difference() {
        let t = set_type(None);
        let old = Value::set(["a", "b", "c"]);
        let diff = Value::set(["b", "d"]);
        assert_eq!(apply_diff(&t, Some(&old), &diff).unwrap(), Value::set(["a", "c", "d"]));
        // Single-element shorthand in the diff.
        assert_eq!(apply_diff(&t, Some(&old), &Value::string("a")).unwrap(), Value::set(["b", "c"]));
        // Missing old value is the empty set.
        assert_eq!(apply_diff(&t, None, &Value::set(["x"])).unwrap(), Value::set(["x"]));
        // Optional (at most one element) column: the diff is the new value,
        // as ovsdb-server sends it.
        let opt = set_type(Some(1));
        assert_eq!(apply_diff(&opt, Some(&Value::set(["a"])), &Value::string("b")).unwrap(), Value::set(["b"]));
        assert_eq!(apply_diff(&opt, Some(&Value::set(["a"])), &Value::empty_set()).unwrap(), Value::empty_set());
        assert!(apply_diff(&opt, Some(&Value::set(["a"])), &Value::set(["a", "b"])).is_err());
        // A bounded set larger than one is a composite: symmetric difference.
        let two = set_type(Some(2));
        assert_eq!(apply_diff(&two, Some(&Value::set(["a"])), &Value::set(["a", "b"])).unwrap(), Value::set(["b"]));
        assert!(apply_diff(&two, Some(&Value::set(["a", "b"])), &Value::set(["c"])).is_err());
    }

    #[test]
    fn map_diff_adds_removes_and_replaces() {
        let t = map_type();
        let old = Value::map([("keep", "1"), ("drop", "2"), ("change", "3")]);
        let diff = Value::map([("drop", "2"), ("change", "4"), ("add", "5")]);
        assert_eq!(apply_diff(&t, Some(&old), &diff).unwrap(), Value::map([("keep", "1"), ("change", "4"), ("add", "5")]));
        assert_eq!(apply_diff(&t, None, &Value::map([("a", "b")])).unwrap(), Value::map([("a", "b")]));
        assert!(apply_diff(&t, Some(&old), &Value::set(["x"])).is_err());
    }

    fn arb_set() -> impl Strategy<Value = Value> {
        proptest::collection::btree_set("[a-e]", 0..5).prop_map(|s| Value::set(s.into_iter().map(Atom::String)))
    }

    fn arb_map() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map("[a-e]", "[0-2]", 0..5).prop_map(Value::map)
    }

    proptest! {
        #[test]
        fn set_diff_round_trips(old in arb_set(), new in arb_set()) {
            let t = set_type(None);
            let d = compute_diff(&t, &old, &new).unwrap();
            prop_assert_eq!(apply_diff(&t, Some(&old), &d).unwrap(), new);
        }

        #[test]
        fn map_diff_round_trips(old in arb_map(), new in arb_map()) {
            let t = map_type();
            let d = compute_diff(&t, &old, &new).unwrap();
            prop_assert_eq!(apply_diff(&t, Some(&old), &d).unwrap(), new);
        }
    }
}
