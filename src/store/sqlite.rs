//! SQLite: the embedded default. WAL, a busy timeout, and `BEGIN IMMEDIATE` for writers.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{BookingQuery, Insert, Result, Store, Transition, WriteTx};
use crate::domain::{AuditEntry, Booking, Role, User};

pub struct SqliteStore {
    pub pool: SqlitePool,
}

struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
}

super::sql::store_impl!(sqlx::Sqlite, SqliteStore, "sqlite", "./migrations/sqlite", "");

impl SqliteStore {
    /// Open (and create, with its folder) the database at `url`, e.g. `sqlite://data/borgertun.db`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if !path.is_empty() && path != ":memory:" {
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| super::StoreError::Database(sqlx::Error::Io(e)))?;
            }
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

impl SqliteStore {
    /// SQLite has one writer at a time: `BEGIN IMMEDIATE` takes the write lock up front, so the
    /// check and the insert that follow are atomic.
    async fn begin_write(&self, _room: &str) -> Result<Tx> {
        Ok(Tx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }
}
