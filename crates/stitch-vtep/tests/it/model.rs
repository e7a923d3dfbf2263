//! Shared by the property tests: the generator of desired states, the
//! switch every case starts from (with foreign rows), and the checks.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ovsdb::notation::{Atom, Row, Value};
use ovsdb::ops::Operation;
use proptest::prelude::*;
use stitch_model::MacAddr;
use stitch_vtep::rows::AclEntry;
use stitch_vtep::{DesiredAcl, DesiredLogicalSwitch, DesiredVtep, Owner, Plan, RemoteMac, ReplicationMode, VtepCache};

pub fn owner() -> Owner {
    Owner::new("stitch-test").unwrap()
}

pub const LS: [&str; 4] = ["n0", "n1", "n2", "n3"];
/// The last one does not exist.
pub const PORTS: [(&str, &str); 5] = [("ps1", "p1"), ("ps1", "p2"), ("ps1", "p3"), ("ps2", "p1"), ("ps1", "p9")];
/// 300 on ps1/p1 is bound to the foreign logical switch.
pub const VLANS: [u16; 4] = [0, 10, 20, 300];
/// 10.0.0.9 is the foreign MAC's locator too.
pub const IPS: [&str; 5] = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.9"];
pub const MACS: [&str; 4] = ["fa:16:3e:00:00:01", "fa:16:3e:00:00:02", "fa:16:3e:00:00:03", "FA:16:3E:00:00:04"];
pub const MCAST: [&str; 2] = ["unknown-dst", "01:00:5e:00:00:01"];

/// The foreign rows every case starts with (as vtep-ctl would write
/// them): logical switch "other" (VNI 7) bound on ps1/p1 VLAN 300, and a
/// remote MAC in it behind 10.0.0.9.
pub const FOREIGN_LS: &str = "other";
pub const FOREIGN_MAC: &str = "fa:16:3e:00:00:99";
/// A foreign ACL bound on ps1/p1 VLAN 300.
pub const FOREIGN_ACL: &str = "foreign-acl";
pub const ACLS: [&str; 3] = ["a0", "a1", "a2"];

/// A small ACL entry: few variants, so entries are often shared between
/// two desired states (reuse) and sometimes not (replace).
fn arb_entry() -> impl Strategy<Value = AclEntry> {
    let protocol = proptest::option::of(prop_oneof![Just(6i64), Just(17)]);
    (0i64..3, any::<bool>(), any::<bool>(), protocol, proptest::option::of(0usize..2)).prop_map(|(seq, ingress, permit, protocol, net)| AclEntry {
        sequence: seq * 10,
        direction: if ingress { "ingress" } else { "egress" }.into(),
        action: if permit { "permit" } else { "deny" }.into(),
        protocol,
        source_ip: net.map(|n| format!("10.{n}.0.0")),
        source_mask: net.map(|_| "255.255.0.0".into()),
        dest_port_min: protocol.map(|_| 22),
        dest_port_max: protocol.map(|_| 22),
        ..Default::default()
    })
}

fn ip(i: usize) -> IpAddr {
    IPS[i].parse().unwrap()
}

pub fn arb_desired() -> impl Strategy<Value = DesiredVtep> {
    let ls = proptest::collection::btree_map(0..LS.len(), proptest::option::of(any::<bool>()), 0..=LS.len());
    let bindings = proptest::collection::vec((0..PORTS.len(), 0..VLANS.len(), 0..LS.len()), 0..6);
    let ucast = proptest::collection::vec((0..LS.len(), 0..MACS.len(), 0..IPS.len(), proptest::option::of(0u8..3)), 0..6);
    let mcast = proptest::collection::vec((0..LS.len(), 0..MCAST.len(), proptest::collection::btree_set(0..IPS.len(), 0..4)), 0..4);
    let acls = proptest::collection::btree_map(
        0..ACLS.len(),
        (proptest::collection::vec(arb_entry(), 1..4), proptest::collection::btree_set((0..PORTS.len(), 0..VLANS.len()), 0..3)),
        0..=ACLS.len(),
    );
    (ls, bindings, ucast, mcast, acls).prop_map(|(ls, bindings, ucast, mcast, acls)| {
        let mut d = DesiredVtep::empty(owner());
        for (i, mode) in ls {
            let mut l = DesiredLogicalSwitch::new(1000 + i as i64);
            l.replication_mode = mode.map(|m| if m { ReplicationMode::SourceNode } else { ReplicationMode::ServiceNode });
            d.logical_switches.insert(LS[i].into(), l);
        }
        for (p, v, l) in bindings {
            d = d.with_binding(PORTS[p].0, PORTS[p].1, VLANS[v], LS[l]);
        }
        for (l, m, i, a) in ucast {
            let mac: MacAddr = MACS[m].parse().unwrap();
            let remote = RemoteMac { dst_ip: ip(i), ipaddr: a.map(|a| format!("192.168.0.{a}").into()) };
            d = d.with_ucast_remote(LS[l], mac, remote);
        }
        for (l, m, ips) in mcast {
            d = d.with_mcast_remote(LS[l], MCAST[m], ips.into_iter().map(ip));
        }
        for (a, (entries, at)) in acls {
            let mut acl = DesiredAcl::new(entries);
            for (p, v) in at {
                acl = acl.bound(PORTS[p].0, PORTS[p].1, VLANS[v]);
            }
            d = d.with_acl(ACLS[a], acl);
        }
        d
    })
}

