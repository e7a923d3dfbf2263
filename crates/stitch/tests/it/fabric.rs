//! The heart, end to end: the real binary and three real ovsdb-servers as
//! leaves, driven over HTTP only (inventory through /v1, networks and ports
//! through the Neutron API), checked on the switches with `vtep-ctl`.

use reqwest::Method;
use serde_json::{Value, json};
use stitch_testkit::{VtepServer, lines};

use crate::Server;

const IPS: [&str; 3] = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];

pub(crate) async fn eventually_http<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let t = std::time::Instant::now();
    while !f().await {
        assert!(t.elapsed() < stitch_testkit::PATIENCE, "never happened: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Three real leaves (`swp1`, `swp2`, `swp3` each) and the real binary with
/// nodes n1 (leaf1 swp1), n2 (leaf2 swp1), n3 (leaf3 swp1), n4 (leaf1 swp2),
/// whose one NIC `ens1f0` is labelled `sriov` and `physnet1`.
pub(crate) struct Fabric {
    pub leaves: Vec<VtepServer>,
    pub server: Server,
    _dir: tempfile::TempDir,
    pub switch_ids: Vec<String>,
}

impl Fabric {
    pub async fn new() -> Fabric {
        let leaves: Vec<_> = (0..3).map(|i| VtepServer::start(&format!("leaf{}", i + 1), IPS[i], &["swp1", "swp2", "swp3"])).collect();
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::write(dir.path(), "stitch.toml", "[engine]\nresync_interval_secs = 1\nowner = \"e2e\"\n");
        let server = Server::start_with(dir.path(), &["--config", cfg.to_str().unwrap()]);
        let switches: Vec<Value> =
            leaves.iter().enumerate().map(|(i, l)| json!({"name": l.name, "fabric": "dc1", "ovsdb": l.target(), "tunnel_ip": IPS[i]})).collect();
        let node = |name: &str, sw: &str, port: &str| json!({"name": name, "node_profile": "sriov", "aliases": [format!("{name}.example")], "ports": [{"name": "ens1f0", "switch": sw, "switch_port": port}]});
        server
            .post(
                "/v1/apply",
                json!({
                    "fabrics": [{"name": "dc1", "vni_range": [7000, 7999], "vlan_range": [2900, 2999]}],
                    "switches": switches,
                    "hardware": [{"name": "r650"}],
                    "cards": [{"name": "x710", "hardware": ["r650"], "interface_map": [{"name": "ens1f0", "labels": ["sriov", "physnet1"]}]}],
                    "node_profiles": [{"name": "sriov", "hardware": ["r650"]}],
                    "nodes": [node("n1", "leaf1", "swp1"), node("n2", "leaf2", "swp1"), node("n3", "leaf3", "swp1"), node("n4", "leaf1", "swp2")],
                }),
            )
            .await;
        let sw = server.get("/v1/switches").await;
        let mut switch_ids = vec![String::new(); 3];
        for s in sw["switches"].as_array().unwrap() {
            let i = IPS.iter().position(|ip| s["tunnel_ip"] == *ip).unwrap();
            switch_ids[i] = s["id"].as_str().unwrap().to_string();
        }
        Fabric { leaves, server, _dir: dir, switch_ids }
    }

    pub async fn port(&self, net: &str, mac: &str, host: &str) -> Value {
        let (s, v) = self
            .server
            .http(Method::POST, "/v2.0/ports", Some(json!({"port": {"network_id": net, "mac_address": mac, "binding:host_id": host, "binding:vnic_type": "direct", "device_id": format!("vm-{mac}")}})))
            .await;
        assert_eq!(s, 201, "{v}");
        v["port"].clone()
    }

    pub async fn status(&self, port: &str) -> String {
        self.server.get(&format!("/v2.0/ports/{port}")).await["port"]["status"].as_str().unwrap().to_string()
    }

    pub async fn all_active(&self) -> bool {
        let v = self.server.get("/v2.0/ports?binding:vif_type=hw_veb").await;
        v["ports"].as_array().unwrap().iter().all(|p| p["status"] == "ACTIVE")
    }

    async fn switch(&self, i: usize, what: &str) -> Value {
        self.server.get(&format!("/v1/switches/{}/{what}", self.switch_ids[i])).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sriov_ports_bind_across_three_leaves_through_http_only() {
    let mut f = Fabric::new().await;
    let (s, net) = f.server.http(Method::POST, "/v2.0/networks", Some(json!({"network": {"name": "tenant-a"}}))).await;
    assert_eq!(s, 201, "{net}");
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    assert_eq!(net["network"]["provider:segmentation_id"], 7000);

    // The VLAN the compute host must tag the VF with is in the very response.
    let p1 = f.port(&net_id, "fa:16:3e:00:00:01", "n1").await;
    assert_eq!(p1["binding:vif_type"], "hw_veb");
    assert_eq!(p1["binding:vif_details"]["vlan"], "2900");
    let p2 = f.port(&net_id, "fa:16:3e:00:00:02", "n2.example").await;
    let p3 = f.port(&net_id, "fa:16:3e:00:00:03", "n3").await;
    let ids: Vec<String> = [&p1, &p2, &p3].iter().map(|p| p["id"].as_str().unwrap().to_string()).collect();
    eventually_http("ports ACTIVE", || f.all_active()).await;

    for (i, leaf) in f.leaves.iter().enumerate() {
        assert_eq!(lines(&leaf.ctl(&["list-ls"])), vec![net_id.clone()]);
        assert_eq!(leaf.ctl(&["get", "Logical_Switch", &net_id, "tunnel_key"]).trim(), "7000");
        assert_eq!(lines(&leaf.ctl(&["list-bindings", &leaf.name, "swp1"])), vec![format!("2900 {net_id}")]);
        let macs = leaf.ctl(&["list-remote-macs", &net_id]);
        for (j, ip) in IPS.iter().enumerate() {
            assert_eq!(macs.contains(&format!("fa:16:3e:00:00:0{} -> vxlan_over_ipv4/{ip}", j + 1)), i != j, "leaf{}:\n{macs}", i + 1);
            assert_eq!(macs.contains(&format!("unknown-dst -> vxlan_over_ipv4/{ip}")), i != j, "leaf{}:\n{macs}", i + 1);
        }
        let st = f.switch(i, "status").await;
        assert_eq!(st["in_sync"], true, "{st}");
        assert_eq!(f.switch(i, "plan").await["operations"], json!([]), "nothing pending once converged");
    }
    let groups = f.server.get(&format!("/v1/virtual-port-groups?network_id={net_id}")).await;
    assert_eq!(groups["virtual_port_groups"].as_array().unwrap().len(), 3);
    assert!(groups["virtual_port_groups"].as_array().unwrap().iter().all(|g| g["automatic"] == true && g["vlan"] == 2900 && g["in_sync"] == true));

    // A second reconcile after convergence sends zero operations.
    let before: Vec<u64> = futures_total(&f).await;
    let r0 = f.switch(0, "status").await["reconciles"].as_u64().unwrap();
    eventually_http("more reconcile passes", || async { f.switch(0, "status").await["reconciles"].as_u64().unwrap() >= r0 + 2 }).await;
    assert_eq!(futures_total(&f).await, before, "a converged switch gets zero operations");

    // Stop leaf3: a port bound there stays DOWN, one on leaf1 goes ACTIVE.
    f.leaves[2].stop();
    let p4 = f.port(&net_id, "fa:16:3e:00:00:04", "n4").await;
    let p5 = f.port(&net_id, "fa:16:3e:00:00:05", "n3").await; // leaf3 swp1 again, same VLAN group
    let (id4, id5) = (p4["id"].as_str().unwrap().to_string(), p5["id"].as_str().unwrap().to_string());
    eventually_http("p4 ACTIVE while leaf3 is down", || async { f.status(&id4).await == "ACTIVE" }).await;
    assert_eq!(f.status(&id5).await, "DOWN", "ACTIVE is withheld while a switch the port needs is stopped");
    // The controller learns of the lost connection when its session next
    // reads the socket: on a loaded machine, after the two ports above.
    eventually_http("leaf3 reported disconnected", || async { f.switch(2, "status").await["connected"] == false }).await;
    f.leaves[2].restart();
    eventually_http("p5 ACTIVE once leaf3 is back", || async { f.status(&id5).await == "ACTIVE" }).await;

    // Migration n1 (leaf1) -> n2 (leaf2): the new place is programmed, the old one cleaned.
    let (s, moved) = f.server.http(Method::PUT, &format!("/v2.0/ports/{}", ids[0]), Some(json!({"port": {"binding:host_id": "n2"}}))).await;
    assert_eq!(s, 200, "{moved}");
    eventually_http("migration converged", || f.all_active()).await;
    // The other leaves switch once the new place is confirmed everywhere.
    eventually_http("leaf3 follows", || async { f.leaves[2].ctl(&["list-remote-macs", &net_id]).contains("fa:16:3e:00:00:01 -> vxlan_over_ipv4/10.0.0.2") })
        .await;
    assert!(!f.leaves[1].ctl(&["list-remote-macs", &net_id]).contains("fa:16:3e:00:00:01"));
    // Make-before-break: the old place is released once the others switched.
    eventually_http("old binding released", || async { lines(&f.leaves[0].ctl(&["list-bindings", "leaf1", "swp1"])).is_empty() }).await;

    // A manual group (a static attachment) programs the switch too; a
    // clashing one is refused; automatic groups cannot be deleted by hand.
    let body = json!({"name": "static-1", "switch_id": f.switch_ids[0], "switch_ports": ["swp2"], "network_id": net_id, "vlan": 2950});
    let (s, g) = f.server.http(Method::POST, "/v1/virtual-port-groups", Some(body)).await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    eventually_http("static binding programmed", || async { f.leaves[0].ctl(&["list-bindings", "leaf1", "swp2"]).contains(&format!("2950 {net_id}")) }).await;
    let (s, other) = f.server.http(Method::POST, "/v2.0/networks", Some(json!({"network": {"name": "b"}}))).await;
    assert_eq!(s, 201);
    let clash = json!({"name": "static-2", "switch_id": f.switch_ids[0], "switch_ports": ["swp2"], "network_id": other["network"]["id"], "vlan": 2950});
    let (s, e) = f.server.http(Method::POST, "/v1/virtual-port-groups", Some(clash)).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")), "{e}");
    let auto = f.server.get(&format!("/v1/virtual-port-groups?automatic=true&network_id={net_id}")).await;
    let auto_id = auto["virtual_port_groups"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(f.server.http(Method::DELETE, &format!("/v1/virtual-port-groups/{auto_id}"), None).await.0, 409);
    assert_eq!(f.server.http(Method::DELETE, &format!("/v1/virtual-port-groups/{gid}"), None).await.0, 204);
    let other_id = other["network"]["id"].as_str().unwrap().to_string();
    assert_eq!(f.server.http(Method::DELETE, &format!("/v2.0/networks/{other_id}"), None).await.0, 204);
    eventually_http("static binding removed", || async { lines(&f.leaves[0].ctl(&["list-bindings", "leaf1", "swp2"])) == vec![format!("2900 {net_id}")] })
        .await;

    // Out-of-band deletion is repaired.
    f.leaves[1].ctl(&["unbind-ls", "leaf2", "swp1", "2900"]);
    eventually_http("binding repaired", || async { f.leaves[1].ctl(&["list-bindings", "leaf2", "swp1"]).contains(&format!("2900 {net_id}")) }).await;

    // Unbind, delete every port and the network: nothing left on any switch.
    let (s, _) = f.server.http(Method::PUT, &format!("/v2.0/ports/{}", ids[1]), Some(json!({"port": {"binding:host_id": ""}}))).await;
    assert_eq!(s, 200);
    for id in ids.iter().chain([&id4, &id5]) {
        let (s, v) = f.server.http(Method::DELETE, &format!("/v2.0/ports/{id}"), None).await;
        assert_eq!(s, 204, "{v}");
    }
    let (s, v) = f.server.http(Method::DELETE, &format!("/v2.0/networks/{net_id}"), None).await;
    assert_eq!(s, 204, "{v}");
    for (i, leaf) in f.leaves.iter().enumerate() {
        eventually_http("switch cleaned", || async { lines(&leaf.ctl(&["list-ls"])).is_empty() }).await;
        assert_eq!(lines(&leaf.ctl(&["list-bindings", &leaf.name, "swp1"])), Vec::<String>::new(), "leaf{}", i + 1);
        assert!(!leaf.ctl(&["list", "Ucast_Macs_Remote"]).contains("fa:16:3e"));
    }
    assert_eq!(f.server.get("/v1/virtual-port-groups").await["virtual_port_groups"], json!([]));
    let metrics = reqwest::get(format!("{}/metrics", f.server.url)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("stitch_reconcile_runs_total") && metrics.contains("stitch_reconcile_seconds") && metrics.contains("stitch_bound_ports 0"),
        "{metrics}"
    );
}

async fn futures_total(f: &Fabric) -> Vec<u64> {
    let mut v = Vec::new();
    for i in 0..3 {
        v.push(f.switch(i, "status").await["total_ops"].as_u64().unwrap());
    }
    v
}

/// Live migration as Nova drives it, through the binary: an inactive
/// binding programs the destination (standby) without moving the MAC;
/// activation moves it make-before-break; deleting the source's binding
/// cleans the source leaf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_migration_through_the_port_bindings_api() {
    let f = Fabric::new().await;
    let (_, net) = f.server.http(Method::POST, "/v2.0/networks", Some(json!({"network": {"name": "mig"}}))).await;
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    let vm = f.port(&net_id, "fa:16:3e:00:00:01", "n1").await;
    f.port(&net_id, "fa:16:3e:00:00:03", "n3").await;
    let id = vm["id"].as_str().unwrap().to_string();
    eventually_http("ports ACTIVE", || f.all_active()).await;
    let points = |leaf: usize, ip: &str| {
        let macs = f.leaves[leaf].ctl(&["list-remote-macs", &net_id]);
        macs.contains(&format!("fa:16:3e:00:00:01 -> vxlan_over_ipv4/{ip}"))
    };
    assert!(points(2, IPS[0]));

    // Nova's pre-live-migration: an inactive binding on the destination.
    let url = format!("/v2.0/ports/{id}/bindings");
    let (s, b) = f.server.http(Method::POST, &url, Some(json!({"binding": {"host": "n2", "vnic_type": "direct"}}))).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!((b["binding"]["status"].as_str(), b["binding"]["vif_details"]["vlan"].as_str()), (Some("INACTIVE"), Some("2900")));
    eventually_http("destination programmed", || async { lines(&f.leaves[1].ctl(&["list-bindings", "leaf2", "swp1"])) == vec![format!("2900 {net_id}")] })
        .await;
    eventually_http("in sync", || async { f.switch(1, "status").await["in_sync"] == true }).await;
    assert!(points(2, IPS[0]) && points(1, IPS[0]), "the MAC stays where the VM runs");

    // The VM runs on n2 now: activate; every leaf follows, the source keeps
    // the (now inactive) binding programmed until Nova deletes it.
    let (s, b) = f.server.http(Method::PUT, &format!("{url}/n2/activate"), None).await;
    assert_eq!((s, b["binding"]["status"].as_str()), (200, Some("ACTIVE")), "{b}");
    eventually_http("remote MACs moved", || async { points(2, IPS[1]) && points(0, IPS[1]) }).await;
    assert_eq!(lines(&f.leaves[0].ctl(&["list-bindings", "leaf1", "swp1"])), vec![format!("2900 {net_id}")]);
    let p = f.server.get(&format!("/v2.0/ports/{id}")).await;
    assert_eq!(p["port"]["binding:host_id"], "n2");
    eventually_http("port ACTIVE", || async { f.status(&id).await == "ACTIVE" }).await;

    // The source leaf still has the VM's MAC learned (it ages it out by
    // itself): it contradicts the binding, so it is not spread, and the
    // metrics say so.
    f.leaves[0].ctl(&["add-ucast-local", &net_id, "fa:16:3e:00:00:01", IPS[0]]);
    let url_metrics = format!("{}/metrics", f.server.url);
    eventually_http("contradiction reported", || async {
        let m = reqwest::get(&url_metrics).await.unwrap().text().await.unwrap();
        m.lines().any(|l| l.starts_with("stitch_learned_mac_contradictions{") && l.ends_with(" 1"))
    })
    .await;
    assert!(points(2, IPS[1]), "the stale learned MAC is not spread");
    f.leaves[0].ctl(&["del-ucast-local", &net_id, "fa:16:3e:00:00:01"]);

    // Nova's post-live-migration: the source binding goes, and with it leaf1.
    assert_eq!(f.server.http(Method::DELETE, &format!("{url}/n1"), None).await.0, 204);
    eventually_http("source cleaned", || async { lines(&f.leaves[0].ctl(&["list-ls"])).is_empty() }).await;
    assert!(points(2, IPS[1]));
    let (_, v) = f.server.http(Method::GET, &url, None).await;
    assert_eq!(v["bindings"].as_array().unwrap().len(), 1);
}
