//! `/v2.0/security-groups` and `/v2.0/security-group-rules` (Neutron's
//! `security-group` extension).
//!
//! As Neutron does, a new group gets two rules permitting all egress
//! (IPv4 and IPv6). Unlike Neutron, Stitch creates no `default` group per
//! project: a port without `security_groups` gets no ACL (the switch
//! permits everything, as before security groups existed). Rules are
//! permits only; what a switch ACL cannot express (`remote_group_id`,
//! `remote_address_group_id`) is refused with a 400, never dropped.
//! Groups are enforced on switches as stateless ACLs (see
//! `stitch_engine::acl`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};
use stitch_model::Snapshot;
use stitch_model::inventory::{AnyObject, Kind, Object};
use stitch_model::security::{EtherType, RuleDirection, SecurityGroupRule, SecurityGroupSpec};
use stitch_model::snapshot::Change;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::query::{self, ListQuery};
use crate::util::{project_of, ts};
use crate::{NeutronState, Result, attr_names, base_url, bulk, created_reps, one};

pub const GROUP_ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("security_group_rules", Access::ReadOnly),
    ("name", Access::Both),
    ("description", Access::Both),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
    ("tags", Access::Ignored),
];

pub const RULE_ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("normalized_cidr", Access::ReadOnly),
    ("security_group_id", Access::Create),
    ("direction", Access::Create),
    ("ethertype", Access::Create),
    ("protocol", Access::Create),
    ("port_range_min", Access::Create),
    ("port_range_max", Access::Create),
    ("remote_ip_prefix", Access::Create),
    ("remote_group_id", Access::Create),
    ("remote_address_group_id", Access::Create),
    ("description", Access::Create),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
];

pub fn routes() -> Router<NeutronState> {
    Router::new()
        .route("/v2.0/security-groups", get(list_groups).post(create_groups))
        .route("/v2.0/security-groups/{id}", get(show_group).put(update_group).delete(delete_group))
        .route("/v2.0/security-group-rules", get(list_rules).post(create_rules))
        .route("/v2.0/security-group-rules/{id}", get(show_rule).delete(delete_rule))
}

fn group_not_found(id: impl std::fmt::Display) -> NeutronError {
    NeutronError::not_found("SecurityGroupNotFound", format!("Security group {id} does not exist"))
}

fn rule_not_found(id: impl std::fmt::Display) -> NeutronError {
    NeutronError::not_found("SecurityGroupRuleNotFound", format!("Security group rule {id} does not exist"))
}

fn project(body: &Map<String, Value>) -> Result<String> {
    Ok(attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default())
}

fn rule_json(snap: &Snapshot, g: &Object<SecurityGroupSpec>, r: &SecurityGroupRule) -> Map<String, Value> {
    project_of(json!({
        "id": r.id,
        "security_group_id": g.id,
        "direction": r.direction.as_str(),
        "ethertype": r.ethertype.as_str(),
        "protocol": r.protocol,
        "port_range_min": r.port_range_min,
        "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix,
        "normalized_cidr": r.remote().map(|c| c.to_string()),
        "remote_group_id": null,
        "remote_address_group_id": null,
        "description": r.description,
        "project_id": r.project_id,
        "tenant_id": r.project_id,
        "created_at": ts(r.created_at),
        "updated_at": ts(r.created_at),
        "revision_number": snap.mod_revision(&g.id),
    }))
}

fn group_json(snap: &Snapshot, g: &Object<SecurityGroupSpec>) -> Map<String, Value> {
    let rules: Vec<Value> = g.spec.rules.iter().map(|r| Value::Object(rule_json(snap, g, r))).collect();
    project_of(json!({
        "id": g.id,
        "name": g.spec.name,
        "description": g.spec.description,
        "project_id": g.spec.project_id,
        "tenant_id": g.spec.project_id,
        "security_group_rules": rules,
        "tags": [],
        "created_at": ts(g.created_at),
        "updated_at": ts(g.updated_at),
        "revision_number": snap.mod_revision(&g.id),
    }))
}

fn egress_rule(ethertype: EtherType, project_id: &str, now: OffsetDateTime) -> SecurityGroupRule {
    SecurityGroupRule {
        id: Uuid::new_v4(),
        description: String::new(),
        project_id: project_id.to_owned(),
        direction: RuleDirection::Egress,
        ethertype,
        protocol: None,
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
        created_at: now,
    }
}

