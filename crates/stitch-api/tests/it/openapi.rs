//! The committed OpenAPI document matches the generated one
//! (`UPDATE_OPENAPI=1` rewrites it), and the schemas match the real JSON.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::Api;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/stitch.json")
}

#[test]
fn committed_document_is_current() {
    let generated = stitch_api::openapi::document_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "openapi/stitch.json is stale: run `UPDATE_OPENAPI=1 cargo test -p stitch-api` and commit the result");
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let api = Api::new().await;
    let (st, v) = api.get("/openapi.json").await;
    assert_eq!(st, axum::http::StatusCode::OK);
    let generated: Value = serde_json::from_str(&stitch_api::openapi::document_json()).unwrap();
    assert_eq!(v, generated);
    for p in ["/v1/fabrics", "/v1/switch-ports/{id}", "/v1/nodes/{id}/resolve", "/v1/apply", "/healthz"] {
        assert!(v["paths"].get(p).is_some(), "{p} undocumented");
    }
}

/// Every property the real objects serialize is in the schema and vice versa.
#[tokio::test]
async fn schemas_match_real_objects() {
    let api = Api::new().await;
    let s = api.seed().await;
    api.call(
        axum::http::Method::PATCH,
        &format!("/v1/switches/{}", s.switch),
        Some(json!({"management_ip": "10.1.0.1", "vlan_range": [10, 20], "chassis_mac": "fa:16:3e:00:00:01"})),
    )
    .await;
    api.call(
        axum::http::Method::PATCH,
        &format!("/v1/nodes/{}", s.node),
        Some(json!({"ports": [{"name": "ens1f0", "mac": "fa:16:3e:00:00:02", "switch_id": s.switch, "switch_port": "swp1"}]})),
    )
    .await;
    api.create("port-profiles", json!({"name": "vf-default", "allowed_frames": "tagged_only", "allowed_vlans": [10], "mtu": 9000})).await;
    let doc: Value = serde_json::from_str(&stitch_api::openapi::document_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let props = |name: &str| -> Vec<String> {
        let mut out: Vec<String> = schemas[name]["properties"].as_object().unwrap().keys().cloned().collect();
        out.sort();
        out
    };
    for (kind, key, spec) in [
        ("fabrics", "fabrics", "FabricSpec"),
        ("switches", "switches", "SwitchSpec"),
        ("switch-ports", "switch_ports", "SwitchPortSpec"),
        ("hardware", "hardware", "HardwareSpec"),
        ("cards", "cards", "CardSpec"),
        ("node-profiles", "node_profiles", "NodeProfileSpec"),
        ("nodes", "nodes", "NodeSpec"),
        ("port-profiles", "port_profiles", "PortProfileSpec"),
    ] {
        let obj = api.get(&format!("/v1/{kind}")).await.1[key][0].clone();
        let mut real: Vec<String> = obj.as_object().unwrap().keys().filter(|k| !["id", "created_at", "updated_at"].contains(&k.as_str())).cloned().collect();
        real.sort();
        assert_eq!(real, props(spec), "{spec} drifted from the real {kind} JSON {obj}");
    }
    let node = api.get(&format!("/v1/nodes/{}", s.node)).await.1;
    let mut real: Vec<String> = node["ports"][0].as_object().unwrap().keys().cloned().collect();
    real.sort();
    assert_eq!(real, props("NodePort"));
    assert_eq!(props("Meta"), vec!["created_at", "id", "updated_at"]);
}
