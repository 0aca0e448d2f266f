//! BackendURL notifications: how they are delivered ([`CallbackTransport`]) and the log of every
//! attempt ([`DeliveryAttempt`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sinopac_proto::{OrderNo, PayToken, ShopNo};

/// A boxed error from a callback transport.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The future a [`CallbackTransport`] returns.
pub type CallbackFuture = Pin<Box<dyn Future<Output = Result<CallbackReply, BoxError>> + Send>>;

/// One BackendURL notification to send: `POST url` with a JSON body
/// `{"ShopNo":…,"PayToken":…}` and `Content-Type: application/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// The order's BackendURL.
    pub url: String,
    /// The JSON body.
    pub body: String,
}

/// What the merchant answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReply {
    /// HTTP status.
    pub status: u16,
    /// Response body (the sim reads at most 64 KiB of it).
    pub body: Vec<u8>,
}

/// How the sim delivers BackendURL notifications. The default is real HTTP
/// ([`HttpTransport`]); tests plug a closure ([`callback_fn`]) or an in-process axum router
/// ([`RouterTransport`]).
pub trait CallbackTransport: Send + Sync + 'static {
    /// Sends one notification.
    fn deliver(&self, request: CallbackRequest) -> CallbackFuture;
}

/// A [`CallbackTransport`] from a closure.
struct FnTransport<F>(F);

impl<F, Fut> CallbackTransport for FnTransport<F>
where
    F: Fn(CallbackRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CallbackReply, BoxError>> + Send + 'static,
{
    fn deliver(&self, request: CallbackRequest) -> CallbackFuture {
        Box::pin((self.0)(request))
    }
}

/// Wraps a closure as a callback transport.
///
/// ```
/// use sinopac_sim::{callback_fn, CallbackReply};
/// let t = callback_fn(|req| async move {
///     assert!(req.body.contains("PayToken"));
///     Ok(CallbackReply { status: 200, body: br#"{"Status":"S"}"#.to_vec() })
/// });
/// # let _ = t;
/// ```
pub fn callback_fn<F, Fut>(f: F) -> Arc<dyn CallbackTransport>
where
    F: Fn(CallbackRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CallbackReply, BoxError>> + Send + 'static,
{
    Arc::new(FnTransport(f))
}

/// Delivers notifications over real HTTP with `reqwest` (rustls; certificates verified).
#[derive(Debug)]
pub struct HttpTransport {
    timeout: Duration,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl HttpTransport {
    /// A transport whose requests time out after `timeout`.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<reqwest::Client, BoxError> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(BoxError::from)
    }
}

impl CallbackTransport for HttpTransport {
    fn deliver(&self, request: CallbackRequest) -> CallbackFuture {
        let client = self.client();
        Box::pin(async move {
            let client = client?;
            let reply = client
                .post(&request.url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(request.body)
                .send()
                .await?;
            let status = reply.status().as_u16();
            let body = reply.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            Ok(CallbackReply {
                status,
                body: body.into_iter().take(64 * 1024).collect(),
            })
        })
    }
}

/// Delivers notifications to an in-process axum [`Router`](axum::Router): the URL's path and
/// query are kept, scheme and host are ignored.
#[derive(Clone)]
pub struct RouterTransport {
    router: axum::Router,
}

impl RouterTransport {
    /// Wraps a router (e.g. the merchant server's `app(state)`).
    #[must_use]
    pub fn new(router: axum::Router) -> Self {
        Self { router }
    }
}

impl std::fmt::Debug for RouterTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterTransport")
    }
}

fn path_of(url: &str) -> &str {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    match rest.find('/') {
        Some(i) if !url.starts_with('/') => rest.get(i..).unwrap_or("/"),
        _ if url.starts_with('/') => url,
        _ => "/",
    }
}

impl CallbackTransport for RouterTransport {
    fn deliver(&self, request: CallbackRequest) -> CallbackFuture {
        use tower::ServiceExt as _;
        let router = self.router.clone();
        Box::pin(async move {
            let req = http::Request::builder()
                .method(http::Method::POST)
                .uri(path_of(&request.url))
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(request.body))?;
            let reply = router.oneshot(req).await?;
            let status = reply.status().as_u16();
            let body = axum::body::to_bytes(reply.into_body(), 64 * 1024)
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            Ok(CallbackReply { status, body })
        })
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Kind")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The merchant acknowledged (HTTP 200, and `{"Status":"S"}` if
    /// [`crate::SimConfig::require_ack_body`]).
    Acked {
        /// HTTP status.
        #[serde(rename = "Status")]
        status: u16,
    },
    /// The merchant answered without acknowledging.
    NotAcked {
        /// HTTP status.
        #[serde(rename = "Status")]
        status: u16,
    },
    /// The request failed (connection refused, timeout…).
    Error {
        /// The error text.
        #[serde(rename = "Message")]
        message: String,
    },
    /// Not sent: a `Drop` fault.
    Dropped,
}

impl DeliveryOutcome {
    /// `true` for [`DeliveryOutcome::Acked`].
    #[must_use]
    pub fn is_acked(&self) -> bool {
        matches!(self, Self::Acked { .. })
    }
}

/// One logged BackendURL attempt (including dropped ones and duplicates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// The notification this attempt belongs to (one per payment event).
    #[serde(rename = "DeliveryId")]
    pub delivery_id: u64,
    /// Shop.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// Order.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// The PayToken in the body.
    #[serde(rename = "PayToken")]
    pub pay_token: PayToken,
    /// Where it was sent.
    #[serde(rename = "Url")]
    pub url: String,
    /// Attempt number, 1-based (1 = first send, then one per retry).
    #[serde(rename = "Attempt")]
    pub attempt: u32,
    /// Sim time of the attempt, seconds since the Unix epoch.
    #[serde(rename = "At")]
    pub at: i64,
    /// Sim time of the attempt, milliseconds since the Unix epoch.
    #[serde(rename = "AtMs")]
    pub at_ms: i64,
    /// `true` for the second copy sent by a `Duplicate` fault.
    #[serde(rename = "Duplicate", default)]
    pub duplicate: bool,
    /// What happened.
    #[serde(rename = "Outcome")]
    pub outcome: DeliveryOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_of_urls() {
        assert_eq!(path_of("http://shop.example/cb?x=1"), "/cb?x=1");
        assert_eq!(path_of("https://shop.example"), "/");
        assert_eq!(path_of("/cb"), "/cb");
    }

    #[test]
    fn outcome_json() {
        let o = DeliveryOutcome::NotAcked { status: 500 };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"Kind":"NotAcked","Status":500}"#
        );
    }
}
