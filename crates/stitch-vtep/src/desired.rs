//! The state Stitch wants in ONE `hardware_vtep` database, as plain data.
//!
//! One OVSDB endpoint may hold several `Physical_Switch` rows (an MLAG
//! pair, say); they share the database's `Logical_Switch` rows, so the
//! logical switches and MACs are per database and the port bindings name
//! their switch.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use smol_str::SmolStr;
use stitch_model::{MacAddr, VecMap};

use crate::ownership::Owner;
use crate::plan::Scope;
use crate::rows::{AclEntry, ReplicationMode};

/// The `MAC` of the flood-list row for unknown unicast (and BUM traffic).
pub const UNKNOWN_DST: &str = "unknown-dst";

/// A name in a desired state: a logical switch (a network id, 36 bytes),
/// a switch, a port, a flood-list MAC. One logical switch's name appears
/// in five maps of a desired state; a `SmolStr` longer than 23 bytes is
/// one shared allocation that every copy points at, and a shorter one
/// (switch and port names, `unknown-dst`) takes none.
pub type Name = SmolStr;

/// The description Stitch writes on logical switches by default.
pub const DEFAULT_DESCRIPTION: &str = "managed by stitch";

/// The desired content of one `hardware_vtep` database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredVtep {
    /// Who Stitch is in this database: rows it creates carry this marker,
    /// and only rows carrying it are ever changed or deleted.
    pub owner: Owner,
    /// Logical switches by name (the network id).
    pub logical_switches: BTreeMap<Name, DesiredLogicalSwitch>,
    /// `(Physical_Switch name, Physical_Port name)` → VLAN (0..=4095;
    /// 0 = untagged) → logical switch name. Only the VLANs Stitch owns are
    /// listed; other keys on the same port are left alone unless they
    /// point at a Stitch-owned logical switch.
    pub port_bindings: PortBindings,
    /// Logical switch name → MAC → where that MAC lives (by logical switch
    /// first: its name is kept once, not once per MAC, and a logical
    /// switch's MACs go or are compared in one step). No empty inner maps.
    /// The inner maps are sorted slices, exactly sized (a leaf's networks
    /// hold a few remote MACs each; a B-tree node reserves room for eleven):
    /// build one with `collect`, not MAC by MAC.
    pub ucast_remote: BTreeMap<Name, VecMap<MacAddr, RemoteMac>>,
    /// `(logical switch name, multicast MAC or "unknown-dst")` → the flood
    /// list: remote VTEP tunnel IPs. An empty list means no row (a locator
    /// set cannot be empty).
    pub mcast_remote: BTreeMap<(Name, Name), IpList>,
    /// ACLs by key (see [`DesiredAcl`]); the `ACL` row is named
    /// `<owner>/<key>`.
    pub acls: BTreeMap<String, DesiredAcl>,
}

impl DesiredVtep {
    /// Nothing: planning toward this removes every row `owner` owns.
    pub fn empty(owner: Owner) -> Self {
        DesiredVtep {
            owner,
            logical_switches: BTreeMap::new(),
            port_bindings: PortBindings::default(),
            ucast_remote: BTreeMap::new(),
            mcast_remote: BTreeMap::new(),
            acls: BTreeMap::new(),
        }
    }

    /// Adds a logical switch, builder style.
    pub fn with_logical_switch(mut self, name: impl Into<Name>, ls: DesiredLogicalSwitch) -> Self {
        self.logical_switches.insert(name.into(), ls);
        self
    }

    /// Binds `vlan` on a port to a logical switch, builder style.
    pub fn with_binding(mut self, switch: impl Into<Name>, port: impl Into<Name>, vlan: u16, ls: impl Into<Name>) -> Self {
        self.port_bindings.insert(switch.into(), port.into(), vlan, ls.into());
        self
    }

    /// Adds a remote unicast MAC, builder style.
    pub fn with_ucast_remote(mut self, ls: impl Into<Name>, mac: MacAddr, remote: RemoteMac) -> Self {
        self.ucast_remote.entry(ls.into()).or_default().insert(mac, remote);
        self
    }

