//! Conditions (RFC 7047 §5.1 `<condition>`), with client-side evaluation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value as Json;

use crate::error::NotationError;
use crate::notation::{Atom, Row, Value, truncate};

/// A condition function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `includes`: the column's value is a superset of the argument.
    Includes,
    /// `excludes`: the column's value shares no element with the argument.
    Excludes,
}

impl Function {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "<" => Function::Lt,
            "<=" => Function::Le,
            "==" => Function::Eq,
            "!=" => Function::Ne,
            ">=" => Function::Ge,
            ">" => Function::Gt,
            "includes" => Function::Includes,
            "excludes" => Function::Excludes,
            _ => return None,
        })
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `<condition>`: `[column, function, value]`, or (in `monitor_cond`
/// `where` clauses only, an OVS extension) the literal `true` or `false`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `[column, function, value]`
    Compare {
        /// Column name.
        column: String,
        /// Function.
        function: Function,
        /// Argument.
        value: Value,
    },
    /// `true` / `false` (monitor_cond only).
    Literal(bool),
}

impl Condition {
    /// `[column, function, value]`.
    pub fn new(column: impl Into<String>, function: Function, value: impl Into<Value>) -> Self {
        Condition::Compare { column: column.into(), function, value: value.into() }
    }

    /// `[column, "==", value]`.
    pub fn eq(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(column, Function::Eq, value)
    }

    /// `[column, "!=", value]`.
    pub fn ne(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(column, Function::Ne, value)
    }

    /// `[column, "includes", value]`.
    pub fn includes(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(column, Function::Includes, value)
    }

    /// `[column, "excludes", value]`.
    pub fn excludes(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(column, Function::Excludes, value)
    }

    /// `["_uuid", "==", ["uuid", u]]`.
    pub fn uuid_eq(u: uuid::Uuid) -> Self {
        Self::eq("_uuid", Value::uuid(u))
    }

