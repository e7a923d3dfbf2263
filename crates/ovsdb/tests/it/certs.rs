//! Test PKI made with rcgen: a CA, a server and a client certificate.
#![allow(dead_code)]

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use crate::server::CertFiles;

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("CA key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    (p.self_signed(&key).expect("CA cert"), key)
}

fn leaf(cn: &str, sans: &[&str], ca: &rcgen::Certificate, ca_key: &KeyPair) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    let cert = p.signed_by(&key, ca, ca_key).expect("sign");
    (cert.pem(), key.serialize_pem())
}

/// Writes a fresh PKI into `dir`. With `server_sans` empty the server
/// certificate names no host, as ovs-pki certificates do.
pub fn make(dir: &Path, server_sans: &[&str]) -> CertFiles {
    let (ca_cert, ca_key) = ca("ovsdb test CA");
    let (server_cert, server_key) = leaf("ovsdb-server", server_sans, &ca_cert, &ca_key);
    let (client_cert, client_key) = leaf("controller", &[], &ca_cert, &ca_key);
    let files = CertFiles {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server-cert.pem"),
        server_key: dir.join("server-key.pem"),
        client_cert: dir.join("client-cert.pem"),
        client_key: dir.join("client-key.pem"),
    };
    std::fs::write(&files.ca, ca_cert.pem()).unwrap();
    std::fs::write(&files.server_cert, server_cert).unwrap();
    std::fs::write(&files.server_key, server_key).unwrap();
    std::fs::write(&files.client_cert, client_cert).unwrap();
    std::fs::write(&files.client_key, client_key).unwrap();
    files
}
