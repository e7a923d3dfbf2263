//! The in-process server (`ovsdb::server`): the crate's own client against
//! it, and the same scenario against a real ovsdb-server (vtep schema),
//! compared step by step.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ovsdb::codec::MessageCodec;
use ovsdb::message::Message;
use ovsdb::monitor::Cache;
use ovsdb::server::{Database, Server, ServerConfig};
use ovsdb::{Atom, Client, ClientConfig, Condition, Event, Events, MonitorMethod, MonitorRequests, Mutation, Operation, OperationResult, Row, Value};
use serde_json::{Value as Json, json};

use crate::server::VTEP_SCHEMA;
use crate::{DB, Opts, OvsdbServer, PATIENCE, connect, expect_event, test_config};

fn vtep_db() -> Database {
    let text = std::fs::read_to_string(VTEP_SCHEMA).expect("vtep schema (openvswitch-vtep installed?)");
    Database::new(serde_json::from_str(&text).unwrap()).unwrap()
}

async fn inproc(config: ServerConfig) -> Server {
    Server::start("127.0.0.1:0", vec![vtep_db()], config).await.unwrap()
}

/// One observation per step, with nothing server-specific (no UUIDs).
fn summarize(schema: &ovsdb::DatabaseSchema, table: &str, r: &Result<ovsdb::TransactResponse, ovsdb::Error>) -> String {
    let r = match r {
        Ok(r) => r,
        Err(e) => return format!("rpc error: {}", if let ovsdb::Error::Rpc(e) = e { e.error.clone() } else { e.to_string() }),
    };
    let ts = schema.table(table);
    let mut parts: Vec<String> = r
        .results
        .iter()
        .map(|x| match x {
            OperationResult::Insert { .. } => "uuid".into(),
            OperationResult::Count(n) => format!("count {n}"),
            OperationResult::Empty => "{}".into(),
            OperationResult::NotExecuted => "null".into(),
            OperationResult::Error(e) => format!("error {}", e.error),
            OperationResult::Select { rows } => {
                let mut rows: Vec<String> = rows
                    .iter()
                    .map(|row| {
                        let n: BTreeMap<&String, Value> = row
                            .iter()
                            .filter(|(c, _)| !c.starts_with('_'))
                            .map(|(c, v)| (c, ts.and_then(|t| t.column_type(c)).and_then(|t| t.normalize(v).ok()).unwrap_or_else(|| v.clone())))
                            .map(|(c, v)| (c, strip_uuids(v)))
                            .collect();
                        format!("{n:?}")
                    })
                    .collect();
                rows.sort();
                format!("rows {rows:?}")
            }
        })
        .collect();
    if let Some(e) = &r.commit_error {
        parts.push(format!("commit error {}", e.error));
    }
    parts.join(" | ")
}

fn strip_uuids(v: Value) -> Value {
    let a = |a: Atom| if a.as_uuid().is_some() { Atom::string("<uuid>") } else { a };
    match v {
        Value::Atom(x) => Value::Atom(a(x)),
        Value::Set(s) => Value::Set(s.into_iter().map(a).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (a(k), a(v))).collect()),
    }
}

fn ls(name: &str, key: i64) -> Row {
    Row::new().with("name", name).with("tunnel_key", Value::integer(key))
}

