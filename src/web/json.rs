//! The API's extractors — JSON body, path and query — whose every failure is an `ApiError`
//! with a stable code, in the API's JSON error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorCode};

/// Like `axum::extract::Path`, answering a bad path as a JSON error (400 `invalid_path`).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(ApiPath(t)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidPath,
                format!("Ugyldig adresse: {}", e.body_text()),
            )),
        }
    }
}

/// Like `axum::extract::Query`, answering a bad query string as a JSON error (400
/// `invalid_query`).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(t)) => Ok(ApiQuery(t)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidQuery,
                format!("Ugyldig spørring: {}", e.body_text()),
            )),
        }
    }
}

/// Like `axum::Json`, but an empty body reads as `{}` and errors are the API's.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    "Forespørselen er for stor.",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidBody,
                    "Kunne ikke lese forespørselen.",
                )
            }
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        if bytes != b"{}" && json_type != Some(true) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Send JSON med Content-Type: application/json.",
            ));
        }
        serde_json::from_slice(bytes).map(ApiJson).map_err(|e| {
            let status = if e.is_data() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            ApiError::new(status, ErrorCode::InvalidJson, format!("Ugyldig JSON: {e}"))
        })
    }
}
