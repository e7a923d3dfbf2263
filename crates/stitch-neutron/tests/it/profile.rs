//! Port profiles seen through the Neutron API: attached by
//! `binding:profile.port_profile` or as a network default, they give
//! default security groups, QoS and MTU, and refuse frame types.

use axum::http::StatusCode;
use serde_json::{Value, json};
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;

use crate::{Api, obj};

impl Api {
    async fn profile(&self, spec: PortProfileSpec) -> String {
        let o = obj(spec);
        let id = o.id.to_string();
        self.state.catalog.apply(vec![Change::Put(AnyObject::PortProfile(o))]).await.unwrap();
        id
    }
    async fn bind(&self, body: Value) -> Value {
        let (s, v) = self.call("POST", "/v2.0/ports", Some(json!({"port": body}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["port"].clone()
    }
}

fn spec(name: &str) -> PortProfileSpec {
    PortProfileSpec {
        name: name.into(),
        allowed_frames: AllowedFrames::All,
        allowed_vlans: vec![],
        mtu: None,
        security_groups: vec![],
        qos_policy_id: None,
        networks: vec![],
    }
}

#[tokio::test]
async fn profiles_give_defaults_and_refuse_frame_types() {
    let api = Api::new().await;
    let net = api.network("n").await;
    let (_, g) = api.call("POST", "/v2.0/security-groups", Some(json!({"security_group": {"name": "g"}}))).await;
    let sg: uuid::Uuid = g["security_group"]["id"].as_str().unwrap().parse().unwrap();
    let (_, p) = api.call("POST", "/v2.0/qos/policies", Some(json!({"policy": {"name": "silver"}}))).await;
    let pol = p["policy"]["id"].as_str().unwrap().to_string();
    api.call("POST", &format!("/v2.0/qos/policies/{pol}/bandwidth_limit_rules"), Some(json!({"bandwidth_limit_rule": {"max_kbps": 5000}}))).await;
    let vf = api
        .profile(PortProfileSpec {
            mtu: Some(9000),
            security_groups: vec![sg],
            qos_policy_id: Some(pol.parse().unwrap()),
            allowed_frames: AllowedFrames::TaggedOnly,
            ..spec("vf")
        })
        .await;

    // By name: MTU and rate limit in vif_details.
    let port =
        api.bind(json!({"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct", "binding:profile": {"port_profile": "vf"}})).await;
    let d = &port["binding:vif_details"];
    assert_eq!((d["mtu"].clone(), d["max_kbps"].clone()), (json!(9000), json!(5000)), "{port}");
    // Its default group counts as the port's groups for the one-set-per-
    // (switch port, VLAN) rule: a second VF there without the profile and
    // without groups differs.
    let (s, v) =
        api.call("POST", "/v2.0/ports", Some(json!({"port": {"network_id": net, "binding:host_id": "compute1", "binding:vnic_type": "direct"}}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // By id works too; tagged_only refuses an untagged (direct-physical) binding.
    let pf = api
        .bind(json!({"network_id": net, "binding:host_id": "compute2", "binding:vnic_type": "direct-physical", "binding:profile": {"port_profile": vf}}))
        .await;
    assert_eq!(pf["binding:vif_type"], "binding_failed");
    assert!(pf["binding:failure_reason"].as_str().unwrap().contains("tagged frames only"), "{pf}");
    // An unknown profile is a binding failure that names it.
    let bad =
        api.bind(json!({"network_id": net, "binding:host_id": "compute2", "binding:vnic_type": "direct", "binding:profile": {"port_profile": "gold"}})).await;
    assert_eq!(bad["binding:vif_type"], "binding_failed");
    assert!(bad["binding:failure_reason"].as_str().unwrap().contains("\"gold\" names no port profile"), "{bad}");

    // A group or policy a profile names cannot go (Neutron's in-use 409s).
    let (s, v) = api.call("DELETE", &format!("/v2.0/qos/policies/{pol}"), None).await;
    assert_eq!((s, v["NeutronError"]["type"].as_str()), (StatusCode::CONFLICT, Some("QosPolicyInUse")), "{v}");
    assert!(v["NeutronError"]["message"].as_str().unwrap().contains("port profile"), "{v}");

    // A network default applies to ports that name no profile.
    let net2 = api.network("m").await;
    api.profile(PortProfileSpec { mtu: Some(1450), networks: vec![net2.parse().unwrap()], ..spec("overlay") }).await;
    let p2 = api.bind(json!({"network_id": net2, "binding:host_id": "compute2", "binding:vnic_type": "direct"})).await;
    assert_eq!(p2["binding:vif_details"]["mtu"], 1450, "{p2}");
}
