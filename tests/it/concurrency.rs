//! Never a double booking: many clients race for one slot, through one server and through two
//! server processes sharing one database; and the database refuses an overlap on its own.

use std::sync::Arc;

use borgertun::domain::{BookingTitle, NewBooking, Role, Status};
use borgertun::store::{self, Insert};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::serve::{Serve, ServeProcess};
use crate::common::{at, booking, Backend, TestApp};

on_both_backends!(
    fifty_clients_race_for_one_slot,
    the_database_refuses_overlapping_confirmed_bookings,
    two_server_processes_share_one_database
);

/// Fire `requests` at once (each `(base_url, token, body)`), return the statuses.
async fn race(requests: Vec<(String, String, Value)>) -> Vec<StatusCode> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let client = reqwest::Client::new();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(base, token, body)| {
            let (barrier, client) = (barrier.clone(), client.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                client
                    .post(format!("{base}/api/v1/bookings"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Exactly one request got the slot; every other one was told it is busy.
fn assert_one_winner(statuses: &[StatusCode]) {
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(),
        statuses.len() - 1,
        "{statuses:?}"
    );
}

/// `n` requesters spread over five partner organisations, with an API token each.
pub(crate) async fn users(app: &TestApp, n: usize) -> Vec<String> {
    let orgs = ["uib", "hvl", "norce", "vid", "fhi"];
    let mut tokens = Vec::new();
    for i in 0..n {
        let org = orgs[i % orgs.len()];
        tokens.push(app.user(&format!("person{i}@{org}.no"), org, Role::Requester).await);
    }
    tokens
}

fn assert_no_overlap(bookings: &[borgertun::domain::Booking]) {
    let confirmed: Vec<_> = bookings.iter().filter(|b| b.status == Status::Confirmed).collect();
    for (i, a) in confirmed.iter().enumerate() {
        for b in &confirmed[i + 1..] {
            assert!(
                !(a.start < b.blocked_until && b.start < a.blocked_until),
                "overlap: {} and {}",
                a.id,
                b.id
            );
        }
    }
}

async fn fifty_clients_race_for_one_slot(b: Backend) {
    let app = TestApp::spawn(b).await;
    let tokens = users(&app, 50).await;
    let day = app.open_day(10);

    // 50 partners, one slot: exactly one wins, 49 are told it is busy.
    let reqs = tokens
        .iter()
        .map(|t| (app.base.clone(), t.clone(), booking(day, "10:00", "12:00", "Kappløp")))
        .collect();
    let statuses = race(reqs).await;
    assert_one_winner(&statuses);
    let all = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, Status::Confirmed);

    // 50 overlapping requests at staggered starts on another day: whatever wins, no overlap.
    let day2 = app.open_day(11);
    let reqs = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let start = chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap() + Duration::minutes(15 * (i as i64 % 40));
            let end = start + Duration::minutes(90);
            let body = serde_json::json!({"room": "borgertun", "start": at(day2, &start.format("%H:%M").to_string()), "end": at(day2, &end.format("%H:%M").to_string()), "title": "Trengsel", "attendees": 5});
            (app.base.clone(), t.clone(), body)
        })
        .collect();
    let statuses = race(reqs).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert!(created >= 2, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let all = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1 + created);
    assert_no_overlap(&all);
}

async fn the_database_refuses_overlapping_confirmed_bookings(b: Backend) {
    // Bypass the rules and write straight through the store: the database itself says no.
    let app = TestApp::spawn(b).await;
    let user = app
        .store
        .add_user("kari@uib.no", "Kari", "uib", Role::Requester, Utc::now())
        .await
        .unwrap();
    let day = app.open_day(10);
    let mk = |from: &str, to: &str| NewBooking {
        room: "borgertun".into(),
        start: chrono::DateTime::parse_from_rfc3339(&at(day, from)).unwrap().to_utc(),
        end: chrono::DateTime::parse_from_rfc3339(&at(day, to)).unwrap().to_utc(),
        title: BookingTitle::parse("Direkte").unwrap(),
        description: None,
        public: true,
        attendees: 3,
        org: "uib".into(),
        contact: user.clone(),
        activity: None,
    };
    let insert = |nb: NewBooking, status: Status| {
        let store = app.store.clone();
        async move {
            let mut tx = store.write("borgertun").await?;
            let until = nb.end + Duration::minutes(15);
            let b = tx
                .insert(Insert {
                    booking: &nb,
                    series: None,
                    status,
                    blocked_until: until,
                    reason: None,
                    actor: "test",
                    now: Utc::now(),
                })
                .await?;
            tx.commit().await?;
            Ok::<_, store::StoreError>(b)
        }
    };
    insert(mk("10:00", "11:00"), Status::Confirmed).await.unwrap();
    // Overlapping the buffer only (11.00–11.15) is an overlap too.
    assert!(matches!(
        insert(mk("11:00", "12:00"), Status::Confirmed).await,
        Err(store::StoreError::Overlap)
    ));
    assert!(matches!(
        insert(mk("09:30", "10:30"), Status::Confirmed).await,
        Err(store::StoreError::Overlap)
    ));
    // Pending requests may overlap; confirming one that overlaps is refused as well.
    let pending = insert(mk("10:30", "11:30"), Status::Pending).await.unwrap();
    let mut tx = app.store.write("borgertun").await.unwrap();
    let res = tx
        .transition(store::Transition {
            id: pending.id,
            from: Status::Pending,
            to: Status::Confirmed,
            reason: None,
            actor: "test",
            now: Utc::now(),
        })
        .await;
    assert!(matches!(res, Err(store::StoreError::Overlap)), "{res:?}");
    drop(tx);
    insert(mk("11:15", "12:00"), Status::Confirmed).await.unwrap();
    assert_eq!(app.store.bookings(&Default::default()).await.unwrap().len(), 3);
}

/// A `borgertun serve` child process, killed on drop.
/// A `borgertun serve` process on `db_url`.
pub(crate) async fn start_server(db_url: &str) -> ServeProcess {
    Serve::new(db_url).start().await
}

async fn two_server_processes_share_one_database(b: Backend) {
    // The in-process app prepares the database (schema, users); two real server processes
    // then take the race.
    let app = TestApp::spawn(b).await;
    let tokens = users(&app, 50).await;
    let (one, two) = (start_server(&app.db_url).await, start_server(&app.db_url).await);
    let day = app.open_day(12);
    let reqs = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let base = if i % 2 == 0 { one.base.clone() } else { two.base.clone() };
            (base, t.clone(), booking(day, "13:00", "15:00", "To servere"))
        })
        .collect();
    let statuses = race(reqs).await;
    assert_one_winner(&statuses);
    let all = app.store.bookings(&Default::default()).await.unwrap();
    assert_eq!(all.iter().filter(|b| b.status == Status::Confirmed).count(), 1);
    assert_eq!(all.len(), 1);
}
