//! Bearer-token authentication for the API. Tokens are 256 random bits, shown once; only their
//! SHA-256 is stored.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::domain::User;

/// A new token and the hash to store.
pub fn new_api_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("bt_{}", hex::encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

/// A new calendar feed token (256 random bits, URL-safe) and the hash to store.
pub fn new_feed_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signed-in user of an API request.
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let user = state
            .store
            .user_by_api_token(&hash_token(token))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        tracing::Span::current().record("user", user.id);
        Ok(ApiUser(user))
    }
}
