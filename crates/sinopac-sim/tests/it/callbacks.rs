//! BackendURL notifications: retry schedule on the sim clock, acknowledgement, callback faults.

use std::time::Duration;

use sinopac_proto::CardParam;
use sinopac_sim::{DeliveryOutcome, Fault, FaultRule, Route, SimConfig};

use crate::support::*;

const MIN: i64 = 60_000;

#[tokio::test]
async fn retry_schedule_is_plus_0_10_20_30_40_minutes_then_stops() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| fail(500));
    h.create_atm("R1", 100).await;
    h.sim.pay_atm(&shop(), &ono("R1")).await.unwrap();
    let paid_ms = h.sim.now_ms();
    assert_eq!(log.lock().len(), 1, "attempt 1 goes out at once");
    h.sim.advance(Duration::from_secs(9 * 60 + 59)).await;
    assert_eq!(log.lock().len(), 1);
    h.sim.advance(Duration::from_secs(3 * 3600)).await;
    let times: Vec<i64> = log.lock().iter().map(|(t, _)| t - paid_ms).collect();
    assert_eq!(times, [0, 10 * MIN, 20 * MIN, 30 * MIN, 40 * MIN]);
    let d = h.sim.deliveries();
    assert_eq!(d.len(), 5);
    assert_eq!(
        d.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(
        d.iter()
            .all(|a| a.outcome == DeliveryOutcome::NotAcked { status: 500 })
    );
    assert_eq!(d[4].at_ms - d[0].at_ms, 40 * MIN);
    assert_eq!(
        h.sim.pending_events(),
        1,
        "only the ATM expiry timer is left"
    );
}

#[tokio::test]
async fn stops_on_acknowledgement() {
    let h = Harness::new();
    // Fail twice, then acknowledge.
    let log = h.record_callbacks(|n| if n < 2 { fail(503) } else { ack() });
    h.create_card("K1", 100, CardParam::auto_capture()).await;
    h.sim.pay_card(&shop(), &ono("K1"), true).await.unwrap();
    h.sim.advance(Duration::from_secs(86_400)).await;
    assert_eq!(log.lock().len(), 3);
    let d = h.sim.deliveries();
    assert_eq!(d[2].outcome, DeliveryOutcome::Acked { status: 200 });
    assert_eq!(d[2].at_ms - d[0].at_ms, 20 * MIN);
}

#[tokio::test]
async fn transport_errors_are_logged_and_retried() {
    let h = Harness::new();
    h.sim
        .set_callback_transport(sinopac_sim::callback_fn(|_req| async {
            Err::<sinopac_sim::CallbackReply, _>("connection refused".into())
        }));
    h.create_atm("E1", 100).await;
    h.sim.pay_atm(&shop(), &ono("E1")).await.unwrap();
    h.sim.advance(Duration::from_secs(3600)).await;
    let d = h.sim.deliveries();
    assert_eq!(d.len(), 5);
    assert!(
        matches!(&d[0].outcome, DeliveryOutcome::Error { message } if message.contains("refused"))
    );
}

#[tokio::test]
async fn ack_body_can_be_required() {
    let cfg = SimConfig {
        require_ack_body: true,
        ..quiet_config()
    };
    let h = Harness::with_config(cfg);
    let log = h.record_callbacks(|n| {
        if n == 0 {
            sinopac_sim::CallbackReply {
                status: 200,
                body: b"OK".to_vec(),
            }
        } else {
            ack()
        }
    });
    h.create_atm("AB1", 100).await;
    h.sim.pay_atm(&shop(), &ono("AB1")).await.unwrap();
    h.sim.advance(Duration::from_secs(3600)).await;
    assert_eq!(log.lock().len(), 2);
    let d = h.sim.deliveries();
    assert_eq!(d[0].outcome, DeliveryOutcome::NotAcked { status: 200 });
    assert!(d[1].outcome.is_acked());
}

#[tokio::test]
async fn dropped_attempts_are_logged_and_retried() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Drop).count(2));
    h.create_atm("DR1", 100).await;
    h.sim.pay_atm(&shop(), &ono("DR1")).await.unwrap();
    h.sim.advance(Duration::from_secs(3600)).await;
    let d = h.sim.deliveries();
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].outcome, DeliveryOutcome::Dropped);
    assert_eq!(d[1].outcome, DeliveryOutcome::Dropped);
    assert!(d[2].outcome.is_acked());
    assert_eq!(d[2].attempt, 3);
    assert_eq!(
        log.lock().len(),
        1,
        "dropped attempts never reach the merchant"
    );
}

#[tokio::test]
async fn duplicated_attempts_are_sent_twice() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Duplicate).count(1));
    h.create_atm("DU1", 100).await;
    h.sim.pay_atm(&shop(), &ono("DU1")).await.unwrap();
    h.sim.advance(Duration::from_secs(3600)).await;
    let calls = log.lock().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1, calls[1].1);
    let d = h.sim.deliveries();
    assert!(!d[0].duplicate && d[1].duplicate);
}

