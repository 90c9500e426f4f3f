//! The series API (nested under `/api/v1`): book a recurring series in one request, read it,
//! change this and the following occurrences (or all), cancel them. One occurrence alone is
//! changed or cancelled through `/bookings/{id}` like any booking.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::{org_out, parse_id, slot_out, BookingInput, Contact, OrganisationOut};
use super::auth::ApiUser;
use super::error::{ApiError, ErrorBody, ErrorCode, OccurrenceOut};
use super::json::{ApiJson, ApiPath};
use super::AppState;
use crate::calendar::series_uid;
use crate::domain::series::{OccurrenceOutcome, OutcomeStatus, SeriesDetail};
use crate::domain::time::rfc3339;
use crate::domain::{Activity, BookingTitle, DomainError, Rules};
use crate::service::{SeriesChange, SeriesOutcome};

pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_series))
        .routes(utoipa_axum::routes!(get_series, change_series))
        .routes(utoipa_axum::routes!(cancel_series))
        .routes(utoipa_axum::routes!(decide_series))
}

/// A series request: the booking fields of its first occurrence, and the pattern.
#[derive(Deserialize, ToSchema)]
struct SeriesInput {
    /// An RFC 5545 RRULE value: `FREQ=DAILY|WEEKLY|MONTHLY`, `INTERVAL`, `BYDAY` (with an
    /// ordinal for monthly, `2TU`, `-1TH`), `BYMONTHDAY`, and exactly one of `COUNT` or
    /// `UNTIL`; at most two years and 200 occurrences. E.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=10`.
    rrule: String,
    #[serde(flatten)]
    booking: BookingInput,
    /// What neither the pattern nor the booking fields name (refused: serde cannot deny
    /// unknown fields across `flatten`).
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A series and every occurrence's outcome.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SeriesOut {
    pub id: i64,
    /// The UID of the series' calendar event.
    pub uid: String,
    /// The normalised pattern.
    pub rrule: String,
    pub room: String,
    pub title: String,
    pub attendees: i64,
    pub organisation: OrganisationOut,
    pub contact: Contact,
    /// The first occurrence's time (the pattern's DTSTART), RFC 3339.
    pub start: String,
    pub end: String,
    pub cancelled: bool,
    pub sequence: i64,
    pub occurrences: Vec<OccurrenceOut>,
}

fn occurrence_out(o: &OccurrenceOutcome) -> OccurrenceOut {
    OccurrenceOut {
        start: rfc3339(o.slot.start),
        end: rfc3339(o.slot.end),
        recurrence_id: rfc3339(o.recurrence_id),
        status: o.status.as_str().to_string(),
        text: o.describe(),
        code: o
            .error
            .as_ref()
            .map(|e| ErrorCode::of(e.code).unwrap_or(ErrorCode::Declined)),
        message: o.error.as_ref().map(|e| e.message.clone()),
        booking_id: o.booking_id,
        alternatives: (!o.alternatives.is_empty()).then(|| o.alternatives.iter().map(slot_out).collect()),
    }
}

fn series_out(rules: &Rules, d: &SeriesDetail, uid_domain: &str) -> SeriesOut {
    let s = &d.series;
    SeriesOut {
        id: s.id,
        uid: series_uid(s.id, uid_domain),
        rrule: s.rrule.clone(),
        room: s.room.clone(),
        title: s.title.clone(),
        attendees: s.attendees,
        organisation: org_out(rules, &s.org),
        contact: Contact {
            name: s.contact_name.clone(),
            email: s.contact_email.clone(),
        },
        start: rfc3339(s.first.start),
        end: rfc3339(s.first.end),
        cancelled: s.cancelled,
        sequence: s.sequence,
        occurrences: d.occurrences.iter().map(occurrence_out).collect(),
    }
}

fn answer(state: &AppState, d: &SeriesDetail) -> SeriesOut {
    series_out(state.app.rules(), d, &state.app.config().mail.uid_domain)
}

