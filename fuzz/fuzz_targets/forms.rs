//! Form and query decoding of the pages: a booking form's body as `POST /booking/ny` reads it
//! (decoded as `axum::Form` does, then every field parsed: day and times, title, counts,
//! activity, the «Gjenta» fields), and a query string's `?neste=`, the page to return to after
//! signing in.
//!
//! A booking the form accepts has a title and a time, and a series' `RRULE` that the form made
//! is one the recurrence parser accepts; a form refused says why. `?neste=` is never a page of
//! another site: one leading slash, visible ASCII, no backslash.
#![no_main]

use std::sync::OnceLock;

use borgertun::config::Config;
use borgertun::domain::recurrence;
use borgertun::domain::{Role, User};
use borgertun::web::pages::{local_path, read_booking_form, return_path};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
        borgertun::config::load(std::path::Path::new(dir)).expect("the shipped configuration")
    })
}

fn check_return_path(query: &str) {
    let Some(path) = return_path(query) else {
        return;
    };
    assert!(
        path.starts_with('/') && !path.starts_with("//"),
        "{query:?} gave {path:?}"
    );
    assert!(
        path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'),
        "{query:?} gave {path:?}"
    );
    assert!(path.len() <= 1000);
    assert_eq!(local_path(&path), Some(path.as_str()));
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let user = User {
        id: 1,
        email: "kari@bergen.kommune.no".into(),
        name: "Kari Nordmann".into(),
        org: config.rules.organisations[0].key.clone(),
        role: Role::Requester,
    };
    let room = &config.rules.rooms[0].key;
    match read_booking_form(data, &user, room, &config.plan) {
        None => {}
        Some(Ok((booking, rrule))) => {
            assert!(!booking.title.as_str().trim().is_empty(), "{data:?}: no title");
            assert!(booking.attendees >= 1, "{data:?}: {} attendees", booking.attendees);
            if let Some(rrule) = rrule {
                if let Err(e) = recurrence::parse(&rrule) {
                    panic!("the form made {rrule:?}, which the parser refuses: {e}");
                }
            }
        }
        Some(Err(errors)) => assert!(!errors.is_empty(), "{data:?}: refused without a reason"),
    }
    check_return_path(&String::from_utf8_lossy(data));
});
