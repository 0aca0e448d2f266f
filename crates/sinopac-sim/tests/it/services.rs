//! Every service through the protocol, and the state rules.

use std::time::Duration;

use sinopac_proto::{
    AllotQueryRequest, ApiService, BankDate, BankTime, BillQueryRequest, CardParam, Command,
    OrderMaintainRequest, OrderMaintainResponse, OrderPayQueryRequest, OrderQueryRequest,
    OrderUnCapturedQueryRequest, PayStatus, PayType, Status, TsType,
};

use crate::support::*;

fn code<R: sinopac_proto::Response>(r: &R) -> String {
    r.code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn atm_order_create_pay_and_query() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    let r = h.create_atm("A1001", 500).await;
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.description.as_deref(), Some("S0000 – 處理成功"));
    assert_eq!(r.amount, Some(ntd(500)));
    let ts_no = r.ts_no.clone().unwrap();
    assert_eq!(ts_no, "NA024900000001");
    let atm = r.atm_param.unwrap();
    let pay_no = atm.atm_pay_no.unwrap();
    assert_eq!(pay_no.len(), 14);
    assert!(pay_no.starts_with("99922"));
    assert!(
        atm.web_atm_url
            .unwrap()
            .contains("/pay/webatm?TD=NA024900000001&TK=")
    );

    let o = h.sim.order(&shop(), &ono("A1001")).unwrap();
    assert_eq!(o.pay_status, PayStatus::AtmPending);

    let token = h.sim.pay_atm(&shop(), &ono("A1001")).await.unwrap();
    assert_eq!(token.as_str().len(), 64);
    // Paying twice is refused.
    assert!(h.sim.pay_atm(&shop(), &ono("A1001")).await.is_err());

    // The BackendURL got {ShopNo, PayToken} right away.
    let calls = log.lock().clone();
    assert_eq!(calls.len(), 1);
    let n = sinopac_proto::BackendNotification::from_json(calls[0].1.body.as_bytes()).unwrap();
    assert_eq!(n.pay_token, token);
    assert_eq!(calls[0].1.url, "https://shop.example/backend");

    let pq = h
        .call(&OrderPayQueryRequest {
            shop_no: shop(),
            pay_token: token.clone(),
        })
        .await;
    assert_eq!(pq.status, Status::Success);
    let c = pq.ts_result_content.unwrap();
    assert_eq!(c.order_no, Some(ono("A1001")));
    assert_eq!(c.amount, Some(ntd(500)));
    assert_eq!(c.status, Some(Status::Success));
    assert_eq!(c.ts_no.as_deref(), Some(ts_no.as_str()));
    assert!(c.pay_date.is_some());

    let q = h
        .call(&OrderQueryRequest::by_order_no(shop(), ono("A1001")))
        .await;
    assert_eq!(q.order_list.len(), 1);
    let row = &q.order_list[0];
    assert_eq!(row.pay_status, PayStatus::AtmPaid);
    assert_eq!(row.pay_type, PayType::Atm);
    assert!(row.pay_date.is_some());
    assert_eq!(row.expire_date.unwrap().to_string().get(8..), Some("2359"));
}

#[tokio::test]
async fn duplicate_order_no_is_rejected_and_creates_nothing() {
    let h = Harness::new();
    assert_eq!(h.create_atm("D1", 100).await.status, Status::Success);
    let again = h.create_atm("D1", 999).await;
    assert_eq!(again.status, Status::Failure);
    assert_eq!(code(&again), "E0201");
    let card = h.create_card("D1", 100, CardParam::auto_capture()).await;
    assert_eq!(code(&card), "E0201");
    assert_eq!(h.sim.order_count(&shop()), 1);
    assert_eq!(h.sim.counters().orders_created, 1);
    assert_eq!(h.sim.counters().service(&ApiService::OrderCreate), 3);
}

