//! Issue 7 through the Neutron router: security groups and their rules —
//! Neutron's envelopes, defaults and errors, refused requests that change
//! nothing, and the one-rule-set-per-(switch port, VLAN) rule at bind time.

use axum::http::StatusCode;
use serde_json::{Value, json};
use stitch_model::Kind;

use crate::Api;

impl Api {
    async fn group(&self, name: &str) -> Value {
        let (s, v) = self.call("POST", "/v2.0/security-groups", Some(json!({"security_group": {"name": name}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["security_group"].clone()
    }
    fn groups_dump(&self) -> String {
        format!("{:?}{}", self.state.catalog.snapshot().list_any(Kind::SecurityGroup), self.dump())
    }
}

fn err(v: &Value) -> &str {
    v["NeutronError"]["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn groups_start_with_egress_rules_and_rules_follow_neutron() {
    let api = Api::new().await;
    let (_, v) = api.call("GET", "/v2.0/extensions/security-group", None).await;
    assert_eq!(v["extension"]["alias"], "security-group");
    let g = api.group("web").await;
    let gid = g["id"].as_str().unwrap().to_string();
    let rules = g["security_group_rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{g}");
    let mut ethertypes: Vec<_> = rules.iter().map(|r| (r["direction"].as_str().unwrap(), r["ethertype"].as_str().unwrap())).collect();
    ethertypes.sort();
    assert_eq!(ethertypes, [("egress", "IPv4"), ("egress", "IPv6")]);
    assert!(rules.iter().all(|r| r["protocol"].is_null() && r["remote_ip_prefix"].is_null() && r["security_group_id"] == gid));

    let rule = json!({"security_group_rule": {"security_group_id": gid, "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": "22", "remote_ip_prefix": "10.1.2.3/16"}});
    let (s, v) = api.call("POST", "/v2.0/security-group-rules", Some(rule.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let r = &v["security_group_rule"];
    assert_eq!((r["ethertype"].as_str(), r["port_range_max"].as_i64()), (Some("IPv4"), Some(22)));
    assert_eq!(r["normalized_cidr"], "10.1.0.0/16");
    let rid = r["id"].as_str().unwrap().to_string();
    // The same rule again is Neutron's 409.
    let (s, v) = api.call("POST", "/v2.0/security-group-rules", Some(rule)).await;
    assert_eq!((s, err(&v)), (StatusCode::CONFLICT, "SecurityGroupRuleExists"));
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains(&rid));
    // Listed, filtered, shown; the group shows it.
    let (_, v) = api.call("GET", &format!("/v2.0/security-group-rules?security_group_id={gid}&direction=ingress"), None).await;
    assert_eq!(v["security_group_rules"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) = api.call("GET", &format!("/v2.0/security-group-rules/{rid}"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = api.call("GET", &format!("/v2.0/security-groups/{gid}?fields=security_group_rules"), None).await;
    assert_eq!(v["security_group"]["security_group_rules"].as_array().unwrap().len(), 3);
    // Rename; list by name.
    let (s, _) = api.call("PUT", &format!("/v2.0/security-groups/{gid}"), Some(json!({"security_group": {"name": "www"}}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = api.call("GET", "/v2.0/security-groups?name=www", None).await;
    assert_eq!(v["security_groups"].as_array().unwrap().len(), 1);
    // Delete the rule, then the group.
    assert_eq!(api.call("DELETE", &format!("/v2.0/security-group-rules/{rid}"), None).await.0, StatusCode::NO_CONTENT);
    let (s, v) = api.call("GET", &format!("/v2.0/security-group-rules/{rid}"), None).await;
    assert_eq!((s, err(&v)), (StatusCode::NOT_FOUND, "SecurityGroupRuleNotFound"));
    assert_eq!(api.call("DELETE", &format!("/v2.0/security-groups/{gid}"), None).await.0, StatusCode::NO_CONTENT);
    let (s, v) = api.call("GET", &format!("/v2.0/security-groups/{gid}"), None).await;
    assert_eq!((s, err(&v)), (StatusCode::NOT_FOUND, "SecurityGroupNotFound"));
}

#[tokio::test]
async fn invalid_rules_are_400_and_change_nothing() {
    let api = Api::new().await;
    let gid = api.group("g").await["id"].as_str().unwrap().to_string();
    let before = api.groups_dump();
    let base = |extra: Value| {
        let mut r = json!({"security_group_id": gid, "direction": "ingress"});
        r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"security_group_rule": r})
    };
    for (bad, kind) in [
        (base(json!({"remote_ip_prefix": "10.0.0.0/33"})), "HTTPBadRequest"),
        (base(json!({"remote_ip_prefix": "not-a-cidr"})), "HTTPBadRequest"),
        (base(json!({"remote_ip_prefix": "::/0"})), "HTTPBadRequest"),
        (base(json!({"protocol": "tcpx"})), "SecurityGroupRuleInvalidProtocol"),
        (base(json!({"protocol": 256})), "SecurityGroupRuleInvalidProtocol"),
        (base(json!({"protocol": "tcp", "port_range_min": 80, "port_range_max": 22})), "SecurityGroupInvalidPortRange"),
        (base(json!({"protocol": "tcp", "port_range_min": 0})), "SecurityGroupInvalidPortRange"),
        (base(json!({"protocol": "udp", "port_range_min": 70000})), "SecurityGroupInvalidPortValue"),
        (base(json!({"port_range_min": 22})), "SecurityGroupInvalidPortRange"),
        (base(json!({"protocol": "icmp", "port_range_min": 300})), "SecurityGroupInvalidPortRange"),
        (base(json!({"direction": "sideways"})), "HTTPBadRequest"),
        (base(json!({"ethertype": "IPv5"})), "HTTPBadRequest"),
        (base(json!({"remote_group_id": gid})), "HTTPBadRequest"),
        (base(json!({"colour": "red"})), "HTTPBadRequest"),
        (json!({"security_group_rule": {"direction": "ingress"}}), "HTTPBadRequest"),
    ] {
        let (s, v) = api.call("POST", "/v2.0/security-group-rules", Some(bad.clone())).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, kind), "{bad} -> {v}");
    }
    let missing = json!({"security_group_rule": {"security_group_id": uuid::Uuid::new_v4(), "direction": "ingress"}});
    let (s, v) = api.call("POST", "/v2.0/security-group-rules", Some(missing)).await;
    assert_eq!((s, err(&v)), (StatusCode::NOT_FOUND, "SecurityGroupNotFound"));
    // A bulk request with one bad rule stores none.
    let good = base(json!({"protocol": "tcp", "port_range_min": 80}))["security_group_rule"].clone();
    let bad = base(json!({"protocol": "tcp", "port_range_min": 80}))["security_group_rule"].clone();
    let (s, v) = api.call("POST", "/v2.0/security-group-rules", Some(json!({"security_group_rules": [good, bad]}))).await;
    assert_eq!((s, err(&v)), (StatusCode::CONFLICT, "SecurityGroupRuleExists"), "{v}");
    assert_eq!(api.groups_dump(), before, "refused requests change nothing");
}

#[tokio::test]
async fn ports_name_existing_groups_and_one_port_vlan_has_one_set() {
    let api = Api::new().await;
    let net = api.network("n").await;
    let a = api.group("a").await["id"].as_str().unwrap().to_string();
    let b = api.group("b").await["id"].as_str().unwrap().to_string();
    let port = |mac: &str, groups: Vec<&str>| json!({"port": {"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct", "mac_address": mac, "security_groups": groups}});
    let before = api.groups_dump();
    let (s, v) = api.call("POST", "/v2.0/ports", Some(port("fa:16:3e:00:00:01", vec!["5ea5ea5e-0000-4000-8000-000000000000"]))).await;
    assert_eq!((s, err(&v)), (StatusCode::NOT_FOUND, "SecurityGroupNotFound"), "{v}");
    assert_eq!(api.groups_dump(), before);
    let (s, v) = api.call("POST", "/v2.0/ports", Some(port("fa:16:3e:00:00:01", vec![&a]))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["port"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["port"]["security_groups"], json!([a]));
    // A second VF of the same network behind the same PF: same VLAN binding.
    let before = api.groups_dump();
    let (s, v) = api.call("POST", "/v2.0/ports", Some(port("fa:16:3e:00:00:02", vec![&b]))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let msg = v["NeutronError"]["message"].as_str().unwrap();
    assert!(msg.contains(&first) && msg.contains("security groups differ"), "{msg}");
    assert_eq!(api.groups_dump(), before, "state unchanged");
    // The same set is fine; so is another host.
    let (s, v) = api.call("POST", "/v2.0/ports", Some(port("fa:16:3e:00:00:02", vec![&a]))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second = v["port"]["id"].as_str().unwrap().to_string();
    // Changing one of them alone is refused too.
    let (s, _) = api.call("PUT", &format!("/v2.0/ports/{second}"), Some(json!({"port": {"security_groups": [b]}}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // A group in use cannot go.
    let (s, v) = api.call("DELETE", &format!("/v2.0/security-groups/{a}"), None).await;
    assert_eq!((s, err(&v)), (StatusCode::CONFLICT, "SecurityGroupInUse"));
}
