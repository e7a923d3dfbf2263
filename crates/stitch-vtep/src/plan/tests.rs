use std::net::IpAddr;

use ovsdb::monitor::{MonitorMethod, Updates};
use serde_json::{Value as Json, json};
use stitch_model::MacAddr;
use uuid::Uuid;

use super::*;
use crate::desired::{DesiredLogicalSwitch, RemoteMac};
use crate::ownership::Owner;

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn us(n: u128) -> String {
    u(n).to_string()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn me() -> Owner {
    Owner::new("me").unwrap()
}

fn observed(j: Json) -> VtepCache {
    let mut c = VtepCache::with_installed_schema();
    c.apply(&Updates::from_json(&j, MonitorMethod::MonitorCond).unwrap()).unwrap();
    c
}

/// A switch ps1 with ports p1 and p2, nothing else.
fn bare_switch() -> Json {
    json!({
        "Physical_Switch": {us(1): {"initial": {"name": "ps1", "ports": ["set", [["uuid", us(2)], ["uuid", us(3)]]]}}},
        "Physical_Port": {us(2): {"initial": {"name": "p1"}}, us(3): {"initial": {"name": "p2"}}},
    })
}

/// The same switch after Stitch converged on [`desired_full`], plus a
/// foreign logical switch bound on p1 VLAN 300 and a foreign remote MAC.
fn converged() -> Json {
    json!({
        "Physical_Switch": {us(1): {"initial": {"name": "ps1", "ports": ["set", [["uuid", us(2)], ["uuid", us(3)]]]}}},
        "Physical_Port": {
            us(2): {"initial": {"name": "p1", "vlan_bindings": ["map", [[100, ["uuid", us(10)]], [300, ["uuid", us(90)]]]]}},
            us(3): {"initial": {"name": "p2"}}},
        "Logical_Switch": {
            us(10): {"initial": {"name": "net-a", "description": "managed by stitch", "tunnel_key": 5001,
                "other_config": ["map", [["stitch-owner", "me"]]]}},
            us(90): {"initial": {"name": "other", "tunnel_key": 7}}},
        "Physical_Locator": {
            us(20): {"initial": {"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.2"}},
            us(21): {"initial": {"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.3"}}},
        "Physical_Locator_Set": {us(30): {"initial": {"locators": ["set", [["uuid", us(20)], ["uuid", us(21)]]]}}},
        "Ucast_Macs_Remote": {
            us(40): {"initial": {"MAC": "fa:16:3e:00:00:01", "logical_switch": ["uuid", us(10)],
                "locator": ["uuid", us(20)], "ipaddr": "192.168.0.1"}},
            us(41): {"initial": {"MAC": "fa:16:3e:00:00:99", "logical_switch": ["uuid", us(90)],
                "locator": ["uuid", us(21)], "ipaddr": ""}}},
        "Mcast_Macs_Remote": {us(50): {"initial": {"MAC": "unknown-dst", "logical_switch": ["uuid", us(10)],
            "locator_set": ["uuid", us(30)], "ipaddr": ""}}},
    })
}

fn desired_full() -> DesiredVtep {
    DesiredVtep::empty(me())
        .with_logical_switch("net-a", DesiredLogicalSwitch::new(5001))
        .with_binding("ps1", "p1", 100, "net-a")
        .with_ucast_remote("net-a", mac("fa:16:3e:00:00:01"), RemoteMac { dst_ip: ip("10.0.0.2"), ipaddr: Some("192.168.0.1".into()) })
        .with_mcast_remote("net-a", "unknown-dst", [ip("10.0.0.2"), ip("10.0.0.3")])
}

fn ops_json(p: &Plan) -> Vec<Json> {
    p.ops.iter().map(Operation::to_json).collect()
}

#[test]
fn from_scratch_everything_is_inserted_in_dependency_order() {
    let p = plan(&desired_full(), &observed(bare_switch()));
    assert_eq!(p.problems, []);
    assert_eq!(p.ops.len(), p.notes.len());
    let want = vec![
        json!({"op": "wait", "table": "Logical_Switch", "where": [["name", "==", "net-a"]], "columns": ["name"],
               "until": "==", "rows": [], "timeout": 0}),
        json!({"op": "insert", "table": "Logical_Switch", "uuid-name": "ls1", "row": {
            "name": "net-a", "description": "managed by stitch", "tunnel_key": ["set", [5001]],
            "replication_mode": ["set", []], "other_config": ["map", [["stitch-owner", "me"]]]}}),
        json!({"op": "insert", "table": "Physical_Locator", "uuid-name": "loc2",
               "row": {"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.2"}}),
        json!({"op": "insert", "table": "Physical_Locator", "uuid-name": "loc3",
               "row": {"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.3"}}),
        json!({"op": "insert", "table": "Physical_Locator_Set", "uuid-name": "set4",
               "row": {"locators": ["set", [["named-uuid", "loc2"], ["named-uuid", "loc3"]]]}}),
        json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
               "mutations": [["vlan_bindings", "insert", ["map", [[100, ["named-uuid", "ls1"]]]]]]}),
        json!({"op": "insert", "table": "Ucast_Macs_Remote", "row": {"MAC": "fa:16:3e:00:00:01",
               "logical_switch": ["named-uuid", "ls1"], "locator": ["named-uuid", "loc2"], "ipaddr": "192.168.0.1"}}),
        json!({"op": "insert", "table": "Mcast_Macs_Remote", "row": {"MAC": "unknown-dst",
               "logical_switch": ["named-uuid", "ls1"], "locator_set": ["named-uuid", "set4"]}}),
    ];
    assert_eq!(ops_json(&p), want);
    assert_eq!(p.notes[5].summary, "port ps1/p1 vlan_bindings +100:net-a");
    assert_eq!(p.notes[5].expected_count, Some(1));
    assert_eq!(p.notes[1].expected_count, None);
}

