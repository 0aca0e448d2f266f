//! Typed payloads (the JSON inside `Message`) of every service in PROTOCOL.md §8.
//!
//! Requests send only documented fields and omit absent optionals (never `null`); responses
//! accept missing fields (a `Status: F` reply carries few of them) and keep unknown enum codes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::enums::{
    ApType, ApiService, Command, Flag, PayFlag, PayStatus, PayType, Status, TsType,
};
use crate::types::{
    Amount, BankDate, BankTime, OrderNo, PayToken, ShopNo, amount_as_string, lenient,
};
use crate::validate::{self, Problem, ValidationError};

/// A request payload of one `APIService`.
pub trait Request: Serialize {
    /// The service this payload is sent to.
    const SERVICE: ApiService;
    /// The payload the bank answers with.
    type Response: Response + DeserializeOwned;
    /// The shop the request is for (also the envelope's `ShopNo`).
    fn shop_no(&self) -> &ShopNo;
    /// Client-side validation (PROTOCOL.md §8.2, §11).
    ///
    /// # Errors
    /// The first field that the bank would refuse, by name.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// A response payload: every one carries `Status` and `Description`.
pub trait Response {
    /// `S` or `F` (or an unknown code).
    fn status(&self) -> &Status;
    /// `"<code> – <text>"`, e.g. `S0000 – 處理成功`.
    fn description(&self) -> Option<&str>;
    /// The code part of the description (`S0000`, `E0602`), if any.
    fn code(&self) -> Option<&str> {
        self.description()
            .map(|d| split_description(d).0)
            .filter(|c| !c.is_empty())
    }
}

/// Splits `"E0602 – 收款方式未啟用"` into (`"E0602"`, `"收款方式未啟用"`). The separator is an
/// EN DASH on the wire (PROTOCOL.md §11.14); an ASCII hyphen is accepted too.
#[must_use]
pub fn split_description(description: &str) -> (&str, &str) {
    for sep in [" – ", " - ", "–", "-"] {
        if let Some((code, text)) = description.split_once(sep) {
            let code = code.trim();
            if !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return (code, text.trim());
            }
        }
    }
    ("", description.trim())
}

macro_rules! impl_response {
    ($($t:ty),+) => {$(
        impl Response for $t {
            fn status(&self) -> &Status { &self.status }
            fn description(&self) -> Option<&str> { self.description.as_deref() }
        }
    )+};
}

// ------------------------------------------------------------------------------------------------
// OrderCreate

/// `ATMParam` of an `OrderCreate` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtmParam {
    /// `ExpireDate`: last day the buyer can transfer (`yyyyMMdd`).
    #[serde(rename = "ExpireDate")]
    pub expire_date: BankDate,
}

/// `CardParam` of an `OrderCreate` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardParam {
    /// `AutoBilling`: `Y` captures right after authorisation; `N` captures after
    /// `ExpBillingDays` (or when the merchant sends `OrderMaintain` `P`).
    #[serde(rename = "AutoBilling")]
    pub auto_billing: Flag,
    /// `ExpBillingDays`: days until automatic capture, 1–7. Required when `AutoBilling=N`,
    /// best omitted when `Y`.
    #[serde(
        rename = "ExpBillingDays",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub exp_billing_days: Option<u8>,
    /// `ExpMinutes`: validity of the card page, 1–30 (bank default 10).
    #[serde(
        rename = "ExpMinutes",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub exp_minutes: Option<u8>,
    /// `PayTypeSub`: `ONE` (一次付清) is the only value confirmed to work.
    #[serde(
        rename = "PayTypeSub",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub pay_type_sub: Option<String>,
    /// `Staging`: number of instalments.
    #[serde(rename = "Staging", skip_serializing_if = "Option::is_none", default)]
    pub staging: Option<String>,
    /// `CCToken`: quick-pay token.
    #[serde(rename = "CCToken", skip_serializing_if = "Option::is_none", default)]
    pub cc_token: Option<String>,
}

impl CardParam {
    /// Capture immediately after authorisation (`AutoBilling=Y`).
    #[must_use]
    pub fn auto_capture() -> Self {
        Self {
            auto_billing: Flag::Yes,
            exp_billing_days: None,
            exp_minutes: None,
            pay_type_sub: None,
            staging: None,
            cc_token: None,
        }
    }

    /// Authorise now, capture automatically after `days` (1–7) unless captured or voided first.
    #[must_use]
    pub fn capture_after_days(days: u8) -> Self {
        Self {
            auto_billing: Flag::No,
            exp_billing_days: Some(days),
            ..Self::auto_capture()
        }
    }

    /// Sets `ExpMinutes` (1–30).
    #[must_use]
    pub fn exp_minutes(mut self, minutes: u8) -> Self {
        self.exp_minutes = Some(minutes);
        self
    }

    fn validate(&self) -> Result<(), ValidationError> {
        match (&self.auto_billing, self.exp_billing_days) {
            (Flag::No, None) => {
                return Err(ValidationError::new(
                    "CardParam.ExpBillingDays",
                    Problem::Missing,
                ));
            }
            (Flag::Yes | Flag::No, _) => {}
            (Flag::Other(_), _) => {
                return Err(ValidationError::new(
                    "CardParam.AutoBilling",
                    Problem::Format("Y or N"),
                ));
            }
        }
        if let Some(days) = self.exp_billing_days {
            validate::range("CardParam.ExpBillingDays", u64::from(days), 1, 7)?;
        }
        if let Some(minutes) = self.exp_minutes {
            validate::range("CardParam.ExpMinutes", u64::from(minutes), 1, 30)?;
        }
        validate::opt_text("CardParam.PayTypeSub", self.pay_type_sub.as_deref(), 10)?;
        validate::opt_text("CardParam.Staging", self.staging.as_deref(), 10)?;
        validate::opt_text("CardParam.CCToken", self.cc_token.as_deref(), 100)?;
        Ok(())
    }
}

/// Limits that depend on the merchant's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest ATM amount; `None` to skip the check. Default NT$30,000 ([`Amount::ATM_CAP`]).
    pub atm_cap: Option<Amount>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            atm_cap: Some(Amount::ATM_CAP),
        }
    }
}

