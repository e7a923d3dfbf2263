//! OpenStack Networking (Neutron) v2.0 compatible northbound API.
//!
//! Served: version discovery (`/`, `/v2.0/`), `extensions`, `networks`
//! (with `provider` and `multi-provider`), `segments`, `ports` (with
//! `binding` and `trunk_details`), `trunks`, `l2-gateways` and
//! `l2-gateway-connections` (networking-l2gw), `security-groups` and
//! `security-group-rules`, `qos/policies` with `bandwidth_limit_rules`;
//! envelopes, all-or-nothing
//! bulk create, filters on any attribute, `fields=`, sorting and
//! `limit`/`marker` pagination, Neutron-style errors. Writes go through the
//! binding engine under the catalog's writer lock; a port's binding (and its
//! `binding:vif_details.vlan`) is in the response to the request that binds it.

pub mod attrs;
mod binding;
mod discovery;
pub mod error;
mod l2gw;
mod network;
mod port;
mod qos;
pub mod query;
mod security_group;
mod segment;
mod trunk;
mod util;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};
use stitch_engine::bind;
use stitch_engine::status::StatusBoard;
use stitch_model::inventory::Object;
use stitch_model::neutron::PortSpec;
use stitch_model::snapshot::{Change, SystemContext};
use stitch_model::{Draft, Kind, MacAddr, Snapshot};
use stitch_store::Catalog;
use uuid::Uuid;

pub use error::NeutronError;
use query::ListQuery;

/// What the Neutron handlers need.
#[derive(Clone)]
pub struct NeutronState {
    pub catalog: Arc<Catalog>,
    pub status: Arc<StatusBoard>,
}

/// The Neutron routes, ready to merge into the main router.
pub fn router(state: NeutronState) -> Router {
    Router::new()
        .route("/", get(discovery::versions))
        .route("/v2.0", get(discovery::resources))
        .route("/v2.0/", get(discovery::resources))
        .route("/v2.0/extensions", get(discovery::extensions))
        .route("/v2.0/extensions/{alias}", get(discovery::extension))
        .route("/v2.0/networks", get(list_networks).post(create_networks))
        .route("/v2.0/networks/{id}", get(show_network).put(update_network).delete(delete_network))
        .route("/v2.0/ports", get(list_ports).post(create_ports))
        .route("/v2.0/ports/{id}", get(show_port).put(update_port).delete(delete_port))
        .merge(binding::routes())
        .merge(trunk::routes())
        .merge(segment::routes())
        .merge(l2gw::routes())
        .merge(security_group::routes())
        .merge(qos::routes())
        .with_state(state)
}

type Result<T> = std::result::Result<T, NeutronError>;

pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

fn id_of(s: &str, kind: &str) -> Result<Uuid> {
    Uuid::try_parse(s).map_err(|_| NeutronError::not_found(&format!("{kind}NotFound"), format!("{kind} {s} could not be found.")))
}

fn attr_names(t: attrs::AttrTable) -> Vec<&'static str> {
    t.iter().map(|(n, _)| *n).collect()
}

fn one(key: &str, item: Map<String, Value>) -> Value {
    Value::Object(Map::from_iter([(key.to_string(), Value::Object(item))]))
}

/// 201 with `{"<singular>": rep}` or, for a bulk request, `{"<plural>": [...]}`.
/// The representations move into the body (`json!` would serialize them
/// into a copy first).
pub(crate) fn created_reps(singular: &str, plural: &str, reps: Vec<Value>, bulk: bool) -> Response {
    let (key, v) = if bulk { (plural, Value::Array(reps)) } else { (singular, reps.into_iter().next().unwrap_or(Value::Null)) };
    created(Value::Object(Map::from_iter([(key.to_string(), v)])))
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// Run `step` for each item on a draft of the snapshot (a bulk request is
/// one transaction): each item's changes are applied to the draft, so later
/// items see earlier ones, and the catalog stores the draft as it is.
fn bulk<T>(d: &mut Draft, items: Vec<T>, mut step: impl FnMut(&Snapshot, T) -> Result<(Uuid, Vec<Change>)>) -> Result<Vec<Uuid>> {
    bulk_in(d, items, |d, item| {
        let (id, changes) = step(d.snap(), item)?;
        d.apply(changes, &mut SystemContext)?;
        Ok(id)
    })
}

/// As [`bulk`], for steps that apply their changes to the draft themselves.
fn bulk_in<T>(d: &mut Draft, items: Vec<T>, mut step: impl FnMut(&mut Draft, T) -> Result<Uuid>) -> Result<Vec<Uuid>> {
    let many = items.len() > 1;
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let id = step(d, item).map_err(|mut e| {
            if many {
                e.message = format!("item {i}: {}", e.message);
            }
            e
        })?;
        ids.push(id);
    }
    Ok(ids)
}

