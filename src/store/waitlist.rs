//! The waitlist: entries, the holds they get, and the single-use links that answer a hold.
//! Reads on the pool (`WaitlistStore`); what changes a room (joining, holding, answering) goes
//! with the room's write transaction (`WriteTx`), so a freed slot is offered in the same
//! transaction that freed it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::bookings::{AuditRow, BookingRow, BookingSql, LossRow, ReportRow, BOOKING_COLUMNS};
use super::outbox::OutboxMessage;
use super::sql::{json, to_json};
use super::{Insert, Result, StoreError};
use crate::domain::waitlist::{Entry, EntryStatus};
use crate::domain::{Booking, NewBooking, Status};

/// What the «Bekreft» or «Avslå» link of a hold does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAction {
    Confirm,
    Decline,
}

impl HoldAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldAction::Confirm => "confirm",
            HoldAction::Decline => "decline",
        }
    }
}

/// A hold's link, as stored (by its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct HoldLink {
    pub entry_id: i64,
    pub action: HoldAction,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// A hold to write: the entry it is for, the booking it reserves (status `held`), until when,
/// and the hashes of its confirm and decline links.
pub struct NewHold<'a> {
    pub entry_id: i64,
    pub booking: &'a NewBooking,
    pub blocked_until: DateTime<Utc>,
    pub held_until: DateTime<Utc>,
    pub confirm_hash: &'a str,
    pub decline_hash: &'a str,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// An entry to write: the request, and when it joined.
pub struct NewEntry<'a> {
    pub booking: &'a NewBooking,
    pub now: DateTime<Utc>,
}

/// Counts for the report: entries that joined, holds offered and confirmed, and holds that
/// ended without a booking while nothing else took their slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitlistCounts {
    pub entries: i64,
    pub holds_offered: i64,
    pub holds_confirmed: i64,
    pub unused: i64,
}

