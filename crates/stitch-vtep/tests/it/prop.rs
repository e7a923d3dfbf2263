//! Property: for random desired states A and B, from a switch with
//! foreign rows: plan A, apply, plan again is empty and the database
//! reflects A; the same for B; the same toward the empty state, after
//! which no owned row is left; foreign rows never change; no garbage.
//! Run on the in-memory simulation (many cases, with the monitor-fed
//! cache checked against a fresh read at every step) and on a real
//! ovsdb-server (a few cases).

use std::collections::BTreeSet;

use proptest::prelude::*;
use stitch_vtep::{DesiredVtep, Scope, VtepCache, apply, plan, plan_scoped, read_all};

use crate::model::{LS, arb_desired, assert_no_garbage, assert_reflects, foreign_view, owned_rows, owner, sim_setup_ops};
use crate::server::OvsdbServer;
use crate::sim::SimDb;

fn run_sim(steps: Vec<DesiredVtep>) {
    let mut db = SimDb::new();
    db.transact(&sim_setup_ops()).expect("setup");
    let foreign = foreign_view(&db.cache(), &owner());
    let mut incremental = db.cache();
    for d in steps.iter().chain([&DesiredVtep::empty(owner())]) {
        let observed = db.cache();
        assert_eq!(incremental.tables(), observed.tables(), "monitor-fed cache drifted from a fresh read");
        let p = plan(d, &observed);
        let before = db.clone();
        if let Err(e) = db.transact(&p.ops) {
            panic!("transaction failed: {e}\nplan: {:#?}", p.notes);
        }
        incremental.apply(&db.updates_since(&before)).expect("update2 applies");
        let after = db.cache();
        let again = plan(d, &after);
        assert!(again.is_empty(), "second plan not empty: {:#?}\nfirst: {:#?}", again.notes, p.notes);
        assert!(plan(d, &incremental).is_empty(), "plan from the monitor-fed cache not empty");
        assert_eq!(again.problems, p.problems, "problems are stable");
        assert_reflects(d, &after, &p);
        assert_no_garbage(&after);
        assert_eq!(foreign_view(&after, &owner()), foreign, "foreign rows changed");
    }
    assert_eq!(owned_rows(&db.cache(), &owner()), Vec::<String>::new());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn sim_plan_apply_converges(a in arb_desired(), b in arb_desired()) {
        run_sim(vec![a, b]);
    }
}

/// The foreign rows and switches of [`crate::model::sim_setup_ops`],
/// written the way a switch and an operator would.
pub fn real_setup(s: &OvsdbServer) {
    s.add_switch("ps1", "10.0.0.1", &["p1", "p2", "p3"]);
    s.add_switch("ps2", "10.0.0.11", &["p1"]);
    s.vtep_ctl(&["add-ls", "other"]);
    s.vtep_ctl(&["set", "Logical_Switch", "other", "tunnel_key=7"]);
    s.vtep_ctl(&["bind-ls", "ps1", "p1", "300", "other"]);
    s.vtep_ctl(&["add-ucast-remote", "other", "fa:16:3e:00:00:99", "10.0.0.9"]);
    let p1 = s.port_uuid("ps1", "p1");
    let acl_name = format!("acl_name={}", crate::model::FOREIGN_ACL);
    s.vtep_ctl(&[
        "--",
        "--id=@e",
        "create",
        "ACL_entry",
        "sequence=1",
        "direction=egress",
        "action=deny",
        "--",
        "--id=@a",
        "create",
        "ACL",
        &acl_name,
        "acl_entries=@e",
        "--",
        "set",
        "Physical_Port",
        &p1,
        "acl_bindings:300=@a",
    ]);
}

async fn run_real(steps: Vec<DesiredVtep>) {
    let s = OvsdbServer::start();
    real_setup(&s);
    let (client, _events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.expect("schema");
    let read = || async { read_all(&client, schema.clone()).await.expect("read") };
    let foreign = foreign_view(&read().await, &owner());
    for d in steps.iter().chain([&DesiredVtep::empty(owner())]) {
        let observed: VtepCache = read().await;
        let p = plan(d, &observed);
        let applied = apply(&client, &p).await.unwrap_or_else(|e| panic!("{e}\nplan: {:#?}", p.notes));
        assert!(applied.is_complete(), "stale ops {:?}", applied.stale);
        let after = read().await;
        let again = plan(d, &after);
        assert!(again.is_empty(), "second plan not empty: {:#?}\nfirst: {:#?}", again.notes, p.notes);
        assert_reflects(d, &after, &p);
        assert_no_garbage(&after);
        assert_eq!(foreign_view(&after, &owner()), foreign, "foreign rows changed");
    }
    assert_eq!(owned_rows(&read().await, &owner()), Vec::<String>::new());
    // Only the foreign MAC's locator is left (the server collected ours).
    assert_eq!(s.column("Physical_Locator", "dst_ip"), ["10.0.0.9"]);
    client.close();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn real_plan_apply_converges(a in arb_desired(), b in arb_desired()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_real(vec![a, b]));
    }
}

