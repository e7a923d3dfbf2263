//! monitor / monitor_cond / monitor_cond_since against ovsdb-server, with
//! changes made by ovsdb-client and the resulting cache compared with what
//! ovsdb-client reads.

use std::collections::BTreeMap;

use ovsdb::monitor::Cache;
use ovsdb::{Client, Condition, Event, Events, MonitorId, MonitorMethod, MonitorRequest, MonitorRequests, Row, RowUpdate2, Updates, Uuid, Value};
use serde_json::json;

use crate::{DB, Opts, OvsdbServer, connect, expect_event, test_config};

const COLS: [&str; 4] = ["name", "description", "tunnel_key", "other_config"];

fn ls_requests() -> MonitorRequests {
    MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(COLS))
}

/// Logical_Switch rows as ovsdb-client sees them, normalized by the schema.
fn independent_view(server: &OvsdbServer, cache: &Cache) -> BTreeMap<Uuid, Row> {
    let mut cols: Vec<&str> = COLS.to_vec();
    cols.push("_uuid");
    let r = server.client_transact(&json!([DB, {"op": "select", "table": "Logical_Switch", "where": [], "columns": cols}]));
    let table = cache.schema().table("Logical_Switch").unwrap();
    r[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let row = Row::from_json(j).unwrap();
            let row: Row = row.iter().map(|(c, v)| (c.clone(), table.column_type(c).unwrap().normalize(v).unwrap())).collect();
            (row.uuid().unwrap(), row)
        })
        .collect()
}

fn cached(cache: &Cache) -> BTreeMap<Uuid, Row> {
    cache.table("Logical_Switch").map(|(u, r)| (*u, r.clone())).collect()
}

async fn next_update(events: &mut Events, monitor: MonitorId) -> (Option<Uuid>, Updates) {
    match expect_event(events, "Update", |e| matches!(e, Event::Update { .. })).await {
        Event::Update { monitor: m, last_txn_id, updates } => {
            assert_eq!(m, monitor);
            (last_txn_id, updates)
        }
        _ => unreachable!(),
    }
}

