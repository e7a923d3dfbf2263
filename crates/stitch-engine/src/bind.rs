//! What storing a network or a port means for the fabric: the binding of a
//! port (resolution + VLAN) and the virtual port groups it joins or leaves.
//!
//! Every function here is pure: it reads a snapshot and returns the changes
//! to commit. The caller runs it under the catalog's writer lock.
//!
//! Trunks ([`put_trunk`]), multi-segment networks ([`put_segment`]) and L2
//! gateway connections ([`connect_l2gw`]) live in submodules; the VLAN rule
//! they share: VLANs Stitch allocates stay unique per switch, VLANs dictated
//! from outside (a `vlan` segment, a trunk subport, a gateway interface) are
//! checked per switch port ([`check_ports`]).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use stitch_model::inventory::{Kind, NodeType, Object, SwitchSpec};
use stitch_model::neutron::*;
use stitch_model::resolve::resolve;
use stitch_model::snapshot::{Change, SystemContext};
use stitch_model::{AnyObject, Draft, Snapshot, Vni};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::EngineError;
use crate::alloc::{allocate_vni, vlan_for, vni_owner};

mod bindings;
mod l2gw;
mod moves;
mod segment;
mod trunk;

pub use bindings::{activate_binding, add_binding, delete_binding};
pub use moves::advance_moves;
use moves::{Placement, regroup};

pub use l2gw::{connect_l2gw, disconnect_l2gw, l2gw_in_use};
pub use segment::{VlanSegment, delete_segment, primary_segment_id, put_segment, vlan_segments};
pub use trunk::{delete_trunk, inherited_vlan, put_trunk};

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
        if old.spec.network_type != net.spec.network_type || old.spec.segmentation_id != net.spec.segmentation_id && requested_vni.is_some() {
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
                let vni = Vni::new(v as i64).map_err(|m| EngineError::Invalid { field: "provider:segmentation_id".into(), message: m })?;
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
        // A provider VLAN is one L2 domain per physical network: two
        // networks cannot share it (Neutron's VlanIdInUse).
        if let (NetworkType::Vlan, Some(v)) = (net.spec.network_type, net.spec.segmentation_id) {
            let pn = net.spec.physical_network.clone();
            // By index: the networks using this VLAN there, lowest id first.
            let other = u16::try_from(v).ok().and_then(|vlan| snap.networks_with_vlan(pn.as_deref(), vlan).find(|n| n.id != net.id));
            if let Some(other) = other {
                return Err(EngineError::InUse {
                    kind: "VlanIdInUse",
                    message: format!(
                        "Unable to create the network. The VLAN {v} on physical network {} is in use by network {}.",
                        pn.as_deref().unwrap_or("(none)"),
                        other.id
                    ),
                });
            }
        }
    }
    Ok(vec![Change::Put(AnyObject::Network(net))])
}

// ------------------------------------------------------------------ ports

/// A working copy of the snapshot: changes are applied (validated) as they
/// are decided, so later decisions in one request (a trunk's subports after
/// its parent) see earlier ones; its changes are what the caller commits.
/// A [`Draft`], so the catalog can store it without applying it again.
pub(crate) use stitch_model::Draft as Work;

/// Applying decided changes to the working copy.
pub(crate) trait Commit {
    fn commit(&mut self, cs: Vec<Change>) -> Result<(), EngineError>;
}

impl Commit for Draft {
    fn commit(&mut self, cs: Vec<Change>) -> Result<(), EngineError> {
        Ok(self.apply(cs, &mut SystemContext)?)
    }
}

/// Where one port lands, with how its VLAN was chosen.
struct Bound {
    atts: Vec<Attachment>,
    /// The VLAN came from a segment, a subport or the network, not the pool.
    dictated: bool,
    /// The stored segment whose VLAN is used.
    segment: Option<Uuid>,
}

/// Store `port` with its binding computed, and move it between groups.
/// The port's `binding` field is ignored on input: it is recomputed here.
/// A trunk parent's subports follow it; a subport's binding follows its
/// parent (its host cannot be set to anything else).
pub fn put_port(snap: &Snapshot, port: Object<PortSpec>) -> Result<Vec<Change>, EngineError> {
    let mut d = Draft::new(snap);
    put_port_in(&mut d, port)?;
    Ok(d.into_changes())
}

