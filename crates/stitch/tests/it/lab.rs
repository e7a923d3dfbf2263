//! The dataplane lab (`lab/`): VMs in network namespaces ping each other
//! through two emulated hardware VTEPs (`ovs-vtep` on userspace OVS), and
//! every row on the switches comes from Stitch, driven only through its API.
//!
//! Needs root and the packages `lab/lab.sh check` lists. Outside CI a
//! missing prerequisite skips the test with a message; under `CI=true` it
//! fails. Lab tests take [`LAB_LOCK`] so they never overlap; each uses its
//! own state directory and namespace prefix, so a `stitch demo` running on
//! the same machine is left alone. Everything the lab starts is stopped by
//! PID when [`Lab`] drops, also when the test fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const STITCH: &str = env!("CARGO_BIN_EXE_stitch");
/// Namespace prefix of lab tests (the demo uses `sl-`).
const NS_PREFIX: &str = "slt-";
/// How long the dataplane may take to follow a change: ovs-vtep polls its
/// database about once a second, and learned MACs age out after 15 s.
const CONVERGE: Duration = Duration::from_secs(45);

/// Lab tests run one at a time: they share namespace names and the CPU.
static LAB_LOCK: Mutex<()> = Mutex::new(());

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lab")
}

/// True when the lab can run here. Under `CI=true` a missing prerequisite
/// is a failure, never a skip.
fn prerequisites() -> bool {
    let out = Command::new(lab_dir().join("lab.sh")).arg("check").output();
    let why = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        Err(e) => format!("cannot run lab/lab.sh: {e}"),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and the dataplane lab cannot run:\n{why}");
    }
    eprintln!("SKIPPED: dataplane lab prerequisites missing (set CI=true to make this a failure):\n{why}");
    false
}

/// A small blocking client for Stitch's HTTP API.
struct Api {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
}

impl Api {
    fn new(url: String) -> Api {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Api { rt, client: reqwest::Client::new(), url }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let mut req = self.client.request(method.clone(), format!("{}{path}", self.url));
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap();
            let v = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
            };
            (status, v)
        })
    }

    fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method.clone(), path, body.as_ref());
        assert!((200..300).contains(&s), "{method} {path} {}: HTTP {s} {v}", body.unwrap_or_default());
        v
    }

    fn get(&self, path: &str) -> Value {
        self.ok(reqwest::Method::GET, path, None)
    }
    fn post(&self, path: &str, body: Value) -> Value {
        self.ok(reqwest::Method::POST, path, Some(body))
    }
    fn put(&self, path: &str, body: Value) -> Value {
        self.ok(reqwest::Method::PUT, path, Some(body))
    }
    fn delete(&self, path: &str) {
        self.ok(reqwest::Method::DELETE, path, None);
    }
}

/// A VM of the lab: its MAC, as `lab.sh info` reports it.
#[derive(Clone, Debug)]
struct Vm {
    mac: String,
}

/// The running lab plus Stitch (`demo.sh infra`), stopped on drop.
struct Lab {
    dir: tempfile::TempDir,
    api: Api,
    vms: BTreeMap<String, Vm>,
    pids: Vec<u32>,
    stopped: bool,
}

impl Lab {
    fn start() -> Lab {
        let dir = tempfile::Builder::new().prefix("stitch-lab-").tempdir_in("/tmp").unwrap();
        let mut lab = Lab { dir, api: Api::new(String::new()), vms: BTreeMap::new(), pids: Vec::new(), stopped: false };
        let out = lab.script("demo.sh", &["infra"]);
        assert!(out.status.success(), "demo.sh infra failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let url = std::fs::read_to_string(lab.dir.path().join("stitch/url")).unwrap().trim().to_string();
        lab.api = Api::new(url);
        for line in lab.lab_ok(&["info"]).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.first() == Some(&"vm") {
                let mac = f.iter().find_map(|x| x.strip_prefix("mac=")).unwrap().to_string();
                lab.vms.insert(f[1].to_string(), Vm { mac });
            }
        }
        lab.pids = lab.pids_now();
        assert!(lab.pids.len() >= 13, "expected stitch + 12 OVS daemons, found pids {:?}", lab.pids);
        lab
    }

