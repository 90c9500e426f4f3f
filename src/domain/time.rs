//! Time in Europe/Oslo and Norwegian date formatting.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Europe::Oslo;
use chrono_tz::Tz;

pub const TZ: Tz = Oslo;

pub fn local(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&TZ)
}

/// The instant of a wall-clock time in Oslo. `None` in the spring-forward gap; the earlier
/// instant in the autumn overlap.
pub fn at_local(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    match TZ.from_local_datetime(&NaiveDateTime::new(date, time)) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The years a date or time sent by a user may fall in. Everything outside is refused at the
/// edge (the API's `invalid_date` / `invalid_time`, a field error on the pages), so no rule
/// below it ever meets a year like -2 or 99999.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2999;

/// Whether `year` is one of [`YEARS`].
pub fn year_in_range(year: i32) -> bool {
    YEARS.contains(&year)
}

/// A date as users write it, `YYYY-MM-DD` (surrounding spaces ignored), in [`YEARS`].
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| year_in_range(d.year()))
}

/// What to write instead of a date [`parse_day`] refuses, for field errors.
pub fn day_hint() -> String {
    format!(
        "Skriv datoen som åååå-mm-dd. Året må være fra {} til {}.",
        YEARS.start(),
        YEARS.end()
    )
}

/// Midnight at the start of `date` in Oslo.
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    at_local(date, NaiveTime::MIN).expect("midnight exists in Europe/Oslo")
}

/// RFC 3339 in Europe/Oslo with its offset, as the API answers.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    local(t).to_rfc3339()
}

pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "mandag",
        Weekday::Tue => "tirsdag",
        Weekday::Wed => "onsdag",
        Weekday::Thu => "torsdag",
        Weekday::Fri => "fredag",
        Weekday::Sat => "lørdag",
        Weekday::Sun => "søndag",
    }
}

/// Plural form used in rules text: «mandager».
pub fn weekday_plural(w: Weekday) -> String {
    format!("{}er", weekday_name(w))
}

pub fn month_name(m: u32) -> &'static str {
    [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ][(m as usize).saturating_sub(1) % 12]
}

/// «mandag 2. mars 2026»
pub fn format_date(d: NaiveDate) -> String {
    format!(
        "{} {}. {} {}",
        weekday_name(d.weekday()),
        d.day(),
        month_name(d.month()),
        d.year()
    )
}

/// «09.00»
pub fn format_time(t: NaiveTime) -> String {
    format!("{:02}.{:02}", t.hour(), t.minute())
}

/// «mandag 2. mars 2026 kl. 09.00»
pub fn format_datetime(t: DateTime<Utc>) -> String {
    let l = local(t);
    format!("{} kl. {}", format_date(l.date_naive()), format_time(l.time()))
}

/// «mandag 2. mars 2026 kl. 09.00–11.00» (the end's date is given when it differs).
pub fn format_range(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (s, e) = (local(start), local(end));
    if s.date_naive() == e.date_naive() {
        format!("{}–{}", format_datetime(start), format_time(e.time()))
    } else {
        format!("{} – {}", format_datetime(start), format_datetime(end))
    }
}

/// «1,5 timer», «2 timer», «45 minutter»
pub fn format_minutes(minutes: i64) -> String {
    if minutes % 60 == 0 {
        let h = minutes / 60;
        if h == 1 {
            "1 time".into()
        } else {
            format!("{h} timer")
        }
    } else if minutes < 60 {
        format!("{minutes} minutter")
    } else {
        let text = format!("{:.2}", minutes as f64 / 60.0);
        let text = text.trim_end_matches('0').trim_end_matches('.').replace('.', ",");
        format!("{text} timer")
    }
}

/// The Monday of the ISO week of `date`.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - chrono::Duration::days(date.weekday().num_days_from_monday() as i64)
}

/// «Uke 10 · 2.–8. mars 2026», «Uke 49 · 30. november–6. desember 2026»,
/// «Uke 53 · 28. desember 2026–3. januar 2027».
pub fn format_week(monday: NaiveDate) -> String {
    let sunday = monday + chrono::Duration::days(6);
    let week = monday.iso_week().week();
    let range = if monday.year() != sunday.year() {
        format!(
            "{}. {} {}–{}. {} {}",
            monday.day(),
            month_name(monday.month()),
            monday.year(),
            sunday.day(),
            month_name(sunday.month()),
            sunday.year()
        )
    } else if monday.month() != sunday.month() {
        format!(
            "{}. {}–{}. {} {}",
            monday.day(),
            month_name(monday.month()),
            sunday.day(),
            month_name(sunday.month()),
            sunday.year()
        )
    } else {
        format!(
            "{}.–{}. {} {}",
            monday.day(),
            sunday.day(),
            month_name(sunday.month()),
            sunday.year()
        )
    };
    format!("Uke {week} · {range}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_dates() {
        let t = at_local(
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(format_datetime(t), "mandag 2. mars 2026 kl. 09.00");
        assert_eq!(
            format_range(t, t + chrono::Duration::hours(2)),
            "mandag 2. mars 2026 kl. 09.00–11.00"
        );
        assert_eq!(format_minutes(90), "1,5 timer");
        assert_eq!(format_minutes(45), "45 minutter");
        assert_eq!(format_minutes(120), "2 timer");
        assert_eq!(format_minutes(75), "1,25 timer");
    }

    #[test]
    fn days_outside_the_years_are_refused() {
        assert_eq!(parse_day(" 2026-03-02 "), NaiveDate::from_ymd_opt(2026, 3, 2));
        for bad in [
            "-0002-03-02",
            "1999-12-31",
            "3000-01-01",
            "99999-01-01",
            "2026-02-30",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn week_headings() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(format_week(monday_of(d(2026, 3, 4))), "Uke 10 · 2.–8. mars 2026");
        assert_eq!(
            format_week(monday_of(d(2026, 12, 1))),
            "Uke 49 · 30. november–6. desember 2026"
        );
        assert_eq!(
            format_week(monday_of(d(2027, 1, 1))),
            "Uke 53 · 28. desember 2026–3. januar 2027"
        );
    }

    #[test]
    fn nine_oclock_stays_nine_oclock_across_dst() {
        // Monday after spring forward (29 March 2026) and after fall back (25 October 2026).
        for (date, offset) in [
            ((2026, 3, 27), 1),
            ((2026, 3, 30), 2),
            ((2026, 10, 23), 2),
            ((2026, 10, 26), 1),
        ] {
            let d = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
            let t = at_local(d, NaiveTime::from_hms_opt(9, 0, 0).unwrap()).unwrap();
            assert_eq!(t.hour(), 9 - offset, "{d}");
            assert_eq!(local(t).hour(), 9);
            assert!(rfc3339(t).ends_with(&format!("+0{offset}:00")), "{}", rfc3339(t));
        }
        // The spring-forward gap has no 02.30.
        assert!(at_local(
            NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap()
        )
        .is_none());
    }
}
