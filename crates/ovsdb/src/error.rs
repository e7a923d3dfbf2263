//! Error types.
//!
//! Every fallible operation in this crate returns [`Error`] or one of the
//! narrower errors it wraps. Nothing here panics on data read from the wire:
//! malformed input becomes a [`FrameError`], a [`ProtocolError`], a
//! [`NotationError`] or a [`SchemaError`].

use serde_json::Value as Json;

use crate::endpoint::EndpointError;

/// The crate-wide error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The byte stream could not be split into JSON texts.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A JSON text was not a valid JSON-RPC 1.0 message, or a reply had an
    /// unexpected shape.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A value did not follow the OVSDB notation (RFC 7047 §5.1).
    #[error(transparent)]
    Notation(#[from] NotationError),
    /// A schema was malformed, or a value does not fit a column's type.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The server answered a request with a JSON-RPC error.
    #[error("server error: {0}")]
    Rpc(RpcError),
    /// A transaction was executed but failed (see
    /// [`TransactResponse::into_result`](crate::TransactResponse::into_result)).
    #[error(transparent)]
    Transaction(#[from] crate::ops::TransactionError),
    /// A remote string could not be parsed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// TLS configuration or handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The client is not connected right now (it may be reconnecting).
    #[error("not connected")]
    NotConnected,
    /// The connection was lost while the request was in flight. The request
    /// may or may not have been executed by the server.
    #[error("connection lost while the request was in flight")]
    Disconnected,
    /// The client was shut down (or the passive session ended).
    #[error("client closed")]
    Closed,
    /// The peer sent nothing for two inactivity-probe intervals.
    #[error("inactivity probe: no traffic from the peer for {0:?}")]
    InactivityTimeout(std::time::Duration),
    /// Connecting took longer than the configured connect timeout.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The request names an unknown monitor.
    #[error("unknown monitor {0}")]
    UnknownMonitor(u64),
}

impl Error {
    /// True if this is a JSON-RPC error whose `error` member is `name`
    /// (e.g. `"unknown method"`, `"canceled"`, `"unknown database"`).
    pub fn is_rpc_error(&self, name: &str) -> bool {
        matches!(self, Error::Rpc(e) if e.error == name)
    }
}

/// Errors from the streaming JSON framer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// A message grew beyond the configured maximum before it was complete.
    #[error("message exceeds the maximum size of {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A byte that cannot start a JSON-RPC message (an object) was found
    /// between messages.
    #[error("unexpected byte 0x{byte:02x} between messages (expected '{{')")]
    UnexpectedByte {
        /// The offending byte.
        byte: u8,
    },
    /// The stream ended in the middle of a message.
    #[error("stream ended inside a message ({pending} bytes pending)")]
    Truncated {
        /// How many bytes of the unfinished message were buffered.
        pending: usize,
    },
    /// A complete JSON text was found but is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
}

/// A JSON text that is not a valid JSON-RPC message, or a reply whose shape
/// does not match the method.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("protocol error: {0}")]
pub struct ProtocolError(pub String);

impl ProtocolError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        ProtocolError(msg.into())
    }
}

/// A value that does not follow the OVSDB notation (RFC 7047 §5.1).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum NotationError {
    /// A JSON value that is no OVSDB atom.
    #[error("invalid atom: {0}")]
    InvalidAtom(String),
    /// A UUID string not in the 8-4-4-4-12 hex form.
    #[error("invalid UUID {0:?}")]
    InvalidUuid(String),
    /// A named-uuid that is not an identifier (`[_a-zA-Z][_a-zA-Z0-9]*`).
    #[error("invalid named-uuid {0:?}")]
    InvalidNamedUuid(String),
    /// An integer outside the signed 64-bit range.
    #[error("integer out of range: {0}")]
    IntegerOutOfRange(String),
    /// A malformed `["set", ...]`.
    #[error("invalid set: {0}")]
    InvalidSet(String),
    /// A malformed `["map", ...]`.
    #[error("invalid map: {0}")]
    InvalidMap(String),
    /// A set with a repeated element or a map with a repeated key.
    #[error("duplicate element {0} in set or map")]
    Duplicate(String),
    /// A `<row>` that is not a JSON object.
    #[error("invalid row: {0}")]
    InvalidRow(String),
    /// Any other shape error (in conditions, mutations, operations, updates).
    #[error("{0}")]
    Invalid(String),
}

/// A malformed schema, or a value that does not fit a column's type.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum SchemaError {
    /// The schema document is malformed.
    #[error("invalid schema: {0}")]
    Invalid(String),
    /// A value does not fit a type.
    #[error("type error: {0}")]
    Type(String),
    /// No such table in the schema.
    #[error("unknown table {0:?}")]
    UnknownTable(String),
    /// No such column in the table.
    #[error("unknown column {column:?} in table {table:?}")]
    UnknownColumn {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
}

/// The `error` member of a JSON-RPC reply, or an error object inside a
/// transaction result (RFC 7047 §3.1: `{"error": <string>, "details": <string>}`).
///
/// ovsdb-server sometimes sends a bare string (`"unknown method"`,
/// `"canceled"`); that becomes `error` with no details. The original JSON is
/// kept in `raw`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}{}", details.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct RpcError {
    /// Short error name, e.g. `"constraint violation"`.
    pub error: String,
    /// Human-readable details, if the server gave any.
    pub details: Option<String>,
    /// The error exactly as received.
    pub raw: Json,
}

impl RpcError {
    /// Interprets any JSON error value.
    pub fn from_json(raw: Json) -> Self {
        match &raw {
            Json::String(s) => RpcError { error: s.clone(), details: None, raw },
            Json::Object(o) => {
                let error = match o.get("error") {
                    Some(Json::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => raw.to_string(),
                };
                let details = match o.get("details") {
                    Some(Json::String(s)) => Some(s.clone()),
                    Some(Json::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                };
                RpcError { error, details, raw }
            }
            other => RpcError { error: other.to_string(), details: None, raw },
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
