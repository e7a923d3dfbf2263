//! QoS policies (Neutron's `qos` extension) with their bandwidth-limit
//! rules inside, as security groups hold theirs. Only `bandwidth_limit`
//! rules exist here, egress only (what an SR-IOV VF's `max_tx_rate`
//! enforces); the compute host gets them in `binding:vif_details`
//! (`max_kbps`, `max_burst_kbps`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ModelError;
use crate::inventory::Rules;

/// Neutron's bound for `max_kbps` / `max_burst_kbps` (a 32-bit int).
pub const MAX_KBPS: u64 = 2_147_483_647;

/// A `bandwidth_limit` rule (egress, from the VM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandwidthLimitRule {
    pub id: Uuid,
    pub max_kbps: u64,
    #[serde(default)]
    pub max_burst_kbps: u64,
}

/// A QoS policy: applied to a port by its `qos_policy_id`, or to every
/// port of a network whose `qos_policy_id` names it (the port's wins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QosPolicySpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub shared: bool,
    #[serde(default)]
    pub bandwidth_limit_rules: Vec<BandwidthLimitRule>,
}

impl Rules for QosPolicySpec {
    fn check(&self) -> Result<(), ModelError> {
        if self.bandwidth_limit_rules.len() > 1 {
            return Err(ModelError::Conflict {
                field: "bandwidth_limit_rules".into(),
                message: "a policy has at most one bandwidth_limit rule (per direction; Stitch serves egress only)".into(),
            });
        }
        for (i, r) in self.bandwidth_limit_rules.iter().enumerate() {
            for (f, v) in [("max_kbps", r.max_kbps), ("max_burst_kbps", r.max_burst_kbps)] {
                if v > MAX_KBPS {
                    return Err(ModelError::invalid(format!("bandwidth_limit_rules[{i}].{f}"), format!("{v} is not in 0..{MAX_KBPS}")));
                }
            }
        }
        Ok(())
    }
}
