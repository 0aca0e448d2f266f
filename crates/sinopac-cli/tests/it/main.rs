//! End-to-end tests of the `sinopac` binary (one integration-test binary for the crate).

mod crypto;
mod support;
