//! Booking benchmark (plain binary, no criterion): `cargo bench --bench booking`.
//!
//! For each size in `BENCH_SIZES` (default `10000,1000000`; a CLI argument like
//! `cargo bench --bench booking -- 10000` wins over the variable) it builds a real SQLite file
//! database in a temporary folder, seeds that many bookings of the room `borgertun` and measures:
//!
//! * booking decisions, `App::book` end to end (policy check, `BEGIN IMMEDIATE`, overlap
//!   query, decision, insert + audit + commit), one client at a time:
//!   - into a free slot (the answer is a confirmed booking; it is deleted again, outside the
//!     timing, so every sample sees the same database),
//!   - into a taken slot (the answer is «busy» with the alternatives computed);
//! * the availability query: `Store::bookings` for one week of confirmed bookings, for weeks
//!   near now (-4 to +52 weeks) and for weeks anywhere in the seeded span;
//! * recurring series: `App::book_series` (not a preview) of a weekly series of 52 occurrences
//!   by the owner «beho» (horizon 365 days, so the year is decided at once but for its last
//!   week or two), from a start time in the week after the protection window that a preview
//!   showed would be stored; every occurrence gets the single booking's decision and the whole
//!   series is stored in one transaction. The series, its bookings and its messages are
//!   deleted again outside the timing.
//!
//! Each scenario runs for `BENCH_SECS` seconds (default 12) or until it has its sample target,
//! whichever comes first, and always takes at least a few samples. Rules come from the shipped
//! `config/` folder, unchanged; the requests come from «uib» (tier partner, horizon 90 days).
//!
//! Seeding writes straight into the store's SQLite pool with multi-row INSERTs in large transactions.
//! The overlap trigger `bookings_no_overlap_insert` is dropped while seeding (a check per row
//! would only slow the seeding down) and recreated from its own stored SQL afterwards; the
//! seeded data is checked for overlaps with one window query instead.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use borgertun::clock::TestClock;
use borgertun::domain::recurrence;
use borgertun::domain::series::OutcomeStatus;
use borgertun::domain::time::{at_local, local, start_of_day};
use borgertun::domain::{BookingTitle, NewBooking, Role, Room, Rules, Status, User};
use borgertun::service::{App, BookOutcome, SeriesOutcome};
use borgertun::store::{BookingQuery, BookingStore, Store, UserStore};
use borgertun::store::{Pools, SqlStore};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const ROOM: &str = "borgertun";
/// The requester of every measured request: a cluster partner (horizon 90 days).
const REQUESTER_ORG: &str = "uib";
/// The requester of the measured series: the owner, whose horizon (365 days) holds a year of
/// weekly occurrences.
const SERIES_ORG: &str = "beho";
const SERIES_RRULE: &str = "FREQ=WEEKLY;COUNT=52";
const SEED_ROWS_PER_INSERT: usize = 500;
const SEED_ROWS_PER_TX: usize = 50_000;

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

mod common;

fn main() -> AnyResult<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run())
}

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    sizes: Vec<usize>,
    secs: f64,
}

fn settings() -> AnyResult<Settings> {
    // `cargo bench` passes `--bench` (and maybe other flags) to the binary; the first argument
    // that is not a flag, or `--sizes=…`, is the size list.
    let mut from_args = None;
    for a in std::env::args().skip(1) {
        if let Some(v) = a.strip_prefix("--sizes=") {
            from_args = Some(v.to_string());
        } else if !a.starts_with('-') && from_args.is_none() {
            from_args = Some(a);
        }
    }
    let raw = from_args
        .or_else(|| std::env::var("BENCH_SIZES").ok())
        .unwrap_or_else(|| "10000,1000000".into());
    let mut sizes = Vec::new();
    for s in raw
        .split(',')
        .map(|s| s.trim().replace('_', ""))
        .filter(|s| !s.is_empty())
    {
        let n: usize = s.parse().map_err(|_| format!("BENCH_SIZES: «{s}» is not a number"))?;
        if n < 100 {
            return Err(format!("BENCH_SIZES: {n} is too small (at least 100)").into());
        }
        sizes.push(n);
    }
    if sizes.is_empty() {
        return Err("BENCH_SIZES is empty".into());
    }
    let secs = match std::env::var("BENCH_SECS") {
        Ok(v) => v
            .parse::<f64>()
            .map_err(|_| format!("BENCH_SECS: «{v}» is not a number"))?,
        Err(_) => 12.0,
    };
    Ok(Settings { sizes, secs })
}

// ---------------------------------------------------------------------------------------------
// Seeding

#[derive(Clone, Copy)]
struct Seed {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    org: &'static str,
    status: Status,
    attendees: i64,
    title: &'static str,
    created_at: DateTime<Utc>,
}

