//! What the fabric is doing: switch status and dry-run plans, virtual port
//! groups (automatic ones read-only, manual ones for static attachments),
//! and the stored view of networks (their overlay VNI).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use stitch_engine::compile::endpoint_key;
use stitch_model::Snapshot;
use stitch_model::inventory::{AnyObject, Kind, Object};
use stitch_model::neutron::VpgSpec;
use stitch_model::snapshot::Change;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, code};

pub fn routes(r: axum::Router<AppState>) -> axum::Router<AppState> {
    r.route("/v1/switches/{id}/status", get(switch_status))
        .route("/v1/switches/{id}/plan", get(switch_plan))
        .route("/v1/status", get(fabric_status))
        .route("/v1/virtual-port-groups", get(list_vpgs).post(create_vpg))
        .route("/v1/virtual-port-groups/{id}", get(show_vpg).delete(delete_vpg))
        .route("/v1/networks", get(list_networks))
        .route("/v1/networks/{id}", get(show_network))
}

fn parse_id(s: &str, kind: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(s).map_err(|_| ApiError::bad_request(code::INVALID_VALUE, "id", format!("invalid {kind} id {s:?}: not a UUID")))
}

fn switch_json(st: &AppState, snap: &Snapshot, id: Uuid) -> Result<Value, ApiError> {
    let sw = snap.switches.get(&id).ok_or_else(|| ApiError::not_found(format!("switch {id} not found")))?;
    let status = st.status.get(&id).unwrap_or_default();
    let reconciling = st.engine.is_some();
    Ok(json!({
        "switch_id": id,
        "name": sw.spec.name,
        "endpoint": endpoint_key(sw),
        "reconciling": reconciling,
        "connected": status.connected,
        "in_sync": status.in_sync && status.applied_revision >= snap.revision,
        "applied_revision": status.applied_revision,
        "catalog_revision": snap.revision,
        "last_error": status.last_error,
        "problems": status.problems,
        "faults": status.faults,
        "unsupported_source_node_replication": status.faults.iter().any(|f| f == "unsupported_source_node_replication"),
        "reconciles": status.reconciles,
        "total_ops": status.total_ops,
    }))
}

async fn switch_status(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "switch")?;
    Ok(Json(switch_json(&st, &st.catalog.snapshot(), id)?))
}

async fn fabric_status(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snap = st.catalog.snapshot();
    let switches = snap.switches.iter().map(|s| switch_json(&st, &snap, s.id)).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({"revision": snap.revision, "switches": switches})))
}

/// The operations the next reconcile would send to this switch's database.
async fn switch_plan(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "switch")?;
    let snap = st.catalog.snapshot();
    if snap.switches.get(&id).is_none() {
        return Err(ApiError::not_found(format!("switch {id} not found")));
    }
    let engine = st.engine.as_ref().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code::CONFLICT, "the reconciler is not running"))?;
    let plan = engine
        .dry_run(id)
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code::CONFLICT, "the switch's database has not been read yet (not connected?)"))?;
    let ops: Vec<Value> = plan.ops.iter().zip(plan.notes.iter()).map(|(op, note)| json!({"summary": note.summary, "operation": op.to_json()})).collect();
    Ok(Json(json!({
        "switch_id": id,
        "revision": snap.revision,
        "in_sync": ops.is_empty(),
        "operations": ops,
        "problems": plan.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
    })))
}

