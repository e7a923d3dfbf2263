//! What the benches share.

use serde_json::{Value, json};

/// The `/v1/apply` document of the benches' fabric: one fabric (VNIs from
/// 10000, VLANs 2–4094), these switches, one hardware model with an SR-IOV
/// card (`ens1f0`), one node profile, and these nodes (each cabled by its
/// `ens1f0`).
pub fn inventory(switches: Vec<Value>, nodes: Vec<Value>) -> Value {
    json!({
        "fabrics": [{"name": "dc1", "vni_range": [10000, 16000000], "vlan_range": [2, 4094]}],
        "switches": switches, "hardware": [{"name": "hw"}],
        "cards": [{"name": "c", "hardware": ["hw"], "interface_map": [{"name": "ens1f0", "labels": ["sriov"]}]}],
        "node_profiles": [{"name": "p", "hardware": ["hw"]}], "nodes": nodes,
    })
}
