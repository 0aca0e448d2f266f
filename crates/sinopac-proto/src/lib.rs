//! # sinopac-proto
//!
//! The wire protocol of Bank SinoPac's 豐收款 merchant API (QPay / funBIZ), as pure functions
//! and types: shop keys and the HashID, the nonce-derived IV, AES-256-CBC messages, the SHA-256
//! Sign, the `/Order` envelope, typed payloads for every documented service, and the two
//! callbacks (BackendURL notification, ReturnURL form post).
//!
//! ## What this crate does not do
//!
//! No I/O, no clock, no randomness: it never fetches a nonce, never reads the time and never
//! sends anything. The same inputs always give byte-identical output. HTTP, retries and the
//! 300-row query splitting live in `sinopac-http`; a simulated bank lives in `sinopac-sim`.
//!
//! ## Example: seal a request, open the reply
//!
//! ```
//! # const REPLY: &str = concat!(r#"{"Version":"1.0.0","ShopNo":"BA0026_001","APIService":"OrderCreate","#,
//! #   r#""Sign":"24CBD10DC8752BF5AEB55EC930F1D57638312D2BD1A7E3EBF0E45DA78721CF04","#,
//! #   r#""Nonce":"NjM2NjA0MzI4ODU1MDcuMzo1MzE5ZWIwNGZjNzZlZGJhOGM5M2U1YTM0Nzk2MGM5NThhZjJiMTFiYjNiYmZmNjk1ZGMzYTFlMTEyMDA0MGU2","#,
//! #   r#""Message":"8C3CFD579B58FDAC6C1DF8C8EB8B79F49DD533F8D8C5DC181074397D21E7364E26D347DF264C76A59886DEA58F742C068BB66D6918791797B4DC31245E8E621F3791938F0A716AC20BFDC50A268CF9FDAF01149B73F8E5A2D61928AB79E30CA35C7DD55698010FEC071C2628444348C7B628ED4DCEE281234C31617B5441A3C64466A824BC8907A2D8571F58C4F780EBBB5D6DD98631A867A807718FDD34833FFB2C72F2731D715A35F1BA145C8D1E656136623FFD60EFDAAB87EF1674EA1BD19868DCBC6552D48D9728AB020E75AA6E7804FB9D7FB4AA7E92F89DFFCFA9D263EE9B043AA7A8DB22ECA894F8D5621BF8E6DF5B250CCA9D1C499EF8896B64617FD9FCF142665EA3A660DC6B7296CFE03C80B6FC96CA5B805ADEE4AF9784FF1A6886FCE42C7FA4575FFF4D3AD302B583D08346DD4F876A7BF2B60D514CA021F62293E960458BF886C6CB746A6EEE0EBB3916EE6B861B32D75CE93F8988215D76DEFEE72F4429B2ED48A5AB8FF04683B409FF8072EB1C5E5162EDC625557328F506520AE3DBD2C19F6327AA97911BF2789373CE4DBBB6EC52A2EB9263ADAB1767B4FC7646440BA34E3716BC25E81A86FE5EF432E0C8D40A5BC25EDE8E2D1CC56A2C"}"#);
//! use sinopac_proto::{
//!     open, seal, Amount, BankDate, Keys, Nonce, OrderCreateRequest, OrderCreateResponse,
//!     OrderNo, Response, ShopNo, Status,
//! };
//!
//! // The documented example shop (PROTOCOL.md §3).
//! let keys = Keys::new("4D9709D699CA40EE", "5A4FEF83140C4E9E", "BC74301945134CB4", "961F67F8FCA44AB9")?;
//!
//! // A nonce from `POST {base}/Nonce` (here the one from the bank's document).
//! let nonce = Nonce::new("NjM2NjA0MzI4ODIyODguMzo3NzI0ZDg4ZmI5Nzc2YzQ1MTNhYzg2MTk3NDBlYTRhNGU0N2IxM2Q2M2JkMTIwOGU5YzZhMGFmNGY5MjA5YzVm")?;
//!
//! let request = OrderCreateRequest::atm(
//!     ShopNo::new("BA0026_001")?,
//!     OrderNo::new("A201804270001")?,
//!     Amount::from_ntd(500).unwrap(),
//!     "虛擬帳號訂單",
//!     BankDate::parse("20180502")?,
//! )
//! .return_url("http://10.11.22.113:8803/QPay.ApiClient/Store/Return")
//! .backend_url("http://10.11.22.113:8803/QPay.ApiClient/AutoPush/PushSuccess");
//!
//! let envelope = seal(&request, &nonce, &keys)?;
//! assert_eq!(envelope.sign, "A3EAEE3B361B7E7E9B0F6422B954ECA5D54CEC6EAB0880CB484AA6FDA4154331");
//! let body = serde_json::to_string(&envelope)?; // POST this to {base}/Order with X-KeyID.
//! # let _ = body;
//!
//! // The bank's reply carries a fresh nonce; `open` decrypts and verifies with it.
//! let reply: sinopac_proto::Envelope = serde_json::from_str(REPLY)?;
//! let payload: OrderCreateResponse = open(&reply, &keys)?;
//! assert_eq!(payload.status, Status::Success);
//! assert_eq!(payload.code(), Some("S0000"));
//! assert_eq!(payload.atm_param.unwrap().atm_pay_no.as_deref(), Some("99922511001200"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Conventions
//!
//! * Amounts are [`Amount`]s in 1/100 NTD (NT$500 is `50000` on the wire), never floats.
//! * Requests send only documented fields and omit absent optionals; responses keep unknown
//!   enum codes (`Other(String)`) and tolerate missing fields.
//! * Secrets ([`Keys`], [`HashId`]) have redacted `Debug`, are zeroized on drop and have no
//!   `PartialEq`; Signs are compared in constant time.
//! * A message that does not decrypt and one whose Sign does not verify give the same
//!   [`OpenError::Rejected`].
//! * The bank's Sign covers top-level scalar fields only: nested objects (`ATMParam`,
//!   `CardParam`, `OrderList`, `TSResultContent`, …) are not signed, by the bank's design.
//!   Where a nested value matters (e.g. `TSResultContent.Amount`), check it against your own
//!   records or a signed top-level field.

