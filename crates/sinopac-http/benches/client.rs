//! Benchmarks of the client (harness = false; any CLI arguments are accepted and ignored).
//!
//! * `pay_query_loopback_32`: `OrderPayQuery` calls per second against `sinopac-sim` served
//!   on 127.0.0.1 (reqwest transport, 32 concurrent tasks, 2 runtime workers). Each call is a
//!   nonce fetch plus an `/Order` POST, sealed, opened and verified on both sides.
//! * `client_overhead_in_process`: the client's own cost per `OrderPayQuery` call (seal, open,
//!   verify, parse, bookkeeping) with a transport that answers precomputed sealed replies.
//!
//! Set `SINOPAC_BENCH_SECS` to change the measuring time per round (default 1 s, 5 rounds).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sinopac_http::{Client, RetryPolicy, TransportRequest, TransportResponse, transport_fn};
use sinopac_proto::{
    Amount, ApiService, Keys, OrderNo, OrderPayQueryResponse, PayToken, PayType, ShopNo, Status,
    TsResultContent,
};
use sinopac_sim::{SeedOrder, ShopConfig, Sim, SimConfig};

const SHOP: &str = "NA0249_001";
const KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";
const TASKS: usize = 32;
const ROUNDS: usize = 5;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn keys() -> Res<Keys> {
    Ok(Keys::new(
        "86D50DEF3EB7400E",
        "01FD27C09E5549E5",
        "9E004965F4244953",
        "7FB3385F414E4F91",
    )?)
}

fn shop() -> Res<ShopNo> {
    Ok(ShopNo::new(SHOP)?)
}

