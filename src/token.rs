//! Random secrets and their hashes: API tokens, sessions, sign-in links, calendar feeds and
//! anti-forgery tokens are 256 random bits; only their SHA-256 is stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 random bits as 64 hex digits (URL-safe).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new secret and the hash to store.
pub fn new_secret() -> (String, String) {
    let token = random_secret();
    let hash = hash_token(&token);
    (token, hash)
}

/// A new API token (`bt_` and 64 hex digits) and the hash to store.
pub fn new_api_token() -> (String, String) {
    let token = format!("bt_{}", random_secret());
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `s` has the form of a secret from `random_secret`.
pub fn is_secret(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
