//! `stitch import` of a 1,000-node CSV, re-import, a bad row, and
//! `stitch apply -f` idempotence.

use std::fmt::Write;

use crate::{FABRIC_YAML, Server, write};

const HEADER: &str = "node,node_profile,nic,mac,switch,switch_port\n";

fn servers_csv(nodes: usize, port_offset: usize) -> String {
    let mut s = HEADER.to_string();
    for i in 0..nodes {
        let _ = writeln!(s, "node{i:04},p1,ens1f0,fa:16:3e:00:{:02x}:{:02x},leaf1,swp{}", i / 256, i % 256, i + port_offset);
        let _ = writeln!(s, "node{i:04},p1,ens1f1,,leaf2,swp{}", i + port_offset);
    }
    s
}

#[tokio::test]
async fn import_thousand_nodes_reimport_and_bad_row() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let f = write(tmp.path(), "fabric.yaml", FABRIC_YAML);
    srv.ok(&["apply", "-f", f.to_str().unwrap()]);

    let csv = write(tmp.path(), "servers.csv", &servers_csv(1000, 0));
    let report = srv.json(&["import", csv.to_str().unwrap()]);
    assert_eq!(report["kinds"]["nodes"]["created"], 1000, "{report}");
    assert_eq!(report["created"], 1000);
    assert_eq!(srv.get("/v1/nodes").await["nodes"].as_array().unwrap().len(), 1000);
    assert_eq!(srv.get("/v1/switch-ports").await["switch_ports"].as_array().unwrap().len(), 2000, "cabling created switch ports");
    let leaf2 = srv.get("/v1/switches?name=leaf2").await["switches"][0]["id"].as_str().unwrap().to_string();
    let n = &srv.get("/v1/nodes?name=node0513").await["nodes"][0];
    assert_eq!(n["ports"][0]["mac"], "fa:16:3e:00:02:01");
    assert_eq!(n["ports"][1]["switch_id"], leaf2.as_str());
    assert_eq!(n["ports"][1]["switch_port"], "swp513");
    let links = srv.json(&["node", "resolve", "node0999", "--label", "sriov"]);
    assert_eq!(links["links"][0]["switch_port"], "swp999");

    // Table summary.
    let out = srv.ok(&["import", csv.to_str().unwrap()]);
    assert!(out.contains("nodes") && out.contains("1000"), "{out}");
    let report = srv.json(&["import", csv.to_str().unwrap()]);
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64(), report["unchanged"].as_u64()), (Some(0), Some(0), Some(1000)));

    // Re-import with new cabling updates, and each node's ports become its rows.
    let mut text = servers_csv(1000, 2000);
    text.push_str("node1000,p1,ens1f0,,leaf1,swp9999\n");
    let csv2 = write(tmp.path(), "servers2.csv", &text.replace("node0007,p1,ens1f1,,leaf2,swp2007\n", ""));
    let report = srv.json(&["import", csv2.to_str().unwrap()]);
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1000)), "{report}");
    let n7 = &srv.get("/v1/nodes?name=node0007").await["nodes"][0];
    assert_eq!(n7["ports"].as_array().unwrap().len(), 1, "{n7}");
    assert_eq!(n7["ports"][0]["switch_port"], "swp2007");

    // One bad row changes nothing; the CLI names file:line and column.
    let before = srv.dump().await;
    let mut bad = servers_csv(50, 5000);
    bad = bad.replace("node0031,p1,ens1f1,,leaf2,swp5031", "node0031,p1,ens1f1,,leaf9,swp5031");
    let bad_csv = write(tmp.path(), "bad.csv", &bad);
    let out = srv.cli(&["import", bad_csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // Header is line 1, node i's rows are lines 2i+2 and 2i+3.
    assert!(err.contains("bad.csv:65: field switch:"), "{err}");
    assert!(err.contains("leaf9"), "{err}");
    let mut bad_mac = servers_csv(50, 5000);
    bad_mac = bad_mac.replace("fa:16:3e:00:00:0a", "fa:16:3e:00:00:0x");
    let bad_mac_csv = write(tmp.path(), "badmac.csv", &bad_mac);
    let out = srv.cli(&["import", bad_mac_csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("badmac.csv:22: field mac:"), "{err}");
    // A conflict found by the catalog (port cabled to another node) is located too.
    let mut conflict = servers_csv(3, 7000);
    conflict.push_str("nodeX,p1,ens1f0,,leaf1,swp2010\n");
    let conflict_csv = write(tmp.path(), "conflict.csv", &conflict);
    let out = srv.cli(&["import", conflict_csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conflict.csv:8: field switch_port:"), "{err}");
    assert_eq!(srv.dump().await, before, "a failed import changed state");
}

#[test]
fn apply_yaml_is_idempotent_and_locates_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    let yaml = format!(
        "{FABRIC_YAML}switch_ports:\n  - switch: leaf2\n    name: swp48\n    discovered: true\nnodes:\n  - name: n1\n    node_profile: p1\n    aliases: [ironic-1]\n    ports:\n      - name: ens1f0\n        switch: leaf1\n        switch_port: swp1\n"
    );
    let f = write(tmp.path(), "fabric.yaml", &yaml);
    let r = srv.json(&["apply", "-f", f.to_str().unwrap()]);
    assert_eq!(r["created"], 8, "{r}");
    let r = srv.json(&["apply", "-f", f.to_str().unwrap()]);
    assert_eq!((r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(0), Some(0), Some(8)), "{r}");
    let table = srv.ok(&["apply", "-f", f.to_str().unwrap()]);
    assert!(table.contains("UNCHANGED") && table.contains("total"), "{table}");

    let changed = yaml.replace("model: R650", "model: R750");
    let f2 = write(tmp.path(), "fabric2.yaml", &changed);
    let r = srv.json(&["apply", "-f", f2.to_str().unwrap()]);
    assert_eq!((r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(1), Some(7)), "{r}");

    // A bad reference: the error names the line of the node's port item.
    let bad = yaml.replace("        switch: leaf1", "        switch: leaf7");
    let f3 = write(tmp.path(), "bad.yaml", &bad);
    let out = srv.cli(&["apply", "-f", f3.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let item_line = bad.lines().enumerate().filter(|(_, l)| l.trim() == "- name: ens1f0").map(|(i, _)| i + 1).last().unwrap();
    assert!(err.contains(&format!("bad.yaml:{item_line}: field switch:")), "{err}");
}
