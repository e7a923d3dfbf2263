//! `VtepCache`: every row of every `hardware_vtep` table, typed, by UUID,
//! kept current by monitor updates (`update` and `update2`/`update3`),
//! with the indexes [`plan`](crate::plan()) needs.
//!
//! Each row is kept once, typed (a raw copy as well doubled the
//! controller's memory at fabric scale, issue 8). An `update2` diff is
//! applied to the typed row: in place, in work proportional to the diff,
//! for `Physical_Port`'s VLAN-keyed maps (a port may bind thousands of
//! VLANs); for any other column by encoding the row, applying the diff
//! with the column types of the schema the cache was built with
//! ([`ovsdb::monitor::apply_diff`]) and decoding it again. Only rows that
//! do not decode are kept raw, so that later diffs still apply to them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

use ovsdb::monitor::{RowUpdate, RowUpdate2, TableUpdates, Updates, apply_diff};
use ovsdb::notation::{Atom, Row, Value};
use ovsdb::schema::{DatabaseSchema, TableSchema};
use stitch_model::MacAddr;
use uuid::Uuid;

use crate::rows::{
    Acl, AclEntry, ArpSource, Global, LogicalBindingStats, LogicalRouter, LogicalSwitch, Manager, McastMac, PhysicalLocator, PhysicalLocatorSet, PhysicalPort,
    PhysicalSwitch, RowError, Tunnel, UcastMac, VXLAN_OVER_IPV4, VtepRow,
};
use crate::table::Table;

/// Evaluates `$body` with `$m` bound to the typed map of `$table` in
/// `$tables` (each map has its own row type).
macro_rules! for_table {
    ($tables:expr, $table:expr, |$m:ident| $body:expr) => {{
        let t = $tables;
        match $table {
            Table::Global => {
                let $m = &t.global;
                $body
            }
            Table::Manager => {
                let $m = &t.managers;
                $body
            }
            Table::PhysicalSwitch => {
                let $m = &t.physical_switches;
                $body
            }
            Table::PhysicalPort => {
                let $m = &t.physical_ports;
                $body
            }
            Table::Tunnel => {
                let $m = &t.tunnels;
                $body
            }
            Table::LogicalSwitch => {
                let $m = &t.logical_switches;
                $body
            }
            Table::LogicalBindingStats => {
                let $m = &t.binding_stats;
                $body
            }
            Table::LogicalRouter => {
                let $m = &t.logical_routers;
                $body
            }
            Table::UcastMacsLocal => {
                let $m = &t.ucast_local;
                $body
            }
            Table::UcastMacsRemote => {
                let $m = &t.ucast_remote;
                $body
            }
            Table::McastMacsLocal => {
                let $m = &t.mcast_local;
                $body
            }
            Table::McastMacsRemote => {
                let $m = &t.mcast_remote;
                $body
            }
            Table::ArpSourcesLocal => {
                let $m = &t.arp_local;
                $body
            }
            Table::ArpSourcesRemote => {
                let $m = &t.arp_remote;
                $body
            }
            Table::PhysicalLocator => {
                let $m = &t.locators;
                $body
            }
            Table::PhysicalLocatorSet => {
                let $m = &t.locator_sets;
                $body
            }
            Table::Acl => {
                let $m = &t.acls;
                $body
            }
            Table::AclEntry => {
                let $m = &t.acl_entries;
                $body
            }
        }
    }};
}

/// Updates could not be applied completely.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CacheError {
    /// The update did not fit the schema (unknown table or column, a
    /// diff of the wrong shape, a modify of an unknown row). The cache may
    /// be partly updated: resynchronize it.
    #[error("monitor update does not fit the schema: {0}")]
    Schema(String),
    /// Some rows did not decode into their typed form; they are kept raw
    /// only (see [`VtepCache::decode_errors`]).
    #[error("{} row(s) could not be decoded; first: {}", .0.len(), .0[0])]
    Decode(Vec<RowError>),
}

