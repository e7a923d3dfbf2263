//! Passive mode: we listen, ovsdb-server (told `--remote=tcp:...` or
//! `--remote=ssl:...`) connects out to us and serves its database over
//! that connection.

use ovsdb::passive::PeerAddr;
use ovsdb::{
    Client, ClientConfig, Condition, ConnectionState, Endpoint, Event, MonitorMethod, MonitorRequest, MonitorRequests, Operation, PassiveListener, Row,
    TlsConfig,
};

use crate::{DB, Opts, OvsdbServer, PATIENCE, certs, expect_event, init_tracing, test_config};

async fn accept(listener: &PassiveListener) -> (Client, ovsdb::Events, PeerAddr) {
    tokio::time::timeout(PATIENCE, listener.accept()).await.expect("switch connects").expect("accept")
}

async fn switch_names(client: &Client) -> Vec<String> {
    let r = client.transact(DB, &[Operation::select_columns("Physical_Switch", vec![], ["name"])]).await.unwrap().into_result().unwrap();
    let mut names: Vec<String> = r[0].rows().unwrap().iter().filter_map(|r| r.get_str("name").map(str::to_owned)).collect();
    names.sort();
    names
}

/// The session API works over an inbound connection.
async fn exercise(server: &OvsdbServer, client: &Client, events: &mut ovsdb::Events) {
    assert!(client.state().borrow().is_connected());
    let mut dbs = client.list_dbs().await.unwrap();
    dbs.sort();
    assert_eq!(dbs, ["_Server", DB]);
    assert_eq!(switch_names(client).await, ["tor-1", "tor-2"]);

    // Write through the passive session, read back with vtep-ctl.
    client.transact(DB, &[Operation::insert("Logical_Switch", Row::new().with("name", "via-passive"))]).await.unwrap().into_result().unwrap();
    assert!(server.vtep_ctl(&["list-ls"]).lines().any(|l| l == "via-passive"));

    // Monitor over the passive session; change with vtep-ctl.
    let reqs = MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(["name"]).with_where(vec![Condition::eq("name", "from-vtep-ctl")]));
    let started = client.monitor(DB, reqs, MonitorMethod::MonitorCondSince).await.unwrap();
    assert!(started.updates.is_empty());
    server.vtep_ctl(&["add-ls", "from-vtep-ctl"]);
    let ev = expect_event(events, "Update", |e| matches!(e, Event::Update { .. })).await;
    let Event::Update { monitor, updates, .. } = ev else { unreachable!() };
    assert_eq!((monitor, updates.len()), (started.id, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ptcp_listener_accepts_ovsdb_server() {
    init_tracing();
    let listener = PassiveListener::bind(&"ptcp:0:127.0.0.1".parse().unwrap(), test_config()).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_eq!(listener.local_endpoint(), Some(Endpoint::PTcp { port, ip: [127, 0, 0, 1].into() }));
    let server = OvsdbServer::start(Opts { remotes: vec![format!("tcp:127.0.0.1:{port}")], ..Opts::default() });
    server.vtep_ctl(&["add-ps", "tor-1"]);
    server.vtep_ctl(&["add-ps", "tor-2"]);

    let (client, mut events, peer) = accept(&listener).await;
    assert!(matches!(peer, PeerAddr::Tcp(a) if a.ip().is_loopback()));
    exercise(&server, &client, &mut events).await;

    // Decide not to keep it: the session closes; the switch dials again
    // and a new session is handed out.
    client.close();
    client.state().wait_for(|s| *s == ConnectionState::Closed).await.unwrap();
    assert!(matches!(client.list_dbs().await, Err(ovsdb::Error::Closed)));
    let (again, _ev, _) = accept(&listener).await;
    assert_eq!(switch_names(&again).await, ["tor-1", "tor-2"]);

    // When the switch goes away the session ends (no reconnect).
    drop(server);
    again.state().wait_for(|s| *s == ConnectionState::Closed).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pssl_listener_accepts_ovsdb_server() {
    init_tracing();
    let pki = tempfile::tempdir().unwrap();
    let files = certs::make(pki.path(), &[]);
    // Our side presents the "controller" certificate; ovsdb-server checks it
    // against the CA and presents its own, which we check.
    let tls = TlsConfig::from_files(&files.ca, &files.client_cert, &files.client_key);
    let config = ClientConfig { tls: Some(tls), ..test_config() };
    let listener = PassiveListener::bind(&"pssl:0:127.0.0.1".parse().unwrap(), config).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = OvsdbServer::start(Opts { remotes: vec![format!("ssl:127.0.0.1:{port}")], certs: Some(files.clone()), ..Opts::default() });
    server.vtep_ctl(&["add-ps", "tor-1"]);
    server.vtep_ctl(&["add-ps", "tor-2"]);
    let (client, mut events, _) = accept(&listener).await;
    exercise(&server, &client, &mut events).await;
}

#[tokio::test]
async fn passive_bind_errors() {
    init_tracing();
    let e = PassiveListener::bind(&"tcp:127.0.0.1:1".parse().unwrap(), ClientConfig::default()).await.unwrap_err();
    assert!(e.to_string().contains("not a passive remote"), "{e}");
    let e = PassiveListener::bind(&"pssl:0:127.0.0.1".parse().unwrap(), ClientConfig::default()).await.unwrap_err();
    assert!(e.to_string().contains("pssl"), "{e}");
}
