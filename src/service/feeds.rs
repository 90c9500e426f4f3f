//! Calendar feeds: subscription links for a room, an organisation or a person, and the
//! calendars behind them.
//!
//! Feeds are polled far more often than they change. Two caches keep that cheap: a rendered
//! feed is kept with a fingerprint of what it was rendered from (a cheap aggregate over its
//! window), and rendered events are kept by booking version, shared by all feeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

use crate::calendar::{self, EventInput, FeedInfo};
use crate::domain::time::{local, start_of_day};
use crate::domain::{view_of, Booking, DomainError, FeedKind, User, View};
use crate::store::{BookingQuery, FeedToken};
use crate::token::hash_token;

use super::{App, Result};

/// A rendered feed, its ETag and when it last changed.
#[derive(Debug)]
pub struct RenderedFeed {
    pub body: String,
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

/// Rendered feeds by feed id, with the fingerprint of what they were rendered from; and
/// rendered events by booking version. Both are bounded and simply emptied when full.
#[derive(Default)]
pub struct FeedCache {
    feeds: Mutex<HashMap<i64, (String, Arc<RenderedFeed>)>>,
    events: Mutex<HashMap<EventKey, Arc<str>>>,
}

const MAX_CACHED_FEEDS: usize = 1000;
const MAX_CACHED_EVENTS: usize = 100_000;

/// A cache stays usable after a panic elsewhere: its maps are never left half-written.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FeedCache {
    /// Forget everything (for benchmarks of the cold path).
    pub fn clear(&self) {
        lock(&self.feeds).clear();
        lock(&self.events).clear();
    }

    fn feed(&self, id: i64, fingerprint: &str) -> Option<Arc<RenderedFeed>> {
        lock(&self.feeds)
            .get(&id)
            .filter(|(f, _)| f == fingerprint)
            .map(|(_, rendered)| rendered.clone())
    }

    fn keep_feed(&self, id: i64, fingerprint: String, rendered: Arc<RenderedFeed>) {
        let mut feeds = lock(&self.feeds);
        if feeds.len() >= MAX_CACHED_FEEDS {
            feeds.clear();
        }
        feeds.insert(id, (fingerprint, rendered));
    }

    fn events(&self, keys: &[EventKey]) -> Vec<Option<Arc<str>>> {
        let events = lock(&self.events);
        keys.iter().map(|k| events.get(k).cloned()).collect()
    }

    fn keep_events(&self, fresh: &[(EventKey, Arc<str>)]) {
        let mut events = lock(&self.events);
        if events.len() + fresh.len() > MAX_CACHED_EVENTS {
            events.clear();
        }
        events.extend(fresh.iter().cloned());
    }
}

/// A booking's version and view, as an event's text depends on them. Names and addresses come
/// from the configuration, which is fixed for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct EventKey {
    id: i64,
    sequence: i64,
    updated: i64,
    full: bool,
}

impl EventKey {
    fn of(b: &Booking, view: View) -> Self {
        Self {
            id: b.id,
            sequence: b.sequence,
            updated: b.updated_at.timestamp_micros(),
            full: view == View::Full,
        }
    }
}

/// The subscription URLs of a feed token: https and webcal.
pub fn feed_urls(public_url: &str, token: &str) -> (String, String) {
    let url = format!("{public_url}/feeds/{token}.ics");
    let webcal = format!(
        "webcal://{}",
        url.split_once("://").map(|(_, rest)| rest).unwrap_or(&url)
    );
    (url, webcal)
}

/// `feed` as its owner's user record makes it now: an organisation feed shows the owner's
/// current organisation (a coordinator may have moved them since the feed was made).
fn as_of_now(mut feed: FeedToken, owner: &User) -> FeedToken {
    if feed.kind == FeedKind::Organisation {
        feed.org = Some(owner.org.clone());
    }
    feed
}

/// What a feed selects, and for whom.
struct Selection<'u> {
    query: BookingQuery,
    name: String,
    /// Whom the feed shows its bookings to, by the view rule: a room feed to nobody in
    /// particular (its link may be passed on), the others to their owner.
    viewer: Option<&'u User>,
}

