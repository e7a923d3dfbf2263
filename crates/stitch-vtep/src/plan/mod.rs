//! `plan(desired, observed)`: the minimal, dependency-ordered operations
//! of ONE `transact` that turn the observed database into the desired one,
//! touching only what Stitch owns (see [`crate::ownership`]).
//!
//! Order of the operations:
//!
//! 1. `wait` guards and `insert`s of new logical switches (named-uuid),
//!    `update`s of owned logical switches whose columns drifted;
//! 2. `insert`s of missing `Physical_Locator`s (named-uuid; looked up by
//!    `vxlan_over_ipv4` + `dst_ip` first, never deleted);
//! 3. `insert`s of new `Physical_Locator_Set`s (named-uuid; an existing
//!    set with exactly the same locators is reused; sets are immutable, so
//!    a changed flood list is a new set and the old one is left to GC);
//!    then `insert`s of new `ACL_entry` rows, and `wait` guards, `insert`s
//!    and `update`s of owned `ACL` rows (see `acls.rs`);
//! 4. `mutate`s of `Physical_Port.vlan_bindings` (delete then insert of
//!    specific pairs, so foreign keys on the port survive concurrent
//!    writers); then the same for `Physical_Port.acl_bindings`;
//! 5. `insert`s and `update`s of remote unicast and multicast MACs;
//! 6. `delete`s of MAC rows no longer wanted (and of `*_Local` rows of
//!    logical switches being deleted); `delete`s of owned ACLs no longer
//!    wanted, then of `ACL_entry` rows no surviving ACL references;
//! 7. `delete`s of logical switches no longer wanted.
//!
//! What cannot be done is reported in [`Plan::problems`] and the rest is
//! still planned: a missing port, a VLAN bound to someone else's logical
//! switch, a name or VNI taken by a foreign logical switch.

mod acls;
mod bindings;
mod logical;
mod macs;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ovsdb::notation::{Atom, Row, Value};
use ovsdb::ops::{Condition, Operation};
use uuid::Uuid;

use crate::cache::VtepCache;
use crate::desired::{DesiredVtep, Name};
use crate::rows::VXLAN_OVER_IPV4;
use crate::table::Table;

/// Why an operation is in a plan, and what it must report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpNote {
    /// For people (dry-run output, logs).
    pub summary: String,
    /// For `update`/`mutate`/`delete` of one row by UUID: the count the
    /// server must report (1). Fewer means the cache was stale.
    pub expected_count: Option<u64>,
}

