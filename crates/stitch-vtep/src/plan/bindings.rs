//! `Physical_Port.vlan_bindings`: add and remove only the keys whose
//! logical switch is Stitch's, with `mutate` so concurrent writers' keys
//! survive.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::notation::{Atom, Value};
use ovsdb::ops::{Mutation, Operation};
use uuid::Uuid;

use super::{Phase, PlanProblem, Planner, by_uuid};
use crate::table::Table;

#[derive(Default)]
struct PortChange {
    /// Pairs to delete (VLAN → the logical switch it is bound to now).
    delete: BTreeMap<u16, Uuid>,
    /// Pairs to insert.
    insert: BTreeMap<u16, Atom>,
}

impl Planner<'_> {
    /// Phase 4: port VLAN bindings.
    pub(super) fn bindings(&mut self) {
        let desired = self.desired;
        let mut changes: BTreeMap<Uuid, PortChange> = BTreeMap::new();
        // (port UUID, VLAN) pairs that the desired state speaks for.
        let mut wanted: BTreeSet<(Uuid, u16)> = BTreeSet::new();
        let mut missing_switches = BTreeSet::new();
        for ((switch, port), vlans) in &desired.port_bindings {
            // Out of the scope: a (port, VLAN) whose wanted and current
            // logical switches both are.
            let (scope, scope_uuids) = (self.scope, &self.scope_uuids);
            let scoped = |p: Option<&crate::rows::PhysicalPort>, vlan: u16, ls: &str| {
                scope.contains(ls) || p.and_then(|p| p.vlan_bindings.get(&vlan)).is_some_and(|cur| scope_uuids.as_ref().is_none_or(|s| s.contains(cur)))
            };
            let p = self.cache.physical_port(switch, port);
            if !vlans.iter().any(|(vlan, ls)| scoped(p, *vlan, ls)) {
                continue;
            }
            if self.cache.physical_switch_by_name(switch).is_none() {
                if missing_switches.insert(switch.clone()) {
                    self.problems.push(PlanProblem::MissingSwitch { switch: switch.clone() });
                }
                continue;
            }
            let Some(p) = self.cache.physical_port(switch, port) else {
                self.problems.push(PlanProblem::MissingPort { switch: switch.clone(), port: port.clone() });
                continue;
            };
            for (&vlan, ls_name) in vlans {
                if !scoped(Some(p), vlan, ls_name) {
                    continue;
                }
                if vlan > 4095 {
                    let (switch, port) = (switch.clone(), port.clone());
                    self.problems.push(PlanProblem::InvalidVlan { switch, port, vlan });
                    continue;
                }
                let Some(target) = self.ls_target(ls_name) else {
                    if !desired.logical_switches.contains_key(ls_name) {
                        self.problems
                            .push(PlanProblem::UnknownLogicalSwitch { name: ls_name.clone(), used_by: format!("binding {switch}/{port} VLAN {vlan}") });
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
                        self.problems.push(PlanProblem::VlanTaken { switch: switch.clone(), port: port.clone(), vlan, by: self.ls_name(*cur) });
                    }
                    None => {
                        wanted.insert((p.uuid, vlan));
                        changes.entry(p.uuid).or_default().insert.insert(vlan, target);
                    }
                }
            }
        }
        // Any binding to an owned logical switch that nobody asked for.
        for p in self.cache.tables().physical_ports.values() {
            for (&vlan, &ls) in &p.vlan_bindings {
                if self.in_scope(ls) && self.owned(ls) && !wanted.contains(&(p.uuid, vlan)) {
                    changes.entry(p.uuid).or_default().delete.insert(vlan, ls);
                }
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
        self.ls_ref.iter().find(|(_, v)| *v == a).map_or_else(|| a.to_string(), |(k, _)| k.clone())
    }
}
