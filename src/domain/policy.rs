//! Policy checks (DESIGN.md §4.1): each violation is a specific Norwegian message with a
//! stable code.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

use super::error::DomainError;
use super::rules::{Room, Rules, Tier};
use super::time::{format_date, format_datetime, format_minutes, format_time, local, month_name};

/// A half-open interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Slot {
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }
}

/// Every policy problem of a request for `slot` in `room` by someone in `tier`, in the order a
/// person would fix them. Empty when the request passes.
pub fn check(
    rules: &Rules,
    room: &Room,
    tier: &Tier,
    slot: Slot,
    attendees: i64,
    now: DateTime<Utc>,
) -> Vec<DomainError> {
    let mut errors = Vec::new();
    let (start, end) = (local(slot.start), local(slot.end));

    if slot.end <= slot.start {
        errors.push(DomainError::new("end_before_start", "Sluttidspunktet må være etter starttidspunktet.").on("end"));
        return errors;
    }
    if slot.start < now {
        errors.push(
            DomainError::new(
                "in_past",
                format!(
                    "Starttidspunktet ({}) har allerede passert.",
                    format_datetime(slot.start)
                ),
            )
            .on("start"),
        );
    } else if start.date_naive() > last_bookable_day(tier, now) {
        let last = last_bookable_day(tier, now);
        errors.push(
            DomainError::new(
                "beyond_horizon",
                format!(
                    "{} kan booke inntil {} dager frem i tid, det vil si til og med {}.",
                    tier.plural,
                    tier.horizon_days,
                    format_date(last)
                ),
            )
            .on("start"),
        );
    }
    let on_grid = |t: chrono::DateTime<chrono_tz::Tz>| {
        t.second() == 0 && t.nanosecond() == 0 && (t.minute() as i64) % room.slot_minutes == 0
    };
    if !on_grid(start) || !on_grid(end) {
        errors.push(
            DomainError::new(
                "not_on_slot_grid",
                format!(
                    "Start og slutt må ligge på hele {} minutter (for eksempel kl. 09.00 eller kl. 09.{:02}).",
                    room.slot_minutes,
                    room.slot_minutes % 60
                ),
            )
            .on(if on_grid(start) { "end" } else { "start" }),
        );
    }
    let minutes = slot.minutes();
    if minutes < tier.min_minutes {
        errors.push(
            DomainError::new(
                "too_short",
                format!("En booking må vare minst {}.", format_minutes(tier.min_minutes)),
            )
            .on("end"),
        );
    } else if minutes > tier.max_minutes {
        errors.push(
            DomainError::new(
                "too_long",
                format!("En booking kan vare høyst {}.", format_minutes(tier.max_minutes)),
            )
            .on("end"),
        );
    }

    let day = start.date_naive();
    if let Some(reason) = rules.closed_reason(room, day) {
        errors.push(
            DomainError::new(
                "closed_day",
                format!("{} er stengt {} ({}).", room.name, format_date(day), reason),
            )
            .on("start"),
        );
    } else if let Some((open, close)) = room.opening_hours.on(day.weekday()) {
        let same_day = end.date_naive() == day
            || (end.date_naive() == day.succ_opt().unwrap_or(day)
                && end.time() == chrono::NaiveTime::MIN
                && close == chrono::NaiveTime::MIN);
        if start.time() < open || !same_day || end.time() > close {
            errors.push(
                DomainError::new(
                    "outside_opening_hours",
                    format!(
                        "Åpningstiden på {} er kl. {}–{}. Bookingen må ligge innenfor åpningstiden.",
                        super::time::weekday_plural(day.weekday()),
                        format_time(open),
                        format_time(close)
                    ),
                )
                .on(if start.time() < open { "start" } else { "end" }),
            );
        }
    }
    if attendees < 1 {
        errors.push(DomainError::new("invalid_attendees", "Antall deltakere må være minst 1.").on("attendees"));
    } else if attendees > room.capacity {
        errors.push(
            DomainError::new(
                "over_capacity",
                format!(
                    "{} har plass til {}. Du oppga {} deltakere.",
                    room.name, room.capacity, attendees
                ),
            )
            .on("attendees"),
        );
    }
    errors
}

/// The booking horizon counts whole days: `horizon_days` after today, that day included.
pub fn last_bookable_day(tier: &Tier, now: DateTime<Utc>) -> chrono::NaiveDate {
    local(now).date_naive() + Duration::days(tier.horizon_days)
}

