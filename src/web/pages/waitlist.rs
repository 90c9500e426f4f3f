//! The waitlist pages: «Sett meg på venteliste» from the busy page, «Venteliste» (your entries,
//! your place in line, leave; confirm or decline a hold), and the mail's single-use links,
//! which show the hold and a button (so mail scanners that open links answer nothing) and
//! need no sign-in: the link is the proof.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};

use super::booking::{parse, BookingForm};
use super::signin::EmptyForm;
use super::{layout, CsrfForm, FieldErrors, PageCtx, PageError, PageResult, SignedIn};
use crate::domain::time::{format_datetime, format_range};
use crate::domain::waitlist::{Entry, EntryStatus};
use crate::domain::{Booking, Status, User};
use crate::service::{HoldAction, HoldAnswer, HoldLinkState, ServiceError, WaitlistPlace};
use crate::web::routes::Routes;
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/venteliste", list)
        .post("/venteliste", join)
        .post("/venteliste/{id}/forlat", leave)
        .post("/venteliste/{id}/bekreft", confirm)
        .post("/venteliste/{id}/avsla", decline)
        .get("/venteliste/svar/{token}", link_page)
        .post("/venteliste/svar/{token}", link_answer)
}

fn details(state: &AppState, e: &Entry) -> Markup {
    let rules = &state.app.config().rules;
    html! {
        table {
            tbody {
                tr { th scope="row" { "Tittel" } td { (e.title) } }
                tr { th scope="row" { "Tid" } td { (format_range(e.start, e.end)) } }
                tr { th scope="row" { "Rom" } td { (rules.room_name(&e.room)) } }
                tr { th scope="row" { "Virksomhet" } td { (rules.org_name(&e.org)) } }
                tr { th scope="row" { "Antall deltakere" } td { (e.attendees) } }
            }
        }
    }
}

/// «Holdt for deg til …», or the place in line, or what became of the entry.
fn state_line(p: &WaitlistPlace) -> String {
    match (p.entry.status, p.place, p.booking.as_ref()) {
        (EntryStatus::Waiting, Some(1), _) => "Du er først på ventelisten.".into(),
        (EntryStatus::Waiting, Some(n), _) => format!("Du er nummer {n} på ventelisten."),
        (EntryStatus::Held, _, Some(b)) => held_line(b),
        (status, _, _) => {
            let mut line = status.norwegian().to_string();
            if let Some(first) = line.get(..1) {
                line = first.to_uppercase() + &line[1..];
            }
            format!("{line}.")
        }
    }
}

/// «Holdt for deg til tirsdag 3. mars 2026 kl. 12.00.»
pub(super) fn held_line(b: &Booking) -> String {
    match b.held_until {
        Some(u) => format!("Holdt for deg til {}.", format_datetime(u)),
        None => "Holdt for deg.".into(),
    }
}

fn answer_buttons(ctx: &PageCtx, id: i64) -> Markup {
    html! {
        div.actions {
            form method="post" action=(format!("/venteliste/{id}/bekreft")) {
                input type="hidden" name="csrf" value=(ctx.csrf);
                button type="submit" { "Bekreft" }
            }
            form method="post" action=(format!("/venteliste/{id}/avsla")) {
                input type="hidden" name="csrf" value=(ctx.csrf);
                button type="submit" { "Avslå" }
            }
        }
    }
}

