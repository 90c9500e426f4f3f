//! Signing in: single-use links sent by mail, the sessions they open, and the secrets the
//! service makes once for every instance (the anti-forgery key).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::outbox::{NewMessage, OutboxSql};
use super::sql::Dialect;
use super::users::{enabled_user, UserRow};
use super::Result;
use crate::domain::User;

/// A session (its secret is stored hashed): when it started, was last seen (to the minute)
/// and ends at the latest, and the browser it was started in.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub user_agent: Option<String>,
}

const SESSION_COLUMNS: &str =
    "s.id, s.user_id, s.created_at, s.expires_at, COALESCE(s.last_seen_at, s.created_at) AS last_seen_at, s.user_agent";

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: i64,
    user_id: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    user_agent: Option<String>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            user_id: r.user_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_seen_at: r.last_seen_at,
            user_agent: r.user_agent,
        }
    }
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Store a sign-in link and the mail that carries it, together.
    async fn add_login_link(
        &self,
        email: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &NewMessage,
    ) -> Result<()>;
    /// Use a sign-in link: its e-mail address if it was unused and unexpired (it is used now).
    async fn use_login_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<String>>;
    /// Whether a sign-in link can still be used.
    async fn login_link_usable(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Start a session, last seen `now`, in the browser `user_agent`.
    async fn add_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        user_agent: Option<&str>,
    ) -> Result<()>;
    /// A live session and its user: not ended, not past `expires_at` at `now`, seen after
    /// `idle_since`, its user not disabled.
    async fn user_by_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<(Session, User)>>;
    /// Record that a session was seen at `now`.
    async fn touch_session(&self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// A user's live sessions (as `user_by_session` counts them), last seen first.
    async fn sessions_of(&self, user_id: i64, now: DateTime<Utc>, idle_since: DateTime<Utc>) -> Result<Vec<Session>>;
    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()>;
    /// End every session of a user but `keep`; how many were ended.
    async fn end_sessions_of(&self, user_id: i64, keep: Option<i64>, now: DateTime<Utc>) -> Result<u64>;
    /// The shared secret `name`: the one stored, or `value`, stored now if there was none
    /// (so every instance on one database uses the first one made).
    async fn server_secret(&self, name: &str, value: &str, now: DateTime<Utc>) -> Result<String>;
}

/// The sign-in links' and sessions' SQL, the same on both databases.
pub(super) trait SessionSql: OutboxSql + Dialect
where
    for<'q> Self::Arguments<'q>: IntoArguments<'q, Self>,
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> String: Encode<'q, Self> + Type<Self>,
    for<'q> DateTime<Utc>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<i64>: Encode<'q, Self>,
    for<'q> Option<&'q str>: Encode<'q, Self>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, Self>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
    for<'r> (String,): FromRow<'r, Self::Row>,
    for<'r> super::OutboxMessage: FromRow<'r, Self::Row>,
    for<'r> UserRow: FromRow<'r, Self::Row>,
    for<'r> SessionRow: FromRow<'r, Self::Row>,
{
    async fn add_login_link(
        pool: &Pool<Self>,
        email: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &NewMessage,
    ) -> Result<()> {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO login_links (token_hash, email, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(email)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        Self::enqueue(&mut *tx, mail, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_login_link<'e>(
        e: impl Executor<'e, Database = Self>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE login_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING email",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(e)
        .await?;
        Ok(email)
    }

    async fn login_link_usable<'e>(
        e: impl Executor<'e, Database = Self>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_one(e)
        .await?;
        Ok(n > 0)
    }

    async fn add_session<'e>(
        e: impl Executor<'e, Database = Self>,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        user_agent: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, user_agent) \
             VALUES ($1, $2, $3, $4, $3, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(user_agent)
        .execute(e)
        .await?;
        Ok(())
    }

    async fn user_by_session(
        pool: &Pool<Self>,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<(Session, User)>> {
        let session: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.token_hash = $1 AND s.revoked_at IS NULL \
             AND s.expires_at > $2 AND COALESCE(s.last_seen_at, s.created_at) > $3"
        ))
        .bind(token_hash)
        .bind(now)
        .bind(idle_since)
        .fetch_optional(pool)
        .await?;
        let Some(session) = session else { return Ok(None) };
        Ok(enabled_user(pool, session.user_id).await?.map(|u| (session.into(), u)))
    }

    async fn touch_session<'e>(e: impl Executor<'e, Database = Self>, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(e)
            .await?;
        Ok(())
    }

    async fn sessions_of<'e>(
        e: impl Executor<'e, Database = Self>,
        user_id: i64,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Vec<Session>> {
        let rows: Vec<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL \
             AND s.expires_at > $2 AND COALESCE(s.last_seen_at, s.created_at) > $3 \
             ORDER BY COALESCE(s.last_seen_at, s.created_at) DESC, s.id DESC"
        ))
        .bind(user_id)
        .bind(now)
        .bind(idle_since)
        .fetch_all(e)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn end_session<'e>(
        e: impl Executor<'e, Database = Self>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(token_hash)
            .execute(e)
            .await?;
        Ok(())
    }

    async fn end_sessions_of<'e>(
        e: impl Executor<'e, Database = Self>,
        user_id: i64,
        keep: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND ($3 IS NULL OR id <> $3) AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(keep)
        .execute(e)
        .await?;
        Ok(Self::rows_affected(&done))
    }

    async fn server_secret(pool: &Pool<Self>, name: &str, value: &str, now: DateTime<Utc>) -> Result<String> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(pool)
        .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?;
        Ok(stored)
    }
}

impl SessionSql for sqlx::Sqlite {}
impl SessionSql for sqlx::Postgres {}