/// `OrderCreate` request: create an ATM (virtual account) or card order.
///
/// ```
/// use sinopac_proto::{Amount, BankDate, OrderCreateRequest, OrderNo, ShopNo, Request};
/// let req = OrderCreateRequest::atm(
///     ShopNo::new("NA0249_001")?,
///     OrderNo::new("A202611250001")?,
///     Amount::from_ntd(500).unwrap(),
///     "虛擬帳號訂單",
///     BankDate::parse("20261130")?,
/// )
/// .backend_url("https://shop.example/sinopac/backend");
/// req.validate()?;
/// # Ok::<(), sinopac_proto::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreateRequest {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `OrderNo`: unique per shop.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// `Amount` in 1/100 NTD.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// `CurrencyID`: `TWD`.
    #[serde(rename = "CurrencyID")]
    pub currency_id: String,
    /// `PayType`: `A` or `C`.
    #[serde(rename = "PayType")]
    pub pay_type: PayType,
    /// `ATMParam` (ATM orders).
    #[serde(
        rename = "ATMParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub atm_param: Option<AtmParam>,
    /// `CardParam` (card orders).
    #[serde(
        rename = "CardParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub card_param: Option<CardParam>,
    /// `PrdtName`: shown on the pay page, at most 60 bytes.
    #[serde(rename = "PrdtName")]
    pub prdt_name: String,
    /// `Memo`, at most 30 bytes.
    #[serde(rename = "Memo", skip_serializing_if = "Option::is_none", default)]
    pub memo: Option<String>,
    /// `Param1`, echoed back.
    #[serde(rename = "Param1", skip_serializing_if = "Option::is_none", default)]
    pub param1: Option<String>,
    /// `Param2`, echoed back.
    #[serde(rename = "Param2", skip_serializing_if = "Option::is_none", default)]
    pub param2: Option<String>,
    /// `Param3`, echoed back.
    #[serde(rename = "Param3", skip_serializing_if = "Option::is_none", default)]
    pub param3: Option<String>,
    /// `ReturnURL`: where the buyer's browser is sent after paying.
    #[serde(rename = "ReturnURL", skip_serializing_if = "Option::is_none", default)]
    pub return_url: Option<String>,
    /// `BackendURL`: where the bank POSTs `{ShopNo, PayToken}`.
    #[serde(
        rename = "BackendURL",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub backend_url: Option<String>,
}

impl OrderCreateRequest {
    fn base(
        shop_no: ShopNo,
        order_no: OrderNo,
        amount: Amount,
        prdt_name: &str,
        pay_type: PayType,
    ) -> Self {
        Self {
            shop_no,
            order_no,
            amount,
            currency_id: "TWD".to_owned(),
            pay_type,
            atm_param: None,
            card_param: None,
            prdt_name: prdt_name.to_owned(),
            memo: None,
            param1: None,
            param2: None,
            param3: None,
            return_url: None,
            backend_url: None,
        }
    }

    /// An ATM order payable until the end of `expire_date`.
    #[must_use]
    pub fn atm(
        shop_no: ShopNo,
        order_no: OrderNo,
        amount: Amount,
        prdt_name: &str,
        expire_date: BankDate,
    ) -> Self {
        let mut req = Self::base(shop_no, order_no, amount, prdt_name, PayType::Atm);
        req.atm_param = Some(AtmParam { expire_date });
        req
    }

    /// A card order.
    #[must_use]
    pub fn card(
        shop_no: ShopNo,
        order_no: OrderNo,
        amount: Amount,
        prdt_name: &str,
        card: CardParam,
    ) -> Self {
        let mut req = Self::base(shop_no, order_no, amount, prdt_name, PayType::Card);
        req.card_param = Some(card);
        req
    }

    /// Sets `ReturnURL`.
    #[must_use]
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Sets `BackendURL`.
    #[must_use]
    pub fn backend_url(mut self, url: impl Into<String>) -> Self {
        self.backend_url = Some(url.into());
        self
    }

    /// Sets `Memo`.
    #[must_use]
    pub fn memo(mut self, memo: impl Into<String>) -> Self {
        self.memo = Some(memo.into());
        self
    }

    /// Sets `Param1`..`Param3` (echoed back in responses and `TSResultContent`).
    #[must_use]
    pub fn params(mut self, p1: Option<String>, p2: Option<String>, p3: Option<String>) -> Self {
        self.param1 = p1;
        self.param2 = p2;
        self.param3 = p3;
        self
    }

    /// Validates with contract-specific [`Limits`].
    ///
    /// # Errors
    /// The first offending field, by wire name.
    pub fn validate_with(&self, limits: &Limits) -> Result<(), ValidationError> {
        self.shop_no.validate()?;
        self.order_no.validate()?;
        self.amount.validate_positive("Amount")?;
        if self.currency_id != "TWD" {
            return Err(ValidationError::new("CurrencyID", Problem::Format("TWD")));
        }
        validate::text("PrdtName", &self.prdt_name, 60)?;
        validate::opt_text("Memo", self.memo.as_deref(), 30)?;
        validate::opt_text("Param1", self.param1.as_deref(), 255)?;
        validate::opt_text("Param2", self.param2.as_deref(), 255)?;
        validate::opt_text("Param3", self.param3.as_deref(), 255)?;
        for (field, url) in [
            ("ReturnURL", &self.return_url),
            ("BackendURL", &self.backend_url),
        ] {
            if let Some(url) = url {
                validate::text(field, url, 255)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(ValidationError::new(
                        field,
                        Problem::Format("an http:// or https:// URL"),
                    ));
                }
            }
        }
        match &self.pay_type {
            PayType::Atm => {
                if self.atm_param.is_none() {
                    return Err(ValidationError::new("ATMParam", Problem::Missing));
                }
                if self.card_param.is_some() {
                    return Err(ValidationError::new(
                        "CardParam",
                        Problem::NotAllowed("PayType is A"),
                    ));
                }
                if let Some(cap) = limits.atm_cap {
                    validate::range("Amount", self.amount.minor(), 1, cap.minor())?;
                }
            }
            PayType::Card => {
                let card = self
                    .card_param
                    .as_ref()
                    .ok_or(ValidationError::new("CardParam", Problem::Missing))?;
                if self.atm_param.is_some() {
                    return Err(ValidationError::new(
                        "ATMParam",
                        Problem::NotAllowed("PayType is C"),
                    ));
                }
                card.validate()?;
            }
            _ => {
                return Err(ValidationError::new(
                    "PayType",
                    Problem::Format("A (ATM) or C (card)"),
                ));
            }
        }
        Ok(())
    }
}