#[test]
fn converged_state_plans_nothing() {
    let p = plan(&desired_full(), &observed(converged()));
    assert!(plan_is_empty(&p), "{:#?}", p.notes);
    assert_eq!(p.problems, []);
}

#[test]
fn drift_is_repaired_with_minimal_updates() {
    let mut d = desired_full();
    d.logical_switches.get_mut("net-a").unwrap().description = "net A".into();
    d.ucast_remote
        .entry("net-a".into())
        .or_default()
        .insert(mac("fa:16:3e:00:00:01"), RemoteMac { dst_ip: ip("10.0.0.3"), ipaddr: Some("192.168.0.1".into()) });
    let p = plan(&d, &observed(converged()));
    assert_eq!(
        ops_json(&p),
        vec![
            json!({"op": "update", "table": "Logical_Switch", "where": [["_uuid", "==", ["uuid", us(10)]]],
                   "row": {"description": "net A"}}),
            // The existing locator of 10.0.0.3 is reused, only `locator` changes.
            json!({"op": "update", "table": "Ucast_Macs_Remote", "where": [["_uuid", "==", ["uuid", us(40)]]],
                   "row": {"locator": ["uuid", us(21)]}}),
        ]
    );
}

#[test]
fn flood_list_change_makes_a_new_set_or_reuses_an_identical_one() {
    let c = observed(converged());
    // Shrinking to one member: no set with just 10.0.0.2 exists yet.
    let d = desired_full().with_mcast_remote("net-a", "unknown-dst", [ip("10.0.0.2")]);
    let p = plan(&d, &c);
    assert_eq!(
        ops_json(&p),
        vec![
            json!({"op": "insert", "table": "Physical_Locator_Set", "uuid-name": "set1",
                   "row": {"locators": ["set", [["uuid", us(20)]]]}}),
            json!({"op": "update", "table": "Mcast_Macs_Remote", "where": [["_uuid", "==", ["uuid", us(50)]]],
                   "row": {"locator_set": ["named-uuid", "set1"]}}),
        ]
    );
    // A second flood list with the same members as the existing set reuses it.
    let d = desired_full().with_mcast_remote("net-a", "01:00:5e:00:00:01", [ip("10.0.0.3"), ip("10.0.0.2")]);
    let p = plan(&d, &c);
    assert_eq!(
        ops_json(&p),
        vec![json!({"op": "insert", "table": "Mcast_Macs_Remote", "row": {"MAC": "01:00:5e:00:00:01",
                   "logical_switch": ["uuid", us(10)], "locator_set": ["uuid", us(30)]}})]
    );
    // An empty flood list means no row.
    let d = desired_full().with_mcast_remote("net-a", "unknown-dst", []);
    let p = plan(&d, &c);
    assert_eq!(ops_json(&p), vec![json!({"op": "delete", "table": "Mcast_Macs_Remote", "where": [["_uuid", "==", ["uuid", us(50)]]]})]);
}