    /// Sets a flood list, builder style.
    pub fn with_mcast_remote(mut self, ls: impl Into<Name>, mac: impl Into<Name>, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.mcast_remote.insert((ls.into(), mac.into()), ips.into_iter().collect());
        self
    }
}

/// [`DesiredVtep::port_bindings`]: `(switch, port)` → VLAN → logical
/// switch, read like that map (it derefs to it), plus the same pairs by
/// logical switch, so a plan or a patch that concerns a few logical
/// switches finds their bindings without walking every VLAN of every port.
/// Changed only through its methods, which keep both sides equal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortBindings {
    by_port: BTreeMap<(Name, Name), BTreeMap<u16, Name>>,
    /// `(logical switch, switch, port, VLAN)`: one flat set, read by range.
    /// (A set per logical switch cost a B-tree node of eleven entries for
    /// each, most holding one or two: a third of a desired state at
    /// 100,000 ports.)
    by_ls: BTreeSet<(Name, Name, Name, u16)>,
}

impl PortBindings {
    /// Binds `vlan` on `switch`/`port` to `ls`; returns the logical switch
    /// it was bound to before, if any.
    pub fn insert(&mut self, switch: Name, port: Name, vlan: u16, ls: Name) -> Option<Name> {
        let key = (switch, port);
        let prev = match self.by_port.get_mut(&key) {
            Some(vlans) => vlans.insert(vlan, ls.clone()),
            None => {
                self.by_port.insert(key.clone(), BTreeMap::from([(vlan, ls.clone())]));
                None
            }
        };
        let (switch, port) = key;
        if let Some(p) = &prev {
            self.by_ls.remove(&(p.clone(), switch.clone(), port.clone(), vlan));
        }
        self.by_ls.insert((ls, switch, port, vlan));
        prev
    }

    /// Unbinds `vlan` on `switch`/`port`; returns the logical switch it was
    /// bound to.
    pub fn remove(&mut self, switch: &str, port: &str, vlan: u16) -> Option<Name> {
        let key = (Name::from(switch), Name::from(port));
        let vlans = self.by_port.get_mut(&key)?;
        let prev = vlans.remove(&vlan)?;
        if vlans.is_empty() {
            self.by_port.remove(&key);
        }
        let (switch, port) = key;
        self.by_ls.remove(&(prev.clone(), switch, port, vlan));
        Some(prev)
    }

    /// Unbinds every `(switch, port, VLAN)` bound to `ls`, in work
    /// proportional to those.
    pub fn remove_logical_switch(&mut self, ls: &str) {
        let gone: Vec<(Name, Name, Name, u16)> = self.range_of(ls).cloned().collect();
        for e in gone {
            self.by_ls.remove(&e);
            let (_, switch, port, vlan) = e;
            let key = (switch, port);
            if let Some(vlans) = self.by_port.get_mut(&key) {
                vlans.remove(&vlan);
                if vlans.is_empty() {
                    self.by_port.remove(&key);
                }
            }
        }
    }

    /// Keeps only the bindings on the physical switches `keep` says yes to.
    pub fn retain_switches(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let gone: Vec<(Name, Name)> = self.by_port.keys().filter(|(sw, _)| !keep(sw)).cloned().collect();
        for key in gone {
            for (vlan, ls) in self.by_port.remove(&key).unwrap_or_default() {
                self.by_ls.remove(&(ls, key.0.clone(), key.1.clone(), vlan));
            }
        }
    }

    /// The `(switch, port, VLAN)`s bound to `ls`, in order.
    pub fn of_logical_switch<'s>(&'s self, ls: &'s str) -> impl Iterator<Item = (&'s str, &'s str, u16)> + 's {
        self.range_of(ls).map(|(_, switch, port, vlan)| (switch.as_str(), port.as_str(), *vlan))
    }

    fn range_of<'s>(&'s self, ls: &'s str) -> impl Iterator<Item = &'s (Name, Name, Name, u16)> + 's {
        self.by_ls.range((Name::from(ls), Name::default(), Name::default(), 0)..).take_while(move |(l, ..)| l == ls)
    }
}

