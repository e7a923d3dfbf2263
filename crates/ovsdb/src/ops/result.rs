//! Parsing `transact` results (RFC 7047 §4.1.3).

use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::{ProtocolError, RpcError};
use crate::notation::{Row, parse_uuid, truncate};

/// The result of one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationResult {
    /// `{"uuid": ["uuid", ...]}` from insert.
    Insert {
        /// The new row's UUID.
        uuid: Uuid,
    },
    /// `{"rows": [...]}` from select.
    Select {
        /// The selected rows.
        rows: Vec<Row>,
    },
    /// `{"count": n}` from update, mutate, delete.
    Count(u64),
    /// `{}` from wait, commit, comment, assert.
    Empty,
    /// `{"error": ..., "details": ...}`: this operation failed.
    Error(RpcError),
    /// `null`: not executed because an earlier operation failed.
    NotExecuted,
}

impl OperationResult {
    /// Parses one element of the result array.
    pub fn from_json(json: &Json) -> Result<Self, ProtocolError> {
        let o = match json {
            Json::Null => return Ok(OperationResult::NotExecuted),
            Json::Object(o) => o,
            _ => return Err(ProtocolError::new(format!("operation result is not an object: {}", truncate(json)))),
        };
        if o.contains_key("error") {
            return Ok(OperationResult::Error(RpcError::from_json(json.clone())));
        }
        if let Some(u) = o.get("uuid") {
            let uuid = match u.as_array().map(Vec::as_slice) {
                Some([Json::String(tag), Json::String(s)]) if tag == "uuid" => parse_uuid(s).map_err(|e| ProtocolError::new(e.to_string()))?,
                _ => return Err(ProtocolError::new(format!("bad insert result {}", truncate(json)))),
            };
            return Ok(OperationResult::Insert { uuid });
        }
        if let Some(r) = o.get("rows") {
            let rows = r
                .as_array()
                .ok_or_else(|| ProtocolError::new("\"rows\" is not an array"))?
                .iter()
                .map(|r| Row::from_json(r).map_err(|e| ProtocolError::new(e.to_string())))
                .collect::<Result<_, _>>()?;
            return Ok(OperationResult::Select { rows });
        }
        if let Some(c) = o.get("count") {
            let n = c.as_u64().ok_or_else(|| ProtocolError::new("\"count\" is not a count"))?;
            return Ok(OperationResult::Count(n));
        }
        Ok(OperationResult::Empty)
    }

    /// The inserted UUID, if this is an insert result.
    pub fn uuid(&self) -> Option<Uuid> {
        match self {
            OperationResult::Insert { uuid } => Some(*uuid),
            _ => None,
        }
    }

    /// The selected rows, if this is a select result.
    pub fn rows(&self) -> Option<&[Row]> {
        match self {
            OperationResult::Select { rows } => Some(rows),
            _ => None,
        }
    }

    /// The count, if this is an update/mutate/delete result.
    pub fn count(&self) -> Option<u64> {
        match self {
            OperationResult::Count(n) => Some(*n),
            _ => None,
        }
    }
}

/// Why a transaction failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("transaction failed{}: {error}", index.map(|i| format!(" at operation {i}")).unwrap_or_else(|| " at commit".into()))]
pub struct TransactionError {
    /// The index of the failed operation, or `None` for the extra element
    /// (a failure at commit time, e.g. a constraint or referential
    /// integrity violation).
    pub index: Option<usize>,
    /// The server's error.
    pub error: RpcError,
}

/// A parsed `transact` result array.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactResponse {
    /// One result per operation (missing trailing elements read as
    /// [`OperationResult::NotExecuted`]).
    pub results: Vec<OperationResult>,
    /// The extra element after the per-operation results, present when the
    /// transaction failed as a whole after all operations succeeded.
    pub commit_error: Option<RpcError>,
}

