//! `Ucast_Macs_Remote` rows in a compact form.
//!
//! This is the biggest table of a leaf at fabric scale (a leaf holds a row
//! for every MAC of every other leaf in each of its networks: 210,000 rows
//! over 100 leaves at 100,000 ports), and it was the biggest part of the
//! observed caches: a typed row by UUID plus a (logical switch, MAC, UUID)
//! index, each in a B-tree of its own, ~290 bytes a row (issue 8).
//!
//! Here the rows are grouped by logical switch, each group a vector sorted
//! by (MAC, UUID): the order the planner asks in, with no second copy of
//! the key. A MAC in the canonical lowercase form and an empty `ipaddr`
//! (what Stitch writes) take no allocation; anything else is kept as
//! written, aside. A map from UUID to logical switch finds a row for the
//! monitor's deletes and diffs, which name the UUID only.
//!
//! Rows arriving in a batch (a monitor update, a switch's initial
//! contents) are appended to their group and each group touched is sorted
//! once when the batch is through ([`RemoteMacRows::settle`]): inserting
//! each in place would move the rows after it, quadratic for a logical
//! switch with thousands of MACs arriving in UUID order.
//!
//! Rows are handed out as [`RemoteMacRow`] views, which spell the MAC only
//! when asked (a resync walks every row of a logical switch and needs the
//! MAC of the few it deletes), or as [`UcastMac`] values.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use smol_str::SmolStr;
use uuid::Uuid;

use super::{MacKey, as_mac_key};
use crate::rows::UcastMac;

/// Every `Ucast_Macs_Remote` row of one database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteMacRows {
    /// Logical switch → its rows, sorted by (MAC key, UUID); never empty.
    by_ls: BTreeMap<Uuid, Vec<Slot>>,
    /// Row UUID → its logical switch.
    ls_of: HashMap<Uuid, Uuid>,
    /// Groups appended to out of order since the last settle.
    unsorted: BTreeSet<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
struct Slot {
    key: MacKey,
    uuid: Uuid,
    locator: Uuid,
    /// What the key and the UUIDs do not say, when there is any.
    rare: Option<Box<Rare>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rare {
    /// The MAC as written, when it is not the key's lowercase spelling.
    mac: Option<SmolStr>,
    ipaddr: SmolStr,
}

impl Slot {
    fn of(row: &UcastMac) -> Slot {
        let key = MacKey::of(&row.mac);
        // The key spells the MAC in lowercase (and in the colon form it
        // requires for a `MacKey::Mac`): it says the MAC exactly when that
        // is how it was written.
        let as_written = matches!(as_mac_key(&row.mac), Cow::Owned(_));
        let rare = (as_written || !row.ipaddr.is_empty()).then(|| Box::new(Rare { mac: as_written.then(|| row.mac.clone()), ipaddr: row.ipaddr.clone() }));
        Slot { key, uuid: row.uuid, locator: row.locator, rare }
    }

    fn view(&self, ls: Uuid) -> RemoteMacRow<'_> {
        RemoteMacRow { uuid: self.uuid, logical_switch: ls, locator: self.locator, slot: self }
    }

    fn order(&self) -> (&MacKey, Uuid) {
        (&self.key, self.uuid)
    }
}

/// One `Ucast_Macs_Remote` row, as the cache holds it.
#[derive(Debug, Clone, Copy)]
pub struct RemoteMacRow<'c> {
    /// Row UUID.
    pub uuid: Uuid,
    /// `logical_switch`.
    pub logical_switch: Uuid,
    /// `locator`.
    pub locator: Uuid,
    slot: &'c Slot,
}

impl<'c> RemoteMacRow<'c> {
    /// `MAC`, as written.
    pub fn mac(&self) -> SmolStr {
        match (self.slot.rare.as_ref().and_then(|r| r.mac.clone()), &self.slot.key) {
            (Some(m), _) => m,
            (None, MacKey::Mac(m)) => SmolStr::new(m.to_string()),
            (None, MacKey::Other(k)) => SmolStr::new(k),
        }
    }

    /// `ipaddr` (may be empty).
    pub fn ipaddr(&self) -> &'c str {
        self.slot.rare.as_ref().map_or("", |r| r.ipaddr.as_str())
    }

    /// The typed row.
    pub fn to_row(&self) -> UcastMac {
        UcastMac { uuid: self.uuid, mac: self.mac(), logical_switch: self.logical_switch, locator: self.locator, ipaddr: self.ipaddr().into() }
    }
}

