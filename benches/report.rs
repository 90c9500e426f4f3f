//! Report benchmark (plain binary): `cargo bench --bench report`.
//!
//! Seeds a real SQLite file database with five years of bookings (the plan period 2026–2030,
//! eight a day on every open day: about 10,000), each with an activity and a third with
//! attendance, and some refused and taken back; then times the report over the whole period:
//! the page `GET /rapport?fra=2026-01-01&til=2030-12-31` (signed in) and the JSON
//! `GET /api/v1/reports/summary`, over HTTP on loopback. `BENCH_DATABASE_URL` points at an
//! empty PostgreSQL database to measure that backend instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use borgertun::clock::SystemClock;
use borgertun::domain::time::at_local;
use borgertun::domain::{Activity, Attendance, BookingTitle, NewBooking, Role, Status};
use borgertun::service::App;
use borgertun::store::Insert;
use borgertun::web::{self, AppState};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};

mod common;

use common::{AnyResult, Setup};

fn main() -> AnyResult<()> {
    common::block_on(run())
}

async fn run() -> AnyResult<()> {
    let Setup { dir: _dir, cfg, store } = common::setup("report.db").await?;
    let now = Utc::now();
    let user = store
        .add_user("leder@bergen.kommune.no", "Leder", "beho", Role::Staff, now)
        .await?;
    let room = cfg.rules.room("borgertun").ok_or("no room")?.clone();
    let plan = cfg.plan.clone();
    let rules = cfg.rules.clone();
    let orgs: Vec<String> = cfg.rules.organisations.iter().map(|o| o.key.clone()).collect();
    let groups: Vec<String> = plan.groups.iter().map(|g| g.key.clone()).collect();
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?,
        NaiveDate::from_ymd_opt(2030, 12, 31).ok_or("date")?,
    );
    let mut count = 0usize;
    let mut attended = Vec::new();
    let mut day = from;
    let mut tx = store.write("borgertun").await?;
    while day <= to {
        if cfg.rules.closed_reason(&room, day).is_none() {
            let measures = plan.measures_on(day);
            for slot in 0..8 {
                let start = at_local(day, NaiveTime::from_hms_opt(8, 0, 0).ok_or("time")?).ok_or("time")?
                    + Duration::minutes(75 * slot);
                let activity = Activity {
                    kind: plan.kinds[count % plan.kinds.len()].key.clone(),
                    themes: vec![plan.themes[count % plan.themes.len()].key.clone()],
                    goal_areas: vec![plan.goal_areas[count % plan.goal_areas.len()].key.clone()],
                    measures: measures.iter().skip(count % 5).take(2).map(|m| m.key.clone()).collect(),
                    expected: groups
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !(count + i).is_multiple_of(3))
                        .map(|(i, g)| (g.clone(), (2 + (count + i) % 9) as i64))
                        .collect(),
                };
                let nb = NewBooking {
                    room: "borgertun".into(),
                    start,
                    end: start + Duration::minutes(60),
                    title: BookingTitle::parse(&format!("Arrangement {count}"))?,
                    description: None,
                    public: slot % 3 != 0,
                    attendees: 20,
                    org: orgs[count % orgs.len()].clone(),
                    contact: user.clone(),
                    activity: Some(activity),
                };
                let status = match count % 25 {
                    0 => Status::Rejected,
                    1 => Status::Displaced,
                    _ => Status::Confirmed,
                };
                let b = tx
                    .insert(Insert {
                        booking: &nb,
                        series: None,
                        status,
                        blocked_until: nb.end + Duration::minutes(15),
                        reason: None,
                        actor: "bench",
                        now,
                    })
                    .await?;
                if status == Status::Confirmed && count.is_multiple_of(3) {
                    attended.push(b.id);
                }
                count += 1;
            }
        }
        day += Duration::days(1);
    }
    tx.commit().await?;
    for (i, id) in attended.iter().enumerate() {
        let actual: BTreeMap<String, i64> = groups.iter().take(1 + i % 4).map(|g| (g.clone(), 3)).collect();
        store
            .set_attendance(
                *id,
                &Attendance {
                    actual,
                    outcome: Some("Godt utbytte".into()),
                    registered_at: now,
                    registered_by: "bench".into(),
                },
            )
            .await?;
    }
    let (session, hash) = borgertun::token::new_secret();
    store
        .add_session(user.id, &hash, now, now + Duration::hours(2), None)
        .await?;
    let (api_token, api_hash) = borgertun::token::new_api_token();
    store
        .add_api_token(user.id, &api_hash, now, now + Duration::days(1))
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = web::app(AppState::new(App::new(store.clone(), cfg, Arc::new(SystemClock))));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let page = format!("http://{addr}/rapport?fra={from}&til={to}");
    let api = format!("http://{addr}/api/v1/reports/summary?from={from}&to={to}");
    let mut results = Vec::new();
    for (what, url) in [
        ("page `GET /rapport`", &page),
        ("JSON `GET /api/v1/reports/summary`", &api),
    ] {
        let mut samples = Vec::new();
        let until = Instant::now() + StdDuration::from_secs(20);
        while samples.len() < 60 && Instant::now() < until {
            let t = Instant::now();
            let res = client
                .get(url.as_str())
                .header("cookie", format!("borgertun_session={session}"))
                .bearer_auth(&api_token)
                .send()
                .await?;
            assert!(res.status().is_success(), "{}", res.status());
            let body = res.text().await?;
            samples.push(t.elapsed());
            assert!(body.contains("arrangementer") || body.contains("\"events\""));
        }
        samples.sort();
        results.push((what, samples));
    }
    let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
    // The parts of one report, in process: loading the bookings, the figures, the tables.
    let mut phases = Vec::new();
    for _ in 0..10 {
        let (start, end) = borgertun::domain::report::query_bounds(from, to);
        let t0 = Instant::now();
        let bookings = store.report_bookings(start, end).await?;
        let t1 = Instant::now();
        let r = borgertun::domain::report::build(&plan, &rules, from, to, bookings);
        let t2 = Instant::now();
        phases.push((t1 - t0, t2 - t1, r.events.len()));
    }
    phases.sort();
    let (load, figures, _) = phases[phases.len() / 2];
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("### Report benchmark ({}, release build)\n", store.backend());
    println!(
        "- CPU: {cpu}; {count} bookings {from}–{to} ({} years, eight a day on open days), {} with attendance\n",
        to.year() - from.year() + 1,
        attended.len()
    );
    println!("| what (the whole period) | samples | median | p95 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| in process: load the period's bookings | 10 | {:.1} ms | |\n| in process: compute every figure | 10 | {:.1} ms | |",
        ms(load),
        ms(figures)
    );
    for (what, s) in results {
        println!(
            "| {what} | {} | {:.1} ms | {:.1} ms |",
            s.len(),
            ms(s[s.len() / 2]),
            ms(s[s.len() * 95 / 100])
        );
    }
    Ok(())
}
