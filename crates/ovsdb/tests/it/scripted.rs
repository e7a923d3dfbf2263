//! Behaviour against a scripted fake server: echo both ways, the
//! inactivity probe, monitor method fallback, and hostile bytes.

use std::time::Duration;

use ovsdb::message::Message;
use ovsdb::{ClientConfig, ConnectionState, Event, MonitorMethod, MonitorRequest, MonitorRequests, Updates};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::fake::{FakeServer, recv, recv_request, send};
use crate::{PATIENCE, connect, expect_event, test_config};

/// The fake server does not speak the OVS extension requests.
fn fake_config() -> ClientConfig {
    ClientConfig { db_change_aware: false, ..test_config() }
}

#[tokio::test]
async fn replies_to_server_echo() {
    let fake = FakeServer::new();
    let (client, _ev) = connect(&fake.remote(), fake_config()).await;
    let mut conn = fake.accept().await;
    send(&mut conn, Message::request("echo", "echo", vec![json!("ping"), json!(7)])).await;
    assert_eq!(recv(&mut conn).await, Message::response(json!("echo"), json!(["ping", 7])));
    // Other server requests get an error, not silence.
    send(&mut conn, Message::request(9, "frobnicate", vec![])).await;
    match recv(&mut conn).await {
        Message::Response { id, result: Err(e) } => assert_eq!((id, e.error.as_str()), (json!(9), "unknown method")),
        other => panic!("{other:?}"),
    }
    drop(client);
}

#[tokio::test]
async fn inactivity_probe_sends_echo_then_drops_a_silent_peer() {
    let fake = FakeServer::new();
    let config = ClientConfig { inactivity_probe: Some(Duration::from_millis(400)), ..fake_config() };
    let (client, mut events) = connect(&fake.remote(), config).await;
    let mut conn = fake.accept().await;

    // Answer the first few probes: the connection stays up.
    for _ in 0..3 {
        let (id, method, params) = recv_request(&mut conn).await;
        assert_eq!((method.as_str(), params.len()), ("echo", 0));
        send(&mut conn, Message::response(id, json!([]))).await;
    }
    assert!(!std::iter::from_fn(|| events.try_recv()).any(|e| matches!(e, Event::Disconnected { .. })), "answered probes keep the connection");

    // Stop answering: one more probe, then the client hangs up.
    let (_, method, _) = recv_request(&mut conn).await;
    assert_eq!(method, "echo");
    let closed = tokio::time::timeout(PATIENCE, async {
        use futures::StreamExt;
        while let Some(Ok(m)) = conn.next().await {
            assert!(matches!(&m, Message::Request { method, .. } if method == "echo"), "{m:?}");
        }
    })
    .await;
    assert!(closed.is_ok(), "client closed the silent connection");
    let ev = expect_event(&mut events, "Disconnected", |e| matches!(e, Event::Disconnected { .. })).await;
    let Event::Disconnected { error } = ev else { unreachable!() };
    assert!(error.contains("inactivity probe"), "{error}");
    // And it reconnects.
    let _conn2 = fake.accept().await;
    expect_event(&mut events, "Connected", |e| matches!(e, Event::Connected { generation: 2 })).await;
    drop(client);
}

#[tokio::test]
async fn monitor_falls_back_to_older_methods() {
    let fake = FakeServer::new();
    let (client, mut events) = connect(&fake.remote(), fake_config()).await;
    let mut conn = fake.accept().await;
    let u = "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1";

    let reqs = MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(["name"]).with_where(vec![ovsdb::Condition::eq("name", "a")]));
    let monitor = tokio::spawn({
        let client = client.clone();
        async move { client.monitor("hardware_vtep", reqs, MonitorMethod::MonitorCondSince).await }
    });
    let (id, method, params) = recv_request(&mut conn).await;
    assert_eq!((method.as_str(), params.len()), ("monitor_cond_since", 4));
    send(&mut conn, Message::error_response(id, json!("unknown method"))).await;
    let (id, method, params) = recv_request(&mut conn).await;
    assert_eq!(method, "monitor_cond");
    assert_eq!(params[2]["Logical_Switch"][0]["where"], json!([["name", "==", "a"]]));
    send(&mut conn, Message::error_response(id, json!({"error": "unknown method"}))).await;
    let (id, method, params) = recv_request(&mut conn).await;
    assert_eq!(method, "monitor");
    assert!(params[2]["Logical_Switch"][0].get("where").is_none(), "plain monitor has no where");
    let mon_id = params[1].clone();
    send(&mut conn, Message::response(id, json!({"Logical_Switch": {u: {"new": {"name": "a"}}}}))).await;

    let started = monitor.await.unwrap().unwrap();
    assert_eq!(started.method, MonitorMethod::Monitor);
    assert!(!started.found);
    let Updates::V1(t) = &started.updates else { panic!("v1 updates") };
    assert_eq!(t["Logical_Switch"].len(), 1);

    send(&mut conn, Message::notification("update", vec![mon_id, json!({"Logical_Switch": {u: {"old": {"name": "a"}}}})])).await;
    let ev = expect_event(&mut events, "Update", |e| matches!(e, Event::Update { .. })).await;
    let Event::Update { monitor, last_txn_id, updates: Updates::V1(t) } = ev else { panic!("{ev:?}") };
    assert_eq!((monitor, last_txn_id), (started.id, None));
    assert!(t["Logical_Switch"].values().next().unwrap().new.is_none());

    // monitor_exact does not fall back.
    let exact = tokio::spawn({
        let client = client.clone();
        async move { client.monitor_exact("hardware_vtep", MonitorRequests::new(), MonitorMethod::MonitorCond).await }
    });
    let (id, method, _) = recv_request(&mut conn).await;
    assert_eq!(method, "monitor_cond");
    send(&mut conn, Message::error_response(id, json!("unknown method"))).await;
    let err = exact.await.unwrap().unwrap_err();
    assert!(err.is_rpc_error("unknown method"), "{err}");
}

#[tokio::test]
async fn hostile_bytes_drop_the_connection_and_fail_pending_requests() {
    let fake = FakeServer::new();
    let (client, mut events) = connect(&fake.remote(), fake_config()).await;
    let mut conn = fake.accept().await;
    let pending = client.start_request("list_dbs", vec![]).unwrap();
    let _ = recv_request(&mut conn).await;
    // A response whose JSON is broken.
    conn.get_mut().write_all(br#"{"id": 1, "result": [1,]}"#).await.unwrap();
    let err = pending.await.unwrap_err();
    assert!(matches!(err, ovsdb::Error::Disconnected), "{err}");
    let ev = expect_event(&mut events, "Disconnected", |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(format!("{ev:?}").contains("invalid JSON"), "{ev:?}");

    // Reconnects; a valid reply with a wrong shape is an error for that
    // request only.
    let mut conn = fake.accept().await;
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.list_dbs().await }
    });
    let (id, _, _) = recv_request(&mut conn).await;
    send(&mut conn, Message::response(id, json!({"not": "a list"}))).await;
    assert!(matches!(pending.await.unwrap(), Err(ovsdb::Error::Protocol(_))));

    // Requests while disconnected fail fast.
    drop(conn);
    let mut state = client.state();
    state.wait_for(|s| !s.is_connected()).await.unwrap();
    client.close();
    state.wait_for(|s| *s == ConnectionState::Closed).await.unwrap();
    assert!(matches!(client.list_dbs().await, Err(ovsdb::Error::Closed)));
}
