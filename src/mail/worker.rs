//! The outbox worker inside `borgertun serve`: sends due messages, retries failures with
//! backoff, marks each sent once. Rows are leased (`mail.lease_seconds`), so several instances
//! on one database never send the same row (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
//!
//! Each message is marked sent right after the SMTP server's answer, on its own. A crash
//! (SIGKILL, power) between that answer and the mark is the one way a message goes out
//! twice: when the lease has run out it is sent again, with the same `Message-ID` (derived
//! from the outbox row), so a mail client shows it once. A worker stops sending a batch once
//! half its lease is gone, and one delivery may take at most half the lease
//! (`MailConfig::smtp_timeout`), so no other worker takes a message while it is being sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;

use super::transport::{self, Transport};
use crate::clock::Clock;
use crate::config::MailConfig;
use crate::store::Store;

const BATCH: i64 = 20;

/// Send what is due now. Returns how many messages were sent.
pub async fn run_once(
    store: &dyn Store,
    transport: &Transport,
    mail: &MailConfig,
    clock: &dyn Clock,
) -> crate::store::Result<usize> {
    let now = clock.now();
    let claimed = Instant::now();
    let mut token = [0u8; 16];
    rand::rng().fill_bytes(&mut token);
    let token = hex::encode(token);
    let lease_until = now + chrono::Duration::from_std(mail.lease).unwrap_or(chrono::Duration::seconds(60));
    let rows = store.claim_messages(now, lease_until, &token, BATCH).await?;
    let mut sent = 0;
    for row in rows {
        // The rest wait for the lease to run out, and the next round.
        if claimed.elapsed() > mail.lease / 2 {
            tracing::warn!(
                message = row.id,
                "mail worker: half the lease gone, the rest of the batch waits"
            );
            break;
        }
        let result = match transport::build(&row, mail, clock.now()) {
            Ok(message) => transport.send(&row, message).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                // From here until the mark is stored, a crash means the message goes out again.
                let answered = Instant::now();
                let retry_until = claimed + mail.lease * 3 / 4;
                let marked = mark_sent(store, row.id, &token, clock, retry_until).await?;
                crate::service::metrics::mail(true);
                if marked {
                    sent += 1;
                    let mark_ms = answered.elapsed().as_millis() as u64;
                    tracing::info!(message = row.id, kind = %row.kind, to = %row.recipient, mark_ms, "mail sent");
                }
            }
            Err(error) => {
                crate::service::metrics::mail(false);
                let attempts = row.attempts + 1;
                let retry_at = (attempts < mail.max_attempts).then(|| clock.now() + backoff(mail, attempts));
                tracing::warn!(message = row.id, attempts, %error, given_up = retry_at.is_none(), "mail not sent");
                store
                    .message_failed(row.id, &token, &error, retry_at, clock.now())
                    .await?;
            }
        }
    }
    Ok(sent)
}

/// Mark a delivered message sent. While the database cannot be reached (restarting, say) the
/// mark is tried again until `retry_until` (three quarters into the lease), since giving up
/// means the message goes out a second time once the lease has run out.
async fn mark_sent(
    store: &dyn Store,
    id: i64,
    token: &str,
    clock: &dyn Clock,
    retry_until: Instant,
) -> crate::store::Result<bool> {
    loop {
        match store.message_sent(id, token, clock.now()).await {
            Err(e) if e.is_unavailable() && Instant::now() + MARK_RETRY < retry_until => {
                tracing::warn!(message = id, error = %e, "mail sent, but not marked yet: trying again");
                tokio::time::sleep(MARK_RETRY).await;
            }
            other => return other,
        }
    }
}

/// How long to wait before marking a message sent again.
const MARK_RETRY: Duration = Duration::from_millis(250);

/// `retry_base * 2^(attempts-1)`, capped at `max_retry`.
pub fn backoff(mail: &MailConfig, attempts: i64) -> chrono::Duration {
    let factor = 2u32.saturating_pow((attempts.clamp(1, 30) - 1) as u32);
    let wait = mail.retry_base.saturating_mul(factor).min(mail.max_retry);
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
}

/// Poll until `stop` turns true (or the task is dropped). A batch that has been claimed is
/// sent to the end before it looks again, so a shutdown never leaves a message half sent.
pub async fn run(
    store: Arc<dyn Store>,
    transport: Transport,
    mail: MailConfig,
    clock: Arc<dyn Clock>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!(transport = %transport.describe(), "mail worker started");
    while !*stop.borrow() {
        match run_once(store.as_ref(), &transport, &mail, clock.as_ref()).await {
            Ok(n) if n == BATCH as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "mail worker: database error"),
        }
        tokio::select! {
            _ = tokio::time::sleep(mail.poll_interval) => {}
            _ = stop.changed() => break,
        }
    }
    tracing::info!("mail worker stopped");
}
