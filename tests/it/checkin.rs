//! Check-in and no-show release, with check-in on for the partner tier and the service's clock
//! moved by the test: a booking checked in is kept after the release time; one not checked in
//! becomes `no_show` at `release_minutes` after its start (not a minute before), with an audit
//! line, the «Frigitt» mail (iMIP CANCEL, checked by both validators), the waitlist offered
//! the rest and its time free for others; the report counts it per organisation and tier (page, JSON, CSV). Check-in outside
//! the window, for a tier without check-in and by another organisation is refused; two
//! instances release each booking once. The doors: the booking page, the reminder's link
//! (until the release time, while its cancel use ends at the start), the QR code on the today
//! page and the signed-in check-in page it leads to.

use std::sync::Arc;

use borgertun::clock::Clock;
use borgertun::config::Config;
use borgertun::domain::time::at_local;
use borgertun::domain::{Role, Status};
use borgertun::service::App;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{booking, codes, Backend, TestApp};

on_both_backends!(
    a_booking_not_checked_in_is_released_and_counted,
    check_in_is_refused_outside_the_window_for_other_tiers_and_organisations,
    two_instances_release_each_booking_once,
    the_released_mail_is_a_calendar_cancellation,
    check_in_by_the_booking_page_the_reminder_and_the_today_page
);

const OWN: &str = "kari@uib.no";
const OTHER: &str = "ola@hvl.no";
const BEHO: &str = "per@bergen.kommune.no";
const COORDINATOR: &str = "koordinator@bergen.kommune.no";
const RELEASE_REASON: &str = "Ikke sjekket inn innen 20 minutter etter start: rommet er frigitt.";

/// The shipped configuration with check-in on for the cluster partners.
fn partners_check_in(c: &mut Config) {
    for t in &mut c.rules.tiers {
        t.check_in = t.key == "partner";
    }
}

async fn spawn(b: Backend) -> (TestApp, NaiveDate) {
    spawn_with(b, |_| {}).await
}

/// The app with partners checking in, its clock at 08.00 on an open day a week ahead.
async fn spawn_with(b: Backend, tweak: impl FnOnce(&mut Config)) -> (TestApp, NaiveDate) {
    let app = TestApp::spawn_with(b, |c| {
        partners_check_in(c);
        tweak(c);
    })
    .await;
    let day = app.open_day(7);
    app.clock.set(local(day, "08:00"));
    (app, day)
}

fn local(day: NaiveDate, hm: &str) -> DateTime<Utc> {
    at_local(day, NaiveTime::parse_from_str(hm, "%H:%M").unwrap()).unwrap()
}

/// Book through the API: the new booking's id (confirmed at once).
async fn book(app: &TestApp, token: &str, day: NaiveDate, from: &str, to: &str, title: &str) -> i64 {
    let (s, v) = app
        .post(token, "/api/v1/bookings", &booking(day, from, to, title))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "confirmed", "{v}");
    v["id"].as_i64().unwrap()
}

async fn check_in(app: &TestApp, token: &str, id: i64) -> (StatusCode, serde_json::Value) {
    app.post(token, &format!("/api/v1/bookings/{id}/check-in"), &json!({}))
        .await
}

async fn status(app: &TestApp, id: i64) -> Status {
    app.store.booking(id).await.unwrap().unwrap().status
}

