//! One endpoint's reconciler: connect, monitor, and converge on every trigger.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ovsdb::{Client, ClientConfig, Endpoint, Event, MonitorMethod};
use stitch_model::inventory::{AnyObject, Object, SwitchPortSpec};
use stitch_model::snapshot::Change;
use stitch_model::{MacAddr, Snapshot};
use stitch_vtep::{DATABASE, Scope, VtepCache, apply, check_schema, monitor_requests, plan, plan_scoped};
use tokio::sync::watch;
use uuid::Uuid;

use super::Shared;
use crate::compile::{Learned, compile_endpoint, compile_endpoint_checked, contradicting_at, ls_name, patch_endpoint};
use crate::fingerprint::{EndpointInputs, endpoint_inputs};

/// How long a pass that sent a transaction waits for the monitor update
/// carrying its rows before planning again anyway.
const SETTLE: Duration = Duration::from_secs(1);

/// Why a reconcile pass could not finish (it is retried).
type PassError = String;

/// Connect to `target` and reconcile until `stop` says so. Never returns
/// early on errors: a switch that is unreachable or misbehaving is retried
/// with backoff (the client reconnects by itself).
pub(crate) async fn run_active(shared: Arc<Shared>, key: String, target: String, mut stop: watch::Receiver<bool>) {
    let endpoint: Endpoint = match target.parse() {
        Ok(e) => e,
        Err(e) => {
            set_error(&shared, &key, format!("invalid OVSDB target {target:?}: {e}"));
            let _ = stop.changed().await;
            return;
        }
    };
    let config = ClientConfig { inactivity_probe: Some(shared.config.probe_interval), tls: shared.config.tls.clone(), ..ClientConfig::default() };
    let (client, events) = match Client::connect(endpoint, config) {
        Ok(c) => c,
        Err(e) => {
            set_error(&shared, &key, format!("cannot connect to {target}: {e}"));
            let _ = stop.changed().await;
            return;
        }
    };
    run_session(shared, key, client, events, stop).await;
}

