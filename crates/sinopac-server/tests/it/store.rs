//! Store conformance suite: the same tests on SQLite and PostgreSQL.

use sinopac_proto::{Amount, Command, PayStatus};
use sinopac_server::state::Observation;
use sinopac_server::store::{NewOrder, ObservationMeta, OrderFilter, Store};

use crate::on_both;

fn new_order(no: &str, pay_type: &str) -> NewOrder {
    NewOrder {
        shop_no: "NA0249_001".into(),
        order_no: no.into(),
        pay_type: pay_type.into(),
        amount: Amount::from_minor(50_000),
        prdt_name: "測試商品".into(),
        expire_date: Some("20260131".into()),
        next_reconcile_at: 1_000,
    }
}

fn meta(notify: bool) -> ObservationMeta {
    ObservationMeta {
        notify,
        ..ObservationMeta::default()
    }
}

async fn shops(s: &Store) {
    assert_eq!(s.upsert_shop("NA0249_001", b"one", 1).await.unwrap(), 1);
    assert_eq!(s.upsert_shop("NA0249_001", b"two", 2).await.unwrap(), 2);
    assert_eq!(s.upsert_shop("NA0001_001", b"x", 3).await.unwrap(), 1);
    let (blob, v) = s.shop_credentials("NA0249_001").await.unwrap().unwrap();
    assert_eq!((blob.as_slice(), v), (&b"two"[..], 2));
    assert_eq!(s.shop_version("nope").await.unwrap(), None);
    let list = s.list_shops().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].shop_no, "NA0001_001");
    // Migrations are idempotent.
    s.migrate().await.unwrap();
}
on_both!(shops_upsert_and_rotate, super::shops);

async fn orders(s: &Store) {
    let o = s
        .insert_order(&new_order("A1", "A"), 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.state, "awaiting_transfer");
    assert_eq!(o.amount, 50_000);
    assert_eq!(o.prdt_name, "測試商品");
    let dup = s.insert_order(&new_order("A1", "C"), 11).await.unwrap();
    let existing = dup.unwrap_err();
    assert_eq!(existing.id, o.id);
    assert_eq!(existing.pay_type, "A");
    let c = s
        .insert_order(&new_order("C1", "C"), 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.state, "awaiting_payment");
    s.set_order_created(c.id, Some("NA024900000001"), None, Some("http://x/pay"), 13)
        .await
        .unwrap();
    let c = s.get_order("NA0249_001", "C1").await.unwrap().unwrap();
    assert_eq!(c.ts_no.as_deref(), Some("NA024900000001"));
    assert_eq!(c.card_pay_url.as_deref(), Some("http://x/pay"));
    let all = s.list_orders(&OrderFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|o| o.order_no.as_str()).collect::<Vec<_>>(),
        ["C1", "A1"]
    );
    let f = OrderFilter {
        state: Some("awaiting_transfer".into()),
        ..OrderFilter::default()
    };
    assert_eq!(s.list_orders(&f).await.unwrap().len(), 1);
    let f = OrderFilter {
        created_from: Some(11),
        created_to: Some(13),
        ..OrderFilter::default()
    };
    assert_eq!(s.list_orders(&f).await.unwrap().len(), 1);
    let f = OrderFilter {
        shop_no: Some("other".into()),
        ..OrderFilter::default()
    };
    assert!(s.list_orders(&f).await.unwrap().is_empty());
    s.set_create_failed(o.id, "E0602", 20).await.unwrap();
    let o = s.get_order("NA0249_001", "A1").await.unwrap().unwrap();
    assert_eq!(o.state, "create_failed");
}
on_both!(orders_insert_duplicate_list, super::orders);