mod callback;
mod crypto;
mod enums;
mod envelope;
mod hex;
mod keys;
mod messages;
mod sign;
mod types;
mod validate;

pub use callback::{
    BACKEND_ACK, BackendNotification, CallbackError, MAX_CALLBACK_BODY, ReturnNotification,
    is_backend_ack,
};
pub use crypto::{Iv, decrypt, encrypt};
pub use enums::{ApType, ApiService, Command, Flag, PayFlag, PayStatus, PayType, Status, TsType};
pub use envelope::{
    Envelope, OpenError, RequestEnvelope, ResponseEnvelope, SealError, VERSION, open, open_json,
    seal, seal_json, seal_payload, sign_json, sign_payload, sign_string, sign_string_json,
};
pub use keys::{HashId, KeyError, KeyName, Keys};
pub use messages::{
    AllotItem, AllotQueryRequest, AllotQueryResponse, AllotTransaction, AtmParam, AtmPayInfo,
    BillItem, BillQueryRequest, BillQueryResponse, CardParam, CardPayInfo, DateField, Limits,
    MobilePayInfo, ORDER_QUERY_MAX_ROWS, OrderAtmInfo, OrderCardInfo, OrderCreateRequest,
    OrderCreateResponse, OrderListItem, OrderMaintainRequest, OrderMaintainResponse,
    OrderPayQueryRequest, OrderPayQueryResponse, OrderQueryRequest, OrderQueryResponse,
    OrderUnCapturedQueryRequest, OrderUnCapturedQueryResponse, Request, Response, StatusOnly,
    TsResultContent, UnCapturedOrder, split_description,
};
pub use sign::{Sign, SignParseError, SignSerError};
pub use types::{
    Amount, BankDate, BankTime, Nonce, OrderNo, PayToken, ShopNo, TAIPEI_OFFSET_MINUTES,
};
pub use validate::{Problem, ValidationError};