/// The names of the logical switches whose part differs between `a` and
/// `b`: the switch itself, its bindings, its remote and flood MACs.
fn differing(a: &DesiredVtep, b: &DesiredVtep) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for d in [a, b] {
        names.extend(d.logical_switches.keys().map(|n| n.to_string()));
        names.extend(d.port_bindings.values().flat_map(|v| v.values().map(|n| n.to_string())));
        names.extend(d.ucast_remote.keys().map(|n| n.to_string()));
        names.extend(d.mcast_remote.keys().map(|(l, _)| l.to_string()));
    }
    let part = |d: &DesiredVtep, n: &str| {
        let ls = d.logical_switches.get(n).cloned();
        let bindings: BTreeSet<(String, String, u16)> = d
            .port_bindings
            .iter()
            .flat_map(|((s, p), v)| v.iter().filter(|(_, l)| *l == n).map(move |(vlan, _)| (s.to_string(), p.to_string(), *vlan)))
            .collect();
        let ucast = d.ucast_remote.get(n);
        let mcast: Vec<_> = d.mcast_remote.iter().filter(|((l, _), _)| l == n).map(|((_, m), ips)| (stitch_vtep::mac_key(m), ips)).collect();
        format!("{ls:?}{bindings:?}{ucast:?}{mcast:?}")
    };
    names.into_iter().filter(|n| part(a, n) != part(b, n)).collect()
}

/// A simulated switch holding `a`, converged, with the cache a monitor
/// would have fed.
fn converged(a: &DesiredVtep) -> SimDb {
    let mut db = SimDb::new();
    db.transact(&sim_setup_ops()).expect("setup");
    let p = plan(a, &db.cache());
    db.transact(&p.ops).expect("converge");
    assert!(plan(a, &db.cache()).is_empty());
    db
}