/// Typed rows of every table, by UUID.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tables {
    /// `Global`.
    pub global: BTreeMap<Uuid, Global>,
    /// `Manager`.
    pub managers: BTreeMap<Uuid, Manager>,
    /// `Physical_Switch`.
    pub physical_switches: BTreeMap<Uuid, PhysicalSwitch>,
    /// `Physical_Port`.
    pub physical_ports: BTreeMap<Uuid, PhysicalPort>,
    /// `Tunnel`.
    pub tunnels: BTreeMap<Uuid, Tunnel>,
    /// `Logical_Switch`.
    pub logical_switches: BTreeMap<Uuid, LogicalSwitch>,
    /// `Logical_Binding_Stats`.
    pub binding_stats: BTreeMap<Uuid, LogicalBindingStats>,
    /// `Logical_Router`.
    pub logical_routers: BTreeMap<Uuid, LogicalRouter>,
    /// `Ucast_Macs_Local`.
    pub ucast_local: BTreeMap<Uuid, UcastMac>,
    /// `Ucast_Macs_Remote` (compact: see [`RemoteMacRows`]).
    pub ucast_remote: RemoteMacRows,
    /// `Mcast_Macs_Local`.
    pub mcast_local: BTreeMap<Uuid, McastMac>,
    /// `Mcast_Macs_Remote`.
    pub mcast_remote: BTreeMap<Uuid, McastMac>,
    /// `Arp_Sources_Local`.
    pub arp_local: BTreeMap<Uuid, ArpSource>,
    /// `Arp_Sources_Remote`.
    pub arp_remote: BTreeMap<Uuid, ArpSource>,
    /// `Physical_Locator`.
    pub locators: BTreeMap<Uuid, PhysicalLocator>,
    /// `Physical_Locator_Set`.
    pub locator_sets: BTreeMap<Uuid, PhysicalLocatorSet>,
    /// `ACL`.
    pub acls: BTreeMap<Uuid, Acl>,
    /// `ACL_entry`.
    pub acl_entries: BTreeMap<Uuid, AclEntry>,
}

/// A key → UUIDs index (the server does not promise uniqueness for most
/// of these, and within one batch a row may appear before the row it
/// replaces is gone), as one ordered set of (key, UUID) pairs: a set per
/// key cost an allocation per row, most keys having a single row.
#[derive(Debug, Clone, PartialEq)]
struct MultiIndex<K: Ord>(BTreeSet<(K, Uuid)>);

impl<K: Ord> Default for MultiIndex<K> {
    fn default() -> Self {
        MultiIndex(BTreeSet::new())
    }
}

impl<K: Ord + Clone> MultiIndex<K> {
    fn add(&mut self, k: K, u: Uuid) {
        self.0.insert((k, u));
    }

    fn remove(&mut self, k: K, u: Uuid) {
        self.0.remove(&(k, u));
    }

    fn get<'s>(&'s self, k: &K) -> impl Iterator<Item = Uuid> + use<'s, K> {
        self.0.range((k.clone(), Uuid::nil())..=(k.clone(), Uuid::max())).map(|(_, u)| *u)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Indexes {
    ls_by_name: MultiIndex<String>,
    ls_by_tunnel_key: MultiIndex<i64>,
    ps_by_name: MultiIndex<String>,
    locator_by_key: MultiIndex<(String, String, Option<i64>)>,
    locator_set_by_members: MultiIndex<BTreeSet<Uuid>>,
    mcast_remote_by_ls_mac: MultiIndex<(Uuid, MacKey)>,
    /// `Physical_Port.vlan_bindings` pairs by the logical switch they
    /// point at: (logical switch, port, VLAN).
    bindings_by_ls: BTreeSet<(Uuid, Uuid, u16)>,
}

/// The observed state of one `hardware_vtep` database.
#[derive(Debug, Clone)]
pub struct VtepCache {
    /// Shared: many caches of one schema (one per switch) need one copy.
    schema: Arc<DatabaseSchema>,
    tables: Tables,
    idx: Indexes,
    decode_errors: BTreeMap<(Table, Uuid), RowError>,
    /// The rows that did not decode, normalized, as the server holds them.
    undecoded: BTreeMap<(Table, Uuid), Row>,
}

