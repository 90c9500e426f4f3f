//! Calendar feeds («kalenderabonnement»): `/feeds/{token}.ics` for calendar clients, and the
//! API to create, list and revoke them. Tokens carry 256 random bits; only their hash is kept.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::{hash_token, ApiUser};
use super::error::ApiError;
use super::json::ApiJson;
use super::AppState;
use crate::calendar::{self, EventInput, FeedInfo, View};
use crate::domain::time::rfc3339;
use crate::domain::{Booking, FeedKind, Status, User};
use crate::store::{BookingQuery, FeedToken};

pub fn router() -> Router<AppState> {
    Router::new().route("/feeds/{file}", get(feed))
}

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/feeds", get(list).post(create))
        .route("/feeds/{id}/revoke", post(revoke))
}

/// ORGANIZER, UID domain and LOCATION for events of `room`.
pub fn calendar_context(state: &AppState, room: &str) -> calendar::Context {
    let mail = &state.config.mail;
    let location = state
        .config
        .rules
        .room(room)
        .map(|r| format!("{}, {}", r.name, r.address))
        .unwrap_or_else(|| room.to_string());
    calendar::Context {
        uid_domain: mail.uid_domain.clone(),
        organizer_email: mail.from.email.to_string(),
        organizer_name: mail.from.name.clone().unwrap_or_else(|| "Borgertun booking".into()),
        location,
    }
}

/// A rendered feed and when it last changed.
pub struct RenderedFeed {
    pub body: String,
    pub last_modified: DateTime<Utc>,
}

/// The feed's calendar as of `now`: the last `feeds.past_days` days to the end of the longest
/// booking horizon, without cancelled, displaced or rejected bookings.
pub async fn render(
    state: &AppState,
    feed: &FeedToken,
    user: &User,
    now: DateTime<Utc>,
) -> Result<RenderedFeed, ApiError> {
    let rules = &state.config.rules;
    let horizon = rules.tiers.iter().map(|t| t.horizon_days).max().unwrap_or(365);
    let mut q = BookingQuery {
        from: Some(now - Duration::days(state.config.feeds.past_days)),
        to: Some(now + Duration::days(horizon + 1)),
        ..Default::default()
    };
    let (name, view, statuses): (String, View, &[Status]) = match feed.kind {
        FeedKind::Room => {
            let room = feed.room.clone().unwrap_or_default();
            let name = rules
                .room(&room)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| room.clone());
            q.room = Some(room);
            (name, View::Public, &[Status::Confirmed])
        }
        FeedKind::Organisation => {
            let org = feed.org.clone().unwrap_or_default();
            let name = format!(
                "Borgertun – {}",
                rules.organisation(&org).map(|o| o.name.as_str()).unwrap_or(&org)
            );
            q.org = Some(org);
            (name, View::Full, &[Status::Confirmed, Status::Pending])
        }
        FeedKind::Personal => {
            q.contact_email = Some(user.email.clone());
            (
                format!("Borgertun – {}", user.name),
                View::Full,
                &[Status::Confirmed, Status::Pending],
            )
        }
    };
    // Every booking in the window counts for Last-Modified, also those a change took out.
    let all: Vec<Booking> = state.store.bookings(&q).await?;
    let last_modified = all
        .iter()
        .map(|b| b.updated_at)
        .chain([feed.created_at])
        .max()
        .unwrap_or(feed.created_at);
    let shown: Vec<&Booking> = all.iter().filter(|b| statuses.contains(&b.status)).collect();
    let urls: Vec<String> = shown.iter().map(|b| state.composer().booking_url(b.id)).collect();
    let org_names: Vec<&str> = shown
        .iter()
        .map(|b| rules.organisation(&b.org).map(|o| o.name.as_str()).unwrap_or(&b.org))
        .collect();
    let events: Vec<EventInput> = shown
        .iter()
        .zip(&urls)
        .zip(&org_names)
        .map(|((b, url), org)| EventInput {
            booking: b,
            org_name: org,
            view,
            note: None,
            url: (view == View::Full).then_some(url.as_str()),
        })
        .collect();
    let room = feed
        .room
        .clone()
        .or_else(|| rules.rooms.first().map(|r| r.key.clone()))
        .unwrap_or_default();
    let body = calendar::feed(
        &FeedInfo {
            name: &name,
            refresh_minutes: state.config.feeds.refresh_minutes,
        },
        &events,
        &calendar_context(state, &room),
    );
    Ok(RenderedFeed { body, last_modified })
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
    let found = match state.store.feed_by_token(&hash_token(token)).await {
        Ok(found) => found,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some((feed, user)) = found.filter(|(f, _)| f.revoked_at.is_none()) else {
        return not_found();
    };
    let rendered = match render(&state, &feed, &user, state.now()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(rendered.body.as_bytes()))[..32]);
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
        rendered.body.into_response()
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
            FeedKind::Room => state.config.rules.room(f.room.as_deref().unwrap_or_default()).map(|r| r.name.clone()).unwrap_or_default(),
            FeedKind::Organisation => state.config.rules.organisation(f.org.as_deref().unwrap_or_default()).map(|o| o.name.clone()).unwrap_or_default(),
            FeedKind::Personal => "Mine bookinger".to_string(),
        },
    })
}

/// The subscription URLs of a token: https and webcal.
pub fn feed_urls(public_url: &str, token: &str) -> (String, String) {
    let url = format!("{public_url}/feeds/{token}.ics");
    let webcal = format!(
        "webcal://{}",
        url.split_once("://").map(|(_, rest)| rest).unwrap_or(&url)
    );
    (url, webcal)
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
    let (feed, token) = crate::service::create_feed(
        state.store.as_ref(),
        &state.config.rules,
        &user,
        kind,
        input.room.as_deref(),
        state.now(),
    )
    .await?;
    let (url, webcal) = feed_urls(&state.public_url, &token);
    let mut v = feed_json(&state, &feed);
    v["token"] = json!(token);
    v["url"] = json!(url);
    v["webcal_url"] = json!(webcal);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn list(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<Value>, ApiError> {
    let feeds = state.store.feeds_of(user.id).await?;
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
    let owner = (!user.role.is_coordinator()).then_some(user.id);
    if !state.store.revoke_feed(id, owner, state.now()).await? {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({ "id": id, "revoked": true })))
}