fn vpg_json(st: &AppState, snap: &Snapshot, g: &Object<VpgSpec>) -> Value {
    let mut v = AnyObject::VirtualPortGroup(g.clone()).to_json();
    v["switch"] = json!(snap.switches.get(&g.spec.switch_id).map(|s| s.spec.name.clone()));
    v["vni"] = json!(snap.networks.get(&g.spec.network_id).map(|n| n.spec.vni.get()));
    v["in_sync"] = json!(st.status.vpg_in_sync(snap, g));
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VpgFilter {
    network_id: Option<Uuid>,
    switch_id: Option<Uuid>,
    port_id: Option<Uuid>,
    automatic: Option<bool>,
}

async fn list_vpgs(State(st): State<AppState>, q: Result<Query<VpgFilter>, axum::extract::rejection::QueryRejection>) -> Result<Json<Value>, ApiError> {
    let Query(f) = q.map_err(|e| ApiError::bad_request(code::UNKNOWN_FIELD, "", e.body_text()))?;
    let snap = st.catalog.snapshot();
    let groups: Vec<Value> = snap
        .vpgs
        .iter()
        .filter(|g| f.network_id.is_none_or(|n| g.spec.network_id == n))
        .filter(|g| f.switch_id.is_none_or(|n| g.spec.switch_id == n))
        .filter(|g| f.port_id.is_none_or(|p| g.spec.port_ids.contains(&p)))
        .filter(|g| f.automatic.is_none_or(|a| g.spec.automatic == a))
        .map(|g| vpg_json(&st, &snap, g))
        .collect();
    Ok(Json(json!({"virtual_port_groups": groups})))
}

async fn show_vpg(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "virtual port group")?;
    let snap = st.catalog.snapshot();
    let g = snap.vpgs.get(&id).ok_or_else(|| ApiError::not_found(format!("virtual port group {id} not found")))?;
    Ok(Json(vpg_json(&st, &snap, g)))
}

/// A manual group: static switch ports + VLAN attached to a network (bare
/// metal without Ironic, appliances). Its VLAN must not clash on those ports.
async fn create_vpg(State(st): State<AppState>, body: Bytes) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut de = serde_json::Deserializer::from_slice(&body);
    let mut spec: VpgSpec = serde_path_to_error::deserialize(&mut de).map_err(ApiError::from_json)?;
    if spec.automatic {
        return Err(ApiError::bad_request(code::READ_ONLY_FIELD, "automatic", "automatic groups are created by port bindings"));
    }
    for (field, list) in [("draining", &spec.draining), ("pending", &spec.pending), ("standby", &spec.standby)] {
        if !list.is_empty() {
            return Err(ApiError::bad_request(code::READ_ONLY_FIELD, field, format!("{field} is managed by port binding and migration")));
        }
    }
    if !spec.port_ids.is_empty() {
        return Err(ApiError::bad_request(code::READ_ONLY_FIELD, "port_ids", "a manual group has no Neutron ports"));
    }
    spec.switch_ports.sort();
    spec.switch_ports.dedup();
    let now = OffsetDateTime::now_utc();
    let g = Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec };
    let gid = g.id;
    let (snap, _) = st
        .catalog
        .update(|snap| {
            for other in snap.vpgs.iter().filter(|o| {
                o.spec.switch_id == g.spec.switch_id
                    && o.spec.network_id != g.spec.network_id
                    && o.spec.switch_ports.iter().any(|p| g.spec.switch_ports.contains(p))
            }) {
                if other.spec.vlan == g.spec.vlan || other.spec.vlan == 0 || g.spec.vlan == 0 {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        code::CONFLICT,
                        format!(
                            "VLAN {} on those switch ports conflicts with virtual port group {:?} (network {})",
                            g.spec.vlan, other.spec.name, other.spec.network_id
                        ),
                    )
                    .with_field("vlan"));
                }
            }
            Ok(vec![Change::Put(AnyObject::VirtualPortGroup(g.clone()))])
        })
        .await
        .map_err(|e| match e {
            stitch_store::UpdateError::Refused(a) => a,
            stitch_store::UpdateError::Catalog(c) => c.into(),
        })?;
    let g = snap.vpgs.get(&gid).ok_or_else(|| ApiError::not_found("group vanished"))?;
    Ok((StatusCode::CREATED, Json(vpg_json(&st, &snap, g))))
}

