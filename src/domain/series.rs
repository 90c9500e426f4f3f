//! A series of bookings as stored, and what became of each occurrence: the words every door
//! (API, pages, mail) uses for them.

use chrono::{DateTime, Utc};

use super::booking::{Activity, Booking, Status, User};
use super::error::DomainError;
use super::policy::Slot;
use super::rules::SeriesLimits;
use super::time::{format_date, format_time, local};

/// A stored series: the request as it was made (the pattern and the fields every occurrence
/// shares) and its current state.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: i64,
    pub room: String,
    pub org: String,
    /// The normalised `RRULE` value (see [`super::recurrence::Recurrence::to_rrule`]).
    pub rrule: String,
    /// The first occurrence's time; the pattern's `DTSTART`.
    pub first: Slot,
    pub title: String,
    pub description: Option<String>,
    pub public: bool,
    pub attendees: i64,
    pub contact_name: String,
    pub contact_email: String,
    pub activity: Option<Activity>,
    pub cancelled: bool,
    /// iCalendar SEQUENCE of the series' invitation.
    pub sequence: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Series {
    /// The series' fields as a booking at `slot` with `status` (no id): what its calendar
    /// event and its occurrences' messages are made from. `occurrence`: the recurrence id,
    /// for one occurrence; `None` for the series itself.
    pub fn as_booking(&self, slot: Slot, status: Status, occurrence: Option<DateTime<Utc>>) -> Booking {
        Booking {
            id: 0,
            room: self.room.clone(),
            start: slot.start,
            end: slot.end,
            blocked_until: slot.end,
            title: self.title.clone(),
            description: self.description.clone(),
            public: self.public,
            attendees: self.attendees,
            org: self.org.clone(),
            contact_name: self.contact_name.clone(),
            contact_email: self.contact_email.clone(),
            status,
            status_reason: None,
            sequence: self.sequence,
            created_at: self.created_at,
            updated_at: self.updated_at,
            activity: self.activity.clone(),
            attendance: None,
            series: occurrence.map(|recurrence_id| super::booking::SeriesLink {
                series_id: self.id,
                recurrence_id,
            }),
            held_until: None,
            checked_in_at: None,
        }
    }

    /// The wall-clock length of an occurrence.
    pub fn length(&self) -> chrono::Duration {
        self.first.end - self.first.start
    }

    /// Whether `user` may change or cancel the series: its organisation's users, and
    /// coordinators (as for a single booking).
    pub fn managed_by(&self, user: &User) -> bool {
        user.role.is_coordinator() || user.org == self.org
    }

    /// The pattern in plain Norwegian: «hver tirsdag, 10 ganger».
    pub fn pattern_words(&self) -> String {
        super::recurrence::parse(&self.rrule)
            .map(|r| r.describe(local(self.first.start).date_naive()))
            .unwrap_or_else(|_| self.rrule.clone())
    }
}

/// A series and what became of each of its occurrences.
#[derive(Debug, Clone)]
pub struct SeriesDetail {
    pub series: Series,
    pub occurrences: Vec<OccurrenceOutcome>,
}

impl SeriesDetail {
    /// Its bookings' ids, in order.
    pub fn booking_ids(&self) -> Vec<i64> {
        self.occurrences.iter().filter_map(|o| o.booking_id).collect()
    }
}

/// Where an occurrence stands in its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccurrenceState {
    /// It has a booking (whose status says the rest).
    Booked,
    /// Beyond the requester's horizon: holds nothing until the daily job books it.
    Planned,
    /// On a closed day.
    Skipped,
    /// Busy, or refused by a rule, when it was decided.
    Declined,
    /// Taken back before it was booked (a planned occurrence of a cancelled part).
    Cancelled,
}

impl OccurrenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            OccurrenceState::Booked => "booked",
            OccurrenceState::Planned => "planned",
            OccurrenceState::Skipped => "skipped",
            OccurrenceState::Declined => "declined",
            OccurrenceState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "booked" => OccurrenceState::Booked,
            "planned" => OccurrenceState::Planned,
            "skipped" => OccurrenceState::Skipped,
            "declined" => OccurrenceState::Declined,
            "cancelled" => OccurrenceState::Cancelled,
            _ => return None,
        })
    }
}

/// One occurrence of a stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesOccurrence {
    /// Its start by the pattern: the `RECURRENCE-ID` calendars know it by.
    pub recurrence_id: DateTime<Utc>,
    /// Its time now (moved occurrences differ from the pattern).
    pub slot: Slot,
    pub state: OccurrenceState,
    pub booking_id: Option<i64>,
    /// Why it was skipped or declined.
    pub code: Option<String>,
    pub message: Option<String>,
}

