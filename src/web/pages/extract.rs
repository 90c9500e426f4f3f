//! The pages' guards, as extractors: who must be signed in, who must be a coordinator or may
//! read reports, and forms that must carry this browser's anti-forgery token. A handler that
//! takes one of them runs only when it holds; otherwise the rejection (a [`PageError`]) is
//! the answer.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Form;
use serde::de::DeserializeOwned;

use super::error::PageError;
use super::{FormGuard, PageCtx};
use crate::domain::{Role, User};
use crate::web::AppState;

/// A signed-in user; the sign-in page (and back) for everyone else.
#[derive(Debug, Clone)]
pub struct SignedIn(pub User);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ctx) = PageCtx::from_request_parts(parts, state).await;
        match ctx.user {
            Some(u) => Ok(SignedIn(u)),
            None => Err(PageError::SignIn { here: ctx.here }),
        }
    }
}

/// A signed-in coordinator (or administrator); 403 for other users.
#[derive(Debug, Clone)]
pub struct Coordinator(pub User);

impl FromRequestParts<AppState> for Coordinator {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedIn(u) = SignedIn::from_request_parts(parts, state).await?;
        if u.role.is_coordinator() {
            Ok(Coordinator(u))
        } else {
            Err(PageError::forbidden("Denne siden er for koordinator."))
        }
    }
}

/// Reports are for BEHO staff, coordinators and administrators.
pub fn may_see_reports(user: &User) -> bool {
    matches!(user.role, Role::Staff | Role::Coordinator | Role::Admin)
}

/// A signed-in user who may read the report; 403 for other users.
#[derive(Debug, Clone)]
pub struct ReportReader(pub User);

impl FromRequestParts<AppState> for ReportReader {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedIn(u) = SignedIn::from_request_parts(parts, state).await?;
        if may_see_reports(&u) {
            Ok(ReportReader(u))
        } else {
            Err(PageError::forbidden("Rapporten er for ansatte i BEHO og koordinator."))
        }
    }
}

/// A submitted form (`application/x-www-form-urlencoded`) that carries the anti-forgery token
/// of this session (or, signed out, of this browser's pre-session) in its `csrf` field; the
/// expired-form page otherwise, and nothing runs.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let binding = req.extensions().get::<FormGuard>().map(|g| g.binding.clone());
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        let unreadable = |status: StatusCode| {
            PageError::refused(
                status,
                "Skjemaet kunne ikke leses",
                "Skjemaet kunne ikke leses, og ingenting er endret. Gå tilbake og prøv igjen.",
            )
        };
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| unreadable(e.status()))?;
        let sent = form_urlencoded::parse(&body)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let valid = match &binding {
            Some(b) => state.app.form_token_valid(b, &sent).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "anti-forgery key");
                false
            }),
            None => false,
        };
        if !valid {
            return Err(PageError::CsrfRefused);
        }
        let mut again = Request::post("/")
            .body(Body::from(body))
            .map_err(|_| unreadable(StatusCode::BAD_REQUEST))?;
        if let Some(ct) = content_type {
            again.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        let Form(form) = Form::<T>::from_request(again, state)
            .await
            .map_err(|e| unreadable(e.status()))?;
        Ok(CsrfForm(form))
    }
}
