//! Errors, split by what the caller can do next.

use std::fmt;

use sinopac_proto::{ApiService, BankTime, DateField, OrderNo, PayFlag, PayType, ValidationError};

use crate::transport::BoxError;

/// Which HTTP call of an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// `POST {base}Nonce`.
    Nonce,
    /// `POST {base}Order`.
    Order,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nonce => "Nonce",
            Self::Order => "Order",
        })
    }
}

/// What was wrong with a reply that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyProblem {
    /// An HTML page (the bank's WAF "Request Rejected", an error page of a proxy).
    Html {
        /// HTTP status of the page.
        http_status: u16,
    },
    /// An HTTP status the protocol does not use, with a body that is not a bank answer.
    HttpStatus(u16),
    /// The body is not JSON, or not the JSON shape expected.
    Malformed,
    /// The envelope's `ShopNo` or `APIService` (or the payload's `OrderNo`/`PayToken`) does not
    /// echo the request.
    EchoMismatch(&'static str),
    /// The message did not decrypt or its Sign did not verify (one opaque case on purpose).
    Rejected,
    /// The message is authentic but its payload does not fit the expected type.
    Payload,
    /// The reply reused the request's nonce or one already seen (a replayed reply).
    ReplayedNonce,
    /// The inner `Status` is neither `S` nor `F`.
    UnknownStatus(String),
}

impl fmt::Display for ReplyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Html { http_status } => write!(
                f,
                "an HTML page (HTTP {http_status}), e.g. the bank's WAF rejecting the request"
            ),
            Self::HttpStatus(s) => write!(f, "unexpected HTTP status {s}"),
            Self::Malformed => f.write_str("not the expected JSON"),
            Self::EchoMismatch(field) => write!(f, "{field} does not match the request"),
            Self::Rejected => f.write_str("the message did not decrypt or its Sign did not verify"),
            Self::Payload => f.write_str("the verified payload has an unexpected shape"),
            Self::ReplayedNonce => f.write_str("the reply reuses a nonce already seen"),
            Self::UnknownStatus(s) => write!(f, "unknown Status {s:?}"),
        }
    }
}

/// One `query_all` window: a time range on one date field, optionally narrowed by `PayType`
/// and `PayFlag`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryWindow {
    /// Which date the range is on.
    pub field: DateField,
    /// First minute (inclusive).
    pub start: BankTime,
    /// Last minute (inclusive).
    pub end: BankTime,
    /// The `PayType` condition of the window, if any.
    pub pay_type: Option<PayType>,
    /// The `PayFlag` condition of the window, if any.
    pub pay_flag: Option<PayFlag>,
}

impl fmt::Display for QueryWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = match self.field {
            DateField::Order => "order date",
            DateField::Pay => "pay date",
        };
        write!(f, "{field} {}..={}", self.start, self.end)?;
        if let Some(p) = &self.pay_type {
            write!(f, " PayType={p}")?;
        }
        if let Some(p) = &self.pay_flag {
            write!(f, " PayFlag={p}")?;
        }
        Ok(())
    }
}