/// Everything Stitch's plans do to a switch, and the failures they rely
/// on, as one transcript. `monitor` follows along; at the end its cache
/// must equal a full read.
async fn scenario(c: &Client, events: &mut Events, method: MonitorMethod) -> Vec<String> {
    let schema = c.get_schema(DB).await.unwrap();
    let mut out = vec![format!("dbs {:?}", c.list_dbs().await.unwrap().contains(&DB.to_string()))];
    out.push(format!("schema {} {:?}", schema.name, schema.version));
    out.push(format!("echo {:?}", c.echo(vec![json!("x"), json!([1])]).await.unwrap()));
    let requests = MonitorRequests::all_tables(&schema);
    let started = c.monitor_exact(DB, requests.clone(), method).await.unwrap();
    let mut cache = Cache::for_monitor(schema.clone(), &requests);
    cache.apply(&started.updates).unwrap();
    out.push(format!("monitor {} initial rows {}", method.as_str(), started.updates.len()));

    let mut step = async |label: &str, table: &str, ops: Vec<Operation>| {
        let r = c.transact(DB, &ops).await;
        out.push(format!("{label}: {}", summarize(&schema, table, &r)));
    };
    // The switch's own rows, as a TOR (or vtep-ctl) creates them.
    step(
        "seed",
        "Physical_Switch",
        vec![
            Operation::insert_named("Physical_Port", Row::new().with("name", "p1"), "p1"),
            Operation::insert_named("Physical_Port", Row::new().with("name", "p2"), "p2"),
            Operation::insert_named(
                "Physical_Switch",
                Row::new()
                    .with("name", "sw1")
                    .with("tunnel_ips", Value::set(["10.0.0.1"]))
                    .with("ports", Value::set([Atom::named_uuid("p1"), Atom::named_uuid("p2")])),
                "sw",
            ),
            Operation::insert("Global", Row::new().with("switches", Value::named_uuid("sw"))),
        ],
    )
    .await;
    // A plan as Stitch sends one: guard, logical switch, locators, set,
    // binding, MACs, each referring to the rows before it by uuid-name.
    let guard = |name: &str| Operation::Wait {
        table: "Logical_Switch".into(),
        where_: vec![Condition::eq("name", name)],
        columns: vec!["name".into()],
        until: ovsdb::WaitUntil::Equal,
        rows: vec![],
        timeout: Some(0),
    };
    let loc = |ip: &str, n: &str| Operation::insert_named("Physical_Locator", Row::new().with("encapsulation_type", "vxlan_over_ipv4").with("dst_ip", ip), n);
    step(
        "plan",
        "Logical_Switch",
        vec![
            guard("net-a"),
            Operation::insert_named("Logical_Switch", ls("net-a", 10001), "ls"),
            loc("10.0.0.2", "loc2"),
            loc("10.0.0.3", "loc3"),
            Operation::insert_named(
                "Physical_Locator_Set",
                Row::new().with("locators", Value::set([Atom::named_uuid("loc2"), Atom::named_uuid("loc3")])),
                "set",
            ),
            Operation::mutate(
                "Physical_Port",
                vec![Condition::eq("name", "p1")],
                vec![Mutation::insert("vlan_bindings", Value::map([(Atom::Integer(100), Atom::named_uuid("ls"))]))],
            ),
            Operation::insert(
                "Ucast_Macs_Remote",
                Row::new().with("MAC", "fa:16:3e:00:00:01").with("logical_switch", Value::named_uuid("ls")).with("locator", Value::named_uuid("loc2")),
            ),
            Operation::insert(
                "Mcast_Macs_Remote",
                Row::new().with("MAC", "unknown-dst").with("logical_switch", Value::named_uuid("ls")).with("locator_set", Value::named_uuid("set")),
            ),
            Operation::comment("stitch: plan for sw1"),
        ],
    )
    .await;
    step("read ls", "Logical_Switch", vec![Operation::select("Logical_Switch", vec![])]).await;
    step("read locators", "Physical_Locator", vec![Operation::select_columns("Physical_Locator", vec![], ["dst_ip"])]).await;
    step("read port", "Physical_Port", vec![Operation::select_columns("Physical_Port", vec![Condition::eq("name", "p1")], ["name", "vlan_bindings"])]).await;
    // The guard of a name that is taken fails at once.
    step("guard taken", "Logical_Switch", vec![guard("net-a"), Operation::insert("Logical_Switch", ls("net-a", 1))]).await;
    // A unique index violation fails at commit.
    step("duplicate name", "Logical_Switch", vec![Operation::insert("Logical_Switch", ls("net-a", 2))]).await;
    // A strong reference to a row that does not exist.
    step(
        "dangling ref",
        "Ucast_Macs_Remote",
        vec![Operation::insert(
            "Ucast_Macs_Remote",
            Row::new()
                .with("MAC", "fa:16:3e:00:00:09")
                .with("logical_switch", Value::uuid(uuid::Uuid::from_u128(7)))
                .with("locator", Value::uuid(uuid::Uuid::from_u128(8))),
        )],
    )
    .await;
    // An unreferenced locator is collected at commit.
    step("orphan locator", "Physical_Locator", vec![loc("10.9.9.9", "orphan")]).await;
    step("locators after gc", "Physical_Locator", vec![Operation::select_columns("Physical_Locator", vec![], ["dst_ip"])]).await;
    // Deleting a logical switch still bound and referenced.
    step("delete referenced", "Logical_Switch", vec![Operation::delete("Logical_Switch", vec![Condition::eq("name", "net-a")])]).await;
    // Immutable column.
    step("immutable", "Physical_Locator", vec![Operation::update("Physical_Locator", vec![], Row::new().with("dst_ip", "1.2.3.4"))]).await;
    // Updates: a modify, one that changes nothing, a map mutation.
    step("update", "Logical_Switch", vec![Operation::update("Logical_Switch", vec![Condition::eq("name", "net-a")], Row::new().with("description", "d"))])
        .await;
    step(
        "no-op update",
        "Logical_Switch",
        vec![Operation::update("Logical_Switch", vec![Condition::eq("name", "net-a")], Row::new().with("description", "d"))],
    )
    .await;
    step(
        "other_config",
        "Logical_Switch",
        vec![
            Operation::mutate(
                "Logical_Switch",
                vec![Condition::eq("name", "net-a")],
                vec![Mutation::insert("other_config", Value::map([("owner", "stitch")]))],
            ),
            Operation::select_columns("Logical_Switch", vec![Condition::includes("other_config", Value::map([("owner", "stitch")]))], ["name", "other_config"]),
        ],
    )
    .await;
    // A remote MAC moves to the other locator (the update Stitch sends).
    step(
        "move mac",
        "Ucast_Macs_Remote",
        vec![
            Operation::update("Ucast_Macs_Remote", vec![Condition::eq("MAC", "fa:16:3e:00:00:01")], Row::new().with("ipaddr", "192.0.2.1")),
            Operation::select_columns("Ucast_Macs_Remote", vec![], ["MAC", "ipaddr"]),
        ],
    )
    .await;
    step("abort", "Logical_Switch", vec![Operation::insert("Logical_Switch", ls("never", 3)), Operation::Abort]).await;
    step("unknown table", "Nope", vec![Operation::select("Nope", vec![])]).await;
    step("bad column", "Logical_Switch", vec![Operation::insert("Logical_Switch", Row::new().with("nope", 1i64))]).await;
    step("bad type", "Logical_Switch", vec![Operation::insert("Logical_Switch", Row::new().with("name", 5i64))]).await;
    // Tear down as Stitch does: unbind, delete MACs and the logical
    // switch; the locators and the set go with them.
    step(
        "teardown",
        "Logical_Switch",
        vec![
            Operation::mutate("Physical_Port", vec![Condition::eq("name", "p1")], vec![Mutation::delete("vlan_bindings", Value::set([100i64]))]),
            Operation::delete("Ucast_Macs_Remote", vec![]),
            Operation::delete("Mcast_Macs_Remote", vec![]),
            Operation::delete("Logical_Switch", vec![Condition::eq("name", "net-a")]),
        ],
    )
    .await;
    step(
        "after teardown",
        "Physical_Locator",
        vec![Operation::select_columns("Physical_Locator", vec![], ["dst_ip"]), Operation::select_columns("Physical_Locator_Set", vec![], ["locators"])],
    )
    .await;
    // One more logical switch, so the monitor has a row to follow last.
    step("last", "Logical_Switch", vec![Operation::insert("Logical_Switch", ls("net-b", 10002))]).await;

    // The monitor saw everything: its cache equals a full read.
    let full = stitch_read(c, &requests).await;
    let want_rows = full.values().map(BTreeMap::len).sum::<usize>();
    let t = tokio::time::Instant::now();
    loop {
        if cache_view(&cache, &requests) == full {
            break;
        }
        assert!(t.elapsed() < PATIENCE, "monitor cache never matched a full read ({method:?})");
        let ev = tokio::time::timeout(PATIENCE, events.recv()).await;
        let Ok(ev) = ev else {
            let have = cache_view(&cache, &requests);
            for (t, rows) in &full {
                if have.get(t) != Some(rows) {
                    eprintln!("table {t}: want {rows:?}\n have {:?}", have.get(t));
                }
            }
            panic!("monitor cache never matched a full read ({method:?})");
        };
        if let Event::Update { updates, .. } = ev.expect("events") {
            cache.apply(&updates).unwrap();
        }
    }
    out.push(format!("monitor cache equals a full read of {want_rows} rows"));
    out
}