/// Book a recurring series: every occurrence gets the single booking's decision. Stored when
/// at most `series.max_conflicts` (4) and at most `series.max_conflict_percent` (25 %) of the
/// occurrences are busy or refused by a rule; those are `declined`. Occurrences beyond the
/// requester's horizon are `planned` and booked on the day they come within it.
#[utoipa::path(
    post,
    path = "/series",
    tag = "series",
    request_body = SeriesInput,
    responses(
        (status = 201, description = "Stored; every occurrence's outcome.", body = SeriesOut,
            headers(("location" = String, description = "The series' address."))),
        (status = 403, description = "For another organisation without being coordinator (`forbidden`).", body = ErrorBody),
        (status = 409, description = "Too many occurrences are busy or refused (`series_refused`): nothing stored; `occurrences` lists every outcome.", body = ErrorBody),
        (status = 422, description = "The series as a whole breaks a rule, or the pattern is bad (`invalid_recurrence`, `unsupported_recurrence`, the codes of the rules).", body = ErrorBody),
    )
)]
async fn create_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<SeriesInput>,
) -> Result<Response, ApiError> {
    if let Some(field) = input.unknown.keys().next() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidJson,
            format!("Ugyldig JSON: ukjent felt «{field}»."),
        ));
    }
    let (new, force, _) = input.booking.parse(&user, state.app.rules())?;
    if force {
        return Err(DomainError::new(
            "invalid_input",
            "En serie kan ikke overstyre andre bookinger. Book de enkelte gangene med override.",
        )
        .on("override")
        .into());
    }
    match state.app.book_series(new, &input.rrule, &user.email, false).await? {
        SeriesOutcome::Stored(d) => {
            let location = format!("/api/v1/series/{}", d.series.id);
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(answer(&state, &d)),
            )
                .into_response())
        }
        SeriesOutcome::Refused(outcomes) | SeriesOutcome::Preview(outcomes) => {
            let limits = state.app.rules().series;
            let refused = outcomes.iter().filter(|o| o.status == OutcomeStatus::Declined).count();
            let mut err = ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::SeriesRefused,
                format!(
                    "Serien er ikke lagret: {refused} av gangene er opptatt eller ikke tillatt, og høyst {} (og høyst {} %) kan avslås. Velg en annen tid eller færre ganger.",
                    limits.max_conflicts, limits.max_conflict_percent
                ),
            );
            err.body.occurrences = Some(outcomes.iter().map(occurrence_out).collect());
            Err(err)
        }
    }
}

/// A series and its occurrences (its organisation, staff and coordinators).
#[utoipa::path(
    get,
    path = "/series/{id}",
    tag = "series",
    params(("id" = String, Path, description = "The series' id.")),
    responses(
        (status = 200, description = "The series.", body = SeriesOut),
        (status = 404, description = "No series the caller may see (`not_found`).", body = ErrorBody),
    )
)]
async fn get_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SeriesOut>, ApiError> {
    let d = state.app.series_detail(&user, parse_id(&id)?).await?;
    Ok(Json(answer(&state, &d)))
}

/// A change to this and the following occurrences of a series.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SeriesChangeInput {
    /// From this occurrence (its booking's id) on; absent: all. A change from a later
    /// occurrence splits the series: the earlier part ends before it, and the answer is the
    /// new series of the rest.
    #[serde(default)]
    from: Option<i64>,
    /// New start time of day, `HH:MM` (Europe/Oslo).
    #[serde(default)]
    start_time: Option<String>,
    /// New length in minutes.
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    attendees: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    activity: Option<Activity>,
}

/// Change this and the following occurrences (or all): time of day, length, title,
/// attendees, activity. Each changed occurrence is decided anew; one whose new time is not
/// free keeps its old time (said in the message sent).
#[utoipa::path(
    patch,
    path = "/series/{id}",
    tag = "series",
    params(("id" = String, Path, description = "The series' id.")),
    request_body = SeriesChangeInput,
    responses(
        (status = 200, description = "The changed series (the new one, when split).", body = SeriesOut),
        (status = 404, description = "No series of the caller's organisation (`not_found`).", body = ErrorBody),
        (status = 409, description = "The series is cancelled (`invalid_state`).", body = ErrorBody),
        (status = 422, description = "A bad change (`invalid_time`, `nothing_to_change`, `invalid_state` for a `from` outside the series, the codes of the rules).", body = ErrorBody),
    )
)]
async fn change_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SeriesChangeInput>,
) -> Result<Json<SeriesOut>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = Vec::new();
    let start_time = input.start_time.as_deref().and_then(|t| {
        NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map_err(|_| {
                errors.push(
                    DomainError::new("invalid_time", format!("«{t}» er ikke et klokkeslett (TT:MM).")).on("start_time"),
                )
            })
            .ok()
    });
    let title = input
        .title
        .as_deref()
        .and_then(|t| BookingTitle::parse(t).map_err(|e| errors.push(e)).ok());
    if let Some(m) = input.minutes {
        if m < 1 {
            errors.push(DomainError::new("too_short", "Varigheten må være minst ett minutt.").on("minutes"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::rules(errors));
    }
    let change = SeriesChange {
        from: input.from,
        start_time,
        minutes: input.minutes,
        title,
        attendees: input.attendees,
        activity: input.activity,
    };
    let d = state.app.change_series(id, &user, change).await?;
    Ok(Json(answer(&state, &d)))
}

/// Which occurrences to cancel.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct SeriesCancelInput {
    /// From this occurrence (its booking's id) on; absent: all.
    #[serde(default)]
    from: Option<i64>,
    /// At most 1000 characters.
    #[serde(default)]
    reason: Option<String>,
}

