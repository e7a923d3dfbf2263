//! Applying `<mutation>`s to stored values (RFC 7047 §5.1).

use super::db::OpError;
use crate::notation::{Atom, Value};
use crate::ops::{Mutation, Mutator};
use crate::schema::ColumnType;

/// The column's type with its element-count bounds lifted: the type of a
/// mutation's argument (and of the value before the final count check).
fn unbounded(ty: &ColumnType) -> ColumnType {
    ColumnType { min: 0, max: None, ..ty.clone() }
}

fn arith(m: Mutator, a: &Atom, b: &Atom) -> Result<Atom, OpError> {
    Ok(match (a, b) {
        (Atom::Integer(x), Atom::Integer(y)) => Atom::Integer(
            match m {
                Mutator::Add => x.checked_add(*y),
                Mutator::Sub => x.checked_sub(*y),
                Mutator::Mul => x.checked_mul(*y),
                Mutator::Div if *y == 0 => return Err(OpError::new("domain error", "division by zero")),
                Mutator::Div => x.checked_div(*y),
                Mutator::Mod if *y == 0 => return Err(OpError::new("domain error", "division by zero")),
                Mutator::Mod => x.checked_rem(*y),
                _ => None,
            }
            .ok_or_else(|| OpError::new("range error", "integer overflow"))?,
        ),
        (Atom::Real(x), Atom::Real(y)) => Atom::Real(match m {
            Mutator::Add => x + y,
            Mutator::Sub => x - y,
            Mutator::Mul => x * y,
            Mutator::Div if *y == 0.0 => return Err(OpError::new("domain error", "division by zero")),
            Mutator::Div => x / y,
            _ => return Err(OpError::new("constraint violation", format!("{m} is not allowed on reals"))),
        }),
        _ => return Err(OpError::new("constraint violation", format!("{m} needs numbers, got {a} and {b}"))),
    })
}

/// The value of a column of type `ty` after `mutation`, checked against
/// the type (element counts and constraints).
pub(crate) fn apply(ty: &ColumnType, old: &Value, mutation: &Mutation) -> Result<Value, OpError> {
    let cv = |e: crate::error::SchemaError| OpError::new("constraint violation", e.to_string());
    let m = mutation.mutator;
    let new = match m {
        Mutator::Add | Mutator::Sub | Mutator::Mul | Mutator::Div | Mutator::Mod => {
            if ty.is_map() {
                return Err(OpError::new("constraint violation", format!("{m} is not allowed on map column {}", mutation.column)));
            }
            let arg =
                ty.key.check_atom(mutation.value.as_atom().ok_or_else(|| OpError::new("syntax error", "arithmetic needs a single number"))?).map_err(cv)?;
            let elems = unbounded(ty).check(old).map_err(cv)?.as_set().unwrap_or_default();
            let out = elems.iter().map(|a| arith(m, a, &arg).and_then(|r| ty.key.check_atom(&r).map_err(cv))).collect::<Result<Vec<_>, _>>()?;
            Value::set(out)
        }
        Mutator::Insert | Mutator::Delete => {
            let arg_ty = unbounded(ty);
            let old = arg_ty.check(old).map_err(cv)?;
            match old {
                Value::Map(mut map) => {
                    if m == Mutator::Insert {
                        let Value::Map(add) = arg_ty.check(&mutation.value).map_err(cv)? else { unreachable_shape()? };
                        for (k, v) in add {
                            map.entry(k).or_insert(v);
                        }
                    } else if let Some(pairs) = mutation.value.as_map().filter(|p| !p.is_empty()) {
                        let Value::Map(pairs) = arg_ty.check(&Value::Map(pairs.clone())).map_err(cv)? else { unreachable_shape()? };
                        for (k, v) in pairs {
                            if map.get(&k) == Some(&v) {
                                map.remove(&k);
                            }
                        }
                    } else {
                        let keys = ColumnType { value: None, ..arg_ty.clone() }.check(&mutation.value).map_err(cv)?;
                        for k in keys.as_set().unwrap_or_default() {
                            map.remove(&k);
                        }
                    }
                    Value::Map(map)
                }
                other => {
                    let mut set = other.as_set().unwrap_or_default();
                    let arg = arg_ty.check(&mutation.value).map_err(cv)?.as_set().unwrap_or_default();
                    if m == Mutator::Insert {
                        set.extend(arg);
                    } else {
                        set.retain(|a| !arg.contains(a));
                    }
                    Value::Set(set)
                }
            }
        }
    };
    ty.check(&new).map_err(|e| OpError::new("constraint violation", format!("{}: {e}", mutation.column)))
}

fn unreachable_shape<T>() -> Result<T, OpError> {
    Err(OpError::new("constraint violation", "mutation argument has the wrong shape"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notation::AtomicType;
    use crate::schema::BaseType;

    fn set_of_int() -> ColumnType {
        ColumnType { key: BaseType::of(AtomicType::Integer), value: None, min: 0, max: None }
    }

    #[test]
    fn arithmetic_sets_and_maps() {
        let t = set_of_int();
        let v = apply(&t, &Value::set([1i64, 2]), &Mutation::new("c", Mutator::Add, 10i64)).unwrap();
        assert_eq!(v, Value::set([11i64, 12]));
        assert!(apply(&t, &Value::set([1i64]), &Mutation::new("c", Mutator::Div, 0i64)).is_err());
        let v = apply(&t, &Value::set([1i64]), &Mutation::insert("c", Value::set([2i64, 3]))).unwrap();
        assert_eq!(v, Value::set([1i64, 2, 3]));
        let v = apply(&t, &v, &Mutation::delete("c", 2i64)).unwrap();
        assert_eq!(v, Value::set([1i64, 3]));
        let m = ColumnType { key: BaseType::of(AtomicType::Integer), value: Some(BaseType::of(AtomicType::String)), min: 0, max: None };
        let v = apply(&m, &Value::map([(1i64, "a")]), &Mutation::insert("c", Value::map([(1i64, "b"), (2i64, "c")]))).unwrap();
        assert_eq!(v, Value::map([(1i64, "a"), (2i64, "c")]), "insert keeps existing keys");
        let v2 = apply(&m, &v, &Mutation::delete("c", Value::map([(1i64, "x")]))).unwrap();
        assert_eq!(v2, v, "delete of a pair needs the value to match");
        let v3 = apply(&m, &v, &Mutation::delete("c", Value::set([1i64]))).unwrap();
        assert_eq!(v3, Value::map([(2i64, "c")]), "delete by key");
        let one = ColumnType { max: Some(1), ..set_of_int() };
        assert!(apply(&one, &Value::set([1i64]), &Mutation::insert("c", 2i64)).is_err(), "max elements");
    }
}
