//! The order ledger and the business logic of every service. Synchronous: it runs under the
//! simulator's state lock and never awaits.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};
use sinopac_proto::{
    AllotItem, AllotQueryRequest, AllotQueryResponse, AllotTransaction, Amount, ApType, AtmPayInfo,
    BankDate, BankTime, BillItem, BillQueryRequest, BillQueryResponse, CardPayInfo, Command,
    DateField, Flag, OrderAtmInfo, OrderCardInfo, OrderCreateRequest, OrderCreateResponse,
    OrderListItem, OrderMaintainRequest, OrderMaintainResponse, OrderNo, OrderPayQueryRequest,
    OrderPayQueryResponse, OrderQueryRequest, OrderQueryResponse, OrderUnCapturedQueryRequest,
    OrderUnCapturedQueryResponse, PayFlag, PayStatus, PayToken, PayType, ShopNo, Status,
    TsResultContent, TsType, UnCapturedOrder,
};

use crate::callbacks::DeliveryAttempt;
use crate::{SimConfig, SimError};

/// The success description.
pub(crate) const SUCCESS: &str = "S0000 – 處理成功";

/// A business or envelope failure: `"<code> – <text>"` in a `Status: F` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) code: &'static str,
    pub(crate) text: String,
}

impl Fail {
    pub(crate) fn new(code: &'static str, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }
    pub(crate) fn description(&self) -> String {
        format!("{} – {}", self.code, self.text)
    }
}

impl From<SimError> for Fail {
    fn from(e: SimError) -> Self {
        let code = match &e {
            SimError::UnknownOrder { .. } | SimError::UnknownShop(_) => "E0202",
            SimError::WrongPayType { .. } => "E0304",
            SimError::RefundTooLarge { .. } => "E0302",
            SimError::CaptureTooLarge { .. } => "E0303",
            _ => "E0301",
        };
        Fail::new(code, e.to_string())
    }
}

/// A receipt (`P`) or refund (`R`) booked on an order: the rows of `BillQuery`/`AllotQuery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// `P` receipt or `R` refund.
    #[serde(rename = "TSType")]
    pub ts_type: TsType,
    /// Amount booked.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// Sim time, seconds since the Unix epoch.
    #[serde(rename = "At")]
    pub at: i64,
}

/// The simulator's view of one order (all fields public; a snapshot, not a live handle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOrder {
    /// Shop.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// Merchant order number.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// The bank's transaction number.
    #[serde(rename = "TSNo")]
    pub ts_no: String,
    /// `A` or `C`.
    #[serde(rename = "PayType")]
    pub pay_type: PayType,
    /// Order amount.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// Current status (see the crate docs for the state machine).
    #[serde(rename = "PayStatus")]
    pub pay_status: PayStatus,
    /// Product name.
    #[serde(rename = "PrdtName")]
    pub prdt_name: String,
    /// `Memo`.
    #[serde(rename = "Memo", default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// `Param1`.
    #[serde(rename = "Param1", default, skip_serializing_if = "Option::is_none")]
    pub param1: Option<String>,
    /// `Param2`.
    #[serde(rename = "Param2", default, skip_serializing_if = "Option::is_none")]
    pub param2: Option<String>,
    /// `Param3`.
    #[serde(rename = "Param3", default, skip_serializing_if = "Option::is_none")]
    pub param3: Option<String>,
    /// `ReturnURL`.
    #[serde(rename = "ReturnURL", default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// `BackendURL`.
    #[serde(
        rename = "BackendURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub backend_url: Option<String>,
    /// Creation time (`TSDate`), seconds since the Unix epoch.
    #[serde(rename = "CreatedAt")]
    pub created_at: i64,
    /// When the order stops being payable: ATM end of `ExpireDate` (Taiwan time), card
    /// creation + `ExpMinutes`. Seconds since the Unix epoch.
    #[serde(rename = "ExpireAt")]
    pub expire_at: i64,
    /// ATM: the virtual account number.
    #[serde(rename = "AtmPayNo", default, skip_serializing_if = "Option::is_none")]
    pub atm_pay_no: Option<String>,
    /// ATM: the `ExpireDate` requested.
    #[serde(
        rename = "AtmExpireDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub atm_expire_date: Option<BankDate>,
    /// ATM: WebATM page.
    #[serde(rename = "WebAtmURL", default, skip_serializing_if = "Option::is_none")]
    pub web_atm_url: Option<String>,
    /// Card: the hosted payment page.
    #[serde(
        rename = "CardPayURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub card_pay_url: Option<String>,
    /// Card: `AutoBilling=Y`.
    #[serde(
        rename = "AutoBilling",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_billing: Option<bool>,
    /// Card: `ExpBillingDays`.
    #[serde(
        rename = "ExpBillingDays",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exp_billing_days: Option<u8>,
    /// Card: page validity in minutes.
    #[serde(
        rename = "ExpMinutes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exp_minutes: Option<u8>,
    /// The `TK` of the hosted pages.
    #[serde(rename = "PageToken", default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// The PayToken handed out when the buyer paid (or was declined).
    #[serde(rename = "PayToken", default, skip_serializing_if = "Option::is_none")]
    pub pay_token: Option<PayToken>,
    /// Card: authorisation time.
    #[serde(
        rename = "ApprovedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub approved_at: Option<i64>,
    /// ATM transfer time or card capture time (`PayDate`).
    #[serde(rename = "PaidAt", default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<i64>,
    /// Card: when the authorisation is captured automatically.
    #[serde(
        rename = "AutoCaptureAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_capture_at: Option<i64>,
    /// Card: amount captured.
    #[serde(
        rename = "CapturedAmount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub captured_amount: Option<Amount>,
    /// Card: void time.
    #[serde(rename = "VoidedAt", default, skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<i64>,
    /// Card: total refunded so far.
    #[serde(rename = "RefundedAmount", default)]
    pub refunded_amount: Amount,
    /// Card: time of the last refund.
    #[serde(
        rename = "RefundedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refunded_at: Option<i64>,
    /// Card: first 6 digits.
    #[serde(rename = "LeftCCNo", default, skip_serializing_if = "Option::is_none")]
    pub left_cc_no: Option<String>,
    /// Card: last 4 digits.
    #[serde(rename = "RightCCNo", default, skip_serializing_if = "Option::is_none")]
    pub right_cc_no: Option<String>,
    /// Card: expiry `MMYY`.
    #[serde(rename = "CCExpDate", default, skip_serializing_if = "Option::is_none")]
    pub cc_exp_date: Option<String>,
    /// Card: authorisation code.
    #[serde(rename = "AuthCode", default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    /// Receipts and refunds, in time order.
    #[serde(rename = "Entries", default)]
    pub entries: Vec<LedgerEntry>,
    /// Inserted with [`crate::Sim::seed_orders`] (no timers run for it).
    #[serde(rename = "Seeded", default)]
    pub seeded: bool,
}