#[async_trait]
pub trait WaitlistStore: Send + Sync {
    async fn waitlist_entry(&self, id: i64) -> Result<Option<Entry>>;
    /// The entries of the contact with this address (any status), latest time first.
    async fn waitlist_of(&self, contact_email: &str) -> Result<Vec<Entry>>;
    /// The waiting entries of `room` whose time overlaps `[from, to)`.
    async fn waitlist_waiting(&self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Entry>>;
    async fn hold_link(&self, token_hash: &str) -> Result<Option<HoldLink>>;
    /// The holds whose time ran out by `now`: `(room, booking id)`.
    async fn holds_due(&self, now: DateTime<Utc>) -> Result<Vec<(String, i64)>>;
    /// Waiting entries whose time has started expire. How many did.
    async fn expire_waiting(&self, now: DateTime<Utc>) -> Result<u64>;
    /// The report's waitlist counts for entries whose time starts in `[from, to)`.
    async fn waitlist_counts(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<WaitlistCounts>;
}

pub(super) const ENTRY_COLUMNS: &str =
    "id, room, starts_at, ends_at, org, contact_user_id, contact_name, contact_email, \
     title, description, public, attendees, activity, joined_at, status, booking_id, held_at";

#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    id: i64,
    room: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    org: String,
    contact_user_id: Option<i64>,
    contact_name: String,
    contact_email: String,
    title: String,
    description: Option<String>,
    public: bool,
    attendees: i64,
    activity: Option<String>,
    joined_at: DateTime<Utc>,
    status: String,
    booking_id: Option<i64>,
    held_at: Option<DateTime<Utc>>,
}

impl TryFrom<EntryRow> for Entry {
    type Error = StoreError;
    fn try_from(r: EntryRow) -> Result<Entry> {
        Ok(Entry {
            id: r.id,
            room: r.room,
            start: r.starts_at,
            end: r.ends_at,
            org: r.org,
            contact_user_id: r.contact_user_id,
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            title: r.title,
            description: r.description,
            public: r.public,
            attendees: r.attendees,
            activity: json(r.activity, "activity")?,
            joined_at: r.joined_at,
            status: EntryStatus::parse(&r.status)
                .map_err(|_| StoreError::Corrupt(format!("waitlist status {}", r.status)))?,
            booking_id: r.booking_id,
            held_at: r.held_at,
        })
    }
}

/// A hold link's entry, action, expiry and use, as read.
type LinkRow = (i64, String, DateTime<Utc>, Option<DateTime<Utc>>);

fn entries(rows: Vec<EntryRow>) -> Result<Vec<Entry>> {
    rows.into_iter().map(Entry::try_from).collect()
}

/// The waitlist's SQL, the same on both databases.
pub(super) trait WaitlistSql: BookingSql
where
    for<'q> Self::Arguments<'q>: IntoArguments<'q, Self>,
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> bool: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> String: Encode<'q, Self> + Type<Self>,
    for<'q> DateTime<Utc>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<i64>: Encode<'q, Self>,
    for<'q> Option<&'q str>: Encode<'q, Self>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, Self>,
    for<'q> Option<String>: Encode<'q, Self>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
    for<'r> (i64, Option<DateTime<Utc>>, i64, i64): FromRow<'r, Self::Row>,
    for<'r> (DateTime<Utc>, DateTime<Utc>): FromRow<'r, Self::Row>,
    for<'r> (i64, DateTime<Utc>, Option<DateTime<Utc>>): FromRow<'r, Self::Row>,
    for<'r> OutboxMessage: FromRow<'r, Self::Row>,
    for<'r> BookingRow: FromRow<'r, Self::Row>,
    for<'r> ReportRow: FromRow<'r, Self::Row>,
    for<'r> AuditRow: FromRow<'r, Self::Row>,
    for<'r> LossRow: FromRow<'r, Self::Row>,
    for<'r> EntryRow: FromRow<'r, Self::Row>,
    for<'r> (String, i64): FromRow<'r, Self::Row>,
    for<'r> LinkRow: FromRow<'r, Self::Row>,
    for<'r> (i64, i64, i64, i64): FromRow<'r, Self::Row>,
{
    async fn waitlist_entry<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Option<Entry>> {
        let row: Option<EntryRow> = sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM waitlist WHERE id = $1"))
            .bind(id)
            .fetch_optional(e)
            .await?;
        row.map(Entry::try_from).transpose()
    }

    async fn waitlist_of<'e>(e: impl Executor<'e, Database = Self>, contact_email: &str) -> Result<Vec<Entry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist WHERE contact_email = $1 ORDER BY starts_at DESC, id DESC"
        ))
        .bind(contact_email)
        .fetch_all(e)
        .await?;
        entries(rows)
    }

    async fn waitlist_waiting<'e>(
        e: impl Executor<'e, Database = Self>,
        room: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Entry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist WHERE status = 'waiting' AND room = $1 AND starts_at < $2 AND ends_at > $3 \
             ORDER BY joined_at, id"
        ))
        .bind(room)
        .bind(to)
        .bind(from)
        .fetch_all(e)
        .await?;
        entries(rows)
    }

    async fn hold_link<'e>(e: impl Executor<'e, Database = Self>, token_hash: &str) -> Result<Option<HoldLink>> {
        let row: Option<LinkRow> =
            sqlx::query_as("SELECT entry_id, action, expires_at, used_at FROM hold_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(e)
                .await?;
        Ok(row.map(|(entry_id, action, expires_at, used_at)| HoldLink {
            entry_id,
            action: if action == "confirm" {
                HoldAction::Confirm
            } else {
                HoldAction::Decline
            },
            expires_at,
            used_at,
        }))
    }

    async fn holds_due<'e>(e: impl Executor<'e, Database = Self>, now: DateTime<Utc>) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT room, id FROM bookings WHERE status = 'held' AND held_until <= $1 ORDER BY held_until, id",
        )
        .bind(now)
        .fetch_all(e)
        .await?)
    }

    async fn expire_waiting<'e>(e: impl Executor<'e, Database = Self>, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE waitlist SET status = 'expired', updated_at = $1 WHERE status = 'waiting' AND starts_at <= $1",
        )
        .bind(now)
        .execute(e)
        .await?;
        Ok(Self::rows_affected(&done))
    }

    async fn waitlist_counts<'e>(
        e: impl Executor<'e, Database = Self>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<WaitlistCounts> {
        // A hold went unused when it ended without a booking (declined, ran out or withdrawn)
        // and no confirmed booking holds any of its time now.
        let (entries, holds_offered, holds_confirmed, unused): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN w.held_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN w.status = 'booked' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN w.status IN ('declined', 'lapsed', 'withdrawn') AND NOT EXISTS ( \
                 SELECT 1 FROM bookings b WHERE b.room = w.room AND b.status = 'confirmed' \
                 AND b.starts_at < w.ends_at AND b.ends_at > w.starts_at) THEN 1 ELSE 0 END), 0) \
             FROM waitlist w WHERE w.starts_at >= $1 AND w.starts_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(e)
        .await?;
        Ok(WaitlistCounts {
            entries,
            holds_offered,
            holds_confirmed,
            unused,
        })
    }

    async fn join_waitlist(conn: &mut Self::Connection, n: NewEntry<'_>) -> Result<Entry> {
        let b = n.booking;
        let row: EntryRow = sqlx::query_as(&format!(
            "INSERT INTO waitlist (room, starts_at, ends_at, org, contact_user_id, contact_name, contact_email, title, \
             description, public, attendees, activity, joined_at, status, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'waiting', $13) RETURNING {ENTRY_COLUMNS}"
        ))
        .bind(&b.room)
        .bind(b.start)
        .bind(b.end)
        .bind(&b.org)
        .bind((b.contact.id > 0).then_some(b.contact.id))
        .bind(&b.contact.name)
        .bind(&b.contact.email)
        .bind(b.title.as_str())
        .bind(b.description.as_deref())
        .bind(b.public)
        .bind(b.attendees)
        .bind(b.activity.as_ref().map(to_json))
        .bind(n.now)
        .fetch_one(&mut *conn)
        .await?;
        Entry::try_from(row)
    }

    /// Change an entry's status if it still has `from`.
    async fn set_entry_status(
        conn: &mut Self::Connection,
        id: i64,
        from: EntryStatus,
        to: EntryStatus,
        now: DateTime<Utc>,
    ) -> Result<Entry> {
        let row: Option<EntryRow> = sqlx::query_as(&format!(
            "UPDATE waitlist SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 RETURNING {ENTRY_COLUMNS}"
        ))
        .bind(to.as_str())
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        Entry::try_from(row.ok_or(StoreError::NotFound)?)
    }

    async fn entry_of_hold<'e>(e: impl Executor<'e, Database = Self>, booking_id: i64) -> Result<Option<Entry>> {
        let row: Option<EntryRow> =
            sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM waitlist WHERE booking_id = $1"))
                .bind(booking_id)
                .fetch_optional(e)
                .await?;
        row.map(Entry::try_from).transpose()
    }

    async fn hold(conn: &mut Self::Connection, h: NewHold<'_>) -> Result<Booking> {
        const REASON: &str = "Ledig tid holdt fra ventelisten.";
        let held = Self::insert(
            conn,
            Insert {
                booking: h.booking,
                series: None,
                status: Status::Held,
                blocked_until: h.blocked_until,
                reason: Some(REASON),
                actor: h.actor,
                now: h.now,
            },
        )
        .await?;
        let row: BookingRow = sqlx::query_as(&format!(
            "UPDATE bookings SET held_until = $1 WHERE id = $2 RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(h.held_until)
        .bind(held.id)
        .fetch_one(&mut *conn)
        .await?;
        let booking = Booking::try_from(row)?;
        let updated = sqlx::query(
            "UPDATE waitlist SET status = 'held', booking_id = $1, held_at = $2, updated_at = $2 \
             WHERE id = $3 AND status = 'waiting'",
        )
        .bind(booking.id)
        .bind(h.now)
        .bind(h.entry_id)
        .execute(&mut *conn)
        .await?;
        if Self::rows_affected(&updated) != 1 {
            return Err(StoreError::NotFound);
        }
        for (hash, action) in [
            (h.confirm_hash, HoldAction::Confirm),
            (h.decline_hash, HoldAction::Decline),
        ] {
            sqlx::query(
                "INSERT INTO hold_links (token_hash, entry_id, action, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hash)
            .bind(h.entry_id)
            .bind(action.as_str())
            .bind(h.now)
            .bind(h.held_until)
            .execute(&mut *conn)
            .await?;
        }
        Ok(booking)
    }

    /// Use a hold's link once; the entry's other link is used with it.
    async fn use_hold_link(conn: &mut Self::Connection, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE hold_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING entry_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(entry) = id {
            sqlx::query("UPDATE hold_links SET used_at = $1 WHERE entry_id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(entry)
                .execute(&mut *conn)
                .await?;
        }
        Ok(id)
    }
}

impl WaitlistSql for sqlx::Sqlite {}
impl WaitlistSql for sqlx::Postgres {}
