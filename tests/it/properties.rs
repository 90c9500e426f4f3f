//! Property tests of the pure rules: no two confirmed bookings ever overlap, and a refused
//! request always gets valid alternatives that do not overlap each other — the nearest earlier
//! and later the same day, then the same time on the following days, then the nearest of the
//! rest, up to the configured number.

use borgertun::domain::decision::{self, Decision, Held};
use borgertun::domain::holidays::{easter_sunday, holidays};
use borgertun::domain::policy::{self, Slot};
use borgertun::domain::time::{at_local, local};
use borgertun::domain::{Rules, Status};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use proptest::prelude::*;

use crate::common;

fn now() -> DateTime<Utc> {
    at_local(
        NaiveDate::from_ymd_opt(2026, 2, 20).unwrap(),
        NaiveTime::from_hms_opt(12, 7, 0).unwrap(),
    )
    .unwrap()
}

/// The shipped rules with short horizons, so a brute-force search can check completeness.
fn rules() -> Rules {
    let mut r = common::shipped_config().rules;
    for (t, days) in r.tiers.iter_mut().zip([21, 14, 10, 7]) {
        t.horizon_days = days;
    }
    r.alternatives = 3;
    r
}

#[derive(Debug, Clone)]
enum Op {
    Request { day: i64, slot: i64, len: i64, tier: usize },
    Approve { pick: usize, force: bool },
    Cancel { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0i64..12, 0i64..52, 2i64..20, 0usize..4).prop_map(|(day, slot, len, tier)| Op::Request { day, slot, len, tier }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(pick, force)| Op::Approve { pick, force }),
        1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
    ]
}

fn slot_of(day: i64, slot: i64, len: i64) -> Slot {
    let date = local(now()).date_naive() + Duration::days(day);
    let start = at_local(date, NaiveTime::from_hms_opt(8, 0, 0).unwrap()).unwrap() + Duration::minutes(15 * slot);
    Slot {
        start,
        end: start + Duration::minutes(15 * len),
    }
}

fn overlap(room: &borgertun::domain::Room, a: &Held, b: &Held) -> bool {
    let _ = room;
    a.start < b.blocked_until && b.start < a.blocked_until
}

/// Every grid slot of `length` within the horizon that passes policy and is free, found by
/// trying every quarter of an hour of every day, in time order.
fn brute_force_free(r: &Rules, tier: usize, length: Duration, active: &[Held], wanted: Slot) -> Vec<Slot> {
    let room = &r.rooms[0];
    let t = &r.tiers[tier];
    let mut free = Vec::new();
    let first = local(wanted.start).date_naive();
    for d in 0..=(t.horizon_days + 1) {
        let date = first + Duration::days(d);
        for q in 0..(24 * 4) {
            let start = at_local(date, NaiveTime::MIN).unwrap() + Duration::minutes(15 * q);
            let s = Slot {
                start,
                end: start + length,
            };
            if s != wanted
                && policy::check(r, room, t, s, 5, now()).is_empty()
                && active.iter().all(|h| !h.overlaps(room, s))
            {
                free.push(s);
            }
        }
    }
    free
}

fn apart(a: Slot, b: Slot) -> bool {
    a.end <= b.start || b.end <= a.start
}