    /// The condition as JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Condition::Compare { column, function, value } => {
                Json::Array(vec![Json::String(column.clone()), Json::String(function.as_str().into()), value.to_json()])
            }
            Condition::Literal(b) => Json::Bool(*b),
        }
    }

    /// Parses a condition from JSON.
    pub fn from_json(json: &Json) -> Result<Self, NotationError> {
        match json {
            Json::Bool(b) => Ok(Condition::Literal(*b)),
            Json::Array(a) => match a.as_slice() {
                [Json::String(c), Json::String(f), v] => {
                    let function = Function::parse(f).ok_or_else(|| NotationError::Invalid(format!("unknown function {f:?}")))?;
                    Ok(Condition::Compare { column: c.clone(), function, value: Value::from_json(v)? })
                }
                _ => Err(NotationError::Invalid(format!("invalid condition {}", truncate(json)))),
            },
            _ => Err(NotationError::Invalid(format!("invalid condition {}", truncate(json)))),
        }
    }

    /// Evaluates the condition against a row, as ovsdb-server would.
    ///
    /// A scalar is a one-element set. The ordering functions need a single
    /// integer or real on both sides; anything else is an error, as is a
    /// column missing from the row.
    pub fn evaluate(&self, row: &Row) -> Result<bool, NotationError> {
        let (column, function, arg) = match self {
            Condition::Literal(b) => return Ok(*b),
            Condition::Compare { column, function, value } => (column, *function, value),
        };
        let actual = row.get(column).ok_or_else(|| NotationError::Invalid(format!("row has no column {column:?}")))?;
        Ok(match function {
            Function::Eq => Elements::of(actual) == Elements::of(arg),
            Function::Ne => Elements::of(actual) != Elements::of(arg),
            Function::Includes => Elements::of(actual).includes(&Elements::of(arg)),
            Function::Excludes => Elements::of(actual).excludes(&Elements::of(arg)),
            Function::Lt | Function::Le | Function::Ge | Function::Gt => {
                let num =
                    |v: &Value| v.as_atom().and_then(Atom::as_f64).ok_or_else(|| NotationError::Invalid(format!("{function} needs a single number, got {v}")));
                let (a, b) = (num(actual)?, num(arg)?);
                match function {
                    Function::Lt => a < b,
                    Function::Le => a <= b,
                    Function::Ge => a >= b,
                    _ => a > b,
                }
            }
        })
    }

    /// True if every condition holds (an empty list matches every row).
    pub fn all_match(conditions: &[Condition], row: &Row) -> Result<bool, NotationError> {
        for c in conditions {
            if !c.evaluate(row)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A value seen as a set of atoms or a set of pairs.
#[derive(PartialEq)]
enum Elements<'a> {
    Set(BTreeSet<&'a Atom>),
    Map(&'a BTreeMap<Atom, Atom>),
}

impl<'a> Elements<'a> {
    fn of(v: &'a Value) -> Self {
        match v {
            Value::Atom(a) => Elements::Set(BTreeSet::from([a])),
            Value::Set(s) => Elements::Set(s.iter().collect()),
            Value::Map(m) if m.is_empty() => Elements::Set(BTreeSet::new()),
            Value::Map(m) => Elements::Map(m),
        }
    }

    fn includes(&self, arg: &Elements<'_>) -> bool {
        match (self, arg) {
            (Elements::Set(a), Elements::Set(b)) => b.iter().all(|x| a.contains(x)),
            (Elements::Map(a), Elements::Map(b)) => b.iter().all(|(k, v)| a.get(k) == Some(v)),
            (_, Elements::Set(b)) => b.is_empty(),
            (Elements::Set(_), Elements::Map(_)) => false,
        }
    }

    fn excludes(&self, arg: &Elements<'_>) -> bool {
        match (self, arg) {
            (Elements::Set(a), Elements::Set(b)) => !b.iter().any(|x| a.contains(x)),
            (Elements::Map(a), Elements::Map(b)) => !b.iter().any(|(k, v)| a.get(k) == Some(v)),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> Row {
        Row::new()
            .with("name", "sw0")
            .with("vlan", 100i64)
            .with("weight", Value::real(2.5))
            .with("tags", Value::set(["a", "b"]))
            .with("opt", Value::empty_set())
            .with("ext", Value::map([("k1", "v1"), ("k2", "v2")]))
    }

    fn eval(j: serde_json::Value) -> bool {
        Condition::from_json(&j).unwrap().evaluate(&row()).unwrap()
    }

    #[test]
    fn equality() {
        assert!(eval(json!(["name", "==", "sw0"])));
        assert!(!eval(json!(["name", "==", "sw1"])));
        assert!(eval(json!(["name", "!=", "sw1"])));
        assert!(eval(json!(["name", "==", ["set", ["sw0"]]])), "scalar is a one-element set");
        assert!(eval(json!(["tags", "==", ["set", ["b", "a"]]])));
        assert!(!eval(json!(["tags", "==", "a"])));
        assert!(eval(json!(["opt", "==", ["set", []]])));
        assert!(eval(json!(["opt", "==", ["map", []]])), "empty map equals empty set");
        assert!(eval(json!(["ext", "==", ["map", [["k2", "v2"], ["k1", "v1"]]]])));
        assert!(eval(json!(["ext", "!=", ["map", [["k1", "v1"]]]])));
    }

    #[test]
    fn ordering() {
        assert!(eval(json!(["vlan", "<", 101])));
        assert!(eval(json!(["vlan", "<=", 100])));
        assert!(!eval(json!(["vlan", ">", 100])));
        assert!(eval(json!(["vlan", ">=", 100])));
        assert!(eval(json!(["weight", ">", 2])));
        assert!(eval(json!(["weight", "<", 2.75])));
        let c = Condition::from_json(&json!(["name", "<", 1])).unwrap();
        assert!(c.evaluate(&row()).is_err(), "ordering on a string is an error");
        let c = Condition::from_json(&json!(["tags", ">", 1])).unwrap();
        assert!(c.evaluate(&row()).is_err(), "ordering on a set is an error");
    }

    #[test]
    fn includes_and_excludes() {
        assert!(eval(json!(["tags", "includes", "a"])));
        assert!(eval(json!(["tags", "includes", ["set", ["a", "b"]]])));
        assert!(!eval(json!(["tags", "includes", ["set", ["a", "c"]]])));
        assert!(eval(json!(["tags", "includes", ["set", []]])));
        assert!(eval(json!(["tags", "excludes", ["set", ["c", "d"]]])));
        assert!(!eval(json!(["tags", "excludes", ["set", ["c", "a"]]])));
        assert!(eval(json!(["ext", "includes", ["map", [["k1", "v1"]]]])));
        assert!(!eval(json!(["ext", "includes", ["map", [["k1", "v2"]]]])), "pairs, not keys");
        assert!(eval(json!(["ext", "excludes", ["map", [["k1", "v2"]]]])));
        assert!(!eval(json!(["ext", "excludes", ["map", [["k1", "v1"]]]])));
        assert!(eval(json!(["name", "includes", "sw0"])), "scalar includes == equality");
        assert!(eval(json!(["name", "excludes", "x"])));
    }

    #[test]
    fn literals_lists_and_errors() {
        assert!(eval(json!(true)));
        assert!(!eval(json!(false)));
        let conds = [Condition::eq("name", "sw0"), Condition::includes("tags", "a")];
        assert!(Condition::all_match(&conds, &row()).unwrap());
        assert!(Condition::all_match(&[], &row()).unwrap());
        assert!(Condition::eq("missing", 1i64).evaluate(&row()).is_err());
        for bad in [json!(["a", "~=", 1]), json!(["a", "=="]), json!(1), json!([1, "==", 1])] {
            assert!(Condition::from_json(&bad).is_err(), "{bad}");
        }
        let c = Condition::new("vlan", Function::Ge, 4i64);
        assert_eq!(c.to_json(), json!(["vlan", ">=", 4]));
        assert_eq!(Condition::from_json(&c.to_json()).unwrap(), c);
    }
}
