//! Server-side monitors: `monitor` (`update`), `monitor_cond` (`update2`)
//! and `monitor_cond_since` (`update3`), as ovsdb-server(7) describes them.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::db::{Change, Database, OpError};
use crate::monitor::{MonitorMethod, MonitorSelect, compute_diff};
use crate::notation::Row;
use crate::ops::Condition;
use crate::schema::TableSchema;

/// What one monitor watches in one table.
#[derive(Debug, Clone)]
struct TableMonitor {
    columns: Vec<String>,
    select: MonitorSelect,
    /// Any of these condition lists (one per request) selects a row;
    /// `None`: every row.
    where_: Option<Vec<Vec<Condition>>>,
}

/// One registered monitor of a session.
#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    pub id: Json,
    pub db: String,
    pub method: MonitorMethod,
    tables: BTreeMap<String, TableMonitor>,
}

fn syntax(msg: impl Into<String>) -> OpError {
    OpError::new("syntax error", msg)
}

fn parse_select(j: Option<&Json>) -> Result<MonitorSelect, OpError> {
    let mut s = MonitorSelect::default();
    let Some(j) = j else { return Ok(s) };
    let o = j.as_object().ok_or_else(|| syntax("\"select\" is not an object"))?;
    for (k, v) in o {
        let b = v.as_bool().ok_or_else(|| syntax(format!("select.{k} is not a boolean")))?;
        match k.as_str() {
            "initial" => s.initial = b,
            "insert" => s.insert = b,
            "delete" => s.delete = b,
            "modify" => s.modify = b,
            _ => return Err(syntax(format!("unknown select member {k:?}"))),
        }
    }
    Ok(s)
}

impl Monitor {
    /// Parses `<monitor-requests>` for `db`.
    pub(crate) fn parse(method: MonitorMethod, id: Json, db: &Database, requests: &Json) -> Result<Monitor, OpError> {
        let reqs = requests.as_object().ok_or_else(|| syntax("monitor requests are not an object"))?;
        let mut tables = BTreeMap::new();
        for (table, r) in reqs {
            let ts = db.schema().table(table).ok_or_else(|| syntax(format!("no table named {table}")))?;
            let list: Vec<&Json> = match r {
                Json::Array(a) => a.iter().collect(),
                o @ Json::Object(_) => vec![o],
                _ => return Err(syntax(format!("monitor request for {table} is not an object or array"))),
            };
            if list.is_empty() {
                return Err(syntax(format!("empty monitor request list for {table}")));
            }
            let mut tm = TableMonitor {
                columns: Vec::new(),
                select: MonitorSelect { initial: false, insert: false, delete: false, modify: false },
                where_: Some(Vec::new()),
            };
            for req in list {
                let o = req.as_object().ok_or_else(|| syntax(format!("monitor request for {table} is not an object")))?;
                let cols: Vec<String> = match o.get("columns") {
                    None => ts.columns.keys().cloned().collect(),
                    Some(Json::Array(a)) => {
                        a.iter().map(|c| c.as_str().map(str::to_owned).ok_or_else(|| syntax("column name is not a string"))).collect::<Result<_, _>>()?
                    }
                    Some(_) => return Err(syntax("\"columns\" is not an array")),
                };
                for c in &cols {
                    if !ts.columns.contains_key(c) {
                        return Err(syntax(format!("no column {c} in table {table}")));
                    }
                    if !tm.columns.contains(c) {
                        tm.columns.push(c.clone());
                    }
                }
                let s = parse_select(o.get("select"))?;
                tm.select.initial |= s.initial;
                tm.select.insert |= s.insert;
                tm.select.delete |= s.delete;
                tm.select.modify |= s.modify;
                let conds = match (method, o.get("where")) {
                    (MonitorMethod::Monitor, _) | (_, None) => None,
                    (_, Some(Json::Array(w))) => Some(w.iter().map(Condition::from_json).collect::<Result<Vec<_>, _>>().map_err(|e| syntax(e.to_string()))?),
                    (_, Some(_)) => return Err(syntax("\"where\" is not an array")),
                };
                match (conds, &mut tm.where_) {
                    (None, w) => *w = None,
                    (Some(c), Some(w)) => w.push(c),
                    (Some(_), None) => {}
                }
            }
            tm.columns.sort();
            tables.insert(table.clone(), tm);
        }
        Ok(Monitor { id, db: db.name().to_owned(), method, tables })
    }

