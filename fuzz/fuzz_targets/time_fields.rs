//! The date and time fields of the API and the forms: `YYYY-MM-DD` days
//! (`domain::time::parse_day`, the API's `parse_date`), the API's RFC 3339 times
//! (`web::api::parse_time`) and the booking form's day with its two times of day
//! (`web::pages::parse_slot`). The input is up to three fields, one a line.
//!
//! Whatever is accepted lies in the years users may write, and reads back as itself when
//! written out again: a day as `YYYY-MM-DD`, a time as the API answers it, a slot as the form
//! would be filled in with it.
#![no_main]

use borgertun::domain::time::{local, parse_day, rfc3339, year_in_range};
use borgertun::web::api::{parse_date, parse_time};
use borgertun::web::pages::parse_slot;
use chrono::Datelike;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.splitn(3, '\n');
    let (a, b, c) = (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    );
    for s in [a, b, c, text] {
        day(s);
        time(s);
    }
    slot(a, b, c);
});

fn day(s: &str) {
    let parsed = parse_day(s);
    if let Some(d) = parsed {
        assert!(year_in_range(d.year()), "{s:?} gave {d}");
        assert_eq!(parse_day(&d.format("%Y-%m-%d").to_string()), Some(d), "{s:?}");
    }
    match parse_date("from", s) {
        Ok(d) => assert_eq!(Some(d), parsed, "{s:?}"),
        Err(e) => {
            assert_eq!(parsed, None, "{s:?}");
            assert_eq!(e.code, "invalid_date");
        }
    }
}

fn time(s: &str) {
    match parse_time("start", s) {
        Ok(t) => {
            assert!(year_in_range(t.year()), "{s:?} gave {t}");
            let written = rfc3339(t);
            assert_eq!(
                parse_time("start", &written).ok(),
                Some(t),
                "{s:?} written as {written}"
            );
        }
        Err(e) => assert!(matches!(e.code, "invalid_time" | "missing_offset"), "{s:?}: {}", e.code),
    }
}

fn slot(dato: &str, fra: &str, til: &str) {
    match parse_slot(dato, fra, til) {
        Ok(slot) => {
            let (start, end) = (local(slot.start), local(slot.end));
            assert_eq!(Some(start.date_naive()), parse_day(dato), "{dato:?}");
            // The form filled in with the slot reads as the same slot.
            let again = parse_slot(
                &start.format("%Y-%m-%d").to_string(),
                &start.format("%H:%M").to_string(),
                &end.format("%H:%M").to_string(),
            );
            assert_eq!(again.ok(), Some(slot), "{dato:?} {fra:?} {til:?}");
        }
        Err(errors) => assert!(!errors.is_empty(), "{dato:?} {fra:?} {til:?}: refused without a reason"),
    }
}
