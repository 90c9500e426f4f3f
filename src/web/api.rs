//! The JSON API under `/api/v1`. Handlers parse into domain types, call one `App` method and
//! render; the rules live in `domain` and `service`, the SQL in `store`. The OpenAPI document
//! (`/api/v1/openapi.json`) is generated from these handlers and types.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::ApiUser;
use super::error::{ApiError, ErrorBody, ErrorCode, SlotOut};
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::domain::policy::Slot;
use crate::domain::time::{format_range, local, rfc3339, start_of_day};
use crate::domain::{Activity, Attendance, AuditEntry, Booking, BookingTitle, DomainError, NewBooking, Rules, Status};
use crate::domain::{User, View};
use crate::service::{BookOutcome, MoveOutcome, SeenBooking};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Borgertun booking API",
        description = "Booking of Borgertun, Bergen kommune's meeting room in the Alrek health cluster \
                       building. Every error answers `{ \"errors\": [ { \"code\", \"message\", \"field\"? } ] }`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody, ErrorCode))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (`borgertun token …`)."))
                    .build(),
            ),
        );
    }
}

/// The API's routes with their documentation: `/healthz` and everything under `/api/v1`.
pub fn openapi_router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(openapi))
        .routes(routes!(rooms))
        .routes(routes!(organisations))
        .routes(routes!(availability))
        .routes(routes!(list_bookings, create_booking))
        .routes(routes!(get_booking, move_booking))
        .routes(routes!(cancel_booking))
        .routes(routes!(check_in_booking))
        .routes(routes!(approve_booking))
        .routes(routes!(reject_booking))
        .routes(routes!(conflicts))
        .routes(routes!(report_summary))
        .merge(super::series::api_router())
        .merge(super::waitlist::api_router())
        .merge(super::feeds::api_router())
        .merge(super::tokens::api_router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .nest("/api/v1", v1)
}

/// The API's router (its document is [`spec`]).
pub fn router() -> axum::Router<AppState> {
    openapi_router().split_for_parts().0
}

/// The OpenAPI document of [`router`], built once.
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut doc = openapi_router().split_for_parts().1;
        add_common_responses(&mut doc);
        doc
    })
}

/// What every operation may answer besides its own: 401 (unless it is public), 503 when the
/// database is unavailable, 400 for a path or query string that does not parse, and, where it
/// takes a body, 400, 413 and 415 for a body that is not JSON, too large or not sent as JSON;
/// booking writes also 429 (the per-token limit, `web::limits`).
fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
    let error = |text: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(text)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (axum::http::Method::GET, &mut item.get),
            (axum::http::Method::POST, &mut item.post),
            (axum::http::Method::PATCH, &mut item.patch),
            (axum::http::Method::PUT, &mut item.put),
            (axum::http::Method::DELETE, &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let public = op.security.as_ref().is_some_and(|s| {
                serde_json::to_value(s).is_ok_and(|v| {
                    v.as_array()
                        .is_some_and(|a| a.iter().all(|x| x == &serde_json::json!({})))
                })
            });
            let responses = &mut op.responses.responses;
            if !public {
                responses
                    .entry("401".into())
                    .or_insert_with(|| error("Missing or invalid token (`unauthorized`)."));
            }
            responses
                .entry("503".into())
                .or_insert_with(|| error("The database cannot be reached just now (`unavailable`, with `Retry-After`), or failed (`internal_error`)."));
            if super::limits::is_api_booking_write(&method, path) {
                responses.entry("429".into()).or_insert_with(|| {
                    let mut r = error("Too many booking writes with this token in a short time (`rate_limited`).");
                    if let RefOr::T(r) = &mut r {
                        r.headers.insert(
                            "Retry-After".into(),
                            utoipa::openapi::header::HeaderBuilder::new()
                                .schema(
                                    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer),
                                )
                                .description(Some("Seconds to wait before the next booking write."))
                                .build(),
                        );
                    }
                    r
                });
            }
            let takes_body = op.request_body.is_some();
            if takes_body {
                responses.entry("400".into()).or_insert_with(|| {
                    error("The body is not JSON, or the path does not parse (`invalid_json`, `invalid_body`, `invalid_path`).")
                });
                responses
                    .entry("413".into())
                    .or_insert_with(|| error("The body is too large (`payload_too_large`)."));
                responses
                    .entry("415".into())
                    .or_insert_with(|| error("The body is not sent as JSON (`unsupported_media_type`)."));
            }
            if path.contains('{') || op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                responses.entry("400".into()).or_insert_with(|| {
                    error("The path or query string does not parse (`invalid_path`, `invalid_query`).")
                });
            }
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "Denne metoden støttes ikke her.",
    )
}

// ---------- the API's types ----------

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    pub status: String,
    /// `sqlite` or `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct OrganisationOut {
    pub key: String,
    pub name: String,
    pub tier: Option<String>,
    pub tier_name: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TierOut {
    pub key: String,
    pub rank: i64,
    pub name: String,
    pub horizon_days: i64,
    pub auto_confirm: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Organisations {
    pub organisations: Vec<OrganisationOut>,
    pub tiers: Vec<TierOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RoomOut {
    pub key: String,
    pub name: String,
    pub address: String,
    pub capacity: i64,
    pub buffer_minutes: i64,
    pub slot_minutes: i64,
    /// Opening hours by weekday (`monday` … `sunday`) as `HH:MM-HH:MM`; closed days are absent.
    pub opening_hours: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Rooms {
    pub rooms: Vec<RoomOut>,
}

/// A booking's status.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Pending,
    Confirmed,
    Rejected,
    Cancelled,
    Displaced,
    /// A freed slot kept for the first on the waitlist until `held_until`.
    Held,
    /// A hold that was declined, ran out, or was withdrawn.
    Lapsed,
    /// Released because nobody checked in.
    NoShow,
}

impl From<Status> for BookingStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Pending => BookingStatus::Pending,
            Status::Confirmed => BookingStatus::Confirmed,
            Status::Rejected => BookingStatus::Rejected,
            Status::Cancelled => BookingStatus::Cancelled,
            Status::Displaced => BookingStatus::Displaced,
            Status::Held => BookingStatus::Held,
            Status::Lapsed => BookingStatus::Lapsed,
            Status::NoShow => BookingStatus::NoShow,
        }
    }
}

