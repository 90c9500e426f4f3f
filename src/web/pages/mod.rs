//! The HTML pages (maud), in Norwegian bokmål, for people rather than programs. One layout;
//! no JavaScript needed (the screen by the door reloads itself with a few lines of it).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use super::routes::Routes;
use super::AppState;
use crate::service::{CurrentSession, FormBinding};

mod access;
mod activities;
mod booking;
mod checkin;
mod coordinator;
mod counts;
mod error;
mod extract;
mod mine;
mod privacy;
mod public;
mod reminders;
mod report;
mod series;
mod sessions;
mod signin;
mod subscriptions;
mod waitlist;

pub use crate::web::limits::Limits;
pub use booking::{parse_slot, read_booking_form};
pub use error::{PageError, PageResult};
pub use extract::{may_see_reports, Coordinator, CsrfForm, ReportReader, SignedIn};

/// The session cookie's name over plain HTTP (tests, a laptop).
pub const SESSION_COOKIE: &str = "borgertun_session";
/// The pre-session cookie's name over plain HTTP: a signed-out browser's random id, which
/// its forms' anti-forgery tokens are bound to.
pub const PRE_SESSION_COOKIE: &str = "borgertun_presession";

/// Whether the service is reached over HTTPS (`server.public_url`).
fn https(state: &AppState) -> bool {
    state.app.public_url().starts_with("https://")
}

/// The session cookie's name: `__Host-borgertun_session` over HTTPS, so that the browser
/// takes it only from this host, sent over HTTPS, for `Path=/` and without `Domain`: no other
/// site under the same domain can set or overwrite it.
pub fn session_cookie(state: &AppState) -> &'static str {
    if https(state) {
        "__Host-borgertun_session"
    } else {
        SESSION_COOKIE
    }
}

/// The pre-session cookie's name: `__Host-borgertun_presession` over HTTPS.
pub fn pre_session_cookie(state: &AppState) -> &'static str {
    if https(state) {
        "__Host-borgertun_presession"
    } else {
        PRE_SESSION_COOKIE
    }
}

/// The pages: those that set the anti-forgery cookie, then those that must not (a cached feed
/// or asset never carries anyone's cookie). Every page route is registered here, through
/// [`Routes`], so that [`route_list`] is the router's own list.
fn routes() -> (Routes, Routes) {
    let with_csrf = Routes::new()
        .get("/", public::week)
        .get("/i-dag", public::today)
        .get("/regler", public::rules)
        .get("/tilgjengelighet", public::accessibility)
        .merge(privacy::routes())
        .merge(signin::routes())
        .merge(reminders::routes())
        .merge(booking::routes())
        .merge(mine::routes())
        .merge(checkin::routes())
        .merge(series::routes())
        .merge(waitlist::routes())
        .merge(access::routes())
        .merge(subscriptions::routes())
        .merge(sessions::routes())
        .merge(coordinator::routes())
        .merge(activities::routes())
        .merge(report::routes());
    let without = activities::feed_routes()
        .get("/static/borgertun.css", css)
        .get("/static/refresh.js", js)
        .get("/static/copy.js", copy_js);
    (with_csrf, without)
}

pub fn router(state: AppState) -> Router<AppState> {
    let (with_csrf, without) = routes();
    with_csrf
        .map_router(|r| r.layer(axum::middleware::from_fn_with_state(state, anti_forgery)))
        .merge(without)
        .into_router()
}

/// The method and path of every page route.
pub fn route_list() -> Vec<(Method, &'static str)> {
    let (with_csrf, without) = routes();
    with_csrf.merge(without).list().to_vec()
}

async fn copy_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../static/copy.js"),
    )
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../../static/borgertun.css"))
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../static/refresh.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The main navigation; `current` is marked for screen readers and by style.
const NAV: [(&str, &str); 4] = [
    ("/", "Ukevisning"),
    ("/i-dag", "I dag i Borgertun"),
    (activities::PATH, "Aktiviteter"),
    ("/regler", "Regler for booking"),
];

/// The signed-in user's pages; the coordinator's only for coordinators.
const ACCOUNT_NAV: &[(&str, &str)] = &[
    ("/bookinger", "Våre bookinger"),
    (subscriptions::PATH, "Kalenderabonnement"),
    (sessions::PATH, "Innlogginger"),
    (report::PATH, "Rapport"),
    (coordinator::PATH, "Koordinator"),
];

/// Who is asking, and the token their forms must carry.
#[derive(Debug, Clone, Default)]
pub struct PageCtx {
    pub user: Option<crate::domain::User>,
    /// The anti-forgery token every form repeats in a hidden `csrf` field: bound to the
    /// session, or (signed out) to the browser's pre-session id.
    pub csrf: String,
    /// The path and query of a `GET` request: where to return after signing in.
    pub here: Option<String>,
}

