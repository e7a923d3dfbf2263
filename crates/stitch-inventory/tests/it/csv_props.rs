//! Property tests for the CSV importer: nothing panics it, and valid rows
//! round-trip into the document they describe.

use proptest::prelude::*;
use stitch_inventory::document::{ApplyDocument, NodeItem, PortItem};
use stitch_inventory::{csv_import, parse_csv};
use stitch_model::net::MacAddr;

const HEADER: &str = "node,node_profile,nic,mac,switch,switch_port\n";

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,11}"
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        name(),
        "[ -~]{0,20}",
        "\\PC{0,12}",
        Just("fa:16:3e:00:00:01".to_string()),
        Just("\"quoted, with comma\"".to_string()),
        Just("\"unterminated".to_string()),
    ]
}

/// Nodes with distinct names, each with NICs of distinct names.
fn nodes() -> impl Strategy<Value = Vec<NodeItem>> {
    let port = (name(), proptest::option::of(any::<[u8; 6]>()), name(), name()).prop_map(|(nic, mac, sw, sp)| PortItem {
        name: nic,
        mac: mac.map(MacAddr),
        switch: sw,
        switch_port: sp,
    });
    let node = (name(), proptest::option::of(name()), proptest::collection::vec(port, 1..4)).prop_map(|(n, p, mut ports)| {
        let mut seen = std::collections::BTreeSet::new();
        ports.retain(|p| seen.insert(p.name.clone()));
        NodeItem { name: n, node_profile: p.map(Some), node_type: None, aliases: None, ports: Some(ports) }
    });
    proptest::collection::vec(node, 0..12).prop_map(|mut ns| {
        let mut seen = std::collections::BTreeSet::new();
        ns.retain(|n| seen.insert(n.name.clone()));
        ns
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_csv(bytes.as_slice());
        let mut with_header = HEADER.as_bytes().to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = parse_csv(with_header.as_slice());
    }

    #[test]
    fn random_rows_never_panic_and_errors_name_a_line(rows in proptest::collection::vec(proptest::collection::vec(field(), 0..8), 0..20)) {
        let mut text = HEADER.to_string();
        for r in &rows {
            text.push_str(&r.join(","));
            text.push('\n');
        }
        match parse_csv(text.as_bytes()) {
            Ok((doc, map)) => {
                // Every node and port has a line inside the file.
                let lines = text.lines().count();
                for (i, n) in doc.nodes.iter().enumerate() {
                    let l = map.line_of(&format!("nodes[{i}]")).expect("node line");
                    prop_assert!(l >= 2 && l <= lines + 1, "line {} of {}", l, lines);
                    for j in 0..n.ports.as_ref().map_or(0, Vec::len) {
                        let path = format!("nodes[{i}].ports[{j}]");
                        prop_assert!(map.line_of(&path).is_some(), "no line for {}", path);
                    }
                }
            }
            Err(e) => prop_assert!(e.line.is_some(), "error without a line: {}", e),
        }
    }

    #[test]
    fn valid_rows_round_trip(ns in nodes()) {
        let doc = ApplyDocument { nodes: ns, ..ApplyDocument::default() };
        let text = csv_import::to_csv(&doc);
        let (parsed, map) = parse_csv(text.as_bytes()).expect("generated CSV parses");
        prop_assert_eq!(&parsed, &doc);
        // Row k of the file (line k + 2) is port j of node i, in order.
        let mut line = 2;
        for (i, n) in doc.nodes.iter().enumerate() {
            for j in 0..n.ports.as_ref().map_or(0, Vec::len) {
                let loc = map.locate(&format!("nodes[{i}].ports[{j}].switch_port")).expect("located");
                prop_assert_eq!(loc.line, line);
                prop_assert_eq!(loc.field.as_deref(), Some("switch_port"));
                line += 1;
            }
        }
    }
}

#[test]
fn one_thousand_nodes_parse() {
    let mut text = HEADER.to_string();
    for i in 0..1000 {
        text.push_str(&format!("n{i},p1,ens1f0,,leaf{},swp{}\n", i % 10, i / 10));
        text.push_str(&format!("n{i},p1,ens1f1,,leaf{},swp{}\n", (i + 1) % 10, i / 10 + 200));
    }
    let (doc, map) = parse_csv(text.as_bytes()).unwrap();
    assert_eq!(doc.nodes.len(), 1000);
    assert!(doc.nodes.iter().all(|n| n.ports.as_ref().unwrap().len() == 2));
    assert_eq!(map.locate("nodes[999].ports[1].switch").unwrap().line, 2001);
}
