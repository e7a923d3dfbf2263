//! What storing a network or a port means for the fabric: the binding of a
//! port (resolution + VLAN) and the virtual port groups it joins or leaves.
//!
//! Every function here is pure: it reads a snapshot and returns the changes
//! to commit. The caller runs it under the catalog's writer lock.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use stitch_model::inventory::{Kind, NodeType, Object, SwitchSpec};
use stitch_model::neutron::*;
use stitch_model::resolve::resolve;
use stitch_model::snapshot::Change;
use stitch_model::{AnyObject, Snapshot, Vni};
use uuid::Uuid;

use crate::EngineError;
use crate::alloc::{allocate_vni, vlan_for, vni_owner};

/// Fixed namespace for deriving automatic group ids from what they attach.
const VPG_NAMESPACE: Uuid = Uuid::from_u128(0x5717_c4a7_0000_4000_8000_0000_0000_0001);

/// Where a bound port lands on one switch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attachment {
    pub switch_id: Uuid,
    pub switch_ports: Vec<String>,
    /// 0 = untagged.
    pub vlan: u16,
}

// ------------------------------------------------------------------ networks

/// Fill in a new or updated network's VNI: keep the one it has, take the
/// user's `vxlan` segmentation id, or allocate one from the fabrics' ranges.
pub fn put_network(snap: &Snapshot, mut net: Object<NetworkSpec>, requested_vni: Option<u32>) -> Result<Vec<Change>, EngineError> {
    let existing = snap.networks.get(&net.id);
    if let Some(old) = existing {
        if old.spec.network_type != net.spec.network_type
            || old.spec.segmentation_id != net.spec.segmentation_id && requested_vni.is_some()
        {
            return Err(EngineError::Invalid {
                field: "provider:network_type".into(),
                message: "provider attributes of an existing network cannot be changed".into(),
            });
        }
        net.spec.vni = old.spec.vni;
        net.spec.segmentation_id = old.spec.segmentation_id;
    } else {
        let vni = match (net.spec.network_type, requested_vni) {
            (NetworkType::Vxlan, Some(v)) => {
                let vni = Vni::new(v as i64)
                    .map_err(|m| EngineError::Invalid { field: "provider:segmentation_id".into(), message: m })?;
                if let Some(owner) = vni_owner(snap, vni, None) {
                    return Err(EngineError::VniInUse { vni: v, network: owner });
                }
                vni
            }
            _ => allocate_vni(snap)?,
        };
        net.spec.vni = vni;
        if net.spec.network_type == NetworkType::Vxlan {
            net.spec.segmentation_id = Some(vni.get());
        }
    }
    Ok(vec![Change::Put(AnyObject::Network(net))])
}

// ------------------------------------------------------------------ ports

/// Store `port` with its binding computed, and move it between groups.
/// The port's `binding` field is ignored on input: it is recomputed here.
pub fn put_port(snap: &Snapshot, mut port: Object<PortSpec>) -> Result<Vec<Change>, EngineError> {
    let net = snap.networks.get(&port.spec.network_id).ok_or(EngineError::NetworkNotFound(port.spec.network_id))?;
    let old = snap.ports.get(&port.id);
    if let Some(old) = old {
        if old.spec.network_id != port.spec.network_id {
            return Err(EngineError::Invalid { field: "network_id".into(), message: "a port cannot move to another network".into() });
        }
    }
    if let Some(other) = snap.ports.iter().find(|p| {
        p.id != port.id && p.spec.network_id == port.spec.network_id && p.spec.mac_address == port.spec.mac_address
    }) {
        return Err(EngineError::Conflict(format!(
            "MAC address {} is already used by port {} on this network",
            port.spec.mac_address, other.id
        )));
    }
    let generation = match old {
        Some(o) if o.spec.host_id != port.spec.host_id && !port.spec.host_id.is_empty() => o.spec.binding.generation + 1,
        Some(o) => o.spec.binding.generation,
        None => u64::from(!port.spec.host_id.is_empty()),
    };

    let (binding, attachments) = match binding_for(snap, port.id, &port.spec, net) {
        Ok(None) => (PortBinding { generation, ..PortBinding::unbound() }, Vec::new()),
        Ok(Some(atts)) => {
            let mut details = serde_json::Map::new();
            if let Some(vlan) = atts.iter().map(|a| a.vlan).find(|v| *v != 0) {
                details.insert("vlan".into(), Value::String(vlan.to_string()));
            }
            details.insert("port_filter".into(), Value::Bool(false));
            let b = PortBinding {
                vif_type: port.spec.vnic_type.vif_type().into(),
                vif_details: details,
                failure: None,
                generation,
            };
            (b, atts)
        }
        Err(reason) => (
            PortBinding { vif_type: "binding_failed".into(), vif_details: Default::default(), failure: Some(reason), generation },
            Vec::new(),
        ),
    };
    port.spec.binding = binding;
    let mut changes = vec![Change::Put(AnyObject::Port(port.clone()))];
    changes.extend(regroup(snap, &port, &attachments));
    Ok(changes)
}

