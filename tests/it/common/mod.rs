//! Test harness: the real router on a random port over a real, freshly migrated database
//! (SQLite in a temp folder, or a fresh PostgreSQL database), driven over HTTP.

pub mod browser;
pub mod expand;
pub mod serve;
pub mod tools;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use borgertun::clock::TestClock;
use borgertun::config::{self, Config};
use borgertun::domain::time::{at_local, local, rfc3339};
use borgertun::domain::{Role, Rules};
use borgertun::service::App;
use borgertun::store::{self, Store};
use borgertun::web;
use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn shipped_config() -> Config {
    config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).expect("shipped config is valid")
}

/// Whether this run is CI (`CI=true` or `CI=1`), where no test may be skipped.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The list of skipped tests, one «<test>: <what is missing>» a line. `scripts/test` empties
/// it before `cargo test` and prints it at the end, since libtest shows nothing of a test that
/// passed.
pub const SKIPS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-skips.txt");

/// The one place a test is skipped: `needed` is what the test needs (`Ok`), or what is missing
/// and how to install or set it (`Err`). Missing under CI, the test fails with that message.
/// Missing otherwise, the test is recorded in [`SKIPS_FILE`] (and on stderr) and gets `None`:
/// it returns at once, before it builds anything.
pub fn require<T>(needed: Result<T, String>) -> Option<T> {
    let missing = match needed {
        Ok(found) => return Some(found),
        Err(missing) => missing,
    };
    let test = current_test();
    if in_ci() {
        panic!("CI is set, so no test may be skipped, and this one needs: {missing}");
    }
    let line = format!("{test}: {missing}\n");
    eprint!("skipped {line}");
    let path = Path::new(SKIPS_FILE);
    std::fs::create_dir_all(path.parent().expect("target/"))
        .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(path))
        // One write of one line: concurrent tests append whole lines.
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()))
        .unwrap_or_else(|e| panic!("cannot record in {SKIPS_FILE} that {test} is skipped: {e}"));
    None
}

/// The running test's name as libtest prints it (`api::postgres::…`): libtest runs each test on
/// a thread of that name, and `#[tokio::test]` runs the test's body on it.
fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => "a test".to_string(),
    }
}

/// The PostgreSQL server the tests create their databases on, or what to set.
pub fn postgres_admin_url() -> Result<String, String> {
    match std::env::var("BORGERTUN_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        _ => Err(
            "BORGERTUN_TEST_POSTGRES_URL is not set: set it to a PostgreSQL server whose role may \
                  create databases, e.g. BORGERTUN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
                .to_string(),
        ),
    }
}

