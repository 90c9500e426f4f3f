//! The waitlist (DESIGN.md §4.8): who waits for a time that was busy, in which order a freed
//! slot is offered, and how long a hold lasts.
//!
//! - A request refused as busy may join the waitlist for exactly that time.
//! - When a slot frees, the waiting entries whose time now fits every rule are offered it in
//!   order: highest tier first, then earliest joined. The first gets a **hold**: a booking of
//!   status `held` that keeps the slot like a confirmed booking (the database refuses anything
//!   overlapping it) until `held_until`.
//! - A hold lasts `waitlist.hold_hours`, and ends at the latest
//!   `waitlist.hold_ends_before_start_hours` before the start; a slot that frees later than
//!   that is not held (it is simply free).
//! - Confirming a hold makes the booking through the normal decision; declining it, or letting
//!   it run out, passes the slot to the next entry.
//! - An entry whose time has started expires.

use chrono::{DateTime, Duration, Utc};

use super::booking::Activity;
use super::error::DomainError;
use super::rules::WaitlistRules;

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryStatus {
    /// In line.
    Waiting,
    /// Offered a hold, not yet answered.
    Held,
    /// The hold was confirmed: the booking is made.
    Booked,
    /// The holder said no.
    Declined,
    /// The hold ran out unanswered.
    Lapsed,
    /// The requester left the list.
    Left,
    /// Its time started while it waited.
    Expired,
    /// The hold was taken back for a higher tier's booking.
    Withdrawn,
}

impl EntryStatus {
    pub const ALL: [EntryStatus; 8] = [
        EntryStatus::Waiting,
        EntryStatus::Held,
        EntryStatus::Booked,
        EntryStatus::Declined,
        EntryStatus::Lapsed,
        EntryStatus::Left,
        EntryStatus::Expired,
        EntryStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "waiting",
            EntryStatus::Held => "held",
            EntryStatus::Booked => "booked",
            EntryStatus::Declined => "declined",
            EntryStatus::Lapsed => "lapsed",
            EntryStatus::Left => "left",
            EntryStatus::Expired => "expired",
            EntryStatus::Withdrawn => "withdrawn",
        }
    }

    /// The words in the user interface.
    pub fn norwegian(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "på venteliste",
            EntryStatus::Held => "holdt for deg",
            EntryStatus::Booked => "booket",
            EntryStatus::Declined => "avslått av deg",
            EntryStatus::Lapsed => "holdet gikk ut",
            EntryStatus::Left => "forlatt",
            EntryStatus::Expired => "utløpt",
            EntryStatus::Withdrawn => "trukket tilbake",
        }
    }

    pub fn parse(s: &str) -> Result<EntryStatus, DomainError> {
        EntryStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| DomainError::new("invalid_status", format!("Ukjent status «{s}» på ventelisten.")))
    }

    /// Still in line, or holding the slot.
    pub fn is_open(self) -> bool {
        matches!(self, EntryStatus::Waiting | EntryStatus::Held)
    }
}

/// A place on the waitlist, as stored: the request (the booking it would become) and where it
/// is in its life.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub room: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub org: String,
    /// The contact's account; `None` once the account is gone.
    pub contact_user_id: Option<i64>,
    pub contact_name: String,
    pub contact_email: String,
    pub title: String,
    pub description: Option<String>,
    pub public: bool,
    pub attendees: i64,
    pub activity: Option<Activity>,
    pub joined_at: DateTime<Utc>,
    pub status: EntryStatus,
    /// The hold it got (and, once confirmed, the booking).
    pub booking_id: Option<i64>,
    pub held_at: Option<DateTime<Utc>>,
}

impl Entry {
    /// Does the entry's time overlap `[from, to)`?
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.start < to && from < self.end
    }
}

/// The order in which a freed slot is offered: tier rank (lower first), then when the entry
/// joined, then its id.
pub fn queue_key(rank: usize, e: &Entry) -> (usize, DateTime<Utc>, i64) {
    (rank, e.joined_at, e.id)
}

