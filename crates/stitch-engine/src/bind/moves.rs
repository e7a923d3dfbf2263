//! How a port joins, moves between and leaves virtual port groups, and how
//! a move finishes. The rules (issue 7, "identity and migration"):
//!
//! - A port whose binding moves (same VM, another place) moves
//!   **make-before-break** in three committed phases:
//!   1. the new place is programmed with the port `pending` there, the old
//!      place keeps it `draining`; every other switch still points the MAC
//!      at the old place;
//!   2. once every switch of the network holds phase 1, the runtime confirms
//!      the new place ([`advance_moves`]): other switches now point the MAC
//!      at it;
//!   3. once every switch of the network holds phase 2, the old place is
//!      released.
//!   So no switch ever points a MAC at a VTEP that does not (or no longer)
//!   carries it.
//! - A re-incarnated port (another VM, `device_id` changed) carries nothing
//!   over: it leaves every old place at once, and its new place stays
//!   `pending` (not advertised) until every switch of the network holds the
//!   removal of the old traces.
//! - Unbinding, a failed binding or deleting a port leaves at once.
//! - An inactive binding (`binding-extended`) makes the port `standby`:
//!   programmed, never advertised.

use std::collections::BTreeSet;

use stitch_model::Snapshot;
use stitch_model::inventory::{AnyObject, Kind, Object};
use stitch_model::neutron::{PortSpec, VpgSpec};
use stitch_model::snapshot::Change;
use uuid::Uuid;

use super::{Attachment, vpg_id};

/// Where a port should be, as computed from its bindings.
pub(crate) struct Placement<'a> {
    /// The active binding's attachments (empty: unbound, failed, deleted).
    pub active: &'a [Attachment],
    pub active_dictated: bool,
    /// The inactive bindings' attachments.
    pub standby: &'a [Attachment],
    pub standby_dictated: bool,
    /// Another VM now owns the port: nothing carries over.
    pub reincarnated: bool,
}

fn strip(s: &mut VpgSpec, p: Uuid) {
    s.port_ids.retain(|x| *x != p);
    s.pending.retain(|x| *x != p);
    s.draining.retain(|x| *x != p);
    s.standby.retain(|x| *x != p);
}

fn tidy(s: &mut VpgSpec) {
    for l in [&mut s.port_ids, &mut s.pending, &mut s.draining, &mut s.standby] {
        l.sort();
        l.dedup();
    }
}

fn put_or_drop(g: &Object<VpgSpec>, spec: VpgSpec) -> Option<Change> {
    if spec == g.spec {
        return None;
    }
    Some(if spec.automatic && spec.is_unused() {
        Change::Delete(Kind::VirtualPortGroup, g.id)
    } else {
        let mut g = g.clone();
        g.spec = spec;
        Change::Put(AnyObject::VirtualPortGroup(g))
    })
}

