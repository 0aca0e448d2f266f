//! The axum router: `/Nonce`, `/Order`, the hosted pages and the `/_sim/` control API.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::Serialize;
use sinopac_proto::{
    AllotQueryRequest, ApiService, BankTime, BillQueryRequest, Envelope, Iv, Keys,
    OrderCreateRequest, OrderMaintainRequest, OrderNo, OrderPayQueryRequest, OrderQueryRequest,
    OrderUnCapturedQueryRequest, Request, SealError, ShopNo, Status, StatusOnly, VERSION, decrypt,
    seal_payload, sign_json,
};
use subtle::ConstantTimeEq;

use crate::faults::{Drawn, Fault, FaultPlan, Hit};
use crate::ledger::{CardInput, Fail, bank_time};
use crate::nonce::NonceProblem;
use crate::pages;
use crate::sim::{ShopConfig, ShopEntry, Sim, SimError};

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

fn with_type(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn json_body(status: StatusCode, body: String) -> Response {
    with_type(status, JSON, body)
}

fn json_of<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json_body(status, body),
        Err(_) => json_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"Error":"serialization failed"}"#.to_owned(),
        ),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    with_type(status, HTML, body)
}

/// `{"Status":"F","Description":"<code> – <text>"}` with an HTTP error status.
fn plain_fail(status: StatusCode, code: &'static str, text: &str) -> Response {
    let body = serde_json::json!({
        "Status": "F",
        "Description": Fail::new(code, text).description(),
    });
    json_body(status, body.to_string())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

fn key_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-keyid")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl Sim {
    /// The axum router: `POST /Nonce`, `POST /Order`, the hosted pages (`/pay/card`,
    /// `/pay/webatm`, `/pay/otp`) and the control API under `/_sim/`. Nest it anywhere; set
    /// [`Sim::set_public_base_url`] accordingly so that `CardPayURL` points at it.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/Nonce", post(nonce_handler))
            .route("/Order", post(order_handler))
            .route("/pay/card", get(card_page).post(card_submit))
            .route("/pay/webatm", get(webatm_page).post(webatm_submit))
            .route("/pay/otp", get(webatm_page).post(webatm_submit))
            .route("/_sim", get(control_index))
            .route("/_sim/", get(control_index))
            .route("/_sim/pay", post(control_pay))
            .route("/_sim/advance", post(control_advance))
            .route("/_sim/run_due", post(control_run_due))
            .route("/_sim/clock", get(control_clock))
            .route("/_sim/deliveries", get(control_deliveries))
            .route("/_sim/orders", get(control_orders))
            .route("/_sim/order", get(control_order))
            .route(
                "/_sim/faults",
                get(control_faults_get).put(control_faults_put),
            )
            .route("/_sim/counters", get(control_counters))
            .route("/_sim/shops", get(control_shops).post(control_add_shop))
            .with_state(self.clone())
    }

    fn waf_response(&self) -> Response {
        self.inner.counters.lock().envelope_rejections += 1;
        tracing::info!("sim: request rejected by the WAF page (not a JSON body)");
        let id = self.random_digits(18);
        html(StatusCode::OK, pages::waf(&id))
    }

    /// Applies latency and "before" replacements; `Some` = answer with this instead.
    async fn pre_faults(&self, drawn: &Drawn) -> Option<Response> {
        if drawn.is_empty() {
            return None;
        }
        let latency = drawn.latency_ms();
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        match drawn.replace(false) {
            Some(f) => Some(self.fault_response(f, drawn.hang_max_ms).await),
            None => None,
        }
    }

    async fn post_faults(&self, drawn: &Drawn, response: Response) -> Response {
        if drawn.is_empty() {
            return response;
        }
        match drawn.replace(true) {
            Some(f) => self.fault_response(f, drawn.hang_max_ms).await,
            None if drawn.has(&Fault::Truncate) => truncate(response).await,
            None => response,
        }
    }

    async fn fault_response(&self, fault: &Fault, hang_max_ms: u64) -> Response {
        tracing::info!(?fault, "sim: injecting fault");
        match fault {
            Fault::HttpStatus { status } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                html(status, pages::error(status.as_u16(), reason(status)))
            }
            Fault::Reset => reset(),
            Fault::Hang => {
                tokio::time::sleep(Duration::from_millis(hang_max_ms)).await;
                html(
                    StatusCode::GATEWAY_TIMEOUT,
                    pages::error(504, "Gateway Timeout"),
                )
            }
            _ => {
                let id = self.random_digits(18);
                html(StatusCode::OK, pages::waf(&id))
            }
        }
    }

    fn handle_nonce(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        #[derive(Deserialize)]
        struct NonceBody {
            #[serde(rename = "ShopNo")]
            shop_no: String,
        }
        if !is_json(headers) {
            return self.waf_response();
        }
        let parsed: NonceBody = match serde_json::from_slice(body) {
            Ok(p) => p,
            Err(e) if e.is_syntax() || e.is_eof() => return self.waf_response(),
            Err(_) => {
                self.inner.counters.lock().envelope_rejections += 1;
                return plain_fail(StatusCode::BAD_REQUEST, "E9011", "請求格式錯誤 (ShopNo)");
            }
        };
        let Some(key) = key_id(headers) else {
            self.inner.counters.lock().envelope_rejections += 1;
            return plain_fail(StatusCode::UNAUTHORIZED, "E9001", "缺少 X-KeyID");
        };
        let Some(shop) = self.shop_entry(&parsed.shop_no) else {
            self.inner.counters.lock().envelope_rejections += 1;
            return plain_fail(StatusCode::BAD_REQUEST, "E9010", "商店代號不存在");
        };
        if !ct_eq(key, &shop.key_id) {
            self.inner.counters.lock().envelope_rejections += 1;
            return plain_fail(StatusCode::UNAUTHORIZED, "E9002", "X-KeyID 無效");
        }
        let nonce = self.issue_nonce(&shop);
        // Base64 never needs JSON escaping.
        json_body(StatusCode::OK, format!(r#"{{"Nonce":"{nonce}"}}"#))
    }

    fn seal_reply<T: Serialize>(
        &self,
        shop: &ShopEntry,
        service: &ApiService,
        payload: &T,
        nonce: &str,
    ) -> Result<Envelope, SealError> {
        seal_payload(
            service.clone(),
            shop.shop_no.as_str(),
            payload,
            nonce,
            &shop.keys,
        )
    }

    fn sealed_response(
        &self,
        shop: &ShopEntry,
        env: &Envelope,
        reply: Reply,
        drawn: &Drawn,
    ) -> Response {
        let nonce = if drawn.has(&Fault::StaleNonce) {
            env.nonce.clone()
        } else {
            self.fresh_nonce_text()
        };
        let service = &env.api_service;
        let sealed = match &reply {
            Reply::Create(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::Query(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::PayQuery(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::UnCaptured(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::Maintain(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::Bill(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::Allot(r) => self.seal_reply(shop, service, r, &nonce),
            Reply::Fail(r) => self.seal_reply(shop, service, r, &nonce),
        };
        match sealed {
            Ok(mut envelope) => {
                if drawn.has(&Fault::TamperSign) {
                    envelope.sign = tamper(&envelope.sign);
                }
                json_of(StatusCode::OK, &envelope)
            }
            Err(_) => plain_fail(StatusCode::INTERNAL_SERVER_ERROR, "E9999", "模擬器內部錯誤"),
        }
    }

    fn handle_order(&self, key: Option<&str>, env: &Envelope, drawn: &Drawn) -> Response {
        let reject = |status: StatusCode, code: &'static str, text: &str| {
            self.inner.counters.lock().envelope_rejections += 1;
            tracing::info!(
                shop_no = %env.shop_no,
                service = %env.api_service,
                http_status = status.as_u16(),
                code,
                "sim: /Order rejected: {text}"
            );
            plain_fail(status, code, text)
        };
        if env.version != VERSION {
            return reject(StatusCode::BAD_REQUEST, "E9012", "Version 不支援");
        }
        let Some(key) = key else {
            return reject(StatusCode::UNAUTHORIZED, "E9001", "缺少 X-KeyID");
        };
        let Some(shop) = self.shop_entry(&env.shop_no) else {
            return reject(StatusCode::BAD_REQUEST, "E9010", "商店代號不存在");
        };
        if !ct_eq(key, &shop.key_id) {
            return reject(StatusCode::UNAUTHORIZED, "E9002", "X-KeyID 無效");
        }
        let now = self.now_ms();
        let ttl = i64::try_from(self.inner.config.nonce_ttl.as_millis()).unwrap_or(i64::MAX);
        let nonce_check =
            self.inner
                .nonces
                .lock()
                .consume(&env.nonce, shop.shop_no.as_str(), key, now, ttl);
        let Some(plain) = decrypt(
            shop.keys.hash_id(),
            &Iv::from_nonce(&env.nonce),
            &env.message,
        ) else {
            return reject(StatusCode::BAD_REQUEST, "E9020", "Message 無法解密");
        };
        let sign_ok = match sign_json(&plain, &env.nonce, &shop.keys) {
            Ok(sign) => sign_eq(sign.as_str(), &env.sign),
            Err(_) => return reject(StatusCode::BAD_REQUEST, "E9020", "Message 無法解密"),
        };
        let envelope_fail = if !sign_ok {
            Some(Fail::new("E9101", "Sign 驗證失敗"))
        } else {
            match nonce_check {
                Ok(()) => None,
                Err(NonceProblem::Unknown) => Some(Fail::new("E9102", "Nonce 不存在")),
                Err(NonceProblem::Expired) => Some(Fail::new("E9103", "Nonce 已逾時")),
                Err(NonceProblem::Reused) => Some(Fail::new("E9104", "Nonce 已使用")),
                Err(NonceProblem::WrongShop) => {
                    Some(Fail::new("E9105", "Nonce 非此商店或 X-KeyID 所取得"))
                }
            }
        };
        let reply = match envelope_fail {
            Some(fail) => {
                self.inner.counters.lock().envelope_rejections += 1;
                tracing::info!(
                    shop_no = %env.shop_no,
                    service = %env.api_service,
                    code = fail.code,
                    "sim: /Order refused (sealed): {}",
                    fail.text
                );
                Reply::fail(&shop, &fail)
            }
            None => match self.dispatch(&shop, env, &plain) {
                Ok(reply) => {
                    tracing::debug!(shop_no = %env.shop_no, service = %env.api_service, "sim: /Order ok");
                    reply
                }
                Err(fail) => {
                    self.inner.counters.lock().business_failures += 1;
                    tracing::info!(
                        shop_no = %env.shop_no,
                        service = %env.api_service,
                        code = fail.code,
                        "sim: /Order failed: {}",
                        // A JSON error can quote a field's value: keep payloads out of logs.
                        if fail.code == "E0100" { "message fields do not fit the service" } else { fail.text.as_str() }
                    );
                    Reply::fail(&shop, &fail)
                }
            },
        };
        self.sealed_response(&shop, env, reply, drawn)
    }

    fn dispatch(&self, shop: &ShopEntry, env: &Envelope, plain: &[u8]) -> Result<Reply, Fail> {
        // Only OrderCreate builds page URLs.
        let base = if env.api_service == ApiService::OrderCreate {
            self.public_base_url()
        } else {
            String::new()
        };
        let ctx = self.ctx(&base);
        let shop_no = shop.shop_no.as_str();
        match &env.api_service {
            ApiService::OrderCreate => {
                let req: OrderCreateRequest = parse(plain, shop_no)?;
                let tk = self.random_guid();
                let r = self.inner.ledger.lock().order_create(&ctx, req, tk)?;
                self.inner.counters.lock().orders_created += 1;
                Ok(Reply::Create(r))
            }
            ApiService::OrderQuery => {
                let req: OrderQueryRequest = parse_valid(plain, shop_no)?;
                Ok(Reply::Query(
                    self.inner.ledger.lock().order_query(&ctx, &req),
                ))
            }
            ApiService::OrderPayQuery => {
                let req: OrderPayQueryRequest = parse_valid(plain, shop_no)?;
                Ok(Reply::PayQuery(
                    self.inner.ledger.lock().order_pay_query(&ctx, &req)?,
                ))
            }
            ApiService::OrderUnCapturedQuery => {
                let req: OrderUnCapturedQueryRequest = parse_valid(plain, shop_no)?;
                Ok(Reply::UnCaptured(
                    self.inner.ledger.lock().order_uncaptured(&ctx, &req),
                ))
            }
            ApiService::OrderMaintain => {
                let req: OrderMaintainRequest = parse_valid(plain, shop_no)?;
                Ok(Reply::Maintain(
                    self.inner.ledger.lock().order_maintain(&ctx, &req)?,
                ))
            }
            ApiService::BillQuery => {
                let req: BillQueryRequest = parse_valid(plain, shop_no)?;
                Ok(Reply::Bill(self.inner.ledger.lock().bill_query(&ctx, &req)))
            }
            ApiService::AllotQuery => {
                let req: AllotQueryRequest = parse_valid(plain, shop_no)?;
                Ok(Reply::Allot(
                    self.inner.ledger.lock().allot_query(&ctx, &req),
                ))
            }
            _ => Err(Fail::new("E9013", "APIService 不支援")),
        }
    }
}

/// A response whose body fails at once: hyper closes the connection mid-answer.
fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sinopac-sim: injected connection reset",
        ))
    });
    let mut r = Response::new(axum::body::Body::from_stream(stream));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// The same response with only the first half of its body.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(cut))
}

fn parse<R: Request + serde::de::DeserializeOwned>(plain: &[u8], shop_no: &str) -> Result<R, Fail> {
    let req: R = serde_json::from_slice(plain)
        .map_err(|e| Fail::new("E0100", format!("欄位格式錯誤 ({e})")))?;
    if req.shop_no().as_str() != shop_no {
        return Err(Fail::new("E0102", "訊息內 ShopNo 與信封不符"));
    }
    Ok(req)
}

fn parse_valid<R: Request + serde::de::DeserializeOwned>(
    plain: &[u8],
    shop_no: &str,
) -> Result<R, Fail> {
    let req: R = parse(plain, shop_no)?;
    req.validate()
        .map_err(|e| Fail::new("E0101", format!("欄位驗證失敗 {e}")))?;
    Ok(req)
}

fn sign_eq(computed: &str, received: &str) -> bool {
    let received = received.to_ascii_uppercase();
    ct_eq(computed, &received)
}

fn tamper(sign: &str) -> String {
    let mut chars: Vec<char> = sign.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    } else {
        chars.push('A');
    }
    chars.into_iter().collect()
}

