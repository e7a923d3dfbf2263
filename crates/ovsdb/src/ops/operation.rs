//! Transaction operations (RFC 7047 §5.2).

use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::{Condition, Mutation};
use crate::notation::Row;

/// `until` of a `wait` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// Wait until the selected rows equal `rows`.
    Equal,
    /// Wait until they differ.
    NotEqual,
}

/// One operation of a `transact` request.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// §5.2.1 insert.
    Insert {
        /// Table.
        table: String,
        /// Initial column values (others get defaults).
        row: Row,
        /// `uuid-name`: lets later operations refer to the new row as
        /// `["named-uuid", name]`.
        uuid_name: Option<String>,
        /// OVS extension: the UUID to give the new row.
        uuid: Option<Uuid>,
    },
    /// §5.2.2 select.
    Select {
        /// Table.
        table: String,
        /// Conditions (all must hold).
        where_: Vec<Condition>,
        /// Columns to return (`None`: all).
        columns: Option<Vec<String>>,
    },
    /// §5.2.3 update.
    Update {
        /// Table.
        table: String,
        /// Conditions.
        where_: Vec<Condition>,
        /// New column values.
        row: Row,
    },
    /// §5.2.4 mutate.
    Mutate {
        /// Table.
        table: String,
        /// Conditions.
        where_: Vec<Condition>,
        /// Mutations.
        mutations: Vec<Mutation>,
    },
    /// §5.2.5 delete.
    Delete {
        /// Table.
        table: String,
        /// Conditions.
        where_: Vec<Condition>,
    },
    /// §5.2.6 wait.
    Wait {
        /// Table.
        table: String,
        /// Conditions selecting the rows to compare.
        where_: Vec<Condition>,
        /// Columns to compare.
        columns: Vec<String>,
        /// Equal or not equal.
        until: WaitUntil,
        /// The rows to compare with.
        rows: Vec<Row>,
        /// Milliseconds to wait; `None` waits forever (until cancelled).
        timeout: Option<u64>,
    },
    /// §5.2.7 commit.
    Commit {
        /// Wait for the commit to reach disk.
        durable: bool,
    },
    /// §5.2.8 abort.
    Abort,
    /// §5.2.9 comment (appears in the database log).
    Comment(String),
    /// §5.2.10 assert: fail unless this session holds the lock.
    Assert {
        /// Lock name.
        lock: String,
    },
}

impl Operation {
    /// `insert` without a uuid-name.
    pub fn insert(table: impl Into<String>, row: Row) -> Self {
        Operation::Insert { table: table.into(), row, uuid_name: None, uuid: None }
    }

    /// `insert` with a uuid-name.
    pub fn insert_named(table: impl Into<String>, row: Row, uuid_name: impl Into<String>) -> Self {
        Operation::Insert { table: table.into(), row, uuid_name: Some(uuid_name.into()), uuid: None }
    }

    /// `select` of all columns.
    pub fn select(table: impl Into<String>, where_: Vec<Condition>) -> Self {
        Operation::Select { table: table.into(), where_, columns: None }
    }

    /// `select` of some columns.
    pub fn select_columns(table: impl Into<String>, where_: Vec<Condition>, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Operation::Select { table: table.into(), where_, columns: Some(columns.into_iter().map(Into::into).collect()) }
    }

    /// `update`.
    pub fn update(table: impl Into<String>, where_: Vec<Condition>, row: Row) -> Self {
        Operation::Update { table: table.into(), where_, row }
    }

    /// `mutate`.
    pub fn mutate(table: impl Into<String>, where_: Vec<Condition>, mutations: Vec<Mutation>) -> Self {
        Operation::Mutate { table: table.into(), where_, mutations }
    }

    /// `delete`.
    pub fn delete(table: impl Into<String>, where_: Vec<Condition>) -> Self {
        Operation::Delete { table: table.into(), where_ }
    }

    /// `comment`.
    pub fn comment(text: impl Into<String>) -> Self {
        Operation::Comment(text.into())
    }

