//! iCalendar output: invitations (iMIP: METHOD:REQUEST / METHOD:CANCEL), booking downloads and
//! calendar feeds (METHOD:PUBLISH). Times are written in Europe/Oslo with its VTIMEZONE, so a
//! booking at 09.00 reads as 09.00 on both sides of a DST change.
//!
//! Built with the `icalendar` crate, then cleaned: text is stripped of CR and control
//! characters before it goes in, and the output is re-folded so no line exceeds 75 octets
//! (RFC 5545 §3.1).

use chrono::{DateTime, Utc};
use icalendar::{Calendar, CalendarDateTime, Component, EventLike, Property};

use crate::domain::time::{local, TZ};
use crate::domain::{Booking, Status};

/// Europe/Oslo (EU rules since 1996: last Sunday of March and of October). Inserted as text:
/// the `icalendar` crate has no VTIMEZONE type, and a parsed component gains a UID and a
/// DTSTAMP that a VTIMEZONE must not have.
const VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\n\
TZID:Europe/Oslo\r\n\
X-LIC-LOCATION:Europe/Oslo\r\n\
BEGIN:DAYLIGHT\r\n\
TZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\n\
TZNAME:CEST\r\n\
DTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\n\
BEGIN:STANDARD\r\n\
TZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\n\
TZNAME:CET\r\n\
DTSTART:19701025T030000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\n\
END:VTIMEZONE\r\n";

const PRODID: &str = "-//Bergen kommune//Borgertun booking//NO";

/// The iTIP method of a calendar object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An invitation, or an update of one (same UID, higher SEQUENCE).
    Request,
    /// The event is off (cancelled or displaced).
    Cancel,
    /// A feed or a download: no scheduling.
    Publish,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
            Method::Publish => "PUBLISH",
        }
    }
}

/// Who and where, for every event.
#[derive(Debug, Clone)]
pub struct Context {
    /// Domain part of UIDs, e.g. `borgertun.bergen.kommune.no`.
    pub uid_domain: String,
    /// The service's own address: the ORGANIZER.
    pub organizer_email: String,
    pub organizer_name: String,
    /// Room name and address, e.g. «Borgertun, Årstadveien 17, 5009 Bergen».
    pub location: String,
}

/// The stable UID of a booking's event.
pub fn uid(booking_id: i64, domain: &str) -> String {
    format!("booking-{booking_id}@{domain}")
}

/// The stable UID of a series' recurring event; its occurrences' invitations carry it with
/// their `RECURRENCE-ID`.
pub fn series_uid(series_id: i64, domain: &str) -> String {
    format!("series-{series_id}@{domain}")
}

/// A local time in Oslo with its TZID, as DTSTART, EXDATE and RECURRENCE-ID are written.
fn oslo_time(t: DateTime<Utc>) -> String {
    local(t).format("%Y%m%dT%H%M%S").to_string()
}

/// The `RECURRENCE-ID` of a series occurrence: its start by the pattern, in Oslo time.
fn recurrence_id(link: crate::domain::SeriesLink) -> Property {
    Property::new("RECURRENCE-ID", oslo_time(link.recurrence_id))
        .add_parameter("TZID", TZ.name())
        .done()
}

/// How much of a booking an event shows: the domain's view rule.
pub use crate::domain::View;

/// One booking as an event.
pub struct EventInput<'a> {
    pub booking: &'a Booking,
    pub org_name: &'a str,
    pub view: View,
    /// Extra text first in DESCRIPTION (a reason, alternatives).
    pub note: Option<&'a str>,
    /// Link to the booking, last in DESCRIPTION.
    pub url: Option<&'a str>,
}

/// Strip what must not reach a content line: CR, and control characters other than LF and TAB.
pub fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect()
}

/// A CN parameter value: no double quotes, no control characters (RFC 5545 §3.2).
fn clean_param(s: &str) -> String {
    clean(s).replace(['"', '\n'], " ").trim().to_string()
}