async fn transitions(s: &Store) {
    let o = s
        .insert_order(&new_order("A1", "A"), 10)
        .await
        .unwrap()
        .unwrap();
    let paid = Observation::PayResult { success: true };
    let m = ObservationMeta {
        pay_token: Some("tok".into()),
        notify: true,
        ..ObservationMeta::default()
    };
    let a = s
        .apply("NA0249_001", "A1", &paid, "callback", &m, 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.order.state, "paid");
    assert!(a.event_id.is_some());
    assert_eq!(a.order.paid_at, Some(20));
    // Same observation again, and a stale one: no new event.
    let b = s
        .apply("NA0249_001", "A1", &paid, "callback", &m, 21)
        .await
        .unwrap()
        .unwrap();
    assert!(b.event_id.is_none());
    let stale = Observation::PayStatus {
        status: PayStatus::AtmPending,
        refunded: None,
    };
    let c = s
        .apply("NA0249_001", "A1", &stale, "reconcile", &meta(true), 22)
        .await
        .unwrap()
        .unwrap();
    assert!(c.event_id.is_none());
    assert_eq!(c.order.state, "paid");
    let ev = s.events(o.id).await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].from_state.as_str(), ev[0].to_state.as_str()),
        ("awaiting_transfer", "paid")
    );
    let row = s.get_order("NA0249_001", "A1").await.unwrap().unwrap();
    assert_eq!(row.pay_token.as_deref(), Some("tok"));
    assert_eq!(row.version, 1);
    // Unknown codes are preserved, state untouched.
    s.insert_order(&new_order("A2", "A"), 10)
        .await
        .unwrap()
        .unwrap();
    let weird = Observation::PayStatus {
        status: PayStatus::parse("1A777"),
        refunded: None,
    };
    let wm = ObservationMeta {
        bank_pay_status: Some("1A777".into()),
        ..meta(true)
    };
    let w = s
        .apply("NA0249_001", "A2", &weird, "reconcile", &wm, 30)
        .await
        .unwrap()
        .unwrap();
    assert!(w.event_id.is_none());
    let row = s.get_order("NA0249_001", "A2").await.unwrap().unwrap();
    assert_eq!(row.bank_pay_status.as_deref(), Some("1A777"));
    assert_eq!(row.state, "awaiting_transfer");
    // Unknown order.
    assert!(
        s.apply("NA0249_001", "nope", &paid, "x", &meta(false), 1)
            .await
            .unwrap()
            .is_none()
    );
    // Card refunds accumulate.
    s.insert_order(&new_order("C1", "C"), 10)
        .await
        .unwrap()
        .unwrap();
    let cap = Observation::PayStatus {
        status: PayStatus::CardCaptured,
        refunded: None,
    };
    s.apply("NA0249_001", "C1", &cap, "reconcile", &meta(true), 40)
        .await
        .unwrap();
    let r = Observation::Maintained {
        command: Command::Refund,
        amount: Some(Amount::from_minor(20_000)),
    };
    let x = s
        .apply("NA0249_001", "C1", &r, "api", &meta(true), 41)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x.order.state, "partially_refunded");
    assert_eq!(x.order.refunded_amount, 20_000);
    let x = s
        .apply("NA0249_001", "C1", &r, "api", &meta(true), 42)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x.order.refunded_amount, 40_000);
    assert!(x.event_id.is_some());
    let counts = s.outbox_counts().await.unwrap();
    assert_eq!(counts, vec![("pending".to_string(), 4)]);
}
on_both!(transitions_are_idempotent, super::transitions);

async fn concurrent_apply(s: &Store) {
    for i in 0..5 {
        s.insert_order(&new_order(&format!("A{i}"), "A"), 10)
            .await
            .unwrap()
            .unwrap();
    }
    let mut tasks = Vec::new();
    for t in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let paid = Observation::PayResult { success: true };
            let no = format!("A{}", t % 5);
            s.apply("NA0249_001", &no, &paid, "callback", &meta(true), 50)
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.count_events().await.unwrap(), 5);
    assert_eq!(
        s.outbox_counts().await.unwrap(),
        vec![("pending".to_string(), 5)]
    );
}
on_both!(
    concurrent_duplicates_give_one_transition,
    super::concurrent_apply
);

