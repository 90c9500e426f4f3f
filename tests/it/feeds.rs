//! Calendar feeds and `.ics` downloads: what each subscriber sees, conditional requests,
//! revocation, and the calendars checked by libical and Python `icalendar`.

use std::collections::HashSet;

use borgertun::domain::Role;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::tools::Validators;
use crate::common::{self, at, booking, codes, Backend, TestApp};

on_both_backends!(
    feeds_show_each_subscriber_what_they_may_see,
    booking_download_follows_visibility,
    nine_oclock_invitations_across_dst_changes
);

async fn get_feed(app: &TestApp, url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = app.client.get(url).send().await.unwrap();
    (res.status(), res.headers().clone(), res.text().await.unwrap())
}

fn summaries(checked: &Value) -> HashSet<String> {
    checked["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_string())
        .collect()
}

async fn feeds_show_each_subscriber_what_they_may_see(b: Backend) {
    let Some(validators) = common::require(Validators::find()) else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let per = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(20);
    let day2 = common::open_day(app.rules(), (day - common::today()).num_days() + 1);

    app.post(
        &kari,
        "/api/v1/bookings",
        &booking(day, "09:00", "10:00", "Forskermøte"),
    )
    .await;
    let mut private = booking(day, "12:00", "13:00", "Personalsak");
    private["public"] = json!(false);
    private["description"] = json!("Fortrolig");
    app.post(&kari, "/api/v1/bookings", &private).await;
    let (_, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &booking(day2, "09:00", "10:00", "Avlyst møte"),
        )
        .await;
    let to_cancel = v["id"].as_i64().unwrap();
    app.post(&kari, &format!("/api/v1/bookings/{to_cancel}/cancel"), &json!({}))
        .await;
    app.post(
        &per,
        "/api/v1/bookings",
        &booking(day2, "13:00", "15:00", "BEHO-verksted"),
    )
    .await;
    let (s, _) = app
        .post(
            &per,
            "/api/v1/bookings",
            &booking(day, "09:00", "10:00", "BEHO-forespørsel"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);

    // Bad requests for a feed.
    let (s, v) = app.post(&kari, "/api/v1/feeds", &json!({"kind": "weekly"})).await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["invalid_feed_kind".to_string()])
    );
    let (s, v) = app
        .post(&kari, "/api/v1/feeds", &json!({"kind": "room", "room": "kantina"}))
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["unknown_room".to_string()])
    );

    let (s, room_feed) = app.post(&kari, "/api/v1/feeds", &json!({"kind": "room"})).await;
    assert_eq!(s, StatusCode::CREATED, "{room_feed}");
    let token = room_feed["token"].as_str().unwrap();
    assert_eq!(token.len(), 64, "256 random bits");
    assert!(room_feed["webcal_url"]
        .as_str()
        .unwrap()
        .starts_with("webcal://127.0.0.1:"));
    let url = room_feed["url"].as_str().unwrap().to_string();

    // The room feed: confirmed bookings, public titles, organisations, no contact details.
    let (s, headers, body) = get_feed(&app, &url).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "text/calendar; charset=utf-8");
    let checked = validators.check("room", &body);
    assert_eq!(checked["method"], "PUBLISH");
    assert_eq!(checked["calname"], "Borgertun");
    assert_eq!(checked["timezone"], "Europe/Oslo");
    assert!(body.contains("REFRESH-INTERVAL;VALUE=DURATION:PT60M\r\n") && body.contains("X-PUBLISHED-TTL:PT60M\r\n"));
    assert_eq!(
        summaries(&checked),
        HashSet::from([
            "Forskermøte".to_string(),
            "Opptatt".to_string(),
            "BEHO-verksted".to_string()
        ])
    );
    assert!(
        !body.contains("kari@uib.no")
            && !body.contains("per@bergen")
            && !body.contains("Fortrolig")
            && !body.contains("Personalsak")
    );
    assert!(body.contains("Universitetet i Bergen (UiB)"));
    let first = checked["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["summary"] == "Forskermøte")
        .unwrap()
        .clone();
    assert_eq!(first["dtstart_local"], format!("{day}T09:00"));

    // Unchanged: byte-identical, and 304 to conditional requests.
    let (_, headers2, body2) = get_feed(&app, &url).await;
    assert_eq!(body2, body);
    let etag = headers[ETAG].to_str().unwrap().to_string();
    assert_eq!(headers2[ETAG], etag.as_str());
    let res = app.client.get(&url).header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(res.headers()[ETAG], etag.as_str());
    assert!(res.text().await.unwrap().is_empty());
    let last_modified = headers[LAST_MODIFIED].to_str().unwrap().to_string();
    let res = app
        .client
        .get(&url)
        .header(IF_MODIFIED_SINCE, &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // A change: a new body, a new ETag, a later Last-Modified; the old ETag gets the body.
    // Last-Modified counts whole seconds: the change comes a second later by the server's clock.
    app.clock.advance(chrono::TimeDelta::seconds(1));
    app.post(&per, "/api/v1/bookings", &booking(day2, "17:00", "18:00", "Kveldsmøte"))
        .await;
    let res = app.client.get(&url).header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(res.headers()[ETAG], etag.as_str());
    assert_ne!(res.headers()[LAST_MODIFIED], last_modified.as_str());
    let res = app
        .client
        .get(&url)
        .header(IF_MODIFIED_SINCE, &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("SUMMARY:Kveldsmøte"));

    // The organisation feed: its own bookings in full, others' not at all.
    let (_, org_feed) = app.post(&kari, "/api/v1/feeds", &json!({"kind": "organisation"})).await;
    let (_, _, body) = get_feed(&app, org_feed["url"].as_str().unwrap()).await;
    let checked = validators.check("organisation", &body);
    assert_eq!(
        summaries(&checked),
        HashSet::from(["Forskermøte".to_string(), "Personalsak".to_string()])
    );
    assert!(body.contains("Fortrolig") && body.contains("kari@uib.no"));
    assert_eq!(checked["calname"], "Borgertun – Universitetet i Bergen (UiB)");

    // The personal feed: one's own bookings, a pending request as tentative.
    let (_, personal) = app.post(&per, "/api/v1/feeds", &json!({"kind": "personal"})).await;
    let (_, _, body) = get_feed(&app, personal["url"].as_str().unwrap()).await;
    let checked = validators.check("personal", &body);
    let events = checked["events"].as_array().unwrap();
    let status_of = |s: &str| events.iter().find(|e| e["summary"] == s).unwrap()["status"].clone();
    assert_eq!(status_of("BEHO-forespørsel"), "TENTATIVE");
    assert_eq!(status_of("BEHO-verksted"), "CONFIRMED");
    assert_eq!(events.len(), 3);

    // Listing and revoking: only the owner; a revoked link answers like an unknown one.
    let (_, list) = app.get(&kari, "/api/v1/feeds").await;
    assert_eq!(list["feeds"].as_array().unwrap().len(), 2);
    assert!(list.to_string().find(token).is_none(), "tokens are never shown again");
    let id = room_feed["id"].as_i64().unwrap();
    let (s, _) = app.post(&per, &format!("/api/v1/feeds/{id}/revoke"), &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.post(&kari, &format!("/api/v1/feeds/{id}/revoke"), &json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, revoked) = get_feed(&app, &url).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s2, _, unknown) = get_feed(&app, &format!("{}/feeds/{}.ics", app.base, "0".repeat(64))).await;
    assert_eq!(
        (s2, &unknown),
        (StatusCode::NOT_FOUND, &revoked),
        "no hint whether a token existed"
    );
    let (s, _, _) = get_feed(&app, &format!("{}/feeds/{token}", app.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The command line makes feeds too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_borgertun"))
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
            "feed",
            "create",
            "--email",
            "per@bergen.kommune.no",
            "--kind",
            "room",
        ])
        .env("BORGERTUN_DATABASE_URL", &app.db_url)
        .env("BORGERTUN_PUBLIC_URL", &app.base)
        .env("BORGERTUN_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli_url = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(cli_url.starts_with(&format!("{}/feeds/", app.base)), "{cli_url}");
    let (s, _, body) = get_feed(&app, &cli_url).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("SUMMARY:Forskermøte"));
}

async fn booking_download_follows_visibility(b: Backend) {
    let Some(validators) = common::require(Validators::find()) else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let per = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(20);
    let mut private = booking(day, "12:00", "13:00", "Personalsak");
    private["public"] = json!(false);
    let (_, v) = app.post(&kari, "/api/v1/bookings", &private).await;
    let id = v["id"].as_i64().unwrap();
    let (_, v) = app
        .post(&per, "/api/v1/bookings", &booking(day, "12:00", "13:00", "Forespørsel"))
        .await;
    let pending = v["id"].as_i64().unwrap();

    let res = app
        .client
        .get(format!("{}/api/v1/bookings/{id}.ics", app.base))
        .bearer_auth(&kari)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("borgertun-{id}.ics")));
    let own = validators.check("own", &res.text().await.unwrap());
    assert_eq!(own["events"][0]["summary"], "Personalsak");
    assert_eq!(own["events"][0]["dtstart_local"], format!("{day}T12:00"));

    let res = app
        .client
        .get(format!("{}/api/v1/bookings/{id}.ics", app.base))
        .bearer_auth(&ola)
        .send()
        .await
        .unwrap();
    let other = res.text().await.unwrap();
    assert_eq!(validators.check("other", &other)["events"][0]["summary"], "Opptatt");
    assert!(!other.contains("kari@uib.no"));
    let res = app
        .client
        .get(format!("{}/api/v1/bookings/{pending}.ics", app.base))
        .bearer_auth(&ola)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .get(format!("{}/api/v1/bookings/{id}.ics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// A booking at 09.00 on the open days around each of the next two DST changes: the
/// invitation reads back as 09.00 Europe/Oslo in both validators.
async fn nine_oclock_invitations_across_dst_changes(b: Backend) {
    use borgertun::domain::time::TZ;
    use chrono::{Duration, Offset, TimeZone};
    let Some(validators) = common::require(Validators::find()) else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let per = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let offset = |d: chrono::NaiveDate| TZ.offset_from_utc_date(&d).fix().local_minus_utc();
    let mut day = common::today();
    let mut days = Vec::new();
    while days.len() < 4 {
        if offset(day) != offset(day + Duration::days(1)) {
            let mut before = day;
            while app.rules().closed_reason(&app.rules().rooms[0], before).is_some() {
                before -= Duration::days(1);
            }
            days.push(before);
            days.push(common::open_day(app.rules(), (day - common::today()).num_days() + 1));
        }
        day += Duration::days(1);
    }
    for d in &days {
        let (s, v) = app
            .post(&per, "/api/v1/bookings", &booking(*d, "09:00", "10:00", "Morgenmøte"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{d}: {v}");
        assert_eq!(v["start"], at(*d, "09:00"));
    }
    let outbox = app.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 4);
    for (m, d) in outbox.iter().zip(&days) {
        let checked = validators.check(&format!("dst-{d}"), m.ics.as_deref().unwrap());
        assert_eq!(checked["events"][0]["dtstart_local"], format!("{d}T09:00"), "{d}");
        assert_eq!(checked["events"][0]["dtstart_tzid"], "Europe/Oslo");
    }
}
