//! The report to the director's management group, computed from the bookings of a period:
//! events, hours and participants per plan measure, focus area, goal area, organisation, tier
//! and activity kind; the share of events that brought three or more participant groups
//! together; room utilisation; unmet demand. Pure: the caller loads the bookings.
//!
//! Definitions (also in the README):
//! - an *event* is a confirmed booking that starts in the period (`from` to `to`, both days
//!   included, Oslo time); its *hours* are from start to end;
//! - an event with several measures (or goal areas) counts once in each of their rows, so the
//!   rows of a grouping may add up to more than the total; an event without any is counted in
//!   the row «Ikke oppgitt»;
//! - a focus area row counts an event once even when several of its measures name that area;
//! - *participants* are the expected numbers per group from the booking, and the actual ones
//!   where attendance is registered;
//! - an event *brought three or more groups together* when at least three groups have
//!   participants: actual numbers where attendance is registered, else the expected ones;
//! - *utilisation* is the confirmed events' hours divided by the open hours of the rooms in the
//!   period (opening hours of every day that is not closed);
//! - *unmet demand* is the requests refused («avslått») and the bookings taken back («trukket
//!   tilbake») that start in the period, by tier and by organisation.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::plan::{Plan, Vocabulary};
use super::time::local;
use super::{Booking, Rules, Status};

/// The row key for events without the item a grouping needs.
pub const NONE_KEY: &str = "";
pub const NONE_NAME: &str = "Ikke oppgitt";

/// The groupings of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Measure,
    FocusArea,
    GoalArea,
    Organisation,
    Tier,
    Kind,
}

impl GroupBy {
    pub const ALL: [GroupBy; 6] = [
        GroupBy::Measure,
        GroupBy::FocusArea,
        GroupBy::GoalArea,
        GroupBy::Organisation,
        GroupBy::Tier,
        GroupBy::Kind,
    ];

    /// The key in URLs and the JSON API.
    pub fn key(self) -> &'static str {
        match self {
            GroupBy::Measure => "measure",
            GroupBy::FocusArea => "focus_area",
            GroupBy::GoalArea => "goal_area",
            GroupBy::Organisation => "organisation",
            GroupBy::Tier => "tier",
            GroupBy::Kind => "kind",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        Self::ALL.into_iter().find(|g| g.key() == s)
    }

    /// The Norwegian heading.
    pub fn title(self) -> &'static str {
        match self {
            GroupBy::Measure => "Per tiltak",
            GroupBy::FocusArea => "Per satsingsområde",
            GroupBy::GoalArea => "Per målområde",
            GroupBy::Organisation => "Per virksomhet",
            GroupBy::Tier => "Per prioritetsgruppe",
            GroupBy::Kind => "Per aktivitetstype",
        }
    }

    /// The column heading of the row names.
    pub fn noun(self) -> &'static str {
        match self {
            GroupBy::Measure => "Tiltak",
            GroupBy::FocusArea => "Satsingsområde",
            GroupBy::GoalArea => "Målområde",
            GroupBy::Organisation => "Virksomhet",
            GroupBy::Tier => "Prioritetsgruppe",
            GroupBy::Kind => "Aktivitetstype",
        }
    }
}

/// The figures of one row (or of the whole period).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub events: i64,
    /// Minutes, to keep sums exact; shown as hours.
    pub minutes: i64,
    /// Per participant group, in the configured order of groups.
    pub expected: BTreeMap<String, i64>,
    pub actual: BTreeMap<String, i64>,
    /// Events with attendance registered.
    pub with_attendance: i64,
    /// Events that brought three or more groups together.
    pub three_groups: i64,
}

impl Figures {
    fn add(&mut self, b: &Booking) {
        self.events += 1;
        self.minutes += (b.end - b.start).num_minutes();
        // `get_mut` first: most keys are there already, and need no new String.
        let add_all = |into: &mut BTreeMap<String, i64>, from: &BTreeMap<String, i64>| {
            for (g, n) in from {
                match into.get_mut(g) {
                    Some(v) => *v += n,
                    None => {
                        into.insert(g.clone(), *n);
                    }
                }
            }
        };
        if let Some(a) = &b.activity {
            add_all(&mut self.expected, &a.expected);
        }
        if let Some(a) = &b.attendance {
            self.with_attendance += 1;
            add_all(&mut self.actual, &a.actual);
        }
        if groups_together(b) >= 3 {
            self.three_groups += 1;
        }
    }

    pub fn hours(&self) -> f64 {
        self.minutes as f64 / 60.0
    }

    /// The share of events with three or more groups, 0–1.
    pub fn three_group_share(&self) -> f64 {
        if self.events == 0 {
            0.0
        } else {
            self.three_groups as f64 / self.events as f64
        }
    }
}

/// How many participant groups an event brought together: actual where registered, else
/// expected.
pub fn groups_together(b: &Booking) -> usize {
    let counts = match (&b.attendance, &b.activity) {
        (Some(a), _) => &a.actual,
        (None, Some(a)) => &a.expected,
        (None, None) => return 0,
    };
    counts.values().filter(|n| **n > 0).count()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    pub name: String,
    pub figures: Figures,
}

