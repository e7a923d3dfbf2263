//! `binding-extended`: the port-bindings API as Nova drives a live
//! migration, and re-incarnation through a `device_id` change.

use axum::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::Api;

#[tokio::test]
async fn live_migration_through_port_bindings() {
    let api = Api::new().await;
    let net = api.network("n").await;
    let (_, v) = api
        .call(
            "POST",
            "/v2.0/ports",
            Some(json!({"port": {"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct", "device_id": "vm1"}})),
        )
        .await;
    let id = v["port"]["id"].as_str().unwrap().to_string();
    let pid = Uuid::parse_str(&id).unwrap();
    let (_, v) = api.call("GET", "/v2.0/extensions/binding-extended", None).await;
    assert_eq!(v["extension"]["alias"], "binding-extended");

    // The destination's binding: inactive, resolved and programmed (standby).
    let url = format!("/v2.0/ports/{id}/bindings");
    let (s, v) = api.call("POST", &url, Some(json!({"binding": {"host": "compute2", "vnic_type": "direct", "profile": {"pci_slot": "0000:3b:02.1"}}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["binding"]["status"], "INACTIVE");
    assert_eq!(v["binding"]["vif_type"], "hw_veb");
    assert_eq!(v["binding"]["vif_details"]["vlan"], "300");
    let snap = api.state.catalog.snapshot();
    assert!(snap.vpgs.iter().any(|g| g.spec.standby == vec![pid]), "the destination is programmed as standby");
    let (_, v) = api.call("GET", &url, None).await;
    let hosts: Vec<_> =
        v["bindings"].as_array().unwrap().iter().map(|b| (b["host"].as_str().unwrap().to_string(), b["status"].as_str().unwrap().to_string())).collect();
    assert_eq!(hosts, [("compute1".to_string(), "ACTIVE".to_string()), ("compute2".to_string(), "INACTIVE".to_string())]);
    let (_, v) = api.call("GET", &format!("{url}?status=INACTIVE&fields=host"), None).await;
    assert_eq!(v["bindings"], json!([{"host": "compute2"}]));

    // Refusals, each leaving everything as it was.
    let before = api.dump();
    for (method, uri, body, status, kind) in [
        ("POST", url.clone(), Some(json!({"binding": {"host": "compute2"}})), StatusCode::CONFLICT, "PortBindingAlreadyExists"),
        ("POST", url.clone(), Some(json!({"binding": {"host": "compute1"}})), StatusCode::CONFLICT, "PortBindingAlreadyExists"),
        ("POST", url.clone(), Some(json!({"binding": {"vnic_type": "direct"}})), StatusCode::BAD_REQUEST, "HTTPBadRequest"),
        ("POST", url.clone(), Some(json!({"binding": {"host": "x", "vnic_type": "fast"}})), StatusCode::BAD_REQUEST, "HTTPBadRequest"),
        ("POST", url.clone(), Some(json!({"binding": {"host": "x", "status": "ACTIVE"}})), StatusCode::BAD_REQUEST, "HTTPBadRequest"),
        ("PUT", format!("{url}/compute1/activate"), None, StatusCode::CONFLICT, "PortBindingAlreadyActive"),
        ("PUT", format!("{url}/nowhere/activate"), None, StatusCode::NOT_FOUND, "PortBindingNotFound"),
        ("DELETE", format!("{url}/nowhere"), None, StatusCode::NOT_FOUND, "PortBindingNotFound"),
        ("DELETE", format!("{url}/compute1"), None, StatusCode::CONFLICT, "Conflict"),
        ("GET", format!("/v2.0/ports/{}/bindings", Uuid::new_v4()), None, StatusCode::NOT_FOUND, "PortNotFound"),
    ] {
        let (s, v) = api.call(method, &uri, body.clone()).await;
        assert_eq!(s, status, "{method} {uri} {body:?} -> {v}");
        if kind != "Conflict" && kind != "HTTPBadRequest" {
            assert_eq!(v["NeutronError"]["type"], kind, "{v}");
        }
    }
    assert_eq!(api.dump(), before, "refused requests change nothing");

    // Activate the destination: the port's active binding moves, the source
    // becomes inactive; the new place waits for confirmation (pending).
    let (s, v) = api.call("PUT", &format!("{url}/compute2/activate"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["binding"]["status"], "ACTIVE");
    let (_, v) = api.call("GET", &format!("/v2.0/ports/{id}"), None).await;
    assert_eq!(v["port"]["binding:host_id"], "compute2");
    assert_eq!(v["port"]["binding:profile"], json!({"pci_slot": "0000:3b:02.1"}));
    let snap = api.state.catalog.snapshot();
    let dest = snap.vpgs.iter().find(|g| g.spec.port_ids.contains(&pid)).unwrap();
    assert_eq!(dest.spec.pending, vec![pid]);
    let src = snap.vpgs.iter().find(|g| g.spec.draining.contains(&pid)).unwrap();
    assert_eq!(src.spec.standby, vec![pid], "the source stays programmed as the inactive binding");
    // Nova deletes the source's binding: the source group goes with it once drained.
    assert_eq!(api.call("DELETE", &format!("{url}/compute1"), None).await.0, StatusCode::NO_CONTENT);
    let (_, v) = api.call("GET", &url, None).await;
    assert_eq!(v["bindings"].as_array().unwrap().len(), 1);
    let snap = api.state.catalog.snapshot();
    let src = snap.vpgs.iter().find(|g| g.spec.draining.contains(&pid)).expect("still draining: the move is not confirmed");
    assert!(src.spec.standby.is_empty());
}

#[tokio::test]
async fn another_vm_on_the_port_starts_from_a_clean_profile() {
    let api = Api::new().await;
    let net = api.network("n").await;
    let (_, v) = api
        .call(
            "POST",
            "/v2.0/ports",
            Some(json!({"port": {"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct", "device_id": "vm1", "binding:profile": {"pci_slot": "0000:3b:02.1"}}})),
        )
        .await;
    let id = v["port"]["id"].as_str().unwrap().to_string();
    // Same VM, another host: a migration, the profile stays.
    let (_, v) = api.call("PUT", &format!("/v2.0/ports/{id}"), Some(json!({"port": {"binding:host_id": "compute2"}}))).await;
    assert_eq!(v["port"]["binding:profile"], json!({"pci_slot": "0000:3b:02.1"}));
    // Another VM: nothing carries over; the MAC is withdrawn until every switch confirms.
    let (_, v) = api.call("PUT", &format!("/v2.0/ports/{id}"), Some(json!({"port": {"device_id": "vm2", "binding:host_id": "compute1"}}))).await;
    assert_eq!(v["port"]["binding:profile"], json!({}));
    let pid = Uuid::parse_str(&id).unwrap();
    let snap = api.state.catalog.snapshot();
    assert!(snap.vpgs.iter().all(|g| g.spec.draining.is_empty()), "a re-incarnation does not drain the old owner's places");
    assert_eq!(snap.vpgs.iter().filter(|g| g.spec.pending.contains(&pid)).count(), 1);
}