impl App {
    /// Create a calendar feed for `user`: a room's (the first room unless named), their
    /// organisation's, or their own bookings. Returns the feed and its token, shown once.
    pub async fn create_feed(&self, user: &User, kind: FeedKind, room: Option<&str>) -> Result<(FeedToken, String)> {
        let rules = self.rules();
        let room = match kind {
            FeedKind::Room => {
                let key = room
                    .or_else(|| rules.rooms.first().map(|r| r.key.as_str()))
                    .unwrap_or_default();
                let room = rules
                    .room(key)
                    .ok_or_else(|| DomainError::new("unknown_room", format!("Ukjent rom «{key}».")).on("room"))?;
                Some(room.key.as_str())
            }
            _ => None,
        };
        // An organisation feed stores no organisation: it is its owner's, as of each request.
        let (token, hash) = crate::token::new_secret();
        let feed = self
            .store
            .add_feed(user.id, kind, room, None, &hash, self.now())
            .await?;
        Ok((as_of_now(feed, user), token))
    }

    /// `user`'s feeds, revoked ones too.
    pub async fn feeds_of(&self, user: &User) -> Result<Vec<FeedToken>> {
        let feeds = self.store.feeds_of(user.id).await?;
        Ok(feeds.into_iter().map(|f| as_of_now(f, user)).collect())
    }

    /// Revoke feed `id` of `owner` (anyone's with `None`); false if there was none to revoke.
    pub async fn revoke_feed(&self, id: i64, owner: Option<&User>) -> Result<bool> {
        Ok(self.store.revoke_feed(id, owner.map(|u| u.id), self.now()).await?)
    }

    /// ORGANIZER, UID domain and LOCATION for the events of `room`: invitations, downloads and
    /// feeds.
    pub fn calendar_context(&self, room: &str) -> calendar::Context {
        self.composer().calendar_context(room)
    }

    /// The feeds' caches (the benchmarks empty them).
    pub fn feed_cache(&self) -> &FeedCache {
        &self.feed_cache
    }

    /// The calendar behind a feed token, as of now; `None` for an unknown or revoked token
    /// alike, so an answer gives no hint which. Rendered again only when a booking in its
    /// window has changed (or the window has moved on).
    pub async fn feed_calendar(&self, token: &str) -> Result<Option<Arc<RenderedFeed>>> {
        let found = self.store.feed_by_token(&hash_token(token)).await?;
        let Some((feed, owner)) = found.filter(|(f, _)| f.revoked_at.is_none()) else {
            return Ok(None);
        };
        let feed = as_of_now(feed, &owner);
        let selection = self.selection(&feed, &owner, self.now());
        let fingerprint = format!(
            "{}|{:?}|{:?}|{}|{:?}",
            self.store.bookings_fingerprint(&selection.query).await?,
            selection.query.from,
            selection.query.to,
            selection.name,
            selection.viewer.map(|u| (&u.org, u.role)),
        );
        if let Some(rendered) = self.feed_cache.feed(feed.id, &fingerprint) {
            return Ok(Some(rendered));
        }
        let rendered = Arc::new(self.render(&feed, selection).await?);
        self.feed_cache.keep_feed(feed.id, fingerprint, rendered.clone());
        Ok(Some(rendered))
    }

    /// Render `feed` of `owner` from the database as of `now`, past the cache of rendered
    /// feeds (rendered events still come from theirs).
    pub async fn render_feed(&self, feed: &FeedToken, owner: &User, now: DateTime<Utc>) -> Result<RenderedFeed> {
        self.render(feed, self.selection(feed, owner, now)).await
    }

