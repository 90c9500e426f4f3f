//! The tier/conflict decision (DESIGN.md §4.2–4.5) and the alternatives offered on refusal.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::booking::Status;
use super::policy::{self, Slot};
use super::rules::{Room, Rules, Tier};
use super::time::{at_local, local};

/// A booking already in the room, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub id: i64,
    /// Rank of its organisation's tier (lower = higher priority).
    pub rank: usize,
    pub start: DateTime<Utc>,
    /// End including the buffer kept free after it.
    pub blocked_until: DateTime<Utc>,
    pub status: Status,
}

impl Held {
    /// Does this booking overlap a request for `slot` in `room`, buffers included?
    pub fn overlaps(&self, room: &Room, slot: Slot) -> bool {
        overlaps_blocked(
            self.start,
            self.blocked_until,
            slot.start,
            blocked_until(room, slot.end),
        )
    }
}

pub fn blocked_until(room: &Room, end: DateTime<Utc>) -> DateTime<Utc> {
    end + Duration::minutes(room.buffer_minutes)
}

fn overlaps_blocked(
    a_start: DateTime<Utc>,
    a_until: DateTime<Utc>,
    b_start: DateTime<Utc>,
    b_until: DateTime<Utc>,
) -> bool {
    a_start < b_until && b_start < a_until
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Free, and the tier auto-confirms.
    Confirm,
    /// Needs the coordinator: `conflicts` are the bookings it competes with (empty when the
    /// tier simply does not auto-confirm).
    Pending { conflicts: Vec<i64> },
    /// Held by the same or a higher tier, or by a firm booking inside the protection window.
    Busy { held_by: Vec<i64>, protected: bool },
}

/// Decide a request for `slot` by an organisation of `tier`, given the confirmed and pending
/// bookings and the holds of the room near it. Policy checks come first and are not repeated here.
pub fn decide(rules: &Rules, room: &Room, tier: &Tier, slot: Slot, existing: &[Held], now: DateTime<Utc>) -> Decision {
    let overlapping: Vec<&Held> = existing.iter().filter(|h| h.overlaps(room, slot)).collect();
    // A hold keeps its slot as a confirmed booking of the holder's tier does, but is never
    // firm: a higher tier's request competes with it as with a pending one.
    let keeping: Vec<&Held> = overlapping
        .iter()
        .copied()
        .filter(|h| matches!(h.status, Status::Confirmed | Status::Held))
        .collect();
    let stronger: Vec<i64> = keeping.iter().filter(|h| h.rank <= tier.rank).map(|h| h.id).collect();
    if !stronger.is_empty() {
        return Decision::Busy {
            held_by: stronger,
            protected: false,
        };
    }
    let firm: Vec<i64> = keeping
        .iter()
        .filter(|h| h.status == Status::Confirmed && is_protected(rules, h.start, now))
        .map(|h| h.id)
        .collect();
    if !firm.is_empty() {
        return Decision::Busy {
            held_by: firm,
            protected: true,
        };
    }
    if !overlapping.is_empty() {
        // Lower-tier confirmed bookings outside the protection window, or other pending
        // requests: the coordinator decides.
        return Decision::Pending {
            conflicts: overlapping.iter().map(|h| h.id).collect(),
        };
    }
    if tier.auto_confirm {
        Decision::Confirm
    } else {
        Decision::Pending { conflicts: vec![] }
    }
}

/// Inside the protection window a confirmed booking is firm.
pub fn is_protected(rules: &Rules, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    start < now + Duration::days(rules.protection_window_days)
}

