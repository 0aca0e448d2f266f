//! OrderQuery: filters, documented order, the exact 300-row cap.

use sinopac_proto::{BankTime, DateField, OrderQueryRequest, PayFlag, PayStatus, PayType, Status};
use sinopac_sim::SeedOrder;

use crate::support::*;

fn t(s: &str) -> BankTime {
    BankTime::parse(s).unwrap()
}

/// 2026-11-01 00:00 Taipei.
const NOV1: i64 = 1_793_462_400;

fn seed_month(h: &Harness, n: usize) {
    // n orders spread over 30 days, alternating ATM/card, every third one paid an hour later.
    let span = 30 * 86_400;
    let orders = (0..n).map(|i| {
        let created = NOV1 + (i as i64 * span) / n as i64;
        let pay_type = if i % 2 == 0 {
            PayType::Atm
        } else {
            PayType::Card
        };
        let s = SeedOrder::new(
            ono(&format!("S{i:05}")),
            ntd(100 + i as u64),
            pay_type,
            created,
        );
        if i % 3 == 0 {
            s.paid_at(created + 3600)
        } else {
            s
        }
    });
    assert_eq!(h.sim.seed_orders(&shop(), orders), n);
}

#[tokio::test]
async fn cap_is_exactly_300_in_documented_order() {
    let h = Harness::new();
    seed_month(&h, 1000);
    let q = OrderQueryRequest::by_order_date(shop(), t("202611010000"), t("202612312359")).unwrap();
    let r = h.call(&q).await;
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.order_list.len(), 300);
    // First 300 by (TSDate, OrderNo).
    let expected: Vec<String> = (0..300).map(|i| format!("S{i:05}")).collect();
    let got: Vec<String> = r
        .order_list
        .iter()
        .map(|o| o.order_no.to_string())
        .collect();
    assert_eq!(got, expected);
    // Continue from the last row's minute: no row lost or skipped.
    let last = r.order_list.last().unwrap().ts_date.unwrap();
    let q2 = OrderQueryRequest::by_order_date(shop(), last, t("202612312359")).unwrap();
    let r2 = h.call(&q2).await;
    assert_eq!(r2.order_list[0].order_no, ono("S00299"));

    // Exactly 300 matching → 300; 299 → 299.
    let h = Harness::new();
    seed_month(&h, 300);
    assert_eq!(h.call(&q).await.order_list.len(), 300);
    let h = Harness::new();
    seed_month(&h, 299);
    assert_eq!(h.call(&q).await.order_list.len(), 299);
}

#[tokio::test]
async fn same_minute_rows_are_ordered_by_order_no() {
    let h = Harness::new();
    let orders = ["Z9", "A1", "M5", "A10"]
        .into_iter()
        .map(|n| SeedOrder::new(ono(n), ntd(1), PayType::Atm, NOV1 + 30));
    h.sim.seed_orders(&shop(), orders);
    h.sim.seed_orders(
        &shop(),
        [SeedOrder::new(ono("B0"), ntd(1), PayType::Atm, NOV1 - 60)],
    );
    let r = h
        .call(&OrderQueryRequest::by_pay_type(shop(), PayType::Atm))
        .await;
    let got: Vec<&str> = r.order_list.iter().map(|o| o.order_no.as_str()).collect();
    assert_eq!(got, ["B0", "A1", "A10", "M5", "Z9"]);
}

