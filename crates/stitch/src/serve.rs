//! `stitch serve`: open the store (embedded, or etcd), load the catalog, serve the API
//! until SIGTERM or ctrl-c, then drain in-flight requests and exit.

use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use stitch_api::{AppState, router};
use stitch_engine::runtime::{Engine, EngineConfig};
use stitch_engine::status::StatusBoard;
use stitch_neutron::NeutronState;
use stitch_store::{Catalog, EtcdStore, RedbStore, Store};

use crate::config::{Config, StoreBackend};

pub const STORE_FILE: &str = "stitch.redb";

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let (store, place): (Arc<dyn Store>, String) = match &cfg.store {
        StoreBackend::Embedded(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
            let path = dir.join(STORE_FILE);
            let store = tokio::task::spawn_blocking({
                let path = path.clone();
                move || RedbStore::open_with_history(&path, 0)
            })
            .await?
            .with_context(|| format!("cannot open store {}", path.display()))?;
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

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().context("cannot install the metrics recorder")?;

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
