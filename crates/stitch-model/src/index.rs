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

use imbl::{OrdMap, OrdSet};
use uuid::Uuid;

use crate::MacAddr;
use crate::inventory::{Object, SwitchSpec};
use crate::neutron::{NetworkSpec, PortSpec, SegmentSpec, TrunkSpec, VpgSpec};

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
    pub vpg_switch_port: OrdSet<(Uuid, String, u16, Uuid)>,
    /// (switch, VLAN, group) for tagged groups
    pub vlan_use: OrdSet<(Uuid, u16, Uuid)>,
    /// Per switch, the runs of consecutive VLANs in `vlan_use`: the lowest
    /// free VLAN of a range in O(log n).
    pub vlan_runs: Runs,
    /// (port, trunk) for parents and subports
    pub trunk_port: OrdSet<(Uuid, Uuid)>,
    /// (network, segment)
    pub segment_network: OrdSet<(Uuid, Uuid)>,
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

fn toggle<T: Ord + Clone>(set: &mut OrdSet<T>, v: T, add: bool) {
    if add {
        set.insert(v);
    } else {
        set.remove(&v);
    }
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

    pub fn port(&mut self, o: &Object<PortSpec>, add: bool) {
        self.touch(o.spec.network_id);
        toggle(&mut self.port_mac, (o.spec.network_id, o.spec.mac_address, o.id), add);
        if o.spec.binding.is_bound() {
            if add {
                self.bound_ports += 1;
            } else {
                self.bound_ports -= 1;
            }
        }
    }

    pub fn vpg(&mut self, o: &Object<VpgSpec>, add: bool) {
        let s = &o.spec;
        self.touch(s.network_id);
        toggle(&mut self.vpg_switch, (s.switch_id, s.network_id, o.id), add);
        toggle(&mut self.vpg_network, (s.network_id, o.id), add);
        for p in s.port_ids.iter().chain(&s.draining).chain(&s.standby) {
            toggle(&mut self.vpg_port, (*p, o.id), add);
        }
        for sp in &s.switch_ports {
            toggle(&mut self.vpg_switch_port, (s.switch_id, sp.clone(), s.vlan, o.id), add);
        }
        if s.vlan != 0 {
            toggle(&mut self.vlan_use, (s.switch_id, s.vlan, o.id), add);
            let used = self.vlan_use.range((s.switch_id, s.vlan, NIL)..=(s.switch_id, s.vlan, MAX)).next().is_some();
            self.vlan_runs.set(s.switch_id, u32::from(s.vlan), used);
        }
        if !s.draining.is_empty() || !s.pending.is_empty() {
            toggle(&mut self.vpg_moving, o.id, add);
        }
    }

    pub fn network(&mut self, o: &Object<NetworkSpec>, add: bool) {
        self.touch(o.id);
        let vni = o.spec.vni.get();
        toggle(&mut self.network_vni, (vni, o.id), add);
        let used = self.network_vni.range((vni, NIL)..=(vni, MAX)).next().is_some();
        self.vni_runs.set(NIL, vni, used);
    }

    pub fn trunk(&mut self, o: &Object<TrunkSpec>, add: bool) {
        for p in o.spec.all_ports() {
            toggle(&mut self.trunk_port, (p, o.id), add);
        }
    }

    pub fn segment(&mut self, o: &Object<SegmentSpec>, add: bool) {
        toggle(&mut self.segment_network, (o.spec.network_id, o.id), add);
    }

    pub fn switch(&mut self, o: &Object<SwitchSpec>, add: bool) {
        self.generation += 1;
        self.switch_gen = self.generation;
        toggle(&mut self.switch_fabric, (o.spec.fabric_id, o.id), add);
        toggle(&mut self.switch_endpoint, (o.spec.endpoint_key(), o.id), add);
    }

    pub fn ports_with_mac(&self, network: Uuid, mac: MacAddr) -> impl Iterator<Item = Uuid> + '_ {
        self.port_mac.range((network, mac, NIL)..=(network, mac, MAX)).map(|t| t.2)
    }
    pub fn vpgs_on_switch(&self, switch: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_switch.range((switch, NIL, NIL)..=(switch, MAX, MAX)).map(|t| t.2)
    }
    /// Networks with a group on `switch`, each once, in order.
    pub fn networks_on_switch(&self, switch: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        let mut last = None;
        self.vpg_switch.range((switch, NIL, NIL)..=(switch, MAX, MAX)).filter_map(move |t| {
            (last != Some(t.1)).then(|| {
                last = Some(t.1);
                t.1
            })
        })
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
        self.vpg_switch_port.range((switch, port.to_string(), 0, NIL)..=(switch, port.to_string(), u16::MAX, MAX)).map(|t| t.3)
    }
    pub fn vpgs_on_switch_port_vlan(&self, switch: Uuid, port: &str, vlan: u16) -> impl Iterator<Item = Uuid> + '_ {
        self.vpg_switch_port.range((switch, port.to_string(), vlan, NIL)..=(switch, port.to_string(), vlan, MAX)).map(|t| t.3)
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
