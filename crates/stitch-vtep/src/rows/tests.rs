use std::collections::{BTreeMap, BTreeSet};

use ovsdb::notation::{Atom, Row, Value};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::schema_check::expected_columns;

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn parse(j: serde_json::Value) -> Row {
    Row::from_json(&j).unwrap()
}

/// Encoding writes only columns the schema has, with values it accepts,
/// and only columns the type declares; decoding the encoding gives the
/// row back (ephemeral columns aside).
fn round_trip<T: VtepRow>(table: Table, row: T) {
    let schema = crate::installed_schema().unwrap();
    let ts = schema.table(table.name()).unwrap();
    let enc = row.encode();
    ts.check_row(&enc).unwrap_or_else(|e| panic!("{table}: {e}"));
    let declared: BTreeSet<&str> = expected_columns(table).iter().map(|c| c.name).collect();
    for (c, _) in enc.iter() {
        assert!(declared.contains(c.as_str()), "{table}.{c} written but not declared");
        assert!(!ts.columns[c].ephemeral, "{table}.{c} is ephemeral");
    }
    let back = T::decode(table, row.uuid(), &enc).unwrap();
    assert_eq!(back.encode(), enc, "{table}");
}

#[test]
fn every_table_round_trips_and_fits_the_schema() {
    round_trip(Table::Global, Global { uuid: u(1), managers: [u(2)].into(), switches: [u(3), u(4)].into(), other_config: [("a".into(), "b".into())].into() });
    round_trip(Table::Manager, Manager { uuid: u(1), target: "ssl:1.2.3.4:6640".into(), max_backoff: Some(8000), ..Default::default() });
    round_trip(
        Table::PhysicalSwitch,
        PhysicalSwitch { uuid: u(1), name: "ps1".into(), tunnel_ips: ["10.0.0.1".into()].into(), ports: [u(5)].into(), ..Default::default() },
    );
    round_trip(Table::PhysicalPort, PhysicalPort { uuid: u(1), name: "p1".into(), vlan_bindings: [(0, u(7)), (4095, u(8))].into(), ..Default::default() });
    round_trip(Table::Tunnel, Tunnel { uuid: u(1), local: u(2), remote: u(3), ..Default::default() });
    round_trip(Table::LogicalBindingStats, LogicalBindingStats { uuid: u(1), ..Default::default() });
    round_trip(
        Table::LogicalSwitch,
        LogicalSwitch {
            uuid: u(1),
            name: "ls".into(),
            description: "d".into(),
            tunnel_key: Some(5000),
            replication_mode: Some(ReplicationMode::SourceNode),
            other_config: [("stitch-owner".into(), "me".into())].into(),
        },
    );
    round_trip(
        Table::LogicalRouter,
        LogicalRouter { uuid: u(1), name: "r".into(), switch_binding: [("10.0.0.0/24".into(), u(2))].into(), ..Default::default() },
    );
    for t in [Table::UcastMacsLocal, Table::UcastMacsRemote] {
        round_trip(t, UcastMac { uuid: u(1), mac: "aa:bb:cc:dd:ee:ff".into(), logical_switch: u(2), locator: u(3), ipaddr: "10.0.0.9".into() });
    }
    for t in [Table::McastMacsLocal, Table::McastMacsRemote] {
        round_trip(t, McastMac { uuid: u(1), mac: "unknown-dst".into(), logical_switch: u(2), locator_set: u(3), ipaddr: Default::default() });
    }
    for t in [Table::ArpSourcesLocal, Table::ArpSourcesRemote] {
        round_trip(t, ArpSource { uuid: u(1), src_mac: "aa:bb:cc:dd:ee:ff".into(), locator: u(3) });
    }
    round_trip(Table::PhysicalLocator, PhysicalLocator { uuid: u(1), encapsulation_type: VXLAN_OVER_IPV4.into(), dst_ip: "10.0.0.2".into(), tunnel_key: None });
    round_trip(Table::PhysicalLocatorSet, PhysicalLocatorSet { uuid: u(1), locators: [u(2), u(3)].into() });
    round_trip(Table::Acl, Acl { uuid: u(1), acl_name: "a".into(), acl_entries: [u(2)].into(), ..Default::default() });
    round_trip(
        Table::AclEntry,
        AclEntry {
            uuid: u(1),
            sequence: 10,
            dest_ip: Some("10.0.0.0".into()),
            protocol: Some(6),
            direction: "ingress".into(),
            action: "deny".into(),
            ..Default::default()
        },
    );
}

