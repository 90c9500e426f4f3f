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
//!   period (opening hours of every day that is not closed); a row's share of the open hours
//!   is its events' hours divided by the same;
//! - *unmet demand* is the requests refused («avslått») and the bookings taken back («trukket
//!   tilbake») that start in the period, by tier and by organisation.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::fairness;
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

/// One organisation's losses in the report's period.
#[derive(Debug, Clone, PartialEq)]
pub struct FairnessRow {
    pub org: String,
    pub org_name: String,
    pub tier: String,
    pub tier_name: String,
    pub tally: fairness::Tally,
}

/// The fairness table: the organisations of `ledger` with any loss, highest tier first, then
/// in the configuration's order (unknown organisations last).
pub fn fairness_rows(rules: &Rules, ledger: &BTreeMap<String, fairness::Tally>) -> Vec<FairnessRow> {
    let position = |key: &str| {
        rules
            .organisations
            .iter()
            .position(|o| o.key == key)
            .unwrap_or(usize::MAX)
    };
    let mut rows: Vec<FairnessRow> = ledger
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(key, t)| {
            let tier = rules.tier_of_org(key);
            FairnessRow {
                org: key.clone(),
                org_name: rules.organisation(key).map_or_else(|| key.clone(), |o| o.name.clone()),
                tier: tier.map(|t| t.key.clone()).unwrap_or_default(),
                tier_name: tier.map(|t| t.name.clone()).unwrap_or_default(),
                tally: *t,
            }
        })
        .collect();
    rows.sort_by_key(|r| (rules.rank_of_org(&r.org), position(&r.org)));
    rows
}

/// One organisation's bookings released as no-shows in the report's period.
#[derive(Debug, Clone, PartialEq)]
pub struct NoShowRow {
    pub org: String,
    pub org_name: String,
    pub tier: String,
    pub tier_name: String,
    pub count: i64,
    /// The booked minutes of those bookings.
    pub minutes: i64,
}

/// The no-show table: of `bookings`, those released as no-shows (`no_show`), counted per
/// organisation, highest tier first, then in the configuration's order.
pub fn no_show_rows(rules: &Rules, bookings: &[Booking]) -> Vec<NoShowRow> {
    let mut by_org: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for b in bookings.iter().filter(|b| b.status == Status::NoShow) {
        let e = by_org.entry(b.org.as_str()).or_default();
        e.0 += 1;
        e.1 += (b.end - b.start).num_minutes();
    }
    let position = |key: &str| {
        rules
            .organisations
            .iter()
            .position(|o| o.key == key)
            .unwrap_or(usize::MAX)
    };
    let mut rows: Vec<NoShowRow> = by_org
        .into_iter()
        .map(|(key, (count, minutes))| {
            let tier = rules.tier_of_org(key);
            NoShowRow {
                org: key.to_string(),
                org_name: rules
                    .organisation(key)
                    .map_or_else(|| key.to_string(), |o| o.name.clone()),
                tier: tier.map(|t| t.key.clone()).unwrap_or_default(),
                tier_name: tier.map(|t| t.name.clone()).unwrap_or_default(),
                count,
                minutes,
            }
        })
        .collect();
    rows.sort_by_key(|r| (rules.rank_of_org(&r.org), position(&r.org)));
    rows
}

/// The waitlist in the report's period (entries whose time starts in it): how many joined,
/// how many got a hold, how many of those confirmed it, and how many holds ended without a
/// booking while nothing else took their slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitlistFigures {
    pub entries: i64,
    pub holds_offered: i64,
    pub holds_confirmed: i64,
    pub unused: i64,
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
    /// The fairness ledger of the period's changes (displacements and refusals in conflicts,
    /// by the time they happened), one row per organisation that lost the room, by tier.
    pub fairness: Vec<FairnessRow>,
    /// Bookings released as no-shows that started in the period, per organisation.
    pub no_shows: Vec<NoShowRow>,
    /// The waitlist of the period.
    pub waitlist: WaitlistFigures,
    /// The events, by start.
    pub events: Vec<Booking>,
}

impl Report {
    /// Confirmed hours of the open hours, 0–1.
    pub fn utilisation(&self) -> f64 {
        self.share_of_open(&self.total)
    }

