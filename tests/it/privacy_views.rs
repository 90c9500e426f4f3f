//! Who sees what: a feed shows what its owner may see now; the report shows staff what the
//! view rule lets them see; a pending answer names only bookings its requester may see; no
//! CSV cell is a spreadsheet formula; granting an old access request never changes an account.

use borgertun::domain::{Role, Status, User};
use chrono::{Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{at, booking, Backend, TestApp};

on_both_backends!(
    an_organisation_feed_follows_its_owners_current_organisation,
    no_csv_cell_is_a_spreadsheet_formula,
    staff_see_other_organisations_private_events_in_the_report_as_the_view_rule_says,
    answers_name_only_bookings_the_requester_may_see,
    granting_an_old_access_request_never_changes_an_existing_account
);

async fn add_user(app: &TestApp, email: &str, name: &str, org: &str, role: Role) -> (User, String) {
    let user = app.app.add_user(email, name, org, role).await.expect("add user");
    let token = app.app.create_api_token(&user).await.expect("API token");
    (user, token)
}

/// A private booking through the API, with a description: its id.
async fn private_booking(app: &TestApp, token: &str, day: NaiveDate, from: &str, to: &str, title: &str) -> i64 {
    let mut b = booking(day, from, to, title);
    b["public"] = json!(false);
    b["description"] = json!(format!("Fortrolig: {title}"));
    let (code, v) = app.post(token, "/api/v1/bookings", &b).await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "confirmed", "{v}");
    v["id"].as_i64().unwrap()
}

async fn text(app: &TestApp, url: &str) -> (StatusCode, String) {
    let res = app.client.get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn an_organisation_feed_follows_its_owners_current_organisation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (coordinator, _) = add_user(&app, "koord@beho.example", "Koordinator", "beho", Role::Coordinator).await;
    let (ola, ola_token) = add_user(&app, "ola@hvl.no", "Ola Hvl", "hvl", Role::Requester).await;
    let (_, lise) = add_user(&app, "lise@hvl.no", "Lise Hvl", "hvl", Role::Requester).await;
    let (_, vera) = add_user(&app, "vera@vis.no", "Vera Vis", "vis", Role::Requester).await;
    let day = app.open_day(20);
    private_booking(&app, &lise, day, "09:00", "10:00", "Hemmelig HVL-møte").await;
    private_booking(&app, &vera, day, "12:00", "13:00", "Styremøte i VIS").await;

    let (code, created) = app
        .post(&ola_token, "/api/v1/feeds", &json!({ "kind": "organisation" }))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let url = created["url"].as_str().unwrap().to_string();
    let (code, before) = text(&app, &url).await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        before.contains("Hemmelig HVL-møte") && before.contains("lise@hvl.no"),
        "{before}"
    );
    assert!(!before.contains("Styremøte i VIS"), "{before}");

    // The coordinator moves Ola from HVL to VIS: the same feed now shows VIS, in full, and
    // nothing of HVL.
    app.app
        .update_user_role(&coordinator, &ola, "vis", Role::Requester)
        .await
        .unwrap();
    let (code, after) = text(&app, &url).await;
    assert_eq!(code, StatusCode::OK);
    for hvl in [
        "Hemmelig HVL-møte",
        "Fortrolig: Hemmelig HVL-møte",
        "lise@hvl.no",
        "Høgskulen på Vestlandet",
    ] {
        assert!(
            !after.contains(hvl),
            "the moved owner's feed still shows «{hvl}»:\n{after}"
        );
    }
    assert!(
        after.contains("Styremøte i VIS") && after.contains("Fortrolig: Styremøte i VIS"),
        "{after}"
    );
    assert!(
        after.contains("VIS innovasjon"),
        "named after the owner's organisation now"
    );
    // The feed's owner sees its organisation as it is now.
    let (_, feeds) = app.get(&ola_token, "/api/v1/feeds").await;
    assert_eq!(feeds["feeds"][0]["organisation"], "vis", "{feeds}");
    assert_eq!(feeds["feeds"][0]["name"], "VIS innovasjon", "{feeds}");
}

