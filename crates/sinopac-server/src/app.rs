//! The HTTP application: [`app`] builds the router from an [`AppState`].
//!
//! | Route | Auth | What |
//! |---|---|---|
//! | `POST /sinopac/backend` | none (bank) | BackendURL: store `{ShopNo, PayToken}` durably, answer `{"Status":"S"}` (400 for a ShopNo this server does not serve) |
//! | `POST /sinopac/return` | none (browser) | ReturnURL: store, ask the bank, render a zh-TW / English result page |
//! | `POST /api/v1/orders` | bearer | create an ATM or card order (409 with the existing order on a duplicate OrderNo) |
//! | `GET /api/v1/orders` | bearer | list (`shop_no`, `status`, `needs_review`, `from`, `to` (Unix ms or Taiwan date `yyyy-mm-dd`), `limit`) |
//! | `GET /api/v1/orders/{order_no}` | bearer | one order with its transitions and notification attempts (`shop_no` query if several shops) |
//! | `POST /api/v1/orders/{order_no}/capture`, `/void`, `/refund` | bearer | card maintenance (`{"amount":…,"remark":…}`) |
//! | `POST /api/v1/orders/{order_no}/review/clear` | bearer | clear `needs_review` and reconcile again |
//! | `GET /api/v1/reconciliation/report?from=&to=` | bearer | differences between our records and the bank's |
//! | `POST /api/v1/reconciliation/run` | bearer | run one reconcile cycle now |
//! | `GET /admin/v1/shops`, `PUT /admin/v1/shops/{shop_no}` | admin bearer | list shops / add or rotate keys (`{"key_id","a1","a2","b1","b2"}`) — credentials are never returned |
//! | `GET /healthz`, `/readyz`, `/metrics` | none | liveness, readiness (database reachable), Prometheus |
//! | `GET /`, `POST /demo/checkout`, `GET /demo/orders/{order_no}` | none | the demo checkout (demo mode only) |
//!
//! Every request body is limited to 64 KiB (callbacks to 8 KiB) and every request to
//! [`AppState::request_timeout`]. Errors are JSON `{"error": code, "message": text}`; internal
//! failures never leak details (they are logged with an error id instead).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sinopac_proto::{
    Amount, BACKEND_ACK, BackendNotification, BankTime, CardParam, Command, MAX_CALLBACK_BODY,
    OrderCreateRequest, OrderMaintainRequest, OrderNo, PayType, ReturnNotification, ShopNo, Status,
};
use tracing::Instrument as _;

use crate::bank::{BankError, timed};
use crate::http_bank::HttpBank;
use crate::inbox::{self, CallbackSource, InboxWriter, ItemOutcome, count_callback};
use crate::pages;
use crate::reconcile;
use crate::secrets::{ApiToken, MasterKey, ShopCredentials, random_hex};
use crate::state::{Observation, OrderState};
use crate::store::{NewOrder, ObservationMeta, OrderFilter, OrderRow, StoreError};
use crate::worker::{Deps, ms, now_ms};

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// The parts of an [`AppState`].
pub struct AppConfig {
    /// Worker dependencies (store, bank, metrics, settings).
    pub deps: Deps,
    /// The inbox writer.
    pub inbox: InboxWriter,
    /// Bearer token of the shop API.
    pub api_token: ApiToken,
    /// Bearer token of the admin API.
    pub admin_token: ApiToken,
    /// Encrypts shop credentials.
    pub master: MasterKey,
    /// Public base URL of this server (for BackendURL / ReturnURL), without trailing `/`.
    pub public_url: String,
    /// The HTTP bank, when used (to invalidate cached clients on key rotation).
    pub http_bank: Option<Arc<HttpBank>>,
    /// Shop used when a request names none.
    pub default_shop: Option<ShopNo>,
    /// Demo mode: serve the checkout page.
    pub demo: Option<pages::DemoInfo>,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

struct Inner {
    cfg: AppConfig,
    ready: AtomicBool,
    order_seq: AtomicU64,
    /// Shops seen in the store. Shops are added or rotated, never removed, so a hit stays
    /// true; a miss always asks the store (another instance may have added the shop).
    known_shops: std::sync::RwLock<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.inner.cfg.public_url)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state.
    #[must_use]
    pub fn new(cfg: AppConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                ready: AtomicBool::new(true),
                order_seq: AtomicU64::new(0),
                known_shops: std::sync::RwLock::default(),
            }),
        }
    }

    /// Worker dependencies.
    #[must_use]
    pub fn deps(&self) -> &Deps {
        &self.inner.cfg.deps
    }

    /// The per-request timeout.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.inner.cfg.request_timeout
    }

    /// Marks the server as not ready (`/readyz` answers 503), e.g. while shutting down.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
    }

    fn cfg(&self) -> &AppConfig {
        &self.inner.cfg
    }

    /// Whether this server serves `shop_no` (cached positive answers, see [`Inner`]).
    async fn serves_shop(&self, shop_no: &ShopNo) -> Result<bool, StoreError> {
        let cached = self
            .inner
            .known_shops
            .read()
            .is_ok_and(|set| set.contains(shop_no.as_str()));
        if cached {
            return Ok(true);
        }
        let known = self
            .deps()
            .store
            .shop_version(shop_no.as_str())
            .await?
            .is_some();
        if known && let Ok(mut set) = self.inner.known_shops.write() {
            set.insert(shop_no.as_str().to_owned());
        }
        Ok(known)
    }
}

