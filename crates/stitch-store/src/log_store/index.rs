//! The log's key index: every live key and its [`Slot`], in memory.
//!
//! The catalog's keys are `/objects/<kind>/<uuid>`: some 200,000 at 100k
//! ports. Held as text, each is a 51-byte allocation beside its slot. A key
//! whose last segment is a UUID in its canonical form (lowercase,
//! hyphenated) is held as the number of its prefix and the UUID's 16 bytes
//! instead; anything else stays text. The order of the index is not the
//! keys' text order (ranges sort what they return); it is stable while the
//! store is open, which is all a rewrite needs.

use std::collections::{BTreeMap, HashMap};

use super::Slot;

/// A key as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
    /// `prefixes[.0]` followed by the canonical text of UUID `.1`.
    Id(u32, u128),
    Text(Box<str>),
}

#[derive(Default)]
pub(super) struct KeyIndex {
    map: BTreeMap<Key, Slot>,
    /// Only ever grows while the store is open: a [`Key::Id`] taken out
    /// of the index keeps its meaning.
    prefixes: Vec<Box<str>>,
    prefix_ids: HashMap<Box<str>, u32>,
}

/// `key` split as prefix + canonical UUID, when it is one.
fn split(key: &str) -> Option<(&str, u128)> {
    let at = key.len().checked_sub(36)?;
    let (prefix, tail) = (key.get(..at)?, key.get(at..)?);
    let id = uuid::Uuid::try_parse(tail).ok()?;
    // Only the canonical text maps back to itself.
    (id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()) == tail).then_some((prefix, id.as_u128()))
}

/// The text of `key`, given the prefixes it was made with.
pub(super) fn render(prefixes: &[Box<str>], key: &Key) -> String {
    match key {
        Key::Text(t) => t.to_string(),
        Key::Id(p, id) => {
            let mut s = String::with_capacity(prefixes[*p as usize].len() + 36);
            s.push_str(&prefixes[*p as usize]);
            s.push_str(uuid::Uuid::from_u128(*id).hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
            s
        }
    }
}

impl KeyIndex {
    /// The key `key` is held as; `None` when it cannot be in the index (a
    /// UUID key under a prefix never seen: such keys are never text).
    fn find(&self, key: &str) -> Option<Key> {
        match split(key) {
            Some((prefix, id)) => self.prefix_ids.get(prefix).map(|p| Key::Id(*p, id)),
            None => Some(Key::Text(key.into())),
        }
    }

    fn make(&mut self, key: &str) -> Key {
        match split(key) {
            Some((prefix, id)) => {
                let p = match self.prefix_ids.get(prefix) {
                    Some(p) => *p,
                    None => {
                        let p = self.prefixes.len() as u32;
                        self.prefixes.push(prefix.into());
                        self.prefix_ids.insert(prefix.into(), p);
                        p
                    }
                };
                Key::Id(p, id)
            }
            None => Key::Text(key.into()),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Slot> {
        self.map.get(&self.find(key)?)
    }

    pub(super) fn insert(&mut self, key: &str, slot: Slot) -> Option<Slot> {
        let k = self.make(key);
        self.map.insert(k, slot)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<Slot> {
        let k = self.find(key)?;
        self.map.remove(&k)
    }

    /// Forget every key (a base record follows); prefixes stay.
    pub(super) fn clear(&mut self) {
        self.map.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// In the index's order (see the module's doc).
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Key, &Slot)> {
        self.map.iter()
    }

    /// The slots, in the order of [`KeyIndex::iter`].
    pub(super) fn slots_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.map.values_mut()
    }

    pub(super) fn prefixes(&self) -> &[Box<str>] {
        &self.prefixes
    }

    /// Every key starting with `prefix`, as text, in text order.
    pub(super) fn range(&self, prefix: &str) -> Vec<(String, Slot)> {
        let mut out: Vec<(String, Slot)> = self
            .map
            .iter()
            .filter(|(k, _)| match k {
                Key::Text(t) => t.starts_with(prefix),
                // Cheap test first: a prefix that cannot match rules out its keys.
                Key::Id(p, _) => {
                    let kp = &self.prefixes[*p as usize];
                    kp.starts_with(prefix) || prefix.starts_with(&**kp)
                }
            })
            .map(|(k, s)| (render(&self.prefixes, k), *s))
            .filter(|(k, _)| k.starts_with(prefix))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