/// What anyone may see of a booking: times, organisation and public title («Opptatt» for a
/// private one), no contact data.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicBooking {
    pub id: i64,
    pub room: String,
    pub start: String,
    pub end: String,
    /// The end plus the room's rigging and cleaning time.
    pub blocked_until: String,
    pub title: String,
    pub organisation: OrganisationOut,
    pub status: BookingStatus,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub email: String,
}

/// A booking in full, for its organisation and coordinators.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FullBooking {
    pub id: i64,
    pub room: String,
    pub start: String,
    pub end: String,
    pub blocked_until: String,
    pub title: String,
    pub description: Option<String>,
    pub public: bool,
    pub attendees: i64,
    pub organisation: OrganisationOut,
    pub contact: Contact,
    pub status: BookingStatus,
    /// The status in Norwegian.
    pub status_text: String,
    pub status_reason: Option<String>,
    pub sequence: i64,
    pub created_at: String,
    pub updated_at: String,
    /// What the booking is used for (keys of config/plan.toml).
    #[schema(value_type = Option<Object>)]
    pub activity: Option<Activity>,
    /// Attendance as registered after the event.
    #[schema(value_type = Option<Object>)]
    pub attendance: Option<Attendance>,
    /// The series this booking is an occurrence of (`/api/v1/series/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<i64>,
    /// The occurrence's start by the series' pattern (its RECURRENCE-ID), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_id: Option<String>,
    /// When the booking was checked in (tiers with check-in), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub at: String,
    pub actor: String,
    pub from: Option<BookingStatus>,
    pub to: BookingStatus,
    pub reason: Option<String>,
}

/// A booking in full with its history.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BookingWithHistory {
    #[serde(flatten)]
    pub booking: FullBooking,
    pub history: Vec<HistoryEntry>,
}

/// A booking as its reader may see it: in full, or as the availability shows it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // built once per answer, to be serialised
pub enum ListedBooking {
    Full(FullBooking),
    Public(PublicBooking),
}

/// One booking as its reader may see it: in full with its history, or as the availability
/// shows it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // built once per answer, to be serialised
pub enum BookingOut {
    Full(BookingWithHistory),
    Public(PublicBooking),
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BookingList {
    pub bookings: Vec<ListedBooking>,
}

/// A confirmed booking as the availability shows it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BusyOut {
    pub start: String,
    pub end: String,
    pub blocked_until: String,
    pub title: String,
    pub organisation: OrganisationOut,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub room: String,
    pub from: String,
    pub to: String,
    pub busy: Vec<BusyOut>,
}

/// A booking taken away by an approval or override, with alternatives for its owner.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Displaced {
    pub booking: FullBooking,
    pub alternatives: Vec<SlotOut>,
}

