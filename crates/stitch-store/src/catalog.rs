//! The catalog: every model object held in memory as a [`Snapshot`] and
//! written through to a [`Store`]. Reads never touch the store; a write
//! validates the whole request against a private copy of the snapshot,
//! commits every resulting change in one store transaction, and only then
//! publishes the new snapshot. A request therefore applies fully or not at
//! all, and what a reader sees has always been made durable first.
//!
//! Keys are `/objects/<kind plural>/<uuid>`, values the object's JSON.
//!
//! Group commit: writes are planned one at a time (under the writer lock,
//! each against the state every earlier write left, committed or not), but
//! concurrent writes share one store transaction and so one fsync. While a
//! transaction is on its way to disk, the writes that arrive gather into the
//! next one; each caller is answered only once its own changes are durable.
//! If a transaction fails, every write in it fails, and so does the batch
//! gathered on top of it (it was planned against state that never landed).

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use stitch_model::inventory::{AnyObject, Kind};
use stitch_model::snapshot::{Change, Context, SystemContext};
use stitch_model::{Draft, ModelError, Snapshot};
use thiserror::Error;
use tokio::sync::{Mutex, watch};

use crate::types::{Op, Store, StoreError};

pub const PREFIX: &str = "/objects/";

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored object {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Why [`Catalog::update`] stored nothing.
#[derive(Debug, Error)]
pub enum UpdateError<E> {
    /// The planning function refused.
    #[error("{0}")]
    Refused(E),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

fn key(kind: Kind, id: &uuid::Uuid) -> String {
    format!("{PREFIX}{}/{id}", kind.plural())
}

/// Model objects in memory, written through to a store.
pub struct Catalog {
    store: Arc<dyn Store>,
    current: RwLock<Snapshot>,
    writer: Mutex<Gather>,
    /// Held while a batch is being written: one store transaction at a time.
    flush: Mutex<()>,
    revision: watch::Sender<u64>,
}

/// `mod_revision` of an object written by a batch not yet committed: later
/// than any real revision, so nothing counts it as already applied.
const PENDING: u64 = u64::MAX;

/// Writes planned but not yet committed.
#[derive(Default)]
struct Gather {
    /// The newest state, with every planned write applied (`None`: the
    /// committed snapshot is the newest).
    head: Option<Snapshot>,
    /// The batch still gathering writes, if any.
    batch: Option<Batch>,
    next_id: u64,
}

type Outcome = Option<Result<Snapshot, StoreError>>;

struct Batch {
    id: u64,
    ops: Vec<Op>,
    puts: BTreeSet<uuid::Uuid>,
    done: watch::Sender<Outcome>,
}

impl Catalog {
    /// Load every object from the store.
    pub async fn open(store: Arc<dyn Store>) -> Result<Self, CatalogError> {
        // Streamed: the records of a big store are never all in memory
        // beside the snapshot they become.
        let (mut kvs, rev) = store.range_stream(PREFIX).await?;
        let mut snap = Snapshot::default();
        snap.revision = rev;
        while let Some(kv) = kvs.recv().await {
            let kv = kv?;
            let rest = &kv.key[PREFIX.len()..];
            let kind = rest
                .split('/')
                .next()
                .and_then(Kind::from_plural)
                .ok_or_else(|| CatalogError::Corrupt { key: kv.key.clone(), reason: "unknown kind".into() })?;
            let obj = AnyObject::from_json(kind, &kv.value).map_err(|e| CatalogError::Corrupt { key: kv.key.clone(), reason: e.to_string() })?;
            snap.mod_revisions.insert(obj.id(), kv.mod_revision);
            snap.load(obj);
        }
        let (tx, _) = watch::channel(rev);
        Ok(Catalog { store, current: RwLock::new(snap), writer: Mutex::new(Gather::default()), flush: Mutex::new(()), revision: tx })
    }

    /// The latest committed snapshot (O(1) clone).
    pub fn snapshot(&self) -> Snapshot {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Notified with the new revision after every committed write.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Validate and commit `changes` as one all-or-nothing transaction.
    /// Returns the new snapshot and every change stored (including implied ones).
    pub async fn apply(&self, changes: Vec<Change>) -> Result<(Snapshot, Vec<Change>), CatalogError> {
        self.apply_with(changes, &mut SystemContext).await
    }

    /// As [`Catalog::apply`] with an explicit id/clock source.
    pub async fn apply_with(&self, changes: Vec<Change>, ctx: &mut (dyn Context + Send)) -> Result<(Snapshot, Vec<Change>), CatalogError> {
        self.update_with(|_| Ok::<_, ModelError>(changes), ctx).await.map_err(|e| match e {
            UpdateError::Catalog(c) => c,
            UpdateError::Refused(m) => CatalogError::Model(m),
        })
    }

    /// Compute changes from the latest snapshot and commit them, with no other
    /// write in between: `plan` runs under the writer lock, so decisions it
    /// makes from the snapshot (a free VLAN, a unique VNI) still hold when the
    /// changes are stored. `plan` may refuse with its own error type.
    pub async fn update<E>(&self, plan: impl FnOnce(&Snapshot) -> Result<Vec<Change>, E>) -> Result<(Snapshot, Vec<Change>), UpdateError<E>> {
        self.update_with(plan, &mut SystemContext).await
    }

    async fn update_with<E>(
        &self,
        plan: impl FnOnce(&Snapshot) -> Result<Vec<Change>, E>,
        ctx: &mut (dyn Context + Send),
    ) -> Result<(Snapshot, Vec<Change>), UpdateError<E>> {
        self.update_in(|d| {
            let changes = plan(d.snap()).map_err(UpdateError::Refused)?;
            d.apply(changes, ctx).map_err(|e| UpdateError::Catalog(CatalogError::Model(e)))
        })
        .await
    }

    /// As [`Catalog::update`], for a request that applies its changes to a
    /// [`Draft`] of the latest snapshot as it decides them (every change is
    /// validated by [`Draft::apply`] on its way in): the catalog stores the
    /// draft's changes and publishes its snapshot without applying the
    /// changes again. `plan` runs under the writer lock; when it fails,
    /// nothing is stored.
    pub async fn update_draft<E>(&self, plan: impl FnOnce(&mut Draft) -> Result<(), E>) -> Result<(Snapshot, Vec<Change>), UpdateError<E>> {
        self.update_in(|d| plan(d).map_err(UpdateError::Refused)).await
    }

    async fn update_in<E>(&self, plan: impl FnOnce(&mut Draft) -> Result<(), UpdateError<E>>) -> Result<(Snapshot, Vec<Change>), UpdateError<E>> {
        let (mut done, lead, id, effective) = {
            let mut g = self.writer.lock().await;
            let base = g.head.clone().unwrap_or_else(|| self.snapshot());
            let mut draft = Draft::new(&base);
            let draft_id = draft.id();
            plan(&mut draft)?;
            if draft.id() != draft_id {
                // `plan` swapped in a draft of something else: store nothing.
                return Err(UpdateError::Catalog(CatalogError::Model(ModelError::invalid("draft", "the request replaced the draft it was given"))));
            }
            let (mut next, effective) = draft.into_parts();
            let lead = g.batch.is_none();
            if lead {
                g.next_id += 1;
                let (done, _) = watch::channel(None);
                g.batch = Some(Batch { id: g.next_id, ops: Vec::new(), puts: BTreeSet::new(), done });
            }
            let b = g.batch.as_mut().expect("a batch is gathering");
            for c in &effective {
                b.ops.push(match c {
                    Change::Put(o) => {
                        next.mod_revisions.insert(o.id(), PENDING);
                        b.puts.insert(o.id());
                        Op::Put { key: key(o.kind(), &o.id()), value: o.to_json_vec() }
                    }
                    Change::Delete(k, id) => Op::Delete { key: key(*k, id) },
                });
            }
            let done = b.done.subscribe();
            let id = b.id;
            g.head = Some(next);
            (done, lead, id, effective)
        };
        if lead {
            self.flush_batch(id).await;
        }
        let outcome = done.wait_for(Option::is_some).await.map(|o| o.clone()).ok().flatten();
        match outcome {
            Some(Ok(snap)) => Ok((snap, effective)),
            Some(Err(e)) => Err(UpdateError::Catalog(e.into())),
            None => Err(UpdateError::Catalog(StoreError::Closed.into())),
        }
    }

    /// Write batch `id` (when it is still the one gathering) in one store
    /// transaction, publish the snapshot it produces, and answer its writers.
    async fn flush_batch(&self, id: u64) {
        let _f = self.flush.lock().await;
        let (batch, head) = {
            let mut g = self.writer.lock().await;
            match g.batch.take_if(|b| b.id == id) {
                // Poisoned meanwhile (the batch under it failed): answered.
                None => return,
                Some(b) => (b, g.head.clone().expect("a gathered batch has a head")),
            }
        };
        let res = self.store.txn(Vec::new(), batch.ops).await;
        let mut g = self.writer.lock().await;
        match res {
            Ok(res) => {
                let mut next = head;
                next.revision = res.revision;
                for p in &batch.puts {
                    next.mod_revisions.insert(*p, res.revision);
                }
                // The state planned on top of this batch now has its
                // revision too, except for objects written again since.
                let Gather { head: newest, batch: gathering, .. } = &mut *g;
                if let Some(h) = newest.as_mut() {
                    let again = gathering.as_ref().map(|b| &b.puts);
                    for p in batch.puts.iter().filter(|p| again.is_none_or(|a| !a.contains(p))) {
                        h.mod_revisions.insert(*p, res.revision);
                    }
                    h.revision = res.revision;
                }
                if g.batch.is_none() {
                    g.head = None; // the committed snapshot is the newest again
                }
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
                drop(g);
                self.revision.send_replace(res.revision);
                batch.done.send_replace(Some(Ok(next)));
            }
            Err(e) => {
                g.head = None;
                if let Some(b) = g.batch.take() {
                    b.done.send_replace(Some(Err(StoreError::Backend(format!("an earlier write of the same group commit failed: {e}")))));
                }
                drop(g);
                batch.done.send_replace(Some(Err(e)));
            }
        }
    }
}