async fn delete_vpg(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "virtual port group")?;
    st.catalog
        .update(|snap| {
            let g = snap.vpgs.get(&id).ok_or_else(|| ApiError::not_found(format!("virtual port group {id} not found")))?;
            if g.spec.automatic {
                return Err(ApiError::new(StatusCode::CONFLICT, code::CONFLICT, "automatic groups follow their ports; unbind or delete the ports instead"));
            }
            Ok(vec![Change::Delete(Kind::VirtualPortGroup, id)])
        })
        .await
        .map_err(|e| match e {
            stitch_store::UpdateError::Refused(a) => a,
            stitch_store::UpdateError::Catalog(c) => c.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

fn network_json(snap: &Snapshot, id: Uuid) -> Option<Value> {
    let n = snap.networks.get(&id)?;
    let mut v = AnyObject::Network(n.clone()).to_json();
    v["virtual_port_groups"] = json!(snap.vpgs.iter().filter(|g| g.spec.network_id == id).map(|g| g.id).collect::<Vec<_>>());
    Some(v)
}

async fn list_networks(State(st): State<AppState>) -> Json<Value> {
    let snap = st.catalog.snapshot();
    Json(json!({"networks": snap.networks.iter().filter_map(|n| network_json(&snap, n.id)).collect::<Vec<_>>()}))
}

async fn show_network(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "network")?;
    network_json(&st.catalog.snapshot(), id).map(Json).ok_or_else(|| ApiError::not_found(format!("network {id} not found")))
}

/// The OpenAPI operations of these routes (their bodies are documented as
/// free-form objects; the fields are described in each summary).
pub fn openapi_paths() -> Vec<(String, utoipa::openapi::path::HttpMethod, utoipa::openapi::path::Operation)> {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Required, content::Content};

    let object = || Content::new(Some(ObjectBuilder::new().schema_type(Type::Object)));
    let id = |what: &str| {
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(format!("The {what}'s id (UUID)")))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let op = |tag: &str, op_id: &str, summary: &str, ok: &str| {
        OperationBuilder::new()
            .tag(tag)
            .operation_id(Some(op_id))
            .summary(Some(summary))
            .response(ok, ResponseBuilder::new().description("OK").content("application/json", object()))
    };
    let err =
        |b: OperationBuilder, status: &str, what: &str| b.response(status, ResponseBuilder::new().description(what).content("application/json", object()));
    vec![
        (
            "/v1/switches/{id}/status".into(),
            HttpMethod::Get,
            err(
                op("switches", "switch_status", "Reconcile status: connected, in_sync, applied_revision, last_error, problems, faults", "200")
                    .parameter(id("switch")),
                "404",
                "No such switch",
            )
            .build(),
        ),
        (
            "/v1/switches/{id}/plan".into(),
            HttpMethod::Get,
            err(
                err(
                    op("switches", "switch_plan", "Dry run: the OVSDB operations the next reconcile would send, and what it cannot do", "200")
                        .parameter(id("switch")),
                    "404",
                    "No such switch",
                ),
                "503",
                "Not reconciling, or the switch's database has not been read yet",
            )
            .build(),
        ),
        ("/v1/status".into(), HttpMethod::Get, op("switches", "fabric_status", "Status of every switch", "200").build()),
        (
            "/v1/virtual-port-groups".into(),
            HttpMethod::Get,
            op(
                "virtual-port-groups",
                "list_virtual_port_groups",
                "Virtual port groups (filters: network_id, switch_id, port_id, automatic), each with in_sync",
                "200",
            )
            .build(),
        ),
        (
            "/v1/virtual-port-groups".into(),
            HttpMethod::Post,
            err(
                err(
                    op(
                        "virtual-port-groups",
                        "create_virtual_port_group",
                        "Create a manual group: {name, switch_id, switch_ports, network_id, vlan (0 = untagged)}",
                        "201",
                    ),
                    "400",
                    "Invalid body",
                ),
                "409",
                "The VLAN clashes with another group on those ports",
            )
            .build(),
        ),
        (
            "/v1/virtual-port-groups/{id}".into(),
            HttpMethod::Get,
            err(op("virtual-port-groups", "show_virtual_port_group", "One group", "200").parameter(id("virtual port group")), "404", "No such group").build(),
        ),
        (
            "/v1/virtual-port-groups/{id}".into(),
            HttpMethod::Delete,
            err(
                op("virtual-port-groups", "delete_virtual_port_group", "Delete a manual group (automatic ones follow their ports)", "204")
                    .parameter(id("virtual port group")),
                "409",
                "An automatic group",
            )
            .build(),
        ),
        (
            "/v1/networks".into(),
            HttpMethod::Get,
            op("networks", "list_stored_networks", "Networks as stored, with the overlay VNI and their groups (read-only; write through /v2.0)", "200").build(),
        ),
        (
            "/v1/networks/{id}".into(),
            HttpMethod::Get,
            err(op("networks", "show_stored_network", "One stored network", "200").parameter(id("network")), "404", "No such network").build(),
        ),
    ]
}
