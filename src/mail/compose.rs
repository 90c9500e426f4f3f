//! The messages people get, in Norwegian: each as plain text and HTML from one `Letter`, with
//! an iCalendar part where the event enters, moves in or leaves their calendar.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use crate::calendar::{self, EventInput, Method, View};
use crate::config::MailConfig;
use crate::domain::policy::Slot;
use crate::domain::series::{OccurrenceOutcome, OutcomeStatus, Series, SeriesDetail};
use crate::domain::time::{format_range, format_time, local};
use crate::domain::{Booking, Rules, Status};
use crate::store::{NewAccessRequest, NewMessage};

/// What a letter says, rendered both as text and as HTML.
#[derive(Debug, Default)]
struct Letter {
    heading: String,
    paragraphs: Vec<String>,
    details: Vec<(&'static str, String)>,
    list_title: Option<String>,
    list: Vec<String>,
    /// Where each item of `list` links to, in the same order, when the items are links.
    list_links: Vec<String>,
    link: Option<(String, String)>,
}

impl Letter {
    fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.heading);
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        for (label, value) in &self.details {
            out.push_str(&format!("{label}: {value}\n"));
        }
        if !self.details.is_empty() {
            out.push('\n');
        }
        if let Some(title) = &self.list_title {
            out.push_str(title);
            out.push('\n');
            for (i, item) in self.list.iter().enumerate() {
                match self.list_links.get(i) {
                    Some(url) => out.push_str(&format!("- {item}: {url}\n")),
                    None => out.push_str(&format!("- {item}\n")),
                }
            }
            out.push('\n');
        }
        if let Some((text, url)) = &self.link {
            out.push_str(&format!("{text}: {url}\n\n"));
        }
        out.push_str("Hilsen\nBorgertun booking, Bergen kommune\n");
        out
    }

    fn html(&self) -> String {
        let page: Markup = html! {
            (DOCTYPE)
            html lang="nb" {
                head { meta charset="utf-8"; title { (self.heading) } }
                body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #1a1a1a; max-width: 40em;" {
                    h1 style="font-size: 1.3em;" { (self.heading) }
                    @for p in &self.paragraphs { p { (p) } }
                    @if !self.details.is_empty() {
                        table role="presentation" style="border-collapse: collapse;" {
                            @for (label, value) in &self.details {
                                tr {
                                    th scope="row" style="text-align: left; padding: 0.2em 1em 0.2em 0; vertical-align: top;" { (label) }
                                    td style="padding: 0.2em 0;" { (value) }
                                }
                            }
                        }
                    }
                    @if let Some(title) = &self.list_title {
                        p { (title) }
                        ul {
                            @for (i, item) in self.list.iter().enumerate() {
                                li {
                                    @if let Some(url) = self.list_links.get(i) { a href=(url) { (item) } } @else { (item) }
                                }
                            }
                        }
                    }
                    @if let Some((text, url)) = &self.link {
                        p { a href=(url) { (text) } }
                    }
                    p { "Hilsen" br; "Borgertun booking, Bergen kommune" }
                }
            }
        };
        page.into_string()
    }
}

/// Composes the messages; knows the rules (names), the mail settings and the public URL.
pub struct Composer<'a> {
    pub rules: &'a Rules,
    pub mail: &'a MailConfig,
    pub public_url: &'a str,
}

