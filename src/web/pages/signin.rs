//! Sign-in without passwords: a single-use link by e-mail (through the outbox), confirmed by a
//! button so mail scanners that open links cannot use it up; sessions in the database.
//!
//! The answer to a request never tells whether an address is known. A link is sent to known
//! users, and to addresses whose domain belongs to a configured organisation: those get an
//! account in that organisation (as `requester`) when they first sign in.

use crate::web::routes::Routes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{layout, local_path, session_cookie, set_cookie, CsrfForm, PageCtx, PageError, PageResult};
use crate::domain::booking::parse_email;
use crate::service::{SignIn, LINK_MINUTES};
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/logg-inn", form)
        .post("/logg-inn", request)
        .get("/logg-inn/lenke/{token}", confirm_page)
        .post("/logg-inn/lenke/{token}", confirm)
        .post("/logg-ut", sign_out)
}

pub use crate::web::limits::ClientAddr;

/// `?neste=`: the page to return to after signing in (see [`super::sign_in_first`]), if it is
/// one of ours. Read by hand, so that no query string can make the sign-in pages fail.
fn next_of(RawQuery(query): &RawQuery) -> Option<String> {
    super::return_path(query.as_deref()?)
}

fn sign_in_form(ctx: &PageCtx, email: &str, error: Option<&str>, next: Option<&str>) -> maud::Markup {
    html! {
        h1 { "Logg inn" }
        @if next.is_some() {
            p role="status" { "Logg inn for å se siden du ba om. Du kommer dit når du har logget inn." }
        }
        p { "Skriv e-postadressen din, så sender vi deg en innloggingslenke. Du trenger ikke passord." }
        form method="post" action="/logg-inn" novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            @if let Some(next) = next {
                input type="hidden" name="neste" value=(next);
            }
            div.field {
                label for="email" { "E-postadresse" }
                @if let Some(e) = error {
                    p.field-error id="email-feil" { (e) }
                    input type="email" id="email" name="email" value=(email) autocomplete="email" required aria-invalid="true" aria-describedby="email-feil";
                } @else {
                    input type="email" id="email" name="email" value=(email) autocomplete="email" required;
                }
            }
            button type="submit" { "Send innloggingslenke" }
        }
        p { "Ansatte hos klyngepartnere og samarbeidspartnere logger inn med e-postadressen fra jobben. Får du ikke lenken, kan du " a href="/tilgang" { "be om tilgang" } "." }
    }
}

async fn form(ctx: PageCtx, query: RawQuery) -> Response {
    let next = next_of(&query);
    layout(
        &ctx,
        "Logg inn",
        "/logg-inn",
        sign_in_form(&ctx, "", None, next.as_deref()),
    )
    .into_response()
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    neste: String,
}

async fn request(
    State(state): State<AppState>,
    ctx: PageCtx,
    client: ClientAddr,
    CsrfForm(f): CsrfForm<RequestForm>,
) -> PageResult {
    let next = local_path(&f.neste);
    let email = match parse_email(&f.email) {
        Ok(e) => e,
        Err(_) => {
            let page = layout(
                &ctx,
                "Logg inn",
                "/logg-inn",
                sign_in_form(
                    &ctx,
                    &f.email,
                    Some("Skriv en gyldig e-postadresse, for eksempel kari.nordmann@uib.no."),
                    next,
                ),
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    // The sender's own limit refuses; the address's limit only holds back further mails, with
    // the same answer (see `web::limits`), so that nobody can lock another person out.
    if client.0.is_some_and(|ip| state.limits.by_ip.check_key(&ip).is_err()) {
        return Err(PageError::too_many(
            "Du har bedt om mange innloggingslenker på kort tid.",
        ));
    }
    if state.limits.sign_in_mail_allowed(&email) {
        state.app.request_sign_in_link(&email, next).await?;
    } else {
        tracing::info!("sign-in mail held back: this address was sent links moments ago");
    }
    // The same answer whether the address is known or not.
    let body = html! {
        h1 { "Sjekk e-posten din" }
        p role="status" { "Vi har sendt en innloggingslenke til e-postadressen hvis den er registrert. Lenken virker i " (LINK_MINUTES) " minutter." }
        p { "Kommer det ingen e-post, kan du " a href="/tilgang" { "be om tilgang" } "." }
    };
    Ok(layout(&ctx, "Sjekk e-posten din", "/logg-inn", body).into_response())
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "Lenken virker ikke lenger",
        format!("Innloggingslenken er allerede brukt eller utløpt. Lenker virker én gang, i {LINK_MINUTES} minutter. Be om en ny lenke under «Logg inn»."),
    )
}

async fn confirm_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    query: RawQuery,
) -> PageResult {
    if !state.app.sign_in_link_usable(&token).await? {
        return Err(link_gone());
    }
    let body = html! {
        h1 { "Logg inn" }
        p { "Trykk på knappen for å logge inn i Borgertun booking." }
        form method="post" action=(format!("/logg-inn/lenke/{token}")) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            @if let Some(next) = next_of(&query) {
                input type="hidden" name="neste" value=(next);
            }
            button type="submit" { "Logg inn" }
        }
    };
    Ok(layout(&ctx, "Logg inn", "/logg-inn", body).into_response())
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    neste: String,
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<ConfirmForm>,
) -> PageResult {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let session = match state.app.sign_in(&token, user_agent).await? {
        SignIn::Session { secret, .. } => secret,
        SignIn::LinkGone => return Err(link_gone()),
        SignIn::NoAccess => {
            return Err(PageError::forbidden(
                "E-postadressen har ikke tilgang. Be koordinator om tilgang.",
            ))
        }
    };
    // Back to the page that asked for sign-in, if it is one of ours; else the week view.
    let cookie = format!(
        "{}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        session_cookie(&state),
        state.app.session_hours() * 3600
    );
    let mut res = Redirect::to(local_path(&f.neste).unwrap_or("/")).into_response();
    set_cookie(&mut res, &state, &cookie);
    Ok(res)
}

/// A form with nothing but its anti-forgery token.
#[derive(Deserialize)]
pub(super) struct EmptyForm {}

/// «Logg ut»: this browser's session ends; the user's other sessions go on.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap, _: CsrfForm<EmptyForm>) -> Response {
    let jar = axum_extra::extract::CookieJar::from_headers(&headers);
    let name = session_cookie(&state);
    if let Some(c) = jar.get(name) {
        if let Err(e) = state.app.sign_out(c.value()).await {
            tracing::error!(error = %e, "sign-out");
        }
    }
    let mut res = Redirect::to("/").into_response();
    set_cookie(
        &mut res,
        &state,
        &format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    res
}
