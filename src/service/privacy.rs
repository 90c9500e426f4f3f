//! Personal data: the retention round (daily in `serve`, on demand with `borgertun privacy
//! run`), and a person's rights: an export of everything stored about them, and erasure.
//! What is anonymised and what stays is described in `domain::privacy` and docs/security.md.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::privacy::retention_cutoff;
use crate::store::{ErasureCounts, PersonData, RetentionCounts};

use super::{App, Result};

/// A person's export: what is stored about `email`, when it was taken, and how long it is kept.
#[derive(Debug, Clone, Serialize)]
pub struct PersonExport {
    pub email: String,
    pub exported_at: DateTime<Utc>,
    /// Who answers for the data (`privacy.controller`), and whom to write to.
    pub controller: String,
    pub contact_email: String,
    /// Personal data in bookings is anonymised this many months after the booking's end.
    pub retention_months: u32,
    #[serde(flatten)]
    pub data: PersonData,
}

impl App {
    /// Bookings that ended before this are anonymised now.
    pub fn retention_cutoff(&self) -> DateTime<Utc> {
        retention_cutoff(self.now(), self.config().privacy.retention_months)
    }

    /// The retention round: anonymise the personal data of bookings that ended more than
    /// `privacy.retention_months` ago, with their audit lines, and delete old sign-in links,
    /// sessions, revoked feeds, decided access requests and sent messages. Logged with its
    /// counts. Running it again changes nothing.
    pub async fn run_retention(&self) -> Result<RetentionCounts> {
        let cutoff = self.retention_cutoff();
        let n = self.store.anonymise_before(cutoff, self.now()).await?;
        if n.bookings > 0 {
            self.feed_cache().clear();
        }
        tracing::info!(
            cutoff = %cutoff,
            bookings = n.bookings,
            audit_entries = n.audit_entries,
            messages = n.messages,
            access_requests = n.access_requests,
            sign_in_links = n.sign_in_links,
            sessions = n.sessions,
            feeds = n.feeds,
            "retention run: personal data older than {} months anonymised",
            self.config().privacy.retention_months
        );
        Ok(n)
    }

    /// Everything the service stores about `email` (already parsed), secrets left out.
    pub async fn export_person(&self, email: &str) -> Result<PersonExport> {
        let data = self.store.person_data(email).await?;
        let p = &self.config().privacy;
        Ok(PersonExport {
            email: email.to_string(),
            exported_at: self.now(),
            controller: p.controller.clone(),
            contact_email: p.contact_email.clone(),
            retention_months: p.retention_months,
            data,
        })
    }

    /// Erase `email` (already parsed): their account is deleted with its sessions, API tokens
    /// and calendar feeds (so each stops at once); as contact person, in the audit log and in
    /// attendance they are anonymised; their access requests and the messages to them are
    /// deleted; their name and address are replaced where found in other texts. The bookings
    /// stay, with their organisation, times, activity and counts, so no figure of the report
    /// changes. Logged without the address.
    pub async fn erase_person(&self, email: &str) -> Result<ErasureCounts> {
        let n = self.store.erase_person(email, self.now()).await?;
        self.feed_cache().clear();
        tracing::info!(
            account = n.account,
            bookings = n.bookings,
            audit_entries = n.audit_entries,
            access_requests = n.access_requests,
            messages = n.messages,
            texts = n.texts,
            "person erased"
        );
        Ok(n)
    }
}
