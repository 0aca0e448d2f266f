//! The reconciler: finds orders still pending past a grace period and asks the bank.
//!
//! One cycle ([`try_once`]) claims due pending orders, groups them per shop and asks the bank
//! with ONE window-splitting `OrderQuery` over their order-date range (not one call per order;
//! `sinopac-http`'s `query_all` splits windows under the 300-row cap). Orders the query did not
//! settle fall back to `OrderPayQuery` when a PayToken is known. The reconciler never expires or
//! cancels an order on its own: only a bank PayStatus moves it. Failures (bank down, order not
//! found at the bank) consume the order's retry budget with exponential backoff and jitter;
//! an order that exhausts it is flagged `needs_review` (visible in the API and the report).
//! "Still pending" at the bank is not a failure: the order is looked at again later.
//!
//! [`report`] compares our orders with the bank's over a date range and lists the
//! differences (paid but not recorded, amount mismatch, expired but paid, …).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sinopac_proto::{
    BankTime, OrderListItem, OrderQueryRequest, PayStatus, PayToken, PayType, ShopNo, Status,
};

use crate::bank::{BankError, timed};
use crate::secrets::random_unit;
use crate::state::{Observation, OrderState};
use crate::store::{ApplyItem, ObservationMeta, OrderFilter, OrderRow, Store, StoreError};
use crate::worker::{Deps, backoff, ms};

/// What one reconcile cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileRun {
    /// Orders examined.
    pub examined: usize,
    /// Orders whose state changed (callbacks we missed).
    pub corrected: usize,
    /// Orders the bank still reports as pending (or authorised, not captured).
    pub still_pending: usize,
    /// Orders whose check failed this time (retry later).
    pub failed: usize,
    /// Orders that exhausted their budget and now need review.
    pub needs_review: usize,
    /// `OrderQuery` calls made.
    pub query_calls: u64,
    /// `OrderPayQuery` calls made.
    pub pay_query_calls: u64,
}

fn to_bank_time(ms: i64) -> Option<BankTime> {
    BankTime::from_unix_seconds(ms.div_euclid(1000))
}

/// Runs one reconcile cycle at `now` (Unix ms).
///
/// # Errors
/// [`StoreError`] if the store fails (bank failures are recorded per order).
pub async fn try_once(deps: &Deps, now: i64) -> Result<ReconcileRun, StoreError> {
    let s = &deps.settings;
    let orders = deps
        .store
        .reconcile_claim(
            now,
            now - ms(s.reconcile_grace),
            s.reconcile_batch,
            ms(s.lease),
        )
        .await?;
    let mut run = ReconcileRun {
        examined: orders.len(),
        ..ReconcileRun::default()
    };
    if orders.is_empty() {
        deps.metrics
            .inc("sinopac_reconcile_runs_total", "result=\"idle\"");
        return Ok(run);
    }
    let mut by_shop: BTreeMap<String, Vec<OrderRow>> = BTreeMap::new();
    for o in orders {
        by_shop.entry(o.shop_no.clone()).or_default().push(o);
    }
    for (shop, orders) in by_shop {
        reconcile_shop(deps, now, &shop, orders, &mut run).await?;
    }
    deps.metrics
        .inc("sinopac_reconcile_runs_total", "result=\"ok\"");
    deps.metrics.add(
        "sinopac_reconcile_drift_total",
        "kind=\"missed_callback\"",
        u64::try_from(run.corrected).unwrap_or(0),
    );
    deps.metrics.add(
        "sinopac_reconcile_drift_total",
        "kind=\"needs_review\"",
        u64::try_from(run.needs_review).unwrap_or(0),
    );
    Ok(run)
}

