//! What the service counts for an operator, through the `metrics` facade: every name in one
//! place. Without a recorder (`server.metrics_bind` unset, the default) each call does nothing.
//! The exporter, which renders them in Prometheus text format, is in `web::metrics`.

use super::App;
use crate::store::Result;

/// Requests answered, by `method`, `route` (the route's pattern, never the raw path) and
/// `status`.
pub const HTTP_REQUESTS: &str = "borgertun_http_requests_total";
/// How long requests took, by `method` and `route`, in seconds (a histogram).
pub const HTTP_DURATION: &str = "borgertun_http_request_duration_seconds";
/// Booking decisions, by `outcome`: a request `confirmed`, `pending`, `busy` (nothing
/// stored), `refused` (a rule said no) or `error` (the database failed), an `override`, a
/// coordinator's `approved` or `rejected`.
pub const DECISIONS: &str = "borgertun_booking_decisions_total";
/// Messages the SMTP server (or the mail folder) took.
pub const MAIL_SENT: &str = "borgertun_mail_sent_total";
/// Attempts to send a message that failed (each is retried with backoff until
/// `mail.max_attempts`).
pub const MAIL_FAILURES: &str = "borgertun_mail_send_failures_total";
/// Messages queued and not sent yet (nor given up).
pub const OUTBOX_DEPTH: &str = "borgertun_outbox_depth";
/// Seconds since the oldest of them was queued; 0 when the outbox is empty.
pub const OUTBOX_OLDEST_AGE: &str = "borgertun_outbox_oldest_unsent_age_seconds";
/// Waitlist holds offered and not yet answered or run out.
pub const ACTIVE_HOLDS: &str = "borgertun_active_holds";
/// Live sign-in sessions.
pub const ACTIVE_SESSIONS: &str = "borgertun_active_sessions";

/// The histogram buckets of [`HTTP_DURATION`], in seconds: from a cached page to a slow report.
pub const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Count one booking decision.
pub fn decision(outcome: &'static str) {
    metrics::counter!(DECISIONS, "outcome" => outcome).increment(1);
}

/// Count one answered request.
pub fn request(method: &str, route: &str, status: u16, seconds: f64) {
    let (method, route) = (method.to_string(), route.to_string());
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(seconds);
}

/// Count a message sent, or an attempt that failed.
pub fn mail(sent: bool) {
    metrics::counter!(if sent { MAIL_SENT } else { MAIL_FAILURES }).increment(1);
}

/// Describe every metric once (the `# HELP` lines), after the recorder is installed.
pub fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS, "Requests answered, by method, route and status.");
    metrics::describe_histogram!(HTTP_DURATION, metrics::Unit::Seconds, "How long requests took.");
    metrics::describe_counter!(
        DECISIONS,
        "Booking decisions by outcome: confirmed, pending, busy, refused, error, override, approved, rejected."
    );
    metrics::describe_counter!(MAIL_SENT, "Messages sent.");
    metrics::describe_counter!(MAIL_FAILURES, "Attempts to send a message that failed.");
    metrics::describe_gauge!(OUTBOX_DEPTH, "Messages queued and not sent yet (nor given up).");
    metrics::describe_gauge!(
        OUTBOX_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest unsent message; 0 when none waits."
    );
    metrics::describe_gauge!(ACTIVE_HOLDS, "Waitlist holds offered and not yet answered or run out.");
    metrics::describe_gauge!(ACTIVE_SESSIONS, "Live sign-in sessions.");
}

impl App {
    /// Read the database's figures (the outbox, holds, sessions) into their gauges: called on
    /// every scrape, so they are as fresh as the scrape. They are the database's, so every
    /// instance on one database reports the same.
    pub async fn update_gauges(&self) -> Result<()> {
        let now = self.now();
        let g = self.store.gauges(now, self.idle_since(now)).await?;
        let age = g
            .oldest_unsent
            .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        metrics::gauge!(OUTBOX_DEPTH).set(g.outbox_depth as f64);
        metrics::gauge!(OUTBOX_OLDEST_AGE).set(age);
        metrics::gauge!(ACTIVE_HOLDS).set(g.active_holds as f64);
        metrics::gauge!(ACTIVE_SESSIONS).set(g.active_sessions as f64);
        Ok(())
    }
}
