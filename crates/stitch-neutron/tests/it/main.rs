//! The Neutron API through its router, on an in-memory catalog: envelopes,
//! bindings in the response, bulk atomicity, list semantics and errors.

mod bindings;
mod profile;
mod qos;
mod security;
mod service;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use stitch_engine::status::{StatusBoard, SwitchStatus};
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_neutron::{NeutronState, router};
use stitch_store::{Catalog, MemStore};
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

struct Api {
    app: axum::Router,
    state: NeutronState,
}

fn obj<S>(spec: S) -> Object<S> {
    Object { id: Uuid::new_v4(), created_at: OffsetDateTime::UNIX_EPOCH, updated_at: OffsetDateTime::UNIX_EPOCH, spec }
}

impl Api {
    async fn new() -> Api {
        let catalog = Arc::new(Catalog::open(Arc::new(MemStore::new())).await.unwrap());
        let f = obj(FabricSpec {
            name: "dc1".into(),
            vni_range: serde_json::from_str("[7000, 7999]").unwrap(),
            vlan_range: serde_json::from_str("[300, 399]").unwrap(),
            vlan_mode: VlanMode::PerSwitch,
        });
        let sw = |name: &str, ip: &str| {
            obj(SwitchSpec {
                name: name.into(),
                fabric_id: f.id,
                ovsdb: "unix:/x".parse().unwrap(),
                tunnel_ip: ip.parse().unwrap(),
                management_ip: None,
                vlan_range: None,
                role: SwitchRole::Leaf,
                chassis_mac: None,
            })
        };
        let (l1, l2) = (sw("leaf1", "10.0.0.1"), sw("leaf2", "10.0.0.2"));
        let hw = obj(HardwareSpec { name: "hw".into(), model: None });
        let card = obj(CardSpec {
            name: "card".into(),
            hardware_ids: vec![hw.id],
            interface_map: vec![Interface { name: "ens1f0".into(), labels: vec!["sriov".into()] }],
        });
        let prof = obj(NodeProfileSpec { name: "p".into(), hardware_ids: vec![hw.id] });
        let node = |name: &str, sw: Uuid| {
            obj(NodeSpec {
                name: name.into(),
                node_profile_id: Some(prof.id),
                node_type: NodeType::Compute,
                aliases: vec![],
                ports: vec![NodePort { name: "ens1f0".into(), mac: None, switch_id: sw, switch_port: "swp1".into() }],
            })
        };
        let (n1, n2) = (node("compute1", l1.id), node("compute2", l2.id));
        let put = |o: AnyObject| Change::Put(o);
        catalog
            .apply(vec![
                put(AnyObject::Fabric(f)),
                put(AnyObject::Switch(l1)),
                put(AnyObject::Switch(l2)),
                put(AnyObject::Hardware(hw)),
                put(AnyObject::Card(card)),
                put(AnyObject::NodeProfile(prof)),
                put(AnyObject::Node(n1)),
                put(AnyObject::Node(n2)),
            ])
            .await
            .unwrap();
        let state = NeutronState { catalog, status: Arc::new(StatusBoard::new()) };
        Api { app: router(state.clone()), state }
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder().method(method).uri(uri).header("host", "stitch.test").header("content-type", "application/json");
        let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24).await.unwrap();
        (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
    }

