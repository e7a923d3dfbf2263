//! Monitors: requests (RFC 7047 §4.1.5, OVS `monitor_cond` and
//! `monitor_cond_since`), update notifications (`update`, `update2`,
//! `update3`), update2 diff application and a row cache.

mod cache;
mod diff;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

pub use cache::Cache;
pub use diff::{apply_diff, compute_diff};

use crate::error::{NotationError, ProtocolError};
use crate::notation::{Row, parse_uuid, truncate};
use crate::ops::Condition;

/// Which monitor method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MonitorMethod {
    /// RFC 7047 `monitor`; notifications are `update`.
    Monitor,
    /// OVS `monitor_cond`; notifications are `update2`.
    MonitorCond,
    /// OVS `monitor_cond_since`; notifications are `update3`, and a
    /// reconnecting client can resume from the last transaction it saw.
    MonitorCondSince,
}

impl MonitorMethod {
    /// The JSON-RPC method name.
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorMethod::Monitor => "monitor",
            MonitorMethod::MonitorCond => "monitor_cond",
            MonitorMethod::MonitorCondSince => "monitor_cond_since",
        }
    }

    /// The next older method to fall back to when the server answers
    /// "unknown method".
    pub fn fallback(self) -> Option<Self> {
        match self {
            MonitorMethod::MonitorCondSince => Some(MonitorMethod::MonitorCond),
            MonitorMethod::MonitorCond => Some(MonitorMethod::Monitor),
            MonitorMethod::Monitor => None,
        }
    }
}

/// `select` of a `<monitor-request>`: which kinds of change to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorSelect {
    /// Report the initial contents.
    pub initial: bool,
    /// Report inserts.
    pub insert: bool,
    /// Report deletes.
    pub delete: bool,
    /// Report modifications.
    pub modify: bool,
}

impl Default for MonitorSelect {
    fn default() -> Self {
        MonitorSelect { initial: true, insert: true, delete: true, modify: true }
    }
}

/// One `<monitor-request>` (or `<monitor-cond-request>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorRequest {
    /// Columns to monitor (`None`: all).
    pub columns: Option<Vec<String>>,
    /// Which changes to report.
    pub select: MonitorSelect,
    /// Conditions (`monitor_cond` and later only; dropped when falling
    /// back to plain `monitor`, which then reports every row).
    pub where_: Option<Vec<Condition>>,
}

impl MonitorRequest {
    /// All columns, all changes, all rows.
    pub fn all() -> Self {
        MonitorRequest::default()
    }

    /// Only these columns.
    pub fn columns(columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        MonitorRequest { columns: Some(columns.into_iter().map(Into::into).collect()), ..Default::default() }
    }

    /// Adds conditions.
    pub fn with_where(mut self, where_: Vec<Condition>) -> Self {
        self.where_ = Some(where_);
        self
    }

    /// Sets `select`.
    pub fn with_select(mut self, select: MonitorSelect) -> Self {
        self.select = select;
        self
    }

    fn to_json(&self, with_where: bool) -> Json {
        let mut o = Map::new();
        if let Some(c) = &self.columns {
            o.insert("columns".into(), json!(c));
        }
        let s = self.select;
        o.insert("select".into(), json!({"initial": s.initial, "insert": s.insert, "delete": s.delete, "modify": s.modify}));
        if with_where {
            if let Some(w) = &self.where_ {
                o.insert("where".into(), Json::Array(w.iter().map(Condition::to_json).collect()));
            }
        }
        Json::Object(o)
    }
}

/// `<monitor-requests>`: table name → one or more requests.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorRequests(pub BTreeMap<String, Vec<MonitorRequest>>);

impl MonitorRequests {
    /// No tables yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a request for a table, builder style.
    pub fn table(mut self, table: impl Into<String>, request: MonitorRequest) -> Self {
        self.0.entry(table.into()).or_default().push(request);
        self
    }

    /// Every table of a schema, all columns.
    pub fn all_tables(schema: &crate::schema::DatabaseSchema) -> Self {
        MonitorRequests(schema.tables.keys().map(|t| (t.clone(), vec![MonitorRequest::all()])).collect())
    }

