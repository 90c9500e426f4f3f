//! The fairness ledger: displacements and refusals in conflicts per organisation over the last
//! 12 months, in the coordinator's conflict case (API and page), in the same-tier suggestion,
//! and in the report (page, CSV, JSON), each equal to what the test itself did.

use borgertun::domain::{Role, Status};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::{booking, Backend, TestApp};

on_both_backends!(the_ledger_counts_what_happened_in_the_last_twelve_months);

const UIB_LINE: &str =
    "Universitetet i Bergen (UiB) er flyttet 2 ganger, 3 timer, og avslått 1 gang, 1 time, siste 12 måneder";

/// Book through the API; the new booking's id and status.
async fn book(app: &TestApp, token: &str, day: chrono::NaiveDate, from: &str, to: &str, title: &str) -> (i64, String) {
    let (code, v) = app
        .post(token, "/api/v1/bookings", &booking(day, from, to, title))
        .await;
    assert!(code.is_success(), "{code} {v}");
    (v["id"].as_i64().unwrap(), v["status"].as_str().unwrap().to_string())
}

async fn decide(app: &TestApp, coord: &str, id: i64, what: &str, reason: &str) {
    let (s, v) = app
        .post(
            coord,
            &format!("/api/v1/bookings/{id}/{what}"),
            &json!({ "reason": reason }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{what} {id}: {v}");
}

async fn the_ledger_counts_what_happened_in_the_last_twelve_months(b: Backend) {
    // Partners wait for the coordinator here, so two of them can compete as pending requests.
    let app = TestApp::spawn_with(b, |c| c.rules.tiers[2].auto_confirm = false).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let (mut displaced, mut displaced_minutes, mut refused, mut refused_minutes) = (0, 0, 0, 0);

    // Two displacements of UiB: its confirmed booking, then BEHO's request approved over it.
    for (days, from, to, minutes) in [(30, "09:00", "11:00", 120), (40, "13:00", "14:00", 60)] {
        let day = app.open_day(days);
        let (partner, st) = book(&app, &uib, day, from, to, "Forskermøte").await;
        assert_eq!(st, "pending");
        decide(&app, &coord, partner, "approve", "Ledig").await;
        let (request, st) = book(&app, &beho, day, from, to, "Arbeidsverksted").await;
        assert_eq!(st, "pending");
        decide(&app, &coord, request, "approve", "Fagdag for avdelingen").await;
        assert_eq!(
            app.store.booking(partner).await.unwrap().unwrap().status,
            Status::Displaced
        );
        displaced += 1;
        displaced_minutes += minutes;
    }

    // One refusal in a conflict: UiB's request competes with BEHO's, and is rejected.
    let day = app.open_day(50);
    let (partner, _) = book(&app, &uib, day, "09:00", "10:00", "Seminar").await;
    let (owner, st) = book(&app, &beho, day, "09:00", "12:00", "Nettverkssamling").await;
    assert_eq!(st, "pending");
    decide(&app, &coord, partner, "reject", "BEHO trenger rommet").await;
    refused += 1;
    refused_minutes += 60;
    // A rejection of the higher tier (BEHO's request, competing with nothing higher) does not
    // count for BEHO.
    decide(&app, &coord, owner, "reject", "Avlyst").await;

    // Rejected after the higher tier withdrew: no longer a conflict with it, not counted.
    let day = app.open_day(55);
    let (partner, _) = book(&app, &uib, day, "09:00", "10:00", "Seminar").await;
    let (owner, st) = book(&app, &beho, day, "09:00", "12:00", "Nettverkssamling").await;
    assert_eq!(st, "pending");
    let (s, v) = app
        .post(&beho, &format!("/api/v1/bookings/{owner}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    decide(&app, &coord, partner, "reject", "Ikke nå").await;

    // A displacement 13 months ago is outside the window.
    let long_ago = Utc::now() - Duration::days(400);
    let old = app
        .store_booking(
            "kari@uib.no",
            long_ago,
            long_ago + Duration::hours(5),
            "Gammelt",
            Status::Confirmed,
            long_ago,
        )
        .await;
    let mut tx = app.store.write(&app.rules().rooms[0].key).await.unwrap();
    tx.transition(borgertun::store::Transition {
        id: old,
        from: Status::Confirmed,
        to: Status::Displaced,
        reason: Some("Gammel sak"),
        actor: "koordinator@bergen.kommune.no",
        now: long_ago,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Two same-tier requests: HVL asks first, UiB (displaced hours) second; UiB is suggested.
    let day = app.open_day(60);
    let (first, st) = book(&app, &hvl, day, "09:00", "11:00", "Kurs").await;
    assert_eq!(st, "pending");
    app.clock.advance(Duration::minutes(1));
    let (second, st) = book(&app, &uib, day, "10:00", "12:00", "Workshop").await;
    assert_eq!(st, "pending");

    let (s, v) = app.get(&coord, "/api/v1/conflicts").await;
    assert_eq!(s, StatusCode::OK);
    let cases = v["conflicts"].as_array().unwrap();
    let case = |id: i64| -> &Value { cases.iter().find(|c| c["request"]["id"] == id).unwrap() };
    assert_eq!(case(second)["suggestion"], "approve", "more displaced hours go first");
    assert_ne!(case(first)["suggestion"], "approve", "{}", case(first));
    for id in [first, second] {
        let f = case(id)["fairness"].as_array().unwrap();
        assert_eq!(f.len(), 1, "only UiB has lost the room: {f:?}");
        assert_eq!(f[0]["organisation"]["key"], "uib");
        assert_eq!(f[0]["displaced"], displaced);
        assert_eq!(f[0]["displaced_hours"], displaced_minutes as f64 / 60.0);
        assert_eq!(f[0]["refused"], refused);
        assert_eq!(f[0]["refused_hours"], refused_minutes as f64 / 60.0);
        assert_eq!(f[0]["text"], UIB_LINE);
    }

    // The coordinator's page says the same.
    let mut page = Browser::new(&app);
    page.sign_in("koordinator@bergen.kommune.no").await;
    let queue = page.get("/koordinator").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.html.contains(UIB_LINE), "the queue shows the ledger");
    assert!(!queue
        .html
        .contains("Byrådsavdeling for eldre, helse og omsorg (BEHO) er"));

    // The report of today: the same figures, per organisation and tier; the old one is out.
    let today = crate::common::today();
    let (s, v) = app
        .get(&beho, &format!("/api/v1/reports/summary?from={today}&to={today}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["fairness"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["organisation"]["key"], "uib");
    assert_eq!(rows[0]["tier"], "partner");
    assert_eq!(rows[0]["displaced"], displaced);
    assert_eq!(rows[0]["displaced_hours"], displaced_minutes as f64 / 60.0);
    assert_eq!(rows[0]["refused"], refused);
    assert_eq!(rows[0]["refused_hours"], refused_minutes as f64 / 60.0);
    let report = page.get(&format!("/rapport?fra={today}&til={today}")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report
        .html
        .contains("Trukket tilbake og avslått i konflikt per virksomhet"));
    let res = app
        .client
        .get(format!(
            "{}/rapport.csv?fra={today}&til={today}&tabell=rettferdighet",
            app.base
        ))
        .header("cookie", page.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(
        csv.contains("Universitetet i Bergen (UiB);klyngepartner;2;3;1;1"),
        "{csv}"
    );

    // Moved 12 months on, nothing is inside the window any more.
    assert_eq!(app.app.fairness().await.unwrap()["uib"].displaced, displaced);
    app.clock.advance(Duration::days(370));
    assert!(app.app.fairness().await.unwrap().is_empty());
}
