//! The JSON API under `/api/v1`. Handlers parse into domain types, call one service function
//! and render; the rules live in `domain`, the SQL in `store`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::ApiUser;
use super::error::ApiError;
use super::json::ApiJson;
use super::AppState;
use crate::domain::plan::Plan;
use crate::domain::policy::Slot;
use crate::domain::time::{format_range, local, rfc3339, start_of_day};
use crate::domain::{Activity, AuditEntry, Booking, BookingTitle, DomainError, NewBooking, Rules, Status, User};
use crate::service::{self, BookOutcome, ServiceError};
use crate::store::BookingQuery;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/rooms", get(rooms))
        .route("/organisations", get(organisations))
        .route("/rooms/{room}/availability", get(availability))
        .route("/bookings", get(list_bookings).post(create_booking))
        .route("/bookings/{id}", get(get_booking).patch(move_booking))
        .route("/reports/summary", get(report_summary))
        .route("/bookings/{id}/cancel", post(cancel_booking))
        .route("/bookings/{id}/approve", post(approve_booking))
        .route("/bookings/{id}/reject", post(reject_booking))
        .route("/conflicts", get(conflicts))
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.app.store().ping().await {
        Ok(()) => Json(json!({ "status": "ok", "database": state.app.store().backend() })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Denne metoden støttes ikke her.",
    )
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

// ---------- rendering ----------

fn org_json(rules: &Rules, key: &str) -> Value {
    match rules.organisation(key) {
        Some(o) => {
            let tier = rules.tier(&o.tier);
            json!({ "key": o.key, "name": o.name, "tier": o.tier, "tier_name": tier.map(|t| t.name.as_str()) })
        }
        None => json!({ "key": key, "name": key, "tier": null, "tier_name": null }),
    }
}

fn slot_json(s: &Slot) -> Value {
    json!({ "start": rfc3339(s.start), "end": rfc3339(s.end), "text": format_range(s.start, s.end) })
}

/// What anyone may see of a booking: times, organisation and public title, no contact data.
fn public_json(rules: &Rules, b: &Booking) -> Value {
    json!({
        "id": b.id,
        "room": b.room,
        "start": rfc3339(b.start),
        "end": rfc3339(b.end),
        "blocked_until": rfc3339(b.blocked_until),
        "title": b.public_title(),
        "organisation": org_json(rules, &b.org),
        "status": b.status.as_str(),
    })
}

fn full_json(rules: &Rules, b: &Booking) -> Value {
    json!({
        "id": b.id,
        "room": b.room,
        "start": rfc3339(b.start),
        "end": rfc3339(b.end),
        "blocked_until": rfc3339(b.blocked_until),
        "title": b.title,
        "description": b.description,
        "public": b.public,
        "attendees": b.attendees,
        "organisation": org_json(rules, &b.org),
        "contact": { "name": b.contact_name, "email": b.contact_email },
        "status": b.status.as_str(),
        "status_text": b.status.norwegian(),
        "status_reason": b.status_reason,
        "sequence": b.sequence,
        "created_at": rfc3339(b.created_at),
        "updated_at": rfc3339(b.updated_at),
        "activity": b.activity,
        "attendance": b.attendance,
    })
}

/// Bookings taken away by an approval or override, each with alternatives for its owner.
fn displaced_json(rules: &Rules, displaced: &[(Booking, Vec<Slot>)]) -> Value {
    displaced
        .iter()
        .map(|(b, alts)| json!({ "booking": full_json(rules, b), "alternatives": alts.iter().map(slot_json).collect::<Vec<_>>() }))
        .collect()
}

fn history_json(h: &[AuditEntry]) -> Value {
    h.iter()
        .map(|e| {
            json!({
                "at": rfc3339(e.at),
                "actor": e.actor,
                "from": e.from_status.map(|s| s.as_str()),
                "to": e.to_status.as_str(),
                "reason": e.reason,
            })
        })
        .collect()
}

fn view_json(rules: &Rules, user: &User, b: &Booking) -> Value {
    if user.may_see_details(b) {
        full_json(rules, b)
    } else {
        public_json(rules, b)
    }
}

// ---------- parsing ----------

fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, DomainError> {
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            use chrono::Datelike;
            if !(2000..=2999).contains(&t.year()) {
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

fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, DomainError> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2999).contains(&d.year()))
        .ok_or_else(|| {
            DomainError::new("invalid_date", format!("«{s}» er ikke en gyldig dato (ÅÅÅÅ-MM-DD).")).on(field)
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

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(ApiError::not_found)
}

/// A booking `user` may see: its organisation's (or any, for a coordinator), or someone
/// else's confirmed one. Others' pending and past requests answer 404, so nobody learns of
/// them.
async fn visible_booking(state: &AppState, user: &User, id: i64) -> Result<Booking, ApiError> {
    let b = state.app.store().booking(id).await?.ok_or_else(ApiError::not_found)?;
    if !user.may_see_details(&b) && b.status != Status::Confirmed {
        return Err(ApiError::not_found());
    }
    Ok(b)
}

// ---------- handlers ----------

async fn rooms(State(state): State<AppState>, ApiUser(_): ApiUser) -> Json<Value> {
    const DAYS: [&str; 7] = crate::domain::rules::WEEKDAY_KEYS;
    let rooms: Vec<Value> = state
        .app
        .config()
        .rules
        .rooms
        .iter()
        .map(|r| {
            let hours: serde_json::Map<String, Value> = DAYS
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    r.opening_hours.0[i].map(|(o, c)| {
                        (
                            d.to_string(),
                            json!(format!("{}-{}", o.format("%H:%M"), c.format("%H:%M"))),
                        )
                    })
                })
                .collect();
            json!({
                "key": r.key, "name": r.name, "address": r.address, "capacity": r.capacity,
                "buffer_minutes": r.buffer_minutes, "slot_minutes": r.slot_minutes, "opening_hours": hours,
            })
        })
        .collect();
    Json(json!({ "rooms": rooms }))
}