/// What an occurrence's outcome is called, in the API (`as_str`) and on the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeStatus {
    Confirmed,
    Pending,
    Planned,
    Skipped,
    Declined,
    /// A booked occurrence that was cancelled, rejected or displaced since.
    Cancelled,
    Rejected,
    Displaced,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Confirmed => "confirmed",
            OutcomeStatus::Pending => "pending",
            OutcomeStatus::Planned => "planned",
            OutcomeStatus::Skipped => "skipped",
            OutcomeStatus::Declined => "declined",
            OutcomeStatus::Cancelled => "cancelled",
            OutcomeStatus::Rejected => "rejected",
            OutcomeStatus::Displaced => "displaced",
        }
    }

    /// The word in the user interface.
    pub fn norwegian(self) -> &'static str {
        match self {
            OutcomeStatus::Confirmed => "bekreftet",
            OutcomeStatus::Pending => "til behandling",
            OutcomeStatus::Planned => "planlagt",
            OutcomeStatus::Skipped => "hoppes over",
            OutcomeStatus::Declined => "ikke booket",
            OutcomeStatus::Cancelled => "avlyst",
            OutcomeStatus::Rejected => "avslått",
            OutcomeStatus::Displaced => "fortrengt",
        }
    }

    /// The outcome of a booked occurrence, from its booking's status.
    pub fn of_booking(status: Status) -> Self {
        match status {
            Status::Confirmed => OutcomeStatus::Confirmed,
            Status::Pending | Status::Held => OutcomeStatus::Pending,
            // Released unused: the occurrence is out of the series' calendar as a cancelled one.
            Status::Cancelled | Status::Lapsed | Status::NoShow => OutcomeStatus::Cancelled,
            Status::Rejected => OutcomeStatus::Rejected,
            Status::Displaced => OutcomeStatus::Displaced,
        }
    }

    /// Whether an occurrence with this outcome is in the series' calendar event: it holds the
    /// room, waits for the coordinator, or is planned. The others are its `EXDATE`s.
    pub fn in_calendar(self) -> bool {
        matches!(
            self,
            OutcomeStatus::Confirmed | OutcomeStatus::Pending | OutcomeStatus::Planned
        )
    }
}

/// What became of one occurrence: when it is, its outcome, why (for skipped and declined),
/// its booking, and free alternatives when it was busy.
#[derive(Debug, Clone, PartialEq)]
pub struct OccurrenceOutcome {
    pub recurrence_id: DateTime<Utc>,
    pub slot: Slot,
    pub status: OutcomeStatus,
    pub error: Option<DomainError>,
    pub booking_id: Option<i64>,
    pub alternatives: Vec<Slot>,
}

impl OccurrenceOutcome {
    /// The outcome of a stored occurrence, given its booking when it has one.
    pub fn of_stored(o: &SeriesOccurrence, booking: Option<&Booking>) -> Self {
        let status = match (o.state, booking) {
            (OccurrenceState::Booked, Some(b)) => OutcomeStatus::of_booking(b.status),
            (OccurrenceState::Booked, None) => OutcomeStatus::Cancelled,
            (OccurrenceState::Planned, _) => OutcomeStatus::Planned,
            (OccurrenceState::Skipped, _) => OutcomeStatus::Skipped,
            (OccurrenceState::Declined, _) => OutcomeStatus::Declined,
            (OccurrenceState::Cancelled, _) => OutcomeStatus::Cancelled,
        };
        let slot = booking
            .map(|b| Slot {
                start: b.start,
                end: b.end,
            })
            .unwrap_or(o.slot);
        let error = match (&o.code, &o.message) {
            (Some(code), Some(message)) => Some(DomainError::new(stored_code(code), message.clone())),
            _ => None,
        };
        OccurrenceOutcome {
            recurrence_id: o.recurrence_id,
            slot,
            status,
            error,
            booking_id: o.booking_id,
            alternatives: vec![],
        }
    }

