//! Calendar feeds («kalenderabonnement»): `/feeds/{token}.ics` for calendar clients, and the
//! API to create, list and revoke them. Tokens carry 256 random bits; only their hash is kept.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::auth::ApiUser;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::json::{ApiJson, ApiPath};
use super::AppState;
use crate::calendar::{self, EventInput, FeedInfo, View};
use crate::domain::time::{local, rfc3339, start_of_day};
use crate::domain::{Booking, FeedKind, Status, User};
use crate::store::{BookingQuery, FeedToken};
use crate::token::hash_token;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route("/feeds/{file}", get(feed))
}

/// The feeds API (nested under `/api/v1`), with its documentation.
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, create))
        .routes(utoipa_axum::routes!(revoke))
}

/// ORGANIZER, UID domain and LOCATION for events of `room`.
pub fn calendar_context(state: &AppState, room: &str) -> calendar::Context {
    let mail = &state.app.config().mail;
    let location = state
        .app
        .config()
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

/// A rendered feed, its ETag and when it last changed.
pub struct RenderedFeed {
    pub body: String,
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

/// What a feed selects, and how it shows it.
struct Selection {
    query: BookingQuery,
    name: String,
    view: View,
    statuses: &'static [Status],
}

/// The last `feeds.past_days` days to the end of the longest booking horizon, in whole days
/// (so the window, and the calendar, stay the same all day).
fn selection(state: &AppState, feed: &FeedToken, user: &User, now: DateTime<Utc>) -> Selection {
    let rules = &state.app.config().rules;
    let horizon = rules.tiers.iter().map(|t| t.horizon_days).max().unwrap_or(365);
    let today = local(now).date_naive();
    let mut query = BookingQuery {
        from: Some(start_of_day(today - Duration::days(state.app.config().feeds.past_days))),
        to: Some(start_of_day(today + Duration::days(horizon + 1))),
        ..Default::default()
    };
    const CONFIRMED: &[Status] = &[Status::Confirmed];
    const ACTIVE: &[Status] = &[Status::Confirmed, Status::Pending];
    let (name, view, statuses) = match feed.kind {
        FeedKind::Room => {
            let room = feed.room.clone().unwrap_or_default();
            let name = rules
                .room(&room)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| room.clone());
            query.room = Some(room);
            (name, View::Public, CONFIRMED)
        }
        FeedKind::Organisation => {
            let org = feed.org.clone().unwrap_or_default();
            let name = format!(
                "Borgertun – {}",
                rules.organisation(&org).map(|o| o.name.as_str()).unwrap_or(&org)
            );
            query.org = Some(org);
            (name, View::Full, ACTIVE)
        }
        FeedKind::Personal => {
            query.contact_email = Some(user.email.clone());
            (format!("Borgertun – {}", user.name), View::Full, ACTIVE)
        }
    };
    Selection {
        query,
        name,
        view,
        statuses,
    }
}

/// Render the feed from the database, as of `now`, without cancelled, displaced or rejected
/// bookings.
pub async fn render(
    state: &AppState,
    feed: &FeedToken,
    user: &User,
    now: DateTime<Utc>,
) -> Result<RenderedFeed, ApiError> {
    let Selection {
        query,
        name,
        view,
        statuses,
    } = selection(state, feed, user, now);
    // Every booking in the window counts for Last-Modified, also those a change took out.
    let all: Vec<Booking> = state.app.store().bookings(&query).await?;
    let last_modified = all
        .iter()
        .map(|b| b.updated_at)
        .chain([feed.created_at])
        .max()
        .unwrap_or(feed.created_at);
    let shown: Vec<Booking> = all.into_iter().filter(|b| statuses.contains(&b.status)).collect();
    let room = feed
        .room
        .clone()
        .or_else(|| state.app.config().rules.rooms.first().map(|r| r.key.clone()))
        .unwrap_or_default();
    let ctx = calendar_context(state, &room);
    let (config, public_url, cache) = (
        state.app.config().clone(),
        Arc::<str>::from(state.app.public_url()),
        state.feed_cache.clone(),
    );
    // Rendering is CPU work: off the async workers. Events already rendered for an unchanged
    // booking come from the cache; the rest are rendered on every core.
    let body = tokio::task::spawn_blocking(move || {
        let key = |b: &Booking| EventKey {
            id: b.id,
            sequence: b.sequence,
            updated: b.updated_at.timestamp_micros(),
            full: view == View::Full,
        };
        let mut texts: Vec<Option<Arc<str>>> = {
            let events = cache.events.lock().expect("feed cache");
            shown.iter().map(|b| events.get(&key(b)).cloned()).collect()
        };
        let missing: Vec<&Booking> = shown
            .iter()
            .zip(&texts)
            .filter(|(_, t)| t.is_none())
            .map(|(b, _)| b)
            .collect();
        let composer = crate::mail::Composer {
            rules: &config.rules,
            mail: &config.mail,
            public_url: &public_url,
        };
        let urls: Vec<String> = missing.iter().map(|b| composer.booking_url(b.id)).collect();
        let inputs: Vec<EventInput> = missing
            .iter()
            .zip(&urls)
            .map(|(b, url)| EventInput {
                booking: b,
                org_name: config
                    .rules
                    .organisation(&b.org)
                    .map(|o| o.name.as_str())
                    .unwrap_or(&b.org),
                view,
                note: None,
                url: (view == View::Full).then_some(url.as_str()),
            })
            .collect();
        let rendered = calendar::feed_events(&inputs, &ctx);
        {
            let mut events = cache.events.lock().expect("feed cache");
            if events.len() + rendered.len() > MAX_CACHED_EVENTS {
                events.clear();
            }
            let mut fresh = missing.iter().zip(rendered);
            for t in texts.iter_mut().filter(|t| t.is_none()) {
                let (b, text) = fresh.next().expect("one rendering per missing event");
                let text: Arc<str> = text.into();
                events.insert(key(b), text.clone());
                *t = Some(text);
            }
        }
        let mut body = calendar::feed_header(&FeedInfo {
            name: &name,
            refresh_minutes: config.feeds.refresh_minutes,
        });
        body.reserve(texts.iter().map(|t| t.as_ref().map_or(0, |t| t.len())).sum::<usize>() + calendar::FEED_END.len());
        for t in texts.into_iter().flatten() {
            body.push_str(&t);
        }
        body.push_str(calendar::FEED_END);
        body
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "feed rendering failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "Noe gikk galt hos oss.",
        )
    })?;
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(body.as_bytes()))[..32]);
    Ok(RenderedFeed {
        body,
        etag,
        last_modified,
    })
}

