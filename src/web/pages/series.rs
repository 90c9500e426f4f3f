//! A series' page: its pattern in words, every occurrence with its status and a link to its
//! booking; cancelling or changing all occurrences, or one and the following. A single
//! occurrence is changed or cancelled on its booking's own page (`/bookinger/{id}`).

use crate::web::routes::Routes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveTime;
use maud::{html, Markup};
use serde::Deserialize;

use super::{layout, CsrfForm, Field, FieldErrors, PageCtx, PageError, PageResult, SignedIn};
use crate::domain::series::{OccurrenceOutcome, OutcomeStatus, OutcomeSummary, SeriesDetail};
use crate::domain::time::{format_date, format_time, local};
use crate::domain::{BookingTitle, DomainError, User};
use crate::service::{SeriesChange, ServiceError};
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/serier/{id}", show)
        .get("/serier/{id}/endre", change_form)
        .post("/serier/{id}/endre", change_submit)
        .post("/serier/{id}/avbestill", cancel)
}

/// The page of series `id`.
pub fn path(id: i64) -> String {
    format!("/serier/{id}")
}

fn not_found() -> PageError {
    PageError::not_found(
        "Fant ikke serien",
        "Serien finnes ikke, eller den tilhører en annen virksomhet.",
    )
}

/// A series page's service answer: «not found» also for someone else's series.
fn series_error(e: ServiceError) -> PageError {
    match e {
        ServiceError::NotFound | ServiceError::Forbidden => not_found(),
        e => e.into(),
    }
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse().map_err(|_| not_found())
}

/// Series `id` as `user` may see it, or the page to answer instead.
async fn detail(state: &AppState, user: &User, id: &str) -> PageResult<SeriesDetail> {
    state.app.series_detail(user, parse_id(id)?).await.map_err(series_error)
}

/// «kl. 09.00–11.00»
fn times(o: &OccurrenceOutcome) -> String {
    let (s, e) = (local(o.slot.start), local(o.slot.end));
    format!("kl. {}–{}", format_time(s.time()), format_time(e.time()))
}

fn day(o: &OccurrenceOutcome) -> String {
    format_date(local(o.slot.start).date_naive())
}

/// An occurrence that can still be changed or cancelled: booked, holding the room or waiting
/// for the coordinator, and not over.
fn open(o: &OccurrenceOutcome, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let active = matches!(o.status, OutcomeStatus::Confirmed | OutcomeStatus::Pending);
    o.booking_id.filter(|_| active && o.slot.end > now)
}

/// What the page says after a change: the query of the redirect that brought the user here.
#[derive(Debug, Default, Deserialize)]
struct Notice {
    ny: Option<String>,
    endret: Option<String>,
    avbestilt: Option<String>,
}

