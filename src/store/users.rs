//! Users and access: accounts (and whether they are disabled), requests for access from
//! outside the configured domains, and API tokens (with their expiry, last use and revocation).

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

/// A user's account: the user and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub user: User,
    pub created_at: DateTime<Utc>,
    /// Set while the account is disabled: it cannot sign in, and its sessions, API tokens and
    /// calendar feeds are refused.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// An API token (stored hashed): when it was made, when it expires, when it was last used
/// (to the minute) and when it was revoked.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

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
    /// Every account, by e-mail address.
    async fn accounts(&self) -> Result<Vec<Account>>;
    async fn account(&self, id: i64) -> Result<Option<Account>>;
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>>;
    /// Disable an account and end its sessions, together (a disabled account stays as it was).
    /// `NotFound` if there is none.
    async fn disable_user(&self, id: i64, now: DateTime<Utc>) -> Result<Account>;
    /// Enable a disabled account. `NotFound` if there is none.
    async fn enable_user(&self, id: i64) -> Result<Account>;

    async fn add_api_token(
        &self,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<ApiToken>;
    /// The token with this hash and its owner, if it works at `now`: not revoked, not expired,
    /// its owner not disabled.
    async fn user_by_api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>>;
    /// Record that a token was used at `now`.
    async fn touch_api_token(&self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// A user's tokens, newest first, revoked and expired ones too.
    async fn api_tokens_of(&self, user_id: i64) -> Result<Vec<ApiToken>>;
    /// Revoke a token of `user_id` (or anyone's, with `None`); false if there was none to revoke.
    async fn revoke_api_token(&self, id: i64, user_id: Option<i64>, now: DateTime<Utc>) -> Result<bool>;
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

const ACCOUNT_COLUMNS: &str = "id, email, name, org, role, created_at, disabled_at";

#[derive(sqlx::FromRow)]
pub(super) struct AccountRow {
    id: i64,
    email: String,
    name: String,
    org: String,
    role: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Account> {
        let user = UserRow {
            id: r.id,
            email: r.email,
            name: r.name,
            org: r.org,
            role: r.role,
        };
        Ok(Account {
            user: user.try_into()?,
            created_at: r.created_at,
            disabled_at: r.disabled_at,
        })
    }
}

const TOKEN_COLUMNS: &str = "id, user_id, created_at, expires_at, last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(super) struct ApiTokenRow {
    id: i64,
    user_id: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(r: ApiTokenRow) -> Self {
        ApiToken {
            id: r.id,
            user_id: r.user_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
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

/// The user with this id, unless the account is disabled: who a session, an API token or a
/// feed acts as.
pub(super) async fn enabled_user<'e, DB>(e: impl Executor<'e, Database = DB>, id: i64) -> Result<Option<User>>
where
    DB: sqlx::Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
{
    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, email, name, org, role FROM users WHERE id = $1 AND disabled_at IS NULL")
            .bind(id)
            .fetch_optional(e)
            .await?;
    row.map(User::try_from).transpose()
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
    for<'r> AccountRow: FromRow<'r, Self::Row>,
    for<'r> ApiTokenRow: FromRow<'r, Self::Row>,
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
        let emails: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM users WHERE role IN ('coordinator', 'admin') AND disabled_at IS NULL ORDER BY email",
        )
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

    async fn accounts<'e>(e: impl Executor<'e, Database = Self>) -> Result<Vec<Account>> {
        let rows: Vec<AccountRow> = sqlx::query_as(&format!("SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY email"))
            .fetch_all(e)
            .await?;
        rows.into_iter().map(Account::try_from).collect()
    }

    async fn account<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(e)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account_by_email<'e>(e: impl Executor<'e, Database = Self>, email: &str) -> Result<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(e)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn disable_user(pool: &Pool<Self>, id: i64, now: DateTime<Utc>) -> Result<Account> {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let row: Option<AccountRow> = sqlx::query_as(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let account = row.map(Account::try_from).transpose()?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(account)
    }

    async fn enable_user<'e>(e: impl Executor<'e, Database = Self>, id: i64) -> Result<Account> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "UPDATE users SET disabled_at = NULL WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(e)
        .await?;
        row.map(Account::try_from).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn add_api_token<'e>(
        e: impl Executor<'e, Database = Self>,
        user_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<ApiToken> {
        let row: ApiTokenRow = sqlx::query_as(&format!(
            "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4) \
             RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .fetch_one(e)
        .await?;
        Ok(row.into())
    }

    async fn user_by_api_token(
        pool: &Pool<Self>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ApiToken, User)>> {
        let token: Option<ApiTokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?;
        let Some(token) = token else { return Ok(None) };
        Ok(enabled_user(pool, token.user_id).await?.map(|u| (token.into(), u)))
    }

    async fn touch_api_token<'e>(e: impl Executor<'e, Database = Self>, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(e)
            .await?;
        Ok(())
    }

    async fn api_tokens_of<'e>(e: impl Executor<'e, Database = Self>, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows: Vec<ApiTokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC"
        ))
        .bind(user_id)
        .fetch_all(e)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_api_token<'e>(
        e: impl Executor<'e, Database = Self>,
        id: i64,
        user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND ($3 IS NULL OR user_id = $3) AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(e)
        .await?;
        Ok(Self::rows_affected(&done) == 1)
    }
}

impl UserSql for sqlx::Sqlite {}
impl UserSql for sqlx::Postgres {}
