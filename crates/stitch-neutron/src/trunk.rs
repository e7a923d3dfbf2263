//! `/v2.0/trunks` (Neutron's `trunk` extension) and the parent port's
//! `trunk_details` (`trunk-details`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Map, Value, json};
use stitch_engine::bind;
use stitch_engine::status::StatusBoard;
use stitch_model::Snapshot;
use stitch_model::inventory::Object;
use stitch_model::neutron::{SegmentationType, SubPort, TrunkSpec};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::query::{self, ListQuery};
use crate::util::{project_of, ts};
use crate::{NeutronState, Result, attr_names, base_url, bulk, created_reps, id_of, one};

pub const ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("status", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("name", Access::Both),
    ("description", Access::Both),
    ("admin_state_up", Access::Both),
    ("port_id", Access::Create),
    ("sub_ports", Access::Create),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
    ("tags", Access::Ignored),
];

pub fn routes() -> Router<NeutronState> {
    Router::new()
        .route("/v2.0/trunks", get(list).post(create))
        .route("/v2.0/trunks/{id}", get(show).put(update).delete(delete))
        .route("/v2.0/trunks/{id}/add_subports", put(add_subports))
        .route("/v2.0/trunks/{id}/remove_subports", put(remove_subports))
        .route("/v2.0/trunks/{id}/get_subports", get(get_subports))
}

fn bad(reason: impl std::fmt::Display) -> NeutronError {
    NeutronError::bad_request(format!("Invalid input for sub_ports. Reason: {reason}."))
}

fn not_found(id: Uuid) -> NeutronError {
    NeutronError::not_found("TrunkNotFound", format!("Trunk {id} could not be found."))
}

/// Parse `sub_ports` entries; `inherit` takes the VLAN of the subport's network.
fn parse_subports(snap: &Snapshot, list: &[Value]) -> Result<Vec<SubPort>> {
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else { return Err(bad(format!("entry {i} is not a dictionary"))) };
        if let Some(k) = m.keys().find(|k| !["port_id", "segmentation_type", "segmentation_id"].contains(&k.as_str())) {
            return Err(bad(format!("unrecognized attribute '{k}' in entry {i}")));
        }
        let port_id = attrs::uuid(m, "port_id")?.ok_or_else(|| bad(format!("entry {i} has no port_id")))?;
        let ty = match attrs::string(m, "segmentation_type")?.as_deref() {
            Some("vlan") => SegmentationType::Vlan,
            Some("inherit") => SegmentationType::Inherit,
            None => return Err(bad(format!("entry {i} has no segmentation_type"))),
            Some(other) => return Err(bad(format!("segmentation_type '{other}' is not in [vlan, inherit]"))),
        };
        let given = attrs::integer(m, "segmentation_id")?;
        let vlan = match ty {
            SegmentationType::Vlan => match given {
                Some(v) if (1..=4094).contains(&v) => v as u16,
                Some(v) => return Err(bad(format!("segmentation_id {v} is not a valid VLAN (1-4094)"))),
                None => return Err(bad(format!("entry {i} (segmentation_type vlan) has no segmentation_id"))),
            },
            SegmentationType::Inherit => {
                let v = bind::inherited_vlan(snap, port_id)?;
                if given.is_some_and(|g| g != i64::from(v)) {
                    return Err(bad(format!("segmentation_id {} differs from the VLAN {v} that port {port_id} inherits", given.unwrap_or_default())));
                }
                v
            }
        };
        out.push(SubPort { port_id, segmentation_type: ty, segmentation_id: vlan });
    }
    Ok(out)
}

