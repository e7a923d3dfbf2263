//! A cheap digest of everything [`compile_endpoint`](crate::compile::compile_endpoint)
//! reads for one endpoint, so a reconciler can tell that a new catalog
//! revision cannot change its desired state and skip compiling at all.
//!
//! The digest walks the same objects `compile_endpoint` visits (the
//! endpoint's switches, their groups, the networks present, every group of
//! those networks with its switch, their member ports) but only hashes ids
//! and store revisions: no strings, no maps. It is `None` — compile, do
//! not guess — whenever the snapshot holds objects of a kind this module
//! does not know (a kind added later, e.g. security groups read by an ACL
//! compile), so an extension of `compile_endpoint` can never be skipped by
//! a stale digest. Anything `compile_endpoint` starts reading from the
//! kinds listed here must be added to the walk (the proptest
//! `fingerprint_covers_compile` checks equal digests give equal results).

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use stitch_model::inventory::Kind;
use stitch_model::Snapshot;
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

/// The digest of endpoint `key`'s compile inputs, with `learned_version`
/// standing for the MACs the switches learned. Relies on the catalog's
/// `mod_revision`s (every stored write changes the object's).
pub fn endpoint_fingerprint(snap: &Snapshot, key: &str, learned_version: u64) -> Option<u64> {
    if Kind::ALL.iter().any(|k| !KNOWN.contains(k) && snap.len(*k) > 0) {
        return None;
    }
    let mut h = DefaultHasher::new();
    learned_version.hash(&mut h);
    let rev = |id: &Uuid| snap.mod_revision(id);
    let mut nets = BTreeSet::new();
    for sw in snap.switches_at_endpoint(key) {
        (sw.id, rev(&sw.id)).hash(&mut h);
        for g in snap.vpgs_on_switch(sw.id) {
            (g.id, rev(&g.id)).hash(&mut h);
            nets.insert(g.spec.network_id);
        }
    }
    for n in &nets {
        (n, rev(n)).hash(&mut h);
        for g in snap.vpgs_of_network(*n) {
            (g.id, rev(&g.id), g.spec.switch_id, rev(&g.spec.switch_id)).hash(&mut h);
            for p in &g.spec.port_ids {
                (p, rev(p)).hash(&mut h);
            }
        }
    }
    Some(h.finish())
}
