//! Every service end to end against the in-process sim.

use std::time::Duration;

use sinopac_http::Error;
use sinopac_proto::{
    Amount, ApiService, BankDate, CardParam, OrderCreateRequest, OrderQueryRequest, PayStatus,
    PayType, Status, TsType,
};

use crate::support::*;

fn atm(no: &str, ntd: u64) -> OrderCreateRequest {
    OrderCreateRequest::atm(
        shop_no(),
        order_no(no),
        Amount::from_ntd(ntd).unwrap(),
        "測試商品",
        BankDate::parse("20261110").unwrap(),
    )
    .backend_url("http://127.0.0.1:9/backend")
}

fn card(no: &str, ntd: u64, param: CardParam) -> OrderCreateRequest {
    OrderCreateRequest::card(
        shop_no(),
        order_no(no),
        Amount::from_ntd(ntd).unwrap(),
        "信用卡商品",
        param,
    )
    .return_url("http://127.0.0.1:9/return")
}

#[tokio::test]
async fn atm_order_create_query_pay_and_pay_query() {
    let sim = sim();
    let c = client(&sim);

    let created = c.create_order(&atm("A0001", 500)).await.unwrap();
    assert_eq!(created.status, Status::Success);
    assert_eq!(created.order_no, Some(order_no("A0001")));
    assert_eq!(created.amount, Some(Amount::from_ntd(500).unwrap()));
    let pay_no = created.atm_param.unwrap().atm_pay_no.unwrap();
    assert_eq!(pay_no.len(), 14);

    let found = c.find_order(&order_no("A0001")).await.unwrap().unwrap();
    assert_eq!(found.pay_status, PayStatus::AtmPending);
    assert_eq!(found.ts_no, created.ts_no);
    assert!(c.find_order(&order_no("NOPE")).await.unwrap().is_none());

    let token = sim.pay_atm(&shop_no(), &order_no("A0001")).await.unwrap();
    let paid = c.pay_query(&token).await.unwrap();
    let content = paid.ts_result_content.unwrap();
    assert_eq!(content.order_no, Some(order_no("A0001")));
    assert_eq!(content.amount, Some(Amount::from_ntd(500).unwrap()));
    assert_eq!(content.status, Some(Status::Success));

    let q = c
        .query(&OrderQueryRequest::by_order_no(
            shop_no(),
            order_no("A0001"),
        ))
        .await
        .unwrap();
    assert_eq!(q.order_list.len(), 1);
    assert_eq!(q.order_list[0].pay_status, PayStatus::AtmPaid);

    // Exactly one nonce per attempt, one attempt per call.
    let counters = sim.counters();
    assert_eq!(counters.nonce_requests, counters.order_requests);
}

