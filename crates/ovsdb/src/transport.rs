//! Byte-stream transports: Unix sockets, TCP and TLS (rustls, ring
//! provider), for both connecting out and accepting in.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::endpoint::Endpoint;
use crate::error::Error;

/// Anything that can carry OVSDB: a full-duplex async byte stream.
pub trait AsyncStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> AsyncStream for T {}

/// A boxed transport stream.
pub type BoxStream = Box<dyn AsyncStream>;

/// PEM data, from a file (read at each connection attempt, so rotated
/// certificates are picked up) or in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A PEM file.
    File(PathBuf),
    /// PEM bytes.
    Pem(Vec<u8>),
}

impl PemSource {
    async fn load(&self) -> Result<Vec<u8>, Error> {
        match self {
            PemSource::File(p) => tokio::fs::read(p).await.map_err(|e| Error::Tls(format!("reading {}: {e}", p.display()))),
            PemSource::Pem(b) => Ok(b.clone()),
        }
    }
}

/// TLS settings, shaped like ovsdb-server's `--ca-cert`, `--certificate`
/// and `--private-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// CA certificate(s) that peers' certificates must chain to.
    pub ca_cert: PemSource,
    /// Our certificate chain (required for `pssl`, and by most OVSDB
    /// servers for `ssl`).
    pub certificate: Option<PemSource>,
    /// Our private key.
    pub private_key: Option<PemSource>,
    /// Check that the server certificate names the host we connect to.
    /// Open vSwitch does not (its PKI issues certificates without subject
    /// alternative names), so the default is `false`: the chain is still
    /// verified against `ca_cert`.
    pub verify_hostname: bool,
    /// Name to present in SNI and to verify instead of the endpoint host.
    pub server_name: Option<String>,
}

impl TlsConfig {
    /// Settings from PEM files.
    pub fn from_files(ca_cert: impl Into<PathBuf>, certificate: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        TlsConfig {
            ca_cert: PemSource::File(ca_cert.into()),
            certificate: Some(PemSource::File(certificate.into())),
            private_key: Some(PemSource::File(private_key.into())),
            verify_hostname: false,
            server_name: None,
        }
    }

    /// Settings from PEM bytes.
    pub fn from_pem(ca_cert: impl Into<Vec<u8>>, certificate: impl Into<Vec<u8>>, private_key: impl Into<Vec<u8>>) -> Self {
        TlsConfig {
            ca_cert: PemSource::Pem(ca_cert.into()),
            certificate: Some(PemSource::Pem(certificate.into())),
            private_key: Some(PemSource::Pem(private_key.into())),
            verify_hostname: false,
            server_name: None,
        }
    }

    async fn roots(&self) -> Result<RootCertStore, Error> {
        let pem = self.ca_cert.load().await?;
        let mut roots = RootCertStore::empty();
        for cert in parse_certs(&pem)? {
            roots.add(cert).map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(Error::Tls("no CA certificate found".into()));
        }
        Ok(roots)
    }

    async fn identity(&self) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, Error> {
        match (&self.certificate, &self.private_key) {
            (Some(c), Some(k)) => {
                let certs = parse_certs(&c.load().await?)?;
                if certs.is_empty() {
                    return Err(Error::Tls("no certificate found".into()));
                }
                let key = rustls_pemfile::private_key(&mut &k.load().await?[..])
                    .map_err(|e| Error::Tls(format!("private key: {e}")))?
                    .ok_or_else(|| Error::Tls("no private key found".into()))?;
                Ok(Some((certs, key)))
            }
            (None, None) => Ok(None),
            _ => Err(Error::Tls("certificate and private key must be given together".into())),
        }
    }

    /// Builds a rustls client configuration.
    pub async fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(self.roots().await?);
        let builder =
            rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(|e| Error::Tls(e.to_string()))?;
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider).build().map_err(|e| Error::Tls(e.to_string()))?;
        let builder = if self.verify_hostname {
            builder.with_webpki_verifier(webpki)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier(webpki)))
        };
        let config = match self.identity().await? {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key).map_err(|e| Error::Tls(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// Builds a rustls server configuration that requires client
    /// certificates signed by the CA (as Open vSwitch does).
    pub async fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(self.roots().await?);
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone()).build().map_err(|e| Error::Tls(e.to_string()))?;
        let (certs, key) = self.identity().await?.ok_or_else(|| Error::Tls("pssl needs a certificate and private key".into()))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(format!("server certificate: {e}")))?;
        Ok(Arc::new(config))
    }
}

fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    rustls_pemfile::certs(&mut &pem[..]).collect::<Result<Vec<_>, _>>().map_err(|e| Error::Tls(format!("certificate PEM: {e}")))
}

/// Verifies the chain and signatures like WebPKI but accepts any name, as
/// Open vSwitch does.
#[derive(Debug)]
struct ChainOnlyVerifier(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Connects to an active endpoint (`unix:`, `tcp:`, `ssl:`).
pub async fn connect(endpoint: &Endpoint, tls: Option<&TlsConfig>) -> Result<BoxStream, Error> {
    match endpoint {
        Endpoint::Unix(path) => Ok(Box::new(UnixStream::connect(path).await?)),
        Endpoint::Tcp { host, port } => {
            let s = TcpStream::connect((host.as_str(), *port)).await?;
            s.set_nodelay(true)?;
            Ok(Box::new(s))
        }
        Endpoint::Ssl { host, port } => {
            let tls = tls.ok_or_else(|| Error::Tls("ssl: remote needs a TLS configuration".into()))?;
            let config = tls.client_config().await?;
            let name = tls.server_name.as_deref().unwrap_or(host);
            let server_name = ServerName::try_from(name.to_owned()).map_err(|e| Error::Tls(format!("server name {name:?}: {e}")))?;
            let s = TcpStream::connect((host.as_str(), *port)).await?;
            s.set_nodelay(true)?;
            let stream =
                tokio_rustls::TlsConnector::from(config).connect(server_name, s).await.map_err(|e| Error::Tls(format!("handshake with {endpoint}: {e}")))?;
            Ok(Box::new(stream))
        }
        Endpoint::PTcp { .. } | Endpoint::PSsl { .. } | Endpoint::PUnix(_) => Err(Error::Endpoint(crate::endpoint::EndpointError {
            remote: endpoint.to_string(),
            reason: "a passive remote cannot be connected to; use PassiveListener".into(),
        })),
    }
}
