//! Calendar feeds: subscriptions a user can hand to a calendar program, by a secret token.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::sql::Dialect;
use super::users::{enabled_user, UserRow};
use super::{Result, StoreError};
use crate::domain::{FeedKind, User};

/// A calendar feed subscription (its token is stored hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedToken {
    pub id: i64,
    pub user_id: i64,
    pub kind: FeedKind,
    pub room: Option<String>,
    pub org: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait FeedStore: Send + Sync {
    async fn add_feed(
        &self,
        user_id: i64,
        kind: FeedKind,
        room: Option<&str>,
        org: Option<&str>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedToken>;
    /// A feed by its token's hash, with its owner; revoked feeds too (the caller decides). None
    /// when its owner is disabled: a disabled user's feeds stop at once.
    async fn feed_by_token(&self, token_hash: &str) -> Result<Option<(FeedToken, User)>>;
    async fn feeds_of(&self, user_id: i64) -> Result<Vec<FeedToken>>;
    /// Revoke a feed of `user_id` (or anyone's, with `None`); false if there was none to revoke.
    async fn revoke_feed(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool>;
}

const FEED_COLUMNS: &str = "id, user_id, kind, room, org, created_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(super) struct FeedRow {
    id: i64,
    user_id: i64,
    kind: String,
    room: Option<String>,
    org: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<FeedRow> for FeedToken {
    type Error = StoreError;
    fn try_from(r: FeedRow) -> Result<FeedToken> {
        Ok(FeedToken {
            id: r.id,
            user_id: r.user_id,
            kind: FeedKind::parse(&r.kind)
                .map_err(|_| StoreError::Corrupt(format!("unknown feed kind {:?}", r.kind)))?,
            room: r.room,
            org: r.org,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

/// The feeds' SQL, the same on both databases.
pub(super) trait FeedSql: Dialect
where
    for<'q> Self::Arguments<'q>: IntoArguments<'q, Self>,
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> DateTime<Utc>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<i64>: Encode<'q, Self>,
    for<'q> Option<&'q str>: Encode<'q, Self>,
    for<'r> FeedRow: FromRow<'r, Self::Row>,
    for<'r> UserRow: FromRow<'r, Self::Row>,
{
    async fn add_feed<'e>(
        e: impl Executor<'e, Database = Self>,
        user_id: i64,
        kind: FeedKind,
        room: Option<&str>,
        org: Option<&str>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedToken> {
        let row: FeedRow = sqlx::query_as(&format!(
            "INSERT INTO feed_tokens (token_hash, user_id, kind, room, org, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING {FEED_COLUMNS}"
        ))
        .bind(token_hash)
        .bind(user_id)
        .bind(kind.as_str())
        .bind(room)
        .bind(org)
        .bind(now)
        .fetch_one(e)
        .await?;
        row.try_into()
    }

    async fn feed_by_token(pool: &Pool<Self>, token_hash: &str) -> Result<Option<(FeedToken, User)>> {
        let feed: Option<FeedRow> =
            sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feed_tokens WHERE token_hash = $1"))
                .bind(token_hash)
                .fetch_optional(pool)
                .await?;
        let Some(feed) = feed else { return Ok(None) };
        let feed = FeedToken::try_from(feed)?;
        Ok(enabled_user(pool, feed.user_id).await?.map(|u| (feed, u)))
    }

    async fn feeds_of<'e>(e: impl Executor<'e, Database = Self>, user_id: i64) -> Result<Vec<FeedToken>> {
        let rows: Vec<FeedRow> = sqlx::query_as(&format!(
            "SELECT {FEED_COLUMNS} FROM feed_tokens WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(e)
        .await?;
        rows.into_iter().map(FeedToken::try_from).collect()
    }

    async fn revoke_feed<'e>(
        e: impl Executor<'e, Database = Self>,
        id: i64,
        user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE feed_tokens SET revoked_at = $1 WHERE id = $2 AND ($3 IS NULL OR user_id = $3) AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(e)
        .await?;
        Ok(Self::rows_affected(&done) == 1)
    }
}

impl FeedSql for sqlx::Sqlite {}
impl FeedSql for sqlx::Postgres {}