/// Cancel all occurrences still to come, or this one and the following. Planned ones are
/// dropped; the calendar gets a CANCEL of the series, or the series ending before `from`.
#[utoipa::path(
    post,
    path = "/series/{id}/cancel",
    tag = "series",
    params(("id" = String, Path, description = "The series' id.")),
    request_body = SeriesCancelInput,
    responses(
        (status = 200, description = "The series after the cancellation.", body = SeriesOut),
        (status = 404, description = "No series of the caller's organisation (`not_found`).", body = ErrorBody),
        (status = 409, description = "Already cancelled, or nothing left to cancel (`invalid_state`).", body = ErrorBody),
        (status = 422, description = "A bad reason (`invalid_reason`) or `from` (`invalid_state`).", body = ErrorBody),
    )
)]
async fn cancel_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SeriesCancelInput>,
) -> Result<Json<SeriesOut>, ApiError> {
    let d = state
        .app
        .cancel_series(parse_id(&id)?, &user, input.from, input.reason.as_deref())
        .await?;
    Ok(Json(answer(&state, &d)))
}

/// The coordinator's decision on every pending occurrence of a series.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SeriesDecisionInput {
    /// Approve (true) or reject (false) them all.
    approve: bool,
    /// Required to reject; at most 1000 characters.
    #[serde(default)]
    reason: Option<String>,
}

/// What became of one pending occurrence.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DecidedOut {
    pub booking_id: i64,
    /// Its status now (`confirmed`, `rejected`), or absent with `error` when it could not be
    /// decided so (e.g. `protected`: decide it alone, with override).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<super::error::ErrorItem>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SeriesDecided {
    pub decided: Vec<DecidedOut>,
    pub series: SeriesOut,
}

/// Approve or reject every pending occurrence of a series at once (coordinator): the series'
/// conflicts are one case. Each is decided as a single request would be.
#[utoipa::path(
    post,
    path = "/series/{id}/decide",
    tag = "coordinator",
    params(("id" = String, Path, description = "The series' id.")),
    request_body = SeriesDecisionInput,
    responses(
        (status = 200, description = "What became of each pending occurrence, and the series.", body = SeriesDecided),
        (status = 403, description = "Not a coordinator (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No such series (`not_found`).", body = ErrorBody),
        (status = 409, description = "No pending occurrences (`invalid_state`).", body = ErrorBody),
        (status = 422, description = "A missing or bad reason (`reason_required`, `invalid_reason`).", body = ErrorBody),
    )
)]
async fn decide_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SeriesDecisionInput>,
) -> Result<Json<SeriesDecided>, ApiError> {
    let id = parse_id(&id)?;
    let results = state
        .app
        .decide_series(id, &user, input.approve, input.reason.as_deref())
        .await?;
    let decided = results
        .into_iter()
        .map(|(booking_id, r)| match r {
            Ok(status) => DecidedOut {
                booking_id,
                status: Some(status.as_str().to_string()),
                error: None,
            },
            Err(e) => DecidedOut {
                booking_id,
                status: None,
                error: ApiError::from(e).body.errors.into_iter().next(),
            },
        })
        .collect();
    let d = state.app.series_detail(&user, id).await?;
    Ok(Json(SeriesDecided {
        decided,
        series: answer(&state, &d),
    }))
}
