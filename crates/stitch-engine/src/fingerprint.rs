//! A cheap digest of everything [`compile_endpoint`](crate::compile::compile_endpoint)
//! reads for one endpoint, so a reconciler can tell that a new catalog
//! revision cannot change its desired state and skip compiling at all.
//!
//! The digest covers the same objects `compile_endpoint` visits (the
//! endpoint's switches, their groups, the networks present, every group of
//! those networks with its switch, their member ports) through generation
//! numbers the snapshot keeps per network and for switches: no strings, no
//! maps, one lookup per network present. It is `None` — compile, do
//! not guess — whenever the snapshot holds objects of a kind this module
//! does not know (a kind added later, e.g. security groups read by an ACL
//! compile), so an extension of `compile_endpoint` can never be skipped by
//! a stale digest. Anything `compile_endpoint` starts reading from the
//! kinds listed here must be added to the walk (the proptest
//! `fingerprint_covers_compile` checks equal digests give equal results).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use stitch_model::Snapshot;
use stitch_model::inventory::Kind;
use uuid::Uuid;

/// Kinds whose effect on an endpoint's desired state goes through the
/// objects the walk covers: switches, networks, groups, ports (binding,
/// trunks, segments, gateways and inventory act by writing groups and
/// ports).
const KNOWN: &[Kind] = &[
    Kind::Fabric,
    Kind::Switch,
    Kind::SwitchPort,
    Kind::Hardware,
    Kind::Card,
    Kind::NodeProfile,
    Kind::Node,
    Kind::Network,
    Kind::Segment,
    Kind::Port,
    Kind::Trunk,
    Kind::L2Gateway,
    Kind::VirtualPortGroup,
    Kind::L2GatewayConnection,
];

/// What compiling one endpoint reads, as generation numbers: the MACs the
/// switches learned (their version), the snapshot's switch generation, the
/// endpoint's switches and, for every network with a group on them, its
/// generation (which moves on any write to the network, its groups
/// anywhere, or their ports). Equal inputs give equal desired states;
/// inputs that differ only in some networks' entries give desired states
/// that differ only in those networks' parts (see
/// [`crate::compile::patch_endpoint`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInputs {
    /// The learned-MAC version.
    pub learned_version: u64,
    /// The snapshot's switch generation.
    pub switch_generation: u64,
    /// The endpoint's switches.
    pub switches: Vec<Uuid>,
    /// Networks present (a group on one of the switches) → generation.
    pub networks: BTreeMap<Uuid, u64>,
}

impl EndpointInputs {
    /// A digest of the inputs (equal inputs, equal digests).
    pub fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (self.learned_version, self.switch_generation).hash(&mut h);
        self.switches.hash(&mut h);
        for (n, g) in &self.networks {
            (n, g).hash(&mut h);
        }
        h.finish()
    }

    /// The networks whose part of the desired state may differ between a
    /// compile that read `self` and one reading `now`: those added,
    /// removed or written since. `None` when anything else moved (switches,
    /// learned MACs): compile from scratch.
    pub fn changed_networks(&self, now: &EndpointInputs) -> Option<BTreeSet<Uuid>> {
        if self.learned_version != now.learned_version || self.switch_generation != now.switch_generation || self.switches != now.switches {
            return None;
        }
        let mut changed = BTreeSet::new();
        for (n, g) in &self.networks {
            if now.networks.get(n) != Some(g) {
                changed.insert(*n);
            }
        }
        changed.extend(now.networks.keys().filter(|n| !self.networks.contains_key(n)));
        Some(changed)
    }
}

/// The compile inputs of endpoint `key`, with `learned_version` standing
/// for the MACs the switches learned; `None` when the snapshot holds a kind
/// this module does not know. O(networks present here), read from the
/// snapshot's indexes only.
pub fn endpoint_inputs(snap: &Snapshot, key: &str, learned_version: u64) -> Option<EndpointInputs> {
    if Kind::ALL.iter().any(|k| !KNOWN.contains(k) && snap.len(*k) > 0) {
        return None;
    }
    let switches: Vec<Uuid> = snap.switches_at_endpoint(key).map(|sw| sw.id).collect();
    let networks = switches.iter().flat_map(|sw| snap.networks_on_switch(*sw)).map(|n| (n, snap.network_generation(n))).collect();
    Some(EndpointInputs { learned_version, switch_generation: snap.switch_generation(), switches, networks })
}

/// The digest of endpoint `key`'s compile inputs ([`endpoint_inputs`]).
pub fn endpoint_fingerprint(snap: &Snapshot, key: &str, learned_version: u64) -> Option<u64> {
    endpoint_inputs(snap, key, learned_version).map(|i| i.digest())
}
