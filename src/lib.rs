//! Borgertun booking: books Bergen kommune's meeting room Borgertun under the priority rules.

pub mod domain;
