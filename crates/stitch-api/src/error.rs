//! The one place where errors become HTTP responses:
//! `{"error": {"code", "message", "field"}}` with a stable `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stitch_model::ModelError;
use stitch_store::CatalogError;

/// Stable machine-readable error codes.
pub mod code {
    pub const MALFORMED_JSON: &str = "malformed_json";
    pub const UNKNOWN_FIELD: &str = "unknown_field";
    pub const MISSING_FIELD: &str = "missing_field";
    pub const INVALID_VALUE: &str = "invalid_value";
    pub const READ_ONLY_FIELD: &str = "read_only_field";
    pub const MISSING_REFERENCE: &str = "missing_reference";
    pub const STILL_REFERENCED: &str = "still_referenced";
    pub const DUPLICATE_NAME: &str = "duplicate_name";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const CONFLICT: &str = "conflict";
    pub const UNPROCESSABLE: &str = "unprocessable";
    pub const UNRESOLVED: &str = "unresolved";
    pub const INTERNAL: &str = "internal";
    /// Every code, for the OpenAPI document.
    pub const ALL: &[&str] = &[
        MALFORMED_JSON,
        UNKNOWN_FIELD,
        MISSING_FIELD,
        INVALID_VALUE,
        READ_ONLY_FIELD,
        MISSING_REFERENCE,
        STILL_REFERENCED,
        DUPLICATE_NAME,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        CONFLICT,
        UNPROCESSABLE,
        UNRESOLVED,
        INTERNAL,
    ];
}

/// An error answered to a client. Nothing was stored when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let f = field.into();
        self.field = (!f.is_empty()).then_some(f);
        self
    }

    pub fn bad_request(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message).with_field(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    pub fn missing_reference(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code::MISSING_REFERENCE, message).with_field(field)
    }

    /// The error for a body that failed to deserialize, naming the field path.
    pub fn from_json(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let mut message = inner.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let path = if path == "." { String::new() } else { path };
        let c = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
                return ApiError::bad_request(code::MALFORMED_JSON, "", format!("malformed JSON: {message}"));
            }
            serde_json::error::Category::Data if message.starts_with("unknown field") => code::UNKNOWN_FIELD,
            serde_json::error::Category::Data if message.starts_with("missing field") => code::MISSING_FIELD,
            serde_json::error::Category::Data => code::INVALID_VALUE,
        };
        // A missing field is reported at its parent; name the field itself.
        let path = match (c, message.split('`').nth(1)) {
            (code::MISSING_FIELD, Some(f)) if path.is_empty() => f.to_string(),
            (code::MISSING_FIELD, Some(f)) => format!("{path}.{f}"),
            _ => path,
        };
        ApiError::bad_request(c, path, message)
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        let field = e.field().unwrap_or_default().to_string();
        let (status, c, message) = match &e {
            ModelError::Invalid(f) => (StatusCode::BAD_REQUEST, code::INVALID_VALUE, f.message.clone()),
            ModelError::MissingReference { kind, id, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code::MISSING_REFERENCE, format!("{kind} {id} does not exist")),
            ModelError::DuplicateName { .. } => (StatusCode::CONFLICT, code::DUPLICATE_NAME, e.to_string()),
            ModelError::StillReferenced { .. } => (StatusCode::CONFLICT, code::STILL_REFERENCED, e.to_string()),
            ModelError::NotFound { .. } => (StatusCode::NOT_FOUND, code::NOT_FOUND, e.to_string()),
            ModelError::Conflict { .. } => (StatusCode::CONFLICT, code::CONFLICT, e.to_string()),
            ModelError::Unprocessable { .. } => (StatusCode::UNPROCESSABLE_ENTITY, code::UNPROCESSABLE, e.to_string()),
        };
        ApiError::new(status, c, message).with_field(field)
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Model(m) => m.into(),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, other.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Inner { code: self.code, message: &self.message, field: self.field.as_deref() } };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Fallback for unknown paths.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such resource")
}

/// Fallback for a known path with a method it does not serve.
pub async fn no_method() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, code::METHOD_NOT_ALLOWED, "method not allowed on this resource")
}
