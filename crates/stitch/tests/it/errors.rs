//! Every error class against the real server; the full dump is unchanged after.

use reqwest::Method;
use serde_json::json;

use crate::{FABRIC_YAML, Server, write};

#[tokio::test]
async fn error_classes_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let f = write(tmp.path(), "fabric.yaml", FABRIC_YAML);
    srv.ok(&["apply", "-f", f.to_str().unwrap()]);
    srv.ok(&["node", "create", "n1", "--profile", "p1", "--port", "ens1f0=leaf1:swp1"]);
    let fabric = srv.get("/v1/fabrics?name=dc1").await["fabrics"][0]["id"].as_str().unwrap().to_string();
    let node = srv.get("/v1/nodes?name=n1").await["nodes"][0]["id"].as_str().unwrap().to_string();
    let leaf1 = srv.get("/v1/switches?name=leaf1").await["switches"][0]["id"].as_str().unwrap().to_string();
    let before = srv.dump().await;
    let missing = "00000000-0000-4000-8000-000000000001";
    let sw = |k: &str, v: serde_json::Value| {
        let mut b = json!({"name": "leaf9", "fabric_id": fabric, "ovsdb": "passive", "tunnel_ip": "10.0.0.9"});
        b[k] = v;
        b
    };
    let cases = [
        (Method::POST, "/v1/switches".to_string(), Some(sw("fabric_id", json!(missing))), 422, "missing_reference", Some("fabric_id")),
        (Method::DELETE, format!("/v1/fabrics/{fabric}"), None, 409, "still_referenced", None),
        (Method::POST, "/v1/switches".to_string(), Some(sw("name", json!("leaf1"))), 409, "duplicate_name", Some("name")),
        (Method::POST, "/v1/switches".to_string(), Some(sw("colour", json!(1))), 400, "unknown_field", Some("colour")),
        (Method::POST, "/v1/switches".to_string(), Some(sw("fabric_id", json!("xyz"))), 400, "invalid_value", Some("fabric_id")),
        (Method::POST, "/v1/switches".to_string(), Some(sw("tunnel_ip", json!("1.2.3"))), 400, "invalid_value", Some("tunnel_ip")),
        (Method::POST, "/v1/switches".to_string(), Some(sw("chassis_mac", json!("aa:bb"))), 400, "invalid_value", Some("chassis_mac")),
        (Method::POST, "/v1/switches".to_string(), Some(sw("vlan_range", json!([0, 100]))), 400, "invalid_value", Some("vlan_range[0]")),
        (Method::POST, "/v1/switches".to_string(), Some(sw("vlan_range", json!([200, 100]))), 400, "invalid_value", Some("vlan_range")),
        (Method::POST, "/v1/fabrics".to_string(), Some(json!({"name": "x", "vni_range": [1, 16777216]})), 400, "invalid_value", Some("vni_range[1]")),
        (
            Method::POST,
            "/v1/nodes".to_string(),
            Some(json!({"name": "n2", "ports": [{"name": "e", "switch_id": leaf1, "switch_port": "swp1"}]})),
            409,
            "conflict",
            Some("ports[0].switch_port"),
        ),
        (Method::PATCH, format!("/v1/nodes/{node}"), Some(json!({"id": missing})), 400, "read_only_field", Some("id")),
        (
            Method::PATCH,
            format!("/v1/nodes/{node}"),
            Some(json!({"ports": [{"name": "e", "switch_id": missing, "switch_port": "x"}]})),
            422,
            "missing_reference",
            Some("ports[0].switch_id"),
        ),
        (Method::GET, format!("/v1/nodes/{missing}"), None, 404, "not_found", None),
        (Method::GET, "/v1/nodes/123".to_string(), None, 400, "invalid_value", Some("id")),
        (Method::GET, format!("/v1/nodes/{node}/resolve?label=gpu"), None, 422, "unresolved", Some("label")),
        (Method::DELETE, "/v1/nodes".to_string(), None, 405, "method_not_allowed", None),
        (Method::GET, "/v2/whatever".to_string(), None, 404, "not_found", None),
    ];
    for (m, path, body, status, code, field) in cases {
        let (s, v) = srv.http(m.clone(), &path, body.clone()).await;
        assert_eq!(s, status, "{m} {path} {body:?}: {v}");
        assert_eq!(v["error"]["code"], code, "{m} {path}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{m} {path}: {v}");
    }
    // Malformed JSON, sent raw.
    let resp = reqwest::Client::new().post(format!("{}/v1/fabrics", srv.url)).body("{\"name\":").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed_json");

    // The CLI prints the message and field and exits non-zero.
    let out = srv.cli(&["switch", "create", "leaf9", "--fabric", "dc1", "--ovsdb", "passive", "--tunnel-ip", "10.0.0.300"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tunnel_ip") && err.contains("invalid"), "{err}");
    let out = srv.cli(&["fabric", "delete", "dc1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leaf1"), "names the referrer");
    let out = srv.cli(&["node", "show", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no node named \"nope\""));

    assert_eq!(srv.dump().await, before, "an error changed state");
}
