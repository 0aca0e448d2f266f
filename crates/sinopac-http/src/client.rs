//! The [`Client`]: nonce → seal → POST → open → verify, with retries and settlement.

use std::any::Any;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sinopac_proto::{
    AllotQueryRequest, AllotQueryResponse, Amount, ApiService, AtmPayInfo, BankDate,
    BillQueryRequest, BillQueryResponse, CardPayInfo, Command, Envelope, Keys, Limits, Nonce,
    OpenError, OrderCreateRequest, OrderCreateResponse, OrderListItem, OrderMaintainRequest,
    OrderMaintainResponse, OrderNo, OrderPayQueryRequest, OrderPayQueryResponse, OrderQueryRequest,
    OrderQueryResponse, OrderUnCapturedQueryRequest, OrderUnCapturedQueryResponse, PayStatus,
    PayToken, PayType, Problem, Request, Response, ShopNo, Status, ValidationError, seal_payload,
    split_description,
};
use tokio::time::Instant;
use tracing::{Instrument, debug, info_span, warn};

use crate::config::{ClientBuilder, KeyId, Timeouts};
use crate::error::{Error, ReplyProblem, Stage, msg};
use crate::retry::{CallKind, RetryDecision, RetryPolicy, retry_decision};
use crate::transport::{BoxError, Transport, TransportError, TransportRequest, TransportResponse};

/// The `Description` of a response the client synthesised from an `OrderQuery` after an
/// `OrderCreate`/`OrderMaintain` whose reply was lost (see [`Client::create_order`]).
pub const SETTLED_DESCRIPTION: &str = "S0000 – settled by OrderQuery (the original reply was lost)";

/// Bank codes that mean "no such order / no data" for queries. `find_order` and `query_all`
/// treat them as an empty result. (Simulator policy; the bank's codes are unpublished.)
pub const NOT_FOUND_CODES: &[&str] = &["E0202"];

/// How many recent nonces (ours and the bank's) are remembered to detect replayed replies.
const NONCE_MEMORY: usize = 4096;

pub(crate) struct Parts {
    pub(crate) shop_no: ShopNo,
    pub(crate) keys: Keys,
    pub(crate) key_id: KeyId,
    pub(crate) base_url: String,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: Timeouts,
    pub(crate) limits: Limits,
    pub(crate) row_cap: usize,
    pub(crate) jitter_seed: Option<u64>,
}

struct Inner {
    shop_no: ShopNo,
    keys: Keys,
    key_id: KeyId,
    base_url: String,
    nonce_url: String,
    order_url: String,
    nonce_body: Vec<u8>,
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    timeouts: Timeouts,
    limits: Limits,
    row_cap: usize,
    seed: u64,
    seq: AtomicU64,
    seen: Mutex<SeenNonces>,
    hasher: std::hash::RandomState,
}

/// A bounded memory of nonce hashes.
#[derive(Default)]
struct SeenNonces {
    order: VecDeque<u64>,
    set: HashSet<u64>,
}

impl SeenNonces {
    /// Inserts; `false` if it was already there.
    fn insert(&mut self, h: u64) -> bool {
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > NONCE_MEMORY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// The SinoPac API client. Cheap to clone (an `Arc` inside); `Debug` redacts secrets.
///
/// Every call makes one or more *attempts*; each attempt fetches a fresh nonce, seals the
/// request, POSTs it with `X-KeyID`, checks the `ShopNo`/`APIService` echo, opens the reply
/// with the reply's own nonce (decrypt + Sign verification) and maps `Status: F` to
/// [`Error::Bank`]. Retries follow [`retry_decision`]; order changes are never resent blindly
/// (see [`Client::create_order`]).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use sinopac_http::Client;
/// use sinopac_proto::{Amount, BankDate, OrderCreateRequest, OrderNo};
/// let client = Client::builder().from_env().build()?;
/// let req = OrderCreateRequest::atm(
///     client.shop_no().clone(),
///     OrderNo::new("A202611250001")?,
///     Amount::from_ntd(500).unwrap(),
///     "T-shirt",
///     BankDate::parse("20261130")?,
/// );
/// let created = client.create_order(&req).await?;
/// println!("pay to {:?}", created.atm_param.and_then(|a| a.atm_pay_no));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("shop_no", &self.inner.shop_no)
            .field("base_url", &self.inner.base_url)
            .field("keys", &"<redacted>")
            .field("key_id", &"<redacted>")
            .field("retry", &self.inner.retry)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

/// Why an attempt loop stopped without a response.
pub(crate) enum RunError {
    /// Return this error.
    Final(Error),
    /// The request may have changed an order; settle by querying.
    Settle(Error),
}

impl RunError {
    fn into_error(self) -> Error {
        match self {
            Self::Final(e) | Self::Settle(e) => e,
        }
    }
}

/// Request ids in spans: a per-client random prefix and a counter.
struct RequestId(u64, u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{:x}", self.0 & 0xffff_ffff, self.1)
    }
}

#[derive(Deserialize)]
struct NonceReply {
    #[serde(rename = "Nonce", default)]
    nonce: Option<String>,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "Description", default)]
    description: Option<String>,
}

