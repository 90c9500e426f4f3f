//! Series of bookings: book a recurring series in one step (or preview it), see it, change or
//! cancel one, the following or all occurrences, decide a series' conflicts together, and book
//! planned occurrences on the day they come within the requester's horizon.
//!
//! Every occurrence gets the single booking's decision (`decide_occurrence`), inside the
//! room's serialised write transaction; the whole series is stored, or nothing.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::decision::{self, blocked_until, Decision};
use crate::domain::plan::Plan;
use crate::domain::policy::{self, last_bookable_day, Slot};
use crate::domain::recurrence::{self, End, Occurrence, Recurrence};
use crate::domain::series::{
    busy, policy_verdict, OccurrenceOutcome, OccurrenceState, OutcomeStatus, PolicyVerdict, Series, SeriesDetail,
    SeriesOccurrence,
};
use crate::domain::time::{at_local, local};
use crate::domain::{
    view_of, Activity, Booking, BookingTitle, DomainError, NewBooking, Room, SeriesLink, Status, Tier, User,
};
use crate::mail::Composer;
use crate::store::{Insert, NewSeries, SeriesUpdate, Store, StoreError, Transition, WriteTx};

use super::bookings::{activity_problems, check_request, free_alternatives, room_and_tier};
use super::waitlist::offer_freed;
use super::{App, Result, ServiceError};

/// The answer to a series request.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum SeriesOutcome {
    /// Stored, with every occurrence's outcome.
    Stored(SeriesDetail),
    /// Too many occurrences are busy or refused: nothing stored; every occurrence's outcome.
    Refused(Vec<OccurrenceOutcome>),
    /// What would happen (the pages' preview): nothing stored.
    Preview(Vec<OccurrenceOutcome>),
}

/// A change to this and the following occurrences of a series: any of a new time of day
/// (start), a new length, title, number of attendees, activity.
#[derive(Debug, Clone, Default)]
pub struct SeriesChange {
    /// From this occurrence (a booking of the series) on; `None`: all.
    pub from: Option<i64>,
    pub start_time: Option<chrono::NaiveTime>,
    pub minutes: Option<i64>,
    pub title: Option<BookingTitle>,
    pub attendees: Option<i64>,
    pub activity: Option<Activity>,
}

/// What the decision made of one occurrence (one at a time, so its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Decided {
    Booked {
        booking: Booking,
        conflicts: Vec<i64>,
    },
    Planned,
    Declined {
        error: DomainError,
        alternatives: Vec<Slot>,
    },
}

