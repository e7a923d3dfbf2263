//! Writes through the generic `/v1` CRUD whose effects reach beyond the
//! object: a port profile's ports are re-bound when it changes (their
//! `binding:vif_details`, binding failures and ACLs follow it).

use axum::http::StatusCode;
use stitch_engine::EngineError;
use stitch_model::snapshot::Change;

use crate::AppState;
use crate::error::{ApiError, code};

pub(crate) fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Model(m) => m.into(),
        other => ApiError::new(StatusCode::CONFLICT, code::CONFLICT, other.to_string()),
    }
}

/// Applies `changes` with what they imply (see the module docs), all or
/// nothing.
pub async fn apply(st: &AppState, changes: Vec<Change>) -> Result<(), ApiError> {
    st.catalog.update(|snap| stitch_engine::profile::with_rebound_ports(snap, changes.clone()).map_err(engine_error)).await.map_err(|e| match e {
        stitch_store::UpdateError::Refused(a) => a,
        stitch_store::UpdateError::Catalog(c) => c.into(),
    })?;
    Ok(())
}
