//! Trunks, L2 gateway connections and multi-segment networks against two
//! real ovsdb-servers (vtep schema), checked with `vtep-ctl`: rows added,
//! changed and removed exactly; refusals leave the switches as they were.

use stitch_engine::EngineError;
use stitch_engine::bind;
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_testkit::lines;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::runtime::{Lab, obj};

const IPS: [&str; 2] = ["10.0.0.1", "10.0.0.2"];

async fn two_leaves() -> Lab {
    Lab::build(&IPS, &["swp1", "swp2", "swp3"], &["sriov", "physnet1"], &[("n1", 0, "swp1"), ("n2", 1, "swp1")]).await
}

impl Lab {
    async fn run(&self, f: impl FnOnce(&Snapshot) -> Result<Vec<Change>, EngineError>) -> Result<(), EngineError> {
        self.catalog.update(f).await.map(|_| ()).map_err(|e| match e {
            stitch_store::UpdateError::Refused(e) => e,
            stitch_store::UpdateError::Catalog(c) => panic!("{c}"),
        })
    }

    async fn trunk(&self, id: Option<Uuid>, parent: Uuid, subs: &[(Uuid, u16)]) -> Result<Uuid, EngineError> {
        let snap = self.catalog.snapshot();
        let mut t = id.and_then(|i| snap.trunks.get(&i).cloned()).unwrap_or_else(|| {
            obj(TrunkSpec { name: "t".into(), project_id: String::new(), description: String::new(), admin_state_up: true, port_id: parent, sub_ports: vec![] })
        });
        t.spec.sub_ports = subs.iter().map(|(p, v)| SubPort { port_id: *p, segmentation_type: SegmentationType::Vlan, segmentation_id: *v }).collect();
        let tid = t.id;
        self.run(|s| bind::put_trunk(s, t)).await.map(|_| tid)
    }

    /// `vtep-ctl list-bindings` of one switch port, sorted.
    fn bindings(&self, leaf: usize, port: &str) -> Vec<String> {
        let mut l = lines(&self.leaves[leaf].ctl(&["list-bindings", &self.leaves[leaf].name, port]));
        l.sort();
        l
    }
}

