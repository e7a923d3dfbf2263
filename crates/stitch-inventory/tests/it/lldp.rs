//! LLDP decoders (lldpcli JSON in both shapes, raw LLDPDUs) and the cabling
//! check against an inventory snapshot.

use proptest::prelude::*;
use serde_json::json;
use stitch_inventory::cabling::{self, Verdict};
use stitch_inventory::lldp::{Lldpdu, Neighbor, PortIdKind, decode_frame, decode_lldpdu, parse_lldpcli};
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_model::snapshot::{Change, SystemContext};
use uuid::Uuid;

/// `lldpcli -f json` for one interface (a named chassis), in lldpd's shape.
fn one_interface() -> serde_json::Value {
    json!({"lldp": {"interface": {"ens1f0": {
        "via": "LLDP", "rid": "1", "age": "0 day, 00:00:03",
        "chassis": {"leaf1": {"id": {"type": "mac", "value": "02:00:00:00:00:01"}, "descr": "a switch",
                               "mgmt-ip": ["fe80::1", "192.0.2.11"], "capability": [{"type": "Bridge", "enabled": true}]}},
        "port": {"id": {"type": "ifname", "value": "swp1"}, "descr": "swp1", "ttl": "120"}
    }}}})
}

#[test]
fn lldpcli_json_in_every_shape() {
    let n = parse_lldpcli(&one_interface()).unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].local_port, "ens1f0");
    assert_eq!(n[0].system_name.as_deref(), Some("leaf1"));
    assert_eq!(n[0].chassis_mac, Some("02:00:00:00:00:01".parse().unwrap()));
    assert_eq!(n[0].management_ips, vec!["192.0.2.11".parse::<std::net::IpAddr>().unwrap()], "link-local left out");
    assert_eq!((n[0].port_name(), n[0].port_id_kind), (Some("swp1"), PortIdKind::Ifname));

    // Several interfaces: a list of one-key objects; an unnamed chassis has
    // its fields directly; a MAC port id names the port in its description.
    let many = json!({"lldp": {"interface": [
        {"ens1f0": one_interface()["lldp"]["interface"]["ens1f0"].clone()},
        {"ens1f1": {"chassis": {"id": {"type": "mac", "value": "02:00:00:00:00:02"}},
                    "port": {"id": {"type": "mac", "value": "02:00:00:00:00:99"}, "descr": "Ethernet7"}}}
    ]}});
    let n = parse_lldpcli(&many).unwrap();
    assert_eq!(n.len(), 2);
    assert_eq!(n[1].system_name, None);
    assert_eq!((n[1].port_name(), n[1].port_id_kind), (Some("Ethernet7"), PortIdKind::Mac));

    // -f json0: lists everywhere.
    let json0 = json!({"lldp": [{"interface": [{"name": "ens1f0", "via": "LLDP",
        "chassis": [{"id": [{"type": "mac", "value": "02:00:00:00:00:01"}], "name": [{"value": "leaf1"}], "mgmt-ip": [{"value": "192.0.2.11"}]}],
        "port": [{"id": [{"type": "ifname", "value": "swp1"}], "descr": [{"value": "swp1"}], "ttl": [{"value": "120"}]}]}]}]});
    assert_eq!(parse_lldpcli(&json0).unwrap(), parse_lldpcli(&one_interface()).unwrap());

    // No neighbors at all, in both shapes.
    assert!(parse_lldpcli(&json!({"lldp": {}})).unwrap().is_empty());
    assert!(parse_lldpcli(&json!({"lldp": [{}]})).unwrap().is_empty());
    // Not lldpcli output, or broken: an error that says where.
    for bad in [
        json!({}),
        json!({"lldp": 3}),
        json!({"lldp": {"interface": {"ens1f0": {"port": {}}}}}),
        json!({"lldp": {"interface": {"e": {"chassis": {"x": {}}, "port": {"id": {"type": "ifname"}}}}}}),
    ] {
        let e = parse_lldpcli(&bad).unwrap_err();
        assert!(!e.context.is_empty(), "{bad}: {e}");
    }
}

fn pdu() -> impl Strategy<Value = Lldpdu> {
    let id = (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..=255));
    let ip = prop_oneof![any::<[u8; 4]>().prop_map(std::net::IpAddr::from), any::<[u8; 16]>().prop_map(std::net::IpAddr::from)];
    (id.clone(), id, any::<u16>(), proptest::option::of("[ -~]{0,200}"), proptest::option::of("\\PC{0,40}"), proptest::collection::vec(ip, 0..3)).prop_map(
        |(chassis_id, port_id, ttl, port_description, system_name, management_addresses)| Lldpdu {
            chassis_id,
            port_id,
            ttl,
            port_description,
            system_name,
            management_addresses,
        },
    )
}

