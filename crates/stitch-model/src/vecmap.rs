//! [`VecMap`]: a small ordered map kept as one sorted, exactly sized slice,
//! and [`JsonObject`], a JSON object kept so.
//!
//! The maps Stitch keeps by the hundred thousand are small: a port's
//! `binding:profile` and `binding:vif_details` (two to four keys), and a
//! switch row's `other_config` (Stitch's owner marker). A `BTreeMap`'s
//! first node reserves room for eleven entries whatever it holds (about
//! 630 bytes for a JSON object, 530 for a map of two strings: more than
//! half of what a bound port cost in the snapshot, issue 8). A `VecMap`
//! costs one block of exactly its entries, nothing when empty; it reads
//! like a `BTreeMap` (ordered iteration, `get` by a borrowed key) and
//! (de)serializes as the same map. Inserting or removing moves the
//! entries after it: fine for maps of a few keys, not for big ones.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use smol_str::SmolStr;

/// A map of few entries: keys unique and in order, no spare capacity.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VecMap<K, V>(Box<[(K, V)]>);

/// A JSON object (`binding:profile`, `binding:vif_details`). Its keys are
/// short names (`vlan`, `port_filter`, `pci_slot`), kept inline.
pub type JsonObject = VecMap<SmolStr, Value>;

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Box::default())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub fn new() -> Self {
        VecMap::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Sets `key`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut v = std::mem::take(&mut self.0).into_vec();
                v.insert(i, (key, value));
                self.0 = v.into_boxed_slice();
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        let mut v = std::mem::take(&mut self.0).into_vec();
        let (_, old) = v.remove(i);
        self.0 = v.into_boxed_slice();
        Some(old)
    }

    pub fn clear(&mut self) {
        self.0 = Box::default();
    }
}

impl<K, V> VecMap<K, V> {
    /// The entries, keys in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator + Clone {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Like `BTreeMap`: panics when `key` is missing.
impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no such key in the map")
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// Later entries win over earlier ones with the same key, as in a map.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(K, V)> = iter.into_iter().collect();
        // Stable: equal keys keep their order, and the last one is kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(v.len());
        for e in v {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        VecMap(out.into_boxed_slice())
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_vec().into_iter()
    }
}

impl From<Map<String, Value>> for JsonObject {
    fn from(m: Map<String, Value>) -> Self {
        m.into_iter().map(|(k, v)| (SmolStr::from(k), v)).collect()
    }
}

impl From<JsonObject> for Value {
    fn from(o: JsonObject) -> Self {
        Value::Object(o.into_iter().map(|(k, v)| (String::from(k), v)).collect())
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Vis<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<VecMap<K, V>, A::Error> {
                let mut v: Vec<(K, V)> = Vec::with_capacity(a.size_hint().unwrap_or(0).min(64));
                while let Some(e) = a.next_entry::<K, V>()? {
                    v.push(e);
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(Vis(PhantomData))
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
        assert_eq!(Value::from(ours), Value::Object(theirs));
    }

    #[test]
    fn reads_in_key_order_like_a_btreemap() {
        let m: VecMap<u16, String> = [(20, "b".to_string()), (10, "a".to_string()), (30, "c".to_string()), (20, "z".to_string())].into();
        assert_eq!(m.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(), [(10, "a"), (20, "z"), (30, "c")]);
        assert_eq!(m[&30], "c");
        assert_eq!(format!("{m:?}"), r#"{10: "a", 20: "z", 30: "c"}"#);
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
                    Some(v) => prop_assert_eq!(ours.insert(k.as_str().into(), json!(v)), theirs.insert(k, json!(v))),
                    None => prop_assert_eq!(ours.remove(k.as_str()), theirs.remove(&k)),
                }
                prop_assert_eq!(ours.len(), theirs.len());
            }
            prop_assert_eq!(Value::from(ours.clone()), Value::Object(theirs.clone()));
            prop_assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&theirs).unwrap());
            let back: JsonObject = serde_json::from_str(&serde_json::to_string(&theirs).unwrap()).unwrap();
            prop_assert_eq!(&back, &ours);
            prop_assert_eq!(JsonObject::from(theirs.clone()), ours);
        }
    }
}
