//! `cargo bench -p stitch --bench fabric -- [--ports N] [--leaves L] [--incremental K]`
//!
//! Bind throughput and latency of the real `stitch` binary against real
//! ovsdb-servers (vtep schema) playing leaves, with the raw ovsdb-server
//! limit measured in the same run as the baseline. Workload (issue 8):
//! SR-IOV ports created with Neutron bulk requests of up to 500; networks of
//! two ports, one on each of two leaves (with more leaves, consecutive
//! pairs). A binding counts as done when every leaf involved holds the
//! logical switch with its VNI, the VLAN binding, the remote MAC and the
//! flood list: the run checks every expected row on every leaf before it
//! reports a time. Prints figures and ratios; asserts nothing about speed.
//! `STITCH_BIN=/path/to/stitch` benchmarks another build of the controller.
//! When the Debian packages `ovn-central` and `ovn-controller-vtep` are
//! installed, the same workload then runs through OVN (ovn-northd +
//! ovn-controller-vtep, see `ovn/mod.rs`) and the table compares the three;
//! `--no-ovn` skips it.

mod common;
mod ovn;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ovsdb::{Client, ClientConfig, Condition, Mutation, Operation, Row, Value};
use serde_json::json;
use stitch_testkit::VtepServer;

const BIN: &str = env!("CARGO_BIN_EXE_stitch");

struct Args {
    ports: usize,
    leaves: usize,
    incremental: usize,
    clients: usize,
    ovn: bool,
}

fn args() -> Args {
    let mut a = Args { ports: 1000, leaves: 2, incremental: 20, clients: 16, ovn: true };
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        let num = |j: usize| v.get(j).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", v[i]));
        match v[i].as_str() {
            "--ports" => {
                a.ports = num(i + 1);
                i += 1;
            }
            "--leaves" => {
                a.leaves = num(i + 1);
                i += 1;
            }
            "--incremental" => {
                a.incremental = num(i + 1);
                i += 1;
            }
            "--clients" => {
                a.clients = num(i + 1);
                i += 1;
            }
            "--no-ovn" => a.ovn = false,
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    assert!(a.leaves >= 2 && a.ports % 2 == 0, "need at least 2 leaves and an even port count");
    a
}

struct Stitch {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Stitch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_stitch() -> Stitch {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), "[engine]\nresync_interval_secs = 30\n").unwrap();
    // STITCH_BIN runs another build (e.g. an older commit's) on the same
    // workload, for before/after comparisons in one session.
    let bin = std::env::var("STITCH_BIN").unwrap_or_else(|_| BIN.to_string());
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(dir.path().join("s.toml"))
        .stdout(Stdio::piped())
        // STITCH_BENCH_LOG=path keeps the controller's warnings.
        .stderr(std::env::var("STITCH_BENCH_LOG").ok().and_then(|p| std::fs::File::create(p).ok()).map_or_else(Stdio::null, Stdio::from))
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("stitch: listening on ").expect("address line").to_string();
    Stitch { child, url, _dir: dir }
}

/// (user+system CPU seconds, peak RSS in KiB) of a process.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0) + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (ticks / 100.0, hwm)
}

async fn count(c: &Client, table: &str) -> usize {
    let r = c.transact("hardware_vtep", &[Operation::select_columns(table, vec![], ["_uuid"])]).await.unwrap();
    r.results.first().and_then(|r| r.rows()).map_or(0, <[Row]>::len)
}

async fn bindings(c: &Client, port: &str) -> usize {
    let r = c.transact("hardware_vtep", &[Operation::select_columns("Physical_Port", vec![Condition::eq("name", port)], ["vlan_bindings"])]).await.unwrap();
    r.results.first().and_then(|r| r.rows()).and_then(|rows| rows.first().cloned()).and_then(|row| row.get("vlan_bindings").cloned()).map_or(0, |v| v.len())
}