#[tokio::test]
async fn validation_failures_use_proto_rules() {
    let h = Harness::new();
    // ExpMinutes out of 1–30: built by hand because `seal` validates client-side.
    let mut req = card_request("V1", 100, CardParam::auto_capture());
    req.card_param.as_mut().unwrap().exp_minutes = Some(31);
    let nonce = h.nonce().await;
    let env =
        sinopac_proto::seal_payload(ApiService::OrderCreate, SHOP, &req, nonce.as_str(), &h.keys)
            .unwrap();
    let (_, r): (_, sinopac_proto::OrderCreateResponse) = h.exchange(&env).await;
    assert_eq!(code(&r), "E0101");
    assert!(r.description.unwrap().contains("ExpMinutes"));

    // PayTypeSub other than ONE → E0602.
    let mut req = card_request("V2", 100, CardParam::auto_capture());
    req.card_param.as_mut().unwrap().pay_type_sub = Some("INS3".into());
    let r = h.call(&req).await;
    assert_eq!(code(&r), "E0602");

    // ATM ExpireDate in the past → E0105.
    let mut req = atm_request("V3", 100, &h.sim);
    req.atm_param.as_mut().unwrap().expire_date = today(&h.sim).add_days(-1).unwrap();
    assert_eq!(code(&h.call(&req).await), "E0105");
    assert_eq!(h.sim.order_count(&shop()), 0);
}

#[tokio::test]
async fn card_auto_capture_flow() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    let r = h
        .create_card("C1", 799, CardParam::auto_capture().exp_minutes(15))
        .await;
    assert_eq!(r.status, Status::Success);
    let url = r.card_param.unwrap().card_pay_url.unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8080/pay/card?TD=NA024900000001&TK="),
        "{url}"
    );
    let token = h.sim.pay_card(&shop(), &ono("C1"), true).await.unwrap();
    let o = h.sim.order(&shop(), &ono("C1")).unwrap();
    assert_eq!(o.pay_status, PayStatus::CardCaptured);
    assert_eq!(o.left_cc_no.as_deref(), Some("414352"));
    assert_eq!(o.right_cc_no.as_deref(), Some("0127"));
    assert_eq!(log.lock().len(), 1, "captured → BackendURL notified");
    let pq = h
        .call(&OrderPayQueryRequest {
            shop_no: shop(),
            pay_token: token,
        })
        .await;
    let c = pq.ts_result_content.unwrap();
    assert_eq!(c.status, Some(Status::Success));
    assert_eq!(c.right_cc_no.as_deref(), Some("0127"));
    // The proto keeps the TSResultContent.Amount-as-string quirk on the wire.
    assert_eq!(c.amount, Some(ntd(799)));

    // Partial refund, then the rest, then nothing more.
    let refund = |amount| OrderMaintainRequest::refund(shop(), ono("C1"), amount).remark("客訴");
    let r: OrderMaintainResponse = h.call(&refund(Some(ntd(300)))).await;
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.amount, Some(ntd(300)));
    let o = h.sim.order(&shop(), &ono("C1")).unwrap();
    assert_eq!(o.pay_status, PayStatus::CardCaptured);
    assert_eq!(o.refunded_amount, ntd(300));
    let too_much = h.call(&refund(Some(ntd(500)))).await;
    assert_eq!(code(&too_much), "E0302");
    let rest = h.call(&refund(None)).await;
    assert_eq!(rest.amount, Some(ntd(499)));
    assert_eq!(
        h.sim.order(&shop(), &ono("C1")).unwrap().pay_status,
        PayStatus::CardRefunded
    );
    assert_eq!(code(&h.call(&refund(None)).await), "E0301");
    // Void after capture is refused.
    let void = h.call(&OrderMaintainRequest::void(shop(), ono("C1"))).await;
    assert_eq!(code(&void), "E0301");

    let q = h
        .call(&OrderQueryRequest::by_order_no(shop(), ono("C1")))
        .await;
    let row = &q.order_list[0];
    assert_eq!(row.pay_status, PayStatus::CardRefunded);
    assert_eq!(row.refund_amount, Some(ntd(799)));
    assert_eq!(row.refund_flag, Some(sinopac_proto::Flag::Yes));
}

