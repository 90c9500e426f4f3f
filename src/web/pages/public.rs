//! Pages anyone may see: the week view, «I dag i Borgertun», the rules, the accessibility
//! statement. They show times, organisations and public titles only, never contact details.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::ServiceResultExt;
use super::{layout, layout_with, PageCtx, PageError, PageResult};
use crate::domain::checkin::{CheckIn, Window};
use crate::domain::holidays::holidays;
use crate::domain::schedule::{day_plan, DayPlan, Stretch};
use crate::domain::time::{
    format_date, format_minutes, format_time, format_week, local, monday_of, parse_day, start_of_day, weekday_plural,
};
use crate::domain::{view_of, Booking, Room, Rules, View};
use crate::service::{Kept, KeptPage};
use crate::web::conditional::not_modified;
use crate::web::AppState;

#[derive(Deserialize)]
pub struct WeekQuery {
    dato: Option<String>,
    rom: Option<String>,
}

fn time_range(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "kl. {}–{}",
        format_time(local(start).time()),
        format_time(local(end).time())
    )
}

/// The confirmed bookings of `room` on `[from, to)` days, and each day's plan.
async fn plans(
    state: &AppState,
    room: &Room,
    from: NaiveDate,
    days: &[NaiveDate],
) -> PageResult<(Vec<Booking>, Vec<DayPlan>)> {
    let to = days.last().copied().unwrap_or(from) + Duration::days(1);
    let bookings = state
        .app
        .confirmed_in_room(&room.key, start_of_day(from), start_of_day(to))
        .await
        .unavailable("Vi får ikke hentet bookingene akkurat nå. Prøv igjen om litt.")?;
    let spans: Vec<_> = bookings.iter().map(|b| (b.start, b.end, b.blocked_until)).collect();
    let plans = days
        .iter()
        .map(|d| day_plan(&state.app.config().rules, room, *d, &spans))
        .collect();
    Ok((bookings, plans))
}

/// The booking form for the first hour (or less) of a free stretch.
fn book_link(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    let until = end.min(start + Duration::hours(1));
    let (s, e) = (local(start), local(until));
    format!(
        "/booking/ny?dato={}&fra={}&til={}",
        s.date_naive(),
        s.format("%H:%M"),
        e.format("%H:%M")
    )
}

/// The title the availability shows. The week view and the screen by the door are the same
/// for everyone, signed in or not: the public view.
fn public_title(b: &Booking) -> &str {
    view_of(None, b).unwrap_or(View::Public).title(b)
}

