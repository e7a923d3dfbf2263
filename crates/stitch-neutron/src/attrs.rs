//! Request attribute handling as Neutron does it: each resource declares
//! which attributes may be set on create and on update; values are coerced
//! the way Neutron's converters do (`"5001"` is an integer, `"True"` a
//! boolean); anything else is a 400 that names the attribute.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::NeutronError;

/// How an attribute may be written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Settable on create and update.
    Both,
    /// Settable on create only.
    Create,
    /// Accepted and ignored (Neutron features Stitch does not model).
    Ignored,
    /// Server-computed: refused in requests.
    ReadOnly,
}

pub type AttrTable = &'static [(&'static str, Access)];

/// Check a request body's attributes against `table` for a create or an update.
pub fn check_allowed(body: &Map<String, Value>, table: AttrTable, create: bool, resource: &str) -> Result<(), NeutronError> {
    let mut unknown = Vec::new();
    for k in body.keys() {
        match table.iter().find(|(n, _)| n == k).map(|(_, a)| *a) {
            None => unknown.push(k.as_str()),
            Some(Access::ReadOnly) => {
                let verb = if create { "POST" } else { "PUT" };
                return Err(NeutronError::bad_request(format!("Attribute '{k}' not allowed in {verb}")));
            }
            Some(Access::Create) if !create => {
                return Err(NeutronError::bad_request(format!("Cannot update read-only attribute {k}")));
            }
            _ => {}
        }
    }
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(NeutronError::bad_request(format!("Unrecognized attribute(s) '{}' for {resource}", unknown.join(", "))));
    }
    Ok(())
}

fn invalid(attr: &str, reason: impl std::fmt::Display) -> NeutronError {
    NeutronError::bad_request(format!("Invalid input for {attr}. Reason: {reason}."))
}

pub fn string(body: &Map<String, Value>, attr: &str) -> Result<Option<String>, NeutronError> {
    match body.get(attr) {
        None => Ok(None),
        Some(Value::String(s)) if s.len() <= 255 => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(attr, "exceeds maximum length of 255")),
        Some(v) => Err(invalid(attr, format!("'{v}' is not a valid string"))),
    }
}

/// A string attribute that may also be JSON `null` (cleared).
pub fn nullable_string(body: &Map<String, Value>, attr: &str) -> Result<Option<Option<String>>, NeutronError> {
    match body.get(attr) {
        Some(Value::Null) => Ok(Some(None)),
        _ => Ok(string(body, attr)?.map(Some)),
    }
}

pub fn boolean(body: &Map<String, Value>, attr: &str) -> Result<Option<bool>, NeutronError> {
    let Some(v) = body.get(attr) else { return Ok(None) };
    let b = match v {
        Value::Bool(b) => *b,
        Value::Number(n) if n.as_i64() == Some(0) => false,
        Value::Number(n) if n.as_i64() == Some(1) => true,
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(invalid(attr, format!("'{s}' cannot be converted to boolean"))),
        },
        _ => return Err(invalid(attr, format!("'{v}' cannot be converted to boolean"))),
    };
    Ok(Some(b))
}

pub fn integer(body: &Map<String, Value>, attr: &str) -> Result<Option<i64>, NeutronError> {
    match body.get(attr) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| invalid(attr, format!("'{n}' is not an integer"))),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid(attr, format!("'{s}' is not an integer"))),
        Some(v) => Err(invalid(attr, format!("'{v}' is not an integer"))),
    }
}

pub fn uuid(body: &Map<String, Value>, attr: &str) -> Result<Option<Uuid>, NeutronError> {
    match body.get(attr) {
        None => Ok(None),
        Some(Value::String(s)) => parse_uuid(attr, s).map(Some),
        Some(v) => Err(invalid(attr, format!("'{v}' is not a valid UUID"))),
    }
}

pub fn parse_uuid(attr: &str, s: &str) -> Result<Uuid, NeutronError> {
    Uuid::try_parse(s).map_err(|_| invalid(attr, format!("'{s}' is not a valid UUID")))
}

