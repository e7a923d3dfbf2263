//! Stitch's store: an etcd-shaped, revisioned, watchable key-value interface
//! ([`Store`]) with an embedded durable backend ([`RedbStore`]), an etcd
//! backend (`EtcdStore`, feature `etcd`, on by default) and an in-memory
//! one for fast tests ([`MemStore`]), plus the [`Catalog`] that keeps
//! the model objects in memory and writes them through.
//!
//! Semantics follow etcd v3: every successful write transaction increments
//! the store revision by one; each key carries `create_revision`,
//! `mod_revision` and `version`; compares are evaluated atomically with the
//! writes; watchers receive every change after a given revision, in order,
//! one batch per revision.

mod catalog;
#[cfg(feature = "etcd")]
mod etcd;
mod log_store;
mod mem;
mod redb_store;
mod types;
mod watch;

pub use catalog::{Catalog, CatalogError, UpdateError};
#[cfg(feature = "etcd")]
pub use etcd::EtcdStore;
pub use log_store::{LogOptions, LogStore};
pub use mem::MemStore;
pub use redb_store::RedbStore;
pub use types::*;
