//! Recurring bookings on the pages: «Gjenta» on the booking form, the preview of every
//! occurrence (closed days skipped by name, busy times with free alternatives), «Book
//! serien» storing it or refusing it with nothing stored, the Norwegian errors of a bad
//! pattern, the series page (cancel or change from an occurrence on), the series on one line
//! in «Våre bookinger», its mark in the week view, the coordinator's one case per series with
//! «Godkjenn alle», and another organisation's 404.
//!
//! The server's clock is set to Monday 1 March 2027, so that the dates, and 2. påskedag on
//! Monday 29 March, are the same on every run.

use borgertun::domain::time::at_local;
use borgertun::domain::{Booking, Role, Status};
use chrono::{NaiveDate, NaiveTime};
use reqwest::StatusCode;

use crate::common::browser::{Browser, Page};
use crate::common::{booking, Backend, TestApp};

on_both_backends!(
    preview_then_book_the_series,
    a_refused_series_stores_nothing,
    a_bad_pattern_is_told_by_its_field_and_changes_nothing,
    cancel_and_change_from_an_occurrence_on,
    the_coordinator_decides_a_series_as_one_case
);

fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, month, d).unwrap()
}

/// The app with its clock on Monday 1 March 2027 at noon, and UiB's Kari and HVL's Ola.
async fn spawn(b: Backend) -> TestApp {
    let app = TestApp::spawn(b).await;
    app.clock
        .set(at_local(day(3, 1), NaiveTime::from_hms_opt(12, 0, 0).unwrap()).unwrap());
    app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("ola@hvl.no", "hvl", Role::Requester).await;
    app
}

/// Book `from`–`to` on `d` through the API as the user of `token`: its id.
async fn api_book(app: &TestApp, token: &str, d: NaiveDate, from: &str, to: &str, title: &str) -> i64 {
    let (code, v) = app.post(token, "/api/v1/bookings", &booking(d, from, to, title)).await;
    assert!(code.is_success(), "{code} {v}");
    v["id"].as_i64().unwrap()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html.find(start).unwrap_or_else(|| panic!("{start} not in page")) + start.len();
    let j = html[i..].find(end).map(|j| j + i).unwrap_or(html.len());
    &html[i..j]
}

/// The page's text without tags, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the form that posts to `action` (the last such form on the page).
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let open = format!(r#"<form method="post" action="{action}">"#);
    let at = html.rfind(&open).unwrap_or_else(|| panic!("a form to {action}"));
    let form = between(&html[at..], &open, "</form>");
    let mut out = Vec::new();
    for part in form.split("<input type=\"hidden\" ").skip(1) {
        let name = between(part, "name=\"", "\"");
        let value = between(part, "value=\"", "\"");
        out.push((name.to_string(), unescape(value)));
    }
    out
}

/// The fields of a series request: `first` 10.00–12.00, weekly unless `extra` says otherwise.
fn series_form(csrf: &str, first: NaiveDate, title: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("csrf", csrf.to_string()),
        ("dato", first.to_string()),
        ("fra", "10:00".into()),
        ("til", "12:00".into()),
        ("tittel", title.into()),
        ("deltakere", "12".into()),
        ("beskrivelse", String::new()),
        ("offentlig", "ja".into()),
        ("gjenta", "ukentlig".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        match f.iter_mut().find(|(name, _)| name == k) {
            Some(field) => field.1 = v.to_string(),
            None => f.push((k.to_string(), v.to_string())),
        }
    }
    f
}

async fn post(browser: &mut Browser<'_>, path: &str, fields: &[(String, String)]) -> Page {
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post(path, &refs).await
}

async fn bookings_of(app: &TestApp, org: &str) -> Vec<Booking> {
    let mut all: Vec<Booking> = app
        .store
        .bookings(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.org == org)
        .collect();
    all.sort_by_key(|b| b.start);
    all
}

/// The series id a redirect after «Book serien» (or a change) leads to.
fn series_of(page: &Page) -> i64 {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let to = page.headers["location"].to_str().unwrap();
    let id = to
        .strip_prefix("/serier/")
        .and_then(|r| r.split('?').next())
        .unwrap_or_else(|| panic!("to a series page: {to}"));
    id.parse().unwrap()
}

