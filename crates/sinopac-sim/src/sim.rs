//! The [`Sim`] itself: configuration, shops, the clock-driven scheduler and the public API.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use sinopac_proto::{
    Amount, BackendNotification, Keys, Limits, OrderNo, PayStatus, PayToken, PayType, ShopNo,
    is_backend_ack,
};

use crate::callbacks::{
    CallbackRequest, CallbackTransport, DeliveryAttempt, DeliveryOutcome, HttpTransport,
};
use crate::clock::SimClock;
use crate::faults::{Drawn, Fault, FaultPlan, FaultRule, Hit};
use crate::ledger::{
    CardInput, Ctx, Delivery, Event, Ledger, PayRandom, SeedOrder, SimOrder, default_ts_no,
};
use crate::nonce::{NonceStore, format_nonce};
use crate::rng::SplitMix64;

/// Errors of the simulator's own API (payments, control calls).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No such shop in the ledger.
    #[error("unknown shop {0}")]
    UnknownShop(String),
    /// No such order.
    #[error("shop {shop_no} has no order {order_no}")]
    UnknownOrder {
        /// Shop.
        shop_no: String,
        /// Order.
        order_no: String,
    },
    /// The order has the other pay type.
    #[error("order {order_no} is not a {expected} order")]
    WrongPayType {
        /// Order.
        order_no: String,
        /// The pay type the operation needs.
        expected: PayType,
    },
    /// The order's state does not allow the operation.
    #[error("order {order_no} has status {status}; cannot {action}")]
    InvalidState {
        /// Order.
        order_no: String,
        /// Its current status.
        status: PayStatus,
        /// What was attempted (`pay`, `capture`, `void`, `refund`).
        action: &'static str,
    },
    /// A refund larger than what is left to refund.
    #[error("order {order_no}: refund of {requested} exceeds the refundable {refundable}")]
    RefundTooLarge {
        /// Order.
        order_no: String,
        /// Requested amount.
        requested: Amount,
        /// What can still be refunded.
        refundable: Amount,
    },
    /// A capture larger than the authorisation (or zero).
    #[error("order {order_no}: capture of {requested} does not fit the authorised {authorised}")]
    CaptureTooLarge {
        /// Order.
        order_no: String,
        /// Requested amount.
        requested: Amount,
        /// Authorised amount.
        authorised: Amount,
    },
}

/// Simulator settings. [`SimConfig::default`] gives the bank-like values.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the RNG (nonces, PayTokens, page tokens, fault draws).
    pub seed: u64,
    /// Sim clock start, seconds since the Unix epoch (UTC). Default 2026-11-02 09:00 Taipei.
    pub start_time_unix: i64,
    /// `Some(s)`: the clock also runs with real time at `s`× speed and [`serve`](crate::serve)
    /// runs due work every second. `None` (default): the clock moves only when advanced.
    pub time_scale: Option<f64>,
    /// Nonce lifetime (60 s).
    pub nonce_ttl: Duration,
    /// ATM orders are paid automatically this long after creation unless the OrderNo ends in
    /// `9` (like the bank's shared sandbox). Default 5 minutes; `None` never.
    pub atm_auto_pay_after: Option<Duration>,
    /// Interval between BackendURL attempts (10 min).
    pub callback_retry_interval: Duration,
    /// Attempts per notification, the first included (5); 0 disables notifications.
    pub callback_max_attempts: u32,
    /// Timeout of one BackendURL POST (10 s, real time), whatever the transport; a timed-out
    /// attempt is logged as an `Error`.
    pub callback_timeout: Duration,
    /// Base of the hosted-page URLs (`CardPayURL`, `WebAtmURL`), e.g. `http://127.0.0.1:8080`
    /// or `http://127.0.0.1:8080/sim` when nested. Empty (default): set from the address by
    /// [`Sim::spawn_loopback`] / [`serve`](crate::serve), else `http://127.0.0.1:8080`.
    pub public_base_url: String,
    /// `false` (default): any HTTP 200 acknowledges a notification; `true`: the body must be
    /// `{"Status":"S"}`.
    pub require_ack_body: bool,
    /// Most rows in one `OrderQuery` / `OrderUnCapturedQuery` answer (300).
    pub max_rows: usize,
    /// Contract limits for `OrderCreate` validation (default: ATM cap NT$30,000).
    pub limits: Limits,
    /// Card page validity when `ExpMinutes` is absent (10).
    pub card_default_exp_minutes: u8,
    /// Payout delay for `AllotQuery`: entries of day D are paid out on D + this (2).
    pub allot_delay_days: u32,
    /// Fee on receipts in `AllotQuery`, in basis points (0).
    pub fee_rate_bps: u32,
    /// Longest a `Reorder` fault holds a callback back (1 min, sim time).
    pub reorder_max_hold: Duration,
}

