//! Week view benchmark (plain binary): `cargo bench --bench week`.
//!
//! Seeds a real SQLite file database with a year of bookings of Borgertun (six a day on every
//! open day, a year back and ahead), then times `GET /?dato=…` over HTTP on loopback for
//! random weeks of that year. `BENCH_DATABASE_URL` points at an empty PostgreSQL database to
//! measure that backend instead.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use borgertun::clock::SystemClock;
use borgertun::domain::time::{at_local, local};
use borgertun::domain::{BookingTitle, NewBooking, Role, Status};
use borgertun::service::App;
use borgertun::store::Insert;
use borgertun::web::{self, AppState};
use chrono::{Duration, NaiveTime, Utc};

mod common;

use common::{AnyResult, Setup};

fn main() -> AnyResult<()> {
    common::block_on(run())
}

async fn run() -> AnyResult<()> {
    let Setup { dir: _dir, cfg, store } = common::setup("week.db").await?;
    let now = Utc::now();
    let user = store
        .add_user("bench@bergen.kommune.no", "Bench", "beho", Role::Staff, now)
        .await?;
    let room = cfg.rules.room("borgertun").ok_or("no room")?.clone();
    let today = local(now).date_naive();
    let mut count = 0;
    let mut tx = store.write("borgertun").await?;
    for d in -183..183 {
        let day = today + Duration::days(d);
        if cfg.rules.closed_reason(&room, day).is_some() {
            continue;
        }
        for slot in 0..6 {
            let start = at_local(day, NaiveTime::from_hms_opt(8, 0, 0).unwrap()).unwrap() + Duration::hours(2 * slot);
            let nb = NewBooking {
                room: "borgertun".into(),
                start,
                end: start + Duration::minutes(90),
                title: BookingTitle::parse(&format!("Arbeidsverksted {count}"))?,
                description: None,
                public: slot % 3 != 0,
                attendees: 20,
                org: ["beho", "uib", "hvl", "norce", "skil"][(count % 5) as usize].into(),
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
            count += 1;
        }
    }
    tx.commit().await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = web::app(AppState::new(App::new(store.clone(), cfg, Arc::new(SystemClock))));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let mut samples = Vec::new();
    let mut seed = 42u64;
    let until = Instant::now() + StdDuration::from_secs(10);
    while samples.len() < 1000 && Instant::now() < until {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let day = today + Duration::days((seed >> 33) as i64 % 366 - 183);
        let t = Instant::now();
        let res = client.get(format!("http://{addr}/?dato={day}")).send().await?;
        let body = res.text().await?;
        samples.push(t.elapsed());
        assert!(body.contains("Uke "));
    }
    samples.sort();
    let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
    let (median, p95) = (ms(samples[samples.len() / 2]), ms(samples[samples.len() * 95 / 100]));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("### Week view benchmark ({}, release build)\n", store.backend());
    println!("- CPU: {cpu}; {count} confirmed bookings over a year (six a day on open days)\n");
    println!("| what | samples | median | p95 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| `GET /?dato=…` (a random week of that year, HTTP on loopback) | {} | {median:.2} ms | {p95:.2} ms |",
        samples.len()
    );
    Ok(())
}
