//! The store: the public traits implemented once, for whichever database the URL names.
//!
//! Each method hands its pool (or its transaction) to the shared SQL of `bookings.rs`,
//! `users.rs`, …, with `DB` naming the database: `on_pool!` and `on_tx!` pick the arm. What
//! differs between the databases (connecting, migrations, how a write starts) is in
//! `sqlite.rs` and `postgres.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Postgres, Sqlite, Transaction};

use super::bookings::BookingSql;
use super::feeds::FeedSql;
use super::outbox::OutboxSql;
use super::privacy::PrivacySql;
use super::series::{NewSeries, SeriesSql, SeriesStore, SeriesUpdate};
use super::sessions::SessionSql;
use super::users::UserSql;
use super::waitlist::{HoldLink, NewEntry, NewHold, WaitlistCounts, WaitlistSql, WaitlistStore};
use super::{
    postgres, sqlite, AccessDecision, AccessOutcome, AccessRequest, Account, ApiToken, BookingQuery, BookingStore,
    ErasureCounts, FeedStore, FeedToken, Gauges, Insert, NewAccessRequest, NewMessage, OutboxMessage, OutboxStore,
    PersonData, PrivacyStore, ReminderLink, Reschedule, Result, RetentionCounts, SchemaState, Session, SessionStore,
    Store, Transition, UserStore, WriteTx,
};
use crate::domain::series::{Series, SeriesOccurrence};
use crate::domain::waitlist::{Entry, EntryStatus};
use crate::domain::{Activity, Attendance, AuditEntry, Booking, FeedKind, Role, User};

/// The database behind a [`SqlStore`].
#[derive(Clone)]
pub enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The store, on SQLite or PostgreSQL.
pub struct SqlStore {
    pools: Pools,
    /// The bookings' version in this process: raised after every write that may change a
    /// booking (see [`BookingStore::bookings_version`]).
    changes: Arc<AtomicU64>,
}

impl SqlStore {
    /// The store on `pools`. Each store keeps its own bookings version: open one per process
    /// and share it.
    pub fn new(pools: Pools) -> Self {
        Self {
            pools,
            changes: Arc::default(),
        }
    }

    /// Raise the bookings' version: after a write, never before it, so that a page rendered
    /// from what was there before is never kept under the new version.
    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// Connect to the database the URL names: `postgres:`/`postgresql:`, else SQLite.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        Self::connect_with(url, super::PoolSettings::new(max_connections)).await
    }

    /// [`Self::connect`] with every pool setting given.
    pub async fn connect_with(url: &str, pool: super::PoolSettings) -> Result<Self> {
        let pools = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Pools::Postgres(postgres::connect(url, pool).await?)
        } else {
            Pools::Sqlite(sqlite::connect(url, pool).await?)
        };
        Ok(Self::new(pools))
    }

    pub fn pools(&self) -> &Pools {
        &self.pools
    }
}

/// Run `$body` with `$p` bound to the store's pool and `$db` naming its database.
macro_rules! on_pool {
    ($pools:expr, |$p:ident, $db:ident| $body:expr) => {
        match $pools {
            Pools::Sqlite($p) => {
                type $db = Sqlite;
                $body
            }
            Pools::Postgres($p) => {
                type $db = Postgres;
                $body
            }
        }
    };
}

