//! Stitch's vocabulary: identifiers, validated network values (MAC, VLAN, VNI),
//! inventory resources, and the pure rules that keep a set of them consistent.
//!
//! Nothing here performs I/O. The store persists these types; the API parses
//! them from requests; the engine compiles them into switch state.

pub mod draft;
pub mod error;
mod index;
pub mod inventory;
pub mod net;
pub mod neutron;
pub mod profile;
pub mod qos;
pub mod rare;
pub mod resolve;
pub mod security;
pub mod snapshot;
pub mod vecmap;

pub use draft::Draft;
pub use error::{FieldError, ModelError};
pub use inventory::*;
pub use net::{MacAddr, OvsdbTarget, Range, VlanId, Vni};
pub use rare::{Rare, RareFields};
pub use snapshot::{Change, Snapshot};
pub use vecmap::{JsonObject, VecMap};
