//! The reconcile runtime: one task per OVSDB endpoint, started and stopped
//! as switches come and go in the catalog.
//!
//! Each endpoint task (see [`endpoint`]) keeps a monitor-fed cache of its
//! database and re-runs `compile → plan → transact` whenever the catalog
//! changes, the switch's rows change, another switch learns a MAC, or its
//! timer fires. Reconciling takes no description of what changed, so it is
//! safe to run at any time; a switch that is down only delays itself.

mod endpoint;
mod passive;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use stitch_model::OvsdbTarget;
use stitch_store::Catalog;
use stitch_vtep::{Owner, Plan, VtepCache};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::compile::{Learned, endpoint_key};
use crate::status::StatusBoard;
use crate::wake::Concern;

/// Runtime settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Marks the rows this deployment writes (`other_config:stitch-owner`).
    pub owner: Owner,
    /// Full re-reconcile period, on top of event-driven runs.
    pub resync_interval: Duration,
    /// OVSDB inactivity probe.
    pub probe_interval: Duration,
    /// Certificates for `ssl:` switches and `pssl:` listening.
    pub tls: Option<ovsdb::TlsConfig>,
}

impl EngineConfig {
    pub fn new(owner: Owner) -> Self {
        EngineConfig { owner, resync_interval: Duration::from_secs(30), probe_interval: Duration::from_secs(5), tls: None }
    }
}

/// What the endpoint tasks share.
pub(crate) struct Shared {
    pub catalog: Arc<Catalog>,
    pub status: Arc<StatusBoard>,
    pub config: EngineConfig,
    pub learned: RwLock<Learned>,
    pub learned_tx: watch::Sender<u64>,
    /// Each endpoint's latest observed database, for dry-run plans.
    pub caches: RwLock<BTreeMap<String, Arc<RwLock<VtepCache>>>>,
    /// Per endpoint: bumped when a catalog change concerns it (see
    /// [`crate::wake`]).
    pub pokes: RwLock<BTreeMap<String, watch::Sender<u64>>>,
    /// How many endpoints may read a switch's whole database at once. A
    /// monitor's initial reply is the switch's every row, held as text, as
    /// parsed JSON and as monitor updates until the cache has them: a
    /// controller restarting against a hundred switches read them all at
    /// once (issue 8: +90 MiB of peak RSS at 100,000 ports), though two
    /// cores decode no faster for it.
    pub initial_reads: tokio::sync::Semaphore,
}

/// [`Shared::initial_reads`]: enough to overlap a few switches' round trips.
const INITIAL_READS: usize = 4;

impl Shared {
    /// The channel that tells endpoint `key` the catalog changed in a way
    /// that concerns it.
    pub(crate) fn pokes_for(&self, key: &str) -> watch::Receiver<u64> {
        let mut pokes = self.pokes.write().unwrap_or_else(|e| e.into_inner());
        pokes.entry(key.to_owned()).or_insert_with(|| watch::channel(0).0).subscribe()
    }
}

/// Bumps the pokes of the endpoints `concern` names.
fn wake(shared: &Shared, concern: Concern) {
    let pokes = shared.pokes.read().unwrap_or_else(|e| e.into_inner());
    match concern {
        Concern::All => {
            metrics::counter!("stitch_reconcile_wakes_total", "concern" => "all").increment(1);
            for tx in pokes.values() {
                tx.send_modify(|n| *n += 1);
            }
        }
        Concern::Endpoints(keys) => {
            metrics::counter!("stitch_reconcile_wakes_total", "concern" => "some").increment(1);
            metrics::counter!("stitch_reconcile_endpoints_woken_total").increment(keys.len() as u64);
            for k in keys {
                if let Some(tx) = pokes.get(&k) {
                    tx.send_modify(|n| *n += 1);
                }
            }
        }
    }
}

/// Wakes the endpoints each catalog change concerns.
async fn dispatch(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut revisions = shared.catalog.subscribe();
    let mut memo = crate::wake::WakeMemo::default();
    loop {
        let snap = shared.catalog.snapshot();
        metrics::gauge!("stitch_bound_ports").set(snap.bound_port_count() as f64);
        metrics::gauge!("stitch_virtual_port_groups").set(snap.vpgs.len() as f64);
        wake(&shared, memo.concerned(&snap));
        tokio::select! {
            r = revisions.changed() => if r.is_err() { break },
            _ = stop.changed() => break,
        }
    }
}