/// Run `$body` with `$c` bound to the write transaction and `$db` naming its database.
macro_rules! on_tx {
    ($tx:expr, |$c:ident, $db:ident| $body:expr) => {
        match &mut $tx.tx {
            Tx::Sqlite($c) => {
                type $db = Sqlite;
                $body
            }
            Tx::Postgres($c) => {
                type $db = Postgres;
                $body
            }
        }
    };
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.pools {
            Pools::Sqlite(_) => "sqlite",
            Pools::Postgres(_) => "postgres",
        }
    }

    async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite(p) => sqlite::migrate(p).await,
            Pools::Postgres(p) => postgres::migrate(p).await,
        }
    }

    async fn ping(&self) -> Result<()> {
        on_pool!(&self.pools, |p, _DB| sqlx::query("SELECT 1").execute(p).await.map(drop))?;
        Ok(())
    }

    async fn backup_to(&self, to: &std::path::Path) -> Result<bool> {
        match &self.pools {
            Pools::Sqlite(p) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(to.to_string_lossy().into_owned())
                    .execute(p)
                    .await?;
                Ok(true)
            }
            Pools::Postgres(_) => Ok(false),
        }
    }

    async fn gauges(&self, now: DateTime<Utc>, idle_since: DateTime<Utc>) -> Result<Gauges> {
        let (outbox_depth, oldest_unsent): (i64, Option<DateTime<Utc>>) = on_pool!(&self.pools, |p, _DB| {
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
                .fetch_one(p)
                .await
        })?;
        let active_holds: i64 = on_pool!(&self.pools, |p, _DB| {
            sqlx::query_scalar("SELECT COUNT(*) FROM bookings WHERE status = 'held' AND held_until > $1")
                .bind(now)
                .fetch_one(p)
                .await
        })?;
        let active_sessions: i64 = on_pool!(&self.pools, |p, _DB| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1 \
                 AND COALESCE(last_seen_at, created_at) > $2",
            )
            .bind(now)
            .bind(idle_since)
            .fetch_one(p)
            .await
        })?;
        Ok(Gauges {
            outbox_depth,
            oldest_unsent,
            active_holds,
            active_sessions,
        })
    }

    async fn schema_state(&self) -> Result<SchemaState> {
        let migrator = match &self.pools {
            Pools::Sqlite(_) => &sqlite::MIGRATOR,
            Pools::Postgres(_) => &postgres::MIGRATOR,
        };
        // No bookkeeping table yet: nothing is applied.
        let applied: Vec<i64> = match on_pool!(&self.pools, |p, _DB| {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(p)
                .await
        }) {
            Ok(v) => v,
            Err(sqlx::Error::Database(_)) => vec![],
            Err(e) => return Err(e.into()),
        };
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        Ok(SchemaState {
            missing: known.iter().copied().filter(|v| !applied.contains(v)).collect(),
            unknown: applied.iter().copied().filter(|v| !known.contains(v)).collect(),
        })
    }
}

/// A write transaction, and the bookings' version it raises when it commits.
struct SqlTx {
    tx: Tx,
    changes: Arc<AtomicU64>,
}

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

#[async_trait]
impl BookingStore for SqlStore {
    async fn booking(&self, id: i64) -> Result<Option<Booking>> {
        on_pool!(&self.pools, |p, DB| DB::booking(p, id).await)
    }

    async fn bookings(&self, q: &BookingQuery) -> Result<Vec<Booking>> {
        on_pool!(&self.pools, |p, DB| DB::bookings(p, q).await)
    }

    async fn bookings_fingerprint(&self, q: &BookingQuery) -> Result<String> {
        on_pool!(&self.pools, |p, DB| DB::bookings_fingerprint(p, q).await)
    }

    fn bookings_version(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    async fn history(&self, id: i64) -> Result<Vec<AuditEntry>> {
        on_pool!(&self.pools, |p, DB| DB::history(p, id).await)
    }

    async fn report_bookings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        on_pool!(&self.pools, |p, DB| DB::report_bookings(p, from, to).await)
    }

    async fn losses(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<crate::domain::fairness::LossEvent>> {
        on_pool!(&self.pools, |p, DB| DB::losses(p, from, to).await)
    }

    async fn set_activity(&self, id: i64, activity: &Activity, now: DateTime<Utc>) -> Result<Booking> {
        let done = on_pool!(&self.pools, |p, DB| DB::set_activity(p, id, activity, now).await);
        self.changed();
        done
    }

    async fn set_attendance(&self, id: i64, attendance: &Attendance) -> Result<Booking> {
        let done = on_pool!(&self.pools, |p, DB| DB::set_attendance(p, id, attendance).await);
        self.changed();
        done
    }

    async fn ask_for_attendance(
        &self,
        ended_after: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
        ask: &(dyn for<'b> Fn(&'b Booking) -> NewMessage + Sync),
    ) -> Result<Vec<Booking>> {
        let done = on_pool!(&self.pools, |p, DB| DB::ask_for_attendance(
            p,
            ended_after,
            ended_before,
            now,
            ask
        )
        .await);
        if done.as_ref().is_ok_and(|claimed| !claimed.is_empty()) {
            self.changed();
        }
        done
    }

