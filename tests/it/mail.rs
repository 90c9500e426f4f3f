//! Telling people: every message kind through the outbox to a real SMTP server (aiosmtpd),
//! checked from the raw messages; calendar parts checked by libical and Python `icalendar`;
//! SMTP down then up; two server processes sending each message once.

use std::collections::HashSet;
use std::time::Duration;

use borgertun::domain::Role;
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::tools::{free_port, python, SmtpSink, Validators};
use crate::common::{self, at, booking, codes, Backend, TestApp};

on_both_backends!(
    every_message_kind_arrives_with_the_right_calendar_part,
    smtp_down_then_up_loses_and_doubles_nothing,
    nothing_is_sent_for_refused_or_rolled_back_requests,
    two_server_processes_send_each_message_once
);

/// A received message, taken apart.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) message_id: String,
    pub(crate) reply_to: String,
    pub(crate) from: String,
    /// Content types in MIME order, e.g. ["multipart/mixed", "multipart/alternative", …].
    pub(crate) structure: Vec<String>,
    pub(crate) text: String,
    pub(crate) html: String,
    /// (method= parameter, body) of the text/calendar part.
    pub(crate) calendar: Option<(String, String)>,
    pub(crate) attachment: Option<String>,
}

pub(crate) fn parse(raw: &[u8]) -> Received {
    let m = MessageParser::default().parse(raw).expect("a parsable message");
    let addr = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string()
    };
    let mut r = Received {
        to: addr(m.to()),
        from: addr(m.from()),
        reply_to: addr(m.reply_to()),
        subject: m.subject().unwrap_or_default().to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        structure: vec![],
        text: String::new(),
        html: String::new(),
        calendar: None,
        attachment: None,
    };
    for part in &m.parts {
        let Some(ct) = part.content_type() else { continue };
        let kind = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_lowercase();
        let body = part
            .text_contents()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(part.contents()).into_owned());
        match kind.as_str() {
            "text/plain" => r.text = body,
            "text/html" => r.html = body,
            "text/calendar" => {
                assert!(
                    part.content_disposition().is_none(),
                    "the inline calendar part has no Content-Disposition"
                );
                r.calendar = Some((ct.attribute("method").unwrap_or_default().to_string(), body));
            }
            // The file is base64: its bytes, CRLF line ends included, are exactly what was sent.
            "application/ics" => r.attachment = Some(String::from_utf8(part.contents().to_vec()).unwrap()),
            _ => {}
        }
        r.structure.push(kind);
    }
    r
}

/// Mail settings for fast tests against the sink on `port`.
pub(crate) fn fast_mail(cfg: &mut borgertun::config::Config, port: u16) {
    cfg.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    cfg.mail.poll_interval = Duration::from_millis(50);
    cfg.mail.retry_base = Duration::from_millis(100);
    cfg.mail.max_retry = Duration::from_millis(400);
}

pub(crate) fn find<'a>(all: &'a [Received], to: &str, subject_start: &str) -> &'a Received {
    all.iter()
        .find(|m| m.to == to && m.subject.starts_with(subject_start))
        .unwrap_or_else(|| {
            panic!(
                "no «{subject_start}» to {to}: {:?}",
                all.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
            )
        })
}

/// Check the invitation parts of `m`: MIME, METHOD, and both validators. Returns the event.
pub(crate) fn invitation(v: &Validators, m: &Received, method: &str) -> Value {
    assert_eq!(
        m.structure,
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar",
            "application/ics"
        ],
        "{}",
        m.subject
    );
    let (param, inline) = m.calendar.as_ref().unwrap();
    assert_eq!(param, method, "the MIME method= equals METHOD");
    let ics = m.attachment.as_deref().unwrap();
    // The inline part is quoted-printable text; the parser hands its line breaks back as LF.
    assert_eq!(inline.replace("\r\n", "\n"), ics.replace("\r\n", "\n"));
    let checked = v.check(&format!("{method}-{}", m.message_id.replace(['<', '>', '@'], "")), ics);
    assert_eq!(checked["method"], method);
    let event = checked["events"][0].clone();
    assert_eq!(
        event["organizer"].as_str().map(|s| s.to_lowercase()),
        Some("mailto:borgertun@bergen.kommune.no".into())
    );
    assert!(
        event["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().to_lowercase() == format!("mailto:{}", m.to)),
        "{event}"
    );
    assert!(event["location"].as_str().unwrap().contains("Årstadveien 17"));
    event
}

