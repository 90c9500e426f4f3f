//! The public pages: week view, «I dag i Borgertun» (today's bookings), the rules, the
//! accessibility statement — what they say, what they keep private, and the headers they carry.

use borgertun::domain::time::{format_date, monday_of};
use borgertun::domain::{OpeningHours, Role, Status};
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{self, booking, Backend, TestApp};

on_both_backends!(
    week_view_shows_busy_and_free_time_without_contact_details,
    today_page_lists_todays_bookings,
    week_view_navigates_and_refuses_bad_dates,
    rules_page_follows_the_configuration,
    pages_carry_security_headers_and_landmarks
);

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = app.client.get(format!("{}{}", app.base, path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The page's text without tags, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn week_view_shows_busy_and_free_time_without_contact_details(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let per = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let day = app.open_day(8);
    app.post(
        &kari,
        "/api/v1/bookings",
        &booking(day, "09:00", "11:00", "Forskermøte om pårørende"),
    )
    .await;
    let mut private = booking(day, "13:00", "14:00", "Personalsak");
    private["public"] = json!(false);
    private["description"] = json!("Fortrolig");
    app.post(&per, "/api/v1/bookings", &private).await;
    let (_, v) = app
        .post(&kari, "/api/v1/bookings", &booking(day, "17:00", "18:00", "Avlyst"))
        .await;
    app.post(&kari, &format!("/api/v1/bookings/{}/cancel", v["id"]), &json!({}))
        .await;

    let (s, html) = page(&app, &format!("/?dato={day}")).await;
    assert_eq!(s, StatusCode::OK);
    let t = text(&html);
    let week = day.iso_week().week();
    assert!(t.contains(&format!("Uke {week} · ")), "{t}");
    assert!(
        t.contains("Opptatt kl. 09.00–11.00 Forskermøte om pårørende Universitetet i Bergen (UiB)"),
        "{t}"
    );
    assert!(t.contains("Ledig kl. 11.15–13.00"), "free time after the buffer: {t}");
    assert!(
        t.contains("Opptatt kl. 13.00–14.00 Opptatt Byrådsavdeling for eldre, helse og omsorg (BEHO)"),
        "{t}"
    );
    assert!(
        t.contains("Ledig kl. 14.15–21.00"),
        "the cancelled booking leaves its time free: {t}"
    );
    assert!(
        !html.contains("Personalsak")
            && !html.contains("Fortrolig")
            && !html.contains("kari@uib.no")
            && !html.contains("per@bergen")
    );
    assert!(!t.contains("Avlyst"));
    let weekday = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]
        [day.weekday().num_days_from_monday() as usize];
    assert!(t.contains(&format!("{weekday} {}.", day.day())), "{t}");
}