#[tokio::test]
async fn card_authorise_capture_void_and_uncaptured_query() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    for no in ["U1", "U2", "U3"] {
        h.create_card(no, 100, CardParam::capture_after_days(3))
            .await;
        h.sim.pay_card(&shop(), &ono(no), true).await.unwrap();
    }
    assert_eq!(log.lock().len(), 0, "authorisation alone does not notify");
    let un = h
        .call(&OrderUnCapturedQueryRequest {
            shop_no: shop(),
            order_no: None,
        })
        .await;
    assert_eq!(un.order_list.len(), 3);
    assert_eq!(un.order_list[0].pay_status, Some(PayStatus::CardAuthorized));
    let expected_capture = BankTime::from_unix_seconds(h.sim.now_unix() + 3 * 86_400).unwrap();
    assert_eq!(un.order_list[0].expire_date, Some(expected_capture));

    // Refund before capture is refused; capture more than authorised is refused.
    let r = h
        .call(&OrderMaintainRequest::refund(shop(), ono("U1"), None))
        .await;
    assert_eq!(code(&r), "E0301");
    let mut cap = OrderMaintainRequest::capture(shop(), ono("U1"));
    cap.amount = Some(ntd(101));
    assert_eq!(code(&h.call(&cap).await), "E0303");
    // Capture U1, void U2.
    let r = h
        .call(&OrderMaintainRequest::capture(shop(), ono("U1")))
        .await;
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.command, Some(Command::Capture));
    h.sim.run_due().await;
    assert_eq!(log.lock().len(), 1, "capture notifies BackendURL");
    let r = h.call(&OrderMaintainRequest::void(shop(), ono("U2"))).await;
    assert_eq!(r.status, Status::Success);
    assert_eq!(
        h.sim.order(&shop(), &ono("U2")).unwrap().pay_status,
        PayStatus::CardVoided
    );
    assert_eq!(
        code(
            &h.call(&OrderMaintainRequest::capture(shop(), ono("U2")))
                .await
        ),
        "E0301"
    );
    let un = h
        .call(&OrderUnCapturedQueryRequest {
            shop_no: shop(),
            order_no: Some(ono("U3")),
        })
        .await;
    assert_eq!(un.order_list.len(), 1);

    // U3 is captured automatically after ExpBillingDays.
    h.sim.advance(Duration::from_secs(3 * 86_400)).await;
    let o = h.sim.order(&shop(), &ono("U3")).unwrap();
    assert_eq!(o.pay_status, PayStatus::CardCaptured);
    assert_eq!(o.paid_at, o.auto_capture_at);
    assert_eq!(log.lock().len(), 2);
    // Unknown order; ATM orders cannot be maintained.
    assert_eq!(
        code(
            &h.call(&OrderMaintainRequest::capture(shop(), ono("NOPE")))
                .await
        ),
        "E0202"
    );
    h.create_atm("ATM1", 100).await;
    assert_eq!(
        code(
            &h.call(&OrderMaintainRequest::capture(shop(), ono("ATM1")))
                .await
        ),
        "E0304"
    );
}

#[tokio::test]
async fn declined_card_and_expiry() {
    let h = Harness::new();
    h.create_card("X1", 100, CardParam::auto_capture()).await;
    let token = h.sim.pay_card(&shop(), &ono("X1"), false).await.unwrap();
    assert_eq!(
        h.sim.order(&shop(), &ono("X1")).unwrap().pay_status,
        PayStatus::CardDeclined
    );
    let pq = h
        .call(&OrderPayQueryRequest {
            shop_no: shop(),
            pay_token: token,
        })
        .await;
    assert_eq!(pq.ts_result_content.unwrap().status, Some(Status::Failure));

    // Card page expires after ExpMinutes (default 10).
    h.create_card("X2", 100, CardParam::auto_capture()).await;
    h.sim.advance(Duration::from_secs(9 * 60 + 59)).await;
    assert_eq!(
        h.sim.order(&shop(), &ono("X2")).unwrap().pay_status,
        PayStatus::CardPending
    );
    h.sim.advance(Duration::from_secs(1)).await;
    assert_eq!(
        h.sim.order(&shop(), &ono("X2")).unwrap().pay_status,
        PayStatus::CardExpired
    );
    assert!(h.sim.pay_card(&shop(), &ono("X2"), true).await.is_err());

    // Unknown PayToken.
    let pq = h
        .call(&OrderPayQueryRequest {
            shop_no: shop(),
            pay_token: sinopac_proto::PayToken::new("ab".repeat(32)).unwrap(),
        })
        .await;
    assert_eq!(code(&pq), "E0203");
}

