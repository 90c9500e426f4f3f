//! A signed-in user's own pages: moving a booking, calendar feeds (create, the webcal link,
//! revoke), and the rate limit on booking submissions.

use borgertun::domain::{Role, Status};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{booking, Backend, TestApp};

on_both_backends!(
    move_a_booking,
    calendar_feeds_page,
    booking_submissions_are_rate_limited
);

async fn move_a_booking(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(20);
    let (_, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &booking(day, "09:00", "10:00", "Forskermøte"),
        )
        .await;
    let id = v["id"].as_i64().unwrap();
    let (_, v) = app
        .post(&ola, "/api/v1/bookings", &booking(day, "13:00", "14:00", "HVL-kurs"))
        .await;
    let hvl = v["id"].as_i64().unwrap();

    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    assert!(k
        .get("/bookinger")
        .await
        .html
        .contains(&format!("/bookinger/{id}/flytt")));
    let form = k.get(&format!("/bookinger/{id}/flytt")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains(&format!(r#"name="dato" value="{day}""#)) && form.html.contains(r#"value="09:00""#));
    let csrf = k.csrf();
    let d = day.to_string();
    let path = format!("/bookinger/{id}/flytt");
    let before = app.snapshot().await;

    // Bad input: errors by field, nothing changes.
    let page = k
        .post(
            &path,
            &[("csrf", &csrf), ("dato", "i morgen"), ("fra", "25:00"), ("til", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Velg en dato.") && page.html.contains("Skriv når bookingen starter"));
    let page = k
        .post(
            &path,
            &[("csrf", &csrf), ("dato", &d), ("fra", "22:00"), ("til", "23:00")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.html.contains("åpningstid") || page.html.contains("Åpningstid"),
        "{}",
        page.html
    );
    // Into another's time: busy, with alternatives to move to.
    let page = k
        .post(
            &path,
            &[("csrf", &csrf), ("dato", &d), ("fra", "13:00"), ("til", "14:00")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("Bookingen er ikke flyttet") && page.html.contains("Flytt til "));
    // Stale token; another organisation's booking.
    let page = k
        .post(
            &path,
            &[("csrf", "x"), ("dato", &d), ("fra", "11:00"), ("til", "12:00")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = k
        .post(
            &format!("/bookinger/{hvl}/flytt"),
            &[("csrf", &csrf), ("dato", &d), ("fra", "15:00"), ("til", "16:00")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(
        k.get(&format!("/bookinger/{hvl}/flytt")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.snapshot().await, before, "nothing changed");

    // A free time: moved, with its history line and a new SEQUENCE.
    let page = k
        .post(
            &path,
            &[("csrf", &csrf), ("dato", &d), ("fra", "11:00"), ("til", "12:30")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Bookingen er flyttet") && page.html.contains("kl. 11.00–12.30"));
    let moved = app.store.booking(id).await.unwrap().unwrap();
    assert_eq!(moved.status, Status::Confirmed);
    assert!(borgertun::domain::time::format_range(moved.start, moved.end).contains("11.00–12.30"));
    assert!(moved.sequence > 0);
    let show = k.get(&format!("/bookinger/{id}")).await;
    assert!(show.html.contains("Flyttet fra"));
    assert!(app
        .store
        .outbox()
        .await
        .unwrap()
        .iter()
        .any(|m| m.kind == "moved" && m.booking_id == Some(id)));
    // A cancelled booking cannot be moved.
    app.post(&kari, &format!("/api/v1/bookings/{id}/cancel"), &serde_json::json!({}))
        .await;
    assert_eq!(k.get(&path).await.status, StatusCode::CONFLICT);
}

async fn calendar_feeds_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(10);
    app.post(
        &kari,
        "/api/v1/bookings",
        &booking(day, "09:00", "10:00", "Forskermøte"),
    )
    .await;

    let mut anon = Browser::new(&app);
    assert_eq!(anon.get("/kalenderabonnement").await.status, StatusCode::SEE_OTHER);
    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let page = k.get("/kalenderabonnement").await;
    assert!(page.html.contains("Du har ingen kalenderabonnement ennå."));
    let csrf = k.csrf();
    let page = k.post("/kalenderabonnement", &[("csrf", &csrf), ("type", "alt")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let user = app.store.user_by_email("kari@uib.no").await.unwrap().unwrap();
    assert!(app.store.feeds_of(user.id).await.unwrap().is_empty());
    let page = k
        .post("/kalenderabonnement", &[("csrf", "feil"), ("type", "virksomhet")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let page = k
        .post("/kalenderabonnement", &[("csrf", &csrf), ("type", "virksomhet")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Kalenderabonnementet er laget"));
    let at = page
        .html
        .find(r#"id="webcal" value="webcal://"#)
        .expect("the webcal link")
        + r#"id="webcal" value=""#.len();
    let webcal = &page.html[at..at + page.html[at..].find('"').unwrap()];
    let https = webcal.replacen("webcal://", "http://", 1);
    let feed = app.client.get(&https).send().await.unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(
        feed.text().await.unwrap().contains("SUMMARY:Forskermøte"),
        "the organisation's feed"
    );
    let feeds = app.store.feeds_of(user.id).await.unwrap();
    assert_eq!(feeds.len(), 1);
    let list = k.get("/kalenderabonnement").await;
    assert!(list.html.contains("Virksomhetens bookinger") && list.html.contains("Trekk tilbake lenken"));
    assert!(!list.html.contains(webcal), "the link is shown once");

    // Another user cannot revoke it.
    let mut o = Browser::new(&app);
    o.sign_in("ola@hvl.no").await;
    let c = o.csrf();
    let page = o
        .post(
            &format!("/kalenderabonnement/{}/trekk-tilbake", feeds[0].id),
            &[("csrf", &c)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(app.client.get(&https).send().await.unwrap().status(), StatusCode::OK);
    // Its owner can.
    let page = k
        .post(
            &format!("/kalenderabonnement/{}/trekk-tilbake", feeds[0].id),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(page.html.contains("Lenken er trukket tilbake"));
    assert_eq!(
        app.client.get(&https).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let page = k
        .post(
            &format!("/kalenderabonnement/{}/trekk-tilbake", feeds[0].id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

async fn booking_submissions_are_rate_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let csrf = k.csrf();
    let day = app.open_day(10).to_string();
    let mut limited = None;
    for i in 0..40 {
        // Invalid forms count too: each is a submission.
        let page = k
            .post(
                "/booking/ny",
                &[("csrf", &csrf), ("dato", &day), ("fra", "09:00"), ("til", "")],
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(page.html.contains("For mange forsøk") && page.html.contains("Ingenting er endret"));
            limited = Some(i);
            break;
        }
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        limited,
        Some(30),
        "thirty submissions in a row, then a friendly refusal"
    );
    // Refused before anything is read: a valid booking now changes nothing.
    let page = k
        .post(
            "/booking/ny",
            &[
                ("csrf", &csrf),
                ("dato", &day),
                ("fra", "09:00"),
                ("til", "10:00"),
                ("tittel", "Møte"),
                ("deltakere", "5"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(app.snapshot().await.is_empty());
}
