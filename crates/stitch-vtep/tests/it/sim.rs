//! A small in-memory model of ovsdb-server's `transact` for the
//! hardware_vtep schema, for property tests: insert (with named-uuid),
//! select, update, mutate (insert/delete), delete, wait (timeout 0),
//! comment; type checks, immutable columns, referential integrity, unique
//! indexes and garbage collection of unreferenced non-root rows at commit.
//! A failing transaction changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::monitor::{RowUpdate2, Updates, compute_diff};
use ovsdb::notation::{Atom, Row, Value};
use ovsdb::ops::{Condition, Mutator, Operation, OperationResult, WaitUntil};
use ovsdb::schema::{ColumnType, DatabaseSchema, TableSchema};
use stitch_vtep::{VtepCache, initial_updates, installed_schema};
use uuid::Uuid;

pub type Tables = BTreeMap<String, BTreeMap<Uuid, Row>>;

#[derive(Clone)]
pub struct SimDb {
    schema: DatabaseSchema,
    pub tables: Tables,
    next: u128,
}

fn err(kind: &str, details: impl Into<String>) -> String {
    format!("{kind}: {}", details.into())
}

impl SimDb {
    pub fn new() -> Self {
        let schema = installed_schema().unwrap();
        let tables = schema.tables.keys().map(|t| (t.clone(), BTreeMap::new())).collect();
        SimDb { schema, tables, next: 1 }
    }

    /// A cache built from scratch (a "fresh full read").
    pub fn cache(&self) -> VtepCache {
        let mut c = VtepCache::with_installed_schema();
        c.apply(&initial_updates(&self.tables)).expect("sim rows decode");
        c
    }