impl TransactResponse {
    /// Parses the result array of a transaction with `n_ops` operations.
    pub fn from_json(json: &Json, n_ops: usize) -> Result<Self, ProtocolError> {
        let arr = json.as_array().ok_or_else(|| ProtocolError::new(format!("transact result is not an array: {}", truncate(json))))?;
        if arr.len() > n_ops + 1 {
            return Err(ProtocolError::new(format!("transact result has {} elements for {n_ops} operations", arr.len())));
        }
        let mut results = Vec::with_capacity(n_ops);
        for i in 0..n_ops {
            results.push(match arr.get(i) {
                Some(j) => OperationResult::from_json(j)?,
                None => OperationResult::NotExecuted,
            });
        }
        let commit_error = match arr.get(n_ops) {
            None | Some(Json::Null) => None,
            Some(j @ Json::Object(o)) if o.contains_key("error") => Some(RpcError::from_json(j.clone())),
            Some(j) => {
                return Err(ProtocolError::new(format!("unexpected extra result element {}", truncate(j))));
            }
        };
        Ok(TransactResponse { results, commit_error })
    }

    /// The first failure: a failed operation, or the commit error.
    pub fn error(&self) -> Option<TransactionError> {
        self.results
            .iter()
            .enumerate()
            .find_map(|(i, r)| match r {
                OperationResult::Error(e) => Some(TransactionError { index: Some(i), error: e.clone() }),
                _ => None,
            })
            .or_else(|| self.commit_error.clone().map(|error| TransactionError { index: None, error }))
    }

    /// The per-operation results if the transaction succeeded.
    pub fn into_result(self) -> Result<Vec<OperationResult>, TransactionError> {
        match self.error() {
            Some(e) => Err(e),
            None => Ok(self.results),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const U: &str = "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1";

    #[test]
    fn parses_successful_results() {
        let r = TransactResponse::from_json(&json!([{"uuid": ["uuid", U]}, {"rows": [{"name": "a"}]}, {"count": 2}, {}]), 4).unwrap();
        assert_eq!(r.results[0].uuid(), Some(U.parse().unwrap()));
        assert_eq!(r.results[1].rows().unwrap()[0].get_str("name"), Some("a"));
        assert_eq!(r.results[2].count(), Some(2));
        assert_eq!(r.results[3], OperationResult::Empty);
        assert!(r.into_result().is_ok());
    }

    #[test]
    fn per_operation_error_and_not_executed() {
        let r = TransactResponse::from_json(&json!([{"count": 1}, {"error": "constraint violation", "details": "d"}, null]), 3).unwrap();
        assert_eq!(r.results[2], OperationResult::NotExecuted);
        let e = r.into_result().unwrap_err();
        assert_eq!(e.index, Some(1));
        assert_eq!(e.error.error, "constraint violation");
        assert_eq!(e.error.details.as_deref(), Some("d"));
        // A short array: the rest were not executed.
        let r = TransactResponse::from_json(&json!([{"error": "aborted"}]), 3).unwrap();
        assert_eq!(r.results.len(), 3);
        assert_eq!(r.results[1], OperationResult::NotExecuted);
    }

    #[test]
    fn extra_commit_error_element() {
        let r = TransactResponse::from_json(&json!([{"uuid": ["uuid", U]}, {"error": "referential integrity violation", "details": "x"}]), 1).unwrap();
        assert_eq!(r.results.len(), 1);
        let e = r.error().unwrap();
        assert_eq!(e.index, None);
        assert_eq!(e.error.error, "referential integrity violation");
        assert!(e.to_string().contains("at commit"), "{e}");
    }

    #[test]
    fn rejects_malformed_results() {
        for (bad, n) in [
            (json!({}), 1),
            (json!([1]), 1),
            (json!([{}, {}, {}]), 1),
            (json!([{"uuid": "x"}]), 1),
            (json!([{"uuid": ["uuid", "x"]}]), 1),
            (json!([{"rows": {}}]), 1),
            (json!([{"rows": [1]}]), 1),
            (json!([{"count": -1}]), 1),
            (json!([{}, {"x": 1}]), 1),
        ] {
            assert!(TransactResponse::from_json(&bad, n).is_err(), "{bad}");
        }
    }
}
