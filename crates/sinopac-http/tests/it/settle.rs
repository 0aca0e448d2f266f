//! OrderCreate / OrderMaintain with unknown outcomes: settled by querying, never resent
//! blindly; the sim's ledger shows exactly one order / one effect.

use sinopac_http::{Error, SETTLED_DESCRIPTION};
use sinopac_proto::{
    Amount, ApiService, BankDate, CardParam, OrderCreateRequest, PayStatus, Status,
};
use sinopac_sim::{Fault, FaultRule, Route};

use crate::support::*;

fn atm(no: &str) -> OrderCreateRequest {
    OrderCreateRequest::atm(
        shop_no(),
        order_no(no),
        Amount::from_ntd(750).unwrap(),
        "settle",
        BankDate::parse("20261110").unwrap(),
    )
}

fn lose_create_reply(fault: Fault) -> FaultRule {
    FaultRule::new(Route::Service(ApiService::OrderCreate), fault)
        .after_processing()
        .count(1)
}

#[tokio::test(start_paused = true)]
async fn lost_create_reply_creates_exactly_one_order() {
    for fault in [
        Fault::HttpStatus { status: 502 },
        Fault::HttpStatus { status: 500 },
        Fault::WafHtml,
        Fault::Hang,
    ] {
        let sim = sim();
        let c = client(&sim);
        sim.add_fault(lose_create_reply(fault.clone()));
        let created = c.create_order(&atm("S0001")).await.unwrap();
        assert_eq!(created.status, Status::Success, "{fault:?}");
        assert_eq!(created.description.as_deref(), Some(SETTLED_DESCRIPTION));
        let ledger = sim.order(&shop_no(), &order_no("S0001")).unwrap();
        assert_eq!(created.ts_no.as_deref(), Some(ledger.ts_no.as_str()));
        assert_eq!(
            created.atm_param.and_then(|a| a.atm_pay_no),
            ledger.atm_pay_no,
            "{fault:?}"
        );
        assert_eq!(sim.orders(&shop_no()).len(), 1, "{fault:?}");
        assert_eq!(sim.counters().orders_created, 1, "{fault:?}");
        assert_eq!(
            service_count(&sim, ApiService::OrderCreate),
            1,
            "never resent"
        );
        assert_eq!(service_count(&sim, ApiService::OrderQuery), 1, "{fault:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn tampered_or_stale_create_reply_is_settled() {
    for fault in [Fault::TamperSign, Fault::StaleNonce] {
        let sim = sim();
        let c = client(&sim);
        sim.add_fault(FaultRule::new(Route::Service(ApiService::OrderCreate), fault).count(1));
        let created = c.create_order(&atm("S0002")).await.unwrap();
        assert_eq!(created.description.as_deref(), Some(SETTLED_DESCRIPTION));
        assert_eq!(sim.counters().orders_created, 1);
        assert_eq!(service_count(&sim, ApiService::OrderCreate), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn create_lost_before_processing_is_resent_once() {
    let sim = sim();
    let c = client(&sim);
    // The request never reaches the bank's logic, but the client cannot know that.
    sim.add_fault(
        FaultRule::new(
            Route::Service(ApiService::OrderCreate),
            Fault::HttpStatus { status: 503 },
        )
        .count(1),
    );
    let created = c.create_order(&atm("S0003")).await.unwrap();
    assert_eq!(created.status, Status::Success);
    assert_ne!(created.description.as_deref(), Some(SETTLED_DESCRIPTION));
    assert_eq!(sim.counters().orders_created, 1);
    assert_eq!(service_count(&sim, ApiService::OrderCreate), 2);
    assert_eq!(service_count(&sim, ApiService::OrderQuery), 1);
}

#[tokio::test(start_paused = true)]
async fn create_unknown_twice_is_reported_with_what_was_tried() {
    let sim = sim();
    let c = client(&sim);
    sim.add_fault(FaultRule::new(
        Route::Service(ApiService::OrderCreate),
        Fault::HttpStatus { status: 503 },
    ));
    let e = c.create_order(&atm("S0004")).await.unwrap_err();
    match &e {
        Error::MaybeSent {
            service,
            order_no: Some(o),
            detail,
            ..
        } => {
            assert_eq!(*service, ApiService::OrderCreate);
            assert_eq!(o.as_str(), "S0004");
            assert!(detail.contains("sent twice"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert_eq!(sim.counters().orders_created, 0);
    assert_eq!(service_count(&sim, ApiService::OrderCreate), 2);
}

#[tokio::test(start_paused = true)]
async fn create_unknown_and_query_down_is_maybe_sent() {
    let sim = sim();
    let c = client(&sim);
    sim.add_fault(lose_create_reply(Fault::HttpStatus { status: 502 }));
    sim.add_fault(FaultRule::new(
        Route::Service(ApiService::OrderQuery),
        Fault::HttpStatus { status: 503 },
    ));
    let e = c.create_order(&atm("S0005")).await.unwrap_err();
    match &e {
        Error::MaybeSent { detail, .. } => assert!(detail.contains("OrderQuery"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.counters().orders_created, 1);
    assert_eq!(
        service_count(&sim, ApiService::OrderCreate),
        1,
        "never resent"
    );
}

#[tokio::test(start_paused = true)]
async fn existing_different_order_is_a_conflict() {
    let sim = sim();
    let c = client(&sim);
    c.create_order(&atm("S0006")).await.unwrap();
    // Same OrderNo, different amount, reply lost before processing → query finds the other.
    sim.add_fault(
        FaultRule::new(
            Route::Service(ApiService::OrderCreate),
            Fault::HttpStatus { status: 503 },
        )
        .count(1),
    );
    let mut other = atm("S0006");
    other.amount = Amount::from_ntd(1).unwrap();
    let e = c.create_order(&other).await.unwrap_err();
    assert!(matches!(e, Error::OrderNoConflict { .. }), "{e:?}");
}

async fn authorised_card(sim: &sinopac_sim::Sim, c: &sinopac_http::Client, no: &str) {
    let req = OrderCreateRequest::card(
        shop_no(),
        order_no(no),
        Amount::from_ntd(1000).unwrap(),
        "card",
        CardParam::capture_after_days(3),
    );
    c.create_order(&req).await.unwrap();
    sim.pay_card(&shop_no(), &order_no(no), true).await.unwrap();
}

fn lose_maintain_reply() -> FaultRule {
    FaultRule::new(
        Route::Service(ApiService::OrderMaintain),
        Fault::HttpStatus { status: 502 },
    )
    .after_processing()
    .count(1)
}

#[tokio::test(start_paused = true)]
async fn lost_maintain_replies_are_settled_from_the_order_state() {
    let sim = sim();
    let c = client(&sim);
    authorised_card(&sim, &c, "M0001").await;
    authorised_card(&sim, &c, "M0002").await;

    sim.add_fault(lose_maintain_reply());
    let cap = c.capture(&order_no("M0001"), None).await.unwrap();
    assert_eq!(cap.description.as_deref(), Some(SETTLED_DESCRIPTION));
    assert_eq!(
        sim.order(&shop_no(), &order_no("M0001"))
            .unwrap()
            .pay_status,
        PayStatus::CardCaptured
    );

    sim.add_fault(lose_maintain_reply());
    let void = c.void(&order_no("M0002")).await.unwrap();
    assert_eq!(void.description.as_deref(), Some(SETTLED_DESCRIPTION));

    sim.add_fault(lose_maintain_reply());
    let refund = c
        .refund(
            &order_no("M0001"),
            Some(Amount::from_ntd(300).unwrap()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(refund.description.as_deref(), Some(SETTLED_DESCRIPTION));
    assert_eq!(refund.amount, Some(Amount::from_ntd(300).unwrap()));
    let o = sim.order(&shop_no(), &order_no("M0001")).unwrap();
    assert_eq!(
        o.refunded_amount,
        Amount::from_ntd(300).unwrap(),
        "refunded once"
    );
    assert_eq!(
        service_count(&sim, ApiService::OrderMaintain),
        3,
        "never resent"
    );
}

#[tokio::test(start_paused = true)]
async fn maintain_lost_before_processing_is_resent_once() {
    let sim = sim();
    let c = client(&sim);
    authorised_card(&sim, &c, "M0003").await;
    sim.add_fault(
        FaultRule::new(
            Route::Service(ApiService::OrderMaintain),
            Fault::HttpStatus { status: 503 },
        )
        .count(1),
    );
    let cap = c.capture(&order_no("M0003"), None).await.unwrap();
    assert_ne!(cap.description.as_deref(), Some(SETTLED_DESCRIPTION));
    assert_eq!(service_count(&sim, ApiService::OrderMaintain), 2);

    sim.add_fault(
        FaultRule::new(
            Route::Service(ApiService::OrderMaintain),
            Fault::HttpStatus { status: 503 },
        )
        .count(1),
    );
    c.refund(
        &order_no("M0003"),
        Some(Amount::from_ntd(100).unwrap()),
        None,
    )
    .await
    .unwrap();
    let o = sim.order(&shop_no(), &order_no("M0003")).unwrap();
    assert_eq!(o.refunded_amount, Amount::from_ntd(100).unwrap());
}
