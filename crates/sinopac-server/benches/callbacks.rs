//! Benchmarks of sinopac-server (`cargo bench -p sinopac-server`, `cargo xtask bench`):
//!
//! * BackendURL callbacks acknowledged per second with durable writes (SQLite WAL,
//!   `synchronous=FULL` — and `NORMAL` for comparison; PostgreSQL when `DATABASE_URL` is
//!   set), over loopback HTTP with
//!   64 concurrent senders on the same machine, with p50/p99 acknowledgement latency;
//! * reconciling 10,000 pending orders against the sim: wall time and bank calls.
//!
//! Accepts and ignores any command-line arguments (cargo passes `--bench`, xtask passes
//! `--output-format bencher`). `SINOPAC_BENCH_CALLBACKS` sets the number of callbacks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sinopac_proto::{Amount, Keys, OrderNo, PayType, ShopNo};
use sinopac_server::bank::Bank;
use sinopac_server::http_bank::HttpBank;
use sinopac_server::metrics::Metrics;
use sinopac_server::reconcile;
use sinopac_server::secrets::{MasterKey, ShopCredentials};
use sinopac_server::server::{self, BankTarget, ServerConfig, router_transport};
use sinopac_server::store::{NewOrder, SqliteDurability, Store};
use sinopac_server::worker::{Deps, WorkerSettings, now_ms};
use sinopac_sim::{SeedOrder, ShopConfig, Sim, SimConfig};

const SHOP: &str = "NA0249_001";
const KEYS: [&str; 4] = [
    "86D50DEF3EB7400E",
    "01FD27C09E5549E5",
    "9E004965F4244953",
    "7FB3385F414E4F91",
];
const KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";
const MASTER: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return;
        }
    };
    let n: usize = std::env::var("SINOPAC_BENCH_CALLBACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    rt.block_on(async {
        if let Err(e) = callbacks("sqlite", None, n, SqliteDurability::Full).await {
            eprintln!("callbacks sqlite: {e}");
        }
        if let Err(e) = callbacks("sqlite_sync_normal", None, n, SqliteDurability::Normal).await {
            eprintln!("callbacks sqlite (synchronous=NORMAL): {e}");
        }
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                if let Err(e) = callbacks("postgres", Some(url), n, SqliteDurability::Full).await {
                    eprintln!("callbacks postgres: {e}");
                }
            }
            _ => println!("callbacks_postgres: skipped (DATABASE_URL not set)"),
        }
        if let Err(e) = reconcile_10k().await {
            eprintln!("reconcile: {e}");
        }
    });
}

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