async fn reconcile_shop(
    deps: &Deps,
    now: i64,
    shop: &str,
    orders: Vec<OrderRow>,
    run: &mut ReconcileRun,
) -> Result<(), StoreError> {
    let s = &deps.settings;
    let margin = ms(s.reconcile_window_margin);
    let min = orders.iter().map(|o| o.created_at).min().unwrap_or(now);
    let max = orders.iter().map(|o| o.created_at).max().unwrap_or(now);
    // One window-splitting OrderQuery over the whole range.
    let listed: Result<HashMap<String, OrderListItem>, String> = match (
        ShopNo::new(shop),
        to_bank_time(min - margin),
        to_bank_time(max + margin),
    ) {
        (Ok(shop_no), Some(from), Some(to)) => {
            match OrderQueryRequest::by_order_date(shop_no, from, to) {
                Err(_) => Err("invalid time window".to_owned()),
                Ok(req) => match timed(&deps.metrics, "OrderQuery", deps.bank.query_all(req)).await
                {
                    Ok(r) => {
                        run.query_calls += r.calls;
                        Ok(r.items
                            .into_iter()
                            .map(|i| (i.order_no.as_str().to_owned(), i))
                            .collect())
                    }
                    Err(e) => {
                        run.query_calls += 1;
                        Err(format!("OrderQuery failed: {}", e.label()))
                    }
                },
            }
        }
        _ => Err("invalid shop or time window".to_owned()),
    };
    // Decide what the bank said about every order (no writes yet).
    let mut plans: Vec<(OrderRow, Plan)> = Vec::with_capacity(orders.len());
    for order in orders {
        let plan = match &listed {
            Ok(map) => match map.get(&order.order_no) {
                Some(item) => plan_item(deps, &order, item),
                None => fallback(deps, &order, run, "not found at the bank").await,
            },
            Err(why) => fallback(deps, &order, run, why).await,
        };
        plans.push((order, plan));
    }
    // Apply every observation in one transaction.
    let items: Vec<ApplyItem> = plans
        .iter()
        .filter_map(|(o, p)| match p {
            Plan::Observe { obs, meta, .. } => Some(ApplyItem {
                shop_no: o.shop_no.clone(),
                order_no: o.order_no.clone(),
                obs: obs.clone(),
                meta: meta.clone(),
            }),
            Plan::Failed(_) => None,
        })
        .collect();
    let mut applied = deps
        .store
        .apply_batch(&items, "reconcile", now)
        .await?
        .into_iter();
    let mut releases = Vec::with_capacity(plans.len());
    for (order, plan) in plans {
        let verdict = match plan {
            Plan::Failed(why) => Err(why),
            Plan::Observe { unknown_code, .. } => match applied.next().flatten() {
                None => Err("order vanished".to_owned()),
                Some(a) => {
                    if a.event_id.is_some() {
                        run.corrected += 1;
                        deps.metrics.inc(
                            "sinopac_transitions_total",
                            &format!("source=\"reconcile\",to=\"{}\"", a.order.state),
                        );
                    }
                    match unknown_code {
                        Some(code) => Err(format!("unknown PayStatus {code}")),
                        None => Ok(a
                            .order
                            .state()
                            .map(|st| st.is_pending() || st == OrderState::Authorized)?),
                    }
                }
            },
        };
        match verdict {
            Ok(pending) => {
                if pending {
                    run.still_pending += 1;
                }
                releases.push((order.id, 0, now + ms(s.reconcile_recheck), None, false));
            }
            Err(why) => {
                run.failed += 1;
                let attempt = order.reconcile_attempts + 1;
                let exhausted = attempt >= i64::from(s.reconcile_budget);
                if exhausted {
                    run.needs_review += 1;
                    tracing::warn!(order_no = %order.order_no, reason = %why, "order needs review");
                }
                let delay = backoff(
                    u32::try_from(attempt).unwrap_or(u32::MAX),
                    s.reconcile_retry_base,
                    s.reconcile_retry_max,
                    random_unit(),
                );
                releases.push((order.id, attempt, now + ms(delay), Some(why), exhausted));
            }
        }
    }
    deps.store.reconcile_release_batch(&releases).await?;
    Ok(())
}

enum Plan {
    Observe {
        obs: Observation,
        meta: ObservationMeta,
        unknown_code: Option<String>,
    },
    Failed(String),
}

