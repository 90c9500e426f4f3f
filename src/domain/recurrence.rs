//! Recurring bookings: the supported subset of RFC 5545 `RRULE`, and its occurrences in
//! Europe/Oslo wall time.
//!
//! Supported: `FREQ=DAILY|WEEKLY|MONTHLY`, `INTERVAL`, `BYDAY` (with an ordinal such as `2TU`
//! or `-1TH` for monthly patterns only), `BYMONTHDAY` (monthly only), and exactly one of
//! `COUNT` or `UNTIL`. A series spans at most two years and 200 occurrences. Anything else is
//! refused with `unsupported_recurrence`; a value that is malformed or contradicts the start
//! (`UNTIL` before it) with `invalid_recurrence`.
//!
//! The expansion itself is the `rrule` crate's, with `DTSTART;TZID=Europe/Oslo`: a weekly
//! 09:00 stays 09:00 across the changes to and from summer time. Each occurrence keeps the
//! first one's wall-clock length. Closed days (public holidays, closures, days the room is not
//! open) are not conflicts: they are skipped, with the reason.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};

use super::error::DomainError;
use super::policy::Slot;
use super::rules::{Room, Rules};
use super::time::{at_local, format_date, local, weekday_name, TZ};

/// At most this many occurrences in a series.
pub const MAX_OCCURRENCES: usize = 200;
/// A series ends at most this many days after its first occurrence starts.
pub const MAX_SPAN_DAYS: i64 = 2 * 366;

const SUPPORTED: &str = "Støttet er FREQ=DAILY, WEEKLY eller MONTHLY, med INTERVAL, BYDAY (for måned også \
     med nummer, som 2TU eller -1TH), BYMONTHDAY (for måned), og enten COUNT eller UNTIL.";

fn unsupported(what: impl std::fmt::Display) -> DomainError {
    DomainError::new("unsupported_recurrence", format!("{what} støttes ikke. {SUPPORTED}")).on("rrule")
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::new("invalid_recurrence", message).on("rrule")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

/// How a series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Count(u32),
    /// The last day an occurrence may start on (Oslo).
    Until(NaiveDate),
}

/// A checked recurrence pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub freq: Frequency,
    pub interval: u32,
    /// `BYDAY` values as written, upper case (`TU`, `2TU`, `-1TH`).
    pub by_day: Vec<String>,
    pub by_month_day: Vec<i32>,
    pub end: End,
}

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// Parse and check an `RRULE` value (with or without the `RRULE:` prefix).
pub fn parse(text: &str) -> Result<Recurrence, DomainError> {
    let text = text.trim();
    let text = text
        .strip_prefix("RRULE:")
        .or_else(|| text.strip_prefix("rrule:"))
        .unwrap_or(text);
    if text.is_empty() {
        return Err(invalid("Gjentakelsen er tom. Skriv for eksempel FREQ=WEEKLY;COUNT=10."));
    }
    let mut freq = None;
    let mut interval = None;
    let mut by_day = None;
    let mut by_month_day = None;
    let mut count = None;
    let mut until = None;
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(invalid(format!("«{part}» er ikke på formen NAVN=VERDI.")));
        };
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim().to_ascii_uppercase();
        let twice = |seen: bool| {
            if seen {
                Err(invalid(format!("{key} står mer enn én gang.")))
            } else {
                Ok(())
            }
        };
        match key.as_str() {
            "FREQ" => {
                twice(freq.is_some())?;
                freq = Some(match value.as_str() {
                    "DAILY" => Frequency::Daily,
                    "WEEKLY" => Frequency::Weekly,
                    "MONTHLY" => Frequency::Monthly,
                    "YEARLY" | "HOURLY" | "MINUTELY" | "SECONDLY" => return Err(unsupported(format!("FREQ={value}"))),
                    _ => return Err(invalid(format!("FREQ={value} er ikke en gyldig frekvens."))),
                });
            }
            "INTERVAL" => {
                twice(interval.is_some())?;
                match value.parse::<u32>() {
                    Ok(n) if (1..=99).contains(&n) => interval = Some(n),
                    _ => {
                        return Err(invalid(format!(
                            "INTERVAL må være et helt tall fra 1 til 99, ikke «{value}»."
                        )))
                    }
                }
            }
            "COUNT" => {
                twice(count.is_some())?;
                match value.parse::<u32>() {
                    Ok(n) if n >= 1 && n as usize <= MAX_OCCURRENCES => count = Some(n),
                    Ok(n) if n as usize > MAX_OCCURRENCES => {
                        return Err(invalid(format!(
                            "En serie kan ha høyst {MAX_OCCURRENCES} forekomster, ikke {n}."
                        )))
                    }
                    _ => return Err(invalid(format!("COUNT må være et helt tall fra 1, ikke «{value}»."))),
                }
            }
            "UNTIL" => {
                twice(until.is_some())?;
                until = Some(parse_until(&value)?);
            }
            "BYDAY" => {
                twice(by_day.is_some())?;
                let mut days = Vec::new();
                for d in value.split(',') {
                    // The last two characters are the day (split on a character boundary:
                    // the value may hold any text).
                    let at = d.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
                    let (ordinal, day) = d.split_at(at);
                    if !DAYS.contains(&day) {
                        return Err(invalid(format!(
                            "«{d}» i BYDAY er ikke en ukedag (MO, TU, WE, TH, FR, SA, SU)."
                        )));
                    }
                    if !ordinal.is_empty() {
                        match ordinal.parse::<i32>() {
                            // (-5, the fifth-last, is left out: the `rrule` crate cannot
                            // expand it, and a month has at most one.)
                            Ok(n) if n != 0 && (-4..=5).contains(&n) => {}
                            _ => return Err(invalid(format!("«{d}» i BYDAY har et ugyldig nummer."))),
                        }
                    }
                    days.push(d.to_string());
                }
                by_day = Some(days);
            }
            "BYMONTHDAY" => {
                twice(by_month_day.is_some())?;
                let mut days = Vec::new();
                for d in value.split(',') {
                    match d.parse::<i32>() {
                        Ok(n) if n != 0 && (-31..=31).contains(&n) => days.push(n),
                        _ => return Err(invalid(format!("«{d}» i BYMONTHDAY er ikke en dag i måneden."))),
                    }
                }
                by_month_day = Some(days);
            }
            "WKST" if value == "MO" => {}
            _ => return Err(unsupported(key)),
        }
    }
    let Some(freq) = freq else {
        return Err(invalid("FREQ mangler: skriv DAILY, WEEKLY eller MONTHLY."));
    };
    let end = match (count, until) {
        (Some(n), None) => End::Count(n),
        (None, Some(d)) => End::Until(d),
        (Some(_), Some(_)) => return Err(invalid("Bruk enten COUNT eller UNTIL, ikke begge.")),
        (None, None) => {
            return Err(invalid(
                "Si når serien slutter: COUNT (antall ganger) eller UNTIL (til dato).",
            ))
        }
    };
    let by_day = by_day.unwrap_or_default();
    let by_month_day = by_month_day.unwrap_or_default();
    if freq != Frequency::Monthly {
        if !by_month_day.is_empty() {
            return Err(unsupported(format!("BYMONTHDAY med FREQ={}", freq_name(freq))));
        }
        if by_day.iter().any(|d| d.len() > 2) {
            return Err(unsupported(format!("BYDAY med nummer med FREQ={}", freq_name(freq))));
        }
    }
    if freq == Frequency::Daily && !by_day.is_empty() {
        return Err(unsupported("BYDAY med FREQ=DAILY"));
    }
    if !by_day.is_empty() && !by_month_day.is_empty() {
        return Err(unsupported("BYDAY sammen med BYMONTHDAY"));
    }
    Ok(Recurrence {
        freq,
        interval: interval.unwrap_or(1),
        by_day,
        by_month_day,
        end,
    })
}