    /// The line that tells a person what became of the occurrence, in plain Norwegian:
    /// «tirsdag 14. april 2026: 2. påskedag, hoppes over», «tirsdag 5. mai 2026 kl.
    /// 09.00–11.00: opptatt – ledig kl. 13.00–15.00».
    pub fn describe(&self) -> String {
        let s = local(self.slot.start);
        let e = local(self.slot.end);
        let when = format!(
            "{} kl. {}–{}",
            format_date(s.date_naive()),
            format_time(s.time()),
            format_time(e.time())
        );
        match self.status {
            OutcomeStatus::Skipped => self
                .error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| format!("{}: hoppes over", format_date(s.date_naive()))),
            OutcomeStatus::Declined => {
                let why = self
                    .error
                    .as_ref()
                    .map(|e| {
                        if e.code == "busy" {
                            "opptatt".to_string()
                        } else {
                            e.message.trim_end_matches('.').to_string()
                        }
                    })
                    .unwrap_or_else(|| "ikke booket".into());
                if self.alternatives.is_empty() {
                    format!("{when}: {why}")
                } else {
                    let free: Vec<String> = self
                        .alternatives
                        .iter()
                        .map(|a| alternative_text(self.slot, *a))
                        .collect();
                    format!("{when}: {why} – ledig {}", free.join(", "))
                }
            }
            OutcomeStatus::Planned => format!("{when}: planlagt, bookes når dagen er innenfor bookingvinduet"),
            other => format!("{when}: {}", other.norwegian()),
        }
    }
}

impl OccurrenceOutcome {
    /// Why it was skipped or not booked, without its date and status: «2. påskedag»,
    /// «Tiden er allerede booket».
    pub fn reason(&self) -> Option<String> {
        let e = self.error.as_ref()?;
        let day = format!("{}: ", format_date(local(self.slot.start).date_naive()));
        let text = e.message.strip_prefix(&day).unwrap_or(&e.message);
        let text = text.trim_end_matches('.');
        Some(text.strip_suffix(", hoppes over").unwrap_or(text).to_string())
    }
}

/// How many occurrences of a series have each outcome, and whether the series is (or would
/// be) stored under the limits: at most so many declined, and at most such a share of those
/// not skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutcomeSummary {
    pub confirmed: usize,
    pub pending: usize,
    pub planned: usize,
    pub skipped: usize,
    pub declined: usize,
    /// Booked once, and since cancelled, rejected or displaced.
    pub ended: usize,
    pub accepted: bool,
}

impl OutcomeSummary {
    pub fn of(outcomes: &[OccurrenceOutcome], limits: &SeriesLimits) -> Self {
        let count = |f: &dyn Fn(OutcomeStatus) -> bool| outcomes.iter().filter(|o| f(o.status)).count();
        let mut s = OutcomeSummary {
            confirmed: count(&|s| s == OutcomeStatus::Confirmed),
            pending: count(&|s| s == OutcomeStatus::Pending),
            planned: count(&|s| s == OutcomeStatus::Planned),
            skipped: count(&|s| s == OutcomeStatus::Skipped),
            declined: count(&|s| s == OutcomeStatus::Declined),
            ended: count(&|s| {
                matches!(
                    s,
                    OutcomeStatus::Cancelled | OutcomeStatus::Rejected | OutcomeStatus::Displaced
                )
            }),
            accepted: false,
        };
        s.accepted = super::recurrence::accepted(
            outcomes.len() - s.skipped,
            s.declined,
            limits.max_conflicts,
            limits.max_conflict_percent,
        );
        s
    }

