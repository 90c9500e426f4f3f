//! The report, shared by its page, its CSV files and the JSON API: choosing the period,
//! loading the bookings, and the figures as text (Norwegian numbers: decimal comma).

use chrono::{Datelike, NaiveDate};

use super::App;
use crate::domain::fairness;
use crate::domain::report::{self, Figures, GroupBy, Report};
use crate::domain::time::{day_hint, format_date, local, parse_day};
use crate::domain::{view_of, DomainError, Status, User, View};
use crate::store::{BookingQuery, StoreError};

/// The longest period a report covers.
pub const MAX_DAYS: i64 = 366 * 6;

/// `fra`/`til` (or `from`/`to`), `åååå-mm-dd`; the current tertial when both are missing.
pub fn period(
    today: NaiveDate,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), Vec<DomainError>> {
    let (from, to) = (
        from.map(str::trim).filter(|s| !s.is_empty()),
        to.map(str::trim).filter(|s| !s.is_empty()),
    );
    if from.is_none() && to.is_none() {
        let n = (today.month() - 1) / 4 + 1;
        return Ok(report::tertial(today.year(), n).expect("a tertial"));
    }
    let mut errors = Vec::new();
    let mut date = |s: Option<&str>, field: &'static str| -> Option<NaiveDate> {
        let parsed = s.and_then(parse_day);
        if parsed.is_none() {
            errors.push(DomainError::new("invalid_date", day_hint()).on(field));
        }
        parsed
    };
    let (f, t) = (date(from, "from"), date(to, "to"));
    if let (Some(f), Some(t)) = (f, t) {
        if t < f {
            errors.push(DomainError::new("end_before_start", "Til-datoen kan ikke være før fra-datoen.").on("to"));
        } else if (t - f).num_days() > MAX_DAYS {
            errors.push(DomainError::new("period_too_long", "Velg en periode på høyst seks år.").on("to"));
        }
    }
    match (f, t) {
        (Some(f), Some(t)) if errors.is_empty() => Ok((f, t)),
        _ => Err(errors),
    }
}

