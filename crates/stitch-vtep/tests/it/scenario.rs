//! Scenarios against a real ovsdb-server, checked with vtep-ctl (an
//! independent reader). The observed state comes from a monitor
//! (`monitor_cond_since`), caught up by comparing with a fresh full read.

use std::net::IpAddr;

use ovsdb::{Event, Events, MonitorMethod, Operation};
use stitch_model::MacAddr;
use stitch_vtep::{
    ApplyError, DesiredLogicalSwitch, DesiredVtep, PlanProblem, RemoteMac, ReplicationMode, VtepCache, apply, check_schema, monitor_requests, plan, read_all,
};

use crate::model::owner;
use crate::prop::real_setup;
use crate::server::{OvsdbServer, PATIENCE};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

/// Applies monitor events until the cache equals a fresh full read.
async fn catch_up(client: &ovsdb::Client, events: &mut Events, cache: &mut VtepCache) {
    let fresh = read_all(client, cache.schema().clone()).await.expect("read");
    let wait = async {
        while cache.tables() != fresh.tables() {
            match events.recv().await.expect("client alive") {
                Event::Update { updates, .. } => cache.apply(&updates).expect("update applies"),
                Event::MonitorRestarted { .. } => panic!("unexpected reconnect"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait).await.expect("monitor caught up");
}

fn desired_1() -> DesiredVtep {
    let mut net_b = DesiredLogicalSwitch::new(5002);
    net_b.replication_mode = Some(ReplicationMode::SourceNode);
    DesiredVtep::empty(owner())
        .with_logical_switch("net-a", DesiredLogicalSwitch::new(5001))
        .with_logical_switch("net-b", net_b)
        .with_binding("ps1", "p1", 100, "net-a")
        .with_binding("ps1", "p1", 300, "net-b")
        .with_binding("ps1", "p2", 0, "net-b")
        .with_binding("ps1", "p9", 5, "net-a")
        .with_ucast_remote("net-a", mac("fa:16:3e:00:00:01"), RemoteMac { dst_ip: ip("10.0.0.2"), ipaddr: Some("192.168.0.1".into()) })
        .with_ucast_remote("net-a", mac("fa:16:3e:00:00:02"), RemoteMac::at(ip("10.0.0.9")))
        .with_mcast_remote("net-a", "unknown-dst", [ip("10.0.0.2"), ip("10.0.0.3")])
}

#[tokio::test]
async fn schema_check_passes_against_the_real_server() {
    let s = OvsdbServer::start();
    let (client, _events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.unwrap();
    assert_eq!(schema.version.as_deref(), Some("1.7.0"));
    check_schema(&schema).unwrap();
    let reqs = monitor_requests(&schema);
    assert!(reqs.0.contains_key("Logical_Switch") && !reqs.0.contains_key("Logical_Binding_Stats"));
    client.close();
}

#[tokio::test]
async fn converge_repair_change_and_remove() {
    let s = OvsdbServer::start();
    real_setup(&s);
    let (client, mut events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.unwrap();
    let started = client.monitor("hardware_vtep", monitor_requests(&schema), MonitorMethod::MonitorCondSince).await.unwrap();
    let mut cache = VtepCache::new(schema);
    cache.apply(&started.updates).unwrap();

    // 1. From scratch.
    let d = desired_1();
    let p = plan(&d, &cache);
    let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        ["VLAN 300 on ps1/p1 is bound to logical switch \"other\", not managed by Stitch", "port \"p9\" not found on physical switch \"ps1\"",]
    );
    let applied = apply(&client, &p).await.unwrap();
    assert!(applied.is_complete());
    assert_eq!(s.lines(&["list-ls"]), ["net-a", "net-b", "other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p1"]), ["0100 net-a", "0300 other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p2"]), ["0000 net-b"]);
    assert_eq!(
        s.lines(&["list-remote-macs", "net-a"]),
        [
            "ucast-mac-remote",
            "fa:16:3e:00:00:01 -> vxlan_over_ipv4/10.0.0.2",
            "fa:16:3e:00:00:02 -> vxlan_over_ipv4/10.0.0.9",
            "mcast-mac-remote",
            "unknown-dst -> vxlan_over_ipv4/10.0.0.2",
            "unknown-dst -> vxlan_over_ipv4/10.0.0.3",
        ]
    );
    // The foreign MAC's locator is shared, not duplicated.
    assert_eq!(s.column("Physical_Locator", "dst_ip"), ["10.0.0.2", "10.0.0.3", "10.0.0.9"]);
    assert_eq!(s.lines(&["get", "Logical_Switch", "net-a", "other_config:stitch-owner"]), ["stitch-test"]);
    assert_eq!(s.lines(&["get", "Logical_Switch", "net-a", "tunnel_key"]), ["5001"]);
    assert_eq!(s.lines(&["get-replication-mode", "net-b"]), ["source_node"]);
    assert_eq!(s.lines(&["get", "Ucast_Macs_Remote", &uuid_of(&s, "Ucast_Macs_Remote", "fa:16:3e:00:00:01"), "ipaddr"]), ["\"192.168.0.1\""]);
    catch_up(&client, &mut events, &mut cache).await;
    let p = plan(&d, &cache);
    assert!(p.is_empty(), "{:#?}", p.notes);
    assert_eq!(p.problems.len(), 2);

    // 2. Out-of-band damage is repaired.
    s.vtep_ctl(&["unbind-ls", "ps1", "p1", "100"]);
    s.vtep_ctl(&["unbind-ls", "ps1", "p2", "0"]);
    s.vtep_ctl(&["del-ls", "net-b"]);
    s.vtep_ctl(&["del-ucast-remote", "net-a", "fa:16:3e:00:00:01"]);
    catch_up(&client, &mut events, &mut cache).await;
    let p = plan(&d, &cache);
    assert_eq!(p.ops.len(), 5, "{:#?}", p.notes); // wait + insert net-b, 2 mutates, 1 MAC; locator reused
    apply(&client, &p).await.unwrap();
    assert_eq!(s.lines(&["list-ls"]), ["net-a", "net-b", "other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p1"]), ["0100 net-a", "0300 other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p2"]), ["0000 net-b"]);
    assert!(s.vtep_ctl(&["list-remote-macs", "net-a"]).contains("fa:16:3e:00:00:01 -> vxlan_over_ipv4/10.0.0.2"));
    catch_up(&client, &mut events, &mut cache).await;
    assert!(plan(&d, &cache).is_empty());

    // 3. The flood list changes: a new locator set, the old one is
    //    collected; moving the unicast MAC lets 10.0.0.2 be collected.
    let old_sets = s.column("Physical_Locator_Set", "_uuid");
    assert_eq!(old_sets.len(), 1);
    let d = d.with_mcast_remote("net-a", "unknown-dst", [ip("10.0.0.3"), ip("10.0.0.4")]).with_ucast_remote(
        "net-a",
        mac("fa:16:3e:00:00:01"),
        RemoteMac::at(ip("10.0.0.5")),
    );
    let p = plan(&d, &cache);
    let kinds: Vec<String> = p
        .ops
        .iter()
        .map(|o| match o {
            Operation::Insert { table, .. } | Operation::Update { table, .. } => format!("{} {table}", o.name()),
            other => other.name().to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        ["insert Physical_Locator", "insert Physical_Locator", "insert Physical_Locator_Set", "update Ucast_Macs_Remote", "update Mcast_Macs_Remote",]
    );
    apply(&client, &p).await.unwrap();
    let new_sets = s.column("Physical_Locator_Set", "_uuid");
    assert_eq!(new_sets.len(), 1);
    assert_ne!(new_sets, old_sets);
    assert_eq!(s.column("Physical_Locator", "dst_ip"), ["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.9"]);
    let macs = s.lines(&["list-remote-macs", "net-a"]);
    assert!(macs.contains(&"unknown-dst -> vxlan_over_ipv4/10.0.0.4".to_owned()), "{macs:?}");
    assert!(!macs.contains(&"unknown-dst -> vxlan_over_ipv4/10.0.0.2".to_owned()), "{macs:?}");
    catch_up(&client, &mut events, &mut cache).await;
    assert!(plan(&d, &cache).is_empty());

    // 4. Toward empty: nothing of ours is left, the foreign rows are.
    let empty = DesiredVtep::empty(owner());
    let p = plan(&empty, &cache);
    assert_eq!(p.problems, []);
    apply(&client, &p).await.unwrap();
    assert_eq!(s.lines(&["list-ls"]), ["other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p1"]), ["0300 other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p2"]), Vec::<String>::new());
    assert_eq!(s.lines(&["list-remote-macs", "other"]), ["ucast-mac-remote", "fa:16:3e:00:00:99 -> vxlan_over_ipv4/10.0.0.9", "mcast-mac-remote"]);
    assert_eq!(s.column("Physical_Locator", "dst_ip"), ["10.0.0.9"]);
    assert_eq!(s.column("Physical_Locator_Set", "_uuid"), Vec::<String>::new());
    assert_eq!(s.lines(&["list-ports", "ps1"]), ["p1", "p2", "p3"]);
    catch_up(&client, &mut events, &mut cache).await;
    assert!(plan(&empty, &cache).is_empty());
    client.close();
}

