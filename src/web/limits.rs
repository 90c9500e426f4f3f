//! Rate limits, and who the client is.
//!
//! Every limit is a keyed token bucket (governor's GCRA) read on the service's clock, so tests
//! move time instead of waiting. A bucket's memory is bounded: it holds at most
//! [`MAX_KEYS`] keys; when it is full, keys whose bucket has refilled are dropped (they are
//! indistinguishable from new ones), and while it is still full a new request is refused — so
//! a flood of distinct keys costs a bounded amount of memory and never switches a limit off.
//!
//! The client address is the socket's peer, unless that peer is one of `server.trusted_proxies`:
//! then it is the rightmost address of `X-Forwarded-For` that is not itself a trusted proxy
//! (what the nearest untrusted hop told our proxy). An address a client writes into the header
//! is only believed as far as our own proxies vouch for it.
//!
//! Sign-in is limited in two ways, so that nobody can lock another person out:
//! - per client address: 30 requests, then one every 30 seconds; past that the sender gets
//!   «For mange forsøk» (429). Behind a proxy this is the real client, not the proxy.
//! - per e-mail address: at most 5 sign-in mails, then one every 3 minutes. Past that the
//!   answer is the same «Sjekk e-posten din» page, only no further mail is sent. The period
//!   is shorter than a link's lifetime, so whenever a mail is held back, a link sent less than
//!   3 minutes earlier is still in that inbox and still works: requests by someone else for
//!   your address can fill your inbox a little, never stop you from signing in. Links are
//!   never limited.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;

use super::error::{ApiError, ErrorCode};
use super::AppState;
use crate::service::{App, LINK_MINUTES};

/// The most keys one bucket holds.
pub const MAX_KEYS: usize = 50_000;

/// Sign-in mails per e-mail address: a burst, then one per this many seconds.
const SIGN_IN_MAILS_BURST: u32 = 5;
const SIGN_IN_MAIL_PERIOD_SECS: u64 = 180;
// A held-back mail always has a working link before it (see the module's comment).
const _: () = assert!(SIGN_IN_MAIL_PERIOD_SECS < LINK_MINUTES as u64 * 60);

/// The service's clock as governor reads it: the time since the Unix epoch.
#[derive(Clone)]
pub struct LimitClock(Arc<dyn crate::clock::Clock>);

impl LimitClock {
    pub fn new(clock: Arc<dyn crate::clock::Clock>) -> Self {
        Self(clock)
    }
}

impl governor::clock::Clock for LimitClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let nanos = self.0.now().timestamp_nanos_opt().unwrap_or(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }
}