/// Reconcile over one client until it ends (a passive client ends when the
/// switch disconnects) or `stop` says so.
pub(crate) async fn run_session(shared: Arc<Shared>, key: String, client: Client, mut events: ovsdb::Events, mut stop: watch::Receiver<bool>) {
    let mut revisions = shared.pokes_for(&key);
    let mut learned_rx = shared.learned_tx.subscribe();
    let mut retry_after: Option<Instant> = None;
    let mut failures: u32 = 0;
    let mut stale: BTreeSet<(String, MacAddr)> = BTreeSet::new();
    // The periodic resync recompiles from scratch; endpoints started
    // together (every switch at boot) would all do it at the same moment,
    // a stall every period at a thousand switches. Each keeps its own
    // phase instead. (A session starts dirty, with nothing memoized.)
    let period = shared.config.resync_interval;
    let state = client.state();
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + stagger(&key, period), period);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    'session: loop {
        // (Re)establish the monitor and the cache.
        set_connected(&shared, &key, false);
        tokio::select! {
            r = client.wait_connected() => if r.is_err() { break 'session },
            _ = stop.changed() => break 'session,
        }
        let permit = tokio::select! {
            p = shared.initial_reads.acquire() => p.expect("the semaphore is never closed"),
            _ = stop.changed() => break 'session,
        };
        let fresh = setup(&client).await;
        drop(permit);
        let fresh = match fresh {
            Ok(c) => c,
            Err(e) => {
                set_error(&shared, &key, e);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue 'session,
                    _ = stop.changed() => break 'session,
                }
            }
        };
        let shared_cache = Arc::new(RwLock::new(fresh));
        shared.caches.write().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), shared_cache.clone());
        set_connected(&shared, &key, true);
        publish_learned(&shared, &key, &shared_cache.read().unwrap_or_else(|e| e.into_inner()));
        let mut dirty = true;
        // What the passes remember: the last desired state and what may
        // differ from the database since the last pass that found nothing
        // to do (everything, to begin with).
        let mut memo = Memo::default();
        // After sending a transaction, the next pass waits for the monitor
        // to bring its rows (planning from a cache that does not have them
        // yet would send the same inserts again and trip their guards),
        // or for this deadline, should no update come.
        let mut settling: Option<Instant> = None;

        loop {
            if settling.is_some_and(|t| Instant::now() >= t) {
                settling = None;
            }
            // No pass while the connection is down: planned from the last
            // cache, one with nothing to send would report the switch in
            // sync. The reconnect (`Connected`, then `MonitorRestarted`)
            // marks the session dirty again.
            let up = state.borrow().is_connected();
            if dirty && up && settling.is_none() && retry_after.is_none_or(|t| Instant::now() >= t) {
                match pass(&shared, &client, &key, &shared_cache, &mut memo, &mut stale).await {
                    Ok(changed) => {
                        failures = 0;
                        retry_after = None;
                        // After a transaction, the monitor brings the new rows
                        // and the next pass confirms convergence.
                        dirty = changed;
                        settling = changed.then(|| Instant::now() + SETTLE);
                    }
                    Err(e) => {
                        failures += 1;
                        let delay = Duration::from_millis(200u64.saturating_mul(1 << failures.min(6))).min(Duration::from_secs(10));
                        tracing::warn!(endpoint = %key, error = %e, retry_in = ?delay, "reconcile failed");
                        set_error(&shared, &key, e);
                        retry_after = Some(Instant::now() + delay);
                        dirty = true;
                    }
                }
            }
            let wake = settling.or(retry_after).filter(|_| dirty && up).map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = stop.changed() => break 'session,
                ev = events.recv() => {
                    let Some(ev) = ev else { break 'session };
                    match ev {
                        Event::Update { updates, .. } => {
                            let mut c = shared_cache.write().unwrap_or_else(|e| e.into_inner());
                            match c.apply_scoped(&updates, &shared.config.owner) {
                                Ok(touched) => memo.dirty.extend(touched),
                                Err(e) => {
                                    tracing::warn!(endpoint = %key, error = %e, "monitor update not applied");
                                    memo.dirty = Scope::All;
                                }
                            }
                            drop(c);
                            settling = None;
                            // What the switch learned is read from these
                            // tables only: skip the walk over its local MACs
                            // on every other update.
                            if ["Ucast_Macs_Local", "Logical_Switch", "Physical_Locator"].iter().any(|t| updates.touches(t)) {
                                publish_learned(&shared, &key, &shared_cache.read().unwrap_or_else(|e| e.into_inner()));
                            }
                            dirty = true;
                        }
                        Event::MonitorRestarted { found, updates, .. } => {
                            let mut c = shared_cache.write().unwrap_or_else(|e| e.into_inner());
                            if !found {
                                c.clear();
                            }
                            if let Err(e) = c.apply(&updates) {
                                tracing::warn!(endpoint = %key, error = %e, "monitor resync not applied");
                            }
                            drop(c);
                            memo.dirty = Scope::All;
                            settling = None;
                            set_connected(&shared, &key, true);
                            publish_learned(&shared, &key, &shared_cache.read().unwrap_or_else(|e| e.into_inner()));
                            dirty = true;
                        }
                        Event::Disconnected { error } => {
                            tracing::info!(endpoint = %key, %error, "switch disconnected");
                            set_connected(&shared, &key, false);
                        }
                        Event::Connected { .. } => { memo = Memo::default(); dirty = true }
                        Event::MonitorLost { error, .. } => {
                            set_error(&shared, &key, format!("monitor lost: {error}"));
                            continue 'session;
                        }
                        _ => {}
                    }
                }
                r = revisions.changed() => {
                    if r.is_err() || local_switches(&shared.catalog.snapshot(), &key).is_empty() {
                        break 'session;
                    }
                    dirty = true;
                }
                r = learned_rx.changed() => { if r.is_err() { break 'session } dirty = true; }
                // The periodic resync always plans from scratch.
                _ = timer.tick() => { memo = Memo::default(); dirty = true }
                _ = sleep_until(wake) => {}
            }
        }
    }
    client.close();
    for sw in local_switches(&shared.catalog.snapshot(), &key) {
        shared.status.remove(&sw);
    }
}

