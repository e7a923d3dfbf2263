//! One integration-test binary for the store: the shared suite runs against
//! every backend (`suite!` instantiates it per backend), then the
//! embedded-only durability tests and the catalog tests.

mod catalog;
mod durability;
#[macro_use]
mod suite;

use std::sync::Arc;

use stitch_store::{MemStore, RedbStore, Store};

/// A fresh store of one backend, and whatever keeps it alive (its temp dir).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub _dir: Option<tempfile::TempDir>,
}

pub fn mem() -> Fixture {
    Fixture { store: Arc::new(MemStore::new()), _dir: None }
}

pub fn redb() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(&dir.path().join("s.redb")).expect("open");
    Fixture { store: Arc::new(store), _dir: Some(dir) }
}

mod mem_backend {
    suite!(crate::mem);
}

mod redb_backend {
    suite!(crate::redb);
}
