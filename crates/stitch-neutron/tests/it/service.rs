//! Issue 6 through the Neutron router: trunks, segments and multi-segment
//! networks, L2 gateways and their connections — envelopes, validation,
//! errors, and the bindings they produce.

use axum::http::StatusCode;
use serde_json::{Value, json};
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;

use crate::{Api, obj};

impl Api {
    async fn port_on(&self, net: &str, host: &str, mac: &str) -> Value {
        let (s, v) = self
            .call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": net, "binding:host_id": host, "binding:vnic_type": "direct", "mac_address": mac}})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["port"].clone()
    }
    fn error(v: &Value) -> String {
        v["NeutronError"]["type"].as_str().unwrap_or_default().to_string()
    }
    /// Label compute1's and compute2's ens1f0 `physnet1` too.
    async fn physnet1(&self) {
        let s = self.state.catalog.snapshot();
        let hw = s.hardware.iter().next().unwrap().id;
        let card = obj(CardSpec {
            name: "physnet-card".into(),
            hardware_ids: vec![hw],
            interface_map: vec![Interface { name: "ens1f0".into(), labels: vec!["physnet1".into()] }],
        });
        self.state.catalog.apply(vec![Change::Put(AnyObject::Card(card))]).await.unwrap();
    }
}

#[tokio::test]
async fn extensions_and_resources_are_listed() {
    let api = Api::new().await;
    let (_, v) = api.call("GET", "/v2.0/extensions", None).await;
    let aliases: Vec<_> = v["extensions"].as_array().unwrap().iter().map(|e| e["alias"].as_str().unwrap().to_string()).collect();
    for a in ["trunk", "trunk-details", "multi-provider", "segment", "l2-gateway", "l2-gateway-connection"] {
        assert!(aliases.contains(&a.to_string()), "{a} missing from {aliases:?}");
    }
    let (_, v) = api.call("GET", "/v2.0/", None).await;
    assert!(v["resources"].as_array().unwrap().iter().any(|r| r["collection"] == "trunks"));
}

