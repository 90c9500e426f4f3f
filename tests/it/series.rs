//! Recurring series through the JSON API, on SQLite and PostgreSQL: every occurrence decided
//! by the single booking's rules, closed days skipped, the acceptance rule, planned
//! occurrences and the daily job, edits and cancellations of one, the following or all, and
//! the bad inputs. The service's clock is set to a fixed date, so the holidays are known.

use borgertun::domain::time::at_local;
use borgertun::domain::Role;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Timelike};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{at, booking, codes, Backend, TestApp};

on_both_backends!(
    a_weekly_series_skips_holidays_and_stays_at_nine_across_dst,
    busy_occurrences_are_declined_within_the_limits_and_refuse_the_series_beyond,
    beyond_the_horizon_is_planned_and_booked_by_the_daily_job,
    a_higher_tier_series_over_lower_bookings_is_one_case_for_the_coordinator,
    the_quota_counts_every_occurrence_in_its_own_month,
    one_the_following_or_all_occurrences_change_and_cancel,
    bad_series_input_gets_a_clear_error_and_changes_nothing,
    erasure_and_retention_reach_the_series_too,
    the_report_counts_each_held_occurrence_and_its_own_attendance,
);

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The service's clock at `hm` on `d`, Oslo time.
fn set_now(app: &TestApp, d: NaiveDate, hm: &str) {
    let t = NaiveTime::parse_from_str(hm, "%H:%M").unwrap();
    app.clock.set(at_local(d, t).unwrap());
}

fn series(d: NaiveDate, from: &str, to: &str, title: &str, rrule: &str) -> Value {
    let mut v = booking(d, from, to, title);
    v["rrule"] = json!(rrule);
    v
}

fn t(v: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

fn statuses(v: &Value) -> Vec<String> {
    v["occurrences"]
        .as_array()
        .unwrap_or_else(|| panic!("no occurrences in {v}"))
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_string())
        .collect()
}

