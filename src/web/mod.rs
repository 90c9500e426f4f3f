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
pub mod error;
pub mod feeds;
mod json;
pub mod pages;
pub mod server;
pub mod tokens;

/// What every handler gets: the application (the service layer) and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub limits: Arc<pages::Limits>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            app,
            limits: Arc::default(),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.now()
    }
}

pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.app.config().server.max_body_bytes;
    Router::new()
        .merge(api::router())
        .merge(feeds::router())
        .merge(pages::router(state.clone()))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(pages::security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id, user = tracing::field::Empty)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Micros)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
