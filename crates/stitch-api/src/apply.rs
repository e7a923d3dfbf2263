//! `POST /v1/apply`: the all-or-nothing bulk endpoint behind `stitch import`
//! and `stitch apply -f`. Names are resolved against stored objects and
//! against items earlier in the same document; every item becomes at most
//! one [`Change`], in dependency order, and the catalog applies them in one
//! store transaction. Errors name the document path of the item
//! (`nodes[3].ports[0].switch`) so a client can map it back to its source.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Serialize;
use stitch_inventory::document::*;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_model::{ModelError, Snapshot};
use stitch_store::{CatalogError, UpdateError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, code};

/// Counts for one kind (or all together).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// What an apply did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ApplyReport {
    /// The store revision after the apply.
    pub revision: u64,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Per document section (`nodes`, `switch_ports`, ...); sections without items are left out.
    pub kinds: BTreeMap<String, Counts>,
}

/// Names resolved so far: stored objects plus items created earlier in the document.
struct Plan<'a> {
    snap: &'a Snapshot,
    now: OffsetDateTime,
    changes: Vec<Change>,
    /// Document path of the item behind each change.
    paths: Vec<String>,
    /// (kind, scope, name) → id of objects this document creates.
    created: HashMap<(Kind, Option<Uuid>, String), Uuid>,
    /// (kind, scope, name) → path of the item that named it first.
    seen: HashMap<(Kind, Option<Uuid>, String), String>,
    report: ApplyReport,
}

impl<'a> Plan<'a> {
    fn new(snap: &'a Snapshot) -> Self {
        Plan {
            snap,
            now: OffsetDateTime::now_utc(),
            changes: Vec::new(),
            paths: Vec::new(),
            created: HashMap::new(),
            seen: HashMap::new(),
            report: ApplyReport::default(),
        }
    }

    /// Resolve a reference given as a name or an id.
    fn lookup(&self, kind: Kind, scope: Option<Uuid>, s: &str, field: &str) -> Result<Uuid, ApiError> {
        if let Ok(id) = Uuid::parse_str(s) {
            if self.snap.contains(kind, &id) {
                return Ok(id);
            }
        }
        if let Some(id) = self.created.get(&(kind, scope, s.to_string())) {
            return Ok(*id);
        }
        self.snap.id_by_name(kind, scope, s).ok_or_else(|| ApiError::missing_reference(field, format!("{kind} {s:?} does not exist")))
    }

    fn lookup_all(&self, kind: Kind, names: &[String], field: &str) -> Result<Vec<Uuid>, ApiError> {
        names.iter().enumerate().map(|(i, n)| self.lookup(kind, None, n, &format!("{field}[{i}]"))).collect()
    }

