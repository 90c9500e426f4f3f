//! The fairness ledger: how often, and for how many hours, an organisation has lost the room
//! in the last 12 months. What counts:
//!
//! - a displacement: a confirmed booking that became `displaced` (an override or an approval
//!   took its slot);
//! - a refusal in a conflict: a pending request that the coordinator `rejected` while it
//!   competed with a booking or request of a higher tier (one in the same room, overlapping
//!   it with buffers, still pending or confirmed when the request was refused).
//!
//! Each counts once, with the booking's length, at the time of the change (its audit line),
//! inside the rolling window of 12 months back from now.

use std::collections::BTreeMap;

use chrono::{DateTime, Months, Utc};

use super::Rules;

/// How a booking was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    Displaced,
    Rejected,
}

/// One change from the history, as the store reads it: the booking's organisation and length,
/// when it changed, and (for a rejection) the organisations of what it competed with then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossEvent {
    pub booking: i64,
    pub org: String,
    pub loss: Loss,
    pub at: DateTime<Utc>,
    pub minutes: i64,
    pub rivals: Vec<String>,
}

/// The ledger's window: the 12 months up to `now`.
pub const WINDOW_MONTHS: u32 = 12;

/// `[now − 12 months, now]`.
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now.checked_sub_months(Months::new(WINDOW_MONTHS)).unwrap_or(now), now)
}

/// Whether `e` counts: every displacement; a rejection only when a rival had a higher tier.
pub fn counts(rules: &Rules, e: &LossEvent) -> bool {
    match e.loss {
        Loss::Displaced => true,
        Loss::Rejected => {
            let rank = rules.rank_of_org(&e.org);
            e.rivals.iter().any(|r| rules.rank_of_org(r) < rank)
        }
    }
}

/// One organisation's losses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub displaced: i64,
    pub displaced_minutes: i64,
    pub refused: i64,
    pub refused_minutes: i64,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.displaced == 0 && self.refused == 0
    }
}

/// The counted losses per organisation key, of the events in `[from, to]`.
pub fn ledger(rules: &Rules, events: &[LossEvent], from: DateTime<Utc>, to: DateTime<Utc>) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in events {
        if e.at < from || e.at > to || !counts(rules, e) || !seen.insert((e.booking, e.loss as u8)) {
            continue;
        }
        let t = out.entry(e.org.clone()).or_default();
        match e.loss {
            Loss::Displaced => {
                t.displaced += 1;
                t.displaced_minutes += e.minutes;
            }
            Loss::Rejected => {
                t.refused += 1;
                t.refused_minutes += e.minutes;
            }
        }
    }
    out
}

/// «7 timer», «1 time», «1,5 timer».
pub fn hours_text(minutes: i64) -> String {
    let h = minutes as f64 / 60.0;
    let s = format!("{h:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).replace('.', ",");
    if minutes == 60 {
        "1 time".into()
    } else {
        format!("{s} timer")
    }
}

fn times(n: i64) -> String {
    if n == 1 {
        "1 gang".into()
    } else {
        format!("{n} ganger")
    }
}

/// «UiB er flyttet 3 ganger, 7 timer, siste 12 måneder» (and «avslått …» for refusals);
/// nothing when there is nothing to tell.
pub fn text(name: &str, t: &Tally) -> Option<String> {
    let mut parts = Vec::new();
    if t.displaced > 0 {
        parts.push(format!(
            "flyttet {}, {}",
            times(t.displaced),
            hours_text(t.displaced_minutes)
        ));
    }
    if t.refused > 0 {
        parts.push(format!(
            "avslått {}, {}",
            times(t.refused),
            hours_text(t.refused_minutes)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "{name} er {}, siste {WINDOW_MONTHS} måneder",
        parts.join(", og ")
    ))
}

/// Of two same-tier requests, whether `a` (created at `a_created`, its organisation with
/// `a_minutes` displaced) goes before `b`: more displaced hours first, then the earlier
/// request.
pub fn goes_first(a_minutes: i64, a_created: DateTime<Utc>, b_minutes: i64, b_created: DateTime<Utc>) -> bool {
    a_minutes > b_minutes || (a_minutes == b_minutes && a_created <= b_created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_names_counts_and_hours() {
        let t = Tally {
            displaced: 3,
            displaced_minutes: 420,
            ..Default::default()
        };
        assert_eq!(
            text("UiB", &t).unwrap(),
            "UiB er flyttet 3 ganger, 7 timer, siste 12 måneder"
        );
        let t = Tally {
            displaced: 1,
            displaced_minutes: 90,
            refused: 1,
            refused_minutes: 60,
        };
        assert_eq!(
            text("HVL", &t).unwrap(),
            "HVL er flyttet 1 gang, 1,5 timer, og avslått 1 gang, 1 time, siste 12 måneder"
        );
        assert_eq!(text("X", &Tally::default()), None);
    }

    #[test]
    fn window_is_twelve_months() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert_eq!(window(now).0, Utc.with_ymd_and_hms(2025, 12, 1, 12, 0, 0).unwrap());
    }

    #[test]
    fn more_displaced_hours_go_first_then_the_earlier() {
        let early = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let late = early + chrono::Duration::hours(1);
        assert!(goes_first(120, late, 60, early));
        assert!(!goes_first(60, early, 120, late));
        assert!(goes_first(0, early, 0, late));
        assert!(!goes_first(0, late, 0, early));
    }
}