/// [`put_port`] into a draft (a bulk request binds its ports one after the
/// other into one draft, which the catalog stores as it is). On error the
/// draft is left as it was.
pub fn put_port_in(d: &mut Draft, mut port: Object<PortSpec>) -> Result<(), EngineError> {
    d.attempt(|w| {
        let snap = w.snap();
        snap.networks.get(&port.spec.network_id).ok_or(EngineError::NetworkNotFound(port.spec.network_id))?;
        if let Some(old) = snap.ports.get(&port.id) {
            if old.spec.network_id != port.spec.network_id {
                return Err(EngineError::Invalid { field: "network_id".into(), message: "a port cannot move to another network".into() });
            }
        }
        if let Some(other) = snap.ports_with_mac(port.spec.network_id, port.spec.mac_address).find(|p| p.id != port.id) {
            return Err(EngineError::Conflict(format!("MAC address {} is already used by port {} on this network", port.spec.mac_address, other.id)));
        }
        if let Some(t) = snap.trunk_of(port.id).filter(|t| t.spec.port_id != port.id) {
            let parent = snap.ports.get(&t.spec.port_id).ok_or(EngineError::PortNotFound(t.spec.port_id))?;
            if port.spec.host_id != parent.spec.host_id {
                return Err(EngineError::Conflict(format!(
                    "port {} is a subport of trunk {}: its binding follows the parent port {} (host {:?})",
                    port.id, t.id, parent.id, parent.spec.host_id
                )));
            }
            follow_parent(&mut port.spec, t, parent);
        }
        bind_cascade(w, port)
    })
}

/// Make a subport's host and vNIC type those of its trunk's parent, as
/// Neutron's trunk service does (`device_owner` `trunk:subport`).
pub(crate) fn follow_parent(spec: &mut PortSpec, t: &Object<TrunkSpec>, parent: &Object<PortSpec>) {
    spec.host_id = parent.spec.host_id.clone();
    spec.vnic_type = parent.spec.vnic_type;
    spec.device_owner = "trunk:subport".into();
    spec.device_id = t.id.to_string();
}

/// Bind `port` into the working snapshot, then re-derive the subports when
/// it is a trunk parent.
pub(crate) fn bind_cascade(w: &mut Work, port: Object<PortSpec>) -> Result<(), EngineError> {
    cascade(w, port, false)
}

fn cascade(w: &mut Work, port: Object<PortSpec>, reincarnated: bool) -> Result<(), EngineError> {
    let id = port.id;
    let at = port.updated_at;
    let reincarnated = bind_into(w, port, reincarnated)?;
    let trunk = w.snap().trunk_with_parent(id).cloned();
    if let Some(t) = trunk {
        for sp in &t.spec.sub_ports {
            let Some(mut p) = w.snap().ports.get(&sp.port_id).cloned() else { continue };
            if let Some(parent) = w.snap().ports.get(&id).cloned() {
                follow_parent(&mut p.spec, &t, &parent);
            }
            p.updated_at = at;
            cascade(w, p, reincarnated)?;
        }
    }
    Ok(())
}

/// Recompute a stored port's binding after something it depends on changed
/// (its trunk, its parent, its network's segments); `edit` adjusts it
/// first. Writes nothing when nothing changes.
pub(crate) fn rebind(w: &mut Work, id: Uuid, at: OffsetDateTime, edit: impl FnOnce(&mut PortSpec)) -> Result<(), EngineError> {
    let Some(mut p) = w.snap().ports.get(&id).cloned() else { return Ok(()) };
    edit(&mut p.spec);
    if let Some(t) = w.snap().trunk_of(id).filter(|t| t.spec.port_id != id).cloned() {
        if let Some(parent) = w.snap().ports.get(&t.spec.port_id).cloned() {
            follow_parent(&mut p.spec, &t, &parent);
        }
    }
    p.updated_at = at;
    bind_cascade(w, p)
}

