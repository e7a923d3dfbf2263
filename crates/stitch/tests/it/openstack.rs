//! Real OpenStack clients, unchanged, against the real binary: the
//! `openstack` CLI (`--os-auth-type none --os-endpoint URL`) and
//! openstacksdk. They come from a Python virtualenv that `scripts/test`
//! provisions (`STITCH_OSC_VENV`, default `~/.cache/stitch/osc-venv`);
//! without it the tests fail under CI and are skipped, loudly, elsewhere.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::Server;

fn venv() -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let v = PathBuf::from(std::env::var("STITCH_OSC_VENV").unwrap_or_else(|_| format!("{home}/.cache/stitch/osc-venv")));
    if v.join("bin/openstack").exists() {
        return Some(v);
    }
    assert!(std::env::var("CI").is_err(), "{}: no openstack client venv (scripts/test provisions it)", v.display());
    eprintln!("SKIPPED: no openstack client venv at {} (run scripts/test once to provision it)", v.display());
    None
}

async fn server_with_inventory() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .post(
            "/v1/apply",
            json!({
                "fabrics": [{"name": "dc1", "vni_range": [9000, 9999], "vlan_range": [3000, 3099]}],
                "switches": [{"name": "leaf1", "fabric": "dc1", "ovsdb": format!("unix:{}/absent.sock", dir.path().display()), "tunnel_ip": "10.0.0.1"}],
                "hardware": [{"name": "hw"}],
                "cards": [{"name": "c", "hardware": ["hw"], "interface_map": [{"name": "ens1f0", "labels": ["sriov"]}]}],
                "node_profiles": [{"name": "p", "hardware": ["hw"]}],
                "nodes": [{"name": "compute1", "node_profile": "p", "ports": [{"name": "ens1f0", "switch": "leaf1", "switch_port": "swp1"}]}],
            }),
        )
        .await;
    (dir, server)
}

