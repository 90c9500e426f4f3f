//! Borgertun booking: books Bergen kommune's meeting room Borgertun under the priority rules.

pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod files;
pub mod mail;
pub mod service;
pub mod store;
pub mod token;
pub mod web;