enum Reply {
    Create(sinopac_proto::OrderCreateResponse),
    Query(sinopac_proto::OrderQueryResponse),
    PayQuery(sinopac_proto::OrderPayQueryResponse),
    UnCaptured(sinopac_proto::OrderUnCapturedQueryResponse),
    Maintain(sinopac_proto::OrderMaintainResponse),
    Bill(sinopac_proto::BillQueryResponse),
    Allot(sinopac_proto::AllotQueryResponse),
    Fail(StatusOnly),
}

impl Reply {
    fn fail(shop: &ShopEntry, fail: &Fail) -> Self {
        Reply::Fail(StatusOnly {
            shop_no: Some(shop.shop_no.clone()),
            status: Status::Failure,
            description: Some(fail.description()),
        })
    }
}

// ------------------------------------------------------------------------------------------------
// Bank endpoints

async fn nonce_handler(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    sim.inner.counters.lock().nonce_requests += 1;
    let drawn = sim.draw(&Hit::Nonce);
    if let Some(r) = sim.pre_faults(&drawn).await {
        return r;
    }
    let response = sim.handle_nonce(&headers, &body);
    sim.post_faults(&drawn, response).await
}

async fn order_handler(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    sim.inner.counters.lock().order_requests += 1;
    if !is_json(&headers) {
        return sim.waf_response();
    }
    let env: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) if e.is_syntax() || e.is_eof() => return sim.waf_response(),
        Err(_) => {
            sim.inner.counters.lock().envelope_rejections += 1;
            return plain_fail(
                StatusCode::BAD_REQUEST,
                "E9011",
                "請求格式錯誤 (Version, ShopNo, APIService, Sign, Nonce, Message)",
            );
        }
    };
    {
        let mut c = sim.inner.counters.lock();
        *c.by_service
            .entry(env.api_service.as_str().to_owned())
            .or_insert(0) += 1;
    }
    let drawn = sim.draw(&Hit::Order(&env.api_service));
    if let Some(r) = sim.pre_faults(&drawn).await {
        return r;
    }
    let response = sim.handle_order(key_id(&headers), &env, &drawn);
    sim.kick();
    sim.post_faults(&drawn, response).await
}

