//! Invariants of the binding engine under random sequences of operations.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use stitch_engine::bind;
use stitch_engine::compile::Learned;
use stitch_model::Snapshot;
use stitch_model::inventory::*;

use crate::fixture::*;

#[derive(Clone, Debug)]
enum Op {
    Bind {
        port: u8,
        net: u8,
        host: u8,
    },
    Unbind {
        port: u8,
    },
    Delete {
        port: u8,
    },
    /// A stored port gets another MAC (same place, same groups).
    Remac {
        port: u8,
    },
    /// Every switch confirms: migrations finish.
    Acknowledge,
}

/// How many patches `patching_equals_compiling` compared (it must not
/// pass by never patching: see `patching_happens`).
static PATCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..12, 0u8..4, 0u8..4).prop_map(|(port, net, host)| Op::Bind { port, net, host }),
        1 => (0u8..12).prop_map(|port| Op::Unbind { port }),
        1 => (0u8..12).prop_map(|port| Op::Delete { port }),
        1 => (0u8..12).prop_map(|port| Op::Remac { port }),
        1 => Just(Op::Acknowledge),
    ]
}

const HOSTS: [&str; 4] = ["n1", "n2", "n3", "nowhere"];

fn check(s: &Snapshot) -> Result<(), TestCaseError> {
    // No two networks share a VLAN on one switch.
    let mut by_switch_vlan: BTreeMap<(uuid::Uuid, u16), BTreeSet<uuid::Uuid>> = BTreeMap::new();
    for g in s.vpgs.iter() {
        by_switch_vlan.entry((g.spec.switch_id, g.spec.vlan)).or_default().insert(g.spec.network_id);
        prop_assert!(!g.spec.is_unused(), "empty automatic group {} left behind", g.spec.name);
        for p in &g.spec.draining {
            prop_assert!(!g.spec.port_ids.contains(p), "a port both current and draining in {}", g.spec.name);
            prop_assert!(s.vpgs.iter().any(|c| c.spec.port_ids.contains(p)), "port {} drains with no new place", p);
        }
        for p in &g.spec.port_ids {
            let port = s.ports.get(p);
            prop_assert!(port.is_some_and(|p| p.spec.binding.is_bound()), "group lists an unbound port");
        }
    }
    for ((sw, vlan), nets) in by_switch_vlan {
        prop_assert_eq!(nets.len(), 1, "switch {} VLAN {} carries {:?}", sw, vlan, nets);
    }
    // Every bound port is in exactly one group, with the VLAN it reports.
    for p in s.ports.iter() {
        let groups: Vec<_> = s.vpgs.iter().filter(|g| g.spec.port_ids.contains(&p.id)).collect();
        if p.spec.binding.is_bound() {
            prop_assert_eq!(groups.len(), 1);
            let vlan = p.spec.binding.vif_details.get("vlan").and_then(|v| v.as_str()).unwrap_or("0");
            prop_assert_eq!(groups[0].spec.vlan.to_string(), vlan);
        } else {
            prop_assert!(groups.is_empty());
        }
    }
    Ok(())
}

/// Apply one random operation.
/// The fixture fabric (VLANs 100..=103) with four VXLAN networks, ids
/// 100..=103: where the random histories start.
fn four_networks(mode: VlanMode) -> Snapshot {
    let mut s = fabric_with(mode, "[100, 103]");
    for n in 0..4u128 {
        s = network(&s, 100 + n, NetworkType::Vxlan, None, None);
    }
    s
}

fn step(s: &Snapshot, nets: &mut BTreeMap<u8, u8>, op: Op) -> Result<Snapshot, TestCaseError> {
    Ok(match op {
        Op::Bind { port, net, host } => {
            let net = *nets.entry(port).or_insert(net);
            let spec = port_spec(100 + net as u128, port, HOSTS[host as usize], VnicType::Direct);
            bind_port(s, 1000 + port as u128, spec)
        }
        Op::Unbind { port } if s.ports.get(&id(1000 + port as u128)).is_some() => {
            let mut spec = s.ports.get(&id(1000 + port as u128)).unwrap().spec.clone();
            spec.host_id = Default::default();
            bind_port(s, 1000 + port as u128, spec)
        }
        Op::Delete { port } if s.ports.get(&id(1000 + port as u128)).is_some() => {
            nets.remove(&port);
            commit(s, bind::delete_port(s, id(1000 + port as u128)).unwrap())
        }
        Op::Remac { port } if s.ports.get(&id(1000 + port as u128)).is_some() => {
            let mut spec = s.ports.get(&id(1000 + port as u128)).unwrap().spec.clone();
            let m = spec.mac_address.0[5];
            spec.mac_address.0[5] = if m < 0x40 { m + 0x40 } else { m - 0x40 };
            bind_port(s, 1000 + port as u128, spec)
        }
        Op::Acknowledge => {
            // Two rounds: the new places are confirmed, then the old released.
            let s1 = commit(s, bind::advance_moves(s, |_, _| true));
            prop_assert!(s1.vpgs.iter().all(|g| g.spec.pending.is_empty()), "confirmed moves leave nothing pending");
            let s2 = commit(&s1, bind::advance_moves(&s1, |_, _| true));
            prop_assert!(s2.vpgs.iter().all(|g| g.spec.draining.is_empty()), "confirmed migrations leave nothing draining");
            s2
        }
        _ => s.clone(),
    })
}