/// Whether another VM now owns the port: its `device_id` (the instance)
/// changed from one VM to another.
pub fn is_reincarnation(old: &PortSpec, new: &PortSpec) -> bool {
    !old.device_id.is_empty() && !new.device_id.is_empty() && old.device_id != new.device_id
}

/// The binding record of a successful resolution (`spec` as bound: for an
/// inactive binding, with its host, vNIC type and profile).
fn success(snap: &Snapshot, spec: &PortSpec, net: &Object<NetworkSpec>, b: &Bound, trunk: Option<&Object<TrunkSpec>>, generation: u64) -> PortBinding {
    let mut details = serde_json::Map::new();
    if let Some(vlan) = b.atts.iter().map(|a| a.vlan).find(|v| *v != 0) {
        details.insert("vlan".into(), Value::String(vlan.to_string()));
    }
    details.insert("port_filter".into(), Value::Bool(false));
    crate::qos::vif_details(snap, spec, net, &mut details);
    if let Some(t) = trunk {
        details.insert("trunk_vlans".into(), json!(trunk::trunk_vlans(t, &b.atts)));
    }
    PortBinding {
        vif_type: spec.vnic_type.vif_type().into(),
        vif_details: details.into(),
        generation,
        rare: BindingRare { segment_id: b.segment, ..Default::default() }.into(),
    }
}

fn failed(reason: String, generation: u64) -> PortBinding {
    PortBinding {
        vif_type: "binding_failed".into(),
        rare: BindingRare { failure: Some(reason), ..Default::default() }.into(),
        generation,
        ..Default::default()
    }
}

/// Store the port with its bindings computed and its groups adjusted.
/// Returns whether the port was re-incarnated (so its subports are too).
fn bind_into(w: &mut Work, mut port: Object<PortSpec>, parent_reincarnated: bool) -> Result<bool, EngineError> {
    let snap = w.snap();
    let net = snap.networks.get(&port.spec.network_id).ok_or(EngineError::NetworkNotFound(port.spec.network_id))?;
    let old = snap.ports.get(&port.id);
    let reincarnated = parent_reincarnated || old.is_some_and(|o| is_reincarnation(&o.spec, &port.spec));
    if reincarnated {
        // Nothing of the previous owner carries over.
        port.spec.rare.inactive_bindings.clear();
    }
    let generation = match old {
        Some(o) if reincarnated || (o.spec.host_id != port.spec.host_id && !port.spec.host_id.is_empty()) => o.spec.binding.generation + 1,
        Some(o) => o.spec.binding.generation,
        None => u64::from(!port.spec.host_id.is_empty()),
    };
    let trunk = snap.trunk_of(port.id);
    let result = match trunk {
        Some(t) if t.spec.port_id != port.id => trunk::subport_binding(snap, t, &port),
        _ => binding_for(snap, port.id, &port.spec, net, trunk),
    };
    let result = result.and_then(|b| crate::profile::check(snap, port.id, &port.spec, trunk, b.as_ref().map_or(&[][..], |b| &b.atts)).map(|()| b));
    let parent_of = trunk.filter(|t| t.spec.port_id == port.id);
    let (binding, bound) = match result {
        Ok(None) => (PortBinding { generation, ..PortBinding::unbound() }, None),
        Ok(Some(b)) => (success(snap, &port.spec, net, &b, parent_of, generation), Some(b)),
        Err(reason) => (failed(reason, generation), None),
    };
    port.spec.binding = binding;
    port.spec.binding.rare.port_profile_id = crate::profile::id_of(snap, &port.spec);
    // Inactive bindings: resolved like the active one, programmed as standby.
    let mut standby = Vec::new();
    let mut standby_dictated = false;
    let mut inactive = std::mem::take(&mut port.spec.rare.inactive_bindings);
    for hb in &mut inactive {
        let mut spec = port.spec.clone();
        spec.host_id = hb.host.clone();
        spec.vnic_type = hb.vnic_type;
        spec.profile = hb.profile.clone();
        let resolved = binding_for(snap, port.id, &spec, net, None)
            .and_then(|b| crate::profile::check(snap, port.id, &spec, None, b.as_ref().map_or(&[][..], |b| &b.atts)).map(|()| b));
        hb.binding = match resolved {
            Ok(None) => PortBinding { generation, ..PortBinding::unbound() },
            Ok(Some(b)) => {
                standby_dictated |= b.dictated;
                let pb = success(snap, &spec, net, &b, None, generation);
                standby.extend(b.atts);
                pb
            }
            Err(reason) => failed(reason, generation),
        };
    }
    port.spec.rare.inactive_bindings = inactive;
    // The writes above box the rare fields even to clear them: most ports
    // have none, and a port is stored ~100,000 times at fabric scale.
    port.spec.rare.tidy();
    port.spec.binding.rare.tidy();
    let (atts, dictated) = bound.map(|b| (b.atts, b.dictated)).unwrap_or_default();
    crate::acl::check_port(snap, &port, &atts)?;
    crate::qos::check_port(snap, &port.spec)?;
    let mut changes = Vec::new();
    if old.is_none_or(|o| o.spec != port.spec) {
        changes.push(Change::Put(AnyObject::Port(port.clone())));
    }
    let place = Placement { active: &atts, active_dictated: dictated, standby: &standby, standby_dictated, reincarnated };
    changes.extend(regroup(snap, &port, place));
    w.commit(changes)?;
    Ok(reincarnated)
}