fn freq_name(f: Frequency) -> &'static str {
    match f {
        Frequency::Daily => "DAILY",
        Frequency::Weekly => "WEEKLY",
        Frequency::Monthly => "MONTHLY",
    }
}

/// `UNTIL` as a date (`20270101`) or a UTC time (`20270101T230000Z`): the Oslo date of the
/// last day an occurrence may start on.
fn parse_until(value: &str) -> Result<NaiveDate, DomainError> {
    let bad = || {
        invalid(format!(
            "UNTIL={value} er ikke en dato (ÅÅÅÅMMDD) eller et UTC-tidspunkt (ÅÅÅÅMMDDTTMMSSZ)."
        ))
    };
    let date = if let Some(t) = value.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        local(Utc.from_utc_datetime(&t)).date_naive()
    } else if value.len() == 8 {
        NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    // The years a day may be written in anywhere else ([`super::time::YEARS`]): the booking
    // form's «til og med» date becomes this `UNTIL`.
    if !super::time::year_in_range(date.year()) {
        return Err(bad());
    }
    Ok(date)
}

impl Recurrence {
    /// The normalised `RRULE` value, as calendars get it. `UNTIL` is the end of its Oslo day,
    /// in UTC, as RFC 5545 asks when `DTSTART` has a time zone.
    pub fn to_rrule(&self) -> String {
        let mut s = format!("FREQ={}", freq_name(self.freq));
        if self.interval != 1 {
            s.push_str(&format!(";INTERVAL={}", self.interval));
        }
        if !self.by_day.is_empty() {
            s.push_str(&format!(";BYDAY={}", self.by_day.join(",")));
        }
        if !self.by_month_day.is_empty() {
            let days: Vec<String> = self.by_month_day.iter().map(|d| d.to_string()).collect();
            s.push_str(&format!(";BYMONTHDAY={}", days.join(",")));
        }
        match self.end {
            End::Count(n) => s.push_str(&format!(";COUNT={n}")),
            End::Until(d) => s.push_str(&format!(";UNTIL={}", until_utc(d).format("%Y%m%dT%H%M%SZ"))),
        }
        s
    }

    /// This pattern ending on `last` (Oslo) instead: "this and the following" cut off the rest.
    pub fn until(&self, last: NaiveDate) -> Recurrence {
        Recurrence {
            end: End::Until(last),
            ..self.clone()
        }
    }
}

