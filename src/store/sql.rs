//! SQL shared by both backends. Both accept `$N` placeholders and `RETURNING`; the row types
//! decode from either. `store_impl!` expands to the `Store` and `WriteTx` methods that do not
//! differ between the databases.

use chrono::{DateTime, Utc};

use super::{Result, StoreError};
use crate::domain::{AuditEntry, Booking, Role, Status, User};

pub(super) const BOOKING_COLUMNS: &str =
    "id, room, starts_at, ends_at, blocked_until, title, description, public, attendees, org, \
     contact_name, contact_email, status, status_reason, sequence, created_at, updated_at, activity, attendance";

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
        })
    }
}

/// A JSON column.
fn json<T: serde::de::DeserializeOwned>(s: Option<String>, what: &str) -> Result<Option<T>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}"))))
        .transpose()
}

/// A value for a JSON column.
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

fn status(s: &str) -> Result<Status> {
    Status::parse(s).map_err(|_| StoreError::Corrupt(format!("unknown status {s:?}")))
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
        })
    }
}

pub(super) fn bookings(rows: Vec<BookingRow>) -> Result<Vec<Booking>> {
    rows.into_iter().map(Booking::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    email: String,
    name: String,
    org: String,
    role: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: r.id,
            email: r.email,
            name: r.name,
            org: r.org,
            role: Role::parse(&r.role).map_err(|_| StoreError::Corrupt(format!("unknown role {:?}", r.role)))?,
        })
    }
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

