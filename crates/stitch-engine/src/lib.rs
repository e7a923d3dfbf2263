//! Stitch's binding engine.
//!
//! * [`bind`]: the pure decisions made when a port or network is written —
//!   which switch ports a port lands on (the resolution chain), which VLAN
//!   and VNI it uses, and which virtual port groups change. They run inside
//!   the catalog's writer lock, so two requests never take the same VLAN.
//! * [`compile`]: the desired content of every switch database, derived
//!   purely from a snapshot.
//! * [`acl`]: security groups of bound ports as switch ACLs (compiled),
//!   and the bind-time rule that one (switch port, VLAN) has one set.
//! * [`profile`]: which port profile a port uses, what it refuses.
//! * [`qos`]: a port's QoS policy as `binding:vif_details` rate limits.
//! * [`alloc`]: the VNI and VLAN allocators, derived from stored objects
//!   (no counters to leak: a VLAN is in use exactly while a virtual port
//!   group on that switch carries it).

pub mod acl;
pub mod alloc;
pub mod bind;
pub mod compile;
mod error;
pub mod fingerprint;
pub mod profile;
pub mod qos;
pub mod runtime;
pub mod status;
pub mod wake;

pub use error::EngineError;