/// One parsed copy of each distinct schema in use: a controller with a
/// thousand switches of the same model would otherwise keep a thousand
/// equal copies (each endpoint reads the schema from its server).
fn shared_schema(schema: DatabaseSchema) -> Arc<DatabaseSchema> {
    static SCHEMAS: Mutex<Vec<Weak<DatabaseSchema>>> = Mutex::new(Vec::new());
    let mut known = SCHEMAS.lock().unwrap_or_else(|e| e.into_inner());
    known.retain(|w| w.strong_count() > 0);
    if let Some(s) = known.iter().filter_map(Weak::upgrade).find(|s| **s == schema) {
        return s;
    }
    let s = Arc::new(schema);
    known.push(Arc::downgrade(&s));
    s
}

/// A MAC as the indexes key it: lowercase, so `AA:..` and `aa:..` meet.
pub fn mac_key(mac: &str) -> String {
    mac.to_ascii_lowercase()
}

/// [`mac_key`], borrowing `mac` when it is one already (no uppercase).
pub(crate) fn as_mac_key(mac: &str) -> Cow<'_, str> {
    if mac.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(mac_key(mac)) } else { Cow::Borrowed(mac) }
}

/// A MAC column's value as the MAC indexes key it: equal exactly when
/// [`mac_key`] is, but a MAC in the canonical colon form (any case) is
/// kept as its six bytes, with no heap copy, and found by a [`MacAddr`]
/// without formatting one. Anything else (`unknown-dst`, other spellings)
/// is kept as its [`mac_key`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MacKey {
    Mac(MacAddr),
    Other(Box<str>),
}

impl MacKey {
    /// The lowest key.
    pub const MIN: MacKey = MacKey::Mac(MacAddr([0; 6]));

    pub fn of(mac: &str) -> MacKey {
        let b = mac.as_bytes();
        let canonical = b.len() == 17 && b.iter().enumerate().all(|(i, c)| if i % 3 == 2 { *c == b':' } else { c.is_ascii_hexdigit() });
        match canonical.then(|| mac.parse::<MacAddr>().ok()).flatten() {
            Some(m) => MacKey::Mac(m),
            None => MacKey::Other(mac_key(mac).into()),
        }
    }
}

impl VtepCache {
    /// An empty cache for rows of `schema` (normally the one the server
    /// reported; it gives the column types update2 diffs are applied with).
    /// Caches built with equal schemas share one parsed copy.
    pub fn new(schema: DatabaseSchema) -> Self {
        VtepCache {
            schema: shared_schema(schema),
            tables: Tables::default(),
            idx: Indexes::default(),
            decode_errors: BTreeMap::new(),
            undecoded: BTreeMap::new(),
        }
    }

    /// A cache for the installed schema (tests and simulations); panics if
    /// the schema file is missing, naming the package to install.
    pub fn with_installed_schema() -> Self {
        Self::new(crate::installed_schema().unwrap_or_else(|e| panic!("{e}")))
    }