/// Every CSV of the report for `period`, by table key, as `browser` downloads it.
async fn report_csvs(browser: &mut Browser<'_>, period: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let page = browser.get(&format!("/rapport?{period}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let mut keys: Vec<String> = page
        .html
        .match_indices("tabell=")
        .map(|(i, _)| {
            page.html[i + "tabell=".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect();
    keys.dedup();
    assert!(keys.iter().any(|k| k == "arrangementer"), "{keys:?}");
    let mut out = Vec::new();
    for key in keys {
        let csv = browser.get(&format!("/rapport.csv?{period}&tabell={key}")).await;
        assert_eq!(csv.status, StatusCode::OK, "{key}");
        out.push((key, parse_csv(&csv.html)));
    }
    out
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The event list's row of the event titled `title` (as the CSV writes it), by column name.
fn event_row(rows: &[Vec<String>], id: i64) -> std::collections::BTreeMap<String, String> {
    let header = &rows[0];
    let row = rows
        .iter()
        .find(|r| r[0] == id.to_string())
        .unwrap_or_else(|| panic!("event {id} in {rows:?}"));
    header.iter().cloned().zip(row.iter().cloned()).collect()
}

fn period_of(day: NaiveDate) -> String {
    format!("fra={}&til={}", day - Duration::days(1), day + Duration::days(1))
}

async fn no_csv_cell_is_a_spreadsheet_formula(b: Backend) {
    let app = TestApp::spawn(b).await;
    add_user(&app, "koord@beho.example", "Koordinator", "beho", Role::Coordinator).await;
    let (_, evil) = add_user(&app, "eve@uib.no", "@SUM(1+1)*cmd", "uib", Role::Requester).await;
    let day = app.open_day(20);
    let title = r#"=HYPERLINK("http://evil.example/x","klikk")"#;
    let (code, v) = app
        .post(&evil, "/api/v1/bookings", &booking(day, "09:00", "10:00", title))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    for (title, from, to) in [("+47 55 00 00 00", "11:00", "12:00"), ("-1+1", "13:00", "14:00")] {
        let (code, v) = app
            .post(&evil, "/api/v1/bookings", &booking(day, from, to, title))
            .await;
        assert_eq!(code, StatusCode::CREATED, "{v}");
    }

    let mut coordinator = Browser::new(&app);
    coordinator.sign_in("koord@beho.example").await;
    let tables = report_csvs(&mut coordinator, &period_of(day)).await;
    for (key, rows) in &tables {
        for cell in rows.iter().flatten() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "table {key} has a cell a spreadsheet reads as a formula: {cell:?}"
            );
        }
    }
    let (_, events) = tables.iter().find(|(k, _)| k == "arrangementer").unwrap();
    let row = event_row(events, id);
    assert_eq!(row["Tittel"], format!("'{title}"), "the title is kept, as text");
    assert_eq!(row["Kontaktperson"], "'@SUM(1+1)*cmd");
}

async fn staff_see_other_organisations_private_events_in_the_report_as_the_view_rule_says(b: Backend) {
    let app = TestApp::spawn(b).await;
    add_user(&app, "koord@beho.example", "Koordinator", "beho", Role::Coordinator).await;
    let (_, per) = add_user(&app, "per@bergen.kommune.no", "Per Ansatt", "beho", Role::Staff).await;
    let (_, kari) = add_user(&app, "kari@uib.no", "Kari Nordmann", "uib", Role::Requester).await;
    let day = app.open_day(20);
    let uib = private_booking(&app, &kari, day, "09:00", "10:00", "Personalsak UiB").await;
    let beho = private_booking(&app, &per, day, "12:00", "13:00", "Intern BEHO-samling").await;
    let (code, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &booking(day, "15:00", "16:00", "Åpent UiB-seminar"),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let open = v["id"].as_i64().unwrap();
    let period = period_of(day);

    let mut staff = Browser::new(&app);
    staff.sign_in("per@bergen.kommune.no").await;
    let tables = report_csvs(&mut staff, &period).await;
    let (_, events) = tables.iter().find(|(k, _)| k == "arrangementer").unwrap();
    let all: String = events.iter().flatten().cloned().collect::<Vec<_>>().join("|");
    assert!(
        !all.contains("Personalsak UiB") && !all.contains("Kari Nordmann"),
        "staff see another organisation's private title or contact: {all}"
    );
    let row = event_row(events, uib);
    assert_eq!(row["Tittel"], "Privat booking");
    assert_eq!(row["Kontaktperson"], "");
    assert_eq!(row["Virksomhet"], "Universitetet i Bergen (UiB)", "{row:?}");
    let row = event_row(events, open);
    assert_eq!(row["Tittel"], "Åpent UiB-seminar", "a public title is public");
    assert_eq!(row["Kontaktperson"], "", "no contact names of other organisations");
    let row = event_row(events, beho);
    assert_eq!(row["Tittel"], "Intern BEHO-samling", "their own organisation's in full");
    assert_eq!(row["Kontaktperson"], "Per Ansatt");
    // The page and the JSON report name no event of another organisation either, and the
    // figures are the same for every reader.
    let page = staff.get(&format!("/rapport?{period}")).await;
    assert!(!page.html.contains("Personalsak UiB") && !page.html.contains("Kari Nordmann"));
    let q = format!(
        "/api/v1/reports/summary?from={}&to={}",
        day - Duration::days(1),
        day + Duration::days(1)
    );
    let (code, staff_json) = app.get(&per, &q).await;
    assert_eq!(code, StatusCode::OK);
    assert!(!staff_json.to_string().contains("Personalsak") && !staff_json.to_string().contains("Kari"));
    assert_eq!(staff_json["total"]["events"], 3, "{staff_json}");

    // The coordinator sees every event in full.
    let mut coordinator = Browser::new(&app);
    coordinator.sign_in("koord@beho.example").await;
    let tables = report_csvs(&mut coordinator, &period).await;
    let (_, events) = tables.iter().find(|(k, _)| k == "arrangementer").unwrap();
    let row = event_row(events, uib);
    assert_eq!(row["Tittel"], "Personalsak UiB");
    assert_eq!(row["Kontaktperson"], "Kari Nordmann");
    // Figures do not depend on who reads them.
    let staff_figures: Vec<_> = report_csvs(&mut staff, &period)
        .await
        .into_iter()
        .filter(|(k, _)| k != "arrangementer")
        .collect();
    let coordinator_figures: Vec<_> = tables.into_iter().filter(|(k, _)| k != "arrangementer").collect();
    assert_eq!(staff_figures, coordinator_figures);
}

async fn answers_name_only_bookings_the_requester_may_see(b: Backend) {
    let app = TestApp::spawn(b).await;
    add_user(&app, "kari@uib.no", "Kari", "uib", Role::Requester).await;
    let (_, siri) = add_user(&app, "siri@uib.no", "Siri", "uib", Role::Requester).await;
    let (_, per) = add_user(&app, "per@hvl.no", "Per", "hvl", Role::Requester).await;
    let day = app.open_day(30);
    // UiB's pending request, made earlier.
    let start = chrono::DateTime::parse_from_rfc3339(&at(day, "10:00"))
        .unwrap()
        .to_utc();
    let uib_request = app
        .store_booking(
            "kari@uib.no",
            start,
            start + Duration::hours(2),
            "UiB-forespørsel",
            Status::Pending,
            Utc::now() - Duration::days(2),
        )
        .await;

    // HVL asks for the same time: pending, competing with a request HVL may not see.
    let (code, v) = app
        .post(&per, "/api/v1/bookings", &booking(day, "10:00", "12:00", "HVL-møte"))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(
        v["conflicts"],
        json!([]),
        "another organisation's request is not named: {v}"
    );
    assert!(!v.to_string().contains(&format!("/bookings/{uib_request}")));
    let hvl_request = v["id"].as_i64().unwrap();
    let (code, _) = app.get(&per, &format!("/api/v1/bookings/{uib_request}")).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "and cannot be looked up");

    // Another UiB requester is told of UiB's own request, not of HVL's.
    let (code, v) = app
        .post(&siri, "/api/v1/bookings", &booking(day, "11:00", "12:00", "UiB-møte"))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["conflicts"], json!([uib_request]), "{v}");
    assert!(!v["conflicts"].as_array().unwrap().contains(&json!(hvl_request)));
    let siri_request = v["id"].as_i64().unwrap();

    // Moving HVL's confirmed booking into that time is refused as busy, naming only HVL's own
    // request in the way.
    let (code, v) = app
        .post(&per, "/api/v1/bookings", &booking(day, "14:00", "15:00", "HVL-seminar"))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let hvl_confirmed = v["id"].as_i64().unwrap();
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{hvl_confirmed}", app.base))
        .bearer_auth(&per)
        .json(&json!({ "start": at(day, "10:00"), "end": at(day, "12:00") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["held_by"], json!([hvl_request]), "{v}");
    assert!(!v.to_string().contains(&format!("/bookings/{siri_request}")));
}

async fn granting_an_old_access_request_never_changes_an_existing_account(b: Backend) {
    let app = TestApp::spawn(b).await;
    add_user(&app, "koord@beho.example", "Koordinator", "beho", Role::Coordinator).await;
    let address = "sjef@eksempel.example";
    // Someone asks for access for an address that has no account yet...
    app.app
        .request_access(address, "Falsk Navn", "Eksempel AS", Some("Gi meg tilgang"))
        .await
        .unwrap();
    let request = app.store.access_requests().await.unwrap()[0].clone();
    // ...and the address gets an account (an administrator) before the request is decided.
    let (admin, _) = add_user(&app, address, "Ekte Administrator", "beho", Role::Admin).await;

    let mut coordinator = Browser::new(&app);
    coordinator.sign_in("koord@beho.example").await;
    let csrf = coordinator.csrf();
    let page = coordinator
        .post(
            &format!("/koordinator/tilgang/{}", request.id),
            &[
                ("csrf", &csrf),
                ("handling", "gi"),
                ("virksomhet", "hvl"),
                ("rolle", "requester"),
                ("begrunnelse", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("har allerede en konto") && page.html.contains("Kontoen er ikke endret"),
        "the coordinator is told: {}",
        page.html
    );
    let now = app.store.user_by_email(address).await.unwrap().unwrap();
    assert_eq!(now, admin, "the account is unchanged");
    // The request is closed as «finnes fra før», and nobody is told they got access.
    let requests = app.store.access_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.decided_at.is_some()), "{requests:?}");
    let page = coordinator.get("/koordinator/brukere").await;
    assert!(page.html.contains("finnes fra før"), "{}", page.html);
    assert!(!app
        .store
        .outbox()
        .await
        .unwrap()
        .iter()
        .any(|m| m.recipient == address && m.kind == "access_granted"));
    // Granting it again is not possible: it is no longer open.
    let page = coordinator
        .post(
            &format!("/koordinator/tilgang/{}", request.id),
            &[
                ("csrf", &csrf),
                ("handling", "gi"),
                ("virksomhet", "hvl"),
                ("rolle", "requester"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(app.store.user_by_email(address).await.unwrap().unwrap(), admin);
}
