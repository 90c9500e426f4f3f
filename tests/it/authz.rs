//! The authorisation matrix: every route of the router — the API's, as its generated document
//! lists them, and the pages', as `web::page_routes` lists them from where they are
//! registered — answers each of six callers as [`MATRIX`] says. A route missing from the
//! table, or a row for a route that does not exist, fails the test.
//!
//! Each cell is a real request: API calls with the caller's bearer token, pages with the
//! caller's session cookie, and every form with this browser's valid anti-forgery token, so
//! the route's guard, not the anti-forgery check, is what answers. What a path or body refers
//! to ([`Fx`]) is made afresh for each cell, so no cell depends on another.
//!
//! To add a route: add its row (one line) to [`MATRIX`]. When a cell differs, the test prints
//! every differing row as it actually answered, in the table's own syntax.

use std::collections::BTreeSet;

use borgertun::domain::{FeedKind, Role, Status};
use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{at, Backend, TestApp};

on_both_backends!(every_route_answers_each_caller_as_the_matrix_says);

/// A redirect (303) to the sign-in page.
const IN: u16 = 1;

/// The callers, in the order of each row's cells.
const CALLERS: [&str; 6] = ["signed out", "own org", "other org", "staff", "coordinator", "admin"];

/// What a route's path parameter refers to, made afresh for each cell. «Own» is UiB: the
/// organisation of the requester in the second column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fx {
    /// Nothing to refer to.
    No,
    /// `{id}`: a confirmed booking of UiB, months ahead.
    Confirmed,
    /// `{id}`: a pending request of UiB.
    Pending,
    /// `{id}`: a series of UiB, its one occurrence confirmed, months ahead.
    Series,
    /// `{id}`: a series of UiB whose one occurrence waits for the coordinator.
    PendingSeries,
    /// `{id}`: a confirmed booking of UiB that has ended (for attendance).
    Past,
    /// `{id}`: another requester of UiB (for the coordinator's user form).
    User,
    /// `{id}`: an open access request.
    Access,
    /// `{id}`: a calendar feed of the UiB requester.
    Feed,
    /// `{id}`: an API token of the UiB requester (not the one the caller sends).
    Token,
    /// `{file}`: `<token>.ics` of a room feed.
    FeedFile,
    /// `{token}`: a sign-in link token that was never sent.
    Link,
    /// `{token}`: the cancel link of a reminder sent for a confirmed booking of UiB months
    /// ahead.
    Reminder,
    /// `{room}`: the room.
    Room,
    /// `{id}`: a waitlist entry of the UiB requester, waiting for a slot HVL has.
    Waiting,
    /// `{id}`: a waitlist entry of the UiB requester that holds a freed slot.
    Holding,
    /// `{token}`: the «Bekreft» link of a hold of the UiB requester.
    HoldLink,
    /// Nothing, and the request ends the caller's session: run after every other row.
    SignOut,
}
use Fx::*;