/// A monitor on a leaf's `Physical_Port` names and `vlan_bindings`, with
/// the rows it brought: the bench counts a port's bindings from the
/// monitor's own updates, without reading the (large) column back.
struct BindingWatch {
    _client: Client,
    events: ovsdb::Events,
    rows: ovsdb::monitor::Cache,
}

impl BindingWatch {
    async fn start(l: &VtepServer) -> BindingWatch {
        let (client, events) = Client::connect(l.target().parse().unwrap(), ClientConfig::default()).unwrap();
        client.wait_connected().await.unwrap();
        let schema = client.get_schema("hardware_vtep").await.unwrap();
        let requests = ovsdb::MonitorRequests::new().table("Physical_Port", ovsdb::MonitorRequest::columns(["name", "vlan_bindings"]));
        let started = client.monitor("hardware_vtep", requests.clone(), ovsdb::MonitorMethod::MonitorCond).await.unwrap();
        let mut rows = ovsdb::monitor::Cache::for_monitor(schema, &requests);
        rows.apply(&started.updates).unwrap();
        BindingWatch { _client: client, events, rows }
    }

    /// How many VLAN bindings `port` has, as of the updates applied.
    fn count(&self, port: &str) -> usize {
        self.rows
            .table("Physical_Port")
            .find(|(_, r)| r.get("name") == Some(&Value::string(port)))
            .and_then(|(_, r)| r.get("vlan_bindings"))
            .map_or(0, |v| v.len())
    }

    fn take(&mut self, ev: ovsdb::Event) -> bool {
        match ev {
            ovsdb::Event::Update { updates, .. } => {
                self.rows.apply(&updates).unwrap();
                true
            }
            _ => false,
        }
    }

    /// Applies the updates already received.
    fn drain(&mut self) {
        while let Some(ev) = self.events.try_recv() {
            self.take(ev);
        }
    }

    /// Until the next update is applied.
    async fn changed(&mut self) {
        while let Some(ev) = self.events.recv().await {
            if self.take(ev) {
                return;
            }
        }
        panic!("the leaf's monitor ended");
    }
}

async fn connect(l: &VtepServer) -> Client {
    let (c, _events) = Client::connect(l.target().parse().unwrap(), ClientConfig::default()).unwrap();
    c.wait_connected().await.unwrap();
    c
}