/// Where in each `period` endpoint `key` resyncs: spread evenly over the
/// period by a hash of the key, and the same for a key every time.
fn stagger(key: &str, period: Duration) -> Duration {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    period.mul_f64((h.finish() % 1024) as f64 / 1024.0)
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Check the schema, start the monitor, build the cache.
async fn setup(client: &Client) -> Result<VtepCache, PassError> {
    let schema = client.get_schema(DATABASE).await.map_err(|e| format!("get_schema: {e}"))?;
    check_schema(&schema).map_err(|e| format!("schema check failed: {e}"))?;
    let started = client.monitor(DATABASE, monitor_requests(&schema), MonitorMethod::MonitorCondSince).await.map_err(|e| format!("monitor: {e}"))?;
    let mut cache = VtepCache::new(schema);
    cache.apply(&started.updates).map_err(|e| format!("initial monitor contents: {e}"))?;
    Ok(cache)
}

fn local_switches(snap: &Snapshot, key: &str) -> Vec<Uuid> {
    snap.switches_at_endpoint(key).map(|s| s.id).collect()
}

fn set_connected(shared: &Shared, key: &str, up: bool) {
    for sw in local_switches(&shared.catalog.snapshot(), key) {
        shared.status.update(sw, |s| {
            s.connected = up;
            if !up {
                s.in_sync = false;
            }
        });
    }
}

fn set_error(shared: &Shared, key: &str, e: String) {
    metrics::counter!("stitch_reconcile_errors_total", "endpoint" => key.to_string()).increment(1);
    for sw in local_switches(&shared.catalog.snapshot(), key) {
        shared.status.update(sw, |s| {
            s.in_sync = false;
            s.last_error = Some(e.clone());
        });
    }
}

/// The MACs this endpoint's switches learned, for the other endpoints.
fn publish_learned(shared: &Shared, key: &str, cache: &VtepCache) {
    let t = cache.tables();
    let mut mine: BTreeMap<(String, MacAddr), IpAddr> = BTreeMap::new();
    for m in t.ucast_local.values() {
        let (Some(ls), Some(ip), Ok(mac)) = (t.logical_switches.get(&m.logical_switch), cache.locator_ip(m.locator), m.mac.parse::<MacAddr>()) else {
            continue;
        };
        mine.insert((ls.name.clone(), mac), ip);
    }
    let mut all = shared.learned.write().unwrap_or_else(|e| e.into_inner());
    // Only a real change moves the version (every endpoint recompiles on
    // one): an endpoint that learned nothing has no entry at all.
    let same = all.get(key).map_or(mine.is_empty(), |had| *had == mine);
    if !same {
        if mine.is_empty() {
            all.remove(key);
        } else {
            all.insert(key.to_string(), mine);
        }
        drop(all);
        shared.learned_tx.send_modify(|v| *v += 1);
    }
}

/// What one pass would do to an endpoint, from its cached database.
pub(crate) struct Planned {
    pub plan: stitch_vtep::Plan,
    /// Switches whose identity does not match the inventory (nothing is
    /// programmed on them), with why.
    pub errors: BTreeMap<Uuid, String>,
    /// `switch_fault_status` per switch.
    pub faults: BTreeMap<Uuid, Vec<String>>,
    /// Ports the switches report that the inventory lacks.
    pub discovered: Vec<(Uuid, String)>,
}

/// What a reconciler remembers between passes, so that a pass does work
/// proportional to what changed, not to what the endpoint carries:
///
/// * the last desired state compiled, with what compiling read
///   ([`EndpointInputs`]): unchanged inputs reuse it, inputs that moved
///   only for some networks patch it ([`patch_endpoint`]), anything else
///   compiles from scratch;
/// * what may differ between the desired state and the database since
///   the last pass that planned nothing — the logical switches the
///   desired state changed for, plus those the monitor's updates touched
///   ([`VtepCache::apply_scoped`](stitch_vtep::VtepCache::apply_scoped)) —
///   which is all a pass plans ([`plan_scoped`]); everything until a pass
///   planned nothing;
/// * that pass's problems: while there are any, passes plan everything.
///
/// Nothing here describes a change to the reconciler: it is memoization of
/// its own pure compile and plan, checked against the snapshot's
/// generations. Forgotten on reconnects and on the periodic resync, which
/// compiles and plans from scratch.
#[derive(Default)]
pub(crate) struct Memo {
    compiled: Option<Compiled>,
    dirty: Scope,
    problems: Vec<stitch_vtep::PlanProblem>,
}

/// The last desired state compiled (before switches that fail their
/// identity check are left out) and what compiling read (`None`: a kind
/// the inputs do not cover was present, so compile again next time).
struct Compiled {
    inputs: Option<EndpointInputs>,
    /// Compiling resolved a clash between networks: never patch this one.
    clash: bool,
    desired: Arc<stitch_vtep::DesiredVtep>,
}

/// Compile, check each switch's identity (it must report its
/// `Physical_Switch` with our tunnel IP; a switch that does not gets no
/// bindings), and plan. Shared by the reconcile pass and the dry run, so a
/// dry run shows exactly what the next pass sends.
pub(crate) fn planned(snap: &Snapshot, learned: &Learned, owner: &stitch_vtep::Owner, key: &str, c: &VtepCache) -> Planned {
    planned_since(snap, learned, owner, key, c, None)
}

/// [`planned`], with a reconciler's [`Memo`] and the learned-MAC version:
/// compiles and plans only what changed since (see [`Memo`]), and updates
/// the memo's compiled state and dirty scope (the caller clears the scope
/// when the plan is empty).
fn planned_since(snap: &Snapshot, learned: &Learned, owner: &stitch_vtep::Owner, key: &str, c: &VtepCache, memo: Option<(&mut Memo, u64)>) -> Planned {
    let mut errors = BTreeMap::new();
    let mut faults = BTreeMap::new();
    let mut discovered = Vec::new();
    for sw in snap.switches_at_endpoint(key) {
        match c.physical_switch_by_name(&sw.spec.name) {
            None => {
                errors.insert(sw.id, format!("the switch reports no Physical_Switch named {:?}", sw.spec.name));
            }
            Some(ps) => {
                let ip = sw.spec.tunnel_ip.to_string();
                if !ps.tunnel_ips.is_empty() && !ps.tunnel_ips.contains(&ip) {
                    errors.insert(sw.id, format!("Physical_Switch {:?} reports tunnel_ips {:?}, the inventory says {ip}", sw.spec.name, ps.tunnel_ips));
                }
                faults.insert(sw.id, ps.switch_fault_status.iter().cloned().collect());
                for p in ps.ports.iter().filter_map(|u| c.tables().physical_ports.get(u)) {
                    if snap.switch_ports.by_name(Some(sw.id), &p.name).is_none() {
                        discovered.push((sw.id, p.name.clone()));
                    }
                }
            }
        }
    }
    let bad: BTreeSet<String> = errors.keys().filter_map(|id| snap.switches.get(id)).map(|s| s.spec.name.clone()).collect();
    let leave_out_bad = |raw: Arc<stitch_vtep::DesiredVtep>| {
        if bad.is_empty() {
            return raw;
        }
        let mut d = (*raw).clone();
        d.port_bindings.retain_switches(|sw| !bad.contains(sw));
        Arc::new(d)
    };
    let Some((memo, learned_version)) = memo else {
        let desired = leave_out_bad(Arc::new(compile_endpoint(snap, learned, owner, key)));
        return Planned { plan: plan(&desired, c), errors, faults, discovered };
    };

    let inputs = endpoint_inputs(snap, key, learned_version);
    let metric = |name: &'static str| metrics::counter!(name, "endpoint" => key.to_string()).increment(1);
    // Reuse, patch, or say why not.
    let full: Option<&'static str> = match (&mut memo.compiled, &inputs) {
        (None, _) => Some("first"),
        (_, None) => Some("kinds"),
        (Some(was), Some(now)) if was.inputs.as_ref() == Some(now) => {
            metric("stitch_reconcile_compiles_skipped_total");
            None
        }
        (Some(was), _) if was.clash => Some("clash"),
        (Some(was), Some(now)) => match was.inputs.as_ref().and_then(|i| i.changed_networks(now, snap, &was.desired)) {
            None => Some("inputs"),
            Some(changed) => match patch_endpoint(snap, learned, key, Arc::make_mut(&mut was.desired), &changed) {
                Some(patched) => {
                    metric("stitch_reconcile_compiles_patched_total");
                    was.inputs = Some(now.clone());
                    for n in &patched {
                        memo.dirty.insert(ls_name(*n));
                    }
                    None
                }
                None => Some("refused"),
            },
        },
    };
    if let Some(why) = full {
        metrics::counter!("stitch_reconcile_compiles_full_total", "endpoint" => key.to_string(), "why" => why).increment(1);
        let (d, clash) = compile_endpoint_checked(snap, learned, owner, key);
        // What the new state changes, by one walk over both (e.g. after
        // learned MACs moved); everything when there was none.
        memo.dirty.extend(memo.compiled.as_ref().map_or(Scope::All, |was| d.changes_from(&was.desired)));
        memo.compiled = Some(Compiled { inputs, clash, desired: Arc::new(d) });
    }
    let compiled = memo.compiled.as_ref().expect("compiled above");
    let desired = leave_out_bad(compiled.desired.clone());
    // Nothing changed since a pass that planned nothing: the same (pure)
    // plan, nothing to do and the same problems.
    let the_plan = if memo.dirty.is_empty() {
        metric("stitch_reconcile_plans_skipped_total");
        stitch_vtep::Plan { problems: memo.problems.clone(), ..Default::default() }
    } else if !bad.is_empty() || !memo.problems.is_empty() || memo.dirty == Scope::All {
        metrics::counter!("stitch_reconcile_plans_total", "endpoint" => key.to_string(), "scope" => "all").increment(1);
        plan(&desired, c)
    } else {
        metrics::counter!("stitch_reconcile_plans_total", "endpoint" => key.to_string(), "scope" => "changed").increment(1);
        plan_scoped(&desired, c, &memo.dirty)
    };
    Planned { plan: the_plan, errors, faults, discovered }
}

