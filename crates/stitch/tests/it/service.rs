//! Trunks, L2 gateway connections and multi-segment networks through the
//! real binary: Neutron requests over HTTP only, three real ovsdb-servers as
//! leaves, every switch row checked with `vtep-ctl`. Each change moves
//! exactly the binding it should; each refusal names its owner and leaves
//! the switches as they were.

use reqwest::Method;
use serde_json::{Value, json};
use stitch_testkit::lines;

use crate::fabric::{Fabric, eventually_http};

impl Fabric {
    /// `vtep-ctl list-bindings` of one switch port, sorted ("VVVV <network id>").
    fn bindings(&self, leaf: usize, port: &str) -> Vec<String> {
        let mut l = lines(&self.leaves[leaf].ctl(&["list-bindings", &self.leaves[leaf].name, port]));
        l.sort();
        l
    }

    async fn network(&self, name: &str) -> String {
        let (s, v) = self.server.http(Method::POST, "/v2.0/networks", Some(json!({"network": {"name": name}}))).await;
        assert_eq!(s, 201, "{v}");
        v["network"]["id"].as_str().unwrap().to_string()
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server.http(method, path, body).await
    }

    /// Wait until leaf `i`'s `port` holds exactly `want` (sorted).
    async fn converge_to(&self, i: usize, port: &str, want: &[String]) {
        let mut want = want.to_vec();
        want.sort();
        eventually_http(&format!("leaf{} {port} bindings {want:?}", i + 1), || async { self.bindings(i, port) == want }).await;
    }
}

fn b(vlan: u16, net: &str) -> String {
    format!("{vlan:04} {net}")
}