/// Rendered feeds by feed id, with the fingerprint of what they were rendered from; and
/// rendered events by booking version, shared by all feeds. Both are bounded and simply
/// emptied when full.
#[derive(Default)]
pub struct FeedCache {
    feeds: std::sync::Mutex<std::collections::HashMap<i64, (String, Arc<RenderedFeed>)>>,
    events: std::sync::Mutex<std::collections::HashMap<EventKey, Arc<str>>>,
}

impl FeedCache {
    /// Forget everything (for benchmarks of the cold path).
    pub fn clear(&self) {
        self.feeds.lock().expect("feed cache").clear();
        self.events.lock().expect("feed cache").clear();
    }
}

/// A booking's version, as an event text depends on it. Names and addresses come from the
/// configuration, which is fixed for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct EventKey {
    id: i64,
    sequence: i64,
    updated: i64,
    full: bool,
}

const MAX_CACHED_EVENTS: usize = 100_000;

/// Feeds are polled far more often than they change: a cheap aggregate over the window
/// (count, latest change, sequences) tells whether the last rendering still holds.
async fn current(
    state: &AppState,
    feed: &FeedToken,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Arc<RenderedFeed>, ApiError> {
    let sel = selection(state, feed, user, now);
    let fingerprint = format!(
        "{}|{:?}|{:?}|{}",
        state.app.store().bookings_fingerprint(&sel.query).await?,
        sel.query.from,
        sel.query.to,
        sel.name
    );
    let cache = &state.feed_cache.feeds;
    if let Some((f, rendered)) = cache.lock().expect("feed cache").get(&feed.id) {
        if *f == fingerprint {
            return Ok(rendered.clone());
        }
    }
    let rendered = Arc::new(render(state, feed, user, now).await?);
    let mut cache = cache.lock().expect("feed cache");
    if cache.len() >= 1000 {
        cache.clear();
    }
    cache.insert(feed.id, (fingerprint, rendered.clone()));
    Ok(rendered)
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
    let found = match state.app.store().feed_by_token(&hash_token(token)).await {
        Ok(found) => found,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some((feed, user)) = found.filter(|(f, _)| f.revoked_at.is_none()) else {
        return not_found();
    };
    let rendered = match current(&state, &feed, &user, state.now()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
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

/// A calendar feed subscription.
#[derive(serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedOut {
    pub id: i64,
    pub kind: FeedKindOut,
    pub room: Option<String>,
    pub organisation: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// What the feed shows, in Norwegian.
    pub name: String,
}

/// What a feed shows: a room's confirmed bookings, the organisation's, or the caller's own.
#[derive(serde::Serialize, Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum FeedKindOut {
    Room,
    Organisation,
    Personal,
}

/// A new feed with its secret address (shown once).
#[derive(serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedCreated {
    #[serde(flatten)]
    pub feed: FeedOut,
    pub token: String,
    pub url: String,
    pub webcal_url: String,
}

#[derive(serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feeds {
    pub feeds: Vec<FeedOut>,
}

