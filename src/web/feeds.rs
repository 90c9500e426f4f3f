//! Calendar feeds («kalenderabonnement»): `/feeds/{token}.ics` for calendar clients, and the
//! API to create, list and revoke them. Tokens carry 256 random bits; only their hash is kept.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::auth::ApiUser;
use super::error::{ApiError, ErrorBody};
use super::json::{ApiJson, ApiPath};
use super::AppState;
use crate::domain::time::rfc3339;
use crate::domain::FeedKind;
pub use crate::service::feed_urls;
use crate::service::FeedToken;

pub fn routes() -> super::routes::Routes {
    super::routes::Routes::new().get("/feeds/{file}", feed)
}

/// The feeds API (nested under `/api/v1`), with its documentation.
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, create))
        .routes(utoipa_axum::routes!(revoke))
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
    let not_modified = super::conditional::not_modified(&headers, &etag, Some(rendered.last_modified));
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
            FeedKind::Room => rules.room_name(f.room.as_deref().unwrap_or_default()).to_string(),
            FeedKind::Organisation => rules.org_name(f.org.as_deref().unwrap_or_default()).to_string(),
            FeedKind::Personal => "Mine bookinger".to_string(),
        },
    }
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
