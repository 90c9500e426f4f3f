//! The reminder's one-click cancel link, «Jeg trenger ikke rommet likevel»: the page shows the
//! booking and a button, so mail scanners that open links cannot cancel it; the button
//! (with the anti-forgery token) cancels the booking as its contact. No sign-in needed: the
//! single-use link is the proof.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::html;

use super::signin::EmptyForm;
use super::{layout, CsrfForm, PageCtx, PageError, PageResult};
use crate::domain::time::format_range;
use crate::domain::Booking;
use crate::service::ReminderLinkState;
use crate::web::routes::Routes;
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/paminnelse/{token}", page)
        .post("/paminnelse/{token}", cancel)
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

async fn page(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> PageResult {
    let b = match state.app.reminder_link(&token).await? {
        ReminderLinkState::Usable(b) => b,
        ReminderLinkState::Gone => return Err(link_gone()),
        ReminderLinkState::Unknown => return Err(link_unknown()),
    };
    let body = html! {
        h1 { "Jeg trenger ikke rommet likevel" }
        p { "Trykk på knappen for å avbestille bookingen. Da blir tiden ledig for andre." }
        (details(&state, &b))
        form method="post" action=(format!("/paminnelse/{token}")) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" { "Avbestill bookingen" }
        }
    };
    Ok(layout(&ctx, "Jeg trenger ikke rommet likevel", "", body).into_response())
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
