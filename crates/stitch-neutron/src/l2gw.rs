//! `/v2.0/l2-gateways` and `/v2.0/l2-gateway-connections`, as
//! networking-l2gw defines them. A device is a switch (by name), its
//! interfaces switch ports; a connection binds the VLAN (the interface's
//! `segmentation_id`, else the connection's) on those ports into the
//! network's VNI.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};
use stitch_engine::bind;
use stitch_model::inventory::Object;
use stitch_model::neutron::{L2GatewaySpec, L2gwConnectionSpec, L2gwDevice, L2gwInterface};
use stitch_model::{Change, Kind, Snapshot};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::query::{self, ListQuery};
use crate::util::project_of;
use crate::{NeutronState, Result, attr_names, base_url, bulk, created_reps, id_of, one};

pub const GW_ATTRS: AttrTable =
    &[("id", Access::ReadOnly), ("name", Access::Both), ("devices", Access::Both), ("tenant_id", Access::Create), ("project_id", Access::Create)];

pub const CONN_ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("l2_gateway_id", Access::Create),
    ("network_id", Access::Create),
    ("segmentation_id", Access::Create),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
];

pub fn routes() -> Router<NeutronState> {
    Router::new()
        .route("/v2.0/l2-gateways", get(list_gw).post(create_gw))
        .route("/v2.0/l2-gateways/{id}", get(show_gw).put(update_gw).delete(delete_gw))
        .route("/v2.0/l2-gateway-connections", get(list_conn).post(create_conn))
        .route("/v2.0/l2-gateway-connections/{id}", get(show_conn).delete(delete_conn))
}

fn gw_not_found(id: Uuid) -> NeutronError {
    NeutronError::not_found("L2GatewayNotFound", format!("L2 Gateway {id} could not be found"))
}

fn conn_not_found(id: Uuid) -> NeutronError {
    NeutronError::not_found("L2GatewayConnectionNotFound", format!("The L2 Gateway Connection {id} could not be found"))
}

fn bad(attr: &str, reason: impl std::fmt::Display) -> NeutronError {
    NeutronError::bad_request(format!("Invalid input for {attr}. Reason: {reason}."))
}

fn vlan(v: &Value, attr: &str) -> Result<u16> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| (1..=4094).contains(n)).map(|n| n as u16).ok_or_else(|| bad(attr, format!("'{v}' is not a VLAN between 1 and 4094")))
}

/// Parse `devices`, resolving each `device_name` to a switch.
fn parse_devices(snap: &Snapshot, list: &[Value]) -> Result<Vec<L2gwDevice>> {
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let m = d.as_object().ok_or_else(|| bad("devices", format!("entry {i} is not a dictionary")))?;
        if let Some(k) = m.keys().find(|k| !["device_name", "interfaces"].contains(&k.as_str())) {
            return Err(bad("devices", format!("unrecognized attribute '{k}' in device {i}")));
        }
        let name = attrs::string(m, "device_name")?.ok_or_else(|| bad("devices", format!("device {i} has no device_name")))?;
        let sw = snap.switches.by_name(None, &name).ok_or_else(|| {
            NeutronError::not_found("L2GatewayDeviceNotFound", format!("L2 Gateway Device {name} could not be found (device_name must name a switch)"))
        })?;
        let ifs = attrs::list(m, "interfaces")?.ok_or_else(|| bad("devices", format!("device {i} has no interfaces")))?;
        let mut interfaces = Vec::new();
        for (j, it) in ifs.iter().enumerate() {
            let im = it.as_object().ok_or_else(|| bad("devices", format!("interface {j} of device {i} is not a dictionary")))?;
            if let Some(k) = im.keys().find(|k| !["name", "segmentation_id"].contains(&k.as_str())) {
                return Err(bad("devices", format!("unrecognized attribute '{k}' in interface {j} of device {i}")));
            }
            let iname = attrs::string(im, "name")?.ok_or_else(|| bad("devices", format!("interface {j} of device {i} has no name")))?;
            let seg = match im.get("segmentation_id") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.iter().map(|v| vlan(v, "segmentation_id")).collect::<Result<Vec<_>>>()?,
                Some(v) => vec![vlan(v, "segmentation_id")?],
            };
            interfaces.push(L2gwInterface { name: iname, segmentation_id: seg });
        }
        out.push(L2gwDevice { id: Uuid::new_v4(), device_name: name, switch_id: sw.id, interfaces });
    }
    Ok(out)
}

fn gw_json(g: &Object<L2GatewaySpec>) -> Map<String, Value> {
    let devices: Vec<Value> = g
        .spec
        .devices
        .iter()
        .map(|d| {
            let ifs: Vec<Value> = d
                .interfaces
                .iter()
                .map(|i| if i.segmentation_id.is_empty() { json!({"name": i.name}) } else { json!({"name": i.name, "segmentation_id": i.segmentation_id}) })
                .collect();
            json!({"id": d.id, "device_name": d.device_name, "interfaces": ifs})
        })
        .collect();
    project_of(json!({"id": g.id, "name": g.spec.name, "tenant_id": g.spec.project_id, "project_id": g.spec.project_id, "devices": devices}))
}

fn conn_json(c: &Object<L2gwConnectionSpec>) -> Map<String, Value> {
    project_of(json!({
        "id": c.id,
        "l2_gateway_id": c.spec.l2_gateway_id,
        "network_id": c.spec.network_id,
        "segmentation_id": c.spec.segmentation_id,
        "tenant_id": c.spec.project_id,
        "project_id": c.spec.project_id,
    }))
}

