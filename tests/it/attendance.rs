//! Attendance afterwards: the day after an event its contact is asked, once, through the
//! outbox; events with attendance, cancelled ones and today's are not.

use std::collections::BTreeMap;

use borgertun::domain::time::{at_local, local};
use borgertun::domain::{Attendance, Role, Status};
use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};

on_both_backends!(contacts_are_asked_once_the_day_after, registering_attendance);

/// A booking written straight to the store (past events cannot be booked through the rules).
async fn stored(app: &TestApp, day: NaiveDate, from: u32, title: &str, status: Status) -> i64 {
    let t = |h: u32| at_local(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap();
    app.store_booking(
        "kari@uib.no",
        t(from),
        t(from + 1),
        title,
        status,
        Utc::now() - Duration::days(30),
    )
    .await
}

async fn contacts_are_asked_once_the_day_after(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let today = local(Utc::now()).date_naive();
    let yesterday = stored(&app, today - Duration::days(1), 10, "I går", Status::Confirmed).await;
    let last_week = stored(&app, today - Duration::days(6), 10, "Forrige uke", Status::Confirmed).await;
    let long_ago = stored(&app, today - Duration::days(20), 10, "Lenge siden", Status::Confirmed).await;
    let cancelled = stored(&app, today - Duration::days(1), 13, "Avlyst", Status::Cancelled).await;
    let registered = stored(&app, today - Duration::days(2), 10, "Registrert", Status::Confirmed).await;
    let later_today = stored(&app, today, 0, "I dag", Status::Confirmed).await;
    app.store
        .set_attendance(
            registered,
            &Attendance {
                actual: BTreeMap::from([("forskere".to_string(), 4)]),
                outcome: None,
                registered_at: Utc::now(),
                registered_by: "kari@uib.no".into(),
            },
        )
        .await
        .unwrap();
    let asked = app.app.ask_for_attendance().await.unwrap();
    let mut ids: Vec<i64> = asked.iter().map(|b| b.id).collect();
    ids.sort();
    assert_eq!(ids, vec![yesterday, last_week]);
    for id in [long_ago, cancelled, registered, later_today] {
        assert!(!ids.contains(&id));
    }
    // Asked once only.
    assert!(app.app.ask_for_attendance().await.unwrap().is_empty());
    let outbox = app.store.outbox().await.unwrap();
    let mails: Vec<_> = outbox.iter().filter(|m| m.kind == "attendance_request").collect();
    assert_eq!(mails.len(), 2);
    let m = mails.iter().find(|m| m.booking_id == Some(yesterday)).unwrap();
    assert_eq!(m.recipient, "kari@uib.no");
    assert!(m.subject.contains("Registrer oppmøte: I går"));
    assert!(m
        .body_text
        .contains(&format!("{}/bookinger/{yesterday}/oppmote", app.base)));
    // The registration is kept on the booking.
    let b = app.store.booking(registered).await.unwrap().unwrap();
    assert_eq!(b.attendance.unwrap().actual["forskere"], 4);
}

async fn registering_attendance(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("ola@hvl.no", "hvl", Role::Requester).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    let today = local(Utc::now()).date_naive();
    let past = stored(
        &app,
        today - Duration::days(3),
        10,
        "Verksted i forrige uke",
        Status::Confirmed,
    )
    .await;
    let other = stored(&app, today - Duration::days(4), 12, "Uten oppmøte", Status::Confirmed).await;
    let future = stored(&app, today + Duration::days(5), 10, "Kommer", Status::Confirmed).await;
    app.store
        .set_activity(
            past,
            &borgertun::domain::Activity {
                kind: "arbeidsverksted".into(),
                expected: BTreeMap::from([("forskere".to_string(), 6), ("ansatte".to_string(), 10)]),
                ..Default::default()
            },
            Utc::now(),
        )
        .await
        .unwrap();

    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let ours = k.get("/bookinger").await;
    assert!(
        ours.html.contains(&format!("/bookinger/{past}/oppmote")),
        "«Registrer oppmøte» from «Våre bookinger»"
    );
    let form = k.get(&format!("/bookinger/{past}/oppmote")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.html
            .contains(r#"name="faktisk-forskere" min="0" inputmode="numeric" value="6""#),
        "pre-filled with the expected numbers"
    );
    assert_eq!(
        k.get(&format!("/bookinger/{future}/oppmote")).await.status,
        StatusCode::CONFLICT
    );
    let csrf = k.csrf();
    let path = format!("/bookinger/{past}/oppmote");
    for (fields, message) in [
        (vec![("faktisk-forskere", "fem")], "ikke «fem»"),
        (vec![("faktisk-forskere", "-2")], "ikke «-2»"),
        (vec![("faktisk-forskere", "0")], "minst én deltakergruppe"),
        (vec![("faktisk-politikere", "3")], "Ukjent deltakergruppe «politikere»"),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let page = k.post(&path, &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.html.contains(message), "{message}");
    }
    let page = k.post(&path, &[("csrf", "gammel"), ("faktisk-forskere", "5")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        app.store.booking(past).await.unwrap().unwrap().attendance.is_none(),
        "nothing stored"
    );
    // Another organisation cannot.
    let mut o = Browser::new(&app);
    o.sign_in("ola@hvl.no").await;
    let oc = o.csrf();
    let page = o.post(&path, &[("csrf", &oc), ("faktisk-forskere", "5")]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    let page = k
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("faktisk-forskere", "5"),
                ("faktisk-ansatte", "14"),
                ("faktisk-studenter", ""),
                ("utbytte", "Godt samarbeid om kunnskapsbehov."),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Oppmøtet er registrert") && page.html.contains("19"));
    let a = app.store.booking(past).await.unwrap().unwrap().attendance.unwrap();
    assert_eq!(
        a.actual,
        BTreeMap::from([("ansatte".to_string(), 14), ("forskere".to_string(), 5)])
    );
    assert_eq!(
        (a.outcome.as_deref(), a.registered_by.as_str()),
        (Some("Godt samarbeid om kunnskapsbehov."), "kari@uib.no")
    );
    let show = k.get(&format!("/bookinger/{past}")).await;
    assert!(show.html.contains("Utbytte og erfaringer") && show.html.contains("Endre oppmøte"));

    // The coordinator sees which past events lack attendance.
    assert_eq!(k.get("/koordinator/oppmote").await.status, StatusCode::FORBIDDEN);
    let mut c = Browser::new(&app);
    c.sign_in("koord@beho.example").await;
    let page = c.get("/koordinator/oppmote").await;
    assert!(page.html.contains("1 arrangementer mangler oppmøte"));
    assert!(page.html.contains(&format!("/bookinger/{other}/oppmote")));
    assert!(!page.html.contains(&format!("/bookinger/{past}\"")) && !page.html.contains("Kommer"));
}