    /// A row's hours of the period's open hours, 0–1: how much of the room's open time that
    /// measure, organisation, tier … used.
    pub fn share_of_open(&self, f: &Figures) -> f64 {
        if self.open_minutes == 0 {
            0.0
        } else {
            f.minutes as f64 / self.open_minutes as f64
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

/// Participant counts by the group's place in [`GroupIndex`].
type Counts = Vec<(usize, i64)>;

/// The participant groups by place: the configured ones in their order, then any unknown key
/// found in stored bookings (a group since removed from the configuration), so no count is lost.
struct GroupIndex {
    keys: Vec<String>,
    index: HashMap<String, usize>,
}

impl GroupIndex {
    fn new(plan: &Plan) -> Self {
        let keys: Vec<String> = plan.groups.iter().map(|g| g.key.clone()).collect();
        let index = keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        GroupIndex { keys, index }
    }

    fn counts(&mut self, from: &BTreeMap<String, i64>) -> Counts {
        from.iter()
            .map(|(g, n)| {
                let i = match self.index.get(g.as_str()) {
                    Some(&i) => i,
                    None => {
                        self.keys.push(g.clone());
                        self.index.insert(g.clone(), self.keys.len() - 1);
                        self.keys.len() - 1
                    }
                };
                (i, *n)
            })
            .collect()
    }
}

/// What one event adds to every row it belongs to, worked out once per event.
struct EventFigures {
    minutes: i64,
    expected: Counts,
    /// `None` without registered attendance.
    actual: Option<Counts>,
    three_groups: bool,
}

/// A row's figures while they are summed: per group by place, `None` where no event of the
/// row named the group (such groups are left out of [`Figures`], as in the bookings).
#[derive(Clone, Default)]
struct Tally {
    events: i64,
    minutes: i64,
    expected: Vec<Option<i64>>,
    actual: Vec<Option<i64>>,
    with_attendance: i64,
    three_groups: i64,
}

impl Tally {
    fn add(&mut self, e: &EventFigures) {
        fn add_counts(into: &mut Vec<Option<i64>>, from: &Counts) {
            for &(i, n) in from {
                if i >= into.len() {
                    into.resize(i + 1, None);
                }
                *into[i].get_or_insert(0) += n;
            }
        }
        self.events += 1;
        self.minutes += e.minutes;
        add_counts(&mut self.expected, &e.expected);
        if let Some(actual) = &e.actual {
            self.with_attendance += 1;
            add_counts(&mut self.actual, actual);
        }
        if e.three_groups {
            self.three_groups += 1;
        }
    }

    fn figures(self, groups: &GroupIndex) -> Figures {
        let map = |v: Vec<Option<i64>>| -> BTreeMap<String, i64> {
            v.into_iter()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (groups.keys[i].clone(), n)))
                .collect()
        };
        Figures {
            events: self.events,
            minutes: self.minutes,
            expected: map(self.expected),
            actual: map(self.actual),
            with_attendance: self.with_attendance,
            three_groups: self.three_groups,
        }
    }
}

/// The rows of one grouping while they are summed, found by key without allocating.
struct Rows {
    keys: Vec<(String, String)>,
    index: HashMap<String, usize>,
    tallies: Vec<Tally>,
}

impl Rows {
    fn new(keys: Vec<(String, String)>) -> Self {
        let index = keys.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
        let tallies = vec![Tally::default(); keys.len()];
        Rows { keys, index, tallies }
    }

    /// Add `e` to the row `key`, adding the row if the configuration does not name it.
    fn add(&mut self, key: &str, e: &EventFigures) {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                let name = if key == NONE_KEY { NONE_NAME } else { key };
                self.keys.push((key.to_string(), name.to_string()));
                self.index.insert(key.to_string(), self.keys.len() - 1);
                self.tallies.push(Tally::default());
                self.keys.len() - 1
            }
        };
        self.tallies[i].add(e);
    }

    fn rows(self, groups: &GroupIndex) -> Vec<Row> {
        self.keys
            .into_iter()
            .zip(self.tallies)
            .map(|((key, name), t)| Row {
                key,
                name,
                figures: t.figures(groups),
            })
            .collect()
    }
}