async fn a_booking_not_checked_in_is_released_and_counted(b: Backend) {
    // A hold may last until the start, so a slot freed at short notice can still be offered.
    let (app, day) = spawn_with(b, |c| c.rules.waitlist.hold_ends_before_start_hours = 0).await;
    let kari = app.user(OWN, "uib", Role::Requester).await;
    let ola = app.user(OTHER, "hvl", Role::Requester).await;
    let per = app.user(BEHO, "beho", Role::Staff).await;
    let coordinator = app.user(COORDINATOR, "beho", Role::Coordinator).await;
    let kept = book(&app, &kari, day, "10:00", "12:00", "Sjekket inn").await;
    let released = book(&app, &kari, day, "13:00", "15:00", "Ingen kom").await;
    // HVL waits for the end of UiB's time.
    let wanted = booking(day, "14:30", "15:00", "Venter på rommet");
    let (s, v) = app.post(&ola, "/api/v1/bookings", &wanted).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app.post(&ola, "/api/v1/waitlist", &wanted).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Checked in ten minutes before the start: kept after the release time.
    app.clock.set(local(day, "09:50"));
    let (s, v) = check_in(&app, &kari, kept).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "confirmed");
    let at = v["checked_in_at"].as_str().expect("checked_in_at").to_string();
    app.clock.set(local(day, "10:30"));
    assert!(app.app.release_no_shows().await.unwrap().is_empty());
    assert_eq!(status(&app, kept).await, Status::Confirmed);
    let history = app.store.history(kept).await.unwrap();
    let line = history.last().unwrap();
    assert_eq!(
        (
            line.from_status,
            line.to_status,
            line.reason.as_deref(),
            line.actor.as_str()
        ),
        (Some(Status::Confirmed), Status::Confirmed, Some("Sjekket inn"), OWN)
    );
    // Checking in again changes nothing.
    let (s, v) = check_in(&app, &kari, kept).await;
    assert_eq!((s, v["checked_in_at"].as_str()), (StatusCode::OK, Some(at.as_str())));
    assert_eq!(app.store.history(kept).await.unwrap().len(), history.len());

    // Not checked in: kept until 20 minutes after its start, released then.
    app.clock.set(local(day, "13:19"));
    assert!(app.app.release_no_shows().await.unwrap().is_empty());
    assert_eq!(status(&app, released).await, Status::Confirmed);
    app.clock.set(local(day, "13:20"));
    let ids: Vec<i64> = app.app.release_no_shows().await.unwrap().iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![released]);
    assert!(app.app.release_no_shows().await.unwrap().is_empty(), "released once");
    assert_eq!(status(&app, released).await, Status::NoShow);
    assert_eq!(status(&app, kept).await, Status::Confirmed);
    let line = app.store.history(released).await.unwrap().pop().unwrap();
    assert_eq!(
        (
            line.from_status,
            line.to_status,
            line.reason.as_deref(),
            line.actor.as_str()
        ),
        (Some(Status::Confirmed), Status::NoShow, Some(RELEASE_REASON), "system")
    );
    let (s, v) = app.get(&kari, &format!("/api/v1/bookings/{released}")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("no_show")), "{v}");
    let outbox = app.store.outbox().await.unwrap();
    let mails: Vec<_> = outbox.iter().filter(|m| m.kind == "released").collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        (mails[0].recipient.as_str(), mails[0].booking_id),
        (OWN, Some(released))
    );
    assert!(
        mails[0].subject.starts_with("Frigitt: Ingen kom"),
        "{}",
        mails[0].subject
    );
    // The waitlist is woken: HVL's entry gets a hold on its time, with the mail.
    let held = app
        .store
        .bookings(&borgertun::store::BookingQuery {
            statuses: vec![Status::Held],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!((held[0].org.as_str(), held[0].start), ("hvl", local(day, "14:30")));
    let outbox = app.store.outbox().await.unwrap();
    assert!(outbox.iter().any(|m| m.kind == "hold_offered" && m.recipient == OTHER));
    // The rest of the freed time is bookable by others.
    let (s, v) = app
        .post(
            &per,
            "/api/v1/bookings",
            &booking(day, "13:30", "14:00", "Ledig likevel"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "the freed time is bookable: {v}");
    assert_eq!(v["status"], "confirmed");

    // The report counts the release for UiB, a cluster partner: JSON, page and CSV.
    let (s, v) = app
        .get(&coordinator, &format!("/api/v1/reports/summary?from={day}&to={day}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["no_shows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["organisation"]["key"], "uib");
    assert_eq!(rows[0]["tier"], "partner");
    assert_eq!(rows[0]["count"], 1);
    assert_eq!(rows[0]["hours"], 2.0);
    assert_eq!(
        v["waitlist"],
        json!({"entries": 1, "holds_offered": 1, "holds_confirmed": 0, "unused": 0})
    );
    let mut browser = Browser::new(&app);
    browser.sign_in(COORDINATOR).await;
    let page = browser.get(&format!("/rapport?fra={day}&til={day}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Frigitt uten innsjekking per virksomhet"),
        "{}",
        page.html
    );
    assert!(page.html.contains("tabell=ikke-mott") && page.html.contains("tabell=venteliste"));
    let csv = browser
        .get(&format!("/rapport.csv?fra={day}&til={day}&tabell=ikke-mott"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.html
            .contains("Virksomhet;Prioritetsgruppe;Bookinger frigitt;Timer frigitt"),
        "{}",
        csv.html
    );
    assert!(
        csv.html.contains("Universitetet i Bergen (UiB);klyngepartner;1;2"),
        "{}",
        csv.html
    );
    let csv = browser
        .get(&format!("/rapport.csv?fra={day}&til={day}&tabell=venteliste"))
        .await;
    assert!(
        csv.html.contains("Oppføringer;1") && csv.html.contains("Tider holdt av;1"),
        "{}",
        csv.html
    );
}

async fn check_in_is_refused_outside_the_window_for_other_tiers_and_organisations(b: Backend) {
    let (app, day) = spawn(b).await;
    let kari = app.user(OWN, "uib", Role::Requester).await;
    let colleague = app.user("nils@uib.no", "uib", Role::Requester).await;
    let ola = app.user(OTHER, "hvl", Role::Requester).await;
    let per = app.user(BEHO, "beho", Role::Staff).await;
    let coordinator = app.user(COORDINATOR, "beho", Role::Coordinator).await;
    let uib = book(&app, &kari, day, "10:00", "12:00", "Partnermøte").await;
    let beho = book(&app, &per, day, "13:00", "14:00", "BEHO-møte").await;
    let late = book(&app, &kari, day, "15:00", "16:00", "For sent").await;

    // Before the window opens (15 minutes before the start): it says when it opens.
    app.clock.set(local(day, "09:44"));
    let (s, v) = check_in(&app, &kari, uib).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["check_in_closed"]);
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("åpner") && message.contains("kl. 09.45"), "{message}");
    // BEHO's tier needs no check-in.
    let (s, v) = check_in(&app, &per, beho).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["check_in_not_required".to_string()])
    );
    // Another organisation may not check in UiB's booking, in the window or not.
    app.clock.set(local(day, "09:45"));
    let (s, v) = check_in(&app, &ola, uib).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = check_in(&app, &per, uib).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(app.store.booking(uib).await.unwrap().unwrap().checked_in_at.is_none());
    let (s, v) = check_in(&app, &ola, 999_999).await;
    assert_eq!((s, codes(&v)), (StatusCode::NOT_FOUND, vec!["not_found".to_string()]));
    // A colleague of the contact may, and so may the coordinator.
    let (s, v) = check_in(&app, &colleague, uib).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.clock.set(local(day, "14:50"));
    let (s, v) = check_in(&app, &coordinator, late).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // After the release time: closed, and the booking is released at the next round.
    let (app2, day2) = (&app, day);
    let later = book(app2, &kari, day2, "17:00", "18:00", "Kom aldri").await;
    app.clock.set(local(day, "17:20"));
    let (s, v) = check_in(&app, &kari, later).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["check_in_closed".to_string()])
    );
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("stengte"), "{v}");
    app.app.release_no_shows().await.unwrap();
    let (s, v) = check_in(&app, &kari, later).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["invalid_state".to_string()])
    );
    assert_eq!(status(&app, later).await, Status::NoShow);
}

