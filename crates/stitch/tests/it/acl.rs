//! Issue 7 end to end: the real binary and two real ovsdb-server leaves,
//! driven over HTTP only. A security group on an SR-IOV port appears as
//! ACL rows on its leaf (checked with `vtep-ctl`), a port profile and a
//! QoS policy reach `binding:vif_details`, and deleting the port removes
//! the ACL.

use reqwest::Method;
use serde_json::{Value, json};
use stitch_testkit::{VtepServer, lines};

use crate::Server;

async fn eventually_http<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let t = std::time::Instant::now();
    while !f().await {
        assert!(t.elapsed() < stitch_testkit::PATIENCE, "never happened: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn acl_names(leaf: &VtepServer) -> Vec<String> {
    lines(&leaf.ctl(&["--bare", "--columns=acl_name", "list", "ACL"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_groups_profiles_and_qos_through_the_binary() {
    let ips = ["10.0.0.1", "10.0.0.2"];
    let leaves: Vec<_> = (0..2).map(|i| VtepServer::start(&format!("leaf{}", i + 1), ips[i], &["swp1"])).collect();
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::write(dir.path(), "stitch.toml", "[engine]\nresync_interval_secs = 1\nowner = \"e2e\"\n");
    let server = Server::start_with(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let switches: Vec<Value> =
        leaves.iter().enumerate().map(|(i, l)| json!({"name": l.name, "fabric": "dc1", "ovsdb": l.target(), "tunnel_ip": ips[i]})).collect();
    server
        .post(
            "/v1/apply",
            json!({
                "fabrics": [{"name": "dc1", "vni_range": [7000, 7999], "vlan_range": [2900, 2999]}],
                "switches": switches,
                "hardware": [{"name": "r650"}],
                "cards": [{"name": "x710", "hardware": ["r650"], "interface_map": [{"name": "ens1f0", "labels": ["sriov"]}]}],
                "node_profiles": [{"name": "sriov", "hardware": ["r650"]}],
                "nodes": [
                    {"name": "n1", "node_profile": "sriov", "ports": [{"name": "ens1f0", "switch": "leaf1", "switch_port": "swp1"}]},
                    {"name": "n2", "node_profile": "sriov", "ports": [{"name": "ens1f0", "switch": "leaf2", "switch_port": "swp1"}]},
                ],
            }),
        )
        .await;
    let sg = server.post("/v2.0/security-groups", json!({"security_group": {"name": "ssh"}})).await["security_group"]["id"].as_str().unwrap().to_string();
    server
        .post("/v2.0/security-group-rules", json!({"security_group_rule": {"security_group_id": sg, "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "192.0.2.0/24"}}))
        .await;
    let pol = server.post("/v2.0/qos/policies", json!({"policy": {"name": "silver"}})).await["policy"]["id"].as_str().unwrap().to_string();
    server.post(&format!("/v2.0/qos/policies/{pol}/bandwidth_limit_rules"), json!({"bandwidth_limit_rule": {"max_kbps": 5000, "max_burst_kbps": 500}})).await;
    server.post("/v1/port-profiles", json!({"name": "jumbo", "mtu": 9000, "allowed_frames": "tagged_only", "qos_policy_id": pol})).await;
    let net = server.post("/v2.0/networks", json!({"network": {"name": "a"}})).await["network"]["id"].as_str().unwrap().to_string();
    let (s, v) = server
        .http(Method::POST, "/v2.0/ports", Some(json!({"port": {"network_id": net, "binding:host_id": "n1", "binding:vnic_type": "direct", "security_groups": [sg], "binding:profile": {"port_profile": "jumbo"}}})))
        .await;
    assert_eq!(s, 201, "{v}");
    let port = v["port"]["id"].as_str().unwrap().to_string();
    let d = &v["port"]["binding:vif_details"];
    assert_eq!((d["mtu"].clone(), d["max_kbps"].clone(), d["max_burst_kbps"].clone()), (json!(9000), json!(5000), json!(500)), "{v}");
    let vlan = d["vlan"].as_str().unwrap().to_string();

    // The ACL is on leaf1, bound on the port's VLAN; leaf2 has none.
    eventually_http("port ACTIVE", || async { server.get(&format!("/v2.0/ports/{port}")).await["port"]["status"] == "ACTIVE" }).await;
    let names = acl_names(&leaves[0]);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].trim_matches('"').starts_with("e2e/sg-"), "{names:?}");
    let bindings = leaves[0].ctl(&["--bare", "--columns=acl_bindings", "find", "Physical_Port", "name=swp1"]);
    assert!(bindings.trim().starts_with(&format!("{vlan}=")), "{bindings}");
    let ssh = leaves[0].ctl(&["--bare", "--columns=source_ip,source_mask,direction", "find", "ACL_entry", "protocol=6", "dest_port_min=22"]);
    assert_eq!(lines(&ssh), ["192.0.2.0", "255.255.255.0", "egress"]);
    assert_eq!(acl_names(&leaves[1]), Vec::<String>::new());
    // The dry-run plan of leaf1 is empty: converged, ACLs included.
    let sw = server.get("/v1/switches?name=leaf1").await["switches"][0]["id"].as_str().unwrap().to_string();
    eventually_http("leaf1 plan empty", || async { server.get(&format!("/v1/switches/{sw}/plan")).await["in_sync"] == true }).await;

    // The port goes: so does the ACL.
    assert_eq!(server.http(Method::DELETE, &format!("/v2.0/ports/{port}"), None).await.0, 204);
    eventually_http("ACL removed", || async { acl_names(&leaves[0]).is_empty() }).await;
    assert_eq!(lines(&leaves[0].ctl(&["--bare", "--columns=_uuid", "list", "ACL_entry"])), Vec::<String>::new());
}

#[test]
fn cli_port_profiles() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    srv.ok(&["port-profile", "create", "jumbo", "--allowed-frames", "tagged_only", "--allowed-vlan", "10", "--allowed-vlan", "20", "--mtu", "9000"]);
    let t = srv.ok(&["port-profile", "list"]);
    let row = t.lines().find(|l| l.contains("jumbo")).unwrap_or_else(|| panic!("{t}"));
    for cell in ["tagged_only", "10, 20", "9000"] {
        assert!(row.contains(cell), "{cell} missing from {row}");
    }
    let p = srv.json(&["port-profile", "update", "jumbo", "--mtu", "1600"]);
    assert_eq!((p["mtu"].clone(), p["allowed_vlans"].clone()), (json!(1600), json!([10, 20])));
    let out = srv.cli(&["port-profile", "create", "bad", "--allowed-frames", "some"]);
    assert!(!out.status.success(), "an unknown frame type is refused");
    srv.ok(&["port-profile", "delete", "jumbo"]);
    assert_eq!(srv.json(&["port-profile", "list"]), json!([]));
}
