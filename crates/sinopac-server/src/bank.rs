//! What the server needs from the bank, as a small object-safe trait.
//!
//! [`crate::http_bank::HttpBank`] implements it with `sinopac-http` clients (one per shop,
//! built from the encrypted credentials in the store, rebuilt when a shop's keys rotate).
//! Tests can plug anything else.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use sinopac_proto::{
    OrderCreateRequest, OrderCreateResponse, OrderListItem, OrderMaintainRequest,
    OrderMaintainResponse, OrderNo, OrderPayQueryResponse, OrderQueryRequest, PayToken, ShopNo,
};

use crate::metrics::Metrics;

/// A boxed, sendable future.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a bank call failed, split by what the caller can do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BankError {
    /// The shop is not configured on this server.
    #[error("shop is not configured")]
    UnknownShop,
    /// The bank answered `Status: F`.
    #[error("the bank refused: {code} {description}")]
    Rejected {
        /// Error code (e.g. `E0602`).
        code: String,
        /// Description.
        description: String,
    },
    /// The request never reached the bank; safe to retry.
    #[error("request did not reach the bank")]
    NotSent(#[source] Source),
    /// The request may have reached the bank; outcome unknown.
    #[error("outcome unknown: the request may have reached the bank")]
    MaybeSent(#[source] Source),
    /// The reply did not parse or did not verify (tampered, WAF page, …).
    #[error("the bank's reply did not verify")]
    InvalidReply(#[source] Source),
    /// Our own configuration or input is wrong (bad keys, invalid request).
    #[error("configuration or request error")]
    Config(#[source] Source),
}

impl BankError {
    /// `true` for failures worth retrying later (not sent, unknown outcome, bad reply).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::NotSent(_) | Self::MaybeSent(_) | Self::InvalidReply(_)
        )
    }

    /// A short label for metrics and logs.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::UnknownShop => "unknown_shop",
            Self::Rejected { .. } => "rejected",
            Self::NotSent(_) => "not_sent",
            Self::MaybeSent(_) => "maybe_sent",
            Self::InvalidReply(_) => "invalid_reply",
            Self::Config(_) => "config",
        }
    }
}

/// All rows an `OrderQuery` range returned (after window splitting) and how many calls it took.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// Every matching order, de-duplicated.
    pub items: Vec<OrderListItem>,
    /// Number of `OrderQuery` calls made.
    pub calls: u64,
}

/// The bank operations the server uses.
pub trait Bank: Send + Sync + 'static {
    /// `OrderCreate` (the implementation settles unknown outcomes by querying the OrderNo).
    fn create_order<'a>(
        &'a self,
        req: &'a OrderCreateRequest,
    ) -> BoxFut<'a, Result<OrderCreateResponse, BankError>>;

    /// `OrderPayQuery`: resolve a PayToken (verified reply).
    fn pay_query<'a>(
        &'a self,
        shop: &'a ShopNo,
        token: &'a PayToken,
    ) -> BoxFut<'a, Result<OrderPayQueryResponse, BankError>>;

    /// `OrderQuery` by OrderNo.
    fn find_order<'a>(
        &'a self,
        shop: &'a ShopNo,
        order_no: &'a OrderNo,
    ) -> BoxFut<'a, Result<Option<OrderListItem>, BankError>>;

    /// `OrderQuery` over a range, split until every window is under the 300-row cap.
    fn query_all(&self, req: OrderQueryRequest) -> BoxFut<'_, Result<QueryResult, BankError>>;

    /// `OrderMaintain`: capture, void or refund.
    fn maintain<'a>(
        &'a self,
        req: &'a OrderMaintainRequest,
    ) -> BoxFut<'a, Result<OrderMaintainResponse, BankError>>;
}

/// Times a bank call into the metrics (`service` is the APIService name).
pub async fn timed<T>(
    metrics: &Metrics,
    service: &'static str,
    fut: impl Future<Output = Result<T, BankError>>,
) -> Result<T, BankError> {
    let start = Instant::now();
    let out = fut.await;
    let result = match &out {
        Ok(_) => "ok",
        Err(e) => e.label(),
    };
    metrics.bank_call(service, result, start.elapsed());
    out
}
