//! Reminders before a confirmed booking starts: sent once per booking through the outbox, also
//! when two instances run the round on one database; not for cancelled, pending, already
//! reminded or imminent bookings. The mail's «Jeg trenger ikke rommet likevel» link shows the
//! booking and cancels it by a button, once; a used, expired or unknown link changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use borgertun::clock::Clock;
use borgertun::domain::{Role, Status};
use borgertun::service::App;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};

on_both_backends!(
    reminders_are_sent_once_per_booking,
    two_instances_remind_each_booking_once,
    the_cancel_link_cancels_the_booking_once,
    the_reminder_arrives_as_text_and_html
);

const OWN: &str = "kari@uib.no";

/// A booking of UiB of one hour, `hours` from the clock's now, written straight to the store.
async fn stored(app: &TestApp, hours: i64, title: &str, status: Status) -> i64 {
    let start = app.app.now() + Duration::hours(hours);
    stored_at(app, start, title, status).await
}

async fn stored_at(app: &TestApp, start: DateTime<Utc>, title: &str, status: Status) -> i64 {
    app.store_booking(
        OWN,
        start,
        start + Duration::hours(1),
        title,
        status,
        Utc::now() - Duration::days(30),
    )
    .await
}

/// The reminders in the outbox, per booking.
async fn reminders(app: &TestApp) -> BTreeMap<i64, usize> {
    let mut out = BTreeMap::new();
    for m in app.store.outbox().await.unwrap() {
        if m.kind == "reminder" {
            *out.entry(m.booking_id.unwrap()).or_default() += 1;
        }
    }
    out
}

/// The path of the cancel link in the reminder of booking `id`.
async fn cancel_path(app: &TestApp, id: i64) -> String {
    let outbox = app.store.outbox().await.unwrap();
    let m = outbox
        .iter()
        .find(|m| m.kind == "reminder" && m.booking_id == Some(id))
        .expect("a reminder");
    let at = m.body_text.find("/paminnelse/").expect("the cancel link");
    let path = &m.body_text[at..at + "/paminnelse/".len() + 64];
    assert!(borgertun::token::is_secret(&path["/paminnelse/".len()..]), "{path}");
    path.to_string()
}

async fn reminders_are_sent_once_per_booking(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user(OWN, "uib", Role::Requester).await;
    let soon = stored(&app, 20, "Snart", Status::Confirmed).await;
    let pending = stored(&app, 17, "Venter", Status::Pending).await;
    let cancelled = stored(&app, 14, "Avbestilt", Status::Cancelled).await;
    let later = stored(&app, 30, "Senere", Status::Confirmed).await;
    // Booked for the coming half hour: no reminder.
    let imminent = stored_at(&app, app.app.now() + Duration::minutes(30), "Straks", Status::Confirmed).await;

    let reminded: Vec<i64> = app.app.send_reminders().await.unwrap().iter().map(|b| b.id).collect();
    assert_eq!(reminded, vec![soon]);
    assert!(app.app.send_reminders().await.unwrap().is_empty(), "reminded once");
    assert_eq!(reminders(&app).await, BTreeMap::from([(soon, 1)]));

    let outbox = app.store.outbox().await.unwrap();
    let m = outbox.iter().find(|m| m.kind == "reminder").unwrap();
    assert_eq!(m.recipient, OWN);
    assert!(m.subject.starts_with("Påminnelse: Snart"), "{}", m.subject);
    assert!(m.ics.is_none(), "no calendar part");
    for body in [&m.body_text, &m.body_html] {
        assert!(body.contains(&format!("{}/bookinger/{soon}", app.base)), "{body}");
        assert!(body.contains("Jeg trenger ikke rommet likevel"), "{body}");
        assert!(body.contains(&format!("{}/paminnelse/", app.base)), "{body}");
        assert!(body.contains("Borgertun"), "the room: {body}");
    }
    cancel_path(&app, soon).await;

    // Ten hours on, the later one has come within 24 hours; the others still get nothing,
    // and the first is not reminded again.
    app.clock.advance(Duration::hours(10));
    let reminded: Vec<i64> = app.app.send_reminders().await.unwrap().iter().map(|b| b.id).collect();
    assert_eq!(reminded, vec![later]);
    assert_eq!(reminders(&app).await, BTreeMap::from([(soon, 1), (later, 1)]));
    for id in [pending, cancelled, imminent] {
        assert!(!reminders(&app).await.contains_key(&id));
    }
}

