//! A series in calendars, on SQLite and PostgreSQL: the invitations and cancellations a real
//! SMTP sink receives, and a room feed, checked by libical and Python `icalendar`, and expanded
//! by recurring-ical-events, ical.js and libical, which must each find exactly the occurrences
//! that hold the room.

use std::collections::BTreeSet;

use borgertun::domain::time::at_local;
use borgertun::domain::Role;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::expand::Expanders;
use crate::common::tools::{free_port, SmtpSink, Validators};
use crate::common::{self, at, booking, Backend, TestApp};
use crate::mail::{fast_mail, find, invitation, parse, Received};

on_both_backends!(
    a_series_is_one_invitation_and_each_change_names_its_occurrence,
    the_room_feed_expands_to_exactly_the_held_occurrences
);

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn oslo(d: NaiveDate, hm: &str) -> DateTime<Utc> {
    at_local(d, NaiveTime::parse_from_str(hm, "%H:%M").unwrap()).unwrap()
}

fn slots(list: &[(NaiveDate, &str, &str)]) -> BTreeSet<(DateTime<Utc>, DateTime<Utc>)> {
    list.iter().map(|(d, s, e)| (oslo(*d, s), oslo(*d, e))).collect()
}

fn series(d: NaiveDate, from: &str, to: &str, title: &str, rrule: &str) -> Value {
    let mut v = booking(d, from, to, title);
    v["rrule"] = json!(rrule);
    v
}

/// The whole spring of 2027: every occurrence below lies in it.
fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    (oslo(day(2027, 3, 1), "00:00"), oslo(day(2027, 7, 1), "00:00"))
}

fn ics(m: &Received) -> &str {
    m.attachment
        .as_deref()
        .unwrap_or_else(|| panic!("no calendar in «{}»", m.subject))
}