/// Any JSON body the bank may answer `/Order` with: an envelope, or a plain status.
#[derive(Deserialize)]
struct OrderReply {
    #[serde(rename = "Version", default)]
    version: Option<String>,
    #[serde(rename = "ShopNo", default)]
    shop_no: Option<String>,
    #[serde(rename = "APIService", default)]
    api_service: Option<String>,
    #[serde(rename = "Sign", default)]
    sign: Option<String>,
    #[serde(rename = "Nonce", default)]
    nonce: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "Description", default)]
    description: Option<String>,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("html")) {
        return true;
    }
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<')
}

fn split_code(description: Option<&str>) -> (String, String) {
    let (code, text) = split_description(description.unwrap_or_default());
    (code.to_owned(), text.to_owned())
}

fn invalid_reply(service: &ApiService, problem: ReplyProblem, source: Option<BoxError>) -> Error {
    Error::InvalidReply {
        service: service.clone(),
        problem,
        source,
    }
}

fn set_attempts(e: &mut Error, n: u32) {
    if let Error::NotSent { attempts, .. } | Error::MaybeSent { attempts, .. } = e {
        *attempts = n;
    }
}

impl Client {
    /// A [`ClientBuilder`].
    #[must_use]
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_parts(p: Parts) -> Self {
        let seed = p.jitter_seed.unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            #[allow(clippy::cast_possible_truncation)]
            let t = t as u64;
            splitmix(t ^ (std::process::id() as u64).rotate_left(32))
        });
        let nonce_body = serde_json::to_vec(&serde_json::json!({ "ShopNo": p.shop_no.as_str() }))
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                nonce_url: format!("{}Nonce", p.base_url),
                order_url: format!("{}Order", p.base_url),
                nonce_body,
                shop_no: p.shop_no,
                keys: p.keys,
                key_id: p.key_id,
                base_url: p.base_url,
                transport: p.transport,
                retry: p.retry,
                timeouts: p.timeouts,
                limits: p.limits,
                row_cap: p.row_cap,
                seed,
                seq: AtomicU64::new(0),
                seen: Mutex::new(SeenNonces::default()),
                hasher: std::hash::RandomState::new(),
            }),
        }
    }

    /// The shop this client speaks for.
    #[must_use]
    pub fn shop_no(&self) -> &ShopNo {
        &self.inner.shop_no
    }

    /// The base URL (ends in `/`).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The X-KeyID (redacted in `Debug`).
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.inner.key_id
    }

    /// The retry policy.
    #[must_use]
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The row cap `query_all` splits at (300 by default).
    #[must_use]
    pub fn query_row_cap(&self) -> usize {
        self.inner.row_cap
    }

    /// The contract limits used to validate `OrderCreate`.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    fn next_seq(&self) -> u64 {
        self.inner.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn jitter(&self) -> f64 {
        let v = splitmix(self.inner.seed ^ self.next_seq().wrapping_mul(0x2545_F491_4F6C_DD1D));
        #[allow(clippy::cast_precision_loss)]
        let f = (v >> 11) as f64 / (1u64 << 53) as f64;
        f
    }

    fn span(&self, service: &ApiService, order_no: Option<&OrderNo>) -> tracing::Span {
        let id = RequestId(self.inner.seed, self.next_seq());
        let span = info_span!(
            "sinopac",
            service = %service,
            order_no = tracing::field::Empty,
            ts_no = tracing::field::Empty,
            request_id = %id
        );
        if let Some(o) = order_no {
            span.record("order_no", tracing::field::display(o.as_str()));
        }
        span
    }

    fn remember(&self, nonce: &str) -> bool {
        let h = self.inner.hasher.hash_one(nonce);
        let mut seen = self
            .inner
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.insert(h)
    }

    fn check_shop(&self, shop_no: &ShopNo) -> Result<(), Error> {
        if shop_no == &self.inner.shop_no {
            Ok(())
        } else {
            Err(Error::Invalid(ValidationError::new(
                "ShopNo",
                Problem::Conflict("the request's ShopNo is not this client's shop"),
            )))
        }
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            (
                "Content-Type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            ),
            (
                "X-KeyID".to_owned(),
                self.inner.key_id.expose_secret().to_owned(),
            ),
        ]
    }

    async fn send(
        &self,
        url: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<TransportResponse, TransportError> {
        let req = TransportRequest {
            url: url.to_owned(),
            headers: self.headers(),
            body,
            timeout,
        };
        match tokio::time::timeout(timeout, self.inner.transport.send(req)).await {
            Ok(r) => r,
            Err(elapsed) => Err(TransportError::Timeout {
                sent: true,
                source: Some(Box::new(elapsed)),
            }),
        }
    }

    /// Fetches one fresh nonce (`POST {base}Nonce`). Exposed for diagnostics; the client
    /// fetches its own nonce for every attempt.
    ///
    /// # Errors
    /// [`Error::NotSent`] (stage `Nonce`) when the nonce could not be fetched, or
    /// [`Error::Refused`] when the bank refused (wrong ShopNo / X-KeyID, empty nonce).
    pub async fn fetch_nonce(&self, service: &ApiService) -> Result<Nonce, Error> {
        let not_sent = |source: BoxError| Error::NotSent {
            service: service.clone(),
            stage: Stage::Nonce,
            attempts: 1,
            source,
        };
        let resp = self
            .send(
                &self.inner.nonce_url,
                self.inner.nonce_body.clone(),
                self.inner.timeouts.nonce,
            )
            .await
            .map_err(|e| not_sent(Box::new(e)))?;
        if looks_like_html(resp.content_type.as_deref(), &resp.body) {
            return Err(not_sent(msg(format!(
                "the Nonce endpoint answered an HTML page (HTTP {})",
                resp.status
            ))));
        }
        let parsed: Option<NonceReply> = serde_json::from_slice(&resp.body).ok();
        if let Some(NonceReply {
            status: Some(status),
            description,
            ..
        }) = &parsed
            && status == "F"
            && resp.status < 500
        {
            let (code, description) = split_code(description.as_deref());
            return Err(Error::Refused {
                service: service.clone(),
                stage: Stage::Nonce,
                http_status: resp.status,
                code,
                description,
            });
        }
        if !(200..300).contains(&resp.status) {
            return Err(not_sent(msg(format!(
                "the Nonce endpoint answered HTTP {}",
                resp.status
            ))));
        }
        let Some(reply) = parsed else {
            return Err(not_sent(msg(
                "the Nonce endpoint answered something that is not JSON",
            )));
        };
        match reply.nonce.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => Nonce::new(n).map_err(|e| not_sent(Box::new(e))),
            _ => Err(Error::Refused {
                service: service.clone(),
                stage: Stage::Nonce,
                http_status: resp.status,
                code: String::new(),
                description: "the bank answered without a Nonce; check ShopNo and X-KeyID"
                    .to_owned(),
            }),
        }
    }

    /// One attempt: fresh nonce, seal, POST, open, verify.
    async fn attempt<R: Request + Sync>(&self, req: &R) -> Result<R::Response, Error> {
        let service = R::SERVICE;
        let nonce = self.fetch_nonce(&service).await?;
        self.remember(nonce.as_str());
        let envelope = seal_payload(
            service.clone(),
            self.inner.shop_no.as_str(),
            req,
            nonce.as_str(),
            &self.inner.keys,
        )
        .map_err(|e| Error::NotSent {
            service: service.clone(),
            stage: Stage::Order,
            attempts: 1,
            source: Box::new(e),
        })?;
        let body = serde_json::to_vec(&envelope).map_err(|e| Error::NotSent {
            service: service.clone(),
            stage: Stage::Order,
            attempts: 1,
            source: Box::new(e),
        })?;
        drop(envelope);
        let resp = match self
            .send(&self.inner.order_url, body, self.inner.timeouts.request)
            .await
        {
            Ok(r) => r,
            Err(e) if e.may_have_been_sent() => {
                return Err(Error::MaybeSent {
                    service,
                    order_no: None,
                    attempts: 1,
                    detail: "no reply".to_owned(),
                    source: Box::new(e),
                });
            }
            Err(e) => {
                return Err(Error::NotSent {
                    service,
                    stage: Stage::Order,
                    attempts: 1,
                    source: Box::new(e),
                });
            }
        };
        self.read_reply::<R::Response>(&service, &resp)
    }

    /// Interprets an `/Order` reply.
    fn read_reply<T>(&self, service: &ApiService, resp: &TransportResponse) -> Result<T, Error>
    where
        T: Response + serde::de::DeserializeOwned,
    {
        let html = looks_like_html(resp.content_type.as_deref(), &resp.body);
        if resp.status >= 500 {
            return Err(Error::MaybeSent {
                service: service.clone(),
                order_no: None,
                attempts: 1,
                detail: format!("HTTP {}", resp.status),
                source: msg(format!(
                    "the bank answered HTTP {}{}",
                    resp.status,
                    if html { " with an HTML page" } else { "" }
                )),
            });
        }
        if html {
            return Err(invalid_reply(
                service,
                ReplyProblem::Html {
                    http_status: resp.status,
                },
                None,
            ));
        }
        let reply: OrderReply = match serde_json::from_slice(&resp.body) {
            Ok(r) => r,
            Err(e) => {
                let problem = if (200..300).contains(&resp.status) {
                    ReplyProblem::Malformed
                } else {
                    ReplyProblem::HttpStatus(resp.status)
                };
                return Err(invalid_reply(service, problem, Some(Box::new(e))));
            }
        };
        let envelope = match reply {
            OrderReply {
                version,
                shop_no: Some(shop_no),
                api_service: Some(api_service),
                sign: Some(sign),
                nonce: Some(nonce),
                message: Some(message),
                ..
            } if (200..300).contains(&resp.status) => Envelope {
                version: version.unwrap_or_default(),
                shop_no,
                api_service: ApiService::parse(&api_service),
                sign,
                nonce,
                message,
            },
            OrderReply {
                status: Some(status),
                description,
                message: None,
                ..
            } if status == "F" => {
                let (code, description) = split_code(description.as_deref());
                return Err(Error::Refused {
                    service: service.clone(),
                    stage: Stage::Order,
                    http_status: resp.status,
                    code,
                    description,
                });
            }
            _ => {
                let problem = if (200..300).contains(&resp.status) {
                    ReplyProblem::Malformed
                } else {
                    ReplyProblem::HttpStatus(resp.status)
                };
                return Err(invalid_reply(service, problem, None));
            }
        };
        if envelope.shop_no != self.inner.shop_no.as_str() {
            return Err(invalid_reply(
                service,
                ReplyProblem::EchoMismatch("ShopNo"),
                None,
            ));
        }
        if &envelope.api_service != service {
            return Err(invalid_reply(
                service,
                ReplyProblem::EchoMismatch("APIService"),
                None,
            ));
        }
        let payload: T = sinopac_proto::open(&envelope, &self.inner.keys).map_err(|e| {
            let problem = match e {
                OpenError::Rejected => ReplyProblem::Rejected,
                _ => ReplyProblem::Payload,
            };
            invalid_reply(service, problem, Some(Box::new(e)))
        })?;
        // Only an authentic reply is remembered; a replay of one we already saw is refused.
        if !self.remember(&envelope.nonce) {
            return Err(invalid_reply(service, ReplyProblem::ReplayedNonce, None));
        }
        match payload.status() {
            Status::Success => Ok(payload),
            Status::Failure => {
                let (code, description) = split_code(payload.description());
                Err(Error::Bank {
                    service: service.clone(),
                    code,
                    description,
                })
            }
            other => Err(invalid_reply(
                service,
                ReplyProblem::UnknownStatus(other.as_str().to_owned()),
                None,
            )),
        }
    }

    /// The attempt loop (request already validated).
    pub(crate) async fn run<R: Request + Sync>(&self, req: &R) -> Result<R::Response, RunError> {
        let kind = CallKind::of(&R::SERVICE);
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            let mut err = match self.attempt(req).await {
                Ok(r) => {
                    debug!(attempt, "ok");
                    return Ok(r);
                }
                Err(e) => e,
            };
            set_attempts(&mut err, attempt);
            let decision = retry_decision(
                &self.inner.retry,
                kind,
                attempt,
                &err,
                start.elapsed(),
                self.jitter(),
            );
            match decision {
                RetryDecision::Retry { after } => {
                    debug!(attempt, error = %err, delay_ms = after.as_millis() as u64, "retrying");
                    tokio::time::sleep(after).await;
                }
                RetryDecision::Settle => {
                    warn!(attempt, error = %err, "outcome unknown; settling with OrderQuery");
                    return Err(RunError::Settle(err));
                }
                _ => {
                    debug!(attempt, error = %err, "giving up");
                    return Err(RunError::Final(err));
                }
            }
        }
    }

    async fn run_query<R: Request + Sync>(&self, req: &R) -> Result<R::Response, Error> {
        req.validate()?;
        self.check_shop(req.shop_no())?;
        self.run(req).await.map_err(RunError::into_error)
    }

    /// Calls any service: validation, then the attempt loop. `OrderCreate` and
    /// `OrderMaintain` requests are routed through [`create_order`](Self::create_order) and
    /// [`maintain`](Self::maintain), so they are settled, never resent blindly.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn call<R>(&self, req: &R) -> Result<R::Response, Error>
    where
        R: Request + Sync + 'static,
        R::Response: 'static,
    {
        let any: &dyn Any = req;
        if let Some(create) = any.downcast_ref::<OrderCreateRequest>() {
            let resp = self.create_order(create).await?;
            return cast_response::<R, _>(resp);
        }
        if let Some(maintain) = any.downcast_ref::<OrderMaintainRequest>() {
            let resp = self.maintain(maintain).await?;
            return cast_response::<R, _>(resp);
        }
        let span = self.span(&R::SERVICE, None);
        if !span.is_disabled()
            && let Some(o) = order_no_of(req)
        {
            span.record("order_no", tracing::field::display(o.as_str()));
        }
        self.run_query(req).instrument(span).await
    }

    /// Creates an ATM or card order, safely.
    ///
    /// Validation uses the client's [`Limits`]. When the outcome of an attempt is unknown
    /// (timeout after sending, 5xx, lost or unusable reply), the request is **not** resent;
    /// instead the client asks the bank with `OrderQuery` by OrderNo (with its own retries):
    ///
    /// * the order exists with the same amount and PayType → a success response synthesised
    ///   from the query row (`Description` = [`SETTLED_DESCRIPTION`], `TSNo`, `ATMParam`
    ///   (`AtmPayNo`, `WebAtmURL`, `OtpURL`) and `CardParam.CardPayURL` as the bank lists them);
    /// * it exists but differs → [`Error::OrderNoConflict`];
    /// * it does not exist → the create is resent **once** with a fresh nonce (and settled the
    ///   same way if that outcome is unknown too; a "duplicate" refusal of the resend is also
    ///   settled by querying);
    /// * the query itself fails → [`Error::MaybeSent`] whose `detail` says what was tried.
    ///
    /// # Errors
    /// [`Error::Invalid`] before sending; [`Error::Bank`] if the bank refused; otherwise see
    /// above.
    pub async fn create_order(
        &self,
        req: &OrderCreateRequest,
    ) -> Result<OrderCreateResponse, Error> {
        let span = self.span(&ApiService::OrderCreate, Some(&req.order_no));
        self.create_order_inner(req).instrument(span).await
    }

    async fn create_order_inner(
        &self,
        req: &OrderCreateRequest,
    ) -> Result<OrderCreateResponse, Error> {
        req.validate_with(&self.inner.limits)?;
        self.check_shop(&req.shop_no)?;
        let mut resent = false;
        loop {
            let first_error = match self.run(req).await {
                Ok(resp) => {
                    if resp.order_no.as_ref().is_some_and(|o| o != &req.order_no) {
                        return Err(invalid_reply(
                            &ApiService::OrderCreate,
                            ReplyProblem::EchoMismatch("OrderNo"),
                            None,
                        ));
                    }
                    record_ts_no(resp.ts_no.as_deref());
                    return Ok(resp);
                }
                Err(RunError::Settle(e)) => e,
                // A resend refused by the bank (e.g. duplicate OrderNo because the first one
                // landed after all): settle by querying.
                Err(RunError::Final(e @ Error::Bank { .. })) if resent => e,
                Err(RunError::Final(e)) => return Err(e),
            };
            let attempts = match &first_error {
                Error::NotSent { attempts, .. } | Error::MaybeSent { attempts, .. } => *attempts,
                _ => 1,
            };
            match self.find_order(&req.order_no).await {
                Ok(Some(item)) => {
                    if item.amount == req.amount && item.pay_type == req.pay_type {
                        debug!("settled: the order exists at the bank");
                        record_ts_no(item.ts_no.as_deref());
                        return Ok(settled_create(&self.inner.shop_no, item));
                    }
                    return Err(Error::OrderNoConflict {
                        order_no: req.order_no.clone(),
                    });
                }
                Ok(None) if !resent => {
                    debug!("settled: the order does not exist; resending once");
                    resent = true;
                }
                Ok(None) => {
                    if matches!(first_error, Error::Bank { .. }) {
                        return Err(first_error);
                    }
                    return Err(Error::MaybeSent {
                        service: ApiService::OrderCreate,
                        order_no: Some(req.order_no.clone()),
                        attempts,
                        detail: "sent twice with unknown outcome; OrderQuery found no such order \
                                 after either attempt"
                            .to_owned(),
                        source: Box::new(first_error),
                    });
                }
                Err(qe) => {
                    return Err(Error::MaybeSent {
                        service: ApiService::OrderCreate,
                        order_no: Some(req.order_no.clone()),
                        attempts,
                        detail: format!(
                            "{}; OrderQuery to settle the outcome failed: {qe}",
                            if resent { "sent twice" } else { "sent once" }
                        ),
                        source: Box::new(first_error),
                    });
                }
            }
        }
    }

    /// Captures (`P`), voids (`C`) or refunds (`R`) a card order, safely.
    ///
    /// When the outcome is unknown the command is **not** resent blindly; the client queries
    /// the order and decides from its state whether the command took effect:
    ///
    /// * capture: `PayStatus` captured (`1C400`) or refunded (`1C700`), or a non-zero
    ///   `RefundAmount` → done; otherwise not done;
    /// * void: `PayStatus` voided (`1C500`) → done; otherwise not done;
    /// * refund: the order is queried **before** sending; done when `RefundAmount` grew by the
    ///   refunded amount (the given `Amount`, or everything not yet refunded); not done when it
    ///   did not change; anything else is unknown.
    ///
    /// Done → a success response synthesised from the order (`Description` =
    /// [`SETTLED_DESCRIPTION`]); not done → resent **once** with a fresh nonce (so the bank's
    /// own answer is returned if it refuses); unknown or query failure → [`Error::MaybeSent`]
    /// with what was learned in `detail`.
    ///
    /// # Errors
    /// As for [`create_order`](Self::create_order).
    pub async fn maintain(
        &self,
        req: &OrderMaintainRequest,
    ) -> Result<OrderMaintainResponse, Error> {
        let span = self.span(&ApiService::OrderMaintain, Some(&req.order_no));
        self.maintain_inner(req).instrument(span).await
    }

    async fn maintain_inner(
        &self,
        req: &OrderMaintainRequest,
    ) -> Result<OrderMaintainResponse, Error> {
        req.validate()?;
        self.check_shop(&req.shop_no)?;
        let before = if req.command == Command::Refund {
            self.find_order(&req.order_no).await.ok().flatten()
        } else {
            None
        };
        let mut resent = false;
        loop {
            let first_error = match self.run(req).await {
                Ok(resp) => {
                    if resp.order_no.as_ref().is_some_and(|o| o != &req.order_no) {
                        return Err(invalid_reply(
                            &ApiService::OrderMaintain,
                            ReplyProblem::EchoMismatch("OrderNo"),
                            None,
                        ));
                    }
                    record_ts_no(resp.ts_no.as_deref());
                    return Ok(resp);
                }
                Err(RunError::Settle(e)) => e,
                Err(RunError::Final(e)) => return Err(e),
            };
            let attempts = match &first_error {
                Error::NotSent { attempts, .. } | Error::MaybeSent { attempts, .. } => *attempts,
                _ => 1,
            };
            let maybe = |detail: String, source: Error| Error::MaybeSent {
                service: ApiService::OrderMaintain,
                order_no: Some(req.order_no.clone()),
                attempts,
                detail,
                source: Box::new(source),
            };
            let after = match self.find_order(&req.order_no).await {
                Ok(a) => a,
                Err(qe) => {
                    return Err(maybe(
                        format!("OrderQuery to settle the outcome failed: {qe}"),
                        first_error,
                    ));
                }
            };
            match maintain_effect(req, before.as_ref(), after.as_ref()) {
                Effect::Done(amount) => {
                    debug!("settled: the command took effect");
                    return Ok(settled_maintain(
                        &self.inner.shop_no,
                        req,
                        after.as_ref(),
                        amount,
                    ));
                }
                Effect::NotDone if !resent => {
                    debug!("settled: the command did not take effect; resending once");
                    resent = true;
                }
                Effect::NotDone => {
                    return Err(maybe(
                        "sent twice with unknown outcome; the order shows no effect".to_owned(),
                        first_error,
                    ));
                }
                Effect::Unknown(why) => return Err(maybe(why, first_error)),
            }
        }
    }

    /// `OrderQuery`: one call, at most 300 rows (see [`query_all`](Self::query_all) for
    /// more).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn query(&self, req: &OrderQueryRequest) -> Result<OrderQueryResponse, Error> {
        let span = self.span(&ApiService::OrderQuery, req.order_no_condition());
        self.run_query(req).instrument(span).await
    }

    /// One order by OrderNo, or `None` if the bank does not know it (an empty list or a
    /// "not found" code, [`NOT_FOUND_CODES`]).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn find_order(&self, order_no: &OrderNo) -> Result<Option<OrderListItem>, Error> {
        let req = OrderQueryRequest::by_order_no(self.inner.shop_no.clone(), order_no.clone());
        let span = self.span(&ApiService::OrderQuery, Some(order_no));
        match self.run_query(&req).instrument(span).await {
            Ok(resp) => Ok(resp
                .order_list
                .into_iter()
                .find(|i| &i.order_no == order_no)),
            Err(Error::Bank { code, .. }) if NOT_FOUND_CODES.contains(&code.as_str()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `OrderPayQuery`: what a PayToken (from a callback) stands for.
    ///
    /// # Errors
    /// See [`Error`]; a reply echoing another PayToken is [`Error::InvalidReply`].
    pub async fn pay_query(&self, token: &PayToken) -> Result<OrderPayQueryResponse, Error> {
        let req = OrderPayQueryRequest {
            shop_no: self.inner.shop_no.clone(),
            pay_token: token.clone(),
        };
        let span = self.span(&ApiService::OrderPayQuery, None);
        let resp = self.run_query(&req).instrument(span).await?;
        if resp.pay_token.as_ref().is_some_and(|t| t != token) {
            return Err(invalid_reply(
                &ApiService::OrderPayQuery,
                ReplyProblem::EchoMismatch("PayToken"),
                None,
            ));
        }
        Ok(resp)
    }

    /// `OrderUnCapturedQuery`: card orders authorised but not captured (one, or all).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn uncaptured(
        &self,
        order_no: Option<&OrderNo>,
    ) -> Result<OrderUnCapturedQueryResponse, Error> {
        let req = OrderUnCapturedQueryRequest {
            shop_no: self.inner.shop_no.clone(),
            order_no: order_no.cloned(),
        };
        let span = self.span(&ApiService::OrderUnCapturedQuery, order_no);
        self.run_query(&req).instrument(span).await
    }

    /// Captures an authorised card order (`OrderMaintain` `P`), `amount` `None` = in full.
    ///
    /// # Errors
    /// See [`maintain`](Self::maintain).
    pub async fn capture(
        &self,
        order_no: &OrderNo,
        amount: Option<Amount>,
    ) -> Result<OrderMaintainResponse, Error> {
        let mut req = OrderMaintainRequest::capture(self.inner.shop_no.clone(), order_no.clone());
        req.amount = amount;
        self.maintain(&req).await
    }

    /// Voids an authorised card order (`OrderMaintain` `C`).
    ///
    /// # Errors
    /// See [`maintain`](Self::maintain).
    pub async fn void(&self, order_no: &OrderNo) -> Result<OrderMaintainResponse, Error> {
        let req = OrderMaintainRequest::void(self.inner.shop_no.clone(), order_no.clone());
        self.maintain(&req).await
    }

    /// Refunds a captured card order (`OrderMaintain` `R`), `amount` `None` = everything not
    /// yet refunded.
    ///
    /// # Errors
    /// See [`maintain`](Self::maintain).
    pub async fn refund(
        &self,
        order_no: &OrderNo,
        amount: Option<Amount>,
        remark: Option<&str>,
    ) -> Result<OrderMaintainResponse, Error> {
        let mut req =
            OrderMaintainRequest::refund(self.inner.shop_no.clone(), order_no.clone(), amount);
        req.remark = remark.map(str::to_owned);
        self.maintain(&req).await
    }

    /// `BillQuery`: receipts and refunds of one day.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn bill(&self, date: BankDate) -> Result<BillQueryResponse, Error> {
        let req = BillQueryRequest {
            shop_no: self.inner.shop_no.clone(),
            bill_date: date,
        };
        let span = self.span(&ApiService::BillQuery, None);
        self.run_query(&req).instrument(span).await
    }

    /// `AllotQuery`: payouts between two dates, optionally of one PayType.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn allot(
        &self,
        start: BankDate,
        end: BankDate,
        pay_type: Option<PayType>,
    ) -> Result<AllotQueryResponse, Error> {
        let req = AllotQueryRequest {
            shop_no: self.inner.shop_no.clone(),
            allot_date_s: start,
            allot_date_e: end,
            pay_type,
        };
        let span = self.span(&ApiService::AllotQuery, None);
        self.run_query(&req).instrument(span).await
    }
}

