//! Shared fixtures: a sim with one shop, and clients wired to it in process.

use std::sync::Arc;
use std::time::Duration;

use sinopac_http::{
    Client, ClientBuilder, RetryPolicy, Timeouts, Transport, TransportError, TransportRequest,
    TransportResponse, transport_fn,
};
use sinopac_proto::{ApiService, Keys, OrderNo, ShopNo};
use sinopac_sim::{ShopConfig, Sim, SimConfig};
use tower::ServiceExt;

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

pub fn shop_no() -> ShopNo {
    ShopNo::new(SHOP).unwrap()
}

pub fn order_no(s: &str) -> OrderNo {
    OrderNo::new(s).unwrap()
}

pub fn sim() -> Sim {
    sim_with(SimConfig::default())
}

pub fn sim_with(config: SimConfig) -> Sim {
    let sim = Sim::new(config);
    sim.add_shop(ShopConfig::new(shop_no(), keys(), KEY_ID));
    sim
}

/// A transport that hands every request to the sim's router in process (no sockets).
pub fn in_process(sim: &Sim) -> Arc<dyn Transport> {
    let router = sim.router();
    Arc::new(transport_fn(move |req: TransportRequest| {
        let router = router.clone();
        async move {
            let mut b = http::Request::builder()
                .method("POST")
                .uri(req.url.as_str());
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            let request = b
                .body(axum::body::Body::from(req.body))
                .map_err(|e| TransportError::Build(Box::new(e)))?;
            let resp = match router.oneshot(request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .map_err(TransportError::interrupted)?;
            Ok(TransportResponse {
                status,
                content_type,
                body: body.to_vec(),
            })
        }
    }))
}

/// Fast retries for tests (the backoff runs on tokio's clock; tests with paused time do not
/// wait for it).
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_elapsed: Duration::from_secs(120),
    }
}

pub fn builder(sim: &Sim) -> ClientBuilder {
    Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id(KEY_ID)
        .base_url("http://sim.invalid/")
        .transport(in_process(sim))
        .retry_policy(fast_retry())
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            nonce: Duration::from_secs(2),
            request: Duration::from_secs(5),
        })
        .jitter_seed(7)
}

pub fn client(sim: &Sim) -> Client {
    builder(sim).build().unwrap()
}

pub fn service_count(sim: &Sim, service: ApiService) -> u64 {
    sim.counters().service(&service)
}