impl SimOrder {
    /// `true` when money was received (ATM paid, card captured — refunds aside).
    #[must_use]
    pub fn is_paid(&self) -> bool {
        self.paid_at.is_some()
    }
}

/// An order inserted directly into the ledger with [`crate::Sim::seed_orders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOrder {
    /// Order number (a duplicate of an existing one is skipped).
    pub order_no: OrderNo,
    /// Amount.
    pub amount: Amount,
    /// `A` or `C`.
    pub pay_type: PayType,
    /// Creation time (`TSDate`), seconds since the Unix epoch.
    pub created_at: i64,
    /// Payment time (ATM transfer / card capture); `Some` makes the order paid.
    pub paid_at: Option<i64>,
    /// Status override; default: paid → `1A400`/`1C400`, else `1A200`/`1C200`.
    pub status: Option<PayStatus>,
    /// Product name (default `"seeded order"`).
    pub prdt_name: Option<String>,
    /// BackendURL (used if the order is later paid with `pay_atm`/`pay_card`).
    pub backend_url: Option<String>,
}

impl SeedOrder {
    /// A pending order created at `created_at` (unix seconds).
    #[must_use]
    pub fn new(order_no: OrderNo, amount: Amount, pay_type: PayType, created_at: i64) -> Self {
        Self {
            order_no,
            amount,
            pay_type,
            created_at,
            paid_at: None,
            status: None,
            prdt_name: None,
            backend_url: None,
        }
    }

    /// Marks it paid at `paid_at` (unix seconds).
    #[must_use]
    pub fn paid_at(mut self, paid_at: i64) -> Self {
        self.paid_at = Some(paid_at);
        self
    }

    /// Overrides the status.
    #[must_use]
    pub fn status(mut self, status: PayStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the BackendURL.
    #[must_use]
    pub fn backend_url(mut self, url: impl Into<String>) -> Self {
        self.backend_url = Some(url.into());
        self
    }
}

/// Card details typed on the hosted page (only digits kept; a card is never stored whole).
#[derive(Debug, Clone)]
pub(crate) struct CardInput {
    pub(crate) number: String,
    pub(crate) exp_mmyy: String,
}

impl Default for CardInput {
    fn default() -> Self {
        Self {
            number: "4143520001870127".to_owned(),
            exp_mmyy: "1235".to_owned(),
        }
    }
}

/// Random values drawn before taking the state lock.
#[derive(Debug, Clone)]
pub(crate) struct PayRandom {
    pub(crate) token: PayToken,
    pub(crate) auth_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    AtmAutoPay(String, usize),
    AtmExpire(String, usize),
    CardExpire(String, usize),
    AutoCapture(String, usize),
    Callback {
        delivery: usize,
        attempt: u32,
        late_done: bool,
    },
    ReleaseHeld,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scheduled {
    pub(crate) due_ms: i64,
    pub(crate) seq: u64,
    pub(crate) event: Event,
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due_ms, self.seq).cmp(&(other.due_ms, other.seq))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) shop_no: ShopNo,
    pub(crate) order_no: OrderNo,
    pub(crate) token: PayToken,
    pub(crate) url: String,
    pub(crate) first_ms: i64,
    pub(crate) acked: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ShopLedger {
    pub(crate) orders: Vec<SimOrder>,
    by_no: HashMap<String, usize>,
    by_time: BTreeMap<(i64, String), usize>,
    ts_seq: u64,
}

impl ShopLedger {
    fn insert(&mut self, order: SimOrder) -> Option<usize> {
        if self.by_no.contains_key(order.order_no.as_str()) {
            return None;
        }
        let idx = self.orders.len();
        self.by_no.insert(order.order_no.as_str().to_owned(), idx);
        self.by_time.insert(
            (
                order.created_at.div_euclid(60),
                order.order_no.as_str().to_owned(),
            ),
            idx,
        );
        self.orders.push(order);
        Some(idx)
    }

    pub(crate) fn find(&self, order_no: &str) -> Option<usize> {
        self.by_no.get(order_no).copied()
    }

    pub(crate) fn get(&self, idx: usize) -> Option<&SimOrder> {
        self.orders.get(idx)
    }
}

/// Values the ledger needs from the simulator for one operation.
pub(crate) struct Ctx<'a> {
    pub(crate) now_ms: i64,
    pub(crate) cfg: &'a SimConfig,
    pub(crate) base_url: &'a str,
}

impl Ctx<'_> {
    fn now(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }
    fn bank_now(&self) -> Option<BankTime> {
        bank_time(self.now())
    }
}

pub(crate) fn bank_time(unix_secs: i64) -> Option<BankTime> {
    BankTime::from_unix_seconds(unix_secs)
}

fn bank_date(unix_secs: i64) -> Option<BankDate> {
    bank_time(unix_secs).map(BankTime::date)
}

/// Unix ms of 00:00 Taiwan time on `date`.
fn start_of_day_ms(date: BankDate) -> i64 {
    date.at(0, 0).map_or(0, |t| t.unix_minutes() * 60_000)
}

fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The whole mutable state of the sim except nonces, faults and the RNG.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) shops: HashMap<String, ShopLedger>,
    tokens: HashMap<String, (String, usize)>,
    pages: HashMap<String, (String, usize)>,
    events: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) log: Vec<DeliveryAttempt>,
    pub(crate) held: Vec<(usize, u32)>,
    atm_seq: u64,
}