// ------------------------------------------------------------------------------------------------
// Hosted pages

fn form_map(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn td_tk(query: &HashMap<String, String>, form: &HashMap<String, String>) -> (String, String) {
    let get = |k: &str| {
        form.get(k)
            .or_else(|| query.get(k))
            .cloned()
            .unwrap_or_default()
    };
    (get("TD"), get("TK"))
}

impl Sim {
    fn page_order(&self, td: &str, tk: &str) -> Option<crate::SimOrder> {
        let ledger = self.inner.ledger.lock();
        let o = ledger.page(tk)?;
        (o.ts_no == td).then(|| o.clone())
    }
}

fn status_text(o: &crate::SimOrder) -> String {
    format!(
        "此交易狀態為 {} (order status {}).",
        o.pay_status, o.pay_status
    )
}

async fn card_page(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let query = query_map(q.as_deref());
    let (td, tk) = td_tk(&query, &HashMap::new());
    let Some(o) = sim.page_order(&td, &tk) else {
        return html(
            StatusCode::NOT_FOUND,
            pages::message("查無交易", "Unknown transaction."),
        );
    };
    if o.pay_type != sinopac_proto::PayType::Card {
        return html(
            StatusCode::NOT_FOUND,
            pages::message("查無交易", "Not a card order."),
        );
    }
    if o.pay_status != sinopac_proto::PayStatus::CardPending || sim.now_unix() >= o.expire_at {
        return html(StatusCode::OK, pages::message("無法付款", &status_text(&o)));
    }
    html(StatusCode::OK, pages::card_form(&o, &td, &tk))
}

async fn card_submit(State(sim): State<Sim>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let query = query_map(q.as_deref());
    let form = form_map(&body);
    let (td, tk) = td_tk(&query, &form);
    let Some(o) = sim.page_order(&td, &tk) else {
        return html(
            StatusCode::NOT_FOUND,
            pages::message("查無交易", "Unknown transaction."),
        );
    };
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let number: String = ["CardNo1", "CardNo2", "CardNo3", "CardNo4"]
        .iter()
        .map(|k| field(k))
        .collect::<String>()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let mut card = CardInput::default();
    if number.len() >= 12 {
        card.number = number;
    }
    let (mm, yy) = (field("ExpireMM"), field("ExpireYY"));
    if mm.len() == 2 && yy.len() == 2 {
        card.exp_mmyy = format!("{mm}{yy}");
    }
    let approve =
        !field("Action").eq_ignore_ascii_case("decline") && card.number != "4000000000000002";
    match sim.pay_card_now(&o.shop_no, &o.order_no, approve, &card) {
        Ok(token) => {
            sim.kick();
            match &o.return_url {
                Some(url) => html(
                    StatusCode::OK,
                    pages::return_form(
                        url,
                        &[("ShopNo", o.shop_no.as_str()), ("PayToken", token.as_str())],
                    ),
                ),
                None => html(
                    StatusCode::OK,
                    pages::message(
                        if approve {
                            "付款成功"
                        } else {
                            "付款失敗"
                        },
                        if approve { "Approved." } else { "Declined." },
                    ),
                ),
            }
        }
        Err(e) => html(
            StatusCode::CONFLICT,
            pages::message("無法付款", &e.to_string()),
        ),
    }
}

async fn webatm_page(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let query = query_map(q.as_deref());
    let (td, tk) = td_tk(&query, &HashMap::new());
    match sim.page_order(&td, &tk) {
        Some(o) if o.pay_type == sinopac_proto::PayType::Atm => {
            if o.pay_status != sinopac_proto::PayStatus::AtmPending {
                return html(StatusCode::OK, pages::message("無法付款", &status_text(&o)));
            }
            html(StatusCode::OK, pages::webatm_form(&o, &td, &tk))
        }
        _ => html(
            StatusCode::NOT_FOUND,
            pages::message("查無交易", "Unknown transaction."),
        ),
    }
}

async fn webatm_submit(State(sim): State<Sim>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let query = query_map(q.as_deref());
    let form = form_map(&body);
    let (td, tk) = td_tk(&query, &form);
    let Some(o) = sim.page_order(&td, &tk) else {
        return html(
            StatusCode::NOT_FOUND,
            pages::message("查無交易", "Unknown transaction."),
        );
    };
    match sim.pay_atm_now(&o.shop_no, &o.order_no) {
        Ok(_) => {
            sim.kick();
            html(
                StatusCode::OK,
                pages::message("轉帳成功", "Transfer completed."),
            )
        }
        Err(e) => html(
            StatusCode::CONFLICT,
            pages::message("無法付款", &e.to_string()),
        ),
    }
}

// ------------------------------------------------------------------------------------------------
// Control API

fn control_error(e: &SimError) -> Response {
    let status = match e {
        SimError::UnknownShop(_) | SimError::UnknownOrder { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    };
    json_of(status, &serde_json::json!({ "Error": e.to_string() }))
}

fn bad_request(text: &str) -> Response {
    json_of(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "Error": text }),
    )
}

