//! What the reconcilers report back, and the port and group status derived
//! from it at read time (nothing here is written to the store).
//!
//! A switch's `applied_revision` is the catalog revision whose desired state
//! the switch was last confirmed to hold. A port is `ACTIVE` when it is bound
//! and every switch carrying one of its groups is in sync at or after the
//! revision that last wrote the port and that group.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::Serialize;
use stitch_model::Snapshot;
use stitch_model::inventory::Object;
use stitch_model::neutron::{PortSpec, VpgSpec};
use uuid::Uuid;

/// One switch's reconcile status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SwitchStatus {
    /// The OVSDB session is up.
    pub connected: bool,
    /// The last reconcile found nothing left to do.
    pub in_sync: bool,
    /// Catalog revision the switch is known to reflect.
    pub applied_revision: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Problems that do not stop the rest of the switch converging
    /// (a port the switch does not report, a foreign binding in the way).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Reported in `Physical_Switch.switch_fault_status`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// Operations sent by the last reconcile that changed something.
    pub last_ops: usize,
    /// Operations sent since the engine started.
    pub total_ops: u64,
    /// Reconcile passes run since the engine started.
    pub reconciles: u64,
}

/// Shared board the reconcilers write and the API reads.
#[derive(Debug, Default)]
pub struct StatusBoard {
    switches: RwLock<HashMap<Uuid, SwitchStatus>>,
}

impl StatusBoard {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, switch: &Uuid) -> Option<SwitchStatus> {
        self.switches.read().unwrap_or_else(|e| e.into_inner()).get(switch).cloned()
    }

    pub fn set(&self, switch: Uuid, status: SwitchStatus) {
        self.switches.write().unwrap_or_else(|e| e.into_inner()).insert(switch, status);
    }

    pub fn update(&self, switch: Uuid, f: impl FnOnce(&mut SwitchStatus)) {
        let mut m = self.switches.write().unwrap_or_else(|e| e.into_inner());
        f(m.entry(switch).or_default());
    }

    pub fn remove(&self, switch: &Uuid) {
        self.switches.write().unwrap_or_else(|e| e.into_inner()).remove(switch);
    }

    /// Whether `switch` holds everything written up to `revision`.
    pub fn switch_holds(&self, switch: &Uuid, revision: u64) -> bool {
        // Read in place: this runs for every group of every port a response
        // shows, and a status holds strings (problems, errors).
        let m = self.switches.read().unwrap_or_else(|e| e.into_inner());
        m.get(switch).is_some_and(|s| s.connected && s.in_sync && s.applied_revision >= revision)
    }

    /// `in_sync` of one group: its switch holds the group as last written.
    pub fn vpg_in_sync(&self, snap: &Snapshot, g: &Object<VpgSpec>) -> bool {
        self.switch_holds(&g.spec.switch_id, snap.mod_revision(&g.id))
    }

    /// Neutron `status` of a port: `ACTIVE` once every switch it needs has
    /// acknowledged it, else `DOWN`.
    pub fn port_status(&self, snap: &Snapshot, port: &Object<PortSpec>) -> &'static str {
        if !port.spec.binding.is_bound() || !port.spec.admin_state_up {
            return "DOWN";
        }
        let port_rev = snap.mod_revision(&port.id);
        let mut groups = snap.vpgs_of_port(port.id).filter(|g| g.spec.port_ids.contains(&port.id)).peekable();
        if groups.peek().is_none() {
            return "DOWN";
        }
        let all = groups.all(|g| self.switch_holds(&g.spec.switch_id, port_rev.max(snap.mod_revision(&g.id))));
        if all { "ACTIVE" } else { "DOWN" }
    }
}