/// The alternatives the rule asks for, chosen from every free slot: the nearest earlier and the
/// nearest later the same day (the nearer first), then the same time of day on the following
/// days, then the nearest of the rest, never two that overlap, at most `r.alternatives`.
fn expected_alternatives(r: &Rules, free: &[Slot], wanted: Slot) -> Vec<Slot> {
    let day = local(wanted.start).date_naive();
    let on_day: Vec<Slot> = free
        .iter()
        .copied()
        .filter(|s| local(s.start).date_naive() == day)
        .collect();
    let earlier = on_day
        .iter()
        .copied()
        .filter(|s| s.start < wanted.start)
        .max_by_key(|s| s.start);
    let later = on_day
        .iter()
        .copied()
        .filter(|s| s.start > wanted.start && earlier.is_none_or(|e| apart(e, *s)))
        .min_by_key(|s| s.start);
    let distance = |s: &Slot| (s.start - wanted.start).num_minutes().abs();
    let mut near: Vec<Slot> = earlier.into_iter().chain(later).collect();
    near.sort_by_key(|s| (distance(s), s.start));
    let mut want: Vec<Slot> = Vec::new();
    let take = |want: &mut Vec<Slot>, s: Slot| {
        if want.len() < r.alternatives && want.iter().all(|w| apart(*w, s)) {
            want.push(s);
        }
    };
    for s in near {
        take(&mut want, s);
    }
    let time = local(wanted.start).time();
    let mut same_time: Vec<Slot> = free
        .iter()
        .copied()
        .filter(|s| local(s.start).date_naive() > day && local(s.start).time() == time)
        .collect();
    same_time.sort_by_key(|s| s.start);
    for s in same_time {
        take(&mut want, s);
    }
    let mut rest = free.to_vec();
    rest.sort_by_key(|s| (distance(s), s.start));
    for s in rest {
        take(&mut want, s);
    }
    want
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn confirmed_bookings_never_overlap_and_refusals_get_valid_alternatives(ops in prop::collection::vec(op(), 1..40)) {
        let r = rules();
        let room = &r.rooms[0];
        let mut all: Vec<Held> = Vec::new();
        let mut next_id = 1;
        for op in ops {
            match op {
                Op::Request { day, slot, len, tier } => {
                    let s = slot_of(day, slot, len);
                    let t = &r.tiers[tier];
                    if !policy::check(&r, room, t, s, 5, now()).is_empty() {
                        continue;
                    }
                    let active: Vec<Held> = all.iter().filter(|h| h.status.is_active()).cloned().collect();
                    match decision::decide(&r, room, t, s, &active, now()) {
                        Decision::Confirm | Decision::Pending { .. } => {
                            let status = if matches!(decision::decide(&r, room, t, s, &active, now()), Decision::Confirm) { Status::Confirmed } else { Status::Pending };
                            all.push(Held { id: next_id, rank: tier, start: s.start, blocked_until: decision::blocked_until(room, s.end), status });
                            next_id += 1;
                        }
                        Decision::Busy { held_by, .. } => {
                            prop_assert!(!held_by.is_empty());
                            let alts = decision::alternatives(&r, room, t, s, 5, &active, now());
                            let mut seen = std::collections::HashSet::new();
                            for a in &alts {
                                prop_assert_eq!(a.minutes(), s.minutes());
                                prop_assert!(policy::check(&r, room, t, *a, 5, now()).is_empty(), "alternative breaks policy: {:?}", a);
                                prop_assert!(active.iter().all(|h| !h.overlaps(room, *a)), "alternative is taken: {:?}", a);
                                prop_assert!(*a != s && seen.insert(*a));
                            }
                            for (i, a) in alts.iter().enumerate() {
                                prop_assert!(alts[i + 1..].iter().all(|b| apart(*a, *b)), "alternatives overlap: {:?}", alts);
                            }
                            // The choice and the order follow the rule, checked against every free slot.
                            let free = brute_force_free(&r, tier, Duration::minutes(s.minutes()), &active, s);
                            let want = expected_alternatives(&r, &free, s);
                            prop_assert_eq!(&alts, &want, "free: {}", free.len());
                            prop_assert!(alts.len() <= r.alternatives);
                            prop_assert!(free.is_empty() || !alts.is_empty());
                        }
                    }
                }
                Op::Approve { pick, force } => {
                    let pending: Vec<usize> = (0..all.len()).filter(|i| all[*i].status == Status::Pending).collect();
                    if pending.is_empty() { continue; }
                    let i = pending[pick % pending.len()];
                    let me = all[i].clone();
                    let overlapping: Vec<Held> = all.iter().filter(|h| h.status == Status::Confirmed && overlap(room, h, &me)).cloned().collect();
                    if let Ok(displace) = decision::approval(&r, me.rank, &overlapping, force, now()) {
                        for h in all.iter_mut().filter(|h| displace.contains(&h.id)) {
                            h.status = Status::Displaced;
                        }
                        all[i].status = Status::Confirmed;
                    }
                }
                Op::Cancel { pick } => {
                    let active: Vec<usize> = (0..all.len()).filter(|i| all[*i].status.is_active()).collect();
                    if active.is_empty() { continue; }
                    all[active[pick % active.len()]].status = Status::Cancelled;
                }
            }
            let confirmed: Vec<&Held> = all.iter().filter(|h| h.status == Status::Confirmed).collect();
            for (i, a) in confirmed.iter().enumerate() {
                for b in &confirmed[i + 1..] {
                    prop_assert!(!overlap(room, a, b), "confirmed {} and {} overlap", a.id, b.id);
                }
            }
        }
    }

    #[test]
    fn holidays_follow_easter_every_year(year in prop_oneof![1900i32..2400, -262_000i32..262_000]) {
        // Every year chrono can hold, absurd ones too: never a panic, always a Sunday in spring.
        let easter = easter_sunday(year).expect("an Easter every representable year");
        prop_assert_eq!(easter.weekday(), Weekday::Sun);
        prop_assert!(easter >= NaiveDate::from_ymd_opt(year, 3, 22).unwrap() && easter <= NaiveDate::from_ymd_opt(year, 4, 25).unwrap());
        let days = holidays(year);
        prop_assert_eq!(days.len(), 12);
        let on = |name: &str| days.iter().find(|(_, n)| *n == name).unwrap().0;
        prop_assert_eq!(on("skjærtorsdag").weekday(), Weekday::Thu);
        prop_assert_eq!(on("langfredag").weekday(), Weekday::Fri);
        prop_assert_eq!(on("2. påskedag").weekday(), Weekday::Mon);
        prop_assert_eq!(on("Kristi himmelfartsdag").weekday(), Weekday::Thu);
        prop_assert_eq!(on("1. pinsedag").weekday(), Weekday::Sun);
        prop_assert_eq!(on("2. pinsedag").weekday(), Weekday::Mon);
        prop_assert!(days.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}

/// The full table of Norwegian public holidays 2025–2030.
#[test]
fn holidays_2025_to_2030_match_the_known_table() {
    let table: [(i32, [&str; 12]); 6] = [
        (
            2025,
            [
                "01-01", "04-17", "04-18", "04-20", "04-21", "05-01", "05-17", "05-29", "06-08", "06-09", "12-25",
                "12-26",
            ],
        ),
        (
            2026,
            [
                "01-01", "04-02", "04-03", "04-05", "04-06", "05-01", "05-14", "05-17", "05-24", "05-25", "12-25",
                "12-26",
            ],
        ),
        (
            2027,
            [
                "01-01", "03-25", "03-26", "03-28", "03-29", "05-01", "05-06", "05-16", "05-17", "05-17", "12-25",
                "12-26",
            ],
        ),
        (
            2028,
            [
                "01-01", "04-13", "04-14", "04-16", "04-17", "05-01", "05-17", "05-25", "06-04", "06-05", "12-25",
                "12-26",
            ],
        ),
        (
            2029,
            [
                "01-01", "03-29", "03-30", "04-01", "04-02", "05-01", "05-10", "05-17", "05-20", "05-21", "12-25",
                "12-26",
            ],
        ),
        (
            2030,
            [
                "01-01", "04-18", "04-19", "04-21", "04-22", "05-01", "05-17", "05-30", "06-09", "06-10", "12-25",
                "12-26",
            ],
        ),
    ];
    for (year, dates) in table {
        let got: Vec<String> = holidays(year)
            .iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect();
        assert_eq!(got, dates, "{year}");
    }
}