#[derive(Deserialize)]
struct PayBody {
    #[serde(rename = "ShopNo", default)]
    shop_no: Option<ShopNo>,
    #[serde(rename = "OrderNo")]
    order_no: OrderNo,
    #[serde(rename = "Approve", default)]
    approve: Option<bool>,
}

async fn control_pay(State(sim): State<Sim>, body: Bytes) -> Response {
    let body: PayBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e.to_string()),
    };
    let shop_no = match body.shop_no {
        Some(s) => s,
        None => {
            let shops = sim
                .inner
                .ledger
                .lock()
                .shops_with_order(body.order_no.as_str());
            match shops.as_slice() {
                [one] => match ShopNo::new(one.clone()) {
                    Ok(s) => s,
                    Err(e) => return bad_request(&e.to_string()),
                },
                [] => {
                    return control_error(&SimError::UnknownOrder {
                        shop_no: "(any)".to_owned(),
                        order_no: body.order_no.into_string(),
                    });
                }
                _ => return bad_request("several shops have this OrderNo; give ShopNo"),
            }
        }
    };
    match sim
        .pay(&shop_no, &body.order_no, body.approve.unwrap_or(true))
        .await
    {
        Ok(token) => {
            let status = sim
                .order(&shop_no, &body.order_no)
                .map(|o| o.pay_status.as_str().to_owned());
            json_of(
                StatusCode::OK,
                &serde_json::json!({
                    "ShopNo": shop_no,
                    "OrderNo": body.order_no,
                    "PayToken": token,
                    "PayStatus": status,
                }),
            )
        }
        Err(e) => control_error(&e),
    }
}

