//! `query_all` past the 300-row cap, measured against the sim.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use sinopac_http::{Error, TransportRequest, TransportResponse, transport_fn};
use sinopac_proto::{
    Amount, ApiService, BankTime, DateField, Envelope, OrderListItem, OrderQueryRequest,
    OrderQueryResponse, PayFlag, PayStatus, PayType, Status,
};
use sinopac_sim::{SeedOrder, Sim};

use crate::support::*;

fn minute(t: &str) -> i64 {
    BankTime::parse(t).unwrap().unix_minutes() * 60
}

const MONTH_START: &str = "202611010000";
const MONTH_END: &str = "202611302359";

fn month_query() -> OrderQueryRequest {
    OrderQueryRequest::by_order_date(
        shop_no(),
        BankTime::parse(MONTH_START).unwrap(),
        BankTime::parse(MONTH_END).unwrap(),
    )
    .unwrap()
}

/// A tiny deterministic PRNG for spreads.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn seed(sim: &Sim, orders: Vec<SeedOrder>) -> BTreeSet<String> {
    let nos = orders
        .iter()
        .map(|o| o.order_no.as_str().to_owned())
        .collect();
    sim.seed_orders(&shop_no(), orders);
    nos
}

fn atm_at(no: String, at: i64) -> SeedOrder {
    SeedOrder::new(
        order_no(&no),
        Amount::from_ntd(100).unwrap(),
        PayType::Atm,
        at,
    )
}

fn set(items: &[OrderListItem]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i.order_no.as_str().to_owned())
        .collect()
}

fn calls(sim: &Sim) -> u64 {
    service_count(sim, ApiService::OrderQuery)
}

#[tokio::test]
async fn uniform_month_of_3000_orders_within_the_call_budget() {
    let n = 3000i64;
    let start = minute(MONTH_START);
    let span = 30 * 86_400;
    for (label, spread) in [("even", 0u64), ("random", 1u64)] {
        let sim = sim();
        let c = client(&sim);
        let mut rng = Lcg(42);
        let orders = (0..n)
            .map(|i| {
                let at = if spread == 0 {
                    start + i * span / n
                } else {
                    start + i64::try_from(rng.next() % u64::try_from(span).unwrap()).unwrap()
                };
                atm_at(format!("U{i:05}"), at)
            })
            .collect();
        let expected = seed(&sim, orders);
        let out = c.query_all_vec(month_query()).await.unwrap();
        assert_eq!(out.items.len(), 3000, "{label}: each OrderNo once");
        assert_eq!(set(&out.items), expected, "{label}");
        let budget = 25; // 2.5 × ceil(3000 / 300)
        let made = calls(&sim);
        assert_eq!(u64::from(out.stats.calls), made);
        assert!(
            made <= budget,
            "{label}: {made} OrderQuery calls > {budget}"
        );
        println!(
            "query_all {label} month N=3000: {made} OrderQuery calls ({:?})",
            out.stats
        );
    }
}

#[tokio::test]
async fn uniform_month_of_10000_orders_within_the_call_budget() {
    let n = 10_000i64;
    let start = minute(MONTH_START);
    let sim = sim();
    let c = client(&sim);
    let mut rng = Lcg(9);
    let orders = (0..n)
        .map(|i| {
            let at = start + i64::try_from(rng.next() % (30 * 86_400)).unwrap();
            atm_at(format!("T{i:05}"), at)
        })
        .collect();
    let expected = seed(&sim, orders);
    let out = c.query_all_vec(month_query()).await.unwrap();
    assert_eq!(set(&out.items), expected);
    let budget = 85; // 2.5 × ceil(10000 / 300)
    let made = calls(&sim);
    assert!(made <= budget, "{made} OrderQuery calls > {budget}");
    println!(
        "query_all random month N=10000: {made} OrderQuery calls ({:?})",
        out.stats
    );
}

#[tokio::test]
async fn caller_conditions_narrow_the_split() {
    // The caller asks for paid orders only; a minute with 500 paid orders (250 ATM, 250 card)
    // and 400 unpaid ones is split by PayType only, and unpaid orders never appear.
    let sim = sim();
    let c = client(&sim);
    let hot = minute("202611100800");
    let mut orders = Vec::new();
    let mut expected = BTreeSet::new();
    for i in 0..500 {
        let (pt, no) = if i % 2 == 0 {
            (PayType::Atm, format!("Y{i:04}"))
        } else {
            (PayType::Card, format!("Z{i:04}"))
        };
        expected.insert(no.clone());
        orders.push(
            SeedOrder::new(order_no(&no), Amount::from_ntd(3).unwrap(), pt, hot).paid_at(hot + 5),
        );
    }
    orders.extend((0..400).map(|i| atm_at(format!("W{i:04}"), hot)));
    seed(&sim, orders);
    let q = month_query().pay_flag(PayFlag::Paid);
    let out = c.query_all_vec(q).await.unwrap();
    assert_eq!(set(&out.items), expected);
    assert_eq!(out.stats.split_by_type_or_flag, 1, "{:?}", out.stats);
}

