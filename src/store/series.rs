//! Series of bookings: the series as requested, and a row per occurrence (booked ones point at
//! their booking). Reads on the pool (`SeriesStore`); writes go with the room's write
//! transaction (`WriteTx`), so a series and its occurrences' bookings are stored together.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::sql::{json, to_json, Dialect};
use super::{Result, StoreError};
use crate::domain::series::{OccurrenceState, Series, SeriesOccurrence};
use crate::domain::{Activity, NewBooking, Slot};

#[async_trait]
pub trait SeriesStore: Send + Sync {
    async fn series(&self, id: i64) -> Result<Option<Series>>;
    /// The occurrences of series `id`, in the order of the pattern.
    async fn series_occurrences(&self, id: i64) -> Result<Vec<SeriesOccurrence>>;
    /// The series with these ids (those that exist).
    async fn series_by_ids(&self, ids: &[i64]) -> Result<Vec<Series>>;
    /// Planned occurrences that start before `before`: `(series id, recurrence id)`, earliest
    /// first.
    async fn planned_before(&self, before: DateTime<Utc>) -> Result<Vec<(i64, DateTime<Utc>)>>;
}

/// A new series: the first occurrence's request (its time is the pattern's start), and the
/// normalised pattern.
pub struct NewSeries<'a> {
    pub booking: &'a NewBooking,
    pub rrule: &'a str,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// What a series' template changes to (the fields every following occurrence shares).
pub struct SeriesUpdate<'a> {
    pub id: i64,
    pub rrule: &'a str,
    pub first: Slot,
    pub title: &'a str,
    pub attendees: i64,
    pub activity: Option<&'a Activity>,
    pub cancelled: bool,
    pub now: DateTime<Utc>,
}

const SERIES_COLUMNS: &str = "id, room, org, rrule, first_start, first_end, title, description, public, attendees, \
     contact_name, contact_email, activity, cancelled, sequence, created_at, updated_at";

const OCCURRENCE_COLUMNS: &str = "recurrence_id, starts_at, ends_at, state, booking_id, code, message";