async fn inbox(s: &Store) {
    let items = vec![
        ("S1".to_string(), "t1".to_string(), "backend"),
        ("S1".to_string(), "t2".to_string(), "backend"),
        ("S1".to_string(), "t1".to_string(), "backend"),
    ];
    assert_eq!(
        s.inbox_insert_batch(&items, 100).await.unwrap(),
        vec![true, true, false]
    );
    assert_eq!(
        s.inbox_insert_batch(&items[..1], 101).await.unwrap(),
        vec![false]
    );
    assert_eq!(s.inbox_depth().await.unwrap(), 2);
    let got = s.inbox_claim(100, 10, 1_000).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].attempts, 1);
    // Leased: nothing more to claim until the lease ends.
    assert!(s.inbox_claim(500, 10, 1_000).await.unwrap().is_empty());
    s.inbox_finish(got[0].id, "done", "applied", 600)
        .await
        .unwrap();
    s.inbox_retry(got[1].id, 5_000, "bank down").await.unwrap();
    assert!(s.inbox_claim(4_999, 10, 1_000).await.unwrap().is_empty());
    let again = s.inbox_claim(5_000, 10, 1_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].pay_token, "t2");
    assert_eq!(again[0].attempts, 2);
    // A crashed worker's lease expires and the item comes back.
    let back = s.inbox_claim(6_001, 10, 1_000).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(s.inbox_depth().await.unwrap(), 1);
    assert_eq!(
        s.inbox_get("S1", "t1").await.unwrap(),
        Some(("done".to_string(), Some("applied".to_string())))
    );
    // Claim one item by token.
    s.inbox_insert_batch(&[("S1".into(), "t3".into(), "return")], 7_000)
        .await
        .unwrap();
    let one = s
        .inbox_claim_token("S1", "t3", 7_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.source, "return");
    assert!(
        s.inbox_claim_token("S1", "t3", 7_001, 1_000)
            .await
            .unwrap()
            .is_none()
    );
}
on_both!(inbox_dedup_claim_lease, super::inbox);

async fn concurrent_claims(s: &Store) {
    let items: Vec<_> = (0..200)
        .map(|i| ("S1".to_string(), format!("t{i}"), "backend"))
        .collect();
    s.inbox_insert_batch(&items, 1).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s.inbox_claim(10, 7, 60_000).await.unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|i| i.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "an item was claimed twice");
    assert_eq!(n, 200);
}
on_both!(concurrent_claims_are_disjoint, super::concurrent_claims);

async fn reconcile(s: &Store) {
    for (i, t) in [(0, 100), (1, 200), (2, 300)] {
        let mut o = new_order(&format!("A{i}"), "A");
        o.next_reconcile_at = t;
        s.insert_order(&o, t).await.unwrap().unwrap();
    }
    // Created before 250 and due by 1000: A0, A1.
    let got = s.reconcile_claim(1_000, 250, 10, 500).await.unwrap();
    assert_eq!(
        got.iter().map(|o| o.order_no.as_str()).collect::<Vec<_>>(),
        ["A0", "A1"]
    );
    assert!(
        s.reconcile_claim(1_000, 250, 10, 500)
            .await
            .unwrap()
            .is_empty()
    );
    s.reconcile_release(got[0].id, 1, 5_000, Some("not found"), false)
        .await
        .unwrap();
    s.reconcile_release(got[1].id, 5, 1_000, Some("gave up"), true)
        .await
        .unwrap();
    // A1 is under review; A0 not due yet.
    assert!(
        s.reconcile_claim(1_600, 250, 10, 500)
            .await
            .unwrap()
            .is_empty()
    );
    let f = OrderFilter {
        needs_review: true,
        ..OrderFilter::default()
    };
    let review = s.list_orders(&f).await.unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].last_error.as_deref(), Some("gave up"));
    // A paid order is no longer pending.
    let paid = Observation::PayResult { success: true };
    s.apply("NA0249_001", "A0", &paid, "callback", &meta(false), 2_000)
        .await
        .unwrap();
    assert!(
        s.reconcile_claim(9_000, 250, 10, 500)
            .await
            .unwrap()
            .is_empty()
    );
    // A transition clears the review flag.
    s.apply("NA0249_001", "A1", &paid, "callback", &meta(false), 2_000)
        .await
        .unwrap();
    assert!(s.list_orders(&f).await.unwrap().is_empty());
}
on_both!(reconcile_claims_pending_past_grace, super::reconcile);

