//! The HTTP seam: a small object-safe [`Transport`] trait (request bytes in, response out).
//!
//! The client never talks to a socket directly. The default implementation is
//! [`ReqwestTransport`](crate::ReqwestTransport) (feature `reqwest`); tests and in-process
//! simulators plug a closure through [`transport_fn`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, `Send` future (what [`Transport::send`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed error that keeps its `source()` chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One HTTP POST the client wants sent.
///
/// Headers carry the `X-KeyID` secret, so `Debug` shows header names only.
#[derive(Clone)]
pub struct TransportRequest {
    /// Absolute URL (`{base}Nonce` or `{base}Order`).
    pub url: String,
    /// Request headers (`Content-Type`, `X-KeyID`, …).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Whole-request timeout for this call (the client also enforces it around the transport).
    pub timeout: Duration,
}

impl TransportRequest {
    /// The value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last path segment of the URL (`Nonce` or `Order`).
    #[must_use]
    pub fn endpoint(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or_default()
    }
}

impl fmt::Debug for TransportRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TransportRequest")
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What came back: status, content type and body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl TransportResponse {
    /// A `200 application/json` response.
    #[must_use]
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: Some("application/json; charset=utf-8".to_owned()),
            body: body.into(),
        }
    }
}

/// Why a transport could not deliver a request or read its reply.
///
/// The split that matters to callers is [`TransportError::may_have_been_sent`]: a connect
/// failure never reached the bank; a timeout or reset after the request was written may have.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection could not be established (DNS, refused, TLS handshake): never sent.
    #[error("could not connect")]
    Connect(#[source] BoxError),
    /// The request could not be built or the URL is invalid: never sent.
    #[error("the request could not be built")]
    Build(#[source] BoxError),
    /// No reply within the timeout. `sent` says whether the request may have been written.
    #[error("timed out{}", if *.sent { " after the request may have been sent" } else { " before the request was sent" })]
    Timeout {
        /// `true` if the request may have reached the server.
        sent: bool,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The connection failed after the request may have been written (reset, body read error).
    #[error("the connection failed after the request may have been sent")]
    Interrupted(#[source] BoxError),
}

impl TransportError {
    /// `true` unless the request certainly never left this process.
    #[must_use]
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Build(_) => false,
            Self::Timeout { sent, .. } => *sent,
            Self::Interrupted(_) => true,
        }
    }

    /// A connect failure from any error.
    pub fn connect(e: impl Into<BoxError>) -> Self {
        Self::Connect(e.into())
    }

    /// A failure after sending, from any error.
    pub fn interrupted(e: impl Into<BoxError>) -> Self {
        Self::Interrupted(e.into())
    }
}

/// Sends one HTTP POST. Object-safe: the client holds an `Arc<dyn Transport>`.
///
/// Implementations must verify TLS certificates, must not retry on their own (the client
/// decides), and should classify failures with [`TransportError`] so that "never sent" and
/// "may have been sent" stay apart.
pub trait Transport: Send + Sync + 'static {
    /// Sends `req` and returns the response, whatever its status.
    fn send(
        &self,
        req: TransportRequest,
    ) -> BoxFuture<'_, Result<TransportResponse, TransportError>>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(
        &self,
        req: TransportRequest,
    ) -> BoxFuture<'_, Result<TransportResponse, TransportError>> {
        (**self).send(req)
    }
}

/// A [`Transport`] made from a closure; see [`transport_fn`].
pub struct FnTransport<F>(F);

impl<F> fmt::Debug for FnTransport<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnTransport")
    }
}

impl<F, Fut> Transport for FnTransport<F>
where
    F: Fn(TransportRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TransportResponse, TransportError>> + Send + 'static,
{
    fn send(
        &self,
        req: TransportRequest,
    ) -> BoxFuture<'_, Result<TransportResponse, TransportError>> {
        Box::pin((self.0)(req))
    }
}

/// Turns any `Fn(TransportRequest) -> impl Future<Output = Result<TransportResponse,
/// TransportError>>` into a [`Transport`] (test doubles, an in-process simulator router, …).
///
/// ```
/// use std::sync::Arc;
/// use sinopac_http::{transport_fn, Transport, TransportResponse};
/// let t: Arc<dyn Transport> = Arc::new(transport_fn(|req| async move {
///     assert!(req.url.ends_with("Nonce"));
///     Ok(TransportResponse::json(r#"{"Nonce":"abc"}"#))
/// }));
/// # let _ = t;
/// ```
pub fn transport_fn<F, Fut>(f: F) -> FnTransport<F>
where
    F: Fn(TransportRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TransportResponse, TransportError>> + Send + 'static,
{
    FnTransport(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let io = || std::io::Error::other("x");
        assert!(!TransportError::connect(io()).may_have_been_sent());
        assert!(TransportError::interrupted(io()).may_have_been_sent());
        assert!(
            !TransportError::Timeout {
                sent: false,
                source: None
            }
            .may_have_been_sent()
        );
        assert!(
            TransportError::Timeout {
                sent: true,
                source: None
            }
            .may_have_been_sent()
        );
    }

    #[test]
    fn debug_hides_header_values() {
        let req = TransportRequest {
            url: "http://x/api/Order".into(),
            headers: vec![("X-KeyID".into(), "secret-key-id".into())],
            body: vec![],
            timeout: Duration::from_secs(1),
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("secret-key-id"), "{shown}");
        assert_eq!(req.endpoint(), "Order");
        assert_eq!(req.header("x-keyid"), Some("secret-key-id"));
    }
}
