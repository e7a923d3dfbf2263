//! `/v1/port-profiles`: CRUD through the generic machinery, validation,
//! ports re-bound when their profile changes, 409 while in use.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use stitch_engine::bind;
use stitch_model::inventory::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Api;

fn obj<S>(spec: S) -> Object<S> {
    Object { id: Uuid::new_v4(), created_at: OffsetDateTime::UNIX_EPOCH, updated_at: OffsetDateTime::UNIX_EPOCH, spec }
}

/// A network and an SR-IOV port on n1 whose `binding:profile` names the
/// profile `jumbo` (the Neutron API does this; here straight through the
/// engine). Returns the port's id.
async fn port_naming_jumbo(api: &Api) -> Uuid {
    let snap = api.catalog.snapshot();
    let net = obj(NetworkSpec::vxlan("a"));
    let net_id = net.id;
    api.catalog.apply(bind::put_network(&snap, net, Some(5001)).unwrap()).await.unwrap();
    let mut profile = stitch_model::JsonObject::new();
    profile.insert("port_profile".into(), json!("jumbo"));
    let port = obj(PortSpec { host_id: "n1".into(), vnic_type: VnicType::Direct, profile, ..PortSpec::new(net_id, "fa:16:3e:00:00:01".parse().unwrap()) });
    let pid = port.id;
    api.catalog.update(|s| bind::put_port(s, port)).await.unwrap();
    pid
}

#[tokio::test]
async fn profiles_are_validated_follow_their_ports_and_cannot_go_while_used() {
    let api = Api::new().await;
    let s = api.seed().await;
    for bad in [
        json!({"name": "x", "allowed_frames": "some"}),
        json!({"name": "x", "allowed_vlans": [4095]}),
        json!({"name": "x", "mtu": 20}),
        json!({"name": "x", "colour": "red"}),
        json!({"name": "3f0c1a5e-0000-4000-8000-000000000000"}),
        json!({"name": "x", "networks": [Uuid::new_v4()]}),
    ] {
        let (st, v) = api.call(Method::POST, "/v1/port-profiles", Some(bad.clone())).await;
        assert!(st.is_client_error(), "{bad} -> {st} {v}");
    }
    assert_eq!(api.get("/v1/port-profiles").await.1["port_profiles"], json!([]));
    let pp = api.create("port-profiles", json!({"name": "jumbo", "allowed_frames": "tagged_only", "mtu": 9000})).await;
    let (_, v) = api.get("/v1/port-profiles?name=jumbo").await;
    assert_eq!(v["port_profiles"][0]["allowed_frames"], "tagged_only");

    let pid = port_naming_jumbo(&api).await;
    let details = |api: &Api| api.catalog.snapshot().ports.get(&pid).unwrap().spec.binding.clone();
    let b = details(&api);
    assert_eq!(b.vif_details["mtu"], 9000, "{b:?}");
    assert_eq!(b.rare.port_profile_id.map(|u| u.to_string()), Some(pp.clone()));

    // The profile changes: the port's details follow at once.
    let (st, _) = api.call(Method::PATCH, &format!("/v1/port-profiles/{pp}"), Some(json!({"mtu": 1600}))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(details(&api).vif_details["mtu"], 1600);
    // untagged_only: a VF carries a VLAN, so its binding fails, saying why.
    api.call(Method::PATCH, &format!("/v1/port-profiles/{pp}"), Some(json!({"allowed_frames": "untagged_only"}))).await;
    let b = details(&api);
    assert_eq!(b.vif_type, "binding_failed");
    assert!(b.rare.failure.as_deref().unwrap().contains("untagged frames only"), "{b:?}");
    assert!(api.catalog.snapshot().vpgs.is_empty(), "no VLAN binding for a refused frame type");

    // In use: 409, nothing changes.
    let (st, v) = api.call(Method::DELETE, &format!("/v1/port-profiles/{pp}"), None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "still_referenced");
    assert_eq!(api.get("/v1/port-profiles").await.1["port_profiles"].as_array().unwrap().len(), 1);
    api.catalog.update(|s| bind::delete_port(s, pid)).await.unwrap();
    assert_eq!(api.call(Method::DELETE, &format!("/v1/port-profiles/{pp}"), None).await.0, StatusCode::NO_CONTENT);
    let _ = s;
}

#[tokio::test]
async fn apply_documents_carry_port_profiles() {
    let api = Api::new().await;
    let doc = json!({"port_profiles": [{"name": "jumbo", "mtu": 9000, "allowed_frames": "tagged_only"}]});
    let (st, v) = api.call(Method::POST, "/v1/apply", Some(doc.clone())).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["kinds"]["port_profiles"]["created"], 1, "{v}");
    let (_, v) = api.call(Method::POST, "/v1/apply", Some(doc)).await;
    assert_eq!(v["kinds"]["port_profiles"]["unchanged"], 1, "idempotent: {v}");
    // Fields left out keep their value; null clears an optional one.
    let (_, v) = api.call(Method::POST, "/v1/apply", Some(json!({"port_profiles": [{"name": "jumbo", "mtu": null, "allowed_vlans": [5]}]}))).await;
    assert_eq!(v["kinds"]["port_profiles"]["updated"], 1, "{v}");
    let p = &api.get("/v1/port-profiles?name=jumbo").await.1["port_profiles"][0];
    assert_eq!((p["mtu"].clone(), p["allowed_frames"].clone(), p["allowed_vlans"].clone()), (Value::Null, json!("tagged_only"), json!([5])));
    let (st, v) = api.call(Method::POST, "/v1/apply", Some(json!({"port_profiles": [{"name": "bad", "mtu": 1}]}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "port_profiles[0].mtu", "{v}");
}

#[tokio::test]
async fn renaming_a_profile_ports_name_is_refused() {
    let api = Api::new().await;
    let _s = api.seed().await;
    let pp = api.create("port-profiles", json!({"name": "jumbo", "mtu": 9000})).await;
    let pid = port_naming_jumbo(&api).await;
    let (st, v) = api.call(Method::PATCH, &format!("/v1/port-profiles/{pp}"), Some(json!({"name": "jumbo2"}))).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(&pid.to_string()), "{v}");
    assert_eq!(api.get(&format!("/v1/port-profiles/{pp}")).await.1["name"], "jumbo", "unchanged");
    assert_eq!(api.catalog.snapshot().ports.get(&pid).unwrap().spec.binding.vif_details["mtu"], 9000);
}