    /// The schema the cache was built with.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.schema
    }

    /// Every row as the server holds it, as far as the typed rows read it
    /// (every column they read, ephemeral ones included; rows that did not
    /// decode as they came), without `_uuid`: table name → UUID → row.
    /// Built on demand (the cache keeps no raw copy), e.g. to seed another
    /// database or to compare with one.
    pub fn observed_rows(&self) -> BTreeMap<String, BTreeMap<Uuid, Row>> {
        let mut out: BTreeMap<String, BTreeMap<Uuid, Row>> = BTreeMap::new();
        for t in Table::ALL {
            let rows = out.entry(t.name().to_owned()).or_default();
            for_table!(&self.tables, t, |m| rows.extend(m.encoded()));
        }
        for ((t, u), r) in &self.undecoded {
            out.entry(t.name().to_owned()).or_default().insert(*u, r.clone());
        }
        out.retain(|_, rows| !rows.is_empty());
        out
    }

    /// The typed rows.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Rows kept raw because they did not decode.
    pub fn decode_errors(&self) -> impl Iterator<Item = &RowError> {
        self.decode_errors.values()
    }

    /// Forgets every row (before a full resync).
    pub fn clear(&mut self) {
        self.tables = Tables::default();
        self.idx = Indexes::default();
        self.decode_errors.clear();
        self.undecoded.clear();
    }

    /// Applies one batch of monitor updates (`update`, `update2` or
    /// `update3`, initial contents included).
    ///
    /// Rows of tables the schema has but [`Table`] does not know are
    /// checked and ignored. On a [`CacheError::Schema`] the rows before
    /// the offending one are applied, the rest not.
    pub fn apply(&mut self, updates: &Updates) -> Result<(), CacheError> {
        let r = self.apply_batch(updates);
        // On every way out: rows of the batch may have been applied.
        self.tables.ucast_remote.settle();
        r
    }

    fn apply_batch(&mut self, updates: &Updates) -> Result<(), CacheError> {
        let schema = self.schema.clone();
        let mut errors = Vec::new();
        match updates {
            Updates::V1(t) => {
                for (table, rows) in t {
                    let ts = schema.require_table(table).map_err(schema_error)?;
                    for (uuid, RowUpdate { new, .. }) in rows {
                        let new = new.as_ref().map(|r| normalize_row(ts, r)).transpose()?;
                        if let Some(t) = Table::from_name(table) {
                            self.replace(t, *uuid, new, &mut errors);
                        }
                    }
                }
            }
            Updates::V2(t) => {
                for (table, rows) in t {
                    let ts = schema.require_table(table).map_err(schema_error)?;
                    for (uuid, update) in rows {
                        match update {
                            RowUpdate2::Initial(r) | RowUpdate2::Insert(r) => {
                                let new = normalize_row(ts, r)?;
                                if let Some(t) = Table::from_name(table) {
                                    self.replace(t, *uuid, Some(new), &mut errors);
                                }
                            }
                            RowUpdate2::Delete => {
                                if let Some(t) = Table::from_name(table) {
                                    self.replace(t, *uuid, None, &mut errors);
                                }
                            }
                            RowUpdate2::Modify(diff) => self.modify(ts, *uuid, diff, &mut errors)?,
                        }
                    }
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(CacheError::Decode(errors)) }
    }

    /// Applies an `update2` diff to one row (see the module documentation).
    fn modify(&mut self, ts: &TableSchema, uuid: Uuid, diff: &Row, errors: &mut Vec<RowError>) -> Result<(), CacheError> {
        for (column, _) in diff.iter() {
            ts.require_column(column).map_err(schema_error)?;
        }
        let Some(table) = Table::from_name(&ts.name) else { return Ok(()) };
        if table == Table::PhysicalPort && self.patch_port(ts, uuid, diff)? {
            return Ok(());
        }
        let row = match self.undecoded.get(&(table, uuid)) {
            Some(raw) => Some(raw.clone()),
            None => for_table!(&self.tables, table, |m| m.encoded_row(uuid)),
        };
        let Some(mut row) = row else { return Err(CacheError::Schema(format!("modify of unknown row {uuid} in {}", ts.name))) };
        for (column, d) in diff.iter() {
            let ty = ts.require_column(column).map_err(schema_error)?;
            let new = apply_diff(ty, row.get(column), d).map_err(schema_error)?;
            row.insert(column.clone(), new);
        }
        self.replace(table, uuid, Some(row), errors);
        Ok(())
    }

    /// Applies a `Physical_Port` diff in place when it changes only the
    /// VLAN-keyed maps (`vlan_bindings`, `acl_bindings`, `vlan_stats`) with
    /// pairs that fit their types: work in the size of the diff, where a
    /// decode would be in the size of the port. False when it does not
    /// apply (the caller then applies the diff generically).
    fn patch_port(&mut self, ts: &TableSchema, uuid: Uuid, diff: &Row) -> Result<bool, CacheError> {
        let Some(port) = self.tables.physical_ports.get_mut(&uuid) else { return Ok(false) };
        let mut pairs: Vec<(&str, Vec<(u16, Uuid)>)> = Vec::new();
        for (column, d) in diff.iter() {
            if !matches!(column.as_str(), "vlan_bindings" | "acl_bindings" | "vlan_stats") {
                if PhysicalPort::COLUMNS.iter().any(|c| c.name == column) {
                    return Ok(false);
                }
                continue; // a column the type does not read
            }
            let ty = ts.require_column(column).map_err(schema_error)?;
            let Value::Map(m) = ty.normalize(d).map_err(schema_error)? else { return Ok(false) };
            let Some(p) = m.iter().map(|(k, v)| Some((vlan(k)?, v.as_uuid()?))).collect::<Option<Vec<_>>>() else { return Ok(false) };
            pairs.push((column.as_str(), p));
        }
        // Only vlan_bindings is indexed (by logical switch): its pairs
        // move in the index one by one, as they change.
        let by_ls = &mut self.idx.bindings_by_ls;
        for (column, p) in pairs {
            let (map, indexed) = match column {
                "vlan_bindings" => (&mut port.vlan_bindings, true),
                "acl_bindings" => (&mut port.acl_bindings, false),
                _ => (&mut port.vlan_stats, false),
            };
            for (vlan, value) in p {
                // ovsdb-server's map diff: a pair equal to the old one
                // removes it, any other value sets it.
                let old = if map.get(&vlan) == Some(&value) { map.remove(&vlan) } else { map.insert(vlan, value) };
                if indexed {
                    if let Some(old) = old {
                        by_ls.remove(&(old, uuid, vlan));
                    }
                    if map.get(&vlan) == Some(&value) {
                        by_ls.insert((value, uuid, vlan));
                    }
                }
            }
        }
        Ok(true)
    }

    /// Replaces the whole content with a full read: table name → rows
    /// (each with its `_uuid`), e.g. from one `select` per table.
    pub fn load(&mut self, tables: BTreeMap<String, Vec<Row>>) -> Result<(), CacheError> {
        self.clear();
        let mut updates: TableUpdates<RowUpdate> = BTreeMap::new();
        for (table, rows) in tables {
            let t = updates.entry(table.clone()).or_default();
            for mut row in rows {
                let uuid = row.uuid().ok_or_else(|| CacheError::Schema(format!("a {table} row has no _uuid")))?;
                row.remove("_uuid");
                row.remove("_version");
                t.insert(uuid, RowUpdate { old: None, new: Some(row) });
            }
        }
        self.apply(&Updates::V1(updates))
    }

    /// Replaces one row by the decoding of `raw` (normalized), or removes
    /// it; a row that does not decode is kept raw, its error reported.
    fn replace(&mut self, table: Table, uuid: Uuid, raw: Option<Row>, errors: &mut Vec<RowError>) {
        self.decode_errors.remove(&(table, uuid));
        self.undecoded.remove(&(table, uuid));
        if let Err(e) = self.refresh_typed(table, uuid, raw.as_ref()) {
            self.decode_errors.insert((table, uuid), e.clone());
            if let Some(raw) = raw {
                self.undecoded.insert((table, uuid), raw);
            }
            errors.push(e);
        }
    }

    fn refresh_typed(&mut self, table: Table, uuid: Uuid, raw: Option<&Row>) -> Result<(), RowError> {
        let t = &mut self.tables;
        let idx = &mut self.idx;
        match table {
            Table::Global => swap(&mut t.global, table, uuid, raw).1.map(drop),
            Table::Manager => swap(&mut t.managers, table, uuid, raw).1.map(drop),
            Table::PhysicalSwitch => {
                let (old, new) = swap(&mut t.physical_switches, table, uuid, raw);
                reindex(&mut idx.ps_by_name, uuid, old.map(|r| r.name), ok(&new).map(|r| r.name.clone()));
                new.map(drop)
            }
            Table::PhysicalPort => {
                let (old, new) = swap(&mut t.physical_ports, table, uuid, raw);
                let none = BTreeMap::new();
                let (was, is) = (old.as_ref().map_or(&none, |p| &p.vlan_bindings), ok(&new).map_or(&none, |p| &p.vlan_bindings));
                for (vlan, ls) in bindings_not_in(was, is) {
                    idx.bindings_by_ls.remove(&(*ls, uuid, *vlan));
                }
                for (vlan, ls) in bindings_not_in(is, was) {
                    idx.bindings_by_ls.insert((*ls, uuid, *vlan));
                }
                new.map(drop)
            }
            Table::Tunnel => swap(&mut t.tunnels, table, uuid, raw).1.map(drop),
            Table::LogicalSwitch => {
                let (old, new) = swap(&mut t.logical_switches, table, uuid, raw);
                let key = |r: &LogicalSwitch| r.tunnel_key;
                reindex(&mut idx.ls_by_tunnel_key, uuid, old.as_ref().and_then(key), ok(&new).and_then(key));
                reindex(&mut idx.ls_by_name, uuid, old.map(|r| r.name), ok(&new).map(|r| r.name.clone()));
                new.map(drop)
            }
            Table::LogicalBindingStats => swap(&mut t.binding_stats, table, uuid, raw).1.map(drop),
            Table::LogicalRouter => swap(&mut t.logical_routers, table, uuid, raw).1.map(drop),
            Table::UcastMacsLocal => swap(&mut t.ucast_local, table, uuid, raw).1.map(drop),
            Table::UcastMacsRemote => {
                t.ucast_remote.remove(&uuid);
                let new = raw.map(|raw| UcastMac::decode(table, uuid, raw)).transpose()?;
                if let Some(new) = new {
                    t.ucast_remote.insert(&new);
                }
                Ok(())
            }
            Table::McastMacsLocal => swap(&mut t.mcast_local, table, uuid, raw).1.map(drop),
            Table::McastMacsRemote => {
                let (old, new) = swap(&mut t.mcast_remote, table, uuid, raw);
                let key = |r: &McastMac| (r.logical_switch, MacKey::of(&r.mac));
                reindex(&mut idx.mcast_remote_by_ls_mac, uuid, old.as_ref().map(key), ok(&new).map(key));
                new.map(drop)
            }
            Table::ArpSourcesLocal => swap(&mut t.arp_local, table, uuid, raw).1.map(drop),
            Table::ArpSourcesRemote => swap(&mut t.arp_remote, table, uuid, raw).1.map(drop),
            Table::PhysicalLocator => {
                let (old, new) = swap(&mut t.locators, table, uuid, raw);
                let key = |r: &PhysicalLocator| (r.encapsulation_type.clone(), r.dst_ip.clone(), r.tunnel_key);
                reindex(&mut idx.locator_by_key, uuid, old.as_ref().map(key), ok(&new).map(key));
                new.map(drop)
            }
            Table::PhysicalLocatorSet => {
                let (old, new) = swap(&mut t.locator_sets, table, uuid, raw);
                reindex(&mut idx.locator_set_by_members, uuid, old.map(|r| r.locators), ok(&new).map(|r| r.locators.clone()));
                new.map(drop)
            }
            Table::Acl => swap(&mut t.acls, table, uuid, raw).1.map(drop),
            Table::AclEntry => swap(&mut t.acl_entries, table, uuid, raw).1.map(drop),
        }
    }

    // ---- queries -------------------------------------------------------

    /// A logical switch by name (the name is unique in the schema).
    pub fn logical_switch_by_name(&self, name: &str) -> Option<&LogicalSwitch> {
        self.idx.ls_by_name.get(&name.to_owned()).find_map(|u| self.tables.logical_switches.get(&u))
    }

    /// Logical switches with this `tunnel_key` (VNI), in UUID order.
    pub fn logical_switches_with_key(&self, key: i64) -> impl Iterator<Item = &LogicalSwitch> {
        self.idx.ls_by_tunnel_key.get(&key).filter_map(|u| self.tables.logical_switches.get(&u))
    }

    /// A physical switch by name.
    pub fn physical_switch_by_name(&self, name: &str) -> Option<&PhysicalSwitch> {
        self.idx.ps_by_name.get(&name.to_owned()).find_map(|u| self.tables.physical_switches.get(&u))
    }

    /// A port of a physical switch, by both names (port names are unique
    /// per switch, not per database).
    pub fn physical_port(&self, switch: &str, port: &str) -> Option<&PhysicalPort> {
        let ps = self.physical_switch_by_name(switch)?;
        ps.ports.iter().filter_map(|u| self.tables.physical_ports.get(u)).find(|p| p.name == port)
    }

    /// The switch that lists a port in its `ports`.
    pub fn switch_of_port(&self, port: Uuid) -> Option<&PhysicalSwitch> {
        self.tables.physical_switches.values().find(|s| s.ports.contains(&port))
    }

    /// The `vxlan_over_ipv4` locator for a tunnel IP without a per-locator
    /// tunnel key (the one the switch and everyone else share).
    pub fn vxlan_locator(&self, dst_ip: IpAddr) -> Option<&PhysicalLocator> {
        let key = (VXLAN_OVER_IPV4.to_owned(), dst_ip.to_string(), None);
        self.idx.locator_by_key.get(&key).find_map(|u| self.tables.locators.get(&u))
    }

    /// The tunnel IP of a `vxlan_over_ipv4` locator without tunnel key.
    pub fn locator_ip(&self, locator: Uuid) -> Option<IpAddr> {
        let l = self.tables.locators.get(&locator)?;
        if l.encapsulation_type != VXLAN_OVER_IPV4 || l.tunnel_key.is_some() {
            return None;
        }
        l.dst_ip.parse().ok()
    }

    /// A locator set with exactly these locators.
    pub fn locator_set_with(&self, locators: &BTreeSet<Uuid>) -> Option<&PhysicalLocatorSet> {
        self.idx.locator_set_by_members.get(locators).find_map(|u| self.tables.locator_sets.get(&u))
    }

    /// The tunnel IPs of a locator set; `None` if any member is not a
    /// plain `vxlan_over_ipv4` locator or the set is unknown.
    pub fn locator_set_ips(&self, set: Uuid) -> Option<BTreeSet<IpAddr>> {
        let s = self.tables.locator_sets.get(&set)?;
        s.locators.iter().map(|l| self.locator_ip(*l)).collect()
    }

    /// `Ucast_Macs_Remote` rows of a logical switch for a MAC (any case).
    pub fn ucast_remote_by_mac(&self, ls: Uuid, mac: &str) -> impl Iterator<Item = RemoteMacRow<'_>> {
        self.tables.ucast_remote.with(ls, MacKey::of(mac))
    }

    /// [`VtepCache::ucast_remote_by_mac`] by key.
    pub fn ucast_remote_with(&self, ls: Uuid, mac: MacKey) -> impl Iterator<Item = RemoteMacRow<'_>> {
        self.tables.ucast_remote.with(ls, mac)
    }

    /// Every `Ucast_Macs_Remote` row of a logical switch, by MAC.
    pub fn ucast_remote_of(&self, ls: Uuid) -> impl Iterator<Item = RemoteMacRow<'_>> {
        self.tables.ucast_remote.of(ls)
    }

    /// `Mcast_Macs_Remote` rows of a logical switch for a MAC (any case).
    pub fn mcast_remote_by_mac(&self, ls: Uuid, mac: &str) -> impl Iterator<Item = &McastMac> {
        self.idx.mcast_remote_by_ls_mac.get(&(ls, MacKey::of(mac))).filter_map(|u| self.tables.mcast_remote.get(&u))
    }

    /// The `(Physical_Port, VLAN)` pairs whose `vlan_bindings` point at
    /// logical switch `ls`, in order.
    pub fn bindings_of_logical_switch(&self, ls: Uuid) -> impl Iterator<Item = (Uuid, u16)> + '_ {
        self.idx.bindings_by_ls.range((ls, Uuid::nil(), 0)..=(ls, Uuid::max(), u16::MAX)).map(|(_, p, v)| (*p, *v))
    }

    /// Every `Mcast_Macs_Remote` row of a logical switch.
    pub fn mcast_remote_of(&self, ls: Uuid) -> impl Iterator<Item = &McastMac> {
        in_ls(&self.idx.mcast_remote_by_ls_mac, ls).filter_map(|u| self.tables.mcast_remote.get(&u))
    }

    /// Number of rows in a table.
    pub fn len(&self, table: Table) -> usize {
        for_table!(&self.tables, table, |m| m.len()) + self.undecoded.keys().filter(|(t, _)| *t == table).count()
    }

    /// True when the cache holds no row at all.
    pub fn is_empty(&self) -> bool {
        self.undecoded.is_empty() && Table::ALL.into_iter().all(|t| for_table!(&self.tables, t, |m| m.is_empty()))
    }
}

