//! The reconcile runtime against three real ovsdb-servers (vtep schema),
//! checked with `vtep-ctl` as an independent reader.

use std::sync::Arc;
use std::time::{Duration, Instant};

use stitch_engine::bind;
use stitch_engine::runtime::{Engine, EngineConfig};
use stitch_engine::status::StatusBoard;
use stitch_model::OvsdbTarget;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_store::{Catalog, MemStore};
use stitch_vtep::Owner;
use time::OffsetDateTime;
use uuid::Uuid;

use stitch_testkit::{VtepServer, eventually, lines};

const IPS: [&str; 3] = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
const PORTS: [&str; 3] = ["swp1", "swp2", "swp3"];

/// Real leaves, a catalog and a running engine: the runtime tests' world.
pub(crate) struct Lab {
    pub(crate) leaves: Vec<VtepServer>,
    pub(crate) switch_ids: Vec<Uuid>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) status: Arc<StatusBoard>,
    pub(crate) engine: Option<Engine>,
}

pub(crate) fn obj<S>(spec: S) -> Object<S> {
    let now = OffsetDateTime::now_utc();
    Object { id: Uuid::new_v4(), created_at: now, updated_at: now, spec }
}

async fn eventually_async(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < stitch_testkit::PATIENCE, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Lab {
    /// Three leaves; n1..n3 on leaf1..leaf3 swp1, n4 on leaf1 swp2.
    pub(crate) async fn new() -> Lab {
        Self::build(&IPS, &PORTS, &["sriov"], &[("n1", 0, "swp1"), ("n2", 1, "swp1"), ("n3", 2, "swp1"), ("n4", 0, "swp2")]).await
    }

    /// One leaf per tunnel IP, each with `ports`; a card whose ens1f0
    /// carries `labels`; `nodes` as (name, leaf index, switch port).
    pub(crate) async fn build(ips: &[&str], ports: &[&str], labels: &[&str], nodes: &[(&str, usize, &str)]) -> Lab {
        let leaves: Vec<_> = ips.iter().enumerate().map(|(i, ip)| VtepServer::start(&format!("leaf{}", i + 1), ip, ports)).collect();
        let catalog = Arc::new(Catalog::open(Arc::new(MemStore::new())).await.unwrap());
        let f = obj(FabricSpec {
            name: "dc1".into(),
            vni_range: serde_json::from_str("[5000, 5999]").unwrap(),
            vlan_range: serde_json::from_str("[100, 199]").unwrap(),
            vlan_mode: VlanMode::PerSwitch,
        });
        let mut changes = vec![Change::Put(AnyObject::Fabric(f.clone()))];
        let mut switch_ids = Vec::new();
        for (i, l) in leaves.iter().enumerate() {
            let sw = obj(SwitchSpec {
                name: l.name.clone(),
                fabric_id: f.id,
                ovsdb: l.target().parse().unwrap(),
                tunnel_ip: ips[i].parse().unwrap(),
                management_ip: None,
                vlan_range: None,
                role: SwitchRole::Leaf,
                chassis_mac: None,
            });
            switch_ids.push(sw.id);
            changes.push(Change::Put(AnyObject::Switch(sw)));
        }
        let hw = obj(HardwareSpec { name: "hw".into(), model: None });
        let labels = labels.iter().map(|l| l.to_string()).collect();
        let card = obj(CardSpec { name: "c".into(), hardware_ids: vec![hw.id], interface_map: vec![Interface { name: "ens1f0".into(), labels }] });
        let prof = obj(NodeProfileSpec { name: "p".into(), hardware_ids: vec![hw.id] });
        changes.push(Change::Put(AnyObject::Hardware(hw)));
        changes.push(Change::Put(AnyObject::Card(card)));
        changes.push(Change::Put(AnyObject::NodeProfile(prof.clone())));
        for (n, leaf, port) in nodes {
            let node = obj(NodeSpec {
                name: n.to_string(),
                node_profile_id: Some(prof.id),
                node_type: NodeType::Compute,
                aliases: vec![],
                ports: vec![NodePort { name: "ens1f0".into(), mac: None, switch_id: switch_ids[*leaf], switch_port: port.to_string() }],
            });
            changes.push(Change::Put(AnyObject::Node(node)));
        }
        catalog.apply(changes).await.unwrap();
        let status = Arc::new(StatusBoard::new());
        let mut cfg = EngineConfig::new(Owner::new("test-stitch").unwrap());
        cfg.resync_interval = Duration::from_millis(500);
        let engine = Engine::start(catalog.clone(), status.clone(), cfg);
        Lab { leaves, switch_ids, catalog, status, engine: Some(engine) }
    }

    pub(crate) async fn network(&self) -> Uuid {
        self.named_network("a").await
    }

    pub(crate) async fn named_network(&self, name: &str) -> Uuid {
        let net = obj(NetworkSpec::vxlan(name));
        let id = net.id;
        self.catalog.update(|s| bind::put_network(s, net, None)).await.unwrap();
        id
    }

    pub(crate) async fn port(&self, id: Option<Uuid>, net: Uuid, mac: &str, host: &str) -> Uuid {
        let existing = id.and_then(|i| self.catalog.snapshot().ports.get(&i).cloned());
        let mut p = existing.unwrap_or_else(|| obj(PortSpec { vnic_type: VnicType::Direct, ..PortSpec::new(net, mac.parse().unwrap()) }));
        p.spec.host_id = host.into();
        let pid = p.id;
        self.catalog.update(|s| bind::put_port(s, p)).await.unwrap();
        pid
    }

    fn in_sync(&self, i: usize) -> bool {
        let rev = self.catalog.snapshot().revision;
        self.status.switch_holds(&self.switch_ids[i], rev)
    }

    pub(crate) async fn converge(&self) {
        eventually_async("all switches in sync", || (0..self.switch_ids.len()).all(|i| self.in_sync(i))).await;
    }

    fn total_ops(&self) -> u64 {
        self.switch_ids.iter().map(|s| self.status.get(s).map_or(0, |s| s.total_ops)).sum()
    }

    fn reconciles(&self, i: usize) -> u64 {
        self.status.get(&self.switch_ids[i]).map_or(0, |s| s.reconciles)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_leaves_converge_repair_and_clean_up() {
    let mut lab = Lab::new().await;
    let net = lab.network().await;
    let ls = net.to_string();
    let p1 = lab.port(None, net, "fa:16:3e:00:00:01", "n1").await;
    let p2 = lab.port(None, net, "fa:16:3e:00:00:02", "n2").await;
    let _p3 = lab.port(None, net, "fa:16:3e:00:00:03", "n3").await;
    lab.converge().await;

    // Every leaf holds the logical switch with the VNI, its binding, and
    // remote MACs and a flood list pointing at the other two leaves.
    for (i, leaf) in lab.leaves.iter().enumerate() {
        assert_eq!(lines(&leaf.ctl(&["list-ls"])), vec![ls.clone()], "leaf{}", i + 1);
        assert_eq!(leaf.ctl(&["get", "Logical_Switch", &ls, "tunnel_key"]).trim(), "5000");
        assert_eq!(lines(&leaf.ctl(&["list-bindings", &leaf.name, "swp1"])), vec![format!("0100 {ls}")]);
        let remote = leaf.ctl(&["list-remote-macs", &ls]);
        for (j, ip) in IPS.iter().enumerate() {
            let mac = format!("fa:16:3e:00:00:0{}", j + 1);
            let line = format!("{mac} -> vxlan_over_ipv4/{ip}");
            assert_eq!(remote.contains(&line), i != j, "leaf{} remote MACs:\n{remote}", i + 1);
            assert_eq!(remote.contains(&format!("unknown-dst -> vxlan_over_ipv4/{ip}")), i != j, "leaf{} flood list:\n{remote}", i + 1);
        }
    }

    // A MAC leaf1 learned on its own port (a VM behind the VF that Stitch
    // did not bind, say) is spread to the other leaves as a remote MAC at
    // leaf1's tunnel IP; one that contradicts a binding is not.
    lab.leaves[0].ctl(&["add-ucast-local", &ls, "fa:16:3e:00:00:aa", "10.0.0.1"]);
    lab.leaves[0].ctl(&["add-ucast-local", &ls, "fa:16:3e:00:00:02", "10.0.0.1"]);
    eventually("learned MAC spread", || lab.leaves[2].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:aa -> vxlan_over_ipv4/10.0.0.1"));
    let l3 = lab.leaves[2].ctl(&["list-remote-macs", &ls]);
    assert!(l3.contains("fa:16:3e:00:00:02 -> vxlan_over_ipv4/10.0.0.2"), "the binding wins over a contradicting learned MAC:\n{l3}");
    assert!(!l3.contains("fa:16:3e:00:00:02 -> vxlan_over_ipv4/10.0.0.1"), "{l3}");
    lab.leaves[0].ctl(&["del-ucast-local", &ls, "fa:16:3e:00:00:aa"]);
    lab.leaves[0].ctl(&["del-ucast-local", &ls, "fa:16:3e:00:00:02"]);
    eventually("aged-out MAC withdrawn", || !lab.leaves[2].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:aa"));
    lab.converge().await;

    // Converged: further passes send nothing.
    let ops = lab.total_ops();
    let r = lab.reconciles(0);
    eventually_async("more reconcile passes", || lab.reconciles(0) >= r + 3).await;
    assert_eq!(lab.total_ops(), ops, "a converged fabric must get zero operations");

    // Rows written by someone else survive, and out-of-band deletions are repaired.
    let l1 = &lab.leaves[0];
    l1.ctl(&["add-ls", "other"]);
    l1.ctl(&["bind-ls", "leaf1", "swp1", "300", "other"]);
    l1.ctl(&["add-ucast-remote", "other", "00:11:22:33:44:55", "192.0.2.9"]);
    l1.ctl(&["unbind-ls", "leaf1", "swp1", "100"]);
    eventually("binding repaired", || l1.ctl(&["list-bindings", "leaf1", "swp1"]).contains(&format!("0100 {ls}")));
    // Someone wipes our logical switch by hand (it must be unreferenced first).
    l1.ctl(&["--", "clear-remote-macs", &ls, "--", "unbind-ls", "leaf1", "swp1", "100", "--", "del-ls", &ls]);
    eventually("logical switch repaired", || lines(&l1.ctl(&["list-ls"])).contains(&ls) && l1.ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:02"));
    lab.converge().await;

    // A switch that is down does not hold up the others, and its ports stay DOWN.
    lab.leaves[2].stop();
    eventually_async("leaf3 seen as down", || !lab.status.get(&lab.switch_ids[2]).unwrap().connected).await;
    // It stays reported down: a pass planned from its last cache would
    // find nothing to send and say it is in sync. Several resync periods
    // of the others go by (leaf3's own period is the same).
    let r = lab.reconciles(0);
    eventually_async("more passes on leaf1", || lab.reconciles(0) >= r + 4).await;
    let l3 = lab.status.get(&lab.switch_ids[2]).unwrap();
    assert!(!l3.connected && !l3.in_sync, "a stopped switch is reported down and not in sync: {l3:?}");
    let p4 = lab.port(None, net, "fa:16:3e:00:00:04", "n4").await;
    eventually_async("leaf1 and leaf2 converge while leaf3 is down", || lab.in_sync(0) && lab.in_sync(1)).await;
    let snap = lab.catalog.snapshot();
    assert_eq!(lab.status.port_status(&snap, snap.ports.get(&p4).unwrap()), "ACTIVE");
    let p3_status = lab.status.port_status(&snap, snap.ports.iter().find(|p| p.spec.host_id == "n3").unwrap());
    assert_eq!(p3_status, "DOWN", "a port on a stopped switch is not ACTIVE");
    assert!(lab.leaves[1].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:04 -> vxlan_over_ipv4/10.0.0.1"));

    // The switch comes back (after losing its configuration): everything is re-pushed.
    lab.leaves[2].wipe(IPS[2], &PORTS);
    lab.converge().await;
    assert!(lab.leaves[2].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:04 -> vxlan_over_ipv4/10.0.0.1"));
    assert_eq!(lines(&lab.leaves[2].ctl(&["list-bindings", "leaf3", "swp1"])), vec![format!("0100 {ls}")]);

    // Migration n1 (leaf1) -> n2 (leaf2): leaf3 now sees the MAC behind leaf2.
    lab.port(Some(p1), net, "", "n2").await;
    lab.converge().await;
    assert!(lab.leaves[2].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:01 -> vxlan_over_ipv4/10.0.0.2"));
    assert!(!lab.leaves[1].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:01"), "leaf2 holds it locally now");

    // Unbind and delete everything: no Stitch row left anywhere, foreign rows intact.
    lab.port(Some(p2), net, "", "").await;
    let ids: Vec<Uuid> = lab.catalog.snapshot().ports.iter().map(|p| p.id).collect();
    for id in ids {
        lab.catalog.update(|s| bind::delete_port(s, id)).await.unwrap();
    }
    lab.catalog.apply(vec![Change::Delete(Kind::Network, net)]).await.unwrap();
    lab.converge().await;
    for leaf in &lab.leaves {
        let ls_list = lines(&leaf.ctl(&["list-ls"]));
        assert!(!ls_list.contains(&ls), "{}: {ls_list:?}", leaf.name);
        assert_eq!(leaf.ctl(&["list", "Ucast_Macs_Remote"]).contains("fa:16:3e"), false);
    }
    assert_eq!(lines(&lab.leaves[0].ctl(&["list-ls"])), vec!["other".to_string()]);
    assert_eq!(lines(&lab.leaves[0].ctl(&["list-bindings", "leaf1", "swp1"])), vec!["0300 other".to_string()]);
    assert!(lab.leaves[0].ctl(&["list-remote-macs", "other"]).contains("00:11:22:33:44:55 -> vxlan_over_ipv4/192.0.2.9"));
    lab.engine.take().unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_resyncs_and_discovered_ports_appear() {
    let mut lab = Lab::new().await;
    let net = lab.network().await;
    lab.port(None, net, "fa:16:3e:00:00:01", "n1").await;
    lab.port(None, net, "fa:16:3e:00:00:02", "n2").await;
    lab.converge().await;
    // Ports the switches report but nobody cabled show up as discovered.
    let snap = lab.catalog.snapshot();
    let discovered: Vec<_> =
        snap.switch_ports.iter().filter(|p| p.spec.discovered && p.spec.switch_id == lab.switch_ids[0]).map(|p| p.spec.name.clone()).collect();
    assert_eq!(discovered, vec!["swp3".to_string()], "swp1 and swp2 were cabled by hand, swp3 only reported");
    // Restart leaf2's server: the client reconnects, the monitor resumes, nothing is lost.
    lab.leaves[1].restart();
    lab.port(None, net, "fa:16:3e:00:00:03", "n3").await;
    lab.converge().await;
    let ls = net.to_string();
    assert!(lab.leaves[1].ctl(&["list-remote-macs", &ls]).contains("fa:16:3e:00:00:03 -> vxlan_over_ipv4/10.0.0.3"));
    // Wrong tunnel IP on a switch: reported, and nothing new is programmed there.
    lab.leaves[0].ctl(&["set", "Physical_Switch", "leaf1", "tunnel_ips=10.9.9.9"]);
    eventually_async("identity mismatch reported", || lab.status.get(&lab.switch_ids[0]).and_then(|s| s.last_error).is_some_and(|e| e.contains("tunnel_ips")))
        .await;
    // A new port behind that switch: the dry run, like the pass, plans no
    // binding on a switch whose identity does not match.
    lab.port(None, net, "fa:16:3e:00:00:09", "n4").await;
    let dry = lab.engine.as_ref().unwrap().handle().dry_run(lab.switch_ids[0]).expect("leaf1 has been read");
    let touches_ports = dry.ops.iter().any(|op| op.to_json().to_string().contains("Physical_Port"));
    assert!(!touches_ports, "dry run would bind on a mismatched switch: {:?}", dry.notes);
    assert!(!lines(&lab.leaves[0].ctl(&["list-bindings", "leaf1", "swp2"])).iter().any(|l| l.contains(&net.to_string())));
    lab.engine.take().unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_binds_of_different_networks_never_share_a_vlan() {
    let catalog = Arc::new(Catalog::open(Arc::new(MemStore::new())).await.unwrap());
    let s = crate::fixture::fabric();
    let changes: Vec<Change> = stitch_model::Kind::ALL.iter().flat_map(|k| s.list_any(*k)).map(Change::Put).collect();
    catalog.apply(changes).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..24u128 {
        let catalog = catalog.clone();
        tasks.push(tokio::spawn(async move {
            let net = crate::fixture::obj(1000 + i, NetworkSpec::vxlan(format!("n{i}")));
            catalog.update(|s| bind::put_network(s, net, None)).await.unwrap();
            let host = if i % 2 == 0 { "n2" } else { "n3" };
            let p = crate::fixture::obj(2000 + i, crate::fixture::port_spec(1000 + i, i as u8, host, VnicType::Direct));
            let (snap, _) = catalog.update(|s| bind::put_port(s, p)).await.unwrap();
            snap.ports.get(&crate::fixture::id(2000 + i)).unwrap().spec.binding.vif_details["vlan"].as_str().unwrap().to_string()
        }));
    }
    let mut vlans = Vec::new();
    for t in tasks {
        vlans.push(t.await.unwrap());
    }
    // n2 and n3 are both behind leaf2: 24 networks, 24 distinct VLANs there.
    let distinct: std::collections::BTreeSet<_> = vlans.iter().collect();
    assert_eq!(distinct.len(), 24, "{vlans:?}");
    let vnis: std::collections::BTreeSet<_> = catalog.snapshot().networks.iter().map(|n| n.spec.vni).collect();
    assert_eq!(vnis.len(), 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_switches_connect_in_and_unknown_ones_are_refused() {
    let listener = ovsdb::PassiveListener::bind(&"ptcp:0:127.0.0.1".parse().unwrap(), ovsdb::ClientConfig::default()).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Some(format!("tcp:127.0.0.1:{port}"));
    // The inventory knows a passive leaf named "tor-p"; "stranger" is unknown.
    let known = VtepServer::start_with("tor-p", "10.0.0.7", &["swp1"], out.clone());
    let stranger = VtepServer::start_with("stranger", "10.0.0.8", &["swp1"], out);
    let catalog = Arc::new(Catalog::open(Arc::new(MemStore::new())).await.unwrap());
    let f = obj(FabricSpec {
        name: "dc1".into(),
        vni_range: serde_json::from_str("[5000, 5999]").unwrap(),
        vlan_range: serde_json::from_str("[100, 199]").unwrap(),
        vlan_mode: VlanMode::PerSwitch,
    });
    let sw = obj(SwitchSpec {
        name: "tor-p".into(),
        fabric_id: f.id,
        ovsdb: OvsdbTarget::Passive,
        tunnel_ip: "10.0.0.7".parse().unwrap(),
        management_ip: None,
        vlan_range: None,
        role: SwitchRole::Leaf,
        chassis_mac: None,
    });
    let hw = obj(HardwareSpec { name: "hw".into(), model: None });
    let card =
        obj(CardSpec { name: "c".into(), hardware_ids: vec![hw.id], interface_map: vec![Interface { name: "ens1f0".into(), labels: vec!["sriov".into()] }] });
    let prof = obj(NodeProfileSpec { name: "p".into(), hardware_ids: vec![hw.id] });
    let node = obj(NodeSpec {
        name: "n1".into(),
        node_profile_id: Some(prof.id),
        node_type: NodeType::Compute,
        aliases: vec![],
        ports: vec![NodePort { name: "ens1f0".into(), mac: None, switch_id: sw.id, switch_port: "swp1".into() }],
    });
    let sw_id = sw.id;
    catalog
        .apply(vec![
            Change::Put(AnyObject::Fabric(f)),
            Change::Put(AnyObject::Switch(sw)),
            Change::Put(AnyObject::Hardware(hw)),
            Change::Put(AnyObject::Card(card)),
            Change::Put(AnyObject::NodeProfile(prof)),
            Change::Put(AnyObject::Node(node)),
        ])
        .await
        .unwrap();
    let status = Arc::new(StatusBoard::new());
    let mut engine = Engine::start(catalog.clone(), status.clone(), EngineConfig::new(Owner::new("test-stitch").unwrap()));
    engine.serve_passive(listener);
    let lab = Lab { leaves: vec![], switch_ids: vec![], catalog: catalog.clone(), status: status.clone(), engine: None };
    let net = lab.network().await;
    lab.port(None, net, "fa:16:3e:00:00:01", "n1").await;
    eventually_async("passive switch in sync", || status.switch_holds(&sw_id, catalog.snapshot().revision)).await;
    assert_eq!(lines(&known.ctl(&["list-bindings", "tor-p", "swp1"])), vec![format!("0100 {net}")]);
    assert_eq!(lines(&stranger.ctl(&["list-ls"])), Vec::<String>::new(), "an unknown switch gets nothing");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_tls_switches_must_present_a_certificate_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let pki = stitch_testkit::Pki::new(dir.path());
    let (cert, key) = pki.issue("stitch-controller");
    let tls = ovsdb::TlsConfig::from_files(&pki.ca_file, &cert, &key);
    let cfg = ovsdb::ClientConfig { tls: Some(tls), ..Default::default() };
    let listener = ovsdb::PassiveListener::bind(&"pssl:0:127.0.0.1".parse().unwrap(), cfg).await.unwrap();
    let out = format!("ssl:127.0.0.1:{}", listener.local_addr().unwrap().port());
    // tor-a shows a certificate for itself (ovs-pki style CN); tor-b, also in
    // the inventory, shows one issued to someone else.
    let (ca, ca2) = (pki.ca_file.clone(), pki.ca_file.clone());
    let (a_cert, a_key) = pki.issue("tor-a id:0f3c9a52");
    let (b_cert, b_key) = pki.issue("tor-x");
    let a = VtepServer::start_tls("tor-a", "10.0.0.21", &["swp1"], out.clone(), (ca, a_cert, a_key));
    let b = VtepServer::start_tls("tor-b", "10.0.0.22", &["swp1"], out, (ca2, b_cert, b_key));
    let catalog = Arc::new(Catalog::open(Arc::new(MemStore::new())).await.unwrap());
    let f = obj(FabricSpec {
        name: "dc1".into(),
        vni_range: serde_json::from_str("[5000, 5999]").unwrap(),
        vlan_range: serde_json::from_str("[100, 199]").unwrap(),
        vlan_mode: VlanMode::PerSwitch,
    });
    let sw = |name: &str, ip: &str| {
        obj(SwitchSpec {
            name: name.into(),
            fabric_id: f.id,
            ovsdb: OvsdbTarget::Passive,
            tunnel_ip: ip.parse().unwrap(),
            management_ip: None,
            vlan_range: None,
            role: SwitchRole::Leaf,
            chassis_mac: None,
        })
    };
    let (sa, sb) = (sw("tor-a", "10.0.0.21"), sw("tor-b", "10.0.0.22"));
    let (ida, idb) = (sa.id, sb.id);
    catalog.apply(vec![Change::Put(AnyObject::Fabric(f.clone())), Change::Put(AnyObject::Switch(sa)), Change::Put(AnyObject::Switch(sb))]).await.unwrap();
    let status = Arc::new(StatusBoard::new());
    let mut engine = Engine::start(catalog.clone(), status.clone(), EngineConfig::new(Owner::new("test-stitch").unwrap()));
    engine.serve_passive(listener);
    eventually_async("tor-a served over TLS", || status.switch_holds(&ida, catalog.snapshot().revision)).await;
    // tor-b keeps dialling in and keeps being refused: never served.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(status.get(&idb).is_none_or(|s| !s.connected), "a switch whose certificate names someone else is refused");
    let _ = (a, b);
    engine.shutdown().await;
}
