//! `/v2.0/ports/{id}/bindings` (Neutron's `binding-extended`): the port
//! bindings Nova uses for live migration. A port has one `ACTIVE` binding
//! (its `binding:host_id`) and may have `INACTIVE` ones for other hosts; an
//! inactive binding is resolved and programmed on its switch (standby) but
//! the port's MAC is never advertised there until it is activated.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::{Map, Value, json};
use stitch_engine::bind;
use stitch_model::inventory::Object;
use stitch_model::neutron::{HostBinding, PortBinding, PortSpec, VnicType};
use stitch_model::{JsonObject, Snapshot};
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::query::{self, ListQuery};
use crate::{NeutronState, Result, attr_names, base_url, created_reps, id_of, one};

pub const ATTRS: AttrTable = &[
    ("status", Access::ReadOnly),
    ("vif_type", Access::ReadOnly),
    ("vif_details", Access::ReadOnly),
    ("host", Access::Create),
    ("vnic_type", Access::Create),
    ("profile", Access::Create),
];

pub fn routes() -> Router<NeutronState> {
    Router::new()
        .route("/v2.0/ports/{id}/bindings", get(list).post(create))
        .route("/v2.0/ports/{id}/bindings/{host}", get(show).delete(delete))
        .route("/v2.0/ports/{id}/bindings/{host}/activate", put(activate))
}

fn rep(host: &str, vnic: VnicType, profile: &JsonObject, b: &PortBinding, active: bool) -> Map<String, Value> {
    let Value::Object(m) = json!({
        "host": host,
        "vnic_type": vnic.as_str(),
        "profile": profile,
        "vif_type": b.vif_type,
        "vif_details": b.vif_details,
        "status": if active { "ACTIVE" } else { "INACTIVE" },
    }) else {
        unreachable!("a json object")
    };
    m
}

/// Every binding of a port: the active one (when bound to a host) first.
pub fn all(p: &PortSpec) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    if !p.host_id.is_empty() {
        out.push(rep(&p.host_id, p.vnic_type, &p.profile, &p.binding, true));
    }
    out.extend(p.rare.inactive_bindings.iter().map(|h| rep(&h.host, h.vnic_type, &h.profile, &h.binding, false)));
    out
}

fn port<'a>(snap: &'a Snapshot, id: Uuid) -> Result<&'a Object<PortSpec>> {
    snap.ports.get(&id).ok_or_else(|| NeutronError::not_found("PortNotFound", format!("Port {id} could not be found.")))
}

fn binding_of(p: &Object<PortSpec>, host: &str) -> Result<Map<String, Value>> {
    all(&p.spec)
        .into_iter()
        .find(|b| b["host"] == host)
        .ok_or_else(|| NeutronError::not_found("PortBindingNotFound", format!("Binding for port {} for host {host} could not be found.", p.id)))
}

async fn list(State(st): State<NeutronState>, Path(id): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "Port")?;
    let snap = st.catalog.snapshot();
    let items = all(&port(&snap, id)?.spec);
    let url = format!("{}/v2.0/ports/{id}/bindings", base_url(&headers));
    Ok(axum::Json(query::list_response(items, &attr_names(ATTRS), &q, "bindings", &url)?))
}

async fn show(State(st): State<NeutronState>, Path((id, host)): Path<(String, String)>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = id_of(&id, "Port")?;
    let snap = st.catalog.snapshot();
    Ok(axum::Json(one("binding", query::project(binding_of(port(&snap, id)?, &host)?, &q))))
}

async fn create(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let id = id_of(&id, "Port")?;
    let body = attrs::update_body(&body, "binding", "bindings")?;
    attrs::check_allowed(&body, ATTRS, true, "binding")?;
    let host = attrs::string(&body, "host")?
        .filter(|h| !h.is_empty())
        .ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'host' not specified"))?;
    let vnic = match attrs::string(&body, "vnic_type")? {
        None => None,
        Some(s) => Some(
            VnicType::parse(&s)
                .ok_or_else(|| NeutronError::bad_request(format!("Invalid input for vnic_type. Reason: '{s}' is not in [{}].", crate::port::VNIC_TYPES)))?,
        ),
    };
    let profile = attrs::dict(&body, "profile")?;
    let (snap, _) = st
        .catalog
        .update(|snap| {
            port(snap, id)?;
            let b = HostBinding {
                host: host.as_str().into(),
                // Neutron's defaults (Nova passes both explicitly).
                vnic_type: vnic.unwrap_or_default(),
                profile: profile.clone().unwrap_or_default().into(),
                binding: PortBinding::unbound(),
            };
            Ok::<_, NeutronError>(bind::add_binding(snap, id, b)?)
        })
        .await?;
    let b = binding_of(port(&snap, id)?, &host)?;
    Ok(created_reps("binding", "bindings", vec![Value::Object(b)], false))
}

async fn activate(State(st): State<NeutronState>, Path((id, host)): Path<(String, String)>) -> Result<axum::Json<Value>> {
    let id = id_of(&id, "Port")?;
    let (snap, _) = st.catalog.update(|snap| bind::activate_binding(snap, id, &host).map_err(NeutronError::from)).await?;
    Ok(axum::Json(one("binding", binding_of(port(&snap, id)?, &host)?)))
}

async fn delete(State(st): State<NeutronState>, Path((id, host)): Path<(String, String)>) -> Result<StatusCode> {
    let id = id_of(&id, "Port")?;
    st.catalog.update(|snap| bind::delete_binding(snap, id, &host).map_err(NeutronError::from)).await?;
    Ok(StatusCode::NO_CONTENT)
}