/// Records the bank's transaction number on the current call span.
fn record_ts_no(ts_no: Option<&str>) {
    if let Some(ts) = ts_no {
        tracing::Span::current().record("ts_no", tracing::field::display(ts));
    }
}

fn cast_response<R: Request, T: Any>(resp: T) -> Result<R::Response, Error>
where
    R::Response: 'static,
{
    let boxed: Box<dyn Any> = Box::new(resp);
    boxed.downcast::<R::Response>().map(|b| *b).map_err(|_| {
        invalid_reply(
            &R::SERVICE,
            ReplyProblem::Payload,
            Some(msg("internal: response type mismatch")),
        )
    })
}

/// The `OrderNo` field of any request, for the span (only computed when the span is enabled).
fn order_no_of<R: Request>(req: &R) -> Option<OrderNo> {
    let v = serde_json::to_value(req).ok()?;
    OrderNo::new(v.get("OrderNo")?.as_str()?).ok()
}

fn settled_create(shop_no: &ShopNo, item: OrderListItem) -> OrderCreateResponse {
    OrderCreateResponse {
        order_no: Some(item.order_no),
        shop_no: Some(shop_no.clone()),
        ts_no: item.ts_no,
        amount: Some(item.amount),
        status: Status::Success,
        description: Some(SETTLED_DESCRIPTION.to_owned()),
        param1: item.param1,
        param2: item.param2,
        param3: item.param3,
        pay_type: Some(item.pay_type),
        atm_param: item.atm_param.map(|a| AtmPayInfo {
            atm_pay_no: a.atm_pay_no,
            web_atm_url: a.web_atm_url,
            otp_url: a.otp_url,
        }),
        card_param: item.card_param.map(|c| CardPayInfo {
            card_pay_url: c.card_pay_url,
        }),
        mobile_param: None,
    }
}

