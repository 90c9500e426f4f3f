//! What the shared SQL needs besides the queries: decoding helpers, and `Dialect`, the few
//! places where SQLite and PostgreSQL differ. Both accept `$N` placeholders and `RETURNING`.
//!
//! The queries themselves live next to the trait they serve (`bookings.rs`, `users.rs`, …), as
//! default methods of a per-aggregate trait (`BookingSql`, `UserSql`, …) implemented for
//! `sqlx::Sqlite` and `sqlx::Postgres`. Each takes an executor (a pool, or a connection inside
//! a transaction) or a pool, so the same function runs alone or as part of a larger write. The
//! traits exist to state once which types the database must bind and decode; Rust does not
//! carry such bounds over from a helper trait to a free function.
//!
//! Helpers that other shared functions call inside their transaction (`enqueue`, `audit`,
//! `coordinator_emails`) take `&mut Self::Connection` rather than a generic executor: a generic
//! executor nested inside another shared future cannot be proven `Send` today
//! (rust-lang/rust#100013), and `async_trait` needs it to be.

use sqlx::query::QueryAs;
use sqlx::{Database, FromRow, QueryBuilder};

use super::{Result, StoreError};
use crate::domain::Status;

/// The SQL differences between the backends.
pub(super) trait Dialect: Database {
    /// Appended to the inner `SELECT` that claims outbox rows.
    const SKIP_LOCKED: &'static str;

    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// `b.build_query_as()`, its arguments borrowed no longer than `b` is. (SQLite's arguments
    /// carry a lifetime; only code that names the database can shorten it.)
    fn build_query_as<'q, 'args: 'q, O>(
        b: &'q mut QueryBuilder<'args, Self>,
    ) -> QueryAs<'q, Self, O, Self::Arguments<'q>>
    where
        O: for<'r> FromRow<'r, Self::Row>;
}

impl Dialect for sqlx::Sqlite {
    /// SQLite has one writer at a time; there is nothing to skip.
    const SKIP_LOCKED: &'static str = "";

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    fn build_query_as<'q, 'args: 'q, O>(
        b: &'q mut QueryBuilder<'args, Self>,
    ) -> QueryAs<'q, Self, O, Self::Arguments<'q>>
    where
        O: for<'r> FromRow<'r, Self::Row>,
    {
        b.build_query_as()
    }
}

impl Dialect for sqlx::Postgres {
    /// Concurrent workers pass over rows another transaction is claiming.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    fn build_query_as<'q, 'args: 'q, O>(
        b: &'q mut QueryBuilder<'args, Self>,
    ) -> QueryAs<'q, Self, O, Self::Arguments<'q>>
    where
        O: for<'r> FromRow<'r, Self::Row>,
    {
        b.build_query_as()
    }
}

/// A JSON column.
pub(super) fn json<T: serde::de::DeserializeOwned>(s: Option<String>, what: &str) -> Result<Option<T>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}"))))
        .transpose()
}

/// A value for a JSON column.
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// A status column.
pub(super) fn status(s: &str) -> Result<Status> {
    Status::parse(s).map_err(|_| StoreError::Corrupt(format!("unknown status {s:?}")))
}
