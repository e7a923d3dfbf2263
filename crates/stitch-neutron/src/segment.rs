//! `/v2.0/segments` (the `segment` extension) and the `segments` attribute
//! of multi-segment networks (`multi-provider`).
//!
//! A network's own provider attributes are its first segment, listed with
//! an id derived from the network's; it cannot be deleted or changed here.
//! Further segments are `vlan` segments, one per physical network.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};
use stitch_engine::bind;
use stitch_model::Snapshot;
use stitch_model::inventory::Object;
use stitch_model::neutron::{NetworkSpec, NetworkType, SegmentSpec};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::query::{self, ListQuery};
use crate::util::{project_of, ts};
use crate::{NeutronState, Result, attr_names, base_url, bulk, created_reps, id_of, one};

pub const ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("network_id", Access::Create),
    ("network_type", Access::Create),
    ("physical_network", Access::Create),
    ("segmentation_id", Access::Create),
    ("name", Access::Both),
    ("description", Access::Both),
    ("tenant_id", Access::Ignored),
    ("project_id", Access::Ignored),
];

pub fn routes() -> Router<NeutronState> {
    Router::new().route("/v2.0/segments", get(list).post(create)).route("/v2.0/segments/{id}", get(show).put(update).delete(delete))
}

fn not_found(id: Uuid) -> NeutronError {
    NeutronError::not_found("SegmentNotFound", format!("Segment {id} could not be found."))
}

/// A new `vlan` segment of `network` (checked by the model and the engine).
pub fn new_segment(
    network: Uuid,
    network_type: &str,
    physnet: Option<String>,
    vlan: Option<i64>,
    name: String,
    description: String,
) -> Result<Object<SegmentSpec>> {
    if network_type != "vlan" {
        return Err(NeutronError::bad_request(format!(
            "Invalid input for network_type. Reason: only vlan segments can be added; a network has one VNI (its {network_type} segment)."
        )));
    }
    let physical_network = physnet
        .filter(|p| !p.is_empty())
        .ok_or_else(|| NeutronError::bad_request("Invalid input for physical_network. Reason: a vlan segment needs a physical network."))?;
    let vlan = match vlan {
        Some(v) if (1..=4094).contains(&v) => v as u32,
        Some(v) => return Err(NeutronError::bad_request(format!("Invalid input for segmentation_id. Reason: {v} is not in 1-4094."))),
        None => return Err(NeutronError::bad_request("Invalid input for segmentation_id. Reason: a vlan segment needs a segmentation_id.")),
    };
    let now = OffsetDateTime::now_utc();
    let spec = SegmentSpec { name, description, network_id: network, network_type: NetworkType::Vlan, physical_network, segmentation_id: vlan, index: 0 };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

fn parse_create(body: &Map<String, Value>) -> Result<Object<SegmentSpec>> {
    attrs::check_allowed(body, ATTRS, true, "segment")?;
    let net =
        attrs::uuid(body, "network_id")?.ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'network_id' not specified"))?;
    let ty = attrs::string(body, "network_type")?
        .ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'network_type' not specified"))?;
    new_segment(
        net,
        &ty,
        attrs::nullable_string(body, "physical_network")?.flatten(),
        attrs::integer(body, "segmentation_id")?,
        attrs::nullable_string(body, "name")?.flatten().unwrap_or_default(),
        attrs::string(body, "description")?.unwrap_or_default(),
    )
}

fn segment_json(snap: &Snapshot, s: &Object<SegmentSpec>) -> Map<String, Value> {
    project_of(json!({
        "id": s.id,
        "network_id": s.spec.network_id,
        "name": if s.spec.name.is_empty() { Value::Null } else { json!(s.spec.name) },
        "description": s.spec.description,
        "network_type": s.spec.network_type.as_str(),
        "physical_network": s.spec.physical_network,
        "segmentation_id": s.spec.segmentation_id,
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
        "revision_number": snap.mod_revision(&s.id),
    }))
}

/// The network's own segment, as `/v2.0/segments` lists it.
fn primary_json(snap: &Snapshot, n: &Object<NetworkSpec>) -> Map<String, Value> {
    project_of(json!({
        "id": bind::primary_segment_id(n.id),
        "network_id": n.id,
        "name": null,
        "description": "",
        "network_type": n.spec.network_type.as_str(),
        "physical_network": n.spec.physical_network,
        "segmentation_id": n.spec.segmentation_id,
        "created_at": ts(n.created_at),
        "updated_at": ts(n.updated_at),
        "revision_number": snap.mod_revision(&n.id),
    }))
}

fn all(snap: &Snapshot) -> Vec<Map<String, Value>> {
    let mut v: Vec<_> = snap.networks.iter().map(|n| primary_json(snap, n)).collect();
    v.extend(snap.segments.iter().map(|s| segment_json(snap, s)));
    v
}

fn find(snap: &Snapshot, id: Uuid) -> Option<Map<String, Value>> {
    if let Some(s) = snap.segments.get(&id) {
        return Some(segment_json(snap, s));
    }
    snap.networks.iter().find(|n| bind::primary_segment_id(n.id) == id).map(|n| primary_json(snap, n))
}

/// The `segments` attribute of a multi-segment network (provider-style keys).
pub fn network_segments(snap: &Snapshot, n: &Object<NetworkSpec>) -> Option<Vec<Value>> {
    // Only a network with stored segments has the attribute.
    snap.segments_of_network(n.id).next()?;
    let mut out = vec![json!({
        "provider:network_type": n.spec.network_type.as_str(),
        "provider:physical_network": n.spec.physical_network,
        "provider:segmentation_id": n.spec.segmentation_id,
    })];
    out.extend(
        bind::vlan_segments(snap, n)
            .into_iter()
            .filter(|s| s.id.is_some())
            .map(|s| json!({"provider:network_type": "vlan", "provider:physical_network": s.physical_network, "provider:segmentation_id": s.vlan})),
    );
    Some(out)
}

async fn list(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    Ok(axum::Json(query::list_response(all(&snap), &attr_names(ATTRS), &q, "segments", &format!("{}/v2.0/segments", base_url(&headers)))?))
}

async fn show(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "Segment")?;
    let snap = st.catalog.snapshot();
    let s = find(&snap, id).ok_or_else(|| not_found(id))?;
    Ok(axum::Json(one("segment", query::project(s, &q))))
}