fn plan_item(deps: &Deps, order: &OrderRow, item: &OrderListItem) -> Plan {
    if item.amount != order.amount_value() {
        return Plan::Failed(format!(
            "amount mismatch at the bank: {} != {}",
            item.amount.minor(),
            order.amount
        ));
    }
    if item.pay_type != PayType::parse(&order.pay_type) {
        return Plan::Failed("pay type mismatch at the bank".into());
    }
    Plan::Observe {
        obs: Observation::PayStatus {
            status: item.pay_status.clone(),
            refunded: item.refund_amount,
        },
        meta: ObservationMeta {
            bank_pay_status: Some(item.pay_status.as_str().to_owned()),
            paid_at: item.pay_date.map(|t| t.unix_minutes() * 60_000),
            detail: Some("reconciler: OrderQuery".into()),
            notify: deps.notify,
            ..ObservationMeta::default()
        },
        unknown_code: (!item.pay_status.is_known()).then(|| item.pay_status.as_str().to_owned()),
    }
}

async fn fallback(deps: &Deps, order: &OrderRow, run: &mut ReconcileRun, why: &str) -> Plan {
    let (Some(token), Ok(shop)) = (
        order
            .pay_token
            .as_deref()
            .and_then(|t| PayToken::new(t).ok()),
        ShopNo::new(order.shop_no.as_str()),
    ) else {
        return Plan::Failed(why.to_owned());
    };
    run.pay_query_calls += 1;
    let reply = match timed(
        &deps.metrics,
        "OrderPayQuery",
        deps.bank.pay_query(&shop, &token),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return Plan::Failed(format!("{why}; OrderPayQuery: {}", e.label())),
    };
    let Some(ts) = reply
        .ts_result_content
        .filter(|_| reply.status == Status::Success)
    else {
        return Plan::Failed(format!("{why}; OrderPayQuery refused"));
    };
    if ts.order_no.as_ref().map(|o| o.as_str()) != Some(order.order_no.as_str())
        || ts.amount != Some(order.amount_value())
        || ts.shop_no.as_ref().is_some_and(|s| s != &shop)
    {
        return Plan::Failed(format!("{why}; OrderPayQuery mismatch"));
    }
    Plan::Observe {
        obs: Observation::PayResult {
            success: ts.status == Some(Status::Success),
        },
        meta: ObservationMeta {
            detail: Some("reconciler: OrderPayQuery".into()),
            paid_at: ts.pay_date.map(|t| t.unix_minutes() * 60_000),
            notify: deps.notify,
            ..ObservationMeta::default()
        },
        unknown_code: None,
    }
}

/// One difference between our records and the bank's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// `paid_not_recorded`, `amount_mismatch`, `expired_but_paid`, `unknown_at_bank`,
    /// `unknown_locally`, `status_mismatch`, `unknown_bank_status`, `needs_review`.
    pub kind: String,
    /// ShopNo.
    pub shop_no: String,
    /// OrderNo.
    pub order_no: String,
    /// Our state, if we have the order.
    pub our_state: Option<String>,
    /// The bank's PayStatus, if it has the order.
    pub bank_pay_status: Option<String>,
    /// Our amount.
    pub our_amount: Option<i64>,
    /// The bank's amount.
    pub bank_amount: Option<i64>,
}

/// The reconciliation report over a date range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Start of the range (Unix ms, inclusive).
    pub from: i64,
    /// End of the range (Unix ms, exclusive).
    pub to: i64,
    /// Orders we hold in the range.
    pub our_orders: usize,
    /// Orders the bank listed.
    pub bank_orders: usize,
    /// `OrderQuery` calls made.
    pub query_calls: u64,
    /// Count per kind.
    pub summary: BTreeMap<String, usize>,
    /// Every difference.
    pub discrepancies: Vec<Discrepancy>,
    /// Shops whose bank query failed.
    pub errors: Vec<String>,
}