#[test]
fn toward_empty_removes_only_owned_rows_in_a_safe_order() {
    let p = plan(&DesiredVtep::empty(me()), &observed(converged()));
    assert_eq!(p.problems, []);
    assert_eq!(
        ops_json(&p),
        vec![
            // Only the owned pair; VLAN 300 (foreign) stays.
            json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
                   "mutations": [["vlan_bindings", "delete", ["map", [[100, ["uuid", us(10)]]]]]]}),
            json!({"op": "delete", "table": "Ucast_Macs_Remote", "where": [["_uuid", "==", ["uuid", us(40)]]]}),
            json!({"op": "delete", "table": "Mcast_Macs_Remote", "where": [["_uuid", "==", ["uuid", us(50)]]]}),
            json!({"op": "delete", "table": "Logical_Switch", "where": [["_uuid", "==", ["uuid", us(10)]]]}),
        ]
    );
}

#[test]
fn conflicts_and_missing_things_are_problems_not_errors() {
    let d = desired_full()
        // Name taken by a foreign switch: nothing planned for it.
        .with_logical_switch("other", DesiredLogicalSwitch::new(6000))
        .with_binding("ps1", "p2", 10, "other")
        // VNI taken by a foreign switch: not created.
        .with_logical_switch("net-b", DesiredLogicalSwitch::new(7))
        // Foreign binding on the VLAN we want.
        .with_binding("ps1", "p1", 300, "net-a")
        .with_binding("ps1", "p9", 5, "net-a")
        .with_binding("ps9", "p1", 5, "net-a")
        .with_binding("ps1", "p2", 4096, "net-a")
        .with_binding("ps1", "p2", 11, "nowhere")
        .with_ucast_remote("net-a", mac("fa:16:3e:00:00:02"), RemoteMac::at(ip("fd00::1")));
    let p = plan(&d, &observed(converged()));
    let got: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "logical switch \"net-b\" not created: VNI 7 is used by logical switch \"other\"",
            "logical switch \"other\" exists and is not managed by Stitch",
            "VLAN 300 on ps1/p1 is bound to logical switch \"other\", not managed by Stitch",
            "binding ps1/p2 VLAN 11 refers to logical switch \"nowhere\", which is not desired",
            "VLAN 4096 on ps1/p2 is outside 0..=4095",
            "port \"p9\" not found on physical switch \"ps1\"",
            "physical switch \"ps9\" not found",
            "remote MAC fa:16:3e:00:00:02 in net-a: tunnel IP fd00::1 is not IPv4 (hardware_vtep has only vxlan_over_ipv4)",
        ]
    );
    assert!(p.is_empty(), "{:#?}", p.notes);
}