/// Decide occurrence `slot` of the series `link` names, inside `tx`: the policy (beyond the
/// horizon only → planned), the quota of its own month, then the tier/conflict decision.
/// Books it when it is free or competes for the coordinator.
#[allow(clippy::too_many_arguments)]
async fn decide_occurrence(
    tx: &mut dyn WriteTx,
    c: &Composer<'_>,
    plan: &Plan,
    room: &Room,
    tier: &Tier,
    template: &NewBooking,
    slot: Slot,
    link: SeriesLink,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Decided> {
    let rules = c.rules;
    let mut problems = policy::check(rules, room, tier, slot, template.attendees, now);
    if let Some(a) = &template.activity {
        problems.extend(activity_problems(plan, a, slot.start));
    }
    match policy_verdict(problems) {
        PolicyVerdict::Decide => {}
        PolicyVerdict::Planned => return Ok(Decided::Planned),
        PolicyVerdict::Declined(error) => {
            return Ok(Decided::Declined {
                error,
                alternatives: vec![],
            })
        }
    }
    if let Some(error) = super::bookings::quota_problem(tx, rules, tier, &template.org, slot, None).await? {
        return Ok(Decided::Declined {
            error,
            alternatives: vec![],
        });
    }
    let until = blocked_until(room, slot.end);
    let existing = tx.active_between(&room.key, slot.start, until).await?;
    let held = super::bookings::held(rules, &existing);
    let (status, conflicts) = match decision::decide(rules, room, tier, slot, &held, now) {
        Decision::Confirm => (Status::Confirmed, vec![]),
        Decision::Pending { conflicts } => (Status::Pending, conflicts),
        Decision::Busy { protected, .. } => {
            let alternatives = free_alternatives(tx, rules, room, tier, slot, template.attendees, now).await?;
            return Ok(Decided::Declined {
                error: busy(protected),
                alternatives,
            });
        }
    };
    let new = NewBooking {
        start: slot.start,
        end: slot.end,
        ..template.clone()
    };
    let reason = (!conflicts.is_empty()).then_some("Overlapper med andre bookinger: koordinator avgjør.");
    let booking = match tx
        .insert(Insert {
            booking: &new,
            series: Some(link),
            status,
            blocked_until: until,
            reason,
            actor,
            now,
        })
        .await
    {
        Ok(b) => b,
        // Only a writer that bypassed the lock gets here: the slot is taken after all.
        Err(StoreError::Overlap) => {
            return Ok(Decided::Declined {
                error: busy(false),
                alternatives: vec![],
            })
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Decided::Booked { booking, conflicts })
}

/// The stored row and the answer's line for a decided occurrence.
fn record(recurrence_id: DateTime<Utc>, slot: Slot, d: &Decided) -> (SeriesOccurrence, OccurrenceOutcome) {
    let (state, status, booking_id, error, alternatives) = match d {
        Decided::Booked { booking, .. } => (
            OccurrenceState::Booked,
            OutcomeStatus::of_booking(booking.status),
            Some(booking.id),
            None,
            vec![],
        ),
        Decided::Planned => (OccurrenceState::Planned, OutcomeStatus::Planned, None, None, vec![]),
        Decided::Declined { error, alternatives } => (
            OccurrenceState::Declined,
            OutcomeStatus::Declined,
            None,
            Some(error.clone()),
            alternatives.clone(),
        ),
    };
    (
        SeriesOccurrence {
            recurrence_id,
            slot,
            state,
            booking_id,
            code: error.as_ref().map(|e| e.code.to_string()),
            message: error.as_ref().map(|e| e.message.clone()),
        },
        OccurrenceOutcome {
            recurrence_id,
            slot,
            status,
            error,
            booking_id,
            alternatives,
        },
    )
}

fn skipped(o: &Occurrence) -> (SeriesOccurrence, OccurrenceOutcome) {
    let error = o.skipped.clone();
    (
        SeriesOccurrence {
            recurrence_id: o.slot.start,
            slot: o.slot,
            state: OccurrenceState::Skipped,
            booking_id: None,
            code: error.as_ref().map(|e| e.code.to_string()),
            message: error.as_ref().map(|e| e.message.clone()),
        },
        OccurrenceOutcome {
            recurrence_id: o.slot.start,
            slot: o.slot,
            status: OutcomeStatus::Skipped,
            error,
            booking_id: None,
            alternatives: vec![],
        },
    )
}

/// The bookings `booking` competes with (their ids `conflicts`), as the transaction sees them.
async fn competitors(tx: &mut dyn WriteTx, booking: &Booking, conflicts: &[i64]) -> Result<Vec<Booking>> {
    Ok(tx
        .active_between(&booking.room, booking.start, booking.blocked_until)
        .await?
        .into_iter()
        .filter(|b| conflicts.contains(&b.id))
        .collect())
}

/// The booked occurrences that compete with other bookings, with those others: one case for
/// the coordinator.
type Competing = Vec<(Booking, Vec<Booking>)>;

impl App {
    /// Request a series: `new` is its first occurrence, `rrule` the pattern. With `preview`,
    /// decide every occurrence and answer, storing nothing.
    pub async fn book_series(&self, new: NewBooking, rrule: &str, actor: &str, preview: bool) -> Result<SeriesOutcome> {
        book_series(
            self.store.as_ref(),
            &self.composer(),
            self.plan(),
            new,
            rrule,
            actor,
            preview,
            self.now(),
        )
        .await
    }

    /// Series `id` as `viewer` may see it (one they may not see is not found).
    pub async fn series_detail(&self, viewer: &User, id: i64) -> Result<SeriesDetail> {
        let detail = load_detail(self.store.as_ref(), id).await?;
        let bookings = self.store.series_bookings(&detail).await?;
        // Those who see the series' bookings in full (its organisation, coordinators, staff)
        // see the series; for others it does not exist.
        let full = |b: &Booking| view_of(Some(viewer), b) == Some(crate::domain::View::Full);
        let visible = match bookings.first() {
            Some(b) => full(b),
            None => viewer.role.is_coordinator() || viewer.org == detail.series.org,
        };
        if !visible {
            return Err(ServiceError::NotFound);
        }
        Ok(detail)
    }

    /// The series of these ids (for listings that group occurrences under their series).
    pub async fn series_by_ids(&self, ids: &[i64]) -> Result<Vec<Series>> {
        Ok(self.store.series_by_ids(ids).await?)
    }

    /// Change this and the following occurrences (or all): each changed occurrence is decided
    /// anew; one that cannot have its new time keeps its old one and is listed with the reason.
    /// A change from an occurrence after the first splits the series there: the earlier part
    /// ends the day before (`UNTIL`), the rest becomes a series of its own (the answer).
    pub async fn change_series(&self, id: i64, actor: &User, change: SeriesChange) -> Result<SeriesDetail> {
        change_series(
            self.store.as_ref(),
            &self.composer(),
            self.plan(),
            id,
            actor,
            change,
            self.now(),
        )
        .await
    }

    /// Cancel all occurrences, or this one (`from`, a booking of the series) and the
    /// following: planned ones are dropped, booked ones cancelled, with one message.
    pub async fn cancel_series(
        &self,
        id: i64,
        actor: &User,
        from: Option<i64>,
        reason: Option<&str>,
    ) -> Result<SeriesDetail> {
        cancel_series(
            self.store.as_ref(),
            &self.composer(),
            id,
            actor,
            from,
            reason,
            self.now(),
        )
        .await
    }

    /// Book the planned occurrences whose day has come within their requester's horizon,
    /// through the same decision as when the series was made. One that cannot be booked is
    /// declined, and its contact gets the reason and alternatives. Run daily by the workers;
    /// a second run finds nothing to do.
    pub async fn book_planned_occurrences(&self) -> Result<Vec<OccurrenceOutcome>> {
        book_planned(self.store.as_ref(), &self.composer(), self.plan(), self.now()).await
    }

    /// Approve or reject every pending occurrence of a series at once (coordinator). Each is
    /// decided as a single request would be; the answer lists what became of each.
    pub async fn decide_series(
        &self,
        id: i64,
        actor: &User,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<Vec<(i64, Result<Status, ServiceError>)>> {
        if !actor.role.is_coordinator() {
            return Err(ServiceError::Forbidden);
        }
        let detail = load_detail(self.store.as_ref(), id).await?;
        let pending: Vec<i64> = self
            .store
            .series_bookings(&detail)
            .await?
            .into_iter()
            .filter(|b| b.status == Status::Pending)
            .map(|b| b.id)
            .collect();
        if pending.is_empty() {
            return Err(ServiceError::Conflict(DomainError::new(
                "invalid_state",
                "Serien har ingen forespørsler til behandling.",
            )));
        }
        let mut out = Vec::new();
        for b in pending {
            let r = if approve {
                self.approve(b, actor, reason, false).await.map(|a| a.booking.status)
            } else {
                let reason = reason.unwrap_or_default();
                self.reject(b, actor, reason).await.map(|(b, _)| b.status)
            };
            if let Err(ServiceError::Rules(_)) = &r {
                // A missing reason is the same for every occurrence: say it once.
                return r.map(|_| vec![]);
            }
            out.push((b, r));
        }
        Ok(out)
    }
}

/// The store's series and occurrences, with each booked occurrence's booking.
trait SeriesBookings {
    async fn series_bookings(&self, detail: &SeriesDetail) -> Result<Vec<Booking>>;
}

impl SeriesBookings for std::sync::Arc<dyn Store> {
    async fn series_bookings(&self, detail: &SeriesDetail) -> Result<Vec<Booking>> {
        let mut out = Vec::new();
        for id in detail.booking_ids() {
            if let Some(b) = self.booking(id).await? {
                out.push(b);
            }
        }
        Ok(out)
    }
}

async fn load_detail(store: &dyn Store, id: i64) -> Result<SeriesDetail> {
    let series = store.series(id).await?.ok_or(ServiceError::NotFound)?;
    let rows = store.series_occurrences(id).await?;
    let mut occurrences = Vec::with_capacity(rows.len());
    for o in &rows {
        let b = match o.booking_id {
            Some(b) => store.booking(b).await?,
            None => None,
        };
        occurrences.push(OccurrenceOutcome::of_stored(o, b.as_ref()));
    }
    Ok(SeriesDetail { series, occurrences })
}

async fn load_detail_tx(tx: &mut dyn WriteTx, id: i64) -> Result<(SeriesDetail, Vec<SeriesOccurrence>, Vec<Booking>)> {
    let series = tx.series(id).await?.ok_or(ServiceError::NotFound)?;
    let rows = tx.series_occurrences(id).await?;
    let mut occurrences = Vec::with_capacity(rows.len());
    let mut bookings = Vec::new();
    for o in &rows {
        let b = match o.booking_id {
            Some(b) => tx.booking(b).await?,
            None => None,
        };
        occurrences.push(OccurrenceOutcome::of_stored(o, b.as_ref()));
        bookings.extend(b);
    }
    Ok((SeriesDetail { series, occurrences }, rows, bookings))
}

#[allow(clippy::too_many_arguments)]
async fn book_series(
    store: &dyn Store,
    c: &Composer<'_>,
    plan: &Plan,
    mut new: NewBooking,
    rrule: &str,
    actor: &str,
    preview: bool,
    now: DateTime<Utc>,
) -> Result<SeriesOutcome> {
    let rules = c.rules;
    let rec = recurrence::parse(rrule)?;
    // The first occurrence is the series' shape: what is wrong with it is wrong with the series.
    let (room, tier) = check_request(rules, plan, &mut new, now)?;
    let first = Slot {
        start: new.start,
        end: new.end,
    };
    let occurrences = recurrence::occurrences(rules, room, &rec, first)?;
    if occurrences.first().map(|o| o.slot.start) != Some(first.start) {
        return Err(DomainError::new(
            "invalid_recurrence",
            "Første gang (start) må følge mønsteret: velg en startdag som mønsteret treffer.",
        )
        .on("rrule")
        .into());
    }
    let normalised = rec.to_rrule();
    let mut tx = store.write(&room.key).await?;
    let series = tx
        .insert_series(NewSeries {
            booking: &new,
            rrule: &normalised,
            actor,
            now,
        })
        .await?;
    let mut rows = Vec::with_capacity(occurrences.len());
    let mut outcomes = Vec::with_capacity(occurrences.len());
    let mut competing: Competing = Vec::new();
    for o in &occurrences {
        if o.skipped.is_some() {
            let (row, out) = skipped(o);
            rows.push(row);
            outcomes.push(out);
            continue;
        }
        let link = SeriesLink {
            series_id: series.id,
            recurrence_id: o.slot.start,
        };
        let d = decide_occurrence(tx.as_mut(), c, plan, room, tier, &new, o.slot, link, actor, now).await?;
        if let Decided::Booked { booking, conflicts } = &d {
            if !conflicts.is_empty() {
                let others = competitors(tx.as_mut(), booking, conflicts).await?;
                competing.push((booking.clone(), others));
            }
        }
        let (row, out) = record(o.slot.start, o.slot, &d);
        rows.push(row);
        outcomes.push(out);
    }
    let wanted = outcomes.iter().filter(|o| o.status != OutcomeStatus::Skipped).count();
    let refused = outcomes.iter().filter(|o| o.status == OutcomeStatus::Declined).count();
    let limits = rules.series;
    if preview {
        return Ok(SeriesOutcome::Preview(outcomes));
    }
    if !recurrence::accepted(wanted, refused, limits.max_conflicts, limits.max_conflict_percent) {
        return Ok(SeriesOutcome::Refused(outcomes));
    }
    for row in &rows {
        tx.put_occurrence(series.id, row.recurrence_id, row).await?;
    }
    let detail = SeriesDetail {
        series,
        occurrences: outcomes,
    };
    tx.enqueue(&c.series_booked(&detail, now), now).await?;
    if !competing.is_empty() {
        for coordinator in tx.coordinator_emails().await? {
            tx.enqueue(&c.series_conflict(&detail.series, &competing, &coordinator), now)
                .await?;
        }
    }
    tx.commit().await?;
    tracing::info!(
        series = detail.series.id,
        occurrences = detail.occurrences.len(),
        declined = refused,
        org = %detail.series.org,
        "series stored"
    );
    Ok(SeriesOutcome::Stored(detail))
}

/// A series `actor` may manage: its organisation's, or any for a coordinator.
/// Another organisation's series is not found, as its pending bookings would not be.
async fn managed_series(store: &dyn Store, actor: &User, id: i64) -> Result<Series> {
    let s = store.series(id).await?.ok_or(ServiceError::NotFound)?;
    if s.org != actor.org && !actor.role.is_coordinator() {
        return Err(ServiceError::NotFound);
    }
    Ok(s)
}

/// The recurrence id the change or cancellation starts at: booking `from` of series `id`, or
/// the first occurrence.
fn starting_at(rows: &[SeriesOccurrence], from: Option<i64>) -> Result<DateTime<Utc>> {
    match from {
        None => rows.first().map(|o| o.recurrence_id).ok_or(ServiceError::NotFound),
        Some(b) => rows
            .iter()
            .find(|o| o.booking_id == Some(b))
            .map(|o| o.recurrence_id)
            .ok_or_else(|| {
                DomainError::new(
                    "invalid_state",
                    format!("Booking {b} er ikke en forekomst i denne serien."),
                )
                .on("from")
                .into()
            }),
    }
}

/// End `series` the day before `day` (Oslo): its pattern gets that `UNTIL`, the rest of it
/// stays; its SEQUENCE rises.
async fn end_before(tx: &mut dyn WriteTx, series: &Series, day: NaiveDate, now: DateTime<Utc>) -> Result<Series> {
    let rec = recurrence::parse(&series.rrule)?;
    let cut = rec.until(day.pred_opt().unwrap_or(day)).to_rrule();
    Ok(tx
        .update_series(SeriesUpdate {
            id: series.id,
            rrule: &cut,
            first: series.first,
            title: &series.title,
            attendees: series.attendees,
            activity: series.activity.as_ref(),
            cancelled: false,
            now,
        })
        .await?)
}

async fn cancel_series(
    store: &dyn Store,
    c: &Composer<'_>,
    id: i64,
    actor: &User,
    from: Option<i64>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SeriesDetail> {
    let series = managed_series(store, actor, id).await?;
    let reason = crate::domain::booking::parse_reason(reason, None)?;
    let reason = reason.as_deref();
    let mut tx = store.write(&series.room).await?;
    let (detail, rows, bookings) = load_detail_tx(tx.as_mut(), id).await?;
    if detail.series.cancelled {
        return Err(ServiceError::Conflict(DomainError::new(
            "invalid_state",
            "Serien er allerede avlyst.",
        )));
    }
    let from_id = starting_at(&rows, from)?;
    let mut cancelled = 0;
    let mut first_cancelled: Option<DateTime<Utc>> = None;
    // The bookings given up, whose time goes to the waitlist.
    let mut freed: Vec<Booking> = Vec::new();
    for row in rows.iter().filter(|o| o.recurrence_id >= from_id) {
        match row.state {
            OccurrenceState::Planned => {
                tx.put_occurrence(
                    id,
                    row.recurrence_id,
                    &SeriesOccurrence {
                        state: OccurrenceState::Cancelled,
                        ..row.clone()
                    },
                )
                .await?;
                cancelled += 1;
                first_cancelled.get_or_insert(row.recurrence_id);
            }
            OccurrenceState::Booked => {
                let Some(b) = bookings.iter().find(|b| Some(b.id) == row.booking_id) else {
                    continue;
                };
                if b.status.can_become(Status::Cancelled) && b.end > now {
                    tx.transition(Transition {
                        id: b.id,
                        from: b.status,
                        to: Status::Cancelled,
                        reason,
                        actor: &actor.email,
                        now,
                    })
                    .await?;
                    freed.push(b.clone());
                    cancelled += 1;
                    first_cancelled.get_or_insert(row.recurrence_id);
                }
            }
            _ => {}
        }
    }
    if cancelled == 0 {
        return Err(ServiceError::Conflict(DomainError::new(
            "invalid_state",
            "Ingen forekomster igjen å avlyse fra og med denne.",
        )));
    }
    // The whole series is off only when nothing before the first cancelled occurrence is in
    // calendars (past occurrences stay there): otherwise the series ends before it.
    let first_cancelled = first_cancelled.unwrap_or(from_id);
    let all = detail
        .occurrences
        .iter()
        .filter(|o| o.recurrence_id < first_cancelled)
        .all(|o| !o.status.in_calendar());
    let first_day = local(first_cancelled).date_naive();
    let series = if all {
        tx.update_series(SeriesUpdate {
            id,
            rrule: &detail.series.rrule,
            first: detail.series.first,
            title: &detail.series.title,
            attendees: detail.series.attendees,
            activity: detail.series.activity.as_ref(),
            cancelled: true,
            now,
        })
        .await?
    } else {
        end_before(tx.as_mut(), &detail.series, first_day, now).await?
    };
    let (after, _, _) = load_detail_tx(tx.as_mut(), id).await?;
    let after = SeriesDetail {
        series,
        occurrences: after.occurrences,
    };
    let message = if all {
        c.series_cancelled(&after, reason, now)
    } else {
        c.series_updated(&after, reason, now)
    };
    tx.enqueue(&message, now).await?;
    for b in &freed {
        offer_freed(tx.as_mut(), c, &b.room, b.start, b.blocked_until, now).await?;
    }
    tx.commit().await?;
    tracing::info!(series = id, cancelled, all, "series cancelled");
    Ok(after)
}

/// The time an occurrence on `day` gets under `change`, from its current `slot`.
fn changed_slot(slot: Slot, change: &SeriesChange) -> Option<Slot> {
    let start = local(slot.start);
    let day = start.date_naive();
    let minutes = change.minutes.unwrap_or((slot.end - slot.start).num_minutes());
    let start = match change.start_time {
        Some(t) => at_local(day, t)?,
        None => slot.start,
    };
    let wall_end = local(start).naive_local() + Duration::minutes(minutes);
    let end = wall_end
        .and_local_timezone(crate::domain::time::TZ)
        .earliest()?
        .with_timezone(&Utc);
    Some(Slot { start, end })
}

async fn change_series(
    store: &dyn Store,
    c: &Composer<'_>,
    plan: &Plan,
    id: i64,
    actor: &User,
    change: SeriesChange,
    now: DateTime<Utc>,
) -> Result<SeriesDetail> {
    let rules = c.rules;
    let series = managed_series(store, actor, id).await?;
    if change.start_time.is_none()
        && change.minutes.is_none()
        && change.title.is_none()
        && change.attendees.is_none()
        && change.activity.is_none()
    {
        return Err(DomainError::new(
            "nothing_to_change",
            "Oppgi hva som skal endres: starttid, varighet, tittel, antall deltakere eller aktivitet.",
        )
        .into());
    }
    if let Some(n) = change.attendees {
        if n < 1 {
            return Err(
                DomainError::new("invalid_attendees", "Antall deltakere må være minst 1.")
                    .on("attendees")
                    .into(),
            );
        }
    }
    let (room, tier) = room_and_tier(rules, &series.room, &series.org)?;
    // The new shape is checked on the series' first occurrence's day, as a new series would be.
    let shape = changed_slot(series.first, &change).ok_or_else(|| {
        DomainError::new("invalid_time", "Klokkeslettet finnes ikke den dagen (sommertid).").on("start_time")
    })?;
    let attendees = change.attendees.unwrap_or(series.attendees);
    let shape_problems: Vec<DomainError> = policy::check(rules, room, tier, shape, attendees, shape.start.min(now))
        .into_iter()
        .filter(|p| {
            matches!(
                p.code,
                "too_long"
                    | "too_short"
                    | "not_on_slot_grid"
                    | "over_capacity"
                    | "invalid_attendees"
                    | "end_before_start"
            )
        })
        .collect();
    if !shape_problems.is_empty() {
        return Err(ServiceError::Rules(shape_problems));
    }
    let activity = change.activity.clone().map(Activity::dedup);
    // The occurrences' bookings name the series' contact, not whoever changes the series.
    let contact = store.user_by_email(&series.contact_email).await?;
    let mut tx = store.write(&room.key).await?;
    let (detail, rows, bookings) = load_detail_tx(tx.as_mut(), id).await?;
    if detail.series.cancelled {
        return Err(ServiceError::Conflict(DomainError::new(
            "invalid_state",
            "Serien er avlyst og kan ikke endres.",
        )));
    }
    let from_id = starting_at(&rows, change.from)?;
    let split = from_id != rows[0].recurrence_id;
    // The old bookings of occurrences booked at a new time, whose time goes to the waitlist.
    let mut freed: Vec<Booking> = Vec::new();
    let title = change
        .title
        .as_ref()
        .map(|t| t.as_str().to_string())
        .unwrap_or(detail.series.title.clone());
    // The part that changes: the whole series, or a new one split off at `from`.
    let (target, first_slot) = if split {
        let first_row = rows
            .iter()
            .find(|o| o.recurrence_id == from_id)
            .cloned()
            .ok_or(ServiceError::NotFound)?;
        let rec = recurrence::parse(&detail.series.rrule)?;
        let remaining = rows.iter().filter(|o| o.recurrence_id >= from_id).count() as u32;
        let rest = Recurrence {
            end: match rec.end {
                End::Count(_) => End::Count(remaining.max(1)),
                until => until,
            },
            ..rec.clone()
        };
        let template = series_template(&detail.series, contact.as_ref(), first_row.recurrence_id)?;
        let rest_rrule = rest.to_rrule();
        let new_series = tx
            .insert_series(NewSeries {
                booking: &template,
                rrule: &rest_rrule,
                actor: &actor.email,
                now,
            })
            .await?;
        tx.move_occurrences(id, from_id, new_series.id).await?;
        let earlier = end_before(tx.as_mut(), &detail.series, local(from_id).date_naive(), now).await?;
        let (earlier_detail, _, _) = load_detail_tx(tx.as_mut(), id).await?;
        tx.enqueue(
            &c.series_updated(
                &SeriesDetail {
                    series: earlier,
                    occurrences: earlier_detail.occurrences,
                },
                None,
                now,
            ),
            now,
        )
        .await?;
        (new_series, first_row.slot)
    } else {
        (detail.series.clone(), detail.series.first)
    };
    let new_first = changed_slot(first_slot, &change).unwrap_or(first_slot);
    let series = tx
        .update_series(SeriesUpdate {
            id: target.id,
            rrule: &target.rrule,
            first: new_first,
            title: &title,
            attendees,
            activity: activity.as_ref().or(target.activity.as_ref()),
            cancelled: false,
            now,
        })
        .await?;
    let template = NewBooking {
        title: BookingTitle::parse(&title)?,
        attendees,
        activity: series.activity.clone(),
        ..series_template(&series, contact.as_ref(), new_first.start)?
    };
    let link_of = |recurrence_id| SeriesLink {
        series_id: series.id,
        recurrence_id,
    };
    // Every occurrence of the changed part is known by its new time by the pattern from now
    // on, so the calendars' EXDATEs and RECURRENCE-IDs keep matching the new DTSTART.
    let length = detail.series.length();
    let rekey = |rid: DateTime<Utc>| {
        changed_slot(
            Slot {
                start: rid,
                end: rid + length,
            },
            &change,
        )
        .map(|s| s.start)
        .unwrap_or(rid)
    };
    let mut notes = Vec::new();
    for row in rows.iter().filter(|o| o.recurrence_id >= from_id) {
        let rid = rekey(row.recurrence_id);
        let kept = SeriesOccurrence {
            recurrence_id: rid,
            ..row.clone()
        };
        let booked = match row.state {
            OccurrenceState::Booked => bookings.iter().find(|b| Some(b.id) == row.booking_id),
            _ => None,
        };
        let Some(b) = booked.filter(|b| b.status.is_active() && b.start >= now) else {
            // Not booked (or no longer changeable): only its time by the pattern changes.
            let slot = match row.state {
                OccurrenceState::Booked => row.slot,
                _ => changed_slot(row.slot, &change).unwrap_or(row.slot),
            };
            tx.put_occurrence(series.id, row.recurrence_id, &SeriesOccurrence { slot, ..kept })
                .await?;
            continue;
        };
        let Some(slot) = changed_slot(
            Slot {
                start: b.start,
                end: b.end,
            },
            &change,
        ) else {
            continue;
        };
        // Decided anew: the old booking gives way, and comes back if the new time is refused.
        tx.transition(Transition {
            id: b.id,
            from: b.status,
            to: Status::Cancelled,
            reason: Some("Endret sammen med serien."),
            actor: &actor.email,
            now,
        })
        .await?;
        let d = decide_occurrence(
            tx.as_mut(),
            c,
            plan,
            room,
            tier,
            &template,
            slot,
            link_of(rid),
            &actor.email,
            now,
        )
        .await?;
        match d {
            Decided::Booked { booking, .. } => {
                freed.push(b.clone());
                tx.put_occurrence(
                    series.id,
                    row.recurrence_id,
                    &SeriesOccurrence {
                        slot,
                        booking_id: Some(booking.id),
                        ..kept
                    },
                )
                .await?;
            }
            Decided::Planned | Decided::Declined { .. } => {
                tx.transition(Transition {
                    id: b.id,
                    from: Status::Cancelled,
                    to: b.status,
                    reason: Some("Beholdt: den nye tiden kunne ikke bookes."),
                    actor: &actor.email,
                    now,
                })
                .await?;
                tx.put_occurrence(series.id, row.recurrence_id, &kept).await?;
                let why = match &d {
                    Decided::Declined { error, .. } => error.message.clone(),
                    _ => "Den nye tiden er utenfor bookingvinduet.".into(),
                };
                notes.push(format!(
                    "{}: beholder den gamle tiden ({})",
                    crate::domain::time::format_range(b.start, b.end),
                    why.trim_end_matches('.')
                ));
            }
        }
    }
    let (after, _, _) = load_detail_tx(tx.as_mut(), series.id).await?;
    let after = SeriesDetail {
        series,
        occurrences: after.occurrences,
    };
    let note = (!notes.is_empty()).then(|| notes.join("\n"));
    tx.enqueue(&c.series_updated(&after, note.as_deref(), now), now).await?;
    for b in &freed {
        offer_freed(tx.as_mut(), c, &b.room, b.start, b.blocked_until, now).await?;
    }
    tx.commit().await?;
    tracing::info!(series = after.series.id, split, "series changed");
    Ok(after)
}

/// The booking fields of `series`, as a request for the occurrence at `start`, with its
/// contact's account (`contact`, when they have one).
fn series_template(series: &Series, contact: Option<&User>, start: DateTime<Utc>) -> Result<NewBooking> {
    let length = series.first.end - series.first.start;
    Ok(NewBooking {
        room: series.room.clone(),
        start,
        end: start + length,
        title: BookingTitle::parse(&series.title)?,
        description: series.description.clone(),
        public: series.public,
        attendees: series.attendees,
        org: series.org.clone(),
        contact: User {
            id: contact.map(|u| u.id).unwrap_or(0),
            name: series.contact_name.clone(),
            email: series.contact_email.clone(),
            org: series.org.clone(),
            role: contact.map(|u| u.role).unwrap_or(crate::domain::Role::Requester),
        },
        activity: series.activity.clone(),
    })
}

async fn book_planned(
    store: &dyn Store,
    c: &Composer<'_>,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Vec<OccurrenceOutcome>> {
    let rules = c.rules;
    // The longest horizon bounds what can be due; each series' own tier decides.
    let longest = rules.tiers.iter().map(|t| t.horizon_days).max().unwrap_or(0);
    let before = crate::domain::time::start_of_day(local(now).date_naive() + Duration::days(longest + 1));
    let due = store.planned_before(before).await?;
    let mut out = Vec::new();
    for (series_id, recurrence_id) in due {
        let Some(series) = store.series(series_id).await? else {
            continue;
        };
        let Ok((room, tier)) = room_and_tier(rules, &series.room, &series.org) else {
            continue;
        };
        let contact = store.user_by_email(&series.contact_email).await?;
        let mut tx = store.write(&room.key).await?;
        let rows = tx.series_occurrences(series_id).await?;
        let Some(row) = rows
            .into_iter()
            .find(|o| o.recurrence_id == recurrence_id && o.state == OccurrenceState::Planned)
        else {
            continue;
        };
        if local(row.slot.start).date_naive() > last_bookable_day(tier, now) {
            continue;
        }
        let template = NewBooking {
            start: row.slot.start,
            end: row.slot.end,
            ..series_template(&series, contact.as_ref(), row.slot.start)?
        };
        let link = SeriesLink {
            series_id,
            recurrence_id,
        };
        let d = decide_occurrence(
            tx.as_mut(),
            c,
            plan,
            room,
            tier,
            &template,
            row.slot,
            link,
            "system",
            now,
        )
        .await?;
        let (stored, outcome) = record(recurrence_id, row.slot, &d);
        tx.put_occurrence(series_id, recurrence_id, &stored).await?;
        match &d {
            Decided::Booked { booking, conflicts } => {
                if !conflicts.is_empty() {
                    let others = competitors(tx.as_mut(), booking, conflicts).await?;
                    let competing = vec![(booking.clone(), others)];
                    for coordinator in tx.coordinator_emails().await? {
                        tx.enqueue(&c.series_conflict(&series, &competing, &coordinator), now)
                            .await?;
                    }
                }
            }
            Decided::Declined { .. } => {
                tx.enqueue(&c.occurrence_not_booked(&series, &outcome, now), now)
                    .await?;
            }
            Decided::Planned => {}
        }
        tx.commit().await?;
        tracing::info!(
            series = series_id,
            status = outcome.status.as_str(),
            "planned occurrence decided"
        );
        out.push(outcome);
    }
    Ok(out)
}
