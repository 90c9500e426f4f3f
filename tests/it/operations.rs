//! Running it: `/healthz` says the process lives, `/readyz` that the database answers and its
//! schema is this build's, with the reason in the API's error format when not.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::serve::Serve;
use crate::common::{codes, Backend, TestApp};

on_both_backends!(readiness_needs_the_database_and_a_current_schema);

/// `server.log_format = "json"`: every line `borgertun serve` writes is one JSON object, and
/// the lines of a request carry its request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Serve::new(&format!("sqlite://{}", dir.path().join("db").display()))
        .env("BORGERTUN_SERVER__LOG_FORMAT", "json")
        .env("BORGERTUN_LOG", "info")
        .env("BORGERTUN_MAIL__FILE_DIR", dir.path().join("mail").display())
        .log_to(&dir.path().join("log"))
        .start()
        .await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/rooms", server.base))
        .header("x-request-id", "spor-4711")
        .send()
        .await;
    server.kill9();
    assert_eq!(res.unwrap().status(), StatusCode::UNAUTHORIZED);
    let text = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string()),
        "{text}"
    );
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["request_id"] == "spor-4711"))
        })
        .collect();
    assert!(!of_request.is_empty(), "a line of the request carries its id: {text}");
    assert!(of_request.iter().any(|l| l["span"]["uri"] == "/api/v1/rooms"), "{text}");
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let res = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// Run `sql` on the test's database, past the service.
async fn execute(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    }
}

async fn readiness_needs_the_database_and_a_current_schema(b: Backend) {
    let app = TestApp::spawn(b).await;
    let backend = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let (s, v) = get(&app, "/healthz").await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")), "{v}");
    let (s, v) = get(&app, "/readyz").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["database"].as_str()),
        (Some("ready"), Some(backend))
    );

    // The last migration is not applied (as after rolling back a deploy): not ready, and it
    // says which; the process still lives.
    execute(&app, "DELETE FROM _sqlx_migrations WHERE version = 20261201000080").await;
    let (s, v) = get(&app, "/readyz").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(codes(&v), ["not_ready"]);
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("20261201000080") && message.contains("borgertun migrate"),
        "{message}"
    );
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);

    // A migration this build does not know (a newer build migrated the database).
    execute(
        &app,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 20261201000080, description, success, checksum, execution_time FROM _sqlx_migrations \
         WHERE version = 20261201000070",
    )
    .await;
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK, "current again");
    execute(
        &app,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 20991231000000, description, success, checksum, execution_time FROM _sqlx_migrations \
         WHERE version = 20261201000070",
    )
    .await;
    let (s, v) = get(&app, "/readyz").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("nyere"), "{v}");
}