/// Builds the reconciliation report for orders created in `[from, to)` (Unix ms).
///
/// # Errors
/// [`StoreError`] from the store (bank failures are listed in `errors`).
pub async fn report(deps: &Deps, from: i64, to: i64) -> Result<Report, StoreError> {
    let mut rep = Report {
        from,
        to,
        ..Report::default()
    };
    let shops = deps.store.list_shops().await?;
    for shop in shops {
        let ours = list_all(
            &deps.store,
            OrderFilter {
                shop_no: Some(shop.shop_no.clone()),
                created_from: Some(from),
                created_to: Some(to),
                limit: 1000,
                ..OrderFilter::default()
            },
        )
        .await?;
        rep.our_orders += ours.len();
        let margin = ms(deps.settings.reconcile_window_margin);
        let (Ok(shop_no), Some(f), Some(t)) = (
            ShopNo::new(shop.shop_no.as_str()),
            to_bank_time(from - margin),
            to_bank_time(to + margin),
        ) else {
            rep.errors
                .push(format!("{}: invalid shop or range", shop.shop_no));
            continue;
        };
        let Ok(req) = OrderQueryRequest::by_order_date(shop_no, f, t) else {
            rep.errors.push(format!("{}: invalid range", shop.shop_no));
            continue;
        };
        let bank = match timed(&deps.metrics, "OrderQuery", deps.bank.query_all(req)).await {
            Ok(r) => r,
            Err(e) => {
                rep.errors
                    .push(format!("{}: {}", shop.shop_no, bank_err_text(&e)));
                continue;
            }
        };
        rep.query_calls += bank.calls;
        let mut bank_map: HashMap<String, OrderListItem> = bank
            .items
            .into_iter()
            .map(|i| (i.order_no.as_str().to_owned(), i))
            .collect();
        for o in &ours {
            let item = bank_map.remove(&o.order_no);
            let ev_expired_paid = if o.state == "paid" {
                deps.store
                    .events(o.id)
                    .await?
                    .iter()
                    .any(|e| e.from_state == "expired" && e.to_state == "paid")
            } else {
                false
            };
            for kind in classify(o, item.as_ref(), ev_expired_paid) {
                rep.discrepancies.push(Discrepancy {
                    kind: kind.to_owned(),
                    shop_no: o.shop_no.clone(),
                    order_no: o.order_no.clone(),
                    our_state: Some(o.state.clone()),
                    bank_pay_status: item.as_ref().map(|i| i.pay_status.as_str().to_owned()),
                    our_amount: Some(o.amount),
                    bank_amount: item
                        .as_ref()
                        .map(|i| i64::try_from(i.amount.minor()).unwrap_or(-1)),
                });
            }
        }
        rep.bank_orders += bank_map.len() + ours.len();
        for (no, item) in bank_map {
            // Orders from the margin around the range are not ours to judge unless we know them.
            if deps.store.get_order(&shop.shop_no, &no).await?.is_none() {
                let in_range = item.ts_date.is_none_or(|t| {
                    let m = t.unix_minutes() * 60_000;
                    m >= from - 60_000 && m < to + 60_000
                });
                if in_range {
                    rep.discrepancies.push(Discrepancy {
                        kind: "unknown_locally".into(),
                        shop_no: shop.shop_no.clone(),
                        order_no: no,
                        our_state: None,
                        bank_pay_status: Some(item.pay_status.as_str().to_owned()),
                        our_amount: None,
                        bank_amount: Some(i64::try_from(item.amount.minor()).unwrap_or(-1)),
                    });
                }
            }
        }
    }
    for d in &rep.discrepancies {
        *rep.summary.entry(d.kind.clone()).or_insert(0) += 1;
    }
    Ok(rep)
}

fn bank_err_text(e: &BankError) -> String {
    match e {
        BankError::Rejected { code, .. } => format!("bank refused ({code})"),
        other => other.label().to_owned(),
    }
}

