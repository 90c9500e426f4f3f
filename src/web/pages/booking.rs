//! The booking form and its outcome pages: confirmed, pending, busy with the free
//! alternatives as one-click choices, or the form again with each error next to its field.

use crate::web::routes::Routes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, NaiveTime};
use maud::{html, Markup};
use serde::Deserialize;

use super::counts::{counts_fieldset, parse_counts};
use super::error::ServiceResultExt;
use super::signin::ClientAddr;
use super::{layout, CsrfForm, Field, FieldErrors, PageCtx, PageError, PageResult, SignedIn};
use crate::domain::booking::{parse_description, parse_reason};
use crate::domain::plan::Plan;
use crate::domain::policy::Slot;
use crate::domain::recurrence;
use crate::domain::series::{OccurrenceOutcome, OutcomeSummary};
use crate::domain::time::{at_local, format_date, format_range, format_time, local};
use crate::domain::{Activity, Booking, BookingTitle, DomainError, NewBooking, Status, User};
use crate::service::{BookOutcome, SeriesOutcome, ServiceError};
use crate::web::AppState;

pub fn routes() -> Routes {
    Routes::new().get("/booking/ny", new_form).post("/booking/ny", submit)
}

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub(super) struct BookingForm {
    csrf: String,
    dato: String,
    fra: String,
    til: String,
    tittel: String,
    deltakere: String,
    beskrivelse: String,
    offentlig: Option<String>,
    virksomhet: Option<String>,
    /// A coordinator's override, with its reason.
    overstyr: Option<String>,
    begrunnelse: String,
    /// The activity: kind, themes, goal areas, measures (repeated fields) and the expected
    /// participants per group (`forventet-{group}`).
    aktivitet: String,
    temaer: Vec<String>,
    malomrader: Vec<String>,
    tiltak: Vec<String>,
    forventet: std::collections::BTreeMap<String, String>,
    /// «Gjenta»: `ingen`, `ukentlig`, `hver-n-uke` (with `hver`, the number of weeks),
    /// `maanedlig-dato` or `maanedlig-ukedag`; ends after `antall` times or on `sluttdato`.
    gjenta: String,
    hver: String,
    antall: String,
    sluttdato: String,
    /// «Book serien» on the preview: store the series.
    bekreft: Option<String>,
    /// «Endre» on the preview: back to the form with the values kept.
    endre: Option<String>,
}

impl From<Vec<(String, String)>> for BookingForm {
    /// A submitted form's fields in order, repeated fields included.
    fn from(pairs: Vec<(String, String)>) -> Self {
        // The kind select always sends a value; a form without it means the default, «Møte».
        let mut f = BookingForm {
            aktivitet: "mote".into(),
            ..Default::default()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "dato" => f.dato = v,
                "fra" => f.fra = v,
                "til" => f.til = v,
                "tittel" => f.tittel = v,
                "deltakere" => f.deltakere = v,
                "beskrivelse" => f.beskrivelse = v,
                "offentlig" => f.offentlig = Some(v),
                "virksomhet" => f.virksomhet = Some(v),
                "overstyr" => f.overstyr = Some(v),
                "begrunnelse" => f.begrunnelse = v,
                "aktivitet" => f.aktivitet = v,
                "tema" => f.temaer.push(v),
                "malomrade" => f.malomrader.push(v),
                "tiltak" => f.tiltak.push(v),
                "gjenta" => f.gjenta = v,
                "hver" => f.hver = v,
                "antall" => f.antall = v,
                "sluttdato" => f.sluttdato = v,
                "bekreft" => f.bekreft = Some(v),
                "endre" => f.endre = Some(v),
                k => {
                    if let Some(group) = k.strip_prefix("forventet-") {
                        f.forventet.insert(group.to_string(), v);
                    }
                }
            }
        }
        f
    }
}

impl BookingForm {
    /// Whether the form asks for a series.
    fn repeats(&self) -> bool {
        !matches!(self.gjenta.as_str(), "" | "ingen")
    }

    /// Every field as typed, as hidden inputs: the preview's «Book serien» and «Endre» send
    /// the form again.
    fn hidden_all(&self) -> Markup {
        html! {
            @for (name, value) in [
                ("dato", &self.dato), ("fra", &self.fra), ("til", &self.til), ("tittel", &self.tittel),
                ("deltakere", &self.deltakere), ("beskrivelse", &self.beskrivelse), ("gjenta", &self.gjenta),
                ("hver", &self.hver), ("antall", &self.antall), ("sluttdato", &self.sluttdato),
            ] {
                input type="hidden" name=(name) value=(value);
            }
            @if self.offentlig.is_some() { input type="hidden" name="offentlig" value="ja"; }
            @if let Some(v) = &self.virksomhet { input type="hidden" name="virksomhet" value=(v); }
            (self.hidden_activity())
        }
    }

