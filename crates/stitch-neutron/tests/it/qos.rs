//! Issue 7 through the Neutron router: QoS policies with bandwidth-limit
//! rules, port and network `qos_policy_id`, and the rate limit in
//! `binding:vif_details`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Api;

fn err(v: &Value) -> &str {
    v["NeutronError"]["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn bandwidth_limits_reach_vif_details_and_follow_policy_changes() {
    let api = Api::new().await;
    let (_, v) = api.call("GET", "/v2.0/extensions/qos", None).await;
    assert_eq!(v["extension"]["alias"], "qos");
    let (_, v) = api.call("GET", "/v2.0/qos/rule-types", None).await;
    assert_eq!(v, json!({"rule_types": [{"type": "bandwidth_limit"}]}));
    let (s, v) = api.call("POST", "/v2.0/qos/policies", Some(json!({"policy": {"name": "gold"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v["policy"]["shared"].clone(), v["policy"]["rules"].clone()), (json!(false), json!([])));
    let pol = v["policy"]["id"].as_str().unwrap().to_string();
    let rules = format!("/v2.0/qos/policies/{pol}/bandwidth_limit_rules");
    let (s, v) = api.call("POST", &rules, Some(json!({"bandwidth_limit_rule": {"max_kbps": 10000, "max_burst_kbps": "1000"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rule = v["bandwidth_limit_rule"]["id"].as_str().unwrap().to_string();
    // One per policy (egress only).
    let (s, v) = api.call("POST", &rules, Some(json!({"bandwidth_limit_rule": {"max_kbps": 1}}))).await;
    assert_eq!((s, err(&v)), (StatusCode::CONFLICT, "QoSRulesConflict"));
    // What Stitch cannot do is refused, saying so.
    for bad in [
        json!({"bandwidth_limit_rule": {"max_kbps": -1}}),
        json!({"bandwidth_limit_rule": {"max_burst_kbps": 1}}),
        json!({"bandwidth_limit_rule": {"max_kbps": 1, "direction": "ingress"}}),
    ] {
        let (s, v) = api.call("POST", &rules, Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} -> {v}");
    }
    let (s, v) = api.call("POST", &format!("/v2.0/qos/policies/{pol}/dscp_marking_rules"), Some(json!({"dscp_marking_rule": {"dscp_mark": 26}}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains("dscp_marking is not supported"), "{v}");

    // Network default, port override.
    let (s, v) = api.call("POST", "/v2.0/networks", Some(json!({"network": {"name": "n", "qos_policy_id": pol}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let net = v["network"]["id"].as_str().unwrap().to_string();
    let (s, v) =
        api.call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let port = v["port"]["id"].as_str().unwrap().to_string();
    let d = &v["port"]["binding:vif_details"];
    assert_eq!((d["max_kbps"].clone(), d["max_burst_kbps"].clone()), (json!(10000), json!(1000)), "{d}");
    assert!(v["port"]["qos_policy_id"].is_null());
    // The rule changes: the bound port's details follow.
    let (s, _) = api.call("PUT", &format!("{rules}/{rule}"), Some(json!({"bandwidth_limit_rule": {"max_kbps": 20000}}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = api.call("GET", &format!("/v2.0/ports/{port}"), None).await;
    assert_eq!(v["port"]["binding:vif_details"]["max_kbps"], 20000);
    // A policy in use cannot go; an unknown one cannot be named.
    let (s, v) = api.call("DELETE", &format!("/v2.0/qos/policies/{pol}"), None).await;
    assert_eq!((s, err(&v)), (StatusCode::CONFLICT, "QosPolicyInUse"));
    let ghost = uuid::Uuid::new_v4();
    let (s, v) = api.call("PUT", &format!("/v2.0/ports/{port}"), Some(json!({"port": {"qos_policy_id": ghost}}))).await;
    assert_eq!((s, err(&v)), (StatusCode::NOT_FOUND, "QosPolicyNotFound"));
    // The network drops its policy: the port loses its limit.
    let (s, _) = api.call("PUT", &format!("/v2.0/networks/{net}"), Some(json!({"network": {"qos_policy_id": null}}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = api.call("GET", &format!("/v2.0/ports/{port}"), None).await;
    assert!(v["port"]["binding:vif_details"].get("max_kbps").is_none(), "{v}");
    // Deleting the rule and then the (now unused) policy works.
    assert_eq!(api.call("DELETE", &format!("{rules}/{rule}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", &format!("/v2.0/qos/policies/{pol}"), None).await.0, StatusCode::NO_CONTENT);
    let (s, v) = api.call("GET", &format!("/v2.0/qos/policies/{pol}"), None).await;
    assert_eq!((s, err(&v)), (StatusCode::NOT_FOUND, "QosPolicyNotFound"));
}
