//! In a real browser (Debian's headless chromium, driven by playwright-core from the scripts in
//! `tests/browser/`): the walk through a conflict, once with the mouse and once with the
//! keyboard alone, on both backends; and axe-core's WCAG 2.1 A/AA scan of every page at 375
//! and 1280 px. The server runs in this process against a real database, mail goes through the
//! outbox to a real SMTP server (aiosmtpd), and the database is checked after each script.
//!
//! `scripts/test` installs node's packages (`npm ci` in `tests/browser`) and chromium. Missing, the
//! tests are skipped through `common::require` (under `CI=true` they fail).
//! `BORGERTUN_SCREENSHOTS=1` also writes screenshots to `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use borgertun::domain::time::{format_date, format_time, local};
use borgertun::domain::{Booking, Role, Status};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::tools::{free_port, python, SmtpSink};
use crate::common::{self, at, booking, Backend, TestApp};

on_both_backends!(walk_with_the_mouse, walk_with_the_keyboard);

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PARTNER: &str = "kari@uib.no";
const OWNER: &str = "per.beho@bergen.kommune.no";
const COORDINATOR: &str = "koordinator@bergen.kommune.no";
const REASON: &str = "BEHO trenger rommet til arbeidsverksted for hjemmetjenesten";

fn scripts() -> PathBuf {
    Path::new(ROOT).join("tests/browser")
}

/// node, chromium with its Norwegian language pack, the scripts' packages, and the Python
/// with aiosmtpd (whose path this returns); or all of them that are missing, and how to get them.
fn browser_tools() -> Result<PathBuf, String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let chromium = Path::new("/usr/bin/chromium").exists() && Path::new("/usr/lib/chromium/locales/nb.pak").exists();
    let modules = ["playwright-core", "@axe-core/playwright"]
        .iter()
        .all(|m| scripts().join("node_modules").join(m).join("package.json").exists());
    let python = python();
    let mut missing: Vec<String> = [
        (node, "node 20 or newer (with npm) on the PATH"),
        (
            chromium,
            "/usr/bin/chromium with its Norwegian language pack: `apt-get install chromium chromium-l10n` (as scripts/test does)",
        ),
        (modules, "the scripts' packages: `(cd tests/browser && npm ci)` (as scripts/test does)"),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, what)| what.to_string())
    .collect();
    missing.extend(python.as_ref().err().cloned());
    match python {
        Ok(python) if missing.is_empty() => Ok(python),
        _ => Err(missing.join("; ")),
    }
}

/// One browser at a time: two cores do not run several chromiums well.
static BROWSER: Mutex<()> = Mutex::new(());

/// What a script printed, and its `RESULT {json}` line.
struct ScriptRun {
    success: bool,
    stdout: String,
    stderr: String,
    result: Value,
}

/// Run `node tests/browser/<script>` with `envs`, off the async runtime so the server in this
/// process keeps answering; at most five minutes.
async fn run_script(script: &str, envs: Vec<(&str, String)>) -> ScriptRun {
    let script = script.to_string();
    let envs: Vec<(String, String)> = envs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    tokio::task::spawn_blocking(move || {
        let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let out_dir = tempfile::tempdir().unwrap();
        let (out, err) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
        let mut child = Command::new("node")
            .arg(scripts().join(&script))
            .current_dir(scripts())
            .envs(envs)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start node");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(300) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let stdout = std::fs::read_to_string(&out).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        eprintln!(
            "--- {script} ({:.1} s) stdout:\n{stdout}--- stderr:\n{stderr}---",
            started.elapsed().as_secs_f64()
        );
        let result = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("RESULT "))
            .map(|j| serde_json::from_str(j).expect("a JSON result"))
            .unwrap_or(Value::Null);
        ScriptRun {
            success: status.is_some_and(|s| s.success()),
            stdout,
            stderr,
            result,
        }
    })
    .await
    .unwrap()
}

