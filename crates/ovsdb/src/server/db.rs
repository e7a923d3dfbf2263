//! One database in memory and the execution of `transact` against it:
//! every operation of RFC 7047 §5.2 runs on an overlay of the committed
//! rows, and the overlay is committed (after garbage collection of
//! unreferenced non-root rows, referential integrity, unique indexes and
//! `maxRows`) or dropped as a whole.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::mutate;
use crate::error::SchemaError;
use crate::notation::{Atom, Row, Value};
use crate::ops::{Condition, Function, Operation, WaitUntil};
use crate::schema::{ColumnType, DatabaseSchema, RefType, TableSchema};

/// An error of one operation, or of the commit: `{"error", "details"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpError {
    /// Short name, as ovsdb-server spells it (`"constraint violation"`...).
    pub error: &'static str,
    /// What went wrong.
    pub details: String,
}

impl OpError {
    pub(crate) fn new(error: &'static str, details: impl Into<String>) -> Self {
        OpError { error, details: details.into() }
    }

    /// The error object.
    pub fn to_json(&self) -> Json {
        json!({"error": self.error, "details": self.details})
    }
}

/// One committed row change: `old` is `None` for an insert, `new` for a
/// delete. Rows carry `_uuid` and `_version`.
#[derive(Debug, Clone)]
pub struct Change {
    /// Table.
    pub table: String,
    /// Row.
    pub uuid: Uuid,
    /// Before.
    pub old: Option<Row>,
    /// After.
    pub new: Option<Row>,
}

/// What one `transact` did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The `result` array of the reply.
    pub results: Vec<Json>,
    /// Committed row changes (empty when nothing changed or it failed).
    pub changes: Vec<Change>,
    /// insert/update/mutate/delete operations received.
    pub write_ops: u64,
    /// Whether the transaction committed.
    pub committed: bool,
}

/// A strong or weak reference column: (column, refTable, refType) for the
/// keys and for the values of a column.
#[derive(Debug, Clone)]
struct RefColumn {
    column: String,
    key: Option<(String, RefType)>,
    value: Option<(String, RefType)>,
}

/// A database: its schema and its rows.
#[derive(Debug, Clone)]
pub struct Database {
    schema: Arc<DatabaseSchema>,
    schema_json: Arc<Json>,
    refs: Arc<BTreeMap<String, Vec<RefColumn>>>,
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
    /// How many strong references point at each row (rows with none are
    /// absent), kept up to date by every commit: a transaction checks and
    /// collects what its own changes touch instead of scanning the whole
    /// database.
    strong_in: HashMap<Uuid, u32>,
    /// Whether any column holds weak references (their cleanup still
    /// scans every row).
    has_weak: bool,
    last_txn_id: Uuid,
}

impl Database {
    /// An empty database for a schema document (an `.ovsschema` file's
    /// JSON).
    pub fn new(schema_json: Json) -> Result<Self, SchemaError> {
        let schema = DatabaseSchema::from_json(&schema_json)?;
        let refs: BTreeMap<String, Vec<RefColumn>> = schema
            .tables
            .iter()
            .map(|(t, ts)| {
                let cols = ts
                    .columns
                    .values()
                    .filter_map(|c| {
                        let r = |b: &crate::schema::BaseType| b.ref_table.clone().map(|t| (t, b.ref_type));
                        let (key, value) = (r(&c.type_.key), c.type_.value.as_ref().and_then(r));
                        (key.is_some() || value.is_some()).then(|| RefColumn { column: c.name.clone(), key, value })
                    })
                    .collect();
                (t.clone(), cols)
            })
            .collect();
        let tables = schema.tables.keys().map(|t| (t.clone(), BTreeMap::new())).collect();
        let has_weak = refs.values().flatten().any(|rc: &RefColumn| [&rc.key, &rc.value].iter().any(|r| r.as_ref().is_some_and(|(_, k)| *k == RefType::Weak)));
        Ok(Database {
            schema: Arc::new(schema),
            schema_json: Arc::new(schema_json),
            refs: Arc::new(refs),
            tables,
            strong_in: HashMap::new(),
            has_weak,
            last_txn_id: Uuid::new_v4(),
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.schema.name
    }

    /// The parsed schema.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.schema
    }

    /// The schema as `get_schema` returns it.
    pub fn schema_json(&self) -> &Json {
        &self.schema_json
    }

    /// The id of the last committed transaction.
    pub fn last_txn_id(&self) -> Uuid {
        self.last_txn_id
    }

    /// The rows of a table (each with every column, `_uuid` and `_version`).
    pub fn table(&self, name: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(name).into_iter().flatten()
    }

    /// Number of rows in a table.
    pub fn len(&self, name: &str) -> usize {
        self.tables.get(name).map_or(0, BTreeMap::len)
    }

    /// True when every table is empty.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(BTreeMap::is_empty)
    }