    async fn remind(
        &self,
        starts_after: DateTime<Utc>,
        starts_before: DateTime<Utc>,
        now: DateTime<Utc>,
        remind: &(dyn for<'b> Fn(&'b Booking) -> (NewMessage, String) + Sync),
    ) -> Result<Vec<Booking>> {
        let done = on_pool!(&self.pools, |p, DB| DB::remind(
            p,
            starts_after,
            starts_before,
            now,
            remind
        )
        .await);
        if done.as_ref().is_ok_and(|claimed| !claimed.is_empty()) {
            self.changed();
        }
        done
    }

    async fn reminder_link(&self, token_hash: &str) -> Result<Option<ReminderLink>> {
        on_pool!(&self.pools, |p, DB| DB::reminder_link(p, token_hash).await)
    }

    async fn use_reminder_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
        let done = on_pool!(&self.pools, |p, DB| DB::use_reminder_link(p, token_hash, now).await);
        self.changed();
        done
    }

    async fn unclaimed(&self, started_by: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<Booking>> {
        on_pool!(&self.pools, |p, DB| DB::unclaimed(p, started_by, now).await)
    }
    /// Writers that decide about one room are serialised: see `sqlite::begin_write` and
    /// `postgres::begin_write`.
    async fn write(&self, room: &str) -> Result<Box<dyn WriteTx>> {
        let tx = match &self.pools {
            Pools::Sqlite(p) => Tx::Sqlite(sqlite::begin_write(p, room).await?),
            Pools::Postgres(p) => Tx::Postgres(postgres::begin_write(p, room).await?),
        };
        Ok(Box::new(SqlTx {
            tx,
            changes: self.changes.clone(),
        }))
    }
}

#[async_trait]
impl SeriesStore for SqlStore {
    async fn series(&self, id: i64) -> Result<Option<Series>> {
        on_pool!(&self.pools, |p, DB| <DB as SeriesSql>::series(p, id).await)
    }

    async fn series_occurrences(&self, id: i64) -> Result<Vec<SeriesOccurrence>> {
        on_pool!(&self.pools, |p, DB| DB::series_occurrences(p, id).await)
    }

    async fn series_by_ids(&self, ids: &[i64]) -> Result<Vec<Series>> {
        on_pool!(&self.pools, |p, DB| DB::series_by_ids(p, ids).await)
    }

    async fn planned_before(&self, before: DateTime<Utc>) -> Result<Vec<(i64, DateTime<Utc>)>> {
        on_pool!(&self.pools, |p, DB| DB::planned_before(p, before).await)
    }
}

#[async_trait]
impl WriteTx for SqlTx {
    async fn active_between(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        on_tx!(self, |c, DB| DB::active_between(&mut **c, room, from, to).await)
    }

    async fn booking(&mut self, id: i64) -> Result<Option<Booking>> {
        on_tx!(self, |c, DB| DB::booking(&mut **c, id).await)
    }