impl Request for OrderCreateRequest {
    const SERVICE: ApiService = ApiService::OrderCreate;
    type Response = OrderCreateResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.validate_with(&Limits::default())
    }
}

/// `ATMParam` of an `OrderCreate` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AtmPayInfo {
    /// `AtmPayNo`: the virtual account number the buyer transfers to (14 digits).
    #[serde(rename = "AtmPayNo", skip_serializing_if = "Option::is_none", default)]
    pub atm_pay_no: Option<String>,
    /// `WebAtmURL`: WebATM payment page.
    #[serde(rename = "WebAtmURL", skip_serializing_if = "Option::is_none", default)]
    pub web_atm_url: Option<String>,
    /// `OtpURL`: OTP payment page.
    #[serde(rename = "OtpURL", skip_serializing_if = "Option::is_none", default)]
    pub otp_url: Option<String>,
}

/// `CardParam` of an `OrderCreate` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CardPayInfo {
    /// `CardPayURL`: redirect the buyer here.
    #[serde(
        rename = "CardPayURL",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub card_pay_url: Option<String>,
}

/// `MobileParam` of an `OrderCreate` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MobilePayInfo {
    /// `MobilePayURL`.
    #[serde(
        rename = "MobilePayURL",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub mobile_pay_url: Option<String>,
}

/// `OrderCreate` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreateResponse {
    /// `OrderNo` (echo).
    #[serde(rename = "OrderNo", skip_serializing_if = "Option::is_none", default)]
    pub order_no: Option<OrderNo>,
    /// `ShopNo` (echo).
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `TSNo`: the bank's transaction number.
    #[serde(rename = "TSNo", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `Amount` (echo).
    #[serde(rename = "Amount", skip_serializing_if = "Option::is_none", default)]
    pub amount: Option<Amount>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `Param1` (echo).
    #[serde(rename = "Param1", skip_serializing_if = "Option::is_none", default)]
    pub param1: Option<String>,
    /// `Param2` (echo).
    #[serde(rename = "Param2", skip_serializing_if = "Option::is_none", default)]
    pub param2: Option<String>,
    /// `Param3` (echo).
    #[serde(rename = "Param3", skip_serializing_if = "Option::is_none", default)]
    pub param3: Option<String>,
    /// `PayType` (echo).
    #[serde(rename = "PayType", skip_serializing_if = "Option::is_none", default)]
    pub pay_type: Option<PayType>,
    /// `ATMParam` (ATM orders).
    #[serde(
        rename = "ATMParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub atm_param: Option<AtmPayInfo>,
    /// `CardParam` (card orders).
    #[serde(
        rename = "CardParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub card_param: Option<CardPayInfo>,
    /// `MobileParam` (mobile / LINE Pay).
    #[serde(
        rename = "MobileParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub mobile_param: Option<MobilePayInfo>,
}

// ------------------------------------------------------------------------------------------------
// OrderQuery

/// Conditions of an `OrderQuery`. At least one condition is present by construction: start with
/// one of the constructors, then narrow with the chaining methods.
///
/// ```
/// use sinopac_proto::{BankTime, OrderQueryRequest, PayFlag, PayType, ShopNo};
/// let q = OrderQueryRequest::by_order_date(
///     ShopNo::new("NA0249_001")?,
///     BankTime::parse("202611010000")?,
///     BankTime::parse("202611302359")?,
/// )?
/// .pay_type(PayType::Atm)
/// .pay_flag(PayFlag::Paid);
/// # Ok::<(), sinopac_proto::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OrderQueryWire")]
pub struct OrderQueryRequest {
    #[serde(rename = "ShopNo")]
    shop_no: ShopNo,
    #[serde(rename = "OrderNo", skip_serializing_if = "Option::is_none")]
    order_no: Option<OrderNo>,
    #[serde(rename = "PayType", skip_serializing_if = "Option::is_none")]
    pay_type: Option<PayType>,
    #[serde(rename = "OrderDateTimeS", skip_serializing_if = "Option::is_none")]
    order_date_time_s: Option<BankTime>,
    #[serde(rename = "OrderDateTimeE", skip_serializing_if = "Option::is_none")]
    order_date_time_e: Option<BankTime>,
    #[serde(rename = "PayDateTimeS", skip_serializing_if = "Option::is_none")]
    pay_date_time_s: Option<BankTime>,
    #[serde(rename = "PayDateTimeE", skip_serializing_if = "Option::is_none")]
    pay_date_time_e: Option<BankTime>,
    #[serde(rename = "PayFlag", skip_serializing_if = "Option::is_none")]
    pay_flag: Option<PayFlag>,
}

/// Which date an `OrderQuery` range filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateField {
    /// `OrderDateTimeS`/`E`: when the order was created.
    Order,
    /// `PayDateTimeS`/`E`: when it was paid.
    Pay,
}

fn check_range(start: BankTime, end: BankTime) -> Result<(), ValidationError> {
    if start > end {
        return Err(ValidationError::new(
            "DateTimeE",
            Problem::Conflict("the range ends before it starts"),
        ));
    }
    Ok(())
}

impl OrderQueryRequest {
    fn empty(shop_no: ShopNo) -> Self {
        Self {
            shop_no,
            order_no: None,
            pay_type: None,
            order_date_time_s: None,
            order_date_time_e: None,
            pay_date_time_s: None,
            pay_date_time_e: None,
            pay_flag: None,
        }
    }

    /// One order by `OrderNo`.
    #[must_use]
    pub fn by_order_no(shop_no: ShopNo, order_no: OrderNo) -> Self {
        Self {
            order_no: Some(order_no),
            ..Self::empty(shop_no)
        }
    }

    /// Orders created between `start` and `end` (inclusive minutes, Taiwan time).
    ///
    /// # Errors
    /// If `start` is after `end`.
    pub fn by_order_date(
        shop_no: ShopNo,
        start: BankTime,
        end: BankTime,
    ) -> Result<Self, ValidationError> {
        Self::by_date(shop_no, DateField::Order, start, end)
    }

    /// Orders paid between `start` and `end` (inclusive minutes, Taiwan time).
    ///
    /// # Errors
    /// If `start` is after `end`.
    pub fn by_pay_date(
        shop_no: ShopNo,
        start: BankTime,
        end: BankTime,
    ) -> Result<Self, ValidationError> {
        Self::by_date(shop_no, DateField::Pay, start, end)
    }

