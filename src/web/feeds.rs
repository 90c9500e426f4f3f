//! Calendar feeds («kalenderabonnement»): `/feeds/{token}.ics` for calendar clients, and the
//! API to create, list and revoke them. Tokens carry 256 random bits; only their hash is kept.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::ApiUser;
use super::error::ApiError;
use super::json::ApiJson;
use super::AppState;
use crate::domain::time::rfc3339;
use crate::domain::FeedKind;
pub use crate::service::feed_urls;
use crate::store::FeedToken;

pub fn router() -> Router<AppState> {
    Router::new().route("/feeds/{file}", get(feed))
}

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/feeds", get(list).post(create))
        .route("/feeds/{id}/revoke", post(revoke))
}

fn not_found() -> Response {
    // The same answer for unknown and revoked tokens: no hint which.
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Fant ikke kalenderen.\n",
    )
        .into_response()
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

async fn feed(State(state): State<AppState>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(token) = file.strip_suffix(".ics").filter(|t| !t.is_empty() && t.len() <= 200) else {
        return not_found();
    };
    let rendered = match state.app.feed_calendar(token).await {
        Ok(Some(rendered)) => rendered,
        Ok(None) => return not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let etag = rendered.etag.clone();
    let last_modified = http_date(rendered.last_modified);
    let not_modified = match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| rendered.last_modified.timestamp() <= since.timestamp()),
    };
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        rendered.body.clone().into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    response
}

fn feed_json(state: &AppState, f: &FeedToken) -> Value {
    json!({
        "id": f.id,
        "kind": f.kind.as_str(),
        "room": f.room,
        "organisation": f.org,
        "created_at": rfc3339(f.created_at),
        "revoked_at": f.revoked_at.map(rfc3339),
        "name": match f.kind {
            FeedKind::Room => state.app.config().rules.room(f.room.as_deref().unwrap_or_default()).map(|r| r.name.clone()).unwrap_or_default(),
            FeedKind::Organisation => state.app.config().rules.organisation(f.org.as_deref().unwrap_or_default()).map(|o| o.name.clone()).unwrap_or_default(),
            FeedKind::Personal => "Mine bookinger".to_string(),
        },
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateFeed {
    kind: String,
    #[serde(default)]
    room: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<CreateFeed>,
) -> Result<Response, ApiError> {
    let kind = FeedKind::parse(&input.kind)?;
    let (feed, token) = state.app.create_feed(&user, kind, input.room.as_deref()).await?;
    let (url, webcal) = feed_urls(state.app.public_url(), &token);
    let mut v = feed_json(&state, &feed);
    v["token"] = json!(token);
    v["url"] = json!(url);
    v["webcal_url"] = json!(webcal);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn list(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<Value>, ApiError> {
    let feeds = state.app.feeds_of(&user).await?;
    Ok(Json(
        json!({ "feeds": feeds.iter().map(|f| feed_json(&state, f)).collect::<Vec<_>>() }),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let owner = (!user.role.is_coordinator()).then_some(&user);
    if !state.app.revoke_feed(id, owner).await? {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({ "id": id, "revoked": true })))
}