    /// The requests as JSON, for the given method.
    pub fn to_json(&self, method: MonitorMethod) -> Json {
        let with_where = method != MonitorMethod::Monitor;
        Json::Object(self.0.iter().map(|(t, reqs)| (t.clone(), Json::Array(reqs.iter().map(|r| r.to_json(with_where)).collect()))).collect())
    }
}

/// The params of a monitor request: `[db, id, requests]`, plus
/// `last-txn-id` for `monitor_cond_since` (all zeros when there is none).
pub fn monitor_params(method: MonitorMethod, db: &str, id: &Json, requests: &MonitorRequests, last_txn_id: Option<Uuid>) -> Vec<Json> {
    let mut p = vec![Json::String(db.to_owned()), id.clone(), requests.to_json(method)];
    if method == MonitorMethod::MonitorCondSince {
        p.push(Json::String(last_txn_id.unwrap_or_default().hyphenated().to_string()));
    }
    p
}

/// `<row-update>` of a plain `monitor` (`update` notification).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowUpdate {
    /// Old values (delete: all monitored columns; modify: changed ones).
    pub old: Option<Row>,
    /// New values (initial, insert and modify: all monitored columns).
    pub new: Option<Row>,
}

/// `<row-update2>` of `monitor_cond`/`monitor_cond_since`.
#[derive(Debug, Clone, PartialEq)]
pub enum RowUpdate2 {
    /// Part of the initial contents.
    Initial(Row),
    /// A new row.
    Insert(Row),
    /// The row was deleted.
    Delete,
    /// The row changed; the row holds per-column diffs
    /// (see [`apply_diff`]).
    Modify(Row),
}

/// `<table-updates>` or `<table-updates2>`: table → row UUID → update.
pub type TableUpdates<U> = BTreeMap<String, BTreeMap<Uuid, U>>;

/// Updates in either notation.
#[derive(Debug, Clone, PartialEq)]
pub enum Updates {
    /// From `monitor` / `update`.
    V1(TableUpdates<RowUpdate>),
    /// From `monitor_cond(_since)` / `update2` / `update3`.
    V2(TableUpdates<RowUpdate2>),
}

impl Updates {
    /// Parses updates for the given monitor method.
    pub fn from_json(json: &Json, method: MonitorMethod) -> Result<Self, NotationError> {
        match method {
            MonitorMethod::Monitor => parse_table_updates(json, row_update).map(Updates::V1),
            _ => parse_table_updates(json, row_update2).map(Updates::V2),
        }
    }

    /// True when no row changed.
    pub fn is_empty(&self) -> bool {
        match self {
            Updates::V1(t) => t.values().all(BTreeMap::is_empty),
            Updates::V2(t) => t.values().all(BTreeMap::is_empty),
        }
    }

    /// Number of row updates.
    pub fn len(&self) -> usize {
        match self {
            Updates::V1(t) => t.values().map(BTreeMap::len).sum(),
            Updates::V2(t) => t.values().map(BTreeMap::len).sum(),
        }
    }

    /// True when some row of `table` changed.
    pub fn touches(&self, table: &str) -> bool {
        match self {
            Updates::V1(t) => t.get(table).is_some_and(|r| !r.is_empty()),
            Updates::V2(t) => t.get(table).is_some_and(|r| !r.is_empty()),
        }
    }
}

fn parse_table_updates<U>(json: &Json, row: fn(&Json) -> Result<U, NotationError>) -> Result<TableUpdates<U>, NotationError> {
    let bad = |what: &str, j: &Json| NotationError::Invalid(format!("{what}: {}", truncate(j)));
    let tables = json.as_object().ok_or_else(|| bad("table updates is not an object", json))?;
    let mut out = BTreeMap::new();
    for (table, rows) in tables {
        let rows = rows.as_object().ok_or_else(|| bad("table update is not an object", rows))?;
        let mut t = BTreeMap::new();
        for (uuid, update) in rows {
            t.insert(parse_uuid(uuid)?, row(update)?);
        }
        out.insert(table.clone(), t);
    }
    Ok(out)
}