    /// Executes the operations of one `transact` (the params after the
    /// database name) atomically.
    pub fn transact(&mut self, ops: &[Json]) -> Outcome {
        let parsed: Vec<Result<Operation, OpError>> =
            ops.iter().map(|o| Operation::from_json(o).map_err(|e| OpError::new("syntax error", e.to_string()))).collect();
        let write_ops = parsed
            .iter()
            .filter(|o| matches!(o, Ok(Operation::Insert { .. } | Operation::Update { .. } | Operation::Mutate { .. } | Operation::Delete { .. })))
            .count() as u64;
        let mut txn = Txn { db: self, changes: BTreeMap::new(), named: HashMap::new() };
        let mut results = Vec::with_capacity(ops.len() + 1);
        // uuid-names may be referred to before their insert (ovsdb-server
        // allows it): allocate every one first.
        let mut failed = false;
        for (i, op) in parsed.iter().enumerate() {
            if let Ok(Operation::Insert { uuid_name: Some(n), uuid, .. }) = op {
                if txn.named.insert(n.clone(), uuid.unwrap_or_else(Uuid::new_v4)).is_some() {
                    results.extend(std::iter::repeat_n(Json::Null, i));
                    results.push(OpError::new("duplicate uuid-name", format!("uuid-name {n:?} is used twice")).to_json());
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            for op in &parsed {
                match op.clone().and_then(|op| txn.execute(op)) {
                    Ok(r) => results.push(r),
                    Err(e) => {
                        results.push(e.to_json());
                        failed = true;
                        break;
                    }
                }
            }
        }
        if failed {
            results.resize(ops.len().max(results.len()), Json::Null);
            return Outcome { results, changes: Vec::new(), write_ops, committed: false };
        }
        let changes = match txn.commit() {
            Ok(c) => c,
            Err(e) => {
                results.push(e.to_json());
                return Outcome { results, changes: Vec::new(), write_ops, committed: false };
            }
        };
        let changes = self.apply(changes);
        Outcome { results, changes, write_ops, committed: true }
    }

    fn apply(&mut self, changes: BTreeMap<String, BTreeMap<Uuid, Option<Row>>>) -> Vec<Change> {
        let mut out = Vec::new();
        for (table, rows) in changes {
            let t = self.tables.entry(table.clone()).or_default();
            for (uuid, new) in rows {
                let old = match &new {
                    Some(r) => t.insert(uuid, r.clone()),
                    None => t.remove(&uuid),
                };
                for (_, u) in old.iter().flat_map(|r| strong_refs(&self.refs, &table, r)) {
                    if let Some(n) = self.strong_in.get_mut(&u) {
                        *n -= 1;
                        if *n == 0 {
                            self.strong_in.remove(&u);
                        }
                    }
                }
                for (_, u) in new.iter().flat_map(|r| strong_refs(&self.refs, &table, r)) {
                    *self.strong_in.entry(u).or_default() += 1;
                }
                if old.is_some() || new.is_some() {
                    out.push(Change { table: table.clone(), uuid, old, new });
                }
            }
        }
        if !out.is_empty() {
            self.last_txn_id = Uuid::new_v4();
        }
        out
    }
}

/// A transaction in progress: changes over the committed rows.
struct Txn<'a> {
    db: &'a Database,
    /// Table → row → new contents (`None`: deleted).
    changes: BTreeMap<String, BTreeMap<Uuid, Option<Row>>>,
    named: HashMap<String, Uuid>,
}

fn table_schema<'s>(db: &'s Database, table: &str) -> Result<&'s TableSchema, OpError> {
    db.schema.table(table).ok_or_else(|| OpError::new("syntax error", format!("no table named {table}")))
}

