//! One integration-test binary for the store: the shared suite runs against
//! every backend (`suite!` instantiates it per backend: memory, redb, the log, and a
//! real etcd started per test), then the embedded-only durability tests and
//! the catalog tests.

mod catalog;
mod durability;
mod log;
#[macro_use]
mod suite;

use std::sync::Arc;
use std::time::{Duration, Instant};

use stitch_store::{EtcdStore, LogStore, MemStore, RedbStore, Store};
use stitch_testkit::Etcd;

/// A fresh store of one backend, and whatever keeps it alive (its temp dir,
/// its server).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub _dir: Option<tempfile::TempDir>,
    pub _server: Option<Etcd>,
}

pub fn mem() -> Option<Fixture> {
    Some(Fixture { store: Arc::new(MemStore::new()), _dir: None, _server: None })
}

pub fn redb() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(&dir.path().join("s.redb")).expect("open");
    Some(Fixture { store: Arc::new(store), _dir: Some(dir), _server: None })
}

pub fn log() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LogStore::open(&dir.path().join("s.log")).expect("open");
    Some(Fixture { store: Arc::new(store), _dir: Some(dir), _server: None })
}

pub fn etcd() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Etcd::start(dir.path())?;
    let url = server.url.clone();
    // The suite's tests are async; connecting needs a runtime of its own here.
    let store = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let t = Instant::now();
        loop {
            match rt.block_on(EtcdStore::connect(vec![url.clone()], "/stitch-test/")) {
                Ok(s) => return s,
                Err(e) if t.elapsed() > Duration::from_secs(30) => panic!("etcd never answered: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    })
    .join()
    .unwrap();
    Some(Fixture { store: Arc::new(store), _dir: Some(dir), _server: Some(server) })
}

mod mem_backend {
    suite!(crate::mem);
}

mod redb_backend {
    suite!(crate::redb);
}

mod log_backend {
    suite!(crate::log);
}

mod etcd_backend {
    suite!(crate::etcd);
}
