//! Check-in and no-show release (DESIGN.md §4.8; the rules are `domain::checkin`), for tiers
//! with `check_in = true`. The contact checks in on the booking page, by the reminder's link
//! or by the QR code on the today page; a confirmed booking nobody checked in by
//! `check_in.release_minutes` after its start is released as a no-show by the worker's round:
//! its contact is told and the rest of its time is offered to the waitlist, in the room's
//! write transaction, so each booking is released once also with several instances.

use chrono::Duration;

use crate::domain::checkin::{self, CheckIn};
use crate::domain::{view_of, Booking, DomainError, Status, User};
use crate::store::{StoreError, Transition};
use crate::token::{hash_token, is_secret};

use super::{App, ReminderLinkState, Result, ServiceError};

/// Who the audit log names for a release.
const SYSTEM: &str = "system";

/// What the reminder's link offers now.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ReminderOffer {
    /// The link works: its booking, whether it can still be cancelled by it (until the
    /// start), and where it stands with check-in (open until the release time).
    Usable {
        booking: Booking,
        cancel: bool,
        check_in: CheckIn,
    },
    /// Used, expired for both uses, or its booking is no longer confirmed.
    Gone,
    /// No such link.
    Unknown,
}

impl App {
    /// Check in booking `id` as `user`: its contact, a user of its organisation, or a
    /// coordinator. Outside the window `check_in_closed`, for a tier without check-in
    /// `check_in_not_required` (both conflicts); checking in again changes nothing.
    pub async fn check_in(&self, id: i64, user: &User) -> Result<Booking> {
        self.booking_to_check_in(user, id).await?;
        self.check_in_as(id, &user.email).await
    }

    /// Booking `id`, if `user` may check it in (its contact, a user of its organisation, or a
    /// coordinator), and where it stands with check-in now. Another organisation's booking is
    /// `Forbidden` when `user` may see it at all, else `NotFound`.
    pub async fn booking_to_check_in(&self, user: &User, id: i64) -> Result<(Booking, CheckIn)> {
        let b = self.store.booking(id).await?.ok_or(ServiceError::NotFound)?;
        let contact = b.contact_email.eq_ignore_ascii_case(&user.email);
        if !(contact || user.may_manage(&b)) {
            view_of(Some(user), &b).ok_or(ServiceError::NotFound)?;
            return Err(ServiceError::Forbidden);
        }
        let state = self.check_in_state(&b);
        Ok((b, state))
    }

    /// Where booking `b` stands with check-in now.
    pub fn check_in_state(&self, b: &Booking) -> CheckIn {
        checkin::state(self.rules(), b, self.now())
    }

    /// Check in booking `id` in its room's write transaction, by `actor`.
    async fn check_in_as(&self, id: i64, actor: &str) -> Result<Booking> {
        let now = self.now();
        let b = self.store.booking(id).await?.ok_or(ServiceError::NotFound)?;
        let mut tx = self.store.write(&b.room).await?;
        let b = tx.booking(id).await?.ok_or(ServiceError::NotFound)?;
        if let Some(e) = checkin::refusal(self.rules(), &b, now) {
            return Err(ServiceError::Conflict(e));
        }
        if b.checked_in_at.is_some() {
            return Ok(b);
        }
        let checked_in = tx.check_in(id, actor, now).await?.ok_or_else(|| {
            ServiceError::Conflict(DomainError::new(
                "invalid_state",
                format!("Booking {id} kan ikke sjekkes inn."),
            ))
        })?;
        tx.commit().await?;
        tracing::info!(booking = id, "checked in");
        Ok(checked_in)
    }

    /// What the reminder's link with secret `token` offers now: cancelling until the start,
    /// checking in during the window (for a tier with check-in), or neither.
    pub async fn reminder_offer(&self, token: &str) -> Result<ReminderOffer> {
        let check_in = self.reminder_check_in(token).await?;
        Ok(match self.reminder_link(token).await? {
            ReminderLinkState::Usable(booking) => ReminderOffer::Usable {
                check_in: self.check_in_state(&booking),
                booking,
                cancel: true,
            },
            ReminderLinkState::Gone => match check_in {
                Some((booking, state)) if state.is_open() || matches!(state, CheckIn::CheckedIn(_)) => {
                    ReminderOffer::Usable {
                        booking,
                        cancel: false,
                        check_in: state,
                    }
                }
                _ => ReminderOffer::Gone,
            },
            ReminderLinkState::Unknown => ReminderOffer::Unknown,
        })
    }

