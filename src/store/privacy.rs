//! Personal data: the retention round (anonymise what is older than the retention period), a
//! person's export (everything stored about one e-mail address) and erasure (that person
//! anonymised everywhere). Every figure of the report stays: organisations, times, statuses,
//! activities and counts are never touched.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::bookings::{BookingRow, BOOKING_COLUMNS};
use super::sql::{json, to_json, Dialect};
use super::{Result, StoreError};
use crate::domain::privacy::{searchable_name, ANONYMISED, ANONYMISED_ACTOR, REDACTED};
use crate::domain::{Activity, Attendance, Booking};

/// What a retention round changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionCounts {
    /// Bookings anonymised now.
    pub bookings: u64,
    /// Their audit lines, anonymised with them.
    pub audit_entries: u64,
    /// Outbox messages deleted: about an anonymised booking, or sent (or given up) before the
    /// cutoff.
    pub messages: u64,
    /// Access requests decided before the cutoff, deleted.
    pub access_requests: u64,
    /// Sign-in links expired before the cutoff, deleted.
    pub sign_in_links: u64,
    /// Sessions ended before the cutoff, deleted.
    pub sessions: u64,
    /// Calendar feeds revoked before the cutoff, deleted.
    pub feeds: u64,
}

/// What erasing a person changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureCounts {
    /// Whether the person had an account (it is deleted, with its sessions, tokens and feeds).
    pub account: bool,
    /// Bookings whose contact person they were (the contact is anonymised; the booking stays).
    pub bookings: u64,
    /// Attendance registrations by them (who registered it is anonymised; the counts stay).
    pub attendance: u64,
    /// Audit lines by them (the actor is anonymised; what was done stays).
    pub audit_entries: u64,
    /// Their access requests, deleted, and decisions by them, anonymised.
    pub access_requests: u64,
    /// Outbox messages to them, deleted.
    pub messages: u64,
    /// Other rows in which their name or address was found in a text and replaced.
    pub texts: u64,
    pub sessions: u64,
    pub api_tokens: u64,
    pub feeds: u64,
    pub sign_in_links: u64,
}

/// Everything stored about one e-mail address, secrets and hashes left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PersonData {
    pub account: Option<StoredAccount>,
    /// Bookings they are the contact person of, in full.
    pub bookings: Vec<StoredBooking>,
    /// Series of bookings they are the contact person of, or made.
    pub series: Vec<StoredSeries>,
    /// Other bookings whose attendance they registered.
    pub attendance_registered: Vec<StoredRegistration>,
    /// Audit lines of changes they made.
    pub audit_entries: Vec<StoredAuditEntry>,
    pub api_tokens: Vec<StoredApiToken>,
    pub feeds: Vec<StoredFeed>,
    pub sessions: Vec<StoredSession>,
    pub sign_in_links: Vec<StoredSignInLink>,
    /// Their own requests for access.
    pub access_requests: Vec<StoredAccessRequest>,
    /// Requests for access they decided (as coordinator).
    pub access_decisions: Vec<StoredAccessDecision>,
    /// Messages to them in the outbox.
    pub messages: Vec<StoredMessage>,
    /// Their places on the waitlist.
    pub waitlist: Vec<StoredWaitlistEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredWaitlistEntry {
    pub id: i64,
    pub room: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub org: String,
    pub title: String,
    pub description: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub status: String,
    pub joined_at: DateTime<Utc>,
}

