//! «Kalenderabonnement»: create a calendar feed, copy its `webcal://` link, revoke it. The link
//! carries a secret token, shown once when the feed is made (only its hash is kept).

use crate::web::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde::Deserialize;

use super::error::ServiceResultExt;
use super::signin::EmptyForm;
use super::{layout, CsrfForm, PageCtx, PageError, PageResult, SignedIn};
use crate::domain::time::format_datetime;
use crate::domain::FeedKind;
use crate::service::FeedToken;
use crate::web::feeds::feed_urls;
use crate::web::AppState;

pub const PATH: &str = "/kalenderabonnement";

pub fn routes() -> Routes {
    Routes::new()
        .get(PATH, list)
        .post(PATH, create)
        .post("/kalenderabonnement/{id}/trekk-tilbake", revoke)
}

fn kind_text(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::Room => "Alle bookinger i rommet (uten kontaktopplysninger)",
        FeedKind::Organisation => "Virksomhetens bookinger",
        FeedKind::Personal => "Bookinger der jeg er kontaktperson",
    }
}

fn kind_key(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::Room => "rom",
        FeedKind::Organisation => "virksomhet",
        FeedKind::Personal => "mine",
    }
}

fn feed_table(ctx: &PageCtx, feeds: &[FeedToken]) -> Markup {
    html! {
        @if feeds.is_empty() {
            p { "Du har ingen kalenderabonnement ennå." }
        } @else {
            table {
                caption { "Dine kalenderabonnement" }
                thead { tr { th scope="col" { "Viser" } th scope="col" { "Laget" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Handlinger" } } } }
                tbody {
                    @for f in feeds {
                        tr {
                            td { (kind_text(f.kind)) }
                            td { (format_datetime(f.created_at)) }
                            td { @match f.revoked_at { Some(at) => { "Trukket tilbake " (format_datetime(at)) } None => "I bruk" } }
                            td {
                                @if f.revoked_at.is_none() {
                                    form.inline method="post" action=(format!("/kalenderabonnement/{}/trekk-tilbake", f.id)) {
                                        input type="hidden" name="csrf" value=(ctx.csrf);
                                        button type="submit" { "Trekk tilbake lenken" span.visually-hidden { ": " (kind_text(f.kind)) ", laget " (format_datetime(f.created_at)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn create_form(ctx: &PageCtx) -> Markup {
    html! {
        h2 { "Nytt kalenderabonnement" }
        form method="post" action=(PATH) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            fieldset {
                legend { "Hva skal kalenderen vise?" }
                @for (i, kind) in [FeedKind::Room, FeedKind::Organisation, FeedKind::Personal].into_iter().enumerate() {
                    div {
                        input type="radio" id=(format!("type-{}", kind_key(kind))) name="type" value=(kind_key(kind)) checked[i == 0];
                        label for=(format!("type-{}", kind_key(kind))) { (kind_text(kind)) }
                    }
                }
            }
            button type="submit" { "Lag kalenderabonnement" }
        }
    }
}

/// `/kalenderabonnement` — the user's feeds and the form for a new one.
async fn list(State(state): State<AppState>, ctx: PageCtx, SignedIn(user): SignedIn) -> PageResult {
    let feeds = state.app.feeds_of(&user).await?;
    let body = html! {
        h1 { "Kalenderabonnement" }
        p { "Abonner i Outlook, Google eller Apple Kalender, så kommer bookingene i Borgertun inn i kalenderen din og oppdateres av seg selv." }
        (create_form(&ctx))
        h2 { "Dine abonnement" }
        (feed_table(&ctx, &feeds))
    };
    Ok(layout(&ctx, "Kalenderabonnement", PATH, body).into_response())
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(rename = "type", default)]
    kind: String,
}

async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> PageResult {
    let kind = match f.kind.as_str() {
        "rom" => FeedKind::Room,
        "virksomhet" => FeedKind::Organisation,
        "mine" => FeedKind::Personal,
        _ => {
            return Err(PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Velg hva kalenderen skal vise",
                "Kalenderabonnementet ble ikke laget. Velg rommet, virksomheten eller dine egne bookinger.",
            ))
        }
    };
    let (feed, token) = state
        .app
        .create_feed(&user, kind, None)
        .await
        .unavailable("Prøv igjen om litt.")?;
    let (url, webcal) = feed_urls(state.app.public_url(), &token);
    let feeds = state.app.feeds_of(&user).await.unwrap_or_default();
    let body = html! {
        h1 { "Kalenderabonnementet er laget" }
        div.notice role="status" {
            p { (kind_text(feed.kind)) ". Lenken vises bare nå: kopier den og legg den inn i kalenderen din." }
        }
        div.field {
            label for="webcal" { "Lenke for Outlook og Apple Kalender (webcal)" }
            input.copy type="text" id="webcal" value=(webcal) readonly;
            button.copy-button type="button" data-copy="webcal" hidden { "Kopier lenken" }
        }
        div.field {
            label for="https" { "Lenke for Google Kalender («Fra nettadresse»)" }
            input.copy type="text" id="https" value=(url) readonly;
            button.copy-button type="button" data-copy="https" hidden { "Kopier lenken" }
        }
        p { a href=(webcal) { "Åpne i kalenderprogrammet" } }
        p { "Den som har lenken, kan se bookingene den viser. Trekk tilbake lenken hvis den kommer på avveie." }
        h2 { "Dine abonnement" }
        (feed_table(&ctx, &feeds))
        script src="/static/copy.js" {}
    };
    Ok(layout(&ctx, "Kalenderabonnementet er laget", PATH, body).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    Path(id): Path<String>,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    let gone = || {
        PageError::not_found(
            "Fant ikke abonnementet",
            "Kalenderabonnementet finnes ikke, er allerede trukket tilbake, eller tilhører en annen bruker.",
        )
    };
    let Ok(id) = id.parse::<i64>() else {
        return Err(gone());
    };
    // Only one's own feeds, also for a coordinator (others' feeds are revoked through the API).
    if !state.app.revoke_feed(id, Some(&user)).await? {
        return Err(gone());
    }
    let feeds = state.app.feeds_of(&user).await.unwrap_or_default();
    let body = html! {
        h1 { "Lenken er trukket tilbake" }
        p role="status" { "Kalenderabonnementet virker ikke lenger. Kalendere som abonnerer på det, får ikke flere oppdateringer." }
        (feed_table(&ctx, &feeds))
        p { a href=(PATH) { "Til kalenderabonnement" } }
    };
    Ok(layout(&ctx, "Lenken er trukket tilbake", PATH, body).into_response())
}