/// A running engine. Dropping it does not stop the tasks; call [`Engine::shutdown`].
pub struct Engine {
    shared: Arc<Shared>,
    supervisor: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    passive: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Engine {
    /// Start reconciling every switch of the catalog.
    pub fn start(catalog: Arc<Catalog>, status: Arc<StatusBoard>, config: EngineConfig) -> Engine {
        let (learned_tx, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            catalog,
            status,
            config,
            learned: RwLock::new(Learned::new()),
            learned_tx,
            caches: RwLock::new(BTreeMap::new()),
            pokes: RwLock::new(BTreeMap::new()),
            initial_reads: tokio::sync::Semaphore::new(INITIAL_READS),
        });
        let (stop, stop_rx) = watch::channel(false);
        let supervisor = tokio::spawn(supervise(shared.clone(), stop_rx.clone()));
        let dispatcher = tokio::spawn(dispatch(shared.clone(), stop_rx));
        Engine { shared, supervisor, dispatcher, passive: None, stop }
    }

    /// Also serve switches that connect in on `listener` (`passive` in the
    /// inventory): each connection is matched to the switch whose name its
    /// `Physical_Switch` rows carry, cross-checked with its tunnel and
    /// management IPs; anything else is refused and logged.
    pub fn serve_passive(&mut self, listener: ovsdb::PassiveListener) {
        let stop = self.stop.subscribe();
        self.passive = Some(tokio::spawn(passive::accept_loop(self.shared.clone(), listener, stop)));
    }

    /// A cheap handle for readers (the API's dry-run plans).
    pub fn handle(&self) -> EngineHandle {
        EngineHandle(self.shared.clone())
    }

    /// Stop every endpoint task and wait for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.supervisor.await;
        let _ = self.dispatcher.await;
        if let Some(p) = self.passive {
            let _ = p.await;
        }
    }
}

/// Read access to a running engine.
#[derive(Clone)]
pub struct EngineHandle(Arc<Shared>);

impl EngineHandle {
    /// The pending plan of the endpoint that serves `switch` (dry run):
    /// `None` when the endpoint has not been read yet.
    pub fn dry_run(&self, switch: uuid::Uuid) -> Option<Plan> {
        let shared = &self.0;
        let snap = shared.catalog.snapshot();
        let sw = snap.switches.get(&switch)?;
        let key = endpoint_key(sw);
        let cache = shared.caches.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned()?;
        let learned = shared.learned.read().unwrap_or_else(|e| e.into_inner()).clone();
        let cache = cache.read().unwrap_or_else(|e| e.into_inner());
        Some(endpoint::planned(&snap, &learned, &shared.config.owner, &key, &cache).plan)
    }
}

struct Running {
    target: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Keep one task per endpoint, matching the catalog.
async fn supervise(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut revisions = shared.catalog.subscribe();
    let mut running: BTreeMap<String, Running> = BTreeMap::new();
    // Only the switches table: a whole snapshot kept from the last switch
    // change would pin every row written since in memory.
    let mut seen: Option<stitch_model::snapshot::Table<stitch_model::inventory::SwitchSpec>> = None;
    loop {
        let snap = shared.catalog.snapshot();
        // The endpoints change only with the switches: skip the walk over
        // every switch on the other writes.
        if seen.as_ref().is_some_and(|s| s.same_as(&snap.switches)) {
            tokio::select! {
                r = revisions.changed() => if r.is_err() { break },
                _ = stop.changed() => break,
            }
            continue;
        }
        seen = Some(snap.switches.clone());
        let mut wanted: BTreeMap<String, String> = BTreeMap::new();
        for sw in snap.switches.iter() {
            if matches!(sw.spec.ovsdb, OvsdbTarget::Passive) {
                // Passive switches are served when they connect in (not yet).
                continue;
            }
            wanted.insert(endpoint_key(sw), sw.spec.ovsdb.to_string());
        }
        let gone: Vec<String> = running.iter().filter(|(k, r)| wanted.get(*k) != Some(&r.target)).map(|(k, _)| k.clone()).collect();
        for k in gone {
            if let Some(r) = running.remove(&k) {
                let _ = r.stop.send(true);
                let _ = r.task.await;
                shared.caches.write().unwrap_or_else(|e| e.into_inner()).remove(&k);
                shared.learned.write().unwrap_or_else(|e| e.into_inner()).remove(&k);
                shared.pokes.write().unwrap_or_else(|e| e.into_inner()).remove(&k);
                tracing::info!(endpoint = %k, "stopped reconciler");
            }
        }
        for (k, target) in wanted {
            if running.contains_key(&k) {
                continue;
            }
            let (tx, rx) = watch::channel(false);
            let task = tokio::spawn(endpoint::run_active(shared.clone(), k.clone(), target.clone(), rx));
            tracing::info!(endpoint = %k, "started reconciler");
            running.insert(k, Running { target, stop: tx, task });
        }
        tokio::select! {
            r = revisions.changed() => if r.is_err() { break },
            _ = stop.changed() => break,
        }
    }
    for (_, r) in running {
        let _ = r.stop.send(true);
        let _ = r.task.await;
    }
}
