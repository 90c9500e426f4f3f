//! The Prometheus endpoint: `/metrics` on `server.metrics_bind`, a listener of its own, so the
//! public port never shows it. The figures themselves are named in `service::metrics`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::service::metrics as names;
use crate::service::App;

/// The process's one recorder, installed the first time it is asked for (the `metrics` facade
/// has one global recorder; every server of the process records into it).
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.to_string()), names::DURATION_BUCKETS)?
        .install_recorder()?;
    names::describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Count every request by its route's pattern (`/booking/{id}`, never the raw path, so the
/// number of series stays bounded), its method and status, and time it.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.run(req).await;
    names::request(
        method.as_str(),
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

#[derive(Clone)]
struct Exporter {
    app: App,
    handle: PrometheusHandle,
}

/// The metrics listener's router: `GET /metrics`, nothing else.
fn router(app: App, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Exporter { app, handle })
}

/// Read the database's gauges, then render everything. A database that does not answer
/// leaves the gauges as they were and says so in `borgertun_gauges_stale`; the counters are
/// served all the same.
async fn scrape(State(e): State<Exporter>) -> Response {
    let stale = match e.app.update_gauges().await {
        Ok(()) => 0.0,
        Err(err) => {
            tracing::warn!(error = %err, "metrics: the database's gauges could not be read");
            1.0
        }
    };
    metrics::gauge!("borgertun_gauges_stale").set(stale);
    e.handle.run_upkeep();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        e.handle.render(),
    )
        .into_response()
}

/// Serve `/metrics` on `listener` until `stop` turns true. Histograms are drained every few
/// seconds even when nobody scrapes, so their memory stays bounded.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    handle: PrometheusHandle,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let upkeep = {
        let handle = handle.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            while !*stop.borrow() {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
                    _ = stop.changed() => break,
                }
            }
        })
    };
    let served = axum::serve(listener, router(app, handle))
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "metrics listener failed");
    }
    let _ = upkeep.await;
}
