use ovsdb::monitor::{MonitorMethod, Updates};
use serde_json::{Value as Json, json};

use super::super::plan;
use crate::cache::VtepCache;
use crate::desired::{DesiredAcl, DesiredVtep};
use crate::ownership::Owner;
use crate::plan::PlanProblem;
use crate::rows::AclEntry;

fn us(n: u128) -> String {
    uuid::Uuid::from_u128(n).to_string()
}

fn me() -> Owner {
    Owner::new("me").unwrap()
}

fn observed(j: Json) -> VtepCache {
    let mut c = VtepCache::with_installed_schema();
    c.apply(&Updates::from_json(&j, MonitorMethod::MonitorCond).unwrap()).unwrap();
    c
}

fn entry(sequence: i64, direction: &str, action: &str, protocol: Option<i64>) -> AclEntry {
    AclEntry { sequence, direction: direction.into(), action: action.into(), protocol, ..Default::default() }
}

fn sg1() -> DesiredAcl {
    DesiredAcl::new([entry(10, "ingress", "permit", Some(6)), entry(1000, "ingress", "deny", None)]).bound("ps1", "p1", 100)
}

/// ps1/p1 with our ACL me/sg1 (entries 60, 61) bound on VLAN 100 and a
/// foreign ACL (entry 71) bound on VLAN 300; p2 unbound.
fn converged() -> Json {
    json!({
        "Physical_Switch": {us(1): {"initial": {"name": "ps1", "ports": ["set", [["uuid", us(2)], ["uuid", us(3)]]]}}},
        "Physical_Port": {
            us(2): {"initial": {"name": "p1", "acl_bindings": ["map", [[100, ["uuid", us(50)]], [300, ["uuid", us(70)]]]]}},
            us(3): {"initial": {"name": "p2"}}},
        "ACL": {
            us(50): {"initial": {"acl_name": "me/sg1", "acl_entries": ["set", [["uuid", us(60)], ["uuid", us(61)]]]}},
            us(70): {"initial": {"acl_name": "foreign", "acl_entries": ["uuid", us(71)]}}},
        "ACL_entry": {
            us(60): {"initial": {"sequence": 10, "direction": "ingress", "action": "permit", "protocol": 6}},
            us(61): {"initial": {"sequence": 1000, "direction": "ingress", "action": "deny"}},
            us(71): {"initial": {"sequence": 1, "direction": "egress", "action": "deny"}}},
    })
}

fn bare() -> Json {
    json!({
        "Physical_Switch": {us(1): {"initial": {"name": "ps1", "ports": ["set", [["uuid", us(2)], ["uuid", us(3)]]]}}},
        "Physical_Port": {us(2): {"initial": {"name": "p1"}}, us(3): {"initial": {"name": "p2"}}},
    })
}

fn ops(p: &crate::Plan) -> Vec<Json> {
    p.ops.iter().map(ovsdb::ops::Operation::to_json).collect()
}

#[test]
fn from_scratch_entries_then_acl_then_binding() {
    let d = DesiredVtep::empty(me()).with_acl("sg1", sg1());
    let p = plan(&d, &observed(bare()));
    assert_eq!(p.problems, []);
    assert_eq!(
        ops(&p),
        vec![
            json!({"op": "insert", "table": "ACL_entry", "uuid-name": "ace1", "row": {
                "sequence": 10, "direction": "ingress", "action": "permit",
                "source_mac": ["set", []], "dest_mac": ["set", []], "ethertype": ["set", []],
                "source_ip": ["set", []], "source_mask": ["set", []], "dest_ip": ["set", []], "dest_mask": ["set", []],
                "protocol": ["set", [6]], "source_port_min": ["set", []], "source_port_max": ["set", []],
                "dest_port_min": ["set", []], "dest_port_max": ["set", []], "tcp_flags": ["set", []],
                "tcp_flags_mask": ["set", []], "icmp_code": ["set", []], "icmp_type": ["set", []]}}),
            ops(&p)[1].clone(),
            json!({"op": "wait", "table": "ACL", "where": [["acl_name", "==", "me/sg1"]], "columns": ["acl_name"],
                   "until": "==", "rows": [], "timeout": 0}),
            json!({"op": "insert", "table": "ACL", "uuid-name": "acl3", "row": {"acl_name": "me/sg1",
                   "acl_entries": ["set", [["named-uuid", "ace1"], ["named-uuid", "ace2"]]]}}),
            json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
                   "mutations": [["acl_bindings", "insert", ["map", [[100, ["named-uuid", "acl3"]]]]]]}),
        ]
    );
    assert_eq!(ops(&p)[1]["row"]["sequence"], json!(1000));
    assert_eq!(p.notes[4].summary, "port ps1/p1 acl_bindings +100");
}