async fn preview_then_book_the_series(b: Backend) {
    let app = spawn(b).await;
    let ola = app.app.user_by_email("ola@hvl.no").await.unwrap().unwrap();
    let ola_token = app.app.create_api_token(&ola).await.unwrap();
    api_book(&app, &ola_token, day(4, 5), "10:00", "12:00", "Seminar HVL").await;

    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    // The form offers the patterns, the monthly ones named from the chosen date.
    let form = kari.get("/booking/ny?dato=2027-03-15&fra=10:00&til=12:00").await;
    assert_eq!(form.status, StatusCode::OK);
    for label in [
        "<legend>Gjenta</legend>",
        "Ingen gjentakelse",
        "Hver uke",
        "Med noen ukers mellomrom",
        "Hver måned på samme dato (den 15.)",
        "Hver måned på samme ukedag (tredje mandag)",
        "Antall ganger",
        "Til og med dato",
    ] {
        assert!(form.html.contains(label), "the form has {label}");
    }
    assert!(form
        .html
        .contains(r#"id="gjenta-ingen" name="gjenta" value="ingen" checked"#));

    // Every Monday, six times: the preview stores nothing and tells each occurrence.
    let csrf = kari.csrf();
    let fields = series_form(&csrf, day(3, 15), "Forskermøte", &[("antall", "6")]);
    let preview = post(&mut kari, "/booking/ny", &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    let words = text(&preview.html);
    for line in [
        "Slik blir serien",
        "Forskermøte: hver mandag, 6 ganger, kl. 10.00–12.00, første gang mandag 15. mars 2027.",
        "mandag 15. mars 2027 kl. 10.00–12.00: bekreftet",
        "mandag 29. mars 2027: 2. påskedag, hoppes over",
        "mandag 5. april 2027 kl. 10.00–12.00: opptatt – ledig kl.",
        "4 bekreftet",
        "1 hoppes over",
        "1 ikke booket",
        "Serien kan bookes.",
    ] {
        assert!(words.contains(line), "the preview says «{line}»: {words}");
    }
    assert!(preview.html.contains(">Book serien</button>"));
    assert!(bookings_of(&app, "uib").await.is_empty(), "the preview stores nothing");

    // «Endre»: the form again, as it was filled in.
    let mut again = hidden_fields(&preview.html, "/booking/ny");
    again.insert(0, ("csrf".into(), kari.csrf()));
    again.push(("endre".into(), "ja".into()));
    let form = post(&mut kari, "/booking/ny", &again).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form
        .html
        .contains(r#"id="gjenta-ukentlig" name="gjenta" value="ukentlig" checked"#));
    assert!(form.html.contains(r#"name="antall" value="6""#) && form.html.contains(r#"value="Forskermøte""#));
    assert!(bookings_of(&app, "uib").await.is_empty());

    // «Book serien» sends the preview's hidden fields: the series is stored, and its page says so.
    let mut confirm = hidden_fields(&preview.html, "/booking/ny");
    confirm.insert(0, ("csrf".into(), kari.csrf()));
    confirm.push(("bekreft".into(), "ja".into()));
    let stored = post(&mut kari, "/booking/ny", &confirm).await;
    let id = series_of(&stored);
    let to = stored.headers["location"].to_str().unwrap().to_string();
    let page = kari.get(&to).await;
    assert_eq!(page.status, StatusCode::OK);
    let words = text(&page.html);
    for line in [
        "Serien er booket.",
        "Forskermøte",
        "Serie: hver mandag, 6 ganger.",
        "mandag 29. mars 2027 kl. 10.00–12.00 hoppes over 2. påskedag",
        "mandag 5. april 2027 kl. 10.00–12.00 ikke booket Tiden er allerede booket",
        "4 bekreftet, 1 hoppes over, 1 ikke booket",
    ] {
        assert!(words.contains(line), "the series page says «{line}»: {words}");
    }
    let ours = bookings_of(&app, "uib").await;
    assert_eq!(ours.len(), 4);
    let days: Vec<NaiveDate> = ours
        .iter()
        .map(|b| borgertun::domain::time::local(b.start).date_naive())
        .collect();
    assert_eq!(days, [day(3, 15), day(3, 22), day(4, 12), day(4, 19)]);
    for o in &ours {
        assert_eq!(o.status, Status::Confirmed);
        assert_eq!(o.series.map(|s| s.series_id), Some(id));
        assert!(
            page.html.contains(&format!(r#"<a href="/bookinger/{}">"#, o.id)),
            "the series page links to each occurrence's booking"
        );
    }

    // An occurrence's own page links to its series.
    let one = kari.get(&format!("/bookinger/{}", ours[1].id)).await;
    assert!(text(&one.html).contains("Del av serien «Forskermøte»"));
    assert!(one.html.contains(&format!(r#"href="/serier/{id}""#)));

    // «Våre bookinger»: one line for the series, not a line per occurrence.
    let list = kari.get("/bookinger").await;
    assert_eq!(list.html.matches(&format!(r#"href="/serier/{id}""#)).count(), 1);
    for o in &ours {
        assert!(
            !list.html.contains(&format!(r#"href="/bookinger/{}""#, o.id)),
            "{}",
            list.html
        );
    }
    let line = text(between(&list.html, &format!(r#"href="/serier/{id}""#), "</tr>"));
    assert!(
        line.contains("hver mandag, 6 ganger")
            && line.contains("mandag 15. mars 2027 kl. 10.00–12.00")
            && line.contains("4 bekreftet"),
        "{line}"
    );

    // The week view marks the occurrence as part of a series, for eyes and for screen readers.
    let week = kari.get("/?dato=2027-03-15").await;
    assert!(week
        .html
        .contains(r#"<span class="series-tag"><span aria-hidden="true">↻ </span><span class="visually-hidden">Del av en </span>serie</span>"#));

    // Another organisation: no such series.
    let mut other = Browser::new(&app);
    other.sign_in("ola@hvl.no").await;
    assert_eq!(other.get(&format!("/serier/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.get(&format!("/serier/{id}/endre")).await.status,
        StatusCode::NOT_FOUND
    );
    let csrf = other.csrf();
    let refused = other
        .post(
            &format!("/serier/{id}/avbestill"),
            &[("csrf", csrf.as_str()), ("forekomst", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(bookings_of(&app, "uib")
        .await
        .iter()
        .all(|b| b.status == Status::Confirmed));
}

async fn a_refused_series_stores_nothing(b: Backend) {
    let app = spawn(b).await;
    let ola = app.app.user_by_email("ola@hvl.no").await.unwrap().unwrap();
    let ola_token = app.app.create_api_token(&ola).await.unwrap();
    api_book(&app, &ola_token, day(4, 5), "10:00", "12:00", "Seminar HVL").await;
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    kari.get("/booking/ny").await;
    let csrf = kari.csrf();
    // Five Mondays: one closed, one of the four others busy — a quarter, so it may be booked.
    let fields = series_form(&csrf, day(3, 15), "Lesesirkel", &[("antall", "5")]);
    let preview = post(&mut kari, "/booking/ny", &fields).await;
    assert!(text(&preview.html).contains("Serien kan bookes."), "{}", preview.html);

    // Before «Book serien» is pressed, another Monday is taken: now half are busy.
    api_book(&app, &ola_token, day(4, 12), "10:00", "12:00", "Kurs HVL").await;
    let before = app.snapshot().await;
    let mut confirm = hidden_fields(&preview.html, "/booking/ny");
    confirm.insert(0, ("csrf".into(), kari.csrf()));
    confirm.push(("bekreft".into(), "ja".into()));
    let page = post(&mut kari, "/booking/ny", &confirm).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.html);
    let words = text(&page.html);
    for line in [
        "Serien er ikke booket",
        "Ingenting er lagret: for mange av tidene er opptatt.",
        "mandag 12. april 2027 kl. 10.00–12.00: opptatt",
        "2 ikke booket",
    ] {
        assert!(words.contains(line), "the refusal says «{line}»: {words}");
    }
    assert!(!page.html.contains(">Book serien</button>"));
    assert!(page.html.contains(">Endre</button>"));
    assert_eq!(app.snapshot().await, before, "nothing stored");
    assert!(bookings_of(&app, "uib").await.is_empty());
    let ids: Vec<i64> = (1..=20).collect();
    assert!(
        app.app.series_by_ids(&ids).await.unwrap().is_empty(),
        "no series stored"
    );

    // The preview of a series that cannot be booked says so and offers only «Endre».
    let fields = series_form(&kari.csrf(), day(3, 15), "Lesesirkel", &[("antall", "5")]);
    let preview = post(&mut kari, "/booking/ny", &fields).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(text(&preview.html).contains("Serien kan ikke bookes slik: for mange av tidene er opptatt"));
    assert!(!preview.html.contains(">Book serien</button>"));
}

type Fields = &'static [(&'static str, &'static str)];

async fn a_bad_pattern_is_told_by_its_field_and_changes_nothing(b: Backend) {
    let app = spawn(b).await;
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    kari.get("/booking/ny").await;
    let csrf = kari.csrf();
    // What is typed besides a weekly series from 15 March, the field told, and what it says.
    let cases: [(Fields, &str, &str); 6] = [
        (
            &[("sluttdato", "2027-03-01")],
            "sluttdato",
            "Til og med-datoen (mandag 1. mars 2027) er før første gang (mandag 15. mars 2027). Velg en senere dato.",
        ),
        (
            &[("antall", "0")],
            "antall",
            "Skriv antall ganger som et helt tall, minst 2.",
        ),
        (
            &[("antall", "201")],
            "antall",
            "En serie kan ha høyst 200 ganger, ikke 201.",
        ),
        (
            &[("antall", "4"), ("sluttdato", "2027-05-01")],
            "antall",
            "Fyll ut enten antall ganger eller til og med dato, ikke begge.",
        ),
        (
            &[("gjenta", "hver-n-uke"), ("hver", "0"), ("antall", "3")],
            "hver",
            "Skriv hvor mange uker det skal gå mellom gangene, et helt tall fra 2 til 52.",
        ),
        (
            &[("sluttdato", "2030-01-01")],
            "gjenta",
            "En serie kan vare i høyst to år",
        ),
    ];
    for (extra, field, message) in cases {
        let fields = series_form(&csrf, day(3, 15), "Planmøte", extra);
        let page = post(&mut kari, "/booking/ny", &fields).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{extra:?}: {}",
            page.html
        );
        assert!(page.html.contains("Bookingen ble ikke sendt"), "{extra:?}");
        let by_field = if field == "gjenta" {
            between(&page.html, "<legend>Gjenta</legend>", "</fieldset>").to_string()
        } else {
            between(&page.html, &format!(r#"<label for="{field}">"#), "</div>").to_string()
        };
        assert!(
            by_field.contains(message),
            "{extra:?}: «{message}» by its field: {by_field}"
        );
        if field != "gjenta" {
            assert!(by_field.contains(r#"aria-invalid="true""#), "{by_field}");
        }
        // What was typed is kept.
        assert!(page.html.contains(r#"value="Planmøte""#));
    }
    assert!(app.snapshot().await.is_empty(), "nothing booked");
    assert!(app
        .app
        .series_by_ids(&(1..=20).collect::<Vec<_>>())
        .await
        .unwrap()
        .is_empty());
}

/// Kari's weekly series of five Mondays from 15 March (29 March is skipped), stored through
/// the form: its id and its bookings, in order.
async fn kari_series(app: &TestApp, kari: &mut Browser<'_>) -> (i64, Vec<Booking>) {
    kari.get("/booking/ny").await;
    let mut fields = series_form(&kari.csrf(), day(3, 15), "Veiledning", &[("antall", "5")]);
    fields.push(("bekreft".into(), "ja".into()));
    let id = series_of(&post(kari, "/booking/ny", &fields).await);
    let ours = bookings_of(app, "uib").await;
    assert_eq!(ours.len(), 4);
    (id, ours)
}

async fn cancel_and_change_from_an_occurrence_on(b: Backend) {
    let app = spawn(b).await;
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    let (id, ours) = kari_series(&app, &mut kari).await;

    // «Avbestill denne og følgende» on the third booked occurrence (5 April).
    let page = kari.get(&format!("/serier/{id}")).await;
    let third = ours[2].id;
    let form = format!(r#"<input type="hidden" name="forekomst" value="{third}">"#);
    assert!(page.html.contains(&form), "each open occurrence has its cancel form");
    assert!(page.html.contains("Avbestill denne og følgende"));
    let csrf = kari.csrf();
    let third_id = third.to_string();
    let done = kari
        .post(
            &format!("/serier/{id}/avbestill"),
            &[("csrf", csrf.as_str()), ("forekomst", third_id.as_str())],
        )
        .await;
    assert_eq!(series_of(&done), id);
    let status: Vec<Status> = bookings_of(&app, "uib").await.iter().map(|b| b.status).collect();
    assert_eq!(
        status,
        [
            Status::Confirmed,
            Status::Confirmed,
            Status::Cancelled,
            Status::Cancelled
        ],
        "that occurrence and the following are cancelled, the earlier ones stand"
    );
    let page = kari.get(&format!("/serier/{id}?avbestilt=1")).await;
    let words = text(&page.html);
    assert!(words.contains("Avbestillingen er registrert."));
    assert!(words.contains("mandag 5. april 2027 kl. 10.00–12.00 avlyst"), "{words}");
    assert!(
        words.contains("mandag 12. april 2027 kl. 10.00–12.00 avlyst"),
        "{words}"
    );

    // «Endre denne og følgende» from the second: the rest becomes a series of its own, at
    // the new time.
    let form = kari.get(&format!("/serier/{id}/endre?forekomst={}", ours[1].id)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form
        .html
        .contains(&format!(r#"<option value="{}" selected>"#, ours[1].id)));
    assert!(form.html.contains(r#"name="fra" value="10:00""#));
    let csrf = kari.csrf();
    let second = ours[1].id.to_string();
    // A bad time first: by its field, nothing changed.
    let before = app.snapshot().await;
    let bad = kari
        .post(
            &format!("/serier/{id}/endre"),
            &[
                ("csrf", csrf.as_str()),
                ("forekomst", second.as_str()),
                ("fra", "14:00"),
                ("til", "13:00"),
                ("tittel", "Veiledning"),
                ("deltakere", "12"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(between(&bad.html, r#"<label for="til">"#, "</div>").contains("Til klokken må være etter fra klokken."));
    assert_eq!(app.snapshot().await, before);
    let changed = kari
        .post(
            &format!("/serier/{id}/endre"),
            &[
                ("csrf", csrf.as_str()),
                ("forekomst", second.as_str()),
                ("fra", "13:00"),
                ("til", "14:30"),
                ("tittel", "Veiledning"),
                ("deltakere", "12"),
            ],
        )
        .await;
    let rest = series_of(&changed);
    assert_ne!(
        rest, id,
        "changed from a later occurrence, the rest is a series of its own"
    );
    let page = kari.get(&format!("/serier/{rest}?endret=1")).await;
    let words = text(&page.html);
    assert!(words.contains("Serien er endret."));
    assert!(
        words.contains("mandag 22. mars 2027 kl. 13.00–14.30 bekreftet"),
        "{words}"
    );
    let active: Vec<(NaiveDate, String)> = bookings_of(&app, "uib")
        .await
        .iter()
        .filter(|b| b.status == Status::Confirmed)
        .map(|b| {
            let s = borgertun::domain::time::local(b.start);
            (s.date_naive(), s.format("%H:%M").to_string())
        })
        .collect();
    assert_eq!(
        active,
        [(day(3, 15), "10:00".to_string()), (day(3, 22), "13:00".to_string())]
    );
    let first = kari.get(&format!("/serier/{id}")).await;
    assert!(
        text(&first.html).contains("til og med søndag 21. mars 2027"),
        "{}",
        text(&first.html)
    );
}

async fn the_coordinator_decides_a_series_as_one_case(b: Backend) {
    let app = spawn(b).await;
    let kari = app.app.user_by_email("kari@uib.no").await.unwrap().unwrap();
    let kari_token = app.app.create_api_token(&kari).await.unwrap();
    app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    // The partner holds two of the Mondays BEHO wants.
    let held = [
        api_book(&app, &kari_token, day(3, 22), "10:00", "12:00", "Forskermøte").await,
        api_book(&app, &kari_token, day(4, 12), "10:00", "12:00", "Forskermøte").await,
    ];
    let mut per = Browser::new(&app);
    per.sign_in("per@bergen.kommune.no").await;
    per.get("/booking/ny").await;
    let fields = series_form(&per.csrf(), day(3, 15), "Ledermøte BEHO", &[("antall", "6")]);
    let preview = post(&mut per, "/booking/ny", &fields).await;
    let words = text(&preview.html);
    assert!(
        words.contains("3 bekreftet") && words.contains("2 til behandling"),
        "{words}"
    );
    assert!(
        words.contains("mandag 22. mars 2027 kl. 10.00–12.00: til behandling"),
        "{words}"
    );
    let mut confirm = hidden_fields(&preview.html, "/booking/ny");
    confirm.insert(0, ("csrf".into(), per.csrf()));
    confirm.push(("bekreft".into(), "ja".into()));
    let id = series_of(&post(&mut per, "/booking/ny", &confirm).await);
    let pending: Vec<i64> = bookings_of(&app, "beho")
        .await
        .iter()
        .filter(|b| b.status == Status::Pending)
        .map(|b| b.id)
        .collect();
    assert_eq!(pending.len(), 2);

    // One case for the series: each waiting occurrence beside what it collides with.
    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let queue = coord.get("/koordinator").await;
    assert_eq!(queue.status, StatusCode::OK);
    let words = text(&queue.html);
    assert_eq!(queue.html.matches("Serie: Ledermøte BEHO").count(), 1, "{words}");
    assert!(words.contains("2 forespørsler venter i 1 sak"), "{words}");
    let case = text(between(&queue.html, "Serie: Ledermøte BEHO", "</table>"));
    for line in [
        "eier (BEHO)",
        "hver mandag, 6 ganger",
        "2 ganger venter på behandling",
        "mandag 22. mars 2027 kl. 10.00–12.00 Forskermøte (Universitetet i Bergen (UiB), klyngepartner)",
        "mandag 12. april 2027 kl. 10.00–12.00 Forskermøte",
    ] {
        assert!(case.contains(line), "the case shows «{line}»: {case}");
    }
    assert!(queue.html.contains(&format!(r#"action="/koordinator/serier/{id}""#)));
    assert!(words.contains("Godkjenn alle") && words.contains("Avslå alle"));
    // Each occurrence can still be decided on its own.
    for p in &pending {
        assert!(queue.html.contains(&format!(r#"action="/koordinator/bookinger/{p}""#)));
    }

    // «Avslå alle» needs a reason; without one nothing changes.
    let before = app.snapshot().await;
    let csrf = coord.csrf();
    let page = coord
        .post(
            &format!("/koordinator/serier/{id}"),
            &[("csrf", csrf.as_str()), ("handling", "avslaa"), ("begrunnelse", " ")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = between(
        &page.html,
        &format!(r#"<label for="begrunnelse-serie-{id}">"#),
        "</div>",
    );
    assert!(field.contains("Skriv en begrunnelse når du avslår."), "{field}");
    assert_eq!(app.snapshot().await, before);

    // «Godkjenn alle»: both confirmed, the partner's bookings withdrawn with the reason.
    let page = coord
        .post(
            &format!("/koordinator/serier/{id}"),
            &[
                ("csrf", csrf.as_str()),
                ("handling", "godkjenn"),
                ("begrunnelse", "Ledermøtet har fast tid"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let words = text(&page.html);
    assert!(
        words.contains("Serien er godkjent") && words.contains("2 av 2 ganger er bekreftet"),
        "{words}"
    );
    for p in &pending {
        assert_eq!(app.store.booking(*p).await.unwrap().unwrap().status, Status::Confirmed);
    }
    for h in held {
        let b = app.store.booking(h).await.unwrap().unwrap();
        assert_eq!(
            (b.status, b.status_reason.as_deref()),
            (Status::Displaced, Some("Ledermøtet har fast tid"))
        );
    }
    let queue = coord.get("/koordinator").await;
    assert!(queue.html.contains("Ingen forespørsler venter på behandling."));
    let series = coord.get(&format!("/serier/{id}")).await;
    assert!(
        text(&series.html).contains("5 bekreftet, 1 hoppes over"),
        "{}",
        text(&series.html)
    );
}