impl std::ops::Deref for PortBindings {
    type Target = BTreeMap<(Name, Name), BTreeMap<u16, Name>>;

    fn deref(&self) -> &Self::Target {
        &self.by_port
    }
}

impl<'a> IntoIterator for &'a PortBindings {
    type Item = (&'a (Name, Name), &'a BTreeMap<u16, Name>);
    type IntoIter = std::collections::btree_map::Iter<'a, (Name, Name), BTreeMap<u16, Name>>;

    fn into_iter(self) -> Self::IntoIter {
        self.by_port.iter()
    }
}

impl FromIterator<(Name, Name, u16, Name)> for PortBindings {
    fn from_iter<I: IntoIterator<Item = (Name, Name, u16, Name)>>(iter: I) -> Self {
        let mut b = PortBindings::default();
        for (switch, port, vlan, ls) in iter {
            b.insert(switch, port, vlan, ls);
        }
        b
    }
}

/// A logical switch Stitch wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredLogicalSwitch {
    /// `tunnel_key`: the VNI.
    pub tunnel_key: i64,
    /// `replication_mode` (`None` leaves the switch's default).
    pub replication_mode: Option<ReplicationMode>,
    /// `description`, for people (ownership is not read from it).
    pub description: Name,
}

impl DesiredLogicalSwitch {
    /// A logical switch with this VNI, the default description and no
    /// replication mode.
    pub fn new(tunnel_key: i64) -> Self {
        DesiredLogicalSwitch { tunnel_key, replication_mode: None, description: Name::new_static(DEFAULT_DESCRIPTION) }
    }
}

/// A flood list: tunnel IPs, sorted, each once, in one exactly sized
/// block (a `BTreeSet`'s node reserves room for eleven; a list holds the
/// few other leaves of a network).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IpList(Box<[IpAddr]>);

impl IpList {
    /// The IPs, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, IpAddr> {
        self.0.iter()
    }

    /// How many IPs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The IPs as a set.
    pub fn to_set(&self) -> BTreeSet<IpAddr> {
        self.0.iter().copied().collect()
    }
}

impl FromIterator<IpAddr> for IpList {
    fn from_iter<I: IntoIterator<Item = IpAddr>>(iter: I) -> Self {
        let mut v: Vec<IpAddr> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        IpList(v.into_boxed_slice())
    }
}

impl<'a> IntoIterator for &'a IpList {
    type Item = &'a IpAddr;
    type IntoIter = std::slice::Iter<'a, IpAddr>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Where a remote unicast MAC lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMac {
    /// The remote VTEP's tunnel IP.
    pub dst_ip: IpAddr,
    /// The IP address bound to the MAC, if known (for ARP suppression).
    pub ipaddr: Option<Box<str>>,
}

impl RemoteMac {
    /// A MAC behind `dst_ip`, no IP known.
    pub fn at(dst_ip: IpAddr) -> Self {
        RemoteMac { dst_ip, ipaddr: None }
    }
}

/// An ACL Stitch wants: an `ACL` row named `<owner>/<key>` (the key is
/// the map key in [`DesiredVtep::acls`]; it must not contain `/`), its
/// `ACL_entry` rows, and the `Physical_Port.acl_bindings` that attach it.
///
/// Switch ACLs are stateless and permit what no entry matches; whoever
/// builds a `DesiredAcl` writes the final deny it wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredAcl {
    /// The entries (`uuid` and `acle_fault_status` are ignored). Order
    /// does not matter: `sequence` orders them on the switch. Must not be
    /// empty (the schema wants at least one).
    pub entries: Vec<AclEntry>,
    /// `(Physical_Switch name, Physical_Port name, VLAN)` where it is
    /// bound (`acl_bindings` key; VLAN 0 means the whole port).
    pub bindings: BTreeSet<(String, String, u16)>,
}