    /// The activity fields as hidden inputs (for the one-click alternatives).
    fn hidden_activity(&self) -> Markup {
        html! {
            input type="hidden" name="aktivitet" value=(self.aktivitet);
            @for t in &self.temaer { input type="hidden" name="tema" value=(t); }
            @for t in &self.malomrader { input type="hidden" name="malomrade" value=(t); }
            @for t in &self.tiltak { input type="hidden" name="tiltak" value=(t); }
            @for (g, n) in &self.forventet { input type="hidden" name=(format!("forventet-{g}")) value=(n); }
        }
    }
}

/// Place a rule's error on the form field it concerns.
pub(super) fn add_domain(errors: &mut FieldErrors, e: &DomainError) {
    let field = match e.field {
        Some("start") => "fra",
        Some("end") => "til",
        Some("attendees") => "deltakere",
        Some("title") => "tittel",
        Some("description") => "beskrivelse",
        Some("organisation") => "virksomhet",
        Some("reason") => "begrunnelse",
        Some("kind") => "aktivitet",
        Some("themes") => "tema",
        Some("goal_areas") => "malomrade",
        Some("measures") => "tiltak",
        Some("expected") => "forventet",
        Some("rrule") => "gjenta",
        _ => "skjema",
    };
    errors.add(field, e.message.clone());
}

fn form_page(ctx: &PageCtx, state: &AppState, user: &User, f: &BookingForm, errors: &FieldErrors) -> Markup {
    let rules = &state.app.config().rules;
    let room = &rules.rooms[0];
    let [dato, fra, til, tittel, deltakere] = [
        ("dato", "Dato"),
        ("fra", "Fra klokken"),
        ("til", "Til klokken"),
        ("tittel", "Tittel"),
        ("deltakere", "Antall deltakere"),
    ]
    .map(|(id, label)| Field::new(id, label, errors));
    html! {
        h1 { "Book " (room.name) }
        (errors.summary("Bookingen ble ikke sendt. Rett opp dette:"))
        form method="post" action="/booking/ny" novalidate {
            input type="hidden" name="csrf" value=(ctx.csrf);
            @for e in errors.for_field("skjema") { p.field-error { (e) } }
            (dato.wrap(html! { input type="date" id="dato" name="dato" value=(f.dato) required aria-invalid=[dato.invalid()] aria-describedby=[dato.described()]; }))
            (fra.wrap(html! { input type="time" id="fra" name="fra" value=(f.fra) step="900" required aria-invalid=[fra.invalid()] aria-describedby=[fra.described()]; }))
            (til.wrap(html! { input type="time" id="til" name="til" value=(f.til) step="900" required aria-invalid=[til.invalid()] aria-describedby=[til.described()]; }))
            (tittel.wrap(html! { input type="text" id="tittel" name="tittel" value=(f.tittel) maxlength="200" required aria-invalid=[tittel.invalid()] aria-describedby=[tittel.described()]; }))
            (deltakere.wrap(html! { input type="number" id="deltakere" name="deltakere" value=(f.deltakere) min="1" max=(room.capacity) inputmode="numeric" required aria-invalid=[deltakere.invalid()] aria-describedby=[deltakere.described()]; }))
            (Field::new("beskrivelse", "Beskrivelse (valgfritt)", errors).textarea(&f.beskrivelse, 4))
            div.field {
                input type="checkbox" id="offentlig" name="offentlig" value="ja" checked[f.offentlig.is_some()];
                label for="offentlig" { "Vis tittel offentlig" }
                p { "Uten hake vises bookingen som «Opptatt» for andre." }
            }
            (repeat_fields(f, errors))
            (activity_fields(state, f, errors))
            @if user.role.is_coordinator() {
                (Field::new("virksomhet", "Virksomhet", errors).wrap(html! {
                    select id="virksomhet" name="virksomhet" {
                        @for o in &rules.organisations {
                            option value=(o.key) selected[f.virksomhet.as_deref().unwrap_or(&user.org) == o.key] { (o.name) }
                        }
                    }
                }))
                fieldset {
                    legend { "Overstyring (koordinator)" }
                    div.field {
                        input type="checkbox" id="overstyr" name="overstyr" value="ja" checked[f.overstyr.is_some()];
                        label for="overstyr" { "Overstyr: trekk tilbake bookinger som holder tiden, også innenfor beskyttelsesperioden" }
                    }
                    (Field::new("begrunnelse", "Begrunnelse for overstyringen (kreves ved overstyring)", errors).textarea(&f.begrunnelse, 3))
                }
            }
            button type="submit" { "Send forespørsel" }
        }
        p { "Booking for " (rules.org_name(&user.org)) ", med deg som kontaktperson." }
    }
}

