//! A replica of monitored tables, fed by [`Updates`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use uuid::Uuid;

use super::{MonitorRequests, RowUpdate, RowUpdate2, Updates, apply_diff};
use crate::error::{Error, SchemaError};
use crate::notation::{Row, Value};
use crate::ops::Condition;
use crate::schema::{DatabaseSchema, TableSchema};

/// Rows of monitored tables, kept current by applying monitor updates.
///
/// Values are normalized to their column's shape (see
/// [`ColumnType::normalize`](crate::schema::ColumnType::normalize)), so a
/// set column always holds a [`Value::Set`] even when the server used the
/// one-element shorthand. If [`apply`](Self::apply) fails, the cache may be
/// partly updated: [`clear`](Self::clear) it and resynchronize.
///
/// `update2` rows leave out columns that hold their default value; the
/// cache fills them in for the monitored columns, so a cached row always
/// has every monitored column.
#[derive(Debug, Clone)]
pub struct Cache {
    /// Shared: many caches of one schema (one per switch) need one copy.
    schema: Arc<DatabaseSchema>,
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
    /// Monitored columns per table; `None`: every column.
    columns: Option<BTreeMap<String, Option<BTreeSet<String>>>>,
}

impl Cache {
    /// An empty cache for a database schema, for monitors of all columns.
    /// Pass an `Arc` to share one parsed schema between caches.
    pub fn new(schema: impl Into<Arc<DatabaseSchema>>) -> Self {
        Cache { schema: schema.into(), tables: BTreeMap::new(), columns: None }
    }

    /// An empty cache for the columns a monitor asked for.
    pub fn for_monitor(schema: impl Into<Arc<DatabaseSchema>>, requests: &MonitorRequests) -> Self {
        let columns = requests
            .0
            .iter()
            .map(|(t, reqs)| {
                let cols = reqs.iter().try_fold(BTreeSet::new(), |mut acc, r| {
                    acc.extend(r.columns.as_ref()?.iter().cloned());
                    Some(acc)
                });
                (t.clone(), cols)
            })
            .collect();
        Cache { schema: schema.into(), tables: BTreeMap::new(), columns: Some(columns) }
    }

    /// The schema.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.schema
    }

    /// Forgets every row (before applying a full resync).
    pub fn clear(&mut self) {
        self.tables.clear();
    }

    /// Rows of a table (empty if none was seen).
    pub fn table(&self, table: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(table).into_iter().flat_map(|t| t.iter())
    }

    /// Number of rows in a table.
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, BTreeMap::len)
    }

    /// True when no table has any row.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(BTreeMap::is_empty)
    }

    /// One row.
    pub fn get(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    /// Rows of a table that match all the conditions.
    pub fn select(&self, table: &str, where_: &[Condition]) -> Result<Vec<(Uuid, &Row)>, Error> {
        let mut out = Vec::new();
        for (u, r) in self.table(table) {
            if Condition::all_match(where_, r)? {
                out.push((*u, r));
            }
        }
        Ok(out)
    }

    /// Applies one batch of updates.
    pub fn apply(&mut self, updates: &Updates) -> Result<(), SchemaError> {
        match updates {
            Updates::V1(t) => {
                for (table, rows) in t {
                    let ts = self.schema.require_table(table)?;
                    let cache = self.tables.entry(table.clone()).or_default();
                    for (uuid, RowUpdate { new, .. }) in rows {
                        match new {
                            None => {
                                cache.remove(uuid);
                            }
                            Some(new) => {
                                let mut row = normalize_row(ts, new)?;
                                row.insert("_uuid", Value::uuid(*uuid));
                                cache.insert(*uuid, row);
                            }
                        }
                    }
                }
            }
            Updates::V2(t) => {
                for (table, rows) in t {
                    let ts = self.schema.require_table(table)?;
                    for (uuid, update) in rows {
                        if let RowUpdate2::Initial(r) | RowUpdate2::Insert(r) = update {
                            let mut row = normalize_row(ts, r)?;
                            fill_defaults(self.columns.as_ref(), ts, &mut row);
                            row.insert("_uuid", Value::uuid(*uuid));
                            self.tables.entry(table.clone()).or_default().insert(*uuid, row);
                            continue;
                        }
                        let cache = self.tables.entry(table.clone()).or_default();
                        match update {
                            RowUpdate2::Initial(_) | RowUpdate2::Insert(_) => {}
                            RowUpdate2::Delete => {
                                cache.remove(uuid);
                            }
                            RowUpdate2::Modify(diff) => {
                                let row = cache.get_mut(uuid).ok_or_else(|| SchemaError::Type(format!("modify of unknown row {uuid} in {table}")))?;
                                for (col, d) in diff.iter() {
                                    let ty = ts.require_column(col)?;
                                    let new = apply_diff(ty, row.get(col), d)?;
                                    row.insert(col.clone(), new);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn normalize_row(ts: &TableSchema, row: &Row) -> Result<Row, SchemaError> {
    row.iter()
        .map(|(c, v)| {
            let v = match ts.column_type(c) {
                Some(t) => t.normalize(v)?,
                None => v.clone(),
            };
            Ok((c.clone(), v))
        })
        .collect()
}

/// Adds the default value of every monitored column missing from `row`.
fn fill_defaults(columns: Option<&BTreeMap<String, Option<BTreeSet<String>>>>, ts: &TableSchema, row: &mut Row) {
    let wanted: Option<&BTreeSet<String>> = match columns {
        None => None,
        Some(m) => match m.get(&ts.name) {
            Some(c) => c.as_ref(),
            None => return,
        },
    };
    for (name, col) in &ts.columns {
        if wanted.is_none_or(|w| w.contains(name)) && row.get(name).is_none() {
            row.insert(name.clone(), col.type_.default_value());
        }
    }
}
