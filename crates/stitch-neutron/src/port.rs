//! `/v2.0/ports`, with the `binding` extension.

use rand::Rng;
use serde_json::{Map, Value, json};
use stitch_engine::status::StatusBoard;
use stitch_model::inventory::Object;
use stitch_model::neutron::{PortBinding, PortRare, PortSpec, VnicType};
use stitch_model::{MacAddr, Snapshot};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::attrs::{self, Access, AttrTable};
use crate::error::NeutronError;
use crate::util::{project_of, ts};

pub const ATTRS: AttrTable = &[
    ("id", Access::ReadOnly),
    ("status", Access::ReadOnly),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
    ("revision_number", Access::ReadOnly),
    ("binding:vif_type", Access::ReadOnly),
    ("binding:vif_details", Access::ReadOnly),
    ("network_id", Access::Create),
    ("tenant_id", Access::Create),
    ("project_id", Access::Create),
    ("name", Access::Both),
    ("description", Access::Both),
    ("admin_state_up", Access::Both),
    ("mac_address", Access::Both),
    ("fixed_ips", Access::Both),
    ("device_id", Access::Both),
    ("device_owner", Access::Both),
    ("security_groups", Access::Both),
    ("qos_policy_id", Access::Both),
    ("binding:host_id", Access::Both),
    ("binding:vnic_type", Access::Both),
    ("binding:profile", Access::Both),
    ("port_security_enabled", Access::Ignored),
    ("allowed_address_pairs", Access::Ignored),
    ("extra_dhcp_opts", Access::Ignored),
    ("dns_name", Access::Ignored),
    ("tags", Access::Ignored),
    ("propagate_uplink_status", Access::Ignored),
];

pub(crate) const VNIC_TYPES: &str = "normal, direct, macvtap, direct-physical, baremetal";

fn mac(body: &Map<String, Value>) -> Result<Option<MacAddr>, NeutronError> {
    match attrs::string(body, "mac_address")? {
        None => Ok(None),
        Some(s) => {
            let m: MacAddr = s.parse().map_err(|e| NeutronError::bad_request(format!("Invalid input for mac_address. Reason: {e}.")))?;
            if m.is_multicast() || m.0 == [0; 6] {
                return Err(NeutronError::bad_request(format!("Invalid input for mac_address. Reason: '{s}' is not a valid unicast MAC address.")));
            }
            Ok(Some(m))
        }
    }
}

fn vnic(body: &Map<String, Value>) -> Result<Option<VnicType>, NeutronError> {
    match attrs::string(body, "binding:vnic_type")? {
        None => Ok(None),
        Some(s) => VnicType::parse(&s)
            .map(Some)
            .ok_or_else(|| NeutronError::bad_request(format!("Invalid input for binding:vnic_type. Reason: '{s}' is not in [{VNIC_TYPES}]."))),
    }
}

fn fixed_ips(body: &Map<String, Value>) -> Result<Option<Vec<Value>>, NeutronError> {
    let Some(list) = attrs::list(body, "fixed_ips")? else { return Ok(None) };
    for (i, ip) in list.iter().enumerate() {
        let Value::Object(m) = ip else {
            return Err(NeutronError::bad_request(format!("Invalid input for fixed_ips. Reason: entry {i} is not a dictionary.")));
        };
        if let Some(a) = m.get("ip_address") {
            let ok = a.as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok());
            if !ok {
                return Err(NeutronError::bad_request(format!("Invalid input for fixed_ips. Reason: '{a}' is not a valid IP address.")));
            }
        }
    }
    Ok(Some(list))
}