#[tokio::test]
async fn atm_auto_pay_unless_order_no_ends_in_9_and_expiry() {
    let cfg = sinopac_sim::SimConfig {
        atm_auto_pay_after: Some(Duration::from_secs(300)),
        ..quiet_config()
    };
    let h = Harness::with_config(cfg);
    let log = h.record_callbacks(|_| ack());
    h.create_atm("AUTO1", 100).await;
    h.create_atm("AUTO9", 100).await;
    h.sim.advance(Duration::from_secs(299)).await;
    assert_eq!(
        h.sim.order(&shop(), &ono("AUTO1")).unwrap().pay_status,
        PayStatus::AtmPending
    );
    h.sim.advance(Duration::from_secs(1)).await;
    let o = h.sim.order(&shop(), &ono("AUTO1")).unwrap();
    assert_eq!(o.pay_status, PayStatus::AtmPaid);
    assert_eq!(o.paid_at, Some(o.created_at + 300));
    assert_eq!(log.lock().len(), 1);
    assert_eq!(
        h.sim.order(&shop(), &ono("AUTO9")).unwrap().pay_status,
        PayStatus::AtmPending
    );
    // ExpireDate is today + 3: expired at 24:00 Taiwan time of that day.
    let o9 = h.sim.order(&shop(), &ono("AUTO9")).unwrap();
    let expire = BankTime::from_unix_seconds(o9.expire_at).unwrap();
    assert_eq!(expire.to_string().get(8..), Some("0000"));
    h.sim
        .advance(Duration::from_secs(
            (o9.expire_at - h.sim.now_unix()) as u64 - 1,
        ))
        .await;
    assert_eq!(
        h.sim.order(&shop(), &ono("AUTO9")).unwrap().pay_status,
        PayStatus::AtmPending
    );
    h.sim.advance(Duration::from_secs(1)).await;
    assert_eq!(
        h.sim.order(&shop(), &ono("AUTO9")).unwrap().pay_status,
        PayStatus::AtmExpired
    );
    assert!(h.sim.pay_atm(&shop(), &ono("AUTO9")).await.is_err());
    let q = h
        .call(&OrderQueryRequest::by_pay_flag(
            shop(),
            sinopac_proto::PayFlag::Expired,
        ))
        .await;
    assert_eq!(q.order_list.len(), 1);
    assert_eq!(q.order_list[0].order_no, ono("AUTO9"));
}