proptest! {
    #[test]
    fn lldpdus_round_trip(p in pdu()) {
        let bytes = p.encode();
        prop_assert_eq!(decode_lldpdu(&bytes).unwrap(), p.clone());
        // In an Ethernet frame, tagged or not.
        let mut frame = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 1, 0x88, 0xcc];
        frame.extend_from_slice(&bytes);
        prop_assert_eq!(decode_frame(&frame).unwrap(), p.clone());
        let mut tagged = frame[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x88, 0xcc]);
        tagged.extend_from_slice(&bytes);
        prop_assert_eq!(decode_frame(&tagged).unwrap(), p);
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_frame(&b);
        let _ = decode_lldpdu(&b);
    }

    #[test]
    fn any_json_parses_or_fails_cleanly(v in json_value()) {
        let _ = parse_lldpcli(&serde_json::json!({"lldp": v}));
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![Just(serde_json::Value::Null), any::<bool>().prop_map(Into::into), "[a-z]{0,6}".prop_map(Into::into)];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("interface".to_string()),
                    Just("chassis".to_string()),
                    Just("port".to_string()),
                    Just("id".to_string()),
                    Just("name".to_string()),
                    "[a-z]{1,4}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn obj<S>(n: u128, spec: S) -> Object<S> {
    Object { id: Uuid::from_u128(n), created_at: time::OffsetDateTime::UNIX_EPOCH, updated_at: time::OffsetDateTime::UNIX_EPOCH, spec }
}

fn inventory() -> (Snapshot, Object<NodeSpec>) {
    let sw = |n: u128, name: &str, mac: &str| {
        obj(
            n,
            SwitchSpec {
                name: name.into(),
                fabric_id: Uuid::from_u128(1),
                ovsdb: "unix:/x".parse().unwrap(),
                tunnel_ip: format!("10.0.0.{n}").parse().unwrap(),
                management_ip: Some(format!("192.0.2.1{n}").parse().unwrap()),
                vlan_range: None,
                role: SwitchRole::Leaf,
                chassis_mac: Some(mac.parse().unwrap()),
            },
        )
    };
    let node = obj(
        10,
        NodeSpec {
            name: "n1".into(),
            node_profile_id: None,
            node_type: NodeType::Compute,
            aliases: vec![],
            ports: vec![
                NodePort { name: "ens1f0".into(), mac: None, switch_id: Uuid::from_u128(2), switch_port: "swp1".into() },
                NodePort { name: "ens1f1".into(), mac: None, switch_id: Uuid::from_u128(2), switch_port: "swp2".into() },
                NodePort { name: "eno1".into(), mac: None, switch_id: Uuid::from_u128(2), switch_port: "swp9".into() },
            ],
        },
    );
    let changes = vec![
        Change::Put(AnyObject::Fabric(obj(
            1,
            FabricSpec {
                name: "dc1".into(),
                vni_range: serde_json::from_str("[5000, 5999]").unwrap(),
                vlan_range: serde_json::from_str("[100, 199]").unwrap(),
                vlan_mode: VlanMode::PerSwitch,
            },
        ))),
        Change::Put(AnyObject::Switch(sw(2, "leaf1", "02:00:00:00:00:01"))),
        Change::Put(AnyObject::Switch(sw(3, "leaf2", "02:00:00:00:00:02"))),
        Change::Put(AnyObject::Node(node.clone())),
    ];
    (Snapshot::default().apply(changes, &mut SystemContext).unwrap().0, node)
}

fn seen(nic: &str, name: Option<&str>, mac: Option<&str>, port: &str) -> Neighbor {
    Neighbor {
        local_port: nic.into(),
        system_name: name.map(Into::into),
        chassis_mac: mac.map(|m| m.parse().unwrap()),
        management_ips: vec![],
        port_id: port.into(),
        port_id_kind: PortIdKind::Ifname,
        port_description: None,
    }
}

#[test]
fn cabling_is_checked_against_the_inventory() {
    let (snap, node) = inventory();
    let neighbors = vec![
        seen("ens1f0", Some("leaf1"), None, "swp1"),                     // as recorded
        seen("ens1f1", None, Some("02:00:00:00:00:02"), "swp2"),         // leaf2 by chassis MAC: recorded leaf1
        seen("ens2f0", Some("leaf1"), None, "swp7"),                     // not recorded yet
        seen("ens2f1", Some("spine9"), Some("02:00:00:00:00:77"), "e1"), // no such switch
        Neighbor { management_ips: vec!["192.0.2.13".parse().unwrap()], port_id_kind: PortIdKind::Mac, ..seen("ens3f0", None, None, "02:00:00:00:00:99") },
    ];
    let f = cabling::check(&snap, &node, &neighbors);
    let verdicts: Vec<(&str, Verdict)> = f.iter().map(|f| (f.nic.as_str(), f.verdict)).collect();
    assert_eq!(
        verdicts,
        vec![
            ("eno1", Verdict::NotSeen),
            ("ens1f0", Verdict::Matches),
            ("ens1f1", Verdict::Differs),
            ("ens2f0", Verdict::New),
            ("ens2f1", Verdict::UnknownSwitch),
            ("ens3f0", Verdict::NoPortName),
        ]
    );
    assert!(f[2].message.contains("leaf2:swp2") && f[2].message.contains("leaf1:swp2"), "{}", f[2].message);
    // The corrected node takes what LLDP saw for New and Differs only.
    let fixed = cabling::corrected(&node, &f).unwrap();
    let ports: Vec<(String, Uuid, String)> = fixed.spec.ports.iter().map(|p| (p.name.clone(), p.switch_id, p.switch_port.clone())).collect();
    assert_eq!(
        ports,
        vec![
            ("ens1f0".into(), Uuid::from_u128(2), "swp1".into()),
            ("ens1f1".into(), Uuid::from_u128(3), "swp2".into()),
            ("eno1".into(), Uuid::from_u128(2), "swp9".into()),
            ("ens2f0".into(), Uuid::from_u128(2), "swp7".into()),
        ]
    );
    assert!(cabling::corrected(&fixed, &cabling::check(&snap, &fixed, &neighbors)).is_none(), "applying twice changes nothing");
}