async fn control_index() -> Response {
    json_of(
        StatusCode::OK,
        &serde_json::json!({
            "Service": "sinopac-sim control API",
            "Endpoints": [
                "POST /_sim/pay {\"ShopNo\"?,\"OrderNo\",\"Approve\"?}",
                "POST /_sim/advance {\"Seconds\":N}",
                "POST /_sim/run_due",
                "GET /_sim/clock",
                "GET /_sim/deliveries?ShopNo=&OrderNo=",
                "GET /_sim/orders?ShopNo=",
                "GET /_sim/order?ShopNo=&OrderNo=",
                "GET|PUT /_sim/faults",
                "GET /_sim/counters",
                "GET|POST /_sim/shops {\"ShopNo\",\"A1\",\"A2\",\"B1\",\"B2\",\"KeyID\"}",
            ],
        }),
    )
}

fn clock_json(sim: &Sim) -> Response {
    let now = sim.now_unix();
    json_of(
        StatusCode::OK,
        &serde_json::json!({
            "Now": now,
            "NowMs": sim.now_ms(),
            "BankTime": bank_time(now).map(|t: BankTime| t.to_string()),
            "PendingEvents": sim.pending_events(),
        }),
    )
}

#[derive(Deserialize)]
struct AdvanceBody {
    #[serde(rename = "Seconds")]
    seconds: f64,
}

