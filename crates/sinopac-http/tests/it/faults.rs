//! Every fault the sim injects gives a correct result after retries, or the right typed error.

use std::sync::Arc;
use std::time::Duration;

use sinopac_http::{Client, Error, ReplyProblem, RetryPolicy, Stage, TransportError, transport_fn};
use sinopac_proto::{Amount, ApiService, BankDate, OrderCreateRequest, OrderQueryRequest, PayType};
use sinopac_sim::{Fault, FaultRule, Route};

use crate::support::*;

fn query() -> OrderQueryRequest {
    OrderQueryRequest::by_pay_type(shop_no(), PayType::Atm)
}

fn rule(route: Route, fault: Fault) -> FaultRule {
    FaultRule::new(route, fault)
}

/// Runs a query with `fault` injected `times` times on `route`; returns the result and the
/// number of `/Order` requests the sim saw.
async fn query_with(route: Route, fault: Fault, times: Option<u32>) -> (Result<usize, Error>, u64) {
    let sim = sim();
    let c = client(&sim);
    let mut r = rule(route, fault);
    if let Some(n) = times {
        r = r.count(n);
    }
    sim.add_fault(r);
    let res = c.query(&query()).await.map(|r| r.order_list.len());
    (res, sim.counters().order_requests)
}

#[tokio::test(start_paused = true)]
async fn transient_faults_are_retried_to_success() {
    let cases = [
        (Route::Nonce, Fault::HttpStatus { status: 503 }),
        (Route::Nonce, Fault::WafHtml),
        (Route::Nonce, Fault::Hang),
        (Route::Order, Fault::HttpStatus { status: 500 }),
        (Route::Order, Fault::HttpStatus { status: 502 }),
        (Route::Order, Fault::WafHtml),
        (Route::Order, Fault::Hang),
        (Route::Order, Fault::TamperSign),
        (Route::Order, Fault::StaleNonce),
        (
            Route::Service(ApiService::OrderQuery),
            Fault::HttpStatus { status: 503 },
        ),
        (Route::Any, Fault::Latency { ms: 50 }),
    ];
    for (route, fault) in cases {
        let label = format!("{route} {fault:?}");
        let (res, _) = query_with(route, fault, Some(2)).await;
        assert_eq!(res.unwrap_or_else(|e| panic!("{label}: {e}")), 0, "{label}");
    }
}

