//! `stitch serve` configuration: a TOML file (`--config`), overridden by
//! flags and `STITCH_*` environment variables. Unknown keys are errors and
//! nothing required is defaulted silently.
//!
//! ```toml
//! [api]
//! listen = "127.0.0.1:9696"
//!
//! [store]
//! data_dir = "/var/lib/stitch"  # the embedded store (default backend)
//! # or an etcd cluster instead (then no data_dir is needed):
//! # etcd_endpoints = ["http://10.0.0.5:2379"]
//! # etcd_prefix = "/stitch/"
//!
//! [log]
//! filter = "info,stitch=debug"
//!
//! [engine]
//! owner = "stitch"              # marks the switch rows this deployment owns
//! resync_interval_secs = 30     # full reconcile period, on top of events
//!
//! [ovsdb]
//! listen = "ptcp:6640:0.0.0.0"  # accept switches that connect in (passive)
//! ca_cert = "/etc/stitch/ca.pem"        # TLS for ssl: switches and pssl: listening
//! certificate = "/etc/stitch/cert.pem"
//! private_key = "/etc/stitch/key.pem"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9696";
pub const DEFAULT_LOG: &str = "info";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub api: ApiSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub engine: EngineSection,
    #[serde(default)]
    pub ovsdb: OvsdbSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    pub owner: Option<String>,
    pub resync_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OvsdbSection {
    pub listen: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub certificate: Option<PathBuf>,
    pub private_key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub data_dir: Option<PathBuf>,
    pub etcd_endpoints: Option<Vec<String>>,
    pub etcd_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub filter: Option<String>,
}

/// What `stitch serve` was told on its command line (flags or env).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// A TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "STITCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store (`stitch.log` inside it).
    #[arg(long, env = "STITCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use an etcd cluster instead of the embedded store: its client URLs,
    /// comma-separated (e.g. `http://10.0.0.5:2379`).
    #[arg(long, env = "STITCH_ETCD_ENDPOINTS", value_delimiter = ',')]
    pub etcd_endpoints: Option<Vec<String>>,
    /// Address of the HTTP API; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "STITCH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info,stitch_api=debug`.
    #[arg(long, env = "STITCH_LOG")]
    pub log: Option<String>,
    /// Accept switches that connect in: `ptcp:PORT[:IP]` or `pssl:PORT[:IP]`.
    #[arg(long, env = "STITCH_OVSDB_LISTEN")]
    pub ovsdb_listen: Option<String>,
    /// The id written on the switch rows this deployment owns.
    #[arg(long, env = "STITCH_OWNER")]
    pub owner: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub store: StoreBackend,
    pub listen: SocketAddr,
    pub log: String,
    pub owner: String,
    pub resync_interval: std::time::Duration,
    /// Passive OVSDB listening endpoint, validated.
    pub ovsdb_listen: Option<String>,
    /// (ca_cert, certificate, private_key)
    pub tls: Option<(PathBuf, PathBuf, PathBuf)>,
}

pub const DEFAULT_OWNER: &str = "stitch";

/// Where the model is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// The embedded store in this directory (the default).
    Embedded(PathBuf),
    /// An etcd cluster; every key under `prefix`.
    Etcd { endpoints: Vec<String>, prefix: String },
}