fn b(vlan: u16, net: Uuid) -> String {
    format!("{vlan:04} {net}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_gateways_and_segments_on_real_switches() {
    let mut lab = two_leaves().await;
    let (a, bn, c, d) = (lab.named_network("a").await, lab.named_network("b").await, lab.named_network("c").await, lab.named_network("d").await);

    // ---- trunk: a parent VF on n1 (leaf1 swp1) carrying b at VLAN 10.
    let parent = lab.port(None, a, "fa:16:3e:00:00:01", "n1").await;
    let sb = lab.port(None, bn, "fa:16:3e:00:00:02", "").await;
    let sc = lab.port(None, c, "fa:16:3e:00:00:03", "").await;
    let tid = lab.trunk(None, parent, &[(sb, 10)]).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(0, "swp1"), vec![b(10, bn), b(100, a)]);
    assert_eq!(lab.leaves[0].ctl(&["get", "Logical_Switch", &bn.to_string(), "tunnel_key"]).trim(), "5001");
    // Add c at VLAN 20: exactly one binding more.
    lab.trunk(Some(tid), parent, &[(sb, 10), (sc, 20)]).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(0, "swp1"), vec![b(10, bn), b(20, c), b(100, a)]);
    // Another VF of network d on the same PF takes VLAN 101; a subport at 101 is refused, nothing changes.
    let vf = lab.port(None, d, "fa:16:3e:00:00:04", "n1").await;
    lab.converge().await;
    assert_eq!(lab.bindings(0, "swp1"), vec![b(10, bn), b(20, c), b(100, a), b(101, d)]);
    let e = lab.named_network("e").await;
    let se = lab.port(None, e, "fa:16:3e:00:00:05", "").await;
    let err = lab.trunk(Some(tid), parent, &[(sb, 10), (sc, 20), (se, 101)]).await.unwrap_err();
    assert!(err.to_string().contains(&format!("port {vf}")), "the owner is named: {err}");
    lab.converge().await;
    assert_eq!(lab.bindings(0, "swp1"), vec![b(10, bn), b(20, c), b(100, a), b(101, d)]);
    // Remove b: exactly its binding goes.
    lab.trunk(Some(tid), parent, &[(sc, 20)]).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(0, "swp1"), vec![b(20, c), b(100, a), b(101, d)]);
    assert!(!lines(&lab.leaves[0].ctl(&["list-ls"])).contains(&bn.to_string()), "b is gone from leaf1");

    // ---- L2 gateway: leaf2 swp3 VLAN 500 joins network a's VNI.
    let gw = obj(L2GatewaySpec {
        name: "gw".into(),
        project_id: String::new(),
        devices: vec![L2gwDevice {
            id: Uuid::new_v4(),
            device_name: "leaf2".into(),
            switch_id: lab.switch_ids[1],
            interfaces: vec![L2gwInterface { name: "swp3".into(), segmentation_id: vec![] }],
        }],
    });
    let gw_id = gw.id;
    lab.run(|_| Ok(vec![Change::Put(AnyObject::L2Gateway(gw))])).await.unwrap();
    let conn = obj(L2gwConnectionSpec {
        name: String::new(),
        project_id: String::new(),
        l2_gateway_id: gw_id,
        network_id: a,
        segmentation_id: Some(500),
        vpg_ids: vec![],
    });
    let cid = conn.id;
    lab.run(|s| bind::connect_l2gw(s, conn)).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(1, "swp3"), vec![b(500, a)]);
    assert_eq!(lab.leaves[1].ctl(&["get", "Logical_Switch", &a.to_string(), "tunnel_key"]).trim(), "5000");
    assert!(lab.leaves[1].ctl(&["list-remote-macs", &a.to_string()]).contains("fa:16:3e:00:00:01 -> vxlan_over_ipv4/10.0.0.1"));
    assert!(lab.leaves[0].ctl(&["list-remote-macs", &a.to_string()]).contains("unknown-dst -> vxlan_over_ipv4/10.0.0.2"));
    // A legacy host learned on the gateway port is spread to leaf1.
    lab.leaves[1].ctl(&["add-ucast-local", &a.to_string(), "00:00:5e:00:53:01", "10.0.0.2"]);
    stitch_testkit::eventually("legacy MAC spread", || {
        lab.leaves[0].ctl(&["list-remote-macs", &a.to_string()]).contains("00:00:5e:00:53:01 -> vxlan_over_ipv4/10.0.0.2")
    });
    // Network c on the same port+VLAN through another gateway: refused, nothing changes.
    let gw2 = obj(L2GatewaySpec {
        name: "gw2".into(),
        project_id: String::new(),
        devices: vec![L2gwDevice {
            id: Uuid::new_v4(),
            device_name: "leaf2".into(),
            switch_id: lab.switch_ids[1],
            interfaces: vec![L2gwInterface { name: "swp3".into(), segmentation_id: vec![500] }],
        }],
    });
    let gw2_id = gw2.id;
    lab.run(|_| Ok(vec![Change::Put(AnyObject::L2Gateway(gw2))])).await.unwrap();
    let clash = obj(L2gwConnectionSpec {
        name: String::new(),
        project_id: String::new(),
        l2_gateway_id: gw2_id,
        network_id: c,
        segmentation_id: None,
        vpg_ids: vec![],
    });
    let err = lab.run(|s| bind::connect_l2gw(s, clash)).await.unwrap_err();
    assert!(err.to_string().contains(&format!("L2 gateway connection {cid}")), "{err}");
    lab.converge().await;
    assert_eq!(lab.bindings(1, "swp3"), vec![b(500, a)]);
    lab.leaves[1].ctl(&["del-ucast-local", &a.to_string(), "00:00:5e:00:53:01"]);
    lab.run(|s| bind::disconnect_l2gw(s, cid)).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(1, "swp3"), Vec::<String>::new());
    assert!(!lines(&lab.leaves[1].ctl(&["list-ls"])).contains(&a.to_string()));

    // ---- multi-segment: network m with a vlan segment on physnet1 (ens1f0 of n1 and n2).
    let m = lab.named_network("m").await;
    let seg = obj(SegmentSpec {
        name: String::new(),
        description: String::new(),
        network_id: m,
        network_type: NetworkType::Vlan,
        physical_network: "physnet1".into(),
        segmentation_id: 1000,
        index: 0,
    });
    let seg_id = seg.id;
    let p2 = lab.port(None, m, "fa:16:3e:00:00:10", "n2").await;
    lab.converge().await;
    assert_eq!(lab.bindings(1, "swp1"), vec![b(100, m)], "before the segment: an allocated VLAN");
    lab.run(|s| bind::put_segment(s, seg)).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(1, "swp1"), vec![b(1000, m)], "the segment re-converges the switch");
    let now = OffsetDateTime::now_utc();
    assert!(matches!(lab.run(|s| bind::delete_segment(s, seg_id, now)).await, Err(EngineError::InUse { kind: "SegmentInUse", .. })));
    lab.run(|s| bind::delete_port(s, p2)).await.unwrap();
    lab.run(|s| bind::delete_segment(s, seg_id, now)).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(1, "swp1"), Vec::<String>::new());

    // ---- tear down the trunk: subports released, only the plain VFs remain.
    lab.run(|s| bind::delete_trunk(s, tid)).await.unwrap();
    lab.converge().await;
    assert_eq!(lab.bindings(0, "swp1"), vec![b(100, a), b(101, d)]);
    lab.engine.take().unwrap().shutdown().await;
}
