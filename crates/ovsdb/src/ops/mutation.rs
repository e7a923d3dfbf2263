//! Mutations (RFC 7047 §5.1 `<mutation>`).

use std::fmt;

use serde_json::Value as Json;

use crate::error::NotationError;
use crate::notation::{Value, truncate};

/// A mutator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutator {
    /// `+=` (integer/real, element-wise for sets)
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=` (integer only)
    Mod,
    /// `insert`: add elements to a set, or pairs (whose keys are absent) to a map.
    Insert,
    /// `delete`: remove elements from a set, or pairs/keys from a map.
    Delete,
}

impl Mutator {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "+=" => Mutator::Add,
            "-=" => Mutator::Sub,
            "*=" => Mutator::Mul,
            "/=" => Mutator::Div,
            "%=" => Mutator::Mod,
            "insert" => Mutator::Insert,
            "delete" => Mutator::Delete,
            _ => return None,
        })
    }
}

impl fmt::Display for Mutator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `<mutation>`: `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// Column name.
    pub column: String,
    /// Mutator.
    pub mutator: Mutator,
    /// Argument.
    pub value: Value,
}

impl Mutation {
    /// `[column, mutator, value]`.
    pub fn new(column: impl Into<String>, mutator: Mutator, value: impl Into<Value>) -> Self {
        Mutation { column: column.into(), mutator, value: value.into() }
    }

    /// `[column, "insert", value]`.
    pub fn insert(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(column, Mutator::Insert, value)
    }

    /// `[column, "delete", value]`.
    pub fn delete(column: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(column, Mutator::Delete, value)
    }

    /// The mutation as JSON.
    pub fn to_json(&self) -> Json {
        Json::Array(vec![Json::String(self.column.clone()), Json::String(self.mutator.as_str().into()), self.value.to_json()])
    }

    /// Parses a mutation from JSON.
    pub fn from_json(json: &Json) -> Result<Self, NotationError> {
        match json.as_array().map(Vec::as_slice) {
            Some([Json::String(c), Json::String(m), v]) => {
                let mutator = Mutator::parse(m).ok_or_else(|| NotationError::Invalid(format!("unknown mutator {m:?}")))?;
                Ok(Mutation { column: c.clone(), mutator, value: Value::from_json(v)? })
            }
            _ => Err(NotationError::Invalid(format!("invalid mutation {}", truncate(json)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_mutator_round_trips() {
        for (s, m) in [
            ("+=", Mutator::Add),
            ("-=", Mutator::Sub),
            ("*=", Mutator::Mul),
            ("/=", Mutator::Div),
            ("%=", Mutator::Mod),
            ("insert", Mutator::Insert),
            ("delete", Mutator::Delete),
        ] {
            let j = json!(["c", s, 1]);
            let parsed = Mutation::from_json(&j).unwrap();
            assert_eq!(parsed.mutator, m);
            assert_eq!(parsed.to_json(), j);
        }
        assert!(Mutation::from_json(&json!(["c", "^=", 1])).is_err());
        assert!(Mutation::from_json(&json!(["c", "+="])).is_err());
        assert!(Mutation::from_json(&json!({"c": 1})).is_err());
    }
}
