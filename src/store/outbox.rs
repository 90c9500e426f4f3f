//! The outbox: messages written in the same transaction as the change they tell of.

use crate::calendar::Method;

/// A message to store in the outbox: rendered now, sent by the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub kind: &'static str,
    pub booking_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The iCalendar part and its method; its DTSTAMP is set again when sent.
    pub ics: Option<(Method, String)>,
}
