//! Shop notifications: every state change is queued in the outbox (in the same transaction as
//! the change) and POSTed to the configured URL, signed, retried with backoff; every attempt
//! is recorded.
//!
//! Signature: header `X-Sinopac-Timestamp: <unix seconds>` and
//! `X-Sinopac-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The receiver
//! recomputes it, compares in constant time and rejects stale timestamps
//! ([`verify_signature`] does all three).

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::bank::BoxFut;
use crate::secrets::{hex_lower, random_unit};
use crate::store::{OutboxItem, StoreError};
use crate::worker::{Deps, backoff, ms, now_ms};

/// Header carrying the Unix timestamp (seconds) of a notification.
pub const TIMESTAMP_HEADER: &str = "X-Sinopac-Timestamp";
/// Header carrying the signature `v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Sinopac-Signature";

/// `v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
#[must_use]
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex_lower(&mac.finalize().into_bytes()))
}

/// Verifies a notification: signature matches (constant time) and the timestamp is within
/// `tolerance` of `now` (both Unix seconds). A Rust shop can use it as is:
///
/// ```
/// use sinopac_server::outbox::{sign, verify_signature};
/// let body = br#"{"order_no":"A1001","to":"paid"}"#;
/// let sig = sign(b"secret", 1_700_000_000, body); // what the server sends
/// assert!(verify_signature(b"secret", 1_700_000_000, body, &sig, 1_700_000_030, 300));
/// assert!(!verify_signature(b"secret", 1_700_000_000, b"{}", &sig, 1_700_000_030, 300));
/// ```
#[must_use]
pub fn verify_signature(
    secret: &[u8],
    timestamp: i64,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance: i64,
) -> bool {
    let expected = sign(secret, timestamp, body);
    (now - timestamp).abs() <= tolerance
        && !expected.is_empty()
        && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
}

/// The HTTP result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The shop answered with this status.
    Status(u16),
    /// No answer (connect error, timeout).
    Error(String),
}

/// How notifications are sent (reqwest in production; anything in tests).
pub trait Notifier: Send + Sync + 'static {
    /// POSTs `body` with `headers`.
    fn post<'a>(
        &'a self,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> BoxFut<'a, Delivery>;
}

/// Sends notifications with reqwest (rustls) to one URL.
#[derive(Debug, Clone)]
pub struct HttpNotifier {
    client: reqwest::Client,
    url: String,
}

impl HttpNotifier {
    /// A notifier posting to `url` with a 10-second timeout.
    ///
    /// # Errors
    /// [`reqwest::Error`] if the client cannot be built.
    pub fn new(url: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            url: url.to_owned(),
        })
    }
}

impl Notifier for HttpNotifier {
    fn post<'a>(
        &'a self,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> BoxFut<'a, Delivery> {
        Box::pin(async move {
            let mut req = self
                .client
                .post(&self.url)
                .header("Content-Type", "application/json");
            for (k, v) in headers {
                req = req.header(k, v);
            }
            match req.body(body).send().await {
                Ok(r) => Delivery::Status(r.status().as_u16()),
                Err(e) => Delivery::Error(if e.is_timeout() {
                    "timeout".into()
                } else if e.is_connect() {
                    "connect failed".into()
                } else {
                    "request failed".into()
                }),
            }
        })
    }
}

/// What one outbox run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxRun {
    /// Notifications attempted.
    pub attempted: usize,
    /// Delivered (2xx).
    pub delivered: usize,
    /// Scheduled for another attempt.
    pub retried: usize,
    /// Given up after the maximum attempts.
    pub failed: usize,
}

/// Sends due notifications once.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn try_once(
    deps: &Deps,
    notifier: &dyn Notifier,
    secret: &[u8],
    now: i64,
) -> Result<OutboxRun, StoreError> {
    let s = &deps.settings;
    let items = deps
        .store
        .outbox_claim(now, s.outbox_batch, ms(s.lease))
        .await?;
    let mut run = OutboxRun::default();
    for item in items {
        run.attempted += 1;
        let result = deliver(notifier, secret, &item).await;
        let (status, error, ok) = match &result.0 {
            Delivery::Status(c) => (Some(*c), None, (200..300).contains(c)),
            Delivery::Error(e) => (None, Some(e.as_str()), false),
        };
        let attempts = u32::try_from(item.attempts).unwrap_or(u32::MAX);
        let (state, next) = if ok {
            run.delivered += 1;
            ("delivered", now)
        } else if attempts >= s.outbox_max_attempts {
            run.failed += 1;
            ("failed", now)
        } else {
            run.retried += 1;
            let d = backoff(
                attempts,
                s.outbox_retry_base,
                s.outbox_retry_max,
                random_unit(),
            );
            ("pending", now + ms(d))
        };
        deps.metrics.inc(
            "sinopac_outbox_deliveries_total",
            &format!("result=\"{}\"", if ok { "delivered" } else { state }),
        );
        deps.store
            .outbox_record(
                &item,
                now_ms().max(now),
                status,
                error,
                result.1,
                state,
                next,
            )
            .await?;
    }
    Ok(run)
}

async fn deliver(notifier: &dyn Notifier, secret: &[u8], item: &OutboxItem) -> (Delivery, i64) {
    let ts = now_ms() / 1000;
    let sig = sign(secret, ts, item.payload.as_bytes());
    let headers = vec![
        (TIMESTAMP_HEADER, ts.to_string()),
        (SIGNATURE_HEADER, sig),
        ("X-Sinopac-Event-Id", item.event_id.to_string()),
    ];
    let start = Instant::now();
    let d = notifier.post(headers, item.payload.clone()).await;
    (d, ms(start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip() {
        let sig = sign(b"secret", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("v1="));
        assert_eq!(sig.len(), 3 + 64);
        assert!(verify_signature(
            b"secret",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_100,
            300
        ));
        assert!(!verify_signature(
            b"secret",
            1_700_000_000,
            b"{\"a\":2}",
            &sig,
            1_700_000_000,
            300
        ));
        assert!(!verify_signature(
            b"other",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_000,
            300
        ));
        assert!(!verify_signature(
            b"secret",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_001_000,
            300
        ));
    }

    #[test]
    fn known_hmac_vector() {
        // RFC 4231 test case 2 style check of the construction: key "key", message "0.x".
        let s = sign(b"key", 0, b"x");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"0.x");
        assert_eq!(s, format!("v1={}", hex_lower(&mac.finalize().into_bytes())));
    }
}
