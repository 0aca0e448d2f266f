//! The retry policy as a pure function: [`retry_decision`].
//!
//! * Reads ([`CallKind::Query`]) and nonce fetches retry with exponential backoff and full
//!   jitter, bounded by attempts and elapsed time.
//! * Order changes ([`CallKind::OrderCreate`], [`CallKind::OrderMaintain`]) retry only when the
//!   request certainly never reached the bank ([`Error::NotSent`]); when it may have, the
//!   decision is [`RetryDecision::Settle`]: ask the bank about the OrderNo first.

use std::time::Duration;

use sinopac_proto::ApiService;

use crate::error::Error;

/// Bounds of the retry loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most attempts per call, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff cap of the first retry; doubles per retry.
    pub base_delay: Duration,
    /// Largest backoff cap.
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt started.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 100 ms base, 2 s max delay, 20 s overall.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff cap before retry number `attempt` (`attempt` = attempts made so far, ≥ 1):
    /// `min(max_delay, base_delay × 2^(attempt-1))`.
    #[must_use]
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// What kind of call is being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallKind {
    /// A nonce fetch on its own.
    Nonce,
    /// A read-only service (`OrderQuery`, `OrderPayQuery`, `OrderUnCapturedQuery`,
    /// `BillQuery`, `AllotQuery`).
    Query,
    /// `OrderCreate`: never resent blindly.
    OrderCreate,
    /// `OrderMaintain`: never resent blindly.
    OrderMaintain,
}

impl CallKind {
    /// The kind of a service.
    #[must_use]
    pub fn of(service: &ApiService) -> Self {
        match service {
            ApiService::OrderCreate => Self::OrderCreate,
            ApiService::OrderMaintain => Self::OrderMaintain,
            _ => Self::Query,
        }
    }

    /// `true` for order changes.
    #[must_use]
    pub fn changes_orders(self) -> bool {
        matches!(self, Self::OrderCreate | Self::OrderMaintain)
    }
}

/// The outcome of [`retry_decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Try again after this delay, with a fresh nonce.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Do not resend: the request may have changed an order. Ask the bank (OrderQuery by
    /// OrderNo) what happened.
    Settle,
    /// Stop and return the error.
    GiveUp,
}

/// Bank codes in a sealed `Status: F` reply that mean the bank refused the *envelope* (stale or
/// reused nonce) without processing the request, so a fresh attempt is safe.
///
/// These are the simulator's documented codes (`E9102` unknown nonce, `E9103` expired,
/// `E9104` already used, `E9105` issued to another shop or X-KeyID, e.g. across a key
/// rotation); the real bank's are unpublished (PROTOCOL.md §14.1).
pub const NONCE_REJECTED_CODES: &[&str] = &["E9102", "E9103", "E9104", "E9105"];

