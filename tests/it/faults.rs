//! Surviving faults, with real processes: `borgertun serve` killed with SIGKILL in the middle
//! of a stream of bookings (two instances on PostgreSQL, one on SQLite), and a PostgreSQL
//! server of the test's own stopped and started again under load. (SMTP down for a while is
//! in `mail.rs`.)

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use borgertun::domain::{Booking, Status};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::serve::{Serve, ServeProcess};
use crate::common::tools::{free_port, python, SmtpSink};
use crate::common::{self, booking, Backend, TestApp};
use crate::mail::{parse, Received};

on_both_backends!(a_kill9_under_load_loses_and_doubles_nothing);

/// The lease the servers in these tests hold claimed mail for: a message cut off by a crash is
/// sent again this soon.
const LEASE_SECONDS: u64 = 3;
/// How fast an answer must come while the database is down.
const PROMPT: Duration = Duration::from_secs(5);

/// What became of one booking request: its title (unique), the HTTP status if an answer came,
/// the booking's id if it was stored, and how long the answer took.
#[derive(Debug, Clone)]
struct Sent {
    title: String,
    status: Option<StatusCode>,
    code: Option<String>,
    id: Option<i64>,
    took: Duration,
    sent_at: Instant,
}

/// POST one booking; never panics on a missing answer (the server may be dead).
async fn send(client: &reqwest::Client, base: &str, token: &str, body: &Value) -> Sent {
    let title = body["title"].as_str().unwrap_or_default().to_string();
    let sent_at = Instant::now();
    let res = client
        .post(format!("{base}/api/v1/bookings"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await;
    let (status, v) = match res {
        Ok(res) => {
            let status = res.status();
            let v: Value = match res.text().await {
                Ok(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            (Some(status), v)
        }
        Err(_) => (None, Value::Null),
    };
    Sent {
        title,
        status,
        code: common::codes(&v).into_iter().next(),
        id: status.filter(|s| s.is_success()).and_then(|_| v["id"].as_i64()),
        took: sent_at.elapsed(),
        sent_at,
    }
}

/// `n` different open days from `from` days ahead.
fn open_days(app: &TestApp, from: i64, n: usize) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut k = from;
    while days.len() < n {
        let d = app.open_day(k);
        if days.last() != Some(&d) {
            days.push(d);
        }
        k = (d - common::today()).num_days() + 1;
    }
    days
}

/// The `i`th request of a stream: one hour on one of `days`, two hours apart, so the first
/// `6 · days` are free and later ones meet earlier ones (busy: 409).
fn nth_booking(days: &[NaiveDate], i: usize, prefix: &str) -> Value {
    let day = days[i % days.len()];
    let hour = 8 + 2 * ((i / days.len()) % 6);
    booking(
        day,
        &format!("{hour:02}:00"),
        &format!("{:02}:00", hour + 1),
        &format!("{prefix} {i}"),
    )
}

/// No two confirmed bookings overlap (with their buffers).
fn assert_no_overlap(bookings: &[Booking]) {
    let confirmed: Vec<_> = bookings.iter().filter(|b| b.status == Status::Confirmed).collect();
    for (i, a) in confirmed.iter().enumerate() {
        for b in &confirmed[i + 1..] {
            assert!(
                !(a.start < b.blocked_until && b.start < a.blocked_until),
                "overlap: {} and {}",
                a.id,
                b.id
            );
        }
    }
}

/// Every request answered 2xx is stored, once, with the id it was told; nothing is stored
/// twice (titles are unique per request).
fn assert_stored_once(sent: &[Sent], bookings: &[Booking]) {
    let mut by_title: HashMap<&str, Vec<i64>> = HashMap::new();
    for b in bookings {
        by_title.entry(b.title.as_str()).or_default().push(b.id);
    }
    for (title, ids) in &by_title {
        assert_eq!(ids.len(), 1, "«{title}» is stored {} times: {ids:?}", ids.len());
    }
    for s in sent.iter().filter(|s| s.status.is_some_and(|s| s.is_success())) {
        let ids = by_title.get(s.title.as_str()).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(ids, [s.id.expect("a 2xx answer names the booking")], "«{}»", s.title);
    }
}

/// The outbox row a received message was made from, by its `Message-ID`
/// (`<outbox-{id}.{created}@domain>`).
fn outbox_id(message_id: &str) -> Option<(i64, i64)> {
    let rest = message_id.trim_matches(['<', '>']).strip_prefix("outbox-")?;
    let (id, rest) = rest.split_once('.')?;
    let (created, _) = rest.split_once('@')?;
    Some((id.parse().ok()?, created.parse().ok()?))
}

/// Wait (at most `within`) until every outbox row is sent, then until the sink has at least
/// as many messages; return the outbox and the messages.
async fn all_mail(
    app: &TestApp,
    sink: &SmtpSink,
    within: Duration,
) -> (Vec<borgertun::store::OutboxMessage>, Vec<Received>) {
    let deadline = Instant::now() + within;
    let outbox = loop {
        let outbox = app.store.outbox().await.unwrap();
        if outbox.iter().all(|m| m.sent_at.is_some()) {
            break outbox;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not catch up: {} of {} unsent",
            outbox.iter().filter(|m| m.sent_at.is_none()).count(),
            outbox.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let received = sink.wait_for(outbox.len()).await;
    (outbox, received.iter().map(|r| parse(r)).collect())
}

/// Every outbox row arrived, every message that arrived is an outbox row's (so of a stored
/// change), and at most `crashes` messages arrived twice, each with its one `Message-ID`.
/// Returns the outbox rows that arrived twice.
fn assert_mail_matches_outbox(
    outbox: &[borgertun::store::OutboxMessage],
    bookings: &[Booking],
    received: &[Received],
    crashes: usize,
) -> Vec<i64> {
    let rows: HashMap<i64, &borgertun::store::OutboxMessage> = outbox.iter().map(|m| (m.id, m)).collect();
    let stored: HashSet<i64> = bookings.iter().map(|b| b.id).collect();
    let mut times: HashMap<&str, usize> = HashMap::new();
    let mut arrived = HashSet::new();
    for m in received {
        let (id, created) = outbox_id(&m.message_id).unwrap_or_else(|| panic!("Message-ID {:?}", m.message_id));
        let row = rows
            .get(&id)
            .unwrap_or_else(|| panic!("a message of no outbox row: {}", m.subject));
        assert_eq!(row.created_at.timestamp(), created, "{}", m.message_id);
        assert_eq!(
            (m.to.as_str(), m.subject.as_str()),
            (row.recipient.as_str(), row.subject.as_str())
        );
        if let Some(b) = row.booking_id {
            assert!(stored.contains(&b), "mail for booking {b}, which is not stored");
        }
        *times.entry(m.message_id.as_str()).or_default() += 1;
        arrived.insert(id);
    }
    for row in outbox {
        assert!(
            arrived.contains(&row.id),
            "outbox row {} ({}) never arrived",
            row.id,
            row.subject
        );
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= crashes && twice.iter().all(|(_, n)| **n == 2),
        "sent again: {twice:?}"
    );
    twice
        .iter()
        .filter_map(|(id, _)| outbox_id(id).map(|(id, _)| id))
        .collect()
}

/// Every stored booking's contact got a message about it.
fn assert_every_booking_told(bookings: &[Booking], received: &[Received]) {
    for b in bookings {
        assert!(
            received
                .iter()
                .any(|m| m.to == b.contact_email && m.subject.contains(&b.title)),
            "no mail to {} about «{}»",
            b.contact_email,
            b.title
        );
    }
}

/// SIGKILL in the middle of a stream of booking requests, then started again: what was
/// acknowledged is stored once, nothing overlaps, every message arrives (at most the one cut
/// off between the SMTP answer and its mark twice, with the same `Message-ID`), none for a
/// change that was not stored; SQLite's file passes `PRAGMA integrity_check`.
async fn a_kill9_under_load_loses_and_doubles_nothing(b: Backend) {
    let Some(py) = common::require(python()) else { return };
    let smtp = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&py, smtp, maildir.path());
    // The in-process app prepares the database and sends nothing.
    let app = TestApp::spawn_with(b, |c| {
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", free_port()));
        c.mail.poll_interval = Duration::from_secs(3600);
    })
    .await;
    const N: usize = 90;
    let tokens = crate::concurrency::users(&app, N).await;
    let days = open_days(&app, 7, 8);
    let logs = tempfile::tempdir().unwrap();
    let serve = |n: usize| {
        Serve::new(&app.db_url)
            .env("BORGERTUN_SMTP_URL", format!("smtp://127.0.0.1:{smtp}"))
            .env("BORGERTUN_MAIL__POLL_INTERVAL_MS", 20)
            .env("BORGERTUN_MAIL__LEASE_SECONDS", LEASE_SECONDS)
            .log_to(&logs.path().join(format!("serve-{n}.log")))
    };
    let instances = match b {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    };
    let mut servers: Vec<ServeProcess> = Vec::new();
    for n in 0..instances {
        servers.push(serve(n).start().await);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();

    // One request every 40 ms, each on a fresh connection, round-robin over the instances.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let stream: Vec<_> = (0..N)
        .map(|i| {
            let (client, base, token) = (client.clone(), bases[i % bases.len()].clone(), tokens[i].clone());
            let body = nth_booking(&days, i, "Last");
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(40 * i as u64)).await;
                send(&client, &base, &token, &body).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    servers[0].kill9();
    let killed = Instant::now();
    servers[0].restart().await;
    let back_in = killed.elapsed();
    let mut sent = Vec::new();
    for t in stream {
        sent.push(t.await.unwrap());
    }
    // Each instance takes bookings after the restart (free slots on other days).
    let later = open_days(&app, 40, 2);
    for (n, base) in bases.iter().enumerate() {
        let s = send(&client, base, &tokens[n], &nth_booking(&later, n, "Etterpå")).await;
        assert_eq!(s.status, Some(StatusCode::CREATED), "{s:?}");
        sent.push(s);
    }
    let created = sent.iter().filter(|s| s.status == Some(StatusCode::CREATED)).count();
    let unanswered = sent.iter().filter(|s| s.status.is_none()).count();
    assert!(created >= 20, "too few bookings made: {sent:?}");
    assert!(
        sent.iter().all(|s| matches!(
            s.status,
            None | Some(StatusCode::CREATED | StatusCode::ACCEPTED | StatusCode::CONFLICT)
        )),
        "{sent:?}"
    );

    let bookings = app.store.bookings(&Default::default()).await.unwrap();
    assert_stored_once(&sent, &bookings);
    assert_no_overlap(&bookings);
    let (outbox, received) = all_mail(&app, &sink, Duration::from_secs(45)).await;
    let twice = assert_mail_matches_outbox(&outbox, &bookings, &received, 1);
    // Sent twice only for the crash: its row was sent at the first attempt, with no error (a
    // delivery that timed out and was tried again would show one).
    for id in &twice {
        let row = outbox.iter().find(|m| m.id == *id).unwrap();
        assert_eq!((row.attempts, row.last_error.as_deref()), (1, None), "{row:?}");
    }
    let twice = twice.len();
    assert_every_booking_told(&bookings, &received);
    eprintln!(
        "faults: {b:?}: {instances} instance(s), {N} requests, {created} created, {unanswered} unanswered; \
         restarted in {back_in:?}; {} messages, {twice} sent twice",
        received.len()
    );

    if b == Backend::Sqlite {
        for s in &mut servers {
            s.terminate(Duration::from_secs(20)).await;
        }
        let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        pool.close().await;
    }
}

/// A PostgreSQL server of the test's own (the shared one on 5432 is used by other tests at the
/// same time): `initdb` into a temp folder, listening on 127.0.0.1 at a free port, its socket
/// in the folder, run as the `postgres` user when the test runs as root. Stopped when dropped.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// The folder with `initdb`, `pg_ctl` and `postgres`, or what to install.
    fn tools() -> Result<PathBuf, String> {
        let mut candidates = vec![PathBuf::from("/usr/local/bin")];
        if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
            let mut found: Vec<PathBuf> = dirs.flatten().map(|d| d.path().join("bin")).collect();
            found.sort();
            candidates.extend(found.into_iter().rev());
        }
        candidates
            .into_iter()
            .find(|d| ["initdb", "pg_ctl", "postgres"].iter().all(|t| d.join(t).exists()))
            .ok_or_else(|| {
                "initdb, pg_ctl and postgres (Debian postgresql) are missing: `apt-get install postgresql` \
                 (they are looked for in /usr/local/bin and /usr/lib/postgresql/*/bin)"
                    .to_string()
            })
    }

    /// `initdb` a new cluster (trust, no fsync) and start it.
    fn start_new(bin: PathBuf) -> PrivatePostgres {
        let root = running_as_root();
        let dir = tempfile::tempdir().unwrap();
        if root {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
        }
        let pg = PrivatePostgres {
            bin,
            dir,
            port: free_port(),
            as_postgres: root,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        pg.start();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// `tool` of PostgreSQL's with `args`, as the `postgres` user when the tests run as root.
    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args);
        cmd
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool, args)
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Start the server and wait until it takes connections.
    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stop the server: `fast` ends every connection and exits.
    fn stop(&self, mode: &str) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "-t", "60", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Whether the tests run as root (initdb and postgres refuse to).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// One answer while the database is down: its status, error code (API) or page, and time.
#[derive(Debug)]
struct Outage {
    what: &'static str,
    status: Option<StatusCode>,
    body: String,
    retry_after: Option<String>,
    took: Duration,
}

async fn get(req: reqwest::RequestBuilder, what: &'static str) -> Outage {
    let started = Instant::now();
    match req.send().await {
        Ok(res) => {
            let status = res.status();
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let body = res.text().await.unwrap_or_default();
            Outage {
                what,
                status: Some(status),
                body,
                retry_after,
                took: started.elapsed(),
            }
        }
        Err(e) => Outage {
            what,
            status: None,
            body: e.to_string(),
            retry_after: None,
            took: started.elapsed(),
        },
    }
}

/// A session for `email` (signed in by the link it is sent), as the value of its cookie.
async fn signed_in(app: &TestApp, email: &str) -> String {
    app.app.request_sign_in_link(email, None).await.unwrap();
    let text = common::login_mail_text(app, email).await.expect("a sign-in mail");
    let link = common::login_link_in(&text).unwrap();
    let token = link.trim_start_matches("/logg-inn/lenke/");
    match app.app.sign_in(token, None).await.unwrap() {
        borgertun::service::SignIn::Session { secret, .. } => {
            format!("{}={secret}", borgertun::web::pages::SESSION_COOKIE)
        }
        _ => panic!("not signed in"),
    }
}

/// PostgreSQL stopped (`pg_ctl stop -m fast`) under a stream of bookings, then started again:
/// while it is down every request gets a prompt 503 (`unavailable` in the API's JSON, the
/// Norwegian error page for a page, signed in or not, `not_ready` from `/readyz`), never a hang; when it is back
/// the same server process recovers by itself, bookings succeed and the outbox catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_under_load_is_told_promptly_and_recovered_from() {
    let Some(bin) = common::require(PrivatePostgres::tools()) else {
        return;
    };
    let Some(py) = common::require(python()) else { return };
    let pg = tokio::task::spawn_blocking(move || PrivatePostgres::start_new(bin))
        .await
        .unwrap();
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&pg.url("postgres")).await.unwrap();
        sqlx::query("CREATE DATABASE borgertun")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let db_url = pg.url("borgertun");
    let smtp = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&py, smtp, maildir.path());
    // The in-process app migrates the database and makes the users; it sends nothing.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.database.url = db_url.clone();
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", free_port()));
        c.mail.poll_interval = Duration::from_secs(3600);
    })
    .await;
    const USERS: usize = 12;
    let tokens = crate::concurrency::users(&app, USERS).await;
    let days = open_days(&app, 7, 12);
    let session = signed_in(&app, "person0@uib.no").await;
    let logs = tempfile::tempdir().unwrap();
    // The shipped database.acquire_timeout_seconds (3).
    let server = Serve::new(&db_url)
        .env("BORGERTUN_SMTP_URL", format!("smtp://127.0.0.1:{smtp}"))
        .env("BORGERTUN_MAIL__POLL_INTERVAL_MS", 50)
        .log_to(&logs.path().join("serve.log"))
        .start()
        .await;
    let pid = server.pid();
    let base = server.base.clone();
    assert_eq!(base, format!("http://127.0.0.1:{}", server.port()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // Pages before the outage (the anti-forgery key is read once, at the first page).
    let page = get(client.get(format!("{base}/")), "page").await;
    assert_eq!(page.status, Some(StatusCode::OK), "{}", page.body);
    let mine = client.get(format!("{base}/bookinger")).header("cookie", &session);
    let page = get(mine, "page").await;
    assert!(
        page.status == Some(StatusCode::OK) && page.body.contains("person0@uib.no"),
        "signed in: {page:?}"
    );

    // The stream: a booking request every 100 ms, round-robin over the users, until told.
    let stop = Arc::new(AtomicBool::new(false));
    let stream = {
        let (client, base, tokens, days, stop) =
            (client.clone(), base.clone(), tokens.clone(), days.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let body = nth_booking(&days, i, "Drift");
                sent.push(send(&client, &base, &tokens[i % tokens.len()], &body).await);
                i += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sent
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let pg = Arc::new(pg);
    let down = Instant::now();
    {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.stop("fast")).await.unwrap();
    }
    let stopped = Instant::now();
    // While it is down: the API, pages signed out and in, readiness; fifteen at once.
    let mut burst = Vec::new();
    for k in 0..15 {
        let (client, base, token, session) = (client.clone(), base.clone(), tokens[k % USERS].clone(), session.clone());
        burst.push(tokio::spawn(async move {
            match k % 5 {
                0 => get(client.get(format!("{base}/api/v1/bookings")).bearer_auth(token), "api").await,
                1 => get(client.get(format!("{base}/")), "page").await,
                2 => get(client.get(format!("{base}/readyz")), "readyz").await,
                3 => get(client.get(format!("{base}/i-dag")), "page").await,
                _ => {
                    get(
                        client.get(format!("{base}/bookinger")).header("cookie", session),
                        "page",
                    )
                    .await
                }
            }
        }));
    }
    let mut outage = Vec::new();
    for t in burst {
        outage.push(t.await.unwrap());
    }
    // Held down a while longer, so the stream meets the outage several times.
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(stopped.elapsed())).await;
    {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.start()).await.unwrap();
    }
    let up = Instant::now();
    let outage_length = up - down;

    for o in &outage {
        assert_eq!(o.status, Some(StatusCode::SERVICE_UNAVAILABLE), "{o:?}");
        assert!(o.took < PROMPT, "{} answered in {:?}", o.what, o.took);
        match o.what {
            "api" => {
                let v: Value = serde_json::from_str(&o.body).unwrap_or_else(|_| panic!("JSON: {}", o.body));
                assert_eq!(common::codes(&v), ["unavailable"], "{v}");
                let message = v["errors"][0]["message"].as_str().unwrap();
                assert!(message.contains("midlertidig utilgjengelig"), "{message}");
                assert_eq!(o.retry_after.as_deref(), Some("5"));
            }
            "page" => {
                assert!(
                    o.body.contains("<html lang=\"nb\">") && o.body.contains("Midlertidig utilgjengelig"),
                    "{}",
                    o.body
                );
                assert!(o.body.contains("Tjenesten er midlertidig utilgjengelig"), "{}", o.body);
            }
            _ => {
                let v: Value = serde_json::from_str(&o.body).unwrap();
                assert_eq!(common::codes(&v), ["not_ready"], "{v}");
            }
        }
    }

    // Back: the same process is ready again by itself, and bookings go through.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = get(client.get(format!("{base}/readyz")), "readyz").await;
        if r.status == Some(StatusCode::OK) {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready_after = up.elapsed();
    assert_eq!(server.pid(), pid, "the same process");
    for path in ["/", "/bookinger"] {
        let page = get(client.get(format!("{base}{path}")).header("cookie", &session), "page").await;
        assert_eq!(page.status, Some(StatusCode::OK), "{path}: {}", page.body);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let sent = stream.await.unwrap();

    // Every answer of the stream came promptly: made, busy, or 503 while it was down.
    for s in &sent {
        assert!(s.took < PROMPT, "{s:?}");
        match s.status {
            Some(StatusCode::CREATED | StatusCode::ACCEPTED | StatusCode::CONFLICT) => {}
            Some(StatusCode::SERVICE_UNAVAILABLE) => {
                assert!(
                    s.sent_at + s.took > down && s.sent_at < up + Duration::from_secs(5),
                    "503 outside the outage: {s:?}"
                );
                assert!(
                    matches!(s.code.as_deref(), Some("unavailable" | "internal_error")),
                    "{s:?}"
                );
            }
            _ => panic!("{s:?}"),
        }
    }
    let refused = sent
        .iter()
        .filter(|s| s.status == Some(StatusCode::SERVICE_UNAVAILABLE))
        .count();
    assert!(refused >= 1, "the stream met the outage: {sent:?}");
    let made_after = sent
        .iter()
        .filter(|s| s.sent_at > up && s.status == Some(StatusCode::CREATED))
        .count();
    assert!(made_after >= 1, "bookings after the restart: {sent:?}");

    // Nothing lost or doubled, and the outbox catches up.
    let bookings = app.store.bookings(&Default::default()).await.unwrap();
    assert_stored_once(&sent, &bookings);
    assert_no_overlap(&bookings);
    let (outbox, received) = all_mail(&app, &sink, Duration::from_secs(45)).await;
    assert_mail_matches_outbox(&outbox, &bookings, &received, 0);
    assert_every_booking_told(&bookings, &received);
    let slowest = outage.iter().map(|o| o.took).max().unwrap_or_default();
    eprintln!(
        "faults: PostgreSQL down {outage_length:?}; slowest answer while down {slowest:?}; ready {ready_after:?} \
         after it was back; stream: {} requests, {refused} answered 503, {made_after} made after; {} messages",
        sent.len(),
        received.len()
    );
    drop(server);
}
