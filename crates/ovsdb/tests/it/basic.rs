//! Methods and every transaction operation over a unix socket, checked
//! with ovsdb-client and vtep-ctl.

use std::collections::BTreeMap;

use futures::future::join_all;
use ovsdb::{Condition, DatabaseSchema, Error, Function, Mutation, Mutator, Operation, OperationResult, Row, Uuid, Value, WaitUntil};
use serde_json::json;

use crate::{DB, Opts, OvsdbServer, connect, server::VTEP_SCHEMA, test_config};

fn locator(ip: &str) -> Row {
    Row::new().with("dst_ip", ip).with("encapsulation_type", "vxlan_over_ipv4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_dbs_get_schema_echo() {
    let server = OvsdbServer::start(Opts::default());
    let (client, _ev) = connect(&server.unix_remote(), test_config()).await;
    let mut dbs = client.list_dbs().await.unwrap();
    dbs.sort();
    assert_eq!(dbs, ["_Server", "hardware_vtep"]);

    let schema = client.get_schema(DB).await.unwrap();
    let file: DatabaseSchema = std::fs::read_to_string(VTEP_SCHEMA).unwrap().parse().unwrap();
    assert_eq!(schema.name, file.name);
    assert_eq!(schema.version, file.version);
    assert_eq!(schema.tables.keys().collect::<Vec<_>>(), file.tables.keys().collect::<Vec<_>>());
    for (name, t) in &file.tables {
        let got = &schema.tables[name];
        // ovsdb-server turns ephemeral columns with strong references into
        // persistent ones, so compare everything but that flag.
        for (c, col) in &t.columns {
            let g = &got.columns[c];
            assert_eq!((&g.name, &g.type_, g.mutable), (&col.name, &col.type_, col.mutable), "{name}.{c}");
        }
        assert_eq!(got.columns.len(), t.columns.len(), "{name}");
        assert_eq!((got.is_root, &got.indexes, got.max_rows), (t.is_root, &t.indexes, t.max_rows), "{name}");
    }
    assert!(schema.tables["Physical_Switch"].columns["switch_fault_status"].ephemeral);

    let err = client.get_schema("nope").await.unwrap_err();
    assert!(err.is_rpc_error("unknown database"), "{err}");

    let echoed = client.echo(vec![json!(1), json!("x"), json!({"a": [null]})]).await.unwrap();
    assert_eq!(echoed, vec![json!(1), json!("x"), json!({"a": [null]})]);

    let err = client.request("no_such_method", vec![]).await.unwrap_err();
    assert!(matches!(err, Error::Rpc(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation() {
    let server = OvsdbServer::start(Opts::default());
    let (client, _ev) = connect(&server.unix_remote(), test_config()).await;

    // insert (with uuid-name references), comment, commit.
    let r = client
        .transact(
            DB,
            &[
                Operation::insert_named("Physical_Locator", locator("10.0.0.1"), "loc"),
                Operation::insert_named("Logical_Switch", Row::new().with("name", "ls0").with("tunnel_key", 5000i64), "ls"),
                Operation::insert(
                    "Ucast_Macs_Remote",
                    Row::new().with("MAC", "aa:bb:cc:dd:ee:01").with("logical_switch", Value::named_uuid("ls")).with("locator", Value::named_uuid("loc")),
                ),
                Operation::comment("it: every_operation"),
                Operation::Commit { durable: false },
            ],
        )
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(r.len(), 5);
    let ls_uuid = r[1].uuid().expect("insert result");
    assert!(r[2].uuid().is_some());
    assert_eq!(r[3], OperationResult::Empty);
    assert_eq!(r[4], OperationResult::Empty);
    let macs = server.vtep_ctl(&["list-remote-macs", "ls0"]);
    assert!(macs.contains("aa:bb:cc:dd:ee:01 -> vxlan_over_ipv4/10.0.0.1"), "{macs}");
    assert_eq!(server.column_values("Logical_Switch", "_uuid"), [json!(["uuid", ls_uuid.to_string()])]);

    // select: ==, includes, column subset.
    let r = client
        .transact(
            DB,
            &[
                Operation::select_columns("Logical_Switch", vec![Condition::eq("name", "ls0")], ["name", "tunnel_key"]),
                Operation::select("Logical_Switch", vec![Condition::includes("tunnel_key", 5000i64)]),
                Operation::select("Logical_Switch", vec![Condition::new("tunnel_key", Function::Excludes, 5000i64)]),
            ],
        )
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let rows = r[0].rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].len(), 2, "only the requested columns");
    assert_eq!(rows[0].get("tunnel_key").and_then(Value::as_i64), Some(5000));
    assert_eq!(r[1].rows().unwrap()[0].uuid(), Some(ls_uuid));
    assert!(r[2].rows().unwrap().is_empty());

    // update.
    let r = client
        .transact(DB, &[Operation::update("Logical_Switch", vec![Condition::uuid_eq(ls_uuid)], Row::new().with("description", "tenant net"))])
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(r[0].count(), Some(1));
    assert_eq!(server.vtep_ctl(&["get", "Logical_Switch", "ls0", "description"]).trim(), "\"tenant net\"");

    // mutate with every mutator.
    let ls = || vec![Condition::eq("name", "ls0")];
    let r = client
        .transact(
            DB,
            &[
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::new("tunnel_key", Mutator::Add, 1i64)]),
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::new("tunnel_key", Mutator::Sub, 1i64)]),
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::new("tunnel_key", Mutator::Mul, 2i64)]),
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::new("tunnel_key", Mutator::Div, 4i64)]),
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::new("tunnel_key", Mutator::Mod, 7i64)]),
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::insert("other_config", Value::map([("a", "1"), ("b", "2")]))]),
                Operation::mutate("Logical_Switch", ls(), vec![Mutation::delete("other_config", Value::set(["a"]))]),
            ],
        )
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert!(r.iter().all(|x| x.count() == Some(1)), "{r:?}");
    // (5000 + 1 - 1) * 2 / 4 % 7 = 2500 % 7 = 1
    assert_eq!(server.column_values("Logical_Switch", "tunnel_key"), [json!(1)]);
    assert_eq!(server.column_values("Logical_Switch", "other_config"), [json!(["map", [["b", "2"]]])]);

    // wait: satisfied at once; and timing out.
    let current = Row::new().with("name", "ls0");
    let wait = |until| Operation::Wait {
        table: "Logical_Switch".into(),
        where_: vec![Condition::uuid_eq(ls_uuid)],
        columns: vec!["name".into()],
        until,
        rows: vec![current.clone()],
        timeout: Some(0),
    };
    let r = client.transact(DB, &[wait(WaitUntil::Equal)]).await.unwrap().into_result().unwrap();
    assert_eq!(r[0], OperationResult::Empty);
    let e = client.transact(DB, &[wait(WaitUntil::NotEqual)]).await.unwrap().into_result().unwrap_err();
    assert_eq!((e.index, e.error.error.as_str()), (Some(0), "timed out"));

    // abort: the insert before it is rolled back.
    let r = client.transact(DB, &[Operation::insert("Logical_Switch", Row::new().with("name", "ls-aborted")), Operation::Abort]).await.unwrap();
    let e = r.error().unwrap();
    assert_eq!((e.index, e.error.error.as_str()), (Some(1), "aborted"));
    assert_eq!(server.column_values("Logical_Switch", "name"), [json!("ls0")]);

    // assert without holding the lock.
    let e = client.transact(DB, &[Operation::Assert { lock: "nobody_has_it".into() }]).await.unwrap().into_result().unwrap_err();
    assert_eq!((e.index, e.error.error.as_str()), (Some(0), "not owner"));

    // delete.
    let r = client
        .transact(DB, &[Operation::delete("Ucast_Macs_Remote", vec![]), Operation::delete("Logical_Switch", vec![Condition::ne("name", "x")])])
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!((r[0].count(), r[1].count()), (Some(1), Some(1)));
    assert_eq!(server.vtep_ctl(&["list-ls"]).trim(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_errors() {
    let server = OvsdbServer::start(Opts::default());
    let (client, _ev) = connect(&server.unix_remote(), test_config()).await;

    // A per-operation error; later operations are not executed.
    let r = client
        .transact(
            DB,
            &[
                Operation::insert("Physical_Locator", Row::new().with("dst_ip", "1.1.1.1").with("encapsulation_type", "gre")),
                Operation::insert("Logical_Switch", Row::new().with("name", "never")),
            ],
        )
        .await
        .unwrap();
    let e = r.error().unwrap();
    assert_eq!((e.index, e.error.error.as_str()), (Some(0), "constraint violation"));
    assert!(e.error.details.as_deref().unwrap_or("").contains("gre"), "{e}");
    assert!(matches!(r.results[1], OperationResult::NotExecuted | OperationResult::Error(_)));

    // All operations succeed but the commit fails: the extra element.
    let dangling = Uuid::from_u128(0x1234);
    let r = client
        .transact(
            DB,
            &[Operation::insert(
                "Ucast_Macs_Remote",
                Row::new().with("MAC", "aa:aa:aa:aa:aa:aa").with("logical_switch", Value::uuid(dangling)).with("locator", Value::uuid(dangling)),
            )],
        )
        .await
        .unwrap();
    assert!(r.results[0].uuid().is_some());
    let e = r.into_result().unwrap_err();
    assert_eq!((e.index, e.error.error.as_str()), (None, "referential integrity violation"));

    // Unknown table: an operation error from the server.
    let e = client.transact(DB, &[Operation::select("No_Such_Table", vec![])]).await.unwrap().into_result().unwrap_err();
    assert_eq!(e.index, Some(0));

    // Unknown database: a JSON-RPC error.
    let err = client.transact("nope", &[Operation::comment("x")]).await.unwrap_err();
    assert!(err.is_rpc_error("unknown database"), "{err}");
    assert!(server.vtep_ctl(&["list-ls"]).trim().is_empty());

    // OVS extension: insert with a chosen UUID.
    let want = Uuid::from_u128(0x36bd5ca4_0ab4_4b3d_9dfb_b5b2a1e6c6a1);
    let r = client
        .transact(DB, &[Operation::Insert { table: "Logical_Switch".into(), row: Row::new().with("name", "chosen"), uuid_name: None, uuid: Some(want) }])
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(r[0].uuid(), Some(want));
    assert_eq!(server.column_values("Logical_Switch", "_uuid"), [json!(["uuid", want.to_string()])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_a_blocked_wait() {
    let server = OvsdbServer::start(Opts::default());
    let (client, _ev) = connect(&server.unix_remote(), test_config()).await;
    // Wait (forever) for Global to have a row that it never will have.
    let pending = client
        .start_transact(
            DB,
            &[Operation::Wait {
                table: "Logical_Switch".into(),
                where_: vec![],
                columns: vec!["name".into()],
                until: WaitUntil::Equal,
                rows: vec![Row::new().with("name", "never")],
                timeout: None,
            }],
        )
        .unwrap();
    // The connection keeps working while the wait is blocked.
    assert!(client.list_dbs().await.unwrap().contains(&DB.to_owned()));
    client.cancel(pending.id()).unwrap();
    let err = pending.await.unwrap_err();
    assert!(err.is_rpc_error("canceled"), "{err}");
    assert!(client.list_dbs().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_matched_by_id() {
    let server = OvsdbServer::start(Opts::default());
    let (client, _ev) = connect(&server.unix_remote(), test_config()).await;
    let n = 200;
    let futs = (0..n).map(|i| {
        let client = client.clone();
        async move {
            let r =
                client.transact(DB, &[Operation::insert("Logical_Switch", Row::new().with("name", format!("ls-{i}")))]).await.unwrap().into_result().unwrap();
            (format!("ls-{i}"), r[0].uuid().unwrap())
        }
    });
    let ours: BTreeMap<String, Uuid> = join_all(futs).await.into_iter().collect();
    assert_eq!(ours.len(), n);
    // Every response went to the request that caused it: the UUID each
    // caller got is the one ovsdb-client sees for that name.
    let r = server.client_transact(&json!([DB, {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name", "_uuid"]}]));
    let theirs: BTreeMap<String, Uuid> = r[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["name"].as_str().unwrap().to_owned(), row["_uuid"][1].as_str().unwrap().parse().unwrap()))
        .collect();
    assert_eq!(ours, theirs);
}

/// ovsdb-server stops reading a session whose replies pile up unread. A
/// client that only reads between writes then deadlocks on a deep pipeline
/// of large requests with large replies; this one keeps reading while it
/// writes.
#[tokio::test]
async fn a_deep_pipeline_of_large_transactions_does_not_deadlock() {
    let server = OvsdbServer::start(Opts::default());
    let (client, _ev) = connect(&server.unix_remote(), test_config()).await;
    // A table whose full select is about 100 KB.
    let rows: Vec<_> =
        (0..50).map(|i| Operation::insert("Logical_Switch", Row::new().with("name", format!("ls-{i}")).with("description", "x".repeat(2000)))).collect();
    client.transact(DB, &rows).await.unwrap().into_result().unwrap();
    let n = 600;
    let pending: Vec<_> = (0..n)
        .map(|_| {
            let ops = [Operation::select("Logical_Switch", vec![]), Operation::comment("y".repeat(4000))];
            std::future::IntoFuture::into_future(client.start_transact(DB, &ops).unwrap())
        })
        .collect();
    let all = tokio::time::timeout(std::time::Duration::from_secs(60), join_all(pending))
        .await
        .expect("the pipeline stalled: replies not read while requests were written");
    for r in all {
        assert_eq!(r.unwrap().into_result().unwrap()[0].rows().unwrap().len(), 50);
    }
}
