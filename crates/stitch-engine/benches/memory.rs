//! `cargo bench -p stitch-engine --bench memory -- [--switches S] [--ports N]`
//!
//! Where the controller's memory goes at fabric scale (issue 8), by
//! structure: the workload (see `common`) is bound through the
//! real engine, every endpoint is compiled, its plan is run against an
//! in-process `hardware_vtep` database (`ovsdb::server::Database`) holding
//! what the switch owns, and the rows that database then holds are fed to
//! a fresh [`VtepCache`] as the initial contents of a monitor
//! (`update3` initial rows, as the reconciler gets them). A counting
//! global allocator reports, for each structure, the bytes it keeps live:
//! requested, and about what glibc carves for them (16 bytes of header
//! and rounding per block).
//!
//! The structures are the ones the controller keeps for its whole life:
//! the snapshot, one desired state per endpoint (the reconciler's memo)
//! and one observed-row cache per endpoint (split into its parts by
//! measuring a clone of the typed rows). What the process keeps besides (store,
//! HTTP, tokio, fragmentation) is the controller's RSS minus these.

use std::alloc::System;
use std::collections::BTreeMap;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use stitch_engine::compile::{Learned, compile_endpoint, endpoints};
use stitch_vtep::{DesiredVtep, Owner, Table, VtepCache};

mod common;
use common::*;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Clone, Copy, Default)]
struct Live {
    requested: i64,
    chunks: i64,
    blocks: i64,
}

/// Live bytes now; `chunks` estimates what malloc carves for them (16
/// bytes of header and rounding per block on average, glibc on x86-64).
fn live() -> Live {
    let s = GLOBAL.stats();
    // `realloc` is already counted in both byte totals (growth as
    // allocated, shrinking as deallocated); `bytes_reallocated` repeats it.
    let requested = s.bytes_allocated as i64 - s.bytes_deallocated as i64;
    let blocks = s.allocations as i64 - s.deallocations as i64;
    Live { requested, chunks: requested + 16 * blocks, blocks }
}

impl std::ops::Sub for Live {
    type Output = Live;
    fn sub(self, o: Live) -> Live {
        Live { requested: self.requested - o.requested, chunks: self.chunks - o.chunks, blocks: self.blocks - o.blocks }
    }
}

impl std::ops::AddAssign for Live {
    fn add_assign(&mut self, o: Live) {
        self.requested += o.requested;
        self.chunks += o.chunks;
        self.blocks += o.blocks;
    }
}

/// What keeping `f`'s result costs.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Live) {
    let before = live();
    let t = f();
    (t, live() - before)
}

fn row(name: &str, per: &str, l: Live, rows: usize) {
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    let per_row = if rows > 0 { format!("{:.0}", l.chunks as f64 / rows as f64) } else { "".into() };
    println!("| {name} | {per} | {:.1} | {:.1} | {} | {per_row} |", mib(l.requested), mib(l.chunks), l.blocks);
}

fn main() {
    let switches: usize = flag("--switches", "N").unwrap_or(100);
    let n: usize = flag("--ports", "N").unwrap_or(100_000);
    println!("memory by structure: {switches} switches, {n} ports (networks of 10 over 3 leaves)");
    println!();
    println!("| structure | count | requested MiB | malloc MiB | blocks | malloc bytes per row |");
    println!("|---|---|---|---|---|---|");

    let nets = (0..n.div_ceil(10)).map(network).collect::<Vec<_>>();
    let (s, snap) = measure(|| add_networks(inventory(switches), &nets));
    let (s, ports) = measure(|| bind_ports(s, &workload_ports(&nets, n, switches)));
    row("snapshot: inventory and networks", &format!("{} networks", nets.len()), snap, 0);
    row("snapshot: + bound ports (rows, VPGs, allocations, indexes)", &format!("{n} ports"), ports, 0);
    let (copy, rows_only) = measure(|| s.ports.iter().cloned().collect::<Vec<_>>());
    row("  of which the port objects themselves (a plain copy)", &format!("{} ports", copy.len()), rows_only, 0);
    drop(copy);
    let mut snap = snap;
    snap += ports;

    let owner = Owner::new("stitch").expect("owner");
    let learned = Learned::new();
    let eps = endpoints(&s);
    let mut desired_total = Live::default();
    let mut desired = BTreeMap::new();
    for k in eps.keys() {
        let (d, l) = measure(|| std::sync::Arc::new(compile_endpoint(&s, &learned, &owner, k)));
        desired_total += l;
        desired.insert(k.clone(), d);
    }
    row("desired states (reconciler memo)", &format!("{} endpoints", eps.len()), desired_total, 0);
    // Each part of the desired states, measured as a copy of it.
    let parts: [(&str, &dyn Fn(&DesiredVtep) -> Box<dyn std::any::Any>); 4] = [
        ("  logical switches", &|d| Box::new(d.logical_switches.clone())),
        ("  VLAN bindings (both sides)", &|d| Box::new(d.port_bindings.clone())),
        ("  remote MACs", &|d| Box::new(d.ucast_remote.clone())),
        ("  flood lists", &|d| Box::new(d.mcast_remote.clone())),
    ];
    for (name, part) in parts {
        let (copies, l) = measure(|| desired.values().map(|d| part(d)).collect::<Vec<_>>());
        row(name, "", l, 0);
        drop(copies);
    }

    let (mut all, mut typed) = (Live::default(), Live::default());
    let mut rows = 0;
    let (mut ucast, mut ls, mut flood) = (Live::default(), Live::default(), Live::default());
    let mut caches: Vec<VtepCache> = Vec::new();
    for (k, ids) in &eps {
        let switch = &s.switches.get(&ids[0]).expect("switch").spec.name;
        let updates = observed(&s, k, switch, &desired[k]);
        let (c, l) = measure(|| {
            let mut c = VtepCache::with_installed_schema();
            c.apply(&updates).expect("rows decode");
            c
        });
        drop(updates);
        all += l;
        typed += measure(|| c.tables().clone()).1;
        ucast += measure(|| c.tables().ucast_remote.clone()).1;
        ls += measure(|| c.tables().logical_switches.clone()).1;
        flood += measure(|| (c.tables().locators.clone(), c.tables().locator_sets.clone(), c.tables().mcast_remote.clone())).1;
        rows += Table::ALL.iter().map(|t| c.len(*t)).sum::<usize>();
        caches.push(c);
    }
    row("observed caches, total", &format!("{rows} rows"), all, rows);
    row("  typed rows (Tables)", "", typed, rows);
    row("    of which Ucast_Macs_Remote rows", "", ucast, 0);
    row("    of which Logical_Switch rows", "", ls, 0);
    row("    of which locators, locator sets, Mcast_Macs_Remote rows", "", flood, 0);
    row("  indexes and the rest", "", all - typed, rows);
    println!();
    let total = snap.chunks + desired_total.chunks + all.chunks;
    println!("total kept: {:.1} MiB (malloc); peak RSS of this process: {} MiB", total as f64 / (1024.0 * 1024.0), peak_rss_mib());
    drop(caches);
    drop(desired);
    drop(eps);
    let before = live();
    drop(s);
    let l = before - live();
    println!("cross-check: dropping the snapshot freed {:.1} MiB (malloc)", l.chunks as f64 / (1024.0 * 1024.0));
}