    /// Orders in a date range of either kind.
    ///
    /// # Errors
    /// If `start` is after `end`.
    pub fn by_date(
        shop_no: ShopNo,
        field: DateField,
        start: BankTime,
        end: BankTime,
    ) -> Result<Self, ValidationError> {
        check_range(start, end)?;
        let mut q = Self::empty(shop_no);
        q.set_range(field, start, end);
        Ok(q)
    }

    /// Orders of one `PayType`.
    #[must_use]
    pub fn by_pay_type(shop_no: ShopNo, pay_type: PayType) -> Self {
        Self {
            pay_type: Some(pay_type),
            ..Self::empty(shop_no)
        }
    }

    /// Orders with one `PayFlag`.
    #[must_use]
    pub fn by_pay_flag(shop_no: ShopNo, pay_flag: PayFlag) -> Self {
        Self {
            pay_flag: Some(pay_flag),
            ..Self::empty(shop_no)
        }
    }

    fn set_range(&mut self, field: DateField, start: BankTime, end: BankTime) {
        match field {
            DateField::Order => {
                self.order_date_time_s = Some(start);
                self.order_date_time_e = Some(end);
            }
            DateField::Pay => {
                self.pay_date_time_s = Some(start);
                self.pay_date_time_e = Some(end);
            }
        }
    }

    /// Narrows to one `PayType`.
    #[must_use]
    pub fn pay_type(mut self, pay_type: PayType) -> Self {
        self.pay_type = Some(pay_type);
        self
    }

    /// Narrows to one `PayFlag`.
    #[must_use]
    pub fn pay_flag(mut self, pay_flag: PayFlag) -> Self {
        self.pay_flag = Some(pay_flag);
        self
    }

    /// Narrows to one `OrderNo`.
    #[must_use]
    pub fn order_no(mut self, order_no: OrderNo) -> Self {
        self.order_no = Some(order_no);
        self
    }

    /// Replaces (or adds) a date range.
    ///
    /// # Errors
    /// If `start` is after `end`.
    pub fn with_range(
        mut self,
        field: DateField,
        start: BankTime,
        end: BankTime,
    ) -> Result<Self, ValidationError> {
        check_range(start, end)?;
        self.set_range(field, start, end);
        Ok(self)
    }

    /// The `OrderNo` condition.
    #[must_use]
    pub fn order_no_condition(&self) -> Option<&OrderNo> {
        self.order_no.as_ref()
    }
    /// The `PayType` condition.
    #[must_use]
    pub fn pay_type_condition(&self) -> Option<&PayType> {
        self.pay_type.as_ref()
    }
    /// The `PayFlag` condition.
    #[must_use]
    pub fn pay_flag_condition(&self) -> Option<&PayFlag> {
        self.pay_flag.as_ref()
    }
    /// The date range on `field`, if set.
    #[must_use]
    pub fn range(&self, field: DateField) -> Option<(BankTime, BankTime)> {
        match field {
            DateField::Order => self.order_date_time_s.zip(self.order_date_time_e),
            DateField::Pay => self.pay_date_time_s.zip(self.pay_date_time_e),
        }
    }
}

/// The unchecked wire form; converted with the "at least one condition" rule.
#[derive(Deserialize)]
struct OrderQueryWire {
    #[serde(rename = "ShopNo")]
    shop_no: ShopNo,
    #[serde(rename = "OrderNo", default, deserialize_with = "lenient::opt")]
    order_no: Option<OrderNo>,
    #[serde(rename = "PayType", default, deserialize_with = "lenient::opt")]
    pay_type: Option<PayType>,
    #[serde(rename = "OrderDateTimeS", default, deserialize_with = "lenient::opt")]
    order_date_time_s: Option<BankTime>,
    #[serde(rename = "OrderDateTimeE", default, deserialize_with = "lenient::opt")]
    order_date_time_e: Option<BankTime>,
    #[serde(rename = "PayDateTimeS", default, deserialize_with = "lenient::opt")]
    pay_date_time_s: Option<BankTime>,
    #[serde(rename = "PayDateTimeE", default, deserialize_with = "lenient::opt")]
    pay_date_time_e: Option<BankTime>,
    #[serde(rename = "PayFlag", default, deserialize_with = "lenient::opt")]
    pay_flag: Option<PayFlag>,
}

impl TryFrom<OrderQueryWire> for OrderQueryRequest {
    type Error = ValidationError;
    fn try_from(w: OrderQueryWire) -> Result<Self, ValidationError> {
        let q = Self {
            shop_no: w.shop_no,
            order_no: w.order_no,
            pay_type: w.pay_type,
            order_date_time_s: w.order_date_time_s,
            order_date_time_e: w.order_date_time_e,
            pay_date_time_s: w.pay_date_time_s,
            pay_date_time_e: w.pay_date_time_e,
            pay_flag: w.pay_flag,
        };
        q.check_conditions()?;
        Ok(q)
    }
}

impl OrderQueryRequest {
    fn check_conditions(&self) -> Result<(), ValidationError> {
        for (s, e, field) in [
            (
                self.order_date_time_s,
                self.order_date_time_e,
                "OrderDateTimeE",
            ),
            (self.pay_date_time_s, self.pay_date_time_e, "PayDateTimeE"),
        ] {
            match (s, e) {
                (Some(s), Some(e)) => check_range(s, e)?,
                (None, None) => {}
                _ => {
                    return Err(ValidationError::new(
                        field,
                        Problem::Conflict("a range needs both its start and its end"),
                    ));
                }
            }
        }
        let any = self.order_no.is_some()
            || self.pay_type.is_some()
            || self.order_date_time_s.is_some()
            || self.pay_date_time_s.is_some()
            || self.pay_flag.is_some();
        if any {
            Ok(())
        } else {
            Err(ValidationError::new(
                "OrderQuery",
                Problem::Conflict(
                    "at least one of OrderNo, PayType, a date range or PayFlag is required",
                ),
            ))
        }
    }
}

impl Request for OrderQueryRequest {
    const SERVICE: ApiService = ApiService::OrderQuery;
    type Response = OrderQueryResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.shop_no.validate()?;
        if let Some(o) = &self.order_no {
            o.validate()?;
        }
        self.check_conditions()
    }
}

