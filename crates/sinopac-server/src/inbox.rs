//! The durable callback inbox: group-committed writes, then asynchronous processing.
//!
//! A BackendURL callback is acknowledged only after its `(ShopNo, PayToken)` row is committed.
//! [`InboxWriter`] is a single task that takes every pending callback off a channel, inserts
//! the whole batch in one transaction (one fsync for the lot) and then answers each request —
//! group commit. Duplicates (same ShopNo and PayToken) are acknowledged positively and not
//! processed again.
//!
//! [`try_once`] claims due items and processes each: `OrderPayQuery` with the PayToken (the
//! callback body is only a hint), then the verified answer's ShopNo, OrderNo and Amount must
//! match an order of ours, and only then is an idempotent transition applied. A bank that is
//! down or a reply that does not verify leaves the item in the inbox with a backoff; nothing is
//! dropped.

use std::time::Duration;

use futures::StreamExt as _;
use sinopac_proto::{PayToken, PayType, ShopNo, Status};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::bank::{BankError, timed};
use crate::metrics::Metrics;
use crate::secrets::random_unit;
use crate::state::{Observation, OrderState};
use crate::store::{InboxItem, ObservationMeta, Store, StoreError};
use crate::worker::{Deps, backoff, ms, now_ms};

/// Where a callback came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackSource {
    /// BackendURL (server to server).
    Backend,
    /// ReturnURL (the buyer's browser).
    Return,
}

impl CallbackSource {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backend => "backend",
            Self::Return => "return",
        }
    }
}

/// The inbox write could not be made durable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The database failed; the callback was not stored (answer non-2xx so the bank retries).
    #[error("callback could not be stored")]
    Store(#[source] StoreError),
    /// The writer task has stopped (shutting down).
    #[error("inbox writer is not running")]
    Stopped,
}

struct Pending {
    shop_no: String,
    pay_token: String,
    source: &'static str,
    done: oneshot::Sender<Result<bool, String>>,
}

/// Handle to the group-commit writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct InboxWriter {
    tx: mpsc::Sender<Pending>,
    wake: Arc<Notify>,
}

/// Most callbacks committed in one transaction.
pub const MAX_BATCH: usize = 512;