async fn control_advance(State(sim): State<Sim>, body: Bytes) -> Response {
    let body: AdvanceBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e.to_string()),
    };
    if !body.seconds.is_finite() || body.seconds < 0.0 {
        return bad_request("Seconds must be a non-negative number");
    }
    sim.advance(Duration::from_secs_f64(body.seconds.min(1.0e10)))
        .await;
    clock_json(&sim)
}

async fn control_run_due(State(sim): State<Sim>) -> Response {
    sim.run_due().await;
    clock_json(&sim)
}

async fn control_clock(State(sim): State<Sim>) -> Response {
    clock_json(&sim)
}

async fn control_deliveries(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let query = query_map(q.as_deref());
    let list: Vec<_> = sim
        .deliveries()
        .into_iter()
        .filter(|d| query.get("ShopNo").is_none_or(|s| d.shop_no.as_str() == s))
        .filter(|d| {
            query
                .get("OrderNo")
                .is_none_or(|s| d.order_no.as_str() == s)
        })
        .collect();
    json_of(StatusCode::OK, &list)
}

async fn control_orders(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let query = query_map(q.as_deref());
    let shops = match query.get("ShopNo") {
        Some(s) => match ShopNo::new(s.clone()) {
            Ok(s) => vec![s],
            Err(e) => return bad_request(&e.to_string()),
        },
        None => {
            let ledger = sim.inner.ledger.lock();
            let mut v: Vec<String> = ledger.shops.keys().cloned().collect();
            drop(ledger);
            v.sort();
            v.into_iter().filter_map(|s| ShopNo::new(s).ok()).collect()
        }
    };
    let orders: Vec<_> = shops.iter().flat_map(|s| sim.orders(s)).collect();
    json_of(StatusCode::OK, &orders)
}

