//! Attendance: who came to a confirmed event, registered by its organisation or a coordinator
//! once it has begun; and the events that still lack it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Attendance, Booking, DomainError, Status, User};
use crate::store::BookingQuery;

use super::{App, Result, ServiceError};

/// Attendance can be registered once a confirmed event has begun.
pub fn attendance_due(b: &Booking, now: DateTime<Utc>) -> bool {
    b.status == Status::Confirmed && b.start <= now
}

impl App {
    /// A booking whose attendance `user` may register now: `NotFound` if they do not manage
    /// it, `Conflict` if it is not a confirmed event that has begun.
    pub async fn attendance_booking(&self, user: &User, id: i64) -> Result<Booking> {
        let b = self.managed_booking(user, id).await?;
        if !attendance_due(&b, self.now()) {
            return Err(ServiceError::Conflict(DomainError::new(
                "attendance_not_due",
                "Oppmøte registreres for bekreftede bookinger når arrangementet har begynt.",
            )));
        }
        Ok(b)
    }

    /// Register (or replace) the attendance of booking `id`: the counts per group (zeros left
    /// out) and a few lines on the outcome.
    pub async fn register_attendance(
        &self,
        user: &User,
        id: i64,
        actual: BTreeMap<String, i64>,
        outcome: Option<String>,
    ) -> Result<(Booking, Attendance)> {
        let b = self.attendance_booking(user, id).await?;
        let attendance = Attendance {
            actual: actual.into_iter().filter(|(_, n)| *n > 0).collect(),
            outcome,
            registered_at: self.now(),
            registered_by: user.email.clone(),
        };
        let b = self.store.set_attendance(b.id, &attendance).await?;
        tracing::info!(booking = b.id, by = %user.email, "attendance registered");
        Ok((b, attendance))
    }

    /// The past year's confirmed events without attendance, newest first.
    pub async fn lacking_attendance(&self) -> Result<Vec<Booking>> {
        let now = self.now();
        let q = BookingQuery {
            from: Some(now - Duration::days(365)),
            to: Some(now),
            statuses: vec![Status::Confirmed],
            ..Default::default()
        };
        let mut missing: Vec<Booking> = self
            .store
            .bookings(&q)
            .await?
            .into_iter()
            .filter(|b| b.start <= now && b.attendance.is_none())
            .collect();
        missing.reverse();
        Ok(missing)
    }
}
