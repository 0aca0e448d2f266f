//! # sinopac-server
//!
//! A merchant payment service for Bank SinoPac's 豐收款 (QPay / funBIZ) API.
//!
//! (Crate docs are expanded below as the pieces land.)

pub mod app;
pub mod bank;
pub mod config;
pub mod http_bank;
pub mod inbox;
pub mod metrics;
pub mod outbox;
pub mod pages;
pub mod reconcile;
pub mod secrets;
pub mod server;
pub mod state;
pub mod store;
pub mod worker;
