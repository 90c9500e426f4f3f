//! «Innlogginger»: where the user is signed in — each session with when it started, when it
//! was last used and the browser — and «Logg ut alle andre», which ends every session but
//! this browser's.

use crate::web::routes::Routes;
use axum::extract::State;
use axum::response::IntoResponse;
use maud::{html, Markup};

use super::error::ServiceResultExt;
use super::signin::EmptyForm;
use super::{layout, CsrfForm, PageCtx, PageResult, ThisSession};
use crate::domain::time::format_datetime;
use crate::web::AppState;

pub const PATH: &str = "/innlogginger";

pub fn routes() -> Routes {
    Routes::new()
        .get(PATH, list)
        .post("/innlogginger/logg-ut-andre", sign_out_others)
}

const NOTHING_CHANGED: &str = "Innloggingene kunne ikke hentes. Prøv igjen om litt.";

/// The browser and system a User-Agent names, in plain words («Firefox på Windows»).
pub fn browser_of(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Ukjent nettleser".to_string();
    };
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "Ukjent nettleser"
    };
    let system = if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(s) => format!("{browser} på {s}"),
        None => browser.to_string(),
    }
}

async fn list(State(state): State<AppState>, ctx: PageCtx, ThisSession(me): ThisSession) -> PageResult {
    page(&state, &ctx, &me, None).await
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    me: &crate::service::CurrentSession,
    notice: Option<Markup>,
) -> PageResult {
    let sessions = state.app.sessions_of(&me.user).await.unavailable(NOTHING_CHANGED)?;
    let auth = &state.app.config().auth;
    let others = sessions.iter().filter(|s| s.id != me.id).count();
    let body = html! {
        h1 { "Innlogginger" }
        @if let Some(n) = notice { (n) }
        p {
            "Her ser du nettleserne der du er logget inn. En innlogging varer i høyst "
            (auth.session_hours) " timer, og den avsluttes etter "
            (auth.session_idle_minutes) " minutter uten bruk."
        }
        div.table-scroll role="region" tabindex="0" aria-label="Innlogginger" {
            table {
                caption { (sessions.len()) @if sessions.len() == 1 { " innlogging" } @else { " innlogginger" } }
                thead { tr { th scope="col" { "Nettleser" } th scope="col" { "Logget inn" } th scope="col" { "Sist brukt" } } }
                tbody {
                    @for s in &sessions {
                        tr {
                            td {
                                (browser_of(s.user_agent.as_deref()))
                                @if s.id == me.id { " " strong { "(denne nettleseren)" } }
                            }
                            td { (format_datetime(s.created_at)) }
                            td { (format_datetime(s.last_seen_at)) }
                        }
                    }
                }
            }
        }
        @if others > 0 {
            form method="post" action="/innlogginger/logg-ut-andre" {
                input type="hidden" name="csrf" value=(ctx.csrf);
                button type="submit" { "Logg ut alle andre" }
            }
        } @else {
            p { "Du er ikke logget inn i noen andre nettlesere." }
        }
        p { "Ser du en innlogging du ikke kjenner igjen, logg ut alle andre og si fra til koordinator." }
    };
    Ok(layout(ctx, "Innlogginger", PATH, body).into_response())
}

/// «Logg ut alle andre»: every session of the user but this one ends.
async fn sign_out_others(
    State(state): State<AppState>,
    ctx: PageCtx,
    ThisSession(me): ThisSession,
    _: CsrfForm<EmptyForm>,
) -> PageResult {
    let n = state
        .app
        .sign_out_others(&me)
        .await
        .unavailable("De andre innloggingene kunne ikke avsluttes. Prøv igjen om litt.")?;
    let notice = html! {
        p.notice role="status" {
            @if n == 1 { "1 annen innlogging er avsluttet." } @else { (n) " andre innlogginger er avsluttet." }
        }
    };
    page(&state, &ctx, &me, Some(notice)).await
}

#[cfg(test)]
mod tests {
    use super::browser_of;

    #[test]
    fn browsers_in_plain_words() {
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser_of(Some(firefox)), "Firefox på Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(browser_of(Some(edge)), "Edge på Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_of(Some(safari)), "Safari på iOS");
        assert_eq!(browser_of(Some("curl/8.5.0")), "Ukjent nettleser");
        assert_eq!(browser_of(None), "Ukjent nettleser");
    }
}