/// An API error. Internal details are logged, never returned.
#[derive(Debug)]
#[non_exhaustive]
pub enum AppError {
    /// 401.
    Unauthorized,
    /// 404.
    NotFound(&'static str),
    /// 400 with a message safe to show.
    BadRequest(String),
    /// 409 with the existing order.
    Conflict(Box<OrderRow>),
    /// 422: the bank refused.
    BankRefused {
        /// Code.
        code: String,
        /// Description.
        description: String,
    },
    /// 502/503: the bank is unreachable or its outcome is unknown.
    BankUnavailable(&'static str),
    /// 500.
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::Internal(format!("store: {e:?}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "unauthorized", "message": "missing or wrong bearer token"}),
            ),
            Self::NotFound(what) => (
                StatusCode::NOT_FOUND,
                json!({"error": "not_found", "message": format!("{what} not found")}),
            ),
            Self::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_request", "message": m}),
            ),
            Self::Conflict(order) => (
                StatusCode::CONFLICT,
                json!({"error": "duplicate_order_no", "message": "an order with this OrderNo exists", "order": order}),
            ),
            Self::BankRefused { code, description } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "bank_refused", "code": code, "message": description}),
            ),
            Self::BankUnavailable(m) => (
                StatusCode::BAD_GATEWAY,
                json!({"error": "bank_unavailable", "message": m}),
            ),
            Self::Internal(detail) => {
                let id = random_hex(6);
                tracing::error!(error_id = %id, detail = %detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "internal", "message": "internal error", "error_id": id}),
                )
            }
        };
        (status, axum::Json(body)).into_response()
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn check(token: &ApiToken, headers: &HeaderMap) -> Result<(), AppError> {
    match bearer(headers) {
        Some(t) if token.matches(t) => Ok(()),
        _ => Err(AppError::Unauthorized),
    }
}

/// Builds the router.
pub fn app(state: AppState) -> Router {
    let timeout = state.request_timeout();
    let callbacks = Router::new()
        .route("/sinopac/backend", post(backend_callback))
        .route("/sinopac/return", post(return_callback))
        .layer(DefaultBodyLimit::max(MAX_CALLBACK_BODY));
    let api = Router::new()
        .route("/api/v1/orders", post(create_order).get(list_orders))
        .route("/api/v1/orders/{order_no}", get(get_order))
        .route("/api/v1/orders/{order_no}/capture", post(capture))
        .route("/api/v1/orders/{order_no}/void", post(void))
        .route("/api/v1/orders/{order_no}/refund", post(refund))
        .route("/api/v1/orders/{order_no}/review/clear", post(clear_review))
        .route("/api/v1/reconciliation/report", get(report))
        .route("/api/v1/reconciliation/run", post(run_reconcile))
        .route("/admin/v1/shops", get(list_shops))
        .route("/admin/v1/shops/{shop_no}", put(put_shop))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/", get(index))
        .route("/demo/checkout", post(demo_checkout))
        .route("/demo/orders/{order_no}", get(demo_order))
        .layer(DefaultBodyLimit::max(64 * 1024));
    callbacks
        .merge(api)
        .layer(middleware::from_fn_with_state(
            (state.clone(), timeout),
            observe,
        ))
        .with_state(state)
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

async fn observe(
    State((state, timeout)): State<(AppState, Duration)>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let group = if path.starts_with("/sinopac/") {
        "callback"
    } else if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/admin/") {
        "admin"
    } else {
        "other"
    };
    let method = req.method().clone();
    let start = std::time::Instant::now();
    let request_id = REQUEST_SEQ.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("request", request_id, %method, path = %path);
    let resp = match tokio::time::timeout(timeout, next.run(req).instrument(span)).await {
        Ok(r) => r,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "timeout", "message": "request timed out"})),
        )
            .into_response(),
    };
    let class = resp.status().as_u16() / 100;
    state.deps().metrics.inc(
        "sinopac_http_requests_total",
        &format!("group=\"{group}\",class=\"{class}xx\""),
    );
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_ms = start.elapsed().as_millis() as u64, "request");
    resp
}

