//! Integration tests of sinopac-server: the store conformance suite (SQLite always,
//! PostgreSQL when `DATABASE_URL` is set), the HTTP API, end-to-end runs against the sim and
//! the crash-safety test.

mod e2e;
mod store;
mod support;