#[tokio::test]
async fn card_capture_refund_void_uncaptured_bill_and_allot() {
    let sim = sim();
    let c = client(&sim);

    let created = c
        .create_order(&card("C0001", 1000, CardParam::capture_after_days(3)))
        .await
        .unwrap();
    assert!(
        created
            .card_param
            .unwrap()
            .card_pay_url
            .unwrap()
            .starts_with("http")
    );
    c.create_order(&card("C0002", 300, CardParam::capture_after_days(3)))
        .await
        .unwrap();
    sim.pay_card(&shop_no(), &order_no("C0001"), true)
        .await
        .unwrap();
    sim.pay_card(&shop_no(), &order_no("C0002"), true)
        .await
        .unwrap();

    let uncaptured = c.uncaptured(None).await.unwrap();
    let mut nos: Vec<_> = uncaptured
        .order_list
        .iter()
        .map(|o| o.order_no.as_str().to_owned())
        .collect();
    nos.sort();
    assert_eq!(nos, ["C0001", "C0002"]);
    let one = c.uncaptured(Some(&order_no("C0002"))).await.unwrap();
    assert_eq!(one.order_list.len(), 1);

    let cap = c.capture(&order_no("C0001"), None).await.unwrap();
    assert_eq!(cap.status, Status::Success);
    let voided = c.void(&order_no("C0002")).await.unwrap();
    assert_eq!(voided.status, Status::Success);
    assert_eq!(
        sim.order(&shop_no(), &order_no("C0002"))
            .unwrap()
            .pay_status,
        PayStatus::CardVoided
    );

    let partial = c
        .refund(
            &order_no("C0001"),
            Some(Amount::from_ntd(400).unwrap()),
            Some("部分退款"),
        )
        .await
        .unwrap();
    assert_eq!(partial.status, Status::Success);
    let rest = c.refund(&order_no("C0001"), None, None).await.unwrap();
    assert_eq!(rest.status, Status::Success);
    let after = c.find_order(&order_no("C0001")).await.unwrap().unwrap();
    assert_eq!(after.refund_amount, Some(Amount::from_ntd(1000).unwrap()));

    // Refunding more than is left: the bank says no, typed.
    let err = c
        .refund(&order_no("C0001"), Some(Amount::from_ntd(1).unwrap()), None)
        .await
        .unwrap_err();
    match &err {
        Error::Bank { service, code, .. } => {
            assert_eq!(*service, ApiService::OrderMaintain);
            assert!(code.starts_with('E'), "{code}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());

    // Bill of today: one receipt and two refunds of C0001.
    let today = BankDate::parse("20261102").unwrap();
    let bill = c.bill(today).await.unwrap();
    let receipts: u64 = bill
        .order_list
        .iter()
        .filter(|r| r.order_no.as_str() == "C0001" && r.ts_type == TsType::Payment)
        .map(|r| r.amount.minor())
        .sum();
    let refunds: u64 = bill
        .order_list
        .iter()
        .filter(|r| r.order_no.as_str() == "C0001" && r.ts_type == TsType::Refund)
        .map(|r| r.amount.minor())
        .sum();
    assert_eq!(receipts, 100_000);
    assert_eq!(refunds, 100_000);

    // Allotment: paid out two days later.
    sim.advance(Duration::from_secs(2 * 86_400)).await;
    let allot = c
        .allot(today, today.add_days(5).unwrap(), Some(PayType::Card))
        .await
        .unwrap();
    let listed: Vec<_> = allot
        .allot
        .iter()
        .flat_map(|a| a.list.iter())
        .filter_map(|t| t.order_no.as_ref().map(|o| o.as_str().to_owned()))
        .collect();
    assert!(listed.iter().any(|o| o == "C0001"), "{listed:?}");
}

#[tokio::test]
async fn bank_refusals_are_typed() {
    let sim = sim();
    let c = client(&sim);
    c.create_order(&atm("DUP1", 100)).await.unwrap();
    let err = c.create_order(&atm("DUP1", 100)).await.unwrap_err();
    match &err {
        Error::Bank {
            service,
            code,
            description,
        } => {
            assert_eq!(*service, ApiService::OrderCreate);
            assert_eq!(code, "E0201");
            assert!(!description.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.may_have_been_sent());
    assert_eq!(sim.orders(&shop_no()).len(), 1);
}

#[tokio::test]
async fn invalid_requests_are_never_sent() {
    let sim = sim();
    let c = client(&sim);
    let mut bad = atm("BAD1", 100);
    bad.prdt_name = "x".repeat(61);
    let err = c.create_order(&bad).await.unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref v) if v.field == "PrdtName"),
        "{err:?}"
    );
    // Another shop's request is refused too.
    let mut other = atm("BAD2", 100);
    other.shop_no = sinopac_proto::ShopNo::new("XX0000_001").unwrap();
    assert!(matches!(
        c.create_order(&other).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(sim.counters().nonce_requests, 0);
    assert_eq!(sim.counters().order_requests, 0);
}

#[tokio::test]
async fn generic_call_routes_order_changes_through_settlement() {
    let sim = sim();
    let c = client(&sim);
    let created = c.call(&atm("G0001", 200)).await.unwrap();
    assert_eq!(created.order_no, Some(order_no("G0001")));
    let q = c
        .call(&OrderQueryRequest::by_pay_type(shop_no(), PayType::Atm))
        .await
        .unwrap();
    assert_eq!(q.order_list.len(), 1);
}
