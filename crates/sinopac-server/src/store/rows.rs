//! Row types of the store.

use serde::Serialize;
use sinopac_proto::Amount;

/// A shop without its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopRow {
    /// ShopNo.
    pub shop_no: String,
    /// Incremented on every key rotation.
    pub cred_version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A new order to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// ShopNo.
    pub shop_no: String,
    /// OrderNo.
    pub order_no: String,
    /// `A` or `C`.
    pub pay_type: String,
    /// Amount.
    pub amount: Amount,
    /// Product name.
    pub prdt_name: String,
    /// ATM due date `yyyyMMdd`.
    pub expire_date: Option<String>,
    /// First time the reconciler may look at it (Unix ms).
    pub next_reconcile_at: i64,
}

/// Stores keep flags as integers (SQLite has no boolean); the API shows them as booleans.
fn int_as_bool<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(*v != 0)
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// ShopNo.
    pub shop_no: String,
    /// OrderNo.
    pub order_no: String,
    /// `A` / `C`.
    pub pay_type: String,
    /// Amount in 1/100 NTD.
    pub amount: i64,
    /// Product name.
    pub prdt_name: String,
    /// State name (see [`crate::state::OrderState`]).
    pub state: String,
    /// The bank's last PayStatus code, verbatim (unknown codes kept).
    pub bank_pay_status: Option<String>,
    /// The bank's transaction number.
    pub ts_no: Option<String>,
    /// The last PayToken seen.
    #[serde(skip)]
    pub pay_token: Option<String>,
    /// ATM virtual account.
    pub atm_pay_no: Option<String>,
    /// Card payment page.
    pub card_pay_url: Option<String>,
    /// ATM due date.
    pub expire_date: Option<String>,
    /// Refunded so far, 1/100 NTD.
    pub refunded_amount: i64,
    /// 1 when the reconciler gave up and a person must look (a JSON boolean in the API).
    #[serde(serialize_with = "int_as_bool")]
    pub needs_review: i64,
    /// When the money arrived (Unix ms).
    pub paid_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Incremented on every transition.
    pub version: i64,
    /// Reconciler attempts so far.
    pub reconcile_attempts: i64,
    /// Next reconciler look (Unix ms).
    #[serde(skip)]
    pub next_reconcile_at: i64,
    /// Last reconciler / creation error.
    pub last_error: Option<String>,
}

/// A state transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// Event id.
    pub id: i64,
    /// Order id.
    #[serde(skip)]
    pub order_id: i64,
    /// From state.
    pub from_state: String,
    /// To state.
    pub to_state: String,
    /// `callback`, `return`, `reconcile`, `api`.
    pub source: String,
    /// The bank's PayStatus, when known.
    pub bank_pay_status: Option<String>,
    /// Free text.
    pub detail: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// A claimed inbox item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// Id.
    pub id: i64,
    /// ShopNo from the callback (a hint).
    pub shop_no: String,
    /// PayToken from the callback (a hint).
    pub pay_token: String,
    /// `backend` or `return`.
    pub source: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// Unix ms.
    pub received_at: i64,
}

/// A claimed outbox notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Id.
    pub id: i64,
    /// Order id.
    pub order_id: i64,
    /// Event id.
    pub event_id: i64,
    /// JSON body.
    pub payload: String,
    /// Attempts including this one.
    pub attempts: i64,
}

/// One notification delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxAttemptRow {
    /// Outbox id.
    pub outbox_id: i64,
    /// Event id.
    pub event_id: i64,
    /// Attempt number.
    pub attempt: i64,
    /// Unix ms.
    pub at: i64,
    /// HTTP status, if a reply came.
    pub http_status: Option<i64>,
    /// Error text, if any.
    pub error: Option<String>,
    /// Duration.
    pub duration_ms: i64,
    /// Outbox item state now.
    pub state: String,
}

/// Filter for listing orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this shop.
    pub shop_no: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only orders flagged for review.
    pub needs_review: bool,
    /// Created at or after (Unix ms).
    pub created_from: Option<i64>,
    /// Created before (Unix ms).
    pub created_to: Option<i64>,
    /// At most this many (1–1000).
    pub limit: u32,
}

impl Default for OrderFilter {
    fn default() -> Self {
        Self {
            shop_no: None,
            state: None,
            needs_review: false,
            created_from: None,
            created_to: None,
            limit: 100,
        }
    }
}

macro_rules! order_from_row {
    ($r:expr) => {
        OrderRow {
            id: $r.try_get("id")?,
            shop_no: $r.try_get("shop_no")?,
            order_no: $r.try_get("order_no")?,
            pay_type: $r.try_get("pay_type")?,
            amount: $r.try_get("amount")?,
            prdt_name: $r.try_get("prdt_name")?,
            state: $r.try_get("state")?,
            bank_pay_status: $r.try_get("bank_pay_status")?,
            ts_no: $r.try_get("ts_no")?,
            pay_token: $r.try_get("pay_token")?,
            atm_pay_no: $r.try_get("atm_pay_no")?,
            card_pay_url: $r.try_get("card_pay_url")?,
            expire_date: $r.try_get("expire_date")?,
            refunded_amount: $r.try_get("refunded_amount")?,
            needs_review: $r.try_get("needs_review")?,
            paid_at: $r.try_get("paid_at")?,
            created_at: $r.try_get("created_at")?,
            updated_at: $r.try_get("updated_at")?,
            version: $r.try_get("version")?,
            reconcile_attempts: $r.try_get("reconcile_attempts")?,
            next_reconcile_at: $r.try_get("next_reconcile_at")?,
            last_error: $r.try_get("last_error")?,
        }
    };
}
pub(crate) use order_from_row;

macro_rules! event_from_row {
    ($r:expr) => {
        EventRow {
            id: $r.try_get("id")?,
            order_id: $r.try_get("order_id")?,
            from_state: $r.try_get("from_state")?,
            to_state: $r.try_get("to_state")?,
            source: $r.try_get("source")?,
            bank_pay_status: $r.try_get("bank_pay_status")?,
            detail: $r.try_get("detail")?,
            created_at: $r.try_get("created_at")?,
        }
    };
}
pub(crate) use event_from_row;

macro_rules! inbox_from_row {
    ($r:expr) => {
        InboxItem {
            id: $r.try_get("id")?,
            shop_no: $r.try_get("shop_no")?,
            pay_token: $r.try_get("pay_token")?,
            source: $r.try_get("source")?,
            attempts: $r.try_get("attempts")?,
            received_at: $r.try_get("received_at")?,
        }
    };
}
pub(crate) use inbox_from_row;
