//! Multi-segment networks: a network keeps one VNI (its `vxlan` segment, or
//! the overlay VNI of a `vlan` network) and may add `vlan` segments, one per
//! physical network. A port bound through a NIC that serves a physical
//! network with a `vlan` segment uses that segment's VLAN on its switch port,
//! mapped there to the network's VNI; elsewhere a `vxlan` network's port
//! gets an allocated VLAN as before.
//!
//! The network's own provider attributes are its first segment (id derived
//! from the network id); extra segments are stored [`SegmentSpec`]s. A
//! network without stored segments binds exactly as a single-segment
//! network always has.

use stitch_model::inventory::{NodeSpec, Object};
use stitch_model::neutron::*;
use stitch_model::resolve::resolve;
use stitch_model::snapshot::Change;
use stitch_model::{AnyObject, Kind, Snapshot};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Commit, Work, profile_str, rebind};
use crate::EngineError;

const SEGMENT_NAMESPACE: Uuid = Uuid::from_u128(0x5717_c4a7_0000_4000_8000_0000_0000_0002);

/// The id under which a network's own (first) segment is shown.
pub fn primary_segment_id(network: Uuid) -> Uuid {
    Uuid::new_v5(&SEGMENT_NAMESPACE, network.as_bytes())
}

/// One `vlan` segment of a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VlanSegment {
    /// The stored segment; `None` for the network's own.
    pub id: Option<Uuid>,
    pub physical_network: Option<String>,
    pub vlan: u16,
}

/// Every `vlan` segment of a network: its own first, then the stored ones
/// in creation order.
pub fn vlan_segments(snap: &Snapshot, net: &Object<NetworkSpec>) -> Vec<VlanSegment> {
    let mut out = Vec::new();
    if net.spec.network_type == NetworkType::Vlan {
        out.push(VlanSegment { id: None, physical_network: net.spec.physical_network.clone(), vlan: net.spec.segmentation_id.unwrap_or(0) as u16 });
    }
    let mut stored: Vec<_> = snap.segments_of_network(net.id).collect();
    stored.sort_by_key(|s| (s.spec.index, s.id));
    out.extend(stored.into_iter().map(|s| VlanSegment {
        id: Some(s.id),
        physical_network: Some(s.spec.physical_network.clone()),
        vlan: s.spec.segmentation_id as u16,
    }));
    out
}

/// The label a port's NIC is resolved by, and the VLAN its segment dictates.
pub(crate) struct Choice {
    pub label: String,
    /// (VLAN, stored segment) when a `vlan` segment dictates it.
    pub vlan: Option<(u16, Option<Uuid>)>,
}

pub(crate) fn choose(snap: &Snapshot, node: &Object<NodeSpec>, spec: &PortSpec, net: &Object<NetworkSpec>) -> Result<Choice, String> {
    let is_vlan = net.spec.network_type == NetworkType::Vlan;
    let asked = profile_str(&spec.profile, "physical_network");
    if snap.segments_of_network(net.id).next().is_none() {
        let label = asked.or(net.spec.physical_network.as_deref().filter(|_| is_vlan)).unwrap_or("sriov");
        let vlan = is_vlan.then(|| (net.spec.segmentation_id.unwrap_or(0) as u16, None));
        return Ok(Choice { label: label.to_string(), vlan });
    }
    let segs = vlan_segments(snap, net);
    if let Some(pn) = asked {
        if let Some(s) = segs.iter().find(|s| s.physical_network.as_deref() == Some(pn)) {
            return Ok(Choice { label: pn.to_string(), vlan: Some((s.vlan, s.id)) });
        }
        if !is_vlan {
            return Ok(Choice { label: pn.to_string(), vlan: None });
        }
        return Err(format!("network {} has no vlan segment on physical network {pn:?} (binding:profile.physical_network)", net.id));
    }
    let served: Vec<&VlanSegment> =
        segs.iter().filter(|s| s.physical_network.as_deref().is_some_and(|p| resolve(snap, node, p).is_ok_and(|l| !l.is_empty()))).collect();
    match served.as_slice() {
        [s] => Ok(Choice { label: s.physical_network.clone().unwrap_or_default(), vlan: Some((s.vlan, s.id)) }),
        [] if !is_vlan => Ok(Choice { label: "sriov".into(), vlan: None }),
        [] => match segs.iter().find(|s| s.physical_network.is_none()) {
            Some(s) => Ok(Choice { label: "sriov".into(), vlan: Some((s.vlan, s.id)) }),
            None => Err(format!(
                "node {:?} has no cabled NIC labelled {} (the physical networks of network {}'s vlan segments)",
                node.spec.name,
                physnets(&segs).join(" or "),
                net.id
            )),
        },
        many => Err(format!(
            "ambiguous: node {:?} serves physical networks {} of network {}; set binding:profile.physical_network",
            node.spec.name,
            physnets(&many.iter().map(|s| (*s).clone()).collect::<Vec<_>>()).join(", "),
            net.id
        )),
    }
}

