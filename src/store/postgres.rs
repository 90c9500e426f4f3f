//! PostgreSQL: the production choice, shared by several stateless instances.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::{PoolSettings, Result};

/// A pool that stays usable across a database restart: each connection is tested before it
/// is handed out (a dead one is dropped and a new one opened), and a caller waits at most
/// `acquire_timeout` for one (sqlx keeps trying to connect while the server refuses), so a
/// request during an outage gets a prompt `503` instead of hanging.
pub async fn connect(url: &str, pool: PoolSettings) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .test_before_acquire(true)
        .connect(url)
        .await?)
}

/// The schema's migrations, compiled in.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(super) async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Writers for one room queue on a transaction-scoped advisory lock, across every instance
/// sharing the database; the exclusion constraint `bookings_no_overlap` is the backstop.
pub(super) async fn begin_write(pool: &PgPool, room: &str) -> Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("borgertun.room.{room}"))
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