async fn organisations(State(state): State<AppState>, ApiUser(_): ApiUser) -> Json<Value> {
    let rules = &state.app.config().rules;
    let orgs: Vec<Value> = rules.organisations.iter().map(|o| org_json(rules, &o.key)).collect();
    let tiers: Vec<Value> = rules
        .tiers
        .iter()
        .map(|t| json!({ "key": t.key, "rank": t.rank, "name": t.name, "horizon_days": t.horizon_days, "auto_confirm": t.auto_confirm }))
        .collect();
    Json(json!({ "organisations": orgs, "tiers": tiers }))
}

#[derive(Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
}

async fn availability(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    Path(room): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    let rules = &state.app.config().rules;
    let room = rules
        .room(&room)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_room", format!("Ukjent rom «{room}».")))?;
    let today = local(state.now()).date_naive();
    let (from, to, from_day, to_day) = day_range(q.from.as_deref(), q.to.as_deref(), 7, 92, today)?;
    let busy = state
        .app
        .store()
        .bookings(&BookingQuery {
            room: Some(room.key.clone()),
            from: Some(from),
            to: Some(to),
            statuses: vec![Status::Confirmed],
            ..Default::default()
        })
        .await?;
    let busy: Vec<Value> = busy
        .iter()
        .map(|b| {
            json!({
                "start": rfc3339(b.start), "end": rfc3339(b.end), "blocked_until": rfc3339(b.blocked_until),
                "title": b.public_title(), "organisation": org_json(rules, &b.org),
            })
        })
        .collect();
    Ok(Json(
        json!({ "room": room.key, "from": from_day.to_string(), "to": to_day.to_string(), "busy": busy }),
    ))
}

async fn list_bookings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    let rules = &state.app.config().rules;
    let today = local(state.now()).date_naive();
    let (from, to, _, _) = day_range(q.from.as_deref(), q.to.as_deref(), 90, 366, today)?;
    let statuses = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s
            .split(',')
            .map(|s| Status::parse(s.trim()))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    let all = state
        .app
        .store()
        .bookings(&BookingQuery {
            from: Some(from),
            to: Some(to),
            statuses,
            ..Default::default()
        })
        .await?;
    // Others' bookings: only confirmed ones, and only as the availability shows them.
    let visible: Vec<Value> = all
        .iter()
        .filter(|b| user.may_see_details(b) || b.status == Status::Confirmed)
        .map(|b| view_json(rules, &user, b))
        .collect();
    Ok(Json(json!({ "bookings": visible })))
}