/// Remove a port and its group memberships. A trunk's parent or subport
/// cannot be deleted while the trunk holds it (Neutron's 409s).
pub fn delete_port(snap: &Snapshot, port_id: Uuid) -> Result<Vec<Change>, EngineError> {
    let port = snap.ports.get(&port_id).ok_or(EngineError::PortNotFound(port_id))?;
    if let Some(t) = snap.trunk_of(port_id) {
        return Err(if t.spec.port_id == port_id {
            EngineError::InUse { kind: "PortInUseAsTrunkParent", message: format!("Port {port_id} is currently a parent port for trunk {}.", t.id) }
        } else {
            EngineError::InUse { kind: "PortInUseAsSubPort", message: format!("Port {port_id} is currently a subport for trunk {}.", t.id) }
        });
    }
    let gone = Placement { active: &[], active_dictated: false, standby: &[], standby_dictated: false, reincarnated: false };
    let mut changes = regroup(snap, port, gone);
    changes.push(Change::Delete(Kind::Port, port_id));
    Ok(changes)
}

/// The id of the automatic group for one attachment of a network.
pub fn vpg_id(network: Uuid, a: &Attachment) -> Uuid {
    let key = format!("{}|{}|{}|{}", a.switch_id, a.switch_ports.join(","), network, a.vlan);
    Uuid::new_v5(&VPG_NAMESPACE, key.as_bytes())
}

