//! The hosted card page (a real HTML form) posting back to ReturnURL, the WebATM page, and the
//! control API's payment and clock endpoints.

use http::StatusCode;
use sinopac_proto::{CardParam, PayStatus, ReturnNotification};

use crate::support::*;

fn path_and_query(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    rest[rest.find('/').unwrap()..].to_owned()
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].to_owned()
}

#[tokio::test]
async fn card_page_approves_and_posts_to_return_url() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    let r = h.create_card("P1", 1234, CardParam::auto_capture()).await;
    let url = r.card_param.unwrap().card_pay_url.unwrap();
    let path = path_and_query(&url);
    let (s, headers, body) = h.raw("GET", &path, &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8(body.to_vec()).unwrap();
    for field in [
        "CardNo1",
        "CardNo2",
        "CardNo3",
        "CardNo4",
        "ExpireMM",
        "ExpireYY",
        "CVV2",
        "id=\"send\"",
    ] {
        assert!(page.contains(field), "{field}");
    }
    assert!(page.contains("NT$1,234"));
    let td = hidden(&page, "TD");
    let tk = hidden(&page, "TK");
    let form = format!(
        "TD={td}&TK={tk}&CardNo1=4143&CardNo2=5200&CardNo3=0187&CardNo4=0127&ExpireMM=12&ExpireYY=35&CVV2=123&Action=approve"
    );
    let (s, _, body) = h
        .raw(
            "POST",
            &path,
            &[("content-type", "application/x-www-form-urlencoded")],
            form,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        page.contains("action=\"https://shop.example/return\""),
        "{page}"
    );
    assert!(page.contains("method=\"post\""));
    assert!(page.contains("document.forms[0].submit()"));
    // What the browser would post to ReturnURL.
    let form = format!(
        "ShopNo={}&PayToken={}",
        hidden(&page, "ShopNo"),
        hidden(&page, "PayToken")
    );
    let ret = ReturnNotification::from_form(form.as_bytes()).unwrap();
    assert_eq!(ret.shop_no, shop());
    let o = h.sim.order(&shop(), &ono("P1")).unwrap();
    assert_eq!(o.pay_status, PayStatus::CardCaptured);
    assert_eq!(o.pay_token.as_ref(), Some(&ret.pay_token));
    // BackendURL notification happens in the background; run_due makes sure it is done.
    h.sim.run_due().await;
    assert_eq!(log.lock().len(), 1);
    // The page cannot be used twice.
    let (s, _, body) = h.raw("GET", &path, &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("1C400"));
}