fn ts_prefix(shop_no: &str) -> String {
    let p: String = shop_no
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect();
    format!("{p:0<6}")
}

fn pay_flag_matches(flag: &PayFlag, o: &SimOrder) -> bool {
    use PayStatus as S;
    let s = &o.pay_status;
    match flag {
        PayFlag::Paid => matches!(s, S::AtmPaid | S::CardCaptured | S::CardRefunded),
        PayFlag::Unpaid => matches!(
            s,
            S::AtmPending | S::CardPending | S::CardAuthorized | S::CardVoided | S::CardDeclined
        ),
        PayFlag::Expired => matches!(s, S::AtmExpired | S::CardExpired),
        _ => false,
    }
}

impl Ledger {
    pub(crate) fn shop(&self, shop_no: &str) -> Option<&ShopLedger> {
        self.shops.get(shop_no)
    }

    pub(crate) fn order(&self, shop_no: &str, order_no: &str) -> Option<&SimOrder> {
        let shop = self.shops.get(shop_no)?;
        shop.get(shop.find(order_no)?)
    }

    fn order_mut(&mut self, shop_no: &str, idx: usize) -> Option<&mut SimOrder> {
        self.shops.get_mut(shop_no)?.orders.get_mut(idx)
    }

    pub(crate) fn page(&self, tk: &str) -> Option<&SimOrder> {
        let (shop, idx) = self.pages.get(tk)?;
        self.shops.get(shop)?.get(*idx)
    }

    pub(crate) fn schedule(&mut self, due_ms: i64, event: Event) {
        self.seq += 1;
        self.events.push(Reverse(Scheduled {
            due_ms,
            seq: self.seq,
            event,
        }));
    }

    /// The earliest event due at or before `target_ms`, removed from the queue.
    pub(crate) fn pop_due(&mut self, target_ms: i64) -> Option<Scheduled> {
        if self
            .events
            .peek()
            .is_some_and(|Reverse(s)| s.due_ms <= target_ms)
        {
            self.events.pop().map(|Reverse(s)| s)
        } else {
            None
        }
    }

    /// When the earliest scheduled event is due.
    pub(crate) fn next_due_ms(&self) -> Option<i64> {
        self.events.peek().map(|Reverse(s)| s.due_ms)
    }

    /// Number of pending timers.
    pub(crate) fn pending_events(&self) -> usize {
        self.events.len()
    }

    // ---------------------------------------------------------------------------------------
    // OrderCreate

    pub(crate) fn order_create(
        &mut self,
        ctx: &Ctx<'_>,
        req: OrderCreateRequest,
        page_token: String,
    ) -> Result<OrderCreateResponse, Fail> {
        if !matches!(req.pay_type, PayType::Atm | PayType::Card) {
            return Err(Fail::new("E0602", "收款方式未啟用"));
        }
        if let Some(card) = &req.card_param
            && card.pay_type_sub.as_deref().is_some_and(|s| s != "ONE")
        {
            return Err(Fail::new("E0602", "收款方式未啟用"));
        }
        req.validate_with(&ctx.cfg.limits)
            .map_err(|e| Fail::new("E0101", format!("欄位驗證失敗 {e}")))?;
        let now = ctx.now();
        let today = bank_date(now).ok_or_else(|| Fail::new("E0101", "時間錯誤"))?;
        if let Some(atm) = &req.atm_param
            && atm.expire_date < today
        {
            return Err(Fail::new("E0105", "繳費期限不可早於今日"));
        }
        let shop_key = req.shop_no.as_str().to_owned();
        let shop = self.shops.entry(shop_key.clone()).or_default();
        if shop.find(req.order_no.as_str()).is_some() {
            return Err(Fail::new("E0201", "訂單編號重複"));
        }
        shop.ts_seq += 1;
        let ts_no = format!("{}{:08}", ts_prefix(&shop_key), shop.ts_seq);
        let base = ctx.base_url.trim_end_matches('/');
        let mut order = SimOrder {
            shop_no: req.shop_no.clone(),
            order_no: req.order_no.clone(),
            ts_no: ts_no.clone(),
            pay_type: req.pay_type.clone(),
            amount: req.amount,
            pay_status: PayStatus::AtmPending,
            prdt_name: req.prdt_name.clone(),
            memo: req.memo.clone(),
            param1: req.param1.clone(),
            param2: req.param2.clone(),
            param3: req.param3.clone(),
            return_url: req.return_url.clone(),
            backend_url: req.backend_url.clone(),
            created_at: now,
            expire_at: now,
            atm_pay_no: None,
            atm_expire_date: None,
            web_atm_url: None,
            card_pay_url: None,
            auto_billing: None,
            exp_billing_days: None,
            exp_minutes: None,
            page_token: Some(page_token.clone()),
            pay_token: None,
            approved_at: None,
            paid_at: None,
            auto_capture_at: None,
            captured_amount: None,
            voided_at: None,
            refunded_amount: Amount::from_minor(0),
            refunded_at: None,
            left_cc_no: None,
            right_cc_no: None,
            cc_exp_date: None,
            auth_code: None,
            entries: Vec::new(),
            seeded: false,
        };
        let mut events = Vec::new();
        let mut resp = OrderCreateResponse {
            order_no: Some(req.order_no.clone()),
            shop_no: Some(req.shop_no.clone()),
            ts_no: Some(ts_no.clone()),
            amount: Some(req.amount),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
            param1: req.param1.clone(),
            param2: req.param2.clone(),
            param3: req.param3.clone(),
            pay_type: Some(req.pay_type.clone()),
            atm_param: None,
            card_param: None,
            mobile_param: None,
        };
        match (&req.pay_type, &req.atm_param, &req.card_param) {
            (PayType::Atm, Some(atm), _) => {
                self.atm_seq += 1;
                let pay_no = format!("99922{:09}", self.atm_seq % 1_000_000_000);
                let expire_ms = atm
                    .expire_date
                    .add_days(1)
                    .map_or(ctx.now_ms, start_of_day_ms);
                let web = format!("{base}/pay/webatm?TD={ts_no}&TK={page_token}");
                let otp = format!("{base}/pay/otp?TD={ts_no}&TK={page_token}");
                order.atm_pay_no = Some(pay_no.clone());
                order.atm_expire_date = Some(atm.expire_date);
                order.expire_at = expire_ms.div_euclid(1000);
                order.web_atm_url = Some(web.clone());
                resp.atm_param = Some(AtmPayInfo {
                    atm_pay_no: Some(pay_no),
                    web_atm_url: Some(web),
                    otp_url: Some(otp),
                });
                events.push((expire_ms, 0u8));
                if let Some(after) = ctx.cfg.atm_auto_pay_after
                    && !req.order_no.as_str().ends_with('9')
                {
                    events.push((ctx.now_ms.saturating_add(duration_ms(after)), 1u8));
                }
            }
            (PayType::Card, _, Some(card)) => {
                let minutes = card.exp_minutes.unwrap_or(ctx.cfg.card_default_exp_minutes);
                let url = format!("{base}/pay/card?TD={ts_no}&TK={page_token}");
                order.pay_status = PayStatus::CardPending;
                order.auto_billing = Some(card.auto_billing == Flag::Yes);
                order.exp_billing_days = card.exp_billing_days;
                order.exp_minutes = Some(minutes);
                order.card_pay_url = Some(url.clone());
                let expire_ms = ctx.now_ms.saturating_add(i64::from(minutes) * 60_000);
                order.expire_at = expire_ms.div_euclid(1000);
                resp.card_param = Some(CardPayInfo {
                    card_pay_url: Some(url),
                });
                events.push((expire_ms, 2u8));
            }
            _ => return Err(Fail::new("E0101", "欄位驗證失敗 PayType")),
        }
        let idx = self
            .shops
            .entry(shop_key.clone())
            .or_default()
            .insert(order)
            .ok_or_else(|| Fail::new("E0201", "訂單編號重複"))?;
        self.pages.insert(page_token, (shop_key.clone(), idx));
        for (due, kind) in events {
            let ev = match kind {
                0 => Event::AtmExpire(shop_key.clone(), idx),
                1 => Event::AtmAutoPay(shop_key.clone(), idx),
                _ => Event::CardExpire(shop_key.clone(), idx),
            };
            self.schedule(due, ev);
        }
        Ok(resp)
    }