/// The methods both backends share, for a store struct with a `pool` field and a transaction
/// struct with a `tx` field, over the sqlx database `$db`.
macro_rules! store_impl {
    ($db:ty, $store:ty, $backend:literal, $migrations:literal, $skip_locked:literal) => {
        use $crate::domain::Status;
        use $crate::store::sql::{bookings, AuditRow, BookingRow, UserRow, BOOKING_COLUMNS};
        use $crate::store::{FeedToken, OutboxMessage, Reschedule, StoreError, MAX_SPAN};
        use $crate::store::sql::{AccessRow, FeedRow, ACCESS_COLUMNS};
        use $crate::mail::NewMessage;
        use $crate::domain::FeedKind;

        const OUTBOX_COLUMNS: &str = "id, kind, booking_id, recipient, subject, body_text, body_html, ics_method, ics, created_at, \
             due_at, attempts, last_error, sent_at, failed_at";
        const FEED_COLUMNS: &str = "id, user_id, kind, room, org, created_at, revoked_at";

        async fn q_add_user<'e, E: sqlx::Executor<'e, Database = $db>>(
            e: E,
            email: &str,
            name: &str,
            org: &str,
            role: Role,
            now: DateTime<Utc>,
        ) -> Result<User> {
            let row: UserRow = sqlx::query_as(
                "INSERT INTO users (email, name, org, role, created_at) VALUES ($1, $2, $3, $4, $5) \
                 RETURNING id, email, name, org, role",
            )
            .bind(email)
            .bind(name)
            .bind(org)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(e)
            .await?;
            row.try_into()
        }

        async fn q_booking<'e, E: sqlx::Executor<'e, Database = $db>>(e: E, id: i64) -> Result<Option<Booking>> {
            let row: Option<BookingRow> =
                sqlx::query_as(&format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1")).bind(id).fetch_optional(e).await?;
            row.map(Booking::try_from).transpose()
        }

        async fn q_bookings<'e, E: sqlx::Executor<'e, Database = $db>>(e: E, q: &BookingQuery) -> Result<Vec<Booking>> {
            let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE 1 = 1"));
            push_filter(&mut b, q);
            b.push(" ORDER BY starts_at, id");
            if let Some(limit) = q.limit {
                b.push(" LIMIT ").push_bind(limit);
            }
            let rows: Vec<BookingRow> = b.build_query_as().fetch_all(e).await?;
            bookings(rows)
        }

        async fn q_fingerprint<'e, E: sqlx::Executor<'e, Database = $db>>(e: E, q: &BookingQuery) -> Result<String> {
            let mut b = sqlx::QueryBuilder::<$db>::new(
                "SELECT COUNT(*), MAX(updated_at), CAST(COALESCE(SUM(sequence), 0) AS BIGINT), CAST(COALESCE(SUM(id), 0) AS BIGINT) \
                 FROM bookings WHERE 1 = 1",
            );
            push_filter(&mut b, q);
            let (count, latest, sequences, ids): (i64, Option<DateTime<Utc>>, i64, i64) = b.build_query_as().fetch_one(e).await?;
            Ok(format!("{count}/{latest:?}/{sequences}/{ids}"))
        }

        /// The WHERE conditions of a `BookingQuery`.
        fn push_filter(b: &mut sqlx::QueryBuilder<'_, $db>, q: &BookingQuery) {
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

        async fn q_active_between<'e, E: sqlx::Executor<'e, Database = $db>>(
            e: E,
            room: &str,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<Booking>> {
            let rows: Vec<BookingRow> = sqlx::query_as(&format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings WHERE room = $1 AND starts_at < $2 AND blocked_until > $3 AND starts_at > $4 \
                 AND status IN ('pending', 'confirmed') ORDER BY starts_at, id"
            ))
            .bind(room)
            .bind(to)
            .bind(from)
            .bind(from - MAX_SPAN)
            .fetch_all(e)
            .await?;
            bookings(rows)
        }

        async fn q_enqueue<'e, E: sqlx::Executor<'e, Database = $db>>(e: E, m: &NewMessage, now: DateTime<Utc>) -> Result<i64> {
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
            .fetch_one(e)
            .await?;
            Ok(id)
        }

        async fn q_audit<'e, E: sqlx::Executor<'e, Database = $db>>(
            e: E,
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
            .execute(e)
            .await?;
            Ok(())
        }

        #[async_trait]
        impl WriteTx for Tx {
            async fn active_between(&mut self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
                q_active_between(&mut *self.tx, room, from, to).await
            }

            async fn booking(&mut self, id: i64) -> Result<Option<Booking>> {
                q_booking(&mut *self.tx, id).await
            }

            async fn minutes_held(&mut self, org: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64> {
                let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT starts_at, ends_at FROM bookings WHERE org = $1 AND starts_at >= $2 AND starts_at < $3 \
                     AND status IN ('pending', 'confirmed')",
                )
                .bind(org)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self.tx)
                .await?;
                Ok(spans.iter().map(|(s, e)| (*e - *s).num_minutes()).sum())
            }

            async fn insert(&mut self, ins: Insert<'_>) -> Result<Booking> {
                let n = ins.booking;
                let row: BookingRow = sqlx::query_as(&format!(
                    "INSERT INTO bookings (room, starts_at, ends_at, blocked_until, title, description, public, attendees, org, \
                     contact_user_id, contact_name, contact_email, status, status_reason, sequence, created_at, updated_at, activity) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15, $15, $16) RETURNING {BOOKING_COLUMNS}"
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
                .bind(n.contact.id)
                .bind(&n.contact.name)
                .bind(&n.contact.email)
                .bind(ins.status.as_str())
                .bind(ins.reason)
                .bind(ins.now)
                .bind(n.activity.as_ref().map($crate::store::sql::to_json))
                .fetch_one(&mut *self.tx)
                .await?;
                let booking = Booking::try_from(row)?;
                q_audit(&mut *self.tx, booking.id, None, ins.status, ins.reason, ins.actor, ins.now).await?;
                Ok(booking)
            }

            async fn transition(&mut self, t: Transition<'_>) -> Result<Booking> {
                let row: Option<BookingRow> = sqlx::query_as(&format!(
                    "UPDATE bookings SET status = $1, status_reason = $2, sequence = sequence + 1, updated_at = $3 \
                     WHERE id = $4 AND status = $5 RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(t.to.as_str())
                .bind(t.reason)
                .bind(t.now)
                .bind(t.id)
                .bind(t.from.as_str())
                .fetch_optional(&mut *self.tx)
                .await?;
                let booking = Booking::try_from(row.ok_or(StoreError::NotFound)?)?;
                q_audit(&mut *self.tx, t.id, Some(t.from), t.to, t.reason, t.actor, t.now).await?;
                Ok(booking)
            }

            async fn reschedule(&mut self, r: Reschedule<'_>) -> Result<Booking> {
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
                .fetch_optional(&mut *self.tx)
                .await?;
                let booking = Booking::try_from(row.ok_or(StoreError::NotFound)?)?;
                q_audit(&mut *self.tx, r.id, Some(r.from), r.to, r.reason, r.actor, r.now).await?;
                Ok(booking)
            }

            async fn set_activity(&mut self, id: i64, activity: &$crate::domain::Activity, now: DateTime<Utc>) -> Result<Booking> {
                let row: Option<BookingRow> = sqlx::query_as(&format!(
                    "UPDATE bookings SET activity = $1, updated_at = $2 WHERE id = $3 RETURNING {BOOKING_COLUMNS}"
                ))
                .bind($crate::store::sql::to_json(activity))
                .bind(now)
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?;
                Booking::try_from(row.ok_or(StoreError::NotFound)?)
            }

            async fn enqueue(&mut self, m: &NewMessage, now: DateTime<Utc>) -> Result<i64> {
                q_enqueue(&mut *self.tx, m, now).await
            }

            async fn coordinator_emails(&mut self) -> Result<Vec<String>> {
                let emails: Vec<String> =
                    sqlx::query_scalar("SELECT email FROM users WHERE role IN ('coordinator', 'admin') ORDER BY email")
                        .fetch_all(&mut *self.tx)
                        .await?;
                Ok(emails)
            }

            async fn commit(self: Box<Self>) -> Result<()> {
                self.tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
                fn backend(&self) -> &'static str {
                    $backend
                }

                async fn migrate(&self) -> Result<()> {
                    sqlx::migrate!($migrations).run(&self.pool).await?;
                    Ok(())
                }

                async fn write(&self, room: &str) -> Result<Box<dyn WriteTx>> {
                    Ok(Box::new(self.begin_write(room).await?))
                }

                async fn add_user(&self, email: &str, name: &str, org: &str, role: Role, now: DateTime<Utc>) -> Result<User> {
                    q_add_user(&self.pool, email, name, org, role, now).await
                }

                async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE email = $1")
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(User::try_from).transpose()
                }

                async fn report_bookings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
                    let rows: Vec<$crate::store::sql::ReportRow> = sqlx::query_as(
                        "SELECT id, starts_at, ends_at, org, status, title, public, contact_name, activity, attendance \
                         FROM bookings WHERE starts_at >= $1 AND starts_at < $2 \
                         AND status IN ('confirmed', 'rejected', 'displaced') ORDER BY starts_at, id",
                    )
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(Booking::try_from).collect()
                }

                async fn set_activity(&self, id: i64, activity: &$crate::domain::Activity, now: DateTime<Utc>) -> Result<Booking> {
                    let row: Option<BookingRow> = sqlx::query_as(&format!(
                        "UPDATE bookings SET activity = $1, updated_at = $2 WHERE id = $3 RETURNING {BOOKING_COLUMNS}"
                    ))
                    .bind($crate::store::sql::to_json(activity))
                    .bind(now)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    Booking::try_from(row.ok_or(StoreError::NotFound)?)
                }

                async fn set_attendance(&self, id: i64, attendance: &$crate::domain::Attendance) -> Result<Booking> {
                    let row: Option<BookingRow> = sqlx::query_as(&format!(
                        "UPDATE bookings SET attendance = $1 WHERE id = $2 RETURNING {BOOKING_COLUMNS}"
                    ))
                    .bind($crate::store::sql::to_json(attendance))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    Booking::try_from(row.ok_or(StoreError::NotFound)?)
                }

                async fn ask_for_attendance(
                    &self,
                    ended_after: DateTime<Utc>,
                    ended_before: DateTime<Utc>,
                    now: DateTime<Utc>,
                    ask: &(dyn for<'b> Fn(&'b Booking) -> NewMessage + Sync),
                ) -> Result<Vec<Booking>> {
                    let mut tx = self.pool.begin().await?;
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
                        q_enqueue(&mut *tx, &ask(b), now).await?;
                    }
                    tx.commit().await?;
                    Ok(asked)
                }

                async fn user(&self, id: i64) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(User::try_from).transpose()
                }

                async fn users(&self) -> Result<Vec<User>> {
                    let rows: Vec<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users ORDER BY email")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(User::try_from).collect()
                }

                async fn update_user(&self, id: i64, org: &str, role: Role) -> Result<User> {
                    let row: Option<UserRow> = sqlx::query_as(
                        "UPDATE users SET org = $1, role = $2 WHERE id = $3 RETURNING id, email, name, org, role",
                    )
                    .bind(org)
                    .bind(role.as_str())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(User::try_from).transpose()?.ok_or(StoreError::NotFound)
                }

                async fn add_access_request(
                    &self,
                    r: &$crate::store::NewAccessRequest<'_>,
                    now: DateTime<Utc>,
                    notify: &(dyn for<'s> Fn(&'s str) -> NewMessage + Sync),
                ) -> Result<$crate::store::AccessRequest> {
                    let mut tx = self.pool.begin().await?;
                    let row: AccessRow = sqlx::query_as(&format!(
                        "INSERT INTO access_requests (email, name, org_text, message, created_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING {ACCESS_COLUMNS}"
                    ))
                    .bind(r.email)
                    .bind(r.name)
                    .bind(r.org_text)
                    .bind(r.message)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Duplicate(_) => StoreError::Duplicate("open access request"),
                        other => other,
                    })?;
                    let coordinators: Vec<String> =
                        sqlx::query_scalar("SELECT email FROM users WHERE role IN ('coordinator', 'admin') ORDER BY email")
                            .fetch_all(&mut *tx)
                            .await?;
                    for c in coordinators {
                        q_enqueue(&mut *tx, &notify(&c), now).await?;
                    }
                    tx.commit().await?;
                    Ok(row.into())
                }

                async fn access_request(&self, id: i64) -> Result<Option<$crate::store::AccessRequest>> {
                    let row: Option<AccessRow> =
                        sqlx::query_as(&format!("SELECT {ACCESS_COLUMNS} FROM access_requests WHERE id = $1"))
                            .bind(id)
                            .fetch_optional(&self.pool)
                            .await?;
                    Ok(row.map(Into::into))
                }

                async fn access_requests(&self) -> Result<Vec<$crate::store::AccessRequest>> {
                    let mut open: Vec<AccessRow> = sqlx::query_as(&format!(
                        "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE decided_at IS NULL ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    let decided: Vec<AccessRow> = sqlx::query_as(&format!(
                        "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE decided_at IS NOT NULL \
                         ORDER BY decided_at DESC, id DESC LIMIT 50"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    open.extend(decided);
                    Ok(open.into_iter().map(Into::into).collect())
                }

                async fn decide_access_request(
                    &self,
                    d: &$crate::store::AccessDecision<'_>,
                    mail: &NewMessage,
                ) -> Result<Option<User>> {
                    let mut tx = self.pool.begin().await?;
                    let email: Option<String> = sqlx::query_scalar(
                        "UPDATE access_requests SET decided_at = $1, decided_by = $2, outcome = $3, reason = $4 \
                         WHERE id = $5 AND decided_at IS NULL RETURNING email",
                    )
                    .bind(d.now)
                    .bind(d.actor)
                    .bind(if d.grant.is_some() { "granted" } else { "refused" })
                    .bind(d.reason)
                    .bind(d.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let email = email.ok_or(StoreError::NotFound)?;
                    let mut user = None;
                    if let Some((org, role)) = d.grant {
                        let name: String = sqlx::query_scalar("SELECT name FROM access_requests WHERE id = $1")
                            .bind(d.id)
                            .fetch_one(&mut *tx)
                            .await?;
                        let row: UserRow = sqlx::query_as(
                            "INSERT INTO users (email, name, org, role, created_at) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (email) DO UPDATE SET org = excluded.org, role = excluded.role \
                             RETURNING id, email, name, org, role",
                        )
                        .bind(&email)
                        .bind(name)
                        .bind(org)
                        .bind(role.as_str())
                        .bind(d.now)
                        .fetch_one(&mut *tx)
                        .await?;
                        user = Some(User::try_from(row)?);
                    }
                    q_enqueue(&mut *tx, mail, d.now).await?;
                    tx.commit().await?;
                    Ok(user)
                }

                async fn add_api_token(&self, user_id: i64, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)")
                        .bind(token_hash)
                        .bind(user_id)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as(
                        "SELECT u.id, u.email, u.name, u.org, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id \
                         WHERE t.token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(User::try_from).transpose()
                }

                async fn booking(&self, id: i64) -> Result<Option<Booking>> {
                    q_booking(&self.pool, id).await
                }

                async fn bookings(&self, q: &BookingQuery) -> Result<Vec<Booking>> {
                    q_bookings(&self.pool, q).await
                }

                async fn bookings_fingerprint(&self, q: &BookingQuery) -> Result<String> {
                    q_fingerprint(&self.pool, q).await
                }

                async fn history(&self, id: i64) -> Result<Vec<AuditEntry>> {
                    let rows: Vec<AuditRow> = sqlx::query_as(
                        "SELECT at, actor, from_status, to_status, reason FROM booking_events WHERE booking_id = $1 ORDER BY id",
                    )
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(AuditEntry::try_from).collect()
                }

                async fn claim_messages(
                    &self,
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
                        $skip_locked
                    ))
                    .bind(lease_until)
                    .bind(token)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows)
                }

                async fn message_sent(&self, id: i64, token: &str, now: DateTime<Utc>) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, lease_until = NULL, lease_token = NULL \
                         WHERE id = $2 AND lease_token = $3 AND sent_at IS NULL",
                    )
                    .bind(now)
                    .bind(id)
                    .bind(token)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn message_failed(
                    &self,
                    id: i64,
                    token: &str,
                    error: &str,
                    retry_at: Option<DateTime<Utc>>,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, due_at = COALESCE($2, due_at), \
                         failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END, lease_until = NULL, lease_token = NULL \
                         WHERE id = $4 AND lease_token = $5 AND sent_at IS NULL",
                    )
                    .bind(error)
                    .bind(retry_at)
                    .bind(now)
                    .bind(id)
                    .bind(token)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn outbox(&self) -> Result<Vec<OutboxMessage>> {
                    let rows: Vec<OutboxMessage> =
                        sqlx::query_as(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id")).fetch_all(&self.pool).await?;
                    Ok(rows)
                }

                async fn add_login_link(
                    &self,
                    email: &str,
                    token_hash: &str,
                    now: DateTime<Utc>,
                    expires_at: DateTime<Utc>,
                    mail: &NewMessage,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("INSERT INTO login_links (token_hash, email, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                        .bind(token_hash)
                        .bind(email)
                        .bind(now)
                        .bind(expires_at)
                        .execute(&mut *tx)
                        .await?;
                    q_enqueue(&mut *tx, mail, now).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn use_login_link(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<String>> {
                    let email: Option<String> = sqlx::query_scalar(
                        "UPDATE login_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING email",
                    )
                    .bind(now)
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(email)
                }

                async fn login_link_usable(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool> {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM login_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(n > 0)
                }

                async fn add_session(&self, user_id: i64, token_hash: &str, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
                    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                        .bind(token_hash)
                        .bind(user_id)
                        .bind(now)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn user_by_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as(
                        "SELECT u.id, u.email, u.name, u.org, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
                         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(User::try_from).transpose()
                }

                async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
                    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                        .bind(now)
                        .bind(token_hash)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn add_feed(
                    &self,
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
                    .fetch_one(&self.pool)
                    .await?;
                    row.try_into()
                }

                async fn feed_by_token(&self, token_hash: &str) -> Result<Option<(FeedToken, User)>> {
                    let feed: Option<FeedRow> =
                        sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feed_tokens WHERE token_hash = $1"))
                            .bind(token_hash)
                            .fetch_optional(&self.pool)
                            .await?;
                    let Some(feed) = feed else { return Ok(None) };
                    let feed = FeedToken::try_from(feed)?;
                    let user: Option<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE id = $1")
                        .bind(feed.user_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(match user {
                        Some(u) => Some((feed, u.try_into()?)),
                        None => None,
                    })
                }

                async fn feeds_of(&self, user_id: i64) -> Result<Vec<FeedToken>> {
                    let rows: Vec<FeedRow> =
                        sqlx::query_as(&format!("SELECT {FEED_COLUMNS} FROM feed_tokens WHERE user_id = $1 ORDER BY id"))
                            .bind(user_id)
                            .fetch_all(&self.pool)
                            .await?;
                    rows.into_iter().map(FeedToken::try_from).collect()
                }

                async fn revoke_feed(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE feed_tokens SET revoked_at = $1 WHERE id = $2 AND ($3 IS NULL OR user_id = $3) AND revoked_at IS NULL",
                    )
                    .bind(now)
                    .bind(id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }
        }
    };
}

pub(super) const ACCESS_COLUMNS: &str =
    "id, email, name, org_text, message, created_at, decided_at, decided_by, outcome, reason";

#[derive(sqlx::FromRow)]
pub(super) struct AccessRow {
    id: i64,
    email: String,
    name: String,
    org_text: String,
    message: Option<String>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
}

impl From<AccessRow> for super::AccessRequest {
    fn from(r: AccessRow) -> Self {
        super::AccessRequest {
            id: r.id,
            email: r.email,
            name: r.name,
            org_text: r.org_text,
            message: r.message,
            created_at: r.created_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            outcome: r.outcome,
            reason: r.reason,
        }
    }
}

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

impl TryFrom<FeedRow> for super::FeedToken {
    type Error = StoreError;
    fn try_from(r: FeedRow) -> Result<super::FeedToken> {
        Ok(super::FeedToken {
            id: r.id,
            user_id: r.user_id,
            kind: crate::domain::FeedKind::parse(&r.kind)
                .map_err(|_| StoreError::Corrupt(format!("unknown feed kind {:?}", r.kind)))?,
            room: r.room,
            org: r.org,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

pub(super) use store_impl;
