//! The waitlist: a busy time can be waited for; when it frees, the first in line (highest tier,
//! then earliest joined) gets a hold and a mail; confirming books it, declining or letting it
//! run out passes it on; a hold keeps its slot from everyone else, in the database too and
//! under a 50-client race on two server processes; the pages and the mail's single-use links.

use std::sync::Arc;

use borgertun::domain::{BookingTitle, NewBooking, Role, Status};
use borgertun::store::{self, Insert};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::{booking, codes, Backend, TestApp};

on_both_backends!(
    a_cancellation_gives_the_first_in_line_a_hold_and_confirm_books_it,
    decline_and_expiry_pass_the_hold_on,
    a_higher_tier_ahead_in_line_wins,
    joining_checks_the_request_and_changes_nothing_when_refused,
    the_mail_links_answer_a_hold_once,
    reminders_cancel_link_and_a_move_offer_the_slot,
    the_database_keeps_a_held_slot,
    fifty_clients_cannot_take_a_held_slot_on_two_servers,
    the_waitlist_pages_join_show_the_place_and_leave,
    the_report_counts_the_waitlist,
    the_hold_mails_arrive_as_text_and_html
);

const UIB: &str = "kari@uib.no";
const HVL: &str = "ola@hvl.no";
const FHI: &str = "siri@fhi.no";