/// `ATMParam` of an `OrderList` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderAtmInfo {
    /// `AtmPayNo`.
    #[serde(rename = "AtmPayNo", skip_serializing_if = "Option::is_none", default)]
    pub atm_pay_no: Option<String>,
    /// `WebAtmURL`.
    #[serde(rename = "WebAtmURL", skip_serializing_if = "Option::is_none", default)]
    pub web_atm_url: Option<String>,
    /// `OtpURL`.
    #[serde(rename = "OtpURL", skip_serializing_if = "Option::is_none", default)]
    pub otp_url: Option<String>,
    /// `BankNo` of the payer (e.g. `807`).
    #[serde(rename = "BankNo", skip_serializing_if = "Option::is_none", default)]
    pub bank_no: Option<String>,
    /// `AcctNo` of the payer.
    #[serde(rename = "AcctNo", skip_serializing_if = "Option::is_none", default)]
    pub acct_no: Option<String>,
}

/// `CardParam` of an `OrderList` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderCardInfo {
    /// `CardPayURL`.
    #[serde(
        rename = "CardPayURL",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub card_pay_url: Option<String>,
    /// `LeftCCNo`: first 6 digits.
    #[serde(rename = "LeftCCNo", skip_serializing_if = "Option::is_none", default)]
    pub left_cc_no: Option<String>,
    /// `RightCCNo`: last 4 digits.
    #[serde(rename = "RightCCNo", skip_serializing_if = "Option::is_none", default)]
    pub right_cc_no: Option<String>,
    /// `AuthCode`.
    #[serde(rename = "AuthCode", skip_serializing_if = "Option::is_none", default)]
    pub auth_code: Option<String>,
    /// `CCExpDate`.
    #[serde(rename = "CCExpDate", skip_serializing_if = "Option::is_none", default)]
    pub cc_exp_date: Option<String>,
    /// `CCToken`.
    #[serde(rename = "CCToken", skip_serializing_if = "Option::is_none", default)]
    pub cc_token: Option<String>,
}

/// One row of `OrderQuery`'s `OrderList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderListItem {
    /// `OrderNo`.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// `TSNo`.
    #[serde(rename = "TSNo", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `TSDate`: when the order was created.
    #[serde(
        rename = "TSDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub ts_date: Option<BankTime>,
    /// `ApprovedDate`: card authorisation time.
    #[serde(
        rename = "ApprovedDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub approved_date: Option<BankTime>,
    /// `PayDate`: payment / capture time.
    #[serde(
        rename = "PayDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub pay_date: Option<BankTime>,
    /// `Amount`.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// `PayType`.
    #[serde(rename = "PayType")]
    pub pay_type: PayType,
    /// `PayStatus`.
    #[serde(rename = "PayStatus")]
    pub pay_status: PayStatus,
    /// `ExpireDate` (`yyyyMMddHHmm`).
    #[serde(
        rename = "ExpireDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub expire_date: Option<BankTime>,
    /// `RefundFlag`.
    #[serde(
        rename = "RefundFlag",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub refund_flag: Option<Flag>,
    /// `RefundStatus` (codes unpublished; kept verbatim).
    #[serde(
        rename = "RefundStatus",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub refund_status: Option<String>,
    /// `RefundDate`.
    #[serde(
        rename = "RefundDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub refund_date: Option<BankTime>,
    /// `RefundAmount`.
    #[serde(
        rename = "RefundAmount",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub refund_amount: Option<Amount>,
    /// `PrdtName`.
    #[serde(rename = "PrdtName", skip_serializing_if = "Option::is_none", default)]
    pub prdt_name: Option<String>,
    /// `Memo`.
    #[serde(rename = "Memo", skip_serializing_if = "Option::is_none", default)]
    pub memo: Option<String>,
    /// `Param1`.
    #[serde(rename = "Param1", skip_serializing_if = "Option::is_none", default)]
    pub param1: Option<String>,
    /// `Param2`.
    #[serde(rename = "Param2", skip_serializing_if = "Option::is_none", default)]
    pub param2: Option<String>,
    /// `Param3`.
    #[serde(rename = "Param3", skip_serializing_if = "Option::is_none", default)]
    pub param3: Option<String>,
    /// `ATMParam`.
    #[serde(
        rename = "ATMParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub atm_param: Option<OrderAtmInfo>,
    /// `CardParam`.
    #[serde(
        rename = "CardParam",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub card_param: Option<OrderCardInfo>,
}

/// `OrderQuery` response (at most 300 rows; see `sinopac-http`'s `query_all` for more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderQueryResponse {
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `Date`: message time.
    #[serde(
        rename = "Date",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub date: Option<BankTime>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `OrderList`.
    #[serde(rename = "OrderList", default, deserialize_with = "null_as_empty")]
    pub order_list: Vec<OrderListItem>,
}

/// The most rows one `OrderQuery` answer carries.
pub const ORDER_QUERY_MAX_ROWS: usize = 300;

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(lenient::opt::<D, Vec<T>>(d)?.unwrap_or_default())
}

// ------------------------------------------------------------------------------------------------
// OrderPayQuery

/// `OrderPayQuery` request: resolve a PayToken from a callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPayQueryRequest {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `PayToken`.
    #[serde(rename = "PayToken")]
    pub pay_token: PayToken,
}

impl Request for OrderPayQueryRequest {
    const SERVICE: ApiService = ApiService::OrderPayQuery;
    type Response = OrderPayQueryResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.shop_no.validate()?;
        self.pay_token.validate()
    }
}

/// `TSResultContent`: the payment result behind a PayToken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsResultContent {
    /// `APType` (`PayOut`).
    #[serde(rename = "APType", skip_serializing_if = "Option::is_none", default)]
    pub ap_type: Option<ApType>,
    /// `TSNo`.
    #[serde(rename = "TSNo", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `OrderNo`.
    #[serde(rename = "OrderNo", skip_serializing_if = "Option::is_none", default)]
    pub order_no: Option<OrderNo>,
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `PayType`.
    #[serde(rename = "PayType", skip_serializing_if = "Option::is_none", default)]
    pub pay_type: Option<PayType>,
    /// `Amount` — a JSON **string** on the wire here.
    #[serde(
        rename = "Amount",
        skip_serializing_if = "Option::is_none",
        default,
        with = "amount_as_string"
    )]
    pub amount: Option<Amount>,
    /// `Status`: whether the payment succeeded.
    #[serde(rename = "Status", skip_serializing_if = "Option::is_none", default)]
    pub status: Option<Status>,
    /// `Description` (often empty).
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `Param1`.
    #[serde(rename = "Param1", skip_serializing_if = "Option::is_none", default)]
    pub param1: Option<String>,
    /// `Param2`.
    #[serde(rename = "Param2", skip_serializing_if = "Option::is_none", default)]
    pub param2: Option<String>,
    /// `Param3`.
    #[serde(rename = "Param3", skip_serializing_if = "Option::is_none", default)]
    pub param3: Option<String>,
    /// `PayDate`.
    #[serde(
        rename = "PayDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub pay_date: Option<BankTime>,
    /// `LeftCCNo` (card).
    #[serde(rename = "LeftCCNo", skip_serializing_if = "Option::is_none", default)]
    pub left_cc_no: Option<String>,
    /// `RightCCNo` (card).
    #[serde(rename = "RightCCNo", skip_serializing_if = "Option::is_none", default)]
    pub right_cc_no: Option<String>,
    /// `CCExpDate` (card).
    #[serde(rename = "CCExpDate", skip_serializing_if = "Option::is_none", default)]
    pub cc_exp_date: Option<String>,
    /// `CCToken` (card).
    #[serde(rename = "CCToken", skip_serializing_if = "Option::is_none", default)]
    pub cc_token: Option<String>,
    /// `AuthCode` (card).
    #[serde(rename = "AuthCode", skip_serializing_if = "Option::is_none", default)]
    pub auth_code: Option<String>,
}