    async fn minutes_held(&mut self, org: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64> {
        on_tx!(self, |c, DB| DB::minutes_held(&mut **c, org, from, to).await)
    }

    async fn insert(&mut self, ins: Insert<'_>) -> Result<Booking> {
        on_tx!(self, |c, DB| DB::insert(c, ins).await)
    }

    async fn transition(&mut self, t: Transition<'_>) -> Result<Booking> {
        on_tx!(self, |c, DB| DB::transition(c, t).await)
    }

    async fn reschedule(&mut self, r: Reschedule<'_>) -> Result<Booking> {
        on_tx!(self, |c, DB| DB::reschedule(c, r).await)
    }
    async fn check_in(&mut self, id: i64, actor: &str, now: DateTime<Utc>) -> Result<Option<Booking>> {
        on_tx!(self, |c, DB| DB::check_in(c, id, actor, now).await)
    }

    async fn set_activity(&mut self, id: i64, activity: &Activity, now: DateTime<Utc>) -> Result<Booking> {
        on_tx!(self, |c, DB| DB::set_activity(&mut **c, id, activity, now).await)
    }

    async fn enqueue(&mut self, m: &NewMessage, now: DateTime<Utc>) -> Result<i64> {
        on_tx!(self, |c, DB| DB::enqueue(&mut **c, m, now).await)
    }

    async fn coordinator_emails(&mut self) -> Result<Vec<String>> {
        on_tx!(self, |c, DB| DB::coordinator_emails(&mut **c).await)
    }

    async fn series(&mut self, id: i64) -> Result<Option<Series>> {
        on_tx!(self, |c, DB| <DB as SeriesSql>::series(&mut **c, id).await)
    }

    async fn series_occurrences(&mut self, id: i64) -> Result<Vec<SeriesOccurrence>> {
        on_tx!(self, |c, DB| DB::series_occurrences(&mut **c, id).await)
    }

    async fn insert_series(&mut self, s: NewSeries<'_>) -> Result<Series> {
        on_tx!(self, |c, DB| DB::insert_series(c, s).await)
    }

    async fn put_occurrence(&mut self, series_id: i64, key: DateTime<Utc>, o: &SeriesOccurrence) -> Result<()> {
        on_tx!(self, |c, DB| DB::put_occurrence(c, series_id, key, o).await)
    }

    async fn move_occurrences(&mut self, from_series: i64, from: DateTime<Utc>, to: i64) -> Result<()> {
        on_tx!(self, |c, DB| DB::move_occurrences(c, from_series, from, to).await)
    }

    async fn update_series(&mut self, u: SeriesUpdate<'_>) -> Result<Series> {
        on_tx!(self, |c, DB| DB::update_series(c, u).await)
    }

    async fn join_waitlist(&mut self, n: NewEntry<'_>) -> Result<Entry> {
        on_tx!(self, |c, DB| DB::join_waitlist(c, n).await)
    }

    async fn waitlist_entry(&mut self, id: i64) -> Result<Option<Entry>> {
        on_tx!(self, |c, DB| <DB as WaitlistSql>::waitlist_entry(&mut **c, id).await)
    }

    async fn waitlist_waiting(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Entry>> {
        on_tx!(self, |c, DB| <DB as WaitlistSql>::waitlist_waiting(
            &mut **c, room, from, to
        )
        .await)
    }

    async fn entry_of_hold(&mut self, booking_id: i64) -> Result<Option<Entry>> {
        on_tx!(self, |c, DB| DB::entry_of_hold(&mut **c, booking_id).await)
    }

    async fn set_entry_status(
        &mut self,
        id: i64,
        from: EntryStatus,
        to: EntryStatus,
        now: DateTime<Utc>,
    ) -> Result<Entry> {
        on_tx!(self, |c, DB| DB::set_entry_status(c, id, from, to, now).await)
    }

    async fn hold(&mut self, h: NewHold<'_>) -> Result<Booking> {
        on_tx!(self, |c, DB| DB::hold(c, h).await)
    }

    async fn use_hold_link(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
        on_tx!(self, |c, DB| DB::use_hold_link(c, token_hash, now).await)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let SqlTx { tx, changes } = *self;
        // Raised whether or not the commit went through: an unneeded new version costs one
        // rendering, a missed one would show an old page.
        let done = match tx {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        };
        changes.fetch_add(1, Ordering::Release);
        done?;
        Ok(())
    }
}

#[async_trait]
impl WaitlistStore for SqlStore {
    async fn waitlist_entry(&self, id: i64) -> Result<Option<Entry>> {
        on_pool!(&self.pools, |p, DB| <DB as WaitlistSql>::waitlist_entry(p, id).await)
    }

    async fn waitlist_of(&self, contact_email: &str) -> Result<Vec<Entry>> {
        on_pool!(&self.pools, |p, DB| DB::waitlist_of(p, contact_email).await)
    }

    async fn waitlist_waiting(&self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Entry>> {
        on_pool!(&self.pools, |p, DB| <DB as WaitlistSql>::waitlist_waiting(
            p, room, from, to
        )
        .await)
    }

    async fn hold_link(&self, token_hash: &str) -> Result<Option<HoldLink>> {
        on_pool!(&self.pools, |p, DB| DB::hold_link(p, token_hash).await)
    }

    async fn holds_due(&self, now: DateTime<Utc>) -> Result<Vec<(String, i64)>> {
        on_pool!(&self.pools, |p, DB| DB::holds_due(p, now).await)
    }

    async fn expire_waiting(&self, now: DateTime<Utc>) -> Result<u64> {
        on_pool!(&self.pools, |p, DB| DB::expire_waiting(p, now).await)
    }

    async fn waitlist_counts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<WaitlistCounts> {
        on_pool!(&self.pools, |p, DB| DB::waitlist_counts(p, from, to).await)
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn add_user(&self, email: &str, name: &str, org: &str, role: Role, now: DateTime<Utc>) -> Result<User> {
        on_pool!(&self.pools, |p, DB| DB::add_user(p, email, name, org, role, now).await)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        on_pool!(&self.pools, |p, DB| DB::user_by_email(p, email).await)
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        on_pool!(&self.pools, |p, DB| DB::user(p, id).await)
    }

    async fn users(&self) -> Result<Vec<User>> {
        on_pool!(&self.pools, |p, DB| DB::users(p).await)
    }

    async fn update_user(&self, id: i64, org: &str, role: Role) -> Result<User> {
        on_pool!(&self.pools, |p, DB| DB::update_user(p, id, org, role).await)
    }

    async fn add_access_request(
        &self,
        r: &NewAccessRequest<'_>,
        now: DateTime<Utc>,
        notify: &(dyn for<'s> Fn(&'s str) -> NewMessage + Sync),
    ) -> Result<AccessRequest> {
        on_pool!(&self.pools, |p, DB| DB::add_access_request(p, r, now, notify).await)
    }

    async fn access_request(&self, id: i64) -> Result<Option<AccessRequest>> {
        on_pool!(&self.pools, |p, DB| DB::access_request(p, id).await)
    }

    async fn access_requests(&self) -> Result<Vec<AccessRequest>> {
        on_pool!(&self.pools, |p, DB| DB::access_requests(p).await)
    }

    async fn decide_access_request(&self, d: &AccessDecision<'_>, mail: &NewMessage) -> Result<AccessOutcome> {
        on_pool!(&self.pools, |p, DB| DB::decide_access_request(p, d, mail).await)
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        on_pool!(&self.pools, |p, DB| DB::accounts(p).await)
    }

    async fn account(&self, id: i64) -> Result<Option<Account>> {
        on_pool!(&self.pools, |p, DB| DB::account(p, id).await)
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        on_pool!(&self.pools, |p, DB| DB::account_by_email(p, email).await)
    }

    async fn disable_user(&self, id: i64, now: DateTime<Utc>) -> Result<Account> {
        on_pool!(&self.pools, |p, DB| DB::disable_user(p, id, now).await)
    }

    async fn enable_user(&self, id: i64) -> Result<Account> {
        on_pool!(&self.pools, |p, DB| DB::enable_user(p, id).await)
    }

    async fn add_api_token(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<ApiToken> {
        on_pool!(&self.pools, |p, DB| DB::add_api_token(
            p, user_id, token_hash, now, expires_at
        )
        .await)
    }

    async fn user_by_api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>> {
        on_pool!(&self.pools, |p, DB| DB::user_by_api_token(p, token_hash, now).await)
    }

    async fn touch_api_token(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        on_pool!(&self.pools, |p, DB| DB::touch_api_token(p, id, now).await)
    }

    async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        on_pool!(&self.pools, |p, DB| DB::api_tokens_of(p, user_id).await)
    }

    async fn revoke_api_token(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool> {
        on_pool!(&self.pools, |p, DB| DB::revoke_api_token(p, id, user_id, now).await)
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn add_login_link(
        &self,
        email: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: &NewMessage,
    ) -> Result<()> {
        on_pool!(&self.pools, |p, DB| DB::add_login_link(
            p, email, token_hash, now, expires_at, mail
        )
        .await)
    }

    async fn use_login_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        on_pool!(&self.pools, |p, DB| DB::use_login_link(p, token_hash, now).await)
    }

    async fn login_link_usable(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        on_pool!(&self.pools, |p, DB| DB::login_link_usable(p, token_hash, now).await)
    }

    async fn add_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        user_agent: Option<&str>,
    ) -> Result<()> {
        on_pool!(&self.pools, |p, DB| DB::add_session(
            p, user_id, token_hash, now, expires_at, user_agent
        )
        .await)
    }

    async fn user_by_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<(Session, User)>> {
        on_pool!(&self.pools, |p, DB| DB::user_by_session(p, token_hash, now, idle_since)
            .await)
    }

    async fn touch_session(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        on_pool!(&self.pools, |p, DB| DB::touch_session(p, id, now).await)
    }

    async fn sessions_of(&self, user_id: i64, now: DateTime<Utc>, idle_since: DateTime<Utc>) -> Result<Vec<Session>> {
        on_pool!(&self.pools, |p, DB| DB::sessions_of(p, user_id, now, idle_since).await)
    }

    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        on_pool!(&self.pools, |p, DB| DB::end_session(p, token_hash, now).await)
    }

    async fn end_sessions_of(&self, user_id: i64, keep: Option<i64>, now: DateTime<Utc>) -> Result<u64> {
        on_pool!(&self.pools, |p, DB| DB::end_sessions_of(p, user_id, keep, now).await)
    }

    async fn server_secret(&self, name: &str, value: &str, now: DateTime<Utc>) -> Result<String> {
        on_pool!(&self.pools, |p, DB| DB::server_secret(p, name, value, now).await)
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        token: &str,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        on_pool!(&self.pools, |p, DB| DB::claim_messages(
            p,
            now,
            lease_until,
            token,
            limit
        )
        .await)
    }

    async fn message_sent(&self, id: i64, token: &str, now: DateTime<Utc>) -> Result<bool> {
        on_pool!(&self.pools, |p, DB| DB::message_sent(p, id, token, now).await)
    }

    async fn message_failed(
        &self,
        id: i64,
        token: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(&self.pools, |p, DB| DB::message_failed(
            p, id, token, error, retry_at, now
        )
        .await)
    }

    async fn outbox(&self) -> Result<Vec<OutboxMessage>> {
        on_pool!(&self.pools, |p, DB| DB::outbox(p).await)
    }
}

#[async_trait]
impl FeedStore for SqlStore {
    async fn add_feed(
        &self,
        user_id: i64,
        kind: FeedKind,
        room: Option<&str>,
        org: Option<&str>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedToken> {
        on_pool!(&self.pools, |p, DB| DB::add_feed(
            p, user_id, kind, room, org, token_hash, now
        )
        .await)
    }

    async fn feed_by_token(&self, token_hash: &str) -> Result<Option<(FeedToken, User)>> {
        on_pool!(&self.pools, |p, DB| DB::feed_by_token(p, token_hash).await)
    }

    async fn feeds_of(&self, user_id: i64) -> Result<Vec<FeedToken>> {
        on_pool!(&self.pools, |p, DB| DB::feeds_of(p, user_id).await)
    }

    async fn revoke_feed(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool> {
        on_pool!(&self.pools, |p, DB| DB::revoke_feed(p, id, user_id, now).await)
    }
}

#[async_trait]
impl PrivacyStore for SqlStore {
    async fn anonymise_before(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<RetentionCounts> {
        let done = on_pool!(&self.pools, |p, DB| DB::anonymise_before(p, cutoff, now).await);
        self.changed();
        done
    }

    async fn person_data(&self, email: &str) -> Result<PersonData> {
        on_pool!(&self.pools, |p, DB| DB::person_data(p, email).await)
    }

    async fn erase_person(&self, email: &str, now: DateTime<Utc>) -> Result<ErasureCounts> {
        let done = on_pool!(&self.pools, |p, DB| DB::erase_person(p, email, now).await);
        self.changed();
        done
    }
}
