//! `Physical_Port.vlan_bindings`: add and remove only the keys whose
//! logical switch is Stitch's, with `mutate` so concurrent writers' keys
//! survive.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::notation::{Atom, Value};
use ovsdb::ops::{Mutation, Operation};
use uuid::Uuid;

use super::{Phase, PlanProblem, Planner, Scope, by_uuid};
use crate::desired::Name;
use crate::table::Table;

#[derive(Default)]
struct PortChange {
    /// Pairs to delete (VLAN → the logical switch it is bound to now).
    delete: BTreeMap<u16, Uuid>,
    /// Pairs to insert.
    insert: BTreeMap<u16, Atom>,
}

impl<'a> Planner<'a> {
    /// The `(switch, port)` → VLANs of the desired bindings a plan looks
    /// at: all of them, or — for a scope — those whose wanted logical
    /// switch is in the scope or whose port's VLAN is bound now to one that
    /// is. Found by the logical switches' own indexes, not by walking every
    /// VLAN of every port.
    fn desired_bindings_in_scope(&self) -> BTreeMap<(&'a str, &'a str), BTreeSet<u16>> {
        let desired = self.desired;
        let mut out: BTreeMap<(&'a str, &'a str), BTreeSet<u16>> = BTreeMap::new();
        let Scope::LogicalSwitches(names) = self.scope else {
            for ((switch, port), vlans) in &desired.port_bindings {
                out.insert((switch, port), vlans.keys().copied().collect());
            }
            return out;
        };
        for name in names {
            for (switch, port, vlan) in desired.port_bindings.of_logical_switch(name) {
                out.entry((switch, port)).or_default().insert(vlan);
            }
        }
        for ls in self.scope_uuids.iter().flatten() {
            for (p, vlan) in self.cache.bindings_of_logical_switch(*ls) {
                let (Some(port), Some(switch)) = (self.cache.tables().physical_ports.get(&p), self.cache.switch_of_port(p)) else { continue };
                if let Some(((switch, port), vlans)) = desired.port_bindings.get_key_value(&(Name::from(switch.name.as_str()), Name::from(port.name.as_str())))
                {
                    if vlans.contains_key(&vlan) {
                        out.entry((switch, port)).or_default().insert(vlan);
                    }
                }
            }
        }
        out
    }

