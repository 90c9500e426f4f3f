//! Users and access: accounts, requests for access from outside the configured domains, and
//! API tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::outbox::{NewMessage, OutboxSql};
use super::{Result, StoreError};
use crate::domain::{Role, User};

/// A request for access from an address outside the configured organisations' domains.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequest {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// The organisation as the person wrote it.
    pub org_text: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// "granted" or "refused", once decided.
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

/// A new access request.
#[derive(Debug, Clone)]
pub struct NewAccessRequest<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub org_text: &'a str,
    pub message: Option<&'a str>,
}

/// The coordinator's answer to an access request: grant with an organisation and a role (the
/// user is created; an account the address has already is never changed), or refuse.
#[derive(Debug, Clone)]
pub struct AccessDecision<'a> {
    pub id: i64,
    pub grant: Option<(&'a str, Role)>,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// What deciding an access request came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessOutcome {
    /// Granted: the new account.
    Granted(User),
    Refused,
    /// Granting found an account for the address (made since the request was sent, on the
    /// command line, by signing in or by another request): the account is left as it is, the
    /// request is closed as refused with [`EXISTS_REASON`], and no mail is sent.
    Exists(User),
}

/// The reason an access request is closed with when its address has an account already.
pub const EXISTS_REASON: &str = "Finnes fra før: adressen har allerede en konto, og den er ikke endret.";

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn add_user(&self, email: &str, name: &str, org: &str, role: Role, now: DateTime<Utc>) -> Result<User>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user(&self, id: i64) -> Result<Option<User>>;
    /// Every user, by e-mail address.
    async fn users(&self) -> Result<Vec<User>>;
    /// Set a user's organisation and role.
    async fn update_user(&self, id: i64, org: &str, role: Role) -> Result<User>;

    /// Store an access request and a message to each coordinator (`notify` composes it for an
    /// address), together. `Duplicate` if the address already has an open request.
    async fn add_access_request(
        &self,
        r: &NewAccessRequest<'_>,
        now: DateTime<Utc>,
        notify: &(dyn for<'s> Fn(&'s str) -> NewMessage + Sync),
    ) -> Result<AccessRequest>;
    async fn access_request(&self, id: i64) -> Result<Option<AccessRequest>>;
    /// Open requests first (oldest first), then the 50 latest decided.
    async fn access_requests(&self) -> Result<Vec<AccessRequest>>;
    /// Decide an open request and send `mail`, together (no mail for [`AccessOutcome::Exists`]).
    /// `NotFound` if the request is not open.
    async fn decide_access_request(&self, d: &AccessDecision<'_>, mail: &NewMessage) -> Result<AccessOutcome>;
    async fn add_api_token(&self, user_id: i64, token_hash: &str, now: DateTime<Utc>) -> Result<()>;
    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>>;
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    email: String,
    name: String,
    org: String,
    role: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: r.id,
            email: r.email,
            name: r.name,
            org: r.org,
            role: Role::parse(&r.role).map_err(|_| StoreError::Corrupt(format!("unknown role {:?}", r.role)))?,
        })
    }
}

const ACCESS_COLUMNS: &str = "id, email, name, org_text, message, created_at, decided_at, decided_by, outcome, reason";

#[derive(sqlx::FromRow)]
pub(super) struct AccessRow {
    id: i64,
    email: String,
    name: String,
    org_text: String,
    message: Option<String>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
}

impl From<AccessRow> for AccessRequest {
    fn from(r: AccessRow) -> Self {
        AccessRequest {
            id: r.id,
            email: r.email,
            name: r.name,
            org_text: r.org_text,
            message: r.message,
            created_at: r.created_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            outcome: r.outcome,
            reason: r.reason,
        }
    }
}