fn booking_ids(v: &Value) -> Vec<i64> {
    v["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["booking_id"].as_i64())
        .collect()
}

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    let res = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

/// Mid-March 2027: Easter is 28 March (Maundy Thursday 25 March), Ascension 6 May; summer
/// time begins 28 March.
const NOW: (i32, u32, u32) = (2027, 3, 15);

async fn a_weekly_series_skips_holidays_and_stays_at_nine_across_dst(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    // Thursdays from 18 March: 25 March is Maundy Thursday, 6 May Ascension Day.
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
    assert_eq!(
        statuses(&v),
        [
            "confirmed",
            "skipped",
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "skipped"
        ]
    );
    let occ = v["occurrences"].as_array().unwrap();
    assert_eq!(occ[1]["code"], "closed_day");
    assert!(occ[1]["text"].as_str().unwrap().contains("skjærtorsdag"), "{}", occ[1]);
    assert!(
        occ[7]["text"].as_str().unwrap().contains("Kristi himmelfartsdag"),
        "{}",
        occ[7]
    );
    assert!(v["uid"].as_str().unwrap().starts_with(&format!("series-{}@", v["id"])));
    assert_eq!(v["rrule"], "FREQ=WEEKLY;BYDAY=TH;COUNT=8");
    // 09:00 Oslo on both sides of the change to summer time.
    for o in occ.iter().filter(|o| o["status"] == "confirmed") {
        let start = t(&o["start"]);
        assert_eq!(start.hour(), 9, "{o}");
        let offset = if start.date_naive() < day(2027, 3, 28) {
            3600
        } else {
            7200
        };
        assert_eq!(start.offset().local_minus_utc(), offset, "{o}");
    }
    // Each held occurrence is a booking of the series, seen through the bookings API too.
    let ids = booking_ids(&v);
    assert_eq!(ids.len(), 6);
    let (s, one) = app.get(&beho, &format!("/api/v1/bookings/{}", ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["series_id"].as_i64(), v["id"].as_i64(), "{one}");
    assert_eq!(one["recurrence_id"], v["occurrences"][0]["recurrence_id"], "{one}");
    let (s, again) = app.get(&beho, &format!("/api/v1/series/{}", v["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(statuses(&again), statuses(&v));
}

async fn busy_occurrences_are_declined_within_the_limits_and_refuse_the_series_beyond(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    // BEHO holds two Tuesdays of uib's eight (inside uib's horizon).
    for d in [day(2027, 4, 6), day(2027, 4, 20)] {
        let (s, v) = app
            .post(&beho, "/api/v1/bookings", &booking(d, "09:00", "11:00", "BEHO"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let rule = "FREQ=WEEKLY;BYDAY=TU;COUNT=8";
    let (s, v) = app
        .post(
            &uib,
            "/api/v1/series",
            &series(day(2027, 3, 16), "09:00", "11:00", "Seminar", rule),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let st = statuses(&v);
    assert_eq!(st.iter().filter(|s| *s == "declined").count(), 2, "{st:?}");
    let declined: Vec<&Value> = v["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "declined")
        .collect();
    for o in &declined {
        assert_eq!(o["code"], "busy", "{o}");
        let alts = o["alternatives"]
            .as_array()
            .expect("alternatives for a busy occurrence");
        assert!(!alts.is_empty());
        assert!(o["text"].as_str().unwrap().contains("opptatt – ledig"), "{o}");
    }

    // A third busy Tuesday is more than 25 % of eight: nothing is stored, every outcome listed.
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/bookings",
            &booking(day(2027, 5, 4), "13:00", "15:00", "BEHO"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for d in [day(2027, 4, 13), day(2027, 4, 27)] {
        let (s, v) = app
            .post(&beho, "/api/v1/bookings", &booking(d, "13:00", "15:00", "BEHO"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let before = app.snapshot().await;
    let (s, v) = app
        .post(
            &uib,
            "/api/v1/series",
            &series(day(2027, 3, 16), "13:00", "15:00", "Kurs", rule),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["series_refused"]);
    assert_eq!(statuses(&v).iter().filter(|s| *s == "declined").count(), 3);
    assert_eq!(statuses(&v).len(), 8);
    assert_eq!(app.snapshot().await, before, "a refused series stores nothing");
}

async fn beyond_the_horizon_is_planned_and_booked_by_the_daily_job(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    // Every other Tuesday from 16 March, 10 times, to 20 July: uib's horizon (90 days) ends
    // 13 June, so the last three are planned and hold nothing.
    let (s, v) = app
        .post(
            &uib,
            "/api/v1/series",
            &series(
                day(2027, 3, 16),
                "09:00",
                "11:00",
                "Nettverk",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=10",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let st = statuses(&v);
    assert_eq!(&st[7..], ["planned", "planned", "planned"], "{st:?}");
    let id = v["id"].as_i64().unwrap();
    // BEHO may take 6 July meanwhile: a planned occurrence holds nothing.
    let (s, taken) = app
        .post(
            &beho,
            "/api/v1/bookings",
            &booking(day(2027, 7, 6), "09:00", "11:00", "BEHO"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{taken}");

    // Nothing is due yet.
    assert!(app.app.book_planned_occurrences().await.unwrap().is_empty());
    // On 10 April the horizon reaches 9 July: 22 June and 6 July are due, 20 July is not.
    set_now(&app, day(2027, 4, 10), "06:00");
    let decided = app.app.book_planned_occurrences().await.unwrap();
    let got: Vec<&str> = decided.iter().map(|o| o.status.as_str()).collect();
    assert_eq!(got, ["confirmed", "declined"], "22 June booked, 6 July taken");
    assert!(!decided[1].alternatives.is_empty());
    // A second run the same day finds nothing.
    assert!(app.app.book_planned_occurrences().await.unwrap().is_empty());
    let (_, v) = app.get(&uib, &format!("/api/v1/series/{id}")).await;
    assert_eq!(&statuses(&v)[7..], ["confirmed", "declined", "planned"]);
    // The contact is told about the one that could not be booked, with a CANCEL of it.
    let outbox = app.store.outbox().await.unwrap();
    let told = outbox
        .iter()
        .find(|m| m.kind == "occurrence_declined")
        .expect("a message about the declined occurrence");
    assert_eq!(told.recipient, "kari@uib.no");
    assert!(
        told.body_text.contains("Tiden er allerede booket"),
        "{}",
        told.body_text
    );
    assert_eq!(told.ics_method.as_deref(), Some("CANCEL"));
    assert!(told
        .ics
        .as_deref()
        .unwrap()
        .contains("RECURRENCE-ID;TZID=Europe/Oslo:20270706T090000"));
}

async fn a_higher_tier_series_over_lower_bookings_is_one_case_for_the_coordinator(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let coordinator = app.user("koord@bergen.kommune.no", "beho", Role::Coordinator).await;
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    // uib holds two Wednesdays outside the protection window (14 days).
    let mut held = vec![];
    for d in [day(2027, 4, 14), day(2027, 4, 28)] {
        let (s, v) = app
            .post(&uib, "/api/v1/bookings", &booking(d, "10:00", "12:00", "UiB"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        held.push(v["id"].as_i64().unwrap());
    }
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(
                day(2027, 4, 7),
                "10:00",
                "12:00",
                "Fagdag",
                "FREQ=WEEKLY;BYDAY=WE;COUNT=6",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        statuses(&v),
        ["confirmed", "pending", "confirmed", "pending", "confirmed", "confirmed"]
    );
    // One case: one message per coordinator for the whole series.
    let outbox = app.store.outbox().await.unwrap();
    let cases: Vec<_> = outbox.iter().filter(|m| m.kind == "series_conflict").collect();
    assert_eq!(
        cases.len(),
        1,
        "{:?}",
        outbox.iter().map(|m| &m.kind).collect::<Vec<_>>()
    );
    assert_eq!(cases[0].recipient, "koord@bergen.kommune.no");
    assert!(cases[0].body_text.contains("2 av gangene"), "{}", cases[0].body_text);
    // The coordinator's queue lists both occurrences, each with what it collides with.
    let (s, q) = app.get(&coordinator, "/api/v1/conflicts").await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(q["conflicts"].as_array().map(|a| a.len()), Some(2), "{q}");
    // Decided for all: both confirmed, the lower bookings displaced.
    let id = v["id"].as_i64().unwrap();
    let coordinator_user = app
        .store
        .user_by_email("koord@bergen.kommune.no")
        .await
        .unwrap()
        .unwrap();
    let results = app.app.decide_series(id, &coordinator_user, true, None).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(results
        .iter()
        .all(|(_, r)| matches!(r, Ok(borgertun::domain::Status::Confirmed))));
    for h in held {
        let (_, b) = app.get(&uib, &format!("/api/v1/bookings/{h}")).await;
        assert_eq!(b["status"], "displaced", "{b}");
    }
    let (_, v) = app.get(&beho, &format!("/api/v1/series/{id}")).await;
    assert!(statuses(&v).iter().all(|s| s == "confirmed"));
}

async fn the_quota_counts_every_occurrence_in_its_own_month(b: Backend) {
    let app = TestApp::spawn_with(b, |cfg| {
        for t in &mut cfg.rules.tiers {
            if t.key == "collaborator" {
                t.monthly_quota_hours = Some(4);
            }
        }
    })
    .await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let skil = app.user("per@skil.no", "skil", Role::Requester).await;
    // Four hours a month. Two hours every Monday from 22 March: 22 March fits, 29 March is
    // Easter Monday (skipped), 5 and 12 April fill April.
    let (s, v) = app
        .post(
            &skil,
            "/api/v1/series",
            &series(
                day(2027, 3, 22),
                "09:00",
                "11:00",
                "Samling",
                "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(statuses(&v), ["confirmed", "skipped", "confirmed", "confirmed"]);
    let (s, v) = app
        .post(
            &skil,
            "/api/v1/series",
            &series(
                day(2027, 4, 19),
                "13:00",
                "15:00",
                "Samling 2",
                "FREQ=WEEKLY;BYDAY=MO;COUNT=2",
            ),
        )
        .await;
    // 19 and 26 April would exceed April's quota: all refused, nothing stored.
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let occ = v["occurrences"].as_array().unwrap();
    assert!(occ.iter().all(|o| o["code"] == "quota_exceeded"), "{v}");
}

async fn one_the_following_or_all_occurrences_change_and_cancel(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(
                day(2027, 4, 6),
                "09:00",
                "10:00",
                "Ledermøte",
                "FREQ=WEEKLY;BYDAY=TU;COUNT=6",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let ids = booking_ids(&v);
    assert_eq!(ids.len(), 6);

    // One occurrence moved through the bookings API: that one only.
    let (s, moved) = patch(
        &app,
        &beho,
        &format!("/api/v1/bookings/{}", ids[1]),
        &json!({ "start": at(day(2027, 4, 13), "12:00"), "end": at(day(2027, 4, 13), "13:00") }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    let (_, v) = app.get(&beho, &format!("/api/v1/series/{id}")).await;
    let hours: Vec<u32> = v["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| t(&o["start"]).hour())
        .collect();
    assert_eq!(hours, [9, 12, 9, 9, 9, 9]);

    // This and the following from the fourth: 14:00, two hours. The series splits there.
    let (s, rest) = patch(
        &app,
        &beho,
        &format!("/api/v1/series/{id}"),
        &json!({ "from": ids[3], "start_time": "14:00", "minutes": 120 }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rest}");
    assert_ne!(
        rest["id"].as_i64(),
        Some(id),
        "the following became a series of their own"
    );
    assert_eq!(statuses(&rest), ["confirmed", "confirmed", "confirmed"]);
    for o in rest["occurrences"].as_array().unwrap() {
        assert_eq!((t(&o["start"]).hour(), t(&o["end"]).hour()), (14, 16), "{o}");
    }
    let (_, earlier) = app.get(&beho, &format!("/api/v1/series/{id}")).await;
    assert_eq!(earlier["occurrences"].as_array().unwrap().len(), 3);
    assert!(
        earlier["rrule"].as_str().unwrap().contains("UNTIL=20270426T215959Z"),
        "{earlier}"
    );

    // Cancel from the second of the rest on: the first of the rest stays.
    let rest_id = rest["id"].as_i64().unwrap();
    let rest_ids = booking_ids(&rest);
    let (s, after) = app
        .post(
            &beho,
            &format!("/api/v1/series/{rest_id}/cancel"),
            &json!({ "from": rest_ids[1], "reason": "Flytter" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(statuses(&after), ["confirmed", "cancelled", "cancelled"]);
    // Cancel all of the earlier part.
    let (s, all) = app
        .post(&beho, &format!("/api/v1/series/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all["cancelled"], true);
    assert!(statuses(&all).iter().all(|s| s == "cancelled"));
    // Once more is a conflict, and changes nothing.
    let before = app.snapshot().await;
    let (s, v) = app
        .post(&beho, &format!("/api/v1/series/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["invalid_state"]);
    assert_eq!(app.snapshot().await, before);
}

async fn bad_series_input_gets_a_clear_error_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Requester).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let first = day(2027, 4, 6);
    let cases = [
        ("FREQ=WEEKLY;BYDAY=TU;UNTIL=20270301", "invalid_recurrence"),
        ("FREQ=WEEKLY;BYDAY=TU;COUNT=3;UNTIL=20270601", "invalid_recurrence"),
        ("FREQ=WEEKLY;BYDAY=TU", "invalid_recurrence"),
        ("FREQ=YEARLY;COUNT=2", "unsupported_recurrence"),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1;COUNT=3", "unsupported_recurrence"),
        ("FREQ=DAILY;COUNT=500", "invalid_recurrence"),
        ("FREQ=WEEKLY;BYDAY=WE;COUNT=3", "invalid_recurrence"),
        ("", "invalid_recurrence"),
    ];
    let before = app.snapshot().await;
    for (rule, code) in cases {
        let (s, v) = app
            .post(&beho, "/api/v1/series", &series(first, "09:00", "10:00", "Feil", rule))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{rule}: {v}");
        assert_eq!(codes(&v), [code], "{rule}: {v}");
        assert_eq!(v["errors"][0]["field"], "rrule", "{rule}");
        assert!(!v["errors"][0]["message"].as_str().unwrap().is_empty());
    }
    // The unsupported answer says what is supported.
    let (_, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(first, "09:00", "10:00", "Feil", "FREQ=YEARLY;COUNT=2"),
        )
        .await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("FREQ=DAILY, WEEKLY eller MONTHLY"));
    // The series as a whole breaks a rule: 422 with the rule's code.
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(first, "07:00", "08:00", "Tidlig", "FREQ=WEEKLY;BYDAY=TU;COUNT=3"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), ["outside_opening_hours"]);
    // No rrule at all, and an unknown field.
    let (s, v) = app
        .post(&beho, "/api/v1/series", &booking(first, "09:00", "10:00", "Uten"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let mut extra = series(first, "09:00", "10:00", "Ekstra", "FREQ=WEEKLY;COUNT=2");
    extra["colour"] = json!("red");
    let (s, v) = app.post(&beho, "/api/v1/series", &extra).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.snapshot().await, before, "nothing stored by bad input");

    // Another organisation's series is not found, for reading, changing and cancelling.
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(first, "09:00", "10:00", "BEHO intern", "FREQ=WEEKLY;COUNT=2"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let path = format!("/api/v1/series/{}", v["id"]);
    let before = app.snapshot().await;
    let (s, _) = app.get(&uib, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = patch(&app, &uib, &path, &json!({ "title": "Kapret" })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.post(&uib, &format!("{path}/cancel"), &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&uib, "/api/v1/series/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A change with nothing in it, and a bad time of day.
    let (s, v) = patch(&app, &beho, &path, &json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), ["nothing_to_change"]);
    let (s, v) = patch(&app, &beho, &path, &json!({ "start_time": "25:99" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), ["invalid_time"]);
    let (s, v) = patch(&app, &beho, &path, &json!({ "from": 424242, "title": "X" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.snapshot().await, before, "refused changes change nothing");
}

async fn erasure_and_retention_reach_the_series_too(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let coordinator = app.user("koord@bergen.kommune.no", "beho", Role::Coordinator).await;
    let (s, v) = app
        .post(
            &uib,
            "/api/v1/series",
            &series(day(2027, 4, 6), "09:00", "10:00", "Karis møte", "FREQ=WEEKLY;COUNT=3"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["contact"]["email"], "kari@uib.no");
    let path = format!("/api/v1/series/{}", v["id"]);
    let export = app.app.export_person("kari@uib.no").await.unwrap();
    assert_eq!(export.data.series.len(), 1, "the export names the series");
    assert_eq!(export.data.series[0].title, "Karis møte");
    app.app.erase_person("kari@uib.no").await.unwrap();
    let (s, v) = app.get(&coordinator, &path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["contact"]["email"], "");
    assert_ne!(v["contact"]["name"], "Kari");
    assert_eq!(v["title"], "Karis møte", "erasure keeps what is not about the person");

    // Long after its last occurrence the series' title goes too, as its bookings' do.
    let (s, v) = app
        .post(
            &coordinator,
            "/api/v1/series",
            &series(day(2027, 4, 7), "09:00", "10:00", "Gammel serie", "FREQ=WEEKLY;COUNT=2"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let old = v["id"].as_i64().unwrap();
    let months = app.config.privacy.retention_months as i64;
    set_now(
        &app,
        day(2027, 4, 14) + chrono::Duration::days(31 * (months + 1)),
        "08:00",
    );
    app.app.run_retention().await.unwrap();
    // (The API tokens have expired by now: read the store.)
    let s = app.store.series(old).await.unwrap().unwrap();
    assert_ne!(s.title, "Gammel serie", "{s:?}");
    assert_eq!(s.contact_email, "");
}

async fn the_report_counts_each_held_occurrence_and_its_own_attendance(b: Backend) {
    let app = TestApp::spawn(b).await;
    set_now(&app, day(NOW.0, NOW.1, NOW.2), "08:00");
    let beho = app.user("ola@bergen.kommune.no", "beho", Role::Staff).await;
    // Four Tuesdays in April, one cancelled afterwards: three events.
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/series",
            &series(
                day(2027, 4, 6),
                "09:00",
                "11:00",
                "Fagdag",
                "FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ids = booking_ids(&v);
    let (s, _) = app
        .post(&beho, &format!("/api/v1/bookings/{}/cancel", ids[3]), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = app
        .get(&beho, "/api/v1/reports/summary?from=2027-04-01&to=2027-04-30")
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["total"]["events"], 3, "{r}");
    assert_eq!(r["total"]["hours"], 6.0, "{r}");
    // Attendance is registered per occurrence: once the first is over, for it alone.
    set_now(&app, day(2027, 4, 7), "08:00");
    let user = app.store.user_by_email("ola@bergen.kommune.no").await.unwrap().unwrap();
    let actual = [("forskere".to_string(), 12)].into_iter().collect();
    app.app.register_attendance(&user, ids[0], actual, None).await.unwrap();
    let (_, r) = app
        .get(&beho, "/api/v1/reports/summary?from=2027-04-01&to=2027-04-30")
        .await;
    assert_eq!(r["total"]["with_attendance"], 1, "{r}");
    let (_, second) = app.get(&beho, &format!("/api/v1/bookings/{}", ids[1])).await;
    assert!(second["attendance"].is_null(), "{second}");
}