/// What `anti_forgery` found for this request: its live session, if any, what its forms are
/// bound to, and their token.
#[derive(Debug, Clone)]
struct FormGuard {
    session: Option<CurrentSession>,
    binding: FormBinding,
    token: String,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    /// Looked up once a request: the guards read the same context.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<PageCtx>() {
            return Ok(ctx.clone());
        }
        let (user, csrf) = match parts.extensions.get::<FormGuard>() {
            Some(g) => (g.session.as_ref().map(|s| s.user.clone()), g.token.clone()),
            // Outside the pages' layer: no forms.
            None => (session_of(&parts.headers, state).await.map(|s| s.user), String::new()),
        };
        let here = (parts.method == Method::GET)
            .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_string()))
            .flatten();
        let ctx = PageCtx { user, csrf, here };
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

/// The live session the request's cookie names, if any.
async fn session_of(headers: &axum::http::HeaderMap, state: &AppState) -> Option<CurrentSession> {
    session_lookup(headers, state).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "session lookup");
        None
    })
}

async fn session_lookup(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Option<CurrentSession>, crate::service::ServiceError> {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    match jar.get(session_cookie(state)) {
        Some(cookie) => state.app.session(cookie.value()).await,
        None => Ok(None),
    }
}

/// The live session of a page request (looked up by `anti_forgery`).
#[derive(Debug, Clone)]
pub struct ThisSession(pub CurrentSession);

impl FromRequestParts<AppState> for ThisSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ctx) = PageCtx::from_request_parts(parts, state).await;
        match parts.extensions.get::<FormGuard>().and_then(|g| g.session.clone()) {
            Some(s) => Ok(ThisSession(s)),
            None => Err(PageError::SignIn { here: ctx.here }),
        }
    }
}

/// `s` if it is a page of this service to return to after signing in: a path with one leading
/// slash (not `//host` or `/\host`, which browsers read as another site), in visible ASCII
/// without backslashes (as a request's own path and query are; it goes into a `Location`
/// header), not the sign-in pages themselves, at most 1,000 characters.
pub fn local_path(s: &str) -> Option<&str> {
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && s.len() <= 1000
        && s.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !s.starts_with("/logg-inn")
        && !s.starts_with("/logg-ut");
    ok.then_some(s)
}

/// `?neste=` of a query string: the page to return to after signing in, if it is one of ours
/// ([`local_path`]).
pub fn return_path(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "neste")
        .and_then(|(_, v)| local_path(&v).map(str::to_string))
}

/// Errors of a submitted form, by field; shown next to their fields and summed up on top.
#[derive(Debug, Default)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn for_field(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// The summary on top of a refused form, read out when the page loads.
    pub fn summary(&self, lead: &str) -> Markup {
        html! {
            @if !self.0.is_empty() {
                div.notice role="alert" {
                    p { (lead) }
                    ul { @for (_, m) in &self.0 { li { (m) } } }
                }
            }
        }
    }
}

/// A labelled form field with its errors, which the input refers to (`aria-describedby`).
pub struct Field<'a> {
    pub id: &'static str,
    label: &'a str,
    errors: &'a FieldErrors,
}

impl<'a> Field<'a> {
    pub fn new(id: &'static str, label: &'a str, errors: &'a FieldErrors) -> Self {
        Field { id, label, errors }
    }

    /// `aria-invalid` for the input.
    pub fn invalid(&self) -> Option<&'static str> {
        (!self.errors.for_field(self.id).is_empty()).then_some("true")
    }

    /// `aria-describedby` for the input: the ids of its error messages.
    pub fn described(&self) -> Option<String> {
        let n = self.errors.for_field(self.id).len();
        (n > 0).then(|| {
            (0..n)
                .map(|i| format!("{}-feil-{i}", self.id))
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// The label, the errors and `input`.
    pub fn wrap(&self, input: Markup) -> Markup {
        html! {
            div.field {
                label for=(self.id) { (self.label) }
                @for (i, e) in self.errors.for_field(self.id).iter().enumerate() {
                    p.field-error id=(format!("{}-feil-{i}", self.id)) { (e) }
                }
                (input)
            }
        }
    }

    pub fn input(&self, kind: &str, value: &str, autocomplete: &str) -> Markup {
        self.wrap(html! {
            input type=(kind) id=(self.id) name=(self.id) value=(value) autocomplete=(autocomplete)
                aria-invalid=[self.invalid()] aria-describedby=[self.described()];
        })
    }

    pub fn textarea(&self, value: &str, rows: u32) -> Markup {
        self.wrap(html! {
            textarea id=(self.id) name=(self.id) rows=(rows) aria-invalid=[self.invalid()] aria-describedby=[self.described()] { (value) }
        })
    }
}

/// The page every refused form gets: nothing was changed.
pub fn csrf_refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Skjemaet er utløpt",
        "Skjemaet kunne ikke sendes, og ingenting er endret. Gå tilbake, last siden på nytt og prøv igjen.",
    )
}