/// `/serier/{id}` — the series and its occurrences.
async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> PageResult {
    let d = detail(&state, &user, &id).await?;
    let now = state.now();
    let s = &d.series;
    let rules = state.app.rules();
    let summary = OutcomeSummary::of(&d.occurrences, &rules.series);
    let manage = s.managed_by(&user) && !s.cancelled;
    let any_open = d.occurrences.iter().any(|o| open(o, now).is_some());
    let (first_start, first_end) = (local(s.first.start), local(s.first.end));
    let body = html! {
        @if notice.ny.is_some() {
            div.notice role="status" { p { "Serien er booket. Kontaktpersonen får en kalenderinvitasjon på e-post." } }
        }
        @if notice.endret.is_some() {
            div.notice role="status" { p { "Serien er endret. Kontaktpersonen får en oppdatert kalenderinvitasjon. Se tidene under: en gang som ikke kunne få den nye tiden, har beholdt den gamle." } }
        }
        @if notice.avbestilt.is_some() {
            div.notice role="status" { p { "Avbestillingen er registrert. Kontaktpersonen får beskjed på e-post." } }
        }
        h1 { (s.title) }
        p { "Serie: " (s.pattern_words()) "." }
        div.table-scroll role="region" tabindex="0" aria-label="Om serien" {
            table {
                caption.visually-hidden { "Om serien" }
                tbody {
                tr { th scope="row" { "Mønster" } td { (s.pattern_words()) } }
                tr { th scope="row" { "Første gang" } td { (format_date(first_start.date_naive())) " kl. " (format_time(first_start.time())) "–" (format_time(first_end.time())) } }
                tr { th scope="row" { "Virksomhet" } td { (rules.org_name(&s.org)) } }
                tr { th scope="row" { "Kontaktperson" } td { (s.contact_name) " (" (s.contact_email) ")" } }
                tr { th scope="row" { "Antall deltakere" } td { (s.attendees) } }
                tr { th scope="row" { "Vis tittel offentlig" } td { @if s.public { "Ja" } @else { "Nei (vises som «Opptatt»)" } } }
                tr { th scope="row" { "Gangene" } td { (summary.lines().join(", ")) } }
                }
            }
        }
        @if s.cancelled {
            p.notice { "Serien er avlyst." }
        }
        @if manage && any_open {
            div.actions {
                a.button href=(format!("/serier/{}/endre", s.id)) { "Endre serien" }
                form.inline method="post" action=(format!("/serier/{}/avbestill", s.id)) {
                    input type="hidden" name="csrf" value=(ctx.csrf);
                    input type="hidden" name="forekomst" value="";
                    button.secondary type="submit" { "Avbestill hele serien" }
                }
            }
        }
        h2 { "Gangene" }
        div.table-scroll role="region" tabindex="0" aria-label="Gangene i serien" {
            table {
                caption { "Alle gangene i serien, i rekkefølge" }
                thead {
                    tr {
                        th scope="col" { "Dato" }
                        th scope="col" { "Tid" }
                        th scope="col" { "Status" }
                        th scope="col" { "Merknad" }
                        @if manage { th scope="col" { span.visually-hidden { "Handlinger" } } }
                    }
                }
                tbody {
                    @for o in &d.occurrences {
                        tr {
                            td {
                                @if let Some(b) = o.booking_id {
                                    a href=(format!("/bookinger/{b}")) { (day(o)) }
                                } @else {
                                    (day(o))
                                }
                            }
                            td { (times(o)) }
                            td { (o.status.norwegian()) }
                            td { @if let Some(r) = o.reason() { (r) } }
                            @if manage {
                                td {
                                    @if let Some(b) = open(o, now) {
                                        a href=(format!("/serier/{}/endre?forekomst={b}", s.id)) { "Endre denne og følgende" span.visually-hidden { ", fra " (day(o)) } }
                                        " "
                                        form.inline method="post" action=(format!("/serier/{}/avbestill", s.id)) {
                                            input type="hidden" name="csrf" value=(ctx.csrf);
                                            input type="hidden" name="forekomst" value=(b);
                                            button.secondary type="submit" { "Avbestill denne og følgende" span.visually-hidden { ", fra " (day(o)) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { "Én enkelt gang flyttes eller avbestilles på bookingens egen side: velg datoen i tabellen." }
        p { a href="/bookinger" { "Til «Våre bookinger»" } }
    };
    Ok(layout(&ctx, &s.title, "", body).into_response())
}

/// What the change form holds, as typed.
#[derive(Debug, Default, Deserialize)]
struct ChangeForm {
    /// The booking of the occurrence the change starts at; empty: all.
    #[serde(default)]
    forekomst: String,
    #[serde(default)]
    fra: String,
    #[serde(default)]
    til: String,
    #[serde(default)]
    tittel: String,
    #[serde(default)]
    deltakere: String,
}

impl ChangeForm {
    /// The series as it is, from `from` on.
    fn of(d: &SeriesDetail, from: Option<i64>) -> Self {
        let s = &d.series;
        ChangeForm {
            forekomst: from.map(|b| b.to_string()).unwrap_or_default(),
            fra: local(s.first.start).format("%H:%M").to_string(),
            til: local(s.first.end).format("%H:%M").to_string(),
            tittel: s.title.clone(),
            deltakere: s.attendees.to_string(),
        }
    }
}

fn change_page(
    ctx: &PageCtx,
    d: &SeriesDetail,
    f: &ChangeForm,
    errors: &FieldErrors,
    now: chrono::DateTime<chrono::Utc>,
) -> Markup {
    let s = &d.series;
    let [forekomst, fra, til, tittel, deltakere] = [
        ("forekomst", "Gjelder"),
        ("fra", "Fra klokken"),
        ("til", "Til klokken"),
        ("tittel", "Tittel"),
        ("deltakere", "Antall deltakere"),
    ]
    .map(|(id, label)| Field::new(id, label, errors));
    html! {
        h1 { "Endre serien" }
        p { (s.title) ": " (s.pattern_words()) "." }
        (errors.summary("Serien ble ikke endret. Rett opp dette:"))
        form method="post" action=(format!("/serier/{}/endre", s.id)) novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            @for e in errors.for_field("skjema") { p.field-error { (e) } }
            (forekomst.wrap(html! {
                select id="forekomst" name="forekomst" aria-invalid=[forekomst.invalid()] aria-describedby=[forekomst.described()] {
                    option value="" selected[f.forekomst.is_empty()] { "Alle gangene" }
                    @for o in &d.occurrences {
                        @if let Some(b) = open(o, now) {
                            option value=(b) selected[f.forekomst == b.to_string()] { "Denne og følgende, fra " (day(o)) }
                        }
                    }
                }
            }))
            (fra.wrap(html! { input type="time" id="fra" name="fra" value=(f.fra) step="900" required aria-invalid=[fra.invalid()] aria-describedby=[fra.described()]; }))
            (til.wrap(html! { input type="time" id="til" name="til" value=(f.til) step="900" required aria-invalid=[til.invalid()] aria-describedby=[til.described()]; }))
            (tittel.wrap(html! { input type="text" id="tittel" name="tittel" value=(f.tittel) maxlength="200" required aria-invalid=[tittel.invalid()] aria-describedby=[tittel.described()]; }))
            (deltakere.wrap(html! { input type="number" id="deltakere" name="deltakere" value=(f.deltakere) min="1" inputmode="numeric" required aria-invalid=[deltakere.invalid()] aria-describedby=[deltakere.described()]; }))
            p.hint { "Hver gang som får ny tid, avgjøres på nytt etter reglene. En gang som ikke kan få den nye tiden, beholder den gamle. Endres serien fra en senere gang, blir resten en egen serie." }
            button type="submit" { "Lagre endringene" }
        }
        p { a href=(path(s.id)) { "Tilbake til serien" } }
    }
}

#[derive(Debug, Default, Deserialize)]
struct FromQuery {
    #[serde(default)]
    forekomst: String,
}

/// `/serier/{id}/endre` — the form, filled in with the series as it is.
async fn change_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<FromQuery>,
) -> PageResult {
    let d = detail(&state, &user, &id).await?;
    if !d.series.managed_by(&user) {
        return Err(not_found());
    }
    let from = q.forekomst.trim().parse::<i64>().ok();
    let f = ChangeForm::of(&d, from);
    let page = change_page(&ctx, &d, &f, &FieldErrors::default(), state.now());
    Ok(layout(&ctx, "Endre serien", "", page).into_response())
}

/// Place a rule's error on the change form's field it concerns.
fn add_change_error(errors: &mut FieldErrors, e: &DomainError) {
    let field = match e.field {
        Some("start_time" | "start") => "fra",
        Some("end" | "minutes") => "til",
        Some("title") => "tittel",
        Some("attendees") => "deltakere",
        Some("from") => "forekomst",
        _ => "skjema",
    };
    errors.add(field, e.message.clone());
}

/// The form as a change: only what differs from the series as it is.
fn parse_change(d: &SeriesDetail, f: &ChangeForm) -> Result<SeriesChange, FieldErrors> {
    let s = &d.series;
    let mut errors = FieldErrors::default();
    let from = match f.forekomst.trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(b) if d.booking_ids().contains(&b) => Some(b),
            _ => {
                errors.add("forekomst", "Velg hvilke ganger endringen gjelder.");
                None
            }
        },
    };
    let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    let (start, end) = (time(&f.fra), time(&f.til));
    if start.is_none() {
        errors.add("fra", "Skriv når gangene starter, for eksempel 09.00.");
    }
    if end.is_none() {
        errors.add("til", "Skriv når gangene slutter, for eksempel 11.00.");
    }
    let minutes = match (start, end) {
        (Some(a), Some(b)) if b > a => Some((b - a).num_minutes()),
        (Some(_), Some(_)) => {
            errors.add("til", "Til klokken må være etter fra klokken.");
            None
        }
        _ => None,
    };
    let title = BookingTitle::parse(&f.tittel)
        .map_err(|e| add_change_error(&mut errors, &e))
        .ok();
    let attendees = f.deltakere.trim().parse::<i64>().ok().filter(|n| *n > 0);
    if attendees.is_none() {
        errors.add("deltakere", "Skriv antall deltakere som et tall, minst 1.");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let current_start = local(s.first.start).time();
    Ok(SeriesChange {
        from,
        start_time: start.filter(|t| *t != current_start),
        minutes: minutes.filter(|m| *m != s.length().num_minutes()),
        title: title.filter(|t| t.as_str() != s.title),
        attendees: attendees.filter(|n| *n != s.attendees),
        activity: None,
    })
}

async fn change_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<ChangeForm>,
) -> PageResult {
    let d = detail(&state, &user, &id).await?;
    if !d.series.managed_by(&user) {
        return Err(not_found());
    }
    let again = |errors: FieldErrors| {
        let page = layout(
            &ctx,
            "Endre serien",
            "",
            change_page(&ctx, &d, &f, &errors, state.now()),
        );
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let change = match parse_change(&d, &f) {
        Ok(c) => c,
        Err(errors) => return again(errors),
    };
    match state.app.change_series(d.series.id, &user, change).await {
        Ok(changed) => Ok(Redirect::to(&format!("{}?endret=1", path(changed.series.id))).into_response()),
        Err(ServiceError::Rules(errs)) => {
            let mut errors = FieldErrors::default();
            for e in &errs {
                add_change_error(&mut errors, e);
            }
            again(errors)
        }
        Err(ServiceError::Conflict(e)) => Err(PageError::refused(StatusCode::CONFLICT, "Kan ikke endres", e.message)),
        Err(e) => Err(series_error(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CancelForm {
    /// The booking of the occurrence to cancel from; empty: all.
    #[serde(default)]
    forekomst: String,
}

/// Cancel the whole series, or one occurrence and the following.
async fn cancel(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<CancelForm>,
) -> PageResult {
    let id = parse_id(&id)?;
    let from = match f.forekomst.trim() {
        "" => None,
        v => Some(v.parse::<i64>().map_err(|_| {
            PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Kan ikke avbestilles",
                "Velg hvilken gang avbestillingen gjelder fra. Ingenting er endret.",
            )
        })?),
    };
    match state.app.cancel_series(id, &user, from, None).await {
        Ok(d) => Ok(Redirect::to(&format!("{}?avbestilt=1", path(d.series.id))).into_response()),
        Err(ServiceError::Conflict(e)) => Err(PageError::refused(
            StatusCode::CONFLICT,
            "Kan ikke avbestilles",
            e.message,
        )),
        Err(ServiceError::Rules(errs)) => Err(PageError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Kan ikke avbestilles",
            errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "),
        )),
        Err(e) => Err(series_error(e)),
    }
}
