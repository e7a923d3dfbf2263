//! A throwaway PKI for TLS tests: a CA and certificates it signs, as PEM
//! files in a directory.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

pub struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    pub ca_file: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "stitch test CA");
        let ca = p.self_signed(&ca_key).expect("CA cert");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        Pki { dir: dir.to_path_buf(), ca, ca_key, ca_file }
    }

    /// A certificate with this common name (no subject alternative names,
    /// as `ovs-pki` makes them): returns (certificate file, key file).
    pub fn issue(&self, cn: &str) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.signed_by(&key, &self.ca, &self.ca_key).expect("sign");
        let slug: String = cn.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let (c, k) = (self.dir.join(format!("{slug}-cert.pem")), self.dir.join(format!("{slug}-key.pem")));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }
}
