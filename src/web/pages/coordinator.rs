//! The coordinator's pages: the queue of pending requests and conflicts (both sides side by
//! side, approve / displace / override / reject with a reason), all bookings with filters,
//! users and access requests, and the organisations and tiers as configured.
//!
//! Every handler checks the role on the server. Decisions recorded here:
//! - a coordinator sets roles up to coordinator; only an administrator makes or changes an
//!   administrator; nobody changes their own role (so the last coordinator cannot lock
//!   themselves out by mistake);
//! - a coordinator disables and enables accounts (an administrator's only an administrator);
//!   nobody disables their own account, and the last enabled administrator stays (see
//!   `service::users`);
//! - the organisations and tiers are shown as configured: they change in `config/`, where
//!   `borgertun check-config` validates them, not on a page.

use crate::web::routes::Routes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::ServiceResultExt;
use super::{layout, Coordinator, CsrfForm, Field, FieldErrors, PageCtx, PageError, PageResult};
use crate::domain::booking::parse_reason;
use crate::domain::series::Series;
use crate::domain::time::{format_date, format_datetime, format_range, local, start_of_day};
use crate::domain::{Booking, DomainError, Role, Status, User};
use crate::service::{AccessOutcome, ConflictCase, FairnessLine, ServiceError, EXISTS_REASON};
use crate::web::AppState;

pub const PATH: &str = "/koordinator";

pub fn routes() -> Routes {
    Routes::new()
        .get(PATH, queue)
        .get("/koordinator/bookinger", all_bookings)
        .post("/koordinator/bookinger/{id}", decide)
        .post("/koordinator/serier/{id}", decide_series)
        .get("/koordinator/brukere", users)
        .post("/koordinator/brukere/{id}", update_user)
        .post("/koordinator/brukere/{id}/deaktiver", disable_user)
        .post("/koordinator/brukere/{id}/aktiver", enable_user)
        .post("/koordinator/tilgang/{id}", decide_access)
        .get("/koordinator/virksomheter", organisations)
        .get("/koordinator/oppmote", missing_attendance)
}

const SUBNAV: [(&str, &str); 5] = [
    (PATH, "Til behandling"),
    ("/koordinator/bookinger", "Alle bookinger"),
    ("/koordinator/oppmote", "Mangler oppmøte"),
    ("/koordinator/brukere", "Brukere og tilgang"),
    ("/koordinator/virksomheter", "Virksomheter og prioritetsgrupper"),
];

/// The coordinator's pages, with their own menu.
fn page(ctx: &PageCtx, current: &str, title: &str, body: Markup) -> Markup {
    let content = html! {
        nav.sub aria-label="Koordinator" {
            ul {
                @for (href, text) in SUBNAV {
                    li { @if href == current { a href=(href) aria-current="page" { (text) } } @else { a href=(href) { (text) } } }
                }
            }
        }
        (body)
    };
    layout(ctx, title, PATH, content)
}

/// What the coordinator's pages answer when the service is unavailable.
const NOTHING_CHANGED: &str = "Prøv igjen om litt. Ingenting er endret.";

fn org_name<'a>(state: &'a AppState, org: &'a str) -> &'a str {
    state.app.rules().org_name(org)
}

fn tier_name<'a>(state: &'a AppState, org: &str) -> &'a str {
    state
        .app
        .config()
        .rules
        .tier_of_org(org)
        .map(|t| t.name.as_str())
        .unwrap_or("ukjent")
}

/// Which case's reason field an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaseKey {
    /// One request (a booking id).
    Request(i64),
    /// The pending occurrences of a series, decided together (a series id).
    Series(i64),
}

/// An error to show next to one case's reason field.
struct CaseError {
    key: CaseKey,
    errors: FieldErrors,
}

