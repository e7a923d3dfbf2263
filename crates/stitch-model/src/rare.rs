//! Attributes most objects leave at their default, kept out of line.
//!
//! A port is stored ~100,000 times at fabric scale, and most of its
//! attributes are empty on most ports: a description, a QoS policy of its
//! own, inactive bindings (a live migration in progress), a binding failure,
//! a segment or a port profile. Held inline, those empty values cost ~100
//! bytes a port (issue 8). [`Rare`] keeps them in one box that exists only
//! when one of them is set, reads as the default when it does not, and is
//! (de)serialized as the fields themselves (use it with `#[serde(flatten)]`),
//! so the stored form does not change.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A group of attributes with a `'static` value of its own that means
/// "all at their default".
pub trait RareFields: Clone + PartialEq + Sized + 'static {
    /// Every attribute at its default.
    fn empty() -> &'static Self;
}

/// `T`, boxed when any of its attributes is set; nothing when none is.
/// Reads (`Deref`) see the defaults when empty; a write (`DerefMut`)
/// makes the box.
#[derive(Clone, Debug)]
pub struct Rare<T: RareFields>(Option<Box<T>>);

impl<T: RareFields> Rare<T> {
    /// Drops the box when every attribute in it is back at its default
    /// (a write through `DerefMut` makes one even to clear a field).
    pub fn tidy(&mut self) {
        if self.0.as_deref().is_some_and(|t| t == T::empty()) {
            self.0 = None;
        }
    }

    /// Whether a box is held (for tests and memory accounting).
    pub fn is_boxed(&self) -> bool {
        self.0.is_some()
    }
}

impl<T: RareFields> Default for Rare<T> {
    fn default() -> Self {
        Rare(None)
    }
}

impl<T: RareFields> From<T> for Rare<T> {
    fn from(t: T) -> Self {
        if &t == T::empty() { Rare(None) } else { Rare(Some(Box::new(t))) }
    }
}

impl<T: RareFields> Deref for Rare<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_deref().unwrap_or(T::empty())
    }
}

impl<T: RareFields> DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(|| Box::new(T::empty().clone()))
    }
}

/// Equal when the attributes are: an empty box equals no box.
impl<T: RareFields> PartialEq for Rare<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: RareFields + Serialize> Serialize for Rare<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de, T: RareFields + Deserialize<'de>> Deserialize<'de> for Rare<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Rare::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Extra {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n: Option<u32>,
    }

    static EMPTY: Extra = Extra { note: String::new(), n: None };

    impl RareFields for Extra {
        fn empty() -> &'static Self {
            &EMPTY
        }
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        extra: Rare<Extra>,
    }

    #[test]
    fn empty_takes_no_box_and_reads_as_default() {
        let o: Outer = serde_json::from_str(r#"{"name":"a"}"#).unwrap();
        assert!(o.extra.0.is_none());
        assert_eq!(o.extra.note, "");
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"name":"a"}"#);
        // Written at their defaults: still no box.
        let o: Outer = serde_json::from_str(r#"{"name":"a","note":""}"#).unwrap();
        assert!(o.extra.0.is_none());
    }

    #[test]
    fn set_fields_round_trip_flat() {
        let o: Outer = serde_json::from_str(r#"{"name":"a","note":"hi","n":3}"#).unwrap();
        assert_eq!((o.extra.note.as_str(), o.extra.n), ("hi", Some(3)));
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"name":"a","note":"hi","n":3}"#);
    }

    #[test]
    fn writes_make_the_box_and_equality_ignores_it() {
        let mut a = Outer { name: "a".into(), extra: Rare::default() };
        let b = Outer { name: "a".into(), extra: Rare(Some(Box::default())) };
        assert_eq!(a, b, "an empty box is no box");
        a.extra.n = Some(1);
        assert!(a.extra.is_boxed());
        assert_ne!(a, b);
        a.extra.n = None;
        a.extra.tidy();
        assert!(!a.extra.is_boxed(), "tidy drops a box of defaults");
        a.extra.note = "kept".into();
        a.extra.tidy();
        assert_eq!(a.extra.note, "kept");
    }
}
