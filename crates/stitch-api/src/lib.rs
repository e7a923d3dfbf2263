//! Stitch's HTTP API: the `/v1` inventory routes, the bulk apply endpoint,
//! health and the OpenAPI document, over a [`Catalog`].
//!
//! Conventions (also in the OpenAPI document): a single object is returned
//! as itself; a list is `{"<plural with _>": [...]}`; errors are
//! `{"error": {"code", "message", "field"}}`, produced only by [`ApiError`].

pub mod apply;
mod dependents;
pub mod error;
pub mod fabric;
pub mod inventory;
pub mod lldp;
pub mod openapi;
mod schema;
pub mod ui;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use stitch_engine::runtime::EngineHandle;
use stitch_engine::status::StatusBoard;
use stitch_store::Catalog;

pub use apply::{ApplyReport, Counts};
pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// What the reconcilers report (switch, group and port status).
    pub status: Arc<StatusBoard>,
    /// The running engine, for dry-run plans (`None` when not reconciling).
    pub engine: Option<EngineHandle>,
}

impl AppState {
    /// API state with no reconciler running (status stays empty).
    pub fn new(catalog: Arc<Catalog>) -> Self {
        AppState { catalog, status: Arc::new(StatusBoard::new()), engine: None }
    }

    /// API state backed by a running engine.
    pub fn with_engine(catalog: Arc<Catalog>, status: Arc<StatusBoard>, engine: EngineHandle) -> Self {
        AppState { catalog, status, engine: Some(engine) }
    }
}

/// The largest `POST /v1/apply` body accepted (other bodies keep axum's 2 MiB).
pub const APPLY_BODY_LIMIT: usize = 64 * 1024 * 1024;

async fn healthz(State(st): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "revision": st.catalog.snapshot().revision }))
}

async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi::document_json())
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let r = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/apply", post(apply::apply).layer(DefaultBodyLimit::max(APPLY_BODY_LIMIT)));
    ui::routes(fabric::routes(inventory::all_routes(r))).fallback(error::no_route).method_not_allowed_fallback(error::no_method).with_state(state)
}
