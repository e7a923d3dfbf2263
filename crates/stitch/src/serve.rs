//! `stitch serve`: open the store (embedded, or etcd), load the catalog, serve the API
//! until SIGTERM or ctrl-c, then drain in-flight requests and exit.

use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use stitch_api::{AppState, router};
use stitch_engine::runtime::{Engine, EngineConfig};
use stitch_engine::status::StatusBoard;
use stitch_neutron::NeutronState;
use stitch_store::{Catalog, EtcdStore, LogStore, RedbStore, Store};

use crate::config::{Config, StoreBackend};

/// The embedded store: an append-only log (`stitch_store::LogStore`).
pub const STORE_FILE: &str = "stitch.log";
/// Where the embedded store was kept before the log (sessions 1–7): found
/// without a log beside it, it is imported once and renamed
/// [`IMPORTED_REDB`].
pub const OLD_STORE_FILE: &str = "stitch.redb";
pub const IMPORTED_REDB: &str = "stitch.redb.imported";

/// Open the embedded store in `dir`, importing an older redb store first.
fn open_embedded(dir: &std::path::Path) -> anyhow::Result<LogStore> {
    let path = dir.join(STORE_FILE);
    let old = dir.join(OLD_STORE_FILE);
    if !path.exists() && old.exists() {
        import_redb(&old, &path)?;
        std::fs::rename(&old, dir.join(IMPORTED_REDB)).with_context(|| format!("imported {}, but cannot rename it", old.display()))?;
    }
    LogStore::open(&path).with_context(|| format!("cannot open store {}", path.display()))
}

/// Copy every key of the redb store at `old` into a new log at `path`,
/// with its revisions. The log appears whole or not at all.
fn import_redb(old: &std::path::Path, path: &std::path::Path) -> anyhow::Result<()> {
    let redb = RedbStore::open(old).with_context(|| format!("cannot open the older store {}", old.display()))?;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    // Streamed: the values of a big store are never all in memory at once.
    let (mut rx, revision) = rt.block_on(redb.range_stream("")).with_context(|| format!("cannot read the older store {}", old.display()))?;
    let mut keys = 0usize;
    let kvs = std::iter::from_fn(|| rt.block_on(rx.recv())).inspect(|_| keys += 1);
    // A read error ends the import before the log is in place.
    LogStore::create_from(path, kvs, revision).with_context(|| format!("cannot import {} into {}", old.display(), path.display()))?;
    tracing::info!(from = %old.display(), to = %path.display(), keys, revision, "imported the older embedded store");
    Ok(())
}

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    // First: the store reports its size as it opens.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().context("cannot install the metrics recorder")?;
    let (store, place): (Arc<dyn Store>, String) = match &cfg.store {
        StoreBackend::Embedded(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
            let path = dir.join(STORE_FILE);
            let store = tokio::task::spawn_blocking({
                let dir = dir.clone();
                move || open_embedded(&dir)
            })
            .await??;
            (Arc::new(store), path.display().to_string())
        }
        StoreBackend::Etcd { endpoints, prefix } => {
            let store = EtcdStore::connect(endpoints.clone(), prefix).await.with_context(|| format!("cannot reach etcd at {}", endpoints.join(", ")))?;
            (Arc::new(store), format!("etcd {} under {prefix}", endpoints.join(",")))
        }
    };
    let catalog = Catalog::open(store).await.context("cannot load the catalog")?;
    let snap = catalog.snapshot();
    tracing::info!(store = %place, revision = snap.revision, "store opened");

    let catalog = Arc::new(catalog);
    let status = Arc::new(StatusBoard::new());
    let mut engine_cfg = EngineConfig::new(stitch_vtep::Owner::new(cfg.owner.clone()).map_err(anyhow::Error::msg)?);
    engine_cfg.resync_interval = cfg.resync_interval;
    if let Some((ca, cert, key)) = &cfg.tls {
        engine_cfg.tls = Some(ovsdb::TlsConfig::from_files(ca, cert, key));
    }
    let mut engine = Engine::start(catalog.clone(), status.clone(), engine_cfg.clone());
    let mut passive_line = None;
    if let Some(l) = &cfg.ovsdb_listen {
        let endpoint: ovsdb::Endpoint = l.parse().map_err(|e| anyhow::anyhow!("invalid OVSDB listen endpoint {l:?}: {e}"))?;
        let client_cfg = ovsdb::ClientConfig { tls: engine_cfg.tls.clone(), ..Default::default() };
        let listener = ovsdb::PassiveListener::bind(&endpoint, client_cfg).await.with_context(|| format!("cannot listen for switches on {l}"))?;
        passive_line = Some(format!("stitch: accepting switches on {}", listener.local_endpoint().map(|e| e.to_string()).unwrap_or_else(|| l.clone())));
        engine.serve_passive(listener);
    }

    let neutron = stitch_neutron::router(NeutronState { catalog: catalog.clone(), status: status.clone() });
    let app = router(AppState::with_engine(catalog, status, engine.handle()))
        .merge(neutron)
        .route("/metrics", get(move || std::future::ready(metrics.render())))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read the bound addresses from these lines (the API
    // first). A reader that has gone away must not take the server down.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "stitch: listening on http://{addr}");
        if let Some(l) = &passive_line {
            let _ = writeln!(out, "{l}");
        }
        let _ = out.flush();
    }
    tracing::info!(%addr, "API listening");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("server failed")?;
    engine.shutdown().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