fn status(method: Method, status: Status) -> &'static str {
    match (method, status) {
        (Method::Cancel, _)
        | (_, Status::Cancelled | Status::Displaced | Status::Rejected | Status::Lapsed | Status::NoShow) => {
            "CANCELLED"
        }
        (_, Status::Pending | Status::Held) => "TENTATIVE",
        (_, Status::Confirmed) => "CONFIRMED",
    }
}

/// The DESCRIPTION of an event: the note, then what the view shows, then the link.
fn description(input: &EventInput) -> String {
    let b = input.booking;
    let mut parts = Vec::new();
    if let Some(note) = input.note {
        parts.push(clean(note));
    }
    if input.view == View::Full {
        if let Some(d) = &b.description {
            parts.push(clean(d));
        }
    }
    parts.push(format!("Virksomhet: {}", clean(input.org_name)));
    if input.view == View::Full {
        parts.push(format!(
            "Kontaktperson: {} <{}>",
            clean(&b.contact_name),
            clean(&b.contact_email)
        ));
        parts.push(format!("Antall deltakere: {}", b.attendees));
    }
    if let Some(url) = input.url {
        parts.push(url.to_string());
    }
    parts.join("\n\n")
}

/// A booking as an `icalendar` event: invitations use it, and it is the reference that the
/// fast feed writer (`feed_event`) is tested against.
fn event(input: &EventInput, ctx: &Context, method: Method, dtstamp: DateTime<Utc>) -> icalendar::Event {
    let b = input.booking;
    let mut e = icalendar::Event::new();
    e.uid(&uid(b.id, &ctx.uid_domain));
    e.sequence(b.sequence.max(0) as u32);
    e.timestamp(dtstamp);
    e.starts(CalendarDateTime::WithTimezone {
        date_time: local(b.start).naive_local(),
        tzid: TZ.name().into(),
    });
    e.ends(CalendarDateTime::WithTimezone {
        date_time: local(b.end).naive_local(),
        tzid: TZ.name().into(),
    });
    e.location(&clean(&ctx.location));
    e.add_property("TRANSP", "OPAQUE");
    e.created(b.created_at);
    e.last_modified(b.updated_at);
    e.add_property("STATUS", status(method, b.status));
    let organizer = Property::new("ORGANIZER", format!("mailto:{}", ctx.organizer_email))
        .add_parameter("CN", &clean_param(&ctx.organizer_name))
        .done();
    e.append_property(organizer);
    e.summary(&clean(input.view.title(b)));
    match input.view {
        View::Full => {
            e.class(if b.public {
                icalendar::Class::Public
            } else {
                icalendar::Class::Private
            });
            if method != Method::Publish {
                let attendee = Property::new("ATTENDEE", format!("mailto:{}", b.contact_email))
                    .add_parameter("CN", &clean_param(&b.contact_name))
                    .add_parameter("ROLE", "REQ-PARTICIPANT")
                    .add_parameter("PARTSTAT", "ACCEPTED")
                    .add_parameter("RSVP", "FALSE")
                    .done();
                e.append_multi_property(attendee);
            }
        }
        View::Public => {
            e.class(icalendar::Class::Public);
        }
    }
    if let Some(url) = input.url {
        e.url(url);
    }
    e.description(&description(input));
    e.done()
}

fn calendar(method: Method) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("PRODID", PRODID));
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.append_property(Property::new("METHOD", method.as_str()));
    cal
}

/// An invitation or cancellation for one booking (iMIP). An occurrence of a series is the
/// series' event (its UID) with the occurrence's `RECURRENCE-ID`: a change or cancellation of
/// that one instance.
pub fn invitation(input: &EventInput, ctx: &Context, method: Method, dtstamp: DateTime<Utc>) -> String {
    let mut cal = calendar(method);
    let mut e = event(input, ctx, method, dtstamp);
    if let Some(link) = input.booking.series {
        e.uid(&series_uid(link.series_id, &ctx.uid_domain));
        e.append_property(recurrence_id(link));
    }
    cal.push(e);
    finish(&cal)
}

