//! What compiling one endpoint reads, as generation numbers
//! ([`EndpointInputs`]), so a reconciler can tell that a new catalog
//! revision cannot change its desired state (reuse it) or changes only some
//! networks' part of it (patch those, see
//! [`patch_endpoint`](crate::compile::patch_endpoint)).
//!
//! The inputs cover what [`compile_endpoint`](crate::compile::compile_endpoint)
//! visits (the endpoint's switches, their groups, the networks present,
//! every group of those networks with its switch, their member ports)
//! through generation numbers the snapshot keeps per network and for
//! switches. They are `None` — compile, do not guess — whenever the
//! snapshot holds objects of a kind this module does not know (a kind added
//! later, e.g. security groups read by an ACL compile), so an extension of
//! `compile_endpoint` can never be skipped by stale inputs. Anything
//! `compile_endpoint` starts reading from the kinds listed here must move a
//! generation the inputs cover (the proptest `patching_equals_compiling`
//! checks that reusing or patching by these inputs equals compiling).

use std::collections::BTreeSet;

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

/// What compiling one endpoint read, as generation numbers: the MACs the
/// switches learned (their version), the snapshot's switch generation, the
/// endpoint's switches, and the snapshot's write generation. Between two
/// snapshots of one line whose inputs differ only in the write generation,
/// the desired states differ only in the parts of the networks written in
/// between (a network's generation moves on any write to it, its groups
/// anywhere, or their ports), which the snapshot lists without a scan
/// ([`Snapshot::networks_written_since`]); see
/// [`crate::compile::patch_endpoint`]. O(switches) to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInputs {
    /// The learned-MAC version.
    pub learned_version: u64,
    /// The snapshot's switch generation.
    pub switch_generation: u64,
    /// The endpoint's switches.
    pub switches: Vec<Uuid>,
    /// The snapshot's write generation.
    pub generation: u64,
}

impl EndpointInputs {
    /// The networks written between the snapshot `self` was taken from
    /// and `snap` (whose inputs are `now`) that can concern an endpoint
    /// whose desired state was `before`; `None` when anything else moved
    /// (switches, learned MACs, another line of snapshots): compile from
    /// scratch. Some may concern other endpoints; patching skips those at
    /// the cost of a lookup each.
    ///
    /// Work: the smaller of the networks written since and the networks
    /// the endpoint has (in `before`, or with a group on its switches
    /// now). An endpoint woken once after many writes elsewhere (waking
    /// is per endpoint, see [`crate::wake`]) looks at its own networks,
    /// not at every write in the fabric.
    pub fn changed_networks(&self, now: &EndpointInputs, snap: &Snapshot, before: &stitch_vtep::DesiredVtep) -> Option<BTreeSet<Uuid>> {
        self.changed_networks_within(now, snap, before, before.logical_switches.len() + 16)
    }

    /// [`EndpointInputs::changed_networks`], taking the networks written
    /// since when there are at most `bound` of them, else looking at the
    /// endpoint's own (tests pass 0 and `usize::MAX` to force either way).
    pub fn changed_networks_within(&self, now: &EndpointInputs, snap: &Snapshot, before: &stitch_vtep::DesiredVtep, bound: usize) -> Option<BTreeSet<Uuid>> {
        if self.learned_version != now.learned_version
            || self.switch_generation != now.switch_generation
            || self.switches != now.switches
            || now.generation < self.generation
        {
            return None;
        }
        let written: Vec<Uuid> = snap.networks_written_since(self.generation).take(bound.saturating_add(1)).collect();
        if written.len() <= bound {
            return Some(written.into_iter().collect());
        }
        // A network here now and not before was written since: its group
        // here was.
        let here =
            before.logical_switches.keys().filter_map(|n| n.parse::<Uuid>().ok()).chain(self.switches.iter().flat_map(|sw| snap.networks_on_switch(*sw)));
        Some(here.filter(|n| snap.network_generation(*n) > self.generation).collect())
    }
}

/// The compile inputs of endpoint `key`, with `learned_version` standing
/// for the MACs the switches learned; `None` when the snapshot holds a kind
/// this module does not know.
pub fn endpoint_inputs(snap: &Snapshot, key: &str, learned_version: u64) -> Option<EndpointInputs> {
    if Kind::ALL.iter().any(|k| !KNOWN.contains(k) && snap.len(*k) > 0) {
        return None;
    }
    let switches: Vec<Uuid> = snap.switches_at_endpoint(key).map(|sw| sw.id).collect();
    Some(EndpointInputs { learned_version, switch_generation: snap.switch_generation(), switches, generation: snap.generation() })
}
