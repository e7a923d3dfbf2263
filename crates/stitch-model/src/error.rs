//! Errors raised by validation. Each names the field it is about, so the API
//! can answer `{"error": {"code", "message", "field"}}` without guessing.

use thiserror::Error;

/// A value that is malformed on its own (bad MAC, reversed range, ...).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// Prefix the field path, e.g. `ports[2]` + `mac` → `ports[2].mac`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Why a change to the model was refused. Nothing is stored when one is raised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// A value is malformed (maps to 400).
    #[error("{0}")]
    Invalid(FieldError),
    /// A reference points at an object that does not exist (maps to 422).
    #[error("{field}: {kind} {id} does not exist")]
    MissingReference { field: String, kind: &'static str, id: String },
    /// A name is already taken within its scope (maps to 409).
    #[error("{kind} named {name:?} already exists ({existing})")]
    DuplicateName { kind: &'static str, name: String, existing: String, field: String },
    /// The object is still referenced and cannot be deleted (maps to 409).
    #[error("{kind} {id} is still referenced by {referrers}")]
    StillReferenced { kind: &'static str, id: String, referrers: String },
    /// The object does not exist (maps to 404).
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// A semantic rule across objects is broken (maps to 409), e.g. the same
    /// switch port cabled to two NICs.
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// Well-formed, but inconsistent with other stored objects (maps to 422),
    /// e.g. a switch VLAN range outside its fabric's.
    #[error("{message}")]
    Unprocessable { field: String, message: String },
}

impl ModelError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::Invalid(FieldError::new(field, message))
    }

    /// The request field this error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ModelError::Invalid(e) => Some(&e.field),
            ModelError::MissingReference { field, .. }
            | ModelError::DuplicateName { field, .. }
            | ModelError::Conflict { field, .. }
            | ModelError::Unprocessable { field, .. } => Some(field),
            ModelError::StillReferenced { .. } | ModelError::NotFound { .. } => None,
        }
    }

    /// Prefix the field path with the position of the item in a bulk request.
    pub fn within(self, parent: &str) -> Self {
        let join = |f: String| if f.is_empty() { parent.to_string() } else { format!("{parent}.{f}") };
        match self {
            ModelError::Invalid(e) => ModelError::Invalid(e.within(parent)),
            ModelError::MissingReference { field, kind, id } => ModelError::MissingReference { field: join(field), kind, id },
            ModelError::DuplicateName { kind, name, existing, field } => ModelError::DuplicateName { kind, name, existing, field: join(field) },
            ModelError::Conflict { field, message } => ModelError::Conflict { field: join(field), message },
            ModelError::Unprocessable { field, message } => ModelError::Unprocessable { field: join(field), message },
            other => other,
        }
    }
}

impl From<FieldError> for ModelError {
    fn from(e: FieldError) -> Self {
        ModelError::Invalid(e)
    }
}