fn string_list(body: &Map<String, Value>, attr: &str) -> Result<Option<Vec<String>>, NeutronError> {
    let Some(list) = attrs::list(body, attr)? else { return Ok(None) };
    list.into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            other => Err(NeutronError::bad_request(format!("Invalid input for {attr}. Reason: '{other}' is not a valid string."))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A random MAC in OpenStack's `fa:16:3e` prefix, unused on `network`.
pub fn generate_mac(snap: &Snapshot, network: Uuid) -> MacAddr {
    let mut rng = rand::thread_rng();
    loop {
        let m = MacAddr([0xfa, 0x16, 0x3e, rng.r#gen(), rng.r#gen(), rng.r#gen()]);
        if snap.ports_with_mac(network, m).next().is_none() {
            return m;
        }
    }
}

/// Parse a create request into a port (binding still to compute).
pub fn parse_create(snap: &Snapshot, body: &Map<String, Value>) -> Result<Object<PortSpec>, NeutronError> {
    attrs::check_allowed(body, ATTRS, true, "port")?;
    let network_id =
        attrs::uuid(body, "network_id")?.ok_or_else(|| NeutronError::bad_request("Failed to parse request. Required attribute 'network_id' not specified"))?;
    let project = attrs::string(body, "project_id")?.or(attrs::string(body, "tenant_id")?).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let spec = PortSpec {
        name: attrs::string(body, "name")?.unwrap_or_default(),
        network_id,
        mac_address: match mac(body)? {
            Some(m) => m,
            None => generate_mac(snap, network_id),
        },
        fixed_ips: fixed_ips(body)?.unwrap_or_default(),
        device_id: attrs::string(body, "device_id")?.unwrap_or_default(),
        device_owner: attrs::string(body, "device_owner")?.unwrap_or_default(),
        project_id: project,
        admin_state_up: attrs::boolean(body, "admin_state_up")?.unwrap_or(true),
        security_groups: string_list(body, "security_groups")?.unwrap_or_default(),
        host_id: attrs::string(body, "binding:host_id")?.unwrap_or_default().into(),
        vnic_type: vnic(body)?.unwrap_or_default(),
        profile: attrs::dict(body, "binding:profile")?.unwrap_or_default().into(),
        binding: PortBinding::unbound(),
        rare: PortRare {
            description: attrs::string(body, "description")?.unwrap_or_default(),
            qos_policy_id: crate::qos::policy_attr(body)?.flatten(),
            inactive_bindings: Vec::new(),
        }
        .into(),
    };
    Ok(Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec })
}

pub fn apply_update(mut p: Object<PortSpec>, body: &Map<String, Value>) -> Result<Object<PortSpec>, NeutronError> {
    attrs::check_allowed(body, ATTRS, false, "port")?;
    let s = &mut p.spec;
    if let Some(v) = attrs::string(body, "name")? {
        s.name = v;
    }
    if let Some(v) = attrs::string(body, "description")? {
        s.rare.description = v;
    }
    if let Some(v) = attrs::boolean(body, "admin_state_up")? {
        s.admin_state_up = v;
    }
    if let Some(v) = mac(body)? {
        s.mac_address = v;
    }
    if let Some(v) = fixed_ips(body)? {
        s.fixed_ips = v;
    }
    if let Some(v) = attrs::string(body, "device_id")? {
        // Another VM takes the port (a re-incarnation): nothing of the
        // previous one carries over, its binding profile included.
        if !s.device_id.is_empty() && !v.is_empty() && v != s.device_id && !body.contains_key("binding:profile") {
            s.profile.clear();
        }
        s.device_id = v;
    }
    if let Some(v) = attrs::string(body, "device_owner")? {
        s.device_owner = v;
    }
    if let Some(v) = string_list(body, "security_groups")? {
        s.security_groups = v;
    }
    if let Some(v) = attrs::nullable_string(body, "binding:host_id")? {
        s.host_id = v.unwrap_or_default().into();
    }
    if let Some(v) = vnic(body)? {
        s.vnic_type = v;
    }
    if let Some(v) = crate::qos::policy_attr(body)? {
        s.rare.qos_policy_id = v;
    }
    if let Some(v) = attrs::dict(body, "binding:profile")? {
        s.profile = v.into();
    }
    p.updated_at = OffsetDateTime::now_utc();
    Ok(p)
}

/// Neutron's representation of a port.
pub fn to_json(snap: &Snapshot, status: &StatusBoard, p: &Object<PortSpec>) -> Map<String, Value> {
    let s = &p.spec;
    let mut v = json!({
        "id": p.id,
        "name": s.name,
        "description": s.rare.description,
        "network_id": s.network_id,
        "tenant_id": s.project_id,
        "project_id": s.project_id,
        "mac_address": s.mac_address,
        "admin_state_up": s.admin_state_up,
        "status": status.port_status(snap, p),
        "device_id": s.device_id,
        "device_owner": s.device_owner,
        "fixed_ips": s.fixed_ips,
        "security_groups": s.security_groups,
        "qos_policy_id": s.rare.qos_policy_id,
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "port_security_enabled": true,
        "tags": [],
        "binding:host_id": s.host_id,
        "binding:vnic_type": s.vnic_type.as_str(),
        "binding:profile": s.profile,
        "binding:vif_type": s.binding.vif_type,
        "binding:vif_details": s.binding.vif_details,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "revision_number": snap.mod_revision(&p.id),
    });
    if let Some(reason) = &s.binding.rare.failure {
        v["binding:failure_reason"] = Value::String(reason.clone());
    }
    if let Some(t) = crate::trunk::details(snap, p.id) {
        v["trunk_details"] = t;
    }
    project_of(v)
}
