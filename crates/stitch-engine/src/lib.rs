//! Stitch's binding engine.
//!
//! * [`bind`]: the pure decisions made when a port or network is written —
//!   which switch ports a port lands on (the resolution chain), which VLAN
//!   and VNI it uses, and which virtual port groups change. They run inside
//!   the catalog's writer lock, so two requests never take the same VLAN.
//! * [`compile`]: the desired content of every switch database, derived
//!   purely from a snapshot.
//! * [`alloc`]: the VNI and VLAN allocators, derived from stored objects
//!   (no counters to leak: a VLAN is in use exactly while a virtual port
//!   group on that switch carries it).

pub mod alloc;
pub mod bind;
pub mod compile;
pub mod fingerprint;
mod error;
pub mod runtime;
pub mod status;

pub use error::EngineError;
