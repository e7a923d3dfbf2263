//! `/v2.0/networks`.

use serde_json::{Map, Value, json};
use stitch_model::inventory::Object;
use stitch_model::neutron::{NetworkSpec, NetworkType, SegmentSpec};
use stitch_model::{Snapshot, Vni};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::util::{project_of, ts};

pub const ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("status", Access::ReadOnly),
    ("subnets", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("name", Access::Both),
    ("description", Access::Both),
    ("admin_state_up", Access::Both),
    ("shared", Access::Both),
    ("mtu", Access::Both),
    ("qos_policy_id", Access::Both),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
    ("provider:network_type", Access::Create),
    ("provider:physical_network", Access::Create),
    ("provider:segmentation_id", Access::Create),
    ("segments", Access::Create),
    ("port_security_enabled", Access::Ignored),
    ("router:external", Access::Ignored),
    ("availability_zone_hints", Access::Ignored),
    ("tags", Access::Ignored),
    ("is_default", Access::Ignored),
    ("dns_domain", Access::Ignored),
];

/// A parsed create request: the spec (VNI still to allocate), the `vxlan`
/// VNI the user asked for, if any, and the extra `vlan` segments of a
/// multi-segment network.
pub struct NewNetwork {
    pub net: Object<NetworkSpec>,
    pub vni: Option<u32>,
    pub segments: Vec<Object<SegmentSpec>>,
}

const PROVIDER: [&str; 3] = ["provider:network_type", "provider:physical_network", "provider:segmentation_id"];

/// `segments` (multi-provider): the `vxlan` segment, else the first, becomes
/// the network's own provider attributes; the others are `vlan` segments.
fn parse_segments(body: &Map<String, Value>, list: Vec<Value>) -> Result<NewNetwork, NeutronError> {
    if body.keys().any(|k| PROVIDER.contains(&k.as_str())) {
        return Err(NeutronError::bad_request("Invalid input for operation: Segments and provider values cannot both be set."));
    }
    let mut segs = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(NeutronError::bad_request(format!("Invalid input for segments. Reason: entry {i} is not a dictionary.")));
        };
        if let Some(k) = m.keys().find(|k| !PROVIDER.contains(&k.as_str())) {
            return Err(NeutronError::bad_request(format!("Invalid input for segments. Reason: unrecognized attribute '{k}' in segment {i}.")));
        }
        segs.push(m);
    }
    if segs.is_empty() {
        return Err(NeutronError::bad_request("Invalid input for segments. Reason: at least one segment is needed."));
    }
    let vxlan: Vec<usize> =
        segs.iter().enumerate().filter(|(_, m)| m.get("provider:network_type").and_then(Value::as_str) == Some("vxlan")).map(|(i, _)| i).collect();
    if vxlan.len() > 1 {
        return Err(NeutronError::bad_request("Invalid input for segments. Reason: a network has one VNI, so at most one vxlan segment."));
    }
    let primary = segs.remove(vxlan.first().copied().unwrap_or(0));
    let mut own = body.clone();
    own.remove("segments");
    own.extend(primary);
    let mut new = parse_create(&own)?;
    for m in segs {
        let ty = attrs::string(&m, "provider:network_type")?.unwrap_or_default();
        let physnet = attrs::nullable_string(&m, "provider:physical_network")?.flatten();
        let seg = attrs::integer(&m, "provider:segmentation_id")?;
        new.segments.push(crate::segment::new_segment(new.net.id, &ty, physnet, seg, String::new(), String::new())?);
    }
    Ok(new)
}