/// Organisations of the shipped config with how often they book (by tier: owner 40 %,
/// municipal 15 %, partner 35 %, collaborator 10 %).
const ORGS: [(&str, u32); 12] = [
    ("beho", 16),
    ("beho-usht", 8),
    ("beho-sykehjem", 8),
    ("beho-ehelse", 8),
    ("bbsm", 7),
    ("bergen-kommune", 8),
    ("uib", 12),
    ("hvl", 8),
    ("helse-bergen", 8),
    ("norce", 7),
    ("vis", 5),
    ("skil", 5),
];

const TITLES: [&str; 8] = [
    "Fagdag sykehjem",
    "Styringsgruppemøte",
    "Workshop velferdsteknologi",
    "Seminar: aktivt med",
    "Nettverksmøte klyngen",
    "Opplæring e-helse",
    "Frokostmøte",
    "Brukerråd",
];

fn pick_org(rng: &mut StdRng) -> &'static str {
    let total: u32 = ORGS.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (org, w) in ORGS {
        if x < w {
            return org;
        }
        x -= w;
    }
    ORGS[0].0
}

fn minutes_of(t: NaiveTime) -> i64 {
    use chrono::Timelike;
    (t.hour() * 60 + t.minute()) as i64
}

fn time_of(minutes: i64) -> NaiveTime {
    NaiveTime::from_hms_opt((minutes / 60) as u32, (minutes % 60) as u32, 0).expect("valid time of day")
}

/// The bookings of one open day at roughly `occupancy` (share of the opening hours taken,
/// buffers included): 1–2 hour bookings on the room's grid, each followed by its buffer.
fn fill_day(
    rules: &Rules,
    room: &Room,
    day: NaiveDate,
    occupancy: f64,
    rng: &mut StdRng,
    mut push: impl FnMut(DateTime<Utc>, DateTime<Utc>),
) {
    if rules.closed_reason(room, day).is_some() {
        return;
    }
    let Some((open, close)) = room.opening_hours.on(day.weekday()) else {
        return;
    };
    let (open, close) = (minutes_of(open), minutes_of(close));
    let step = room.slot_minutes.max(1);
    // Mean booking + buffer is 90 + 15 minutes; the gaps make up the rest.
    let mean_gap = (90.0 + room.buffer_minutes as f64) * (1.0 - occupancy) / occupancy;
    let max_gap_steps = ((2.0 * mean_gap) / step as f64).round() as i64;
    let gap = |rng: &mut StdRng| rng.random_range(0..=max_gap_steps) * step;
    let mut t = open + gap(rng);
    loop {
        let len = rng.random_range(4..=8) * 15; // 60–120 minutes
        if t + len > close {
            break;
        }
        if let (Some(s), Some(e)) = (at_local(day, time_of(t)), at_local(day, time_of(t + len))) {
            push(s, e);
        }
        t += len + room.buffer_minutes + gap(rng);
    }
}

/// Occupancy of the future by days from today: the next two weeks are busy, the rest of the
/// partner horizon less so, the year after thin.
fn future_occupancy(days_ahead: i64) -> f64 {
    match days_ahead {
        ..=14 => 0.70,
        15..=90 => 0.40,
        _ => 0.12,
    }
}

const PAST_OCCUPANCY: f64 = 0.75;

