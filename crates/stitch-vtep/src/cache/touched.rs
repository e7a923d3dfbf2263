//! Which part of the database a monitor update touched, as a plan
//! [`Scope`]: a reconciler that knows its last plan was empty re-plans only
//! what changed since ([`crate::plan_scoped`]).
//!
//! * `Logical_Switch` rows of this owner: their names. Anyone else's: all
//!   (a foreign switch can take a name or a VNI Stitch wants).
//! * `Physical_Port`: the logical switches of the `vlan_bindings` pairs
//!   that changed (before and after); a port added, removed, renamed or
//!   with other `acl_bindings`: all. Statistics and fault columns: nothing.
//! * `*_Macs_Remote` and `*_Macs_Local`: their logical switch.
//! * Locators and locator sets (immutable, found by content), statistics,
//!   tunnels, `Global`, `Manager`, ARP sources: nothing — planning does not
//!   read them, or reads them only through the rows above.
//! * `Physical_Switch`, `Logical_Router`, `ACL`, `ACL_entry`, a row that
//!   does not decode, anything unknown: all.

use std::collections::BTreeMap;

use ovsdb::monitor::{RowUpdate2, Updates};
use ovsdb::notation::{Atom, Value};
use uuid::Uuid;

use super::{CacheError, VtepCache, bindings_not_in, touched};
use crate::ownership::Owner;
use crate::plan::Scope;
use crate::rows::PhysicalPort;
use crate::table::Table;

impl VtepCache {
    /// [`VtepCache::apply`], returning the part of the database the update
    /// touched for `owner`'s plans (see the module documentation). On an
    /// error the scope is everything.
    pub fn apply_scoped(&mut self, updates: &Updates, owner: &Owner) -> Result<Scope, CacheError> {
        let keys: Vec<(String, Uuid)> = match updates {
            Updates::V1(t) => touched(t),
            Updates::V2(t) => touched(t),
        };
        let mut scope = Scope::none();
        // Ports an update2 modifies: only the logical switches of the
        // pairs its diff names (no copy of the port's whole map); others:
        // the port as it was, to compare.
        let mut port_diffs: Vec<Uuid> = Vec::new();
        let mut ports: BTreeMap<Uuid, Option<PhysicalPort>> = BTreeMap::new();
        // Logical switches the update touches, named as they were (one it
        // deletes is gone afterwards, while ports still named it before).
        let mut was: BTreeMap<Uuid, String> = BTreeMap::new();
        for (table, uuid) in &keys {
            match Table::from_name(table) {
                Some(Table::PhysicalPort) => match port_diff(updates, uuid) {
                    Some(diff) => {
                        self.note_port_diff(*uuid, diff, &mut port_diffs, &mut scope);
                    }
                    None => {
                        ports.insert(*uuid, self.tables.physical_ports.get(uuid).cloned());
                    }
                },
                Some(t) => {
                    if let (Table::LogicalSwitch, Some(ls)) = (t, self.tables.logical_switches.get(uuid)) {
                        was.insert(*uuid, ls.name.clone());
                    }
                    self.note(t, *uuid, owner, &mut scope)
                }
                None => scope = Scope::All,
            }
        }
        self.apply(updates)?;
        for ls in port_diffs {
            self.note_named(ls, &was, &mut scope);
        }
        for (table, uuid) in &keys {
            match Table::from_name(table) {
                Some(Table::PhysicalPort) => {
                    let Some(before) = ports.remove(uuid) else { continue };
                    let after = self.tables.physical_ports.get(uuid);
                    self.note_port(before.as_ref(), after, &was, &mut scope);
                }
                Some(t) => self.note(t, *uuid, owner, &mut scope),
                None => scope = Scope::All,
            }
        }
        Ok(scope)
    }

    /// The name of a logical switch by UUID, into the scope (all if unknown).
    fn note_ls(&self, ls: Uuid, scope: &mut Scope) {
        match self.tables.logical_switches.get(&ls) {
            Some(l) => scope.insert(l.name.clone()),
            None => *scope = Scope::All,
        }
    }

