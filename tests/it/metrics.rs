//! Prometheus metrics of a real `borgertun serve` on `server.metrics_bind`: requests by route
//! and status with their latency histogram, booking decisions by outcome, the outbox's depth
//! and oldest message, send failures, active holds and sessions.

use std::collections::BTreeMap;

use borgertun::domain::{Role, Status};
use chrono::{Duration, Utc};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::serve::Serve;
use crate::common::tools::free_port;
use crate::common::{at, booking, Backend, TestApp};

on_both_backends!(metrics_count_what_happened);

/// The samples of a scrape: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {l}"));
            (
                key.to_string(),
                value.parse().unwrap_or_else(|_| panic!("a number: {l}")),
            )
        })
        .collect()
}

fn sample(s: &BTreeMap<String, f64>, key: &str) -> f64 {
    *s.get(key)
        .unwrap_or_else(|| panic!("{key} in the scrape: {:#?}", s.keys().collect::<Vec<_>>()))
}

async fn scrape(client: &reqwest::Client, url: &str) -> (BTreeMap<String, f64>, String) {
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        res.headers()
    );
    let text = res.text().await.unwrap();
    (samples(&text), text)
}

async fn metrics_count_what_happened(b: Backend) {
    // The in-process server (on the same database) sends nothing: the serve process's worker
    // is the only one.
    let app = TestApp::spawn_with(b, |c| c.mail.poll_interval = std::time::Duration::from_secs(3600)).await;
    let token = app.user("kari@uib.no", "uib", Role::Requester).await;
    let metrics_port = free_port();
    // Mail goes to an SMTP port where nothing listens: every attempt fails and is retried
    // much later, so the confirmation stays in the outbox.
    let server = Serve::new(&app.db_url)
        .env("BORGERTUN_SERVER__METRICS_BIND", format!("127.0.0.1:{metrics_port}"))
        .env("BORGERTUN_SMTP_URL", format!("smtp://127.0.0.1:{}", free_port()))
        .env("BORGERTUN_MAIL__POLL_INTERVAL_MS", 100)
        .env("BORGERTUN_MAIL__RETRY_BASE_MS", 3_600_000)
        .start()
        .await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");

    // The metrics listener serves `GET /metrics` and nothing else.
    let other = client
        .get(format!("http://127.0.0.1:{metrics_port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let other = client.post(&url).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Not on the public port.
    let res = client.get(format!("{}/metrics", server.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let day = app.open_day(9);
    let post = |body: serde_json::Value| {
        let (client, token, base) = (client.clone(), token.clone(), server.base.clone());
        async move {
            client
                .post(format!("{base}/api/v1/bookings"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        post(booking(day, "10:00", "12:00", "Måling")).await,
        StatusCode::CREATED
    );
    assert_eq!(
        post(booking(day, "11:00", "13:00", "Samme tid")).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        post(booking(day, "07:00", "09:00", "For tidlig")).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    for _ in 0..3 {
        let res = client.get(format!("{}/?dato={day}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = client
        .get(format!("{}/api/v1/bookings/999999", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A live session (signed in through the in-process server on the same database) and a
    // hold offered to someone, an hour left of it.
    let mut browser = Browser::new(&app);
    browser.sign_in("kari@uib.no").await;
    let start = chrono::DateTime::parse_from_rfc3339(&at(app.open_day(11), "09:00"))
        .unwrap()
        .with_timezone(&Utc);
    let held = app
        .store_booking(
            "kari@uib.no",
            start,
            start + Duration::hours(1),
            "Holdt",
            Status::Confirmed,
            Utc::now(),
        )
        .await;
    set_held(&app, held, Utc::now() + Duration::hours(1)).await;

    // Both messages' sends failed once; wait for that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (s, text) = loop {
        let (s, text) = scrape(&client, &url).await;
        if s.get("borgertun_mail_send_failures_total").copied().unwrap_or(0.0) >= 2.0 {
            break (s, text);
        }
        assert!(std::time::Instant::now() < deadline, "no send failure counted: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };

    let route = |method: &str, route: &str, status: u16| {
        format!(r#"borgertun_http_requests_total{{method="{method}",route="{route}",status="{status}"}}"#)
    };
    assert_eq!(sample(&s, &route("POST", "/api/v1/bookings", 201)), 1.0);
    assert_eq!(sample(&s, &route("POST", "/api/v1/bookings", 409)), 1.0);
    assert_eq!(sample(&s, &route("POST", "/api/v1/bookings", 422)), 1.0);
    assert_eq!(sample(&s, &route("GET", "/", 200)), 3.0);
    // The route's pattern, not the raw path: one series for every booking id.
    assert_eq!(sample(&s, &route("GET", "/api/v1/bookings/{id}", 404)), 1.0);
    assert!(s.keys().all(|k| !k.contains("999999")), "{text}");

    // The latency histogram: its count is the number of requests, and its buckets climb.
    let hist = r#"borgertun_http_request_duration_seconds_count{method="POST",route="/api/v1/bookings"}"#;
    assert_eq!(sample(&s, hist), 3.0);
    let inf = r#"borgertun_http_request_duration_seconds_bucket{method="GET",route="/",le="+Inf"}"#;
    assert_eq!(sample(&s, inf), 3.0);
    let ten_s = r#"borgertun_http_request_duration_seconds_bucket{method="GET",route="/",le="10"}"#;
    assert_eq!(sample(&s, ten_s), 3.0, "a week view takes less than 10 s");
    assert!(
        sample(
            &s,
            r#"borgertun_http_request_duration_seconds_sum{method="GET",route="/"}"#
        ) > 0.0
    );

    let decision = |outcome: &str| format!(r#"borgertun_booking_decisions_total{{outcome="{outcome}"}}"#);
    assert_eq!(sample(&s, &decision("confirmed")), 1.0);
    assert_eq!(sample(&s, &decision("busy")), 1.0);
    assert_eq!(sample(&s, &decision("refused")), 1.0);

    // The database's figures: the unsent confirmation and sign-in mail, the hold, the session.
    assert_eq!(sample(&s, "borgertun_outbox_depth"), 2.0);
    let age = sample(&s, "borgertun_outbox_oldest_unsent_age_seconds");
    assert!(age > 0.0 && age < 60.0, "{age}");
    assert_eq!(sample(&s, "borgertun_active_holds"), 1.0);
    assert_eq!(sample(&s, "borgertun_active_sessions"), 1.0);
    assert_eq!(sample(&s, "borgertun_gauges_stale"), 0.0);
    assert_eq!(s.get("borgertun_mail_sent_total"), None, "nothing was sent");
    for help in [
        "# HELP borgertun_http_requests_total",
        "# HELP borgertun_booking_decisions_total",
        "# TYPE borgertun_http_request_duration_seconds histogram",
        "# TYPE borgertun_outbox_depth gauge",
    ] {
        assert!(text.contains(help), "{help} in {text}");
    }

    // The hold runs out, the session ends: the next scrape says so.
    set_held(&app, held, Utc::now() - Duration::minutes(1)).await;
    browser.post("/logg-ut", &[("csrf", &browser.csrf())]).await;
    let (s, _) = scrape(&client, &url).await;
    assert_eq!(sample(&s, "borgertun_active_holds"), 0.0);
    assert_eq!(sample(&s, "borgertun_active_sessions"), 0.0);
}

/// Make booking `id` a hold until `until`, past the service.
async fn set_held(app: &TestApp, id: i64, until: chrono::DateTime<Utc>) {
    let sql = "UPDATE bookings SET status = 'held', held_until = $1 WHERE id = $2";
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
            sqlx::query(sql).bind(until).bind(id).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
            sqlx::query(sql).bind(until).bind(id).execute(&pool).await.unwrap();
        }
    }
}

/// Off by default: no listener, nothing counted; a bad address is refused at start.
#[tokio::test]
async fn metrics_are_off_unless_bound_and_a_bad_bind_is_refused() {
    let cfg = crate::common::shipped_config();
    assert_eq!(cfg.server.metrics_bind, None);
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_borgertun"))
        .args(["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config"), "serve"])
        .env(
            "BORGERTUN_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("db").display()),
        )
        .env("BORGERTUN_BIND", format!("127.0.0.1:{}", free_port()))
        .env("BORGERTUN_SERVER__METRICS_BIND", "overalt")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.metrics_bind"), "{err}");
}