/// The app on `backend` with its outbox sending to a real SMTP server, quickly; `None` (the
/// test is skipped, see `common::require`) when a browser tool is missing.
async fn app_with_mail(
    b: Backend,
    tweak: impl FnOnce(&mut borgertun::config::Config),
) -> Option<(TestApp, SmtpSink, tempfile::TempDir)> {
    let python = common::require(browser_tools())?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = SmtpSink::start(&python, port, &dir.path().join("maildir"));
    let app = TestApp::spawn_with(b, |cfg| {
        cfg.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        cfg.mail.poll_interval = Duration::from_millis(50);
        cfg.mail.retry_base = Duration::from_millis(100);
        cfg.mail.max_retry = Duration::from_millis(400);
        tweak(cfg);
    })
    .await;
    Some((app, sink, dir))
}

async fn add_user(app: &TestApp, email: &str, name: &str, org: &str, role: Role) {
    app.store
        .add_user(email, name, org, role, chrono::Utc::now())
        .await
        .expect("add user");
}

/// «Book tirsdag 15. desember 2026 kl. 12.15–14.15», as the alternative's button reads.
fn button_text(b: &Booking) -> String {
    let (s, e) = (local(b.start), local(b.end));
    format!(
        "Book {} kl. {}–{}",
        format_date(s.date_naive()),
        format_time(s.time()),
        format_time(e.time())
    )
}

async fn walk_with_the_mouse(b: Backend) {
    walk(b, "mouse").await;
}

async fn walk_with_the_keyboard(b: Backend) {
    walk(b, "keyboard").await;
}

/// The conflict walk in the browser, then the database: the partner's first booking is
/// withdrawn with the coordinator's reason, BEHO has the slot, the partner has the alternative.
async fn walk(b: Backend, mode: &str) {
    let Some((app, sink, _dir)) = app_with_mail(b, |_| {}).await else {
        return;
    };
    add_user(&app, OWNER, "Per Hansen", "beho", Role::Requester).await;
    add_user(&app, COORDINATOR, "Kari Koordinator", "beho", Role::Coordinator).await;
    // The partner has an account already, and yesterday's event waiting for its attendance.
    add_user(&app, PARTNER, "Kari Nordmann", "uib", Role::Requester).await;
    let past_id = past_event(&app, PARTNER).await;
    let past = app.store.booking(past_id).await.unwrap().unwrap();
    let day = app.open_day(30);
    let (from, to) = ("10:00", "12:00");

    let run = run_script(
        "walk.mjs",
        vec![
            ("BASE_URL", app.base.clone()),
            ("MAILDIR", sink.dir.display().to_string()),
            ("MODE", mode.to_string()),
            ("DAY", day.to_string()),
            ("DAY_LABEL", format_date(day)),
            ("FROM", from.to_string()),
            ("TO", to.to_string()),
            ("PARTNER_EMAIL", PARTNER.to_string()),
            ("OWNER_EMAIL", OWNER.to_string()),
            ("COORDINATOR_EMAIL", COORDINATOR.to_string()),
            ("REASON", REASON.to_string()),
            ("PAST_TITLE", PAST_TITLE.to_string()),
            ("REPORT_FROM", local(past.start).date_naive().to_string()),
            ("REPORT_TO", (day + chrono::Duration::days(14)).to_string()),
        ],
    )
    .await;
    assert!(run.success, "the {mode} walk failed:\n{}\n{}", run.stderr, run.stdout);

    // Yesterday's attendance, as typed.
    let past = app.store.booking(past_id).await.unwrap().unwrap();
    let attendance = past.attendance.expect("attendance registered");
    assert_eq!(
        attendance.actual,
        std::collections::BTreeMap::from([
            ("ansatte".to_string(), 9),
            ("forskere".to_string(), 7),
            ("studenter".to_string(), 4)
        ])
    );
    assert_eq!(attendance.registered_by, PARTNER);
    let all: Vec<Booking> = app
        .store
        .bookings(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.id != past_id)
        .collect();
    // The activity chosen in the form, carried to the alternative too.
    for b in all.iter().filter(|b| b.org == "uib") {
        let a = b.activity.as_ref().expect("an activity");
        assert_eq!(
            (a.kind.as_str(), a.themes.as_slice(), a.expected.get("forskere")),
            ("arbeidsverksted", &["brukermedvirkning".to_string()][..], Some(&5)),
            "{b:?}"
        );
    }
    let (start, end) = (
        chrono::DateTime::parse_from_rfc3339(&at(day, from)).unwrap().to_utc(),
        chrono::DateTime::parse_from_rfc3339(&at(day, to)).unwrap().to_utc(),
    );
    let uib: Vec<&Booking> = all.iter().filter(|b| b.org == "uib").collect();
    assert_eq!(
        uib.len(),
        2,
        "the partner's first booking and the alternative: {all:#?}"
    );
    let (first, second) = (uib[0], uib[1]);
    assert_eq!(
        (first.start, first.end, first.status, first.status_reason.as_deref()),
        (start, end, Status::Displaced, Some(REASON)),
        "the partner's booking is withdrawn with the coordinator's reason"
    );
    assert_eq!(first.contact_email, PARTNER);
    assert_eq!(second.status, Status::Confirmed);
    assert_eq!(second.end - second.start, end - start, "the alternative is as long");
    assert!(
        second.start >= end || second.end <= start,
        "the alternative is another time"
    );
    assert_eq!(
        run.result["chosen"].as_str(),
        Some(button_text(second).as_str()),
        "the button pressed is the booking made"
    );
    let beho: Vec<&Booking> = all.iter().filter(|b| b.org == "beho").collect();
    assert_eq!(beho.len(), 1);
    assert_eq!(
        (
            beho[0].start,
            beho[0].end,
            beho[0].status,
            beho[0].contact_email.as_str()
        ),
        (start, end, Status::Confirmed, OWNER),
        "BEHO has the slot"
    );
    let history = app.store.history(first.id).await.unwrap();
    assert_eq!(
        history
            .last()
            .map(|h| (h.to_status, h.actor.as_str(), h.reason.as_deref())),
        Some((Status::Displaced, COORDINATOR, Some(REASON)))
    );
    let confirmed: Vec<&Booking> = all.iter().filter(|b| b.status == Status::Confirmed).collect();
    for (i, a) in confirmed.iter().enumerate() {
        for b in &confirmed[i + 1..] {
            assert!(a.end <= b.start || b.end <= a.start, "{a:?} overlaps {b:?}");
        }
    }
}

