//! The issue-8 workload, shared by the engine benches: an inventory of
//! S leaves (one endpoint each, an SR-IOV server cabled to each) and
//! networks of 10 ports over 3 leaves, bound through the real binding
//! engine in bulk requests of 500.

#![allow(dead_code)] // each bench uses part of it

use std::collections::BTreeMap;

use ovsdb::monitor::{RowUpdate2, Updates};
use ovsdb::notation::{Row, Value};
use ovsdb::server::Database;
use stitch_engine::bind;
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::snapshot::{Change, SystemContext};
use stitch_vtep::{DesiredVtep, Table, VtepCache, initial_updates, plan};
use time::OffsetDateTime;
use uuid::Uuid;

/// The value given to `--name` on the command line (the last one, if
/// given twice), parsed; `what` names it in the panic when it does not
/// parse or is missing its value.
pub fn flag<T: std::str::FromStr>(name: &str, what: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    assert!(args.last().is_none_or(|a| a != name), "{name} needs a value: {name} {what}");
    args.windows(2).filter(|w| w[0] == name).last().map(|w| w[1].parse().unwrap_or_else(|_| panic!("{name} {what}")))
}

pub fn obj<S>(spec: S) -> Object<S> {
    Object { id: Uuid::new_v4(), created_at: OffsetDateTime::UNIX_EPOCH, updated_at: OffsetDateTime::UNIX_EPOCH, spec }
}

pub fn put<S: Spec>(o: Object<S>) -> Change {
    Change::Put(S::wrap(o))
}

pub fn commit(s: &Snapshot, c: Vec<Change>) -> Snapshot {
    s.apply(c, &mut SystemContext).expect("valid").0
}

pub fn inventory(switches: usize) -> Snapshot {
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

pub fn network(i: usize) -> Object<NetworkSpec> {
    obj(NetworkSpec::vxlan(format!("n{i}")))
}

pub fn port(net: Uuid, n: usize, host: usize) -> Object<PortSpec> {
    let mac = stitch_model::MacAddr([0xfa, 0x16, 0x3e, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    obj(PortSpec { host_id: format!("host{host}").into(), vnic_type: VnicType::Direct, ..PortSpec::new(net, mac) })
}

/// The leaf of port `j` (0..10) of network `k`: 4 + 3 + 3 ports on 3 leaves.
pub fn leaf_of(k: usize, j: usize, switches: usize) -> usize {
    (3 * k + [0, 0, 0, 0, 1, 1, 1, 2, 2, 2][j]) % switches
}

/// A database holding what the switch itself owns: its Physical_Switch
/// with its tunnel IP and its port p1.
pub fn switch_db(sw: &Object<SwitchSpec>) -> VtepCache {
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

pub fn peak_rss_mib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) / 1024
}

/// Puts the networks, 500 per commit.
pub fn add_networks(mut s: Snapshot, nets: &[Object<NetworkSpec>]) -> Snapshot {
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
    s
}

/// Binds ports `(network, port number, leaf)` in bulk requests of 500,
/// each validated on a private copy as the Neutron handler does, then
/// committed as one.
pub fn bind_ports(mut s: Snapshot, all: &[(Uuid, usize, usize)]) -> Snapshot {
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
    s
}

/// The ports of the workload: port `p` is the `p % 10`th of network `p / 10`.
pub fn workload_ports(nets: &[Object<NetworkSpec>], n: usize, switches: usize) -> Vec<(Uuid, usize, usize)> {
    (0..n).map(|p| (nets[p / 10].id, p, leaf_of(p / 10, p % 10, switches))).collect()
}

/// The database of one endpoint after its first plan ran, as the initial
/// contents of a monitor.
pub fn observed(s: &Snapshot, key: &str, switch: &str, desired: &DesiredVtep) -> Updates {
    let schema_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stitch_vtep::INSTALLED_SCHEMA_PATH).expect("vtep schema")).expect("json");
    let mut db = Database::new(schema_json).expect("schema");
    let sw = s.switches.iter().find(|w| w.spec.name == switch).expect("switch");
    let empty = switch_db(sw);
    // The switch's own rows (held by the root `Global` row, or the
    // database would collect them at commit), then the plan against them.
    let rows = empty.observed_rows();
    let switches: Vec<ovsdb::Atom> = rows.get("Physical_Switch").into_iter().flat_map(|t| t.keys()).map(|u| ovsdb::Atom::Uuid(*u)).collect();
    let global = Row::new().with("switches", Value::set(switches));
    let own: Vec<serde_json::Value> = rows
        .into_iter()
        .flat_map(|(t, rows)| {
            rows.into_iter().map(move |(u, row)| ovsdb::Operation::Insert { table: t.clone(), row, uuid_name: None, uuid: Some(u) }.to_json())
        })
        .chain([ovsdb::Operation::Insert { table: "Global".into(), row: global, uuid_name: None, uuid: None }.to_json()])
        .collect();
    assert!(db.transact(&own).committed, "switch rows");
    let p = plan(desired, &empty);
    assert!(p.problems.is_empty(), "{key}: {:?}", p.problems);
    let ops: Vec<serde_json::Value> = p.ops.iter().map(|o| o.to_json()).collect();
    let out = db.transact(&ops);
    assert!(out.committed, "{key}: {:?}", out.results);
    Updates::V2(
        Table::ALL
            .iter()
            .filter(|t| **t != Table::LogicalBindingStats)
            .map(|t| {
                let rows = db.table(t.name()).map(|(u, r)| (*u, RowUpdate2::Initial(without_meta(r)))).collect();
                (t.name().to_owned(), rows)
            })
            .collect(),
    )
}

/// A row without `_uuid` and `_version`, and without the columns holding
/// their default value, as `update2` leaves them out.
pub fn without_meta(r: &Row) -> Row {
    r.iter().filter(|(c, v)| !c.starts_with('_') && !v.is_empty()).map(|(c, v)| (c.clone(), v.clone())).collect()
}
