//! HTTP: the JSON API and the pages. `app(state)` builds the whole router.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::service::App;

pub mod api;
pub mod auth;
pub mod conditional;
pub mod edge;
pub mod error;
pub mod feeds;
mod json;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod routes;
pub mod series;
pub mod server;
pub mod tokens;
pub mod waitlist;

/// What every handler gets: the application (the service layer) and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub limits: Arc<limits::Limits>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            limits: Arc::new(limits::Limits::new(&app)),
            app,
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.now()
    }
}

/// The method and path of every route of [`app`] outside the API (whose routes its document,
/// [`api::spec`], lists): the pages, their assets and the calendar feeds.
pub fn page_routes() -> Vec<(axum::http::Method, &'static str)> {
    let mut list = pages::route_list();
    list.extend_from_slice(feeds::routes().list());
    list
}

pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.app.config().server.max_body_bytes;
    let routes = Router::new()
        .merge(api::router())
        .merge(feeds::routes().into_router())
        .merge(pages::router(state.clone()))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    // A panic anywhere below answers 500 (JSON under /api/, the error page elsewhere) and is
    // logged; the connection is never dropped.
    let routes = edge::catch_panics(routes)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::api_write_limit))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(pages::security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge::caching_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::client_address))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // Never a secret in the log: tokens in paths and queries are redacted.
                    tracing::info_span!("request", method = %req.method(), uri = %edge::redact(req.uri()), request_id = %id, client = tracing::field::Empty, user = tracing::field::Empty)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Micros)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    // Counted only when someone collects the figures (`server.metrics_bind`).
    let metered = if state.app.config().server.metrics_bind.is_some() {
        routes.layer(axum::middleware::from_fn(metrics::track))
    } else {
        routes
    };
    metered.with_state(state)
}