/// «Gjenta»: no repetition (the default), every week, every few weeks, monthly on the date or
/// on the weekday (named from the chosen date when there is one); ending after a number of
/// times or on a date.
fn repeat_fields(f: &BookingForm, errors: &FieldErrors) -> Markup {
    let day = crate::domain::time::parse_day(&f.dato);
    let chosen = if f.repeats() { f.gjenta.as_str() } else { "ingen" };
    let on_date = match day {
        Some(d) => format!("Hver måned på samme dato (den {}.)", d.day()),
        None => "Hver måned på samme dato som første gang".to_string(),
    };
    let on_weekday = match day {
        Some(d) => format!("Hver måned på samme ukedag ({})", recurrence::nth_weekday_words(d)),
        None => "Hver måned på samme ukedag, for eksempel andre tirsdag".to_string(),
    };
    let options: [(&str, String); 5] = [
        ("ingen", "Ingen gjentakelse".into()),
        ("ukentlig", "Hver uke".into()),
        ("hver-n-uke", "Med noen ukers mellomrom".into()),
        ("maanedlig-dato", on_date),
        ("maanedlig-ukedag", on_weekday),
    ];
    let hver = Field::new("hver", "Antall uker mellom gangene (2 er annenhver uke)", errors);
    let antall = Field::new("antall", "Antall ganger", errors);
    let sluttdato = Field::new("sluttdato", "Til og med dato", errors);
    let errs = errors.for_field("gjenta");
    let hver_value = if f.hver.is_empty() { "2" } else { f.hver.as_str() };
    html! {
        fieldset.repeat aria-describedby=[(!errs.is_empty()).then_some("gjenta-feil")] {
            legend { "Gjenta" }
            @for e in &errs { p.field-error id="gjenta-feil" { (e) } }
            @for (value, label) in &options {
                div.choice {
                    input type="radio" id=(format!("gjenta-{value}")) name="gjenta" value=(value) checked[chosen == *value];
                    label for=(format!("gjenta-{value}")) { (label) }
                }
            }
            (hver.wrap(html! { input type="number" id="hver" name="hver" value=(hver_value) min="2" max="52" inputmode="numeric" aria-invalid=[hver.invalid()] aria-describedby=[hver.described()]; }))
            p.hint { "Serien slutter etter et antall ganger eller på en dato. Fyll ut ett av feltene." }
            (antall.wrap(html! { input type="number" id="antall" name="antall" value=(f.antall) min="2" max=(recurrence::MAX_OCCURRENCES) inputmode="numeric" aria-invalid=[antall.invalid()] aria-describedby=[antall.described()]; }))
            (sluttdato.wrap(html! { input type="date" id="sluttdato" name="sluttdato" value=(f.sluttdato) aria-invalid=[sluttdato.invalid()] aria-describedby=[sluttdato.described()]; }))
            p.hint { "Før en serie bookes, ser du alle gangene og om de er ledige. Stengte dager hoppes over." }
        }
    }
}

/// A group of checkboxes with a legend and its errors.
fn checkboxes(
    name: &'static str,
    legend: &str,
    hint: Option<&str>,
    items: &[(String, String)],
    chosen: &[String],
    errors: &FieldErrors,
) -> Markup {
    let errs = errors.for_field(name);
    html! {
        fieldset.choices aria-describedby=[(!errs.is_empty()).then(|| format!("{name}-feil"))] {
            legend { (legend) }
            @if let Some(h) = hint { p.hint { (h) } }
            @for e in &errs { p.field-error id=(format!("{name}-feil")) { (e) } }
            @for (key, label) in items {
                div.choice {
                    input type="checkbox" id=(format!("{name}-{key}")) name=(name) value=(key) checked[chosen.contains(key)];
                    label for=(format!("{name}-{key}")) { (label) }
                }
            }
        }
    }
}

/// What the booking is used for: kind, themes, goal areas, plan measures, expected participants.
fn activity_fields(state: &AppState, f: &BookingForm, errors: &FieldErrors) -> Markup {
    use crate::domain::plan::Vocabulary;
    let plan = &state.app.config().plan;
    let terms = |list: Vocabulary| -> Vec<(String, String)> {
        plan.terms(list)
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect()
    };
    let kind = Field::new("aktivitet", "Aktivitetstype", errors);
    let chosen_kind = if f.aktivitet.is_empty() {
        "mote"
    } else {
        f.aktivitet.as_str()
    };
    // The plans a booking made today can fall in: from today to the longest horizon.
    let today = local(state.now()).date_naive();
    let last = today
        + chrono::Duration::days(
            state
                .app
                .config()
                .rules
                .tiers
                .iter()
                .map(|t| t.horizon_days)
                .max()
                .unwrap_or(365),
        );
    let plans: Vec<_> = plan.plans.iter().filter(|p| p.to >= today && p.from <= last).collect();
    html! {
        fieldset.activity {
            legend { "Aktiviteten" }
            p.hint { "Brukes i rapporten til kommunaldirektørens ledergruppe om aktiviteten i Alrek helseklynge." }
            (kind.wrap(html! {
                select id="aktivitet" name="aktivitet" aria-invalid=[kind.invalid()] aria-describedby=[kind.described()] {
                    @for t in &plan.kinds { option value=(t.key) selected[chosen_kind == t.key] { (t.name) } }
                }
            }))
            (checkboxes("tema", "Tema (valgfritt)", None, &terms(Vocabulary::Theme), &f.temaer, errors))
            (checkboxes("malomrade", "Klyngens målområder (valgfritt)", None, &terms(Vocabulary::GoalArea), &f.malomrader, errors))
            @for p in &plans {
                @let items: Vec<(String, String)> = p.measures.iter().map(|m| {
                    let area = p.focus_area(&m.focus_area).map(|a| a.name.as_str()).unwrap_or("");
                    (m.key.clone(), format!("{} ({area})", m.name))
                }).collect();
                (checkboxes("tiltak", &format!("Tiltak i {} (valgfritt)", p.name), Some(&format!("Gjelder aktiviteter {}.", p.period())), &items, &f.tiltak, errors))
            }
            (counts_fieldset("forventet", "Forventet antall deltakere per gruppe (valgfritt)", &plan.groups, &f.forventet, errors))
        }
    }
}

