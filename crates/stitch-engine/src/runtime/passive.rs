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
            a = listener.accept_peer() => a,
            _ = stop.changed() => break,
        };
        let (client, events, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a switch connection failed");
                continue;
            }
        };
        match identify(&shared, &client, peer.certificate.as_deref()).await {
            Ok(key) => {
                tracing::info!(endpoint = %key, peer = ?peer.addr, "switch connected in");
                if let Some((old_stop, old)) = sessions.remove(&key) {
                    let _ = old_stop.send(true);
                    let _ = old.await;
                }
                let (tx, rx) = watch::channel(false);
                let task = tokio::spawn(run_session(shared.clone(), key.clone(), client, events, rx));
                sessions.insert(key, (tx, task));
            }
            Err(why) => {
                tracing::warn!(peer = ?peer.addr, reason = %why, "refused switch connection");
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

/// Which configured passive switch this connection serves. With TLS, the
/// certificate must name the switch too.
async fn identify(shared: &Shared, client: &Client, certificate: Option<&[u8]>) -> Result<String, String> {
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
        if let Some(der) = certificate {
            check_certificate(der, &sw.spec.name, &[Some(sw.spec.tunnel_ip), sw.spec.management_ip])?;
        }
        return Ok(endpoint_key(sw));
    }
    Err(format!("no passive switch in the inventory is named any of {names:?}"))
}

/// A switch's certificate must name it: a subject common name equal to the
/// switch name (or starting with it and a space, as `ovs-pki` writes
/// `NAME id:UUID`), or a DNS subject alternative name equal to it, or an IP
/// subject alternative name equal to its tunnel or management address.
pub(crate) fn check_certificate(der: &[u8], name: &str, ips: &[Option<std::net::IpAddr>]) -> Result<(), String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("unreadable switch certificate: {e}"))?;
    let mut seen = Vec::new();
    for cn in cert.subject().iter_common_name().filter_map(|c| c.as_str().ok()) {
        if cn == name || cn.strip_prefix(name).is_some_and(|rest| rest.starts_with(' ')) {
            return Ok(());
        }
        seen.push(format!("CN={cn}"));
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(d) if *d == name => return Ok(()),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(std::net::IpAddr::from),
                        _ => None,
                    };
                    if ip.is_some() && ips.contains(&ip) {
                        return Ok(());
                    }
                    seen.push(format!("IP={ip:?}"));
                }
                other => seen.push(format!("{other}")),
            }
        }
    }
    Err(format!("the certificate names {seen:?}, not switch {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::check_certificate;

    fn cert(cn: &str, sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.subject_alt_names = sans;
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn certificates_must_name_the_switch() {
        let ip = Some("10.0.0.7".parse().unwrap());
        assert!(check_certificate(&cert("tor-p", vec![]), "tor-p", &[ip]).is_ok());
        assert!(check_certificate(&cert("tor-p id:8a2f", vec![]), "tor-p", &[ip]).is_ok(), "ovs-pki style");
        assert!(check_certificate(&cert("x", vec![rcgen::SanType::DnsName("tor-p".try_into().unwrap())]), "tor-p", &[ip]).is_ok());
        assert!(check_certificate(&cert("x", vec![rcgen::SanType::IpAddress("10.0.0.7".parse().unwrap())]), "tor-p", &[ip]).is_ok());
        let e = check_certificate(&cert("tor-pq", vec![rcgen::SanType::IpAddress("10.0.0.8".parse().unwrap())]), "tor-p", &[ip]).unwrap_err();
        assert!(e.contains("CN=tor-pq"), "{e}");
        assert!(check_certificate(b"not a certificate", "tor-p", &[ip]).is_err());
    }
}