type View = BTreeMap<String, BTreeMap<uuid::Uuid, Row>>;

async fn stitch_read(c: &Client, requests: &MonitorRequests) -> View {
    let schema = c.get_schema(DB).await.unwrap();
    let tables: Vec<&String> = requests.0.keys().collect();
    let ops: Vec<Operation> = tables.iter().map(|t| Operation::select(t.as_str(), vec![])).collect();
    let r = c.transact(DB, &ops).await.unwrap().into_result().unwrap();
    tables
        .into_iter()
        .zip(r)
        .map(|(t, r)| {
            let ts = schema.table(t).unwrap();
            let rows = r
                .rows()
                .unwrap()
                .iter()
                .map(|row| {
                    let n: Row =
                        row.iter().filter(|(c, _)| !c.starts_with('_')).map(|(c, v)| (c.clone(), ts.column_type(c).unwrap().normalize(v).unwrap())).collect();
                    (row.uuid().unwrap(), n)
                })
                .collect();
            (t.clone(), rows)
        })
        .filter(|(_, rows): &(String, BTreeMap<_, _>)| !rows.is_empty())
        .collect()
}

fn cache_view(cache: &Cache, requests: &MonitorRequests) -> View {
    requests
        .0
        .keys()
        .map(|t| {
            let rows = cache.table(t).map(|(u, r)| (*u, r.iter().filter(|(c, _)| !c.starts_with('_')).map(|(c, v)| (c.clone(), v.clone())).collect::<Row>()));
            (t.clone(), rows.collect::<BTreeMap<_, _>>())
        })
        .filter(|(_, rows)| !rows.is_empty())
        .collect()
}