fn opt_row(j: Option<&Json>) -> Result<Option<Row>, NotationError> {
    match j {
        None | Some(Json::Null) => Ok(None),
        Some(r) => Row::from_json(r).map(Some),
    }
}

fn row_update(json: &Json) -> Result<RowUpdate, NotationError> {
    let o = json.as_object().ok_or_else(|| NotationError::Invalid(format!("row update is not an object: {}", truncate(json))))?;
    let u = RowUpdate { old: opt_row(o.get("old"))?, new: opt_row(o.get("new"))? };
    if u.old.is_none() && u.new.is_none() {
        return Err(NotationError::Invalid("row update has neither old nor new".into()));
    }
    Ok(u)
}

fn row_update2(json: &Json) -> Result<RowUpdate2, NotationError> {
    let bad = || NotationError::Invalid(format!("invalid row update2: {}", truncate(json)));
    let o = json.as_object().ok_or_else(bad)?;
    if o.len() != 1 {
        return Err(bad());
    }
    let (k, v) = o.iter().next().ok_or_else(bad)?;
    Ok(match k.as_str() {
        "initial" => RowUpdate2::Initial(Row::from_json(v)?),
        "insert" => RowUpdate2::Insert(Row::from_json(v)?),
        "modify" => RowUpdate2::Modify(Row::from_json(v)?),
        "delete" => RowUpdate2::Delete,
        _ => return Err(bad()),
    })
}

/// The reply to `monitor_cond_since`: `[found, last-txn-id, updates2]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CondSinceReply {
    /// True if the server could resume from the given txn-id: `updates`
    /// then holds only what changed since. False: `updates` holds the full
    /// initial contents.
    pub found: bool,
    /// The id of the most recent transaction reflected in `updates`.
    pub last_txn_id: Uuid,
    /// The updates.
    pub updates: TableUpdates<RowUpdate2>,
}

impl CondSinceReply {
    /// Parses the reply.
    pub fn from_json(json: &Json) -> Result<Self, ProtocolError> {
        let perr = |e: NotationError| ProtocolError::new(e.to_string());
        match json.as_array().map(Vec::as_slice) {
            Some([Json::Bool(found), Json::String(id), updates]) => Ok(CondSinceReply {
                found: *found,
                last_txn_id: parse_uuid(id).map_err(perr)?,
                updates: parse_table_updates(updates, row_update2).map_err(perr)?,
            }),
            _ => Err(ProtocolError::new(format!("bad monitor_cond_since reply {}", truncate(json)))),
        }
    }
}

/// A parsed `update`, `update2` or `update3` notification.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateNotification {
    /// The monitor's `json-value` id.
    pub monitor_id: Json,
    /// update3 only: the transaction these updates belong to.
    pub last_txn_id: Option<Uuid>,
    /// The updates.
    pub updates: Updates,
}

impl UpdateNotification {
    /// Parses the params of an `update`, `update2` or `update3`
    /// notification. Returns `None` for other methods.
    pub fn from_params(method: &str, params: &[Json]) -> Option<Result<Self, ProtocolError>> {
        let perr = |e: NotationError| ProtocolError::new(e.to_string());
        let wrong = || ProtocolError::new(format!("{method} notification has the wrong params"));
        Some(match (method, params) {
            ("update", [id, u]) => Updates::from_json(u, MonitorMethod::Monitor)
                .map(|updates| UpdateNotification { monitor_id: id.clone(), last_txn_id: None, updates })
                .map_err(perr),
            ("update2", [id, u]) => Updates::from_json(u, MonitorMethod::MonitorCond)
                .map(|updates| UpdateNotification { monitor_id: id.clone(), last_txn_id: None, updates })
                .map_err(perr),
            ("update3", [id, Json::String(txn), u]) => (|| {
                Ok(UpdateNotification {
                    monitor_id: id.clone(),
                    last_txn_id: Some(parse_uuid(txn).map_err(perr)?),
                    updates: Updates::from_json(u, MonitorMethod::MonitorCondSince).map_err(perr)?,
                })
            })(),
            ("update" | "update2" | "update3", _) => Err(wrong()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
