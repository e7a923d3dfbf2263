use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::Api;

#[tokio::test]
async fn every_kind_create_list_filter_get_patch_delete() {
    let api = Api::new().await;
    let s = api.seed().await;

    // Lists use the plural with `_` as envelope key.
    let (st, v) = api.get("/v1/switch-ports").await;
    assert_eq!(st, StatusCode::OK);
    let ports = v["switch_ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1, "cabling created the switch port record: {v}");
    assert_eq!(ports[0]["name"], "swp1");
    assert_eq!(ports[0]["switch_id"], s.switch.as_str());
    for (kind, key) in
        [("fabrics", "fabrics"), ("switches", "switches"), ("hardware", "hardware"), ("cards", "cards"), ("node-profiles", "node_profiles"), ("nodes", "nodes")]
    {
        let (st, v) = api.get(&format!("/v1/{kind}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v[key].as_array().unwrap().len(), 1, "{kind}: {v}");
    }

    // Filters.
    assert_eq!(api.get("/v1/fabrics?name=dc1").await.1["fabrics"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/v1/fabrics?name=nope").await.1["fabrics"].as_array().unwrap().len(), 0);
    assert_eq!(api.get(&format!("/v1/switches?fabric_id={}", s.fabric)).await.1["switches"][0]["name"], "leaf1");
    assert_eq!(api.get(&format!("/v1/nodes?switch_id={}", s.switch)).await.1["nodes"][0]["name"], "n1");
    assert_eq!(api.get(&format!("/v1/cards?hardware_id={}", s.hardware)).await.1["cards"][0]["name"], "c1");
    assert_eq!(api.get("/v1/switches?role=spine").await.1["switches"].as_array().unwrap().len(), 0);
    let sp2 = api.create("switch-ports", json!({"name": "swp2", "switch_id": s.switch, "discovered": true})).await;
    let (_, v) = api.get(&format!("/v1/switch-ports?switch_id={}&discovered=true", s.switch)).await;
    assert_eq!(v["switch_ports"].as_array().unwrap().len(), 1);
    assert_eq!(v["switch_ports"][0]["id"], sp2.as_str());

    // Get returns the object itself.
    let (st, node) = api.get(&format!("/v1/nodes/{}", s.node)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(node["id"], s.node.as_str());
    assert_eq!(node["node_profile_id"], s.profile.as_str());
    assert!(node["created_at"].is_string() && node["updated_at"].is_string());

    // PATCH merges top-level fields; ports are editable; null resets.
    let (st, v) = api
        .call(
            Method::PATCH,
            &format!("/v1/nodes/{}", s.node),
            Some(json!({"aliases": ["ironic-1"], "ports": [{"name": "ens1f0", "switch_id": s.switch, "switch_port": "swp7"}]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["aliases"], json!(["ironic-1"]));
    assert_eq!(v["ports"][0]["switch_port"], "swp7");
    assert_eq!(v["name"], "n1", "untouched fields stay");
    assert_eq!(v["created_at"], node["created_at"]);
    assert_ne!(v["updated_at"], node["updated_at"]);
    let (_, v) = api.call(Method::PATCH, &format!("/v1/nodes/{}", s.node), Some(json!({"node_profile_id": null}))).await;
    assert!(v.get("node_profile_id").is_none(), "{v}");
    let (st, v) = api.call(Method::PATCH, &format!("/v1/switches/{}", s.switch), Some(json!({"role": "spine", "vlan_range": [100, 200]}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["vlan_range"], json!([100, 200]));
    for (kind, id, body, field, want) in [
        ("fabrics", &s.fabric, json!({"vlan_mode": "fabric_wide"}), "vlan_mode", json!("fabric_wide")),
        ("hardware", &s.hardware, json!({"model": "R750"}), "model", json!("R750")),
        ("cards", &s.card, json!({"name": "c2"}), "name", json!("c2")),
        ("node-profiles", &s.profile, json!({"hardware_ids": []}), "hardware_ids", json!([])),
        ("switch-ports", &sp2, json!({"discovered": false}), "discovered", json!(false)),
    ] {
        let (st, v) = api.call(Method::PATCH, &format!("/v1/{kind}/{id}"), Some(body)).await;
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v[field], want, "{kind}: {v}");
        assert_eq!(api.get(&format!("/v1/{kind}/{id}")).await.1[field], want);
    }

    // Resolve.
    api.call(Method::PATCH, &format!("/v1/nodes/{}", s.node), Some(json!({"node_profile_id": s.profile}))).await;
    api.call(Method::PATCH, &format!("/v1/node-profiles/{}", s.profile), Some(json!({"hardware_ids": [s.hardware]}))).await;
    let (st, v) = api.get(&format!("/v1/nodes/{}/resolve?label=sriov", s.node)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"links": [{"nic": "ens1f0", "switch_id": s.switch, "switch": "leaf1", "switch_port": "swp7"}]}));
    let (st, v) = api.get(&format!("/v1/nodes/{}/resolve?label=gpu", s.node)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["code"], "unresolved");
    assert!(v["error"]["message"].as_str().unwrap().contains("gpu"), "{v}");

    // Delete in dependency order; the switch takes its uncabled ports along.
    for (kind, id) in
        [("nodes", &s.node), ("cards", &s.card), ("node-profiles", &s.profile), ("hardware", &s.hardware), ("switches", &s.switch), ("fabrics", &s.fabric)]
    {
        let (st, v) = api.call(Method::DELETE, &format!("/v1/{kind}/{id}"), None).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{kind}: {v}");
        assert_eq!(api.get(&format!("/v1/{kind}/{id}")).await.0, StatusCode::NOT_FOUND);
    }
    let dump = api.dump().await;
    for (_, v) in dump.as_object().unwrap() {
        let list = v.as_object().unwrap().values().next().unwrap();
        assert_eq!(list.as_array().unwrap().len(), 0, "{dump}");
    }
}

#[tokio::test]
async fn healthz_and_switch_port_names_scoped_per_switch() {
    let api = Api::new().await;
    let s = api.seed().await;
    let (st, v) = api.get("/healthz").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert!(v["revision"].as_u64().unwrap() >= 6);
    let leaf2 = api.create("switches", json!({"name": "leaf2", "fabric_id": s.fabric, "ovsdb": "passive", "tunnel_ip": "10.0.0.2"})).await;
    // swp1 exists on leaf1; the same name on leaf2 is fine.
    api.create("switch-ports", json!({"name": "swp1", "switch_id": leaf2})).await;
    let (st, v) = api.call(Method::POST, "/v1/switch-ports", Some(json!({"name": "swp1", "switch_id": leaf2}))).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "duplicate_name");
}
