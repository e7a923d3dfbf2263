//! `/v2.0/qos/policies` with `bandwidth_limit_rules`, `/v2.0/qos/rule-types`
//! (Neutron's `qos` extension), and the `qos_policy_id` of ports and
//! networks.
//!
//! Only `bandwidth_limit` rules, egress only (`qos-bw-limit-direction` is
//! not advertised, so `direction` is not an attribute); other rule types
//! are refused with a 400 that says so. A bound port's effective policy
//! (its own, else its network's) is in `binding:vif_details` as
//! `max_kbps` and `max_burst_kbps`; changing a policy re-binds its ports.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use stitch_engine::{bind, qos};
use stitch_model::inventory::{AnyObject, Kind, Object};
use stitch_model::qos::{BandwidthLimitRule, MAX_KBPS, QosPolicySpec};
use stitch_model::snapshot::{Change, SystemContext};
use stitch_model::{Draft, Snapshot};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::query::{self, ListQuery};
use crate::util::{project_of, ts};
use crate::{NeutronState, Result, attr_names, base_url, bulk, created_reps, one};

pub const POLICY_ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("rules", Access::ReadOnly),
    ("name", Access::Both),
    ("description", Access::Both),
    ("shared", Access::Both),
    ("is_default", Access::Ignored),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
    ("tags", Access::Ignored),
];

pub const RULE_ATTRS: AttrTable = &[("id", Access::ReadOnly), ("max_kbps", Access::Both), ("max_burst_kbps", Access::Both)];

pub fn routes() -> Router<NeutronState> {
    Router::new()
        .route("/v2.0/qos/rule-types", get(rule_types))
        .route("/v2.0/qos/policies", get(list).post(create))
        .route("/v2.0/qos/policies/{id}", get(show).put(update).delete(delete))
        .route("/v2.0/qos/policies/{id}/bandwidth_limit_rules", get(list_rules).post(create_rule))
        .route("/v2.0/qos/policies/{id}/bandwidth_limit_rules/{rule}", get(show_rule).put(update_rule).delete(delete_rule))
        .route("/v2.0/qos/policies/{id}/{other}", post(unsupported_rule).get(unsupported_rule))
}

fn not_found(id: impl std::fmt::Display) -> NeutronError {
    NeutronError::not_found("QosPolicyNotFound", format!("QoS policy {id} could not be found."))
}

fn rule_not_found(rule: impl std::fmt::Display, policy: Uuid) -> NeutronError {
    NeutronError::not_found("QosRuleNotFound", format!("QoS rule {rule} for policy {policy} could not be found."))
}

fn policy_id(s: &str) -> Result<Uuid> {
    Uuid::try_parse(s).map_err(|_| not_found(s))
}

fn rule_json(p: Uuid, r: &BandwidthLimitRule) -> Map<String, Value> {
    project_of(json!({"id": r.id, "qos_policy_id": p, "max_kbps": r.max_kbps, "max_burst_kbps": r.max_burst_kbps, "type": "bandwidth_limit"}))
}

fn policy_json(snap: &Snapshot, p: &Object<QosPolicySpec>) -> Map<String, Value> {
    let rules: Vec<Value> = p.spec.bandwidth_limit_rules.iter().map(|r| Value::Object(rule_json(p.id, r))).collect();
    project_of(json!({
        "id": p.id,
        "name": p.spec.name,
        "description": p.spec.description,
        "shared": p.spec.shared,
        "is_default": false,
        "project_id": p.spec.project_id,
        "tenant_id": p.spec.project_id,
        "rules": rules,
        "tags": [],
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "revision_number": snap.mod_revision(&p.id),
    }))
}

fn kbps(body: &Map<String, Value>, attr: &str) -> Result<Option<u64>> {
    match attrs::integer(body, attr)? {
        None => Ok(None),
        Some(v) if (0..=MAX_KBPS as i64).contains(&v) => Ok(Some(v as u64)),
        Some(v) => Err(NeutronError::bad_request(format!("Invalid input for {attr}. Reason: {v} is not in range 0 through {MAX_KBPS}."))),
    }
}

/// Store a policy and re-bind every port whose `vif_details` depend on it.
fn put_policy(snap: &Snapshot, p: Object<QosPolicySpec>) -> Result<Vec<Change>> {
    let id = p.id;
    let mut changes = vec![Change::Put(AnyObject::QosPolicy(p))];
    let mut cur = snap.apply(changes.clone(), &mut SystemContext)?.0;
    for port in qos::ports_using(&cur, id) {
        let Some(mut o) = cur.ports.get(&port).cloned() else { continue };
        o.updated_at = OffsetDateTime::now_utc();
        let more = bind::put_port(&cur, o)?;
        cur = cur.apply(more.clone(), &mut SystemContext)?.0;
        changes.extend(more);
    }
    Ok(changes)
}