async fn get_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // `/bookings/{id}.ics`: the booking as a calendar file («legg i kalenderen»).
    if let Some(id) = id.strip_suffix(".ics") {
        return booking_ics(&state, &user, parse_id(id)?).await;
    }
    Ok(booking_json(&state, &user, parse_id(&id)?).await?.into_response())
}

async fn booking_json(state: &AppState, user: &User, id: i64) -> Result<Json<Value>, ApiError> {
    let rules = &state.app.config().rules;
    let b = state.app.store().booking(id).await?.ok_or_else(ApiError::not_found)?;
    if user.may_see_details(&b) {
        let mut v = full_json(rules, &b);
        v["history"] = history_json(&state.app.store().history(b.id).await?);
        Ok(Json(v))
    } else if b.status == Status::Confirmed {
        Ok(Json(public_json(rules, &b)))
    } else {
        Err(ApiError::not_found())
    }
}

/// Who may see a booking sees it as a calendar file: in full for its organisation, as the
/// availability shows it for others (confirmed only).
pub(crate) async fn booking_ics(state: &AppState, user: &User, id: i64) -> Result<Response, ApiError> {
    use crate::calendar::{self, EventInput, FeedInfo, View};
    let b = state.app.store().booking(id).await?.ok_or_else(ApiError::not_found)?;
    let view = if user.may_see_details(&b) {
        View::Full
    } else if b.status == Status::Confirmed {
        View::Public
    } else {
        return Err(ApiError::not_found());
    };
    let rules = &state.app.config().rules;
    let org_name = rules.organisation(&b.org).map(|o| o.name.as_str()).unwrap_or(&b.org);
    let url = state.app.composer().booking_url(b.id);
    let input = EventInput {
        booking: &b,
        org_name,
        view,
        note: None,
        url: Some(&url),
    };
    let body = calendar::feed(
        &FeedInfo {
            name: &b.title,
            refresh_minutes: state.app.config().feeds.refresh_minutes,
        },
        &[input],
        &state.app.calendar_context(&b.room),
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"borgertun-{}.ics\"", b.id),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveInput {
    /// A new time: `start` and `end` together.
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    /// A new activity, replacing the old.
    #[serde(default)]
    activity: Option<Activity>,
}

async fn move_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MoveInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let b = visible_booking(&state, &user, id).await?;
    if !user.may_manage(&b) {
        return Err(ServiceError::Forbidden.into());
    }
    let mut errors = Vec::new();
    let slot = match (&input.start, &input.end) {
        (None, None) => None,
        (start, end) => {
            let start = parse_time("start", start.as_deref().unwrap_or_default())
                .map_err(|e| errors.push(e))
                .ok();
            let end = parse_time("end", end.as_deref().unwrap_or_default())
                .map_err(|e| errors.push(e))
                .ok();
            match (start, end) {
                (Some(start), Some(end)) if end <= start => {
                    errors.push(
                        DomainError::new("end_before_start", "Sluttidspunktet må være etter starttidspunktet.")
                            .on("end"),
                    );
                    None
                }
                (Some(start), Some(end)) => Some(Slot { start, end }),
                _ => None,
            }
        }
    };
    if slot.is_none() && input.activity.is_none() && errors.is_empty() {
        errors
            .push(DomainError::new("nothing_to_change", "Oppgi ny tid (start og end) eller ny aktivitet.").on("start"));
    }
    // The activity (new, or the booking's own) must fit the plan in force on the (new) day.
    let activity = input.activity.map(Activity::dedup);
    let day = slot.map(|s| s.start).unwrap_or(b.start);
    if let Some(a) = activity.as_ref().or(b.activity.as_ref()) {
        errors.extend(activity_errors(&state.app.config().plan, a, day));
    }
    if !errors.is_empty() {
        return Err(ApiError::rules(errors));
    }
    let rules = &state.app.config().rules;
    let mut current = b;
    if let Some(slot) = slot {
        match state.app.move_booking(id, &user, slot).await? {
            service::MoveOutcome::Moved(m) => current = m,
            service::MoveOutcome::Busy {
                held_by,
                protected,
                alternatives,
            } => return Err(busy_error(rules, held_by, protected, &alternatives)),
        }
    }
    if let Some(a) = activity {
        current = state.app.store().set_activity(id, &a, state.now()).await?;
    }
    Ok(Json(full_json(rules, &current)))
}