    /// Runs a transaction; `Err` names the first failure (nothing changed).
    pub fn transact(&mut self, ops: &[Operation]) -> Result<Vec<OperationResult>, String> {
        let mut work = self.tables.clone();
        let mut names: BTreeMap<String, Uuid> = BTreeMap::new();
        let mut results = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let r = self.op(&mut work, &mut names, op).map_err(|e| format!("operation {i} ({}): {e}", op.name()))?;
            results.push(r);
        }
        self.commit(&mut work)?;
        self.tables = work;
        Ok(results)
    }

    fn ts(&self, table: &str) -> Result<&TableSchema, String> {
        self.schema.table(table).ok_or_else(|| err("unknown table", table))
    }

    fn op(&mut self, work: &mut Tables, names: &mut BTreeMap<String, Uuid>, op: &Operation) -> Result<OperationResult, String> {
        match op {
            Operation::Insert { table, row, uuid_name, .. } => {
                let ts = self.ts(table)?.clone();
                let row = ts.check_row(&subst_row(row, names)?).map_err(|e| err("constraint violation", e.to_string()))?;
                let mut full = Row::new();
                for (c, cs) in &ts.columns {
                    full.insert(c.clone(), row.get(c).cloned().unwrap_or_else(|| cs.type_.default_value()));
                }
                let uuid = Uuid::from_u128(0x5100_0000_0000_0000_0000_0000_0000_0000 | self.next);
                self.next += 1;
                full.insert("_uuid", Value::uuid(uuid));
                if let Some(n) = uuid_name {
                    if names.insert(n.clone(), uuid).is_some() {
                        return Err(err("duplicate uuid-name", n.clone()));
                    }
                }
                work.get_mut(table.as_str()).ok_or_else(|| err("unknown table", table.clone()))?.insert(uuid, full);
                Ok(OperationResult::Insert { uuid })
            }
            Operation::Select { table, where_, .. } => {
                let rows = matching(work, table, where_)?.into_iter().map(|u| work[table][&u].clone()).collect();
                Ok(OperationResult::Select { rows })
            }
            Operation::Update { table, where_, row } => {
                let ts = self.ts(table)?.clone();
                let row = ts.check_row(&subst_row(row, names)?).map_err(|e| err("constraint violation", e.to_string()))?;
                for (c, _) in row.iter() {
                    if !ts.columns[c].mutable {
                        return Err(err("constraint violation", format!("{table}.{c} is immutable")));
                    }
                }
                let hits = matching(work, table, where_)?;
                for u in &hits {
                    let r = work.get_mut(table.as_str()).unwrap().get_mut(u).unwrap();
                    for (c, v) in row.iter() {
                        r.insert(c.clone(), v.clone());
                    }
                }
                Ok(OperationResult::Count(hits.len() as u64))
            }
            Operation::Mutate { table, where_, mutations } => {
                let ts = self.ts(table)?.clone();
                let hits = matching(work, table, where_)?;
                for u in &hits {
                    let r = work.get_mut(table.as_str()).unwrap().get_mut(u).unwrap();
                    for m in mutations {
                        let cs = ts.columns.get(&m.column).ok_or_else(|| err("unknown column", m.column.clone()))?;
                        if !cs.mutable {
                            return Err(err("constraint violation", format!("{table}.{} is immutable", m.column)));
                        }
                        let arg = subst(&m.value, names)?;
                        let new = mutate(&cs.type_, r.get(&m.column).expect("full row"), m.mutator, &arg)?;
                        let new = cs.type_.check(&new).map_err(|e| err("constraint violation", e.to_string()))?;
                        r.insert(m.column.clone(), new);
                    }
                }
                Ok(OperationResult::Count(hits.len() as u64))
            }
            Operation::Delete { table, where_ } => {
                let hits = matching(work, table, where_)?;
                for u in &hits {
                    work.get_mut(table.as_str()).unwrap().remove(u);
                }
                Ok(OperationResult::Count(hits.len() as u64))
            }
            Operation::Wait { table, where_, columns, until, rows, timeout } => {
                assert_eq!(*timeout, Some(0), "the sim only does non-blocking waits");
                let project = |r: &Row| -> Row { columns.iter().filter_map(|c| r.get(c).map(|v| (c.clone(), v.clone()))).collect() };
                let got: BTreeSet<String> = matching(work, table, where_)?.iter().map(|u| project(&work[table][u]).to_json().to_string()).collect();
                let want: BTreeSet<String> = rows.iter().map(|r| r.to_json().to_string()).collect();
                match (until, got == want) {
                    (WaitUntil::Equal, true) | (WaitUntil::NotEqual, false) => Ok(OperationResult::Empty),
                    _ => Err(err("timed out", "wait")),
                }
            }
            Operation::Comment(_) => Ok(OperationResult::Empty),
            other => Err(err("not supported by the sim", other.name())),
        }
    }

    /// Commit-time checks and garbage collection.
    fn commit(&self, work: &mut Tables) -> Result<(), String> {
        // Garbage-collect unreferenced non-root rows until stable.
        loop {
            let referenced = self.references(work);
            let mut removed = false;
            for (t, ts) in &self.schema.tables {
                if ts.is_root {
                    continue;
                }
                let rows = work.get_mut(t).unwrap();
                let before = rows.len();
                rows.retain(|u, _| referenced.contains(u));
                removed |= rows.len() != before;
            }
            if !removed {
                break;
            }
        }
        // Referential integrity (every reference here is strong).
        for (t, ts) in &self.schema.tables {
            for (u, row) in &work[t] {
                for (c, cs) in &ts.columns {
                    for (target, r) in refs(&cs.type_, row.get(c)) {
                        if !work[target].contains_key(&r) {
                            return Err(err("referential integrity violation", format!("{t} {u} {c} → {target} {r}")));
                        }
                    }
                }
            }
        }
        // Unique indexes.
        for (t, ts) in &self.schema.tables {
            for index in &ts.indexes {
                let mut seen = BTreeSet::new();
                for row in work[t].values() {
                    let key: Vec<String> = index.iter().map(|c| row.get(c).map(|v| v.to_string()).unwrap_or_default()).collect();
                    if !seen.insert(key.clone()) {
                        return Err(err("constraint violation", format!("{t} index {index:?} duplicate {key:?}")));
                    }
                }
            }
        }
        Ok(())
    }

    fn references(&self, work: &Tables) -> BTreeSet<Uuid> {
        let mut out = BTreeSet::new();
        for (t, ts) in &self.schema.tables {
            for row in work[t].values() {
                for (c, cs) in &ts.columns {
                    out.extend(refs(&cs.type_, row.get(c)).map(|(_, u)| u));
                }
            }
        }
        out
    }

    /// The `update2` notification a monitor of everything would get for
    /// the change from `before` to `self`.
    pub fn updates_since(&self, before: &SimDb) -> Updates {
        let mut out = BTreeMap::new();
        for (t, ts) in &self.schema.tables {
            let (old, new) = (&before.tables[t], &self.tables[t]);
            let mut rows = BTreeMap::new();
            for (u, r) in old {
                match new.get(u) {
                    None => {
                        rows.insert(*u, RowUpdate2::Delete);
                    }
                    Some(n) if n != r => {
                        let diff: Row = ts
                            .columns
                            .iter()
                            .filter(|(c, _)| r.get(c) != n.get(c))
                            .map(|(c, cs)| (c.clone(), compute_diff(&cs.type_, r.col(c), n.col(c)).expect("sim rows type-check")))
                            .collect();
                        rows.insert(*u, RowUpdate2::Modify(diff));
                    }
                    Some(_) => {}
                }
            }
            for (u, n) in new {
                if !old.contains_key(u) {
                    let n: Row = n.iter().filter(|(c, _)| !c.starts_with('_')).map(|(c, v)| (c.clone(), v.clone())).collect();
                    rows.insert(*u, RowUpdate2::Insert(n));
                }
            }
            if !rows.is_empty() {
                out.insert(t.clone(), rows);
            }
        }
        Updates::V2(out)
    }
}