fn id(v: &Value, key: &str) -> String {
    v[key]["id"].as_str().unwrap_or_else(|| panic!("no {key}.id in {v}")).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_subports_move_exactly_their_binding() {
    let f = Fabric::new().await;
    let (a, bn, c, d, e) = (f.network("a").await, f.network("b").await, f.network("c").await, f.network("d").await, f.network("e").await);
    let parent = f.port(&a, "fa:16:3e:00:01:01", "n1").await;
    let parent_id = parent["id"].as_str().unwrap().to_string();
    assert_eq!(parent["binding:vif_details"]["vlan"], "2900");
    let sub = |net: String, mac: &'static str| {
        let f = &f;
        async move {
            let (s, v) = f.call(Method::POST, "/v2.0/ports", Some(json!({"port": {"network_id": net, "mac_address": mac}}))).await;
            assert_eq!(s, 201, "{v}");
            id(&v, "port")
        }
    };
    let (sb, sc, se) = (sub(bn.clone(), "fa:16:3e:00:01:02").await, sub(c.clone(), "fa:16:3e:00:01:03").await, sub(e.clone(), "fa:16:3e:00:01:05").await);

    let (s, t) = f
        .call(
            Method::POST,
            "/v2.0/trunks",
            Some(json!({"trunk": {"port_id": parent_id, "sub_ports": [{"port_id": sb, "segmentation_type": "vlan", "segmentation_id": 10}]}})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let tid = id(&t, "trunk");
    f.converge_to(0, "swp1", &[b(2900, &a), b(10, &bn)]).await;
    let p = f.server.get(&format!("/v2.0/ports/{parent_id}")).await;
    assert_eq!(p["port"]["binding:vif_details"]["trunk_vlans"], json!([10, 2900]), "{p}");
    assert_eq!(p["port"]["trunk_details"]["trunk_id"], tid.as_str());
    let sp = f.server.get(&format!("/v2.0/ports/{sb}")).await;
    assert_eq!((sp["port"]["device_owner"].as_str(), sp["port"]["binding:host_id"].as_str()), (Some("trunk:subport"), Some("n1")), "{sp}");
    // Where b has another port (n2, leaf2), the subport's MAC is a remote MAC behind leaf1.
    f.port(&bn, "fa:16:3e:00:01:12", "n2").await;
    eventually_http("b's subport MAC on leaf2", || async { f.leaves[1].ctl(&["list", "Ucast_Macs_Remote"]).contains("fa:16:3e:00:01:02") }).await;

    // add_subports: exactly one binding more, the others untouched.
    let (s, v) = f
        .call(
            Method::PUT,
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": sc, "segmentation_type": "vlan", "segmentation_id": 20}]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sub_ports"].as_array().unwrap().len(), 2, "{v}");
    f.converge_to(0, "swp1", &[b(2900, &a), b(10, &bn), b(20, &c)]).await;

    // A VF of network d on the same PF takes 2901; a subport at 2901 is
    // refused naming that port, and nothing changes on the switch.
    let vf = f.port(&d, "fa:16:3e:00:01:04", "n1").await;
    let vf_id = vf["id"].as_str().unwrap().to_string();
    assert_eq!(vf["binding:vif_details"]["vlan"], "2901");
    f.converge_to(0, "swp1", &[b(2900, &a), b(10, &bn), b(20, &c), b(2901, &d)]).await;
    let (s, v) = f
        .call(
            Method::PUT,
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": se, "segmentation_type": "vlan", "segmentation_id": 2901}]})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains(&format!("port {vf_id}")), "the owner is named: {v}");
    let (s, v) = f
        .call(
            Method::PUT,
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": se, "segmentation_type": "vlan", "segmentation_id": 10}]})),
        )
        .await;
    assert_eq!(s, 409, "VLAN 10 is already used in this trunk: {v}");
    assert_eq!(f.server.get(&format!("/v2.0/trunks/{tid}/get_subports")).await["sub_ports"].as_array().unwrap().len(), 2);
    // The parent cannot go while the trunk holds it.
    let (s, v) = f.call(Method::DELETE, &format!("/v2.0/ports/{parent_id}"), None).await;
    assert_eq!((s, v["NeutronError"]["type"].as_str()), (409, Some("PortInUseAsTrunkParent")), "{v}");
    // Let the switch settle, then check the refusals changed nothing.
    eventually_http("all ports ACTIVE", || f.all_active()).await;
    assert_eq!(f.bindings(0, "swp1"), {
        let mut w = vec![b(2900, &a), b(10, &bn), b(20, &c), b(2901, &d)];
        w.sort();
        w
    });

    // remove_subports: exactly b's binding goes, and b's logical switch with it.
    let (s, v) = f.call(Method::PUT, &format!("/v2.0/trunks/{tid}/remove_subports"), Some(json!({"sub_ports": [{"port_id": sb}]}))).await;
    assert_eq!(s, 200, "{v}");
    f.converge_to(0, "swp1", &[b(2900, &a), b(20, &c), b(2901, &d)]).await;
    eventually_http("b leaves leaf1", || async { !lines(&f.leaves[0].ctl(&["list-ls"])).contains(&bn) }).await;
    eventually_http("the removed subport's MAC is withdrawn from leaf2", || async {
        !f.leaves[1].ctl(&["list", "Ucast_Macs_Remote"]).contains("fa:16:3e:00:01:02")
    })
    .await;
    let sp = f.server.get(&format!("/v2.0/ports/{sb}")).await;
    assert_eq!((sp["port"]["binding:host_id"].as_str(), sp["port"]["device_owner"].as_str()), (Some(""), Some("")), "{sp}");
    let (s, _) = f.call(Method::PUT, &format!("/v2.0/trunks/{tid}/remove_subports"), Some(json!({"sub_ports": [{"port_id": sb}]}))).await;
    assert_eq!(s, 404, "removing a port that is no subport");

    // Deleting the trunk releases its subports; the parent and the plain VF stay.
    let (s, _) = f.call(Method::DELETE, &format!("/v2.0/trunks/{tid}"), None).await;
    assert_eq!(s, 204);
    f.converge_to(0, "swp1", &[b(2900, &a), b(2901, &d)]).await;
    let p = f.server.get(&format!("/v2.0/ports/{parent_id}")).await;
    assert!(p["port"]["binding:vif_details"].get("trunk_vlans").is_none() && p["port"].get("trunk_details").is_none_or(Value::is_null), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l2_gateway_connections_bind_and_refuse_taken_vlans() {
    let f = Fabric::new().await;
    let (a, c) = (f.network("a").await, f.network("c").await);
    // leaf2 swp3: no node is cabled there (the legacy VLAN domain).
    let (s, gw) = f
        .call(
            Method::POST,
            "/v2.0/l2-gateways",
            Some(json!({"l2_gateway": {"name": "legacy", "devices": [{"device_name": "leaf2", "interfaces": [{"name": "swp3"}]}]}})),
        )
        .await;
    assert_eq!(s, 201, "{gw}");
    let gw = id(&gw, "l2_gateway");
    let (s, v) = f.call(Method::POST, "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw, "network_id": a}}))).await;
    assert_eq!(s, 400, "neither the interface nor the connection gives a VLAN: {v}");
    let (s, conn) = f
        .call(
            Method::POST,
            "/v2.0/l2-gateway-connections",
            Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw, "network_id": a, "segmentation_id": 500}})),
        )
        .await;
    assert_eq!(s, 201, "{conn}");
    let conn = id(&conn, "l2_gateway_connection");
    f.converge_to(1, "swp3", &[b(500, &a)]).await;
    assert_eq!(f.leaves[1].ctl(&["get", "Logical_Switch", &a, "tunnel_key"]).trim(), "7000");

    // An SR-IOV port of c on n2 (leaf2 swp1) gets the automatic group at 2900.
    // A gateway on that port+VLAN for network a is refused, naming the port,
    // and nothing changes.
    let vf = f.port(&c, "fa:16:3e:00:02:01", "n2").await;
    let vf_id = vf["id"].as_str().unwrap().to_string();
    assert_eq!(vf["binding:vif_details"]["vlan"], "2900");
    f.converge_to(1, "swp1", &[b(2900, &c)]).await;
    let (s, gw2) = f
        .call(
            Method::POST,
            "/v2.0/l2-gateways",
            Some(json!({"l2_gateway": {"name": "clash", "devices": [{"device_name": "leaf2", "interfaces": [{"name": "swp1", "segmentation_id": [2900]}]}]}})),
        )
        .await;
    assert_eq!(s, 201, "{gw2}");
    let gw2 = id(&gw2, "l2_gateway");
    let conns_before = f.server.get("/v2.0/l2-gateway-connections").await;
    let groups_before = f.server.get("/v1/virtual-port-groups").await;
    let (s, v) = f.call(Method::POST, "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw2, "network_id": a}}))).await;
    assert_eq!(s, 409, "{v}");
    let msg = v["NeutronError"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("port {vf_id}")) && msg.contains("VLAN 2900"), "the owner is named: {msg}");
    assert_eq!(f.server.get("/v2.0/l2-gateway-connections").await, conns_before);
    assert_eq!(f.server.get("/v1/virtual-port-groups").await, groups_before);
    eventually_http("all ports ACTIVE", || f.all_active()).await;
    assert_eq!(f.bindings(1, "swp1"), vec![b(2900, &c)]);
    assert_eq!(f.bindings(1, "swp3"), vec![b(500, &a)]);
    // The gateway in use cannot be deleted.
    assert_eq!(f.call(Method::DELETE, &format!("/v2.0/l2-gateways/{gw}"), None).await.0, 409);

    // Deleting the connection removes exactly its binding (and a's logical
    // switch from leaf2, where nothing else needs it).
    assert_eq!(f.call(Method::DELETE, &format!("/v2.0/l2-gateway-connections/{conn}"), None).await.0, 204);
    f.converge_to(1, "swp3", &[]).await;
    eventually_http("a leaves leaf2", || async { !lines(&f.leaves[1].ctl(&["list-ls"])).contains(&a) }).await;
    assert_eq!(f.bindings(1, "swp1"), vec![b(2900, &c)]);
    for g in [&gw, &gw2] {
        assert_eq!(f.call(Method::DELETE, &format!("/v2.0/l2-gateways/{g}"), None).await.0, 204);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_segment_network_binds_its_vlan_segment() {
    let f = Fabric::new().await;
    let m = f.network("m").await;
    let (s, seg) = f
        .call(
            Method::POST,
            "/v2.0/segments",
            Some(json!({"segment": {"network_id": m, "network_type": "vlan", "physical_network": "physnet1", "segmentation_id": 1000}})),
        )
        .await;
    assert_eq!(s, 201, "{seg}");
    let seg = id(&seg, "segment");
    let segs = f.server.get(&format!("/v2.0/segments?network_id={m}")).await;
    assert_eq!(segs["segments"].as_array().unwrap().len(), 2, "the network's own vxlan segment and the vlan one: {segs}");
    let net = f.server.get(&format!("/v2.0/networks/{m}")).await;
    assert_eq!(net["network"]["segments"].as_array().map(Vec::len), Some(2), "{net}");

    // n3's NIC serves physnet1: the port takes the segment's VLAN, mapped to m's VNI on leaf3.
    let p = f.port(&m, "fa:16:3e:00:03:01", "n3").await;
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["binding:vif_details"]["vlan"], "1000", "{p}");
    f.converge_to(2, "swp1", &[b(1000, &m)]).await;
    assert_eq!(f.leaves[2].ctl(&["get", "Logical_Switch", &m, "tunnel_key"]).trim(), "7000");

    // The segment in use cannot be deleted; nothing changes.
    let (s, v) = f.call(Method::DELETE, &format!("/v2.0/segments/{seg}"), None).await;
    assert_eq!((s, v["NeutronError"]["type"].as_str()), (409, Some("SegmentInUse")), "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains(&pid), "the user is named: {v}");
    eventually_http("port ACTIVE", || async { f.status(&pid).await == "ACTIVE" }).await;
    assert_eq!(f.bindings(2, "swp1"), vec![b(1000, &m)]);
    assert_eq!(f.server.get(&format!("/v2.0/segments?network_id={m}")).await["segments"].as_array().unwrap().len(), 2);

    // Once the port is gone the segment goes, and so does the binding.
    assert_eq!(f.call(Method::DELETE, &format!("/v2.0/ports/{pid}"), None).await.0, 204);
    f.converge_to(2, "swp1", &[]).await;
    assert_eq!(f.call(Method::DELETE, &format!("/v2.0/segments/{seg}"), None).await.0, 204);
    // Without the segment, a port on the same host gets an allocated VLAN.
    let p = f.port(&m, "fa:16:3e:00:03:02", "n3").await;
    assert_eq!(p["binding:vif_details"]["vlan"], "2900", "{p}");
    f.converge_to(2, "swp1", &[b(2900, &m)]).await;
}
