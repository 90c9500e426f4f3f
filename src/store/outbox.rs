//! The outbox: messages written in the same transaction as the change they tell of, then
//! leased, sent and marked by the mail worker.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::sql::Dialect;
use super::Result;
use crate::calendar::Method;

/// A message to store in the outbox: rendered now, sent by the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub kind: &'static str,
    pub booking_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The iCalendar part and its method; its DTSTAMP is set again when sent.
    pub ics: Option<(Method, String)>,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub kind: String,
    pub booking_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics_method: Option<String>,
    pub ics: Option<String>,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// The mail worker's side of the outbox. Messages enter it with the change they belong to
/// (`WriteTx::enqueue` and the methods that take a `NewMessage`).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Lease up to `limit` due, unsent messages until `lease_until` under `token`. Concurrent
    /// workers (also in other processes) never get the same row while its lease holds.
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        token: &str,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>>;
    /// Mark a leased message sent; false if the lease was lost. A sign-in mail's body (its
    /// link) is cleared then: the link lives on only in the recipient's inbox.
    async fn message_sent(&self, id: i64, token: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Record a failed attempt: retry at `retry_at`, or give up when it is `None`.
    async fn message_failed(
        &self,
        id: i64,
        token: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The whole outbox, newest last (for tests and the administrator).
    async fn outbox(&self) -> Result<Vec<OutboxMessage>>;
}

/// The kind of a sign-in mail, whose body holds a live link.
const SIGN_IN_KIND: &str = "login";
/// What a sign-in mail's body says once it is sent or given up.
const CLEARED_BODY: &str = "[Innloggingslenken er fjernet etter sending.]";

const OUTBOX_COLUMNS: &str = "id, kind, booking_id, recipient, subject, body_text, body_html, ics_method, ics, \
     created_at, due_at, attempts, last_error, sent_at, failed_at";

/// The outbox's SQL, the same on both databases.
pub(super) trait OutboxSql: Dialect
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
    for<'r> OutboxMessage: FromRow<'r, Self::Row>,
{
    /// Put `m` in the outbox, due `now`, as part of the transaction `conn` is in.
    async fn enqueue(conn: &mut Self::Connection, m: &NewMessage, now: DateTime<Utc>) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (kind, booking_id, recipient, subject, body_text, body_html, ics_method, ics, created_at, due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(m.kind)
        .bind(m.booking_id)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.text)
        .bind(&m.html)
        .bind(m.ics.as_ref().map(|(method, _)| method.as_str()))
        .bind(m.ics.as_ref().map(|(_, ics)| ics.as_str()))
        .bind(now)
        .fetch_one(conn)
        .await?;
        Ok(id)
    }

    async fn claim_messages<'e>(
        e: impl Executor<'e, Database = Self>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        token: &str,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        let rows: Vec<OutboxMessage> = sqlx::query_as(&format!(
            "UPDATE outbox SET lease_until = $1, lease_token = $2 WHERE id IN ( \
               SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at, id LIMIT $4{} \
             ) RETURNING {OUTBOX_COLUMNS}",
            Self::SKIP_LOCKED
        ))
        .bind(lease_until)
        .bind(token)
        .bind(now)
        .bind(limit)
        .fetch_all(e)
        .await?;
        Ok(rows)
    }

    async fn message_sent<'e>(
        e: impl Executor<'e, Database = Self>,
        id: i64,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, lease_until = NULL, lease_token = NULL, \
             body_text = CASE WHEN kind = $4 THEN $5 ELSE body_text END, \
             body_html = CASE WHEN kind = $4 THEN '' ELSE body_html END \
             WHERE id = $2 AND lease_token = $3 AND sent_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(token)
        .bind(SIGN_IN_KIND)
        .bind(CLEARED_BODY)
        .execute(e)
        .await?;
        Ok(Self::rows_affected(&done) == 1)
    }

    async fn message_failed<'e>(
        e: impl Executor<'e, Database = Self>,
        id: i64,
        token: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, due_at = COALESCE($2, due_at), \
             failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END, lease_until = NULL, lease_token = NULL, \
             body_text = CASE WHEN $2 IS NULL AND kind = $6 THEN $7 ELSE body_text END, \
             body_html = CASE WHEN $2 IS NULL AND kind = $6 THEN '' ELSE body_html END \
             WHERE id = $4 AND lease_token = $5 AND sent_at IS NULL",
        )
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .bind(token)
        .bind(SIGN_IN_KIND)
        .bind(CLEARED_BODY)
        .execute(e)
        .await?;
        Ok(())
    }

    async fn outbox<'e>(e: impl Executor<'e, Database = Self>) -> Result<Vec<OutboxMessage>> {
        let rows: Vec<OutboxMessage> = sqlx::query_as(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id"))
            .fetch_all(e)
            .await?;
        Ok(rows)
    }
}

impl OutboxSql for sqlx::Sqlite {}
impl OutboxSql for sqlx::Postgres {}