/// The users' and access requests' SQL, the same on both databases.
pub(super) trait UserSql: OutboxSql
where
    for<'q> Self::Arguments<'q>: IntoArguments<'q, Self>,
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> String: Encode<'q, Self> + Type<Self>,
    for<'q> DateTime<Utc>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<i64>: Encode<'q, Self>,
    for<'q> Option<&'q str>: Encode<'q, Self>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, Self>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
    for<'r> (String,): FromRow<'r, Self::Row>,
    for<'r> super::OutboxMessage: FromRow<'r, Self::Row>,
    for<'r> UserRow: FromRow<'r, Self::Row>,
    for<'r> AccessRow: FromRow<'r, Self::Row>,
{
    async fn add_user<'e>(
        e: impl Executor<'e, Database = Self>,
        email: &str,
        name: &str,
        org: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let row: UserRow = sqlx::query_as(
            "INSERT INTO users (email, name, org, role, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, email, name, org, role",
        )
        .bind(email)
        .bind(name)
        .bind(org)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(e)
        .await?;
        row.try_into()
    }

    async fn user_by_email<'e>(e: impl Executor<'e, Database = Self>, email: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(e)
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn user<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(e)
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn users<'e>(e: impl Executor<'e, Database = Self>) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as("SELECT id, email, name, org, role FROM users ORDER BY email")
            .fetch_all(e)
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn update_user<'e>(e: impl Executor<'e, Database = Self>, id: i64, org: &str, role: Role) -> Result<User> {
        let row: Option<UserRow> =
            sqlx::query_as("UPDATE users SET org = $1, role = $2 WHERE id = $3 RETURNING id, email, name, org, role")
                .bind(org)
                .bind(role.as_str())
                .bind(id)
                .fetch_optional(e)
                .await?;
        row.map(User::try_from).transpose()?.ok_or(StoreError::NotFound)
    }

    /// E-mail addresses of the coordinators and administrators.
    async fn coordinator_emails(conn: &mut Self::Connection) -> Result<Vec<String>> {
        let emails: Vec<String> =
            sqlx::query_scalar("SELECT email FROM users WHERE role IN ('coordinator', 'admin') ORDER BY email")
                .fetch_all(conn)
                .await?;
        Ok(emails)
    }

    async fn add_access_request(
        pool: &Pool<Self>,
        r: &NewAccessRequest<'_>,
        now: DateTime<Utc>,
        notify: &(dyn for<'s> Fn(&'s str) -> NewMessage + Sync),
    ) -> Result<AccessRequest> {
        let mut tx = pool.begin().await?;
        let row: AccessRow = sqlx::query_as(&format!(
            "INSERT INTO access_requests (email, name, org_text, message, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {ACCESS_COLUMNS}"
        ))
        .bind(r.email)
        .bind(r.name)
        .bind(r.org_text)
        .bind(r.message)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Duplicate(_) => StoreError::Duplicate("open access request"),
            other => other,
        })?;
        for c in Self::coordinator_emails(&mut *tx).await? {
            Self::enqueue(&mut *tx, &notify(&c), now).await?;
        }
        tx.commit().await?;
        Ok(row.into())
    }

    async fn access_request<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Option<AccessRequest>> {
        let row: Option<AccessRow> =
            sqlx::query_as(&format!("SELECT {ACCESS_COLUMNS} FROM access_requests WHERE id = $1"))
                .bind(id)
                .fetch_optional(e)
                .await?;
        Ok(row.map(Into::into))
    }

    async fn access_requests(pool: &Pool<Self>) -> Result<Vec<AccessRequest>> {
        let mut open: Vec<AccessRow> = sqlx::query_as(&format!(
            "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE decided_at IS NULL ORDER BY created_at, id"
        ))
        .fetch_all(pool)
        .await?;
        let decided: Vec<AccessRow> = sqlx::query_as(&format!(
            "SELECT {ACCESS_COLUMNS} FROM access_requests WHERE decided_at IS NOT NULL \
             ORDER BY decided_at DESC, id DESC LIMIT 50"
        ))
        .fetch_all(pool)
        .await?;
        open.extend(decided);
        Ok(open.into_iter().map(Into::into).collect())
    }

    async fn decide_access_request(
        pool: &Pool<Self>,
        d: &AccessDecision<'_>,
        mail: &NewMessage,
    ) -> Result<AccessOutcome> {
        let mut tx = pool.begin().await?;
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE access_requests SET decided_at = $1, decided_by = $2, outcome = $3, reason = $4 \
             WHERE id = $5 AND decided_at IS NULL RETURNING email",
        )
        .bind(d.now)
        .bind(d.actor)
        .bind(if d.grant.is_some() { "granted" } else { "refused" })
        .bind(d.reason)
        .bind(d.id)
        .fetch_optional(&mut *tx)
        .await?;
        let email = email.ok_or(StoreError::NotFound)?;
        let mut outcome = AccessOutcome::Refused;
        if let Some((org, role)) = d.grant {
            let name: String = sqlx::query_scalar("SELECT name FROM access_requests WHERE id = $1")
                .bind(d.id)
                .fetch_one(&mut *tx)
                .await?;
            // Never change an account that exists: granting only ever makes a new one.
            let row: Option<UserRow> = sqlx::query_as(
                "INSERT INTO users (email, name, org, role, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (email) DO NOTHING RETURNING id, email, name, org, role",
            )
            .bind(&email)
            .bind(name)
            .bind(org)
            .bind(role.as_str())
            .bind(d.now)
            .fetch_optional(&mut *tx)
            .await?;
            outcome = match row {
                Some(row) => AccessOutcome::Granted(row.try_into()?),
                None => {
                    sqlx::query("UPDATE access_requests SET outcome = 'refused', reason = $1 WHERE id = $2")
                        .bind(EXISTS_REASON)
                        .bind(d.id)
                        .execute(&mut *tx)
                        .await?;
                    let existing: UserRow =
                        sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE email = $1")
                            .bind(&email)
                            .fetch_one(&mut *tx)
                            .await?;
                    tx.commit().await?;
                    return Ok(AccessOutcome::Exists(existing.try_into()?));
                }
            };
        }
        Self::enqueue(&mut *tx, mail, d.now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn add_api_token<'e>(
        e: impl Executor<'e, Database = Self>,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .execute(e)
            .await?;
        Ok(())
    }

    async fn user_by_api_token<'e>(e: impl Executor<'e, Database = Self>, token_hash: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.org, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(e)
        .await?;
        row.map(User::try_from).transpose()
    }
}

impl UserSql for sqlx::Sqlite {}
impl UserSql for sqlx::Postgres {}