impl DesiredAcl {
    /// An ACL with these entries, bound nowhere yet.
    pub fn new(entries: impl IntoIterator<Item = AclEntry>) -> Self {
        DesiredAcl { entries: entries.into_iter().collect(), bindings: BTreeSet::new() }
    }

    /// Binds it on a port's VLAN, builder style.
    pub fn bound(mut self, switch: impl Into<String>, port: impl Into<String>, vlan: u16) -> Self {
        self.bindings.insert((switch.into(), port.into(), vlan));
        self
    }
}

impl DesiredVtep {
    /// Adds an ACL, builder style.
    pub fn with_acl(mut self, key: impl Into<String>, acl: DesiredAcl) -> Self {
        self.acls.insert(key.into(), acl);
        self
    }
}

impl DesiredVtep {
    /// The part of the database where planning toward `self` may differ
    /// from planning toward `other`: the logical switches whose own
    /// entries differ (the switch, its `(port, VLAN)` bindings on either
    /// side, its remote and flood MACs), or everything when the owners or
    /// the ACLs differ. One merged walk over both states, no planning.
    pub fn changes_from(&self, other: &DesiredVtep) -> Scope {
        if self.owner != other.owner || self.acls != other.acls {
            return Scope::All;
        }
        let mut scope = Scope::none();
        merge_diff(&self.logical_switches, &other.logical_switches, |name| scope.insert(name.to_string()));
        merge_diff(&self.ucast_remote, &other.ucast_remote, |ls| scope.insert(ls.to_string()));
        merge_diff(&self.mcast_remote, &other.mcast_remote, |(ls, _)| scope.insert(ls.to_string()));
        let none = BTreeMap::new();
        type Vlans = BTreeMap<u16, Name>;
        let mut ports: Vec<(&Vlans, &Vlans)> = Vec::new();
        merge_diff(&self.port_bindings, &other.port_bindings, |port| {
            ports.push((self.port_bindings.get(port).unwrap_or(&none), other.port_bindings.get(port).unwrap_or(&none)));
        });
        for (a, b) in ports {
            for (vlan, ls) in a.iter().chain(b) {
                if a.get(vlan) != b.get(vlan) {
                    scope.insert(ls.to_string());
                }
            }
        }
        scope
    }
}

/// Calls `f` with every key whose entry differs between `a` and `b`
/// (present in one only, or with different values), walking both in order.
fn merge_diff<K: Ord, V: PartialEq>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>, mut f: impl FnMut(&K)) {
    let (mut ia, mut ib) = (a.iter().peekable(), b.iter().peekable());
    loop {
        match (ia.peek(), ib.peek()) {
            (None, None) => return,
            (Some((k, _)), None) => {
                f(k);
                ia.next();
            }
            (None, Some((k, _))) => {
                f(k);
                ib.next();
            }
            (Some((ka, va)), Some((kb, vb))) => match ka.cmp(kb) {
                std::cmp::Ordering::Less => {
                    f(ka);
                    ia.next();
                }
                std::cmp::Ordering::Greater => {
                    f(kb);
                    ib.next();
                }
                std::cmp::Ordering::Equal => {
                    if va != vb {
                        f(ka);
                    }
                    ia.next();
                    ib.next();
                }
            },
        }
    }
}

/// The lowest value of a key's second part, so that the entries of one
/// logical switch in a map keyed by `(logical switch, …)` are a range.
pub trait Lowest {
    /// The lowest value.
    fn lowest() -> Self;
}

impl Lowest for MacAddr {
    fn lowest() -> Self {
        MacAddr([0; 6])
    }
}

impl Lowest for String {
    fn lowest() -> Self {
        String::new()
    }
}

impl Lowest for Name {
    fn lowest() -> Self {
        Name::default()
    }
}

