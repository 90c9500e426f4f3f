//! The API's error answer: `{ "errors": [ { "code", "message", "field"? } ] }` with a stable
//! code and a Norwegian message; internal details are logged, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::domain::DomainError;
use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug, Serialize, Clone)]
pub struct ErrorItem {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
    /// Extra top-level members (e.g. `alternatives`).
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorItem {
                code,
                message: message.into(),
                field: None,
            }],
            extra: None,
        }
    }

    pub fn rules(errors: Vec<DomainError>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: errors
                .into_iter()
                .map(|e| ErrorItem {
                    code: e.code,
                    message: e.message,
                    field: e.field,
                })
                .collect(),
            extra: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Mangler eller ugyldig tilgangsnøkkel (Authorization: Bearer …).",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Du har ikke tilgang til dette.")
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Fant ikke det du ba om.")
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
            StoreError::Overlap => Self::new(StatusCode::CONFLICT, "busy", "Rommet er opptatt."),
            StoreError::Duplicate(what) => {
                Self::new(StatusCode::CONFLICT, "duplicate", format!("Finnes allerede ({what})."))
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "internal_error",
                    "Noe gikk galt hos oss. Prøv igjen om litt.",
                )
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
        let mut body = self.extra.unwrap_or_default();
        body.insert("errors".into(), json!(self.errors));
        let mut res = (self.status, Json(serde_json::Value::Object(body))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        res
    }
}