/// Look up the request's session once, and give its forms their anti-forgery token: an
/// HMAC, under the server's key, of the session, or, signed out, of the browser's pre-session
/// id (a random value in an `HttpOnly; SameSite=Strict` cookie, made here when missing). A
/// token from another session, another browser or an earlier sign-in does not fit.
pub async fn anti_forgery(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let session = match session_lookup(req.headers(), &state).await {
        Ok(session) => session,
        // The database is down: a signed-in page cannot be shown, and is not shown signed out.
        Err(crate::service::ServiceError::Store(e)) if e.is_unavailable() => {
            return PageError::from(crate::service::ServiceError::Store(e)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "session lookup");
            None
        }
    };
    let mut fresh = None;
    let binding = match &session {
        Some(s) => s.binding.clone(),
        None => {
            let jar = axum_extra::extract::CookieJar::from_headers(req.headers());
            let existing = jar
                .get(pre_session_cookie(&state))
                .map(|c| c.value().to_string())
                .filter(|v| crate::token::is_secret(v));
            let id = existing.unwrap_or_else(|| {
                let id = crate::token::random_secret();
                fresh = Some(id.clone());
                id
            });
            FormBinding::PreSession(id)
        }
    };
    // Without a key (the database is down) forms get no token, and are refused.
    let token = state.app.form_token(&binding).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "anti-forgery key");
        String::new()
    });
    req.extensions_mut().insert(FormGuard {
        session,
        binding,
        token,
    });
    let mut res = next.run(req).await;
    if let Some(id) = fresh {
        let name = pre_session_cookie(&state);
        set_cookie(
            &mut res,
            &state,
            &format!("{name}={id}; Path=/; HttpOnly; SameSite=Strict"),
        );
    }
    res
}

/// Adds `cookie` (name, value and attributes) to `res`, with `; Secure` over HTTPS.
pub(super) fn set_cookie(res: &mut Response, state: &AppState, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("{cookie}{}", secure_suffix(state))) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `; Secure` when the service is reached over HTTPS.
pub fn secure_suffix(state: &AppState) -> &'static str {
    if state.app.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// A whole page: skip link, header with navigation and sign-in state, main content, footer.
pub fn layout(ctx: &PageCtx, title: &str, current: &str, body: Markup) -> Markup {
    layout_with(ctx, title, current, "", body)
}

pub fn layout_with(ctx: &PageCtx, title: &str, current: &str, body_class: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Borgertun booking" }
                link rel="stylesheet" href="/static/borgertun.css";
                link rel="icon" href="data:,";
            }
            body class=(body_class) {
                a.skip href="#innhold" { "Hopp til innholdet" }
                header.site {
                    div.wrap {
                        a.brand href="/" { "Borgertun booking" }
                        nav.main aria-label="Hovedmeny" {
                            ul {
                                @for (href, text) in NAV {
                                    li {
                                        @if href == current {
                                            a href=(href) aria-current="page" { (text) }
                                        } @else {
                                            a href=(href) { (text) }
                                        }
                                    }
                                }
                            }
                        }
                        div.account {
                            @if let Some(user) = &ctx.user {
                                @for (href, text) in ACCOUNT_NAV {
                                    @if (*href != coordinator::PATH || user.role.is_coordinator())
                                        && (*href != report::PATH || may_see_reports(user)) {
                                        @if *href == current {
                                            a href=(href) aria-current="page" { (text) }
                                        } @else {
                                            a href=(href) { (text) }
                                        }
                                    }
                                }
                                span { "Logget inn som " (user.name) }
                                form.inline method="post" action="/logg-ut" {
                                    input type="hidden" name="csrf" value=(ctx.csrf);
                                    button.link type="submit" { "Logg ut" }
                                }
                            } @else if current != "/logg-inn" {
                                a href="/logg-inn" { "Logg inn" }
                            }
                        }
                    }
                }
                main id="innhold" tabindex="-1" { div.wrap { (body) } }
                footer.site {
                    div.wrap {
                        p { "Borgertun, Årstadveien 17, Bergen · Bergen kommune, Byrådsavdeling for eldre, helse og omsorg" }
                        p {
                            a href="/tilgjengelighet" { "Tilgjengelighetserklæring" }
                            " · "
                            a href=(privacy::PATH) { "Personvernerklæring" }
                        }
                    }
                }
            }
        }
    }
}

/// A page answering an error, with its status.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let ctx = PageCtx::default();
    let body = layout(
        &ctx,
        title,
        "",
        html! { h1 { (title) } p.notice role="alert" { (message) } p { a href="/" { "Til ukevisningen" } } },
    );
    (status, body).into_response()
}

/// Security headers on every answer: a strict Content-Security-Policy (own scripts and styles
/// only, no framing), no MIME sniffing, no referrer outside the site.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    set(h, "permissions-policy", "camera=(), microphone=(), geolocation=()");
    res
}
