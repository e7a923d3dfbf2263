//! Running a [`Plan`] through an [`ovsdb::Client`], reading the whole
//! database into a [`VtepCache`], and what to monitor.

use std::collections::BTreeMap;

use ovsdb::monitor::{MonitorRequest, MonitorRequests};
use ovsdb::ops::{Operation, OperationResult};
use ovsdb::schema::DatabaseSchema;
use ovsdb::{Client, RpcError};
use uuid::Uuid;

use crate::cache::{CacheError, VtepCache};
use crate::plan::Plan;
use crate::schema_check::DATABASE;
use crate::table::Table;

/// Why applying a plan failed. Nothing was committed unless the variant
/// says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The request did not get an answer (not connected, connection lost
    /// in flight, ...). With [`ovsdb::Error::Disconnected`] the
    /// transaction may or may not have been committed; re-planning from a
    /// fresh cache is always safe.
    #[error("transact failed: {0}")]
    Client(#[from] ovsdb::Error),
    /// The database changed under the plan: a guard did not hold (`wait`
    /// timed out), a unique index or referential integrity check failed.
    /// Retry after the cache has caught up.
    #[error("conflict{}: {error}", at(.index, .summary))]
    Conflict {
        /// The failed operation (`None`: at commit).
        index: Option<usize>,
        /// Its note.
        summary: Option<String>,
        /// The server's error.
        error: RpcError,
    },
    /// The server refused an operation for another reason (a bug, or a
    /// schema the check let through). Retrying will not help.
    #[error("rejected{}: {error}", at(.index, .summary))]
    Rejected {
        /// The failed operation (`None`: at commit).
        index: Option<usize>,
        /// Its note.
        summary: Option<String>,
        /// The server's error.
        error: RpcError,
    },
}

fn at(index: &Option<usize>, summary: &Option<String>) -> String {
    match (index, summary) {
        (Some(i), Some(s)) => format!(" at operation {i} ({s})"),
        (Some(i), None) => format!(" at operation {i}"),
        _ => " at commit".to_owned(),
    }
}

impl ApplyError {
    /// True when re-planning and retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApplyError::Client(_) | ApplyError::Conflict { .. } => true,
            ApplyError::Rejected { .. } => false,
        }
    }
}

/// A committed plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// One result per operation.
    pub results: Vec<OperationResult>,
    /// UUIDs of inserted rows, by operation index.
    pub inserted: BTreeMap<usize, Uuid>,
    /// Operations that matched fewer rows than expected: the row was
    /// already gone or changed (the cache was behind). The rest committed;
    /// the next plan, from a caught-up cache, repairs the difference.
    pub stale: Vec<usize>,
}

impl Applied {
    /// True when every operation did what it was planned to.
    pub fn is_complete(&self) -> bool {
        self.stale.is_empty()
    }
}

/// Whether a failure means "the database is not what the plan assumed"
/// (retryable) rather than "the plan is wrong": a guard `wait` that timed
/// out, or a unique-index or referential-integrity failure at commit. A
/// "constraint violation" of one operation (a bad value, an immutable
/// column) is a plan defect.
fn is_conflict(plan: &Plan, index: Option<usize>, error: &RpcError) -> bool {
    match index {
        Some(i) => error.error == "timed out" && matches!(plan.ops.get(i), Some(Operation::Wait { .. })),
        None => matches!(error.error.as_str(), "constraint violation" | "referential integrity violation"),
    }
}

/// Sends the plan as one `transact` and checks the results. An empty plan
/// is not sent.
pub async fn apply(client: &Client, plan: &Plan) -> Result<Applied, ApplyError> {
    if plan.is_empty() {
        return Ok(Applied { results: Vec::new(), inserted: BTreeMap::new(), stale: Vec::new() });
    }
    let response = client.transact(DATABASE, &plan.ops).await?;
    check_results(plan, response.results, response.commit_error)
}

/// Interprets the results of a plan's transaction (exposed for callers
/// that send the operations themselves).
pub fn check_results(plan: &Plan, results: Vec<OperationResult>, commit_error: Option<RpcError>) -> Result<Applied, ApplyError> {
    let failure = results
        .iter()
        .enumerate()
        .find_map(|(i, r)| match r {
            OperationResult::Error(e) => Some((Some(i), e.clone())),
            _ => None,
        })
        .or_else(|| commit_error.map(|e| (None, e)));
    if let Some((index, error)) = failure {
        let summary = index.and_then(|i| plan.notes.get(i)).map(|n| n.summary.clone());
        return Err(if is_conflict(plan, index, &error) {
            ApplyError::Conflict { index, summary, error }
        } else {
            ApplyError::Rejected { index, summary, error }
        });
    }
    let mut inserted = BTreeMap::new();
    let mut stale = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if let Some(u) = r.uuid() {
            inserted.insert(i, u);
        }
        let expected = plan.notes.get(i).and_then(|n| n.expected_count);
        if let (Some(want), Some(got)) = (expected, r.count()) {
            if got < want {
                stale.push(i);
            }
        }
    }
    Ok(Applied { results, inserted, stale })
}