#[test]
fn rebinding_a_vlan_between_owned_switches_is_one_mutate() {
    let d = desired_full().with_logical_switch("net-b", DesiredLogicalSwitch::new(5002)).with_binding("ps1", "p1", 100, "net-b");
    let p = plan(&d, &observed(converged()));
    let j = ops_json(&p);
    assert_eq!(j.len(), 3, "{j:#?}");
    assert_eq!(j[1]["uuid-name"], "ls1");
    assert_eq!(
        j[2],
        json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
               "mutations": [["vlan_bindings", "delete", ["map", [[100, ["uuid", us(10)]]]]],
                             ["vlan_bindings", "insert", ["map", [[100, ["named-uuid", "ls1"]]]]]]})
    );
}

/// A VLAN wanted on an existing owned logical switch is bound to another
/// owned one: a scope naming either of the two finds the pair (one by the
/// desired state, the other by what the port holds now) and plans the
/// full plan's one mutate.
#[test]
fn a_scope_of_either_logical_switch_of_a_moved_binding_plans_it() {
    let mut j = converged();
    j["Logical_Switch"][us(11)] = json!({"initial": {"name": "net-b", "description": "managed by stitch", "tunnel_key": 5002,
        "other_config": ["map", [["stitch-owner", "me"]]]}});
    let c = observed(j);
    let d = desired_full().with_logical_switch("net-b", DesiredLogicalSwitch::new(5002)).with_binding("ps1", "p1", 100, "net-b");
    let full = plan(&d, &c);
    assert_eq!(
        ops_json(&full),
        vec![json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
               "mutations": [["vlan_bindings", "delete", ["map", [[100, ["uuid", us(10)]]]]],
                             ["vlan_bindings", "insert", ["map", [[100, ["uuid", us(11)]]]]]]})]
    );
    for name in ["net-a", "net-b"] {
        let scoped = plan_scoped(&d, &c, &Scope::LogicalSwitches([name.to_owned()].into()));
        assert_eq!(scoped, full, "scope {name}");
    }
    assert!(plan_scoped(&d, &c, &Scope::LogicalSwitches(["other".to_owned()].into())).is_empty());
}

#[test]
fn deleting_a_logical_switch_takes_its_local_macs_but_not_a_routed_one() {
    let mut j = converged();
    j["Ucast_Macs_Local"] = json!({us(60): {"initial": {"MAC": "00:00:00:00:00:01",
        "logical_switch": ["uuid", us(10)], "locator": ["uuid", us(20)], "ipaddr": ""}}});
    let p = plan(&DesiredVtep::empty(me()), &observed(j.clone()));
    let tables: Vec<&str> = p
        .ops
        .iter()
        .map(|o| match o {
            Operation::Delete { table, .. } | Operation::Mutate { table, .. } => table.as_str(),
            _ => "?",
        })
        .collect();
    assert_eq!(tables, ["Physical_Port", "Ucast_Macs_Remote", "Mcast_Macs_Remote", "Ucast_Macs_Local", "Logical_Switch"]);

    j["Logical_Router"] = json!({us(70): {"initial": {"name": "r1", "switch_binding": ["map", [["10.0.0.0/24", ["uuid", us(10)]]]]}}});
    let p = plan(&DesiredVtep::empty(me()), &observed(j));
    assert_eq!(p.problems, [PlanProblem::LogicalSwitchInUse { name: "net-a".into(), by: "Logical_Router \"r1\"".into() }]);
    assert!(!p.ops.iter().any(|o| matches!(o, Operation::Delete { table, .. } if table == "Logical_Switch")));
}

#[test]
fn another_instance_is_foreign() {
    let d = DesiredVtep { owner: Owner::new("them").unwrap(), ..desired_full() };
    let p = plan(&d, &observed(converged()));
    assert_eq!(p.problems, [PlanProblem::LogicalSwitchNameTaken { name: "net-a".into(), owner: Some("me".into()) }]);
    assert!(p.is_empty(), "{:#?}", p.notes);
}
