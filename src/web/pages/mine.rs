//! «Våre bookinger»: the organisation's bookings, upcoming and past; a booking's page with its
//! history and calendar file; cancelling.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Duration;
use maud::{html, Markup};
use serde::Deserialize;

use super::signin::{too_many, ClientAddr};
use super::{csrf_refused, error_page, layout, sign_in_first, Field, FieldErrors, PageCtx};
use crate::domain::policy::Slot;
use crate::domain::time::{format_datetime, format_range};
use crate::domain::{Booking, Status, User};
use crate::service::{self, ServiceError};
use crate::store::BookingQuery;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bookinger", get(list))
        .route("/bookinger/{id}", get(show))
        .route("/bookinger/{id}/avbestill", post(cancel))
        .route("/bookinger/{id}/flytt", get(move_form).post(move_submit))
        .route("/bookinger/{id}/oppmote", get(attendance_form).post(attendance_submit))
}

fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Fant ikke bookingen",
        "Bookingen finnes ikke, eller den tilhører en annen virksomhet.",
    )
}

fn org_name<'a>(state: &'a AppState, b: &'a Booking) -> &'a str {
    state
        .app
        .config()
        .rules
        .organisation(&b.org)
        .map(|o| o.name.as_str())
        .unwrap_or(&b.org)
}

fn cancel_form(ctx: &PageCtx, b: &Booking) -> Markup {
    html! {
        form.inline method="post" action=(format!("/bookinger/{}/avbestill", b.id)) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" { "Avbestill" span.visually-hidden { " " (b.title) ", " (format_range(b.start, b.end)) } }
        }
    }
}