/// Something the plan could not do. The rest of the plan is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanProblem {
    /// A logical switch with this name exists and is not Stitch's (or
    /// belongs to another Stitch instance: `owner`). Nothing is planned
    /// for it: no bindings, no MACs.
    LogicalSwitchNameTaken {
        /// Name.
        name: String,
        /// The other Stitch instance that owns it, if any.
        owner: Option<String>,
    },
    /// A foreign logical switch already uses this VNI; the logical switch
    /// is not created.
    TunnelKeyTaken {
        /// Our logical switch.
        name: String,
        /// The VNI.
        tunnel_key: i64,
        /// The foreign logical switch's name.
        by: String,
    },
    /// A binding names a switch that is not in this database.
    MissingSwitch {
        /// Physical_Switch name.
        switch: String,
    },
    /// A binding names a port the switch does not have. Stitch never
    /// creates ports.
    MissingPort {
        /// Physical_Switch name.
        switch: String,
        /// Physical_Port name.
        port: String,
    },
    /// The VLAN on this port is bound to a logical switch that is not
    /// Stitch's; it is left alone.
    VlanTaken {
        /// Physical_Switch name.
        switch: String,
        /// Physical_Port name.
        port: String,
        /// VLAN.
        vlan: u16,
        /// The foreign logical switch's name (or UUID if unknown).
        by: String,
    },
    /// A VLAN outside 0..=4095.
    InvalidVlan {
        /// Physical_Switch name.
        switch: String,
        /// Physical_Port name.
        port: String,
        /// VLAN.
        vlan: u16,
    },
    /// A binding or MAC names a logical switch the desired state does not
    /// define.
    UnknownLogicalSwitch {
        /// Name.
        name: String,
        /// What referred to it.
        used_by: String,
    },
    /// A tunnel IP `hardware_vtep` cannot express (1.7.0 has only
    /// `vxlan_over_ipv4`).
    UnsupportedTunnelIp {
        /// The IP.
        ip: IpAddr,
        /// What wanted it.
        used_by: String,
    },
    /// A logical switch Stitch wants gone is still referenced by a row
    /// Stitch does not own (a `Logical_Router`); it is kept.
    LogicalSwitchInUse {
        /// Name.
        name: String,
        /// The referencing row.
        by: String,
    },
    /// A desired ACL that cannot be planned (bad key, no entry, bad
    /// direction or action). An existing one is left as it is.
    InvalidAcl {
        /// The key in [`DesiredVtep::acls`].
        key: String,
        /// Why.
        reason: String,
    },
    /// Two desired ACLs want the same (port, VLAN); the first (by key)
    /// gets it.
    AclBindingConflict {
        /// Physical_Switch name.
        switch: String,
        /// Physical_Port name.
        port: String,
        /// VLAN.
        vlan: u16,
        /// The keys: (the one bound, the one refused).
        acls: (String, String),
    },
    /// The VLAN's `acl_bindings` key on this port points at an ACL that
    /// is not Stitch's; it is left alone.
    AclBindingTaken {
        /// Physical_Switch name.
        switch: String,
        /// Physical_Port name.
        port: String,
        /// VLAN.
        vlan: u16,
        /// The foreign ACL's name.
        by: String,
    },
    /// An owned ACL Stitch wants gone is still referenced by a row Stitch
    /// does not own (a `Logical_Router`); it is kept.
    AclInUse {
        /// `acl_name`.
        name: String,
        /// The referencing row.
        by: String,
    },
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanProblem::LogicalSwitchNameTaken { name, owner: None } => {
                write!(f, "logical switch {name:?} exists and is not managed by Stitch")
            }
            PlanProblem::LogicalSwitchNameTaken { name, owner: Some(o) } => {
                write!(f, "logical switch {name:?} is managed by another Stitch instance ({o:?})")
            }
            PlanProblem::TunnelKeyTaken { name, tunnel_key, by } => {
                write!(f, "logical switch {name:?} not created: VNI {tunnel_key} is used by logical switch {by:?}")
            }
            PlanProblem::MissingSwitch { switch } => write!(f, "physical switch {switch:?} not found"),
            PlanProblem::MissingPort { switch, port } => {
                write!(f, "port {port:?} not found on physical switch {switch:?}")
            }
            PlanProblem::VlanTaken { switch, port, vlan, by } => {
                write!(f, "VLAN {vlan} on {switch}/{port} is bound to logical switch {by:?}, not managed by Stitch")
            }
            PlanProblem::InvalidVlan { switch, port, vlan } => {
                write!(f, "VLAN {vlan} on {switch}/{port} is outside 0..=4095")
            }
            PlanProblem::UnknownLogicalSwitch { name, used_by } => {
                write!(f, "{used_by} refers to logical switch {name:?}, which is not desired")
            }
            PlanProblem::UnsupportedTunnelIp { ip, used_by } => {
                write!(f, "{used_by}: tunnel IP {ip} is not IPv4 (hardware_vtep has only vxlan_over_ipv4)")
            }
            PlanProblem::LogicalSwitchInUse { name, by } => {
                write!(f, "logical switch {name:?} kept: still referenced by {by}")
            }
            PlanProblem::InvalidAcl { key, reason } => write!(f, "ACL {key:?} not planned: {reason}"),
            PlanProblem::AclBindingConflict { switch, port, vlan, acls: (a, b) } => {
                write!(f, "ACL {b:?} not bound on {switch}/{port} VLAN {vlan}: ACL {a:?} is bound there")
            }
            PlanProblem::AclBindingTaken { switch, port, vlan, by } => {
                write!(f, "ACL binding for VLAN {vlan} on {switch}/{port} is ACL {by:?}, not managed by Stitch")
            }
            PlanProblem::AclInUse { name, by } => write!(f, "ACL {name:?} kept: still referenced by {by}"),
        }
    }
}

/// The result of [`plan`]: operations for one `transact`, a note per
/// operation, and what could not be done.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The operations, in order.
    pub ops: Vec<Operation>,
    /// One note per operation (same index).
    pub notes: Vec<OpNote>,
    /// What could not be done.
    pub problems: Vec<PlanProblem>,
}