    /// What one row (as the cache holds it now: before or after the
    /// update) adds to the scope. A row that is absent adds nothing, but
    /// a row the update touched must be present on at least one side, so
    /// one that did not decode on either side shows as all.
    fn note(&self, table: Table, uuid: Uuid, owner: &Owner, scope: &mut Scope) {
        if self.decode_errors.contains_key(&(table, uuid)) {
            *scope = Scope::All;
            return;
        }
        let t = &self.tables;
        match table {
            Table::LogicalSwitch => match t.logical_switches.get(&uuid) {
                Some(ls) if owner.owns(ls) => scope.insert(ls.name.clone()),
                Some(_) => *scope = Scope::All,
                None => {}
            },
            Table::UcastMacsRemote | Table::UcastMacsLocal | Table::McastMacsRemote | Table::McastMacsLocal => {
                let ls = match table {
                    Table::UcastMacsRemote => t.ucast_remote.logical_switch_of(&uuid),
                    Table::UcastMacsLocal => t.ucast_local.get(&uuid).map(|m| m.logical_switch),
                    Table::McastMacsRemote => t.mcast_remote.get(&uuid).map(|m| m.logical_switch),
                    _ => t.mcast_local.get(&uuid).map(|m| m.logical_switch),
                };
                if let Some(ls) = ls {
                    self.note_ls(ls, scope);
                }
            }
            Table::PhysicalLocator
            | Table::PhysicalLocatorSet
            | Table::LogicalBindingStats
            | Table::Tunnel
            | Table::Global
            | Table::Manager
            | Table::ArpSourcesLocal
            | Table::ArpSourcesRemote => {}
            Table::PhysicalPort | Table::PhysicalSwitch | Table::LogicalRouter | Table::Acl | Table::AclEntry => *scope = Scope::All,
        }
    }

    /// An update2 diff of a port (before it is applied): a pair of
    /// `vlan_bindings` it names changes (inserted, deleted or replaced), so
    /// the logical switch the port has there now goes into the scope, and
    /// the one the diff names into `after` (resolved once applied: it may
    /// be inserted by the same update). A diff of the name or the
    /// `acl_bindings`, or of a port that does not decode: all.
    fn note_port_diff(&self, port: Uuid, diff: &ovsdb::Row, after: &mut Vec<Uuid>, scope: &mut Scope) {
        let Some(p) = self.tables.physical_ports.get(&port) else {
            *scope = Scope::All;
            return;
        };
        for (column, value) in diff.iter() {
            match column.as_str() {
                "vlan_bindings" => {
                    let Value::Map(pairs) = value else {
                        *scope = Scope::All;
                        return;
                    };
                    for (k, v) in pairs {
                        let (Atom::Integer(vlan), Some(ls)) = (k, v.as_uuid()) else {
                            *scope = Scope::All;
                            return;
                        };
                        if let Some(cur) = u16::try_from(*vlan).ok().and_then(|vlan| p.vlan_bindings.get(&vlan)) {
                            self.note_ls(*cur, scope);
                        }
                        after.push(ls);
                    }
                }
                "vlan_stats" | "port_fault_status" | "description" | "other_config" | "_version" | "_uuid" => {}
                _ => *scope = Scope::All,
            }
        }
    }

    /// A port's change: the logical switches of the `vlan_bindings` pairs
    /// that differ, before and after (a logical switch the same update
    /// deleted is named from `was`; one not found at all makes it all).
    fn note_port(&self, before: Option<&PhysicalPort>, after: Option<&PhysicalPort>, was: &BTreeMap<Uuid, String>, scope: &mut Scope) {
        let (Some(b), Some(a)) = (before, after) else {
            *scope = Scope::All;
            return;
        };
        if b.name != a.name || b.acl_bindings != a.acl_bindings {
            *scope = Scope::All;
            return;
        }
        let changed = bindings_not_in(&b.vlan_bindings, &a.vlan_bindings).chain(bindings_not_in(&a.vlan_bindings, &b.vlan_bindings));
        for (_, ls) in changed {
            self.note_named(*ls, was, scope);
        }
    }

    /// [`Self::note_ls`] after the update, for a logical switch the update
    /// may have deleted: then named from `was`.
    fn note_named(&self, ls: Uuid, was: &BTreeMap<Uuid, String>, scope: &mut Scope) {
        match was.get(&ls) {
            Some(name) if !self.tables.logical_switches.contains_key(&ls) => scope.insert(name.clone()),
            _ => self.note_ls(ls, scope),
        }
    }
}

/// The update2 diff of a modified row of `Physical_Port`, if that is what
/// the update holds for it.
fn port_diff<'u>(updates: &'u Updates, port: &Uuid) -> Option<&'u ovsdb::Row> {
    let Updates::V2(t) = updates else { return None };
    match t.get(Table::PhysicalPort.name())?.get(port)? {
        RowUpdate2::Modify(diff) => Some(diff),
        _ => None,
    }
}