fn settled_maintain(
    shop_no: &ShopNo,
    req: &OrderMaintainRequest,
    after: Option<&OrderListItem>,
    amount: Option<Amount>,
) -> OrderMaintainResponse {
    OrderMaintainResponse {
        order_no: Some(req.order_no.clone()),
        shop_no: Some(shop_no.clone()),
        ts_no: after.and_then(|a| a.ts_no.clone()),
        command: Some(req.command.clone()),
        amount,
        date: None,
        status: Status::Success,
        description: Some(SETTLED_DESCRIPTION.to_owned()),
    }
}

/// Whether an `OrderMaintain` took effect, judged from the order before and after.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// It did; the amount affected if known.
    Done(Option<Amount>),
    /// It did not (safe to resend once).
    NotDone,
    /// Cannot tell.
    Unknown(String),
}

pub(crate) fn maintain_effect(
    req: &OrderMaintainRequest,
    before: Option<&OrderListItem>,
    after: Option<&OrderListItem>,
) -> Effect {
    let Some(after) = after else {
        // No such order: the command cannot have taken effect; resending gets the bank's own
        // refusal.
        return Effect::NotDone;
    };
    let refunded = |i: &OrderListItem| i.refund_amount.unwrap_or_default();
    match &req.command {
        Command::Capture => match after.pay_status {
            PayStatus::CardCaptured | PayStatus::CardRefunded => {
                Effect::Done(Some(req.amount.unwrap_or(after.amount)))
            }
            _ if !refunded(after).is_zero() => {
                Effect::Done(Some(req.amount.unwrap_or(after.amount)))
            }
            _ => Effect::NotDone,
        },
        Command::Void => match after.pay_status {
            PayStatus::CardVoided => Effect::Done(None),
            _ => Effect::NotDone,
        },
        Command::Refund => {
            let Some(before) = before else {
                return Effect::Unknown(
                    "the order could not be read before the refund, so its effect cannot be \
                     judged"
                        .to_owned(),
                );
            };
            let was = refunded(before);
            let now = refunded(after);
            let expected = req
                .amount
                .or_else(|| before.amount.checked_sub(was))
                .unwrap_or_default();
            if now == was {
                Effect::NotDone
            } else if was.checked_add(expected) == Some(now) {
                Effect::Done(Some(expected))
            } else {
                Effect::Unknown(format!(
                    "RefundAmount went from {} to {}, expected +{}",
                    was.minor(),
                    now.minor(),
                    expected.minor()
                ))
            }
        }
        other => Effect::Unknown(format!("unknown command {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sinopac_proto::{BankTime, Flag};

    fn item(status: PayStatus, refunded: u64) -> OrderListItem {
        OrderListItem {
            order_no: OrderNo::new("C1").unwrap(),
            ts_no: Some("NA024900000001".into()),
            ts_date: Some(BankTime::parse("202611250000").unwrap()),
            approved_date: None,
            pay_date: None,
            amount: Amount::from_minor(10_000),
            pay_type: PayType::Card,
            pay_status: status,
            expire_date: None,
            refund_flag: Some(if refunded > 0 { Flag::Yes } else { Flag::No }),
            refund_status: None,
            refund_date: None,
            refund_amount: Some(Amount::from_minor(refunded)),
            prdt_name: None,
            memo: None,
            param1: None,
            param2: None,
            param3: None,
            atm_param: None,
            card_param: None,
        }
    }

    fn req(cmd: Command, amount: Option<u64>) -> OrderMaintainRequest {
        let mut r = OrderMaintainRequest::new(
            ShopNo::new("NA0249_001").unwrap(),
            OrderNo::new("C1").unwrap(),
            cmd,
        );
        r.amount = amount.map(Amount::from_minor);
        r
    }

    #[test]
    fn capture_and_void_effects() {
        let cap = req(Command::Capture, None);
        assert_eq!(
            maintain_effect(&cap, None, Some(&item(PayStatus::CardCaptured, 0))),
            Effect::Done(Some(Amount::from_minor(10_000)))
        );
        assert_eq!(
            maintain_effect(&cap, None, Some(&item(PayStatus::CardAuthorized, 0))),
            Effect::NotDone
        );
        assert_eq!(maintain_effect(&cap, None, None), Effect::NotDone);
        let void = req(Command::Void, None);
        assert_eq!(
            maintain_effect(&void, None, Some(&item(PayStatus::CardVoided, 0))),
            Effect::Done(None)
        );
        assert_eq!(
            maintain_effect(&void, None, Some(&item(PayStatus::CardAuthorized, 0))),
            Effect::NotDone
        );
    }

    #[test]
    fn refund_effects_compare_before_and_after() {
        let partial = req(Command::Refund, Some(3_000));
        let before = item(PayStatus::CardCaptured, 1_000);
        assert_eq!(
            maintain_effect(
                &partial,
                Some(&before),
                Some(&item(PayStatus::CardCaptured, 4_000))
            ),
            Effect::Done(Some(Amount::from_minor(3_000)))
        );
        assert_eq!(
            maintain_effect(
                &partial,
                Some(&before),
                Some(&item(PayStatus::CardCaptured, 1_000))
            ),
            Effect::NotDone
        );
        assert!(matches!(
            maintain_effect(
                &partial,
                Some(&before),
                Some(&item(PayStatus::CardCaptured, 2_000))
            ),
            Effect::Unknown(_)
        ));
        assert!(matches!(
            maintain_effect(&partial, None, Some(&item(PayStatus::CardCaptured, 4_000))),
            Effect::Unknown(_)
        ));
        let full = req(Command::Refund, None);
        assert_eq!(
            maintain_effect(
                &full,
                Some(&before),
                Some(&item(PayStatus::CardRefunded, 10_000))
            ),
            Effect::Done(Some(Amount::from_minor(9_000)))
        );
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), b"{}"));
        assert!(looks_like_html(None, b"  \n<html><body>Request Rejected"));
        assert!(!looks_like_html(
            Some("application/json"),
            b"{\"Nonce\":\"x\"}"
        ));
    }

    #[test]
    fn nonce_memory_is_bounded() {
        let mut s = SeenNonces::default();
        assert!(s.insert(1));
        assert!(!s.insert(1));
        for i in 2..(NONCE_MEMORY as u64 + 10) {
            assert!(s.insert(i));
        }
        assert!(s.set.len() <= NONCE_MEMORY);
        assert!(s.insert(1), "forgotten after the window");
    }
}
