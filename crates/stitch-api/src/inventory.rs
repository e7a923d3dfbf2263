//! `/v1/<kind>` CRUD for every inventory kind, generic over the model's
//! [`Spec`]. Validation, integrity and name rules are the catalog's; these
//! handlers only parse, build [`Change`]s and shape responses.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value};
use stitch_model::inventory::{AnyObject, Kind, Object, Spec};
use stitch_model::snapshot::Change;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, code};

/// Fields the server owns; a client may not write them.
pub const READ_ONLY: [&str; 3] = ["id", "created_at", "updated_at"];

/// The list envelope key of a kind: its plural with `_` for `-`.
pub fn list_key(kind: Kind) -> String {
    kind.plural().replace('-', "_")
}

/// How a query parameter filters a list.
#[derive(Clone, Copy, Debug)]
pub enum Filter {
    /// The top-level field equals the value (strings, booleans).
    Eq(&'static str),
    /// The top-level field is this UUID.
    Id(&'static str),
    /// The top-level array field contains this UUID.
    IdIn(&'static str),
    /// The top-level array field contains this string.
    In(&'static str),
    /// Some entry of `ports` is cabled to this switch id.
    PortSwitch,
}

/// The query filters each kind accepts.
pub fn filters(kind: Kind) -> &'static [(&'static str, Filter)] {
    match kind {
        Kind::Fabric => &[("name", Filter::Eq("name")), ("vlan_mode", Filter::Eq("vlan_mode"))],
        Kind::Switch => &[("name", Filter::Eq("name")), ("fabric_id", Filter::Id("fabric_id")), ("role", Filter::Eq("role"))],
        Kind::SwitchPort => &[("name", Filter::Eq("name")), ("switch_id", Filter::Id("switch_id")), ("discovered", Filter::Eq("discovered"))],
        Kind::Hardware => &[("name", Filter::Eq("name")), ("model", Filter::Eq("model"))],
        Kind::Card | Kind::NodeProfile => &[("name", Filter::Eq("name")), ("hardware_id", Filter::IdIn("hardware_ids"))],
        Kind::Node => &[
            ("name", Filter::Eq("name")),
            ("node_profile_id", Filter::Id("node_profile_id")),
            ("type", Filter::Eq("type")),
            ("alias", Filter::In("aliases")),
            ("switch_id", Filter::PortSwitch),
        ],
        Kind::PortProfile => &[("name", Filter::Eq("name")), ("network_id", Filter::IdIn("networks"))],
        _ => &[],
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn matches(obj: &Value, f: Filter, want: &str) -> bool {
    let text = |field: &str| obj.get(field).and_then(scalar_text);
    let contains = |field: &str| obj.get(field).and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v.as_str() == Some(want)));
    match f {
        Filter::Eq(field) | Filter::Id(field) => text(field).as_deref() == Some(want),
        Filter::In(field) | Filter::IdIn(field) => contains(field),
        Filter::PortSwitch => {
            obj.get("ports").and_then(Value::as_array).is_some_and(|ps| ps.iter().any(|p| p.get("switch_id").and_then(Value::as_str) == Some(want)))
        }
    }
}

/// Parse a request body as a JSON object, refusing server-owned fields.
pub fn parse_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let v: Value = serde_path_to_error::deserialize(de).map_err(ApiError::from_json)?;
    let Value::Object(map) = v else {
        return Err(ApiError::bad_request(code::INVALID_VALUE, "", "the body must be a JSON object"));
    };
    if let Some(f) = READ_ONLY.iter().find(|f| map.contains_key(**f)) {
        return Err(ApiError::bad_request(code::READ_ONLY_FIELD, *f, format!("{f} is a read-only field")));
    }
    Ok(map)
}

/// Decode a spec from a JSON object, naming the offending field on error.
pub fn decode<S: Spec>(map: Map<String, Value>) -> Result<S, ApiError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(ApiError::from_json)
}

/// Parse a path id; a malformed one is a 400 naming `id`.
pub fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::bad_request(code::INVALID_VALUE, "id", format!("invalid id {s:?}: expected a UUID")))
}

fn object_json<S: Spec>(o: &Object<S>) -> Value {
    serde_json::to_value(o).unwrap_or_default()
}

fn get_object<S: Spec>(st: &AppState, id: &Uuid) -> Result<Object<S>, ApiError> {
    let snap = st.catalog.snapshot();
    S::table(&snap).get(id).cloned().ok_or_else(|| ApiError::not_found(format!("{} {id} not found", S::KIND.singular())))
}

async fn create<S: Spec>(State(st): State<AppState>, body: Bytes) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec: S = decode(parse_object(&body)?)?;
    let now = OffsetDateTime::now_utc();
    let obj = Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec };
    let id = obj.id;
    crate::dependents::apply(&st, vec![Change::Put(S::wrap(obj))]).await?;
    tracing::info!(kind = %S::KIND, %id, "created");
    Ok((StatusCode::CREATED, Json(object_json(&get_object::<S>(&st, &id)?))))
}