async fn a_series_is_one_invitation_and_each_change_names_its_occurrence(b: Backend) {
    let (Some(validators), Some(expanders)) = (common::require(Validators::find()), common::require(Expanders::find()))
    else {
        return;
    };
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(validators.python(), port, maildir.path());
    let app = TestApp::spawn_with(b, |c| fast_mail(c, port)).await;
    app.clock.set(oslo(day(2027, 3, 15), "08:00"));
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let (from, to) = window();

    // Thursdays from 18 March, eight times: 25 March (Maundy Thursday) and 6 May (Ascension)
    // are skipped. One invitation, with the RRULE and the two EXDATEs.
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(
                day(2027, 3, 18),
                "09:00",
                "11:00",
                "Nettverksmøte",
                "FREQ=WEEKLY;BYDAY=TH;COUNT=8",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let ids: Vec<i64> = v["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["booking_id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 6);
    let mails: Vec<Received> = sink.wait_for(1).await.iter().map(|r| parse(r)).collect();
    assert_eq!(mails.len(), 1, "one message for the whole series");
    let m = find(&mails, "ola@bergen.kommune.no", "Serie booket");
    let event = invitation(&validators, m, "REQUEST");
    let uid = format!("series-{id}@borgertun.bergen.kommune.no");
    assert_eq!(event["uid"], uid.as_str(), "{event}");
    let cal = ics(m);
    assert!(cal.contains("DTSTART;TZID=Europe/Oslo:20270318T090000\r\n"), "{cal}");
    assert!(cal.contains("RRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=8\r\n"), "{cal}");
    assert!(
        cal.contains("EXDATE;TZID=Europe/Oslo:20270325T090000,20270506T090000\r\n"),
        "{cal}"
    );
    assert!(m.text.contains("skjærtorsdag, hoppes over"), "{}", m.text);
    let thursdays = [
        day(2027, 3, 18),
        day(2027, 4, 1),
        day(2027, 4, 8),
        day(2027, 4, 15),
        day(2027, 4, 22),
        day(2027, 4, 29),
    ];
    let all: Vec<(NaiveDate, &str, &str)> = thursdays.iter().map(|d| (*d, "09:00", "11:00")).collect();
    expanders.assert_expands_to(cal, &slots(&all), from, to);

    // One occurrence cancelled: a CANCEL of that instance only.
    let (s, _) = app
        .post(
            &beho,
            &format!("/api/v1/bookings/{}/cancel", ids[2]),
            &json!({"reason": "Påskeferie"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // One occurrence moved: a REQUEST of that instance, at its new time.
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{}", app.base, ids[3]))
        .bearer_auth(&beho)
        .json(&json!({"start": at(day(2027, 4, 15), "13:00"), "end": at(day(2027, 4, 15), "15:00")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mails: Vec<Received> = sink.wait_for(3).await.iter().map(|r| parse(r)).collect();
    let cancelled = find(&mails, "ola@bergen.kommune.no", "Avbestilt");
    let event = invitation(&validators, cancelled, "CANCEL");
    assert_eq!(event["uid"], uid.as_str());
    assert!(ics(cancelled).contains("RECURRENCE-ID;TZID=Europe/Oslo:20270408T090000\r\n"));
    assert!(
        !ics(cancelled).contains("RRULE:FREQ=WEEKLY"),
        "only the one instance is cancelled"
    );
    let moved = find(&mails, "ola@bergen.kommune.no", "Flyttet");
    let event = invitation(&validators, moved, "REQUEST");
    assert_eq!(event["uid"], uid.as_str());
    assert!(ics(moved).contains("RECURRENCE-ID;TZID=Europe/Oslo:20270415T090000\r\n"));
    assert!(ics(moved).contains("DTSTART;TZID=Europe/Oslo:20270415T130000\r\n"));
    expanders.assert_expands_to(ics(moved), &slots(&[(day(2027, 4, 15), "13:00", "15:00")]), from, to);

    // From 22 April on at 10.00: the series is split. The first part ends before 22 April
    // (UNTIL) and is sent again, with the cancelled one as an EXDATE and the moved one as an
    // override; the rest is a series of its own.
    let res = app
        .client
        .patch(format!("{}/api/v1/series/{id}", app.base))
        .bearer_auth(&beho)
        .json(&json!({"from": ids[4], "start_time": "10:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rest: Value = res.json().await.unwrap();
    let rest_id = rest["id"].as_i64().unwrap();
    let mails: Vec<Received> = sink.wait_for(5).await.iter().map(|r| parse(r)).collect();
    let updates: Vec<&Received> = mails.iter().filter(|m| m.subject.starts_with("Serie endret")).collect();
    assert_eq!(
        updates.len(),
        2,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let by_uid = |u: &str| {
        *updates
            .iter()
            .find(|m| ics(m).contains(&format!("UID:{u}\r\n")))
            .unwrap_or_else(|| panic!("no update for {u}"))
    };
    let earlier = by_uid(&uid);
    invitation(&validators, earlier, "REQUEST");
    assert!(ics(earlier).contains("UNTIL=20270421T215959Z"), "{}", ics(earlier));
    assert!(
        ics(earlier).contains("SEQUENCE:1\r\n"),
        "a higher SEQUENCE: {}",
        ics(earlier)
    );
    expanders.assert_expands_to(
        ics(earlier),
        &slots(&[
            (day(2027, 3, 18), "09:00", "11:00"),
            (day(2027, 4, 1), "09:00", "11:00"),
            (day(2027, 4, 15), "13:00", "15:00"),
        ]),
        from,
        to,
    );
    let rest_uid = format!("series-{rest_id}@borgertun.bergen.kommune.no");
    let later = by_uid(&rest_uid);
    invitation(&validators, later, "REQUEST");
    assert!(
        ics(later).contains("DTSTART;TZID=Europe/Oslo:20270422T100000\r\n"),
        "{}",
        ics(later)
    );
    expanders.assert_expands_to(
        ics(later),
        &slots(&[
            (day(2027, 4, 22), "10:00", "12:00"),
            (day(2027, 4, 29), "10:00", "12:00"),
        ]),
        from,
        to,
    );

    // All of the rest cancelled: a CANCEL of that series' UID, which leaves nothing.
    let (s, v) = app
        .post(&beho, &format!("/api/v1/series/{rest_id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mails: Vec<Received> = sink.wait_for(6).await.iter().map(|r| parse(r)).collect();
    let gone = find(&mails, "ola@bergen.kommune.no", "Serie avbestilt");
    let event = invitation(&validators, gone, "CANCEL");
    assert_eq!(event["uid"], rest_uid.as_str());
    expanders.assert_expands_to(ics(gone), &BTreeSet::new(), from, to);
}

async fn the_room_feed_expands_to_exactly_the_held_occurrences(b: Backend) {
    let (Some(validators), Some(expanders)) = (common::require(Validators::find()), common::require(Expanders::find()))
    else {
        return;
    };
    let app = TestApp::spawn(b).await;
    app.clock.set(oslo(day(2027, 3, 15), "08:00"));
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    // uib holds 20 April; BEHO's Tuesdays from 6 April: one competes with it (pending: the
    // room feed shows what others may see, so not it), one is then cancelled.
    let (s, _) = app
        .post(
            &uib,
            "/api/v1/bookings",
            &booking(day(2027, 4, 20), "09:00", "11:00", "UiB"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(
                day(2027, 4, 6),
                "09:00",
                "11:00",
                "Fagdag",
                "FREQ=WEEKLY;BYDAY=TU;COUNT=5",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let occ = v["occurrences"].as_array().unwrap();
    assert_eq!(occ[2]["status"], "pending", "{v}");
    let (s, _) = app
        .post(
            &beho,
            &format!("/api/v1/bookings/{}/cancel", occ[4]["booking_id"]),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, feed) = app.post(&beho, "/api/v1/feeds", &json!({"kind": "room"})).await;
    assert_eq!(s, StatusCode::CREATED, "{feed}");
    let body = app
        .client
        .get(feed["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    validators.check("series-room-feed", &body);
    // What holds the room: BEHO's 6, 13 and 27 April, and uib's 20 April.
    let held = slots(&[
        (day(2027, 4, 6), "09:00", "11:00"),
        (day(2027, 4, 13), "09:00", "11:00"),
        (day(2027, 4, 20), "09:00", "11:00"),
        (day(2027, 4, 27), "09:00", "11:00"),
    ]);
    let (from, to) = window();
    let found = expanders.expand(&body, from, to);
    for (library, set) in found.by_library() {
        let times: BTreeSet<(DateTime<Utc>, DateTime<Utc>)> = set.iter().map(|(_, s, e)| (*s, *e)).collect();
        assert_eq!(times, held, "{library} expands the feed to other times");
        assert_eq!(set.len(), 4, "{library}: {set:?}");
    }
}