async fn create(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "segment", "segments")?;
    let parsed = items.iter().map(parse_create).collect::<Result<Vec<_>>>()?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, parsed, |cur, s| Ok((s.id, bind::put_segment(cur, s)?)))?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps: Vec<_> = ids.iter().filter_map(|id| snap.segments.get(id)).map(|s| Value::Object(segment_json(&snap, s))).collect();
    Ok(created_reps("segment", "segments", reps, is_bulk))
}

async fn update(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Segment")?;
    let body = attrs::update_body(&body, "segment", "segments")?;
    attrs::check_allowed(&body, ATTRS, false, "segment")?;
    let (snap, _) = st
        .catalog
        .update(|snap| {
            let Some(s) = snap.segments.get(&id) else {
                if find(snap, id).is_some() {
                    return Err(NeutronError::conflict("SegmentInUse", format!("Segment {id} is its network's own segment: change the network instead.")));
                }
                return Err(not_found(id));
            };
            let mut s = s.clone();
            if let Some(v) = attrs::nullable_string(&body, "name")? {
                s.spec.name = v.unwrap_or_default();
            }
            if let Some(v) = attrs::string(&body, "description")? {
                s.spec.description = v;
            }
            s.updated_at = OffsetDateTime::now_utc();
            Ok(bind::put_segment(snap, s)?)
        })
        .await?;
    let s = snap.segments.get(&id).ok_or_else(|| not_found(id))?;
    Ok(axum::Json(one("segment", segment_json(&snap, s))))
}

async fn delete(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = id_of(&id, "Segment")?;
    st.catalog.update(|snap| bind::delete_segment(snap, id, OffsetDateTime::now_utc()).map_err(NeutronError::from)).await?;
    Ok(StatusCode::NO_CONTENT)
}
