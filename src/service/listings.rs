//! What the pages list, read only: the week and today, the public activities, an
//! organisation's bookings, the coordinator's list, a booking with its history.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{AuditEntry, Booking, Status, User};
use crate::store::BookingQuery;

use super::{App, Result};

/// How far back and ahead «Våre bookinger» looks.
pub const OUR_BOOKINGS_BACK_DAYS: i64 = 180;
pub const OUR_BOOKINGS_AHEAD_DAYS: i64 = 400;

impl App {
    /// The confirmed bookings and the holds of `room` that overlap `[from, to)`: what the
    /// week view and today's screen show (a hold as «Opptatt»).
    pub async fn confirmed_in_room(&self, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        let q = BookingQuery {
            room: Some(room.to_string()),
            from: Some(from),
            to: Some(to),
            statuses: vec![Status::Confirmed, Status::Held],
            ..Default::default()
        };
        Ok(self.store.bookings(&q).await?)
    }

    /// The confirmed bookings of every room in `[from, to)`, for the public activities.
    pub async fn confirmed_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        let q = BookingQuery {
            from: Some(from),
            to: Some(to),
            statuses: vec![Status::Confirmed],
            ..Default::default()
        };
        Ok(self.store.bookings(&q).await?)
    }

    /// «Våre bookinger»: every booking of `user`'s organisation from half a year back to
    /// about a year ahead, earliest first; a hold while it holds (one that ended without a
    /// booking is the waitlist's history, on `/venteliste`).
    pub async fn bookings_of_org(&self, user: &User) -> Result<Vec<Booking>> {
        let now = self.now();
        let q = BookingQuery {
            org: Some(user.org.clone()),
            from: Some(now - Duration::days(OUR_BOOKINGS_BACK_DAYS)),
            to: Some(now + Duration::days(OUR_BOOKINGS_AHEAD_DAYS)),
            statuses: Status::ALL.into_iter().filter(|s| *s != Status::Lapsed).collect(),
            ..Default::default()
        };
        Ok(self.store.bookings(&q).await?)
    }

    /// The coordinator's list: bookings in `[from, to)`, by status and organisation if given,
    /// at most 1,000.
    pub async fn bookings_filtered(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        status: Option<Status>,
        org: Option<String>,
    ) -> Result<Vec<Booking>> {
        let q = BookingQuery {
            from: Some(from),
            to: Some(to),
            statuses: status.into_iter().collect(),
            org,
            limit: Some(1000),
            ..Default::default()
        };
        Ok(self.store.bookings(&q).await?)
    }

    /// A booking `user` manages, with its history; `NotFound` if they do not manage it.
    pub async fn booking_with_history(&self, user: &User, id: i64) -> Result<(Booking, Vec<AuditEntry>)> {
        let b = self.managed_booking(user, id).await?;
        let history = self.store.history(b.id).await?;
        Ok((b, history))
    }
}
