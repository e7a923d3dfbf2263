//! `<atom>` (RFC 7047 §5.1): integer, real, boolean, string, uuid, named-uuid.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::NotationError;

/// The atomic types of OVSDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicType {
    /// 64-bit signed integer.
    Integer,
    /// IEEE 754 double.
    Real,
    /// true / false.
    Boolean,
    /// UTF-8 string.
    String,
    /// UUID (also named-uuid inside a transaction).
    Uuid,
}

impl AtomicType {
    /// The schema spelling: `"integer"`, `"real"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }

    /// Parses the schema spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }
}

impl fmt::Display for AtomicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One OVSDB atom.
///
/// `Atom` is totally ordered (reals by [`f64::total_cmp`]) so that sets and
/// maps can be `BTreeSet`/`BTreeMap`; equality follows the same order.
#[derive(Debug, Clone)]
pub enum Atom {
    /// `<integer>`
    Integer(i64),
    /// `<real>`
    Real(f64),
    /// `<boolean>`
    Boolean(bool),
    /// `<string>`
    String(String),
    /// `["uuid", "<uuid>"]`
    Uuid(Uuid),
    /// `["named-uuid", "<id>"]`: refers to a row inserted earlier in the
    /// same transaction with that `uuid-name`.
    NamedUuid(String),
}

impl Atom {
    /// A string atom.
    pub fn string(s: impl Into<String>) -> Self {
        Atom::String(s.into())
    }

    /// A named-uuid atom (not validated; serialization sends it as is).
    pub fn named_uuid(s: impl Into<String>) -> Self {
        Atom::NamedUuid(s.into())
    }

    /// The atomic type (named-uuid counts as uuid).
    pub fn atomic_type(&self) -> AtomicType {
        match self {
            Atom::Integer(_) => AtomicType::Integer,
            Atom::Real(_) => AtomicType::Real,
            Atom::Boolean(_) => AtomicType::Boolean,
            Atom::String(_) => AtomicType::String,
            Atom::Uuid(_) | Atom::NamedUuid(_) => AtomicType::Uuid,
        }
    }

    /// The string, if this is a string atom.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer atom.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as f64, if this is an integer or real atom.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Atom::Integer(i) => Some(*i as f64),
            Atom::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean atom.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The UUID, if this is a uuid atom.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    /// Parses an `<atom>` from JSON.
    pub fn from_json(json: &Json) -> Result<Self, NotationError> {
        match json {
            Json::Bool(b) => Ok(Atom::Boolean(*b)),
            Json::String(s) => Ok(Atom::String(s.clone())),
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Atom::Integer(i))
                } else if n.is_u64() {
                    Err(NotationError::IntegerOutOfRange(n.to_string()))
                } else {
                    match n.as_f64() {
                        Some(f) if f.is_finite() => Ok(Atom::Real(f)),
                        _ => Err(NotationError::InvalidAtom(n.to_string())),
                    }
                }
            }
            Json::Array(a) => match a.as_slice() {
                [Json::String(tag), Json::String(s)] if tag == "uuid" => parse_uuid(s).map(Atom::Uuid),
                [Json::String(tag), Json::String(s)] if tag == "named-uuid" => {
                    if is_id(s) {
                        Ok(Atom::NamedUuid(s.clone()))
                    } else {
                        Err(NotationError::InvalidNamedUuid(s.clone()))
                    }
                }
                _ => Err(NotationError::InvalidAtom(truncate(json))),
            },
            Json::Null | Json::Object(_) => Err(NotationError::InvalidAtom(truncate(json))),
        }
    }

    /// The atom as JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Atom::Integer(i) => Json::from(*i),
            Atom::Real(r) => serde_json::Number::from_f64(*r).map(Json::Number).unwrap_or(Json::Null),
            Atom::Boolean(b) => Json::Bool(*b),
            Atom::String(s) => Json::String(s.clone()),
            Atom::Uuid(u) => Json::Array(vec!["uuid".into(), u.hyphenated().to_string().into()]),
            Atom::NamedUuid(n) => Json::Array(vec!["named-uuid".into(), n.clone().into()]),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
            Atom::NamedUuid(_) => 5,
        }
    }
}

/// Parses a UUID in the only form OVSDB uses: 8-4-4-4-12 hex digits.
pub fn parse_uuid(s: &str) -> Result<Uuid, NotationError> {
    let b = s.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !ok {
        return Err(NotationError::InvalidUuid(s.chars().take(64).collect()));
    }
    Uuid::parse_str(s).map_err(|_| NotationError::InvalidUuid(s.to_owned()))
}

/// `<id>`: `[_a-zA-Z][_a-zA-Z0-9]*`.
pub fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic()) && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub(crate) fn truncate(json: &Json) -> String {
    let mut s = json.to_string();
    if s.len() > 80 {
        let mut cut = 77;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            (Atom::NamedUuid(a), Atom::NamedUuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Atom {}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Atom::Integer(i) => i.hash(state),
            Atom::Real(r) => r.to_bits().hash(state),
            Atom::Boolean(b) => b.hash(state),
            Atom::String(s) | Atom::NamedUuid(s) => s.hash(state),
            Atom::Uuid(u) => u.hash(state),
        }
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Serialize for Atom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        Atom::from_json(&json).map_err(serde::de::Error::custom)
    }
}

impl From<i64> for Atom {
    fn from(v: i64) -> Self {
        Atom::Integer(v)
    }
}
impl From<f64> for Atom {
    fn from(v: f64) -> Self {
        Atom::Real(v)
    }
}
impl From<bool> for Atom {
    fn from(v: bool) -> Self {
        Atom::Boolean(v)
    }
}
impl From<&str> for Atom {
    fn from(v: &str) -> Self {
        Atom::String(v.to_owned())
    }
}
impl From<String> for Atom {
    fn from(v: String) -> Self {
        Atom::String(v)
    }
}
impl From<Uuid> for Atom {
    fn from(v: Uuid) -> Self {
        Atom::Uuid(v)
    }
}
