//! `cargo bench -p stitch-engine --bench scale -- [--switches S] [--ports N,N,...] [--changes K]`
//!
//! Fabric-scale simulation of the engine alone (no store, no wire): S
//! switches (one OVSDB endpoint each, an SR-IOV server cabled to each), N
//! ports in networks of 10 spread over 3 leaves (issue 8's 100k workload),
//! bound through the real binding engine in bulk requests of 500. For each
//! N it reports:
//! - bind: engine time to bind the N ports (what the API does under the
//!   catalog's writer lock, minus JSON and fsync);
//! - cold compile+plan: compiling every endpoint and planning it against a
//!   database holding only its Physical_Switch/Physical_Port (a switch seen
//!   for the first time): time and operations;
//! - resync of one endpoint (what the periodic resync does): compile from
//!   scratch and plan against the endpoint's converged database, which
//!   must plan nothing (median over up to ten endpoints, and the planning
//!   part of it);
//! - per change (one more port in an existing network, K times): what
//!   every endpoint compiling from scratch would cost in total, what every
//!   endpoint does instead (what each reconciler does: take its inputs,
//!   list the networks written since, patch its desired state — checked
//!   equal to the fresh compile), how many endpoints' desired state
//!   actually changed, the median per-endpoint compile;
//! - peak RSS of this process (the snapshot plus one desired state per
//!   endpoint, as the reconcilers keep them, and one endpoint's database
//!   at a time for the resync figure).
//!
//! Asserts nothing about speed.

use std::collections::BTreeMap;
use std::time::Instant;

use stitch_engine::bind;
use stitch_engine::compile::{Learned, compile_endpoint, endpoints, patch_endpoint};
use stitch_engine::fingerprint::{EndpointInputs, endpoint_inputs};
use stitch_model::inventory::*;
use stitch_vtep::{DesiredVtep, Owner, VtepCache, plan};

mod common;
use common::*;