#[test]
fn decodes_the_wire_shapes_ovsdb_server_sends() {
    let row = parse(json!({
        "name": "ls1",
        "description": "",
        "tunnel_key": 5001,                       // one-element shorthand
        "replication_mode": ["set", []],
        "other_config": ["map", [["stitch-owner", "me"]]],
    }));
    let ls = LogicalSwitch::decode(Table::LogicalSwitch, u(9), &row).unwrap();
    assert_eq!(ls.uuid, u(9));
    assert_eq!(ls.tunnel_key, Some(5001));
    assert_eq!(ls.replication_mode, None);
    assert_eq!(ls.other_config, stitch_model::VecMap::from([("stitch-owner".into(), "me".into())]));

    let port = parse(json!({
        "name": "p1",
        "vlan_bindings": ["map", [[0, ["uuid", u(1).to_string()]], [100, ["uuid", u(2).to_string()]]]],
    }));
    let p = PhysicalPort::decode(Table::PhysicalPort, u(3), &port).unwrap();
    assert_eq!(p.vlan_bindings, BTreeMap::from([(0, u(1)), (100, u(2))]));
    assert_eq!(p.description, "", "absent column reads as its default");
    assert!(p.acl_bindings.is_empty());
}

#[test]
fn wrong_values_are_errors_that_name_table_row_and_column() {
    let cases = [
        (Table::LogicalSwitch, json!({"tunnel_key": "5001"}), "tunnel_key", "expected an integer"),
        (Table::LogicalSwitch, json!({"tunnel_key": ["set", [1, 2]]}), "tunnel_key", "at most one element"),
        (Table::LogicalSwitch, json!({"replication_mode": "flood"}), "replication_mode", "unexpected value"),
        (Table::LogicalSwitch, json!({"other_config": ["set", ["x"]]}), "other_config", "expected a map"),
        (Table::LogicalSwitch, json!({"other_config": ["map", [["k", 1]]]}), "other_config", "string → string"),
    ];
    for (table, j, column, reason) in cases {
        let e = LogicalSwitch::decode(table, u(4), &parse(j.clone())).unwrap_err();
        assert_eq!((e.table, e.uuid, e.column), (table, u(4), column), "{j}");
        assert!(e.reason.contains(reason), "{j}: {e}");
        assert!(e.to_string().starts_with(&format!("Logical_Switch row {}: column {column}", u(4))), "{e}");
    }
    let e = PhysicalPort::decode(Table::PhysicalPort, u(1), &parse(json!({"vlan_bindings": ["map", [[5000, ["uuid", u(2).to_string()]]]]}))).unwrap_err();
    assert_eq!(e.column, "vlan_bindings");
    assert!(e.reason.contains("0..=4095"), "{e}");
    let e = UcastMac::decode(Table::UcastMacsRemote, u(1), &parse(json!({"locator": "not-a-uuid"}))).unwrap_err();
    assert_eq!((e.table, e.column), (Table::UcastMacsRemote, "locator"));
}

#[test]
fn encoding_uses_sets_for_optional_columns() {
    let ls = LogicalSwitch { name: "x".into(), ..Default::default() };
    let row = ls.encode();
    assert_eq!(row.get("tunnel_key"), Some(&Value::empty_set()));
    assert_eq!(row.get("replication_mode"), Some(&Value::empty_set()));
    let ls = LogicalSwitch { tunnel_key: Some(7), replication_mode: Some(ReplicationMode::ServiceNode), ..ls };
    let row = ls.encode();
    assert_eq!(row.get("tunnel_key"), Some(&Value::set([7i64])));
    assert_eq!(row.get("replication_mode"), Some(&Value::set([Atom::string("service_node")])));
    assert!(row.get("_uuid").is_none());
}
