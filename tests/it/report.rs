//! The report over a realistic year: organisations of every tier, every activity kind, refused
//! and taken-back requests, attendance for some events. Every figure is computed again here,
//! from what the test wrote, and compared with the JSON API and the page; every CSV table is
//! compared with the page's table.

use std::collections::{BTreeMap, BTreeSet};

use borgertun::domain::time::{at_local, local};
use borgertun::domain::{Activity, Attendance, BookingTitle, NewBooking, Role, Status};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::browser::Browser;
use crate::common::{self, Backend, TestApp};

on_both_backends!(a_year_of_bookings_adds_up, reports_are_for_staff_and_coordinators);

/// A small deterministic generator (the same year every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.next(v.len() as u64) as usize]
    }
    /// Counts from 1 to `max` for about half of `groups`.
    fn counts(&mut self, groups: &[String], max: u64) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for g in groups {
            if self.next(2) == 0 {
                out.insert(g.clone(), 1 + self.next(max) as i64);
            }
        }
        out
    }
    fn some<T: Clone>(&mut self, v: &[T], max: u64) -> Vec<T> {
        let n = self.next(max + 1);
        let mut out: Vec<T> = Vec::new();
        for _ in 0..n {
            out.push(self.pick(v).clone());
        }
        out
    }
}

/// What the test wrote, to compute the figures from.
#[derive(Debug, Clone)]
struct Written {
    start: chrono::DateTime<Utc>,
    minutes: i64,
    org: String,
    status: Status,
    activity: Activity,
    actual: Option<BTreeMap<String, i64>>,
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|k| seen.insert(k.clone())).collect()
}

async fn write_year(app: &TestApp, year: i32) -> Vec<Written> {
    let rules = app.rules().clone();
    let plan = app.config.plan.clone();
    // Three organisations of every tier, each with a contact.
    let mut orgs = Vec::new();
    for t in &rules.tiers {
        for o in rules.organisations.iter().filter(|o| o.tier == t.key).take(3) {
            let email = format!("kontakt@{}.example", o.key);
            app.store
                .add_user(
                    &email,
                    &format!("Kontakt {}", o.key),
                    &o.key,
                    Role::Requester,
                    Utc::now(),
                )
                .await
                .unwrap();
            orgs.push(o.key.clone());
        }
    }
    let kinds: Vec<String> = plan.kinds.iter().map(|t| t.key.clone()).collect();
    let themes: Vec<String> = plan.themes.iter().map(|t| t.key.clone()).collect();
    let goals: Vec<String> = plan.goal_areas.iter().map(|t| t.key.clone()).collect();
    let groups: Vec<String> = plan.groups.iter().map(|t| t.key.clone()).collect();
    let room = &rules.rooms[0];
    let mut rng = Lcg(2026);
    let mut written = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    let mut n = 0usize;
    while day.year() == year {
        if rules.closed_reason(room, day).is_none() && rng.next(3) == 0 {
            // One to three bookings a day, apart: 09–11, 12–14, 15–16:30.
            for (h, m, minutes) in [(9, 0, 120), (12, 0, 120), (15, 0, 90)]
                .into_iter()
                .take(1 + rng.next(3) as usize)
            {
                let start = at_local(day, NaiveTime::from_hms_opt(h, m, 0).unwrap()).unwrap();
                let measures_here: Vec<String> = plan.measures_on(day).iter().map(|m| m.key.clone()).collect();
                // Every kind appears: the first ones in order, then at random.
                let kind = if n < kinds.len() {
                    kinds[n].clone()
                } else {
                    rng.pick(&kinds).clone()
                };
                let activity = Activity {
                    kind,
                    themes: dedup(rng.some(&themes, 3)),
                    goal_areas: dedup(rng.some(&goals, 2)),
                    measures: dedup(rng.some(&measures_here, 2)),
                    expected: rng.counts(&groups, 20),
                };
                let status = match rng.next(20) {
                    0 => Status::Rejected,
                    1 => Status::Displaced,
                    2 => Status::Cancelled,
                    _ => Status::Confirmed,
                };
                let actual = (status == Status::Confirmed && rng.next(3) == 0).then(|| rng.counts(&groups, 15));
                let org = rng.pick(&orgs).clone();
                written.push(Written {
                    start,
                    minutes: minutes as i64,
                    org,
                    status,
                    activity,
                    actual,
                });
                n += 1;
            }
        }
        day += Duration::days(1);
    }
    for w in &written {
        let contact = app
            .store
            .user_by_email(&format!("kontakt@{}.example", w.org))
            .await
            .unwrap()
            .unwrap();
        let new = NewBooking {
            room: room.key.clone(),
            start: w.start,
            end: w.start + Duration::minutes(w.minutes),
            title: BookingTitle::parse(&format!("Arrangement {}", w.start.timestamp())).unwrap(),
            description: None,
            public: true,
            attendees: 20,
            org: w.org.clone(),
            contact,
            activity: Some(w.activity.clone()),
        };
        let mut tx = app.store.write(&room.key).await.unwrap();
        let b = tx
            .insert(borgertun::store::Insert {
                booking: &new,
                series: None,
                status: w.status,
                blocked_until: new.end + Duration::minutes(room.buffer_minutes),
                reason: None,
                actor: "test",
                now: Utc::now(),
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if let Some(actual) = &w.actual {
            app.store
                .set_attendance(
                    b.id,
                    &Attendance {
                        actual: actual.clone(),
                        outcome: Some("Godt utbytte".into()),
                        registered_at: Utc::now(),
                        registered_by: "test".into(),
                    },
                )
                .await
                .unwrap();
        }
    }
    written
}

/// The figures of `events`, computed here.
#[derive(Debug, Default, PartialEq)]
struct Expect {
    events: i64,
    minutes: i64,
    expected: BTreeMap<String, i64>,
    actual: BTreeMap<String, i64>,
    with_attendance: i64,
    three: i64,
}

fn expect<'a>(events: impl Iterator<Item = &'a Written>) -> Expect {
    let mut e = Expect::default();
    for w in events {
        e.events += 1;
        e.minutes += w.minutes;
        for (g, n) in &w.activity.expected {
            *e.expected.entry(g.clone()).or_default() += n;
        }
        if let Some(a) = &w.actual {
            e.with_attendance += 1;
            for (g, n) in a {
                *e.actual.entry(g.clone()).or_default() += n;
            }
        }
        let groups = w
            .actual
            .as_ref()
            .unwrap_or(&w.activity.expected)
            .values()
            .filter(|n| **n > 0)
            .count();
        if groups >= 3 {
            e.three += 1;
        }
    }
    e
}

fn check_figures(json: &Value, e: &Expect, what: &str) {
    let map = |v: &Value| -> BTreeMap<String, i64> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
            .collect()
    };
    assert_eq!(json["events"].as_i64().unwrap(), e.events, "{what}: events");
    assert!(
        (json["hours"].as_f64().unwrap() - e.minutes as f64 / 60.0).abs() < 1e-9,
        "{what}: hours"
    );
    assert_eq!(map(&json["expected"]), e.expected, "{what}: expected");
    assert_eq!(map(&json["actual"]), e.actual, "{what}: actual");
    assert_eq!(
        json["with_attendance"].as_i64().unwrap(),
        e.with_attendance,
        "{what}: with attendance"
    );
    assert_eq!(
        json["three_or_more_groups"].as_i64().unwrap(),
        e.three,
        "{what}: three groups"
    );
}