/// What to monitor: every table we decode that the schema has, all
/// columns, except `Logical_Binding_Stats` (counters that change all the
/// time and that planning never reads).
pub fn monitor_requests(schema: &DatabaseSchema) -> MonitorRequests {
    Table::ALL
        .into_iter()
        .filter(|t| *t != Table::LogicalBindingStats && schema.table(t.name()).is_some())
        .fold(MonitorRequests::new(), |m, t| m.table(t.name(), MonitorRequest::all()))
}

/// Why a full read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The request failed.
    #[error("reading {DATABASE}: {0}")]
    Client(#[from] ovsdb::Error),
    /// The server answered with an error.
    #[error("reading {DATABASE}: {0}")]
    Transaction(#[from] ovsdb::TransactionError),
    /// The rows did not fit.
    #[error("reading {DATABASE}: {0}")]
    Cache(#[from] CacheError),
}

/// Reads every table of [`monitor_requests`] in one `transact` of
/// `select`s into a fresh cache (for `schema`, normally the server's).
pub async fn read_all(client: &Client, schema: DatabaseSchema) -> Result<VtepCache, ReadError> {
    let tables: Vec<String> = monitor_requests(&schema).0.into_keys().collect();
    let ops: Vec<Operation> = tables.iter().map(|t| Operation::select(t.as_str(), vec![])).collect();
    let results = client.transact(DATABASE, &ops).await?.into_result()?;
    let mut rows = BTreeMap::new();
    for (t, r) in tables.into_iter().zip(results) {
        if let OperationResult::Select { rows: r } = r {
            rows.insert(t, r);
        }
    }
    let mut cache = VtepCache::new(schema);
    cache.load(rows)?;
    Ok(cache)
}

#[cfg(test)]
mod tests {
    use ovsdb::ops::{Condition, TransactResponse, WaitUntil};
    use serde_json::json;

    use super::*;
    use crate::plan::OpNote;

    fn plan() -> Plan {
        let note = |s: &str, c| OpNote { summary: s.into(), expected_count: c };
        Plan {
            ops: vec![
                Operation::Wait {
                    table: "Logical_Switch".into(),
                    where_: vec![Condition::eq("name", "a")],
                    columns: vec!["name".into()],
                    until: WaitUntil::Equal,
                    rows: vec![],
                    timeout: Some(0),
                },
                Operation::insert("Logical_Switch", ovsdb::Row::new().with("name", "a")),
                Operation::delete("Ucast_Macs_Remote", vec![Condition::uuid_eq(Uuid::nil())]),
            ],
            notes: vec![note("guard", None), note("add", None), note("delete", Some(1))],
            problems: vec![],
        }
    }

    fn check(j: serde_json::Value) -> Result<Applied, ApplyError> {
        let r = TransactResponse::from_json(&j, 3).unwrap();
        check_results(&plan(), r.results, r.commit_error)
    }

    #[test]
    fn results_are_classified() {
        let u = Uuid::from_u128(1).to_string();
        let ok = check(json!([{}, {"uuid": ["uuid", u]}, {"count": 1}])).unwrap();
        assert!(ok.is_complete());
        assert_eq!(ok.inserted, BTreeMap::from([(1, Uuid::from_u128(1))]));
        let stale = check(json!([{}, {"uuid": ["uuid", u]}, {"count": 0}])).unwrap();
        assert_eq!(stale.stale, [2]);

        let e = check(json!([{"error": "timed out"}, null, null])).unwrap_err();
        assert!(matches!(e, ApplyError::Conflict { index: Some(0), .. }) && e.is_retryable(), "{e}");
        assert_eq!(e.to_string(), "conflict at operation 0 (guard): timed out");
        let e = check(json!([{}, {"uuid": ["uuid", u]}, {"count": 1}, {"error": "constraint violation"}])).unwrap_err();
        assert!(matches!(e, ApplyError::Conflict { index: None, .. }), "{e}");
        // A bad value in one operation is the plan's fault.
        let e = check(json!([{}, {"error": "constraint violation", "details": "bad enum"}, null])).unwrap_err();
        assert!(matches!(e, ApplyError::Rejected { index: Some(1), .. }) && !e.is_retryable(), "{e}");
    }
}
