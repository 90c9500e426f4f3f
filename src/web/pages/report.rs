//! «Rapport til kommunaldirektørens ledergruppe»: the figures of a period, per plan measure,
//! focus area, goal area, organisation, tier and activity kind, with bar charts drawn on the
//! server (SVG) and every number also in a table; each table as CSV. For BEHO staff and the
//! coordinator. The print layout (borgertun.css) leaves out navigation and forms.

use crate::web::routes::Routes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use super::{layout, PageCtx, PageError, PageResult, ReportReader};
use crate::domain::report::{tertial, GroupBy, Report};
use crate::domain::time::local;
use crate::domain::User;
use crate::service::report::{self as rep, Table};
use crate::service::ServiceError;
use crate::web::AppState;

pub const PATH: &str = "/rapport";

pub fn routes() -> Routes {
    Routes::new().get(PATH, page).get("/rapport.csv", csv)
}

#[derive(Debug, Default, Deserialize)]
struct PeriodQuery {
    #[serde(default)]
    fra: Option<String>,
    #[serde(default)]
    til: Option<String>,
    #[serde(default)]
    tabell: Option<String>,
}

fn link(from: NaiveDate, to: NaiveDate) -> String {
    format!("{PATH}?fra={from}&til={to}")
}

/// Shortcuts: this and last year's tertials and years, and the plan periods.
fn shortcuts(state: &AppState) -> Vec<(String, String)> {
    let today = local(state.now()).date_naive();
    let mut out = Vec::new();
    for year in [today.year(), today.year() - 1] {
        for n in 1..=3 {
            if let Some((f, t)) = tertial(year, n) {
                out.push((format!("{n}. tertial {year}"), link(f, t)));
            }
        }
        let (f, t) = (
            NaiveDate::from_ymd_opt(year, 1, 1).expect("a date"),
            NaiveDate::from_ymd_opt(year, 12, 31).expect("a date"),
        );
        out.push((format!("Året {year}"), link(f, t)));
    }
    for p in &state.app.config().plan.plans {
        out.push((format!("Planperioden {}", p.name), link(p.from, p.to)));
    }
    out
}

/// A horizontal bar chart of events per row (rows with events only), drawn on the server. The
/// same numbers are in the table below it.
fn chart(title_id: &str, title: &str, rows: &[(String, i64)]) -> Markup {
    let rows: Vec<&(String, i64)> = rows.iter().filter(|(_, n)| *n > 0).collect();
    if rows.is_empty() {
        return html! {};
    }
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let (label_w, bar_w, row_h) = (300.0, 260.0, 26.0);
    let height = rows.len() as f64 * row_h + 10.0;
    let short = |s: &str| {
        if s.chars().count() > 44 {
            format!("{}…", s.chars().take(43).collect::<String>())
        } else {
            s.to_string()
        }
    };
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {} {height}", label_w + bar_w + 50.0)) role="img" aria-labelledby=(title_id) xmlns="http://www.w3.org/2000/svg" {
                title id=(title_id) { (title) }
                @for (i, (name, n)) in rows.iter().enumerate() {
                    @let y = i as f64 * row_h + 5.0;
                    @let w = (*n as f64 / max as f64) * bar_w;
                    text x=(label_w - 8.0) y=(y + 17.0) text-anchor="end" font-size="13" fill="#1a1a1a" { (short(name)) }
                    rect x=(label_w) y=(y + 3.0) width=(format!("{w:.1}")) height="18" fill="#005aa0" {}
                    text x=(label_w + w + 6.0) y=(y + 17.0) font-size="13" fill="#1a1a1a" { (n) }
                }
            }
        }
    }
}

fn table(t: &Table, period: &str) -> Markup {
    html! {
        div.table-scroll role="region" tabindex="0" aria-label=(t.title) {
            table.report {
                caption { (t.title) }
                thead { tr { @for h in &t.header { th scope="col" { (h) } } } }
                tbody {
                    @for row in &t.rows {
                        tr {
                            @for (i, c) in row.iter().enumerate() {
                                @if i == 0 { th scope="row" { (c) } } @else { td { (c) } }
                            }
                        }
                    }
                }
            }
        }
        p.no-print { a href=(format!("/rapport.csv?{period}&tabell={}", t.key)) { "Last ned «" (t.title) "» som CSV" } }
    }
}

