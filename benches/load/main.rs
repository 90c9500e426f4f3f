//! The in-process parts of the load test (issue 13), run by `benches/load/run`:
//!
//! - `seed-year URL`: migrate the database at URL and seed a year of bookings of Borgertun (six
//!   a day on every open day, half a year back and ahead, as `benches/week.rs`), for the
//!   server the script starts and loads with `wrk`.
//! - `history BACKEND`: for each size in `BENCH_SIZES` (default `10000,1000000`), a fresh
//!   database (a SQLite file, or with `postgres` a fresh database under `BENCH_POSTGRES_URL`)
//!   seeded with that many bookings over 27 rooms, and then, one client at a time, the week view
//!   over HTTP rendered for every request (the page cache emptied before each), for the
//!   current week and a week in the middle of the history, and booking decisions into free
//!   slots (`App::book`, invitation queued in the same transaction).
//! - `writers BACKEND ROOMS`: 16 clients at once booking different free slots (`App::book`),
//!   in one room or each in its own of ROOMS rooms, on a fresh database.
//!
//! Each result is printed as a line `RESULT|part|what|value|unit` for the script's table;
//! everything else goes to stderr.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use borgertun::clock::{SystemClock, TestClock};
use borgertun::config::Config;
use borgertun::domain::time::{at_local, local, monday_of};
use borgertun::domain::{BookingTitle, NewBooking, Role, Status, User};
use borgertun::service::{App, BookOutcome};
use borgertun::store::{self, Insert, Pools, SqlStore, Store, UserStore};
use borgertun::web::{self, AppState};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

#[path = "../common/mod.rs"]
mod common;

use common::AnyResult;

const ROOM: &str = "borgertun";
/// The seeded history's rooms: Borgertun and 26 more that only the database knows.
const HISTORY_ROOMS: usize = 27;
const CLIENTS: usize = 16;

fn main() -> AnyResult<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::block_on(async move {
        match args.as_slice() {
            ["seed-year", url] => seed_year(url).await,
            ["history", backend] => history(backend).await,
            ["writers", backend, rooms] => writers(backend, rooms.parse()?).await,
            _ => Err("usage: load seed-year URL | history sqlite|postgres | writers sqlite|postgres ROOMS".into()),
        }
    })
}

fn result(part: &str, what: &str, value: f64, unit: &str) {
    println!("RESULT|{part}|{what}|{value:.3}|{unit}");
}

fn config() -> AnyResult<Config> {
    Ok(borgertun::config::load(std::path::Path::new("config")).map_err(|e| e.to_string())?)
}