/// A day and a time span as typed: the new-booking link's query and the move form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SlotFields {
    #[serde(default)]
    pub(super) dato: String,
    #[serde(default)]
    pub(super) fra: String,
    #[serde(default)]
    pub(super) til: String,
}

/// GET /booking/ny: the form, filled in from the query with the form's own field names
/// (`dato`, `fra`, `til`, `tittel`, `deltakere`, `beskrivelse`, `offentlig=nei`, `aktivitet`,
/// `tema`, `malomrade`, `tiltak`, `forventet-{group}`) — the week view's «Book» and the
/// alternatives in mails link here. A value that is missing or not valid is left out.
async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let f = prefill(&state, pairs);
    layout(
        &ctx,
        "Book Borgertun",
        "",
        form_page(&ctx, &state, &user, &f, &FieldErrors::default()),
    )
    .into_response()
}

/// The form's fields from a link's query, each kept only when it is valid: a day, times of day
/// on the quarter-hour grid's format, a title and description the rules accept, a whole number
/// of attendees within the capacity, and activity terms of the configured plan.
fn prefill(state: &AppState, pairs: Vec<(String, String)>) -> BookingForm {
    let config = state.app.config();
    let (plan, room) = (&config.plan, &config.rules.rooms[0]);
    let q = BookingForm::from(pairs);
    let time = |s: &str| {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .ok()
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default()
    };
    let known = |list: &[crate::domain::plan::Term], keys: &[String]| -> Vec<String> {
        keys.iter()
            .filter(|k| list.iter().any(|t| &t.key == *k))
            .cloned()
            .collect()
    };
    let measures: Vec<String> = q.tiltak.iter().filter(|k| plan.measure(k).is_some()).cloned().collect();
    BookingForm {
        dato: crate::domain::time::parse_day(&q.dato)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        fra: time(&q.fra),
        til: time(&q.til),
        tittel: BookingTitle::parse(&q.tittel)
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        deltakere: q
            .deltakere
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=room.capacity).contains(n))
            .map(|n| n.to_string())
            .unwrap_or_default(),
        beskrivelse: parse_description(Some(&q.beskrivelse))
            .ok()
            .flatten()
            .unwrap_or_default(),
        offentlig: (q.offentlig.as_deref() != Some("nei")).then(|| "ja".into()),
        virksomhet: q
            .virksomhet
            .filter(|o| config.rules.organisations.iter().any(|org| &org.key == o)),
        aktivitet: if plan.kinds.iter().any(|k| k.key == q.aktivitet) {
            q.aktivitet
        } else {
            "mote".into()
        },
        temaer: known(&plan.themes, &q.temaer),
        malomrader: known(&plan.goal_areas, &q.malomrader),
        tiltak: measures,
        forventet: q
            .forventet
            .into_iter()
            .filter(|(g, n)| plan.groups.iter().any(|t| &t.key == g) && n.trim().parse::<u32>().is_ok())
            .collect(),
        ..Default::default()
    }
}

/// A date and two times of day, in Oslo, as typed in a form.
pub fn parse_slot(dato: &str, fra: &str, til: &str) -> Result<Slot, FieldErrors> {
    let mut errors = FieldErrors::default();
    let date = crate::domain::time::parse_day(dato);
    if date.is_none() {
        if dato.trim().is_empty() {
            errors.add("dato", "Velg en dato.");
        } else {
            errors.add("dato", format!("Velg en dato. {}", crate::domain::time::day_hint()));
        }
    }
    let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    let (from, to) = (time(fra), time(til));
    if from.is_none() {
        errors.add("fra", "Skriv når bookingen starter, for eksempel 09.00.");
    }
    if to.is_none() {
        errors.add("til", "Skriv når bookingen slutter, for eksempel 11.00.");
    }
    let (Some(d), Some(a), Some(b)) = (date, from, to) else {
        return Err(errors);
    };
    match (at_local(d, a), at_local(d, b)) {
        (Some(start), Some(end)) => Ok(Slot { start, end }),
        _ => {
            errors.add("fra", "Klokkeslettet finnes ikke den dagen (sommertid).");
            Err(errors)
        }
    }
}