async fn two_instances_release_each_booking_once(b: Backend) {
    let (app, day) = spawn(b).await;
    app.user(OWN, "uib", Role::Requester).await;
    let starts = ["09:00", "10:30", "12:00", "13:30", "15:00", "16:30"];
    let mut ids = Vec::new();
    for (k, from) in starts.iter().enumerate() {
        let start = local(day, from);
        ids.push(
            app.store_booking(
                OWN,
                start,
                start + Duration::hours(1),
                &format!("Møte {k}"),
                Status::Confirmed,
                Utc::now() - Duration::days(30),
            )
            .await,
        );
    }
    // A second instance on the same database, beside the first.
    let store = borgertun::store::connect(&app.db_url, 5).await.unwrap();
    let clock: Arc<dyn Clock> = app.clock.clone();
    let other = App::new(store, (*app.config).clone(), clock);
    let mut released = Vec::new();
    for from in starts {
        app.clock.set(local(day, from) + Duration::minutes(25));
        for _ in 0..2 {
            let (a, b) = tokio::join!(app.app.release_no_shows(), other.release_no_shows());
            released.extend(a.unwrap().into_iter().map(|b| b.id));
            released.extend(b.unwrap().into_iter().map(|b| b.id));
        }
    }
    released.sort();
    assert_eq!(released, ids, "each booking released by one instance, once");
    let outbox = app.store.outbox().await.unwrap();
    for id in &ids {
        assert_eq!(status(&app, *id).await, Status::NoShow);
        let mails = outbox
            .iter()
            .filter(|m| m.kind == "released" && m.booking_id == Some(*id))
            .count();
        assert_eq!(mails, 1, "booking {id}");
        let lines = app.store.history(*id).await.unwrap();
        assert_eq!(lines.iter().filter(|l| l.to_status == Status::NoShow).count(), 1);
    }
}

