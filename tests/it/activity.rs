//! Bookings carry their activity: kind, themes, goal areas, plan measures (only of the plan in
//! force on the booking's day) and expected participants per group — through the API (POST
//! and PATCH) and the booking form, shown on the booking page. Bad activities change nothing.

use borgertun::domain::plan::{ActionPlan, Measure};
use borgertun::domain::Role;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::{booking, codes, today, Backend, TestApp};

on_both_backends!(
    api_stores_and_checks_the_activity,
    measures_follow_the_plan_in_force,
    the_form_carries_the_activity
);

fn with_activity(mut b: Value, activity: Value) -> Value {
    b["activity"] = activity;
    b
}

async fn api_stores_and_checks_the_activity(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let day = app.open_day(10);
    let activity = json!({
        "kind": "arbeidsverksted",
        "themes": ["brukermedvirkning", "parorendeinvolvering", "brukermedvirkning"],
        "goal_areas": ["samskaping"],
        "measures": ["2026-forskning-1"],
        "expected": {"forskere": 5, "ansatte": 12, "brukere-parorende": 3}
    });
    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &with_activity(booking(day, "09:00", "11:00", "Verksted"), activity),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["activity"]["kind"], "arbeidsverksted");
    assert_eq!(
        v["activity"]["themes"],
        json!(["brukermedvirkning", "parorendeinvolvering"]),
        "repeats dropped"
    );
    assert_eq!(v["activity"]["expected"]["ansatte"], 12);
    let id = v["id"].as_i64().unwrap();
    let stored = app.store.booking(id).await.unwrap().unwrap().activity.unwrap();
    assert_eq!(stored.measures, vec!["2026-forskning-1".to_string()]);

    // Every kind of bad activity: its own code, and nothing stored.
    let before = app.snapshot().await;
    for (activity, code) in [
        (json!({"kind": "fest"}), "unknown_kind"),
        (json!({"kind": "mote", "themes": ["golf"]}), "unknown_theme"),
        (json!({"kind": "mote", "goal_areas": ["vekst"]}), "unknown_goal_area"),
        (
            json!({"kind": "mote", "measures": ["2026-finnes-ikke-1"]}),
            "unknown_measure",
        ),
        (
            json!({"kind": "mote", "measures": ["2022-forskning-1"]}),
            "measure_not_in_force",
        ),
        (json!({"kind": "mote", "expected": {"politikere": 3}}), "unknown_group"),
        (json!({"kind": "mote", "expected": {"forskere": -1}}), "invalid_count"),
    ] {
        let (s, v) = app
            .post(
                &kari,
                "/api/v1/bookings",
                &with_activity(booking(day, "13:00", "14:00", "Feil"), activity.clone()),
            )
            .await;
        assert_eq!(
            (s, codes(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![code.to_string()]),
            "{activity}"
        );
    }
    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &with_activity(
                booking(day, "13:00", "14:00", "Feil"),
                json!({"kind": "mote", "tema": []}),
            ),
        )
        .await;
    assert!(s.is_client_error(), "unknown fields are refused: {v}");
    let (_, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &with_activity(
                booking(day, "13:00", "14:00", "Feil"),
                json!({"kind": "mote", "measures": ["2022-forskning-1"]}),
            ),
        )
        .await;
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("2022-forskning-1") && message.contains("2022–2023"),
        "{message}"
    );
    assert_eq!(app.snapshot().await, before, "refused activities store nothing");

    // PATCH replaces the activity; a bad one changes nothing.
    let patch = |body: Value| {
        app.client
            .patch(format!("{}/api/v1/bookings/{id}", app.base))
            .bearer_auth(&kari)
            .json(&body)
            .send()
    };
    let res = patch(json!({"activity": {"kind": "seminar", "goal_areas": ["kunnskapsdeling"]}}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["activity"]["kind"], "seminar");
    assert_eq!(
        v["start"],
        booking(day, "09:00", "11:00", "x")["start"],
        "the time is kept"
    );
    let res = patch(json!({"activity": {"kind": "seminar", "measures": ["nei"]}}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = patch(json!({})).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let now = app.store.booking(id).await.unwrap().unwrap().activity.unwrap();
    assert_eq!((now.kind.as_str(), now.goal_areas.len()), ("seminar", 1));
    // Another organisation cannot change it.
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{id}", app.base))
        .bearer_auth(&ola)
        .json(&json!({"activity": {"kind": "annet"}}))
        .send()
        .await
        .unwrap();
    assert!(res.status() == StatusCode::FORBIDDEN || res.status() == StatusCode::NOT_FOUND);
    assert_eq!(
        app.store.booking(id).await.unwrap().unwrap().activity.unwrap().kind,
        "seminar"
    );
}

async fn measures_follow_the_plan_in_force(b: Backend) {
    // The 2026–2030 plan ends in 20 days here; a new plan with its own measure follows.
    let switch = today() + Duration::days(20);
    let app = TestApp::spawn_with(b, |c| {
        let current = c.plan.plans.iter_mut().find(|p| p.key == "2026-2030").unwrap();
        current.to = switch;
        let mut next: ActionPlan = current.clone();
        next.key = "neste".into();
        next.name = "Neste handlingsplan".into();
        next.from = switch + Duration::days(1);
        next.to = switch + Duration::days(2000);
        next.measures = vec![Measure {
            key: "neste-forskning-1".into(),
            focus_area: "forskning".into(),
            name: "Nytt tiltak".into(),
            description: None,
        }];
        c.plan.plans.push(next);
    })
    .await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let before_switch = app.open_day(10);
    let after_switch = app.open_day(30);
    let act = |m: &str| json!({"kind": "mote", "measures": [m]});
    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &with_activity(
                booking(after_switch, "09:00", "10:00", "Etter"),
                act("2026-forskning-1"),
            ),
        )
        .await;
    assert_eq!(codes(&v), vec!["measure_not_in_force"], "{s} {v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Neste handlingsplan"));
    let (s, _) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &with_activity(
                booking(after_switch, "09:00", "10:00", "Etter"),
                act("neste-forskning-1"),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &with_activity(booking(before_switch, "09:00", "10:00", "Før"), act("2026-forskning-1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v["id"].as_i64().unwrap();
    // Moving it past the switch would leave a measure of a plan not in force: refused.
    let before = app.snapshot().await;
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{id}", app.base))
        .bearer_auth(&kari)
        .json(
            &booking(after_switch, "11:00", "12:00", "x")
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k == "start" || *k == "end")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<serde_json::Map<_, _>>(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = res.json().await.unwrap();
    assert_eq!(codes(&v), vec!["measure_not_in_force"]);
    assert_eq!(app.snapshot().await, before);
    // Moving it with a new activity of the new plan works.
    let mut body = booking(after_switch, "11:00", "12:00", "x");
    let body = json!({"start": body["start"].take(), "end": body["end"].take(), "activity": act("neste-forskning-1")});
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{id}", app.base))
        .bearer_auth(&kari)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let b = app.store.booking(id).await.unwrap().unwrap();
    assert_eq!(b.activity.unwrap().measures, vec!["neste-forskning-1".to_string()]);
}

async fn the_form_carries_the_activity(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let form = k.get("/booking/ny").await;
    for text in [
        "Aktivitetstype",
        "Arbeidsverksted",
        "Brukermedvirkning",
        "Samskaping",
        r#"value="2026-forskning-1""#,
        "Brukerrepresentanter og pårørende",
        r#"name="forventet-forskere""#,
    ] {
        assert!(form.html.contains(text), "the form offers {text}");
    }
    assert!(
        !form.html.contains(r#"value="2022-forskning-1""#),
        "a plan that has ended is not offered"
    );
    let csrf = k.csrf();
    let day = app.open_day(12).to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("dato", day.as_str()),
        ("fra", "09:00"),
        ("til", "11:00"),
        ("tittel", "Pårørendeverksted"),
        ("deltakere", "20"),
        ("offentlig", "ja"),
        ("aktivitet", "arbeidsverksted"),
        ("tema", "parorendeinvolvering"),
        ("tema", "brukermedvirkning"),
        ("malomrade", "samskaping"),
        ("tiltak", "2022-forskning-1"),
        ("forventet-ansatte", "12"),
        ("forventet-brukere-parorende", "tre"),
    ];
    let before = app.snapshot().await;
    let page = k.post("/booking/ny", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Skriv antall deltakere som hele tall, ikke «tre»."));
    assert!(page.html.contains(r#"id="tiltak-feil""#) && page.html.contains("hører til"));
    assert!(
        page.html.contains(r#"value="parorendeinvolvering" checked"#),
        "choices kept"
    );
    assert_eq!(app.snapshot().await, before);
    fields.retain(|(k, _)| *k != "tiltak" && *k != "forventet-brukere-parorende");
    fields.push(("tiltak", "2026-forskning-1"));
    fields.push(("forventet-brukere-parorende", "4"));
    let page = k.post("/booking/ny", &fields).await;
    assert!(page.html.contains("Bookingen er bekreftet"), "{}", page.html);
    let all = app.store.bookings(&Default::default()).await.unwrap();
    let a = all[0].activity.clone().unwrap();
    assert_eq!(a.kind, "arbeidsverksted");
    assert_eq!(
        a.themes,
        vec!["parorendeinvolvering".to_string(), "brukermedvirkning".to_string()]
    );
    assert_eq!((a.expected["ansatte"], a.expected["brukere-parorende"]), (12, 4));
    let show = k.get(&format!("/bookinger/{}", all[0].id)).await;
    for text in [
        "Arbeidsverksted",
        "Pårørendeinvolvering, Brukermedvirkning",
        "Samskaping",
        "Ansatte i kommunen: 12",
    ] {
        assert!(show.html.contains(text), "the booking page shows {text}");
    }
}