async fn list_all(store: &Store, mut f: OrderFilter) -> Result<Vec<OrderRow>, StoreError> {
    // Page backwards through created_at so big ranges are complete.
    let mut out: Vec<OrderRow> = Vec::new();
    loop {
        let page = store.list_orders(&f).await?;
        let n = page.len();
        let oldest = page.last().map(|o| o.created_at);
        for o in page {
            if !out.iter().rev().take(1000).any(|x| x.id == o.id) {
                out.push(o);
            }
        }
        match oldest {
            Some(t) if n >= usize::try_from(f.limit).unwrap_or(1000) => {
                // Include the boundary millisecond again; duplicates are filtered above.
                if f.created_to == Some(t + 1) {
                    break;
                }
                f.created_to = Some(t + 1);
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Classifies one of our orders against the bank's row (pure).
#[must_use]
pub fn classify(
    order: &OrderRow,
    bank: Option<&OrderListItem>,
    expired_then_paid: bool,
) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if order.needs_review != 0 {
        kinds.push("needs_review");
    }
    if expired_then_paid {
        kinds.push("expired_but_paid");
    }
    let ours = OrderState::parse(&order.state);
    let Some(item) = bank else {
        if ours != Some(OrderState::CreateFailed) {
            kinds.push("unknown_at_bank");
        }
        return kinds;
    };
    if item.amount != order.amount_value() {
        kinds.push("amount_mismatch");
    }
    if !item.pay_status.is_known() {
        kinds.push("unknown_bank_status");
        return kinds;
    }
    let bank_paid = item.pay_status.is_paid() || item.pay_status == PayStatus::CardRefunded;
    let ours_paid = ours
        .is_some_and(|s| s.is_paid() || matches!(s, OrderState::Refunded | OrderState::Authorized));
    if bank_paid && !ours_paid {
        if ours == Some(OrderState::Expired) {
            kinds.push("expired_but_paid");
        } else {
            kinds.push("paid_not_recorded");
        }
    } else if !bank_paid && ours_paid && item.pay_status != PayStatus::CardAuthorized {
        kinds.push("status_mismatch");
    } else if let Some(s) = ours {
        let expected_pending = matches!(
            item.pay_status,
            PayStatus::AtmPending | PayStatus::CardPending
        );
        if expected_pending != s.is_pending() && !bank_paid {
            kinds.push("status_mismatch");
        }
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(state: &str, amount: i64) -> OrderRow {
        OrderRow {
            id: 1,
            shop_no: "S".into(),
            order_no: "O1".into(),
            pay_type: "A".into(),
            amount,
            prdt_name: "x".into(),
            state: state.into(),
            bank_pay_status: None,
            ts_no: None,
            pay_token: None,
            atm_pay_no: None,
            card_pay_url: None,
            expire_date: None,
            refunded_amount: 0,
            needs_review: 0,
            paid_at: None,
            created_at: 0,
            updated_at: 0,
            version: 0,
            reconcile_attempts: 0,
            next_reconcile_at: 0,
            last_error: None,
        }
    }

    fn item(status: &str, amount: u64) -> OrderListItem {
        serde_json::from_value(serde_json::json!({
            "OrderNo": "O1", "Amount": amount, "PayType": "A", "PayStatus": status
        }))
        .unwrap()
    }

    #[test]
    fn classification() {
        assert!(classify(&order("paid", 100), Some(&item("1A400", 100)), false).is_empty());
        assert_eq!(
            classify(
                &order("awaiting_transfer", 100),
                Some(&item("1A400", 100)),
                false
            ),
            ["paid_not_recorded"]
        );
        assert_eq!(
            classify(&order("expired", 100), Some(&item("1A400", 100)), false),
            ["expired_but_paid"]
        );
        assert_eq!(
            classify(&order("paid", 100), Some(&item("1A400", 100)), true),
            ["expired_but_paid"]
        );
        assert_eq!(
            classify(&order("paid", 100), Some(&item("1A400", 999)), false),
            ["amount_mismatch"]
        );
        assert_eq!(
            classify(&order("paid", 100), Some(&item("1A200", 100)), false),
            ["status_mismatch"]
        );
        assert_eq!(
            classify(
                &order("awaiting_transfer", 100),
                Some(&item("1A777", 100)),
                false
            ),
            ["unknown_bank_status"]
        );
        assert_eq!(
            classify(&order("awaiting_transfer", 100), None, false),
            ["unknown_at_bank"]
        );
        assert!(classify(&order("create_failed", 100), None, false).is_empty());
        let mut r = order("awaiting_transfer", 100);
        r.needs_review = 1;
        assert_eq!(
            classify(&r, Some(&item("1A200", 100)), false),
            ["needs_review"]
        );
    }
}
