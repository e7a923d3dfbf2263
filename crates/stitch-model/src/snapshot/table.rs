//! One kind's objects in a [`Snapshot`](super::Snapshot): the rows by id,
//! and the name index that keeps names unique where the kind wants it.

use std::sync::Arc;

use imbl::OrdMap;
use uuid::Uuid;

use crate::inventory::{Object, Spec};

/// The objects of one kind, with the name index that keeps names unique.
///
/// Rows are shared (`Arc`): a write to a snapshot copies the tree nodes on
/// its path, and a node holds up to 64 rows, so copying one must not copy
/// every port's strings and maps (a bulk request writes thousands of rows,
/// each into a fresh copy of the nodes it touches). Names are `Arc<str>`
/// for the same reason: copying a node of the name index then allocates
/// nothing.
#[derive(Clone, Debug)]
pub struct Table<S: Spec> {
    rows: OrdMap<Uuid, Arc<Object<S>>>,
    names: OrdMap<(Option<Uuid>, Arc<str>), Uuid>,
}

impl<S: Spec> Default for Table<S> {
    fn default() -> Self {
        Table { rows: OrdMap::new(), names: OrdMap::new() }
    }
}

impl<S: Spec> Table<S> {
    pub fn get(&self, id: &Uuid) -> Option<&Object<S>> {
        self.rows.get(id).map(|o| &**o)
    }
    /// Look an object up by name within its scope (`None` for global names).
    /// Always `None` for kinds whose names are not unique.
    pub fn by_name(&self, scope: Option<Uuid>, name: &str) -> Option<&Object<S>> {
        self.names.get(&(scope, Arc::from(name))).and_then(|id| self.get(id))
    }
    pub fn iter(&self) -> impl Iterator<Item = &Object<S>> {
        self.rows.values().map(|o| &**o)
    }
    /// The objects after id `after` (all when `None`), in id order.
    pub fn iter_after(&self, after: Option<Uuid>) -> impl Iterator<Item = &Object<S>> {
        use std::ops::Bound;
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.rows.range((lower, Bound::Unbounded)).map(|(_, o)| &**o)
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// True when both tables are the same rows in memory (one is the
    /// other, or a copy not written since). False says nothing: equal
    /// rows in different memory compare false.
    pub fn same_as(&self, other: &Table<S>) -> bool {
        self.rows.ptr_eq(&other.rows)
    }
    pub(super) fn insert(&mut self, o: Object<S>) {
        if S::UNIQUE_NAMES {
            // A rename only: most writes keep the name, and leaving its
            // entry alone copies no node of the name index.
            let was = self.rows.get(&o.id).map(|old| (old.spec.name_scope(), old.spec.name()));
            if was != Some((o.spec.name_scope(), o.spec.name())) {
                if let Some((scope, name)) = was {
                    self.names.remove(&(scope, Arc::from(name)));
                }
                self.names.insert((o.spec.name_scope(), Arc::from(o.spec.name())), o.id);
            }
        }
        self.rows.insert(o.id, Arc::new(o));
    }
    pub(super) fn remove(&mut self, id: &Uuid) -> Option<Object<S>> {
        let old = Arc::unwrap_or_clone(self.rows.remove(id)?);
        if S::UNIQUE_NAMES {
            self.names.remove(&(old.spec.name_scope(), Arc::from(old.spec.name())));
        }
        Some(old)
    }
}