/// One request and what it competes with, side by side, with its decision. `nested`: inside a
/// series' case (its heading one level down).
fn case_section(
    state: &AppState,
    ctx: &PageCtx,
    case: &ConflictCase,
    error: Option<&CaseError>,
    nested: bool,
) -> Markup {
    let now = state.now();
    let window = state.app.config().rules.protection_window_days;
    let r = &case.request;
    let columns: Vec<&Booking> = std::iter::once(r).chain(case.others.iter()).collect();
    let confirmed_others = case.others.iter().filter(|o| o.status == Status::Confirmed).count();
    let empty = FieldErrors::default();
    let errors = error
        .filter(|e| e.key == CaseKey::Request(r.id))
        .map(|e| &e.errors)
        .unwrap_or(&empty);
    let reason_id = format!("begrunnelse-{}", r.id);
    html! {
        section.case aria-labelledby=(format!("sak-{}", r.id)) {
            @if nested {
                h3 id=(format!("sak-{}", r.id)) { (r.title) ", " (format_range(r.start, r.end)) }
            } @else {
                h2 id=(format!("sak-{}", r.id)) { (r.title) }
            }
            @if case.others.is_empty() {
                p { "Forespørsel uten konflikt: prioritetsgruppen får ikke bekreftet automatisk." }
            } @else {
                p { "Konflikt med " (case.others.len()) @if case.others.len() == 1 { " annen booking." } @else { " andre bookinger." } }
            }
            div.table-scroll role="region" tabindex="0" aria-label=(format!("Forespørselen og det den konkurrerer med: {}", r.title)) {
                table.side-by-side {
                    caption { "Forespørselen og det den konkurrerer med" }
                    thead {
                        tr {
                            td {}
                            th scope="col" { "Forespørselen" }
                            @for o in &case.others { th scope="col" { @if o.status == Status::Confirmed { "Bekreftet booking" } @else { "Annen forespørsel" } } }
                        }
                    }
                    tbody {
                        tr { th scope="row" { "Prioritetsgruppe" } @for b in &columns { td { (tier_name(state, &b.org)) } } }
                        tr { th scope="row" { "Virksomhet" } @for b in &columns { td { (org_name(state, &b.org)) } } }
                        tr { th scope="row" { "Tittel" } @for b in &columns { td { a href=(format!("/bookinger/{}", b.id)) { (b.title) } } } }
                        tr { th scope="row" { "Antall deltakere" } @for b in &columns { td { (b.attendees) } } }
                        tr { th scope="row" { "Tid" } @for b in &columns { td { (format_range(b.start, b.end)) } } }
                        tr { th scope="row" { "Status" } @for b in &columns { td { (b.status.norwegian()) } } }
                        tr { th scope="row" { "Forespurt" } @for b in &columns { td { (format_datetime(b.created_at)) } } }
                        tr { th scope="row" { "Kontaktperson" } @for b in &columns { td { (b.contact_name) } } }
                        tr {
                            th scope="row" { "Beskyttelsesperiode" }
                            @for b in &columns {
                                td {
                                    @if case.protected.contains(&b.id) {
                                        strong { "Fast" } ": starter innen " (window) " dager"
                                    } @else if b.start - Duration::days(window) > now {
                                        "Blir fast " (format_date(local(b.start - Duration::days(window)).date_naive()))
                                    } @else {
                                        "Innenfor " (window) " dager"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (fairness_list(case.fairness.iter()))
            @if case.approvable && case.suggest_approve {
                p { "Forslaget etter prioriteringsreglene: godkjenn forespørselen." }
            } @else if case.approvable {
                p { "Forslaget etter prioriteringsreglene: en annen forespørsel har høyere prioritet, har vært flyttet flere timer siste 12 måneder, eller kom først." }
            } @else if !case.protected.is_empty() {
                p { "En booking i konflikten er fast (beskyttelsesperioden). Bare overstyring med begrunnelse kan trekke den tilbake." }
            } @else {
                p { "Den bekreftede bookingen har samme eller høyere prioritet. Bare overstyring med begrunnelse kan trekke den tilbake." }
            }
            form method="post" action=(format!("/koordinator/bookinger/{}", r.id)) novalidate {
                input type="hidden" name="csrf" value=(ctx.csrf);
                (reason_field(&reason_id, "Begrunnelse", "Kreves når du avslår eller overstyrer. Sendes til kontaktpersonene.", errors))
                div.actions {
                    @if case.approvable {
                        @if confirmed_others > 0 {
                            button type="submit" name="handling" value="godkjenn" { "Godkjenn og trekk tilbake" }
                        } @else {
                            button type="submit" name="handling" value="godkjenn" { "Godkjenn" }
                        }
                    } @else if r.start > now {
                        button type="submit" name="handling" value="overstyr" { "Overstyr" }
                    }
                    button.secondary type="submit" name="handling" value="avslaa" { "Avslå" }
                }
            }
        }
    }
}

/// The fairness ledger of the organisations in a case (each once): «UiB er flyttet 3 ganger,
/// 7 timer, siste 12 måneder».
fn fairness_list<'a>(lines: impl Iterator<Item = &'a FairnessLine>) -> Markup {
    let mut seen: Vec<&str> = Vec::new();
    let lines: Vec<&FairnessLine> = lines
        .filter(|f| {
            let new = !seen.contains(&f.org.as_str());
            seen.push(&f.org);
            new
        })
        .collect();
    html! {
        @if !lines.is_empty() {
            div.fairness {
                p { "Trukket tilbake og avslått i konflikt:" }
                ul { @for f in &lines { li { (f.text) } } }
            }
        }
    }
}

/// What the queue lists: a single request, or the pending occurrences of one series.
enum Item<'a> {
    Single(&'a ConflictCase),
    Series(&'a Series, Vec<&'a ConflictCase>),
}

/// The cases in their order (the one that starts first on top), each series' occurrences
/// gathered where its first one is.
fn items<'a>(cases: &'a [ConflictCase], series: &'a [Series]) -> Vec<Item<'a>> {
    let mut out: Vec<Item<'a>> = Vec::new();
    for case in cases {
        let of = case
            .request
            .series
            .and_then(|l| series.iter().find(|s| s.id == l.series_id));
        match of {
            None => out.push(Item::Single(case)),
            Some(s) => match out.iter_mut().find(|i| matches!(i, Item::Series(x, _) if x.id == s.id)) {
                Some(Item::Series(_, list)) => list.push(case),
                _ => out.push(Item::Series(s, vec![case])),
            },
        }
    }
    out
}

/// A series' pending occurrences as one case: each beside what it collides with, «Godkjenn
/// alle» and «Avslå alle» with one reason, and each occurrence's own decision below.
fn series_section(
    state: &AppState,
    ctx: &PageCtx,
    s: &Series,
    cases: &[&ConflictCase],
    error: Option<&CaseError>,
) -> Markup {
    let window = state.app.config().rules.protection_window_days;
    let empty = FieldErrors::default();
    let errors = error
        .filter(|e| e.key == CaseKey::Series(s.id))
        .map(|e| &e.errors)
        .unwrap_or(&empty);
    let reason_id = format!("begrunnelse-serie-{}", s.id);
    let one_open = error.is_some_and(|e| cases.iter().any(|c| e.key == CaseKey::Request(c.request.id)));
    html! {
        section.case aria-labelledby=(format!("serie-{}", s.id)) {
            h2 id=(format!("serie-{}", s.id)) { "Serie: " (s.title) }
            p {
                (org_name(state, &s.org)) " (" (tier_name(state, &s.org)) "), " (s.pattern_words()) ". "
                (cases.len()) @if cases.len() == 1 { " gang venter" } @else { " ganger venter" } " på behandling. "
                a href=(super::series::path(s.id)) { "Se hele serien" }
            }
            div.table-scroll role="region" tabindex="0" aria-label=(format!("Gangene som venter, og det de kolliderer med: {}", s.title)) {
                table {
                    caption { "Gangene som venter, og det hver av dem kolliderer med" }
                    thead { tr { th scope="col" { "Gang" } th scope="col" { "Kolliderer med" } th scope="col" { "Beskyttelsesperiode" } th scope="col" { "Forslag" } } }
                    tbody {
                        @for c in cases {
                            @let r = &c.request;
                            tr {
                                th scope="row" { a href=(format!("/bookinger/{}", r.id)) { (format_range(r.start, r.end)) } }
                                td {
                                    @if c.others.is_empty() {
                                        "Ingen annen booking (prioritetsgruppen får ikke bekreftet automatisk)"
                                    } @else {
                                        ul {
                                            @for o in &c.others {
                                                li {
                                                    a href=(format!("/bookinger/{}", o.id)) { (o.title) }
                                                    " (" (org_name(state, &o.org)) ", " (tier_name(state, &o.org)) "), "
                                                    (format_range(o.start, o.end)) ", " (o.status.norwegian())
                                                }
                                            }
                                        }
                                    }
                                }
                                td {
                                    @if c.protected.is_empty() { "Ingen faste bookinger" } @else { strong { "Fast" } ": en booking starter innen " (window) " dager" }
                                }
                                td {
                                    @if c.approvable && c.suggest_approve { "Godkjenn" }
                                    @else if c.approvable { "En annen forespørsel har høyere prioritet eller kom først" }
                                    @else { "Bare overstyring kan trekke den andre bookingen tilbake" }
                                }
                            }
                        }
                    }
                }
            }
            (fairness_list(cases.iter().flat_map(|c| c.fairness.iter())))
            form method="post" action=(format!("/koordinator/serier/{}", s.id)) novalidate {
                input type="hidden" name="csrf" value=(ctx.csrf);
                (reason_field(&reason_id, "Begrunnelse for hele serien", "Kreves når du avslår. Sendes til kontaktpersonene. Hver gang avgjøres som en enkelt forespørsel ville blitt.", errors))
                div.actions {
                    button type="submit" name="handling" value="godkjenn" { "Godkjenn alle" span.visually-hidden { " i serien " (s.title) } }
                    button.secondary type="submit" name="handling" value="avslaa" { "Avslå alle" span.visually-hidden { " i serien " (s.title) } }
                }
            }
            details.cases open[one_open] {
                summary { "Avgjør gangene hver for seg" }
                @for c in cases { (case_section(state, ctx, c, error, true)) }
            }
        }
    }
}

async fn queue_page(state: &AppState, ctx: &PageCtx, error: Option<CaseError>) -> PageResult {
    let cases = state.app.conflicts().await.unavailable(NOTHING_CHANGED)?;
    let mut ids: Vec<i64> = cases
        .iter()
        .filter_map(|c| c.request.series.map(|l| l.series_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let series = if ids.is_empty() {
        vec![]
    } else {
        state.app.series_by_ids(&ids).await.unavailable(NOTHING_CHANGED)?
    };
    let items = items(&cases, &series);
    let open_access = state.app.open_access_requests().await.unwrap_or(0);
    let body = html! {
        h1 { "Til behandling" }
        @if let Some(e) = &error { (e.errors.summary("Ingenting er endret. Rett opp dette:")) }
        @if open_access > 0 {
            p { a href="/koordinator/brukere" { (open_access) " forespørsler om tilgang venter" } "." }
        }
        @if cases.is_empty() {
            p { "Ingen forespørsler venter på behandling." }
        } @else {
            p {
                (cases.len()) @if cases.len() == 1 { " forespørsel venter" } @else { " forespørsler venter" }
                @if items.len() != cases.len() {
                    @if items.len() == 1 { " i 1 sak" } @else { " i " (items.len()) " saker" }
                }
                ", den som starter først øverst. En serie er én sak."
            }
            @for item in &items {
                @match item {
                    Item::Single(case) => { (case_section(state, ctx, case, error.as_ref(), false)) }
                    Item::Series(s, list) => { (series_section(state, ctx, s, list, error.as_ref())) }
                }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, page(ctx, PATH, "Til behandling", body)).into_response())
}

/// `/koordinator` — the queue.
async fn queue(State(state): State<AppState>, ctx: PageCtx, _: Coordinator) -> PageResult {
    queue_page(&state, &ctx, None).await
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    handling: String,
    #[serde(default)]
    begrunnelse: String,
}

async fn decide(
    State(state): State<AppState>,
    ctx: PageCtx,
    Coordinator(user): Coordinator,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<DecideForm>,
) -> PageResult {
    let not_found = || PageError::not_found("Fant ikke forespørselen", "Forespørselen finnes ikke.");
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found());
    };
    let required = match f.handling.as_str() {
        "avslaa" => Some("Skriv en begrunnelse når du avslår."),
        "overstyr" => Some("Skriv en begrunnelse når du overstyrer."),
        _ => None,
    };
    let reason = match parse_reason(Some(&f.begrunnelse), required) {
        Ok(r) => r,
        Err(e) => return reason_refused(&state, &ctx, CaseKey::Request(id), vec![e]).await,
    };
    let reason = reason.as_deref();
    let result = match f.handling.as_str() {
        "godkjenn" | "overstyr" => state.app.approve(id, &user, reason, f.handling == "overstyr")
            .await
            .map(|a| {
                html! {
                    h1 { "Forespørselen er godkjent" }
                    p role="status" { (a.booking.title) " (" (org_name(&state, &a.booking.org)) "), " (format_range(a.booking.start, a.booking.end)) ", er bekreftet. Kontaktpersonen får en kalenderinvitasjon." }
                    @if !a.displaced.is_empty() {
                        p { "Disse bookingene er trukket tilbake. Kontaktpersonene har fått beskjed med begrunnelsen og ledige alternativer:" }
                        ul { @for (d, _) in &a.displaced { li { a href=(format!("/bookinger/{}", d.id)) { (d.title) } " (" (org_name(&state, &d.org)) "), " (format_range(d.start, d.end)) } } }
                    }
                    p { a href=(PATH) { "Tilbake til «Til behandling»" } }
                }
            }),
        "avslaa" => state.app.reject(id, &user, reason.unwrap_or_default())
            .await
            .map(|(b, _)| {
                html! {
                    h1 { "Forespørselen er avslått" }
                    p role="status" { (b.title) " (" (org_name(&state, &b.org)) ") er avslått. Kontaktpersonen har fått begrunnelsen og ledige alternativer." }
                    p { a href=(PATH) { "Tilbake til «Til behandling»" } }
                }
            }),
        _ => {
            return Err(PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Velg en handling",
                "Velg godkjenn, overstyr eller avslå. Ingenting er endret.",
            ))
        }
    };
    match result {
        Ok(body) => {
            let title = if f.handling == "avslaa" {
                "Forespørselen er avslått"
            } else {
                "Forespørselen er godkjent"
            };
            Ok(page(&ctx, PATH, title, body).into_response())
        }
        Err(ServiceError::Conflict(e)) => reason_refused(&state, &ctx, CaseKey::Request(id), vec![e]).await,
        Err(ServiceError::Rules(errs)) => reason_refused(&state, &ctx, CaseKey::Request(id), errs).await,
        Err(ServiceError::NotFound) => Err(not_found()),
        Err(ServiceError::Forbidden) => Err(PageError::forbidden("Denne siden er for koordinator.")),
        Err(e) => Err(e).unavailable(NOTHING_CHANGED),
    }
}

/// The queue again, with `errs` next to the reason field of case `key`.
async fn reason_refused(state: &AppState, ctx: &PageCtx, key: CaseKey, errs: Vec<DomainError>) -> PageResult {
    let mut errors = FieldErrors::default();
    for e in errs {
        errors.add("begrunnelse", e.message);
    }
    queue_page(state, ctx, Some(CaseError { key, errors })).await
}

/// «Godkjenn alle» / «Avslå alle»: every pending occurrence of series `id`, each decided as
/// its own request would be.
async fn decide_series(
    State(state): State<AppState>,
    ctx: PageCtx,
    Coordinator(user): Coordinator,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<DecideForm>,
) -> PageResult {
    let not_found = || PageError::not_found("Fant ikke serien", "Serien finnes ikke.");
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found());
    };
    let key = CaseKey::Series(id);
    let approve = match f.handling.as_str() {
        "godkjenn" => true,
        "avslaa" => false,
        _ => {
            return Err(PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Velg en handling",
                "Velg «Godkjenn alle» eller «Avslå alle». Ingenting er endret.",
            ))
        }
    };
    let required = (!approve).then_some("Skriv en begrunnelse når du avslår.");
    let reason = match parse_reason(Some(&f.begrunnelse), required) {
        Ok(r) => r,
        Err(e) => return reason_refused(&state, &ctx, key, vec![e]).await,
    };
    let results = match state.app.decide_series(id, &user, approve, reason.as_deref()).await {
        Ok(r) => r,
        Err(ServiceError::Rules(errs)) => return reason_refused(&state, &ctx, key, errs).await,
        Err(ServiceError::Conflict(e)) => return reason_refused(&state, &ctx, key, vec![e]).await,
        Err(ServiceError::NotFound) => return Err(not_found()),
        Err(ServiceError::Forbidden) => return Err(PageError::forbidden("Denne siden er for koordinator.")),
        Err(e) => return Err(e).unavailable(NOTHING_CHANGED),
    };
    let done = results.iter().filter(|(_, r)| r.is_ok()).count();
    let title = if approve {
        "Serien er godkjent"
    } else {
        "Serien er avslått"
    };
    let body = html! {
        h1 { (title) }
        p role="status" {
            @if approve {
                (done) " av " (results.len()) " ganger er bekreftet. Kontaktpersonen får en oppdatert kalenderinvitasjon, og bookinger som er trukket tilbake, har fått beskjed med begrunnelsen og ledige alternativer."
            } @else {
                (done) " av " (results.len()) " ganger er avslått. Kontaktpersonen har fått begrunnelsen og ledige alternativer."
            }
        }
        @if done < results.len() {
            p { "Disse gangene kunne ikke avgjøres sammen med de andre, og venter fortsatt:" }
            ul {
                @for (b, r) in &results {
                    @if let Err(e) = r {
                        li {
                            a href=(format!("/bookinger/{b}")) { "Booking " (b) } ": "
                            @match e {
                                ServiceError::Conflict(d) => { (d.message) }
                                ServiceError::Rules(ds) => { (ds.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join(" ")) }
                                _ => { "kunne ikke avgjøres nå. Prøv igjen om litt." }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(super::series::path(id)) { "Se serien" } }
        p { a href=(PATH) { "Tilbake til «Til behandling»" } }
    };
    Ok(page(&ctx, PATH, title, body).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    #[serde(default)]
    fra: String,
    #[serde(default)]
    til: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    virksomhet: String,
}

const STATUSES: [Status; 5] = [
    Status::Pending,
    Status::Confirmed,
    Status::Rejected,
    Status::Cancelled,
    Status::Displaced,
];

/// `/koordinator/bookinger` — every booking in a period, by status and organisation.
async fn all_bookings(
    State(state): State<AppState>,
    ctx: PageCtx,
    _: Coordinator,
    Query(f): Query<Filters>,
) -> PageResult {
    let rules = &state.app.config().rules;
    let today = local(state.now()).date_naive();
    let mut errors = FieldErrors::default();
    let mut date = |s: &str, field: &'static str, default: NaiveDate| {
        if s.trim().is_empty() {
            return default;
        }
        crate::domain::time::parse_day(s).unwrap_or_else(|| {
            errors.add(field, crate::domain::time::day_hint());
            default
        })
    };
    let from = date(&f.fra, "fra", today);
    let to = date(&f.til, "til", today + Duration::days(90));
    if to < from {
        errors.add("til", "Til-datoen kan ikke være før fra-datoen.");
    }
    if (to - from).num_days() > 366 * 2 {
        errors.add("til", "Velg en periode på høyst to år.");
    }
    let status = match f.status.as_str() {
        "" => None,
        s => match Status::parse(s) {
            Ok(st) => Some(st),
            Err(_) => {
                errors.add("status", "Ukjent status.");
                None
            }
        },
    };
    let org = match f.virksomhet.as_str() {
        "" => None,
        o if rules.organisation(o).is_some() => Some(o.to_string()),
        _ => {
            errors.add("virksomhet", "Ukjent virksomhet.");
            None
        }
    };
    let bookings = if errors.is_empty() {
        state
            .app
            .bookings_filtered(start_of_day(from), start_of_day(to + Duration::days(1)), status, org)
            .await
            .unavailable(NOTHING_CHANGED)?
    } else {
        vec![]
    };
    let [fra, til, status_field, org_field] = [
        ("fra", "Fra dato"),
        ("til", "Til dato"),
        ("status", "Status"),
        ("virksomhet", "Virksomhet"),
    ]
    .map(|(id, label)| Field::new(id, label, &errors));
    let body = html! {
        h1 { "Alle bookinger" }
        (errors.summary("Filteret er ugyldig. Rett opp dette:"))
        form.filters method="get" action="/koordinator/bookinger" {
            (fra.wrap(html! { input type="date" id="fra" name="fra" value=(from) aria-invalid=[fra.invalid()] aria-describedby=[fra.described()]; }))
            (til.wrap(html! { input type="date" id="til" name="til" value=(to) aria-invalid=[til.invalid()] aria-describedby=[til.described()]; }))
            (status_field.wrap(html! {
                select id="status" name="status" aria-invalid=[status_field.invalid()] aria-describedby=[status_field.described()] {
                    option value="" selected[f.status.is_empty()] { "Alle" }
                    @for s in STATUSES { option value=(s.as_str()) selected[f.status == s.as_str()] { (s.norwegian()) } }
                }
            }))
            (org_field.wrap(html! {
                select id="virksomhet" name="virksomhet" aria-invalid=[org_field.invalid()] aria-describedby=[org_field.described()] {
                    option value="" selected[f.virksomhet.is_empty()] { "Alle" }
                    @for o in &rules.organisations { option value=(o.key) selected[f.virksomhet == o.key] { (o.name) } }
                }
            }))
            button type="submit" { "Vis" }
        }
        @if errors.is_empty() {
            p role="status" { (bookings.len()) " bookinger fra " (format_date(from)) " til " (format_date(to)) "." }
            @if !bookings.is_empty() {
                div.table-scroll role="region" tabindex="0" aria-label="Bookinger" {
                    table {
                        caption { "Bookinger" }
                        thead { tr { th scope="col" { "Tid" } th scope="col" { "Tittel" } th scope="col" { "Virksomhet" } th scope="col" { "Prioritetsgruppe" } th scope="col" { "Status" } th scope="col" { "Kontaktperson" } th scope="col" { "Antall deltakere" } } }
                        tbody {
                            @for b in &bookings {
                                tr {
                                    td { (format_range(b.start, b.end)) }
                                    td { a href=(format!("/bookinger/{}", b.id)) { (b.title) } }
                                    td { (org_name(&state, &b.org)) }
                                    td { (tier_name(&state, &b.org)) }
                                    td { (b.status.norwegian()) }
                                    td { (b.contact_name) }
                                    td { (b.attendees) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((code, page(&ctx, "/koordinator/bookinger", "Alle bookinger", body)).into_response())
}

const ROLES: [(Role, &str); 4] = [
    (Role::Requester, "bruker"),
    (Role::Staff, "ansatt i BEHO"),
    (Role::Coordinator, "koordinator"),
    (Role::Admin, "administrator"),
];

fn role_name(role: Role) -> &'static str {
    ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, n)| *n)
        .unwrap_or("ukjent")
}

/// The roles `actor` may give.
fn grantable(actor: &User) -> impl Iterator<Item = (Role, &'static str)> + '_ {
    ROLES
        .into_iter()
        .filter(move |(r, _)| *r != Role::Admin || actor.role == Role::Admin)
}

fn org_select(state: &AppState, id: &str, selected: &str) -> Markup {
    html! {
        select id=(id) name="virksomhet" {
            @if selected.is_empty() { option value="" selected { "Velg virksomhet" } }
            @for o in &state.app.config().rules.organisations { option value=(o.key) selected[selected == o.key] { (o.name) } }
        }
    }
}

fn role_select(actor: &User, id: &str, selected: Role) -> Markup {
    html! {
        select id=(id) name="rolle" {
            @for (r, name) in grantable(actor) { option value=(r.as_str()) selected[selected == r] { (name) } }
        }
    }
}

/// `/koordinator/brukere` — access requests and users.
async fn users(State(state): State<AppState>, ctx: PageCtx, Coordinator(me): Coordinator) -> PageResult {
    users_page(&state, &ctx, &me, None, StatusCode::OK).await
}

async fn users_page(
    state: &AppState,
    ctx: &PageCtx,
    me: &User,
    notice: Option<Markup>,
    status: StatusCode,
) -> PageResult {
    let accounts = state.app.accounts().await.unavailable(NOTHING_CHANGED)?;
    let requests = state.app.access_requests().await.unavailable(NOTHING_CHANGED)?;
    let (open, decided): (Vec<_>, Vec<_>) = requests.iter().partition(|r| r.decided_at.is_none());
    let body = html! {
        h1 { "Brukere og tilgang" }
        @if let Some(n) = notice { (n) }
        h2 { "Forespørsler om tilgang" }
        @if open.is_empty() {
            p { "Ingen forespørsler om tilgang venter." }
        }
        @for r in &open {
            section.case aria-labelledby=(format!("tilgang-{}", r.id)) {
                h3 id=(format!("tilgang-{}", r.id)) { (r.name) }
                table {
                    tbody {
                        tr { th scope="row" { "E-post" } td { (r.email) } }
                        tr { th scope="row" { "Oppgitt virksomhet" } td { (r.org_text) } }
                        @if let Some(m) = &r.message { tr { th scope="row" { "Melding" } td { (m) } } }
                        tr { th scope="row" { "Sendt" } td { (format_datetime(r.created_at)) } }
                    }
                }
                form method="post" action=(format!("/koordinator/tilgang/{}", r.id)) {
                    input type="hidden" name="csrf" value=(ctx.csrf);
                    div.field { label for=(format!("virksomhet-t{}", r.id)) { "Virksomhet" } (org_select(state, &format!("virksomhet-t{}", r.id), "")) }
                    div.field { label for=(format!("rolle-t{}", r.id)) { "Rolle" } (role_select(me, &format!("rolle-t{}", r.id), Role::Requester)) }
                    div.field {
                        label for=(format!("begrunnelse-t{}", r.id)) { "Begrunnelse (kreves ved avslag)" }
                        textarea id=(format!("begrunnelse-t{}", r.id)) name="begrunnelse" rows="2" {}
                    }
                    div.actions {
                        button type="submit" name="handling" value="gi" { "Gi tilgang" span.visually-hidden { " til " (r.name) } }
                        button.secondary type="submit" name="handling" value="avslaa" { "Avslå" span.visually-hidden { " " (r.name) } }
                    }
                }
            }
        }
        h2 { "Brukere" }
        div.table-scroll role="region" tabindex="0" aria-label="Brukere" {
            table {
                caption { (accounts.len()) " brukere" }
                thead { tr { th scope="col" { "Navn" } th scope="col" { "E-post" } th scope="col" { "Virksomhet og rolle" } th scope="col" { "Konto" } } }
                tbody {
                    @for a in &accounts {
                        @let u = &a.user;
                        @let fixed = u.id == me.id || (u.role == Role::Admin && me.role != Role::Admin);
                        tr {
                            td { (u.name) }
                            td { (u.email) }
                            td {
                                @if fixed {
                                    (org_name(state, &u.org)) ", " (role_name(u.role))
                                } @else {
                                    form.row method="post" action=(format!("/koordinator/brukere/{}", u.id)) {
                                        input type="hidden" name="csrf" value=(ctx.csrf);
                                        label.visually-hidden for=(format!("virksomhet-u{}", u.id)) { "Virksomhet for " (u.name) }
                                        (org_select(state, &format!("virksomhet-u{}", u.id), &u.org))
                                        label.visually-hidden for=(format!("rolle-u{}", u.id)) { "Rolle for " (u.name) }
                                        (role_select(me, &format!("rolle-u{}", u.id), u.role))
                                        button type="submit" { "Lagre" span.visually-hidden { " " (u.name) } }
                                    }
                                }
                            }
                            td {
                                @if let Some(at) = a.disabled_at {
                                    "Deaktivert " (format_datetime(at))
                                } @else {
                                    "Aktiv"
                                }
                                @if !fixed {
                                    @let (action, text) = if a.disabled_at.is_some() { ("aktiver", "Aktiver") } else { ("deaktiver", "Deaktiver") };
                                    form.inline method="post" action=(format!("/koordinator/brukere/{}/{action}", u.id)) {
                                        input type="hidden" name="csrf" value=(ctx.csrf);
                                        button.secondary type="submit" { (text) span.visually-hidden { " " (u.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { "En deaktivert bruker kan ikke logge inn. Innloggingene avsluttes med en gang, og tilgangsnøkler og kalenderabonnementer slutter å virke til brukeren aktiveres igjen." }
        @if !decided.is_empty() {
            h2 { "Avgjorte forespørsler" }
            ul {
                @for r in &decided {
                    li {
                        (r.name) " (" (r.email) "): "
                        @let exists = r.reason.as_deref() == Some(EXISTS_REASON);
                        @if r.outcome.as_deref() == Some("granted") { "fikk tilgang" } @else if exists { "finnes fra før" } @else { "avslått" }
                        @if let Some(at) = r.decided_at { " " (format_datetime(at)) }
                        @if let Some(by) = &r.decided_by { " av " (by) }
                        @if let Some(reason) = r.reason.as_ref().filter(|_| !exists) { ". Begrunnelse: " (reason) }
                    }
                }
            }
        }
    };
    Ok((status, page(ctx, "/koordinator/brukere", "Brukere og tilgang", body)).into_response())
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    virksomhet: String,
    #[serde(default)]
    rolle: String,
    #[serde(default)]
    handling: String,
    #[serde(default)]
    begrunnelse: String,
}

/// The organisation and role of a form, if valid and within what `me` may give.
fn org_and_role<'a>(state: &AppState, me: &User, f: &'a UserForm) -> Result<(&'a str, Role), &'static str> {
    if state.app.config().rules.organisation(&f.virksomhet).is_none() {
        return Err("Velg en virksomhet.");
    }
    let role = Role::parse(&f.rolle).map_err(|_| "Velg en rolle.")?;
    if !grantable(me).any(|(r, _)| r == role) {
        return Err("Bare en administrator kan gi rollen administrator.");
    }
    Ok((&f.virksomhet, role))
}

/// The service's answer for a user or request: `gone` if there is none.
fn found<T>(r: Result<T, ServiceError>, gone: impl FnOnce() -> PageError) -> PageResult<T> {
    match r {
        Err(ServiceError::NotFound) => Err(gone()),
        r => r.unavailable(NOTHING_CHANGED),
    }
}

fn refused(message: &str) -> Markup {
    html! { div.notice role="alert" { p { (message) " Ingenting er endret." } } }
}

async fn update_user(
    State(state): State<AppState>,
    ctx: PageCtx,
    Coordinator(me): Coordinator,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<UserForm>,
) -> PageResult {
    let no_user = || PageError::not_found("Fant ikke brukeren", "Brukeren finnes ikke.");
    let id = id.parse::<i64>().map_err(|_| no_user())?;
    let target = found(state.app.user(id).await, no_user)?;
    let bad = |m: &str| users_page(&state, &ctx, &me, Some(refused(m)), StatusCode::UNPROCESSABLE_ENTITY);
    let (org, role) = match org_and_role(&state, &me, &f) {
        Ok(x) => x,
        Err(m) => return bad(m).await,
    };
    match state.app.update_user_role(&me, &target, org, role).await {
        Ok(u) => {
            let notice = html! { p.notice role="status" { (u.name) " er nå " (role_name(u.role)) " i " (org_name(&state, &u.org)) "." } };
            users_page(&state, &ctx, &me, Some(notice), StatusCode::OK).await
        }
        Err(ServiceError::Rules(errs)) => {
            let message = errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
            bad(&message).await
        }
        Err(e) => Err(e).unavailable(NOTHING_CHANGED),
    }
}

/// «Deaktiver» or «Aktiver» a user's account.
async fn set_disabled(state: AppState, ctx: PageCtx, me: User, id: String, disable: bool) -> PageResult {
    let no_user = || PageError::not_found("Fant ikke brukeren", "Brukeren finnes ikke.");
    let id = id.parse::<i64>().map_err(|_| no_user())?;
    let target = found(state.app.account(id).await, no_user)?;
    let done = if disable {
        state.app.disable_user(Some(&me), &target).await
    } else {
        state.app.enable_user(Some(&me), &target).await
    };
    match done {
        Ok(a) => {
            let notice = html! {
                p.notice role="status" {
                    (a.user.name)
                    @if a.disabled_at.is_some() { " er deaktivert. Innloggingene er avsluttet." } @else { " er aktivert igjen." }
                }
            };
            users_page(&state, &ctx, &me, Some(notice), StatusCode::OK).await
        }
        Err(ServiceError::Rules(errs)) => {
            let message = errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
            users_page(
                &state,
                &ctx,
                &me,
                Some(refused(&message)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => found(Err(e), no_user),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {}

async fn disable_user(
    State(state): State<AppState>,
    ctx: PageCtx,
    Coordinator(me): Coordinator,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<CsrfOnly>,
) -> PageResult {
    set_disabled(state, ctx, me, id, true).await
}

async fn enable_user(
    State(state): State<AppState>,
    ctx: PageCtx,
    Coordinator(me): Coordinator,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<CsrfOnly>,
) -> PageResult {
    set_disabled(state, ctx, me, id, false).await
}

async fn decide_access(
    State(state): State<AppState>,
    ctx: PageCtx,
    Coordinator(me): Coordinator,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<UserForm>,
) -> PageResult {
    let gone = || {
        PageError::not_found(
            "Fant ikke forespørselen",
            "Forespørselen om tilgang finnes ikke, eller den er allerede avgjort.",
        )
    };
    let id = id.parse::<i64>().map_err(|_| gone())?;
    let request = found(state.app.open_access_request(id).await, gone)?;
    let bad = |m: &str| users_page(&state, &ctx, &me, Some(refused(m)), StatusCode::UNPROCESSABLE_ENTITY);
    let required = (f.handling == "avslaa").then_some("Skriv en begrunnelse når du avslår.");
    let reason = match parse_reason(Some(&f.begrunnelse), required) {
        Ok(r) => r,
        Err(e) => return bad(&e.message).await,
    };
    let grant = match f.handling.as_str() {
        "gi" => match org_and_role(&state, &me, &f) {
            Ok(x) => Some(x),
            Err(m) => return bad(m).await,
        },
        "avslaa" => None,
        _ => return bad("Velg «Gi tilgang» eller «Avslå».").await,
    };
    match state.app.decide_access(&request, grant, reason.as_deref(), &me).await {
        Ok(outcome) => {
            let notice = match outcome {
                AccessOutcome::Granted(u) => {
                    html! { p.notice role="status" { (u.name) " (" (u.email) ") har fått tilgang som " (role_name(u.role)) " i " (org_name(&state, &u.org)) ", og har fått beskjed på e-post." } }
                }
                AccessOutcome::Refused => {
                    html! { p.notice role="status" { "Forespørselen fra " (request.name) " er avslått, og " (request.email) " har fått beskjed på e-post." } }
                }
                AccessOutcome::Exists(u) => {
                    html! { div.notice role="alert" { p { (u.email) " har allerede en konto: " (u.name) ", " (role_name(u.role)) " i " (org_name(&state, &u.org)) ". Kontoen er ikke endret, og forespørselen er lukket som «finnes fra før» uten e-post. Endre virksomhet eller rolle under «Brukere» hvis det trengs." } } }
                }
            };
            users_page(&state, &ctx, &me, Some(notice), StatusCode::OK).await
        }
        Err(ServiceError::NotFound) => Err(gone()),
        Err(e) => Err(e).unavailable(NOTHING_CHANGED),
    }
}

/// `/koordinator/virksomheter` — tiers and organisations, as configured.
async fn organisations(State(state): State<AppState>, ctx: PageCtx, _: Coordinator) -> Response {
    let rules = &state.app.config().rules;
    let body = html! {
        h1 { "Virksomheter og prioritetsgrupper" }
        p { "Slik de er satt opp i konfigurasjonen (config/rules.toml og config/organisations.toml). Endringer gjøres der og kontrolleres med «borgertun check-config»." }
        h2 { "Prioritetsgrupper" }
        div.table-scroll role="region" tabindex="0" aria-label="Prioritetsgrupper" {
            table {
                caption { "Prioritetsgrupper, høyest prioritet først" }
                thead { tr { th scope="col" { "Prioritet" } th scope="col" { "Prioritetsgruppe" } th scope="col" { "Bookingvindu" } th scope="col" { "Varighet" } th scope="col" { "Bekreftes" } th scope="col" { "Kvote" } th scope="col" { "Virksomheter" } } }
                tbody {
                    @for t in &rules.tiers {
                        tr {
                            td { (t.rank + 1) }
                            td { (t.name) }
                            td { (t.horizon_days) " dager" }
                            td { (crate::domain::time::format_minutes(t.min_minutes)) "–" (crate::domain::time::format_minutes(t.max_minutes)) }
                            td { @if t.auto_confirm { "med en gang når tiden er ledig" } @else { "av koordinator" } }
                            td { @match t.monthly_quota_hours { Some(h) => { (h) " timer i måneden" } None => "ingen" } }
                            td { (rules.organisations.iter().filter(|o| o.tier == t.key).count()) }
                        }
                    }
                }
            }
        }
        h2 { "Virksomheter" }
        div.table-scroll role="region" tabindex="0" aria-label="Virksomheter" {
            table {
                caption { (rules.organisations.len()) " virksomheter" }
                thead { tr { th scope="col" { "Virksomhet" } th scope="col" { "Nøkkel" } th scope="col" { "Prioritetsgruppe" } th scope="col" { "E-postdomener" } } }
                tbody {
                    @for o in &rules.organisations {
                        tr {
                            td { (o.name) }
                            td { code { (o.key) } }
                            td { (rules.tier(&o.tier).map(|t| t.name.as_str()).unwrap_or(&o.tier)) }
                            td { @if o.email_domains.is_empty() { "ingen (brukere legges inn av koordinator)" } @else { (o.email_domains.join(", ")) } }
                        }
                    }
                }
            }
        }
    };
    page(
        &ctx,
        "/koordinator/virksomheter",
        "Virksomheter og prioritetsgrupper",
        body,
    )
    .into_response()
}

/// `/koordinator/oppmote` — the past year's events that lack attendance.
async fn missing_attendance(State(state): State<AppState>, ctx: PageCtx, _: Coordinator) -> PageResult {
    let missing = state.app.lacking_attendance().await.unavailable(NOTHING_CHANGED)?;
    let body = html! {
        h1 { "Mangler oppmøte" }
        p { "Bekreftede arrangementer det siste året der oppmøtet ikke er registrert. Kontaktpersonen får en e-post dagen etter; koordinator kan også registrere." }
        p role="status" { (missing.len()) " arrangementer mangler oppmøte." }
        @if !missing.is_empty() {
            div.table-scroll role="region" tabindex="0" aria-label="Arrangementer som mangler oppmøte" {
                table {
                    caption { "Arrangementer som mangler oppmøte, nyeste først" }
                    thead { tr { th scope="col" { "Tid" } th scope="col" { "Tittel" } th scope="col" { "Virksomhet" } th scope="col" { "Kontaktperson" } th scope="col" { span.visually-hidden { "Handlinger" } } } }
                    tbody {
                        @for b in &missing {
                            tr {
                                td { (format_range(b.start, b.end)) }
                                td { a href=(format!("/bookinger/{}", b.id)) { (b.title) } }
                                td { (org_name(&state, &b.org)) }
                                td { (b.contact_name) " (" (b.contact_email) ")" }
                                td { a href=(format!("/bookinger/{}/oppmote", b.id)) { "Registrer oppmøte" span.visually-hidden { " for " (b.title) } } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, "/koordinator/oppmote", "Mangler oppmøte", body).into_response())
}

/// The reason field of a decision form, with its errors tied to it for screen readers.
fn reason_field(id: &str, label: &str, hint: &str, errors: &FieldErrors) -> Markup {
    let reason_errors = errors.for_field("begrunnelse");
    let described: Option<String> = (!reason_errors.is_empty()).then(|| format!("{id}-feil"));
    html! {
        div.field {
            label for=(id) { (label) }
            @for e in &reason_errors { p.field-error id=(format!("{id}-feil")) { (e) } }
            textarea id=(id) name="begrunnelse" rows="2" aria-invalid=[described.as_ref().map(|_| "true")] aria-describedby=[described] {}
            p.hint { (hint) }
        }
    }
}