/// Everything a call can fail with, split by what the caller can do next:
///
/// | variant | reached the bank? | what to do |
/// |---|---|---|
/// | [`Invalid`](Error::Invalid) | no | fix the request |
/// | [`NotSent`](Error::NotSent) | no | safe to retry |
/// | [`MaybeSent`](Error::MaybeSent) | maybe | outcome unknown: query before resending |
/// | [`InvalidReply`](Error::InvalidReply) | yes | outcome unknown for order changes |
/// | [`Bank`](Error::Bank) | yes | the bank said no (`Status: F`) |
/// | [`Refused`](Error::Refused) | yes | configuration: ShopNo, keys, X-KeyID |
///
/// The `source()` chain is kept (transport and decoding errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Our own validation refused the request; nothing was sent.
    #[error("invalid request: {0}")]
    Invalid(#[from] ValidationError),

    /// The request never reached the bank (connect refused, DNS, nonce fetch failed, …).
    /// Safe to retry.
    #[error("{service}: not sent ({stage} failed after {attempts} attempt(s))")]
    NotSent {
        /// The service called.
        service: ApiService,
        /// Which HTTP call failed.
        stage: Stage,
        /// Attempts made.
        attempts: u32,
        /// Why.
        #[source]
        source: BoxError,
    },

    /// The request may have reached the bank but no usable reply came back (timeout after
    /// sending, 5xx, connection reset). For `OrderCreate`/`OrderMaintain` the client has
    /// already asked the bank about the order; `detail` says what it tried and learned.
    #[error("{service}: outcome unknown{}: {detail}", order_no.as_ref().map(|o| format!(" for OrderNo {o}")).unwrap_or_default())]
    MaybeSent {
        /// The service called.
        service: ApiService,
        /// The order concerned, if any.
        order_no: Option<OrderNo>,
        /// Attempts made.
        attempts: u32,
        /// What was tried to settle the outcome.
        detail: String,
        /// The last failure.
        #[source]
        source: BoxError,
    },

    /// A reply arrived but could not be used: HTML (WAF), not JSON, wrong echo, failed
    /// decryption or Sign verification, unexpected payload.
    #[error("{service}: unusable reply: {problem}")]
    InvalidReply {
        /// The service called.
        service: ApiService,
        /// What was wrong.
        problem: ReplyProblem,
        /// The underlying decoding error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The bank answered `Status: F` inside a verified message.
    #[error("{service}: the bank refused: {code} {description}")]
    Bank {
        /// The service called.
        service: ApiService,
        /// The code part of `Description` (e.g. `E0602`), empty if none.
        code: String,
        /// The text part of `Description`.
        description: String,
    },

    /// The bank refused the call before processing it: HTTP 4xx with a plain JSON
    /// `{"Status":"F","Description":…}` (no Message), or an empty nonce. Usually a wrong
    /// ShopNo, wrong keys or an expired X-KeyID.
    #[error("{service}: refused at {stage} (HTTP {http_status}): {code} {description}")]
    Refused {
        /// The service called.
        service: ApiService,
        /// Which HTTP call was refused.
        stage: Stage,
        /// HTTP status.
        http_status: u16,
        /// The code part of `Description`, empty if none.
        code: String,
        /// The text part of `Description` (or our hint).
        description: String,
    },

    /// An order with this OrderNo exists at the bank but does not match the request (another
    /// order used the same OrderNo), found while settling an unknown `OrderCreate` outcome.
    #[error("OrderNo {order_no} already exists at the bank with different content")]
    OrderNoConflict {
        /// The OrderNo.
        order_no: OrderNo,
    },

    /// `query_all` could not get a window under the 300-row cap even at one minute, one
    /// `PayType` and one `PayFlag`. Nothing is silently truncated: the window is named.
    #[error("query window still at the row cap after every split: {window}")]
    QueryWindowTooDense {
        /// The window that is still capped.
        window: QueryWindow,
    },

    /// `query_all` got a capped answer for conditions without a date range and the rows do not
    /// come back in an order it can page through; add an order or pay date range.
    #[error("query has no date range to split and came back at the row cap")]
    QueryNeedsRange,
}

impl Error {
    /// `true` when sending the same request again is safe and may succeed: it never reached
    /// the bank ([`Error::NotSent`]), or it is a read-only query whose reply was lost or
    /// unusable.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NotSent { .. } => true,
            Self::MaybeSent { service, .. } | Self::InvalidReply { service, .. } => {
                is_read_only(service)
            }
            _ => false,
        }
    }

    /// `true` when the request may have reached the bank.
    #[must_use]
    pub fn may_have_been_sent(&self) -> bool {
        matches!(
            self,
            Self::MaybeSent { .. }
                | Self::InvalidReply { .. }
                | Self::Bank { .. }
                | Self::Refused { .. }
                | Self::OrderNoConflict { .. }
        )
    }

    /// `true` when the bank may have acted on the request and we do not know the result
    /// ([`Error::MaybeSent`] or [`Error::InvalidReply`]).
    #[must_use]
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::MaybeSent { .. } | Self::InvalidReply { .. })
    }

    /// The bank's error code for [`Error::Bank`] / [`Error::Refused`].
    #[must_use]
    pub fn bank_code(&self) -> Option<&str> {
        match self {
            Self::Bank { code, .. } | Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The service the error is about, if any.
    #[must_use]
    pub fn service(&self) -> Option<&ApiService> {
        match self {
            Self::NotSent { service, .. }
            | Self::MaybeSent { service, .. }
            | Self::InvalidReply { service, .. }
            | Self::Bank { service, .. }
            | Self::Refused { service, .. } => Some(service),
            _ => None,
        }
    }
}

/// Services that only read.
pub(crate) fn is_read_only(service: &ApiService) -> bool {
    !matches!(service, ApiService::OrderCreate | ApiService::OrderMaintain)
}

/// A plain message as an error source.
#[derive(Debug)]
pub(crate) struct Message(pub(crate) String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

pub(crate) fn msg(text: impl Into<String>) -> BoxError {
    Box::new(Message(text.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let not_sent = Error::NotSent {
            service: ApiService::OrderCreate,
            stage: Stage::Nonce,
            attempts: 1,
            source: msg("refused"),
        };
        assert!(not_sent.is_retryable());
        assert!(!not_sent.may_have_been_sent());

        let maybe_create = Error::MaybeSent {
            service: ApiService::OrderCreate,
            order_no: None,
            attempts: 1,
            detail: String::new(),
            source: msg("timeout"),
        };
        assert!(!maybe_create.is_retryable());
        assert!(maybe_create.may_have_been_sent());
        assert!(maybe_create.outcome_unknown());

        let maybe_query = Error::MaybeSent {
            service: ApiService::OrderQuery,
            order_no: None,
            attempts: 1,
            detail: String::new(),
            source: msg("timeout"),
        };
        assert!(maybe_query.is_retryable());

        let bank = Error::Bank {
            service: ApiService::OrderCreate,
            code: "E0602".into(),
            description: "收款方式未啟用".into(),
        };
        assert!(!bank.is_retryable());
        assert_eq!(bank.bank_code(), Some("E0602"));
        assert!(bank.to_string().contains("E0602"));
    }

    #[test]
    fn source_chain_is_kept() {
        let e = Error::NotSent {
            service: ApiService::OrderQuery,
            stage: Stage::Order,
            attempts: 3,
            source: Box::new(crate::transport::TransportError::connect(
                std::io::Error::other("connection refused"),
            )),
        };
        let mut chain = vec![e.to_string()];
        let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = cur {
            chain.push(s.to_string());
            cur = s.source();
        }
        assert_eq!(chain.len(), 3, "{chain:?}");
        assert!(chain[2].contains("connection refused"));
    }
}