fn uuid_of(s: &OvsdbServer, table: &str, mac: &str) -> String {
    s.lines(&["--bare", "--columns=_uuid", "find", table, &format!("MAC=\"{mac}\"")]).remove(0)
}

#[tokio::test]
async fn a_name_taken_meanwhile_is_a_retryable_conflict_that_changes_nothing() {
    let s = OvsdbServer::start();
    real_setup(&s);
    let (client, _events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.unwrap();
    let observed = read_all(&client, schema.clone()).await.unwrap();
    let d = desired_1();
    let p = plan(&d, &observed);
    // Someone else creates "net-b" between our read and our transact.
    s.vtep_ctl(&["add-ls", "net-b"]);
    let e = apply(&client, &p).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    match &e {
        ApplyError::Conflict { index: Some(i), summary: Some(summary), error } => {
            assert_eq!(error.error, "timed out");
            assert_eq!(summary, "guard: logical switch name net-b is still free");
            assert!(matches!(p.ops[*i], Operation::Wait { .. }));
        }
        other => panic!("{other:?}"),
    }
    // Nothing of the plan was committed.
    assert_eq!(s.lines(&["list-ls"]), ["net-b", "other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p1"]), ["0300 other"]);
    // The next plan sees the foreign switch and leaves it alone.
    let observed = read_all(&client, schema).await.unwrap();
    let p = plan(&d, &observed);
    assert!(p.problems.contains(&PlanProblem::LogicalSwitchNameTaken { name: "net-b".into(), owner: None }));
    apply(&client, &p).await.unwrap();
    assert_eq!(s.lines(&["list-ls"]), ["net-a", "net-b", "other"]);
    assert_eq!(s.lines(&["list-bindings", "ps1", "p2"]), Vec::<String>::new());
    client.close();
}

