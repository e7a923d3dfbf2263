//! The CLI: every kind's create/list/show/update/delete by name, table and JSON output.

use serde_json::json;

use crate::Server;

#[test]
fn cli_every_kind_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    srv.ok(&["fabric", "create", "dc1", "--vlan-range", "2-3000"]);
    srv.ok(&["switch", "create", "leaf1", "--fabric", "dc1", "--ovsdb", "unix:/run/l1.sock", "--tunnel-ip", "10.0.0.1"]);
    srv.ok(&["switch-port", "create", "swp9", "--switch", "leaf1"]);
    srv.ok(&["hardware", "create", "hw1", "--model", "R650"]);
    srv.ok(&["card", "create", "c1", "--hardware", "hw1", "--interface", "ens1f0:sriov,physnet1"]);
    srv.ok(&["node-profile", "create", "p1", "--hardware", "hw1"]);
    srv.ok(&["node", "create", "n1", "--profile", "p1", "--port", "ens1f0=leaf1:swp1@FA:16:3E:00:00:01", "--alias", "X"]);

    // Table output names references by name.
    let table = srv.ok(&["node", "list"]);
    let row = table.lines().find(|l| l.contains("n1")).unwrap_or_else(|| panic!("{table}"));
    for cell in ["p1", "compute", "X", "ens1f0=leaf1:swp1"] {
        assert!(row.contains(cell), "{cell} missing from {row}");
    }
    assert!(table.contains("PROFILE") && table.contains("PORTS"), "{table}");
    let t = srv.ok(&["switch-port", "list", "--switch", "leaf1"]);
    assert!(t.contains("swp1") && t.contains("swp9") && t.contains("leaf1"), "{t}");
    let t = srv.ok(&["card", "show", "c1"]);
    assert!(t.contains("ens1f0:sriov,physnet1") && t.contains("hw1"), "{t}");

    // JSON output.
    let n = srv.json(&["node", "show", "n1"]);
    assert_eq!(n["name"], "n1");
    assert_eq!(n["aliases"], json!(["X"]));
    assert_eq!(n["ports"][0]["mac"], "fa:16:3e:00:00:01");
    let list = srv.json(&["switch", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["tunnel_ip"], "10.0.0.1");
    let sp = srv.json(&["switch-port", "show", "leaf1:swp9"]);
    assert_eq!(sp["name"], "swp9");
    let links = srv.json(&["node", "resolve", "n1", "--label", "sriov"]);
    assert_eq!(links["links"][0]["switch_port"], "swp1");

    // Updates.
    let n = srv.json(&["node", "update", "n1", "--port", "ens1f0=leaf1:swp2", "--port", "ens1f1=leaf1:swp3", "--type", "baremetal"]);
    assert_eq!(n["ports"].as_array().unwrap().len(), 2);
    assert_eq!(n["type"], "baremetal");
    assert_eq!(n["aliases"], json!(["X"]), "untouched");
    assert_eq!(srv.json(&["fabric", "update", "dc1", "--vlan-mode", "fabric-wide"])["vlan_mode"], "fabric_wide");
    assert_eq!(srv.json(&["switch", "update", "leaf1", "--role", "spine", "--management-ip", "192.0.2.1"])["role"], "spine");
    assert_eq!(srv.json(&["switch-port", "update", "leaf1:swp9", "--name", "swp10"])["name"], "swp10");
    assert_eq!(srv.json(&["hardware", "update", "hw1", "--model", "R750"])["model"], "R750");
    assert_eq!(srv.json(&["card", "update", "c1", "--name", "c2"])["name"], "c2");
    assert_eq!(srv.json(&["node-profile", "update", "p1", "--name", "p2"])["name"], "p2");
    assert_eq!(srv.json(&["node", "show", "n1"])["node_profile_id"], srv.json(&["node-profile", "show", "p2"])["id"]);

    // Deletes.
    for (kind, name) in
        [("node", "n1"), ("card", "c2"), ("node-profile", "p2"), ("hardware", "hw1"), ("switch-port", "leaf1:swp10"), ("switch", "leaf1"), ("fabric", "dc1")]
    {
        let out = srv.ok(&[kind, "delete", name]);
        assert!(out.starts_with("deleted"), "{out}");
        let plural = if kind == "hardware" { "hardware".to_string() } else { format!("{kind}s") };
        assert!(srv.json(&[kind, "list"]).as_array().unwrap().is_empty() || plural == "switch-ports", "{kind}");
    }
    assert!(srv.json(&["switch-port", "list"]).as_array().unwrap().is_empty());
}