impl PersonData {
    /// Whether nothing at all is stored about the address.
    pub fn is_empty(&self) -> bool {
        self == &PersonData::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredSeries {
    pub id: i64,
    pub room: String,
    pub org: String,
    pub rrule: String,
    pub title: String,
    pub description: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredAccount {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub org: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredBooking {
    pub id: i64,
    pub room: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub title: String,
    pub description: Option<String>,
    pub public: bool,
    pub attendees: i64,
    pub org: String,
    pub contact_name: String,
    pub contact_email: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activity: Option<Activity>,
    pub attendance: Option<Attendance>,
}

impl From<Booking> for StoredBooking {
    fn from(b: Booking) -> Self {
        StoredBooking {
            id: b.id,
            room: b.room,
            start: b.start,
            end: b.end,
            title: b.title,
            description: b.description,
            public: b.public,
            attendees: b.attendees,
            org: b.org,
            contact_name: b.contact_name,
            contact_email: b.contact_email,
            status: b.status.as_str().to_string(),
            status_reason: b.status_reason,
            created_at: b.created_at,
            updated_at: b.updated_at,
            activity: b.activity,
            attendance: b.attendance,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRegistration {
    pub booking_id: i64,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredAuditEntry {
    pub booking_id: i64,
    pub at: DateTime<Utc>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredApiToken {
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredFeed {
    pub id: i64,
    pub kind: String,
    pub room: Option<String>,
    pub org: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredSession {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredSignInLink {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredAccessRequest {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub org_text: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredAccessDecision {
    pub id: i64,
    pub decided_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct StoredMessage {
    pub id: i64,
    pub kind: String,
    pub booking_id: Option<i64>,
    pub subject: String,
    pub body_text: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// Anonymise the bookings that ended before `cutoff` (and not yet anonymised) with their
    /// audit lines, delete their messages, and delete the sign-in links, sessions, revoked
    /// feeds, decided access requests and sent messages older than `cutoff`, together.
    async fn anonymise_before(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<RetentionCounts>;
    /// Everything stored about `email`.
    async fn person_data(&self, email: &str) -> Result<PersonData>;
    /// Anonymise `email` everywhere and delete their account, together.
    async fn erase_person(&self, email: &str, now: DateTime<Utc>) -> Result<ErasureCounts>;
}

/// A booking id and its attendance (JSON).
#[derive(sqlx::FromRow)]
pub(super) struct AttendanceRow {
    id: i64,
    attendance: Option<String>,
}

/// An account's id and name.
#[derive(sqlx::FromRow)]
pub(super) struct NameRow {
    id: i64,
    name: String,
}

/// `%needle%` for LIKE. LIKE's own wildcards in the needle only widen the match; the
/// replacement that follows is exact.
fn like(needle: &str) -> String {
    format!("%{needle}%")
}

/// The JSON of an attendance registered by `email`, as `to_json` writes it.
fn registered_by(email: &str) -> String {
    format!("\"registered_by\":{}", serde_json::Value::String(email.to_string()))
}

/// The privacy SQL, the same on both databases.
pub(super) trait PrivacySql: Dialect
where
    for<'q> Self::Arguments<'q>: IntoArguments<'q, Self>,
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> String: Encode<'q, Self> + Type<Self>,
    for<'q> DateTime<Utc>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<i64>: Encode<'q, Self>,
    for<'r> (String,): FromRow<'r, Self::Row>,
    for<'r> BookingRow: FromRow<'r, Self::Row>,
    for<'r> AttendanceRow: FromRow<'r, Self::Row>,
    for<'r> NameRow: FromRow<'r, Self::Row>,
    for<'r> StoredAccount: FromRow<'r, Self::Row>,
    for<'r> StoredSeries: FromRow<'r, Self::Row>,
    for<'r> StoredAuditEntry: FromRow<'r, Self::Row>,
    for<'r> StoredApiToken: FromRow<'r, Self::Row>,
    for<'r> StoredFeed: FromRow<'r, Self::Row>,
    for<'r> StoredSession: FromRow<'r, Self::Row>,
    for<'r> StoredSignInLink: FromRow<'r, Self::Row>,
    for<'r> StoredAccessRequest: FromRow<'r, Self::Row>,
    for<'r> StoredAccessDecision: FromRow<'r, Self::Row>,
    for<'r> StoredMessage: FromRow<'r, Self::Row>,
    for<'r> StoredWaitlistEntry: FromRow<'r, Self::Row>,
{
    async fn anonymise_before(pool: &Pool<Self>, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<RetentionCounts> {
        let mut tx = pool.begin().await?;
        let mut n = RetentionCounts::default();
        // The first statement writes, so on SQLite the transaction holds the write lock from
        // here on and never has to upgrade a read.
        let due: Vec<AttendanceRow> = sqlx::query_as(
            "UPDATE bookings SET title = $1, description = NULL, contact_name = $1, contact_email = '', \
             contact_user_id = NULL, status_reason = NULL, anonymised_at = $2, updated_at = $2 \
             WHERE ends_at < $3 AND anonymised_at IS NULL RETURNING id, attendance",
        )
        .bind(ANONYMISED)
        .bind(now)
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        n.bookings = due.len() as u64;
        for row in due {
            let attendance: Option<Attendance> = json(row.attendance, "attendance")?;
            if let Some(mut a) = attendance {
                a.outcome = None;
                a.registered_by = ANONYMISED_ACTOR.to_string();
                sqlx::query("UPDATE bookings SET attendance = $1 WHERE id = $2")
                    .bind(to_json(&a))
                    .bind(row.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let done = sqlx::query("UPDATE booking_events SET actor = $1, reason = NULL WHERE booking_id = $2")
                .bind(ANONYMISED_ACTOR)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
            n.audit_entries += Self::rows_affected(&done);
            let done = sqlx::query("DELETE FROM outbox WHERE booking_id = $1")
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
            n.messages += Self::rows_affected(&done);
        }
        let done =
            sqlx::query("DELETE FROM outbox WHERE created_at < $1 AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
        n.messages += Self::rows_affected(&done);
        // A series whose every occurrence ended before the cutoff is anonymised as its
        // bookings are (its title and contact).
        sqlx::query(
            "UPDATE series SET title = $1, description = NULL, contact_name = $1, contact_email = '', created_by = $2, \
             updated_at = $3 WHERE contact_email <> '' AND NOT EXISTS \
             (SELECT 1 FROM series_occurrences o WHERE o.series_id = series.id AND o.ends_at >= $4)",
        )
        .bind(ANONYMISED)
        .bind(ANONYMISED_ACTOR)
        .bind(now)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        // Waitlist entries whose time ended before the cutoff, as bookings.
        sqlx::query(
            "UPDATE waitlist SET title = $1, description = NULL, contact_name = $1, contact_email = '', \
             contact_user_id = NULL, updated_at = $2 WHERE contact_email <> '' AND ends_at < $3",
        )
        .bind(ANONYMISED)
        .bind(now)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM access_requests WHERE decided_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        n.access_requests = Self::rows_affected(&done);
        let done = sqlx::query("DELETE FROM login_links WHERE expires_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        n.sign_in_links = Self::rows_affected(&done);
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        n.sessions = Self::rows_affected(&done);
        let done = sqlx::query("DELETE FROM feed_tokens WHERE revoked_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        n.feeds = Self::rows_affected(&done);
        tx.commit().await?;
        Ok(n)
    }

    async fn person_data(pool: &Pool<Self>, email: &str) -> Result<PersonData> {
        let mut d = PersonData {
            account: sqlx::query_as("SELECT id, email, name, org, role, created_at FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(pool)
                .await?,
            ..Default::default()
        };
        let uid = d.account.as_ref().map(|a| a.id);
        d.waitlist = sqlx::query_as(
            "SELECT id, room, starts_at, ends_at, org, title, description, contact_name, contact_email, status, joined_at \
             FROM waitlist WHERE contact_email = $1 OR contact_user_id = $2 ORDER BY starts_at, id",
        )
        .bind(email)
        .bind(uid)
        .fetch_all(pool)
        .await?;
        let rows: Vec<BookingRow> = sqlx::query_as(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE contact_email = $1 OR contact_user_id = $2 ORDER BY starts_at, id"
        ))
        .bind(email)
        .bind(uid)
        .fetch_all(pool)
        .await?;
        for r in rows {
            d.bookings.push(Booking::try_from(r)?.into());
        }
        let registered: Vec<AttendanceRow> =
            sqlx::query_as("SELECT id, attendance FROM bookings WHERE attendance LIKE $1 ORDER BY starts_at, id")
                .bind(like(&registered_by(email)))
                .fetch_all(pool)
                .await?;
        for r in registered {
            let a: Option<Attendance> = json(r.attendance, "attendance")?;
            match a {
                Some(a) if a.registered_by == email && !d.bookings.iter().any(|b| b.id == r.id) => {
                    d.attendance_registered.push(StoredRegistration {
                        booking_id: r.id,
                        registered_at: a.registered_at,
                    })
                }
                _ => {}
            }
        }
        d.series = sqlx::query_as(
            "SELECT id, room, org, rrule, title, description, contact_name, contact_email, created_by, created_at \
             FROM series WHERE contact_email = $1 OR created_by = $1 ORDER BY id",
        )
        .bind(email)
        .fetch_all(pool)
        .await?;
        d.audit_entries = sqlx::query_as(
            "SELECT booking_id, at, from_status, to_status, reason FROM booking_events WHERE actor = $1 ORDER BY id",
        )
        .bind(email)
        .fetch_all(pool)
        .await?;
        if let Some(uid) = uid {
            d.api_tokens = sqlx::query_as("SELECT created_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at")
                .bind(uid)
                .fetch_all(pool)
                .await?;
            d.feeds = sqlx::query_as(
                "SELECT id, kind, room, org, created_at, revoked_at FROM feed_tokens WHERE user_id = $1 ORDER BY id",
            )
            .bind(uid)
            .fetch_all(pool)
            .await?;
            d.sessions = sqlx::query_as(
                "SELECT id, created_at, expires_at, revoked_at FROM sessions WHERE user_id = $1 ORDER BY id",
            )
            .bind(uid)
            .fetch_all(pool)
            .await?;
        }
        d.sign_in_links =
            sqlx::query_as("SELECT created_at, expires_at, used_at FROM login_links WHERE email = $1 ORDER BY id")
                .bind(email)
                .fetch_all(pool)
                .await?;
        d.access_requests = sqlx::query_as(
            "SELECT id, email, name, org_text, message, created_at, decided_at, outcome, reason \
             FROM access_requests WHERE email = $1 ORDER BY id",
        )
        .bind(email)
        .fetch_all(pool)
        .await?;
        d.access_decisions =
            sqlx::query_as("SELECT id, decided_at, outcome FROM access_requests WHERE decided_by = $1 ORDER BY id")
                .bind(email)
                .fetch_all(pool)
                .await?;
        d.messages = sqlx::query_as(
            "SELECT id, kind, booking_id, subject, body_text, created_at, sent_at, failed_at \
             FROM outbox WHERE recipient = $1 ORDER BY id",
        )
        .bind(email)
        .fetch_all(pool)
        .await?;
        Ok(d)
    }

    async fn erase_person(pool: &Pool<Self>, email: &str, now: DateTime<Utc>) -> Result<ErasureCounts> {
        if email.trim().is_empty() {
            return Err(StoreError::NotFound);
        }
        let mut tx = pool.begin().await?;
        let mut n = ErasureCounts::default();
        // A write first: see `anonymise_before`.
        let done = sqlx::query("DELETE FROM login_links WHERE email = $1")
            .bind(email)
            .execute(&mut *tx)
            .await?;
        n.sign_in_links = Self::rows_affected(&done);
        let account: Option<NameRow> = sqlx::query_as("SELECT id, name FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
        let uid = account.as_ref().map(|a| a.id);

        // The names they are known by, to look for in free text.
        let mut names: Vec<String> = account.iter().map(|a| a.name.clone()).collect();
        let contact_names: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT contact_name FROM bookings WHERE contact_email = $1 OR contact_user_id = $2",
        )
        .bind(email)
        .bind(uid)
        .fetch_all(&mut *tx)
        .await?;
        let request_names: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT name FROM access_requests WHERE email = $1")
                .bind(email)
                .fetch_all(&mut *tx)
                .await?;
        names.extend(contact_names.into_iter().chain(request_names).map(|(s,)| s));
        let mut needles: Vec<String> = vec![email.to_string()];
        for name in names {
            let name = name.trim().to_string();
            if searchable_name(&name) && name != ANONYMISED && !needles.contains(&name) {
                needles.push(name);
            }
        }

        let done = sqlx::query(
            "UPDATE bookings SET contact_name = $1, contact_email = '', contact_user_id = NULL, updated_at = $2 \
             WHERE contact_email = $3 OR contact_user_id = $4",
        )
        .bind(ANONYMISED)
        .bind(now)
        .bind(email)
        .bind(uid)
        .execute(&mut *tx)
        .await?;
        n.bookings = Self::rows_affected(&done);
        // Their places on the waitlist keep the figures, not them; one still waiting leaves it
        // (nobody could be told of a hold).
        sqlx::query(
            "UPDATE waitlist SET contact_name = $1, contact_email = '', contact_user_id = NULL, title = $1, \
             description = NULL, status = CASE WHEN status = 'waiting' THEN 'left' ELSE status END, updated_at = $2 \
             WHERE contact_email = $3 OR contact_user_id = $4",
        )
        .bind(ANONYMISED)
        .bind(now)
        .bind(email)
        .bind(uid)
        .execute(&mut *tx)
        .await?;
        // The series they are the contact of, or made, keep no trace of them.
        sqlx::query(
            "UPDATE series SET contact_name = $1, contact_email = '', updated_at = $2 WHERE contact_email = $3",
        )
        .bind(ANONYMISED)
        .bind(now)
        .bind(email)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE series SET created_by = $1 WHERE created_by = $2")
            .bind(ANONYMISED_ACTOR)
            .bind(email)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("UPDATE bookings SET attendance = REPLACE(attendance, $1, $2) WHERE attendance LIKE $3")
            .bind(registered_by(email))
            .bind(registered_by(ANONYMISED_ACTOR))
            .bind(like(&registered_by(email)))
            .execute(&mut *tx)
            .await?;
        n.attendance = Self::rows_affected(&done);
        let done = sqlx::query("UPDATE booking_events SET actor = $1 WHERE actor = $2")
            .bind(ANONYMISED_ACTOR)
            .bind(email)
            .execute(&mut *tx)
            .await?;
        n.audit_entries = Self::rows_affected(&done);
        let done = sqlx::query("DELETE FROM access_requests WHERE email = $1")
            .bind(email)
            .execute(&mut *tx)
            .await?;
        n.access_requests = Self::rows_affected(&done);
        let done = sqlx::query("UPDATE access_requests SET decided_by = $1 WHERE decided_by = $2")
            .bind(ANONYMISED_ACTOR)
            .bind(email)
            .execute(&mut *tx)
            .await?;
        n.access_requests += Self::rows_affected(&done);
        let done = sqlx::query("DELETE FROM outbox WHERE recipient = $1")
            .bind(email)
            .execute(&mut *tx)
            .await?;
        n.messages = Self::rows_affected(&done);

        // Their name or address inside texts others wrote (titles, reasons, messages to the
        // coordinators about them): replaced where found.
        for needle in &needles {
            let pattern = like(needle);
            for sql in [
                "UPDATE bookings SET title = REPLACE(title, $1, $2), description = REPLACE(description, $1, $2), \
                 status_reason = REPLACE(status_reason, $1, $2) \
                 WHERE title LIKE $3 OR description LIKE $3 OR status_reason LIKE $3",
                "UPDATE booking_events SET reason = REPLACE(reason, $1, $2) WHERE reason LIKE $3",
                "UPDATE access_requests SET name = REPLACE(name, $1, $2), org_text = REPLACE(org_text, $1, $2), \
                 message = REPLACE(message, $1, $2), reason = REPLACE(reason, $1, $2) \
                 WHERE name LIKE $3 OR org_text LIKE $3 OR message LIKE $3 OR reason LIKE $3",
                "UPDATE outbox SET subject = REPLACE(subject, $1, $2), body_text = REPLACE(body_text, $1, $2), \
                 body_html = REPLACE(body_html, $1, $2), ics = REPLACE(ics, $1, $2) \
                 WHERE subject LIKE $3 OR body_text LIKE $3 OR body_html LIKE $3 OR ics LIKE $3",
            ] {
                let done = sqlx::query(sql)
                    .bind(needle.as_str())
                    .bind(REDACTED)
                    .bind(pattern.as_str())
                    .execute(&mut *tx)
                    .await?;
                n.texts += Self::rows_affected(&done);
            }
        }

        if let Some(uid) = uid {
            n.account = true;
            for (table, count) in [
                ("api_tokens", &mut n.api_tokens),
                ("sessions", &mut n.sessions),
                ("feed_tokens", &mut n.feeds),
            ] {
                let done = sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                    .bind(uid)
                    .execute(&mut *tx)
                    .await?;
                *count = Self::rows_affected(&done);
            }
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(uid)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(n)
    }
}

impl PrivacySql for sqlx::Sqlite {}
impl PrivacySql for sqlx::Postgres {}