    fn command(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(lab_dir().join(name));
        c.args(args)
            .env("LAB_DIR", self.dir.path())
            .env("LAB_NS_PREFIX", NS_PREFIX)
            .env("STITCH_BIN", STITCH)
            .env("STITCH_LISTEN", "127.0.0.1:0")
            .env("STITCH_LOG", "info,stitch_engine=debug")
            .stdin(Stdio::null());
        c
    }

    fn script(&self, name: &str, args: &[&str]) -> Output {
        self.command(name, args).output().unwrap_or_else(|e| panic!("cannot run lab/{name}: {e}"))
    }

    fn lab(&self, args: &[&str]) -> Output {
        self.script("lab.sh", args)
    }

    fn lab_ok(&self, args: &[&str]) -> String {
        let out = self.lab(args);
        assert!(out.status.success(), "lab.sh {args:?} failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every PID the lab and Stitch wrote down (leaves, servers, guests
    /// with VLAN sub-interfaces, Stitch): one directory each.
    fn pids_now(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for comp in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let Ok(rd) = std::fs::read_dir(comp.path()) else { continue };
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "pid") {
                    if let Ok(p) = std::fs::read_to_string(e.path()).unwrap_or_default().trim().parse() {
                        pids.push(p);
                    }
                }
            }
        }
        pids
    }

    fn down(&mut self) -> Output {
        self.stopped = true;
        self.script("demo.sh", &["down"])
    }

    // ------------------------------------------------------------ dataplane

    /// One ping, one second to answer.
    fn pings(&self, from: &str, to: &str) -> bool {
        self.lab(&["ping", from, to, "1"]).status.success()
    }

    /// Three pings, none answered.
    fn isolated(&self, from: &str, to: &str) -> bool {
        !self.lab(&["ping", from, to, "3"]).status.success()
    }

    fn wait_ping(&self, from: &str, to: &str) {
        let start = Instant::now();
        while !self.pings(from, to) {
            assert!(start.elapsed() < CONVERGE, "{from} still cannot ping {to} after {CONVERGE:?}\n{}", self.status());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Three pings per pair, none answered; the pairs are tried at once.
    fn assert_isolated(&self, pairs: &[(&str, &str)]) {
        let children: Vec<_> =
            pairs.iter().map(|(a, b)| self.command("lab.sh", &["ping", a, b, "3"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()).collect();
        for ((a, b), mut c) in pairs.iter().zip(children) {
            assert!(!c.wait().unwrap().success(), "{a} reaches {b} across networks\n{}", self.status());
        }
    }

    fn wait_isolated(&self, from: &str, to: &str) {
        let start = Instant::now();
        while !self.isolated(from, to) {
            assert!(start.elapsed() < CONVERGE, "{from} still reaches {to} after {CONVERGE:?}\n{}", self.status());
        }
    }

    fn status(&self) -> String {
        let out = self.script("demo.sh", &["status"]);
        format!("--- lab status\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Capture VXLAN on leaf1's underlay while `traffic` runs; the VNIs seen.
    fn vnis_on_wire(&self, packets: u32, traffic: impl FnOnce()) -> Vec<u32> {
        let mut child = Command::new(lab_dir().join("lab.sh"))
            .args(["exec", "leaf1", "timeout", "20", "tcpdump", "-n", "-l", "-i", "ul0", "-c", &packets.to_string(), "udp", "port", "4789"])
            .env("LAB_DIR", self.dir.path())
            .env("LAB_NS_PREFIX", NS_PREFIX)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Start the traffic only once tcpdump listens.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            if stderr.read_line(&mut line).unwrap() == 0 || line.contains("listening on") {
                break;
            }
        }
        traffic();
        let mut text = String::new();
        child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
        let _ = child.wait();
        let vnis: Vec<u32> = text
            .lines()
            .filter(|l| l.contains("VXLAN"))
            .map(|l| {
                let v = l.split("vni ").nth(1).unwrap_or_else(|| panic!("no VNI in {l:?}"));
                v.trim().parse().unwrap_or_else(|_| panic!("bad VNI in {l:?}"))
            })
            .collect();
        assert!(!vnis.is_empty(), "no VXLAN packet captured on leaf1 ul0:\n{text}");
        vnis
    }

    // ------------------------------------------------------------ switches

    fn vtep(&self, leaf: &str, args: &[&str]) -> String {
        let mut a = vec!["vtep-ctl", leaf];
        a.extend(args);
        self.lab_ok(&a)
    }

    /// The VNIs of every logical switch on `leaf`.
    fn ls_vnis(&self, leaf: &str) -> BTreeSet<u64> {
        self.vtep(leaf, &["--bare", "--columns=tunnel_key", "list", "Logical_Switch"]).split_whitespace().map(|s| s.parse().unwrap()).collect()
    }

    /// VLANs bound on the leaf's port p1.
    fn bound_vlans(&self, leaf: &str) -> BTreeSet<u64> {
        self.bound_on(leaf, "p1").into_keys().collect()
    }

    /// VLAN → logical switch (network id) bound on one port of the leaf.
    fn bound_on(&self, leaf: &str, port: &str) -> BTreeMap<u64, String> {
        self.vtep(leaf, &["list-bindings", leaf, port])
            .lines()
            .filter_map(|l| {
                let (v, ls) = l.trim().split_once(' ')?;
                Some((v.parse().ok()?, ls.trim().to_string()))
            })
            .collect()
    }

    /// Number of rows in a table of the leaf's hardware_vtep DB.
    fn rows(&self, leaf: &str, table: &str) -> usize {
        self.vtep(leaf, &["--bare", "--columns=_uuid", "list", table]).split_whitespace().count()
    }

    /// MACs of the leaf's remote unicast rows, with the tunnel IP each points at.
    fn remote_macs(&self, leaf: &str) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for ls in self.vtep(leaf, &["list-ls"]).split_whitespace() {
            for l in self.vtep(leaf, &["list-remote-macs", ls]).lines() {
                if let Some((mac, loc)) = l.trim().split_once(" -> ") {
                    if mac != "unknown-dst" {
                        m.insert(mac.to_string(), loc.rsplit('/').next().unwrap().to_string());
                    }
                }
            }
        }
        m
    }

    fn wait_until(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(start.elapsed() < CONVERGE, "timed out after {CONVERGE:?} waiting until {what}\n{}", self.status());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    // ------------------------------------------------------------ Stitch

    fn network(&self, name: &str) -> (String, u64) {
        let n = self.api.post("/v2.0/networks", json!({"network": {"name": name}}));
        let vni = n["network"]["provider:segmentation_id"].as_u64().unwrap_or_else(|| panic!("no VNI: {n}"));
        (n["network"]["id"].as_str().unwrap().to_string(), vni)
    }

    /// Tag the VM's VF with the VLAN a port response carries, then wait for ACTIVE.
    fn plug(&self, vm: &str, host: &str, port: &Value) -> (String, u64) {
        let p = &port["port"];
        assert_ne!(p["binding:vif_type"], "binding_failed", "binding {vm} on {host} failed: {p}");
        // Neutron's hw_veb vif_details carry the VLAN as a string ("100").
        let v = &p["binding:vif_details"]["vlan"];
        let vlan = v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap_or_else(|| panic!("no VLAN in {p}"));
        let id = p["id"].as_str().unwrap().to_string();
        self.lab_ok(&["vf", vm, host, &vlan.to_string()]);
        self.wait_status(&format!("/v2.0/ports/{id}"), "port", "ACTIVE");
        (id, vlan)
    }

    /// Wait until the resource at `path` (envelope `key`) has `status`.
    fn wait_status(&self, path: &str, key: &str, status: &str) {
        let start = Instant::now();
        loop {
            let s = self.api.get(path);
            if s[key]["status"] == status {
                break;
            }
            assert!(start.elapsed() < CONVERGE, "{path} not {status} after {CONVERGE:?}: {s}\n{}", self.status());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A port that no host binds by itself (a subport: its binding follows the trunk's parent).
    fn subport(&self, name: &str, net: &str, mac: &str) -> String {
        let p = self.api.post("/v2.0/ports", json!({"port": {"network_id": net, "name": name, "mac_address": mac}}));
        p["port"]["id"].as_str().unwrap().to_string()
    }

    /// The VLANs a trunk parent's VF must allow (`binding:vif_details.trunk_vlans`).
    fn trunk_vlans(&self, parent: &str) -> Vec<u64> {
        let p = self.api.get(&format!("/v2.0/ports/{parent}"));
        let v = &p["port"]["binding:vif_details"]["trunk_vlans"];
        v.as_array().unwrap_or_else(|| panic!("no trunk_vlans: {p}")).iter().map(|x| x.as_u64().unwrap()).collect()
    }

    /// Stitch's virtual port groups on `switch` that hold `port` (as member or draining).
    fn groups_holding(&self, switch: &str, port: &str) -> Vec<Value> {
        let sw = self.api.get("/v1/switches")["switches"].as_array().unwrap().iter().find(|s| s["name"] == switch).unwrap()["id"].clone();
        let g = self.api.get("/v1/virtual-port-groups");
        g["virtual_port_groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["switch_id"] == sw && [&g["port_ids"], &g["draining"]].iter().any(|l| l.as_array().is_some_and(|a| a.iter().any(|p| p == port))))
            .cloned()
            .collect()
    }

    /// Bind the VM's SR-IOV port on `host` and tag its VF.
    fn bind(&self, vm: &str, host: &str, net: &str) -> (String, u64) {
        let port = self.api.post(
            "/v2.0/ports",
            json!({"port": {
                "network_id": net, "name": format!("{vm}-vf"), "mac_address": self.vms[vm].mac,
                "binding:host_id": host, "binding:vnic_type": "direct", "device_id": vm,
            }}),
        );
        self.plug(vm, host, &port)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if std::thread::panicking() {
            eprintln!("{}", self.status());
            let log = std::fs::read_to_string(self.dir.path().join("stitch/stitch.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of stitch.log\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        let out = self.down();
        if !out.status.success() {
            eprintln!("demo.sh down failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')))
        .unwrap_or(false)
}

/// The whole story on one lab (building it dominates the runtime):
/// negative control, cross-leaf ping, the VNI on the wire, isolation of a
/// second network, deletion, migration (and nothing left at the old place),
/// a third network, a trunk VM with two subports, a legacy VLAN host behind
/// an L2 gateway, and a clean switch once everything is deleted.
#[test]
fn vms_ping_through_emulated_vteps_programmed_by_stitch() {
    let _serial = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !prerequisites() {
        return;
    }
    let mut lab = Lab::start();
    let api = &lab.api;
    assert_eq!(api.get("/v1/switches")["switches"].as_array().unwrap().len(), 2);

    // --- Negative control: VFs tagged with the first VLAN of the pool, the
    // network exists, no port bound: the switches hold nothing, no ping.
    let (red, red_vni) = lab.network("red");
    lab.lab_ok(&["vf", "vm1", "srv1", "100"]);
    lab.lab_ok(&["vf", "vm2", "srv2", "100"]);
    for leaf in ["leaf1", "leaf2"] {
        assert!(lab.bound_vlans(leaf).is_empty(), "{leaf} has bindings before any port is bound");
        assert_eq!(lab.rows(leaf, "Ucast_Macs_Remote"), 0);
    }
    assert!(lab.isolated("vm1", "vm2"), "vm1 pings vm2 before any port is bound");

    // --- Bind both ports of "red": ping across the leaves.
    let (_p1, red_vlan1) = lab.bind("vm1", "srv1", &red);
    let (p2, red_vlan2) = lab.bind("vm2", "srv2", &red);
    lab.wait_ping("vm1", "vm2");
    lab.wait_ping("vm2", "vm1");
    assert_eq!(lab.ls_vnis("leaf1"), BTreeSet::from([red_vni]));
    assert_eq!(lab.ls_vnis("leaf2"), BTreeSet::from([red_vni]));
    assert_eq!(lab.bound_vlans("leaf1"), BTreeSet::from([red_vlan1]));
    assert_eq!(lab.bound_vlans("leaf2"), BTreeSet::from([red_vlan2]));

    // --- The VNI on the wire is the one Stitch allocated.
    let vnis = lab.vnis_on_wire(6, || assert!(lab.lab(&["ping", "vm1", "vm2", "3"]).status.success()));
    assert!(vnis.iter().all(|v| u64::from(*v) == red_vni), "VNIs on the wire {vnis:?}, Stitch allocated {red_vni}");
    // Full-size frames fit (don't fragment), and TCP works end to end.
    lab.lab_ok(&["exec", "vm1", "ping", "-n", "-M", "do", "-s", "1472", "-c", "2", "-W", "1", "10.10.0.2"]);
    lab.lab_ok(&["tcp", "vm1", "vm2"]);

    // --- A second network on the same servers: it works, and it is isolated.
    let (blue, blue_vni) = lab.network("blue");
    assert_ne!(blue_vni, red_vni);
    let (p3, blue_vlan1) = lab.bind("vm3", "srv1", &blue);
    let (p4, blue_vlan2) = lab.bind("vm4", "srv2", &blue);
    assert_ne!(blue_vlan1, red_vlan1, "two networks share a VLAN on leaf1");
    assert_ne!(blue_vlan2, red_vlan2, "two networks share a VLAN on leaf2");
    lab.wait_ping("vm3", "vm4");
    lab.assert_isolated(&[("vm1", "vm3"), ("vm1", "vm4"), ("vm2", "vm3"), ("vm4", "vm2")]);
    assert!(lab.pings("vm1", "vm2"));

    // --- Deleting a port stops its traffic and leaves no rows.
    api.delete(&format!("/v2.0/ports/{p4}"));
    lab.wait_isolated("vm3", "vm4");
    lab.wait_until("leaf2 forgets blue", || lab.ls_vnis("leaf2") == BTreeSet::from([red_vni]) && lab.bound_vlans("leaf2") == BTreeSet::from([red_vlan2]));
    lab.wait_until("leaf1 drops vm4's MAC", || !lab.remote_macs("leaf1").contains_key(&lab.vms["vm4"].mac));
    api.delete(&format!("/v2.0/ports/{p3}"));
    lab.wait_until("blue is gone from both leaves", || {
        ["leaf1", "leaf2"].iter().all(|l| lab.ls_vnis(l) == BTreeSet::from([red_vni])) && lab.bound_vlans("leaf1") == BTreeSet::from([red_vlan1])
    });
    assert_eq!(lab.vtep("leaf1", &["list-ls"]).lines().count(), 1);
    assert!(lab.pings("vm1", "vm2"), "deleting blue's ports broke red");

    // --- Migration: vm2 moves from srv2 (leaf2) to srv1 (leaf1); vm5 stays
    // on srv2, so vm2's traffic to it now crosses the fabric the other way.
    let (_p5, _) = lab.bind("vm5", "srv2", &red);
    lab.wait_ping("vm2", "vm5");
    let moved = api.put(&format!("/v2.0/ports/{p2}"), json!({"port": {"binding:host_id": "srv1"}}));
    assert_eq!(moved["port"]["binding:host_id"], "srv1");
    let (_, vlan_after) = lab.plug("vm2", "srv1", &moved);
    assert_eq!(vlan_after, red_vlan1, "red has one VLAN per switch; vm2 now shares leaf1's with vm1");
    lab.wait_ping("vm2", "vm5");
    lab.wait_ping("vm5", "vm2");
    lab.wait_ping("vm2", "vm1"); // same server, same VLAN: the NIC switches it
    let on_leaf2 = lab.remote_macs("leaf2");
    assert_eq!(on_leaf2.get(&lab.vms["vm2"].mac).map(String::as_str), Some("10.99.0.1"), "leaf2 should reach vm2 via leaf1: {on_leaf2:?}");
    // ... and nothing is left of vm2's old place (issue 7): once the move is
    // confirmed, no group on leaf2 holds its port (the red binding there
    // stays for vm5), and no switch points vm2's MAC back at leaf2.
    let vm2_mac = &lab.vms["vm2"].mac;
    lab.wait_until("no switch points vm2's MAC at its old leaf", || {
        !lab.remote_macs("leaf1").contains_key(vm2_mac) && lab.remote_macs("leaf2").get(vm2_mac).map(String::as_str) == Some("10.99.0.1")
    });
    lab.wait_until("leaf2 releases vm2's old place", || lab.groups_holding("leaf2", &p2).is_empty());
    assert!(lab.pings("vm5", "vm2") && lab.pings("vm1", "vm2"), "vm2 lost its peers once its old place was released");

    // --- A VM on a third network stays unreachable.
    let (green, green_vni) = lab.network("green");
    assert!(green_vni != red_vni && green_vni != blue_vni);
    let (_p6, green_vlan) = lab.bind("vm6", "srv1", &green);
    assert_ne!(green_vlan, red_vlan1);
    lab.wait_until("leaf1 has green", || lab.ls_vnis("leaf1").contains(&green_vni));
    lab.assert_isolated(&[("vm6", "vm1"), ("vm6", "vm2"), ("vm6", "vm5"), ("vm5", "vm6")]);

    // --- A trunk VM (issue 6): vm7's VF on srv1 is the parent port (on
    // green), with subports on amber (wire VLAN 201) and violet (202). The
    // host puts the VF in guest-tagging mode with the returned trunk_vlans;
    // inside vm7, eth0.201 and eth0.202 carry the subports' MACs.
    let (amber, amber_vni) = lab.network("amber");
    let (violet, violet_vni) = lab.network("violet");
    let (_p4, _) = lab.bind("vm4", "srv2", &amber);
    let (_p8, _) = lab.bind("vm8", "srv2", &violet);
    let (sub_mac_a, sub_ip_a, sub_mac_v, sub_ip_v) = ("02:5e:00:00:07:01", "10.10.0.71", "02:5e:00:00:07:02", "10.10.0.72");
    let parent = api.post(
        "/v2.0/ports",
        json!({"port": {"network_id": green, "name": "vm7-vf", "mac_address": lab.vms["vm7"].mac, "binding:host_id": "srv1", "binding:vnic_type": "direct", "device_id": "vm7"}}),
    );
    let parent = parent["port"]["id"].as_str().unwrap().to_string();
    let sub_a = lab.subport("vm7-amber", &amber, sub_mac_a);
    let sub_v = lab.subport("vm7-violet", &violet, sub_mac_v);
    let trunk = api.post(
        "/v2.0/trunks",
        json!({"trunk": {"name": "vm7", "port_id": parent, "sub_ports": [
            {"port_id": sub_a, "segmentation_type": "vlan", "segmentation_id": 201},
            {"port_id": sub_v, "segmentation_type": "vlan", "segmentation_id": 202},
        ]}}),
    );
    let trunk = trunk["trunk"]["id"].as_str().unwrap().to_string();
    let allowed = lab.trunk_vlans(&parent);
    assert_eq!(allowed, vec![green_vlan, 201, 202], "the VF allows the parent's VLAN and each subport's");
    let allowed: Vec<String> = allowed.iter().map(u64::to_string).collect();
    lab.lab_ok(&["vf", "vm7", "srv1", "trunk", &allowed.join(",")]);
    lab.lab_ok(&["subif", "vm7", "201", sub_mac_a, sub_ip_a]);
    lab.lab_ok(&["subif", "vm7", "202", sub_mac_v, sub_ip_v]);
    lab.wait_status(&format!("/v2.0/trunks/{trunk}"), "trunk", "ACTIVE");
    let on_leaf1 = lab.bound_on("leaf1", "p1");
    assert_eq!((on_leaf1.get(&201), on_leaf1.get(&202)), (Some(&amber), Some(&violet)), "the subports' VLANs on vm7's switch port: {on_leaf1:?}");
    assert!(lab.ls_vnis("leaf1").is_superset(&BTreeSet::from([amber_vni, violet_vni])));
    lab.wait_ping("vm7/eth0.201", "vm4");
    lab.wait_ping("vm7/eth0.202", "vm8");
    lab.wait_ping("vm4", sub_ip_a);
    lab.wait_ping("vm8", sub_ip_v);
    // ... and nothing else: not across its own subports, not red, not its
    // parent's network untagged (the VF drops untagged frames).
    lab.assert_isolated(&[
        ("vm7/eth0.201", "vm8"),
        ("vm7/eth0.202", "vm4"),
        ("vm7/eth0.201", "vm5"),
        ("vm7/eth0.202", "vm1"),
        ("vm7/eth0.201", "vm6"),
        ("vm7", "vm6"),
        ("vm5", sub_ip_a),
        ("vm4", sub_ip_v),
    ]);
    // Removing a subport cuts exactly that network, on the switch: the VF
    // still allows VLAN 202 here, the fabric alone stops it.
    let before = lab.bound_on("leaf1", "p1");
    api.put(&format!("/v2.0/trunks/{trunk}/remove_subports"), json!({"sub_ports": [{"port_id": sub_v}]}));
    lab.wait_until("leaf1 unbinds VLAN 202", || !lab.bound_on("leaf1", "p1").contains_key(&202));
    let mut expected = before.clone();
    expected.remove(&202);
    assert_eq!(lab.bound_on("leaf1", "p1"), expected, "removing a subport touches only its binding");
    assert_eq!(lab.trunk_vlans(&parent), vec![green_vlan, 201]);
    lab.wait_until("violet leaves leaf1", || !lab.ls_vnis("leaf1").contains(&violet_vni));
    lab.wait_isolated("vm7/eth0.202", "vm8");
    assert!(lab.pings("vm7/eth0.201", "vm4"), "removing violet's subport cut amber too");

    // --- A legacy VLAN host behind an L2 gateway (issue 6): leaf2 port p2
    // (no Stitch node cabled) carries VLAN 300; a connection joins it to red,
    // whose VMs now sit on srv1 behind leaf1.
    let gw =
        api.post("/v2.0/l2-gateways", json!({"l2_gateway": {"name": "legacy-vlan300", "devices": [{"device_name": "leaf2", "interfaces": [{"name": "p2"}]}]}}));
    let gw = gw["l2_gateway"]["id"].as_str().unwrap().to_string();
    lab.assert_isolated(&[("legacy", "vm1")]);
    let conn = api.post("/v2.0/l2-gateway-connections", json!({"l2_gateway_connection": {"l2_gateway_id": gw, "network_id": red, "segmentation_id": 300}}));
    let conn = conn["l2_gateway_connection"]["id"].as_str().unwrap().to_string();
    lab.wait_until("leaf2 binds VLAN 300 on p2 to red", || lab.bound_on("leaf2", "p2") == BTreeMap::from([(300, red.clone())]));
    lab.wait_ping("legacy", "vm1");
    lab.wait_ping("vm2", "legacy");
    lab.assert_isolated(&[("legacy", "vm4"), ("legacy", "vm6"), ("vm7/eth0.201", "legacy")]);
    api.delete(&format!("/v2.0/l2-gateway-connections/{conn}"));
    lab.wait_until("leaf2 unbinds p2", || lab.bound_on("leaf2", "p2").is_empty());
    lab.wait_isolated("legacy", "vm1");
    api.delete(&format!("/v2.0/l2-gateways/{gw}"));

    // --- Delete everything through the API: the switches keep no row of Stitch's.
    api.delete(&format!("/v2.0/trunks/{trunk}"));
    let ports = api.get("/v2.0/ports");
    for p in ports["ports"].as_array().unwrap() {
        api.delete(&format!("/v2.0/ports/{}", p["id"].as_str().unwrap()));
    }
    for n in [&red, &blue, &green, &amber, &violet] {
        api.delete(&format!("/v2.0/networks/{n}"));
    }
    lab.wait_until("both leaves are empty", || {
        ["leaf1", "leaf2"].iter().all(|l| {
            lab.rows(l, "Logical_Switch") == 0
                && lab.bound_vlans(l).is_empty()
                && (*l != "leaf2" || lab.bound_on(l, "p2").is_empty())
                && lab.rows(l, "Ucast_Macs_Remote") == 0
                && lab.rows(l, "Mcast_Macs_Remote") == 0
        })
    });
    // vm1 and vm2 now share srv1 and a VLAN: the NIC's embedded switch
    // still joins them, as a real SR-IOV NIC would. Across the fabric, no.
    lab.wait_isolated("vm1", "vm5");
    lab.wait_isolated("vm5", "vm2");

    // --- Stop everything by PID; nothing survives.
    let mut pids = lab.pids.clone();
    pids.extend(lab.pids_now());
    let out = lab.down();
    assert!(out.status.success(), "demo.sh down: {}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<u32> = pids.into_iter().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "still running after demo.sh down: {left:?}");
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&ns.stdout).contains(NS_PREFIX), "namespaces left behind");
}