async fn the_released_mail_is_a_calendar_cancellation(b: Backend) {
    use crate::common::tools::{free_port, SmtpSink, Validators};
    use crate::mail::{fast_mail, invitation, parse};
    let Some(validators) = crate::common::require(Validators::find()) else {
        return;
    };
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(validators.python(), port, maildir.path());
    let (app, day) = spawn_with(b, |c| fast_mail(c, port)).await;
    let kari = app.user(OWN, "uib", Role::Requester).await;
    let id = book(&app, &kari, day, "10:00", "12:00", "Verksted om pårørende").await;
    let confirmed = parse(&sink.wait_for(1).await[0]);
    let request = invitation(&validators, &confirmed, "REQUEST");
    app.clock.set(local(day, "10:20"));
    assert_eq!(app.app.release_no_shows().await.unwrap().len(), 1);
    let all = sink.wait_for(2).await;
    let m = parse(&all[1]);
    assert_eq!(m.to, OWN);
    assert!(
        m.subject.starts_with("Frigitt: Verksted om pårørende – "),
        "{}",
        m.subject
    );
    let event = invitation(&validators, &m, "CANCEL");
    assert_eq!(event["uid"], request["uid"], "the CANCEL carries the REQUEST's UID");
    assert!(event["sequence"].as_i64() > request["sequence"].as_i64());
    assert_eq!(event["status"], "CANCELLED");
    for body in [&m.text, &m.html] {
        assert!(body.contains("Borgertun"), "the room: {body}");
        assert!(body.contains("kl. 10.00–12.00"), "the time: {body}");
        assert!(body.contains(RELEASE_REASON), "why: {body}");
        assert!(body.contains(&format!("{}/bookinger/{id}", app.base)), "{body}");
    }
}

