//! Property: a cache fed random monitor updates (`update2` inserts, diffs
//! and deletes, and `update` rows) holds what a fresh cache built from
//! the resulting database holds — typed rows, rows that do not decode
//! and what the indexes find. The rows are random within the shapes of
//! the installed schema (atoms of any type and out of range, which the
//! server would not send but the cache must not trip on), so every
//! table, column and diff kind is exercised, including the in-place
//! application of `Physical_Port` map diffs.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::monitor::{RowUpdate, RowUpdate2, Updates, compute_diff};
use ovsdb::notation::{Atom, AtomicType, Row, Value};
use ovsdb::schema::{ColumnType, DatabaseSchema};
use proptest::prelude::*;
use stitch_vtep::{CacheError, Table, VtepCache, initial_updates, installed_schema};
use uuid::Uuid;

type Db = BTreeMap<String, BTreeMap<Uuid, Row>>;

/// A small deterministic generator (the proptest input is its seed).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }

    /// An atom, usually of the column's type, sometimes not (decode
    /// errors), from small pools so that diffs hit existing elements.
    fn atom(&mut self, ty: AtomicType) -> Atom {
        let ty = if self.below(12) == 0 { *self.pick(&[AtomicType::Integer, AtomicType::String, AtomicType::Uuid]) } else { ty };
        match ty {
            AtomicType::Integer => Atom::Integer(*self.pick(&[0, 1, 7, 100, 4095, 5000])),
            AtomicType::Real => Atom::Real(*self.pick(&[0.0, 1.5])),
            AtomicType::Boolean => Atom::Boolean(self.below(2) == 0),
            AtomicType::String => {
                Atom::String((*self.pick(&["", "a", "b", "AA:bb:00:00:00:01", "aa:bb:00:00:00:01", "source_node", "vxlan_over_ipv4", "flood"])).to_owned())
            }
            AtomicType::Uuid => Atom::Uuid(Uuid::from_u128(1 + self.below(5) as u128)),
        }
    }

    fn value(&mut self, ty: &ColumnType) -> Value {
        if ty.is_scalar() {
            return Value::Atom(self.atom(ty.key.atomic_type()));
        }
        let max = ty.max.map_or(6, |m| m.min(6) as usize);
        let n = self.below(max + 1);
        match &ty.value {
            Some(v) => Value::Map((0..n).map(|_| (self.atom(ty.key.atomic_type()), self.atom(v.atomic_type()))).collect()),
            None => Value::Set((0..n).map(|_| self.atom(ty.key.atomic_type())).collect()),
        }
    }

    /// Some columns of a table, with random values.
    fn columns(&mut self, schema: &DatabaseSchema, table: &str, all: bool) -> Row {
        let ts = &schema.tables[table];
        let mut row = Row::new();
        for (c, cs) in &ts.columns {
            if all || self.below(3) == 0 {
                row.insert(c.clone(), self.value(&cs.type_));
            }
        }
        row
    }
}

/// One batch of random changes to `db`, as the monitor reports it.
fn batch(g: &mut Gen, schema: &DatabaseSchema, db: &mut Db) -> Updates {
    // Mostly ports, whose diffs take the in-place path.
    let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).chain(["Physical_Port"; 8]).collect();
    let v1 = g.below(5) == 0;
    let mut out1: BTreeMap<String, BTreeMap<Uuid, RowUpdate>> = BTreeMap::new();
    let mut out2: BTreeMap<String, BTreeMap<Uuid, RowUpdate2>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for _ in 0..1 + g.below(4) {
        let table = *g.pick(&tables);
        let uuid = Uuid::from_u128(1 + g.below(3) as u128);
        if !seen.insert((table, uuid)) {
            continue;
        }
        let ts = &schema.tables[table];
        let rows = db.entry(table.to_owned()).or_default();
        let old = rows.get(&uuid).cloned();
        let new = match &old {
            None => Some(g.columns(schema, table, false)),
            Some(_) if g.below(4) == 0 => None,
            Some(o) => {
                let mut n = o.clone();
                for (c, v) in g.columns(schema, table, false).iter() {
                    // Sometimes a small change of a map or set, as a
                    // switch or Stitch makes them.
                    let v = match (o.get(c), v) {
                        (Some(Value::Map(om)), Value::Map(d)) if g.below(2) == 0 => {
                            let mut m = om.clone();
                            m.extend(d.iter().take(1).map(|(k, v)| (k.clone(), v.clone())));
                            if let Some(k) = om.keys().next().filter(|_| g.below(2) == 0) {
                                m.remove(k);
                            }
                            Value::Map(m)
                        }
                        _ => v.clone(),
                    };
                    n.insert(c.clone(), v);
                }
                Some(n)
            }
        };
        match &new {
            None => {
                rows.remove(&uuid);
            }
            Some(n) => {
                rows.insert(uuid, n.clone());
            }
        }
        if v1 {
            out1.entry(table.to_owned()).or_default().insert(uuid, RowUpdate { old, new });
            continue;
        }
        let u = match (old, new) {
            (_, None) => RowUpdate2::Delete,
            (None, Some(n)) => RowUpdate2::Insert(n),
            (Some(o), Some(n)) => {
                let col = |r: &Row, c: &str| r.get(c).cloned().unwrap_or_else(|| ts.columns[c].type_.default_value());
                let diff: Row = ts
                    .columns
                    .iter()
                    .filter(|(c, _)| col(&o, c) != col(&n, c))
                    .map(|(c, cs)| (c.clone(), compute_diff(&cs.type_, &col(&o, c), &col(&n, c)).expect("diff")))
                    .collect();
                if diff.is_empty() {
                    continue;
                }
                RowUpdate2::Modify(diff)
            }
        };
        out2.entry(table.to_owned()).or_default().insert(uuid, u);
    }
    if v1 { Updates::V1(out1) } else { Updates::V2(out2) }
}

