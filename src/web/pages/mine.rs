//! «Våre bookinger»: the organisation's bookings, upcoming and past; a booking's page with its
//! history and calendar file; cancelling.

use crate::web::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde::Deserialize;

use super::booking::SlotFields;
use super::counts::{counts_fieldset, parse_counts};
use super::signin::{ClientAddr, EmptyForm};
use super::{layout, CsrfForm, Field, FieldErrors, PageCtx, PageError, PageResult, SignedIn};
use crate::domain::policy::Slot;
use crate::domain::series::Series;
use crate::domain::time::{format_datetime, format_range};
use crate::domain::{view_of, Booking, Status, User, View};
use crate::service::{self, attendance_due, ServiceError};
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/bookinger", list)
        .get("/bookinger/{id}", show)
        .post("/bookinger/{id}/avbestill", cancel)
        .get("/bookinger/{id}/flytt", move_form)
        .post("/bookinger/{id}/flytt", move_submit)
        .get("/bookinger/{id}/oppmote", attendance_form)
        .post("/bookinger/{id}/oppmote", attendance_submit)
}

fn not_found() -> PageError {
    PageError::not_found(
        "Fant ikke bookingen",
        "Bookingen finnes ikke, eller den tilhører en annen virksomhet.",
    )
}

/// A booking page's service answer: «not found» also for someone else's booking.
fn booking_error(e: ServiceError) -> PageError {
    match e {
        ServiceError::NotFound | ServiceError::Forbidden => not_found(),
        e => e.into(),
    }
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse().map_err(|_| not_found())
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
    let title = |b: &Booking| {
        view_of(ctx.user.as_ref(), b)
            .unwrap_or(View::Public)
            .title(b)
            .to_string()
    };
    html! {
        table {
            caption { (caption) }
            thead { tr { th scope="col" { "Tid" } th scope="col" { "Tittel" } th scope="col" { "Status" } th scope="col" { "Kontaktperson" } th scope="col" { span.visually-hidden { "Handlinger" } } } }
            tbody {
                @for b in bookings {
                    tr {
                        td { (format_range(b.start, b.end)) }
                        td { a href=(format!("/bookinger/{}", b.id)) { (title(b)) } }
                        td {
                            (b.status.norwegian())
                            @if b.status == Status::Held { ". " (super::waitlist::held_line(b)) " " a href="/venteliste" { "Svar på ventelisten" } }
                        }
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

/// One line per series: its title (to its page), pattern, next occurrence and how many of its
/// bookings (of those listed) have each status.
fn series_table(series: &[(&Series, Vec<&Booking>)], now: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        div.table-scroll role="region" tabindex="0" aria-label="Serier" {
            table {
                caption { "Serier" }
                thead { tr { th scope="col" { "Serie" } th scope="col" { "Mønster" } th scope="col" { "Neste gang" } th scope="col" { "Gangene" } } }
                tbody {
                    @for (s, bookings) in series {
                        @let next = bookings.iter().find(|b| b.status.is_active() && b.end > now);
                        @let counts = status_counts(bookings);
                        tr {
                            td { a href=(super::series::path(s.id)) { (s.title) } }
                            td { (s.pattern_words()) }
                            td { @match next { Some(b) => { (format_range(b.start, b.end)) } None => { "Ingen flere" } } }
                            td { (counts) }
                        }
                    }
                }
            }
        }
    }
}

/// «3 bekreftet, 1 til behandling»: how many bookings have each status.
fn status_counts(bookings: &[&Booking]) -> String {
    let mut counts: Vec<(Status, usize)> = Vec::new();
    for b in bookings {
        match counts.iter_mut().find(|(s, _)| *s == b.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((b.status, 1)),
        }
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.norwegian()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/bookinger` — «Våre bookinger»: single bookings upcoming and past, and each series on one
/// line.
async fn list(State(state): State<AppState>, ctx: PageCtx, SignedIn(user): SignedIn) -> PageResult {
    let now = state.now();
    let all = state.app.bookings_of_org(&user).await?;
    let mut ids: Vec<i64> = all.iter().filter_map(|b| b.series.map(|s| s.series_id)).collect();
    ids.sort_unstable();
    ids.dedup();
    let known = if ids.is_empty() {
        vec![]
    } else {
        state.app.series_by_ids(&ids).await?
    };
    let grouped = |b: &Booking| b.series.is_some_and(|l| known.iter().any(|s| s.id == l.series_id));
    let series: Vec<(&Series, Vec<&Booking>)> = known
        .iter()
        .map(|s| {
            let of: Vec<&Booking> = all
                .iter()
                .filter(|b| b.series.is_some_and(|l| l.series_id == s.id))
                .collect();
            (s, of)
        })
        .collect();
    let upcoming: Vec<&Booking> = all.iter().filter(|b| b.end > now && !grouped(b)).collect();
    let mut past: Vec<&Booking> = all.iter().filter(|b| b.end <= now && !grouped(b)).collect();
    past.reverse();
    let org = state.app.rules().org_name(&user.org);
    let body = html! {
        h1 { "Våre bookinger" }
        p { (org) }
        p { a.button href="/booking/ny" { "Book Borgertun" } }
        p { a href="/venteliste" { "Venteliste" } ": tidene du venter på, og tider som er holdt for deg." }
        h2 { "Kommende" }
        @if upcoming.is_empty() { p { @if series.is_empty() { "Ingen kommende bookinger." } @else { "Ingen kommende enkeltbookinger." } } } @else { (table(&ctx, &upcoming, now, "Kommende bookinger")) }
        @if !series.is_empty() {
            h2 { "Serier" }
            p { "Hver serie står på én linje. Åpne serien for å se alle gangene, endre eller avbestille." }
            (series_table(&series, now))
        }
        h2 { "Tidligere" }
        @if past.is_empty() { p { "Ingen tidligere bookinger det siste halve året." } } @else { (table(&ctx, &past, now, "Tidligere bookinger")) }
    };
    Ok(layout(&ctx, "Våre bookinger", "/bookinger", body).into_response())
}

/// A booking the signed-in user manages, or the page to answer instead.
async fn managed(state: &AppState, user: &User, id: &str) -> PageResult<Booking> {
    state
        .app
        .managed_booking(user, parse_id(id)?)
        .await
        .map_err(booking_error)
}

/// `/bookinger/{id}` — a booking with its history; `/bookinger/{id}.ics` — its calendar file.
async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    if let Some(id) = id.strip_suffix(".ics") {
        let b = managed(&state, &user, id).await?;
        return crate::web::api::booking_ics(&state, &user, b.id)
            .await
            .map_err(|_| not_found());
    }
    let (b, history) = state
        .app
        .booking_with_history(&user, parse_id(&id)?)
        .await
        .map_err(booking_error)?;
    // The booking's own page shows it in full, to those who may see it so.
    if view_of(Some(&user), &b) != Some(View::Full) {
        return Err(not_found());
    }
    let now = state.now();
    let check_in = state.app.check_in_state(&b);
    let alternatives = if matches!(b.status, Status::Displaced | Status::Rejected) && b.end > now {
        alternatives(&state, &b).await
    } else {
        vec![]
    };
    let body = html! {
        h1 { (b.title) }
        @if let Some(link) = &b.series {
            p.series-link {
                "Del av serien "
                a href=(super::series::path(link.series_id)) { "«" (b.title) "»" }
                ". Her endrer eller avbestiller du bare denne gangen; alle gangene endres på seriens side."
            }
        }
        table {
            tbody {
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Status" } td { (b.status.norwegian()) @if let Some(r) = &b.status_reason { " – Begrunnelse: " (r) } } }
                @if b.status == Status::Held { tr { th scope="row" { "Venteliste" } td { (super::waitlist::held_line(&b)) " " a href="/venteliste" { "Bekreft eller avslå" } } } }
                tr { th scope="row" { "Virksomhet" } td { (state.app.rules().org_name(&b.org)) } }
                tr { th scope="row" { "Kontaktperson" } td { (b.contact_name) " (" (b.contact_email) ")" } }
                tr { th scope="row" { "Antall deltakere" } td { (b.attendees) } }
                tr { th scope="row" { "Vis tittel offentlig" } td { @if b.public { "Ja" } @else { "Nei (vises som «Opptatt»)" } } }
                @if let Some(d) = &b.description { tr { th scope="row" { "Beskrivelse" } td { (d) } } }
                @if let Some(a) = &b.activity { (activity_rows(&state.app.config().plan, a)) }
            }
        }
        (super::checkin::status(&ctx, check_in, Some(&super::checkin::path(b.id)), &b))
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
    Ok(layout(&ctx, &b.title, "", body).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    let b = managed(&state, &user, &id).await?;
    match state.app.cancel(b.id, &user, None).await {
        Ok(b) => {
            let body = html! {
                h1 { "Bookingen er avbestilt" }
                p role="status" { (b.title) ", " (format_range(b.start, b.end)) ", er avbestilt. Kontaktpersonen får beskjed på e-post." }
                p { a href="/bookinger" { "Til «Våre bookinger»" } }
            };
            Ok(layout(&ctx, "Bookingen er avbestilt", "", body).into_response())
        }
        Err(ServiceError::Conflict(e)) => Err(PageError::refused(
            StatusCode::CONFLICT,
            "Kan ikke avbestilles",
            e.message,
        )),
        Err(e) => Err(booking_error(e)),
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

fn move_page(ctx: &PageCtx, b: &Booking, f: &SlotFields, errors: &FieldErrors) -> Markup {
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
async fn move_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let b = managed(&state, &user, &id).await?;
    if !b.status.is_active() || b.end <= state.now() {
        return Err(PageError::refused(
            StatusCode::CONFLICT,
            "Kan ikke flyttes",
            format!("Bookingen er {} og kan ikke flyttes.", b.status.norwegian()),
        ));
    }
    let (start, end) = (crate::domain::time::local(b.start), crate::domain::time::local(b.end));
    let f = SlotFields {
        dato: start.date_naive().to_string(),
        fra: start.format("%H:%M").to_string(),
        til: end.format("%H:%M").to_string(),
    };
    Ok(layout(
        &ctx,
        "Flytt bookingen",
        "",
        move_page(&ctx, &b, &f, &FieldErrors::default()),
    )
    .into_response())
}

async fn move_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    client: ClientAddr,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<SlotFields>,
) -> PageResult {
    let b = managed(&state, &user, &id).await?;
    if state.limits.booking_limited(user.id, &client) {
        return Err(PageError::too_many("Det er sendt mange bookinger på kort tid."));
    }
    let again = |errors: FieldErrors| {
        let page = layout(&ctx, "Flytt bookingen", "", move_page(&ctx, &b, &f, &errors));
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let slot = match super::booking::parse_slot(&f.dato, &f.fra, &f.til) {
        Ok(slot) => slot,
        Err(errors) => return again(errors),
    };
    match state.app.move_booking(b.id, &user, slot).await {
        Ok(service::MoveOutcome::Moved(m)) => {
            let body = html! {
                h1 { "Bookingen er flyttet" }
                p role="status" { (m.title) " er flyttet til " (format_range(m.start, m.end)) ". Status: " (m.status.norwegian()) ". Kontaktpersonen får en oppdatert kalenderinvitasjon." }
                p { a href=(format!("/bookinger/{}", m.id)) { "Se bookingen" } }
            };
            Ok(layout(&ctx, "Bookingen er flyttet", "", body).into_response())
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
            Ok((StatusCode::CONFLICT, layout(&ctx, "Rommet er opptatt", "", body)).into_response())
        }
        Err(ServiceError::Rules(errs)) => {
            let mut errors = FieldErrors::default();
            for e in &errs {
                match e.field {
                    // The form has only the time: what the booking is used for (its plan
                    // measures, themes …) not fitting the plan of the new day is about the day.
                    Some("kind" | "themes" | "goal_areas" | "measures" | "expected") => {
                        errors.add("dato", e.message.clone())
                    }
                    _ => super::booking::add_domain(&mut errors, e),
                }
            }
            again(errors)
        }
        Err(ServiceError::Conflict(e)) => Err(PageError::refused(StatusCode::CONFLICT, "Kan ikke flyttes", e.message)),
        Err(e) => Err(booking_error(e)),
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

#[derive(Debug, Default, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
struct AttendanceForm {
    counts: std::collections::BTreeMap<String, String>,
    outcome: String,
}

impl From<Vec<(String, String)>> for AttendanceForm {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let mut f = AttendanceForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "utbytte" => f.outcome = v,
                k => {
                    if let Some(g) = k.strip_prefix("faktisk-") {
                        f.counts.insert(g.to_string(), v);
                    }
                }
            }
        }
        f
    }
}

impl AttendanceForm {
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
        }
    }
}

fn attendance_page(state: &AppState, ctx: &PageCtx, b: &Booking, f: &AttendanceForm, errors: &FieldErrors) -> Markup {
    let plan = &state.app.config().plan;
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
            (counts_fieldset("faktisk", "Hvor mange kom fra hver deltakergruppe?", &plan.groups, &f.counts, errors))
            (Field::new("utbytte", "Utbytte og erfaringer (valgfritt, noen linjer)", errors).textarea(&f.outcome, 5))
            button type="submit" { "Lagre oppmøte" }
        }
        p { a href=(format!("/bookinger/{}", b.id)) { "Tilbake til bookingen" } }
    }
}

/// A booking whose attendance `user` may register now, or the page to answer instead.
async fn attendance_booking(state: &AppState, user: &User, id: &str) -> PageResult<Booking> {
    match state.app.attendance_booking(user, parse_id(id)?).await {
        Ok(b) => Ok(b),
        Err(ServiceError::Conflict(e)) => Err(PageError::refused(
            StatusCode::CONFLICT,
            "Oppmøte kan ikke registreres",
            e.message,
        )),
        Err(e) => Err(booking_error(e)),
    }
}

/// `/bookinger/{id}/oppmote` — who came, and a few lines on the outcome.
async fn attendance_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let b = attendance_booking(&state, &user, &id).await?;
    let f = AttendanceForm::of(&b);
    Ok(layout(
        &ctx,
        "Registrer oppmøte",
        "",
        attendance_page(&state, &ctx, &b, &f, &FieldErrors::default()),
    )
    .into_response())
}

async fn attendance_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<AttendanceForm>,
) -> PageResult {
    let b = attendance_booking(&state, &user, &id).await?;
    let plan = &state.app.config().plan;
    let mut errors = FieldErrors::default();
    let actual = parse_counts(&f.counts, "faktisk", "hele tall fra 0", &mut errors);
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
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let outcome = (!outcome.is_empty()).then(|| outcome.to_string());
    let (b, attendance) = match state.app.register_attendance(&user, b.id, actual, outcome).await {
        Ok(x) => x,
        Err(e @ ServiceError::Store(_)) => return Err(e.into()),
        Err(e) => return Err(booking_error(e)),
    };
    let body = html! {
        h1 { "Oppmøtet er registrert" }
        p role="status" { "Takk! Oppmøtet for " (b.title) " er lagret." }
        (attendance_summary(plan, &attendance))
        p { a href="/bookinger" { "Til «Våre bookinger»" } }
    };
    Ok(layout(&ctx, "Oppmøtet er registrert", "", body).into_response())
}
