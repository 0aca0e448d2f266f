//! # sinopac-sim — Bank SinoPac's 豐收款 API, offline
//!
//! A stateful simulator of the bank's merchant API (QPay / funBIZ), faithful to
//! `docs/PROTOCOL.md`, so that clients, the CLI and the merchant server can be tested end to
//! end without the bank's sandbox — and so that merchants can develop against it.
//!
//! It speaks the real protocol (it uses `sinopac-proto` for every byte of crypto and signing):
//! `POST /Nonce` and `POST /Order` with `X-KeyID`, single-use nonces that expire, sealed
//! replies with a fresh nonce; it keeps an order ledger with the state rules of ATM and card
//! orders; it serves the hosted card and WebATM pages; it sends BackendURL notifications with
//! the bank's retry schedule; and everything runs on a controllable clock and a seeded RNG, with
//! fault injection on every route.
//!
//! ## Three ways to use it
//!
//! * **In-process, no sockets** — `sim.router()` is an [`axum::Router`]; drive it with
//!   `tower::ServiceExt::oneshot`.
//! * **Over loopback** — [`Sim::spawn_loopback`] binds `127.0.0.1:0` and returns a
//!   [`SimServer`] whose `base_url()` (`http://127.0.0.1:PORT/`) is the bank base URL.
//! * **As a binary** — [`serve`] (used by `sinopac sim serve`).
//!
//! ```
//! use sinopac_proto::{Keys, ShopNo};
//! use sinopac_sim::{ShopConfig, Sim, SimConfig};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Sim::new(SimConfig::default());
//! let keys = Keys::new("86D50DEF3EB7400E", "01FD27C09E5549E5", "9E004965F4244953", "7FB3385F414E4F91")?;
//! sim.add_shop(ShopConfig::new(ShopNo::new("NA0249_001")?, keys, "b5e6986d-8636-4aa0-8c93-441ad14b2098"));
//! let server = sim.spawn_loopback().await?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! In-process, a whole exchange looks like this (the `sinopac-http` client does the same over
//! any transport):
//!
//! ```
//! use sinopac_proto::{open, seal, Envelope, Keys, Nonce, OrderNo, OrderQueryRequest, OrderQueryResponse, ShopNo, Status};
//! use sinopac_sim::{ShopConfig, Sim, SimConfig};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Sim::new(SimConfig::default());
//! let shop = ShopConfig::sandbox_example().ok_or("example shop")?;
//! let (shop_no, keys, key_id) = (shop.shop_no.clone(), shop.keys.clone(), shop.key_id.clone());
//! sim.add_shop(shop);
//! let app = sim.router();
//!
//! let post = |path: &str, body: String| {
//!     http::Request::post(path)
//!         .header("content-type", "application/json")
//!         .header("X-KeyID", key_id.as_str())
//!         .body(axum::body::Body::from(body))
//! };
//! // 1. A nonce.
//! let reply = app.clone().oneshot(post("/Nonce", format!(r#"{{"ShopNo":"{shop_no}"}}"#))?).await?;
//! let body = axum::body::to_bytes(reply.into_body(), 1 << 20).await?;
//! let nonce = Nonce::new(serde_json::from_slice::<serde_json::Value>(&body)?["Nonce"].as_str().unwrap_or_default())?;
//! // 2. A sealed request; 3. the sealed reply, opened with its own fresh nonce.
//! let request = OrderQueryRequest::by_order_no(shop_no.clone(), OrderNo::new("A0001")?);
//! let envelope = seal(&request, &nonce, &keys)?;
//! let reply = app.clone().oneshot(post("/Order", serde_json::to_string(&envelope)?)?).await?;
//! let body = axum::body::to_bytes(reply.into_body(), 1 << 20).await?;
//! let answer: OrderQueryResponse = open(&serde_json::from_slice::<Envelope>(&body)?, &keys)?;
//! assert_eq!(answer.status, Status::Success);
//! assert!(answer.order_list.is_empty());
//! assert_eq!(sim.counters().order_requests, 1);
//! # Ok(()) }
//! ```
//!
//! ## What this crate does not do
//!
//! It is not the bank: codes and behaviours the bank never published (PROTOCOL.md §14) are a
//! documented **sim policy** below, not facts. No TLS (put a proxy in front if you need it), no
//! persistence (the ledger lives in memory), no authentication on the `/_sim/` control API (bind
//! it to loopback). Services other than the seven of `sinopac-proto` answer `E9013`.
//!
//! ## Endpoints
//!
//! The router serves, relative to wherever it is mounted:
//!
//! | Method, path | What |
//! |---|---|
//! | `POST /Nonce` | `{"ShopNo":…}` → `{"Nonce":…}` |
//! | `POST /Order` | the sealed envelope, both ways |
//! | `GET/POST /pay/card?TD={TSNo}&TK={token}` | hosted card page (the `CardPayURL`) |
//! | `GET/POST /pay/webatm?TD=…&TK=…`, `/pay/otp?…` | WebATM page (`WebAtmURL`, `OtpURL`): one button transfers |
//! | `/_sim/…` | control API (below) |
//!
//! Hosted-page URLs are built from [`SimConfig::public_base_url`] (or the served address, see
//! [`Sim::set_public_base_url`] when nesting the router under a prefix).
//!
//! ## Envelope policy (sim policy, PROTOCOL.md §12)
//!
//! Checked in this order:
//!
//! | Condition | Answer |
//! |---|---|
//! | `Content-Type` not `application/json`, or a body that is not JSON (e.g. a form) | **HTTP 200**, `text/html` WAF page "Request Rejected … Your support ID is: …" (like the bank's F5 front end) |
//! | JSON but not an envelope / not `{"ShopNo"}` | HTTP 400, `{"Status":"F","Description":"E9011 – …"}` |
//! | `Version` ≠ `1.0.0` | HTTP 400, `E9012` |
//! | `X-KeyID` header missing or empty | HTTP 401, `E9001` |
//! | unknown `ShopNo` | HTTP 400, `E9010` |
//! | `X-KeyID` is not this shop's | HTTP 401, `E9002` |
//! | `Message` does not decrypt (or is not a JSON object) | HTTP 400, `E9020` |
//! | `Sign` does not verify | HTTP 200, sealed envelope, message `{"ShopNo","Status":"F","Description":"E9101 – …"}` |
//! | nonce never issued / expired (older than `nonce_ttl`) / already used / issued for another ShopNo or X-KeyID | sealed `E9102` / `E9103` / `E9104` / `E9105` |
//! | unknown `APIService` | sealed `E9013` |
//!
//! HTTP-level failures carry plain JSON `{"Status":"F","Description":"<code> – <text>"}` and no
//! `Message`. Every `/Order` call that gets past the `X-KeyID` check and names an issued nonce
//! uses it up, whatever the outcome (a fault injected *before* processing does not).
//! Nonces are Base64 of `"<.NET ms since 0001-01-01, Taiwan time>[.d]:<64 hex>"` (108 chars),
//! valid once, for `nonce_ttl` (60 s) of sim time, for the ShopNo **and** X-KeyID they were
//! issued to. Replies are sealed with a fresh nonce (not usable for requests).
//!
//! ## Business codes (sealed replies with `Status: F`)
//!
//! | Code | When |
//! |---|---|
//! | `E0100` | the message does not have the service's fields/types |
//! | `E0101` | `Request::validate` fails (e.g. `ExpMinutes` outside 1–30, `ExpBillingDays` outside 1–7, ATM amount over the cap, PrdtName too long); the description names the field |
//! | `E0102` | `ShopNo` inside the message ≠ the envelope's |
//! | `E0105` | ATM `ExpireDate` before today (Taiwan time) |
//! | `E0201` | duplicate `OrderNo` for the shop (in any state) |
//! | `E0202` | `OrderMaintain` on an unknown order |
//! | `E0203` | `OrderPayQuery` with an unknown PayToken (or another shop's) |
//! | `E0301` | the order's state does not allow the command (void after capture, refund before capture, capture twice, …) |
//! | `E0302` | refund larger than captured minus already refunded |
//! | `E0303` | capture `Amount` larger than the authorisation (partial capture below it is allowed) |
//! | `E0304` | `OrderMaintain` on an ATM order |
//! | `E0602` | 收款方式未啟用: `PayType` other than `A`/`C`, or `PayTypeSub` other than `ONE` |
//!
//! Success is `S0000 – 處理成功` (EN DASH). Descriptions are `"<code> – <text>"`.
//! `OrderQuery`, `OrderUnCapturedQuery`, `BillQuery` and `AllotQuery` with no rows succeed
//! with an empty list.
//!
//! ## Order state machine (PayStatus)
//!
//! * **ATM**: `1A200` pending → `1A400` paid (transfer through [`Sim::pay_atm`], the WebATM page,
//!   `POST /_sim/pay`, or **auto-pay** `atm_auto_pay_after` (5 min) after creation unless the
//!   OrderNo ends in `9`) | `1A600` expired at the end (24:00 Taiwan time) of `ExpireDate`.
//!   BackendURL is notified on payment.
//! * **Card**: `1C200` pending → on the card page: approve → `1C300` authorised (then at once
//!   `1C400` captured if `AutoBilling=Y`) | decline → `1C900` | `1C600` expired `ExpMinutes`
//!   (default 10) after creation. `1C300` → `1C400` by `OrderMaintain P` (optional `Amount` ≤
//!   authorised) or automatically `ExpBillingDays` days after authorisation | `1C500` voided by
//!   `OrderMaintain C`. `1C400` → refunds `OrderMaintain R` (optional `Amount`, default: what is
//!   left); cumulative refunds ≤ captured; partially refunded orders stay `1C400` with
//!   `RefundFlag=Y`/`RefundAmount`, fully refunded ones become `1C700`. BackendURL is notified on
//!   capture (immediately for AutoBilling=Y, at capture time otherwise).
//! * One PayToken per order, handed out when the buyer pays (or is declined); `OrderPayQuery`
//!   answers `TSResultContent` with `Status` `S` (`F` for declined), `Amount` as a string,
//!   `PayDate` = payment/capture time (authorisation time before capture).
//!
//! ## Queries
//!
//! * `OrderQuery`: conditions as PROTOCOL.md §8.4 — `OrderNo`, `PayType`, order-date range
//!   (inclusive minutes on `TSDate`), pay-date range (inclusive minutes on `PayDate`; orders
//!   without one never match), `PayFlag`: ATM `Y`=1A400, `N`=1A200, `O`=1A600; card
//!   `Y`=1C400/1C700, `N`=1C200/1C300/1C500/1C900, `O`=1C600. **Order of rows: `TSDate`
//!   (minute) ascending, then `OrderNo` ascending (byte order); when the query has a pay-date
//!   range but no order-date range, `PayDate` (minute) ascending, then `OrderNo`**. At most
//!   [`SimConfig::max_rows`] (300): when more match, the first 300 in that order.
//!   `ExpireDate` is the ATM due date at `2359`, or the card page's expiry.
//! * `OrderUnCapturedQuery`: card orders in `1C300`, same order, `ExpireDate` = automatic
//!   capture time.
//! * `BillQuery`: one row per receipt (`P`: ATM payment, card capture) and per refund (`R`)
//!   whose time falls on `BillDate` (Taiwan date), ordered by time then OrderNo.
//! * `AllotQuery` (sim allot rule): every bill row of day D is paid out on D +
//!   [`SimConfig::allot_delay_days`] (2), one allotment per (date, PayType), listed only once
//!   that date has come (sim clock). `FeeAmount` = Σ receipts × [`SimConfig::fee_rate_bps`]
//!   / 10 000 (rounded down per row; default 0), `AllotAmount` = `PayAmount` − `RefundAmount`
//!   − `FeeAmount`, `AllotNo` = shop prefix + date + PayType.
//!
//! ## Callbacks (BackendURL)
//!
//! On ATM payment and card capture the sim POSTs JSON `{"ShopNo","PayToken"}` to the order's
//! BackendURL through the [`CallbackTransport`] (default: real HTTP with reqwest + rustls;
//! [`callback_fn`] and [`RouterTransport`] for tests). Attempts at +0, +10, +20, +30, +40 min
//! (`callback_retry_interval`, `callback_max_attempts`) of sim time after the payment, stopping
//! at the first acknowledgement: HTTP 200 (and body `{"Status":"S"}` if
//! [`SimConfig::require_ack_body`]). Every attempt is logged ([`Sim::deliveries`],
//! `GET /_sim/deliveries`). The +0 attempt goes out before [`Sim::pay_atm`] / [`Sim::pay_card`]
//! return; after an HTTP request that made something due (card page, OrderMaintain capture) a
//! background task runs it; retries go out when the clock passes them ([`Sim::advance`], or
//! the ticker of a sim with a `time_scale`).
//!
//! A [`CallbackTransport`] must not itself call [`Sim::advance`], [`Sim::run_due`] or the
//! `pay_*` methods (they wait for the delivery in progress): answer the notification, and do
//! the follow-up work (e.g. `OrderPayQuery` over HTTP) in the merchant's own time.
//!
//! ## Clock and randomness
//!
//! [`SimClock`] starts at [`SimConfig::start_time_unix`] and only moves when told
//! ([`Sim::advance`] runs everything due on the way, each at its own time), unless
//! [`SimConfig::time_scale`] makes it follow real time. Nonces, PayTokens, page tokens, card
//! auth codes and fault draws come from a SplitMix64 seeded with [`SimConfig::seed`]: the same
//! seed and the same calls give the same ledger, tokens and delivery log.
//!
//! ## Faults
//!
//! A [`FaultPlan`] is a list of [`FaultRule`]s: a [`Route`] (`Any`, `Nonce`, `Order`, one
//! `APIService`, `Callback`), a [`Fault`], a probability (drawn from the seeded RNG), an
//! optional `Count` ("the next n") and `Skip`. Kinds: `Latency`, `HttpStatus` (HTML error page),
//! `WafHtml`, `Hang` (holds the request `HangMaxMs`, then 504), `Reset` (connection closed
//! mid-answer), `Truncate` (half of the JSON body), `TamperSign`, `StaleNonce` (reply sealed
//! with the request's used nonce), and for callbacks `Drop`, `Duplicate`, `Reorder`, `Late`.
//! With `AfterProcessing`, `HttpStatus`/`WafHtml`/`Hang`/`Reset` happen after the request took
//! effect — "the next OrderCreate reply is lost after the order is created":
//!
//! ```
//! use sinopac_proto::ApiService;
//! use sinopac_sim::{Fault, FaultRule, Route, Sim, SimConfig};
//! let sim = Sim::new(SimConfig::default());
//! sim.add_fault(
//!     FaultRule::new(Route::Service(ApiService::OrderCreate), Fault::HttpStatus { status: 502 })
//!         .after_processing()
//!         .count(1),
//! );
//! ```
//!
//! ## Logging
//!
//! `tracing` events (target `sinopac_sim`): every refused request with its code and reason,
//! injected faults and notification attempts at `info`, successful calls at `debug`. They
//! carry ShopNo, OrderNo, APIService and codes — never keys, HashIDs, X-KeyIDs, PayTokens or
//! message plaintext.
//!
//! ## Control API (JSON, no authentication)
//!
//! | Method, path | Body / query | Answer |
//! |---|---|---|
//! | `GET /_sim` | — | the list of endpoints |
//! | `POST /_sim/pay` | `{"ShopNo"?,"OrderNo","Approve"?}` (ShopNo may be omitted when only one shop has the OrderNo; Approve: cards, default true) | `{"ShopNo","OrderNo","PayToken","PayStatus"}`; 404 unknown order, 409 wrong state; waits for the +0 callback attempt |
//! | `POST /_sim/advance` | `{"Seconds":N}` | clock (below), after running everything due |
//! | `POST /_sim/run_due` | — | clock |
//! | `GET /_sim/clock` | — | `{"Now":unix,"NowMs":…,"BankTime":"yyyyMMddHHmm","PendingEvents":n}` |
//! | `GET /_sim/deliveries` | `?ShopNo=&OrderNo=` optional | `[DeliveryAttempt]` |
//! | `GET /_sim/orders` | `?ShopNo=` optional | `[SimOrder]` |
//! | `GET /_sim/order` | `?ShopNo=&OrderNo=` | `SimOrder` or 404 |
//! | `GET /_sim/faults`, `PUT /_sim/faults` | `FaultPlan` JSON | the plan now in force |
//! | `GET /_sim/counters` | — | [`SimCounters`] |
//! | `GET /_sim/shops`, `POST /_sim/shops` | `{"ShopNo","A1","A2","B1","B2","KeyID"}` | shop numbers / `{"ShopNo"}` |
//!
//! Errors are `{"Error":"…"}` with 400/404/409. JSON field names are PascalCase, as in
//! [`DeliveryAttempt`], [`SimOrder`], [`FaultPlan`] and [`SimCounters`].

mod callbacks;
mod clock;
mod faults;
mod http;
mod ledger;
mod nonce;
mod pages;
mod rng;
mod server;
mod sim;

pub use callbacks::{
    BoxError, CallbackFuture, CallbackReply, CallbackRequest, CallbackTransport, DeliveryAttempt,
    DeliveryOutcome, HttpTransport, RouterTransport, callback_fn,
};
pub use clock::SimClock;
pub use faults::{Fault, FaultPlan, FaultRule, Route};
pub use ledger::{LedgerEntry, SeedOrder, SimOrder};
pub use server::{SimServer, serve, serve_with_shutdown};
pub use sim::{DEFAULT_START_UNIX, ShopConfig, Sim, SimConfig, SimCounters, SimError};