/// One reconcile pass. Returns whether a transaction was sent.
async fn pass(
    shared: &Shared,
    client: &Client,
    key: &str,
    cache: &Arc<RwLock<VtepCache>>,
    memo: &mut Memo,
    stale: &mut BTreeSet<(String, MacAddr)>,
) -> Result<bool, PassError> {
    let started = Instant::now();
    let snap = shared.catalog.snapshot();
    // The version is read first: a change racing with the copy below only
    // makes the next pass compile again.
    let learned_version = *shared.learned_tx.borrow();
    let learned: Learned = shared.learned.read().unwrap_or_else(|e| e.into_inner()).clone();
    let locals: Vec<_> = snap.switches_at_endpoint(key).cloned().collect();
    let Planned { plan: the_plan, errors, mut faults, discovered } = {
        let c = cache.read().unwrap_or_else(|e| e.into_inner());
        planned_since(&snap, &learned, &shared.config.owner, key, &c, Some((&mut *memo, learned_version)))
    };
    // A pass that finds nothing to do leaves nothing dirty; its problems
    // stand until the next plan.
    if the_plan.ops.is_empty() {
        memo.dirty = Scope::none();
        memo.problems = the_plan.problems.clone();
    }
    // Learned MACs this switch holds that contradict a binding (the MAC
    // lives elsewhere now, e.g. after a migration): the switch ages its
    // `Ucast_Macs_Local` itself, Stitch only refuses to spread them.
    let now: BTreeSet<(String, MacAddr)> = contradicting_at(&snap, &learned, key).into_iter().map(|(_, ls, mac)| (ls, mac)).collect();
    metrics::gauge!("stitch_learned_mac_contradictions", "endpoint" => key.to_string()).set(now.len() as f64);
    for (ls, mac) in now.difference(stale) {
        metrics::counter!("stitch_learned_mac_contradictions_total", "endpoint" => key.to_string()).increment(1);
        tracing::info!(endpoint = %key, logical_switch = %ls, %mac, "learned MAC contradicts a binding (stale after a move?); not spread to other switches");
    }
    *stale = now;
    if !discovered.is_empty() {
        record_discovered(shared, discovered).await;
    }

    let problems: Vec<String> = the_plan.problems.iter().map(|p| p.to_string()).collect();
    let ops = the_plan.ops.len();
    if ops > 0 {
        tracing::debug!(endpoint = %key, ops, "applying plan");
        let applied = apply(client, &the_plan).await.map_err(|e| e.to_string())?;
        if !applied.is_complete() {
            tracing::info!(endpoint = %key, stale = applied.stale.len(), "plan partly stale; re-planning");
        }
    }
    metrics::counter!("stitch_reconcile_runs_total", "endpoint" => key.to_string()).increment(1);
    metrics::histogram!("stitch_reconcile_seconds", "endpoint" => key.to_string()).record(started.elapsed().as_secs_f64());
    for sw in &locals {
        let err = errors.get(&sw.id).cloned();
        let f = faults.remove(&sw.id).unwrap_or_default();
        let probs = problems.clone();
        shared.status.update(sw.id, |s| {
            s.reconciles += 1;
            s.faults = f;
            s.problems = probs.clone();
            if ops > 0 {
                s.last_ops = ops;
                s.total_ops += ops as u64;
                s.in_sync = false;
            } else {
                s.in_sync = err.is_none() && probs.is_empty();
                if err.is_none() {
                    s.applied_revision = snap.revision;
                }
            }
            s.last_error = err.clone();
        });
    }
    if ops == 0 {
        advance_moves(shared).await;
    }
    Ok(ops > 0)
}