    // ---------------------------------------------------------------------------------------
    // Queries

    fn list_item(o: &SimOrder) -> OrderListItem {
        let expire_date = match &o.atm_expire_date {
            Some(d) => d.at(23, 59),
            None => bank_time(o.expire_at),
        };
        let refunded = !o.refunded_amount.is_zero();
        OrderListItem {
            order_no: o.order_no.clone(),
            ts_no: Some(o.ts_no.clone()),
            ts_date: bank_time(o.created_at),
            approved_date: o.approved_at.and_then(bank_time),
            pay_date: o.paid_at.and_then(bank_time),
            amount: o.amount,
            pay_type: o.pay_type.clone(),
            pay_status: o.pay_status.clone(),
            expire_date,
            refund_flag: Some(if refunded { Flag::Yes } else { Flag::No }),
            refund_status: None,
            refund_date: o.refunded_at.and_then(bank_time),
            refund_amount: refunded.then_some(o.refunded_amount),
            prdt_name: Some(o.prdt_name.clone()),
            memo: o.memo.clone(),
            param1: o.param1.clone(),
            param2: o.param2.clone(),
            param3: o.param3.clone(),
            atm_param: (o.pay_type == PayType::Atm).then(|| OrderAtmInfo {
                atm_pay_no: o.atm_pay_no.clone(),
                web_atm_url: o.web_atm_url.clone(),
                otp_url: None,
                bank_no: o.paid_at.map(|_| "807".to_owned()),
                acct_no: o.paid_at.map(|_| "00000000001234".to_owned()),
            }),
            card_param: (o.pay_type == PayType::Card).then(|| OrderCardInfo {
                card_pay_url: o.card_pay_url.clone(),
                left_cc_no: o.left_cc_no.clone(),
                right_cc_no: o.right_cc_no.clone(),
                auth_code: o.auth_code.clone(),
                cc_exp_date: o.cc_exp_date.clone(),
                cc_token: None,
            }),
        }
    }

    /// `OrderQuery`: filters of PROTOCOL.md §8.4; rows ordered by `TSDate` (minute) then
    /// `OrderNo` ascending — by `PayDate` (minute) then `OrderNo` when the query has a pay-date
    /// range and no order-date range; at most `max_rows`.
    pub(crate) fn order_query(&self, ctx: &Ctx<'_>, req: &OrderQueryRequest) -> OrderQueryResponse {
        let mut rows = Vec::new();
        if let Some(shop) = self.shops.get(req.shop_no_str()) {
            let order_range = req.range(DateField::Order);
            let pay_range = req
                .range(DateField::Pay)
                .map(|(s, e)| (s.unix_minutes(), e.unix_minutes()));
            let matches = |o: &SimOrder| {
                if let Some(no) = req.order_no_condition()
                    && o.order_no != *no
                {
                    return false;
                }
                if let Some(pt) = req.pay_type_condition()
                    && o.pay_type != *pt
                {
                    return false;
                }
                if let Some((s, e)) = pay_range {
                    match o.paid_at {
                        Some(p) if (s..=e).contains(&p.div_euclid(60)) => {}
                        _ => return false,
                    }
                }
                if let Some(flag) = req.pay_flag_condition()
                    && !pay_flag_matches(flag, o)
                {
                    return false;
                }
                true
            };
            let mut push = |idx: usize| {
                if let Some(o) = shop.get(idx)
                    && matches(o)
                {
                    rows.push(Self::list_item(o));
                }
                rows.len() < ctx.cfg.max_rows
            };
            if let Some(no) = req.order_no_condition() {
                if let Some(idx) = shop.find(no.as_str()) {
                    let in_range = order_range.is_none_or(|(s, e)| {
                        shop.get(idx).is_some_and(|o| {
                            (s.unix_minutes()..=e.unix_minutes())
                                .contains(&o.created_at.div_euclid(60))
                        })
                    });
                    if in_range && ctx.cfg.max_rows > 0 {
                        push(idx);
                    }
                }
            } else if order_range.is_none() && pay_range.is_some() && ctx.cfg.max_rows > 0 {
                // A pay-date window without an order-date window: rows in PayDate order.
                let mut hits: Vec<(i64, &str, &SimOrder)> = shop
                    .orders
                    .iter()
                    .filter(|o| matches(o))
                    .filter_map(|o| Some((o.paid_at?.div_euclid(60), o.order_no.as_str(), o)))
                    .collect();
                hits.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
                rows.extend(
                    hits.into_iter()
                        .take(ctx.cfg.max_rows)
                        .map(|(_, _, o)| Self::list_item(o)),
                );
            } else if ctx.cfg.max_rows > 0 {
                let iter: Box<dyn Iterator<Item = &usize>> = match order_range {
                    Some((s, e)) => Box::new(
                        shop.by_time
                            .range(
                                (s.unix_minutes(), String::new())
                                    ..(e.unix_minutes() + 1, String::new()),
                            )
                            .map(|(_, v)| v),
                    ),
                    None => Box::new(shop.by_time.values()),
                };
                for idx in iter {
                    if !push(*idx) {
                        break;
                    }
                }
            }
        }
        OrderQueryResponse {
            shop_no: Some(req.shop_no_owned()),
            date: ctx.bank_now(),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
            order_list: rows,
        }
    }

