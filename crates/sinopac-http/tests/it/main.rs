//! Integration tests: the client against `sinopac-sim` (in process through the sim's axum
//! router, and over loopback HTTP).

mod config;
mod faults;
mod loopback;
mod query_all;
mod services;
mod settle;
mod support;