async fn rule_types() -> axum::Json<Value> {
    axum::Json(json!({"rule_types": [{"type": "bandwidth_limit"}]}))
}

async fn unsupported_rule(Path((id, other)): Path<(String, String)>) -> Result<Response> {
    let _ = policy_id(&id)?;
    let kind = other.strip_suffix("_rules").unwrap_or(&other);
    Err(NeutronError::bad_request(format!("QoS rule type {kind} is not supported by Stitch: only bandwidth_limit (egress, to binding:vif_details) is.")))
}

async fn list(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let items = snap.qos_policies.iter().map(|p| policy_json(&snap, p)).collect();
    let url = format!("{}/v2.0/qos/policies", base_url(&headers));
    Ok(axum::Json(query::list_response(items, &attr_names(POLICY_ATTRS), &q, "policies", &url)?))
}

async fn show(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = policy_id(&id)?;
    let snap = st.catalog.snapshot();
    let p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?;
    Ok(axum::Json(one("policy", query::project(policy_json(&snap, p), &q))))
}

fn parse_policy(body: &Map<String, Value>) -> Result<Object<QosPolicySpec>> {
    attrs::check_allowed(body, POLICY_ATTRS, true, "policy")?;
    let now = OffsetDateTime::now_utc();
    let spec = QosPolicySpec {
        name: attrs::string(body, "name")?.unwrap_or_default(),
        description: attrs::string(body, "description")?.unwrap_or_default(),
        project_id: attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default(),
        shared: attrs::boolean(body, "shared")?.unwrap_or(false),
        bandwidth_limit_rules: vec![],
    };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

async fn create(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "policy", "policies")?;
    let parsed = items.iter().map(parse_policy).collect::<Result<Vec<_>>>()?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, parsed, |_, p| Ok((p.id, vec![Change::Put(AnyObject::QosPolicy(p))])))?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps = ids.iter().filter_map(|id| snap.qos_policies.get(id)).map(|p| Value::Object(policy_json(&snap, p))).collect();
    Ok(created_reps("policy", "policies", reps, is_bulk))
}

async fn update(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = policy_id(&id)?;
    let body = attrs::update_body(&body, "policy", "policies")?;
    attrs::check_allowed(&body, POLICY_ATTRS, false, "policy")?;
    let (snap, _) = st
        .catalog
        .update(|snap| {
            let mut p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?.clone();
            if let Some(v) = attrs::string(&body, "name")? {
                p.spec.name = v;
            }
            if let Some(v) = attrs::string(&body, "description")? {
                p.spec.description = v;
            }
            if let Some(v) = attrs::boolean(&body, "shared")? {
                p.spec.shared = v;
            }
            p.updated_at = OffsetDateTime::now_utc();
            Ok::<_, NeutronError>(vec![Change::Put(AnyObject::QosPolicy(p))])
        })
        .await?;
    let p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?;
    Ok(axum::Json(one("policy", policy_json(&snap, p))))
}

async fn delete(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = policy_id(&id)?;
    st.catalog
        .update(|snap| {
            snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?;
            let by_port = snap.ports.iter().find(|p| p.spec.rare.qos_policy_id == Some(id)).map(|p| ("port", p.id));
            let by_net = snap.networks.iter().find(|n| n.spec.qos_policy_id == Some(id)).map(|n| ("network", n.id));
            let by_profile = snap.port_profiles.iter().find(|p| p.spec.qos_policy_id == Some(id)).map(|p| ("port profile", p.id));
            if let Some((what, oid)) = by_port.or(by_net).or(by_profile) {
                return Err(NeutronError::conflict("QosPolicyInUse", format!("QoS Policy {id} is used by {what} {oid}.")));
            }
            Ok(vec![Change::Delete(Kind::QosPolicy, id)])
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_rules(State(st): State<NeutronState>, headers: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = policy_id(&id)?;
    let snap = st.catalog.snapshot();
    let p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?;
    let items = p.spec.bandwidth_limit_rules.iter().map(|r| rule_json(id, r)).collect();
    let url = format!("{}/v2.0/qos/policies/{id}/bandwidth_limit_rules", base_url(&headers));
    Ok(axum::Json(query::list_response(items, &attr_names(RULE_ATTRS), &q, "bandwidth_limit_rules", &url)?))
}

async fn show_rule(State(st): State<NeutronState>, Path((id, rule)): Path<(String, String)>) -> Result<axum::Json<Value>> {
    let id = policy_id(&id)?;
    let snap = st.catalog.snapshot();
    let p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?;
    let r = p.spec.bandwidth_limit_rules.iter().find(|r| r.id.to_string() == rule).ok_or_else(|| rule_not_found(&rule, id))?;
    Ok(axum::Json(one("bandwidth_limit_rule", rule_json(id, r))))
}

async fn create_rule(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let id = policy_id(&id)?;
    let body = attrs::update_body(&body, "bandwidth_limit_rule", "bandwidth_limit_rules")?;
    attrs::check_allowed(&body, RULE_ATTRS, true, "bandwidth_limit_rule")?;
    let max_kbps = kbps(&body, "max_kbps")?.ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'max_kbps' not specified"))?;
    let rule = BandwidthLimitRule { id: Uuid::new_v4(), max_kbps, max_burst_kbps: kbps(&body, "max_burst_kbps")?.unwrap_or(0) };
    st.catalog
        .update(|snap| {
            let mut p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?.clone();
            if let Some(r) = p.spec.bandwidth_limit_rules.first() {
                return Err(NeutronError::conflict(
                    "QoSRulesConflict",
                    format!("Rule bandwidth_limit (egress) already exists in QoS policy {id}: rule {}.", r.id),
                ));
            }
            p.spec.bandwidth_limit_rules.push(rule);
            p.updated_at = OffsetDateTime::now_utc();
            put_policy(snap, p)
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"bandwidth_limit_rule": rule_json(id, &rule)}))).into_response())
}