/// The `vlan_bindings` pairs of `a` that `b` does not have (a VLAN it
/// lacks or binds elsewhere): with the arguments swapped, the other half
/// of what changed between two versions of a port.
fn bindings_not_in<'m>(a: &'m BTreeMap<u16, Uuid>, b: &'m BTreeMap<u16, Uuid>) -> impl Iterator<Item = (&'m u16, &'m Uuid)> {
    a.iter().filter(move |(v, ls)| b.get(v) != Some(ls))
}

fn schema_error(e: ovsdb::error::SchemaError) -> CacheError {
    CacheError::Schema(e.to_string())
}

/// A row's values in their column's shape (a set column always holds a
/// set), as the typed decoders read them.
fn normalize_row(ts: &TableSchema, row: &Row) -> Result<Row, CacheError> {
    row.iter()
        .map(|(c, v)| {
            let v = match ts.column_type(c) {
                Some(t) => t.normalize(v).map_err(schema_error)?,
                None => v.clone(),
            };
            Ok((c.clone(), v))
        })
        .collect()
}

/// A VLAN map key (0..=4095), as the typed rows hold it.
fn vlan(a: &Atom) -> Option<u16> {
    a.as_i64().and_then(|i| u16::try_from(i).ok()).filter(|v| *v <= 4095)
}

