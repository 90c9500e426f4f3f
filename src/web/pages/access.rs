//! «Be om tilgang»: people whose address is outside the configured organisations' domains ask
//! the coordinator for access. The answer never tells whether the address already has an
//! account; the coordinator grants or refuses on `/koordinator/brukere`.

use crate::web::routes::Routes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::signin::ClientAddr;
use super::{layout, CsrfForm, Field, FieldErrors, PageCtx, PageError, PageResult};
use crate::domain::booking::{parse_email, parse_reason};
use crate::service::AccessAsked;
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new().get("/tilgang", form).post("/tilgang", submit)
}

#[derive(Debug, Default, Deserialize)]
struct AccessForm {
    #[serde(default)]
    navn: String,
    #[serde(default)]
    epost: String,
    #[serde(default)]
    virksomhet: String,
    #[serde(default)]
    melding: String,
}

fn page(ctx: &PageCtx, f: &AccessForm, errors: &FieldErrors) -> Markup {
    html! {
        h1 { "Be om tilgang" }
        p { "Ansatte i virksomheter med egen e-postadresse hos Borgertun booking (for eksempel uib.no eller bergen.kommune.no) kan " a href="/logg-inn" { "logge inn" } " direkte. Andre kan be koordinator om tilgang her. Du får svar på e-post." }
        (errors.summary("Forespørselen ble ikke sendt. Rett opp dette:"))
        form method="post" action="/tilgang" novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            (Field::new("navn", "Navn", errors).input("text", &f.navn, "name"))
            (Field::new("epost", "E-postadresse", errors).input("email", &f.epost, "email"))
            (Field::new("virksomhet", "Virksomhet", errors).input("text", &f.virksomhet, "organization"))
            (Field::new("melding", "Hva skal du bruke Borgertun til? (valgfritt)", errors).textarea(&f.melding, 4))
            button type="submit" { "Send forespørsel om tilgang" }
        }
    }
}

async fn form(ctx: PageCtx) -> Response {
    layout(
        &ctx,
        "Be om tilgang",
        "",
        page(&ctx, &AccessForm::default(), &FieldErrors::default()),
    )
    .into_response()
}

async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    client: ClientAddr,
    CsrfForm(f): CsrfForm<AccessForm>,
) -> PageResult {
    let mut errors = FieldErrors::default();
    let name = f.navn.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.add("navn", "Skriv navnet ditt (høyst 100 tegn).");
    }
    let email = parse_email(&f.epost)
        .map_err(|_| {
            errors.add(
                "epost",
                "Skriv en gyldig e-postadresse, for eksempel kari.nordmann@example.no.",
            )
        })
        .ok();
    let org = f.virksomhet.trim();
    if org.is_empty() || org.chars().count() > 200 || org.chars().any(char::is_control) {
        errors.add("virksomhet", "Skriv hvilken virksomhet du kommer fra (høyst 200 tegn).");
    }
    // The message follows the reason rule: trimmed, at most 1 000 characters.
    let message = parse_reason(Some(&f.melding), None)
        .map_err(|_| errors.add("melding", "Meldingen kan være høyst 1000 tegn."))
        .ok()
        .flatten();
    let (Some(email), true) = (email, errors.is_empty()) else {
        let body = page(&ctx, &f, &errors);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(&ctx, "Be om tilgang", "", body),
        )
            .into_response());
    };
    if client.0.is_some_and(|ip| state.limits.by_ip.check_key(&ip).is_err()) {
        return Err(PageError::too_many(
            "Det er sendt mange forespørsler fra denne adressen på kort tid.",
        ));
    }
    if state.app.request_access(&email, name, org, message.as_deref()).await? == AccessAsked::SignInDirectly {
        let body = html! {
            h1 { "Du kan logge inn direkte" }
            p { "E-postadressen din hører til en virksomhet som allerede har tilgang. " a href="/logg-inn" { "Logg inn med e-postadressen din" } "." }
        };
        return Ok(layout(&ctx, "Du kan logge inn direkte", "", body).into_response());
    }
    let body = html! {
        h1 { "Forespørselen er sendt" }
        p role="status" { "Koordinator ser på forespørselen din og svarer på e-post til " (email) "." }
        p { "Har du allerede tilgang, kan du " a href="/logg-inn" { "logge inn" } " med en gang." }
    };
    Ok(layout(&ctx, "Forespørselen er sendt", "", body).into_response())
}
