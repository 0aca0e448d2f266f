//! Throughput of the simulator: sealed `/Order` requests per second over loopback HTTP with 32
//! concurrent clients (each request = fetch a nonce, seal, POST /Order, open and verify), with a
//! minimal keep-alive HTTP/1.1 client (measures the sim) and with reqwest (a realistic client
//! sharing the same 2 cores), and the in-process cost of one nonce + `/Order` through
//! `router().oneshot` (no sockets). Clients run in the same process as the sim.
//!
//! Accepts and ignores any command-line arguments (`--bench`, `--output-format bencher`, …).
//! `SIM_BENCH_SECS` sets the measuring time per case (default 3).

// A benchmark binary: failing loudly on a broken setup is the right behaviour.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sinopac_proto::{
    Amount, BankDate, Envelope, Keys, Nonce, OrderCreateRequest, OrderNo, OrderPayQueryRequest,
    OrderQueryRequest, PayToken, Request, ShopNo, open, seal,
};
use sinopac_sim::{ShopConfig, Sim, SimConfig};
use tower::ServiceExt as _;

const SHOP: &str = "NA0249_001";
const KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";
const CLIENTS: usize = 32;

fn keys() -> Keys {
    Keys::new(
        "86D50DEF3EB7400E",
        "01FD27C09E5549E5",
        "9E004965F4244953",
        "7FB3385F414E4F91",
    )
    .unwrap_or_else(|e| panic!("keys: {e}"))
}

fn shop() -> ShopNo {
    ShopNo::new(SHOP).unwrap_or_else(|e| panic!("{e}"))
}