impl Plan {
    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// True when `plan` has no operation (problems may remain).
pub fn plan_is_empty(plan: &Plan) -> bool {
    plan.is_empty()
}

/// Computes the transaction that moves `observed` toward `desired`.
/// Pure: the same inputs give the same plan.
pub fn plan(desired: &DesiredVtep, observed: &VtepCache) -> Plan {
    plan_scoped(desired, observed, &Scope::All)
}

/// The part of a database a plan looks at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Everything Stitch owns.
    #[default]
    All,
    /// The rows of these logical switches (by name): the logical switch
    /// itself, its remote and flood MACs (and local ones when it is
    /// deleted), and every `(port, VLAN)` of `vlan_bindings` that one of
    /// them holds or is wanted on.
    LogicalSwitches(BTreeSet<String>),
}

impl Scope {
    /// No logical switch at all.
    pub fn none() -> Scope {
        Scope::LogicalSwitches(BTreeSet::new())
    }

    /// True when the scope covers nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self, Scope::LogicalSwitches(s) if s.is_empty())
    }

    /// Whether the scope covers this logical switch.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::LogicalSwitches(s) => s.contains(name),
        }
    }

    /// Adds a logical switch.
    pub fn insert(&mut self, name: impl Into<String>) {
        if let Scope::LogicalSwitches(s) = self {
            s.insert(name.into());
        }
    }

    /// Covers what `other` covers too.
    pub fn extend(&mut self, other: Scope) {
        match (&mut *self, other) {
            (Scope::All, _) => {}
            (_, Scope::All) => *self = Scope::All,
            (Scope::LogicalSwitches(a), Scope::LogicalSwitches(b)) => a.extend(b),
        }
    }
}

/// [`plan`] restricted to `scope`: the operations and problems concerning
/// the rows of those logical switches, in the order [`plan`] would give
/// them. When `desired` and `observed` agree outside the scope — a full
/// plan would find nothing to do and nothing wrong there — the result is
/// exactly [`plan`]'s, for work proportional to the scope (plus one walk
/// over the port bindings) instead of to the database. A reconciler that
/// knows what changed since its last empty plan (in its desired state and
/// in the database) plans only that.
///
/// ACLs are not per logical switch: whenever the desired state or the
/// database holds an ACL Stitch owns, the scope is everything.
pub fn plan_scoped(desired: &DesiredVtep, observed: &VtepCache, scope: &Scope) -> Plan {
    let acls_involved = !desired.acls.is_empty() || observed.tables().acls.values().any(|a| desired.owner.owns_acl(a));
    let scope = if acls_involved { &Scope::All } else { scope };
    let mut p = Planner::new(desired, observed, scope);
    p.logical_switches();
    p.bindings();
    if matches!(scope, Scope::All) {
        p.acls();
    }
    p.ucast_remote();
    p.mcast_remote();
    if matches!(scope, Scope::All) {
        p.delete_acls();
    }
    p.delete_logical_switches();
    p.finish()
}

/// Buckets, in transaction order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    LogicalSwitches,
    Locators,
    LocatorSets,
    AclEntries,
    Acls,
    Bindings,
    AclBindings,
    Macs,
    DeleteMacs,
    DeleteAcls,
    DeleteAclEntries,
    DeleteLogicalSwitches,
}

