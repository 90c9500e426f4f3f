//! Personal data over time: when a booking's personal data is anonymised, what takes its
//! place, and when the daily retention round is due. Pure: the store does the anonymising.
//!
//! What retention anonymises (after `privacy.retention_months` past a booking's end), and what
//! it keeps, is decided here once and documented in docs/security.md («Personal data»):
//! - anonymised: the title, the description, the contact person's name and address (and the
//!   link to their account), the status reason, the attendance's «utbytte og erfaringer» and
//!   who registered it; in the audit log of that booking, who acted and why; the messages about
//!   the booking in the outbox are deleted;
//! - kept: the room, the organisation, the times, the status, the number of attendees, public
//!   or private, the activity (kind, themes, goal areas, measures, expected participants) and
//!   the actual participants per group: every figure of the report.

use chrono::{DateTime, Months, NaiveDate, Utc};

use super::time::local;

/// What takes the place of an anonymised title and contact name.
pub const ANONYMISED: &str = "Anonymisert";
/// What takes the place of a person in the audit log («who did it») and in attendance.
pub const ANONYMISED_ACTOR: &str = "anonymisert";
/// What replaces a person's name or address found inside a text during an erasure.
pub const REDACTED: &str = "[anonymisert]";

/// The default retention: two years after a booking's end.
pub const DEFAULT_RETENTION_MONTHS: u32 = 24;

/// Bookings that ended before this instant are anonymised: `months` calendar months before
/// `now` (the same day of the month, or the month's last day).
pub fn retention_cutoff(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The daily retention round: due once per Oslo calendar day, read from the service's clock
/// (not from the timer that wakes the worker), so a clock that jumps ahead makes it due.
#[derive(Debug, Default, Clone)]
pub struct DailyRound {
    last: Option<NaiveDate>,
}

impl DailyRound {
    /// Whether a round is due at `now`: none has run yet on this Oslo day (or a later one).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        let today = local(now).date_naive();
        self.last.is_none_or(|d| d < today)
    }

    /// A round ran (successfully) at `now`; one that failed is tried again at the next wake.
    pub fn ran(&mut self, now: DateTime<Utc>) {
        self.last = Some(local(now).date_naive());
    }
}

/// Whether a name is long enough to look for inside free text during an erasure (a very short
/// one would match parts of ordinary words).
pub fn searchable_name(name: &str) -> bool {
    name.trim().chars().count() >= 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cutoff_is_calendar_months_back() {
        let now = Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap();
        assert_eq!(
            retention_cutoff(now, 24),
            Utc.with_ymd_and_hms(2024, 3, 31, 12, 0, 0).unwrap()
        );
        assert_eq!(
            retention_cutoff(now, 1),
            Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap(),
            "the month's last day"
        );
        assert_eq!(retention_cutoff(DateTime::<Utc>::MIN_UTC, 1), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn the_round_is_due_once_a_day_by_the_clock() {
        let mut round = DailyRound::default();
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        assert!(round.due(t));
        assert!(round.due(t), "until it has run");
        round.ran(t);
        assert!(!round.due(t + chrono::Duration::hours(1)));
        assert!(!round.due(t - chrono::Duration::days(3)), "a clock set back waits");
        assert!(round.due(t + chrono::Duration::hours(14)), "the next Oslo day");
        round.ran(t + chrono::Duration::days(30));
        assert!(!round.due(t + chrono::Duration::days(30)));
        assert!(round.due(t + chrono::Duration::days(31)));
    }

    #[test]
    fn short_names_are_not_searched_for() {
        assert!(!searchable_name(" Al "));
        assert!(searchable_name("Kari Nordmann"));
    }
}