async fn control_order(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let query = query_map(q.as_deref());
    let (Some(shop), Some(order)) = (query.get("ShopNo"), query.get("OrderNo")) else {
        return bad_request("ShopNo and OrderNo are required");
    };
    let (Ok(shop), Ok(order)) = (ShopNo::new(shop.clone()), OrderNo::new(order.clone())) else {
        return bad_request("invalid ShopNo or OrderNo");
    };
    match sim.order(&shop, &order) {
        Some(o) => json_of(StatusCode::OK, &o),
        None => control_error(&SimError::UnknownOrder {
            shop_no: shop.into_string(),
            order_no: order.into_string(),
        }),
    }
}

async fn control_faults_get(State(sim): State<Sim>) -> Response {
    json_of(StatusCode::OK, &sim.faults())
}

async fn control_faults_put(State(sim): State<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            sim.set_faults(plan);
            json_of(StatusCode::OK, &sim.faults())
        }
        Err(e) => bad_request(&e.to_string()),
    }
}

async fn control_counters(State(sim): State<Sim>) -> Response {
    json_of(StatusCode::OK, &sim.counters())
}

async fn control_shops(State(sim): State<Sim>) -> Response {
    json_of(StatusCode::OK, &sim.shops())
}

#[derive(Deserialize)]
struct ShopBody {
    #[serde(rename = "ShopNo")]
    shop_no: ShopNo,
    #[serde(rename = "A1")]
    a1: String,
    #[serde(rename = "A2")]
    a2: String,
    #[serde(rename = "B1")]
    b1: String,
    #[serde(rename = "B2")]
    b2: String,
    #[serde(rename = "KeyID")]
    key_id: String,
}

async fn control_add_shop(State(sim): State<Sim>, body: Bytes) -> Response {
    let body: ShopBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e.to_string()),
    };
    let keys = match Keys::new(&body.a1, &body.a2, &body.b1, &body.b2) {
        Ok(k) => k,
        Err(e) => return bad_request(&e.to_string()),
    };
    if body.key_id.trim().is_empty() {
        return bad_request("KeyID is required");
    }
    sim.add_shop(ShopConfig::new(body.shop_no.clone(), keys, body.key_id));
    json_of(
        StatusCode::OK,
        &serde_json::json!({ "ShopNo": body.shop_no }),
    )
}