fn parse_create(snap: &Snapshot, body: &Map<String, Value>) -> Result<Object<TrunkSpec>> {
    attrs::check_allowed(body, ATTRS, true, "trunk")?;
    let port_id =
        attrs::uuid(body, "port_id")?.ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'port_id' not specified"))?;
    let subs = attrs::list(body, "sub_ports")?.unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let spec = TrunkSpec {
        name: attrs::string(body, "name")?.unwrap_or_default(),
        project_id: attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default(),
        description: attrs::string(body, "description")?.unwrap_or_default(),
        admin_state_up: attrs::boolean(body, "admin_state_up")?.unwrap_or(true),
        port_id,
        sub_ports: parse_subports(snap, &subs)?,
    };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

fn subports_json(snap: &Snapshot, t: &TrunkSpec, with_mac: bool) -> Vec<Value> {
    t.sub_ports
        .iter()
        .map(|s| {
            let mut v = json!({"port_id": s.port_id, "segmentation_type": s.segmentation_type.as_str(), "segmentation_id": s.segmentation_id});
            if with_mac {
                v["mac_address"] = json!(snap.ports.get(&s.port_id).map(|p| p.spec.mac_address.to_string()));
            }
            v
        })
        .collect()
}

/// Neutron's trunk status: `DOWN` (parent not bound), `ERROR` (parent
/// binding failed), `DEGRADED` (a subport failed), `BUILD` (switches not yet
/// acknowledged), `ACTIVE`.
fn status(snap: &Snapshot, board: &StatusBoard, t: &Object<TrunkSpec>) -> &'static str {
    let Some(parent) = snap.ports.get(&t.spec.port_id) else { return "ERROR" };
    if parent.spec.host_id.is_empty() {
        return "DOWN";
    }
    if !parent.spec.binding.is_bound() {
        return "ERROR";
    }
    let subs: Vec<_> = t.spec.sub_ports.iter().filter_map(|s| snap.ports.get(&s.port_id)).collect();
    if subs.iter().any(|p| !p.spec.binding.is_bound()) {
        return "DEGRADED";
    }
    if std::iter::once(parent).chain(subs).all(|p| board.port_status(snap, p) == "ACTIVE") { "ACTIVE" } else { "BUILD" }
}

pub fn to_json(snap: &Snapshot, board: &StatusBoard, t: &Object<TrunkSpec>) -> Map<String, Value> {
    let s = &t.spec;
    project_of(json!({
        "id": t.id,
        "name": s.name,
        "description": s.description,
        "tenant_id": s.project_id,
        "project_id": s.project_id,
        "admin_state_up": s.admin_state_up,
        "port_id": s.port_id,
        "status": status(snap, board, t),
        "sub_ports": subports_json(snap, s, false),
        "tags": [],
        "created_at": ts(t.created_at),
        "updated_at": ts(t.updated_at),
        "revision_number": snap.mod_revision(&t.id),
    }))
}

/// `trunk_details` of a parent port, as Neutron shows it.
pub fn details(snap: &Snapshot, port: Uuid) -> Option<Value> {
    let t = snap.trunk_with_parent(port)?;
    Some(json!({"trunk_id": t.id, "sub_ports": subports_json(snap, &t.spec, true)}))
}

async fn list(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let items = snap.trunks.iter().map(|t| to_json(&snap, &st.status, t)).collect();
    Ok(axum::Json(query::list_response(items, &attr_names(ATTRS), &q, "trunks", &format!("{}/v2.0/trunks", base_url(&headers)))?))
}

async fn show(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "Trunk")?;
    let snap = st.catalog.snapshot();
    let t = snap.trunks.get(&id).ok_or_else(|| not_found(id))?;
    Ok(axum::Json(one("trunk", query::project(to_json(&snap, &st.status, t), &q))))
}

async fn create(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "trunk", "trunks")?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, items, |cur, body| {
                let t = parse_create(cur, &body)?;
                Ok((t.id, bind::put_trunk(cur, t)?))
            })?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps: Vec<_> = ids.iter().filter_map(|id| snap.trunks.get(id)).map(|t| Value::Object(to_json(&snap, &st.status, t))).collect();
    Ok(created_reps("trunk", "trunks", reps, is_bulk))
}

