//! Hygiene: a full flow logged at TRACE level never shows keys, the HashID, the key id, API
//! tokens, the master key or the notification secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;

use crate::e2e::{Harness, KEY_ID, KEYS, MASTER, SHOP, TOKEN};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs() {
    let buf = Buf::default();
    let b = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || b.clone())
        .finish();
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("skipped: a global tracing subscriber is already installed");
        return;
    }
    let h = Harness::with(|c| {
        c.notify_url = Some("http://127.0.0.1:9/hook".into());
        c.notify_secret = Some("notify-secret-value".into());
    })
    .await;
    h.create("H1", "atm", 1_000).await;
    h.create("H2", "card", 1_000).await;
    h.sim.pay_atm(&h.shop, &h.no("H1")).await.unwrap();
    let t = h.sim.pay_card(&h.shop, &h.no("H2"), true).await.unwrap();
    h.drain().await;
    h.http
        .post(format!("{}/sinopac/return", h.base))
        .body(format!("ShopNo={SHOP}&PayToken={}", t.as_str()))
        .send()
        .await
        .unwrap();
    // A key rotation through the admin API, a failing bank call, a report.
    let put = |a1: &str| {
        h.http
            .put(format!("{}/admin/v1/shops/{SHOP}", h.base))
            .bearer_auth(TOKEN)
            .json(&json!({"key_id": KEY_ID, "a1": a1, "a2": KEYS[1], "b1": KEYS[2], "b2": KEYS[3]}))
            .send()
    };
    put("0000000000000000").await.unwrap();
    h.api(
        Method::POST,
        "/api/v1/orders",
        Some(json!({"order_no": "H3", "pay_type": "atm", "amount": 1, "product_name": "x"})),
    )
    .await;
    put(KEYS[0]).await.unwrap();
    h.api(Method::GET, "/api/v1/reconciliation/report", None)
        .await;
    h.shutdown().await;

    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).to_string();
    assert!(text.contains("request"), "logging was not captured");
    eprintln!(
        "captured {} bytes of logs; OrderPayQuery mentioned: {}",
        text.len(),
        text.contains("OrderPayQuery")
    );
    let hash_id = "87282A2FA0E209EBE1B3713AB56A06C2";
    for secret in [
        KEYS[0],
        KEYS[1],
        KEYS[2],
        KEYS[3],
        hash_id,
        KEY_ID,
        TOKEN,
        MASTER,
        "notify-secret-value",
    ] {
        assert!(
            !text
                .to_ascii_lowercase()
                .contains(&secret.to_ascii_lowercase()),
            "secret {}… found in the logs",
            &secret[..4]
        );
    }
}
