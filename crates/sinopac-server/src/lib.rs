//! # sinopac-server
//!
//! A merchant payment service for Bank SinoPac's 豐收款 (QPay / funBIZ) API.
//!
//! (Crate docs are expanded below as the pieces land.)

pub mod secrets;
pub mod state;
pub mod store;
