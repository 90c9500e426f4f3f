//! The action plans and the activity vocabulary (DESIGN.md §3 «Plan and measures», §6): the
//! department's action plans with their focus areas («satsingsområder») and measures
//! («tiltak»), the cluster's goal areas («målområder»), and the activity kinds, themes and
//! participant groups a booking's activity is recorded with.
//!
//! Built and validated from `config/plan.toml` by `crate::config`; read by the pure checks here.
//! Every item has a stable ASCII key (what bookings store) and a Norwegian name (what people
//! see).

use chrono::{Datelike, NaiveDate};

use super::error::DomainError;
use super::time::{format_date, month_name};

/// A key and its Norwegian name: a goal area, an activity kind, a theme or a participant
/// group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub key: String,
    pub name: String,
}

/// A focus area («satsingsområde») of one action plan. The same key in two plans means the
/// same focus area carried on (the 2026–2030 plan keeps those of 2022–2023).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusArea {
    pub key: String,
    pub name: String,
}

/// A measure («tiltak») of one action plan, in the plan's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// Unique across all plans: `{first year of the plan}-{focus area key}-{n}`.
    pub key: String,
    /// The key of the plan's focus area the measure belongs to.
    pub focus_area: String,
    /// Short, as in the plan's list: the item itself, or its leading clause when the item is
    /// long.
    pub name: String,
    /// The plan's full wording, when `name` shortens it.
    pub description: Option<String>,
}

/// One action plan («handlingsplan») with its period, both dates included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPlan {
    pub key: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// In the plan's order.
    pub focus_areas: Vec<FocusArea>,
    /// In the plan's order.
    pub measures: Vec<Measure>,
}

impl ActionPlan {
    /// Whether `date` lies in the plan's period (both ends included).
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    pub fn focus_area(&self, key: &str) -> Option<&FocusArea> {
        self.focus_areas.iter().find(|f| f.key == key)
    }

    /// The plan's measures in one focus area, in the plan's order.
    pub fn measures_in<'a>(&'a self, focus_area: &'a str) -> impl Iterator<Item = &'a Measure> + 'a {
        self.measures.iter().filter(move |m| m.focus_area == focus_area)
    }

    /// The period in Norwegian: «1. januar 2026–31. desember 2030».
    pub fn period(&self) -> String {
        let day = |d: NaiveDate| format!("{}. {} {}", d.day(), month_name(d.month()), d.year());
        format!("{}–{}", day(self.from), day(self.to))
    }
}

/// One of the four lists of terms a booking's activity refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vocabulary {
    /// The cluster's goal areas («klyngens målområder»).
    GoalArea,
    /// Activity kinds («aktivitetstyper»).
    Kind,
    /// Themes («temaer»).
    Theme,
    /// Participant groups («deltakergrupper»).
    Group,
}

impl Vocabulary {
    pub const ALL: [Vocabulary; 4] = [
        Vocabulary::GoalArea,
        Vocabulary::Kind,
        Vocabulary::Theme,
        Vocabulary::Group,
    ];

    /// The error code for a key that is not in the list.
    pub fn unknown_code(self) -> &'static str {
        match self {
            Vocabulary::GoalArea => "unknown_goal_area",
            Vocabulary::Kind => "unknown_kind",
            Vocabulary::Theme => "unknown_theme",
            Vocabulary::Group => "unknown_group",
        }
    }

    /// The input field an unknown key is reported on (callers may re-tag it with `.on()`, e.g.
    /// `expected` or `actual` for participant counts per group).
    pub fn field(self) -> &'static str {
        match self {
            Vocabulary::GoalArea => "goal_areas",
            Vocabulary::Kind => "kind",
            Vocabulary::Theme => "themes",
            Vocabulary::Group => "groups",
        }
    }

    /// The Norwegian noun for one item, as used in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Vocabulary::GoalArea => "målområde",
            Vocabulary::Kind => "aktivitetstype",
            Vocabulary::Theme => "tema",
            Vocabulary::Group => "deltakergruppe",
        }
    }
}

/// The plans and the activity vocabulary, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Ordered by period; the periods do not overlap.
    pub plans: Vec<ActionPlan>,
    pub goal_areas: Vec<Term>,
    pub kinds: Vec<Term>,
    pub themes: Vec<Term>,
    pub groups: Vec<Term>,
}

impl Plan {
    /// The action plan whose period contains `date`, if any. Between two plans (2024–2025)
    /// there is none, and no measure can be chosen.
    pub fn plan_in_force(&self, date: NaiveDate) -> Option<&ActionPlan> {
        self.plans.iter().find(|p| p.in_force(date))
    }

    pub fn action_plan(&self, key: &str) -> Option<&ActionPlan> {
        self.plans.iter().find(|p| p.key == key)
    }

    /// A measure of any plan by its key, with the plan it belongs to.
    pub fn measure(&self, key: &str) -> Option<(&ActionPlan, &Measure)> {
        self.plans
            .iter()
            .find_map(|p| p.measures.iter().find(|m| m.key == key).map(|m| (p, m)))
    }

