//! Remote MACs: `Ucast_Macs_Remote` (one locator each) and
//! `Mcast_Macs_Remote` (a locator set: the flood list).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ovsdb::notation::{Atom, Row, Value};
use ovsdb::ops::Operation;
use uuid::Uuid;

use stitch_model::{MacAddr, VecMap};

use super::{Phase, PlanProblem, Planner, Scope, by_uuid};
use crate::cache::{MacKey, as_mac_key};
use crate::desired::{IpList, Name, RemoteMac, of_logical_switch};
use crate::table::Table;

impl Planner<'_> {
    /// Resolves a desired MAC's logical switch; reports unknown names.
    fn mac_ls(&mut self, ls: &str, used_by: impl FnOnce() -> String) -> Option<Atom> {
        let r = self.ls_ref.get(ls).cloned();
        if r.is_none() && !self.desired.logical_switches.contains_key(ls) {
            self.problems.push(PlanProblem::UnknownLogicalSwitch { name: ls.to_owned(), used_by: used_by() });
        }
        r
    }

    /// Deletes every remote MAC row of owned logical switches not in `keep`.
    fn delete_unkept(&mut self, table: Table, keep: &BTreeSet<Uuid>) {
        let owned: Vec<Uuid> = match &self.scope_uuids {
            None => self.cache.tables().logical_switches.values().filter(|ls| self.desired.owner.owns(ls)).map(|ls| ls.uuid).collect(),
            Some(uuids) => uuids.iter().filter(|u| self.owned(**u)).copied().collect(),
        };
        let mut deletes = Vec::new();
        for ls in owned {
            // Only the rows to delete are copied out (a resync keeps them all).
            let rows: Vec<(Uuid, smol_str::SmolStr)> = match table {
                Table::UcastMacsRemote => self.cache.ucast_remote_of(ls).filter(|m| !keep.contains(&m.uuid)).map(|m| (m.uuid, m.mac())).collect(),
                _ => self.cache.mcast_remote_of(ls).filter(|m| !keep.contains(&m.uuid)).map(|m| (m.uuid, m.mac.clone())).collect(),
            };
            if rows.is_empty() {
                continue;
            }
            let ls_name = self.ls_name(ls);
            for (u, mac) in rows {
                deletes.push((u, format!("delete {table} {mac} of logical switch {ls_name}")));
            }
        }
        for (u, summary) in deletes {
            self.push(Phase::DeleteMacs, Operation::delete(table.name(), by_uuid(u)), summary);
        }
    }

    /// Phase 5/6 for `Ucast_Macs_Remote`.
    pub(super) fn ucast_remote(&mut self) {
        let desired = self.desired;
        let table = Table::UcastMacsRemote;
        let mut keep = BTreeSet::new();
        let in_scope: Vec<(&Name, &VecMap<MacAddr, RemoteMac>)> = match self.scope {
            Scope::All => desired.ucast_remote.iter().collect(),
            Scope::LogicalSwitches(names) => names.iter().filter_map(|n| desired.ucast_remote.get_key_value(n.as_str())).collect(),
        };
        let cache = self.cache;
        for (ls_name, macs) in in_scope {
            let what = |mac: &MacAddr| format!("remote MAC {mac} in {ls_name}");
            let Some(ls) = self.ls_ref.get(ls_name.as_str()).cloned() else {
                // Reported once per MAC, as each one needs it.
                for mac in macs.keys() {
                    self.mac_ls(ls_name, || what(mac));
                }
                continue;
            };
            for (mac, remote) in macs {
                let ipaddr = remote.ipaddr.as_deref().unwrap_or_default();
                // The rows of this MAC: one at the right place, or the first
                // (in UUID order) to move.
                let mut first: Option<(Uuid, Option<IpAddr>, &str)> = None;
                let mut exact = None;
                for m in ls.as_uuid().into_iter().flat_map(|u| cache.ucast_remote_with(u, MacKey::Mac(*mac))) {
                    let ip = cache.locator_ip(m.locator);
                    first.get_or_insert((m.uuid, ip, m.ipaddr()));
                    if ip == Some(remote.dst_ip) && m.ipaddr() == ipaddr {
                        exact = Some(m.uuid);
                        break;
                    }
                }
                if let Some(u) = exact {
                    keep.insert(u);
                    continue;
                }
                let Some(locator) = self.locator(remote.dst_ip, || what(mac)) else { continue };
                if let Some((u, ip, a)) = first {
                    // Move the MAC: update the row in place.
                    keep.insert(u);
                    let mut row = Row::new();
                    if ip != Some(remote.dst_ip) {
                        row.insert("locator", Value::Atom(locator));
                    }
                    if a != ipaddr {
                        row.insert("ipaddr", ipaddr);
                    }
                    self.push(
                        Phase::Macs,
                        Operation::update(table.name(), by_uuid(u), row),
                        format!("move remote MAC {mac} in {ls_name} to {}", remote.dst_ip),
                    );
                } else {
                    let row = Row::new()
                        .with("MAC", mac.to_string().as_str())
                        .with("logical_switch", Value::Atom(ls.clone()))
                        .with("locator", Value::Atom(locator))
                        .with("ipaddr", ipaddr);
                    self.push(Phase::Macs, Operation::insert(table.name(), row), format!("add remote MAC {mac} in {ls_name} at {}", remote.dst_ip));
                }
            }
        }
        self.delete_unkept(table, &keep);
    }

    /// Phase 5/6 for `Mcast_Macs_Remote`.
    pub(super) fn mcast_remote(&mut self) {
        let desired = self.desired;
        let table = Table::McastMacsRemote;
        let mut keep = BTreeSet::new();
        // Normalize keys first: MACs compare case-insensitively (a key
        // already in lowercase, the usual case, is not copied).
        let mut wanted: BTreeMap<(&str, Cow<'_, str>), &IpList> = BTreeMap::new();
        let in_scope: Vec<(&(Name, Name), &IpList)> = match self.scope {
            Scope::All => desired.mcast_remote.iter().collect(),
            Scope::LogicalSwitches(names) => names.iter().flat_map(|n| of_logical_switch(&desired.mcast_remote, n)).collect(),
        };
        for ((ls, mac), ips) in in_scope {
            wanted.insert((ls.as_str(), as_mac_key(mac)), ips);
        }
        for ((ls_name, mac), ips) in wanted {
            let what = || format!("flood list {mac} in {ls_name}");
            let Some(ls) = self.mac_ls(ls_name, what) else { continue };
            if ips.is_empty() {
                continue;
            }
            let existing: Vec<(Uuid, Option<BTreeSet<IpAddr>>)> = match ls.as_uuid() {
                Some(u) => self.cache.mcast_remote_by_mac(u, &mac).map(|m| (m.uuid, self.cache.locator_set_ips(m.locator_set))).collect(),
                None => Vec::new(),
            };
            if let Some((u, _)) = existing.iter().find(|(_, cur)| cur.as_ref().is_some_and(|cur| cur.iter().eq(ips.iter()))) {
                keep.insert(*u);
                continue;
            }
            let list = ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
            let Some(set) = self.locator_set(&ips.to_set(), &what()) else { continue };
            if let Some((u, _)) = existing.first() {
                keep.insert(*u);
                self.push(
                    Phase::Macs,
                    Operation::update(table.name(), by_uuid(*u), Row::new().with("locator_set", Value::Atom(set))),
                    format!("change {} to [{list}]", what()),
                );
            } else {
                let row = Row::new().with("MAC", &*mac).with("logical_switch", Value::Atom(ls)).with("locator_set", Value::Atom(set));
                self.push(Phase::Macs, Operation::insert(table.name(), row), format!("add {} [{list}]", what()));
            }
        }
        self.delete_unkept(table, &keep);
    }
}
