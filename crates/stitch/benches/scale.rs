//! `cargo bench -p stitch --bench scale -- --switches K --ports N1,N2,... [--incremental J] [--cold-start] [--real-ports M --real-switches R]`
//!
//! Fabric-scale runs of the real `stitch` binary (issue 8): K switches,
//! each an in-process OVSDB server (`ovsdb::server`, the real protocol over
//! TCP on 127.0.0.1) holding one `Physical_Switch` with its tunnel IP and
//! port `p1`, cabled to one SR-IOV server. For each N: the workload
//! through the Neutron API (networks of 10 ports spread over 3 leaves —
//! 4, 3 and 3 — bulk requests of 500), timed until every leaf holds every
//! expected row (read back from the servers); the controller's peak RSS;
//! the CPU per binding of the controller and of this process during bulk
//! (with in-process servers, this process is the switches: on a small
//! machine they can be what bounds the rate); the controller's CPU over
//! ten idle seconds (its periodic resyncs); then J more bindings, one at a time (a port of an existing network on a
//! leaf the network did not reach yet: a new logical switch, VLAN binding,
//! 10 remote MACs and a flood list there, one more remote MAC on each of
//! the network's 3 other leaves), with latency, controller CPU per binding
//! and how many switches got a writing transaction. `--cold-start` then
//! stops the controller (SIGTERM), restarts it on the same data dir, times
//! it until every switch reports `in_sync` in `GET /v1/status`, and counts
//! what the servers were sent after the restart (write operations, and
//! rows whose `_version` moved): 0 when nothing drifted.
//!
//! `--real-ports M --real-switches R` first runs the same workload with M
//! ports on R real ovsdb-servers and then on R in-process servers, and
//! prints the ratios (what the lightweight server changes). Prints
//! figures; asserts nothing about speed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ovsdb::server::{Database, Server, ServerConfig, Stats};
use ovsdb::{Client, ClientConfig, Condition, Operation, Row, Uuid, Value};
use serde_json::{Value as Json, json};

mod common;
use stitch_testkit::VtepServer;

const BIN: &str = env!("CARGO_BIN_EXE_stitch");
const DB: &str = "hardware_vtep";
const SCHEMA: &str = "/usr/share/openvswitch/vtep.ovsschema";
const TABLES: [&str; 6] = ["Logical_Switch", "Physical_Port", "Ucast_Macs_Remote", "Mcast_Macs_Remote", "Physical_Locator", "Physical_Locator_Set"];

struct Args {
    switches: usize,
    ports: Vec<usize>,
    incremental: usize,
    cold_start: bool,
    real_ports: usize,
    real_switches: usize,
}

fn args() -> Args {
    let mut a = Args { switches: 100, ports: vec![1000], incremental: 20, cold_start: false, real_ports: 0, real_switches: 10 };
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        let num = |j: usize| v.get(j).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", v[i]));
        match v[i].as_str() {
            "--switches" => a.switches = num(i + 1),
            "--ports" => a.ports = v.get(i + 1).map(|s| s.split(',').map(|n| n.parse().expect("--ports N1,N2,...")).collect()).expect("--ports N1,N2,..."),
            "--incremental" => a.incremental = num(i + 1),
            "--real-ports" => a.real_ports = num(i + 1),
            "--real-switches" => a.real_switches = num(i + 1),
            "--cold-start" => {
                a.cold_start = true;
                i -= 1;
            }
            _ => i -= 1, // cargo bench passes --bench
        }
        i += 2;
    }
    a
}

/// The leaves: in-process servers, or real ovsdb-servers (with a client
/// each, to read them back).
enum Leaves {
    InProc(Vec<Server>),
    Real(Vec<VtepServer>, Vec<Client>),
}

fn tunnel_ip(i: usize) -> String {
    format!("10.{}.{}.{}", i / 62500, i / 250 % 250, i % 250 + 1)
}

impl Leaves {
    async fn in_process(k: usize) -> Leaves {
        let schema: Json = serde_json::from_str(&std::fs::read_to_string(SCHEMA).expect("vtep schema (openvswitch-vtep installed?)")).unwrap();
        let mut v = Vec::with_capacity(k);
        for i in 0..k {
            let s = Server::start("127.0.0.1:0", vec![Database::new(schema.clone()).unwrap()], ServerConfig::default()).await.unwrap();
            let r = s
                .transact(
                    DB,
                    &[
                        Operation::insert_named("Physical_Port", Row::new().with("name", "p1"), "p1"),
                        Operation::insert_named(
                            "Physical_Switch",
                            Row::new()
                                .with("name", format!("leaf{}", i + 1))
                                .with("tunnel_ips", Value::set([tunnel_ip(i)]))
                                .with("ports", Value::named_uuid("p1")),
                            "ps",
                        ),
                        Operation::insert("Global", Row::new().with("switches", Value::named_uuid("ps"))),
                    ],
                )
                .unwrap();
            assert!(r.iter().all(|x| x.get("error").is_none()), "{r:?}");
            v.push(s);
        }
        Leaves::InProc(v)
    }

