//! The coordinator's pages and what they change: the queue with both sides of a conflict,
//! approve / displace / override / reject with a reason; the partner's view of a displacement
//! with one-click alternatives; override from the booking form; all bookings with filters;
//! users and access requests; refusals for other roles and forged forms.

use borgertun::domain::{Role, Status};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{booking, Backend, TestApp};

on_both_backends!(
    displace_from_the_queue_and_book_an_alternative,
    override_and_reject_need_reasons,
    queue_refuses_others_and_forged_forms,
    override_from_the_booking_form,
    all_bookings_filters,
    users_roles_and_access_requests
);

async fn status_of(app: &TestApp, id: i64) -> (Status, Option<String>) {
    let b = app.store.booking(id).await.unwrap().unwrap();
    (b.status, b.status_reason)
}

/// Book `from`–`to` on `day` through the API as `token`; the new booking's id and status.
async fn api_book(
    app: &TestApp,
    token: &str,
    day: chrono::NaiveDate,
    from: &str,
    to: &str,
    title: &str,
) -> (i64, String) {
    let (code, v) = app
        .post(token, "/api/v1/bookings", &booking(day, from, to, title))
        .await;
    assert!(code.is_success(), "{code} {v}");
    (v["id"].as_i64().unwrap(), v["status"].as_str().unwrap().to_string())
}

/// A pending request written straight to the store, past the rules (as if made long ago).
async fn pending_request(app: &TestApp, email: &str, day: chrono::NaiveDate, from: &str, to: &str, title: &str) -> i64 {
    use borgertun::domain::time::at_local;
    let t = |hm: &str| at_local(day, chrono::NaiveTime::parse_from_str(hm, "%H:%M").unwrap()).unwrap();
    let created = chrono::Utc::now() - chrono::Duration::days(20);
    app.store_booking(email, t(from), t(to), title, Status::Pending, created)
        .await
}