/// The raw limit: one writer pipelining the same rows straight into one
/// ovsdb-server (per binding: the logical switch, the VLAN binding, a remote
/// MAC at a shared locator, a flood list), 256 transactions in flight.
async fn raw_baseline(n: usize) -> f64 {
    let leaf = VtepServer::start("raw", "10.1.0.1", &["p1"]);
    let c = connect(&leaf).await;
    // The shared remote locator, kept alive (it is not a root row) by an
    // anchor MAC in an anchor logical switch.
    let loc = Row::new().with("encapsulation_type", "vxlan_over_ipv4").with("dst_ip", "10.1.0.2");
    c.transact(
        "hardware_vtep",
        &[
            Operation::insert_named("Physical_Locator", loc, "loc"),
            Operation::insert_named("Logical_Switch", Row::new().with("name", "anchor"), "anchor"),
            Operation::insert(
                "Ucast_Macs_Remote",
                Row::new().with("MAC", "02:00:00:00:00:01").with("logical_switch", Value::named_uuid("anchor")).with("locator", Value::named_uuid("loc")),
            ),
        ],
    )
    .await
    .unwrap()
    .into_result()
    .unwrap();
    let loc_uuid = {
        let r = c.transact("hardware_vtep", &[Operation::select_columns("Physical_Locator", vec![], ["_uuid"])]).await.unwrap();
        r.results[0].rows().unwrap()[0].uuid().unwrap()
    };
    let t = Instant::now();
    let mut inflight = std::collections::VecDeque::new();
    for i in 0..n {
        let ls = format!("ls{i}");
        let ops = vec![
            Operation::insert_named("Logical_Switch", Row::new().with("name", ls.as_str()).with("tunnel_key", Value::integer(10_000 + i as i64)), "ls"),
            Operation::mutate(
                "Physical_Port",
                vec![Condition::eq("name", "p1")],
                vec![Mutation::insert("vlan_bindings", Value::map([(ovsdb::Atom::Integer(1 + (i % 4000) as i64), ovsdb::Atom::named_uuid("ls"))]))],
            ),
            Operation::insert(
                "Ucast_Macs_Remote",
                Row::new()
                    .with("MAC", format!("fa:16:3e:{:02x}:{:02x}:{:02x}", i >> 16 & 255, i >> 8 & 255, i & 255).as_str())
                    .with("logical_switch", Value::named_uuid("ls"))
                    .with("locator", Value::uuid(loc_uuid)),
            ),
            Operation::insert_named("Physical_Locator_Set", Row::new().with("locators", Value::uuid(loc_uuid)), "set"),
            Operation::insert(
                "Mcast_Macs_Remote",
                Row::new().with("MAC", "unknown-dst").with("logical_switch", Value::named_uuid("ls")).with("locator_set", Value::named_uuid("set")),
            ),
        ];
        inflight.push_back(c.start_transact("hardware_vtep", &ops).unwrap());
        if inflight.len() >= 256 {
            inflight.pop_front().unwrap().await.unwrap().into_result().unwrap();
        }
    }
    for p in inflight {
        p.await.unwrap().into_result().unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(count(&c, "Logical_Switch").await, n + 1, "every raw transaction landed");
    n as f64 / secs
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    println!(
        "stitch bench: {} ports on {} leaves, {} incremental bindings; machine: {} cores",
        a.ports,
        a.leaves,
        a.incremental,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let raw = raw_baseline(a.ports / 2).await;
    println!("raw ovsdb-server (pipelined, 256 in flight): {raw:.0} bindings/s");

    let leaves: Vec<VtepServer> =
        (0..a.leaves).map(|i| VtepServer::start(&format!("leaf{}", i + 1), &format!("10.0.{}.{}", i / 250, i % 250 + 1), &["p1"])).collect();
    let s = start_stitch();
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let http = http.clone();
        let url = format!("{}{path}", s.url);
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let st = r.status();
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(st.is_success(), "{st} {v}");
            v
        }
    };
    let switches: Vec<_> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"name": l.name, "fabric": "dc1", "ovsdb": l.target(), "tunnel_ip": format!("10.0.{}.{}", i / 250, i % 250 + 1)}))
        .collect();
    let nodes: Vec<_> = leaves
        .iter()
        .map(|l| json!({"name": format!("host-{}", l.name), "node_profile": "p", "ports": [{"name": "ens1f0", "switch": l.name, "switch_port": "p1"}]}))
        .collect();
    post("/v1/apply", common::inventory(switches, nodes)).await;

    // Bulk: networks of two ports, on consecutive leaves.
    let nets = a.ports / 2;
    let t0 = Instant::now();
    let mut net_ids = Vec::with_capacity(nets);
    for chunk in (0..nets).collect::<Vec<_>>().chunks(500) {
        let v = post("/v2.0/networks", json!({"networks": chunk.iter().map(|i| json!({"name": format!("n{i}")})).collect::<Vec<_>>()})).await;
        net_ids.extend(v["networks"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()));
    }
    let mut ports = Vec::with_capacity(a.ports);
    for (i, net) in net_ids.iter().enumerate() {
        for k in 0..2 {
            let leaf = (2 * i + k) % a.leaves;
            ports.push(json!({"network_id": net, "binding:host_id": format!("host-leaf{}", leaf + 1), "binding:vnic_type": "direct"}));
        }
    }
    for chunk in ports.chunks(500) {
        post("/v2.0/ports", json!({"ports": chunk})).await;
    }
    let api_done = t0.elapsed();
    // Wait until every expected row is on every leaf.
    let clients: Vec<Client> = futures::future::join_all(leaves.iter().map(connect)).await;
    let mut expect = vec![0usize; a.leaves];
    for i in 0..nets {
        for k in 0..2 {
            expect[(2 * i + k) % a.leaves] += 1;
        }
    }
    loop {
        let mut done = true;
        for (c, e) in clients.iter().zip(&expect) {
            let got = (count(c, "Logical_Switch").await, bindings(c, "p1").await, count(c, "Ucast_Macs_Remote").await, count(c, "Mcast_Macs_Remote").await);
            if got != (*e, *e, *e, *e) {
                done = false;
                break;
            }
        }
        if done {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(3600), "bulk never converged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bulk = t0.elapsed().as_secs_f64();
    let rate = a.ports as f64 / bulk;
    println!(
        "stitch bulk: {} bindings in {bulk:.2} s (API calls {:.2} s) = {rate:.0} bindings/s; all rows verified on every leaf",
        a.ports,
        api_done.as_secs_f64()
    );

    // Incremental: one more network + port on leaf1, timed until the VLAN
    // binding is on leaf1.
    // The leaf is watched with a monitor, its bindings counted from the
    // updates: polling or re-reading a column of thousands of bindings
    // would load the leaf and compete with the controller for the cores.
    let mut watch = BindingWatch::start(&leaves[0]).await;
    let (cpu0, _) = cpu_and_rss(s.child.id());
    let mut lat = Vec::new();
    let mut api = Vec::new();
    for j in 0..a.incremental {
        watch.drain();
        let before = watch.count("p1");
        let t = Instant::now();
        let v = post("/v2.0/networks", json!({"network": {"name": format!("inc{j}")}})).await;
        post("/v2.0/ports", json!({"port": {"network_id": v["network"]["id"], "binding:host_id": "host-leaf1", "binding:vnic_type": "direct"}})).await;
        api.push(t.elapsed().as_secs_f64() * 1000.0);
        while watch.count("p1") <= before {
            watch.changed().await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (cpu1, rss) = cpu_and_rss(s.child.id());
    api.sort_by(f64::total_cmp);
    println!("stitch incremental: the two API calls took a median {:.1} ms of it", api[api.len() / 2]);

    // Concurrent clients: each creates network + port pairs one request at
    // a time (what many compute hosts booting VMs at once look like), on
    // leaf1; timed until every VLAN binding is on leaf1.
    let per = 8;
    watch.drain();
    let before = watch.count("p1");
    let t = Instant::now();
    let tasks: Vec<_> = (0..a.clients)
        .map(|c| {
            let http = http.clone();
            let url = s.url.clone();
            tokio::spawn(async move {
                for j in 0..per {
                    let r = http.post(format!("{url}/v2.0/networks")).json(&json!({"network": {"name": format!("c{c}-{j}")}})).send().await.unwrap();
                    assert!(r.status().is_success());
                    let v: serde_json::Value = r.json().await.unwrap();
                    let body = json!({"port": {"network_id": v["network"]["id"], "binding:host_id": "host-leaf1", "binding:vnic_type": "direct"}});
                    let r = http.post(format!("{url}/v2.0/ports")).json(&body).send().await.unwrap();
                    assert!(r.status().is_success());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let conc_api = t.elapsed().as_secs_f64();
    watch.drain();
    while watch.count("p1") < before + a.clients * per {
        assert!(t.elapsed() < Duration::from_secs(600), "concurrent bindings never landed");
        let _ = tokio::time::timeout(Duration::from_secs(1), watch.changed()).await;
    }
    let conc = t.elapsed().as_secs_f64();
    let conc_rate = (a.clients * per) as f64 / conc;
    println!(
        "stitch concurrent: {} clients x {per} single network+port creates: {conc_rate:.0} bindings/s end to end (API {conc_api:.2} s, rows {conc:.2} s)",
        a.clients
    );
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "stitch incremental after N={}: median {:.1} ms, p99 {:.1} ms, CPU {:.2} ms/binding; controller peak RSS {} MiB",
        a.ports,
        pct(0.5),
        pct(0.99),
        (cpu1 - cpu0) * 1000.0 / a.incremental as f64,
        rss / 1024
    );
    // The controller and its leaves stop before OVN runs on fresh ones.
    let stitch_rss = rss / 1024;
    let stitch_cpu = (cpu1 - cpu0) * 1000.0 / a.incremental as f64;
    let (med, p99) = (pct(0.5), pct(0.99));
    drop(clients);
    drop(s);
    drop(leaves);

    let nets = a.ports / 2 + a.incremental;
    let ovn = if !ovn::available() {
        Err("not run (install ovn-central ovn-controller-vtep)".to_string())
    } else if !a.ovn {
        Err("not run (--no-ovn)".to_string())
    } else if nets > ovn::MAX_VXLAN_DATAPATHS {
        Err(format!(
            "not run: {nets} networks; OVN with VTEPs runs in VXLAN mode, where ovn-northd allocates at most {} logical switches (12-bit datapath keys)",
            ovn::MAX_VXLAN_DATAPATHS
        ))
    } else {
        let f = ovn::bench(a.ports, a.leaves, a.incremental).await;
        println!(
            "ovn bulk: {} bindings in {:.2} s (writes done {:.2} s) = {:.0} bindings/s; all rows verified on every leaf",
            a.ports, f.bulk_secs, f.driver_secs, f.bulk_rate
        );
        println!(
            "ovn incremental after N={}: median {:.1} ms, p99 {:.1} ms, CPU {:.2} ms/binding (NB+SB ovsdb-servers, ovn-northd, ovn-controller-vtep); peak RSS {} MiB (sum over those processes)",
            a.ports,
            f.median,
            f.p99,
            f.cpu_ms,
            f.rss_kib / 1024
        );
        println!("ovn CPU per incremental binding by process: {}", f.cpu_split.iter().map(|(n, c)| format!("{n} {c:.1} ms")).collect::<Vec<_>>().join(", "));
        Ok(f)
    };
    if let Err(why) = &ovn {
        println!("OVN: {why}");
    }

    println!();
    println!("(bulk: higher is better; times, CPU and memory: lower is better)");
    println!("| figure | stitch | OVN | raw ovsdb-server | stitch / OVN | stitch / raw |");
    println!("|---|---|---|---|---|---|");
    let o = ovn.as_ref().ok();
    let cell = |v: Option<String>| v.unwrap_or_else(|| "not run".into());
    let ratio = |x: f64, y: Option<f64>| y.map_or("".into(), |y| format!("{:.2}", x / y));
    println!(
        "| bulk bindings/s (N={}, {} leaves) | {rate:.0} | {} | {raw:.0} | {} | {:.2} |",
        a.ports,
        a.leaves,
        cell(o.map(|f| format!("{:.0}", f.bulk_rate))),
        ratio(rate, o.map(|f| f.bulk_rate)),
        rate / raw
    );
    println!("| incremental median, ms | {med:.1} | {} | | {} | |", cell(o.map(|f| format!("{:.1}", f.median))), ratio(med, o.map(|f| f.median)));
    println!("| incremental p99, ms | {p99:.1} | {} | | {} | |", cell(o.map(|f| format!("{:.1}", f.p99))), ratio(p99, o.map(|f| f.p99)));
    println!(
        "| CPU per incremental binding, ms | {stitch_cpu:.1} | {} | | {} | |",
        cell(o.map(|f| format!("{:.1}", f.cpu_ms))),
        ratio(stitch_cpu, o.map(|f| f.cpu_ms))
    );
    println!(
        "| peak RSS, MiB | {stitch_rss} | {} | | {} | |",
        cell(o.map(|f| format!("{}", f.rss_kib / 1024))),
        ratio(stitch_rss as f64, o.map(|f| (f.rss_kib / 1024) as f64))
    );
    println!("| concurrent single creates ({} clients), bindings/s | {conc_rate:.0} | not measured | | | {:.2} |", a.clients, conc_rate / raw);
}