#[test]
fn converged_plans_nothing_and_foreign_acls_stay() {
    let d = DesiredVtep::empty(me()).with_acl("sg1", sg1());
    let p = plan(&d, &observed(converged()));
    assert!(p.is_empty(), "{:#?}", p.notes);
    assert_eq!(p.problems, []);
}

#[test]
fn changed_rules_keep_matching_entries_and_replace_the_rest() {
    let mut a = sg1();
    a.entries[0].protocol = Some(17);
    let d = DesiredVtep::empty(me()).with_acl("sg1", a);
    let p = plan(&d, &observed(converged()));
    assert_eq!(p.problems, []);
    let j = ops(&p);
    assert_eq!(j.len(), 3, "{:#?}", p.notes);
    assert_eq!(j[0]["op"], "insert");
    assert_eq!(j[0]["row"]["protocol"], json!(["set", [17]]));
    assert_eq!(
        j[1],
        json!({"op": "update", "table": "ACL", "where": [["_uuid", "==", ["uuid", us(50)]]],
               "row": {"acl_entries": ["set", [["uuid", us(61)], ["named-uuid", "ace1"]]]}})
    );
    assert_eq!(j[2], json!({"op": "delete", "table": "ACL_entry", "where": [["_uuid", "==", ["uuid", us(60)]]]}));
}

#[test]
fn moving_a_binding_is_one_mutate_per_port() {
    let d = DesiredVtep::empty(me()).with_acl("sg1", DesiredAcl { bindings: Default::default(), ..sg1() }.bound("ps1", "p2", 7));
    let p = plan(&d, &observed(converged()));
    assert_eq!(p.problems, []);
    assert_eq!(
        ops(&p),
        vec![
            json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
                   "mutations": [["acl_bindings", "delete", ["map", [[100, ["uuid", us(50)]]]]]]}),
            json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(3)]]],
                   "mutations": [["acl_bindings", "insert", ["map", [[7, ["uuid", us(50)]]]]]]}),
        ]
    );
}

#[test]
fn toward_empty_unbinds_then_deletes_acl_then_entries_only_ours() {
    let p = plan(&DesiredVtep::empty(me()), &observed(converged()));
    assert_eq!(p.problems, []);
    assert_eq!(
        ops(&p),
        vec![
            json!({"op": "mutate", "table": "Physical_Port", "where": [["_uuid", "==", ["uuid", us(2)]]],
                   "mutations": [["acl_bindings", "delete", ["map", [[100, ["uuid", us(50)]]]]]]}),
            json!({"op": "delete", "table": "ACL", "where": [["_uuid", "==", ["uuid", us(50)]]]}),
            json!({"op": "delete", "table": "ACL_entry", "where": [["_uuid", "==", ["uuid", us(60)]]]}),
            json!({"op": "delete", "table": "ACL_entry", "where": [["_uuid", "==", ["uuid", us(61)]]]}),
        ]
    );
}

#[test]
fn problems_foreign_binding_conflict_invalid_missing_port() {
    let d = DesiredVtep::empty(me())
        .with_acl("sg1", sg1().bound("ps1", "p1", 300).bound("ps1", "p9", 5))
        .with_acl("sg2", sg1())
        .with_acl("bad/key", sg1())
        .with_acl("empty", DesiredAcl::default());
    let p = plan(&d, &observed(converged()));
    let shown: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
    assert!(p.problems.contains(&PlanProblem::AclBindingTaken { switch: "ps1".into(), port: "p1".into(), vlan: 300, by: "foreign".into() }));
    assert!(p.problems.contains(&PlanProblem::MissingPort { switch: "ps1".into(), port: "p9".into() }));
    assert!(shown.contains(&"ACL \"sg2\" not bound on ps1/p1 VLAN 100: ACL \"sg1\" is bound there".to_owned()), "{shown:?}");
    assert!(shown.iter().any(|s| s.starts_with("ACL \"bad/key\" not planned")), "{shown:?}");
    assert!(shown.iter().any(|s| s.starts_with("ACL \"empty\" not planned")), "{shown:?}");
    // The foreign binding and ACL are never touched.
    assert!(p.ops.iter().all(|o| !o.to_json().to_string().contains(&us(70))), "{:#?}", p.notes);
}

#[test]
fn an_acl_a_router_uses_is_kept() {
    let mut j = converged();
    j["Logical_Router"] = json!({us(80): {"initial": {"name": "r1", "acl_binding": ["map", [["10.0.0.0/24", ["uuid", us(50)]]]]}}});
    let p = plan(&DesiredVtep::empty(me()), &observed(j));
    assert_eq!(p.problems, [PlanProblem::AclInUse { name: "me/sg1".into(), by: "Logical_Router \"r1\"".into() }]);
    assert!(p.ops.iter().all(|o| o.to_json()["table"] != "ACL" && o.to_json()["table"] != "ACL_entry"));
}
