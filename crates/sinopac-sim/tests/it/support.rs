//! Shared helpers: a sim with one shop, and a tiny client built from `sinopac-proto`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use http::{HeaderMap, Request as HttpRequest, StatusCode};
use parking_lot::Mutex;
use sinopac_proto::{
    Amount, BankDate, CardParam, Envelope, Keys, Nonce, OrderCreateRequest, OrderNo, Request,
    ShopNo, open, seal,
};
use sinopac_sim::{CallbackReply, CallbackRequest, ShopConfig, Sim, SimConfig, callback_fn};
use tower::ServiceExt as _;

pub const SHOP: &str = "NA0249_001";
pub const KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";

pub fn keys() -> Keys {
    Keys::new(
        "86D50DEF3EB7400E",
        "01FD27C09E5549E5",
        "9E004965F4244953",
        "7FB3385F414E4F91",
    )
    .unwrap()
}

pub fn shop() -> ShopNo {
    ShopNo::new(SHOP).unwrap()
}

pub fn ono(s: &str) -> OrderNo {
    OrderNo::new(s).unwrap()
}

pub fn ntd(n: u64) -> Amount {
    Amount::from_ntd(n).unwrap()
}

/// A config with no ATM auto-pay (tests opt in).
pub fn quiet_config() -> SimConfig {
    SimConfig {
        atm_auto_pay_after: None,
        ..SimConfig::default()
    }
}

pub struct Harness {
    pub sim: Sim,
    pub keys: Keys,
    router: axum::Router,
}

/// One recorded callback: sim time (unix ms) and the request.
pub type Recorded = Arc<Mutex<Vec<(i64, CallbackRequest)>>>;

impl Harness {
    pub fn new() -> Self {
        Self::with_config(quiet_config())
    }

    pub fn with_config(config: SimConfig) -> Self {
        let sim = Sim::new(config);
        sim.add_shop(ShopConfig::new(shop(), keys(), KEY_ID));
        let router = sim.router();
        Self {
            sim,
            keys: keys(),
            router,
        }
    }

    /// Records callbacks and answers each with `reply(n)` (n = 0-based call number).
    pub fn record_callbacks(
        &self,
        reply: impl Fn(usize) -> CallbackReply + Send + Sync + 'static,
    ) -> Recorded {
        let log: Recorded = Arc::default();
        let sim = self.sim.clone();
        let l = log.clone();
        let reply = Arc::new(reply);
        self.sim.set_callback_transport(callback_fn(move |req| {
            let n = {
                let mut g = l.lock();
                g.push((sim.now_ms(), req));
                g.len() - 1
            };
            let r = reply(n);
            async move { Ok(r) }
        }));
        log
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut b = HttpRequest::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(b.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        (status, headers, bytes)
    }

    pub async fn post_json(
        &self,
        path: &str,
        key_id: Option<&str>,
        body: String,
    ) -> (StatusCode, Bytes) {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(k) = key_id {
            headers.push(("X-KeyID", k));
        }
        let (s, _, b) = self.raw("POST", path, &headers, body).await;
        (s, b)
    }

    pub async fn nonce(&self) -> Nonce {
        let (status, body) = self
            .post_json("/Nonce", Some(KEY_ID), format!(r#"{{"ShopNo":"{SHOP}"}}"#))
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        Nonce::new(v["Nonce"].as_str().unwrap()).unwrap()
    }

    pub fn seal<R: Request>(&self, req: &R, nonce: &Nonce) -> Envelope {
        seal(req, nonce, &self.keys).unwrap()
    }

    /// POSTs an envelope; returns the status and body.
    pub async fn post_envelope(&self, env: &Envelope) -> (StatusCode, Bytes) {
        self.post_json("/Order", Some(KEY_ID), serde_json::to_string(env).unwrap())
            .await
    }

    /// POSTs an envelope that must come back sealed; opens and verifies it.
    pub async fn exchange<T: serde::de::DeserializeOwned>(&self, env: &Envelope) -> (Envelope, T) {
        let (status, body) = self.post_envelope(env).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let reply: Envelope = serde_json::from_slice(&body).unwrap();
        assert_eq!(reply.shop_no, env.shop_no);
        assert_eq!(reply.api_service, env.api_service);
        assert_ne!(reply.nonce, env.nonce, "reply must carry a fresh nonce");
        let payload = open(&reply, &self.keys).unwrap();
        (reply, payload)
    }

    /// Fresh nonce → seal → POST → open.
    pub async fn call<R: Request>(&self, req: &R) -> R::Response {
        let nonce = self.nonce().await;
        let env = self.seal(req, &nonce);
        self.exchange(&env).await.1
    }

    pub async fn create_atm(
        &self,
        order_no: &str,
        amount: u64,
    ) -> sinopac_proto::OrderCreateResponse {
        let req = atm_request(order_no, amount, &self.sim);
        self.call(&req).await
    }

    pub async fn create_card(
        &self,
        order_no: &str,
        amount: u64,
        card: CardParam,
    ) -> sinopac_proto::OrderCreateResponse {
        let req = card_request(order_no, amount, card);
        self.call(&req).await
    }
}

pub fn today(sim: &Sim) -> BankDate {
    sinopac_proto::BankTime::from_unix_seconds(sim.now_unix())
        .unwrap()
        .date()
}

pub fn atm_request(order_no: &str, amount: u64, sim: &Sim) -> OrderCreateRequest {
    OrderCreateRequest::atm(
        shop(),
        ono(order_no),
        ntd(amount),
        "虛擬帳號訂單",
        today(sim).add_days(3).unwrap(),
    )
    .return_url("https://shop.example/return")
    .backend_url("https://shop.example/backend")
}

pub fn card_request(order_no: &str, amount: u64, card: CardParam) -> OrderCreateRequest {
    OrderCreateRequest::card(shop(), ono(order_no), ntd(amount), "信用卡訂單", card)
        .return_url("https://shop.example/return")
        .backend_url("https://shop.example/backend")
}

pub fn ack() -> CallbackReply {
    CallbackReply {
        status: 200,
        body: br#"{"Status":"S"}"#.to_vec(),
    }
}

pub fn fail(status: u16) -> CallbackReply {
    CallbackReply {
        status,
        body: b"nope".to_vec(),
    }
}
