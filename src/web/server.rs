//! The one startup path: open the database, build the application, start its background
//! workers, bind the address and serve. `borgertun serve` and the tests both start here.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::AppState;
use crate::clock::Clock;
use crate::config::Config;
use crate::service::{App, Workers};

/// A started service: bound, its workers running, ready to serve.
pub struct Server {
    app: App,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    workers: Workers,
    /// `server.metrics_bind`'s listener and the recorder, when metrics are on.
    metrics: Option<(tokio::net::TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
}

/// Open the database (and migrate it), start the workers and bind `server.bind` (port 0 picks
/// a free port; `server.public_url` defaults to the bound address then).
pub async fn start(mut cfg: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind(&cfg.server.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.server.bind))?;
    let addr = listener.local_addr()?;
    let metrics = match &cfg.server.metrics_bind {
        Some(bind) => {
            let handle = super::metrics::recorder().context("cannot start the metrics recorder")?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind} (server.metrics_bind)"))?;
            Some((listener, handle))
        }
        None => None,
    };
    if cfg.server.public_url.is_none() {
        cfg.server.bind = addr.to_string();
    }
    let app = App::open(cfg, clock).await?;
    let workers = app.start_workers()?;
    Ok(Server {
        app,
        listener,
        addr,
        workers,
        metrics,
    })
}

impl Server {
    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served, when `server.metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serve until Ctrl-C or SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `shutdown` completes. Then no new connection is taken, the requests in
    /// flight are finished (for up to `server.shutdown_grace_seconds`), and the workers finish
    /// what they are doing (for up to as long again).
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.addr, database = self.app.backend(), "borgertun listening");
        let grace = Duration::from_secs(self.app.config().server.shutdown_grace_seconds);
        let router = super::app(AppState::new(self.app.clone())).into_make_service_with_connect_info::<SocketAddr>();
        let (stopping, mut stopped) = tokio::sync::watch::channel(false);
        // The metrics listener stops taking scrapes when the shutdown begins.
        let metrics = self.metrics.map(|(listener, handle)| {
            tracing::info!(addr = ?listener.local_addr().ok(), "metrics at /metrics");
            tokio::spawn(super::metrics::serve(
                listener,
                self.app.clone(),
                handle,
                stopped.clone(),
            ))
        });
        let serve = axum::serve(self.listener, router).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping.send(true);
        });
        let result = tokio::select! {
            r = serve.into_future() => r,
            _ = async {
                let _ = stopped.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(seconds = grace.as_secs(), "requests still running after the grace period are cut off");
                Ok(())
            }
        };
        self.workers.shutdown(grace).await;
        if let Some(metrics) = metrics {
            let _ = tokio::time::timeout(grace, metrics).await;
        }
        tracing::info!("stopped");
        result
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} },
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; stopping on Ctrl-C only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
