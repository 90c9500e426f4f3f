//! Signing in without passwords: single-use links by mail (through the outbox), sessions in
//! the database. Known users get a link, and so do addresses whose domain belongs to a
//! configured organisation: those get an account there (as `requester`) on first sign-in.
//!
//! A session ends `auth.session_hours` after sign-in, or after `auth.session_idle_minutes`
//! unused, whichever comes first; its last use is written at most once a minute. A disabled
//! account gets no link (the answer is the same as for any address), and its sessions end.
//!
//! Forms carry an anti-forgery token bound to the session: an HMAC of the session's hash
//! under the server's key. Signed-out forms (sign-in, access requests, the sign-in button)
//! are bound to a pre-session id instead, a random value in a cookie of its own.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Role, User};
use crate::store::Session;
use crate::token::{bound_token, hash_token, new_secret, random_secret, verify_bound_token};

use super::{App, Result};

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 15;
/// A session's or a token's last use is written again only when older than this.
pub(super) const TOUCH_SECONDS: i64 = 60;
/// The longest User-Agent kept with a session, in characters.
const MAX_USER_AGENT: usize = 200;

/// What using a sign-in link gives.
#[derive(Debug)]
pub enum SignIn {
    /// A new session (its secret, for the cookie) for the user.
    Session { secret: String, user: User },
    /// The link is used or expired.
    LinkGone,
    /// The address has no account and its domain belongs to no organisation, or its account
    /// is disabled.
    NoAccess,
}

/// What an anti-forgery token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormBinding {
    /// A session, by the hash of its secret.
    Session(String),
    /// A signed-out browser, by its pre-session id.
    PreSession(String),
}

impl FormBinding {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            FormBinding::Session(hash) => ("session", hash),
            FormBinding::PreSession(id) => ("pre-session", id),
        }
    }
}

/// The live session of a request and its user.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub id: i64,
    pub user: User,
    /// What this session's forms are bound to.
    pub binding: FormBinding,
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

    /// How long a session lasts at most, in hours.
    pub fn session_hours(&self) -> i64 {
        self.config().auth.session_hours
    }

    /// Sessions last seen before this have ended.
    pub(super) fn idle_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::minutes(self.config().auth.session_idle_minutes)
    }

    /// Send a sign-in link to `email` (parsed) if it may sign in, with its mail, together;
    /// nothing otherwise (a disabled account included). `next` (a local path) is where the
    /// link leads after signing in. The answer is the same either way.
    pub async fn request_sign_in_link(&self, email: &str, next: Option<&str>) -> Result<()> {
        match self.store.account_by_email(email).await? {
            Some(a) if a.disabled_at.is_some() => {
                tracing::info!(user = a.user.id, "sign-in link refused: the account is disabled");
                return Ok(());
            }
            Some(_) => {}
            None if self.org_of_domain(email).is_none() => return Ok(()),
            None => {}
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

    /// Use the sign-in link with secret `token` in the browser `user_agent`: a new session,
    /// the account made first for an address of a configured organisation's domain.
    pub async fn sign_in(&self, token: &str, user_agent: Option<&str>) -> Result<SignIn> {
        let now = self.now();
        let Some(email) = self.store.use_login_link(&hash_token(token), now).await? else {
            return Ok(SignIn::LinkGone);
        };
        let user = match self.store.account_by_email(&email).await? {
            // Disabled after the link was sent.
            Some(a) if a.disabled_at.is_some() => return Ok(SignIn::NoAccess),
            Some(a) => a.user,
            None => {
                let Some(org) = self.org_of_domain(&email).map(str::to_string) else {
                    return Ok(SignIn::NoAccess);
                };
                let name = email.split('@').next().unwrap_or(&email).to_string();
                self.store.add_user(&email, &name, &org, Role::Requester, now).await?
            }
        };
        let (secret, hash) = new_secret();
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        self.store
            .add_session(
                user.id,
                &hash,
                now,
                now + Duration::hours(self.session_hours()),
                user_agent.as_deref(),
            )
            .await?;
        tracing::info!(user = user.id, "signed in");
        Ok(SignIn::Session { secret, user })
    }

    /// The live session with secret `token` (not ended, expired or idle too long, its user
    /// not disabled); its last use is recorded.
    pub async fn session(&self, token: &str) -> Result<Option<CurrentSession>> {
        if token.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let hash = hash_token(token);
        let Some((session, user)) = self.store.user_by_session(&hash, now, self.idle_since(now)).await? else {
            return Ok(None);
        };
        if now - session.last_seen_at >= Duration::seconds(TOUCH_SECONDS) {
            self.store.touch_session(session.id, now).await?;
        }
        Ok(Some(CurrentSession {
            id: session.id,
            user,
            binding: FormBinding::Session(hash),
        }))
    }

    /// The user of the session with secret `token`, if it is live (see [`App::session`]).
    pub async fn user_by_session(&self, token: &str) -> Result<Option<User>> {
        Ok(self.session(token).await?.map(|s| s.user))
    }

    /// The user's live sessions, last seen first.
    pub async fn sessions_of(&self, user: &User) -> Result<Vec<Session>> {
        let now = self.now();
        Ok(self.store.sessions_of(user.id, now, self.idle_since(now)).await?)
    }

    /// End the session with secret `token` (that browser's only).
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        Ok(self.store.end_session(&hash_token(token), self.now()).await?)
    }

    /// End every session of the user but `current`; how many were ended.
    pub async fn sign_out_others(&self, current: &CurrentSession) -> Result<u64> {
        let n = self
            .store
            .end_sessions_of(current.user.id, Some(current.id), self.now())
            .await?;
        tracing::info!(user = current.user.id, ended = n, "signed out other sessions");
        Ok(n)
    }

    /// The anti-forgery key: `server.secret` if configured, else the one kept in the database
    /// (made by the first instance to need it).
    async fn form_key(&self) -> Result<Arc<[u8]>> {
        let key = self
            .form_key
            .get_or_try_init(|| async {
                if let Some(secret) = &self.config().server.secret {
                    return Ok::<_, super::ServiceError>(Arc::from(secret.expose().trim().as_bytes()));
                }
                let stored = self
                    .store
                    .server_secret("anti_forgery", &random_secret(), self.now())
                    .await?;
                Ok(Arc::from(stored.as_bytes()))
            })
            .await?;
        Ok(key.clone())
    }

    /// The anti-forgery token of forms bound to `binding`.
    pub async fn form_token(&self, binding: &FormBinding) -> Result<String> {
        let (purpose, value) = binding.parts();
        Ok(bound_token(&self.form_key().await?, purpose, value))
    }

    /// Whether `sent` is the anti-forgery token of forms bound to `binding`.
    pub async fn form_token_valid(&self, binding: &FormBinding, sent: &str) -> Result<bool> {
        let (purpose, value) = binding.parts();
        Ok(verify_bound_token(&self.form_key().await?, purpose, value, sent))
    }
}
