//! Migration ordering on real leaves, observed the way an operator would:
//! an OVSDB monitor on every leaf records each committed state, and the
//! invariant is checked on every one of them: no leaf ever points a MAC at
//! a VTEP that does not (or no longer) bind that MAC's network.
//!
//! The destination leaf cannot confirm when the move starts (its
//! `Physical_Switch` does not answer to its inventory name, so the engine
//! withholds its bindings and it is not in sync), so an engine that
//! switched the remote MACs before the destination confirmed would be
//! caught pointing them at a VTEP without the binding. The recorders stay
//! connected throughout.
//!
//! The recorders read one socket per leaf, so two states committed on
//! different leaves within a few milliseconds can reach the checker in
//! either order (the engine waits a full reconcile round trip between
//! phases, the recorders may be descheduled on a busy machine). A broken
//! state therefore counts when it lasts longer than [`TOLERANCE`]; an engine
//! that switched before the destination confirmed stays broken for seconds
//! here (the destination cannot confirm), and the longest transient seen is
//! printed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use ovsdb::{Client, ClientConfig, Event, MonitorMethod};
use stitch_vtep::{DATABASE, VtepCache, monitor_requests};
use tokio::sync::mpsc;

use crate::runtime::Lab;

const IPS: [&str; 3] = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
const TOLERANCE: Duration = Duration::from_millis(250);

/// What matters of one leaf's committed state.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    /// (switch port, logical switch name) of every VLAN binding.
    bound: BTreeSet<(String, String)>,
    /// (logical switch name, MAC) → remote VTEP IP.
    remote: BTreeMap<(String, String), IpAddr>,
}

fn summarize(c: &VtepCache) -> Seen {
    let t = c.tables();
    let name = |u: &uuid::Uuid| t.logical_switches.get(u).map(|l| l.name.clone());
    let bound = t.physical_ports.values().flat_map(|p| p.vlan_bindings.values().filter_map(|u| Some((p.name.clone(), name(u)?)))).collect();
    let remote = t.ucast_remote.values().filter_map(|m| Some(((name(&m.logical_switch)?, m.mac.to_lowercase()), c.locator_ip(m.locator)?))).collect();
    Seen { bound, remote }
}

/// Monitor one leaf and send its state after every committed change.
async fn record(leaf: usize, target: String, tx: mpsc::UnboundedSender<(usize, Seen)>) {
    let (client, mut events) = Client::connect(target.parse().unwrap(), ClientConfig::default()).unwrap();
    'session: loop {
        if client.wait_connected().await.is_err() {
            return;
        }
        let Ok(schema) = client.get_schema(DATABASE).await else { continue };
        let Ok(started) = client.monitor(DATABASE, monitor_requests(&schema), MonitorMethod::Monitor).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut cache = VtepCache::new(schema);
        cache.apply(&started.updates).unwrap();
        let _ = tx.send((leaf, summarize(&cache)));
        while let Some(ev) = events.recv().await {
            match ev {
                Event::Update { updates, .. } => cache.apply(&updates).unwrap(),
                Event::MonitorRestarted { found, updates, .. } => {
                    if !found {
                        cache.clear();
                    }
                    cache.apply(&updates).unwrap();
                }
                Event::MonitorLost { .. } => continue 'session,
                _ => continue,
            }
            if tx.send((leaf, summarize(&cache))).is_err() {
                return;
            }
        }
        return;
    }
}

/// Check the invariant on every state recorded so far; returns the
/// history of where each leaf pointed `mac`, with violations.
struct Checker {
    latest: BTreeMap<usize, Seen>,
    violations: Vec<String>,
    /// Broken statements seen in the latest states, since when.
    open: BTreeMap<String, std::time::Instant>,
    longest_transient: Duration,
    /// Per leaf: the successive remote locations of the watched MAC.
    trail: BTreeMap<usize, Vec<Option<IpAddr>>>,
    /// Order of notable events, for the ordering assertions.
    events: Vec<String>,
}

