//! Secondary indexes of a [`Snapshot`](crate::Snapshot), kept up to date on
//! every insert and removal so that the questions the binding engine and
//! `compile` ask on every write ("which ports use this MAC on this
//! network?", "which groups sit on this switch?") cost O(log n + answer)
//! instead of a scan of the whole table.
//!
//! Each index is a persistent ordered set of tuples (imbl), so cloning a
//! snapshot stays O(1) and a lookup is a range over a tuple prefix. The
//! indexes hold ids only; the objects stay in their tables. They are derived
//! data: `tests/it/index.rs` checks every lookup against a naive scan.

use std::sync::Arc;

use imbl::{OrdMap, OrdSet};
use uuid::Uuid;

use crate::MacAddr;
use crate::inventory::{Object, SwitchSpec};
use crate::neutron::{NetworkSpec, NetworkType, PortSpec, SegmentSpec, TrunkSpec, VpgSpec};

const NIL: Uuid = Uuid::nil();
const MAX: Uuid = Uuid::max();

/// The indexes; every field is a set of (key..., object id).
#[derive(Clone, Debug, Default)]
pub(crate) struct Indexes {
    /// (network, MAC, port)
    pub port_mac: OrdSet<(Uuid, MacAddr, Uuid)>,
    /// (switch, network, group)
    pub vpg_switch: OrdSet<(Uuid, Uuid, Uuid)>,
    /// (network, group)
    pub vpg_network: OrdSet<(Uuid, Uuid)>,
    /// (port, group) for members, draining and standby ports alike
    pub vpg_port: OrdSet<(Uuid, Uuid)>,
    /// (switch, switch port name, VLAN, group)
    pub vpg_switch_port: OrdSet<(Uuid, Arc<str>, u16, Uuid)>,
    /// (switch, VLAN, group) for tagged groups
    pub vlan_use: OrdSet<(Uuid, u16, Uuid)>,
    /// Per switch, the runs of consecutive VLANs in `vlan_use`: the lowest
    /// free VLAN of a range in O(log n).
    pub vlan_runs: Runs,
    /// (port, trunk) for parents and subports
    pub trunk_port: OrdSet<(Uuid, Uuid)>,
    /// (network, segment)
    pub segment_network: OrdSet<(Uuid, Uuid)>,
    /// (physical network, VLAN, network, network or segment): the VLAN
    /// segments of every network, its own (a `vlan` network) and its
    /// stored segments', so "who uses this VLAN" is a range.
    pub vlan_segment: OrdSet<(Option<Arc<str>>, u16, Uuid, Uuid)>,
    /// (fabric, switch)
    pub switch_fabric: OrdSet<(Uuid, Uuid)>,
    /// groups with a move in progress (pending or draining ports)
    pub vpg_moving: OrdSet<Uuid>,
    /// (VNI, network)
    pub network_vni: OrdSet<(u32, Uuid)>,
    /// The runs of consecutive VNIs in `network_vni` (under the nil key).
    pub vni_runs: Runs,
    /// (endpoint key, switch)
    pub switch_endpoint: OrdSet<(String, Uuid)>,
    /// How many ports are bound.
    pub bound_ports: usize,
    /// Write counter of this line of snapshots.
    pub generation: u64,
    /// Per network: the generation of the last write to it, to one of its
    /// groups or to a port of it or of one of its groups.
    pub network_gen: OrdMap<Uuid, u64>,
    /// The generation of the last write to any switch.
    pub switch_gen: u64,
    /// `network_gen` inverted: generation → network, one entry per
    /// network (its last write), so "what was written since generation g"
    /// is a range, not a scan.
    pub gen_log: OrdMap<u64, Uuid>,
}

/// Maximal runs of consecutive values in use, per key: `(key, first) ->
/// last`. Runs never touch (adjacent ones are merged), so the value after a
/// run is free: the lowest free value from `v` is one lookup, not a walk
/// over every value in use. The owner reports each value's transitions
/// between free and used ([`Runs::set`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Runs(OrdMap<(Uuid, u32), u32>);

impl Runs {
    /// The run holding `v` under `key`, as (first, last).
    fn containing(&self, key: Uuid, v: u32) -> Option<(u32, u32)> {
        self.0.get_prev(&(key, v)).filter(|((k, _), last)| *k == key && **last >= v).map(|((_, first), last)| (*first, *last))
    }