/// A stored booking: confirmed, or pending with the bookings it competes with.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BookingCreated {
    #[serde(flatten)]
    pub booking: FullBooking,
    /// The bookings a pending request competes with that the caller may see (another
    /// organisation's pending request is not named).
    pub conflicts: Vec<i64>,
    pub displaced: Vec<Displaced>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Approved {
    pub booking: FullBooking,
    pub displaced: Vec<Displaced>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Rejected {
    pub booking: FullBooking,
    pub alternatives: Vec<SlotOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConflictingBooking {
    #[serde(flatten)]
    pub booking: FullBooking,
    /// Confirmed and inside the protection window.
    pub protected: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Suggestion {
    Approve,
    Decide,
    Reject,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConflictOut {
    pub request: FullBooking,
    pub conflicts_with: Vec<ConflictingBooking>,
    pub approvable: bool,
    /// Approve the higher tier; within a tier the organisation with more displaced hours in
    /// the last 12 months, then the earlier request.
    pub suggestion: Suggestion,
    /// The fairness ledger of each organisation in the case that has lost the room in the last
    /// 12 months (the request's organisation first); organisations without losses are left out.
    pub fairness: Vec<FairnessOut>,
}

/// An organisation's displacements and refusals in conflicts (by a higher tier), in the last
/// 12 months or in a report's period.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FairnessOut {
    pub organisation: OrganisationOut,
    pub displaced: i64,
    pub displaced_hours: f64,
    pub refused: i64,
    pub refused_hours: f64,
    /// For the coordinator: «UiB er flyttet 3 ganger, 7 timer, siste 12 måneder».
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Conflicts {
    pub conflicts: Vec<ConflictOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct FiguresOut {
    pub events: i64,
    pub hours: f64,
    /// Expected participants per group.
    pub expected: BTreeMap<String, i64>,
    /// Actual participants per group.
    pub actual: BTreeMap<String, i64>,
    pub with_attendance: i64,
    pub three_or_more_groups: i64,
    pub three_or_more_groups_share: f64,
    pub utilisation: f64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReportRow {
    pub key: String,
    pub name: String,
    pub figures: FiguresOut,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UnmetOut {
    pub rejected: i64,
    pub displaced: i64,
    pub hours: f64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UnmetRowOut {
    pub key: String,
    pub name: String,
    pub unmet: UnmetOut,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UnmetSummary {
    pub total: UnmetOut,
    pub by_tier: Vec<UnmetRowOut>,
    pub by_organisation: Vec<UnmetRowOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReportSummary {
    pub from: String,
    pub to: String,
    pub total: FiguresOut,
    pub open_hours: f64,
    pub utilisation: f64,
    pub unmet: UnmetSummary,
    /// Rows by grouping key (`measure`, `focus_area`, `goal_area`, `organisation`, `tier`,
    /// `kind`).
    pub groupings: BTreeMap<String, Vec<ReportRow>>,
    /// Displaced and refused-in-conflict bookings per organisation (with its tier), by the
    /// time of the change within the period.
    pub fairness: Vec<FairnessRowOut>,
    /// Bookings released as no-shows (nobody checked in) that started in the period, per
    /// organisation (with its tier); hours are the bookings' length.
    pub no_shows: Vec<NoShowRowOut>,
    /// The waitlist for times in the period.
    pub waitlist: ReportWaitlistOut,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NoShowRowOut {
    pub organisation: OrganisationOut,
    /// The tier's key.
    pub tier: String,
    pub count: i64,
    pub hours: f64,
}

/// Waitlist entries whose time starts in the period: how many joined, got a hold, confirmed
/// it, and holds that ended without a booking while nothing else took their slot.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReportWaitlistOut {
    pub entries: i64,
    pub holds_offered: i64,
    pub holds_confirmed: i64,
    pub unused: i64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct FairnessRowOut {
    /// The tier's key.
    pub tier: String,
    #[serde(flatten)]
    pub figures: FairnessOut,
}

fn fairness_out(rules: &Rules, org: &str, t: &crate::domain::fairness::Tally, text: Option<String>) -> FairnessOut {
    FairnessOut {
        organisation: org_out(rules, org),
        displaced: t.displaced,
        displaced_hours: t.displaced_minutes as f64 / 60.0,
        refused: t.refused,
        refused_hours: t.refused_minutes as f64 / 60.0,
        text,
    }
}

// ---------- rendering ----------

pub(super) fn org_out(rules: &Rules, key: &str) -> OrganisationOut {
    match rules.organisation(key) {
        Some(o) => OrganisationOut {
            key: o.key.clone(),
            name: o.name.clone(),
            tier: Some(o.tier.clone()),
            tier_name: rules.tier(&o.tier).map(|t| t.name.clone()),
        },
        None => OrganisationOut {
            key: key.to_string(),
            name: key.to_string(),
            tier: None,
            tier_name: None,
        },
    }
}

pub(crate) fn slot_out(s: &Slot) -> SlotOut {
    SlotOut {
        start: rfc3339(s.start),
        end: rfc3339(s.end),
        text: format_range(s.start, s.end),
    }
}

fn public_out(rules: &Rules, b: &Booking) -> PublicBooking {
    PublicBooking {
        id: b.id,
        room: b.room.clone(),
        start: rfc3339(b.start),
        end: rfc3339(b.end),
        blocked_until: rfc3339(b.blocked_until),
        title: View::Public.title(b).to_string(),
        organisation: org_out(rules, &b.org),
        status: b.status.into(),
    }
}

pub(super) fn full_out(rules: &Rules, b: &Booking) -> FullBooking {
    FullBooking {
        id: b.id,
        room: b.room.clone(),
        start: rfc3339(b.start),
        end: rfc3339(b.end),
        blocked_until: rfc3339(b.blocked_until),
        title: View::Full.title(b).to_string(),
        description: b.description.clone(),
        public: b.public,
        attendees: b.attendees,
        organisation: org_out(rules, &b.org),
        contact: Contact {
            name: b.contact_name.clone(),
            email: b.contact_email.clone(),
        },
        status: b.status.into(),
        status_text: b.status.norwegian().to_string(),
        status_reason: b.status_reason.clone(),
        sequence: b.sequence,
        created_at: rfc3339(b.created_at),
        updated_at: rfc3339(b.updated_at),
        activity: b.activity.clone(),
        attendance: b.attendance.clone(),
        series_id: b.series.map(|l| l.series_id),
        recurrence_id: b.series.map(|l| rfc3339(l.recurrence_id)),
        checked_in_at: b.checked_in_at.map(rfc3339),
    }
}

fn listed_out(rules: &Rules, b: &Booking, view: View) -> ListedBooking {
    match view {
        View::Full => ListedBooking::Full(full_out(rules, b)),
        View::Public => ListedBooking::Public(public_out(rules, b)),
    }
}

fn displaced_out(rules: &Rules, displaced: &[(Booking, Vec<Slot>)]) -> Vec<Displaced> {
    displaced
        .iter()
        .map(|(b, alts)| Displaced {
            booking: full_out(rules, b),
            alternatives: alts.iter().map(slot_out).collect(),
        })
        .collect()
}

fn history_out(h: &[AuditEntry]) -> Vec<HistoryEntry> {
    h.iter()
        .map(|e| HistoryEntry {
            at: rfc3339(e.at),
            actor: e.actor.clone(),
            from: e.from_status.map(Into::into),
            to: e.to_status.into(),
            reason: e.reason.clone(),
        })
        .collect()
}

fn busy_error(rules: &Rules, held_by: Vec<i64>, protected: bool, alternatives: &[Slot]) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::Busy,
        busy_message(alternatives, protected, rules.protection_window_days),
    );
    err.body.alternatives = Some(alternatives.iter().map(slot_out).collect());
    err.body.held_by = Some(held_by);
    err.body.protected = Some(protected);
    err
}

fn busy_message(alternatives: &[Slot], protected: bool, window: i64) -> String {
    let head = if protected {
        format!("Rommet er opptatt av en booking som starter innen beskyttelsesperioden på {window} dager.")
    } else {
        "Rommet er opptatt.".to_string()
    };
    if alternatives.is_empty() {
        format!("{head} Vi fant ingen ledige alternativer innenfor bookingvinduet.")
    } else {
        let list: Vec<String> = alternatives.iter().map(|a| format_range(a.start, a.end)).collect();
        format!("{head} Disse tidene er ledige: {}.", list.join("; "))
    }
}

// ---------- parsing ----------

/// A time sent to the API: RFC 3339 with an offset, in [`crate::domain::time::YEARS`].
pub fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, DomainError> {
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            use chrono::Datelike;
            if !crate::domain::time::year_in_range(t.year()) {
                return Err(DomainError::new("invalid_time", format!("«{s}» er utenfor gyldige datoer.")).on(field));
            }
            Ok(t)
        }
        Err(_)
            if chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S").is_ok()
                || chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").is_ok() =>
        {
            Err(DomainError::new(
                "missing_offset",
                format!("«{s}» mangler tidssone. Skriv for eksempel 2026-03-02T09:00:00+01:00."),
            )
            .on(field))
        }
        Err(_) => Err(DomainError::new(
            "invalid_time",
            format!("«{s}» er ikke et gyldig tidspunkt (RFC 3339, for eksempel 2026-03-02T09:00:00+01:00)."),
        )
        .on(field)),
    }
}

/// A day sent to the API (`YYYY-MM-DD`, [`crate::domain::time::parse_day`]).
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, DomainError> {
    crate::domain::time::parse_day(s).ok_or_else(|| {
        DomainError::new(
            "invalid_date",
            format!("«{s}» er ikke en gyldig dato. {}", crate::domain::time::day_hint()),
        )
        .on(field)
    })
}

/// A day range `[from, to]` from query strings, with a default span and a maximum.
fn day_range(
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
    max_days: i64,
    today: NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>, NaiveDate, NaiveDate), ApiError> {
    let mut errors = Vec::new();
    let from = from.map(|s| parse_date("from", s)).transpose().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let to = to.map(|s| parse_date("to", s)).transpose().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::rules(errors));
    }
    let from = from.unwrap_or(today);
    let to = to.unwrap_or(from + Duration::days(default_days - 1));
    if to < from {
        return Err(
            DomainError::new("end_before_start", "«to» må være samme dag som eller etter «from».")
                .on("to")
                .into(),
        );
    }
    if (to - from).num_days() >= max_days {
        return Err(
            DomainError::new("range_too_large", format!("Velg høyst {max_days} dager om gangen."))
                .on("to")
                .into(),
        );
    }
    Ok((start_of_day(from), start_of_day(to + Duration::days(1)), from, to))
}

/// A booking id in a path; anything else is a booking that does not exist.
pub(crate) fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(ApiError::not_found)
}

/// A time from optional `start` and `end`: both or neither.
fn parse_slot(start: Option<&str>, end: Option<&str>, errors: &mut Vec<DomainError>) -> Option<Slot> {
    if start.is_none() && end.is_none() {
        return None;
    }
    let start = parse_time("start", start.unwrap_or_default())
        .map_err(|e| errors.push(e))
        .ok();
    let end = parse_time("end", end.unwrap_or_default())
        .map_err(|e| errors.push(e))
        .ok();
    match (start, end) {
        (Some(start), Some(end)) if end <= start => {
            errors.push(
                DomainError::new("end_before_start", "Sluttidspunktet må være etter starttidspunktet.").on("end"),
            );
            None
        }
        (Some(start), Some(end)) => Some(Slot { start, end }),
        _ => None,
    }
}

// ---------- handlers ----------

/// Whether the service is ready to take requests: the database answers and its schema is the
/// one this build migrates to. For a load balancer's readiness check (`/healthz` is whether
/// the process lives).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    security(()),
    responses(
        (status = 200, description = "Ready: `status` is `ready`, with the database.", body = Health),
        (status = 503, description = "Not ready (`not_ready`): the database does not answer, or its schema is behind (or ahead of) this build; the message says which.", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.app.readiness().await {
        Ok(backend) => Ok(Json(Health {
            status: "ready".into(),
            database: Some(backend.into()),
        })),
        Err(reason) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NotReady,
            reason,
        )),
    }
}

/// Whether the process lives (a liveness check: it touches no database; `/readyz` does).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The process answers: `status` is `ok`, with the database it is configured for.", body = Health))
)]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        database: Some(state.app.backend().into()),
    })
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document of this API.", body = Object))
)]
async fn openapi() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(spec())
}