/// How the booking form repeats a booking. The weekday and the day of the month come from the
/// first occurrence's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Every `interval` weeks, on the first day's weekday.
    Weekly { interval: u32 },
    /// Every month on the first day's date (months without that date have no occurrence).
    MonthlyOnDate,
    /// Every month on the first day's weekday, by its number in the month: the second Tuesday,
    /// or the last Thursday when the first day is the fifth of its kind.
    MonthlyOnWeekday,
}

impl Repeat {
    /// The `RRULE` value for this pattern from `first`, ending as `end` says.
    pub fn rrule(self, first: NaiveDate, end: End) -> String {
        let day = DAYS[first.weekday().num_days_from_monday() as usize];
        let mut s = match self {
            Repeat::Weekly { interval } if interval > 1 => format!("FREQ=WEEKLY;INTERVAL={interval};BYDAY={day}"),
            Repeat::Weekly { .. } => format!("FREQ=WEEKLY;BYDAY={day}"),
            Repeat::MonthlyOnDate => format!("FREQ=MONTHLY;BYMONTHDAY={}", first.day()),
            Repeat::MonthlyOnWeekday => format!("FREQ=MONTHLY;BYDAY={}{day}", weekday_ordinal(first)),
        };
        match end {
            End::Count(n) => s.push_str(&format!(";COUNT={n}")),
            End::Until(d) => s.push_str(&format!(";UNTIL={}", d.format("%Y%m%d"))),
        }
        s
    }
}

/// The number of `day`'s weekday in its month as a monthly pattern names it: 1 to 4, or -1
/// (the last) for a fifth one, since not every month has a fifth.
pub fn weekday_ordinal(day: NaiveDate) -> i32 {
    match (day.day() as i32 - 1) / 7 + 1 {
        5 => -1,
        n => n,
    }
}

/// «andre tirsdag», «siste torsdag»: `day`'s weekday by its number in the month.
pub fn nth_weekday_words(day: NaiveDate) -> String {
    format!("{} {}", ordinal_word(weekday_ordinal(day)), weekday_name(day.weekday()))
}

fn ordinal_word(n: i32) -> String {
    match n {
        1 => "første".into(),
        2 => "andre".into(),
        3 => "tredje".into(),
        4 => "fjerde".into(),
        5 => "femte".into(),
        -1 => "siste".into(),
        -2 => "nest siste".into(),
        n if n < 0 => format!("{}. siste", -n),
        n => format!("{n}."),
    }
}

fn weekday_of(code: &str) -> Option<Weekday> {
    DAYS.iter()
        .position(|d| *d == code)
        .and_then(|i| Weekday::try_from(i as u8).ok())
}

/// «mandag», «mandag og onsdag», «mandag, onsdag og fredag».
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} og {last}", rest.join(", ")),
    }
}

/// «hver», «annenhver», «hver 3.»: how often, before the unit.
fn every(interval: u32) -> String {
    match interval {
        0 | 1 => "hver".into(),
        2 => "annenhver".into(),
        n => format!("hver {n}."),
    }
}

impl Recurrence {
    /// The pattern in plain Norwegian, for a series whose first occurrence is on `first`:
    /// «hver tirsdag, 10 ganger», «annenhver onsdag, til og med tirsdag 30. juni 2026»,
    /// «andre tirsdag hver måned, 6 ganger», «den 15. hver måned, 12 ganger».
    pub fn describe(&self, first: NaiveDate) -> String {
        let weekday_words = |codes: &[String]| -> Vec<String> {
            codes
                .iter()
                .map(|c| {
                    let (ordinal, day) = c.split_at(c.len().saturating_sub(2));
                    let name = weekday_of(day).map(weekday_name).unwrap_or(day);
                    match ordinal.parse::<i32>() {
                        Ok(n) => format!("{} {name}", ordinal_word(n)),
                        Err(_) => name.to_string(),
                    }
                })
                .collect()
        };
        let pattern = match self.freq {
            Frequency::Daily => match self.interval {
                0 | 1 => "hver dag".to_string(),
                2 => "annenhver dag".to_string(),
                n => format!("hver {n}. dag"),
            },
            Frequency::Weekly => {
                let days = if self.by_day.is_empty() {
                    vec![weekday_name(first.weekday()).to_string()]
                } else {
                    weekday_words(&self.by_day)
                };
                match self.interval {
                    0..=2 => format!("{} {}", every(self.interval), and_list(&days)),
                    n => format!("hver {n}. uke på {}", and_list(&days)),
                }
            }
            Frequency::Monthly => {
                let when = if !self.by_month_day.is_empty() {
                    let days: Vec<String> = self
                        .by_month_day
                        .iter()
                        .map(|d| {
                            if *d < 0 {
                                format!("{} dagen", ordinal_word(*d))
                            } else {
                                format!("{d}.")
                            }
                        })
                        .collect();
                    format!("den {}", and_list(&days))
                } else if !self.by_day.is_empty() {
                    and_list(&weekday_words(&self.by_day))
                } else {
                    format!("den {}.", first.day())
                };
                format!("{when} {} måned", every(self.interval))
            }
        };
        let end = match self.end {
            End::Count(1) => "1 gang".to_string(),
            End::Count(n) => format!("{n} ganger"),
            End::Until(d) => format!("til og med {}", format_date(d)),
        };
        format!("{pattern}, {end}")
    }
}