/// `count` orders in one minute, spread over the six (PayType, PayFlag) buckets.
fn burst(prefix: &str, at: i64, count: usize) -> Vec<SeedOrder> {
    (0..count)
        .map(|i| {
            let no = order_no(&format!("{prefix}{i:05}"));
            let amount = Amount::from_ntd(10).unwrap();
            match i % 6 {
                0 => SeedOrder::new(no, amount, PayType::Atm, at).paid_at(at + 30),
                1 => SeedOrder::new(no, amount, PayType::Atm, at),
                2 => {
                    let mut o = SeedOrder::new(no, amount, PayType::Atm, at);
                    o.status = Some(PayStatus::AtmExpired);
                    o
                }
                3 => SeedOrder::new(no, amount, PayType::Card, at).paid_at(at + 10),
                4 => {
                    let mut o = SeedOrder::new(no, amount, PayType::Card, at);
                    o.status = Some(
                        [
                            PayStatus::CardPending,
                            PayStatus::CardAuthorized,
                            PayStatus::CardVoided,
                            PayStatus::CardDeclined,
                        ][i / 6 % 4]
                            .clone(),
                    );
                    o
                }
                _ => {
                    let mut o = SeedOrder::new(no, amount, PayType::Card, at);
                    o.status = Some(PayStatus::CardExpired);
                    o
                }
            }
        })
        .collect()
}

#[tokio::test]
async fn bursty_minute_is_split_by_pay_type_and_flag_exactly() {
    let sim = sim();
    let c = client(&sim);
    let hot = minute("202611150930");
    let mut orders = burst("B", hot, 1700);
    // Background: 1000 orders over the month, some in the neighbouring minutes.
    let start = minute(MONTH_START);
    orders.extend((0..1000i64).map(|i| atm_at(format!("N{i:05}"), start + i * 2_592)));
    orders.extend((0..250i64).map(|i| atm_at(format!("E{i:05}"), hot - 60)));
    orders.extend((0..250i64).map(|i| atm_at(format!("L{i:05}"), hot + 60)));
    let expected = seed(&sim, orders);

    let out = c.query_all_vec(month_query()).await.unwrap();
    assert_eq!(out.items.len(), expected.len(), "no duplicates");
    assert_eq!(set(&out.items), expected);
    assert!(out.stats.split_by_type_or_flag >= 3, "{:?}", out.stats);
    println!(
        "query_all burst 1700 in one minute + 1500 others: {} OrderQuery calls ({:?})",
        calls(&sim),
        out.stats
    );

    // The stream gives the same set.
    let streamed: Vec<_> = c
        .query_all(month_query())
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(set(&streamed), expected);
    assert_eq!(streamed.len(), expected.len());
}

