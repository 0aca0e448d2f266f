//! Integration tests of the simulator, driven with `sinopac-proto` as the client: in-process
//! through `Sim::router()` + `oneshot`, and over loopback.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod callbacks;
mod envelope;
mod faults;
mod loopback;
mod pages;
mod queries;
mod services;
mod support;
