use super::*;
use crate::notation::Value;
use crate::schema::DatabaseSchema;
use serde_json::json;

const U1: &str = "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1";
const U2: &str = "9f6c1b0e-5a1d-4c1e-8a55-0d6a4a7f0b22";

fn schema() -> DatabaseSchema {
    include_str!("../../tests/data/vtep.ovsschema").parse().unwrap()
}

#[test]
fn request_params_per_method() {
    let reqs = MonitorRequests::new().table("Logical_Switch", MonitorRequest::columns(["name"]).with_where(vec![Condition::eq("name", "a")]));
    let id = json!("m1");
    let p = monitor_params(MonitorMethod::Monitor, "db", &id, &reqs, None);
    assert_eq!(
        Json::Array(p),
        json!(["db", "m1", {"Logical_Switch": [{"columns": ["name"],
            "select": {"initial": true, "insert": true, "delete": true, "modify": true}}]}])
    );
    let p = monitor_params(MonitorMethod::MonitorCond, "db", &id, &reqs, None);
    assert_eq!(p[2]["Logical_Switch"][0]["where"], json!([["name", "==", "a"]]));
    assert_eq!(p.len(), 3);
    let p = monitor_params(MonitorMethod::MonitorCondSince, "db", &id, &reqs, None);
    assert_eq!(p[3], json!("00000000-0000-0000-0000-000000000000"));
    let p = monitor_params(MonitorMethod::MonitorCondSince, "db", &id, &reqs, Some(U1.parse().unwrap()));
    assert_eq!(p[3], json!(U1));
    assert_eq!(MonitorMethod::MonitorCondSince.fallback(), Some(MonitorMethod::MonitorCond));
    assert_eq!(MonitorMethod::Monitor.fallback(), None);
}

#[test]
fn parses_update_notifications() {
    let n = UpdateNotification::from_params("update", &[json!("m"), json!({"Logical_Switch": {U1: {"new": {"name": "a"}}, U2: {"old": {"name": "b"}}}})])
        .unwrap()
        .unwrap();
    let Updates::V1(t) = &n.updates else { panic!("v1 expected") };
    assert_eq!(t["Logical_Switch"][&U1.parse().unwrap()].new.as_ref().unwrap().get_str("name"), Some("a"));
    assert!(t["Logical_Switch"][&U2.parse().unwrap()].new.is_none());

    let n =
        UpdateNotification::from_params("update3", &[json!("m"), json!(U2), json!({"T": {U1: {"modify": {"x": 1}}, U2: {"delete": null}}})]).unwrap().unwrap();
    assert_eq!(n.last_txn_id, Some(U2.parse().unwrap()));
    assert_eq!(n.updates.len(), 2);

    assert!(UpdateNotification::from_params("locked", &[json!("l")]).is_none());
    for (m, p) in [
        ("update", vec![json!("m")]),
        ("update", vec![json!("m"), json!([])]),
        ("update", vec![json!("m"), json!({"T": {"not-a-uuid": {"new": {}}}})]),
        ("update", vec![json!("m"), json!({"T": {U1: {}}})]),
        ("update2", vec![json!("m"), json!({"T": {U1: {"initial": {}, "insert": {}}}})]),
        ("update2", vec![json!("m"), json!({"T": {U1: {"upsert": {}}}})]),
        ("update3", vec![json!("m"), json!("x"), json!({})]),
        ("update3", vec![json!("m"), json!({})]),
    ] {
        assert!(UpdateNotification::from_params(m, &p).unwrap().is_err(), "{m} {p:?}");
    }
}

#[test]
fn parses_cond_since_reply() {
    let r = CondSinceReply::from_json(&json!([true, U1, {"T": {U2: {"insert": {"a": 1}}}}])).unwrap();
    assert!(r.found);
    assert_eq!(r.last_txn_id, U1.parse::<Uuid>().unwrap());
    assert!(CondSinceReply::from_json(&json!([true, U1])).is_err());
    assert!(CondSinceReply::from_json(&json!(["yes", U1, {}])).is_err());
}