/// The rooms with their opening hours.
#[utoipa::path(get, path = "/rooms", tag = "reference", responses((status = 200, description = "The rooms.", body = Rooms)))]
async fn rooms(State(state): State<AppState>, _user: ApiUser) -> Json<Rooms> {
    const DAYS: [&str; 7] = crate::domain::rules::WEEKDAY_KEYS;
    let rooms = state
        .app
        .rules()
        .rooms
        .iter()
        .map(|r| RoomOut {
            key: r.key.clone(),
            name: r.name.clone(),
            address: r.address.clone(),
            capacity: r.capacity,
            buffer_minutes: r.buffer_minutes,
            slot_minutes: r.slot_minutes,
            opening_hours: DAYS
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    r.opening_hours.0[i]
                        .map(|(o, c)| (d.to_string(), format!("{}-{}", o.format("%H:%M"), c.format("%H:%M"))))
                })
                .collect(),
        })
        .collect();
    Json(Rooms { rooms })
}

/// The organisations and priority tiers.
#[utoipa::path(
    get,
    path = "/organisations",
    tag = "reference",
    responses((status = 200, description = "The organisations and tiers.", body = Organisations))
)]
async fn organisations(State(state): State<AppState>, _user: ApiUser) -> Json<Organisations> {
    let rules = state.app.rules();
    Json(Organisations {
        organisations: rules.organisations.iter().map(|o| org_out(rules, &o.key)).collect(),
        tiers: rules
            .tiers
            .iter()
            .map(|t| TierOut {
                key: t.key.clone(),
                rank: t.rank as i64,
                name: t.name.clone(),
                horizon_days: t.horizon_days,
                auto_confirm: t.auto_confirm,
            })
            .collect(),
    })
}