/// SIGTERM in the middle of a burst of requests: each request either gets its whole answer
/// or is refused before it starts (no status line), never cut off half-way; the process exits
/// 0 well within `server.shutdown_grace_seconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_what_it_began() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Serve::new(&format!("sqlite://{}", dir.path().join("db").display()))
        .env("BORGERTUN_SERVER__SHUTDOWN_GRACE_SECONDS", 10)
        .env("BORGERTUN_MAIL__FILE_DIR", dir.path().join("mail").display())
        .start()
        .await;
    let base = server.base.clone();
    // A new connection for every request, so none meets a connection the server is closing.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    // The OpenAPI document: a large answer, so that some are on the wire when the signal comes.
    let burst: Vec<_> = (0..300)
        .map(|i| {
            let (client, url) = (client.clone(), format!("{base}/api/v1/openapi.json"));
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(i * 2)).await;
                match client.get(url).send().await {
                    // Refused before it started: no answer at all.
                    Err(_) => None,
                    Ok(res) => {
                        let status = res.status();
                        let body = res.bytes().await.expect("an answer that began is whole");
                        let doc: Value = serde_json::from_slice(&body).expect("the whole document");
                        Some((status, doc["openapi"].is_string()))
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let signalled = std::time::Instant::now();
    server.sigterm();
    let mut answered = 0;
    let mut refused = 0;
    for t in burst {
        match t.await.expect("no request was cut off half-way") {
            Some((status, whole)) => {
                assert!(status == StatusCode::OK && whole, "{status}");
                answered += 1;
            }
            None => refused += 1,
        }
    }
    // Exits within the grace period (10 s), with a little to spare for a loaded machine,
    // counted from the signal.
    let status = server
        .wait_exit(std::time::Duration::from_secs(15).saturating_sub(signalled.elapsed()))
        .await;
    assert!(status.success(), "exit status {status}");
    assert!(answered > 0 && refused > 0, "answered {answered}, refused {refused}");
    // Stopped means stopped: nothing listens any more.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

/// `borgertun backup FILE` on the database at `url`.
async fn backup(file: &std::path::Path, url: &str) -> std::process::Output {
    let (file, url) = (file.to_path_buf(), url.to_string());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_borgertun"))
            .args(["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config"), "backup"])
            .arg(file)
            .env("BORGERTUN_DATABASE_URL", url)
            .env("BORGERTUN_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// `borgertun backup FILE` while bookings are being written: the copy is a sound SQLite
/// database, and a fresh server on it has every booking that was acknowledged before the
/// backup began. On PostgreSQL it prints the `pg_dump` command, without the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_writes_keeps_every_acknowledged_booking() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut tokens = Vec::new();
    for i in 0..40 {
        let org = ["uib", "hvl", "norce", "vid"][i % 4];
        tokens.push(
            app.user(&format!("skriver{i}@{org}.no"), org, borgertun::domain::Role::Requester)
                .await,
        );
    }
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(std::time::Instant, i64)>::new()));
    let mut days: Vec<chrono::NaiveDate> = (10..40).map(|k| app.open_day(k)).collect();
    days.dedup();
    let writes: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let day = days[i / 6];
            let from = ["08:00", "10:00", "12:00", "14:00", "16:00", "18:00"][i % 6];
            let to = ["09:00", "11:00", "13:00", "15:00", "17:00", "19:00"][i % 6];
            let body = crate::common::booking(day, from, to, "Skrevet under kopien");
            let (client, url, token, acknowledged) = (
                app.client.clone(),
                format!("{}/api/v1/bookings", app.base),
                token.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(10 * i as u64)).await;
                let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                if res.status() == StatusCode::CREATED {
                    let v: Value = res.json().await.unwrap();
                    acknowledged
                        .lock()
                        .unwrap()
                        .push((std::time::Instant::now(), v["id"].as_i64().unwrap()));
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("kopi.db");
    let began = std::time::Instant::now();
    let out = backup(&copy, &app.db_url).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backed up to"));
    for w in writes {
        w.await.unwrap();
    }
    let before: Vec<i64> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| *id)
        .collect();
    assert!(!before.is_empty(), "some bookings were acknowledged before the backup");
    assert_eq!(acknowledged.lock().unwrap().len(), 40, "every write went through");

    // A second backup to the same file is refused, and changes nothing.
    let again = backup(&copy, &app.db_url).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restored: a fresh server on the copy.
    let restored_url = format!("sqlite://{}", copy.display());
    let pool = sqlx::SqlitePool::connect(&restored_url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    pool.close().await;
    let restored = TestApp::spawn_with(Backend::Sqlite, |c| c.database.url = restored_url.clone()).await;
    for id in &before {
        let b = restored.store.booking(*id).await.unwrap();
        assert!(
            b.is_some_and(|b| b.status == borgertun::domain::Status::Confirmed),
            "booking {id} in the copy"
        );
    }
    let (s, _) = get(&restored, "/readyz").await;
    assert_eq!(s, StatusCode::OK);

    // PostgreSQL: the command to run, without the password.
    let pg = backup(
        &dir.path().join("pg.dump"),
        "postgres://borgertun:hemmelig@127.0.0.1:1/borgertun",
    )
    .await;
    let text = String::from_utf8_lossy(&pg.stdout).to_string();
    assert!(pg.status.success(), "{}", String::from_utf8_lossy(&pg.stderr));
    assert!(
        text.contains("pg_dump --format=custom") && text.contains("borgertun@127.0.0.1:1/borgertun"),
        "{text}"
    );
    assert!(!text.contains("hemmelig"), "{text}");
}
