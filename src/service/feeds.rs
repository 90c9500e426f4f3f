//! Calendar feeds: subscription links for a room, an organisation or a person.

use crate::domain::{DomainError, FeedKind, User};
use crate::store::FeedToken;

use super::{App, Result};

impl App {
    /// Create a calendar feed for `user`: a room's (the first room unless named), their
    /// organisation's, or their own bookings. Returns the feed and its token, shown once.
    pub async fn create_feed(&self, user: &User, kind: FeedKind, room: Option<&str>) -> Result<(FeedToken, String)> {
        let rules = self.rules();
        let room = match kind {
            FeedKind::Room => {
                let key = room
                    .or_else(|| rules.rooms.first().map(|r| r.key.as_str()))
                    .unwrap_or_default();
                let room = rules
                    .room(key)
                    .ok_or_else(|| DomainError::new("unknown_room", format!("Ukjent rom «{key}».")).on("room"))?;
                Some(room.key.as_str())
            }
            _ => None,
        };
        let org = (kind == FeedKind::Organisation).then_some(user.org.as_str());
        let (token, hash) = crate::token::new_secret();
        let feed = self.store.add_feed(user.id, kind, room, org, &hash, self.now()).await?;
        Ok((feed, token))
    }

    /// `user`'s feeds, revoked ones too.
    pub async fn feeds_of(&self, user: &User) -> Result<Vec<FeedToken>> {
        Ok(self.store.feeds_of(user.id).await?)
    }

    /// Revoke feed `id` of `owner` (anyone's with `None`); false if there was none to revoke.
    pub async fn revoke_feed(&self, id: i64, owner: Option<&User>) -> Result<bool> {
        Ok(self.store.revoke_feed(id, owner.map(|u| u.id), self.now()).await?)
    }
}