/// Parse the form; every problem is reported at once.
/// The activity as typed; counts that are not whole numbers are errors.
fn parse_activity(f: &BookingForm, errors: &mut FieldErrors) -> Activity {
    let expected = parse_counts(&f.forventet, "forventet", "hele tall", errors);
    Activity {
        kind: f.aktivitet.trim().to_string(),
        themes: f.temaer.clone(),
        goal_areas: f.malomrader.clone(),
        measures: f.tiltak.clone(),
        expected: expected.into_iter().filter(|(_, n)| *n != 0).collect(),
    }
    .dedup()
}

/// The form's «Gjenta» as an `RRULE` from the first day (`None`: the date is missing, and
/// said so already), or `None` for a single booking; problems go to `errors`.
fn parse_repeat(f: &BookingForm, first: Option<NaiveDate>, errors: &mut FieldErrors) -> Option<String> {
    use recurrence::{End, Repeat, MAX_OCCURRENCES};
    let repeat = match f.gjenta.as_str() {
        "" | "ingen" => return None,
        "ukentlig" => Some(Repeat::Weekly { interval: 1 }),
        "hver-n-uke" => match f.hver.trim().parse::<u32>() {
            Ok(n) if (2..=52).contains(&n) => Some(Repeat::Weekly { interval: n }),
            _ => {
                errors.add(
                    "hver",
                    "Skriv hvor mange uker det skal gå mellom gangene, et helt tall fra 2 til 52.",
                );
                None
            }
        },
        "maanedlig-dato" => Some(Repeat::MonthlyOnDate),
        "maanedlig-ukedag" => Some(Repeat::MonthlyOnWeekday),
        _ => {
            errors.add("gjenta", "Velg hvordan bookingen skal gjentas.");
            None
        }
    };
    let (count, until) = (f.antall.trim(), f.sluttdato.trim());
    let end = match (count.is_empty(), until.is_empty()) {
        (true, true) => {
            errors.add(
                "antall",
                "Skriv hvor mange ganger, eller velg en dato serien slutter (til og med).",
            );
            None
        }
        (false, false) => {
            errors.add(
                "antall",
                "Fyll ut enten antall ganger eller til og med dato, ikke begge.",
            );
            None
        }
        (false, true) => match count.parse::<u32>() {
            Ok(n) if (2..=MAX_OCCURRENCES as u32).contains(&n) => Some(End::Count(n)),
            Ok(n) if n > MAX_OCCURRENCES as u32 => {
                errors.add(
                    "antall",
                    format!("En serie kan ha høyst {MAX_OCCURRENCES} ganger, ikke {n}."),
                );
                None
            }
            _ => {
                errors.add("antall", "Skriv antall ganger som et helt tall, minst 2.");
                None
            }
        },
        (true, false) => match crate::domain::time::parse_day(until) {
            None => {
                errors.add(
                    "sluttdato",
                    format!("Velg datoen serien slutter. {}", crate::domain::time::day_hint()),
                );
                None
            }
            Some(d) if first.is_some_and(|first| d <= first) => {
                let first = first.unwrap_or(d);
                let message = if d < first {
                    format!(
                        "Til og med-datoen ({}) er før første gang ({}). Velg en senere dato.",
                        format_date(d),
                        format_date(first)
                    )
                } else {
                    format!(
                        "Til og med-datoen er samme dag som første gang ({}). Velg en senere dato.",
                        format_date(first)
                    )
                };
                errors.add("sluttdato", message);
                None
            }
            Some(d) => Some(End::Until(d)),
        },
    };
    Some(repeat?.rrule(first?, end?))
}

/// A submitted booking form's body as `submit` reads it before it asks the database: decoded
/// as [`CsrfForm`] decodes it (`None` when it cannot be), then [`parse`]d for `user` and
/// `room` under `plan`. The fuzz target `forms` (`fuzz/`) sends it anything.
pub fn read_booking_form(
    body: &[u8],
    user: &User,
    room: &str,
    plan: &Plan,
) -> Option<Result<(NewBooking, Option<String>), FieldErrors>> {
    let f: BookingForm = serde_urlencoded::from_bytes(body).ok()?;
    Some(parse(&f, user, room, plan))
}