    /// The measures that can be chosen for an activity on `date`: those of the plan in force.
    pub fn measures_on(&self, date: NaiveDate) -> &[Measure] {
        self.plan_in_force(date)
            .map(|p| p.measures.as_slice())
            .unwrap_or_default()
    }

    /// Every key must name a measure of the plan in force on `date` (the activity's day).
    /// The first problem is the answer: `unknown_measure` or `measure_not_in_force`, on the
    /// field `measures`.
    pub fn check_measures(&self, keys: &[String], date: NaiveDate) -> Result<(), DomainError> {
        for key in keys {
            let Some((plan, _)) = self.measure(key) else {
                return Err(DomainError::new(
                    "unknown_measure",
                    format!("Ukjent tiltak «{key}». Velg et tiltak fra handlingsplanen som gjelder."),
                )
                .on("measures"));
            };
            if plan.in_force(date) {
                continue;
            }
            let then = match self.plan_in_force(date) {
                Some(p) => format!("Da gjelder «{}» ({}).", p.name, p.period()),
                None => "Da gjelder ingen handlingsplan, så ingen tiltak kan velges.".to_string(),
            };
            return Err(DomainError::new(
                "measure_not_in_force",
                format!(
                    "Tiltaket «{key}» hører til «{}» ({}) og kan ikke velges for en aktivitet {}. {then}",
                    plan.name,
                    plan.period(),
                    format_date(date)
                ),
            )
            .on("measures"));
        }
        Ok(())
    }

    /// The terms of one list, in the configured order.
    pub fn terms(&self, list: Vocabulary) -> &[Term] {
        match list {
            Vocabulary::GoalArea => &self.goal_areas,
            Vocabulary::Kind => &self.kinds,
            Vocabulary::Theme => &self.themes,
            Vocabulary::Group => &self.groups,
        }
    }

    pub fn term(&self, list: Vocabulary, key: &str) -> Option<&Term> {
        self.terms(list).iter().find(|t| t.key == key)
    }

    /// Every key must be in `list`. The first unknown one is the answer, with the list's code
    /// (`unknown_kind`, `unknown_theme`, `unknown_goal_area`, `unknown_group`) and field.
    pub fn check_keys(&self, list: Vocabulary, keys: &[String]) -> Result<(), DomainError> {
        keys.iter().try_for_each(|k| self.check_key(list, k))
    }