/// `OrderPayQuery` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPayQueryResponse {
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `PayToken` (echo).
    #[serde(rename = "PayToken", skip_serializing_if = "Option::is_none", default)]
    pub pay_token: Option<PayToken>,
    /// `Date`.
    #[serde(
        rename = "Date",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub date: Option<BankTime>,
    /// `Status` of the query itself.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `TSResultContent`.
    #[serde(
        rename = "TSResultContent",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub ts_result_content: Option<TsResultContent>,
}

// ------------------------------------------------------------------------------------------------
// OrderUnCapturedQuery

/// `OrderUnCapturedQuery` request: card orders authorised but not captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUnCapturedQueryRequest {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `OrderNo`: one order, or all when absent.
    #[serde(
        rename = "OrderNo",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub order_no: Option<OrderNo>,
}

impl Request for OrderUnCapturedQueryRequest {
    const SERVICE: ApiService = ApiService::OrderUnCapturedQuery;
    type Response = OrderUnCapturedQueryResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.shop_no.validate()?;
        self.order_no.as_ref().map_or(Ok(()), OrderNo::validate)
    }
}

/// One row of `OrderUnCapturedQuery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnCapturedOrder {
    /// `OrderNo`.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// `TSNo`.
    #[serde(rename = "TSNo", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `TSDate`.
    #[serde(
        rename = "TSDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub ts_date: Option<BankTime>,
    /// `ApprovedDate`.
    #[serde(
        rename = "ApprovedDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub approved_date: Option<BankTime>,
    /// `ExpireDate`: when automatic capture happens.
    #[serde(
        rename = "ExpireDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub expire_date: Option<BankTime>,
    /// `Amount`.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// `PayType`.
    #[serde(rename = "PayType", skip_serializing_if = "Option::is_none", default)]
    pub pay_type: Option<PayType>,
    /// `PrdtName`.
    #[serde(rename = "PrdtName", skip_serializing_if = "Option::is_none", default)]
    pub prdt_name: Option<String>,
    /// `Memo`.
    #[serde(rename = "Memo", skip_serializing_if = "Option::is_none", default)]
    pub memo: Option<String>,
    /// `PayStatus`.
    #[serde(rename = "PayStatus", skip_serializing_if = "Option::is_none", default)]
    pub pay_status: Option<PayStatus>,
}

/// `OrderUnCapturedQuery` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUnCapturedQueryResponse {
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `Date`.
    #[serde(
        rename = "Date",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub date: Option<BankTime>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `OrderList`.
    #[serde(rename = "OrderList", default, deserialize_with = "null_as_empty")]
    pub order_list: Vec<UnCapturedOrder>,
}

// ------------------------------------------------------------------------------------------------
// OrderMaintain

/// `OrderMaintain` request: capture (`P`), void (`C`) or refund (`R`) a card order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderMaintainRequest {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `OrderNo`.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// `Command`.
    #[serde(rename = "Command")]
    pub command: Command,
    /// `Amount`: partial amount; absent = the full amount.
    #[serde(rename = "Amount", skip_serializing_if = "Option::is_none", default)]
    pub amount: Option<Amount>,
    /// `Remark`: e.g. the refund reason.
    #[serde(rename = "Remark", skip_serializing_if = "Option::is_none", default)]
    pub remark: Option<String>,
}

impl OrderMaintainRequest {
    /// A maintain request for the full amount.
    #[must_use]
    pub fn new(shop_no: ShopNo, order_no: OrderNo, command: Command) -> Self {
        Self {
            shop_no,
            order_no,
            command,
            amount: None,
            remark: None,
        }
    }
    /// Capture the authorisation.
    #[must_use]
    pub fn capture(shop_no: ShopNo, order_no: OrderNo) -> Self {
        Self::new(shop_no, order_no, Command::Capture)
    }
    /// Void the authorisation.
    #[must_use]
    pub fn void(shop_no: ShopNo, order_no: OrderNo) -> Self {
        Self::new(shop_no, order_no, Command::Void)
    }
    /// Refund; `amount` `None` refunds everything not yet refunded.
    #[must_use]
    pub fn refund(shop_no: ShopNo, order_no: OrderNo, amount: Option<Amount>) -> Self {
        Self {
            amount,
            ..Self::new(shop_no, order_no, Command::Refund)
        }
    }
    /// Sets `Remark`.
    #[must_use]
    pub fn remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }
}

impl Request for OrderMaintainRequest {
    const SERVICE: ApiService = ApiService::OrderMaintain;
    type Response = OrderMaintainResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.shop_no.validate()?;
        self.order_no.validate()?;
        if !self.command.is_known() {
            return Err(ValidationError::new(
                "Command",
                Problem::Format("P (capture), C (void) or R (refund)"),
            ));
        }
        if let Some(a) = self.amount {
            a.validate_positive("Amount")?;
            if self.command == Command::Void {
                return Err(ValidationError::new(
                    "Amount",
                    Problem::NotAllowed("a void cancels the whole authorisation"),
                ));
            }
        }
        validate::opt_text("Remark", self.remark.as_deref(), 100)
    }
}