fn parse_gw(snap: &Snapshot, body: &Map<String, Value>) -> Result<Object<L2GatewaySpec>> {
    attrs::check_allowed(body, GW_ATTRS, true, "l2_gateway")?;
    let devices =
        attrs::list(body, "devices")?.ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'devices' not specified"))?;
    let now = OffsetDateTime::now_utc();
    let spec = L2GatewaySpec {
        name: attrs::string(body, "name")?.unwrap_or_default(),
        project_id: attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default(),
        devices: parse_devices(snap, &devices)?,
    };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

async fn list_gw(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let items = snap.l2_gateways.iter().map(gw_json).collect();
    Ok(axum::Json(query::list_response(items, &attr_names(GW_ATTRS), &q, "l2_gateways", &format!("{}/v2.0/l2-gateways", base_url(&headers)))?))
}

async fn show_gw(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "L2Gateway")?;
    let snap = st.catalog.snapshot();
    let g = snap.l2_gateways.get(&id).ok_or_else(|| gw_not_found(id))?;
    Ok(axum::Json(one("l2_gateway", query::project(gw_json(g), &q))))
}

async fn create_gw(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "l2_gateway", "l2_gateways")?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, items, |cur, body| {
                let g = parse_gw(cur, &body)?;
                Ok((g.id, vec![Change::Put(stitch_model::AnyObject::L2Gateway(g))]))
            })?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps: Vec<_> = ids.iter().filter_map(|id| snap.l2_gateways.get(id)).map(|g| Value::Object(gw_json(g))).collect();
    Ok(created_reps("l2_gateway", "l2_gateways", reps, is_bulk))
}

fn in_use(id: Uuid) -> NeutronError {
    NeutronError::conflict("L2GatewayInUse", format!("L2 Gateway '{id}' still has active mappings with one or more neutron networks."))
}

async fn update_gw(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "L2Gateway")?;
    let body = attrs::update_body(&body, "l2_gateway", "l2_gateways")?;
    attrs::check_allowed(&body, GW_ATTRS, false, "l2_gateway")?;
    let (snap, _) = st
        .catalog
        .update(|snap| {
            let mut g = snap.l2_gateways.get(&id).ok_or_else(|| gw_not_found(id))?.clone();
            if let Some(v) = attrs::string(&body, "name")? {
                g.spec.name = v;
            }
            if let Some(d) = attrs::list(&body, "devices")? {
                if bind::l2gw_in_use(snap, id).is_some() {
                    return Err(in_use(id));
                }
                g.spec.devices = parse_devices(snap, &d)?;
            }
            g.updated_at = OffsetDateTime::now_utc();
            Ok(vec![Change::Put(stitch_model::AnyObject::L2Gateway(g))])
        })
        .await?;
    let g = snap.l2_gateways.get(&id).ok_or_else(|| gw_not_found(id))?;
    Ok(axum::Json(one("l2_gateway", gw_json(g))))
}

async fn delete_gw(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = id_of(&id, "L2Gateway")?;
    st.catalog
        .update(|snap| {
            snap.l2_gateways.get(&id).ok_or_else(|| gw_not_found(id))?;
            if bind::l2gw_in_use(snap, id).is_some() {
                return Err(in_use(id));
            }
            Ok(vec![Change::Delete(Kind::L2Gateway, id)])
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_conn(body: &Map<String, Value>) -> Result<Object<L2gwConnectionSpec>> {
    attrs::check_allowed(body, CONN_ATTRS, true, "l2_gateway_connection")?;
    let req = |a: &str| NeutronError::bad_request(format!("Failed to parse request. Required attribute '{a}' not specified"));
    let seg = match body.get("segmentation_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(vlan(v, "segmentation_id")?),
    };
    let now = OffsetDateTime::now_utc();
    let spec = L2gwConnectionSpec {
        name: String::new(),
        project_id: attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default(),
        l2_gateway_id: attrs::uuid(body, "l2_gateway_id")?.ok_or_else(|| req("l2_gateway_id"))?,
        network_id: attrs::uuid(body, "network_id")?.ok_or_else(|| req("network_id"))?,
        segmentation_id: seg,
        vpg_ids: Vec::new(),
    };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

async fn list_conn(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let items = snap.l2gw_connections.iter().map(conn_json).collect();
    let url = format!("{}/v2.0/l2-gateway-connections", base_url(&headers));
    Ok(axum::Json(query::list_response(items, &attr_names(CONN_ATTRS), &q, "l2_gateway_connections", &url)?))
}

async fn show_conn(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "L2GatewayConnection")?;
    let snap = st.catalog.snapshot();
    let c = snap.l2gw_connections.get(&id).ok_or_else(|| conn_not_found(id))?;
    Ok(axum::Json(one("l2_gateway_connection", query::project(conn_json(c), &q))))
}

async fn create_conn(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "l2_gateway_connection", "l2_gateway_connections")?;
    let parsed = items.iter().map(parse_conn).collect::<Result<Vec<_>>>()?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, parsed, |cur, c| Ok((c.id, bind::connect_l2gw(cur, c)?)))?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps: Vec<_> = ids.iter().filter_map(|id| snap.l2gw_connections.get(id)).map(|c| Value::Object(conn_json(c))).collect();
    Ok(created_reps("l2_gateway_connection", "l2_gateway_connections", reps, is_bulk))
}

async fn delete_conn(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = id_of(&id, "L2GatewayConnection")?;
    st.catalog.update(|snap| bind::disconnect_l2gw(snap, id).map_err(NeutronError::from)).await?;
    Ok(StatusCode::NO_CONTENT)
}