static DB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty PostgreSQL database; returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!(
        "bt_t_{}_{}_{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::SeqCst),
        rand_suffix()
    );
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("URL with a database name");
    let query = admin_url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{name}{query}")
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() % 100_000
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// The application the server runs, for calling the service layer directly.
    pub app: App,
    /// The server's clock: tests move it forward instead of waiting.
    pub clock: Arc<TestClock>,
    pub db_url: String,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// The app on `backend` with the shipped configuration.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// The app on `backend` with the shipped configuration changed by `tweak`. For PostgreSQL,
    /// `BORGERTUN_TEST_POSTGRES_URL` must be set: the variants `on_both_backends!` makes check
    /// that (and skip, or fail under CI) before they get here.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Backend::Postgres => {
                let admin_url = postgres_admin_url().unwrap_or_else(|missing| panic!("{missing}"));
                fresh_postgres_database(&admin_url).await
            }
        };
        let mut cfg = shipped_config();
        cfg.database.url = db_url.clone();
        cfg.mail.smtp_url = None;
        cfg.mail.file_dir = dir.path().join("mail");
        cfg.server.bind = "127.0.0.1:0".to_string();
        cfg.server.public_url = None;
        tweak(&mut cfg);
        let server = start_server(cfg).await;
        TestApp {
            backend,
            base: format!("http://{}", server.addr),
            client: reqwest::Client::new(),
            store: server.app.store().clone(),
            config: Arc::new(server.app.config().clone()),
            app: server.app,
            clock: server.clock,
            db_url,
            _dir: dir,
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.config.rules
    }

    /// Add a user and return a fresh API token for them.
    pub async fn user(&self, email: &str, org: &str, role: Role) -> String {
        let user = self
            .app
            .add_user(email, &format!("Navn {email}"), org, role)
            .await
            .expect("add user");
        self.app.create_api_token(&user).await.expect("API token")
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        read(res).await
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let res = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        read(res).await
    }

    pub async fn post_raw(&self, token: &str, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let res = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        read(res).await
    }

    /// Write a booking straight to the store, past the rules (for the past, or for a request
    /// made long ago): `email`'s organisation, 10 attendees, public, the room's buffer.
    pub async fn store_booking(
        &self,
        email: &str,
        start: chrono::DateTime<Utc>,
        end: chrono::DateTime<Utc>,
        title: &str,
        status: borgertun::domain::Status,
        created: chrono::DateTime<Utc>,
    ) -> i64 {
        let contact = self
            .store
            .user_by_email(email)
            .await
            .unwrap()
            .expect("the contact exists");
        let room = &self.rules().rooms[0];
        let new = borgertun::domain::NewBooking {
            room: room.key.clone(),
            start,
            end,
            title: borgertun::domain::BookingTitle::parse(title).unwrap(),
            description: None,
            public: true,
            attendees: 10,
            org: contact.org.clone(),
            contact,
            activity: None,
        };
        let mut tx = self.store.write(&room.key).await.unwrap();
        let b = tx
            .insert(store::Insert {
                booking: &new,
                series: None,
                status,
                blocked_until: end + Duration::minutes(room.buffer_minutes),
                reason: None,
                actor: email,
                now: created,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        b.id
    }

    /// Write a series straight to the store, past the rules: `email`'s organisation, one
    /// booked occurrence with `status` per slot (the first is the pattern's start), the
    /// pattern `rrule` as given. Its id and its bookings' ids.
    pub async fn store_series(
        &self,
        email: &str,
        title: &str,
        rrule: &str,
        slots: &[(chrono::DateTime<Utc>, chrono::DateTime<Utc>)],
        status: borgertun::domain::Status,
        created: chrono::DateTime<Utc>,
    ) -> (i64, Vec<i64>) {
        use borgertun::domain::series::{OccurrenceState, SeriesOccurrence};
        let contact = self
            .store
            .user_by_email(email)
            .await
            .unwrap()
            .expect("the contact exists");
        let room = &self.rules().rooms[0];
        let (start, end) = slots[0];
        let new = borgertun::domain::NewBooking {
            room: room.key.clone(),
            start,
            end,
            title: borgertun::domain::BookingTitle::parse(title).unwrap(),
            description: None,
            public: true,
            attendees: 10,
            org: contact.org.clone(),
            contact,
            activity: None,
        };
        let mut tx = self.store.write(&room.key).await.unwrap();
        let series = tx
            .insert_series(store::NewSeries {
                booking: &new,
                rrule,
                actor: email,
                now: created,
            })
            .await
            .unwrap();
        let mut ids = Vec::new();
        for &(start, end) in slots {
            let link = borgertun::domain::SeriesLink {
                series_id: series.id,
                recurrence_id: start,
            };
            let b = tx
                .insert(store::Insert {
                    booking: &borgertun::domain::NewBooking {
                        start,
                        end,
                        ..new.clone()
                    },
                    series: Some(link),
                    status,
                    blocked_until: end + Duration::minutes(room.buffer_minutes),
                    reason: None,
                    actor: email,
                    now: created,
                })
                .await
                .unwrap();
            let occurrence = SeriesOccurrence {
                recurrence_id: start,
                slot: borgertun::domain::Slot { start, end },
                state: OccurrenceState::Booked,
                booking_id: Some(b.id),
                code: None,
                message: None,
            };
            tx.put_occurrence(series.id, start, &occurrence).await.unwrap();
            ids.push(b.id);
        }
        tx.commit().await.unwrap();
        (series.id, ids)
    }

    /// Every booking in the database as (id, status), for "nothing changed" checks.
    pub async fn snapshot(&self) -> Vec<(i64, String, i64)> {
        let all = self.store.bookings(&Default::default()).await.unwrap();
        all.into_iter()
            .map(|b| (b.id, b.status.as_str().to_string(), b.sequence))
            .collect()
    }

    /// The first day at least `days_ahead` days from today on which `room` is open.
    pub fn open_day(&self, days_ahead: i64) -> NaiveDate {
        open_day(self.rules(), days_ahead)
    }
}

/// A started application: where it listens, the application and its clock.
struct Server {
    addr: SocketAddr,
    app: App,
    clock: Arc<TestClock>,
}

/// The application as `borgertun serve` starts it, through the same function
/// (`web::server::start`): listen on a free port, open and migrate the database, start the
/// background workers (outbox, attendance requests) and serve, on a clock the test moves.
async fn start_server(cfg: Config) -> Server {
    let clock = Arc::new(TestClock::new());
    let server = web::server::start(cfg, clock.clone())
        .await
        .expect("the service starts");
    let addr = server.addr();
    let app = server.app().clone();
    tokio::spawn(async move { server.run_until(std::future::pending()).await.unwrap() });
    Server { addr, app, clock }
}

pub fn today() -> NaiveDate {
    local(Utc::now()).date_naive()
}

pub fn open_day(rules: &Rules, days_ahead: i64) -> NaiveDate {
    let room = &rules.rooms[0];
    let mut day = local(Utc::now()).date_naive() + Duration::days(days_ahead);
    while rules.closed_reason(room, day).is_some() {
        day += Duration::days(1);
    }
    day
}

/// RFC 3339 (Oslo offset) for `hh:mm` local time on `day`.
pub fn at(day: NaiveDate, hm: &str) -> String {
    let t = NaiveTime::parse_from_str(hm, "%H:%M").unwrap();
    rfc3339(at_local(day, t).unwrap())
}

pub fn booking(day: NaiveDate, from: &str, to: &str, title: &str) -> Value {
    serde_json::json!({ "room": "borgertun", "start": at(day, from), "end": at(day, to), "title": title, "attendees": 10 })
}

async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// The text of the newest sign-in mail to `email`: from the outbox while it waits there, else
/// (once sent, the outbox keeps no link) from the file the mail went to.
pub async fn login_mail_text(app: &TestApp, email: &str) -> Option<String> {
    let outbox = app.store.outbox().await.unwrap();
    let m = outbox
        .iter()
        .rev()
        .find(|m| m.kind == "login" && m.recipient == email)?;
    if m.body_text.contains("/logg-inn/lenke/") {
        return Some(m.body_text.clone());
    }
    let file = app.config.mail.file_dir.join(format!("{:08}-login.eml", m.id));
    let raw = std::fs::read(&file).unwrap_or_else(|e| panic!("sent sign-in mail {}: {e}", file.display()));
    let parsed = mail_parser::MessageParser::default().parse(&raw)?;
    parsed.body_text(0).map(|t| t.into_owned())
}

/// The path of the sign-in link (`/logg-inn/lenke/…`, with its `?neste=` if any) in `text`.
pub fn login_link_in(text: &str) -> Option<String> {
    let at = text.find("/logg-inn/lenke/")?;
    Some(text[at..].chars().take_while(|c| !c.is_whitespace()).collect())
}

/// The error codes of an error answer.
pub fn codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Run async scenarios `fn(Backend)` on SQLite and on PostgreSQL, as separate tests
/// (`<module>::sqlite::<name>` and `<module>::postgres::<name>`). Without
/// `BORGERTUN_TEST_POSTGRES_URL` the PostgreSQL variants are skipped through [`require`]
/// before they build anything (under CI they fail).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if $crate::common::require($crate::common::postgres_admin_url()).is_some() {
                        super::$name($crate::common::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}