/// `OrderMaintain` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderMaintainResponse {
    /// `OrderNo`.
    #[serde(rename = "OrderNo", skip_serializing_if = "Option::is_none", default)]
    pub order_no: Option<OrderNo>,
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `TSNo`.
    #[serde(rename = "TSNo", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `Command` (echo).
    #[serde(rename = "Command", skip_serializing_if = "Option::is_none", default)]
    pub command: Option<Command>,
    /// `Amount` affected.
    #[serde(rename = "Amount", skip_serializing_if = "Option::is_none", default)]
    pub amount: Option<Amount>,
    /// `Date`.
    #[serde(
        rename = "Date",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub date: Option<BankTime>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
}

// ------------------------------------------------------------------------------------------------
// BillQuery

/// `BillQuery` request: receipts and refunds of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillQueryRequest {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `BillDate` (`yyyyMMdd`; the format is not confirmed, PROTOCOL.md §14.9).
    #[serde(rename = "BillDate")]
    pub bill_date: BankDate,
}

impl Request for BillQueryRequest {
    const SERVICE: ApiService = ApiService::BillQuery;
    type Response = BillQueryResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.shop_no.validate()
    }
}

/// One row of `BillQuery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillItem {
    /// `TSNo`.
    #[serde(rename = "TSNo", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `OrderNo`.
    #[serde(rename = "OrderNo")]
    pub order_no: OrderNo,
    /// `TSType`: receipt or refund.
    #[serde(rename = "TSType")]
    pub ts_type: TsType,
    /// `TSDate`.
    #[serde(
        rename = "TSDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub ts_date: Option<BankTime>,
    /// `PayDate`.
    #[serde(
        rename = "PayDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub pay_date: Option<BankTime>,
    /// `PayType`.
    #[serde(rename = "PayType", skip_serializing_if = "Option::is_none", default)]
    pub pay_type: Option<PayType>,
    /// `Amount`.
    #[serde(rename = "Amount")]
    pub amount: Amount,
    /// `Param1`.
    #[serde(rename = "Param1", skip_serializing_if = "Option::is_none", default)]
    pub param1: Option<String>,
    /// `Param2`.
    #[serde(rename = "Param2", skip_serializing_if = "Option::is_none", default)]
    pub param2: Option<String>,
    /// `Param3`.
    #[serde(rename = "Param3", skip_serializing_if = "Option::is_none", default)]
    pub param3: Option<String>,
}

/// `BillQuery` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillQueryResponse {
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `Date`.
    #[serde(
        rename = "Date",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub date: Option<BankTime>,
    /// `BillDate` (echo, kept as text).
    #[serde(rename = "BillDate", skip_serializing_if = "Option::is_none", default)]
    pub bill_date: Option<String>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `OrderList`.
    #[serde(rename = "OrderList", default, deserialize_with = "null_as_empty")]
    pub order_list: Vec<BillItem>,
}

// ------------------------------------------------------------------------------------------------
// AllotQuery

/// `AllotQuery` request: payouts to the merchant in a date range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotQueryRequest {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `AllotDateS` (`yyyyMMdd`; unconfirmed format).
    #[serde(rename = "AllotDateS")]
    pub allot_date_s: BankDate,
    /// `AllotDateE` (`yyyyMMdd`; unconfirmed format).
    #[serde(rename = "AllotDateE")]
    pub allot_date_e: BankDate,
    /// `PayType`.
    #[serde(
        rename = "PayType",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub pay_type: Option<PayType>,
}

impl Request for AllotQueryRequest {
    const SERVICE: ApiService = ApiService::AllotQuery;
    type Response = AllotQueryResponse;
    fn shop_no(&self) -> &ShopNo {
        &self.shop_no
    }
    fn validate(&self) -> Result<(), ValidationError> {
        self.shop_no.validate()?;
        if self.allot_date_s > self.allot_date_e {
            return Err(ValidationError::new(
                "AllotDateE",
                Problem::Conflict("the range ends before it starts"),
            ));
        }
        Ok(())
    }
}

/// One transaction inside an allotment (note the bank's `TSNO` / `OrderNO` spelling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotTransaction {
    /// `TSNO`.
    #[serde(rename = "TSNO", skip_serializing_if = "Option::is_none", default)]
    pub ts_no: Option<String>,
    /// `OrderNO`.
    #[serde(rename = "OrderNO", skip_serializing_if = "Option::is_none", default)]
    pub order_no: Option<OrderNo>,
    /// `PayDate`.
    #[serde(
        rename = "PayDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub pay_date: Option<BankTime>,
    /// `Amount`.
    #[serde(rename = "Amount", skip_serializing_if = "Option::is_none", default)]
    pub amount: Option<Amount>,
    /// `Fee`.
    #[serde(rename = "Fee", skip_serializing_if = "Option::is_none", default)]
    pub fee: Option<Amount>,
    /// `TSType`.
    #[serde(rename = "TSType", skip_serializing_if = "Option::is_none", default)]
    pub ts_type: Option<TsType>,
}

/// One allotment (payout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotItem {
    /// `AllotNo`.
    #[serde(rename = "AllotNo", skip_serializing_if = "Option::is_none", default)]
    pub allot_no: Option<String>,
    /// `AllotDate` (`yyyyMMdd`; a number in the C# model).
    #[serde(
        rename = "AllotDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub allot_date: Option<BankDate>,
    /// `PayType`.
    #[serde(rename = "PayType", skip_serializing_if = "Option::is_none", default)]
    pub pay_type: Option<PayType>,
    /// `PayAmount`: receipts.
    #[serde(rename = "PayAmount", skip_serializing_if = "Option::is_none", default)]
    pub pay_amount: Option<Amount>,
    /// `RefundAmount`: refunds.
    #[serde(
        rename = "RefundAmount",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub refund_amount: Option<Amount>,
    /// `FeeAmount`: fees.
    #[serde(rename = "FeeAmount", skip_serializing_if = "Option::is_none", default)]
    pub fee_amount: Option<Amount>,
    /// `ExtAllotAmount`.
    #[serde(
        rename = "ExtAllotAmount",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub ext_allot_amount: Option<Amount>,
    /// `AllotAmount`: paid out.
    #[serde(
        rename = "AllotAmount",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub allot_amount: Option<Amount>,
    /// `Account`: the merchant account credited.
    #[serde(rename = "Account", skip_serializing_if = "Option::is_none", default)]
    pub account: Option<String>,
    /// `List`: the transactions.
    #[serde(rename = "List", default, deserialize_with = "null_as_empty")]
    pub list: Vec<AllotTransaction>,
}