async fn list(State(state): State<AppState>, ctx: PageCtx, SignedIn(user): SignedIn) -> PageResult {
    let entries = state.app.my_waitlist(&user).await?;
    let body = html! {
        h1 { "Venteliste" }
        p { "Her er tidene du venter på. Blir en av dem ledig, får du en e-post, og tiden holdes for deg en stund. Den som har høyest prioritet, og deretter den som kom først, får tilbudet først." }
        @if entries.is_empty() {
            p { "Du står ikke på noen venteliste. Er rommet opptatt når du booker, kan du sette deg på ventelisten for den tiden." }
        } @else {
            ul.entries {
                @for p in &entries {
                    li {
                        h2 { (p.entry.title) ", " (format_range(p.entry.start, p.entry.end)) }
                        p role="status" { (state_line(p)) }
                        @if p.entry.status == EntryStatus::Held {
                            (answer_buttons(&ctx, p.entry.id))
                        }
                        @if p.entry.status == EntryStatus::Booked {
                            @if let Some(id) = p.entry.booking_id {
                                p { a href=(format!("/bookinger/{id}")) { "Se bookingen" } }
                            }
                        }
                        @if p.entry.status.is_open() {
                            form method="post" action=(format!("/venteliste/{}/forlat", p.entry.id)) {
                                input type="hidden" name="csrf" value=(ctx.csrf);
                                button type="submit" { "Forlat ventelisten" }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/booking/ny" { "Book Borgertun" } }
    };
    Ok(layout(&ctx, "Venteliste", "", body).into_response())
}

async fn join(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    CsrfForm(f): CsrfForm<BookingForm>,
) -> PageResult {
    let room = state.app.config().rules.rooms[0].key.clone();
    let (new, _) = match parse(&f, &user, &room, &state.app.config().plan) {
        Ok(n) => n,
        Err(errors) => return Err(refused_form(&errors)),
    };
    let p = match state.app.join_waitlist(new).await {
        Ok(p) => p,
        Err(ServiceError::Forbidden) => {
            return Err(PageError::forbidden(
                "Du kan ikke sette deg på venteliste for denne virksomheten.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let body = html! {
        h1 { "Du står på ventelisten" }
        p role="status" { (state_line(&p)) " Blir tiden ledig, får du en e-post med «Bekreft» og «Avslå»." }
        (details(&state, &p.entry))
        p { a href="/venteliste" { "Se ventelisten din" } }
    };
    Ok((StatusCode::CREATED, layout(&ctx, "Du står på ventelisten", "", body)).into_response())
}

/// A form that did not parse: every problem, in plain words.
fn refused_form(errors: &FieldErrors) -> PageError {
    PageError::refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Kan ikke settes på venteliste",
        errors.0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" "),
    )
}

fn parse_entry_id(id: &str) -> PageResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PageError::not_found("Fant ikke siden", "Det du ba om, finnes ikke."))
}

async fn leave(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    state.app.leave_waitlist(&user, parse_entry_id(&id)?).await?;
    Ok(Redirect::to("/venteliste").into_response())
}

async fn confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    answer(&state, &ctx, &user, &id, HoldAction::Confirm).await
}

async fn decline(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    answer(&state, &ctx, &user, &id, HoldAction::Decline).await
}

/// Answer entry `id`'s hold as `user`, and show the outcome.
async fn answer(state: &AppState, ctx: &PageCtx, user: &User, id: &str, action: HoldAction) -> PageResult {
    let answer = state.app.answer_hold(user, parse_entry_id(id)?, action).await?;
    Ok(answered(state, ctx, &answer))
}

/// The page after a hold is answered.
fn answered(state: &AppState, ctx: &PageCtx, answer: &HoldAnswer) -> axum::response::Response {
    let (title, body) = match answer {
        HoldAnswer::Booked(b) if b.status == Status::Confirmed => (
            "Bookingen er bekreftet",
            html! {
                h1 { "Bookingen er bekreftet" }
                p role="status" { "Tiden er din. Du får en kalenderinvitasjon på e-post." }
                (booking_table(state, b))
                p { a href=(format!("/bookinger/{}", b.id)) { "Se bookingen" } }
            },
        ),
        HoldAnswer::Booked(b) => (
            "Forespørselen er sendt",
            html! {
                h1 { "Forespørselen er sendt" }
                p role="status" { "Forespørselen din er til behandling hos koordinator. Du får en e-post når den er avgjort." }
                (booking_table(state, b))
                p { a href=(format!("/bookinger/{}", b.id)) { "Se forespørselen" } }
            },
        ),
        HoldAnswer::Declined(e) => (
            "Tiden er gitt videre",
            html! {
                h1 { "Tiden er gitt videre" }
                p role="status" { "Takk for beskjeden. Tiden går videre til neste på ventelisten, eller blir ledig for alle." }
                (details(state, e))
            },
        ),
    };
    layout(ctx, title, "", body).into_response()
}

fn booking_table(state: &AppState, b: &Booking) -> Markup {
    let rules = &state.app.config().rules;
    html! {
        table {
            tbody {
                tr { th scope="row" { "Tittel" } td { (b.title) } }
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Rom" } td { (rules.room_name(&b.room)) } }
                tr { th scope="row" { "Status" } td { (b.status.norwegian()) } }
            }
        }
    }
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "Lenken virker ikke lenger",
        "Lenken er allerede brukt, eller fristen for å svare er ute. Ingenting er endret.",
    )
}

fn link_unknown() -> PageError {
    PageError::not_found(
        "Fant ikke lenken",
        "Vi fant ingen lenke fra ventelisten med denne adressen. Ingenting er endret.",
    )
}

async fn link_page(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> PageResult {
    let (action, entry, hold) = match state.app.hold_link(&token).await? {
        HoldLinkState::Usable { action, entry, hold } => (action, entry, hold),
        HoldLinkState::Gone => return Err(link_gone()),
        HoldLinkState::Unknown => return Err(link_unknown()),
    };
    let (title, text, button) = match action {
        HoldAction::Confirm => (
            "Bekreft tiden fra ventelisten",
            "Trykk på knappen for å ta tiden. Forespørselen sendes da som vanlig.",
            "Bekreft",
        ),
        HoldAction::Decline => (
            "Avslå tiden fra ventelisten",
            "Trykk på knappen hvis du ikke trenger tiden. Den går da videre til neste på ventelisten.",
            "Avslå",
        ),
    };
    let body = html! {
        h1 { (title) }
        p role="status" { (held_line(&hold)) }
        p { (text) }
        (details(&state, &entry))
        form method="post" action=(format!("/venteliste/svar/{token}")) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" { (button) }
        }
    };
    Ok(layout(&ctx, title, "", body).into_response())
}

async fn link_answer(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    match state.app.answer_hold_by_link(&token).await? {
        Ok(answer) => Ok(answered(&state, &ctx, &answer)),
        Err(HoldLinkState::Unknown) => Err(link_unknown()),
        Err(_) => Err(link_gone()),
    }
}
