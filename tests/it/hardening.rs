//! The edge of the server, as an attacker on loopback would try it: rate limits behind a proxy
//! and against locking someone out, absurd dates, secrets in the log, in the outbox and on
//! disk, caching of signed-in answers, and the API's limit on booking writes.

use borgertun::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::{booking, codes, login_mail_text, Backend, TestApp};

on_both_backends!(
    sign_in_limits_follow_the_client_behind_a_trusted_proxy,
    others_cannot_lock_a_person_out_of_signing_in,
    absurd_dates_are_refused_everywhere,
    sent_sign_in_mails_keep_no_link,
    signed_in_answers_are_not_stored,
    api_booking_writes_are_limited_per_token,
    tokens_never_reach_the_request_log
);

/// A sign-in request from `browser` as if from `client`, through a proxy that sets
/// `X-Forwarded-For` (or from the socket's own address, with `None`).
async fn ask_link(app: &TestApp, browser: &Browser<'_>, client: Option<&str>, email: &str) -> StatusCode {
    let mut req = reqwest::Client::new()
        .post(format!("{}/logg-inn", app.base))
        .header("cookie", browser.cookie_header())
        .form(&[("csrf", browser.csrf().as_str()), ("email", email)]);
    if let Some(ip) = client {
        req = req.header("x-forwarded-for", format!("6.6.6.6, {ip}"));
    }
    req.send().await.unwrap().status()
}

