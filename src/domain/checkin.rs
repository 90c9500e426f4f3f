//! Check-in and no-show release (DESIGN.md §4.8), for tiers with `check_in = true`: the
//! contact checks in from `check_in.opens_minutes_before` the start until
//! `check_in.release_minutes` after it; a confirmed booking nobody checked in by then is due
//! for release while it has not ended.

use chrono::{DateTime, Duration, Utc};

use super::rules::CheckInRules;
use super::time::format_datetime;
use super::{Booking, DomainError, Rules, Status};

/// When a booking can be checked in: from `opens` until (not including) `closes`, the release
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
}

/// The check-in window of a booking starting at `start`.
pub fn window(rules: &CheckInRules, start: DateTime<Utc>) -> Window {
    Window {
        opens: start - Duration::minutes(rules.opens_minutes_before),
        closes: start + Duration::minutes(rules.release_minutes),
    }
}

/// Whether the bookings of `b`'s organisation need a check-in (its tier has `check_in`).
pub fn required(rules: &Rules, b: &Booking) -> bool {
    rules.tier_of_org(&b.org).is_some_and(|t| t.check_in)
}

/// Where a booking stands with check-in at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckIn {
    /// Its tier needs no check-in.
    NotRequired,
    /// Not a confirmed booking (pending, cancelled, released, …).
    NotConfirmed,
    /// Checked in at this time.
    CheckedIn(DateTime<Utc>),
    /// The window opens later.
    NotYet(Window),
    /// The window is open now.
    Open(Window),
    /// The window has closed (the release time has come).
    Closed(Window),
}

impl CheckIn {
    /// Whether a «Sjekk inn» button belongs on the page now.
    pub fn is_open(self) -> bool {
        matches!(self, CheckIn::Open(_))
    }
}

/// Where booking `b` stands with check-in at `now`.
pub fn state(rules: &Rules, b: &Booking, now: DateTime<Utc>) -> CheckIn {
    if !required(rules, b) {
        return CheckIn::NotRequired;
    }
    if b.status != Status::Confirmed {
        return CheckIn::NotConfirmed;
    }
    if let Some(at) = b.checked_in_at {
        return CheckIn::CheckedIn(at);
    }
    let w = window(&rules.check_in, b.start);
    if now < w.opens {
        CheckIn::NotYet(w)
    } else if now < w.closes {
        CheckIn::Open(w)
    } else {
        CheckIn::Closed(w)
    }
}

/// Why `b` cannot be checked in at `now`, or `None` when it can (or already is: checking in
/// twice is no error). Codes: `check_in_not_required`, `check_in_closed`, `invalid_state`.
pub fn refusal(rules: &Rules, b: &Booking, now: DateTime<Utc>) -> Option<DomainError> {
    match state(rules, b, now) {
        CheckIn::Open(_) | CheckIn::CheckedIn(_) => None,
        CheckIn::NotRequired => Some(DomainError::new(
            "check_in_not_required",
            "Denne bookingen trenger ikke innsjekking.",
        )),
        CheckIn::NotConfirmed => Some(DomainError::new(
            "invalid_state",
            format!("Booking {} er {} og kan ikke sjekkes inn.", b.id, b.status.norwegian()),
        )),
        CheckIn::NotYet(w) => Some(DomainError::new(
            "check_in_closed",
            format!(
                "Innsjekkingen er ikke åpnet ennå. Den åpner {} og er åpen til {}.",
                format_datetime(w.opens),
                format_datetime(w.closes)
            ),
        )),
        CheckIn::Closed(w) => Some(DomainError::new(
            "check_in_closed",
            format!(
                "Innsjekkingen stengte {}, {} minutter etter start.",
                format_datetime(w.closes),
                rules.check_in.release_minutes
            ),
        )),
    }
}

/// Whether `b` is due for release as a no-show at `now`: confirmed, of a tier with check-in,
/// not checked in, the release time reached, and not yet ended.
pub fn due_for_release(rules: &Rules, b: &Booking, now: DateTime<Utc>) -> bool {
    b.end > now && matches!(state(rules, b, now), CheckIn::Closed(_))
}