/// Refused and taken-back requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unmet {
    pub rejected: i64,
    pub displaced: i64,
    pub minutes: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnmetRow {
    pub key: String,
    pub name: String,
    pub unmet: Unmet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: Figures,
    pub groupings: Vec<(GroupBy, Vec<Row>)>,
    pub open_minutes: i64,
    pub unmet_total: Unmet,
    pub unmet_by_tier: Vec<UnmetRow>,
    pub unmet_by_organisation: Vec<UnmetRow>,
    /// The events, by start.
    pub events: Vec<Booking>,
}

impl Report {
    /// Confirmed hours of the open hours, 0–1.
    pub fn utilisation(&self) -> f64 {
        if self.open_minutes == 0 {
            0.0
        } else {
            self.total.minutes as f64 / self.open_minutes as f64
        }
    }

    pub fn rows(&self, by: GroupBy) -> &[Row] {
        self.groupings
            .iter()
            .find(|(g, _)| *g == by)
            .map(|(_, r)| r.as_slice())
            .unwrap_or_default()
    }
}

/// Whether `b` starts in `[from, to]` (days, Oslo).
pub fn starts_in(b: &Booking, from: NaiveDate, to: NaiveDate) -> bool {
    let day = local(b.start).date_naive();
    from <= day && day <= to
}

/// The row keys of `b` in a grouping (several for measures and goal areas).
fn keys_of(b: &Booking, by: GroupBy, plan: &Plan, rules: &Rules) -> Vec<String> {
    let a = b.activity.as_ref();
    let keys: Vec<String> = match by {
        GroupBy::Measure => a.map(|a| a.measures.clone()).unwrap_or_default(),
        GroupBy::FocusArea => {
            let mut areas: Vec<String> = a
                .map(|a| {
                    a.measures
                        .iter()
                        .filter_map(|m| plan.measure(m).map(|(_, m)| m.focus_area.clone()))
                        .collect()
                })
                .unwrap_or_default();
            areas.sort();
            areas.dedup();
            areas
        }
        GroupBy::GoalArea => a.map(|a| a.goal_areas.clone()).unwrap_or_default(),
        GroupBy::Organisation => vec![b.org.clone()],
        GroupBy::Tier => rules
            .tier_of_org(&b.org)
            .map(|t| vec![t.key.clone()])
            .unwrap_or_default(),
        GroupBy::Kind => a.map(|a| vec![a.kind.clone()]).unwrap_or_default(),
    };
    if keys.is_empty() {
        vec![NONE_KEY.to_string()]
    } else {
        keys
    }
}

/// Every row of a grouping in the configured order (rows with no events included, so the
/// report shows what was not done), then «Ikke oppgitt» if any event lacks the item.
fn all_rows(by: GroupBy, plan: &Plan, rules: &Rules, from: NaiveDate, to: NaiveDate) -> Vec<(String, String)> {
    let in_period = |p: &&super::plan::ActionPlan| p.from <= to && from <= p.to;
    match by {
        GroupBy::Measure => plan
            .plans
            .iter()
            .filter(in_period)
            .flat_map(|p| {
                p.measures
                    .iter()
                    .map(|m| (m.key.clone(), format!("{} ({})", m.name, m.key)))
            })
            .collect(),
        GroupBy::FocusArea => {
            let mut out: Vec<(String, String)> = Vec::new();
            for p in plan.plans.iter().filter(in_period) {
                for a in &p.focus_areas {
                    if !out.iter().any(|(k, _)| *k == a.key) {
                        out.push((a.key.clone(), a.name.clone()));
                    }
                }
            }
            out
        }
        GroupBy::GoalArea => plan
            .terms(Vocabulary::GoalArea)
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
        GroupBy::Kind => plan
            .terms(Vocabulary::Kind)
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
        GroupBy::Organisation => rules
            .organisations
            .iter()
            .map(|o| (o.key.clone(), o.name.clone()))
            .collect(),
        GroupBy::Tier => rules.tiers.iter().map(|t| (t.key.clone(), t.name.clone())).collect(),
    }
}

/// The open minutes of every room from `from` to `to`, both included.
pub fn open_minutes(rules: &Rules, from: NaiveDate, to: NaiveDate) -> i64 {
    let mut total = 0;
    for room in &rules.rooms {
        let mut day = from;
        while day <= to {
            if rules.closed_reason(room, day).is_none() {
                if let Some((open, close)) = room.opening_hours.on(day.weekday()) {
                    total += (close - open).num_minutes();
                }
            }
            day += Duration::days(1);
        }
    }
    total
}

