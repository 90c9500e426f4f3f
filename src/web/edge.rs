//! What every answer goes through at the edge: the request log without secrets, a panic
//! answered as a 500 in the right format, and the caching and transport headers.

use std::any::Any;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};
use super::pages::{error_page, session_cookie};
use super::AppState;

/// What a secret is replaced with in the log.
const REDACTED: &str = "[redacted]";

/// Whether a path segment or query value is a secret: a sign-in link's or a feed's token
/// (64 hex digits, a feed's with `.ics` after it) or an API token (`bt_` and 64 hex digits).
fn is_secret(s: &str) -> bool {
    let s = s.strip_prefix("bt_").unwrap_or(s);
    let s = s.split_once('.').map_or(s, |(head, _)| head);
    s.len() >= 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The path and query of `uri` as the request log writes them: secret path segments, and the
/// values of query parameters that are secrets or named like one (`token`, `key`, …), are
/// replaced by `[redacted]`.
pub fn redact(uri: &axum::http::Uri) -> String {
    let path: Vec<&str> = uri
        .path()
        .split('/')
        .map(|seg| if is_secret(seg) { REDACTED } else { seg })
        .collect();
    let mut out = path.join("/");
    if let Some(query) = uri.query() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let named = ["token", "key", "secret", "password", "code"]
                    .iter()
                    .any(|n| k.eq_ignore_ascii_case(n));
                if named || is_secret(v) {
                    format!("{k}={REDACTED}")
                } else {
                    pair.to_string()
                }
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// `router` with every panic below it answered as a 500 in the request's format (see
/// [`panic_format`]) and logged: never a dropped connection.
pub fn catch_panics<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    router
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(panic_format))
}

/// A handler that panicked: marks the 500 for [`panic_format`], and logs what happened
/// (inside the request's span, so with its id).
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response<axum::body::Body> {
    let what = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    tracing::error!(panic = %what, "handler panicked");
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut().insert(Panicked);
    res
}

/// Set on the answer to a request whose handler panicked.
#[derive(Clone, Copy)]
struct Panicked;

/// The answer to a panic in the request's format: the API's JSON error under `/api/` (and for
/// `/healthz`), the HTML error page elsewhere.
pub async fn panic_format(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = path.starts_with("/api/") || path == "/healthz" || path == "/readyz";
    let res = next.run(req).await;
    if res.extensions().get::<Panicked>().is_none() {
        return res;
    }
    if api {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "Noe gikk galt hos oss. Feilen er logget. Prøv igjen om litt.",
        )
        .into_response()
    } else {
        error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Noe gikk galt",
            "Noe gikk galt hos oss, og feilen er logget. Ingenting er endret. Prøv igjen om litt.",
        )
    }
}

/// `Cache-Control: no-store` on every answer to a signed-in request (a session cookie or an
/// `Authorization` header): such pages carry names, private titles, anti-forgery tokens, and
/// once each a new feed link or token. Also on the sign-in link's page (its URL is a secret).
/// An answer that set its own `Cache-Control` keeps it (the stylesheet, a feed).
///
/// `Strict-Transport-Security` on every answer when the public URL is `https://`.
pub async fn caching_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let signed_in = req.headers().contains_key(header::AUTHORIZATION)
        || axum_extra::extract::CookieJar::from_headers(req.headers())
            .get(session_cookie(&state))
            .is_some();
    let secret_url = req.uri().path().starts_with("/logg-inn/lenke/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if signed_in || secret_url {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    if state.app.public_url().starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::{catch_panics, redact};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    /// No input reaches a panic any more (the absurd dates are refused at the edge, see
    /// `tests/it/hardening.rs`), so a handler made to panic stands in for the next bug.
    #[tokio::test]
    async fn a_panic_answers_500_as_json_in_the_api_and_as_a_page_elsewhere() {
        async fn boom() -> &'static str {
            panic!("a bug")
        }
        let app = catch_panics(
            axum::Router::new()
                .route("/api/v1/boom", get(boom))
                .route("/boom", get(boom)),
        );
        let res = app
            .clone()
            .oneshot(Request::get("/api/v1/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["errors"][0]["code"], "internal_error");

        let res = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("Noe gikk galt"));
    }

    #[test]
    fn secrets_in_paths_and_queries_are_redacted() {
        let hex = "ab".repeat(32);
        let cases = [
            (
                format!("/logg-inn/lenke/{hex}?neste=%2Fbookinger"),
                "/logg-inn/lenke/[redacted]?neste=%2Fbookinger".to_string(),
            ),
            (format!("/feeds/{hex}.ics"), "/feeds/[redacted]".to_string()),
            (
                format!("/x?token=abc&a=1&b={hex}"),
                "/x?token=[redacted]&a=1&b=[redacted]".to_string(),
            ),
            (
                "/bookinger/12?dato=2026-03-02".to_string(),
                "/bookinger/12?dato=2026-03-02".to_string(),
            ),
        ];
        for (uri, logged) in cases {
            assert_eq!(redact(&uri.parse().unwrap()), logged, "{uri}");
        }
    }
}