    /// `v` became used (`true`) or free (`false`) under `key`.
    pub fn set(&mut self, key: Uuid, v: u32, used: bool) {
        match (used, self.containing(key, v)) {
            (true, None) => {
                let mut first = v;
                let mut last = v;
                // `v` was free, so a run holding `v - 1` ends there.
                if let Some((f, _)) = v.checked_sub(1).and_then(|p| self.containing(key, p)) {
                    self.0.remove(&(key, f));
                    first = f;
                }
                if let Some(l) = v.checked_add(1).and_then(|n| self.0.remove(&(key, n))) {
                    last = l;
                }
                self.0.insert((key, first), last);
            }
            (false, Some((first, last))) => {
                self.0.remove(&(key, first));
                if first < v {
                    self.0.insert((key, first), v - 1);
                }
                if v < last {
                    self.0.insert((key, v + 1), last);
                }
            }
            _ => {}
        }
    }

    /// The lowest value at or above `v` not in use under `key` (`None`
    /// only when every value up to `u32::MAX` is).
    pub fn free_from(&self, key: Uuid, v: u32) -> Option<u32> {
        match self.containing(key, v) {
            Some((_, last)) => last.checked_add(1),
            None => Some(v),
        }
    }
}

/// Bring `set` from holding the entries `old` to holding `new`. Entries
/// in both are left alone: an update that keeps an object's keys (most do:
/// a port added to a group, a port's status) copies no tree node.
fn replace<T: Ord + Clone>(set: &mut OrdSet<T>, mut old: Vec<T>, mut new: Vec<T>) {
    if old == new {
        return;
    }
    // An object may name an entry twice (a port listed twice in a trunk).
    old.sort_unstable();
    old.dedup();
    new.sort_unstable();
    new.dedup();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), b) if b.is_none_or(|b| a < b) => {
                set.remove(a);
                i += 1;
            }
            (_, Some(b)) => {
                set.insert(b.clone());
                j += 1;
            }
            (Some(_), None) | (None, None) => unreachable!("handled above"),
        }
    }
}

/// Each id once, from ids that arrive with equal ones together (a range
/// of an index whose next key field is the id).
fn each_once(ids: impl Iterator<Item = Uuid>) -> impl Iterator<Item = Uuid> {
    let mut last = None;
    ids.filter(move |u| last.replace(*u) != Some(*u))
}

/// The entries of `o` (none when absent), by `f`.
fn entries<O, T>(o: Option<&O>, f: impl Fn(&O) -> Vec<T>) -> Vec<T> {
    o.map(f).unwrap_or_default()
}

impl Indexes {
    /// Mark `network` as written.
    pub fn touch(&mut self, network: Uuid) {
        self.generation += 1;
        if let Some(was) = self.network_gen.insert(network, self.generation) {
            self.gen_log.remove(&was);
        }
        self.gen_log.insert(self.generation, network);
    }

    /// Touch the networks of `old` and `new` (each once).
    fn touch_both(&mut self, old: Option<Uuid>, new: Option<Uuid>) {
        if let Some(n) = old {
            self.touch(n);
        }
        if let Some(n) = new.filter(|n| old != Some(*n)) {
            self.touch(n);
        }
    }

    /// Port `old` (stored before, if any) became `new` (`None`: deleted).
    pub fn port(&mut self, old: Option<&Object<PortSpec>>, new: Option<&Object<PortSpec>>) {
        self.touch_both(old.map(|o| o.spec.network_id), new.map(|o| o.spec.network_id));
        let key = |o: &Object<PortSpec>| vec![(o.spec.network_id, o.spec.mac_address, o.id)];
        replace(&mut self.port_mac, entries(old, key), entries(new, key));
        let bound = |o: Option<&Object<PortSpec>>| o.is_some_and(|o| o.spec.binding.is_bound());
        match (bound(old), bound(new)) {
            (false, true) => self.bound_ports += 1,
            (true, false) => self.bound_ports -= 1,
            _ => {}
        }
    }