fn busy_error(rules: &Rules, held_by: Vec<i64>, protected: bool, alternatives: &[Slot]) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        busy_message(alternatives, protected, rules.protection_window_days),
    );
    let mut extra = serde_json::Map::new();
    extra.insert("alternatives".into(), alternatives.iter().map(slot_json).collect());
    extra.insert("held_by".into(), json!(held_by));
    extra.insert("protected".into(), json!(protected));
    err.extra = Some(extra);
    err
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingInput {
    room: String,
    start: String,
    end: String,
    title: String,
    attendees: i64,
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
    /// Coordinator only: book even where the slot is held, displacing what is there.
    #[serde(default, rename = "override")]
    force: bool,
    /// Required with `override`.
    #[serde(default)]
    reason: Option<String>,
    /// What the booking is used for (kinds, themes, goal areas, measures and groups by their
    /// keys in config/plan.toml).
    #[serde(default)]
    activity: Option<Activity>,
}

/// The problems of `activity` for an event on the day of `start`.
fn activity_errors(plan: &Plan, activity: &Activity, start: DateTime<Utc>) -> Vec<DomainError> {
    activity.check(plan, local(start).date_naive())
}

impl BookingInput {
    /// Parse every field, reporting all problems at once.
    fn parse(self, user: &User, rules: &Rules, plan: &Plan) -> Result<NewBooking, ApiError> {
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
        let activity = self.activity.map(Activity::dedup);
        if let (Some(a), Some(s)) = (&activity, start) {
            errors.extend(activity_errors(plan, a, s));
        }
        // A field that did not parse has put its error in `errors`.
        let (Some(start), Some(end), Some(title)) = (start, end, title) else {
            return Err(ApiError::rules(errors));
        };
        if !errors.is_empty() {
            return Err(ApiError::rules(errors));
        }
        if org != user.org && !user.role.is_coordinator() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Du kan bare booke for din egen virksomhet.",
            ));
        }
        Ok(NewBooking {
            room: self.room,
            start,
            end,
            title,
            description,
            public: self.public.unwrap_or(true),
            attendees: self.attendees,
            org,
            contact: user.clone(),
            activity,
        })
    }
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

async fn create_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<BookingInput>,
) -> Result<Response, ApiError> {
    let rules = &state.app.config().rules;
    let force = input.force;
    let reason = ReasonInput {
        reason: input.reason.clone(),
        force,
    }
    .reason()?;
    if force && !user.role.is_coordinator() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Bare koordinator kan overstyre.",
        ));
    }
    let new = input.parse(&user, rules, &state.app.config().plan)?;
    let outcome = if force {
        let reason = reason.ok_or_else(|| {
            ApiError::from(DomainError::new("reason_required", "Overstyring krever en begrunnelse.").on("reason"))
        })?;
        state.app.book_override(new, &user, &reason).await?
    } else {
        state.app.book(new, &user.email).await?
    };
    match outcome {
        BookOutcome::Stored {
            booking,
            conflicts,
            displaced,
        } => {
            let mut v = full_json(rules, &booking);
            v["conflicts"] = json!(conflicts);
            v["displaced"] = displaced_json(rules, &displaced);
            let code = if booking.status == Status::Pending && !conflicts.is_empty() {
                StatusCode::ACCEPTED
            } else {
                StatusCode::CREATED
            };
            let location = format!("/api/v1/bookings/{}", booking.id);
            Ok((code, [(axum::http::header::LOCATION, location)], Json(v)).into_response())
        }
        BookOutcome::Busy {
            held_by,
            protected,
            alternatives,
        } => Err(busy_error(rules, held_by, protected, &alternatives)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, rename = "override")]
    force: bool,
}

impl ReasonInput {
    fn reason(&self) -> Result<Option<String>, ApiError> {
        let r = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from);
        if r.as_ref().is_some_and(|r| r.chars().count() > 1000) {
            return Err(
                DomainError::new("invalid_reason", "Begrunnelsen kan være høyst 1 000 tegn.")
                    .on("reason")
                    .into(),
            );
        }
        Ok(r)
    }
}