/// A day range.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DaysQuery {
    /// First day (`YYYY-MM-DD`, Europe/Oslo); today by default.
    from: Option<String>,
    /// Last day, included; a week (availability) or 90 days (bookings) after `from` by default.
    to: Option<String>,
}

/// A day range and statuses.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BookingsQuery {
    /// First day (`YYYY-MM-DD`, Europe/Oslo); today by default.
    from: Option<String>,
    /// Last day, included; 90 days after `from` by default; at most 366 days.
    to: Option<String>,
    /// Comma-separated statuses (`pending,confirmed,…`); all by default.
    status: Option<String>,
}

/// When a room is taken: its confirmed bookings, as anyone may see them.
#[utoipa::path(
    get,
    path = "/rooms/{room}/availability",
    tag = "bookings",
    params(("room" = String, Path, description = "The room's key."), DaysQuery),
    responses(
        (status = 200, description = "The confirmed bookings of the room in the range.", body = Availability),
        (status = 404, description = "Unknown room (`unknown_room`).", body = ErrorBody),
        (status = 422, description = "Bad dates (`invalid_date`, `end_before_start`, `range_too_large`).", body = ErrorBody),
    )
)]
async fn availability(
    State(state): State<AppState>,
    _user: ApiUser,
    ApiPath(room): ApiPath<String>,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> Result<Json<Availability>, ApiError> {
    let rules = state.app.rules();
    let room = rules.room(&room).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownRoom,
            format!("Ukjent rom «{room}»."),
        )
    })?;
    let today = local(state.now()).date_naive();
    let (from, to, from_day, to_day) = day_range(q.from.as_deref(), q.to.as_deref(), 7, 92, today)?;
    let busy = state.app.availability(room, from, to).await?;
    Ok(Json(Availability {
        room: room.key.clone(),
        from: from_day.to_string(),
        to: to_day.to_string(),
        busy: busy
            .iter()
            .map(|b| BusyOut {
                start: rfc3339(b.start),
                end: rfc3339(b.end),
                blocked_until: rfc3339(b.blocked_until),
                title: View::Public.title(b).to_string(),
                organisation: org_out(rules, &b.org),
            })
            .collect(),
    }))
}

/// The bookings the caller may see: their organisation's in full (every one, for a
/// coordinator), others' confirmed ones as the availability shows them.
#[utoipa::path(
    get,
    path = "/bookings",
    tag = "bookings",
    params(BookingsQuery),
    responses(
        (status = 200, description = "The bookings in the range.", body = BookingList),
        (status = 422, description = "Bad dates or statuses (`invalid_date`, `end_before_start`, `range_too_large`, `invalid_status`).", body = ErrorBody),
    )
)]
async fn list_bookings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<BookingsQuery>,
) -> Result<Json<BookingList>, ApiError> {
    let today = local(state.now()).date_naive();
    let (from, to, _, _) = day_range(q.from.as_deref(), q.to.as_deref(), 90, 366, today)?;
    let statuses = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s
            .split(',')
            .map(|s| Status::parse(s.trim()))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    let seen = state.app.visible_bookings(&user, from, to, &statuses).await?;
    let rules = state.app.rules();
    Ok(Json(BookingList {
        bookings: seen.iter().map(|(b, view)| listed_out(rules, b, *view)).collect(),
    }))
}

/// A booking as the caller may see it: in full with its history, or as the availability shows
/// it. With `.ics` after the id (`/bookings/12.ics`), the booking as a calendar file.
#[utoipa::path(
    get,
    path = "/bookings/{id}",
    tag = "bookings",
    params(("id" = String, Path, description = "The booking's id, optionally followed by `.ics`.")),
    responses(
        (status = 200, description = "The booking (JSON), or with `.ics` its calendar file.",
            content(
                (BookingOut = "application/json"),
                (String = "text/calendar"),
            )
        ),
        (status = 404, description = "No booking the caller may see (`not_found`).", body = ErrorBody),
    )
)]
async fn get_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    if let Some(id) = id.strip_suffix(".ics") {
        return booking_ics(&state, &user, parse_id(id)?).await;
    }
    let SeenBooking { booking, view, history } = state.app.visible_booking(&user, parse_id(&id)?).await?;
    let rules = state.app.rules();
    let out = match view {
        View::Full => BookingOut::Full(BookingWithHistory {
            booking: full_out(rules, &booking),
            history: history_out(&history),
        }),
        View::Public => BookingOut::Public(public_out(rules, &booking)),
    };
    Ok(Json(out).into_response())
}