fn day_list(rules: &Rules, plan: &DayPlan, bookings: &[Booking]) -> Markup {
    html! {
        @if let Some(reason) = &plan.closed {
            p.closed { span.label { "Stengt" } " (" (reason) ")" }
        } @else {
            ul {
                @for s in &plan.stretches {
                    @match s {
                        Stretch::Busy { start, end, index } => {
                            @let b = &bookings[*index];
                            li.busy {
                                span.time { span.label { "Opptatt " } (time_range(*start, *end)) }
                                span.title { (public_title(b)) }
                                span.org { (rules.org_name(&b.org)) }
                                @if b.series.is_some() {
                                    span.series-tag { span aria-hidden="true" { "↻ " } span.visually-hidden { "Del av en " } "serie" }
                                }
                            }
                        }
                        Stretch::Free { start, end } => {
                            li.free {
                                span.time { span.label { "Ledig " } (time_range(*start, *end)) }
                                a href=(book_link(*start, *end)) { "Book" span.visually-hidden { " " (time_range(*start, *end)) " " (format_date(plan.date)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/` — the week view: ISO week, days as columns (one after another on a phone), busy
/// blocks with organisation and public title, free time marked free.
///
/// Signed out, the page is the same for everyone: it is kept, rendered, until a booking
/// changes (see `service::pages`), with an `ETag`, and a conditional request that names it is
/// answered `304`. It is rendered without any browser's anti-forgery token (the page has no
/// form that posts). Signed in, the page names the user and carries their token: it is
/// rendered for each request and never kept.
pub async fn week(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<WeekQuery>,
    headers: HeaderMap,
) -> PageResult {
    let rules = &state.app.config().rules;
    let room = match q.rom.as_deref() {
        Some(key) => match rules.room(key) {
            Some(r) => r,
            None => {
                return Err(PageError::not_found(
                    "Fant ikke rommet",
                    format!("Det finnes ikke noe rom som heter «{key}»."),
                ))
            }
        },
        None => &rules.rooms[0],
    };
    let today = local(state.now()).date_naive();
    let date = match q.dato.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => match parse_day(s) {
            Some(d) => d,
            None => {
                return Err(PageError::refused(
                    StatusCode::BAD_REQUEST,
                    "Ugyldig dato",
                    format!("«{s}» er ikke en dato. Skriv datoen som ÅÅÅÅ-MM-DD, for eksempel 2026-03-02."),
                ))
            }
        },
        None => today,
    };
    let week = Week {
        room,
        named_room: q.rom.is_some(),
        date,
        today,
    };
    if ctx.user.is_some() {
        let (bookings, plans) = plans(&state, room, week.monday(), &week.days()).await?;
        return Ok(week_page(&state, &ctx, &week, &bookings, &plans).into_response());
    }
    let key = format!("week|{}|{}|{date}|{today}", room.key, week.named_room);
    let (from, to) = (
        start_of_day(week.monday()),
        start_of_day(week.monday() + Duration::days(7)),
    );
    let unavailable = "Vi får ikke hentet bookingene akkurat nå. Prøv igjen om litt.";
    let page = match state
        .app
        .kept_page(key, &room.key, from, to)
        .await
        .unavailable(unavailable)?
    {
        Kept::Page(page) => page,
        Kept::Render(ticket) => {
            let (bookings, plans) = plans(&state, room, week.monday(), &week.days()).await?;
            let body = week_page(&state, &PageCtx::default(), &week, &bookings, &plans).into_string();
            state.app.keep_page(ticket, KeptPage::new(body))
        }
    };
    let mut res = if not_modified(&headers, &page.etag, None) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page.body.clone()).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&page.etag) {
        h.insert(header::ETAG, v);
    }
    // Browsers ask again each time (a 304 while nothing changed); never a shared cache, as
    // the answer sets this browser's pre-session cookie and signed-in visitors get another page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Cookie"));
    Ok(res)
}

/// Which week view: of what room (named in the address or not), around what date, on what day.
struct Week<'a> {
    room: &'a Room,
    named_room: bool,
    date: NaiveDate,
    today: NaiveDate,
}

impl Week<'_> {
    fn monday(&self) -> NaiveDate {
        monday_of(self.date)
    }

    /// The days shown: Monday to Friday, and Saturday and Sunday if the room opens then.
    fn days(&self) -> Vec<NaiveDate> {
        let monday = self.monday();
        (0..7)
            .map(|i| monday + Duration::days(i))
            .filter(|d| {
                !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || self.room.opening_hours.on(d.weekday()).is_some()
            })
            .collect()
    }
}

fn week_page(state: &AppState, ctx: &PageCtx, week: &Week<'_>, bookings: &[Booking], plans: &[DayPlan]) -> Markup {
    let rules = &state.app.config().rules;
    let Week {
        room,
        named_room,
        date,
        today,
    } = *week;
    let monday = week.monday();
    let link = |d: NaiveDate| {
        if named_room {
            format!("/?dato={d}&rom={}", room.key)
        } else {
            format!("/?dato={d}")
        }
    };
    let heading = format_week(monday);
    let body = html! {
        h1 { (room.name) " – ukevisning" }
        h2 id="uke" { (heading) }
        nav.weeknav aria-label="Velg uke" {
            a href=(link(monday - Duration::days(7))) rel="prev" { "← Forrige uke" }
            @if monday_of(today) != monday { a href=(link(today)) { "Denne uken" } }
            a href=(link(monday + Duration::days(7))) rel="next" { "Neste uke →" }
        }
        form.jump method="get" action="/" {
            div {
                label for="dato" { "Gå til dato" }
                input type="date" id="dato" name="dato" value=(date.to_string()) min=(format!("{}-01-01", crate::domain::time::YEARS.start())) max=(format!("{}-12-31", crate::domain::time::YEARS.end()));
            }
            @if named_room { input type="hidden" name="rom" value=(room.key); }
            button type="submit" { "Vis uken" }
        }
        p { "Opptatte tider viser virksomhet og tittel. Mellom bookingene holdes " (format_minutes(room.buffer_minutes)) " av til rigging og rydding. "
            a href="/regler" { "Slik booker du Borgertun" } "." }
        div.week {
            @for plan in plans {
                @let id = format!("dag-{}", plan.date);
                section.day.today[plan.date == today] aria-labelledby=(id) {
                    h3 id=(id) {
                        (format_date(plan.date).rsplit_once(' ').map(|(d, _)| d.to_string()).unwrap_or_default())
                        @if plan.date == today { " (i dag)" }
                    }
                    (day_list(rules, plan, bookings))
                }
            }
        }
    };
    layout(ctx, &heading, "/", body)
}

/// The QR code of a booking's check-in page, for the screen by the door while its check-in
/// is open: the time and the code, nothing personal.
fn check_in_code(state: &AppState, b: &Booking, w: Window) -> Markup {
    let url = format!("{}{}", state.app.public_url(), super::checkin::path(b.id));
    html! {
        section.check-in aria-labelledby=(format!("sjekk-inn-{}", b.id)) {
            h2 id=(format!("sjekk-inn-{}", b.id)) { "Sjekk inn " (time_range(b.start, b.end)) }
            p { "Kontaktpersonen skanner koden og sjekker inn innen " (format_time(local(w.closes).time())) ", ellers blir rommet frigitt." }
            @match qr_svg(&url, "QR-kode for innsjekking") {
                Some(svg) => { div.qr { (svg) } }
                None => {}
            }
            p.qr-link { (url) }
        }
    }
}

/// `data` as a QR code: an inline SVG image named `label`. `None` if it does not fit in one.
fn qr_svg(data: &str, label: &str) -> Option<Markup> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // An image inside the page: without the XML declaration, with a role and a name.
    let start = image.find("<svg")?;
    let named = image[start..].replacen(
        "<svg",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\"",
            maud::html! { (label) }.into_string()
        ),
        1,
    );
    Some(maud::PreEscaped(named))
}

/// `/i-dag` — «I dag i Borgertun» for the screen by the door: large type, reloads itself.
pub async fn today(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let rules = &state.app.config().rules;
    let room = &rules.rooms[0];
    let today = local(state.now()).date_naive();
    let (bookings, plans) = plans(&state, room, today, &[today]).await?;
    let plan = &plans[0];
    let any_busy = plan.stretches.iter().any(|s| matches!(s, Stretch::Busy { .. }));
    let body = html! {
        h1 { "I dag i " (room.name) }
        p { (format_date(today)) }
        @if plan.closed.is_none() && !any_busy {
            p { "Ingen bookinger i dag. Rommet er ledig hele åpningstiden." }
        }
        (day_list(rules, plan, &bookings))
        @for b in &bookings {
            @if let CheckIn::Open(w) = state.app.check_in_state(b) { (check_in_code(&state, b, w)) }
        }
        script src="/static/refresh.js" defer {}
    };
    Ok(layout_with(&ctx, "I dag i Borgertun", "/i-dag", "today-screen", body).into_response())
}

/// `/regler` — the rules, from the configuration, in plain Norwegian.
pub async fn rules(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let rules = &state.app.config().rules;
    let year = local(state.now()).year();
    let body = html! {
        h1 { "Regler for booking av Borgertun" }
        p { "Borgertun er Bergen kommunes møterom i Årstadveien 17. Rommet tilhører Byrådsavdeling for eldre, helse og omsorg (BEHO), som har første prioritet. Klyngepartnere og samarbeidspartnere i Alrek helseklynge kan låne rommet etter reglene under." }

        h2 { "Hvem kan booke, og hvor langt frem" }
        // On a phone the table scrolls inside its own box, which keyboard users reach with Tab.
        div.table-scroll role="region" aria-label="Prioritetsgrupper og bookingvindu" tabindex="0" {
            table {
                caption.visually-hidden { "Prioritetsgrupper og bookingvindu" }
                thead { tr { th scope="col" { "Prioritet" } th scope="col" { "Prioritetsgruppe" } th scope="col" { "Bookingvindu" } th scope="col" { "Varighet" } } }
                tbody {
                    @for t in &rules.tiers {
                        tr {
                            td { (t.rank + 1) }
                            td { (t.name) }
                            td { (t.plural) " kan booke inntil " (t.horizon_days) " dager frem i tid" }
                            td { (format_minutes(t.min_minutes)) " til " (format_minutes(t.max_minutes))
                                @if let Some(q) = t.monthly_quota_hours { ", høyst " (q) " timer per virksomhet per måned" } }
                        }
                    }
                }
            }
        }
        @for t in &rules.tiers {
            @if !t.auto_confirm { p { "Forespørsler fra " (t.name) " må godkjennes av koordinator." } }
            @if t.check_in {
                p { (t.plural) " må sjekke inn fra " (rules.check_in.opens_minutes_before) " minutter før bookingen starter til "
                    (rules.check_in.release_minutes) " minutter etter, på bookingsiden, med lenken i påminnelsen eller med QR-koden på skjermen ved døren. Uten innsjekking blir rommet frigitt for andre." }
            }
        }

        h2 { "Åpningstid" }
        @for room in &rules.rooms {
            @if rules.rooms.len() > 1 { h3 { (room.name) } }
            ul {
                @for wd in [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun] {
                    li {
                        @match room.opening_hours.on(wd) {
                            Some((open, close)) => { "På " (weekday_plural(wd)) ": kl. " (format_time(open)) "–" (format_time(close)) }
                            None => { "Stengt på " (weekday_plural(wd)) }
                        }
                    }
                }
            }
            p { (room.name) " har plass til " (room.capacity) ". En booking må starte og slutte på hele " (room.slot_minutes) " minutter. Mellom bookingene holdes "
                (format_minutes(room.buffer_minutes)) " av til rigge- og ryddetid." }
        }

        h2 { "Stengte dager" }
        @if rules.closed_on_public_holidays {
            p { "Borgertun er stengt på helligdager:" }
            @for y in [year, year + 1] {
                h3 { (y) }
                ul { @for (d, name) in holidays(y) { li { (name) ": " (format_date(d)) } } }
            }
        }
        @if !rules.closures.is_empty() {
            p { "I tillegg er rommet stengt i disse periodene:" }
            ul { @for c in &rules.closures { li { (c.name) ": " (format_date(c.from)) " – " (format_date(c.to)) } } }
        }

        h2 { "Når flere vil ha samme tid" }
        ol {
            li { "Er tiden ledig, blir bookingen bekreftet med en gang." }
            li { "Er tiden booket av samme eller høyere prioritetsgruppe, er rommet opptatt. Du får forslag til ledige tider av samme lengde." }
            li { "Er tiden booket av en lavere prioritetsgruppe, går forespørselen til koordinator, som avgjør om den andre bookingen skal trekkes tilbake. Den som mister tiden, får beskjed med begrunnelse og forslag til ledige tider." }
            li { "Bookinger som starter innen " (rules.protection_window_days) " dager, kan ikke trekkes tilbake. Bare koordinator kan overstyre, og alltid med begrunnelse." }
            li { "Når to forespørsler gjelder samme tid, avgjør koordinator. Utgangspunktet er høyeste prioritet; i samme prioritetsgruppe den virksomheten som har fått flest timer trukket tilbake de siste 12 månedene, og deretter den som spurte først." }
        }

        h2 { "Virksomheter" }
        @for t in &rules.tiers {
            h3 { (t.name) }
            ul { @for o in rules.organisations.iter().filter(|o| o.tier == t.key) { li { (o.name) } } }
        }
    };
    layout(&ctx, "Regler for booking", "/regler", body).into_response()
}

/// `/tilgjengelighet` — the accessibility statement.
pub async fn accessibility(ctx: PageCtx) -> Response {
    let body = html! {
        h1 { "Tilgjengelighetserklæring" }
        p { "Bergen kommune skal ha nettløsninger som alle kan bruke. Borgertun booking er laget for å oppfylle kravene til universell utforming (WCAG 2.1 nivå A og AA)." }
        h2 { "Slik er løsningen laget" }
        ul {
            li { "Alle sider virker uten JavaScript og kan brukes med tastatur alene." }
            li { "Sidene har overskrifter, landemerker og en lenke for å hoppe rett til innholdet." }
            li { "Opptatt og ledig vises med tekst, ikke bare med farge, og teksten har god kontrast." }
            li { "Sidene tilpasser seg små skjermer: på mobil vises én dag om gangen, under hverandre." }
            li { "Datoer og klokkeslett skrives fullt ut på norsk, for eksempel «tirsdag 3. mars 2026 kl. 09.00»." }
        }
        h2 { "Kjente mangler" }
        p { "Skjermen «I dag i Borgertun» oppdaterer seg selv hvert minutt. Den er laget for skjermen ved døren og har ingen skjemaer." }
        h2 { "Gi tilbakemelding" }
        p { "Opplever du hindringer i løsningen, kan du skrive til Alrek-koordinator i Byrådsavdeling for eldre, helse og omsorg. Du kan også klage til Tilsynet for universell utforming av IKT." }
    };
    layout(&ctx, "Tilgjengelighetserklæring", "", body).into_response()
}
