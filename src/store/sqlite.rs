//! SQLite: the embedded default. WAL, a busy timeout, and `BEGIN IMMEDIATE` for writers.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::bookings::BookingSql;
use super::feeds::FeedSql;
use super::outbox::OutboxSql;
use super::sessions::SessionSql;
use super::users::UserSql;
use super::{
    AccessDecision, AccessRequest, BookingQuery, BookingStore, FeedStore, FeedToken, Insert, NewAccessRequest,
    NewMessage, OutboxMessage, OutboxStore, Reschedule, Result, SessionStore, Store, StoreError, Transition, UserStore,
    WriteTx,
};
use crate::domain::{Activity, Attendance, AuditEntry, Booking, FeedKind, Role, User};

pub struct SqliteStore {
    pub pool: SqlitePool,
}

impl SqliteStore {
    /// Open (and create, with its folder) the database at `url`, e.g. `sqlite://data/borgertun.db`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if !path.is_empty() && path != ":memory:" {
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            }
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// A write transaction on SQLite.
struct Tx {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl BookingStore for SqliteStore {
    async fn booking(&self, id: i64) -> Result<Option<Booking>> {
        Sqlite::booking(&self.pool, id).await
    }

    async fn bookings(&self, q: &BookingQuery) -> Result<Vec<Booking>> {
        Sqlite::bookings(&self.pool, q).await
    }

    async fn bookings_fingerprint(&self, q: &BookingQuery) -> Result<String> {
        Sqlite::bookings_fingerprint(&self.pool, q).await
    }

    async fn history(&self, id: i64) -> Result<Vec<AuditEntry>> {
        Sqlite::history(&self.pool, id).await
    }

    async fn report_bookings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        Sqlite::report_bookings(&self.pool, from, to).await
    }

    async fn set_activity(&self, id: i64, activity: &Activity, now: DateTime<Utc>) -> Result<Booking> {
        Sqlite::set_activity(&self.pool, id, activity, now).await
    }

    async fn set_attendance(&self, id: i64, attendance: &Attendance) -> Result<Booking> {
        Sqlite::set_attendance(&self.pool, id, attendance).await
    }

    async fn ask_for_attendance(
        &self,
        ended_after: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
        ask: &(dyn for<'b> Fn(&'b Booking) -> NewMessage + Sync),
    ) -> Result<Vec<Booking>> {
        Sqlite::ask_for_attendance(&self.pool, ended_after, ended_before, now, ask).await
    }

    /// SQLite has one writer at a time: `BEGIN IMMEDIATE` takes the write lock up front, so the
    /// check and the insert that follow are atomic.
    async fn write(&self, _room: &str) -> Result<Box<dyn WriteTx>> {
        Ok(Box::new(Tx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        }))
    }
}

#[async_trait]
impl WriteTx for Tx {
    async fn active_between(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        Sqlite::active_between(&mut *self.tx, room, from, to).await
    }

    async fn booking(&mut self, id: i64) -> Result<Option<Booking>> {
        Sqlite::booking(&mut *self.tx, id).await
    }