fn touched<U>(t: &TableUpdates<U>) -> Vec<(String, Uuid)> {
    t.iter().flat_map(|(table, rows)| rows.keys().map(move |u| (table.clone(), *u))).collect()
}

fn in_ls(idx: &MultiIndex<(Uuid, MacKey)>, ls: Uuid) -> impl Iterator<Item = Uuid> + '_ {
    idx.0.range(((ls, MacKey::MIN), Uuid::nil())..).take_while(move |((l, _), _)| *l == ls).map(|(_, u)| *u)
}

/// One table's rows as the generic parts of the cache read them.
trait EncodedRows {
    /// Every row, encoded as the server holds it ([`VtepRow::encode_observed`]).
    fn encoded(&self) -> impl Iterator<Item = (Uuid, Row)>;
    /// One row, encoded.
    fn encoded_row(&self, uuid: Uuid) -> Option<Row>;
}

impl<T: VtepRow> EncodedRows for BTreeMap<Uuid, T> {
    fn encoded(&self) -> impl Iterator<Item = (Uuid, Row)> {
        self.iter().map(|(u, r)| (*u, r.encode_observed()))
    }
    fn encoded_row(&self, uuid: Uuid) -> Option<Row> {
        self.get(&uuid).map(VtepRow::encode_observed)
    }
}