#[tokio::test]
async fn bill_and_allot_follow_the_ledger() {
    let h = Harness::new();
    h.record_callbacks(|_| ack());
    let day0 = today(&h.sim);
    h.create_atm("B1", 1000).await;
    h.sim.pay_atm(&shop(), &ono("B1")).await.unwrap();
    h.create_card("B2", 500, CardParam::auto_capture()).await;
    h.sim.pay_card(&shop(), &ono("B2"), true).await.unwrap();
    h.sim.advance(Duration::from_secs(86_400)).await;
    let day1 = today(&h.sim);
    let r = h
        .call(&OrderMaintainRequest::refund(
            shop(),
            ono("B2"),
            Some(ntd(200)),
        ))
        .await;
    assert_eq!(r.status, Status::Success);

    let bill0 = h
        .call(&BillQueryRequest {
            shop_no: shop(),
            bill_date: day0,
        })
        .await;
    assert_eq!(bill0.status, Status::Success);
    assert_eq!(bill0.order_list.len(), 2);
    assert!(
        bill0
            .order_list
            .iter()
            .all(|b| b.ts_type == TsType::Payment)
    );
    let bill1 = h
        .call(&BillQueryRequest {
            shop_no: shop(),
            bill_date: day1,
        })
        .await;
    assert_eq!(bill1.order_list.len(), 1);
    assert_eq!(bill1.order_list[0].ts_type, TsType::Refund);
    assert_eq!(bill1.order_list[0].amount, ntd(200));

    let allot = |s: BankDate, e: BankDate, pt: Option<PayType>| AllotQueryRequest {
        shop_no: shop(),
        allot_date_s: s,
        allot_date_e: e,
        pay_type: pt,
    };
    // Day 0 receipts are paid out on day 2 — not listed before that day comes.
    let far = day0.add_days(30).unwrap();
    let a = h.call(&allot(day0, far, None)).await;
    assert!(a.allot.is_empty(), "{a:?}");
    h.sim.advance(Duration::from_secs(2 * 86_400)).await;
    let a = h.call(&allot(day0, far, None)).await;
    assert_eq!(a.allot.len(), 3, "{a:?}");
    let first = &a.allot[0];
    assert_eq!(first.allot_date, day0.add_days(2));
    assert_eq!(first.pay_type, Some(PayType::Atm));
    assert_eq!(first.allot_amount, Some(ntd(1000)));
    let card_refund = &a.allot[2];
    assert_eq!(card_refund.allot_date, day1.add_days(2));
    assert_eq!(card_refund.refund_amount, Some(ntd(200)));
    // Totals agree with the bill rows.
    let total_pay: u64 = a.allot.iter().map(|x| x.pay_amount.unwrap().minor()).sum();
    let total_refund: u64 = a
        .allot
        .iter()
        .map(|x| x.refund_amount.unwrap().minor())
        .sum();
    assert_eq!(total_pay, ntd(1500).minor());
    assert_eq!(total_refund, ntd(200).minor());
    let cards = h.call(&allot(day0, far, Some(PayType::Card))).await;
    assert_eq!(cards.allot.len(), 2);
}

#[tokio::test]
async fn reproducible_with_the_same_seed() {
    async fn run(
        seed: u64,
    ) -> (
        Vec<sinopac_sim::SimOrder>,
        Vec<sinopac_sim::DeliveryAttempt>,
        String,
    ) {
        let cfg = sinopac_sim::SimConfig {
            seed,
            atm_auto_pay_after: Some(Duration::from_secs(300)),
            ..quiet_config()
        };
        let h = Harness::with_config(cfg);
        h.sim.add_fault(
            sinopac_sim::FaultRule::new(sinopac_sim::Route::Callback, sinopac_sim::Fault::Drop)
                .probability(0.5),
        );
        h.record_callbacks(|n| if n % 2 == 0 { fail(500) } else { ack() });
        let nonce = h.nonce().await;
        for i in 0..5 {
            h.create_atm(&format!("R{i}"), 100 + i).await;
            h.create_card(&format!("RC{i}"), 100 + i, CardParam::auto_capture())
                .await;
            h.sim
                .pay_card(&shop(), &ono(&format!("RC{i}")), i % 2 == 0)
                .await
                .unwrap();
        }
        h.sim.advance(Duration::from_secs(3600)).await;
        (
            h.sim.orders(&shop()),
            h.sim.deliveries(),
            nonce.as_str().to_owned(),
        )
    }
    let a = run(42).await;
    let b = run(42).await;
    assert_eq!(a, b);
    let c = run(43).await;
    assert_ne!(a.2, c.2);
    assert_ne!(a.0[0].page_token, c.0[0].page_token);
}