async fn callbacks(
    name: &str,
    pg_url: Option<String>,
    n: usize,
    durability: SqliteDurability,
) -> Result<(), BoxErr> {
    let dir = tempfile::tempdir()?;
    let mut schema = None;
    let database_url = match pg_url {
        Some(url) => {
            let s = format!("bench_{}", sinopac_server::secrets::random_hex(6));
            // Create the schema and point the server's connections at it.
            let st = Store::connect_postgres(&url, Some(&s)).await?;
            st.close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            schema = Some((url.clone(), s.clone()));
            Some(format!("{url}{sep}options=-c%20search_path%3D{s}"))
        }
        None => None,
    };
    let [a1, a2, b1, b2] = KEYS;
    let cfg = ServerConfig {
        data_dir: dir.path().to_path_buf(),
        database_url,
        bank: BankTarget::Url("http://127.0.0.1:9/".into()),
        master_key: Some(MASTER.into()),
        api_token: Some("bench".into()),
        initial_shop: Some((
            ShopNo::new(SHOP)?,
            ShopCredentials::new(KEY_ID, a1, a2, b1, b2)?,
        )),
        run_workers: false,
        sqlite_durability: durability,
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = server::start(cfg, listener).await?;
    let url = format!("http://{}/sinopac/backend", running.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    // Warm up.
    for i in 0..200 {
        let body = format!(r#"{{"ShopNo":"{SHOP}","PayToken":"warm{i:060}"}}"#);
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
    }
    let senders = 64;
    let per = n / senders;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            let mut ok = 0usize;
            for i in 0..per {
                let body = format!(r#"{{"ShopNo":"{SHOP}","PayToken":"{s:04}{i:060}"}}"#);
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                if let Ok(r) = r
                    && r.status().as_u16() == 200
                    && r.bytes()
                        .await
                        .is_ok_and(|b| b.as_ref() == br#"{"Status":"S"}"#)
                {
                    ok += 1;
                }
                lat.push(t.elapsed());
            }
            (ok, lat)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    let mut ok = 0;
    for t in tasks {
        let (o, l) = t.await?;
        ok += o;
        lat.extend(l);
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat.get(i).copied().unwrap_or_default()
    };
    let stored = running.state.deps().store.inbox_depth().await?;
    let rate = ok as f64 / elapsed.as_secs_f64();
    let mean_ns = elapsed.as_nanos() / (ok.max(1) as u128);
    println!(
        "test callbacks_ack_{name} ... bench: {mean_ns} ns/iter (+/- {})",
        pct(0.99).as_nanos().saturating_sub(pct(0.5).as_nanos())
    );
    println!(
        "callbacks_ack_{name}: {ok} acknowledged of {} in {:.2} s = {rate:.0} acks/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; rows stored {stored} (incl. 200 warm-up)",
        senders * per,
        elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    running.shutdown().await;
    if let Some((url, s)) = schema {
        let st = Store::connect_postgres(&url, None).await?;
        st.drop_schema(&s).await?;
        st.close().await;
    }
    Ok(())
}

async fn reconcile_10k() -> Result<(), BoxErr> {
    let n: usize = 10_000;
    let dir = tempfile::tempdir()?;
    let store = Store::open_sqlite(&dir.path().join("r.db"), SqliteDurability::Full).await?;
    store.migrate().await?;
    let now_s = now_ms() / 1000;
    let sim = Sim::new(SimConfig {
        start_time_unix: now_s,
        atm_auto_pay_after: None,
        ..SimConfig::default()
    });
    let shop = ShopNo::new(SHOP)?;
    let [a1, a2, b1, b2] = KEYS;
    sim.add_shop(ShopConfig::new(
        shop.clone(),
        Keys::new(a1, a2, b1, b2)?,
        KEY_ID,
    ));
    let master = MasterKey::parse(MASTER)?;
    let creds = ShopCredentials::new(KEY_ID, a1, a2, b1, b2)?;
    store
        .upsert_shop(SHOP, &creds.seal(&master, &shop)?, now_ms())
        .await?;
    // 10,000 orders over the last 24 hours; 70 % paid at the bank, callbacks all lost.
    let span = 24 * 3600;
    let mut seeds = Vec::with_capacity(n);
    for i in 0..n {
        let created = now_s - span + (i as i64 * span / n as i64);
        let no = OrderNo::new(format!("RC{i:06}"))?;
        let pt = if i % 4 == 0 {
            PayType::Card
        } else {
            PayType::Atm
        };
        let amount = Amount::from_minor(1_000 + i as u64);
        let mut s = SeedOrder::new(no.clone(), amount, pt.clone(), created);
        if i % 10 < 7 {
            s = s.paid_at(created + 60);
        }
        seeds.push(s);
        let new = NewOrder {
            shop_no: SHOP.into(),
            order_no: no.as_str().into(),
            pay_type: pt.as_str().into(),
            amount,
            prdt_name: "bench".into(),
            expire_date: None,
            next_reconcile_at: 0,
        };
        store.insert_order(&new, created * 1000).await?.ok();
    }
    sim.seed_orders(&shop, seeds);
    let bank: Arc<dyn Bank> = Arc::new(
        HttpBank::new(store.clone(), master, "http://sim.local/")
            .with_transport(router_transport(sim.router())),
    );
    let deps = Deps {
        store: store.clone(),
        bank,
        metrics: Arc::new(Metrics::new()),
        settings: WorkerSettings {
            reconcile_batch: 10_000,
            reconcile_grace: Duration::ZERO,
            reconcile_window_margin: Duration::from_secs(60),
            ..WorkerSettings::default()
        },
        notify: false,
    };
    let before = sim.counters();
    let start = Instant::now();
    let run = reconcile::try_once(&deps, now_ms() + 1).await?;
    let elapsed = start.elapsed();
    let after = sim.counters();
    let q = after.service(&sinopac_proto::ApiService::OrderQuery)
        - before.service(&sinopac_proto::ApiService::OrderQuery);
    let pq = after.service(&sinopac_proto::ApiService::OrderPayQuery)
        - before.service(&sinopac_proto::ApiService::OrderPayQuery);
    println!(
        "test reconcile_10000_pending ... bench: {} ns/iter (+/- 0)",
        elapsed.as_nanos()
    );
    println!(
        "reconcile_10000_pending: examined {} corrected {} still_pending {} failed {} in {:.2} s; bank calls: {q} OrderQuery + {pq} OrderPayQuery (in-process sim)",
        run.examined,
        run.corrected,
        run.still_pending,
        run.failed,
        elapsed.as_secs_f64()
    );
    store.close().await;
    Ok(())
}