#[test]
fn cache_applies_update2_sequence() {
    let mut c = Cache::new(schema());
    let u1: Uuid = U1.parse().unwrap();
    let apply = |c: &mut Cache, j: Json| c.apply(&Updates::from_json(&j, MonitorMethod::MonitorCond).unwrap());
    apply(
        &mut c,
        json!({"Logical_Switch": {U1: {"initial": {"name": "ls", "tunnel_key": 5,
        "other_config": ["map", [["a", "1"], ["b", "2"]]]}}}}),
    )
    .unwrap();
    let row = c.get("Logical_Switch", &u1).unwrap();
    assert_eq!(row.get("tunnel_key"), Some(&Value::set([5i64])), "normalized to a set");
    assert_eq!(row.uuid(), Some(u1));
    apply(
        &mut c,
        json!({"Logical_Switch": {U1: {"modify": {"tunnel_key": 6,
        "other_config": ["map", [["a", "1"], ["b", "3"], ["c", "4"]]], "name": "ls2"}}}}),
    )
    .unwrap();
    let row = c.get("Logical_Switch", &u1).unwrap();
    assert_eq!(row.get("tunnel_key"), Some(&Value::set([6i64])));
    assert_eq!(row.get("other_config"), Some(&Value::map([("b", "3"), ("c", "4")])));
    assert_eq!(row.get_str("name"), Some("ls2"));
    assert_eq!(c.select("Logical_Switch", &[Condition::eq("name", "ls2")]).unwrap().len(), 1);
    apply(&mut c, json!({"Logical_Switch": {U1: {"delete": null}}})).unwrap();
    assert_eq!(c.len("Logical_Switch"), 0);
    assert!(apply(&mut c, json!({"Logical_Switch": {U2: {"modify": {"name": "x"}}}})).is_err());
    assert!(apply(&mut c, json!({"Nope": {}})).is_err());
}

#[test]
fn cache_applies_v1_updates() {
    let mut c = Cache::new(schema());
    let u1: Uuid = U1.parse().unwrap();
    let v1 = |j: Json| Updates::from_json(&j, MonitorMethod::Monitor).unwrap();
    c.apply(&v1(json!({"Physical_Switch": {U1: {"new": {"name": "sw", "tunnel_ips": "1.1.1.1"}}}}))).unwrap();
    assert_eq!(c.get("Physical_Switch", &u1).unwrap().get("tunnel_ips"), Some(&Value::set(["1.1.1.1"])));
    c.apply(&v1(json!({"Physical_Switch": {U1: {"old": {"name": "sw"}, "new": {"name": "sw2", "tunnel_ips": ["set", []]}}}}))).unwrap();
    assert_eq!(c.get("Physical_Switch", &u1).unwrap().get_str("name"), Some("sw2"));
    c.apply(&v1(json!({"Physical_Switch": {U1: {"old": {"name": "sw2"}}}}))).unwrap();
    assert!(c.is_empty());
}

#[test]
fn updates_say_which_tables_they_touch() {
    let v2 = Updates::from_json(&json!({"Logical_Switch": {U1: {"modify": {"name": "x"}}}, "Physical_Port": {}}), MonitorMethod::MonitorCond).unwrap();
    assert!(v2.touches("Logical_Switch"));
    assert!(!v2.touches("Physical_Port"), "a table with no row changed");
    assert!(!v2.touches("Ucast_Macs_Local"));
    let v1 = Updates::from_json(&json!({"Ucast_Macs_Local": {U2: {"new": {"MAC": "aa:bb:cc:dd:ee:ff"}}}}), MonitorMethod::Monitor).unwrap();
    assert!(v1.touches("Ucast_Macs_Local"));
    assert!(!v1.touches("Logical_Switch"));
}