/// A series as one recurring event.
pub struct SeriesEvent<'a> {
    /// The series' fields as a booking: its first occurrence's time, title, contact, and the
    /// series' SEQUENCE.
    pub template: EventInput<'a>,
    pub series_id: i64,
    /// The normalised RRULE value.
    pub rrule: &'a str,
    /// The pattern's occurrences that are not in the calendar (skipped, declined, cancelled):
    /// their recurrence ids.
    pub exdates: &'a [DateTime<Utc>],
    /// Occurrences whose time differs from the pattern's, each as its own booking (with its
    /// series link): written as overrides with `RECURRENCE-ID`.
    pub overrides: &'a [EventInput<'a>],
}

/// The invitation (REQUEST) or cancellation (CANCEL) of a whole series: one VEVENT with the
/// RRULE and its EXDATEs, `DTSTART;TZID=Europe/Oslo`, one UID, and an override per moved
/// occurrence.
pub fn series_invitation(s: &SeriesEvent, ctx: &Context, method: Method, dtstamp: DateTime<Utc>) -> String {
    let mut cal = calendar(method);
    let mut master = event(&s.template, ctx, method, dtstamp);
    let uid = series_uid(s.series_id, &ctx.uid_domain);
    master.uid(&uid);
    master.add_property("RRULE", s.rrule);
    if !s.exdates.is_empty() {
        let dates: Vec<String> = s.exdates.iter().map(|t| oslo_time(*t)).collect();
        master.append_multi_property(
            Property::new("EXDATE", dates.join(","))
                .add_parameter("TZID", TZ.name())
                .done(),
        );
    }
    cal.push(master);
    if method != Method::Cancel {
        for o in s.overrides {
            let mut e = event(o, ctx, method, dtstamp);
            e.uid(&uid);
            if let Some(link) = o.booking.series {
                e.append_property(recurrence_id(link));
            }
            cal.push(e);
        }
    }
    finish(&cal)
}

/// A feed's header.
pub struct FeedInfo<'a> {
    pub name: &'a str,
    /// How often clients should refresh, in minutes.
    pub refresh_minutes: i64,
}

/// The end of a feed.
const FEED_END: &str = "END:VCALENDAR\r\n";

/// A feed's header: the calendar's properties and the VTIMEZONE, up to its first event.
fn feed_header(info: &FeedInfo) -> String {
    let mut cal = calendar(Method::Publish);
    cal.append_property(Property::new("X-WR-CALNAME", clean(info.name)));
    cal.append_property(Property::new("X-WR-TIMEZONE", TZ.name()));
    let ttl = format!("PT{}M", info.refresh_minutes.max(1));
    cal.append_property(
        Property::new("REFRESH-INTERVAL", &ttl)
            .add_parameter("VALUE", "DURATION")
            .done(),
    );
    cal.append_property(Property::new("X-PUBLISHED-TTL", ttl));
    let mut out = finish(&cal);
    out.truncate(out.len() - FEED_END.len());
    out
}

