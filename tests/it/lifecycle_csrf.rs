//! Finding 7: anti-forgery tokens are bound to the session (an HMAC of it under the server's
//! key), not a double-submit cookie anyone who can write a cookie can fill; over HTTPS the
//! session and pre-session cookies carry the `__Host-` prefix.

use borgertun::domain::Role;
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};

on_both_backends!(
    a_token_not_made_for_this_session_is_refused,
    cookies_are_host_only_over_https
);

const SIGNED_IN: &str = "Logget inn som";

async fn a_token_not_made_for_this_session_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    for email in ["kari@uib.no", "ola@hvl.no"] {
        app.store
            .add_user(email, email, "uib", Role::Requester, chrono::Utc::now())
            .await
            .unwrap();
    }
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    assert!(kari.get("/").await.html.contains(SIGNED_IN));

    // A cookie planted next to the session (from a sibling domain, say) with a value the
    // attacker chose, repeated in the forged form: refused, and the session goes on.
    let chosen = "a".repeat(64);
    for name in ["borgertun_csrf", "borgertun_presession"] {
        kari.cookies.insert(name.to_string(), chosen.clone());
    }
    let page = kari.post("/logg-ut", &[("csrf", &chosen)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "a chosen token is refused");
    assert!(kari.get("/").await.html.contains(SIGNED_IN), "nothing changed");

    // The form of another user's session does not fit this one, whatever the cookies say.
    let mut ola = Browser::new(&app);
    ola.sign_in("ola@hvl.no").await;
    let page = ola.get("/").await;
    let ola_token = form_token(&page.html);
    for name in ["borgertun_csrf", "borgertun_presession"] {
        kari.cookies.insert(name.to_string(), ola_token.clone());
    }
    let page = kari.post("/logg-ut", &[("csrf", &ola_token)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "another session's token is refused");
    assert!(kari.get("/").await.html.contains(SIGNED_IN));

    // Nor does a token from before signing in.
    let mut fresh = Browser::new(&app);
    let page = fresh.get("/logg-inn").await;
    let signed_out_token = form_token(&page.html);
    fresh.sign_in("kari@uib.no").await;
    let page = fresh.post("/logg-ut", &[("csrf", &signed_out_token)]).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "a pre-session token is refused signed in"
    );

    // This session's own form works, and the token does not repeat a cookie's value.
    let page = kari.get("/").await;
    let own = form_token(&page.html);
    assert!(!kari.cookies.values().any(|v| *v == own), "the token is in no cookie");
    let page = kari.post("/logg-ut", &[("csrf", &own)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!kari.get("/").await.html.contains(SIGNED_IN));
}

/// The first form's anti-forgery token on a page.
fn form_token(html: &str) -> String {
    const FIELD: &str = r#"name="csrf" value=""#;
    let at = html.find(FIELD).expect("a form") + FIELD.len();
    html[at..].split('"').next().unwrap().to_string()
}

async fn cookies_are_host_only_over_https(b: Backend) {
    let app = TestApp::spawn_with(b, |cfg| {
        cfg.server.public_url = Some("https://borgertun.example".to_string());
    })
    .await;
    app.store
        .add_user("kari@uib.no", "Kari", "uib", Role::Requester, chrono::Utc::now())
        .await
        .unwrap();
    let mut kari = Browser::new(&app);
    let page = kari.get("/logg-inn").await;
    let set: Vec<String> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .collect();
    assert!(
        set.iter().any(|c| c.starts_with("__Host-")),
        "a __Host- pre-session cookie: {set:?}"
    );
    for c in &set {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(
            c.contains("; Secure") && c.contains("Path=/") && !c.contains("Domain"),
            "{c}"
        );
    }
    let token = form_token(&page.html);
    kari.post("/logg-inn", &[("csrf", &token), ("email", "kari@uib.no")])
        .await;
    let outbox = app.store.outbox().await.unwrap();
    let m = outbox.iter().rev().find(|m| m.kind == "login").expect("a sign-in mail");
    let at = m.body_text.find("/logg-inn/lenke/").unwrap();
    let link = m.body_text[at..at + "/logg-inn/lenke/".len() + 64].to_string();
    let page = kari.post(&link, &[("csrf", &token)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let session = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.contains("_session="))
        .expect("a session cookie");
    assert!(session.starts_with("__Host-borgertun_session="), "{session}");
    assert!(session.contains("; Secure") && session.contains("HttpOnly") && !session.contains("Domain"));
    assert!(kari.get("/").await.html.contains(SIGNED_IN));
}
