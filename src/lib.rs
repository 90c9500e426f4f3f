//! Borgertun booking: books Bergen kommune's meeting room Borgertun under the priority rules.

pub mod config;
pub mod domain;
pub mod store;