/// A value that does not fit its column: a value of the wrong type is a
/// "syntax error", one out of range or with too many or too few elements
/// a "constraint violation" (as ovsdb-server answers).
fn type_error(what: &str, e: SchemaError) -> OpError {
    let msg = e.to_string();
    let name = if msg.contains("expected ") { "syntax error" } else { "constraint violation" };
    OpError::new(name, format!("{what}: {msg}"))
}

/// Every referenced uuid of a row of `table`, with its target table and kind.
fn row_refs<'r>(refs: &'r BTreeMap<String, Vec<RefColumn>>, table: &str, row: &'r Row) -> impl Iterator<Item = (&'r str, RefType, Uuid)> + 'r {
    let cols = refs.get(table).map(Vec::as_slice).unwrap_or_default();
    cols.iter().flat_map(move |rc| {
        let v = row.get(&rc.column);
        let keys = rc.key.as_ref().into_iter().flat_map(move |(t, k)| {
            let atoms: Vec<&Atom> = match v {
                Some(Value::Atom(a)) => vec![a],
                Some(Value::Set(s)) => s.iter().collect(),
                Some(Value::Map(m)) => m.keys().collect(),
                None => vec![],
            };
            atoms.into_iter().filter_map(move |a| a.as_uuid().map(|u| (t.as_str(), *k, u)))
        });
        let values = rc.value.as_ref().into_iter().flat_map(move |(t, k)| {
            let atoms: Vec<&Atom> = match v {
                Some(Value::Map(m)) => m.values().collect(),
                _ => vec![],
            };
            atoms.into_iter().filter_map(move |a| a.as_uuid().map(|u| (t.as_str(), *k, u)))
        });
        keys.chain(values)
    })
}

/// The rows a row of `table` references strongly (once per reference),
/// with their table.
fn strong_refs<'r>(refs: &'r BTreeMap<String, Vec<RefColumn>>, table: &str, row: &'r Row) -> impl Iterator<Item = (&'r str, Uuid)> + 'r {
    row_refs(refs, table, row).filter(|(_, k, _)| *k == RefType::Strong).map(|(t, _, u)| (t, u))
}

fn same_contents(a: &Row, b: &Row) -> bool {
    a.len() == b.len() && a.iter().zip(b.iter()).all(|((ca, va), (cb, vb))| ca == cb && (ca == "_version" || va == vb))
}

