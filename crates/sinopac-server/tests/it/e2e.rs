//! End to end: our server and the sim, both on loopback, talking real HTTP.
//!
//! Workers are stepped by hand (`try_once`) so every assertion is deterministic.

use std::time::Duration;

use serde_json::{Value, json};
use sinopac_http::RetryPolicy;
use sinopac_proto::{ApiService, OrderNo, ShopNo};
use sinopac_server::inbox;
use sinopac_server::reconcile;
use sinopac_server::secrets::ShopCredentials;
use sinopac_server::server::{self, BankTarget, Running, ServerConfig};
use sinopac_server::worker::{Deps, now_ms};
use sinopac_sim::{Fault, FaultRule, Route, ShopConfig, Sim, SimConfig, SimServer};

pub const SHOP: &str = "NA0249_001";
pub const KEYS: [&str; 4] = [
    "86D50DEF3EB7400E",
    "01FD27C09E5549E5",
    "9E004965F4244953",
    "7FB3385F414E4F91",
];
pub const KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";
pub const TOKEN: &str = "test-api-token";
pub const MASTER: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

pub struct Harness {
    pub sim: Sim,
    pub sim_server: Option<SimServer>,
    pub running: Option<Running>,
    pub base: String,
    pub http: reqwest::Client,
    pub shop: ShopNo,
    _dir: tempfile::TempDir,
}

pub fn now_s() -> i64 {
    now_ms() / 1000
}

pub fn test_sim() -> Sim {
    let sim = Sim::new(SimConfig {
        start_time_unix: now_ms() / 1000,
        atm_auto_pay_after: None,
        ..SimConfig::default()
    });
    let [a1, a2, b1, b2] = KEYS;
    sim.add_shop(ShopConfig::new(
        ShopNo::new(SHOP).unwrap(),
        sinopac_proto::Keys::new(a1, a2, b1, b2).unwrap(),
        KEY_ID,
    ));
    sim
}