    /// The booking of the reminder's link with secret `token` and where it stands with
    /// check-in, while the link is unused (the link's check-in use lasts until the release
    /// time; its cancel use ends at the start). `None` for an unknown or used link.
    async fn reminder_check_in(&self, token: &str) -> Result<Option<(Booking, CheckIn)>> {
        if !is_secret(token) {
            return Ok(None);
        }
        let Some(link) = self.store.reminder_link(&hash_token(token)).await? else {
            return Ok(None);
        };
        if link.used_at.is_some() {
            return Ok(None);
        }
        let Some(b) = self.store.booking(link.booking_id).await? else {
            return Ok(None);
        };
        let state = self.check_in_state(&b);
        Ok(Some((b, state)))
    }

    /// Check in by the reminder's link with secret `token`, as the booking's contact. An
    /// unknown link is `Unknown`, a used one `Gone`; outside the window the conflicts of
    /// [`App::check_in`].
    pub async fn check_in_by_reminder(&self, token: &str) -> Result<ReminderLinkState> {
        if !is_secret(token) {
            return Ok(ReminderLinkState::Unknown);
        }
        let Some(link) = self.store.reminder_link(&hash_token(token)).await? else {
            return Ok(ReminderLinkState::Unknown);
        };
        if link.used_at.is_some() {
            return Ok(ReminderLinkState::Gone);
        }
        let Some(b) = self.store.booking(link.booking_id).await? else {
            return Ok(ReminderLinkState::Unknown);
        };
        let checked_in = self.check_in_as(b.id, &b.contact_email).await?;
        Ok(ReminderLinkState::Usable(checked_in))
    }

    /// One round: release as no-shows the confirmed bookings of check-in tiers that nobody
    /// checked in by `check_in.release_minutes` after their start. The released bookings.
    pub async fn release_no_shows(&self) -> Result<Vec<Booking>> {
        let now = self.now();
        let rules = self.rules();
        let started_by = now - Duration::minutes(rules.check_in.release_minutes);
        let due: Vec<Booking> = self
            .store
            .unclaimed(started_by, now)
            .await?
            .into_iter()
            .filter(|b| checkin::due_for_release(rules, b, now))
            .collect();
        let mut released = Vec::new();
        for b in due {
            match self.release(&b).await {
                Ok(Some(r)) => released.push(r),
                Ok(None) => {}
                Err(e) => tracing::error!(booking = b.id, error = %e, "no-show release"),
            }
        }
        if !released.is_empty() {
            tracing::info!(bookings = released.len(), "no-shows released");
        }
        Ok(released)
    }

    /// Release booking `b` as a no-show if it is still due, in its room's write transaction:
    /// the status with its audit line, the mail to its contact, and the rest of its time
    /// offered to the waitlist. `None` when another round (or a check-in) came first.
    async fn release(&self, b: &Booking) -> Result<Option<Booking>> {
        let now = self.now();
        let rules = self.rules();
        let c = self.composer();
        let mut tx = self.store.write(&b.room).await?;
        let Some(b) = tx.booking(b.id).await? else {
            return Ok(None);
        };
        if !checkin::due_for_release(rules, &b, now) {
            return Ok(None);
        }
        let reason = checkin::release_reason(&rules.check_in);
        let released = match tx
            .transition(Transition {
                id: b.id,
                from: Status::Confirmed,
                to: Status::NoShow,
                reason: Some(&reason),
                actor: SYSTEM,
                now,
            })
            .await
        {
            Ok(r) => r,
            // Released by another instance in the meantime.
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        tx.enqueue(&c.released(&released, now), now).await?;
        super::waitlist::offer_freed(tx.as_mut(), &c, &released.room, now, released.blocked_until, now).await?;
        tx.commit().await?;
        tracing::info!(booking = released.id, "released as a no-show");
        Ok(Some(released))
    }
}
