//! The catalog: every model object held in memory as a [`Snapshot`] and
//! written through to a [`Store`]. Reads never touch the store; a write
//! validates the whole request against a private copy of the snapshot,
//! commits every resulting change in one store transaction, and only then
//! publishes the new snapshot. A request therefore applies fully or not at
//! all, and what a reader sees has always been made durable first.
//!
//! Keys are `/objects/<kind plural>/<uuid>`, values the object's JSON.

use std::sync::{Arc, RwLock};

use stitch_model::inventory::{AnyObject, Kind};
use stitch_model::snapshot::{Change, Context, SystemContext};
use stitch_model::{ModelError, Snapshot};
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
    writer: Mutex<()>,
    revision: watch::Sender<u64>,
}

impl Catalog {
    /// Load every object from the store.
    pub async fn open(store: Arc<dyn Store>) -> Result<Self, CatalogError> {
        let (kvs, rev) = store.range(PREFIX).await?;
        let mut snap = Snapshot::default();
        snap.revision = rev;
        for kv in kvs {
            let rest = &kv.key[PREFIX.len()..];
            let kind = rest
                .split('/')
                .next()
                .and_then(Kind::from_plural)
                .ok_or_else(|| CatalogError::Corrupt { key: kv.key.clone(), reason: "unknown kind".into() })?;
            let obj = AnyObject::from_json(kind, &kv.value)
                .map_err(|e| CatalogError::Corrupt { key: kv.key.clone(), reason: e.to_string() })?;
            snap.mod_revisions.insert(obj.id(), kv.mod_revision);
            snap.load(obj);
        }
        let (tx, _) = watch::channel(rev);
        Ok(Catalog { store, current: RwLock::new(snap), writer: Mutex::new(()), revision: tx })
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
    pub async fn apply_with(
        &self,
        changes: Vec<Change>,
        ctx: &mut (dyn Context + Send),
    ) -> Result<(Snapshot, Vec<Change>), CatalogError> {
        self.update_with(|_| Ok::<_, ModelError>(changes), ctx).await.map_err(|e| match e {
            UpdateError::Catalog(c) => c,
            UpdateError::Refused(m) => CatalogError::Model(m),
        })
    }

    /// Compute changes from the latest snapshot and commit them, with no other
    /// write in between: `plan` runs under the writer lock, so decisions it
    /// makes from the snapshot (a free VLAN, a unique VNI) still hold when the
    /// changes are stored. `plan` may refuse with its own error type.
    pub async fn update<E>(
        &self,
        plan: impl FnOnce(&Snapshot) -> Result<Vec<Change>, E>,
    ) -> Result<(Snapshot, Vec<Change>), UpdateError<E>> {
        self.update_with(plan, &mut SystemContext).await
    }

    async fn update_with<E>(
        &self,
        plan: impl FnOnce(&Snapshot) -> Result<Vec<Change>, E>,
        ctx: &mut (dyn Context + Send),
    ) -> Result<(Snapshot, Vec<Change>), UpdateError<E>> {
        let _w = self.writer.lock().await;
        let base = self.snapshot();
        let changes = plan(&base).map_err(UpdateError::Refused)?;
        let (mut next, effective) =
            base.apply(changes, ctx).map_err(|e| UpdateError::Catalog(CatalogError::Model(e)))?;
        let ops: Vec<Op> = effective
            .iter()
            .map(|c| match c {
                Change::Put(o) => Op::Put {
                    key: key(o.kind(), &o.id()),
                    value: serde_json::to_vec(&o.to_json()).unwrap_or_default(),
                },
                Change::Delete(k, id) => Op::Delete { key: key(*k, id) },
            })
            .collect();
        let res = self.store.txn(Vec::new(), ops).await.map_err(|e| UpdateError::Catalog(e.into()))?;
        next.revision = res.revision;
        for c in &effective {
            if let Change::Put(o) = c {
                next.mod_revisions.insert(o.id(), res.revision);
            }
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
        self.revision.send_replace(res.revision);
        Ok((next, effective))
    }
}
