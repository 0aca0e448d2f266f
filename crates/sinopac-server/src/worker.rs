//! What the background workers share, backoff, and the loop that drives a `try_once`.
//!
//! Every worker (inbox processor, reconciler, outbox sender) is a `try_once(&deps, now)`
//! function that does one bounded unit of work and reports what it did; tests call it directly
//! with any `now`. [`run_loop`] calls it repeatedly until shutdown, finishing the unit in
//! flight before it returns.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, watch};

use crate::bank::Bank;
use crate::metrics::Metrics;
use crate::store::Store;

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Tunables of the background workers.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Inbox items claimed per `try_once`.
    pub inbox_batch: u32,
    /// Inbox items processed concurrently.
    pub inbox_concurrency: usize,
    /// How long a claimed item is leased before another worker may take it.
    pub lease: Duration,
    /// First inbox retry delay; doubles per attempt.
    pub inbox_retry_base: Duration,
    /// Inbox retry delay cap (items are retried forever: nothing is dropped).
    pub inbox_retry_max: Duration,
    /// Orders pending for less than this are left to the callbacks.
    pub reconcile_grace: Duration,
    /// Orders the reconciler claims per cycle.
    pub reconcile_batch: u32,
    /// After the bank says "still pending", look again after this long.
    pub reconcile_recheck: Duration,
    /// Failed reconcile attempts allowed before an order needs review.
    pub reconcile_budget: u32,
    /// First reconcile retry delay after a failure; doubles per attempt.
    pub reconcile_retry_base: Duration,
    /// Reconcile retry delay cap.
    pub reconcile_retry_max: Duration,
    /// Extra margin around the order-date window queried at the bank (clock skew).
    pub reconcile_window_margin: Duration,
    /// Outbox notifications claimed per `try_once`.
    pub outbox_batch: u32,
    /// Delivery attempts before a notification is marked failed.
    pub outbox_max_attempts: u32,
    /// First notification retry delay; doubles per attempt.
    pub outbox_retry_base: Duration,
    /// Notification retry delay cap.
    pub outbox_retry_max: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            inbox_batch: 64,
            inbox_concurrency: 16,
            lease: Duration::from_secs(60),
            inbox_retry_base: Duration::from_secs(5),
            inbox_retry_max: Duration::from_secs(15 * 60),
            reconcile_grace: Duration::from_secs(15 * 60),
            reconcile_batch: 5_000,
            reconcile_recheck: Duration::from_secs(30 * 60),
            reconcile_budget: 8,
            reconcile_retry_base: Duration::from_secs(60),
            reconcile_retry_max: Duration::from_secs(6 * 3600),
            reconcile_window_margin: Duration::from_secs(24 * 3600),
            outbox_batch: 32,
            outbox_max_attempts: 12,
            outbox_retry_base: Duration::from_secs(5),
            outbox_retry_max: Duration::from_secs(3600),
        }
    }
}

/// Everything a worker needs.
#[derive(Clone)]
pub struct Deps {
    /// The store.
    pub store: Store,
    /// The bank.
    pub bank: Arc<dyn Bank>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Tunables.
    pub settings: WorkerSettings,
    /// `true` when shop notifications are configured (state changes are queued in the outbox).
    pub notify: bool,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Exponential backoff with jitter, as a pure function: `base × 2^(attempt-1)` capped at
/// `max`, then scaled into `[½, 1]` of itself by `jitter` ∈ `[0, 1)` ("equal jitter": spread
/// out, never near zero).
#[must_use]
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let raw = base.saturating_mul(1u32 << exp).min(max);
    raw.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Milliseconds of a duration as i64.
#[must_use]
pub fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Calls `step` until `shutdown` turns true. `step` returns how long to wait before the next
/// call (zero = there is more work now). A step in flight is always finished.
pub async fn run_loop<F, Fut>(name: &'static str, shutdown: watch::Receiver<bool>, step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Duration>,
{
    run_loop_with_wake(name, shutdown, None, step).await;
}

/// As [`run_loop`], and a wait is cut short when `wake` is notified (the inbox writer does
/// this after committing new callbacks).
pub async fn run_loop_with_wake<F, Fut>(
    name: &'static str,
    mut shutdown: watch::Receiver<bool>,
    wake: Option<Arc<Notify>>,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Duration>,
{
    tracing::debug!(worker = name, "started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let wait = step().await;
        if wait.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        let woken = async {
            match &wake {
                Some(n) => n.notified().await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = woken => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::debug!(worker = name, "stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let b = Duration::from_secs(1);
        let m = Duration::from_secs(60);
        assert!(backoff(1, b, m, 0.999) <= b);
        assert_eq!(backoff(1, b, m, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(3, b, m, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(40, b, m, 0.0), Duration::from_secs(30));
        assert!(backoff(40, b, m, 0.999) <= m);
        assert_eq!(backoff(0, b, m, 0.0), Duration::from_millis(500));
    }
}
