//! Integration tests of sinopac-server: the store conformance suite (SQLite always,
//! PostgreSQL when `DATABASE_URL` is set), the HTTP API, end-to-end runs against the sim and
//! the crash-safety test.

// Helpers outside #[test] functions may unwrap and index too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod api;
mod crash;
mod e2e;
mod hygiene;
mod store;
mod support;
