//! Who may see what of a booking: one rule for the API's JSON, the `.ics` download, the pages,
//! the feeds and the report.

use super::{Booking, Status, User};

/// How much of a booking someone sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Everything: title, description, contact, history. For the booking's own organisation
    /// and for coordinators.
    Full,
    /// What the availability shows anyone: times, organisation and the public title
    /// («Opptatt» for a private booking), no contact data.
    Public,
}

/// What a list of events (the report) calls a private booking seen from outside.
pub const PRIVATE_EVENT_TITLE: &str = "Privat booking";

impl View {
    /// The title this view shows: a private booking's own title only in full.
    pub fn title(self, b: &Booking) -> &str {
        match self {
            View::Full => &b.title,
            View::Public => b.public_title(),
        }
    }

    /// The title of the booking as an event in a list of events (the report): as [`title`](Self::title),
    /// but a private booking seen from outside is «Privat booking» (the availability's
    /// «Opptatt» says nothing in a list of what took place).
    pub fn event_title(self, b: &Booking) -> &str {
        match self {
            View::Public if !b.public => PRIVATE_EVENT_TITLE,
            view => view.title(b),
        }
    }

    /// Whether this view shows the contact person and what they wrote (description, outcome).
    pub fn shows_contact(self) -> bool {
        self == View::Full
    }
}

/// What `viewer` (signed in, or `None`) may see of `b`: in full if they manage it; someone
/// else's confirmed booking as the availability shows it; anything else not at all (others'
/// requests, cancelled and refused bookings stay hidden, so nobody learns of them).
pub fn view_of(viewer: Option<&User>, b: &Booking) -> Option<View> {
    match viewer {
        Some(u) if u.may_see_details(b) => Some(View::Full),
        // A hold keeps its slot: others see it as busy, without its title.
        _ if matches!(b.status, Status::Confirmed | Status::Held) => Some(View::Public),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::Role;

    fn booking(org: &str, status: Status, public: bool) -> Booking {
        let now = Utc::now();
        Booking {
            id: 1,
            room: "borgertun".into(),
            start: now,
            end: now,
            blocked_until: now,
            title: "Hemmelig møte".into(),
            description: None,
            public,
            attendees: 1,
            org: org.into(),
            contact_name: "Kari".into(),
            contact_email: "kari@uib.no".into(),
            status,
            status_reason: None,
            sequence: 0,
            created_at: now,
            updated_at: now,
            activity: None,
            attendance: None,
            series: None,
            held_until: None,
            checked_in_at: None,
        }
    }

    fn user(org: &str, role: Role) -> User {
        User {
            id: 1,
            email: "a@b.no".into(),
            name: "A".into(),
            org: org.into(),
            role,
        }
    }

    #[test]
    fn own_organisation_and_coordinators_see_all_others_the_public_view_of_confirmed_only() {
        let private = booking("uib", Status::Confirmed, false);
        let own = user("uib", Role::Requester);
        let other = user("hvl", Role::Requester);
        let coordinator = user("beho", Role::Coordinator);
        assert_eq!(view_of(Some(&own), &private), Some(View::Full));
        assert_eq!(view_of(Some(&coordinator), &private), Some(View::Full));
        assert_eq!(view_of(Some(&other), &private), Some(View::Public));
        assert_eq!(view_of(None, &private), Some(View::Public));
        assert_eq!(View::Public.title(&private), "Opptatt");
        assert_eq!(View::Full.title(&private), "Hemmelig møte");
        assert_eq!(View::Public.event_title(&private), "Privat booking");
        assert_eq!(View::Full.event_title(&private), "Hemmelig møte");
        let public = booking("uib", Status::Confirmed, true);
        assert_eq!(View::Public.event_title(&public), "Hemmelig møte");
        let staff = user("beho", Role::Staff);
        assert_eq!(
            view_of(Some(&staff), &private),
            Some(View::Public),
            "staff are not the coordinator"
        );
        for status in [Status::Pending, Status::Cancelled, Status::Rejected, Status::Displaced] {
            let b = booking("uib", status, true);
            assert_eq!(view_of(Some(&other), &b), None, "{status:?}");
            assert_eq!(view_of(None, &b), None, "{status:?}");
            assert_eq!(view_of(Some(&own), &b), Some(View::Full), "{status:?}");
        }
    }
}
