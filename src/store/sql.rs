//! SQL shared by both backends. Both accept `$N` placeholders and `RETURNING`; the row types
//! decode from either. `store_impl!` expands to the `Store` and `WriteTx` methods that do not
//! differ between the databases.

use chrono::{DateTime, Utc};

use super::{Result, StoreError};
use crate::domain::{AuditEntry, Booking, Role, Status, User};

pub(super) const BOOKING_COLUMNS: &str =
    "id, room, starts_at, ends_at, blocked_until, title, description, public, attendees, org, \
     contact_name, contact_email, status, status_reason, sequence, created_at, updated_at";

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
    ($db:ty, $store:ty, $backend:literal, $migrations:literal) => {
        use $crate::domain::Status;
        use $crate::store::sql::{bookings, AuditRow, BookingRow, UserRow, BOOKING_COLUMNS};
        use $crate::store::{StoreError, MAX_SPAN};

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
            if !q.statuses.is_empty() {
                b.push(" AND status IN (");
                let mut sep = b.separated(", ");
                for s in &q.statuses {
                    sep.push_bind(s.as_str());
                }
                b.push(")");
            }
            b.push(" ORDER BY starts_at, id");
            if let Some(limit) = q.limit {
                b.push(" LIMIT ").push_bind(limit);
            }
            let rows: Vec<BookingRow> = b.build_query_as().fetch_all(e).await?;
            bookings(rows)
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
                     contact_user_id, contact_name, contact_email, status, status_reason, sequence, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15, $15) RETURNING {BOOKING_COLUMNS}"
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

                async fn history(&self, id: i64) -> Result<Vec<AuditEntry>> {
                    let rows: Vec<AuditRow> = sqlx::query_as(
                        "SELECT at, actor, from_status, to_status, reason FROM booking_events WHERE booking_id = $1 ORDER BY id",
                    )
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(AuditEntry::try_from).collect()
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }
        }
    };
}

pub(super) use store_impl;