#[tokio::test]
async fn an_update_of_a_row_deleted_meanwhile_is_reported_stale() {
    let s = OvsdbServer::start();
    real_setup(&s);
    let (client, _events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.unwrap();
    let d = desired_1();
    let observed = read_all(&client, schema.clone()).await.unwrap();
    apply(&client, &plan(&d, &observed)).await.unwrap();
    let observed = read_all(&client, schema.clone()).await.unwrap();
    let d = d.with_ucast_remote("net-a", mac("fa:16:3e:00:00:02"), RemoteMac::at(ip("10.0.0.3")));
    let p = plan(&d, &observed);
    assert_eq!(p.ops.len(), 1, "{:#?}", p.notes);
    s.vtep_ctl(&["del-ucast-remote", "net-a", "fa:16:3e:00:00:02"]);
    let applied = apply(&client, &p).await.unwrap();
    assert_eq!(applied.stale, [0]);
    assert!(!applied.is_complete());
    // The next plan repairs it.
    let observed = read_all(&client, schema).await.unwrap();
    apply(&client, &plan(&d, &observed)).await.unwrap();
    assert!(s.vtep_ctl(&["list-remote-macs", "net-a"]).contains("fa:16:3e:00:00:02 -> vxlan_over_ipv4/10.0.0.3"));
    client.close();
}
