//! Calendar feed subscriptions.

use super::error::DomainError;

/// What a feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// A room's confirmed bookings, as anyone may see them (no contact details).
    Room,
    /// The subscriber's organisation's bookings, in full.
    Organisation,
    /// The bookings the subscriber is the contact person of, in full.
    Personal,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Room => "room",
            FeedKind::Organisation => "organisation",
            FeedKind::Personal => "personal",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "room" => Ok(FeedKind::Room),
            "organisation" => Ok(FeedKind::Organisation),
            "personal" => Ok(FeedKind::Personal),
            other => Err(DomainError::new(
                "invalid_feed_kind",
                format!("Ukjent type kalenderabonnement «{other}». Gyldige: room, organisation, personal."),
            )
            .on("kind")),
        }
    }
}