impl InboxWriter {
    /// Starts the writer task on the current runtime. It stops when every handle is dropped,
    /// after committing what it already received.
    #[must_use]
    pub fn spawn(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Pending>(8 * MAX_BATCH);
        let wake = Arc::new(Notify::new());
        let wake_worker = Arc::clone(&wake);
        let handle = tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let items: Vec<(String, String, &'static str)> = batch
                    .iter()
                    .map(|p| (p.shop_no.clone(), p.pay_token.clone(), p.source))
                    .collect();
                let result = store.inbox_insert_batch(&items, now_ms()).await;
                match result {
                    Ok(news) => {
                        if news.iter().any(|n| *n) {
                            wake_worker.notify_one();
                        }
                        for (p, new) in batch.drain(..).zip(news) {
                            let _ = p.done.send(Ok(new));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, n = batch.len(), "inbox batch commit failed");
                        for p in batch.drain(..) {
                            let _ = p.done.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        (Self { tx, wake }, handle)
    }

    /// Notified after new callbacks are committed (the inbox worker waits on it).
    #[must_use]
    pub fn wake_handle(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Stores a callback durably; `Ok(true)` if new, `Ok(false)` if already known.
    ///
    /// # Errors
    /// [`InboxError`] if it could not be committed.
    pub async fn record(
        &self,
        shop_no: &ShopNo,
        pay_token: &PayToken,
        source: CallbackSource,
    ) -> Result<bool, InboxError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending {
                shop_no: shop_no.as_str().to_owned(),
                pay_token: pay_token.as_str().to_owned(),
                source: source.as_str(),
                done,
            })
            .await
            .map_err(|_| InboxError::Stopped)?;
        match wait.await {
            Ok(Ok(new)) => Ok(new),
            Ok(Err(e)) => Err(InboxError::Store(StoreError::Corrupt(e))),
            Err(_) => Err(InboxError::Stopped),
        }
    }
}

/// What processing one inbox item did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// The bank confirmed and the observation was applied.
    Applied {
        /// The order.
        order_no: String,
        /// State before.
        from: OrderState,
        /// State after.
        to: OrderState,
        /// `true` if a transition was recorded (false for duplicates).
        transition: bool,
    },
    /// The callback was refused for good (forged token, unknown order, mismatch).
    Rejected(String),
    /// A transient failure; it will be retried.
    Retry(String),
}

/// Counts of one [`try_once`] run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxRun {
    /// Items claimed.
    pub claimed: usize,
    /// Items applied (with or without a transition).
    pub applied: usize,
    /// Transitions recorded.
    pub transitions: usize,
    /// Items rejected.
    pub rejected: usize,
    /// Items left for a retry.
    pub retried: usize,
}

/// Claims due inbox items and processes them concurrently.
///
/// # Errors
/// [`StoreError`] if the claim fails (per-item failures are recorded on the items).
pub async fn try_once(deps: &Deps, now: i64) -> Result<InboxRun, StoreError> {
    let items = deps
        .store
        .inbox_claim(now, deps.settings.inbox_batch, ms(deps.settings.lease))
        .await?;
    let mut run = InboxRun {
        claimed: items.len(),
        ..InboxRun::default()
    };
    let outcomes: Vec<Result<ItemOutcome, StoreError>> = futures::stream::iter(items)
        .map(|item| async move { process_and_record(deps, &item, now).await })
        .buffer_unordered(deps.settings.inbox_concurrency.max(1))
        .collect()
        .await;
    for o in outcomes {
        match o? {
            ItemOutcome::Applied { transition, .. } => {
                run.applied += 1;
                run.transitions += usize::from(transition);
            }
            ItemOutcome::Rejected(_) => run.rejected += 1,
            ItemOutcome::Retry(_) => run.retried += 1,
        }
    }
    Ok(run)
}

/// Processes one claimed item and records the result on it (done, rejected, or retry later).
///
/// # Errors
/// [`StoreError`] if recording fails (the lease then expires and the item is retried).
pub async fn process_and_record(
    deps: &Deps,
    item: &InboxItem,
    now: i64,
) -> Result<ItemOutcome, StoreError> {
    let outcome = process(deps, item).await?;
    let done_at = now_ms().max(now);
    match &outcome {
        ItemOutcome::Applied {
            from,
            to,
            transition,
            order_no,
        } => {
            let text = if *transition {
                format!("applied {order_no}: {from} -> {to}")
            } else {
                format!("no change {order_no}: {to}")
            };
            deps.store
                .inbox_finish(item.id, "done", &text, done_at)
                .await?;
            deps.metrics
                .inc("sinopac_inbox_processed_total", "outcome=\"applied\"");
        }
        ItemOutcome::Rejected(why) => {
            tracing::warn!(inbox_id = item.id, reason = %why, "callback rejected");
            deps.store
                .inbox_finish(item.id, "rejected", why, done_at)
                .await?;
            deps.metrics
                .inc("sinopac_inbox_processed_total", "outcome=\"rejected\"");
        }
        ItemOutcome::Retry(why) => {
            let attempt = u32::try_from(item.attempts).unwrap_or(u32::MAX);
            let delay = backoff(
                attempt,
                deps.settings.inbox_retry_base,
                deps.settings.inbox_retry_max,
                random_unit(),
            );
            tracing::info!(inbox_id = item.id, attempt, reason = %why, "callback will be retried");
            deps.store
                .inbox_retry(item.id, now + ms(delay), why)
                .await?;
            deps.metrics
                .inc("sinopac_inbox_processed_total", "outcome=\"retry\"");
        }
    }
    Ok(outcome)
}

fn bank_failure(e: &BankError) -> ItemOutcome {
    if e.is_transient() {
        ItemOutcome::Retry(format!("bank: {}", e.label()))
    } else {
        match e {
            BankError::Rejected { code, .. } => {
                ItemOutcome::Rejected(format!("bank refused the token: {code}"))
            }
            BankError::UnknownShop => ItemOutcome::Rejected("unknown shop".into()),
            _ => ItemOutcome::Retry(format!("bank: {}", e.label())),
        }
    }
}

/// Verifies one callback with the bank and applies it. Never trusts the callback body beyond
/// using its PayToken as a question to the bank.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn process(deps: &Deps, item: &InboxItem) -> Result<ItemOutcome, StoreError> {
    let (Ok(shop), Ok(token)) = (
        ShopNo::new(item.shop_no.as_str()),
        PayToken::new(item.pay_token.as_str()),
    ) else {
        return Ok(ItemOutcome::Rejected("malformed callback".into()));
    };
    let reply = match timed(
        &deps.metrics,
        "OrderPayQuery",
        deps.bank.pay_query(&shop, &token),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return Ok(bank_failure(&e)),
    };
    if reply.status != Status::Success {
        return Ok(ItemOutcome::Rejected(format!(
            "OrderPayQuery status {}",
            reply.status
        )));
    }
    if reply.shop_no.as_ref().is_some_and(|s| s != &shop) {
        return Ok(ItemOutcome::Rejected("mismatch: reply ShopNo".into()));
    }
    let Some(ts) = reply.ts_result_content else {
        return Ok(ItemOutcome::Rejected("reply has no TSResultContent".into()));
    };
    if ts.shop_no.as_ref().is_some_and(|s| s != &shop) {
        return Ok(ItemOutcome::Rejected("mismatch: ShopNo".into()));
    }
    let Some(order_no) = ts.order_no.clone() else {
        return Ok(ItemOutcome::Rejected("reply has no OrderNo".into()));
    };
    let Some(order) = deps
        .store
        .get_order(shop.as_str(), order_no.as_str())
        .await?
    else {
        return Ok(ItemOutcome::Rejected(format!(
            "mismatch: unknown order {order_no}"
        )));
    };
    if ts.amount != Some(order.amount_value()) {
        return Ok(ItemOutcome::Rejected(format!(
            "mismatch: amount {} != {} for {order_no}",
            ts.amount
                .map_or(-1, |a| i64::try_from(a.minor()).unwrap_or(-1)),
            order.amount
        )));
    }
    let pay_type = PayType::parse(&order.pay_type);
    if ts.pay_type.as_ref().is_some_and(|p| p != &pay_type) {
        return Ok(ItemOutcome::Rejected("mismatch: PayType".into()));
    }
    let success = ts.status == Some(Status::Success);
    let source = match item.source.as_str() {
        "return" => "return",
        _ => "callback",
    };
    // A card payment may be authorised only or already captured (AutoBilling=Y): the order's
    // PayStatus says which, so ask for it and apply the most precise observation once.
    let mut obs = Observation::PayResult { success };
    let mut bank_pay_status = None;
    if success && pay_type != PayType::Atm {
        match timed(
            &deps.metrics,
            "OrderQuery",
            deps.bank.find_order(&shop, &order_no),
        )
        .await
        {
            Ok(Some(row)) if row.amount == order.amount_value() && row.pay_status.is_known() => {
                bank_pay_status = Some(row.pay_status.as_str().to_owned());
                if row.pay_status != sinopac_proto::PayStatus::CardPending {
                    obs = Observation::PayStatus {
                        status: row.pay_status,
                        refunded: row.refund_amount,
                    };
                }
            }
            Ok(_) => {}
            Err(e) if e.is_transient() => {
                return Ok(ItemOutcome::Retry(format!("bank: {}", e.label())));
            }
            Err(_) => {}
        }
    }
    let meta = ObservationMeta {
        bank_pay_status,
        pay_token: Some(token.as_str().to_owned()),
        paid_at: ts.pay_date.map(|t| t.unix_minutes() * 60_000),
        detail: ts.ts_no.clone().map(|t| format!("TSNo={t}")),
        notify: deps.notify,
    };
    let applied = deps
        .store
        .apply(
            shop.as_str(),
            order_no.as_str(),
            &obs,
            source,
            &meta,
            now_ms(),
        )
        .await?;
    let Some(applied) = applied else {
        return Ok(ItemOutcome::Rejected("order vanished".into()));
    };
    let transition = applied.event_id.is_some();
    if transition {
        deps.metrics.inc(
            "sinopac_transitions_total",
            &format!("source=\"{source}\",to=\"{}\"", applied.order.state),
        );
    }
    Ok(ItemOutcome::Applied {
        order_no: order_no.into_string(),
        from: applied.from,
        to: applied.order.state()?,
        transition,
    })
}

/// How long the inbox loop waits when there was nothing to do.
pub const IDLE_POLL: Duration = Duration::from_secs(1);

/// Records metrics for a received callback.
pub fn count_callback(metrics: &Metrics, source: CallbackSource, result: &str) {
    metrics.inc(
        "sinopac_callbacks_total",
        &format!("endpoint=\"{}\",result=\"{result}\"", source.as_str()),
    );
}