async fn outbox(s: &Store) {
    let o = s
        .insert_order(&new_order("A1", "A"), 10)
        .await
        .unwrap()
        .unwrap();
    let paid = Observation::PayResult { success: true };
    s.apply("NA0249_001", "A1", &paid, "callback", &meta(true), 20)
        .await
        .unwrap();
    let got = s.outbox_claim(20, 10, 1_000).await.unwrap();
    assert_eq!(got.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(&got[0].payload).unwrap();
    assert_eq!(payload["to"], "paid");
    assert_eq!(payload["order_no"], "A1");
    s.outbox_record(&got[0], 30, Some(500), None, 3, "pending", 100)
        .await
        .unwrap();
    assert!(s.outbox_claim(99, 10, 1_000).await.unwrap().is_empty());
    let again = s.outbox_claim(100, 10, 1_000).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    s.outbox_record(&again[0], 110, Some(200), None, 2, "delivered", 110)
        .await
        .unwrap();
    let attempts = s.outbox_attempts(o.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].http_status, Some(500));
    assert_eq!(attempts[1].state, "delivered");
    assert_eq!(
        s.outbox_counts().await.unwrap(),
        vec![("delivered".to_string(), 1)]
    );
}
on_both!(outbox_attempts_recorded, super::outbox);

async fn batches_and_token_lookup(s: &Store) {
    use sinopac_server::store::ApplyItem;
    for i in 0..3 {
        s.insert_order(&new_order(&format!("B{i}"), "A"), 10)
            .await
            .unwrap()
            .unwrap();
    }
    let paid = Observation::PayResult { success: true };
    let items: Vec<ApplyItem> = ["B0", "B1", "nope", "B0"]
        .iter()
        .map(|no| ApplyItem {
            shop_no: "NA0249_001".into(),
            order_no: (*no).into(),
            obs: paid.clone(),
            meta: ObservationMeta {
                pay_token: Some(format!("tok-{no}")),
                ..meta(true)
            },
        })
        .collect();
    let out = s.apply_batch(&items, "reconcile", 20).await.unwrap();
    assert_eq!(out.len(), 4);
    assert!(out[0].as_ref().unwrap().event_id.is_some());
    assert!(out[1].as_ref().unwrap().event_id.is_some());
    assert!(out[2].is_none());
    assert!(
        out[3].as_ref().unwrap().event_id.is_none(),
        "same order twice in a batch: one transition"
    );
    assert_eq!(s.count_events().await.unwrap(), 2);
    let o = s
        .order_by_pay_token("NA0249_001", "tok-B1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.order_no, "B1");
    assert!(
        s.order_by_pay_token("NA0249_001", "tok-B2")
            .await
            .unwrap()
            .is_none()
    );
    let b2 = s.get_order("NA0249_001", "B2").await.unwrap().unwrap();
    s.reconcile_release_batch(&[(b2.id, 3, 99, Some("x".into()), true)])
        .await
        .unwrap();
    let b2 = s.get_order("NA0249_001", "B2").await.unwrap().unwrap();
    assert_eq!(
        (
            b2.reconcile_attempts,
            b2.needs_review,
            b2.last_error.as_deref()
        ),
        (3, 1, Some("x"))
    );
    let counts = s.count_by_state().await.unwrap();
    assert_eq!(
        counts,
        vec![
            ("awaiting_transfer".to_string(), 1),
            ("paid".to_string(), 2)
        ]
    );
}
on_both!(
    batches_and_token_lookup_work,
    super::batches_and_token_lookup
);