/// A booking of `day` 10.00–12.00 by UiB, and HVL then FHI in line for it. The tokens and the
/// booking's id.
async fn busy_with_two_in_line(app: &TestApp, day: chrono::NaiveDate) -> (String, String, String, i64) {
    let uib = app.user(UIB, "uib", Role::Requester).await;
    let hvl = app.user(HVL, "hvl", Role::Requester).await;
    let fhi = app.user(FHI, "fhi", Role::Requester).await;
    let body = booking(day, "10:00", "12:00", "Forskermøte");
    let (s, v) = app.post(&uib, "/api/v1/bookings", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(&hvl, "/api/v1/bookings", &booking(day, "10:00", "12:00", "HVL-møte"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app
        .post(&hvl, "/api/v1/waitlist", &booking(day, "10:00", "12:00", "HVL-møte"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["place"].as_i64()),
        (Some("waiting"), Some(1)),
        "{v}"
    );
    // FHI asks an hour later, for a time that overlaps.
    app.clock.advance(Duration::hours(1));
    let (s, v) = app
        .post(&fhi, "/api/v1/waitlist", &booking(day, "11:00", "12:00", "FHI-møte"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["place"], 2, "{v}");
    (uib, hvl, fhi, id)
}

async fn entries(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, v) = app.get(token, "/api/v1/waitlist").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["entries"].as_array().unwrap().clone()
}

/// The hold mails in the outbox to `to`, of `kind`.
async fn mails(app: &TestApp, kind: &str, to: &str) -> Vec<borgertun::store::OutboxMessage> {
    app.store
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == kind && m.recipient == to)
        .collect()
}

/// The paths of the «Bekreft» and «Avslå» links in the newest hold mail to `to`.
async fn hold_links(app: &TestApp, to: &str) -> (String, String) {
    let m = mails(app, "hold_offered", to).await.pop().expect("a hold mail");
    let links: Vec<String> = m
        .body_text
        .match_indices("/venteliste/svar/")
        .map(|(at, p)| m.body_text[at..at + p.len() + 64].to_string())
        .collect();
    assert_eq!(links.len(), 2, "{}", m.body_text);
    assert!(links
        .iter()
        .all(|l| borgertun::token::is_secret(&l["/venteliste/svar/".len()..])));
    (links[0].clone(), links[1].clone())
}

async fn status_of(app: &TestApp, id: i64) -> Status {
    app.store.booking(id).await.unwrap().unwrap().status
}

async fn a_cancellation_gives_the_first_in_line_a_hold_and_confirm_books_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, hvl, fhi, id) = busy_with_two_in_line(&app, day).await;
    assert!(mails(&app, "hold_offered", HVL).await.is_empty());

    let (s, v) = app
        .post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // HVL is first: its time is held for it, for 24 hours.
    let mine = entries(&app, &hvl).await;
    assert_eq!(mine[0]["status"], "held", "{mine:?}");
    let hold = mine[0]["booking_id"].as_i64().unwrap();
    let until: DateTime<Utc> = mine[0]["held_until"].as_str().unwrap().parse().unwrap();
    // The clock runs on: 24 hours from the cancellation, give or take the test's own seconds.
    assert!(
        (until - (app.app.now() + Duration::hours(24))).num_seconds().abs() < 60,
        "{until}"
    );
    assert_eq!(status_of(&app, hold).await, Status::Held);
    let offered = mails(&app, "hold_offered", HVL).await;
    assert_eq!(offered.len(), 1);
    assert!(
        offered[0].subject.starts_with("Holdt for deg: HVL-møte"),
        "{}",
        offered[0].subject
    );
    assert!(offered[0].ics.is_none());
    assert!(offered[0].body_text.contains("Bekreft") && offered[0].body_text.contains("Avslå"));
    // FHI overlaps the hold: it still waits, now first.
    let theirs = entries(&app, &fhi).await;
    assert_eq!(
        (theirs[0]["status"].as_str(), theirs[0]["place"].as_i64()),
        (Some("waiting"), Some(1))
    );
    assert!(mails(&app, "hold_offered", FHI).await.is_empty());

    // Everyone else sees the slot busy, without its title; nobody of the same tier gets it.
    let (s, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "10:30", "11:30", "Igjen"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["busy"]);
    assert_eq!(v["held_by"], json!([hold]));
    let (s, v) = app
        .get(
            &uib,
            &format!("/api/v1/rooms/borgertun/availability?from={day}&to={day}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shown = v["busy"].as_array().unwrap();
    assert_eq!(shown.len(), 1, "{v}");
    assert_eq!(shown[0]["title"], "Opptatt");
    // And the public week view shows it as «Opptatt», not by its title.
    let page = Browser::new(&app).get(&format!("/?dato={day}")).await;
    assert!(
        page.html.contains("Opptatt") && !page.html.contains("HVL-møte"),
        "{}",
        page.html
    );
    // The holder sees «Holdt for deg til …» on «Våre bookinger».
    let mut browser = Browser::new(&app);
    browser.sign_in(HVL).await;
    let page = browser.get("/bookinger").await;
    assert!(page.html.contains("Holdt for deg til"), "{}", page.html);

    // Confirmed: booked through the normal decision, with the invitation.
    let (s, v) = app
        .post(&hvl, &format!("/api/v1/waitlist/{}/confirm", mine[0]["id"]), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["id"].as_i64(), v["status"].as_str()),
        (Some(hold), Some("confirmed"))
    );
    let confirmed = mails(&app, "confirmed", HVL).await;
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].ics_method.as_deref(), Some("REQUEST"));
    assert_eq!(entries(&app, &hvl).await[0]["status"], "booked");
    // Answered once.
    let (s, v) = app
        .post(&hvl, &format!("/api/v1/waitlist/{}/decline", mine[0]["id"]), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["invalid_state"]);
    assert_eq!(status_of(&app, hold).await, Status::Confirmed);
    // Another organisation cannot see or answer the entry.
    let (s, _) = app.get(&uib, &format!("/api/v1/waitlist/{}", mine[0]["id"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn decline_and_expiry_pass_the_hold_on(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, hvl, fhi, id) = busy_with_two_in_line(&app, day).await;
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    let hvl_entry = entries(&app, &hvl).await[0]["id"].as_i64().unwrap();
    let hvl_hold = entries(&app, &hvl).await[0]["booking_id"].as_i64().unwrap();

    // HVL declines: FHI, next in line, gets the slot.
    let (s, v) = app
        .post(&hvl, &format!("/api/v1/waitlist/{hvl_entry}/decline"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "declined");
    assert_eq!(status_of(&app, hvl_hold).await, Status::Lapsed);
    assert!(
        mails(&app, "hold_ended", HVL).await.is_empty(),
        "no mail for one's own no"
    );
    let theirs = entries(&app, &fhi).await;
    assert_eq!(theirs[0]["status"], "held", "{theirs:?}");
    let fhi_hold = theirs[0]["booking_id"].as_i64().unwrap();
    assert_eq!(mails(&app, "hold_offered", FHI).await.len(), 1);

    // FHI does not answer. Not before the hold's end …
    app.clock.advance(Duration::hours(23));
    assert!(app.app.waitlist_round().await.unwrap().is_empty());
    assert_eq!(status_of(&app, fhi_hold).await, Status::Held);
    // … but after it, the hold runs out; the list is empty, so the slot is simply free.
    app.clock.advance(Duration::hours(1));
    let lapsed = app.app.waitlist_round().await.unwrap();
    assert_eq!(lapsed.iter().map(|b| b.id).collect::<Vec<_>>(), vec![fhi_hold]);
    assert!(app.app.waitlist_round().await.unwrap().is_empty(), "once");
    assert_eq!(status_of(&app, fhi_hold).await, Status::Lapsed);
    assert_eq!(entries(&app, &fhi).await[0]["status"], "lapsed");
    let ended = mails(&app, "hold_ended", FHI).await;
    assert_eq!(ended.len(), 1);
    // Its alternatives are links to the filled-in form.
    assert!(
        ended[0].body_text.contains("/booking/ny?dato="),
        "{}",
        ended[0].body_text
    );
    assert!(ended[0].body_text.contains("tittel=FHI-m"), "{}", ended[0].body_text);
    // Free for anyone now.
    let (s, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "10:00", "12:00", "Likevel"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // An entry whose time has started expires.
    // The next open day after `day` (two days ahead may be the same Monday).
    let day2 = app.open_day((day - crate::common::today()).num_days() + 1);
    let (s, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day2, "10:00", "12:00", "Fullt"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(&hvl, "/api/v1/waitlist", &booking(day2, "10:00", "12:00", "Venter"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let start: DateTime<Utc> = v["start"].as_str().unwrap().parse().unwrap();
    app.clock.advance(start - app.app.now() + Duration::minutes(1));
    app.app.waitlist_round().await.unwrap();
    let (_, v) = app.get(&hvl, &format!("/api/v1/waitlist/{}", v["id"])).await;
    assert_eq!(v["status"], "expired");
}

async fn a_higher_tier_ahead_in_line_wins(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let hvl = app.user(HVL, "hvl", Role::Requester).await;
    let skil = app.user("anne@skil.no", "skil", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    // BEHO holds the slot (firm for everyone below); the collaborator joins first, the partner later.
    let (s, v) = app
        .post(&beho, "/api/v1/bookings", &booking(day, "10:00", "12:00", "BEHO"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(&skil, "/api/v1/waitlist", &booking(day, "10:00", "12:00", "SKIL"))
        .await;
    assert_eq!((s, v["place"].as_i64()), (StatusCode::CREATED, Some(1)), "{v}");
    app.clock.advance(Duration::minutes(30));
    let (s, v) = app
        .post(&hvl, "/api/v1/waitlist", &booking(day, "10:00", "12:00", "HVL"))
        .await;
    // The partner ranks above the collaborator: first in line though it came later.
    assert_eq!((s, v["place"].as_i64()), (StatusCode::CREATED, Some(1)), "{v}");
    assert_eq!(entries(&app, &skil).await[0]["place"], 2);

    let (s, _) = app
        .post(&coord, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(entries(&app, &hvl).await[0]["status"], "held");
    assert_eq!(entries(&app, &skil).await[0]["status"], "waiting");

    // A request of a higher tier competes with the hold like with a pending request; approved,
    // it takes the slot back from the waitlist, and the holder is told.
    let hold = entries(&app, &hvl).await[0]["booking_id"].as_i64().unwrap();
    let (s, v) = app
        .post(&beho, "/api/v1/bookings", &booking(day, "10:00", "11:00", "BEHO igjen"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let request = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(&coord, &format!("/api/v1/bookings/{request}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(status_of(&app, hold).await, Status::Lapsed);
    assert_eq!(entries(&app, &hvl).await[0]["status"], "withdrawn");
    assert_eq!(mails(&app, "hold_ended", HVL).await.len(), 1);
    // 11.00–12.00 is not free for SKIL's 10.00–12.00: it still waits.
    assert_eq!(entries(&app, &skil).await[0]["status"], "waiting");
}

async fn joining_checks_the_request_and_changes_nothing_when_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let uib = app.user(UIB, "uib", Role::Requester).await;
    let hvl = app.user(HVL, "hvl", Role::Requester).await;
    let (s, _) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "10:00", "12:00", "Møte"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let free = booking(day, "14:00", "15:00", "Ledig");
    let (s, v) = app.post(&hvl, "/api/v1/waitlist", &free).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["not_busy".to_string()]),
        "{v}"
    );
    let (s, v) = app
        .post(&uib, "/api/v1/waitlist", &booking(day, "10:00", "12:00", "Egen"))
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["own_booking".to_string()]),
        "{v}"
    );
    let (s, v) = app
        .post(&hvl, "/api/v1/waitlist", &booking(day, "10:00", "12:00", "Møte"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(&hvl, "/api/v1/waitlist", &booking(day, "10:00", "12:00", "Møte"))
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["already_waiting".to_string()]),
        "{v}"
    );
    // The rules apply as to a request: outside opening hours, over capacity, bad input.
    let mut late = booking(day, "22:00", "23:00", "Sent");
    let (s, v) = app.post(&hvl, "/api/v1/waitlist", &late).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), ["outside_opening_hours"]);
    late["attendees"] = json!(0);
    let (s, v) = app.post(&hvl, "/api/v1/waitlist", &late).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.post(&hvl, "/api/v1/waitlist", &json!({"room": "borgertun"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = app.post("feil", "/api/v1/waitlist", &free).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Too soon for a hold: nobody could get it in time.
    let soon = app.open_day(0);
    let now_local = borgertun::domain::time::local(app.app.now());
    if soon == now_local.date_naive() && now_local.time() < chrono::NaiveTime::from_hms_opt(19, 0, 0).unwrap() {
        let start = (now_local + Duration::hours(1)).format("%H:00").to_string();
        let end = (now_local + Duration::hours(2)).format("%H:00").to_string();
        let body = booking(soon, &start, &end, "Straks");
        app.post(&uib, "/api/v1/bookings", &body).await;
        let (s, v) = app.post(&hvl, "/api/v1/waitlist", &body).await;
        assert!(
            s == StatusCode::CONFLICT || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{v}"
        );
    }
    // Only the one entry was stored; leaving it twice is refused the second time.
    let mine = entries(&app, &hvl).await;
    assert_eq!(mine.len(), 1);
    let (s, v) = app
        .post(&hvl, &format!("/api/v1/waitlist/{}/leave", mine[0]["id"]), &json!({}))
        .await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("left")), "{v}");
    let (s, v) = app
        .post(&hvl, &format!("/api/v1/waitlist/{}/leave", mine[0]["id"]), &json!({}))
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["invalid_state".to_string()])
    );
    for bad in ["0", "x", "99999"] {
        let (s, _) = app
            .post(&hvl, &format!("/api/v1/waitlist/{bad}/confirm"), &json!({}))
            .await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {s}"
        );
    }
}

async fn the_mail_links_answer_a_hold_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, _hvl, _fhi, id) = busy_with_two_in_line(&app, day).await;
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    let (confirm, decline) = hold_links(&app, HVL).await;

    // Signed out, from the mail: the page shows the hold and one button.
    let mut browser = Browser::new(&app);
    let page = browser.get(&decline).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Holdt for deg til") && page.html.contains("Avslå"),
        "{}",
        page.html
    );
    let page = browser.get(&confirm).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("HVL-møte") && page.html.contains("Bekreft"));
    // Without the anti-forgery token nothing happens.
    let page = browser.post(&confirm, &[("csrf", "gammel")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let csrf = browser.csrf();
    let page = browser.post(&confirm, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Bookingen er bekreftet"), "{}", page.html);
    let booked = app
        .store
        .bookings(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.title == "HVL-møte")
        .collect::<Vec<_>>();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].status, Status::Confirmed);
    // Both links are used now.
    for link in [&confirm, &decline] {
        assert_eq!(browser.get(link).await.status, StatusCode::GONE);
        assert_eq!(browser.post(link, &[("csrf", &csrf)]).await.status, StatusCode::GONE);
    }
    assert_eq!(status_of(&app, booked[0].id).await, Status::Confirmed);
    for bad in [
        "/venteliste/svar/abc".to_string(),
        format!("/venteliste/svar/{}", "0".repeat(64)),
    ] {
        assert_eq!(browser.get(&bad).await.status, StatusCode::NOT_FOUND);
    }
}

async fn reminders_cancel_link_and_a_move_offer_the_slot(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, hvl, _fhi, id) = busy_with_two_in_line(&app, day).await;
    // Moved away: the old time goes to the waitlist.
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{id}", app.base))
        .bearer_auth(&uib)
        .json(&json!({"start": crate::common::at(day, "14:00"), "end": crate::common::at(day, "16:00")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(entries(&app, &hvl).await[0]["status"], "held");
    let hvl_entry = entries(&app, &hvl).await[0]["id"].as_i64().unwrap();
    let hold = entries(&app, &hvl).await[0]["booking_id"].as_i64().unwrap();
    app.post(&hvl, &format!("/api/v1/waitlist/{hvl_entry}/confirm"), &json!({}))
        .await;
    assert_eq!(status_of(&app, hold).await, Status::Confirmed);

    // The reminder's «Jeg trenger ikke rommet likevel» frees it for the next in line (FHI).
    let start = app.store.booking(hold).await.unwrap().unwrap().start;
    app.clock.advance(start - app.app.now() - Duration::hours(20));
    app.app.send_reminders().await.unwrap();
    let m = mails(&app, "reminder", HVL).await.pop().expect("a reminder");
    let at = m.body_text.find("/paminnelse/").unwrap();
    let path = m.body_text[at..at + "/paminnelse/".len() + 64].to_string();
    let mut browser = Browser::new(&app);
    browser.get(&path).await;
    let csrf = browser.csrf();
    let page = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(status_of(&app, hold).await, Status::Cancelled);
    let offered = mails(&app, "hold_offered", FHI).await;
    assert_eq!(offered.len(), 1, "the next in line got the slot");
    // 20 hours before the start: the hold ends two hours before it.
    let fhi_hold = app
        .store
        .bookings(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.status == Status::Held)
        .unwrap();
    assert_eq!(fhi_hold.held_until, Some(fhi_hold.start - Duration::hours(2)));
}

async fn the_database_keeps_a_held_slot(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, hvl, _fhi, id) = busy_with_two_in_line(&app, day).await;
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    let hold = entries(&app, &hvl).await[0]["booking_id"].as_i64().unwrap();
    let held = app.store.booking(hold).await.unwrap().unwrap();
    // Bypass the rules and write straight through the store: the database itself says no.
    let contact = borgertun::domain::User {
        id: 0,
        email: UIB.into(),
        name: "Kari".into(),
        org: "uib".into(),
        role: Role::Requester,
    };
    let new = NewBooking {
        room: "borgertun".into(),
        start: held.start + Duration::minutes(30),
        end: held.end,
        title: BookingTitle::parse("Forbi").unwrap(),
        description: None,
        public: true,
        attendees: 5,
        org: "uib".into(),
        contact,
        activity: None,
    };
    let mut tx = app.store.write("borgertun").await.unwrap();
    let err = tx
        .insert(Insert {
            booking: &new,
            series: None,
            status: Status::Confirmed,
            blocked_until: new.end + Duration::minutes(15),
            reason: None,
            actor: "test",
            now: Utc::now(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, store::StoreError::Overlap), "{err:?}");
    drop(tx);
    assert_eq!(status_of(&app, hold).await, Status::Held);
}

async fn fifty_clients_cannot_take_a_held_slot_on_two_servers(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, hvl, _fhi, id) = busy_with_two_in_line(&app, day).await;
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    let entry = entries(&app, &hvl).await[0]["id"].as_i64().unwrap();
    let hold = entries(&app, &hvl).await[0]["booking_id"].as_i64().unwrap();
    let mut tokens = Vec::new();
    for (i, org) in ["uib", "norce", "vid", "hvl", "fhi"]
        .iter()
        .cycle()
        .take(50)
        .enumerate()
    {
        tokens.push(app.user(&format!("racer{i}@{org}.no"), org, Role::Requester).await);
    }
    let one = crate::concurrency::start_server(&app.db_url).await;
    let two = crate::concurrency::start_server(&app.db_url).await;
    // 50 partners race for the held slot (and slots overlapping it) through two servers, while
    // the holder confirms: nobody else gets it.
    let barrier = Arc::new(tokio::sync::Barrier::new(51));
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let base = if i % 2 == 0 { one.base.clone() } else { two.base.clone() };
        let (barrier, client, t) = (barrier.clone(), client.clone(), t.clone());
        let from = ["10:00", "10:30", "11:00", "11:30"][i % 4];
        let body = booking(day, from, "12:00", "Kappløp");
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            client
                .post(format!("{base}/api/v1/bookings"))
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let confirm = {
        let (barrier, client, base, hvl) = (barrier.clone(), client.clone(), one.base.clone(), hvl.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            client
                .post(format!("{base}/api/v1/waitlist/{entry}/confirm"))
                .bearer_auth(hvl)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(confirm.await.unwrap(), StatusCode::OK);
    let all = app.store.bookings(&Default::default()).await.unwrap();
    let live: Vec<_> = all.iter().filter(|b| b.status.occupies()).collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].id, live[0].status), (hold, Status::Confirmed));
}

async fn the_waitlist_pages_join_show_the_place_and_leave(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let uib = app.user(UIB, "uib", Role::Requester).await;
    app.user(HVL, "hvl", Role::Requester).await;
    let (s, _) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "10:00", "12:00", "Opptatt tid"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut browser = Browser::new(&app);
    browser.sign_in(HVL).await;
    browser.get("/booking/ny").await;
    let csrf = browser.csrf();
    let date = day.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("dato", date.as_str()),
        ("fra", "10:00"),
        ("til", "12:00"),
        ("tittel", "Arbeidsmøte"),
        ("deltakere", "8"),
        ("aktivitet", "mote"),
    ];
    let page = browser.post("/booking/ny", &form).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("Sett meg på venteliste"), "{}", page.html);
    let page = browser.post("/venteliste", &form).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.html);
    assert!(page.html.contains("Du er først på ventelisten"), "{}", page.html);
    let page = browser.get("/venteliste").await;
    assert!(page.html.contains("Arbeidsmøte") && page.html.contains("Forlat ventelisten"));
    // Twice: refused in plain words, nothing stored.
    let page = browser.post("/venteliste", &form).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("allerede på ventelisten"), "{}", page.html);
    // A bad form: refused, nothing stored.
    let mut bad = form;
    bad[3] = ("til", "09:00");
    let page = browser.post("/venteliste", &bad).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.html);
    let hvl_entries = app.store.waitlist_of(HVL).await.unwrap();
    assert_eq!(hvl_entries.len(), 1);
    let id = hvl_entries[0].id;
    let page = browser
        .post(&format!("/venteliste/{id}/forlat"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = browser.get("/venteliste").await;
    assert!(page.html.contains("Forlatt"), "{}", page.html);
    assert!(!page.html.contains("Forlat ventelisten"));
    // Signed out: the list needs sign-in.
    let mut anon = Browser::new(&app);
    let page = anon.get("/venteliste").await;
    assert!(
        page.status == StatusCode::SEE_OTHER || page.status == StatusCode::UNAUTHORIZED,
        "{}",
        page.status
    );
}

async fn the_report_counts_the_waitlist(b: Backend) {
    let app = TestApp::spawn(b).await;
    let day = app.open_day(10);
    let (uib, hvl, fhi, id) = busy_with_two_in_line(&app, day).await;
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    let e = entries(&app, &hvl).await[0]["id"].as_i64().unwrap();
    app.post(&hvl, &format!("/api/v1/waitlist/{e}/decline"), &json!({}))
        .await;
    let e = entries(&app, &fhi).await[0]["id"].as_i64().unwrap();
    app.post(&fhi, &format!("/api/v1/waitlist/{e}/confirm"), &json!({}))
        .await;
    let from = day - Duration::days(1);
    let counts = app
        .store
        .waitlist_counts(
            borgertun::domain::time::start_of_day(from),
            borgertun::domain::time::start_of_day(day + Duration::days(1)),
        )
        .await
        .unwrap();
    // Two joined, two holds offered, one confirmed; HVL's declined slot went to FHI, so none
    // went unused.
    assert_eq!(
        (
            counts.entries,
            counts.holds_offered,
            counts.holds_confirmed,
            counts.unused
        ),
        (2, 2, 1, 0)
    );
}

async fn the_hold_mails_arrive_as_text_and_html(b: Backend) {
    use crate::common::tools::{free_port, python, SmtpSink};
    use crate::mail::{fast_mail, find, parse};
    let Some(py) = crate::common::require(python()) else {
        return;
    };
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&py, port, maildir.path());
    let app = TestApp::spawn_with(b, |c| fast_mail(c, port)).await;
    let day = app.open_day(10);
    let (uib, _hvl, _fhi, id) = busy_with_two_in_line(&app, day).await;
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    // The confirmation of UiB's booking, its cancellation, and the hold offered to HVL.
    let all: Vec<_> = sink.wait_for(3).await.iter().map(|raw| parse(raw)).collect();
    let (confirm, decline) = hold_links(&app, HVL).await;
    let m = find(&all, HVL, "Holdt for deg: HVL-møte");
    assert_eq!(m.structure, ["multipart/alternative", "text/plain", "text/html"]);
    assert!(
        m.calendar.is_none() && m.attachment.is_none(),
        "a hold is in no calendar yet"
    );
    assert!(!m.message_id.is_empty());
    for body in [&m.text, &m.html] {
        assert!(
            body.contains("Holdt for deg") || body.contains("holdt for deg"),
            "{body}"
        );
        assert!(body.contains("Borgertun"), "the room: {body}");
    }
    for (link, label) in [(&confirm, "Bekreft"), (&decline, "Avslå")] {
        assert!(m.text.contains(&format!("{}{link}", app.base)), "{}", m.text);
        assert!(
            m.html.contains(&format!(r#"<a href="{}{link}">{label}</a>"#, app.base)),
            "{}",
            m.html
        );
    }

    // HVL lets it run out: FHI is offered the slot, and HVL is told, with alternatives that
    // are links to the filled-in form.
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    app.app.waitlist_round().await.unwrap();
    let all: Vec<_> = sink.wait_for(5).await.iter().map(|raw| parse(raw)).collect();
    let ended = find(&all, HVL, "Holdet er utløpt: HVL-møte");
    assert_eq!(ended.structure, ["multipart/alternative", "text/plain", "text/html"]);
    assert!(ended.calendar.is_none());
    assert!(ended.text.contains("Begrunnelse: Holdet gikk ut"), "{}", ended.text);
    assert!(
        ended
            .html
            .contains(&format!(r#"<a href="{}/booking/ny?dato="#, app.base)),
        "{}",
        ended.html
    );
    let offered = find(&all, FHI, "Holdt for deg: FHI-møte");
    assert!(offered.text.contains("/venteliste/svar/"));
}