async fn list<S: Spec>(State(st): State<AppState>, Query(query): Query<Vec<(String, String)>>) -> Result<Json<Value>, ApiError> {
    let allowed = filters(S::KIND);
    let mut active = Vec::new();
    for (k, v) in &query {
        let Some((_, f)) = allowed.iter().find(|(name, _)| name == k) else {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            return Err(ApiError::bad_request(
                code::UNKNOWN_FIELD,
                k.as_str(),
                format!("unknown filter {k:?}; {} accepts {}", S::KIND.plural(), names.join(", ")),
            ));
        };
        let v = match f {
            Filter::Id(_) | Filter::IdIn(_) | Filter::PortSwitch => Uuid::parse_str(v)
                .map_err(|_| ApiError::bad_request(code::INVALID_VALUE, k.as_str(), format!("invalid {k} {v:?}: expected a UUID")))?
                .to_string(),
            _ => v.clone(),
        };
        active.push((*f, v));
    }
    let snap = st.catalog.snapshot();
    let mut rows: Vec<&Object<S>> = S::table(&snap).iter().collect();
    rows.sort_by(|a, b| (a.spec.name_scope(), a.spec.name()).cmp(&(b.spec.name_scope(), b.spec.name())));
    let items: Vec<Value> = rows.into_iter().map(object_json).filter(|o| active.iter().all(|(f, v)| matches(o, *f, v))).collect();
    let mut env = Map::new();
    env.insert(list_key(S::KIND), Value::Array(items));
    Ok(Json(Value::Object(env)))
}

async fn show<S: Spec>(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(object_json(&get_object::<S>(&st, &id)?)))
}

async fn patch<S: Spec>(State(st): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let existing = get_object::<S>(&st, &id)?;
    let patch = parse_object(&body)?;
    let Value::Object(mut merged) = serde_json::to_value(&existing.spec).unwrap_or_default() else {
        return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "stored spec is not an object"));
    };
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(&k);
        } else {
            merged.insert(k, v);
        }
    }
    let spec: S = decode(merged)?;
    if spec == existing.spec {
        return Ok(Json(object_json(&existing)));
    }
    let obj = Object { spec, updated_at: OffsetDateTime::now_utc(), ..existing };
    crate::dependents::apply(&st, vec![Change::Put(S::wrap(obj))]).await?;
    tracing::info!(kind = %S::KIND, %id, "updated");
    Ok(Json(object_json(&get_object::<S>(&st, &id)?)))
}

async fn delete<S: Spec>(State(st): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    st.catalog.apply(vec![Change::Delete(S::KIND, id)]).await?;
    tracing::info!(kind = %S::KIND, %id, "deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/nodes/{id}/resolve?label=...`: the node's cabled NICs with that role.
async fn resolve(State(st): State<AppState>, Path(id): Path<String>, Query(query): Query<Vec<(String, String)>>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let mut label = None;
    for (k, v) in query {
        match k.as_str() {
            "label" => label = Some(v),
            _ => return Err(ApiError::bad_request(code::UNKNOWN_FIELD, k.as_str(), format!("unknown parameter {k:?}; expected label"))),
        }
    }
    let label = label.ok_or_else(|| ApiError::bad_request(code::MISSING_FIELD, "label", "the label parameter is required"))?;
    let snap = st.catalog.snapshot();
    let node = snap.nodes.get(&id).ok_or_else(|| ApiError::not_found(format!("node {id} not found")))?;
    let links = stitch_model::resolve::resolve(&snap, node, &label)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code::UNRESOLVED, e.to_string()).with_field("label"))?;
    Ok(Json(serde_json::json!({ "links": links })))
}

/// The routes of one kind: `/v1/<plural>` and `/v1/<plural>/{id}`.
pub fn routes<S: Spec>(r: axum::Router<AppState>) -> axum::Router<AppState> {
    let base = format!("/v1/{}", S::KIND.plural());
    r.route(&base, get(list::<S>).post(create::<S>)).route(&format!("{base}/{{id}}"), get(show::<S>).patch(patch::<S>).delete(delete::<S>))
}

/// Every inventory route.
pub fn all_routes(r: axum::Router<AppState>) -> axum::Router<AppState> {
    use stitch_model::inventory::*;
    let r = routes::<FabricSpec>(r);
    let r = routes::<SwitchSpec>(r);
    let r = routes::<SwitchPortSpec>(r);
    let r = routes::<HardwareSpec>(r);
    let r = routes::<CardSpec>(r);
    let r = routes::<NodeProfileSpec>(r);
    let r = routes::<NodeSpec>(r);
    let r = routes::<PortProfileSpec>(r);
    r.route("/v1/nodes/{id}/resolve", get(resolve)).route("/v1/nodes/{id}/lldp", axum::routing::post(crate::lldp::check))
}

/// Every object of every kind as JSON, keyed like the list envelopes.
pub fn dump(snap: &stitch_model::Snapshot) -> Value {
    let mut out = Map::new();
    for k in Kind::ALL.iter().filter(|k| k.is_inventory()) {
        let items: Vec<Value> = snap.list_any(*k).iter().map(AnyObject::to_json).collect();
        out.insert(list_key(*k), Value::Array(items));
    }
    Value::Object(out)
}
