//! The YAML importer on a document with every kind.

use stitch_inventory::parse_yaml;

const FULL: &str = r#"
fabrics:
  - name: dc1
    vni_range: [5000, 6000]
    vlan_mode: fabric_wide
switches:
  - name: leaf1
    fabric: dc1
    ovsdb: tcp:127.0.0.1:6640
    tunnel_ip: 10.0.0.1
    management_ip: null
    role: spine
switch_ports:
  - switch: leaf1
    name: swp9
    discovered: true
hardware:
  - name: hw1
    model: R650
cards:
  - name: c1
    hardware: [hw1]
    interface_map:
      - name: ens1f0
        labels: [sriov, physnet1]
node_profiles:
  - name: p1
    hardware: [hw1]
nodes:
  - name: n1
    node_profile: p1
    type: baremetal
    aliases: [ironic-1]
    ports:
      - name: ens1f0
        mac: "fa:16:3e:00:00:01"
        switch: leaf1
        switch_port: swp1
"#;

#[test]
fn every_kind_parses_with_lines() {
    let (doc, map) = parse_yaml(FULL).unwrap();
    assert_eq!(doc.len(), 7);
    assert_eq!(doc.switches[0].management_ip, Some(None), "explicit null clears");
    assert_eq!(doc.switches[0].vlan_range, None, "absent keeps");
    assert_eq!(doc.cards[0].interface_map.as_ref().unwrap()[0].labels, vec!["sriov", "physnet1"]);
    assert_eq!(doc.nodes[0].ports.as_ref().unwrap()[0].mac.unwrap().to_string(), "fa:16:3e:00:00:01");
    assert_eq!(map.line_of("switch_ports[0]"), Some(14));
    assert_eq!(map.line_of("cards[0].interface_map[0]"), Some(24));
    assert_eq!(map.locate("nodes[0].ports[0].switch").unwrap().line, 35);
    // The document survives a JSON round trip unchanged (what the CLI sends).
    let json = serde_json::to_string(&doc).unwrap();
    let back: stitch_inventory::ApplyDocument = serde_json::from_str(&json).unwrap();
    assert_eq!(back, doc);
}

#[test]
fn invalid_values_are_located() {
    for (text, field) in [
        ("fabrics:\n  - name: dc1\n    vlan_range: [100, 10]\n", "fabrics[0].vlan_range"),
        ("fabrics:\n  - name: dc1\n    vni_range: [0, 10]\n", "fabrics[0].vni_range[0]"),
        ("nodes:\n  - name: n1\n    ports:\n      - name: e0\n        mac: nope\n        switch: s\n        switch_port: p\n", "nodes[0].ports[0].mac"),
    ] {
        let e = parse_yaml(text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.line.is_some(), "{e}");
    }
    let e = parse_yaml("nodes: [\n").unwrap_err();
    assert!(e.line.is_some(), "{e}");
}