/// One limit: a token bucket per key, at most `max_keys` keys.
pub struct Bucket<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, DashMapStateStore<K>, LimitClock, NoOpMiddleware<Duration>>,
    clock: LimitClock,
    max_keys: usize,
    /// When stale keys were last dropped (seconds on `clock`): at most once a second.
    last_sweep: AtomicU64,
    name: &'static str,
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    pub fn new(name: &'static str, quota: Quota, clock: LimitClock, max_keys: usize) -> Self {
        Self {
            limiter: RateLimiter::new(quota, DashMapStateStore::default(), clock.clone()),
            clock,
            max_keys,
            last_sweep: AtomicU64::new(0),
            name,
        }
    }

    /// Count one request for `key`: `Ok`, or how long until the next one is let through.
    pub fn check_key(&self, key: &K) -> Result<(), Duration> {
        use governor::clock::Clock as _;
        if self.limiter.len() >= self.max_keys {
            let now = self.clock.now().as_secs();
            if self.last_sweep.swap(now, Ordering::Relaxed) != now {
                self.limiter.retain_recent();
                self.limiter.shrink_to_fit();
            }
            if self.limiter.len() >= self.max_keys {
                tracing::warn!(
                    limit = self.name,
                    keys = self.max_keys,
                    "rate limit full: refusing new keys"
                );
                return Err(Duration::from_secs(60));
            }
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// How many keys the bucket holds now.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A bucket per client address; IPv6 clients by their /64 network (one host has a whole one).
pub struct IpBucket(Bucket<IpAddr>);

impl IpBucket {
    pub fn check_key(&self, ip: &IpAddr) -> Result<(), Duration> {
        let key = match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            v4 => v4,
        };
        self.0.check_key(&key)
    }
}

/// Every limit of the service (all in memory, per instance).
pub struct Limits {
    /// Sign-in mails per e-mail address (held back past it, never refused).
    pub(crate) sign_in_mails: Bucket<String>,
    /// Sign-in and access requests per client address.
    pub(crate) by_ip: IpBucket,
    /// Booking submissions on the pages, per user and per client address.
    pub(crate) booking_by_user: Bucket<i64>,
    pub(crate) booking_by_ip: IpBucket,
    /// Booking writes in the API, per token (by its hash).
    pub(crate) api_writes: Bucket<String>,
}

fn per(every_secs: u64, burst: u32) -> Quota {
    Quota::with_period(Duration::from_secs(every_secs))
        .expect("a period")
        .allow_burst(NonZeroU32::new(burst).expect("burst"))
}

impl Limits {
    pub fn new(app: &App) -> Self {
        let clock = LimitClock::new(app.clock());
        let per_minute = NonZeroU32::new(app.config().server.api_booking_writes_per_minute).unwrap_or(NonZeroU32::MIN);
        let c = || clock.clone();
        Self {
            sign_in_mails: Bucket::new(
                "sign-in mails",
                per(SIGN_IN_MAIL_PERIOD_SECS, SIGN_IN_MAILS_BURST),
                c(),
                MAX_KEYS,
            ),
            by_ip: IpBucket(Bucket::new("sign-in by client", per(30, 30), c(), MAX_KEYS)),
            // Booking submissions (new, alternatives, moves): thirty in a row for a user, then
            // one every twenty seconds; a shared office address gets three times as many.
            booking_by_user: Bucket::new("bookings by user", per(20, 30), c(), MAX_KEYS),
            booking_by_ip: IpBucket(Bucket::new("bookings by client", per(7, 90), c(), MAX_KEYS)),
            api_writes: Bucket::new("API booking writes", Quota::per_minute(per_minute), c(), MAX_KEYS),
        }
    }

    /// Whether a booking submission by `user` from `client` must wait.
    pub(crate) fn booking_limited(&self, user: i64, client: &ClientAddr) -> bool {
        self.booking_by_user.check_key(&user).is_err()
            || client.0.is_some_and(|ip| self.booking_by_ip.check_key(&ip).is_err())
    }

    /// Whether another sign-in mail may go to `email` now (see the module's comment).
    pub(crate) fn sign_in_mail_allowed(&self, email: &str) -> bool {
        self.sign_in_mails.check_key(&email.to_string()).is_ok()
    }
}

/// The client's address (see the module's comment), when the server knows its peer
/// (`borgertun serve` does). Set by [`client_address`].
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(None)))
    }
}

/// The client of a request from `peer` with `headers`, given the trusted proxies.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    // Every X-Forwarded-For header, in order, as one list; a hop that is not an address ends
    // the walk (what lies left of it cannot be vouched for).
    let hops: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|h| h.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// `192.0.2.7`, `2001:db8::1`, and the same with a port (`192.0.2.7:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Put the request's [`ClientAddr`] in its extensions, and in its log span (`client`).
pub async fn client_address(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &state.app.config().server.trusted_proxies);
    if let Some(ip) = ip {
        // The request's log lines name the client, not the proxy in front.
        tracing::Span::current().record("client", tracing::field::display(ip));
    }
    req.extensions_mut().insert(ClientAddr(ip));
    next.run(req).await
}

/// Whether `method` on `path` writes a booking (or a series of them) through the API.
pub fn is_api_booking_write(method: &Method, path: &str) -> bool {
    let under = |root: &str| path == root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'));
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && (under("/api/v1/bookings") || under("/api/v1/series") || under("/api/v1/waitlist"))
}

