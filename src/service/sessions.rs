//! Signing in without passwords: single-use links by mail (through the outbox), sessions in
//! the database. Known users get a link, and so do addresses whose domain belongs to a
//! configured organisation: those get an account there (as `requester`) on first sign-in.

use chrono::Duration;

use crate::domain::{Role, User};
use crate::token::{hash_token, new_secret};

use super::{App, Result};

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 15;
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// What using a sign-in link gives.
#[derive(Debug)]
pub enum SignIn {
    /// A new session (its secret, for the cookie) for the user.
    Session { secret: String, user: User },
    /// The link is used or expired.
    LinkGone,
    /// The address has no account and its domain belongs to no organisation.
    NoAccess,
}

impl App {
    /// The configured organisation an address's domain belongs to.
    pub fn org_of_domain(&self, email: &str) -> Option<&str> {
        let domain = email.rsplit_once('@')?.1;
        self.rules()
            .organisations
            .iter()
            .find(|o| o.email_domains.iter().any(|d| d == domain))
            .map(|o| o.key.as_str())
    }

    /// Send a sign-in link to `email` (parsed) if it may sign in, with its mail, together;
    /// nothing otherwise. `next` (a local path) is where the link leads after signing in.
    /// The answer is the same either way.
    pub async fn request_sign_in_link(&self, email: &str, next: Option<&str>) -> Result<()> {
        let known = self.store.user_by_email(email).await?.is_some();
        if !known && self.org_of_domain(email).is_none() {
            return Ok(());
        }
        let now = self.now();
        let (token, hash) = new_secret();
        let next = next
            .map(|p| {
                format!(
                    "?neste={}",
                    form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                )
            })
            .unwrap_or_default();
        let url = format!("{}/logg-inn/lenke/{token}{next}", self.public_url());
        let mail = self.composer().login_link(email, &url, LINK_MINUTES);
        self.store
            .add_login_link(email, &hash, now, now + Duration::minutes(LINK_MINUTES), &mail)
            .await?;
        Ok(())
    }

    /// Whether the sign-in link with secret `token` can still be used.
    pub async fn sign_in_link_usable(&self, token: &str) -> Result<bool> {
        Ok(self.store.login_link_usable(&hash_token(token), self.now()).await?)
    }

    /// Use the sign-in link with secret `token`: a new session, the account made first for an
    /// address of a configured organisation's domain.
    pub async fn sign_in(&self, token: &str) -> Result<SignIn> {
        let now = self.now();
        let Some(email) = self.store.use_login_link(&hash_token(token), now).await? else {
            return Ok(SignIn::LinkGone);
        };
        let user = match self.store.user_by_email(&email).await? {
            Some(u) => u,
            None => {
                let Some(org) = self.org_of_domain(&email).map(str::to_string) else {
                    return Ok(SignIn::NoAccess);
                };
                let name = email.split('@').next().unwrap_or(&email).to_string();
                self.store.add_user(&email, &name, &org, Role::Requester, now).await?
            }
        };
        let (secret, hash) = new_secret();
        self.store
            .add_session(user.id, &hash, now, now + Duration::hours(SESSION_HOURS))
            .await?;
        tracing::info!(user = user.id, "signed in");
        Ok(SignIn::Session { secret, user })
    }

    /// The user of the session with secret `token`, if it has not ended.
    pub async fn user_by_session(&self, token: &str) -> Result<Option<User>> {
        if token.is_empty() {
            return Ok(None);
        }
        Ok(self.store.user_by_session(&hash_token(token), self.now()).await?)
    }

    /// End the session with secret `token`.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        Ok(self.store.end_session(&hash_token(token), self.now()).await?)
    }
}