    async fn real(k: usize) -> Leaves {
        let servers: Vec<VtepServer> = (0..k).map(|i| VtepServer::start(&format!("leaf{}", i + 1), &tunnel_ip(i), &["p1"])).collect();
        let mut clients = Vec::with_capacity(k);
        for s in &servers {
            let (c, _events) = Client::connect(s.target().parse().unwrap(), ClientConfig::default()).unwrap();
            c.wait_connected().await.unwrap();
            clients.push(c);
        }
        Leaves::Real(servers, clients)
    }

    fn len(&self) -> usize {
        match self {
            Leaves::InProc(v) => v.len(),
            Leaves::Real(v, _) => v.len(),
        }
    }

    fn target(&self, i: usize) -> String {
        match self {
            Leaves::InProc(v) => v[i].target(),
            Leaves::Real(v, _) => v[i].target(),
        }
    }

    /// (logical switches, VLAN bindings on p1, remote MACs, flood lists).
    async fn counts(&self, i: usize) -> [usize; 4] {
        match self {
            Leaves::InProc(v) => v[i]
                .read(DB, |d| {
                    let b =
                        d.table("Physical_Port").find(|(_, r)| r.get_str("name") == Some("p1")).and_then(|(_, r)| r.get("vlan_bindings")).map_or(0, Value::len);
                    [d.len("Logical_Switch"), b, d.len("Ucast_Macs_Remote"), d.len("Mcast_Macs_Remote")]
                })
                .unwrap_or_default(),
            Leaves::Real(_, c) => {
                let ops = [
                    Operation::select_columns("Logical_Switch", vec![], ["_uuid"]),
                    Operation::select_columns("Physical_Port", vec![Condition::eq("name", "p1")], ["vlan_bindings"]),
                    Operation::select_columns("Ucast_Macs_Remote", vec![], ["_uuid"]),
                    Operation::select_columns("Mcast_Macs_Remote", vec![], ["_uuid"]),
                ];
                let r = c[i].transact(DB, &ops).await.unwrap().into_result().unwrap();
                let n = |k: usize| r[k].rows().map_or(0, <[Row]>::len);
                let b = r[1].rows().and_then(|rows| rows.first()).and_then(|row| row.get("vlan_bindings")).map_or(0, Value::len);
                [n(0), b, n(2), n(3)]
            }
        }
    }

    /// Every row's (uuid → _version) in the tables Stitch writes.
    async fn versions(&self, i: usize) -> BTreeMap<Uuid, Uuid> {
        match self {
            Leaves::InProc(v) => v[i]
                .read(DB, |d| {
                    TABLES.iter().flat_map(|t| d.table(t).map(|(u, r)| (*u, r.get("_version").and_then(Value::as_uuid).unwrap_or_default()))).collect()
                })
                .unwrap_or_default(),
            Leaves::Real(_, c) => {
                let ops: Vec<Operation> = TABLES.iter().map(|t| Operation::select_columns(*t, vec![], ["_uuid", "_version"])).collect();
                let r = c[i].transact(DB, &ops).await.unwrap().into_result().unwrap();
                r.iter()
                    .flat_map(|x| x.rows().unwrap_or_default().iter().map(|row| (row.uuid().unwrap(), row.get("_version").and_then(Value::as_uuid).unwrap())))
                    .collect()
            }
        }
    }

    fn stats(&self) -> Option<Vec<Stats>> {
        match self {
            Leaves::InProc(v) => Some(v.iter().map(Server::stats).collect()),
            Leaves::Real(..) => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Leaves::InProc(_) => "in-process servers",
            Leaves::Real(..) => "real ovsdb-servers",
        }
    }
}

struct Stitch {
    child: Child,
    url: String,
}