// ------------------------------------------------------------------------- callbacks

async fn backend_callback(State(state): State<AppState>, body: Bytes) -> Response {
    let metrics = &state.deps().metrics;
    // JSON as documented; a form body is accepted too (PROTOCOL.md §14: the exact contract is
    // unconfirmed, and the body is only a hint that the bank itself confirms).
    let parsed = BackendNotification::from_json(&body).or_else(|e| {
        ReturnNotification::from_form(&body)
            .map(|f| BackendNotification {
                shop_no: f.shop_no,
                pay_token: f.pay_token,
            })
            .map_err(|_| e)
    });
    let n = match parsed {
        Ok(n) => n,
        Err(e) => {
            count_callback(metrics, CallbackSource::Backend, "invalid");
            tracing::warn!(error = %e, "invalid BackendURL body");
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"Status":"F"}"#,
            )
                .into_response();
        }
    };
    // Only shops we serve: a callback for any other ShopNo is refused before it is stored, so
    // forged bodies for made-up shops cost neither a row nor a bank call.
    let status_f = |code: StatusCode| {
        (
            code,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"Status":"F"}"#,
        )
            .into_response()
    };
    match state.serves_shop(&n.shop_no).await {
        Ok(true) => {}
        Ok(false) => {
            count_callback(metrics, CallbackSource::Backend, "unknown_shop");
            tracing::warn!(shop_no = %n.shop_no, "BackendURL callback for a shop this server does not serve");
            return status_f(StatusCode::BAD_REQUEST);
        }
        Err(e) => {
            count_callback(metrics, CallbackSource::Backend, "error");
            tracing::error!(error = %e, "shop lookup failed");
            return status_f(StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    match state
        .cfg()
        .inbox
        .record(&n.shop_no, &n.pay_token, CallbackSource::Backend)
        .await
    {
        Ok(new) => {
            count_callback(
                metrics,
                CallbackSource::Backend,
                if new { "new" } else { "duplicate" },
            );
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                BACKEND_ACK,
            )
                .into_response()
        }
        Err(e) => {
            count_callback(metrics, CallbackSource::Backend, "error");
            tracing::error!(error = %e, "callback not stored");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"Status":"F"}"#,
            )
                .into_response()
        }
    }
}

async fn return_callback(State(state): State<AppState>, body: Bytes) -> Response {
    let deps = state.deps();
    let n = match ReturnNotification::from_form(&body) {
        Ok(n) => n,
        Err(_) => {
            count_callback(&deps.metrics, CallbackSource::Return, "invalid");
            return (
                StatusCode::BAD_REQUEST,
                Html(pages::result_page(pages::Outcome::Invalid, None)),
            )
                .into_response();
        }
    };
    match state
        .cfg()
        .inbox
        .record(&n.shop_no, &n.pay_token, CallbackSource::Return)
        .await
    {
        Ok(new) => count_callback(
            &deps.metrics,
            CallbackSource::Return,
            if new { "new" } else { "duplicate" },
        ),
        Err(_) => {
            count_callback(&deps.metrics, CallbackSource::Return, "error");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(pages::result_page(pages::Outcome::Pending, None)),
            )
                .into_response();
        }
    }
    // Process this item now (if no worker holds it), so the buyer sees the result.
    let now = now_ms();
    let mut outcome = None;
    match deps
        .store
        .inbox_claim_token(
            n.shop_no.as_str(),
            n.pay_token.as_str(),
            now,
            ms(deps.settings.lease),
        )
        .await
    {
        Ok(Some(item)) => match inbox::process_and_record(deps, &item, now).await {
            Ok(o) => outcome = Some(o),
            Err(e) => tracing::error!(error = %e, "return processing failed"),
        },
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "return claim failed"),
    }
    let order = match &outcome {
        Some(ItemOutcome::Applied { order_no, .. }) => deps
            .store
            .get_order(n.shop_no.as_str(), order_no)
            .await
            .ok()
            .flatten(),
        _ => deps
            .store
            .order_by_pay_token(n.shop_no.as_str(), n.pay_token.as_str())
            .await
            .ok()
            .flatten(),
    };
    let page_outcome = match (&outcome, &order) {
        (Some(ItemOutcome::Rejected(_)), _) => pages::Outcome::Unverified,
        (_, Some(o)) => pages::Outcome::from_state(&o.state),
        (Some(ItemOutcome::Retry(_)) | None, None) => pages::Outcome::Pending,
        (Some(ItemOutcome::Applied { .. }), None) => pages::Outcome::Unverified,
    };
    Html(pages::result_page(page_outcome, order.as_ref())).into_response()
}