    /// Group `old` (stored before, if any) became `new` (`None`: deleted).
    pub fn vpg(&mut self, old: Option<&Object<VpgSpec>>, new: Option<&Object<VpgSpec>>) {
        self.touch_both(old.map(|o| o.spec.network_id), new.map(|o| o.spec.network_id));
        replace(
            &mut self.vpg_switch,
            entries(old, |o| vec![(o.spec.switch_id, o.spec.network_id, o.id)]),
            entries(new, |o| vec![(o.spec.switch_id, o.spec.network_id, o.id)]),
        );
        replace(&mut self.vpg_network, entries(old, |o| vec![(o.spec.network_id, o.id)]), entries(new, |o| vec![(o.spec.network_id, o.id)]));
        let members = |o: &Object<VpgSpec>| o.spec.port_ids.iter().chain(&o.spec.draining).chain(&o.spec.standby).map(|p| (*p, o.id)).collect();
        replace(&mut self.vpg_port, entries(old, members), entries(new, members));
        let on_ports =
            |o: &Object<VpgSpec>| o.spec.switch_ports.iter().map(|sp| (o.spec.switch_id, Arc::<str>::from(sp.as_str()), o.spec.vlan, o.id)).collect();
        let same_ports =
            old.zip(new).is_some_and(|(a, b)| a.spec.switch_id == b.spec.switch_id && a.spec.vlan == b.spec.vlan && a.spec.switch_ports == b.spec.switch_ports);
        if !same_ports {
            replace(&mut self.vpg_switch_port, entries(old, on_ports), entries(new, on_ports));
        }
        let tagged = |o: &Object<VpgSpec>| if o.spec.vlan != 0 { vec![(o.spec.switch_id, o.spec.vlan, o.id)] } else { Vec::new() };
        let (was, now) = (entries(old, tagged), entries(new, tagged));
        if was != now {
            replace(&mut self.vlan_use, was.clone(), now.clone());
            for (switch, vlan, _) in was.into_iter().chain(now) {
                let used = self.vlan_use.range((switch, vlan, NIL)..=(switch, vlan, MAX)).next().is_some();
                self.vlan_runs.set(switch, u32::from(vlan), used);
            }
        }
        let moving = |o: &Object<VpgSpec>| if !o.spec.draining.is_empty() || !o.spec.pending.is_empty() { vec![o.id] } else { Vec::new() };
        replace(&mut self.vpg_moving, entries(old, moving), entries(new, moving));
    }

    /// Network `old` (stored before, if any) became `new` (`None`: deleted).
    pub fn network(&mut self, old: Option<&Object<NetworkSpec>>, new: Option<&Object<NetworkSpec>>) {
        self.touch_both(old.map(|o| o.id), new.map(|o| o.id));
        let own_vlan = |o: &Object<NetworkSpec>| {
            if o.spec.network_type == NetworkType::Vlan {
                vec![(o.spec.physical_network.as_deref().map(Arc::from), o.spec.segmentation_id.unwrap_or(0) as u16, o.id, o.id)]
            } else {
                Vec::new()
            }
        };
        replace(&mut self.vlan_segment, entries(old, own_vlan), entries(new, own_vlan));
        let (was, now) = (entries(old, |o| vec![(o.spec.vni.get(), o.id)]), entries(new, |o| vec![(o.spec.vni.get(), o.id)]));
        if was != now {
            replace(&mut self.network_vni, was.clone(), now.clone());
            for (vni, _) in was.into_iter().chain(now) {
                let used = self.network_vni.range((vni, NIL)..=(vni, MAX)).next().is_some();
                self.vni_runs.set(NIL, vni, used);
            }
        }
    }

    /// Trunk `old` (stored before, if any) became `new` (`None`: deleted).
    pub fn trunk(&mut self, old: Option<&Object<TrunkSpec>>, new: Option<&Object<TrunkSpec>>) {
        let ports = |o: &Object<TrunkSpec>| o.spec.all_ports().map(|p| (p, o.id)).collect();
        replace(&mut self.trunk_port, entries(old, ports), entries(new, ports));
    }

    /// Segment `old` (stored before, if any) became `new` (`None`: deleted).
    pub fn segment(&mut self, old: Option<&Object<SegmentSpec>>, new: Option<&Object<SegmentSpec>>) {
        let key = |o: &Object<SegmentSpec>| vec![(o.spec.network_id, o.id)];
        replace(&mut self.segment_network, entries(old, key), entries(new, key));
        let vlan = |o: &Object<SegmentSpec>| vec![(Some(Arc::from(o.spec.physical_network.as_str())), o.spec.segmentation_id as u16, o.spec.network_id, o.id)];
        replace(&mut self.vlan_segment, entries(old, vlan), entries(new, vlan));
    }