fn parse_group(body: &Map<String, Value>) -> Result<Object<SecurityGroupSpec>> {
    attrs::check_allowed(body, GROUP_ATTRS, true, "security_group")?;
    let now = OffsetDateTime::now_utc();
    let project_id = project(body)?;
    let rules = vec![egress_rule(EtherType::IPv4, &project_id, now), egress_rule(EtherType::IPv6, &project_id, now)];
    let spec = SecurityGroupSpec {
        name: attrs::string(body, "name")?.unwrap_or_default(),
        description: attrs::string(body, "description")?.unwrap_or_default(),
        project_id,
        rules,
    };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

/// A port range bound: an integer or null.
fn port_bound(body: &Map<String, Value>, attr: &str) -> Result<Option<u32>> {
    match attrs::integer(body, attr)? {
        None => Ok(None),
        Some(v) if (0..=65535).contains(&v) => Ok(Some(v as u32)),
        Some(v) => Err(NeutronError::new(StatusCode::BAD_REQUEST, "SecurityGroupInvalidPortValue", format!("Invalid value for port {v}."))),
    }
}

fn parse_rule(body: &Map<String, Value>) -> Result<(Uuid, SecurityGroupRule)> {
    attrs::check_allowed(body, RULE_ATTRS, true, "security_group_rule")?;
    let required = |a: &str| NeutronError::bad_request(format!("Failed to parse request. Required attribute '{a}' not specified"));
    let group = attrs::uuid(body, "security_group_id")?.ok_or_else(|| required("security_group_id"))?;
    let dir = attrs::string(body, "direction")?.ok_or_else(|| required("direction"))?;
    let direction = RuleDirection::parse(&dir)
        .ok_or_else(|| NeutronError::bad_request(format!("Invalid input for direction. Reason: '{dir}' is not in ['ingress', 'egress'].")))?;
    let ethertype = match attrs::string(body, "ethertype")? {
        None => EtherType::IPv4,
        Some(e) => {
            EtherType::parse(&e).ok_or_else(|| NeutronError::bad_request(format!("Invalid input for ethertype. Reason: '{e}' is not in ['IPv4', 'IPv6'].")))?
        }
    };
    for unsupported in ["remote_group_id", "remote_address_group_id"] {
        if body.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(NeutronError::bad_request(format!(
                "Invalid input for {unsupported}. Reason: not supported by Stitch: switch ACLs match addresses, not group membership; use remote_ip_prefix."
            )));
        }
    }
    let protocol = match body.get("protocol") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if s.is_empty() || s.eq_ignore_ascii_case("any") => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => return Err(NeutronError::bad_request(format!("Invalid input for protocol. Reason: '{v}' is not a valid protocol."))),
    };
    let rule = SecurityGroupRule {
        id: Uuid::new_v4(),
        description: attrs::string(body, "description")?.unwrap_or_default(),
        project_id: project(body)?,
        direction,
        ethertype,
        protocol,
        port_range_min: port_bound(body, "port_range_min")?,
        port_range_max: port_bound(body, "port_range_max")?,
        remote_ip_prefix: attrs::nullable_string(body, "remote_ip_prefix")?.flatten(),
        created_at: OffsetDateTime::now_utc(),
    };
    rule.check().map_err(|e| {
        let kind = match e.field() {
            Some("protocol") => "SecurityGroupRuleInvalidProtocol",
            Some("port_range_min" | "port_range_max") => "SecurityGroupInvalidPortRange",
            _ => "HTTPBadRequest",
        };
        NeutronError::new(StatusCode::BAD_REQUEST, kind, NeutronError::from(e).message)
    })?;
    Ok((group, rule))
}

/// The group holding a rule.
fn group_of_rule(snap: &Snapshot, rule: Uuid) -> Option<&Object<SecurityGroupSpec>> {
    snap.security_groups.iter().find(|g| g.spec.rules.iter().any(|r| r.id == rule))
}

/// Ports that use a group, for `SecurityGroupInUse`.
fn users(snap: &Snapshot, id: Uuid) -> Vec<Uuid> {
    let s = id.to_string();
    snap.ports.iter().filter(|p| p.spec.security_groups.contains(&s)).map(|p| p.id).collect()
}

async fn list_groups(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let items = snap.security_groups.iter().map(|g| group_json(&snap, g)).collect();
    let url = format!("{}/v2.0/security-groups", base_url(&headers));
    Ok(axum::Json(query::list_response(items, &attr_names(GROUP_ATTRS), &q, "security_groups", &url)?))
}

async fn show_group(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = Uuid::try_parse(&id).map_err(|_| group_not_found(&id))?;
    let snap = st.catalog.snapshot();
    let g = snap.security_groups.get(&id).ok_or_else(|| group_not_found(id))?;
    Ok(axum::Json(one("security_group", query::project(group_json(&snap, g), &q))))
}

async fn create_groups(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "security_group", "security_groups")?;
    let parsed = items.iter().map(parse_group).collect::<Result<Vec<_>>>()?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, parsed, |_, g| Ok((g.id, vec![Change::Put(AnyObject::SecurityGroup(g))])))?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps = ids.iter().filter_map(|id| snap.security_groups.get(id)).map(|g| Value::Object(group_json(&snap, g))).collect();
    Ok(created_reps("security_group", "security_groups", reps, is_bulk))
}