    async fn minutes_held(&mut self, org: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64> {
        Sqlite::minutes_held(&mut *self.tx, org, from, to).await
    }

    async fn insert(&mut self, ins: Insert<'_>) -> Result<Booking> {
        Sqlite::insert(&mut self.tx, ins).await
    }

    async fn transition(&mut self, t: Transition<'_>) -> Result<Booking> {
        Sqlite::transition(&mut self.tx, t).await
    }

    async fn reschedule(&mut self, r: Reschedule<'_>) -> Result<Booking> {
        Sqlite::reschedule(&mut self.tx, r).await
    }

    async fn set_activity(&mut self, id: i64, activity: &Activity, now: DateTime<Utc>) -> Result<Booking> {
        Sqlite::set_activity(&mut *self.tx, id, activity, now).await
    }

    async fn enqueue(&mut self, m: &NewMessage, now: DateTime<Utc>) -> Result<i64> {
        Sqlite::enqueue(&mut *self.tx, m, now).await
    }

    async fn coordinator_emails(&mut self) -> Result<Vec<String>> {
        Sqlite::coordinator_emails(&mut *self.tx).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn add_user(&self, email: &str, name: &str, org: &str, role: Role, now: DateTime<Utc>) -> Result<User> {
        Sqlite::add_user(&self.pool, email, name, org, role, now).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Sqlite::user_by_email(&self.pool, email).await
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        Sqlite::user(&self.pool, id).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        Sqlite::users(&self.pool).await
    }

    async fn update_user(&self, id: i64, org: &str, role: Role) -> Result<User> {
        Sqlite::update_user(&self.pool, id, org, role).await
    }

    async fn add_access_request(
        &self,
        r: &NewAccessRequest<'_>,
        now: DateTime<Utc>,
        notify: &(dyn for<'s> Fn(&'s str) -> NewMessage + Sync),
    ) -> Result<AccessRequest> {
        Sqlite::add_access_request(&self.pool, r, now, notify).await
    }

    async fn access_request(&self, id: i64) -> Result<Option<AccessRequest>> {
        Sqlite::access_request(&self.pool, id).await
    }

    async fn access_requests(&self) -> Result<Vec<AccessRequest>> {
        Sqlite::access_requests(&self.pool).await
    }

    async fn decide_access_request(&self, d: &AccessDecision<'_>, mail: &NewMessage) -> Result<Option<User>> {
        Sqlite::decide_access_request(&self.pool, d, mail).await
    }

    async fn add_api_token(&self, user_id: i64, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        Sqlite::add_api_token(&self.pool, user_id, token_hash, now).await
    }

    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
        Sqlite::user_by_api_token(&self.pool, token_hash).await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn add_login_link(
        &self,
        email: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &NewMessage,
    ) -> Result<()> {
        Sqlite::add_login_link(&self.pool, email, token_hash, now, expires_at, mail).await
    }

    async fn use_login_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        Sqlite::use_login_link(&self.pool, token_hash, now).await
    }

    async fn login_link_usable(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        Sqlite::login_link_usable(&self.pool, token_hash, now).await
    }

    async fn add_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        Sqlite::add_session(&self.pool, user_id, token_hash, now, expires_at).await
    }

    async fn user_by_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        Sqlite::user_by_session(&self.pool, token_hash, now).await
    }

    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        Sqlite::end_session(&self.pool, token_hash, now).await
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        token: &str,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        Sqlite::claim_messages(&self.pool, now, lease_until, token, limit).await
    }

    async fn message_sent(&self, id: i64, token: &str, now: DateTime<Utc>) -> Result<bool> {
        Sqlite::message_sent(&self.pool, id, token, now).await
    }

    async fn message_failed(
        &self,
        id: i64,
        token: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        Sqlite::message_failed(&self.pool, id, token, error, retry_at, now).await
    }

    async fn outbox(&self) -> Result<Vec<OutboxMessage>> {
        Sqlite::outbox(&self.pool).await
    }
}

#[async_trait]
impl FeedStore for SqliteStore {
    async fn add_feed(
        &self,
        user_id: i64,
        kind: FeedKind,
        room: Option<&str>,
        org: Option<&str>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedToken> {
        Sqlite::add_feed(&self.pool, user_id, kind, room, org, token_hash, now).await
    }

    async fn feed_by_token(&self, token_hash: &str) -> Result<Option<(FeedToken, User)>> {
        Sqlite::feed_by_token(&self.pool, token_hash).await
    }

    async fn feeds_of(&self, user_id: i64) -> Result<Vec<FeedToken>> {
        Sqlite::feeds_of(&self.pool, user_id).await
    }

    async fn revoke_feed(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool> {
        Sqlite::revoke_feed(&self.pool, id, user_id, now).await
    }
}