    async fn raw(&self, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn network(&self, name: &str) -> String {
        let (s, v) = self.call("POST", "/v2.0/networks", Some(json!({"network": {"name": name}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["network"]["id"].as_str().unwrap().to_string()
    }

    fn dump(&self) -> String {
        let s = self.state.catalog.snapshot();
        format!("{:?}{:?}{:?}", s.list_any(Kind::Network), s.list_any(Kind::Port), s.list_any(Kind::VirtualPortGroup))
    }
}

#[tokio::test]
async fn discovery_answers_like_neutron() {
    let api = Api::new().await;
    let (s, v) = api.call("GET", "/", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["versions"][0]["id"], "v2.0");
    assert_eq!(v["versions"][0]["links"][0]["href"], "http://stitch.test/v2.0/");
    let (_, v) = api.call("GET", "/v2.0/extensions", None).await;
    let aliases: Vec<_> = v["extensions"].as_array().unwrap().iter().map(|e| e["alias"].as_str().unwrap()).collect();
    assert!(aliases.contains(&"binding") && aliases.contains(&"provider"));
    assert_eq!(api.call("GET", "/v2.0/extensions/binding", None).await.0, StatusCode::OK);
    assert_eq!(api.call("GET", "/v2.0/extensions/nope", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn networks_get_vnis_and_provider_attributes() {
    let api = Api::new().await;
    let (s, v) = api.call("POST", "/v2.0/networks", Some(json!({"network": {"name": "a"}}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["network"]["provider:network_type"], "vxlan");
    assert_eq!(v["network"]["provider:segmentation_id"], 7000);
    assert_eq!(v["network"]["status"], "ACTIVE");
    // A string VNI is coerced as Neutron does; a taken one is a 409.
    let (s, v) =
        api.call("POST", "/v2.0/networks", Some(json!({"network": {"name": "b", "provider:network_type": "vxlan", "provider:segmentation_id": "5001"}}))).await;
    assert_eq!((s, v["network"]["provider:segmentation_id"].clone()), (StatusCode::CREATED, json!(5001)));
    let before = api.dump();
    let (s, v) = api.call("POST", "/v2.0/networks", Some(json!({"network": {"provider:segmentation_id": 5001}}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["NeutronError"]["type"], "TunnelIdInUse");
    for bad in [
        json!({"network": {"provider:segmentation_id": 16777216}}),
        json!({"network": {"provider:network_type": "gre"}}),
        json!({"network": {"provider:network_type": "vlan", "provider:segmentation_id": 4095}}),
        json!({"network": {"provider:network_type": "vlan"}}),
        json!({"network": {"admin_state_up": "perhaps"}}),
        json!({"network": {"colour": "red"}}),
        json!({"network": {"id": "x"}}),
    ] {
        let (s, v) = api.call("POST", "/v2.0/networks", Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} -> {v}");
        assert!(v["NeutronError"]["message"].as_str().unwrap().len() > 10);
    }
    assert_eq!(api.raw("POST", "/v2.0/networks", "{\"network\": ").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.dump(), before, "refused requests change nothing");
    let (s, v) = api
        .call(
            "POST",
            "/v2.0/networks",
            Some(json!({"network": {"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 2901}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["network"]["provider:segmentation_id"], 2901);
}

#[tokio::test]
async fn sriov_port_binding_is_in_the_response_and_status_follows_the_switches() {
    let api = Api::new().await;
    let net = api.network("n").await;
    let (s, v) = api
        .call(
            "POST",
            "/v2.0/ports",
            Some(json!({"port": {"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct", "device_id": "vm1"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let p = &v["port"];
    assert_eq!(p["binding:vif_type"], "hw_veb");
    assert_eq!(p["binding:vif_details"]["vlan"], "300");
    assert_eq!(p["status"], "DOWN", "no switch has acknowledged yet");
    assert!(p["mac_address"].as_str().unwrap().starts_with("fa:16:3e:"));
    let id = p["id"].as_str().unwrap().to_string();
    // The switch reports in sync at the current revision: the port goes ACTIVE.
    let snap = api.state.catalog.snapshot();
    let sw = snap.vpgs.iter().next().unwrap().spec.switch_id;
    api.state.status.set(sw, SwitchStatus { connected: true, in_sync: true, applied_revision: snap.revision, ..Default::default() });
    let (_, v) = api.call("GET", &format!("/v2.0/ports/{id}"), None).await;
    assert_eq!(v["port"]["status"], "ACTIVE");
    // An older acknowledgement is not enough.
    api.state.status.set(sw, SwitchStatus { connected: true, in_sync: true, applied_revision: snap.revision - 1, ..Default::default() });
    assert_eq!(api.call("GET", &format!("/v2.0/ports/{id}"), None).await.1["port"]["status"], "DOWN");
    // Unknown host: stored, reported as binding_failed with the reason.
    let (s, v) = api.call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": net, "binding:host_id": "ghost", "binding:vnic_type": "direct"}}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["port"]["binding:vif_type"], "binding_failed");
    assert!(v["port"]["binding:failure_reason"].as_str().unwrap().contains("ghost"));
    // Migrate by host change, then unbind.
    let (s, v) = api.call("PUT", &format!("/v2.0/ports/{id}"), Some(json!({"port": {"binding:host_id": "compute2"}}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["port"]["binding:vif_details"]["vlan"], "300");
    let snap = api.state.catalog.snapshot();
    assert_eq!(snap.vpgs.len(), 2, "the old group drains until the new switch confirms");
    let pid = Uuid::parse_str(&id).unwrap();
    let current = snap.vpgs.iter().find(|g| g.spec.port_ids.contains(&pid)).unwrap();
    assert_ne!(current.spec.switch_id, sw);
    let (_, v) = api.call("PUT", &format!("/v2.0/ports/{id}"), Some(json!({"port": {"binding:host_id": ""}}))).await;
    assert_eq!(v["port"]["binding:vif_type"], "unbound");
    assert_eq!(api.state.catalog.snapshot().vpgs.len(), 0);
    // Read-only and create-only attributes are refused on update.
    assert_eq!(api.call("PUT", &format!("/v2.0/ports/{id}"), Some(json!({"port": {"network_id": net}}))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.call("PUT", &format!("/v2.0/ports/{id}"), Some(json!({"port": {"binding:vif_type": "x"}}))).await.0, StatusCode::BAD_REQUEST);
    // A network with ports cannot be deleted; after the ports go, it can.
    let (s, v) = api.call("DELETE", &format!("/v2.0/networks/{net}"), None).await;
    assert_eq!((s, v["NeutronError"]["type"].as_str()), (StatusCode::CONFLICT, Some("NetworkInUse")));
    let (_, v) = api.call("GET", "/v2.0/ports", None).await;
    for p in v["ports"].as_array().unwrap() {
        assert_eq!(api.call("DELETE", &format!("/v2.0/ports/{}", p["id"].as_str().unwrap()), None).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(api.call("DELETE", &format!("/v2.0/networks/{net}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", &format!("/v2.0/networks/{net}"), None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing_and_vlans_are_distinct() {
    let api = Api::new().await;
    let (s, v) = api.call("POST", "/v2.0/networks", Some(json!({"networks": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let nets: Vec<String> = v["networks"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
    let vnis: Vec<_> = v["networks"].as_array().unwrap().iter().map(|n| n["provider:segmentation_id"].as_u64().unwrap()).collect();
    assert_eq!(vnis, [7000, 7001, 7002]);
    let ports: Vec<Value> = nets.iter().map(|n| json!({"network_id": n, "binding:host_id": "compute1", "binding:vnic_type": "direct"})).collect();
    let (s, v) = api.call("POST", "/v2.0/ports", Some(json!({"ports": ports}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let vlans: Vec<_> = v["ports"].as_array().unwrap().iter().map(|p| p["binding:vif_details"]["vlan"].as_str().unwrap().to_string()).collect();
    assert_eq!(vlans, ["300", "301", "302"]);
    let before = api.dump();
    let bad = json!({"ports": [{"network_id": nets[0], "binding:host_id": "compute2", "binding:vnic_type": "direct"}, {"network_id": Uuid::new_v4()}]});
    let (s, v) = api.call("POST", "/v2.0/ports", Some(bad)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap().starts_with("item 1:"));
    let bad = json!({"ports": [{"network_id": nets[0], "mac_address": "fa:16:3e:00:00:01"}, {"network_id": nets[0], "mac_address": "fa:16:3e:00:00:01"}]});
    let (s, v) = api.call("POST", "/v2.0/ports", Some(bad)).await;
    assert_eq!((s, v["NeutronError"]["type"].as_str()), (StatusCode::CONFLICT, Some("MacAddressInUse")));
    assert_eq!(api.dump(), before, "a refused bulk request stores nothing");
    for bad in [
        json!({"port": {"network_id": "not-a-uuid"}}),
        json!({"port": {"network_id": nets[0], "mac_address": "01:00:5e:00:00:01"}}),
        json!({"port": {"network_id": nets[0], "binding:vnic_type": "vdpa-ish"}}),
        json!({"port": {}}),
    ] {
        assert_eq!(api.call("POST", "/v2.0/ports", Some(bad.clone())).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn lists_filter_project_sort_and_paginate() {
    let api = Api::new().await;
    for i in 0..5 {
        api.network(&format!("net{}", i % 2)).await;
    }
    let (_, v) = api.call("GET", "/v2.0/networks?name=net1", None).await;
    assert_eq!(v["networks"].as_array().unwrap().len(), 2);
    let (_, v) = api.call("GET", "/v2.0/networks?fields=id&fields=name&sort_key=name&sort_dir=desc", None).await;
    let first = v["networks"][0].as_object().unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first["name"], "net1");
    let (_, v) = api.call("GET", "/v2.0/networks?limit=2", None).await;
    assert_eq!(v["networks"].as_array().unwrap().len(), 2);
    let next = v["networks_links"][0]["href"].as_str().unwrap();
    assert!(next.starts_with("http://stitch.test/v2.0/networks?limit=2&marker="), "{next}");
    let mut seen = 2;
    let mut url = next.trim_start_matches("http://stitch.test").to_string();
    loop {
        let (_, v) = api.call("GET", &url, None).await;
        seen += v["networks"].as_array().unwrap().len();
        match v["networks_links"].as_array().and_then(|l| l.iter().find(|l| l["rel"] == "next")) {
            Some(l) => url = l["href"].as_str().unwrap().trim_start_matches("http://stitch.test").to_string(),
            None => break,
        }
    }
    assert_eq!(seen, 5);
    assert_eq!(api.call("GET", "/v2.0/networks?bogus=1", None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.call("GET", "/v2.0/networks/not-a-uuid", None).await.0, StatusCode::NOT_FOUND);
}

/// A port list narrowed before rendering (by the typed filters and the
/// network index) answers exactly as the list semantics applied to every
/// port's representation would: same items, order, pages and errors.
#[tokio::test]
async fn port_filters_answer_as_a_filter_over_every_port() {
    let api = Api::new().await;
    let nets = [api.network("a").await, api.network("b").await];
    for i in 0..12 {
        let owner = ["compute:nova", "network:dhcp"][i % 2];
        let body = json!({"port": {
            "network_id": nets[i % 2],
            "device_id": format!("dev{}", i % 4),
            "device_owner": owner,
            "name": format!("p{}", i % 3),
        }});
        let (s, v) = api.call("POST", "/v2.0/ports", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, all) = api.call("GET", "/v2.0/ports", None).await;
    let items: Vec<serde_json::Map<String, Value>> = all["ports"].as_array().unwrap().iter().map(|p| p.as_object().unwrap().clone()).collect();
    assert_eq!(items.len(), 12);
    let mac = items[3]["mac_address"].as_str().unwrap().to_string();
    let id = items[5]["id"].as_str().unwrap().to_string();
    let queries = [
        "device_id=dev1".to_string(),
        "device_id=dev1&device_id=dev2".into(),
        "device_id=nobody".into(),
        format!("network_id={}", nets[0]),
        format!("network_id={}&network_id={}", nets[0], nets[1]),
        format!("network_id={}", nets[0].to_uppercase()),
        "network_id=not-a-uuid".into(),
        format!("mac_address={mac}"),
        format!("mac_address={}", mac.to_uppercase()),
        format!("id={id}"),
        format!("id={id}&id={}&device_id=dev1", items[1]["id"].as_str().unwrap()),
        format!("id={}", id.to_uppercase()),
        "id=nope".into(),
        format!("mac_address={}", mac.replace(':', "-")),
        "mac_address=zz".into(),
        "device_owner=network:dhcp&name=p1".into(),
        format!("device_id=dev1&network_id={}&sort_key=name&sort_dir=desc&limit=2", nets[1]),
        "binding:host_id=".into(),
        "name=p2&fields=id&fields=name".into(),
        "device_id=dev3&status=DOWN".into(),
        "device_id=dev1&bogus=1".into(),
        // Pages of every port.
        "limit=2".into(),
        "limit=5&fields=id".into(),
        format!("limit=2&marker={id}"),
        format!("limit=2&marker={id}&page_reverse=True"),
        format!("limit=20&marker={id}"),
        format!("limit=2&marker={}", id.to_uppercase()),
        "limit=2&marker=nope".into(),
        "limit=0".into(),
        "limit=x".into(),
        "limit=3&sort_key=name".into(),
    ];
    for q in &queries {
        let (s, got) = api.call("GET", &format!("/v2.0/ports?{q}"), None).await;
        let parsed = stitch_neutron::query::ListQuery::parse(Some(q)).unwrap();
        match stitch_neutron::query::list_response(items.clone(), &[], &parsed, "ports", "http://stitch.test/v2.0/ports") {
            Ok(want) => assert_eq!((s, &got), (StatusCode::OK, &want), "{q}"),
            Err(e) => assert_eq!(s, e.status, "{q}: {e}"),
        }
    }
}
