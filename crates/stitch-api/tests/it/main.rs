//! API tests on the router with an in-memory catalog (one binary, see DESIGN.md).

mod apply;
mod crud;
mod errors;
mod openapi;
mod port_profiles;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use stitch_api::{AppState, router};
use stitch_store::{Catalog, MemStore};
use tower::ServiceExt;

pub struct Api {
    pub app: axum::Router,
    pub catalog: Arc<Catalog>,
}

impl Api {
    pub async fn new() -> Api {
        let catalog = Arc::new(Catalog::open(Arc::new(MemStore::new())).await.unwrap());
        Api { app: router(AppState::new(catalog.clone())), catalog }
    }

    pub async fn raw(&self, method: Method, uri: &str, body: Option<&[u8]>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map(|b| Body::from(b.to_vec())).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())) };
        (status, v)
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let b = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, uri, b.as_deref()).await
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, None).await
    }

    /// POST that must succeed with 201; returns the object's id.
    pub async fn create(&self, kind: &str, body: Value) -> String {
        let (s, v) = self.call(Method::POST, &format!("/v1/{kind}"), Some(body.clone())).await;
        assert_eq!(s, StatusCode::CREATED, "{kind} {body}: {v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Every list, for before/after comparisons.
    pub async fn dump(&self) -> Value {
        let mut out = serde_json::Map::new();
        for k in ["fabrics", "switches", "switch-ports", "hardware", "cards", "node-profiles", "nodes"] {
            out.insert(k.into(), self.get(&format!("/v1/{k}")).await.1);
        }
        Value::Object(out)
    }

    /// A fabric, a switch, hardware, a card, a profile and a cabled node.
    pub async fn seed(&self) -> Seed {
        let fabric = self.create("fabrics", json!({"name": "dc1", "vlan_range": [2, 3000]})).await;
        let switch = self.create("switches", json!({"name": "leaf1", "fabric_id": fabric, "ovsdb": "unix:/run/l1.sock", "tunnel_ip": "10.0.0.1"})).await;
        let hardware = self.create("hardware", json!({"name": "hw1", "model": "R650"})).await;
        let card = self.create("cards", json!({"name": "c1", "hardware_ids": [hardware], "interface_map": [{"name": "ens1f0", "labels": ["sriov"]}]})).await;
        let profile = self.create("node-profiles", json!({"name": "p1", "hardware_ids": [hardware]})).await;
        let node = self
            .create("nodes", json!({"name": "n1", "node_profile_id": profile, "ports": [{"name": "ens1f0", "switch_id": switch, "switch_port": "swp1"}]}))
            .await;
        Seed { fabric, switch, hardware, card, profile, node }
    }
}

#[allow(dead_code)]
pub struct Seed {
    pub fabric: String,
    pub switch: String,
    pub hardware: String,
    pub card: String,
    pub profile: String,
    pub node: String,
}
