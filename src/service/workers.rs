//! The background work of a running service: the outbox worker (sends what is due, retries
//! with backoff) and the attendance requests (every ten minutes, ask the contacts of finished
//! events). Started once by the startup path, for `serve` and the tests alike.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::App;
use crate::mail::transport::Transport;

/// How often finished events are looked for.
pub const ATTENDANCE_INTERVAL: Duration = Duration::from_secs(600);

/// The running workers; dropping this stops them.
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

impl App {
    /// Start the outbox worker (with the configured transport) and the attendance requests.
    pub fn start_workers(&self) -> anyhow::Result<Workers> {
        let transport = Transport::from_config(&self.config().mail)?;
        let mail = tokio::spawn(crate::mail::worker::run(
            self.store.clone(),
            transport,
            self.config().mail.clone(),
            self.clock.clone(),
        ));
        let app = self.clone();
        // The first round one interval after the start, so a starting service (or a test
        // that has just seeded its bookings) is not raced by it.
        let attendance = tokio::spawn(async move {
            let first = tokio::time::Instant::now() + ATTENDANCE_INTERVAL;
            let mut ticks = tokio::time::interval_at(first, ATTENDANCE_INTERVAL);
            loop {
                ticks.tick().await;
                if let Err(e) = app.ask_for_attendance().await {
                    tracing::error!(error = %e, "attendance requests");
                }
            }
        });
        Ok(Workers {
            handles: vec![mail, attendance],
        })
    }
}
