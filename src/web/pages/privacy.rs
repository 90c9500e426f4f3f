//! «Personvernerklæring» (`/personvern`): what the service stores about people, why, for how
//! long, who the controller is and whom to contact, written from the configuration
//! (`[privacy]`) so the page always says what the service does. Linked from every page's
//! footer; open to everyone.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{layout, PageCtx};
use crate::web::routes::Routes;
use crate::web::AppState;

pub const PATH: &str = "/personvern";

pub fn routes() -> Routes {
    Routes::new().get(PATH, page)
}

/// «24 måneder (2 år)»
fn months_text(months: u32) -> String {
    match (months / 12, months % 12) {
        (0, _) | (_, 1..) => format!("{months} måneder"),
        (1, 0) => "12 måneder (ett år)".to_string(),
        (years, _) => format!("{months} måneder ({years} år)"),
    }
}

async fn page(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let cfg = state.app.config();
    let p = &cfg.privacy;
    let months = months_text(p.retention_months);
    let room = cfg.rules.rooms.first().map(|r| r.name.clone()).unwrap_or_default();
    let body = html! {
        h1 { "Personvernerklæring" }
        p { "Her står hvilke personopplysninger Borgertun booking lagrer, hvorfor, hvor lenge, og hvilke rettigheter du har." }

        h2 { "Behandlingsansvarlig" }
        p { (p.controller) " er behandlingsansvarlig for opplysningene i Borgertun booking." }
        p {
            "Spørsmål om personopplysningene dine sender du til "
            a href=(format!("mailto:{}", p.contact_email)) { (p.contact_email) } "."
            @if let Some(dpo) = &p.data_protection_officer {
                " Du kan også kontakte " (dpo) "."
            }
        }

        h2 { "Hva vi lagrer" }
        ul {
            li { strong { "Brukerkontoen din: " } "navn, e-postadresse, virksomhet og rolle." }
            li { strong { "Bookinger: " } "tittel, beskrivelse, tidspunkt, rom, virksomhet, antall deltakere, kontaktperson (navn og e-postadresse), hva bookingen brukes til (aktivitetstype, tema, tiltak) og oppmøte per deltakergruppe med utbytte og erfaringer." }
            li { strong { "Endringslogg: " } "hvem som har opprettet, godkjent, avslått, flyttet eller avbestilt en booking, når og med hvilken begrunnelse." }
            li { strong { "Forespørsler om tilgang: " } "navn, e-postadresse, virksomhet og meldingen din, og svaret fra koordinator." }
            li { strong { "E-post fra tjenesten: " } "meldinger som sendes deg (bekreftelser, innloggingslenker, påminnelser) lagres til de er sendt og slettes senere. Innloggingslenker kan bare brukes én gang." }
            li { strong { "Innlogging og abonnement: " } "når du logget inn, og kalenderabonnementene og API-nøklene dine. Selve lenkene og nøklene lagres bare som en kontrollsum (hash), aldri i klartekst." }
        }
        p { "Tjenesten bruker to informasjonskapsler (cookies) som er nødvendige for at den skal virke: én som holder deg innlogget, og én som beskytter skjemaene mot forfalskning. Vi bruker ingen analyse- eller sporingsverktøy." }
        p { "Offentlige sider, som ukevisningen og «I dag i Borgertun», viser bare tidspunkt, virksomhet og titler som er merket som offentlige, aldri kontaktpersoner." }

        h2 { "Hvorfor vi lagrer det" }
        p { "Opplysningene trengs for å booke " (room) " rettferdig etter prioriteringsreglene, for å gi beskjed til dem bookingen gjelder, og for å følge opp handlingsplanen og rapportere til kommunaldirektørens ledergruppe. Behandlingen er nødvendig for å utføre en oppgave i allmennhetens interesse (personvernforordningen artikkel 6 nr. 1 bokstav e)." }

        h2 { "Hvor lenge vi lagrer det" }
        p {
            "Personopplysningene i en booking anonymiseres " (months) " etter at bookingen var slutt: "
            "tittel, beskrivelse, kontaktpersonens navn og e-postadresse, begrunnelser, utbytte og erfaringer, og hvem som gjorde endringer. "
            "Det som blir igjen, er virksomhet, tidspunkt, aktivitet og antall deltakere, slik at statistikken i rapportene ikke endres. "
            "E-post, innloggingslenker, avsluttede innlogginger og besvarte forespørsler om tilgang slettes etter like lang tid."
        }
        p { "Brukerkontoen din beholdes så lenge du bruker tjenesten. Ber du om å bli slettet, slettes kontoen, og du anonymiseres i bookinger og endringslogg med en gang." }

        h2 { "Dine rettigheter" }
        ul {
            li { "Du kan få innsyn i alt tjenesten lagrer om deg, som en fil." }
            li { "Du kan be om å få rettet opplysninger som er feil." }
            li { "Du kan be om å bli slettet. Bookingene blir stående uten navnet ditt, slik at statistikken ikke endres." }
        }
        p { "Skriv til " a href=(format!("mailto:{}", p.contact_email)) { (p.contact_email) } " for å bruke rettighetene dine, eller hvis du mener noe er galt med hvordan opplysningene dine behandles. Du kan også klage til Datatilsynet." }
    };
    layout(&ctx, "Personvernerklæring", PATH, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::months_text;

    #[test]
    fn months_read_as_years_when_whole() {
        assert_eq!(months_text(24), "24 måneder (2 år)");
        assert_eq!(months_text(12), "12 måneder (ett år)");
        assert_eq!(months_text(18), "18 måneder");
        assert_eq!(months_text(6), "6 måneder");
    }
}