/// Sort `entries` into the order a freed slot is offered in.
pub fn in_order(entries: &mut [Entry], rank_of: impl Fn(&str) -> usize) {
    entries.sort_by_key(|e| queue_key(rank_of(&e.org), e));
}

/// An entry's place in line: 1 + the waiting entries of the same room, for a time that
/// overlaps its own, that come before it in the order. `others` may include the entry itself.
pub fn place(entry: &Entry, others: &[Entry], rank_of: impl Fn(&str) -> usize) -> usize {
    let mine = queue_key(rank_of(&entry.org), entry);
    1 + others
        .iter()
        .filter(|o| {
            o.id != entry.id
                && o.room == entry.room
                && o.status == EntryStatus::Waiting
                && o.overlaps(entry.start, entry.end)
                && queue_key(rank_of(&o.org), o) < mine
        })
        .count()
}

/// When a hold given at `now` for a booking starting at `start` ends: `hold_hours` from now,
/// but no later than `hold_ends_before_start_hours` before the start. `None` when that leaves
/// no time at all (the slot is then simply free).
pub fn hold_until(rules: &WaitlistRules, now: DateTime<Utc>, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let until =
        (now + Duration::hours(rules.hold_hours)).min(start - Duration::hours(rules.hold_ends_before_start_hours));
    (until > now).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, h, 0, 0).unwrap()
    }

    fn entry(id: i64, org: &str, joined: DateTime<Utc>, start: u32, end: u32) -> Entry {
        Entry {
            id,
            room: "borgertun".into(),
            start: at(start),
            end: at(end),
            org: org.into(),
            contact_user_id: None,
            contact_name: "Kari".into(),
            contact_email: "kari@uib.no".into(),
            title: "Møte".into(),
            description: None,
            public: true,
            attendees: 5,
            activity: None,
            joined_at: joined,
            status: EntryStatus::Waiting,
            booking_id: None,
            held_at: None,
        }
    }

    fn rank(org: &str) -> usize {
        match org {
            "beho" => 0,
            "uib" => 2,
            _ => 3,
        }
    }

    #[test]
    fn higher_tier_first_then_earliest() {
        let mut list = vec![
            entry(1, "skil", at(1), 10, 12),
            entry(2, "uib", at(3), 10, 12),
            entry(3, "uib", at(2), 10, 12),
            entry(4, "beho", at(4), 10, 12),
        ];
        in_order(&mut list, rank);
        assert_eq!(list.iter().map(|e| e.id).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
        assert_eq!(place(&list[3], &list, rank), 4);
        assert_eq!(place(&list[0], &list, rank), 1);
        // Only overlapping, waiting entries count.
        let mut other_time = entry(5, "beho", at(0), 12, 13);
        assert_eq!(place(&list[1], &[list[0].clone(), other_time.clone()], rank), 2);
        other_time.start = at(11);
        let mut left = other_time.clone();
        left.status = EntryStatus::Left;
        assert_eq!(place(&list[1], &[left], rank), 1);
    }

    #[test]
    fn holds_end_before_the_start() {
        let r = WaitlistRules::default();
        // Far ahead: 24 hours.
        assert_eq!(
            hold_until(&r, at(0), at(0) + Duration::days(5)),
            Some(at(0) + Duration::hours(24))
        );
        // Starting in 10 hours: until 2 hours before.
        assert_eq!(hold_until(&r, at(0), at(10)), Some(at(8)));
        // Starting in 2 hours or less: no hold.
        assert_eq!(hold_until(&r, at(0), at(2)), None);
        assert_eq!(hold_until(&r, at(5), at(2)), None);
    }

    #[test]
    fn statuses_parse() {
        for s in EntryStatus::ALL {
            assert_eq!(EntryStatus::parse(s.as_str()), Ok(s));
        }
        assert!(EntryStatus::parse("done").is_err());
        assert!(EntryStatus::Waiting.is_open() && EntryStatus::Held.is_open() && !EntryStatus::Booked.is_open());
    }
}
