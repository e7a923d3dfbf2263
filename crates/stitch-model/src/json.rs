//! [`JsonObject`]: a JSON object kept as a sorted, exactly sized list.
//!
//! Ports carry two free-form objects, `binding:profile` (from the client)
//! and `binding:vif_details` (from the engine), usually of two to four
//! keys. `serde_json::Map` is a `BTreeMap`, whose first node reserves room
//! for eleven entries: about 630 bytes for any non-empty map, more than
//! half of what a bound port cost in the snapshot (issue 8: 1.1 KiB per
//! port, 107 MiB at 100,000 ports). This type costs one block of 48 bytes
//! per entry, and nothing when empty, and reads and (de)serializes as the
//! same JSON object, keys in order.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A JSON object: keys unique and in order, no spare capacity.
#[derive(Clone, Default, PartialEq)]
pub struct JsonObject(Box<[(Box<str>, Value)]>);

impl JsonObject {
    pub fn new() -> Self {
        JsonObject::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut v = std::mem::take(&mut self.0).into_vec();
                v.insert(i, (key.into_boxed_str(), value));
                self.0 = v.into_boxed_slice();
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        let mut v = std::mem::take(&mut self.0).into_vec();
        let (_, old) = v.remove(i);
        self.0 = v.into_boxed_slice();
        Some(old)
    }

    pub fn clear(&mut self) {
        self.0 = Box::default();
    }

    /// The entries, keys in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    /// The same object as a `serde_json::Map`.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter().map(|(k, v)| (k.to_owned(), v.clone())).collect()
    }
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Like `serde_json::Map`: panics when `key` is missing.
impl std::ops::Index<&str> for JsonObject {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or_else(|| panic!("no key {key:?} in JSON object"))
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for JsonObject {
    /// Later entries win over earlier ones with the same key, as in a map.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut v: Vec<(Box<str>, Value)> = iter.into_iter().map(|(k, v)| (k.into().into_boxed_str(), v)).collect();
        // Stable: equal keys keep their order, and the last one is kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Box<str>, Value)> = Vec::with_capacity(v.len());
        for e in v {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        JsonObject(out.into_boxed_slice())
    }
}

impl From<Map<String, Value>> for JsonObject {
    fn from(m: Map<String, Value>) -> Self {
        m.into_iter().collect()
    }
}

impl From<JsonObject> for Value {
    fn from(o: JsonObject) -> Self {
        Value::Object(o.0.into_vec().into_iter().map(|(k, v)| (k.into_string(), v)).collect())
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<JsonObject, A::Error> {
                let mut v: Vec<(String, Value)> = Vec::with_capacity(a.size_hint().unwrap_or(0).min(64));
                while let Some(e) = a.next_entry::<String, Value>()? {
                    v.push(e);
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_as_a_json_object() {
        let o: JsonObject = serde_json::from_value(json!({"vlan": "12", "port_filter": false})).unwrap();
        assert_eq!(o["vlan"], "12");
        assert_eq!(o.get("port_filter"), Some(&json!(false)));
        assert_eq!(o.get("mtu"), None);
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"port_filter":false,"vlan":"12"}"#);
        assert_eq!(Value::from(o), json!({"vlan": "12", "port_filter": false}));
        assert!(serde_json::from_value::<JsonObject>(json!(["vlan"])).is_err());
    }

    #[test]
    fn the_last_of_repeated_keys_wins_as_in_serde_json() {
        let text = r#"{"a": 1, "b": 2, "a": 3}"#;
        let ours: JsonObject = serde_json::from_str(text).unwrap();
        let theirs: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(ours.to_map(), theirs);
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-e]{0,2}"
    }

    proptest! {
        /// Any sequence of inserts and removes leaves the same entries as
        /// `serde_json::Map` does, and the same JSON text.
        #[test]
        fn behaves_as_serde_json_map(ops in proptest::collection::vec((key(), proptest::option::of(0i64..100)), 0..40)) {
            let mut ours = JsonObject::new();
            let mut theirs = Map::new();
            for (k, v) in ops {
                match v {
                    Some(v) => prop_assert_eq!(ours.insert(k.clone(), json!(v)), theirs.insert(k, json!(v))),
                    None => prop_assert_eq!(ours.remove(&k), theirs.remove(&k)),
                }
                prop_assert_eq!(ours.len(), theirs.len());
            }
            prop_assert_eq!(ours.to_map(), theirs.clone());
            prop_assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&theirs).unwrap());
            let back: JsonObject = serde_json::from_str(&serde_json::to_string(&theirs).unwrap()).unwrap();
            prop_assert_eq!(&back, &ours);
            prop_assert_eq!(JsonObject::from(theirs.clone()), ours);
        }
    }
}
