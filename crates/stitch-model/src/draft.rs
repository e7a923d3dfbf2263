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
use crate::snapshot::{Change, Context, Snapshot, SystemContext};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A snapshot under change; see the module documentation.
///
/// Changes are applied to the draft's own snapshot in place: only the
/// first write to a tree node after the draft was made copies it (the base
/// still holds it); later writes to it change it where it is. Invariant:
/// `snap` is `base` with `changes` applied. Rolling back (a failed apply
/// or attempt) replays the changes that remain onto the base, which costs
/// as much as applying them did, but only on failure.
#[derive(Debug)]
pub struct Draft {
    id: u64,
    base: Snapshot,
    snap: Snapshot,
    /// Every change stored so far, implied ones included, in order.
    changes: Vec<Change>,
}

impl Draft {
    /// A draft of `base` with no change yet (O(1): snapshots clone cheaply).
    pub fn new(base: &Snapshot) -> Self {
        Draft { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), base: base.clone(), snap: base.clone(), changes: Vec::new() }
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
        let len = self.changes.len();
        match self.snap.apply_in_place(changes, ctx) {
            Ok(effective) => {
                self.changes.extend(effective);
                Ok(())
            }
            Err(e) => {
                // The changes before the failing one are in `snap`, not in
                // `changes`: rebuild the state `changes` describe.
                self.restore(len);
                Err(e)
            }
        }
    }

    /// Run `f` on the draft; when it fails, undo whatever it applied, so
    /// the draft is as before the call.
    pub fn attempt<T, E>(&mut self, f: impl FnOnce(&mut Draft) -> Result<T, E>) -> Result<T, E> {
        let (id, len) = (self.id, self.changes.len());
        let out = f(self);
        // Nested attempts and failed applies keep `snap` equal to `base`
        // with `changes` applied, so only changes past `len` need undoing.
        if out.is_err() && self.id == id && self.changes.len() > len {
            self.restore(len);
        }
        out
    }

    /// Keep the first `len` changes and rebuild `snap` from them.
    fn restore(&mut self, len: usize) {
        self.changes.truncate(len);
        let mut snap = self.base.clone();
        // The same changes, in the same order, from the same base: they
        // applied before, so they apply again, to the same state (asking
        // the context for nothing: every object they create is in them).
        if let Err(e) = snap.apply_in_place(self.changes.clone(), &mut SystemContext) {
            unreachable!("replaying a draft's own changes failed: {e}");
        }
        self.snap = snap;
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
