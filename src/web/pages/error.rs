//! The pages' one error: what a handler answers when it cannot show its page. It renders
//! itself (the sign-in redirect, the expired-form page, or an error page with its status),
//! and logs what the user is not shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{csrf_refused, error_page, local_path};
use crate::service::ServiceError;

#[derive(Debug)]
pub enum PageError {
    /// Not signed in: the sign-in page, which brings them back to `here` (a `GET`'s path).
    SignIn { here: Option<String> },
    /// A form without this browser's anti-forgery token; nothing was changed.
    CsrfRefused,
    /// 404 with a title and a message.
    NotFound { title: &'static str, message: String },
    /// 403 «Ingen tilgang» with a message.
    Forbidden(String),
    /// Any other refusal: status, title and message.
    Refused {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
    /// Trouble on our side (logged): 503 «Noe gikk galt» with a message.
    Unavailable { message: &'static str, error: String },
    /// The database cannot be reached now (logged): 503 «Midlertidig utilgjengelig».
    DatabaseDown { error: String },
}

pub type PageResult<T = Response> = Result<T, PageError>;

const TRY_AGAIN: &str = "Prøv igjen om litt.";

impl PageError {
    pub fn not_found(title: &'static str, message: impl Into<String>) -> Self {
        PageError::NotFound {
            title,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        PageError::Forbidden(message.into())
    }

    pub fn refused(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        PageError::Refused {
            status,
            title,
            message: message.into(),
        }
    }

    pub fn unavailable(message: &'static str, error: impl std::fmt::Display) -> Self {
        PageError::Unavailable {
            message,
            error: error.to_string(),
        }
    }

    /// The answer to too many submissions.
    pub fn too_many(what: &str) -> Self {
        PageError::refused(
            StatusCode::TOO_MANY_REQUESTS,
            "For mange forsøk",
            format!("{what} Vent noen minutter og prøv igjen. Ingenting er endret."),
        )
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Rules(errs) => PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Kan ikke utføres",
                errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "),
            ),
            ServiceError::Conflict(e) => PageError::refused(StatusCode::CONFLICT, "Kan ikke utføres", e.message),
            ServiceError::NotFound => PageError::not_found("Fant ikke siden", "Det du ba om, finnes ikke."),
            ServiceError::Forbidden => PageError::forbidden("Du har ikke tilgang til dette."),
            ServiceError::Store(e) if e.is_unavailable() => PageError::DatabaseDown { error: e.to_string() },
            e @ ServiceError::Store(_) => PageError::unavailable(TRY_AGAIN, e),
        }
    }
}

/// `.unavailable(message)`: a service result whose trouble on our side is told with `message`.
pub trait ServiceResultExt<T> {
    fn unavailable(self, message: &'static str) -> PageResult<T>;
}

impl<T> ServiceResultExt<T> for Result<T, ServiceError> {
    fn unavailable(self, message: &'static str) -> PageResult<T> {
        self.map_err(|e| match e {
            ServiceError::Store(e) if e.is_unavailable() => PageError::DatabaseDown { error: e.to_string() },
            e @ ServiceError::Store(_) => PageError::unavailable(message, e),
            e => e.into(),
        })
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { here } => sign_in_first(here.as_deref()),
            PageError::CsrfRefused => csrf_refused(),
            PageError::NotFound { title, message } => error_page(StatusCode::NOT_FOUND, title, &message),
            PageError::Forbidden(message) => error_page(StatusCode::FORBIDDEN, "Ingen tilgang", &message),
            PageError::Refused { status, title, message } => error_page(status, title, &message),
            PageError::Unavailable { message, error } => {
                tracing::error!(error = %error, "page");
                error_page(StatusCode::SERVICE_UNAVAILABLE, "Noe gikk galt", message)
            }
            PageError::DatabaseDown { error } => {
                tracing::warn!(error = %error, "page: database unavailable");
                let mut res = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Midlertidig utilgjengelig",
                    crate::web::error::UNAVAILABLE_MESSAGE,
                );
                res.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static(crate::web::error::UNAVAILABLE_RETRY_AFTER),
                );
                res
            }
        }
    }
}

/// The answer to someone who must sign in first: the sign-in page, which brings them back to
/// the page they asked for (a link in a mail, say). Only for `GET`: a form sent after the
/// session ended is not sent again, and its page is asked for anew.
fn sign_in_first(here: Option<&str>) -> Response {
    match here.and_then(local_path).filter(|p| *p != "/") {
        Some(path) => {
            let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
            Redirect::to(&format!("/logg-inn?neste={next}")).into_response()
        }
        None => Redirect::to("/logg-inn").into_response(),
    }
}
