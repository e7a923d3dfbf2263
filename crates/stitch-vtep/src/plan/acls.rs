//! ACLs: `ACL` rows named `<owner>/<key>`, their `ACL_entry` rows, and
//! the `Physical_Port.acl_bindings` keys that point at them.
//!
//! * A desired ACL that does not exist is inserted with fresh entries
//!   (guarded by a `wait` that its name is still free).
//! * An existing one keeps every entry whose content is wanted; missing
//!   entries are inserted and `acl_entries` is updated once; entries no
//!   longer wanted are deleted unless a foreign ACL references them too
//!   (`ACL_entry` is a root table: nobody garbage-collects it).
//! * `acl_bindings` are changed with `mutate` (delete then insert of
//!   specific pairs), only for keys whose ACL is Stitch's.
//! * ACLs no longer desired are unbound, deleted, and their entries with
//!   them; one still referenced by a `Logical_Router` is kept.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::notation::{Atom, Value};
use ovsdb::ops::{Condition, Mutation, Operation, WaitUntil};
use uuid::Uuid;

use super::{Phase, PlanProblem, Planner, by_uuid};
use crate::desired::DesiredAcl;
use crate::rows::{AclEntry, VtepRow as _};
use crate::table::Table;

#[derive(Default)]
struct PortChange {
    delete: BTreeMap<u16, Uuid>,
    insert: BTreeMap<u16, Atom>,
}

