//! Signing in: single-use links sent by mail, and the sessions they open.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::outbox::{NewMessage, OutboxSql};
use super::users::UserRow;
use super::Result;
use crate::domain::User;

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
    async fn add_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The user of a live session.
    async fn user_by_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()>;
}

/// The sign-in links' and sessions' SQL, the same on both databases.
pub(super) trait SessionSql: OutboxSql
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
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(e)
            .await?;
        Ok(())
    }

    async fn user_by_session<'e>(
        e: impl Executor<'e, Database = Self>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.org, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(e)
        .await?;
        row.map(User::try_from).transpose()
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
}

impl SessionSql for sqlx::Sqlite {}
impl SessionSql for sqlx::Postgres {}
