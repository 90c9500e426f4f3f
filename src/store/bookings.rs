//! Bookings: reads, the history of each, the rows a report counts, what a booking is used for
//! and who came, and the serialised write transaction (`WriteTx`) that decides about a room.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use super::outbox::{NewMessage, OutboxMessage, OutboxSql};
use super::series::{NewSeries, SeriesUpdate};
use super::sql::{json, status, to_json};
use super::waitlist::{NewEntry, NewHold};
use super::{Result, StoreError};
use crate::domain::fairness::{Loss, LossEvent};
use crate::domain::series::{Series, SeriesOccurrence};
use crate::domain::waitlist::{Entry, EntryStatus};
use crate::domain::{Activity, Attendance, AuditEntry, Booking, NewBooking, SeriesLink, Status};

/// No booking keeps more than this from its start to the end of its buffer (the configuration
/// limits durations to a day and buffers to half a day). Queries use it as a lower bound on
/// `starts_at`, so they read a short index range however long the history grows.
pub const MAX_SPAN: chrono::TimeDelta = chrono::TimeDelta::days(2);

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
    /// The series occurrence this booking is, if one.
    pub series: Option<SeriesLink>,
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

#[async_trait]
pub trait BookingStore: Send + Sync {
    async fn booking(&self, id: i64) -> Result<Option<Booking>>;
    async fn bookings(&self, q: &BookingQuery) -> Result<Vec<Booking>>;
    /// A summary of the bookings `q` selects that changes whenever any of them changes,
    /// appears or leaves: count, latest change, and sums of ids and sequences.
    async fn bookings_fingerprint(&self, q: &BookingQuery) -> Result<String>;
    /// The bookings' version in this process: it changes after every write through this store
    /// that may change a booking (a committed write transaction, activity, attendance, the
    /// reminder and attendance rounds, anonymising and erasing). Writes by other processes
    /// do not change it: a cache keyed on it checks `bookings_fingerprint` as well.
    fn bookings_version(&self) -> u64;
    async fn history(&self, id: i64) -> Result<Vec<AuditEntry>>;
    /// The bookings a report of `[from, to)` counts: confirmed, refused and taken back, that
    /// start in the interval, with only what the report reads (time, organisation, status,
    /// title, public, contact name, activity, attendance); the other fields are left empty.
    async fn report_bookings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>>;
    /// The losses of the fairness ledger whose change falls in `[from, to]`: every change to
    /// `displaced`, and every change from `pending` to `rejected` with the organisations of
    /// the bookings in the same room that overlapped it (buffers included, at their stored
    /// times) and were still pending or confirmed then (made before it, not yet rejected,
    /// cancelled or displaced).
    /// Which of them count is `domain::fairness::counts`.
    async fn losses(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<LossEvent>>;
    /// Set what a booking is used for.
    async fn set_activity(&self, id: i64, activity: &Activity, now: DateTime<Utc>) -> Result<Booking>;
    /// Record who came to a booking's event (replacing an earlier registration).
    async fn set_attendance(&self, id: i64, attendance: &Attendance) -> Result<Booking>;
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

    /// Claim the confirmed bookings that start in `(starts_after, starts_before]` and were not
    /// yet reminded, mark them reminded, and for each put the message of `remind(booking)` in
    /// the outbox and keep its cancel link (by hash, valid until the booking starts), together.
    /// Each booking is claimed once, also across processes.
    async fn remind(
        &self,
        starts_after: DateTime<Utc>,
        starts_before: DateTime<Utc>,
        now: DateTime<Utc>,
        remind: &(dyn for<'b> Fn(&'b Booking) -> (NewMessage, String) + Sync),
    ) -> Result<Vec<Booking>>;
    /// The reminder's cancel link with this hash: its booking, when it expires, when it was used.
    async fn reminder_link(&self, token_hash: &str) -> Result<Option<ReminderLink>>;
    /// Use the cancel link with this hash once, if unused and not expired: its booking.
    async fn use_reminder_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>>;
    /// The confirmed bookings nobody has checked in that started at `started_by` or before
    /// (and after `now - MAX_SPAN`) and have not ended at `now`: the candidates for release
    /// as no-shows (which tiers need a check-in is the caller's to filter).
    async fn unclaimed(&self, started_by: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<Booking>>;

    /// Start a serialised write transaction for decisions about `room`.
    async fn write(&self, room: &str) -> Result<Box<dyn WriteTx>>;
}

/// A write transaction. Dropped without `commit`, it rolls back.
#[async_trait]
pub trait WriteTx: Send {
    /// Pending and confirmed bookings and holds of `room` whose kept interval overlaps
    /// `[from, to)`.
    async fn active_between(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>>;
    async fn booking(&mut self, id: i64) -> Result<Option<Booking>>;
    /// Minutes of pending and confirmed bookings and holds of `org` that start in `[from, to)`.
    async fn minutes_held(&mut self, org: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64>;
    async fn insert(&mut self, ins: Insert<'_>) -> Result<Booking>;
    async fn transition(&mut self, t: Transition<'_>) -> Result<Booking>;
    async fn reschedule(&mut self, r: Reschedule<'_>) -> Result<Booking>;
    /// Check in a confirmed booking not yet checked in, with an audit line (to `confirmed`,
    /// «Sjekket inn»): the booking, or `None` when it is not confirmed or already checked in.
    async fn check_in(&mut self, id: i64, actor: &str, now: DateTime<Utc>) -> Result<Option<Booking>>;
    /// Replace the booking's activity (no audit line of its own: it goes with the change it
    /// belongs to).
    async fn set_activity(&mut self, id: i64, activity: &Activity, now: DateTime<Utc>) -> Result<Booking>;
    /// Put a message in the outbox, due now; it is sent only if this transaction commits.
    async fn enqueue(&mut self, m: &NewMessage, now: DateTime<Utc>) -> Result<i64>;
    /// E-mail addresses of the coordinators and administrators.
    async fn coordinator_emails(&mut self) -> Result<Vec<String>>;
    async fn series(&mut self, id: i64) -> Result<Option<Series>>;
    async fn series_occurrences(&mut self, id: i64) -> Result<Vec<SeriesOccurrence>>;
    async fn insert_series(&mut self, s: NewSeries<'_>) -> Result<Series>;
    /// Write occurrence `o` in place of the row whose recurrence id is `key` (the same for a
    /// new or an unchanged row).
    async fn put_occurrence(&mut self, series_id: i64, key: DateTime<Utc>, o: &SeriesOccurrence) -> Result<()>;
    /// Move series `from_series`'s occurrences from `from` on, and their bookings, to series `to`.
    async fn move_occurrences(&mut self, from_series: i64, from: DateTime<Utc>, to: i64) -> Result<()>;
    async fn update_series(&mut self, u: SeriesUpdate<'_>) -> Result<Series>;
    async fn join_waitlist(&mut self, n: NewEntry<'_>) -> Result<Entry>;
    async fn waitlist_entry(&mut self, id: i64) -> Result<Option<Entry>>;
    /// The waiting entries of `room` whose time overlaps `[from, to)`.
    async fn waitlist_waiting(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Entry>>;
    /// The entry whose hold is booking `booking_id`.
    async fn entry_of_hold(&mut self, booking_id: i64) -> Result<Option<Entry>>;
    /// Change an entry's status if it still has `from`.
    async fn set_entry_status(
        &mut self,
        id: i64,
        from: EntryStatus,
        to: EntryStatus,
        now: DateTime<Utc>,
    ) -> Result<Entry>;
    /// Write a hold: its booking (status `held`, with an audit line), the entry's new status and
    /// the hold's two links.
    async fn hold(&mut self, h: NewHold<'_>) -> Result<Booking>;
    /// Use a hold's link once (the entry's other link with it): its entry, if the link was
    /// unused and unexpired.
    async fn use_hold_link(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// A reminder's single-use cancel link, as stored (by its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderLink {
    pub booking_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub(super) const BOOKING_COLUMNS: &str =
    "id, room, starts_at, ends_at, blocked_until, title, description, public, attendees, org, \
     contact_name, contact_email, status, status_reason, sequence, created_at, updated_at, activity, attendance, \
     series_id, recurrence_id, held_until, checked_in_at";

#[derive(sqlx::FromRow)]
pub(super) struct BookingRow {
    id: i64,
    room: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    blocked_until: DateTime<Utc>,
    title: String,
    description: Option<String>,
    public: bool,
    attendees: i64,
    org: String,
    contact_name: String,
    contact_email: String,
    status: String,
    status_reason: Option<String>,
    sequence: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    activity: Option<String>,
    attendance: Option<String>,
    series_id: Option<i64>,
    recurrence_id: Option<DateTime<Utc>>,
    held_until: Option<DateTime<Utc>>,
    checked_in_at: Option<DateTime<Utc>>,
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;
    fn try_from(r: BookingRow) -> Result<Booking> {
        Ok(Booking {
            id: r.id,
            room: r.room,
            start: r.starts_at,
            end: r.ends_at,
            blocked_until: r.blocked_until,
            title: r.title,
            description: r.description,
            public: r.public,
            attendees: r.attendees,
            org: r.org,
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            status: status(&r.status)?,
            status_reason: r.status_reason,
            sequence: r.sequence,
            created_at: r.created_at,
            updated_at: r.updated_at,
            activity: json(r.activity, "activity")?,
            attendance: json(r.attendance, "attendance")?,
            series: match (r.series_id, r.recurrence_id) {
                (Some(series_id), Some(recurrence_id)) => Some(SeriesLink {
                    series_id,
                    recurrence_id,
                }),
                _ => None,
            },
            held_until: r.held_until,
            checked_in_at: r.checked_in_at,
        })
    }
}

fn bookings(rows: Vec<BookingRow>) -> Result<Vec<Booking>> {
    rows.into_iter().map(Booking::try_from).collect()
}

/// The columns a report reads.
#[derive(sqlx::FromRow)]
pub(super) struct ReportRow {
    id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    org: String,
    status: String,
    title: String,
    public: bool,
    contact_name: String,
    activity: Option<String>,
    attendance: Option<String>,
}

impl TryFrom<ReportRow> for Booking {
    type Error = StoreError;
    fn try_from(r: ReportRow) -> Result<Booking> {
        Ok(Booking {
            id: r.id,
            room: String::new(),
            start: r.starts_at,
            end: r.ends_at,
            blocked_until: r.ends_at,
            title: r.title,
            description: None,
            public: r.public,
            attendees: 0,
            org: r.org,
            contact_name: r.contact_name,
            contact_email: String::new(),
            status: status(&r.status)?,
            status_reason: None,
            sequence: 0,
            created_at: r.starts_at,
            updated_at: r.starts_at,
            activity: json(r.activity, "activity")?,
            attendance: json(r.attendance, "attendance")?,
            series: None,
            held_until: None,
            checked_in_at: None,
        })
    }
}

/// One loss with one rival (or none), as the ledger's query reads it.
#[derive(sqlx::FromRow)]
pub(super) struct LossRow {
    booking_id: i64,
    at: DateTime<Utc>,
    to_status: String,
    org: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    rival: Option<String>,
}

/// The rows of one booking's loss folded into one event with all its rivals.
fn losses(rows: Vec<LossRow>) -> Vec<LossEvent> {
    let mut out: Vec<LossEvent> = Vec::new();
    for r in rows {
        let loss = if r.to_status == "displaced" {
            Loss::Displaced
        } else {
            Loss::Rejected
        };
        match out.last_mut() {
            Some(e) if e.booking == r.booking_id && e.loss == loss && e.at == r.at => e.rivals.extend(r.rival),
            _ => out.push(LossEvent {
                booking: r.booking_id,
                org: r.org,
                loss,
                at: r.at,
                minutes: (r.ends_at - r.starts_at).num_minutes(),
                rivals: r.rival.into_iter().collect(),
            }),
        }
    }
    out
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    at: DateTime<Utc>,
    actor: String,
    from_status: Option<String>,
    to_status: String,
    reason: Option<String>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            at: r.at,
            actor: r.actor,
            from_status: r.from_status.as_deref().map(status).transpose()?,
            to_status: status(&r.to_status)?,
            reason: r.reason,
        })
    }
}

/// The bookings' SQL, the same on both databases. The writes that belong to a `WriteTx` take
/// its connection.
pub(super) trait BookingSql: OutboxSql
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
{
    async fn booking<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Option<Booking>> {
        let row: Option<BookingRow> = sqlx::query_as(&format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1"))
            .bind(id)
            .fetch_optional(e)
            .await?;
        row.map(Booking::try_from).transpose()
    }

    async fn bookings<'e>(e: impl Executor<'e, Database = Self>, q: &BookingQuery) -> Result<Vec<Booking>> {
        let mut b = QueryBuilder::<Self>::new(format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE 1 = 1"));
        Self::push_filter(&mut b, q);
        b.push(" ORDER BY starts_at, id");
        if let Some(limit) = q.limit {
            b.push(" LIMIT ").push_bind(limit);
        }
        let rows: Vec<BookingRow> = Self::build_query_as(&mut b).fetch_all(e).await?;
        bookings(rows)
    }

    async fn bookings_fingerprint<'e>(e: impl Executor<'e, Database = Self>, q: &BookingQuery) -> Result<String> {
        let mut b = QueryBuilder::<Self>::new(
            "SELECT COUNT(*), MAX(updated_at), CAST(COALESCE(SUM(sequence), 0) AS BIGINT), CAST(COALESCE(SUM(id), 0) AS BIGINT) \
             FROM bookings WHERE 1 = 1",
        );
        Self::push_filter(&mut b, q);
        let (count, latest, sequences, ids): (i64, Option<DateTime<Utc>>, i64, i64) =
            Self::build_query_as(&mut b).fetch_one(e).await?;
        Ok(format!("{count}/{latest:?}/{sequences}/{ids}"))
    }

    /// The WHERE conditions of a `BookingQuery`.
    fn push_filter(b: &mut QueryBuilder<'_, Self>, q: &BookingQuery) {
        if let Some(room) = &q.room {
            b.push(" AND room = ").push_bind(room.clone());
        }
        if let Some(to) = q.to {
            b.push(" AND starts_at < ").push_bind(to);
        }
        if let Some(from) = q.from {
            // The lower bound on starts_at keeps the index range short.
            b.push(" AND ends_at > ").push_bind(from);
            b.push(" AND starts_at > ").push_bind(from - MAX_SPAN);
        }
        if let Some(org) = &q.org {
            b.push(" AND org = ").push_bind(org.clone());
        }
        if let Some(email) = &q.contact_email {
            b.push(" AND contact_email = ").push_bind(email.clone());
        }
        if !q.statuses.is_empty() {
            b.push(" AND status IN (");
            let mut sep = b.separated(", ");
            for s in &q.statuses {
                sep.push_bind(s.as_str());
            }
            b.push(")");
        }
    }

    async fn history<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT at, actor, from_status, to_status, reason FROM booking_events WHERE booking_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(e)
        .await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn report_bookings<'e>(
        e: impl Executor<'e, Database = Self>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Booking>> {
        let rows: Vec<ReportRow> = sqlx::query_as(
            "SELECT id, starts_at, ends_at, org, status, title, public, contact_name, activity, attendance \
             FROM bookings WHERE starts_at >= $1 AND starts_at < $2 \
             AND status IN ('confirmed', 'rejected', 'displaced') ORDER BY starts_at, id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(e)
        .await?;
        rows.into_iter().map(Booking::try_from).collect()
    }

    async fn losses<'e>(
        e: impl Executor<'e, Database = Self>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LossEvent>> {
        let rows: Vec<LossRow> = sqlx::query_as(
            "SELECT e.booking_id, e.at, e.to_status, b.org, b.starts_at, b.ends_at, o.org AS rival \
             FROM booking_events e JOIN bookings b ON b.id = e.booking_id \
             LEFT JOIN bookings o ON e.to_status = 'rejected' AND o.room = b.room AND o.id <> b.id \
             AND o.starts_at < b.blocked_until AND b.starts_at < o.blocked_until AND o.created_at <= e.at \
             AND NOT EXISTS (SELECT 1 FROM booking_events x WHERE x.booking_id = o.id \
             AND x.to_status IN ('rejected', 'cancelled', 'displaced') AND x.at < e.at) \
             WHERE e.at >= $1 AND e.at <= $2 \
             AND (e.to_status = 'displaced' OR (e.to_status = 'rejected' AND e.from_status = 'pending')) \
             ORDER BY e.id, o.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(e)
        .await?;
        Ok(losses(rows))
    }

    async fn set_activity<'e>(
        e: impl Executor<'e, Database = Self>,
        id: i64,
        activity: &Activity,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let row: Option<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET activity = $1, updated_at = $2 WHERE id = $3 RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(to_json(activity))
        .bind(now)
        .bind(id)
        .fetch_optional(e)
        .await?;
        Booking::try_from(row.ok_or(StoreError::NotFound)?)
    }

    async fn set_attendance<'e>(
        e: impl Executor<'e, Database = Self>,
        id: i64,
        attendance: &Attendance,
    ) -> Result<Booking> {
        let row: Option<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET attendance = $1 WHERE id = $2 RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(to_json(attendance))
        .bind(id)
        .fetch_optional(e)
        .await?;
        Booking::try_from(row.ok_or(StoreError::NotFound)?)
    }

    async fn ask_for_attendance(
        pool: &Pool<Self>,
        ended_after: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
        ask: &(dyn for<'b> Fn(&'b Booking) -> NewMessage + Sync),
    ) -> Result<Vec<Booking>> {
        let mut tx = pool.begin().await?;
        let rows: Vec<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET attendance_asked_at = $1 \
             WHERE status = 'confirmed' AND attendance IS NULL AND attendance_asked_at IS NULL \
             AND starts_at >= $2 AND ends_at >= $3 AND ends_at < $4 RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(now)
        .bind(ended_after - MAX_SPAN)
        .bind(ended_after)
        .bind(ended_before)
        .fetch_all(&mut *tx)
        .await?;
        let asked = bookings(rows)?;
        for b in &asked {
            Self::enqueue(&mut *tx, &ask(b), now).await?;
        }
        tx.commit().await?;
        Ok(asked)
    }

    async fn remind(
        pool: &Pool<Self>,
        starts_after: DateTime<Utc>,
        starts_before: DateTime<Utc>,
        now: DateTime<Utc>,
        remind: &(dyn for<'b> Fn(&'b Booking) -> (NewMessage, String) + Sync),
    ) -> Result<Vec<Booking>> {
        let mut tx = pool.begin().await?;
        let rows: Vec<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET reminded_at = $1 \
             WHERE status = 'confirmed' AND reminded_at IS NULL AND starts_at > $2 AND starts_at <= $3 \
             RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(now)
        .bind(starts_after)
        .bind(starts_before)
        .fetch_all(&mut *tx)
        .await?;
        let reminded = bookings(rows)?;
        for b in &reminded {
            let (message, token_hash) = remind(b);
            sqlx::query(
                "INSERT INTO reminder_links (token_hash, booking_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(b.id)
            .bind(now)
            .bind(b.start)
            .execute(&mut *tx)
            .await?;
            Self::enqueue(&mut *tx, &message, now).await?;
        }
        tx.commit().await?;
        Ok(reminded)
    }

    async fn reminder_link(pool: &Pool<Self>, token_hash: &str) -> Result<Option<ReminderLink>> {
        let row: Option<(i64, DateTime<Utc>, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT booking_id, expires_at, used_at FROM reminder_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await?;
        Ok(row.map(|(booking_id, expires_at, used_at)| ReminderLink {
            booking_id,
            expires_at,
            used_at,
        }))
    }

    async fn use_reminder_link(pool: &Pool<Self>, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE reminder_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING booking_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
        Ok(id)
    }

    async fn unclaimed<'e>(
        e: impl Executor<'e, Database = Self>,
        started_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>> {
        let rows: Vec<BookingRow> = sqlx::query_as(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE status = 'confirmed' AND checked_in_at IS NULL \
             AND starts_at > $1 AND starts_at <= $2 AND ends_at > $3 ORDER BY starts_at, id"
        ))
        .bind(now - MAX_SPAN)
        .bind(started_by)
        .bind(now)
        .fetch_all(e)
        .await?;
        bookings(rows)
    }

    /// Check in a confirmed booking not yet checked in, with its audit line.
    async fn check_in(
        conn: &mut Self::Connection,
        id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        let row: Option<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET checked_in_at = $1, updated_at = $1 \
             WHERE id = $2 AND status = 'confirmed' AND checked_in_at IS NULL RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let booking = Booking::try_from(row)?;
        Self::audit(
            conn,
            id,
            Some(Status::Confirmed),
            Status::Confirmed,
            Some("Sjekket inn"),
            actor,
            now,
        )
        .await?;
        Ok(Some(booking))
    }

    async fn active_between<'e>(
        e: impl Executor<'e, Database = Self>,
        room: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Booking>> {
        let rows: Vec<BookingRow> = sqlx::query_as(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE room = $1 AND starts_at < $2 AND blocked_until > $3 AND starts_at > $4 \
             AND status IN ('pending', 'confirmed', 'held') ORDER BY starts_at, id"
        ))
        .bind(room)
        .bind(to)
        .bind(from)
        .bind(from - MAX_SPAN)
        .fetch_all(e)
        .await?;
        bookings(rows)
    }

    async fn minutes_held<'e>(
        e: impl Executor<'e, Database = Self>,
        org: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64> {
        let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT starts_at, ends_at FROM bookings WHERE org = $1 AND starts_at >= $2 AND starts_at < $3 \
             AND status IN ('pending', 'confirmed', 'held')",
        )
        .bind(org)
        .bind(from)
        .bind(to)
        .fetch_all(e)
        .await?;
        Ok(spans.iter().map(|(s, e)| (*e - *s).num_minutes()).sum())
    }

    /// Write a new booking and its first audit line.
    async fn insert(conn: &mut Self::Connection, ins: Insert<'_>) -> Result<Booking> {
        let n = ins.booking;
        let row: BookingRow = sqlx::query_as(&format!(
            "INSERT INTO bookings (room, starts_at, ends_at, blocked_until, title, description, public, attendees, org, \
             contact_user_id, contact_name, contact_email, status, status_reason, sequence, created_at, updated_at, activity, \
             series_id, recurrence_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15, $15, $16, $17, $18) RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(&n.room)
        .bind(n.start)
        .bind(n.end)
        .bind(ins.blocked_until)
        .bind(n.title.as_str())
        .bind(n.description.as_deref())
        .bind(n.public)
        .bind(n.attendees)
        .bind(&n.org)
        // A contact known only by name and address (id 0) has no account to point at.
        .bind((n.contact.id > 0).then_some(n.contact.id))
        .bind(&n.contact.name)
        .bind(&n.contact.email)
        .bind(ins.status.as_str())
        .bind(ins.reason)
        .bind(ins.now)
        .bind(n.activity.as_ref().map(to_json))
        .bind(ins.series.map(|l| l.series_id))
        .bind(ins.series.map(|l| l.recurrence_id))
        .fetch_one(&mut *conn)
        .await?;
        let booking = Booking::try_from(row)?;
        Self::audit(conn, booking.id, None, ins.status, ins.reason, ins.actor, ins.now).await?;
        Ok(booking)
    }

    /// Change a booking's status if it still has `t.from`, with an audit line.
    async fn transition(conn: &mut Self::Connection, t: Transition<'_>) -> Result<Booking> {
        let row: Option<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET status = $1, status_reason = $2, sequence = sequence + 1, updated_at = $3 \
             WHERE id = $4 AND status = $5 RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(t.to.as_str())
        .bind(t.reason)
        .bind(t.now)
        .bind(t.id)
        .bind(t.from.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let booking = Booking::try_from(row.ok_or(StoreError::NotFound)?)?;
        Self::audit(conn, t.id, Some(t.from), t.to, t.reason, t.actor, t.now).await?;
        Ok(booking)
    }

    /// Move a booking if it still has `r.from`, with an audit line.
    async fn reschedule(conn: &mut Self::Connection, r: Reschedule<'_>) -> Result<Booking> {
        let row: Option<BookingRow> = sqlx::query_as(&format!(
            "UPDATE bookings SET status = $1, starts_at = $2, ends_at = $3, blocked_until = $4, status_reason = $5, \
             sequence = sequence + 1, updated_at = $6 WHERE id = $7 AND status = $8 RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(r.to.as_str())
        .bind(r.start)
        .bind(r.end)
        .bind(r.blocked_until)
        .bind(r.reason)
        .bind(r.now)
        .bind(r.id)
        .bind(r.from.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let booking = Booking::try_from(row.ok_or(StoreError::NotFound)?)?;
        Self::audit(conn, r.id, Some(r.from), r.to, r.reason, r.actor, r.now).await?;
        Ok(booking)
    }

    /// An audit line: who moved booking `id` from one status to another, and why.
    async fn audit(
        conn: &mut Self::Connection,
        id: i64,
        from: Option<Status>,
        to: Status,
        reason: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO booking_events (booking_id, at, actor, from_status, to_status, reason) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(now)
        .bind(actor)
        .bind(from.map(|s| s.as_str()))
        .bind(to.as_str())
        .bind(reason)
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl BookingSql for sqlx::Sqlite {}
impl BookingSql for sqlx::Postgres {}
