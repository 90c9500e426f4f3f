//! «Våre bookinger»: the organisation's bookings, upcoming and past; a booking's page with its
//! history and calendar file; cancelling.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Duration;
use maud::{html, Markup};
use serde::Deserialize;

use super::{csrf_refused, error_page, layout, PageCtx};
use crate::domain::time::{format_datetime, format_range};
use crate::domain::{Booking, User};
use crate::service::{self, ServiceError};
use crate::store::BookingQuery;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bookinger", get(list))
        .route("/bookinger/{id}", get(show))
        .route("/bookinger/{id}/avbestill", post(cancel))
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
        .config
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
                        td { @if b.status.is_active() && b.end > now { (cancel_form(ctx, b)) } }
                    }
                }
            }
        }
    }
}

/// `/bookinger` — «Våre bookinger».
async fn list(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/logg-inn").into_response();
    };
    let now = state.now();
    let q = BookingQuery {
        org: Some(user.org.clone()),
        from: Some(now - Duration::days(180)),
        to: Some(now + Duration::days(400)),
        ..Default::default()
    };
    let all = match state.store.bookings(&q).await {
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
        .config
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
    match state.store.booking(id).await {
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
        return Redirect::to("/logg-inn").into_response();
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
    let history = state.store.history(b.id).await.unwrap_or_default();
    let now = state.now();
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
            }
        }
        p { a href=(format!("/bookinger/{}.ics", b.id)) { "Legg i kalenderen (.ics)" } }
        @if b.status.is_active() && b.end > now { p { (cancel_form(&ctx, &b)) } }
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
        return Redirect::to("/logg-inn").into_response();
    };
    let b = match managed(&state, &user, &id).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    match service::cancel(state.store.as_ref(), &state.composer(), b.id, &user, None, state.now()).await {
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
