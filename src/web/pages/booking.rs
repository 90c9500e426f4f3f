//! The booking form and its outcome pages: confirmed, pending, busy with the free
//! alternatives as one-click choices, or the form again with each error next to its field.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{NaiveDate, NaiveTime};
use maud::{html, Markup};
use serde::Deserialize;

use super::{csrf_refused, error_page, layout, PageCtx};
use crate::domain::booking::parse_description;
use crate::domain::policy::Slot;
use crate::domain::time::{at_local, format_date, format_range, format_time, local};
use crate::domain::{Booking, BookingTitle, DomainError, NewBooking, Status, User};
use crate::service::{self, BookOutcome, ServiceError};
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/booking/ny", get(new_form).post(submit))
}

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BookingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    dato: String,
    #[serde(default)]
    fra: String,
    #[serde(default)]
    til: String,
    #[serde(default)]
    tittel: String,
    #[serde(default)]
    deltakere: String,
    #[serde(default)]
    beskrivelse: String,
    #[serde(default)]
    offentlig: Option<String>,
    #[serde(default)]
    virksomhet: Option<String>,
}

/// Errors by form field.
#[derive(Debug, Default)]
struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    fn for_field(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// Place a rule's error on the form field it concerns.
    fn add_domain(&mut self, e: &DomainError) {
        let field = match e.field {
            Some("start") => "fra",
            Some("end") => "til",
            Some("attendees") => "deltakere",
            Some("title") => "tittel",
            Some("description") => "beskrivelse",
            Some("organisation") => "virksomhet",
            _ => "skjema",
        };
        self.add(field, e.message.clone());
    }
}

fn field(id: &'static str, label: &str, errors: &FieldErrors, input: Markup) -> Markup {
    let errs = errors.for_field(id);
    html! {
        div.field {
            label for=(id) { (label) }
            @for (i, e) in errs.iter().enumerate() { p.field-error id=(format!("{id}-feil-{i}")) { (e) } }
            (input)
        }
    }
}

