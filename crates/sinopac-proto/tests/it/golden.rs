//! Golden JSON for every request type: exact key spelling, absent optionals omitted.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p sinopac-proto golden` and review the diff.

use serde::Serialize;
use sinopac_proto::{
    AllotQueryRequest, Amount, BankDate, BankTime, BillQueryRequest, CardParam, OrderCreateRequest,
    OrderMaintainRequest, OrderNo, OrderPayQueryRequest, OrderQueryRequest,
    OrderUnCapturedQueryRequest, PayFlag, PayToken, PayType, Request, ShopNo,
};

fn shop() -> ShopNo {
    ShopNo::new("NA0249_001").unwrap()
}
fn order() -> OrderNo {
    OrderNo::new("A202611250001").unwrap()
}

fn check<T: Serialize + Request>(name: &str, value: &T) {
    value
        .validate()
        .unwrap_or_else(|e| panic!("{name}: golden request must be valid: {e}"));
    let json = serde_json::to_string_pretty(value).unwrap() + "\n";
    let path = super::fixtures()
        .join("golden")
        .join(format!("{name}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &json).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        json,
        expected,
        "{name}: JSON differs from {}",
        path.display()
    );
    assert!(
        !json.contains("null"),
        "{name}: absent optionals must be omitted"
    );
    // The golden text reads back to the same value (the simulator parses what clients send).
    let back: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(back, serde_json::to_value(value).unwrap());
}

#[test]
fn order_create_atm() {
    let req = OrderCreateRequest::atm(
        shop(),
        order(),
        Amount::from_ntd(500).unwrap(),
        "虛擬帳號訂單",
        BankDate::parse("20261130").unwrap(),
    )
    .return_url("https://shop.example/sinopac/return")
    .backend_url("https://shop.example/sinopac/backend");
    check("order_create_atm", &req);
}

#[test]
fn order_create_card_full() {
    let req = OrderCreateRequest::card(
        shop(),
        order(),
        Amount::from_minor(79900),
        "信用卡訂單",
        CardParam::capture_after_days(3).exp_minutes(30),
    )
    .memo("gift wrap")
    .params(Some("p1".into()), None, Some("p3".into()))
    .return_url("https://shop.example/sinopac/return")
    .backend_url("https://shop.example/sinopac/backend");
    check("order_create_card", &req);
}

#[test]
fn order_query_all_conditions() {
    let q = OrderQueryRequest::by_order_date(
        shop(),
        BankTime::parse("202611010000").unwrap(),
        BankTime::parse("202611302359").unwrap(),
    )
    .unwrap()
    .pay_type(PayType::Atm)
    .pay_flag(PayFlag::Paid);
    check("order_query_by_order_date", &q);
    check(
        "order_query_by_order_no",
        &OrderQueryRequest::by_order_no(shop(), order()),
    );
}

#[test]
fn order_pay_query() {
    let token =
        PayToken::new("da1547c3d0d1649af5049125b0880c0e227f31e107cbf4f0995bed28d0f066c1").unwrap();
    check(
        "order_pay_query",
        &OrderPayQueryRequest {
            shop_no: shop(),
            pay_token: token,
        },
    );
}

#[test]
fn order_uncaptured_query() {
    check(
        "order_uncaptured_query",
        &OrderUnCapturedQueryRequest {
            shop_no: shop(),
            order_no: None,
        },
    );
}

#[test]
fn order_maintain() {
    check(
        "order_maintain_capture",
        &OrderMaintainRequest::capture(shop(), order()),
    );
    check(
        "order_maintain_void",
        &OrderMaintainRequest::void(shop(), order()),
    );
    check(
        "order_maintain_partial_refund",
        &OrderMaintainRequest::refund(shop(), order(), Some(Amount::from_minor(10000)))
            .remark("退貨"),
    );
}

#[test]
fn bill_and_allot() {
    check(
        "bill_query",
        &BillQueryRequest {
            shop_no: shop(),
            bill_date: BankDate::parse("20261125").unwrap(),
        },
    );
    check(
        "allot_query",
        &AllotQueryRequest {
            shop_no: shop(),
            allot_date_s: BankDate::parse("20261101").unwrap(),
            allot_date_e: BankDate::parse("20261125").unwrap(),
            pay_type: Some(PayType::Card),
        },
    );
}