#[derive(serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedRevoked {
    pub id: i64,
    pub revoked: bool,
}

fn feed_out(state: &AppState, f: &FeedToken) -> FeedOut {
    let rules = state.app.rules();
    FeedOut {
        id: f.id,
        kind: match f.kind {
            FeedKind::Room => FeedKindOut::Room,
            FeedKind::Organisation => FeedKindOut::Organisation,
            FeedKind::Personal => FeedKindOut::Personal,
        },
        room: f.room.clone(),
        organisation: f.org.clone(),
        created_at: rfc3339(f.created_at),
        revoked_at: f.revoked_at.map(rfc3339),
        name: match f.kind {
            FeedKind::Room => rules
                .room(f.room.as_deref().unwrap_or_default())
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            FeedKind::Organisation => rules.org_name(f.org.as_deref().unwrap_or_default()).to_string(),
            FeedKind::Personal => "Mine bookinger".to_string(),
        },
    }
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

/// A new feed: `room` (with `room`), `organisation` or `personal`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateFeed {
    /// `room`, `organisation` or `personal`.
    kind: String,
    /// The room's key, for a room feed.
    #[serde(default)]
    room: Option<String>,
}

/// Subscribe: a new secret calendar address.
#[utoipa::path(
    post,
    path = "/feeds",
    tag = "feeds",
    request_body = CreateFeed,
    responses(
        (status = 201, description = "The new feed with its secret address.", body = FeedCreated),
        (status = 400, description = "The body is not JSON (`invalid_json`, `invalid_body`).", body = ErrorBody),
        (status = 413, description = "The body is too large (`payload_too_large`).", body = ErrorBody),
        (status = 415, description = "The body is not sent as JSON (`unsupported_media_type`).", body = ErrorBody),
        (status = 422, description = "Unknown kind or room (`invalid_feed_kind`, `unknown_room`) or a bad body (`invalid_json`).", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<CreateFeed>,
) -> Result<Response, ApiError> {
    let kind = FeedKind::parse(&input.kind)?;
    let (feed, token) = state.app.create_feed(&user, kind, input.room.as_deref()).await?;
    let (url, webcal) = feed_urls(state.app.public_url(), &token);
    let out = FeedCreated {
        feed: feed_out(&state, &feed),
        token,
        url,
        webcal_url: webcal,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The caller's feeds, revoked ones too.
#[utoipa::path(get, path = "/feeds", tag = "feeds", responses((status = 200, description = "The caller's feeds.", body = Feeds)))]
async fn list(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<Feeds>, ApiError> {
    let feeds = state.app.feeds_of(&user).await?;
    Ok(Json(Feeds {
        feeds: feeds.iter().map(|f| feed_out(&state, f)).collect(),
    }))
}

/// Revoke a feed: its address stops working (a coordinator may revoke anyone's).
#[utoipa::path(
    post,
    path = "/feeds/{id}/revoke",
    tag = "feeds",
    params(("id" = String, Path, description = "The feed's id.")),
    responses(
        (status = 200, description = "Revoked.", body = FeedRevoked),
        (status = 404, description = "No such feed of the caller's, or already revoked (`not_found`).", body = ErrorBody),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FeedRevoked>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let owner = (!user.role.is_coordinator()).then_some(&user);
    if !state.app.revoke_feed(id, owner).await? {
        return Err(ApiError::not_found());
    }
    Ok(Json(FeedRevoked { id, revoked: true }))
}