/// The cells of the page's table with `caption`, row by row.
fn page_table(html: &str, caption: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<caption>{caption}</caption>"))
        .unwrap_or_else(|| panic!("table {caption}"));
    let end = html[start..].find("</table>").unwrap() + start;
    let mut rows = Vec::new();
    for tr in html[start..end].split("<tr>").skip(1) {
        let mut cells = Vec::new();
        let mut rest = tr;
        while let Some(i) = rest.find("<t") {
            let after = &rest[i..];
            if !(after.starts_with("<th") || after.starts_with("<td")) {
                rest = &after[2..];
                continue;
            }
            let open_end = after.find('>').unwrap() + 1;
            let close = after.find("</t").unwrap();
            cells.push(after[open_end..close].replace("&amp;", "&").replace("&quot;", "\""));
            rest = &after[close + 4..];
        }
        rows.push(cells);
    }
    rows
}

async fn a_year_of_bookings_adds_up(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.user("leder@beho.example", "beho", Role::Staff).await;
    let year = 2026;
    let written = write_year(&app, year).await;
    let rules = app.rules().clone();
    let plan = app.config.plan.clone();
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap();
    let in_year = |w: &&Written| local(w.start).year() == year;
    let events: Vec<&Written> = written
        .iter()
        .filter(in_year)
        .filter(|w| w.status == Status::Confirmed)
        .collect();
    assert!(events.len() > 100, "a realistic year: {} events", events.len());
    for k in &plan.kinds {
        assert!(events.iter().any(|w| w.activity.kind == k.key) || written.iter().any(|w| w.activity.kind == k.key));
    }

    let (s, v) = app
        .get(&token, &format!("/api/v1/reports/summary?from={from}&to={to}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let total = expect(events.iter().copied());
    check_figures(&v["total"], &total, "total");

    // Utilisation: booked of open hours.
    let mut open = 0i64;
    let mut d = from;
    while d <= to {
        if rules.closed_reason(&rules.rooms[0], d).is_none() {
            let (a, b) = rules.rooms[0].opening_hours.on(d.weekday()).unwrap();
            open += (b - a).num_minutes();
        }
        d += Duration::days(1);
    }
    assert!((v["open_hours"].as_f64().unwrap() - open as f64 / 60.0).abs() < 1e-9);
    let share = |minutes: i64| minutes as f64 / open as f64;
    assert!((v["utilisation"].as_f64().unwrap() - share(total.minutes)).abs() < 1e-9);
    assert!((v["total"]["utilisation"].as_f64().unwrap() - share(total.minutes)).abs() < 1e-9);
    assert!(share(total.minutes) > 0.0);

    // Per measure, focus area, goal area, organisation, tier and kind.
    let rows = |by: &str| -> BTreeMap<String, Value> {
        v["groupings"][by]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].as_str().unwrap().to_string(), r["figures"].clone()))
            .collect()
    };
    type KeysOf = Box<dyn Fn(&Written) -> Vec<String>>;
    let plan2 = plan.clone();
    let rules2 = rules.clone();
    let groupings: Vec<(&str, KeysOf)> = vec![
        ("measure", Box::new(|w: &Written| w.activity.measures.clone())),
        (
            "focus_area",
            Box::new(move |w: &Written| {
                let set: BTreeSet<String> = w
                    .activity
                    .measures
                    .iter()
                    .map(|m| plan2.measure(m).unwrap().1.focus_area.clone())
                    .collect();
                set.into_iter().collect()
            }),
        ),
        ("goal_area", Box::new(|w: &Written| w.activity.goal_areas.clone())),
        ("organisation", Box::new(|w: &Written| vec![w.org.clone()])),
        (
            "tier",
            Box::new(move |w: &Written| vec![rules2.tier_of_org(&w.org).unwrap().key.clone()]),
        ),
        ("kind", Box::new(|w: &Written| vec![w.activity.kind.clone()])),
    ];
    for (by, keys_of) in &groupings {
        let got = rows(by);
        let mut keys: BTreeSet<String> = BTreeSet::new();
        for w in &events {
            let k = keys_of(w);
            keys.extend(if k.is_empty() { vec![String::new()] } else { k });
        }
        for key in &keys {
            let e = expect(events.iter().copied().filter(|w| {
                let k = keys_of(w);
                if key.is_empty() {
                    k.is_empty()
                } else {
                    k.contains(key)
                }
            }));
            let row = got.get(key).unwrap_or_else(|| panic!("{by} row {key:?}"));
            check_figures(row, &e, &format!("{by} {key}"));
            assert!(
                (row["utilisation"].as_f64().unwrap() - share(e.minutes)).abs() < 1e-9,
                "{by} {key}: share of the open hours"
            );
        }
        for (key, f) in &got {
            if !keys.contains(key) {
                assert_eq!(f["events"], 0, "{by} {key} has no events");
            }
        }
    }

    // Unmet demand by tier and organisation.
    let unmet: Vec<&Written> = written
        .iter()
        .filter(in_year)
        .filter(|w| matches!(w.status, Status::Rejected | Status::Displaced))
        .collect();
    let count =
        |f: &dyn Fn(&Written) -> bool, st: Status| unmet.iter().filter(|w| w.status == st && f(w)).count() as i64;
    assert_eq!(
        v["unmet"]["total"]["rejected"].as_i64().unwrap(),
        count(&|_| true, Status::Rejected)
    );
    assert_eq!(
        v["unmet"]["total"]["displaced"].as_i64().unwrap(),
        count(&|_| true, Status::Displaced)
    );
    assert!(count(&|_| true, Status::Rejected) > 0 && count(&|_| true, Status::Displaced) > 0);
    for row in v["unmet"]["by_tier"].as_array().unwrap() {
        let tier = row["key"].as_str().unwrap().to_string();
        let of = |w: &Written| rules.tier_of_org(&w.org).unwrap().key == tier;
        assert_eq!(
            row["unmet"]["rejected"].as_i64().unwrap(),
            count(&of, Status::Rejected),
            "{tier}"
        );
        assert_eq!(
            row["unmet"]["displaced"].as_i64().unwrap(),
            count(&of, Status::Displaced),
            "{tier}"
        );
    }
    for row in v["unmet"]["by_organisation"].as_array().unwrap() {
        let org = row["key"].as_str().unwrap().to_string();
        let of = |w: &Written| w.org == org;
        assert_eq!(
            row["unmet"]["rejected"].as_i64().unwrap(),
            count(&of, Status::Rejected),
            "{org}"
        );
        assert_eq!(
            row["unmet"]["displaced"].as_i64().unwrap(),
            count(&of, Status::Displaced),
            "{org}"
        );
    }

    // The page shows the same figures, and every CSV table is the page's table.
    app.store
        .add_user("leder2@beho.example", "Leder", "beho", Role::Staff, Utc::now())
        .await
        .unwrap();
    let mut staff = Browser::new(&app);
    staff.sign_in("leder2@beho.example").await;
    let page = staff.get(&format!("/rapport?fra={from}&til={to}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Rapport til kommunaldirektørens ledergruppe"));
    assert!(page
        .html
        .contains(&format!("<strong>{}</strong> arrangementer", total.events)));
    assert!(
        page.html.contains(r#"role="img""#) && page.html.contains("<svg"),
        "charts"
    );
    for (key, caption) in [
        ("sammendrag", "Sammendrag"),
        ("measure", "Per tiltak"),
        ("focus_area", "Per satsingsområde"),
        ("goal_area", "Per målområde"),
        ("organisation", "Per virksomhet"),
        ("tier", "Per prioritetsgruppe"),
        ("kind", "Per aktivitetstype"),
        (
            "ikke-innfridd-prioritetsgruppe",
            "Ikke innfridde forespørsler per prioritetsgruppe",
        ),
        ("ikke-innfridd-virksomhet", "Ikke innfridde forespørsler per virksomhet"),
    ] {
        let res = app
            .client
            .get(format!("{}/rapport.csv?fra={from}&til={to}&tabell={key}", app.base))
            .header("cookie", staff.cookie_header())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let body = res.bytes().await.unwrap();
        let body = body.strip_prefix(&[0xEF, 0xBB, 0xBF]).expect("a byte-order mark");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .from_reader(body);
        let csv_rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(csv_rows, page_table(&page.html, caption), "CSV {key} equals the page");
    }
    // The event list: one row per event with every activity field.
    let res = app
        .client
        .get(format!(
            "{}/rapport.csv?fra={from}&til={to}&tabell=arrangementer",
            app.base
        ))
        .header("cookie", staff.cookie_header())
        .send()
        .await
        .unwrap();
    let body = res.bytes().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&body[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    for h in [
        "Aktivitetstype",
        "Tema",
        "Målområder",
        "Tiltak",
        "Satsingsområder",
        "Forventet: Forskere",
        "Faktisk: Forskere",
    ] {
        assert!(header.contains(&h.to_string()), "{h}");
    }
    assert_eq!(reader.records().count(), events.len());
}

async fn reports_are_for_staff_and_coordinators(b: Backend) {
    let app = TestApp::spawn(b).await;
    let requester = app.user("kari@uib.no", "uib", Role::Requester).await;
    let coord = app.user("koord@beho.example", "beho", Role::Coordinator).await;
    let (s, _) = app.get(&requester, "/api/v1/reports/summary").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.get(&coord, "/api/v1/reports/summary").await;
    assert_eq!(s, StatusCode::OK, "the current tertial by default");
    assert_eq!(v["total"]["events"], 0);
    let (s, v) = app
        .get(&coord, "/api/v1/reports/summary?from=2026-13-01&to=2026-01-01")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .get(&coord, "/api/v1/reports/summary?from=2026-05-01&to=2026-01-01")
        .await;
    assert_eq!(
        (s, common::codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["end_before_start".to_string()])
    );
    let (s, v) = app.get(&coord, "/api/v1/reports/summary?group_by=planet").await;
    assert_eq!(
        (s, common::codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["unknown_group_by".to_string()])
    );
    let (s, v) = app
        .get(
            &coord,
            "/api/v1/reports/summary?from=2026-01-01&to=2026-12-31&group_by=tier",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["groupings"]["tier"].is_array() && v["groupings"].get("measure").is_none());

    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    assert!(!k.get("/").await.html.contains(r#"href="/rapport""#));
    assert_eq!(k.get("/rapport").await.status, StatusCode::FORBIDDEN);
    assert_eq!(k.get("/rapport.csv").await.status, StatusCode::FORBIDDEN);
    let mut c = Browser::new(&app);
    c.sign_in("koord@beho.example").await;
    assert!(c.get("/").await.html.contains(r#"href="/rapport""#));
    let page = c.get("/rapport").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["1. tertial", "Året", "Planperioden", "Ikke innfridde forespørsler"] {
        assert!(page.html.contains(text), "{text}");
    }
    assert_eq!(
        c.get("/rapport?fra=i-går").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.get("/rapport.csv?tabell=hemmelig").await.status,
        StatusCode::NOT_FOUND
    );
}
