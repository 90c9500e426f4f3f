//! The week view kept for anonymous visitors: an `ETag`, `304` for a conditional request that
//! names it, a new page (and tag) as soon as a booking changes, also one written by another
//! process, and never a kept page for a signed-in visitor.

use std::time::Duration as StdDuration;

use borgertun::domain::{Role, Status};
use borgertun::store::Insert;
use chrono::{Duration, NaiveTime, Utc};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{self, booking, Backend, TestApp};

on_both_backends!(
    week_view_has_an_etag_answers_304_and_changes_with_a_booking,
    a_booking_written_by_another_process_shows_within_the_recheck,
    signed_in_visitors_never_get_a_kept_page
);

struct Answer {
    status: StatusCode,
    etag: Option<String>,
    cache_control: String,
    body: String,
}

async fn get(app: &TestApp, path: &str, if_none_match: Option<&str>) -> Answer {
    let mut req = app.client.get(format!("{}{path}", app.base));
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let (status, etag, cache_control) = (
        res.status(),
        header("etag"),
        header("cache-control").unwrap_or_default(),
    );
    Answer {
        status,
        etag,
        cache_control,
        body: res.text().await.unwrap(),
    }
}

async fn week_view_has_an_etag_answers_304_and_changes_with_a_booking(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.user("kari@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(21);
    let path = format!("/?dato={day}");

    let first = get(&app, &path, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.etag.clone().expect("the week view has an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong tag: {etag}");
    assert!(first.cache_control.contains("no-cache"), "{}", first.cache_control);
    assert!(!first.body.contains("Kafémøte om velferdsteknologi"));

    let again = get(&app, &path, None).await;
    assert_eq!(
        again.etag.as_deref(),
        Some(etag.as_str()),
        "unchanged bookings, the same tag"
    );
    assert_eq!(again.body, first.body);

    let not_modified = get(&app, &path, Some(&etag)).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.etag.as_deref(), Some(etag.as_str()));

    // Another week has its own page and tag.
    let other = get(&app, &format!("/?dato={}", day + Duration::days(7)), Some(&etag)).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_ne!(other.etag.as_deref(), Some(etag.as_str()));

    let (s, v) = app
        .post(
            &token,
            "/api/v1/bookings",
            &booking(day, "10:00", "12:00", "Kafémøte om velferdsteknologi"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let changed = get(&app, &path, Some(&etag)).await;
    assert_eq!(
        changed.status,
        StatusCode::OK,
        "a booking changed: the old tag no longer matches"
    );
    let new_etag = changed.etag.clone().expect("ETag");
    assert_ne!(new_etag, etag);
    assert!(
        changed.body.contains("Kafémøte om velferdsteknologi"),
        "the new booking is shown at once"
    );

    // Cancelled: gone from the page, with yet another tag.
    let id = v["id"].as_i64().expect("booking id");
    let (s, v) = app
        .post(
            &token,
            &format!("/api/v1/bookings/{id}/cancel"),
            &serde_json::json!({ "reason": "Flyttet." }),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let cancelled = get(&app, &path, Some(&new_etag)).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert!(!cancelled.body.contains("Kafémøte om velferdsteknologi"));
    assert_ne!(cancelled.etag.as_deref(), Some(new_etag.as_str()));
    // The tag follows the content: the week looks as it did before the booking, and so does
    // its tag (a client holding it may keep its copy).
    assert_eq!(cancelled.body, first.body);
    assert_eq!(cancelled.etag.as_deref(), Some(etag.as_str()));
}

async fn a_booking_written_by_another_process_shows_within_the_recheck(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ola@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(21);
    let path = format!("/?dato={day}");
    let before = get(&app, &path, None).await;
    let etag = before.etag.clone().expect("ETag");

    // A second store on the same database, as another instance or a command would open it:
    // its writes do not raise this server's version.
    let other = borgertun::store::connect(&app.db_url, 2).await.unwrap();
    let contact = other.user_by_email("ola@bergen.kommune.no").await.unwrap().unwrap();
    let room = app.rules().rooms[0].clone();
    let start = borgertun::domain::time::at_local(day, NaiveTime::from_hms_opt(13, 0, 0).unwrap()).unwrap();
    let new = borgertun::domain::NewBooking {
        room: room.key.clone(),
        start,
        end: start + Duration::hours(1),
        title: borgertun::domain::BookingTitle::parse("Fagdag fra en annen prosess").unwrap(),
        description: None,
        public: true,
        attendees: 10,
        org: contact.org.clone(),
        contact,
        activity: None,
    };
    let mut tx = other.write(&room.key).await.unwrap();
    tx.insert(Insert {
        booking: &new,
        series: None,
        status: Status::Confirmed,
        blocked_until: new.end + Duration::minutes(room.buffer_minutes),
        reason: None,
        actor: "test",
        now: Utc::now(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    tokio::time::sleep(borgertun::service::RECHECK + StdDuration::from_millis(200)).await;
    let after = get(&app, &path, Some(&etag)).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "checked against the database after {:?}",
        borgertun::service::RECHECK
    );
    assert!(after.body.contains("Fagdag fra en annen prosess"));
    assert_ne!(after.etag.as_deref(), Some(etag.as_str()));
}

async fn signed_in_visitors_never_get_a_kept_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("anne@bergen.kommune.no", "beho", Role::Staff).await;
    app.user("bjorn@uib.no", "uib", Role::Requester).await;
    let day = common::open_day(app.rules(), 21);
    let path = format!("/?dato={day}");

    // The kept page exists (an anonymous visitor asked first).
    let anonymous = get(&app, &path, None).await;
    let etag = anonymous.etag.clone().expect("ETag");
    assert!(anonymous.body.contains("Logg inn"));

    let mut anne = Browser::new(&app);
    anne.sign_in("anne@bergen.kommune.no").await;
    let mut bjorn = Browser::new(&app);
    bjorn.sign_in("bjorn@uib.no").await;

    for _ in 0..2 {
        let page = anne.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html.contains("Logget inn som Navn anne@bergen.kommune.no"));
        assert!(!page.html.contains("bjorn@uib.no"));
        assert!(
            page.headers.get("etag").is_none(),
            "a signed-in page is never kept nor tagged"
        );
        let anne_csrf = anne.csrf();

        let page = bjorn.get(&path).await;
        assert!(page.html.contains("Logget inn som Navn bjorn@uib.no"));
        assert!(!page.html.contains("anne@bergen.kommune.no"));
        assert!(
            !page.html.contains(&anne_csrf),
            "never another session's anti-forgery token"
        );
        assert!(page.headers.get("etag").is_none());
    }

    // The anonymous tag does not answer a signed-in visitor with 304.
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .header("cookie", anne.cookie_header())
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Logget inn som Navn anne"));

    // And the anonymous page never carries anyone's name or form token.
    let anonymous = get(&app, &path, None).await;
    assert!(!anonymous.body.contains("Logget inn som"));
    assert!(!anonymous.body.contains(&anne.csrf()));
    assert!(!anonymous.body.contains(&bjorn.csrf()));
    assert!(
        !anonymous.body.contains("name=\"csrf\""),
        "the kept page has no token at all"
    );
    assert_eq!(anonymous.etag.as_deref(), Some(etag.as_str()));
}