/// 2026-11-02 01:00 UTC = 09:00 Taipei (a Monday).
pub const DEFAULT_START_UNIX: i64 = 1_793_581_200;

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0x5EED_5100_0AC0_FFEE,
            start_time_unix: DEFAULT_START_UNIX,
            time_scale: None,
            nonce_ttl: Duration::from_secs(60),
            atm_auto_pay_after: Some(Duration::from_secs(5 * 60)),
            callback_retry_interval: Duration::from_secs(10 * 60),
            callback_max_attempts: 5,
            callback_timeout: Duration::from_secs(10),
            public_base_url: String::new(),
            require_ack_body: false,
            max_rows: sinopac_proto::ORDER_QUERY_MAX_ROWS,
            limits: Limits::default(),
            card_default_exp_minutes: 10,
            allot_delay_days: 2,
            fee_rate_bps: 0,
            reorder_max_hold: Duration::from_secs(60),
        }
    }
}

/// One shop the sim knows: its number, keys and X-KeyID.
#[derive(Clone)]
pub struct ShopConfig {
    /// Shop number.
    pub shop_no: ShopNo,
    /// The shop's keys (A1..B2 → HashID).
    pub keys: Keys,
    /// The `X-KeyID` the shop must send.
    pub key_id: String,
}

impl fmt::Debug for ShopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopConfig")
            .field("shop_no", &self.shop_no)
            .field("keys", &self.keys)
            .field("key_id", &"<redacted>")
            .finish()
    }
}

impl ShopConfig {
    /// A shop.
    #[must_use]
    pub fn new(shop_no: ShopNo, keys: Keys, key_id: impl Into<String>) -> Self {
        Self {
            shop_no,
            keys,
            key_id: key_id.into(),
        }
    }

    /// The bank's former shared public sandbox shop `NA0249_001` with its published keys and
    /// X-KeyID (PROTOCOL.md §11.11) — handy for demos, since every example on the web uses it.
    /// Never use these keys for anything real.
    #[must_use]
    pub fn sandbox_example() -> Option<Self> {
        let keys = Keys::new(
            "86D50DEF3EB7400E",
            "01FD27C09E5549E5",
            "9E004965F4244953",
            "7FB3385F414E4F91",
        )
        .ok()?;
        Some(Self::new(
            ShopNo::new("NA0249_001").ok()?,
            keys,
            "b5e6986d-8636-4aa0-8c93-441ad14b2098",
        ))
    }
}

/// Counters of what the sim has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCounters {
    /// `POST /Nonce` requests.
    #[serde(rename = "NonceRequests")]
    pub nonce_requests: u64,
    /// Nonces handed out.
    #[serde(rename = "NoncesIssued")]
    pub nonces_issued: u64,
    /// `POST /Order` requests.
    #[serde(rename = "OrderRequests")]
    pub order_requests: u64,
    /// `POST /Order` requests per `APIService` (counted once the envelope parses).
    #[serde(rename = "ByService")]
    pub by_service: BTreeMap<String, u64>,
    /// Orders created through `OrderCreate`.
    #[serde(rename = "OrdersCreated")]
    pub orders_created: u64,
    /// Requests refused at the envelope level (HTTP 400/401, WAF page, or sealed E91xx).
    #[serde(rename = "EnvelopeRejections")]
    pub envelope_rejections: u64,
    /// Sealed replies with `Status: F` for business reasons.
    #[serde(rename = "BusinessFailures")]
    pub business_failures: u64,
    /// Faults injected (each fired rule counts once).
    #[serde(rename = "FaultsInjected")]
    pub faults_injected: u64,
    /// BackendURL attempts logged (dropped ones included).
    #[serde(rename = "CallbackAttempts")]
    pub callback_attempts: u64,
}