    /// The `op` name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Insert { .. } => "insert",
            Operation::Select { .. } => "select",
            Operation::Update { .. } => "update",
            Operation::Mutate { .. } => "mutate",
            Operation::Delete { .. } => "delete",
            Operation::Wait { .. } => "wait",
            Operation::Commit { .. } => "commit",
            Operation::Abort => "abort",
            Operation::Comment(_) => "comment",
            Operation::Assert { .. } => "assert",
        }
    }

    /// The operation as a JSON object.
    pub fn to_json(&self) -> Json {
        let conds = |w: &[Condition]| Json::Array(w.iter().map(Condition::to_json).collect());
        let mut o = Map::new();
        o.insert("op".into(), self.name().into());
        match self {
            Operation::Insert { table, row, uuid_name, uuid } => {
                o.insert("table".into(), table.clone().into());
                o.insert("row".into(), row.to_json());
                if let Some(n) = uuid_name {
                    o.insert("uuid-name".into(), n.clone().into());
                }
                if let Some(u) = uuid {
                    o.insert("uuid".into(), u.hyphenated().to_string().into());
                }
            }
            Operation::Select { table, where_, columns } => {
                o.insert("table".into(), table.clone().into());
                o.insert("where".into(), conds(where_));
                if let Some(c) = columns {
                    o.insert("columns".into(), json!(c));
                }
            }
            Operation::Update { table, where_, row } => {
                o.insert("table".into(), table.clone().into());
                o.insert("where".into(), conds(where_));
                o.insert("row".into(), row.to_json());
            }
            Operation::Mutate { table, where_, mutations } => {
                o.insert("table".into(), table.clone().into());
                o.insert("where".into(), conds(where_));
                o.insert("mutations".into(), Json::Array(mutations.iter().map(Mutation::to_json).collect()));
            }
            Operation::Delete { table, where_ } => {
                o.insert("table".into(), table.clone().into());
                o.insert("where".into(), conds(where_));
            }
            Operation::Wait { table, where_, columns, until, rows, timeout } => {
                o.insert("table".into(), table.clone().into());
                o.insert("where".into(), conds(where_));
                o.insert("columns".into(), json!(columns));
                o.insert(
                    "until".into(),
                    match until {
                        WaitUntil::Equal => "==",
                        WaitUntil::NotEqual => "!=",
                    }
                    .into(),
                );
                o.insert("rows".into(), Json::Array(rows.iter().map(Row::to_json).collect()));
                if let Some(t) = timeout {
                    o.insert("timeout".into(), (*t).into());
                }
            }
            Operation::Commit { durable } => {
                o.insert("durable".into(), (*durable).into());
            }
            Operation::Abort => {}
            Operation::Comment(c) => {
                o.insert("comment".into(), c.clone().into());
            }
            Operation::Assert { lock } => {
                o.insert("lock".into(), lock.clone().into());
            }
        }
        Json::Object(o)
    }
}

/// The `params` of a `transact` request: `[db, op...]`.
pub fn transact_params(db: &str, ops: &[Operation]) -> Vec<Json> {
    std::iter::once(Json::String(db.to_owned())).chain(ops.iter().map(Operation::to_json)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notation::Value;
    use crate::ops::Function;

    #[test]
    fn serializes_every_operation() {
        let u: Uuid = "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1".parse().unwrap();
        let ops = vec![
            Operation::Insert { table: "T".into(), row: Row::new().with("a", 1i64), uuid_name: Some("r".into()), uuid: Some(u) },
            Operation::select_columns("T", vec![Condition::eq("a", 1i64)], ["a"]),
            Operation::update("T", vec![], Row::new().with("a", 2i64)),
            Operation::mutate("T", vec![Condition::Literal(true)], vec![Mutation::insert("s", Value::set(["x"]))]),
            Operation::delete("T", vec![Condition::new("a", Function::Gt, 3i64)]),
            Operation::Wait {
                table: "T".into(),
                where_: vec![],
                columns: vec!["a".into()],
                until: WaitUntil::NotEqual,
                rows: vec![Row::new().with("a", 1i64)],
                timeout: Some(0),
            },
            Operation::Commit { durable: false },
            Operation::Abort,
            Operation::comment("hi"),
            Operation::Assert { lock: "l".into() },
        ];
        let got = Json::Array(transact_params("db", &ops));
        let want = json!(["db",
            {"op": "insert", "table": "T", "row": {"a": 1}, "uuid-name": "r", "uuid": "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1"},
            {"op": "select", "table": "T", "where": [["a", "==", 1]], "columns": ["a"]},
            {"op": "update", "table": "T", "where": [], "row": {"a": 2}},
            {"op": "mutate", "table": "T", "where": [true], "mutations": [["s", "insert", ["set", ["x"]]]]},
            {"op": "delete", "table": "T", "where": [["a", ">", 3]]},
            {"op": "wait", "table": "T", "where": [], "columns": ["a"], "until": "!=", "rows": [{"a": 1}], "timeout": 0},
            {"op": "commit", "durable": false},
            {"op": "abort"},
            {"op": "comment", "comment": "hi"},
            {"op": "assert", "lock": "l"},
        ]);
        assert_eq!(got, want);
    }
}