    /// One key, e.g. the activity's kind.
    pub fn check_key(&self, list: Vocabulary, key: &str) -> Result<(), DomainError> {
        if self.term(list, key).is_some() {
            return Ok(());
        }
        let known: Vec<String> = self
            .terms(list)
            .iter()
            .map(|t| format!("{} ({})", t.key, t.name))
            .collect();
        Err(DomainError::new(
            list.unknown_code(),
            format!("Ukjent {} «{key}». Gyldige: {}.", list.noun(), known.join(", ")),
        )
        .on(list.field()))
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A small plan of two action plans, for unit tests.
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn term(key: &str, name: &str) -> Term {
        Term {
            key: key.into(),
            name: name.into(),
        }
    }

    fn action_plan(key: &str, name: &str, from: NaiveDate, to: NaiveDate, year: i32) -> ActionPlan {
        let m = |n: u32, text: &str| Measure {
            key: format!("{year}-forskning-{n}"),
            focus_area: "forskning".into(),
            name: text.into(),
            description: None,
        };
        ActionPlan {
            key: key.into(),
            name: name.into(),
            from,
            to,
            focus_areas: vec![FocusArea {
                key: "forskning".into(),
                name: "Forskning som er nyttig og nyttiggjort".into(),
            }],
            measures: vec![m(1, "Bruke Borgertun som møteplass"), m(2, "Arrangere arbeidsverksted")],
        }
    }

    pub fn plan() -> Plan {
        Plan {
            plans: vec![
                action_plan(
                    "2022-2023",
                    "Handlingsplan 2022–2023",
                    d(2022, 1, 1),
                    d(2023, 12, 31),
                    2022,
                ),
                action_plan(
                    "2026-2030",
                    "Handlingsplan 2026–2030",
                    d(2026, 1, 1),
                    d(2030, 12, 31),
                    2026,
                ),
            ],
            goal_areas: vec![
                term("kunnskapsutvikling", "Kunnskapsutvikling"),
                term("innovasjon", "Innovasjon"),
            ],
            kinds: vec![term("mote", "Møte"), term("arbeidsverksted", "Arbeidsverksted")],
            themes: vec![term("brukermedvirkning", "Brukermedvirkning")],
            groups: vec![term("forskere", "Forskere"), term("studenter", "Studenter")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::plan;
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_plan_is_in_force_from_its_first_to_its_last_day() {
        let p = plan();
        let key = |date| p.plan_in_force(date).map(|a| a.key.as_str());
        assert_eq!(key(d(2021, 12, 31)), None);
        assert_eq!(key(d(2022, 1, 1)), Some("2022-2023"));
        assert_eq!(key(d(2023, 12, 31)), Some("2022-2023"));
        assert_eq!(key(d(2024, 1, 1)), None, "no plan between the two");
        assert_eq!(key(d(2025, 12, 31)), None);
        assert_eq!(key(d(2026, 1, 1)), Some("2026-2030"));
        assert_eq!(key(d(2030, 12, 31)), Some("2026-2030"));
        assert_eq!(key(d(2031, 1, 1)), None);
        assert!(p.measures_on(d(2024, 6, 1)).is_empty());
        assert_eq!(p.measures_on(d(2026, 6, 1)).len(), 2);
    }

    #[test]
    fn a_measure_is_found_with_its_plan() {
        let p = plan();
        let (a, m) = p.measure("2022-forskning-2").unwrap();
        assert_eq!(
            (a.key.as_str(), m.name.as_str()),
            ("2022-2023", "Arrangere arbeidsverksted")
        );
        assert!(p.measure("2024-forskning-1").is_none());
        assert_eq!(a.measures_in("forskning").count(), 2);
        assert_eq!(
            a.focus_area("forskning").unwrap().name,
            "Forskning som er nyttig og nyttiggjort"
        );
        assert_eq!(a.period(), "1. januar 2022–31. desember 2023");
    }

    #[test]
    fn measures_of_the_plan_in_force_pass_on_its_boundary_days() {
        let p = plan();
        let both = keys(&["2026-forskning-1", "2026-forskning-2"]);
        assert_eq!(p.check_measures(&both, d(2026, 1, 1)), Ok(()));
        assert_eq!(p.check_measures(&both, d(2030, 12, 31)), Ok(()));
        assert_eq!(p.check_measures(&keys(&["2022-forskning-1"]), d(2023, 12, 31)), Ok(()));
        assert_eq!(
            p.check_measures(&[], d(2024, 6, 1)),
            Ok(()),
            "no measure is always fine"
        );
    }

    #[test]
    fn an_unknown_measure_is_refused_by_its_key() {
        let e = plan()
            .check_measures(&keys(&["2026-forskning-1", "2026-tull-9"]), d(2026, 3, 2))
            .unwrap_err();
        assert_eq!((e.code, e.field), ("unknown_measure", Some("measures")));
        assert!(e.message.contains("«2026-tull-9»"), "{}", e.message);
    }

    #[test]
    fn a_measure_of_another_plan_is_refused_naming_both_plans() {
        let e = plan()
            .check_measures(&keys(&["2022-forskning-1"]), d(2026, 3, 2))
            .unwrap_err();
        assert_eq!((e.code, e.field), ("measure_not_in_force", Some("measures")));
        assert_eq!(
            e.message,
            "Tiltaket «2022-forskning-1» hører til «Handlingsplan 2022–2023» (1. januar 2022–31. desember 2023) \
             og kan ikke velges for en aktivitet mandag 2. mars 2026. \
             Da gjelder «Handlingsplan 2026–2030» (1. januar 2026–31. desember 2030)."
        );
        let e = plan()
            .check_measures(&keys(&["2026-forskning-1"]), d(2025, 12, 31))
            .unwrap_err();
        assert_eq!(e.code, "measure_not_in_force");
        assert_eq!(
            e.message,
            "Tiltaket «2026-forskning-1» hører til «Handlingsplan 2026–2030» (1. januar 2026–31. desember 2030) \
             og kan ikke velges for en aktivitet onsdag 31. desember 2025. \
             Da gjelder ingen handlingsplan, så ingen tiltak kan velges."
        );
    }

    #[test]
    fn unknown_terms_are_refused_with_the_list_code_and_field() {
        let p = plan();
        assert_eq!(p.check_key(Vocabulary::Kind, "mote"), Ok(()));
        assert_eq!(
            p.check_keys(Vocabulary::Group, &keys(&["forskere", "studenter"])),
            Ok(())
        );
        assert_eq!(p.check_keys(Vocabulary::Theme, &[]), Ok(()));
        for (list, code, field) in [
            (Vocabulary::GoalArea, "unknown_goal_area", "goal_areas"),
            (Vocabulary::Kind, "unknown_kind", "kind"),
            (Vocabulary::Theme, "unknown_theme", "themes"),
            (Vocabulary::Group, "unknown_group", "groups"),
        ] {
            let e = p.check_keys(list, &keys(&["x-ukjent"])).unwrap_err();
            assert_eq!((e.code, e.field), (code, Some(field)));
            assert!(e.message.contains("«x-ukjent»"), "{}", e.message);
        }
        let e = p.check_key(Vocabulary::Kind, "fest").unwrap_err();
        assert_eq!(
            e.message,
            "Ukjent aktivitetstype «fest». Gyldige: mote (Møte), arbeidsverksted (Arbeidsverksted)."
        );
        assert_eq!(p.term(Vocabulary::GoalArea, "innovasjon").unwrap().name, "Innovasjon");
    }
}
