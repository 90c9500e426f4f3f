//! Every integration test in one binary (one link instead of one per file, one run of the
//! harness): each module is a former `tests/<name>.rs`, so `cargo test --test it api::` runs
//! the API tests and `cargo test --test it postgres::` every PostgreSQL variant.

#[macro_use]
mod common;

mod account_pages;
mod activities;
mod activity;
mod api;
mod attendance;
mod authz;
mod booking_pages;
mod browser;
mod checkin;
mod cli;
mod concurrency;
mod coordinator_pages;
mod fairness;
mod faults;
mod feeds;
mod hardening;
mod lifecycle;
mod lifecycle_csrf;
mod mail;
mod metrics;
mod openapi;
mod operations;
mod page_cache;
mod pages;
mod preload;
mod privacy;
mod privacy_views;
mod properties;
mod proxy;
mod reminders;
mod report;
mod schemathesis;
mod series;
mod series_calendars;
mod series_pages;
mod series_properties;
mod signin;
mod waitlist;
