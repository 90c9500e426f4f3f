//! The database: one API (`Store`, `WriteTx`), with SQLite and PostgreSQL behind it.
//!
//! Writers that decide on a room go through `Store::write(room)`, which serialises them: a
//! `BEGIN IMMEDIATE` transaction on SQLite, a transaction holding a per-room advisory lock on
//! PostgreSQL. The database itself refuses overlapping confirmed bookings (a trigger on SQLite,
//! an exclusion constraint on PostgreSQL) as a backstop.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{AuditEntry, Booking, FeedKind, NewBooking, Role, Status, User};
use crate::mail::NewMessage;

pub mod postgres;
mod sql;
pub mod sqlite;

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

/// No booking keeps more than this from its start to the end of its buffer (the configuration
/// limits durations to a day and buffers to half a day). Queries use it as a lower bound on
/// `starts_at`, so they read a short index range however long the history grows.
pub const MAX_SPAN: chrono::TimeDelta = chrono::TimeDelta::days(2);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A filter over bookings. Times select bookings that overlap `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct BookingQuery {
    pub room: Option<String>,
    /// Bookings whose contact person has this e-mail address.
    pub contact_email: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub statuses: Vec<Status>,
    pub org: Option<String>,
    pub limit: Option<i64>,
}

/// What a new booking is written with.
#[derive(Debug, Clone)]
pub struct Insert<'a> {
    pub booking: &'a NewBooking,
    pub status: Status,
    pub blocked_until: DateTime<Utc>,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// A status change, written with its audit line; raises the booking's SEQUENCE.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub id: i64,
    pub from: Status,
    pub to: Status,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// A new time for a booking, written with its audit line; raises SEQUENCE.
#[derive(Debug, Clone)]
pub struct Reschedule<'a> {
    pub id: i64,
    pub from: Status,
    pub to: Status,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
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

/// A request for access from an address outside the configured organisations' domains.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequest {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// The organisation as the person wrote it.
    pub org_text: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// "granted" or "refused", once decided.
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

/// A new access request.
#[derive(Debug, Clone)]
pub struct NewAccessRequest<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub org_text: &'a str,
    pub message: Option<&'a str>,
}

/// The coordinator's answer to an access request: grant with an organisation and a role (the
/// user is created, or updated if the address already has an account), or refuse.
#[derive(Debug, Clone)]
pub struct AccessDecision<'a> {
    pub id: i64,
    pub grant: Option<(&'a str, Role)>,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;

    async fn add_user(&self, email: &str, name: &str, org: &str, role: Role, now: DateTime<Utc>) -> Result<User>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user(&self, id: i64) -> Result<Option<User>>;
    /// Every user, by e-mail address.
    async fn users(&self) -> Result<Vec<User>>;
    /// Set a user's organisation and role.
    async fn update_user(&self, id: i64, org: &str, role: Role) -> Result<User>;

    /// Store an access request and a message to each coordinator (`notify` composes it for an
    /// address), together. `Duplicate` if the address already has an open request.
    async fn add_access_request(
        &self,
        r: &NewAccessRequest<'_>,
        now: DateTime<Utc>,
        notify: &(dyn for<'s> Fn(&'s str) -> NewMessage + Sync),
    ) -> Result<AccessRequest>;
    async fn access_request(&self, id: i64) -> Result<Option<AccessRequest>>;
    /// Open requests first (oldest first), then the 50 latest decided.
    async fn access_requests(&self) -> Result<Vec<AccessRequest>>;
    /// Decide an open request and send `mail`, together; the user when granted. `NotFound` if
    /// the request is not open.
    async fn decide_access_request(&self, d: &AccessDecision<'_>, mail: &NewMessage) -> Result<Option<User>>;
    async fn add_api_token(&self, user_id: i64, token_hash: &str, now: DateTime<Utc>) -> Result<()>;
    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>>;

    async fn booking(&self, id: i64) -> Result<Option<Booking>>;
    async fn bookings(&self, q: &BookingQuery) -> Result<Vec<Booking>>;
    /// A summary of the bookings `q` selects that changes whenever any of them changes,
    /// appears or leaves: count, latest change, and sums of ids and sequences.
    async fn bookings_fingerprint(&self, q: &BookingQuery) -> Result<String>;
    async fn history(&self, id: i64) -> Result<Vec<AuditEntry>>;
    /// The bookings a report of `[from, to)` counts: confirmed, refused and taken back, that
    /// start in the interval, with only what the report reads (time, organisation, status,
    /// title, public, contact name, activity, attendance); the other fields are left empty.
    async fn report_bookings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>>;
    /// Set what a booking is used for.
    async fn set_activity(&self, id: i64, activity: &crate::domain::Activity, now: DateTime<Utc>) -> Result<Booking>;
    /// Record who came to a booking's event (replacing an earlier registration).
    async fn set_attendance(&self, id: i64, attendance: &crate::domain::Attendance) -> Result<Booking>;
    /// Claim the confirmed bookings that ended in `[ended_after, ended_before)` without
    /// attendance and not yet asked for it, mark them asked, and put `ask(booking)` in the
    /// outbox for each, together. Each booking is claimed once, also across processes.
    async fn ask_for_attendance(
        &self,
        ended_after: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
        ask: &(dyn for<'b> Fn(&'b Booking) -> NewMessage + Sync),
    ) -> Result<Vec<Booking>>;

    /// Start a serialised write transaction for decisions about `room`.
    async fn write(&self, room: &str) -> Result<Box<dyn WriteTx>>;

    /// Lease up to `limit` due, unsent messages until `lease_until` under `token`. Concurrent
    /// workers (also in other processes) never get the same row while its lease holds.
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        token: &str,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>>;
    /// Mark a leased message sent; false if the lease was lost.
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

    async fn add_feed(
        &self,
        user_id: i64,
        kind: FeedKind,
        room: Option<&str>,
        org: Option<&str>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedToken>;
    /// A feed by its token's hash, with its owner; revoked feeds too (the caller decides).
    async fn feed_by_token(&self, token_hash: &str) -> Result<Option<(FeedToken, User)>>;
    async fn feeds_of(&self, user_id: i64) -> Result<Vec<FeedToken>>;
    /// Revoke a feed of `user_id` (or anyone's, with `None`); false if there was none to revoke.
    async fn revoke_feed(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool>;
}

/// A write transaction. Dropped without `commit`, it rolls back.
#[async_trait]
pub trait WriteTx: Send {
    /// Pending and confirmed bookings of `room` whose kept interval overlaps `[from, to)`.
    async fn active_between(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>>;
    async fn booking(&mut self, id: i64) -> Result<Option<Booking>>;
    /// Minutes of pending and confirmed bookings of `org` that start in `[from, to)`.
    async fn minutes_held(&mut self, org: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64>;
    async fn insert(&mut self, ins: Insert<'_>) -> Result<Booking>;
    async fn transition(&mut self, t: Transition<'_>) -> Result<Booking>;
    async fn reschedule(&mut self, r: Reschedule<'_>) -> Result<Booking>;
    /// Replace the booking's activity (no audit line of its own: it goes with the change it
    /// belongs to).
    async fn set_activity(
        &mut self,
        id: i64,
        activity: &crate::domain::Activity,
        now: DateTime<Utc>,
    ) -> Result<Booking>;
    /// Put a message in the outbox, due now; it is sent only if this transaction commits.
    async fn enqueue(&mut self, m: &NewMessage, now: DateTime<Utc>) -> Result<i64>;
    /// E-mail addresses of the coordinators and administrators.
    async fn coordinator_emails(&mut self) -> Result<Vec<String>>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Connect to the database the URL names: `sqlite:` or `postgres:`.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::connect(url, max_connections).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::connect(url, max_connections).await?))
    }
}