/// One feed event (`BEGIN:VEVENT` … `END:VEVENT`), folded. Its DTSTAMP is the booking's last
/// change, so the text changes only when the booking does.
///
/// Feeds hold thousands of events, so this writes the content lines directly instead of going
/// through `icalendar`'s component model, which costs several times as much. The output is the
/// same, byte for byte, as `icalendar` renders `event()`: a property test holds the two together.
pub fn feed_event(input: &EventInput, ctx: &Context) -> String {
    use std::fmt::Write;
    let b = input.booking;
    let mut out = String::with_capacity(700);
    let mut line = String::with_capacity(256);
    let emit = |out: &mut String, line: &mut String| {
        fold_line(out, line);
        line.clear();
    };
    let utc = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ");
    let oslo = |t: DateTime<Utc>| local(t).format("%Y%m%dT%H%M%S");
    out.push_str("BEGIN:VEVENT\r\n");
    let public = input.view == View::Public || b.public;
    line.push_str(if public { "CLASS:PUBLIC" } else { "CLASS:PRIVATE" });
    emit(&mut out, &mut line);
    let _ = write!(line, "CREATED:{}", utc(b.created_at));
    emit(&mut out, &mut line);
    line.push_str("DESCRIPTION:");
    escape_into(&mut line, &description(input));
    emit(&mut out, &mut line);
    let _ = write!(line, "DTEND;TZID={}:{}", TZ.name(), oslo(b.end));
    emit(&mut out, &mut line);
    let _ = write!(line, "DTSTAMP:{}", utc(b.updated_at));
    emit(&mut out, &mut line);
    let _ = write!(line, "DTSTART;TZID={}:{}", TZ.name(), oslo(b.start));
    emit(&mut out, &mut line);
    let _ = write!(line, "LAST-MODIFIED:{}", utc(b.updated_at));
    emit(&mut out, &mut line);
    line.push_str("LOCATION:");
    escape_into(&mut line, &clean(&ctx.location));
    emit(&mut out, &mut line);
    let cn = clean_param(&ctx.organizer_name);
    if cn.contains([':', ';', ',']) {
        let _ = write!(line, "ORGANIZER;CN=\"{cn}\":mailto:{}", ctx.organizer_email);
    } else {
        let _ = write!(line, "ORGANIZER;CN={cn}:mailto:{}", ctx.organizer_email);
    }
    emit(&mut out, &mut line);
    let _ = write!(line, "SEQUENCE:{}", b.sequence.max(0));
    emit(&mut out, &mut line);
    let _ = write!(line, "STATUS:{}", status(Method::Publish, b.status));
    emit(&mut out, &mut line);
    line.push_str("SUMMARY:");
    escape_into(&mut line, &clean(input.view.title(b)));
    emit(&mut out, &mut line);
    line.push_str("TRANSP:OPAQUE");
    emit(&mut out, &mut line);
    line.push_str("UID:");
    escape_into(&mut line, &uid(b.id, &ctx.uid_domain));
    emit(&mut out, &mut line);
    if let Some(url) = input.url {
        let _ = write!(line, "URL:{url}");
        emit(&mut out, &mut line);
    }
    out.push_str("END:VEVENT\r\n");
    out
}

/// RFC 5545 TEXT escaping, as `icalendar` does it.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The reference rendering of a feed event, through `icalendar`.
#[cfg(test)]
fn feed_event_reference(input: &EventInput, ctx: &Context) -> String {
    let mut s = String::new();
    refold_into(
        &mut s,
        &event(input, ctx, Method::Publish, input.booking.updated_at).to_string(),
    );
    s
}

/// Many feed events, in order, rendered on every core.
pub fn feed_events(events: &[EventInput], ctx: &Context) -> Vec<String> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if events.len() < 200 || threads == 1 {
        return events.iter().map(|e| feed_event(e, ctx)).collect();
    }
    let size = events.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = events
            .chunks(size)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|e| feed_event(e, ctx)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("feed rendering thread"))
            .collect()
    })
}

/// A calendar feed. An unchanged feed is byte-identical.
pub fn feed(info: &FeedInfo, events: &[EventInput], ctx: &Context) -> String {
    feed_of_events(info, &feed_events(events, ctx))
}

/// A calendar feed of events already written by `feed_event` (or `feed_events`), in order.
pub fn feed_of_events<E: AsRef<str>>(info: &FeedInfo, events: &[E]) -> String {
    let mut out = feed_header(info);
    out.reserve(events.iter().map(|e| e.as_ref().len()).sum::<usize>() + FEED_END.len());
    for e in events {
        out.push_str(e.as_ref());
    }
    out.push_str(FEED_END);
    out
}

/// Render, add the VTIMEZONE before the first component, and re-fold every line.
fn finish(cal: &Calendar) -> String {
    let raw = cal.to_string();
    let mut out = String::with_capacity(raw.len() + raw.len() / 50 + VTIMEZONE.len());
    let at = raw
        .find("\r\nBEGIN:V")
        .or_else(|| raw.rfind("\r\nEND:VCALENDAR"))
        .map(|i| i + 2)
        .unwrap_or(raw.len());
    refold_into(&mut out, &raw[..at]);
    out.push_str(VTIMEZONE);
    refold_into(&mut out, &raw[at..]);
    out
}

