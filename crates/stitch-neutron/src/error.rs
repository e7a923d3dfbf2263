//! Neutron-style errors: `{"NeutronError": {"type", "message", "detail"}}`
//! with the status codes Neutron uses. The one mapping from engine, model
//! and store errors lives here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use stitch_engine::EngineError;
use stitch_model::ModelError;
use stitch_store::{CatalogError, UpdateError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct NeutronError {
    pub status: StatusCode,
    /// Neutron's exception name, e.g. `NetworkNotFound`.
    pub kind: String,
    pub message: String,
}

impl NeutronError {
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        NeutronError { status, kind: kind.into(), message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "HTTPBadRequest", message)
    }
    pub fn not_found(kind: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, kind, message)
    }
    pub fn conflict(kind: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, message)
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let body = json!({"NeutronError": {"type": self.kind, "message": self.message, "detail": ""}});
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<ModelError> for NeutronError {
    fn from(e: ModelError) -> Self {
        match &e {
            ModelError::Invalid(f) => NeutronError::bad_request(format!("Invalid input for {}. Reason: {}.", f.field, f.message)),
            ModelError::MissingReference { kind, id, .. } => match *kind {
                "network" => NeutronError::not_found("NetworkNotFound", format!("Network {id} could not be found.")),
                "port" => NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")),
                _ => NeutronError::not_found("NotFound", e.to_string()),
            },
            ModelError::NotFound { kind, id } => match *kind {
                "network" => NeutronError::not_found("NetworkNotFound", format!("Network {id} could not be found.")),
                "port" => NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")),
                _ => NeutronError::not_found("NotFound", e.to_string()),
            },
            ModelError::StillReferenced { kind: "network", id, referrers } => NeutronError::conflict(
                "NetworkInUse",
                format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network ({referrers})."),
            ),
            ModelError::StillReferenced { kind: "l2 gateway", id, .. } => {
                NeutronError::conflict("L2GatewayInUse", format!("L2 Gateway '{id}' still has active mappings with one or more neutron networks."))
            }
            ModelError::StillReferenced { .. } | ModelError::DuplicateName { .. } | ModelError::Conflict { .. } => {
                NeutronError::conflict("Conflict", e.to_string())
            }
            ModelError::Unprocessable { .. } => NeutronError::bad_request(e.to_string()),
        }
    }
}

impl From<EngineError> for NeutronError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Model(m) => m.into(),
            EngineError::NetworkNotFound(id) => NeutronError::not_found("NetworkNotFound", format!("Network {id} could not be found.")),
            EngineError::PortNotFound(id) => NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")),
            EngineError::VniInUse { vni, .. } => {
                NeutronError::conflict("TunnelIdInUse", format!("Unable to create the network. The tunnel ID {vni} is in use."))
            }
            EngineError::NoFreeVni => NeutronError::new(StatusCode::SERVICE_UNAVAILABLE, "NoNetworkAvailable", e.to_string()),
            EngineError::Invalid { field, message } => NeutronError::bad_request(format!("Invalid input for {field}. Reason: {message}.")),
            EngineError::Conflict(m) if m.starts_with("MAC address") => NeutronError::conflict("MacAddressInUse", m),
            EngineError::Conflict(m) => NeutronError::conflict("Conflict", m),
            EngineError::InUse { kind, message } => NeutronError::conflict(kind, message),
            EngineError::NotFound { kind, message } => NeutronError::not_found(kind, message),
        }
    }
}

impl From<CatalogError> for NeutronError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Model(m) => m.into(),
            other => {
                tracing::error!(error = %other, "store failure");
                NeutronError::new(StatusCode::INTERNAL_SERVER_ERROR, "HTTPInternalServerError", other.to_string())
            }
        }
    }
}

impl From<UpdateError<NeutronError>> for NeutronError {
    fn from(e: UpdateError<NeutronError>) -> Self {
        match e {
            UpdateError::Refused(n) => n,
            UpdateError::Catalog(c) => c.into(),
        }
    }
}
