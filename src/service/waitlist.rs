//! The waitlist (DESIGN.md §4.8; the rules are `domain::waitlist`): joining and leaving it,
//! offering a freed slot to the first eligible entry as a hold, and answering a hold.
//!
//! Every use case that frees time (a cancellation, a rejection, a displacement, a move, a
//! declined or lapsed hold, a no-show) calls [`offer_freed`] inside the transaction that frees
//! it, so the slot goes to the first in line before anyone else can take it. A hold is a
//! booking of status `held`: the database keeps its slot from every other confirmed booking
//! and hold, as it does for confirmed bookings.

use chrono::{DateTime, Utc};

use crate::domain::decision::{self, blocked_until, Decision};
use crate::domain::policy::{self, Slot};
use crate::domain::waitlist::{self, Entry, EntryStatus};
use crate::domain::{Booking, BookingTitle, DomainError, NewBooking, Role, Status, User};
use crate::mail::Composer;
use crate::store::{HoldAction, NewEntry, NewHold, Transition, WriteTx};
use crate::token::{hash_token, is_secret, new_secret};

use super::bookings::{check_request, free_alternatives, held, quota_problem, tell_stored};
use super::{App, Result, ServiceError};

/// The actor of what the waitlist does by itself.
const SYSTEM: &str = "system";

/// An entry as its requester sees it: its place in line while it waits, and its hold.
#[derive(Debug, Clone)]
pub struct WaitlistPlace {
    pub entry: Entry,
    /// 1 = next in line; `None` once it no longer waits.
    pub place: Option<usize>,
    /// The hold it got (status `held`), or the booking it became.
    pub booking: Option<Booking>,
}

/// What a hold's link leads to.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum HoldLinkState {
    /// The link works: its action, the entry and the hold.
    Usable {
        action: HoldAction,
        entry: Entry,
        hold: Booking,
    },
    /// Used, run out, or the hold is gone.
    Gone,
    /// No such link.
    Unknown,
}

/// The answer to a hold.
#[derive(Debug, Clone)]
pub enum HoldAnswer {
    /// Confirmed: the booking, now confirmed, or pending for the coordinator.
    Booked(Booking),
    /// Declined: the slot went on to the next in line, or is simply free.
    Declined(Entry),
}

/// The booking an entry asks for, with its contact as the booking's contact.
fn request_of(e: &Entry) -> Result<NewBooking> {
    Ok(NewBooking {
        room: e.room.clone(),
        start: e.start,
        end: e.end,
        title: BookingTitle::parse(&e.title)?,
        description: e.description.clone(),
        public: e.public,
        attendees: e.attendees,
        org: e.org.clone(),
        contact: User {
            id: e.contact_user_id.unwrap_or(0),
            email: e.contact_email.clone(),
            name: e.contact_name.clone(),
            org: e.org.clone(),
            role: Role::Requester,
        },
        activity: e.activity.clone(),
    })
}

/// May `user` see and answer entry `e`: its contact, a user of its organisation, or a
/// coordinator.
fn may_manage(user: &User, e: &Entry) -> bool {
    user.role.is_coordinator() || user.org == e.org || user.email == e.contact_email
}

