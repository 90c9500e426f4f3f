//! PostgreSQL: the production choice, shared by several stateless instances.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::Result;

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(30))
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
