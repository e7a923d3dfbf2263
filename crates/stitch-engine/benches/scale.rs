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
//! - per change (one more port in an existing network, K times): what
//!   every endpoint compiling from scratch would cost in total, what every
//!   endpoint does instead (what each reconciler does: take its inputs,
//!   list the networks written since, patch its desired state — checked
//!   equal to the fresh compile), how many endpoints' desired state
//!   actually changed, the median per-endpoint compile;
//! - peak RSS of this process (the snapshot plus one desired state per
//!   endpoint, as the reconcilers keep them).
//! Asserts nothing about speed.

use std::collections::BTreeMap;
use std::time::Instant;

use ovsdb::notation::{Row, Value};
use stitch_engine::bind;
use stitch_engine::compile::{Learned, compile_endpoint, endpoints, patch_endpoint};
use stitch_engine::fingerprint::{EndpointInputs, endpoint_inputs};
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::snapshot::{Change, SystemContext};
use stitch_vtep::{DesiredVtep, Owner, VtepCache, initial_updates, plan};
use time::OffsetDateTime;
use uuid::Uuid;

fn obj<S>(spec: S) -> Object<S> {
    Object { id: Uuid::new_v4(), created_at: OffsetDateTime::UNIX_EPOCH, updated_at: OffsetDateTime::UNIX_EPOCH, spec }
}

fn put<S: Spec>(o: Object<S>) -> Change {
    Change::Put(S::wrap(o))
}

fn commit(s: &Snapshot, c: Vec<Change>) -> Snapshot {
    s.apply(c, &mut SystemContext).expect("valid").0
}

fn inventory(switches: usize) -> Snapshot {
    let fabric = obj(FabricSpec {
        name: "dc1".into(),
        vni_range: serde_json::from_str("[10000, 16000000]").unwrap(),
        vlan_range: serde_json::from_str("[2, 4094]").unwrap(),
        vlan_mode: VlanMode::PerSwitch,
    });
    let hw = obj(HardwareSpec { name: "hw".into(), model: None });
    let card =
        obj(CardSpec { name: "c".into(), hardware_ids: vec![hw.id], interface_map: vec![Interface { name: "ens1f0".into(), labels: vec!["sriov".into()] }] });
    let profile = obj(NodeProfileSpec { name: "p".into(), hardware_ids: vec![hw.id] });
    let mut changes = vec![put(fabric.clone()), put(hw), put(card), put(profile.clone())];
    for i in 0..switches {
        let sw = obj(SwitchSpec {
            name: format!("leaf{i}"),
            fabric_id: fabric.id,
            ovsdb: format!("unix:/tmp/sim/leaf{i}.sock").parse().unwrap(),
            tunnel_ip: format!("10.{}.{}.1", (i >> 8) + 1, i & 255).parse().unwrap(),
            management_ip: None,
            vlan_range: None,
            role: SwitchRole::Leaf,
            chassis_mac: None,
        });
        let node = obj(NodeSpec {
            name: format!("host{i}"),
            node_profile_id: Some(profile.id),
            node_type: NodeType::Compute,
            aliases: vec![],
            ports: vec![NodePort { name: "ens1f0".into(), mac: None, switch_id: sw.id, switch_port: "p1".into() }],
        });
        changes.push(put(sw));
        changes.push(put(node));
    }
    commit(&Snapshot::default(), changes)
}

fn network(i: usize) -> Object<NetworkSpec> {
    obj(NetworkSpec::vxlan(format!("n{i}")))
}

fn port(net: Uuid, n: usize, host: usize) -> Object<PortSpec> {
    let mac = stitch_model::MacAddr([0xfa, 0x16, 0x3e, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    obj(PortSpec { host_id: format!("host{host}"), vnic_type: VnicType::Direct, ..PortSpec::new(net, mac) })
}

/// The leaf of port `j` (0..10) of network `k`: 4 + 3 + 3 ports on 3 leaves.
fn leaf_of(k: usize, j: usize, switches: usize) -> usize {
    (3 * k + [0, 0, 0, 0, 1, 1, 1, 2, 2, 2][j]) % switches
}

/// A database holding what the switch itself owns: its Physical_Switch
/// with its tunnel IP and its port p1.
fn switch_db(sw: &Object<SwitchSpec>) -> VtepCache {
    let mut tables: BTreeMap<String, BTreeMap<Uuid, Row>> = BTreeMap::new();
    let pp = Uuid::new_v4();
    tables.entry("Physical_Port".into()).or_default().insert(pp, Row::new().with("name", "p1"));
    tables.entry("Physical_Switch".into()).or_default().insert(
        Uuid::new_v4(),
        Row::new().with("name", sw.spec.name.as_str()).with("tunnel_ips", sw.spec.tunnel_ip.to_string().as_str()).with("ports", Value::uuid(pp)),
    );
    let mut c = VtepCache::with_installed_schema();
    c.apply(&initial_updates(&tables)).expect("switch rows decode");
    c
}

fn peak_rss_mib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) / 1024
}

fn main() {
    let mut switches = 1000;
    let mut sizes: Vec<usize> = vec![1_000, 10_000, 100_000];
    let mut changes = 20;
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        match v[i].as_str() {
            "--switches" => {
                switches = v[i + 1].parse().expect("--switches N");
                i += 1;
            }
            "--ports" => {
                sizes = v[i + 1].split(',').map(|s| s.parse().expect("--ports N,N")).collect();
                i += 1;
            }
            "--changes" => {
                changes = v[i + 1].parse().expect("--changes K");
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    let owner = Owner::new("stitch").unwrap();
    let learned = Learned::new();
    println!("engine scale simulation: {switches} switches (one endpoint each), networks of 10 ports over 3 leaves, {changes} changes per size");
    println!();
    println!(
        "| ports | bind (engine) | bindings/s | cold compile+plan, all endpoints | ops | per change: compile all endpoints | per change: inputs + patch, all endpoints | endpoints changed | per-endpoint compile (median) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let mut s = inventory(switches);
        let nets: Vec<Object<NetworkSpec>> = (0..n.div_ceil(10)).map(network).collect();
        for chunk in nets.chunks(500) {
            let mut cs = Vec::new();
            let mut cur = s.clone();
            for net in chunk {
                let c = bind::put_network(&cur, net.clone(), None).unwrap();
                cur = commit(&cur, c.clone());
                cs.extend(c);
            }
            s = commit(&s, cs);
        }
        // Bind in bulk requests of 500, each validated on a private copy
        // as the Neutron handler does, then committed as one.
        let t = Instant::now();
        let all: Vec<(Uuid, usize, usize)> = (0..n).map(|p| (nets[p / 10].id, p, leaf_of(p / 10, p % 10, switches))).collect();
        for chunk in all.chunks(500) {
            let mut cur = s.clone();
            let mut cs = Vec::new();
            for (net, p, leaf) in chunk {
                let c = bind::put_port(&cur, port(*net, *p, *leaf)).unwrap();
                cur = commit(&cur, c.clone());
                cs.extend(c);
            }
            s = commit(&s, cs);
        }
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
        let med = |v: &[f64]| v[v.len() / 2];
        println!(
            "| {n} | {:.2} s | {:.0} | {:.2} s | {ops} | {:.1} ms | {:.1} ms | {:.1} of {} | {:.1} µs | {} MiB |",
            bind_s,
            n as f64 / bind_s,
            cold_s,
            med(&all_compile) * 1e3,
            med(&all_patch) * 1e3,
            changed_total as f64 / changes as f64,
            eps.len(),
            med(&per_ep) * 1e6,
            peak_rss_mib()
        );
    }
}
