//! Mail: messages composed in Norwegian, kept in the database outbox, sent by a worker over
//! SMTP or written as `.eml` files.

mod compose;
pub mod transport;
pub mod worker;

pub use compose::Composer;
// The outbox's message type lives with the outbox; it is named here too, where messages are
// composed.
pub use crate::store::NewMessage;