async fn every_message_kind_arrives_with_the_right_calendar_part(b: Backend) {
    let Some(validators) = common::require(Validators::find()) else {
        return;
    };
    let py = validators.python();
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(py, port, maildir.path());
    let app = TestApp::spawn_with(b, |c| fast_mail(c, port)).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let beho = app.user("per@bergen.kommune.no", "beho", Role::Staff).await;
    let coord = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let day = app.open_day(30);
    let later = app.open_day(35);

    // 1 confirmed → REQUEST; 2 pending + conflict to the coordinator; 3 approved → REQUEST and
    // displaced → CANCEL; 4 moved → REQUEST; 5 cancelled → CANCEL; 6 rejected.
    let mut research = booking(day, "09:00", "11:00", "Forskermøte om pårørende");
    research["description"] = json!("Innspill & spørsmål fra pårørende");
    research["public"] = json!(false);
    research["activity"] = json!({
        "kind": "seminar",
        "themes": ["brukermedvirkning", "parorendeinvolvering"],
        "expected": {"forskere": 5}
    });
    let (_, v) = app.post(&uib, "/api/v1/bookings", &research).await;
    let partner = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &beho,
            "/api/v1/bookings",
            &booking(day, "10:00", "12:00", "Arbeidsverksted"),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let request = v["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &coord,
            &format!("/api/v1/bookings/{request}/approve"),
            &json!({"reason": "BEHO-verksted etter handlingsplanen"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = app
        .client
        .patch(format!("{}/api/v1/bookings/{request}", app.base))
        .bearer_auth(&beho)
        .json(&json!({"start": at(day, "13:00"), "end": at(day, "15:00")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (s, _) = app
        .post(
            &beho,
            &format!("/api/v1/bookings/{request}/cancel"),
            &json!({"reason": "Flyttet til neste måned"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _) = app
        .post(&uib, "/api/v1/bookings", &booking(later, "09:00", "10:00", "Seminar"))
        .await;
    let (s, v) = app
        .post(&beho, "/api/v1/bookings", &booking(later, "09:00", "10:00", "Fagdag"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let to_reject = v["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &coord,
            &format!("/api/v1/bookings/{to_reject}/reject"),
            &json!({"reason": "Seminaret var booket først"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // confirmed, pending, conflict, approved, displaced, moved, cancelled,
    // confirmed, pending, conflict, rejected
    let all: Vec<Received> = sink.wait_for(11).await.iter().map(|r| parse(r)).collect();
    assert_eq!(
        all.len(),
        11,
        "{:?}",
        all.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(
        all.iter().map(|m| &m.message_id).collect::<HashSet<_>>().len(),
        11,
        "no message twice"
    );
    for m in &all {
        assert_eq!(m.from, "borgertun@bergen.kommune.no");
        assert_eq!(m.reply_to, "alrek.koordinator@bergen.kommune.no");
        assert!(
            m.text.contains("Hilsen") && m.html.contains("<html lang=\"nb\">"),
            "{}",
            m.subject
        );
    }

    let confirmed = find(&all, "kari@uib.no", "Bekreftet: Forskermøte om pårørende");
    assert!(confirmed.text.contains("er booket for dere"));
    let first = invitation(&validators, confirmed, "REQUEST");
    assert_eq!(
        (first["sequence"].as_i64(), first["status"].as_str()),
        (Some(0), Some("CONFIRMED"))
    );
    assert_eq!(first["dtstart_local"], format!("{day}T09:00"));
    assert_eq!(first["dtstart_tzid"], "Europe/Oslo");
    assert_eq!(first["summary"], "Forskermøte om pårørende");

    let pending = find(&all, "per@bergen.kommune.no", "Til behandling: Arbeidsverksted");
    assert!(pending
        .text
        .contains("Forespørselen din er til behandling hos koordinator"));
    assert_eq!(pending.structure, ["multipart/alternative", "text/plain", "text/html"]);
    let conflict = find(&all, "koordinator@bergen.kommune.no", "Konflikt: Arbeidsverksted");
    assert!(
        conflict.text.contains("Forskermøte om pårørende")
            && conflict.text.contains("kari@uib.no")
            && conflict.text.contains("klyngepartner"),
        "{}",
        conflict.text
    );
    assert!(conflict.text.contains("/koordinator"));

    let approved = find(&all, "per@bergen.kommune.no", "Godkjent: Arbeidsverksted");
    let approved_event = invitation(&validators, approved, "REQUEST");
    assert_eq!(
        (approved_event["sequence"].as_i64(), approved_event["status"].as_str()),
        (Some(1), Some("CONFIRMED"))
    );

    let displaced = find(&all, "kari@uib.no", "Trukket tilbake: Forskermøte om pårørende");
    assert!(displaced
        .text
        .contains("Bookingen er trukket tilbake fordi rommet er tildelt en booking med høyere prioritet"));
    assert!(displaced
        .text
        .contains("Begrunnelse: BEHO-verksted etter handlingsplanen"));
    assert!(displaced.text.contains("Disse tidene er ledige:"));
    let displaced_links = alternative_links(&app, displaced);
    let cancel = invitation(&validators, displaced, "CANCEL");
    assert_eq!(cancel["uid"], first["uid"], "the CANCEL carries the REQUEST's UID");
    assert!(cancel["sequence"].as_i64() > first["sequence"].as_i64());
    assert_eq!(cancel["status"], "CANCELLED");

    let moved = find(&all, "per@bergen.kommune.no", "Flyttet: Arbeidsverksted");
    let moved_event = invitation(&validators, moved, "REQUEST");
    assert_eq!(moved_event["uid"], approved_event["uid"]);
    assert_eq!(moved_event["sequence"].as_i64(), Some(2));
    assert_eq!(moved_event["dtstart_local"], format!("{day}T13:00"));

    let cancelled = find(&all, "per@bergen.kommune.no", "Avbestilt: Arbeidsverksted");
    let cancelled_event = invitation(&validators, cancelled, "CANCEL");
    assert_eq!(cancelled_event["uid"], approved_event["uid"]);
    assert_eq!(
        (cancelled_event["sequence"].as_i64(), cancelled_event["status"].as_str()),
        (Some(3), Some("CANCELLED"))
    );
    assert!(cancelled.text.contains("Begrunnelse: Flyttet til neste måned"));

    let rejected = find(&all, "per@bergen.kommune.no", "Avslått: Fagdag");
    assert!(
        rejected.text.contains("Begrunnelse: Seminaret var booket først")
            && rejected.text.contains("Disse tidene er ledige:")
    );
    assert_eq!(rejected.structure, ["multipart/alternative", "text/plain", "text/html"]);
    let rejected_links = alternative_links(&app, rejected);

    // The outbox shows each row sent once.
    let outbox = app.store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 11);
    assert!(outbox.iter().all(|m| m.sent_at.is_some() && m.attempts == 1));
    let _ = partner;

    // Followed by the person it was sent to, each alternative is the booking form filled in
    // with that time and the booking's details.
    let mut kari = Browser::new(&app);
    sign_in_by_mail(&mut kari, &sink, "kari@uib.no", 12).await;
    for (path, (date, from, to)) in &displaced_links {
        let form = kari.get(path).await;
        assert_eq!(form.status, StatusCode::OK, "{path}");
        let html = &form.html;
        for (name, value) in [
            ("dato", date.as_str()),
            ("fra", from.as_str()),
            ("til", to.as_str()),
            ("tittel", "Forskermøte om pårørende"),
            ("deltakere", "10"),
        ] {
            assert!(
                html.contains(&format!(r#"name="{name}" value="{value}""#)),
                "{name} in {path}"
            );
        }
        assert!(html.contains(">Innspill &amp; spørsmål fra pårørende</textarea>"));
        assert!(html.contains(r#"name="forventet-forskere" min="0" inputmode="numeric" value="5""#));
        assert!(html.contains(r#"<option value="seminar" selected>"#));
        assert!(html.contains(r#"name="tema" value="brukermedvirkning" checked"#));
        assert!(html.contains(r#"name="tema" value="parorendeinvolvering" checked"#));
        assert!(
            !html.contains(r#"name="offentlig" value="ja" checked"#),
            "the title stays private"
        );
    }
    let mut per = Browser::new(&app);
    sign_in_by_mail(&mut per, &sink, "per@bergen.kommune.no", 13).await;
    let (path, (date, from, to)) = &rejected_links[0];
    let form = per.get(path).await;
    for (name, value) in [
        ("dato", date.as_str()),
        ("fra", from.as_str()),
        ("til", to.as_str()),
        ("tittel", "Fagdag"),
    ] {
        assert!(
            form.html.contains(&format!(r#"name="{name}" value="{value}""#)),
            "{name}"
        );
    }
}

/// The alternatives of a mail: in the HTML each time is a link to the booking form, and in the
/// text the same URL follows the time. Returns each link's path and its (dato, fra, til).
fn alternative_links(app: &TestApp, m: &Received) -> Vec<(String, (String, String, String))> {
    let prefix = format!(r#"<li><a href="{}/booking/ny?"#, app.base);
    let mut links = Vec::new();
    for part in m.html.split(&prefix).skip(1) {
        let query = part.split('"').next().unwrap().replace("&amp;", "&");
        let url = format!("{}/booking/ny?{query}", app.base);
        assert!(m.text.contains(&format!(": {url}")), "the text has {url}");
        let get = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        links.push((format!("/booking/ny?{query}"), (get("dato"), get("fra"), get("til"))));
    }
    assert!(links.len() >= 3, "alternatives as links in {}: {}", m.subject, m.html);
    links
}

/// Sign in by the link in the sign-in mail, the `n`th message the sink receives.
async fn sign_in_by_mail(browser: &mut Browser<'_>, sink: &SmtpSink, email: &str, n: usize) {
    browser.get("/logg-inn").await;
    let csrf = browser.csrf();
    browser.post("/logg-inn", &[("csrf", &csrf), ("email", email)]).await;
    let all: Vec<Received> = sink.wait_for(n).await.iter().map(|r| parse(r)).collect();
    let mail = all
        .iter()
        .rev()
        .find(|m| m.to == email && m.subject.starts_with("Innloggingslenke"))
        .expect("a sign-in mail");
    let link = common::login_link_in(&mail.text).unwrap();
    let page = browser.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "signed in as {email}");
}

async fn smtp_down_then_up_loses_and_doubles_nothing(b: Backend) {
    let Some(py) = common::require(python()) else { return };
    let port = free_port();
    let app = TestApp::spawn_with(b, |c| fast_mail(c, port)).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    // SMTP is down: the bookings are made all the same.
    for (i, hour) in ["09:00", "11:00", "13:00"].iter().enumerate() {
        let end = format!("{}:00", hour[..2].parse::<u32>().unwrap() + 1);
        let (s, _) = app
            .post(
                &uib,
                "/api/v1/bookings",
                &booking(app.open_day(10 + i as i64), hour, &end, &format!("Møte {i}")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let outbox = app.store.outbox().await.unwrap();
        if outbox.len() == 3
            && outbox
                .iter()
                .all(|m| m.attempts >= 2 && m.last_error.is_some() && m.sent_at.is_none())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not retry: {outbox:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SMTP comes up: every message arrives, once.
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&py, port, maildir.path());
    let all: Vec<Received> = sink.wait_for(3).await.iter().map(|r| parse(r)).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 3);
    let subjects: HashSet<&str> = all.iter().map(|m| m.subject.split(" – ").next().unwrap()).collect();
    assert_eq!(
        subjects,
        HashSet::from(["Bekreftet: Møte 0", "Bekreftet: Møte 1", "Bekreftet: Møte 2"])
    );
    let outbox = app.store.outbox().await.unwrap();
    assert!(outbox.iter().all(|m| m.sent_at.is_some()), "{outbox:?}");
}

async fn nothing_is_sent_for_refused_or_rolled_back_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    let uib = app.user("kari@uib.no", "uib", Role::Requester).await;
    let hvl = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    let day = app.open_day(10);
    app.post(&uib, "/api/v1/bookings", &booking(day, "09:00", "11:00", "Møte"))
        .await;
    assert_eq!(app.store.outbox().await.unwrap().len(), 1);
    let (s, _) = app
        .post(&hvl, "/api/v1/bookings", &booking(day, "10:00", "11:00", "Opptatt"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .post(&hvl, "/api/v1/bookings", &booking(day, "07:00", "08:00", "Utenfor"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.outbox().await.unwrap().len(), 1, "refusals send nothing");

    // A contact address that cannot receive mail is refused when the booking is made.
    let bad = app
        .store
        .add_user(
            "kari..nordmann@@uib",
            "Kari",
            "uib",
            Role::Requester,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (token, hash) = borgertun::token::new_api_token();
    app.store
        .add_api_token(
            bad.id,
            &hash,
            chrono::Utc::now(),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    let (s, v) = app
        .post(
            &token,
            "/api/v1/bookings",
            &booking(day, "13:00", "14:00", "Feil adresse"),
        )
        .await;
    assert_eq!(
        (s, codes(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["invalid_email".to_string()])
    );
    assert_eq!(app.snapshot().await.len(), 1);
    assert_eq!(app.store.outbox().await.unwrap().len(), 1);
}

async fn two_server_processes_send_each_message_once(b: Backend) {
    let Some(py) = common::require(python()) else { return };
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&py, port, maildir.path());
    // The in-process app prepares the database and does not send (its worker is slowed down).
    let app = TestApp::spawn_with(b, |c| {
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", free_port()));
        c.mail.poll_interval = Duration::from_secs(3600);
    })
    .await;
    let tokens: Vec<String> = futures_tokens(&app, 30).await;
    let servers = [
        start_server(&app.db_url, port).await,
        start_server(&app.db_url, port).await,
    ];
    let client = reqwest::Client::new();
    let mut days = vec![app.open_day(5)];
    while days.len() < 5 {
        let next = common::open_day(app.rules(), (days[days.len() - 1] - common::today()).num_days() + 1);
        days.push(next);
    }
    for (i, token) in tokens.iter().enumerate() {
        let day = days[i / 6];
        let hour = 8 + 2 * (i % 6);
        let body = booking(
            day,
            &format!("{hour:02}:00"),
            &format!("{:02}:00", hour + 1),
            &format!("Møte {i}"),
        );
        let res = client
            .post(format!("{}/api/v1/bookings", servers[i % 2].base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    }
    let all: Vec<Received> = sink.wait_for(30).await.iter().map(|r| parse(r)).collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sink.messages().len(), 30, "each message exactly once");
    assert_eq!(
        all.iter().map(|m| m.message_id.clone()).collect::<HashSet<_>>().len(),
        30
    );
    let outbox = app.store.outbox().await.unwrap();
    assert!(
        outbox.iter().all(|m| m.sent_at.is_some() && m.attempts == 1),
        "{outbox:?}"
    );
}

async fn futures_tokens(app: &TestApp, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(app.user(&format!("person{i}@uib.no"), "uib", Role::Requester).await);
    }
    out
}

/// A `borgertun serve` process sending through the sink on `smtp_port`; killed on drop.
async fn start_server(db_url: &str, smtp_port: u16) -> crate::common::serve::ServeProcess {
    crate::common::serve::Serve::new(db_url)
        .env("BORGERTUN_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("BORGERTUN_MAIL__POLL_INTERVAL_MS", 20)
        .start()
        .await
}
