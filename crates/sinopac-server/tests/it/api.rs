//! The shop and admin API, reconciliation budget and report, shop notifications, key rotation.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use reqwest::Method;
use serde_json::{Value, json};
use sinopac_proto::{Amount, ApiService, OrderNo, PayType};
use sinopac_server::outbox::{self, HttpNotifier, verify_signature};
use sinopac_server::reconcile;
use sinopac_server::store::NewOrder;
use sinopac_server::worker::now_ms;
use sinopac_sim::SeedOrder;
use tower::ServiceExt as _;

use crate::e2e::{Harness, KEY_ID, KEYS, SHOP, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_duplicates_validation_and_listing() {
    let h = Harness::new().await;
    // No token / wrong token.
    let r = h
        .http
        .get(format!("{}/api/v1/orders", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = h
        .http
        .get(format!("{}/api/v1/orders", h.base))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Create, then the same OrderNo again: 409 with the existing order.
    let o = h.create("L1", "atm", 50_000).await;
    let (s, v) = h
        .api(
            Method::POST,
            "/api/v1/orders",
            Some(json!({"order_no": "L1", "pay_type": "card", "amount": 1, "product_name": "x"})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["order"]["atm_pay_no"], o["atm_pay_no"]);
    assert_eq!(v["order"]["pay_type"], "A");
    // Validation errors.
    for bad in [
        json!({"order_no": "bad'no", "pay_type": "atm", "amount": 1, "product_name": "x"}),
        json!({"order_no": "L2", "pay_type": "cash", "amount": 1, "product_name": "x"}),
        json!({"order_no": "L2", "pay_type": "atm", "amount": 0, "product_name": "x"}),
        json!({"order_no": "L2", "pay_type": "atm", "amount": 1, "product_name": "x", "shop_no": "ZZ0000_001"}),
        json!({"order_no": "L2"}),
    ] {
        let (s, v) = h
            .api(Method::POST, "/api/v1/orders", Some(bad.clone()))
            .await;
        assert_eq!(s, 400, "{bad} -> {v}");
    }
    // The bank refuses (ATM over the cap): 422, order marked create_failed.
    let (s, v) = h
        .api(
            Method::POST,
            "/api/v1/orders",
            Some(json!({"order_no": "L3", "pay_type": "atm", "amount": 5_000_000, "product_name": "x"})),
        )
        .await;
    assert!(s == 422 || s == 400, "{s} {v}");
    h.create("L4", "card", 100).await;
    let (_, v) = h
        .api(Method::GET, "/api/v1/orders?status=awaiting_transfer", None)
        .await;
    let list = v["orders"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["order_no"], "L1");
    let (_, v) = h.api(Method::GET, "/api/v1/orders?limit=1", None).await;
    assert_eq!(v["orders"].as_array().unwrap().len(), 1);
    let (s, _) = h
        .api(Method::GET, "/api/v1/orders?status=bogus", None)
        .await;
    assert_eq!(s, 400);
    let (s, _) = h.api(Method::GET, "/api/v1/orders/NOPE", None).await;
    assert_eq!(s, 404);
    // Credentials never appear in API output.
    let (_, v) = h.api(Method::GET, "/api/v1/orders/L1", None).await;
    let text = v.to_string();
    assert!(!text.contains(KEYS[0]) && !text.contains(KEY_ID) && !text.contains("pay_token"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_authorise_capture_refund_void() {
    let h = Harness::new().await;
    for no in ["M1", "M2"] {
        let (s, v) = h
            .api(
                Method::POST,
                "/api/v1/orders",
                Some(json!({"order_no": no, "pay_type": "card", "amount": 10_000, "product_name": "x", "card_auto_capture": false})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let t = h.sim.pay_card(&h.shop, &h.no(no), true).await.unwrap();
        // AutoBilling=N: no BackendURL until capture; the buyer's browser comes back.
        h.http
            .post(format!("{}/sinopac/return", h.base))
            .body(format!("ShopNo={SHOP}&PayToken={}", t.as_str()))
            .send()
            .await
            .unwrap();
        assert_eq!(h.state(no).await, "authorized");
    }
    let (s, v) = h.api(Method::POST, "/api/v1/orders/M1/capture", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["order"]["state"], "captured");
    let (s, _) = h.api(Method::POST, "/api/v1/orders/M1/capture", None).await;
    assert_eq!(s, 422, "capturing twice is refused by the bank");
    let (s, v) = h
        .api(
            Method::POST,
            "/api/v1/orders/M1/refund",
            Some(json!({"amount": 2_500, "remark": "退貨"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["order"]["state"], "partially_refunded");
    assert_eq!(v["order"]["refunded_amount"], 2_500);
    let (s, v) = h
        .api(Method::POST, "/api/v1/orders/M1/refund", Some(json!({})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["order"]["state"], "refunded");
    assert_eq!(v["order"]["refunded_amount"], 10_000);
    let (s, v) = h.api(Method::POST, "/api/v1/orders/M2/void", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["order"]["state"], "voided");
    // The capture's BackendURL callback arrives too: no extra transition.
    h.drain().await;
    assert_eq!(h.transitions("M1").await, 4); // authorized, captured, partially_refunded, refunded
    h.create("M3", "atm", 100).await;
    let (s, _) = h.api(Method::POST, "/api/v1/orders/M3/refund", None).await;
    assert_eq!(s, 400);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_budget_needs_review_and_report() {
    let h = Harness::with(|c| c.settings.reconcile_budget = 2).await;
    let store = &h.deps().store;
    let now = now_ms();
    let new = |no: &str, amount: u64| NewOrder {
        shop_no: SHOP.into(),
        order_no: no.into(),
        pay_type: "A".into(),
        amount: Amount::from_minor(amount),
        prdt_name: "x".into(),
        expire_date: None,
        next_reconcile_at: 0,
    };
    // Unknown at the bank (the create never reached it).
    store
        .insert_order(&new("G1", 100), now)
        .await
        .unwrap()
        .unwrap();
    // Paid at the bank, callback lost.
    store
        .insert_order(&new("G2", 200), now)
        .await
        .unwrap()
        .unwrap();
    // Amount differs from the bank's.
    store
        .insert_order(&new("G3", 300), now)
        .await
        .unwrap()
        .unwrap();
    let t = now / 1000;
    h.sim.seed_orders(
        &h.shop,
        [
            SeedOrder::new(
                OrderNo::new("G2").unwrap(),
                Amount::from_minor(200),
                PayType::Atm,
                t,
            )
            .paid_at(t),
            SeedOrder::new(
                OrderNo::new("G3").unwrap(),
                Amount::from_minor(999),
                PayType::Atm,
                t,
            )
            .paid_at(t),
            SeedOrder::new(
                OrderNo::new("G4").unwrap(),
                Amount::from_minor(400),
                PayType::Atm,
                t,
            ),
        ],
    );
    // The report before reconciling.
    let (s, rep) = h
        .api(Method::GET, "/api/v1/reconciliation/report", None)
        .await;
    assert_eq!(s, 200, "{rep}");
    let kinds = |rep: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = rep["discrepancies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["order_no"].as_str().unwrap().to_owned(),
                    d["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        kinds(&rep),
        vec![
            ("G1".into(), "unknown_at_bank".into()),
            ("G2".into(), "paid_not_recorded".into()),
            ("G3".into(), "amount_mismatch".into()),
            ("G3".into(), "paid_not_recorded".into()),
            ("G4".into(), "unknown_locally".into()),
        ]
    );
    // Cycle 1: G2 corrected; G1 (not found) and G3 (amount) fail once.
    let r1 = reconcile::try_once(h.deps(), now + 1).await.unwrap();
    assert_eq!(
        (r1.examined, r1.corrected, r1.failed, r1.needs_review),
        (3, 1, 2, 0)
    );
    assert_eq!(h.state("G2").await, "paid");
    // Not due again before the backoff.
    assert_eq!(
        reconcile::try_once(h.deps(), now + 2)
            .await
            .unwrap()
            .examined,
        0
    );
    // Cycle 2 (after the backoff): the budget of 2 is exhausted.
    let later = now + 7 * 3_600_000;
    let r2 = reconcile::try_once(h.deps(), later).await.unwrap();
    assert_eq!((r2.examined, r2.needs_review), (2, 2));
    // Never expired or cancelled locally.
    assert_eq!(h.state("G1").await, "awaiting_transfer");
    let (_, v) = h
        .api(Method::GET, "/api/v1/orders?status=needs_review", None)
        .await;
    let mut nos: Vec<&str> = v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_no"].as_str().unwrap())
        .collect();
    nos.sort_unstable();
    assert_eq!(nos, ["G1", "G3"]);
    // The flag is a JSON boolean in the API (the store keeps an integer).
    assert!(
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["needs_review"] == serde_json::Value::Bool(true))
    );
    // Review orders are not retried automatically …
    assert_eq!(
        reconcile::try_once(h.deps(), later * 2)
            .await
            .unwrap()
            .examined,
        0
    );
    // … until an operator clears them.
    let (s, _) = h
        .api(Method::POST, "/api/v1/orders/G1/review/clear", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        reconcile::try_once(h.deps(), now_ms() + 10)
            .await
            .unwrap()
            .examined,
        1
    );
    let (_, rep) = h
        .api(Method::GET, "/api/v1/reconciliation/report", None)
        .await;
    let k = kinds(&rep);
    assert!(k.contains(&("G3".into(), "needs_review".into())), "{k:?}");
    assert!(!k.iter().any(|(n, _)| n == "G2"), "{k:?}");
    // Metrics show the drift.
    let m = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("sinopac_reconcile_drift_total{kind=\"missed_callback\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("sinopac_reconcile_drift_total{kind=\"needs_review\"} 2"),
        "{m}"
    );
    h.shutdown().await;
}

/// (timestamp header, signature header, body) of each delivery.
type Delivery = (Option<String>, Option<String>, String);

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Delivery>>>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_notified_signed_and_retried() {
    // A shop endpoint that fails the first delivery and accepts the rest.
    let got = Received::default();
    let g = got.clone();
    let calls = Arc::new(Mutex::new(0u32));
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let g = g.clone();
            let calls = Arc::clone(&calls);
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                g.0.lock().unwrap().push((
                    h("x-sinopac-timestamp"),
                    h("x-sinopac-signature"),
                    body,
                ));
                let mut c = calls.lock().unwrap();
                *c += 1;
                if *c == 1 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let srv = tokio::spawn(async move { axum::serve(listener, receiver).await });
    let u = url.clone();
    let h = Harness::with(move |c| {
        c.notify_url = Some(u);
        c.notify_secret = Some("shh".into());
    })
    .await;
    h.create("N1", "atm", 4_200).await;
    h.sim.pay_atm(&h.shop, &h.no("N1")).await.unwrap();
    h.drain().await;
    let notifier = HttpNotifier::new(&url).unwrap();
    let now = now_ms();
    let r = outbox::try_once(h.deps(), &notifier, b"shh", now)
        .await
        .unwrap();
    assert_eq!((r.attempted, r.delivered, r.retried), (1, 0, 1));
    assert_eq!(
        outbox::try_once(h.deps(), &notifier, b"shh", now + 1)
            .await
            .unwrap()
            .attempted,
        0
    );
    let r = outbox::try_once(h.deps(), &notifier, b"shh", now + 3_600_000)
        .await
        .unwrap();
    assert_eq!(r.delivered, 1);
    let got = got.0.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (ts, sig, body) in &got {
        let ts: i64 = ts.as_deref().unwrap().parse().unwrap();
        assert!(verify_signature(
            b"shh",
            ts,
            body.as_bytes(),
            sig.as_deref().unwrap(),
            now / 1000,
            300
        ));
        assert!(!verify_signature(
            b"wrong",
            ts,
            body.as_bytes(),
            sig.as_deref().unwrap(),
            now / 1000,
            300
        ));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (v["order_no"].as_str(), v["to"].as_str()),
            (Some("N1"), Some("paid"))
        );
    }
    // Every attempt is recorded on the order.
    let o = h.order("N1").await;
    let attempts = o["notifications"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[1]["http_status"], 200);
    h.shutdown().await;
    srv.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_keys_rotate_without_restart() {
    let h = Harness::new().await;
    let admin = |m: Method, path: &str, body: Option<Value>, token: &str| {
        let mut r = h
            .http
            .request(m, format!("{}{path}", h.base))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    let r = admin(Method::GET, "/admin/v1/shops", None, "wrong")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Rotate to keys the bank does not know: calls fail at once (no restart, no stale cache).
    let wrong = json!({"key_id": KEY_ID, "a1": "0000000000000000", "a2": KEYS[1], "b1": KEYS[2], "b2": KEYS[3]});
    let r = admin(
        Method::PUT,
        &format!("/admin/v1/shops/{SHOP}"),
        Some(wrong),
        TOKEN,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (s, _) = h
        .api(
            Method::POST,
            "/api/v1/orders",
            Some(json!({"order_no": "K1", "pay_type": "atm", "amount": 100, "product_name": "x"})),
        )
        .await;
    assert!(s >= 500, "{s}");
    // Invalid keys are refused without echoing them.
    let r = admin(
        Method::PUT,
        &format!("/admin/v1/shops/{SHOP}"),
        Some(json!({"key_id": "k", "a1": "zz", "a2": "", "b1": "", "b2": ""})),
        TOKEN,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(!r.text().await.unwrap().contains("zz"));
    // Rotate back to the real keys.
    let right =
        json!({"key_id": KEY_ID, "a1": KEYS[0], "a2": KEYS[1], "b1": KEYS[2], "b2": KEYS[3]});
    let r = admin(
        Method::PUT,
        &format!("/admin/v1/shops/{SHOP}"),
        Some(right),
        TOKEN,
    )
    .await
    .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cred_version"], 3);
    h.create("K2", "atm", 100).await;
    let r = admin(Method::GET, "/admin/v1/shops", None, TOKEN)
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains(SHOP) && !text.contains(KEYS[0]) && !text.contains(KEY_ID),
        "{text}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_in_process_ops_endpoints() {
    let h = Harness::new().await;
    let router = sinopac_server::app::app(h.running.as_ref().unwrap().state.clone());
    let call = |req: axum::http::Request<Body>| router.clone().oneshot(req);
    let get = |p: &str| axum::http::Request::get(p).body(Body::empty()).unwrap();
    assert_eq!(call(get("/healthz")).await.unwrap().status(), 200);
    assert_eq!(call(get("/readyz")).await.unwrap().status(), 200);
    let m = call(get("/metrics")).await.unwrap();
    assert_eq!(m.status(), 200);
    let text = String::from_utf8(
        axum::body::to_bytes(m.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("# TYPE sinopac_inbox_depth gauge"), "{text}");
    assert_eq!(call(get("/api/v1/orders")).await.unwrap().status(), 401);
    // Body limit on callbacks.
    let big = axum::http::Request::post("/sinopac/backend")
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 64 * 1024]))
        .unwrap();
    assert_eq!(call(big).await.unwrap().status(), 413);
    // Not ready while shutting down.
    h.running.as_ref().unwrap().state.set_ready(false);
    assert_eq!(call(get("/readyz")).await.unwrap().status(), 503);
    // The bank's OrderCreate was never called by any of this.
    assert_eq!(h.sim.counters().service(&ApiService::OrderCreate), 0);
    drop(router);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_outbox_delivers() {
    let got = Received::default();
    let g = got.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                g.0.lock().unwrap().push((None, None, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let srv = tokio::spawn(async move { axum::serve(listener, receiver).await });
    let h = Harness::with(move |c| {
        c.run_workers = true;
        c.notify_url = Some(url);
        c.notify_secret = Some("s".into());
    })
    .await;
    h.create("BG1", "atm", 100).await;
    h.sim.pay_atm(&h.shop, &h.no("BG1")).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.0.lock().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no notification delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let body = got.0.lock().unwrap()[0].2.clone();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["order_no"].as_str(), v["to"].as_str()),
        (Some("BG1"), Some("paid"))
    );
    h.shutdown().await;
    srv.abort();
}