fn body(state: &AppState, r: &Report, viewer: &User) -> Markup {
    let tables = rep::tables(&state.app, r, viewer, false);
    let by_key = |k: &str| tables.iter().find(|t| t.key == k).expect("every table");
    let period = format!("fra={}&til={}", r.from, r.to);
    let plan = &state.app.config().plan;
    html! {
        div.report-doc {
            h1 { "Rapport til kommunaldirektørens ledergruppe" }
            p.lead { "Aktiviteten i Borgertun, Alrek helseklynge, " (rep::period_text(r.from, r.to)) "." }
            form.filters.no-print method="get" action=(PATH) {
                div.field { label for="fra" { "Fra dato" } input type="date" id="fra" name="fra" value=(r.from); }
                div.field { label for="til" { "Til dato" } input type="date" id="til" name="til" value=(r.to); }
                button type="submit" { "Vis rapport" }
            }
            nav.no-print aria-label="Velg periode" {
                ul.shortcuts { @for (text, href) in shortcuts(state) { li { a href=(href) { (text) } } } }
            }
            h2 { "Sammendrag" }
            ul.figures {
                li { strong { (r.total.events) } " arrangementer" }
                li { strong { (rep::decimal(r.total.hours())) } " timer" }
                li { strong { (r.total.expected.values().sum::<i64>()) } " forventede deltakere" }
                li { strong { (r.total.actual.values().sum::<i64>()) } " faktiske deltakere (" (r.total.with_attendance) " arrangementer med registrert oppmøte)" }
                li { strong { (rep::percent(r.total.three_group_share())) } " av arrangementene samlet tre eller flere deltakergrupper" }
                li { "Utnyttelsesgrad " strong { (rep::percent(r.utilisation())) } " (" (rep::decimal(r.total.hours())) " av " (rep::decimal(r.open_minutes as f64 / 60.0)) " åpne timer)" }
                li { strong { (r.unmet_total.rejected + r.unmet_total.displaced) } " ikke innfridde forespørsler (" (r.unmet_total.rejected) " avslått, " (r.unmet_total.displaced) " trukket tilbake)" }
            }
            (table(by_key("sammendrag"), &period))
            h2 { "Deltakere per gruppe" }
            @let groups: Vec<(String, i64)> = plan.groups.iter().map(|g| (g.name.clone(), r.total.actual.get(&g.key).copied().unwrap_or(0))).collect();
            (chart("graf-deltakere", "Faktiske deltakere per gruppe", &groups))
            div.table-scroll role="region" tabindex="0" aria-label="Deltakere per gruppe" {
                table.report {
                    caption { "Deltakere per gruppe" }
                    thead { tr { th scope="col" { "Deltakergruppe" } th scope="col" { "Forventet" } th scope="col" { "Faktisk" } } }
                    tbody {
                        @for g in &plan.groups {
                            tr { th scope="row" { (g.name) } td { (r.total.expected.get(&g.key).copied().unwrap_or(0)) } td { (r.total.actual.get(&g.key).copied().unwrap_or(0)) } }
                        }
                    }
                }
            }
            @for by in GroupBy::ALL {
                h2 { (by.title()) }
                @let rows: Vec<(String, i64)> = r.rows(by).iter().map(|row| (row.name.clone(), row.figures.events)).collect();
                (chart(&format!("graf-{}", by.key()), &format!("Arrangementer {}", by.title().to_lowercase()), &rows))
                (table(by_key(by.key()), &period))
            }
            h2 { "Ikke innfridde forespørsler" }
            p { "Forespørsler som ble avslått, og bookinger som ble trukket tilbake, som gjaldt perioden." }
            (table(by_key("ikke-innfridd-prioritetsgruppe"), &period))
            (table(by_key("ikke-innfridd-virksomhet"), &period))
            h2 { "Trukket tilbake og avslått i konflikt" }
            p { "Bookinger som ble trukket tilbake, og forespørsler som koordinator avslo fordi de konkurrerte med en høyere prioritetsgruppe, etter når det skjedde i perioden." }
            @if r.fairness.is_empty() {
                p { "Ingen i perioden." }
            } @else {
                (table(by_key("rettferdighet"), &period))
            }
            h2 { "Frigitt uten innsjekking" }
            p { "Bookinger i prioritetsgrupper med innsjekking som ingen sjekket inn innen fristen, så rommet ble frigitt for andre, etter når de skulle starte. Timene er bookingenes lengde." }
            @if r.no_shows.is_empty() {
                p { "Ingen i perioden." }
            } @else {
                (table(by_key("ikke-mott"), &period))
            }
            h2 { "Venteliste" }
            p { "Oppføringer på ventelisten for tider i perioden: hvor mange som fikk tiden holdt av, hvor mange som bekreftet den, og hvor mange holdte tider som ikke ble brukt av noen." }
            (table(by_key("venteliste"), &period))
            h2 { "Arrangementer" }
            p { (r.events.len()) " arrangementer, ett per rad med alle aktivitetsfeltene: " a href=(format!("/rapport.csv?{period}&tabell=arrangementer")) { "Last ned arrangementslisten som CSV" } "." }
        }
    }
}

async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    ReportReader(viewer): ReportReader,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let (from, to) = match state.app.report_period(q.fra.as_deref(), q.til.as_deref()) {
        Ok(p) => p,
        Err(errors) => {
            let body = html! {
                h1 { "Rapport til kommunaldirektørens ledergruppe" }
                div.notice role="alert" { p { "Perioden er ugyldig:" } ul { @for e in &errors { li { (e.message) } } } }
                p { a href=(PATH) { "Vis inneværende tertial" } }
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, layout(&ctx, "Rapport", PATH, body)).into_response());
        }
    };
    let r = state.app.report(from, to).await.map_err(ServiceError::from)?;
    Ok(layout(
        &ctx,
        "Rapport til kommunaldirektørens ledergruppe",
        PATH,
        body(&state, &r, &viewer),
    )
    .into_response())
}

/// `/rapport.csv?fra&til&tabell=…` — one table of the report.
async fn csv(
    State(state): State<AppState>,
    ReportReader(viewer): ReportReader,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let (from, to) = match state.app.report_period(q.fra.as_deref(), q.til.as_deref()) {
        Ok(p) => p,
        Err(errors) => {
            let text = errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
            return Err(PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Perioden er ugyldig",
                text,
            ));
        }
    };
    let r = state.app.report(from, to).await.map_err(ServiceError::from)?;
    let key = q.tabell.as_deref().unwrap_or("sammendrag");
    let tables = rep::tables(&state.app, &r, &viewer, key == "arrangementer");
    let Some(t) = tables.iter().find(|t| t.key == key) else {
        let known = tables
            .iter()
            .map(|t| t.key)
            .chain(["arrangementer"])
            .collect::<Vec<_>>()
            .join(", ");
        return Err(PageError::not_found(
            "Ukjent tabell",
            format!("Tabellen «{key}» finnes ikke. Tabellene heter: {known}."),
        ));
    };
    let filename = format!("borgertun-{key}-{from}-{to}.csv");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        rep::csv(t),
    )
        .into_response())
}
