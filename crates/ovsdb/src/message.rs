//! JSON-RPC 1.0 messages as OVSDB uses them (RFC 7047 §4).
//!
//! * request: `{"method": m, "params": [...], "id": <non-null>}`
//! * notification: `{"method": m, "params": [...], "id": null}`
//! * response: `{"result": r, "error": null, "id": i}` or
//!   `{"result": null, "error": e, "id": i}`

use serde_json::{Map, Value as Json};

use crate::error::{ProtocolError, RpcError};

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request that expects a response with the same `id`.
    Request {
        /// Request id (any non-null JSON value).
        id: Json,
        /// Method name.
        method: String,
        /// Parameters (always a JSON array on the wire).
        params: Vec<Json>,
    },
    /// A notification (`id` null): no response is expected.
    Notification {
        /// Method name.
        method: String,
        /// Parameters.
        params: Vec<Json>,
    },
    /// A response to a request.
    Response {
        /// The id of the request this answers.
        id: Json,
        /// `Ok(result)` or `Err(error)`.
        result: Result<Json, RpcError>,
    },
}

impl Message {
    /// Builds a request.
    pub fn request(id: impl Into<Json>, method: impl Into<String>, params: Vec<Json>) -> Self {
        Message::Request { id: id.into(), method: method.into(), params }
    }

    /// Builds a notification.
    pub fn notification(method: impl Into<String>, params: Vec<Json>) -> Self {
        Message::Notification { method: method.into(), params }
    }

    /// Builds a successful response.
    pub fn response(id: Json, result: Json) -> Self {
        Message::Response { id, result: Ok(result) }
    }

    /// Builds an error response.
    pub fn error_response(id: Json, error: Json) -> Self {
        Message::Response { id, result: Err(RpcError::from_json(error)) }
    }

    /// Interprets a JSON value as a JSON-RPC message.
    pub fn from_json(json: Json) -> Result<Self, ProtocolError> {
        let Json::Object(mut obj) = json else {
            return Err(ProtocolError::new("message is not a JSON object"));
        };
        let id = obj.remove("id").unwrap_or(Json::Null);
        if let Some(method) = obj.remove("method") {
            let Json::String(method) = method else {
                return Err(ProtocolError::new("\"method\" is not a string"));
            };
            let params = match obj.remove("params") {
                Some(Json::Array(a)) => a,
                Some(Json::Null) | None => Vec::new(),
                Some(_) => {
                    return Err(ProtocolError::new(format!("\"params\" of {method:?} is not an array")));
                }
            };
            if obj.contains_key("result") {
                return Err(ProtocolError::new("message has both \"method\" and \"result\""));
            }
            return Ok(if id.is_null() { Message::Notification { method, params } } else { Message::Request { id, method, params } });
        }
        let result = obj.remove("result");
        let error = obj.remove("error");
        match (result, error) {
            (_, Some(e)) if !e.is_null() => Ok(Message::Response { id, result: Err(RpcError::from_json(e)) }),
            (Some(r), _) => {
                if id.is_null() {
                    return Err(ProtocolError::new("response without an id"));
                }
                Ok(Message::Response { id, result: Ok(r) })
            }
            _ => Err(ProtocolError::new("message has neither \"method\" nor \"result\"/\"error\"")),
        }
    }

    /// The message as JSON, ready to send.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        match self {
            Message::Request { id, method, params } => {
                m.insert("id".into(), id.clone());
                m.insert("method".into(), Json::String(method.clone()));
                m.insert("params".into(), Json::Array(params.clone()));
            }
            Message::Notification { method, params } => {
                m.insert("id".into(), Json::Null);
                m.insert("method".into(), Json::String(method.clone()));
                m.insert("params".into(), Json::Array(params.clone()));
            }
            Message::Response { id, result } => {
                m.insert("id".into(), id.clone());
                match result {
                    Ok(r) => {
                        m.insert("result".into(), r.clone());
                        m.insert("error".into(), Json::Null);
                    }
                    Err(e) => {
                        m.insert("result".into(), Json::Null);
                        m.insert("error".into(), e.raw.clone());
                    }
                }
            }
        }
        Json::Object(m)
    }
}

