//! Feed benchmark (plain binary): `cargo bench --bench feed`.
//!
//! Seeds a real SQLite file database with 3,000 confirmed bookings of Borgertun inside a feed's
//! window (the last 30 days to the end of the booking horizon), then measures
//! * `App::render_feed` — the database query and the iCalendar rendering of the room feed;
//! * a full `GET /feeds/{token}.ics` over HTTP on loopback, and a conditional one answered 304.
//!
//! `BENCH_EVENTS` changes the number of bookings (default 3000); `BENCH_DATABASE_URL` points at
//! an empty PostgreSQL database to measure that backend instead.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use borgertun::clock::SystemClock;
use borgertun::domain::time::{at_local, local};
use borgertun::domain::{BookingTitle, FeedKind, NewBooking, Role, Status};
use borgertun::service::App;
use borgertun::store::Insert;
use borgertun::web::{self, AppState};
use chrono::{Duration, NaiveTime, Utc};

mod common;

use common::{AnyResult, Setup};

fn main() -> AnyResult<()> {
    common::block_on(run())
}

fn stats(mut samples: Vec<StdDuration>) -> (f64, f64, f64, usize) {
    samples.sort();
    let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
    let median = ms(samples[samples.len() / 2]);
    let p95 = ms(samples[(samples.len() * 95 / 100).min(samples.len() - 1)]);
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
    (mean, median, p95, samples.len())
}

async fn run() -> AnyResult<()> {
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let Setup { dir: _dir, cfg, store } = common::setup("feed.db").await?;
    let now = Utc::now();
    let user = store
        .add_user("bench@bergen.kommune.no", "Bench", "beho", Role::Staff, now)
        .await?;

    // Seed: one booking an hour from 08.00, every day from 30 days back, as many days as needed.
    let seed_start = Instant::now();
    let first_day = local(now).date_naive() - Duration::days(29);
    let per_day = 12;
    let mut tx = store.write("borgertun").await?;
    for i in 0..events {
        let day = first_day + Duration::days((i / per_day) as i64);
        let start =
            at_local(day, NaiveTime::from_hms_opt(8, 0, 0).unwrap()).unwrap() + Duration::hours((i % per_day) as i64);
        let nb = NewBooking {
            room: "borgertun".into(),
            start,
            end: start + Duration::minutes(45),
            title: BookingTitle::parse(&format!("Arbeidsverksted nr. {i} om pårørendeinvolvering"))?,
            description: Some(
                "Kunnskapsbehov, brukermedvirkning og forbedringsarbeid i helse- og omsorgstjenestene.".into(),
            ),
            public: i % 5 != 0,
            attendees: 20,
            org: ["beho", "uib", "hvl", "norce", "skil"][i % 5].into(),
            contact: user.clone(),
            activity: None,
        };
        tx.insert(Insert {
            booking: &nb,
            series: None,
            status: Status::Confirmed,
            blocked_until: nb.end + Duration::minutes(15),
            reason: None,
            actor: "bench",
            now,
        })
        .await?;
    }
    tx.commit().await?;
    let seed_time = seed_start.elapsed();

    let state = AppState::new(App::new(store.clone(), cfg, Arc::new(SystemClock)));
    let (feed, token) = state.app.create_feed(&user, FeedKind::Room, None).await?;

    // Direct rendering.
    let first = state
        .app
        .render_feed(&feed, &user, Utc::now())
        .await
        .map_err(|e| format!("{e:?}"))?;
    let shown = first.body.matches("BEGIN:VEVENT").count();
    // Cold: nothing cached, every event rendered. Warm: the events of unchanged bookings
    // come from the cache (as after a change to one booking), the query still runs.
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let until = Instant::now() + StdDuration::from_secs(12);
    while cold.len() < 200 && Instant::now() < until {
        state.app.feed_cache().clear();
        let t = Instant::now();
        let r = state
            .app
            .render_feed(&feed, &user, Utc::now())
            .await
            .map_err(|e| format!("{e:?}"))?;
        cold.push(t.elapsed());
        assert_eq!(r.body, first.body);
        let t = Instant::now();
        let r = state
            .app
            .render_feed(&feed, &user, Utc::now())
            .await
            .map_err(|e| format!("{e:?}"))?;
        warm.push(t.elapsed());
        assert_eq!(r.body, first.body);
    }
    let (cold, warm) = (stats(cold), stats(warm));

    // Over HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = web::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/feeds/{token}.ics");
    let etag = client.get(&url).send().await?.headers()["etag"].to_str()?.to_string();
    let mut full = Vec::new();
    let mut not_modified = Vec::new();
    let until = Instant::now() + StdDuration::from_secs(10);
    while full.len() < 200 && Instant::now() < until {
        let t = Instant::now();
        let body = client.get(&url).send().await?.bytes().await?;
        full.push(t.elapsed());
        assert_eq!(body.len(), first.body.len());
        let t = Instant::now();
        let res = client.get(&url).header("if-none-match", &etag).send().await?;
        not_modified.push(t.elapsed());
        assert_eq!(res.status().as_u16(), 304);
    }
    let (full, not_modified) = (stats(full), stats(not_modified));

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("### Feed benchmark ({}, release build)\n", store.backend());
    println!("- CPU: {cpu}, {} cores; seeded {events} confirmed bookings in {:.1} s; the room feed shows {shown} events ({} KiB)\n", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), seed_time.as_secs_f64(), first.body.len() / 1024);
    println!("| what | samples | mean | median | p95 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, (mean, median, p95, n)) in [
        ("`App::render_feed`, cold: query + every event rendered", cold),
        ("`App::render_feed`, events cached: query + changed events only", warm),
        (
            "`GET /feeds/{token}.ics` → 200, unchanged: fingerprint + cached body",
            full,
        ),
        ("`GET` with `If-None-Match` → 304", not_modified),
    ] {
        println!("| {name} | {n} | {mean:.2} ms | {median:.2} ms | {p95:.2} ms |");
    }
    Ok(())
}