#[tokio::test]
async fn a_minute_too_dense_to_split_is_named() {
    let sim = sim();
    let c = client(&sim);
    let hot = minute("202611200101");
    seed(
        &sim,
        (0..301).map(|i| atm_at(format!("D{i:04}"), hot)).collect(),
    );
    let err = c.query_all_vec(month_query()).await.unwrap_err();
    match &err {
        Error::QueryWindowTooDense { window } => {
            assert_eq!(window.field, DateField::Order);
            assert_eq!(window.start.to_string(), "202611200101");
            assert_eq!(window.end.to_string(), "202611200101");
            assert_eq!(window.pay_type, Some(PayType::Atm));
            assert_eq!(window.pay_flag, Some(PayFlag::Unpaid));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("202611200101"), "{err}");

    // The stream yields what it could, then the error, then ends.
    let results: Vec<_> = c.query_all(month_query()).collect().await;
    assert!(matches!(
        results.last(),
        Some(Err(Error::QueryWindowTooDense { .. }))
    ));
}

#[tokio::test]
async fn pay_date_ranges_and_caller_conditions_are_kept() {
    let sim = sim();
    let c = client(&sim);
    let start = minute(MONTH_START);
    // 1200 paid ATM orders created over the first week, paid 0–5 days later; 400 cards.
    let mut rng = Lcg(7);
    let mut orders = Vec::new();
    let mut paid_in_range = BTreeSet::new();
    let (ps, pe) = (minute("202611050000"), minute("202611102359"));
    for i in 0..1200i64 {
        let at = start + i * 500;
        let paid = at + i64::try_from(rng.next() % 432_000).unwrap();
        if (ps..=pe + 59).contains(&paid) {
            paid_in_range.insert(format!("P{i:05}"));
        }
        orders.push(atm_at(format!("P{i:05}"), at).paid_at(paid));
    }
    for i in 0..400i64 {
        let at = start + i * 700;
        orders.push(
            SeedOrder::new(
                order_no(&format!("Q{i:05}")),
                Amount::from_ntd(5).unwrap(),
                PayType::Card,
                at,
            )
            .paid_at(at + 60),
        );
    }
    seed(&sim, orders);
    let q = OrderQueryRequest::by_pay_date(
        shop_no(),
        BankTime::parse("202611050000").unwrap(),
        BankTime::parse("202611102359").unwrap(),
    )
    .unwrap()
    .pay_type(PayType::Atm);
    let out = c.query_all_vec(q).await.unwrap();
    assert_eq!(set(&out.items), paid_in_range);
    assert!(out.items.iter().all(|i| i.pay_type == PayType::Atm));
    assert!(paid_in_range.len() > 300, "the test must exceed the cap");
}

#[tokio::test]
async fn no_date_range_is_paged_when_rows_are_sorted() {
    let sim = sim();
    let c = client(&sim);
    let start = minute(MONTH_START);
    let expected = seed(
        &sim,
        (0..700i64)
            .map(|i| atm_at(format!("R{i:05}"), start + i * 3_000))
            .collect(),
    );
    let out = c
        .query_all_vec(OrderQueryRequest::by_pay_type(shop_no(), PayType::Atm))
        .await
        .unwrap();
    assert_eq!(set(&out.items), expected);
}

/// A fake bank that answers `OrderQuery` with rows in *reverse* order, so `query_all` cannot
/// page and must halve windows.
fn unsorted_bank(rows: Arc<Vec<OrderListItem>>, cap: usize) -> Arc<dyn sinopac_http::Transport> {
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(1));
    Arc::new(transport_fn(move |req: TransportRequest| {
        let rows = rows.clone();
        let counter = counter.clone();
        async move {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let nonce = format!("FAKENONCE{n:020}");
            if req.endpoint() == "Nonce" {
                return Ok(TransportResponse::json(format!(r#"{{"Nonce":"{nonce}"}}"#)));
            }
            let env: Envelope = serde_json::from_slice(&req.body).unwrap();
            let plain = sinopac_proto::open_json(&env, &keys()).unwrap();
            let q: OrderQueryRequest = serde_json::from_slice(&plain).unwrap();
            let (s, e) = q.range(DateField::Order).unwrap();
            let mut list: Vec<OrderListItem> = rows
                .iter()
                .filter(|r| {
                    let t = r.ts_date.unwrap();
                    s <= t && t <= e && q.pay_type_condition().is_none_or(|p| *p == r.pay_type)
                })
                .cloned()
                .collect();
            list.reverse();
            list.truncate(cap);
            let reply = OrderQueryResponse {
                shop_no: Some(shop_no()),
                date: None,
                status: Status::Success,
                description: Some("S0000 – 處理成功".into()),
                order_list: list,
            };
            let sealed =
                sinopac_proto::seal_payload(ApiService::OrderQuery, SHOP, &reply, &nonce, &keys())
                    .unwrap();
            Ok(TransportResponse::json(
                serde_json::to_vec(&sealed).unwrap(),
            ))
        }
    }))
}

#[tokio::test]
async fn unsorted_answers_are_halved_down_to_the_minute() {
    let base = BankTime::parse("202611010000").unwrap();
    let rows: Vec<OrderListItem> = (0..900i64)
        .map(|i| {
            // 3 orders per minute over 300 minutes, alternating pay types.
            let t = base.add_minutes(i / 3).unwrap();
            OrderListItem {
                order_no: order_no(&format!("H{i:05}")),
                ts_no: None,
                ts_date: Some(t),
                approved_date: None,
                pay_date: None,
                amount: Amount::from_minor(100),
                pay_type: if i % 2 == 0 {
                    PayType::Atm
                } else {
                    PayType::Card
                },
                pay_status: PayStatus::AtmPending,
                expire_date: None,
                refund_flag: None,
                refund_status: None,
                refund_date: None,
                refund_amount: None,
                prdt_name: None,
                memo: None,
                param1: None,
                param2: None,
                param3: None,
                atm_param: None,
                card_param: None,
            }
        })
        .collect();
    let expected = set(&rows);
    let sim = sim();
    let c = builder(&sim)
        .transport(unsorted_bank(Arc::new(rows), 100))
        .query_row_cap(100)
        .build()
        .unwrap();
    let out = c.query_all_vec(month_query()).await.unwrap();
    assert_eq!(set(&out.items), expected);
    assert_eq!(out.items.len(), 900);
    assert!(out.stats.halved > 0, "{:?}", out.stats);
    assert_eq!(out.stats.paged, 0);
}

/// Model check: with a small row cap (20), random datasets (uniform, hot minutes, mixed
/// statuses) and random conditions, `query_all` returns exactly what one uncapped query
/// returns from an identical sim.
#[tokio::test]
async fn random_datasets_match_an_uncapped_query() {
    const CAP: usize = 20;
    let statuses = |pt: &PayType| -> Vec<(Option<PayStatus>, bool)> {
        match pt {
            PayType::Atm => vec![
                (None, true),
                (None, false),
                (Some(PayStatus::AtmExpired), false),
            ],
            _ => vec![
                (None, true),
                (Some(PayStatus::CardAuthorized), false),
                (Some(PayStatus::CardVoided), false),
                (Some(PayStatus::CardExpired), false),
                (Some(PayStatus::CardRefunded), true),
            ],
        }
    };
    let day = minute("202611100000");
    let (mut capped_total, mut split_total) = (0, 0);
    for seed_no in 0..24u64 {
        let mut rng = Lcg(seed_no * 7919 + 1);
        let capped = sim_with(sinopac_sim::SimConfig {
            max_rows: CAP,
            ..Default::default()
        });
        let truth = sim_with(sinopac_sim::SimConfig {
            max_rows: 1_000_000,
            ..Default::default()
        });
        let hot: Vec<i64> = (0..3)
            .map(|_| day + 60 * i64::try_from(rng.next() % 1440).unwrap())
            .collect();
        let n = rng.next() % 400;
        let mut orders = Vec::new();
        // Per (minute, PayType, status) bucket counts, kept under the cap so that every
        // window can be split away.
        let mut buckets = std::collections::HashMap::new();
        for i in 0..n {
            let at = if rng.next().is_multiple_of(3) {
                hot[usize::try_from(rng.next() % 3).unwrap()]
                    + i64::try_from(rng.next() % 60).unwrap()
            } else {
                day + i64::try_from(rng.next() % 86_400).unwrap()
            };
            let pt = if rng.next().is_multiple_of(2) {
                PayType::Atm
            } else {
                PayType::Card
            };
            let options = statuses(&pt);
            let pick = usize::try_from(rng.next()).unwrap() % options.len();
            let (status, paid) = options[pick].clone();
            let key = (at / 60, pt.as_str().to_owned(), pick);
            let count = buckets.entry(key).or_insert(0usize);
            if *count + 1 >= CAP / 3 {
                continue;
            }
            *count += 1;
            let mut o = SeedOrder::new(
                order_no(&format!("M{seed_no:02}{i:04}")),
                Amount::from_ntd(1).unwrap(),
                pt,
                at,
            );
            if paid {
                o = o.paid_at(at + i64::try_from(rng.next() % 7200).unwrap());
            }
            o.status = status;
            orders.push(o);
        }
        capped.seed_orders(&shop_no(), orders.clone());
        truth.seed_orders(&shop_no(), orders);

        let s = BankTime::from_unix_minutes(day / 60 + i64::try_from(rng.next() % 600).unwrap())
            .unwrap();
        let e = s
            .add_minutes(i64::try_from(rng.next() % 1500).unwrap())
            .unwrap();
        let field = if rng.next().is_multiple_of(3) {
            DateField::Pay
        } else {
            DateField::Order
        };
        let mut q = OrderQueryRequest::by_date(shop_no(), field, s, e).unwrap();
        match rng.next() % 4 {
            0 => q = q.pay_type(PayType::Card),
            1 => q = q.pay_flag(PayFlag::Unpaid),
            _ => {}
        }
        let expected = set(&client(&truth).query(&q).await.unwrap().order_list);
        let c = builder(&capped).query_row_cap(CAP).build().unwrap();
        let got = c
            .query_all_vec(q.clone())
            .await
            .unwrap_or_else(|e| panic!("seed {seed_no}: {e}"));
        assert_eq!(got.items.len(), expected.len(), "seed {seed_no} {q:?}");
        assert_eq!(set(&got.items), expected, "seed {seed_no} {q:?}");
        capped_total += got.stats.capped;
        split_total += got.stats.split_by_type_or_flag;
    }
    // The datasets really exercise paging and minute splits.
    assert!(capped_total > 50, "{capped_total}");
    assert!(split_total > 0, "{split_total}");
}
