use super::*;
use proptest::prelude::*;
use serde_json::json;

const U: &str = "36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1";

#[test]
fn parses_every_atom_kind() {
    assert_eq!(Value::from_json(&json!(42)).unwrap(), Value::integer(42));
    assert_eq!(Value::from_json(&json!(-1.5)).unwrap(), Value::real(-1.5));
    assert_eq!(Value::from_json(&json!(true)).unwrap(), Value::boolean(true));
    assert_eq!(Value::from_json(&json!("s")).unwrap(), Value::string("s"));
    assert_eq!(Value::from_json(&json!(["uuid", U])).unwrap(), Value::uuid(U.parse().unwrap()));
    assert_eq!(Value::from_json(&json!(["named-uuid", "row_1"])).unwrap(), Value::named_uuid("row_1"));
}

#[test]
fn parses_sets_and_maps() {
    let v = Value::from_json(&json!(["set", [3, 1, 2]])).unwrap();
    assert_eq!(v, Value::set([1i64, 2, 3]));
    assert_eq!(v.to_json(), json!(["set", [1, 2, 3]]));
    let v = Value::from_json(&json!(["set", []])).unwrap();
    assert!(v.is_empty());
    let v = Value::from_json(&json!(["map", [["b", 2], ["a", ["uuid", U]]]])).unwrap();
    let m = v.as_map().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[&Atom::string("b")], Atom::Integer(2));
    assert_eq!(v.to_json(), json!(["map", [["a", ["uuid", U]], ["b", 2]]]));
    // A string "set" is just a string; a two-element array that is not a
    // tagged form is invalid.
    assert_eq!(Value::from_json(&json!("set")).unwrap(), Value::string("set"));
    assert!(Value::from_json(&json!(["set", "x", "y"])).is_err());
}

#[test]
fn single_element_shorthand() {
    let short = Value::from_json(&json!("x")).unwrap();
    let long = Value::from_json(&json!(["set", ["x"]])).unwrap();
    assert_ne!(short, long, "schema-free parse keeps the written form");
    assert_eq!(short.as_set(), long.as_set());
    assert_eq!(long.as_str(), Some("x"));
}

#[test]
fn rejects_hostile_notation() {
    let cases = [
        json!(null),
        json!({}),
        json!(["uuid", "not-a-uuid"]),
        json!(["uuid", "36bd5ca40ab44b3d9dfbb5b2a1e6c6a1"]),
        json!(["uuid", "{36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a}"]),
        json!(["uuid", 7]),
        json!(["named-uuid", "1abc"]),
        json!(["named-uuid", "a-b"]),
        json!(["named-uuid", ""]),
        json!(["set", [1, 1]]),
        json!(["set", {"a": 1}]),
        json!(["set", [["set", []]]]),
        json!(["map", [[1, 2, 3]]]),
        json!(["map", [[1, 2], [1, 3]]]),
        json!(["map", [1]]),
        json!(["map", {}]),
        json!(["weird", []]),
        json!(18446744073709551615u64),
        json!([]),
    ];
    for c in cases {
        assert!(Value::from_json(&c).is_err(), "accepted {c}");
    }
    assert!(matches!(Value::from_json(&json!(["set", ["a", "a"]])), Err(NotationError::Duplicate(_))));
    assert!(matches!(Value::from_json(&json!(9223372036854775808u64)), Err(NotationError::IntegerOutOfRange(_))));
}

#[test]
fn rows_round_trip() {
    let j = json!({"name": "ls0", "tunnel_key": ["set", [5000]], "other": ["map", [["k", "v"]]]});
    let row = Row::from_json(&j).unwrap();
    assert_eq!(row.get_str("name"), Some("ls0"));
    assert_eq!(row.get("tunnel_key").and_then(Value::as_i64), Some(5000));
    assert_eq!(row.to_json(), j);
    let back: Row = serde_json::from_value(serde_json::to_value(&row).unwrap()).unwrap();
    assert_eq!(back, row);
    assert!(Row::from_json(&json!([1])).is_err());
    assert!(Row::from_json(&json!({"a": {"b": 1}})).is_err());
}

#[test]
fn serde_goes_both_ways() {
    let v: Value = serde_json::from_str(r#"["map",[["a",1]]]"#).unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap(), r#"["map",[["a",1]]]"#);
    let e = serde_json::from_str::<Value>(r#"["uuid","zz"]"#).unwrap_err();
    assert!(e.to_string().contains("invalid UUID"), "{e}");
}

#[test]
fn atoms_are_totally_ordered() {
    let mut v = [Atom::Real(f64::NAN), Atom::Real(1.0), Atom::Integer(2), Atom::string("a")];
    v.sort();
    assert_eq!(v[0], Atom::Integer(2));
    assert_eq!(Atom::Real(f64::NAN), Atom::Real(f64::NAN));
}

fn arb_atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        any::<i64>().prop_map(Atom::Integer),
        (-1e12f64..1e12).prop_map(Atom::Real),
        any::<bool>().prop_map(Atom::Boolean),
        ".{0,12}".prop_map(Atom::String),
        any::<u128>().prop_map(|u| Atom::Uuid(Uuid::from_u128(u))),
        "[a-z_][a-z0-9_]{0,8}".prop_map(Atom::NamedUuid),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_atom().prop_map(Value::Atom),
        proptest::collection::btree_set(arb_atom(), 0..6).prop_map(Value::Set),
        proptest::collection::btree_map(arb_atom(), arb_atom(), 0..6).prop_map(Value::Map),
    ]
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        prop_oneof![Just("set".to_owned()), Just("map".to_owned()), Just("uuid".to_owned()), Just("named-uuid".to_owned()), ".{0,8}".prop_map(String::from)]
            .prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::btree_map(".{0,4}", inner, 0..3).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn value_json_round_trip(v in arb_value()) {
        let j = v.to_json();
        prop_assert_eq!(Value::from_json(&j).unwrap(), v);
    }

    #[test]
    fn random_json_never_panics(j in arb_json()) {
        let _ = Value::from_json(&j);
        let _ = Row::from_json(&j);
        let _ = Atom::from_json(&j);
    }
}
