//! OVS remote strings: `unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`,
//! `ptcp:PORT[:IP]`, `pssl:PORT[:IP]`, `punix:PATH` (ovsdb-server(1),
//! "Remotes").

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// The port OVSDB uses when none is given.
pub const DEFAULT_PORT: u16 = 6640;

/// Where to connect, or where to listen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `unix:PATH`: connect to a Unix domain socket.
    Unix(PathBuf),
    /// `tcp:HOST[:PORT]`: connect over TCP. IPv6 addresses in brackets.
    Tcp {
        /// IP address or host name.
        host: String,
        /// Port.
        port: u16,
    },
    /// `ssl:HOST[:PORT]`: connect over TLS.
    Ssl {
        /// IP address or host name.
        host: String,
        /// Port.
        port: u16,
    },
    /// `ptcp:[PORT][:IP]`: listen for TCP connections (default all
    /// addresses).
    PTcp {
        /// Port (0 picks a free one).
        port: u16,
        /// Address to bind.
        ip: IpAddr,
    },
    /// `pssl:[PORT][:IP]`: listen for TLS connections.
    PSsl {
        /// Port (0 picks a free one).
        port: u16,
        /// Address to bind.
        ip: IpAddr,
    },
    /// `punix:PATH`: listen on a Unix domain socket.
    PUnix(PathBuf),
}

/// Why a remote string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid remote {remote:?}: {reason}")]
pub struct EndpointError {
    /// The string given.
    pub remote: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Endpoint {
    /// True for the listening kinds (`ptcp`, `pssl`, `punix`).
    pub fn is_passive(&self) -> bool {
        matches!(self, Endpoint::PTcp { .. } | Endpoint::PSsl { .. } | Endpoint::PUnix(_))
    }

    /// True for the TLS kinds (`ssl`, `pssl`).
    pub fn is_tls(&self) -> bool {
        matches!(self, Endpoint::Ssl { .. } | Endpoint::PSsl { .. })
    }
}

fn err(remote: &str, reason: impl Into<String>) -> EndpointError {
    EndpointError { remote: remote.to_owned(), reason: reason.into() }
}

fn parse_port(remote: &str, s: &str) -> Result<u16, EndpointError> {
    s.parse::<u16>().map_err(|_| err(remote, format!("{s:?} is not a port number (0-65535)")))
}

/// `HOST[:PORT]`, `[V6][:PORT]`.
fn parse_host_port(remote: &str, s: &str) -> Result<(String, u16), EndpointError> {
    if s.is_empty() {
        return Err(err(remote, "missing host"));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(|| err(remote, "unclosed '['"))?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| err(remote, format!("{h:?} is not an IPv6 address")))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| err(remote, "expected ':' after ']'"))?),
        };
        (h.to_owned(), port)
    } else if s.matches(':').count() > 1 {
        return Err(err(remote, "IPv6 addresses must be written in brackets"));
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (s.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(err(remote, "missing host"));
    }
    if host.parse::<IpAddr>().is_err() && !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(err(remote, format!("{host:?} is neither an IP address nor a host name")));
    }
    let port = port.map(|p| parse_port(remote, p)).transpose()?.unwrap_or(DEFAULT_PORT);
    Ok((host, port))
}

/// `[PORT][:IP]`.
fn parse_port_ip(remote: &str, s: &str) -> Result<(u16, IpAddr), EndpointError> {
    let (port, ip) = match s.split_once(':') {
        Some((p, ip)) => (p, Some(ip)),
        None => (s, None),
    };
    let port = if port.is_empty() { DEFAULT_PORT } else { parse_port(remote, port)? };
    let ip = match ip {
        None | Some("") => IpAddr::from([0, 0, 0, 0]),
        Some(ip) => {
            let bare = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
            bare.parse().map_err(|_| err(remote, format!("{ip:?} is not an IP address")))?
        }
    };
    Ok((port, ip))
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(remote: &str) -> Result<Self, EndpointError> {
        let (kind, rest) = remote.split_once(':').ok_or_else(|| err(remote, "expected KIND:ADDRESS (unix:, tcp:, ssl:, ptcp:, pssl:, punix:)"))?;
        match kind {
            "unix" | "punix" => {
                if rest.is_empty() {
                    return Err(err(remote, "missing socket path"));
                }
                let p = PathBuf::from(rest);
                Ok(if kind == "unix" { Endpoint::Unix(p) } else { Endpoint::PUnix(p) })
            }
            "tcp" => parse_host_port(remote, rest).map(|(host, port)| Endpoint::Tcp { host, port }),
            "ssl" => parse_host_port(remote, rest).map(|(host, port)| Endpoint::Ssl { host, port }),
            "ptcp" => parse_port_ip(remote, rest).map(|(port, ip)| Endpoint::PTcp { port, ip }),
            "pssl" => parse_port_ip(remote, rest).map(|(port, ip)| Endpoint::PSsl { port, ip }),
            other => Err(err(remote, format!("unknown connection method {other:?}"))),
        }
    }
}

