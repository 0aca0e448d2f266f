//! End to end over real HTTP on 127.0.0.1 with the default reqwest transport.

use std::time::Duration;

use sinopac_http::{Client, Error, RetryPolicy, Timeouts};
use sinopac_proto::{Amount, ApiService, BankDate, OrderCreateRequest, PayStatus, Status};
use sinopac_sim::{Fault, FaultPlan, FaultRule, Route};

use crate::support::*;

fn loopback_client(base: &str, request_timeout: Duration) -> Client {
    Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id(KEY_ID)
        .base_url(base)
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            nonce: Duration::from_secs(5),
            request: request_timeout,
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn create_pay_and_query_over_loopback() {
    let sim = sim();
    let server = sim.spawn_loopback().await.unwrap();
    let c = loopback_client(&server.base_url(), Duration::from_secs(5));
    let req = OrderCreateRequest::atm(
        shop_no(),
        order_no("LB0001"),
        Amount::from_ntd(123).unwrap(),
        "loopback",
        BankDate::parse("20261110").unwrap(),
    );
    let created = c.create_order(&req).await.unwrap();
    assert_eq!(created.status, Status::Success);
    let token = sim.pay_atm(&shop_no(), &order_no("LB0001")).await.unwrap();
    let paid = c.pay_query(&token).await.unwrap();
    assert_eq!(
        paid.ts_result_content.unwrap().amount,
        Some(Amount::from_ntd(123).unwrap())
    );
    let found = c.find_order(&order_no("LB0001")).await.unwrap().unwrap();
    assert_eq!(found.pay_status, PayStatus::AtmPaid);
    server.shutdown().await;
}

#[tokio::test]
async fn lost_create_reply_over_loopback_creates_one_order() {
    let sim = sim();
    // The sim holds the reply (after creating the order) longer than the client waits.
    sim.set_faults(
        FaultPlan::default().hang_max_ms(3_000).rule(
            FaultRule::new(Route::Service(ApiService::OrderCreate), Fault::Hang)
                .after_processing()
                .count(1),
        ),
    );
    let server = sim.spawn_loopback().await.unwrap();
    let c = loopback_client(&server.base_url(), Duration::from_millis(300));
    let req = OrderCreateRequest::atm(
        shop_no(),
        order_no("LB0002"),
        Amount::from_ntd(9).unwrap(),
        "loopback",
        BankDate::parse("20261110").unwrap(),
    );
    let created = c.create_order(&req).await.unwrap();
    assert_eq!(
        created.description.as_deref(),
        Some(sinopac_http::SETTLED_DESCRIPTION)
    );
    assert_eq!(sim.counters().orders_created, 1);
    assert_eq!(service_count(&sim, ApiService::OrderCreate), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn connection_refused_is_not_sent() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = loopback_client(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(1));
    let e = c.find_order(&order_no("X")).await.unwrap_err();
    assert!(matches!(e, Error::NotSent { .. }), "{e:?}");
    assert!(!e.may_have_been_sent());
}

#[tokio::test]
async fn a_failed_tls_handshake_is_not_sent() {
    // https:// to the sim's plain-HTTP port: the handshake fails before anything is sent.
    let sim = sim();
    let server = sim.spawn_loopback().await.unwrap();
    let base = server.base_url().replace("http://", "https://");
    let c = loopback_client(&base, Duration::from_secs(2));
    let e = c.find_order(&order_no("TLS1")).await.unwrap_err();
    assert!(matches!(e, Error::NotSent { .. }), "{e:?}");
    assert_eq!(sim.counters().order_requests, 0);
    server.shutdown().await;
}