/// The switch (ps1 with p1..p3, ps2 with p1) and the foreign rows, as
/// one transaction (for the simulation; the real test uses vtep-ctl).
pub fn sim_setup_ops() -> Vec<Operation> {
    let named = |n: &str| Value::named_uuid(n);
    let na = |n: &str| Atom::named_uuid(n);
    vec![
        Operation::insert_named("ACL_entry", Row::new().with("sequence", 1i64).with("direction", "egress").with("action", "deny"), "face"),
        Operation::insert_named("ACL", Row::new().with("acl_name", FOREIGN_ACL).with("acl_entries", named("face")), "facl"),
        Operation::insert_named("Logical_Switch", Row::new().with("name", FOREIGN_LS).with("tunnel_key", 7i64), "other"),
        Operation::insert_named(
            "Physical_Port",
            Row::new().with("name", "p1").with("vlan_bindings", Value::map([(300i64, na("other"))])).with("acl_bindings", Value::map([(300i64, na("facl"))])),
            "p11",
        ),
        Operation::insert_named("Physical_Port", Row::new().with("name", "p2"), "p12"),
        Operation::insert_named("Physical_Port", Row::new().with("name", "p3"), "p13"),
        Operation::insert_named("Physical_Port", Row::new().with("name", "p1"), "p21"),
        Operation::insert_named(
            "Physical_Switch",
            Row::new().with("name", "ps1").with("tunnel_ips", "10.0.0.1").with("ports", Value::set([na("p11"), na("p12"), na("p13")])),
            "ps1",
        ),
        Operation::insert_named("Physical_Switch", Row::new().with("name", "ps2").with("tunnel_ips", "10.0.0.11").with("ports", named("p21")), "ps2"),
        Operation::insert("Global", Row::new().with("switches", Value::set([na("ps1"), na("ps2")]))),
        Operation::insert_named("Physical_Locator", Row::new().with("encapsulation_type", "vxlan_over_ipv4").with("dst_ip", "10.0.0.9"), "loc9"),
        Operation::insert("Ucast_Macs_Remote", Row::new().with("MAC", FOREIGN_MAC).with("logical_switch", named("other")).with("locator", named("loc9"))),
    ]
}

/// Everything in the cache that is not Stitch's, in a comparable form.
pub fn foreign_view(c: &VtepCache, owner: &Owner) -> BTreeSet<String> {
    let t = c.tables();
    let ls_name = |u| t.logical_switches.get(u).map_or("?".to_owned(), |l| l.name.clone());
    let mut out = BTreeSet::new();
    for ls in t.logical_switches.values().filter(|l| !owner.owns(l)) {
        out.insert(format!("ls {} {:?} {:?}", ls.name, ls.tunnel_key, ls.other_config));
        for m in c.ucast_remote_of(ls.uuid) {
            out.insert(format!("ucast {} {} {:?}", ls.name, m.mac(), c.locator_ip(m.locator)));
        }
    }
    for p in t.physical_ports.values() {
        let sw = c.switch_of_port(p.uuid).map_or("?", |s| s.name.as_str());
        out.insert(format!("port {sw}/{}", p.name));
        for (v, ls) in &p.vlan_bindings {
            if !t.logical_switches.get(ls).is_some_and(|l| owner.owns(l)) {
                out.insert(format!("binding {sw}/{} {v} {}", p.name, ls_name(ls)));
            }
        }
    }
    for s in t.physical_switches.values() {
        out.insert(format!("switch {} {:?}", s.name, s.tunnel_ips));
    }
    for a in t.acls.values().filter(|a| !owner.owns_acl(a)) {
        let entries: BTreeSet<_> = a.acl_entries.iter().map(|e| format!("{:?}", t.acl_entries[e].content())).collect();
        out.insert(format!("acl {} {entries:?}", a.acl_name));
    }
    for p in t.physical_ports.values() {
        let sw = c.switch_of_port(p.uuid).map_or("?", |s| s.name.as_str());
        for (v, a) in &p.acl_bindings {
            if !t.acls.get(a).is_some_and(|a| owner.owns_acl(a)) {
                out.insert(format!("acl binding {sw}/{} {v} {}", p.name, t.acls[a].acl_name));
            }
        }
    }
    out
}