impl Drop for Stitch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_stitch(dir: &Path) -> Stitch {
    use std::io::BufRead;
    std::fs::write(dir.join("s.toml"), "[engine]\nresync_interval_secs = 30\n").unwrap();
    let bin = std::env::var("STITCH_BIN").unwrap_or_else(|_| BIN.to_string());
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("s.toml"))
        .stdout(Stdio::piped())
        .stderr(
            std::env::var("STITCH_BENCH_LOG")
                .ok()
                .and_then(|p| std::fs::File::options().append(true).create(true).open(p).ok())
                .map_or_else(Stdio::null, Stdio::from),
        )
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("stitch: listening on ").expect("address line").to_string();
    Stitch { child, url }
}

impl Stitch {
    /// SIGTERM (by PID) and wait for a clean exit.
    fn terminate(mut self) {
        let st = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(st.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "controller exited with {status}");
    }
}

/// (user+system CPU seconds, peak RSS KiB, RSS KiB, anonymous RSS KiB).
fn proc_figures(pid: u32) -> (f64, u64, u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0) + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (ticks / 100.0, kib("VmHWM:"), kib("VmRSS:"), kib("RssAnon:"))
}

async fn post(http: &reqwest::Client, url: &str, path: &str, body: Json) -> Json {
    let r = http.post(format!("{url}{path}")).json(&body).send().await.unwrap();
    let st = r.status();
    let v: Json = r.json().await.unwrap();
    assert!(st.is_success(), "{path}: {st} {v}");
    v
}

/// The leaves of network `i` and how many of its 10 ports each gets.
fn placement(i: usize, k: usize) -> [(usize, usize); 3] {
    [((3 * i) % k, 4), ((3 * i + 1) % k, 3), ((3 * i + 2) % k, 3)]
}

fn add_network(expect: &mut [[usize; 4]], leaf: usize, local: usize, total: usize) {
    let e = &mut expect[leaf];
    e[0] += 1;
    e[1] += 1;
    e[2] += total - local;
    e[3] += 1;
}

async fn wait_rows(leaves: &Leaves, expect: &[[usize; 4]], only: Option<&[usize]>, since: Instant, what: &str) {
    let all: Vec<usize> = (0..leaves.len()).collect();
    let which = only.unwrap_or(&all);
    let mut pending: Vec<usize> = which.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for &i in &pending {
            if leaves.counts(i).await != expect[i] {
                still.push(i);
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if since.elapsed() > Duration::from_secs(3600) {
            let i = pending[0];
            panic!("{what}: leaf{} holds {:?}, expected {:?} ({} leaves pending)", i + 1, leaves.counts(i).await, expect[i], pending.len());
        }
        tokio::time::sleep(Duration::from_millis(if only.is_some() { 1 } else { 20 })).await;
    }
}

/// What a server was sent that changes data (echo probes and reads keep
/// moving the other counters, every few seconds on each of a thousand
/// connections).
fn writes(stats: &[Stats]) -> Vec<(u64, u64, u64)> {
    stats.iter().map(|s| (s.write_ops, s.writing_transactions, s.rows_changed)).collect()
}

/// Waits until no server was written to for `quiet`.
async fn settle(leaves: &Leaves, quiet: Duration) -> Option<Vec<Stats>> {
    let mut last = leaves.stats()?;
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = leaves.stats()?;
        if writes(&now) == writes(&last) && since.elapsed() >= quiet {
            return Some(now);
        }
        if writes(&now) != writes(&last) {
            since = Instant::now();
        }
        last = now;
    }
}

fn sum(a: &[Stats], b: &[Stats], f: fn(&Stats) -> u64) -> u64 {
    a.iter().zip(b).map(|(x, y)| f(y) - f(x)).sum()
}

#[derive(Default, Debug)]
struct Figures {
    bulk_secs: f64,
    api_secs: f64,
    /// Controller CPU per binding during bulk, and this process's (the
    /// simulated switches').
    bulk_cpu_ms: f64,
    sim_cpu_ms: f64,
    /// Controller CPU with nothing changing, % of one core.
    idle_pct: f64,
    rss_mib_bulk: u64,
    median_ms: f64,
    p99_ms: f64,
    cpu_ms: f64,
    /// `cpu_ms` less the idle rate over the window.
    cpu_net_ms: f64,
    switches_written: f64,
    write_ops: f64,
    rss_mib_peak: u64,
    cold: Option<Cold>,
}

#[derive(Default, Debug)]
struct Cold {
    converge_secs: f64,
    write_ops: Option<u64>,
    versions_moved: usize,
    rows: usize,
    rss_mib: u64,
}