// ------------------------------------------------------------------------------ API

/// Body of `POST /api/v1/orders`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CreateOrder {
    /// ShopNo (optional when the server has a default shop).
    #[serde(default)]
    pub shop_no: Option<String>,
    /// OrderNo: the idempotency key.
    pub order_no: String,
    /// `atm` / `card` (or `A` / `C`).
    pub pay_type: String,
    /// Amount in 1/100 NTD (NT$500 = 50000).
    pub amount: u64,
    /// Product name shown on the bank's page.
    pub product_name: String,
    /// ATM: days until the virtual account expires (default 3, 1–30).
    #[serde(default)]
    pub atm_expire_days: Option<u8>,
    /// Card: capture at once (default true).
    #[serde(default)]
    pub card_auto_capture: Option<bool>,
    /// Card: days until automatic capture when not captured at once (1–7, default 7).
    #[serde(default)]
    pub card_capture_days: Option<u8>,
    /// Card: payment page validity (1–30 minutes, default 10).
    #[serde(default)]
    pub card_exp_minutes: Option<u8>,
    /// Memo.
    #[serde(default)]
    pub memo: Option<String>,
}

#[derive(Debug, Serialize)]
struct CreatedOrder {
    order: OrderRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<&'static str>,
}

fn resolve_shop(state: &AppState, given: Option<&str>) -> Result<ShopNo, AppError> {
    match given {
        Some(s) => ShopNo::new(s).map_err(|e| AppError::BadRequest(e.to_string())),
        None => state
            .cfg()
            .default_shop
            .clone()
            .ok_or_else(|| AppError::BadRequest("shop_no is required".into())),
    }
}