/// Writes what [`Message::to_json`] builds, key for key and in the same
/// (sorted) order, straight from the message: encoding a request no
/// longer copies its parameters into a second JSON tree first.
impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        match self {
            Message::Request { id, method, params } => {
                m.serialize_entry("id", id)?;
                m.serialize_entry("method", method)?;
                m.serialize_entry("params", params)?;
            }
            Message::Notification { method, params } => {
                m.serialize_entry("id", &Json::Null)?;
                m.serialize_entry("method", method)?;
                m.serialize_entry("params", params)?;
            }
            Message::Response { id, result } => {
                let (result, error) = match result {
                    Ok(r) => (r, &Json::Null),
                    Err(e) => (&Json::Null, &e.raw),
                };
                m.serialize_entry("error", error)?;
                m.serialize_entry("id", id)?;
                m.serialize_entry("result", result)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The direct encoding writes the same bytes as encoding `to_json`.
    #[test]
    fn serializes_as_to_json_does() {
        let params = vec![json!("hardware_vtep"), json!({"op": "insert", "table": "T", "row": {"b": 1, "a": ["set", []]}})];
        let messages = [
            Message::request(7, "transact", params.clone()),
            Message::request("x", "echo", vec![]),
            Message::notification("update", params),
            Message::Response { id: json!(7), result: Ok(json!([{"count": 1}])) },
            Message::Response { id: json!(8), result: Err(RpcError::from_json(json!({"error": "canceled", "details": "d"}))) },
        ];
        for m in messages {
            assert_eq!(serde_json::to_string(&m).unwrap(), serde_json::to_string(&m.to_json()).unwrap(), "{m:?}");
        }
    }

    #[test]
    fn classifies_messages() {
        let m = Message::from_json(json!({"id": 3, "method": "echo", "params": [1]})).unwrap();
        assert_eq!(m, Message::request(3, "echo", vec![json!(1)]));
        let m = Message::from_json(json!({"id": null, "method": "update", "params": []})).unwrap();
        assert_eq!(m, Message::notification("update", vec![]));
        let m = Message::from_json(json!({"method": "locked", "params": ["l"]})).unwrap();
        assert_eq!(m, Message::notification("locked", vec![json!("l")]));
        let m = Message::from_json(json!({"id": 4, "result": {"a": 1}, "error": null})).unwrap();
        assert_eq!(m, Message::response(json!(4), json!({"a": 1})));
        let m = Message::from_json(json!({"id": 5, "result": null, "error": "canceled"})).unwrap();
        let Message::Response { result: Err(e), .. } = m else { panic!("not an error") };
        assert_eq!(e.error, "canceled");
        assert_eq!(e.details, None);
        let m = Message::from_json(json!({"id": 6, "result": null, "error": {"error": "unknown database", "details": "x"}})).unwrap();
        let Message::Response { result: Err(e), .. } = m else { panic!("not an error") };
        assert_eq!((e.error.as_str(), e.details.as_deref()), ("unknown database", Some("x")));
    }

    #[test]
    fn rejects_malformed_messages() {
        for bad in [
            json!([1, 2]),
            json!("x"),
            json!({}),
            json!({"id": 1}),
            json!({"id": 1, "method": 7, "params": []}),
            json!({"id": 1, "method": "echo", "params": {}}),
            json!({"id": null, "result": 1, "error": null}),
            json!({"id": 1, "method": "x", "params": [], "result": 1}),
        ] {
            assert!(Message::from_json(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_through_json() {
        for m in [
            Message::request("echo", "echo", vec![]),
            Message::notification("cancel", vec![json!(5)]),
            Message::response(json!(1), json!(["a"])),
            Message::error_response(json!(2), json!({"error": "e", "details": "d"})),
        ] {
            assert_eq!(Message::from_json(m.to_json()).unwrap(), m);
        }
    }
}
