//! Check-in (tiers with `check_in = true`): `/booking/{id}/sjekk-inn`, where the QR code on the
//! today page leads, shows the booking and a «Sjekk inn» button to its contact, a user of its
//! organisation or a coordinator (signed in); the booking page's button posts there too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{html, Markup};

use super::signin::EmptyForm;
use super::{layout, CsrfForm, PageCtx, PageError, PageResult, SignedIn};
use crate::domain::checkin::CheckIn;
use crate::domain::time::{format_datetime, format_range, format_time, local};
use crate::domain::Booking;
use crate::service::ServiceError;
use crate::web::routes::Routes;
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/booking/{id}/sjekk-inn", page)
        .post("/booking/{id}/sjekk-inn", submit)
}

/// The path of a booking's check-in page (and of its button's form).
pub fn path(id: i64) -> String {
    format!("/booking/{id}/sjekk-inn")
}

fn not_found() -> PageError {
    PageError::not_found(
        "Fant ikke bookingen",
        "Bookingen finnes ikke, eller den tilhører en annen virksomhet.",
    )
}

fn page_error(e: ServiceError) -> PageError {
    match e {
        ServiceError::NotFound | ServiceError::Forbidden => not_found(),
        ServiceError::Conflict(e) => PageError::refused(StatusCode::CONFLICT, "Kan ikke sjekkes inn", e.message),
        e => e.into(),
    }
}

/// The «Sjekk inn» button for booking `b`, posting to `action`.
pub fn button(ctx: &PageCtx, action: &str, b: &Booking) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" { "Sjekk inn" span.visually-hidden { " " (b.title) ", " (format_range(b.start, b.end)) } }
        }
    }
}

/// What a page about `b` says of its check-in: «Sjekket inn kl. …», the window, or nothing
/// when its tier needs none. `action` is where the «Sjekk inn» button posts, if one belongs.
pub fn status(ctx: &PageCtx, state: CheckIn, action: Option<&str>, b: &Booking) -> Markup {
    html! {
        @match state {
            CheckIn::CheckedIn(at) => { p role="status" { "Sjekket inn kl. " (format_time(local(at).time())) "." } }
            CheckIn::Open(w) => {
                p { "Sjekk inn innen kl. " (format_time(local(w.closes).time())) ", ellers blir rommet frigitt for andre." }
                @if let Some(action) = action { p { (button(ctx, action, b)) } }
            }
            CheckIn::NotYet(w) => {
                p { "Bookingen må sjekkes inn. Innsjekkingen åpner " (format_datetime(w.opens)) " og er åpen til kl. " (format_time(local(w.closes).time())) "." }
            }
            CheckIn::Closed(_) | CheckIn::NotRequired | CheckIn::NotConfirmed => {}
        }
    }
}

fn details(state: &AppState, b: &Booking) -> Markup {
    let rules = state.app.rules();
    let room = rules.room(&b.room).map(|r| r.name.as_str()).unwrap_or(&b.room);
    html! {
        table {
            tbody {
                tr { th scope="row" { "Tittel" } td { (b.title) } }
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Rom" } td { (room) } }
                tr { th scope="row" { "Virksomhet" } td { (rules.org_name(&b.org)) } }
                tr { th scope="row" { "Status" } td { (b.status.norwegian()) } }
            }
        }
    }
}

/// `/booking/{id}/sjekk-inn` — the booking and, in the window, «Sjekk inn».
async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let (b, check_in) = state.app.booking_to_check_in(&user, id).await.map_err(page_error)?;
    let action = path(b.id);
    let body = html! {
        h1 { "Sjekk inn" }
        (details(&state, &b))
        @match check_in {
            CheckIn::NotRequired => { p { "Denne bookingen trenger ikke innsjekking." } }
            CheckIn::NotConfirmed => { p { "Bookingen er " (b.status.norwegian()) " og kan ikke sjekkes inn." } }
            CheckIn::Closed(w) => { p { "Innsjekkingen stengte " (format_datetime(w.closes)) "." } }
            _ => { (status(&ctx, check_in, Some(&action), &b)) }
        }
        @if user.may_manage(&b) { p { a href=(format!("/bookinger/{}", b.id)) { "Se bookingen" } } }
    };
    Ok(layout(&ctx, "Sjekk inn", "", body).into_response())
}

/// The «Sjekk inn» button of the check-in page and of the booking page.
async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let b = state.app.check_in(id, &user).await.map_err(page_error)?;
    Ok(checked_in(&state, &ctx, &b).into_response())
}

/// «Du er sjekket inn»: the answer to a check-in, here and by the reminder's link.
pub fn checked_in(state: &AppState, ctx: &PageCtx, b: &Booking) -> Markup {
    let at = b
        .checked_in_at
        .map(|t| format_time(local(t).time()))
        .unwrap_or_default();
    let body = html! {
        h1 { "Du er sjekket inn" }
        p role="status" { "Bookingen er sjekket inn kl. " (at) ". Rommet er deres til kl. " (format_time(local(b.end).time())) "." }
        (details(state, b))
    };
    layout(ctx, "Du er sjekket inn", "", body)
}