impl SimCounters {
    /// Requests for one service.
    #[must_use]
    pub fn service(&self, service: &sinopac_proto::ApiService) -> u64 {
        self.by_service.get(service.as_str()).copied().unwrap_or(0)
    }
}

pub(crate) struct ShopEntry {
    pub(crate) shop_no: ShopNo,
    pub(crate) keys: Keys,
    pub(crate) key_id: String,
    pub(crate) shop_arc: Arc<str>,
    pub(crate) key_arc: Arc<str>,
}

pub(crate) struct Inner {
    pub(crate) config: SimConfig,
    pub(crate) base_url: RwLock<Arc<str>>,
    /// `true` once a base URL was configured or set explicitly (then serving does not change it).
    pub(crate) base_explicit: std::sync::atomic::AtomicBool,
    pub(crate) clock: SimClock,
    pub(crate) shops: RwLock<HashMap<String, Arc<ShopEntry>>>,
    pub(crate) nonces: Mutex<NonceStore>,
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) faults: Mutex<FaultPlan>,
    pub(crate) rng: Mutex<SplitMix64>,
    pub(crate) transport: RwLock<Arc<dyn CallbackTransport>>,
    pub(crate) runner: tokio::sync::Mutex<()>,
    pub(crate) counters: Mutex<SimCounters>,
}

/// The simulated bank. Cheap to clone (an `Arc` inside); `Send + Sync`.
///
/// See the crate docs for the protocol policy, the control API and the state machine.
#[derive(Clone)]
pub struct Sim {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("now_unix", &self.now_unix())
            .finish_non_exhaustive()
    }
}

/// Fallback base URL for hosted pages.
const FALLBACK_BASE: &str = "http://127.0.0.1:8080";

impl Sim {
    /// A new simulator with no shops.
    #[must_use]
    pub fn new(config: SimConfig) -> Sim {
        let clock = SimClock::new(
            config.start_time_unix.saturating_mul(1000),
            config.time_scale,
        );
        let transport: Arc<dyn CallbackTransport> =
            Arc::new(HttpTransport::new(config.callback_timeout));
        let base: Arc<str> = Arc::from(config.public_base_url.trim_end_matches('/'));
        Sim {
            inner: Arc::new(Inner {
                rng: Mutex::new(SplitMix64::new(config.seed)),
                config,
                base_explicit: std::sync::atomic::AtomicBool::new(!base.is_empty()),
                base_url: RwLock::new(base),
                clock,
                shops: RwLock::new(HashMap::new()),
                nonces: Mutex::new(NonceStore::default()),
                ledger: Mutex::new(Ledger::default()),
                faults: Mutex::new(FaultPlan::default()),
                transport: RwLock::new(transport),
                runner: tokio::sync::Mutex::new(()),
                counters: Mutex::new(SimCounters::default()),
            }),
        }
    }

    /// The configuration the sim was built with.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// Adds a shop, or replaces it (key rotation: nonces issued under the old X-KeyID stop
    /// working).
    pub fn add_shop(&self, shop: ShopConfig) {
        let entry = Arc::new(ShopEntry {
            shop_arc: Arc::from(shop.shop_no.as_str()),
            key_arc: Arc::from(shop.key_id.as_str()),
            shop_no: shop.shop_no.clone(),
            keys: shop.keys,
            key_id: shop.key_id,
        });
        self.inner
            .shops
            .write()
            .insert(shop.shop_no.as_str().to_owned(), entry);
    }

    /// The shops configured.
    #[must_use]
    pub fn shops(&self) -> Vec<ShopNo> {
        let mut v: Vec<ShopNo> = self
            .inner
            .shops
            .read()
            .values()
            .map(|s| s.shop_no.clone())
            .collect();
        v.sort();
        v
    }

    pub(crate) fn shop_entry(&self, shop_no: &str) -> Option<Arc<ShopEntry>> {
        self.inner.shops.read().get(shop_no).cloned()
    }

    /// The base URL of the hosted pages (no trailing `/`).
    #[must_use]
    pub fn public_base_url(&self) -> String {
        let b = self.inner.base_url.read().clone();
        if b.is_empty() {
            FALLBACK_BASE.to_owned()
        } else {
            b.to_string()
        }
    }

