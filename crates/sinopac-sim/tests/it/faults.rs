//! HTTP-side faults: latency, 5xx, WAF page, hang, tampered Sign, stale nonce, lost replies.

use std::time::Duration;

use http::StatusCode;
use sinopac_proto::{ApiService, OpenError, OrderQueryRequest, OrderQueryResponse, Status};
use sinopac_sim::{Fault, FaultPlan, FaultRule, Route};

use crate::support::*;

fn query() -> OrderQueryRequest {
    OrderQueryRequest::by_order_no(shop(), ono("F1"))
}

#[tokio::test]
async fn http_status_on_nonce_then_recovers() {
    let h = Harness::new();
    h.sim.set_faults(
        FaultPlan::default()
            .rule(FaultRule::new(Route::Nonce, Fault::HttpStatus { status: 503 }).count(2)),
    );
    for _ in 0..2 {
        let (s, headers, body) = h
            .raw(
                "POST",
                "/Nonce",
                &[("content-type", "application/json"), ("X-KeyID", KEY_ID)],
                format!(r#"{{"ShopNo":"{SHOP}"}}"#),
            )
            .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(String::from_utf8_lossy(&body).contains("503"));
    }
    h.nonce().await;
    assert!(
        h.sim.faults().rules.is_empty(),
        "count-limited rule is used up"
    );
    assert_eq!(h.sim.counters().faults_injected, 2);
    assert_eq!(h.sim.counters().nonces_issued, 1);
}

#[tokio::test]
async fn per_service_routes_and_skip() {
    let h = Harness::new();
    h.sim.add_fault(
        FaultRule::new(
            Route::Service(ApiService::OrderQuery),
            Fault::HttpStatus { status: 500 },
        )
        .skip(1)
        .count(1),
    );
    // OrderCreate is not affected; first OrderQuery passes (skip), the second fails.
    h.create_atm("F1", 100).await;
    let r: OrderQueryResponse = h.call(&query()).await;
    assert_eq!(r.order_list.len(), 1);
    let env = h.seal(&query(), &h.nonce().await);
    let (s, _) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    // Before processing: the nonce was not used, so the same envelope now goes through.
    let (_, r): (_, OrderQueryResponse) = h.exchange(&env).await;
    assert_eq!(r.status, Status::Success);
}

#[tokio::test]
async fn waf_page_fault() {
    let h = Harness::new();
    h.sim
        .add_fault(FaultRule::new(Route::Order, Fault::WafHtml).count(1));
    let env = h.seal(&query(), &h.nonce().await);
    let (s, body) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("Request Rejected"));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
}

#[tokio::test]
async fn tampered_sign_fails_verification() {
    let h = Harness::new();
    h.sim
        .add_fault(FaultRule::new(Route::Any, Fault::TamperSign).count(1));
    let env = h.seal(&query(), &h.nonce().await);
    let (s, body) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::OK);
    let reply: sinopac_proto::Envelope = serde_json::from_slice(&body).unwrap();
    assert!(matches!(
        sinopac_proto::open::<OrderQueryResponse>(&reply, &h.keys),
        Err(OpenError::Rejected)
    ));
    // Next one is fine.
    let r: OrderQueryResponse = h.call(&query()).await;
    assert_eq!(r.status, Status::Success);
}

#[tokio::test]
async fn stale_nonce_in_reply() {
    let h = Harness::new();
    h.sim
        .add_fault(FaultRule::new(Route::Order, Fault::StaleNonce).count(1));
    let env = h.seal(&query(), &h.nonce().await);
    let (_, body) = h.post_envelope(&env).await;
    let reply: sinopac_proto::Envelope = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        reply.nonce, env.nonce,
        "reply sealed with the request's (used) nonce"
    );
    // It still verifies: a client must notice the reused nonce itself.
    let r: OrderQueryResponse = sinopac_proto::open(&reply, &h.keys).unwrap();
    assert_eq!(r.status, Status::Success);
}

#[tokio::test]
async fn lost_order_create_reply_still_creates_exactly_one_order() {
    let h = Harness::new();
    h.sim.add_fault(
        FaultRule::new(
            Route::Service(ApiService::OrderCreate),
            Fault::HttpStatus { status: 502 },
        )
        .after_processing()
        .count(1),
    );
    let req = atm_request("LOST1", 100, &h.sim);
    let env = h.seal(&req, &h.nonce().await);
    let (s, _) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    assert_eq!(
        h.sim.order_count(&shop()),
        1,
        "the order exists although the reply was lost"
    );
    // The client finds it by OrderNo; a blind resend is a duplicate.
    let q: OrderQueryResponse = h
        .call(&OrderQueryRequest::by_order_no(shop(), ono("LOST1")))
        .await;
    assert_eq!(q.order_list.len(), 1);
    let again = h.call(&req).await;
    assert_eq!(sinopac_proto::Response::code(&again), Some("E0201"));
    assert_eq!(h.sim.order_count(&shop()), 1);
    assert_eq!(h.sim.counters().orders_created, 1);
}