fn form_page(ctx: &PageCtx, state: &AppState, user: &User, f: &BookingForm, errors: &FieldErrors) -> Markup {
    let invalid = |id: &str| !errors.for_field(id).is_empty();
    let described = |id: &str| {
        (0..errors.for_field(id).len())
            .map(|i| format!("{id}-feil-{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rules = &state.config.rules;
    let room = &rules.rooms[0];
    html! {
        h1 { "Book " (room.name) }
        @if !errors.0.is_empty() {
            div.notice role="alert" {
                p { "Bookingen ble ikke sendt. Rett opp dette:" }
                ul { @for (_, m) in &errors.0 { li { (m) } } }
            }
        }
        form method="post" action="/booking/ny" novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            @for e in errors.for_field("skjema") { p.field-error { (e) } }
            (field("dato", "Dato", errors, html! { input type="date" id="dato" name="dato" value=(f.dato) required aria-invalid=[invalid("dato").then_some("true")] aria-describedby=[invalid("dato").then(|| described("dato"))]; }))
            (field("fra", "Fra klokken", errors, html! { input type="time" id="fra" name="fra" value=(f.fra) step="900" required aria-invalid=[invalid("fra").then_some("true")] aria-describedby=[invalid("fra").then(|| described("fra"))]; }))
            (field("til", "Til klokken", errors, html! { input type="time" id="til" name="til" value=(f.til) step="900" required aria-invalid=[invalid("til").then_some("true")] aria-describedby=[invalid("til").then(|| described("til"))]; }))
            (field("tittel", "Tittel", errors, html! { input type="text" id="tittel" name="tittel" value=(f.tittel) maxlength="200" required aria-invalid=[invalid("tittel").then_some("true")] aria-describedby=[invalid("tittel").then(|| described("tittel"))]; }))
            (field("deltakere", "Antall deltakere", errors, html! { input type="number" id="deltakere" name="deltakere" value=(f.deltakere) min="1" max=(room.capacity) inputmode="numeric" required aria-invalid=[invalid("deltakere").then_some("true")] aria-describedby=[invalid("deltakere").then(|| described("deltakere"))]; }))
            (field("beskrivelse", "Beskrivelse (valgfritt)", errors, html! { textarea id="beskrivelse" name="beskrivelse" rows="4" aria-invalid=[invalid("beskrivelse").then_some("true")] { (f.beskrivelse) } }))
            div.field {
                input type="checkbox" id="offentlig" name="offentlig" value="ja" checked[f.offentlig.is_some() || f.csrf.is_empty()];
                label for="offentlig" style="display:inline; margin-left:.4rem" { "Vis tittel offentlig" }
                p { "Uten hake vises bookingen som «Opptatt» for andre." }
            }
            @if user.role.is_coordinator() {
                (field("virksomhet", "Virksomhet", errors, html! {
                    select id="virksomhet" name="virksomhet" {
                        @for o in &rules.organisations {
                            option value=(o.key) selected[f.virksomhet.as_deref().unwrap_or(&user.org) == o.key] { (o.name) }
                        }
                    }
                }))
            }
            button type="submit" { "Send forespørsel" }
        }
        p { "Booking for " (rules.organisation(&user.org).map(|o| o.name.as_str()).unwrap_or(&user.org)) ", med deg som kontaktperson." }
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    dato: String,
    #[serde(default)]
    fra: String,
    #[serde(default)]
    til: String,
}

async fn new_form(State(state): State<AppState>, ctx: PageCtx, Query(q): Query<NewQuery>) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/logg-inn").into_response();
    };
    let f = BookingForm {
        dato: q.dato,
        fra: q.fra,
        til: q.til,
        offentlig: Some("ja".into()),
        ..Default::default()
    };
    layout(
        &ctx,
        "Book Borgertun",
        "",
        form_page(&ctx, &state, &user, &f, &FieldErrors::default()),
    )
    .into_response()
}

/// Parse the form; every problem is reported at once.
fn parse(f: &BookingForm, user: &User, room: &str) -> Result<NewBooking, FieldErrors> {
    let mut errors = FieldErrors::default();
    let date = NaiveDate::parse_from_str(f.dato.trim(), "%Y-%m-%d").ok();
    if date.is_none() {
        errors.add("dato", "Velg en dato.");
    }
    let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    let (from, to) = (time(&f.fra), time(&f.til));
    if from.is_none() {
        errors.add("fra", "Skriv når bookingen starter, for eksempel 09.00.");
    }
    if to.is_none() {
        errors.add("til", "Skriv når bookingen slutter, for eksempel 11.00.");
    }
    let title = BookingTitle::parse(&f.tittel).map_err(|e| errors.add_domain(&e)).ok();
    let attendees = f.deltakere.trim().parse::<i64>().ok().filter(|n| *n > 0);
    if attendees.is_none() {
        errors.add("deltakere", "Skriv antall deltakere som et tall, minst 1.");
    }
    let description = parse_description(Some(&f.beskrivelse))
        .map_err(|e| errors.add_domain(&e))
        .ok()
        .flatten();
    let (start, end) = match (date, from, to) {
        (Some(d), Some(a), Some(b)) => (at_local(d, a), at_local(d, b)),
        _ => (None, None),
    };
    if date.is_some() && from.is_some() && to.is_some() && (start.is_none() || end.is_none()) {
        errors.add("fra", "Klokkeslettet finnes ikke den dagen (sommertid).");
    }
    if !errors.0.is_empty() {
        return Err(errors);
    }
    Ok(NewBooking {
        room: room.to_string(),
        start: start.expect("checked"),
        end: end.expect("checked"),
        title: title.expect("checked"),
        description,
        public: f.offentlig.is_some(),
        attendees: attendees.expect("checked"),
        org: f
            .virksomhet
            .clone()
            .filter(|_| user.role.is_coordinator())
            .unwrap_or_else(|| user.org.clone()),
        contact: user.clone(),
    })
}

fn details(state: &AppState, b: &Booking) -> Markup {
    let rules = &state.config.rules;
    html! {
        table {
            tbody {
                tr { th scope="row" { "Tittel" } td { (b.title) } }
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Virksomhet" } td { (rules.organisation(&b.org).map(|o| o.name.as_str()).unwrap_or(&b.org)) } }
                tr { th scope="row" { "Antall deltakere" } td { (b.attendees) } }
                tr { th scope="row" { "Status" } td { (b.status.norwegian()) } }
            }
        }
    }
}

async fn submit(State(state): State<AppState>, ctx: PageCtx, Form(f): Form<BookingForm>) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/logg-inn").into_response();
    };
    let room = state.config.rules.rooms[0].key.clone();
    let again = |errors: FieldErrors| {
        let page = layout(&ctx, "Book Borgertun", "", form_page(&ctx, &state, &user, &f, &errors));
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let new = match parse(&f, &user, &room) {
        Ok(n) => n,
        Err(errors) => return again(errors),
    };
    let date = local(new.start).date_naive();
    match service::book(state.store.as_ref(), &state.composer(), new, &user.email, state.now()).await {
        Ok(BookOutcome::Stored { booking, conflicts, .. }) => {
            let confirmed = booking.status == Status::Confirmed;
            let body = html! {
                @if confirmed {
                    h1 { "Bookingen er bekreftet" }
                    p role="status" { "Du får en kalenderinvitasjon på e-post." }
                } @else {
                    h1 { "Forespørselen er sendt" }
                    p role="status" { "Forespørselen din er til behandling hos koordinator. Du får en e-post når den er avgjort." }
                    @if !conflicts.is_empty() { p { "Tiden overlapper en annen booking, og koordinator avgjør etter prioriteringsreglene." } }
                }
                (details(&state, &booking))
                p { a href=(format!("/?dato={date}")) { "Tilbake til ukevisningen" } }
            };
            let title = if confirmed {
                "Bookingen er bekreftet"
            } else {
                "Forespørselen er sendt"
            };
            layout(&ctx, title, "", body).into_response()
        }
        Ok(BookOutcome::Busy {
            protected,
            alternatives,
            ..
        }) => busy_page(&ctx, &state, &f, protected, &alternatives),
        Err(ServiceError::Rules(errs)) => {
            let mut errors = FieldErrors::default();
            for e in &errs {
                errors.add_domain(e);
            }
            again(errors)
        }
        Err(ServiceError::Forbidden) => error_page(
            StatusCode::FORBIDDEN,
            "Ingen tilgang",
            "Du kan ikke booke for denne virksomheten.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "booking form");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Noe gikk galt",
                "Bookingen ble ikke lagret. Prøv igjen om litt.",
            )
        }
    }
}