    /// Sets the base URL of the hosted pages (e.g. when the router is nested under `/sim`).
    pub fn set_public_base_url(&self, url: &str) {
        self.inner
            .base_explicit
            .store(true, std::sync::atomic::Ordering::Release);
        *self.inner.base_url.write() = Arc::from(url.trim_end_matches('/'));
    }

    /// Sets the base URL from a served address unless one was configured or set explicitly
    /// (the latest served address wins).
    pub(crate) fn set_base_if_unset(&self, url: &str) {
        if !self
            .inner
            .base_explicit
            .load(std::sync::atomic::Ordering::Acquire)
        {
            *self.inner.base_url.write() = Arc::from(url.trim_end_matches('/'));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Clock and scheduler

    /// The sim clock, seconds since the Unix epoch (UTC).
    #[must_use]
    pub fn now_unix(&self) -> i64 {
        self.inner.clock.now_unix()
    }

    /// The sim clock, milliseconds since the Unix epoch (UTC).
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SimClock {
        &self.inner.clock
    }

    /// Moves the clock forward by `by` and runs everything that falls due on the way
    /// (ATM auto-pay, expiry, automatic capture, callback attempts), each at its own time, in
    /// time order. Returns when all of it has run (callbacks are awaited).
    pub async fn advance(&self, by: Duration) {
        let _guard = self.inner.runner.lock().await;
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        let target = self.now_ms().saturating_add(ms);
        self.run_until(target).await;
        self.inner.clock.set_at_least(target);
        self.run_until(self.now_ms()).await;
    }

    /// Runs whatever is due now, without moving the clock.
    pub async fn run_due(&self) {
        let _guard = self.inner.runner.lock().await;
        self.run_until(self.now_ms()).await;
    }

    /// Starts a task that calls [`Sim::run_due`] every `every` of real time (for a sim with a
    /// `time_scale`, or to deliver callbacks without anyone calling `run_due`).
    #[must_use]
    pub fn spawn_ticker(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every.max(Duration::from_millis(1)));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                sim.run_due().await;
            }
        })
    }

    pub(crate) fn has_due(&self) -> bool {
        let now = self.now_ms();
        self.inner
            .ledger
            .lock()
            .next_due_ms()
            .is_some_and(|due| due <= now)
    }

    /// When the next timer or callback attempt is due (sim time, unix ms), if any.
    #[must_use]
    pub fn next_due_ms(&self) -> Option<i64> {
        self.inner.ledger.lock().next_due_ms()
    }

    /// Spawns `run_due` in the background if something is due (used by HTTP handlers so that
    /// a reply never waits for a merchant's callback endpoint).
    pub(crate) fn kick(&self) {
        if self.has_due() {
            let sim = self.clone();
            tokio::spawn(async move { sim.run_due().await });
        }
    }

    async fn run_until(&self, target_ms: i64) {
        loop {
            let next = self.inner.ledger.lock().pop_due(target_ms);
            let Some(s) = next else { break };
            self.inner.clock.set_at_least(s.due_ms);
            match s.event {
                Event::Callback {
                    delivery,
                    attempt,
                    late_done,
                } => self.run_callback(delivery, attempt, late_done).await,
                Event::ReleaseHeld => self.release_held().await,
                timer => {
                    let rnd = self.pay_random();
                    let base = self.public_base_url();
                    // A timer takes effect at its own time, even when a time-scaled clock
                    // has already run past it.
                    let ctx = Ctx {
                        now_ms: s.due_ms,
                        cfg: &self.inner.config,
                        base_url: &base,
                    };
                    self.inner.ledger.lock().apply_timer(&ctx, &timer, rnd);
                }
            }
        }
    }

    pub(crate) fn ctx<'a>(&'a self, base: &'a str) -> Ctx<'a> {
        Ctx {
            now_ms: self.now_ms(),
            cfg: &self.inner.config,
            base_url: base,
        }
    }

    pub(crate) fn pay_random(&self) -> PayRandom {
        let mut rng = self.inner.rng.lock();
        // 64 lower-case hex digits always make a valid PayToken; loop instead of unwrap.
        let token = loop {
            if let Ok(t) = PayToken::new(rng.hex(64)) {
                break t;
            }
        };
        let auth = rng.next_u64() % 1_000_000;
        drop(rng);
        PayRandom {
            token,
            auth_code: format!("{auth:06}"),
        }
    }

    pub(crate) fn random_guid(&self) -> String {
        self.inner.rng.lock().guid()
    }

    pub(crate) fn random_digits(&self, n: u32) -> String {
        let v = self.inner.rng.lock().next_u64() % 10u64.pow(n.min(18));
        format!("{v:0width$}", width = n as usize)
    }

    /// Issues a nonce for the shop (and its current X-KeyID) and remembers it (for `/Nonce`).
    pub(crate) fn issue_nonce(&self, shop: &ShopEntry) -> String {
        let nonce = self.fresh_nonce_text();
        let now = self.now_ms();
        let ttl = i64::try_from(self.inner.config.nonce_ttl.as_millis()).unwrap_or(i64::MAX);
        self.inner
            .nonces
            .lock()
            .insert(nonce.clone(), &shop.shop_arc, &shop.key_arc, now, ttl);
        self.inner.counters.lock().nonces_issued += 1;
        nonce
    }

    /// A fresh nonce text (not remembered: used for reply envelopes).
    pub(crate) fn fresh_nonce_text(&self) -> String {
        let (tenth, random) = {
            let mut rng = self.inner.rng.lock();
            let tenth = rng.next_u64() % 10;
            let mut random = [0u8; 32];
            for chunk in random.chunks_mut(8) {
                let v = rng.next_u64().to_le_bytes();
                chunk.copy_from_slice(v.get(..chunk.len()).unwrap_or(&[]));
            }
            (tenth, random)
        };
        format_nonce(self.now_ms(), tenth, &random)
    }

    pub(crate) fn draw(&self, hit: &Hit<'_>) -> Drawn {
        let mut faults = self.inner.faults.lock();
        if faults.rules.is_empty() {
            return Drawn::default();
        }
        let drawn = faults.draw(hit, &mut self.inner.rng.lock());
        drop(faults);
        if !drawn.is_empty() {
            self.inner.counters.lock().faults_injected += drawn.fired.len() as u64;
        }
        drawn
    }

    // ------------------------------------------------------------------------------------------
    // Payments

    /// Makes the ATM transfer for an order (like the buyer paying at an ATM), then delivers
    /// the BackendURL notification's first attempt before returning.
    ///
    /// # Errors
    /// [`SimError`] if the order does not exist, is not an ATM order, or is not awaiting
    /// payment (already paid, expired).
    pub async fn pay_atm(
        &self,
        shop_no: &ShopNo,
        order_no: &OrderNo,
    ) -> Result<PayToken, SimError> {
        let token = self.pay_atm_now(shop_no, order_no)?;
        self.run_due().await;
        Ok(token)
    }

    pub(crate) fn pay_atm_now(
        &self,
        shop_no: &ShopNo,
        order_no: &OrderNo,
    ) -> Result<PayToken, SimError> {
        let rnd = self.pay_random();
        let base = self.public_base_url();
        let ctx = self.ctx(&base);
        self.inner
            .ledger
            .lock()
            .pay_atm(&ctx, shop_no.as_str(), order_no.as_str(), rnd)
    }

    /// Pays a card order as the hosted page would, without HTML: `approve` authorises it (and
    /// captures it at once if `AutoBilling=Y`, notifying BackendURL), otherwise it is declined.
    /// Returns the PayToken the page would post to ReturnURL.
    ///
    /// # Errors
    /// [`SimError`] if the order does not exist, is not a card order, or is not awaiting
    /// payment.
    pub async fn pay_card(
        &self,
        shop_no: &ShopNo,
        order_no: &OrderNo,
        approve: bool,
    ) -> Result<PayToken, SimError> {
        let token = self.pay_card_now(shop_no, order_no, approve, &CardInput::default())?;
        self.run_due().await;
        Ok(token)
    }

    pub(crate) fn pay_card_now(
        &self,
        shop_no: &ShopNo,
        order_no: &OrderNo,
        approve: bool,
        card: &CardInput,
    ) -> Result<PayToken, SimError> {
        let rnd = self.pay_random();
        let base = self.public_base_url();
        let ctx = self.ctx(&base);
        self.inner.ledger.lock().pay_card(
            &ctx,
            shop_no.as_str(),
            order_no.as_str(),
            approve,
            card,
            rnd,
        )
    }

    /// Pays an order of either type (`approve` only matters for cards).
    ///
    /// # Errors
    /// As [`Sim::pay_atm`] / [`Sim::pay_card`].
    pub async fn pay(
        &self,
        shop_no: &ShopNo,
        order_no: &OrderNo,
        approve: bool,
    ) -> Result<PayToken, SimError> {
        let pay_type = self
            .order(shop_no, order_no)
            .map(|o| o.pay_type)
            .ok_or_else(|| SimError::UnknownOrder {
                shop_no: shop_no.as_str().to_owned(),
                order_no: order_no.as_str().to_owned(),
            })?;
        if pay_type == PayType::Atm {
            self.pay_atm(shop_no, order_no).await
        } else {
            self.pay_card(shop_no, order_no, approve).await
        }
    }

    // ------------------------------------------------------------------------------------------
    // Ledger views

    /// A snapshot of one order.
    #[must_use]
    pub fn order(&self, shop_no: &ShopNo, order_no: &OrderNo) -> Option<SimOrder> {
        self.inner
            .ledger
            .lock()
            .order(shop_no.as_str(), order_no.as_str())
            .cloned()
    }

    /// Snapshots of all orders of a shop, in creation order.
    #[must_use]
    pub fn orders(&self, shop_no: &ShopNo) -> Vec<SimOrder> {
        self.inner
            .ledger
            .lock()
            .shop(shop_no.as_str())
            .map(|s| s.orders.clone())
            .unwrap_or_default()
    }

    /// Number of orders of a shop.
    #[must_use]
    pub fn order_count(&self, shop_no: &ShopNo) -> usize {
        self.inner
            .ledger
            .lock()
            .shop(shop_no.as_str())
            .map_or(0, |s| s.orders.len())
    }

    /// Inserts orders directly into the ledger, bypassing the protocol (for 300-row and
    /// reconciliation tests). Seeded orders are inert: no auto-pay, expiry or capture timers
    /// run for them; move them with [`Sim::pay_atm`] / [`Sim::pay_card`]. Duplicate OrderNos
    /// are skipped. Returns how many were inserted.
    pub fn seed_orders(
        &self,
        shop_no: &ShopNo,
        orders: impl IntoIterator<Item = SeedOrder>,
    ) -> usize {
        self.inner
            .ledger
            .lock()
            .seed(shop_no, orders, default_ts_no)
    }

    /// Every BackendURL attempt so far, in the order they happened.
    #[must_use]
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.inner.ledger.lock().log.clone()
    }

    /// The BackendURL attempts for one order, in the order they happened.
    #[must_use]
    pub fn deliveries_for(&self, shop_no: &ShopNo, order_no: &OrderNo) -> Vec<DeliveryAttempt> {
        self.inner
            .ledger
            .lock()
            .log
            .iter()
            .filter(|a| a.shop_no == *shop_no && a.order_no == *order_no)
            .cloned()
            .collect()
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, faults: FaultPlan) {
        *self.inner.faults.lock() = faults;
    }

    /// Adds one fault rule to the plan.
    pub fn add_fault(&self, rule: FaultRule) {
        self.inner.faults.lock().rules.push(rule);
    }

    /// The current plan (with `Count`/`Skip` budgets as they are now).
    #[must_use]
    pub fn faults(&self) -> FaultPlan {
        self.inner.faults.lock().clone()
    }

    /// Sets how BackendURL notifications are delivered.
    pub fn set_callback_transport(&self, transport: Arc<dyn CallbackTransport>) {
        *self.inner.transport.write() = transport;
    }

    /// Counters.
    #[must_use]
    pub fn counters(&self) -> SimCounters {
        self.inner.counters.lock().clone()
    }

    /// Timers and callback attempts still scheduled.
    #[must_use]
    pub fn pending_events(&self) -> usize {
        self.inner.ledger.lock().pending_events()
    }

    // ------------------------------------------------------------------------------------------
    // Callbacks

    async fn run_callback(&self, delivery: usize, attempt: u32, late_done: bool) {
        let cfg = &self.inner.config;
        let now = self.now_ms();
        let (d, copies) = {
            let mut ledger = self.inner.ledger.lock();
            let Some(d) = ledger.deliveries.get(delivery).cloned() else {
                return;
            };
            if d.acked {
                return;
            }
            if late_done {
                (d, 1)
            } else {
                let interval =
                    i64::try_from(cfg.callback_retry_interval.as_millis()).unwrap_or(i64::MAX / 8);
                if attempt < cfg.callback_max_attempts {
                    ledger.schedule(
                        d.first_ms
                            .saturating_add(interval.saturating_mul(i64::from(attempt))),
                        Event::Callback {
                            delivery,
                            attempt: attempt + 1,
                            late_done: false,
                        },
                    );
                }
                let drawn = {
                    let mut faults = self.inner.faults.lock();
                    if faults.rules.is_empty() {
                        Drawn::default()
                    } else {
                        faults.draw(&Hit::Callback, &mut self.inner.rng.lock())
                    }
                };
                if !drawn.is_empty() {
                    self.inner.counters.lock().faults_injected += drawn.fired.len() as u64;
                }
                if let Some(ms) = drawn.late_ms() {
                    ledger.schedule(
                        now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX / 8)),
                        Event::Callback {
                            delivery,
                            attempt,
                            late_done: true,
                        },
                    );
                    return;
                }
                if drawn.has(&Fault::Drop) {
                    ledger.log.push(attempt_record(
                        delivery,
                        &d,
                        attempt,
                        now,
                        false,
                        DeliveryOutcome::Dropped,
                    ));
                    self.inner.counters.lock().callback_attempts += 1;
                    return;
                }
                if drawn.has(&Fault::Reorder) {
                    ledger.held.push((delivery, attempt));
                    let hold = i64::try_from(cfg.reorder_max_hold.as_millis()).unwrap_or(60_000);
                    ledger.schedule(now.saturating_add(hold), Event::ReleaseHeld);
                    return;
                }
                (d, if drawn.has(&Fault::Duplicate) { 2 } else { 1 })
            }
        };
        self.send(delivery, &d, attempt, copies).await;
        self.release_held().await;
    }

    async fn release_held(&self) {
        let held = std::mem::take(&mut self.inner.ledger.lock().held);
        for (delivery, attempt) in held {
            let d = self.inner.ledger.lock().deliveries.get(delivery).cloned();
            if let Some(d) = d
                && !d.acked
            {
                self.send(delivery, &d, attempt, 1).await;
            }
        }
    }

    async fn send(&self, delivery: usize, d: &Delivery, attempt: u32, copies: u32) {
        let body = BackendNotification {
            shop_no: d.shop_no.clone(),
            pay_token: d.token.clone(),
        }
        .to_json();
        let transport = self.inner.transport.read().clone();
        for copy in 0..copies {
            let at = self.now_ms();
            let timeout = self.inner.config.callback_timeout;
            let result = match tokio::time::timeout(
                timeout,
                transport.deliver(CallbackRequest {
                    url: d.url.clone(),
                    body: body.clone(),
                }),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {timeout:?}").into()),
            };
            let outcome = match result {
                Ok(reply) => {
                    let acked = reply.status == 200
                        && (!self.inner.config.require_ack_body || is_backend_ack(&reply.body));
                    if acked {
                        DeliveryOutcome::Acked {
                            status: reply.status,
                        }
                    } else {
                        DeliveryOutcome::NotAcked {
                            status: reply.status,
                        }
                    }
                }
                Err(e) => DeliveryOutcome::Error {
                    message: error_chain(e.as_ref()),
                },
            };
            let mut ledger = self.inner.ledger.lock();
            if outcome.is_acked()
                && let Some(x) = ledger.deliveries.get_mut(delivery)
            {
                x.acked = true;
            }
            ledger
                .log
                .push(attempt_record(delivery, d, attempt, at, copy > 0, outcome));
            drop(ledger);
            self.inner.counters.lock().callback_attempts += 1;
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

fn attempt_record(
    delivery: usize,
    d: &Delivery,
    attempt: u32,
    at_ms: i64,
    duplicate: bool,
    outcome: DeliveryOutcome,
) -> DeliveryAttempt {
    DeliveryAttempt {
        delivery_id: delivery as u64,
        shop_no: d.shop_no.clone(),
        order_no: d.order_no.clone(),
        pay_token: d.token.clone(),
        url: d.url.clone(),
        attempt,
        at: at_ms.div_euclid(1000),
        at_ms,
        duplicate,
        outcome,
    }
}
