//! The HTML pages (maud), in Norwegian bokmål, for people rather than programs. One layout;
//! no JavaScript needed (the screen by the door reloads itself with a few lines of it).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use super::AppState;

mod public;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(public::week))
        .route("/i-dag", get(public::today))
        .route("/regler", get(public::rules))
        .route("/tilgjengelighet", get(public::accessibility))
        .route("/static/borgertun.css", get(css))
        .route("/static/refresh.js", get(js))
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
const NAV: [(&str, &str); 3] = [
    ("/", "Ukevisning"),
    ("/i-dag", "I dag i Borgertun"),
    ("/regler", "Regler for booking"),
];

/// A whole page: skip link, header with navigation, main content, footer.
pub fn layout(title: &str, current: &str, body: Markup) -> Markup {
    layout_with(title, current, "", body)
}

pub fn layout_with(title: &str, current: &str, body_class: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Borgertun booking" }
                link rel="stylesheet" href="/static/borgertun.css";
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
                    }
                }
                main id="innhold" tabindex="-1" { div.wrap { (body) } }
                footer.site {
                    div.wrap {
                        p { "Borgertun, Årstadveien 17, Bergen · Bergen kommune, Byrådsavdeling for eldre, helse og omsorg" }
                        p { a href="/tilgjengelighet" { "Tilgjengelighetserklæring" } }
                    }
                }
            }
        }
    }
}

/// A page answering an error, with its status.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = layout(
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