/// Creates an order (shared by the API and the demo page).
///
/// # Errors
/// [`AppError`] for invalid input, duplicates (409), bank refusals and failures.
pub async fn create_order_inner(
    state: &AppState,
    req: CreateOrder,
) -> Result<(StatusCode, OrderRow, Option<&'static str>), AppError> {
    let deps = state.deps();
    let shop = resolve_shop(state, req.shop_no.as_deref())?;
    let order_no =
        OrderNo::new(req.order_no.as_str()).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let amount = Amount::from_minor(req.amount);
    if amount.is_zero() || amount > Amount::MAX {
        return Err(AppError::BadRequest("amount must be 1..=999999999".into()));
    }
    let pay_type = match req.pay_type.to_ascii_lowercase().as_str() {
        "atm" | "a" => PayType::Atm,
        "card" | "c" => PayType::Card,
        _ => return Err(AppError::BadRequest("pay_type must be atm or card".into())),
    };
    if deps.store.shop_version(shop.as_str()).await?.is_none() {
        return Err(AppError::BadRequest("unknown shop_no".into()));
    }
    let now = now_ms();
    let today = BankTime::from_unix_seconds(now / 1000)
        .ok_or_else(|| AppError::Internal("clock".into()))?
        .date();
    let expire = today
        .add_days(i64::from(req.atm_expire_days.unwrap_or(3).clamp(1, 30)))
        .ok_or_else(|| AppError::Internal("date".into()))?;
    let public = &state.cfg().public_url;
    let mut create = match pay_type {
        PayType::Atm => OrderCreateRequest::atm(
            shop.clone(),
            order_no.clone(),
            amount,
            req.product_name.as_str(),
            expire,
        ),
        _ => {
            let mut card = if req.card_auto_capture.unwrap_or(true) {
                CardParam::auto_capture()
            } else {
                CardParam::capture_after_days(req.card_capture_days.unwrap_or(7).clamp(1, 7))
            };
            if let Some(m) = req.card_exp_minutes {
                card = card.exp_minutes(m.clamp(1, 30));
            }
            OrderCreateRequest::card(
                shop.clone(),
                order_no.clone(),
                amount,
                req.product_name.as_str(),
                card,
            )
        }
    }
    .return_url(format!("{public}/sinopac/return"))
    .backend_url(format!("{public}/sinopac/backend"));
    if let Some(m) = req.memo.as_deref().filter(|m| !m.is_empty()) {
        create = create.memo(m);
    }
    sinopac_proto::Request::validate(&create).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let new = NewOrder {
        shop_no: shop.as_str().to_owned(),
        order_no: order_no.as_str().to_owned(),
        pay_type: pay_type.as_str().to_owned(),
        amount,
        prdt_name: req.product_name.clone(),
        expire_date: matches!(pay_type, PayType::Atm).then(|| expire.to_string()),
        next_reconcile_at: now + ms(deps.settings.reconcile_grace),
    };
    let order = match deps.store.insert_order(&new, now).await? {
        Ok(o) => o,
        Err(existing) => return Err(AppError::Conflict(Box::new(existing))),
    };
    match timed(
        &deps.metrics,
        "OrderCreate",
        deps.bank.create_order(&create),
    )
    .await
    {
        Ok(resp) if resp.status == Status::Success => {
            let atm = resp
                .atm_param
                .as_ref()
                .and_then(|a| a.atm_pay_no.as_deref());
            let url = resp
                .card_param
                .as_ref()
                .and_then(|c| c.card_pay_url.as_deref());
            deps.store
                .set_order_created(order.id, resp.ts_no.as_deref(), atm, url, now_ms())
                .await?;
            let o = deps
                .store
                .get_order(shop.as_str(), order_no.as_str())
                .await?
                .ok_or(AppError::NotFound("order"))?;
            Ok((StatusCode::CREATED, o, None))
        }
        Ok(resp) => {
            let (code, text) =
                sinopac_proto::split_description(resp.description.as_deref().unwrap_or(""));
            let (code, text) = (code.to_owned(), text.to_owned());
            deps.store
                .set_create_failed(order.id, &code, now_ms())
                .await?;
            Err(AppError::BankRefused {
                code,
                description: text,
            })
        }
        Err(BankError::Rejected { code, description }) => {
            deps.store
                .set_create_failed(order.id, &code, now_ms())
                .await?;
            Err(AppError::BankRefused { code, description })
        }
        Err(e) if e.is_transient() => {
            // Unknown outcome (the client already asked the bank about the OrderNo): keep the
            // order pending; the reconciler settles it.
            tracing::warn!(order_no = %order_no, error = %e, "OrderCreate outcome unknown");
            Ok((
                StatusCode::ACCEPTED,
                order,
                Some("the bank's answer is unknown; the reconciler will settle this order"),
            ))
        }
        Err(e) => {
            tracing::error!(order_no = %order_no, error = %e, "OrderCreate failed");
            deps.store
                .set_create_failed(order.id, e.label(), now_ms())
                .await?;
            Err(AppError::BankUnavailable("the bank could not be called"))
        }
    }
}

async fn create_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, &headers)?;
    let req: CreateOrder =
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (status, order, warning) = create_order_inner(&state, req).await?;
    Ok((status, axum::Json(CreatedOrder { order, warning })).into_response())
}

/// Query of `GET /api/v1/orders`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    shop_no: Option<String>,
    status: Option<String>,
    #[serde(default)]
    needs_review: Option<bool>,
    /// Unix ms, or a Taiwan date `yyyy-mm-dd` / `yyyymmdd` (start of that day).
    from: Option<String>,
    /// Unix ms, or a Taiwan date (exclusive: start of that day).
    to: Option<String>,
    limit: Option<u32>,
}

