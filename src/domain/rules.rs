//! The booking rules as data: rooms, priority tiers, organisations, closures.
//! Built and validated from configuration by `crate::config`; read by the pure rules here.

use chrono::{NaiveDate, NaiveTime, Weekday};

use super::holidays::holiday_names;

/// One priority tier («prioritetsgruppe»). Lower `rank` means higher priority.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub key: String,
    pub rank: usize,
    /// Norwegian name, e.g. «klyngepartner».
    pub name: String,
    /// Norwegian plural used in sentences, e.g. «Klyngepartnere».
    pub plural: String,
    pub horizon_days: i64,
    pub min_minutes: i64,
    pub max_minutes: i64,
    pub auto_confirm: bool,
    pub monthly_quota_hours: Option<i64>,
    /// The contact must check in around the start, or the booking is released as a no-show.
    pub check_in: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    pub key: String,
    pub name: String,
    pub tier: String,
    pub email_domains: Vec<String>,
}

/// The weekday names used as configuration keys, Monday first.
pub const WEEKDAY_KEYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Opening hours per weekday (index 0 = Monday); `None` is closed all day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpeningHours(pub [Option<(NaiveTime, NaiveTime)>; 7]);

impl OpeningHours {
    pub fn on(&self, weekday: Weekday) -> Option<(NaiveTime, NaiveTime)> {
        self.0[weekday.num_days_from_monday() as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub key: String,
    pub name: String,
    pub address: String,
    pub capacity: i64,
    pub opening_hours: OpeningHours,
    /// Rigging and cleaning time kept free after every booking.
    pub buffer_minutes: i64,
    /// Start and end must fall on this grid (minutes past the hour).
    pub slot_minutes: i64,
}

/// A configured closed period, both dates included.
#[derive(Debug, Clone, PartialEq)]
pub struct Closure {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub name: String,
    /// `None` closes every room.
    pub room: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub rooms: Vec<Room>,
    /// In priority order: index = rank.
    pub tiers: Vec<Tier>,
    pub organisations: Vec<Organisation>,
    /// Confirmed bookings that start within this many days are firm.
    pub protection_window_days: i64,
    pub closures: Vec<Closure>,
    pub closed_on_public_holidays: bool,
    /// How many alternatives a refusal offers.
    pub alternatives: usize,
    /// How many of a series' occurrences may be refused for it to be stored anyway.
    pub series: SeriesLimits,
    /// How long a freed slot is held for the first on the waitlist.
    pub waitlist: WaitlistRules,
    /// When a booking of a tier with check-in must be claimed.
    pub check_in: CheckInRules,
}

/// `[waitlist]`: a hold lasts `hold_hours`, and ends at the latest
/// `hold_ends_before_start_hours` before the booking would start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitlistRules {
    #[serde(default = "WaitlistRules::default_hold_hours")]
    pub hold_hours: i64,
    #[serde(default = "WaitlistRules::default_hold_ends_before_start_hours")]
    pub hold_ends_before_start_hours: i64,
}

impl WaitlistRules {
    fn default_hold_hours() -> i64 {
        24
    }
    fn default_hold_ends_before_start_hours() -> i64 {
        2
    }
}

impl Default for WaitlistRules {
    fn default() -> Self {
        Self {
            hold_hours: Self::default_hold_hours(),
            hold_ends_before_start_hours: Self::default_hold_ends_before_start_hours(),
        }
    }
}

/// `[check_in]`: check-in opens `opens_minutes_before` the start, and a booking not checked
/// in `release_minutes` after its start is released as a no-show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInRules {
    #[serde(default = "CheckInRules::default_opens_minutes_before")]
    pub opens_minutes_before: i64,
    #[serde(default = "CheckInRules::default_release_minutes")]
    pub release_minutes: i64,
}

impl CheckInRules {
    fn default_opens_minutes_before() -> i64 {
        15
    }
    fn default_release_minutes() -> i64 {
        20
    }
}

impl Default for CheckInRules {
    fn default() -> Self {
        Self {
            opens_minutes_before: Self::default_opens_minutes_before(),
            release_minutes: Self::default_release_minutes(),
        }
    }
}

/// A series is stored when at most `max_conflicts`, and at most `max_conflict_percent` per
/// cent, of its occurrences are busy or refused by a rule (Exchange's
/// `MaximumConflictInstances` and `ConflictPercentageAllowed`); those are declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesLimits {
    #[serde(default = "SeriesLimits::default_max_conflicts")]
    pub max_conflicts: usize,
    #[serde(default = "SeriesLimits::default_max_conflict_percent")]
    pub max_conflict_percent: u32,
}

