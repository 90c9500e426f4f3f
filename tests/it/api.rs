//! The JSON API against a real server and a real database, on SQLite and PostgreSQL.

use borgertun::domain::Role;
use chrono::{DateTime, Duration, FixedOffset, Timelike};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{self, at, booking, codes, Backend, TestApp};

on_both_backends!(
    health_and_reference_data,
    free_slot_is_confirmed_and_busy_slot_offers_bookable_alternatives,
    higher_tier_request_becomes_a_conflict_and_approval_displaces,
    protection_window_makes_a_lower_booking_firm_until_override,
    reject_needs_a_reason_and_offers_alternatives,
    overlapping_pending_requests_are_settled_by_the_coordinator,
    every_policy_violation_has_its_code_and_changes_nothing,
    monthly_quota_is_enforced,
    bad_input_gets_a_clear_error_and_changes_nothing,
    others_see_only_public_details,
    cancelling_follows_the_life_cycle,
    nine_oclock_stays_nine_oclock_across_dst,
    moving_rechecks_every_rule_and_changes_nothing_when_refused,
    the_ics_of_another_organisations_private_booking_shows_no_title,
    a_new_time_and_activity_are_one_change_with_one_history_line,
    bad_paths_and_queries_answer_in_the_json_error_format,
);

fn t(v: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

async fn health_and_reference_data(b: Backend) {
    let app = TestApp::spawn(b).await;
    let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));

    let (s, v) = app.get("", "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(codes(&v), ["unauthorized"]);
    let (s, _) = app.get("bt_not-a-real-token", "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let token = app.user("kari@uib.no", "uib", Role::Requester).await;
    let (s, v) = app.get(&token, "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["rooms"][0]["key"], "borgertun");
    assert_eq!(v["rooms"][0]["capacity"], 80);
    assert_eq!(v["rooms"][0]["opening_hours"]["monday"], "08:00-21:00");
    assert!(v["rooms"][0]["opening_hours"].get("saturday").is_none());

    let (s, v) = app.get(&token, "/api/v1/organisations").await;
    assert_eq!(s, StatusCode::OK);
    let orgs = v["organisations"].as_array().unwrap();
    let find = |k: &str| {
        orgs.iter()
            .find(|o| o["key"] == k)
            .unwrap_or_else(|| panic!("{k} missing"))
            .clone()
    };
    assert_eq!(find("beho")["tier"], "owner");
    assert_eq!(find("uib")["name"], "Universitetet i Bergen (UiB)");
    assert_eq!(find("skil")["tier"], "collaborator");
    assert!(orgs.len() >= 20);

    let (s, v) = app.get(&token, "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/api/v1/bookings",
        "/api/v1/bookings/{id}/approve",
        "/api/v1/rooms/{room}/availability",
        "/api/v1/conflicts",
    ] {
        assert!(v["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}

async fn free_slot_is_confirmed_and_busy_slot_offers_bookable_alternatives(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(10);

    let (s, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "12:00", "14:00", "Forskermøte"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "confirmed");
    assert_eq!(t(&v["start"]).hour(), 12);
    let first = v["id"].as_i64().unwrap();

    // The availability shows the busy interval with organisation and title, no contact.
    let (s, v) = app
        .get(
            &hvl,
            &format!("/api/v1/rooms/borgertun/availability?from={day}&to={day}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let busy = v["busy"].as_array().unwrap();
    assert_eq!(busy.len(), 1);
    assert_eq!(busy[0]["title"], "Forskermøte");
    assert_eq!(busy[0]["organisation"]["key"], "uib");
    assert!(!v.to_string().contains("kari@uib.no"));

    // Same tier, overlapping (even only the buffer): busy, with alternatives of the same length.
    let (s, v) = app
        .post(&hvl, "/api/v1/bookings", &booking(day, "14:00", "16:00", "Seminar"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["busy"]);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Rommet er opptatt. Disse tidene er ledige:"));
    assert_eq!(v["held_by"], json!([first]));
    let alts = v["alternatives"].as_array().unwrap();
    assert!(alts.len() >= 3, "{v}");
    for a in alts {
        assert_eq!(t(&a["end"]) - t(&a["start"]), Duration::hours(2));
    }
    // Same day, nearest first: 14.15 is the first start after the booking and its buffer.
    assert_eq!(alts[0]["start"], at(day, "14:15"));
    // Nothing was stored for the refused request.
    assert_eq!(app.snapshot().await.len(), 1);
    // Every alternative is really free: book each one in turn... the first succeeds.
    let (s, v) = app.post(&hvl, "/api/v1/bookings", &json!({"room": "borgertun", "start": alts[0]["start"], "end": alts[0]["end"], "title": "Seminar", "attendees": 40})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "confirmed");
}

async fn higher_tier_request_becomes_a_conflict_and_approval_displaces(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(30);

    let (s, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "09:00", "11:00", "Forskermøte"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let partner = v["id"].as_i64().unwrap();

    let (s, v) = app
        .post(
            &beho,
            "/api/v1/bookings",
            &booking(day, "10:00", "12:00", "Arbeidsverksted"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["conflicts"], json!([partner]));
    let request = v["id"].as_i64().unwrap();

    // The partner's booking still stands until the coordinator decides.
    let (_, v) = app.get(&uib, &format!("/api/v1/bookings/{partner}")).await;
    assert_eq!(v["status"], "confirmed");

    // Only the coordinator sees and settles conflicts.
    let (s, _) = app.get(&uib, "/api/v1/conflicts").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&beho, &format!("/api/v1/bookings/{request}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.get(&coord, "/api/v1/conflicts").await;
    assert_eq!(s, StatusCode::OK);
    let c = &v["conflicts"][0];
    assert_eq!(c["request"]["id"], request);
    assert_eq!(c["request"]["organisation"]["tier"], "owner");
    assert_eq!(c["conflicts_with"][0]["id"], partner);
    assert_eq!(c["conflicts_with"][0]["organisation"]["tier"], "partner");
    assert_eq!(c["conflicts_with"][0]["protected"], false);
    assert_eq!(c["suggestion"], "approve");

    let (s, v) = app
        .post(
            &coord,
            &format!("/api/v1/bookings/{request}/approve"),
            &json!({"reason": "BEHO-verksted for handlingsplanen"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["booking"]["status"], "confirmed");
    assert_eq!(v["displaced"][0]["booking"]["id"], partner);
    assert!(v["displaced"][0]["alternatives"].as_array().unwrap().len() >= 3);

    let (_, v) = app.get(&uib, &format!("/api/v1/bookings/{partner}")).await;
    assert_eq!(v["status"], "displaced");
    assert_eq!(v["status_reason"], "BEHO-verksted for handlingsplanen");
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["from"], "confirmed");
    assert_eq!(history[1]["to"], "displaced");
    assert_eq!(history[1]["actor"], "koordinator@bergen.kommune.no");
    assert_eq!(v["sequence"], 1);

    // The room now shows only BEHO's booking; the queue is empty; approving again is refused.
    let (_, v) = app
        .get(
            &uib,
            &format!("/api/v1/rooms/borgertun/availability?from={day}&to={day}"),
        )
        .await;
    assert_eq!(v["busy"].as_array().unwrap().len(), 1);
    assert_eq!(v["busy"][0]["organisation"]["key"], "beho");
    let (_, v) = app.get(&coord, "/api/v1/conflicts").await;
    assert_eq!(v["conflicts"], json!([]));
    let (s, v) = app
        .post(&coord, &format!("/api/v1/bookings/{request}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(codes(&v), ["invalid_state"]);
}

async fn protection_window_makes_a_lower_booking_firm_until_override(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(2);
    assert!((day - common::open_day(app.rules(), 0)).num_days() < 14);

    let (s, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "09:00", "11:00", "Forskermøte"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let partner = v["id"].as_i64().unwrap();

    let (s, v) = app
        .post(
            &beho,
            "/api/v1/bookings",
            &booking(day, "10:00", "12:00", "Arbeidsverksted"),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["protected"], true);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("beskyttelsesperioden på 14 dager"));

    // An override needs the coordinator and a reason.
    let mut req = booking(day, "10:00", "12:00", "Krisemøte");
    req["override"] = json!(true);
    let (s, _) = app.post(&beho, "/api/v1/bookings", &req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    req["organisation"] = json!("beho");
    let (s, v) = app.post(&coord, "/api/v1/bookings", &req).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v), ["reason_required"]);
    assert_eq!(app.snapshot().await.len(), 1);

    req["reason"] = json!("Krisemøte om smittevern");
    let (s, v) = app.post(&coord, "/api/v1/bookings", &req).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "confirmed");
    assert_eq!(v["organisation"]["key"], "beho");
    assert_eq!(v["displaced"][0]["booking"]["id"], partner);
    assert!(!v["displaced"][0]["alternatives"].as_array().unwrap().is_empty());
    let (_, v) = app.get(&uib, &format!("/api/v1/bookings/{partner}")).await;
    assert_eq!(v["status"], "displaced");
    assert_eq!(v["status_reason"], "Krisemøte om smittevern");
}

async fn reject_needs_a_reason_and_offers_alternatives(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(30);
    app.post(&uib, "/api/v1/bookings", &booking(day, "09:00", "11:00", "Forskermøte"))
        .await;
    let (_, v) = app
        .post(&beho, "/api/v1/bookings", &booking(day, "09:00", "11:00", "Verksted"))
        .await;
    let request = v["id"].as_i64().unwrap();

    let (s, v) = app
        .post(
            &coord,
            &format!("/api/v1/bookings/{request}/reject"),
            &json!({"reason": "  "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v), ["reason_required"]);
    let (s, _) = app
        .post(
            &uib,
            &format!("/api/v1/bookings/{request}/reject"),
            &json!({"reason": "nei"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&uib, &format!("/api/v1/bookings/{request}/reject"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the role is checked before the input");

    let (s, v) = app
        .post(
            &coord,
            &format!("/api/v1/bookings/{request}/reject"),
            &json!({"reason": "Partneren har booket først"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["booking"]["status"], "rejected");
    assert_eq!(v["booking"]["status_reason"], "Partneren har booket først");
    assert!(v["alternatives"].as_array().unwrap().len() >= 3);

    let (_, v) = app.get(&beho, &format!("/api/v1/bookings/{request}")).await;
    assert_eq!(v["status"], "rejected");
    let (s, v) = app
        .post(&coord, &format!("/api/v1/bookings/{request}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(codes(&v), ["invalid_state"]);
}

async fn overlapping_pending_requests_are_settled_by_the_coordinator(b: Backend) {
    // Collaborators need approval here: two overlapping requests wait for the coordinator.
    let app = TestApp::spawn_with(b, |c| c.rules.tiers[3].auto_confirm = false).await;
    let skil = app.user("a@skil.no", "skil", Role::Requester).await;
    let vis = app.user("b@vis.no", "vis", Role::Requester).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(20);

    let (s, v) = app
        .post(
            &skil,
            "/api/v1/bookings",
            &booking(day, "09:00", "11:00", "Nettverksmøte"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["conflicts"], json!([]));
    let first = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &vis,
            "/api/v1/bookings",
            &booking(day, "10:00", "12:00", "Innovasjonsmøte"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // Another organisation's pending request is not named (the coordinator sees it).
    assert_eq!(v["conflicts"], json!([]));
    let second = v["id"].as_i64().unwrap();

    // Same tier: the earlier request is suggested.
    let (_, v) = app.get(&coord, "/api/v1/conflicts").await;
    let cases = v["conflicts"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let suggestion = |id: i64| cases.iter().find(|c| c["request"]["id"] == id).unwrap()["suggestion"].clone();
    assert_eq!(suggestion(first), "approve");
    assert_ne!(suggestion(second), "approve");

    let (s, _) = app
        .post(&coord, &format!("/api/v1/bookings/{first}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // The second now overlaps a confirmed booking of the same tier: approval is refused.
    let (s, v) = app
        .post(&coord, &format!("/api/v1/bookings/{second}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(codes(&v), ["busy"]);
    let (_, v) = app.get(&vis, &format!("/api/v1/bookings/{second}")).await;
    assert_eq!(v["status"], "pending");
}

async fn every_policy_violation_has_its_code_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let day = app.open_day(7);
    let mut saturday = day;
    while chrono::Datelike::weekday(&saturday) != chrono::Weekday::Sat {
        saturday += Duration::days(1);
    }
    let far = app.open_day(100);
    let mut yesterday = day - Duration::days(8);
    while app.rules().closed_reason(&app.rules().rooms[0], yesterday).is_some() {
        yesterday -= Duration::days(1);
    }
    let cases: Vec<(Value, &str)> = vec![
        (booking(day, "07:00", "09:00", "Tidlig"), "outside_opening_hours"),
        (booking(day, "20:00", "21:30", "Sent"), "outside_opening_hours"),
        (booking(saturday, "10:00", "12:00", "Lørdag"), "closed_day"),
        (booking(far, "10:00", "12:00", "Langt frem"), "beyond_horizon"),
        (booking(day, "10:00", "10:15", "Kort"), "too_short"),
        (booking(day, "08:00", "20:30", "Lang"), "too_long"),
        (booking(yesterday, "10:00", "11:00", "Fortid"), "in_past"),
        (booking(day, "10:10", "11:00", "Skjevt"), "not_on_slot_grid"),
        (
            json!({"room": "borgertun", "start": at(day, "10:00"), "end": at(day, "11:00"), "title": "Stort", "attendees": 81}),
            "over_capacity",
        ),
    ];
    for (req, code) in cases {
        let (s, v) = app.post(&uib, "/api/v1/bookings", &req).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {v}");
        assert_eq!(codes(&v), [code], "{v}");
        let msg = v["errors"][0]["message"].as_str().unwrap();
        assert!(!msg.is_empty() && v["errors"][0]["field"].is_string(), "{v}");
    }
    let (_, v) = app
        .post(&uib, "/api/v1/bookings", &booking(saturday, "10:00", "12:00", "Lørdag"))
        .await;
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("stengt"), "{v}");
    let (_, v) = app
        .post(&uib, "/api/v1/bookings", &booking(far, "10:00", "12:00", "Langt"))
        .await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Klyngepartnere kan booke inntil 90 dager"),
        "{v}"
    );
    assert!(app.snapshot().await.is_empty());
}

async fn monthly_quota_is_enforced(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.rules.tiers[3].monthly_quota_hours = Some(3)).await;
    let skil = app.user("a@skil.no", "skil", Role::Requester).await;
    let day = app.open_day(3);
    let (s, _) = app
        .post(&skil, "/api/v1/bookings", &booking(day, "09:00", "11:00", "Første"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post(&skil, "/api/v1/bookings", &booking(day, "12:00", "13:00", "Andre"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(&skil, "/api/v1/bookings", &booking(day, "14:00", "14:30", "Tredje"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), ["quota_exceeded"]);
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("kvote på 3 timer"),
        "{v}"
    );
    assert_eq!(app.snapshot().await.len(), 2);
}

async fn bad_input_gets_a_clear_error_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(10);
    let (_, v) = app
        .post(
            &uib,
            "/api/v1/bookings",
            &booking(day, "09:00", "10:00", "Eksisterende"),
        )
        .await;
    let existing = v["id"].as_i64().unwrap();
    let mut pending_req = booking(day, "09:00", "10:00", "Forespørsel");
    pending_req["organisation"] = json!("beho");
    let day30 = app.open_day(30);
    app.post(&uib, "/api/v1/bookings", &booking(day30, "09:00", "10:00", "Senere"))
        .await;
    let mut beho_req = booking(day30, "09:00", "10:00", "BEHO");
    beho_req["organisation"] = json!("beho");
    let (s, v) = app.post(&coord, "/api/v1/bookings", &beho_req).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let pending = v["id"].as_i64().unwrap();
    let before = app.snapshot().await;

    let ok = booking(day, "12:00", "13:00", "Gyldig");
    let with = |k: &str, val: Value| {
        let mut r = ok.clone();
        r[k] = val;
        r
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            with("room", json!("kantina")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_room",
        ),
        (
            with("end", json!(at(day, "11:00"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "end_before_start",
        ),
        (
            with("start", json!(format!("{day}T12:00:00"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_offset",
        ),
        (
            with("start", json!("99999-01-01T12:00:00+01:00")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
        ),
        (
            with("start", json!("1900-01-01T12:00:00+01:00")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
        ),
        (
            with("start", json!("i morgen")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
        ),
        (
            with("title", json!("   ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_title",
        ),
        (
            with("attendees", json!("mange")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (
            with("colour", json!("blå")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (with("organisation", json!("beho")), StatusCode::FORBIDDEN, "forbidden"),
        (with("override", json!(true)), StatusCode::FORBIDDEN, "forbidden"),
    ];
    for (req, status, code) in cases {
        let (s, v) = app.post(&uib, "/api/v1/bookings", &req).await;
        assert_eq!((s, codes(&v)), (status, vec![code.to_string()]), "{req}: {v}");
    }
    let (s, v) = app
        .post(&coord, "/api/v1/bookings", &with("organisation", json!("ukjent")))
        .await;
    assert_eq!(
        (s, codes(&v)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["unknown_organisation".to_string()]
        )
    );

    // Malformed JSON, wrong content type, an oversized body.
    let (s, v) = app
        .post_raw(&uib, "/api/v1/bookings", "application/json", b"{\"room\": ".to_vec())
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::BAD_REQUEST, vec!["invalid_json".to_string()])
    );
    let (s, v) = app
        .post_raw(&uib, "/api/v1/bookings", "text/plain", serde_json::to_vec(&ok).unwrap())
        .await;
    assert_eq!(
        (s, codes(&v)),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec!["unsupported_media_type".to_string()]
        )
    );
    // (On a connection of its own: the server answers before reading the body and closes it.)
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/bookings", app.base))
        .bearer_auth(&uib)
        .json(&with("description", json!("x".repeat(100_000))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(codes(&res.json().await.unwrap()), ["payload_too_large"]);

    // Acting on others' bookings.
    let (s, _) = app
        .post(&hvl, &format!("/api/v1/bookings/{existing}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&uib, &format!("/api/v1/bookings/{pending}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "others' pending requests are not revealed");
    let (s, _) = app
        .post(&uib, &format!("/api/v1/bookings/{pending}/approve"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(
            &uib,
            &format!("/api/v1/bookings/{existing}/reject"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for path in [
        "/api/v1/bookings/999999",
        "/api/v1/bookings/abc",
        "/api/v1/nothing-here",
    ] {
        let (s, v) = app.get(&uib, path).await;
        assert_eq!(
            (s, codes(&v)),
            (StatusCode::NOT_FOUND, vec!["not_found".to_string()]),
            "{path}"
        );
    }
    let (s, v) = app.post(&coord, "/api/v1/bookings/999999/approve", &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let res = app
        .client
        .delete(format!("{}/api/v1/bookings", app.base))
        .bearer_auth(&uib)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(codes(&res.json().await.unwrap()), ["method_not_allowed"]);

    // Query strings.
    for (q, code) in [
        ("from=2027-13-01", "invalid_date"),
        ("from=2027-03-10&to=2027-03-01", "end_before_start"),
        ("from=2027-01-01&to=2027-12-31", "range_too_large"),
    ] {
        let (s, v) = app
            .get(&uib, &format!("/api/v1/rooms/borgertun/availability?{q}"))
            .await;
        assert_eq!(
            (s, codes(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![code.to_string()]),
            "{q}"
        );
    }
    let (s, v) = app.get(&uib, "/api/v1/rooms/kantina/availability").await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::NOT_FOUND, vec!["unknown_room".to_string()])
    );
    let (s, v) = app.get(&uib, "/api/v1/bookings?status=done").await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["invalid_status".to_string()])
    );

    assert_eq!(app.snapshot().await, before, "bad input changed nothing");
    let _ = pending_req;
}

async fn others_see_only_public_details(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(30);
    let mut private = booking(day, "09:00", "10:00", "Personalsak");
    private["public"] = json!(false);
    private["description"] = json!("Fortrolig");
    let (_, v) = app.post(&uib, "/api/v1/bookings", &private).await;
    let id = v["id"].as_i64().unwrap();
    // A pending request of BEHO's, invisible to others.
    let (s, v) = app
        .post(&beho, "/api/v1/bookings", &booking(day, "09:00", "10:00", "BEHO-møte"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let pending = v["id"].as_i64().unwrap();

    let (s, v) = app.get(&hvl, &format!("/api/v1/bookings/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["title"], "Opptatt");
    assert!(
        v.get("contact").is_none() && v.get("description").is_none() && v.get("history").is_none(),
        "{v}"
    );
    let (s, _) = app.get(&hvl, &format!("/api/v1/bookings/{pending}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, v) = app.get(&hvl, &format!("/api/v1/bookings?from={day}&to={day}")).await;
    let list = v["bookings"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["title"], "Opptatt");
    assert!(!v.to_string().contains("kari@uib.no") && !v.to_string().contains("Fortrolig"));

    let (_, v) = app.get(&uib, &format!("/api/v1/bookings?from={day}&to={day}")).await;
    let mine = v["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(mine["title"], "Personalsak");
    assert_eq!(mine["contact"]["email"], "kari@uib.no");
    assert_eq!(mine["description"], "Fortrolig");

    let (_, v) = app
        .get(&uib, &format!("/api/v1/bookings?from={day}&to={day}&status=pending"))
        .await;
    assert_eq!(v["bookings"], json!([]));
    let (_, v) = app
        .get(&beho, &format!("/api/v1/bookings?from={day}&to={day}&status=pending"))
        .await;
    assert_eq!(v["bookings"][0]["id"], pending);
}

async fn cancelling_follows_the_life_cycle(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let uib2 = app.user("nils@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(10);
    let (_, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "09:00", "10:00", "Møte"))
        .await;
    let id = v["id"].as_i64().unwrap();

    // A colleague in the same organisation may cancel.
    let (s, v) = app
        .post(
            &uib2,
            &format!("/api/v1/bookings/{id}/cancel"),
            &json!({"reason": "Flyttet til Teams"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["sequence"], 1);
    let (s, v) = app
        .post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["invalid_state".to_string()])
    );

    // The slot is free again for others.
    let (s, v) = app
        .post(&hvl, "/api/v1/bookings", &booking(day, "09:00", "10:00", "HVL-møte"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hvl_id = v["id"].as_i64().unwrap();
    // The coordinator may cancel anyone's booking.
    let (s, v) = app
        .post(&coord, &format!("/api/v1/bookings/{hvl_id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "cancelled");
    let (_, v) = app.get(&uib, &format!("/api/v1/bookings/{id}")).await;
    let h = v["history"].as_array().unwrap();
    assert_eq!(
        (h[0]["to"].as_str(), h[1]["to"].as_str(), h[1]["reason"].as_str()),
        (Some("confirmed"), Some("cancelled"), Some("Flyttet til Teams"))
    );
}

async fn nine_oclock_stays_nine_oclock_across_dst(b: Backend) {
    use borgertun::domain::time::{local, TZ};
    use chrono::{Offset, TimeZone};
    let app = TestApp::spawn(b).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    // The next change of UTC offset in Oslo, and open days just before and after it.
    let mut day = app.open_day(1);
    let offset = |d: chrono::NaiveDate| TZ.offset_from_utc_date(&d).fix().local_minus_utc();
    while offset(day) == offset(day + Duration::days(1)) {
        day += Duration::days(1);
    }
    let before = {
        let mut d = day;
        while app.rules().closed_reason(&app.rules().rooms[0], d).is_some() {
            d -= Duration::days(1);
        }
        d
    };
    let after = common::open_day(
        app.rules(),
        (day - local(chrono::Utc::now()).date_naive()).num_days() + 1,
    );
    for d in [before, after] {
        // Sent in UTC, answered in Oslo time: 09.00 local whatever the offset.
        let utc = borgertun::domain::time::at_local(d, chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()).unwrap();
        let req = json!({"room": "borgertun", "start": utc.to_rfc3339(), "end": (utc + Duration::hours(1)).to_rfc3339(), "title": "Morgenmøte", "attendees": 5});
        let (s, v) = app.post(&beho, "/api/v1/bookings", &req).await;
        assert_eq!(s, StatusCode::CREATED, "{d}: {v}");
        let start = t(&v["start"]);
        assert_eq!(start.hour(), 9, "{d}: {v}");
        assert_eq!(start.offset().local_minus_utc(), offset(d), "{d}");
    }
    assert_ne!(offset(before), offset(after));
}

async fn moving_rechecks_every_rule_and_changes_nothing_when_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(10);
    let (_, v) = app
        .post(&uib, "/api/v1/bookings", &booking(day, "09:00", "10:00", "Møte"))
        .await;
    let id = v["id"].as_i64().unwrap();
    app.post(&hvl, "/api/v1/bookings", &booking(day, "15:00", "16:00", "HVL"))
        .await;
    let patch = |token: &str, body: Value| {
        let req = app
            .client
            .patch(format!("{}/api/v1/bookings/{id}", app.base))
            .bearer_auth(token)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let before = app.snapshot().await;
    let mut saturday = day;
    while chrono::Datelike::weekday(&saturday) != chrono::Weekday::Sat {
        saturday += Duration::days(1);
    }
    // Into another organisation's booking (its buffer included): busy, with alternatives.
    let (s, v) = patch(&uib, json!({"start": at(day, "14:30"), "end": at(day, "15:30")})).await;
    assert_eq!((s, codes(&v)), (StatusCode::CONFLICT, vec!["busy".to_string()]), "{v}");
    assert!(!v["alternatives"].as_array().unwrap().is_empty());
    let (s, v) = patch(
        &uib,
        json!({"start": at(saturday, "10:00"), "end": at(saturday, "11:00")}),
    )
    .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["closed_day".to_string()])
    );
    let (s, v) = patch(&uib, json!({"start": at(day, "11:00"), "end": at(day, "10:00")})).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["end_before_start".to_string()])
    );
    let (s, _) = patch(&hvl, json!({"start": at(day, "11:00"), "end": at(day, "12:00")})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before, "refused moves change nothing");

    // A free time: moved, SEQUENCE raised, the move in the history.
    let (s, v) = patch(&uib, json!({"start": at(day, "12:00"), "end": at(day, "13:30")})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["start"].as_str(),
            v["end"].as_str(),
            v["status"].as_str(),
            v["sequence"].as_i64()
        ),
        (
            Some(at(day, "12:00").as_str()),
            Some(at(day, "13:30").as_str()),
            Some("confirmed"),
            Some(1)
        )
    );
    let (_, v) = app.get(&uib, &format!("/api/v1/bookings/{id}")).await;
    assert!(
        v["history"][1]["reason"].as_str().unwrap().starts_with("Flyttet fra"),
        "{v}"
    );
    // Its old time is free for others now.
    let (s, _) = app
        .post(&hvl, "/api/v1/bookings", &booking(day, "09:00", "10:00", "Ledig nå"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.post(&uib, &format!("/api/v1/bookings/{id}/cancel"), &json!({}))
        .await;
    let (s, v) = patch(&uib, json!({"start": at(day, "17:00"), "end": at(day, "18:00")})).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::CONFLICT, vec!["invalid_state".to_string()])
    );
}

async fn the_ics_of_another_organisations_private_booking_shows_no_title(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(20);
    let mut private = booking(day, "09:00", "10:00", "Hemmelig personalsak");
    private["public"] = json!(false);
    private["description"] = json!("Fortrolig innhold");
    let (s, v) = app.post(&uib, "/api/v1/bookings", &private).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::CREATED, Some("confirmed")),
        "{v}"
    );
    let id = v["id"].as_i64().unwrap();

    let ics = |token: String| {
        let req = app
            .client
            .get(format!("{}/api/v1/bookings/{id}.ics", app.base))
            .bearer_auth(token);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
            (status, ctype, res.text().await.unwrap())
        }
    };
    let (s, ctype, body) = ics(hvl).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(ctype.starts_with("text/calendar"), "{ctype}");
    // Unfolded, so a title split over two lines is found too.
    let unfolded = body.replace("\r\n ", "").replace("\n ", "");
    for secret in ["Hemmelig", "personalsak", "Fortrolig", "kari@uib.no"] {
        assert!(!unfolded.contains(secret), "the .ics shows «{secret}»:\n{body}");
    }
    let calname = unfolded
        .lines()
        .find(|l| l.starts_with("X-WR-CALNAME"))
        .unwrap_or_else(|| panic!("no X-WR-CALNAME:\n{body}"));
    assert!(calname.ends_with(":Opptatt"), "{calname}");
    assert!(unfolded.lines().any(|l| l == "SUMMARY:Opptatt"), "{body}");

    // Its own organisation sees it in full.
    let (s, _, body) = ics(uib).await;
    assert_eq!(s, StatusCode::OK);
    let unfolded = body.replace("\r\n ", "").replace("\n ", "");
    assert!(unfolded.contains("X-WR-CALNAME:Hemmelig personalsak"), "{body}");
}

async fn a_new_time_and_activity_are_one_change_with_one_history_line(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(10);
    let mut req = booking(day, "09:00", "10:00", "Møte");
    req["activity"] = json!({"kind": "seminar", "goal_areas": ["kunnskapsdeling"]});
    let (s, v) = app.post(&uib, "/api/v1/bookings", &req).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    app.post(&hvl, "/api/v1/bookings", &booking(day, "15:00", "16:00", "HVL"))
        .await;
    let patch = |body: Value| {
        let req = app
            .client
            .patch(format!("{}/api/v1/bookings/{id}", app.base))
            .bearer_auth(&uib)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let history_len = |v: &Value| v["history"].as_array().map(Vec::len).unwrap_or_default();
    let (_, before) = app.get(&uib, &format!("/api/v1/bookings/{id}")).await;
    assert_eq!(history_len(&before), 1, "{before}");

    // Refused (the new time is taken): neither the time nor the activity changes.
    let (s, v) = patch(json!({
        "start": at(day, "15:00"), "end": at(day, "16:00"),
        "activity": {"kind": "arbeidsverksted"}
    }))
    .await;
    assert_eq!((s, codes(&v)), (StatusCode::CONFLICT, vec!["busy".to_string()]), "{v}");
    let stored = app.store.booking(id).await.unwrap().unwrap();
    assert_eq!(stored.activity.unwrap().kind, "seminar");
    assert_eq!(borgertun::domain::time::rfc3339(stored.start), at(day, "09:00"));

    // A bad activity with a good time: nothing changes either.
    let (s, v) = patch(json!({
        "start": at(day, "12:00"), "end": at(day, "13:00"),
        "activity": {"kind": "seminar", "measures": ["finnes-ikke"]}
    }))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let stored = app.store.booking(id).await.unwrap().unwrap();
    assert_eq!(borgertun::domain::time::rfc3339(stored.start), at(day, "09:00"));

    // Both at once: one change, one line in the history.
    let (s, v) = patch(json!({
        "start": at(day, "12:00"), "end": at(day, "13:00"),
        "activity": {"kind": "arbeidsverksted"}
    }))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["start"].as_str(), v["activity"]["kind"].as_str()),
        (Some(at(day, "12:00").as_str()), Some("arbeidsverksted"))
    );
    let (_, after) = app.get(&uib, &format!("/api/v1/bookings/{id}")).await;
    assert_eq!(history_len(&after), 2, "one history line for the change: {after}");
    assert_eq!(after["activity"]["kind"], "arbeidsverksted");
}

async fn bad_paths_and_queries_answer_in_the_json_error_format(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    // A query string that does not deserialise (a repeated field).
    let res = app
        .client
        .get(format!("{}/api/v1/bookings?from=2026-01-01&from=2026-01-02", app.base))
        .bearer_auth(&uib)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(codes(&v), ["invalid_query"]);
    let (s, v) = app.get(&uib, "/api/v1/bookings/abc").await;
    assert_eq!((s, codes(&v)), (StatusCode::NOT_FOUND, vec!["not_found".to_string()]));
    let (s, v) = app.get(&uib, "/api/v1/rooms/ukjent/availability").await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::NOT_FOUND, vec!["unknown_room".to_string()])
    );
}