/// What the caches must agree on besides their typed rows: rows that do
/// not decode (and why), and what the indexes find.
fn view(c: &VtepCache) -> (Vec<String>, Vec<String>) {
    let errors = c.decode_errors().map(|e| e.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut found = Vec::new();
    for s in ["", "a", "b", "flood", "source_node"] {
        found.push(format!("ls {s:?}: {:?}", c.logical_switch_by_name(s).map(|l| l.uuid)));
        found.push(format!("ps {s:?}: {:?}", c.physical_switch_by_name(s).map(|l| l.uuid)));
    }
    for k in [0, 1, 7, 100, 4095, 5000] {
        found.push(format!("vni {k}: {:?}", c.logical_switches_with_key(k).map(|l| l.uuid).collect::<Vec<_>>()));
    }
    for n in 0..6 {
        let ls = Uuid::from_u128(n);
        found.push(format!("ucast {n}: {:?}", c.ucast_remote_of(ls).map(|m| m.uuid).collect::<Vec<_>>()));
        found.push(format!("mcast {n}: {:?}", c.mcast_remote_of(ls).map(|m| m.uuid).collect::<Vec<_>>()));
        found.push(format!("mac {n}: {:?}", c.ucast_remote_by_mac(ls, "aa:BB:00:00:00:01").map(|m| m.uuid).collect::<Vec<_>>()));
        found.push(format!("bindings {n}: {:?}", c.bindings_of_logical_switch(ls).collect::<Vec<_>>()));
    }
    for s in c.tables().locator_sets.values() {
        found.push(format!("set {:?}: {:?}", s.locators, c.locator_set_with(&s.locators).map(|s| s.uuid)));
    }
    for t in Table::ALL {
        found.push(format!("{t}: {}", c.len(t)));
    }
    (errors, found)
}

fn fresh(schema: &DatabaseSchema, db: &Db) -> VtepCache {
    let mut c = VtepCache::new(schema.clone());
    match c.apply(&initial_updates(db)) {
        Ok(()) | Err(CacheError::Decode(_)) => c,
        Err(e) => panic!("{e}"),
    }
}

fn run(seed: u64, batches: usize) {
    let schema = installed_schema().expect("schema");
    let mut g = Gen(seed);
    let mut db = Db::new();
    let mut c = VtepCache::new(schema.clone());
    for i in 0..batches {
        let u = batch(&mut g, &schema, &mut db);
        match c.apply(&u) {
            Ok(()) | Err(CacheError::Decode(_)) => {}
            Err(e) => panic!("batch {i}: {e}\n{u:?}"),
        }
        let f = fresh(&schema, &db);
        assert_eq!(c.tables(), f.tables(), "batch {i}: typed rows differ after {u:?}");
        assert_eq!(view(&c), view(&f), "batch {i}: errors or index lookups differ after {u:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn monitor_fed_cache_equals_a_fresh_decode(seed in any::<u64>(), batches in 1..60usize) {
        run(seed, batches);
    }
}