impl Harness {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let sim = test_sim();
        let sim_server = sim.spawn_loopback().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let [a1, a2, b1, b2] = KEYS;
        let mut cfg = ServerConfig {
            data_dir: dir.path().to_path_buf(),
            bank: BankTarget::Url(sim_server.base_url()),
            master_key: Some(MASTER.into()),
            api_token: Some(TOKEN.into()),
            initial_shop: Some((
                ShopNo::new(SHOP).unwrap(),
                ShopCredentials::new(KEY_ID, a1, a2, b1, b2).unwrap(),
            )),
            run_workers: false,
            bank_retry: Some(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_elapsed: Duration::from_secs(5),
            }),
            ..ServerConfig::default()
        };
        cfg.settings.reconcile_grace = Duration::ZERO;
        tweak(&mut cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = server::start(cfg, listener).await.unwrap();
        let base = format!("http://{}", running.addr);
        Self {
            sim,
            sim_server: Some(sim_server),
            running: Some(running),
            base,
            http: reqwest::Client::new(),
            shop: ShopNo::new(SHOP).unwrap(),
            _dir: dir,
        }
    }

    pub fn deps(&self) -> &Deps {
        self.running.as_ref().unwrap().state.deps()
    }

    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        if let Some(s) = self.sim_server.take() {
            s.shutdown().await;
        }
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let v = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, v)
    }

    pub async fn create(&self, order_no: &str, pay_type: &str, amount: u64) -> Value {
        let (status, v) = self
            .api(
                reqwest::Method::POST,
                "/api/v1/orders",
                Some(json!({"order_no": order_no, "pay_type": pay_type, "amount": amount, "product_name": "測試商品"})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        v["order"].clone()
    }

    pub async fn order(&self, order_no: &str) -> Value {
        let (status, v) = self
            .api(
                reqwest::Method::GET,
                &format!("/api/v1/orders/{order_no}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    pub async fn state(&self, order_no: &str) -> String {
        self.order(order_no).await["order"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn transitions(&self, order_no: &str) -> usize {
        self.order(order_no).await["events"]
            .as_array()
            .unwrap()
            .len()
    }

    /// Runs the inbox until nothing is due; returns (applied, rejected, retried).
    pub async fn drain(&self) -> (usize, usize, usize) {
        let mut t = (0, 0, 0);
        loop {
            let r = inbox::try_once(self.deps(), now_ms()).await.unwrap();
            if r.claimed == 0 {
                return t;
            }
            t.0 += r.applied;
            t.1 += r.rejected;
            t.2 += r.retried;
        }
    }

    pub async fn post_backend(&self, body: &str) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/sinopac/backend", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub fn no(&self, s: &str) -> OrderNo {
        OrderNo::new(s).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atm_and_card_paid_via_callback() {
    let h = Harness::new().await;
    let atm = h.create("ATM001", "atm", 50_000).await;
    assert_eq!(atm["state"], "awaiting_transfer");
    assert!(atm["atm_pay_no"].as_str().unwrap().len() == 14);
    let card = h.create("CARD001", "card", 79_900).await;
    assert!(card["card_pay_url"].as_str().unwrap().contains("/pay/card"));

    h.sim.pay_atm(&h.shop, &h.no("ATM001")).await.unwrap();
    h.sim
        .pay_card(&h.shop, &h.no("CARD001"), true)
        .await
        .unwrap();
    // Both callbacks were acknowledged (the sim logs it) and sit in the inbox.
    let acked = h
        .sim
        .deliveries()
        .iter()
        .filter(|d| matches!(d.outcome, sinopac_sim::DeliveryOutcome::Acked { .. }))
        .count();
    assert_eq!(acked, 2, "{:?}", h.sim.deliveries());
    assert_eq!(h.deps().store.inbox_depth().await.unwrap(), 2);
    let (applied, rejected, retried) = h.drain().await;
    assert_eq!((applied, rejected, retried), (2, 0, 0));
    assert_eq!(h.state("ATM001").await, "paid");
    assert_eq!(h.state("CARD001").await, "captured");
    assert_eq!(h.transitions("ATM001").await, 1);
    assert_eq!(h.transitions("CARD001").await, 1);
    let o = h.order("CARD001").await;
    assert_eq!(o["order"]["bank_pay_status"], "1C400");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_via_return_url_only() {
    let h = Harness::new().await;
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Drop));
    h.create("CARD002", "card", 12_300).await;
    let token = h
        .sim
        .pay_card(&h.shop, &h.no("CARD002"), true)
        .await
        .unwrap();
    assert_eq!(
        h.deps().store.inbox_depth().await.unwrap(),
        0,
        "callback should have been dropped"
    );
    let page = h
        .http
        .post(format!("{}/sinopac/return", h.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("ShopNo={SHOP}&PayToken={}", token.as_str()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("付款成功") && page.contains("Payment successful"),
        "{page}"
    );
    assert_eq!(h.state("CARD002").await, "captured");
    // Submitting the form again changes nothing.
    let again = h
        .http
        .post(format!("{}/sinopac/return", h.base))
        .body(format!("ShopNo={SHOP}&PayToken={}", token.as_str()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("付款成功"));
    assert_eq!(h.transitions("CARD002").await, 1);
    // A declined card gives a declined page.
    h.create("CARD003", "card", 100).await;
    let t = h
        .sim
        .pay_card(&h.shop, &h.no("CARD003"), false)
        .await
        .unwrap();
    let page = h
        .http
        .post(format!("{}/sinopac/return", h.base))
        .body(format!("ShopNo={SHOP}&PayToken={}", t.as_str()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("付款失敗"), "{page}");
    assert_eq!(h.state("CARD003").await, "declined");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_callback_dropped_reconciler_finds_all_in_one_cycle() {
    let h = Harness::new().await;
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Drop));
    let n = 30;
    for i in 0..n {
        let pt = if i % 3 == 0 { "card" } else { "atm" };
        h.create(&format!("R{i:04}"), pt, 1_000 + i).await;
    }
    for i in 0..n {
        let no = h.no(&format!("R{i:04}"));
        if i % 3 == 0 {
            h.sim.pay_card(&h.shop, &no, true).await.unwrap();
        } else if i % 5 != 1 {
            h.sim.pay_atm(&h.shop, &no).await.unwrap();
        }
    }
    assert_eq!(h.deps().store.inbox_depth().await.unwrap(), 0);
    let before = h.sim.counters().service(&ApiService::OrderQuery);
    let run = reconcile::try_once(h.deps(), now_ms() + 1).await.unwrap();
    let calls = h.sim.counters().service(&ApiService::OrderQuery) - before;
    let unpaid = (0..n).filter(|i| i % 3 != 0 && i % 5 == 1).count();
    assert_eq!(run.examined, n as usize);
    assert_eq!(run.corrected, n as usize - unpaid, "{run:?}");
    assert_eq!(run.still_pending, unpaid);
    assert_eq!(run.failed, 0);
    assert_eq!(calls, 1, "one batched OrderQuery, not one call per order");
    assert_eq!(run.pay_query_calls, 0);
    for i in 0..n {
        let s = h.state(&format!("R{i:04}")).await;
        let want = if i % 3 == 0 {
            "captured"
        } else if i % 5 == 1 {
            "awaiting_transfer"
        } else {
            "paid"
        };
        assert_eq!(s, want, "R{i:04}");
    }
    // The next cycle finds nothing due (still-pending orders are re-checked later).
    let run = reconcile::try_once(h.deps(), now_ms() + 2).await.unwrap();
    assert_eq!(run.examined, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_callbacks_give_one_transition_each() {
    let h = Harness::new().await;
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Duplicate));
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Reorder).probability(0.5));
    for i in 0..5 {
        h.create(&format!("D{i}"), "atm", 500).await;
    }
    let mut tokens = Vec::new();
    for i in 0..5 {
        tokens.push(
            h.sim
                .pay_atm(&h.shop, &h.no(&format!("D{i}")))
                .await
                .unwrap(),
        );
    }
    // Replay every callback again, in reverse order, and interleave processing.
    for t in tokens.iter().rev() {
        let (s, body) = h
            .post_backend(&format!(
                r#"{{"ShopNo":"{SHOP}","PayToken":"{}"}}"#,
                t.as_str()
            ))
            .await;
        assert_eq!((s, body.as_str()), (200, r#"{"Status":"S"}"#));
    }
    h.drain().await;
    for t in &tokens {
        h.post_backend(&format!(
            r#"{{"ShopNo":"{SHOP}","PayToken":"{}"}}"#,
            t.as_str()
        ))
        .await;
    }
    h.drain().await;
    // Release whatever the sim held back to reorder, then process again.
    h.sim.advance(Duration::from_secs(11 * 60)).await;
    h.drain().await;
    for i in 0..5 {
        assert_eq!(h.state(&format!("D{i}")).await, "paid");
        assert_eq!(h.transitions(&format!("D{i}")).await, 1);
    }
    assert_eq!(h.deps().store.count_events().await.unwrap(), 5);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callbacks_and_tampered_replies_change_nothing() {
    let h = Harness::new().await;
    h.create("F1", "atm", 50_000).await;
    // A forged token: acknowledged (stored), then rejected by the bank's answer.
    let (s, body) = h
        .post_backend(&format!(
            r#"{{"ShopNo":"{SHOP}","PayToken":"{}"}}"#,
            "f".repeat(64)
        ))
        .await;
    assert_eq!((s, body.as_str()), (200, r#"{"Status":"S"}"#));
    // Garbage bodies are refused outright.
    assert_eq!(h.post_backend("ShopNo=x").await.0, 400);
    assert_eq!(h.post_backend("not json").await.0, 400);
    assert_eq!(h.post_backend(r#"{"ShopNo":"NA0249_001"}"#).await.0, 400);
    // An unknown shop: refused at the door, never stored, no bank call.
    let (s, body) = h
        .post_backend(r#"{"ShopNo":"ZZ9999_001","PayToken":"abc"}"#)
        .await;
    assert_eq!((s, body.as_str()), (400, r#"{"Status":"F"}"#));
    let (_, rejected, _) = h.drain().await;
    assert_eq!(
        rejected, 1,
        "only the forged token of our own shop was stored"
    );
    assert_eq!(h.state("F1").await, "awaiting_transfer");

    // Tampered bank replies: the client refuses them, the item waits, nothing changes.
    h.sim.add_fault(FaultRule::new(
        Route::Service(ApiService::OrderPayQuery),
        Fault::TamperSign,
    ));
    h.sim.add_fault(FaultRule::new(
        Route::Service(ApiService::OrderQuery),
        Fault::TamperSign,
    ));
    h.sim.pay_atm(&h.shop, &h.no("F1")).await.unwrap();
    let (applied, rejected, retried) = h.drain().await;
    assert_eq!((applied, rejected, retried), (0, 0, 1));
    assert_eq!(h.state("F1").await, "awaiting_transfer");
    let run = reconcile::try_once(h.deps(), now_ms() + 1).await.unwrap();
    assert_eq!(run.corrected, 0);
    assert_eq!(h.state("F1").await, "awaiting_transfer");
    assert_eq!(h.deps().store.inbox_depth().await.unwrap(), 1);

    // The bank is honest again: the waiting item is applied.
    h.sim.set_faults(Default::default());
    let far = now_ms() + 3_600_000;
    let r = inbox::try_once(h.deps(), far).await.unwrap();
    assert_eq!(r.applied, 1);
    assert_eq!(h.state("F1").await, "paid");
    assert_eq!(h.transitions("F1").await, 1);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_down_inbox_keeps_work_nothing_lost() {
    let h = Harness::new().await;
    for i in 0..4 {
        h.create(&format!("B{i}"), "atm", 700).await;
    }
    for i in 0..4 {
        h.sim
            .pay_atm(&h.shop, &h.no(&format!("B{i}")))
            .await
            .unwrap();
    }
    assert_eq!(h.deps().store.inbox_depth().await.unwrap(), 4);
    // The bank goes down: the sim stops listening.
    let mut h = h;
    h.sim_server.take().unwrap().shutdown().await;
    let (applied, _, retried) = h.drain().await;
    assert_eq!((applied, retried), (0, 4));
    // Callbacks still get acknowledged and stored while the bank is down.
    let (s, _) = h
        .post_backend(&format!(
            r#"{{"ShopNo":"{SHOP}","PayToken":"{}"}}"#,
            "a".repeat(64)
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(h.deps().store.inbox_depth().await.unwrap(), 5);
    let run = reconcile::try_once(h.deps(), now_ms() + 1).await.unwrap();
    assert_eq!(run.failed, 4);
    assert_eq!(run.needs_review, 0);
    for i in 0..4 {
        assert_eq!(h.state(&format!("B{i}")).await, "awaiting_transfer");
    }
    assert_eq!(h.deps().store.inbox_depth().await.unwrap(), 5);
    h.shutdown().await;
}

/// Two server instances on one PostgreSQL database share the inbox safely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_inbox_on_postgres() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipped: DATABASE_URL not set");
        return;
    };
    let schema = format!("t_{}", sinopac_server::secrets::random_hex(8));
    let setup = sinopac_server::store::Store::connect_postgres(&url, Some(&schema))
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let sim = test_sim();
    let sim_server = sim.spawn_loopback().await.unwrap();
    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let [a1, a2, b1, b2] = KEYS;
        let mut cfg = ServerConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(db.clone()),
            bank: BankTarget::Url(sim_server.base_url()),
            master_key: Some(MASTER.into()),
            api_token: Some(TOKEN.into()),
            initial_shop: Some((
                ShopNo::new(SHOP).unwrap(),
                ShopCredentials::new(KEY_ID, a1, a2, b1, b2).unwrap(),
            )),
            run_workers: false,
            ..ServerConfig::default()
        };
        cfg.settings.inbox_batch = 3;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        servers.push(server::start(cfg, listener).await.unwrap());
        dirs.push(dir);
    }
    let http = reqwest::Client::new();
    let shop = ShopNo::new(SHOP).unwrap();
    let n = 40;
    for i in 0..n {
        let s = &servers[i % 2];
        let r = http
            .post(format!("http://{}/api/v1/orders", s.addr))
            .bearer_auth(TOKEN)
            .json(&json!({"order_no": format!("P{i}"), "pay_type": "atm", "amount": 100 + i, "product_name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        sim.pay_atm(&shop, &OrderNo::new(format!("P{i}")).unwrap())
            .await
            .unwrap();
    }
    let drain = |d: Deps| async move {
        let mut applied = 0;
        loop {
            let r = inbox::try_once(&d, now_ms()).await.unwrap();
            if r.claimed == 0 {
                return applied;
            }
            applied += r.applied;
        }
    };
    let (a, b) = tokio::join!(
        drain(servers[0].state.deps().clone()),
        drain(servers[1].state.deps().clone())
    );
    assert_eq!(a + b, n, "every callback applied once ({a} + {b})");
    assert_eq!(setup.count_events().await.unwrap(), n as i64);
    for s in servers {
        s.shutdown().await;
    }
    sim_server.shutdown().await;
    setup.drop_schema(&schema).await.unwrap();
    setup.close().await;
}

/// With the background workers on, a paid order is applied without anyone stepping them, and
/// shutdown finishes cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_workers_and_graceful_shutdown() {
    let h = Harness::with(|c| c.run_workers = true).await;
    h.create("W1", "atm", 1_000).await;
    h.sim.pay_atm(&h.shop, &h.no("W1")).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while h.state("W1").await != "paid" {
        assert!(
            std::time::Instant::now() < deadline,
            "inbox worker never applied W1"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.transitions("W1").await, 1);
    let r = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let base = h.base.clone();
    h.shutdown().await;
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "still serving after shutdown"
    );
}

/// Two shops with their own keys on one server; a token of one shop presented under the other
/// shop's number is refused by the bank and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_shops_each_with_its_own_keys() {
    let h = Harness::new().await;
    // The doc example shop NA0001_001 (PROTOCOL.md §3), with its own key id.
    let keys2 = [
        "65960834240E44B7",
        "2831076A098E49E7",
        "CB1AFFBF915A492B",
        "7F242C0AA612454F",
    ];
    let shop2 = ShopNo::new("NA0001_001").unwrap();
    let key_id2 = "0c0ffee0-0000-4000-8000-000000000001";
    h.sim.add_shop(ShopConfig::new(
        shop2.clone(),
        sinopac_proto::Keys::new(keys2[0], keys2[1], keys2[2], keys2[3]).unwrap(),
        key_id2,
    ));
    let r = h
        .http
        .put(format!("{}/admin/v1/shops/NA0001_001", h.base))
        .bearer_auth(TOKEN)
        .json(&json!({"key_id": key_id2, "a1": keys2[0], "a2": keys2[1], "b1": keys2[2], "b2": keys2[3]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    h.create("S1", "atm", 1_000).await;
    let (s, v) = h
        .api(
            reqwest::Method::POST,
            "/api/v1/orders",
            Some(json!({"shop_no": "NA0001_001", "order_no": "S1", "pay_type": "atm", "amount": 2_000, "product_name": "x"})),
        )
        .await;
    assert_eq!(
        s, 201,
        "the same OrderNo in another shop is a different order: {v}"
    );
    let t1 = h.sim.pay_atm(&h.shop, &h.no("S1")).await.unwrap();
    let t2 = h.sim.pay_atm(&shop2, &h.no("S1")).await.unwrap();
    // Cross-shop forgery: shop 1's number with shop 2's token (and vice versa).
    h.post_backend(&format!(
        r#"{{"ShopNo":"NA0001_001","PayToken":"{}"}}"#,
        t1.as_str()
    ))
    .await;
    h.post_backend(&format!(
        r#"{{"ShopNo":"{SHOP}","PayToken":"{}"}}"#,
        t2.as_str()
    ))
    .await;
    let (applied, rejected, _) = h.drain().await;
    assert_eq!((applied, rejected), (2, 2));
    let (_, o2) = h
        .api(
            reqwest::Method::GET,
            "/api/v1/orders/S1?shop_no=NA0001_001",
            None,
        )
        .await;
    assert_eq!(o2["order"]["state"], "paid");
    assert_eq!(o2["order"]["amount"], 2_000);
    assert_eq!(o2["events"].as_array().unwrap().len(), 1);
    assert_eq!(h.state("S1").await, "paid");
    assert_eq!(h.transitions("S1").await, 1);
    h.shutdown().await;
}

/// When the batched OrderQuery fails, orders with a known PayToken are checked with
/// OrderPayQuery instead; the others wait for the next cycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_falls_back_to_pay_query() {
    let h = Harness::new().await;
    let (s, v) = h
        .api(
            reqwest::Method::POST,
            "/api/v1/orders",
            Some(json!({"order_no": "Q1", "pay_type": "card", "amount": 500, "product_name": "x", "card_auto_capture": false})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    h.create("Q2", "atm", 600).await;
    let t = h.sim.pay_card(&h.shop, &h.no("Q1"), true).await.unwrap();
    h.http
        .post(format!("{}/sinopac/return", h.base))
        .body(format!("ShopNo={SHOP}&PayToken={}", t.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(h.state("Q1").await, "authorized");
    h.sim.add_fault(FaultRule::new(
        Route::Service(ApiService::OrderQuery),
        Fault::HttpStatus { status: 503 },
    ));
    let before = h.sim.counters().service(&ApiService::OrderPayQuery);
    let run = reconcile::try_once(h.deps(), now_ms() + 1).await.unwrap();
    assert_eq!(run.examined, 2);
    assert_eq!(run.pay_query_calls, 1, "{run:?}");
    assert_eq!(
        h.sim.counters().service(&ApiService::OrderPayQuery) - before,
        1
    );
    assert_eq!(
        run.still_pending, 1,
        "Q1 confirmed authorised through its PayToken"
    );
    assert_eq!(run.failed, 1, "Q2 has no PayToken: retried later");
    assert_eq!(h.state("Q1").await, "authorized");
    assert_eq!(h.state("Q2").await, "awaiting_transfer");
    h.shutdown().await;
}

/// A fresh PostgreSQL schema for one test, as a `DATABASE_URL` the server can use.
pub async fn pg_schema() -> Option<(String, String, String)> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipped: DATABASE_URL not set");
        return None;
    };
    let schema = format!("t_{}", sinopac_server::secrets::random_hex(8));
    let st = sinopac_server::store::Store::connect_postgres(&url, Some(&schema))
        .await
        .unwrap();
    st.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    Some((db, url, schema))
}

pub async fn drop_pg_schema(url: &str, schema: &str) {
    let st = sinopac_server::store::Store::connect_postgres(url, None)
        .await
        .unwrap();
    st.drop_schema(schema).await.unwrap();
    st.close().await;
}

/// The main flows on PostgreSQL: callbacks (duplicated), then dropped callbacks found by the
/// reconciler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_and_reconciler_on_postgres() {
    let Some((db, url, schema)) = pg_schema().await else {
        return;
    };
    let h = Harness::with(|c| c.database_url = Some(db)).await;
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Duplicate));
    h.create("PA", "atm", 100).await;
    h.create("PC", "card", 200).await;
    h.sim.pay_atm(&h.shop, &h.no("PA")).await.unwrap();
    h.sim.pay_card(&h.shop, &h.no("PC"), true).await.unwrap();
    h.drain().await;
    assert_eq!(h.state("PA").await, "paid");
    assert_eq!(h.state("PC").await, "captured");
    assert_eq!(h.transitions("PA").await, 1);
    h.sim.set_faults(Default::default());
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Drop));
    for i in 0..10 {
        h.create(&format!("PR{i}"), "atm", 300 + i).await;
        h.sim
            .pay_atm(&h.shop, &h.no(&format!("PR{i}")))
            .await
            .unwrap();
    }
    let run = reconcile::try_once(h.deps(), now_ms() + 1).await.unwrap();
    assert_eq!((run.examined, run.corrected, run.query_calls), (10, 10, 1));
    assert_eq!(h.deps().store.count_events().await.unwrap(), 12);
    h.shutdown().await;
    drop_pg_schema(&url, &schema).await;
}