impl Txn<'_> {
    fn get(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        match self.changes.get(table).and_then(|t| t.get(uuid)) {
            Some(r) => r.as_ref(),
            None => self.db.tables.get(table).and_then(|t| t.get(uuid)),
        }
    }

    fn rows<'s>(&'s self, table: &'s str) -> impl Iterator<Item = (Uuid, &'s Row)> + 's {
        let changed = self.changes.get(table);
        let committed = self.db.tables.get(table).into_iter().flatten().filter(move |(u, _)| !changed.is_some_and(|c| c.contains_key(u))).map(|(u, r)| (*u, r));
        committed.chain(changed.into_iter().flatten().filter_map(|(u, r)| r.as_ref().map(|r| (*u, r))))
    }

    fn put(&mut self, table: &str, uuid: Uuid, row: Option<Row>) {
        self.changes.entry(table.to_owned()).or_default().insert(uuid, row);
    }

    /// Replaces named-uuids by the uuids allocated for them.
    fn resolve(&self, v: &Value) -> Result<Value, OpError> {
        let atom = |a: &Atom| match a {
            Atom::NamedUuid(n) => self.named.get(n).map(|u| Atom::Uuid(*u)).ok_or_else(|| OpError::new("syntax error", format!("unknown named-uuid {n:?}"))),
            a => Ok(a.clone()),
        };
        Ok(match v {
            Value::Atom(a) => Value::Atom(atom(a)?),
            Value::Set(s) => Value::Set(s.iter().map(atom).collect::<Result<_, _>>()?),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| Ok((atom(k)?, atom(v)?))).collect::<Result<_, OpError>>()?),
        })
    }

    /// Checks a value written to a column: known, writable, well typed.
    fn column_value(&self, ts: &TableSchema, column: &str, v: &Value, insert: bool) -> Result<Value, OpError> {
        if column == "_uuid" || column == "_version" {
            return Err(OpError::new("constraint violation", format!("{column} cannot be written")));
        }
        let cs = ts.columns.get(column).ok_or_else(|| OpError::new("unknown column", format!("no column {column} in table {}", ts.name)))?;
        if !insert && !cs.mutable {
            return Err(OpError::new("constraint violation", format!("cannot modify immutable column {column} in table {}", ts.name)));
        }
        cs.type_.check(&self.resolve(v)?).map_err(|e| type_error(&format!("{}.{column}", ts.name), e))
    }

    fn resolve_conditions(&self, ts: &TableSchema, where_: &[Condition]) -> Result<Vec<Condition>, OpError> {
        where_
            .iter()
            .map(|c| match c {
                Condition::Compare { column, function, value } => {
                    let ty = ts.column_type(column).ok_or_else(|| OpError::new("unknown column", format!("no column {column} in table {}", ts.name)))?;
                    let value = self.resolve(value)?;
                    // The argument of includes/excludes/==/!= is a set or
                    // map of the column's kind; a scalar column compares
                    // with a single atom.
                    let loose = ColumnType { min: 0, max: None, ..ty.clone() };
                    let value = match function {
                        Function::Lt | Function::Le | Function::Gt | Function::Ge => value,
                        _ => loose.check(&value).map_err(|e| OpError::new("syntax error", format!("condition on {column}: {e}")))?,
                    };
                    Ok(Condition::Compare { column: column.clone(), function: *function, value })
                }
                Condition::Literal(_) => Err(OpError::new("syntax error", "literal condition outside monitor_cond")),
            })
            .collect()
    }

    /// The rows matching `where_`, by uuid (a `_uuid ==` condition is a
    /// lookup, not a scan).
    fn matching(&self, ts: &TableSchema, where_: &[Condition]) -> Result<Vec<Uuid>, OpError> {
        let conds = self.resolve_conditions(ts, where_)?;
        let eval = |r: &Row| Condition::all_match(&conds, r).map_err(|e| OpError::new("syntax error", e.to_string()));
        let by_uuid = conds.iter().find_map(|c| match c {
            Condition::Compare { column, function: Function::Eq, value } if column == "_uuid" => value.as_uuid(),
            _ => None,
        });
        let mut out = Vec::new();
        if let Some(u) = by_uuid {
            if let Some(r) = self.get(&ts.name, &u) {
                if eval(r)? {
                    out.push(u);
                }
            }
            return Ok(out);
        }
        for (u, r) in self.rows(&ts.name) {
            if eval(r)? {
                out.push(u);
            }
        }
        Ok(out)
    }

    fn project(ts: &TableSchema, row: &Row, columns: &Option<Vec<String>>) -> Result<Json, OpError> {
        Ok(match columns {
            None => row.to_json(),
            Some(cols) => {
                let mut o = serde_json::Map::new();
                for c in cols {
                    ts.column_type(c).ok_or_else(|| OpError::new("unknown column", format!("no column {c} in table {}", ts.name)))?;
                    if let Some(v) = row.get(c) {
                        o.insert(c.clone(), v.to_json());
                    }
                }
                Json::Object(o)
            }
        })
    }

    fn execute(&mut self, op: Operation) -> Result<Json, OpError> {
        let db = self.db;
        match op {
            Operation::Insert { table, row, uuid_name, uuid } => {
                let ts = table_schema(db, &table)?;
                let id = match &uuid_name {
                    Some(n) => self.named.get(n).copied().unwrap_or_else(Uuid::new_v4),
                    None => uuid.unwrap_or_else(Uuid::new_v4),
                };
                if self.get(&table, &id).is_some() {
                    return Err(OpError::new("duplicate uuid", format!("row {id} already exists in {table}")));
                }
                let mut new = Row::new();
                for (c, cs) in &ts.columns {
                    new.insert(c.clone(), cs.type_.default_value());
                }
                for (c, v) in row.iter() {
                    let v = self.column_value(ts, c, v, true)?;
                    new.insert(c.clone(), v);
                }
                new.insert("_uuid", Value::uuid(id));
                new.insert("_version", Value::uuid(Uuid::new_v4()));
                self.put(&table, id, Some(new));
                Ok(json!({"uuid": ["uuid", id.hyphenated().to_string()]}))
            }
            Operation::Select { table, where_, columns } => {
                let ts = table_schema(db, &table)?;
                let rows = self.matching(ts, &where_)?;
                let rows = rows.iter().filter_map(|u| self.get(&table, u)).map(|r| Self::project(ts, r, &columns)).collect::<Result<Vec<_>, _>>()?;
                Ok(json!({ "rows": rows }))
            }
            Operation::Update { table, where_, row } => {
                let ts = table_schema(db, &table)?;
                let values = row.iter().map(|(c, v)| Ok((c.clone(), self.column_value(ts, c, v, false)?))).collect::<Result<Vec<_>, OpError>>()?;
                let uuids = self.matching(ts, &where_)?;
                for u in &uuids {
                    let Some(old) = self.get(&table, u) else { continue };
                    let mut new = old.clone();
                    for (c, v) in &values {
                        new.insert(c.clone(), v.clone());
                    }
                    self.put_modified(&table, *u, new);
                }
                Ok(json!({"count": uuids.len()}))
            }
            Operation::Mutate { table, where_, mutations } => {
                let ts = table_schema(db, &table)?;
                let mut checked = Vec::with_capacity(mutations.len());
                for m in mutations {
                    let cs = match m.column.as_str() {
                        "_uuid" | "_version" => None,
                        c => ts.columns.get(c),
                    }
                    .ok_or_else(|| OpError::new("unknown column", format!("no mutable column {} in table {table}", m.column)))?;
                    if !cs.mutable {
                        return Err(OpError::new("constraint violation", format!("cannot mutate immutable column {} in table {table}", m.column)));
                    }
                    let value = self.resolve(&m.value)?;
                    checked.push((cs.type_.clone(), crate::ops::Mutation { value, ..m }));
                }
                let uuids = self.matching(ts, &where_)?;
                for u in &uuids {
                    let Some(old) = self.get(&table, u) else { continue };
                    let mut new = old.clone();
                    for (ty, m) in &checked {
                        let cur = new.get(&m.column).cloned().unwrap_or_else(|| ty.default_value());
                        new.insert(m.column.clone(), mutate::apply(ty, &cur, m)?);
                    }
                    self.put_modified(&table, *u, new);
                }
                Ok(json!({"count": uuids.len()}))
            }
            Operation::Delete { table, where_ } => {
                let ts = table_schema(db, &table)?;
                let uuids = self.matching(ts, &where_)?;
                for u in &uuids {
                    self.put(&table, *u, None);
                }
                Ok(json!({"count": uuids.len()}))
            }
            Operation::Wait { table, where_, columns, until, rows, timeout } => {
                let ts = table_schema(db, &table)?;
                let mut types = Vec::with_capacity(columns.len());
                for c in &columns {
                    types.push(ts.column_type(c).ok_or_else(|| OpError::new("unknown column", format!("no column {c} in table {table}")))?);
                }
                let key = |r: &Row| -> Result<Vec<Value>, OpError> {
                    columns
                        .iter()
                        .zip(&types)
                        .map(|(c, ty)| match r.get(c) {
                            Some(v) => ty.check(&self.resolve(v)?).map_err(|e| OpError::new("constraint violation", e.to_string())),
                            None => Ok(ty.default_value()),
                        })
                        .collect()
                };
                let mut have = self.matching(ts, &where_)?.iter().filter_map(|u| self.get(&table, u)).map(key).collect::<Result<Vec<_>, _>>()?;
                let mut want = rows.iter().map(key).collect::<Result<Vec<_>, _>>()?;
                have.sort();
                want.sort();
                if (have == want) == (until == WaitUntil::Equal) {
                    Ok(json!({}))
                } else {
                    // Never blocks: a wait that does not hold fails at once,
                    // whatever its timeout (see the module docs).
                    Err(OpError::new("timed out", format!("wait on {table} did not hold (timeout {timeout:?} ms)")))
                }
            }
            Operation::Commit { .. } | Operation::Comment(_) => Ok(json!({})),
            Operation::Abort => Err(OpError::new("aborted", "aborted by request")),
            Operation::Assert { lock } => Err(OpError::new("not owner", format!("this server does not implement locks ({lock:?})"))),
        }
    }

    /// Stores a modified row; a row whose contents did not change keeps
    /// its `_version` and is no change at all.
    fn put_modified(&mut self, table: &str, uuid: Uuid, mut new: Row) {
        if self.get(table, &uuid).is_some_and(|old| same_contents(old, &new)) {
            return;
        }
        new.insert("_version", Value::uuid(Uuid::new_v4()));
        self.put(table, uuid, Some(new));
    }

    /// Every referenced uuid of a row, with its target table and kind.
    fn references<'r>(&'r self, table: &str, row: &'r Row) -> impl Iterator<Item = (&'r str, RefType, Uuid)> + 'r {
        row_refs(&self.db.refs, table, row)
    }

    /// Garbage collection, weak-reference cleanup and the checks of the
    /// committed state. Returns the changes to apply.
    fn commit(mut self) -> Result<BTreeMap<String, BTreeMap<Uuid, Option<Row>>>, OpError> {
        if self.changes.is_empty() {
            return Ok(self.changes);
        }
        // Strong reference counts: the committed ones (kept by the
        // database), moved by what this transaction changed; and the
        // table of every row that lost a reference.
        let mut delta: HashMap<Uuid, i64> = HashMap::new();
        let mut dropped: BTreeMap<Uuid, String> = BTreeMap::new();
        for (t, rows) in &self.changes {
            for (u, new) in rows {
                for (rt, r) in self.db.tables.get(t).and_then(|rows| rows.get(u)).iter().flat_map(|old| strong_refs(&self.db.refs, t, old)) {
                    *delta.entry(r).or_default() -= 1;
                    dropped.insert(r, rt.to_owned());
                }
                for (_, r) in new.iter().flat_map(|new| strong_refs(&self.db.refs, t, new)) {
                    *delta.entry(r).or_default() += 1;
                }
            }
        }
        let db = self.db;
        let count = |delta: &HashMap<Uuid, i64>, u: &Uuid| i64::from(db.strong_in.get(u).copied().unwrap_or(0)) + delta.get(u).copied().unwrap_or(0);
        let non_root = |t: &str| db.schema.tables.get(t).is_some_and(|ts| !ts.is_root);
        // Collect unreferenced rows of non-root tables, transitively. Every
        // committed non-root row is referenced (each commit collected the
        // rest), so the candidates are the rows this transaction wrote and
        // the rows it took references away from.
        let mut dead: Vec<(String, Uuid)> = Vec::new();
        for (t, rows) in &self.changes {
            if non_root(t) {
                dead.extend(rows.iter().filter(|(u, new)| new.is_some() && count(&delta, u) <= 0).map(|(u, _)| (t.clone(), *u)));
            }
        }
        dead.extend(dropped.into_iter().filter(|(u, t)| non_root(t) && count(&delta, u) <= 0).map(|(u, t)| (t, u)));
        dead.sort();
        dead.dedup();
        while let Some((t, u)) = dead.pop() {
            let Some(row) = self.get(&t, &u).cloned() else { continue };
            let released: Vec<(String, Uuid)> =
                self.references(&t, &row).filter(|(_, k, _)| *k == RefType::Strong).map(|(rt, _, ru)| (rt.to_owned(), ru)).collect();
            self.put(&t, u, None);
            for (rt, ru) in released {
                *delta.entry(ru).or_default() -= 1;
                if count(&delta, &ru) == 0 && non_root(&rt) && self.get(&rt, &ru).is_some() {
                    dead.push((rt, ru));
                }
            }
        }
        // Referential integrity: what the written rows reference must
        // exist, and no remaining row may reference a deleted one (its
        // count says so). Weak references that no longer resolve are
        // dropped.
        for (t, rows) in &self.changes {
            for (u, row) in rows.iter().filter_map(|(u, r)| r.as_ref().map(|r| (u, r))) {
                for (rt, kind, ru) in self.references(t, row) {
                    if kind == RefType::Strong && self.get(rt, &ru).is_none() {
                        return Err(OpError::new(
                            "referential integrity violation",
                            format!("table {t} row {u} references {ru}, which is not a row of {rt} (or was deleted)"),
                        ));
                    }
                }
            }
        }
        let deleted: Vec<(String, Uuid)> =
            self.changes.iter().flat_map(|(t, rows)| rows.iter().filter(|(_, r)| r.is_none()).map(move |(u, _)| (t.clone(), *u))).collect();
        for (t, u) in &deleted {
            if count(&delta, u) > 0 && self.db.tables.get(t).is_some_and(|rows| rows.contains_key(u)) {
                // Name the referrer, as a full check would.
                let by = self.db.tables.keys().find_map(|rt| {
                    self.rows(rt).find(|(_, row)| self.references(rt, row).any(|(_, k, x)| k == RefType::Strong && x == *u)).map(|(ru, _)| (rt.clone(), ru))
                });
                let (rt, ru) = by.unwrap_or_default();
                return Err(OpError::new(
                    "referential integrity violation",
                    format!("table {rt} row {ru} references {u}, which is not a row of {t} (or was deleted)"),
                ));
            }
        }
        if self.db.has_weak {
            // (Rare: no column of `hardware_vtep` is weak.)
            let tables: Vec<String> = self.db.schema.tables.keys().cloned().collect();
            let mut weak_fix: Vec<(String, Uuid)> = Vec::new();
            for t in &tables {
                for (u, row) in self.rows(t) {
                    if self.references(t, row).any(|(rt, kind, ru)| kind == RefType::Weak && self.get(rt, &ru).is_none()) {
                        weak_fix.push((t.clone(), u));
                    }
                }
            }
            for (t, u) in weak_fix {
                self.drop_weak(&t, u)?;
            }
        }
        // Unique indexes and maxRows of the tables that changed.
        let changed: Vec<String> = self.changes.keys().cloned().collect();
        for t in &changed {
            let Some(ts) = self.db.schema.table(t) else { continue };
            for index in &ts.indexes {
                let mut seen = HashSet::new();
                for (u, row) in self.rows(t) {
                    let key: Vec<Option<&Value>> = index.iter().map(|c| row.get(c)).collect();
                    if !seen.insert(key) {
                        return Err(OpError::new(
                            "constraint violation",
                            format!("transaction causes multiple rows in {t} to have identical values for index ({}), e.g. row {u}", index.join(", ")),
                        ));
                    }
                }
            }
            if let Some(max) = ts.max_rows {
                let n = self.rows(t).count() as u64;
                if n > max {
                    return Err(OpError::new("constraint violation", format!("transaction causes {t} to contain {n} rows, greater than its maximum of {max}")));
                }
            }
        }
        Ok(self.changes)
    }

    /// Removes dangling weak references from one row; fails if that leaves
    /// a column with fewer elements than its minimum.
    fn drop_weak(&mut self, table: &str, uuid: Uuid) -> Result<(), OpError> {
        let Some(mut row) = self.get(table, &uuid).cloned() else { return Ok(()) };
        let cols = self.db.refs.get(table).cloned().unwrap_or_default();
        let ts = table_schema(self.db, table)?;
        for rc in cols {
            let alive = |t: &Option<(String, RefType)>, a: &Atom| match (t, a.as_uuid()) {
                (Some((rt, RefType::Weak)), Some(u)) => self.get(rt, &u).is_some(),
                _ => true,
            };
            let new = match row.get(&rc.column) {
                Some(Value::Set(s)) => Value::Set(s.iter().filter(|a| alive(&rc.key, a)).cloned().collect()),
                Some(Value::Map(m)) => {
                    Value::Map(m.iter().filter(|(k, v)| alive(&rc.key, k) && alive(&rc.value, v)).map(|(k, v)| (k.clone(), v.clone())).collect())
                }
                Some(Value::Atom(a)) if !alive(&rc.key, a) => Value::empty_set(),
                _ => continue,
            };
            let ty = ts.column_type(&rc.column).cloned().unwrap_or_else(|| ColumnType::scalar(crate::notation::AtomicType::Uuid));
            let new =
                ty.check(&new).map_err(|e| OpError::new("constraint violation", format!("{table}.{}: deleting a weakly referenced row: {e}", rc.column)))?;
            row.insert(rc.column.clone(), new);
        }
        self.put_modified(table, uuid, row);
        Ok(())
    }
}