/// The per-token limit on the API's booking writes (`server.api_booking_writes_per_minute`).
/// Keyed by the hash of the bearer token as sent, before it is looked up: a request without one
/// goes on to its 401, and guessing tokens is limited too.
pub async fn api_write_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_api_booking_write(req.method(), req.uri().path()) {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(token) = token {
            if let Err(wait) = state.limits.api_writes.check_key(&crate::token::hash_token(token)) {
                return rate_limited(wait);
            }
        }
    }
    next.run(req).await
}

/// 429 with `Retry-After` (whole seconds, at least 1) in the API's error format.
fn rate_limited(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        format!("For mange endringer på kort tid med denne tilgangsnøkkelen. Prøv igjen om {secs} sekunder."),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;

    fn clock() -> (Arc<TestClock>, LimitClock) {
        let c = Arc::new(TestClock::new());
        (c.clone(), LimitClock::new(c))
    }

    #[test]
    fn many_distinct_keys_never_grow_a_bucket_past_its_bound() {
        let (test_clock, clock) = clock();
        let bucket: Bucket<u32> = Bucket::new("test", per(60, 2), clock, 100);
        let mut refused = 0;
        for key in 0..10_000 {
            if bucket.check_key(&key).is_err() {
                refused += 1;
            }
            assert!(bucket.len() <= 100, "{} keys", bucket.len());
        }
        // While full of live keys, new ones are refused: the limit never switches off.
        assert!(refused >= 9_000, "{refused}");
        // Once those keys' buckets have refilled they are dropped, and new keys get in.
        test_clock.advance(chrono::TimeDelta::minutes(3));
        test_clock.advance(chrono::TimeDelta::seconds(2));
        assert!(bucket.check_key(&20_000).is_ok());
        assert!(bucket.len() <= 100);
    }

    #[test]
    fn a_bucket_refills_on_the_service_clock() {
        let (test_clock, clock) = clock();
        let bucket: Bucket<&str> = Bucket::new("test", per(60, 2), clock, 10);
        assert!(bucket.check_key(&"a").is_ok());
        assert!(bucket.check_key(&"a").is_ok());
        let wait = bucket.check_key(&"a").unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(bucket.check_key(&"b").is_ok());
        test_clock.advance(chrono::TimeDelta::seconds(61));
        assert!(bucket.check_key(&"a").is_ok());
    }

    #[test]
    fn the_client_is_believed_only_as_far_as_trusted_proxies_vouch() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let xff = |v: &[&str]| {
            let mut h = HeaderMap::new();
            for v in v {
                h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            }
            h
        };
        // An untrusted peer: its own address, whatever it writes.
        assert_eq!(
            client_ip(Some(ip("192.0.2.9")), &xff(&["198.51.100.1"]), &trusted),
            Some(ip("192.0.2.9"))
        );
        // Through our proxy: the rightmost address that is not ours; a spoofed left part is ignored.
        assert_eq!(
            client_ip(
                Some(ip("127.0.0.1")),
                &xff(&["6.6.6.6, 203.0.113.5, 10.1.2.3"]),
                &trusted
            ),
            Some(ip("203.0.113.5"))
        );
        // Several headers are one list; ports are dropped.
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &xff(&["6.6.6.6", "[2001:db8::7]:4711"]), &trusted),
            Some(ip("2001:db8::7"))
        );
        // Garbage ends the walk at the last address vouched for.
        assert_eq!(
            client_ip(
                Some(ip("127.0.0.1")),
                &xff(&["203.0.113.5, nonsense, 10.9.9.9"]),
                &trusted
            ),
            Some(ip("10.9.9.9"))
        );
        // No header: the proxy itself. No proxies trusted (the default): the peer.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &HeaderMap::new(), &trusted),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &xff(&["203.0.113.5"]), &[]),
            Some(ip("127.0.0.1"))
        );
    }
}