/// Booking `id` as a calendar file for `user`, in the view they have of it (also the pages'
/// «legg i kalenderen»).
pub(crate) async fn booking_ics(state: &AppState, user: &User, id: i64) -> Result<Response, ApiError> {
    let (filename, body) = state.app.booking_ics(user, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A new time (`start` and `end` together), a new activity, or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveInput {
    /// RFC 3339 with offset, e.g. `2026-03-02T09:00:00+01:00`.
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    /// A new activity, replacing the old.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    activity: Option<Activity>,
}

/// Move a booking, change its activity, or both — in one step: refused, nothing changes.
#[utoipa::path(
    patch,
    path = "/bookings/{id}",
    tag = "bookings",
    params(("id" = String, Path, description = "The booking's id.")),
    request_body = MoveInput,
    responses(
        (status = 200, description = "The booking as changed.", body = FullBooking),
        (status = 403, description = "Another organisation's booking (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No booking the caller may see (`not_found`).", body = ErrorBody),
        (status = 409, description = "The new time is taken (`busy`, with alternatives), or the booking can no longer move (`invalid_state`).", body = ErrorBody),
        (status = 422, description = "The change breaks a rule (the codes of the rules).", body = ErrorBody),
    )
)]
async fn move_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<MoveInput>,
) -> Result<Json<FullBooking>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = Vec::new();
    let slot = parse_slot(input.start.as_deref(), input.end.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::rules(errors));
    }
    let rules = state.app.rules();
    match state.app.change_booking(id, &user, slot, input.activity).await? {
        MoveOutcome::Moved(b) => Ok(Json(full_out(rules, &b))),
        MoveOutcome::Busy {
            held_by,
            protected,
            alternatives,
        } => Err(busy_error(rules, held_by, protected, &alternatives)),
    }
}

/// A booking request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BookingInput {
    /// The room's key.
    room: String,
    /// RFC 3339 with offset, e.g. `2026-03-02T09:00:00+01:00`.
    start: String,
    end: String,
    title: String,
    attendees: i64,
    /// Coordinator only: book for another organisation (the caller's own by default).
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Whether others see the title (true by default).
    #[serde(default)]
    public: Option<bool>,
    /// Coordinator only: book even where the slot is held, displacing what is there.
    #[serde(default, rename = "override")]
    force: bool,
    /// Required with `override`; at most 1000 characters.
    #[serde(default)]
    reason: Option<String>,
    /// What the booking is used for (kinds, themes, goal areas, measures and groups by their
    /// keys in config/plan.toml).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    activity: Option<Activity>,
}

impl BookingInput {
    /// Parse every field, reporting all problems at once.
    pub(super) fn parse(self, user: &User, rules: &Rules) -> Result<(NewBooking, bool, Option<String>), ApiError> {
        let mut errors = Vec::new();
        let start = parse_time("start", &self.start).map_err(|e| errors.push(e)).ok();
        let end = parse_time("end", &self.end).map_err(|e| errors.push(e)).ok();
        let title = BookingTitle::parse(&self.title).map_err(|e| errors.push(e)).ok();
        let description = crate::domain::booking::parse_description(self.description.as_deref())
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        if rules.room(&self.room).is_none() {
            errors.push(DomainError::new("unknown_room", format!("Ukjent rom «{}».", self.room)).on("room"));
        }
        let org = self.organisation.unwrap_or_else(|| user.org.clone());
        if rules.organisation(&org).is_none() {
            errors.push(
                DomainError::new("unknown_organisation", format!("Ukjent virksomhet «{org}».")).on("organisation"),
            );
        }
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                errors.push(
                    DomainError::new("end_before_start", "Sluttidspunktet må være etter starttidspunktet.").on("end"),
                );
            }
        }
        // A field that did not parse has put its error in `errors`.
        let (Some(start), Some(end), Some(title)) = (start, end, title) else {
            return Err(ApiError::rules(errors));
        };
        if !errors.is_empty() {
            return Err(ApiError::rules(errors));
        }
        let new = NewBooking {
            room: self.room,
            start,
            end,
            title,
            description,
            public: self.public.unwrap_or(true),
            attendees: self.attendees,
            org,
            contact: user.clone(),
            activity: self.activity,
        };
        Ok((new, self.force, self.reason))
    }
}

/// Request a booking: confirmed at once where the slot is free and the tier may, pending for
/// the coordinator otherwise; a coordinator's `override` takes the slot.
#[utoipa::path(
    post,
    path = "/bookings",
    tag = "bookings",
    request_body = BookingInput,
    responses(
        (status = 201, description = "Stored (confirmed, or pending for the coordinator).", body = BookingCreated,
            headers(("location" = String, description = "The booking's address."))),
        (status = 202, description = "Stored as a pending request that competes with other bookings; `conflicts` names those the caller may see.", body = BookingCreated,
            headers(("location" = String, description = "The booking's address."))),
        (status = 403, description = "For another organisation, or an override, without being coordinator (`forbidden`).", body = ErrorBody),
        (status = 409, description = "The slot is taken (`busy`, with alternatives).", body = ErrorBody),
        (status = 422, description = "The request breaks a rule (the codes of the rules).", body = ErrorBody),
    )
)]
async fn create_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<BookingInput>,
) -> Result<Response, ApiError> {
    let rules = state.app.rules();
    let (new, force, reason) = input.parse(&user, rules)?;
    let outcome = if force {
        state
            .app
            .book_override(new, &user, reason.as_deref().unwrap_or_default())
            .await?
    } else {
        state.app.book(new, &user.email).await?
    };
    match outcome {
        BookOutcome::Stored {
            booking,
            competes,
            conflicts,
            displaced,
        } => {
            let code = if booking.status == Status::Pending && competes {
                StatusCode::ACCEPTED
            } else {
                StatusCode::CREATED
            };
            let location = format!("/api/v1/bookings/{}", booking.id);
            let out = BookingCreated {
                booking: full_out(rules, &booking),
                conflicts,
                displaced: displaced_out(rules, &displaced),
            };
            Ok((code, [(header::LOCATION, location)], Json(out)).into_response())
        }
        BookOutcome::Busy {
            held_by,
            protected,
            alternatives,
        } => Err(busy_error(rules, held_by, protected, &alternatives)),
    }
}

