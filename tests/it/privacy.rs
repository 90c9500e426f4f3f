//! Personal data: the retention round anonymises what is older than
//! `privacy.retention_months` and leaves every figure of the report as it was; a person's
//! export holds everything stored about them and no secret; erasure leaves nothing of them
//! and the report as it was; the privacy page is written from the configuration and linked
//! from every page. Each on SQLite and PostgreSQL, through the server, the service layer and
//! the command line.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use borgertun::domain::time::{at_local, local};
use borgertun::domain::{Activity, Attendance, BookingTitle, FeedKind, NewBooking, Role, Status};
use borgertun::store::{self, NewMessage};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::browser::Browser;
use crate::common::{self, Backend, TestApp};

on_both_backends!(
    retention_anonymises_old_bookings_and_keeps_the_report,
    export_and_erase_a_person_and_keep_the_report,
    privacy_commands_on_the_command_line,
);

const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config");

/// Every table of the report, the event list last.
const TABLES: [&str; 10] = [
    "sammendrag",
    "measure",
    "focus_area",
    "goal_area",
    "organisation",
    "tier",
    "kind",
    "ikke-innfridd-prioritetsgruppe",
    "ikke-innfridd-virksomhet",
    "arrangementer",
];

/// The columns of the event list that hold personal data.
const PERSONAL_COLUMNS: [&str; 3] = ["Tittel", "Kontaktperson", "Utbytte og erfaringer"];

/// A small deterministic generator (the same bookings every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn pick<T: Clone>(&mut self, v: &[T]) -> T {
        v[self.next(v.len() as u64) as usize].clone()
    }
}

/// What a seeded booking has besides its times.
struct Seed<'a> {
    contact: &'a str,
    start: DateTime<Utc>,
    minutes: i64,
    title: String,
    status: Status,
    description: Option<String>,
    reason: Option<String>,
    activity: Activity,
    /// Actual participants and the outcome text, registered by the contact.
    attendance: Option<(BTreeMap<String, i64>, String)>,
    /// A message about the booking, to the contact, in the outbox.
    message: bool,
}

