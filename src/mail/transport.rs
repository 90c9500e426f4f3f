//! Turning an outbox row into a MIME message, and delivering it: SMTP (lettre) or files.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailConfig;
use crate::store::OutboxMessage;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Messages written as `{id}-{kind}.eml` to this folder.
    Files(PathBuf),
}

impl Transport {
    pub fn from_config(mail: &MailConfig) -> anyhow::Result<Self> {
        match &mail.smtp_url {
            Some(url) => {
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url {}: {e}", crate::config::redact_url(url)))?
                    .timeout(Some(mail.smtp_timeout()))
                    .build();
                Ok(Transport::Smtp(smtp))
            }
            None => {
                crate::files::create_private_dir(&mail.file_dir)
                    .map_err(|e| anyhow::anyhow!("cannot create the mail folder {}: {e}", mail.file_dir.display()))?;
                Ok(Transport::Files(mail.file_dir.clone()))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Files(dir) => format!("files in {}", dir.display()),
        }
    }

    pub async fn send(&self, row: &OutboxMessage, message: Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Files(dir) => {
                let path = dir.join(format!("{:08}-{}.eml", row.id, row.kind));
                crate::files::write_private(&path, &message.formatted())
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }
}

/// Set the DTSTAMP of a rendered calendar to `now` (RFC 5546: the time the message is sent).
fn restamp(ics: &str, now: DateTime<Utc>) -> String {
    let stamp = format!("DTSTAMP:{}", now.format("%Y%m%dT%H%M%SZ"));
    ics.split_inclusive("\r\n")
        .map(|line| {
            if line.starts_with("DTSTAMP:") {
                format!("{stamp}\r\n")
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// The MIME message for an outbox row. With a calendar part:
/// `multipart/mixed [ multipart/alternative [ text/plain, text/html, text/calendar; method=M ],
/// invitasjon.ics ]` — the `method=` parameter always equals the calendar's METHOD.
pub fn build(row: &OutboxMessage, mail: &MailConfig, now: DateTime<Utc>) -> Result<Message, String> {
    let to = row
        .recipient
        .parse()
        .map_err(|e| format!("recipient {:?}: {e}", row.recipient))?;
    let mut builder = Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(&row.subject)
        .date(now.into())
        // Stable across retries, so a receiver can drop a duplicate.
        .message_id(Some(format!(
            "<outbox-{}.{}@{}>",
            row.id,
            row.created_at.timestamp(),
            mail.uid_domain
        )));
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(row.body_text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(row.body_html.clone()),
        );
    let body = match (&row.ics_method, &row.ics) {
        (Some(method), Some(ics)) => {
            let ics = restamp(ics, now);
            let calendar_type = ContentType::parse(&format!("text/calendar; charset=UTF-8; method={method}"))
                .map_err(|e| e.to_string())?;
            let file_type = ContentType::parse("application/ics").map_err(|e| e.to_string())?;
            let file_name = if method == "CANCEL" {
                "avlysning.ics"
            } else {
                "invitasjon.ics"
            };
            MultiPart::mixed()
                .multipart(alternative.singlepart(SinglePart::builder().header(calendar_type).body(ics.clone())))
                // Base64, so the file keeps its CRLF line ends byte for byte.
                .singlepart(
                    Attachment::new(file_name.into()).body(
                        Body::new_with_encoding(ics, ContentTransferEncoding::Base64)
                            .map_err(|_| "cannot encode the .ics file".to_string())?,
                        file_type,
                    ),
                )
        }
        _ => alternative,
    };
    builder.multipart(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restamp_replaces_only_dtstamp() {
        let ics = "BEGIN:VEVENT\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20270101T090000Z\r\nEND:VEVENT\r\n";
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:11:12Z").unwrap().to_utc();
        assert_eq!(
            restamp(ics, now),
            "BEGIN:VEVENT\r\nDTSTAMP:20261122T101112Z\r\nDTSTART:20270101T090000Z\r\nEND:VEVENT\r\n"
        );
    }
}