/// `n` bookings in time order: the coming year first (as above), then as many past weekdays as
/// needed, newest first, with a realistic mix of statuses.
fn generate(rules: &Rules, room: &Room, n: usize, now: DateTime<Utc>, rng: &mut StdRng) -> Vec<Seed> {
    let today = local(now).date_naive();
    let mut out: Vec<Seed> = Vec::with_capacity(n + 16);
    for d in 1..=365 {
        let day = today + Duration::days(d);
        let mut day_seeds = Vec::new();
        fill_day(rules, room, day, future_occupancy(d), rng, |s, e| {
            day_seeds.push((s, e))
        });
        for (start, end) in day_seeds {
            let status = match rng.random_range(0..100) {
                0..=93 => Status::Confirmed,
                94..=97 => Status::Cancelled,
                _ => Status::Pending,
            };
            let created_at = now - Duration::minutes(rng.random_range(0..60 * 24 * 60));
            out.push(Seed {
                start,
                end,
                org: pick_org(rng),
                status,
                attendees: rng.random_range(5..=60),
                title: TITLES[rng.random_range(0..TITLES.len())],
                created_at,
            });
        }
    }
    out.truncate(n);
    let mut day = today;
    let mut past = Vec::new();
    while out.len() + past.len() < n {
        let mut day_seeds = Vec::new();
        fill_day(rules, room, day, PAST_OCCUPANCY, rng, |s, e| day_seeds.push((s, e)));
        // Newest first within the day too, so truncation drops the oldest.
        for (start, end) in day_seeds.into_iter().rev() {
            let status = match rng.random_range(0..100) {
                0..=89 => Status::Confirmed,
                90..=95 => Status::Cancelled,
                96..=98 => Status::Rejected,
                _ => Status::Displaced,
            };
            let created_at = start - Duration::minutes(rng.random_range(60..60 * 24 * 60));
            past.push(Seed {
                start,
                end,
                org: pick_org(rng),
                status,
                attendees: rng.random_range(5..=60),
                title: TITLES[rng.random_range(0..TITLES.len())],
                created_at,
            });
        }
        day = day.pred_opt().expect("date in range");
    }
    past.truncate(n - out.len());
    out.extend(past);
    out.sort_by_key(|s| s.start);
    out
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

struct SeedReport {
    secs: f64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

/// The SQLite pool the benchmark's store runs on.
fn pool(store: &SqlStore) -> &sqlx::SqlitePool {
    match store.pools() {
        Pools::Sqlite(p) => p,
        Pools::Postgres(_) => unreachable!("the benchmark opens SQLite"),
    }
}

async fn seed(store: &SqlStore, room: &Room, user: &User, seeds: &[Seed]) -> AnyResult<SeedReport> {
    let t0 = Instant::now();
    // One connection for dropping the trigger, seeding and creating it again: another
    // connection of the pool may still hold the schema from before the drop, and SQLite then
    // refuses the CREATE TRIGGER as existing.
    let mut conn = pool(store).acquire().await?;
    let trigger_sql: Option<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'bookings_no_overlap_insert'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if trigger_sql.is_some() {
        sqlx::query("DROP TRIGGER bookings_no_overlap_insert")
            .execute(&mut *conn)
            .await?;
    }
    let constants = format!(
        "{}, NULL, 1, {}, {}, {}, 0",
        sql_str(ROOM),
        user.id,
        sql_str(&user.name),
        sql_str(&user.email)
    );
    let buffer = Duration::minutes(room.buffer_minutes);
    let mut done = 0usize;
    for tx_chunk in seeds.chunks(SEED_ROWS_PER_TX) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for chunk in tx_chunk.chunks(SEED_ROWS_PER_INSERT) {
            let mut b = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO bookings (starts_at, ends_at, blocked_until, title, attendees, org, status, status_reason, created_at, updated_at, \
                 room, description, public, contact_user_id, contact_name, contact_email, sequence) ",
            );
            b.push_values(chunk, |mut row, s| {
                let reason = match s.status {
                    Status::Cancelled => Some("Avlyst av arrangøren."),
                    Status::Rejected => Some("Rommet er tildelt en annen forespørsel."),
                    Status::Displaced => Some("Rommet er tildelt en booking med høyere prioritet."),
                    _ => None,
                };
                row.push_bind(s.start)
                    .push_bind(s.end)
                    .push_bind(s.end + buffer)
                    .push_bind(s.title)
                    .push_bind(s.attendees)
                    .push_bind(s.org)
                    .push_bind(s.status.as_str())
                    .push_bind(reason)
                    .push_bind(s.created_at)
                    .push_bind(s.created_at)
                    .push(&constants);
            });
            b.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        done += tx_chunk.len();
        if seeds.len() >= 200_000 {
            eprintln!(
                "    seeded {done}/{} ({:.1} s)",
                seeds.len(),
                t0.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(sql) = trigger_sql {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    // What the trigger would have refused: a confirmed booking that starts before the previous
    // confirmed one's blocked_until.
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT starts_at, LAG(blocked_until) OVER (ORDER BY starts_at) AS prev \
         FROM bookings WHERE room = $1 AND status = 'confirmed') WHERE prev > starts_at",
    )
    .bind(ROOM)
    .fetch_one(&mut *conn)
    .await?;
    if overlaps != 0 {
        return Err(format!("seeding produced {overlaps} overlapping confirmed bookings").into());
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *conn)
        .await?;
    Ok(SeedReport {
        secs: t0.elapsed().as_secs_f64(),
        first: seeds[0].start,
        last: seeds[seeds.len() - 1].start,
    })
}

// ---------------------------------------------------------------------------------------------
// Measurement

#[derive(Default)]
struct Stats {
    n: usize,
    mean_us: f64,
    median_us: f64,
    p95_us: f64,
    total_s: f64,
}

fn stats(mut us: Vec<f64>) -> Stats {
    if us.is_empty() {
        return Stats::default();
    }
    us.sort_by(|a, b| a.total_cmp(b));
    let n = us.len();
    let total: f64 = us.iter().sum();
    let q = |p: f64| us[(((n as f64) * p).ceil() as usize).clamp(1, n) - 1];
    Stats {
        n,
        mean_us: total / n as f64,
        median_us: q(0.5),
        p95_us: q(0.95),
        total_s: total / 1e6,
    }
}

/// Runs `f` until `budget` has passed (at least `min` times) or `target` samples are taken,
/// after `warmup` untimed runs. `f` returns the microseconds of its timed part.
async fn measure<F, Fut>(budget: StdDuration, warmup: usize, min: usize, target: usize, mut f: F) -> AnyResult<Stats>
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = AnyResult<f64>>,
{
    for _ in 0..warmup {
        f(true).await?;
    }
    let deadline = Instant::now() + budget;
    let mut us = Vec::new();
    while us.len() < target && (us.len() < min || Instant::now() < deadline) {
        us.push(f(false).await?);
    }
    Ok(stats(us))
}

fn slot_free(taken: &[(DateTime<Utc>, DateTime<Utc>)], start: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    // `taken` is sorted by start; only intervals starting before `until` can overlap.
    let upto = taken.partition_point(|(s, _)| *s < until);
    !taken[..upto]
        .iter()
        .rev()
        .take(64)
        .any(|(s, u)| *s < until && start < *u)
}

/// The availability query for random weeks (Monday to Monday, Oslo time) that `pick` chooses:
/// latency and the mean number of bookings found.
async fn week_bench(
    store: &SqlStore,
    budget: StdDuration,
    seed: u64,
    pick: impl Fn(&mut StdRng) -> NaiveDate,
) -> AnyResult<(Stats, f64)> {
    let rng = RefCell::new(StdRng::seed_from_u64(seed));
    let rows = Cell::new((0usize, 0usize));
    let stats = measure(budget, 3, 10, 300, |warm| {
        let from = start_of_day(pick(&mut rng.borrow_mut()));
        let rows = &rows;
        async move {
            let q = BookingQuery {
                room: Some(ROOM.to_string()),
                from: Some(from),
                to: Some(from + Duration::days(7)),
                statuses: vec![Status::Confirmed],
                ..Default::default()
            };
            let t = Instant::now();
            let found = store.bookings(&q).await?;
            let us = t.elapsed().as_secs_f64() * 1e6;
            if !warm {
                let (c, r) = rows.get();
                rows.set((c + 1, r + found.len()));
            }
            Ok(us)
        }
    })
    .await?;
    let (c, r) = rows.get();
    Ok((stats, if c > 0 { r as f64 / c as f64 } else { 0.0 }))
}

struct SizeResult {
    n: usize,
    seed: SeedReport,
    db_mb: f64,
    free: Stats,
    free_unexpected: usize,
    busy: Stats,
    busy_unexpected: usize,
    alternatives_mean: f64,
    week_near: Stats,
    week_near_rows: f64,
    week_any: Stats,
    week_any_rows: f64,
    free_candidates: usize,
    busy_candidates: usize,
    series: SeriesBench,
}

async fn bench_size(
    cfg: &borgertun::config::Config,
    n: usize,
    now: DateTime<Utc>,
    budget: StdDuration,
) -> AnyResult<SizeResult> {
    let rules = &cfg.rules;
    let room = rules.room(ROOM).ok_or("room borgertun missing from config")?.clone();
    let tier = rules
        .tier_of_org(REQUESTER_ORG)
        .ok_or("organisation uib missing from config")?
        .clone();
    let dir = tempfile::Builder::new().prefix("borgertun-bench-").tempdir()?;
    let db_path = dir.path().join("bench.db");
    let url = format!("sqlite://{}", db_path.display());
    let mut rng = StdRng::seed_from_u64(0xB0_4E_27_u64 ^ n as u64);

    eprintln!("== {n} bookings: generating and seeding into {}", db_path.display());
    let store = SqlStore::connect(&url, cfg.database.max_connections).await?;
    store.migrate().await?;
    let user = store
        .add_user("bench@uib.no", "Benk Benchesen", REQUESTER_ORG, Role::Requester, now)
        .await?;
    let owner = store
        .add_user("benk@bergen.kommune.no", "Benk Eiersen", SERIES_ORG, Role::Staff, now)
        .await?;
    let seeds = generate(rules, &room, n, now, &mut rng);
    let seed_report = seed(&store, &room, &user, &seeds).await?;
    pool(&store).close().await;
    let db_mb = std::fs::metadata(&db_path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    eprintln!(
        "   seeded in {:.1} s, {:.0} MB, {} .. {}",
        seed_report.secs,
        db_mb,
        local(seed_report.first).date_naive(),
        local(seed_report.last).date_naive()
    );

    // Measure through a freshly opened store, configured as the service opens it.
    let store = SqlStore::connect(&url, cfg.database.max_connections).await?;
    // The service at the benchmark's fixed "now".
    let clock = Arc::new(TestClock::new());
    clock.set(now);
    let app = App::new(Arc::new(SqlStore::new(store.pools().clone())), cfg.clone(), clock);
    let buffer = Duration::minutes(room.buffer_minutes);
    let horizon_end = now + Duration::days(tier.horizon_days);
    let tomorrow = local(now).date_naive() + Duration::days(1);

    // Free slots: on the grid, inside opening hours, within the partner horizon, clear of every
    // seeded booking (whatever its status) and its buffer, with our own buffer.
    let taken: Vec<(DateTime<Utc>, DateTime<Utc>)> = seeds
        .iter()
        .filter(|s| s.start >= start_of_day(tomorrow) - Duration::days(1))
        .map(|s| (s.start, s.end + buffer))
        .collect();
    let mut free_slots = Vec::new();
    let mut day = tomorrow;
    while start_of_day(day) <= horizon_end {
        if rules.closed_reason(&room, day).is_none() {
            if let Some((open, close)) = room.opening_hours.on(day.weekday()) {
                let (open, close) = (minutes_of(open), minutes_of(close));
                let mut t = open;
                while t + 60 <= close {
                    for len in [60, 90, 120] {
                        if t + len > close {
                            continue;
                        }
                        let (Some(s), Some(e)) = (at_local(day, time_of(t)), at_local(day, time_of(t + len))) else {
                            continue;
                        };
                        if s > now && s <= horizon_end && slot_free(&taken, s, e + buffer) {
                            free_slots.push((s, e));
                        }
                    }
                    t += room.slot_minutes;
                }
            }
        }
        day += Duration::days(1);
    }
    // Taken slots the partner cannot get: held by the same or a higher tier, or firm (inside
    // the protection window) — the «busy» answer with alternatives.
    let busy_slots: Vec<(DateTime<Utc>, DateTime<Utc>)> = seeds
        .iter()
        .filter(|s| s.status == Status::Confirmed && s.start > now && s.start <= horizon_end)
        .filter(|s| {
            rules.rank_of_org(s.org) <= tier.rank || s.start < now + Duration::days(rules.protection_window_days)
        })
        .map(|s| (s.start, s.end))
        .collect();
    if free_slots.is_empty() || busy_slots.is_empty() {
        return Err(format!(
            "no free ({}) or no taken ({}) slots to request",
            free_slots.len(),
            busy_slots.len()
        )
        .into());
    }
    let request = |start: DateTime<Utc>, end: DateTime<Utc>, attendees: i64| NewBooking {
        room: ROOM.to_string(),
        start,
        end,
        title: BookingTitle::parse("Benchmark: prosjektmøte").expect("valid title"),
        description: None,
        public: true,
        attendees,
        org: REQUESTER_ORG.to_string(),
        contact: user.clone(),
        activity: None,
    };

    // (a1) Free slot → confirmed. The new booking is deleted afterwards, untimed.
    eprintln!("   decisions into free slots ({} candidates)", free_slots.len());
    let (free, free_unexpected) = {
        let rng = RefCell::new(StdRng::seed_from_u64(1));
        let unexpected = Cell::new(0usize);
        let stats = measure(budget, 3, 10, 20_000, |_warm| {
            let (s, e) = free_slots[rng.borrow_mut().random_range(0..free_slots.len())];
            let attendees = rng.borrow_mut().random_range(5..=60);
            let new = request(s, e, attendees);
            let (store, app, user, unexpected) = (&store, &app, &user, &unexpected);
            async move {
                let t = Instant::now();
                let out = app.book(new, &user.email).await?;
                let us = t.elapsed().as_secs_f64() * 1e6;
                match out {
                    BookOutcome::Stored { booking, .. } => {
                        if booking.status != Status::Confirmed {
                            unexpected.set(unexpected.get() + 1);
                        }
                        sqlx::query("DELETE FROM bookings WHERE id = $1")
                            .bind(booking.id)
                            .execute(pool(store))
                            .await?;
                    }
                    BookOutcome::Busy { .. } => unexpected.set(unexpected.get() + 1),
                }
                Ok(us)
            }
        })
        .await?;
        (stats, unexpected.get())
    };

    // (a2) Taken slot → busy, with alternatives. Nothing is written.
    eprintln!("   decisions into taken slots ({} candidates)", busy_slots.len());
    let (busy, busy_unexpected, alternatives_mean) = {
        let rng = RefCell::new(StdRng::seed_from_u64(2));
        let unexpected = Cell::new(0usize);
        let alts = Cell::new((0usize, 0usize));
        let stats = measure(budget, 3, 10, 20_000, |warm| {
            let (s, e) = busy_slots[rng.borrow_mut().random_range(0..busy_slots.len())];
            let attendees = rng.borrow_mut().random_range(5..=60);
            let new = request(s, e, attendees);
            let (store, app, user, unexpected, alts) = (&store, &app, &user, &unexpected, &alts);
            async move {
                let t = Instant::now();
                let out = app.book(new, &user.email).await?;
                let us = t.elapsed().as_secs_f64() * 1e6;
                match out {
                    BookOutcome::Busy { alternatives, .. } => {
                        if !warm {
                            let (c, a) = alts.get();
                            alts.set((c + 1, a + alternatives.len()));
                        }
                    }
                    BookOutcome::Stored { booking, .. } => {
                        // A lower-tier holder outside the protection window: a pending request.
                        // Not expected with the chosen slots; undo it so the data stays the same.
                        unexpected.set(unexpected.get() + 1);
                        sqlx::query("DELETE FROM bookings WHERE id = $1")
                            .bind(booking.id)
                            .execute(pool(store))
                            .await?;
                    }
                }
                Ok(us)
            }
        })
        .await?;
        let (c, a) = alts.get();
        (stats, unexpected.get(), if c > 0 { a as f64 / c as f64 } else { 0.0 })
    };

    // (b) Availability: one week of confirmed bookings.
    let monday = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_monday() as i64);
    let this_monday = monday(local(now).date_naive());
    let first_monday = monday(local(seed_report.first).date_naive());
    let span_weeks = ((this_monday + Duration::days(52 * 7)) - first_monday).num_days() / 7;
    eprintln!("   availability, weeks near now");
    let (week_near, week_near_rows) = week_bench(&store, budget, 3, |r| {
        this_monday + Duration::days(7 * r.random_range(-4..=52))
    })
    .await?;
    eprintln!("   availability, weeks anywhere in the data");
    let (week_any, week_any_rows) = week_bench(&store, budget, 4, |r| {
        first_monday + Duration::days(7 * r.random_range(0..=span_weeks))
    })
    .await?;

    // (c) A weekly series of 52 by the owner, decided and stored; deleted again, untimed.
    eprintln!("   series of 52 weekly occurrences");
    let series = series_bench(&store, &app, rules, &room, &owner, now, budget).await?;

    pool(&store).close().await;
    drop(dir);
    Ok(SizeResult {
        n,
        seed: seed_report,
        db_mb,
        free,
        free_unexpected,
        busy,
        busy_unexpected,
        alternatives_mean,
        week_near,
        week_near_rows,
        week_any,
        week_any_rows,
        free_candidates: free_slots.len(),
        busy_candidates: busy_slots.len(),
        series,
    })
}

/// The series scenario's figures.
struct SeriesBench {
    stats: Stats,
    /// Start times previewed, and how many of them the preview showed would be stored.
    previewed: usize,
    storable: usize,
    /// Mean occurrences per stored series: confirmed, pending (competing for the
    /// coordinator), declined (busy), planned (beyond the horizon), skipped (closed days).
    outcomes: [f64; 5],
    /// Samples that were not stored after all (never expected: the data is the same each time).
    unexpected: usize,
}

/// `App::book_series` of [`SERIES_RRULE`] by [`SERIES_ORG`], from start times (60, 90 or 120
/// minutes, on the grid) in the week after the protection window whose preview would be stored.
async fn series_bench(
    store: &SqlStore,
    app: &App,
    rules: &Rules,
    room: &Room,
    owner: &User,
    now: DateTime<Utc>,
    budget: StdDuration,
) -> AnyResult<SeriesBench> {
    let request = |start: DateTime<Utc>, end: DateTime<Utc>| NewBooking {
        room: ROOM.to_string(),
        start,
        end,
        title: BookingTitle::parse("Benchmark: ukentlig fagmøte").expect("valid title"),
        description: None,
        public: true,
        attendees: 20,
        org: SERIES_ORG.to_string(),
        contact: owner.clone(),
        activity: None,
    };
    let first_day = local(now).date_naive() + Duration::days(rules.protection_window_days + 1);
    let mut candidates = Vec::new();
    for d in 0..7 {
        let day = first_day + Duration::days(d);
        if rules.closed_reason(room, day).is_some() {
            continue;
        }
        let Some((open, close)) = room.opening_hours.on(day.weekday()) else {
            continue;
        };
        let (open, close) = (minutes_of(open), minutes_of(close));
        let mut t = open;
        while t + 60 <= close {
            for len in [60, 90, 120] {
                if t + len > close {
                    continue;
                }
                if let (Some(s), Some(e)) = (at_local(day, time_of(t)), at_local(day, time_of(t + len))) {
                    candidates.push((s, e));
                }
            }
            t += room.slot_minutes;
        }
    }
    let mut rng = StdRng::seed_from_u64(3);
    candidates.shuffle(&mut rng);
    // A preview decides every occurrence and stores nothing: keep the start times whose
    // series would be stored (at most the configured number and share of busy occurrences).
    let limits = rules.series;
    let mut storable = Vec::new();
    let mut previewed = 0;
    for &(s, e) in &candidates {
        if storable.len() >= 16 || previewed >= 120 {
            break;
        }
        previewed += 1;
        if let SeriesOutcome::Preview(out) = app.book_series(request(s, e), SERIES_RRULE, &owner.email, true).await? {
            let decided = out.iter().filter(|o| o.status != OutcomeStatus::Skipped).count();
            let refused = out.iter().filter(|o| o.status == OutcomeStatus::Declined).count();
            if recurrence::accepted(decided, refused, limits.max_conflicts, limits.max_conflict_percent) {
                storable.push((s, e));
            }
        }
    }
    if storable.is_empty() {
        return Err(format!("none of {previewed} weekly series previewed from {first_day} would be stored").into());
    }
    let outbox_before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM outbox")
        .fetch_one(pool(store))
        .await?;
    let rng = RefCell::new(StdRng::seed_from_u64(4));
    let totals = Cell::new([0usize; 5]);
    let stored = Cell::new(0usize);
    let unexpected = Cell::new(0usize);
    let stats = measure(budget, 2, 10, 2_000, |warm| {
        let (s, e) = storable[rng.borrow_mut().random_range(0..storable.len())];
        let new = request(s, e);
        let (totals, stored, unexpected) = (&totals, &stored, &unexpected);
        async move {
            let t = Instant::now();
            let out = app.book_series(new, SERIES_RRULE, &owner.email, false).await?;
            let us = t.elapsed().as_secs_f64() * 1e6;
            let SeriesOutcome::Stored(d) = out else {
                unexpected.set(unexpected.get() + 1);
                return Ok(us);
            };
            if !warm {
                let mut n = totals.get();
                for o in &d.occurrences {
                    let i = match o.status {
                        OutcomeStatus::Confirmed => 0,
                        OutcomeStatus::Pending => 1,
                        OutcomeStatus::Declined => 2,
                        OutcomeStatus::Planned => 3,
                        _ => 4,
                    };
                    n[i] += 1;
                }
                totals.set(n);
                stored.set(stored.get() + 1);
            }
            // Undo it all, so every sample sees the same data: the series' bookings (their
            // audit lines go with them), its occurrence rows, the series, its messages.
            let id = d.series.id;
            for q in [
                "DELETE FROM series_occurrences WHERE series_id = $1",
                "DELETE FROM bookings WHERE series_id = $1",
                "DELETE FROM series WHERE id = $1",
            ] {
                sqlx::query(q).bind(id).execute(pool(store)).await?;
            }
            sqlx::query("DELETE FROM outbox WHERE id > $1")
                .bind(outbox_before)
                .execute(pool(store))
                .await?;
            Ok(us)
        }
    })
    .await?;
    let n = stored.get().max(1) as f64;
    let outcomes = totals.get().map(|c| c as f64 / n);
    Ok(SeriesBench {
        stats,
        previewed,
        storable: storable.len(),
        outcomes,
        unexpected: unexpected.get(),
    })
}

// ---------------------------------------------------------------------------------------------
// Report

fn ms(us: f64) -> String {
    let ms = us / 1000.0;
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn per_sec(s: &Stats) -> String {
    if s.total_s <= 0.0 {
        return "–".into();
    }
    let r = s.n as f64 / s.total_s;
    if r >= 100.0 {
        thousands(r.round() as usize)
    } else if r >= 10.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn machine() -> Vec<String> {
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
    vec![
        format!("CPU: {model}, nproc {nproc}"),
        format!("Memory: {mem}; Linux {kernel}"),
    ]
}

async fn sqlite_version() -> String {
    async {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.ok()?;
        let v: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&pool)
            .await
            .ok()?;
        Some(v)
    }
    .await
    .unwrap_or_else(|| "?".into())
}

async fn run() -> AnyResult<()> {
    let settings = settings()?;
    let cfg = borgertun::config::load(Path::new("config")).map_err(|e| format!("config: {e}"))?;
    // Whole minutes, so "now" is a clean instant; every request is relative to it.
    let now = {
        let t = Utc::now();
        t - Duration::seconds(chrono::Timelike::second(&t) as i64)
            - Duration::nanoseconds(chrono::Timelike::nanosecond(&t) as i64)
    };
    let budget = StdDuration::from_secs_f64(settings.secs);
    let loadavg = || {
        read_trim("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    let load_before = loadavg();
    let t0 = Instant::now();
    let mut results = Vec::new();
    for &n in &settings.sizes {
        results.push(bench_size(&cfg, n, now, budget).await?);
    }
    let load_after = loadavg();
    let total = t0.elapsed().as_secs_f64();
    let tier = cfg.rules.tier_of_org(REQUESTER_ORG).ok_or("uib missing")?;

    let mut o = String::new();
    use std::fmt::Write as _;
    writeln!(o, "\n### Booking benchmark (SQLite)\n")?;
    for l in machine() {
        writeln!(o, "- {l}")?;
    }
    writeln!(
        o,
        "- SQLite {} (bundled, file database in a temp dir, WAL, synchronous=NORMAL), release build, one client at a time",
        sqlite_version().await
    )?;
    writeln!(
        o,
        "- Rules: shipped `config/`, unchanged. Requests by «{REQUESTER_ORG}» (tier {}, horizon {} days); {}-day protection window; {} alternatives on refusal",
        tier.key, tier.horizon_days, cfg.rules.protection_window_days, cfg.rules.alternatives
    )?;
    writeln!(
        o,
        "- Data: one room, 1–2 h bookings on open weekdays; next 2 weeks ~70 % taken, rest of 90 days ~40 %, rest of the year ~12 %, past ~75 %; \
         ~90 % confirmed, the rest cancelled/rejected/displaced/pending"
    )?;
    writeln!(
        o,
        "- Load average before/after: {load_before} / {load_after}; total {total:.0} s; budget {} s per scenario",
        settings.secs
    )?;
    writeln!(o)?;
    writeln!(o, "| Bookings | Data span | Years | Seed time | DB size |")?;
    writeln!(o, "|---:|---|---:|---:|---:|")?;
    for r in &results {
        writeln!(
            o,
            "| {} | {} – {} | {:.0} | {:.1} s | {:.0} MB |",
            thousands(r.n),
            local(r.seed.first).date_naive(),
            local(r.seed.last).date_naive(),
            (r.seed.last - r.seed.first).num_days() as f64 / 365.25,
            r.seed.secs,
            r.db_mb
        )?;
    }
    writeln!(o)?;
    writeln!(o, "**Booking decisions** (`service::book`, end to end)\n")?;
    writeln!(
        o,
        "| Bookings | Request | Samples | Decisions/s | Mean | Median | p95 |"
    )?;
    writeln!(o, "|---:|---|---:|---:|---:|---:|---:|")?;
    for r in &results {
        writeln!(
            o,
            "| {} | free slot → confirmed | {} | {} | {} | {} | {} |",
            thousands(r.n),
            r.free.n,
            per_sec(&r.free),
            ms(r.free.mean_us),
            ms(r.free.median_us),
            ms(r.free.p95_us)
        )?;
        writeln!(
            o,
            "| {} | taken slot → busy + {:.1} alternatives | {} | {} | {} | {} | {} |",
            thousands(r.n),
            r.alternatives_mean,
            r.busy.n,
            per_sec(&r.busy),
            ms(r.busy.mean_us),
            ms(r.busy.median_us),
            ms(r.busy.p95_us)
        )?;
    }
    writeln!(o)?;
    writeln!(
        o,
        "**Availability query** (`Store::bookings`, one room, one week, confirmed)\n"
    )?;
    writeln!(o, "| Bookings | Weeks | Samples | Rows/week | Median | p95 |")?;
    writeln!(o, "|---:|---|---:|---:|---:|---:|")?;
    for r in &results {
        writeln!(
            o,
            "| {} | near now (−4…+52 weeks) | {} | {:.1} | {} | {} |",
            thousands(r.n),
            r.week_near.n,
            r.week_near_rows,
            ms(r.week_near.median_us),
            ms(r.week_near.p95_us)
        )?;
        writeln!(
            o,
            "| {} | anywhere in the data | {} | {:.1} | {} | {} |",
            thousands(r.n),
            r.week_any.n,
            r.week_any_rows,
            ms(r.week_any.median_us),
            ms(r.week_any.p95_us)
        )?;
    }
    writeln!(o)?;
    let series_tier = cfg.rules.tier_of_org(SERIES_ORG).ok_or("beho missing")?;
    writeln!(
        o,
        "**Series decisions** (`App::book_series`, `{SERIES_RRULE}` by «{SERIES_ORG}», tier {}, horizon {} days; decided and stored, end to end)\n",
        series_tier.key, series_tier.horizon_days
    )?;
    writeln!(
        o,
        "| Bookings | Samples | Series/s | Mean | Median | p95 | Per occurrence (mean) | Confirmed / pending / declined / planned / skipped |"
    )?;
    writeln!(o, "|---:|---:|---:|---:|---:|---:|---:|---|")?;
    for r in &results {
        let s = &r.series;
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            thousands(r.n),
            s.stats.n,
            per_sec(&s.stats),
            ms(s.stats.mean_us),
            ms(s.stats.median_us),
            ms(s.stats.p95_us),
            ms(s.stats.mean_us / 52.0),
            s.outcomes.map(|c| format!("{c:.1}")).join(" / ")
        )?;
    }
    writeln!(o)?;
    writeln!(
        o,
        "Decisions/s = samples ÷ summed latency of one sequential client. Free-slot samples pick among the free 60/90/120-minute slots \
         of the partner horizon; each new booking is deleted again outside the timing, so all samples see the same data. \
         Busy samples request a slot held by the same or a higher tier, or inside the protection window. \
         Seeding drops the overlap trigger and recreates it before measuring (the data is checked for overlaps instead). \
         Series samples start in the week after the protection window, at a time whose preview showed the series would be stored \
         ({}); each series, its bookings, occurrence rows and messages are deleted again outside the timing.",
        results
            .iter()
            .map(|r| format!("{}: {} of {} previewed", thousands(r.n), r.series.storable, r.series.previewed))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    let mut warnings = Vec::new();
    for r in &results {
        if r.series.unexpected > 0 {
            warnings.push(format!(
                "{}: {} series were refused although their preview was stored",
                thousands(r.n),
                r.series.unexpected
            ));
        }
        if r.free_unexpected > 0 || r.busy_unexpected > 0 {
            warnings.push(format!(
                "{}: {} free-slot requests were not confirmed, {} taken-slot requests were not busy",
                thousands(r.n),
                r.free_unexpected,
                r.busy_unexpected
            ));
        }
        eprintln!(
            "   ({}: {} free-slot candidates, {} taken-slot candidates)",
            thousands(r.n),
            r.free_candidates,
            r.busy_candidates
        );
    }
    for w in &warnings {
        writeln!(o, "\n**Warning:** {w}")?;
    }
    println!("{o}");
    Ok(())
}
