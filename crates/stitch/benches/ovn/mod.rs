//! The OVN column of the fabric bench (issue 8, "OVN side by side").
//!
//! The pipeline OVN offers for hardware VTEPs, started from the Debian
//! packages (`ovn-central`, `ovn-controller-vtep`) under a temp dir, on unix
//! sockets only, every process stopped by PID on drop: the OVN NB and SB
//! ovsdb-servers, `ovn-northd`, and one `ovn-controller-vtep` per leaf, each
//! leaf being the same kind of vtep ovsdb-server the Stitch run programs
//! (`Physical_Switch` with `tunnel_ips`, port `p1`).
//!
//! The workload is the Stitch run's: per network a logical switch and two
//! ports, one behind each of two consecutive leaves. Who writes what
//! follows the OVN documentation (ovn-architecture(7), "Life Cycle of a VTEP
//! gateway"), so the bench plays three parts OVN leaves to others:
//!
//! - the administrator: creates the leaf's `Logical_Switch` and its VLAN
//!   binding on `p1` in the vtep database (ovn-controller-vtep never
//!   writes VLAN bindings; it fills in the `tunnel_key`);
//! - the CMS: per network `ls-add`, one `vtep` port per leaf
//!   (`vtep-physical-switch`, `vtep-logical-switch`, addresses `unknown`)
//!   and one port per VM carrying its MAC, written straight into the NB
//!   database over one persistent connection (as Neutron's OVN driver does
//!   through its IDL), one transaction per 500 networks. A first version
//!   drove `ovn-nbctl` in daemon mode: at N=8,000 that daemon was the
//!   busiest process of the run (its commands look names up across the
//!   whole database), so it measured the driver, not OVN;
//! - the hypervisors: ovn-controller-vtep only advertises MACs of
//!   non-`vtep` ports bound to a chassis with a VXLAN encap (and it unbinds
//!   such ports from VTEP chassis), and no ovn-controller runs for
//!   SR-IOV VMs behind a hardware VTEP. So each leaf gets an emulated
//!   hypervisor chassis `hv-leafK` (VXLAN encap 10.1.x.y: the SB `Encap`
//!   table allows one chassis per (type, IP), and leafK's own IP is taken
//!   by its VTEP chassis), and a task claims each VM port for it in the SB
//!   as soon as ovn-northd creates the `Port_Binding`, as ovn-controller
//!   would.
//!
//! Done means, on every leaf: every logical switch carries a non-zero
//! `tunnel_key` (the OVN datapath's key), `p1` holds every VLAN binding,
//! `Ucast_Macs_Remote` holds both VM MACs of each network (OVN writes the
//! local VM's MAC too, pointing at its own hypervisor chassis) and one
//! `unknown-dst` `Mcast_Macs_Remote` per network.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ovsdb::{Atom, Client, ClientConfig, Condition, Mutation, Operation, Row, Value};
use stitch_testkit::VtepServer;

const NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";
const SB_SCHEMA: &str = "/usr/share/ovn/ovn-sb.ovsschema";
const NEEDED: [&str; 5] = ["/usr/bin/ovn-northd", "/usr/bin/ovn-controller-vtep", "/usr/bin/ovn-sbctl", NB_SCHEMA, SB_SCHEMA];

/// OVN in VXLAN mode (any chassis with a VXLAN encap, and every VTEP
/// chassis has one) gives datapaths 12-bit keys: ovn-northd allocates at
/// most this many logical switches.
pub const MAX_VXLAN_DATAPATHS: usize = 4095;

/// Whether the Debian packages are installed.
pub fn available() -> bool {
    NEEDED.iter().all(|p| Path::new(p).exists())
}

pub struct Figures {
    pub bulk_rate: f64,
    pub bulk_secs: f64,
    pub driver_secs: f64,
    pub median: f64,
    pub p99: f64,
    pub cpu_ms: f64,
    pub rss_kib: u64,
    /// CPU per incremental binding, ms, by process.
    pub cpu_split: Vec<(String, f64)>,
}

/// A process of the pipeline, killed by PID on drop.
struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Ovn {
    dir: tempfile::TempDir,
    // Dropped in this order: the controllers before the databases.
    controllers: Vec<Proc>,
    northd: Option<Proc>,
    dbs: Vec<Proc>,
}