impl Checker {
    fn observe(&mut self, leaf: usize, seen: Seen, ls: &str, mac: &str) {
        let key = (ls.to_string(), mac.to_string());
        // The VM's NIC is cabled to swp1 on either leaf.
        let vm_port = ("swp1".to_string(), ls.to_string());
        let had_binding = self.latest.get(&leaf).is_some_and(|s| s.bound.contains(&vm_port));
        if had_binding && !seen.bound.contains(&vm_port) {
            self.events.push(format!("leaf{} unbound", leaf + 1));
        }
        if !had_binding && seen.bound.contains(&vm_port) {
            self.events.push(format!("leaf{} bound", leaf + 1));
        }
        let at = seen.remote.get(&key).copied();
        let trail = self.trail.entry(leaf).or_default();
        if trail.last() != Some(&at) {
            trail.push(at);
            self.events.push(format!("leaf{} points at {at:?}", leaf + 1));
        }
        self.latest.insert(leaf, seen);
        if self.latest.len() < IPS.len() {
            return;
        }
        let mut now_broken = BTreeSet::new();
        for (x, s) in &self.latest {
            for ((l, m), ip) in &s.remote {
                let Some(y) = IPS.iter().position(|i| i.parse::<IpAddr>().unwrap() == *ip) else { continue };
                // The watched MAC must be bound on its own switch port there;
                // any other MAC at least on its network.
                let has = |t: &Seen| if m == mac { t.bound.contains(&("swp1".to_string(), l.clone())) } else { t.bound.iter().any(|(_, b)| b == l) };
                if !self.latest.get(&y).is_some_and(has) {
                    now_broken.insert(format!("leaf{} points {m} on {l} at leaf{} which does not bind it", x + 1, y + 1));
                }
            }
        }
        let now = std::time::Instant::now();
        let healed: Vec<String> = self.open.keys().filter(|k| !now_broken.contains(*k)).cloned().collect();
        for k in healed {
            self.close(&k, now);
        }
        for k in now_broken {
            self.open.entry(k).or_insert(now);
        }
    }

    fn close(&mut self, k: &str, now: std::time::Instant) {
        let Some(since) = self.open.remove(k) else { return };
        let lasted = now - since;
        if lasted > TOLERANCE {
            self.violations.push(format!("{k} (for {lasted:?})"));
        } else {
            self.longest_transient = self.longest_transient.max(lasted);
        }
    }