fn openstack(venv: &PathBuf, url: &str, args: &[&str]) -> (bool, String) {
    let out =
        Command::new(venv.join("bin/openstack")).args(["--os-auth-type", "none", "--os-endpoint", url]).args(args).env_remove("OS_CLOUD").output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn ok_json(venv: &PathBuf, url: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-f", "json"]);
    let (ok, out) = openstack(venv, url, &a);
    assert!(ok, "openstack {args:?}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_cli_creates_networks_and_binds_sriov_ports() {
    let Some(venv) = venv() else { return };
    let (_dir, server) = server_with_inventory().await;
    let url = server.url.clone();
    let net = ok_json(&venv, &url, &["network", "create", "net1"]);
    assert_eq!(net["provider:segmentation_id"], 9000);
    assert_eq!(net["provider:network_type"], "vxlan");
    let port = ok_json(&venv, &url, &["port", "create", "--network", "net1", "--vnic-type", "direct", "--host", "compute1", "vf1"]);
    assert_eq!(port["binding_vif_type"], "hw_veb");
    assert_eq!(port["binding_vif_details"]["vlan"], "3000");
    assert_eq!(port["binding_host_id"], "compute1");
    let failed = ok_json(&venv, &url, &["port", "create", "--network", "net1", "--vnic-type", "direct", "--host", "nowhere", "vf2"]);
    assert_eq!(failed["binding_vif_type"], "binding_failed");
    let listed = ok_json(&venv, &url, &["port", "list", "--host", "compute1"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["Name"], "vf1");
    let (ok, out) = openstack(&venv, &url, &["port", "unset", "--host", "vf1"]);
    assert!(ok, "{out}");
    assert_eq!(ok_json(&venv, &url, &["port", "show", "vf1"])["binding_vif_type"], "unbound");
    let (ok, out) = openstack(&venv, &url, &["network", "delete", "net1"]);
    assert!(!ok && out.contains("in use"), "a network with ports is refused: {out}");
    for p in ["vf1", "vf2"] {
        let (ok, out) = openstack(&venv, &url, &["port", "delete", p]);
        assert!(ok, "{out}");
    }
    let (ok, out) = openstack(&venv, &url, &["network", "delete", "net1"]);
    assert!(ok, "{out}");
    assert_eq!(ok_json(&venv, &url, &["network", "list"]), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstacksdk_bulk_filters_and_pagination() {
    let Some(venv) = venv() else { return };
    let (_dir, server) = server_with_inventory().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/openstack_sdk.py");
    let out = Command::new(venv.join("bin/python")).arg(script).arg(&server.url).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(text.trim().lines().last().unwrap_or("")).unwrap();
    assert_eq!(v["vni"], 9000);
    assert_eq!(v["bulk"].as_array().unwrap().len(), 7);
    assert!(v["bulk"].as_array().unwrap().iter().all(|b| b == &json!(["hw_veb", "3000"])), "{v}");
    assert_eq!(v["paged"], json!(["p0", "p1", "p2", "p3", "p4", "p5", "p6"]));
    assert_eq!(v["filtered"], json!(["p3"]));
    assert_eq!(v["by_host"], 7);
    assert_eq!(v["sorted_desc"], json!(["p6", "p5"]));
    assert_eq!(v["unbound"], "unbound");
    assert_eq!(v["missing_network"], "404");
    assert_eq!(v["left"], 0);
}

/// The trunk commands of the CLI (the networks and ports around them are
/// made over HTTP: each CLI run costs seconds of Python start-up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_cli_manages_trunks_and_subports() {
    let Some(venv) = venv() else { return };
    let (_dir, server) = server_with_inventory().await;
    let url = server.url.clone();
    let os = |args: &[&str]| ok_json(&venv, &url, args);
    let run = |args: &[&str]| {
        let (ok, out) = openstack(&venv, &url, args);
        assert!(ok, "openstack {args:?}: {out}");
    };
    let mut nets = Vec::new();
    for n in ["net1", "sub1", "sub2"] {
        nets.push(server.post("/v2.0/networks", json!({"network": {"name": n}})).await["network"]["id"].clone());
    }
    let parent = server
        .post("/v2.0/ports", json!({"port": {"network_id": nets[0], "name": "parent", "binding:vnic_type": "direct", "binding:host_id": "compute1"}}))
        .await;
    let parent = parent["port"]["id"].as_str().unwrap().to_string();
    let sp1 = server.post("/v2.0/ports", json!({"port": {"network_id": nets[1], "name": "sp1"}})).await["port"]["id"].as_str().unwrap().to_string();
    let sp2 = server.post("/v2.0/ports", json!({"port": {"network_id": nets[2], "name": "sp2"}})).await["port"]["id"].as_str().unwrap().to_string();
    let port = |id: &str| {
        let s = &server;
        let path = format!("/v2.0/ports/{id}");
        async move { s.get(&path).await["port"].clone() }
    };

    // Ports are given by name, as people do.
    let trunk = os(&["network", "trunk", "create", "--parent-port", "parent", "--subport", "port=sp1,segmentation-type=vlan,segmentation-id=101", "trunk1"]);
    assert_eq!(trunk["port_id"], parent.as_str(), "{trunk}");
    assert_eq!(trunk["sub_ports"], json!([{"port_id": sp1, "segmentation_type": "vlan", "segmentation_id": 101}]), "{trunk}");
    run(&["network", "trunk", "set", "--subport", "port=sp2,segmentation-type=vlan,segmentation-id=102", "trunk1"]);
    let subs = os(&["network", "subport", "list", "--trunk", "trunk1"]);
    let mut got: Vec<(String, u64)> =
        subs.as_array().unwrap().iter().map(|s| (s["Port"].as_str().unwrap().to_string(), s["Segmentation ID"].as_u64().unwrap())).collect();
    got.sort();
    let mut want = vec![(sp1.clone(), 101), (sp2.clone(), 102)];
    want.sort();
    assert_eq!(got, want, "{subs}");
    let shown = os(&["network", "trunk", "show", "trunk1"]);
    assert_eq!((shown["name"].as_str(), shown["sub_ports"].as_array().map(Vec::len)), (Some("trunk1"), Some(2)), "{shown}");
    // The parent's VF must allow its own VLAN and the subports'; subports follow the parent.
    assert_eq!(port(&parent).await["binding:vif_details"]["trunk_vlans"], json!([101, 102, 3000]));
    let s1 = port(&sp1).await;
    assert_eq!((s1["binding:host_id"].as_str(), s1["device_owner"].as_str()), (Some("compute1"), Some("trunk:subport")), "{s1}");
    // The parent port cannot go while the trunk exists.
    let (ok, out) = openstack(&venv, &url, &["port", "delete", "parent"]);
    assert!(!ok && out.contains("parent port for trunk"), "{out}");

    run(&["network", "trunk", "unset", "--subport", "sp2", "trunk1"]);
    let subs = os(&["network", "subport", "list", "--trunk", "trunk1"]);
    assert_eq!(subs, json!([{"Port": sp1, "Segmentation Type": "vlan", "Segmentation ID": 101}]));
    assert_eq!(port(&parent).await["binding:vif_details"]["trunk_vlans"], json!([101, 3000]));
    assert_eq!(port(&sp2).await["binding:host_id"], "", "a removed subport is unbound");

    run(&["network", "trunk", "delete", "trunk1"]);
    assert_eq!(os(&["network", "trunk", "list"]), json!([]));
    assert!(port(&parent).await["binding:vif_details"].get("trunk_vlans").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_cli_security_groups_and_qos() {
    let Some(venv) = venv() else { return };
    let (_dir, server) = server_with_inventory().await;
    let url = server.url.clone();
    let sg = ok_json(&venv, &url, &["security", "group", "create", "web"]);
    assert_eq!(sg["name"], "web");
    let rule = ok_json(&venv, &url, &["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--remote-ip", "10.0.0.0/8", "web"]);
    assert_eq!((rule["port_range_min"].clone(), rule["direction"].clone()), (json!(22), json!("ingress")), "{rule}");
    let (ok, out) = openstack(&venv, &url, &["security", "group", "rule", "create", "--protocol", "tcp", "--remote-group", "web", "web"]);
    assert!(!ok && out.contains("not supported by Stitch"), "a rule the switch cannot express is refused: {out}");
    let rules = ok_json(&venv, &url, &["security", "group", "rule", "list", "web"]);
    assert_eq!(rules.as_array().unwrap().len(), 3, "two egress defaults and ours: {rules}");
    ok_json(&venv, &url, &["network", "qos", "policy", "create", "silver"]);
    ok_json(&venv, &url, &["network", "qos", "rule", "create", "--type", "bandwidth-limit", "--max-kbps", "5000", "--max-burst-kbits", "500", "silver"]);
    ok_json(&venv, &url, &["network", "create", "net1"]);
    let port = ok_json(
        &venv,
        &url,
        &["port", "create", "--network", "net1", "--vnic-type", "direct", "--host", "compute1", "--security-group", "web", "--qos-policy", "silver", "vf1"],
    );
    assert_eq!(port["binding_vif_details"]["max_kbps"], 5000, "{port}");
    let (ok, out) = openstack(&venv, &url, &["security", "group", "delete", "web"]);
    assert!(!ok && out.contains("in use"), "a group in use is refused: {out}");
    let (ok, out) = openstack(&venv, &url, &["port", "delete", "vf1"]);
    assert!(ok, "{out}");
    let (ok, out) = openstack(&venv, &url, &["security", "group", "delete", "web"]);
    assert!(ok, "{out}");
}
