//! «Aktiviteter i Borgertun» and its Atom feed: exactly the confirmed public events of the next
//! 90 and the last 30 days, with the names of organisation, kind and themes — no private
//! titles, descriptions or contacts — and a feed that parses as Atom with stable ids and links.

use std::collections::BTreeSet;

use atom_syndication::Feed;
use borgertun::domain::time::{at_local, format_range, local};
use borgertun::domain::{Activity, BookingTitle, NewBooking, Role, Status};
use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{booking, Backend, TestApp};

on_both_backends!(
    page_and_feed_show_exactly_the_public_confirmed_events,
    without_events_the_page_says_so_and_the_feed_is_valid
);

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

/// A booking written straight to the store (past events cannot be booked through the rules).
async fn stored(
    app: &TestApp,
    day: NaiveDate,
    from: u32,
    title: &str,
    status: Status,
    activity: Option<Activity>,
) -> i64 {
    let contact = app.store.user_by_email("kari@uib.no").await.unwrap().unwrap();
    let t = |h: u32| at_local(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap();
    let new = NewBooking {
        room: "borgertun".into(),
        start: t(from),
        end: t(from + 1),
        title: BookingTitle::parse(title).unwrap(),
        description: Some("Intern merknad".into()),
        public: true,
        attendees: 10,
        org: "uib".into(),
        contact,
        activity,
    };
    let mut tx = app.store.write("borgertun").await.unwrap();
    let b = tx
        .insert(borgertun::store::Insert {
            booking: &new,
            series: None,
            status,
            blocked_until: new.end + Duration::minutes(15),
            reason: None,
            actor: "test",
            now: Utc::now() - Duration::days(50),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    b.id
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(format!("{}{}", app.base, path)).send().await.unwrap()
}

/// The booking id at the end of an entry id `tag:…:booking-{id}`.
fn entry_booking(id: &str) -> i64 {
    id.rsplit_once("booking-").unwrap().1.parse().unwrap()
}

async fn page_and_feed_show_exactly_the_public_confirmed_events(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let per = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(8);

    let mut seminar = booking(day, "09:00", "11:00", "Seminar om brukermedvirkning");
    seminar["activity"] = json!({"kind": "seminar", "themes": ["brukermedvirkning", "e-helse"]});
    seminar["description"] = json!("Bare for arrangørene");
    let (s, v) = app.post(&kari, "/api/v1/bookings", &seminar).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let seminar = v["id"].as_i64().unwrap();

    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &booking(day, "12:00", "13:00", "Åpent klyngemøte"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let plain = v["id"].as_i64().unwrap();

    let mut private = booking(day, "14:00", "15:00", "Personalsak");
    private["public"] = json!(false);
    private["description"] = json!("Fortrolig");
    private["activity"] = json!({"kind": "mote"});
    let (s, v) = app.post(&per, "/api/v1/bookings", &private).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &booking(day, "17:00", "18:00", "Avlyst foredrag"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = app
        .post(&kari, &format!("/api/v1/bookings/{}/cancel", v["id"]), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Beyond the 90 days ahead (BEHO may book a year ahead).
    let far = app.open_day(100);
    let (s, v) = app
        .post(
            &per,
            "/api/v1/bookings",
            &booking(far, "09:00", "10:00", "Langt frem i tid"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // In the past: one within the last 30 days, one before, one never confirmed.
    let today = local(Utc::now()).date_naive();
    let network = stored(
        &app,
        today - Duration::days(5),
        10,
        "Nettverkssamling om pårørende",
        Status::Confirmed,
        Some(Activity {
            kind: "nettverkssamling".into(),
            themes: vec!["parorendeinvolvering".into()],
            ..Default::default()
        }),
    )
    .await;
    stored(
        &app,
        today - Duration::days(40),
        10,
        "For lenge siden",
        Status::Confirmed,
        None,
    )
    .await;
    stored(
        &app,
        today - Duration::days(3),
        12,
        "Aldri bekreftet",
        Status::Rejected,
        None,
    )
    .await;

    let shown = [seminar, plain, network];
    let hidden = [
        "Personalsak",
        "Fortrolig",
        "Bare for arrangørene",
        "Intern merknad",
        "Avlyst foredrag",
        "Langt frem i tid",
        "For lenge siden",
        "Aldri bekreftet",
        "kari@uib.no",
        "per@bergen.kommune.no",
        "Navn ",
        "Opptatt",
    ];
    let booking_of = |id: i64| {
        let store = app.store.clone();
        async move { store.booking(id).await.unwrap().unwrap() }
    };

    // The page, for anyone.
    let res = get(&app, "/aktiviteter").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<html lang="nb">"#));
    assert_eq!(html.matches("<h1").count(), 1);
    assert!(html.contains(r#"<a href="/aktiviteter" aria-current="page">Aktiviteter</a>"#));
    assert!(html.contains(r#"href="/aktiviteter.atom" type="application/atom+xml">Abonner på aktivitetene (Atom)</a>"#));
    assert!(html.contains("<caption class=\"visually-hidden\">Kommende aktiviteter</caption>"));
    assert!(html.contains("<caption class=\"visually-hidden\">Nylige aktiviteter</caption>"));
    for word in hidden {
        assert!(!html.contains(word), "the page shows «{word}»");
    }
    for id in shown {
        assert_eq!(html.matches(&format!(r#"id="booking-{id}""#)).count(), 1, "{id}");
    }
    let t = text(&html);
    let (h1, rest) = t.split_once("Kommende aktiviteter").unwrap();
    assert!(h1.contains("Aktiviteter i Borgertun"));
    let (upcoming, recent) = rest.split_once("Nylige aktiviteter").unwrap();
    let s = booking_of(seminar).await;
    let p = booking_of(plain).await;
    let n = booking_of(network).await;
    let seminar_row = format!(
        "{} Seminar om brukermedvirkning Universitetet i Bergen (UiB) Seminar Brukermedvirkning, Velferdsteknologi og e-helse",
        format_range(s.start, s.end)
    );
    let plain_row = format!(
        "{} Åpent klyngemøte Universitetet i Bergen (UiB)",
        format_range(p.start, p.end)
    );
    assert!(upcoming.contains(&seminar_row), "{upcoming}");
    assert!(
        upcoming.trim_end().ends_with(&plain_row),
        "no kind nor themes for a booking without activity: {upcoming}"
    );
    assert!(upcoming.find(&seminar_row) < upcoming.find(&plain_row), "soonest first");
    assert!(
        recent.contains(&format!(
            "{} Nettverkssamling om pårørende Universitetet i Bergen (UiB) Nettverkssamling Pårørendeinvolvering",
            format_range(n.start, n.end)
        )),
        "{recent}"
    );
    assert!(!upcoming.contains("Nettverkssamling om pårørende") && !recent.contains("Seminar om"));

    // The feed.
    let res = get(&app, "/aktiviteter.atom").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/atom+xml; charset=utf-8");
    assert_eq!(h["cache-control"], "public, max-age=300");
    let etag = h["etag"].to_str().unwrap().to_string();
    let xml = res.text().await.unwrap();
    for word in hidden {
        assert!(!xml.contains(word), "the feed shows «{word}»");
    }
    assert!(xml.starts_with("<?xml version=\"1.0\"?>"));
    assert!(xml.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="nb">"#));
    let feed: Feed = xml.parse().expect("the feed is Atom");
    // Required elements (RFC 4287): feed id, title, updated, author; entry id, title, updated,
    // and a link where there is no content.
    let uid = &app.config.mail.uid_domain;
    assert_eq!(feed.id, format!("tag:{uid},2026:aktiviteter"));
    assert_eq!(feed.title.as_str(), "Aktiviteter i Borgertun");
    assert_eq!(feed.lang.as_deref(), Some("nb"));
    assert!(!feed.authors.is_empty() && !feed.authors[0].name.is_empty());
    assert_eq!(xml.matches("<id>").count(), 1 + shown.len());
    assert_eq!(xml.matches("<updated>").count(), 1 + shown.len());
    assert_eq!(xml.matches("<title>").count(), 1 + shown.len());
    let link = |rel: &str| feed.links.iter().find(|l| l.rel == rel).map(|l| l.href.clone());
    assert_eq!(link("self"), Some(format!("{}/aktiviteter.atom", app.base)));
    assert_eq!(link("alternate"), Some(format!("{}/aktiviteter", app.base)));

    let ids: BTreeSet<i64> = feed.entries.iter().map(|e| entry_booking(&e.id)).collect();
    assert_eq!(ids, BTreeSet::from(shown));
    for e in &feed.entries {
        let b = booking_of(entry_booking(&e.id)).await;
        assert_eq!(e.id, format!("tag:{uid},2026:booking-{}", b.id));
        assert_eq!(e.title.as_str(), b.title);
        assert_eq!(e.updated.timestamp(), b.updated_at.timestamp());
        assert_eq!(e.links.len(), 1);
        assert_eq!(e.links[0].rel, "alternate");
        assert_eq!(e.links[0].href, format!("{}/aktiviteter#booking-{}", app.base, b.id));
        assert_eq!(e.authors[0].name, "Universitetet i Bergen (UiB)");
        let summary = e.summary.as_ref().unwrap().as_str();
        assert!(
            summary.starts_with(&format!(
                "Tid: {}. Sted: Borgertun, Årstadveien 17",
                format_range(b.start, b.end)
            )),
            "{summary}"
        );
        assert!(
            summary.contains("Virksomhet: Universitetet i Bergen (UiB)."),
            "{summary}"
        );
    }
    let entry = |id: i64| feed.entries.iter().find(|e| entry_booking(&e.id) == id).unwrap();
    let summary = |id: i64| entry(id).summary.as_ref().unwrap().value.clone();
    assert!(
        summary(seminar).ends_with("Aktivitetstype: Seminar. Tema: Brukermedvirkning, Velferdsteknologi og e-helse.")
    );
    assert!(summary(network).ends_with("Aktivitetstype: Nettverkssamling. Tema: Pårørendeinvolvering."));
    assert!(!summary(plain).contains("Aktivitetstype") && !summary(plain).contains("Tema"));
    let categories: Vec<(&str, &str)> = entry(seminar)
        .categories
        .iter()
        .map(|c| (c.term.as_str(), c.label.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        categories,
        [
            ("seminar", "Seminar"),
            ("brukermedvirkning", "Brukermedvirkning"),
            ("e-helse", "Velferdsteknologi og e-helse")
        ]
    );
    assert_eq!(
        feed.updated,
        feed.entries.iter().map(|e| e.updated).max().unwrap(),
        "the feed is as new as its newest entry"
    );

    // A reader that has it gets 304, until something changes.
    let res = app
        .client
        .get(format!("{}/aktiviteter.atom", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let (s, _) = app
        .post(&kari, &format!("/api/v1/bookings/{plain}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = app
        .client
        .get(format!("{}/aktiviteter.atom", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    let feed: Feed = res.text().await.unwrap().parse().unwrap();
    let ids: BTreeSet<i64> = feed.entries.iter().map(|e| entry_booking(&e.id)).collect();
    assert_eq!(
        ids,
        BTreeSet::from([seminar, network]),
        "a cancelled event leaves the feed"
    );
}

async fn without_events_the_page_says_so_and_the_feed_is_valid(b: Backend) {
    let app = TestApp::spawn(b).await;
    let res = get(&app, "/aktiviteter").await;
    assert_eq!(res.status(), StatusCode::OK);
    let t = text(&res.text().await.unwrap());
    assert!(
        t.contains("Kommende aktiviteter Ingen offentlige aktiviteter er booket de neste 90 dagene."),
        "{t}"
    );
    assert!(
        t.contains("Nylige aktiviteter Ingen offentlige aktiviteter de siste 30 dagene."),
        "{t}"
    );

    let before = Utc::now() - Duration::seconds(1);
    let res = get(&app, "/aktiviteter.atom").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let feed: Feed = res.text().await.unwrap().parse().expect("the feed is Atom");
    assert!(feed.entries.is_empty());
    assert!(!feed.authors.is_empty(), "a feed without entries still has its author");
    assert!(feed.updated >= before && feed.updated <= Utc::now() + Duration::seconds(1));
}