/// The last second of `d` in Oslo, in UTC.
fn until_utc(d: NaiveDate) -> DateTime<Utc> {
    let next = d.succ_opt().unwrap_or(d);
    at_local(next, NaiveTime::MIN).unwrap_or_else(|| Utc.from_utc_datetime(&next.and_time(NaiveTime::MIN)))
        - Duration::seconds(1)
}

/// One occurrence of a series, before any booking decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub slot: Slot,
    /// Why the occurrence is skipped (a closed day, or a time that does not exist that day):
    /// `None` for an occurrence to decide.
    pub skipped: Option<DomainError>,
}

/// The occurrences of `rec` whose first is `first`, each as long on the wall clock as the
/// first, closed days marked skipped. Refuses patterns beyond two years or 200 occurrences,
/// and an `UNTIL` before the first occurrence.
pub fn occurrences(rules: &Rules, room: &Room, rec: &Recurrence, first: Slot) -> Result<Vec<Occurrence>, DomainError> {
    let start = local(first.start);
    let first_day = start.date_naive();
    if let End::Until(d) = rec.end {
        if d < first_day {
            return Err(invalid(format!(
                "Serien kan ikke slutte ({}) før den begynner ({}).",
                format_date(d),
                format_date(first_day)
            )));
        }
    }
    let wall_start = start.naive_local();
    let wall_length = local(first.end).naive_local() - wall_start;
    let dt_start = rrule::Tz::Tz(TZ)
        .from_local_datetime(&wall_start)
        .earliest()
        .ok_or_else(|| invalid("Starttidspunktet finnes ikke i norsk tid den dagen."))?;
    let text = format!("RRULE:{}", rec.to_rrule());
    let rule: rrule::RRule<rrule::Unvalidated> = text
        .trim_start_matches("RRULE:")
        .parse()
        .map_err(|e| invalid(format!("Gjentakelsen kan ikke leses: {e}.")))?;
    let set = rule
        .build(dt_start)
        .map_err(|e| invalid(format!("Gjentakelsen kan ikke brukes: {e}.")))?;
    let limit = (MAX_OCCURRENCES + 1) as u16;
    let result = set.all(limit);
    let dates = result.dates;
    if dates.len() > MAX_OCCURRENCES {
        return Err(invalid(format!(
            "Serien får mer enn {MAX_OCCURRENCES} forekomster. Velg færre ganger eller en tidligere sluttdato."
        )));
    }
    let last_allowed = first_day + Duration::days(MAX_SPAN_DAYS);
    if let Some(last) = dates.last() {
        if last.date_naive() > last_allowed {
            return Err(invalid(format!(
                "En serie kan vare i høyst to år, til {}.",
                format_date(last_allowed)
            )));
        }
    }
    let mut out = Vec::with_capacity(dates.len());
    for d in dates {
        let day = d.date_naive();
        let wall = d.naive_local();
        let begins = at_local(day, wall.time());
        let ends = (wall + wall_length)
            .and_local_timezone(TZ)
            .earliest()
            .map(|t| t.with_timezone(&Utc));
        let (Some(s), Some(e)) = (begins, ends) else {
            // The wall-clock time falls in the hour skipped when summer time begins.
            let t = d.with_timezone(&Utc);
            out.push(Occurrence {
                slot: Slot {
                    start: t,
                    end: t + (first.end - first.start),
                },
                skipped: Some(DomainError::new(
                    "closed_day",
                    format!("{}: klokkeslettet finnes ikke den dagen (sommertid).", format_date(day)),
                )),
            });
            continue;
        };
        let skipped = rules
            .closed_reason(room, day)
            .map(|reason| DomainError::new("closed_day", format!("{}: {reason}, hoppes over.", format_date(day))));
        out.push(Occurrence {
            slot: Slot { start: s, end: e },
            skipped,
        });
    }
    Ok(out)
}