/// Write a booking past the rules, as the contact did it (the audit actor).
async fn seed(app: &TestApp, s: Seed<'_>) -> i64 {
    let contact = app.store.user_by_email(s.contact).await.unwrap().expect("the contact");
    let room = &app.rules().rooms[0];
    let new = NewBooking {
        room: room.key.clone(),
        start: s.start,
        end: s.start + Duration::minutes(s.minutes),
        title: BookingTitle::parse(&s.title).unwrap(),
        description: s.description.clone(),
        public: true,
        attendees: 12,
        org: contact.org.clone(),
        contact,
        activity: Some(s.activity.clone()),
    };
    let mut tx = app.store.write(&room.key).await.unwrap();
    let b = tx
        .insert(store::Insert {
            booking: &new,
            series: None,
            status: s.status,
            blocked_until: new.end + Duration::minutes(room.buffer_minutes),
            reason: s.reason.as_deref(),
            actor: s.contact,
            now: s.start - Duration::days(10),
        })
        .await
        .unwrap();
    if s.message {
        tx.enqueue(
            &NewMessage {
                kind: "confirmed",
                booking_id: Some(b.id),
                recipient: s.contact.to_string(),
                subject: format!("Bekreftet: {}", s.title),
                text: format!("Hei! Bookingen «{}» er bekreftet.", s.title),
                html: format!("<p>Hei! Bookingen «{}» er bekreftet.</p>", s.title),
                ics: None,
            },
            app.app.now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    if let Some((actual, outcome)) = s.attendance {
        app.store
            .set_attendance(
                b.id,
                &Attendance {
                    actual,
                    outcome: Some(outcome),
                    registered_at: new.end + Duration::hours(2),
                    registered_by: s.contact.to_string(),
                },
            )
            .await
            .unwrap();
    }
    b.id
}

/// A varied activity on `day`, from the shipped plan.
fn activity(app: &TestApp, rng: &mut Lcg, day: NaiveDate) -> Activity {
    let plan = &app.config.plan;
    let keys = |v: &[borgertun::domain::plan::Term]| v.iter().map(|t| t.key.clone()).collect::<Vec<_>>();
    let measures: Vec<String> = plan.measures_on(day).iter().map(|m| m.key.clone()).collect();
    let groups = keys(&plan.groups);
    let mut expected = BTreeMap::new();
    for g in &groups {
        if rng.next(2) == 0 {
            expected.insert(g.clone(), 1 + rng.next(15) as i64);
        }
    }
    let mut themes = vec![rng.pick(&keys(&plan.themes))];
    themes.dedup();
    Activity {
        kind: rng.pick(&keys(&plan.kinds)),
        themes,
        goal_areas: vec![rng.pick(&keys(&plan.goal_areas))],
        measures: if measures.is_empty() || rng.next(3) == 0 {
            vec![]
        } else {
            vec![rng.pick(&measures)]
        },
        expected,
    }
}

/// Bookings on about every third open day of `[from, to]`, for the contacts in turn, of every
/// status; about a third of the confirmed ones with attendance. Returns their ids.
async fn seed_period(app: &TestApp, contacts: &[&str], from: NaiveDate, to: NaiveDate, seed_no: u64) -> Vec<i64> {
    let rules = app.rules().clone();
    let room = &rules.rooms[0];
    let groups: Vec<String> = app.config.plan.groups.iter().map(|g| g.key.clone()).collect();
    let mut rng = Lcg(seed_no);
    let mut ids = Vec::new();
    let mut day = from;
    while day <= to {
        if rules.closed_reason(room, day).is_none() && rng.next(3) == 0 {
            let contact = contacts[ids.len() % contacts.len()];
            let status = match rng.next(10) {
                0 => Status::Rejected,
                1 => Status::Displaced,
                2 => Status::Cancelled,
                _ => Status::Confirmed,
            };
            let attendance = if status == Status::Confirmed && rng.next(3) == 0 {
                let mut actual = BTreeMap::new();
                for g in &groups {
                    if rng.next(2) == 0 {
                        actual.insert(g.clone(), 1 + rng.next(10) as i64);
                    }
                }
                Some((actual, format!("Nyttig dag, sier {contact}")))
            } else {
                None
            };
            let start = at_local(day, NaiveTime::from_hms_opt(9 + rng.next(6) as u32, 0, 0).unwrap()).unwrap();
            let id = seed(
                app,
                Seed {
                    contact,
                    start,
                    minutes: 60 + 30 * rng.next(4) as i64,
                    title: format!("Arbeidsmøte {day}"),
                    status,
                    description: Some(format!("Ring meg på 912 34 567, hilsen {contact}")),
                    reason: (status != Status::Confirmed).then(|| format!("Begrunnelse til {contact}")),
                    activity: activity(app, &mut rng, day),
                    attendance,
                    message: ids.is_empty(),
                },
            )
            .await;
            ids.push(id);
        }
        day += Duration::days(1);
    }
    ids
}

/// The report of `[from, to]` as the coordinator gets it: the JSON summary and every CSV
/// table, as bytes.
struct ReportBytes {
    json: String,
    csv: BTreeMap<&'static str, Vec<u8>>,
}

async fn report(app: &TestApp, token: &str, cookies: &str, from: NaiveDate, to: NaiveDate) -> ReportBytes {
    let res = app
        .client
        .get(format!("{}/api/v1/reports/summary?from={from}&to={to}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let json = res.text().await.unwrap();
    let mut csv = BTreeMap::new();
    for key in TABLES {
        let res = app
            .client
            .get(format!("{}/rapport.csv?fra={from}&til={to}&tabell={key}", app.base))
            .header("cookie", cookies)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{key}");
        assert!(
            res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"),
            "{key} is a CSV file"
        );
        csv.insert(key, res.bytes().await.unwrap().to_vec());
    }
    ReportBytes { json, csv }
}

/// The header and rows of a CSV table (after its byte-order mark).
fn rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).expect("a byte-order mark");
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(body);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Every byte of the report is the same, but for the personal columns of the event list.
/// Returns the event list before and after, with its header.
fn assert_same_report(before: &ReportBytes, after: &ReportBytes) -> (Vec<String>, Vec<Vec<String>>, Vec<Vec<String>>) {
    assert_eq!(before.json, after.json, "the JSON report is byte for byte the same");
    for key in TABLES.iter().filter(|k| **k != "arrangementer") {
        assert!(
            before.csv[key] == after.csv[key],
            "CSV table {key} is byte for byte the same"
        );
    }
    let (header, rows_before) = rows(&before.csv["arrangementer"]);
    let (header_after, rows_after) = rows(&after.csv["arrangementer"]);
    assert_eq!(header, header_after);
    assert_eq!(rows_before.len(), rows_after.len(), "the same events");
    for (b, a) in rows_before.iter().zip(&rows_after) {
        for (i, column) in header.iter().enumerate() {
            if !PERSONAL_COLUMNS.contains(&column.as_str()) {
                assert_eq!(b[i], a[i], "event {}: column {column} is the same", b[0]);
            }
        }
    }
    (header, rows_before, rows_after)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

async fn retention_anonymises_old_bookings_and_keeps_the_report(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Today is 1 March 2030: with 24 months, bookings that ended before 1 March 2028 are
    // anonymised.
    app.clock.set(Utc.with_ymd_and_hms(2030, 3, 1, 11, 0, 0).unwrap());
    assert_eq!(app.config.privacy.retention_months, 24, "the shipped retention");
    let token = app.user("koord@beho.example", "beho", Role::Coordinator).await;
    for (email, name, org) in [
        ("kari@uib.no", "Kari Nordmann", "uib"),
        ("ola@hvl.no", "Ola Hansen", "hvl"),
    ] {
        app.app.add_user(email, name, org, Role::Requester).await.unwrap();
    }
    let mut coordinator = Browser::new(&app);
    coordinator.sign_in("koord@beho.example").await;
    let cookies = coordinator.cookie_header();

    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let old = seed_period(&app, &["kari@uib.no", "ola@hvl.no"], d(2027, 1, 1), d(2027, 12, 31), 7).await;
    let recent = seed_period(&app, &["kari@uib.no", "ola@hvl.no"], d(2028, 3, 6), d(2028, 6, 30), 8).await;
    assert!(
        old.len() > 60 && recent.len() > 10,
        "{} old, {} recent",
        old.len(),
        recent.len()
    );
    let old_before = app.store.booking(old[0]).await.unwrap().unwrap();
    assert!(
        app.store
            .outbox()
            .await
            .unwrap()
            .iter()
            .any(|m| m.booking_id == Some(old[0])),
        "a message about the first booking"
    );
    let mut recent_before = Vec::new();
    for id in &recent {
        recent_before.push((
            app.store.booking(*id).await.unwrap().unwrap(),
            app.store.history(*id).await.unwrap(),
        ));
    }

    let year_before = report(&app, &token, &cookies, d(2027, 1, 1), d(2027, 12, 31)).await;
    let recent_report_before = report(&app, &token, &cookies, d(2028, 1, 1), d(2028, 12, 31)).await;

    let n = app.app.run_retention().await.unwrap();
    assert_eq!(
        n.bookings,
        old.len() as u64,
        "every booking of 2027, whatever its status"
    );
    assert!(n.audit_entries >= old.len() as u64);
    assert!(n.messages >= 1, "the message about an anonymised booking is deleted");

    // The report of 2027: the same, but for the event list's personal columns.
    let year_after = report(&app, &token, &cookies, d(2027, 1, 1), d(2027, 12, 31)).await;
    let (header, before_rows, after_rows) = assert_same_report(&year_before, &year_after);
    assert!(!before_rows.is_empty());
    let (title, contact, outcome) = (
        column(&header, "Tittel"),
        column(&header, "Kontaktperson"),
        column(&header, "Utbytte og erfaringer"),
    );
    assert!(before_rows.iter().all(|r| r[title].starts_with("Arbeidsmøte")));
    assert!(before_rows.iter().any(|r| r[contact] == "Kari Nordmann"));
    assert!(before_rows.iter().any(|r| r[outcome].starts_with("Nyttig dag")));
    for r in &after_rows {
        assert_eq!(
            (r[title].as_str(), r[contact].as_str(), r[outcome].as_str()),
            ("Anonymisert", "Anonymisert", ""),
            "event {}",
            r[0]
        );
    }
    // Bookings within the retention period are untouched, and so is their report.
    let recent_report_after = report(&app, &token, &cookies, d(2028, 1, 1), d(2028, 12, 31)).await;
    assert!(
        recent_report_before.json == recent_report_after.json && recent_report_before.csv == recent_report_after.csv,
        "the report of 2028 is untouched"
    );
    for (id, (booking, history)) in recent.iter().zip(&recent_before) {
        assert_eq!(&app.store.booking(*id).await.unwrap().unwrap(), booking);
        assert_eq!(&app.store.history(*id).await.unwrap(), history);
    }

    // What an anonymised booking keeps, and what it lost.
    for id in &old {
        let b = app.store.booking(*id).await.unwrap().unwrap();
        assert_eq!(
            (b.title.as_str(), b.contact_name.as_str(), b.contact_email.as_str()),
            ("Anonymisert", "Anonymisert", "")
        );
        assert_eq!((b.description.as_deref(), b.status_reason.as_deref()), (None, None));
        if let Some(a) = &b.attendance {
            assert_eq!((a.outcome.as_deref(), a.registered_by.as_str()), (None, "anonymisert"));
        }
        for e in app.store.history(*id).await.unwrap() {
            assert_eq!((e.actor.as_str(), e.reason.as_deref()), ("anonymisert", None));
        }
    }
    let old_after = app.store.booking(old[0]).await.unwrap().unwrap();
    assert_eq!(
        (
            &old_after.room,
            old_after.start,
            old_after.end,
            &old_after.org,
            old_after.status,
            old_after.attendees,
            &old_after.activity,
            old_after.attendance.as_ref().map(|a| &a.actual),
        ),
        (
            &old_before.room,
            old_before.start,
            old_before.end,
            &old_before.org,
            old_before.status,
            old_before.attendees,
            &old_before.activity,
            old_before.attendance.as_ref().map(|a| &a.actual),
        ),
        "organisation, times, status, activity and counts stay"
    );
    let outbox = app.store.outbox().await.unwrap();
    assert!(!outbox.iter().any(|m| m.booking_id.is_some_and(|id| old.contains(&id))));

    // The export of a contact no longer lists the anonymised bookings.
    let export = app.app.export_person("kari@uib.no").await.unwrap();
    assert!(export.data.bookings.iter().all(|b| recent.contains(&b.id)));
    assert!(!export.data.bookings.is_empty());

    // A second run a day later finds nothing more, and the report stays.
    app.clock.advance(Duration::days(1));
    let again = app.app.run_retention().await.unwrap();
    assert_eq!(again.bookings, 0);
    let mut coordinator = Browser::new(&app);
    coordinator.sign_in("koord@beho.example").await;
    let year_again = report(
        &app,
        &token,
        &coordinator.cookie_header(),
        d(2027, 1, 1),
        d(2027, 12, 31),
    )
    .await;
    assert!(
        year_after.json == year_again.json && year_after.csv == year_again.csv,
        "the same report"
    );
}

async fn export_and_erase_a_person_and_keep_the_report(b: Backend) {
    let app = TestApp::spawn(b).await;
    let coord = app.user("koord@beho.example", "beho", Role::Coordinator).await;
    app.app
        .add_user("kari@uib.no", "Kari Nordmann", "uib", Role::Requester)
        .await
        .unwrap();
    let (email, name) = ("per.persen@frivillig.example", "Per Persen");
    // Per asks for access from outside the organisations' domains (the coordinators are told),
    // and is then given an account.
    app.app
        .request_access(email, name, "Frivilligsentralen", Some("Hilsen Per Persen"))
        .await
        .unwrap();
    let per = app.app.add_user(email, name, "uib", Role::Requester).await.unwrap();
    let api_token = app.app.create_api_token(&per).await.unwrap();
    let (_, feed_token) = app.app.create_feed(&per, FeedKind::Personal, None).await.unwrap();
    let mut per_browser = Browser::new(&app);
    per_browser.sign_in(email).await;
    let session = per_browser.cookies["borgertun_session"].clone();

    // A past event Per was contact for, with attendance he registered; one of Kari's; and a
    // request Per sends through the API.
    let mut rng = Lcg(3);
    let past_day = local(Utc::now()).date_naive() - Duration::days(40);
    let past_day = (0..10)
        .map(|i| past_day + Duration::days(i))
        .find(|d| app.rules().closed_reason(&app.rules().rooms[0], *d).is_none())
        .unwrap();
    let groups: Vec<String> = app.config.plan.groups.iter().map(|g| g.key.clone()).collect();
    let per_past = seed(
        &app,
        Seed {
            contact: email,
            start: at_local(past_day, NaiveTime::from_hms_opt(10, 0, 0).unwrap()).unwrap(),
            minutes: 120,
            title: "Verksted med Per Persen".into(),
            status: Status::Confirmed,
            description: Some(format!("Spørsmål til {email}")),
            reason: None,
            activity: activity(&app, &mut rng, past_day),
            attendance: Some(([(groups[0].clone(), 7)].into(), "Godt oppmøte".into())),
            message: true,
        },
    )
    .await;
    let kari_past = seed(
        &app,
        Seed {
            contact: "kari@uib.no",
            start: at_local(past_day, NaiveTime::from_hms_opt(14, 0, 0).unwrap()).unwrap(),
            minutes: 60,
            title: "Karis møte".into(),
            status: Status::Confirmed,
            description: None,
            reason: None,
            activity: activity(&app, &mut rng, past_day),
            attendance: None,
            message: false,
        },
    )
    .await;
    let day = app.open_day(7);
    let (s, v) = app
        .post(
            &api_token,
            "/api/v1/bookings",
            &common::booking(day, "10:00", "12:00", "Planmøte"),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let per_future = v["id"].as_i64().expect("the booking's id");

    // The export: everything stored about Per, and no secret.
    let export = app.app.export_person(email).await.unwrap();
    let text = serde_json::to_string(&export).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["account"]["email"], email);
    assert_eq!(json["account"]["name"], name);
    let ids: Vec<i64> = json["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![per_past, per_future]);
    assert!(json["bookings"][0]["attendance"]["actual"].is_object());
    let audit = json["audit_entries"].as_array().unwrap();
    assert!(audit.iter().any(|e| e["booking_id"] == per_past) && audit.iter().any(|e| e["booking_id"] == per_future));
    assert_eq!(json["api_tokens"].as_array().unwrap().len(), 1);
    assert_eq!(json["feeds"].as_array().unwrap().len(), 1);
    assert_eq!(json["feeds"][0]["kind"], "personal");
    assert!(!json["sessions"].as_array().unwrap().is_empty());
    assert!(!json["sign_in_links"].as_array().unwrap().is_empty());
    assert_eq!(json["access_requests"][0]["org_text"], "Frivilligsentralen");
    let kinds: Vec<&str> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"login") && kinds.contains(&"confirmed"), "{kinds:?}");
    assert!(!ids.contains(&kari_past), "nothing of others");
    assert_eq!(json["contact_email"], app.config.privacy.contact_email);
    for secret in [&api_token, &feed_token, &session] {
        assert!(!text.contains(secret.as_str()), "no secret in the export");
        assert!(
            !text.contains(&borgertun::token::hash_token(secret)),
            "no hash in the export"
        );
    }
    assert!(!text.contains("token_hash"));

    // The report of the weeks around, as the coordinator sees it.
    let mut coordinator = Browser::new(&app);
    coordinator.sign_in("koord@beho.example").await;
    let cookies = coordinator.cookie_header();
    let (from, to) = (past_day - Duration::days(1), day + Duration::days(1));
    let before = report(&app, &coord, &cookies, from, to).await;
    assert!(String::from_utf8_lossy(&before.csv["arrangementer"]).contains(name));

    // Erase Per.
    let n = app.app.erase_person(email).await.unwrap();
    assert!(n.account);
    assert_eq!(n.bookings, 2);
    assert_eq!((n.api_tokens, n.feeds), (1, 1));

    // His session, token and feed stop at once.
    let (s, _) = app.get(&api_token, "/api/v1/bookings").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let page = per_browser.get("/bookinger").await;
    assert_ne!(page.status, StatusCode::OK, "signed out");
    assert!(!page.html.contains(name));
    let res = app
        .client
        .get(format!("{}/feeds/{feed_token}.ics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Nothing of him is left anywhere.
    let again = app.app.export_person(email).await.unwrap();
    assert!(again.data.is_empty(), "{:?}", again.data);
    assert!(app.store.user_by_email(email).await.unwrap().is_none());
    for b in app.store.bookings(&Default::default()).await.unwrap() {
        let all = format!("{b:?}");
        assert!(!all.contains(email) && !all.contains(name), "booking {}: {all}", b.id);
        for e in app.store.history(b.id).await.unwrap() {
            let all = format!("{e:?}");
            assert!(!all.contains(email) && !all.contains(name), "{all}");
        }
    }
    for m in app.store.outbox().await.unwrap() {
        assert_ne!(m.recipient, email);
        let all = format!("{m:?}");
        assert!(!all.contains(email) && !all.contains(name), "message {}: {all}", m.id);
    }
    for r in app.store.access_requests().await.unwrap() {
        let all = format!("{r:?}");
        assert!(!all.contains(email) && !all.contains(name), "{all}");
    }
    // The bookings stay, with their organisation, times and activity; Kari's is untouched.
    let past = app.store.booking(per_past).await.unwrap().unwrap();
    assert_eq!((past.org.as_str(), past.status), ("uib", Status::Confirmed));
    assert_eq!(past.contact_name, "Anonymisert");
    assert_eq!(past.title, "Verksted med [anonymisert]");
    assert_eq!(past.attendance.as_ref().unwrap().actual[&groups[0]], 7);
    assert!(app.store.booking(per_future).await.unwrap().is_some());
    let kari = app.store.booking(kari_past).await.unwrap().unwrap();
    assert_eq!(
        (kari.contact_name.as_str(), kari.title.as_str()),
        ("Kari Nordmann", "Karis møte")
    );

    // The report is the same, but for the personal columns of the event list.
    let after = report(&app, &coord, &cookies, from, to).await;
    let (header, _, after_rows) = assert_same_report(&before, &after);
    let contact = column(&header, "Kontaktperson");
    assert!(after_rows.iter().any(|r| r[contact] == "Anonymisert"));
    assert!(after_rows.iter().any(|r| r[contact] == "Kari Nordmann"));
    assert!(!String::from_utf8_lossy(&after.csv["arrangementer"]).contains(name));

    // Erasing again finds nothing.
    let none = app.app.erase_person(email).await.unwrap();
    assert_eq!(none, Default::default());
}

fn borgertun(args: &[&str], db_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_borgertun"))
        .args(["--config", CONFIG])
        .args(args)
        .env("BORGERTUN_LOG", "warn")
        .env("BORGERTUN_DATABASE_URL", db_url)
        .env_remove("BORGERTUN_BIND")
        .output()
        .expect("run borgertun")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn privacy_commands_on_the_command_line(b: Backend) {
    // The command line runs on the system clock: a booking that ended three years ago is
    // past the retention, one next week is not.
    let app = TestApp::spawn(b).await;
    app.app
        .add_user("kari@uib.no", "Kari Nordmann", "uib", Role::Requester)
        .await
        .unwrap();
    let old_start = Utc::now() - Duration::days(3 * 366);
    let old = app
        .store_booking(
            "kari@uib.no",
            old_start,
            old_start + Duration::hours(2),
            "Gammelt møte",
            Status::Confirmed,
            old_start - Duration::days(3),
        )
        .await;
    let day = app.open_day(7);
    let start = at_local(day, NaiveTime::from_hms_opt(10, 0, 0).unwrap()).unwrap();
    let new = app
        .store_booking(
            "kari@uib.no",
            start,
            start + Duration::hours(1),
            "Nytt møte",
            Status::Confirmed,
            Utc::now(),
        )
        .await;

    let o = borgertun(&["privacy", "run"], &app.db_url);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("1 booking(s) anonymised"), "{out}");
    assert_eq!(app.store.booking(old).await.unwrap().unwrap().title, "Anonymisert");
    assert_eq!(app.store.booking(new).await.unwrap().unwrap().title, "Nytt møte");

    let o = borgertun(&["person", "export", "--email", "Kari@UiB.no"], &app.db_url);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let json: Value = serde_json::from_str(&out).expect("JSON on standard output");
    assert_eq!(json["email"], "kari@uib.no");
    assert_eq!(json["account"]["name"], "Kari Nordmann");
    assert_eq!(json["retention_months"], 24);
    let ids: Vec<i64> = json["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![new], "the anonymised booking is no longer hers");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kari.json");
    let o = borgertun(
        &[
            "person",
            "export",
            "--email",
            "kari@uib.no",
            "--out",
            file.to_str().unwrap(),
        ],
        &app.db_url,
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["bookings"], json["bookings"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an export is readable by its owner only");
    }

    let o = borgertun(&["person", "erase", "--email", "kari@uib.no"], &app.db_url);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("erased kari@uib.no: account deleted"), "{out}");
    assert!(out.contains("contact of 1 booking(s)"), "{out}");
    assert!(app.store.user_by_email("kari@uib.no").await.unwrap().is_none());
    let b = app.store.booking(new).await.unwrap().unwrap();
    assert_eq!(
        (b.contact_name.as_str(), b.title.as_str()),
        ("Anonymisert", "Nytt møte")
    );

    let o = borgertun(&["person", "export", "--email", "kari@uib.no"], &app.db_url);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("nothing is stored about kari@uib.no"), "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert!(json["account"].is_null() && json["bookings"].as_array().unwrap().is_empty());

    let o = borgertun(&["person", "erase", "--email", "kari@uib.no"], &app.db_url);
    assert!(o.status.success());
    assert!(text(&o).0.contains("nothing changed"));

    let o = borgertun(&["person", "erase", "--email", "ikke-en-adresse"], &app.db_url);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("ikke en gyldig e-postadresse"), "{}", text(&o).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_page_is_written_from_the_configuration_and_linked_everywhere() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.privacy.retention_months = 36;
        c.privacy.controller = "Bergen kommune ved Testetaten".into();
        c.privacy.contact_email = "personvern@test.example".into();
        c.privacy.data_protection_officer = None;
    })
    .await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/personvern").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "<h1>Personvernerklæring</h1>",
        "Bergen kommune ved Testetaten er behandlingsansvarlig",
        r#"href="mailto:personvern@test.example""#,
        "36 måneder (3 år)",
        "Hva vi lagrer",
        "Hvorfor vi lagrer det",
        "Hvor lenge vi lagrer det",
        "Dine rettigheter",
        "Datatilsynet",
    ] {
        assert!(page.html.contains(text), "the privacy page lacks {text}");
    }
    assert!(!page.html.contains("Personvernombudet"), "no officer configured");
    let shipped = TestApp::spawn(Backend::Sqlite).await;
    let mut b2 = Browser::new(&shipped);
    let page = b2.get("/personvern").await;
    assert!(page.html.contains("24 måneder (2 år)") && page.html.contains("Personvernombudet i Bergen kommune"));

    // Every page's footer links to it, signed in or not, errors too.
    app.app
        .add_user("kari@uib.no", "Kari Nordmann", "uib", Role::Requester)
        .await
        .unwrap();
    let mut signed_in = Browser::new(&app);
    signed_in.sign_in("kari@uib.no").await;
    for path in [
        "/",
        "/i-dag",
        "/regler",
        "/tilgjengelighet",
        "/logg-inn",
        "/tilgang",
        "/personvern",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.html.contains(r#"href="/personvern""#),
            "{path} links to the privacy page"
        );
    }
    for (path, status) in [
        ("/bookinger", StatusCode::OK),
        ("/booking/ny", StatusCode::OK),
        ("/kalenderabonnement", StatusCode::OK),
        ("/bookinger/999999", StatusCode::NOT_FOUND),
    ] {
        let page = signed_in.get(path).await;
        assert_eq!(page.status, status, "{path}");
        assert!(
            page.html.contains(r#"href="/personvern""#),
            "{path} links to the privacy page"
        );
    }
}

#[test]
fn check_config_refuses_bad_privacy_settings() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(CONFIG).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut content = std::fs::read_to_string(&path).unwrap();
        if name == "privacy.toml" {
            content = content
                .replace("retention_months = 24", "retention_months = 0")
                .replace(
                    "contact_email = \"alrek.koordinator@bergen.kommune.no\"",
                    "contact_email = \"ingen\"",
                );
        }
        std::fs::write(dir.path().join(&name), content).unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_borgertun"))
        .args(["--config", dir.path().to_str().unwrap(), "check-config"])
        .env_remove("BORGERTUN_DATABASE_URL")
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert!(!o.status.success());
    for key in ["privacy.retention_months", "privacy.contact_email"] {
        assert!(
            err.lines().any(|l| l.contains("privacy.toml") && l.contains(key)),
            "{key} in:\n{err}"
        );
    }
    // Without the file, the defaults hold.
    std::fs::remove_file(dir.path().join("privacy.toml")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_borgertun"))
        .args(["--config", dir.path().to_str().unwrap(), "check-config"])
        .env_remove("BORGERTUN_DATABASE_URL")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
}
