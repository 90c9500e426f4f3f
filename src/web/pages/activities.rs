//! «Aktiviteter i Borgertun»: the public events in the room — confirmed bookings with a public
//! title — of the next 90 and the last 30 days, as a page and as an Atom feed, so that the
//! municipality's activities can be shared in other channels (the action plan's measure on
//! sharing). They show time, public title, organisation, activity kind and themes; never the
//! contact person, the description or anything of a booking that is not public.

use crate::web::routes::Routes;
use atom_syndication::{Category, Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use sha2::{Digest, Sha256};

use super::error::ServiceResultExt;
use super::{layout, PageCtx, PageResult};
use crate::domain::plan::{Plan, Term, Vocabulary};
use crate::domain::time::format_range;
use crate::domain::{Booking, Rules, Status, View};
use crate::web::AppState;

pub const PATH: &str = "/aktiviteter";
pub const FEED_PATH: &str = "/aktiviteter.atom";
/// How far ahead the list reaches.
pub const AHEAD_DAYS: i64 = 90;
/// How far back the list reaches.
pub const BACK_DAYS: i64 = 30;

const TITLE: &str = "Aktiviteter i Borgertun";
const PUBLISHER: &str = "Bergen kommune, Byrådsavdeling for eldre, helse og omsorg";

pub fn routes() -> Routes {
    Routes::new().get(PATH, page)
}

/// The Atom feed: outside the anti-forgery cookie layer, so a cached feed never carries
/// anyone's cookie.
pub fn feed_routes() -> Routes {
    Routes::new().get(FEED_PATH, feed)
}

/// One public event as the page and the feed show it: names, not keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicEvent {
    pub id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub title: String,
    pub organisation: String,
    /// The room's name and address, for readers of the feed who do not know Borgertun.
    pub place: String,
    /// The activity kind; `None` for a booking without an activity.
    pub kind: Option<Term>,
    pub themes: Vec<Term>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PublicEvent {
    /// «Tid: … Virksomhet: … Aktivitetstype: … Tema: …» for the feed.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "Tid: {}. Sted: {}. Virksomhet: {}.",
            format_range(self.start, self.end),
            self.place,
            self.organisation
        );
        if let Some(kind) = &self.kind {
            s.push_str(&format!(" Aktivitetstype: {}.", kind.name));
        }
        if !self.themes.is_empty() {
            s.push_str(&format!(" Tema: {}.", self.theme_names()));
        }
        s
    }

    /// «Brukermedvirkning, Velferdsteknologi og e-helse»
    pub fn theme_names(&self) -> String {
        self.themes
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn anchor(&self) -> String {
        format!("booking-{}", self.id)
    }
}

/// The events of the page: upcoming (and ongoing) ones soonest first, recent ones latest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivitiesPage {
    pub upcoming: Vec<PublicEvent>,
    pub recent: Vec<PublicEvent>,
}

impl ActivitiesPage {
    /// Keep the confirmed, public bookings among `bookings` that end after `now − 30 days`
    /// and start before `now + 90 days`, with the names of their organisation, kind and themes.
    pub fn from_bookings(bookings: Vec<Booking>, rules: &Rules, plan: &Plan, now: DateTime<Utc>) -> Self {
        let (from, to) = window(now);
        let mut page = ActivitiesPage::default();
        for b in bookings
            .into_iter()
            .filter(|b| b.status == Status::Confirmed && b.public && b.end > from && b.start < to)
        {
            let event = public_event(b, rules, plan);
            if event.end > now {
                page.upcoming.push(event);
            } else {
                page.recent.push(event);
            }
        }
        page.upcoming.sort_by_key(|e| (e.start, e.id));
        page.recent.sort_by_key(|e| (std::cmp::Reverse(e.start), e.id));
        page
    }

    /// Every event: upcoming first, then recent.
    pub fn events(&self) -> impl Iterator<Item = &PublicEvent> {
        self.upcoming.iter().chain(&self.recent)
    }
}

fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now - Duration::days(BACK_DAYS), now + Duration::days(AHEAD_DAYS))
}