impl Config {
    /// Merge flags/env over the file over defaults.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let data_dir = args.data_dir.clone().or(file.store.data_dir);
        let etcd = args.etcd_endpoints.clone().or(file.store.etcd_endpoints).filter(|e| !e.is_empty());
        let store = match (etcd, data_dir) {
            (Some(_), Some(_)) => bail!("choose one store: a data directory (embedded) or etcd endpoints, not both"),
            (Some(endpoints), None) => {
                for e in &endpoints {
                    if !(e.starts_with("http://") || e.starts_with("https://")) {
                        bail!("invalid etcd endpoint {e:?}: expected http://HOST:PORT");
                    }
                }
                let prefix = file.store.etcd_prefix.unwrap_or_else(|| "/stitch/".to_string());
                if !prefix.starts_with('/') || !prefix.ends_with('/') {
                    bail!("etcd_prefix {prefix:?} must start and end with '/'");
                }
                StoreBackend::Etcd { endpoints, prefix }
            }
            (None, Some(d)) if d.as_os_str().is_empty() => bail!("the data directory must not be empty"),
            (None, Some(d)) => StoreBackend::Embedded(d),
            (None, None) => bail!(
                "no data directory: pass --data-dir, set STITCH_DATA_DIR, or set data_dir in the [store] section of --config (or use etcd: --etcd-endpoints)"
            ),
        };
        let listen = match args.listen.or(file.api.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let log = args.log.clone().or(file.log.filter).unwrap_or_else(|| DEFAULT_LOG.to_string());
        tracing_subscriber::EnvFilter::try_new(&log).with_context(|| format!("invalid log filter {log:?}"))?;
        let owner = args.owner.clone().or(file.engine.owner).unwrap_or_else(|| DEFAULT_OWNER.to_string());
        stitch_vtep::Owner::new(owner.clone()).map_err(|e| anyhow::anyhow!("invalid owner: {e}"))?;
        let secs = file.engine.resync_interval_secs.unwrap_or(30);
        if secs == 0 {
            bail!("resync_interval_secs must be at least 1");
        }
        let ovsdb_listen = args.ovsdb_listen.clone().or(file.ovsdb.listen);
        if let Some(l) = &ovsdb_listen {
            let e: ovsdb::Endpoint = l.parse().map_err(|e| anyhow::anyhow!("invalid OVSDB listen endpoint {l:?}: {e}"))?;
            if !e.is_passive() {
                bail!("OVSDB listen endpoint {l:?} must be passive (ptcp:PORT[:IP] or pssl:PORT[:IP])");
            }
            if e.is_tls() && file.ovsdb.private_key.is_none() {
                bail!("pssl: listening needs ca_cert, certificate and private_key in the [ovsdb] section");
            }
        }
        let tls = match (file.ovsdb.ca_cert, file.ovsdb.certificate, file.ovsdb.private_key) {
            (Some(a), Some(b), Some(c)) => Some((a, b, c)),
            (None, None, None) => None,
            _ => bail!("[ovsdb] TLS needs all of ca_cert, certificate and private_key"),
        };
        Ok(Config { store, listen, log, owner, resync_interval: std::time::Duration::from_secs(secs), ovsdb_listen, tls })
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read config file {}", p.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("stitch.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn flags_override_file_and_defaults_apply() {
        let (_d, p) = file("[api]\nlisten = \"127.0.0.1:1000\"\n[store]\ndata_dir = \"/from/file\"\n");
        let args = ServeArgs { config: Some(p.clone()), ..Default::default() };
        let c = Config::load(&args).unwrap();
        assert_eq!(c.store, StoreBackend::Embedded(PathBuf::from("/from/file")));
        assert_eq!(c.listen.port(), 1000);
        assert_eq!(c.log, "info");
        let args = ServeArgs { config: Some(p), data_dir: Some("/flag".into()), listen: Some("127.0.0.1:2".parse().unwrap()), ..Default::default() };
        let c = Config::load(&args).unwrap();
        assert_eq!((c.store, c.listen.port()), (StoreBackend::Embedded(PathBuf::from("/flag")), 2));
    }

    #[test]
    fn bad_config_is_an_error() {
        for (text, needle) in [
            ("[store]\ndata_dir = \"/x\"\nbogus = 1\n", "unknown field"),
            ("[ovsdb]\nbogus = \"x\"\n", "unknown field"),
            ("[store]\ndata_dir = \"/x\"\n[ovsdb]\nlisten = \"tcp:1.2.3.4:5\"\n", "must be passive"),
            ("[store]\ndata_dir = \"/x\"\n[engine]\nresync_interval_secs = 0\n", "at least 1"),
            ("[api]\nlisten = \"not an address\"\n[store]\ndata_dir = \"/x\"\n", "invalid"),
            ("[store\n", "invalid config"),
        ] {
            let (_d, p) = file(text);
            let e = Config::load(&ServeArgs { config: Some(p), ..Default::default() }).unwrap_err();
            assert!(format!("{e:#}").contains(needle), "{text}: {e:#}");
        }
        let e = Config::load(&ServeArgs::default()).unwrap_err();
        assert!(e.to_string().contains("no data directory"), "{e}");
        let e = Config::load(&ServeArgs { data_dir: Some("/x".into()), log: Some("=[".into()), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("invalid log filter"), "{e}");
    }
}