const PAST_TITLE: &str = "Nettverkssamling i går";

/// A confirmed event that ended yesterday, written straight to the store (the rules do not
/// book the past).
async fn past_event(app: &TestApp, email: &str) -> i64 {
    use borgertun::domain::time::at_local;
    let day = local(chrono::Utc::now()).date_naive() - chrono::Duration::days(1);
    let t = |h: u32| at_local(day, chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap();
    let created = chrono::Utc::now() - chrono::Duration::days(10);
    app.store_booking(email, t(10), t(12), PAST_TITLE, Status::Confirmed, created)
        .await
}

/// A weekly series of BEHO's, twice from `day` at 13.00–14.00, stored through the service:
/// its id.
async fn beho_series(app: &TestApp, day: chrono::NaiveDate) -> i64 {
    let contact = app.app.user_by_email(OWNER).await.unwrap().expect("the owner exists");
    let t = |hm: &str| chrono::DateTime::parse_from_rfc3339(&at(day, hm)).unwrap().to_utc();
    let new = borgertun::domain::NewBooking {
        room: app.rules().rooms[0].key.clone(),
        start: t("13:00"),
        end: t("14:00"),
        title: borgertun::domain::BookingTitle::parse("Fagnettverk BEHO").unwrap(),
        description: None,
        public: true,
        attendees: 20,
        org: contact.org.clone(),
        contact,
        activity: None,
    };
    match app.app.book_series(new, "FREQ=WEEKLY;COUNT=2", OWNER, false).await {
        Ok(borgertun::service::SeriesOutcome::Stored(d)) => d.series.id,
        other => panic!("the series is stored: {other:?}"),
    }
}

/// The pages the scan must reach, each at both widths.
const SCANNED: &[&str] = &[
    "/",
    "/?dato=",
    "/i-dag",
    "/aktiviteter",
    "/regler",
    "/tilgjengelighet",
    "/logg-inn",
    "/tilgang",
    "Sjekk e-posten din",
    "/logg-inn/lenke/…",
    "partner /",
    "partner /?dato=",
    "partner /booking/ny",
    "partner /booking/ny with errors",
    "partner «Rommet er opptatt»",
    "partner «Bookingen er bekreftet»",
    "partner /bookinger",
    "partner /bookinger/{id}",
    "partner /bookinger/{id} trukket tilbake",
    "partner /bookinger/{id}/flytt",
    "partner /kalenderabonnement",
    "partner /bookinger/{id}/oppmote",
    "partner /paminnelse/{token}",
    "partner /booking/{id}/sjekk-inn",
    "partner «Du er sjekket inn»",
    "partner «Du står på ventelisten»",
    "partner /venteliste",
    "partner /venteliste/svar/{token}",
    "partner «Slik blir serien»",
    "partner /serier/{id}",
    "partner /serier/{id}/endre",
    "coordinator /koordinator",
    "coordinator /koordinator/bookinger",
    "coordinator /koordinator/brukere",
    "coordinator /koordinator/virksomheter",
    "coordinator /koordinator/oppmote",
    "coordinator /rapport",
    "coordinator /kalenderabonnement",
    "coordinator /booking/ny",
    "coordinator /bookinger",
    "coordinator /bookinger/{id}",
    "coordinator /serier/{id}",
];

/// Every page, signed out, as a partner and as the coordinator, at 375 and 1280 px: no WCAG
/// 2.1 A/AA violation that axe finds, and no sideways scrolling.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_passes_axe_at_both_widths() {
    // The cluster partners check in, so the check-in pages and the today page's QR code are
    // there to scan.
    let Some((app, sink, _dir)) = app_with_mail(Backend::Sqlite, |cfg| {
        for t in &mut cfg.rules.tiers {
            t.check_in = t.key == "partner";
        }
    })
    .await
    else {
        return;
    };
    let kari = app.user(PARTNER, "uib", Role::Requester).await;
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let per = app.user(OWNER, "beho", Role::Requester).await;
    let coord = app.user(COORDINATOR, "beho", Role::Coordinator).await;
    let day = app.open_day(30);
    let later = app.open_day(40);
    let post = |token: &str, body: Value| {
        let token = token.to_string();
        let app = &app;
        async move { app.post(&token, "/api/v1/bookings", &body).await }
    };

    // The week: the partner's booking, another partner's, and BEHO's request for the
    // partner's slot (the coordinator's queue has one conflict).
    let (s, v) = post(&kari, booking(day, "10:00", "12:00", "Forskermøte i klyngen")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let booking_id = v["id"].as_i64().unwrap();
    let (s, v) = post(&ola, booking(day, "13:00", "14:00", "Seminar HVL")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post(&per, booking(day, "10:00", "12:00", "Arbeidsverksted")).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // A booking of the partner's that BEHO took, with the reason and the alternatives.
    let (s, v) = post(&kari, booking(later, "09:00", "10:00", "Veiledningsmøte")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let displaced_id = v["id"].as_i64().unwrap();
    let (s, v) = post(&per, booking(later, "09:00", "10:00", "Ledermøte BEHO")).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let request = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &coord,
            &format!("/api/v1/bookings/{request}/approve"),
            &json!({ "reason": "Ledermøtet må ligge denne dagen" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A past event of the partner's, waiting for its attendance.
    let past_id = past_event(&app, PARTNER).await;

    // BEHO's weekly series, whose first occurrence asks for the other partner's hour: one
    // series case in the coordinator's queue.
    let series_id = beho_series(&app, day).await;

    // The partner's reminder with its cancel link: the clock moved to half a day before the
    // booking for the round, and back.
    let start = app.store.booking(booking_id).await.unwrap().unwrap().start;
    app.clock.set(start - chrono::Duration::hours(12));
    app.app.send_reminders().await.unwrap();
    app.clock.set(chrono::Utc::now());
    let outbox = app.store.outbox().await.unwrap();
    let reminder = outbox.iter().find(|m| m.kind == "reminder").expect("the reminder");
    let at = reminder.body_text.find("/paminnelse/").expect("the cancel link");
    let reminder_path: String = reminder.body_text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();

    // A partner's booking that began five minutes ago, not checked in: the today page shows
    // its QR code (to the check-in page) while the scan runs.
    let now = chrono::Utc::now();
    let check_in_id = app
        .store_booking(
            PARTNER,
            now - chrono::Duration::minutes(5),
            now + chrono::Duration::minutes(55),
            "Lesegruppe",
            Status::Confirmed,
            now - chrono::Duration::days(3),
        )
        .await;
    let screen = app
        .client
        .get(format!("{}/i-dag", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        screen.contains(r#"aria-label="QR-kode for innsjekking""#)
            && screen.contains(&format!("/booking/{check_in_id}/sjekk-inn")),
        "the today page shows the QR code: {screen}"
    );

    // A hold for the partner, in the evening, clear of the alternatives the walk books: it
    // waits for HVL's 19.00, which HVL then cancels.
    let (s, v) = post(&ola, booking(day, "19:00", "20:00", "Prosjektmøte HVL")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hvl_slot = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &kari,
            "/api/v1/waitlist",
            &booking(day, "19:00", "20:00", "Venter på rommet"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(&ola, &format!("/api/v1/bookings/{hvl_slot}/cancel"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let outbox = app.store.outbox().await.unwrap();
    let offered = outbox.iter().find(|m| m.kind == "hold_offered").expect("the hold mail");
    let at = offered.body_text.find("/venteliste/svar/").expect("the hold's link");
    let hold_path = offered.body_text[at..at + "/venteliste/svar/".len() + 64].to_string();

    let envs = vec![
        ("CHECKIN_ID", check_in_id.to_string()),
        ("HOLD_PATH", hold_path),
        ("REMINDER_PATH", reminder_path),
        ("PAST_ID", past_id.to_string()),
        ("BASE_URL", app.base.clone()),
        ("MAILDIR", sink.dir.display().to_string()),
        ("DAY", day.to_string()),
        ("PARTNER_EMAIL", PARTNER.to_string()),
        ("COORDINATOR_EMAIL", COORDINATOR.to_string()),
        ("BOOKING_ID", booking_id.to_string()),
        ("DISPLACED_ID", displaced_id.to_string()),
        ("BUSY_FROM", "13:00".to_string()),
        ("BUSY_TO", "14:00".to_string()),
        ("SERIES_FROM", "17:00".to_string()),
        ("SERIES_TO", "18:00".to_string()),
        ("SERIES_ID", series_id.to_string()),
    ];
    let run = run_script("axe.mjs", envs.clone()).await;
    let list = |key: &str| -> Vec<String> {
        run.result[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or_default().replace(&day.to_string(), ""))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(run.success, "the scan failed:\n{}", run.stderr);
    assert_eq!(list("skipped"), Vec::<String>::new(), "pages that answered 404");
    assert_eq!(list("scanned"), SCANNED, "the pages scanned");
    assert_eq!(
        run.result["widths"].as_array().map(Vec::len),
        Some(2),
        "each page at two widths"
    );

    if std::env::var("BORGERTUN_SCREENSHOTS").is_ok_and(|v| !v.is_empty() && v != "0") {
        let out = Path::new(ROOT).join("target/screenshots");
        let mut envs = envs;
        envs.push(("OUT_DIR", out.display().to_string()));
        let run = run_script("screenshots.mjs", envs).await;
        assert!(run.success, "the screenshots failed:\n{}", run.stderr);
        eprintln!("screenshots in {}", out.display());
    }
    drop(sink);
}