async fn setup() -> (Sim, PayToken) {
    let sim = Sim::new(SimConfig {
        atm_auto_pay_after: None,
        ..SimConfig::default()
    });
    sim.add_shop(ShopConfig::new(shop(), keys(), KEY_ID));
    // One paid order to query, plus a few hundred others in the ledger.
    let today = sinopac_proto::BankTime::from_unix_seconds(sim.now_unix())
        .map(|t| t.date())
        .unwrap_or_else(|| panic!("time"));
    let orders = (0..500).map(|i| {
        sinopac_sim::SeedOrder::new(
            OrderNo::new(format!("SEED{i:05}")).unwrap_or_else(|e| panic!("{e}")),
            Amount::from_minor(10_000),
            sinopac_proto::PayType::Atm,
            sim.now_unix() - 3600 + i,
        )
    });
    sim.seed_orders(&shop(), orders);
    let router = sim.router();
    let req = OrderCreateRequest::atm(
        shop(),
        OrderNo::new("BENCH1").unwrap_or_else(|e| panic!("{e}")),
        Amount::from_minor(50_000),
        "bench",
        today
            .add_days(3)
            .unwrap_or(BankDate::new(2030, 1, 1).unwrap_or_else(|| panic!())),
    );
    let nonce = in_process_nonce(&router).await;
    let env = seal(&req, &nonce, &keys()).unwrap_or_else(|e| panic!("{e}"));
    let _ = in_process_order(&router, &env).await;
    let token = sim
        .pay_atm(
            &shop(),
            &OrderNo::new("BENCH1").unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (sim, token)
}

async fn in_process_nonce(router: &axum::Router) -> Nonce {
    let req = http::Request::post("/Nonce")
        .header("content-type", "application/json")
        .header("X-KeyID", KEY_ID)
        .body(axum::body::Body::from(format!(r#"{{"ShopNo":"{SHOP}"}}"#)))
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
    Nonce::new(v["Nonce"].as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"))
}

async fn in_process_order(router: &axum::Router, env: &Envelope) -> Envelope {
    let req = http::Request::post("/Order")
        .header("content-type", "application/json")
        .header("X-KeyID", KEY_ID)
        .body(axum::body::Body::from(
            serde_json::to_vec(env).unwrap_or_else(|e| panic!("{e}")),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"))
}

fn report(name: &str, per_sec: f64, spread_pct: f64) {
    let ns = if per_sec > 0.0 { 1e9 / per_sec } else { 0.0 };
    println!(
        "test {name} ... bench: {:.0} ns/iter (+/- {:.0})",
        ns,
        ns * spread_pct / 100.0
    );
    println!("{name}: {per_sec:.0} requests/s");
}

/// 32 tasks over loopback; returns Order requests per second (and per-second samples).
async fn loopback(sim: &Sim, token: &PayToken, secs: u64, query: bool) -> (f64, Vec<f64>) {
    let server = sim.spawn_loopback().await.unwrap_or_else(|e| panic!("{e}"));
    let base = server.base_url();
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(4)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let base = base.clone();
        let count = count.clone();
        let stop = stop.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let keys = keys();
            let nonce_body = format!(r#"{{"ShopNo":"{SHOP}"}}"#);
            let pay = OrderPayQueryRequest {
                shop_no: shop(),
                pay_token: token,
            };
            let q = OrderQueryRequest::by_order_no(
                shop(),
                OrderNo::new(format!("SEED{:05}", i * 7)).unwrap_or_else(|e| panic!("{e}")),
            );
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let resp = client
                    .post(format!("{base}Nonce"))
                    .header("content-type", "application/json")
                    .header("X-KeyID", KEY_ID)
                    .body(nonce_body.clone())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let b = resp.bytes().await.unwrap_or_else(|e| panic!("{e}"));
                let v: serde_json::Value =
                    serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{e}"));
                let nonce = Nonce::new(v["Nonce"].as_str().unwrap_or_default())
                    .unwrap_or_else(|e| panic!("{e}"));
                let use_query = query && n % 2 == 1;
                let env = if use_query {
                    seal(&q, &nonce, &keys)
                } else {
                    seal(&pay, &nonce, &keys)
                }
                .unwrap_or_else(|e| panic!("{e}"));
                let resp = client
                    .post(format!("{base}Order"))
                    .header("content-type", "application/json")
                    .header("X-KeyID", KEY_ID)
                    .body(serde_json::to_vec(&env).unwrap_or_else(|e| panic!("{e}")))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let b = resp.bytes().await.unwrap_or_else(|e| panic!("{e}"));
                let reply: Envelope = serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{e}"));
                if use_query {
                    let r: <OrderQueryRequest as Request>::Response =
                        open(&reply, &keys).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(r.order_list.len(), 1);
                } else {
                    let r: <OrderPayQueryRequest as Request>::Response =
                        open(&reply, &keys).unwrap_or_else(|e| panic!("{e}"));
                    assert!(r.ts_result_content.is_some());
                }
                n += 1;
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Warm up 0.5 s, then sample every second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::new();
    let start = Instant::now();
    let first = count.load(Ordering::Relaxed);
    let mut last = first;
    for _ in 0..secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = count.load(Ordering::Relaxed);
        samples.push((now - last) as f64);
        last = now;
    }
    let total = (last - first) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    server.shutdown().await;
    (total, samples)
}

/// A minimal keep-alive HTTP/1.1 client on one TCP connection (so that the figure measures the
/// sim, not a client library).
struct RawConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    async fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::with_capacity(8192),
        }
    }

    async fn post(&mut self, path: &str, body: &[u8]) -> Vec<u8> {
        use tokio::io::AsyncWriteExt as _;
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-KeyID: {KEY_ID}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        self.stream.write_all(&req).await.unwrap();
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])
                    .unwrap()
                    .to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap();
                let total = end + 4 + len;
                while self.buf.len() < total {
                    self.read_more().await;
                }
                let body = self.buf[end + 4..total].to_vec();
                self.buf.drain(..total);
                return body;
            }
            self.read_more().await;
        }
    }

    async fn read_more(&mut self) {
        use tokio::io::AsyncReadExt as _;
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed");
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// 32 tasks over loopback, each with its own keep-alive connection and the raw client.
async fn loopback_raw(sim: &Sim, token: &PayToken, secs: u64) -> (f64, Vec<f64>) {
    let server = sim.spawn_loopback().await.unwrap();
    let addr = server.addr();
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let count = count.clone();
        let stop = stop.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let keys = keys();
            let mut conn = RawConn::connect(addr).await;
            let nonce_body = format!(r#"{{"ShopNo":"{SHOP}"}}"#);
            let pay = OrderPayQueryRequest {
                shop_no: shop(),
                pay_token: token,
            };
            while !stop.load(Ordering::Relaxed) {
                let b = conn.post("/Nonce", nonce_body.as_bytes()).await;
                let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                let nonce = Nonce::new(v["Nonce"].as_str().unwrap_or_default()).unwrap();
                let env = seal(&pay, &nonce, &keys).unwrap();
                let b = conn
                    .post("/Order", &serde_json::to_vec(&env).unwrap())
                    .await;
                let reply: Envelope = serde_json::from_slice(&b).unwrap();
                let r: <OrderPayQueryRequest as Request>::Response = open(&reply, &keys).unwrap();
                assert!(r.ts_result_content.is_some());
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::new();
    let start = Instant::now();
    let first = count.load(Ordering::Relaxed);
    let mut last = first;
    for _ in 0..secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = count.load(Ordering::Relaxed);
        samples.push((now - last) as f64);
        last = now;
    }
    let total = (last - first) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    server.shutdown().await;
    (total, samples)
}

fn spread(samples: &[f64]) -> f64 {
    let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
    let max_dev = samples
        .iter()
        .map(|s| (s - mean).abs())
        .fold(0.0f64, f64::max);
    if mean > 0.0 {
        max_dev / mean * 100.0
    } else {
        0.0
    }
}

async fn in_process(sim: &Sim, token: &PayToken, secs: u64) -> f64 {
    let router = sim.router();
    let keys = keys();
    let pay = OrderPayQueryRequest {
        shop_no: shop(),
        pay_token: token.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        let nonce = in_process_nonce(&router).await;
        let env = seal(&pay, &nonce, &keys).unwrap_or_else(|e| panic!("{e}"));
        let reply = in_process_order(&router, &env).await;
        let _: <OrderPayQueryRequest as Request>::Response =
            open(&reply, &keys).unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // Arguments (`--bench`, `--output-format bencher`, filters) are accepted and ignored.
    let _ = std::env::args().count();
    let secs = std::env::var("SIM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3u64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let (sim, token) = setup().await;
        let (rps, samples) = loopback_raw(&sim, &token, secs).await;
        report(
            "sim_loopback_32_clients_raw_http_order_pay_query",
            rps,
            spread(&samples),
        );
        let (rps, samples) = loopback(&sim, &token, secs, false).await;
        report(
            "sim_loopback_32_clients_reqwest_order_pay_query",
            rps,
            spread(&samples),
        );
        let (rps, samples) = loopback(&sim, &token, secs, true).await;
        report(
            "sim_loopback_32_clients_reqwest_pay_query_and_order_query",
            rps,
            spread(&samples),
        );
        let rps = in_process(&sim, &token, secs.min(2)).await;
        report("sim_in_process_nonce_and_order_pay_query", rps, 0.0);
    });
}
