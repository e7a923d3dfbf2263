//! Every kind through HTTP on the real server.

use reqwest::Method;
use serde_json::json;

use crate::Server;

#[tokio::test]
async fn every_kind_crud_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    assert_eq!(srv.get("/healthz").await["status"], "ok");
    let fabric = srv.post("/v1/fabrics", json!({"name": "dc1"})).await;
    assert_eq!(fabric["vni_range"], json!([5000, 16777215]));
    let f = fabric["id"].as_str().unwrap().to_string();
    let sw = srv.post("/v1/switches", json!({"name": "leaf1", "fabric_id": f, "ovsdb": "passive", "tunnel_ip": "10.0.0.1"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sp = srv.post("/v1/switch-ports", json!({"name": "swp3", "switch_id": sw})).await["id"].as_str().unwrap().to_string();
    let hw = srv.post("/v1/hardware", json!({"name": "hw1"})).await["id"].as_str().unwrap().to_string();
    let card = srv.post("/v1/cards", json!({"name": "c1", "hardware_ids": [hw], "interface_map": [{"name": "ens1f0", "labels": ["sriov"]}]})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let np = srv.post("/v1/node-profiles", json!({"name": "p1", "hardware_ids": [hw]})).await["id"].as_str().unwrap().to_string();
    let node = srv.post("/v1/nodes", json!({"name": "n1", "node_profile_id": np, "ports": [{"name": "ens1f0", "switch_id": sw, "switch_port": "swp1"}]})).await
        ["id"]
        .as_str()
        .unwrap()
        .to_string();

    let ids = [
        ("fabrics", "fabrics", &f),
        ("switches", "switches", &sw),
        ("switch-ports", "switch_ports", &sp),
        ("hardware", "hardware", &hw),
        ("cards", "cards", &card),
        ("node-profiles", "node_profiles", &np),
        ("nodes", "nodes", &node),
    ];
    for (kind, key, id) in ids {
        let list = srv.get(&format!("/v1/{kind}")).await;
        assert!(list[key].as_array().unwrap().iter().any(|o| o["id"] == id.as_str()), "{kind}: {list}");
        let one = srv.get(&format!("/v1/{kind}/{id}")).await;
        assert_eq!(one["id"], id.as_str());
        let name = one["name"].as_str().unwrap().to_string();
        let filtered = srv.get(&format!("/v1/{kind}?name={name}")).await;
        assert!(filtered[key].as_array().unwrap().iter().all(|o| o["name"] == name.as_str()) && !filtered[key].as_array().unwrap().is_empty());
    }
    let ports = srv.get(&format!("/v1/switch-ports?switch_id={sw}")).await;
    let mut names: Vec<&str> = ports["switch_ports"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["swp1", "swp3"]);
    assert_eq!(srv.get(&format!("/v1/switches?fabric_id={f}")).await["switches"][0]["id"], sw.as_str());

    for (kind, id, patch, field) in [
        ("fabrics", &f, json!({"vlan_mode": "fabric_wide"}), "vlan_mode"),
        ("switches", &sw, json!({"tunnel_ip": "10.9.9.9"}), "tunnel_ip"),
        ("switch-ports", &sp, json!({"name": "swp4"}), "name"),
        ("hardware", &hw, json!({"model": "X"}), "model"),
        ("cards", &card, json!({"interface_map": []}), "interface_map"),
        ("node-profiles", &np, json!({"name": "p2"}), "name"),
        ("nodes", &node, json!({"ports": [{"name": "ens1f0", "switch_id": sw, "switch_port": "swp2"}]}), "ports"),
    ] {
        let (s, v) = srv.http(Method::PATCH, &format!("/v1/{kind}/{id}"), Some(patch.clone())).await;
        assert_eq!(s, 200, "{kind}: {v}");
        assert_eq!(v[field], patch[field]);
        assert_eq!(srv.get(&format!("/v1/{kind}/{id}")).await[field], patch[field]);
    }
    for (kind, _, id) in ids.iter().rev() {
        if *kind == "switch-ports" {
            continue; // goes with its switch
        }
        let (s, v) = srv.http(Method::DELETE, &format!("/v1/{kind}/{id}"), None).await;
        assert_eq!(s, 204, "{kind}: {v}");
        let (s, _) = srv.http(Method::GET, &format!("/v1/{kind}/{id}"), None).await;
        assert_eq!(s, 404);
    }
    assert_eq!(srv.get("/v1/switch-ports").await["switch_ports"], json!([]));
    srv.terminate();
}