fn host_fmt(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_owned() }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::PUnix(p) => write!(f, "punix:{}", p.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp:{}:{port}", host_fmt(host)),
            Endpoint::Ssl { host, port } => write!(f, "ssl:{}:{port}", host_fmt(host)),
            Endpoint::PTcp { port, ip } => write!(f, "ptcp:{port}:{}", host_fmt(&ip.to_string())),
            Endpoint::PSsl { port, ip } => write!(f, "pssl:{port}:{}", host_fmt(&ip.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_kind() {
        assert_eq!(p("unix:/run/db.sock"), Endpoint::Unix("/run/db.sock".into()));
        assert_eq!(p("punix:/x"), Endpoint::PUnix("/x".into()));
        assert_eq!(p("tcp:127.0.0.1:6641"), Endpoint::Tcp { host: "127.0.0.1".into(), port: 6641 });
        assert_eq!(p("tcp:10.0.0.1"), Endpoint::Tcp { host: "10.0.0.1".into(), port: 6640 });
        assert_eq!(p("tcp:[::1]:7"), Endpoint::Tcp { host: "::1".into(), port: 7 });
        assert_eq!(p("ssl:tor-1.example:6640"), Endpoint::Ssl { host: "tor-1.example".into(), port: 6640 });
        assert_eq!(p("ptcp:6640"), Endpoint::PTcp { port: 6640, ip: "0.0.0.0".parse().unwrap() });
        assert_eq!(p("ptcp:0:127.0.0.1"), Endpoint::PTcp { port: 0, ip: "127.0.0.1".parse().unwrap() });
        assert_eq!(p("ptcp:"), Endpoint::PTcp { port: 6640, ip: "0.0.0.0".parse().unwrap() });
        assert_eq!(p("pssl:6641:[::1]"), Endpoint::PSsl { port: 6641, ip: "::1".parse().unwrap() });
        assert_eq!(p("pssl:6641:::1"), Endpoint::PSsl { port: 6641, ip: "::1".parse().unwrap() });
        assert!(p("pssl:1").is_passive() && p("pssl:1").is_tls());
        assert!(!p("tcp:a").is_passive());
    }

    #[test]
    fn display_round_trips() {
        for s in ["unix:/a/b", "punix:/c", "tcp:1.2.3.4:5", "tcp:[::1]:6640", "ssl:h:1", "ptcp:0:127.0.0.1", "pssl:6640:[::]"] {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
    }

    #[test]
    fn clear_errors() {
        for (s, needle) in [
            ("", "expected KIND"),
            ("6640", "expected KIND"),
            ("udp:1.2.3.4:5", "unknown connection method"),
            ("unix:", "missing socket path"),
            ("tcp:", "missing host"),
            ("tcp::6640", "missing host"),
            ("tcp:1.2.3.4:99999", "not a port"),
            ("tcp:1.2.3.4:x", "not a port"),
            ("tcp:::1:6640", "brackets"),
            ("tcp:[::1", "unclosed"),
            ("tcp:[zz]:1", "not an IPv6"),
            ("tcp:bad_host!:1", "neither an IP"),
            ("ptcp:abc", "not a port"),
            ("ptcp:1:not-ip", "not an IP"),
        ] {
            let e = s.parse::<Endpoint>().unwrap_err();
            assert!(e.to_string().contains(needle), "{s}: {e}");
        }
    }
}