/// A fresh database for `backend`: a SQLite file in `dir`, or a new PostgreSQL database
/// named `name` under `BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`).
async fn fresh_database(backend: &str, dir: &std::path::Path, name: &str) -> AnyResult<String> {
    match backend {
        "sqlite" => Ok(format!("sqlite://{}", dir.join(format!("{name}.db")).display())),
        "postgres" => {
            let base =
                std::env::var("BENCH_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
            let admin = sqlx::PgPool::connect(&format!("{base}/postgres")).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await?;
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await?;
            admin.close().await;
            Ok(format!("{base}/{name}"))
        }
        other => Err(format!("unknown backend «{other}»").into()),
    }
}

fn title(s: &str) -> AnyResult<BookingTitle> {
    Ok(BookingTitle::parse(s)?)
}

// ---------------------------------------------------------------------------------------------
// A year of bookings for the server

async fn seed_year(url: &str) -> AnyResult<()> {
    let cfg = config()?;
    let store = store::connect(url, 4).await?;
    store.migrate().await?;
    let now = Utc::now();
    let user = store
        .add_user("bench@bergen.kommune.no", "Bench", "beho", Role::Staff, now)
        .await?;
    let room = cfg.rules.room(ROOM).ok_or("no room")?.clone();
    let today = local(now).date_naive();
    let mut count = 0;
    let mut tx = store.write(ROOM).await?;
    for d in -183..183 {
        let day = today + Duration::days(d);
        if cfg.rules.closed_reason(&room, day).is_some() {
            continue;
        }
        for slot in 0..6 {
            let start = at_local(day, NaiveTime::from_hms_opt(8, 0, 0).ok_or("time")?).ok_or("time")?
                + Duration::hours(2 * slot);
            let nb = NewBooking {
                room: ROOM.into(),
                start,
                end: start + Duration::minutes(90),
                title: title(&format!("Arbeidsverksted {count}"))?,
                description: None,
                public: slot % 3 != 0,
                attendees: 20,
                org: ["beho", "uib", "hvl", "norce", "skil"][count % 5].into(),
                contact: user.clone(),
                activity: None,
            };
            tx.insert(Insert {
                booking: &nb,
                series: None,
                status: Status::Confirmed,
                blocked_until: nb.end + Duration::minutes(room.buffer_minutes),
                reason: None,
                actor: "bench",
                now,
            })
            .await?;
            count += 1;
        }
    }
    tx.commit().await?;
    eprintln!("seeded {count} confirmed bookings of {ROOM} over a year into {url}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// History: 10,000 against 1,000,000 bookings

/// One seeded booking: room index, day, slot of the day.
struct Seed {
    room: usize,
    start: DateTime<Utc>,
    status: Status,
    org: &'static str,
}

const ORGS: [&str; 5] = ["beho", "uib", "hvl", "norce", "skil"];

/// `n` bookings over 27 rooms, six a day (08, 10, …, 18 o'clock, 90 minutes) on every open
/// day, going back in time from a week after `today`: the same density in every week, so a
/// week in the middle of a long history holds as many bookings as one of a short one.
fn generate(cfg: &Config, n: usize, today: NaiveDate) -> AnyResult<(Vec<Seed>, NaiveDate)> {
    let room = cfg.rules.room(ROOM).ok_or("no room")?;
    let mut seeds = Vec::with_capacity(n);
    let mut day = today + Duration::days(7);
    let mut days = Vec::new();
    'fill: loop {
        if cfg.rules.closed_reason(room, day).is_none() {
            days.push(day);
            for slot in 0..6 {
                let start = at_local(day, NaiveTime::from_hms_opt(8, 0, 0).ok_or("time")?).ok_or("time")?
                    + Duration::hours(2 * slot);
                for r in 0..HISTORY_ROOMS {
                    if seeds.len() == n {
                        break 'fill;
                    }
                    let i = seeds.len();
                    seeds.push(Seed {
                        room: r,
                        start,
                        status: match i % 20 {
                            0 => Status::Cancelled,
                            1 => Status::Rejected,
                            _ => Status::Confirmed,
                        },
                        org: ORGS[i % ORGS.len()],
                    });
                }
            }
        }
        day -= Duration::days(1);
    }
    seeds.reverse();
    let middle = days[days.len() / 2];
    Ok((seeds, middle))
}

fn room_key(r: usize) -> String {
    if r == 0 {
        ROOM.to_string()
    } else {
        format!("rom-{:02}", r + 1)
    }
}

/// Insert `seeds` with multi-row INSERTs, on SQLite without the overlap trigger (put back
/// afterwards; the seeds do not overlap), then let the database analyse its tables as the
/// service does when it starts.
async fn seed(store: &SqlStore, user: &User, seeds: &[Seed]) -> AnyResult<f64> {
    let t0 = Instant::now();
    macro_rules! insert_all {
        ($db:ty, $conn:expr) => {{
            for (k, tx_chunk) in seeds.chunks(50_000).enumerate() {
                let mut tx = sqlx::Connection::begin(&mut *$conn).await?;
                for chunk in tx_chunk.chunks(500) {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO bookings (room, starts_at, ends_at, blocked_until, title, attendees, org, status, \
                         created_at, updated_at, public, contact_user_id, contact_name, contact_email, sequence) ",
                    );
                    b.push_values(chunk, |mut row, s| {
                        let end = s.start + Duration::minutes(90);
                        row.push_bind(room_key(s.room))
                            .push_bind(s.start)
                            .push_bind(end)
                            .push_bind(end + Duration::minutes(15))
                            .push_bind(format!("Møte {}", s.start.timestamp() % 997))
                            .push_bind(20i64)
                            .push_bind(s.org)
                            .push_bind(s.status.as_str())
                            .push_bind(s.start - Duration::days(30))
                            .push_bind(s.start - Duration::days(30))
                            .push_bind(true)
                            .push_bind(user.id)
                            .push_bind(user.name.clone())
                            .push_bind(user.email.clone())
                            .push_bind(0i64);
                    });
                    b.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                if seeds.len() >= 200_000 {
                    eprintln!(
                        "    seeded {}/{} ({:.1} s)",
                        (k + 1) * 50_000,
                        seeds.len(),
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
        }};
    }
    match store.pools() {
        Pools::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            let trigger: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'bookings_no_overlap_insert'",
            )
            .fetch_optional(&mut *conn)
            .await?;
            if trigger.is_some() {
                sqlx::query("DROP TRIGGER bookings_no_overlap_insert")
                    .execute(&mut *conn)
                    .await?;
            }
            insert_all!(sqlx::Sqlite, conn);
            if let Some(sql) = trigger {
                sqlx::query(&sql).execute(&mut *conn).await?;
            }
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await?;
        }
        Pools::Postgres(p) => {
            let mut conn = p.acquire().await?;
            insert_all!(sqlx::Postgres, conn);
            // What autovacuum does once a table has changed by a tenth: without it, the planner
            // of a freshly filled table takes the exclusion constraint's GiST index for one
            // room's range and reads every row of the room.
            sqlx::query("ANALYZE bookings").execute(&mut *conn).await?;
        }
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// The query plan of the week view's query, for the report.
async fn week_plan(store: &SqlStore) -> AnyResult<String> {
    let sql = "SELECT id FROM bookings WHERE room = 'borgertun' AND starts_at < '2030-01-08T00:00:00+00:00' \
               AND ends_at > '2030-01-01T00:00:00+00:00' AND starts_at > '2029-12-30T00:00:00+00:00' AND status IN ('confirmed', 'held')";
    Ok(match store.pools() {
        Pools::Sqlite(p) => {
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(p)
                .await?;
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
        }
        Pools::Postgres(p) => {
            let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {sql}")).fetch_all(p).await?;
            rows.into_iter()
                .map(|r| r.0.trim().to_string())
                .collect::<Vec<_>>()
                .join("; ")
        }
    })
}

fn drop_result<T>(_: T) {}

fn median_ms(mut v: Vec<StdDuration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// Free slots of `room` for the owner's staff: 30 minutes every 45 (with the 15-minute
/// buffer), 08:00 to 21:00, on open days from three weeks ahead to the end of the owner's
/// horizon (nothing is seeded that far ahead).
fn free_slots(cfg: &Config, room: &str, today: NaiveDate) -> AnyResult<Vec<DateTime<Utc>>> {
    let r = cfg.rules.room(room).ok_or("no room")?;
    let mut slots = Vec::new();
    for d in 21..360 {
        let day = today + Duration::days(d);
        if cfg.rules.closed_reason(r, day).is_some() {
            continue;
        }
        for k in 0..17 {
            let start = at_local(day, NaiveTime::from_hms_opt(8, 0, 0).ok_or("time")?).ok_or("time")?
                + Duration::minutes(45 * k);
            slots.push(start);
        }
    }
    Ok(slots)
}

fn request(room: &str, start: DateTime<Utc>, user: &User, i: usize) -> AnyResult<NewBooking> {
    Ok(NewBooking {
        room: room.into(),
        start,
        end: start + Duration::minutes(30),
        title: title(&format!("Lasttest {i}"))?,
        description: None,
        public: true,
        attendees: 10,
        org: user.org.clone(),
        contact: user.clone(),
        activity: None,
    })
}

fn confirmed(outcome: &BookOutcome) -> bool {
    matches!(outcome, BookOutcome::Stored { booking, .. } if booking.status == Status::Confirmed)
}

/// One size of the history, seeded, with its server running.
struct Sized {
    label: String,
    app: App,
    addr: std::net::SocketAddr,
    middle: NaiveDate,
    user: User,
    slots: Vec<DateTime<Utc>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn history(backend: &str) -> AnyResult<()> {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let cfg = config()?;
    let now = Utc::now();
    let today = local(now).date_naive();
    let dir = tempfile::Builder::new().prefix("borgertun-load-").tempdir()?;
    let without_index = std::env::var("BENCH_WITHOUT_INDEX").is_ok_and(|v| v == "1");
    let mut all = Vec::new();
    for n in sizes {
        let url = fresh_database(backend, dir.path(), &format!("bt_load_history_{n}")).await?;
        let store = SqlStore::connect(&url, cfg.database.max_connections).await?;
        store.migrate().await?;
        let user = store
            .add_user("benk@bergen.kommune.no", "Benk Eiersen", "beho", Role::Staff, now)
            .await?;
        let (seeds, middle) = generate(&cfg, n, today)?;
        eprintln!(
            "== {n} bookings over {HISTORY_ROOMS} rooms on {backend}, from {} ..",
            local(seeds[0].start).date_naive()
        );
        let secs = seed(&store, &user, &seeds).await?;
        drop(seeds);
        eprintln!("   seeded in {secs:.1} s; the middle week is that of {middle}");
        // The service's store, opened as the service opens it.
        let store: Arc<dyn Store> = store::connect(&url, cfg.database.max_connections).await?;
        store.migrate().await?;
        let plan_store = SqlStore::connect(&url, 1).await?;
        if without_index {
            // As before migration 20261201000100: the planner chooses between (room, starts_at)
            // and (status, starts_at) only.
            let drop = "DROP INDEX IF EXISTS bookings_room_status_start";
            match plan_store.pools() {
                Pools::Sqlite(p) => sqlx::query(drop).execute(p).await.map(drop_result)?,
                Pools::Postgres(p) => sqlx::query(drop).execute(p).await.map(drop_result)?,
            }
            eprintln!("   without the index bookings_room_status_start");
        }
        eprintln!("   week query plan: {}", week_plan(&plan_store).await?);
        let clock = Arc::new(TestClock::new());
        clock.set(now);
        let app = App::new(store.clone(), cfg.clone(), clock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = web::app(AppState::new(app.clone()));
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let label = if n >= 1_000_000 {
            format!("{}M", n / 1_000_000)
        } else {
            format!("{}k", n / 1000)
        };
        all.push(Sized {
            label,
            app,
            addr,
            middle,
            user,
            slots: free_slots(&cfg, ROOM, today)?,
            server,
        });
    }
    // Measured in rounds, every size in each round, so that whatever else the machine does
    // falls on all sizes alike.
    let client = reqwest::Client::new();
    const ROUNDS: usize = 10;
    let per_round = samples.div_ceil(ROUNDS);
    let whats = [
        "week view, current week",
        "week view, middle week",
        "decision, free slot",
    ];
    let mut times: Vec<Vec<Vec<StdDuration>>> = vec![vec![Vec::new(); whats.len()]; all.len()];
    for round in 0..ROUNDS {
        for (k, size) in all.iter_mut().enumerate() {
            for (w, day) in [today, size.middle].into_iter().enumerate() {
                let url = format!("http://{}/?dato={}", size.addr, monday_of(day));
                for i in 0..per_round + 5 {
                    size.app.page_cache().clear();
                    let t = Instant::now();
                    let body = client.get(&url).send().await?.text().await?;
                    if i >= 5 {
                        times[k][w].push(t.elapsed());
                    }
                    if !body.contains("Opptatt") && w == 1 {
                        return Err(format!("the middle week of {} shows no booking", size.label).into());
                    }
                }
            }
            for i in 0..per_round {
                let start = size.slots[round * per_round + i];
                let new = request(ROOM, start, &size.user, i)?;
                let t = Instant::now();
                let outcome = size.app.book(new, "bench").await?;
                times[k][2].push(t.elapsed());
                if !confirmed(&outcome) {
                    return Err(format!("a decision into a free slot was not confirmed ({})", size.label).into());
                }
            }
        }
    }
    let mut medians = Vec::new();
    for (k, size) in all.iter().enumerate() {
        for (w, what) in whats.iter().enumerate() {
            let ms = median_ms(std::mem::take(&mut times[k][w]));
            eprintln!("   {}: {what}: median {ms:.3} ms", size.label);
            result("history", &format!("{what}, {} ({backend})", size.label), ms, "ms");
            medians.push(ms);
        }
        size.server.abort();
    }
    // The largest size against the smallest: what history costs.
    if all.len() > 1 {
        let last = all.len() - 1;
        for (w, what) in whats.iter().enumerate() {
            result(
                "history",
                &format!("{what}, {} ÷ {} ({backend})", all[last].label, all[0].label),
                medians[last * whats.len() + w] / medians[w],
                "×",
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Racing writers

async fn writers(backend: &str, rooms: usize) -> AnyResult<()> {
    let mut cfg = config()?;
    let base = cfg.rules.room(ROOM).ok_or("no room")?.clone();
    for r in 1..rooms {
        let mut room = base.clone();
        room.key = format!("rom-{:02}", r + 1);
        room.name = format!("Rom {}", r + 1);
        cfg.rules.rooms.push(room);
    }
    let dir = tempfile::Builder::new().prefix("borgertun-load-").tempdir()?;
    let url = fresh_database(backend, dir.path(), &format!("bt_load_writers_{rooms}")).await?;
    cfg.database.url = url.clone();
    cfg.mail.file_dir = dir.path().join("mail");
    let store = store::connect(&url, cfg.database.max_connections).await?;
    store.migrate().await?;
    let now = Utc::now();
    let today = local(now).date_naive();
    let mut users = Vec::new();
    for c in 0..CLIENTS {
        users.push(
            store
                .add_user(
                    &format!("skriver{c}@bergen.kommune.no"),
                    &format!("Skriver {c}"),
                    "beho",
                    Role::Staff,
                    now,
                )
                .await?,
        );
    }
    // A database in use: 10,000 bookings of the past months over 27 rooms (up to a week
    // ahead; the writers book from three weeks ahead).
    let (seeds, _) = generate(&cfg, 10_000, today)?;
    seed(&SqlStore::connect(&url, 2).await?, &users[0], &seeds).await?;
    let app = App::new(store.clone(), cfg.clone(), Arc::new(SystemClock));
    // Client c takes every CLIENTS-th free slot of its room: all different, all free.
    let mut work: Vec<Vec<(String, DateTime<Utc>)>> = vec![Vec::new(); CLIENTS];
    if rooms <= 1 {
        for (i, s) in free_slots(&cfg, ROOM, today)?.into_iter().enumerate() {
            work[i % CLIENTS].push((ROOM.to_string(), s));
        }
    } else {
        for (c, w) in work.iter_mut().enumerate() {
            let key = cfg.rules.rooms[c % cfg.rules.rooms.len()].key.clone();
            *w = free_slots(&cfg, &key, today)?
                .into_iter()
                .skip(c / cfg.rules.rooms.len())
                .step_by(CLIENTS.div_ceil(cfg.rules.rooms.len()))
                .map(|s| (key.clone(), s))
                .collect();
        }
    }
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let until = Instant::now() + StdDuration::from_secs_f64(secs);
    let done = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (c, slots) in work.into_iter().enumerate() {
        let (app, user, done) = (app.clone(), users[c].clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut stored = 0usize;
            for (i, (room, start)) in slots.into_iter().enumerate() {
                if Instant::now() >= until {
                    break;
                }
                let new = request(&room, start, &user, i).map_err(|e| e.to_string())?;
                let outcome = app.book(new, "bench").await.map_err(|e| format!("client {c}: {e}"))?;
                if !confirmed(&outcome) {
                    return Err(format!("client {c}: a free slot in {room} was not confirmed"));
                }
                stored += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<usize, String>(stored)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    // Every confirmed booking has its invitation in the outbox, written in the same transaction.
    let messages = app.store().outbox().await?.len();
    if messages < total {
        return Err(format!("{total} bookings but only {messages} messages in the outbox").into());
    }
    let rate = total as f64 / elapsed;
    eprintln!(
        "   {CLIENTS} writers on {backend}, {rooms} room(s): {total} confirmed in {elapsed:.2} s = {rate:.0}/s; {messages} messages queued"
    );
    let where_ = if rooms <= 1 {
        "one room".to_string()
    } else {
        format!("{rooms} rooms")
    };
    result(
        "writers",
        &format!("16 writers, {where_} ({backend})"),
        rate,
        "decisions/s",
    );
    Ok(())
}
