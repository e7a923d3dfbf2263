//! Logical switches: create, update drifted columns, delete.

use ovsdb::notation::{Atom, Row};
use ovsdb::ops::{Condition, Operation, WaitUntil};

use super::{Phase, PlanProblem, Planner, Scope, by_uuid};
use crate::ownership::OWNER_KEY;
use crate::rows::{LogicalSwitch, VtepRow as _, replication_mode_value};
use crate::table::Table;

impl Planner<'_> {
    /// Phase 1: every desired logical switch exists, is Stitch's, and has
    /// the desired columns; fills `ls_ref`.
    pub(super) fn logical_switches(&mut self) {
        let desired = self.desired;
        let owner = &desired.owner;
        let ls_table = Table::LogicalSwitch.name();
        for (name, d) in self.desired_in_scope() {
            let existing = self.cache.logical_switch_by_name(name);
            if existing.is_none_or(|ls| owner.owns(ls)) {
                if let Some(foreign) = self.foreign_with_key(d.tunnel_key) {
                    self.problems.push(PlanProblem::TunnelKeyTaken { name: name.to_string(), tunnel_key: d.tunnel_key, by: foreign.name.clone() });
                    // An existing switch of ours keeps being managed; a
                    // new one is not created.
                    if existing.is_none() {
                        continue;
                    }
                }
            }
            match existing {
                Some(ls) if owner.owns(ls) => {
                    self.ls_ref.insert(name.clone(), Atom::Uuid(ls.uuid));
                    let mut row = Row::new();
                    if ls.description != d.description {
                        row.insert("description", d.description.as_str());
                    }
                    if ls.tunnel_key != Some(d.tunnel_key) {
                        row.insert("tunnel_key", d.tunnel_key);
                    }
                    if d.replication_mode.is_some() && ls.replication_mode != d.replication_mode {
                        row.insert("replication_mode", replication_mode_value(d.replication_mode));
                    }
                    if !row.is_empty() {
                        let cols: Vec<&str> = row.iter().map(|(c, _)| c.as_str()).collect();
                        let summary = format!("update logical switch {name} ({})", cols.join(", "));
                        self.push(Phase::LogicalSwitches, Operation::update(ls_table, by_uuid(ls.uuid), row), summary);
                    }
                }
                Some(ls) => {
                    self.problems
                        .push(PlanProblem::LogicalSwitchNameTaken { name: name.to_string(), owner: ls.other_config.get(OWNER_KEY).map(|o| o.to_string()) });
                }
                None => {
                    let uuid_name = self.fresh_name("ls");
                    let ls = LogicalSwitch {
                        name: name.to_string(),
                        description: d.description.as_str().into(),
                        tunnel_key: Some(d.tunnel_key),
                        replication_mode: d.replication_mode,
                        other_config: stitch_model::VecMap::from([(OWNER_KEY.into(), owner.as_str().into())]),
                        ..Default::default()
                    };
                    // Optimistic concurrency: the cache said the name is
                    // free; fail at once (timeout 0) if it no longer is.
                    self.push(
                        Phase::LogicalSwitches,
                        Operation::Wait {
                            table: ls_table.to_owned(),
                            where_: vec![Condition::eq("name", name.as_str())],
                            columns: vec!["name".to_owned()],
                            until: WaitUntil::Equal,
                            rows: vec![],
                            timeout: Some(0),
                        },
                        format!("guard: logical switch name {name} is still free"),
                    );
                    self.push(
                        Phase::LogicalSwitches,
                        Operation::insert_named(ls_table, ls.encode(), uuid_name.clone()),
                        format!("add logical switch {name} (VNI {})", d.tunnel_key),
                    );
                    self.ls_ref.insert(name.clone(), Atom::named_uuid(uuid_name));
                }
            }
        }
        let cache = self.cache;
        let candidates: Vec<&LogicalSwitch> = match self.scope {
            Scope::All => cache.tables().logical_switches.values().collect(),
            Scope::LogicalSwitches(names) => names.iter().filter_map(|n| cache.logical_switch_by_name(n)).collect(),
        };
        for ls in candidates {
            if owner.owns(ls) && !desired.logical_switches.contains_key(ls.name.as_str()) {
                self.ls_delete.insert(ls.uuid, ls.name.clone());
            }
        }
    }

    /// A logical switch that is not Stitch's and uses this VNI.
    fn foreign_with_key(&self, key: i64) -> Option<&LogicalSwitch> {
        let owner = &self.desired.owner;
        // By index: a scan of every logical switch per desired one made
        // planning quadratic in the number of networks.
        self.cache.logical_switches_with_key(key).find(|ls| !owner.owns(ls))
    }

    /// Last phases: delete owned logical switches no longer desired, with
    /// the `*_Local` MAC rows that reference them (remote MACs and port
    /// bindings were removed by the earlier phases).
    pub(super) fn delete_logical_switches(&mut self) {
        let to_delete = std::mem::take(&mut self.ls_delete);
        for (uuid, name) in to_delete {
            let routers: Vec<String> = self
                .cache
                .tables()
                .logical_routers
                .values()
                .filter(|r| r.switch_binding.values().any(|u| *u == uuid))
                .map(|r| format!("Logical_Router {:?}", r.name))
                .collect();
            if !routers.is_empty() {
                self.problems.push(PlanProblem::LogicalSwitchInUse { name, by: routers.join(", ") });
                continue;
            }
            let t = self.cache.tables();
            let local: Vec<(Table, uuid::Uuid, smol_str::SmolStr)> = t
                .ucast_local
                .values()
                .filter(|m| m.logical_switch == uuid)
                .map(|m| (Table::UcastMacsLocal, m.uuid, m.mac.clone()))
                .chain(t.mcast_local.values().filter(|m| m.logical_switch == uuid).map(|m| (Table::McastMacsLocal, m.uuid, m.mac.clone())))
                .collect();
            for (table, u, mac) in local {
                self.push(
                    Phase::DeleteMacs,
                    Operation::delete(table.name(), by_uuid(u)),
                    format!("delete {table} {mac} of logical switch {name} (being deleted)"),
                );
            }
            self.push(Phase::DeleteLogicalSwitches, Operation::delete(Table::LogicalSwitch.name(), by_uuid(uuid)), format!("delete logical switch {name}"));
        }
    }
}
