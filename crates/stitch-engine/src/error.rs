use stitch_model::ModelError;
use thiserror::Error;
use uuid::Uuid;

/// Why a write was refused (a binding that cannot be resolved is not an
/// error: the port is stored as `binding_failed` with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("network {0} not found")]
    NetworkNotFound(Uuid),
    #[error("port {0} not found")]
    PortNotFound(Uuid),
    #[error("VNI {vni} is already used by network {network}")]
    VniInUse { vni: u32, network: Uuid },
    #[error("no fabric has a free VNI left (define a fabric or widen a fabric's vni_range)")]
    NoFreeVni,
    /// A request value is not acceptable (maps to 400).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The request conflicts with stored state (maps to 409).
    #[error("{0}")]
    Conflict(String),
    /// A 409 with Neutron's exception name (`PortInUseAsTrunkParent`,
    /// `SegmentInUse`, `L2GatewayInUse`, ...).
    #[error("{message}")]
    InUse { kind: &'static str, message: String },
    /// A 404 with Neutron's exception name (`TrunkNotFound`, ...).
    #[error("{message}")]
    NotFound { kind: &'static str, message: String },
}
