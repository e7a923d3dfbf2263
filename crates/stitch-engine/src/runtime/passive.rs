//! Switches that connect in (`passive` in the inventory): accept the
//! connection, find out which switch it is from the `Physical_Switch` rows
//! it serves, cross-check that against the inventory, and run the same
//! reconciler over it. Unknown or inconsistent switches are refused and
//! logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use ovsdb::{Client, Operation, PassiveListener};
use stitch_model::OvsdbTarget;
use stitch_vtep::DATABASE;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Shared;
use super::endpoint::run_session;
use crate::compile::endpoint_key;

/// Accept switches until `stop`.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: PassiveListener, mut stop: watch::Receiver<bool>) {
    let mut sessions: BTreeMap<String, (watch::Sender<bool>, JoinHandle<()>)> = BTreeMap::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => break,
        };
        let (client, events, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a switch connection failed");
                continue;
            }
        };
        match identify(&shared, &client).await {
            Ok(key) => {
                tracing::info!(endpoint = %key, ?peer, "switch connected in");
                if let Some((old_stop, old)) = sessions.remove(&key) {
                    let _ = old_stop.send(true);
                    let _ = old.await;
                }
                let (tx, rx) = watch::channel(false);
                let task = tokio::spawn(run_session(shared.clone(), key.clone(), client, events, rx));
                sessions.insert(key, (tx, task));
            }
            Err(why) => {
                tracing::warn!(?peer, reason = %why, "refused switch connection");
                metrics::counter!("stitch_passive_refused_total").increment(1);
                client.close();
            }
        }
        sessions.retain(|_, (_, t)| !t.is_finished());
    }
    for (_, (tx, task)) in sessions {
        let _ = tx.send(true);
        let _ = task.await;
    }
}

/// Which configured passive switch this connection serves.
async fn identify(shared: &Shared, client: &Client) -> Result<String, String> {
    client.wait_connected().await.map_err(|e| e.to_string())?;
    let resp = client
        .transact(DATABASE, &[Operation::select_columns("Physical_Switch", vec![], ["name", "tunnel_ips", "management_ips"])])
        .await
        .map_err(|e| format!("reading Physical_Switch: {e}"))?;
    let rows = resp.results.first().and_then(|r| r.rows()).map(<[_]>::to_vec).unwrap_or_default();
    let snap = shared.catalog.snapshot();
    let mut names = Vec::new();
    for row in &rows {
        let Some(name) = row.get_str("name") else { continue };
        names.push(name.to_string());
        let Some(sw) = snap.switches.iter().find(|s| s.spec.name == name && s.spec.ovsdb == OvsdbTarget::Passive) else {
            continue;
        };
        let set = |col: &str| -> Vec<String> {
            row.get(col).and_then(|v| v.as_set()).map(|s| s.iter().filter_map(|a| a.as_str().map(str::to_string)).collect()).unwrap_or_default()
        };
        let tunnel_ips = set("tunnel_ips");
        if !tunnel_ips.is_empty() && !tunnel_ips.contains(&sw.spec.tunnel_ip.to_string()) {
            return Err(format!("switch {name:?} reports tunnel_ips {tunnel_ips:?}, the inventory says {}", sw.spec.tunnel_ip));
        }
        if let Some(mgmt) = sw.spec.management_ip {
            let reported = set("management_ips");
            if !reported.is_empty() && !reported.contains(&mgmt.to_string()) {
                return Err(format!("switch {name:?} reports management_ips {reported:?}, the inventory says {mgmt}"));
            }
        }
        return Ok(endpoint_key(sw));
    }
    Err(format!("no passive switch in the inventory is named any of {names:?}"))
}
