//! Sign-in without passwords: a single-use link by e-mail (through the outbox), confirmed by a
//! button so mail scanners that open links cannot use it up; sessions in the database.
//!
//! The answer to a request never tells whether an address is known. A link is sent to known
//! users, and to addresses whose domain belongs to a configured organisation: those get an
//! account in that organisation (as `requester`) when they first sign in.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration as StdDuration;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use maud::html;
use serde::Deserialize;

use super::{layout, local_path, session_cookie, set_cookie, CsrfForm, PageCtx, PageError, PageResult};
use crate::domain::booking::parse_email;
use crate::service::{SignIn, LINK_MINUTES};
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logg-inn", get(form).post(request))
        .route("/logg-inn/lenke/{token}", get(confirm_page).post(confirm))
        .route("/logg-ut", post(sign_out))
}

/// Rate limits on sign-in and access requests, and on booking submissions: per address and
/// per client address.
pub struct Limits {
    sign_in_by_email: DefaultKeyedRateLimiter<String>,
    pub(super) by_ip: DefaultKeyedRateLimiter<std::net::IpAddr>,
    pub(super) booking_by_user: DefaultKeyedRateLimiter<i64>,
    pub(super) booking_by_ip: DefaultKeyedRateLimiter<std::net::IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        let per = |every_secs: u64, burst: u32| {
            Quota::with_period(StdDuration::from_secs(every_secs))
                .expect("a period")
                .allow_burst(NonZeroU32::new(burst).expect("burst"))
        };
        Self {
            // Five links an address, then one every three minutes; thirty requests a client.
            sign_in_by_email: RateLimiter::keyed(per(180, 5)),
            by_ip: RateLimiter::keyed(per(30, 30)),
            // Booking submissions (new, alternatives, moves): thirty in a row for a user, then
            // one every twenty seconds; a shared office address gets three times as many.
            booking_by_user: RateLimiter::keyed(per(20, 30)),
            booking_by_ip: RateLimiter::keyed(per(7, 90)),
        }
    }
}

impl Limits {
    /// Whether a booking submission by `user` from `client` must wait.
    pub(super) fn booking_limited(&self, user: i64, client: &ClientAddr) -> bool {
        self.booking_by_user.check_key(&user).is_err()
            || client.0.is_some_and(|ip| self.booking_by_ip.check_key(&ip).is_err())
    }
}

/// `?neste=`: the page to return to after signing in (see [`super::sign_in_first`]), if it is
/// one of ours. Read by hand, so that no query string can make the sign-in pages fail.
fn next_of(RawQuery(query): &RawQuery) -> Option<String> {
    let query = query.as_deref()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "neste")
        .and_then(|(_, v)| local_path(&v).map(str::to_string))
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
    let limited = state.limits.sign_in_by_email.check_key(&email).is_err()
        || client.0.is_some_and(|ip| state.limits.by_ip.check_key(&ip).is_err());
    if limited {
        return Err(PageError::too_many(
            "Du har bedt om mange innloggingslenker på kort tid.",
        ));
    }
    state.app.request_sign_in_link(&email, next).await?;
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

/// The client's IP address, when the server provides it (`borgertun serve` does).
pub(super) struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
        ))
    }
}