/// Parses a time bound: Unix milliseconds, or a Taiwan calendar date (`2026-11-25` or
/// `20261125`) meaning 00:00 Taipei time of that day.
///
/// # Errors
/// [`AppError::BadRequest`] for anything else.
pub fn parse_time_bound(text: &str) -> Result<i64, AppError> {
    let t = text.trim();
    let digits: String = t.chars().filter(|c| *c != '-').collect();
    if t.contains('-') || digits.len() == 8 {
        let d = sinopac_proto::BankDate::parse(&digits)
            .map_err(|_| AppError::BadRequest(format!("invalid date {t}")))?;
        let minutes = d
            .at(0, 0)
            .map(BankTime::unix_minutes)
            .ok_or_else(|| AppError::BadRequest(format!("invalid date {t}")))?;
        return Ok(minutes * 60_000);
    }
    t.parse::<i64>()
        .map_err(|_| AppError::BadRequest(format!("invalid time {t} (Unix ms or yyyy-mm-dd)")))
}

async fn list_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, &headers)?;
    let (st, review) = match q.status.as_deref() {
        Some("needs_review") => (None, true),
        Some(s) => {
            if OrderState::parse(s).is_none() {
                return Err(AppError::BadRequest(format!("unknown status {s}")));
            }
            (Some(s.to_owned()), q.needs_review.unwrap_or(false))
        }
        None => (None, q.needs_review.unwrap_or(false)),
    };
    let f = OrderFilter {
        shop_no: q.shop_no,
        state: st,
        needs_review: review,
        created_from: q.from.as_deref().map(parse_time_bound).transpose()?,
        created_to: q.to.as_deref().map(parse_time_bound).transpose()?,
        limit: q.limit.unwrap_or(100),
    };
    let orders = state.deps().store.list_orders(&f).await?;
    Ok(axum::Json(json!({ "orders": orders })).into_response())
}

/// `shop_no` query parameter.
#[derive(Debug, Deserialize)]
pub struct ShopQuery {
    shop_no: Option<String>,
}

async fn load_order(
    state: &AppState,
    shop: Option<&str>,
    order_no: &str,
) -> Result<OrderRow, AppError> {
    let shop = resolve_shop(state, shop)?;
    state
        .deps()
        .store
        .get_order(shop.as_str(), order_no)
        .await?
        .ok_or(AppError::NotFound("order"))
}

async fn get_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
    Query(q): Query<ShopQuery>,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, &headers)?;
    let order = load_order(&state, q.shop_no.as_deref(), &order_no).await?;
    let events = state.deps().store.events(order.id).await?;
    let notifications = state.deps().store.outbox_attempts(order.id).await?;
    Ok(
        axum::Json(json!({ "order": order, "events": events, "notifications": notifications }))
            .into_response(),
    )
}

/// Body of capture / void / refund.
#[derive(Debug, Default, Deserialize)]
pub struct MaintainBody {
    /// Amount (1/100 NTD); `None` = the whole (remaining) amount.
    #[serde(default)]
    pub amount: Option<u64>,
    /// Refund reason.
    #[serde(default)]
    pub remark: Option<String>,
    /// ShopNo.
    #[serde(default)]
    pub shop_no: Option<String>,
}

async fn maintain(
    state: &AppState,
    headers: &HeaderMap,
    order_no: &str,
    body: &[u8],
    command: Command,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, headers)?;
    let b: MaintainBody = if body.is_empty() {
        MaintainBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(e.to_string()))?
    };
    let order = load_order(state, b.shop_no.as_deref(), order_no).await?;
    if order.pay_type != "C" {
        return Err(AppError::BadRequest(
            "capture, void and refund apply to card orders".into(),
        ));
    }
    let shop =
        ShopNo::new(order.shop_no.as_str()).map_err(|e| AppError::Internal(e.to_string()))?;
    let no =
        OrderNo::new(order.order_no.as_str()).map_err(|e| AppError::Internal(e.to_string()))?;
    let amount = b.amount.map(Amount::from_minor);
    let mut req = OrderMaintainRequest::new(shop, no, command.clone());
    req.amount = amount;
    if let Some(r) = b.remark.as_deref().filter(|r| !r.is_empty()) {
        req = req.remark(r);
    }
    let deps = state.deps();
    match timed(&deps.metrics, "OrderMaintain", deps.bank.maintain(&req)).await {
        Ok(resp) if resp.status == Status::Success => {
            let meta = ObservationMeta {
                detail: Some(format!("OrderMaintain {}", command.as_str())),
                notify: deps.notify,
                ..ObservationMeta::default()
            };
            let applied = deps
                .store
                .apply(
                    &order.shop_no,
                    &order.order_no,
                    &Observation::Maintained { command, amount },
                    "api",
                    &meta,
                    now_ms(),
                )
                .await?
                .ok_or(AppError::NotFound("order"))?;
            Ok(axum::Json(
                json!({ "order": applied.order, "transition": applied.event_id.is_some() }),
            )
            .into_response())
        }
        Ok(resp) => {
            let (code, text) =
                sinopac_proto::split_description(resp.description.as_deref().unwrap_or(""));
            Err(AppError::BankRefused {
                code: code.to_owned(),
                description: text.to_owned(),
            })
        }
        Err(BankError::Rejected { code, description }) => {
            Err(AppError::BankRefused { code, description })
        }
        Err(e) if e.is_transient() => Err(AppError::BankUnavailable(
            "the bank's answer is unknown; query the order before retrying",
        )),
        Err(_) => Err(AppError::BankUnavailable("the bank could not be called")),
    }
}