async fn two_instances_remind_each_booking_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user(OWN, "uib", Role::Requester).await;
    let mut ids = Vec::new();
    for k in 0..8 {
        ids.push(stored(&app, 2 + 2 * k, &format!("Møte {k}"), Status::Confirmed).await);
    }
    // A second instance on the same database, as after a restart or beside the first.
    let store = borgertun::store::connect(&app.db_url, 5).await.unwrap();
    let clock: Arc<dyn Clock> = app.clock.clone();
    let other = App::new(store, (*app.config).clone(), clock);
    let mut reminded = Vec::new();
    for _ in 0..3 {
        let (a, b) = tokio::join!(app.app.send_reminders(), other.send_reminders());
        reminded.extend(a.unwrap().into_iter().map(|b| b.id));
        reminded.extend(b.unwrap().into_iter().map(|b| b.id));
    }
    reminded.sort();
    assert_eq!(reminded, ids, "each booking reminded by one instance, once");
    assert_eq!(reminders(&app).await, ids.iter().map(|id| (*id, 1)).collect());
}

async fn the_cancel_link_cancels_the_booking_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user(OWN, "uib", Role::Requester).await;
    let id = stored(&app, 20, "Trengs ikke", Status::Confirmed).await;
    let kept = stored(&app, 5, "Trengs", Status::Confirmed).await;
    app.app.send_reminders().await.unwrap();
    let path = cancel_path(&app, id).await;
    let kept_path = cancel_path(&app, kept).await;
    let status = |id| {
        let app = &app;
        async move { app.store.booking(id).await.unwrap().unwrap().status }
    };

    // Signed out, from the mail: the page shows the booking and a button.
    let mut browser = Browser::new(&app);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Trengs ikke") && page.html.contains("Avbestill bookingen"));
    assert_eq!(status(id).await, Status::Confirmed, "opening the link changes nothing");
    // Without the anti-forgery token nothing happens.
    let page = browser.post(&path, &[("csrf", "gammel")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(status(id).await, Status::Confirmed);

    let csrf = browser.csrf();
    let page = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Bookingen er avbestilt"), "{}", page.html);
    assert_eq!(status(id).await, Status::Cancelled, "the slot is free");
    let outbox = app.store.outbox().await.unwrap();
    assert!(outbox.iter().any(|m| m.kind == "cancelled" && m.booking_id == Some(id)));

    // Used: it says so, and changes nothing.
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.html.contains("allerede brukt"));
    let page = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::GONE);

    // Unknown links.
    for bad in ["/paminnelse/abc".to_string(), format!("/paminnelse/{}", "0".repeat(64))] {
        assert_eq!(browser.get(&bad).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            browser.post(&bad, &[("csrf", &csrf)]).await.status,
            StatusCode::NOT_FOUND
        );
    }

    // Expired once the booking has begun: nothing changes.
    app.clock.advance(Duration::hours(5) + Duration::minutes(1));
    assert_eq!(browser.get(&kept_path).await.status, StatusCode::GONE);
    assert_eq!(
        browser.post(&kept_path, &[("csrf", &csrf)]).await.status,
        StatusCode::GONE
    );
    assert_eq!(status(kept).await, Status::Confirmed);
}

async fn the_reminder_arrives_as_text_and_html(b: Backend) {
    use crate::common::tools::{free_port, python, SmtpSink};
    use crate::mail::{fast_mail, parse};
    let Some(py) = crate::common::require(python()) else {
        return;
    };
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&py, port, maildir.path());
    let app = TestApp::spawn_with(b, |c| fast_mail(c, port)).await;
    app.user(OWN, "uib", Role::Requester).await;
    let id = stored(&app, 20, "Verksted", Status::Confirmed).await;
    app.app.send_reminders().await.unwrap();
    let m = parse(&sink.wait_for(1).await[0]);
    assert_eq!(m.to, OWN);
    assert!(m.subject.starts_with("Påminnelse: Verksted – "), "{}", m.subject);
    assert_eq!(m.structure, ["multipart/alternative", "text/plain", "text/html"]);
    assert!(m.calendar.is_none() && m.attachment.is_none());
    let path = cancel_path(&app, id).await;
    for body in [&m.text, &m.html] {
        assert!(body.contains(&format!("{}{path}", app.base)), "{body}");
        assert!(body.contains(&format!("{}/bookinger/{id}", app.base)), "{body}");
    }
    assert!(m.html.contains(&format!(
        r#"<a href="{}{path}">Jeg trenger ikke rommet likevel</a>"#,
        app.base
    )));
}