/// The form as a request: the first (or only) booking, and the series' `RRULE` if it repeats.
pub(super) fn parse(
    f: &BookingForm,
    user: &User,
    room: &str,
    plan: &Plan,
) -> Result<(NewBooking, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let slot = parse_slot(&f.dato, &f.fra, &f.til).map_err(|e| errors = e).ok();
    let rrule = parse_repeat(f, crate::domain::time::parse_day(&f.dato), &mut errors);
    let activity = parse_activity(f, &mut errors);
    if activity.kind.is_empty() {
        errors.add("aktivitet", "Velg aktivitetstype.");
    } else if let Some(slot) = slot {
        for e in activity.check(plan, local(slot.start).date_naive()) {
            add_domain(&mut errors, &e);
        }
    }
    let title = BookingTitle::parse(&f.tittel)
        .map_err(|e| add_domain(&mut errors, &e))
        .ok();
    let attendees = f.deltakere.trim().parse::<i64>().ok().filter(|n| *n > 0);
    if attendees.is_none() {
        errors.add("deltakere", "Skriv antall deltakere som et tall, minst 1.");
    }
    let description = parse_description(Some(&f.beskrivelse))
        .map_err(|e| add_domain(&mut errors, &e))
        .ok()
        .flatten();
    let (Some(slot), Some(title), Some(attendees), true) = (slot, title, attendees, errors.is_empty()) else {
        return Err(errors);
    };
    let new = NewBooking {
        room: room.to_string(),
        start: slot.start,
        end: slot.end,
        title,
        description,
        public: f.offentlig.is_some(),
        attendees,
        // Another organisation only for a coordinator: `submit` refuses it for anyone else.
        org: f.virksomhet.clone().unwrap_or_else(|| user.org.clone()),
        contact: user.clone(),
        activity: Some(activity),
    };
    Ok((new, rrule))
}

fn details(state: &AppState, b: &Booking) -> Markup {
    let rules = &state.app.config().rules;
    html! {
        table {
            tbody {
                tr { th scope="row" { "Tittel" } td { (b.title) } }
                tr { th scope="row" { "Tid" } td { (format_range(b.start, b.end)) } }
                tr { th scope="row" { "Virksomhet" } td { (rules.org_name(&b.org)) } }
                tr { th scope="row" { "Antall deltakere" } td { (b.attendees) } }
                tr { th scope="row" { "Status" } td { (b.status.norwegian()) } }
            }
        }
    }
}

/// What only a coordinator may ask for on the booking form: another organisation, an override.
fn coordinator_only(f: &BookingForm, user: &User) -> Option<PageError> {
    if user.role.is_coordinator() {
        return None;
    }
    if f.virksomhet.as_deref().is_some_and(|o| o != user.org) {
        return Some(PageError::forbidden(
            "Bare koordinator kan booke for en annen virksomhet. Bookingen er ikke sendt.",
        ));
    }
    f.overstyr
        .is_some()
        .then(|| PageError::forbidden("Bare koordinator kan overstyre andre bookinger. Bookingen er ikke sendt."))
}

