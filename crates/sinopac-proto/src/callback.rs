//! What the bank pushes to the merchant: the BackendURL notification (JSON) and the ReturnURL
//! browser form post (PROTOCOL.md §9). Neither is signed or encrypted: treat both as hints and
//! confirm with `OrderPayQuery`.

use serde::{Deserialize, Serialize};

use crate::types::{PayToken, ShopNo};
use crate::validate::ValidationError;

/// The body to answer a BackendURL notification with (HTTP 200), after storing it durably.
pub const BACKEND_ACK: &str = r#"{"Status":"S"}"#;

/// Callback bodies larger than this are refused unread.
pub const MAX_CALLBACK_BODY: usize = 8 * 1024;

/// Why a callback body was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The body is larger than [`MAX_CALLBACK_BODY`].
    #[error("callback body is larger than {MAX_CALLBACK_BODY} bytes")]
    TooLarge,
    /// The body is not the expected JSON object.
    #[error("callback body is not a JSON object with ShopNo and PayToken")]
    Json(#[source] serde_json::Error),
    /// A required field is absent.
    #[error("callback has no {0}")]
    Missing(&'static str),
    /// A field appears twice with different values.
    #[error("callback has {0} more than once")]
    Duplicate(&'static str),
    /// A field has an invalid value.
    #[error("callback field is invalid")]
    Invalid(#[from] ValidationError),
}

/// The BackendURL notification: JSON `{"ShopNo":…,"PayToken":…}`.
///
/// ```
/// use sinopac_proto::BackendNotification;
/// let n = BackendNotification::from_json(br#"{"ShopNo":"NA0249_001","PayToken":"da1547c3d0d1649af5049125b0880c0e227f31e107cbf4f0995bed28d0f066c1"}"#)?;
/// assert_eq!(n.shop_no.as_str(), "NA0249_001");
/// # Ok::<(), sinopac_proto::CallbackError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendNotification {
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: ShopNo,
    /// `PayToken`: resolve it with `OrderPayQuery`.
    #[serde(rename = "PayToken")]
    pub pay_token: PayToken,
}

#[derive(Deserialize)]
struct BackendWire {
    #[serde(rename = "ShopNo", default)]
    shop_no: Option<String>,
    #[serde(rename = "PayToken", default)]
    pay_token: Option<String>,
}

fn required(field: &'static str, value: Option<String>) -> Result<String, CallbackError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(CallbackError::Missing(field))
}

impl BackendNotification {
    /// Parses the raw request body (extra fields are ignored).
    ///
    /// # Errors
    /// [`CallbackError`] if the body is too large, not JSON, or lacks a valid ShopNo / PayToken.
    pub fn from_json(body: &[u8]) -> Result<Self, CallbackError> {
        if body.len() > MAX_CALLBACK_BODY {
            return Err(CallbackError::TooLarge);
        }
        let wire: BackendWire = serde_json::from_slice(body).map_err(CallbackError::Json)?;
        Ok(Self {
            shop_no: ShopNo::new(required("ShopNo", wire.shop_no)?)?,
            pay_token: PayToken::new(required("PayToken", wire.pay_token)?)?,
        })
    }

    /// The JSON body the bank sends (for simulators and tests).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `true` if a BackendURL reply body is the acknowledgement `{"Status":"S"}` (whitespace and
/// extra fields tolerated).
#[must_use]
pub fn is_backend_ack(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Ack {
        #[serde(rename = "Status")]
        status: String,
    }
    serde_json::from_slice::<Ack>(body).is_ok_and(|a| a.status == "S")
}

/// The ReturnURL browser post: form-urlencoded `ShopNo` and `PayToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnNotification {
    /// `ShopNo`.
    pub shop_no: ShopNo,
    /// `PayToken`.
    pub pay_token: PayToken,
}

impl ReturnNotification {
    /// Parses the raw form body (extra fields are ignored).
    ///
    /// # Errors
    /// [`CallbackError`] if the body is too large, a field is missing, repeated with different
    /// values, or invalid.
    pub fn from_form(body: &[u8]) -> Result<Self, CallbackError> {
        if body.len() > MAX_CALLBACK_BODY {
            return Err(CallbackError::TooLarge);
        }
        let mut shop_no: Option<String> = None;
        let mut pay_token: Option<String> = None;
        for (k, v) in form_urlencoded::parse(body) {
            let (slot, name) = match k.as_ref() {
                "ShopNo" => (&mut shop_no, "ShopNo"),
                "PayToken" => (&mut pay_token, "PayToken"),
                _ => continue,
            };
            match slot {
                Some(existing) if existing.as_str() != v.as_ref() => {
                    return Err(CallbackError::Duplicate(name));
                }
                Some(_) => {}
                None => *slot = Some(v.into_owned()),
            }
        }
        Ok(Self {
            shop_no: ShopNo::new(required("ShopNo", shop_no)?)?,
            pay_token: PayToken::new(required("PayToken", pay_token)?)?,
        })
    }

    /// The form body the bank's page posts (for simulators and tests).
    #[must_use]
    pub fn to_form(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("ShopNo", self.shop_no.as_str())
            .append_pair("PayToken", self.pay_token.as_str())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_round_trip_and_errors() {
        let n =
            BackendNotification::from_json(br#"{"ShopNo":"NA0249_001","PayToken":"abc","X":1}"#)
                .unwrap();
        assert_eq!(
            BackendNotification::from_json(n.to_json().as_bytes()).unwrap(),
            n
        );
        assert!(matches!(
            BackendNotification::from_json(b"{}"),
            Err(CallbackError::Missing("ShopNo"))
        ));
        assert!(matches!(
            BackendNotification::from_json(b"ShopNo=x"),
            Err(CallbackError::Json(_))
        ));
        assert!(matches!(
            BackendNotification::from_json(br#"{"ShopNo":"A","PayToken":""}"#),
            Err(CallbackError::Missing("PayToken"))
        ));
    }

    #[test]
    fn return_form() {
        let r = ReturnNotification::from_form(b"ShopNo=NA0249_001&PayToken=abc&Other=1").unwrap();
        assert_eq!(r.pay_token.as_str(), "abc");
        assert_eq!(
            ReturnNotification::from_form(r.to_form().as_bytes()).unwrap(),
            r
        );
        assert!(matches!(
            ReturnNotification::from_form(b"ShopNo=A&PayToken=a&PayToken=b"),
            Err(CallbackError::Duplicate("PayToken"))
        ));
        assert!(matches!(
            ReturnNotification::from_form(b"ShopNo=A"),
            Err(CallbackError::Missing("PayToken"))
        ));
    }

    #[test]
    fn ack() {
        assert!(is_backend_ack(BACKEND_ACK.as_bytes()));
        assert!(is_backend_ack(br#" { "Status" : "S", "x": 1 } "#));
        assert!(!is_backend_ack(br#"{"Status":"F"}"#));
        assert!(!is_backend_ack(b"OK"));
    }
}
