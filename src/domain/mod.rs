//! Pure types and rules: no I/O, no web, no database.

pub mod booking;
pub mod checkin;
pub mod decision;
pub mod error;
pub mod fairness;
pub mod feed;
pub mod holidays;
pub mod plan;
pub mod policy;
pub mod privacy;
pub mod recurrence;
pub mod report;
pub mod rules;
pub mod schedule;
pub mod series;
pub mod time;
pub mod view;
pub mod waitlist;

pub use booking::{
    Activity, Attendance, AuditEntry, Booking, BookingTitle, NewBooking, Role, SeriesLink, Status, User,
};
pub use decision::{Decision, Held};
pub use error::DomainError;
pub use feed::FeedKind;
pub use plan::{ActionPlan, Measure, Plan, Vocabulary};
pub use policy::Slot;
pub use rules::{Closure, OpeningHours, Organisation, Room, Rules, Tier};
pub use view::{view_of, View};