/// Where a port binds: `Ok(None)` when Stitch has nothing to bind (no host,
/// or a `normal` port), `Err(reason)` when binding fails.
fn binding_for(snap: &Snapshot, port_id: Uuid, spec: &PortSpec, net: &Object<NetworkSpec>, trunk: Option<&Object<TrunkSpec>>) -> Result<Option<Bound>, String> {
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
    let mut seg = None;
    let links: Vec<(Uuid, Vec<String>)> = if spec.vnic_type == VnicType::Baremetal {
        baremetal_links(snap, spec, node.spec.node_type)?
    } else {
        let choice = segment::choose(snap, node, spec, net)?;
        seg = choice.vlan;
        let label = choice.label.as_str();
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
    let family: BTreeSet<Uuid> = trunk.map(|t| t.spec.all_ports().collect()).unwrap_or_default();
    let mut out = Vec::new();
    let mut dictated = false;
    for (switch_id, ports) in links {
        let sw = snap.switches.get(&switch_id).ok_or_else(|| format!("switch {switch_id} does not exist"))?;
        let (vlan, d) = if spec.vnic_type.untagged() {
            (0, false)
        } else if let Some((v, _)) = seg {
            (v, true)
        } else {
            (vlan_for(snap, sw, net.id)?, false)
        };
        dictated |= d;
        check_ports(snap, sw, net.id, &ports, vlan, Some(port_id), &family)?;
        out.push(Attachment { switch_id, switch_ports: ports, vlan });
    }
    out.sort();
    let segment = seg.and_then(|(_, s)| s).filter(|_| !spec.vnic_type.untagged());
    Ok(Some(Bound { atts: out, dictated, segment }))
}

/// Groups of other networks on the same switch ports must not clash: the
/// same VLAN, or an untagged owner next to anything else (except within one
/// trunk, whose untagged parent is the native VLAN of its tagged subports).
/// Groups that only `me` uses are about to be left and do not count.
pub(crate) fn check_ports(
    snap: &Snapshot,
    sw: &Object<SwitchSpec>,
    net: Uuid,
    ports: &[String],
    vlan: u16,
    me: Option<Uuid>,
    family: &BTreeSet<Uuid>,
) -> Result<(), String> {
    // Only the groups on these switch ports can clash, and of those, for a
    // tagged VLAN, only the ones with that VLAN or untagged (by index: a
    // switch port carrying thousands of networks is not scanned for each
    // binding). Visited in id order so the first clash reported is the
    // same whatever the index order.
    let near: BTreeSet<Uuid> = ports
        .iter()
        .flat_map(|p| -> Box<dyn Iterator<Item = &Object<VpgSpec>>> {
            if vlan == 0 {
                Box::new(snap.vpgs_on_switch_port(sw.id, p))
            } else {
                Box::new(snap.vpgs_on_switch_port_with_vlan(sw.id, p, vlan).chain(snap.vpgs_on_switch_port_with_vlan(sw.id, p, 0)))
            }
        })
        .map(|g| g.id)
        .collect();
    for g in near.iter().filter_map(|id| snap.vpgs.get(id)).filter(|g| {
        g.spec.switch_id == sw.id
            && g.spec.network_id != net
            && !(me.is_some() && g.spec.port_ids.len() == 1 && Some(g.spec.port_ids[0]) == me)
            && g.spec.switch_ports.iter().any(|p| ports.contains(p))
    }) {
        let same_trunk = !g.spec.port_ids.is_empty() && g.spec.port_ids.iter().all(|p| family.contains(p));
        if g.spec.vlan == vlan || ((g.spec.vlan == 0 || vlan == 0) && !same_trunk) {
            let what = if vlan == 0 { "untagged".to_string() } else { format!("VLAN {vlan}") };
            return Err(format!(
                "{what} on switch {:?} port {} conflicts with virtual port group {:?} (network {}, VLAN {}, owner: {})",
                sw.spec.name,
                ports.join("+"),
                g.spec.name,
                g.spec.network_id,
                g.spec.vlan,
                owner_of(snap, g)
            ));
        }
    }
    Ok(())
}

/// Who holds a group, for error messages.
pub(crate) fn owner_of(snap: &Snapshot, g: &Object<VpgSpec>) -> String {
    if let Some(c) = snap.l2gw_connections.iter().find(|c| c.spec.vpg_ids.contains(&g.id)) {
        let gw = snap.l2_gateways.get(&c.spec.l2_gateway_id).map(|g| g.spec.name.as_str()).unwrap_or("?");
        return format!("L2 gateway connection {} of gateway {gw:?}", c.id);
    }
    if g.spec.is_unused() {
        return "a manual attachment".into();
    }
    let ports: Vec<String> = g
        .spec
        .port_ids
        .iter()
        .chain(g.spec.draining.iter())
        .map(|p| match snap.trunk_of(*p) {
            Some(t) if t.spec.port_id == *p => format!("port {p}, parent of trunk {}", t.id),
            Some(t) => format!("port {p}, subport of trunk {}", t.id),
            None => format!("port {p}"),
        })
        .collect();
    ports.join("; ")
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

fn profile_str<'a>(profile: &'a stitch_model::JsonObject, key: &str) -> Option<&'a str> {
    profile.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Neutron's `binding:vif_details` for a port, as stored.
pub fn vif_details(p: &PortSpec) -> Value {
    p.binding.vif_details.clone().into()
}