fn main() {
    let switches: usize = flag("--switches", "N").unwrap_or(1000);
    let sizes: Vec<usize> = flag::<String>("--ports", "N,N")
        .map(|v| v.split(',').map(|s| s.parse().expect("--ports N,N")).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let changes: usize = flag("--changes", "K").unwrap_or(20);
    let owner = Owner::new("stitch").unwrap();
    let learned = Learned::new();
    println!("engine scale simulation: {switches} switches (one endpoint each), networks of 10 ports over 3 leaves, {changes} changes per size");
    println!();
    println!(
        "| ports | bind (engine) | bindings/s | cold compile+plan, all endpoints | ops | resync of one endpoint (median) | per change: compile all endpoints | per change: inputs + patch, all endpoints | endpoints changed | per-endpoint compile (median) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let mut s = inventory(switches);
        let nets: Vec<Object<NetworkSpec>> = (0..n.div_ceil(10)).map(network).collect();
        s = add_networks(s, &nets);
        // Bind in bulk requests of 500, each validated on a private copy
        // as the Neutron handler does, then committed as one.
        let t = Instant::now();
        s = bind_ports(s, &workload_ports(&nets, n, switches));
        let bind_s = t.elapsed().as_secs_f64();
        assert_eq!(s.bound_port_count(), n, "every port bound");

        // Cold start: every endpoint compiled and planned against a
        // database that holds only what the switch owns.
        let eps = endpoints(&s);
        let dbs: BTreeMap<String, VtepCache> = eps.iter().map(|(k, ids)| (k.clone(), switch_db(s.switches.get(&ids[0]).unwrap()))).collect();
        let t = Instant::now();
        let mut ops = 0;
        let mut desired: BTreeMap<String, DesiredVtep> = BTreeMap::new();
        for k in eps.keys() {
            let d = compile_endpoint(&s, &learned, &owner, k);
            let p = plan(&d, &dbs[k]);
            assert!(p.problems.is_empty(), "{:?}", p.problems);
            ops += p.ops.len();
            desired.insert(k.clone(), d);
        }
        let cold_s = t.elapsed().as_secs_f64();

        // The periodic resync of one endpoint: compile from scratch and
        // plan against its converged database (nothing to send), on up to
        // ten endpoints, each database built and dropped in turn (so the
        // peak RSS below is still the snapshot and the desired states).
        let (mut resync, mut resync_plan) = (Vec::new(), Vec::new());
        for (k, ids) in eps.iter().take(10) {
            let sw = s.switches.get(&ids[0]).expect("switch");
            let mut db = VtepCache::with_installed_schema();
            db.apply(&observed(&s, k, &sw.spec.name, &desired[k])).expect("rows decode");
            let t = Instant::now();
            let d = compile_endpoint(&s, &learned, &owner, k);
            let tp = Instant::now();
            let p = plan(&d, &db);
            resync_plan.push(tp.elapsed().as_secs_f64());
            resync.push(t.elapsed().as_secs_f64());
            assert!(
                p.ops.is_empty() && p.problems.is_empty(),
                "{k}: a converged database plans nothing: {} ops, first {:?}, problems {:?}",
                p.ops.len(),
                p.ops.first().map(|o| o.to_json()),
                p.problems
            );
        }
        let mut inputs: BTreeMap<String, EndpointInputs> = eps.keys().map(|k| (k.clone(), endpoint_inputs(&s, k, 0).expect("known kinds"))).collect();

        // Changes: one more port in an existing network; every endpoint
        // compiles from scratch (the baseline) and patches (what the
        // reconcilers do).
        let mut all_compile = Vec::new();
        let mut all_patch = Vec::new();
        let mut per_ep = Vec::new();
        let mut changed_total = 0;
        for c in 0..changes {
            let k = (c * 7919) % nets.len();
            let leaf = leaf_of(k, c % 10, switches);
            let ch = bind::put_port(&s, port(nets[k].id, n + c, leaf)).unwrap();
            s = commit(&s, ch);
            let (mut compile_s, mut patch_s) = (0.0, 0.0);
            for (key, old) in desired.iter_mut() {
                let te = Instant::now();
                let d = compile_endpoint(&s, &learned, &owner, key);
                let dt = te.elapsed().as_secs_f64();
                per_ep.push(dt);
                compile_s += dt;
                if d != *old {
                    changed_total += 1;
                }
                // What the reconciler does instead.
                let tp = Instant::now();
                let was = inputs.get_mut(key).expect("every endpoint");
                let now = endpoint_inputs(&s, key, 0).expect("known kinds");
                let written = was.changed_networks(&now, &s, old).expect("only networks moved");
                patch_endpoint(&s, &learned, key, old, &written).expect("nothing to refuse here");
                *was = now;
                patch_s += tp.elapsed().as_secs_f64();
                assert!(*old == d, "patched and compiled differ at {key}");
            }
            all_patch.push(patch_s);
            all_compile.push(compile_s);
        }
        all_compile.sort_by(f64::total_cmp);
        all_patch.sort_by(f64::total_cmp);
        per_ep.sort_by(f64::total_cmp);
        resync.sort_by(f64::total_cmp);
        resync_plan.sort_by(f64::total_cmp);
        let med = |v: &[f64]| v[v.len() / 2];
        println!(
            "| {n} | {:.2} s | {:.0} | {:.2} s | {ops} | {:.1} ms ({:.1} ms planning) | {:.1} ms | {:.1} ms | {:.1} of {} | {:.1} µs | {} MiB |",
            bind_s,
            n as f64 / bind_s,
            cold_s,
            med(&resync) * 1e3,
            med(&resync_plan) * 1e3,
            med(&all_compile) * 1e3,
            med(&all_patch) * 1e3,
            changed_total as f64 / changes as f64,
            eps.len(),
            med(&per_ep) * 1e6,
            peak_rss_mib()
        );
    }
}