    /// Phase 4: port VLAN bindings.
    pub(super) fn bindings(&mut self) {
        let desired = self.desired;
        let mut changes: BTreeMap<Uuid, PortChange> = BTreeMap::new();
        // (port UUID, VLAN) pairs that the desired state speaks for.
        let mut wanted: BTreeSet<(Uuid, u16)> = BTreeSet::new();
        let mut missing_switches = BTreeSet::new();
        for ((switch, port), scoped) in self.desired_bindings_in_scope() {
            let vlans = &desired.port_bindings[&(Name::from(switch), Name::from(port))];
            if self.cache.physical_switch_by_name(switch).is_none() {
                if missing_switches.insert(switch) {
                    self.problems.push(PlanProblem::MissingSwitch { switch: switch.to_owned() });
                }
                continue;
            }
            let Some(p) = self.cache.physical_port(switch, port) else {
                self.problems.push(PlanProblem::MissingPort { switch: switch.to_owned(), port: port.to_owned() });
                continue;
            };
            for vlan in scoped {
                let ls_name = &vlans[&vlan];
                if vlan > 4095 {
                    let (switch, port) = (switch.to_owned(), port.to_owned());
                    self.problems.push(PlanProblem::InvalidVlan { switch, port, vlan });
                    continue;
                }
                let Some(target) = self.ls_target(ls_name) else {
                    if !desired.logical_switches.contains_key(ls_name) {
                        self.problems
                            .push(PlanProblem::UnknownLogicalSwitch { name: ls_name.to_string(), used_by: format!("binding {switch}/{port} VLAN {vlan}") });
                    }
                    // Otherwise its conflict is already reported.
                    continue;
                };
                match p.vlan_bindings.get(&vlan) {
                    Some(cur) if Atom::Uuid(*cur) == target => {
                        wanted.insert((p.uuid, vlan));
                    }
                    Some(cur) if self.owned(*cur) => {
                        wanted.insert((p.uuid, vlan));
                        let c = changes.entry(p.uuid).or_default();
                        c.delete.insert(vlan, *cur);
                        c.insert.insert(vlan, target);
                    }
                    Some(cur) => {
                        let (switch, port) = (switch.to_owned(), port.to_owned());
                        self.problems.push(PlanProblem::VlanTaken { switch, port, vlan, by: self.ls_name(*cur) });
                    }
                    None => {
                        wanted.insert((p.uuid, vlan));
                        changes.entry(p.uuid).or_default().insert.insert(vlan, target);
                    }
                }
            }
        }
        // Any binding to an owned logical switch (in the scope) that nobody
        // asked for.
        let bound: Vec<(Uuid, u16, Uuid)> = match &self.scope_uuids {
            None => self.cache.tables().physical_ports.values().flat_map(|p| p.vlan_bindings.iter().map(|(v, ls)| (p.uuid, *v, *ls))).collect(),
            Some(uuids) => uuids.iter().flat_map(|ls| self.cache.bindings_of_logical_switch(*ls).map(|(p, v)| (p, v, *ls))).collect(),
        };
        for (port, vlan, ls) in bound {
            if self.owned(ls) && !wanted.contains(&(port, vlan)) {
                changes.entry(port).or_default().delete.insert(vlan, ls);
            }
        }
        for (port, c) in changes {
            let mut mutations = Vec::new();
            let mut what = Vec::new();
            if !c.delete.is_empty() {
                what.extend(c.delete.iter().map(|(v, ls)| format!("-{v}:{}", self.ls_name(*ls))));
                mutations.push(Mutation::delete("vlan_bindings", Value::map(c.delete.iter().map(|(v, ls)| (i64::from(*v), Atom::Uuid(*ls))))));
            }
            if !c.insert.is_empty() {
                what.extend(c.insert.iter().map(|(v, ls)| format!("+{v}:{}", self.ref_name(ls))));
                mutations.push(Mutation::insert("vlan_bindings", Value::map(c.insert.into_iter().map(|(v, ls)| (i64::from(v), ls)))));
            }
            let name = self.port_label(port);
            self.push(
                Phase::Bindings,
                Operation::mutate(Table::PhysicalPort.name(), by_uuid(port), mutations),
                format!("port {name} vlan_bindings {}", what.join(" ")),
            );
        }
    }

    /// What a binding to this desired logical switch points at: the
    /// logical switch this plan created or checked, or — for one outside
    /// the scope, which is as desired — the owned one the database has.
    fn ls_target(&self, name: &str) -> Option<Atom> {
        if let Some(a) = self.ls_ref.get(name) {
            return Some(a.clone());
        }
        if self.scope.contains(name) {
            return None;
        }
        self.cache.logical_switch_by_name(name).filter(|ls| self.desired.owner.owns(ls)).map(|ls| Atom::Uuid(ls.uuid))
    }

    /// `switch/port` for notes.
    pub(super) fn port_label(&self, port: Uuid) -> String {
        let p = self.cache.tables().physical_ports.get(&port).map_or("?", |p| p.name.as_str());
        let s = self.cache.switch_of_port(port).map_or("?", |s| s.name.as_str());
        format!("{s}/{p}")
    }

    /// The logical switch name an `ls_ref` atom stands for.
    fn ref_name(&self, a: &Atom) -> String {
        match (self.ls_ref.iter().find(|(_, v)| *v == a), a.as_uuid()) {
            (Some((k, _)), _) => k.to_string(),
            (None, Some(u)) => self.ls_name(u),
            (None, None) => a.to_string(),
        }
    }
}
