//! The deployment as shipped: Debian's nginx with `deploy/nginx/borgertun.conf`, over HTTPS
//! with a self-signed certificate made here by openssl, in front of two `borgertun serve`
//! processes that have the settings of `deploy/borgertun.env` and share one PostgreSQL
//! database. Through it: a 50-client booking race with exactly one winner, sign-in with
//! `__Host-` cookies that are `Secure`, each client counted by the rate limit and named in the
//! instances' logs by its own address (the clients connect from 127.0.0.2 and up), not by
//! nginx's, even when it forges `X-Forwarded-For`; the redirect from HTTP, the cache of
//! `/static/`, and a rolling restart under load without a failed request. And
//! `deploy/borgertun@.service` as `systemd-analyze` reads and rates it.
//!
//! The site file is used as shipped but for a fixed list of whole lines (the listen ports,
//! the certificate, the cache folder, the upstream's servers: [`site_for_test`]); each of
//! them must be in the file exactly once, so the test fails when the file changes under it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use borgertun::domain::{Role, Status};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::serve::{Serve, ServeProcess};
use crate::common::tools::free_port;
use crate::common::{booking, login_link_in, login_mail_text, postgres_admin_url, require, Backend, TestApp};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The clients of the race connect from 127.0.0.10 to 127.0.0.59.
fn race_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 10 + u8::try_from(i).unwrap())
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn nginx_over_https_in_front_of_two_instances_on_one_database() {
        super::nginx_over_https_in_front_of_two_instances_on_one_database().await;
    }
}