#[tokio::test]
async fn shops_are_separate() {
    let h = Harness::new();
    let other = sinopac_proto::ShopNo::new("BA0026_001").unwrap();
    let other_keys = sinopac_proto::Keys::new(
        "4D9709D699CA40EE",
        "5A4FEF83140C4E9E",
        "BC74301945134CB4",
        "961F67F8FCA44AB9",
    )
    .unwrap();
    h.sim.add_shop(sinopac_sim::ShopConfig::new(
        other.clone(),
        other_keys.clone(),
        "key-2",
    ));
    assert_eq!(h.sim.shops().len(), 2);
    // Same OrderNo in two shops is fine; TSNo prefixes differ.
    let r = h.create_atm("SAME1", 100).await;
    assert_eq!(r.ts_no.as_deref(), Some("NA024900000001"));
    h.sim.seed_orders(
        &other,
        [sinopac_sim::SeedOrder::new(
            ono("SAME1"),
            ntd(5),
            PayType::Card,
            h.sim.now_unix(),
        )],
    );
    assert_eq!(
        h.sim.order(&other, &ono("SAME1")).unwrap().ts_no,
        "BA002600000001"
    );
    assert_eq!(h.sim.order_count(&shop()), 1);
    // A PayToken of one shop is unknown to the other.
    let token = h.sim.pay_atm(&shop(), &ono("SAME1")).await.unwrap();
    let (s, b) = h
        .post_json("/Nonce", Some("key-2"), r#"{"ShopNo":"BA0026_001"}"#.into())
        .await;
    assert_eq!(s, http::StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let nonce = sinopac_proto::Nonce::new(v["Nonce"].as_str().unwrap()).unwrap();
    let req = OrderPayQueryRequest {
        shop_no: other.clone(),
        pay_token: token,
    };
    let env = sinopac_proto::seal(&req, &nonce, &other_keys).unwrap();
    let (s, b) = h
        .post_json(
            "/Order",
            Some("key-2"),
            serde_json::to_string(&env).unwrap(),
        )
        .await;
    assert_eq!(s, http::StatusCode::OK);
    let reply: sinopac_proto::Envelope = serde_json::from_slice(&b).unwrap();
    let r: sinopac_proto::OrderPayQueryResponse = sinopac_proto::open(&reply, &other_keys).unwrap();
    assert_eq!(code(&r), "E0203");
    // Seeded orders can be paid through the API (they have no timers of their own).
    h.sim.pay_card(&other, &ono("SAME1"), true).await.unwrap();
    assert_eq!(
        h.sim.order(&other, &ono("SAME1")).unwrap().pay_status,
        PayStatus::CardCaptured
    );
}

#[tokio::test]
async fn tolerant_json_like_the_bank() {
    // PHP json_encode style: \u escapes, escaped slashes, Amount as a string, CardParam: [],
    // pretty-printed — the Sign is over the decoded values.
    let h = Harness::new();
    let expire = today(&h.sim).add_days(2).unwrap();
    let json = format!(
        "{{\n    \"ShopNo\": \"{SHOP}\",\n    \"OrderNo\": \"PHP1\",\n    \"Amount\": \"50000\",\n    \"CurrencyID\": \"TWD\",\n    \"PayType\": \"A\",\n    \"ATMParam\": {{\"ExpireDate\": \"{expire}\"}},\n    \"CardParam\": [],\n    \"ConvStoreParam\": [],\n    \"PrdtName\": \"\\u865b\\u64ec\\u5e33\\u865f\\u8a02\\u55ae\",\n    \"ReturnURL\": \"http:\\/\\/shop.example\\/return\",\n    \"BackendURL\": \"http:\\/\\/shop.example\\/backend\"\n}}"
    );
    let nonce = h.nonce().await;
    let env = sinopac_proto::seal_json(
        ApiService::OrderCreate,
        SHOP,
        json.as_bytes(),
        nonce.as_str(),
        &h.keys,
    )
    .unwrap();
    let (_, r): (_, sinopac_proto::OrderCreateResponse) = h.exchange(&env).await;
    assert_eq!(r.status, Status::Success, "{:?}", r.description);
    let o = h.sim.order(&shop(), &ono("PHP1")).unwrap();
    assert_eq!(o.amount, ntd(500));
    assert_eq!(o.prdt_name, "虛擬帳號訂單");
    assert_eq!(
        o.backend_url.as_deref(),
        Some("http://shop.example/backend")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_order_no_make_one_order() {
    let h = std::sync::Arc::new(Harness::new());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.create_atm("RACE1", 100).await })
        })
        .collect();
    let mut ok = 0;
    let mut dup = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            Status::Success => ok += 1,
            _ => {
                assert_eq!(code(&r), "E0201");
                dup += 1;
            }
        }
    }
    assert_eq!((ok, dup), (1, 31));
    assert_eq!(h.sim.order_count(&shop()), 1);
    assert_eq!(h.sim.counters().orders_created, 1);
}
