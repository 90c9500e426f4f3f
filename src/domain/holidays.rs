//! Norwegian public holidays («helligdager»), computed from Easter Sunday.

use chrono::{Datelike, Duration, NaiveDate};

/// Easter Sunday of `year` in the (proleptic) Gregorian calendar (anonymous Gregorian
/// algorithm, with floor division so that it holds for every year); `None` only for a year
/// outside the dates chrono can represent. Never panics.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    // 0 <= h < 30 and 0 <= l < 7, so this is March or April.
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// Every public holiday of `year`, in date order, with its Norwegian name.
/// Two holidays on one day (17 May 2027 is also Whit Monday) are two entries. A year chrono
/// cannot represent has none (dates users send are bounded long before: `time::YEARS`).
pub fn holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let easter = easter_sunday(year);
    let from_easter = |days: i64| easter.and_then(|e| e.checked_add_signed(Duration::try_days(days)?));
    let mut days: Vec<(NaiveDate, &'static str)> = [
        (ymd(1, 1), "nyttårsdag"),
        (from_easter(-3), "skjærtorsdag"),
        (from_easter(-2), "langfredag"),
        (easter, "1. påskedag"),
        (from_easter(1), "2. påskedag"),
        (ymd(5, 1), "1. mai"),
        (from_easter(39), "Kristi himmelfartsdag"),
        (ymd(5, 17), "17. mai"),
        (from_easter(49), "1. pinsedag"),
        (from_easter(50), "2. pinsedag"),
        (ymd(12, 25), "1. juledag"),
        (ymd(12, 26), "2. juledag"),
    ]
    .into_iter()
    .filter_map(|(d, name)| Some((d?, name)))
    .collect();
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
            assert_eq!(easter_sunday(year), Some(date), "Easter {year}");
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

    /// Any year at all, even one no user can send, gives an answer and never panics.
    #[test]
    fn absurd_years_do_not_panic() {
        for year in [-2, -7, -1, 0, 1, 99_999, i32::MIN, i32::MAX, -262_144, 262_143] {
            let days = holidays(year);
            assert!(days.len() <= 12, "{year}");
            if let Some(e) = easter_sunday(year) {
                assert!((3..=4).contains(&e.month()), "{year}: {e}");
            }
        }
        assert_eq!(holidays(-2).len(), 12);
        assert!(holiday_names(NaiveDate::from_ymd_opt(-2, 3, 2).unwrap()).len() <= 2);
    }

    #[test]
    fn two_holidays_on_one_day_both_have_their_names() {
        assert_eq!(holiday_names(d(2027, 5, 17)), vec!["17. mai", "2. pinsedag"]);
        // In 2025 Kristi himmelfartsdag and 1. mai are apart; an ordinary day has none.
        assert!(holiday_names(d(2026, 3, 2)).is_empty());
        assert_eq!(holiday_names(d(2026, 5, 14)), vec!["Kristi himmelfartsdag"]);
    }
}