fn physnets(segs: &[VlanSegment]) -> Vec<String> {
    segs.iter().filter_map(|s| s.physical_network.as_ref()).map(|p| format!("{p:?}")).collect()
}

/// Store a segment (create, or rename/describe an existing one) and
/// re-bind the network's ports so switches converge on it. Refused when
/// its physical network already has a segment of this network, when its
/// VLAN on that physical network belongs to another network, or when a
/// bound port would lose its binding.
pub fn put_segment(snap: &Snapshot, mut seg: Object<SegmentSpec>) -> Result<Vec<Change>, EngineError> {
    let net = snap.networks.get(&seg.spec.network_id).ok_or(EngineError::NetworkNotFound(seg.spec.network_id))?;
    if let Some(old) = snap.segments.get(&seg.id) {
        let o = &old.spec;
        if (o.network_id, o.network_type, &o.physical_network, o.segmentation_id)
            != (seg.spec.network_id, seg.spec.network_type, &seg.spec.physical_network, seg.spec.segmentation_id)
        {
            return Err(EngineError::Invalid { field: "segment".into(), message: "only the name and description of a segment can be changed".into() });
        }
        seg.spec.index = o.index;
        return Ok(vec![Change::Put(AnyObject::Segment(seg))]);
    }
    let (pn, vlan) = (seg.spec.physical_network.clone(), seg.spec.segmentation_id as u16);
    if vlan_segments(snap, net).iter().any(|s| s.physical_network.as_deref() == Some(pn.as_str())) {
        return Err(EngineError::Invalid {
            field: "physical_network".into(),
            message: format!("network {} already has a vlan segment on physical network {pn:?}", net.id),
        });
    }
    // By index: the networks using this VLAN there, lowest id first.
    if let Some(other) = snap.networks_with_vlan(Some(pn.as_str()), vlan).find(|n| n.id != net.id) {
        return Err(EngineError::InUse {
            kind: "VlanIdInUse",
            message: format!("Unable to create the segment. The VLAN {vlan} on physical network {pn} is in use by network {}.", other.id),
        });
    }
    seg.spec.index = 1 + snap.segments_of_network(net.id).map(|s| s.spec.index).max().unwrap_or(0);
    let (net_id, at) = (net.id, seg.updated_at);
    let mut w = Work::new(snap);
    w.commit(vec![Change::Put(AnyObject::Segment(seg))])?;
    rebind_network(&mut w, net_id, at)?;
    Ok(w.into_changes())
}

/// Delete a stored segment no port is bound through, and re-bind the
/// network's ports. A network's own segment goes with the network.
pub fn delete_segment(snap: &Snapshot, id: Uuid, at: OffsetDateTime) -> Result<Vec<Change>, EngineError> {
    if let Some(n) = snap.networks.iter().find(|n| primary_segment_id(n.id) == id) {
        return Err(EngineError::InUse {
            kind: "SegmentInUse",
            message: format!("Segment '{id}' is network {}'s own segment (its provider attributes); it is deleted with the network.", n.id),
        });
    }
    let seg = snap.segments.get(&id).ok_or_else(|| EngineError::NotFound { kind: "SegmentNotFound", message: format!("Segment {id} could not be found.") })?;
    let users: Vec<String> = snap.ports.iter().filter(|p| p.spec.binding.rare.segment_id == Some(id)).map(|p| p.id.to_string()).collect();
    if !users.is_empty() {
        return Err(EngineError::InUse {
            kind: "SegmentInUse",
            message: format!("Segment '{id}' cannot be deleted while it is in use (ports {}).", users.join(", ")),
        });
    }
    let net = seg.spec.network_id;
    let mut w = Work::new(snap);
    w.commit(vec![Change::Delete(Kind::Segment, id)])?;
    rebind_network(&mut w, net, at)?;
    Ok(w.into_changes())
}

/// Re-bind every port of `net` that has a host (subports follow their
/// parents and are re-bound with them); refuse if a bound port would fail.
pub(crate) fn rebind_network(w: &mut Work, net: Uuid, at: OffsetDateTime) -> Result<(), EngineError> {
    let ports: Vec<(Uuid, bool)> = w
        .snap()
        .ports
        .iter()
        .filter(|p| p.spec.network_id == net && !p.spec.host_id.is_empty())
        .filter(|p| w.snap().trunk_of(p.id).is_none_or(|t| t.spec.port_id == p.id))
        .map(|p| (p.id, p.spec.binding.is_bound()))
        .collect();
    for (id, was_bound) in ports {
        rebind(w, id, at, |_| {})?;
        let now = &w.snap().ports.get(&id).ok_or(EngineError::PortNotFound(id))?.spec.binding;
        if was_bound && !now.is_bound() {
            return Err(EngineError::Conflict(format!("port {id} would lose its binding: {}", now.rare.failure.clone().unwrap_or_default())));
        }
    }
    Ok(())
}