/// «Rommet er opptatt»: each free alternative is a one-click form with the same details.
fn busy_page(ctx: &PageCtx, state: &AppState, f: &BookingForm, protected: bool, alternatives: &[Slot]) -> Response {
    let body = html! {
        h1 { "Rommet er opptatt" }
        @if protected {
            p { "Tiden er booket, og bookingen starter innen beskyttelsesperioden på " (state.config.rules.protection_window_days) " dager." }
        }
        @if alternatives.is_empty() {
            p { "Vi fant ingen ledige tider av samme lengde innenfor bookingvinduet." }
        } @else {
            p { "Disse tidene er ledige:" }
            ul.alternatives {
                @for a in alternatives {
                    @let (start, end) = (local(a.start), local(a.end));
                    li {
                        form method="post" action="/booking/ny" {
                            input type="hidden" name="csrf" value=(ctx.csrf);
                            input type="hidden" name="dato" value=(start.date_naive().to_string());
                            input type="hidden" name="fra" value=(start.format("%H:%M").to_string());
                            input type="hidden" name="til" value=(end.format("%H:%M").to_string());
                            input type="hidden" name="tittel" value=(f.tittel);
                            input type="hidden" name="deltakere" value=(f.deltakere);
                            input type="hidden" name="beskrivelse" value=(f.beskrivelse);
                            @if f.offentlig.is_some() { input type="hidden" name="offentlig" value="ja"; }
                            @if let Some(v) = &f.virksomhet { input type="hidden" name="virksomhet" value=(v); }
                            button type="submit" { "Book " (format_date(start.date_naive())) " kl. " (format_time(start.time())) "–" (format_time(end.time())) }
                        }
                    }
                }
            }
        }
        p { a href="/booking/ny" { "Velg en annen tid" } }
    };
    (StatusCode::CONFLICT, layout(ctx, "Rommet er opptatt", "", body)).into_response()
}