/// Unfold `text` (CRLF-separated content lines, possibly folded) and fold every content line
/// again to at most 75 octets, never inside a UTF-8 character (RFC 5545 §3.1).
fn refold_into(out: &mut String, text: &str) {
    let mut line = String::new();
    for piece in text.split("\r\n") {
        if let Some(rest) = piece.strip_prefix([' ', '\t']) {
            line.push_str(rest);
            continue;
        }
        if !line.is_empty() {
            fold_line(out, &line);
        }
        line.clear();
        line.push_str(piece);
    }
    if !line.is_empty() {
        fold_line(out, &line);
    }
}

/// Append `line` to `out` folded to at most 75 octets a line, never inside a UTF-8
/// character, and ended with CRLF.
pub fn fold_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at_local;
    use chrono::{NaiveDate, NaiveTime};

    fn booking() -> Booking {
        let start = at_local(
            NaiveDate::from_ymd_opt(2027, 3, 30).unwrap(),
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        )
        .unwrap();
        Booking {
            id: 42,
            room: "borgertun".into(),
            start,
            end: start + chrono::Duration::hours(2),
            blocked_until: start + chrono::Duration::minutes(135),
            title: "Arbeidsverksted: «pårørende» \"og\" brukere\r\nmed linjeskift".into(),
            description: Some("Lang beskrivelse; med komma, semikolon og æøå. ".repeat(10)),
            public: true,
            attendees: 30,
            org: "beho".into(),
            contact_name: "Per \"Pelle\" Hansen".into(),
            contact_email: "per@bergen.kommune.no".into(),
            status: Status::Confirmed,
            status_reason: None,
            sequence: 3,
            created_at: start - chrono::Duration::days(20),
            updated_at: start - chrono::Duration::days(10),
            activity: None,
            attendance: None,
            series: None,
            held_until: None,
            checked_in_at: None,
        }
    }

    fn ctx() -> Context {
        Context {
            uid_domain: "borgertun.bergen.kommune.no".into(),
            organizer_email: "borgertun@bergen.kommune.no".into(),
            organizer_name: "Borgertun booking".into(),
            location: "Borgertun, Årstadveien 17, 5009 Bergen".into(),
        }
    }

    #[test]
    fn invitation_has_method_uid_sequence_local_times_and_clean_lines() {
        let b = booking();
        let ics = invitation(
            &EventInput {
                booking: &b,
                org_name: "BEHO",
                view: View::Full,
                note: None,
                url: None,
            },
            &ctx(),
            Method::Request,
            b.updated_at,
        );
        assert!(ics.contains("METHOD:REQUEST\r\n"));
        assert!(ics.contains("UID:booking-42@borgertun.bergen.kommune.no\r\n"));
        assert!(ics.contains("SEQUENCE:3\r\n"));
        assert!(ics.contains("DTSTART;TZID=Europe/Oslo:20270330T090000\r\n"), "{ics}");
        assert!(ics.contains("BEGIN:VTIMEZONE"));
        assert!(ics.contains("STATUS:CONFIRMED"));
        assert!(ics.contains("ATTENDEE;"));
        assert!(
            ics.contains("CN=Per  Pelle  Hansen")
                || ics.contains("CN=Per Pelle Hansen")
                || ics.contains("CN=\"Per  Pelle  Hansen\""),
            "{ics}"
        );
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "too long: {line:?}");
            assert!(!line.contains('\r') && !line.contains('\n'));
        }
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn folding_keeps_characters_whole_and_lines_short() {
        let mut out = String::new();
        let long = format!("DESCRIPTION:{}", "æøå ".repeat(40));
        refold_into(&mut out, &format!("{long}\r\nSUMMARY:x\r\n"));
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(out.replace("\r\n ", ""), format!("{long}\r\nSUMMARY:x\r\n"));
        // A big feed renders in parallel chunks, in order.
        let b = booking();
        let many: Vec<Booking> = (0..500).map(|i| Booking { id: i, ..b.clone() }).collect();
        let inputs: Vec<EventInput> = many
            .iter()
            .map(|b| EventInput {
                booking: b,
                org_name: "BEHO",
                view: View::Public,
                note: None,
                url: None,
            })
            .collect();
        let f = feed(
            &FeedInfo {
                name: "Borgertun",
                refresh_minutes: 60,
            },
            &inputs,
            &ctx(),
        );
        let uids: Vec<&str> = f.split("\r\n").filter(|l| l.starts_with("UID:")).collect();
        assert_eq!(uids.len(), 500);
        assert_eq!(uids[0], "UID:booking-0@borgertun.bergen.kommune.no");
        assert_eq!(uids[499], "UID:booking-499@borgertun.bergen.kommune.no");
        assert!(f.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert_eq!(f.matches("BEGIN:VTIMEZONE").count(), 1);
    }

    proptest::proptest! {
        /// The fast feed writer and `icalendar` agree to the byte, whatever the text holds.
        #[test]
        fn feed_writer_matches_icalendar(
            title in "[a-zæøåA-Z0-9 ,;:\\\\\"\n\r\t.«»-]{1,120}",
            description in proptest::option::of("[a-zæøå0-9 ,;:\\\\\"\n\r.-]{0,300}"),
            org in "[A-Za-zæøå (),;]{1,60}",
            organizer in "[A-Za-z ,;:\"]{1,30}",
            public in proptest::bool::ANY,
            full in proptest::bool::ANY,
            with_url in proptest::bool::ANY,
            sequence in 0i64..20,
            status in 0usize..5,
        ) {
            let mut b = booking();
            b.title = title;
            b.description = description;
            b.public = public;
            b.sequence = sequence;
            b.status = Status::ALL[status];
            let mut c = ctx();
            c.organizer_name = organizer;
            let url = "https://borgertun.example/api/v1/bookings/42";
            let input = EventInput { booking: &b, org_name: &org, view: if full { View::Full } else { View::Public }, note: None, url: with_url.then_some(url) };
            proptest::prop_assert_eq!(feed_event(&input, &c), feed_event_reference(&input, &c));
        }
    }

    #[test]
    fn cancel_and_publish() {
        let mut b = booking();
        b.status = Status::Displaced;
        let ics = invitation(
            &EventInput {
                booking: &b,
                org_name: "BEHO",
                view: View::Full,
                note: Some("Begrunnelse: x"),
                url: None,
            },
            &ctx(),
            Method::Cancel,
            b.updated_at,
        );
        assert!(ics.contains("METHOD:CANCEL\r\n") && ics.contains("STATUS:CANCELLED\r\n"));
        b.public = false;
        b.status = Status::Confirmed;
        let f = feed(
            &FeedInfo {
                name: "Borgertun",
                refresh_minutes: 60,
            },
            &[EventInput {
                booking: &b,
                org_name: "BEHO",
                view: View::Public,
                note: None,
                url: None,
            }],
            &ctx(),
        );
        assert!(
            f.contains("METHOD:PUBLISH")
                && f.contains("SUMMARY:Opptatt")
                && !f.contains("per@bergen")
                && !f.contains("ATTENDEE")
        );
        assert!(
            f.contains("X-WR-CALNAME:Borgertun")
                && f.contains("X-WR-TIMEZONE:Europe/Oslo")
                && f.contains("REFRESH-INTERVAL;VALUE=DURATION:PT60M")
        );
        assert_eq!(
            f,
            feed(
                &FeedInfo {
                    name: "Borgertun",
                    refresh_minutes: 60
                },
                &[EventInput {
                    booking: &b,
                    org_name: "BEHO",
                    view: View::Public,
                    note: None,
                    url: None
                }],
                &ctx()
            )
        );
    }
}
