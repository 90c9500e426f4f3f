//! The caller's own API tokens: list them (never their secret: only its hash is kept) and
//! revoke one. A revoked or expired token, or one whose owner is disabled, answers 401 on the
//! next request. New tokens are made on the command line (`borgertun token create`).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::error::{ApiError, ErrorBody};
use super::json::ApiPath;
use super::AppState;
use crate::domain::time::rfc3339;
use crate::service::ApiToken;

/// The tokens API (nested under `/api/v1`), with its documentation.
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(revoke))
}

/// An API token of the caller's, without its secret.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    /// RFC 3339, Europe/Oslo offset.
    pub created_at: String,
    /// When it stops working.
    pub expires_at: String,
    /// Its last use, to the minute.
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Whether it works now: not revoked, not expired.
    pub active: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Tokens {
    pub tokens: Vec<TokenOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenRevoked {
    pub id: i64,
    pub revoked: bool,
}

fn token_out(state: &AppState, t: &ApiToken) -> TokenOut {
    TokenOut {
        id: t.id,
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
        last_used_at: t.last_used_at.map(rfc3339),
        revoked_at: t.revoked_at.map(rfc3339),
        active: t.revoked_at.is_none() && t.expires_at > state.now(),
    }
}

/// The caller's API tokens, newest first, revoked and expired ones too.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    responses((status = 200, description = "The caller's tokens.", body = Tokens))
)]
async fn list(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<Tokens>, ApiError> {
    let tokens = state.app.api_tokens_of(&user).await?;
    Ok(Json(Tokens {
        tokens: tokens.iter().map(|t| token_out(&state, t)).collect(),
    }))
}

/// Revoke one of the caller's tokens (the one in use too): it stops working at once.
#[utoipa::path(
    post,
    path = "/tokens/{id}/revoke",
    tag = "tokens",
    params(("id" = String, Path, description = "The token's id.")),
    responses(
        (status = 200, description = "Revoked.", body = TokenRevoked),
        (status = 404, description = "No such token of the caller's, or already revoked (`not_found`).", body = ErrorBody),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenRevoked>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    if !state.app.revoke_api_token(id, Some(&user)).await? {
        return Err(ApiError::not_found());
    }
    Ok(Json(TokenRevoked { id, revoked: true }))
}