/// `AllotQuery` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotQueryResponse {
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `Date`.
    #[serde(
        rename = "Date",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient::opt"
    )]
    pub date: Option<BankTime>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    /// `Allot`.
    #[serde(rename = "Allot", default, deserialize_with = "null_as_empty")]
    pub allot: Vec<AllotItem>,
}

impl_response!(
    OrderCreateResponse,
    OrderQueryResponse,
    OrderPayQueryResponse,
    OrderUnCapturedQueryResponse,
    OrderMaintainResponse,
    BillQueryResponse,
    AllotQueryResponse
);

/// A minimal reply carrying only `Status`/`Description` (e.g. a simulator's or bank's error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOnly {
    /// `ShopNo`.
    #[serde(rename = "ShopNo", skip_serializing_if = "Option::is_none", default)]
    pub shop_no: Option<ShopNo>,
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
    /// `Description`.
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
}
impl_response!(StatusOnly);

#[cfg(test)]
mod tests {
    use super::*;

    fn atm(amount: u64, name: &str) -> OrderCreateRequest {
        OrderCreateRequest::atm(
            ShopNo::new("NA0249_001").unwrap(),
            OrderNo::new("A1").unwrap(),
            Amount::from_minor(amount),
            name,
            BankDate::parse("20261130").unwrap(),
        )
    }

    fn card(param: CardParam) -> OrderCreateRequest {
        OrderCreateRequest::card(
            ShopNo::new("NA0249_001").unwrap(),
            OrderNo::new("C1").unwrap(),
            Amount::from_minor(50000),
            "x",
            param,
        )
    }

    fn field_of(r: Result<(), ValidationError>) -> &'static str {
        r.unwrap_err().field
    }

    #[test]
    fn order_create_validation_names_the_field() {
        assert!(atm(50000, "虛擬帳號訂單").validate().is_ok());
        // PrdtName counts UTF-8 bytes: 20 CJK characters = 60 bytes is the limit.
        assert!(atm(50000, &"中".repeat(20)).validate().is_ok());
        let e = atm(50000, &"中".repeat(21)).validate().unwrap_err();
        assert_eq!(e.field, "PrdtName");
        assert_eq!(
            e.problem,
            Problem::TooLong {
                max: 60,
                actual: 63
            }
        );
        assert_eq!(field_of(atm(50000, "50% off").validate()), "PrdtName");
        assert_eq!(field_of(atm(50000, "it's").validate()), "PrdtName");
        assert_eq!(field_of(atm(50000, " padded").validate()), "PrdtName");
        assert_eq!(field_of(atm(0, "x").validate()), "Amount");
        // ATM cap NT$30,000 by default, configurable.
        assert!(atm(3_000_000, "x").validate().is_ok());
        assert_eq!(field_of(atm(3_000_001, "x").validate()), "Amount");
        assert!(
            atm(3_000_001, "x")
                .validate_with(&Limits { atm_cap: None })
                .is_ok()
        );
        assert_eq!(
            field_of(atm(1, "x").memo("m".repeat(31)).validate()),
            "Memo"
        );
        assert_eq!(
            field_of(atm(1, "x").backend_url("ftp://x").validate()),
            "BackendURL"
        );
        assert_eq!(
            field_of(atm(1, "x").return_url("https://x/\"a").validate()),
            "ReturnURL"
        );
        let mut both = atm(1, "x");
        both.card_param = Some(CardParam::auto_capture());
        assert_eq!(field_of(both.validate()), "CardParam");
    }

    #[test]
    fn card_param_ranges() {
        assert!(card(CardParam::auto_capture()).validate().is_ok());
        assert!(
            card(CardParam::capture_after_days(7).exp_minutes(30))
                .validate()
                .is_ok()
        );
        assert_eq!(
            field_of(card(CardParam::capture_after_days(0)).validate()),
            "CardParam.ExpBillingDays"
        );
        assert_eq!(
            field_of(card(CardParam::capture_after_days(8)).validate()),
            "CardParam.ExpBillingDays"
        );
        assert_eq!(
            field_of(card(CardParam::auto_capture().exp_minutes(0)).validate()),
            "CardParam.ExpMinutes"
        );
        assert_eq!(
            field_of(card(CardParam::auto_capture().exp_minutes(31)).validate()),
            "CardParam.ExpMinutes"
        );
        let mut no_days = CardParam::capture_after_days(3);
        no_days.exp_billing_days = None;
        assert_eq!(
            field_of(card(no_days).validate()),
            "CardParam.ExpBillingDays"
        );
    }

    #[test]
    fn order_query_needs_a_condition_when_parsed() {
        let e =
            serde_json::from_str::<OrderQueryRequest>(r#"{"ShopNo":"NA0249_001","OrderNo":""}"#)
                .unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
        let half = serde_json::from_str::<OrderQueryRequest>(
            r#"{"ShopNo":"S","OrderDateTimeS":"202611010000"}"#,
        );
        assert!(half.is_err());
        let q: OrderQueryRequest = serde_json::from_str(r#"{"ShopNo":"S","PayFlag":"O"}"#).unwrap();
        assert_eq!(q.pay_flag_condition(), Some(&PayFlag::Expired));
        let start = BankTime::parse("202611020000").unwrap();
        let end = BankTime::parse("202611010000").unwrap();
        assert!(OrderQueryRequest::by_order_date(ShopNo::new("S").unwrap(), start, end).is_err());
    }

    #[test]
    fn maintain_rules() {
        let s = ShopNo::new("S").unwrap();
        let o = OrderNo::new("O").unwrap();
        assert!(
            OrderMaintainRequest::refund(s.clone(), o.clone(), Some(Amount::from_minor(1)))
                .validate()
                .is_ok()
        );
        let mut void = OrderMaintainRequest::void(s.clone(), o.clone());
        void.amount = Some(Amount::from_minor(1));
        assert_eq!(field_of(void.validate()), "Amount");
        assert_eq!(
            field_of(OrderMaintainRequest::refund(s, o, Some(Amount::from_minor(0))).validate()),
            "Amount"
        );
    }

    #[test]
    fn description_split() {
        assert_eq!(split_description("S0000 – 處理成功"), ("S0000", "處理成功"));
        assert_eq!(
            split_description("E0602 - 收款方式未啟用"),
            ("E0602", "收款方式未啟用")
        );
        assert_eq!(split_description("日期範圍不正確"), ("", "日期範圍不正確"));
    }
}
