//! Norwegian public holidays («helligdager»), computed from Easter Sunday.

use chrono::{Datelike, Duration, NaiveDate};

/// Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("valid Easter date")
}

/// Every public holiday of `year`, in date order, with its Norwegian name.
/// Two holidays on one day (17 May 2027 is also Whit Monday) are two entries.
pub fn holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let easter = easter_sunday(year);
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid fixed holiday");
    let mut days = vec![
        (ymd(1, 1), "nyttårsdag"),
        (easter - Duration::days(3), "skjærtorsdag"),
        (easter - Duration::days(2), "langfredag"),
        (easter, "1. påskedag"),
        (easter + Duration::days(1), "2. påskedag"),
        (ymd(5, 1), "1. mai"),
        (easter + Duration::days(39), "Kristi himmelfartsdag"),
        (ymd(5, 17), "17. mai"),
        (easter + Duration::days(49), "1. pinsedag"),
        (easter + Duration::days(50), "2. pinsedag"),
        (ymd(12, 25), "1. juledag"),
        (ymd(12, 26), "2. juledag"),
    ];
    days.sort_by_key(|(d, _)| *d);
    days
}

/// The names of the public holidays on `date` (empty on an ordinary day).
pub fn holiday_names(date: NaiveDate) -> Vec<&'static str> {
    holidays(date.year())
        .into_iter()
        .filter(|(d, _)| *d == date)
        .map(|(_, n)| n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Easter Sundays from the Norwegian almanac.
    #[test]
    fn easter_matches_the_almanac() {
        let known = [
            (2024, d(2024, 3, 31)),
            (2025, d(2025, 4, 20)),
            (2026, d(2026, 4, 5)),
            (2027, d(2027, 3, 28)),
            (2028, d(2028, 4, 16)),
            (2029, d(2029, 4, 1)),
            (2030, d(2030, 4, 21)),
            (2038, d(2038, 4, 25)),
            (2285, d(2285, 3, 22)),
        ];
        for (year, date) in known {
            assert_eq!(easter_sunday(year), date, "Easter {year}");
        }
    }

    /// The moving holidays 2025–2030 as published (skjærtorsdag, langfredag, 2. påskedag,
    /// Kristi himmelfartsdag, 2. pinsedag).
    #[test]
    fn moving_holidays_2025_to_2030_match_the_published_table() {
        let table = [
            (
                2025,
                [
                    d(2025, 4, 17),
                    d(2025, 4, 18),
                    d(2025, 4, 21),
                    d(2025, 5, 29),
                    d(2025, 6, 9),
                ],
            ),
            (
                2026,
                [
                    d(2026, 4, 2),
                    d(2026, 4, 3),
                    d(2026, 4, 6),
                    d(2026, 5, 14),
                    d(2026, 5, 25),
                ],
            ),
            (
                2027,
                [
                    d(2027, 3, 25),
                    d(2027, 3, 26),
                    d(2027, 3, 29),
                    d(2027, 5, 6),
                    d(2027, 5, 17),
                ],
            ),
            (
                2028,
                [
                    d(2028, 4, 13),
                    d(2028, 4, 14),
                    d(2028, 4, 17),
                    d(2028, 5, 25),
                    d(2028, 6, 5),
                ],
            ),
            (
                2029,
                [
                    d(2029, 3, 29),
                    d(2029, 3, 30),
                    d(2029, 4, 2),
                    d(2029, 5, 10),
                    d(2029, 5, 21),
                ],
            ),
            (
                2030,
                [
                    d(2030, 4, 18),
                    d(2030, 4, 19),
                    d(2030, 4, 22),
                    d(2030, 5, 30),
                    d(2030, 6, 10),
                ],
            ),
        ];
        let names = [
            "skjærtorsdag",
            "langfredag",
            "2. påskedag",
            "Kristi himmelfartsdag",
            "2. pinsedag",
        ];
        for (year, dates) in table {
            let all = holidays(year);
            assert_eq!(all.len(), 12, "{year} has twelve holidays");
            for (date, name) in dates.iter().zip(names) {
                assert!(all.contains(&(*date, name)), "{year}: {name} on {date}");
            }
            for fixed in [
                d(year, 1, 1),
                d(year, 5, 1),
                d(year, 5, 17),
                d(year, 12, 25),
                d(year, 12, 26),
            ] {
                assert!(!holiday_names(fixed).is_empty(), "{fixed} is a holiday");
            }
        }
    }

    #[test]
    fn two_holidays_on_one_day_both_have_their_names() {
        assert_eq!(holiday_names(d(2027, 5, 17)), vec!["17. mai", "2. pinsedag"]);
        // In 2025 Kristi himmelfartsdag and 1. mai are apart; an ordinary day has none.
        assert!(holiday_names(d(2026, 3, 2)).is_empty());
        assert_eq!(holiday_names(d(2026, 5, 14)), vec!["Kristi himmelfartsdag"]);
    }
}