impl RemoteMacRows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ls_of.len()
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.ls_of.is_empty()
    }

    /// A row by UUID.
    pub fn get(&self, uuid: &Uuid) -> Option<UcastMac> {
        let ls = *self.ls_of.get(uuid)?;
        let slots = &self.by_ls[&ls];
        slots.iter().find(|s| s.uuid == *uuid).map(|s| s.view(ls).to_row())
    }

    /// The logical switch of a row.
    pub fn logical_switch_of(&self, uuid: &Uuid) -> Option<Uuid> {
        self.ls_of.get(uuid).copied()
    }

    /// Every row, by logical switch, MAC (case-insensitively) and UUID.
    pub fn values(&self) -> impl Iterator<Item = UcastMac> + '_ {
        debug_assert!(self.settled(), "read before settle");
        self.by_ls.iter().flat_map(|(ls, slots)| slots.iter().map(|s| s.view(*ls).to_row()))
    }

    /// The rows of a logical switch, by MAC and UUID.
    pub fn of(&self, ls: Uuid) -> impl Iterator<Item = RemoteMacRow<'_>> {
        debug_assert!(self.settled(), "read before settle");
        self.by_ls.get(&ls).into_iter().flatten().map(move |s| s.view(ls))
    }

    /// The rows of a logical switch for one MAC, by UUID.
    pub fn with(&self, ls: Uuid, key: MacKey) -> impl Iterator<Item = RemoteMacRow<'_>> {
        debug_assert!(self.settled(), "read before settle");
        let slots: &[Slot] = self.by_ls.get(&ls).map_or(&[], Vec::as_slice);
        let from = slots.partition_point(|s| s.key < key);
        slots[from..].iter().take_while(move |s| s.key == key).map(move |s| s.view(ls))
    }

    /// Adds a row, replacing the one with its UUID; returns that one. Reads
    /// by MAC or in order wait for [`RemoteMacRows::settle`].
    pub(crate) fn insert(&mut self, row: &UcastMac) -> Option<UcastMac> {
        let old = self.remove(&row.uuid);
        let slot = Slot::of(row);
        let slots = self.by_ls.entry(row.logical_switch).or_default();
        if slots.last().is_some_and(|l| l.order() > slot.order()) {
            self.unsorted.insert(row.logical_switch);
        }
        slots.push(slot);
        self.ls_of.insert(row.uuid, row.logical_switch);
        old
    }

    /// Sorts the groups appended to out of order (after a batch).
    pub(crate) fn settle(&mut self) {
        for ls in std::mem::take(&mut self.unsorted) {
            if let Some(slots) = self.by_ls.get_mut(&ls) {
                slots.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
            }
        }
    }

    fn settled(&self) -> bool {
        self.unsorted.is_empty()
    }

    /// Removes a row by UUID; returns it.
    pub(crate) fn remove(&mut self, uuid: &Uuid) -> Option<UcastMac> {
        let ls = self.ls_of.remove(uuid)?;
        let slots = self.by_ls.get_mut(&ls).expect("every indexed row has its logical switch's group");
        let at = slots.iter().position(|s| s.uuid == *uuid).expect("every indexed row is in its group");
        let slot = slots.remove(at);
        if slots.is_empty() {
            self.by_ls.remove(&ls);
        } else if slots.capacity() > 2 * slots.len() + 4 {
            slots.shrink_to_fit();
        }
        Some(slot.view(ls).to_row())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn row(n: u128, ls: u128, mac: &str, ipaddr: &str) -> UcastMac {
        UcastMac { uuid: u(n), mac: mac.into(), logical_switch: u(ls), locator: u(1000 + n), ipaddr: ipaddr.into() }
    }

    #[test]
    fn rows_come_back_as_written() {
        let mut t = RemoteMacRows::default();
        let rows = [
            row(1, 10, "aa:bb:cc:00:00:01", ""),
            row(2, 10, "AA:BB:CC:00:00:01", "10.1.1.1"),
            row(3, 10, "unknown-dst", ""),
            row(4, 10, "Not-A-Mac", ""),
            row(5, 11, "aa:bb:cc:00:00:02", "fd00::1"),
        ];
        // In reverse: every group is appended to out of order.
        for r in rows.iter().rev() {
            assert_eq!(t.insert(r), None);
        }
        t.settle();
        assert_eq!(t.len(), 5);
        for r in &rows {
            assert_eq!(t.get(&r.uuid).as_ref(), Some(r));
            assert_eq!(t.logical_switch_of(&r.uuid), Some(r.logical_switch));
        }
        // Both spellings of one MAC meet under its key, in UUID order.
        let same: Vec<Uuid> = t.with(u(10), MacKey::of("aA:bB:cc:00:00:01")).map(|m| m.uuid).collect();
        assert_eq!(same, [u(1), u(2)]);
        assert_eq!(t.with(u(10), MacKey::of("NOT-a-mac")).map(|m| m.mac()).collect::<Vec<_>>(), ["Not-A-Mac"]);
        assert_eq!(t.with(u(10), MacKey::of("aa:bb:cc:00:00:01")).map(|m| m.to_row()).collect::<Vec<_>>(), rows[..2]);
        assert_eq!(t.with(u(11), MacKey::of("aa:bb:cc:00:00:01")).count(), 0);
        assert_eq!(t.of(u(10)).count(), 4);
        assert_eq!(t.values().map(|m| m.uuid).collect::<Vec<_>>(), [u(1), u(2), u(4), u(3), u(5)]);
    }

    #[test]
    fn replacing_and_removing_keep_groups_exact() {
        let mut t = RemoteMacRows::default();
        t.insert(&row(1, 10, "aa:bb:cc:00:00:01", ""));
        t.insert(&row(2, 10, "aa:bb:cc:00:00:02", ""));
        // A row that moves to another logical switch and MAC.
        t.settle();
        let moved = row(1, 11, "aa:bb:cc:00:00:09", "1.2.3.4");
        assert_eq!(t.insert(&moved), Some(row(1, 10, "aa:bb:cc:00:00:01", "")));
        t.settle();
        assert_eq!(t.of(u(10)).map(|m| m.uuid).collect::<Vec<_>>(), [u(2)]);
        assert_eq!(t.get(&u(1)), Some(moved));
        assert_eq!(t.remove(&u(2)).map(|m| m.uuid), Some(u(2)));
        assert_eq!(t.of(u(10)).count(), 0);
        assert!(!t.by_ls.contains_key(&u(10)), "an empty group is dropped");
        assert_eq!(t.remove(&u(2)), None);
        assert_eq!(t.len(), 1);
        t.remove(&u(1));
        assert!(t.is_empty());
        assert_eq!(t, RemoteMacRows::default());
    }
}