/// Changes that put `port` in exactly the groups of `place`, in the roles
/// the rules above give.
pub(crate) fn regroup(snap: &Snapshot, port: &Object<PortSpec>, place: Placement<'_>) -> Vec<Change> {
    let pid = port.id;
    let net = port.spec.network_id;
    let want_active: BTreeSet<Uuid> = place.active.iter().map(|a| vpg_id(net, a)).collect();
    let want_standby: BTreeSet<Uuid> = place.standby.iter().map(|a| vpg_id(net, a)).filter(|g| !want_active.contains(g)).collect();
    // Make-before-break only for a port that is still bound somewhere.
    let drain = !place.active.is_empty() && !place.reincarnated;
    let involved: Vec<&Object<VpgSpec>> = snap.vpgs_of_port(pid).filter(|g| g.spec.network_id == net).collect();
    // The MAC is advertised at a place it leaves: the new places wait.
    let moving = drain && involved.iter().any(|g| !want_active.contains(&g.id) && (g.spec.advertises(&pid) || g.spec.draining.contains(&pid)));
    // The MAC is withheld everywhere (a re-incarnation not yet confirmed):
    // wherever it goes next waits too, or it would reappear before the old
    // owner's traces are gone.
    let withheld =
        involved.iter().any(|g| g.spec.pending.contains(&pid)) && !involved.iter().any(|g| g.spec.advertises(&pid) || g.spec.draining.contains(&pid));
    let moving = moving || (drain && withheld);
    let mut changes = Vec::new();
    let mut seen = BTreeSet::new();
    for g in involved {
        seen.insert(g.id);
        let mut s = g.spec.clone();
        let (advertised, member, was_pending, draining) = (s.advertises(&pid), s.port_ids.contains(&pid), s.pending.contains(&pid), s.draining.contains(&pid));
        strip(&mut s, pid);
        if want_active.contains(&g.id) {
            s.port_ids.push(pid);
            let pend = if member { was_pending || place.reincarnated } else { moving || place.reincarnated };
            if pend {
                s.pending.push(pid);
            }
        } else {
            if drain && (advertised || draining) {
                s.draining.push(pid);
            }
            if want_standby.contains(&g.id) {
                s.standby.push(pid);
            }
        }
        tidy(&mut s);
        changes.extend(put_or_drop(g, s));
    }
    let joins = place.active.iter().map(|a| (a, true, place.active_dictated)).chain(place.standby.iter().map(|a| (a, false, place.standby_dictated)));
    for (a, active, dictated) in joins {
        let id = vpg_id(net, a);
        if seen.contains(&id) || (!active && want_active.contains(&id)) {
            continue;
        }
        seen.insert(id);
        let mut spec = match snap.vpgs.get(&id) {
            Some(g) => g.spec.clone(),
            None => {
                let sw_name = snap.switches.get(&a.switch_id).map(|s| s.spec.name.as_str()).unwrap_or("?");
                let n = net.simple().to_string();
                VpgSpec {
                    name: format!("auto:{sw_name}:{}:vlan{}:{}", a.switch_ports.join("+"), a.vlan, &n[..8]),
                    switch_id: a.switch_id,
                    switch_ports: a.switch_ports.clone(),
                    network_id: net,
                    vlan: a.vlan,
                    port_ids: Vec::new(),
                    pending: Vec::new(),
                    draining: Vec::new(),
                    standby: Vec::new(),
                    automatic: true,
                    dictated,
                }
            }
        };
        if active {
            spec.port_ids.push(pid);
            if moving || place.reincarnated {
                spec.pending.push(pid);
            }
        } else {
            spec.standby.push(pid);
        }
        tidy(&mut spec);
        let obj = match snap.vpgs.get(&id) {
            Some(g) => Object { spec, ..g.clone() },
            None => Object { id, created_at: port.updated_at, updated_at: port.updated_at, spec },
        };
        changes.push(Change::Put(AnyObject::VirtualPortGroup(obj)));
    }
    changes
}

/// Switches that carry `network` (have a group of it in any role).
fn switches_of(snap: &Snapshot, network: Uuid) -> BTreeSet<Uuid> {
    snap.vpgs_of_network(network).map(|g| g.spec.switch_id).collect()
}

/// Move every migration one phase on, as far as the switches allow:
/// confirm `pending` places once every switch of the network `holds` the
/// revision that programmed them, release `draining` places once every
/// switch holds the confirmation. `holds(switch, revision)` is the
/// switches' reported status. Pure; the runtime calls it after passes that
/// found nothing to do, under the catalog's writer lock.
pub fn advance_moves(snap: &Snapshot, holds: impl Fn(Uuid, u64) -> bool) -> Vec<Change> {
    let all_hold = |net: Uuid, rev: u64| switches_of(snap, net).into_iter().all(|sw| holds(sw, rev));
    let pending_anywhere = |p: &Uuid| snap.vpgs_of_port(*p).any(|g| g.spec.pending.contains(p));
    let mut changes = Vec::new();
    for g in snap.vpgs_moving() {
        let net = g.spec.network_id;
        let mut s = g.spec.clone();
        s.pending.retain(|p| !all_hold(net, snap.mod_revision(p).max(snap.mod_revision(&g.id))));
        s.draining.retain(|p| {
            if pending_anywhere(p) {
                return true;
            }
            // Where the port is advertised now: every switch must hold its
            // latest word about those places.
            let rev = snap.vpgs_of_port(*p).filter(|c| c.spec.port_ids.contains(p)).map(|c| snap.mod_revision(&c.id)).fold(snap.mod_revision(p), u64::max);
            !all_hold(net, rev)
        });
        changes.extend(put_or_drop(g, s));
    }
    changes
}
