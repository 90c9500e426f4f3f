//! The database: one API, with SQLite and PostgreSQL behind it.
//!
//! The API is split by aggregate, one trait per file, each with the types it speaks in:
//!
//! - `bookings.rs`: `BookingStore` (reads, history, report rows, activity and attendance,
//!   asking for attendance, and `write(room)`) and `WriteTx`, the transaction that decides
//!   about a room;
//! - `users.rs`: `UserStore` (users and their accounts, access requests, API tokens);
//! - `sessions.rs`: `SessionStore` (sign-in links, sessions, shared server secrets);
//! - `outbox.rs`: `OutboxStore` (what the mail worker claims and marks), and `NewMessage`,
//!   what every other part puts in the outbox;
//! - `feeds.rs`: `FeedStore` (calendar feed subscriptions);
//! - `privacy.rs`: `PrivacyStore` (the retention round, a person's export and erasure);
//! - `series.rs`: `SeriesStore` (series of bookings and their occurrences; their writes are
//!   part of `WriteTx`);
//! - `waitlist.rs`: `WaitlistStore` (waitlist entries, holds and their links; joining,
//!   holding and answering are part of `WriteTx`).
//!
//! `Store` is all of them together, plus `backend()`, `migrate()` and `ping()`; the rest of the
//! application holds an `Arc<dyn Store>`, on which every method can be called as it is. Code that
//! holds the concrete store (`SqlStore`) brings the traits into scope with
//! `use crate::store::prelude::*`.
//!
//! The SQL is written once, next to its trait, as default methods of a per-aggregate trait
//! (`BookingSql`, `UserSql`, …) that `sqlx::Sqlite` and `sqlx::Postgres` both implement;
//! `sql.rs` holds the few differences in SQL (`Dialect`). `sql_store.rs` implements the public
//! traits once, handing each call to those functions for whichever database it holds;
//! `sqlite.rs` and `postgres.rs` write out only what differs: connecting, migrations, and how a
//! write transaction starts.
//!
//! Writers that decide on a room go through `BookingStore::write(room)`, which serialises them:
//! a `BEGIN IMMEDIATE` transaction on SQLite, a transaction holding a per-room advisory lock on
//! PostgreSQL. The database itself refuses overlapping confirmed bookings (a trigger on SQLite,
//! an exclusion constraint on PostgreSQL) as a backstop.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

mod bookings;
mod feeds;
mod outbox;
pub mod postgres;
mod privacy;
mod series;
mod sessions;
mod sql;
mod sql_store;
pub mod sqlite;
mod users;
mod waitlist;

pub use bookings::{BookingQuery, BookingStore, Insert, ReminderLink, Reschedule, Transition, WriteTx, MAX_SPAN};
pub use feeds::{FeedStore, FeedToken};
pub use outbox::{NewMessage, OutboxMessage, OutboxStore};
pub use privacy::{ErasureCounts, PersonData, PrivacyStore, RetentionCounts};
pub use series::{NewSeries, SeriesStore, SeriesUpdate};
pub use sessions::{Session, SessionStore};
pub use sql_store::{Pools, SqlStore};
pub use users::{
    AccessDecision, AccessOutcome, AccessRequest, Account, ApiToken, NewAccessRequest, UserStore, EXISTS_REASON,
};
pub use waitlist::{HoldAction, HoldLink, NewEntry, NewHold, WaitlistCounts, WaitlistStore};

/// The store traits, for callers that use a store's methods.
pub mod prelude {
    pub use super::{
        BookingStore, FeedStore, OutboxStore, PrivacyStore, SeriesStore, SessionStore, Store, UserStore, WaitlistStore,
        WriteTx,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An overlapping confirmed booking exists (the database's own guard fired).
    #[error("an overlapping confirmed booking exists")]
    Overlap,
    /// A unique value is taken; the name says which.
    #[error("already exists: {0}")]
    Duplicate(&'static str),
    #[error("not found")]
    NotFound,
    /// A stored value the application cannot read.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Database trouble. Shown to users only as a generic message.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.code().as_deref() == Some("23P01") || db.message().contains("booking_overlap") {
                return StoreError::Overlap;
            }
            if db.is_unique_violation() {
                let what = if db.message().contains("email") || db.constraint() == Some("users_email_key") {
                    "email"
                } else {
                    "unique value"
                };
                return StoreError::Duplicate(what);
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound;
        }
        StoreError::Database(e)
    }
}

impl StoreError {
    /// The database cannot be reached now (down, restarting, or every connection busy past
    /// `database.acquire_timeout_seconds`): worth trying again in a little while.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
            // PostgreSQL's connection exceptions (08…) and operator intervention (57P01
            // admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
            sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a store's connection pool is set up (`[database]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a caller waits for a connection before it gets an unavailable error.
    pub acquire_timeout: std::time::Duration,
}

impl PoolSettings {
    /// `max_connections` connections, and the shipped acquire timeout (3 s).
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: std::time::Duration::from_secs(3),
        }
    }
}

/// The whole store: every aggregate's trait, on one database.
#[async_trait]
pub trait Store:
    BookingStore
    + UserStore
    + SessionStore
    + OutboxStore
    + FeedStore
    + PrivacyStore
    + SeriesStore
    + WaitlistStore
    + Send
    + Sync
    + 'static
{
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;
    /// How the database's schema stands against the migrations this build knows.
    async fn schema_state(&self) -> Result<SchemaState>;
    /// A consistent copy of a SQLite database in the new file `to` (`VACUUM INTO`), taken while
    /// the service runs; `false` on PostgreSQL, which is backed up with `pg_dump`.
    async fn backup_to(&self, to: &std::path::Path) -> Result<bool>;
    /// What the metrics endpoint reports of the database at `now`: the outbox, the holds and
    /// the sessions (live: not ended, not expired, seen after `idle_since`).
    async fn gauges(&self, now: DateTime<Utc>, idle_since: DateTime<Utc>) -> Result<Gauges>;
}

/// The figures of [`Store::gauges`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Messages not sent and not given up.
    pub outbox_depth: i64,
    /// When the oldest of them was queued.
    pub oldest_unsent: Option<DateTime<Utc>>,
    /// Holds offered and not yet answered or run out.
    pub active_holds: i64,
    pub active_sessions: i64,
}

/// The database's schema against this build's migrations: the versions not applied yet, and
/// those applied that this build does not know (a newer build migrated it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaState {
    pub missing: Vec<i64>,
    pub unknown: Vec<i64>,
}

impl SchemaState {
    pub fn is_current(&self) -> bool {
        self.missing.is_empty() && self.unknown.is_empty()
    }
}

/// Connect to the database the URL names: `sqlite:` or `postgres:`.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Store>> {
    connect_with(url, PoolSettings::new(max_connections)).await
}

/// [`connect`] with every pool setting given.
pub async fn connect_with(url: &str, pool: PoolSettings) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::connect_with(url, pool).await?))
}