#[tokio::test(start_paused = true)]
async fn persistent_faults_give_the_right_typed_error() {
    // Nonce endpoint down: never sent, retryable, all attempts used.
    let (res, orders) = query_with(Route::Nonce, Fault::HttpStatus { status: 503 }, None).await;
    match res.unwrap_err() {
        e @ Error::NotSent {
            stage: Stage::Nonce,
            attempts: 4,
            ..
        } => assert!(e.is_retryable() && !e.may_have_been_sent()),
        e => panic!("{e:?}"),
    }
    assert_eq!(orders, 0);

    // 5xx on Order: may have been sent; for a query that is retryable.
    let (res, orders) = query_with(Route::Order, Fault::HttpStatus { status: 500 }, None).await;
    match res.unwrap_err() {
        e @ Error::MaybeSent { attempts: 4, .. } => assert!(e.is_retryable()),
        e => panic!("{e:?}"),
    }
    assert_eq!(orders, 4);

    // Hang: the client's timeout fires, outcome unknown.
    let (res, _) = query_with(Route::Order, Fault::Hang, None).await;
    let e = res.unwrap_err();
    assert!(matches!(e, Error::MaybeSent { .. }), "{e:?}");
    let chain = error_chain(&e);
    assert!(chain.contains("timed out"), "{chain}");

    // WAF page.
    let (res, _) = query_with(Route::Order, Fault::WafHtml, None).await;
    assert!(
        matches!(
            res,
            Err(Error::InvalidReply {
                problem: ReplyProblem::Html { http_status: 200 },
                ..
            })
        ),
        "{res:?}"
    );

    // Tampered Sign: one opaque "did not verify" error.
    let (res, _) = query_with(Route::Order, Fault::TamperSign, None).await;
    assert!(
        matches!(
            res,
            Err(Error::InvalidReply {
                problem: ReplyProblem::Rejected,
                ..
            })
        ),
        "{res:?}"
    );

    // Reply sealed with the request's (used) nonce: refused as a replay.
    let (res, _) = query_with(Route::Order, Fault::StaleNonce, None).await;
    assert!(
        matches!(
            res,
            Err(Error::InvalidReply {
                problem: ReplyProblem::ReplayedNonce,
                ..
            })
        ),
        "{res:?}"
    );
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(" / ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[tokio::test]
async fn configuration_refusals_are_typed_and_not_retried() {
    let sim = sim();
    // Wrong X-KeyID: refused at the nonce.
    let c = builder(&sim)
        .key_id("00000000-0000-0000-0000-000000000000")
        .build()
        .unwrap();
    match c.query(&query()).await.unwrap_err() {
        Error::Refused {
            stage: Stage::Nonce,
            http_status: 401,
            code,
            ..
        } => assert_eq!(code, "E9002"),
        e => panic!("{e:?}"),
    }
    assert_eq!(sim.counters().nonce_requests, 1, "not retried");

    // Unknown shop.
    let c = builder(&sim)
        .shop_no(sinopac_proto::ShopNo::new("XX0000_001").unwrap())
        .build()
        .unwrap();
    let e = c
        .query(&OrderQueryRequest::by_pay_type(
            sinopac_proto::ShopNo::new("XX0000_001").unwrap(),
            PayType::Atm,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Refused {
                http_status: 400,
                ..
            }
        ),
        "{e:?}"
    );

    // Wrong keys: the sim cannot decrypt the message.
    let wrong = sinopac_proto::Keys::new(
        "0000000000000000",
        "01FD27C09E5549E5",
        "9E004965F4244953",
        "7FB3385F414E4F91",
    )
    .unwrap();
    let c = builder(&sim).keys(wrong).build().unwrap();
    let e = c.query(&query()).await.unwrap_err();
    match &e {
        Error::Refused {
            stage: Stage::Order,
            code,
            ..
        } => assert!(code.starts_with("E90"), "{code}"),
        Error::Bank { code, .. } => assert_eq!(code, "E9101"),
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn connect_failures_are_never_sent_and_retried() {
    let t = transport_fn(|_req| async {
        Err(TransportError::connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        )))
    });
    let c: Client = Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id(KEY_ID)
        .base_url("http://127.0.0.1:9/")
        .transport(Arc::new(t))
        .retry_policy(RetryPolicy {
            base_delay: Duration::ZERO,
            ..fast_retry()
        })
        .build()
        .unwrap();
    let create = OrderCreateRequest::atm(
        shop_no(),
        order_no("X1"),
        Amount::from_ntd(1).unwrap(),
        "x",
        BankDate::parse("20261110").unwrap(),
    );
    match c.create_order(&create).await.unwrap_err() {
        e @ Error::NotSent { attempts: 4, .. } => {
            assert!(e.is_retryable());
            assert!(error_chain(&e).contains("connection refused"));
        }
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn a_rejected_nonce_is_retried_with_a_fresh_one() {
    // A transport that replays the first nonce it ever saw: the sim refuses the reuse
    // (sealed E9104) and the client tries again with a fresh nonce.
    let sim = sim();
    let inner = in_process(&sim);
    let first: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
    let replays = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let (f2, r2) = (first.clone(), replays.clone());
    let t = transport_fn(move |req: sinopac_http::TransportRequest| {
        let inner = inner.clone();
        let first = f2.clone();
        let replays = r2.clone();
        async move {
            let resp = inner.send(req.clone()).await?;
            if req.endpoint() == "Nonce" {
                let mut g = first.lock().unwrap();
                match &*g {
                    None => *g = Some(resp.body.clone()),
                    Some(old) if replays.load(std::sync::atomic::Ordering::SeqCst) < 1 => {
                        replays.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let mut r = resp.clone();
                        r.body = old.clone();
                        return Ok(r);
                    }
                    Some(_) => {}
                }
            }
            Ok(resp)
        }
    });
    let c = builder(&sim).transport(Arc::new(t)).build().unwrap();
    c.query(&query()).await.unwrap();
    // Second call gets the replayed nonce, is refused, and succeeds on its retry.
    c.query(&query()).await.unwrap();
    assert_eq!(replays.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(sim.counters().order_requests, 3);
    assert_eq!(sim.counters().envelope_rejections, 1);
}

#[tokio::test]
async fn an_expired_nonce_is_retried_with_a_fresh_one() {
    // The sim's clock jumps past the nonce TTL between the nonce fetch and the order: the sim
    // refuses the stale nonce (sealed E9103) and the client retries with a fresh one.
    let sim = sim();
    let inner = in_process(&sim);
    let jumped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s2, j2) = (sim.clone(), jumped.clone());
    let t = transport_fn(move |req: sinopac_http::TransportRequest| {
        let (inner, sim, jumped) = (inner.clone(), s2.clone(), j2.clone());
        async move {
            let is_nonce = req.endpoint() == "Nonce";
            let resp = inner.send(req).await?;
            if is_nonce && !jumped.swap(true, std::sync::atomic::Ordering::SeqCst) {
                sim.advance(Duration::from_secs(61)).await;
            }
            Ok(resp)
        }
    });
    let c = builder(&sim).transport(Arc::new(t)).build().unwrap();
    let create = OrderCreateRequest::atm(
        shop_no(),
        order_no("EXP1"),
        Amount::from_ntd(1).unwrap(),
        "x",
        BankDate::parse("20261110").unwrap(),
    );
    c.create_order(&create).await.unwrap();
    assert_eq!(sim.counters().envelope_rejections, 1);
    assert_eq!(sim.counters().orders_created, 1);
    assert_eq!(service_count(&sim, ApiService::OrderCreate), 2);
}