    fn new() -> Checker {
        Checker {
            latest: BTreeMap::new(),
            violations: Vec::new(),
            open: BTreeMap::new(),
            longest_transient: Duration::ZERO,
            trail: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// The end of the recording: whatever is still broken counts.
    fn finish(&mut self) {
        let now = std::time::Instant::now() + TOLERANCE * 2;
        for k in self.open.keys().cloned().collect::<Vec<_>>() {
            self.close(&k, now);
        }
        eprintln!("longest transient (recording order) violation: {:?}", self.longest_transient);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_switches_remote_macs_only_after_the_destination_confirms() {
    let mut lab = Lab::new().await; // n1: leaf1 swp1, n2: leaf2 swp1, n3: leaf3 swp1, n4: leaf1 swp2
    let net = lab.network().await;
    let ls = net.to_string();
    let mac = "fa:16:3e:00:00:01";
    let vm = lab.port(None, net, mac, "n1").await;
    lab.port(None, net, "fa:16:3e:00:00:03", "n3").await; // leaf3: an observer
    lab.port(None, net, "fa:16:3e:00:00:04", "n4").await; // leaf1 keeps the network after the move
    lab.converge().await;

    let mut rec = Recording::start(&lab, &ls, mac).await;
    assert_eq!(rec.checker.latest[&2].remote.get(&(ls.clone(), mac.to_string())), Some(&IPS[0].parse().unwrap()));

    // The destination cannot confirm when the move starts.
    lab.leaves[1].ctl(&["set", "Physical_Switch", "leaf2", "name=leaf2-renamed"]);
    let sw2 = lab.switch_ids[1];
    let deadline = tokio::time::Instant::now() + stitch_testkit::PATIENCE;
    while lab.status.get(&sw2).is_none_or(|s| s.last_error.is_none()) {
        assert!(tokio::time::Instant::now() < deadline, "leaf2's identity error never showed");
        rec.next(Duration::from_millis(50)).await;
    }
    lab.port(Some(vm), net, mac, "n2").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        rec.next(Duration::from_millis(100)).await;
    }
    let remote3 = lab.leaves[2].ctl(&["list-remote-macs", &ls]);
    assert!(remote3.contains(&format!("{mac} -> vxlan_over_ipv4/{}", IPS[0])), "leaf3 still points at the source:\n{remote3}");
    assert!(lab.catalog.snapshot().vpgs.iter().any(|g| g.spec.pending.contains(&vm)), "the destination is not confirmed");

    // The destination answers again: the move completes, phase by phase.
    lab.leaves[1].ctl(&["set", "Physical_Switch", "leaf2-renamed", "name=leaf2"]);
    rec.settle(&lab).await;
    let checker = rec.stop();
    let (src, dst) = (Some(IPS[0].parse().unwrap()), Some(IPS[1].parse().unwrap()));
    assert_eq!(checker.trail[&2], vec![src, dst], "leaf3 went straight from the source to the destination");
    assert_eq!(checker.trail[&0], vec![None, dst], "the source points at the destination once it let go");
    // The source's binding of the VM's switch port is gone (leaf1 keeps swp2 for the other port).
    assert!(lab.leaves[0].ctl(&["list-bindings", "leaf1", "swp1"]).trim().is_empty());
    assert!(lines_contain(&lab.leaves[0].ctl(&["list-bindings", "leaf1", "swp2"]), &ls));
    assert!(lab.leaves[2].ctl(&["list-remote-macs", &ls]).contains(&format!("{mac} -> vxlan_over_ipv4/{}", IPS[1])));
    lab.engine.take();
}

/// Monitors on every leaf feeding one checker.
struct Recording {
    rx: mpsc::UnboundedReceiver<(usize, Seen)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    checker: Checker,
    ls: String,
    mac: String,
}

impl Recording {
    /// Start a recorder per leaf and wait for each one's first state.
    async fn start(lab: &Lab, ls: &str, mac: &str) -> Recording {
        let (tx, rx) = mpsc::unbounded_channel();
        let tasks = lab.leaves.iter().enumerate().map(|(i, l)| tokio::spawn(record(i, l.target(), tx.clone()))).collect();
        let mut r = Recording { rx, tasks, checker: Checker::new(), ls: ls.into(), mac: mac.into() };
        while r.checker.latest.len() < IPS.len() {
            r.next(stitch_testkit::PATIENCE).await;
        }
        r
    }

    /// Check the next recorded state, if one comes `within`.
    async fn next(&mut self, within: Duration) -> bool {
        match tokio::time::timeout(within, self.rx.recv()).await {
            Ok(Some((leaf, seen))) => {
                self.checker.observe(leaf, seen, &self.ls, &self.mac);
                true
            }
            Ok(None) => panic!("recorders ended"),
            Err(_) => false,
        }
    }

    /// Watch until the catalog has no move in progress and every switch
    /// holds the current revision, then drain what is in flight.
    async fn settle(&mut self, lab: &Lab) {
        let done = |s: &stitch_model::Snapshot| s.vpgs.iter().all(|g| g.spec.pending.is_empty() && g.spec.draining.is_empty());
        let deadline = tokio::time::Instant::now() + stitch_testkit::PATIENCE;
        while !(done(&lab.catalog.snapshot()) && (0..3).all(|i| lab.status.switch_holds(&lab.switch_ids[i], lab.catalog.snapshot().revision))) {
            if !self.next(Duration::from_millis(100)).await {
                assert!(tokio::time::Instant::now() < deadline, "never settled: {:?}", self.checker.events);
            }
        }
        while self.next(Duration::from_millis(500)).await {}
    }

    /// Stop recording; the invariant must have held on every state.
    fn stop(mut self) -> Checker {
        for t in &self.tasks {
            t.abort();
        }
        self.checker.finish();
        let c = self.checker;
        assert!(c.violations.is_empty(), "invariant broken:\n{}\nevents: {:?}", c.violations.join("\n"), c.events);
        c
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reincarnated_mac_is_withdrawn_everywhere_before_it_reappears() {
    let mut lab = Lab::new().await;
    let net = lab.network().await;
    let ls = net.to_string();
    let mac = "fa:16:3e:00:00:01";
    let vm = lab.port(None, net, mac, "n1").await;
    set_device(&lab, vm, "vm-a", "n1").await;
    lab.port(None, net, "fa:16:3e:00:00:02", "n2").await; // leaf2: an observer
    lab.converge().await;
    let mut rec = Recording::start(&lab, &ls, mac).await;

    // The same port (same MAC) now belongs to another VM on n3 (leaf3).
    set_device(&lab, vm, "vm-b", "n3").await;
    rec.settle(&lab).await;
    let checker = rec.stop();
    let (old, new) = (Some(IPS[0].parse().unwrap()), Some(IPS[2].parse().unwrap()));
    assert_eq!(checker.trail[&1], vec![old, None, new], "leaf2 forgot the old owner before learning the new one");
    assert!(lab.leaves[0].ctl(&["list-ls"]).trim().is_empty(), "nothing of the old owner is left on leaf1");
    assert_eq!(lab.catalog.snapshot().ports.get(&vm).unwrap().spec.binding.generation, 2);
    lab.engine.take();
}

async fn set_device(lab: &Lab, port: uuid::Uuid, device: &str, host: &str) {
    let mut p = lab.catalog.snapshot().ports.get(&port).unwrap().clone();
    p.spec.device_id = device.into();
    p.spec.host_id = host.into();
    lab.catalog.update(|s| stitch_engine::bind::put_port(s, p)).await.unwrap();
}

fn lines_contain(s: &str, what: &str) -> bool {
    s.lines().any(|l| l.contains(what))
}
