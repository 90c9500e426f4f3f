//! Rendered pages that are the same for every anonymous visitor (the week view), kept with the
//! bookings' version they were rendered at, so that a page is rendered once per change rather
//! than once per request.
//!
//! A kept page is current while the store's bookings version ([`crate::store::BookingStore::
//! bookings_version`]) is unchanged: every booking write in this process raises it. Writes by
//! another process (a second instance on the same PostgreSQL, a command line tool) do not;
//! for those a kept page is checked against the fingerprint of its bookings (the same cheap
//! aggregate the calendar feeds use) when it was last checked more than [`RECHECK`] ago.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::BookingQuery;

use super::{App, Result};

/// How long a kept page is served without asking the database whether another process has
/// changed its bookings.
pub const RECHECK: Duration = Duration::from_secs(1);

const MAX_PAGES: usize = 1000;

/// A rendered page and its entity tag.
#[derive(Debug)]
pub struct KeptPage {
    pub body: String,
    pub etag: String,
}

impl KeptPage {
    pub fn new(body: String) -> Self {
        let etag = etag_of(body.as_bytes());
        Self { body, etag }
    }
}

/// A strong entity tag for `body`: the first 128 bits of its SHA-256, quoted. The feeds' and
/// the pages' tags are made the same way.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

struct Entry {
    version: u64,
    fingerprint: String,
    checked: Instant,
    page: Arc<KeptPage>,
}

/// Rendered pages by key (what the page depends on besides its bookings). Bounded: emptied
/// when full.
#[derive(Default)]
pub struct PageCache {
    pages: Mutex<HashMap<String, Entry>>,
}

/// A cache stays usable after a panic elsewhere: its map is never left half-written.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PageCache {
    /// Forget every page (for benchmarks of the rendering).
    pub fn clear(&self) {
        lock(&self.pages).clear();
    }

    pub fn len(&self) -> usize {
        lock(&self.pages).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`App::kept_page`] found: the page, or what to keep a fresh rendering with.
pub enum Kept {
    Page(Arc<KeptPage>),
    Render(Ticket),
}

/// What a rendering is kept with: the version and fingerprint read before its bookings were.
pub struct Ticket {
    key: String,
    version: u64,
    fingerprint: String,
}

impl App {
    /// The page kept for `key` if it is still current for the bookings of `room` in
    /// `[from, to)`;
    /// otherwise a ticket to keep a fresh rendering with ([`App::keep_page`]). The version
    /// and fingerprint are read before the caller reads the bookings, so a change that
    /// comes in between makes the kept page stale rather than a stale page kept as current.
    pub async fn kept_page(&self, key: String, room: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Kept> {
        let window = BookingQuery {
            room: Some(room.to_string()),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        let version = self.store.bookings_version();
        let recheck = {
            let pages = lock(&self.page_cache.pages);
            match pages.get(&key) {
                Some(e) if e.version == version && e.checked.elapsed() < RECHECK => {
                    return Ok(Kept::Page(e.page.clone()));
                }
                Some(e) if e.version == version => Some(e.fingerprint.clone()),
                _ => None,
            }
        };
        let fingerprint = self.store.bookings_fingerprint(&window).await?;
        if recheck.as_deref() == Some(fingerprint.as_str()) {
            let mut pages = lock(&self.page_cache.pages);
            if let Some(e) = pages
                .get_mut(&key)
                .filter(|e| e.version == version && e.fingerprint == fingerprint)
            {
                e.checked = Instant::now();
                return Ok(Kept::Page(e.page.clone()));
            }
        }
        Ok(Kept::Render(Ticket {
            key,
            version,
            fingerprint,
        }))
    }

    /// Keep `page`, rendered after `ticket` was taken.
    pub fn keep_page(&self, ticket: Ticket, page: KeptPage) -> Arc<KeptPage> {
        let page = Arc::new(page);
        let mut pages = lock(&self.page_cache.pages);
        if pages.len() >= MAX_PAGES {
            pages.clear();
        }
        pages.insert(
            ticket.key,
            Entry {
                version: ticket.version,
                fingerprint: ticket.fingerprint,
                checked: Instant::now(),
                page: page.clone(),
            },
        );
        page
    }

    /// The kept pages (benchmarks empty them to time the rendering).
    pub fn page_cache(&self) -> &PageCache {
        &self.page_cache
    }
}
