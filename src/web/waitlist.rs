//! The waitlist API (nested under `/api/v1`): join the waitlist for a busy time, see your
//! entries and your place in line, leave, and answer a hold (confirm or decline). The mail's
//! single-use links answer a hold without signing in (pages, `/venteliste/svar/{token}`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::{full_out, org_out, parse_id, BookingInput, FullBooking, OrganisationOut};
use super::auth::ApiUser;
use super::error::{ApiError, ErrorBody};
use super::json::{ApiJson, ApiPath};
use super::AppState;
use crate::domain::time::rfc3339;
use crate::domain::DomainError;
use crate::service::{HoldAction, HoldAnswer, WaitlistPlace};

pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(join_waitlist, my_waitlist))
        .routes(utoipa_axum::routes!(get_entry))
        .routes(utoipa_axum::routes!(leave_waitlist))
        .routes(utoipa_axum::routes!(confirm_hold))
        .routes(utoipa_axum::routes!(decline_hold))
}

/// A place on the waitlist.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WaitlistEntryOut {
    pub id: i64,
    pub room: String,
    /// RFC 3339, Europe/Oslo offset.
    pub start: String,
    pub end: String,
    pub title: String,
    pub attendees: i64,
    pub organisation: OrganisationOut,
    /// `waiting`, `held` (a hold waits for your answer), `booked`, `declined`, `lapsed` (the
    /// hold ran out), `left`, `expired` (the time started) or `withdrawn` (a higher tier took
    /// the slot).
    pub status: String,
    /// 1 = next in line; only while `waiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<usize>,
    /// The hold (while `held`) or the booking it became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<i64>,
    /// While `held`: the hold ends then unless confirmed, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_until: Option<String>,
    pub joined_at: String,
}

fn entry_out(state: &AppState, p: &WaitlistPlace) -> WaitlistEntryOut {
    let e = &p.entry;
    WaitlistEntryOut {
        id: e.id,
        room: e.room.clone(),
        start: rfc3339(e.start),
        end: rfc3339(e.end),
        title: e.title.clone(),
        attendees: e.attendees,
        organisation: org_out(state.app.rules(), &e.org),
        status: e.status.as_str().to_string(),
        place: p.place,
        booking_id: e.booking_id,
        held_until: p
            .booking
            .as_ref()
            .filter(|b| b.status == crate::domain::Status::Held)
            .and_then(|b| b.held_until)
            .map(rfc3339),
        joined_at: rfc3339(e.joined_at),
    }
}

/// Your entries.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WaitlistOut {
    pub entries: Vec<WaitlistEntryOut>,
}

/// Join the waitlist for exactly the time of a booking request that is refused as busy (held
/// by the same or a higher tier, or firm). When the time frees, the first in line (highest
/// tier, then earliest joined) gets a hold for `waitlist.hold_hours` (24), ending at the
/// latest `waitlist.hold_ends_before_start_hours` (2) before the start, and a mail with
/// «Bekreft» and «Avslå».
#[utoipa::path(
    post,
    path = "/waitlist",
    tag = "waitlist",
    request_body = BookingInput,
    responses(
        (status = 201, description = "On the waitlist; `place` is the place in line.", body = WaitlistEntryOut,
            headers(("location" = String, description = "The entry's address."))),
        (status = 403, description = "For another organisation without being coordinator (`forbidden`).", body = ErrorBody),
        (status = 409, description = "The time is free for you (`not_busy`: request it instead), your organisation holds it (`own_booking`), you already wait for it (`already_waiting`), or it starts too soon for a hold (`too_late`).", body = ErrorBody),
        (status = 422, description = "The request breaks a rule (the codes of the rules).", body = ErrorBody),
    )
)]
async fn join_waitlist(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<BookingInput>,
) -> Result<Response, ApiError> {
    let (new, force, _) = input.parse(&user, state.app.rules())?;
    if force {
        return Err(DomainError::new(
            "invalid_input",
            "Ventelisten kan ikke overstyre andre bookinger: en koordinator booker med override i stedet.",
        )
        .on("override")
        .into());
    }
    let p = state.app.join_waitlist(new).await?;
    let location = format!("/api/v1/waitlist/{}", p.entry.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(entry_out(&state, &p)),
    )
        .into_response())
}