async fn update_group(State(st): State<NeutronState>, Path(id): Path<String>, body: Bytes) -> Result<axum::Json<Value>> {
    let id = Uuid::try_parse(&id).map_err(|_| group_not_found(&id))?;
    let body = attrs::update_body(&body, "security_group", "security_groups")?;
    attrs::check_allowed(&body, GROUP_ATTRS, false, "security_group")?;
    let (snap, _) = st
        .catalog
        .update(|snap| {
            let mut g = snap.security_groups.get(&id).ok_or_else(|| group_not_found(id))?.clone();
            if let Some(v) = attrs::string(&body, "name")? {
                g.spec.name = v;
            }
            if let Some(v) = attrs::string(&body, "description")? {
                g.spec.description = v;
            }
            g.updated_at = OffsetDateTime::now_utc();
            Ok::<_, NeutronError>(vec![Change::Put(AnyObject::SecurityGroup(g))])
        })
        .await?;
    let g = snap.security_groups.get(&id).ok_or_else(|| group_not_found(id))?;
    Ok(axum::Json(one("security_group", group_json(&snap, g))))
}

async fn delete_group(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = Uuid::try_parse(&id).map_err(|_| group_not_found(&id))?;
    st.catalog
        .update(|snap| {
            snap.security_groups.get(&id).ok_or_else(|| group_not_found(id))?;
            let used = users(snap, id);
            if !used.is_empty() {
                let ports: Vec<String> = used.iter().map(ToString::to_string).collect();
                return Err(NeutronError::conflict("SecurityGroupInUse", format!("Security Group {id} in use (ports {}).", ports.join(", "))));
            }
            if let Some(p) = snap.port_profiles.iter().find(|p| p.spec.security_groups.contains(&id)) {
                return Err(NeutronError::conflict(
                    "SecurityGroupInUse",
                    format!("Security Group {id} in use (default of port profile {:?}, {}).", p.spec.name, p.id),
                ));
            }
            Ok(vec![Change::Delete(Kind::SecurityGroup, id)])
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn all_rules(snap: &Snapshot) -> Vec<Map<String, Value>> {
    snap.security_groups.iter().flat_map(|g| g.spec.rules.iter().map(move |r| rule_json(snap, g, r))).collect()
}

async fn list_rules(State(st): State<NeutronState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let snap = st.catalog.snapshot();
    let url = format!("{}/v2.0/security-group-rules", base_url(&headers));
    Ok(axum::Json(query::list_response(all_rules(&snap), &attr_names(RULE_ATTRS), &q, "security_group_rules", &url)?))
}

async fn show_rule(State(st): State<NeutronState>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<axum::Json<Value>> {
    let q = ListQuery::parse(q.as_deref())?;
    let id = Uuid::try_parse(&id).map_err(|_| rule_not_found(&id))?;
    let snap = st.catalog.snapshot();
    let g = group_of_rule(&snap, id).ok_or_else(|| rule_not_found(id))?;
    let r = g.spec.rules.iter().find(|r| r.id == id).ok_or_else(|| rule_not_found(id))?;
    Ok(axum::Json(one("security_group_rule", query::project(rule_json(&snap, g, r), &q))))
}

async fn create_rules(State(st): State<NeutronState>, body: Bytes) -> Result<Response> {
    let (items, is_bulk) = attrs::envelope(&body, "security_group_rule", "security_group_rules")?;
    let parsed = items.iter().map(parse_rule).collect::<Result<Vec<_>>>()?;
    let mut ids = Vec::new();
    let (snap, _) = st
        .catalog
        .update_draft(|d| {
            ids = bulk(d, parsed, |cur, (gid, rule)| {
                let mut g = cur.security_groups.get(&gid).ok_or_else(|| group_not_found(gid))?.clone();
                if let Some(same) = g.spec.rules.iter().find(|r| r.same_as(&rule)) {
                    return Err(NeutronError::conflict("SecurityGroupRuleExists", format!("Security group rule already exists. Rule id is {}.", same.id)));
                }
                let id = rule.id;
                g.spec.rules.push(rule);
                g.updated_at = OffsetDateTime::now_utc();
                Ok((id, vec![Change::Put(AnyObject::SecurityGroup(g))]))
            })?;
            Ok::<_, NeutronError>(())
        })
        .await?;
    let reps = ids
        .iter()
        .filter_map(|id| {
            let g = group_of_rule(&snap, *id)?;
            g.spec.rules.iter().find(|r| r.id == *id).map(|r| Value::Object(rule_json(&snap, g, r)))
        })
        .collect();
    Ok(created_reps("security_group_rule", "security_group_rules", reps, is_bulk))
}

async fn delete_rule(State(st): State<NeutronState>, Path(id): Path<String>) -> Result<StatusCode> {
    let id = Uuid::try_parse(&id).map_err(|_| rule_not_found(&id))?;
    st.catalog
        .update(|snap| {
            let mut g = group_of_rule(snap, id).ok_or_else(|| rule_not_found(id))?.clone();
            g.spec.rules.retain(|r| r.id != id);
            g.updated_at = OffsetDateTime::now_utc();
            Ok::<_, NeutronError>(vec![Change::Put(AnyObject::SecurityGroup(g))])
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