async fn follow_changes(method: MonitorMethod) {
    let server = OvsdbServer::start(Opts::default());
    server.client_transact(&json!([DB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "pre"}}]));
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let schema = client.get_schema(DB).await.unwrap();
    let started = client.monitor_exact(DB, ls_requests(), method).await.unwrap();
    assert_eq!(started.method, method);
    assert!(!started.found, "a standalone server never resumes");
    assert_eq!(started.last_txn_id.is_some(), method == MonitorMethod::MonitorCondSince);
    let mut cache = Cache::for_monitor(schema, &ls_requests());
    cache.apply(&started.updates).unwrap();
    assert_eq!(cached(&cache), independent_view(&server, &cache));
    assert_eq!(cache.len("Logical_Switch"), 1);

    let changes = [
        json!([DB, {"op": "insert", "table": "Logical_Switch",
            "row": {"name": "a", "tunnel_key": 5, "other_config": ["map", [["k", "v"], ["x", "1"]]]}}]),
        json!([DB, {"op": "update", "table": "Logical_Switch", "where": [["name", "==", "a"]],
            "row": {"description": "d", "tunnel_key": 6, "other_config": ["map", [["k", "v2"], ["y", "2"]]]}}]),
        json!([DB, {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "a"]],
            "mutations": [["tunnel_key", "delete", ["set", [6]]], ["other_config", "delete", ["set", ["y"]]]]}]),
        json!([DB, {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "pre"]]}]),
    ];
    let mut last_txn = started.last_txn_id;
    for change in changes {
        server.client_transact(&change);
        let (txn, updates) = next_update(&mut events, started.id).await;
        if method == MonitorMethod::MonitorCondSince {
            // A standalone server sends the all-zero id; a cluster, real ones.
            assert!(txn.is_some(), "update3 carries a txn id");
            assert_eq!(txn, last_txn, "standalone: always the zero id");
            last_txn = txn;
        } else {
            assert_eq!(txn, None);
        }
        assert_eq!(matches!(updates, Updates::V1(_)), method == MonitorMethod::Monitor);
        cache.apply(&updates).unwrap();
        assert_eq!(cached(&cache), independent_view(&server, &cache), "after {change}");
    }
    let rows = cached(&cache);
    let a = rows.values().next().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(a.get("other_config"), Some(&Value::map([("k", "v2")])));
    assert_eq!(a.get("tunnel_key"), Some(&Value::empty_set()));
    drop(client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_follows_changes() {
    follow_changes(MonitorMethod::Monitor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_cond_follows_changes() {
    follow_changes(MonitorMethod::MonitorCond).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_cond_since_follows_changes() {
    follow_changes(MonitorMethod::MonitorCondSince).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update2_modify_carries_diffs() {
    let server = OvsdbServer::start(Opts::default());
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let started = client.monitor(DB, ls_requests(), MonitorMethod::MonitorCond).await.unwrap();
    server.client_transact(&json!([DB, {"op": "insert", "table": "Logical_Switch",
        "row": {"name": "a", "tunnel_key": 5, "other_config": ["map", [["a", "1"], ["b", "2"]]]}}]));
    let (_, u) = next_update(&mut events, started.id).await;
    let Updates::V2(t) = u else { panic!("v2") };
    assert!(matches!(t["Logical_Switch"].values().next(), Some(RowUpdate2::Insert(_))));
    server.client_transact(&json!([DB, {"op": "update", "table": "Logical_Switch", "where": [],
        "row": {"name": "b", "tunnel_key": 6, "other_config": ["map", [["b", "3"], ["c", "4"]]]}}]));
    let (_, u) = next_update(&mut events, started.id).await;
    let Updates::V2(t) = u else { panic!("v2") };
    let Some(RowUpdate2::Modify(diff)) = t["Logical_Switch"].values().next() else { panic!("{t:?}") };
    // At most one element (scalar, optional): the new value. Map: removed
    // pair, changed pair with its new value, added pair.
    assert_eq!(diff.get_str("name"), Some("b"));
    assert_eq!(diff.get("tunnel_key").and_then(Value::as_i64), Some(6));
    assert_eq!(diff.get("other_config"), Some(&Value::map([("a", "1"), ("b", "3"), ("c", "4")])));
    assert!(diff.get("description").is_none(), "unchanged columns are absent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_cond_where_filters_rows() {
    let server = OvsdbServer::start(Opts::default());
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let reqs = MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(COLS).with_where(vec![Condition::eq("name", "a")]));
    let started = client.monitor(DB, reqs, MonitorMethod::MonitorCondSince).await.unwrap();
    assert!(started.updates.is_empty());
    for name in ["b", "a", "c"] {
        server.client_transact(&json!([DB, {"op": "insert", "table": "Logical_Switch", "row": {"name": name}}]));
    }
    server.client_transact(&json!([DB, {"op": "update", "table": "Logical_Switch", "where": [], "row": {"description": "x"}}]));
    // Only row "a" is reported: its insert, then its modify.
    let (_, u) = next_update(&mut events, started.id).await;
    let Updates::V2(t) = u else { panic!("v2") };
    let Some(RowUpdate2::Insert(row)) = t["Logical_Switch"].values().next() else { panic!("{t:?}") };
    assert_eq!(row.get_str("name"), Some("a"));
    assert_eq!(t["Logical_Switch"].len(), 1);
    let (_, u) = next_update(&mut events, started.id).await;
    assert_eq!(u.len(), 1);
    assert!(matches!(&u, Updates::V2(t) if matches!(t["Logical_Switch"].values().next(), Some(RowUpdate2::Modify(_)))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_cancel_stops_updates() {
    let server = OvsdbServer::start(Opts::default());
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let first = client.monitor(DB, ls_requests(), MonitorMethod::MonitorCondSince).await.unwrap();
    client.monitor_cancel(first.id).await.unwrap();
    assert!(client.monitor_cancel(first.id).await.is_err(), "already gone");
    let second = client.monitor(DB, ls_requests(), MonitorMethod::MonitorCond).await.unwrap();
    server.client_transact(&json!([DB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "a"}}]));
    // The first update event is for the second monitor: the cancelled one
    // sent nothing.
    let (_, u) = next_update(&mut events, second.id).await;
    assert_eq!(u.len(), 1);
    drop::<Client>(client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_cond_change_moves_the_window() {
    let server = OvsdbServer::start(Opts::default());
    for name in ["a", "b"] {
        server.client_transact(&json!([DB, {"op": "insert", "table": "Logical_Switch", "row": {"name": name}}]));
    }
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let reqs = MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(["name"]).with_where(vec![Condition::eq("name", "a")]));
    let started = client.monitor(DB, reqs, MonitorMethod::MonitorCondSince).await.unwrap();
    let mut cache = Cache::for_monitor(client.get_schema(DB).await.unwrap(), &ls_requests());
    cache.apply(&started.updates).unwrap();
    let names = |c: &Cache| c.table("Logical_Switch").filter_map(|(_, r)| r.get_str("name").map(str::to_owned)).collect::<Vec<_>>();
    assert_eq!(names(&cache), ["a"]);

    let changes = BTreeMap::from([("Logical_Switch".to_owned(), vec![Condition::eq("name", "b")])]);
    client.monitor_cond_change(started.id, changes).await.unwrap();
    let (_, u) = next_update(&mut events, started.id).await;
    cache.apply(&u).unwrap();
    assert_eq!(names(&cache), ["b"], "a left the window, b entered it");
    // Changes to rows outside the window are not reported; inside they are.
    server.client_transact(&json!([DB, {"op": "update", "table": "Logical_Switch", "where": [["name", "==", "a"]], "row": {"description": "x"}}]));
    server.client_transact(&json!([DB, {"op": "update", "table": "Logical_Switch", "where": [["name", "==", "b"]], "row": {"name": "b2"}}]));
    let (_, u) = next_update(&mut events, started.id).await;
    assert_eq!(u.len(), 1);
    cache.apply(&u).unwrap();
    // The row renamed away from "b" no longer matches: it is deleted.
    assert!(names(&cache).is_empty(), "{:?}", names(&cache));
    assert!(client.monitor_cond_change(MonitorId(999_999), BTreeMap::new()).await.is_err());
}