impl Composer<'_> {
    fn org_name<'b>(&'b self, b: &'b Booking) -> &'b str {
        self.rules.org_name(&b.org)
    }

    /// A room's name and address, e.g. «Borgertun, Årstadveien 17, 5009 Bergen».
    fn room_line(&self, room: &str) -> String {
        self.rules.room_place(room)
    }

    fn room_name(&self, b: &Booking) -> String {
        self.rules.room_name(&b.room).to_string()
    }

    pub fn booking_url(&self, id: i64) -> String {
        format!("{}/bookinger/{id}", self.public_url)
    }

    pub fn conflicts_url(&self) -> String {
        format!("{}/koordinator", self.public_url)
    }

    /// ORGANIZER, UID domain and LOCATION for the events of `room`: invitations, downloads and
    /// feeds.
    pub fn calendar_context(&self, room: &str) -> calendar::Context {
        calendar::Context {
            uid_domain: self.mail.uid_domain.clone(),
            organizer_email: self.mail.from.email.to_string(),
            organizer_name: self
                .mail
                .from
                .name
                .clone()
                .unwrap_or_else(|| "Borgertun booking".into()),
            location: self.room_line(room),
        }
    }

    fn ics(&self, b: &Booking, method: Method, note: Option<&str>, now: DateTime<Utc>) -> (Method, String) {
        let url = self.booking_url(b.id);
        let input = EventInput {
            booking: b,
            org_name: self.org_name(b),
            view: View::Full,
            note,
            url: Some(&url),
        };
        (
            method,
            calendar::invitation(&input, &self.calendar_context(&b.room), method, now),
        )
    }

    fn details(&self, b: &Booking) -> Vec<(&'static str, String)> {
        vec![
            ("Tittel", b.title.clone()),
            ("Tid", format_range(b.start, b.end)),
            ("Sted", self.room_line(&b.room)),
            ("Virksomhet", self.org_name(b).to_string()),
            ("Kontaktperson", format!("{} <{}>", b.contact_name, b.contact_email)),
            ("Antall deltakere", b.attendees.to_string()),
            ("Status", b.status.norwegian().to_string()),
        ]
    }

    /// A letter about a booking: «{heading}: {title}», the paragraphs, the booking's details and,
    /// with a label, a link to it.
    fn about(&self, heading: &str, b: &Booking, paragraphs: Vec<String>, link: Option<&str>) -> Letter {
        Letter {
            heading: format!("{heading}: {}", b.title),
            paragraphs,
            details: self.details(b),
            link: link.map(|label| (label.to_string(), self.booking_url(b.id))),
            ..Default::default()
        }
    }

    /// A subject about a booking: «{prefix}: {title} – {time}».
    fn subject(prefix: &str, b: &Booking) -> String {
        format!("{prefix}: {} – {}", b.title, format_range(b.start, b.end))
    }

    /// A letter to `to`, about booking `booking_id` if any.
    fn message(
        kind: &'static str,
        booking_id: Option<i64>,
        to: &str,
        subject: String,
        letter: Letter,
        ics: Option<(Method, String)>,
    ) -> NewMessage {
        NewMessage {
            kind,
            booking_id,
            recipient: to.to_string(),
            subject,
            text: letter.text(),
            html: letter.html(),
            ics,
        }
    }

    /// A letter to a booking's contact, with the subject «{prefix}: {title} – {time}».
    fn to_contact(
        &self,
        kind: &'static str,
        b: &Booking,
        prefix: &str,
        letter: Letter,
        ics: Option<(Method, String)>,
    ) -> NewMessage {
        Self::message(
            kind,
            Some(b.id),
            &b.contact_email,
            Self::subject(prefix, b),
            letter,
            ics,
        )
    }

    /// The free alternatives, each a link to the booking form filled in with that time and
    /// the details of `b`.
    fn alternatives(&self, letter: &mut Letter, b: &Booking, alternatives: &[Slot]) {
        if alternatives.is_empty() {
            letter
                .paragraphs
                .push("Vi fant ingen ledige alternativer innenfor bookingvinduet.".into());
        } else {
            letter
                .paragraphs
                .push("Velg en av de ledige tidene under, så er bookingskjemaet fylt ut med de samme opplysningene. Se over og trykk «Send forespørsel».".into());
            letter.list_title = Some("Disse tidene er ledige:".into());
            letter.list = alternatives.iter().map(|s| format_range(s.start, s.end)).collect();
            letter.list_links = alternatives.iter().map(|s| self.rebook_url(b, *s)).collect();
        }
    }

    /// The booking form, filled in with `slot` and the title, attendees, description, public
    /// title and activity of `b`: one click, then «Send forespørsel».
    pub fn rebook_url(&self, b: &Booking, slot: Slot) -> String {
        let (start, end) = (local(slot.start), local(slot.end));
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("dato", &start.date_naive().to_string())
            .append_pair("fra", &start.format("%H:%M").to_string())
            .append_pair("til", &end.format("%H:%M").to_string())
            .append_pair("tittel", &b.title)
            .append_pair("deltakere", &b.attendees.to_string());
        if let Some(d) = b.description.as_deref().filter(|d| !d.is_empty()) {
            q.append_pair("beskrivelse", d);
        }
        if !b.public {
            q.append_pair("offentlig", "nei");
        }
        if let Some(a) = &b.activity {
            q.append_pair("aktivitet", &a.kind);
            for t in &a.themes {
                q.append_pair("tema", t);
            }
            for t in &a.goal_areas {
                q.append_pair("malomrade", t);
            }
            for t in &a.measures {
                q.append_pair("tiltak", t);
            }
            for (g, n) in &a.expected {
                q.append_pair(&format!("forventet-{g}"), &n.to_string());
            }
        }
        format!("{}/booking/ny?{}", self.public_url, q.finish())
    }

    /// A sign-in link («innloggingslenke»).
    pub fn login_link(&self, email: &str, url: &str, minutes: i64) -> NewMessage {
        let letter = Letter {
            heading: "Logg inn i Borgertun booking".into(),
            paragraphs: vec![
                format!("Bruk lenken under for å logge inn. Den virker i {minutes} minutter og kan brukes én gang."),
                "Har du ikke bedt om å logge inn, kan du se bort fra denne e-posten.".into(),
            ],
            link: Some(("Logg inn".into(), url.to_string())),
            ..Default::default()
        };
        Self::message(
            "login",
            None,
            email,
            "Innloggingslenke til Borgertun booking".into(),
            letter,
            None,
        )
    }

    /// To a coordinator: someone outside the configured domains asks for access.
    pub fn access_requested(&self, coordinator: &str, r: &NewAccessRequest<'_>) -> NewMessage {
        let mut details = vec![
            ("Navn", r.name.to_string()),
            ("E-post", r.email.to_string()),
            ("Virksomhet", r.org_text.to_string()),
        ];
        if let Some(m) = r.message {
            details.push(("Melding", m.to_string()));
        }
        let letter = Letter {
            heading: "Ny forespørsel om tilgang".into(),
            paragraphs: vec![format!("{} ber om tilgang til Borgertun booking.", r.name)],
            details,
            link: Some((
                "Gi eller avslå tilgang".into(),
                format!("{}/koordinator/brukere", self.public_url),
            )),
            ..Default::default()
        };
        let subject = format!("Forespørsel om tilgang: {}", r.name);
        Self::message("access_requested", None, coordinator, subject, letter, None)
    }

    /// The answer to an access request: granted (with the organisation) or refused (with the
    /// reason).
    pub fn access_decided(&self, email: &str, granted_org: Option<&str>, reason: Option<&str>) -> NewMessage {
        let (heading, mut paragraphs, link) = match granted_org {
            Some(org) => (
                "Du har fått tilgang til Borgertun booking".to_string(),
                vec![format!("Du kan nå logge inn og booke Borgertun for {org}.")],
                Some(("Logg inn".to_string(), format!("{}/logg-inn", self.public_url))),
            ),
            None => (
                "Forespørselen om tilgang er avslått".to_string(),
                vec!["Koordinator har avslått forespørselen din om tilgang til Borgertun booking.".to_string()],
                None,
            ),
        };
        if let Some(r) = reason {
            paragraphs.push(format!("Begrunnelse: {r}"));
        }
        let subject = heading.clone();
        let letter = Letter {
            heading,
            paragraphs,
            link,
            ..Default::default()
        };
        let kind = if granted_org.is_some() {
            "access_granted"
        } else {
            "access_refused"
        };
        Self::message(kind, None, email, subject, letter, None)
    }

    /// The day after an event: ask its contact who came and what came of it.
    pub fn attendance_request(&self, b: &Booking) -> NewMessage {
        let letter = Letter {
            heading: format!("Registrer oppmøte: {}", b.title),
            paragraphs: vec![
                format!(
                    "Takk for at dere brukte {} {}. Registrer hvor mange som kom fra hver deltakergruppe, og skriv gjerne noen linjer om utbytte og erfaringer.",
                    self.room_name(b),
                    format_range(b.start, b.end)
                ),
                "Tallene brukes i rapporten til kommunaldirektørens ledergruppe om aktiviteten i Alrek helseklynge.".into(),
            ],
            link: Some((
                "Registrer oppmøte".into(),
                format!("{}/bookinger/{}/oppmote", self.public_url, b.id),
            )),
            ..Default::default()
        };
        let subject = letter.heading.clone();
        Self::message(
            "attendance_request",
            Some(b.id),
            &b.contact_email,
            subject,
            letter,
            None,
        )
    }

    /// Before a confirmed booking starts: the time, the room, a link to the booking and the
    /// single-use link to cancel it.
    pub fn reminder(&self, b: &Booking, cancel_url: &str) -> NewMessage {
        let mut paragraphs = vec![
            format!(
                "Påminnelse: {} er booket for dere {}.",
                self.room_name(b),
                format_range(b.start, b.end)
            ),
            "Trenger dere ikke rommet likevel? Avbestill med lenken under, så blir tiden ledig for andre.".into(),
        ];
        if crate::domain::checkin::required(self.rules, b) {
            let w = crate::domain::checkin::window(&self.rules.check_in, b.start);
            paragraphs.push(format!(
                "Husk å sjekke inn mellom kl. {} og kl. {}, på bookingsiden eller med lenken under. Uten innsjekking blir rommet frigitt for andre.",
                format_time(local(w.opens).time()),
                format_time(local(w.closes).time())
            ));
        }
        let mut letter = self.about("Påminnelse", b, paragraphs, Some("Se bookingen"));
        letter.list_title = Some("Avbestill med ett klikk:".into());
        letter.list = vec!["Jeg trenger ikke rommet likevel".into()];
        letter.list_links = vec![cancel_url.to_string()];
        self.to_contact("reminder", b, "Påminnelse", letter, None)
    }

    /// Released as a no-show: nobody checked in by the release time. CANCEL, with why.
    pub fn released(&self, b: &Booking, now: DateTime<Utc>) -> NewMessage {
        let reason = crate::domain::checkin::release_reason(&self.rules.check_in);
        let paragraphs = vec![
            format!(
                "Bookingen av {} {} er frigitt fordi ingen sjekket inn innen {} minutter etter start.",
                self.room_name(b),
                format_range(b.start, b.end),
                self.rules.check_in.release_minutes
            ),
            "Resten av tiden er ledig for andre. Trenger dere rommet likevel, kan dere booke det på nytt hvis det fortsatt er ledig.".into(),
            format!("Begrunnelse: {reason}"),
        ];
        let letter = self.about("Bookingen er frigitt", b, paragraphs, Some("Se bookingen"));
        let ics = self.ics(b, Method::Cancel, Some(&reason), now);
        self.to_contact("released", b, "Frigitt", letter, Some(ics))
    }

    /// Booked at once: the invitation.
    pub fn confirmed(&self, b: &Booking, now: DateTime<Utc>) -> NewMessage {
        let paragraph = format!(
            "{} er booket for dere {}. Invitasjonen ligger ved, slik at den kommer i kalenderen.",
            self.room_name(b),
            format_range(b.start, b.end)
        );
        let letter = self.about("Bookingen er bekreftet", b, vec![paragraph], Some("Se bookingen"));
        let ics = self.ics(b, Method::Request, None, now);
        self.to_contact("confirmed", b, "Bekreftet", letter, Some(ics))
    }

    /// A request waiting for the coordinator.
    pub fn pending(&self, b: &Booking, in_conflict: bool) -> NewMessage {
        let mut paragraphs = vec![
            "Forespørselen din er til behandling hos koordinator. Du får en ny e-post når den er avgjort.".to_string(),
        ];
        if in_conflict {
            paragraphs.push("Tiden overlapper en annen booking eller forespørsel, og koordinator avgjør etter prioriteringsreglene hvem som får rommet.".into());
        }
        let letter = self.about("Forespørselen er mottatt", b, paragraphs, Some("Se forespørselen"));
        self.to_contact("pending", b, "Til behandling", letter, None)
    }

    /// To a coordinator: a request competes with other bookings.
    pub fn conflict(&self, request: &Booking, others: &[Booking], coordinator: &str) -> NewMessage {
        let tier = |b: &Booking| {
            self.rules
                .tier_of_org(&b.org)
                .map(|t| t.name.clone())
                .unwrap_or_default()
        };
        let mut details = vec![(
            "Forespørsel",
            format!("{} ({}, {})", request.title, self.org_name(request), tier(request)),
        )];
        details.extend(self.details(request).into_iter().skip(1));
        let letter = Letter {
            heading: format!(
                "Konflikt i {}: {}",
                self.room_name(request),
                format_range(request.start, request.end)
            ),
            paragraphs: vec!["En forespørsel overlapper andre bookinger. Avgjør hvem som skal få rommet.".into()],
            details,
            list_title: Some("Den overlapper:".into()),
            list: others
                .iter()
                .map(|o| {
                    format!(
                        "{} – {} ({}, {}), {}, {}",
                        o.title,
                        self.org_name(o),
                        tier(o),
                        o.status.norwegian(),
                        format_range(o.start, o.end),
                        o.contact_email
                    )
                })
                .collect(),
            list_links: vec![],
            link: Some(("Gå til konfliktene".into(), self.conflicts_url())),
        };
        let subject = Self::subject("Konflikt", request);
        Self::message("conflict", Some(request.id), coordinator, subject, letter, None)
    }

    /// Approved by the coordinator: the invitation, with a higher SEQUENCE.
    pub fn approved(&self, b: &Booking, now: DateTime<Utc>) -> NewMessage {
        let paragraph = format!(
            "Koordinator har godkjent forespørselen. {} er booket for dere {}.",
            self.room_name(b),
            format_range(b.start, b.end)
        );
        let letter = self.about("Forespørselen er godkjent", b, vec![paragraph], Some("Se bookingen"));
        let ics = self.ics(b, Method::Request, None, now);
        self.to_contact("approved", b, "Godkjent", letter, Some(ics))
    }

    /// Rejected: the reason and the alternatives. The request never entered a calendar.
    pub fn rejected(&self, b: &Booking, reason: &str, alternatives: &[Slot]) -> NewMessage {
        let paragraphs = vec![
            format!(
                "Forespørselen om {} {} er avslått.",
                self.room_name(b),
                format_range(b.start, b.end)
            ),
            format!("Begrunnelse: {reason}"),
        ];
        let mut letter = self.about("Forespørselen er avslått", b, paragraphs, None);
        self.alternatives(&mut letter, b, alternatives);
        // A single request never entered a calendar; an occurrence is in its series' event.
        let ics = b
            .series
            .map(|_| self.ics(b, Method::Cancel, Some(reason), b.updated_at));
        self.to_contact("rejected", b, "Avslått", letter, ics)
    }

    /// Displaced by a higher priority: CANCEL with the reason and the alternatives.
    pub fn displaced(&self, b: &Booking, reason: &str, alternatives: &[Slot], now: DateTime<Utc>) -> NewMessage {
        let paragraphs = vec![
            "Bookingen er trukket tilbake fordi rommet er tildelt en booking med høyere prioritet.".into(),
            format!("Begrunnelse: {reason}"),
        ];
        let mut letter = self.about("Bookingen er trukket tilbake", b, paragraphs, None);
        self.alternatives(&mut letter, b, alternatives);
        let note = format!("Trukket tilbake. Begrunnelse: {reason}");
        let ics = self.ics(b, Method::Cancel, Some(&note), now);
        self.to_contact("displaced", b, "Trukket tilbake", letter, Some(ics))
    }

    /// Cancelled by the booker or the coordinator. A confirmed booking leaves the calendar
    /// (CANCEL); a withdrawn request never entered it.
    pub fn cancelled(&self, b: &Booking, was_confirmed: bool, reason: Option<&str>, now: DateTime<Utc>) -> NewMessage {
        let mut paragraphs = vec![format!(
            "Bookingen av {} {} er avbestilt.",
            self.room_name(b),
            format_range(b.start, b.end)
        )];
        if let Some(r) = reason {
            paragraphs.push(format!("Begrunnelse: {r}"));
        }
        let letter = self.about("Avbestilt", b, paragraphs, None);
        let in_calendar = was_confirmed || b.series.is_some();
        let ics = in_calendar.then(|| self.ics(b, Method::Cancel, reason, now));
        self.to_contact("cancelled", b, "Avbestilt", letter, ics)
    }

    /// Moved: the same UID with a higher SEQUENCE and the new time.
    pub fn moved(&self, b: &Booking, old: Slot, now: DateTime<Utc>) -> NewMessage {
        let confirmed = b.status == crate::domain::Status::Confirmed || b.series.is_some();
        let paragraph = format!(
            "Bookingen er flyttet fra {} til {}.",
            format_range(old.start, old.end),
            format_range(b.start, b.end)
        );
        let letter = self.about("Bookingen er flyttet", b, vec![paragraph], Some("Se bookingen"));
        let ics = confirmed.then(|| self.ics(b, Method::Request, None, now));
        self.to_contact("moved", b, "Flyttet", letter, ics)
    }

    pub fn series_url(&self, id: i64) -> String {
        format!("{}/serier/{id}", self.public_url)
    }

    /// The series as one recurring event: the RRULE, an EXDATE for every occurrence not in
    /// the calendar, an override for every occurrence whose time differs from the pattern's.
    fn series_ics(&self, d: &SeriesDetail, method: Method, note: Option<&str>, now: DateTime<Utc>) -> (Method, String) {
        let s = &d.series;
        let master = s.as_booking(s.first, Status::Confirmed, None);
        let url = self.series_url(s.id);
        let org = self.rules.org_name(&s.org);
        let exdates: Vec<DateTime<Utc>> = d
            .occurrences
            .iter()
            .filter(|o| !o.status.in_calendar())
            .map(|o| o.recurrence_id)
            .collect();
        let moved: Vec<Booking> = d
            .occurrences
            .iter()
            .filter(|o| o.status.in_calendar())
            .filter(|o| o.slot.start != o.recurrence_id || o.slot.end - o.slot.start != s.length())
            .map(|o| s.as_booking(o.slot, Status::Confirmed, Some(o.recurrence_id)))
            .collect();
        let input = |b| EventInput {
            booking: b,
            org_name: org,
            view: View::Full,
            note,
            url: Some(&url),
        };
        let overrides: Vec<EventInput> = moved.iter().map(input).collect();
        let event = calendar::SeriesEvent {
            template: input(&master),
            series_id: s.id,
            rrule: &s.rrule,
            exdates: &exdates,
            overrides: &overrides,
        };
        (
            method,
            calendar::series_invitation(&event, &self.calendar_context(&s.room), method, now),
        )
    }

    fn series_letter(&self, heading: &str, d: &SeriesDetail, paragraphs: Vec<String>) -> Letter {
        let s = &d.series;
        Letter {
            heading: format!("{heading}: {}", s.title),
            paragraphs,
            details: vec![
                ("Tittel", s.title.clone()),
                ("Første gang", format_range(s.first.start, s.first.end)),
                ("Sted", self.room_line(&s.room)),
                ("Virksomhet", self.rules.org_name(&s.org).to_string()),
                ("Kontaktperson", format!("{} <{}>", s.contact_name, s.contact_email)),
                ("Antall deltakere", s.attendees.to_string()),
            ],
            list_title: Some("Slik gikk det med hver gang:".into()),
            list: d.occurrences.iter().map(|o| o.describe()).collect(),
            list_links: vec![],
            link: Some(("Se serien".into(), self.series_url(s.id))),
        }
    }

    fn to_series_contact(
        &self,
        kind: &'static str,
        d: &SeriesDetail,
        prefix: &str,
        letter: Letter,
        ics: Option<(Method, String)>,
    ) -> NewMessage {
        let s = &d.series;
        let subject = format!(
            "{prefix}: {} – fra {}",
            s.title,
            format_range(s.first.start, s.first.end)
        );
        Self::message(
            kind,
            d.booking_ids().first().copied(),
            &s.contact_email,
            subject,
            letter,
            ics,
        )
    }

    /// A series is booked: one invitation for the whole series, and what became of each time.
    pub fn series_booked(&self, d: &SeriesDetail, now: DateTime<Utc>) -> NewMessage {
        let count = |st: OutcomeStatus| d.occurrences.iter().filter(|o| o.status == st).count();
        let mut paragraphs = vec![format!(
            "Serien i {} er lagret: {} bekreftet, {} til behandling hos koordinator, {} planlagt, {} hoppes over og {} ikke booket.",
            self.rules.room_name(&d.series.room),
            count(OutcomeStatus::Confirmed),
            count(OutcomeStatus::Pending),
            count(OutcomeStatus::Planned),
            count(OutcomeStatus::Skipped),
            count(OutcomeStatus::Declined),
        )];
        if count(OutcomeStatus::Planned) > 0 {
            paragraphs.push(
                "Planlagte ganger ligger utenfor bookingvinduet deres. De bookes automatisk den dagen de kommer innenfor, og du får beskjed om en av dem ikke kan bookes."
                    .into(),
            );
        }
        paragraphs.push("Invitasjonen til serien ligger ved, slik at den kommer i kalenderen.".into());
        let letter = self.series_letter("Serien er booket", d, paragraphs);
        let ics = d
            .occurrences
            .iter()
            .any(|o| o.status.in_calendar())
            .then(|| self.series_ics(d, Method::Request, None, now));
        self.to_series_contact("series_booked", d, "Serie booket", letter, ics)
    }

    /// A series (or the part of it from a changed occurrence) changed: the series' event again,
    /// with a higher SEQUENCE.
    pub fn series_updated(&self, d: &SeriesDetail, note: Option<&str>, now: DateTime<Utc>) -> NewMessage {
        let mut paragraphs = vec!["Serien er endret. Den oppdaterte invitasjonen ligger ved.".to_string()];
        if let Some(n) = note {
            paragraphs.push(n.to_string());
        }
        let letter = self.series_letter("Serien er endret", d, paragraphs);
        let ics = self.series_ics(d, Method::Request, note, now);
        self.to_series_contact("series_updated", d, "Serie endret", letter, Some(ics))
    }

    /// A whole series is cancelled: CANCEL of the series' UID.
    pub fn series_cancelled(&self, d: &SeriesDetail, reason: Option<&str>, now: DateTime<Utc>) -> NewMessage {
        let mut paragraphs = vec!["Alle gjenstående ganger i serien er avbestilt.".to_string()];
        if let Some(r) = reason {
            paragraphs.push(format!("Begrunnelse: {r}"));
        }
        let letter = self.series_letter("Serien er avbestilt", d, paragraphs);
        let ics = self.series_ics(d, Method::Cancel, reason, now);
        self.to_series_contact("series_cancelled", d, "Serie avbestilt", letter, Some(ics))
    }

    /// To a coordinator: occurrences of a series compete with other bookings; one case.
    pub fn series_conflict(&self, s: &Series, competing: &[(Booking, Vec<Booking>)], coordinator: &str) -> NewMessage {
        let letter = Letter {
            heading: format!("Konflikt i serien «{}» ({})", s.title, self.rules.org_name(&s.org)),
            paragraphs: vec![format!(
                "{} av gangene i serien overlapper andre bookinger. Avgjør dem samlet eller hver for seg.",
                competing.len()
            )],
            details: vec![],
            list_title: Some("Gangene som overlapper:".into()),
            list: competing
                .iter()
                .map(|(b, others)| {
                    let with: Vec<String> = others
                        .iter()
                        .map(|o| format!("{} ({}, {})", o.title, self.org_name(o), o.status.norwegian()))
                        .collect();
                    format!("{} – mot {}", format_range(b.start, b.end), with.join(", "))
                })
                .collect(),
            list_links: vec![],
            link: Some(("Gå til konfliktene".into(), self.conflicts_url())),
        };
        let subject = format!("Konflikt i serie: {}", s.title);
        let first = competing.first().map(|(b, _)| b.id);
        Self::message("series_conflict", first, coordinator, subject, letter, None)
    }

    /// A planned occurrence could not be booked when it came within the horizon: the reason,
    /// the alternatives, and a CANCEL of that one time in the series' event.
    pub fn occurrence_not_booked(&self, s: &Series, o: &OccurrenceOutcome, now: DateTime<Utc>) -> NewMessage {
        let why = o.error.as_ref().map(|e| e.message.clone()).unwrap_or_default();
        let mut letter = Letter {
            heading: format!("En gang i serien kunne ikke bookes: {}", s.title),
            paragraphs: vec![
                format!(
                    "{} kom nå innenfor bookingvinduet, men kunne ikke bookes.",
                    format_range(o.slot.start, o.slot.end)
                ),
                format!("Årsak: {why}"),
            ],
            link: Some(("Se serien".into(), self.series_url(s.id))),
            ..Default::default()
        };
        let b = s.as_booking(o.slot, Status::Cancelled, Some(o.recurrence_id));
        self.alternatives(&mut letter, &b, &o.alternatives);
        let (_, ics) = self.ics(&b, Method::Cancel, Some(&why), now);
        let ics = ics.replace(&format!("{}/bookinger/0", self.public_url), &self.series_url(s.id));
        let subject = format!("Ikke booket: {} – {}", s.title, format_range(o.slot.start, o.slot.end));
        Self::message(
            "occurrence_declined",
            None,
            &s.contact_email,
            subject,
            letter,
            Some((Method::Cancel, ics)),
        )
    }

    /// A freed slot is held for the first on the waitlist: until when, and the single-use
    /// links that confirm it (the booking is then made as a request would be) or let it go.
    /// No calendar yet: the event enters the calendar when it is booked.
    pub fn hold_offered(
        &self,
        b: &Booking,
        held_until: DateTime<Utc>,
        confirm_url: &str,
        decline_url: &str,
    ) -> NewMessage {
        let paragraphs = vec![
            format!(
                "Du står på ventelisten for {} {}, og nå er tiden blitt ledig. Den er holdt for deg til {}.",
                self.room_name(b),
                format_range(b.start, b.end),
                crate::domain::time::format_datetime(held_until)
            ),
            "Bekreft innen fristen, så blir forespørselen sendt som vanlig. Trenger du ikke tiden, avslå, så går den videre til neste på ventelisten.".into(),
        ];
        let mut letter = self.about("Ledig tid holdt for deg", b, paragraphs, None);
        letter.list_title = Some("Svar med ett klikk:".into());
        letter.list = vec!["Bekreft".into(), "Avslå".into()];
        letter.list_links = vec![confirm_url.to_string(), decline_url.to_string()];
        self.to_contact("hold_offered", b, "Holdt for deg", letter, None)
    }

    /// A hold ended without a booking: it ran out, or was withdrawn (`reason`); with the free
    /// alternatives, each a link to the filled-in booking form. The hold was never in a
    /// calendar.
    pub fn hold_ended(&self, b: &Booking, reason: &str, alternatives: &[Slot]) -> NewMessage {
        let paragraphs = vec![
            format!(
                "Tiden {} i {} er ikke lenger holdt for deg.",
                format_range(b.start, b.end),
                self.room_name(b)
            ),
            format!("Begrunnelse: {reason}"),
        ];
        let mut letter = self.about("Holdet er utløpt", b, paragraphs, None);
        self.alternatives(&mut letter, b, alternatives);
        self.to_contact("hold_ended", b, "Holdet er utløpt", letter, None)
    }
}