async fn capture(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    maintain(&state, &headers, &order_no, &body, Command::Capture).await
}

async fn void(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    maintain(&state, &headers, &order_no, &body, Command::Void).await
}

async fn refund(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    maintain(&state, &headers, &order_no, &body, Command::Refund).await
}

async fn clear_review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
    Query(q): Query<ShopQuery>,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, &headers)?;
    let order = load_order(&state, q.shop_no.as_deref(), &order_no).await?;
    state.deps().store.clear_review(order.id, now_ms()).await?;
    let order = load_order(&state, Some(&order.shop_no), &order_no).await?;
    Ok(axum::Json(json!({ "order": order })).into_response())
}

/// Query of the report.
#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// Unix ms or a Taiwan date (default: 7 days before `to`).
    from: Option<String>,
    /// Unix ms or a Taiwan date, exclusive (default: now).
    to: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RangeQuery>,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, &headers)?;
    let now = now_ms();
    let to =
        q.to.as_deref()
            .map(parse_time_bound)
            .transpose()?
            .unwrap_or(now + 1);
    let from = q
        .from
        .as_deref()
        .map(parse_time_bound)
        .transpose()?
        .unwrap_or(to - 7 * 86_400_000);
    let rep = reconcile::report(state.deps(), from, to).await?;
    Ok(axum::Json(rep).into_response())
}

async fn run_reconcile(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check(&state.cfg().api_token, &headers)?;
    let run = reconcile::try_once(state.deps(), now_ms()).await?;
    Ok(axum::Json(run).into_response())
}

// ---------------------------------------------------------------------------- admin

async fn list_shops(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check(&state.cfg().admin_token, &headers)?;
    let shops = state.deps().store.list_shops().await?;
    Ok(axum::Json(json!({ "shops": shops })).into_response())
}

/// Body of `PUT /admin/v1/shops/{shop_no}`.
#[derive(Deserialize)]
pub struct PutShop {
    key_id: String,
    a1: String,
    a2: String,
    b1: String,
    b2: String,
}

async fn put_shop(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(shop_no): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    check(&state.cfg().admin_token, &headers)?;
    let shop = ShopNo::new(shop_no.as_str()).map_err(|e| AppError::BadRequest(e.to_string()))?;
    // Deserialize without echoing values in errors.
    let b: PutShop = serde_json::from_slice(&body)
        .map_err(|_| AppError::BadRequest("expected {key_id, a1, a2, b1, b2}".into()))?;
    let version = add_shop(&state, &shop, &b.key_id, [&b.a1, &b.a2, &b.b1, &b.b2]).await?;
    tracing::info!(shop_no = %shop, version, "shop credentials stored");
    Ok(axum::Json(json!({ "shop_no": shop.as_str(), "cred_version": version })).into_response())
}

/// Validates, encrypts and stores a shop's credentials; invalidates cached clients.
///
/// # Errors
/// [`AppError::BadRequest`] for invalid keys.
pub async fn add_shop(
    state: &AppState,
    shop: &ShopNo,
    key_id: &str,
    keys: [&str; 4],
) -> Result<i64, AppError> {
    let [a1, a2, b1, b2] = keys;
    let creds = ShopCredentials::new(key_id, a1, a2, b1, b2)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    if creds.key_id.is_empty() {
        return Err(AppError::BadRequest("key_id is empty".into()));
    }
    let sealed = creds
        .seal(&state.cfg().master, shop)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let v = state
        .deps()
        .store
        .upsert_shop(shop.as_str(), &sealed, now_ms())
        .await?;
    if let Some(b) = &state.cfg().http_bank {
        b.invalidate(shop.as_str());
    }
    Ok(v)
}