async fn against_both(method: MonitorMethod) {
    let real = OvsdbServer::start(Opts::default());
    let (c, mut ev) = connect(&real.unix_remote(), test_config()).await;
    let want = scenario(&c, &mut ev, method).await;
    c.close();

    let s = inproc(ServerConfig::default()).await;
    let (c, mut ev) = connect(&s.target(), test_config()).await;
    let got = scenario(&c, &mut ev, method).await;
    c.close();
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(g, w, "step {i} differs between the in-process server and ovsdb-server");
    }
    assert_eq!(got.len(), want.len());
    // Transcripts mention errors where Stitch relies on them.
    let joined = got.join("\n");
    for e in ["error timed out", "commit error constraint violation", "commit error referential integrity violation", "error aborted"] {
        assert!(joined.contains(e), "{e} missing from\n{joined}");
    }
}

#[tokio::test]
async fn behaves_like_ovsdb_server_monitor_cond_since() {
    against_both(MonitorMethod::MonitorCondSince).await;
}

#[tokio::test]
async fn behaves_like_ovsdb_server_monitor_cond() {
    against_both(MonitorMethod::MonitorCond).await;
}

#[tokio::test]
async fn behaves_like_ovsdb_server_monitor() {
    against_both(MonitorMethod::Monitor).await;
}