impl App {
    /// The period `fra`/`til` names, counted from today (the current tertial without either).
    pub fn report_period(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<(NaiveDate, NaiveDate), Vec<DomainError>> {
        period(local(self.now()).date_naive(), from, to)
    }

    /// Load the bookings of the period and build the report.
    pub async fn report(&self, from: NaiveDate, to: NaiveDate) -> Result<Report, StoreError> {
        let (start, end) = report::query_bounds(from, to);
        let bookings = self.store.report_bookings(start, end).await?;
        let mut r = report::build(self.plan(), self.rules(), from, to, bookings);
        // The changes of the period's days (Oslo): from its first midnight to just before the
        // midnight after it.
        let last = end - chrono::Duration::microseconds(1);
        let losses = self.store.losses(start, last).await?;
        let ledger = fairness::ledger(self.rules(), &losses, start, last);
        r.fairness = report::fairness_rows(self.rules(), &ledger);
        let released = self
            .store
            .bookings(&BookingQuery {
                from: Some(start),
                to: Some(end),
                statuses: vec![Status::NoShow],
                ..Default::default()
            })
            .await?;
        let started_in: Vec<_> = released
            .into_iter()
            .filter(|b| b.start >= start && b.start < end)
            .collect();
        r.no_shows = report::no_show_rows(self.rules(), &started_in);
        let w = self.store.waitlist_counts(start, end).await?;
        r.waitlist = report::WaitlistFigures {
            entries: w.entries,
            holds_offered: w.holds_offered,
            holds_confirmed: w.holds_confirmed,
            unused: w.unused,
        };
        Ok(r)
    }
}

/// «12,5»
pub fn decimal(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").unwrap_or(&s).replace('.', ",")
}

/// «33 %»
pub fn percent(share: f64) -> String {
    format!("{} %", decimal((share * 1000.0).round() / 10.0))
}

pub fn period_text(from: NaiveDate, to: NaiveDate) -> String {
    format!("{}–{}", format_date(from), format_date(to))
}

/// The columns of a figures row, as shown and exported.
pub fn figure_columns(app: &App) -> Vec<String> {
    let mut cols = vec!["Arrangementer".to_string(), "Timer".to_string()];
    for g in &app.plan().groups {
        cols.push(format!("Forventet: {}", g.name));
    }
    for g in &app.plan().groups {
        cols.push(format!("Faktisk: {}", g.name));
    }
    cols.push("Med registrert oppmøte".into());
    cols.push("Tre eller flere deltakergrupper".into());
    cols.push("Andel med tre eller flere grupper".into());
    cols
}

pub fn figure_cells(app: &App, f: &Figures) -> Vec<String> {
    let mut cells = vec![f.events.to_string(), decimal(f.hours())];
    for g in &app.plan().groups {
        cells.push(f.expected.get(&g.key).copied().unwrap_or(0).to_string());
    }
    for g in &app.plan().groups {
        cells.push(f.actual.get(&g.key).copied().unwrap_or(0).to_string());
    }
    cells.push(f.with_attendance.to_string());
    cells.push(f.three_groups.to_string());
    cells.push(percent(f.three_group_share()));
    cells
}

/// A table of the report by name: its header and rows, as shown on the page and exported.
pub struct Table {
    pub key: &'static str,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Every table of the report, in page order; the event list (`arrangementer`, one row per
/// event) only with `with_events` (the page links to it rather than showing it). The figures
/// are the same for every reader; the event list shows each event as the view rule lets
/// `viewer` see it (other organisations' private bookings as «Privat booking», and their
/// contact person and outcome not at all, for anyone but the coordinator).
pub fn tables(app: &App, r: &Report, viewer: &User, with_events: bool) -> Vec<Table> {
    let plan = &app.plan();
    let mut out = Vec::new();
    let mut header = vec!["Periode".to_string()];
    header.extend(figure_columns(app));
    header.extend([
        "Åpne timer".to_string(),
        "Utnyttelsesgrad".to_string(),
        "Ikke innfridde forespørsler".to_string(),
    ]);
    let mut row = vec![period_text(r.from, r.to)];
    row.extend(figure_cells(app, &r.total));
    row.extend([
        decimal(r.open_minutes as f64 / 60.0),
        percent(r.utilisation()),
        (r.unmet_total.rejected + r.unmet_total.displaced).to_string(),
    ]);
    out.push(Table {
        key: "sammendrag",
        title: "Sammendrag".into(),
        header,
        rows: vec![row],
    });
    for by in GroupBy::ALL {
        let mut header = vec![by.noun().to_string()];
        header.extend(figure_columns(app));
        header.push("Andel av åpne timer".into());
        let rows = r
            .rows(by)
            .iter()
            .map(|row| {
                let mut cells = vec![row.name.clone()];
                cells.extend(figure_cells(app, &row.figures));
                cells.push(percent(r.share_of_open(&row.figures)));
                cells
            })
            .collect();
        out.push(Table {
            key: by.key(),
            title: by.title().into(),
            header,
            rows,
        });
    }
    let unmet_header = |noun: &str| {
        vec![
            noun.to_string(),
            "Avslått".to_string(),
            "Trukket tilbake".to_string(),
            "Timer".to_string(),
        ]
    };
    let unmet_rows = |rows: &[report::UnmetRow]| {
        rows.iter()
            .map(|u| {
                vec![
                    u.name.clone(),
                    u.unmet.rejected.to_string(),
                    u.unmet.displaced.to_string(),
                    decimal(u.unmet.minutes as f64 / 60.0),
                ]
            })
            .collect()
    };
    out.push(Table {
        key: "ikke-innfridd-prioritetsgruppe",
        title: "Ikke innfridde forespørsler per prioritetsgruppe".into(),
        header: unmet_header("Prioritetsgruppe"),
        rows: unmet_rows(&r.unmet_by_tier),
    });
    out.push(Table {
        key: "ikke-innfridd-virksomhet",
        title: "Ikke innfridde forespørsler per virksomhet".into(),
        header: unmet_header("Virksomhet"),
        rows: unmet_rows(&r.unmet_by_organisation),
    });
    out.push(Table {
        key: "rettferdighet",
        title: "Trukket tilbake og avslått i konflikt per virksomhet".into(),
        header: [
            "Virksomhet",
            "Prioritetsgruppe",
            "Trukket tilbake",
            "Timer trukket tilbake",
            "Avslått i konflikt",
            "Timer avslått",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: r
            .fairness
            .iter()
            .map(|f| {
                vec![
                    f.org_name.clone(),
                    f.tier_name.clone(),
                    f.tally.displaced.to_string(),
                    decimal(f.tally.displaced_minutes as f64 / 60.0),
                    f.tally.refused.to_string(),
                    decimal(f.tally.refused_minutes as f64 / 60.0),
                ]
            })
            .collect(),
    });
    out.push(Table {
        key: "ikke-mott",
        title: "Frigitt uten innsjekking per virksomhet".into(),
        header: ["Virksomhet", "Prioritetsgruppe", "Bookinger frigitt", "Timer frigitt"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows: r
            .no_shows
            .iter()
            .map(|n| {
                vec![
                    n.org_name.clone(),
                    n.tier_name.clone(),
                    n.count.to_string(),
                    decimal(n.minutes as f64 / 60.0),
                ]
            })
            .collect(),
    });
    out.push(Table {
        key: "venteliste",
        title: "Venteliste".into(),
        header: vec!["Venteliste".into(), "Antall".into()],
        rows: [
            ("Oppføringer", r.waitlist.entries),
            ("Tider holdt av", r.waitlist.holds_offered),
            ("Holdt av og bekreftet", r.waitlist.holds_confirmed),
            ("Holdt av, men ikke brukt", r.waitlist.unused),
        ]
        .iter()
        .map(|(label, n)| vec![label.to_string(), n.to_string()])
        .collect(),
    });
    if !with_events {
        return out;
    }
    // The events, one row each with every activity field.
    let name = |list: crate::domain::plan::Vocabulary, keys: &[String]| {
        keys.iter()
            .map(|k| plan.term(list, k).map(|t| t.name.clone()).unwrap_or_else(|| k.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut header: Vec<String> = [
        "Id",
        "Start",
        "Slutt",
        "Timer",
        "Tittel",
        "Offentlig tittel",
        "Virksomhet",
        "Prioritetsgruppe",
        "Kontaktperson",
        "Aktivitetstype",
        "Tema",
        "Målområder",
        "Tiltak",
        "Satsingsområder",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for g in &plan.groups {
        header.push(format!("Forventet: {}", g.name));
    }
    for g in &plan.groups {
        header.push(format!("Faktisk: {}", g.name));
    }
    header.push("Utbytte og erfaringer".into());
    let rules = app.rules();
    let rows = r
        .events
        .iter()
        .map(|b| {
            // Every event is a confirmed booking, which everyone may see at least in public.
            let view = view_of(Some(viewer), b).unwrap_or(View::Public);
            let a = b.activity.clone().unwrap_or_default();
            let areas: Vec<String> = {
                let mut v: Vec<String> = a
                    .measures
                    .iter()
                    .filter_map(|m| {
                        plan.measure(m)
                            .and_then(|(p, m)| p.focus_area(&m.focus_area).map(|f| f.name.clone()))
                    })
                    .collect();
                v.dedup();
                v
            };
            let mut cells = vec![
                b.id.to_string(),
                local(b.start).format("%Y-%m-%d %H:%M").to_string(),
                local(b.end).format("%Y-%m-%d %H:%M").to_string(),
                decimal((b.end - b.start).num_minutes() as f64 / 60.0),
                view.event_title(b).to_string(),
                if b.public { "ja" } else { "nei" }.to_string(),
                rules
                    .organisation(&b.org)
                    .map(|o| o.name.clone())
                    .unwrap_or_else(|| b.org.clone()),
                rules.tier_of_org(&b.org).map(|t| t.name.clone()).unwrap_or_default(),
                if view.shows_contact() {
                    b.contact_name.clone()
                } else {
                    String::new()
                },
                if a.kind.is_empty() {
                    String::new()
                } else {
                    name(crate::domain::plan::Vocabulary::Kind, std::slice::from_ref(&a.kind))
                },
                name(crate::domain::plan::Vocabulary::Theme, &a.themes),
                name(crate::domain::plan::Vocabulary::GoalArea, &a.goal_areas),
                a.measures.join(", "),
                areas.join(", "),
            ];
            for g in &plan.groups {
                cells.push(a.expected.get(&g.key).copied().unwrap_or(0).to_string());
            }
            for g in &plan.groups {
                cells.push(
                    b.attendance
                        .as_ref()
                        .map(|at| at.actual.get(&g.key).copied().unwrap_or(0).to_string())
                        .unwrap_or_default(),
                );
            }
            cells.push(
                b.attendance
                    .as_ref()
                    .and_then(|at| at.outcome.clone())
                    .filter(|_| view.shows_contact())
                    .unwrap_or_default(),
            );
            cells
        })
        .collect();
    out.push(Table {
        key: "arrangementer",
        title: "Arrangementer".into(),
        header,
        rows,
    });
    out
}

/// A table as CSV (decimal comma), written as every CSV of the service is
/// ([`super::export::csv`]: formulas neutralised).
pub fn csv(table: &Table) -> Vec<u8> {
    super::export::csv(&table.header, &table.rows)
}