/// Remove a port and its group memberships.
pub fn delete_port(snap: &Snapshot, port_id: Uuid) -> Result<Vec<Change>, EngineError> {
    let port = snap.ports.get(&port_id).ok_or(EngineError::PortNotFound(port_id))?;
    let mut changes = regroup(snap, port, &[]);
    changes.push(Change::Delete(Kind::Port, port_id));
    Ok(changes)
}

/// The id of the automatic group for one attachment of a network.
pub fn vpg_id(network: Uuid, a: &Attachment) -> Uuid {
    let key = format!("{}|{}|{}|{}", a.switch_id, a.switch_ports.join(","), network, a.vlan);
    Uuid::new_v5(&VPG_NAMESPACE, key.as_bytes())
}

/// Changes that make `port` a member of exactly the groups of `attachments`:
/// leave the others (deleting automatic groups left empty), join or create these.
fn regroup(snap: &Snapshot, port: &Object<PortSpec>, attachments: &[Attachment]) -> Vec<Change> {
    let wanted: BTreeSet<Uuid> = attachments.iter().map(|a| vpg_id(port.spec.network_id, a)).collect();
    let mut changes = Vec::new();
    for g in snap.vpgs.iter().filter(|g| g.spec.port_ids.contains(&port.id) && !wanted.contains(&g.id)) {
        let mut g = g.clone();
        g.spec.port_ids.retain(|p| *p != port.id);
        if g.spec.automatic && g.spec.port_ids.is_empty() {
            changes.push(Change::Delete(Kind::VirtualPortGroup, g.id));
        } else {
            changes.push(Change::Put(AnyObject::VirtualPortGroup(g)));
        }
    }
    for a in attachments {
        let id = vpg_id(port.spec.network_id, a);
        match snap.vpgs.get(&id) {
            Some(g) if g.spec.port_ids.contains(&port.id) => {}
            Some(g) => {
                let mut g = g.clone();
                g.spec.port_ids.push(port.id);
                g.spec.port_ids.sort();
                changes.push(Change::Put(AnyObject::VirtualPortGroup(g)));
            }
            None => {
                let sw_name = snap.switches.get(&a.switch_id).map(|s| s.spec.name.as_str()).unwrap_or("?");
                let net = port.spec.network_id.simple().to_string();
                changes.push(Change::Put(AnyObject::VirtualPortGroup(Object {
                    id,
                    created_at: port.updated_at,
                    updated_at: port.updated_at,
                    spec: VpgSpec {
                        name: format!("auto:{sw_name}:{}:vlan{}:{}", a.switch_ports.join("+"), a.vlan, &net[..8]),
                        switch_id: a.switch_id,
                        switch_ports: a.switch_ports.clone(),
                        network_id: port.spec.network_id,
                        vlan: a.vlan,
                        port_ids: vec![port.id],
                        automatic: true,
                    },
                })));
            }
        }
    }
    changes
}

/// Where a port binds: `Ok(None)` when Stitch has nothing to bind (no host,
/// or a `normal` port), `Err(reason)` when binding fails.
fn binding_for(snap: &Snapshot, port_id: Uuid, spec: &PortSpec, net: &Object<NetworkSpec>) -> Result<Option<Vec<Attachment>>, String> {
    if spec.host_id.is_empty() {
        return Ok(None);
    }
    if !spec.vnic_type.binds_to_fabric() {
        return Err(format!(
            "vnic_type normal is served by the hypervisor's virtual switch; Stitch binds direct, macvtap, direct-physical and baremetal ports (host {:?})",
            spec.host_id
        ));
    }
    let node = snap.node_by_host(&spec.host_id).ok_or_else(|| format!("no node has the name or alias {:?}", spec.host_id))?;
    let links: Vec<(Uuid, Vec<String>)> = if spec.vnic_type == VnicType::Baremetal {
        baremetal_links(snap, spec, node.spec.node_type)?
    } else {
        let label = profile_str(&spec.profile, "physical_network")
            .or(net.spec.physical_network.as_deref().filter(|_| net.spec.network_type == NetworkType::Vlan))
            .unwrap_or("sriov");
        let mut found = resolve(snap, node, label).map_err(|e| e.to_string())?;
        if let Some(pf) = profile_str(&spec.profile, "pf_name") {
            found.retain(|l| l.nic == pf);
            if found.is_empty() {
                return Err(format!("binding:profile.pf_name {pf:?} is not a cabled NIC labelled {label:?} on node {:?}", node.spec.name));
            }
        }
        if found.len() > 1 {
            let nics: Vec<_> = found.iter().map(|l| l.nic.as_str()).collect();
            return Err(format!(
                "ambiguous: NICs {} of node {:?} all carry label {label:?}; set binding:profile.physical_network or pf_name",
                nics.join(", "),
                node.spec.name
            ));
        }
        found.into_iter().map(|l| (l.switch_id, vec![l.switch_port])).collect()
    };
    let mut out = Vec::new();
    for (switch_id, ports) in links {
        let sw = snap.switches.get(&switch_id).ok_or_else(|| format!("switch {switch_id} does not exist"))?;
        let vlan = choose_vlan(snap, port_id, spec, net, sw, &ports)?;
        out.push(Attachment { switch_id, switch_ports: ports, vlan });
    }
    out.sort();
    Ok(Some(out))
}