#[tokio::test]
async fn reordered_callbacks_arrive_after_later_ones() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Reorder).count(1));
    h.create_atm("RO1", 100).await;
    h.create_atm("RO2", 100).await;
    let t1 = h.sim.pay_atm(&shop(), &ono("RO1")).await.unwrap();
    assert_eq!(log.lock().len(), 0, "held back");
    let t2 = h.sim.pay_atm(&shop(), &ono("RO2")).await.unwrap();
    let bodies: Vec<String> = log.lock().iter().map(|(_, r)| r.body.clone()).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].contains(t2.as_str()), "later notification first");
    assert!(bodies[1].contains(t1.as_str()));

    // A held attempt with nothing after it is released after reorder_max_hold.
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Reorder).count(1));
    h.create_atm("RO3", 100).await;
    h.sim.pay_atm(&shop(), &ono("RO3")).await.unwrap();
    assert_eq!(log.lock().len(), 2);
    h.sim.advance(Duration::from_secs(60)).await;
    assert_eq!(log.lock().len(), 3);
}

#[tokio::test]
async fn late_callbacks_arrive_late() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    h.sim
        .add_fault(FaultRule::new(Route::Callback, Fault::Late { ms: 7 * 60_000 }).count(1));
    h.create_atm("L1", 100).await;
    h.sim.pay_atm(&shop(), &ono("L1")).await.unwrap();
    let paid = h.sim.now_ms();
    assert!(log.lock().is_empty());
    h.sim.advance(Duration::from_secs(3600)).await;
    let times: Vec<i64> = log.lock().iter().map(|(t, _)| t - paid).collect();
    assert_eq!(times, [7 * MIN], "acked late; the +10 retry is not needed");
}

#[tokio::test]
async fn no_backend_url_no_notification() {
    let h = Harness::new();
    let log = h.record_callbacks(|_| ack());
    let mut req = atm_request("NB1", 100, &h.sim);
    req.backend_url = None;
    h.call(&req).await;
    h.sim.pay_atm(&shop(), &ono("NB1")).await.unwrap();
    h.sim.advance(Duration::from_secs(3600)).await;
    assert!(log.lock().is_empty());
    assert!(h.sim.deliveries().is_empty());
}

#[tokio::test]
async fn router_transport_delivers_in_process() {
    use axum::routing::post;
    let got = std::sync::Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let g = got.clone();
    let merchant = axum::Router::new().route(
        "/backend",
        post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock().push(body);
                sinopac_proto::BACKEND_ACK
            }
        }),
    );
    let h = Harness::new();
    h.sim
        .set_callback_transport(std::sync::Arc::new(sinopac_sim::RouterTransport::new(
            merchant,
        )));
    h.create_atm("RT1", 100).await;
    let token = h.sim.pay_atm(&shop(), &ono("RT1")).await.unwrap();
    assert_eq!(got.lock().len(), 1);
    assert!(got.lock()[0].contains(token.as_str()));
    assert!(h.sim.deliveries()[0].outcome.is_acked());
}

#[tokio::test(start_paused = true)]
async fn a_merchant_that_never_answers_times_out() {
    let cfg = SimConfig {
        callback_timeout: Duration::from_secs(3),
        ..quiet_config()
    };
    let h = Harness::with_config(cfg);
    h.sim
        .set_callback_transport(sinopac_sim::callback_fn(|_req| async {
            std::future::pending::<Result<sinopac_sim::CallbackReply, sinopac_sim::BoxError>>()
                .await
        }));
    h.create_atm("TO1", 100).await;
    h.sim.pay_atm(&shop(), &ono("TO1")).await.unwrap();
    let d = h.sim.deliveries();
    assert_eq!(d.len(), 1);
    assert!(
        matches!(&d[0].outcome, DeliveryOutcome::Error { message } if message.contains("no answer"))
    );
}

#[tokio::test(start_paused = true)]
async fn time_scale_and_ticker_run_everything_without_anyone_advancing() {
    let cfg = SimConfig {
        time_scale: Some(60.0), // one (virtual) second = one sim minute
        atm_auto_pay_after: Some(Duration::from_secs(300)),
        ..quiet_config()
    };
    let h = Harness::with_config(cfg);
    let log = h.record_callbacks(|_| fail(500));
    h.create_atm("TS1", 100).await;
    // A tick period that does not divide the due time: effects still carry their own time.
    let ticker = h.sim.spawn_ticker(Duration::from_millis(70));
    // Paused tokio time: these sleeps are virtual and instant.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        h.sim.order(&shop(), &ono("TS1")).unwrap().pay_status,
        sinopac_proto::PayStatus::AtmPending
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let o = h.sim.order(&shop(), &ono("TS1")).unwrap();
    assert_eq!(o.pay_status, sinopac_proto::PayStatus::AtmPaid);
    assert_eq!(
        o.paid_at,
        Some(o.created_at + 300),
        "paid at its due time, not at the tick"
    );
    // Retries follow: 4 more at +10…+40 sim minutes = 40 virtual seconds.
    tokio::time::sleep(Duration::from_secs(45)).await;
    assert_eq!(log.lock().len(), 5);
    ticker.abort();
}