fn round_time() -> Duration {
    let secs = std::env::var("SINOPAC_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

fn mean_spread(v: &[f64]) -> (f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, (hi - lo) / 2.0)
}

/// Runs `TASKS` tasks calling `pay_query` for `dur`; returns calls per second.
async fn pay_query_round(client: &Client, token: &PayToken, dur: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + dur;
    let start = Instant::now();
    let mut handles = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let (c, t, done, errors) = (client.clone(), token.clone(), done.clone(), errors.clone());
        handles.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match c.pay_query(&t).await {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let errs = errors.load(Ordering::Relaxed);
    if errs > 0 {
        eprintln!("warning: {errs} failed calls");
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

fn bench_loopback(rt: &tokio::runtime::Runtime) -> Res<()> {
    rt.block_on(async {
        let sim = Sim::new(SimConfig::default());
        sim.add_shop(ShopConfig::new(shop()?, keys()?, KEY_ID));
        let no = OrderNo::new("BENCH0001")?;
        sim.seed_orders(
            &shop()?,
            [SeedOrder::new(
                no.clone(),
                Amount::from_minor(50_000),
                PayType::Atm,
                sim.now_unix(),
            )],
        );
        let token = sim.pay_atm(&shop()?, &no).await?;
        let server = sim.spawn_loopback().await?;
        let client = Client::builder()
            .shop_no(shop()?)
            .keys(keys()?)
            .key_id(KEY_ID)
            .base_url(&server.base_url())
            .retry_policy(RetryPolicy::none())
            .build()?;
        // Warm up the connection pool.
        pay_query_round(&client, &token, Duration::from_millis(300)).await;
        let before = sim.counters().service(&ApiService::OrderPayQuery);
        let mut rates = Vec::new();
        let measured = Instant::now();
        for _ in 0..ROUNDS {
            rates.push(pay_query_round(&client, &token, round_time()).await);
        }
        let seen = sim.counters().service(&ApiService::OrderPayQuery) - before;
        println!(
            "pay_query_loopback_32: the sim answered {seen} OrderPayQuery requests in {:.1} s",
            measured.elapsed().as_secs_f64()
        );
        let (mean, spread) = mean_spread(&rates);
        let per_call_ns = 1e9 / mean;
        let spread_ns = per_call_ns * spread / mean;
        println!(
            "test pay_query_loopback_32 ... bench: {:>11.0} ns/iter (+/- {:.0})",
            per_call_ns, spread_ns
        );
        println!(
            "pay_query_loopback_32: {mean:.0} calls/s (+/- {spread:.0}; {TASKS} tasks, 2 workers, \
             sim in the same process; each call = Nonce + Order over HTTP)"
        );
        server.shutdown().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

fn bench_overhead(rt: &tokio::runtime::Runtime) -> Res<()> {
    const POOL: usize = 8192;
    let keys = keys()?;
    let token = PayToken::new("9c2f6a3e5b7d4c1e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e")?;
    let reply = OrderPayQueryResponse {
        shop_no: Some(shop()?),
        pay_token: Some(token.clone()),
        date: None,
        status: Status::Success,
        description: Some("S0000 – 處理成功".to_owned()),
        ts_result_content: Some(TsResultContent {
            ap_type: None,
            ts_no: Some("NA024900000001".to_owned()),
            order_no: Some(OrderNo::new("BENCH0001")?),
            shop_no: Some(shop()?),
            pay_type: Some(PayType::Atm),
            amount: Some(Amount::from_minor(50_000)),
            status: Some(Status::Success),
            description: Some(String::new()),
            param1: None,
            param2: None,
            param3: None,
            pay_date: None,
            left_cc_no: None,
            right_cc_no: None,
            cc_exp_date: None,
            cc_token: None,
            auth_code: None,
        }),
    };
    // Distinct nonces: the client refuses a reply whose nonce it has seen recently.
    let nonces: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..POOL)
            .map(|i| format!(r#"{{"Nonce":"REQNONCE{i:040}"}}"#).into_bytes())
            .collect(),
    );
    let mut sealed = Vec::with_capacity(POOL);
    for i in 0..POOL {
        let env = sinopac_proto::seal_payload(
            ApiService::OrderPayQuery,
            SHOP,
            &reply,
            &format!("REPNONCE{i:040}"),
            &keys,
        )?;
        sealed.push(serde_json::to_vec(&env)?);
    }
    let replies: Arc<Vec<Vec<u8>>> = Arc::new(sealed);
    let replies_for_transport = replies.clone();
    let (n_i, r_i) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let transport = transport_fn(move |req: TransportRequest| {
        let body = if req.endpoint() == "Nonce" {
            nonces.get(n_i.fetch_add(1, Ordering::Relaxed) % POOL)
        } else {
            replies_for_transport.get(r_i.fetch_add(1, Ordering::Relaxed) % POOL)
        }
        .cloned()
        .unwrap_or_default();
        async move { Ok(TransportResponse::json(body)) }
    });
    let client = Client::builder()
        .shop_no(shop()?)
        .keys(keys)
        .key_id(KEY_ID)
        .base_url("http://bench.invalid/")
        .transport(Arc::new(transport))
        .retry_policy(RetryPolicy::none())
        .build()?;
    rt.block_on(async {
        for _ in 0..2000 {
            client.pay_query(&token).await?;
        }
        let mut per_call = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < round_time() {
                for _ in 0..100 {
                    client.pay_query(&token).await?;
                }
                n += 100;
            }
            per_call.push(start.elapsed().as_nanos() as f64 / n as f64);
        }
        let (mean, spread) = mean_spread(&per_call);
        println!(
            "test client_overhead_in_process ... bench: {:>11.0} ns/iter (+/- {:.0})",
            mean, spread
        );
        // The protocol work alone (seal the request, JSON both ways, open + verify the reply),
        // to show what the client adds on top.
        let request = sinopac_proto::OrderPayQueryRequest {
            shop_no: shop()?,
            pay_token: token.clone(),
        };
        let proto_keys = self::keys()?;
        let reply_bytes = replies.first().cloned().unwrap_or_default();
        let mut proto_ns = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < round_time() {
                for _ in 0..100 {
                    let env = sinopac_proto::seal_payload(
                        ApiService::OrderPayQuery,
                        SHOP,
                        &request,
                        "REQNONCE0000000000000000000000000000000000000000",
                        &proto_keys,
                    )?;
                    std::hint::black_box(serde_json::to_vec(&env)?);
                    let reply: sinopac_proto::Envelope = serde_json::from_slice(&reply_bytes)?;
                    let opened: OrderPayQueryResponse = sinopac_proto::open(&reply, &proto_keys)?;
                    std::hint::black_box(opened);
                }
                n += 100;
            }
            proto_ns.push(start.elapsed().as_nanos() as f64 / n as f64);
        }
        let (proto_mean, proto_spread) = mean_spread(&proto_ns);
        println!(
            "test proto_seal_open_only ... bench: {:>11.0} ns/iter (+/- {:.0})",
            proto_mean, proto_spread
        );
        println!(
            "client_overhead_in_process: {:.1} µs per OrderPayQuery call ({:.0} calls/s on one task); \
             of which seal + open + JSON: {:.1} µs",
            mean / 1e3,
            1e9 / mean,
            proto_mean / 1e3
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

fn main() -> Res<()> {
    // cargo passes `--bench`; `cargo xtask bench` passes `--output-format bencher`: ignored.
    // Other plain arguments filter benchmarks by name.
    let mut filter: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--output-format" || a == "--format" {
            let _ = args.next();
        } else if !a.starts_with('-') {
            filter.push(a);
        }
    }
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if wants("client_overhead_in_process") {
        bench_overhead(&rt)?;
    }
    if wants("pay_query_loopback_32") {
        bench_loopback(&rt)?;
    }
    Ok(())
}
