//! The lifecycle of API tokens, accounts and sessions, end to end over HTTP: a revoked or
//! expired token, a disabled user and an idle or expired session are refused on the next
//! request; «Logg ut» ends one browser's session, «Logg ut alle andre» the others.

use borgertun::domain::Role;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};

on_both_backends!(
    tokens_are_listed_revoked_and_expire,
    a_disabled_user_is_refused_at_once,
    sessions_end_when_idle_and_at_their_limit,
    sign_out_ends_one_browser_and_the_others_on_request
);

const SIGNED_IN: &str = "Logget inn som";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.store.user_by_email(email).await.unwrap().expect("the user").id
}

async fn tokens_are_listed_revoked_and_expire(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let kari_id = user_id(&app, "kari@uib.no").await;
    let user = app.store.user(kari_id).await.unwrap().unwrap();
    let second = app.app.create_api_token(&user).await.unwrap();
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;

    let (s, _) = app.get(&kari, "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.get(&kari, "/api/v1/tokens").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tokens = v["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{v}");
    assert!(tokens.iter().all(|t| t["active"] == true && t["revoked_at"].is_null()));
    assert!(!v.to_string().contains("bt_"), "no secret is listed: {v}");
    // The expiry is a year (auth.api_token_days) from the making.
    let stored = app.store.api_tokens_of(kari_id).await.unwrap();
    for t in &stored {
        assert_eq!((t.expires_at - t.created_at).num_days(), 365);
    }
    // The last use is recorded, at most once a minute.
    let used = |ts: &[borgertun::store::ApiToken]| ts.iter().filter_map(|t| t.last_used_at).collect::<Vec<_>>();
    let first_use = used(&stored);
    assert_eq!(first_use.len(), 1, "only the token in use was used");
    app.get(&kari, "/api/v1/rooms").await;
    assert_eq!(used(&app.store.api_tokens_of(kari_id).await.unwrap()), first_use);
    app.clock.advance(Duration::minutes(2));
    app.get(&kari, "/api/v1/rooms").await;
    let later = used(&app.store.api_tokens_of(kari_id).await.unwrap());
    assert!(later[0] > first_use[0], "{later:?} after {first_use:?}");

    // Another user's token is not the caller's to revoke.
    // The second token made is the newest.
    let second_id = stored.iter().map(|t| t.id).max().unwrap();
    let (s, v) = app
        .post(&ola, &format!("/api/v1/tokens/{second_id}/revoke"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = app.get(&second, "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::OK);

    // Its owner revokes it: refused on the next request, and listed as revoked.
    let (s, v) = app
        .post(&kari, &format!("/api/v1/tokens/{second_id}/revoke"), &json!({}))
        .await;
    assert_eq!((s, &v["revoked"]), (StatusCode::OK, &Value::Bool(true)), "{v}");
    let (s, v) = app.get(&second, "/api/v1/rooms").await;
    assert_eq!(
        (s, &v["errors"][0]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
    );
    let (s, _) = app
        .post(&kari, &format!("/api/v1/tokens/{second_id}/revoke"), &json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "already revoked");
    let (_, v) = app.get(&kari, "/api/v1/tokens").await;
    let listed: Vec<(i64, bool)> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["active"].as_bool().unwrap()))
        .collect();
    assert!(
        listed.contains(&(second_id, false)) && listed.iter().any(|(_, a)| *a),
        "{v}"
    );

    // A year on, the token has expired.
    app.clock.advance(Duration::days(366));
    let (s, _) = app.get(&kari, "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get(&ola, "/api/v1/tokens").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn a_disabled_user_is_refused_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("anne@bergen.kommune.no", "beho", Role::Coordinator).await;
    app.user("admin@bergen.kommune.no", "beho", Role::Admin).await;
    let kari_id = user_id(&app, "kari@uib.no").await;
    let (s, feed) = app.post(&token, "/api/v1/feeds", &json!({ "kind": "personal" })).await;
    assert_eq!(s, StatusCode::CREATED, "{feed}");
    let feed_url = feed["url"].as_str().unwrap().to_string();
    let feed_status = || async { app.client.get(&feed_url).send().await.unwrap().status() };
    assert_eq!(feed_status().await, StatusCode::OK);

    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;
    assert!(kari.get("/").await.html.contains(SIGNED_IN));

    let mut anne = Browser::new(&app);
    anne.sign_in("anne@bergen.kommune.no").await;
    let page = anne.get("/koordinator/brukere").await;
    assert!(page.html.contains("Aktiv") && page.html.contains("Deaktiver"));
    let csrf = anne.csrf();
    let page = anne
        .post(&format!("/koordinator/brukere/{kari_id}/deaktiver"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("er deaktivert"), "{}", page.html);
    assert!(page.html.contains("Aktiver"));

    // The very next request of each kind is refused.
    assert!(!kari.get("/").await.html.contains(SIGNED_IN), "the session has ended");
    assert_eq!(kari.get("/bookinger").await.status, StatusCode::SEE_OTHER);
    let (s, _) = app.get(&token, "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(feed_status().await, StatusCode::NOT_FOUND);

    // Signing in answers as for any address, and sends nothing.
    let logins = || async {
        app.store
            .outbox()
            .await
            .unwrap()
            .iter()
            .filter(|m| m.kind == "login" && m.recipient == "kari@uib.no")
            .count()
    };
    let before = logins().await;
    kari.get("/logg-inn").await;
    let c = kari.csrf();
    let page = kari.post("/logg-inn", &[("csrf", &c), ("email", "kari@uib.no")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .html
        .contains("Vi har sendt en innloggingslenke til e-postadressen hvis den er registrert."));
    assert_eq!(logins().await, before, "no link for a disabled account");

    // Nobody disables themselves; a coordinator does not disable an administrator.
    let anne_id = user_id(&app, "anne@bergen.kommune.no").await;
    let admin_id = user_id(&app, "admin@bergen.kommune.no").await;
    for (id, message) in [
        (anne_id, "Du kan ikke deaktivere din egen konto."),
        (admin_id, "Bare en administrator kan deaktivere en administrator."),
    ] {
        let page = anne
            .post(&format!("/koordinator/brukere/{id}/deaktiver"), &[("csrf", &csrf)])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.html.contains(message), "{}", page.html);
    }
    // The last enabled administrator stays (the command line goes through the same rule).
    let admin = app.app.account(admin_id).await.unwrap();
    let refused = app.app.disable_user(None, &admin).await.unwrap_err();
    assert!(
        refused.to_string().contains("siste aktive administratoren"),
        "{refused}"
    );
    assert!(app.app.account(admin_id).await.unwrap().disabled_at.is_none());
    // A forged form changes nothing.
    let page = anne
        .post(
            &format!("/koordinator/brukere/{kari_id}/aktiver"),
            &[("csrf", &"0".repeat(64))],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(feed_status().await, StatusCode::NOT_FOUND);

    // Enabled again: the token and the feed work again; the ended session stays ended.
    let page = anne
        .post(&format!("/koordinator/brukere/{kari_id}/aktiver"), &[("csrf", &csrf)])
        .await;
    assert!(page.html.contains("er aktivert igjen"), "{}", page.html);
    let (s, _) = app.get(&token, "/api/v1/rooms").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(feed_status().await, StatusCode::OK);
    assert!(!kari.get("/").await.html.contains(SIGNED_IN));
    kari.sign_in("kari@uib.no").await;
    assert!(kari.get("/").await.html.contains(SIGNED_IN));
}

async fn sessions_end_when_idle_and_at_their_limit(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let mut kari = Browser::new(&app);
    kari.sign_in("kari@uib.no").await;

    // In use, the session slides past the idle timeout (2 hours) ...
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(100));
        assert!(kari.get("/bookinger").await.html.contains(SIGNED_IN));
    }
    // ... and ends after 2 hours unused.
    app.clock.advance(Duration::minutes(121));
    let page = kari.get("/bookinger").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.headers["location"].to_str().unwrap().starts_with("/logg-inn"));

    // However busy, a session ends 12 hours after sign-in.
    kari.sign_in("kari@uib.no").await;
    for _ in 0..7 {
        app.clock.advance(Duration::minutes(100));
        assert!(kari.get("/").await.html.contains(SIGNED_IN));
    }
    app.clock.advance(Duration::minutes(100));
    assert!(!kari.get("/").await.html.contains(SIGNED_IN), "past 12 hours");
}

async fn sign_out_ends_one_browser_and_the_others_on_request(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    let mut laptop = Browser::with_user_agent(&app, firefox);
    let mut phone = Browser::with_user_agent(&app, safari);
    laptop.sign_in("kari@uib.no").await;
    phone.sign_in("kari@uib.no").await;

    let page = laptop.get("/innlogginger").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("2 innlogginger"), "{}", page.html);
    assert!(page.html.contains("Firefox på Windows") && page.html.contains("Safari på iOS"));
    assert_eq!(page.html.matches("(denne nettleseren)").count(), 1);
    assert!(page.html.contains("Logg ut alle andre"));

    // «Logg ut» on the laptop ends its session only.
    let c = laptop.csrf();
    let page = laptop.post("/logg-ut", &[("csrf", &c)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!laptop.get("/").await.html.contains(SIGNED_IN));
    assert!(phone.get("/").await.html.contains(SIGNED_IN));
    let page = phone.get("/innlogginger").await;
    assert!(page.html.contains("1 innlogging") && !page.html.contains("Firefox"));

    // «Logg ut alle andre» on the phone ends the laptop's new session, not the phone's.
    laptop.sign_in("kari@uib.no").await;
    let c = phone.csrf();
    let page = phone.post("/innlogginger/logg-ut-andre", &[("csrf", &c)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("1 annen innlogging er avsluttet."), "{}", page.html);
    assert!(!laptop.get("/").await.html.contains(SIGNED_IN));
    assert!(phone.get("/").await.html.contains(SIGNED_IN));
    // Signed out, the page asks for sign-in.
    assert_eq!(laptop.get("/innlogginger").await.status, StatusCode::SEE_OTHER);
}

/// `borgertun user list|disable|enable` and `borgertun token list|revoke`, on a SQLite file.
#[test]
fn the_command_line_lists_disables_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_borgertun"))
            .args(["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config")])
            .args(args)
            .env("BORGERTUN_LOG", "warn")
            .env("BORGERTUN_DATABASE_URL", &db)
            .env_remove("BORGERTUN_BIND")
            .output()
            .expect("run borgertun");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.success(), out, err)
    };
    let add = |email: &str, role: &str| {
        let (ok, _, err) = run(&[
            "user", "add", "--email", email, "--name", "N N", "--org", "beho", "--role", role,
        ]);
        assert!(ok, "{err}");
    };
    add("admin@bergen.kommune.no", "admin");
    add("kari@bergen.kommune.no", "staff");

    let (ok, token, err) = run(&["token", "create", "--email", "kari@bergen.kommune.no"]);
    assert!(ok && token.trim().starts_with("bt_"), "{err}");
    assert!(err.contains("valid until"), "{err}");
    let (ok, list, _) = run(&["token", "list", "--email", "kari@bergen.kommune.no"]);
    assert!(ok && list.lines().count() == 1, "{list}");
    assert!(
        list.contains("last used never") && list.trim_end().ends_with("active"),
        "{list}"
    );
    assert!(!list.contains("bt_"), "no token is shown again");
    let id = list.split('\t').next().unwrap().to_string();
    let (ok, out, _) = run(&["token", "revoke", &id]);
    assert!(ok && out.contains("revoked"), "{out}");
    let (_, list, _) = run(&["token", "list", "--email", "kari@bergen.kommune.no"]);
    assert!(list.contains("\trevoked "), "{list}");
    let (ok, _, err) = run(&["token", "revoke", &id]);
    assert!(!ok && err.contains("no active token"), "{err}");

    let (ok, out, err) = run(&["user", "disable", "--email", "kari@bergen.kommune.no"]);
    assert!(ok && out.contains("disabled kari@bergen.kommune.no"), "{err}");
    let (_, list, _) = run(&["user", "list"]);
    let line = |email: &str| list.lines().find(|l| l.contains(email)).unwrap().to_string();
    assert!(line("kari@bergen.kommune.no").contains("\tdisabled "), "{list}");
    assert!(line("admin@bergen.kommune.no").ends_with("\tactive"), "{list}");
    // The last enabled administrator stays.
    let (ok, _, err) = run(&["user", "disable", "--email", "admin@bergen.kommune.no"]);
    assert!(!ok && err.contains("siste aktive administratoren"), "{err}");
    let (ok, out, _) = run(&["user", "enable", "--email", "kari@bergen.kommune.no"]);
    assert!(ok && out.contains("enabled kari@bergen.kommune.no"), "{out}");
    let (ok, _, err) = run(&["user", "disable", "--email", "nobody@bergen.kommune.no"]);
    assert!(!ok && err.contains("no user"), "{err}");
}