fn choose_vlan(
    snap: &Snapshot,
    port_id: Uuid,
    spec: &PortSpec,
    net: &Object<NetworkSpec>,
    sw: &Object<SwitchSpec>,
    ports: &[String],
) -> Result<u16, String> {
    let vlan = if spec.vnic_type.untagged() {
        0
    } else if net.spec.network_type == NetworkType::Vlan {
        net.spec.segmentation_id.unwrap_or(0) as u16
    } else {
        vlan_for(snap, sw, net.id)?
    };
    // Groups of other networks on the same switch ports must not clash: the
    // same VLAN, or an untagged owner next to anything else.
    for g in snap.vpgs.iter().filter(|g| {
        g.spec.switch_id == sw.id
            && g.spec.network_id != net.id
            && !(g.spec.port_ids.len() == 1 && g.spec.port_ids[0] == port_id)
            && g.spec.switch_ports.iter().any(|p| ports.contains(p))
    }) {
        if g.spec.vlan == vlan || g.spec.vlan == 0 || vlan == 0 {
            let what = if vlan == 0 { "untagged".to_string() } else { format!("VLAN {vlan}") };
            return Err(format!(
                "{what} on switch {:?} port {} conflicts with virtual port group {:?} (network {}, VLAN {})",
                sw.spec.name,
                ports.join("+"),
                g.spec.name,
                g.spec.network_id,
                g.spec.vlan
            ));
        }
    }
    Ok(vlan)
}

/// Bare-metal links from `binding:profile.local_link_information`:
/// `[{switch_id: chassis MAC, port_id: switch port, switch_info: switch name}]`,
/// grouped per switch (a bond on one switch is one group).
fn baremetal_links(snap: &Snapshot, spec: &PortSpec, node_type: NodeType) -> Result<Vec<(Uuid, Vec<String>)>, String> {
    if node_type != NodeType::Baremetal {
        return Err(format!("host {:?} is not a bare-metal node", spec.host_id));
    }
    let lli = spec
        .profile
        .get("local_link_information")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("binding:profile.local_link_information is missing or empty")?;
    let mut by_switch: std::collections::BTreeMap<Uuid, Vec<String>> = Default::default();
    for (i, link) in lli.iter().enumerate() {
        let port = link.get("port_id").and_then(Value::as_str).ok_or(format!("local_link_information[{i}].port_id is missing"))?;
        let by_info = link.get("switch_info").and_then(Value::as_str).and_then(|n| snap.switches.by_name(None, n));
        let by_mac = link
            .get("switch_id")
            .and_then(Value::as_str)
            .and_then(|m| m.parse::<stitch_model::MacAddr>().ok())
            .and_then(|m| snap.switches.iter().find(|s| s.spec.chassis_mac == Some(m)));
        let sw = by_info.or(by_mac).ok_or(format!(
            "local_link_information[{i}] names no known switch (switch_info {:?}, switch_id {:?})",
            link.get("switch_info"),
            link.get("switch_id")
        ))?;
        by_switch.entry(sw.id).or_default().push(port.to_string());
    }
    Ok(by_switch
        .into_iter()
        .map(|(s, mut p)| {
            p.sort();
            p.dedup();
            (s, p)
        })
        .collect())
}

fn profile_str<'a>(profile: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    profile.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Neutron's `binding:vif_details` for a port, as stored.
pub fn vif_details(p: &PortSpec) -> Value {
    if p.binding.vif_details.is_empty() { json!({}) } else { Value::Object(p.binding.vif_details.clone()) }
}