/// The entries of logical switch `ls` in a map keyed by `(logical switch,
/// MAC)` — [`DesiredVtep::mcast_remote`] or learned MACs — in key order,
/// by range (not a scan).
pub fn of_logical_switch<'m, K, T, V>(map: &'m BTreeMap<(K, T), V>, ls: &'m str) -> impl Iterator<Item = (&'m (K, T), &'m V)> + 'm
where
    K: Ord + AsRef<str> + for<'s> From<&'s str>,
    T: Ord + Lowest,
{
    map.range((K::from(ls), T::lowest())..).take_while(move |((l, _), _)| l.as_ref() == ls)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::{Name, PortBindings};

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8, u16, u8),
        Remove(u8, u8, u16),
        RemoveLogicalSwitch(u8),
        RetainSwitchesBut(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..2, 0u8..2, 0u16..4, 0u8..3).prop_map(|(s, p, v, l)| Op::Insert(s, p, v, l)),
            2 => (0u8..2, 0u8..2, 0u16..4).prop_map(|(s, p, v)| Op::Remove(s, p, v)),
            1 => (0u8..3).prop_map(Op::RemoveLogicalSwitch),
            1 => (0u8..2).prop_map(Op::RetainSwitchesBut),
        ]
    }

    #[test]
    fn ip_lists_are_sets() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let l: super::IpList = [ip("10.0.0.3"), ip("fd00::1"), ip("10.0.0.2"), ip("10.0.0.3")].into_iter().collect();
        assert_eq!(l.iter().copied().collect::<Vec<_>>(), [ip("10.0.0.2"), ip("10.0.0.3"), ip("fd00::1")]);
        assert_eq!(l.to_set(), BTreeSet::from([ip("10.0.0.3"), ip("10.0.0.2"), ip("fd00::1")]));
        assert_eq!(l, [ip("fd00::1"), ip("10.0.0.2"), ip("10.0.0.3")].into_iter().collect());
        assert!(super::IpList::default().is_empty());
    }

    proptest! {
        /// After any sequence of changes, the bindings equal those of a
        /// plain map changed the same way, and the by-logical-switch side
        /// lists exactly the pairs the map binds to each.
        #[test]
        fn both_sides_stay_equal(ops in proptest::collection::vec(op(), 0..40)) {
            let (sw, port, ls) = (|i: u8| Name::from(format!("sw{i}")), |i: u8| Name::from(format!("p{i}")), |i: u8| Name::from(format!("ls{i}")));
            let mut b = PortBindings::default();
            let mut model: BTreeMap<(Name, Name), BTreeMap<u16, Name>> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(s, p, v, l) => {
                        let prev = b.insert(sw(s), port(p), v, ls(l));
                        prop_assert_eq!(prev, model.entry((sw(s), port(p))).or_default().insert(v, ls(l)));
                    }
                    Op::Remove(s, p, v) => {
                        let prev = model.get_mut(&(sw(s), port(p))).and_then(|m| m.remove(&v));
                        prop_assert_eq!(b.remove(&sw(s), &port(p), v), prev);
                    }
                    Op::RemoveLogicalSwitch(l) => {
                        b.remove_logical_switch(&ls(l));
                        model.values_mut().for_each(|m| m.retain(|_, x| *x != ls(l)));
                    }
                    Op::RetainSwitchesBut(s) => {
                        b.retain_switches(|x| x != sw(s));
                        model.retain(|(x, _), _| *x != sw(s));
                    }
                }
                model.retain(|_, m| !m.is_empty());
                prop_assert_eq!(&*b, &model);
                for l in 0..3 {
                    let name = ls(l);
                    let by_ls: BTreeSet<(String, String, u16)> = b.of_logical_switch(&name).map(|(s, p, v)| (s.to_owned(), p.to_owned(), v)).collect();
                    let scan: BTreeSet<(String, String, u16)> = model
                        .iter()
                        .flat_map(|((s, p), m)| m.iter().filter(|(_, x)| **x == ls(l)).map(|(v, _)| (s.to_string(), p.to_string(), *v)))
                        .collect();
                    prop_assert_eq!(by_ls, scan);
                }
                let pairs: usize = model.values().map(|m| m.len()).sum();
                prop_assert_eq!(b.by_ls.len(), pairs, "nothing left behind on the logical-switch side");
            }
        }
    }
}
