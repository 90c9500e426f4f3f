//! Users, their roles and their API tokens.

use crate::domain::{Role, User};

use super::{App, Result};

impl App {
    /// Add a user (the command line's `user add`); `Duplicate` if the address has an account.
    pub async fn add_user(&self, email: &str, name: &str, org: &str, role: Role) -> Result<User> {
        Ok(self.store.add_user(email, name, org, role, self.now()).await?)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self.store.user_by_email(email).await?)
    }

    /// A new API token for `user`, shown once; only its hash is kept.
    pub async fn create_api_token(&self, user: &User) -> Result<String> {
        let (token, hash) = crate::token::new_api_token();
        self.store.add_api_token(user.id, &hash, self.now()).await?;
        Ok(token)
    }

    /// The user an API token belongs to.
    pub async fn user_by_api_token(&self, token: &str) -> Result<Option<User>> {
        Ok(self.store.user_by_api_token(&crate::token::hash_token(token)).await?)
    }
}