    /// Switch `old` (stored before, if any) became `new` (`None`: deleted).
    pub fn switch(&mut self, old: Option<&Object<SwitchSpec>>, new: Option<&Object<SwitchSpec>>) {
        self.generation += 1;
        self.switch_gen = self.generation;
        let fabric = |o: &Object<SwitchSpec>| vec![(o.spec.fabric_id, o.id)];
        replace(&mut self.switch_fabric, entries(old, fabric), entries(new, fabric));
        let endpoint = |o: &Object<SwitchSpec>| vec![(o.spec.endpoint_key(), o.id)];
        replace(&mut self.switch_endpoint, entries(old, endpoint), entries(new, endpoint));
    }

    pub fn ports_with_mac(&self, network: Uuid, mac: MacAddr) -> impl Iterator<Item = Uuid> + '_ {
        self.port_mac.range((network, mac, NIL)..=(network, mac, MAX)).map(|t| t.2)
    }
    pub fn port_macs_of_network(&self, network: Uuid) -> impl Iterator<Item = (Uuid, MacAddr)> + '_ {
        self.port_mac.range((network, MacAddr([0; 6]), NIL)..=(network, MacAddr([0xff; 6]), MAX)).map(|t| (t.2, t.1))
    }
    pub fn vpgs_on_switch(&self, switch: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_switch.range((switch, NIL, NIL)..=(switch, MAX, MAX)).map(|t| t.2)
    }
    /// Networks with a group on `switch`, each once, in order.
    pub fn networks_on_switch(&self, switch: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        each_once(self.vpg_switch.range((switch, NIL, NIL)..=(switch, MAX, MAX)).map(|t| t.1))
    }
    pub fn vpgs_on_switch_for(&self, switch: Uuid, network: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_switch.range((switch, network, NIL)..=(switch, network, MAX)).map(|t| t.2)
    }
    pub fn vpgs_of_network(&self, network: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_network.range((network, NIL)..=(network, MAX)).map(|t| t.1)
    }
    pub fn vpgs_of_port(&self, port: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_port.range((port, NIL)..=(port, MAX)).map(|t| t.1)
    }
    pub fn vpgs_on_switch_port(&self, switch: Uuid, port: &str) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_switch_port.range((switch, Arc::from(port), 0, NIL)..=(switch, Arc::from(port), u16::MAX, MAX)).map(|t| t.3)
    }
    pub fn vpgs_on_switch_port_vlan(&self, switch: Uuid, port: &str, vlan: u16) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_switch_port.range((switch, Arc::from(port), vlan, NIL)..=(switch, Arc::from(port), vlan, MAX)).map(|t| t.3)
    }
    pub fn vlans_on_switch(&self, switch: Uuid) -> impl Iterator<Item = (u16, Uuid)> + '_ {
        self.vlan_use.range((switch, 0, NIL)..=(switch, u16::MAX, MAX)).map(|t| (t.1, t.2))
    }
    /// The lowest VLAN at or above `v` that no group on `switch` uses.
    pub fn vlan_free_from(&self, switch: Uuid, v: u32) -> Option<u32> {
        self.vlan_runs.free_from(switch, v)
    }
    /// The lowest VNI at or above `v` that no network uses.
    pub fn vni_free_from(&self, v: u32) -> Option<u32> {
        self.vni_runs.free_from(NIL, v)
    }
    pub fn trunks_of_port(&self, port: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.trunk_port.range((port, NIL)..=(port, MAX)).map(|t| t.1)
    }
    /// Networks with a VLAN segment (their own or a stored one) on this
    /// physical network and VLAN, each once, in id order.
    pub fn networks_with_vlan(&self, physical_network: Option<&str>, vlan: u16) -> impl Iterator<Item = Uuid> + '_ {
        let pn: Option<Arc<str>> = physical_network.map(Arc::from);
        each_once(self.vlan_segment.range((pn.clone(), vlan, NIL, NIL)..=(pn, vlan, MAX, MAX)).map(|t| t.2))
    }
    pub fn segments_of_network(&self, network: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.segment_network.range((network, NIL)..=(network, MAX)).map(|t| t.1)
    }
    pub fn networks_with_vni_in(&self, first: u32, last: u32) -> impl Iterator<Item = (u32, Uuid)> + '_ {
        self.network_vni.range((first, NIL)..=(last, MAX)).copied()
    }
    pub fn switches_at_endpoint(&self, key: &str) -> impl Iterator<Item = Uuid> + '_ {
        self.switch_endpoint.range((key.to_string(), NIL)..=(key.to_string(), MAX)).map(|t| t.1)
    }
    pub fn switches_of_fabric(&self, fabric: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.switch_fabric.range((fabric, NIL)..=(fabric, MAX)).map(|t| t.1)
    }
}
