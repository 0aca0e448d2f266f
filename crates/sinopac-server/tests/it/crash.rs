//! Crash safety: run the real binary on an SQLite file, fire callbacks concurrently, `kill -9`
//! it mid-load, restart it, let the inbox drain, and check that every callback that was
//! acknowledged with `{"Status":"S"}` was applied exactly once.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sinopac_proto::OrderNo;
use sinopac_sim::{Fault, FaultRule, Route};

use crate::e2e::{KEY_ID, KEYS, SHOP, TOKEN, test_sim};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(data_dir: &std::path::Path, bank: &str, port: u16) -> Child {
    let [a1, a2, b1, b2] = KEYS;
    Command::new(env!("CARGO_BIN_EXE_sinopac-server"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--reconcile-interval-secs", "3600", "--lease-secs", "2"])
        .env_clear()
        .env("SINOPAC_DATA_DIR", data_dir)
        .env("SINOPAC_BASE_URL", bank)
        .env(
            "SINOPAC_MASTER_KEY",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        )
        .env("SINOPAC_API_TOKEN", TOKEN)
        .env("SINOPAC_SHOP_NO", SHOP)
        .env("SINOPAC_KEY_ID", KEY_ID)
        .env("SINOPAC_A1", a1)
        .env("SINOPAC_A2", a2)
        .env("SINOPAC_B1", b1)
        .env("SINOPAC_B2", b2)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get_order(http: &reqwest::Client, base: &str, no: &str) -> Value {
    http.get(format!("{base}/api/v1/orders/{no}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_callback_load_loses_nothing_acknowledged() {
    let sim = test_sim();
    // The sim's own deliveries are dropped: this test fires the callbacks itself.
    sim.add_fault(FaultRule::new(Route::Callback, Fault::Drop));
    let sim_server = sim.spawn_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn(dir.path(), &sim_server.base_url(), port);
    wait_healthy(&http, &base).await;

    let n = 300;
    let shop = sinopac_proto::ShopNo::new(SHOP).unwrap();
    let mut tokens = Vec::new();
    for i in 0..n {
        let no = format!("K{i:05}");
        let r = http
            .post(format!("{base}/api/v1/orders"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"order_no": no, "pay_type": "atm", "amount": 10_000 + i, "product_name": "crash"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let t = sim
            .pay_atm(&shop, &OrderNo::new(no.as_str()).unwrap())
            .await
            .unwrap();
        tokens.push((no, t.as_str().to_owned()));
    }

    // Fire every callback twice (duplicates), concurrently; kill -9 once a third is acked.
    let acked = Arc::new(std::sync::Mutex::new(HashSet::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let mut work: Vec<(String, String)> = tokens.clone();
    work.extend(tokens.iter().rev().cloned());
    let work = Arc::new(std::sync::Mutex::new(work));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, base, acked, count, work) = (
            http.clone(),
            base.clone(),
            Arc::clone(&acked),
            Arc::clone(&count),
            Arc::clone(&work),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((no, token)) = work.lock().unwrap().pop() else {
                    return;
                };
                let body = format!(r#"{{"ShopNo":"{SHOP}","PayToken":"{token}"}}"#);
                let Ok(r) = http
                    .post(format!("{base}/sinopac/backend"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                else {
                    continue;
                };
                if r.status().as_u16() == 200
                    && r.text().await.is_ok_and(|b| b == r#"{"Status":"S"}"#)
                {
                    acked.lock().unwrap().insert(no);
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    while count.load(Ordering::SeqCst) < n as usize / 3 {
        tokio::task::yield_now().await;
    }
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(status.success());
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    assert!(
        acked.len() < n as usize,
        "the kill came too late to interrupt anything ({} acked)",
        acked.len()
    );

    // Restart on the same data and let the inbox drain.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn(dir.path(), &sim_server.base_url(), port);
    wait_healthy(&http, &base).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    for no in &acked {
        loop {
            let o = get_order(&http, &base, no).await;
            if o["order"]["state"] == "paid" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{no} was acknowledged but never applied: {o}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Exactly one transition per acknowledged callback's order; never more than one anywhere.
    for (no, _) in &tokens {
        let o = get_order(&http, &base, no).await;
        let events = o["events"].as_array().unwrap().len();
        if acked.contains(no) {
            assert_eq!(events, 1, "{no}: {o}");
        } else {
            assert!(events <= 1, "{no}: {o}");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    sim_server.shutdown().await;
    println!(
        "crash test: {} of {} orders acknowledged before kill -9; all applied exactly once",
        acked.len(),
        n
    );
}

/// The CLI: `shop add` (keys from the environment), `shop list`, `reconcile` and `report` print
/// JSON and never the keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_shop_reconcile_and_report() {
    let sim = test_sim();
    let sim_server = sim.spawn_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let [a1, a2, b1, b2] = KEYS;
    let run = |args: &[&str], with_keys: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sinopac-server"));
        c.args(args)
            .env_clear()
            .env("SINOPAC_DATA_DIR", dir.path())
            .env("SINOPAC_BASE_URL", sim_server.base_url())
            .env("SINOPAC_MASTER_KEY", crate::e2e::MASTER)
            .env("RUST_LOG", "warn");
        if with_keys {
            c.env("SINOPAC_KEY_ID", KEY_ID)
                .env("SINOPAC_A1", a1)
                .env("SINOPAC_A2", a2)
                .env("SINOPAC_B1", b1)
                .env("SINOPAC_B2", b2);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let added = run(&["shop", "add", SHOP], true);
    assert!(added.contains("credential version 1"), "{added}");
    let list: Value = serde_json::from_str(&run(&["shop", "list"], false)).unwrap();
    assert_eq!(list[0]["shop_no"], SHOP);
    assert_eq!(list[0]["cred_version"], 1);
    let added = run(&["shop", "add", SHOP], true);
    assert!(added.contains("credential version 2"), "{added}");
    let rec: Value = serde_json::from_str(&run(&["reconcile"], false)).unwrap();
    assert_eq!(rec["examined"], 0);
    // An order the bank has but we do not shows up in the report.
    let t = crate::e2e::now_s();
    sim.seed_orders(
        &sinopac_proto::ShopNo::new(SHOP).unwrap(),
        [sinopac_sim::SeedOrder::new(
            OrderNo::new("X1").unwrap(),
            sinopac_proto::Amount::from_minor(100),
            sinopac_proto::PayType::Atm,
            t,
        )],
    );
    let text = run(&["report"], false);
    for k in KEYS {
        assert!(!text.contains(k));
    }
    let rep: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(rep["summary"]["unknown_locally"], 1, "{rep}");
    assert_eq!(rep["discrepancies"][0]["order_no"], "X1");
    sim_server.shutdown().await;
}