    pub(crate) fn order_pay_query(
        &self,
        ctx: &Ctx<'_>,
        req: &OrderPayQueryRequest,
    ) -> Result<OrderPayQueryResponse, Fail> {
        let (shop, idx) = self
            .tokens
            .get(req.pay_token.as_str())
            .ok_or_else(|| Fail::new("E0203", "查無此 PayToken"))?;
        if shop != req.shop_no.as_str() {
            return Err(Fail::new("E0203", "查無此 PayToken"));
        }
        let o = self
            .shops
            .get(shop)
            .and_then(|s| s.get(*idx))
            .ok_or_else(|| Fail::new("E0203", "查無此 PayToken"))?;
        let ok = !matches!(o.pay_status, PayStatus::CardDeclined);
        let content = TsResultContent {
            ap_type: Some(ApType::PayOut),
            ts_no: Some(o.ts_no.clone()),
            order_no: Some(o.order_no.clone()),
            shop_no: Some(o.shop_no.clone()),
            pay_type: Some(o.pay_type.clone()),
            amount: Some(o.amount),
            status: Some(if ok { Status::Success } else { Status::Failure }),
            description: Some(if ok {
                String::new()
            } else {
                "交易失敗".to_owned()
            }),
            param1: o.param1.clone(),
            param2: o.param2.clone(),
            param3: o.param3.clone(),
            pay_date: o.paid_at.or(o.approved_at).and_then(bank_time),
            left_cc_no: o.left_cc_no.clone(),
            right_cc_no: o.right_cc_no.clone(),
            cc_exp_date: o.cc_exp_date.clone(),
            cc_token: None,
            auth_code: o.auth_code.clone(),
        };
        Ok(OrderPayQueryResponse {
            shop_no: Some(req.shop_no.clone()),
            pay_token: Some(req.pay_token.clone()),
            date: ctx.bank_now(),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
            ts_result_content: Some(content),
        })
    }

    pub(crate) fn order_uncaptured(
        &self,
        ctx: &Ctx<'_>,
        req: &OrderUnCapturedQueryRequest,
    ) -> OrderUnCapturedQueryResponse {
        let mut rows = Vec::new();
        if let Some(shop) = self.shops.get(req.shop_no.as_str()) {
            for idx in shop.by_time.values() {
                let Some(o) = shop.get(*idx) else { continue };
                if o.pay_status != PayStatus::CardAuthorized {
                    continue;
                }
                if req.order_no.as_ref().is_some_and(|n| *n != o.order_no) {
                    continue;
                }
                rows.push(UnCapturedOrder {
                    order_no: o.order_no.clone(),
                    ts_no: Some(o.ts_no.clone()),
                    ts_date: bank_time(o.created_at),
                    approved_date: o.approved_at.and_then(bank_time),
                    expire_date: o.auto_capture_at.and_then(bank_time),
                    amount: o.amount,
                    pay_type: Some(o.pay_type.clone()),
                    prdt_name: Some(o.prdt_name.clone()),
                    memo: o.memo.clone(),
                    pay_status: Some(o.pay_status.clone()),
                });
                if rows.len() >= ctx.cfg.max_rows {
                    break;
                }
            }
        }
        OrderUnCapturedQueryResponse {
            shop_no: Some(req.shop_no.clone()),
            date: ctx.bank_now(),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
            order_list: rows,
        }
    }

    // ---------------------------------------------------------------------------------------
    // OrderMaintain

    pub(crate) fn order_maintain(
        &mut self,
        ctx: &Ctx<'_>,
        req: &OrderMaintainRequest,
    ) -> Result<OrderMaintainResponse, Fail> {
        let shop_key = req.shop_no.as_str().to_owned();
        let idx = self
            .shops
            .get(&shop_key)
            .and_then(|s| s.find(req.order_no.as_str()))
            .ok_or_else(|| Fail::new("E0202", "查無此訂單"))?;
        let amount = match &req.command {
            Command::Capture => self.capture(ctx, &shop_key, idx, req.amount)?,
            Command::Void => self.void(ctx, &shop_key, idx)?,
            Command::Refund => self.refund(ctx, &shop_key, idx, req.amount)?,
            _ => return Err(Fail::new("E0101", "欄位驗證失敗 Command")),
        };
        let ts_no = self.order_mut(&shop_key, idx).map(|o| o.ts_no.clone());
        Ok(OrderMaintainResponse {
            order_no: Some(req.order_no.clone()),
            shop_no: Some(req.shop_no.clone()),
            ts_no,
            command: Some(req.command.clone()),
            amount: Some(amount),
            date: ctx.bank_now(),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
        })
    }