    /// The stored object this item updates, refusing a second item with the same name.
    fn existing<S: Spec>(&mut self, scope: Option<Uuid>, name: &str, path: &str) -> Result<Option<Object<S>>, ApiError> {
        let key = (S::KIND, scope, name.to_string());
        if let Some(first) = self.seen.get(&key) {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                code::DUPLICATE_NAME,
                format!("{} {name:?} appears twice in the document (first at {first})", S::KIND.singular()),
            )
            .with_field(format!("{path}.name")));
        }
        self.seen.insert(key, path.to_string());
        Ok(S::table(self.snap).by_name(scope, name).cloned())
    }

    fn put<S: Spec>(&mut self, section: &str, path: String, existing: Option<Object<S>>, spec: S) {
        let counts = self.report.kinds.entry(section.to_string()).or_default();
        let obj = match existing {
            Some(old) if old.spec == spec => {
                counts.unchanged += 1;
                return;
            }
            Some(old) => {
                counts.updated += 1;
                Object { spec, updated_at: self.now, ..old }
            }
            None => {
                counts.created += 1;
                let id = Uuid::new_v4();
                self.created.insert((S::KIND, spec.name_scope(), spec.name().to_string()), id);
                Object { id, created_at: self.now, updated_at: self.now, spec }
            }
        };
        self.changes.push(Change::Put(S::wrap(obj)));
        self.paths.push(path);
    }

    fn build(&mut self, doc: &ApplyDocument) -> Result<(), ApiError> {
        for (i, it) in doc.fabrics.iter().enumerate() {
            let path = format!("fabrics[{i}]");
            let old = self.existing::<FabricSpec>(None, &it.name, &path)?;
            let base = old.as_ref().map(|o| &o.spec);
            let spec = FabricSpec {
                name: it.name.clone(),
                vni_range: it.vni_range.or(base.map(|b| b.vni_range)).unwrap_or_else(default_vni_range),
                vlan_range: it.vlan_range.or(base.map(|b| b.vlan_range)).unwrap_or_else(default_vlan_range),
                vlan_mode: it.vlan_mode.or(base.map(|b| b.vlan_mode)).unwrap_or_default(),
            };
            self.put("fabrics", path, old, spec);
        }
        for (i, it) in doc.switches.iter().enumerate() {
            let path = format!("switches[{i}]");
            let old = self.existing::<SwitchSpec>(None, &it.name, &path)?;
            let base = old.as_ref().map(|o| &o.spec);
            let missing = |f: &str| ApiError::bad_request(code::MISSING_FIELD, format!("{path}.{f}"), format!("missing field `{f}` for a new switch"));
            let fabric_id = match &it.fabric {
                Some(f) => self.lookup(Kind::Fabric, None, f, &format!("{path}.fabric"))?,
                None => base.map(|b| b.fabric_id).ok_or_else(|| missing("fabric"))?,
            };
            let spec = SwitchSpec {
                name: it.name.clone(),
                fabric_id,
                ovsdb: it.ovsdb.clone().or(base.map(|b| b.ovsdb.clone())).ok_or_else(|| missing("ovsdb"))?,
                tunnel_ip: it.tunnel_ip.or(base.map(|b| b.tunnel_ip)).ok_or_else(|| missing("tunnel_ip"))?,
                management_ip: it.management_ip.unwrap_or(base.and_then(|b| b.management_ip)),
                vlan_range: it.vlan_range.unwrap_or(base.and_then(|b| b.vlan_range)),
                role: it.role.or(base.map(|b| b.role)).unwrap_or_default(),
                chassis_mac: it.chassis_mac.unwrap_or(base.and_then(|b| b.chassis_mac)),
            };
            self.put("switches", path, old, spec);
        }
        for (i, it) in doc.switch_ports.iter().enumerate() {
            let path = format!("switch_ports[{i}]");
            let switch_id = self.lookup(Kind::Switch, None, &it.switch, &format!("{path}.switch"))?;
            let old = self.existing::<SwitchPortSpec>(Some(switch_id), &it.name, &path)?;
            let discovered = it.discovered.or(old.as_ref().map(|o| o.spec.discovered)).unwrap_or_default();
            let spec = SwitchPortSpec { switch_id, name: it.name.clone(), discovered };
            self.put("switch_ports", path, old, spec);
        }
        for (i, it) in doc.hardware.iter().enumerate() {
            let path = format!("hardware[{i}]");
            let old = self.existing::<HardwareSpec>(None, &it.name, &path)?;
            let model = it.model.clone().unwrap_or(old.as_ref().and_then(|o| o.spec.model.clone()));
            self.put("hardware", path, old, HardwareSpec { name: it.name.clone(), model });
        }
        for (i, it) in doc.cards.iter().enumerate() {
            let path = format!("cards[{i}]");
            let old = self.existing::<CardSpec>(None, &it.name, &path)?;
            let hardware_ids = match &it.hardware {
                Some(h) => self.lookup_all(Kind::Hardware, h, &format!("{path}.hardware"))?,
                None => old.as_ref().map(|o| o.spec.hardware_ids.clone()).unwrap_or_default(),
            };
            let interface_map = it.interface_map.clone().or(old.as_ref().map(|o| o.spec.interface_map.clone())).unwrap_or_default();
            self.put("cards", path, old, CardSpec { name: it.name.clone(), hardware_ids, interface_map });
        }
        for (i, it) in doc.node_profiles.iter().enumerate() {
            let path = format!("node_profiles[{i}]");
            let old = self.existing::<NodeProfileSpec>(None, &it.name, &path)?;
            let hardware_ids = match &it.hardware {
                Some(h) => self.lookup_all(Kind::Hardware, h, &format!("{path}.hardware"))?,
                None => old.as_ref().map(|o| o.spec.hardware_ids.clone()).unwrap_or_default(),
            };
            self.put("node_profiles", path, old, NodeProfileSpec { name: it.name.clone(), hardware_ids });
        }
        for (i, it) in doc.nodes.iter().enumerate() {
            let path = format!("nodes[{i}]");
            let old = self.existing::<NodeSpec>(None, &it.name, &path)?;
            let base = old.as_ref().map(|o| &o.spec);
            let node_profile_id = match &it.node_profile {
                Some(Some(p)) => Some(self.lookup(Kind::NodeProfile, None, p, &format!("{path}.node_profile"))?),
                Some(None) => None,
                None => base.and_then(|b| b.node_profile_id),
            };
            let ports = match &it.ports {
                Some(ps) => ps
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        let switch_id = self.lookup(Kind::Switch, None, &p.switch, &format!("{path}.ports[{j}].switch"))?;
                        Ok(NodePort { name: p.name.clone(), mac: p.mac, switch_id, switch_port: p.switch_port.clone() })
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?,
                None => base.map(|b| b.ports.clone()).unwrap_or_default(),
            };
            let spec = NodeSpec {
                name: it.name.clone(),
                node_profile_id,
                node_type: it.node_type.or(base.map(|b| b.node_type)).unwrap_or_default(),
                aliases: it.aliases.clone().or(base.map(|b| b.aliases.clone())).unwrap_or_default(),
                ports,
            };
            self.put("nodes", path, old, spec);
        }
        for (i, it) in doc.port_profiles.iter().enumerate() {
            let path = format!("port_profiles[{i}]");
            let old = self.existing::<PortProfileSpec>(None, &it.name, &path)?;
            let base = old.as_ref().map(|o| &o.spec);
            let spec = PortProfileSpec {
                name: it.name.clone(),
                allowed_frames: it.allowed_frames.or(base.map(|b| b.allowed_frames)).unwrap_or_default(),
                allowed_vlans: it.allowed_vlans.clone().or(base.map(|b| b.allowed_vlans.clone())).unwrap_or_default(),
                mtu: it.mtu.unwrap_or(base.and_then(|b| b.mtu)),
                security_groups: it.security_groups.clone().or(base.map(|b| b.security_groups.clone())).unwrap_or_default(),
                qos_policy_id: it.qos_policy_id.unwrap_or(base.and_then(|b| b.qos_policy_id)),
                networks: it.networks.clone().or(base.map(|b| b.networks.clone())).unwrap_or_default(),
            };
            self.put("port_profiles", path, old, spec);
        }
        Ok(())
    }
}

