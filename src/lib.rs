//! Borgertun booking: books Bergen kommune's meeting room Borgertun under the priority rules.

pub mod cli;
pub mod config;
pub mod domain;
pub mod service;
pub mod store;
pub mod web;
