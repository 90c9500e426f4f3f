//! The use cases: the only door from `web/` and the CLI to the store. `App` is built once
//! (store, configuration, clock) and each module adds the operations of one use case:
//! bookings, report, and the others as they move here. Every operation loads what the rules
//! need, applies the pure rules of `domain`, and writes the outcome with its audit line and
//! the messages it causes, all or nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::plan::Plan;
use crate::domain::{DomainError, Rules};
use crate::mail::Composer;
use crate::store::Store;
pub use crate::store::StoreError;

mod access;
mod attendance;
mod bookings;
mod checkin;
pub mod export;
mod feeds;
mod listings;
pub mod metrics;
mod pages;
mod privacy;
mod reminders;
pub mod report;
mod series;
mod sessions;
mod users;
mod waitlist;
mod workers;

pub use access::AccessAsked;
pub use attendance::attendance_due;
pub use sessions::{CurrentSession, FormBinding, SignIn, LINK_MINUTES};

pub use crate::domain::series::SeriesDetail;
pub use crate::store::HoldAction;
/// What the use cases answer with, as the store keeps it.
pub use crate::store::{AccessOutcome, AccessRequest, Account, ApiToken, FeedToken, Session, EXISTS_REASON};
pub use bookings::{
    Approval, BookOutcome, ConflictCase, FairnessLine, MoveOutcome, SeenBooking, ATTENDANCE_LOOKBACK_DAYS,
};
pub use checkin::ReminderOffer;
pub use feeds::{feed_urls, FeedCache, RenderedFeed};
pub use pages::{etag_of, Kept, KeptPage, PageCache, Ticket, RECHECK};
pub use privacy::PersonExport;
pub use reminders::{ReminderLinkState, MIN_REMINDER_LEAD_MINUTES};
pub use series::{SeriesChange, SeriesOutcome};
pub use waitlist::{HoldAnswer, HoldLinkState, WaitlistPlace};
pub use workers::{
    Workers, ATTENDANCE_INTERVAL, CHECK_IN_INTERVAL, REMINDER_INTERVAL, RETENTION_CHECK_INTERVAL, WAITLIST_INTERVAL,
};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request breaks one or more rules (shown to the user).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Rules(Vec<DomainError>),
    /// The booking is not in a state that allows this (e.g. approving a confirmed one).
    #[error("{0}")]
    Conflict(DomainError),
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        ServiceError::Rules(vec![e])
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// The application: what every use case works with. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    public_url: Arc<str>,
    clock: Arc<dyn Clock>,
    feed_cache: Arc<FeedCache>,
    page_cache: Arc<PageCache>,
    /// The anti-forgery key: `server.secret`, or the one kept in the database; read once.
    form_key: Arc<tokio::sync::OnceCell<Arc<[u8]>>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Self {
        let public_url = config.public_url().into();
        Self {
            store,
            config: Arc::new(config),
            public_url,
            clock,
            feed_cache: Arc::default(),
            page_cache: Arc::default(),
            form_key: Arc::default(),
        }
    }

    /// Open the configured database, bring its schema up to date, and build the application.
    /// The error says which of the two failed.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        use anyhow::Context;
        let db = crate::config::redact_url(&config.database.url);
        let store = crate::store::connect_with(&config.database.url, config.database.pool())
            .await
            .with_context(|| format!("cannot open the database {db}"))?;
        store.migrate().await.context("cannot apply the database migrations")?;
        Ok(Self::new(store, config, clock))
    }

    /// The kind of database: "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// The clock itself, for what measures time on its own (the rate limits).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The time every rule reads.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn rules(&self) -> &Rules {
        &self.config.rules
    }

    pub fn plan(&self) -> &Plan {
        &self.config.plan
    }

    /// The service's own address, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The store, for the outbox worker, the tests and the benchmarks; `web/` never uses it.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The messages this service writes, with its rules, mail settings and address.
    pub fn composer(&self) -> Composer<'_> {
        Composer {
            rules: &self.config.rules,
            mail: &self.config.mail,
            public_url: &self.public_url,
        }
    }

    /// Whether the database answers; its kind ("sqlite" or "postgres").
    pub async fn health(&self) -> Result<&'static str> {
        self.store.ping().await?;
        Ok(self.store.backend())
    }

    /// Whether the service can take requests: the database answers and its schema is the one
    /// this build migrates to. `Err` with the reason, in Norwegian, otherwise.
    pub async fn readiness(&self) -> std::result::Result<&'static str, String> {
        let state = match self.store.schema_state().await {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(error = %e, "readiness: the database does not answer");
                return Err("Databasen svarer ikke.".into());
            }
        };
        let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        if !state.missing.is_empty() {
            return Err(format!(
                "Databaseskjemaet er ikke oppdatert: {} mangler. Kjør «borgertun migrate».",
                list(&state.missing)
            ));
        }
        if !state.unknown.is_empty() {
            return Err(format!(
                "Databaseskjemaet er nyere enn denne versjonen av tjenesten ({}).",
                list(&state.unknown)
            ));
        }
        Ok(self.store.backend())
    }
}