/// Rename id fields to the document's reference fields: `ports[0].switch_id`
/// → `ports[0].switch`, `hardware_ids[1]` → `hardware[1]`.
fn document_field(field: &str) -> String {
    field
        .split('.')
        .map(|part| {
            let (name, idx) = part.split_at(part.find('[').unwrap_or(part.len()));
            let name = match name {
                "fabric_id" => "fabric",
                "switch_id" => "switch",
                "node_profile_id" => "node_profile",
                "hardware_ids" => "hardware",
                other => other,
            };
            format!("{name}{idx}")
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Turn the catalog's `items[k].field` into `<document path of item k>.field`.
fn locate(e: ModelError, paths: &[String]) -> ApiError {
    let field = e.field().unwrap_or_default().to_string();
    let (index, rest) = match field.strip_prefix("items[").and_then(|r| r.split_once(']')) {
        Some((k, rest)) => (k.parse::<usize>().unwrap_or(0), rest.trim_start_matches('.').to_string()),
        None => (0, field.clone()),
    };
    let item = paths.get(index).cloned().unwrap_or_default();
    let mut api: ApiError = e.into();
    let rest = document_field(&rest);
    let full = match (item.is_empty(), rest.is_empty()) {
        (true, _) => rest,
        (false, true) => item,
        (false, false) => format!("{item}.{rest}"),
    };
    api.field = (!full.is_empty()).then_some(full);
    api
}

/// `POST /v1/apply`.
pub async fn apply(State(st): State<AppState>, body: Bytes) -> Result<Json<ApplyReport>, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let doc: ApplyDocument = serde_path_to_error::deserialize(de).map_err(ApiError::from_json)?;
    // Plan under the catalog's writer lock, so the names resolved and the
    // objects found still hold when the changes are stored.
    let mut paths = Vec::new();
    let mut report = ApplyReport::default();
    let mut base_revision = 0;
    let res = st
        .catalog
        .update(|snap| {
            let mut plan = Plan::new(snap);
            plan.build(&doc)?;
            base_revision = snap.revision;
            paths = plan.paths;
            report = plan.report;
            // Ports of a changed port profile are re-bound with it.
            stitch_engine::profile::with_rebound_ports(snap, plan.changes).map_err(|e| match e {
                stitch_engine::EngineError::Model(m) => locate(m, &paths),
                other => crate::dependents::engine_error(other),
            })
        })
        .await;
    report.revision = base_revision;
    match res {
        Ok((next, effective)) => {
            report.revision = next.revision;
            if !effective.is_empty() {
                tracing::info!(items = doc.len(), stored = effective.len(), revision = next.revision, "applied document");
            }
        }
        Err(UpdateError::Refused(e)) => return Err(e),
        Err(UpdateError::Catalog(CatalogError::Model(e))) => return Err(locate(e, &paths)),
        Err(UpdateError::Catalog(e)) => return Err(e.into()),
    }
    for c in report.kinds.values() {
        report.created += c.created;
        report.updated += c.updated;
        report.unchanged += c.unchanged;
    }
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_fields() {
        assert_eq!(document_field("ports[0].switch_id"), "ports[0].switch");
        assert_eq!(document_field("hardware_ids[2]"), "hardware[2]");
        assert_eq!(document_field("name"), "name");
        let e = ModelError::MissingReference { field: "items[1].ports[3].switch_id".into(), kind: "switch", id: "x".into() };
        let a = locate(e, &["nodes[0]".into(), "nodes[7]".into()]);
        assert_eq!(a.field.as_deref(), Some("nodes[7].ports[3].switch"));
        let e = ModelError::invalid("aliases[0]", "bad");
        assert_eq!(locate(e, &["nodes[4]".into()]).field.as_deref(), Some("nodes[4].aliases[0]"));
    }
}