async fn nginx_over_https_in_front_of_two_instances_on_one_database() {
    let Some((nginx_bin, openssl)) = require(nginx_and_openssl()) else {
        return;
    };
    if require(postgres_admin_url()).is_none() {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();

    // One fresh PostgreSQL database (schema, users) and two real server processes on it, with
    // the shipped environment file's settings and the test's public address.
    let app = TestApp::spawn(Backend::Postgres).await;
    let (https_port, http_port) = (free_port(), free_port());
    let public_url = format!("https://127.0.0.1:{https_port}");
    let shipped = shipped_env(&public_url);
    assert_eq!(
        shipped.get("BORGERTUN_SERVER__TRUSTED_PROXIES").map(String::as_str),
        Some("[127.0.0.1/32]"),
        "deploy/borgertun.env names nginx on this host as the trusted proxy"
    );
    let logs = [dir.path().join("one.log"), dir.path().join("two.log")];
    let mut instances: Vec<ServeProcess> = Vec::new();
    for log in &logs {
        let mut serve = Serve::new(&app.db_url)
            .env("BORGERTUN_LOG", "info,sqlx=warn")
            .env("BORGERTUN_SERVER__LOG_FORMAT", "json")
            .env("BORGERTUN_MAIL__FILE_DIR", app.config.mail.file_dir.display())
            .log_to(log);
        for (key, value) in &shipped {
            serve = serve.env(key, value);
        }
        instances.push(serve.start().await);
    }
    let cert = make_certificate(&openssl, dir.path());
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let site = site_for_test(
        &std::fs::read_to_string(Path::new(ROOT).join("deploy/nginx/borgertun.conf")).unwrap(),
        dir.path(),
        https_port,
        http_port,
        [instances[0].port(), instances[1].port()],
    );
    let nginx = Nginx::start(&nginx_bin, dir.path(), &site, https_port);
    let client_from = |from: Ipv4Addr| client(&root, from);

    // Plain HTTP only redirects to HTTPS.
    let res = client_from(Ipv4Addr::new(127, 0, 0, 2))
        .get(format!("http://127.0.0.1:{http_port}/logg-inn"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(res.headers()["location"], "https://127.0.0.1/logg-inn");

    // 50 clients, each from its own address, race for one slot over HTTPS: exactly one wins,
    // the 49 others are told it is busy, and the database has one confirmed booking.
    let mut tokens = Vec::new();
    let orgs = ["uib", "hvl", "norce", "vid", "fhi"];
    for i in 0..50 {
        let org = orgs[i % orgs.len()];
        tokens.push(app.user(&format!("deltaker{i}@{org}.no"), org, Role::Requester).await);
    }
    let day = app.open_day(12);
    let body = booking(day, "13:00", "15:00", "Bak nginx");
    let barrier = Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let tasks: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, barrier, token, body, url) = (
                client_from(race_address(i)),
                barrier.clone(),
                token.clone(),
                body.clone(),
                format!("{public_url}/api/v1/bookings"),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                assert!(
                    res.headers().contains_key("strict-transport-security"),
                    "{:?}",
                    res.headers()
                );
                res.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(),
        49,
        "{statuses:?}"
    );
    let all = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, Status::Confirmed);

    // Signing in over HTTPS: both cookies are __Host- cookies, Secure, HttpOnly, SameSite, for
    // the whole host; the session then works on both instances, and its pages are not cached.
    app.user("kari.nordmann@uib.no", "uib", Role::Requester).await;
    let kari = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let mut jar = Jar::default();
    let res = kari.get(format!("{public_url}/logg-inn")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let pre = jar.take(&res, "__Host-borgertun_presession");
    assert_host_cookie(&pre, "SameSite=Strict");
    let csrf = csrf_of(&res.text().await.unwrap());
    let res = kari
        .post(format!("{public_url}/logg-inn"))
        .header("cookie", jar.header())
        .form(&[("email", "kari.nordmann@uib.no"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let link = wait_for_login_link(&app, "kari.nordmann@uib.no").await;
    let res = kari
        .get(format!("{public_url}{link}"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let csrf = csrf_of(&res.text().await.unwrap());
    let res = kari
        .post(format!("{public_url}{link}"))
        .header("cookie", jar.header())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = jar.take(&res, "__Host-borgertun_session");
    assert_host_cookie(&session, "SameSite=Lax");
    assert!(
        !jar.cookies.contains_key("borgertun_session"),
        "no cookie without the prefix: {:?}",
        jar.cookies
    );
    // nginx takes turns between the instances: four pages, two from each, all signed in.
    for _ in 0..4 {
        let res = kari
            .get(format!("{public_url}/"))
            .header("cookie", jar.header())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-store", "a signed-in page");
        assert!(res.text().await.unwrap().contains("Logg ut"), "signed in");
    }

    // The sign-in limit counts each client by its own address. One client sends 80 sign-in
    // requests (each instance lets 30 through, then one every 30 s), each with a forged
    // X-Forwarded-For: the forgery does not help it, it is refused...
    let flooder = client_from(Ipv4Addr::new(127, 0, 0, 3));
    let (jar3, csrf3) = sign_in_form(&flooder, &public_url).await;
    let mut refused = 0;
    for i in 0..80 {
        let res = flooder
            .post(format!("{public_url}/logg-inn"))
            .header("cookie", jar3.header())
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[("email", "ukjent@example.org"), ("csrf", csrf3.as_str())])
            .send()
            .await
            .unwrap();
        match res.status() {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("sign-in request {i}: {other}"),
        }
    }
    assert!(
        (15..=50).contains(&refused),
        "80 requests, two instances letting 30 each through: {refused} refused"
    );
    // ... and a client next to it, behind the same nginx, is not.
    let neighbour = client_from(Ipv4Addr::new(127, 0, 0, 4));
    let (jar4, csrf4) = sign_in_form(&neighbour, &public_url).await;
    for _ in 0..2 {
        let res = neighbour
            .post(format!("{public_url}/logg-inn"))
            .header("cookie", jar4.header())
            .form(&[("email", "ukjent@example.org"), ("csrf", csrf4.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "another client is not limited");
    }

    // /static/ is cached by nginx: the second request does not reach an instance.
    let mut cache = Vec::new();
    for _ in 0..2 {
        let res = kari
            .get(format!("{public_url}/static/borgertun.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        cache.push(res.headers()["x-cache-status"].to_str().unwrap().to_string());
        assert!(res.text().await.unwrap().contains("body"));
    }
    assert_eq!(cache, ["MISS", "HIT"]);

    // A rolling restart as docs/operations.md «Upgrade» does it, while eight clients keep
    // reading and writing through nginx: for each instance in turn, `down` in the upstream
    // and nginx reloaded, SIGTERM, started again, ready, back in the upstream and nginx
    // reloaded. Every request gets the service's own answer, never nginx's 502 or 504. (Each
    // request on a new connection to nginx: what is measured is nginx and the instances, not
    // how a client copes with nginx closing its idle connections when it reloads.)
    let stop = Arc::new(AtomicBool::new(false));
    let burst: Vec<_> = (0..8)
        .map(|k| {
            let client = reqwest::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(root.clone())
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 5)))
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            let (stop, url) = (stop.clone(), public_url.clone());
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let res = if n % 2 == 0 {
                        client
                            .get(format!("{url}/api/v1/rooms"))
                            .bearer_auth(&tokens[k])
                            .send()
                            .await
                    } else {
                        // 422 (incomplete), or 429 past a token's limit (spread over 40 tokens).
                        client
                            .post(format!("{url}/api/v1/bookings"))
                            .bearer_auth(&tokens[10 + (k * 5 + n) % 40])
                            .json(&serde_json::json!({"room": "borgertun"}))
                            .send()
                            .await
                    };
                    answers.push(res.map(|r| r.status()).map_err(|e| e.to_string()));
                    n += 1;
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for instance in instances.iter_mut() {
        nginx.upstream_down(instance.port(), true).await;
        let old = instance.pid();
        let status = instance.terminate(Duration::from_secs(25)).await;
        assert!(status.success(), "{status}");
        instance.restart().await;
        assert_ne!(instance.pid(), old, "a new process");
        let ready = reqwest::get(format!("{}/readyz", instance.base)).await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        nginx.upstream_down(instance.port(), false).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for task in burst {
        answers.extend(task.await.unwrap());
    }
    let bad: Vec<_> = answers
        .iter()
        .filter(|a| !matches!(a, Ok(s) if [StatusCode::OK, StatusCode::UNPROCESSABLE_ENTITY, StatusCode::TOO_MANY_REQUESTS].contains(s)))
        .collect();
    assert!(answers.len() > 100, "{} requests", answers.len());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for a in &bad {
        *counts.entry(format!("{a:?}")).or_default() += 1;
    }
    let upstream_errors: Vec<String> = nginx
        .error_log()
        .lines()
        .filter(|l| l.contains("upstream"))
        .map(|l| l.chars().take(300).collect())
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} answers not the service's: {counts:?}\nnginx: {upstream_errors:#?}",
        bad.len(),
        answers.len(),
    );

    // The instances' logs name each client by its own address: every client of the race,
    // the signed-in browser, the flooder; never a forged address, and nginx's own (127.0.0.1)
    // only for the health checks that did not come through it.
    drop(instances);
    let lines = request_lines(&logs);
    let race: BTreeSet<String> = (0..50).map(|i| race_address(i).to_string()).collect();
    let mut race_seen = BTreeSet::new();
    let mut per_instance = [0, 0];
    let mut flood_lines = 0;
    let mut static_lines = 0;
    for line in &lines {
        let (client, method, uri) = (line.client.as_str(), line.method.as_str(), line.uri.as_str());
        assert!(
            !client.starts_with("198.51.100."),
            "a forged address was believed: {line:?}"
        );
        if client == "127.0.0.1" {
            assert!(
                uri == "/healthz" || uri == "/readyz",
                "only the direct health checks come from 127.0.0.1: {line:?}"
            );
        }
        if method == "POST" && uri == "/api/v1/bookings" && client != "127.0.0.5" {
            assert!(race.contains(client), "{line:?}");
            race_seen.insert(client.to_string());
            per_instance[line.instance] += 1;
        }
        if method == "POST" && uri == "/logg-inn" && client == "127.0.0.3" {
            flood_lines += 1;
        }
        if uri == "/static/borgertun.css" {
            static_lines += 1;
        }
    }
    assert_eq!(
        race_seen, race,
        "every client of the race is in the logs under its own address"
    );
    assert!(
        per_instance[0] > 0 && per_instance[1] > 0,
        "both instances took part in the race: {per_instance:?}"
    );
    assert_eq!(per_instance[0] + per_instance[1], 50);
    assert_eq!(flood_lines, 80);
    assert_eq!(static_lines, 1, "the second stylesheet request came from nginx's cache");
    assert!(
        lines
            .iter()
            .filter(|l| l.method == "POST" && l.uri == "/api/v1/bookings")
            .all(|l| l.user.is_some()),
        "the race's lines name the token's user too"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.client == "127.0.0.2" && l.method == "GET" && l.uri == "/")
            .count(),
        4,
        "the signed-in browser's pages are logged under its address"
    );
    eprintln!("proxy: the nginx test took {:?}", started.elapsed());
}

/// nginx (`/usr/sbin/nginx`, Debian's package) and the openssl command line.
fn nginx_and_openssl() -> Result<(PathBuf, PathBuf), String> {
    let runs = |bin: &Path, arg: &str| {
        Command::new(bin)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let nginx = ["/usr/sbin/nginx", "nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| runs(p, "-v"));
    let openssl = PathBuf::from("openssl");
    match (nginx, runs(&openssl, "version")) {
        (Some(nginx), true) => Ok((nginx, openssl)),
        (nginx, openssl_ok) => Err(format!(
            "{}: run `apt-get install{}{}` (as scripts/test does)",
            [
                nginx.is_none().then_some("nginx"),
                (!openssl_ok).then_some("the openssl command")
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and "),
            if nginx.is_none() { " nginx" } else { "" },
            if openssl_ok { "" } else { " openssl" },
        )),
    }
}

/// The active lines of `deploy/borgertun.env` (what systemd reads), but for the database and
/// the mail folder (the test's own) and with `BORGERTUN_PUBLIC_URL` set to `public_url`.
fn shipped_env(public_url: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/borgertun.env")).unwrap();
    let mut env = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not KEY=VALUE: {line}"));
        // No quotes, spaces or `$`, so that systemd and a shell read the same value.
        assert!(
            !value.contains(['"', '\'', '\\', '$']) && !value.contains(char::is_whitespace),
            "{line}"
        );
        env.insert(key.to_string(), value.to_string());
    }
    // The host's paths are the test's own (Serve sets them).
    for key in [
        "BORGERTUN_DATABASE_URL",
        "BORGERTUN_MAIL__FILE_DIR",
        "BORGERTUN_PUBLIC_URL",
    ] {
        assert!(env.remove(key).is_some(), "deploy/borgertun.env sets {key}");
    }
    env.insert("BORGERTUN_PUBLIC_URL".into(), public_url.into());
    env
}

/// A self-signed certificate for 127.0.0.1 (`cert.pem`, `key.pem` in `dir`), for nginx and as
/// the clients' only root.
fn make_certificate(openssl: &Path, dir: &Path) -> PathBuf {
    let out = Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-days", "2", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("cert.pem")
}

/// The shipped site with the lines a test run must change: nginx on 127.0.0.1 only (its two
/// ports), the certificate made here, the cache in `dir`, the two instances as upstream.
/// Every line named here must be in the shipped file exactly once.
fn site_for_test(shipped: &str, dir: &Path, https: u16, http: u16, instances: [u16; 2]) -> String {
    let cache_line = "proxy_cache_path /var/cache/nginx/borgertun levels=1:2 keys_zone=borgertun_static:1m max_size=16m inactive=1d use_temp_path=off;";
    let changes: Vec<(&str, String)> = vec![
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen [::]:80;", String::new()),
        ("listen 443 ssl http2;", format!("listen 127.0.0.1:{https} ssl http2;")),
        ("listen [::]:443 ssl http2;", String::new()),
        (
            "ssl_certificate /etc/letsencrypt/live/booking.example.no/fullchain.pem;",
            format!("ssl_certificate {};", dir.join("cert.pem").display()),
        ),
        (
            "ssl_certificate_key /etc/letsencrypt/live/booking.example.no/privkey.pem;",
            format!("ssl_certificate_key {};", dir.join("key.pem").display()),
        ),
        (
            cache_line,
            cache_line.replace("/var/cache/nginx/borgertun", &dir.join("cache").display().to_string()),
        ),
        (
            "server 127.0.0.1:8080 max_fails=1 fail_timeout=3s;",
            format!("server 127.0.0.1:{} max_fails=1 fail_timeout=3s;", instances[0]),
        ),
        (
            "server 127.0.0.1:8081 max_fails=1 fail_timeout=3s;",
            format!("server 127.0.0.1:{} max_fails=1 fail_timeout=3s;", instances[1]),
        ),
    ];
    let mut hits = vec![0; changes.len()];
    let mut out = String::new();
    for line in shipped.lines() {
        let trimmed = line.trim();
        match changes.iter().position(|(from, _)| *from == trimmed) {
            Some(i) => {
                hits[i] += 1;
                if !changes[i].1.is_empty() {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    out.push_str(&format!("{indent}{}\n", changes[i].1));
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (i, (from, _)) in changes.iter().enumerate() {
        assert_eq!(
            hits[i], 1,
            "deploy/nginx/borgertun.conf should have the line «{from}» once"
        );
    }
    out
}

/// nginx in the foreground with a prefix and a main configuration of its own in `dir`, which
/// includes the site. Stopped (SIGTERM, master and workers) when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(nginx: &Path, dir: &Path, site: &str, https_port: u16) -> Nginx {
        for sub in ["cache", "temp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("borgertun.conf"), site).unwrap();
        let d = dir.display();
        // As root, nginx would run its workers as `nobody`, who cannot enter this folder.
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let main = format!(
            "{user}worker_processes 2;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log notice;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n\
             \x20   access_log {d}/access.log;\n\
             \x20   client_body_temp_path {d}/temp/body;\n\
             \x20   proxy_temp_path {d}/temp/proxy;\n\
             \x20   fastcgi_temp_path {d}/temp/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/temp/uwsgi;\n\
             \x20   scgi_temp_path {d}/temp/scgi;\n\
             \x20   include {d}/borgertun.conf;\n\
             }}\n",
            user = if root { "user root;\n" } else { "" },
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let run = |test: bool| {
            let mut cmd = Command::new(nginx);
            cmd.arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .args(["-g", "daemon off;"]);
            if test {
                cmd.arg("-t");
            }
            cmd
        };
        let out = run(true).output().unwrap();
        assert!(
            out.status.success(),
            "nginx -t refuses the site:\n{}\n{site}",
            String::from_utf8_lossy(&out.stderr)
        );
        let child = run(false).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let mut nginx = Nginx {
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", https_port)).is_err() {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                panic!("nginx exited ({status}):\n{}", nginx.error_log());
            }
            assert!(Instant::now() < deadline, "nginx did not start:\n{}", nginx.error_log());
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// Mark the upstream's server on `port` `down` (or not) in the site, as
    /// docs/operations.md «Upgrade» does with sed, and reload nginx. Once this returns the old
    /// workers have stopped taking requests (they finish those they have and exit when their
    /// clients' connections close) and the new ones run the changed site.
    async fn upstream_down(&self, port: u16, down: bool) {
        let path = self.dir.join("borgertun.conf");
        let site = std::fs::read_to_string(&path).unwrap();
        let (up, marked) = (
            format!("server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;"),
            format!("server 127.0.0.1:{port} max_fails=1 fail_timeout=3s down;"),
        );
        let (from, to) = if down { (&up, &marked) } else { (&marked, &up) };
        assert_eq!(site.matches(from.as_str()).count(), 1, "{from} in\n{site}");
        std::fs::write(&path, site.replace(from.as_str(), to)).unwrap();
        let stopping = |log: &str| log.matches("gracefully shutting down").count();
        let before = stopping(&self.error_log());
        let sent = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while stopping(&self.error_log()) < before + 2 {
            assert!(Instant::now() < deadline, "nginx did not reload:\n{}", self.error_log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // What an old worker had read already still goes to the instance (which finishes it
        // even after SIGTERM); a moment for that.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops its workers too; SIGKILL would leave them running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTPS client that trusts only `root` and connects from `from` (all of 127.0.0.0/8 is
/// this machine), without following redirects.
fn client(root: &reqwest::Certificate, from: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root.clone())
        .local_address(IpAddr::V4(from))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The cookies a client has been given, and their `Set-Cookie` lines.
#[derive(Default)]
struct Jar {
    cookies: BTreeMap<String, String>,
}

impl Jar {
    /// Keep the cookies `res` sets; the `Set-Cookie` line of the one called `name`.
    fn take(&mut self, res: &reqwest::Response, name: &str) -> String {
        let mut wanted = None;
        for v in res.headers().get_all("set-cookie") {
            let line = v.to_str().unwrap().to_string();
            let (pair, _) = line.split_once(';').unwrap_or((&line, ""));
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_string(), val.to_string());
            if k == name {
                wanted = Some(line.clone());
            }
        }
        wanted.unwrap_or_else(|| panic!("no cookie {name} in {:?}", res.headers()))
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a `__Host-` cookie must be: `Secure`, `Path=/`, no `Domain`; and `HttpOnly`, `same_site`.
fn assert_host_cookie(line: &str, same_site: &str) {
    let attributes: Vec<&str> = line.split(';').map(str::trim).skip(1).collect();
    assert!(line.starts_with("__Host-"), "{line}");
    for wanted in ["Secure", "HttpOnly", "Path=/", same_site] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {line}");
    }
    assert!(
        !attributes.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "{line}"
    );
}

fn csrf_of(html: &str) -> String {
    const FIELD: &str = r#"name="csrf" value=""#;
    let at = html.find(FIELD).unwrap_or_else(|| panic!("no form: {html}")) + FIELD.len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}

/// The sign-in page's cookie and anti-forgery token for `client`.
async fn sign_in_form(client: &reqwest::Client, public_url: &str) -> (Jar, String) {
    let mut jar = Jar::default();
    let res = client.get(format!("{public_url}/logg-inn")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    jar.take(&res, "__Host-borgertun_presession");
    let csrf = csrf_of(&res.text().await.unwrap());
    (jar, csrf)
}

async fn wait_for_login_link(app: &TestApp, email: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(link) = login_mail_text(app, email).await.as_deref().and_then(login_link_in) {
            return link;
        }
        assert!(Instant::now() < deadline, "no sign-in mail to {email}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One request's line in an instance's JSON log (tower-http's «finished processing request»).
#[derive(Debug)]
struct RequestLine {
    instance: usize,
    client: String,
    method: String,
    uri: String,
    user: Option<Value>,
}

fn request_lines(logs: &[PathBuf]) -> Vec<RequestLine> {
    let mut lines = Vec::new();
    for (instance, log) in logs.iter().enumerate() {
        let text = std::fs::read_to_string(log).unwrap();
        for raw in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(raw) else {
                panic!("not a JSON log line in {}: {raw}", log.display());
            };
            if v["fields"]["message"] != "finished processing request" {
                continue;
            }
            let span = &v["span"];
            let text = |k: &str| {
                span[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {k} in {raw}"))
                    .to_string()
            };
            lines.push(RequestLine {
                instance,
                client: text("client"),
                method: text("method"),
                uri: text("uri"),
                user: span.get("user").cloned(),
            });
        }
    }
    lines
}

/// `deploy/borgertun@.service` as systemd reads it: `systemd-analyze verify` finds nothing to
/// say about it (an unknown key, a missing program, a bad value), and `systemd-analyze
/// security` rates its exposure at most 2.0 of 10 («OK»). Only the program's path is changed,
/// to the one this build made. `deploy/borgertun.sysusers` makes the user the unit runs as.
#[test]
fn the_systemd_unit_verifies_is_hardened_and_has_its_user() {
    let Some(analyze) = require(systemd_analyze()) else {
        return;
    };
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("deploy/borgertun@.service")).unwrap();
    for line in [
        "User=borgertun",
        "ExecStart=/usr/local/bin/borgertun --config /etc/borgertun serve",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "StateDirectory=borgertun",
        "PrivateTmp=yes",
    ] {
        assert!(shipped.lines().any(|l| l == line), "the unit should have «{line}»");
    }
    assert!(
        !shipped.contains("ReadWritePaths"),
        "the state directory is the only writable place"
    );
    let dir = tempfile::tempdir().unwrap();
    let unit = shipped.replace(
        "ExecStart=/usr/local/bin/borgertun ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_borgertun")),
    );
    std::fs::write(dir.path().join("borgertun@.service"), unit).unwrap();
    let run = |args: &[&str]| {
        Command::new(&analyze)
            .args(args)
            .arg(dir.path().join("borgertun@8080.service"))
            .env("SYSTEMD_LOG_LEVEL", "notice")
            .output()
            .unwrap()
    };
    let out = run(&["verify"]);
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["security", "--offline=yes", "--threshold=20", "--no-pager"]);
    let report = String::from_utf8_lossy(&out.stdout);
    let level = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level: {report}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "exposure above 2.0: {level}\n{report}");
    eprintln!("proxy: {}", level.trim());

    // The user, made by systemd-sysusers in an empty root: a system user without a shell.
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let out = Command::new(analyze.with_file_name("systemd-sysusers"))
        .arg(format!("--root={}", root.display()))
        .arg(Path::new(ROOT).join("deploy/borgertun.sysusers"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let user: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("borgertun:"))
        .unwrap_or_else(|| panic!("no user borgertun: {passwd}"))
        .split(':')
        .collect();
    let uid: u32 = user[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {user:?}");
    assert_eq!(user[5..], ["/var/lib/borgertun", "/usr/sbin/nologin"]);
}

/// systemd's `systemd-analyze` (and `systemd-sysusers` beside it), Debian's `systemd`
/// package; nothing is started.
fn systemd_analyze() -> Result<PathBuf, String> {
    let bin = PathBuf::from("/usr/bin/systemd-analyze");
    let runs = |b: &Path| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if runs(&bin) && runs(&bin.with_file_name("systemd-sysusers")) {
        Ok(bin)
    } else {
        Err("systemd-analyze and systemd-sysusers: run `apt-get install systemd` (as scripts/test does)".to_string())
    }
}