async fn displace_from_the_queue_and_book_an_alternative(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let per = app.user("per@beho.example", "beho", Role::Staff).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    let day = app.open_day(30);
    let (partner, st) = api_book(&app, &kari, day, "10:00", "12:00", "Forskermøte").await;
    assert_eq!(st, "confirmed");
    let (request, st) = api_book(&app, &per, day, "10:00", "12:00", "Arbeidsverksted BEHO").await;
    assert_eq!(st, "pending");

    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let home = coord.get("/").await;
    assert!(
        home.html.contains(r#"href="/koordinator""#),
        "the coordinator has a link to the queue"
    );
    let queue = coord.get("/koordinator").await;
    assert_eq!(queue.status, StatusCode::OK);
    // Both sides, side by side: tier, organisation, title, attendees, requested when, window.
    for text in [
        "Arbeidsverksted BEHO",
        "Forskermøte",
        "eier (BEHO)",
        "klyngepartner",
        "Universitetet i Bergen",
        "Forespurt",
        "Beskyttelsesperiode",
        "Blir fast",
        "Godkjenn og trekk tilbake",
        "Forslaget etter prioriteringsreglene: godkjenn forespørselen.",
    ] {
        assert!(queue.html.contains(text), "queue shows {text}");
    }
    let csrf = coord.csrf();
    let done = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[
                ("csrf", &csrf),
                ("handling", "godkjenn"),
                ("begrunnelse", "Fagdag for hele avdelingen"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains("Forespørselen er godkjent") && done.html.contains("Forskermøte"));
    assert_eq!(status_of(&app, request).await.0, Status::Confirmed);
    assert_eq!(
        status_of(&app, partner).await,
        (Status::Displaced, Some("Fagdag for hele avdelingen".to_string()))
    );
    let empty = coord.get("/koordinator").await;
    assert!(empty.html.contains("Ingen forespørsler venter på behandling."));

    // The partner sees the displacement with its reason and books an alternative in one click.
    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let ours = k.get("/bookinger").await;
    assert!(ours.html.contains("trukket tilbake"));
    let page = k.get(&format!("/bookinger/{partner}")).await;
    assert!(page.html.contains("Begrunnelse: Fagdag for hele avdelingen"));
    assert!(page.html.contains("Ledige alternativer"));
    let csrf = k.csrf();
    let at = page.html.find(r#"name="dato" value=""#).expect("an alternative") + r#"name="dato" value=""#.len();
    let dato = &page.html[at..at + 10];
    let field = |name: &str, from: usize| {
        let key = format!(r#"name="{name}" value=""#);
        let i = page.html[from..].find(&key).unwrap() + from + key.len();
        page.html[i..i + page.html[i..].find('"').unwrap()].to_string()
    };
    let (fra, til, tittel) = (field("fra", at), field("til", at), field("tittel", at));
    assert_eq!(tittel, "Forskermøte");
    let booked = k
        .post(
            "/booking/ny",
            &[
                ("csrf", &csrf),
                ("dato", dato),
                ("fra", &fra),
                ("til", &til),
                ("tittel", &tittel),
                ("deltakere", "10"),
                ("beskrivelse", ""),
                ("offentlig", "ja"),
                ("virksomhet", "uib"),
            ],
        )
        .await;
    assert!(booked.html.contains("Bookingen er bekreftet"), "{}", booked.html);
    let all = app.store.bookings(&Default::default()).await.unwrap();
    let new = all
        .iter()
        .find(|x| x.id != partner && x.id != request)
        .expect("a new booking");
    assert_eq!(
        (new.status, new.org.as_str(), new.title.as_str()),
        (Status::Confirmed, "uib", "Forskermøte")
    );
}

async fn override_and_reject_need_reasons(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let per = app.user("per@beho.example", "beho", Role::Staff).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    // Inside the protection window: the partner's booking is firm.
    let soon = app.open_day(3);
    let (firm, _) = api_book(&app, &kari, soon, "09:00", "10:00", "Veiledning").await;
    // A BEHO request inside the window is refused as busy; one made before the partner's
    // booking became firm is still waiting (stored directly, as if made weeks ago).
    let (code, _) = app
        .post(&per, "/api/v1/bookings", &booking(soon, "09:00", "10:00", "Akuttmøte"))
        .await;
    assert_eq!(code, StatusCode::CONFLICT);
    let request = pending_request(&app, "per@beho.example", soon, "09:00", "10:00", "Akuttmøte").await;
    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let queue = coord.get("/koordinator").await;
    assert!(queue.html.contains("Overstyr") && queue.html.contains("Fast"));
    assert!(!queue.html.contains(">Godkjenn og trekk tilbake<"));
    let csrf = coord.csrf();
    let before = app.snapshot().await;

    // Approving a firm conflict without override is refused; so is override without reason.
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[("csrf", &csrf), ("handling", "godkjenn")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Ingenting er endret"));
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[("csrf", &csrf), ("handling", "overstyr"), ("begrunnelse", "  ")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Skriv en begrunnelse når du overstyrer."));
    assert!(page
        .html
        .contains(&format!(r#"aria-describedby="begrunnelse-{request}-feil""#)));
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[("csrf", &csrf), ("handling", "avslaa")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Skriv en begrunnelse når du avslår."));
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[("csrf", &csrf), ("handling", "slett")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.snapshot().await, before, "nothing changed");

    // Override with a reason displaces the firm booking.
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[
                ("csrf", &csrf),
                ("handling", "overstyr"),
                ("begrunnelse", "Tilsynsbesøk"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(status_of(&app, request).await.0, Status::Confirmed);
    assert_eq!(
        status_of(&app, firm).await,
        (Status::Displaced, Some("Tilsynsbesøk".into()))
    );

    // Reject with a reason.
    let later = app.open_day(40);
    api_book(&app, &kari, later, "13:00", "14:00", "Seminar").await;
    let (second, _) = api_book(&app, &per, later, "13:00", "14:00", "Ledermøte").await;
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{second}"),
            &[
                ("csrf", &csrf),
                ("handling", "avslaa"),
                ("begrunnelse", "Kan holdes i 3. etasje"),
            ],
        )
        .await;
    assert!(page.html.contains("Forespørselen er avslått"));
    assert_eq!(
        status_of(&app, second).await,
        (Status::Rejected, Some("Kan holdes i 3. etasje".into()))
    );
    // Deciding again is refused and changes nothing.
    let before = app.snapshot().await;
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{second}"),
            &[("csrf", &csrf), ("handling", "godkjenn"), ("begrunnelse", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("er avslått og kan ikke godkjennes"));
    assert_eq!(app.snapshot().await, before);
}

async fn queue_refuses_others_and_forged_forms(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let per = app.user("per@beho.example", "beho", Role::Staff).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    let day = app.open_day(30);
    api_book(&app, &kari, day, "10:00", "12:00", "Forskermøte").await;
    let (request, _) = api_book(&app, &per, day, "10:00", "12:00", "Arbeidsverksted").await;
    let before = app.snapshot().await;

    let mut anon = Browser::new(&app);
    let page = anon.get("/koordinator").await;
    assert_eq!(
        (page.status, page.headers["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/logg-inn?neste=%2Fkoordinator")
    );
    let mut staff = Browser::new(&app);
    staff.sign_in("per@beho.example").await;
    assert!(!staff.get("/").await.html.contains(r#"href="/koordinator""#));
    for path in [
        "/koordinator",
        "/koordinator/bookinger",
        "/koordinator/brukere",
        "/koordinator/virksomheter",
    ] {
        let page = staff.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.html.contains("Denne siden er for koordinator."));
    }
    let csrf = staff.csrf();
    let page = staff
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[("csrf", &csrf), ("handling", "godkjenn"), ("begrunnelse", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // A coordinator's form with a stale token.
    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let page = coord
        .post(
            &format!("/koordinator/bookinger/{request}"),
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("handling", "godkjenn"),
                ("begrunnelse", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("Skjemaet er utløpt"));
    let page = coord
        .post(
            "/koordinator/bookinger/999999",
            &[("csrf", &coord.csrf()), ("handling", "godkjenn"), ("begrunnelse", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(app.snapshot().await, before, "nothing changed");
}

async fn override_from_the_booking_form(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    let soon = app.open_day(2);
    let (firm, _) = api_book(&app, &kari, soon, "12:00", "13:00", "Lunsjseminar").await;
    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let form = coord.get("/booking/ny").await;
    assert!(form.html.contains("Overstyring (koordinator)"));
    let csrf = coord.csrf();
    let d = soon.to_string();
    let fields = |reason: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("dato", d.clone()),
            ("fra", "12:00".into()),
            ("til", "13:00".into()),
            ("tittel", "Beredskapsmøte".into()),
            ("deltakere", "8".into()),
            ("beskrivelse", String::new()),
            ("virksomhet", "beho".into()),
            ("overstyr", "ja".into()),
            ("begrunnelse", reason.into()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let before = app.snapshot().await;
    let no_reason = as_refs(&fields(""));
    let refs: Vec<(&str, &str)> = no_reason.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = coord.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Skriv en begrunnelse for overstyringen"));
    assert!(page.html.contains("Beredskapsmøte"), "typed values kept");
    assert_eq!(app.snapshot().await, before);
    let with = as_refs(&fields("Vannlekkasje i møterommet i 2. etasje"));
    let refs: Vec<(&str, &str)> = with.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = coord.post("/booking/ny", &refs).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Bookingen er bekreftet") && page.html.contains("Lunsjseminar"));
    assert_eq!(
        status_of(&app, firm).await,
        (Status::Displaced, Some("Vannlekkasje i møterommet i 2. etasje".into()))
    );
    // A requester's «overstyr» is refused, as the API refuses it, and nothing changes.
    let mut k = Browser::new(&app);
    k.sign_in("kari@uib.no").await;
    let csrf = k.csrf();
    let before = app.snapshot().await;
    let page = k
        .post(
            "/booking/ny",
            &[
                ("csrf", &csrf),
                ("dato", &d),
                ("fra", "12:00"),
                ("til", "13:00"),
                ("tittel", "Tilbake"),
                ("deltakere", "8"),
                ("overstyr", "ja"),
                ("begrunnelse", "Vi var her først"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("Bare koordinator kan overstyre"));
    assert_eq!(app.snapshot().await, before);
    assert!(!k.get("/booking/ny").await.html.contains("Overstyring (koordinator)"));
}

async fn all_bookings_filters(b: Backend) {
    let app = TestApp::spawn(b).await;
    let kari = app.user("kari@uib.no", "uib", Role::Requester).await;
    let ola = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    let day = app.open_day(20);
    let (uib, _) = api_book(&app, &kari, day, "09:00", "10:00", "UiB-seminar").await;
    api_book(&app, &ola, day, "11:00", "12:00", "HVL-kurs").await;
    let (cancelled, _) = api_book(&app, &ola, day, "13:00", "14:00", "Avlyst møte").await;
    app.post(
        &ola,
        &format!("/api/v1/bookings/{cancelled}/cancel"),
        &serde_json::json!({}),
    )
    .await;
    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let all = coord.get("/koordinator/bookinger").await;
    assert!(all.html.contains("3 bookinger"));
    assert!(all.html.contains("UiB-seminar") && all.html.contains("HVL-kurs") && all.html.contains("Avlyst møte"));
    let page = coord.get("/koordinator/bookinger?virksomhet=uib").await;
    assert!(page.html.contains("1 bookinger") && page.html.contains(&format!("/bookinger/{uib}")));
    assert!(!page.html.contains("HVL-kurs"));
    let page = coord.get("/koordinator/bookinger?status=cancelled").await;
    assert!(page.html.contains("Avlyst møte") && !page.html.contains("UiB-seminar"));
    let page = coord
        .get(&format!(
            "/koordinator/bookinger?fra={}",
            day + chrono::Duration::days(1)
        ))
        .await;
    assert!(page.html.contains("0 bookinger"));
    let page = coord
        .get("/koordinator/bookinger?fra=31.12.2026&status=ukjent&virksomhet=nasa")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in ["Skriv datoen som åååå-mm-dd.", "Ukjent status.", "Ukjent virksomhet."] {
        assert!(page.html.contains(text), "{text}");
    }
    // A coordinator opens any organisation's booking page.
    let page = coord.get(&format!("/bookinger/{uib}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("UiB-seminar"));
    assert!(page.html.contains("Universitetet i Bergen"));
}

async fn users_roles_and_access_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("kari@uib.no", "uib", Role::Requester).await;
    app.user("koord@beho.example", "beho", Role::Coordinator).await;
    app.user("admin@beho.example", "beho", Role::Admin).await;

    // Someone outside the configured domains asks for access.
    let mut guest = Browser::new(&app);
    let form = guest.get("/tilgang").await;
    assert!(form.html.contains("Be om tilgang"));
    let csrf = guest.csrf();
    let page = guest
        .post(
            "/tilgang",
            &[
                ("csrf", &csrf),
                ("navn", ""),
                ("epost", "ikke-en-adresse"),
                ("virksomhet", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "Skriv navnet ditt",
        "Skriv en gyldig e-postadresse",
        "Skriv hvilken virksomhet",
    ] {
        assert!(page.html.contains(text), "{text}");
    }
    assert!(page.html.contains("ikke-en-adresse"), "typed values kept");
    assert!(app.store.access_requests().await.unwrap().is_empty());
    let page = guest
        .post(
            "/tilgang",
            &[
                ("csrf", &csrf),
                ("navn", "Siri Li"),
                ("epost", "siri@uib.no"),
                ("virksomhet", "UiB"),
            ],
        )
        .await;
    assert!(page.html.contains("Du kan logge inn direkte"));
    assert!(app.store.access_requests().await.unwrap().is_empty());
    let send = |name: &'static str, email: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("navn", name.to_string()),
            ("epost", email.to_string()),
            ("virksomhet", "Alrek pasientforum".to_string()),
            ("melding", "Brukerrådsmøter".to_string()),
        ]
    };
    for _ in 0..2 {
        let f = send("Anne Berg", "anne@pasientforum.example");
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = guest.post("/tilgang", &refs).await;
        assert!(page.html.contains("Forespørselen er sendt"));
    }
    let f = send("Bjørn Dahl", "bjorn@lag.example");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    guest.post("/tilgang", &refs).await;
    let requests = app.store.access_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "one open request per address");
    let outbox = app.store.outbox().await.unwrap();
    let notices: Vec<_> = outbox.iter().filter(|m| m.kind == "access_requested").collect();
    assert_eq!(
        notices.len(),
        4,
        "each request goes to the coordinator and the administrator"
    );
    assert!(notices
        .iter()
        .any(|m| m.recipient == "koord@beho.example" && m.body_text.contains("Anne Berg")));
    // The address without an account cannot sign in yet.
    let mut anne = Browser::new(&app);
    anne.get("/logg-inn").await;
    let c = anne.csrf();
    anne.post("/logg-inn", &[("csrf", &c), ("email", "anne@pasientforum.example")])
        .await;
    assert!(!app
        .store
        .outbox()
        .await
        .unwrap()
        .iter()
        .any(|m| m.recipient == "anne@pasientforum.example"));

    let mut coord = Browser::new(&app);
    coord.sign_in("koord@beho.example").await;
    let page = coord.get("/koordinator/brukere").await;
    assert!(
        page.html.contains("Anne Berg")
            && page.html.contains("Alrek pasientforum")
            && page.html.contains("Brukerrådsmøter")
    );
    assert!(
        !page.html.contains(r#"<option value="admin""#),
        "a coordinator cannot make administrators"
    );
    let csrf = coord.csrf();
    let (anne_req, bjorn_req) = (
        requests.iter().find(|r| r.name == "Anne Berg").unwrap().id,
        requests.iter().find(|r| r.name == "Bjørn Dahl").unwrap().id,
    );
    // Grant or refuse an access request, as the form on /koordinator/brukere sends it.
    let mut decide = async |id: i64, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        coord.post(&format!("/koordinator/tilgang/{id}"), &form).await
    };
    let page = decide(
        anne_req,
        &[("handling", "gi"), ("virksomhet", ""), ("rolle", "requester")],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Velg en virksomhet."));
    let page = decide(
        anne_req,
        &[("handling", "gi"), ("virksomhet", "beho"), ("rolle", "admin")],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app
        .store
        .user_by_email("anne@pasientforum.example")
        .await
        .unwrap()
        .is_none());
    let page = decide(
        anne_req,
        &[("handling", "gi"), ("virksomhet", "beho"), ("rolle", "requester")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("har fått tilgang"));
    let anne_user = app
        .store
        .user_by_email("anne@pasientforum.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (anne_user.org.as_str(), anne_user.role, anne_user.name.as_str()),
        ("beho", Role::Requester, "Anne Berg")
    );
    // Deciding it again: gone, nothing changes.
    let page = decide(anne_req, &[("handling", "avslaa"), ("begrunnelse", "Feil")]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(app
        .store
        .user_by_email("anne@pasientforum.example")
        .await
        .unwrap()
        .is_some());
    // Refusing needs a reason.
    let page = decide(bjorn_req, &[("handling", "avslaa"), ("begrunnelse", "")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    decide(
        bjorn_req,
        &[("handling", "avslaa"), ("begrunnelse", "Ikke en del av klyngen")],
    )
    .await;
    let outbox = app.store.outbox().await.unwrap();
    let granted = outbox.iter().find(|m| m.kind == "access_granted").unwrap();
    assert_eq!(granted.recipient, "anne@pasientforum.example");
    let refused = outbox.iter().find(|m| m.kind == "access_refused").unwrap();
    assert!(refused.recipient == "bjorn@lag.example" && refused.body_text.contains("Ikke en del av klyngen"));
    assert!(app.store.user_by_email("bjorn@lag.example").await.unwrap().is_none());
    // Anne signs in now.
    let mut anne = Browser::new(&app);
    anne.sign_in("anne@pasientforum.example").await;

    // Roles and organisations.
    let kari = app.store.user_by_email("kari@uib.no").await.unwrap().unwrap();
    let page = coord
        .post(
            &format!("/koordinator/brukere/{}", kari.id),
            &[("csrf", &csrf), ("virksomhet", "hvl"), ("rolle", "staff")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let kari = app.store.user(kari.id).await.unwrap().unwrap();
    assert_eq!((kari.org.as_str(), kari.role), ("hvl", Role::Staff));
    let me = app.store.user_by_email("koord@beho.example").await.unwrap().unwrap();
    let admin = app.store.user_by_email("admin@beho.example").await.unwrap().unwrap();
    for (id, form, message) in [
        (me.id, ("beho", "requester"), "Du kan ikke endre din egen rolle."),
        (
            admin.id,
            ("beho", "requester"),
            "Bare en administrator kan endre en administrator.",
        ),
        (
            kari.id,
            ("beho", "admin"),
            "Bare en administrator kan gi rollen administrator.",
        ),
        (kari.id, ("nasa", "staff"), "Velg en virksomhet."),
        (kari.id, ("beho", "boss"), "Velg en rolle."),
    ] {
        let page = coord
            .post(
                &format!("/koordinator/brukere/{id}"),
                &[("csrf", &csrf), ("virksomhet", form.0), ("rolle", form.1)],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.html.contains(message), "{message}");
    }
    assert_eq!(app.store.user(me.id).await.unwrap().unwrap().role, Role::Coordinator);
    assert_eq!(app.store.user(admin.id).await.unwrap().unwrap().role, Role::Admin);
    assert_eq!(app.store.user(kari.id).await.unwrap().unwrap().role, Role::Staff);
    // The administrator may.
    let mut adm = Browser::new(&app);
    adm.sign_in("admin@beho.example").await;
    let c = adm.csrf();
    adm.post(
        &format!("/koordinator/brukere/{}", kari.id),
        &[("csrf", &c), ("virksomhet", "beho"), ("rolle", "admin")],
    )
    .await;
    assert_eq!(app.store.user(kari.id).await.unwrap().unwrap().role, Role::Admin);

    // Organisations and tiers as configured.
    let page = coord.get("/koordinator/virksomheter").await;
    assert_eq!(page.status, StatusCode::OK);
    for o in &app.rules().organisations {
        assert!(
            page.html.contains(&maud::html! { (o.name) }.into_string()),
            "{}",
            o.name
        );
    }
    assert!(page.html.contains("uib.no") && page.html.contains("90 dager"));
}
