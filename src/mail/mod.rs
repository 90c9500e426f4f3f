//! Mail: messages composed in Norwegian, kept in the database outbox, sent by a worker over
//! SMTP or written as `.eml` files.

mod compose;
pub mod transport;
pub mod worker;

pub use compose::{Composer, NewMessage};
