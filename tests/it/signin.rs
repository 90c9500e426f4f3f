//! Sign-in by e-mail link: the link comes through the outbox, is single use, expires, and is
//! confirmed by a button; forms carry an anti-forgery token; sessions end on sign-out.

use borgertun::domain::Role;
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};

on_both_backends!(
    sign_in_by_link_from_the_outbox,
    new_address_of_a_configured_domain_gets_an_account,
    expired_link_and_bad_input_are_refused,
    signing_in_returns_to_the_page_asked_for
);

/// The sign-in link in the newest login mail to `email`.
async fn link_for(app: &TestApp, email: &str) -> Option<String> {
    let text = crate::common::login_mail_text(app, email).await?;
    let at = text.find("/logg-inn/lenke/")?;
    Some(text[at..at + "/logg-inn/lenke/".len() + 64].to_string())
}

fn logins(outbox: &[borgertun::store::OutboxMessage]) -> usize {
    outbox.iter().filter(|m| m.kind == "login").count()
}

async fn sign_in_by_link_from_the_outbox(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .add_user(
            "kari@uib.no",
            "Kari Nordmann",
            "uib",
            Role::Requester,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let mut browser = Browser::new(&app);

    let page = browser.get("/logg-inn").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = browser.csrf();
    assert!(page.html.contains(&format!(r#"name="csrf" value="{csrf}""#)));
    assert!(page
        .headers
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().contains("HttpOnly; SameSite=Strict")));

    let page = browser
        .post("/logg-inn", &[("csrf", &csrf), ("email", "Kari@UiB.no")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let answer = "Vi har sendt en innloggingslenke til e-postadressen hvis den er registrert.";
    assert!(page.html.contains(answer));
    let link = link_for(&app, "kari@uib.no").await.expect("a sign-in mail");

    // An unknown address gets the same answer, and no mail.
    let before = logins(&app.store.outbox().await.unwrap());
    let page = browser
        .post("/logg-inn", &[("csrf", &csrf), ("email", "nobody@example.org")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(answer));
    assert_eq!(logins(&app.store.outbox().await.unwrap()), before);

    // Opening the link (as a mail scanner would) uses nothing up; a forged form changes nothing.
    for _ in 0..2 {
        let page = browser.get(&link).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html.contains("Trykk på knappen for å logge inn"));
    }
    let page = browser.post(&link, &[("csrf", "0".repeat(64).as_str())]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("Skjemaet er utløpt"));
    assert!(!browser.cookies.contains_key("borgertun_session"));

    let page = browser.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers["location"], "/");
    let set = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.starts_with("borgertun_session="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"),
        "{set}"
    );
    let session = browser.cookies["borgertun_session"].clone();
    let page = browser.get("/").await;
    assert!(page.html.contains("Logget inn som Kari Nordmann"));
    // Signed in, forms carry the session's token (the signed-out one no longer fits).
    let page = browser.post("/logg-ut", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let csrf = browser.csrf();

    // Single use.
    let page = browser.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.html.contains("allerede brukt eller utløpt"));

    // Sign-out ends the session, also for a copy of the cookie.
    let page = browser.post("/logg-ut", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!browser.cookies.contains_key("borgertun_session"));
    browser.cookies.insert("borgertun_session".into(), session);
    let page = browser.get("/").await;
    assert!(!page.html.contains("Logget inn som"));
    assert!(page.html.contains(r#"<a href="/logg-inn">Logg inn</a>"#));
}

async fn new_address_of_a_configured_domain_gets_an_account(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut browser = Browser::new(&app);
    browser.get("/logg-inn").await;
    let csrf = browser.csrf();
    browser
        .post("/logg-inn", &[("csrf", &csrf), ("email", "ny.ansatt@hvl.no")])
        .await;
    assert!(
        app.store.user_by_email("ny.ansatt@hvl.no").await.unwrap().is_none(),
        "no account before the link is used"
    );
    let link = link_for(&app, "ny.ansatt@hvl.no")
        .await
        .expect("a link for a configured domain");
    let page = browser.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let user = app
        .store
        .user_by_email("ny.ansatt@hvl.no")
        .await
        .unwrap()
        .expect("an account");
    assert_eq!((user.org.as_str(), user.role), ("hvl", Role::Requester));
    assert!(browser.get("/").await.html.contains("Logget inn som ny.ansatt"));
}

async fn expired_link_and_bad_input_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .add_user("kari@uib.no", "Kari", "uib", Role::Requester, chrono::Utc::now())
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    browser.get("/logg-inn").await;
    let csrf = browser.csrf();

    // A malformed address: the form again, with the error next to the field and the value kept.
    let page = browser
        .post("/logg-inn", &[("csrf", &csrf), ("email", "kari(at)uib")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.html.contains("Skriv en gyldig e-postadresse")
            && page.html.contains(r#"aria-invalid="true""#)
            && page.html.contains(r#"value="kari(at)uib""#)
    );
    // No token, a stale token: refused, no mail.
    let page = browser.post("/logg-inn", &[("email", "kari@uib.no")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(logins(&app.store.outbox().await.unwrap()), 0);

    // An expired link.
    browser
        .post("/logg-inn", &[("csrf", &csrf), ("email", "kari@uib.no")])
        .await;
    let link = link_for(&app, "kari@uib.no").await.unwrap();
    expire_links(&app).await;
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::GONE);
    let page = browser.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(!browser.cookies.contains_key("borgertun_session"));

    // Rate limit per address: five links, then the same answer without another mail (the
    // recent links still work: see `web::limits`).
    for _ in 0..5 {
        let page = browser
            .post("/logg-inn", &[("csrf", &csrf), ("email", "kari@uib.no")])
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html.contains("Sjekk e-posten din"));
    }
    assert_eq!(logins(&app.store.outbox().await.unwrap()), 5);
}

/// Move every sign-in link's expiry into the past, straight in the database.
async fn expire_links(app: &TestApp) {
    use sqlx::Connection;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.db_url).await.unwrap();
            sqlx::query("UPDATE login_links SET expires_at = $1")
                .bind(past)
                .execute(&mut c)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
            sqlx::query("UPDATE login_links SET expires_at = $1")
                .bind(past)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

/// The value of the hidden field `neste` on a page, unescaped, if there is one.
fn hidden_next(html: &str) -> Option<String> {
    let at = html.find(r#"name="neste" value=""#)? + r#"name="neste" value=""#.len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].replace("&amp;", "&"))
}

/// A link in a mail (or any page) asked for while signed out: sign-in brings the user back to
/// it, query and all; addresses of other sites are never followed.
async fn signing_in_returns_to_the_page_asked_for(b: Backend) {
    let app = TestApp::spawn(b).await;
    // kari@uib.no has no account yet: her domain's organisation gives her one on sign-in.
    let wanted = "/booking/ny?dato=2026-12-01&fra=10:00&til=11:30";
    let mut b = Browser::new(&app);
    let page = b.get(wanted).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let to_sign_in = page.headers["location"].to_str().unwrap().to_string();
    assert_eq!(
        to_sign_in,
        "/logg-inn?neste=%2Fbooking%2Fny%3Fdato%3D2026-12-01%26fra%3D10%3A00%26til%3D11%3A30"
    );
    let page = b.get(&to_sign_in).await;
    assert!(page.html.contains("Logg inn for å se siden du ba om."));
    assert_eq!(hidden_next(&page.html).as_deref(), Some(wanted));
    let csrf = b.csrf();
    b.post(
        "/logg-inn",
        &[("csrf", &csrf), ("email", "kari@uib.no"), ("neste", wanted)],
    )
    .await;
    // The mail's link carries the page along.
    let text = crate::common::login_mail_text(&app, "kari@uib.no").await.unwrap();
    let link = crate::common::login_link_in(&text).unwrap();
    assert!(
        link.ends_with("?neste=%2Fbooking%2Fny%3Fdato%3D2026-12-01%26fra%3D10%3A00%26til%3D11%3A30"),
        "{link}"
    );
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    let next = hidden_next(&page.html).expect("the confirm form carries the page");
    assert_eq!(next, wanted);
    let path = link.split('?').next().unwrap();
    let page = b.post(path, &[("csrf", &csrf), ("neste", &next)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers["location"], wanted);
    let page = b.get(wanted).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(r#"value="2026-12-01""#) && page.html.contains(r#"value="11:30""#));

    // Other sites, and the sign-in pages themselves, are not followed: the week view instead.
    for (i, bad) in [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "/logg-inn",
        "bookinger",
        "/bookinger?søk=æ",
        "/bookinger\r\nSet-Cookie: x=1",
    ]
    .into_iter()
    .enumerate()
    {
        // One address each: a few links an address, then the rate limit.
        let email = format!("ola{i}@uib.no");
        let mut b = Browser::new(&app);
        let page = b.get(&format!("/logg-inn?neste={}", urlencode(bad))).await;
        assert_eq!(hidden_next(&page.html), None, "{bad}");
        let csrf = b.csrf();
        b.post("/logg-inn", &[("csrf", &csrf), ("email", &email), ("neste", bad)])
            .await;
        let link = link_for(&app, &email).await.unwrap();
        let page = b.post(&link, &[("csrf", &csrf), ("neste", bad)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{bad}");
        assert_eq!(page.headers["location"], "/", "{bad}");
    }

    // Odd query strings do not break the sign-in page: the first `neste` counts.
    let mut b = Browser::new(&app);
    let page = b.get("/logg-inn?neste=%2Fbookinger&neste=%2Frapport&x=%ZZ").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(hidden_next(&page.html).as_deref(), Some("/bookinger"));

    // A form sent after the session ended is not replayed: plain sign-in.
    let mut b = Browser::new(&app);
    b.get("/logg-inn").await;
    let csrf = b.csrf();
    let page = b.post("/bookinger/1/avbestill", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers["location"], "/logg-inn");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
