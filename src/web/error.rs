//! The API's error answer: `{ "errors": [ { "code", "message", "field"? } ] }` with a stable
//! code (one of [`ErrorCode`]) and a Norwegian message; internal details are logged, never
//! shown. A busy slot adds `alternatives`, `held_by` and `protected`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::DomainError;
use crate::service::ServiceError;
use crate::service::StoreError;

/// Every code an API error can carry: the API's own and the domain's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The API's own.
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Duplicate,
    InternalError,
    PayloadTooLarge,
    InvalidBody,
    UnsupportedMediaType,
    /// Too many of a series' occurrences are busy or refused: nothing stored.
    SeriesRefused,
    InvalidJson,
    InvalidPath,
    InvalidQuery,
    /// Too many writes in a short time (429, with `Retry-After`).
    RateLimited,
    /// `/readyz`: the database does not answer, or its schema is not this build's (503).
    NotReady,
    /// The database cannot be reached just now (503, with `Retry-After`): nothing was
    /// changed that the answer does not tell of; try again in a little while.
    Unavailable,
    /// A rule's code this enum does not know yet (logged; a bug).
    InvalidInput,
    // The rules of `domain`.
    AlreadyEnded,
    /// Already on the waitlist for that time.
    AlreadyWaiting,
    AttendanceNotDue,
    BeyondHorizon,
    Busy,
    /// Outside the check-in window.
    CheckInClosed,
    /// A check-in for a tier without check-in.
    CheckInNotRequired,
    ClosedDay,
    /// An occurrence of a series that was not booked (stored before its reason had a code).
    Declined,
    EndBeforeStart,
    /// A hold's time to confirm has run out.
    HoldExpired,
    InPast,
    InvalidAttendees,
    InvalidCount,
    InvalidDate,
    InvalidDescription,
    InvalidEmail,
    InvalidFeedKind,
    InvalidReason,
    InvalidRecurrence,
    InvalidRole,
    InvalidState,
    InvalidStatus,
    InvalidTime,
    InvalidTitle,
    MeasureNotInForce,
    MissingOffset,
    /// The time is not busy for the requester: request it instead of waiting for it.
    NotBusy,
    NotOnSlotGrid,
    NothingToChange,
    OutsideOpeningHours,
    OverCapacity,
    /// The requester's own organisation already holds the time.
    OwnBooking,
    PeriodTooLong,
    Protected,
    QuotaExceeded,
    RangeTooLarge,
    ReasonRequired,
    TooLate,
    TooLong,
    TooManyItems,
    TooShort,
    UnknownGroupBy,
    UnknownMeasure,
    UnknownOrganisation,
    UnknownRoom,
    UnknownGoalArea,
    UnknownKind,
    UnknownTheme,
    UnknownGroup,
    UnsupportedRecurrence,
}

impl ErrorCode {
    /// The code of a domain rule's error (its `&'static str` code, in snake case).
    pub fn of(code: &str) -> Option<ErrorCode> {
        serde_json::from_value(serde_json::Value::String(code.to_string())).ok()
    }

    fn of_domain(code: &str) -> ErrorCode {
        Self::of(code).unwrap_or_else(|| {
            tracing::error!(code, "a domain error code that ErrorCode lacks");
            ErrorCode::InvalidInput
        })
    }
}

/// What a person is told when the database cannot be reached (the API and the pages).
pub const UNAVAILABLE_MESSAGE: &str = "Tjenesten er midlertidig utilgjengelig. Prøv igjen om litt.";

/// Seconds a client is asked to wait (`Retry-After`) after `unavailable`.
pub const UNAVAILABLE_RETRY_AFTER: &str = "5";

/// One problem with the request.
#[derive(Debug, Serialize, Deserialize, Clone, ToSchema)]
pub struct ErrorItem {
    pub code: ErrorCode,
    /// In Norwegian, for people.
    pub message: String,
    /// The input field the problem is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A free slot offered instead.
#[derive(Debug, Serialize, Deserialize, Clone, ToSchema)]
pub struct SlotOut {
    /// RFC 3339, Europe/Oslo offset.
    pub start: String,
    pub end: String,
    /// The time in Norwegian, e.g. «mandag 2. mars kl. 09.00–11.00».
    pub text: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, Clone, ToSchema)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
    /// With `busy`: free slots of the same length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<SlotOut>>,
    /// With `busy`: the bookings that hold the slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<Vec<i64>>,
    /// With `busy`: whether what holds the slot is inside the protection window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// With `series_refused`: what would have become of every occurrence (nothing is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<Vec<OccurrenceOut>>,
}

