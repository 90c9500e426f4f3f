//! Reminders: `reminders.hours_before` before a confirmed booking starts, its contact gets a
//! mail with the time, the room, a link to the booking and a single-use link «Jeg trenger ikke
//! rommet likevel» that cancels it (stored hashed, valid until the booking starts).
//!
//! Each booking is claimed once in the database, together with its mail and its link, so two
//! instances or a restart never remind twice. A booking made later than `hours_before` before
//! its start is reminded at the next round, unless it starts within
//! [`MIN_REMINDER_LEAD_MINUTES`]: then its contact has just booked it and gets no reminder.

use chrono::Duration;

use crate::domain::{Booking, Role, Status, User};
use crate::token::{hash_token, is_secret, new_secret};

use super::{App, Result};

/// Bookings that start sooner than this are not reminded.
pub const MIN_REMINDER_LEAD_MINUTES: i64 = 60;

/// What a reminder's cancel link leads to.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ReminderLinkState {
    /// The link works: the booking it cancels.
    Usable(Booking),
    /// Used, expired (the booking has started) or its booking is no longer confirmed.
    Gone,
    /// No such link.
    Unknown,
}

impl App {
    /// One round: remind the contacts of the confirmed bookings that start within
    /// `reminders.hours_before` (and not within the hour), once each. The reminded bookings.
    pub async fn send_reminders(&self) -> Result<Vec<Booking>> {
        let now = self.now();
        let hours = self.config().reminders.hours_before;
        let c = self.composer();
        let public_url = self.public_url();
        let reminded = self
            .store
            .remind(
                now + Duration::minutes(MIN_REMINDER_LEAD_MINUTES),
                now + Duration::hours(hours),
                now,
                &|b| {
                    let (token, hash) = new_secret();
                    let url = format!("{public_url}/paminnelse/{token}");
                    (c.reminder(b, &url), hash)
                },
            )
            .await?;
        if !reminded.is_empty() {
            tracing::info!(bookings = reminded.len(), "reminders sent");
        }
        Ok(reminded)
    }

    /// What the reminder's cancel link with secret `token` leads to now.
    pub async fn reminder_link(&self, token: &str) -> Result<ReminderLinkState> {
        if !is_secret(token) {
            return Ok(ReminderLinkState::Unknown);
        }
        let Some(link) = self.store.reminder_link(&hash_token(token)).await? else {
            return Ok(ReminderLinkState::Unknown);
        };
        if link.used_at.is_some() || link.expires_at <= self.now() {
            return Ok(ReminderLinkState::Gone);
        }
        match self.store.booking(link.booking_id).await? {
            Some(b) if b.status == Status::Confirmed => Ok(ReminderLinkState::Usable(b)),
            Some(_) => Ok(ReminderLinkState::Gone),
            None => Ok(ReminderLinkState::Unknown),
        }
    }

    /// Use the cancel link with secret `token`: the booking is cancelled as its contact
    /// would cancel it, and the link is used. A used, expired or unknown link changes
    /// nothing and says so.
    pub async fn cancel_by_reminder(&self, token: &str) -> Result<ReminderLinkState> {
        let b = match self.reminder_link(token).await? {
            ReminderLinkState::Usable(b) => b,
            other => return Ok(other),
        };
        // Claimed once: of two uses at the same time only one gets here.
        if self
            .store
            .use_reminder_link(&hash_token(token), self.now())
            .await?
            .is_none()
        {
            return Ok(ReminderLinkState::Gone);
        }
        let contact = match self.store.account_by_email(&b.contact_email).await? {
            Some(a) if a.user.may_manage(&b) => a.user,
            // The contact acts for the booking's organisation even without an account there.
            _ => User {
                id: 0,
                email: b.contact_email.clone(),
                name: b.contact_name.clone(),
                org: b.org.clone(),
                role: Role::Requester,
            },
        };
        let cancelled = self
            .cancel(
                b.id,
                &contact,
                Some("Avbestilt fra påminnelsen: rommet trengs ikke likevel."),
            )
            .await?;
        tracing::info!(booking = cancelled.id, "cancelled from the reminder");
        // The cancellation offered the freed time to the waitlist, in its own transaction.
        Ok(ReminderLinkState::Usable(cancelled))
    }
}