pub(crate) struct Planner<'a> {
    desired: &'a DesiredVtep,
    cache: &'a VtepCache,
    scope: &'a Scope,
    /// The UUIDs of the logical switches in the scope that exist in the
    /// database (`None`: all of them).
    scope_uuids: Option<BTreeSet<Uuid>>,
    ops: BTreeMap<Phase, Vec<(Operation, OpNote)>>,
    problems: Vec<PlanProblem>,
    /// Desired logical switches we may use, by name: their UUID, or the
    /// named-uuid of their insert.
    ls_ref: BTreeMap<Name, Atom>,
    /// Owned logical switches to delete (UUID → name).
    ls_delete: BTreeMap<Uuid, String>,
    locator_ref: BTreeMap<IpAddr, Atom>,
    set_ref: BTreeMap<BTreeSet<IpAddr>, Atom>,
    /// Owned ACLs to delete.
    acl_delete: BTreeSet<Uuid>,
    /// (entry, the owned ACL that stops using it): deletion candidates.
    acl_entry_drop: Vec<(Uuid, Uuid)>,
    names: usize,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a DesiredVtep, cache: &'a VtepCache, scope: &'a Scope) -> Self {
        let scope_uuids = match scope {
            Scope::All => None,
            Scope::LogicalSwitches(names) => Some(names.iter().filter_map(|n| cache.logical_switch_by_name(n)).map(|ls| ls.uuid).collect()),
        };
        Planner {
            desired,
            cache,
            scope,
            scope_uuids,
            ops: BTreeMap::new(),
            problems: Vec::new(),
            ls_ref: BTreeMap::new(),
            ls_delete: BTreeMap::new(),
            locator_ref: BTreeMap::new(),
            set_ref: BTreeMap::new(),
            acl_delete: BTreeSet::new(),
            acl_entry_drop: Vec::new(),
            names: 0,
        }
    }

    fn finish(self) -> Plan {
        let (ops, notes) = self.ops.into_values().flatten().unzip();
        Plan { ops, notes, problems: self.problems }
    }

    fn push(&mut self, phase: Phase, op: Operation, summary: String) {
        let expected_count = match &op {
            Operation::Update { .. } | Operation::Mutate { .. } | Operation::Delete { .. } => Some(1),
            _ => None,
        };
        self.ops.entry(phase).or_default().push((op, OpNote { summary, expected_count }));
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        self.names += 1;
        format!("{prefix}{}", self.names)
    }

    /// The desired logical switches in the scope.
    fn desired_in_scope(&self) -> Vec<(&'a Name, &'a crate::desired::DesiredLogicalSwitch)> {
        let desired = self.desired;
        match self.scope {
            Scope::All => desired.logical_switches.iter().collect(),
            Scope::LogicalSwitches(names) => names.iter().filter_map(|n| desired.logical_switches.get_key_value(n.as_str())).collect(),
        }
    }

    /// Whether a logical switch (by UUID) is Stitch's.
    fn owned(&self, ls: Uuid) -> bool {
        self.cache.tables().logical_switches.get(&ls).is_some_and(|l| self.desired.owner.owns(l))
    }

    fn ls_name(&self, ls: Uuid) -> String {
        self.cache.tables().logical_switches.get(&ls).map_or_else(|| ls.to_string(), |l| l.name.clone())
    }

    /// The locator for a tunnel IP: the existing shared one, or a new one
    /// inserted (once per plan). `None` for an IP we cannot express.
    fn locator(&mut self, ip: IpAddr, used_by: impl FnOnce() -> String) -> Option<Atom> {
        if !ip.is_ipv4() {
            self.problems.push(PlanProblem::UnsupportedTunnelIp { ip, used_by: used_by() });
            return None;
        }
        if let Some(a) = self.locator_ref.get(&ip) {
            return Some(a.clone());
        }
        let atom = match self.cache.vxlan_locator(ip) {
            Some(l) => Atom::Uuid(l.uuid),
            None => {
                let name = self.fresh_name("loc");
                let row = Row::new().with("encapsulation_type", VXLAN_OVER_IPV4).with("dst_ip", ip.to_string());
                self.push(
                    Phase::Locators,
                    Operation::insert_named(Table::PhysicalLocator.name(), row, name.clone()),
                    format!("add locator {VXLAN_OVER_IPV4} {ip}"),
                );
                Atom::named_uuid(name)
            }
        };
        self.locator_ref.insert(ip, atom.clone());
        Some(atom)
    }

    /// A locator set for exactly these IPs (all IPv4, non-empty): an
    /// existing one if its members are all existing locators, else a new
    /// one (once per plan).
    fn locator_set(&mut self, ips: &BTreeSet<IpAddr>, used_by: &str) -> Option<Atom> {
        if let Some(a) = self.set_ref.get(ips) {
            return Some(a.clone());
        }
        let mut members = BTreeSet::new();
        for ip in ips {
            members.insert(self.locator(*ip, || used_by.to_owned())?);
        }
        let existing: Option<BTreeSet<Uuid>> = members.iter().map(Atom::as_uuid).collect();
        let atom = match existing.and_then(|u| self.cache.locator_set_with(&u)) {
            Some(s) => Atom::Uuid(s.uuid),
            None => {
                let name = self.fresh_name("set");
                let row = Row::new().with("locators", Value::Set(members));
                let list = ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                self.push(
                    Phase::LocatorSets,
                    Operation::insert_named(Table::PhysicalLocatorSet.name(), row, name.clone()),
                    format!("add locator set [{list}]"),
                );
                Atom::named_uuid(name)
            }
        };
        self.set_ref.insert(ips.clone(), atom.clone());
        Some(atom)
    }
}

/// `["_uuid", "==", uuid]`.
fn by_uuid(u: Uuid) -> Vec<Condition> {
    vec![Condition::uuid_eq(u)]
}

#[cfg(test)]
mod tests;
