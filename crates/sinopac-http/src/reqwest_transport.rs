//! The default [`Transport`]: reqwest with rustls (ring), certificates always verified.

use std::fmt;
use std::time::Duration;

use crate::config::Timeouts;
use crate::transport::{
    BoxError, BoxFuture, Transport, TransportError, TransportRequest, TransportResponse,
};

/// The default transport: a pooled reqwest client with rustls. Certificate verification
/// cannot be turned off; an extra root CA can be added for a sandbox whose chain does not
/// validate (PROTOCOL.md §1.3).
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReqwestTransport")
    }
}

/// Builder of [`ReqwestTransport`].
#[derive(Debug, Default)]
pub struct ReqwestTransportBuilder {
    timeouts: Timeouts,
    roots: Vec<Vec<u8>>,
    pool_idle_timeout: Option<Duration>,
}

impl ReqwestTransportBuilder {
    /// Connect timeout from `timeouts.connect`; the per-request timeouts are taken from each
    /// [`TransportRequest`].
    #[must_use]
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Trusts one more root certificate (PEM), in addition to the built-in roots.
    #[must_use]
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.roots.push(pem.to_vec());
        self
    }

    /// How long idle pooled connections are kept (default 90 s).
    #[must_use]
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = Some(d);
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    /// If a root certificate does not parse or the TLS backend cannot be initialised.
    pub fn build(self) -> Result<ReqwestTransport, BoxError> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false)
            .connect_timeout(self.timeouts.connect)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("sinopac-http/", env!("CARGO_PKG_VERSION")));
        if let Some(d) = self.pool_idle_timeout {
            b = b.pool_idle_timeout(d);
        }
        for pem in &self.roots {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
        }
        Ok(ReqwestTransport { client: b.build()? })
    }
}

impl ReqwestTransport {
    /// A builder.
    #[must_use]
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// A transport with the given timeouts and the built-in roots.
    ///
    /// # Errors
    /// If the TLS backend cannot be initialised.
    pub fn new(timeouts: Timeouts) -> Result<Self, BoxError> {
        Self::builder().timeouts(timeouts).build()
    }

    async fn send_inner(&self, req: TransportRequest) -> Result<TransportResponse, TransportError> {
        let mut rb = self
            .client
            .post(&req.url)
            .timeout(req.timeout)
            .body(req.body);
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let resp = rb.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                TransportError::Timeout {
                    sent: true,
                    source: Some(Box::new(e)),
                }
            } else {
                TransportError::Interrupted(Box::new(e))
            }
        })?;
        Ok(TransportResponse {
            status,
            content_type,
            body: body.to_vec(),
        })
    }
}

/// Maps reqwest's errors onto "never sent" / "may have been sent".
fn classify(e: reqwest::Error) -> TransportError {
    if e.is_builder() {
        TransportError::Build(Box::new(e))
    } else if e.is_connect() {
        if e.is_timeout() {
            TransportError::Timeout {
                sent: false,
                source: Some(Box::new(e)),
            }
        } else {
            TransportError::Connect(Box::new(e))
        }
    } else if e.is_timeout() {
        TransportError::Timeout {
            sent: true,
            source: Some(Box::new(e)),
        }
    } else {
        TransportError::Interrupted(Box::new(e))
    }
}

impl Transport for ReqwestTransport {
    fn send(
        &self,
        req: TransportRequest,
    ) -> BoxFuture<'_, Result<TransportResponse, TransportError>> {
        Box::pin(self.send_inner(req))
    }
}
