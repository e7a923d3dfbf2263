//! Security groups as switch ACLs: compile is deterministic and
//! order-independent (in memory), and on real ovsdb-server leaves the ACL
//! rows appear for a bound port, change with the rules, move with the
//! port, come back after a wipe and go with the port, leaving foreign
//! ACL rows alone. Checked with `vtep-ctl` as an independent reader.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use stitch_engine::acl;
use stitch_engine::bind;
use stitch_engine::compile::{Learned, compile};
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::security::{EtherType, RuleDirection, SecurityGroupRule, SecurityGroupSpec};
use stitch_model::snapshot::Change;
use stitch_testkit::{eventually, lines};
use stitch_vtep::Owner;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::fixture;
use crate::runtime::{Lab, obj};

fn rule(direction: RuleDirection, ethertype: EtherType, protocol: Option<&str>, ports: Option<(u32, u32)>, remote: Option<&str>) -> SecurityGroupRule {
    SecurityGroupRule {
        id: Uuid::new_v4(),
        description: String::new(),
        project_id: String::new(),
        direction,
        ethertype,
        protocol: protocol.map(str::to_owned),
        port_range_min: ports.map(|p| p.0),
        port_range_max: ports.map(|p| p.1),
        remote_ip_prefix: remote.map(str::to_owned),
        created_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn web_rules() -> Vec<SecurityGroupRule> {
    vec![
        rule(RuleDirection::Egress, EtherType::IPv4, None, None, None),
        rule(RuleDirection::Egress, EtherType::IPv6, None, None, None),
        rule(RuleDirection::Ingress, EtherType::IPv4, Some("tcp"), Some((22, 22)), Some("10.0.0.0/8")),
        rule(RuleDirection::Ingress, EtherType::IPv4, Some("icmp"), Some((8, 0)), None),
    ]
}

fn group(rules: Vec<SecurityGroupRule>) -> SecurityGroupSpec {
    SecurityGroupSpec { name: "web".into(), project_id: String::new(), description: String::new(), rules }
}

// ------------------------------------------------------------------ in memory

fn with_group(s: &Snapshot, n: u128, rules: Vec<SecurityGroupRule>) -> Snapshot {
    fixture::commit(s, vec![fixture::put(fixture::obj(n, group(rules)))])
}

#[test]
fn compile_with_acls_is_deterministic_and_independent_of_rule_order() {
    let s = fixture::network(&fixture::fabric(), 10, NetworkType::Vxlan, None, None);
    let s = with_group(&s, 50, web_rules());
    let mut p = fixture::port_spec(10, 1, "n1", VnicType::Direct);
    p.security_groups = vec![fixture::id(50).to_string()];
    let s = fixture::bind_port(&s, 20, p);
    let owner = Owner::new("o").unwrap();
    let a = compile(&s, &Learned::new(), &owner);
    assert_eq!(a, compile(&s, &Learned::new(), &owner));
    let acls: Vec<_> = a.values().flat_map(|d| d.acls.iter()).collect();
    assert_eq!(acls.len(), 1, "one ACL, on n1's leaf only: {a:#?}");
    let (_, d) = acls[0];
    assert_eq!(d.bindings.len(), 1);
    // Final denies: all IPv4 and IPv6 in both directions, last.
    let denies: Vec<_> = d.entries.iter().filter(|e| e.action == "deny").collect();
    assert_eq!(denies.len(), 4);
    assert!(denies.iter().all(|e| e.sequence >= acl::DENY_SEQUENCE));
    assert!(d.entries.iter().filter(|e| e.action == "permit").all(|e| e.sequence < acl::DENY_SEQUENCE));
    // SSH from 10/8 to the VM: an ACL egress entry (toward the port) with
    // the reply as an ACL ingress TCP entry with ACK set.
    assert!(d.entries.iter().any(|e| e.direction == "egress"
        && e.protocol == Some(6)
        && e.dest_port_min == Some(22)
        && e.source_ip.as_deref() == Some("10.0.0.0")
        && e.source_mask.as_deref() == Some("255.0.0.0")));
    assert!(d.entries.iter().any(|e| e.direction == "ingress"
        && e.protocol == Some(6)
        && e.source_port_min == Some(22)
        && e.tcp_flags == Some(0x10)
        && e.tcp_flags_mask == Some(0x10)));
    // Echo request in, echo reply out.
    assert!(d.entries.iter().any(|e| e.direction == "egress" && e.icmp_type == Some(8)));
    assert!(d.entries.iter().any(|e| e.direction == "ingress" && e.protocol == Some(1) && e.icmp_type == Some(0)));
    // Egress-allow: the VM may send anything; only TCP with ACK, UDP and
    // ICMP come back as replies.
    assert!(d.entries.iter().any(|e| e.direction == "ingress" && e.protocol.is_none() && e.dest_ip.as_deref() == Some("0.0.0.0")));
    let seqs: BTreeSet<_> = d.entries.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs.len(), d.entries.len(), "sequences are unique");

    // The same rules in another order (and new rule ids) give the same ACL.
    let mut rev = web_rules();
    rev.reverse();
    let s2 = with_group(&s, 50, rev);
    assert_eq!(compile(&s2, &Learned::new(), &owner), a);
}

// ------------------------------------------------------------------ real leaves

async fn eventually_async(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < stitch_testkit::PATIENCE, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `acl_bindings` of a leaf's port as `vlan=acl_name` lines.
fn acl_bindings(leaf: &stitch_testkit::VtepServer, port: &str) -> Vec<String> {
    let raw = leaf.ctl(&["--bare", "--columns=acl_bindings", "find", "Physical_Port", &format!("name={port}")]);
    let mut out: Vec<String> = raw
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .filter_map(|kv| kv.split_once('='))
        .map(|(v, u)| format!("{v}={}", leaf.ctl(&["--bare", "get", "ACL", u, "acl_name"]).trim().trim_matches('"')))
        .collect();
    out.sort();
    out
}

fn acl_names(leaf: &stitch_testkit::VtepServer) -> Vec<String> {
    let mut v = lines(&leaf.ctl(&["--bare", "--columns=acl_name", "list", "ACL"]));
    v.sort();
    v
}

fn entry_count(leaf: &stitch_testkit::VtepServer) -> usize {
    lines(&leaf.ctl(&["--bare", "--columns=_uuid", "list", "ACL_entry"])).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_rows_follow_the_port_its_rules_and_the_switch() {
    let ips = ["10.0.0.1", "10.0.0.2"];
    let ports = ["swp1", "swp2", "swp3"];
    let mut lab = Lab::build(&ips, &ports, &["sriov"], &[("n1", 0, "swp1"), ("n2", 1, "swp1")]).await;
    // A foreign ACL on leaf1 swp3 VLAN 5: never touched.
    lab.leaves[0].ctl(&[
        "--",
        "--id=@e",
        "create",
        "ACL_entry",
        "sequence=1",
        "direction=ingress",
        "action=deny",
        "--",
        "--id=@a",
        "create",
        "ACL",
        "acl_name=operator-acl",
        "acl_entries=@e",
        "--",
        "set",
        "Physical_Port",
        "swp3",
        "acl_bindings:5=@a",
    ]);
    let net = lab.network().await;
    let sg = obj(group(web_rules()));
    let sg_id = sg.id;
    lab.catalog.apply(vec![Change::Put(AnyObject::SecurityGroup(sg))]).await.unwrap();
    let mut p = obj(fixture::port_spec(0, 1, "n1", VnicType::Direct));
    p.spec.network_id = net;
    p.spec.security_groups = vec![sg_id.to_string()];
    let pid = p.id;
    lab.catalog.update(|s| bind::put_port(s, p)).await.unwrap();
    lab.converge().await;

    let key = acl::acl_key(&BTreeSet::from([sg_id]));
    let name = format!("test-stitch/{key}");
    let want_entries = acl::entries(&lab.catalog.snapshot(), &BTreeSet::from([sg_id])).len();
    assert_eq!(acl_names(&lab.leaves[0]), vec!["operator-acl".to_string(), name.clone()]);
    assert_eq!(acl_bindings(&lab.leaves[0], "swp1"), vec![format!("100={name}")]);
    assert_eq!(acl_bindings(&lab.leaves[0], "swp3"), vec!["5=operator-acl".to_string()]);
    assert_eq!(entry_count(&lab.leaves[0]), want_entries + 1);
    assert_eq!(acl_names(&lab.leaves[1]), Vec::<String>::new(), "leaf2 has no port with groups");
    let ssh = lab.leaves[0].ctl(&["--bare", "--columns=direction", "find", "ACL_entry", "protocol=6", "dest_port_min=22"]);
    assert_eq!(ssh.trim(), "egress", "SSH to the VM is the logical switch's egress");

    // Rules change: the ACL's entries change in place, same ACL row.
    let acl_uuid = lab.leaves[0].ctl(&["--bare", "--columns=_uuid", "find", "ACL", &format!("acl_name={name}")]);
    let mut rules = web_rules();
    rules.push(rule(RuleDirection::Ingress, EtherType::IPv4, Some("udp"), Some((53, 53)), Some("192.0.2.0/24")));
    lab.catalog
        .update(|s| {
            let mut g = s.security_groups.get(&sg_id).unwrap().clone();
            g.spec.rules = rules.clone();
            Ok::<_, stitch_engine::EngineError>(vec![Change::Put(AnyObject::SecurityGroup(g))])
        })
        .await
        .unwrap();
    lab.converge().await;
    let dns = lab.leaves[0].ctl(&["--bare", "--columns=source_ip", "find", "ACL_entry", "protocol=17", "dest_port_min=53"]);
    assert_eq!(dns.trim(), "192.0.2.0");
    let want_entries = acl::entries(&lab.catalog.snapshot(), &BTreeSet::from([sg_id])).len();
    assert_eq!(entry_count(&lab.leaves[0]), want_entries + 1, "old entries are not left behind");
    assert_eq!(lab.leaves[0].ctl(&["--bare", "--columns=_uuid", "find", "ACL", &format!("acl_name={name}")]), acl_uuid);

    // The port moves to n2: the ACL moves to leaf2 (leaf1's goes once
    // the new place is confirmed).
    let mut moved = lab.catalog.snapshot().ports.get(&pid).unwrap().clone();
    moved.spec.host_id = "n2".into();
    lab.catalog.update(|s| bind::put_port(s, moved)).await.unwrap();
    lab.converge().await;
    eventually("ACL left leaf1", || acl_names(&lab.leaves[0]) == vec!["operator-acl".to_string()]);
    lab.converge().await;
    assert_eq!(acl_bindings(&lab.leaves[1], "swp1"), vec![format!("100={name}")]);
    assert_eq!(acl_bindings(&lab.leaves[0], "swp1"), Vec::<String>::new());
    assert_eq!(entry_count(&lab.leaves[0]), 1, "only the operator's entry is left on leaf1");

    // leaf2 loses its configuration: the ACL is re-applied like any row.
    lab.leaves[1].wipe(ips[1], &ports);
    lab.converge().await;
    eventually("ACL re-applied on leaf2", || acl_bindings(&lab.leaves[1], "swp1") == vec![format!("100={name}")]);
    assert_eq!(entry_count(&lab.leaves[1]), want_entries);

    // The port goes: no Stitch ACL, entry or binding anywhere; the
    // operator's ACL is intact.
    lab.catalog.update(|s| bind::delete_port(s, pid)).await.unwrap();
    lab.converge().await;
    eventually_async("ACLs gone", || acl_names(&lab.leaves[1]).is_empty()).await;
    assert_eq!(entry_count(&lab.leaves[1]), 0);
    assert_eq!(acl_bindings(&lab.leaves[1], "swp1"), Vec::<String>::new());
    assert_eq!(acl_names(&lab.leaves[0]), vec!["operator-acl".to_string()]);
    assert_eq!(acl_bindings(&lab.leaves[0], "swp3"), vec!["5=operator-acl".to_string()]);
    assert_eq!(entry_count(&lab.leaves[0]), 1);
    lab.engine.take().unwrap().shutdown().await;
}

// ------------------------------------------------------------------ properties

mod props {
    use proptest::prelude::*;

    use super::*;

    fn arb_rule() -> impl Strategy<Value = SecurityGroupRule> {
        let proto = prop_oneof![Just(None), Just(Some("tcp")), Just(Some("udp")), Just(Some("icmp")), Just(Some("47"))];
        (any::<bool>(), any::<bool>(), proto, proptest::option::of((1u32..100, 0u32..50)), proptest::option::of(0u8..3)).prop_map(
            |(ingress, v6, proto, ports, net)| {
                let ethertype = if v6 { EtherType::IPv6 } else { EtherType::IPv4 };
                let proto = match (proto, v6) {
                    (Some("icmp"), true) => Some("ipv6-icmp"),
                    (p, _) => p,
                };
                let ports = match proto {
                    Some("tcp" | "udp") => ports.map(|(a, d)| (a, a + d)),
                    Some("icmp" | "ipv6-icmp") => ports.map(|(a, d)| (a % 256, d)),
                    _ => None,
                };
                let remote = net.map(|n| if v6 { format!("2001:db8:{n}::/48") } else { format!("10.{n}.0.0/16") });
                let dir = if ingress { RuleDirection::Ingress } else { RuleDirection::Egress };
                rule(dir, ethertype, proto, ports, remote.as_deref())
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        /// Whatever the rules: valid entries (schema enums, unique
        /// sequences, ordered ranges), permits before the final denies,
        /// and the same ACL for the same rules in any order.
        #[test]
        fn acl_entries_are_valid_and_order_independent(rules in proptest::collection::vec(arb_rule(), 0..8), seed in any::<u64>()) {
            for r in &rules {
                prop_assert!(r.check().is_ok(), "generator made an invalid rule {r:?}");
            }
            let s = fixture::fabric();
            let s = with_group(&s, 50, rules.clone());
            let groups = BTreeSet::from([fixture::id(50)]);
            let a = acl::entries(&s, &groups);
            let mut shuffled = rules.clone();
            let n = shuffled.len();
            if n > 1 {
                shuffled.rotate_left((seed as usize) % n);
            }
            let s2 = with_group(&s, 50, shuffled);
            prop_assert_eq!(&a, &acl::entries(&s2, &groups));
            let seqs: BTreeSet<_> = a.iter().map(|e| e.sequence).collect();
            prop_assert_eq!(seqs.len(), a.len());
            prop_assert_eq!(a.iter().filter(|e| e.action == "deny").count(), 4);
            let last_permit = a.iter().filter(|e| e.action == "permit").map(|e| e.sequence).max().unwrap_or(0);
            prop_assert!(last_permit < acl::DENY_SEQUENCE);
            for e in &a {
                prop_assert!(e.direction == "ingress" || e.direction == "egress");
                prop_assert!(e.action == "permit" || e.action == "deny");
                if let (Some(lo), Some(hi)) = (e.dest_port_min, e.dest_port_max) { prop_assert!(lo <= hi); }
                if let (Some(lo), Some(hi)) = (e.source_port_min, e.source_port_max) { prop_assert!(lo <= hi); }
                prop_assert!(e.source_mac.is_none() && e.dest_mac.is_none() && e.ethertype.is_none(), "L3/L4 fields only: {e:?}");
                prop_assert_eq!(e.tcp_flags.is_some(), e.protocol == Some(6) && e.tcp_flags_mask.is_some());
            }
        }
    }
}

// ------------------------------------------------------------------ profiles on real leaves

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_reconverges_the_acl_and_a_restart_keeps_it() {
    let ips = ["10.0.0.1"];
    let ports = ["swp1"];
    let mut lab = Lab::build(&ips, &ports, &["sriov"], &[("n1", 0, "swp1")]).await;
    let net = lab.network().await;
    let (a, b) = (obj(group(web_rules())), obj(group(vec![rule(RuleDirection::Ingress, EtherType::IPv4, Some("udp"), Some((53, 53)), None)])));
    let (ga, gb) = (a.id, b.id);
    let profile = obj(PortProfileSpec {
        name: "vf".into(),
        allowed_frames: AllowedFrames::All,
        allowed_vlans: vec![],
        mtu: None,
        security_groups: vec![ga],
        qos_policy_id: None,
        networks: vec![net],
    });
    let pp = profile.id;
    lab.catalog
        .apply(vec![Change::Put(AnyObject::SecurityGroup(a)), Change::Put(AnyObject::SecurityGroup(b)), Change::Put(AnyObject::PortProfile(profile))])
        .await
        .unwrap();
    // A port naming no group and no profile gets the network default's groups.
    lab.port(None, net, "fa:16:3e:00:00:01", "n1").await;
    lab.converge().await;
    let name = |g: Uuid| format!("test-stitch/{}", acl::acl_key(&BTreeSet::from([g])));
    assert_eq!(acl_bindings(&lab.leaves[0], "swp1"), vec![format!("100={}", name(ga))]);

    // The profile now gives group b: the leaf's ACL follows.
    lab.catalog
        .update(|s| {
            let mut p = s.port_profiles.get(&pp).unwrap().clone();
            p.spec.security_groups = vec![gb];
            stitch_engine::profile::with_rebound_ports(s, vec![Change::Put(AnyObject::PortProfile(p))])
        })
        .await
        .unwrap();
    lab.converge().await;
    assert_eq!(acl_bindings(&lab.leaves[0], "swp1"), vec![format!("100={}", name(gb))]);
    assert_eq!(acl_names(&lab.leaves[0]), vec![name(gb)], "the old ACL is gone");
    let want = acl::entries(&lab.catalog.snapshot(), &BTreeSet::from([gb])).len();
    assert_eq!(entry_count(&lab.leaves[0]), want);

    // The switch's server restarts (same database): nothing lost or doubled.
    lab.leaves[0].restart();
    lab.converge().await;
    assert_eq!(acl_bindings(&lab.leaves[0], "swp1"), vec![format!("100={}", name(gb))]);
    assert_eq!(entry_count(&lab.leaves[0]), want);
    lab.engine.take().unwrap().shutdown().await;
}

/// A group whose only user is a standby (inactive, live-migration
/// target) binding is filtered already; a bound user's groups win over a
/// draining one's.
#[test]
fn standby_and_draining_users_lend_their_groups_only_when_nobody_is_bound() {
    let s = fixture::network(&fixture::fabric(), 10, NetworkType::Vxlan, None, None);
    let s = with_group(&s, 50, web_rules());
    let s = with_group(&s, 51, vec![]);
    let mut p = fixture::port_spec(10, 1, "n1", VnicType::Direct);
    p.security_groups = vec![fixture::id(50).to_string()];
    let s = fixture::bind_port(&s, 20, p);
    let owner = Owner::new("o").unwrap();
    let keys = |s: &Snapshot| -> Vec<String> { compile(s, &Learned::new(), &owner).values().flat_map(|d| d.acls.keys().cloned()).collect() };
    let key50 = acl::acl_key(&BTreeSet::from([fixture::id(50)]));
    assert_eq!(keys(&s), vec![key50.clone()]);
    // The same group, its only user now standby there.
    let mut g = s.vpgs.iter().next().unwrap().clone();
    let user = g.spec.port_ids.remove(0);
    g.spec.standby = vec![user];
    let standby = fixture::commit(&s, vec![fixture::put(g.clone())]);
    assert_eq!(keys(&standby), vec![key50.clone()], "a standby user is filtered before activation");
    // A bound user (group 51) and a draining one (group 50): the bound one decides.
    let mut q = fixture::port_spec(10, 2, "", VnicType::Direct);
    q.security_groups = vec![fixture::id(51).to_string()];
    let s2 = fixture::bind_port(&s, 21, q);
    let mut g2 = g.clone();
    g2.spec.standby = vec![];
    g2.spec.port_ids = vec![fixture::id(21)];
    g2.spec.draining = vec![user];
    let s2 = fixture::commit(&s2, vec![fixture::put(g2)]);
    assert_eq!(keys(&s2), vec![acl::acl_key(&BTreeSet::from([fixture::id(51)]))]);
}