    fn card_order(&mut self, shop: &str, idx: usize) -> Result<&mut SimOrder, SimError> {
        let o = self
            .order_mut(shop, idx)
            .ok_or_else(|| SimError::UnknownShop(shop.to_owned()))?;
        if o.pay_type != PayType::Card {
            return Err(SimError::WrongPayType {
                order_no: o.order_no.as_str().to_owned(),
                expected: PayType::Card,
            });
        }
        Ok(o)
    }

    /// Captures an authorised card order (`OrderMaintain P` or automatic capture).
    pub(crate) fn capture(
        &mut self,
        ctx: &Ctx<'_>,
        shop: &str,
        idx: usize,
        amount: Option<Amount>,
    ) -> Result<Amount, SimError> {
        let now = ctx.now();
        let o = self.card_order(shop, idx)?;
        if o.pay_status != PayStatus::CardAuthorized {
            return Err(SimError::InvalidState {
                order_no: o.order_no.as_str().to_owned(),
                status: o.pay_status.clone(),
                action: "capture",
            });
        }
        let amount = amount.unwrap_or(o.amount);
        if amount > o.amount || amount.is_zero() {
            return Err(SimError::CaptureTooLarge {
                order_no: o.order_no.as_str().to_owned(),
                requested: amount,
                authorised: o.amount,
            });
        }
        o.pay_status = PayStatus::CardCaptured;
        o.paid_at = Some(now);
        o.captured_amount = Some(amount);
        o.entries.push(LedgerEntry {
            ts_type: TsType::Payment,
            amount,
            at: now,
        });
        self.notify(ctx, shop, idx);
        Ok(amount)
    }

    fn void(&mut self, ctx: &Ctx<'_>, shop: &str, idx: usize) -> Result<Amount, SimError> {
        let now = ctx.now();
        let o = self.card_order(shop, idx)?;
        if o.pay_status != PayStatus::CardAuthorized {
            return Err(SimError::InvalidState {
                order_no: o.order_no.as_str().to_owned(),
                status: o.pay_status.clone(),
                action: "void",
            });
        }
        o.pay_status = PayStatus::CardVoided;
        o.voided_at = Some(now);
        Ok(o.amount)
    }

    fn refund(
        &mut self,
        ctx: &Ctx<'_>,
        shop: &str,
        idx: usize,
        amount: Option<Amount>,
    ) -> Result<Amount, SimError> {
        let now = ctx.now();
        let o = self.card_order(shop, idx)?;
        let captured = o.captured_amount.unwrap_or(o.amount);
        if o.pay_status != PayStatus::CardCaptured {
            return Err(SimError::InvalidState {
                order_no: o.order_no.as_str().to_owned(),
                status: o.pay_status.clone(),
                action: "refund",
            });
        }
        let refundable = captured.checked_sub(o.refunded_amount).unwrap_or_default();
        let amount = amount.unwrap_or(refundable);
        if amount > refundable || amount.is_zero() {
            return Err(SimError::RefundTooLarge {
                order_no: o.order_no.as_str().to_owned(),
                requested: amount,
                refundable,
            });
        }
        o.refunded_amount = o.refunded_amount.checked_add(amount).unwrap_or(captured);
        o.refunded_at = Some(now);
        if o.refunded_amount >= captured {
            o.pay_status = PayStatus::CardRefunded;
        }
        o.entries.push(LedgerEntry {
            ts_type: TsType::Refund,
            amount,
            at: now,
        });
        Ok(amount)
    }

    // ---------------------------------------------------------------------------------------
    // BillQuery / AllotQuery

    fn bill_rows(&self, shop: &str) -> Vec<(i64, &SimOrder, &LedgerEntry)> {
        let mut rows = Vec::new();
        if let Some(shop) = self.shops.get(shop) {
            for o in &shop.orders {
                for e in &o.entries {
                    rows.push((e.at, o, e));
                }
            }
        }
        rows.sort_by(|a, b| {
            (a.0, a.1.order_no.as_str(), &a.2.ts_type).cmp(&(
                b.0,
                b.1.order_no.as_str(),
                &b.2.ts_type,
            ))
        });
        rows
    }

    /// `BillQuery`: every receipt and refund booked on `BillDate` (Taiwan time), ordered by
    /// time then OrderNo.
    pub(crate) fn bill_query(&self, ctx: &Ctx<'_>, req: &BillQueryRequest) -> BillQueryResponse {
        let rows = self
            .bill_rows(req.shop_no.as_str())
            .into_iter()
            .filter(|(at, _, _)| bank_date(*at) == Some(req.bill_date))
            .map(|(_, o, e)| BillItem {
                ts_no: Some(o.ts_no.clone()),
                order_no: o.order_no.clone(),
                ts_type: e.ts_type.clone(),
                ts_date: bank_time(o.created_at),
                pay_date: bank_time(e.at),
                pay_type: Some(o.pay_type.clone()),
                amount: e.amount,
                param1: o.param1.clone(),
                param2: o.param2.clone(),
                param3: o.param3.clone(),
            })
            .collect();
        BillQueryResponse {
            shop_no: Some(req.shop_no.clone()),
            date: ctx.bank_now(),
            bill_date: Some(req.bill_date.to_string()),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
            order_list: rows,
        }
    }

