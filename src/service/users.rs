//! Users, their accounts and their API tokens.
//!
//! Decisions recorded here: nobody disables their own account, only an administrator disables
//! or enables an administrator, and the last enabled administrator cannot be disabled (on a
//! page or on the command line), so the service always keeps someone who can manage it.
//! Disabling ends the account's sessions at once; its API tokens and calendar feeds are
//! refused while it is disabled and work again if it is enabled (revoke them to end them).

use chrono::Duration;

use crate::domain::{DomainError, Role, User};
use crate::store::{Account, ApiToken, StoreError};
use crate::token::hash_token;

use super::sessions::TOUCH_SECONDS;
use super::{App, Result, ServiceError};

impl App {
    /// Add a user (the command line's `user add`); `Duplicate` if the address has an account.
    pub async fn add_user(&self, email: &str, name: &str, org: &str, role: Role) -> Result<User> {
        Ok(self.store.add_user(email, name, org, role, self.now()).await?)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self.store.user_by_email(email).await?)
    }

    /// Every account with its state, by e-mail address.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        Ok(self.store.accounts().await?)
    }

    /// An account by id; `NotFound` if there is none.
    pub async fn account(&self, id: i64) -> Result<Account> {
        self.store.account(id).await?.ok_or(ServiceError::NotFound)
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        Ok(self.store.account_by_email(email).await?)
    }

    /// Disable `target`'s account, by `actor` (`None`: the command line). Its sessions end at
    /// once; it cannot sign in, and its API tokens and feeds are refused, until it is enabled.
    /// Already disabled: unchanged.
    pub async fn disable_user(&self, actor: Option<&User>, target: &Account) -> Result<Account> {
        let refuse = |code, message: &str| Err(DomainError::new(code, message).on("account").into());
        if target.disabled_at.is_some() {
            return Ok(target.clone());
        }
        if let Some(actor) = actor {
            if actor.id == target.user.id {
                return refuse("own_account", "Du kan ikke deaktivere din egen konto.");
            }
            if target.user.role == Role::Admin && actor.role != Role::Admin {
                return refuse("admin_only", "Bare en administrator kan deaktivere en administrator.");
            }
        }
        if target.user.role == Role::Admin {
            let enabled_admins = self
                .store
                .accounts()
                .await?
                .iter()
                .filter(|a| a.user.role == Role::Admin && a.disabled_at.is_none())
                .count();
            if enabled_admins <= 1 {
                return refuse(
                    "last_admin",
                    "Den siste aktive administratoren kan ikke deaktiveres. Gi en annen bruker rollen administrator først.",
                );
            }
        }
        let a = self
            .store
            .disable_user(target.user.id, self.now())
            .await
            .map_err(not_found)?;
        tracing::info!(
            user = a.user.id,
            by = actor.map(|u| u.email.as_str()).unwrap_or("cli"),
            "user disabled"
        );
        Ok(a)
    }

    /// Enable `target`'s account again, by `actor` (`None`: the command line).
    pub async fn enable_user(&self, actor: Option<&User>, target: &Account) -> Result<Account> {
        let refuse = |code, message: &str| Err(DomainError::new(code, message).on("account").into());
        if let Some(actor) = actor {
            if target.user.role == Role::Admin && actor.role != Role::Admin {
                return refuse("admin_only", "Bare en administrator kan aktivere en administrator.");
            }
        }
        if target.disabled_at.is_none() {
            return Ok(target.clone());
        }
        let a = self.store.enable_user(target.user.id).await.map_err(not_found)?;
        tracing::info!(
            user = a.user.id,
            by = actor.map(|u| u.email.as_str()).unwrap_or("cli"),
            "user enabled"
        );
        Ok(a)
    }

    /// A new API token for `user`, shown once; only its hash is kept. It works for
    /// `auth.api_token_days` days.
    pub async fn create_api_token(&self, user: &User) -> Result<String> {
        Ok(self.create_api_token_with_id(user).await?.0)
    }

    /// A new API token for `user` (shown once) and what is stored of it.
    pub async fn create_api_token_with_id(&self, user: &User) -> Result<(String, ApiToken)> {
        let (token, hash) = crate::token::new_api_token();
        let now = self.now();
        let expires = now + Duration::days(self.config().auth.api_token_days);
        let stored = self.store.add_api_token(user.id, &hash, now, expires).await?;
        Ok((token, stored))
    }

    /// The user an API token belongs to, if the token works now (not revoked or expired, its
    /// owner not disabled); its last use is recorded, at most once a minute.
    pub async fn user_by_api_token(&self, token: &str) -> Result<Option<User>> {
        let now = self.now();
        let Some((t, user)) = self.store.user_by_api_token(&hash_token(token), now).await? else {
            return Ok(None);
        };
        if t.last_used_at
            .is_none_or(|at| now - at >= Duration::seconds(TOUCH_SECONDS))
        {
            self.store.touch_api_token(t.id, now).await?;
        }
        Ok(Some(user))
    }

    /// A user's API tokens, newest first, revoked and expired ones too.
    pub async fn api_tokens_of(&self, user: &User) -> Result<Vec<ApiToken>> {
        Ok(self.store.api_tokens_of(user.id).await?)
    }

    /// Revoke token `id` of `owner` (`None`: anyone's, for the command line); false if there
    /// was no such token left to revoke. It stops working at once.
    pub async fn revoke_api_token(&self, id: i64, owner: Option<&User>) -> Result<bool> {
        let done = self.store.revoke_api_token(id, owner.map(|u| u.id), self.now()).await?;
        if done {
            tracing::info!(token = id, "API token revoked");
        }
        Ok(done)
    }
}

fn not_found(e: StoreError) -> ServiceError {
    match e {
        StoreError::NotFound => ServiceError::NotFound,
        e => e.into(),
    }
}