/// The report of `[from, to]` from `bookings` (any statuses; those outside are ignored).
///
/// Each event's figures are worked out once and added to its rows, which are found by key in
/// a hash map: the whole plan period of 10,000 bookings takes about ten milliseconds (see the
/// README's report benchmark).
pub fn build(plan: &Plan, rules: &Rules, from: NaiveDate, to: NaiveDate, bookings: Vec<Booking>) -> Report {
    let (mut events, unmet): (Vec<Booking>, Vec<Booking>) = bookings
        .into_iter()
        .filter(|b| starts_in(b, from, to))
        .filter(|b| matches!(b.status, Status::Confirmed | Status::Rejected | Status::Displaced))
        .partition(|b| b.status == Status::Confirmed);
    events.sort_by_key(|b| (b.start, b.id));
    let focus_area_of: HashMap<&str, &str> = plan
        .plans
        .iter()
        .flat_map(|p| p.measures.iter().map(|m| (m.key.as_str(), m.focus_area.as_str())))
        .collect();
    let tier_of: HashMap<&str, &str> = rules
        .organisations
        .iter()
        .filter_map(|o| rules.tier(&o.tier).map(|t| (o.key.as_str(), t.key.as_str())))
        .collect();
    let mut groups = GroupIndex::new(plan);
    let mut total = Tally::default();
    let mut rows: Vec<Rows> = GroupBy::ALL
        .into_iter()
        .map(|by| Rows::new(all_rows(by, plan, rules, from, to)))
        .collect();
    let mut keys: Vec<&str> = Vec::new();
    for b in &events {
        let a = b.activity.as_ref();
        let e = EventFigures {
            minutes: (b.end - b.start).num_minutes(),
            expected: a.map(|a| groups.counts(&a.expected)).unwrap_or_default(),
            actual: b.attendance.as_ref().map(|a| groups.counts(&a.actual)),
            three_groups: groups_together(b) >= 3,
        };
        total.add(&e);
        for (by, rows) in GroupBy::ALL.into_iter().zip(rows.iter_mut()) {
            keys.clear();
            match (by, a) {
                (GroupBy::Measure, Some(a)) => keys.extend(a.measures.iter().map(String::as_str)),
                (GroupBy::FocusArea, Some(a)) => {
                    keys.extend(a.measures.iter().filter_map(|m| focus_area_of.get(m.as_str()).copied()));
                    keys.sort_unstable();
                    keys.dedup();
                }
                (GroupBy::GoalArea, Some(a)) => keys.extend(a.goal_areas.iter().map(String::as_str)),
                (GroupBy::Kind, Some(a)) => keys.push(&a.kind),
                (GroupBy::Organisation, _) => keys.push(&b.org),
                (GroupBy::Tier, _) => keys.extend(tier_of.get(b.org.as_str()).copied()),
                (_, None) => {}
            }
            if keys.is_empty() {
                keys.push(NONE_KEY);
            }
            for key in &keys {
                rows.add(key, &e);
            }
        }
    }
    let total = total.figures(&groups);
    let groupings = GroupBy::ALL
        .into_iter()
        .zip(rows)
        .map(|(by, rows)| (by, rows.rows(&groups)))
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
    for b in &unmet {
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
        fairness: Vec::new(),
        no_shows: Vec::new(),
        waitlist: WaitlistFigures::default(),
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
    use crate::domain::{Activity, Attendance};

    #[test]
    fn no_shows_are_counted_per_organisation_highest_tier_first() {
        let rules = crate::domain::rules::fixtures::rules();
        let bookings = vec![
            booking(1, "hvl", Status::NoShow, None, None),
            booking(2, "uib", Status::NoShow, None, None),
            booking(3, "hvl", Status::NoShow, None, None),
            booking(4, "beho", Status::NoShow, None, None),
            booking(5, "uib", Status::Confirmed, None, None),
        ];
        let rows = no_show_rows(&rules, &bookings);
        let got: Vec<(&str, &str, i64, i64)> = rows
            .iter()
            .map(|r| (r.org.as_str(), r.tier.as_str(), r.count, r.minutes))
            .collect();
        assert_eq!(
            got,
            vec![
                ("beho", "owner", 1, 90),
                ("uib", "partner", 1, 90),
                ("hvl", "partner", 2, 180)
            ]
        );
    }

    #[test]
    fn tertials() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(tertial(2026, 1), Some((d(2026, 1, 1), d(2026, 4, 30))));
        assert_eq!(tertial(2026, 2), Some((d(2026, 5, 1), d(2026, 8, 31))));
        assert_eq!(tertial(2026, 3), Some((d(2026, 9, 1), d(2026, 12, 31))));
        assert_eq!(tertial(2026, 4), None);
    }

    fn booking(
        id: i64,
        org: &str,
        status: Status,
        activity: Option<Activity>,
        actual: Option<&[(&str, i64)]>,
    ) -> Booking {
        let start = crate::domain::time::at_local(
            NaiveDate::from_ymd_opt(2026, 3, 2 + id as u32).unwrap(),
            crate::domain::rules::fixtures::hm(10, 0),
        )
        .unwrap();
        let counts = |c: &[(&str, i64)]| c.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        Booking {
            id,
            room: "borgertun".into(),
            start,
            end: start + Duration::minutes(90),
            blocked_until: start + Duration::minutes(105),
            title: format!("Arrangement {id}"),
            description: None,
            public: true,
            attendees: 10,
            org: org.into(),
            contact_name: "Kari".into(),
            contact_email: "kari@example.no".into(),
            status,
            status_reason: None,
            sequence: 0,
            created_at: start,
            updated_at: start,
            activity,
            attendance: actual.map(|a| Attendance {
                actual: counts(a),
                outcome: None,
                registered_at: start,
                registered_by: "kari@example.no".into(),
            }),
            series: None,
            held_until: None,
            checked_in_at: None,
        }
    }

    fn activity(measures: &[&str], expected: &[(&str, i64)]) -> Activity {
        Activity {
            kind: "arbeidsverksted".into(),
            themes: vec![],
            goal_areas: vec!["innovasjon".into()],
            measures: measures.iter().map(|m| m.to_string()).collect(),
            expected: expected.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn rows_count_each_event_once_and_keep_what_the_configuration_no_longer_names() {
        let plan = crate::domain::plan::fixtures::plan();
        let rules = crate::domain::rules::fixtures::rules();
        let bookings = vec![
            // Two measures of one focus area; a participant group since removed from the plan.
            booking(
                1,
                "uib",
                Status::Confirmed,
                Some(activity(
                    &["2026-forskning-1", "2026-forskning-2"],
                    &[("forskere", 4), ("pensjonister", 3)],
                )),
                Some(&[("forskere", 5), ("studenter", 2), ("pensjonister", 1)]),
            ),
            // A measure key no plan knows, by an organisation no longer configured.
            booking(
                2,
                "nedlagt",
                Status::Confirmed,
                Some(activity(&["2026-ukjent-9"], &[("studenter", 6)])),
                None,
            ),
            // No activity at all.
            booking(3, "beho", Status::Confirmed, None, None),
            // Refused and taken back: unmet demand, no events.
            booking(4, "uib", Status::Rejected, None, None),
            booking(5, "nedlagt", Status::Displaced, None, None),
            booking(6, "uib", Status::Cancelled, None, None),
        ];
        let from = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let r = build(&plan, &rules, from, to, bookings);
        let map = |c: &[(&str, i64)]| -> BTreeMap<String, i64> { c.iter().map(|(k, n)| (k.to_string(), *n)).collect() };
        assert_eq!(r.total.events, 3);
        assert_eq!(r.total.minutes, 3 * 90);
        assert_eq!(
            r.total.expected,
            map(&[("forskere", 4), ("pensjonister", 3), ("studenter", 6)])
        );
        assert_eq!(
            r.total.actual,
            map(&[("forskere", 5), ("pensjonister", 1), ("studenter", 2)])
        );
        assert_eq!((r.total.with_attendance, r.total.three_groups), (1, 1));
        assert_eq!(r.events.iter().map(|b| b.id).collect::<Vec<_>>(), [1, 2, 3]);
        let row = |by: GroupBy, key: &str| -> Option<(String, i64)> {
            r.rows(by)
                .iter()
                .find(|row| row.key == key)
                .map(|row| (row.name.clone(), row.figures.events))
        };
        // Each measure counts the event; its focus area counts it once.
        assert_eq!(row(GroupBy::Measure, "2026-forskning-1").map(|r| r.1), Some(1));
        assert_eq!(row(GroupBy::Measure, "2026-forskning-2").map(|r| r.1), Some(1));
        assert_eq!(
            row(GroupBy::Measure, "2026-ukjent-9"),
            Some(("2026-ukjent-9".into(), 1))
        );
        assert_eq!(row(GroupBy::Measure, NONE_KEY), Some((NONE_NAME.into(), 1)));
        assert_eq!(row(GroupBy::FocusArea, "forskning").map(|r| r.1), Some(1));
        assert_eq!(row(GroupBy::FocusArea, NONE_KEY).map(|r| r.1), Some(2));
        // Configured rows without events are shown too, in the configured order.
        let tiers: Vec<(&str, i64)> = r
            .rows(GroupBy::Tier)
            .iter()
            .map(|row| (row.key.as_str(), row.figures.events))
            .collect();
        assert_eq!(
            tiers,
            [
                ("owner", 1),
                ("municipal", 0),
                ("partner", 1),
                ("collaborator", 0),
                (NONE_KEY, 1)
            ]
        );
        assert_eq!(row(GroupBy::Organisation, "nedlagt"), Some(("nedlagt".into(), 1)));
        assert_eq!(row(GroupBy::Kind, "arbeidsverksted").map(|r| r.1), Some(2));
        assert_eq!(row(GroupBy::Kind, NONE_KEY).map(|r| r.1), Some(1));
        let uib = r
            .rows(GroupBy::Organisation)
            .iter()
            .find(|row| row.key == "uib")
            .unwrap();
        assert_eq!(
            uib.figures.actual,
            map(&[("forskere", 5), ("pensjonister", 1), ("studenter", 2)])
        );
        // Unmet demand: one refused, one taken back; the cancelled one is neither.
        assert_eq!((r.unmet_total.rejected, r.unmet_total.displaced), (1, 1));
        let unmet: Vec<(&str, i64, i64)> = r
            .unmet_by_organisation
            .iter()
            .map(|u| (u.key.as_str(), u.unmet.rejected, u.unmet.displaced))
            .collect();
        assert_eq!(unmet, [("uib", 1, 0), ("nedlagt", 0, 1)]);
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