    /// `AllotQuery`: entries booked on day D are paid out on D + `allot_delay_days`, one
    /// allotment per (date, PayType); only allot dates up to today are listed.
    pub(crate) fn allot_query(&self, ctx: &Ctx<'_>, req: &AllotQueryRequest) -> AllotQueryResponse {
        let today = bank_date(ctx.now());
        let delay = i64::from(ctx.cfg.allot_delay_days);
        let mut groups: BTreeMap<(BankDate, String), AllotItem> = BTreeMap::new();
        for (at, o, e) in self.bill_rows(req.shop_no.as_str()) {
            let Some(allot_date) = bank_date(at).and_then(|d| d.add_days(delay)) else {
                continue;
            };
            if allot_date < req.allot_date_s
                || allot_date > req.allot_date_e
                || today.is_none_or(|t| allot_date > t)
            {
                continue;
            }
            if req.pay_type.as_ref().is_some_and(|p| *p != o.pay_type) {
                continue;
            }
            let fee = if e.ts_type == TsType::Payment {
                Amount::from_minor(e.amount.minor() * u64::from(ctx.cfg.fee_rate_bps) / 10_000)
            } else {
                Amount::from_minor(0)
            };
            let item = groups
                .entry((allot_date, o.pay_type.as_str().to_owned()))
                .or_insert_with(|| AllotItem {
                    allot_no: Some(format!(
                        "{}{}{}",
                        ts_prefix(req.shop_no.as_str()),
                        allot_date,
                        o.pay_type
                    )),
                    allot_date: Some(allot_date),
                    pay_type: Some(o.pay_type.clone()),
                    pay_amount: Some(Amount::from_minor(0)),
                    refund_amount: Some(Amount::from_minor(0)),
                    fee_amount: Some(Amount::from_minor(0)),
                    ext_allot_amount: Some(Amount::from_minor(0)),
                    allot_amount: Some(Amount::from_minor(0)),
                    account: Some("80700000000000".to_owned()),
                    list: Vec::new(),
                });
            let add = |slot: &mut Option<Amount>, v: Amount| {
                let cur = slot.unwrap_or_default();
                *slot = Some(Amount::from_minor(cur.minor().saturating_add(v.minor())));
            };
            match e.ts_type {
                TsType::Refund => add(&mut item.refund_amount, e.amount),
                _ => add(&mut item.pay_amount, e.amount),
            }
            add(&mut item.fee_amount, fee);
            item.list.push(AllotTransaction {
                ts_no: Some(o.ts_no.clone()),
                order_no: Some(o.order_no.clone()),
                pay_date: bank_time(at),
                amount: Some(e.amount),
                fee: Some(fee),
                ts_type: Some(e.ts_type.clone()),
            });
        }
        let allot = groups
            .into_values()
            .map(|mut item| {
                let pay = item.pay_amount.unwrap_or_default().minor();
                let refund = item.refund_amount.unwrap_or_default().minor();
                let fee = item.fee_amount.unwrap_or_default().minor();
                item.allot_amount = Some(Amount::from_minor(
                    pay.saturating_sub(refund).saturating_sub(fee),
                ));
                item
            })
            .collect();
        AllotQueryResponse {
            shop_no: Some(req.shop_no.clone()),
            date: ctx.bank_now(),
            status: Status::Success,
            description: Some(SUCCESS.to_owned()),
            allot,
        }
    }

    // ---------------------------------------------------------------------------------------
    // Payments and timers

    fn locate(&self, shop_no: &str, order_no: &str) -> Result<usize, SimError> {
        let shop = self
            .shops
            .get(shop_no)
            .ok_or_else(|| SimError::UnknownShop(shop_no.to_owned()))?;
        shop.find(order_no).ok_or_else(|| SimError::UnknownOrder {
            shop_no: shop_no.to_owned(),
            order_no: order_no.to_owned(),
        })
    }