#[tokio::test]
async fn filters() {
    let h = Harness::new();
    seed_month(&h, 60); // one order every 12 h
    let all = |r: &sinopac_proto::OrderQueryResponse| r.order_list.len();
    // Order date range is inclusive on minutes: first day = orders 0 and 1.
    let day1 =
        OrderQueryRequest::by_order_date(shop(), t("202611010000"), t("202611012359")).unwrap();
    assert_eq!(all(&h.call(&day1).await), 2);
    let just_first =
        OrderQueryRequest::by_order_date(shop(), t("202611010000"), t("202611010000")).unwrap();
    assert_eq!(all(&h.call(&just_first).await), 1);
    // PayType.
    let atm = h
        .call(&OrderQueryRequest::by_pay_type(shop(), PayType::Atm))
        .await;
    assert_eq!(all(&atm), 30);
    assert!(atm.order_list.iter().all(|o| o.pay_type == PayType::Atm));
    // PayFlag Y = paid (every third), N = the rest (pending ATM + pending card).
    let paid = h
        .call(&OrderQueryRequest::by_pay_flag(shop(), PayFlag::Paid))
        .await;
    assert_eq!(all(&paid), 20);
    assert!(paid.order_list.iter().all(|o| o.pay_status.is_paid()));
    let unpaid = h
        .call(&OrderQueryRequest::by_pay_flag(shop(), PayFlag::Unpaid))
        .await;
    assert_eq!(all(&unpaid), 40);
    // Combined: paid card orders.
    let paid_cards = h
        .call(&OrderQueryRequest::by_pay_type(shop(), PayType::Card).pay_flag(PayFlag::Paid))
        .await;
    assert_eq!(all(&paid_cards), 10);
    assert!(
        paid_cards
            .order_list
            .iter()
            .all(|o| o.pay_status == PayStatus::CardCaptured)
    );
    // Pay date range: order 0 paid at 01:00 on Nov 1 (Taipei).
    let by_pay =
        OrderQueryRequest::by_pay_date(shop(), t("202611010100"), t("202611010100")).unwrap();
    let r = h.call(&by_pay).await;
    assert_eq!(all(&r), 1);
    assert_eq!(r.order_list[0].order_no, ono("S00000"));
    // OrderNo combined with a range that excludes it.
    let q = OrderQueryRequest::by_order_no(shop(), ono("S00059"))
        .with_range(DateField::Order, t("202611010000"), t("202611012359"))
        .unwrap();
    assert_eq!(all(&h.call(&q).await), 0);
    // Unknown OrderNo → success, empty list (the client's "order absent" signal).
    let none = h
        .call(&OrderQueryRequest::by_order_no(shop(), ono("NOPE")))
        .await;
    assert_eq!(none.status, Status::Success);
    assert!(none.order_list.is_empty());
}

#[tokio::test]
async fn at_least_one_condition_is_required() {
    let h = Harness::new();
    let nonce = h.nonce().await;
    let env = sinopac_proto::seal_payload(
        sinopac_proto::ApiService::OrderQuery,
        SHOP,
        &serde_json::json!({"ShopNo": SHOP, "PayType": ""}),
        nonce.as_str(),
        &h.keys,
    )
    .unwrap();
    let (_, r): (_, sinopac_proto::StatusOnly) = h.exchange(&env).await;
    assert_eq!(r.status, Status::Failure);
    assert!(r.description.unwrap().starts_with("E0100"));
}

#[tokio::test]
async fn pay_date_windows_are_in_pay_date_order_and_capped() {
    let h = Harness::new();
    // Created in one order, paid in the reverse order.
    let n = 400;
    let orders = (0..n).map(|i| {
        SeedOrder::new(
            ono(&format!("P{i:04}")),
            ntd(1),
            PayType::Atm,
            NOV1 + i * 60,
        )
        .paid_at(NOV1 + 86_400 + (n - i) * 60)
    });
    h.sim.seed_orders(&shop(), orders);
    let q = OrderQueryRequest::by_pay_date(shop(), t("202611010000"), t("202611302359")).unwrap();
    let r = h.call(&q).await;
    assert_eq!(r.order_list.len(), 300);
    let pays: Vec<BankTime> = r.order_list.iter().map(|o| o.pay_date.unwrap()).collect();
    assert!(pays.windows(2).all(|w| w[0] <= w[1]), "sorted by PayDate");
    assert_eq!(
        r.order_list[0].order_no,
        ono("P0399"),
        "earliest payment first"
    );
    // With an order-date range too, TSDate order applies.
    let q = q
        .with_range(DateField::Order, t("202611010000"), t("202611302359"))
        .unwrap();
    let r = h.call(&q).await;
    assert_eq!(r.order_list[0].order_no, ono("P0000"));
}