impl Planner<'_> {
    /// Problems are reported once even if several phases find them.
    fn problem_once(&mut self, p: PlanProblem) {
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// Why a desired ACL cannot be planned, if it cannot.
    fn acl_invalid(key: &str, d: &DesiredAcl) -> Option<String> {
        if key.is_empty() || key.contains('/') {
            return Some("the key must be non-empty and must not contain '/'".to_owned());
        }
        if d.entries.is_empty() {
            return Some("an ACL needs at least one entry".to_owned());
        }
        d.entries
            .iter()
            .find(|e| !matches!(e.direction.as_str(), "ingress" | "egress") || !matches!(e.action.as_str(), "permit" | "deny"))
            .map(|e| format!("entry {}: direction must be ingress|egress and action permit|deny", e.sequence))
    }

    /// Phases 3a/3b and 4b: entries, ACL rows, `acl_bindings`; remembers
    /// the owned ACLs to delete for [`Planner::delete_acls`].
    pub(super) fn acls(&mut self) {
        let desired = self.desired;
        let owner = &desired.owner;
        // Owned ACLs by key.
        let existing: BTreeMap<String, Uuid> = self.cache.tables().acls.values().filter_map(|a| owner.acl_key(a).map(|k| (k.to_owned(), a.uuid))).collect();
        // ACL key → its atom (UUID or named-uuid), for bindings.
        let mut acl_ref: BTreeMap<&str, Atom> = BTreeMap::new();
        // Owned ACLs the desired state speaks for (kept even if invalid).
        let mut spoken: BTreeSet<Uuid> = BTreeSet::new();
        for (key, d) in &desired.acls {
            if let Some(&u) = existing.get(key) {
                spoken.insert(u);
            }
            if let Some(reason) = Self::acl_invalid(key, d) {
                self.problems.push(PlanProblem::InvalidAcl { key: key.clone(), reason });
                continue;
            }
            let want: BTreeSet<AclEntry> = d.entries.iter().map(AclEntry::content).collect();
            let name = owner.acl_name(key);
            match existing.get(key) {
                Some(&u) => {
                    self.update_acl(u, &name, &want);
                    acl_ref.insert(key, Atom::Uuid(u));
                }
                None => {
                    let atom = self.insert_acl(&name, &want);
                    acl_ref.insert(key, atom);
                }
            }
        }
        self.acl_bindings(&acl_ref);
        self.acl_delete = existing.values().copied().filter(|u| !spoken.contains(u)).collect();
    }

    /// Inserts entries and the ACL; returns the ACL's named-uuid.
    fn insert_acl(&mut self, name: &str, want: &BTreeSet<AclEntry>) -> Atom {
        let table = Table::Acl.name();
        let mut members = BTreeSet::new();
        for e in want {
            members.insert(self.insert_entry(name, e));
        }
        self.push(
            Phase::Acls,
            Operation::Wait {
                table: table.to_owned(),
                where_: vec![Condition::eq("acl_name", name)],
                columns: vec!["acl_name".to_owned()],
                until: WaitUntil::Equal,
                rows: vec![],
                timeout: Some(0),
            },
            format!("guard: ACL name {name} is still free"),
        );
        let uuid_name = self.fresh_name("acl");
        let row = ovsdb::notation::Row::new().with("acl_name", name).with("acl_entries", Value::Set(members));
        self.push(Phase::Acls, Operation::insert_named(table, row, uuid_name.clone()), format!("add ACL {name} ({} entries)", want.len()));
        Atom::named_uuid(uuid_name)
    }

    fn insert_entry(&mut self, acl: &str, e: &AclEntry) -> Atom {
        let n = self.fresh_name("ace");
        self.push(
            Phase::AclEntries,
            Operation::insert_named(Table::AclEntry.name(), e.encode(), n.clone()),
            format!("add ACL entry {} {} {} of ACL {acl}", e.sequence, e.direction, e.action),
        );
        Atom::named_uuid(n)
    }

    /// Brings an owned ACL's entries to `want`, reusing entries whose
    /// content matches.
    fn update_acl(&mut self, acl: Uuid, name: &str, want: &BTreeSet<AclEntry>) {
        let t = self.cache.tables();
        let Some(row) = t.acls.get(&acl) else { return };
        let mut keep: BTreeMap<AclEntry, Uuid> = BTreeMap::new();
        let mut drop = BTreeSet::new();
        for u in &row.acl_entries {
            match t.acl_entries.get(u).map(AclEntry::content) {
                Some(c) if want.contains(&c) && !keep.contains_key(&c) => {
                    keep.insert(c, *u);
                }
                _ => {
                    drop.insert(*u);
                }
            }
        }
        let missing: Vec<AclEntry> = want.iter().filter(|e| !keep.contains_key(*e)).cloned().collect();
        if missing.is_empty() && drop.is_empty() {
            return;
        }
        let mut members: BTreeSet<Atom> = keep.values().map(|u| Atom::Uuid(*u)).collect();
        for e in &missing {
            members.insert(self.insert_entry(name, e));
        }
        self.push(
            Phase::Acls,
            Operation::update(Table::Acl.name(), by_uuid(acl), ovsdb::notation::Row::new().with("acl_entries", Value::Set(members))),
            format!("update ACL {name} (+{} -{} entries)", missing.len(), drop.len()),
        );
        self.acl_entry_drop.extend(drop.into_iter().map(|u| (u, acl)));
    }

    /// `acl_bindings`: every desired binding present, no binding to an
    /// owned ACL that is not desired.
    fn acl_bindings(&mut self, acl_ref: &BTreeMap<&str, Atom>) {
        let desired = self.desired;
        let mut changes: BTreeMap<Uuid, PortChange> = BTreeMap::new();
        // (port, VLAN) → the desired ACL key that got it.
        let mut wanted: BTreeMap<(Uuid, u16), &str> = BTreeMap::new();
        for (key, d) in &desired.acls {
            let Some(target) = acl_ref.get(key.as_str()).cloned() else {
                continue;
            };
            for (switch, port, vlan) in &d.bindings {
                let (switch, port, vlan) = (switch.clone(), port.clone(), *vlan);
                if self.cache.physical_switch_by_name(&switch).is_none() {
                    self.problem_once(PlanProblem::MissingSwitch { switch });
                    continue;
                }
                let Some(p) = self.cache.physical_port(&switch, &port) else {
                    self.problem_once(PlanProblem::MissingPort { switch, port });
                    continue;
                };
                if vlan > 4095 {
                    self.problem_once(PlanProblem::InvalidVlan { switch, port, vlan });
                    continue;
                }
                if let Some(other) = wanted.get(&(p.uuid, vlan)) {
                    self.problems.push(PlanProblem::AclBindingConflict { switch, port, vlan, acls: (other.to_string(), key.clone()) });
                    continue;
                }
                match p.acl_bindings.get(&vlan) {
                    Some(cur) if Atom::Uuid(*cur) == target => {
                        wanted.insert((p.uuid, vlan), key);
                    }
                    Some(cur) if self.owned_acl(*cur) => {
                        wanted.insert((p.uuid, vlan), key);
                        let c = changes.entry(p.uuid).or_default();
                        c.delete.insert(vlan, *cur);
                        c.insert.insert(vlan, target.clone());
                    }
                    Some(cur) => {
                        let by = self.acl_label(*cur);
                        self.problems.push(PlanProblem::AclBindingTaken { switch, port, vlan, by });
                    }
                    None => {
                        wanted.insert((p.uuid, vlan), key);
                        changes.entry(p.uuid).or_default().insert.insert(vlan, target.clone());
                    }
                }
            }
        }
        for p in self.cache.tables().physical_ports.values() {
            for (&vlan, &acl) in &p.acl_bindings {
                if self.owned_acl(acl) && !wanted.contains_key(&(p.uuid, vlan)) {
                    changes.entry(p.uuid).or_default().delete.insert(vlan, acl);
                }
            }
        }
        for (port, c) in changes {
            let mut mutations = Vec::new();
            let mut what = Vec::new();
            if !c.delete.is_empty() {
                what.extend(c.delete.iter().map(|(v, a)| format!("-{v}:{}", self.acl_label(*a))));
                mutations.push(Mutation::delete("acl_bindings", Value::map(c.delete.iter().map(|(v, a)| (i64::from(*v), Atom::Uuid(*a))))));
            }
            if !c.insert.is_empty() {
                what.extend(c.insert.keys().map(|v| format!("+{v}")));
                mutations.push(Mutation::insert("acl_bindings", Value::map(c.insert.into_iter().map(|(v, a)| (i64::from(v), a)))));
            }
            let name = self.port_label(port);
            self.push(
                Phase::AclBindings,
                Operation::mutate(Table::PhysicalPort.name(), by_uuid(port), mutations),
                format!("port {name} acl_bindings {}", what.join(" ")),
            );
        }
    }

    fn owned_acl(&self, acl: Uuid) -> bool {
        self.cache.tables().acls.get(&acl).is_some_and(|a| self.desired.owner.owns_acl(a))
    }

    fn acl_label(&self, acl: Uuid) -> String {
        self.cache.tables().acls.get(&acl).map_or_else(|| acl.to_string(), |a| a.acl_name.clone())
    }

    /// Late phases: delete owned ACLs nobody wants (their bindings were
    /// removed by [`Planner::acls`]) and entries no surviving ACL uses.
    pub(super) fn delete_acls(&mut self) {
        let t = self.cache.tables();
        let mut deleted = BTreeSet::new();
        for acl in std::mem::take(&mut self.acl_delete) {
            let Some(row) = t.acls.get(&acl) else {
                continue;
            };
            let routers: Vec<String> =
                t.logical_routers.values().filter(|r| r.acl_binding.values().any(|u| *u == acl)).map(|r| format!("Logical_Router {:?}", r.name)).collect();
            if !routers.is_empty() {
                self.problems.push(PlanProblem::AclInUse { name: row.acl_name.clone(), by: routers.join(", ") });
                continue;
            }
            deleted.insert(acl);
            self.acl_entry_drop.extend(row.acl_entries.iter().map(|u| (*u, acl)));
            self.push(Phase::DeleteAcls, Operation::delete(Table::Acl.name(), by_uuid(acl)), format!("delete ACL {}", row.acl_name));
        }
        // Entries still referenced after this plan by an ACL it does not
        // delete or rewrite (a foreign ACL sharing one of ours).
        let rewritten: BTreeSet<Uuid> = self.acl_entry_drop.iter().map(|(_, a)| *a).collect();
        let still_used: BTreeSet<Uuid> =
            t.acls.values().filter(|a| !deleted.contains(&a.uuid) && !rewritten.contains(&a.uuid)).flat_map(|a| a.acl_entries.iter().copied()).collect();
        // Entries a rewritten ACL keeps (it may share one with an ACL
        // that drops it).
        let kept_by_rewritten: BTreeSet<Uuid> = t
            .acls
            .values()
            .filter(|a| rewritten.contains(&a.uuid) && !deleted.contains(&a.uuid))
            .flat_map(|a| a.acl_entries.iter().map(move |e| (*e, a.uuid)))
            .filter(|pair| !self.acl_entry_drop.contains(pair))
            .map(|(e, _)| e)
            .collect();
        let drop: BTreeMap<Uuid, Uuid> = std::mem::take(&mut self.acl_entry_drop).into_iter().collect();
        for (entry, acl) in drop {
            if still_used.contains(&entry) || kept_by_rewritten.contains(&entry) || !t.acl_entries.contains_key(&entry) {
                continue;
            }
            let e = &t.acl_entries[&entry];
            let summary = format!("delete ACL entry {} {} {} of ACL {}", e.sequence, e.direction, e.action, self.acl_label(acl));
            self.push(Phase::DeleteAclEntries, Operation::delete(Table::AclEntry.name(), by_uuid(entry)), summary);
        }
    }
}

#[cfg(test)]
#[path = "acls_tests.rs"]
mod tests;