    /// The counts that are not zero, in words: «3 bekreftet», «1 til behandling» …
    pub fn lines(&self) -> Vec<String> {
        [
            (self.confirmed, OutcomeStatus::Confirmed.norwegian()),
            (self.pending, OutcomeStatus::Pending.norwegian()),
            (self.planned, OutcomeStatus::Planned.norwegian()),
            (self.skipped, OutcomeStatus::Skipped.norwegian()),
            (self.declined, OutcomeStatus::Declined.norwegian()),
            (self.ended, "avlyst, avslått eller fortrengt"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect()
    }
}

/// An alternative to `slot`: the time alone on the same day, the date with it otherwise.
fn alternative_text(slot: Slot, alt: Slot) -> String {
    let (s, e) = (local(alt.start), local(alt.end));
    let times = format!("kl. {}–{}", format_time(s.time()), format_time(e.time()));
    if s.date_naive() == local(slot.start).date_naive() {
        times
    } else {
        format!("{} {times}", format_date(s.date_naive()))
    }
}

/// The codes a stored occurrence may carry, as the static strings `DomainError` holds.
fn stored_code(code: &str) -> &'static str {
    const CODES: [&str; 12] = [
        "busy",
        "protected",
        "closed_day",
        "quota_exceeded",
        "outside_opening_hours",
        "beyond_horizon",
        "in_past",
        "over_capacity",
        "too_long",
        "too_short",
        "not_on_slot_grid",
        "measure_not_in_force",
    ];
    CODES.iter().find(|c| **c == code).copied().unwrap_or("declined")
}

/// How the policy check's answer for one occurrence (not the first) is taken: none → decide
/// it; only "beyond the horizon" → planned; anything else → declined with the first problem.
pub enum PolicyVerdict {
    Decide,
    Planned,
    Declined(DomainError),
}

pub fn policy_verdict(problems: Vec<DomainError>) -> PolicyVerdict {
    let beyond = !problems.is_empty();
    match problems.into_iter().find(|p| p.code != "beyond_horizon") {
        Some(first) => PolicyVerdict::Declined(first),
        None if beyond => PolicyVerdict::Planned,
        None => PolicyVerdict::Decide,
    }
}

/// The error an occurrence declined as busy carries.
pub fn busy(protected: bool) -> DomainError {
    if protected {
        DomainError::new(
            "protected",
            "Tiden er allerede booket, og bookingen er så nær at den ikke kan overtas.",
        )
    } else {
        DomainError::new("busy", "Tiden er allerede booket.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at_local;
    use chrono::{NaiveDate, NaiveTime};

    fn slot(d: u32, h: u32) -> Slot {
        let day = NaiveDate::from_ymd_opt(2027, 5, d).unwrap();
        Slot {
            start: at_local(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap(),
            end: at_local(day, NaiveTime::from_hms_opt(h + 2, 0, 0).unwrap()).unwrap(),
        }
    }

    #[test]
    fn a_busy_occurrence_is_described_with_its_alternatives() {
        let o = OccurrenceOutcome {
            recurrence_id: slot(4, 9).start,
            slot: slot(4, 9),
            status: OutcomeStatus::Declined,
            error: Some(busy(false)),
            booking_id: None,
            alternatives: vec![slot(4, 13), slot(5, 9)],
        };
        assert_eq!(
            o.describe(),
            "tirsdag 4. mai 2027 kl. 09.00–11.00: opptatt – ledig kl. 13.00–15.00, onsdag 5. mai 2027 kl. 09.00–11.00"
        );
    }

    #[test]
    fn the_summary_counts_and_applies_the_limits() {
        let o = |status, error: Option<DomainError>| OccurrenceOutcome {
            recurrence_id: slot(4, 9).start,
            slot: slot(4, 9),
            status,
            error,
            booking_id: None,
            alternatives: vec![],
        };
        let limits = SeriesLimits {
            max_conflicts: 4,
            max_conflict_percent: 25,
        };
        let closed = DomainError::new("closed_day", "tirsdag 4. mai 2027: 2. pinsedag, hoppes over.");
        let mut all = vec![
            o(OutcomeStatus::Confirmed, None),
            o(OutcomeStatus::Confirmed, None),
            o(OutcomeStatus::Pending, None),
            o(OutcomeStatus::Skipped, Some(closed)),
            o(OutcomeStatus::Declined, Some(busy(false))),
        ];
        let s = OutcomeSummary::of(&all, &limits);
        assert_eq!(
            (s.confirmed, s.pending, s.skipped, s.declined, s.accepted),
            (2, 1, 1, 1, true)
        );
        assert_eq!(
            s.lines(),
            ["2 bekreftet", "1 til behandling", "1 hoppes over", "1 ikke booket"]
        );
        assert_eq!(all[3].reason().as_deref(), Some("2. pinsedag"));
        assert_eq!(all[4].reason().as_deref(), Some("Tiden er allerede booket"));
        // Two of four decided occurrences busy: more than a quarter.
        all.push(o(OutcomeStatus::Declined, Some(busy(false))));
        assert!(!OutcomeSummary::of(&all, &limits).accepted);
    }

    #[test]
    fn only_the_horizon_makes_an_occurrence_planned() {
        let horizon = DomainError::new("beyond_horizon", "for langt frem");
        let open = DomainError::new("outside_opening_hours", "stengt");
        assert!(matches!(policy_verdict(vec![]), PolicyVerdict::Decide));
        assert!(matches!(policy_verdict(vec![horizon.clone()]), PolicyVerdict::Planned));
        match policy_verdict(vec![horizon, open]) {
            PolicyVerdict::Declined(e) => assert_eq!(e.code, "outside_opening_hours"),
            _ => panic!("declined expected"),
        }
    }
}
