//! Which endpoints a catalog change concerns.
//!
//! Every write to the catalog used to wake every endpoint's reconciler;
//! with a thousand switches, a binding that concerns four of them cost a
//! thousand passes that each found nothing to do. [`WakeMemo::concerned`]
//! names the endpoints whose desired state a change can move: those where
//! a written network has a group now or had one at the previous call.
//! Anything it cannot place that way (switches, inventory, trunks,
//! segments, security groups, QoS, port profiles, a new line of
//! snapshots) concerns every endpoint.
//!
//! Waking is not input: a woken reconciler still compiles from the
//! snapshot alone, and its periodic resync runs whether woken or not. A
//! property test holds `concerned` to "every endpoint whose compiled
//! desired state changed" over random histories.

use std::collections::{BTreeMap, BTreeSet};

use stitch_model::Snapshot;
use uuid::Uuid;

use crate::compile::endpoint_key;

/// The endpoints a change concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concern {
    /// Every endpoint.
    All,
    /// These endpoint keys (maybe none).
    Endpoints(BTreeSet<String>),
}

/// What [`WakeMemo::concerned`] remembers between calls: the last
/// snapshot, and where each network had groups in it.
#[derive(Debug, Default)]
pub struct WakeMemo {
    /// One revision behind the catalog at most (it is replaced on every
    /// call), so it pins little beyond the live snapshot.
    last: Option<Snapshot>,
    /// Network → the endpoints with a group of it, as of `last`.
    endpoints_of: BTreeMap<Uuid, BTreeSet<String>>,
}

impl WakeMemo {
    /// The endpoints whose desired state may differ between the snapshot
    /// of the last call and `now` (every endpoint on the first call).
    /// Work proportional to the networks written since, unless it answers
    /// [`Concern::All`].
    pub fn concerned(&mut self, now: &Snapshot) -> Concern {
        let Some(last) = self.last.replace(now.clone()) else {
            self.rebuild(now);
            return Concern::All;
        };
        if !now.only_networks_written_since(&last) {
            self.rebuild(now);
            return Concern::All;
        }
        let mut keys = BTreeSet::new();
        for n in now.networks_written_since(last.generation()) {
            let here = endpoints_of(now, n);
            keys.extend(self.endpoints_of.remove(&n).unwrap_or_default());
            keys.extend(here.iter().cloned());
            if !here.is_empty() {
                self.endpoints_of.insert(n, here);
            }
        }
        Concern::Endpoints(keys)
    }

    fn rebuild(&mut self, now: &Snapshot) {
        self.endpoints_of.clear();
        for g in now.vpgs.iter() {
            if let Some(sw) = now.switches.get(&g.spec.switch_id) {
                self.endpoints_of.entry(g.spec.network_id).or_default().insert(endpoint_key(sw));
            }
        }
    }
}

/// The endpoints with a group of network `n`.
fn endpoints_of(snap: &Snapshot, n: Uuid) -> BTreeSet<String> {
    snap.vpgs_of_network(n).filter_map(|g| snap.switches.get(&g.spec.switch_id)).map(endpoint_key).collect()
}
