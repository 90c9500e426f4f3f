//! Bookings: request, override, move, cancel, approve, reject, and the coordinator's list of
//! conflicts. Each loads what the rules need inside a serialised write transaction, applies
//! the pure rules of `domain`, and writes the outcome with its audit line and the messages it
//! causes (outbox), all or nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::domain::booking::parse_reason;
use crate::domain::decision::{self, blocked_until, Decision, Held};
use crate::domain::fairness::{self, Tally};
use crate::domain::plan::Plan;
use crate::domain::policy::{self, Slot};
use crate::domain::time::{format_range, local, start_of_day};
use crate::domain::{
    view_of, Activity, AuditEntry, Booking, DomainError, NewBooking, Room, Rules, Status, Tier, User, View,
};
use crate::mail::Composer;
use crate::store::{BookingQuery, Insert, Reschedule, Store, StoreError, Transition, WriteTx};

use super::waitlist::{offer_freed, withdraw_holds};
use super::{metrics, App, Result, ServiceError};

/// The answer to a booking request (one per request, so its size does not matter).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum BookOutcome {
    /// Stored: confirmed, or pending for the coordinator; `competes` when a pending request
    /// competes with other bookings (so the coordinator decides), and `conflicts` those of
    /// them the requester may see by the view rule (another organisation's pending request is
    /// not named). `displaced` are the bookings a coordinator's override took the slot from,
    /// each with alternatives for its owner.
    Stored {
        booking: Booking,
        competes: bool,
        conflicts: Vec<i64>,
        displaced: Vec<(Booking, Vec<Slot>)>,
    },
    /// The slot is held: nothing stored; free alternatives of the same length.
    Busy {
        held_by: Vec<i64>,
        protected: bool,
        alternatives: Vec<Slot>,
    },
}

/// The answer to an approval: the booking, now confirmed, and the bookings it displaced with
/// alternatives for their owners.
#[derive(Debug, Clone)]
pub struct Approval {
    pub booking: Booking,
    pub displaced: Vec<(Booking, Vec<Slot>)>,
}

pub(super) fn room_and_tier<'r>(rules: &'r Rules, room: &str, org: &str) -> Result<(&'r Room, &'r Tier)> {
    let room = rules
        .room(room)
        .ok_or_else(|| DomainError::new("unknown_room", format!("Ukjent rom «{room}».")).on("room"))?;
    let tier = rules.tier_of_org(org).ok_or_else(|| {
        DomainError::new("unknown_organisation", format!("Ukjent virksomhet «{org}».")).on("organisation")
    })?;
    Ok((room, tier))
}

pub(super) fn held(rules: &Rules, bookings: &[Booking]) -> Vec<Held> {
    bookings
        .iter()
        .map(|b| Held {
            id: b.id,
            rank: rules.rank_of_org(&b.org),
            start: b.start,
            blocked_until: b.blocked_until,
            status: b.status,
        })
        .collect()
}

/// The window of bookings the alternatives for `slot` are searched in.
fn alternatives_window(tier: &Tier, slot: Slot, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = start_of_day(local(slot.start.max(now)).date_naive()) - Duration::days(1);
    (from, now + Duration::days(tier.horizon_days + 1))
}

