//! Integration tests: the client against `sinopac-sim` (in process through the sim's axum
//! router, and over loopback HTTP).

// Test code: helpers outside `#[test]` functions may panic on broken fixtures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod config;
mod faults;
mod loopback;
mod query_all;
mod services;
mod settle;
mod support;