async fn run(leaves: Leaves, n: usize, incremental: usize, cold_start: bool) -> Figures {
    let k = leaves.len();
    assert!(k >= 4 && n % 10 == 0, "need at least 4 switches and N a multiple of 10");
    let dir = tempfile::tempdir().unwrap();
    let s = start_stitch(dir.path());
    let http = reqwest::Client::new();
    let switches: Vec<Json> =
        (0..k).map(|i| json!({"name": format!("leaf{}", i + 1), "fabric": "dc1", "ovsdb": leaves.target(i), "tunnel_ip": tunnel_ip(i)})).collect();
    let nodes: Vec<Json> =
        (0..k).map(|i| json!({"name": format!("host-leaf{}", i + 1), "node_profile": "p", "ports": [{"name": "ens1f0", "switch": format!("leaf{}", i + 1), "switch_port": "p1"}]})).collect();
    post(&http, &s.url, "/v1/apply", common::inventory(switches, nodes)).await;

    // Bulk.
    let nets = n / 10;
    let mut expect = vec![[0usize; 4]; k];
    let t0 = Instant::now();
    let (bulk_cpu0, ..) = proc_figures(s.child.id());
    let sim_cpu0 = proc_figures(std::process::id()).0;
    let mut net_ids = Vec::with_capacity(nets);
    for chunk in (0..nets).collect::<Vec<_>>().chunks(500) {
        let v = post(&http, &s.url, "/v2.0/networks", json!({"networks": chunk.iter().map(|i| json!({"name": format!("n{i}")})).collect::<Vec<_>>()})).await;
        net_ids.extend(v["networks"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()));
    }
    let mut ports = Vec::with_capacity(n);
    for (i, net) in net_ids.iter().enumerate() {
        for (leaf, count) in placement(i, k) {
            add_network(&mut expect, leaf, count, 10);
            for _ in 0..count {
                ports.push(json!({"network_id": net, "binding:host_id": format!("host-leaf{}", leaf + 1), "binding:vnic_type": "direct"}));
            }
        }
    }
    for chunk in ports.chunks(500) {
        post(&http, &s.url, "/v2.0/ports", json!({"ports": chunk})).await;
    }
    let api_secs = t0.elapsed().as_secs_f64();
    wait_rows(&leaves, &expect, None, t0, "bulk").await;
    let bulk_secs = t0.elapsed().as_secs_f64();
    let (bulk_cpu1, hwm, _, anon) = proc_figures(s.child.id());
    let sim_cpu1 = proc_figures(std::process::id()).0;
    // Where the machine's CPU went: on a small machine the simulated
    // switches (in this process) can be what bounds the bulk rate.
    let bulk_cpu_ms = (bulk_cpu1 - bulk_cpu0) * 1000.0 / n as f64;
    let sim_cpu_ms = (sim_cpu1 - sim_cpu0) * 1000.0 / n as f64;
    println!(
        "  bulk: {n} bindings on {k} {} in {bulk_secs:.2} s (API {api_secs:.2} s) = {:.0} bindings/s; all rows verified; controller peak RSS {} MiB (anon now {} MiB); CPU per binding: controller {bulk_cpu_ms:.2} ms, this process ({}) {sim_cpu_ms:.2} ms",
        leaves.kind(),
        n as f64 / bulk_secs,
        hwm / 1024,
        anon / 1024,
        match leaves {
            Leaves::InProc(_) => "the in-process switches and the client",
            Leaves::Real(..) => "the client only",
        }
    );

    // Idle: what the controller spends with nothing changing (its
    // periodic resyncs), as a share of one core over ten seconds.
    let _ = settle(&leaves, Duration::from_millis(300)).await;
    let (idle0, ..) = proc_figures(s.child.id());
    let ti = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle_pct = (proc_figures(s.child.id()).0 - idle0) * 100.0 / ti.elapsed().as_secs_f64();
    println!("  idle: controller CPU {idle_pct:.1}% of one core over 10 s with nothing changing");

    // Incremental: one port of network j on the leaf after its three.
    let settled = settle(&leaves, Duration::from_millis(300)).await;
    let (cpu0, ..) = proc_figures(s.child.id());
    let window = Instant::now();
    let mut lat = Vec::with_capacity(incremental);
    let mut api = Vec::with_capacity(incremental);
    let (mut written, mut ops) = (0usize, 0u64);
    for j in 0..incremental.min(nets) {
        let net = j * (nets / incremental.min(nets)).max(1);
        let place = placement(net, k);
        let leaf = (3 * net + 3) % k;
        if place.iter().any(|(l, _)| *l == leaf) {
            continue;
        }
        add_network(&mut expect, leaf, 1, 11);
        for (l, _) in place {
            expect[l][2] += 1;
        }
        let involved: Vec<usize> = place.iter().map(|(l, _)| *l).chain([leaf]).collect();
        let before = leaves.stats();
        let t = Instant::now();
        post(
            &http,
            &s.url,
            "/v2.0/ports",
            json!({"port": {"network_id": net_ids[net], "binding:host_id": format!("host-leaf{}", leaf + 1), "binding:vnic_type": "direct"}}),
        )
        .await;
        api.push(t.elapsed().as_secs_f64() * 1000.0);
        wait_rows(&leaves, &expect, Some(&involved), t, "incremental").await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        if let (Some(b), Some(a)) = (before, settle(&leaves, Duration::from_millis(100)).await) {
            written += b.iter().zip(&a).filter(|(x, y)| y.writing_transactions > x.writing_transactions).count();
            ops += sum(&b, &a, |s| s.write_ops);
        }
    }
    let (cpu1, hwm2, ..) = proc_figures(s.child.id());
    let window = window.elapsed().as_secs_f64();
    let m = lat.len().max(1);
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    // The settle pauses are in the CPU window, and the controller's
    // periodic resyncs go on through it: at 100k ports they are most of
    // the window's CPU. The net figure takes off the idle rate measured
    // above for the window's length (noisy: that rate moves between runs).
    let f_inc = (pct(0.5), pct(0.99), (cpu1 - cpu0) * 1000.0 / m as f64);
    let cpu_net_ms = ((cpu1 - cpu0) - idle_pct / 100.0 * window).max(0.0) * 1000.0 / m as f64;
    println!(
        "  incremental ({} bindings, each on a 4th leaf of an existing network): median {:.1} ms (the API call {:.1} ms of it), p99 {:.1} ms, controller CPU {:.1} ms/binding ({:.1} net of the idle rate over {:.1} s){}",
        lat.len(),
        f_inc.0,
        {
            api.sort_by(f64::total_cmp);
            api.get(api.len() / 2).copied().unwrap_or(f64::NAN)
        },
        f_inc.1,
        f_inc.2,
        cpu_net_ms,
        window,
        if settled.is_some() {
            format!(", {:.1} switches written and {:.1} write ops per binding", written as f64 / m as f64, ops as f64 / m as f64)
        } else {
            String::new()
        }
    );
    let mut fig = Figures {
        bulk_secs,
        api_secs,
        bulk_cpu_ms,
        sim_cpu_ms,
        idle_pct,
        rss_mib_bulk: hwm / 1024,
        median_ms: f_inc.0,
        p99_ms: f_inc.1,
        cpu_ms: f_inc.2,
        cpu_net_ms,
        switches_written: written as f64 / m as f64,
        write_ops: ops as f64 / m as f64,
        rss_mib_peak: hwm2 / 1024,
        cold: None,
    };
    if cold_start {
        fig.cold = Some(cold(&leaves, s, dir.path(), &http, &expect).await);
    }
    fig
}