trait RowIndex {
    fn col(&self, c: &str) -> &Value;
}

impl RowIndex for Row {
    fn col(&self, c: &str) -> &Value {
        self.get(c).expect("sim rows are full")
    }
}

fn matching(work: &Tables, table: &str, where_: &[Condition]) -> Result<Vec<Uuid>, String> {
    let rows = work.get(table).ok_or_else(|| err("unknown table", table))?;
    let mut out = Vec::new();
    for (u, r) in rows {
        if Condition::all_match(where_, r).map_err(|e| err("syntax error", e.to_string()))? {
            out.push(*u);
        }
    }
    Ok(out)
}

fn subst_atom(a: &Atom, names: &BTreeMap<String, Uuid>) -> Result<Atom, String> {
    match a {
        Atom::NamedUuid(n) => names.get(n).map(|u| Atom::Uuid(*u)).ok_or_else(|| err("unknown named-uuid", n.clone())),
        other => Ok(other.clone()),
    }
}

fn subst(v: &Value, names: &BTreeMap<String, Uuid>) -> Result<Value, String> {
    Ok(match v {
        Value::Atom(a) => Value::Atom(subst_atom(a, names)?),
        Value::Set(s) => Value::Set(s.iter().map(|a| subst_atom(a, names)).collect::<Result<_, _>>()?),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| Ok((subst_atom(k, names)?, subst_atom(v, names)?))).collect::<Result<_, String>>()?),
    })
}

fn subst_row(r: &Row, names: &BTreeMap<String, Uuid>) -> Result<Row, String> {
    r.iter().map(|(c, v)| Ok((c.clone(), subst(v, names)?))).collect()
}

fn mutate(ty: &ColumnType, cur: &Value, m: Mutator, arg: &Value) -> Result<Value, String> {
    match (ty.is_map(), m) {
        (true, Mutator::Insert) => {
            let mut map = cur.as_map().cloned().unwrap_or_default();
            for (k, v) in arg.as_map().ok_or_else(|| err("syntax error", "insert into a map needs a map"))? {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
            Ok(Value::Map(map))
        }
        (true, Mutator::Delete) => {
            let mut map = cur.as_map().cloned().unwrap_or_default();
            match arg {
                Value::Map(pairs) => map.retain(|k, v| pairs.get(k) != Some(v)),
                other => {
                    let keys = other.as_set().unwrap_or_default();
                    map.retain(|k, _| !keys.contains(k));
                }
            }
            Ok(Value::Map(map))
        }
        (false, Mutator::Insert) => {
            let mut s = cur.as_set().unwrap_or_default();
            s.extend(arg.as_set().unwrap_or_default());
            Ok(Value::Set(s))
        }
        (false, Mutator::Delete) => {
            let mut s = cur.as_set().unwrap_or_default();
            for a in arg.as_set().unwrap_or_default() {
                s.remove(&a);
            }
            Ok(Value::Set(s))
        }
        (_, other) => Err(err("not supported by the sim", other.as_str())),
    }
}

/// The (table, uuid) references a value of a column holds.
fn refs<'a>(ty: &'a ColumnType, v: Option<&'a Value>) -> impl Iterator<Item = (&'a str, Uuid)> + 'a {
    let key = ty.key.ref_table.as_deref();
    let val = ty.value.as_ref().and_then(|b| b.ref_table.as_deref());
    let atoms: Vec<(&'a str, Uuid)> = match v {
        None => vec![],
        Some(Value::Map(m)) => m.iter().flat_map(|(k, v)| [key.zip(k.as_uuid()), val.zip(v.as_uuid())].into_iter().flatten()).collect(),
        Some(other) => other.as_set().unwrap_or_default().into_iter().filter_map(|a| key.zip(a.as_uuid())).collect(),
    };
    atoms.into_iter()
}