/// One occurrence of a series and what became of it.
#[derive(Debug, Serialize, Deserialize, Clone, ToSchema)]
pub struct OccurrenceOut {
    /// RFC 3339, Europe/Oslo offset: its time now.
    pub start: String,
    pub end: String,
    /// Its start by the pattern (RECURRENCE-ID in calendars).
    pub recurrence_id: String,
    /// `confirmed`, `pending`, `planned` (beyond the horizon: booked when it comes within),
    /// `skipped` (a closed day), `declined` (busy, or refused by a rule); for a stored series
    /// also `cancelled`, `rejected` or `displaced`.
    pub status: String,
    /// The outcome in plain Norwegian, e.g. «tirsdag 14. april 2026: 2. påskedag, hoppes over».
    pub text: String,
    /// Why it was skipped or declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<i64>,
    /// Free slots of the same length, for a busy occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<SlotOut>>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                errors: vec![ErrorItem {
                    code,
                    message: message.into(),
                    field: None,
                }],
                alternatives: None,
                held_by: None,
                protected: None,
                occurrences: None,
            },
        }
    }

    pub fn rules(errors: Vec<DomainError>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ErrorBody {
                errors: errors
                    .into_iter()
                    .map(|e| ErrorItem {
                        code: ErrorCode::of_domain(e.code),
                        message: e.message,
                        field: e.field.map(String::from),
                    })
                    .collect(),
                alternatives: None,
                held_by: None,
                protected: None,
                occurrences: None,
            },
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "Mangler eller ugyldig tilgangsnøkkel (Authorization: Bearer …).",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "Du har ikke tilgang til dette.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Fant ikke det du ba om.")
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::InternalError,
            "Noe gikk galt hos oss. Prøv igjen om litt.",
        )
    }

    /// The database cannot be reached now (down, restarting, or too busy).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            UNAVAILABLE_MESSAGE,
        )
    }

    /// The codes of this answer (for logs and tests).
    pub fn codes(&self) -> Vec<ErrorCode> {
        self.body.errors.iter().map(|e| e.code).collect()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::rules(vec![e])
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Overlap => Self::new(StatusCode::CONFLICT, ErrorCode::Busy, "Rommet er opptatt."),
            StoreError::Duplicate(what) => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::Duplicate,
                format!("Finnes allerede ({what})."),
            ),
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "database unavailable");
                Self::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::internal()
            }
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Rules(errors) => Self::rules(errors),
            ServiceError::Conflict(e) => {
                let mut err = Self::rules(vec![e]);
                err.status = StatusCode::CONFLICT;
                err
            }
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Forbidden => Self::forbidden(),
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unavailable = self.codes() == [ErrorCode::Unavailable];
        let mut res = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        if unavailable {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// Every code written as `DomainError::new("…"` (or returned as a vocabulary's
    /// `unknown_code`) under `src/` is one of `ErrorCode`, so the spec lists every code.
    #[test]
    fn every_domain_code_is_an_error_code() {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        let mut sources = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut sources,
        );
        let mut codes = Vec::new();
        for s in &sources {
            for (i, _) in s.match_indices("DomainError::new(") {
                let rest = s[i + "DomainError::new(".len()..].trim_start();
                if let Some(rest) = rest.strip_prefix('"') {
                    let code = &rest[..rest.find('"').unwrap()];
                    // (This comment's own example is not a code.)
                    if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        codes.push(code.to_string());
                    }
                }
            }
        }
        codes.extend(["unknown_goal_area", "unknown_kind", "unknown_theme", "unknown_group"].map(String::from));
        assert!(codes.len() > 30, "found only {codes:?}");
        for c in codes {
            assert!(ErrorCode::of(&c).is_some(), "ErrorCode lacks «{c}»");
        }
    }
}