impl EncodedRows for RemoteMacRows {
    fn encoded(&self) -> impl Iterator<Item = (Uuid, Row)> {
        self.values().map(|r| (r.uuid, r.encode_observed()))
    }
    fn encoded_row(&self, uuid: Uuid) -> Option<Row> {
        self.get(&uuid).map(|r| r.encode_observed())
    }
}

/// Replaces one typed row by the decoding of `raw` (or removes it);
/// returns the old row and a reference to the new one.
fn swap<'m, T: VtepRow>(map: &'m mut BTreeMap<Uuid, T>, table: Table, uuid: Uuid, raw: Option<&Row>) -> (Option<T>, Result<Option<&'m T>, RowError>) {
    let old = map.remove(&uuid);
    match raw.map(|raw| T::decode(table, uuid, raw)).transpose() {
        Err(e) => (old, Err(e)),
        Ok(None) => (old, Ok(None)),
        Ok(Some(new)) => {
            map.insert(uuid, new);
            (old, Ok(map.get(&uuid)))
        }
    }
}

fn ok<'a, T>(r: &Result<Option<&'a T>, RowError>) -> Option<&'a T> {
    r.as_ref().ok().copied().flatten()
}

fn reindex<K: Ord + Clone>(idx: &mut MultiIndex<K>, uuid: Uuid, old: Option<K>, new: Option<K>) {
    if let Some(k) = old {
        idx.remove(k, uuid);
    }
    if let Some(k) = new {
        idx.add(k, uuid);
    }
}

/// Builds an `update`-format batch inserting `rows` (table → uuid → row),
/// e.g. for tests and simulations.
pub fn initial_updates(rows: &BTreeMap<String, BTreeMap<Uuid, Row>>) -> Updates {
    Updates::V1(
        rows.iter()
            .map(|(t, rows)| {
                let rows = rows
                    .iter()
                    .map(|(u, r)| {
                        let r: Row = r.iter().filter(|(c, _)| !c.starts_with('_')).map(|(c, v)| (c.clone(), v.clone())).collect();
                        (*u, RowUpdate { old: None, new: Some(r) })
                    })
                    .collect();
                (t.clone(), rows)
            })
            .collect(),
    )
}

mod remote_macs;
mod touched;

pub use remote_macs::{RemoteMacRow, RemoteMacRows};

#[cfg(test)]
mod tests;
