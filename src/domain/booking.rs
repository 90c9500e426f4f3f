//! Bookings, their life cycle and the people who make them.

use chrono::{DateTime, Utc};

use super::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Confirmed,
    Rejected,
    Cancelled,
    Displaced,
    /// A freed slot reserved for the first eligible on the waitlist until `held_until`.
    Held,
    /// A hold that was declined, ran out, or was withdrawn for a higher tier.
    Lapsed,
    /// Released because nobody checked in by the release time.
    NoShow,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::Confirmed,
        Status::Rejected,
        Status::Cancelled,
        Status::Displaced,
        Status::Held,
        Status::Lapsed,
        Status::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::Displaced => "displaced",
            Status::Held => "held",
            Status::Lapsed => "lapsed",
            Status::NoShow => "no_show",
        }
    }

    /// The word in the user interface.
    pub fn norwegian(self) -> &'static str {
        match self {
            Status::Pending => "til behandling",
            Status::Confirmed => "bekreftet",
            Status::Rejected => "avslått",
            Status::Cancelled => "avbestilt",
            Status::Displaced => "trukket tilbake",
            Status::Held => "holdt fra ventelisten",
            Status::Lapsed => "hold utløpt",
            Status::NoShow => "ikke møtt, frigitt",
        }
    }

    pub fn parse(s: &str) -> Result<Status, DomainError> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            DomainError::new(
                "invalid_status",
                format!(
                    "Ukjent status «{s}». Gyldige verdier: {}.",
                    Status::ALL.map(Status::as_str).join(", ")
                ),
            )
            .on("status")
        })
    }

    /// Pending and confirmed bookings are live bookings: they can be changed and cancelled,
    /// and they are in the calendars. The rest are history, or a hold.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Pending | Status::Confirmed)
    }

    /// Pending and confirmed bookings and holds take part in the rules: each keeps its slot
    /// from the requests that come after it.
    pub fn occupies(self) -> bool {
        matches!(self, Status::Pending | Status::Confirmed | Status::Held)
    }

    /// The status life cycle: `pending → confirmed | rejected | cancelled`,
    /// `confirmed → cancelled | displaced | no_show`, and a hold:
    /// `held → confirmed | pending | lapsed`. A requester may withdraw a pending request
    /// (it becomes cancelled).
    pub fn can_become(self, next: Status) -> bool {
        matches!(
            (self, next),
            (
                Status::Pending,
                Status::Confirmed | Status::Rejected | Status::Cancelled
            ) | (
                Status::Confirmed,
                Status::Cancelled | Status::Displaced | Status::NoShow
            ) | (Status::Held, Status::Confirmed | Status::Pending | Status::Lapsed)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Requester,
    Staff,
    Coordinator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Staff => "staff",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, DomainError> {
        [Role::Requester, Role::Staff, Role::Coordinator, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "invalid_role",
                    format!("Ukjent rolle «{s}». Gyldige roller: requester, staff, coordinator, admin."),
                )
            })
    }

    /// Coordinators and administrators act for every organisation and settle conflicts.
    pub fn is_coordinator(self) -> bool {
        matches!(self, Role::Coordinator | Role::Admin)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub org: String,
    pub role: Role,
}

impl User {
    /// A user manages the bookings of their own organisation; a coordinator manages all.
    pub fn may_manage(&self, b: &Booking) -> bool {
        self.role.is_coordinator() || self.org == b.org
    }

    /// Whether the user may see the booking in full (contact, description, history).
    pub fn may_see_details(&self, b: &Booking) -> bool {
        self.may_manage(b)
    }
}

/// The longest reason (for a refusal, an override, a cancellation or an access decision).
pub const MAX_REASON_CHARS: usize = 1000;