#[tokio::test]
async fn counts_writes_and_resumes_monitor_cond_since() {
    let s = inproc(ServerConfig::default()).await;
    let (c, _ev) = connect(&s.target(), test_config()).await;
    let before = s.stats();
    c.transact(DB, &[Operation::insert("Logical_Switch", ls("a", 1))]).await.unwrap().into_result().unwrap();
    c.transact(DB, &[Operation::select("Logical_Switch", vec![])]).await.unwrap().into_result().unwrap();
    let after = s.stats();
    assert_eq!(after.transactions - before.transactions, 2);
    assert_eq!(after.write_ops - before.write_ops, 1);
    assert_eq!(after.writing_transactions - before.writing_transactions, 1);
    assert_eq!(after.rows_changed - before.rows_changed, 1);
    assert_eq!(s.read(DB, |d| d.len("Logical_Switch")), Some(1));
    // A monitor_cond_since from the latest transaction id resumes.
    let last = s.read(DB, |d| d.last_txn_id()).unwrap();
    let reqs = MonitorRequests::new().table("Logical_Switch", ovsdb::MonitorRequest::all());
    let r =
        c.request("monitor_cond_since", vec![json!(DB), json!("m1"), reqs.to_json(MonitorMethod::MonitorCondSince), json!(last.to_string())]).await.unwrap();
    assert_eq!(r, json!([true, last.to_string(), {}]));
    let r = c
        .request("monitor_cond_since", vec![json!(DB), json!("m2"), reqs.to_json(MonitorMethod::MonitorCondSince), json!(uuid::Uuid::nil().to_string())])
        .await
        .unwrap();
    assert_eq!(r[0], json!(false));
    assert_eq!(r[2]["Logical_Switch"].as_object().map(|o| o.len()), Some(1));
    let e = c
        .request("monitor_cond_since", vec![json!(DB), json!("m2"), reqs.to_json(MonitorMethod::MonitorCondSince), json!(last.to_string())])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("duplicate monitor"), "{e}");
    c.request("monitor_cancel", vec![json!("m2")]).await.unwrap();
    assert!(c.request("monitor_cancel", vec![json!("m2")]).await.is_err());
}