async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedIn(user): SignedIn,
    client: ClientAddr,
    CsrfForm(f): CsrfForm<BookingForm>,
) -> PageResult {
    if let Some(refused) = coordinator_only(&f, &user) {
        return Err(refused);
    }
    if state.limits.booking_limited(user.id, &client) {
        return Err(PageError::too_many("Det er sendt mange bookinger på kort tid."));
    }
    let room = state.app.config().rules.rooms[0].key.clone();
    let again = |errors: FieldErrors| {
        let page = layout(&ctx, "Book Borgertun", "", form_page(&ctx, &state, &user, &f, &errors));
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if f.endre.is_some() {
        // «Endre» on the preview: the form again, as it was filled in.
        let page = form_page(&ctx, &state, &user, &f, &FieldErrors::default());
        return Ok(layout(&ctx, "Book Borgertun", "", page).into_response());
    }
    let (new, rrule) = match parse(&f, &user, &room, &state.app.config().plan) {
        Ok(n) => n,
        Err(errors) => return again(errors),
    };
    if let Some(rrule) = rrule {
        if f.overstyr.is_some() {
            let mut errors = FieldErrors::default();
            errors.add(
                "gjenta",
                "Overstyring gjelder én booking om gangen. Book serien uten overstyring, og overstyr de enkelte gangene etterpå.",
            );
            return again(errors);
        }
        return submit_series(&state, &ctx, &f, new, &rrule, &user).await;
    }
    let date = local(new.start).date_naive();
    let outcome = if f.overstyr.is_some() {
        let reason = match parse_reason(
            Some(&f.begrunnelse),
            Some("Skriv en begrunnelse for overstyringen (høyst 1000 tegn)."),
        ) {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => {
                let mut errors = FieldErrors::default();
                add_domain(&mut errors, &e);
                return again(errors);
            }
        };
        state.app.book_override(new, &user, &reason).await
    } else {
        state.app.book(new, &user.email).await
    };
    match outcome {
        Ok(BookOutcome::Stored {
            booking,
            competes,
            displaced,
            ..
        }) => {
            let confirmed = booking.status == Status::Confirmed;
            let body = html! {
                @if confirmed {
                    h1 { "Bookingen er bekreftet" }
                    p role="status" { "Du får en kalenderinvitasjon på e-post." }
                    @if !displaced.is_empty() {
                        p { "Disse bookingene er trukket tilbake, og kontaktpersonene har fått beskjed med ledige alternativer:" }
                        ul { @for (d, _) in &displaced { li { a href=(format!("/bookinger/{}", d.id)) { (d.title) } ", " (format_range(d.start, d.end)) } } }
                    }
                } @else {
                    h1 { "Forespørselen er sendt" }
                    p role="status" { "Forespørselen din er til behandling hos koordinator. Du får en e-post når den er avgjort." }
                    @if competes { p { "Tiden overlapper en annen booking, og koordinator avgjør etter prioriteringsreglene." } }
                }
                (details(&state, &booking))
                p { a href=(format!("/?dato={date}")) { "Tilbake til ukevisningen" } }
            };
            let title = if confirmed {
                "Bookingen er bekreftet"
            } else {
                "Forespørselen er sendt"
            };
            Ok(layout(&ctx, title, "", body).into_response())
        }
        Ok(BookOutcome::Busy {
            protected,
            alternatives,
            ..
        }) => Ok(busy_page(&ctx, &state, &f, protected, &alternatives)),
        Err(ServiceError::Rules(errs)) => {
            let mut errors = FieldErrors::default();
            for e in &errs {
                add_domain(&mut errors, e);
            }
            again(errors)
        }
        Err(ServiceError::Forbidden) => Err(PageError::forbidden("Du kan ikke booke for denne virksomheten.")),
        Err(e) => Err(e).unavailable("Bookingen ble ikke lagret. Prøv igjen om litt."),
    }
}

/// A repeating booking: without «Book serien» the preview (nothing stored); with it, the
/// series stored (to its page), or refused with every occurrence's outcome.
async fn submit_series(
    state: &AppState,
    ctx: &PageCtx,
    f: &BookingForm,
    new: NewBooking,
    rrule: &str,
    user: &User,
) -> PageResult {
    let (start, end) = (local(new.start), local(new.end));
    let pattern = recurrence::parse(rrule)
        .map(|r| r.describe(start.date_naive()))
        .unwrap_or_default();
    let about = format!(
        "{}: {pattern}, kl. {}–{}, første gang {}.",
        new.title.as_str(),
        format_time(start.time()),
        format_time(end.time()),
        format_date(start.date_naive())
    );
    let confirm = f.bekreft.is_some();
    match state.app.book_series(new, rrule, &user.email, !confirm).await {
        Ok(SeriesOutcome::Stored(detail)) => {
            Ok(Redirect::to(&format!("{}?ny=1", super::series::path(detail.series.id))).into_response())
        }
        Ok(SeriesOutcome::Preview(outcomes)) => Ok(preview_page(state, ctx, f, &about, &outcomes, false)),
        Ok(SeriesOutcome::Refused(outcomes)) => Ok(preview_page(state, ctx, f, &about, &outcomes, true)),
        Err(ServiceError::Rules(errs)) => {
            let mut errors = FieldErrors::default();
            for e in &errs {
                add_domain(&mut errors, e);
            }
            let page = layout(ctx, "Book Borgertun", "", form_page(ctx, state, user, f, &errors));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ServiceError::Forbidden) => Err(PageError::forbidden("Du kan ikke booke for denne virksomheten.")),
        Err(e) => Err(e).unavailable("Serien ble ikke lagret. Prøv igjen om litt."),
    }
}

/// Every occurrence of a series with what would become (or became) of it, the counts, and
/// «Book serien» (when the series can be stored) and «Endre». `refused`: «Book serien» was
/// pressed, and nothing was stored.
fn preview_page(
    state: &AppState,
    ctx: &PageCtx,
    f: &BookingForm,
    about: &str,
    outcomes: &[OccurrenceOutcome],
    refused: bool,
) -> Response {
    let limits = &state.app.config().rules.series;
    let summary = OutcomeSummary::of(outcomes, limits);
    let title = if refused {
        "Serien er ikke booket"
    } else {
        "Slik blir serien"
    };
    let body = html! {
        h1 { (title) }
        @if refused {
            div.notice role="alert" {
                p { "Ingenting er lagret: for mange av tidene er opptatt. En serie bookes når høyst "
                    (limits.max_conflicts) " av gangene, og høyst " (limits.max_conflict_percent)
                    " prosent av dem, ikke kan bookes. Velg en annen tid eller et annet mønster." }
            }
        }
        p { (about) }
        h2 { "Oppsummering" }
        ul.summary { @for line in summary.lines() { li { (line) } } }
        @if !refused {
            @if summary.accepted {
                p role="status" { "Serien kan bookes. Gangene som er opptatt eller utenfor reglene, blir ikke booket. Ingenting er lagret ennå." }
            } @else {
                p.notice role="alert" { "Serien kan ikke bookes slik: for mange av tidene er opptatt (høyst "
                    (limits.max_conflicts) " ganger og høyst " (limits.max_conflict_percent)
                    " prosent). Endre tiden eller mønsteret. Ingenting er lagret." }
            }
        }
        h2 { "Alle gangene" }
        ol.occurrences { @for o in outcomes { li { (o.describe()) } } }
        form method="post" action="/booking/ny" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            (f.hidden_all())
            div.actions {
                @if summary.accepted && !refused {
                    button type="submit" name="bekreft" value="ja" { "Book serien" }
                }
                button.secondary type="submit" name="endre" value="ja" { "Endre" }
            }
        }
    };
    let status = if refused { StatusCode::CONFLICT } else { StatusCode::OK };
    (status, layout(ctx, title, "", body)).into_response()
}