/// The report of `[from, to]` from `bookings` (any statuses; those outside are ignored).
pub fn build(plan: &Plan, rules: &Rules, from: NaiveDate, to: NaiveDate, bookings: &[Booking]) -> Report {
    let mut events: Vec<Booking> = bookings
        .iter()
        .filter(|b| b.status == Status::Confirmed && starts_in(b, from, to))
        .cloned()
        .collect();
    events.sort_by_key(|b| (b.start, b.id));
    let mut total = Figures::default();
    for b in &events {
        total.add(b);
    }
    let groupings = GroupBy::ALL
        .into_iter()
        .map(|by| {
            let mut rows: Vec<Row> = all_rows(by, plan, rules, from, to)
                .into_iter()
                .map(|(key, name)| Row {
                    key,
                    name,
                    figures: Figures::default(),
                })
                .collect();
            let mut index: std::collections::HashMap<String, usize> =
                rows.iter().enumerate().map(|(i, r)| (r.key.clone(), i)).collect();
            for b in &events {
                for key in keys_of(b, by, plan, rules) {
                    let i = match index.get(&key) {
                        Some(&i) => i,
                        None => {
                            index.insert(key.clone(), rows.len());
                            let name = if key == NONE_KEY {
                                NONE_NAME.to_string()
                            } else {
                                key.clone()
                            };
                            rows.push(Row {
                                key: key.clone(),
                                name,
                                figures: Figures::default(),
                            });
                            rows.len() - 1
                        }
                    };
                    rows[i].figures.add(b);
                }
            }
            (by, rows)
        })
        .collect();
    let mut unmet_total = Unmet::default();
    let mut by_tier: Vec<UnmetRow> = rules
        .tiers
        .iter()
        .map(|t| UnmetRow {
            key: t.key.clone(),
            name: t.name.clone(),
            unmet: Unmet::default(),
        })
        .collect();
    let mut by_org: BTreeMap<String, Unmet> = BTreeMap::new();
    for b in bookings
        .iter()
        .filter(|b| matches!(b.status, Status::Rejected | Status::Displaced) && starts_in(b, from, to))
    {
        let add = |u: &mut Unmet| {
            if b.status == Status::Rejected {
                u.rejected += 1;
            } else {
                u.displaced += 1;
            }
            u.minutes += (b.end - b.start).num_minutes();
        };
        add(&mut unmet_total);
        if let Some(t) = rules.tier_of_org(&b.org) {
            if let Some(row) = by_tier.iter_mut().find(|r| r.key == t.key) {
                add(&mut row.unmet);
            }
        }
        add(by_org.entry(b.org.clone()).or_default());
    }
    let mut unmet_by_organisation: Vec<UnmetRow> = rules
        .organisations
        .iter()
        .filter_map(|o| {
            by_org.remove(&o.key).map(|unmet| UnmetRow {
                key: o.key.clone(),
                name: o.name.clone(),
                unmet,
            })
        })
        .collect();
    unmet_by_organisation.extend(by_org.into_iter().map(|(key, unmet)| UnmetRow {
        name: key.clone(),
        key,
        unmet,
    }));
    Report {
        from,
        to,
        total,
        groupings,
        open_minutes: open_minutes(rules, from, to),
        unmet_total,
        unmet_by_tier: by_tier,
        unmet_by_organisation,
        events,
    }
}

/// The instants that bound the bookings a report of `[from, to]` needs.
pub fn query_bounds(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        super::time::start_of_day(from),
        super::time::start_of_day(to + Duration::days(1)),
    )
}

/// A named period: a tertial (1: January–April, 2: May–August, 3: September–December).
pub fn tertial(year: i32, n: u32) -> Option<(NaiveDate, NaiveDate)> {
    let (first, last) = match n {
        1 => (1, 4),
        2 => (5, 8),
        3 => (9, 12),
        _ => return None,
    };
    let from = NaiveDate::from_ymd_opt(year, first, 1)?;
    let next = if last == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, last + 1, 1)?
    };
    Some((from, next - Duration::days(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tertials() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(tertial(2026, 1), Some((d(2026, 1, 1), d(2026, 4, 30))));
        assert_eq!(tertial(2026, 2), Some((d(2026, 5, 1), d(2026, 8, 31))));
        assert_eq!(tertial(2026, 3), Some((d(2026, 9, 1), d(2026, 12, 31))));
        assert_eq!(tertial(2026, 4), None);
    }

    #[test]
    fn open_hours_skip_closed_days() {
        let rules = crate::domain::rules::fixtures::rules();
        // One Monday to Sunday week without holidays: the open weekdays' hours.
        let from = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let expected: i64 = (0..7)
            .map(|i| from + Duration::days(i))
            .filter_map(|d| rules.rooms[0].opening_hours.on(d.weekday()))
            .map(|(a, b)| (b - a).num_minutes())
            .sum();
        assert!(expected > 0);
        assert_eq!(open_minutes(&rules, from, to), expected);
        // Easter Monday 2026 (6 April) is closed.
        let easter_monday = NaiveDate::from_ymd_opt(2026, 4, 6).unwrap();
        assert_eq!(open_minutes(&rules, easter_monday, easter_monday), 0);
    }
}