/// The audit line's and the mail's reason for a release.
pub fn release_reason(rules: &CheckInRules) -> String {
    format!(
        "Ikke sjekket inn innen {} minutter etter start: rommet er frigitt.",
        rules.release_minutes
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixtures;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).single().expect("a time")
    }

    fn rules(check_in: bool) -> Rules {
        let mut r = fixtures::rules();
        for t in &mut r.tiers {
            t.check_in = check_in;
        }
        r
    }

    fn booking(rules: &Rules) -> Booking {
        Booking {
            id: 7,
            room: "borgertun".into(),
            start: at(9, 0),
            end: at(11, 0),
            blocked_until: at(11, 15),
            title: "Møte".into(),
            description: None,
            public: true,
            attendees: 10,
            org: rules.organisations[0].key.clone(),
            contact_name: "Kari".into(),
            contact_email: "kari@example.no".into(),
            status: Status::Confirmed,
            status_reason: None,
            sequence: 0,
            created_at: at(8, 0),
            updated_at: at(8, 0),
            activity: None,
            attendance: None,
            series: None,
            held_until: None,
            checked_in_at: None,
        }
    }

    #[test]
    fn the_window_runs_from_before_the_start_to_the_release_time() {
        let w = window(&CheckInRules::default(), at(9, 0));
        assert_eq!(w.opens, at(8, 45));
        assert_eq!(w.closes, at(9, 20));
    }

    #[test]
    fn check_in_is_open_from_the_first_minute_to_just_before_the_release() {
        let r = rules(true);
        let b = booking(&r);
        assert!(matches!(state(&r, &b, at(8, 44)), CheckIn::NotYet(_)));
        assert!(state(&r, &b, at(8, 45)).is_open());
        assert!(state(&r, &b, at(9, 19)).is_open());
        assert!(matches!(state(&r, &b, at(9, 20)), CheckIn::Closed(_)));
        assert_eq!(refusal(&r, &b, at(9, 0)), None);
        let early = refusal(&r, &b, at(8, 0)).expect("refused");
        assert_eq!(early.code, "check_in_closed");
        assert!(early.message.contains("kl. 09.45"), "{}", early.message);
        let late = refusal(&r, &b, at(9, 20)).expect("refused");
        assert_eq!(late.code, "check_in_closed");
        assert!(late.message.contains("stengte"), "{}", late.message);
    }

    #[test]
    fn a_tier_without_check_in_is_never_checked_in_nor_released() {
        let r = rules(false);
        let b = booking(&r);
        assert_eq!(state(&r, &b, at(9, 0)), CheckIn::NotRequired);
        assert_eq!(refusal(&r, &b, at(9, 0)).map(|e| e.code), Some("check_in_not_required"));
        assert!(!due_for_release(&r, &b, at(9, 30)));
    }

    #[test]
    fn checking_in_twice_is_no_error() {
        let r = rules(true);
        let mut b = booking(&r);
        b.checked_in_at = Some(at(8, 50));
        assert_eq!(state(&r, &b, at(9, 0)), CheckIn::CheckedIn(at(8, 50)));
        assert_eq!(refusal(&r, &b, at(10, 0)), None);
    }

    #[test]
    fn only_a_confirmed_booking_is_checked_in() {
        let r = rules(true);
        let mut b = booking(&r);
        b.status = Status::Cancelled;
        assert_eq!(refusal(&r, &b, at(9, 0)).map(|e| e.code), Some("invalid_state"));
        // Checked in, then cancelled: no longer checked in.
        b.checked_in_at = Some(at(8, 50));
        assert_eq!(state(&r, &b, at(9, 0)), CheckIn::NotConfirmed);
    }

    #[test]
    fn due_for_release_from_the_release_time_until_the_end() {
        let r = rules(true);
        let mut b = booking(&r);
        assert!(!due_for_release(&r, &b, at(9, 19)));
        assert!(due_for_release(&r, &b, at(9, 20)));
        assert!(due_for_release(&r, &b, at(10, 59)));
        assert!(!due_for_release(&r, &b, at(11, 0)));
        b.checked_in_at = Some(at(9, 5));
        assert!(!due_for_release(&r, &b, at(9, 30)));
        b.checked_in_at = None;
        b.status = Status::Pending;
        assert!(!due_for_release(&r, &b, at(9, 30)));
        b.status = Status::NoShow;
        assert!(!due_for_release(&r, &b, at(9, 30)));
    }

    #[test]
    fn the_release_reason_names_the_minutes() {
        assert_eq!(
            release_reason(&CheckInRules::default()),
            "Ikke sjekket inn innen 20 minutter etter start: rommet er frigitt."
        );
    }
}
