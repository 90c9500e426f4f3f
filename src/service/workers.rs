//! The background work of a running service: the outbox worker (sends what is due, retries
//! with backoff), the attendance requests (every ten minutes, ask the contacts of finished
//! events), the reminders (every five minutes, before confirmed bookings start), the no-show
//! release (every minute, bookings of check-in tiers nobody checked in), the waitlist round
//! (every minute, holds that ran out) and the daily round (once a day by the service's clock:
//! anonymise what is older than `privacy.retention_months`, and book the planned occurrences
//! of series that have come within their requester's horizon). Started once by the startup
//! path, for `serve` and the tests alike.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::App;
use crate::mail::transport::Transport;

/// How often finished events are looked for.
pub const ATTENDANCE_INTERVAL: Duration = Duration::from_secs(600);

/// How often bookings about to start are looked for, to remind their contacts.
pub const REMINDER_INTERVAL: Duration = Duration::from_secs(300);

/// How often bookings of check-in tiers are looked for that nobody checked in, to release them.
pub const CHECK_IN_INTERVAL: Duration = Duration::from_secs(60);

/// How often the waitlist looks for holds that ran out and entries whose time started.
pub const WAITLIST_INTERVAL: Duration = Duration::from_secs(60);

/// How often the retention worker wakes to ask the clock whether a new day has begun.
pub const RETENTION_CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// The running workers; dropping this stops them at once, [`Workers::shutdown`] lets each
/// finish what it is doing first.
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

impl Workers {
    /// Stop taking new work, and wait up to `grace` for each worker to finish what it is doing
    /// (the mail worker the messages it has claimed, a round its round); what is still running
    /// then is stopped. A message claimed but not sent is sent after its lease, by this or
    /// another instance.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        for h in std::mem::take(&mut self.handles) {
            let abort = h.abort_handle();
            if tokio::time::timeout_at(deadline, h).await.is_err() {
                tracing::warn!("a worker did not finish within the grace period; stopped");
                abort.abort();
            }
        }
    }
}

/// Run `round` every `interval` (the first one interval after the start), until `stop`. A
/// round that has begun is finished: `stop` is only looked at between rounds.
fn every<F, Fut>(interval: Duration, mut stop: watch::Receiver<bool>, mut round: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                _ = ticks.tick() => round().await,
                _ = stop.changed() => return,
            }
        }
    })
}

impl App {
    /// Start the outbox worker (with the configured transport), the attendance requests, the
    /// reminders, the no-show release, the waitlist round and the daily retention round.
    pub fn start_workers(&self) -> anyhow::Result<Workers> {
        let (stop, stopped) = watch::channel(false);
        let transport = Transport::from_config(&self.config().mail)?;
        let mail = tokio::spawn(crate::mail::worker::run(
            self.store.clone(),
            transport,
            self.config().mail.clone(),
            self.clock.clone(),
            stopped.clone(),
        ));
        // Each round's first run is one interval after the start, so a starting service (or a
        // test that has just seeded its bookings) is not raced by it.
        let app = self.clone();
        let attendance = every(ATTENDANCE_INTERVAL, stopped.clone(), move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.ask_for_attendance().await {
                    tracing::error!(error = %e, "attendance requests");
                }
            }
        });
        // Each booking is claimed in the database, so several instances remind it once.
        let app = self.clone();
        let reminders = every(REMINDER_INTERVAL, stopped.clone(), move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.send_reminders().await {
                    tracing::error!(error = %e, "reminders");
                }
            }
        });
        // Each release is decided in the room's write transaction, so several instances
        // release a booking once.
        let app = self.clone();
        let check_in = every(CHECK_IN_INTERVAL, stopped.clone(), move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.release_no_shows().await {
                    tracing::error!(error = %e, "no-show release");
                }
            }
        });
        // Each hold is ended once, in its room's write transaction, whichever instance comes first.
        let app = self.clone();
        let waitlist = every(WAITLIST_INTERVAL, stopped.clone(), move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.waitlist_round().await {
                    tracing::error!(error = %e, "waitlist round");
                }
            }
        });
        // Due once per Oslo day by the service's clock; the timer only wakes it. Several
        // instances may each run it: a second run the same day finds nothing to do.
        // The planned occurrences of series are booked by the same daily round, on the day
        // they come within their requester's horizon.
        let app = self.clone();
        let mut stop_retention = stopped;
        let retention = tokio::spawn(async move {
            let mut round = crate::domain::privacy::DailyRound::default();
            let mut planned = crate::domain::privacy::DailyRound::default();
            let first = tokio::time::Instant::now() + RETENTION_CHECK_INTERVAL;
            let mut ticks = tokio::time::interval_at(first, RETENTION_CHECK_INTERVAL);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stop_retention.changed() => return,
                }
                let now = app.now();
                if round.due(now) {
                    match app.run_retention().await {
                        Ok(_) => round.ran(now),
                        Err(e) => tracing::error!(error = %e, "retention run"),
                    }
                }
                if planned.due(now) {
                    match app.book_planned_occurrences().await {
                        Ok(_) => planned.ran(now),
                        Err(e) => tracing::error!(error = %e, "planned occurrences"),
                    }
                }
            }
        });
        Ok(Workers {
            handles: vec![mail, attendance, reminders, check_in, waitlist, retention],
            stop,
        })
    }
}
