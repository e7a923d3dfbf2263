use std::collections::BTreeMap;
use std::net::IpAddr;

use ovsdb::monitor::{MonitorMethod, Updates};
use ovsdb::notation::Row;
use serde_json::json;
use uuid::Uuid;

use super::*;

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn us(n: u128) -> String {
    u(n).to_string()
}

fn upd1(j: serde_json::Value) -> Updates {
    Updates::from_json(&j, MonitorMethod::Monitor).unwrap()
}

fn upd2(j: serde_json::Value) -> Updates {
    Updates::from_json(&j, MonitorMethod::MonitorCond).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A small database: switch ps1 with port p1 (vlan 100 → ls1), ls1, a
/// locator, a set, a remote ucast MAC and a flood list.
fn initial() -> Updates {
    upd2(json!({
        "Physical_Switch": {us(1): {"initial": {"name": "ps1", "ports": ["uuid", us(2)], "tunnel_ips": "10.0.0.1"}}},
        "Physical_Port": {us(2): {"initial": {"name": "p1", "vlan_bindings": ["map", [[100, ["uuid", us(10)]]]]}}},
        "Logical_Switch": {us(10): {"initial": {"name": "ls1", "tunnel_key": 5001,
            "other_config": ["map", [["stitch-owner", "me"]]]}}},
        "Physical_Locator": {us(20): {"initial": {"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.2"}},
                             us(21): {"initial": {"encapsulation_type": "vxlan_over_ipv4", "dst_ip": "10.0.0.3"}}},
        "Physical_Locator_Set": {us(30): {"initial": {"locators": ["set", [["uuid", us(20)], ["uuid", us(21)]]]}}},
        "Ucast_Macs_Remote": {us(40): {"initial": {"MAC": "AA:BB:CC:00:00:01", "logical_switch": ["uuid", us(10)],
            "locator": ["uuid", us(20)], "ipaddr": ""}}},
        "Mcast_Macs_Remote": {us(50): {"initial": {"MAC": "unknown-dst", "logical_switch": ["uuid", us(10)],
            "locator_set": ["uuid", us(30)], "ipaddr": ""}}},
    }))
}

fn cache() -> VtepCache {
    let mut c = VtepCache::with_installed_schema();
    c.apply(&initial()).unwrap();
    c
}

#[test]
fn initial_contents_are_typed_and_indexed() {
    let c = cache();
    assert_eq!(c.logical_switch_by_name("ls1").map(|l| l.uuid), Some(u(10)));
    assert_eq!(c.physical_switch_by_name("ps1").map(|s| s.uuid), Some(u(1)));
    let p = c.physical_port("ps1", "p1").unwrap();
    assert_eq!(p.vlan_bindings, BTreeMap::from([(100, u(10))]));
    assert!(c.physical_port("ps1", "p2").is_none());
    assert!(c.physical_port("ps2", "p1").is_none());
    assert_eq!(c.switch_of_port(u(2)).map(|s| s.name.as_str()), Some("ps1"));
    assert_eq!(c.vxlan_locator(ip("10.0.0.2")).map(|l| l.uuid), Some(u(20)));
    assert!(c.vxlan_locator(ip("10.0.0.9")).is_none());
    assert_eq!(c.locator_set_with(&[u(20), u(21)].into()).map(|s| s.uuid), Some(u(30)));
    assert!(c.locator_set_with(&[u(20)].into()).is_none());
    assert_eq!(c.locator_set_ips(u(30)), Some([ip("10.0.0.2"), ip("10.0.0.3")].into()));
    // MACs are found in any case.
    let m: Vec<Uuid> = c.ucast_remote_by_mac(u(10), "aa:bb:cc:00:00:01").map(|m| m.uuid).collect();
    assert_eq!(m, [u(40)]);
    assert_eq!(c.ucast_remote_of(u(10)).count(), 1);
    assert_eq!(c.ucast_remote_of(u(11)).count(), 0);
    assert_eq!(c.mcast_remote_by_mac(u(10), "UNKNOWN-DST").count(), 1);
    assert_eq!(c.len(Table::PhysicalLocator), 2);
    assert_eq!(c.decode_errors().count(), 0);
}

#[test]
fn update2_modify_applies_diffs_and_moves_index_entries() {
    let mut c = cache();
    c.apply(&upd2(json!({
        // Rename: the name index follows.
        "Logical_Switch": {us(10): {"modify": {"name": "ls1b"}}},
        // Map diff: 100 (same value) is removed, 200 is added.
        "Physical_Port": {us(2): {"modify": {"vlan_bindings": ["map", [[100, ["uuid", us(10)]], [200, ["uuid", us(10)]]]]}}},
        // Scalar diff: the MAC moves to another locator.
        "Ucast_Macs_Remote": {us(40): {"modify": {"locator": ["uuid", us(21)], "MAC": "aa:bb:cc:00:00:02"}}},
    })))
    .unwrap();
    assert!(c.logical_switch_by_name("ls1").is_none());
    assert_eq!(c.logical_switch_by_name("ls1b").map(|l| l.uuid), Some(u(10)));
    assert_eq!(c.physical_port("ps1", "p1").unwrap().vlan_bindings, BTreeMap::from([(200, u(10))]));
    assert_eq!(c.ucast_remote_by_mac(u(10), "aa:bb:cc:00:00:01").count(), 0);
    let m = c.ucast_remote_by_mac(u(10), "aa:bb:cc:00:00:02").next().unwrap();
    assert_eq!(c.locator_ip(m.locator), Some(ip("10.0.0.3")));
    // Set diff on tunnel_ips: symmetric difference.
    c.apply(&upd2(json!({"Physical_Switch": {us(1): {"modify": {"tunnel_ips": ["set", ["10.0.0.1", "10.0.0.9"]]}}}}))).unwrap();
    assert_eq!(c.physical_switch_by_name("ps1").unwrap().tunnel_ips, ["10.0.0.9".to_owned()].into());
}

#[test]
fn deletes_remove_rows_and_index_entries() {
    let mut c = cache();
    c.apply(&upd2(json!({
        "Mcast_Macs_Remote": {us(50): {"delete": null}},
        "Physical_Locator_Set": {us(30): {"delete": null}},
        "Physical_Locator": {us(21): {"delete": null}},
    })))
    .unwrap();
    assert_eq!(c.mcast_remote_of(u(10)).count(), 0);
    assert!(c.locator_set_with(&[u(20), u(21)].into()).is_none());
    assert!(c.vxlan_locator(ip("10.0.0.3")).is_none());
    assert_eq!(c.tables().locators.len(), 1);
    assert_eq!(c.len(Table::PhysicalLocatorSet), 0);
}

#[test]
fn update_format_old_new_is_applied_too() {
    let mut c = VtepCache::with_installed_schema();
    c.apply(&upd1(json!({"Logical_Switch": {us(10): {"new": {"name": "a", "tunnel_key": 1}}}}))).unwrap();
    assert_eq!(c.logical_switch_by_name("a").unwrap().tunnel_key, Some(1));
    // Modify: "new" holds the full row.
    c.apply(&upd1(json!({"Logical_Switch": {us(10): {"old": {"name": "a"}, "new": {"name": "b", "tunnel_key": 1}}}}))).unwrap();
    assert!(c.logical_switch_by_name("a").is_none());
    assert!(c.logical_switch_by_name("b").is_some());
    assert_eq!(c.logical_switches_with_key(1).map(|l| l.name.as_str()).collect::<Vec<_>>(), ["b"]);
    c.apply(&upd1(json!({"Logical_Switch": {us(10): {"old": {"name": "b"}, "new": {"name": "b", "tunnel_key": 2}}}}))).unwrap();
    assert_eq!(c.logical_switches_with_key(1).count(), 0, "the VNI index follows a tunnel_key change");
    assert_eq!(c.logical_switches_with_key(2).count(), 1);
    c.apply(&upd1(json!({"Logical_Switch": {us(10): {"old": {"name": "b"}}}}))).unwrap();
    assert!(c.is_empty());
    assert!(c.logical_switch_by_name("b").is_none());
    assert_eq!(c.logical_switches_with_key(2).count(), 0);
}

#[test]
fn undecodable_rows_are_reported_and_kept_raw_only() {
    let mut c = cache();
    let err = c
        .apply(&upd2(json!({"Logical_Switch": {us(11): {"insert": {"name": "bad", "other_config": ["map", [["k", "v"]]],
            "description": "x"}}, us(10): {"modify": {"replication_mode": ["set", ["source_node"]]}}}})))
        .map(|_| ());
    assert!(err.is_ok(), "{err:?}");
    // A row the schema allows but our types do not (simulated by a server
    // schema whose enum grew): fed through load() with a raw value.
    let mut rows = BTreeMap::new();
    let bad = Row::from_json(&json!({"_uuid": ["uuid", us(12)], "name": "x", "replication_mode": "flood"})).unwrap();
    rows.insert("Logical_Switch".to_owned(), vec![bad]);
    let e = c.load(rows).unwrap_err();
    match e {
        CacheError::Decode(errs) => {
            assert_eq!(errs.len(), 1);
            assert_eq!((errs[0].table, errs[0].uuid, errs[0].column), (Table::LogicalSwitch, u(12), "replication_mode"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.decode_errors().count(), 1);
    assert!(c.observed_rows()["Logical_Switch"].contains_key(&u(12)), "kept raw");
    assert_eq!(c.len(Table::LogicalSwitch), 1);
    assert!(c.logical_switch_by_name("x").is_none());
    // load() replaced everything.
    assert!(c.logical_switch_by_name("ls1").is_none());
}

#[test]
fn schema_errors_are_reported() {
    let mut c = cache();
    let e = c.apply(&upd2(json!({"Logical_Switch": {us(99): {"modify": {"name": "x"}}}}))).unwrap_err();
    assert!(matches!(e, CacheError::Schema(_)), "{e:?}");
    let e = c.apply(&upd2(json!({"No_Such_Table": {us(1): {"insert": {}}}}))).unwrap_err();
    assert!(matches!(e, CacheError::Schema(_)), "{e:?}");
}

#[test]
fn initial_updates_round_trip_a_raw_database() {
    let c = cache();
    let mut d = VtepCache::with_installed_schema();
    d.apply(&initial_updates(&c.observed_rows())).unwrap();
    assert_eq!(d.tables(), c.tables());
}

#[test]
fn caches_of_one_schema_share_it() {
    let a = VtepCache::with_installed_schema();
    let b = VtepCache::with_installed_schema();
    assert!(std::ptr::eq(a.schema(), b.schema()), "equal schemas are parsed once and shared");
}

proptest::proptest! {
    /// Two MAC column values share a `MacKey` exactly when they share a
    /// `mac_key`: keying by bytes finds the same rows as keying by the
    /// lowercased string did.
    #[test]
    fn mac_keys_meet_exactly_when_lowercase_strings_do(
        a in "([0-9a-fA-F+-]{2}[:-]){5}[0-9a-fA-F+]{2}|[a-zA-Z:-]{0,12}",
        b in "([0-9a-fA-F+-]{2}[:-]){5}[0-9a-fA-F+]{2}|[a-zA-Z:-]{0,12}",
        upper in proptest::bool::ANY,
    ) {
        // Often the same MAC in another case.
        let b = if upper { a.to_ascii_uppercase() } else { b };
        proptest::prop_assert_eq!(MacKey::of(&a) == MacKey::of(&b), mac_key(&a) == mac_key(&b));
        let parsed = MacKey::of(&a.to_ascii_lowercase());
        if let MacKey::Mac(m) = &parsed {
            proptest::prop_assert_eq!(m.to_string(), a.to_ascii_lowercase());
        }
    }
}
