//! iCalendar text escaping: any text, cleaned (`calendar::clean`), escaped
//! (`calendar::escape_into`) and folded (`calendar::fold_line`) as the feeds write SUMMARY,
//! DESCRIPTION and LOCATION, is parsed by the `icalendar` crate back to the same text, and no
//! line is longer than 75 octets.
#![no_main]

use borgertun::calendar::{clean, escape_into, fold_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cleaned = clean(text);
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:booking-1@example.org\r\n");
    for name in ["SUMMARY", "DESCRIPTION", "LOCATION"] {
        let mut line = format!("{name}:");
        escape_into(&mut line, &cleaned);
        fold_line(&mut ics, &line);
    }
    ics.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "a line of {} octets: {line:?}", line.len());
    }
    let unfolded = icalendar::parser::unfold(&ics);
    let calendar = match icalendar::parser::read_calendar(&unfolded) {
        Ok(c) => c,
        Err(e) => panic!("{text:?} written as {ics:?} does not parse: {e}"),
    };
    let event = calendar
        .components
        .iter()
        .find(|c| c.name == "VEVENT")
        .unwrap_or_else(|| panic!("{ics:?}: no VEVENT"));
    for name in ["SUMMARY", "DESCRIPTION", "LOCATION"] {
        let value = event.find_prop(name).map(|p| p.val.as_str());
        assert_eq!(value, Some(cleaned.as_str()), "{name} of {text:?}, written as {ics:?}");
    }
});