/// Free slots like `slot` for someone of `tier`, from the committed state of the room.
async fn alternatives_for(
    store: &dyn Store,
    rules: &Rules,
    room: &Room,
    tier: &Tier,
    slot: Slot,
    attendees: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>> {
    let (from, to) = alternatives_window(tier, slot, now);
    let q = crate::store::BookingQuery {
        room: Some(room.key.clone()),
        from: Some(from),
        to: Some(to),
        statuses: vec![Status::Pending, Status::Confirmed, Status::Held],
        ..Default::default()
    };
    let existing = store.bookings(&q).await?;
    Ok(decision::alternatives(
        rules,
        room,
        tier,
        slot,
        attendees,
        &held(rules, &existing),
        now,
    ))
}

/// Free slots like booking `b` for its owner, as the transaction sees the room.
async fn alternatives_in(tx: &mut dyn WriteTx, rules: &Rules, b: &Booking, now: DateTime<Utc>) -> Result<Vec<Slot>> {
    let Ok((room, tier)) = room_and_tier(rules, &b.room, &b.org) else {
        return Ok(vec![]);
    };
    let slot = Slot {
        start: b.start,
        end: b.end,
    };
    free_alternatives(tx, rules, room, tier, slot, b.attendees, now).await
}

/// Free slots like `slot` for someone of `tier`, as the transaction sees the room.
pub(super) async fn free_alternatives(
    tx: &mut dyn WriteTx,
    rules: &Rules,
    room: &Room,
    tier: &Tier,
    slot: Slot,
    attendees: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>> {
    let (from, to) = alternatives_window(tier, slot, now);
    let existing = tx.active_between(&room.key, from, to).await?;
    Ok(decision::alternatives(
        rules,
        room,
        tier,
        slot,
        attendees,
        &held(rules, &existing),
        now,
    ))
}

/// Displace `ids` (confirmed) with `reason`, telling each owner, inside `tx`.
async fn displace(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    ids: &[i64],
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(Booking, Vec<Slot>)>> {
    let mut out = Vec::new();
    for &id in ids {
        let d = tx
            .transition(Transition {
                id,
                from: Status::Confirmed,
                to: Status::Displaced,
                reason: Some(reason),
                actor,
                now,
            })
            .await?;
        out.push(d);
    }
    let mut with_alternatives = Vec::new();
    for d in out {
        let alts = alternatives_in(tx, c.rules, &d, now).await?;
        tx.enqueue(&c.displaced(&d, reason, &alts, now), now).await?;
        with_alternatives.push((d, alts));
    }
    Ok(with_alternatives)
}

/// Offer what the `displaced` bookings freed (beyond what took their slot) to the waitlist.
async fn offer_freed_by(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    displaced: &[(Booking, Vec<Slot>)],
    now: DateTime<Utc>,
) -> Result<()> {
    for (d, _) in displaced {
        offer_freed(tx, c, &d.room, d.start, d.blocked_until, now).await?;
    }
    Ok(())
}

/// What a request must pass before anything is decided: only a coordinator books for another
/// organisation; the room, the tier, every policy rule for its time, the activity against the
/// plan, and a deliverable contact address. Answers the room and the requester's tier.
pub(super) fn check_request<'r>(
    rules: &'r Rules,
    plan: &Plan,
    new: &mut NewBooking,
    now: DateTime<Utc>,
) -> Result<(&'r Room, &'r Tier)> {
    if new.org != new.contact.org && !new.contact.role.is_coordinator() {
        return Err(ServiceError::Forbidden);
    }
    let (room, tier) = room_and_tier(rules, &new.room, &new.org)?;
    let slot = Slot {
        start: new.start,
        end: new.end,
    };
    let mut problems = policy::check(rules, room, tier, slot, new.attendees, now);
    new.activity = new.activity.take().map(Activity::dedup);
    if let Some(a) = &new.activity {
        problems.extend(activity_problems(plan, a, new.start));
    }
    if !problems.is_empty() {
        return Err(ServiceError::Rules(problems));
    }
    check_contact(&new.contact)?;
    Ok((room, tier))
}

/// The contact's address must be deliverable; checked when the booking is made, not when the
/// mail is sent.
pub(super) fn check_contact(user: &User) -> Result<()> {
    if user.email.parse::<lettre::Address>().is_err() || crate::domain::booking::parse_email(&user.email).is_err() {
        return Err(DomainError::new(
            "invalid_email",
            format!("Kontaktpersonens e-postadresse «{}» er ugyldig.", user.email),
        )
        .on("contact")
        .into());
    }
    Ok(())
}

impl App {
    /// Request `new`: policy first, then the tier/conflict decision, atomically with the write.
    /// The contact (`new.contact`) books for their own organisation; only a coordinator books
    /// for another.
    pub async fn book(&self, new: NewBooking, actor: &str) -> Result<BookOutcome> {
        let outcome = book_inner(
            self.store.as_ref(),
            &self.composer(),
            self.plan(),
            new,
            actor,
            None,
            self.now(),
        )
        .await;
        metrics::decision(match &outcome {
            Ok(BookOutcome::Stored { booking, .. }) => booking.status.as_str(),
            Ok(BookOutcome::Busy { .. }) => "busy",
            Err(ServiceError::Store(_)) => "error",
            Err(_) => "refused",
        });
        outcome
    }

    /// A coordinator's override: book `new` even where the slot is held — by any tier, inside
    /// the protection window too — displacing the confirmed bookings it overlaps, with `reason`.
    /// Policy checks still apply.
    pub async fn book_override(&self, new: NewBooking, actor: &User, reason: &str) -> Result<BookOutcome> {
        let outcome = book_override(
            self.store.as_ref(),
            &self.composer(),
            self.plan(),
            new,
            actor,
            reason,
            self.now(),
        )
        .await;
        if outcome.is_ok() {
            metrics::decision("override");
        }
        outcome
    }

    /// Load a booking that `user` may manage (its organisation's, or any for a coordinator).
    pub async fn managed_booking(&self, user: &User, id: i64) -> Result<Booking> {
        managed_booking(self.store.as_ref(), user, id).await
    }

    /// Approve a pending request (coordinator). Displaces the lower-tier confirmed bookings it
    /// overlaps; inside the protection window, or against the same or a higher tier, only with
    /// `force` (an override, which needs a reason).
    pub async fn approve(&self, id: i64, actor: &User, reason: Option<&str>, force: bool) -> Result<Approval> {
        let approval = approve(
            self.store.as_ref(),
            &self.composer(),
            id,
            actor,
            reason,
            force,
            self.now(),
        )
        .await;
        if approval.is_ok() {
            metrics::decision("approved");
        }
        approval
    }

    /// Reject a pending request with a reason (coordinator); the answer carries alternatives.
    pub async fn reject(&self, id: i64, actor: &User, reason: &str) -> Result<(Booking, Vec<Slot>)> {
        let rejected = reject(self.store.as_ref(), &self.composer(), id, actor, reason, self.now()).await;
        if rejected.is_ok() {
            metrics::decision("rejected");
        }
        rejected
    }

    /// Cancel a pending or confirmed booking (its organisation or a coordinator), before it ends.
    pub async fn cancel(&self, id: i64, actor: &User, reason: Option<&str>) -> Result<Booking> {
        cancel(self.store.as_ref(), &self.composer(), id, actor, reason, self.now()).await
    }

    /// Move a pending or confirmed booking to `slot`, re-checked by every rule as if requested
    /// anew (its own old time does not count against it).
    pub async fn move_booking(&self, id: i64, actor: &User, slot: Slot) -> Result<MoveOutcome> {
        self.change_booking(id, actor, Some(slot), None).await
    }

    /// Change a booking's time, its activity, or both, in one transaction with one audit line
    /// (a new time is re-checked by every rule as for [`App::move_booking`]; the activity, new
    /// or the booking's own, must fit the plan in force on the (new) day). Refused, nothing
    /// changes.
    pub async fn change_booking(
        &self,
        id: i64,
        actor: &User,
        slot: Option<Slot>,
        activity: Option<Activity>,
    ) -> Result<MoveOutcome> {
        change_booking(
            self.store.as_ref(),
            &self.composer(),
            self.plan(),
            Change {
                id,
                actor,
                slot,
                activity,
            },
            self.now(),
        )
        .await
    }

    /// The bookings overlapping `[from, to)` with one of `statuses` (any, when empty) that
    /// `viewer` may see, each with how much of it they see.
    pub async fn visible_bookings(
        &self,
        viewer: &User,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        statuses: &[Status],
    ) -> Result<Vec<(Booking, View)>> {
        let all = self
            .store
            .bookings(&BookingQuery {
                from: Some(from),
                to: Some(to),
                statuses: statuses.to_vec(),
                ..Default::default()
            })
            .await?;
        Ok(all
            .into_iter()
            .filter_map(|b| view_of(Some(viewer), &b).map(|v| (b, v)))
            .collect())
    }

    /// Booking `id` as `viewer` sees it, with its history when they see it in full. One they
    /// may not see is not found, so nobody learns of it.
    pub async fn visible_booking(&self, viewer: &User, id: i64) -> Result<SeenBooking> {
        let booking = self.store.booking(id).await?.ok_or(ServiceError::NotFound)?;
        let view = view_of(Some(viewer), &booking).ok_or(ServiceError::NotFound)?;
        let history = match view {
            View::Full => self.store.history(id).await?,
            View::Public => vec![],
        };
        Ok(SeenBooking { booking, view, history })
    }

    /// What the availability of `room` shows for `[from, to)`: its confirmed bookings and
    /// holds (to be shown in the public view; a hold as «Opptatt»).
    pub async fn availability(&self, room: &Room, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Booking>> {
        Ok(self
            .store
            .bookings(&BookingQuery {
                room: Some(room.key.clone()),
                from: Some(from),
                to: Some(to),
                statuses: vec![Status::Confirmed, Status::Held],
                ..Default::default()
            })
            .await?)
    }

    /// Booking `id` as a calendar file for `viewer` («legg i kalenderen»): its file name and
    /// body, in the view they have of it (the calendar's name too).
    pub async fn booking_ics(&self, viewer: &User, id: i64) -> Result<(String, String)> {
        use crate::calendar::{self, EventInput, FeedInfo};
        let seen = self.visible_booking(viewer, id).await?;
        let b = &seen.booking;
        let url = self.composer().booking_url(b.id);
        let input = EventInput {
            booking: b,
            org_name: self.rules().org_name(&b.org),
            view: seen.view,
            note: None,
            url: Some(&url),
        };
        let body = calendar::feed(
            &FeedInfo {
                name: seen.view.title(b),
                refresh_minutes: self.config().feeds.refresh_minutes,
            },
            &[input],
            &self.calendar_context(&b.room),
        );
        Ok((format!("borgertun-{}.ics", b.id), body))
    }

    /// The pending requests with what each competes with, for the coordinator.
    pub async fn conflicts(&self) -> Result<Vec<ConflictCase>> {
        conflicts(self.store.as_ref(), self.rules(), self.now()).await
    }

    /// The fairness ledger of the last 12 months (the service's clock), per organisation key.
    pub async fn fairness(&self) -> Result<BTreeMap<String, Tally>> {
        ledger(self.store.as_ref(), self.rules(), self.now()).await
    }

    /// Free slots like `b`'s time (or `slot`) for its organisation, from the committed state.
    pub async fn alternatives(&self, b: &Booking, slot: Slot) -> Result<Vec<Slot>> {
        let rules = self.rules();
        let (room, tier) = room_and_tier(rules, &b.room, &b.org)?;
        alternatives_for(self.store.as_ref(), rules, room, tier, slot, b.attendees, self.now()).await
    }

    /// Ask the contacts of yesterday's (and the past week's) confirmed events, once each, to
    /// register attendance. Events are asked about from the first run after midnight (Oslo)
    /// following their day.
    pub async fn ask_for_attendance(&self) -> Result<Vec<Booking>> {
        ask_for_attendance(self.store.as_ref(), &self.composer(), self.now()).await
    }
}

/// A booking, how much of it its viewer sees, and its history (in full view only).
#[derive(Debug, Clone)]
pub struct SeenBooking {
    pub booking: Booking,
    pub view: View,
    pub history: Vec<AuditEntry>,
}

const OVERRIDE_NEEDS_REASON: &str = "Overstyring krever en begrunnelse.";

/// The problems of `activity` for an event on the day of `start`: its measures must belong to
/// the plan in force then.
pub(super) fn activity_problems(plan: &Plan, activity: &Activity, start: DateTime<Utc>) -> Vec<DomainError> {
    activity.check(plan, local(start).date_naive())
}

/// A coordinator's override: book `new` even where the slot is held — by any tier, inside the
/// protection window too — displacing the confirmed bookings it overlaps, with `reason`.
/// Policy checks still apply.
async fn book_override(
    store: &dyn Store,
    c: &Composer<'_>,
    plan: &Plan,
    new: NewBooking,
    actor: &User,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<BookOutcome> {
    if !actor.role.is_coordinator() {
        return Err(ServiceError::Forbidden);
    }
    let reason = parse_reason(Some(reason), Some(OVERRIDE_NEEDS_REASON))?.unwrap_or_default();
    book_inner(store, c, plan, new, &actor.email, Some(&reason), now).await
}

async fn book_inner(
    store: &dyn Store,
    c: &Composer<'_>,
    plan: &Plan,
    mut new: NewBooking,
    actor: &str,
    force: Option<&str>,
    now: DateTime<Utc>,
) -> Result<BookOutcome> {
    let rules = c.rules;
    let (room, tier) = check_request(rules, plan, &mut new, now)?;
    let slot = Slot {
        start: new.start,
        end: new.end,
    };
    let until = blocked_until(room, slot.end);
    // The database's own guard can only fire if a writer bypassed the lock; decide again then.
    for _ in 0..3 {
        let mut tx = store.write(&room.key).await?;
        if let Some(e) = quota_problem(tx.as_mut(), rules, tier, &new.org, slot, None).await? {
            return Err(e.into());
        }
        let existing = tx.active_between(&room.key, slot.start, until).await?;
        // What the answer may name: the requester (the contact, see above) sees what the view
        // rule lets them see, and no more.
        let shown = |ids: &[i64]| -> Vec<i64> {
            existing
                .iter()
                .filter(|b| ids.contains(&b.id) && view_of(Some(&new.contact), b).is_some())
                .map(|b| b.id)
                .collect()
        };
        if let Some(reason) = force {
            let confirmed: Vec<i64> = existing
                .iter()
                .filter(|b| b.status == Status::Confirmed)
                .map(|b| b.id)
                .collect();
            withdraw_holds(tx.as_mut(), c, &existing, actor, now).await?;
            let displaced = displace(tx.as_mut(), c, &confirmed, reason, actor, now).await?;
            let booking = tx
                .insert(Insert {
                    booking: &new,
                    series: None,
                    status: Status::Confirmed,
                    blocked_until: until,
                    reason: Some(reason),
                    actor,
                    now,
                })
                .await?;
            tx.enqueue(&c.confirmed(&booking, now), now).await?;
            offer_freed_by(tx.as_mut(), c, &displaced, now).await?;
            tx.commit().await?;
            tracing::info!(
                booking = booking.id,
                displaced = displaced.len(),
                "booking stored by override"
            );
            let pending: Vec<i64> = existing
                .iter()
                .filter(|b| b.status == Status::Pending)
                .map(|b| b.id)
                .collect();
            return Ok(BookOutcome::Stored {
                booking,
                competes: !pending.is_empty(),
                conflicts: shown(&pending),
                displaced,
            });
        }
        let (status, conflicts) = match decision::decide(rules, room, tier, slot, &held(rules, &existing), now) {
            Decision::Confirm => (Status::Confirmed, vec![]),
            Decision::Pending { conflicts } => (Status::Pending, conflicts),
            Decision::Busy { held_by, protected } => {
                drop(tx);
                let alternatives = alternatives_for(store, rules, room, tier, slot, new.attendees, now).await?;
                return Ok(BookOutcome::Busy {
                    held_by,
                    protected,
                    alternatives,
                });
            }
        };
        let reason = (!conflicts.is_empty()).then_some("Overlapper med andre bookinger: koordinator avgjør.");
        let booking = match tx
            .insert(Insert {
                booking: &new,
                series: None,
                status,
                blocked_until: until,
                reason,
                actor,
                now,
            })
            .await
        {
            Ok(b) => b,
            Err(StoreError::Overlap) => continue,
            Err(e) => return Err(e.into()),
        };
        let others: Vec<Booking> = existing.iter().filter(|b| conflicts.contains(&b.id)).cloned().collect();
        tell_stored(tx.as_mut(), c, &booking, &others, now).await?;
        tx.commit().await?;
        tracing::info!(booking = booking.id, status = status.as_str(), org = %new.org, "booking stored");
        return Ok(BookOutcome::Stored {
            booking,
            competes: !conflicts.is_empty(),
            conflicts: shown(&conflicts),
            displaced: vec![],
        });
    }
    let alternatives = alternatives_for(store, rules, room, tier, slot, new.attendees, now).await?;
    Ok(BookOutcome::Busy {
        held_by: vec![],
        protected: false,
        alternatives,
    })
}

/// Tell of a request just stored inside `tx`: the invitation when it is confirmed; else the
/// acknowledgement, and when it competes with `competing`, a conflict message to every
/// coordinator.
pub(super) async fn tell_stored(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    booking: &Booking,
    competing: &[Booking],
    now: DateTime<Utc>,
) -> Result<()> {
    if booking.status == Status::Confirmed {
        tx.enqueue(&c.confirmed(booking, now), now).await?;
        return Ok(());
    }
    tx.enqueue(&c.pending(booking, !competing.is_empty()), now).await?;
    if !competing.is_empty() {
        for coordinator in tx.coordinator_emails().await? {
            tx.enqueue(&c.conflict(booking, competing, &coordinator), now).await?;
        }
    }
    Ok(())
}

/// Why `org` of `tier` may not have `slot` by its monthly quota, as the transaction sees the
/// month: `None` without a quota or within it. `moving` is a booking of `org` that gives its
/// own time up for `slot` (it does not count against it).
pub(super) async fn quota_problem(
    tx: &mut dyn WriteTx,
    rules: &Rules,
    tier: &Tier,
    org: &str,
    slot: Slot,
    moving: Option<&Booking>,
) -> Result<Option<DomainError>> {
    if tier.monthly_quota_hours.is_none() {
        return Ok(None);
    }
    let (from, to) = month_bounds(local(slot.start).date_naive());
    let mut used = tx.minutes_held(org, from, to).await?;
    if let Some(b) = moving.filter(|b| b.start >= from && b.start < to) {
        used -= (b.end - b.start).num_minutes();
    }
    Ok(policy::check_quota(tier, rules.org_name(org), slot, used))
}

/// The first and the day after the last of the month of `day`, as instants in Oslo.
pub(super) fn month_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = day.with_day(1).unwrap_or(day);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    (start_of_day(first), start_of_day(next.unwrap_or(first)))
}

/// Load a booking that `user` may manage (its organisation's, or any for a coordinator).
/// A booking `user` may manage; one they may not even see is not found.
async fn managed_booking(store: &dyn Store, user: &User, id: i64) -> Result<Booking> {
    let b = store.booking(id).await?.ok_or(ServiceError::NotFound)?;
    view_of(Some(user), &b).ok_or(ServiceError::NotFound)?;
    if !user.may_manage(&b) {
        return Err(ServiceError::Forbidden);
    }
    Ok(b)
}

fn invalid_state(b: &Booking, action: &str) -> ServiceError {
    ServiceError::Conflict(DomainError::new(
        "invalid_state",
        format!("Booking {} er {} og kan ikke {action}.", b.id, b.status.norwegian()),
    ))
}

/// Approve a pending request (coordinator). Displaces the lower-tier confirmed bookings it
/// overlaps; inside the protection window, or against the same or a higher tier, only with
/// `force` (an override, which needs a reason).
async fn approve(
    store: &dyn Store,
    c: &Composer<'_>,
    id: i64,
    actor: &User,
    reason: Option<&str>,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Approval> {
    let rules = c.rules;
    if !actor.role.is_coordinator() {
        return Err(ServiceError::Forbidden);
    }
    let reason = parse_reason(reason, force.then_some(OVERRIDE_NEEDS_REASON))?;
    let reason = reason.as_deref();
    let b = store.booking(id).await?.ok_or(ServiceError::NotFound)?;
    let mut tx = store.write(&b.room).await?;
    let b = tx.booking(id).await?.ok_or(ServiceError::NotFound)?;
    if !b.status.can_become(Status::Confirmed) {
        return Err(invalid_state(&b, "godkjennes"));
    }
    if b.start < now {
        return Err(DomainError::new(
            "in_past",
            "Forespørselen gjelder en tid som har passert, og kan ikke godkjennes.",
        )
        .into());
    }
    let in_the_way: Vec<Booking> = tx
        .active_between(&b.room, b.start, b.blocked_until)
        .await?
        .into_iter()
        .filter(|o| o.id != b.id)
        .collect();
    let overlapping: Vec<Booking> = in_the_way
        .iter()
        .filter(|o| o.status == Status::Confirmed)
        .cloned()
        .collect();
    let to_displace = decision::approval(rules, rules.rank_of_org(&b.org), &held(rules, &overlapping), force, now)
        .map_err(ServiceError::Conflict)?;
    let displace_reason = reason.unwrap_or("Rommet er tildelt en booking med høyere prioritet.");
    // A pending request that competes with a hold is of a higher tier (the hold is busy for
    // the rest): approving it takes the slot back from the waitlist.
    withdraw_holds(tx.as_mut(), c, &in_the_way, &actor.email, now).await?;
    let displaced = displace(tx.as_mut(), c, &to_displace, displace_reason, &actor.email, now).await?;
    let booking = tx
        .transition(Transition {
            id,
            from: Status::Pending,
            to: Status::Confirmed,
            reason,
            actor: &actor.email,
            now,
        })
        .await?;
    tx.enqueue(&c.approved(&booking, now), now).await?;
    offer_freed_by(tx.as_mut(), c, &displaced, now).await?;
    tx.commit().await?;
    tracing::info!(booking = id, displaced = displaced.len(), "request approved");
    Ok(Approval { booking, displaced })
}

/// Reject a pending request with a reason (coordinator); the answer carries alternatives.
async fn reject(
    store: &dyn Store,
    c: &Composer<'_>,
    id: i64,
    actor: &User,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(Booking, Vec<Slot>)> {
    if !actor.role.is_coordinator() {
        return Err(ServiceError::Forbidden);
    }
    let reason = parse_reason(Some(reason), Some("Skriv en begrunnelse for avslaget."))?.unwrap_or_default();
    let reason = reason.as_str();
    let b = store.booking(id).await?.ok_or(ServiceError::NotFound)?;
    let mut tx = store.write(&b.room).await?;
    let b = tx.booking(id).await?.ok_or(ServiceError::NotFound)?;
    if !b.status.can_become(Status::Rejected) {
        return Err(invalid_state(&b, "avslås"));
    }
    let booking = tx
        .transition(Transition {
            id,
            from: b.status,
            to: Status::Rejected,
            reason: Some(reason),
            actor: &actor.email,
            now,
        })
        .await?;
    let alternatives = alternatives_in(tx.as_mut(), c.rules, &booking, now).await?;
    tx.enqueue(&c.rejected(&booking, reason, &alternatives), now).await?;
    offer_freed(tx.as_mut(), c, &b.room, b.start, b.blocked_until, now).await?;
    tx.commit().await?;
    Ok((booking, alternatives))
}

/// Cancel a pending or confirmed booking (its organisation or a coordinator), before it ends.
async fn cancel(
    store: &dyn Store,
    c: &Composer<'_>,
    id: i64,
    actor: &User,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Booking> {
    let b = managed_booking(store, actor, id).await?;
    let reason = parse_reason(reason, None)?;
    let reason = reason.as_deref();
    let mut tx = store.write(&b.room).await?;
    let b = tx.booking(id).await?.ok_or(ServiceError::NotFound)?;
    if !b.status.can_become(Status::Cancelled) {
        return Err(invalid_state(&b, "avbestilles"));
    }
    if b.end <= now {
        return Err(ServiceError::Conflict(DomainError::new(
            "already_ended",
            "Bookingen er allerede avsluttet og kan ikke avbestilles.",
        )));
    }
    let booking = tx
        .transition(Transition {
            id,
            from: b.status,
            to: Status::Cancelled,
            reason,
            actor: &actor.email,
            now,
        })
        .await?;
    tx.enqueue(&c.cancelled(&booking, b.status == Status::Confirmed, reason, now), now)
        .await?;
    offer_freed(tx.as_mut(), c, &b.room, b.start, b.blocked_until, now).await?;
    tx.commit().await?;
    Ok(booking)
}

/// The answer to a move.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum MoveOutcome {
    Moved(Booking),
    /// The new time is not free: nothing changed. `held_by` names the bookings in the way
    /// that the mover may see by the view rule.
    Busy {
        held_by: Vec<i64>,
        protected: bool,
        alternatives: Vec<Slot>,
    },
}

/// A change to a booking: a new time, a new activity, or both.
struct Change<'a> {
    id: i64,
    actor: &'a User,
    slot: Option<Slot>,
    activity: Option<Activity>,
}

/// Change a booking's time and/or activity in one transaction. A new time is re-checked by
/// every rule as if requested anew (its own old time does not count against it): a confirmed
/// booking moves only into a free slot; a pending request is decided again. The activity (new,
/// or the booking's own) must fit the plan in force on the (new) day.
async fn change_booking(
    store: &dyn Store,
    c: &Composer<'_>,
    plan: &Plan,
    change: Change<'_>,
    now: DateTime<Utc>,
) -> Result<MoveOutcome> {
    let rules = c.rules;
    let Change {
        id,
        actor,
        slot,
        activity,
    } = change;
    let activity = activity.map(Activity::dedup);
    let b = managed_booking(store, actor, id).await?;
    if slot.is_none() && activity.is_none() {
        return Err(
            DomainError::new("nothing_to_change", "Oppgi ny tid (start og end) eller ny aktivitet.")
                .on("start")
                .into(),
        );
    }
    let (room, tier) = room_and_tier(rules, &b.room, &b.org)?;
    if slot.is_some() && !b.status.is_active() {
        return Err(invalid_state(&b, "flyttes"));
    }
    let mut problems = match slot {
        Some(slot) => policy::check(rules, room, tier, slot, b.attendees, now),
        None => vec![],
    };
    let day = slot.map(|s| s.start).unwrap_or(b.start);
    if let Some(a) = activity.as_ref().or(b.activity.as_ref()) {
        problems.extend(activity_problems(plan, a, day));
    }
    if !problems.is_empty() {
        return Err(ServiceError::Rules(problems));
    }
    let mut tx = store.write(&room.key).await?;
    let b = tx.booking(id).await?.ok_or(ServiceError::NotFound)?;
    let Some(slot) = slot else {
        // Only the activity: no new time to decide on.
        let Some(a) = activity else {
            return Ok(MoveOutcome::Moved(b));
        };
        let changed = tx.set_activity(id, &a, now).await?;
        tx.commit().await?;
        return Ok(MoveOutcome::Moved(changed));
    };
    if !b.status.is_active() {
        return Err(invalid_state(&b, "flyttes"));
    }
    let until = blocked_until(room, slot.end);
    if let Some(e) = quota_problem(tx.as_mut(), rules, tier, &b.org, slot, Some(&b)).await? {
        return Err(e.into());
    }
    let existing: Vec<Booking> = tx
        .active_between(&room.key, slot.start, until)
        .await?
        .into_iter()
        .filter(|o| o.id != b.id)
        .collect();
    let status = match (
        decision::decide(rules, room, tier, slot, &held(rules, &existing), now),
        b.status,
    ) {
        (Decision::Confirm, _) => Status::Confirmed,
        // Free, but the tier waits for the coordinator: a confirmed booking stays confirmed.
        (Decision::Pending { conflicts }, Status::Confirmed) if conflicts.is_empty() => Status::Confirmed,
        (Decision::Pending { .. }, Status::Pending) => Status::Pending,
        (Decision::Busy { held_by, protected }, _) => {
            drop(tx);
            let alternatives = alternatives_for(store, rules, room, tier, slot, b.attendees, now).await?;
            return Ok(MoveOutcome::Busy {
                held_by,
                protected,
                alternatives,
            });
        }
        (Decision::Pending { conflicts }, _) => {
            // A confirmed booking does not give up its time for a contested one. The answer
            // names only what the mover may see: not another organisation's pending request.
            drop(tx);
            let alternatives = alternatives_for(store, rules, room, tier, slot, b.attendees, now).await?;
            let held_by = existing
                .iter()
                .filter(|o| conflicts.contains(&o.id) && view_of(Some(actor), o).is_some())
                .map(|o| o.id)
                .collect();
            return Ok(MoveOutcome::Busy {
                held_by,
                protected: false,
                alternatives,
            });
        }
    };
    let old = Slot {
        start: b.start,
        end: b.end,
    };
    let reason = format!(
        "Flyttet fra {} til {}.",
        format_range(old.start, old.end),
        format_range(slot.start, slot.end)
    );
    let mut moved = tx
        .reschedule(Reschedule {
            id,
            from: b.status,
            to: status,
            start: slot.start,
            end: slot.end,
            blocked_until: until,
            reason: Some(&reason),
            actor: &actor.email,
            now,
        })
        .await?;
    if let Some(a) = &activity {
        moved = tx.set_activity(id, a, now).await?;
    }
    tx.enqueue(&c.moved(&moved, old, now), now).await?;
    offer_freed(tx.as_mut(), c, &b.room, b.start, b.blocked_until, now).await?;
    tx.commit().await?;
    tracing::info!(booking = id, "booking moved");
    Ok(MoveOutcome::Moved(moved))
}

/// A pending request with what it competes with, for the coordinator.
#[derive(Debug, Clone)]
pub struct ConflictCase {
    pub request: Booking,
    pub others: Vec<Booking>,
    /// Which of `others` are confirmed and firm (inside the protection window).
    pub protected: Vec<i64>,
    /// Whether approving without override is possible now.
    pub approvable: bool,
    /// The default suggestion: approve the higher tier; within a tier the organisation with
    /// more displaced hours in the last 12 months, then the earlier request.
    pub suggest_approve: bool,
    /// The fairness ledger of each organisation in the case that has lost the room in the last
    /// 12 months, request first.
    pub fairness: Vec<FairnessLine>,
}

/// One organisation's losses in the last 12 months, and the sentence for the coordinator.
#[derive(Debug, Clone)]
pub struct FairnessLine {
    pub org: String,
    pub tally: Tally,
    pub text: String,
}

/// The fairness ledger of the last 12 months, per organisation key.
async fn ledger(store: &dyn Store, rules: &Rules, now: DateTime<Utc>) -> Result<BTreeMap<String, Tally>> {
    let (from, to) = fairness::window(now);
    let events = store.losses(from, to).await?;
    Ok(fairness::ledger(rules, &events, from, to))
}

async fn conflicts(store: &dyn Store, rules: &Rules, now: DateTime<Utc>) -> Result<Vec<ConflictCase>> {
    let pending = store
        .bookings(&crate::store::BookingQuery {
            from: Some(now),
            statuses: vec![Status::Pending],
            ..Default::default()
        })
        .await?;
    let ledger = ledger(store, rules, now).await?;
    let displaced_minutes = |org: &str| ledger.get(org).map_or(0, |t| t.displaced_minutes);
    let mut cases = Vec::new();
    for request in pending {
        let others: Vec<Booking> = store
            .bookings(&crate::store::BookingQuery {
                room: Some(request.room.clone()),
                from: Some(request.start - Duration::days(1)),
                to: Some(request.blocked_until),
                statuses: vec![Status::Pending, Status::Confirmed, Status::Held],
                ..Default::default()
            })
            .await?
            .into_iter()
            .filter(|o| o.id != request.id && o.start < request.blocked_until && request.start < o.blocked_until)
            .collect();
        let confirmed: Vec<Booking> = others
            .iter()
            .filter(|o| o.status == Status::Confirmed)
            .cloned()
            .collect();
        let rank = rules.rank_of_org(&request.org);
        let approvable =
            request.start > now && decision::approval(rules, rank, &held(rules, &confirmed), false, now).is_ok();
        let outranks = |o: &Booking| {
            let r = rules.rank_of_org(&o.org);
            rank < r
                || (rank == r
                    && fairness::goes_first(
                        displaced_minutes(&request.org),
                        request.created_at,
                        displaced_minutes(&o.org),
                        o.created_at,
                    ))
        };
        let suggest_approve = approvable && others.iter().filter(|o| o.status == Status::Pending).all(outranks);
        let protected = confirmed
            .iter()
            .filter(|o| decision::is_protected(rules, o.start, now))
            .map(|o| o.id)
            .collect();
        let mut orgs: Vec<&str> = vec![request.org.as_str()];
        for o in &others {
            if !orgs.contains(&o.org.as_str()) {
                orgs.push(&o.org);
            }
        }
        let fairness = orgs
            .into_iter()
            .filter_map(|org| {
                let name = rules.organisation(org).map_or(org, |o| o.name.as_str());
                let tally = *ledger.get(org)?;
                let text = fairness::text(name, &tally)?;
                Some(FairnessLine {
                    org: org.to_string(),
                    tally,
                    text,
                })
            })
            .collect();
        cases.push(ConflictCase {
            request,
            others,
            protected,
            approvable,
            suggest_approve,
            fairness,
        });
    }
    Ok(cases)
}

/// How far back the attendance request goes: events that ended in the last week (so a new
/// installation does not mail about its whole history).
pub const ATTENDANCE_LOOKBACK_DAYS: i64 = 7;

/// Ask the contacts of yesterday's (and the past week's) confirmed events, once each, to
/// register attendance. Runs from `borgertun serve` every few minutes; events are asked about
/// from the first run after midnight (Oslo) following their day.
async fn ask_for_attendance(store: &dyn Store, c: &Composer<'_>, now: DateTime<Utc>) -> Result<Vec<Booking>> {
    let today = start_of_day(local(now).date_naive());
    let asked = store
        .ask_for_attendance(today - Duration::days(ATTENDANCE_LOOKBACK_DAYS), today, now, &|b| {
            c.attendance_request(b)
        })
        .await?;
    if !asked.is_empty() {
        tracing::info!(events = asked.len(), "attendance requested");
    }
    Ok(asked)
}