/// One route: method, path as the router names it, what it refers to, the body (a form for
/// pages, to which the anti-forgery token is added; JSON for the API), and the expected status
/// for each of [`CALLERS`]. In bodies, `{date}` is a free open day weeks ahead (`{start}` and
/// `{end}` are 10.00 and 12.00 on it), fresh for each cell; `{n}` a number unique to the cell.
type Row = (&'static str, &'static str, Fx, &'static str, [u16; 6]);

const BOOK_FORM: &str = "dato={date}&fra=10:00&til=12:00&tittel=Matrisemøte&deltakere=10&beskrivelse=&begrunnelse=";
const BOOK_JSON: &str = r#"{"room":"borgertun","start":"{start}","end":"{end}","title":"Matrisemøte","attendees":10}"#;
const SERIES_JSON: &str = r#"{"room":"borgertun","start":"{start}","end":"{end}","title":"Matriseserie","attendees":10,"rrule":"FREQ=WEEKLY;COUNT=1"}"#;

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //                                                                             signed out, own, other, staff, coordinator, admin
    // Public pages and assets
    ("GET",  "/",                                   No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/i-dag",                              No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/regler",                             No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/tilgjengelighet",                    No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/personvern",                         No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/aktiviteter",                        No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/aktiviteter.atom",                   No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/static/borgertun.css",               No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/static/refresh.js",                  No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/static/copy.js",                     No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/feeds/{file}",                       FeedFile, "",                        [200, 200, 200, 200, 200, 200]),
    // Signing in and access
    ("GET",  "/logg-inn",                           No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("POST", "/logg-inn",                           No,       "email=ny{n}@uib.no",      [200, 200, 200, 200, 200, 200]),
    ("GET",  "/logg-inn/lenke/{token}",             Link,     "",                        [410, 410, 410, 410, 410, 410]),
    ("POST", "/logg-inn/lenke/{token}",             Link,     "",                        [410, 410, 410, 410, 410, 410]),
    ("GET",  "/paminnelse/{token}",                 Reminder, "",                        [200, 200, 200, 200, 200, 200]),
    ("POST", "/paminnelse/{token}",                 Reminder, "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/venteliste/svar/{token}",            HoldLink, "",                        [200, 200, 200, 200, 200, 200]),
    ("POST", "/venteliste/svar/{token}",            HoldLink, "",                        [200, 200, 200, 200, 200, 200]),
    // The reminder's check-in: the link is the proof; the shipped tiers need no check-in.
    ("POST", "/paminnelse/{token}/sjekk-inn",       Reminder, "",                        [409, 409, 409, 409, 409, 409]),
    ("POST", "/logg-ut",                            SignOut,  "",                        [303, 303, 303, 303, 303, 303]),
    ("GET",  "/tilgang",                            No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("POST", "/tilgang",                            No,       "navn=Ny&epost=ny{n}@lag.example&virksomhet=Lag&melding=", [200, 200, 200, 200, 200, 200]),
    // Booking and the signed-in user's pages
    ("GET",  "/booking/ny",                         No,       "",                        [IN, 200, 200, 200, 200, 200]),
    ("POST", "/booking/ny",                         No,       BOOK_FORM,                 [IN, 200, 200, 200, 200, 200]),
    ("GET",  "/bookinger",                          No,       "",                        [IN, 200, 200, 200, 200, 200]),
    ("GET",  "/bookinger/{id}",                     Pending,  "",                        [IN, 200, 404, 404, 200, 200]),
    ("POST", "/bookinger/{id}/avbestill",           Confirmed, "begrunnelse=",           [IN, 200, 404, 404, 200, 200]),
    ("GET",  "/bookinger/{id}/flytt",               Confirmed, "",                       [IN, 200, 404, 404, 200, 200]),
    ("POST", "/bookinger/{id}/flytt",               Confirmed, "dato={date}&fra=10:00&til=12:00", [IN, 200, 404, 404, 200, 200]),
    ("GET",  "/bookinger/{id}/oppmote",             Past,     "",                        [IN, 200, 404, 404, 200, 200]),
    ("POST", "/bookinger/{id}/oppmote",             Past,     "faktisk-forskere=3&utbytte=Nyttig", [IN, 200, 404, 404, 200, 200]),
    ("GET",  "/booking/{id}/sjekk-inn",             Confirmed, "",                       [IN, 200, 404, 404, 200, 200]),
    ("POST", "/booking/{id}/sjekk-inn",             Confirmed, "",                       [IN, 409, 404, 404, 409, 409]),
    ("GET",  "/serier/{id}",                        Series,   "",                        [IN, 200, 404, 404, 200, 200]),
    ("GET",  "/serier/{id}/endre",                  Series,   "",                        [IN, 200, 404, 404, 200, 200]),
    ("POST", "/serier/{id}/endre",                  Series,   "forekomst=&fra=16:00&til=17:00&tittel=Endret {n}&deltakere=12", [IN, 303, 404, 404, 303, 303]),
    ("POST", "/serier/{id}/avbestill",              Series,   "forekomst=",              [IN, 303, 404, 404, 303, 303]),
    // The waitlist: a free time is not waited for (409)
    ("GET",  "/venteliste",                         No,       "",                        [IN, 200, 200, 200, 200, 200]),
    ("POST", "/venteliste",                         No,       BOOK_FORM,                 [IN, 409, 409, 409, 409, 409]),
    ("POST", "/venteliste/{id}/forlat",             Waiting,  "",                        [IN, 303, 404, 404, 303, 303]),
    ("POST", "/venteliste/{id}/bekreft",            Holding,  "",                        [IN, 200, 404, 404, 200, 200]),
    ("POST", "/venteliste/{id}/avsla",              Holding,  "",                        [IN, 200, 404, 404, 200, 200]),
    ("GET",  "/kalenderabonnement",                 No,       "",                        [IN, 200, 200, 200, 200, 200]),
    ("POST", "/kalenderabonnement",                 No,       "type=mine",               [IN, 200, 200, 200, 200, 200]),
    ("POST", "/kalenderabonnement/{id}/trekk-tilbake", Feed,  "",                        [IN, 200, 404, 404, 404, 404]),
    // The report: staff and coordinators
    ("GET",  "/rapport",                            No,       "",                        [IN, 403, 403, 200, 200, 200]),
    ("GET",  "/rapport.csv",                        No,       "",                        [IN, 403, 403, 200, 200, 200]),
    // The coordinator's pages
    ("GET",  "/koordinator",                        No,       "",                        [IN, 403, 403, 403, 200, 200]),
    ("GET",  "/koordinator/bookinger",              No,       "",                        [IN, 403, 403, 403, 200, 200]),
    ("POST", "/koordinator/bookinger/{id}",         Pending,  "handling=godkjenn&begrunnelse=", [IN, 403, 403, 403, 200, 200]),
    ("POST", "/koordinator/serier/{id}",            PendingSeries, "handling=godkjenn&begrunnelse=", [IN, 403, 403, 403, 200, 200]),
    ("GET",  "/koordinator/brukere",                No,       "",                        [IN, 403, 403, 403, 200, 200]),
    ("POST", "/koordinator/brukere/{id}",           User,     "virksomhet=uib&rolle=staff", [IN, 403, 403, 403, 200, 200]),
    ("POST", "/koordinator/brukere/{id}/deaktiver", User,     "",                        [IN, 403, 403, 403, 200, 200]),
    ("POST", "/koordinator/brukere/{id}/aktiver",   User,     "",                        [IN, 403, 403, 403, 200, 200]),
    ("GET",  "/innlogginger",                       No,       "",                        [IN, 200, 200, 200, 200, 200]),
    ("POST", "/innlogginger/logg-ut-andre",         No,       "",                        [IN, 200, 200, 200, 200, 200]),
    ("POST", "/koordinator/tilgang/{id}",           Access,   "handling=gi&virksomhet=uib&rolle=requester&begrunnelse=", [IN, 403, 403, 403, 200, 200]),
    ("GET",  "/koordinator/virksomheter",           No,       "",                        [IN, 403, 403, 403, 200, 200]),
    ("GET",  "/koordinator/oppmote",                No,       "",                        [IN, 403, 403, 403, 200, 200]),
    // The API (401 without a token)
    ("GET",  "/healthz",                            No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/readyz",                             No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/api/v1/openapi.json",                No,       "",                        [200, 200, 200, 200, 200, 200]),
    ("GET",  "/api/v1/rooms",                       No,       "",                        [401, 200, 200, 200, 200, 200]),
    ("GET",  "/api/v1/organisations",               No,       "",                        [401, 200, 200, 200, 200, 200]),
    ("GET",  "/api/v1/rooms/{room}/availability",   Room,     "",                        [401, 200, 200, 200, 200, 200]),
    ("GET",  "/api/v1/bookings",                    No,       "",                        [401, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/bookings",                    No,       BOOK_JSON,                 [401, 201, 201, 201, 201, 201]),
    ("GET",  "/api/v1/bookings/{id}",               Pending,  "",                        [401, 200, 404, 404, 200, 200]),
    ("PATCH", "/api/v1/bookings/{id}",              Confirmed, r#"{"start":"{start}","end":"{end}"}"#, [401, 200, 403, 403, 200, 200]),
    ("POST", "/api/v1/bookings/{id}/cancel",        Confirmed, "{}",                     [401, 200, 403, 403, 200, 200]),
    ("POST", "/api/v1/bookings/{id}/check-in",      Confirmed, "{}",                     [401, 409, 403, 403, 409, 409]),
    ("POST", "/api/v1/bookings/{id}/approve",       Pending,  "{}",                      [401, 403, 403, 403, 200, 200]),
    ("POST", "/api/v1/bookings/{id}/reject",        Pending,  r#"{"reason":"Nei"}"#,     [401, 403, 403, 403, 200, 200]),
    ("POST", "/api/v1/series",                      No,       SERIES_JSON,               [401, 201, 201, 201, 201, 201]),
    ("GET",  "/api/v1/series/{id}",                 Series,   "",                        [401, 200, 404, 404, 200, 200]),
    ("PATCH", "/api/v1/series/{id}",                Series,   r#"{"title":"Nytt navn"}"#, [401, 200, 404, 404, 200, 200]),
    ("POST", "/api/v1/series/{id}/cancel",          Series,   "{}",                      [401, 200, 404, 404, 200, 200]),
    ("POST", "/api/v1/series/{id}/decide",          Series,   r#"{"approve":true}"#,     [401, 403, 403, 403, 409, 409]),
    ("POST", "/api/v1/waitlist",                    No,       BOOK_JSON,                 [401, 409, 409, 409, 409, 409]),
    ("GET",  "/api/v1/waitlist",                    No,       "",                        [401, 200, 200, 200, 200, 200]),
    ("GET",  "/api/v1/waitlist/{id}",               Waiting,  "",                        [401, 200, 404, 404, 200, 200]),
    ("POST", "/api/v1/waitlist/{id}/leave",         Waiting,  "{}",                      [401, 200, 404, 404, 200, 200]),
    ("POST", "/api/v1/waitlist/{id}/confirm",       Holding,  "{}",                      [401, 200, 404, 404, 200, 200]),
    ("POST", "/api/v1/waitlist/{id}/decline",       Holding,  "{}",                      [401, 200, 404, 404, 200, 200]),
    ("GET",  "/api/v1/conflicts",                   No,       "",                        [401, 403, 403, 403, 200, 200]),
    ("GET",  "/api/v1/reports/summary",             No,       "",                        [401, 403, 403, 200, 200, 200]),
    ("GET",  "/api/v1/feeds",                       No,       "",                        [401, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/feeds",                       No,       r#"{"kind":"personal"}"#,  [401, 201, 201, 201, 201, 201]),
    ("POST", "/api/v1/feeds/{id}/revoke",           Feed,     "",                        [401, 200, 404, 404, 200, 200]),
    ("GET",  "/api/v1/tokens",                      No,       "",                        [401, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/tokens/{id}/revoke",          Token,    "",                        [401, 200, 404, 404, 404, 404]),
];

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/readyz"
}

/// Every (method, path) the router serves: the API's from its document, the rest from the
/// list the pages are registered from.
fn routed() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(borgertun::web::api::spec()).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    for (method, path) in borgertun::web::page_routes() {
        assert!(
            out.insert((method.to_string(), path.to_string())),
            "{method} {path} is registered twice"
        );
    }
    out
}

/// No module of `web/` registers a route past the lists above.
fn routes_are_registered_only_through_the_lists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("routes.rs")
                // The metrics listener's one route, on `server.metrics_bind` and not in the
                // public router (tests/it/metrics.rs checks it serves nothing else).
                && !path.ends_with("web/metrics.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                // A file's unit tests (its `#[cfg(test)]` module, last by convention) may build
                // routers of their own; the server never sees them.
                let served = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (i, line) in served.lines().enumerate() {
                    assert!(
                        !line.contains(".route(")
                            && !line.contains(".route_service(")
                            && !line.contains(".nest_service("),
                        "{}:{}: register routes through web::routes::Routes (pages) or the API's \
                         OpenApiRouter, so the authorisation matrix sees them: {line}",
                        path.display(),
                        i + 1
                    );
                }
            }
        }
    }
}

/// A caller: a browser (signed in, or not) and, when signed in, an API token.
struct Caller<'a> {
    email: Option<&'static str>,
    browser: Browser<'a>,
    token: Option<String>,
}

/// Makes what the cells refer to.
struct Fixtures<'a> {
    app: &'a TestApp,
    n: u32,
    /// Slots used of `far`, four a day.
    slots: usize,
    /// Open days weeks ahead for new bookings and moves (within every tier's horizon), and
    /// days further ahead for the bookings the cells refer to, so they never meet.
    near: Vec<NaiveDate>,
    far: Vec<NaiveDate>,
    /// Open days inside the partners' horizon for the waitlist's slots: three an afternoon,
    /// clear of the mornings the bodies book on the same days.
    mid: Vec<NaiveDate>,
    mid_slots: usize,
}

fn open_days(app: &TestApp, from_days: i64, n: usize) -> Vec<NaiveDate> {
    let room = &app.rules().rooms[0];
    let mut day = crate::common::today() + Duration::days(from_days);
    let mut out = Vec::new();
    while out.len() < n {
        if app.rules().closed_reason(room, day).is_none() {
            out.push(day);
        }
        day += Duration::days(1);
    }
    out
}

const OWN: &str = "kari@uib.no";

impl Fixtures<'_> {
    fn next(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    async fn booking(&mut self, status: Status, day: NaiveDate, hour: u32) -> i64 {
        let t = |h: u32| borgertun::domain::time::at_local(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap();
        let n = self.next();
        self.app
            .store_booking(
                OWN,
                t(hour),
                t(hour + 1),
                &format!("Fast {n}"),
                status,
                Utc::now() - Duration::days(40),
            )
            .await
    }

    /// A fresh slot months ahead: its day and hour.
    fn slot_ahead(&mut self) -> (NaiveDate, u32) {
        let k = self.slots;
        self.slots += 1;
        (self.far[k / 4], 8 + 2 * (k % 4) as u32)
    }

    /// A booking in a fresh slot months ahead.
    async fn ahead(&mut self, status: Status) -> i64 {
        let (day, hour) = self.slot_ahead();
        self.booking(status, day, hour).await
    }

    /// A series of one occurrence in a fresh slot months ahead.
    async fn series(&mut self, status: Status) -> i64 {
        let (day, hour) = self.slot_ahead();
        let t = |h: u32| borgertun::domain::time::at_local(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap();
        let n = self.next();
        let created = Utc::now() - Duration::days(40);
        let (id, _) = self
            .app
            .store_series(
                OWN,
                &format!("Serie {n}"),
                "FREQ=WEEKLY;COUNT=1",
                &[(t(hour), t(hour + 1))],
                status,
                created,
            )
            .await;
        id
    }

    /// The value of the path parameter for `fx`.
    async fn make(&mut self, fx: Fx) -> Option<String> {
        let app = self.app;
        Some(match fx {
            No | SignOut => return None,
            Confirmed => self.ahead(Status::Confirmed).await.to_string(),
            Pending => self.ahead(Status::Pending).await.to_string(),
            Series => self.series(Status::Confirmed).await.to_string(),
            PendingSeries => self.series(Status::Pending).await.to_string(),
            Past => {
                let k = self.next() as i64;
                let day = crate::common::today() - Duration::days(2 + k);
                self.booking(Status::Confirmed, day, 10).await.to_string()
            }
            User => {
                let n = self.next();
                app.app
                    .add_user(&format!("bruker{n}@uib.no"), "Bruker", "uib", Role::Requester)
                    .await
                    .unwrap()
                    .id
                    .to_string()
            }
            Access => {
                let n = self.next();
                let email = format!("tilgang{n}@lag.example");
                app.app.request_access(&email, "Ny Person", "Lag", None).await.unwrap();
                let requests = app.store.access_requests().await.unwrap();
                requests.iter().find(|r| r.email == email).unwrap().id.to_string()
            }
            Feed | FeedFile => {
                let owner = app.store.user_by_email(OWN).await.unwrap().unwrap();
                let kind = if fx == Feed { FeedKind::Personal } else { FeedKind::Room };
                let (feed, token) = app.app.create_feed(&owner, kind, None).await.unwrap();
                if fx == Feed {
                    feed.id.to_string()
                } else {
                    format!("{token}.ics")
                }
            }
            Token => {
                let owner = app.store.user_by_email(OWN).await.unwrap().unwrap();
                app.app.create_api_token_with_id(&owner).await.unwrap().1.id.to_string()
            }
            Link => "0123456789abcdef".repeat(4),
            Reminder => {
                // The link is all it takes: whoever holds it may cancel, signed in or not.
                let id = self.ahead(Status::Confirmed).await;
                let b = app.store.booking(id).await.unwrap().unwrap();
                let (token, hash) = borgertun::token::new_secret();
                let composer = app.app.composer();
                let reminded = app
                    .store
                    .remind(b.start - Duration::seconds(1), b.start, Utc::now(), &|b| {
                        (composer.reminder(b, "http://localhost/paminnelse/x"), hash.clone())
                    })
                    .await
                    .unwrap();
                assert_eq!(reminded.len(), 1);
                token
            }
            Room => app.rules().rooms[0].key.clone(),
            Waiting => self.entry(false).await.to_string(),
            Holding => self.entry(true).await.to_string(),
            HoldLink => {
                self.entry(true).await;
                let outbox = app.store.outbox().await.unwrap();
                let m = outbox
                    .iter()
                    .rev()
                    .find(|m| m.kind == "hold_offered" && m.recipient == OWN)
                    .unwrap();
                let at = m.body_text.find("/venteliste/svar/").unwrap() + "/venteliste/svar/".len();
                m.body_text[at..at + 64].to_string()
            }
        })
    }

    /// A waitlist entry of the UiB requester for a slot HVL has, inside the partners' horizon;
    /// with `hold`, HVL then cancels, and the entry holds the slot. The entry's id.
    async fn entry(&mut self, hold: bool) -> i64 {
        let app = self.app;
        let k = self.mid_slots;
        self.mid_slots += 1;
        let (day, hour) = (self.mid[k / 3], 14 + 2 * (k % 3) as u32);
        let t = |h: u32| borgertun::domain::time::at_local(day, NaiveTime::from_hms_opt(h, 0, 0).unwrap()).unwrap();
        let blocking = app
            .store_booking(
                "per@hvl.no",
                t(hour),
                t(hour + 1),
                "Opptatt",
                Status::Confirmed,
                Utc::now() - Duration::days(40),
            )
            .await;
        let own = app.store.user_by_email(OWN).await.unwrap().unwrap();
        let new = borgertun::domain::NewBooking {
            room: app.rules().rooms[0].key.clone(),
            start: t(hour),
            end: t(hour + 1),
            title: borgertun::domain::BookingTitle::parse("Venter").unwrap(),
            description: None,
            public: true,
            attendees: 10,
            org: "uib".into(),
            contact: own,
            activity: None,
        };
        let place = app.app.join_waitlist(new).await.unwrap();
        if hold {
            let hvl = app.store.user_by_email("per@hvl.no").await.unwrap().unwrap();
            app.app.cancel(blocking, &hvl, None).await.unwrap();
        }
        place.entry.id
    }

    /// `body` with its placeholders filled in.
    fn body(&mut self, body: &str) -> String {
        let mut out = body.replace("{n}", &self.next().to_string());
        if out.contains("{date}") || out.contains("{start}") {
            let day = self.near.remove(0);
            out = out
                .replace("{date}", &day.to_string())
                .replace("{start}", &at(day, "10:00"))
                .replace("{end}", &at(day, "12:00"));
        }
        out
    }
}

/// The status of one cell, with a redirect to the sign-in page as [`IN`].
async fn send(app: &TestApp, caller: &mut Caller<'_>, method: &str, path: &str, body: &str) -> u16 {
    if is_api(path) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = app.client.request(method, format!("{}{path}", app.base));
        if let Some(token) = &caller.token {
            req = req.bearer_auth(token);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        return req.send().await.unwrap().status().as_u16();
    }
    let page = match method {
        "GET" => caller.browser.get(path).await,
        "POST" => {
            let csrf = caller.browser.csrf();
            let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
            form.extend(
                body.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.split_once('=').unwrap_or((p, ""))),
            );
            caller.browser.post(path, &form).await
        }
        other => panic!("no pages answer {other}"),
    };
    let to_sign_in = page
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("/logg-inn"));
    if page.status == StatusCode::SEE_OTHER && to_sign_in {
        IN
    } else {
        page.status.as_u16()
    }
}

fn cell(code: u16) -> String {
    if code == IN {
        "IN".to_string()
    } else {
        code.to_string()
    }
}

async fn every_route_answers_each_caller_as_the_matrix_says(b: Backend) {
    routes_are_registered_only_through_the_lists();
    let in_table: BTreeSet<(String, String)> = MATRIX.iter().map(|(m, p, ..)| (m.to_string(), p.to_string())).collect();
    assert_eq!(in_table.len(), MATRIX.len(), "a route has two rows");
    let routed = routed();
    let missing: Vec<_> = routed.difference(&in_table).collect();
    let unrouted: Vec<_> = in_table.difference(&routed).collect();
    assert!(
        missing.is_empty() && unrouted.is_empty(),
        "routes without a row in the matrix: {missing:?}; rows for routes the router does not have: {unrouted:?}"
    );

    let app = TestApp::spawn(b).await;
    let people: [(&str, &str, Role); 5] = [
        (OWN, "uib", Role::Requester),
        ("per@hvl.no", "hvl", Role::Requester),
        ("ansatt@bergen.kommune.no", "beho", Role::Staff),
        ("koord@beho.example", "beho", Role::Coordinator),
        ("admin@beho.example", "beho", Role::Admin),
    ];
    let mut callers = vec![Caller {
        email: None,
        browser: Browser::new(&app),
        token: None,
    }];
    for (email, org, role) in people {
        let token = app.user(email, org, role).await;
        callers.push(Caller {
            email: Some(email),
            browser: Browser::new(&app),
            token: Some(token),
        });
    }
    for c in &mut callers {
        if let Some(email) = c.email {
            c.browser.sign_in(email).await;
        }
        // A page sets this browser's anti-forgery cookie for its session.
        c.browser.get("/").await;
    }
    let mut fixtures = Fixtures {
        app: &app,
        n: 0,
        slots: 0,
        near: open_days(&app, 15, 56),
        far: open_days(&app, 120, 40),
        mid: open_days(&app, 15, 20),
        mid_slots: 0,
    };

    // Rows that end the session go last.
    let order = MATRIX
        .iter()
        .filter(|r| r.2 != SignOut)
        .chain(MATRIX.iter().filter(|r| r.2 == SignOut));
    let mut wrong = Vec::new();
    // Whether a form of each caller got past the anti-forgery check somewhere: then its token
    // is valid, and every 403 of its forms is the guard's.
    let mut form_accepted = [false; 6];
    for &(method, route, fx, body, want) in order {
        let mut got = [0u16; 6];
        for (i, caller) in callers.iter_mut().enumerate() {
            let value = fixtures.make(fx).await;
            let path = match &value {
                Some(v) => ["{id}", "{file}", "{token}", "{room}"]
                    .iter()
                    .fold(route.to_string(), |p, k| p.replace(k, v)),
                None => route.to_string(),
            };
            let body = fixtures.body(body);
            got[i] = send(&app, caller, method, &path, &body).await;
            if method == "POST" && !is_api(route) && (200..400).contains(&got[i]) {
                form_accepted[i] = true;
            }
        }
        if got != want {
            let cells = |c: [u16; 6]| c.map(cell).join(", ");
            let by_caller: Vec<String> = (0..6)
                .filter(|&i| got[i] != want[i])
                .map(|i| format!("{}: {} not {}", CALLERS[i], cell(got[i]), cell(want[i])))
                .collect();
            wrong.push(format!(
                "    (\"{method}\", \"{route}\", {fx:?}, ...) [{}],  // {}",
                cells(got),
                by_caller.join("; ")
            ));
        }
    }
    assert_eq!(form_accepted, [true; 6], "every caller's anti-forgery token works");
    assert!(
        wrong.is_empty(),
        "{} rows answer otherwise than the matrix says (as answered):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
