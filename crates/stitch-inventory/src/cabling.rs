//! Cabling checks: what LLDP says a node's NICs are cabled to, against what
//! the inventory records (`nodes.ports`). Pure: a snapshot and neighbors in,
//! findings out; [`corrected`] gives the node with the cabling LLDP saw.

use serde::Serialize;
use stitch_model::Snapshot;
use stitch_model::inventory::{NodePort, NodeSpec, Object, SwitchSpec};
use uuid::Uuid;

use crate::lldp::Neighbor;

/// What a NIC's LLDP neighbor says about the recorded cabling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// LLDP sees the switch port the inventory records.
    Matches,
    /// LLDP sees another switch port than the inventory records: a
    /// cabling error, or an inventory error.
    Differs,
    /// The inventory has no cabling for this NIC; LLDP gives one.
    New,
    /// The neighbor is no switch of the inventory (by name, chassis MAC or
    /// management IP).
    UnknownSwitch,
    /// The neighbor gives no usable port name.
    NoPortName,
    /// The inventory records cabling for this NIC, LLDP saw nothing on it.
    NotSeen,
}

/// One NIC's finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub nic: String,
    pub verdict: Verdict,
    /// The switch and port LLDP saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<Place>,
    /// The switch and port the inventory records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Place>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Place {
    pub switch_id: Uuid,
    pub switch: String,
    pub switch_port: String,
}

/// The inventory switch a neighbor is: by system name, then chassis MAC,
/// then management IP.
fn switch_of<'a>(snap: &'a Snapshot, n: &Neighbor) -> Option<&'a Object<SwitchSpec>> {
    n.system_name
        .as_deref()
        .and_then(|name| snap.switches.by_name(None, name))
        .or_else(|| n.chassis_mac.and_then(|m| snap.switches.iter().find(|s| s.spec.chassis_mac == Some(m))))
        .or_else(|| snap.switches.iter().find(|s| s.spec.management_ip.is_some_and(|ip| n.management_ips.contains(&ip))))
}

/// Check `node`'s recorded cabling against `neighbors` (seen on its NICs).
pub fn check(snap: &Snapshot, node: &Object<NodeSpec>, neighbors: &[Neighbor]) -> Vec<Finding> {
    let recorded = |nic: &str| {
        node.spec.ports.iter().find(|p| p.name == nic).map(|p| Place {
            switch_id: p.switch_id,
            switch: snap.switches.get(&p.switch_id).map(|s| s.spec.name.clone()).unwrap_or_default(),
            switch_port: p.switch_port.clone(),
        })
    };
    let mut out = Vec::new();
    for n in neighbors {
        let rec = recorded(&n.local_port);
        let who = n.system_name.clone().or(n.chassis_mac.map(|m| m.to_string())).unwrap_or_else(|| "?".into());
        let (verdict, seen, message) = match (switch_of(snap, n), n.port_name()) {
            (None, _) => (Verdict::UnknownSwitch, None, format!("neighbor {who} on {} is no switch of the inventory", n.local_port)),
            (Some(sw), None) => (
                Verdict::NoPortName,
                None,
                format!("switch {:?} gives no port name on {} (port id {} of kind {:?})", sw.spec.name, n.local_port, n.port_id, n.port_id_kind),
            ),
            (Some(sw), Some(port)) => {
                let seen = Place { switch_id: sw.id, switch: sw.spec.name.clone(), switch_port: port.to_string() };
                match &rec {
                    None => (Verdict::New, Some(seen), format!("{} is cabled to {}:{port} (not recorded yet)", n.local_port, sw.spec.name)),
                    Some(r) if r.switch_id == sw.id && r.switch_port == port => {
                        (Verdict::Matches, Some(seen), format!("{} is cabled to {}:{port} as recorded", n.local_port, sw.spec.name))
                    }
                    Some(r) => (
                        Verdict::Differs,
                        Some(seen),
                        format!("{} is cabled to {}:{port}, the inventory says {}:{}", n.local_port, sw.spec.name, r.switch, r.switch_port),
                    ),
                }
            }
        };
        out.push(Finding { nic: n.local_port.clone(), verdict, seen, recorded: rec, message });
    }
    for p in &node.spec.ports {
        if !neighbors.iter().any(|n| n.local_port == p.name) {
            out.push(Finding {
                nic: p.name.clone(),
                verdict: Verdict::NotSeen,
                seen: None,
                recorded: recorded(&p.name),
                message: format!("no LLDP neighbor on {}", p.name),
            });
        }
    }
    out.sort_by(|a, b| a.nic.cmp(&b.nic));
    out
}

/// `node` with the cabling of every `New` and `Differs` finding applied
/// (NIC MACs kept); `None` when nothing changes.
pub fn corrected(node: &Object<NodeSpec>, findings: &[Finding]) -> Option<Object<NodeSpec>> {
    let mut n = node.clone();
    let mut changed = false;
    for f in findings.iter().filter(|f| matches!(f.verdict, Verdict::New | Verdict::Differs)) {
        let Some(seen) = &f.seen else { continue };
        match n.spec.ports.iter_mut().find(|p| p.name == f.nic) {
            Some(p) => {
                p.switch_id = seen.switch_id;
                p.switch_port = seen.switch_port.clone();
            }
            None => n.spec.ports.push(NodePort { name: f.nic.clone(), mac: None, switch_id: seen.switch_id, switch_port: seen.switch_port.clone() }),
        }
        changed = true;
    }
    changed.then_some(n)
}