async fn check_in_by_the_booking_page_the_reminder_and_the_today_page(b: Backend) {
    let (app, day) = spawn(b).await;
    let kari = app.user(OWN, "uib", Role::Requester).await;
    app.user(OTHER, "hvl", Role::Requester).await;
    let page_id = book(&app, &kari, day, "10:00", "11:00", "Fra bookingsiden").await;
    let reminder_id = book(&app, &kari, day, "12:00", "13:00", "Fra påminnelsen").await;
    let qr_id = book(&app, &kari, day, "14:00", "15:00", "Fra skjermen").await;

    // The booking page: no button before the window, «Sjekk inn» in it, then «Sjekket inn kl.».
    let mut browser = Browser::new(&app);
    app.clock.set(local(day, "09:30"));
    browser.sign_in(OWN).await;
    let page = browser.get(&format!("/bookinger/{page_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Innsjekkingen åpner"), "{}", page.html);
    assert!(!page.html.contains(&format!(r#"action="/booking/{page_id}/sjekk-inn""#)));
    app.clock.set(local(day, "09:50"));
    let page = browser.get(&format!("/bookinger/{page_id}")).await;
    let action = format!(r#"action="/booking/{page_id}/sjekk-inn""#);
    assert!(
        page.html.contains(&action) && page.html.contains("Sjekk inn"),
        "{}",
        page.html
    );
    // Without the anti-forgery token nothing happens.
    let forged = browser
        .post(&format!("/booking/{page_id}/sjekk-inn"), &[("csrf", "gammel")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app
        .store
        .booking(page_id)
        .await
        .unwrap()
        .unwrap()
        .checked_in_at
        .is_none());
    let csrf = browser.csrf();
    let done = browser
        .post(&format!("/booking/{page_id}/sjekk-inn"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Du er sjekket inn"), "{}", done.html);
    let page = browser.get(&format!("/bookinger/{page_id}")).await;
    assert!(page.html.contains("Sjekket inn kl. 09.50"), "{}", page.html);
    assert!(page.html.contains("Sjekket inn"), "the history line");

    // The reminder's link: before the start both cancel and check-in; after the start only
    // check-in, until the release time.
    app.clock.set(local(day, "10:30"));
    app.app.send_reminders().await.unwrap();
    let outbox = app.store.outbox().await.unwrap();
    let m = outbox
        .iter()
        .find(|m| m.kind == "reminder" && m.booking_id == Some(reminder_id))
        .expect("a reminder");
    assert!(
        m.body_text.contains("Husk å sjekke inn mellom kl. 11.45 og kl. 12.20"),
        "{}",
        m.body_text
    );
    let at = m.body_text.find("/paminnelse/").unwrap();
    let path = m.body_text[at..at + "/paminnelse/".len() + 64].to_string();
    let mut outside = Browser::new(&app);
    let page = outside.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Avbestill bookingen") && page.html.contains("Innsjekkingen åpner"));
    app.clock.set(local(day, "11:50"));
    let page = outside.get(&path).await;
    assert!(
        page.html.contains(&format!(r#"action="{path}/sjekk-inn""#)),
        "{}",
        page.html
    );
    assert!(page.html.contains("Avbestill bookingen"));
    app.clock.set(local(day, "12:05"));
    let page = outside.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "usable for check-in after the start");
    assert!(!page.html.contains("Avbestill bookingen"), "{}", page.html);
    let csrf = outside.csrf();
    // The cancel use has expired at the start.
    assert_eq!(outside.post(&path, &[("csrf", &csrf)]).await.status, StatusCode::GONE);
    assert_eq!(status(&app, reminder_id).await, Status::Confirmed);
    let done = outside.post(&format!("{path}/sjekk-inn"), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Du er sjekket inn"));
    let b = app.store.booking(reminder_id).await.unwrap().unwrap();
    assert!(b.checked_in_at.is_some());
    assert_eq!(app.store.history(reminder_id).await.unwrap().pop().unwrap().actor, OWN);
    app.clock.set(local(day, "12:30"));
    assert!(app.app.release_no_shows().await.unwrap().is_empty(), "kept");

    // The rules page says who checks in, and when.
    let rules = outside.get("/regler").await;
    assert!(
        rules
            .html
            .contains("Klyngepartnere må sjekke inn fra 15 minutter før bookingen starter til 20 minutter etter"),
        "{}",
        rules.html
    );

    // The today page: the QR code while the window is open, with no personal data.
    app.clock.set(local(day, "13:30"));
    let screen = outside.get("/i-dag").await;
    assert_eq!(screen.status, StatusCode::OK);
    assert!(
        !screen.html.contains("QR-kode for innsjekking"),
        "not before the window"
    );
    app.clock.set(local(day, "13:50"));
    let screen = outside.get("/i-dag").await;
    assert!(
        screen.html.contains(r#"aria-label="QR-kode for innsjekking""#),
        "{}",
        screen.html
    );
    assert!(screen.html.contains("<svg") && screen.html.contains(r#"role="img""#));
    let url = format!("{}/booking/{qr_id}/sjekk-inn", app.base);
    assert!(screen.html.contains(&url), "{}", screen.html);
    for personal in [OWN, "Navn kari"] {
        assert!(!screen.html.contains(personal), "{personal} on the today page");
    }
    // It leads to sign-in, then to the check-in page with its button.
    let mut phone = Browser::new(&app);
    let page = phone.get(&format!("/booking/{qr_id}/sjekk-inn")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.headers["location"].to_str().unwrap().starts_with("/logg-inn"));
    // Another organisation's user finds nothing there.
    phone.sign_in(OTHER).await;
    assert_eq!(
        phone.get(&format!("/booking/{qr_id}/sjekk-inn")).await.status,
        StatusCode::NOT_FOUND
    );
    let mut phone = Browser::new(&app);
    phone.sign_in(OWN).await;
    let page = phone.get(&format!("/booking/{qr_id}/sjekk-inn")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Fra skjermen") && page.html.contains("Sjekk inn innen kl. 14.20"));
    let csrf = phone.csrf();
    let done = phone
        .post(&format!("/booking/{qr_id}/sjekk-inn"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    let screen = outside.get("/i-dag").await;
    assert!(!screen.html.contains("QR-kode for innsjekking"), "checked in: no code");
    app.clock.set(local(day, "14:30"));
    assert!(app.app.release_no_shows().await.unwrap().is_empty(), "all three kept");
}