fn table(ctx: &PageCtx, bookings: &[&Booking], now: chrono::DateTime<chrono::Utc>, caption: &str) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr { th scope="col" { "Tid" } th scope="col" { "Tittel" } th scope="col" { "Status" } th scope="col" { "Kontaktperson" } th scope="col" { span.visually-hidden { "Handlinger" } } } }
            tbody {
                @for b in bookings {
                    tr {
                        td { (format_range(b.start, b.end)) }
                        td { a href=(format!("/bookinger/{}", b.id)) { (b.title) } }
                        td { (b.status.norwegian()) }
                        td { (b.contact_name) }
                        td {
                            @if b.status.is_active() && b.end > now {
                                a href=(format!("/bookinger/{}/flytt", b.id)) { "Flytt" span.visually-hidden { " " (b.title) } }
                                " "
                                (cancel_form(ctx, b))
                            } @else if attendance_due(b, now) {
                                a href=(format!("/bookinger/{}/oppmote", b.id)) {
                                    @if b.attendance.is_some() { "Endre oppmøte" } @else { "Registrer oppmøte" }
                                    span.visually-hidden { " for " (b.title) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/bookinger` — «Våre bookinger».
async fn list(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    let now = state.now();
    let q = BookingQuery {
        org: Some(user.org.clone()),
        from: Some(now - Duration::days(180)),
        to: Some(now + Duration::days(400)),
        ..Default::default()
    };
    let all = match state.app.store().bookings(&q).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "our bookings");
            return error_page(StatusCode::SERVICE_UNAVAILABLE, "Noe gikk galt", "Prøv igjen om litt.");
        }
    };
    let upcoming: Vec<&Booking> = all.iter().filter(|b| b.end > now).collect();
    let mut past: Vec<&Booking> = all.iter().filter(|b| b.end <= now).collect();
    past.reverse();
    let org = state
        .app
        .config()
        .rules
        .organisation(&user.org)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| user.org.clone());
    let body = html! {
        h1 { "Våre bookinger" }
        p { (org) }
        p { a.button href="/booking/ny" { "Book Borgertun" } }
        h2 { "Kommende" }
        @if upcoming.is_empty() { p { "Ingen kommende bookinger." } } @else { (table(&ctx, &upcoming, now, "Kommende bookinger")) }
        h2 { "Tidligere" }
        @if past.is_empty() { p { "Ingen tidligere bookinger det siste halve året." } } @else { (table(&ctx, &past, now, "Tidligere bookinger")) }
    };
    layout(&ctx, "Våre bookinger", "/bookinger", body).into_response()
}

/// A booking the signed-in user manages, or the page to answer instead.
async fn managed(state: &AppState, user: &User, id: &str) -> Result<Booking, Response> {
    let id: i64 = id.parse().map_err(|_| not_found())?;
    match state.app.store().booking(id).await {
        Ok(Some(b)) if user.may_manage(&b) => Ok(b),
        Ok(_) => Err(not_found()),
        Err(e) => {
            tracing::error!(error = %e, "booking page");
            Err(error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Noe gikk galt",
                "Prøv igjen om litt.",
            ))
        }
    }
}

/// `/bookinger/{id}` — a booking with its history; `/bookinger/{id}.ics` — its calendar file.
async fn show(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> Response {
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    if let Some(id) = id.strip_suffix(".ics") {
        let b = match managed(&state, &user, id).await {
            Ok(b) => b,
            Err(page) => return page,
        };
        return crate::web::api::booking_ics(&state, &user, b.id)
            .await
            .unwrap_or_else(|_| not_found());
    }
    let b = match managed(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let history = state.app.store().history(b.id).await.unwrap_or_default();
    let now = state.now();
    let alternatives = if matches!(b.status, Status::Displaced | Status::Rejected) && b.end > now {
        alternatives(&state, &b).await
    } else {
        vec![]
    };
    let body = html! {
        h1 { (b.title) }
        table {
            tbody {
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Status" } td { (b.status.norwegian()) @if let Some(r) = &b.status_reason { " – Begrunnelse: " (r) } } }
                tr { th scope="row" { "Virksomhet" } td { (org_name(&state, &b)) } }
                tr { th scope="row" { "Kontaktperson" } td { (b.contact_name) " (" (b.contact_email) ")" } }
                tr { th scope="row" { "Antall deltakere" } td { (b.attendees) } }
                tr { th scope="row" { "Vis tittel offentlig" } td { @if b.public { "Ja" } @else { "Nei (vises som «Opptatt»)" } } }
                @if let Some(d) = &b.description { tr { th scope="row" { "Beskrivelse" } td { (d) } } }
                @if let Some(a) = &b.activity { (activity_rows(&state.app.config().plan, a)) }
            }
        }
        @if matches!(b.status, Status::Displaced | Status::Rejected) && b.end > now {
            div.notice role="status" {
                @if b.status == Status::Displaced {
                    p { "Bookingen er trukket tilbake fordi rommet er tildelt en booking med høyere prioritet." }
                } @else {
                    p { "Forespørselen er avslått." }
                }
                @if let Some(r) = &b.status_reason { p { "Begrunnelse: " (r) } }
            }
            h2 { "Ledige alternativer" }
            @if alternatives.is_empty() {
                p { "Vi fant ingen ledige tider av samme lengde innenfor bookingvinduet. " a href="/" { "Se ukevisningen" } "." }
            } @else {
                p { "Disse tidene er ledige. Velg en, så booker vi den med de samme opplysningene:" }
                (super::booking::alternative_list(&ctx, &super::booking::BookingForm::from_booking(&b), &alternatives))
            }
        }
        @if let Some(a) = &b.attendance {
            h2 { "Oppmøte" }
            (attendance_summary(&state.app.config().plan, a))
        }
        @if attendance_due(&b, now) {
            p { a.button href=(format!("/bookinger/{}/oppmote", b.id)) { @if b.attendance.is_some() { "Endre oppmøte" } @else { "Registrer oppmøte" } } }
        }
        p { a href=(format!("/bookinger/{}.ics", b.id)) { "Legg i kalenderen (.ics)" } }
        @if b.status.is_active() && b.end > now {
            p { a.button href=(format!("/bookinger/{}/flytt", b.id)) { "Flytt bookingen" } }
            p { (cancel_form(&ctx, &b)) }
        }
        h2 { "Historikk" }
        ol {
            @for h in &history {
                li {
                    (format_datetime(h.at)) ": "
                    @match h.from_status { Some(from) => { (from.norwegian()) " → " (h.to_status.norwegian()) } None => { "registrert som " (h.to_status.norwegian()) } }
                    " (" (h.actor) ")"
                    @if let Some(r) = &h.reason { ". " (r) }
                }
            }
        }
        p { a href="/bookinger" { "Til «Våre bookinger»" } }
    };
    layout(&ctx, &b.title, "", body).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    let b = match managed(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    match state.app.cancel(b.id, &user, None).await {
        Ok(b) => {
            let body = html! {
                h1 { "Bookingen er avbestilt" }
                p role="status" { (b.title) ", " (format_range(b.start, b.end)) ", er avbestilt. Kontaktpersonen får beskjed på e-post." }
                p { a href="/bookinger" { "Til «Våre bookinger»" } }
            };
            layout(&ctx, "Bookingen er avbestilt", "", body).into_response()
        }
        Err(ServiceError::Conflict(e)) => error_page(StatusCode::CONFLICT, "Kan ikke avbestilles", &e.message),
        Err(ServiceError::NotFound | ServiceError::Forbidden) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "cancel page");
            error_page(StatusCode::SERVICE_UNAVAILABLE, "Noe gikk galt", "Prøv igjen om litt.")
        }
    }
}

/// Free slots like `b` for its organisation, now.
async fn alternatives(state: &AppState, b: &Booking) -> Vec<Slot> {
    let slot = Slot {
        start: b.start,
        end: b.end,
    };
    state.app.alternatives(b, slot).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "alternatives");
        vec![]
    })
}

#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    dato: String,
    #[serde(default)]
    fra: String,
    #[serde(default)]
    til: String,
}

fn move_page(ctx: &PageCtx, b: &Booking, f: &MoveForm, errors: &FieldErrors) -> Markup {
    let [dato, fra, til] = [("dato", "Ny dato"), ("fra", "Fra klokken"), ("til", "Til klokken")]
        .map(|(id, label)| Field::new(id, label, errors));
    html! {
        h1 { "Flytt bookingen" }
        p { (b.title) ", nå " (format_range(b.start, b.end)) "." }
        (errors.summary("Bookingen ble ikke flyttet. Rett opp dette:"))
        form method="post" action=(format!("/bookinger/{}/flytt", b.id)) novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            @for e in errors.for_field("skjema") { p.field-error { (e) } }
            (dato.wrap(html! { input type="date" id="dato" name="dato" value=(f.dato) required aria-invalid=[dato.invalid()] aria-describedby=[dato.described()]; }))
            (fra.wrap(html! { input type="time" id="fra" name="fra" value=(f.fra) step="900" required aria-invalid=[fra.invalid()] aria-describedby=[fra.described()]; }))
            (til.wrap(html! { input type="time" id="til" name="til" value=(f.til) step="900" required aria-invalid=[til.invalid()] aria-describedby=[til.described()]; }))
            button type="submit" { "Flytt" }
        }
        p { "En bekreftet booking flyttes bare til en ledig tid. Kontaktpersonen får en oppdatert kalenderinvitasjon." }
        p { a href=(format!("/bookinger/{}", b.id)) { "Tilbake til bookingen" } }
    }
}

/// `/bookinger/{id}/flytt` — the form, with the booking's present time filled in.
async fn move_form(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> Response {
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    let b = match managed(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if !b.status.is_active() || b.end <= state.now() {
        return error_page(
            StatusCode::CONFLICT,
            "Kan ikke flyttes",
            &format!("Bookingen er {} og kan ikke flyttes.", b.status.norwegian()),
        );
    }
    let (start, end) = (crate::domain::time::local(b.start), crate::domain::time::local(b.end));
    let f = MoveForm {
        dato: start.date_naive().to_string(),
        fra: start.format("%H:%M").to_string(),
        til: end.format("%H:%M").to_string(),
        ..Default::default()
    };
    layout(
        &ctx,
        "Flytt bookingen",
        "",
        move_page(&ctx, &b, &f, &FieldErrors::default()),
    )
    .into_response()
}

async fn move_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    client: ClientAddr,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    let b = match managed(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if state.limits.booking_limited(user.id, &client) {
        return too_many("Det er sendt mange bookinger på kort tid.");
    }
    let again = |errors: FieldErrors| {
        let page = layout(&ctx, "Flytt bookingen", "", move_page(&ctx, &b, &f, &errors));
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let slot = match super::booking::parse_slot(&f.dato, &f.fra, &f.til) {
        Ok(slot) => slot,
        Err(errors) => return again(errors),
    };
    // The booking's plan measures must belong to the plan in force on the new day.
    if let Some(a) = &b.activity {
        let problems = a.check(
            &state.app.config().plan,
            crate::domain::time::local(slot.start).date_naive(),
        );
        if !problems.is_empty() {
            let mut errors = FieldErrors::default();
            for e in problems {
                errors.add("dato", e.message);
            }
            return again(errors);
        }
    }
    match state.app.move_booking(b.id, &user, slot).await {
        Ok(service::MoveOutcome::Moved(m)) => {
            let body = html! {
                h1 { "Bookingen er flyttet" }
                p role="status" { (m.title) " er flyttet til " (format_range(m.start, m.end)) ". Status: " (m.status.norwegian()) ". Kontaktpersonen får en oppdatert kalenderinvitasjon." }
                p { a href=(format!("/bookinger/{}", m.id)) { "Se bookingen" } }
            };
            layout(&ctx, "Bookingen er flyttet", "", body).into_response()
        }
        Ok(service::MoveOutcome::Busy {
            protected,
            alternatives,
            ..
        }) => {
            let body = html! {
                h1 { "Rommet er opptatt" }
                p { "Bookingen er ikke flyttet." }
                @if protected { p { "Tiden er booket, og bookingen starter innen beskyttelsesperioden." } }
                @if alternatives.is_empty() {
                    p { "Vi fant ingen ledige tider av samme lengde innenfor bookingvinduet." }
                } @else {
                    p { "Rommet er opptatt. Disse tidene er ledige:" }
                    ul.alternatives aria-label="Ledige alternativer" {
                        @for a in &alternatives {
                            @let (start, end) = (crate::domain::time::local(a.start), crate::domain::time::local(a.end));
                            li {
                                form method="post" action=(format!("/bookinger/{}/flytt", b.id)) {
                                    input type="hidden" name="csrf" value=(ctx.csrf);
                                    input type="hidden" name="dato" value=(start.date_naive().to_string());
                                    input type="hidden" name="fra" value=(start.format("%H:%M").to_string());
                                    input type="hidden" name="til" value=(end.format("%H:%M").to_string());
                                    button type="submit" { "Flytt til " (format_range(a.start, a.end)) }
                                }
                            }
                        }
                    }
                }
                p { a href=(format!("/bookinger/{}/flytt", b.id)) { "Velg en annen tid" } }
            };
            (StatusCode::CONFLICT, layout(&ctx, "Rommet er opptatt", "", body)).into_response()
        }
        Err(ServiceError::Rules(errs)) => {
            let mut errors = FieldErrors::default();
            for e in &errs {
                super::booking::add_domain(&mut errors, e);
            }
            again(errors)
        }
        Err(ServiceError::Conflict(e)) => error_page(StatusCode::CONFLICT, "Kan ikke flyttes", &e.message),
        Err(ServiceError::NotFound | ServiceError::Forbidden) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "move page");
            error_page(StatusCode::SERVICE_UNAVAILABLE, "Noe gikk galt", "Prøv igjen om litt.")
        }
    }
}

/// The activity's table rows, keys shown by their Norwegian names.
fn activity_rows(plan: &crate::domain::plan::Plan, a: &crate::domain::Activity) -> Markup {
    use crate::domain::plan::Vocabulary;
    let names = |list: Vocabulary, keys: &[String]| -> String {
        keys.iter()
            .map(|k| plan.term(list, k).map(|t| t.name.clone()).unwrap_or_else(|| k.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let measures: Vec<String> = a
        .measures
        .iter()
        .map(|k| {
            plan.measure(k)
                .map(|(_, m)| m.name.clone())
                .unwrap_or_else(|| k.clone())
        })
        .collect();
    let expected: Vec<String> = a
        .expected
        .iter()
        .map(|(g, n)| {
            format!(
                "{}: {n}",
                plan.term(Vocabulary::Group, g).map(|t| t.name.as_str()).unwrap_or(g)
            )
        })
        .collect();
    html! {
        tr { th scope="row" { "Aktivitetstype" } td { (names(Vocabulary::Kind, std::slice::from_ref(&a.kind))) } }
        @if !a.themes.is_empty() { tr { th scope="row" { "Tema" } td { (names(Vocabulary::Theme, &a.themes)) } } }
        @if !a.goal_areas.is_empty() { tr { th scope="row" { "Klyngens målområder" } td { (names(Vocabulary::GoalArea, &a.goal_areas)) } } }
        @if !measures.is_empty() { tr { th scope="row" { "Tiltak" } td { ul { @for m in &measures { li { (m) } } } } } }
        @if !expected.is_empty() { tr { th scope="row" { "Forventet antall deltakere" } td { (expected.join(", ")) } } }
    }
}

/// Attendance can be registered once a confirmed event has begun.
fn attendance_due(b: &Booking, now: chrono::DateTime<chrono::Utc>) -> bool {
    b.status == Status::Confirmed && b.start <= now
}

fn attendance_summary(plan: &crate::domain::plan::Plan, a: &crate::domain::Attendance) -> Markup {
    use crate::domain::plan::Vocabulary;
    let total: i64 = a.actual.values().sum();
    html! {
        table {
            tbody {
                @for (g, n) in &a.actual {
                    tr { th scope="row" { (plan.term(Vocabulary::Group, g).map(|t| t.name.as_str()).unwrap_or(g)) } td { (n) } }
                }
                tr { th scope="row" { "Til sammen" } td { (total) } }
                @if let Some(o) = &a.outcome { tr { th scope="row" { "Utbytte og erfaringer" } td { (o) } } }
                tr { th scope="row" { "Registrert" } td { (format_datetime(a.registered_at)) " av " (a.registered_by) } }
            }
        }
    }
}

#[derive(Debug, Default)]
struct AttendanceForm {
    csrf: String,
    counts: std::collections::BTreeMap<String, String>,
    outcome: String,
}

impl AttendanceForm {
    fn from_body(body: &[u8]) -> Self {
        let mut f = AttendanceForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "csrf" => f.csrf = v.into_owned(),
                "utbytte" => f.outcome = v.into_owned(),
                k => {
                    if let Some(g) = k.strip_prefix("faktisk-") {
                        f.counts.insert(g.to_string(), v.into_owned());
                    }
                }
            }
        }
        f
    }

    /// Pre-filled from the registration, or else from the expected numbers.
    fn of(b: &Booking) -> Self {
        let counts = match (&b.attendance, &b.activity) {
            (Some(a), _) => a.actual.iter().map(|(g, n)| (g.clone(), n.to_string())).collect(),
            (None, Some(a)) => a.expected.iter().map(|(g, n)| (g.clone(), n.to_string())).collect(),
            _ => Default::default(),
        };
        AttendanceForm {
            counts,
            outcome: b
                .attendance
                .as_ref()
                .and_then(|a| a.outcome.clone())
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}

fn attendance_page(state: &AppState, ctx: &PageCtx, b: &Booking, f: &AttendanceForm, errors: &FieldErrors) -> Markup {
    let plan = &state.app.config().plan;
    let count_errors = errors.for_field("faktisk");
    html! {
        h1 { "Registrer oppmøte" }
        p { (b.title) ", " (format_range(b.start, b.end)) "." }
        @if let Some(a) = &b.activity {
            @if !a.expected.is_empty() {
                p { "Forventet: " (a.expected.iter().map(|(g, n)| format!("{} {n}", plan.term(crate::domain::plan::Vocabulary::Group, g).map(|t| t.name.as_str()).unwrap_or(g))).collect::<Vec<_>>().join(", ")) "." }
            }
        }
        (errors.summary("Oppmøtet ble ikke lagret. Rett opp dette:"))
        form method="post" action=(format!("/bookinger/{}/oppmote", b.id)) novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            fieldset.choices aria-describedby=[(!count_errors.is_empty()).then_some("faktisk-feil")] {
                legend { "Hvor mange kom fra hver deltakergruppe?" }
                @for e in &count_errors { p.field-error id="faktisk-feil" { (e) } }
                @for g in &plan.groups {
                    div.field.count {
                        label for=(format!("faktisk-{}", g.key)) { (g.name) }
                        input type="number" id=(format!("faktisk-{}", g.key)) name=(format!("faktisk-{}", g.key)) min="0" inputmode="numeric" value=(f.counts.get(&g.key).map(String::as_str).unwrap_or(""));
                    }
                }
            }
            (Field::new("utbytte", "Utbytte og erfaringer (valgfritt, noen linjer)", errors).textarea(&f.outcome, 5))
            button type="submit" { "Lagre oppmøte" }
        }
        p { a href=(format!("/bookinger/{}", b.id)) { "Tilbake til bookingen" } }
    }
}

/// A booking whose attendance `user` may register now, or the page to answer instead.
async fn attendance_booking(state: &AppState, user: &User, id: &str) -> Result<Booking, Response> {
    let b = managed(state, user, id).await?;
    if !attendance_due(&b, state.now()) {
        return Err(error_page(
            StatusCode::CONFLICT,
            "Oppmøte kan ikke registreres",
            "Oppmøte registreres for bekreftede bookinger når arrangementet har begynt.",
        ));
    }
    Ok(b)
}

/// `/bookinger/{id}/oppmote` — who came, and a few lines on the outcome.
async fn attendance_form(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> Response {
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    let b = match attendance_booking(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let f = AttendanceForm::of(&b);
    layout(
        &ctx,
        "Registrer oppmøte",
        "",
        attendance_page(&state, &ctx, &b, &f, &FieldErrors::default()),
    )
    .into_response()
}

async fn attendance_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f = AttendanceForm::from_body(&body);
    if !ctx.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    let Some(user) = ctx.user.clone() else {
        return sign_in_first(&ctx);
    };
    let b = match attendance_booking(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let plan = &state.app.config().plan;
    let mut errors = FieldErrors::default();
    let mut actual = std::collections::BTreeMap::new();
    for (g, n) in &f.counts {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        match n.parse::<i64>() {
            Ok(n) => {
                actual.insert(g.clone(), n);
            }
            Err(_) => errors.add(
                "faktisk",
                format!("Skriv antall deltakere som hele tall fra 0, ikke «{n}»."),
            ),
        }
    }
    // The same checks as for the expected numbers: known groups, whole numbers in range.
    let groups: Vec<String> = actual.keys().cloned().collect();
    let checks = [
        plan.check_keys(crate::domain::plan::Vocabulary::Group, &groups),
        crate::domain::booking::check_counts(&actual, "actual"),
    ];
    for e in checks.into_iter().filter_map(Result::err) {
        errors.add("faktisk", e.message);
    }
    if errors.is_empty() && actual.values().all(|n| *n == 0) {
        errors.add("faktisk", "Skriv hvor mange som kom fra minst én deltakergruppe.");
    }
    let outcome = f.outcome.trim();
    if outcome.chars().count() > 4000 {
        errors.add("utbytte", "Skriv høyst 4000 tegn om utbytte og erfaringer.");
    }
    if !errors.is_empty() {
        let page = layout(
            &ctx,
            "Registrer oppmøte",
            "",
            attendance_page(&state, &ctx, &b, &f, &errors),
        );
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    }
    let attendance = crate::domain::Attendance {
        actual: actual.into_iter().filter(|(_, n)| *n > 0).collect(),
        outcome: (!outcome.is_empty()).then(|| outcome.to_string()),
        registered_at: state.now(),
        registered_by: user.email.clone(),
    };
    match state.app.store().set_attendance(b.id, &attendance).await {
        Ok(b) => {
            tracing::info!(booking = b.id, by = %user.email, "attendance registered");
            let body = html! {
                h1 { "Oppmøtet er registrert" }
                p role="status" { "Takk! Oppmøtet for " (b.title) " er lagret." }
                (attendance_summary(plan, &attendance))
                p { a href="/bookinger" { "Til «Våre bookinger»" } }
            };
            layout(&ctx, "Oppmøtet er registrert", "", body).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "attendance");
            error_page(StatusCode::SERVICE_UNAVAILABLE, "Noe gikk galt", "Prøv igjen om litt.")
        }
    }
}
