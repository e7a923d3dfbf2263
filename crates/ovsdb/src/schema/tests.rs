use super::*;
use crate::notation::Value;
use serde_json::json;

const VTEP: &str = include_str!("../../tests/data/vtep.ovsschema");

fn vtep() -> DatabaseSchema {
    VTEP.parse().unwrap()
}

#[test]
fn parses_the_vtep_schema() {
    let s = vtep();
    assert_eq!(s.name, "hardware_vtep");
    assert_eq!(s.version.as_deref(), Some("1.7.0"));
    assert_eq!(s.tables.len(), 18);
    let ps = s.table("Physical_Switch").unwrap();
    assert!(!ps.is_root, "Physical_Switch is not a root table in vtep");
    assert_eq!(ps.indexes, vec![vec!["name".to_owned()]]);
    let ports = &ps.columns["ports"].type_;
    assert_eq!(ports.key.ref_table.as_deref(), Some("Physical_Port"));
    assert_eq!(ports.key.ref_type, RefType::Strong);
    assert_eq!((ports.min, ports.max), (0, None));
    assert!(ports.is_set());
    assert!(ps.columns["switch_fault_status"].ephemeral);
    let ls = s.table("Logical_Switch").unwrap();
    assert!(ls.is_root);
    let rm = &ls.columns["replication_mode"].type_;
    assert_eq!(rm.key.enum_.as_ref().unwrap().iter().filter_map(|a| a.as_str()).collect::<Vec<_>>(), ["service_node", "source_node"]);
    assert!(ls.columns["other_config"].type_.is_map());
    assert!(ls.columns["name"].type_.is_scalar());
    assert_eq!(ls.column_type("_uuid"), Some(&ColumnType::scalar(AtomicType::Uuid)));
}

#[test]
fn type_checks_and_normalizes() {
    let s = vtep();
    let ls = s.table("Logical_Switch").unwrap();
    let tk = ls.column_type("tunnel_key").unwrap();
    assert_eq!(tk.check(&Value::integer(5)).unwrap(), Value::set([5i64]));
    assert_eq!(tk.check(&Value::empty_set()).unwrap(), Value::empty_set());
    assert!(tk.check(&Value::set([1i64, 2])).is_err(), "max 1");
    assert!(tk.check(&Value::string("x")).is_err(), "wrong type");
    let name = ls.column_type("name").unwrap();
    assert_eq!(name.check(&Value::set(["a"])).unwrap(), Value::string("a"));
    assert!(name.check(&Value::empty_set()).is_err(), "min 1");
    let rm = ls.column_type("replication_mode").unwrap();
    assert!(rm.check(&Value::string("source_node")).is_ok());
    assert!(rm.check(&Value::string("flood")).is_err(), "enum");
    let oc = ls.column_type("other_config").unwrap();
    assert!(oc.check(&Value::map([("a", "b")])).is_ok());
    assert_eq!(oc.check(&Value::empty_set()).unwrap(), Value::map::<&str, &str>([]));
    assert!(oc.check(&Value::set(["a"])).is_err());
    assert!(oc.check(&Value::map([("a", 1i64)])).is_err());
    let row = crate::notation::Row::new().with("name", "x").with("bogus", 1i64);
    assert!(matches!(ls.check_row(&row), Err(SchemaError::UnknownColumn { .. })));
}

#[test]
fn constraints_are_enforced() {
    let t = parse::column_type(&json!({"key": {"type": "integer", "minInteger": 1, "maxInteger": 4094}, "min": 0, "max": "unlimited"}), "t").unwrap();
    assert!(t.check(&Value::set([1i64, 4094])).is_ok());
    assert!(t.check(&Value::integer(0)).is_err());
    assert!(t.check(&Value::integer(4095)).is_err());
    let t = parse::column_type(&json!({"key": {"type": "string", "minLength": 2, "maxLength": 3}}), "t").unwrap();
    assert!(t.check(&Value::string("éé")).is_ok(), "length counts characters");
    assert!(t.check(&Value::string("a")).is_err());
    assert!(t.check(&Value::string("abcd")).is_err());
    let t = parse::column_type(&json!({"key": {"type": "real", "minReal": 0.5}}), "t").unwrap();
    assert_eq!(t.check(&Value::integer(2)).unwrap(), Value::real(2.0));
    assert!(t.check(&Value::real(0.25)).is_err());
    let t = parse::column_type(&json!("uuid"), "t").unwrap();
    assert!(t.check(&Value::named_uuid("x")).is_ok());
    let t = parse::column_type(&json!({"key": "string", "min": 2, "max": 5}), "t");
    assert!(t.is_err(), "min must be 0 or 1");
}

#[test]
fn rejects_malformed_schemas() {
    let good = json!({"name": "db", "tables": {"T": {"columns": {"c": {"type": "string"}}}}});
    let d = DatabaseSchema::from_json(&good).unwrap();
    assert!(d.tables["T"].is_root, "no isRoot anywhere: all tables are roots");
    for bad in [
        json!([]),
        json!({"tables": {}}),
        json!({"name": "db"}),
        json!({"name": "db", "tables": {"T": {}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"c": {}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"c": {"type": "str"}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"_c": {"type": "string"}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"c": {"type": {"key": "string", "max": 0}}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"c": {"type": {"key": {"type": "uuid", "refTable": "U"}}}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"c": {"type": {"key": {"type": "uuid", "refType": "soft"}}}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {"c": {"type": {"key": {"type": "string", "enum": ["set", [1]]}}}}}}}),
        json!({"name": "db", "tables": {"T": {"columns": {}, "indexes": [["nope"]]}}}),
        json!({"name": "db", "tables": {"T": {"columns": {}, "maxRows": -1}}}),
    ] {
        assert!(DatabaseSchema::from_json(&bad).is_err(), "accepted {bad}");
    }
}