#[derive(sqlx::FromRow)]
pub(super) struct SeriesRow {
    id: i64,
    room: String,
    org: String,
    rrule: String,
    first_start: DateTime<Utc>,
    first_end: DateTime<Utc>,
    title: String,
    description: Option<String>,
    public: bool,
    attendees: i64,
    contact_name: String,
    contact_email: String,
    activity: Option<String>,
    cancelled: bool,
    sequence: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SeriesRow> for Series {
    type Error = StoreError;
    fn try_from(r: SeriesRow) -> Result<Series> {
        Ok(Series {
            id: r.id,
            room: r.room,
            org: r.org,
            rrule: r.rrule,
            first: Slot {
                start: r.first_start,
                end: r.first_end,
            },
            title: r.title,
            description: r.description,
            public: r.public,
            attendees: r.attendees,
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            activity: json(r.activity, "activity")?,
            cancelled: r.cancelled,
            sequence: r.sequence,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct OccurrenceRow {
    recurrence_id: DateTime<Utc>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    state: String,
    booking_id: Option<i64>,
    code: Option<String>,
    message: Option<String>,
}

impl TryFrom<OccurrenceRow> for SeriesOccurrence {
    type Error = StoreError;
    fn try_from(r: OccurrenceRow) -> Result<SeriesOccurrence> {
        Ok(SeriesOccurrence {
            recurrence_id: r.recurrence_id,
            slot: Slot {
                start: r.starts_at,
                end: r.ends_at,
            },
            state: OccurrenceState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("occurrence state {}", r.state)))?,
            booking_id: r.booking_id,
            code: r.code,
            message: r.message,
        })
    }
}

/// The series' SQL, the same on both databases.
pub(super) trait SeriesSql: Dialect
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
    for<'q> Option<String>: Encode<'q, Self>,
    for<'r> (i64, DateTime<Utc>): FromRow<'r, Self::Row>,
    for<'r> SeriesRow: FromRow<'r, Self::Row>,
    for<'r> OccurrenceRow: FromRow<'r, Self::Row>,
{
    async fn series<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Option<Series>> {
        let row: Option<SeriesRow> = sqlx::query_as(&format!("SELECT {SERIES_COLUMNS} FROM series WHERE id = $1"))
            .bind(id)
            .fetch_optional(e)
            .await?;
        row.map(Series::try_from).transpose()
    }

    async fn series_occurrences<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Vec<SeriesOccurrence>> {
        let rows: Vec<OccurrenceRow> = sqlx::query_as(&format!(
            "SELECT {OCCURRENCE_COLUMNS} FROM series_occurrences WHERE series_id = $1 ORDER BY recurrence_id"
        ))
        .bind(id)
        .fetch_all(e)
        .await?;
        rows.into_iter().map(SeriesOccurrence::try_from).collect()
    }

    async fn series_by_ids<'e>(e: impl Executor<'e, Database = Self>, ids: &[i64]) -> Result<Vec<Series>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut b = sqlx::QueryBuilder::<Self>::new(format!("SELECT {SERIES_COLUMNS} FROM series WHERE id IN ("));
        let mut sep = b.separated(", ");
        for id in ids {
            sep.push_bind(*id);
        }
        b.push(") ORDER BY id");
        let rows: Vec<SeriesRow> = Self::build_query_as(&mut b).fetch_all(e).await?;
        rows.into_iter().map(Series::try_from).collect()
    }

    async fn planned_before<'e>(
        e: impl Executor<'e, Database = Self>,
        before: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>> {
        Ok(sqlx::query_as(
            "SELECT series_id, recurrence_id FROM series_occurrences WHERE state = 'planned' AND starts_at < $1 \
             ORDER BY starts_at, series_id",
        )
        .bind(before)
        .fetch_all(e)
        .await?)
    }

    async fn insert_series(conn: &mut Self::Connection, s: NewSeries<'_>) -> Result<Series> {
        let n = s.booking;
        let row: SeriesRow = sqlx::query_as(&format!(
            "INSERT INTO series (room, org, rrule, first_start, first_end, title, description, public, attendees, \
             contact_name, contact_email, activity, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING {SERIES_COLUMNS}"
        ))
        .bind(&n.room)
        .bind(&n.org)
        .bind(s.rrule)
        .bind(n.start)
        .bind(n.end)
        .bind(n.title.as_str())
        .bind(n.description.as_deref())
        .bind(n.public)
        .bind(n.attendees)
        .bind(&n.contact.name)
        .bind(&n.contact.email)
        .bind(n.activity.as_ref().map(to_json))
        .bind(s.actor)
        .bind(s.now)
        .fetch_one(&mut *conn)
        .await?;
        Series::try_from(row)
    }

    /// Write occurrence `o` of a series in place of the row `key` names (its recurrence id
    /// before; the same for a new row or an unchanged key). Its booking, if one, gets the
    /// occurrence's recurrence id too.
    async fn put_occurrence(
        conn: &mut Self::Connection,
        series_id: i64,
        key: DateTime<Utc>,
        o: &SeriesOccurrence,
    ) -> Result<()> {
        sqlx::query("DELETE FROM series_occurrences WHERE series_id = $1 AND recurrence_id IN ($2, $3)")
            .bind(series_id)
            .bind(key)
            .bind(o.recurrence_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO series_occurrences (series_id, recurrence_id, starts_at, ends_at, state, booking_id, code, message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(series_id)
        .bind(o.recurrence_id)
        .bind(o.slot.start)
        .bind(o.slot.end)
        .bind(o.state.as_str())
        .bind(o.booking_id)
        .bind(o.code.as_deref())
        .bind(o.message.as_deref())
        .execute(&mut *conn)
        .await?;
        if let Some(b) = o.booking_id {
            sqlx::query("UPDATE bookings SET series_id = $1, recurrence_id = $2 WHERE id = $3")
                .bind(series_id)
                .bind(o.recurrence_id)
                .bind(b)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Move occurrences from `recurrence_id` on (and their bookings) to series `to`.
    async fn move_occurrences(
        conn: &mut Self::Connection,
        from_series: i64,
        from: DateTime<Utc>,
        to: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE bookings SET series_id = $1 WHERE series_id = $2 AND id IN \
             (SELECT booking_id FROM series_occurrences WHERE series_id = $2 AND recurrence_id >= $3)",
        )
        .bind(to)
        .bind(from_series)
        .bind(from)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE series_occurrences SET series_id = $1 WHERE series_id = $2 AND recurrence_id >= $3")
            .bind(to)
            .bind(from_series)
            .bind(from)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Change a series' template; raises its SEQUENCE.
    async fn update_series(conn: &mut Self::Connection, u: SeriesUpdate<'_>) -> Result<Series> {
        let row: Option<SeriesRow> = sqlx::query_as(&format!(
            "UPDATE series SET rrule = $1, first_start = $2, first_end = $3, title = $4, attendees = $5, activity = $6, \
             cancelled = $7, sequence = sequence + 1, updated_at = $8 WHERE id = $9 RETURNING {SERIES_COLUMNS}"
        ))
        .bind(u.rrule)
        .bind(u.first.start)
        .bind(u.first.end)
        .bind(u.title)
        .bind(u.attendees)
        .bind(u.activity.map(to_json))
        .bind(u.cancelled)
        .bind(u.now)
        .bind(u.id)
        .fetch_optional(&mut *conn)
        .await?;
        Series::try_from(row.ok_or(StoreError::NotFound)?)
    }
}

impl SeriesSql for sqlx::Sqlite {}
impl SeriesSql for sqlx::Postgres {}