/// Run `edit` on the stored trunk under the writer lock and store the result.
async fn modify(st: &NeutronState, id: Uuid, edit: impl FnOnce(&Snapshot, &mut Object<TrunkSpec>) -> Result<()>) -> Result<(Snapshot, Object<TrunkSpec>)> {
    let (snap, _) = st
        .catalog
        .update(|snap| {
            let mut t = snap.trunks.get(&id).ok_or_else(|| not_found(id))?.clone();
            edit(snap, &mut t)?;
            t.updated_at = OffsetDateTime::now_utc();
            Ok::<_, NeutronError>(bind::put_trunk(snap, t)?)
        })
        .await?;
    let t = snap.trunks.get(&id).cloned().ok_or_else(|| not_found(id))?;
    Ok((snap, t))
}

async fn update(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Trunk")?;
    let body = attrs::update_body(&body, "trunk", "trunks")?;
    attrs::check_allowed(&body, ATTRS, false, "trunk")?;
    let (snap, t) = modify(&st, id, |_, t| {
        if let Some(v) = attrs::string(&body, "name")? {
            t.spec.name = v;
        }
        if let Some(v) = attrs::string(&body, "description")? {
            t.spec.description = v;
        }
        if let Some(v) = attrs::boolean(&body, "admin_state_up")? {
            t.spec.admin_state_up = v;
        }
        Ok(())
    })
    .await?;
    Ok(axum::Json(one("trunk", to_json(&snap, &st.status, &t))))
}

async fn delete(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = id_of(&id, "Trunk")?;
    st.catalog.update(|snap| bind::delete_trunk(snap, id).map_err(NeutronError::from)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn subports_body(body: &[u8]) -> Result<Vec<Value>> {
    let v: Value = serde_json::from_slice(body).map_err(|e| NeutronError::bad_request(format!("Malformed request body: {e}")))?;
    match v.get("sub_ports") {
        Some(Value::Array(a)) => Ok(a.clone()),
        _ => Err(NeutronError::bad_request("Invalid input: the body must be {\"sub_ports\": [...]}")),
    }
}

async fn add_subports(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Trunk")?;
    let list = subports_body(&body)?;
    let (snap, t) = modify(&st, id, |snap, t| {
        for sp in parse_subports(snap, &list)? {
            if t.spec.sub_ports.iter().any(|s| s.port_id == sp.port_id) {
                return Err(NeutronError::conflict("TrunkPortInUse", format!("Port {} is already a subport of trunk {id}.", sp.port_id)));
            }
            t.spec.sub_ports.push(sp);
        }
        Ok(())
    })
    .await?;
    Ok(axum::Json(Value::Object(to_json(&snap, &st.status, &t))))
}

async fn remove_subports(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Trunk")?;
    let list = subports_body(&body)?;
    let (snap, t) = modify(&st, id, |_, t| {
        for (i, v) in list.iter().enumerate() {
            let m = v.as_object().ok_or_else(|| bad(format!("entry {i} is not a dictionary")))?;
            let p = attrs::uuid(m, "port_id")?.ok_or_else(|| bad(format!("entry {i} has no port_id")))?;
            let before = t.spec.sub_ports.len();
            t.spec.sub_ports.retain(|s| s.port_id != p);
            if t.spec.sub_ports.len() == before {
                return Err(NeutronError::not_found("SubPortNotFound", format!("SubPort {p} could not be found in trunk {id}.")));
            }
        }
        Ok(())
    })
    .await?;
    Ok(axum::Json(Value::Object(to_json(&snap, &st.status, &t))))
}

async fn get_subports(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Trunk")?;
    let snap = st.catalog.snapshot();
    let t = snap.trunks.get(&id).ok_or_else(|| not_found(id))?;
    Ok(axum::Json(json!({"sub_ports": subports_json(&snap, &t.spec, false)})))
}