/// Rows that are Stitch's: owned logical switches, and everything that
/// references them.
pub fn owned_rows(c: &VtepCache, owner: &Owner) -> Vec<String> {
    let t = c.tables();
    let owned: BTreeMap<_, _> = t.logical_switches.values().filter(|l| owner.owns(l)).map(|l| (l.uuid, l.name.clone())).collect();
    let mut out: Vec<String> = owned.values().map(|n| format!("ls {n}")).collect();
    out.extend(t.ucast_remote.values().filter(|m| owned.contains_key(&m.logical_switch)).map(|m| format!("ucast {}", m.mac)));
    out.extend(t.mcast_remote.values().filter(|m| owned.contains_key(&m.logical_switch)).map(|m| format!("mcast {}", m.mac)));
    for p in t.physical_ports.values() {
        out.extend(p.vlan_bindings.iter().filter(|(_, l)| owned.contains_key(l)).map(|(v, _)| format!("binding {} {v}", p.name)));
        let ours = p.acl_bindings.iter().filter(|(_, a)| owner.owns_acl(&t.acls[a]));
        out.extend(ours.map(|(v, _)| format!("acl binding {} {v}", p.name)));
    }
    for a in t.acls.values().filter(|a| owner.owns_acl(a)) {
        out.push(format!("acl {} ({} entries)", a.acl_name, a.acl_entries.len()));
    }
    out
}