/// Offer the free time of `room` in `[from, to)` to the waitlist, inside `tx` (the transaction
/// that freed it): each waiting entry whose time now fits every rule, highest tier first, then
/// earliest joined, gets a hold while its time is free. The holds given.
pub(super) async fn offer_freed(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    room: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Booking>> {
    let rules = c.rules;
    let Some(room) = rules.room(room) else {
        return Ok(vec![]);
    };
    // An entry's own buffer after it may reach into the freed time.
    let reach = chrono::Duration::minutes(room.buffer_minutes);
    let mut waiting: Vec<Entry> = tx
        .waitlist_waiting(&room.key, from - reach, to)
        .await?
        .into_iter()
        .filter(|e| e.start > now)
        .collect();
    waitlist::in_order(&mut waiting, |org| rules.rank_of_org(org));
    let mut holds = Vec::new();
    for e in waiting {
        let Some(tier) = rules.tier_of_org(&e.org) else {
            continue;
        };
        let Some(held_until) = waitlist::hold_until(&rules.waitlist, now, e.start) else {
            continue;
        };
        let slot = Slot {
            start: e.start,
            end: e.end,
        };
        if !policy::check(rules, room, tier, slot, e.attendees, now).is_empty() {
            continue;
        }
        let until = blocked_until(room, e.end);
        // Free means free: nothing pending, confirmed or held in the way.
        if !tx.active_between(&room.key, e.start, until).await?.is_empty() {
            continue;
        }
        if quota_problem(tx, rules, tier, &e.org, slot, None).await?.is_some() {
            continue;
        }
        let Ok(request) = request_of(&e) else {
            continue;
        };
        let (confirm, confirm_hash) = new_secret();
        let (decline, decline_hash) = new_secret();
        let hold = tx
            .hold(NewHold {
                entry_id: e.id,
                booking: &request,
                blocked_until: until,
                held_until,
                confirm_hash: &confirm_hash,
                decline_hash: &decline_hash,
                actor: SYSTEM,
                now,
            })
            .await?;
        let link = |token: &str| format!("{}/venteliste/svar/{token}", c.public_url);
        tx.enqueue(
            &c.hold_offered(&hold, held_until, &link(&confirm), &link(&decline)),
            now,
        )
        .await?;
        tracing::info!(entry = e.id, hold = hold.id, "freed slot held for the waitlist");
        holds.push(hold);
    }
    Ok(holds)
}

/// End the holds among `bookings` (a higher tier's booking takes their slot), inside `tx`:
/// each becomes `lapsed`, its entry `withdrawn`, and its holder is told, with alternatives.
pub(super) async fn withdraw_holds(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    bookings: &[Booking],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const REASON: &str = "Rommet er tildelt en booking med høyere prioritet.";
    for b in bookings.iter().filter(|b| b.status == Status::Held) {
        end_hold(tx, c, b, EntryStatus::Withdrawn, REASON, actor, now).await?;
    }
    Ok(())
}

/// End hold `b` without a booking: the booking becomes `lapsed`, its entry `to`, and the
/// holder gets the reason and the alternatives (not when they declined it themselves).
async fn end_hold(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    b: &Booking,
    to: EntryStatus,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Booking> {
    let lapsed = tx
        .transition(Transition {
            id: b.id,
            from: Status::Held,
            to: Status::Lapsed,
            reason: Some(reason),
            actor,
            now,
        })
        .await?;
    if let Some(e) = tx.entry_of_hold(b.id).await? {
        tx.set_entry_status(e.id, EntryStatus::Held, to, now).await?;
    }
    if to != EntryStatus::Declined {
        let alternatives = match c.rules.room(&b.room).zip(c.rules.tier_of_org(&b.org)) {
            Some((room, tier)) => {
                let slot = Slot {
                    start: b.start,
                    end: b.end,
                };
                free_alternatives(tx, c.rules, room, tier, slot, b.attendees, now).await?
            }
            None => vec![],
        };
        tx.enqueue(&c.hold_ended(&lapsed, reason, &alternatives), now).await?;
    }
    Ok(lapsed)
}

impl App {
    /// Join the waitlist for exactly the time of `new`, which must pass every rule and be busy
    /// (refused as busy: held by the same or a higher tier, or a firm booking). The entry with
    /// its place in line.
    pub async fn join_waitlist(&self, mut new: NewBooking) -> Result<WaitlistPlace> {
        let now = self.now();
        let rules = self.rules();
        let (room, tier) = check_request(rules, self.plan(), &mut new, now)?;
        let slot = Slot {
            start: new.start,
            end: new.end,
        };
        if waitlist::hold_until(&rules.waitlist, now, new.start).is_none() {
            return Err(ServiceError::Conflict(DomainError::new(
                "too_late",
                format!(
                    "Tiden starter om mindre enn {} timer: da rekker ingen å få den fra ventelisten.",
                    rules.waitlist.hold_ends_before_start_hours
                ),
            )));
        }
        let mut tx = self.store.write(&room.key).await?;
        let existing = tx
            .active_between(&room.key, slot.start, blocked_until(room, slot.end))
            .await?;
        if existing.iter().any(|b| b.org == new.org) {
            return Err(ServiceError::Conflict(DomainError::new(
                "own_booking",
                "Virksomheten din har allerede en booking eller forespørsel på denne tiden.",
            )));
        }
        if !matches!(
            decision::decide(rules, room, tier, slot, &held(rules, &existing), now),
            Decision::Busy { .. }
        ) {
            return Err(ServiceError::Conflict(DomainError::new(
                "not_busy",
                "Tiden er ikke opptatt for deg: send en forespørsel i stedet for å stå på venteliste.",
            )));
        }
        let same = tx.waitlist_waiting(&room.key, slot.start, slot.end).await?;
        if same
            .iter()
            .any(|e| e.contact_email == new.contact.email && e.start == slot.start && e.end == slot.end)
        {
            return Err(ServiceError::Conflict(DomainError::new(
                "already_waiting",
                "Du står allerede på ventelisten for denne tiden.",
            )));
        }
        let entry = tx.join_waitlist(NewEntry { booking: &new, now }).await?;
        tx.commit().await?;
        tracing::info!(entry = entry.id, org = %entry.org, "joined the waitlist");
        self.waitlist_place(entry).await
    }

    /// An entry with its place in line and its hold or booking.
    async fn waitlist_place(&self, entry: Entry) -> Result<WaitlistPlace> {
        let place = if entry.status == EntryStatus::Waiting {
            let others = self.store.waitlist_waiting(&entry.room, entry.start, entry.end).await?;
            Some(waitlist::place(&entry, &others, |org| self.rules().rank_of_org(org)))
        } else {
            None
        };
        let booking = match entry.booking_id {
            Some(id) => self.store.booking(id).await?,
            None => None,
        };
        Ok(WaitlistPlace { entry, place, booking })
    }

    /// `user`'s entries (as contact): the open ones first, then the rest, latest time first.
    pub async fn my_waitlist(&self, user: &User) -> Result<Vec<WaitlistPlace>> {
        let mut out = Vec::new();
        for e in self.store.waitlist_of(&user.email).await? {
            out.push(self.waitlist_place(e).await?);
        }
        out.sort_by_key(|p| !p.entry.status.is_open());
        Ok(out)
    }

    /// One entry, for its contact, its organisation or a coordinator.
    pub async fn waitlist_entry(&self, user: &User, id: i64) -> Result<WaitlistPlace> {
        let e = self.store.waitlist_entry(id).await?.ok_or(ServiceError::NotFound)?;
        if !may_manage(user, &e) {
            return Err(ServiceError::NotFound);
        }
        self.waitlist_place(e).await
    }

    /// Leave the waitlist. An entry holding a slot lets the hold go (as «Avslå» does).
    pub async fn leave_waitlist(&self, user: &User, id: i64) -> Result<Entry> {
        let e = self.store.waitlist_entry(id).await?.ok_or(ServiceError::NotFound)?;
        if !may_manage(user, &e) {
            return Err(ServiceError::NotFound);
        }
        match e.status {
            EntryStatus::Waiting => {
                let mut tx = self.store.write(&e.room).await?;
                let left = match tx
                    .set_entry_status(id, EntryStatus::Waiting, EntryStatus::Left, self.now())
                    .await
                {
                    Ok(left) => left,
                    Err(crate::store::StoreError::NotFound) => return Err(entry_state(&e)),
                    Err(err) => return Err(err.into()),
                };
                tx.commit().await?;
                Ok(left)
            }
            EntryStatus::Held => match self.answer_hold(user, id, HoldAction::Decline).await? {
                HoldAnswer::Declined(e) => Ok(e),
                HoldAnswer::Booked(_) => Err(entry_state(&e)),
            },
            _ => Err(entry_state(&e)),
        }
    }

    /// What a hold's link with secret `token` leads to now.
    pub async fn hold_link(&self, token: &str) -> Result<HoldLinkState> {
        if !is_secret(token) {
            return Ok(HoldLinkState::Unknown);
        }
        let Some(link) = self.store.hold_link(&hash_token(token)).await? else {
            return Ok(HoldLinkState::Unknown);
        };
        if link.used_at.is_some() || link.expires_at <= self.now() {
            return Ok(HoldLinkState::Gone);
        }
        let Some(entry) = self.store.waitlist_entry(link.entry_id).await? else {
            return Ok(HoldLinkState::Unknown);
        };
        let hold = match entry.booking_id {
            Some(id) => self.store.booking(id).await?,
            None => None,
        };
        match hold {
            Some(hold) if entry.status == EntryStatus::Held && hold.status == Status::Held => {
                Ok(HoldLinkState::Usable {
                    action: link.action,
                    entry,
                    hold,
                })
            }
            _ => Ok(HoldLinkState::Gone),
        }
    }

    /// Use a hold's link: confirm or decline as its action says, once. A used, run-out or
    /// unknown link changes nothing and says so (`Err` of the link's state).
    pub async fn answer_hold_by_link(&self, token: &str) -> Result<std::result::Result<HoldAnswer, HoldLinkState>> {
        let (action, entry) = match self.hold_link(token).await? {
            HoldLinkState::Usable { action, entry, .. } => (action, entry),
            other => return Ok(Err(other)),
        };
        let now = self.now();
        let mut tx = self.store.write(&entry.room).await?;
        // Claimed once: of two uses at the same time only one gets past this.
        if tx.use_hold_link(&hash_token(token), now).await?.is_none() {
            return Ok(Err(HoldLinkState::Gone));
        }
        Ok(Ok(self
            .answer_in(tx, entry.id, action, &entry.contact_email, now)
            .await?))
    }

    /// Answer entry `id`'s hold as a signed-in user (the contact, the organisation or a
    /// coordinator).
    pub async fn answer_hold(&self, user: &User, id: i64, action: HoldAction) -> Result<HoldAnswer> {
        let e = self.store.waitlist_entry(id).await?.ok_or(ServiceError::NotFound)?;
        if !may_manage(user, &e) {
            return Err(ServiceError::NotFound);
        }
        let tx = self.store.write(&e.room).await?;
        self.answer_in(tx, id, action, &user.email, self.now()).await
    }

    /// Confirm or decline entry `id`'s hold in `tx` (the room's write transaction) as `actor`,
    /// and commit.
    async fn answer_in(
        &self,
        mut tx: Box<dyn WriteTx>,
        id: i64,
        action: HoldAction,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<HoldAnswer> {
        let rules = self.rules();
        let c = self.composer();
        let e = tx.waitlist_entry(id).await?.ok_or(ServiceError::NotFound)?;
        let hold = match e.booking_id {
            Some(b) => tx.booking(b).await?,
            None => None,
        };
        let hold = match hold {
            Some(h) if e.status == EntryStatus::Held && h.status == Status::Held => h,
            _ => return Err(entry_state(&e)),
        };
        if hold.held_until.is_some_and(|u| u <= now) {
            return Err(ServiceError::Conflict(DomainError::new(
                "hold_expired",
                "Fristen for å bekrefte er ute: tiden er ikke lenger holdt for deg.",
            )));
        }
        match action {
            HoldAction::Decline => {
                end_hold(
                    tx.as_mut(),
                    &c,
                    &hold,
                    EntryStatus::Declined,
                    "Avslått fra ventelisten.",
                    actor,
                    now,
                )
                .await?;
                offer_freed(tx.as_mut(), &c, &hold.room, hold.start, hold.blocked_until, now).await?;
                let declined = tx.waitlist_entry(id).await?.ok_or(ServiceError::NotFound)?;
                tx.commit().await?;
                tracing::info!(entry = id, "hold declined");
                Ok(HoldAnswer::Declined(declined))
            }
            HoldAction::Confirm => {
                // The booking is made as the request would be now: every rule again, then the
                // decision against the rest of the room (the hold itself does not count).
                let mut request = request_of(&e)?;
                let (room, tier) = check_request(rules, self.plan(), &mut request, now)?;
                let slot = Slot {
                    start: hold.start,
                    end: hold.end,
                };
                let others: Vec<Booking> = tx
                    .active_between(&room.key, hold.start, hold.blocked_until)
                    .await?
                    .into_iter()
                    .filter(|b| b.id != hold.id)
                    .collect();
                let (status, conflicts) = match decision::decide(rules, room, tier, slot, &held(rules, &others), now) {
                    Decision::Confirm => (Status::Confirmed, vec![]),
                    Decision::Pending { conflicts } => (Status::Pending, conflicts),
                    Decision::Busy { .. } => {
                        return Err(ServiceError::Conflict(DomainError::new(
                            "busy",
                            "Rommet er likevel opptatt på denne tiden.",
                        )))
                    }
                };
                let booking = tx
                    .transition(Transition {
                        id: hold.id,
                        from: Status::Held,
                        to: status,
                        reason: Some("Bekreftet fra ventelisten."),
                        actor,
                        now,
                    })
                    .await?;
                tx.set_entry_status(id, EntryStatus::Held, EntryStatus::Booked, now)
                    .await?;
                let competing: Vec<Booking> = others.iter().filter(|b| conflicts.contains(&b.id)).cloned().collect();
                tell_stored(tx.as_mut(), &c, &booking, &competing, now).await?;
                tx.commit().await?;
                tracing::info!(
                    entry = id,
                    booking = booking.id,
                    status = status.as_str(),
                    "hold confirmed"
                );
                Ok(HoldAnswer::Booked(booking))
            }
        }
    }

    /// One round of the waitlist: entries whose time has started expire, and holds that ran
    /// out pass on to the next in line. The holds that ran out.
    pub async fn waitlist_round(&self) -> Result<Vec<Booking>> {
        let now = self.now();
        let expired = self.store.expire_waiting(now).await?;
        if expired > 0 {
            tracing::info!(entries = expired, "waitlist entries expired");
        }
        let c = self.composer();
        let mut lapsed = Vec::new();
        for (room, id) in self.store.holds_due(now).await? {
            let mut tx = self.store.write(&room).await?;
            // Another instance may have ended it first.
            let Some(b) = tx.booking(id).await?.filter(|b| b.status == Status::Held) else {
                continue;
            };
            if b.held_until.is_none_or(|u| u > now) {
                continue;
            }
            let ended = end_hold(
                tx.as_mut(),
                &c,
                &b,
                EntryStatus::Lapsed,
                "Holdet gikk ut uten at det ble bekreftet.",
                SYSTEM,
                now,
            )
            .await?;
            offer_freed(tx.as_mut(), &c, &b.room, b.start, b.blocked_until, now).await?;
            tx.commit().await?;
            tracing::info!(hold = id, "hold ran out");
            lapsed.push(ended);
        }
        Ok(lapsed)
    }
}

/// An entry that cannot be changed the way asked.
fn entry_state(e: &Entry) -> ServiceError {
    ServiceError::Conflict(DomainError::new(
        "invalid_state",
        format!("Plassen på ventelisten er {} og kan ikke endres.", e.status.norwegian()),
    ))
}
