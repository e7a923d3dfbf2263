//! Every error class: status, code, field — and nothing stored.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::Api;

/// (method, uri, raw body, JSON body, status, code, field)
type Case<'a> = (Method, String, Option<&'a [u8]>, Option<serde_json::Value>, StatusCode, &'a str, Option<&'a str>);

#[tokio::test]
async fn every_error_class_changes_nothing() {
    let api = Api::new().await;
    let s = api.seed().await;
    let before = api.dump().await;
    let rev = api.catalog.snapshot().revision;
    let missing = "00000000-0000-4000-8000-000000000000";
    let sw = |extra: serde_json::Value| {
        let mut b = json!({"name": "leaf9", "fabric_id": s.fabric, "ovsdb": "passive", "tunnel_ip": "10.0.0.9"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let node_patch = format!("/v1/nodes/{}", s.node);
    let cases: Vec<Case> = vec![
        (Method::POST, "/v1/fabrics".into(), Some(b"{\"name\": \"x\",".as_slice()), None, StatusCode::BAD_REQUEST, "malformed_json", None),
        (Method::POST, "/v1/fabrics".into(), Some(b"[1]".as_slice()), None, StatusCode::BAD_REQUEST, "invalid_value", None),
        (Method::POST, "/v1/fabrics".into(), None, Some(json!({"name": "x", "colour": "red"})), StatusCode::BAD_REQUEST, "unknown_field", Some("colour")),
        (Method::POST, "/v1/fabrics".into(), None, Some(json!({"vlan_mode": "per_switch"})), StatusCode::BAD_REQUEST, "missing_field", Some("name")),
        (
            Method::POST,
            "/v1/fabrics".into(),
            None,
            Some(json!({"name": "x", "vlan_range": [0, 10]})),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("vlan_range[0]"),
        ),
        (
            Method::POST,
            "/v1/fabrics".into(),
            None,
            Some(json!({"name": "x", "vlan_range": [10, 4095]})),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("vlan_range[1]"),
        ),
        (
            Method::POST,
            "/v1/fabrics".into(),
            None,
            Some(json!({"name": "x", "vni_range": [1, 16777216]})),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("vni_range[1]"),
        ),
        (
            Method::POST,
            "/v1/fabrics".into(),
            None,
            Some(json!({"name": "x", "vni_range": [0, 10]})),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("vni_range[0]"),
        ),
        (
            Method::POST,
            "/v1/fabrics".into(),
            None,
            Some(json!({"name": "x", "vlan_range": [300, 200]})),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("vlan_range"),
        ),
        (Method::POST, "/v1/fabrics".into(), None, Some(json!({"name": ""})), StatusCode::BAD_REQUEST, "invalid_value", Some("name")),
        (Method::POST, "/v1/fabrics".into(), None, Some(json!({"name": "x", "id": missing})), StatusCode::BAD_REQUEST, "read_only_field", Some("id")),
        (Method::POST, "/v1/switches".into(), None, Some(sw(json!({"tunnel_ip": "10.0.0.300"}))), StatusCode::BAD_REQUEST, "invalid_value", Some("tunnel_ip")),
        (
            Method::POST,
            "/v1/switches".into(),
            None,
            Some(sw(json!({"chassis_mac": "fa:16:3e:00:00"}))),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("chassis_mac"),
        ),
        (Method::POST, "/v1/switches".into(), None, Some(sw(json!({"fabric_id": "not-a-uuid"}))), StatusCode::BAD_REQUEST, "invalid_value", Some("fabric_id")),
        (Method::POST, "/v1/switches".into(), None, Some(sw(json!({"ovsdb": "http:1.2.3.4:80"}))), StatusCode::BAD_REQUEST, "invalid_value", Some("ovsdb")),
        (
            Method::POST,
            "/v1/switches".into(),
            None,
            Some(sw(json!({"fabric_id": missing}))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_reference",
            Some("fabric_id"),
        ),
        (
            Method::POST,
            "/v1/switches".into(),
            None,
            Some(sw(json!({"vlan_range": [3001, 3005]}))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            Some("vlan_range"),
        ),
        (Method::POST, "/v1/switches".into(), None, Some(sw(json!({"name": "leaf1"}))), StatusCode::CONFLICT, "duplicate_name", Some("name")),
        (
            Method::POST,
            "/v1/nodes".into(),
            None,
            Some(json!({"name": "n2", "ports": [{"name": "e0", "switch_id": s.switch, "switch_port": "swp1"}]})),
            StatusCode::CONFLICT,
            "conflict",
            Some("ports[0].switch_port"),
        ),
        (
            Method::POST,
            "/v1/nodes".into(),
            None,
            Some(json!({"name": "n2", "ports": [{"name": "e0", "switch_id": missing, "switch_port": "swp1"}]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_reference",
            Some("ports[0].switch_id"),
        ),
        (
            Method::POST,
            "/v1/nodes".into(),
            None,
            Some(json!({"name": "n2", "ports": [{"name": "e0", "mac": "zz", "switch_id": s.switch, "switch_port": "swp2"}]})),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("ports[0].mac"),
        ),
        (
            Method::POST,
            "/v1/cards".into(),
            None,
            Some(json!({"name": "c9", "hardware_ids": [missing]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_reference",
            Some("hardware_ids[0]"),
        ),
        (
            Method::PATCH,
            node_patch.clone(),
            None,
            Some(json!({"created_at": "2020-01-01T00:00:00Z"})),
            StatusCode::BAD_REQUEST,
            "read_only_field",
            Some("created_at"),
        ),
        (
            Method::PATCH,
            node_patch.clone(),
            None,
            Some(json!({"updated_at": "2020-01-01T00:00:00Z"})),
            StatusCode::BAD_REQUEST,
            "read_only_field",
            Some("updated_at"),
        ),
        (Method::PATCH, node_patch.clone(), None, Some(json!({"id": missing})), StatusCode::BAD_REQUEST, "read_only_field", Some("id")),
        (
            Method::PATCH,
            node_patch.clone(),
            None,
            Some(json!({"node_profile_id": missing})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_reference",
            Some("node_profile_id"),
        ),
        (Method::PATCH, node_patch.clone(), None, Some(json!({"bogus": 1})), StatusCode::BAD_REQUEST, "unknown_field", Some("bogus")),
        (Method::PATCH, node_patch.clone(), None, Some(json!({"aliases": ["n1"]})), StatusCode::BAD_REQUEST, "invalid_value", Some("aliases[0]")),
        (Method::PATCH, format!("/v1/nodes/{missing}"), None, Some(json!({})), StatusCode::NOT_FOUND, "not_found", None),
        (Method::GET, format!("/v1/nodes/{missing}"), None, None, StatusCode::NOT_FOUND, "not_found", None),
        (Method::GET, "/v1/nodes/not-a-uuid".into(), None, None, StatusCode::BAD_REQUEST, "invalid_value", Some("id")),
        (Method::GET, "/v1/nodes?colour=red".into(), None, None, StatusCode::BAD_REQUEST, "unknown_field", Some("colour")),
        (Method::GET, "/v1/switch-ports?switch_id=xyz".into(), None, None, StatusCode::BAD_REQUEST, "invalid_value", Some("switch_id")),
        (Method::GET, format!("/v1/nodes/{}/resolve", s.node), None, None, StatusCode::BAD_REQUEST, "missing_field", Some("label")),
        (Method::DELETE, format!("/v1/fabrics/{}", s.fabric), None, None, StatusCode::CONFLICT, "still_referenced", None),
        (Method::DELETE, format!("/v1/hardware/{}", s.hardware), None, None, StatusCode::CONFLICT, "still_referenced", None),
        (Method::DELETE, format!("/v1/switches/{}", s.switch), None, None, StatusCode::CONFLICT, "still_referenced", None),
        (Method::DELETE, format!("/v1/fabrics/{missing}"), None, None, StatusCode::NOT_FOUND, "not_found", None),
        (Method::GET, "/v1/nothing".into(), None, None, StatusCode::NOT_FOUND, "not_found", None),
        (Method::PUT, "/v1/nodes".into(), None, None, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None),
    ];
    for (method, uri, raw, body, status, code, field) in cases {
        let what = format!("{method} {uri} {body:?}");
        let (st, v) = match raw {
            Some(r) => api.raw(method, &uri, Some(r)).await,
            None => api.call(method, &uri, body).await,
        };
        assert_eq!(st, status, "{what}: {v}");
        assert_eq!(v["error"]["code"], code, "{what}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{what}: {v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty(), "{what}: {v}");
    }
    // Deleting a referenced object names who references it.
    let (_, v) = api.call(Method::DELETE, &format!("/v1/fabrics/{}", s.fabric), None).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("leaf1"), "{v}");
    let (_, v) = api.call(Method::POST, "/v1/switches", Some(sw(json!({"fabric_id": missing})))).await;
    assert!(v["error"]["message"].as_str().unwrap().contains(missing), "{v}");

    assert_eq!(api.dump().await, before, "an error changed stored state");
    assert_eq!(api.catalog.snapshot().revision, rev, "an error wrote to the store");
}
