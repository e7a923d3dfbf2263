//! What Stitch's integration tests share: real `ovsdb-server`s with the
//! `hardware_vtep` schema playing top-of-rack switches, a real etcd, and
//! polling helpers.
//! Dev-only; never a dependency of production code.

pub mod etcd;
pub mod pki;
pub mod vtep_server;

use std::time::{Duration, Instant};

pub use etcd::Etcd;
pub use pki::Pki;
pub use vtep_server::VtepServer;

/// How long `eventually` waits before declaring a test broken. This bounds a
/// hang; it is not a performance assertion.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Poll `f` until it holds.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < PATIENCE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines of command output, trimmed, without blanks.
pub fn lines(s: &str) -> Vec<String> {
    s.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}