/// Only what may be public: never the contact, the description or a private title.
fn public_event(b: Booking, rules: &Rules, plan: &Plan) -> PublicEvent {
    // A key no longer in the configuration shows as itself rather than vanishing.
    let term = |list: Vocabulary, key: &str| {
        plan.term(list, key).cloned().unwrap_or_else(|| Term {
            key: key.to_string(),
            name: key.to_string(),
        })
    };
    let (kind, themes) = match &b.activity {
        Some(a) => (
            Some(term(Vocabulary::Kind, &a.kind)),
            a.themes.iter().map(|t| term(Vocabulary::Theme, t)).collect(),
        ),
        None => (None, Vec::new()),
    };
    PublicEvent {
        id: b.id,
        start: b.start,
        end: b.end,
        title: View::Public.title(&b).to_string(),
        organisation: rules.org_name(&b.org).to_string(),
        place: rules.room_place(&b.room),
        kind,
        themes,
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

async fn load(state: &AppState, now: DateTime<Utc>) -> Result<ActivitiesPage, crate::service::ServiceError> {
    let (from, to) = window(now);
    let bookings = state.app.confirmed_between(from, to).await?;
    Ok(ActivitiesPage::from_bookings(
        bookings,
        &state.app.config().rules,
        &state.app.config().plan,
        now,
    ))
}

/// `/aktiviteter` — the public events, for anyone.
async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let now = state.now();
    let events = load(&state, now)
        .await
        .unavailable("Vi får ikke hentet aktivitetene akkurat nå. Prøv igjen om litt.")?;
    let body = html! {
        h1 { (TITLE) }
        p { "Offentlige arrangementer i Borgertun, Årstadveien 17 i Bergen: de neste " (AHEAD_DAYS)
            " dagene og de siste " (BACK_DAYS) " dagene. Bookinger uten offentlig tittel vises ikke." }
        p { a href=(FEED_PATH) type="application/atom+xml" { "Abonner på aktivitetene (Atom)" } }
        h2 id="kommende" { "Kommende aktiviteter" }
        (event_table("Kommende aktiviteter", &events.upcoming, now,
            &format!("Ingen offentlige aktiviteter er booket de neste {AHEAD_DAYS} dagene.")))
        h2 id="nylige" { "Nylige aktiviteter" }
        (event_table("Nylige aktiviteter", &events.recent, now,
            &format!("Ingen offentlige aktiviteter de siste {BACK_DAYS} dagene.")))
    };
    Ok(layout(&ctx, TITLE, PATH, body).into_response())
}

fn event_table(caption: &str, events: &[PublicEvent], now: DateTime<Utc>, none: &str) -> Markup {
    html! {
        @if events.is_empty() {
            p { (none) }
        } @else {
            // On a phone the table scrolls inside its own box, which keyboard users reach with Tab.
            div.table-scroll role="region" aria-label=(caption) tabindex="0" {
                table {
                    caption.visually-hidden { (caption) }
                    thead { tr {
                        th scope="col" { "Tid" }
                        th scope="col" { "Tittel" }
                        th scope="col" { "Virksomhet" }
                        th scope="col" { "Aktivitetstype" }
                        th scope="col" { "Tema" }
                    } }
                    tbody {
                        @for e in events {
                            tr id=(e.anchor()) {
                                td { (format_range(e.start, e.end)) @if e.start <= now && now < e.end { " (pågår nå)" } }
                                th scope="row" { (e.title) }
                                td { (e.organisation) }
                                td { @if let Some(kind) = &e.kind { (kind.name) } }
                                td { (e.theme_names()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The Atom feed of `events`; links are absolute on `base` (the public address), ids are tag
/// URIs on the calendar UID domain, so they stay the same when the address changes.
pub fn atom(events: &ActivitiesPage, base: &str, uid_domain: &str, now: DateTime<Utc>) -> Feed {
    let tag = |specific: &str| format!("tag:{uid_domain},2026:{specific}");
    let link = |href: String, rel: &str, mime: &str| Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    };
    let entries: Vec<Entry> = events
        .events()
        .map(|e| {
            // Kind and themes as categories: the stable key as term, the name as label.
            let category = |t: &Term, scheme: &str| Category {
                term: t.key.clone(),
                scheme: Some(tag(scheme)),
                label: Some(t.name.clone()),
            };
            let categories: Vec<Category> = e
                .kind
                .iter()
                .map(|k| category(k, "aktivitetstype"))
                .chain(e.themes.iter().map(|t| category(t, "tema")))
                .collect();
            Entry {
                id: tag(&e.anchor()),
                title: Text::plain(e.title.clone()),
                updated: e.updated_at.fixed_offset(),
                published: Some(e.created_at.fixed_offset()),
                authors: vec![Person {
                    name: e.organisation.clone(),
                    ..Default::default()
                }],
                summary: Some(Text::plain(e.summary())),
                links: vec![link(format!("{base}{PATH}#{}", e.anchor()), "alternate", "text/html")],
                categories,
                ..Default::default()
            }
        })
        .collect();
    let updated: FixedDateTime = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or_else(|| now.fixed_offset());
    Feed {
        title: Text::plain(TITLE),
        subtitle: Some(Text::plain(format!(
            "Offentlige arrangementer i Borgertun, Årstadveien 17 i Bergen, de neste {AHEAD_DAYS} og de siste {BACK_DAYS} dagene"
        ))),
        id: tag("aktiviteter"),
        updated,
        authors: vec![Person {
            name: PUBLISHER.into(),
            ..Default::default()
        }],
        links: vec![
            link(format!("{base}{FEED_PATH}"), "self", "application/atom+xml"),
            link(format!("{base}{PATH}"), "alternate", "text/html"),
        ],
        lang: Some("nb".into()),
        entries,
        ..Default::default()
    }
}

/// `/aktiviteter.atom` — the same events as an Atom feed; `304` for a matching `If-None-Match`.
async fn feed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = state.now();
    let events = match load(&state, now).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "activities feed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Aktivitetene kan ikke hentes akkurat nå.\n",
            )
                .into_response();
        }
    };
    let body = atom(
        &events,
        state.app.public_url(),
        &state.app.config().mail.uid_domain,
        now,
    )
    .to_string();
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(body.as_bytes()))[..32]);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Activity;

    fn config() -> crate::config::Config {
        crate::config::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap()
    }

    fn booking(id: i64, start: DateTime<Utc>, status: Status, public: bool) -> Booking {
        Booking {
            id,
            room: "borgertun".into(),
            start,
            end: start + Duration::hours(2),
            blocked_until: start + Duration::minutes(135),
            title: format!("Arrangement {id}"),
            description: Some("Intern beskrivelse".into()),
            public,
            attendees: 20,
            org: "uib".into(),
            contact_name: "Kari Nordmann".into(),
            contact_email: "kari@uib.no".into(),
            status,
            status_reason: None,
            sequence: 0,
            created_at: start - Duration::days(40),
            updated_at: start - Duration::days(40),
            activity: None,
            attendance: None,
            series: None,
            held_until: None,
            checked_in_at: None,
        }
    }

    #[test]
    fn keeps_public_confirmed_events_in_the_window_with_names() {
        let cfg = config();
        let now = Utc::now();
        let mut seminar = booking(1, now + Duration::days(3), Status::Confirmed, true);
        seminar.activity = Some(Activity {
            kind: "seminar".into(),
            themes: vec!["brukermedvirkning".into(), "e-helse".into()],
            ..Default::default()
        });
        let all = vec![
            seminar,
            booking(2, now + Duration::days(1), Status::Confirmed, true),
            booking(3, now + Duration::days(2), Status::Confirmed, false),
            booking(4, now + Duration::days(2), Status::Cancelled, true),
            booking(5, now + Duration::days(2), Status::Pending, true),
            booking(6, now - Duration::days(2), Status::Confirmed, true),
            booking(7, now - Duration::days(10), Status::Confirmed, true),
            booking(8, now - Duration::days(31), Status::Confirmed, true),
            booking(9, now + Duration::days(91), Status::Confirmed, true),
            booking(10, now - Duration::hours(1), Status::Confirmed, true),
        ];
        let page = ActivitiesPage::from_bookings(all, &cfg.rules, &cfg.plan, now);
        let ids = |l: &[PublicEvent]| l.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&page.upcoming), vec![10, 2, 1], "ongoing first, then soonest first");
        assert_eq!(ids(&page.recent), vec![6, 7], "latest first");
        let s = &page.upcoming[2];
        assert_eq!(s.organisation, "Universitetet i Bergen (UiB)");
        assert_eq!(s.kind.as_ref().map(|k| k.name.as_str()), Some("Seminar"));
        assert_eq!(s.theme_names(), "Brukermedvirkning, Velferdsteknologi og e-helse");
        assert!(s
            .summary()
            .contains("Aktivitetstype: Seminar. Tema: Brukermedvirkning, Velferdsteknologi og e-helse."));
        assert!(s.summary().starts_with("Tid: "));
        assert_eq!(page.upcoming[1].kind, None);
        assert!(!page.upcoming[1].summary().contains("Aktivitetstype"));

        let feed = atom(&page, "https://borgertun.example", "borgertun.example", now);
        let xml = feed.to_string();
        assert!(!xml.contains("kari@uib.no") && !xml.contains("Kari Nordmann") && !xml.contains("Intern beskrivelse"));
        let back: Feed = xml.parse().unwrap();
        assert_eq!(back.entries.len(), 5);
        assert_eq!(back.entries[2].id, "tag:borgertun.example,2026:booking-1");
        assert_eq!(
            back.updated,
            page.events().map(|e| e.updated_at).max().unwrap().fixed_offset()
        );
    }

    #[test]
    fn an_empty_feed_is_updated_now() {
        let cfg = config();
        let now = Utc::now();
        let page = ActivitiesPage::from_bookings(Vec::new(), &cfg.rules, &cfg.plan, now);
        let feed = atom(&page, "http://x", "x.example", now);
        assert_eq!(feed.updated, now.fixed_offset());
        assert_eq!(feed.authors.len(), 1);
    }
}
