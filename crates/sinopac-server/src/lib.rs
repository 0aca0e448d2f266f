//! # sinopac-server
//!
//! A ready-to-run payment service for Bank SinoPac's 豐收款 (QPay / funBIZ) merchant API. A
//! shop — written in any language — runs it beside its web app: it creates orders at the
//! bank, receives the bank's callbacks, keeps every order's payment state durable and correct,
//! reconciles what the callbacks missed and notifies the shop of every change.
//!
//! ```text
//! cargo run -p sinopac-server            # demo mode: in-process simulated bank, checkout at http://127.0.0.1:8080/
//! ```
//!
//! ## How a payment flows
//!
//! 1. The shop calls `POST /api/v1/orders` (bearer token). The order is stored first (the
//!    OrderNo is the idempotency key: a duplicate answers 409 with the existing order), then
//!    `OrderCreate` is sent through `sinopac-http` (which settles a lost reply by querying the
//!    OrderNo). The answer carries the ATM virtual account or the card payment URL.
//! 2. The bank POSTs `{ShopNo, PayToken}` to **BackendURL** (`/sinopac/backend`). The pair is
//!    committed to the durable inbox *before* `{"Status":"S"}` is returned; duplicates are
//!    acknowledged too. Nothing else happens in the request.
//! 3. The inbox worker ([`inbox::try_once`]) asks the bank (`OrderPayQuery`, verified reply)
//!    what the token means, checks ShopNo, OrderNo and Amount against our order, and applies an
//!    idempotent transition ([`state`]). Card payments also read the order's `PayStatus` to
//!    tell "authorised" from "captured". Bank down or a reply that does not verify: the item
//!    stays in the inbox with backoff — nothing is lost or guessed.
//! 4. The buyer's browser comes back to **ReturnURL** (`/sinopac/return`): same path, processed
//!    at once, and a result page in 繁體中文 and English is shown.
//! 5. The reconciler ([`reconcile::try_once`]) looks at orders still pending after a grace
//!    period with ONE window-splitting `OrderQuery` per shop and cycle (falling back to
//!    `OrderPayQuery` when a PayToken is known). It never expires or cancels on its own;
//!    failures use a per-order retry budget with backoff and jitter, after which the order is
//!    flagged `needs_review`. [`reconcile::report`] lists differences with the bank.
//! 6. With a notify URL configured, every transition is queued in the outbox in the same
//!    transaction and POSTed to the shop
//!    ([`outbox`]), signed with HMAC-SHA256 over `"<timestamp>.<body>"`, retried with backoff,
//!    every attempt recorded.
//!
//! ## Modules
//!
//! * [`app`] — the axum router (`app(state) -> Router`), handlers, [`app::AppError`].
//! * [`store`] — SQLite (WAL) or PostgreSQL behind one [`store::Store`]; migrations for both.
//! * [`state`] — the order state machine per pay type, as pure functions.
//! * [`inbox`], [`reconcile`], [`outbox`] — the workers, each a `try_once(&deps, now)`.
//! * [`bank`] — the small [`bank::Bank`] trait; [`http_bank`] implements it with
//!   `sinopac-http`, one client per shop, rebuilt when keys rotate.
//! * [`secrets`] — master key, AES-256-GCM credential encryption, API tokens.
//! * [`metrics`] — Prometheus text at `/metrics`.
//! * [`config`], [`server`] — configuration (flags > env > TOML file) and process wiring.
//!
//! ## Operations
//!
//! * Environment: `SINOPAC_SERVER_ADDR`, `DATABASE_URL` (`postgres://…` or `sqlite:PATH`),
//!   `SINOPAC_MASTER_KEY` (32 bytes, hex or base64), `SINOPAC_API_TOKEN`,
//!   `SINOPAC_ADMIN_TOKEN` (default: the API token), `SINOPAC_NOTIFY_URL`,
//!   `SINOPAC_NOTIFY_SECRET`, `SINOPAC_PUBLIC_URL`, `SINOPAC_BASE_URL` or `SINOPAC_ENV`
//!   (`sandbox` / `production`), `SINOPAC_DATA_DIR`, and optionally one shop from
//!   `SINOPAC_SHOP_NO`, `SINOPAC_KEY_ID`, `SINOPAC_A1`..`SINOPAC_B2`. See [`config`] for the
//!   TOML file. Secrets are read only from the environment.
//! * Shops: `sinopac-server shop add NA0249_001` (keys from the environment or `--stdin`
//!   JSON) or `PUT /admin/v1/shops/{shop_no}`. Credentials are stored encrypted
//!   (AES-256-GCM, ShopNo as associated data), never returned or logged; a rotation takes
//!   effect at once on the instance that received it and within 30 s on others.
//! * `/healthz`, `/readyz` (database reachable, not shutting down), `/metrics` (callbacks,
//!   inbox depth, transitions, reconcile drift, bank call latency per service, outbox).
//! * Logs: `tracing` (`RUST_LOG`; `SINOPAC_LOG_FORMAT=json` for JSON), one span per request
//!   with a request id; OrderNo, never keys or payloads.
//! * Graceful shutdown on SIGINT/SIGTERM: stop accepting, finish in-flight requests and worker
//!   steps, then close the database.
//! * Request bodies are limited (8 KiB callbacks, 64 KiB API) and every request has a timeout.
//! * Several instances may share one PostgreSQL database: the inbox, reconciler and outbox
//!   claim rows with `FOR UPDATE SKIP LOCKED` plus a lease (`--lease-secs`, default 60), so a
//!   crashed instance's work is picked up after the lease. Correctness does not depend on the
//!   lease: transitions lock the order row and are idempotent, so work done twice (a lease
//!   that expired mid-work) still gives exactly one transition.
//!
//! ## Durability
//!
//! SQLite runs in WAL mode with `synchronous=FULL` (the default): a callback is acknowledged
//! only after its commit is fsynced, so it survives `kill -9` and power loss. Throughput comes
//! from group commit (one transaction per batch of concurrent callbacks), not from weaker
//! syncing; `--sqlite-synchronous normal` trades power-loss safety (not crash safety) for
//! speed. The crash-safety test kills the real binary under load and checks every
//! acknowledged callback was applied exactly once.
//!
//! ## What this crate does not do
//!
//! It does not implement the protocol or crypto (that is `sinopac-proto`), nor talk HTTP to
//! the bank itself (that is `sinopac-http`). It has no user accounts: the shop API is one
//! bearer token per server. It does not capture card orders on its own (the bank's
//! `ExpBillingDays` auto-capture or the shop's `capture` call does). In demo mode the bank is
//! the simulator: nothing is real money.

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
