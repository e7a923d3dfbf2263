//! A write in preparation: a snapshot together with the changes that
//! produced it from a base snapshot, where every change went through
//! [`Snapshot::apply`] (fully validated) as it was added.
//!
//! The binding engine decides a request's changes step by step, each step
//! reading the state the earlier ones left (a trunk's subports after their
//! parent, item 2 of a bulk request after item 1). A `Draft` lets those
//! steps and the catalog that stores the result share one application of
//! each change instead of re-applying the whole list at every level: the
//! catalog hands a `Draft` of its newest state to the request, and stores
//! [`Draft::into_parts`] as it is. Since `Snapshot::apply` checks its
//! changes one by one against the state the previous ones produced, applying
//! changes to a draft in several calls validates exactly what one call with
//! all of them would, and the draft's snapshot is the one that call returns.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ModelError;
use crate::snapshot::{Change, Context, Snapshot};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A snapshot under change; see the module documentation.
#[derive(Debug)]
pub struct Draft {
    id: u64,
    snap: Snapshot,
    /// Every change stored so far, implied ones included, in order.
    changes: Vec<Change>,
}

impl Draft {
    /// A draft of `base` with no change yet (O(1): snapshots clone cheaply).
    pub fn new(base: &Snapshot) -> Self {
        Draft { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), snap: base.clone(), changes: Vec::new() }
    }

    /// Identifies this draft (unique in the process): whoever created a
    /// draft can check it gets the same one back.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The state with every change so far applied.
    pub fn snap(&self) -> &Snapshot {
        &self.snap
    }

    /// Every change so far, including the ones they implied.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Validate `changes` against the current state and apply them, all or
    /// none (on error the draft is unchanged).
    pub fn apply(&mut self, changes: Vec<Change>, ctx: &mut dyn Context) -> Result<(), ModelError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (next, effective) = self.snap.apply(changes, ctx)?;
        self.snap = next;
        self.changes.extend(effective);
        Ok(())
    }

    /// Run `f` on the draft; when it fails, undo whatever it applied
    /// (O(1)), so the draft is as before the call.
    pub fn attempt<T, E>(&mut self, f: impl FnOnce(&mut Draft) -> Result<T, E>) -> Result<T, E> {
        let (id, snap, len) = (self.id, self.snap.clone(), self.changes.len());
        let out = f(self);
        // Nested attempts only append past `len` or go back to a point at
        // or after it, so the first `len` changes still lead to `snap`.
        if out.is_err() && self.id == id && self.changes.len() >= len {
            self.snap = snap;
            self.changes.truncate(len);
        }
        out
    }

    /// The final state and every change that leads to it from the base.
    pub fn into_parts(self) -> (Snapshot, Vec<Change>) {
        (self.snap, self.changes)
    }

    /// Every change that leads from the base to the current state.
    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }
}
