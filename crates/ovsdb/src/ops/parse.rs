//! Parsing operations from JSON (the server side of `transact`).

use serde_json::{Map, Value as Json};

use super::{Condition, Mutation, Operation, WaitUntil};
use crate::error::NotationError;
use crate::notation::{Row, is_id, parse_uuid, truncate};

fn bad(msg: impl Into<String>) -> NotationError {
    NotationError::Invalid(msg.into())
}

fn string(o: &Map<String, Json>, key: &str, op: &str) -> Result<String, NotationError> {
    match o.get(key) {
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(bad(format!("{op}: \"{key}\" is not a string: {}", truncate(other)))),
        None => Err(bad(format!("{op}: missing \"{key}\""))),
    }
}

fn conditions(o: &Map<String, Json>, op: &str) -> Result<Vec<Condition>, NotationError> {
    match o.get("where") {
        Some(Json::Array(a)) => a
            .iter()
            .map(|c| match c {
                // Literal true/false belongs to monitor_cond only.
                Json::Bool(_) => Err(bad(format!("{op}: literal condition in \"where\""))),
                c => Condition::from_json(c),
            })
            .collect(),
        Some(other) => Err(bad(format!("{op}: \"where\" is not an array: {}", truncate(other)))),
        None => Err(bad(format!("{op}: missing \"where\""))),
    }
}

fn columns(j: &Json, op: &str) -> Result<Vec<String>, NotationError> {
    let a = j.as_array().ok_or_else(|| bad(format!("{op}: \"columns\" is not an array")))?;
    a.iter().map(|c| c.as_str().map(str::to_owned).ok_or_else(|| bad(format!("{op}: column name {} is not a string", truncate(c))))).collect()
}

fn row(o: &Map<String, Json>, op: &str) -> Result<Row, NotationError> {
    Row::from_json(o.get("row").ok_or_else(|| bad(format!("{op}: missing \"row\"")))?)
}

impl Operation {
    /// Parses one `<operation>` object (RFC 7047 §5.2), as a server
    /// receives it. Names are not checked against a schema here.
    pub fn from_json(json: &Json) -> Result<Self, NotationError> {
        let o = json.as_object().ok_or_else(|| bad(format!("operation is not an object: {}", truncate(json))))?;
        let op = string(o, "op", "operation")?;
        let table = || string(o, "table", &op);
        Ok(match op.as_str() {
            "insert" => {
                let uuid_name = match o.get("uuid-name") {
                    None => None,
                    Some(Json::String(n)) if is_id(n) => Some(n.clone()),
                    Some(other) => return Err(NotationError::InvalidNamedUuid(truncate(other))),
                };
                let uuid = match o.get("uuid") {
                    None => None,
                    Some(Json::String(u)) => Some(parse_uuid(u)?),
                    Some(other) => return Err(NotationError::InvalidUuid(truncate(other))),
                };
                let row = match o.get("row") {
                    None => Row::new(),
                    Some(r) => Row::from_json(r)?,
                };
                Operation::Insert { table: table()?, row, uuid_name, uuid }
            }
            "select" => Operation::Select { table: table()?, where_: conditions(o, &op)?, columns: o.get("columns").map(|c| columns(c, &op)).transpose()? },
            "update" => Operation::Update { table: table()?, where_: conditions(o, &op)?, row: row(o, &op)? },
            "mutate" => {
                let m = o.get("mutations").and_then(Json::as_array).ok_or_else(|| bad("mutate: \"mutations\" is missing or not an array"))?;
                Operation::Mutate { table: table()?, where_: conditions(o, &op)?, mutations: m.iter().map(Mutation::from_json).collect::<Result<_, _>>()? }
            }
            "delete" => Operation::Delete { table: table()?, where_: conditions(o, &op)? },
            "wait" => {
                let until = match string(o, "until", &op)?.as_str() {
                    "==" => WaitUntil::Equal,
                    "!=" => WaitUntil::NotEqual,
                    other => return Err(bad(format!("wait: \"until\" must be \"==\" or \"!=\", got {other:?}"))),
                };
                let rows = o.get("rows").and_then(Json::as_array).ok_or_else(|| bad("wait: \"rows\" is missing or not an array"))?;
                let timeout = match o.get("timeout") {
                    None => None,
                    Some(t) => Some(t.as_u64().ok_or_else(|| bad(format!("wait: bad \"timeout\" {}", truncate(t))))?),
                };
                Operation::Wait {
                    table: table()?,
                    where_: conditions(o, &op)?,
                    columns: columns(o.get("columns").ok_or_else(|| bad("wait: missing \"columns\""))?, &op)?,
                    until,
                    rows: rows.iter().map(Row::from_json).collect::<Result<_, _>>()?,
                    timeout,
                }
            }
            "commit" => Operation::Commit { durable: o.get("durable").and_then(Json::as_bool).ok_or_else(|| bad("commit: \"durable\" is not a boolean"))? },
            "abort" => Operation::Abort,
            "comment" => Operation::Comment(string(o, "comment", &op)?),
            "assert" => Operation::Assert { lock: string(o, "lock", &op)? },
            other => return Err(bad(format!("unknown operation {other:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notation::Value;
    use crate::ops::Function;
    use serde_json::json;

    #[test]
    fn every_operation_round_trips() {
        let u: uuid::Uuid = "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1".parse().unwrap();
        let ops = vec![
            Operation::Insert { table: "T".into(), row: Row::new().with("a", 1i64), uuid_name: Some("r".into()), uuid: Some(u) },
            Operation::insert("T", Row::new()),
            Operation::select_columns("T", vec![Condition::eq("a", 1i64)], ["a"]),
            Operation::select("T", vec![]),
            Operation::update("T", vec![], Row::new().with("a", 2i64)),
            Operation::mutate("T", vec![], vec![Mutation::insert("s", Value::set(["x"]))]),
            Operation::delete("T", vec![Condition::new("a", Function::Gt, 3i64)]),
            Operation::Wait { table: "T".into(), where_: vec![], columns: vec!["a".into()], until: WaitUntil::NotEqual, rows: vec![], timeout: Some(0) },
            Operation::Commit { durable: true },
            Operation::Abort,
            Operation::comment("hi"),
            Operation::Assert { lock: "l".into() },
        ];
        for op in ops {
            assert_eq!(Operation::from_json(&op.to_json()).unwrap(), op);
        }
    }

    #[test]
    fn rejects_malformed_operations() {
        for bad in [
            json!(1),
            json!({}),
            json!({"op": 1}),
            json!({"op": "frobnicate", "table": "T"}),
            json!({"op": "select", "table": "T"}),
            json!({"op": "select", "table": 3, "where": []}),
            json!({"op": "select", "table": "T", "where": [true]}),
            json!({"op": "select", "table": "T", "where": [], "columns": [1]}),
            json!({"op": "insert", "table": "T", "row": [], "uuid-name": "x"}),
            json!({"op": "insert", "table": "T", "row": {}, "uuid-name": "1x"}),
            json!({"op": "insert", "table": "T", "row": {}, "uuid": "nope"}),
            json!({"op": "update", "table": "T", "where": []}),
            json!({"op": "mutate", "table": "T", "where": [], "mutations": [["a", "^", 1]]}),
            json!({"op": "wait", "table": "T", "where": [], "columns": [], "until": "<", "rows": []}),
            json!({"op": "wait", "table": "T", "where": [], "columns": [], "until": "==", "rows": [], "timeout": -1}),
            json!({"op": "commit"}),
            json!({"op": "comment"}),
        ] {
            assert!(Operation::from_json(&bad).is_err(), "{bad}");
        }
    }
}
