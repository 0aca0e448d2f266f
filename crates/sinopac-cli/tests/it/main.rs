//! End-to-end tests of the `sinopac` binary (one integration-test binary for the crate).

// Test code: panicking on a broken expectation is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

mod crypto;
mod doctor;
mod orders;
mod sim;
mod support;