/// A reason as written: trimmed, empty as none, at most `MAX_REASON_CHARS` characters;
/// `required` reasons (a refusal, an override) must be there, with `why` saying when.
pub fn parse_reason(s: Option<&str>, required: Option<&str>) -> Result<Option<String>, DomainError> {
    let r = s.map(str::trim).filter(|r| !r.is_empty());
    if r.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(DomainError::new("invalid_reason", "Begrunnelsen kan være høyst 1 000 tegn.").on("reason"));
    }
    match (r, required) {
        (None, Some(why)) => Err(DomainError::new("reason_required", why).on("reason")),
        (r, _) => Ok(r.map(String::from)),
    }
}

/// A booking title: trimmed, 1–200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingTitle(String);

impl BookingTitle {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(DomainError::new("invalid_title", "Tittel må fylles ut.").on("title"));
        }
        if t.chars().count() > 200 {
            return Err(DomainError::new("invalid_title", "Tittelen kan være høyst 200 tegn.").on("title"));
        }
        if t.chars().any(char::is_control) {
            return Err(DomainError::new(
                "invalid_title",
                "Tittelen kan ikke inneholde linjeskift eller kontrolltegn.",
            )
            .on("title"));
        }
        Ok(Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: at most 5,000 characters; CR is normalised away.
pub fn parse_description(s: Option<&str>) -> Result<Option<String>, DomainError> {
    let Some(s) = s.map(|s| s.replace("\r\n", "\n").replace('\r', "\n")) else {
        return Ok(None);
    };
    let s = s.trim().to_string();
    if s.chars().count() > 5000 {
        return Err(
            DomainError::new("invalid_description", "Beskrivelsen kan være høyst 5 000 tegn.").on("description"),
        );
    }
    Ok((!s.is_empty()).then_some(s))
}

/// An e-mail address: lower-cased, checked for shape.
pub fn parse_email(s: &str) -> Result<String, DomainError> {
    let s = s.trim().to_lowercase();
    if email_address::EmailAddress::is_valid(&s) && s.contains('.') {
        Ok(s)
    } else {
        Err(DomainError::new("invalid_email", format!("«{s}» er ikke en gyldig e-postadresse.")).on("email"))
    }
}

/// A request as the requester made it, parsed and ready for the rules.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub room: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub title: BookingTitle,
    pub description: Option<String>,
    /// Show the title publicly; otherwise others see «Opptatt».
    pub public: bool,
    pub attendees: i64,
    pub org: String,
    pub contact: User,
    pub activity: Option<Activity>,
}

/// What a booking is used for: the record of an activity the department reports on. Keys
/// refer to `config/plan.toml` (kinds, themes, goal areas, measures, participant groups).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub kind: String,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub goal_areas: Vec<String>,
    #[serde(default)]
    pub measures: Vec<String>,
    /// Expected participants per participant group.
    #[serde(default)]
    pub expected: std::collections::BTreeMap<String, i64>,
}

/// The most items of one list an activity may name.
pub const MAX_ACTIVITY_ITEMS: usize = 30;

impl Activity {
    /// Check every key against the plan and the vocabulary, and every count; measures must
    /// belong to the plan in force on `date`. All problems, each on its field.
    pub fn check(&self, plan: &super::plan::Plan, date: chrono::NaiveDate) -> Vec<DomainError> {
        use super::plan::Vocabulary;
        let mut errors = Vec::new();
        let mut push = |r: Result<(), DomainError>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        push(plan.check_key(Vocabulary::Kind, &self.kind));
        push(plan.check_keys(Vocabulary::Theme, &self.themes));
        push(plan.check_keys(Vocabulary::GoalArea, &self.goal_areas));
        push(plan.check_measures(&self.measures, date));
        let groups: Vec<String> = self.expected.keys().cloned().collect();
        push(
            plan.check_keys(Vocabulary::Group, &groups)
                .map_err(|e| e.on("expected")),
        );
        push(check_counts(&self.expected, "expected"));
        if [&self.themes, &self.goal_areas, &self.measures]
            .iter()
            .any(|l| l.len() > MAX_ACTIVITY_ITEMS)
        {
            errors.push(
                DomainError::new(
                    "too_many_items",
                    format!("Velg høyst {MAX_ACTIVITY_ITEMS} temaer, målområder og tiltak hver."),
                )
                .on("activity"),
            );
        }
        errors
    }

