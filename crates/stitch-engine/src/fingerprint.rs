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

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use stitch_model::Snapshot;
use stitch_model::inventory::Kind;

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

/// The digest of endpoint `key`'s compile inputs, with `learned_version`
/// standing for the MACs the switches learned: the snapshot's switch
/// generation and, for every network with a group on the endpoint's
/// switches, its generation (which moves on any write to the network, its
/// groups anywhere, or their ports). O(networks present here), read from
/// the snapshot's indexes only.
pub fn endpoint_fingerprint(snap: &Snapshot, key: &str, learned_version: u64) -> Option<u64> {
    if Kind::ALL.iter().any(|k| !KNOWN.contains(k) && snap.len(*k) > 0) {
        return None;
    }
    let mut h = DefaultHasher::new();
    (learned_version, snap.switch_generation()).hash(&mut h);
    let mut nets = BTreeSet::new();
    for sw in snap.switches_at_endpoint(key) {
        sw.id.hash(&mut h);
        nets.extend(snap.networks_on_switch(sw.id));
    }
    for n in &nets {
        (n, snap.network_generation(*n)).hash(&mut h);
    }
    Some(h.finish())
}