/// «I dag i Borgertun» lists today's confirmed bookings, not another day's, and reloads
/// itself. The room is open every day here, so that today is never a closed day.
async fn today_page_lists_todays_bookings(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        let hours = (
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        );
        c.rules.rooms[0].opening_hours = OpeningHours([Some(hours); 7]);
        c.rules.closed_on_public_holidays = false;
        c.rules.closures.clear();
    })
    .await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let today = common::today();
    let t = |day, hm: &str| DateTime::parse_from_rfc3339(&common::at(day, hm)).unwrap().to_utc();
    let created = Utc::now() - Duration::days(7);
    app.store_booking(
        "kari@uib.no",
        t(today, "10:00"),
        t(today, "11:30"),
        "Dagens forskermøte",
        Status::Confirmed,
        created,
    )
    .await;
    let tomorrow = today + Duration::days(1);
    app.store_booking(
        "kari@uib.no",
        t(tomorrow, "10:00"),
        t(tomorrow, "11:30"),
        "Morgendagens seminar",
        Status::Confirmed,
        created,
    )
    .await;

    let (s, html) = page(&app, "/i-dag").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(html.matches("<h1>").count(), 1, "one main heading: {html}");
    assert!(html.contains("<h1>I dag i Borgertun</h1>"), "{html}");
    let t = text(&html);
    assert!(t.contains(&format_date(today)), "today's date: {t}");
    assert!(
        t.contains("Opptatt kl. 10.00–11.30 Dagens forskermøte Universitetet i Bergen (UiB)"),
        "today's booking: {t}"
    );
    assert!(t.contains("Ledig kl. 11.45–21.00"), "free after the buffer: {t}");
    assert!(
        !t.contains("Morgendagens seminar"),
        "tomorrow's booking is not today's: {t}"
    );
    assert!(!t.contains("Ingen bookinger i dag"), "{t}");
    assert!(html.contains(r#"<script src="/static/refresh.js" defer></script>"#));
    let (s, js) = page(&app, "/static/refresh.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(js.contains("location.reload"));
}

async fn week_view_navigates_and_refuses_bad_dates(b: Backend) {
    let app = TestApp::spawn(b).await;
    // A week with a public holiday and a weekend: 2. påskedag 2027 is Monday 29 March.
    let (s, html) = page(&app, "/?dato=2027-03-31").await;
    assert_eq!(s, StatusCode::OK);
    let t = text(&html);
    assert!(t.contains("Uke 13 · 29. mars–4. april 2027"), "{t}");
    assert!(t.contains("mandag 29. mars Stengt (2. påskedag)"), "{t}");
    assert!(!t.contains("lørdag"), "closed weekends are left out: {t}");
    assert!(
        html.contains(r#"href="/?dato=2027-03-22" rel="prev""#)
            && html.contains(r#"href="/?dato=2027-04-05" rel="next""#)
    );
    assert!(html.contains(r#"<input type="date" id="dato" name="dato" value="2027-03-31""#));
    let monday = monday_of(common::today());
    let (_, html) = page(&app, "/").await;
    assert!(text(&html).contains(&format!("Uke {} ·", monday.iso_week().week())));

    for bad in ["2027-13-01", "i-morgen", "99999-01-01"] {
        let (s, html) = page(&app, &format!("/?dato={bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            text(&html).contains("er ikke en dato. Skriv datoen som ÅÅÅÅ-MM-DD"),
            "{bad}"
        );
    }
    let (s, html) = page(&app, "/?rom=kantina").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(text(&html).contains("Det finnes ikke noe rom som heter «kantina»."));
}

async fn rules_page_follows_the_configuration(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.rules.tiers[2].horizon_days = 120;
        c.rules.protection_window_days = 10;
        c.rules.tiers[3].monthly_quota_hours = Some(8);
    })
    .await;
    let (s, html) = page(&app, "/regler").await;
    assert_eq!(s, StatusCode::OK);
    let t = text(&html);
    assert!(
        t.contains("Klyngepartnere kan booke inntil 120 dager frem i tid"),
        "{t}"
    );
    assert!(
        t.contains("Ansatte i BEHO kan booke inntil 365 dager frem i tid"),
        "{t}"
    );
    assert!(
        t.contains("Bookinger som starter innen 10 dager, kan ikke trekkes tilbake"),
        "{t}"
    );
    assert!(t.contains("høyst 8 timer per virksomhet per måned"), "{t}");
    assert!(
        t.contains("På mandager: kl. 08.00–21.00") && t.contains("Stengt på lørdager"),
        "{t}"
    );
    assert!(t.contains("Borgertun har plass til 80"), "{t}");
    assert!(t.contains("15 minutter av til rigge- og ryddetid"), "{t}");
    assert!(
        t.contains("2. påskedag: mandag 29. mars 2027") || t.contains("2. påskedag: mandag 6. april 2026"),
        "{t}"
    );
    assert!(
        t.contains("Høgskulen på Vestlandet (HVL)") && t.contains("Senter for kvalitet i legetjenester (SKIL)"),
        "{t}"
    );

    let (s, html) = page(&app, "/tilgjengelighet").await;
    assert_eq!(s, StatusCode::OK);
    assert!(text(&html).contains("WCAG 2.1"));
}

async fn pages_carry_security_headers_and_landmarks(b: Backend) {
    let app = TestApp::spawn(b).await;
    for path in ["/", "/i-dag", "/regler", "/tilgjengelighet"] {
        let res = app.client.get(format!("{}{}", app.base, path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'"),
            "{path}"
        );
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let html = res.text().await.unwrap();
        assert!(html.starts_with("<!DOCTYPE html><html lang=\"nb\">"), "{path}");
        assert!(html.contains(r##"<a class="skip" href="#innhold">Hopp til innholdet</a>"##));
        assert!(
            html.contains(r#"<main id="innhold""#) && html.contains("<nav class=\"main\" aria-label=\"Hovedmeny\">")
        );
        assert!(html.contains(r#"<a href="/tilgjengelighet">Tilgjengelighetserklæring</a>"#));
        assert_eq!(html.matches("<h1>").count(), 1, "{path}: one main heading");
    }
    let (s, css) = page(&app, "/static/borgertun.css").await;
    assert_eq!(s, StatusCode::OK);
    assert!(css.contains("focus-visible"));
}