async fn cancel_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    visible_booking(&state, &user, id).await?;
    let reason = input.reason()?;
    let b = state.app.cancel(id, &user, reason.as_deref()).await?;
    Ok(Json(full_json(&state.app.config().rules, &b)))
}

async fn approve_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    if !user.role.is_coordinator() {
        return Err(ApiError::forbidden());
    }
    let reason = input.reason()?;
    let rules = &state.app.config().rules;
    let a = state.app.approve(id, &user, reason.as_deref(), input.force).await?;
    Ok(Json(
        json!({ "booking": full_json(rules, &a.booking), "displaced": displaced_json(rules, &a.displaced) }),
    ))
}

async fn reject_booking(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    if !user.role.is_coordinator() {
        return Err(ApiError::forbidden());
    }
    let reason = input.reason()?.ok_or_else(|| {
        ApiError::from(DomainError::new("reason_required", "Skriv en begrunnelse for avslaget.").on("reason"))
    })?;
    let rules = &state.app.config().rules;
    let (b, alts) = state.app.reject(id, &user, &reason).await?;
    Ok(Json(
        json!({ "booking": full_json(rules, &b), "alternatives": alts.iter().map(slot_json).collect::<Vec<_>>() }),
    ))
}

async fn conflicts(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<Value>, ApiError> {
    if !user.role.is_coordinator() {
        return Err(ApiError::forbidden());
    }
    let rules = &state.app.config().rules;
    let cases = state.app.conflicts().await?;
    let items: Vec<Value> = cases
        .iter()
        .map(|c| {
            let others: Vec<Value> = c
                .others
                .iter()
                .map(|o| {
                    let mut v = full_json(rules, o);
                    v["protected"] = json!(c.protected.contains(&o.id));
                    v
                })
                .collect();
            let suggestion = if c.suggest_approve {
                "approve"
            } else if c.approvable {
                "decide"
            } else {
                "reject"
            };
            json!({
                "request": full_json(rules, &c.request),
                "conflicts_with": others,
                "approvable": c.approvable,
                "suggestion": suggestion,
            })
        })
        .collect();
    Ok(Json(json!({ "conflicts": items })))
}

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    group_by: Option<String>,
}

fn figures_json(r: &crate::domain::report::Report, f: &crate::domain::report::Figures) -> Value {
    json!({
        "events": f.events,
        "hours": f.hours(),
        "expected": f.expected,
        "actual": f.actual,
        "with_attendance": f.with_attendance,
        "three_or_more_groups": f.three_groups,
        "three_or_more_groups_share": f.three_group_share(),
        "utilisation": r.share_of_open(f),
    })
}

/// `GET /api/v1/reports/summary?from&to&group_by=…` — the report's figures (staff and
/// coordinators). Without `group_by`, every grouping.
async fn report_summary(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Value>, ApiError> {
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
    let unmet = |u: &crate::domain::report::Unmet| json!({ "rejected": u.rejected, "displaced": u.displaced, "hours": u.minutes as f64 / 60.0 });
    let unmet_rows = |rows: &[crate::domain::report::UnmetRow]| -> Value {
        rows.iter()
            .map(|r| json!({ "key": r.key, "name": r.name, "unmet": unmet(&r.unmet) }))
            .collect()
    };
    let mut grouped = serde_json::Map::new();
    for by in groupings {
        let rows: Vec<Value> = r
            .rows(by)
            .iter()
            .map(|row| json!({ "key": row.key, "name": row.name, "figures": figures_json(&r, &row.figures) }))
            .collect();
        grouped.insert(by.key().to_string(), json!(rows));
    }
    Ok(Json(json!({
        "from": r.from.to_string(),
        "to": r.to.to_string(),
        "total": figures_json(&r, &r.total),
        "open_hours": r.open_minutes as f64 / 60.0,
        "utilisation": r.utilisation(),
        "unmet": {
            "total": unmet(&r.unmet_total),
            "by_tier": unmet_rows(&r.unmet_by_tier),
            "by_organisation": unmet_rows(&r.unmet_by_organisation),
        },
        "groupings": grouped,
    })))
}