/// What approving a pending request does to the confirmed bookings it overlaps: the ids to
/// displace, or why it cannot be approved. `force` is the coordinator's explicit override.
pub fn approval(
    rules: &Rules,
    rank: usize,
    overlapping_confirmed: &[Held],
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, super::DomainError> {
    use super::DomainError;
    if !force {
        if let Some(h) = overlapping_confirmed.iter().find(|h| h.rank <= rank) {
            return Err(DomainError::new(
                "busy",
                format!(
                    "Rommet er opptatt av booking {} med samme eller høyere prioritet. Bruk «overstyr» med en begrunnelse for å trekke den tilbake.",
                    h.id
                ),
            ));
        }
        if let Some(h) = overlapping_confirmed.iter().find(|h| is_protected(rules, h.start, now)) {
            return Err(DomainError::new(
                "protected",
                format!(
                    "Booking {} starter innen beskyttelsesperioden på {} dager og kan bare trekkes tilbake med «overstyr» og en begrunnelse.",
                    h.id, rules.protection_window_days
                ),
            ));
        }
    }
    Ok(overlapping_confirmed.iter().map(|h| h.id).collect())
}

/// Up to `rules.alternatives` free slots of the same length as `wanted` that pass policy for
/// `tier` and do not overlap each other, so that each is a real choice. In this order: the
/// nearest free slot on the same day that starts earlier and the nearest that starts later
/// (the nearer of the two first); then the same time of day on the following days, nearest
/// first; then any free slot, nearest to the wanted start first — up to the end of the tier's
/// booking horizon. `existing` are the confirmed and pending bookings of the room from the
/// requested day to the end of the horizon, in any order.
pub fn alternatives(
    rules: &Rules,
    room: &Room,
    tier: &Tier,
    wanted: Slot,
    attendees: i64,
    existing: &[Held],
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let length = Duration::minutes(wanted.minutes().max(room.slot_minutes));
    let mut busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = existing.iter().map(|h| (h.start, h.blocked_until)).collect();
    busy.sort();
    let is_free = |slot: Slot| {
        let until = blocked_until(room, slot.end);
        // Only intervals that start before our blocked end can overlap.
        let upto = busy.partition_point(|(s, _)| *s < until);
        !busy[..upto]
            .iter()
            .any(|(s, u)| overlaps_blocked(*s, *u, slot.start, until))
    };
    let passes = |slot: Slot| is_free(slot) && policy::check(rules, room, tier, slot, attendees, now).is_empty();

    let mut found: Vec<Slot> = Vec::new();
    let full = |found: &Vec<Slot>| found.len() >= rules.alternatives;
    // A candidate is taken when it is bookable, not the wanted slot, and overlaps nothing
    // already offered.
    let offer = |found: &mut Vec<Slot>, slot: Slot| {
        if slot != wanted && !found.iter().any(|f| slots_overlap(*f, slot)) && passes(slot) {
            found.push(slot);
        }
    };
    let first_day = local(wanted.start).date_naive().max(local(now).date_naive());
    let last_day = policy::last_bookable_day(tier, now);
    if rules.alternatives == 0 || first_day > last_day {
        return found;
    }

    // 1. The same day: the nearest earlier and the nearest later free slot.
    let same_day = day_candidates(rules, room, first_day, length);
    let distance = |s: &Slot| (s.start - wanted.start).num_minutes().abs();
    let earlier = same_day.iter().rev().find(|s| s.start < wanted.start && passes(**s));
    let later = same_day
        .iter()
        .find(|s| s.start > wanted.start && passes(**s) && earlier.is_none_or(|e| !slots_overlap(*e, **s)));
    let mut near: Vec<Slot> = earlier.into_iter().chain(later).copied().collect();
    near.sort_by_key(|s| (distance(s), s.start));
    for slot in near {
        if !full(&found) {
            offer(&mut found, slot);
        }
    }

    // 2. The same time of day on the following days.
    let from = local(wanted.start).time();
    let mut day = first_day;
    while !full(&found) {
        day = match day.succ_opt() {
            Some(d) if d <= last_day => d,
            _ => break,
        };
        if let Some(start) = at_local(day, from) {
            offer(
                &mut found,
                Slot {
                    start,
                    end: start + length,
                },
            );
        }
    }

    // 3. Anything, nearest to the wanted start first.
    if !full(&found) {
        let mut all: Vec<Slot> = Vec::new();
        let mut day = first_day;
        loop {
            all.extend(day_candidates(rules, room, day, length));
            day = match day.succ_opt() {
                Some(d) if d <= last_day => d,
                _ => break,
            };
        }
        all.sort_by_key(|s| (distance(s), s.start));
        for slot in all {
            if full(&found) {
                break;
            }
            offer(&mut found, slot);
        }
    }
    found
}

/// Do two offered slots share any time (buffers aside: only one of them will be booked)?
pub fn slots_overlap(a: Slot, b: Slot) -> bool {
    a.start < b.end && b.start < a.end
}

/// Every slot of `length` on the room's grid within the opening hours of `day`.
fn day_candidates(rules: &Rules, room: &Room, day: NaiveDate, length: Duration) -> Vec<Slot> {
    use chrono::Datelike;
    let Some((open, close)) = room.opening_hours.on(day.weekday()) else {
        return vec![];
    };
    if rules.closed_reason(room, day).is_some() {
        return vec![];
    }
    let (Some(open), Some(close)) = (at_local(day, open), at_local(day, close)) else {
        return vec![];
    };
    let step = Duration::minutes(room.slot_minutes.max(1));
    let mut out = Vec::new();
    let mut start = open;
    while start + length <= close {
        out.push(Slot {
            start,
            end: start + length,
        });
        start += step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixtures::{hm, rules};

    fn at(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        at_local(NaiveDate::from_ymd_opt(2026, m, d).unwrap(), hm(h, min)).unwrap()
    }
    fn now() -> DateTime<Utc> {
        at(2, 20, 12, 0)
    }
    fn held(id: i64, rank: usize, start: DateTime<Utc>, end: DateTime<Utc>, status: Status) -> Held {
        Held {
            id,
            rank,
            start,
            blocked_until: end + Duration::minutes(15),
            status,
        }
    }
    fn slot(a: DateTime<Utc>, b: DateTime<Utc>) -> Slot {
        Slot { start: a, end: b }
    }

    #[test]
    fn free_slot_is_confirmed_or_pending_by_tier() {
        let mut r = rules();
        let s = slot(at(3, 2, 9, 0), at(3, 2, 10, 0));
        assert_eq!(decide(&r, &r.rooms[0], &r.tiers[2], s, &[], now()), Decision::Confirm);
        r.tiers[2].auto_confirm = false;
        assert_eq!(
            decide(&r, &r.rooms[0], &r.tiers[2], s, &[], now()),
            Decision::Pending { conflicts: vec![] }
        );
    }

    #[test]
    fn the_buffer_counts_as_taken() {
        let r = rules();
        let existing = [held(1, 2, at(3, 2, 9, 0), at(3, 2, 10, 0), Status::Confirmed)];
        let touching = slot(at(3, 2, 10, 0), at(3, 2, 11, 0));
        assert!(matches!(
            decide(&r, &r.rooms[0], &r.tiers[2], touching, &existing, now()),
            Decision::Busy { .. }
        ));
        let after_buffer = slot(at(3, 2, 10, 15), at(3, 2, 11, 0));
        assert_eq!(
            decide(&r, &r.rooms[0], &r.tiers[2], after_buffer, &existing, now()),
            Decision::Confirm
        );
        // And before: our own buffer must end before theirs starts.
        let before = slot(at(3, 2, 8, 0), at(3, 2, 9, 0));
        assert!(matches!(
            decide(&r, &r.rooms[0], &r.tiers[2], before, &existing, now()),
            Decision::Busy { .. }
        ));
        let before_ok = slot(at(3, 2, 8, 0), at(3, 2, 8, 45));
        assert_eq!(
            decide(&r, &r.rooms[0], &r.tiers[2], before_ok, &existing, now()),
            Decision::Confirm
        );
    }

    #[test]
    fn same_or_higher_tier_holds_the_slot() {
        let r = rules();
        let s = slot(at(3, 20, 9, 0), at(3, 20, 10, 0));
        for holder in [0, 2] {
            let existing = [held(7, holder, s.start, s.end, Status::Confirmed)];
            assert_eq!(
                decide(&r, &r.rooms[0], &r.tiers[2], s, &existing, now()),
                Decision::Busy {
                    held_by: vec![7],
                    protected: false
                }
            );
        }
    }

    #[test]
    fn lower_tier_outside_protection_is_a_conflict_inside_it_is_busy() {
        let r = rules();
        let far = slot(at(3, 20, 9, 0), at(3, 20, 10, 0));
        let existing = [held(7, 2, far.start, far.end, Status::Confirmed)];
        assert_eq!(
            decide(&r, &r.rooms[0], &r.tiers[0], far, &existing, now()),
            Decision::Pending { conflicts: vec![7] }
        );
        let near = slot(at(2, 27, 9, 0), at(2, 27, 10, 0));
        let existing = [held(8, 2, near.start, near.end, Status::Confirmed)];
        assert_eq!(
            decide(&r, &r.rooms[0], &r.tiers[0], near, &existing, now()),
            Decision::Busy {
                held_by: vec![8],
                protected: true
            }
        );
    }

    #[test]
    fn overlapping_pending_requests_go_to_the_coordinator() {
        let r = rules();
        let s = slot(at(3, 20, 9, 0), at(3, 20, 10, 0));
        let existing = [held(3, 0, s.start, s.end, Status::Pending)];
        assert_eq!(
            decide(&r, &r.rooms[0], &r.tiers[3], s, &existing, now()),
            Decision::Pending { conflicts: vec![3] }
        );
    }

    #[test]
    fn approval_displaces_lower_tiers_and_respects_protection_unless_forced() {
        let r = rules();
        let far = [held(7, 2, at(3, 20, 9, 0), at(3, 20, 10, 0), Status::Confirmed)];
        assert_eq!(approval(&r, 0, &far, false, now()), Ok(vec![7]));
        assert_eq!(approval(&r, 2, &far, false, now()).unwrap_err().code, "busy");
        let near = [held(8, 2, at(2, 27, 9, 0), at(2, 27, 10, 0), Status::Confirmed)];
        assert_eq!(approval(&r, 0, &near, false, now()).unwrap_err().code, "protected");
        assert_eq!(approval(&r, 0, &near, true, now()), Ok(vec![8]));
    }

    #[test]
    fn alternatives_are_the_nearest_later_then_the_same_time_on_the_following_days() {
        let r = rules();
        // Monday 2 March: 10.00–11.00 taken, 10.00–12.00 wanted. Before it nothing fits (08.00
        // would end at 10.00 with its buffer until 10.15); 11.15 is the nearest later start.
        let wanted = slot(at(3, 2, 10, 0), at(3, 2, 12, 0));
        let existing = [held(1, 0, at(3, 2, 10, 0), at(3, 2, 11, 0), Status::Confirmed)];
        let alts = alternatives(&r, &r.rooms[0], &r.tiers[2], wanted, 10, &existing, now());
        assert_eq!(
            alts,
            vec![
                slot(at(3, 2, 11, 15), at(3, 2, 13, 15)),
                slot(at(3, 3, 10, 0), at(3, 3, 12, 0)),
                slot(at(3, 4, 10, 0), at(3, 4, 12, 0)),
                slot(at(3, 5, 10, 0), at(3, 5, 12, 0)),
                slot(at(3, 6, 10, 0), at(3, 6, 12, 0)),
            ]
        );
    }

    #[test]
    fn alternatives_offer_the_nearer_of_earlier_and_later_first() {
        let r = rules();
        let wanted = slot(at(3, 2, 12, 0), at(3, 2, 14, 0));
        let existing = [held(1, 0, at(3, 2, 12, 0), at(3, 2, 13, 0), Status::Confirmed)];
        let alts = alternatives(&r, &r.rooms[0], &r.tiers[2], wanted, 10, &existing, now());
        // 13.15 is 75 minutes away, 09.45 (its buffer ends at 12.00) 135 minutes.
        assert_eq!(alts[0], slot(at(3, 2, 13, 15), at(3, 2, 15, 15)));
        assert_eq!(alts[1], slot(at(3, 2, 9, 45), at(3, 2, 11, 45)));
        assert_eq!(alts[2], slot(at(3, 3, 12, 0), at(3, 3, 14, 0)));
        assert_eq!(alts.len(), 5);
    }

    #[test]
    fn alternatives_then_take_any_nearest_slot_that_overlaps_none_offered() {
        let mut r = rules();
        // The horizon ends on Tuesday 3 March: one following day only.
        r.tiers[2].horizon_days = 11;
        let wanted = slot(at(3, 2, 12, 0), at(3, 2, 14, 0));
        let existing = [held(1, 0, at(3, 2, 10, 0), at(3, 2, 15, 0), Status::Confirmed)];
        let alts = alternatives(&r, &r.rooms[0], &r.tiers[2], wanted, 10, &existing, now());
        assert_eq!(
            alts,
            vec![
                slot(at(3, 2, 15, 15), at(3, 2, 17, 15)),
                slot(at(3, 3, 12, 0), at(3, 3, 14, 0)),
                slot(at(3, 2, 17, 15), at(3, 2, 19, 15)),
                slot(at(3, 3, 8, 0), at(3, 3, 10, 0)),
                slot(at(3, 3, 10, 0), at(3, 3, 12, 0)),
            ]
        );
        for (i, a) in alts.iter().enumerate() {
            assert!(alts[i + 1..].iter().all(|b| !slots_overlap(*a, *b)));
        }
    }

    #[test]
    fn alternatives_skip_closed_days() {
        let r = rules();
        // Friday 27 March 2026, the whole day taken: next are Monday 30 March, not the weekend.
        let wanted = slot(at(3, 27, 8, 0), at(3, 27, 21, 0));
        let existing = [held(1, 0, at(3, 27, 8, 0), at(3, 27, 21, 0), Status::Confirmed)];
        let mut r2 = r.clone();
        r2.tiers[2].max_minutes = 13 * 60;
        let alts = alternatives(&r2, &r2.rooms[0], &r2.tiers[2], wanted, 10, &existing, now());
        assert_eq!(alts[0], slot(at(3, 30, 8, 0), at(3, 30, 21, 0)));
        assert_eq!(alts[1], slot(at(3, 31, 8, 0), at(3, 31, 21, 0)));
        // 2 April is skjærtorsdag.
        assert!(alts
            .iter()
            .all(|a| local(a.start).date_naive() != NaiveDate::from_ymd_opt(2026, 4, 2).unwrap()));
    }

    #[test]
    fn a_hold_is_busy_for_its_tier_and_below_and_a_conflict_above() {
        let r = rules();
        let room = &r.rooms[0];
        let slot = Slot {
            start: at(3, 2, 10, 0),
            end: at(3, 2, 11, 0),
        };
        // A partner's hold, well inside the protection window: holds are never firm.
        let existing = [held(7, 2, slot.start, slot.end, Status::Held)];
        for (tier, busy) in [(2, true), (3, true), (0, false)] {
            let d = decide(&r, room, &r.tiers[tier], slot, &existing, at(3, 1, 9, 0));
            if busy {
                assert_eq!(
                    d,
                    Decision::Busy {
                        held_by: vec![7],
                        protected: false
                    }
                );
            } else {
                assert_eq!(d, Decision::Pending { conflicts: vec![7] });
            }
        }
    }
}
