//! SQLite: the embedded default. WAL, a busy timeout, and `BEGIN IMMEDIATE` for writers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::{PoolSettings, Result, StoreError};

/// Open (and create, with its folder) the database at `url`, e.g. `sqlite://data/borgertun.db`.
/// The folder (when made here) and the database's files are readable by their owner only; SQLite
/// gives its `-wal` and `-shm` files the database file's mode.
pub async fn connect(url: &str, pool: PoolSettings) -> Result<SqlitePool> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if !path.is_empty() && path != ":memory:" && !path.starts_with("file::memory:") {
        let io = |e| StoreError::Database(sqlx::Error::Io(e));
        let file = std::path::Path::new(path);
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir(dir).map_err(io)?;
        }
        crate::files::private_file(file).map_err(io)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            crate::files::restrict_if_present(std::path::Path::new(&format!("{path}{suffix}"))).map_err(io)?;
        }
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options)
        .await?)
}

/// The schema's migrations, compiled in.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub(super) async fn migrate(pool: &SqlitePool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// SQLite has one writer at a time: `BEGIN IMMEDIATE` takes the write lock up front, so the
/// check and the insert that follow are atomic, whatever the room.
pub(super) async fn begin_write(pool: &SqlitePool, _room: &str) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}