/// MACs "learned" by the switches, derived from the ports so that some
/// agree with bindings, some contradict them and some are unbound, and
/// some are learned by two endpoints at different places (the first
/// endpoint in key order gives the locator).
fn learned_from(s: &Snapshot) -> Learned {
    let eps: Vec<String> = stitch_engine::compile::endpoints(s).into_keys().collect();
    let mut learned = Learned::new();
    for (i, p) in s.ports.iter().enumerate() {
        let sw = s.switches.iter().nth(i % s.switches.len()).unwrap();
        let ip: std::net::IpAddr = if i % 3 == 0 { "198.51.100.7".parse().unwrap() } else { sw.spec.tunnel_ip };
        let key = (stitch_engine::compile::ls_name(p.spec.network_id), p.spec.mac_address);
        learned.entry(eps[i % eps.len()].clone()).or_default().insert(key.clone(), ip);
        if i % 2 == 0 && eps.len() > 1 {
            learned.entry(eps[(i + 1) % eps.len()].clone()).or_default().insert(key, "198.51.100.8".parse().unwrap());
        }
    }
    learned
}

/// The indexed engine paths answer as plain scans of every table would.
fn indexed_paths_agree(s: &Snapshot) -> Result<(), TestCaseError> {
    let owner = stitch_vtep::Owner::new("stitch").unwrap();
    let learned = learned_from(s);
    for key in stitch_engine::compile::endpoints(s).into_keys() {
        let fast = stitch_engine::compile::compile_endpoint(s, &learned, &owner, &key);
        prop_assert_eq!(fast, crate::naive::compile_endpoint(s, &learned, &owner, &key), "compile_endpoint {}", key);
    }
    // What was written since a generation, by the log and by a scan.
    let ids: BTreeSet<uuid::Uuid> = s.networks.iter().map(|n| n.id).chain(s.ports.iter().map(|p| p.spec.network_id)).collect();
    for g in [0, s.generation() / 2, s.generation().saturating_sub(1), s.generation()] {
        let fast: BTreeSet<uuid::Uuid> = s.networks_written_since(g).collect();
        let slow: BTreeSet<uuid::Uuid> = ids.iter().copied().filter(|n| s.network_generation(*n) > g).collect();
        prop_assert_eq!(fast, slow, "networks written since {}", g);
    }
    let mut fast = stitch_engine::compile::contradicting(s, &learned);
    let mut slow = crate::naive::contradicting(s, &learned);
    fast.sort();
    slow.sort();
    prop_assert_eq!(fast, slow, "contradicting");
    for sw in s.switches.iter() {
        for net in s.networks.iter() {
            let fast = stitch_engine::alloc::vlan_for(s, sw, net.id).ok();
            prop_assert_eq!(fast, crate::naive::vlan_for(s, sw, net.id), "vlan_for");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// Patching the last desired state with the networks whose inputs
    /// moved gives what compiling from scratch gives, at every step of a
    /// random history and on every endpoint, with learned MACs in play
    /// (some of them bound elsewhere, some behind the endpoint itself).
    #[test]
    fn patching_equals_compiling(ops in proptest::collection::vec(op(), 1..40)) {
        let owner = stitch_vtep::Owner::new("stitch").unwrap();
        let mut s = four_networks(VlanMode::PerSwitch);
        let keys: Vec<String> = stitch_engine::compile::endpoints(&s).into_keys().collect();
        let ips: Vec<std::net::IpAddr> = s.switches.iter().map(|sw| sw.spec.tunnel_ip).chain(["192.0.2.7".parse().unwrap()]).collect();
        let mut learned = Learned::new();
        for (i, k) in keys.iter().enumerate() {
            let mut macs = BTreeMap::new();
            for m in 0..6u8 {
                let ls = stitch_engine::compile::ls_name(id(100 + u128::from((m + i as u8) % 4)));
                let mac = format!("fa:16:3e:00:00:{:02x}", m * 2).parse().unwrap();
                macs.insert((ls, mac), ips[(i + m as usize) % ips.len()]);
            }
            learned.insert(k.clone(), macs);
        }
        let mut nets: BTreeMap<u8, u8> = BTreeMap::new();
        let mut last: BTreeMap<String, (stitch_engine::fingerprint::EndpointInputs, stitch_vtep::DesiredVtep, bool)> = BTreeMap::new();
        for op in ops {
            s = step(&s, &mut nets, op)?;
            for key in &keys {
                let inputs = stitch_engine::fingerprint::endpoint_inputs(&s, key, 7).unwrap();
                let (d, clash) = stitch_engine::compile::compile_endpoint_checked(&s, &learned, &owner, key);
                if let Some((was, prev, prev_clash)) = last.get(key) {
                    // Both ways of finding them: every write since, or the
                    // endpoint's own networks.
                    let bound = if PATCHED.load(std::sync::atomic::Ordering::Relaxed) % 2 == 0 { 0 } else { usize::MAX };
                    let changed = was.changed_networks_within(&inputs, &s, prev, bound);
                    prop_assert!(changed.is_some(), "only networks move in these histories");
                    let mut patched = prev.clone();
                    let rebuilt = if *prev_clash { None } else { stitch_engine::compile::patch_endpoint(&s, &learned, key, &mut patched, &changed.unwrap()) };
                    if let Some(rebuilt) = rebuilt {
                        prop_assert_eq!(&patched, &d, "patched and compiled differ at {}", key);
                        if !rebuilt.is_empty() {
                            PATCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
                last.insert(key.clone(), (inputs, d, clash));
            }
        }
    }

    /// Whom a change wakes: every endpoint whose compiled desired state
    /// moved, at every step of a random history (learned MACs in play);
    /// and, these histories writing only ports, groups and networks, never
    /// "everyone" after the first call.
    #[test]
    fn every_endpoint_a_change_concerns_is_woken(ops in proptest::collection::vec(op(), 1..40)) {
        let owner = stitch_vtep::Owner::new("stitch").unwrap();
        let mut s = four_networks(VlanMode::PerSwitch);
        let keys: Vec<String> = stitch_engine::compile::endpoints(&s).into_keys().collect();
        let mut learned = Learned::new();
        for (i, k) in keys.iter().enumerate() {
            let ls = stitch_engine::compile::ls_name(id(100 + i as u128 % 4));
            learned.insert(k.clone(), BTreeMap::from([((ls, "fa:16:3e:00:00:aa".parse().unwrap()), "192.0.2.7".parse().unwrap())]));
        }
        let compile_all = |s: &Snapshot| -> BTreeMap<String, stitch_vtep::DesiredVtep> {
            keys.iter().map(|k| (k.clone(), stitch_engine::compile::compile_endpoint(s, &learned, &owner, k))).collect()
        };
        let mut memo = stitch_engine::wake::WakeMemo::default();
        prop_assert_eq!(memo.concerned(&s), stitch_engine::wake::Concern::All);
        let mut nets: BTreeMap<u8, u8> = BTreeMap::new();
        let mut before = compile_all(&s);
        for op in ops {
            s = step(&s, &mut nets, op)?;
            let now = compile_all(&s);
            let stitch_engine::wake::Concern::Endpoints(woken) = memo.concerned(&s) else {
                return Err(TestCaseError::fail("a history of ports and groups woke everyone"));
            };
            for k in &keys {
                prop_assert!(before[k] == now[k] || woken.contains(k), "{} changed but was not woken (woken: {:?})", k, woken);
            }
            before = now;
        }
    }

    #[test]
    fn indexed_paths_agree_with_naive_scans(ops in proptest::collection::vec(op(), 1..40), wide in any::<bool>()) {
        let mode = if wide { VlanMode::FabricWide } else { VlanMode::PerSwitch };
        let mut s = four_networks(mode);
        let mut nets: BTreeMap<u8, u8> = BTreeMap::new();
        for op in ops {
            s = step(&s, &mut nets, op)?;
            indexed_paths_agree(&s)?;
        }
    }

    #[test]
    fn vni_allocation_agrees_with_a_scan(ops in proptest::collection::vec((0u8..12, proptest::option::of(0u32..8), any::<bool>()), 1..40)) {
        // Networks come and go, some with the VNI they ask for (5000..5007,
        // the bottom of dc1's range), so the VNIs in use have holes.
        let mut s = fabric_with(VlanMode::PerSwitch, "[100, 103]");
        for (n, vni, delete) in ops {
            let nid = id(100 + n as u128);
            if delete {
                if let Ok((next, _)) = s.apply(vec![stitch_model::snapshot::Change::Delete(stitch_model::Kind::Network, nid)], &mut Seq) {
                    s = next;
                }
            } else if s.networks.get(&nid).is_none() {
                let net = obj(100 + n as u128, NetworkSpec::vxlan(format!("net{n}")));
                if let Ok(cs) = bind::put_network(&s, net, vni.map(|v| 5000 + v)) {
                    s = commit(&s, cs);
                }
            }
            prop_assert_eq!(stitch_engine::alloc::allocate_vni(&s).ok().map(|v| v.get()), crate::naive::allocate_vni(&s), "allocate_vni");
        }
    }

    #[test]
    fn binding_invariants_hold_and_everything_is_released(ops in proptest::collection::vec(op(), 1..60)) {
        let mut s = four_networks(VlanMode::PerSwitch);
        let mut nets: BTreeMap<u8, u8> = BTreeMap::new();
        for op in ops {
            s = step(&s, &mut nets, op)?;
            check(&s)?;
        }
        // Deleting every port releases every group (and so every VLAN).
        let ids: Vec<_> = s.ports.iter().map(|p| p.id).collect();
        for p in ids {
            s = commit(&s, bind::delete_port(&s, p).unwrap());
        }
        prop_assert_eq!(s.vpgs.len(), 0);
    }

    #[test]
    fn binding_is_deterministic(ops in proptest::collection::vec((0u8..6, 0u8..3, 0u8..3), 1..20)) {
        let run = || {
            let mut s = fabric();
            for n in 0..3u128 {
                s = network(&s, 100 + n, NetworkType::Vxlan, None, None);
            }
            for (port, net, host) in &ops {
                let spec = port_spec(100 + *net as u128 % 3, *port, HOSTS[*host as usize], VnicType::Direct);
                if bind::put_port(&s, obj(1000 + *port as u128, spec.clone())).is_ok() {
                    s = bind_port(&s, 1000 + *port as u128, spec);
                }
            }
            (format!("{:?}", s.list_any(stitch_model::Kind::Port)), format!("{:?}", s.list_any(stitch_model::Kind::VirtualPortGroup)))
        };
        prop_assert_eq!(run(), run());
    }
}

/// Operations of VMs that move: host changes of the same VM, re-incarnations
/// (another VM on the port), the port-bindings API, and confirmations by a
/// subset of the switches.
#[derive(Clone, Debug)]
enum Move {
    Host {
        port: u8,
        host: u8,
    },
    Reincarnate {
        port: u8,
        host: u8,
    },
    AddBinding {
        port: u8,
        host: u8,
    },
    Activate {
        port: u8,
        host: u8,
    },
    /// The switches in the bit mask (leaf1..leaf3) confirm what they have.
    Confirm {
        switches: u8,
    },
}

fn a_move() -> impl Strategy<Value = Move> {
    prop_oneof![
        3 => (0u8..5, 0u8..4).prop_map(|(port, host)| Move::Host { port, host }),
        1 => (0u8..5, 0u8..4).prop_map(|(port, host)| Move::Reincarnate { port, host }),
        1 => (0u8..5, 0u8..4).prop_map(|(port, host)| Move::AddBinding { port, host }),
        1 => (0u8..5, 0u8..4).prop_map(|(port, host)| Move::Activate { port, host }),
        3 => (0u8..8).prop_map(|switches| Move::Confirm { switches }),
    ]
}

const MOVE_HOSTS: [&str; 4] = ["n1", "n2", "n3", "n4"];

/// Where each MAC is pointed: (endpoint's tunnel IP, MAC) → the IP it points at.
fn pointers(s: &Snapshot) -> BTreeMap<(std::net::IpAddr, stitch_model::MacAddr), std::net::IpAddr> {
    let owner = stitch_vtep::Owner::new("p").unwrap();
    let compiled = stitch_engine::compile::compile(s, &stitch_engine::compile::Learned::new(), &owner);
    let mut out = BTreeMap::new();
    for sw in s.switches.iter() {
        let d = &compiled[&stitch_engine::compile::endpoint_key(sw)];
        for (mac, r) in d.ucast_remote.values().flatten() {
            out.insert((sw.spec.tunnel_ip, *mac), r.dst_ip);
        }
    }
    out
}

/// Whether the port with `mac` is programmed (in any role) on the switch with tunnel IP `ip`.
fn programmed(s: &Snapshot, mac: stitch_model::MacAddr, ip: std::net::IpAddr) -> bool {
    let Some(p) = s.ports.iter().find(|p| p.spec.mac_address == mac) else { return false };
    s.vpgs.iter().any(|g| g.spec.involves(&p.id) && s.switches.get(&g.spec.switch_id).is_some_and(|sw| sw.spec.tunnel_ip == ip))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    /// Switches apply each committed state at their own pace, and a
    /// confirmation is only committed once they all hold the state before
    /// it. So: in every state, a MAC is only pointed at a switch that has
    /// it; a switch never loses a port that another switch pointed at in
    /// the previous state; and a pointer only moves to a switch that
    /// already had the port in the previous state.
    #[test]
    fn moves_never_point_a_mac_at_a_switch_without_it(ops in proptest::collection::vec(a_move(), 1..40)) {
        let mut s = network(&fabric(), 100, NetworkType::Vxlan, None, None);
        let mut device: BTreeMap<u8, u32> = BTreeMap::new();
        for port in 0..5u8 {
            let mut spec = port_spec(100, port, MOVE_HOSTS[port as usize % 4], VnicType::Direct);
            spec.device_id = "vm-0".into();
            s = bind_port(&s, 1000 + port as u128, spec);
            device.insert(port, 0);
        }
        s = settle(&s);
        for op in ops {
            let before = s.clone();
            let pid = |port: u8| id(1000 + port as u128);
            let next = match &op {
                Move::Host { port, host } | Move::Reincarnate { port, host } => {
                    if matches!(op, Move::Reincarnate { .. }) {
                        *device.get_mut(port).unwrap() += 1;
                    }
                    let mut spec = s.ports.get(&pid(*port)).unwrap().spec.clone();
                    spec.host_id = MOVE_HOSTS[*host as usize].into();
                    spec.device_id = format!("vm-{}", device[port]);
                    bind::put_port(&s, obj(1000 + *port as u128, spec))
                }
                Move::AddBinding { port, host } => {
                    let b = stitch_model::neutron::HostBinding { host: MOVE_HOSTS[*host as usize].into(), vnic_type: VnicType::Direct, profile: Default::default(), binding: Default::default() };
                    bind::add_binding(&s, pid(*port), b)
                }
                Move::Activate { port, host } => bind::activate_binding(&s, pid(*port), MOVE_HOSTS[*host as usize]),
                Move::Confirm { switches } => {
                    let holding: BTreeSet<uuid::Uuid> = [LEAF1, LEAF2, LEAF3].iter().enumerate().filter(|(i, _)| switches & (1 << i) != 0).map(|(_, n)| id(*n)).collect();
                    Ok(bind::advance_moves(&s, |sw, _| holding.contains(&sw)))
                }
            };
            let Ok(changes) = next else { continue };
            s = commit(&s, changes);
            let (p1, p2) = (pointers(&before), pointers(&s));
            for ((x, mac), at) in &p2 {
                prop_assert!(programmed(&s, *mac, *at), "{x} points {mac} at {at}, which does not have it (after {op:?})");
            }
            if matches!(op, Move::Reincarnate { .. }) {
                continue; // the old owner's traces go at once, by design
            }
            for ((x, mac), at) in &p1 {
                prop_assert!(programmed(&s, *mac, *at), "{at} dropped {mac} while {x} still pointed at it (after {op:?})");
            }
            for ((x, mac), at) in &p2 {
                if p1.get(&(*x, *mac)) != Some(at) {
                    prop_assert!(programmed(&before, *mac, *at), "{x} moved {mac} to {at} before {at} had it (after {op:?})");
                }
            }
        }
        // Everything settles: nothing pending or draining is left.
        let s = settle(&s);
        prop_assert!(s.vpgs.iter().all(|g| g.spec.pending.is_empty() && g.spec.draining.is_empty()));
    }
}

/// The property above compares patches, not only full compiles: run it
/// once more here and check patches happened (proptest's macro leaves no
/// place to count after its cases).
#[test]
fn patching_happens() {
    patching_equals_compiling();
    assert!(PATCHED.load(std::sync::atomic::Ordering::Relaxed) > 100, "patches compared: {}", PATCHED.load(std::sync::atomic::Ordering::Relaxed));
}
