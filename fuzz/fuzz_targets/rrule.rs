//! The `RRULE` subset (`domain::recurrence::parse`), as the API and the series pages take it.
//! The first two bytes choose the first occurrence (a day of 2026–2027 and a time of day);
//! the rest is the rule's text.
//!
//! A rule that is accepted is written (`to_rrule`, as calendars get it) so that it reads
//! back as the same rule, can be described in Norwegian, and expands with the shipped rules
//! into at most 200 occurrences in order, each as long as the first; anything refused has one
//! of the two recurrence codes.
#![no_main]

use std::sync::OnceLock;

use borgertun::config::Config;
use borgertun::domain::policy::Slot;
use borgertun::domain::recurrence::{occurrences, parse, MAX_OCCURRENCES};
use borgertun::domain::time::at_local;
use chrono::{Duration, NaiveDate, NaiveTime};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
        borgertun::config::load(std::path::Path::new(dir)).expect("the shipped configuration")
    })
}

fuzz_target!(|data: &[u8]| {
    let (Some(&day), Some(&clock)) = (data.first(), data.get(1)) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&data[2..]) else {
        return;
    };
    let rec = match parse(text) {
        Ok(rec) => rec,
        Err(e) => {
            assert!(
                matches!(e.code, "invalid_recurrence" | "unsupported_recurrence"),
                "{text:?}: {}",
                e.code
            );
            return;
        }
    };
    let written = rec.to_rrule();
    assert_eq!(parse(&written).as_ref(), Ok(&rec), "{text:?} written as {written:?}");

    let date = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a day") + Duration::days(i64::from(day) * 3);
    // 00:00 to 23:45 on the quarter hour; the spring-forward gap has no first occurrence.
    let time = NaiveTime::from_hms_opt(u32::from(clock % 96) / 4, u32::from(clock % 4) * 15, 0).expect("a time");
    let Some(start) = at_local(date, time) else {
        return;
    };
    let first = Slot {
        start,
        end: start + Duration::minutes(90),
    };
    let _ = rec.describe(date);
    let rules = &config().rules;
    if let Ok(list) = occurrences(rules, &rules.rooms[0], &rec, first) {
        assert!(list.len() <= MAX_OCCURRENCES, "{text:?}: {} occurrences", list.len());
        for pair in list.windows(2) {
            assert!(pair[0].slot.start < pair[1].slot.start, "{text:?}: out of order");
        }
        for o in &list {
            assert!(o.slot.end > o.slot.start, "{text:?}: an empty occurrence");
        }
    }
});
