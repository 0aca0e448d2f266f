//! # sinopac-http
//!
//! The async client a merchant's Rust backend uses to talk to Bank SinoPac's 豐收款
//! (QPay / funBIZ) API. It builds on [`sinopac_proto`] (types, seal/open, Sign) and is tested
//! against `sinopac-sim`, the offline bank.
//!
//! * [`Client`]: one typed call per service. Every attempt fetches a fresh nonce, seals the
//!   request, POSTs it with `X-KeyID`, checks the echo, opens the reply with the reply's own
//!   nonce and verifies its Sign. `Status: F` is [`Error::Bank`].
//! * [`Transport`]: a small object-safe trait (request bytes in, response out).
//!   [`ReqwestTransport`] (feature `reqwest`, on by default) uses rustls and always verifies
//!   certificates; [`transport_fn`] turns a closure into a transport (tests, in-process sim).
//! * [`Error`]: split by what the caller can do next (never sent / may have been sent /
//!   unusable reply / the bank said no), `#[non_exhaustive]`, source chain kept.
//! * [`retry_decision`]: the retry policy as a pure function. Queries retry with exponential
//!   backoff and full jitter; `OrderCreate`/`OrderMaintain` are never resent blindly — an
//!   unknown outcome is settled by asking the bank about the OrderNo
//!   ([`Client::create_order`], [`Client::maintain`]).
//! * [`Client::query_all`]: every matching order past the 300-row cap ([`query_all`] module).
//! * `tracing`: one span per call (`sinopac`, with `service`, `order_no`, `request_id`); keys,
//!   HashID, X-KeyID and plaintext payloads are never logged.
//!
//! ## API notes (for the CLI and server)
//!
//! Close to the planned API, with these differences:
//! * [`ClientBuilder::from_env`] returns the builder (errors are deferred to
//!   [`ClientBuilder::build`]); [`ClientBuilder::from_env_with`] takes a custom lookup. The
//!   environment name variable is `SINOPAC_ENV` (`sim` / `sandbox` / `production`);
//!   `SINOPAC_BASE_URL` wins when both are set.
//! * [`Client::call`] requires `R: Request + Sync + 'static`; it routes `OrderCreate` and
//!   `OrderMaintain` through the settling paths.
//! * [`Client::maintain`] takes any [`OrderMaintainRequest`](sinopac_proto::OrderMaintainRequest);
//!   `capture` / `void` / `refund` are shortcuts.
//! * Extra error variants: [`Error::Refused`] (HTTP 4xx plain `{"Status":"F"}` or empty nonce:
//!   configuration), [`Error::OrderNoConflict`], [`Error::QueryWindowTooDense`],
//!   [`Error::QueryNeedsRange`].
//! * [`Client::query_all_vec`] returns [`QueryAllOutcome`] `{ items, stats }`
//!   (`stats.calls` = OrderQuery calls made).
//!
//! ## How replies are read
//!
//! | reply | error | retried? |
//! |---|---|---|
//! | transport: connect refused, DNS, TLS handshake | [`Error::NotSent`] | yes, any service |
//! | transport: timeout or reset after sending | [`Error::MaybeSent`] | queries; order changes are settled |
//! | `Nonce`: HTTP 5xx, HTML, not JSON | [`Error::NotSent`] (stage `Nonce`) | yes |
//! | `Nonce`: 4xx `{"Status":"F"}`, or no `Nonce` | [`Error::Refused`] | no (configuration) |
//! | `Order`: HTTP 5xx | [`Error::MaybeSent`] | queries; order changes are settled |
//! | `Order`: an HTML page (WAF), any status | [`Error::InvalidReply`] `Html` | queries; order changes are settled |
//! | `Order`: 4xx plain `{"Status":"F","Description"}` | [`Error::Refused`] | no |
//! | `Order`: envelope with wrong `ShopNo`/`APIService` | [`Error::InvalidReply`] `EchoMismatch` | as above |
//! | `Order`: message does not decrypt / Sign does not verify | [`Error::InvalidReply`] `Rejected` | as above |
//! | `Order`: reply nonce = request nonce or seen recently | [`Error::InvalidReply`] `ReplayedNonce` | as above |
//! | `Order`: verified `Status: F` | [`Error::Bank`] | only nonce refusals ([`NONCE_REJECTED_CODES`]) |
//!
//! "Settled" means the client asks `OrderQuery` about the OrderNo and decides from what it
//! finds ([`Client::create_order`], [`Client::maintain`]); settling assumes the bank's
//! `OrderQuery` reflects an order change as soon as the change's reply was sent.
//!
//! ## Example: against the simulator
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sinopac_http::{Client, Environment};
//! use sinopac_proto::{Amount, BankDate, Keys, OrderCreateRequest, OrderNo, ShopNo};
//!
//! let client = Client::builder()
//!     .shop_no(ShopNo::new("NA0249_001")?)
//!     .keys(Keys::new("86D50DEF3EB7400E", "01FD27C09E5549E5", "9E004965F4244953", "7FB3385F414E4F91")?)
//!     .key_id("b5e6986d-8636-4aa0-8c93-441ad14b2098")
//!     .environment(Environment::Sim)
//!     .build()?;
//!
//! let order = OrderCreateRequest::atm(
//!     client.shop_no().clone(),
//!     OrderNo::new("A202611250001")?,
//!     Amount::from_ntd(500).unwrap(),
//!     "T-shirt",
//!     BankDate::parse("20261130")?,
//! );
//! let created = client.create_order(&order).await?;
//! let found = client.find_order(&order.order_no).await?;
//! assert_eq!(found.map(|o| o.amount), created.amount);
//! # Ok(()) }
//! ```
//!
//! ## What this crate does not do
//!
//! It does not store orders, receive callbacks or reconcile (that is `sinopac-server`), and it
//! does not implement crypto (that is `sinopac-proto`). It never disables TLS verification.

mod client;
mod config;
mod error;
pub mod query_all;
mod retry;
mod transport;

#[cfg(feature = "reqwest")]
mod reqwest_transport;

pub use client::{Client, NOT_FOUND_CODES, SETTLED_DESCRIPTION};
pub use config::{ClientBuilder, ConfigError, Environment, KeyId, Timeouts, env};
pub use error::{Error, QueryWindow, ReplyProblem, Stage};
pub use query_all::{QueryAllOutcome, QueryAllStats};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};
pub use retry::{CallKind, NONCE_REJECTED_CODES, RetryDecision, RetryPolicy, retry_decision};
pub use transport::{
    BoxError, BoxFuture, FnTransport, Transport, TransportError, TransportRequest,
    TransportResponse, transport_fn,
};