/// Move migrations on (confirm new places, release old ones) as far as
/// the switches' reports allow (make-before-break, see `bind::moves`).
/// Recomputed under the catalog's writer lock, so concurrent endpoints agree.
async fn advance_moves(shared: &Shared) {
    let holds = |sw: Uuid, rev: u64| shared.status.switch_holds(&sw, rev);
    if crate::bind::advance_moves(&shared.catalog.snapshot(), holds).is_empty() {
        return;
    }
    match shared.catalog.update(|snap| Ok::<_, String>(crate::bind::advance_moves(snap, holds))).await {
        Ok(_) => metrics::counter!("stitch_migration_steps_total").increment(1),
        Err(e) => tracing::warn!(error = %e, "advancing port moves failed"),
    }
}

/// Record ports a switch reports that the inventory does not have yet.
async fn record_discovered(shared: &Shared, ports: Vec<(Uuid, String)>) {
    let res = shared
        .catalog
        .update(|snap| {
            let now = time::OffsetDateTime::now_utc();
            let changes = ports
                .iter()
                .filter(|(sw, name)| snap.switches.get(sw).is_some() && snap.switch_ports.by_name(Some(*sw), name).is_none())
                .map(|(sw, name)| {
                    Change::Put(AnyObject::SwitchPort(Object {
                        id: Uuid::new_v4(),
                        created_at: now,
                        updated_at: now,
                        spec: SwitchPortSpec { switch_id: *sw, name: name.clone(), discovered: true },
                    }))
                })
                .collect();
            Ok::<_, String>(changes)
        })
        .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "recording discovered switch ports failed");
    }
}

#[cfg(test)]
mod stagger_tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::stagger;

    #[test]
    fn resyncs_are_spread_over_the_period_and_stable_per_endpoint() {
        let period = Duration::from_secs(30);
        let offsets: Vec<Duration> = (0..1000).map(|i| stagger(&format!("tcp:10.0.{}.{}:6640", i / 250, i % 250), period)).collect();
        assert!(offsets.iter().all(|o| *o < period));
        assert_eq!(stagger("tcp:10.0.0.1:6640", period), offsets[1], "the same key, the same phase");
        // A thousand endpoints land in most of the 30 one-second slots.
        let slots: BTreeSet<u64> = offsets.iter().map(|o| o.as_secs()).collect();
        assert!(slots.len() >= 25, "{slots:?}");
    }
}