#[tokio::test]
async fn trunks_follow_neutron() {
    let api = Api::new().await;
    let (a, b, c) = (api.network("a").await, api.network("b").await, api.network("c").await);
    let parent = api.port_on(&a, "compute1", "fa:16:3e:00:00:01").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    let (s, sb) = api.call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": b}}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let sb = sb["port"]["id"].as_str().unwrap().to_string();
    let (_, sc) = api.call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": c}}))).await;
    let sc = sc["port"]["id"].as_str().unwrap().to_string();

    // Validation: each is a 400 and changes nothing.
    let before = api.dump();
    for bad in [
        json!({"trunk": {"name": "t"}}),
        json!({"trunk": {"port_id": pid, "sub_ports": [{"port_id": sb, "segmentation_type": "vxlan", "segmentation_id": 5}]}}),
        json!({"trunk": {"port_id": pid, "sub_ports": [{"port_id": sb, "segmentation_type": "vlan", "segmentation_id": 4095}]}}),
        json!({"trunk": {"port_id": pid, "sub_ports": [{"port_id": sb, "segmentation_type": "vlan"}]}}),
        json!({"trunk": {"port_id": pid, "sub_ports": [{"port_id": sb, "segmentation_type": "inherit"}]}}),
        json!({"trunk": {"port_id": pid, "status": "ACTIVE"}}),
    ] {
        let (s, v) = api.call("POST", "/v2.0/trunks", Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (s, v) = api.call("POST", "/v2.0/trunks", Some(json!({"trunk": {"port_id": pid, "sub_ports": [{"port_id": sb, "segmentation_type": "vlan", "segmentation_id": 10}, {"port_id": sc, "segmentation_type": "vlan", "segmentation_id": 10}]}}))).await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "DuplicateSubPort".into()), "{v}");
    assert_eq!(api.dump(), before);

    let (s, v) = api
        .call(
            "POST",
            "/v2.0/trunks",
            Some(json!({"trunk": {"name": "t1", "port_id": pid, "sub_ports": [{"port_id": sb, "segmentation_type": "vlan", "segmentation_id": "10"}]}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = &v["trunk"];
    let tid = t["id"].as_str().unwrap().to_string();
    assert_eq!((t["name"].as_str(), t["port_id"].as_str(), t["admin_state_up"].as_bool()), (Some("t1"), Some(pid.as_str()), Some(true)));
    assert_eq!(t["sub_ports"], json!([{"port_id": sb, "segmentation_type": "vlan", "segmentation_id": 10}]));
    assert_eq!(t["status"], "BUILD", "bound, switches not yet acknowledged");

    // The parent shows trunk_details and the allowed VLANs; the subport follows it.
    let (_, p) = api.call("GET", &format!("/v2.0/ports/{pid}"), None).await;
    assert_eq!(p["port"]["trunk_details"]["trunk_id"], tid);
    assert_eq!(p["port"]["trunk_details"]["sub_ports"][0]["mac_address"].as_str().map(str::len), Some(17));
    assert_eq!(p["port"]["binding:vif_details"]["trunk_vlans"], json!([10, 300]));
    let (_, p) = api.call("GET", &format!("/v2.0/ports/{sb}"), None).await;
    assert_eq!(
        (p["port"]["binding:host_id"].as_str(), p["port"]["device_owner"].as_str(), p["port"]["binding:vif_details"]["vlan"].as_str()),
        (Some("compute1"), Some("trunk:subport"), Some("10"))
    );

    // add_subports / get_subports / remove_subports answer the bare trunk.
    let (s, v) = api
        .call(
            "PUT",
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": sc, "segmentation_type": "vlan", "segmentation_id": 20}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sub_ports"].as_array().unwrap().len(), 2);
    let (s, v) = api
        .call(
            "PUT",
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": sc, "segmentation_type": "vlan", "segmentation_id": 21}]})),
        )
        .await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "TrunkPortInUse".into()));
    let (_, v) = api.call("GET", &format!("/v2.0/trunks/{tid}/get_subports"), None).await;
    assert_eq!(v["sub_ports"].as_array().unwrap().len(), 2);
    // The parent's own VLAN (300) on the same switch port belongs to network a.
    let (_, d) = api.call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": api.network("d").await}}))).await;
    let did = d["port"]["id"].as_str().unwrap().to_string();
    let before = api.dump();
    let (s, v) = api
        .call(
            "PUT",
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": did, "segmentation_type": "vlan", "segmentation_id": 300}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains("parent of trunk"), "{v}");
    assert_eq!(api.dump(), before, "refused: nothing changed");
    let (s, v) = api.call("PUT", &format!("/v2.0/trunks/{tid}/remove_subports"), Some(json!({"sub_ports": [{"port_id": sb}]}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sub_ports"], json!([{"port_id": sc, "segmentation_type": "vlan", "segmentation_id": 20}]));
    let (s, v) = api.call("PUT", &format!("/v2.0/trunks/{tid}/remove_subports"), Some(json!({"sub_ports": [{"port_id": sb}]}))).await;
    assert_eq!((s, Api::error(&v)), (StatusCode::NOT_FOUND, "SubPortNotFound".into()));
    let (_, p) = api.call("GET", &format!("/v2.0/ports/{sb}"), None).await;
    assert_eq!((p["port"]["binding:host_id"].as_str(), p["port"]["binding:vif_type"].as_str()), (Some(""), Some("unbound")));

    // Parent and subport ports cannot be deleted while the trunk exists.
    let (s, v) = api.call("DELETE", &format!("/v2.0/ports/{pid}"), None).await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "PortInUseAsTrunkParent".into()));
    let (s, v) = api.call("DELETE", &format!("/v2.0/ports/{sc}"), None).await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "PortInUseAsSubPort".into()));
    // A disabled trunk refuses subport changes; list filters work.
    let (s, _) = api.call("PUT", &format!("/v2.0/trunks/{tid}"), Some(json!({"trunk": {"admin_state_up": false, "name": "t2"}}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .call(
            "PUT",
            &format!("/v2.0/trunks/{tid}/add_subports"),
            Some(json!({"sub_ports": [{"port_id": sb, "segmentation_type": "vlan", "segmentation_id": 11}]})),
        )
        .await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "TrunkDisabled".into()));
    let (_, v) = api.call("GET", "/v2.0/trunks?name=t2&fields=id", None).await;
    assert_eq!(v["trunks"], json!([{"id": tid}]));
    assert_eq!(api.call("DELETE", &format!("/v2.0/trunks/{tid}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", &format!("/v2.0/trunks/{tid}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("DELETE", &format!("/v2.0/ports/{pid}"), None).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn segments_and_multi_segment_networks() {
    let api = Api::new().await;
    api.physnet1().await;
    // segments and provider attributes together: 400; two vxlan segments: 400.
    for bad in [
        json!({"network": {"provider:network_type": "vxlan", "segments": [{"provider:network_type": "vxlan"}]}}),
        json!({"network": {"segments": [{"provider:network_type": "vxlan"}, {"provider:network_type": "vxlan"}]}}),
        json!({"network": {"segments": [{"provider:network_type": "vxlan"}, {"provider:network_type": "vlan", "provider:segmentation_id": 1000}]}}),
        json!({"network": {"segments": []}}),
    ] {
        let (s, v) = api.call("POST", "/v2.0/networks", Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let body = json!({"network": {"name": "m", "segments": [
        {"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 1000},
        {"provider:network_type": "vxlan", "provider:segmentation_id": 7500}]}});
    let (s, v) = api.call("POST", "/v2.0/networks", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let net = v["network"]["id"].as_str().unwrap().to_string();
    assert!(v["network"].get("provider:network_type").is_none(), "{v}");
    assert_eq!(
        v["network"]["segments"],
        json!([
        {"provider:network_type": "vxlan", "provider:physical_network": null, "provider:segmentation_id": 7500},
        {"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 1000}])
    );
    let (_, v) = api.call("GET", &format!("/v2.0/segments?network_id={net}"), None).await;
    let segs = v["segments"].as_array().unwrap().clone();
    assert_eq!(segs.len(), 2, "{v}");
    let vlan_seg = segs.iter().find(|s| s["network_type"] == "vlan").unwrap()["id"].as_str().unwrap().to_string();
    let own_seg = segs.iter().find(|s| s["network_type"] == "vxlan").unwrap()["id"].as_str().unwrap().to_string();

    // A port through the physnet1 NIC uses the segment's VLAN.
    let p = api.port_on(&net, "compute1", "fa:16:3e:00:00:09").await;
    assert_eq!(p["binding:vif_details"]["vlan"], "1000");
    let (s, v) = api.call("DELETE", &format!("/v2.0/segments/{vlan_seg}"), None).await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "SegmentInUse".into()));
    let (s, _) = api.call("DELETE", &format!("/v2.0/segments/{own_seg}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // /v2.0/segments CRUD on another network.
    let other = api.network("o").await;
    for bad in [
        json!({"segment": {"network_id": other, "network_type": "vxlan", "segmentation_id": 9}}),
        json!({"segment": {"network_id": other, "network_type": "vlan", "segmentation_id": 9}}),
        json!({"segment": {"network_id": other, "network_type": "vlan", "physical_network": "physnet2"}}),
        json!({"segment": {"network_type": "vlan", "physical_network": "physnet2", "segmentation_id": 9}}),
    ] {
        let (s, v) = api.call("POST", "/v2.0/segments", Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (s, v) = api
        .call(
            "POST",
            "/v2.0/segments",
            Some(json!({"segment": {"network_id": other, "network_type": "vlan", "physical_network": "physnet1", "segmentation_id": 1000}})),
        )
        .await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "VlanIdInUse".into()), "{v}");
    let (s, v) = api
        .call(
            "POST",
            "/v2.0/segments",
            Some(json!({"segment": {"network_id": other, "network_type": "vlan", "physical_network": "physnet1", "segmentation_id": 1001, "name": "legacy"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v["segment"]["name"].as_str(), v["segment"]["segmentation_id"].as_i64()), (Some("legacy"), Some(1001)));
    let sid = v["segment"]["id"].as_str().unwrap().to_string();
    let (s, v) = api.call("PUT", &format!("/v2.0/segments/{sid}"), Some(json!({"segment": {"segmentation_id": 1002}}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = api.call("PUT", &format!("/v2.0/segments/{sid}"), Some(json!({"segment": {"description": "old DC"}}))).await;
    assert_eq!((s, v["segment"]["description"].as_str()), (StatusCode::OK, Some("old DC")));
    assert_eq!(api.call("DELETE", &format!("/v2.0/segments/{sid}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", &format!("/v2.0/segments/{sid}"), None).await.0, StatusCode::NOT_FOUND);
    // Deleting the network takes its segments (once its ports are gone).
    let pid = p["id"].as_str().unwrap();
    assert_eq!(api.call("DELETE", &format!("/v2.0/ports/{pid}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("DELETE", &format!("/v2.0/networks/{net}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.state.catalog.snapshot().segments.len(), 0);
}

#[tokio::test]
async fn l2_gateways_and_connections() {
    let api = Api::new().await;
    let (a, b) = (api.network("a").await, api.network("b").await);
    for (bad, status) in [
        (json!({"l2_gateway": {"name": "g"}}), StatusCode::BAD_REQUEST),
        (json!({"l2_gateway": {"devices": [{"device_name": "leaf1", "interfaces": []}]}}), StatusCode::BAD_REQUEST),
        (json!({"l2_gateway": {"devices": [{"device_name": "leaf1", "interfaces": [{"name": "swp5", "segmentation_id": [5000]}]}]}}), StatusCode::BAD_REQUEST),
        (
            json!({"l2_gateway": {"devices": [{"device_name": "leaf1", "interfaces": [{"name": "swp5", "segmentation_id": [5]}, {"name": "swp6"}]}]}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"l2_gateway": {"devices": [{"device_name": "nope", "interfaces": [{"name": "swp5"}]}]}}), StatusCode::NOT_FOUND),
    ] {
        let (s, v) = api.call("POST", "/v2.0/l2-gateways", Some(bad.clone())).await;
        assert_eq!(s, status, "{bad}: {v}");
    }
    let (s, v) = api
        .call("POST", "/v2.0/l2-gateways", Some(json!({"l2_gateway": {"name": "gw", "devices": [{"device_name": "leaf2", "interfaces": [{"name": "swp5"}]}]}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let gw = v["l2_gateway"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["l2_gateway"]["devices"][0]["interfaces"], json!([{"name": "swp5"}]));
    // Neither interface nor connection gives a VLAN: 400.
    let (s, _) = api.call("POST", "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw, "network_id": a}}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = api
        .call("POST", "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw, "network_id": a, "segmentation_id": "500"}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = &v["l2_gateway_connection"];
    assert_eq!((c["l2_gateway_id"].as_str(), c["network_id"].as_str(), c["segmentation_id"].as_i64()), (Some(gw.as_str()), Some(a.as_str()), Some(500)));
    let cid = c["id"].as_str().unwrap().to_string();
    let g = api.state.catalog.snapshot().vpgs.iter().next().cloned().unwrap();
    assert_eq!((g.spec.switch_ports.clone(), g.spec.vlan, g.spec.automatic), (vec!["swp5".to_string()], 500, false));
    // Same gateway, same network: 409; another gateway on the same port+VLAN for b: 409 naming the owner.
    let (s, v) = api
        .call("POST", "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw, "network_id": a, "segmentation_id": 501}})))
        .await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "L2GatewayConnectionExists".into()));
    let (_, v2) = api
        .call(
            "POST",
            "/v2.0/l2-gateways",
            Some(json!({"l2_gateway": {"name": "gw2", "devices": [{"device_name": "leaf2", "interfaces": [{"name": "swp5", "segmentation_id": [500]}]}]}})),
        )
        .await;
    let gw2 = v2["l2_gateway"]["id"].as_str().unwrap().to_string();
    let (s, v) = api
        .call("POST", "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw2, "network_id": b, "segmentation_id": 7}})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "both interface and connection VLANs: {v}");
    let before = api.dump();
    let (s, v) = api.call("POST", "/v2.0/l2-gateway-connections", Some(json!({"l2_gateway_connection": {"l2_gateway_id": gw2, "network_id": b}}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains(&format!("L2 gateway connection {cid}")), "{v}");
    assert_eq!(api.dump(), before);
    // In use: the gateway cannot be deleted or re-wired, the network cannot go.
    let (s, v) = api.call("DELETE", &format!("/v2.0/l2-gateways/{gw}"), None).await;
    assert_eq!((s, Api::error(&v)), (StatusCode::CONFLICT, "L2GatewayInUse".into()));
    let (s, _) = api
        .call("PUT", &format!("/v2.0/l2-gateways/{gw}"), Some(json!({"l2_gateway": {"devices": [{"device_name": "leaf1", "interfaces": [{"name": "swp5"}]}]}})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = api.call("PUT", &format!("/v2.0/l2-gateways/{gw}"), Some(json!({"l2_gateway": {"name": "renamed"}}))).await;
    assert_eq!((s, v["l2_gateway"]["name"].as_str()), (StatusCode::OK, Some("renamed")));
    assert_eq!(api.call("DELETE", &format!("/v2.0/networks/{a}"), None).await.0, StatusCode::CONFLICT);
    let (_, v) = api.call("GET", &format!("/v2.0/l2-gateway-connections?network_id={a}"), None).await;
    assert_eq!(v["l2_gateway_connections"].as_array().unwrap().len(), 1);
    assert_eq!(api.call("DELETE", &format!("/v2.0/l2-gateway-connections/{cid}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.state.catalog.snapshot().vpgs.len(), 0);
    assert_eq!(api.call("DELETE", &format!("/v2.0/l2-gateways/{gw}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", &format!("/v2.0/l2-gateways/{gw}"), None).await.0, StatusCode::NOT_FOUND);
}