    /// The same lists without repeats, in their first order.
    pub fn dedup(mut self) -> Self {
        for list in [&mut self.themes, &mut self.goal_areas, &mut self.measures] {
            let mut seen = std::collections::HashSet::new();
            list.retain(|k| seen.insert(k.clone()));
        }
        self
    }
}

/// Participant counts: whole numbers from 0 to 100 000.
pub fn check_counts(counts: &std::collections::BTreeMap<String, i64>, field: &'static str) -> Result<(), DomainError> {
    match counts.iter().find(|(_, n)| !(0..=100_000).contains(*n)) {
        Some((group, n)) => Err(DomainError::new(
            "invalid_count",
            format!("Antallet for «{group}» må være et helt tall fra 0 til 100 000, ikke «{n}»."),
        )
        .on(field)),
        None => Ok(()),
    }
}

/// Who came, registered after the event by its contact person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attendance {
    /// Actual participants per participant group.
    pub actual: std::collections::BTreeMap<String, i64>,
    /// A few lines on outcome and experience («utbytte og erfaringer»).
    pub outcome: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub id: i64,
    pub room: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub title: String,
    pub description: Option<String>,
    pub public: bool,
    pub attendees: i64,
    pub org: String,
    pub contact_name: String,
    pub contact_email: String,
    pub status: Status,
    pub status_reason: Option<String>,
    /// iCalendar SEQUENCE: raised on every significant change.
    pub sequence: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activity: Option<Activity>,
    pub attendance: Option<Attendance>,
    /// The series this booking is an occurrence of, and the occurrence's start by the
    /// pattern (its `RECURRENCE-ID`).
    pub series: Option<SeriesLink>,
    /// A hold's end: until then the slot is kept for the one the waitlist offered it to.
    pub held_until: Option<DateTime<Utc>>,
    /// When the contact checked in (tiers with check-in).
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// Which occurrence of which series a booking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLink {
    pub series_id: i64,
    pub recurrence_id: DateTime<Utc>,
}

impl Booking {
    /// The title others may see.
    pub fn public_title(&self) -> &str {
        // A hold is not an event yet: others see the slot as busy.
        if self.public && self.status != Status::Held {
            &self.title
        } else {
            "Opptatt"
        }
    }
}

/// One line of a booking's history.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_cycle() {
        use Status::*;
        assert!(Pending.can_become(Confirmed) && Pending.can_become(Rejected) && Pending.can_become(Cancelled));
        assert!(Confirmed.can_become(Cancelled) && Confirmed.can_become(Displaced));
        assert!(
            !Confirmed.can_become(Rejected) && !Cancelled.can_become(Confirmed) && !Displaced.can_become(Confirmed)
        );
        assert!(!Rejected.can_become(Pending));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Ok(s));
        }
        assert_eq!(Status::parse("done").unwrap_err().code, "invalid_status");
    }

    #[test]
    fn titles_and_emails_parse() {
        assert_eq!(
            BookingTitle::parse("  Arbeidsverksted  ").unwrap().as_str(),
            "Arbeidsverksted"
        );
        assert_eq!(BookingTitle::parse(" ").unwrap_err().code, "invalid_title");
        assert_eq!(BookingTitle::parse("a\rb").unwrap_err().code, "invalid_title");
        assert_eq!(BookingTitle::parse(&"x".repeat(201)).unwrap_err().code, "invalid_title");
        assert_eq!(parse_email(" Kari.Nordmann@UiB.no ").unwrap(), "kari.nordmann@uib.no");
        assert!(parse_email("kari").is_err());
        assert!(parse_email("kari@").is_err());
        assert_eq!(parse_description(Some("a\r\nb\r")).unwrap().as_deref(), Some("a\nb"));
    }
}