async fn update_rule(State(st): State<NeutronState>, Path((id, rule)): Path<(String, String)>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = policy_id(&id)?;
    let body = attrs::update_body(&body, "bandwidth_limit_rule", "bandwidth_limit_rules")?;
    attrs::check_allowed(&body, RULE_ATTRS, false, "bandwidth_limit_rule")?;
    let (max, burst) = (kbps(&body, "max_kbps")?, kbps(&body, "max_burst_kbps")?);
    let (snap, _) = st
        .catalog
        .update(|snap| {
            let mut p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?.clone();
            let r = p.spec.bandwidth_limit_rules.iter_mut().find(|r| r.id.to_string() == rule).ok_or_else(|| rule_not_found(&rule, id))?;
            r.max_kbps = max.unwrap_or(r.max_kbps);
            r.max_burst_kbps = burst.unwrap_or(r.max_burst_kbps);
            p.updated_at = OffsetDateTime::now_utc();
            put_policy(snap, p)
        })
        .await?;
    let p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?;
    let r = p.spec.bandwidth_limit_rules.iter().find(|r| r.id.to_string() == rule).ok_or_else(|| rule_not_found(&rule, id))?;
    Ok(axum::Json(one("bandwidth_limit_rule", rule_json(id, r))))
}

async fn delete_rule(State(st): State<NeutronState>, Path((id, rule)): Path<(String, String)>) -> Result<StatusCode> {
    let id = policy_id(&id)?;
    st.catalog
        .update(|snap| {
            let mut p = snap.qos_policies.get(&id).ok_or_else(|| not_found(id))?.clone();
            let before = p.spec.bandwidth_limit_rules.len();
            p.spec.bandwidth_limit_rules.retain(|r| r.id.to_string() != rule);
            if p.spec.bandwidth_limit_rules.len() == before {
                return Err(rule_not_found(&rule, id));
            }
            p.updated_at = OffsetDateTime::now_utc();
            put_policy(snap, p)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads a port's or network's `qos_policy_id` (a UUID or null).
pub fn policy_attr(body: &Map<String, Value>) -> Result<Option<Option<Uuid>>> {
    match body.get("qos_policy_id") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(_) => Ok(Some(attrs::uuid(body, "qos_policy_id")?)),
    }
}

/// Apply a network's changes to the draft, plus the re-binding of its
/// ports when its `qos_policy_id` changed (their `vif_details` follow it);
/// a policy that does not exist is a 404.
pub fn with_network_policy(d: &mut Draft, net: Uuid, changes: Vec<Change>) -> Result<()> {
    let old = d.snap().networks.get(&net).and_then(|n| n.spec.qos_policy_id);
    d.apply(changes, &mut SystemContext)?;
    let cur = d.snap();
    let new = cur.networks.get(&net).and_then(|n| n.spec.qos_policy_id);
    if old == new {
        return Ok(());
    }
    if let Some(p) = new.filter(|p| cur.qos_policies.get(p).is_none()) {
        return Err(not_found(p));
    }
    // The network's ports by index (not a scan of every port), in id order.
    let mut ports: Vec<Uuid> = cur.port_macs_of_network(net).map(|(p, _)| p).collect();
    ports.sort_unstable();
    for port in ports {
        let Some(o) = d.snap().ports.get(&port).cloned() else { continue };
        bind::put_port_in(d, o)?;
    }
    Ok(())
}