/// Decides whether to retry after `attempt` attempts (≥ 1) failed with `error`, `elapsed`
/// after the first attempt started. `jitter` is a uniform random number in `[0, 1)` (passed in
/// so the function is pure): the delay is `jitter × min(max_delay, base × 2^(attempt-1))`
/// ("full jitter").
///
/// ```
/// use std::time::Duration;
/// use sinopac_http::{retry_decision, CallKind, Error, RetryDecision, RetryPolicy, Stage};
/// use sinopac_proto::ApiService;
/// let policy = RetryPolicy::default();
/// let timeout = Error::MaybeSent {
///     service: ApiService::OrderCreate, order_no: None, attempts: 1,
///     detail: String::new(), source: "timed out".into(),
/// };
/// // An OrderCreate that may have reached the bank is never resent blindly.
/// assert_eq!(retry_decision(&policy, CallKind::OrderCreate, 1, &timeout, Duration::ZERO, 0.5),
///            RetryDecision::Settle);
/// // A query in the same situation is retried after a jittered backoff.
/// assert_eq!(retry_decision(&policy, CallKind::Query, 1, &timeout, Duration::ZERO, 0.5),
///            RetryDecision::Retry { after: Duration::from_millis(50) });
/// ```
#[must_use]
pub fn retry_decision(
    policy: &RetryPolicy,
    kind: CallKind,
    attempt: u32,
    error: &Error,
    elapsed: Duration,
    jitter: f64,
) -> RetryDecision {
    let resend_safe = match error {
        Error::NotSent { .. } => true,
        Error::MaybeSent { .. } | Error::InvalidReply { .. } => {
            if kind.changes_orders() {
                return RetryDecision::Settle;
            }
            true
        }
        Error::Bank { code, .. } => NONCE_REJECTED_CODES.contains(&code.as_str()),
        _ => false,
    };
    if !resend_safe || attempt >= policy.max_attempts {
        return RetryDecision::GiveUp;
    }
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let after = policy.backoff_cap(attempt).mul_f64(jitter);
    match elapsed.checked_add(after) {
        Some(t) if t <= policy.max_elapsed => RetryDecision::Retry { after },
        _ => RetryDecision::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ReplyProblem, Stage, msg};

    fn not_sent() -> Error {
        Error::NotSent {
            service: ApiService::OrderCreate,
            stage: Stage::Order,
            attempts: 1,
            source: msg("refused"),
        }
    }
    fn maybe(service: ApiService) -> Error {
        Error::MaybeSent {
            service,
            order_no: None,
            attempts: 1,
            detail: String::new(),
            source: msg("timeout"),
        }
    }
    fn bank(code: &str) -> Error {
        Error::Bank {
            service: ApiService::OrderQuery,
            code: code.into(),
            description: String::new(),
        }
    }

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_elapsed: Duration::from_secs(10),
    };

    #[test]
    fn backoff_is_exponential_and_capped() {
        assert_eq!(P.backoff_cap(1), Duration::from_millis(100));
        assert_eq!(P.backoff_cap(2), Duration::from_millis(200));
        assert_eq!(P.backoff_cap(3), Duration::from_millis(400));
        assert_eq!(P.backoff_cap(4), Duration::from_millis(800));
        assert_eq!(P.backoff_cap(5), Duration::from_secs(1));
        assert_eq!(P.backoff_cap(200), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_scales_the_cap() {
        let e = maybe(ApiService::OrderQuery);
        for (jitter, ms) in [(0.0, 0), (0.25, 100), (0.999_999, 399)] {
            match retry_decision(&P, CallKind::Query, 3, &e, Duration::ZERO, jitter) {
                RetryDecision::Retry { after } => assert_eq!(after.as_millis(), ms),
                other => panic!("{other:?}"),
            }
        }
        // Out-of-range jitter is clamped, NaN treated as 0.
        assert_eq!(
            retry_decision(&P, CallKind::Query, 1, &e, Duration::ZERO, 7.0),
            RetryDecision::Retry {
                after: Duration::from_millis(100)
            }
        );
        assert_eq!(
            retry_decision(&P, CallKind::Query, 1, &e, Duration::ZERO, f64::NAN),
            RetryDecision::Retry {
                after: Duration::ZERO
            }
        );
    }

    #[test]
    fn bounded_by_attempts_and_elapsed() {
        let e = not_sent();
        assert_eq!(
            retry_decision(&P, CallKind::Query, 5, &e, Duration::ZERO, 0.5),
            RetryDecision::GiveUp
        );
        assert!(matches!(
            retry_decision(&P, CallKind::Query, 4, &e, Duration::ZERO, 0.5),
            RetryDecision::Retry { .. }
        ));
        assert_eq!(
            retry_decision(
                &P,
                CallKind::Query,
                2,
                &e,
                Duration::from_millis(9_950),
                1.0
            ),
            RetryDecision::GiveUp
        );
        assert_eq!(
            retry_decision(
                &RetryPolicy::none(),
                CallKind::Nonce,
                1,
                &e,
                Duration::ZERO,
                0.0
            ),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn order_changes_are_settled_not_resent() {
        for kind in [CallKind::OrderCreate, CallKind::OrderMaintain] {
            assert_eq!(
                retry_decision(
                    &P,
                    kind,
                    1,
                    &maybe(ApiService::OrderCreate),
                    Duration::ZERO,
                    0.5
                ),
                RetryDecision::Settle
            );
            let bad_reply = Error::InvalidReply {
                service: ApiService::OrderMaintain,
                problem: ReplyProblem::Html { http_status: 200 },
                source: None,
            };
            assert_eq!(
                retry_decision(&P, kind, 1, &bad_reply, Duration::ZERO, 0.5),
                RetryDecision::Settle
            );
            // Settling does not depend on the budget: even the last attempt is settled.
            assert_eq!(
                retry_decision(
                    &P,
                    kind,
                    99,
                    &maybe(ApiService::OrderCreate),
                    Duration::from_secs(99),
                    0.5
                ),
                RetryDecision::Settle
            );
            // Never sent: resending is safe.
            assert!(matches!(
                retry_decision(&P, kind, 1, &not_sent(), Duration::ZERO, 0.5),
                RetryDecision::Retry { .. }
            ));
        }
    }

    #[test]
    fn bank_answers_are_final_except_nonce_rejections() {
        assert_eq!(
            retry_decision(&P, CallKind::Query, 1, &bank("E0602"), Duration::ZERO, 0.5),
            RetryDecision::GiveUp
        );
        for code in NONCE_REJECTED_CODES {
            assert!(matches!(
                retry_decision(
                    &P,
                    CallKind::OrderCreate,
                    1,
                    &bank(code),
                    Duration::ZERO,
                    0.5
                ),
                RetryDecision::Retry { .. }
            ));
        }
        let invalid = Error::Invalid(sinopac_proto::ValidationError::new(
            "Amount",
            sinopac_proto::Problem::Missing,
        ));
        assert_eq!(
            retry_decision(&P, CallKind::Query, 1, &invalid, Duration::ZERO, 0.5),
            RetryDecision::GiveUp
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn error_of(i: u8) -> Error {
            match i % 5 {
                0 => not_sent(),
                1 => maybe(ApiService::OrderQuery),
                2 => maybe(ApiService::OrderCreate),
                3 => bank("E0201"),
                _ => bank("E9103"),
            }
        }

        fn any_kind() -> impl Strategy<Value = CallKind> {
            prop_oneof![
                Just(CallKind::Nonce),
                Just(CallKind::Query),
                Just(CallKind::OrderCreate),
                Just(CallKind::OrderMaintain),
            ]
        }

        proptest! {
            #[test]
            fn decisions_respect_the_bounds(
                kind in any_kind(),
                error_idx in 0u8..5,
                attempt in 1u32..10,
                elapsed_ms in 0u64..15_000,
                jitter in 0.0f64..1.0,
            ) {
                let error = error_of(error_idx);
                let elapsed = Duration::from_millis(elapsed_ms);
                let d = retry_decision(&P, kind, attempt, &error, elapsed, jitter);
                match d {
                    RetryDecision::Retry { after } => {
                        prop_assert!(attempt < P.max_attempts);
                        prop_assert!(after <= P.backoff_cap(attempt));
                        prop_assert!(after <= P.max_delay);
                        prop_assert!(elapsed + after <= P.max_elapsed);
                        // An order change is resent only when it certainly was not processed.
                        if kind.changes_orders() {
                            prop_assert!(!error.outcome_unknown());
                        }
                    }
                    RetryDecision::Settle => {
                        prop_assert!(kind.changes_orders());
                        prop_assert!(error.outcome_unknown());
                    }
                    RetryDecision::GiveUp => {}
                }
                // Same inputs, same answer (pure).
                prop_assert_eq!(d, retry_decision(&P, kind, attempt, &error, elapsed, jitter));
            }
        }
    }
}