fn without_acls(mut d: DesiredVtep, keep: bool) -> DesiredVtep {
    if !keep {
        d.acls.clear();
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The desired state moves from `a` (converged) to `b`: planning only
    /// the logical switches whose part changed (and any others) gives
    /// exactly the full plan — and its problems, when the converged state
    /// had none.
    #[test]
    fn scoped_plan_equals_full_plan_when_the_rest_converged(
        a in arb_desired(), b in arb_desired(), acls in any::<bool>(),
        extra in proptest::collection::btree_set(0..LS.len() + 1, 0..3),
    ) {
        let (a, b) = (without_acls(a, acls), without_acls(b, acls));
        let db = converged(&a);
        let c = db.cache();
        let mut names = differing(&a, &b);
        // What the desired states say about themselves agrees.
        match b.changes_from(&a) {
            Scope::All => prop_assert!(a.acls != b.acls, "all, with equal ACLs"),
            Scope::LogicalSwitches(s) => prop_assert_eq!(&s, &names),
        }
        names.extend(extra.into_iter().map(|i| LS.get(i).map_or("not-a-switch".to_owned(), |s| s.to_string())));
        let full = plan(&b, &c);
        let scoped = plan_scoped(&b, &c, &Scope::LogicalSwitches(names));
        prop_assert_eq!(&scoped.ops, &full.ops);
        prop_assert_eq!(&scoped.notes, &full.notes);
        if plan(&a, &c).problems.is_empty() {
            prop_assert_eq!(&scoped.problems, &full.problems);
        }
    }

    /// Someone else moves a switch that holds `a` to `b`'s rows: the scope
    /// the monitor update shows covers everything a full plan back to `a`
    /// touches, so the scoped plan is the full plan.
    #[test]
    fn monitor_updates_show_what_they_touched(a in arb_desired(), b in arb_desired(), acls in any::<bool>()) {
        let (a, b) = (without_acls(a, acls), without_acls(b, acls));
        let mut db = converged(&a);
        let mut c = db.cache();
        let before = db.clone();
        db.transact(&plan(&b, &c).ops).expect("drift");
        let scope = c.apply_scoped(&db.updates_since(&before), &owner()).expect("update applies");
        let fresh = db.cache();
        prop_assert_eq!(c.tables(), fresh.tables());
        // The bindings-by-logical-switch index, kept up by the update, lists
        // exactly the ports' pairs (stale entries would sit under a logical
        // switch of the state before).
        let pairs: BTreeSet<(uuid::Uuid, uuid::Uuid, u16)> =
            fresh.tables().physical_ports.values().flat_map(|p| p.vlan_bindings.iter().map(move |(v, ls)| (*ls, p.uuid, *v))).collect();
        let mut lss: BTreeSet<uuid::Uuid> = pairs.iter().map(|t| t.0).collect();
        lss.extend(before.cache().tables().physical_ports.values().flat_map(|p| p.vlan_bindings.values().copied()));
        let indexed: BTreeSet<(uuid::Uuid, uuid::Uuid, u16)> = lss.iter().flat_map(|ls| c.bindings_of_logical_switch(*ls).map(move |(p, v)| (*ls, p, v))).collect();
        prop_assert_eq!(indexed, pairs);
        let full = plan(&a, &c);
        let scoped = plan_scoped(&a, &c, &scope);
        prop_assert_eq!(&scoped.ops, &full.ops, "scope {:?}", scope);
        if plan(&a, &before.cache()).problems.is_empty() {
            prop_assert_eq!(&scoped.problems, &full.problems);
        }
    }
}

/// A binding moved from one logical switch to another out of band: the
/// update (an update2 diff of the port alone) shows exactly those two,
/// not everything, and planning them puts it back.
#[test]
fn a_moved_binding_shows_its_two_logical_switches() {
    use stitch_vtep::DesiredLogicalSwitch;
    let both =
        DesiredVtep::empty(owner()).with_logical_switch(LS[0], DesiredLogicalSwitch::new(1000)).with_logical_switch(LS[1], DesiredLogicalSwitch::new(1001));
    let a = both.clone().with_binding("ps1", "p2", 10, LS[0]).with_binding("ps1", "p3", 20, LS[1]);
    let b = both.with_binding("ps1", "p2", 10, LS[1]).with_binding("ps1", "p3", 20, LS[1]);
    let mut db = converged(&a);
    let mut c = db.cache();
    let before = db.clone();
    db.transact(&plan(&b, &c).ops).expect("drift");
    let updates = db.updates_since(&before);
    let scope = c.apply_scoped(&updates, &owner()).expect("update applies");
    assert_eq!(scope, Scope::LogicalSwitches([LS[0].to_owned(), LS[1].to_owned()].into()), "{updates:?}");
    let back = plan_scoped(&a, &c, &scope);
    assert_eq!(back.ops, plan(&a, &c).ops);
    assert_eq!(back.ops.len(), 1, "one mutate of the port: {:#?}", back.notes);
}

/// The same on a real ovsdb-server through a real monitor (update3, with
/// the `_version` column the simulation does not send): the moved binding
/// shows its two logical switches, nothing more.
#[tokio::test]
async fn a_moved_binding_on_a_real_server_shows_its_two_logical_switches() {
    use stitch_vtep::{DesiredLogicalSwitch, monitor_requests};
    let both =
        DesiredVtep::empty(owner()).with_logical_switch(LS[0], DesiredLogicalSwitch::new(1000)).with_logical_switch(LS[1], DesiredLogicalSwitch::new(1001));
    let a = both.clone().with_binding("ps1", "p2", 10, LS[0]).with_binding("ps1", "p3", 20, LS[1]);
    let b = both.with_binding("ps1", "p2", 10, LS[1]).with_binding("ps1", "p3", 20, LS[1]);
    let s = OvsdbServer::start();
    real_setup(&s);
    let (client, mut events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.expect("schema");
    let started = client.monitor("hardware_vtep", monitor_requests(&schema), ovsdb::MonitorMethod::MonitorCondSince).await.expect("monitor");
    let mut c = VtepCache::new(schema.clone());
    c.apply(&started.updates).expect("initial rows");
    // Wait for the update carrying a transaction's rows; return its scope.
    async fn next_scope(c: &mut VtepCache, events: &mut ovsdb::Events) -> Scope {
        loop {
            let ev = tokio::time::timeout(crate::server::PATIENCE, events.recv()).await.expect("an update in time").expect("client alive");
            if let ovsdb::Event::Update { updates, .. } = ev {
                return c.apply_scoped(&updates, &owner()).expect("update applies");
            }
        }
    }
    apply(&client, &plan(&a, &c)).await.expect("converge");
    next_scope(&mut c, &mut events).await;
    assert!(plan(&a, &c).is_empty());
    apply(&client, &plan(&b, &c)).await.expect("drift");
    let scope = next_scope(&mut c, &mut events).await;
    assert_eq!(scope, Scope::LogicalSwitches([LS[0].to_owned(), LS[1].to_owned()].into()));
    assert_eq!(plan_scoped(&a, &c, &scope).ops, plan(&a, &c).ops);
    client.close();
}