/// The cache holds exactly what `desired` asks for, except what the plan
/// reported it could not do.
pub fn assert_reflects(d: &DesiredVtep, c: &VtepCache, plan: &Plan) {
    let owner = &d.owner;
    let t = c.tables();
    // Logical switches: every desired one exists and is ours, unless a
    // foreign one blocks it (only "other", VNI 7, exists: no desired VNI
    // collides, and no desired name is "other").
    assert!(
        plan.problems.iter().all(|p| !matches!(p, stitch_vtep::PlanProblem::LogicalSwitchNameTaken { .. } | stitch_vtep::PlanProblem::TunnelKeyTaken { .. }))
    );
    let mut ls_uuid = BTreeMap::new();
    for (name, dl) in &d.logical_switches {
        let ls = c.logical_switch_by_name(name).unwrap_or_else(|| panic!("logical switch {name} missing"));
        assert!(owner.owns(ls), "{name} not marked");
        assert_eq!(ls.tunnel_key, Some(dl.tunnel_key));
        assert_eq!(ls.description, dl.description);
        if dl.replication_mode.is_some() {
            assert_eq!(ls.replication_mode, dl.replication_mode);
        }
        ls_uuid.insert(name.clone(), ls.uuid);
    }
    let owned_count = t.logical_switches.values().filter(|l| owner.owns(l)).count();
    assert_eq!(owned_count, d.logical_switches.len(), "extra owned logical switches");
    // Bindings.
    let mut want_bindings = BTreeSet::new();
    for ((sw, port), vlans) in &d.port_bindings {
        let Some(p) = c.physical_port(sw, port) else { continue };
        for (v, ls) in vlans {
            let Some(lu) = ls_uuid.get(ls) else { continue };
            if *v == 300 && (sw.as_str(), port.as_str()) == ("ps1", "p1") {
                assert_ne!(p.vlan_bindings.get(v), Some(lu), "foreign VLAN taken over");
                continue;
            }
            assert_eq!(p.vlan_bindings.get(v), Some(lu), "{sw}/{port} VLAN {v} → {ls}");
            want_bindings.insert((p.uuid, *v));
        }
    }
    for p in t.physical_ports.values() {
        for (v, l) in &p.vlan_bindings {
            if t.logical_switches.get(l).is_some_and(|l| owner.owns(l)) {
                assert!(want_bindings.contains(&(p.uuid, *v)), "extra binding {} {v}", p.name);
            }
        }
    }
    // Remote unicast MACs.
    let mut want_ucast = 0;
    for (ls, mac, r) in d.ucast_remote.iter().flat_map(|(ls, macs)| macs.iter().map(move |(m, r)| (ls, m, r))) {
        let Some(lu) = ls_uuid.get(ls) else { continue };
        let rows: Vec<_> = c.ucast_remote_by_mac(*lu, &mac.to_string()).collect();
        assert_eq!(rows.len(), 1, "{ls} {mac}");
        assert_eq!(c.locator_ip(rows[0].locator), Some(r.dst_ip));
        assert_eq!(rows[0].ipaddr(), r.ipaddr.as_deref().unwrap_or_default());
        want_ucast += 1;
    }
    let owned_ucast = t.ucast_remote.values().filter(|m| ls_uuid.values().any(|u| *u == m.logical_switch)).count();
    assert_eq!(owned_ucast, want_ucast, "extra remote MACs");
    // Flood lists.
    let mut want_mcast = 0;
    for ((ls, mac), ips) in &d.mcast_remote {
        let Some(lu) = ls_uuid.get(ls) else { continue };
        let rows: Vec<_> = c.mcast_remote_by_mac(*lu, mac).collect();
        if ips.is_empty() {
            assert!(rows.is_empty());
            continue;
        }
        assert_eq!(rows.len(), 1, "{ls} {mac}");
        assert_eq!(c.locator_set_ips(rows[0].locator_set), Some(ips.to_set()));
        want_mcast += 1;
    }
    let owned_mcast = t.mcast_remote.values().filter(|m| ls_uuid.values().any(|u| *u == m.logical_switch)).count();
    assert_eq!(owned_mcast, want_mcast, "extra flood lists");
    // ACLs: each desired one exists with exactly its entries; bindings are
    // there except the foreign VLAN, the missing port, and a (port, VLAN)
    // an earlier key already took.
    let mut want_acl_bindings = BTreeSet::new();
    for (key, da) in &d.acls {
        let name = owner.acl_name(key);
        let rows: Vec<_> = t.acls.values().filter(|a| a.acl_name == name).collect();
        assert_eq!(rows.len(), 1, "ACL {name}");
        let got: BTreeSet<AclEntry> = rows[0].acl_entries.iter().map(|e| t.acl_entries[e].content()).collect();
        let want: BTreeSet<AclEntry> = da.entries.iter().map(AclEntry::content).collect();
        assert_eq!(got, want, "entries of {name}");
        for (sw, port, v) in &da.bindings {
            let Some(p) = c.physical_port(sw, port) else { continue };
            if *v == 300 && (sw.as_str(), port.as_str()) == ("ps1", "p1") {
                assert_eq!(t.acls[&p.acl_bindings[v]].acl_name, FOREIGN_ACL, "foreign ACL binding taken over");
                continue;
            }
            if !want_acl_bindings.insert((p.uuid, *v)) {
                continue;
            }
            assert_eq!(p.acl_bindings.get(v), Some(&rows[0].uuid), "{sw}/{port} VLAN {v} → ACL {key}");
        }
    }
    assert_eq!(t.acls.values().filter(|a| owner.owns_acl(a)).count(), d.acls.len(), "extra owned ACLs");
    for p in t.physical_ports.values() {
        for (v, a) in &p.acl_bindings {
            if owner.owns_acl(&t.acls[a]) {
                assert!(want_acl_bindings.contains(&(p.uuid, *v)), "extra ACL binding {} {v}", p.name);
            }
        }
    }
}

/// Every locator is referenced and there is at most one per tunnel IP;
/// every locator set is referenced.
pub fn assert_no_garbage(c: &VtepCache) {
    let t = c.tables();
    let mut used = BTreeSet::new();
    used.extend(t.ucast_remote.values().map(|m| m.locator));
    used.extend(t.ucast_local.values().map(|m| m.locator));
    let sets: BTreeSet<_> = t.mcast_remote.values().chain(t.mcast_local.values()).map(|m| m.locator_set).collect();
    for s in &sets {
        used.extend(t.locator_sets[s].locators.iter().copied());
    }
    assert_eq!(t.locator_sets.keys().copied().collect::<BTreeSet<_>>(), sets, "unreferenced locator sets");
    assert_eq!(t.locators.keys().copied().collect::<BTreeSet<_>>(), used, "unreferenced locators");
    let ips: BTreeSet<_> = t.locators.values().map(|l| l.dst_ip.clone()).collect();
    assert_eq!(ips.len(), t.locators.len(), "duplicate locators");
    // ACL_entry is a root table: an entry no ACL uses is a leak.
    let used: BTreeSet<_> = t.acls.values().flat_map(|a| a.acl_entries.iter().copied()).collect();
    assert_eq!(t.acl_entries.keys().copied().collect::<BTreeSet<_>>(), used, "unreferenced ACL entries");
}