impl Drop for Ovn {
    fn drop(&mut self) {
        self.controllers.clear();
        self.northd.take();
        self.dbs.clear();
    }
}

fn wait_for(p: &Path) {
    let t = Instant::now();
    while !p.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "{} did not appear", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// OVN's tools put pid files, control sockets and logs in these
/// directories; point them all at the temp dir.
fn ovn_env(cmd: &mut Command, dir: &Path) {
    for v in ["OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR", "OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR"] {
        cmd.env(v, dir);
    }
    cmd.env_remove("OVN_NB_DAEMON");
}

fn run(dir: &Path, cmd: &str, args: &[String]) -> String {
    let mut c = Command::new(cmd);
    ovn_env(&mut c, dir);
    let out = c.args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn(dir: &Path, cmd: &str, args: &[String]) -> Proc {
    let mut c = Command::new(cmd);
    ovn_env(&mut c, dir);
    Proc { child: c.args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{cmd}: {e}")) }
}

impl Ovn {
    fn sock(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.sock"))
    }

    fn db(&self, name: &str) -> String {
        format!("unix:{}", self.sock(name).display())
    }

    fn start(leaves: &[VtepServer]) -> Ovn {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let mut o = Ovn { dir, controllers: vec![], northd: None, dbs: vec![] };
        for (name, schema) in [("nb", NB_SCHEMA), ("sb", SB_SCHEMA)] {
            let db = d.join(format!("{name}.db"));
            run(&d, "ovsdb-tool", &["create".into(), db.display().to_string(), schema.into()]);
            o.dbs.push(spawn(
                &d,
                "ovsdb-server",
                &[
                    format!("--remote=punix:{}", o.sock(name).display()),
                    format!("--unixctl={}", d.join(format!("{name}.ctl")).display()),
                    format!("--log-file={}", d.join(format!("{name}.log")).display()),
                    db.display().to_string(),
                ],
            ));
            wait_for(&o.sock(name));
        }
        o.northd = Some(spawn(
            &d,
            "ovn-northd",
            &[
                format!("--ovnnb-db={}", o.db("nb")),
                format!("--ovnsb-db={}", o.db("sb")),
                format!("--unixctl={}", d.join("northd.ctl").display()),
                format!("--log-file={}", d.join("northd.log").display()),
            ],
        ));
        for l in leaves {
            o.controllers.push(spawn(
                &d,
                "ovn-controller-vtep",
                &[
                    format!("--vtep-db={}", l.target()),
                    format!("--ovnsb-db={}", o.db("sb")),
                    format!("--log-file={}", d.join(format!("cv-{}.log", l.name)).display()),
                ],
            ));
        }
        // The emulated hypervisor chassis, one per leaf.
        let mut args = vec![];
        for i in 0..leaves.len() {
            if !args.is_empty() {
                args.push("--".to_string());
            }
            args.extend(["chassis-add".to_string(), hv(i), "vxlan".into(), format!("10.1.{}.{}", i / 250, i % 250 + 1)]);
        }
        let mut a = vec![format!("--db={}", o.db("sb")), "--timeout=30".into()];
        a.extend(args);
        run(&d, "ovn-sbctl", &a);
        o
    }

    /// Every process of the pipeline (not the leaves).
    fn pids(&self) -> Vec<u32> {
        self.dbs.iter().chain(&self.northd).chain(&self.controllers).map(|p| p.child.id()).collect()
    }

    /// CPU seconds per kind of process.
    fn cpu_split(&self) -> Vec<(String, f64)> {
        let cpu = |ps: &mut dyn Iterator<Item = &Proc>| ps.map(|p| super::cpu_and_rss(p.child.id()).0).sum::<f64>();
        vec![
            ("NB ovsdb-server".into(), cpu(&mut self.dbs.iter().take(1))),
            ("SB ovsdb-server".into(), cpu(&mut self.dbs.iter().skip(1))),
            ("ovn-northd".into(), cpu(&mut self.northd.iter())),
            ("ovn-controller-vtep (all)".into(), cpu(&mut self.controllers.iter())),
        ]
    }

    /// (CPU seconds, sum of the processes' peak RSS in KiB).
    fn cpu_and_rss(&self) -> (f64, u64) {
        self.pids().into_iter().map(super::cpu_and_rss).fold((0.0, 0), |(c, r), (c1, r1)| (c + c1, r + r1))
    }
}

fn hv(leaf: usize) -> String {
    format!("hv-leaf{}", leaf + 1)
}

fn mac(port: usize) -> String {
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", port >> 16 & 255, port >> 8 & 255, port & 255)
}

async fn connect(target: &str) -> Client {
    let (c, _events) = Client::connect(target.parse().unwrap(), ClientConfig::default()).unwrap();
    c.wait_connected().await.unwrap();
    c
}

async fn select(c: &Client, db: &str, table: &str, where_: Vec<Condition>, cols: &[&str]) -> Vec<Row> {
    let r = c.transact(db, &[Operation::select_columns(table, where_, cols.iter().copied())]).await.unwrap();
    r.results.first().and_then(|r| r.rows()).map(<[Row]>::to_vec).unwrap_or_default()
}

/// What one leaf holds: (logical switches with a tunnel key, VLAN bindings
/// on p1, remote unicast MACs, remote multicast MACs).
async fn leaf_state(c: &Client) -> (usize, usize, usize, usize) {
    const V: &str = "hardware_vtep";
    let keyed = select(c, V, "Logical_Switch", vec![], &["tunnel_key"])
        .await
        .iter()
        .filter(|r| r.get("tunnel_key").and_then(Value::as_i64).is_some_and(|k| k != 0))
        .count();
    let bindings = select(c, V, "Physical_Port", vec![Condition::eq("name", "p1")], &["vlan_bindings"])
        .await
        .first()
        .and_then(|r| r.get("vlan_bindings").map(Value::len))
        .unwrap_or(0);
    let ucast = select(c, V, "Ucast_Macs_Remote", vec![], &["_uuid"]).await.len();
    let mcast = select(c, V, "Mcast_Macs_Remote", vec![], &["_uuid"]).await.len();
    (keyed, bindings, ucast, mcast)
}

/// The administrator's part on one leaf: a logical switch per network and
/// its VLAN binding on p1, in one transaction.
fn vtep_ops(nets: &[(String, i64)]) -> Vec<Operation> {
    let mut ops = Vec::with_capacity(nets.len() + 1);
    let mut map = Vec::with_capacity(nets.len());
    for (k, (name, vlan)) in nets.iter().enumerate() {
        ops.push(Operation::insert_named("Logical_Switch", Row::new().with("name", name.as_str()), format!("ls{k}")));
        map.push((Atom::Integer(*vlan), Atom::named_uuid(format!("ls{k}"))));
    }
    ops.push(Operation::mutate("Physical_Port", vec![Condition::eq("name", "p1")], vec![Mutation::insert("vlan_bindings", Value::map(map))]));
    ops
}

/// A logical switch port in the NB, its row named `uuid_name`.
fn lsp(name: &str, uuid_name: &str, vtep: Option<(&str, &str)>, address: &str) -> Operation {
    let mut row = Row::new().with("name", name).with("addresses", Value::set([address]));
    if let Some((ps, ls)) = vtep {
        row = row.with("type", "vtep").with("options", Value::map([("vtep-physical-switch", ps), ("vtep-logical-switch", ls)]));
    }
    Operation::insert_named("Logical_Switch_Port", row, uuid_name)
}

/// The CMS's part for one network: the logical switch, a `vtep` port per
/// leaf (addresses `unknown`) and, when `vms` says so, a port per VM with
/// its MAC (`vm<N>.<leaf>`).
fn nb_network(ops: &mut Vec<Operation>, n: &str, leaves: &[(usize, String)], vms: bool) {
    let mut ports = vec![];
    for (leaf, vm_mac) in leaves {
        let gw = format!("{n}-leaf{}", leaf + 1);
        ops.push(lsp(&gw, &format!("p{}", ops.len()), Some((&format!("leaf{}", leaf + 1), n)), "unknown"));
        ports.push(Atom::named_uuid(format!("p{}", ops.len() - 1)));
        if vms {
            let vm = format!("vm{}.{leaf}", &n[1..]);
            ops.push(lsp(&vm, &format!("p{}", ops.len()), None, vm_mac));
            ports.push(Atom::named_uuid(format!("p{}", ops.len() - 1)));
        }
    }
    ops.push(Operation::insert("Logical_Switch", Row::new().with("name", n).with("ports", Value::set(ports))));
}

/// The hypervisors' part: claim each VM port (named `vm<N>.<leaf>`) for
/// the leaf's emulated chassis as soon as ovn-northd has created its
/// `Port_Binding`, until `total` are claimed.
async fn claim_vm_ports(sb: Client, chassis: Vec<ovsdb::Uuid>, total: usize) {
    let mut claimed = 0;
    while claimed < total {
        let rows = select(
            &sb,
            "OVN_Southbound",
            "Port_Binding",
            vec![Condition::eq("type", ""), Condition::eq("chassis", Value::empty_set())],
            &["_uuid", "logical_port"],
        )
        .await;
        if rows.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let ops: Vec<_> = rows
            .iter()
            .map(|r| {
                let leaf: usize = r.get_str("logical_port").and_then(|p| p.rsplit('.').next()).and_then(|l| l.parse().ok()).expect("vm port name");
                Operation::update("Port_Binding", vec![Condition::uuid_eq(r.uuid().unwrap())], Row::new().with("chassis", Value::uuid(chassis[leaf])))
            })
            .collect();
        sb.transact("OVN_Southbound", &ops).await.unwrap().into_result().unwrap();
        claimed += rows.len();
    }
}

/// Run the workload through OVN: bulk `ports` bindings (networks of two
/// ports on consecutive leaves), then `incremental` single bindings on leaf1.
pub async fn bench(ports: usize, n_leaves: usize, incremental: usize) -> Figures {
    let nets = ports / 2;
    assert!(nets + incremental <= MAX_VXLAN_DATAPATHS, "OVN with VTEPs allocates at most {MAX_VXLAN_DATAPATHS} logical switches");
    let leaves: Vec<VtepServer> =
        (0..n_leaves).map(|i| VtepServer::start(&format!("leaf{}", i + 1), &format!("10.0.{}.{}", i / 250, i % 250 + 1), &["p1"])).collect();
    let ovn = Ovn::start(&leaves);
    let sb = connect(&ovn.db("sb")).await;
    let nb = connect(&ovn.db("nb")).await;
    let vteps: Vec<Client> = futures::future::join_all(leaves.iter().map(|l| connect_owned(l.target()))).await;
    // Every VTEP registered as a chassis, plus the emulated hypervisors.
    let t = Instant::now();
    let chassis = loop {
        let rows = select(&sb, "OVN_Southbound", "Chassis", vec![], &["_uuid", "name"]).await;
        if rows.len() == 2 * n_leaves {
            break rows;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "ovn-controller-vtep did not register every leaf");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let hv_uuid: Vec<ovsdb::Uuid> = (0..n_leaves).map(|i| chassis.iter().find(|r| r.get_str("name") == Some(&hv(i))).unwrap().uuid().unwrap()).collect();

    // Which leaves each network is on, and its VLAN there (the next free
    // one on that leaf, as Stitch's per-switch allocation does).
    let mut next_vlan = vec![2i64; n_leaves];
    let placement: Vec<[(usize, i64); 2]> = (0..nets)
        .map(|i| {
            [0, 1].map(|k| {
                let leaf = (2 * i + k) % n_leaves;
                next_vlan[leaf] += 1;
                (leaf, next_vlan[leaf] - 1)
            })
        })
        .collect();
    let mut expect = vec![0usize; n_leaves];
    for p in &placement {
        for (leaf, _) in p {
            expect[*leaf] += 1;
        }
    }

    let t0 = Instant::now();
    let claimer = tokio::spawn(claim_vm_ports(sb.clone(), hv_uuid.clone(), ports));
    for chunk in (0..nets).collect::<Vec<_>>().chunks(500) {
        // The administrator: logical switches and VLAN bindings on each leaf.
        let mut per_leaf: Vec<Vec<(String, i64)>> = vec![vec![]; n_leaves];
        for &i in chunk {
            for (leaf, vlan) in placement[i] {
                per_leaf[leaf].push((format!("n{i}"), vlan));
            }
        }
        let pending: Vec<_> =
            per_leaf.iter().zip(&vteps).filter(|(n, _)| !n.is_empty()).map(|(n, c)| c.start_transact("hardware_vtep", &vtep_ops(n)).unwrap()).collect();
        for p in pending {
            p.await.unwrap().into_result().unwrap();
        }
        // The CMS: the logical network, its VTEP ports and its VM ports.
        let mut ops = vec![];
        for &i in chunk {
            let placed: Vec<(usize, String)> = placement[i].iter().enumerate().map(|(k, (leaf, _))| (*leaf, mac(2 * i + k))).collect();
            nb_network(&mut ops, &format!("n{i}"), &placed, true);
        }
        nb.transact("OVN_Northbound", &ops).await.unwrap().into_result().unwrap();
    }
    claimer.await.unwrap();
    let driver = t0.elapsed().as_secs_f64();
    loop {
        let mut missing = None;
        for (l, (c, e)) in vteps.iter().zip(&expect).enumerate() {
            let got = leaf_state(c).await;
            if got != (*e, *e, 2 * e, *e) {
                missing = Some((l, got, *e));
                break;
            }
        }
        let Some((l, got, e)) = missing else { break };
        assert!(
            t0.elapsed() < Duration::from_secs(1800),
            "OVN bulk never converged: leaf{} holds (keyed LS, bindings, ucast, mcast) = {got:?}, expected ({e}, {e}, {}, {e})",
            l + 1,
            2 * e
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bulk_secs = t0.elapsed().as_secs_f64();
    // The keys are the datapaths' own: distinct on each leaf.
    for c in &vteps {
        let keys: std::collections::BTreeSet<i64> = select(c, "hardware_vtep", "Logical_Switch", vec![], &["tunnel_key"])
            .await
            .iter()
            .filter_map(|r| r.get("tunnel_key").and_then(Value::as_i64))
            .collect();
        assert_eq!(keys.len(), select(c, "hardware_vtep", "Logical_Switch", vec![], &["_uuid"]).await.len(), "one datapath key per logical switch");
    }

    // Incremental: one more network with one port behind leaf1, timed from
    // the first write until leaf1's logical switch carries its key.
    let (cpu0, _) = ovn.cpu_and_rss();
    let split0 = ovn.cpu_split();
    let mut lat = Vec::with_capacity(incremental);
    for j in 0..incremental {
        let n = format!("inc{j}");
        let vlan = 2 + expect[0] as i64 + j as i64;
        assert!(vlan <= 4094);
        let t = Instant::now();
        vteps[0].transact("hardware_vtep", &vtep_ops(&[(n.clone(), vlan)])).await.unwrap().into_result().unwrap();
        let mut ops = vec![];
        nb_network(&mut ops, &n, &[(0, String::new())], false);
        nb.transact("OVN_Northbound", &ops).await.unwrap().into_result().unwrap();
        loop {
            let rows = select(&vteps[0], "hardware_vtep", "Logical_Switch", vec![Condition::eq("name", n.as_str())], &["tunnel_key"]).await;
            if rows.first().and_then(|r| r.get("tunnel_key")).and_then(Value::as_i64).is_some_and(|k| k != 0) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "OVN never keyed {n}");
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (cpu1, rss_kib) = ovn.cpu_and_rss();
    let cpu_split = ovn.cpu_split().into_iter().zip(split0).map(|((n, c1), (_, c0))| (n, (c1 - c0) * 1000.0 / incremental as f64)).collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    let f = Figures {
        bulk_rate: ports as f64 / bulk_secs,
        bulk_secs,
        driver_secs: driver,
        median: pct(0.5),
        p99: pct(0.99),
        cpu_ms: (cpu1 - cpu0) * 1000.0 / incremental as f64,
        rss_kib,
        cpu_split,
    };
    drop(ovn);
    drop(leaves);
    f
}

async fn connect_owned(target: String) -> Client {
    connect(&target).await
}