/// The free alternatives as one-click forms that book the same details at that time.
pub(super) fn alternative_list(ctx: &PageCtx, f: &BookingForm, alternatives: &[Slot]) -> Markup {
    html! {
        ul.alternatives aria-label="Ledige alternativer" {
            @for a in alternatives {
                @let (start, end) = (local(a.start), local(a.end));
                li {
                    form method="post" action="/booking/ny" {
                        input type="hidden" name="csrf" value=(ctx.csrf);
                        input type="hidden" name="dato" value=(start.date_naive().to_string());
                        input type="hidden" name="fra" value=(start.format("%H:%M").to_string());
                        input type="hidden" name="til" value=(end.format("%H:%M").to_string());
                        input type="hidden" name="tittel" value=(f.tittel);
                        input type="hidden" name="deltakere" value=(f.deltakere);
                        input type="hidden" name="beskrivelse" value=(f.beskrivelse);
                        @if f.offentlig.is_some() { input type="hidden" name="offentlig" value="ja"; }
                        @if let Some(v) = &f.virksomhet { input type="hidden" name="virksomhet" value=(v); }
                        (f.hidden_activity())
                        button type="submit" { "Book " (format_date(start.date_naive())) " kl. " (format_time(start.time())) "–" (format_time(end.time())) }
                    }
                }
            }
        }
    }
}

/// «Sett meg på venteliste»: the same request, for exactly the time that was busy.
fn waitlist_form(ctx: &PageCtx, f: &BookingForm) -> Markup {
    html! {
        h2 { "Venteliste" }
        p { "Vil du ha akkurat denne tiden? Står du på ventelisten, får du en e-post hvis den blir ledig, og tiden holdes for deg en stund." }
        form method="post" action="/venteliste" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            input type="hidden" name="dato" value=(f.dato);
            input type="hidden" name="fra" value=(f.fra);
            input type="hidden" name="til" value=(f.til);
            input type="hidden" name="tittel" value=(f.tittel);
            input type="hidden" name="deltakere" value=(f.deltakere);
            input type="hidden" name="beskrivelse" value=(f.beskrivelse);
            @if f.offentlig.is_some() { input type="hidden" name="offentlig" value="ja"; }
            @if let Some(v) = &f.virksomhet { input type="hidden" name="virksomhet" value=(v); }
            (f.hidden_activity())
            button type="submit" { "Sett meg på venteliste" }
        }
    }
}

impl BookingForm {
    /// The details of an existing booking, to book them again at another time.
    pub(super) fn from_booking(b: &Booking) -> Self {
        BookingForm {
            tittel: b.title.clone(),
            deltakere: b.attendees.to_string(),
            beskrivelse: b.description.clone().unwrap_or_default(),
            offentlig: b.public.then(|| "ja".to_string()),
            virksomhet: Some(b.org.clone()),
            aktivitet: b
                .activity
                .as_ref()
                .map(|a| a.kind.clone())
                .unwrap_or_else(|| "annet".into()),
            temaer: b.activity.as_ref().map(|a| a.themes.clone()).unwrap_or_default(),
            malomrader: b.activity.as_ref().map(|a| a.goal_areas.clone()).unwrap_or_default(),
            tiltak: b.activity.as_ref().map(|a| a.measures.clone()).unwrap_or_default(),
            forventet: b
                .activity
                .as_ref()
                .map(|a| a.expected.iter().map(|(g, n)| (g.clone(), n.to_string())).collect())
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// «Rommet er opptatt»: each free alternative is a one-click form with the same details.
fn busy_page(ctx: &PageCtx, state: &AppState, f: &BookingForm, protected: bool, alternatives: &[Slot]) -> Response {
    let body = html! {
        h1 { "Rommet er opptatt" }
        @if protected {
            p { "Tiden er booket, og bookingen starter innen beskyttelsesperioden på " (state.app.config().rules.protection_window_days) " dager." }
        }
        @if alternatives.is_empty() {
            p { "Vi fant ingen ledige tider av samme lengde innenfor bookingvinduet." }
        } @else {
            p { "Rommet er opptatt. Disse tidene er ledige:" }
            (alternative_list(ctx, f, alternatives))
        }
        (waitlist_form(ctx, f))
        p { a href="/booking/ny" { "Velg en annen tid" } }
    };
    (StatusCode::CONFLICT, layout(ctx, "Rommet er opptatt", "", body)).into_response()
}