async fn cold(leaves: &Leaves, s: Stitch, dir: &Path, http: &reqwest::Client, expect: &[[usize; 4]]) -> Cold {
    let k = leaves.len();
    let _ = settle(leaves, Duration::from_millis(300)).await;
    s.terminate();
    let mut versions = Vec::with_capacity(k);
    for i in 0..k {
        versions.push(leaves.versions(i).await);
    }
    let before = leaves.stats();
    let t = Instant::now();
    let s = start_stitch(dir);
    loop {
        let st: Json = match http.get(format!("{}/v1/status", s.url)).send().await {
            Ok(r) => r.json().await.unwrap_or(Json::Null),
            Err(_) => Json::Null,
        };
        let sw = st["switches"].as_array().map(Vec::as_slice).unwrap_or_default();
        if sw.len() == k && sw.iter().all(|x| x["in_sync"] == json!(true) && x["connected"] == json!(true)) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(3600), "cold start never converged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let converge_secs = t.elapsed().as_secs_f64();
    // Anything sent late still counts: wait until the servers are quiet.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = settle(leaves, Duration::from_millis(500)).await;
    let (_, hwm, ..) = proc_figures(s.child.id());
    let mut moved = 0;
    let mut rows = 0;
    for (i, v) in versions.iter().enumerate() {
        let now = leaves.versions(i).await;
        rows += now.len();
        moved += v.iter().filter(|(u, ver)| now.get(u) != Some(ver)).count() + now.keys().filter(|u| !v.contains_key(u)).count();
    }
    wait_rows(leaves, expect, None, Instant::now(), "after cold start").await;
    let (write_ops, writing_txns) = match (before, after) {
        (Some(b), Some(a)) => (Some(sum(&b, &a, |s| s.write_ops)), Some(sum(&b, &a, |s| s.writing_transactions))),
        _ => (None, None),
    };
    println!(
        "  cold start: every one of {k} switches in_sync {converge_secs:.2} s after the restart; sent after the restart: {} write ops, {} writing transactions; rows rewritten or added: {moved} of {rows}; restarted controller peak RSS {} MiB",
        write_ops.map_or("-".into(), |n| n.to_string()),
        writing_txns.map_or("-".into(), |n| n.to_string()),
        hwm / 1024
    );
    drop(s);
    Cold { converge_secs, write_ops, versions_moved: moved, rows, rss_mib: hwm / 1024 }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).unwrap_or("?").trim().to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} cores, {model}, load {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    println!("stitch scale bench; machine: {}", machine());
    if a.real_ports > 0 {
        println!("baseline: {} ports on {} switches, real ovsdb-servers then in-process servers", a.real_ports, a.real_switches);
        let real = run(Leaves::real(a.real_switches).await, a.real_ports, a.incremental, a.cold_start).await;
        let inproc = run(Leaves::in_process(a.real_switches).await, a.real_ports, a.incremental, a.cold_start).await;
        println!();
        println!("| figure (N={}, {} switches) | real ovsdb-servers | in-process servers | in-process / real |", a.real_ports, a.real_switches);
        println!("|---|---|---|---|");
        let row = |name: &str, r: f64, i: f64| println!("| {name} | {r:.2} | {i:.2} | {:.2} |", i / r);
        row("bulk, s", real.bulk_secs, inproc.bulk_secs);
        row("bulk API calls, s", real.api_secs, inproc.api_secs);
        row("incremental median, ms", real.median_ms, inproc.median_ms);
        row("incremental p99, ms", real.p99_ms, inproc.p99_ms);
        row("controller CPU per incremental binding, ms", real.cpu_ms, inproc.cpu_ms);
        row("the same, net of the idle rate, ms", real.cpu_net_ms, inproc.cpu_net_ms);
        row("controller peak RSS, MiB", real.rss_mib_peak as f64, inproc.rss_mib_peak as f64);
        if let (Some(r), Some(i)) = (&real.cold, &inproc.cold) {
            row("cold start to all in_sync, s", r.converge_secs, i.converge_secs);
            println!("| cold start: rows rewritten or added | {} of {} | {} of {} | |", r.versions_moved, r.rows, i.versions_moved, i.rows);
        }
        println!();
    }
    let mut curve = Vec::new();
    for &n in &a.ports {
        println!("N = {n} ports on {} in-process switches", a.switches);
        let f = run(Leaves::in_process(a.switches).await, n, a.incremental, a.cold_start).await;
        curve.push((n, f));
    }
    println!();
    println!(
        "| N ({} switches) | bulk, s | bindings/s | bulk CPU/binding, controller / bench process, ms | idle CPU, % of a core | peak RSS after bulk, MiB | incremental median, ms | p99, ms | CPU/binding (net of idle), ms | switches written/binding | write ops/binding | cold start, s | ops written after restart | rows rewritten | RSS after restart, MiB |",
        a.switches
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (n, f) in &curve {
        let c = f.cold.as_ref();
        println!(
            "| {n} | {:.2} | {:.0} | {:.2} / {:.2} | {:.1} | {} | {:.1} | {:.1} | {:.1} ({:.1}) | {:.1} | {:.1} | {} | {} | {} | {} |",
            f.bulk_secs,
            *n as f64 / f.bulk_secs,
            f.bulk_cpu_ms,
            f.sim_cpu_ms,
            f.idle_pct,
            f.rss_mib_bulk,
            f.median_ms,
            f.p99_ms,
            f.cpu_ms,
            f.cpu_net_ms,
            f.switches_written,
            f.write_ops,
            c.map_or("-".into(), |c| format!("{:.2}", c.converge_secs)),
            c.and_then(|c| c.write_ops).map_or("-".into(), |n| n.to_string()),
            c.map_or("-".into(), |c| format!("{} of {}", c.versions_moved, c.rows)),
            c.map_or("-".into(), |c| c.rss_mib.to_string()),
        );
    }
}