#[tokio::test(start_paused = true)]
async fn hang_holds_the_request_until_the_client_gives_up() {
    let h = Harness::new();
    h.sim.set_faults(
        FaultPlan::default()
            .hang_max_ms(120_000)
            .rule(FaultRule::new(Route::Nonce, Fault::Hang).count(1)),
    );
    let fut = h.post_json("/Nonce", Some(KEY_ID), format!(r#"{{"ShopNo":"{SHOP}"}}"#));
    let r = tokio::time::timeout(Duration::from_secs(10), fut).await;
    assert!(r.is_err(), "client timeout fires first");
    // Without a client timeout the sim answers 504 after HangMaxMs.
    h.sim
        .add_fault(FaultRule::new(Route::Nonce, Fault::Hang).count(1));
    let started = tokio::time::Instant::now();
    let (s, _) = h
        .post_json("/Nonce", Some(KEY_ID), format!(r#"{{"ShopNo":"{SHOP}"}}"#))
        .await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() >= Duration::from_secs(120));
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_reply() {
    let h = Harness::new();
    h.sim
        .add_fault(FaultRule::new(Route::Nonce, Fault::Latency { ms: 1500 }));
    let started = tokio::time::Instant::now();
    h.nonce().await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn probabilistic_faults_hit_some_requests() {
    let h = Harness::new();
    h.sim.add_fault(
        FaultRule::new(Route::Nonce, Fault::HttpStatus { status: 502 }).probability(0.3),
    );
    let mut failed = 0;
    for _ in 0..200 {
        let (s, _) = h
            .post_json("/Nonce", Some(KEY_ID), format!(r#"{{"ShopNo":"{SHOP}"}}"#))
            .await;
        if s == StatusCode::BAD_GATEWAY {
            failed += 1;
        } else {
            assert_eq!(s, StatusCode::OK);
        }
    }
    assert!((30..=90).contains(&failed), "{failed}");
}

#[tokio::test]
async fn faults_via_control_api() {
    let h = Harness::new();
    let plan = r#"{"Rules":[{"Route":"OrderPayQuery","Fault":{"Kind":"HttpStatus","Status":503},"Count":3}]}"#;
    let (s, _, body) = h
        .raw(
            "PUT",
            "/_sim/faults",
            &[("content-type", "application/json")],
            plan,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let back: FaultPlan = serde_json::from_slice(&body).unwrap();
    assert_eq!(back.rules[0].count, Some(3));
    assert_eq!(h.sim.faults(), back);
    let (s, _, body) = h.raw("GET", "/_sim/faults", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<FaultPlan>(&body).unwrap(), back);
    let (s, _, _) = h
        .raw(
            "PUT",
            "/_sim/faults",
            &[("content-type", "application/json")],
            "{nope",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(start_paused = true)]
async fn hang_after_processing_still_changes_state() {
    let h = Harness::new();
    h.record_callbacks(|_| ack());
    h.create_card("HG1", 100, sinopac_proto::CardParam::capture_after_days(2))
        .await;
    h.sim.pay_card(&shop(), &ono("HG1"), true).await.unwrap();
    h.sim.set_faults(
        FaultPlan::default().hang_max_ms(60_000).rule(
            FaultRule::new(Route::Service(ApiService::OrderMaintain), Fault::Hang)
                .after_processing()
                .count(1),
        ),
    );
    let env = h.seal(
        &sinopac_proto::OrderMaintainRequest::capture(shop(), ono("HG1")),
        &h.nonce().await,
    );
    let r = tokio::time::timeout(Duration::from_secs(5), h.post_envelope(&env)).await;
    assert!(r.is_err(), "the reply never came");
    assert_eq!(
        h.sim.order(&shop(), &ono("HG1")).unwrap().pay_status,
        sinopac_proto::PayStatus::CardCaptured,
        "but the capture happened"
    );
}

#[test]
fn sim_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<sinopac_sim::Sim>();
    check::<FaultPlan>();
    let example = sinopac_sim::ShopConfig::sandbox_example().unwrap();
    assert_eq!(example.shop_no.as_str(), SHOP);
    assert!(!format!("{example:?}").contains(KEY_ID), "key id redacted");
}

#[tokio::test]
async fn reset_and_truncate() {
    let h = Harness::new();
    h.sim.add_fault(
        FaultRule::new(Route::Service(ApiService::OrderCreate), Fault::Reset)
            .after_processing()
            .count(1),
    );
    let req = atm_request("RS1", 100, &h.sim);
    let env = h.seal(&req, &h.nonce().await);
    let http_req = http::Request::post("/Order")
        .header("content-type", "application/json")
        .header("X-KeyID", KEY_ID)
        .body(axum::body::Body::from(serde_json::to_string(&env).unwrap()))
        .unwrap();
    use tower::ServiceExt as _;
    let resp = h.sim.router().oneshot(http_req).await.unwrap();
    assert!(
        axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .is_err(),
        "the body breaks off"
    );
    assert_eq!(h.sim.order_count(&shop()), 1, "processed before the reset");

    h.sim
        .add_fault(FaultRule::new(Route::Order, Fault::Truncate).count(1));
    let env = h.seal(&query(), &h.nonce().await);
    let (s, body) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::OK);
    assert!(serde_json::from_slice::<sinopac_proto::Envelope>(&body).is_err());
    assert!(body.starts_with(b"{\"Version\":\"1.0.0\""));
}
