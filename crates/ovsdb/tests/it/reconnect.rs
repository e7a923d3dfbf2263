//! Server restarts mid-session: the client reconnects on its own, the
//! monitor is re-established and delivers what changed while it was away.

use std::collections::BTreeSet;

use ovsdb::monitor::Cache;
use ovsdb::{ConnectionState, Error, Event, MonitorMethod, MonitorRequest, MonitorRequests, RowUpdate2, Updates};
use serde_json::json;

use crate::{DB, Opts, OvsdbServer, connect, expect_event, test_config};

fn insert_ls(name: &str) -> serde_json::Value {
    json!([DB, {"op": "insert", "table": "Logical_Switch", "row": {"name": name}}])
}

fn names(cache: &Cache) -> BTreeSet<String> {
    cache.table("Logical_Switch").filter_map(|(_, r)| r.get_str("name").map(str::to_owned)).collect()
}

fn requests() -> MonitorRequests {
    MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(["name"]))
}

/// Collects every state the client goes through.
fn record_states(client: &ovsdb::Client) -> tokio::task::JoinHandle<Vec<ConnectionState>> {
    let mut rx = client.state();
    tokio::spawn(async move {
        let mut seen = vec![rx.borrow_and_update().clone()];
        while rx.changed().await.is_ok() {
            let s = rx.borrow_and_update().clone();
            let done = s == ConnectionState::Connected { generation: 2 };
            seen.push(s);
            if done {
                break;
            }
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_restart_resyncs_monitor() {
    let mut server = OvsdbServer::start(Opts::default());
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let mut cache = Cache::new(client.get_schema(DB).await.unwrap());
    let started = client.monitor(DB, requests(), MonitorMethod::MonitorCondSince).await.unwrap();
    cache.apply(&started.updates).unwrap();
    server.client_transact(&insert_ls("a"));
    let Event::Update { updates, .. } = expect_event(&mut events, "Update", |e| matches!(e, Event::Update { .. })).await else { unreachable!() };
    cache.apply(&updates).unwrap();
    let states = record_states(&client);

    server.stop();
    expect_event(&mut events, "Disconnected", |e| matches!(e, Event::Disconnected { .. })).await;
    // Requests fail fast while the server is away.
    let err = client.list_dbs().await.unwrap_err();
    assert!(matches!(err, Error::NotConnected), "{err}");
    // A change made while the client is away (offline, with ovsdb-tool).
    server.tool_transact(&insert_ls("b"));
    server.restart();

    expect_event(&mut events, "Connected", |e| matches!(e, Event::Connected { generation: 2 })).await;
    let ev = expect_event(&mut events, "MonitorRestarted", |e| matches!(e, Event::MonitorRestarted { .. })).await;
    let Event::MonitorRestarted { monitor, method, found, updates, .. } = ev else { unreachable!() };
    assert_eq!(monitor, started.id);
    assert_eq!(method, MonitorMethod::MonitorCondSince);
    assert!(!found, "a standalone server cannot resume: full contents follow");
    cache.clear();
    cache.apply(&updates).unwrap();
    assert_eq!(names(&cache), BTreeSet::from(["a".to_owned(), "b".to_owned()]));

    let states = states.await.unwrap();
    assert!(states.iter().any(|s| matches!(s, ConnectionState::Backoff { .. })), "went through backoff: {states:?}");
    assert_eq!(states.last(), Some(&ConnectionState::Connected { generation: 2 }));

    // The monitor keeps working on the new connection.
    server.client_transact(&insert_ls("c"));
    let Event::Update { updates, .. } = expect_event(&mut events, "Update", |e| matches!(e, Event::Update { .. })).await else { unreachable!() };
    cache.apply(&updates).unwrap();
    assert_eq!(names(&cache).len(), 3);
    assert_eq!(server.column_values("Logical_Switch", "name"), [json!("a"), json!("b"), json!("c")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustered_restart_resumes_with_monitor_cond_since() {
    let mut server = OvsdbServer::start(Opts { clustered: true, ..Opts::default() });
    let (client, mut events) = connect(&server.unix_remote(), test_config()).await;
    let mut cache = Cache::new(client.get_schema(DB).await.unwrap());
    let started = client.monitor(DB, requests(), MonitorMethod::MonitorCondSince).await.unwrap();
    assert_eq!(started.method, MonitorMethod::MonitorCondSince);
    cache.apply(&started.updates).unwrap();
    for name in ["a", "b"] {
        server.client_transact(&insert_ls(name));
        let Event::Update { updates, last_txn_id, .. } = expect_event(&mut events, "Update", |e| matches!(e, Event::Update { .. })).await else {
            unreachable!()
        };
        assert!(last_txn_id.is_some());
        cache.apply(&updates).unwrap();
    }

    // Restart where the client cannot see it, change something, then let
    // the client back in.
    let hidden = server.restart_hidden();
    expect_event(&mut events, "Disconnected", |e| matches!(e, Event::Disconnected { .. })).await;
    crate::server::OvsdbServer::client_transact_on(&format!("unix:{}", hidden.display()), &insert_ls("missed"));
    server.add_remote(&format!("punix:{}", server.sock.display()));

    let ev = expect_event(&mut events, "MonitorRestarted", |e| matches!(e, Event::MonitorRestarted { .. })).await;
    let Event::MonitorRestarted { found, updates, last_txn_id, .. } = ev else { unreachable!() };
    assert!(found, "the clustered server resumes from the last txn id");
    assert!(last_txn_id.is_some());
    // Only the missed change, not the whole table.
    let Updates::V2(t) = &updates else { panic!("v2") };
    let rows: Vec<_> = t["Logical_Switch"].values().collect();
    assert_eq!(rows.len(), 1, "{t:?}");
    assert!(matches!(rows[0], RowUpdate2::Insert(r) if r.get_str("name") == Some("missed")), "{rows:?}");
    cache.apply(&updates).unwrap();
    assert_eq!(names(&cache), ["a", "b", "missed"].iter().map(|s| s.to_string()).collect());
}
