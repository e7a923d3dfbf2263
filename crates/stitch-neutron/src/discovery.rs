//! Version and extension discovery, as clients expect it before any call.

use axum::Json;
use axum::extract::Path;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::base_url;
use crate::error::NeutronError;

/// (alias, name, description) of every extension Stitch implements.
pub const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("binding-extended", "Port Bindings Extended", "Expose port bindings of a virtual port to external application"),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("network-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("fields", "Fields", "Supports fields= to select the attributes returned"),
    ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources."),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
    ("trunk", "Trunk Extension", "Provides support for trunk ports"),
    ("trunk-details", "Trunk port details", "Expose trunk port details"),
    ("multi-provider", "Multi Provider Network", "Expose mapping of virtual networks to multiple physical networks"),
    ("segment", "Segment", "Segments extension."),
    ("l2-gateway", "L2 Gateway", "Connects Neutron networks with external networks at layer 2."),
    ("l2-gateway-connection", "L2 Gateway connection", "Connects Neutron networks with external networks at layer 2."),
    ("security-group", "security-group", "The security groups extension."),
    ("qos", "Quality of Service", "The Quality of Service extension."),
];

fn ext_json(alias: &str, name: &str, description: &str) -> Value {
    json!({"alias": alias, "name": name, "description": description, "updated": "2026-11-21T00:00:00-00:00", "links": []})
}

pub async fn versions(headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    Json(json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": format!("{base}/v2.0/"), "rel": "self"}]}]}))
}

pub async fn resources(headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    let res: Vec<Value> = [
        ("network", "networks"),
        ("port", "ports"),
        ("segment", "segments"),
        ("trunk", "trunks"),
        ("l2_gateway", "l2-gateways"),
        ("l2_gateway_connection", "l2-gateway-connections"),
        ("security_group", "security-groups"),
        ("security_group_rule", "security-group-rules"),
    ]
    .iter()
    .map(|(n, c)| json!({"name": n, "collection": c, "links": [{"href": format!("{base}/v2.0/{c}"), "rel": "self"}]}))
    .collect();
    Json(json!({"resources": res}))
}

pub async fn extensions() -> Json<Value> {
    Json(json!({"extensions": EXTENSIONS.iter().map(|(a, n, d)| ext_json(a, n, d)).collect::<Vec<_>>()}))
}

pub async fn extension(Path(alias): Path<String>) -> Result<Json<Value>, NeutronError> {
    EXTENSIONS
        .iter()
        .find(|(a, _, _)| *a == alias)
        .map(|(a, n, d)| Json(json!({"extension": ext_json(a, n, d)})))
        .ok_or_else(|| NeutronError::not_found("ExtensionNotFound", format!("Extension with alias {alias} does not exist")))
}