#[tokio::test]
async fn card_page_decline_and_decline_card() {
    let h = Harness::new();
    for (no, form_extra) in [
        ("P2", "Action=decline"),
        (
            "P3",
            "CardNo1=4000&CardNo2=0000&CardNo3=0000&CardNo4=0002&Action=approve",
        ),
    ] {
        let r = h.create_card(no, 100, CardParam::auto_capture()).await;
        let path = path_and_query(&r.card_param.unwrap().card_pay_url.unwrap());
        let (s, _, body) = h
            .raw(
                "POST",
                &path,
                &[("content-type", "application/x-www-form-urlencoded")],
                form_extra.to_owned(),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("PayToken"));
        assert_eq!(
            h.sim.order(&shop(), &ono(no)).unwrap().pay_status,
            PayStatus::CardDeclined
        );
    }
    // Wrong TK.
    let (s, _, _) = h
        .raw("GET", "/pay/card?TD=NA024900000001&TK=nope", &[], "")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn webatm_page_transfers() {
    let h = Harness::new();
    let r = h.create_atm("W1", 300).await;
    let path = path_and_query(&r.atm_param.unwrap().web_atm_url.unwrap());
    let (s, _, body) = h.raw("GET", &path, &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("99922"));
    let (s, _, _) = h
        .raw(
            "POST",
            &path,
            &[("content-type", "application/x-www-form-urlencoded")],
            "",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.sim.order(&shop(), &ono("W1")).unwrap().pay_status,
        PayStatus::AtmPaid
    );
    let (s, _, _) = h
        .raw(
            "POST",
            &path,
            &[("content-type", "application/x-www-form-urlencoded")],
            "",
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn control_api_pay_advance_clock_orders_deliveries_shops() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| fail(500));
    h.create_atm("CA1", 100).await;
    h.create_card("CA2", 100, CardParam::auto_capture()).await;
    let json = [("content-type", "application/json")];
    let (s, _, body) = h
        .raw(
            "POST",
            "/_sim/pay",
            &json,
            format!(r#"{{"ShopNo":"{SHOP}","OrderNo":"CA1"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["PayStatus"], "1A400");
    assert_eq!(v["PayToken"].as_str().unwrap().len(), 64);
    assert_eq!(log.lock().len(), 1);
    let (s, _, body) = h
        .raw(
            "POST",
            "/_sim/pay",
            &json,
            format!(r#"{{"ShopNo":"{SHOP}","OrderNo":"CA2","Approve":false}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["PayStatus"],
        "1C900"
    );
    let (s, _, _) = h
        .raw(
            "POST",
            "/_sim/pay",
            &json,
            format!(r#"{{"ShopNo":"{SHOP}","OrderNo":"CA1"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = h
        .raw(
            "POST",
            "/_sim/pay",
            &json,
            format!(r#"{{"ShopNo":"{SHOP}","OrderNo":"NOPE"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // ShopNo may be left out when the OrderNo is unique.
    h.create_atm("CA3", 100).await;
    let (s, _, body) = h
        .raw("POST", "/_sim/pay", &json, r#"{"OrderNo":"CA3"}"#)
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (s, _, _) = h
        .raw("POST", "/_sim/pay", &json, r#"{"OrderNo":"NOPE"}"#)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, body) = h.raw("GET", "/_sim", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("/_sim/advance"));

    let before = h.sim.now_unix();
    let (s, _, body) = h
        .raw("POST", "/_sim/advance", &json, r#"{"Seconds":1200}"#)
        .await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Now"].as_i64().unwrap(), before + 1200);
    assert_eq!(v["BankTime"].as_str().unwrap().len(), 12);
    assert_eq!(
        log.lock().len(),
        6,
        "CA1 and CA3: retries at +10 and +20 ran during the advance"
    );

    let (_, _, body) = h.raw("GET", "/_sim/clock", &[], "").await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["Now"].as_i64().unwrap(), before + 1200);

    let (_, _, body) = h
        .raw(
            "GET",
            &format!("/_sim/deliveries?ShopNo={SHOP}&OrderNo=CA1"),
            &[],
            "",
        )
        .await;
    let d: Vec<sinopac_sim::DeliveryAttempt> = serde_json::from_slice(&body).unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d, h.sim.deliveries_for(&shop(), &ono("CA1")));

    let (_, _, body) = h
        .raw("GET", &format!("/_sim/orders?ShopNo={SHOP}"), &[], "")
        .await;
    let orders: Vec<sinopac_sim::SimOrder> = serde_json::from_slice(&body).unwrap();
    assert_eq!(orders, h.sim.orders(&shop()));
    let (s, _, body) = h
        .raw(
            "GET",
            &format!("/_sim/order?ShopNo={SHOP}&OrderNo=CA2"),
            &[],
            "",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let o: sinopac_sim::SimOrder = serde_json::from_slice(&body).unwrap();
    assert_eq!(o.pay_status, PayStatus::CardDeclined);

    let (_, _, body) = h.raw("GET", "/_sim/counters", &[], "").await;
    let c: sinopac_sim::SimCounters = serde_json::from_slice(&body).unwrap();
    assert_eq!(c.orders_created, 3);
    assert_eq!(c.callback_attempts, 6);

    let shop_body = r#"{"ShopNo":"BA0026_001","A1":"4D9709D699CA40EE","A2":"5A4FEF83140C4E9E","B1":"BC74301945134CB4","B2":"961F67F8FCA44AB9","KeyID":"k2"}"#;
    let (s, _, _) = h.raw("POST", "/_sim/shops", &json, shop_body).await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, body) = h.raw("GET", "/_sim/shops", &[], "").await;
    let shops: Vec<String> = serde_json::from_slice(&body).unwrap();
    assert_eq!(shops, ["BA0026_001", SHOP]);
    let (s, _, _) = h
        .raw(
            "POST",
            "/_sim/shops",
            &json,
            r#"{"ShopNo":"X","A1":"zz","A2":"","B1":"","B2":"","KeyID":"k"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn nested_under_a_prefix() {
    use tower::ServiceExt as _;
    let h = Harness::new();
    h.sim.set_public_base_url("http://127.0.0.1:8080/sim/");
    assert_eq!(h.sim.public_base_url(), "http://127.0.0.1:8080/sim");
    let app = axum::Router::new().nest("/sim", h.sim.router());
    let r = h.create_card("N1", 100, CardParam::auto_capture()).await;
    let url = r.card_param.unwrap().card_pay_url.unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8080/sim/pay/card?TD="),
        "{url}"
    );
    let resp = app
        .clone()
        .oneshot(
            http::Request::get(path_and_query(&url))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .oneshot(
            http::Request::get("/sim/_sim/clock")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