/// Behind the load balancer (trusted), each client has its own bucket: one client's burst does
/// not lock out the next. From an untrusted peer, `X-Forwarded-For` is not believed.
async fn sign_in_limits_follow_the_client_behind_a_trusted_proxy(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let mut browser = Browser::new(&app);
    browser.get("/logg-inn").await;
    for i in 0..30 {
        let s = ask_link(&app, &browser, Some("203.0.113.5"), &format!("x{i}@example.org")).await;
        assert_eq!(s, StatusCode::OK, "request {i}");
    }
    assert_eq!(
        ask_link(&app, &browser, Some("203.0.113.5"), "y@example.org").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not affected.
    assert_eq!(
        ask_link(&app, &browser, Some("203.0.113.6"), "z@example.org").await,
        StatusCode::OK
    );
    // The first client's bucket refills with time (the service's clock).
    app.clock.advance(chrono::TimeDelta::seconds(31));
    assert_eq!(
        ask_link(&app, &browser, Some("203.0.113.5"), "y@example.org").await,
        StatusCode::OK
    );

    // Without trusted proxies (the default) the header is only what a client wrote.
    let app = TestApp::spawn(b).await;
    let mut browser = Browser::new(&app);
    browser.get("/logg-inn").await;
    for i in 0..30 {
        let ip = format!("198.51.100.{i}");
        assert_eq!(
            ask_link(&app, &browser, Some(&ip), &format!("x{i}@example.org")).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        ask_link(&app, &browser, Some("198.51.100.99"), "y@example.org").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Requests by others for kari's address do not stop kari: she gets the same answer, a link
/// she already has works, and the mails held back resume with time.
async fn others_cannot_lock_a_person_out_of_signing_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let mut mallory = Browser::new(&app);
    mallory.get("/logg-inn").await;
    for _ in 0..8 {
        assert_eq!(ask_link(&app, &mallory, None, "kari@uib.no").await, StatusCode::OK);
    }
    let logins = |outbox: &[borgertun::store::OutboxMessage]| outbox.iter().filter(|m| m.kind == "login").count();
    assert_eq!(
        logins(&app.store.outbox().await.unwrap()),
        5,
        "five mails, the rest held back"
    );

    let mut kari = Browser::new(&app);
    kari.get("/logg-inn").await;
    let csrf = kari.csrf();
    let page = kari
        .post("/logg-inn", &[("csrf", &csrf), ("email", "kari@uib.no")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Vi har sendt en innloggingslenke"));
    // The newest link in her inbox signs her in.
    let text = login_mail_text(&app, "kari@uib.no").await.unwrap();
    let link = crate::common::login_link_in(&text).unwrap();
    let page = kari.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(kari.get("/").await.html.contains("Logget inn som"));

    app.clock.advance(chrono::TimeDelta::minutes(4));
    let mut again = Browser::new(&app);
    again.get("/logg-inn").await;
    assert_eq!(ask_link(&app, &again, None, "kari@uib.no").await, StatusCode::OK);
    assert_eq!(logins(&app.store.outbox().await.unwrap()), 6);
}

/// Years like -2 get a clear error (API: `invalid_date`; pages: a Norwegian field error), and
/// the connection is never dropped.
async fn absurd_dates_are_refused_everywhere(b: Backend) {
    let app = TestApp::spawn(b).await;
    let coordinator = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hint = "Året må være fra 2000 til 2999.";

    let (s, v) = app
        .get(&coordinator, "/api/v1/reports/summary?from=-0002-03-01&to=-0002-03-05")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), ["invalid_date", "invalid_date"], "{v}");
    for q in ["from=1999-12-31&to=2000-01-05", "from=2026-03-01&to=3000-01-01"] {
        let (s, v) = app.get(&coordinator, &format!("/api/v1/reports/summary?{q}")).await;
        assert_eq!(
            (s, codes(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["invalid_date".to_string()]),
            "{q}"
        );
    }

    let day = app.open_day(10);
    let (s, v) = app
        .post(
            &kari,
            "/api/v1/bookings",
            &booking(day, "09:00", "10:00", "Forskermøte"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let before = app.snapshot().await;

    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let csrf = k.csrf();
    let page = k
        .post(
            "/booking/ny",
            &[
                ("csrf", csrf.as_str()),
                ("dato", "-0002-03-02"),
                ("fra", "09:00"),
                ("til", "10:00"),
                ("tittel", "Forskermøte"),
                ("deltakere", "12"),
                ("beskrivelse", ""),
                ("offentlig", "ja"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(hint), "{}", page.html);

    let page = k
        .post(
            &format!("/bookinger/{id}/flytt"),
            &[
                ("csrf", csrf.as_str()),
                ("dato", "-0007-03-02"),
                ("fra", "09:00"),
                ("til", "10:00"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(hint), "{}", page.html);
    assert_eq!(app.snapshot().await, before, "nothing changed");

    let mut coord = Browser::new(&app);
    coord.sign_in("koordinator@bergen.kommune.no").await;
    let page = coord.get("/rapport?fra=-0002-03-01&til=-0002-03-05").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains(hint));
    let page = coord.get("/rapport.csv?fra=-0002-03-01&til=-0002-03-05").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = coord
        .get("/koordinator/bookinger?fra=-0002-03-01&til=-0002-03-05")
        .await;
    assert!(page.html.contains(hint), "{}", page.status);
}

/// Once the outbox worker has sent a sign-in mail, the outbox keeps no link; the mail file is
/// the owner's alone, and so are the database's folder and files.
async fn sent_sign_in_mails_keep_no_link(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        // The test sends the mail itself (below), so the server's worker stays asleep.
        c.mail.poll_interval = std::time::Duration::from_secs(3600);
        // A data folder the service makes itself, as on a fresh install.
        let root = c.mail.file_dir.parent().unwrap().join("data");
        c.mail.file_dir = root.join("mail");
        if c.database.url.starts_with("sqlite:") {
            c.database.url = format!("sqlite://{}", root.join("borgertun.db").display());
        }
    })
    .await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let mut kari = Browser::new(&app);
    kari.get("/logg-inn").await;
    assert_eq!(ask_link(&app, &kari, None, "kari@uib.no").await, StatusCode::OK);

    // Send what is due, as the worker does.
    let transport = borgertun::mail::transport::Transport::from_config(&app.config.mail).unwrap();
    borgertun::mail::worker::run_once(app.store.as_ref(), &transport, &app.config.mail, app.clock.as_ref())
        .await
        .unwrap();
    let outbox = app.store.outbox().await.unwrap();
    let mail = outbox.iter().find(|m| m.kind == "login").unwrap();
    assert!(mail.sent_at.is_some());
    assert!(
        !mail.body_text.contains("/logg-inn/lenke/") && !mail.body_html.contains("/logg-inn/lenke/"),
        "{mail:?}"
    );
    // The link is in the mail that went out, and it works.
    let text = login_mail_text(&app, "kari@uib.no").await.unwrap();
    let link = crate::common::login_link_in(&text).unwrap();
    let csrf = kari.csrf();
    assert_eq!(kari.post(&link, &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let mail_dir = &app.config.mail.file_dir;
        let root = mail_dir.parent().unwrap();
        assert_eq!(mode(root), 0o700, "{}", root.display());
        assert_eq!(mode(mail_dir), 0o700);
        let files: Vec<_> = std::fs::read_dir(mail_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!files.is_empty());
        for f in files {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        if b == Backend::Sqlite {
            let db = root.join("borgertun.db");
            assert_eq!(mode(&db), 0o600);
            for suffix in ["-wal", "-shm"] {
                let f = root.join(format!("borgertun.db{suffix}"));
                if f.exists() {
                    assert_eq!(mode(&f), 0o600, "{}", f.display());
                }
            }
        }
    }
}

/// Pages behind sign-in and answers with a secret are `no-store`; public pages are not; HSTS
/// over https only.
async fn signed_in_answers_are_not_stored(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let cache = |h: &reqwest::header::HeaderMap| {
        h.get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let mut anon = Browser::new(&app);
    let page = anon.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_ne!(cache(&page.headers), "no-store");
    assert!(page.headers.get("strict-transport-security").is_none());

    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    for path in ["/", "/bookinger", "/kalenderabonnement"] {
        let page = k.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(cache(&page.headers), "no-store", "{path}");
    }
    // A new feed link, shown once: in the API.
    let res = app
        .client
        .post(format!("{}/api/v1/feeds", app.base))
        .bearer_auth(&kari)
        .json(&json!({"kind": "room"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(cache(res.headers()), "no-store");
    // The stylesheet keeps its own caching, signed in or not.
    let css = k.get("/static/borgertun.css").await;
    assert!(cache(&css.headers).starts_with("public"));

    let app = TestApp::spawn_with(b, |c| c.server.public_url = Some("https://booking.example".into())).await;
    let res = app.client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

/// A token may make `server.api_booking_writes_per_minute` booking writes in a burst; then 429
/// with `Retry-After`, in the API's error format. Other tokens and reads go on.
async fn api_booking_writes_are_limited_per_token(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.server.api_booking_writes_per_minute = 3).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(10);
    for (i, from) in ["09:00", "11:00", "13:00"].into_iter().enumerate() {
        let to = format!("{:02}:00", from[..2].parse::<u32>().unwrap() + 1);
        let (s, v) = app
            .post(
                &kari,
                "/api/v1/bookings",
                &booking(day, from, &to, &format!("Møte {i}")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let res = app
        .client
        .post(format!("{}/api/v1/bookings", app.base))
        .bearer_auth(&kari)
        .json(&booking(day, "15:00", "16:00", "Ett for mye"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let v: Value = res.json().await.unwrap();
    assert_eq!(codes(&v), ["rate_limited"]);
    assert_eq!(app.snapshot().await.len(), 3, "nothing written");

    // Reads, and another token, go on.
    let (s, _) = app.get(&kari, "/api/v1/bookings").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post(&ola, "/api/v1/bookings", &booking(day, "15:00", "16:00", "HVL"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // A minute's worth of time later (the service's clock), kari may write again.
    app.clock.advance(chrono::TimeDelta::seconds(21));
    let (s, v) = app
        .post(&kari, "/api/v1/bookings", &booking(day, "17:00", "18:00", "Senere"))
        .await;
    assert_ne!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");

    // The document says so.
    let (_, spec) = app.get(&kari, "/api/v1/openapi.json").await;
    assert!(spec["paths"]["/api/v1/bookings"]["post"]["responses"]["429"].is_object());
    assert!(spec["paths"]["/api/v1/bookings/{id}"]["patch"]["responses"]["429"].is_object());
    assert!(spec["paths"]["/api/v1/bookings"]["get"]["responses"]["429"].is_null());
}

// ---------- the request log ----------

/// A `borgertun serve` child process on the database of `app`, its log (stderr) written to
/// `log`; killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve_logging_to(app: &TestApp, log: &std::path::Path, mail_dir: &std::path::Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_borgertun"))
        .args(["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config"), "serve"])
        .env("BORGERTUN_DATABASE_URL", &app.db_url)
        .env("BORGERTUN_BIND", format!("127.0.0.1:{port}"))
        .env("BORGERTUN_LOG", "info")
        .env("BORGERTUN_MAIL__FILE_DIR", mail_dir)
        // Its outbox worker stays asleep: the sign-in mail waits in the outbox for the test.
        .env("BORGERTUN_MAIL__POLL_INTERVAL_MS", "3600000")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start borgertun serve");
    let child = Child(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status().is_success() {
                return (child, base);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("borgertun serve on port {port} did not start");
}

/// The anti-forgery token of a page's form.
fn form_token(html: &str) -> String {
    const FIELD: &str = r#"name="csrf" value=""#;
    let at = html.find(FIELD).expect("a form with an anti-forgery token") + FIELD.len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The request log of a real `borgertun serve` holds the paths of a sign-in and of a feed
/// with their tokens redacted.
async fn tokens_never_reach_the_request_log(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("borgertun.log");
    let (server, base) = serve_logging_to(&app, &log, &dir.path().join("mail")).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Signed out, the form's anti-forgery token is bound to the pre-session cookie.
    let res = client.get(format!("{base}/logg-inn")).send().await.unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let csrf = form_token(&res.text().await.unwrap());
    let res = client
        .post(format!("{base}/logg-inn"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("email", "kari@uib.no")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = login_mail_text(&app, "kari@uib.no").await.unwrap();
    let link = crate::common::login_link_in(&text).unwrap();
    let res = client
        .get(format!("{base}{link}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = form_token(&res.text().await.unwrap());
    let res = client
        .post(format!("{base}{link}"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let res = client
        .post(format!("{base}/api/v1/feeds"))
        .bearer_auth(&kari)
        .json(&json!({"kind": "room"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let feed: Value = res.json().await.unwrap();
    let feed_token = feed["token"].as_str().unwrap().to_string();
    let res = client
        .get(format!("{base}/feeds/{feed_token}.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let sign_in_token = link.trim_start_matches("/logg-inn/lenke/");
    assert!(
        text.contains("/logg-inn/lenke/[redacted]"),
        "the sign-in requests are logged:\n{text}"
    );
    assert!(
        text.contains("/feeds/[redacted]"),
        "the feed request is logged:\n{text}"
    );
    assert!(!text.contains(sign_in_token), "a sign-in token in the log:\n{text}");
    assert!(!text.contains(&feed_token), "a feed token in the log:\n{text}");
}