/// A reason, and for an approval whether it is an override.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    /// At most 1000 characters; required to reject, and to approve with `override`.
    #[serde(default)]
    reason: Option<String>,
    /// Approve only: approve even where a firm or equal-or-higher-tier booking holds the slot.
    #[serde(default, rename = "override")]
    force: bool,
}

/// Cancel a pending or confirmed booking (its organisation, or a coordinator), before it ends.
#[utoipa::path(
    post,
    path = "/bookings/{id}/cancel",
    tag = "bookings",
    params(("id" = String, Path, description = "The booking's id.")),
    request_body = ReasonInput,
    responses(
        (status = 200, description = "The cancelled booking.", body = FullBooking),
        (status = 403, description = "Another organisation's booking (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No booking the caller may see (`not_found`).", body = ErrorBody),
        (status = 409, description = "Already cancelled, refused or ended (`invalid_state`, `already_ended`).", body = ErrorBody),
        (status = 422, description = "A bad reason (`invalid_reason`) or body (`invalid_json`).", body = ErrorBody),
    )
)]
async fn cancel_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<Json<FullBooking>, ApiError> {
    let b = state.app.cancel(parse_id(&id)?, &user, input.reason.as_deref()).await?;
    Ok(Json(full_out(state.app.rules(), &b)))
}

/// Check in a confirmed booking of a tier with check-in (its contact, a user of its
/// organisation, or a coordinator), from `check_in.opens_minutes_before` its start until
/// `check_in.release_minutes` after it. Checking in again changes nothing.
#[utoipa::path(
    post,
    path = "/bookings/{id}/check-in",
    tag = "bookings",
    params(("id" = String, Path, description = "The booking's id.")),
    responses(
        (status = 200, description = "The checked-in booking (`checked_in_at` set).", body = FullBooking),
        (status = 403, description = "Another organisation's booking (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No booking the caller may see (`not_found`).", body = ErrorBody),
        (status = 409, description = "Outside the check-in window (`check_in_closed`), a tier without check-in (`check_in_not_required`), or not confirmed (`invalid_state`).", body = ErrorBody),
    )
)]
async fn check_in_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FullBooking>, ApiError> {
    let b = state.app.check_in(parse_id(&id)?, &user).await?;
    Ok(Json(full_out(state.app.rules(), &b)))
}

/// Approve a pending request (coordinator), displacing the lower-tier bookings it overlaps.
#[utoipa::path(
    post,
    path = "/bookings/{id}/approve",
    tag = "coordinator",
    params(("id" = String, Path, description = "The booking's id.")),
    request_body = ReasonInput,
    responses(
        (status = 200, description = "The approved booking and what it displaced.", body = Approved),
        (status = 403, description = "Not a coordinator (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No such booking (`not_found`).", body = ErrorBody),
        (status = 409, description = "Not pending, or held by a firm or equal-or-higher booking without override (`invalid_state`, `protected`, `busy`).", body = ErrorBody),
        (status = 422, description = "A missing or bad reason (`reason_required`, `invalid_reason`), a past request (`in_past`), or a bad body (`invalid_json`).", body = ErrorBody),
    )
)]
async fn approve_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<Json<Approved>, ApiError> {
    let a = state
        .app
        .approve(parse_id(&id)?, &user, input.reason.as_deref(), input.force)
        .await?;
    let rules = state.app.rules();
    Ok(Json(Approved {
        booking: full_out(rules, &a.booking),
        displaced: displaced_out(rules, &a.displaced),
    }))
}

/// Reject a pending request with a reason (coordinator); the answer carries alternatives.
#[utoipa::path(
    post,
    path = "/bookings/{id}/reject",
    tag = "coordinator",
    params(("id" = String, Path, description = "The booking's id.")),
    request_body = ReasonInput,
    responses(
        (status = 200, description = "The rejected booking and free alternatives.", body = Rejected),
        (status = 403, description = "Not a coordinator (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No such booking (`not_found`).", body = ErrorBody),
        (status = 409, description = "Not pending (`invalid_state`).", body = ErrorBody),
        (status = 422, description = "A missing or bad reason (`reason_required`, `invalid_reason`) or body (`invalid_json`).", body = ErrorBody),
    )
)]
async fn reject_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<Json<Rejected>, ApiError> {
    let (b, alts) = state
        .app
        .reject(parse_id(&id)?, &user, input.reason.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(Rejected {
        booking: full_out(state.app.rules(), &b),
        alternatives: alts.iter().map(slot_out).collect(),
    }))
}

