//! Access: people outside the configured organisations' domains ask for it; coordinators grant
//! or refuse it, and set users' organisations and roles.

use crate::domain::{DomainError, Role, User};
use crate::store::{AccessDecision, AccessOutcome, AccessRequest, NewAccessRequest, StoreError};

use super::{App, Result, ServiceError};

/// What a request for access comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAsked {
    /// Sent to the coordinators (or, for an address with an account or an open request,
    /// quietly nothing: the answer does not tell).
    Sent,
    /// The address belongs to a configured organisation's domain: it can sign in directly.
    SignInDirectly,
}

impl App {
    /// Ask for access for `email` (parsed), with a mail to each coordinator, together.
    pub async fn request_access(
        &self,
        email: &str,
        name: &str,
        org_text: &str,
        message: Option<&str>,
    ) -> Result<AccessAsked> {
        if self.org_of_domain(email).is_some() {
            return Ok(AccessAsked::SignInDirectly);
        }
        // An address with an account gets the same answer, and nothing is stored.
        if self.store.user_by_email(email).await?.is_some() {
            return Ok(AccessAsked::Sent);
        }
        let req = NewAccessRequest {
            email,
            name,
            org_text,
            message,
        };
        let composer = self.composer();
        let notify = |coordinator: &str| composer.access_requested(coordinator, &req);
        match self.store.add_access_request(&req, self.now(), &notify).await {
            Ok(_) | Err(StoreError::Duplicate(_)) => Ok(AccessAsked::Sent),
            Err(e) => Err(e.into()),
        }
    }

    /// Open requests first (oldest first), then the latest decided.
    pub async fn access_requests(&self) -> Result<Vec<AccessRequest>> {
        Ok(self.store.access_requests().await?)
    }

    /// How many access requests wait for a decision.
    pub async fn open_access_requests(&self) -> Result<usize> {
        Ok(self
            .store
            .access_requests()
            .await?
            .iter()
            .filter(|r| r.decided_at.is_none())
            .count())
    }

    /// An access request that is still open; `NotFound` otherwise.
    pub async fn open_access_request(&self, id: i64) -> Result<AccessRequest> {
        match self.store.access_request(id).await? {
            Some(r) if r.decided_at.is_none() => Ok(r),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// Grant (with an organisation and a role) or refuse an open request, and tell the person,
    /// together. Granting never changes an account the address has already: the request is
    /// then closed as «finnes fra før» ([`AccessOutcome::Exists`], no mail), and the
    /// coordinator changes the account on the user list if it should change. `NotFound` if the
    /// request is no longer open.
    pub async fn decide_access(
        &self,
        request: &AccessRequest,
        grant: Option<(&str, Role)>,
        reason: Option<&str>,
        actor: &User,
    ) -> Result<AccessOutcome> {
        let rules = self.rules();
        let mail = self
            .composer()
            .access_decided(&request.email, grant.map(|(org, _)| rules.org_name(org)), reason);
        let decision = AccessDecision {
            id: request.id,
            grant,
            reason,
            actor: &actor.email,
            now: self.now(),
        };
        match self.store.decide_access_request(&decision, &mail).await {
            Ok(outcome) => {
                if let AccessOutcome::Exists(u) = &outcome {
                    tracing::info!(request = request.id, user = u.id, by = %actor.email, "access request closed: the account exists");
                }
                Ok(outcome)
            }
            Err(StoreError::NotFound) => Err(ServiceError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Every user, by e-mail address.
    pub async fn users(&self) -> Result<Vec<User>> {
        Ok(self.store.users().await?)
    }

    /// A user by id; `NotFound` if there is none.
    pub async fn user(&self, id: i64) -> Result<User> {
        self.store.user(id).await?.ok_or(ServiceError::NotFound)
    }

    /// Give `target` organisation `org` and `role`. Nobody changes their own role, and only an
    /// administrator changes an administrator or makes one.
    pub async fn update_user_role(&self, actor: &User, target: &User, org: &str, role: Role) -> Result<User> {
        let refuse = |code, message: &str| Err(DomainError::new(code, message).on("role").into());
        if target.id == actor.id {
            return refuse("own_role", "Du kan ikke endre din egen rolle.");
        }
        if target.role == Role::Admin && actor.role != Role::Admin {
            return refuse("admin_only", "Bare en administrator kan endre en administrator.");
        }
        if role == Role::Admin && actor.role != Role::Admin {
            return refuse("admin_only", "Bare en administrator kan gi rollen administrator.");
        }
        if self.rules().organisation(org).is_none() {
            return Err(DomainError::new("unknown_organisation", "Velg en virksomhet.")
                .on("organisation")
                .into());
        }
        let u = self.store.update_user(target.id, org, role).await?;
        tracing::info!(user = u.id, by = %actor.email, role = u.role.as_str(), org = %u.org, "user updated");
        Ok(u)
    }
}