// ------------------------------------------------------------------ networks

async fn list_networks(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let items = snap.networks.iter().map(|n| network::to_json(&snap, n)).collect();
    Ok(axum::Json(query::list_response(items, &attr_names(network::ATTRS), &q, "networks", &format!("{}/v2.0/networks", base_url(&headers)))?))
}

async fn show_network(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "Network")?;
    let snap = st.catalog.snapshot();
    let n = snap.networks.get(&id).ok_or_else(|| NeutronError::not_found("NetworkNotFound", format!("Network {id} could not be found.")))?;
    Ok(axum::Json(one("network", query::project(network::to_json(&snap, n), &q))))
}

async fn create_networks(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "network", "networks")?;
    let parsed = items.iter().map(network::parse_create).collect::<Result<Vec<_>>>()?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk_in(d, parsed, |d, new| {
                let id = new.net.id;
                let changes = bind::put_network(d.snap(), new.net, new.vni)?;
                qos::with_network_policy(d, id, changes)?;
                for seg in new.segments {
                    let more = bind::put_segment(d.snap(), seg)?;
                    d.apply(more, &mut SystemContext)?;
                }
                Ok(id)
            })?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps: Vec<_> = ids.iter().filter_map(|id| snap.networks.get(id)).map(|n| Value::Object(network::to_json(&snap, n))).collect();
    Ok(created_reps("network", "networks", reps, is_bulk))
}

async fn update_network(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Network")?;
    let body = attrs::update_body(&body, "network", "networks")?;
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            let snap = d.snap();
            let n = snap.networks.get(&id).ok_or_else(|| NeutronError::not_found("NetworkNotFound", format!("Network {id} could not be found.")))?;
            let n = network::apply_update(n.clone(), &body)?;
            let changes = bind::put_network(snap, n, None)?;
            qos::with_network_policy(d, id, changes)
        })
        .await?;
    let n = snap.networks.get(&id).ok_or_else(|| NeutronError::not_found("NetworkNotFound", "gone"))?;
    Ok(axum::Json(one("network", network::to_json(&snap, n))))
}

