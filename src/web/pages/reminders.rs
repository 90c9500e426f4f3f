//! The reminder's one-click cancel link, «Jeg trenger ikke rommet likevel»: the page shows the
//! booking and a button, so mail scanners that open links cannot cancel it; the button
//! (with the anti-forgery token) cancels the booking as its contact. No sign-in needed: the
//! single-use link is the proof. For a tier with check-in the same link checks the booking in
//! during its window («Sjekk inn», posting to `/paminnelse/{token}/sjekk-inn`), until the
//! release time; cancelling by it ends at the start.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::html;

use super::checkin;
use super::signin::EmptyForm;
use super::{layout, CsrfForm, PageCtx, PageError, PageResult};
use crate::domain::checkin::CheckIn;
use crate::domain::time::format_range;
use crate::domain::Booking;
use crate::service::{ReminderLinkState, ReminderOffer, ServiceError};
use crate::web::routes::Routes;
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/paminnelse/{token}", page)
        .post("/paminnelse/{token}", cancel)
        .post("/paminnelse/{token}/sjekk-inn", check_in)
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "Lenken virker ikke lenger",
        "Avbestillingslenken er allerede brukt, eller bookingen har begynt eller er avbestilt. Ingenting er endret.",
    )
}

fn link_unknown() -> PageError {
    PageError::not_found(
        "Fant ikke lenken",
        "Vi fant ingen avbestillingslenke med denne adressen. Ingenting er endret.",
    )
}

fn details(state: &AppState, b: &Booking) -> maud::Markup {
    let rules = &state.app.config().rules;
    let room = rules.room(&b.room).map(|r| r.name.as_str()).unwrap_or(&b.room);
    html! {
        table {
            tbody {
                tr { th scope="row" { "Tittel" } td { (b.title) } }
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Rom" } td { (room) } }
                tr { th scope="row" { "Virksomhet" } td { (rules.org_name(&b.org)) } }
            }
        }
    }
}

/// The link's page: until the booking starts, its «Avbestill bookingen» button; in the
/// check-in window of a tier with check-in, «Sjekk inn» (until the release time, also after
/// the start, when the cancel use has expired).
async fn page(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> PageResult {
    let (b, cancel, check_in) = match state.app.reminder_offer(&token).await? {
        ReminderOffer::Usable {
            booking,
            cancel,
            check_in,
        } => (booking, cancel, check_in),
        ReminderOffer::Gone => return Err(link_gone()),
        ReminderOffer::Unknown => return Err(link_unknown()),
    };
    let checking_in = check_in.is_open() || matches!(check_in, CheckIn::CheckedIn(_));
    let title = if cancel {
        "Jeg trenger ikke rommet likevel"
    } else {
        "Sjekk inn"
    };
    let check_in_action = format!("/paminnelse/{token}/sjekk-inn");
    let body = html! {
        h1 { (title) }
        (details(&state, &b))
        (checkin::status(&ctx, check_in, Some(&check_in_action), &b))
        @if cancel {
            @if checking_in { h2 { "Jeg trenger ikke rommet likevel" } }
            p { "Trykk på knappen for å avbestille bookingen. Da blir tiden ledig for andre." }
            form method="post" action=(format!("/paminnelse/{token}")) {
                input type="hidden" name="csrf" value=(ctx.csrf);
                button type="submit" { "Avbestill bookingen" }
            }
        }
    };
    Ok(layout(&ctx, title, "", body).into_response())
}

/// «Sjekk inn» by the link, as the booking's contact: in the window, until the release time.
async fn check_in(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    let b = match state.app.check_in_by_reminder(&token).await {
        Ok(ReminderLinkState::Usable(b)) => b,
        Ok(ReminderLinkState::Gone) => return Err(link_gone()),
        Ok(ReminderLinkState::Unknown) => return Err(link_unknown()),
        Err(ServiceError::Conflict(e)) => {
            return Err(PageError::refused(
                StatusCode::CONFLICT,
                "Kan ikke sjekkes inn",
                e.message,
            ))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(checkin::checked_in(&state, &ctx, &b).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    let b = match state.app.cancel_by_reminder(&token).await? {
        ReminderLinkState::Usable(b) => b,
        ReminderLinkState::Gone => return Err(link_gone()),
        ReminderLinkState::Unknown => return Err(link_unknown()),
    };
    let body = html! {
        h1 { "Bookingen er avbestilt" }
        p role="status" { "Takk for beskjeden. Bookingen er avbestilt, og tiden er ledig for andre." }
        (details(&state, &b))
    };
    Ok(layout(&ctx, "Bookingen er avbestilt", "", body).into_response())
}