pub fn parse_create(body: &Map<String, Value>) -> Result<NewNetwork, NeutronError> {
    attrs::check_allowed(body, ATTRS, true, "network")?;
    if let Some(list) = attrs::list(body, "segments")? {
        return parse_segments(body, list);
    }
    let network_type = match attrs::string(body, "provider:network_type")?.as_deref() {
        None | Some("vxlan") => NetworkType::Vxlan,
        Some("vlan") => NetworkType::Vlan,
        Some(other) => {
            return Err(NeutronError::bad_request(format!(
                "Invalid input for operation: network_type value '{other}' not supported (Stitch serves vxlan and vlan)."
            )));
        }
    };
    let seg = attrs::integer(body, "provider:segmentation_id")?;
    let seg = match seg {
        None => None,
        Some(v) if (1..=16_777_215).contains(&v) => Some(v as u32),
        Some(v) => return Err(NeutronError::bad_request(format!("Invalid input for operation: segmentation_id {v} out of range."))),
    };
    let physnet = attrs::nullable_string(body, "provider:physical_network")?.flatten();
    if network_type == NetworkType::Vlan {
        match seg {
            None => return Err(NeutronError::bad_request("Invalid input for operation: segmentation_id required for VLAN provider network.")),
            Some(v) if v > 4094 => {
                return Err(NeutronError::bad_request(format!("Invalid input for operation: segmentation_id out of range ({v} not in 1-4094).")));
            }
            _ => {}
        }
    } else if physnet.is_some() {
        return Err(NeutronError::bad_request("Invalid input for operation: physical_network not allowed for vxlan provider network."));
    }
    let project = attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let spec = NetworkSpec {
        name: attrs::string(body, "name")?.unwrap_or_default(),
        project_id: project,
        description: attrs::string(body, "description")?.unwrap_or_default(),
        admin_state_up: attrs::boolean(body, "admin_state_up")?.unwrap_or(true),
        shared: attrs::boolean(body, "shared")?.unwrap_or(false),
        network_type,
        physical_network: physnet,
        segmentation_id: if network_type == NetworkType::Vlan { seg } else { None },
        vni: Vni::new(1).expect("constant"),
        mtu: mtu(body)?.unwrap_or(1500),
        qos_policy_id: crate::qos::policy_attr(body)?.flatten(),
    };
    let requested = if network_type == NetworkType::Vxlan { seg } else { None };
    Ok(NewNetwork { net: Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec }, vni: requested, segments: Vec::new() })
}

fn mtu(body: &Map<String, Value>) -> Result<Option<u32>, NeutronError> {
    match attrs::integer(body, "mtu")? {
        None => Ok(None),
        Some(m) if (68..=9216).contains(&m) => Ok(Some(m as u32)),
        Some(m) => Err(NeutronError::bad_request(format!("Invalid input for mtu. Reason: {m} is not in range 68-9216."))),
    }
}

pub fn apply_update(mut net: Object<NetworkSpec>, body: &Map<String, Value>) -> Result<Object<NetworkSpec>, NeutronError> {
    attrs::check_allowed(body, ATTRS, false, "network")?;
    if let Some(v) = attrs::string(body, "name")? {
        net.spec.name = v;
    }
    if let Some(v) = attrs::string(body, "description")? {
        net.spec.description = v;
    }
    if let Some(v) = attrs::boolean(body, "admin_state_up")? {
        net.spec.admin_state_up = v;
    }
    if let Some(v) = attrs::boolean(body, "shared")? {
        net.spec.shared = v;
    }
    if let Some(v) = mtu(body)? {
        net.spec.mtu = v;
    }
    if let Some(v) = crate::qos::policy_attr(body)? {
        net.spec.qos_policy_id = v;
    }
    net.updated_at = OffsetDateTime::now_utc();
    Ok(net)
}

/// Neutron's representation of a network.
pub fn to_json(snap: &Snapshot, n: &Object<NetworkSpec>) -> Map<String, Value> {
    let s = &n.spec;
    let v = json!({
        "id": n.id,
        "name": s.name,
        "description": s.description,
        "tenant_id": s.project_id,
        "project_id": s.project_id,
        "admin_state_up": s.admin_state_up,
        "status": if s.admin_state_up { "ACTIVE" } else { "DOWN" },
        "shared": s.shared,
        "mtu": s.mtu,
        "qos_policy_id": s.qos_policy_id,
        "subnets": [],
        "router:external": false,
        "port_security_enabled": true,
        "availability_zone_hints": [],
        "availability_zones": [],
        "tags": [],
        "ipv4_address_scope": null,
        "ipv6_address_scope": null,
        "l2_adjacency": true,
        "provider:network_type": s.network_type.as_str(),
        "provider:physical_network": s.physical_network,
        "provider:segmentation_id": s.segmentation_id,
        "created_at": ts(n.created_at),
        "updated_at": ts(n.updated_at),
        "revision_number": snap.mod_revision(&n.id),
    });
    let mut m = project_of(v);
    if let Some(segments) = crate::segment::network_segments(snap, n) {
        for k in PROVIDER {
            m.remove(k);
        }
        m.insert("segments".into(), Value::Array(segments));
    }
    m
}