    fn selects(tm: &TableMonitor, row: &Row) -> bool {
        match &tm.where_ {
            None => true,
            Some(any) => any.iter().any(|c| Condition::all_match(c, row).unwrap_or(false)),
        }
    }

    /// A row as a monitor shows it: the monitored columns, leaving out
    /// those at their default value in `update2`/`update3` (as
    /// ovsdb-server does).
    fn row_json(&self, ts: &TableSchema, tm: &TableMonitor, row: &Row, skip_defaults: bool) -> Json {
        let mut o = Map::new();
        for c in &tm.columns {
            let (Some(v), Some(cs)) = (row.get(c), ts.columns.get(c)) else { continue };
            if skip_defaults && *v == cs.type_.default_value() {
                continue;
            }
            o.insert(c.clone(), v.to_json());
        }
        Json::Object(o)
    }

    fn v2(&self) -> bool {
        self.method != MonitorMethod::Monitor
    }

    /// The initial contents (empty tables are left out).
    pub(crate) fn initial(&self, db: &Database) -> Json {
        let mut out = Map::new();
        for (table, tm) in &self.tables {
            let Some(ts) = db.schema().table(table) else { continue };
            if !tm.select.initial {
                continue;
            }
            let mut rows = Map::new();
            for (u, row) in db.table(table) {
                if !Self::selects(tm, row) {
                    continue;
                }
                let r = self.row_json(ts, tm, row, self.v2());
                let update = if self.v2() { serde_json::json!({ "initial": r }) } else { serde_json::json!({ "new": r }) };
                rows.insert(u.hyphenated().to_string(), update);
            }
            if !rows.is_empty() {
                out.insert(table.clone(), Json::Object(rows));
            }
        }
        Json::Object(out)
    }

    /// The table updates a committed transaction produces for this
    /// monitor, or `None` when it saw nothing.
    pub(crate) fn updates(&self, db: &Database, changes: &[Change]) -> Option<Json> {
        let mut out: Map<String, Json> = Map::new();
        for ch in changes {
            let Some(tm) = self.tables.get(&ch.table) else { continue };
            let Some(ts) = db.schema().table(&ch.table) else { continue };
            let was = ch.old.as_ref().filter(|r| Self::selects(tm, r));
            let is = ch.new.as_ref().filter(|r| Self::selects(tm, r));
            let update = match (was, is) {
                (None, None) => None,
                (None, Some(new)) if tm.select.insert => {
                    let r = self.row_json(ts, tm, new, self.v2());
                    Some(if self.v2() { serde_json::json!({ "insert": r }) } else { serde_json::json!({ "new": r }) })
                }
                (Some(old), None) if tm.select.delete => {
                    Some(if self.v2() { serde_json::json!({ "delete": null }) } else { serde_json::json!({ "old": self.row_json(ts, tm, old, false) }) })
                }
                (Some(old), Some(new)) if tm.select.modify => {
                    let mut diff = Map::new();
                    let mut olds = Map::new();
                    for c in &tm.columns {
                        let (Some(ov), Some(nv), Some(cs)) = (old.get(c), new.get(c), ts.columns.get(c)) else { continue };
                        if ov == nv {
                            continue;
                        }
                        olds.insert(c.clone(), ov.to_json());
                        let d = compute_diff(&cs.type_, ov, nv).unwrap_or_else(|_| nv.clone());
                        diff.insert(c.clone(), d.to_json());
                    }
                    if diff.is_empty() {
                        None
                    } else if self.v2() {
                        Some(serde_json::json!({ "modify": diff }))
                    } else {
                        Some(serde_json::json!({ "old": olds, "new": self.row_json(ts, tm, new, false) }))
                    }
                }
                _ => None,
            };
            if let Some(u) = update {
                let t = out.entry(ch.table.clone()).or_insert_with(|| Json::Object(Map::new()));
                if let Json::Object(t) = t {
                    t.insert(ch.uuid.hyphenated().to_string(), u);
                }
            }
        }
        (!out.is_empty()).then_some(Json::Object(out))
    }
}
