//! Passive connections (`ptcp:`, `pssl:`, `punix:`): the switch (an
//! ovsdb-server configured with an active remote such as
//! `tcp:CONTROLLER:6640`) connects to us, and then serves its database over
//! that connection. Each accepted connection becomes a [`Client`] with the
//! full request/monitor API, so the caller can inspect the database (e.g.
//! its `Physical_Switch` names) and decide whether to keep the session.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::{TcpListener, UnixListener};

use crate::client::{Client, ClientConfig, Events};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::transport::BoxStream;

/// Who connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAddr {
    /// A TCP or TLS peer.
    Tcp(SocketAddr),
    /// A Unix socket peer.
    Unix,
}

enum Kind {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// Listens on a passive endpoint and hands out one [`Client`] per inbound
/// connection.
pub struct PassiveListener {
    kind: Kind,
    tls: Option<tokio_rustls::TlsAcceptor>,
    config: ClientConfig,
}

impl std::fmt::Debug for PassiveListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassiveListener").field("endpoint", &self.local_endpoint()).finish()
    }
}

impl PassiveListener {
    /// Binds `ptcp:`, `pssl:` or `punix:`. For `pssl:` the TLS settings
    /// come from `config.tls` (our certificate and key, and the CA that
    /// client certificates must chain to). A stale `punix:` socket file is
    /// replaced.
    pub async fn bind(endpoint: &Endpoint, config: ClientConfig) -> Result<Self, Error> {
        let (kind, tls) = match endpoint {
            Endpoint::PTcp { port, ip } => (Kind::Tcp(TcpListener::bind((*ip, *port)).await?), None),
            Endpoint::PSsl { port, ip } => {
                let tls = config.tls.as_ref().ok_or_else(|| Error::Tls("pssl: remote needs ClientConfig::tls".into()))?;
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config().await?);
                (Kind::Tcp(TcpListener::bind((*ip, *port)).await?), Some(acceptor))
            }
            Endpoint::PUnix(path) => {
                if tokio::fs::symlink_metadata(path).await.is_ok() {
                    tokio::fs::remove_file(path).await?;
                }
                (Kind::Unix(UnixListener::bind(path)?, path.clone()), None)
            }
            other => {
                return Err(Error::Endpoint(crate::endpoint::EndpointError {
                    remote: other.to_string(),
                    reason: "not a passive remote (ptcp:, pssl:, punix:)".into(),
                }));
            }
        };
        Ok(PassiveListener { kind, tls, config })
    }

    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.kind {
            Kind::Tcp(l) => l.local_addr().ok(),
            Kind::Unix(..) => None,
        }
    }

    /// The bound endpoint with the actual port.
    pub fn local_endpoint(&self) -> Option<Endpoint> {
        match &self.kind {
            Kind::Tcp(l) => {
                let a = l.local_addr().ok()?;
                Some(if self.tls.is_some() { Endpoint::PSsl { port: a.port(), ip: a.ip() } } else { Endpoint::PTcp { port: a.port(), ip: a.ip() } })
            }
            Kind::Unix(_, p) => Some(Endpoint::PUnix(p.clone())),
        }
    }

    /// Waits for the next inbound connection (and its TLS handshake,
    /// bounded by `connect_timeout`) and starts a session on it. A failed
    /// handshake is returned as an error; the listener stays usable.
    pub async fn accept(&self) -> Result<(Client, Events, PeerAddr), Error> {
        let (client, events, peer) = self.accept_peer().await?;
        Ok((client, events, peer.addr))
    }

    /// Like [`accept`](Self::accept), also returning the certificate the
    /// peer presented (TLS only), so the caller can check who it is.
    pub async fn accept_peer(&self) -> Result<(Client, Events, Peer), Error> {
        let mut certificate = None;
        let (stream, peer): (BoxStream, PeerAddr) = match &self.kind {
            Kind::Tcp(l) => {
                let (s, addr) = l.accept().await?;
                s.set_nodelay(true)?;
                match &self.tls {
                    None => (Box::new(s), PeerAddr::Tcp(addr)),
                    Some(acceptor) => {
                        let tls = tokio::time::timeout(self.config.connect_timeout, acceptor.accept(s))
                            .await
                            .map_err(|_| Error::ConnectTimeout)?
                            .map_err(|e| Error::Tls(format!("handshake with {addr}: {e}")))?;
                        certificate = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                        (Box::new(tls), PeerAddr::Tcp(addr))
                    }
                }
            }
            Kind::Unix(l, _) => {
                let (s, _) = l.accept().await?;
                (Box::new(s), PeerAddr::Unix)
            }
        };
        let (client, events) = Client::from_stream(stream, self.config.clone());
        Ok((client, events, Peer { addr: peer, certificate }))
    }
}

/// Who connected, as far as the transport can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Where from.
    pub addr: PeerAddr,
    /// The DER end-entity certificate the peer presented (TLS only; the
    /// chain was already verified against the CA).
    pub certificate: Option<Vec<u8>>,
}

impl Drop for PassiveListener {
    fn drop(&mut self) {
        if let Kind::Unix(_, path) = &self.kind {
            let _ = std::fs::remove_file(path);
        }
    }
}