// ----------------------------------------------------------------------------- ops

async fn readyz(State(state): State<AppState>) -> Response {
    if state.inner.ready.load(Ordering::SeqCst) && state.deps().store.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let store = &state.deps().store;
    let mut gauges: Vec<(&str, &str, String, i64)> = Vec::new();
    if let Ok(d) = store.inbox_depth().await {
        gauges.push((
            "sinopac_inbox_depth",
            "Callbacks stored but not yet processed.",
            String::new(),
            d,
        ));
    }
    if let Ok(c) = store.count_by_state().await {
        for (s, n) in c {
            gauges.push((
                "sinopac_orders",
                "Orders per state.",
                format!("state=\"{s}\""),
                n,
            ));
        }
    }
    if let Ok(c) = store.outbox_counts().await {
        for (s, n) in c {
            gauges.push((
                "sinopac_outbox",
                "Shop notifications per state.",
                format!("state=\"{s}\""),
                n,
            ));
        }
    }
    let text = state.deps().metrics.render(&gauges);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

// ---------------------------------------------------------------------------- demo

async fn index(State(state): State<AppState>) -> Response {
    match &state.cfg().demo {
        Some(info) => Html(pages::checkout_page(info)).into_response(),
        None => axum::Json(json!({
            "service": "sinopac-server",
            "docs": "see the crate documentation; the shop API is under /api/v1",
        }))
        .into_response(),
    }
}

/// The checkout form.
#[derive(Debug, Deserialize)]
pub struct CheckoutForm {
    product: String,
    amount_ntd: u64,
    pay_type: String,
}

async fn demo_checkout(State(state): State<AppState>, body: Bytes) -> Response {
    if state.cfg().demo.is_none() {
        return AppError::NotFound("page").into_response();
    }
    let form: CheckoutForm = match serde_urlencoded_form(&body) {
        Some(f) => f,
        None => return AppError::BadRequest("invalid form".into()).into_response(),
    };
    let seq = state.inner.order_seq.fetch_add(1, Ordering::Relaxed);
    let order_no = format!("D{}{:03}", now_ms() / 1000, seq % 1000);
    let req = CreateOrder {
        shop_no: None,
        order_no: order_no.clone(),
        pay_type: form.pay_type,
        amount: form.amount_ntd.saturating_mul(100),
        product_name: form.product,
        atm_expire_days: None,
        card_auto_capture: Some(true),
        card_capture_days: None,
        card_exp_minutes: None,
        memo: None,
    };
    match create_order_inner(&state, req).await {
        Ok(_) => Redirect::to(&format!("/demo/orders/{order_no}")).into_response(),
        Err(e) => e.into_response(),
    }
}

fn serde_urlencoded_form(body: &[u8]) -> Option<CheckoutForm> {
    let mut product = None;
    let mut amount = None;
    let mut pay_type = None;
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "product" => product = Some(v.into_owned()),
            "amount_ntd" => amount = v.trim().parse::<u64>().ok(),
            "pay_type" => pay_type = Some(v.into_owned()),
            _ => {}
        }
    }
    Some(CheckoutForm {
        product: product.filter(|p| !p.trim().is_empty())?,
        amount_ntd: amount.filter(|a| *a > 0)?,
        pay_type: pay_type?,
    })
}

async fn demo_order(State(state): State<AppState>, Path(order_no): Path<String>) -> Response {
    let Some(info) = &state.cfg().demo else {
        return AppError::NotFound("page").into_response();
    };
    match state
        .deps()
        .store
        .get_order(info.shop_no.as_str(), &order_no)
        .await
    {
        Ok(Some(o)) => Html(pages::order_page(&o, info)).into_response(),
        Ok(None) => AppError::NotFound("order").into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds() {
        // 2026-11-25 00:00 Taipei = 2026-11-24 16:00 UTC.
        assert_eq!(parse_time_bound("2026-11-25").unwrap(), 1_795_536_000_000);
        assert_eq!(parse_time_bound("20261125").unwrap(), 1_795_536_000_000);
        assert_eq!(
            parse_time_bound("1795536000123").unwrap(),
            1_795_536_000_123
        );
        assert!(parse_time_bound("2026-13-01").is_err());
        assert!(parse_time_bound("yesterday").is_err());
    }
}