    /// The shops that have an order with this number.
    pub(crate) fn shops_with_order(&self, order_no: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .shops
            .iter()
            .filter(|(_, s)| s.find(order_no).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// Queues a BackendURL notification for the order's PayToken (if it has a BackendURL).
    fn notify(&mut self, ctx: &Ctx<'_>, shop: &str, idx: usize) {
        if ctx.cfg.callback_max_attempts == 0 {
            return;
        }
        let Some(o) = self.shops.get(shop).and_then(|s| s.get(idx)) else {
            return;
        };
        let (Some(url), Some(token)) = (o.backend_url.clone(), o.pay_token.clone()) else {
            return;
        };
        let delivery = Delivery {
            shop_no: o.shop_no.clone(),
            order_no: o.order_no.clone(),
            token,
            url,
            first_ms: ctx.now_ms,
            acked: false,
        };
        let id = self.deliveries.len();
        self.deliveries.push(delivery);
        self.schedule(
            ctx.now_ms,
            Event::Callback {
                delivery: id,
                attempt: 1,
                late_done: false,
            },
        );
    }

    fn register_token(&mut self, shop: &str, idx: usize, token: &PayToken) {
        self.tokens
            .insert(token.as_str().to_owned(), (shop.to_owned(), idx));
    }

    /// An ATM transfer into the order's virtual account.
    pub(crate) fn pay_atm_at(
        &mut self,
        ctx: &Ctx<'_>,
        shop: &str,
        idx: usize,
        rnd: PayRandom,
    ) -> Result<PayToken, SimError> {
        let now = ctx.now();
        let o = self
            .order_mut(shop, idx)
            .ok_or_else(|| SimError::UnknownShop(shop.to_owned()))?;
        if o.pay_type != PayType::Atm {
            return Err(SimError::WrongPayType {
                order_no: o.order_no.as_str().to_owned(),
                expected: PayType::Atm,
            });
        }
        if o.pay_status != PayStatus::AtmPending || (!o.seeded && now >= o.expire_at) {
            return Err(SimError::InvalidState {
                order_no: o.order_no.as_str().to_owned(),
                status: o.pay_status.clone(),
                action: "pay",
            });
        }
        o.pay_status = PayStatus::AtmPaid;
        o.paid_at = Some(now);
        o.pay_token = Some(rnd.token.clone());
        o.entries.push(LedgerEntry {
            ts_type: TsType::Payment,
            amount: o.amount,
            at: now,
        });
        self.register_token(shop, idx, &rnd.token);
        self.notify(ctx, shop, idx);
        Ok(rnd.token)
    }

    pub(crate) fn pay_atm(
        &mut self,
        ctx: &Ctx<'_>,
        shop_no: &str,
        order_no: &str,
        rnd: PayRandom,
    ) -> Result<PayToken, SimError> {
        let idx = self.locate(shop_no, order_no)?;
        self.pay_atm_at(ctx, shop_no, idx, rnd)
    }

    /// The buyer submits the card page: approve (authorise, and capture if AutoBilling=Y) or
    /// decline.
    pub(crate) fn pay_card(
        &mut self,
        ctx: &Ctx<'_>,
        shop_no: &str,
        order_no: &str,
        approve: bool,
        card: &CardInput,
        rnd: PayRandom,
    ) -> Result<PayToken, SimError> {
        let idx = self.locate(shop_no, order_no)?;
        let now = ctx.now();
        let o = self.card_order(shop_no, idx)?;
        if o.pay_status != PayStatus::CardPending || (!o.seeded && now >= o.expire_at) {
            return Err(SimError::InvalidState {
                order_no: o.order_no.as_str().to_owned(),
                status: o.pay_status.clone(),
                action: "pay",
            });
        }
        let digits: String = card.number.chars().filter(char::is_ascii_digit).collect();
        o.left_cc_no = digits.get(0..6).map(str::to_owned);
        o.right_cc_no = digits
            .len()
            .checked_sub(4)
            .and_then(|i| digits.get(i..))
            .map(str::to_owned);
        o.cc_exp_date = Some(card.exp_mmyy.clone());
        o.pay_token = Some(rnd.token.clone());
        let auto = o.auto_billing.unwrap_or(true);
        let days = o.exp_billing_days.unwrap_or(1);
        if !approve {
            o.pay_status = PayStatus::CardDeclined;
            self.register_token(shop_no, idx, &rnd.token);
            return Ok(rnd.token);
        }
        o.pay_status = PayStatus::CardAuthorized;
        o.approved_at = Some(now);
        o.auth_code = Some(rnd.auth_code.clone());
        self.register_token(shop_no, idx, &rnd.token);
        if auto {
            self.capture(ctx, shop_no, idx, None)?;
        } else {
            let due = ctx.now_ms.saturating_add(i64::from(days) * 86_400_000);
            if let Some(o) = self.order_mut(shop_no, idx) {
                o.auto_capture_at = Some(due.div_euclid(1000));
            }
            self.schedule(due, Event::AutoCapture(shop_no.to_owned(), idx));
        }
        Ok(rnd.token)
    }

    /// Runs a timer event (not callbacks). `rnd` is used for auto-pay.
    pub(crate) fn apply_timer(&mut self, ctx: &Ctx<'_>, event: &Event, rnd: PayRandom) {
        match event {
            Event::AtmAutoPay(shop, idx) => {
                let _ = self.pay_atm_at(ctx, shop, *idx, rnd);
            }
            Event::AtmExpire(shop, idx) => {
                if let Some(o) = self.order_mut(shop, *idx)
                    && o.pay_status == PayStatus::AtmPending
                {
                    o.pay_status = PayStatus::AtmExpired;
                }
            }
            Event::CardExpire(shop, idx) => {
                if let Some(o) = self.order_mut(shop, *idx)
                    && o.pay_status == PayStatus::CardPending
                {
                    o.pay_status = PayStatus::CardExpired;
                }
            }
            Event::AutoCapture(shop, idx) => {
                let _ = self.capture(ctx, shop, *idx, None);
            }
            Event::Callback { .. } | Event::ReleaseHeld => {}
        }
    }

    /// Inserts seeded orders; returns how many were new.
    pub(crate) fn seed(
        &mut self,
        shop_no: &ShopNo,
        orders: impl IntoIterator<Item = SeedOrder>,
        mut ts_no: impl FnMut(&str, u64) -> String,
    ) -> usize {
        let shop_key = shop_no.as_str().to_owned();
        let shop = self.shops.entry(shop_key.clone()).or_default();
        let mut added = 0;
        for s in orders {
            if shop.find(s.order_no.as_str()).is_some() {
                continue;
            }
            shop.ts_seq += 1;
            let is_atm = s.pay_type == PayType::Atm;
            let status = s
                .status
                .clone()
                .unwrap_or(match (is_atm, s.paid_at.is_some()) {
                    (true, true) => PayStatus::AtmPaid,
                    (true, false) => PayStatus::AtmPending,
                    (false, true) => PayStatus::CardCaptured,
                    (false, false) => PayStatus::CardPending,
                });
            let entries = s
                .paid_at
                .map(|at| LedgerEntry {
                    ts_type: TsType::Payment,
                    amount: s.amount,
                    at,
                })
                .into_iter()
                .collect();
            let order = SimOrder {
                shop_no: shop_no.clone(),
                order_no: s.order_no.clone(),
                ts_no: ts_no(&shop_key, shop.ts_seq),
                pay_type: s.pay_type.clone(),
                amount: s.amount,
                pay_status: status,
                prdt_name: s
                    .prdt_name
                    .clone()
                    .unwrap_or_else(|| "seeded order".to_owned()),
                memo: None,
                param1: None,
                param2: None,
                param3: None,
                return_url: None,
                backend_url: s.backend_url.clone(),
                created_at: s.created_at,
                expire_at: s.created_at + if is_atm { 7 * 86_400 } else { 600 },
                atm_pay_no: is_atm.then(|| format!("99921{:09}", shop.ts_seq % 1_000_000_000)),
                atm_expire_date: None,
                web_atm_url: None,
                card_pay_url: None,
                auto_billing: (!is_atm).then_some(true),
                exp_billing_days: None,
                exp_minutes: (!is_atm).then_some(10),
                page_token: None,
                pay_token: None,
                approved_at: if is_atm { None } else { s.paid_at },
                paid_at: s.paid_at,
                auto_capture_at: None,
                captured_amount: if is_atm {
                    None
                } else {
                    s.paid_at.map(|_| s.amount)
                },
                voided_at: None,
                refunded_amount: Amount::from_minor(0),
                refunded_at: None,
                left_cc_no: None,
                right_cc_no: None,
                cc_exp_date: None,
                auth_code: None,
                entries,
                seeded: true,
            };
            if shop.insert(order).is_some() {
                added += 1;
            }
        }
        added
    }
}

pub(crate) fn default_ts_no(shop: &str, seq: u64) -> String {
    format!("{}{:08}", ts_prefix(shop), seq)
}

/// Small helpers `OrderQueryRequest` lacks (its fields are private).
trait QueryExt {
    fn shop_no_str(&self) -> &str;
    fn shop_no_owned(&self) -> ShopNo;
}

impl QueryExt for OrderQueryRequest {
    fn shop_no_str(&self) -> &str {
        sinopac_proto::Request::shop_no(self).as_str()
    }
    fn shop_no_owned(&self) -> ShopNo {
        sinopac_proto::Request::shop_no(self).clone()
    }
}
