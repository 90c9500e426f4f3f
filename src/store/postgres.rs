//! PostgreSQL: the production choice, shared by several stateless instances.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{BookingQuery, Insert, Result, Store, Transition, WriteTx};
use crate::domain::{AuditEntry, Booking, Role, User};

pub struct PgStore {
    pub pool: PgPool,
}

struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

super::sql::store_impl!(
    sqlx::Postgres,
    PgStore,
    "postgres",
    "./migrations/postgres",
    " FOR UPDATE SKIP LOCKED"
);

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

impl PgStore {
    /// Writers for one room queue on a transaction-scoped advisory lock, across every instance
    /// sharing the database; the exclusion constraint `bookings_no_overlap` is the backstop.
    async fn begin_write(&self, room: &str) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("borgertun.room.{room}"))
            .execute(&mut *tx)
            .await?;
        Ok(Tx { tx })
    }
}