/// The monthly quota check, given the minutes the organisation already holds (confirmed and
/// pending) in the month of `slot`.
pub fn check_quota(tier: &Tier, org_name: &str, slot: Slot, used_minutes: i64) -> Option<DomainError> {
    let quota = tier.monthly_quota_hours? * 60;
    if used_minutes + slot.minutes() <= quota {
        return None;
    }
    let month = local(slot.start);
    Some(
        DomainError::new(
            "quota_exceeded",
            format!(
                "{org_name} har en kvote på {} i {} {}. {} er allerede booket, og denne bookingen er på {}.",
                format_minutes(quota),
                month_name(month.month()),
                month.year(),
                format_minutes(used_minutes),
                format_minutes(slot.minutes())
            ),
        )
        .on("start"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixtures::{hm, rules};
    use crate::domain::time::at_local;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        at_local(NaiveDate::from_ymd_opt(y, m, d).unwrap(), hm(h, min)).unwrap()
    }

    fn codes(r: &Rules, tier: &str, slot: Slot, attendees: i64, now: DateTime<Utc>) -> Vec<&'static str> {
        check(r, &r.rooms[0], r.tier(tier).unwrap(), slot, attendees, now)
            .into_iter()
            .map(|e| e.code)
            .collect()
    }

    fn now() -> DateTime<Utc> {
        at(2026, 2, 20, 12, 0)
    }

    #[test]
    fn a_normal_request_passes() {
        let r = rules();
        let slot = Slot {
            start: at(2026, 3, 2, 9, 0),
            end: at(2026, 3, 2, 11, 0),
        };
        assert!(codes(&r, "partner", slot, 20, now()).is_empty());
    }

    #[test]
    fn each_rule_has_its_code() {
        let r = rules();
        let s = |a, b| Slot { start: a, end: b };
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 7, 0), at(2026, 3, 2, 9, 0)), 5, now()),
            ["outside_opening_hours"]
        );
        assert_eq!(
            codes(
                &r,
                "partner",
                s(at(2026, 3, 2, 20, 0), at(2026, 3, 2, 21, 30)),
                5,
                now()
            ),
            ["outside_opening_hours"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 4, 3, 9, 0), at(2026, 4, 3, 10, 0)), 5, now()),
            ["closed_day"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 7, 9, 0), at(2026, 3, 7, 10, 0)), 5, now()),
            ["closed_day"]
        );
        assert_eq!(
            codes(&r, "owner", s(at(2026, 7, 8, 9, 0), at(2026, 7, 8, 10, 0)), 5, now()),
            ["closed_day"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 6, 1, 9, 0), at(2026, 6, 1, 10, 0)), 5, now()),
            ["beyond_horizon"]
        );
        assert!(codes(&r, "owner", s(at(2026, 6, 1, 9, 0), at(2026, 6, 1, 10, 0)), 5, now()).is_empty());
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 9, 0), at(2026, 3, 2, 9, 15)), 5, now()),
            ["too_short"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 8, 0), at(2026, 3, 2, 20, 15)), 5, now()),
            ["too_long"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 9, 0), at(2026, 3, 2, 10, 0)), 81, now()),
            ["over_capacity"]
        );
        assert_eq!(
            codes(
                &r,
                "partner",
                s(at(2026, 2, 19, 9, 0), at(2026, 2, 19, 10, 0)),
                5,
                now()
            ),
            ["in_past"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 9, 10), at(2026, 3, 2, 10, 0)), 5, now()),
            ["not_on_slot_grid"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 10, 0), at(2026, 3, 2, 9, 0)), 5, now()),
            ["end_before_start"]
        );
        assert_eq!(
            codes(&r, "partner", s(at(2026, 3, 2, 9, 0), at(2026, 3, 2, 10, 0)), 0, now()),
            ["invalid_attendees"]
        );
    }

    #[test]
    fn messages_are_specific_and_norwegian() {
        let r = rules();
        let tier = r.tier("partner").unwrap();
        let e = &check(
            &r,
            &r.rooms[0],
            tier,
            Slot {
                start: at(2027, 5, 17, 9, 0),
                end: at(2027, 5, 17, 10, 0),
            },
            5,
            at(2027, 4, 1, 8, 0),
        )[0];
        assert_eq!(
            e.message,
            "Borgertun er stengt mandag 17. mai 2027 (17. mai, 2. pinsedag)."
        );
        let e = &check(
            &r,
            &r.rooms[0],
            tier,
            Slot {
                start: at(2026, 3, 2, 9, 0),
                end: at(2026, 3, 2, 10, 0),
            },
            120,
            now(),
        )[0];
        assert_eq!(e.message, "Borgertun har plass til 80. Du oppga 120 deltakere.");
        let e = &check(
            &r,
            &r.rooms[0],
            tier,
            Slot {
                start: at(2026, 6, 1, 9, 0),
                end: at(2026, 6, 1, 10, 0),
            },
            5,
            now(),
        )[0];
        assert!(
            e.message
                .starts_with("klyngepartnere kan booke inntil 90 dager frem i tid"),
            "{}",
            e.message
        );
    }

    #[test]
    fn quota_counts_what_is_already_held() {
        let mut r = rules();
        r.tiers[2].monthly_quota_hours = Some(10);
        let tier = r.tier("partner").unwrap();
        let slot = Slot {
            start: at(2026, 3, 2, 9, 0),
            end: at(2026, 3, 2, 11, 0),
        };
        assert!(check_quota(tier, "UiB", slot, 8 * 60).is_none());
        let e = check_quota(tier, "UiB", slot, 8 * 60 + 15).unwrap();
        assert_eq!(e.code, "quota_exceeded");
        assert!(e.message.contains("kvote på 10 timer i mars 2026"), "{}", e.message);
        assert!(check_quota(r.tier("owner").unwrap(), "BEHO", slot, 10_000).is_none());
    }

    #[test]
    fn nine_oclock_on_both_sides_of_dst_passes_opening_hours() {
        let r = rules();
        for (m, d) in [(3, 27), (3, 30), (10, 23), (10, 26)] {
            let slot = Slot {
                start: at(2026, m, d, 9, 0),
                end: at(2026, m, d, 21, 0),
            };
            assert!(codes(&r, "owner", slot, 5, at(2026, 3, 1, 0, 0)).is_empty(), "{m}-{d}");
        }
    }
}