    /// The last `feeds.past_days` days to the end of the longest booking horizon, in whole days
    /// (so the window, and the calendar, stay the same all day). What a feed selects and how
    /// much of it shows follow its owner's user record as it is now (organisation and role,
    /// through the view rule), never what they were when the feed was made.
    fn selection<'u>(&self, feed: &FeedToken, owner: &'u User, now: DateTime<Utc>) -> Selection<'u> {
        let rules = self.rules();
        let horizon = rules.tiers.iter().map(|t| t.horizon_days).max().unwrap_or(365);
        let today = local(now).date_naive();
        let mut query = BookingQuery {
            from: Some(start_of_day(today - Duration::days(self.config().feeds.past_days))),
            to: Some(start_of_day(today + Duration::days(horizon + 1))),
            ..Default::default()
        };
        let (name, viewer) = match feed.kind {
            FeedKind::Room => {
                let room = feed.room.clone().unwrap_or_default();
                let name = rules.room_name(&room).to_string();
                query.room = Some(room);
                (name, None)
            }
            FeedKind::Organisation => {
                let org = owner.org.clone();
                let name = format!("Borgertun – {}", rules.org_name(&org));
                query.org = Some(org);
                (name, Some(owner))
            }
            FeedKind::Personal => {
                query.contact_email = Some(owner.email.clone());
                (format!("Borgertun – {}", owner.name), Some(owner))
            }
        };
        Selection { query, name, viewer }
    }

    /// Render a feed from the database: its active bookings (none cancelled, displaced or
    /// rejected) as the view rule lets its viewer see them.
    async fn render(&self, feed: &FeedToken, selection: Selection<'_>) -> Result<RenderedFeed> {
        // Every booking in the window counts for Last-Modified, also those a change took out.
        let all: Vec<Booking> = self.store.bookings(&selection.query).await?;
        let last_modified = all
            .iter()
            .map(|b| b.updated_at)
            .chain([feed.created_at])
            .max()
            .unwrap_or(feed.created_at);
        let shown: Vec<(Booking, View)> = all
            .into_iter()
            .filter(|b| b.status.is_active())
            .filter_map(|b| view_of(selection.viewer, &b).map(|view| (b, view)))
            .collect();
        let (app, name) = (self.clone(), selection.name);
        // Rendering is CPU work: off the async workers.
        let body = match tokio::task::spawn_blocking(move || app.feed_body(&name, &shown)).await {
            Ok(body) => body,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("feed rendering did not finish: {e}"),
        };
        let etag = super::etag_of(body.as_bytes());
        Ok(RenderedFeed {
            body,
            etag,
            last_modified,
        })
    }

    /// The text of a feed. Events already rendered for an unchanged booking come from the
    /// cache; the rest are rendered on every core, room by room (each has its own LOCATION).
    fn feed_body(&self, name: &str, shown: &[(Booking, View)]) -> String {
        let keys: Vec<EventKey> = shown.iter().map(|(b, view)| EventKey::of(b, *view)).collect();
        let mut texts = self.feed_cache.events(&keys);
        let mut missing: Vec<usize> = (0..shown.len()).filter(|&i| texts[i].is_none()).collect();
        missing.sort_by(|&a, &b| shown[a].0.room.cmp(&shown[b].0.room));
        let composer = self.composer();
        let mut fresh: Vec<(EventKey, Arc<str>)> = Vec::with_capacity(missing.len());
        for room in missing.chunk_by(|&a, &b| shown[a].0.room == shown[b].0.room) {
            let ctx = self.calendar_context(&shown[room[0]].0.room);
            let urls: Vec<Option<String>> = room
                .iter()
                .map(|&i| (shown[i].1 == View::Full).then(|| composer.booking_url(shown[i].0.id)))
                .collect();
            let inputs: Vec<EventInput> = room
                .iter()
                .zip(&urls)
                .map(|(&i, url)| EventInput {
                    booking: &shown[i].0,
                    org_name: self.rules().org_name(&shown[i].0.org),
                    view: shown[i].1,
                    note: None,
                    url: url.as_deref(),
                })
                .collect();
            let rendered = calendar::feed_events(&inputs, &ctx);
            fresh.extend(room.iter().zip(rendered).map(|(&i, text)| (keys[i], text.into())));
        }
        self.feed_cache.keep_events(&fresh);
        for (&i, (_, text)) in missing.iter().zip(fresh) {
            texts[i] = Some(text);
        }
        let texts: Vec<Arc<str>> = texts.into_iter().flatten().collect();
        calendar::feed_of_events(
            &FeedInfo {
                name,
                refresh_minutes: self.config().feeds.refresh_minutes,
            },
            &texts,
        )
    }
}
