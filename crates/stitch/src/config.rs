//! `stitch serve` configuration: a TOML file (`--config`), overridden by
//! flags and `STITCH_*` environment variables. Unknown keys are errors and
//! nothing required is defaulted silently.
//!
//! ```toml
//! [api]
//! listen = "127.0.0.1:9696"
//!
//! [store]
//! data_dir = "/var/lib/stitch"
//!
//! [log]
//! filter = "info,stitch=debug"
//! ```
//!
//! Later sections (e.g. `[ovsdb]` with a passive listen address) are added
//! as new optional fields of [`FileConfig`].

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
    /// Directory of the embedded store (`stitch.redb` inside it).
    #[arg(long, env = "STITCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the HTTP API; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "STITCH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info,stitch_api=debug`.
    #[arg(long, env = "STITCH_LOG")]
    pub log: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub log: String,
}

impl Config {
    /// Merge flags/env over the file over defaults.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let data_dir = args.data_dir.clone().or(file.store.data_dir).context(
            "no data directory: pass --data-dir, set STITCH_DATA_DIR, or set data_dir in the [store] section of --config",
        )?;
        if data_dir.as_os_str().is_empty() {
            bail!("the data directory must not be empty");
        }
        let listen = match args.listen.or(file.api.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let log = args.log.clone().or(file.log.filter).unwrap_or_else(|| DEFAULT_LOG.to_string());
        tracing_subscriber::EnvFilter::try_new(&log).with_context(|| format!("invalid log filter {log:?}"))?;
        Ok(Config { data_dir, listen, log })
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
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.listen.port(), 1000);
        assert_eq!(c.log, "info");
        let args = ServeArgs { config: Some(p), data_dir: Some("/flag".into()), listen: Some("127.0.0.1:2".parse().unwrap()), log: None };
        let c = Config::load(&args).unwrap();
        assert_eq!((c.data_dir, c.listen.port()), (PathBuf::from("/flag"), 2));
    }

    #[test]
    fn bad_config_is_an_error() {
        for (text, needle) in [
            ("[store]\ndata_dir = \"/x\"\nbogus = 1\n", "unknown field"),
            ("[ovsdb]\nlisten = \"x\"\n", "unknown field"),
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