pub fn list(body: &Map<String, Value>, attr: &str) -> Result<Option<Vec<Value>>, NeutronError> {
    match body.get(attr) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(v) => Err(invalid(attr, format!("'{v}' is not a list"))),
    }
}

pub fn dict(body: &Map<String, Value>, attr: &str) -> Result<Option<Map<String, Value>>, NeutronError> {
    match body.get(attr) {
        None | Some(Value::Null) => Ok(body.get(attr).map(|_| Map::new())),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(Map::new())),
        Some(v) => Err(invalid(attr, format!("'{v}' is not a dictionary"))),
    }
}

/// Parse a request body: `{"<singular>": {...}}` (one) or
/// `{"<plural>": [{...}, ...]}` (bulk). Returns the items and whether bulk.
pub fn envelope(body: &[u8], singular: &str, plural: &str) -> Result<(Vec<Map<String, Value>>, bool), NeutronError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| NeutronError::bad_request(format!("Malformed request body: {e}")))?;
    let Value::Object(mut top) = v else {
        return Err(NeutronError::bad_request("Malformed request body: expected a JSON object"));
    };
    if top.len() != 1 {
        return Err(NeutronError::bad_request(format!("Malformed request body: expected exactly one of '{singular}' or '{plural}'")));
    }
    let obj = |v: Value, what: &str| match v {
        Value::Object(m) => Ok(m),
        _ => Err(NeutronError::bad_request(format!("Malformed request body: '{what}' must be an object"))),
    };
    if let Some(one) = top.remove(singular) {
        return Ok((vec![obj(one, singular)?], false));
    }
    if let Some(many) = top.remove(plural) {
        let Value::Array(items) = many else {
            return Err(NeutronError::bad_request(format!("Malformed request body: '{plural}' must be a list")));
        };
        if items.is_empty() {
            return Err(NeutronError::bad_request(format!("Malformed request body: '{plural}' is empty")));
        }
        let items = items.into_iter().map(|i| obj(i, singular)).collect::<Result<_, _>>()?;
        return Ok((items, true));
    }
    Err(NeutronError::bad_request(format!("Resource body required: expected '{singular}' or '{plural}'")))
}

/// The body of an update: `{"<singular>": {...}}`; a bulk body is refused.
pub fn update_body(body: &[u8], singular: &str, plural: &str) -> Result<Map<String, Value>, NeutronError> {
    let (items, bulk) = envelope(body, singular, plural)?;
    if bulk {
        return Err(NeutronError::bad_request("Bulk update is not supported"));
    }
    Ok(items.into_iter().next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn coercions_follow_neutron() {
        let b = m(json!({"a": "5001", "b": 7, "c": "True", "d": 0, "e": "x", "f": 1.5, "g": "maybe"}));
        assert_eq!(integer(&b, "a").unwrap(), Some(5001));
        assert_eq!(integer(&b, "b").unwrap(), Some(7));
        assert!(integer(&b, "e").is_err());
        assert!(integer(&b, "f").is_err());
        assert_eq!(boolean(&b, "c").unwrap(), Some(true));
        assert_eq!(boolean(&b, "d").unwrap(), Some(false));
        assert!(boolean(&b, "g").is_err());
        assert!(string(&b, "b").is_err());
        assert_eq!(integer(&b, "missing").unwrap(), None);
    }

    #[test]
    fn envelopes() {
        assert_eq!(envelope(br#"{"port": {"a": 1}}"#, "port", "ports").unwrap().1, false);
        assert_eq!(envelope(br#"{"ports": [{"a": 1}, {}]}"#, "port", "ports").unwrap().0.len(), 2);
        for bad in [&br#"{"port": 1}"#[..], br#"{"ports": []}"#, br#"{"network": {}}"#, br#"[1]"#, br#"{"port": {}"#, br#"{"port": {}, "x": 1}"#] {
            assert!(envelope(bad, "port", "ports").is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