/// Your entries (as contact): the open ones first, then the rest, latest time first.
#[utoipa::path(
    get,
    path = "/waitlist",
    tag = "waitlist",
    responses((status = 200, description = "Your entries.", body = WaitlistOut))
)]
async fn my_waitlist(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<WaitlistOut>, ApiError> {
    let entries = state.app.my_waitlist(&user).await?;
    Ok(Json(WaitlistOut {
        entries: entries.iter().map(|p| entry_out(&state, p)).collect(),
    }))
}

/// One entry (its contact, its organisation, coordinators).
#[utoipa::path(
    get,
    path = "/waitlist/{id}",
    tag = "waitlist",
    params(("id" = String, Path, description = "The entry's id.")),
    responses(
        (status = 200, description = "The entry.", body = WaitlistEntryOut),
        (status = 404, description = "No entry the caller may see (`not_found`).", body = ErrorBody),
    )
)]
async fn get_entry(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WaitlistEntryOut>, ApiError> {
    let p = state.app.waitlist_entry(&user, parse_id(&id)?).await?;
    Ok(Json(entry_out(&state, &p)))
}

/// Leave the waitlist. An entry holding a slot lets the hold go, as declining does.
#[utoipa::path(
    post,
    path = "/waitlist/{id}/leave",
    tag = "waitlist",
    params(("id" = String, Path, description = "The entry's id.")),
    responses(
        (status = 200, description = "Left (`left`, or `declined` for a hold).", body = WaitlistEntryOut),
        (status = 404, description = "No entry the caller may see (`not_found`).", body = ErrorBody),
        (status = 409, description = "The entry is no longer on the list (`invalid_state`).", body = ErrorBody),
    )
)]
async fn leave_waitlist(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WaitlistEntryOut>, ApiError> {
    let id = parse_id(&id)?;
    state.app.leave_waitlist(&user, id).await?;
    let p = state.app.waitlist_entry(&user, id).await?;
    Ok(Json(entry_out(&state, &p)))
}

/// Confirm a hold: the booking is made through the normal decision (confirmed, or pending
/// for the coordinator as the tier's requests are).
#[utoipa::path(
    post,
    path = "/waitlist/{id}/confirm",
    tag = "waitlist",
    params(("id" = String, Path, description = "The entry's id.")),
    responses(
        (status = 200, description = "Booked: the booking.", body = FullBooking),
        (status = 404, description = "No entry the caller may see (`not_found`).", body = ErrorBody),
        (status = 409, description = "No hold to answer (`invalid_state`), or it ran out (`hold_expired`).", body = ErrorBody),
        (status = 422, description = "The booking now breaks a rule (the codes of the rules).", body = ErrorBody),
    )
)]
async fn confirm_hold(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FullBooking>, ApiError> {
    match state
        .app
        .answer_hold(&user, parse_id(&id)?, HoldAction::Confirm)
        .await?
    {
        HoldAnswer::Booked(b) => Ok(Json(full_out(state.app.rules(), &b))),
        HoldAnswer::Declined(_) => Err(ApiError::not_found()),
    }
}

/// Decline a hold: the slot goes to the next in line, or is simply free.
#[utoipa::path(
    post,
    path = "/waitlist/{id}/decline",
    tag = "waitlist",
    params(("id" = String, Path, description = "The entry's id.")),
    responses(
        (status = 200, description = "Declined.", body = WaitlistEntryOut),
        (status = 404, description = "No entry the caller may see (`not_found`).", body = ErrorBody),
        (status = 409, description = "No hold to answer (`invalid_state`), or it ran out (`hold_expired`).", body = ErrorBody),
    )
)]
async fn decline_hold(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WaitlistEntryOut>, ApiError> {
    let id = parse_id(&id)?;
    state.app.answer_hold(&user, id, HoldAction::Decline).await?;
    let p = state.app.waitlist_entry(&user, id).await?;
    Ok(Json(entry_out(&state, &p)))
}