/// The pending requests with what each competes with (coordinator).
#[utoipa::path(
    get,
    path = "/conflicts",
    tag = "coordinator",
    responses(
        (status = 200, description = "The pending requests and their conflicts.", body = Conflicts),
        (status = 403, description = "Not a coordinator (`forbidden`).", body = ErrorBody),
    )
)]
async fn conflicts(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<Conflicts>, ApiError> {
    if !user.role.is_coordinator() {
        return Err(ApiError::forbidden());
    }
    let cases = state.app.conflicts().await?;
    let rules = state.app.rules();
    let conflicts = cases
        .iter()
        .map(|c| ConflictOut {
            request: full_out(rules, &c.request),
            conflicts_with: c
                .others
                .iter()
                .map(|o| ConflictingBooking {
                    booking: full_out(rules, o),
                    protected: c.protected.contains(&o.id),
                })
                .collect(),
            approvable: c.approvable,
            suggestion: if c.suggest_approve {
                Suggestion::Approve
            } else if c.approvable {
                Suggestion::Decide
            } else {
                Suggestion::Reject
            },
            fairness: c
                .fairness
                .iter()
                .map(|f| fairness_out(rules, &f.org, &f.tally, Some(f.text.clone())))
                .collect(),
        })
        .collect();
    Ok(Json(Conflicts { conflicts }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// First day (`YYYY-MM-DD`).
    #[serde(default)]
    from: Option<String>,
    /// Last day, included.
    #[serde(default)]
    to: Option<String>,
    /// Comma-separated groupings (`measure`, `focus_area`, `goal_area`, `organisation`, `tier`,
    /// `kind`); all by default.
    #[serde(default)]
    group_by: Option<String>,
}

fn figures_out(r: &crate::domain::report::Report, f: &crate::domain::report::Figures) -> FiguresOut {
    FiguresOut {
        events: f.events,
        hours: f.hours(),
        expected: f.expected.clone(),
        actual: f.actual.clone(),
        with_attendance: f.with_attendance,
        three_or_more_groups: f.three_groups,
        three_or_more_groups_share: f.three_group_share(),
        utilisation: r.share_of_open(f),
    }
}

fn unmet_out(u: &crate::domain::report::Unmet) -> UnmetOut {
    UnmetOut {
        rejected: u.rejected,
        displaced: u.displaced,
        hours: u.minutes as f64 / 60.0,
    }
}

fn unmet_rows(rows: &[crate::domain::report::UnmetRow]) -> Vec<UnmetRowOut> {
    rows.iter()
        .map(|r| UnmetRowOut {
            key: r.key.clone(),
            name: r.name.clone(),
            unmet: unmet_out(&r.unmet),
        })
        .collect()
}

/// The report's figures (staff and coordinators). Without `group_by`, every grouping.
#[utoipa::path(
    get,
    path = "/reports/summary",
    tag = "report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report.", body = ReportSummary),
        (status = 403, description = "Neither staff nor coordinator (`forbidden`).", body = ErrorBody),
        (status = 422, description = "Bad dates or groupings (`invalid_date`, `end_before_start`, `period_too_long`, `unknown_group_by`).", body = ErrorBody),
    )
)]
async fn report_summary(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<ReportSummary>, ApiError> {
    use crate::domain::report::GroupBy;
    if !crate::web::pages::may_see_reports(&user) {
        return Err(ApiError::forbidden());
    }
    let groupings: Vec<GroupBy> = match q.group_by.as_deref() {
        None | Some("") => GroupBy::ALL.to_vec(),
        Some(s) => s
            .split(',')
            .map(|k| {
                GroupBy::parse(k.trim()).ok_or_else(|| {
                    let known = GroupBy::ALL.iter().map(|g| g.key()).collect::<Vec<_>>().join(", ");
                    ApiError::rules(vec![DomainError::new(
                        "unknown_group_by",
                        format!("Ukjent gruppering «{k}». Gyldige: {known}."),
                    )
                    .on("group_by")])
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let (from, to) = state
        .app
        .report_period(q.from.as_deref(), q.to.as_deref())
        .map_err(ApiError::rules)?;
    let r = state.app.report(from, to).await?;
    let groupings = groupings
        .into_iter()
        .map(|by| {
            let rows = r
                .rows(by)
                .iter()
                .map(|row| ReportRow {
                    key: row.key.clone(),
                    name: row.name.clone(),
                    figures: figures_out(&r, &row.figures),
                })
                .collect();
            (by.key().to_string(), rows)
        })
        .collect();
    Ok(Json(ReportSummary {
        from: r.from.to_string(),
        to: r.to.to_string(),
        total: figures_out(&r, &r.total),
        open_hours: r.open_minutes as f64 / 60.0,
        utilisation: r.utilisation(),
        unmet: UnmetSummary {
            total: unmet_out(&r.unmet_total),
            by_tier: unmet_rows(&r.unmet_by_tier),
            by_organisation: unmet_rows(&r.unmet_by_organisation),
        },
        groupings,
        fairness: r
            .fairness
            .iter()
            .map(|f| FairnessRowOut {
                tier: f.tier.clone(),
                figures: fairness_out(state.app.rules(), &f.org, &f.tally, None),
            })
            .collect(),
        no_shows: r
            .no_shows
            .iter()
            .map(|n| NoShowRowOut {
                organisation: org_out(state.app.rules(), &n.org),
                tier: n.tier.clone(),
                count: n.count,
                hours: n.minutes as f64 / 60.0,
            })
            .collect(),
        waitlist: ReportWaitlistOut {
            entries: r.waitlist.entries,
            holds_offered: r.waitlist.holds_offered,
            holds_confirmed: r.waitlist.holds_confirmed,
            unused: r.waitlist.unused,
        },
    }))
}