/// Delete a network with its stored segments (refused while ports, trunks'
/// subports or gateway connections use it).
async fn delete_network(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = id_of(&id, "Network")?;
    st.catalog
        .update(|snap| {
            let mut changes: Vec<Change> = snap.segments_of_network(id).map(|s| Change::Delete(Kind::Segment, s.id)).collect();
            changes.push(Change::Delete(Kind::Network, id));
            Ok::<_, NeutronError>(changes)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ ports

async fn list_ports(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    // The attributes of a rendered port, which filters and sort keys may
    // name even when the ports rendered below are few or none.
    let sample: Vec<String> = snap.ports.iter().next().map(|p| port::to_json(&snap, &st.status, p).keys().cloned().collect()).unwrap_or_default();
    let url = format!("{}/v2.0/ports", base_url(&headers));
    // A page of every port in id order: render the marker's port and the
    // page (one more, to know whether there is a next), not every port. A
    // marker that is not a port's id as rendered takes the general path
    // (and its 404).
    if let Some((limit, marker)) = q.plain_page() {
        let after = match marker {
            None => Some(None),
            Some(m) => Uuid::try_parse(m).ok().filter(|u| u.to_string() == m).and_then(|u| snap.ports.get(&u)).map(Some),
        };
        if let Some(after) = after {
            let items =
                after.into_iter().chain(snap.ports.iter_after(after.map(|p| p.id)).take(limit + 1)).map(|p| port::to_json(&snap, &st.status, p)).collect();
            return Ok(axum::Json(query::list_response_of(items, &attr_names(port::ATTRS), &sample, &q, "ports", &url)?));
        }
    }
    // Filters on plain attributes (what agents and nova ask for: a
    // device's ports, a network's) narrow the stored ports before
    // rendering, to a superset of the answer: a filtered list renders its
    // matches, not every port. `list_response` then applies every filter
    // to the rendered ports as before.
    let plain: Vec<(&str, Vec<&str>)> =
        ["device_id", "device_owner", "binding:host_id", "name"].into_iter().filter_map(|k| q.filter(k).map(|w| (k, w))).collect();
    // A MAC's rendered text is canonical, so a wanted value that does not
    // parse matches nothing, and one that does can only be that MAC.
    let macs: Option<Vec<MacAddr>> = q.filter("mac_address").map(|w| w.iter().filter_map(|m| m.parse().ok()).collect());
    let keep = |p: &Object<PortSpec>| {
        let s = &p.spec;
        macs.as_ref().is_none_or(|m| m.contains(&s.mac_address))
            && plain.iter().all(|(k, wanted)| {
                let value: &str = match *k {
                    "device_id" => &s.device_id,
                    "device_owner" => &s.device_owner,
                    "binding:host_id" => &s.host_id,
                    _ => &s.name,
                };
                wanted.contains(&value)
            })
    };
    // By id, or by index for networks: the ports asked for, or those of
    // the networks asked for (values that are not ids match nothing).
    let listed: Option<Vec<Uuid>> = match (q.filter("id"), q.filter("network_id")) {
        (Some(ids), _) => Some(ids.iter().filter_map(|i| Uuid::try_parse(i).ok()).collect()),
        (None, Some(nets)) => Some(nets.iter().filter_map(|n| Uuid::try_parse(n).ok()).flat_map(|n| snap.port_macs_of_network(n).map(|(p, _)| p)).collect()),
        (None, None) => None,
    };
    let candidates: Vec<&Object<PortSpec>> = match listed {
        Some(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            ids.iter().filter_map(|id| snap.ports.get(id)).filter(|p| keep(p)).collect()
        }
        None => snap.ports.iter().filter(|p| keep(p)).collect(),
    };
    let items = candidates.into_iter().map(|p| port::to_json(&snap, &st.status, p)).collect();
    Ok(axum::Json(query::list_response_of(items, &attr_names(port::ATTRS), &sample, &q, "ports", &url)?))
}

async fn show_port(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "Port")?;
    let snap = st.catalog.snapshot();
    let p = snap.ports.get(&id).ok_or_else(|| NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")))?;
    Ok(axum::Json(one("port", query::project(port::to_json(&snap, &st.status, p), &q))))
}

async fn create_ports(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "port", "ports")?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk_in(d, items, |d, body| {
                let p = port::parse_create(d.snap(), &body)?;
                let id = p.id;
                bind::put_port_in(d, p)?;
                Ok(id)
            })?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps: Vec<_> = ids.iter().filter_map(|id| snap.ports.get(id)).map(|p| Value::Object(port::to_json(&snap, &st.status, p))).collect();
    Ok(created_reps("port", "ports", reps, is_bulk))
}

async fn update_port(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Port")?;
    let body = attrs::update_body(&body, "port", "ports")?;
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            let p = d.snap().ports.get(&id).ok_or_else(|| NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")))?;
            let p = port::apply_update(p.clone(), &body)?;
            Ok::<_, NeutronError>(bind::put_port_in(d, p)?)
        })
        .await?;
    let p = snap.ports.get(&id).ok_or_else(|| NeutronError::not_found("PortNotFound", "gone"))?;
    Ok(axum::Json(one("port", port::to_json(&snap, &st.status, p))))
}

async fn delete_port(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = id_of(&id, "Port")?;
    st.catalog.update(|snap| bind::delete_port(snap, id).map_err(NeutronError::from)).await?;
    Ok(StatusCode::NO_CONTENT)
}
