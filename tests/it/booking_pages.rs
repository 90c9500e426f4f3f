//! The booking form as a signed-in person uses it: from a free slot in the week view to a
//! confirmed booking; errors next to their fields with the typed values kept; busy with
//! one-click alternatives; a request that goes to the coordinator; forged forms refused.

use borgertun::domain::{Role, Status};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{self, Backend, TestApp};

on_both_backends!(
    book_from_the_week_view_and_pick_an_alternative,
    form_errors_keep_values_and_change_nothing,
    our_bookings_show_history_and_cancel,
    only_a_coordinator_books_for_others_or_overrides,
    a_filled_in_link_books_in_one_click_and_bad_values_are_left_out
);

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html.find(start).unwrap_or_else(|| panic!("{start} not in page")) + start.len();
    let j = html[i..].find(end).unwrap() + i;
    &html[i..j]
}

async fn book_from_the_week_view_and_pick_an_alternative(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .add_user(
            "kari@uib.no",
            "Kari Nordmann",
            "uib",
            Role::Requester,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    app.store
        .add_user("ola@hvl.no", "Ola Nordmann", "hvl", Role::Requester, chrono::Utc::now())
        .await
        .unwrap();
    app.store
        .add_user(
            "per@bergen.kommune.no",
            "Per Hansen",
            "beho",
            Role::Staff,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let day = app.open_day(20);

    // Signed out, the form sends you to sign in, and back to the form after.
    let mut anon = Browser::new(&app);
    let page = anon.get(&format!("/booking/ny?dato={day}&fra=08:00&til=09:00")).await;
    assert_eq!(
        (page.status, page.headers["location"].to_str().unwrap()),
        (
            StatusCode::SEE_OTHER,
            format!("/logg-inn?neste=%2Fbooking%2Fny%3Fdato%3D{day}%26fra%3D08%3A00%26til%3D09%3A00").as_str()
        )
    );

    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    let week = kari.get(&format!("/?dato={day}")).await;
    let link = format!("/booking/ny?dato={day}&amp;fra=08:00&amp;til=09:00");
    assert!(week.html.contains(&link), "the free morning links to the form");
    let form = kari.get(&link.replace("&amp;", "&")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.html.contains(&format!(r#"name="dato" value="{day}""#))
            && form.html.contains(r#"name="fra" value="08:00""#)
    );
    let csrf = kari.csrf();
    let d = day.to_string();
    let refs = [
        ("csrf", csrf.as_str()),
        ("dato", d.as_str()),
        ("fra", "08:00"),
        ("til", "09:00"),
        ("tittel", "Forskermøte"),
        ("deltakere", "12"),
        ("beskrivelse", ""),
        ("offentlig", "ja"),
    ];
    let page = kari.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Bookingen er bekreftet") && page.html.contains("Forskermøte"));
    let all = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].org.as_str(), all[0].contact_email.as_str(), all[0].status),
        ("uib", "kari@uib.no", Status::Confirmed)
    );

    // Another partner wants the same hour: busy, with the alternatives as buttons.
    let mut ola = Browser::new(&app);
    ola.sign_in("ola@hvl.no").await;
    ola.get("/booking/ny").await;
    let ocsrf = ola.csrf();
    let refs = [
        ("csrf", ocsrf.as_str()),
        ("dato", d.as_str()),
        ("fra", "08:00"),
        ("til", "09:00"),
        ("tittel", "Seminar"),
        ("deltakere", "30"),
        ("offentlig", "ja"),
    ];
    let page = ola.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("Rommet er opptatt") && page.html.contains("Disse tidene er ledige:"));
    let first = between(
        &page.html,
        r#"<ul class="alternatives" aria-label="Ledige alternativer"><li><form method="post" action="/booking/ny">"#,
        "</form>",
    );
    let value = |name: &str| between(first, &format!(r#"name="{name}" value=""#), "\"").to_string();
    assert_eq!(
        value("fra"),
        "09:15",
        "the nearest free hour after the booking and its buffer"
    );
    let alt = [
        ("csrf", value("csrf")),
        ("dato", value("dato")),
        ("fra", value("fra")),
        ("til", value("til")),
        ("tittel", value("tittel")),
        ("deltakere", value("deltakere")),
        ("offentlig", "ja".to_string()),
    ];
    let refs: Vec<(&str, &str)> = alt.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = ola.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Bookingen er bekreftet") && page.html.contains("kl. 09.15–10.15"));

    // BEHO asks for Kari's hour: a request for the coordinator, Kari's booking stands.
    let mut per = Browser::new(&app);
    per.sign_in("per@bergen.kommune.no").await;
    per.get("/booking/ny").await;
    let pcsrf = per.csrf();
    let refs = [
        ("csrf", pcsrf.as_str()),
        ("dato", d.as_str()),
        ("fra", "08:00"),
        ("til", "09:00"),
        ("tittel", "Arbeidsverksted"),
        ("deltakere", "25"),
    ];
    let page = per.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .html
        .contains("Forespørselen din er til behandling hos koordinator"));
    let all = app.store.bookings(&Default::default()).await.unwrap();
    let beho = all.iter().find(|b| b.org == "beho").unwrap();
    assert_eq!((beho.status, beho.public), (Status::Pending, false));
    assert_eq!(all.iter().filter(|b| b.status == Status::Confirmed).count(), 2);
}

/// The value of the input named `name` in a form page.
fn input_value(html: &str, name: &str) -> String {
    let input = between(html, &format!(r#"name="{name}""#), ">");
    between(input, r#"value=""#, "\"").to_string()
}

async fn a_filled_in_link_books_in_one_click_and_bad_values_are_left_out(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .add_user(
            "kari@uib.no",
            "Kari Nordmann",
            "uib",
            Role::Requester,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let day = app.open_day(20).to_string();
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;

    // A link as the mails make them: every field filled in from the query.
    let link = format!(
        "/booking/ny?dato={day}&fra=10:00&til=12:00&tittel=Seminar%20om%20e-helse&deltakere=24\
         &beskrivelse=Med%20lunsj&offentlig=nei&aktivitet=seminar&tema=brukermedvirkning&forventet-forskere=4"
    );
    let form = kari.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let html = &form.html;
    assert_eq!(
        ["dato", "fra", "til", "tittel", "deltakere", "forventet-forskere"].map(|n| input_value(html, n)),
        [day.as_str(), "10:00", "12:00", "Seminar om e-helse", "24", "4"]
    );
    assert!(html.contains(">Med lunsj</textarea>"));
    assert!(html.contains(r#"<option value="seminar" selected>"#));
    assert!(html.contains(r#"name="tema" value="brukermedvirkning" checked"#));
    assert!(!html.contains(r#"name="offentlig" value="ja" checked"#));

    // «Send forespørsel» as the form stands: a confirmed booking with those details.
    let csrf = kari.csrf();
    let refs = [
        ("csrf", csrf.as_str()),
        ("dato", day.as_str()),
        ("fra", "10:00"),
        ("til", "12:00"),
        ("tittel", "Seminar om e-helse"),
        ("deltakere", "24"),
        ("beskrivelse", "Med lunsj"),
        ("aktivitet", "seminar"),
        ("tema", "brukermedvirkning"),
        ("forventet-forskere", "4"),
    ];
    let filled: Vec<(&str, String)> = refs
        .iter()
        .map(|(k, v)| match *k {
            "csrf" | "beskrivelse" | "aktivitet" | "tema" => (*k, v.to_string()),
            _ => (*k, input_value(html, k)),
        })
        .collect();
    let filled: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = kari.post("/booking/ny", &filled).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Bookingen er bekreftet"));
    let all = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    let booked = &all[0];
    assert_eq!(
        (
            booked.title.as_str(),
            booked.attendees,
            booked.description.as_deref(),
            booked.public,
            booked.status
        ),
        ("Seminar om e-helse", 24, Some("Med lunsj"), false, Status::Confirmed)
    );
    let activity = booked.activity.as_ref().unwrap();
    assert_eq!(
        (activity.kind.as_str(), activity.themes.clone()),
        ("seminar", vec!["brukermedvirkning".to_string()])
    );
    assert_eq!(activity.expected.get("forskere"), Some(&4));

    // Bad values are left out, never an error page.
    for bad in [
        "/booking/ny?dato=2027-13-40&fra=25:00&til=kl10&tittel=&deltakere=tusen&aktivitet=fest&tema=ukjent&forventet-ingen=2",
        "/booking/ny?deltakere=500&forventet-forskere=mange",
        "/booking/ny?%zz=%&dato",
    ] {
        let form = kari.get(bad).await;
        assert_eq!(form.status, StatusCode::OK, "{bad}");
        let html = &form.html;
        for name in ["dato", "fra", "til", "tittel", "deltakere", "forventet-forskere"] {
            assert_eq!(input_value(html, name), "", "{name} in {bad}");
        }
        assert!(html.contains(r#"<option value="mote" selected>"#), "{bad}");
        assert!(!html.contains("ukjent") && !html.contains("forventet-ingen"), "{bad}");
        assert!(html.contains(r#"name="offentlig" value="ja" checked"#), "{bad}");
    }
}

async fn form_errors_keep_values_and_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .add_user(
            "kari@uib.no",
            "Kari Nordmann",
            "uib",
            Role::Requester,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let day = app.open_day(10).to_string();
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    kari.get("/booking/ny").await;
    let csrf = kari.csrf();

    // Outside the opening hours, and too many people: each error by its field, values kept.
    let refs = [
        ("csrf", csrf.as_str()),
        ("dato", day.as_str()),
        ("fra", "06:00"),
        ("til", "07:00"),
        ("tittel", "Tidlig møte"),
        ("deltakere", "500"),
    ];
    let page = kari.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Bookingen ble ikke sendt"));
    let fra = between(&page.html, r#"<label for="fra">"#, "</div>");
    assert!(
        fra.contains("Åpningstiden på") && fra.contains(r#"aria-invalid="true""#) && fra.contains(r#"value="06:00""#),
        "{fra}"
    );
    let people = between(&page.html, r#"<label for="deltakere">"#, "</div>");
    assert!(
        people.contains("Borgertun har plass til 80") && people.contains(r#"value="500""#),
        "{people}"
    );
    assert!(page.html.contains(r#"value="Tidlig møte""#));

    // Missing and malformed fields.
    let refs = [
        ("csrf", csrf.as_str()),
        ("dato", ""),
        ("fra", "ni"),
        ("til", "10:00"),
        ("tittel", " "),
        ("deltakere", "mange"),
    ];
    let page = kari.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for msg in [
        "Velg en dato.",
        "Skriv når bookingen starter",
        "Tittel må fylles ut.",
        "Skriv antall deltakere som et tall",
    ] {
        assert!(page.html.contains(msg), "{msg}");
    }

    // A forged form.
    let refs = [
        ("csrf", "f".repeat(64)),
        ("dato", day.clone()),
        ("fra", "10:00".into()),
        ("til", "11:00".into()),
        ("tittel", "Møte".into()),
        ("deltakere", "5".into()),
    ];
    let refs: Vec<(&str, &str)> = refs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = kari.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        app.store.bookings(&Default::default()).await.unwrap().is_empty(),
        "nothing was booked"
    );
}

async fn our_bookings_show_history_and_cancel(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("nils@uib.no", "uib", Role::Requester).await;
    app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(12);
    let (_, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &common::booking(day, "10:00", "12:00", "Forskermøte"),
        )
        .await;
    let id = v["id"].as_i64().unwrap();

    let mut anon = Browser::new(&app);
    assert_eq!(anon.get("/bookinger").await.status, StatusCode::SEE_OTHER);

    // A colleague sees the organisation's booking, its history and its calendar file.
    let mut nils = Browser::new(&app);
    nils.sign_in("nils@uib.no").await;
    let page = nils.get("/bookinger").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Våre bookinger")
            && page
                .html
                .contains(&format!(r#"<a href="/bookinger/{id}">Forskermøte</a>"#))
    );
    let page = nils.get(&format!("/bookinger/{id}")).await;
    assert!(
        page.html.contains("Historikk") && page.html.contains("registrert som bekreftet (kari@uib.no)"),
        "{}",
        page.html
    );
    let ics = nils.get(&format!("/bookinger/{id}.ics")).await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(ics.html.contains("SUMMARY:Forskermøte") && ics.html.starts_with("BEGIN:VCALENDAR"));

    // Another organisation neither sees nor cancels it.
    let mut ola = Browser::new(&app);
    ola.sign_in("ola@hvl.no").await;
    assert_eq!(ola.get(&format!("/bookinger/{id}")).await.status, StatusCode::NOT_FOUND);
    let ocsrf = ola.csrf();
    let page = ola
        .post(&format!("/bookinger/{id}/avbestill"), &[("csrf", ocsrf.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!ola.get("/bookinger").await.html.contains("Forskermøte"));

    // Cancelling: the status changes, the contact person gets the message, once only.
    let csrf = nils.csrf();
    let page = nils
        .post(&format!("/bookinger/{id}/avbestill"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Bookingen er avbestilt"));
    let b = app.store.booking(id).await.unwrap().unwrap();
    assert_eq!(b.status, Status::Cancelled);
    let outbox = app.store.outbox().await.unwrap();
    assert!(outbox
        .iter()
        .any(|m| m.kind == "cancelled" && m.recipient == "kari@uib.no"));
    let page = nils
        .post(&format!("/bookinger/{id}/avbestill"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("Kan ikke avbestilles"));
}

/// Booking for another organisation, or asking for an override, is the coordinator's: anyone
/// else's form is refused, as the API refuses it, and nothing is booked.
async fn only_a_coordinator_books_for_others_or_overrides(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let day = app.open_day(10).to_string();
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    kari.get("/booking/ny").await;
    let csrf = kari.csrf();
    let form = |extra: (&'static str, &'static str)| {
        vec![
            ("csrf", csrf.clone()),
            ("dato", day.clone()),
            ("fra", "10:00".into()),
            ("til", "11:00".into()),
            ("tittel", "Møte".into()),
            ("deltakere", "5".into()),
            (extra.0, extra.1.into()),
        ]
    };
    let before = app.snapshot().await;
    for (extra, message) in [
        (
            ("virksomhet", "hvl"),
            "Bare koordinator kan booke for en annen virksomhet.",
        ),
        (("overstyr", "ja"), "Bare koordinator kan overstyre andre bookinger."),
    ] {
        let fields = form(extra);
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = kari.post("/booking/ny", &refs).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{extra:?}");
        assert!(page.html.contains(message), "{message}");
        assert_eq!(app.snapshot().await, before, "nothing changed");
    }
    // Her own organisation, named, is hers to book.
    let fields = form(("virksomhet", "uib"));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = kari.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let booked = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].org, "uib");
}
