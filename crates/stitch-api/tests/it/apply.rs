//! `POST /v1/apply`: names, ordering, idempotence, all-or-nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Api;

fn doc() -> Value {
    json!({
        "fabrics": [{"name": "dc1", "vlan_range": [2, 3000]}],
        "switches": [
            {"name": "leaf1", "fabric": "dc1", "ovsdb": "unix:/run/l1.sock", "tunnel_ip": "10.0.0.1"},
            {"name": "leaf2", "fabric": "dc1", "ovsdb": "tcp:127.0.0.1:6640", "tunnel_ip": "10.0.0.2", "role": "spine"}
        ],
        "switch_ports": [{"switch": "leaf2", "name": "swp48", "discovered": true}],
        "hardware": [{"name": "hw1", "model": "R650"}],
        "cards": [{"name": "c1", "hardware": ["hw1"], "interface_map": [{"name": "ens1f0", "labels": ["sriov"]}]}],
        "node_profiles": [{"name": "p1", "hardware": ["hw1"]}],
        "nodes": [
            {"name": "n1", "node_profile": "p1", "aliases": ["i-1"], "ports": [{"name": "ens1f0", "switch": "leaf1", "switch_port": "swp1"}]},
            {"name": "n2", "node_profile": "p1", "ports": [{"name": "ens1f0", "switch": "leaf2", "switch_port": "swp1", "mac": "fa:16:3e:00:00:02"}]}
        ]
    })
}

#[tokio::test]
async fn creates_then_is_idempotent_then_updates() {
    let api = Api::new().await;
    let (st, r) = api.call(Method::POST, "/v1/apply", Some(doc())).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!((r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(9), Some(0), Some(0)), "{r}");
    assert_eq!(r["kinds"]["nodes"], json!({"created": 2, "updated": 0, "unchanged": 0}));
    let rev = r["revision"].as_u64().unwrap();
    assert_eq!(rev, api.catalog.snapshot().revision, "one transaction");

    let snap = api.catalog.snapshot();
    let leaf1 = snap.id_by_name(stitch_model::Kind::Switch, None, "leaf1").unwrap();
    let p1 = snap.id_by_name(stitch_model::Kind::NodeProfile, None, "p1").unwrap();
    let n1 = snap.nodes.by_name(None, "n1").unwrap();
    assert_eq!(n1.spec.node_profile_id, Some(p1));
    assert_eq!(n1.spec.ports[0].switch_id, leaf1);
    assert_eq!(api.get("/v1/switch-ports").await.1["switch_ports"].as_array().unwrap().len(), 3);

    let before = api.dump().await;
    let (st, r) = api.call(Method::POST, "/v1/apply", Some(doc())).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(0), Some(0), Some(9)), "{r}");
    assert_eq!(r["revision"].as_u64(), Some(rev), "nothing written");
    assert_eq!(api.dump().await, before);

    // Absent fields keep their value; given lists replace.
    let (st, r) = api
        .call(Method::POST, "/v1/apply", Some(json!({"nodes": [{"name": "n1", "ports": [{"name": "ens1f1", "switch": "leaf2", "switch_port": "swp9"}]}]})))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["updated"], 1);
    let n1 = api.catalog.snapshot().nodes.by_name(None, "n1").unwrap().clone();
    assert_eq!(n1.spec.aliases, vec!["i-1"]);
    assert_eq!(n1.spec.node_profile_id, Some(p1));
    assert_eq!(n1.spec.ports.len(), 1);
    assert_eq!(n1.spec.ports[0].switch_port, "swp9");
}

#[tokio::test]
async fn one_bad_item_changes_nothing_and_is_named() {
    let api = Api::new().await;
    api.call(Method::POST, "/v1/apply", Some(doc())).await;
    let before = api.dump().await;
    let rev = api.catalog.snapshot().revision;
    let mut bad_ref = doc();
    bad_ref["nodes"].as_array_mut().unwrap().push(json!({"name": "n3", "ports": [{"name": "e0", "switch": "leaf9", "switch_port": "swp1"}]}));
    let mut bad_mac = doc();
    bad_mac["nodes"][1]["ports"][0]["mac"] = json!("nope");
    let mut cabled_twice = doc();
    cabled_twice["nodes"].as_array_mut().unwrap().push(json!({"name": "n3", "ports": [{"name": "e0", "switch": "leaf1", "switch_port": "swp1"}]}));
    let mut dup = doc();
    dup["hardware"].as_array_mut().unwrap().push(json!({"name": "hw1"}));
    let mut new_switch_missing = doc();
    new_switch_missing["switches"].as_array_mut().unwrap().push(json!({"name": "leaf3", "fabric": "dc1", "tunnel_ip": "10.0.0.3"}));
    let mut bad_alias = doc();
    bad_alias["nodes"][0]["aliases"] = json!(["n1"]);
    let mut bad_range = doc();
    bad_range["switches"][1]["vlan_range"] = json!([3500, 3600]);
    for (body, status, code, field) in [
        (bad_ref, StatusCode::UNPROCESSABLE_ENTITY, "missing_reference", "nodes[2].ports[0].switch"),
        (bad_mac, StatusCode::BAD_REQUEST, "invalid_value", "nodes[1].ports[0].mac"),
        (cabled_twice, StatusCode::CONFLICT, "conflict", "nodes[2].ports[0].switch_port"),
        (dup, StatusCode::CONFLICT, "duplicate_name", "hardware[1].name"),
        (new_switch_missing, StatusCode::BAD_REQUEST, "missing_field", "switches[2].ovsdb"),
        (bad_alias, StatusCode::BAD_REQUEST, "invalid_value", "nodes[0].aliases[0]"),
        (bad_range, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", "switches[1].vlan_range"),
        (json!({"nodes": [{"name": "n1", "colour": 1}]}), StatusCode::BAD_REQUEST, "unknown_field", "nodes[0].colour"),
        (json!({"racks": []}), StatusCode::BAD_REQUEST, "unknown_field", "racks"),
    ] {
        let (st, v) = api.call(Method::POST, "/v1/apply", Some(body)).await;
        assert_eq!(st, status, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    assert_eq!(api.dump().await, before);
    assert_eq!(api.catalog.snapshot().revision, rev);
}