/// Whether a series is stored, given how many of its decided occurrences (not skipped) there
/// are and how many of them were refused (busy or by policy): at most `max_conflicts`, and at
/// most `max_percent` per cent of them (as Exchange's `MaximumConflictInstances` and
/// `ConflictPercentageAllowed`).
pub fn accepted(decided: usize, refused: usize, max_conflicts: usize, max_percent: u32) -> bool {
    refused <= max_conflicts && refused * 100 <= decided * max_percent as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixtures;
    use chrono::{Timelike, Weekday};

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        at_local(
            NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            NaiveTime::from_hms_opt(h, min, 0).unwrap(),
        )
        .unwrap()
    }

    fn shipped_rules() -> (Rules, Room) {
        let rules = fixtures::rules();
        let room = rules.rooms[0].clone();
        (rules, room)
    }

    fn codes(text: &str) -> &'static str {
        parse(text).map(|_| "ok").unwrap_or_else(|e| e.code)
    }

    #[test]
    fn parses_the_supported_subset_and_refuses_the_rest() {
        assert_eq!(codes("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=10"), "ok");
        assert_eq!(codes("RRULE:FREQ=MONTHLY;BYDAY=-1TH;UNTIL=20271231"), "ok");
        assert_eq!(codes("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3"), "ok");
        // The fifth-last weekday is refused in plain Norwegian before the expansion sees it.
        let e = parse("FREQ=MONTHLY;BYDAY=-5MO;COUNT=1").unwrap_err();
        assert_eq!(e.code, "invalid_recurrence");
        assert!(e.message.contains("-5MO"), "{}", e.message);
        assert_eq!(codes("FREQ=DAILY;COUNT=5"), "ok");
        assert_eq!(codes("FREQ=YEARLY;COUNT=2"), "unsupported_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;BYSETPOS=1;COUNT=2"), "unsupported_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;BYDAY=2TU;COUNT=2"), "unsupported_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;BYMONTHDAY=3;COUNT=2"), "unsupported_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;COUNT=2;UNTIL=20270101"), "invalid_recurrence");
        assert_eq!(codes("FREQ=WEEKLY"), "invalid_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;COUNT=500"), "invalid_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;BYDAY=XX;COUNT=2"), "invalid_recurrence");
        assert_eq!(codes("FREQ=WEEKLY;COUNT=2;COUNT=3"), "invalid_recurrence");
        assert_eq!(codes(""), "invalid_recurrence");
        let e = parse("FREQ=YEARLY;COUNT=2").unwrap_err();
        assert!(e.message.contains("Støttet er"), "{}", e.message);
    }

    #[test]
    fn a_byday_of_any_text_is_refused_and_never_panics() {
        // The day was cut two bytes from the end, which can fall inside a character («Å»).
        for text in [
            "FREQ=WEEKLY;BYDAY=ÅA;COUNT=2",
            "FREQ=MONTHLY;BYDAY=1ÅØ;COUNT=2",
            "FREQ=WEEKLY;BYDAY=€;COUNT=2",
            "FREQ=WEEKLY;BYDAY=MO,ÅA;COUNT=2",
        ] {
            assert_eq!(codes(text), "invalid_recurrence", "{text}");
        }
        assert_eq!(codes("FREQ=MONTHLY;BYDAY=+2TU;COUNT=2"), "ok");
    }

    #[test]
    fn until_takes_the_years_every_other_day_may_be_written_in() {
        // The booking form took «til og med» 2602-12-01 (a day of YEARS) and made an UNTIL
        // that this parser refused with a message about the RRULE the user never typed.
        assert_eq!(codes("FREQ=WEEKLY;UNTIL=26021201"), "ok");
        assert_eq!(codes("FREQ=WEEKLY;UNTIL=29991231T225959Z"), "ok");
        for bad in [
            "FREQ=WEEKLY;UNTIL=19991231",
            "FREQ=WEEKLY;UNTIL=30000101",
            "FREQ=WEEKLY;UNTIL=29991231T230000Z",
        ] {
            assert_eq!(codes(bad), "invalid_recurrence", "{bad}");
        }
    }

    #[test]
    fn a_weekly_nine_oclock_stays_nine_across_both_changes_of_summer_time() {
        let (rules, room) = shipped_rules();
        // Tuesdays from 3 March 2026 to 3 November 2026: summer time begins 29 March and
        // ends 25 October.
        let rec = parse("FREQ=WEEKLY;BYDAY=TU;UNTIL=20261103").unwrap();
        let first = Slot {
            start: at(2026, 3, 3, 9, 0),
            end: at(2026, 3, 3, 10, 30),
        };
        let occ = occurrences(&rules, &room, &rec, first).unwrap();
        assert_eq!(occ.len(), 36);
        for o in &occ {
            let (s, e) = (local(o.slot.start), local(o.slot.end));
            assert_eq!(s.weekday(), Weekday::Tue);
            assert_eq!((s.hour(), s.minute()), (9, 0), "{s}");
            assert_eq!((e.hour(), e.minute()), (10, 30), "{e}");
        }
    }

    #[test]
    fn closed_days_are_skipped_with_the_reason() {
        let (rules, room) = shipped_rules();
        // Mondays from 30 March 2026: 6 April is 2. påskedag.
        let rec = parse("FREQ=WEEKLY;COUNT=3").unwrap();
        let first = Slot {
            start: at(2026, 3, 30, 9, 0),
            end: at(2026, 3, 30, 10, 0),
        };
        let occ = occurrences(&rules, &room, &rec, first).unwrap();
        assert_eq!(occ.len(), 3);
        assert!(occ[0].skipped.is_none());
        let skipped = occ[1].skipped.as_ref().expect("Easter Monday is closed");
        assert_eq!(skipped.code, "closed_day");
        assert!(skipped.message.contains("påskedag"), "{}", skipped.message);
        assert!(occ[2].skipped.is_none());
    }

    #[test]
    fn monthly_on_the_last_thursday_and_the_limits() {
        let (rules, room) = shipped_rules();
        let rec = parse("FREQ=MONTHLY;BYDAY=-1TH;COUNT=4").unwrap();
        let first = Slot {
            start: at(2026, 1, 29, 12, 0),
            end: at(2026, 1, 29, 13, 0),
        };
        let days: Vec<u32> = occurrences(&rules, &room, &rec, first)
            .unwrap()
            .iter()
            .map(|o| local(o.slot.start).day())
            .collect();
        assert_eq!(days, [29, 26, 26, 30]);

        let too_long = parse("FREQ=WEEKLY;UNTIL=20300101").unwrap();
        assert_eq!(
            occurrences(&rules, &room, &too_long, first).unwrap_err().code,
            "invalid_recurrence"
        );
        let too_many = parse("FREQ=DAILY;UNTIL=20270101").unwrap();
        assert_eq!(
            occurrences(&rules, &room, &too_many, first).unwrap_err().code,
            "invalid_recurrence"
        );
        let before = parse("FREQ=WEEKLY;UNTIL=20251231").unwrap();
        assert_eq!(
            occurrences(&rules, &room, &before, first).unwrap_err().code,
            "invalid_recurrence"
        );
    }

    #[test]
    fn the_normalised_rule_reads_back_the_same() {
        for text in [
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=10",
            "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270630",
            "FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=6",
        ] {
            let rec = parse(text).unwrap();
            assert_eq!(parse(&rec.to_rrule()).unwrap(), rec, "{}", rec.to_rrule());
        }
        assert_eq!(
            parse("FREQ=WEEKLY;UNTIL=20260630").unwrap().to_rrule(),
            "FREQ=WEEKLY;UNTIL=20260630T215959Z"
        );
    }

    /// A pattern of the supported subset, as the property tests write it.
    #[derive(Debug, Clone)]
    struct Pattern {
        freq: &'static str,
        interval: u32,
        /// Whether `INTERVAL` is written when it is 1.
        explicit_interval: bool,
        by_day: Vec<String>,
        by_month_day: Vec<i32>,
        /// `COUNT`, or `UNTIL` as days after the first occurrence's day.
        count: Option<u32>,
        until_days: i64,
    }

    impl Pattern {
        /// The `RRULE` value without its end.
        fn body(&self) -> String {
            let mut s = format!("FREQ={}", self.freq);
            if self.interval != 1 || self.explicit_interval {
                s.push_str(&format!(";INTERVAL={}", self.interval));
            }
            if !self.by_day.is_empty() {
                s.push_str(&format!(";BYDAY={}", self.by_day.join(",")));
            }
            if !self.by_month_day.is_empty() {
                let days: Vec<String> = self.by_month_day.iter().map(|d| d.to_string()).collect();
                s.push_str(&format!(";BYMONTHDAY={}", days.join(",")));
            }
            s
        }

        /// The text a user sends: `UNTIL` as a date.
        fn text(&self, first_day: NaiveDate) -> String {
            match self.count {
                Some(n) => format!("{};COUNT={n}", self.body()),
                None => format!(
                    "{};UNTIL={}",
                    self.body(),
                    (first_day + Duration::days(self.until_days)).format("%Y%m%d")
                ),
            }
        }

        /// What the `rrule` crate gets in the test: `UNTIL` as the last second of that Oslo
        /// day in UTC, worked out here with chrono-tz.
        fn rrule_set_text(&self, first: DateTime<Utc>) -> String {
            let wall = first.with_timezone(&chrono_tz::Europe::Oslo).naive_local();
            let end = match self.count {
                Some(n) => format!("COUNT={n}"),
                None => {
                    let next_day = wall.date() + Duration::days(self.until_days + 1);
                    let midnight = chrono_tz::Europe::Oslo
                        .from_local_datetime(&next_day.and_hms_opt(0, 0, 0).unwrap())
                        .earliest()
                        .unwrap();
                    let until = midnight.with_timezone(&Utc) - Duration::seconds(1);
                    format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ"))
                }
            };
            format!(
                "DTSTART;TZID=Europe/Oslo:{}\nRRULE:{};{end}",
                wall.format("%Y%m%dT%H%M%S"),
                self.body()
            )
        }
    }

    fn pattern() -> impl proptest::strategy::Strategy<Value = Pattern> {
        use proptest::prelude::*;
        let plain_days = proptest::sample::subsequence(DAYS.to_vec(), 0..=3)
            .prop_map(|d| d.into_iter().map(String::from).collect::<Vec<_>>());
        let ordinal_day = (
            prop_oneof![Just(0i32), 1i32..=5, -4i32..=-1],
            proptest::sample::select(DAYS.to_vec()),
        )
            .prop_map(|(n, d)| if n == 0 { d.to_string() } else { format!("{n}{d}") });
        let month_day = prop_oneof![1i32..=31, -31i32..=-1];
        let shape = prop_oneof![
            Just(("DAILY", vec![], vec![])),
            plain_days.prop_map(|d| ("WEEKLY", d, vec![])),
            Just(("MONTHLY", vec![], vec![])),
            proptest::collection::vec(ordinal_day, 1..=2).prop_map(|d| ("MONTHLY", d, vec![])),
            proptest::collection::vec(month_day, 1..=3).prop_map(|d| ("MONTHLY", vec![], d)),
        ];
        (
            shape,
            1u32..=4,
            any::<bool>(),
            prop_oneof![(1u32..=60).prop_map(Some), Just(None)],
            0i64..=730,
        )
            .prop_map(
                |((freq, by_day, by_month_day), interval, explicit_interval, count, until_days)| Pattern {
                    freq,
                    interval,
                    explicit_interval,
                    by_day,
                    by_month_day,
                    count,
                    until_days,
                },
            )
    }

    /// A first occurrence anywhere in 2026–2028, on the quarter hour between 07.00 and 20.45,
    /// 15 minutes to 4 hours long.
    fn first_slot() -> impl proptest::strategy::Strategy<Value = Slot> {
        use proptest::prelude::*;
        (0i64..3 * 365, 28u32..84, 1i64..=16).prop_map(|(day, quarter, quarters)| {
            let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(day);
            let start = at(date.year(), date.month(), date.day(), quarter / 4, (quarter % 4) * 15);
            Slot {
                start,
                end: start + Duration::minutes(15 * quarters),
            }
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        /// Decided and skipped occurrences together are exactly the `rrule` crate's own
        /// expansion of the pattern from the same `DTSTART;TZID=Europe/Oslo`, each as long on
        /// the wall clock as the first; an occurrence is skipped exactly on a day the rules
        /// name as closed, and says why. Patterns beyond 200 occurrences or two years are
        /// refused, and only those.
        #[test]
        fn occurrences_are_the_rrule_expansion_with_closed_days_skipped(p in pattern(), first in first_slot()) {
            use proptest::prelude::*;
            let (rules, room) = shipped_rules();
            let first_day = local(first.start).date_naive();
            let text = p.text(first_day);
            let rec = parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            let set: rrule::RRuleSet = match p.rrule_set_text(first.start).parse() {
                Ok(set) => set,
                Err(e) => {
                    // What the crate cannot expand is refused, not expanded some other way.
                    let got = occurrences(&rules, &room, &rec, first).map(|_| ()).unwrap_err();
                    prop_assert_eq!(got.code, "invalid_recurrence", "{}: {}", text, e);
                    return Ok(());
                }
            };
            let expected: Vec<DateTime<Utc>> = set.all(1000).dates.iter().map(|d| d.with_timezone(&Utc)).collect();
            prop_assert!(expected.len() < 1000);
            let too_many = expected.len() > MAX_OCCURRENCES;
            let too_long = expected
                .last()
                .is_some_and(|d| local(*d).date_naive() > first_day + Duration::days(MAX_SPAN_DAYS));
            let got = occurrences(&rules, &room, &rec, first);
            if too_many || too_long {
                prop_assert_eq!(got.map(|_| ()).unwrap_err().code, "invalid_recurrence", "{}", text);
                return Ok(());
            }
            let got = got.unwrap_or_else(|e| panic!("{text}: {e:?}"));
            let decided: Vec<&Occurrence> = got.iter().filter(|o| o.skipped.is_none()).collect();
            let skipped: Vec<&Occurrence> = got.iter().filter(|o| o.skipped.is_some()).collect();
            prop_assert_eq!(decided.len() + skipped.len(), got.len());
            let starts: Vec<DateTime<Utc>> = got.iter().map(|o| o.slot.start).collect();
            prop_assert_eq!(&starts, &expected, "{}", text);
            let wall_length = local(first.end).naive_local() - local(first.start).naive_local();
            for o in &got {
                let day = local(o.slot.start).date_naive();
                prop_assert_eq!(local(o.slot.end).naive_local() - local(o.slot.start).naive_local(), wall_length);
                match (&o.skipped, rules.closed_reason(&room, day)) {
                    (None, None) => {}
                    (Some(e), Some(reason)) => {
                        prop_assert_eq!(e.code, "closed_day");
                        prop_assert!(e.message.contains(&reason), "{} does not say «{}»", e.message, reason);
                    }
                    (skip, reason) => prop_assert!(false, "{day}: skipped {:?}, closed {:?} ({})", skip, reason, text),
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Ten weekly occurrences starting in the four weeks before a change of summer time
        /// (2027: 28 March and 31 October) keep their Oslo wall-clock time and length, while
        /// their UTC offset changes.
        #[test]
        fn weekly_occurrences_keep_their_wall_time_across_both_changes(
            autumn in proptest::bool::ANY,
            day in 0i64..28,
            quarter in 32u32..80,
            quarters in 2i64..=8,
        ) {
            use proptest::prelude::*;
            let (rules, room) = shipped_rules();
            let from = if autumn { NaiveDate::from_ymd_opt(2027, 10, 3) } else { NaiveDate::from_ymd_opt(2027, 2, 28) };
            let date = from.unwrap() + Duration::days(day);
            let start = at(date.year(), date.month(), date.day(), quarter / 4, (quarter % 4) * 15);
            let first = Slot { start, end: start + Duration::minutes(15 * quarters) };
            let occ = occurrences(&rules, &room, &parse("FREQ=WEEKLY;COUNT=10").unwrap(), first).unwrap();
            prop_assert_eq!(occ.len(), 10);
            let wall = |t: DateTime<Utc>| local(t).time();
            let mut offsets = std::collections::BTreeSet::new();
            for (i, o) in occ.iter().enumerate() {
                let s = local(o.slot.start);
                prop_assert_eq!(s.date_naive(), date + Duration::weeks(i as i64));
                prop_assert_eq!(wall(o.slot.start), wall(first.start));
                prop_assert_eq!(wall(o.slot.end), wall(first.end));
                prop_assert_eq!(o.slot.end - o.slot.start, first.end - first.start);
                offsets.insert(chrono::Offset::fix(s.offset()).local_minus_utc());
            }
            prop_assert_eq!(offsets.len(), 2, "{:?}", offsets);
        }
    }

    #[test]
    fn a_weekly_nine_oclock_in_2027_is_nine_before_and_after_each_change() {
        let (rules, room) = shipped_rules();
        for (y, m, d) in [(2027, 3, 2), (2027, 10, 5)] {
            let first = Slot {
                start: at(y, m, d, 9, 0),
                end: at(y, m, d, 10, 0),
            };
            let occ = occurrences(&rules, &room, &parse("FREQ=WEEKLY;COUNT=10").unwrap(), first).unwrap();
            let utc_hours: std::collections::BTreeSet<u32> = occ.iter().map(|o| o.slot.start.hour()).collect();
            // 09.00 Oslo is 08.00 UTC in winter and 07.00 UTC in summer.
            assert_eq!(utc_hours, [7, 8].into(), "{y}-{m}-{d}");
            for o in &occ {
                let s = local(o.slot.start);
                assert_eq!((s.weekday(), s.hour(), s.minute()), (Weekday::Tue, 9, 0), "{s}");
            }
        }
    }

    #[test]
    fn the_forms_patterns_become_rules_the_parser_takes() {
        let tuesday = NaiveDate::from_ymd_opt(2027, 5, 11).unwrap();
        let until = End::Until(NaiveDate::from_ymd_opt(2027, 6, 29).unwrap());
        let cases = [
            (
                Repeat::Weekly { interval: 1 },
                End::Count(10),
                "FREQ=WEEKLY;BYDAY=TU;COUNT=10",
            ),
            (
                Repeat::Weekly { interval: 2 },
                until,
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270629",
            ),
            (
                Repeat::MonthlyOnDate,
                End::Count(6),
                "FREQ=MONTHLY;BYMONTHDAY=11;COUNT=6",
            ),
            (
                Repeat::MonthlyOnWeekday,
                End::Count(6),
                "FREQ=MONTHLY;BYDAY=2TU;COUNT=6",
            ),
        ];
        for (repeat, end, want) in cases {
            let rule = repeat.rrule(tuesday, end);
            assert_eq!(rule, want);
            parse(&rule).unwrap();
        }
        // The fifth Thursday of a month is its last.
        let fifth = NaiveDate::from_ymd_opt(2027, 4, 29).unwrap();
        assert_eq!(weekday_ordinal(fifth), -1);
        assert_eq!(nth_weekday_words(fifth), "siste torsdag");
        assert_eq!(nth_weekday_words(tuesday), "andre tirsdag");
        assert_eq!(
            Repeat::MonthlyOnWeekday.rrule(fifth, End::Count(3)),
            "FREQ=MONTHLY;BYDAY=-1TH;COUNT=3"
        );
    }

    #[test]
    fn patterns_in_plain_norwegian() {
        let tuesday = NaiveDate::from_ymd_opt(2027, 5, 11).unwrap();
        let words = |text: &str| parse(text).unwrap().describe(tuesday);
        assert_eq!(words("FREQ=WEEKLY;BYDAY=TU;COUNT=10"), "hver tirsdag, 10 ganger");
        assert_eq!(
            words("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270629"),
            "annenhver tirsdag, til og med tirsdag 29. juni 2027"
        );
        assert_eq!(
            words("FREQ=WEEKLY;INTERVAL=3;COUNT=4"),
            "hver 3. uke på tirsdag, 4 ganger"
        );
        assert_eq!(
            words("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=9"),
            "hver mandag, onsdag og fredag, 9 ganger"
        );
        assert_eq!(
            words("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6"),
            "den 15. hver måned, 6 ganger"
        );
        assert_eq!(
            words("FREQ=MONTHLY;BYDAY=2TU;COUNT=6"),
            "andre tirsdag hver måned, 6 ganger"
        );
        assert_eq!(
            words("FREQ=MONTHLY;BYDAY=-1TH;COUNT=2"),
            "siste torsdag hver måned, 2 ganger"
        );
        assert_eq!(words("FREQ=MONTHLY;COUNT=1"), "den 11. hver måned, 1 gang");
        assert_eq!(words("FREQ=DAILY;INTERVAL=2;COUNT=5"), "annenhver dag, 5 ganger");
        // A stored series' UNTIL is a UTC time: its Oslo day is the last.
        assert_eq!(
            words("FREQ=WEEKLY;BYDAY=TU;UNTIL=20270629T215959Z"),
            "hver tirsdag, til og med tirsdag 29. juni 2027"
        );
    }

    #[test]
    fn acceptance_follows_both_limits() {
        assert!(accepted(20, 4, 4, 25));
        assert!(!accepted(20, 5, 4, 25));
        assert!(!accepted(8, 3, 4, 25));
        assert!(accepted(8, 2, 4, 25));
        assert!(accepted(10, 0, 4, 25));
    }
}