#[tokio::test]
async fn echo_both_ways() {
    let s = inproc(ServerConfig { inactivity_probe: Some(Duration::from_millis(100)), ..ServerConfig::default() }).await;
    // The client does not probe; the server must, and the client answers.
    let (c, mut ev) = connect(&s.target(), ClientConfig { inactivity_probe: None, ..test_config() }).await;
    let t = tokio::time::Instant::now();
    while s.stats().echo_replies < 2 {
        assert!(t.elapsed() < PATIENCE, "no echo answered: {:?}", s.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.echo(vec![json!(1)]).await.unwrap(), vec![json!(1)]);
    assert!(ev.try_recv().is_none_or(|e| !matches!(e, Event::Disconnected { .. })), "the probe kept the connection alive");
    assert_eq!(s.stats().connections, 1);
}

#[tokio::test]
async fn malformed_requests_get_errors() {
    let s = inproc(ServerConfig::default()).await;
    let stream = tokio::net::TcpStream::connect(s.local_addr()).await.unwrap();
    let mut f = tokio_util::codec::Framed::new(stream, MessageCodec::default());
    let mut ask = async |raw: Json| {
        let (r, mut w) = (raw.clone(), f.get_mut());
        tokio::io::AsyncWriteExt::write_all(&mut w, r.to_string().as_bytes()).await.unwrap();
        match tokio::time::timeout(PATIENCE, f.next()).await.unwrap().unwrap().unwrap() {
            Message::Response { result, .. } => result.map_err(|e| e.error),
            m => panic!("{m:?}"),
        }
    };
    for (raw, want) in [
        (json!({"id": 1, "method": "nope", "params": []}), "unknown method"),
        (json!({"id": 2, "method": "transact", "params": []}), "syntax error"),
        (json!({"id": 3, "method": "transact", "params": [7]}), "syntax error"),
        (json!({"id": 4, "method": "transact", "params": ["nodb"]}), "unknown database"),
        (json!({"id": 5, "method": "get_schema", "params": ["nodb"]}), "unknown database"),
        (json!({"id": 6, "method": "monitor", "params": []}), "syntax error"),
        (json!({"id": 7, "method": "monitor_cond", "params": [DB, null, {"Nope": {}}]}), "syntax error"),
        (json!({"id": 8, "method": "monitor_cond", "params": [DB, null, {"Logical_Switch": {"columns": ["x"]}}]}), "syntax error"),
        (json!({"id": 9, "method": "monitor_cond", "params": [DB, null, {"Logical_Switch": [{"where": [["name", "~", 1]]}]}]}), "syntax error"),
        (json!({"id": 10, "method": "transact", "params": "x"}), "syntax error"),
        (json!({"id": 11, "method": 5}), "syntax error"),
    ] {
        assert_eq!(ask(raw.clone()).await, Err(want.to_string()), "{raw}");
    }
    // Operation errors come back inside the result, not as JSON-RPC errors.
    let r = ask(json!({"id": 20, "method": "transact", "params": [DB, {"op": "insert", "table": "Logical_Switch", "row": {"name": ["set", [1, 1]]}}, {"op": "comment", "comment": "x"}]})).await.unwrap();
    assert_eq!(r[0]["error"], json!("syntax error"), "{r}");
    assert_eq!(r[1], Json::Null);
    let r = ask(json!({"id": 21, "method": "transact", "params": [DB, {"op": "mutate", "table": "Logical_Switch", "where": [], "mutations": [["tunnel_key", "/=", 0]]}]})).await.unwrap();
    assert_eq!(r, json!([{"count": 0}]), "no row, no division");
    // Still serving after all that; then bytes that are not JSON close it.
    assert_eq!(ask(json!({"id": 30, "method": "echo", "params": ["ok"]})).await, Ok(json!(["ok"])));
    tokio::io::AsyncWriteExt::write_all(f.get_mut(), b"{\"id\": ]").await.unwrap();
    assert!(tokio::time::timeout(PATIENCE, f.next()).await.unwrap().is_none_or(|r| r.is_err()), "connection closed");
    // The server goes on with new connections.
    let (c, _ev) = connect(&s.target(), test_config()).await;
    assert_eq!(c.echo(vec![]).await.unwrap(), Vec::<Json>::new());
    let _ = f.send(Message::request(1, "echo", vec![])).await;
}

#[tokio::test]
async fn monitors_of_other_sessions_hear_commits() {
    let s = inproc(ServerConfig::default()).await;
    let (a, _) = connect(&s.target(), test_config()).await;
    let (b, mut events) = connect(&s.target(), test_config()).await;
    let reqs = MonitorRequests::new().table("Logical_Switch", ovsdb::MonitorRequest::columns(["name"]).with_where(vec![Condition::eq("tunnel_key", 5i64)]));
    let m = b.monitor(DB, reqs, MonitorMethod::MonitorCondSince).await.unwrap();
    assert!(m.updates.is_empty());
    a.transact(DB, &[Operation::insert("Logical_Switch", ls("other", 4)), Operation::insert("Logical_Switch", ls("five", 5))])
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let e = expect_event(&mut events, "update3", |e| matches!(e, Event::Update { .. })).await;
    let Event::Update { updates: ovsdb::Updates::V2(t), last_txn_id, .. } = e else { panic!("{e:?}") };
    assert_eq!(last_txn_id, s.read(DB, |d| d.last_txn_id()));
    let rows: Vec<_> = t["Logical_Switch"].values().collect();
    assert_eq!(rows, vec![&ovsdb::RowUpdate2::Insert(Row::new().with("name", "five"))], "only the row the condition selects, only its columns");
    // Moving out of the condition is a delete for that monitor.
    a.transact(DB, &[Operation::update("Logical_Switch", vec![Condition::eq("name", "five")], Row::new().with("tunnel_key", Value::integer(6)))])
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let e = expect_event(&mut events, "update3", |e| matches!(e, Event::Update { .. })).await;
    let Event::Update { updates: ovsdb::Updates::V2(t), .. } = e else { panic!("{e:?}") };
    assert_eq!(t["Logical_Switch"].values().collect::<Vec<_>>(), vec![&ovsdb::RowUpdate2::Delete]);
}

/// Every request of the fuzz corpus (`tests/corpus`), replayed through the
/// in-process server's transaction path: errors are fine, panics are not,
/// and a transaction that fails changes nothing.
#[test]
fn corpus_requests_replay() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        let mut db = vtep_db();
        let Ok(msgs) = ovsdb::codec::decode_all(&bytes, 1 << 20) else { continue };
        for m in msgs {
            let Message::Request { method, params, .. } = m else { continue };
            if method != "transact" || params.is_empty() {
                continue;
            }
            let before = db.clone();
            let out = db.transact(&params[1..]);
            seen += 1;
            if !out.committed {
                for t in before.schema().tables.keys() {
                    assert!(before.table(t).eq(db.table(t)), "a failed transaction changed {t}");
                }
            }
        }
    }
    assert!(seen > 0, "the corpus holds a transact request");
}
