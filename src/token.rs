//! Random secrets and their hashes: API tokens, sessions, sign-in links and calendar feeds are
//! 256 random bits; only their SHA-256 is stored. Anti-forgery tokens are HMACs, under the
//! server's key, of the session or (signed out) of a random pre-session id kept in a cookie.

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

type HmacSha256 = hmac::Hmac<Sha256>;

fn mac(key: &[u8], purpose: &str, value: &str) -> HmacSha256 {
    use hmac::Mac;
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    // The purpose and the value, separated by a byte neither contains.
    m.update(purpose.as_bytes());
    m.update(&[0]);
    m.update(value.as_bytes());
    m
}

/// A token bound to `value` for `purpose` (e.g. an anti-forgery token bound to a session):
/// HMAC-SHA256 under `key`, as 64 hex digits. Only someone holding the key can make one.
pub fn bound_token(key: &[u8], purpose: &str, value: &str) -> String {
    use hmac::Mac;
    hex::encode(mac(key, purpose, value).finalize().into_bytes())
}

/// Whether `sent` is the token [`bound_token`] makes for `purpose` and `value`, compared in
/// constant time.
pub fn verify_bound_token(key: &[u8], purpose: &str, value: &str, sent: &str) -> bool {
    use hmac::Mac;
    match hex::decode(sent) {
        Ok(bytes) => mac(key, purpose, value).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_tokens_verify_only_for_their_key_purpose_and_value() {
        let t = bound_token(b"key", "session", "abc");
        assert!(is_secret(&t));
        assert!(verify_bound_token(b"key", "session", "abc", &t));
        assert!(!verify_bound_token(b"other", "session", "abc", &t));
        assert!(!verify_bound_token(b"key", "pre-session", "abc", &t));
        assert!(!verify_bound_token(b"key", "session", "abd", &t));
        assert!(!verify_bound_token(b"key", "session", "abc", "zz"));
        assert!(!verify_bound_token(b"key", "session", "abc", ""));
    }
}