impl SeriesLimits {
    fn default_max_conflicts() -> usize {
        4
    }
    fn default_max_conflict_percent() -> u32 {
        25
    }
}

impl Default for SeriesLimits {
    fn default() -> Self {
        Self {
            max_conflicts: Self::default_max_conflicts(),
            max_conflict_percent: Self::default_max_conflict_percent(),
        }
    }
}

impl Rules {
    pub fn room(&self, key: &str) -> Option<&Room> {
        self.rooms.iter().find(|r| r.key == key)
    }

    pub fn tier(&self, key: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.key == key)
    }

    pub fn organisation(&self, key: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.key == key)
    }

    /// An organisation's name; its key when it is no longer configured.
    pub fn org_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.organisation(key).map(|o| o.name.as_str()).unwrap_or(key)
    }

    /// A room's name; its key when the room is no longer configured.
    pub fn room_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.room(key).map(|r| r.name.as_str()).unwrap_or(key)
    }

    /// A room's name and address, e.g. «Borgertun, Årstadveien 17, 5009 Bergen»; its key when
    /// the room is no longer configured.
    pub fn room_place(&self, key: &str) -> String {
        match self.room(key) {
            Some(r) => format!("{}, {}", r.name, r.address),
            None => key.to_string(),
        }
    }

    /// The tier of an organisation. An organisation no longer in the configuration ranks below
    /// every tier, so it never blocks a configured one.
    pub fn tier_of_org(&self, org: &str) -> Option<&Tier> {
        self.organisation(org).and_then(|o| self.tier(&o.tier))
    }

    pub fn rank_of_org(&self, org: &str) -> usize {
        self.tier_of_org(org).map(|t| t.rank).unwrap_or(self.tiers.len())
    }

    /// Why `room` is closed all of `date`, if it is: holiday names, closure names, or the
    /// weekday without opening hours.
    pub fn closed_reason(&self, room: &Room, date: NaiveDate) -> Option<String> {
        use chrono::Datelike;
        let mut reasons: Vec<String> = Vec::new();
        if self.closed_on_public_holidays {
            reasons.extend(holiday_names(date).into_iter().map(String::from));
        }
        reasons.extend(
            self.closures
                .iter()
                .filter(|c| c.from <= date && date <= c.to)
                .filter(|c| c.room.as_deref().is_none_or(|r| r == room.key))
                .map(|c| c.name.clone()),
        );
        if reasons.is_empty() && room.opening_hours.on(date.weekday()).is_none() {
            reasons.push(format!("stengt på {}", super::time::weekday_plural(date.weekday())));
        }
        (!reasons.is_empty()).then(|| reasons.join(", "))
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! The shipped defaults, for unit tests of the pure rules.
    use super::*;

    pub fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    pub fn rules() -> Rules {
        let tier = |key: &str, rank, name: &str, horizon| Tier {
            key: key.into(),
            rank,
            name: name.into(),
            plural: format!("{name}e"),
            horizon_days: horizon,
            min_minutes: 30,
            max_minutes: 12 * 60,
            auto_confirm: true,
            monthly_quota_hours: None,
            check_in: false,
        };
        let weekday = Some((hm(8, 0), hm(21, 0)));
        let org = |key: &str, tier: &str| Organisation {
            key: key.into(),
            name: key.to_uppercase(),
            tier: tier.into(),
            email_domains: vec![],
        };
        Rules {
            rooms: vec![Room {
                key: "borgertun".into(),
                name: "Borgertun".into(),
                address: "Årstadveien 17, 5009 Bergen".into(),
                capacity: 80,
                opening_hours: OpeningHours([weekday, weekday, weekday, weekday, weekday, None, None]),
                buffer_minutes: 15,
                slot_minutes: 15,
            }],
            tiers: vec![
                tier("owner", 0, "eier", 365),
                tier("municipal", 1, "Bergen kommune", 180),
                tier("partner", 2, "klyngepartner", 90),
                tier("collaborator", 3, "samarbeidspartner", 60),
            ],
            organisations: vec![
                org("beho", "owner"),
                org("bbsm", "municipal"),
                org("uib", "partner"),
                org("hvl", "partner"),
                org("skil", "collaborator"),
            ],
            protection_window_days: 14,
            closures: vec![Closure {
                from: NaiveDate::from_ymd_opt(2026, 7, 6).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 8, 2).unwrap(),
                name: "sommerstengt".into(),
                room: None,
            }],
            closed_on_public_holidays: true,
            alternatives: 5,
            series: SeriesLimits::default(),
            waitlist: WaitlistRules::default(),
            check_in: CheckInRules::default(),
        }
    }
}
