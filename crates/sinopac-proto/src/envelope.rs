//! The `/Order` envelope and the two operations on it: [`seal`] and [`open`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::{self, Iv};
use crate::enums::ApiService;
use crate::keys::Keys;
use crate::messages::Request;
use crate::sign::{Sign, SignFields, SignSerError, sign_matches};
use crate::types::Nonce;
use crate::validate::ValidationError;

/// The envelope `Version`, fixed at `1.0.0`.
pub const VERSION: &str = "1.0.0";

/// The JSON body of `POST {base}/Order`, both ways (PROTOCOL.md §7). The bank answers with the
/// same six fields and a **new** nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `Version`: `1.0.0`.
    #[serde(rename = "Version")]
    pub version: String,
    /// `ShopNo`.
    #[serde(rename = "ShopNo")]
    pub shop_no: String,
    /// `APIService`.
    #[serde(rename = "APIService")]
    pub api_service: ApiService,
    /// `Sign`: upper-case hex SHA-256 (PROTOCOL.md §6).
    #[serde(rename = "Sign")]
    pub sign: String,
    /// `Nonce`: the request's nonce, or the reply's fresh one.
    #[serde(rename = "Nonce")]
    pub nonce: String,
    /// `Message`: upper-case hex AES-256-CBC of the payload JSON.
    #[serde(rename = "Message")]
    pub message: String,
}

/// A request envelope (what we send).
pub type RequestEnvelope = Envelope;
/// A response envelope (what the bank returns).
pub type ResponseEnvelope = Envelope;

/// Why a payload could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Client-side validation failed; nothing was encrypted.
    #[error("invalid request")]
    Invalid(#[from] ValidationError),
    /// The payload is not a JSON object.
    #[error("payload cannot be signed")]
    Sign(#[from] SignSerError),
    /// The payload could not be serialized or is not valid JSON.
    #[error("payload is not valid JSON")]
    Json(#[from] serde_json::Error),
}

/// Why a received envelope could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The message did not decrypt, or its Sign did not verify. Deliberately one error: telling
    /// the two apart would be a padding oracle.
    #[error("the message did not decrypt or its Sign did not verify")]
    Rejected,
    /// The message is authentic but does not have the expected shape.
    #[error("the verified message does not match the expected payload")]
    Payload(#[source] serde_json::Error),
}

/// Seals a validated request: the envelope to POST to `{base}/Order`.
///
/// # Errors
/// [`SealError::Invalid`] if [`Request::validate`] fails; otherwise only if the payload cannot
/// be serialized.
pub fn seal<R: Request>(payload: &R, nonce: &Nonce, keys: &Keys) -> Result<Envelope, SealError> {
    payload.validate()?;
    seal_payload(
        R::SERVICE,
        payload.shop_no().as_str(),
        payload,
        nonce.as_str(),
        keys,
    )
}

/// Seals any serializable payload without validation (used by the simulator for replies and by
/// tools; merchants use [`seal`]).
///
/// # Errors
/// If the payload does not serialize as a JSON object.
pub fn seal_payload<T: Serialize + ?Sized>(
    service: ApiService,
    shop_no: &str,
    payload: &T,
    nonce: &str,
    keys: &Keys,
) -> Result<Envelope, SealError> {
    let fields = SignFields::from_serialize(payload)?;
    let sign = Sign::from_digest(&fields.digest(nonce, keys.hash_id()));
    let mut json = Vec::with_capacity(512);
    serde_json::to_writer(&mut json, payload)?;
    Ok(finish(service, shop_no, sign, json, nonce, keys))
}

/// Seals payload JSON given as bytes, encrypted exactly as given (the Sign is computed from the
/// decoded values, so escaping does not change it).
///
/// # Errors
/// [`SealError::Json`] if `json` is not a JSON object.
pub fn seal_json(
    service: ApiService,
    shop_no: &str,
    json: &[u8],
    nonce: &str,
    keys: &Keys,
) -> Result<Envelope, SealError> {
    let sign = Sign::from_digest(&json_fields(json)?.digest(nonce, keys.hash_id()));
    Ok(finish(service, shop_no, sign, json.to_vec(), nonce, keys))
}

fn finish(
    service: ApiService,
    shop_no: &str,
    sign: Sign,
    json: Vec<u8>,
    nonce: &str,
    keys: &Keys,
) -> Envelope {
    let message = crypto::encrypt_in_place(keys.hash_id(), &Iv::from_nonce(nonce), json);
    Envelope {
        version: VERSION.to_owned(),
        shop_no: shop_no.to_owned(),
        api_service: service,
        sign: sign.into_string(),
        nonce: nonce.to_owned(),
        message,
    }
}

/// Opens an envelope with its **own** nonce (the reply's fresh nonce for responses): decrypts
/// the message, verifies the Sign over the raw decrypted JSON object (so fields we do not model
/// still count), then reads the typed payload.
///
/// ```
/// # let v: serde_json::Value = serde_json::from_str(include_str!("../../../fixtures/vectors.json")).unwrap();
/// # let r = &v[2];
/// use sinopac_proto::{open, Envelope, Keys, OrderCreateResponse, ApiService};
/// let keys = Keys::new("4D9709D699CA40EE", "5A4FEF83140C4E9E", "BC74301945134CB4", "961F67F8FCA44AB9")?;
/// let reply = Envelope {
///     version: "1.0.0".into(),
///     shop_no: "BA0026_001".into(),
///     api_service: ApiService::OrderCreate,
///     sign: "24CBD10DC8752BF5AEB55EC930F1D57638312D2BD1A7E3EBF0E45DA78721CF04".into(),
///     nonce: "NjM2NjA0MzI4ODU1MDcuMzo1MzE5ZWIwNGZjNzZlZGJhOGM5M2U1YTM0Nzk2MGM5NThhZjJiMTFiYjNiYmZmNjk1ZGMzYTFlMTEyMDA0MGU2".into(),
///     message: r["message"].as_str().unwrap().into(),
/// };
/// let payload: OrderCreateResponse = open(&reply, &keys)?;
/// assert_eq!(payload.ts_no.as_deref(), Some("BA002600000037"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`OpenError::Rejected`] if the message does not decrypt or the Sign does not verify;
/// [`OpenError::Payload`] if the authentic payload does not fit `T`.
pub fn open<T: DeserializeOwned>(envelope: &Envelope, keys: &Keys) -> Result<T, OpenError> {
    let plaintext = decrypt_message(envelope, keys)?;
    let text = verified(envelope, keys, &plaintext)?;
    serde_json::from_str(text).map_err(OpenError::Payload)
}

/// Opens an envelope and returns the verified plaintext JSON bytes.
///
/// # Errors
/// [`OpenError::Rejected`] if the message does not decrypt or the Sign does not verify;
/// [`OpenError::Payload`] if the authentic plaintext is not valid JSON.
pub fn open_json(envelope: &Envelope, keys: &Keys) -> Result<Vec<u8>, OpenError> {
    let plaintext = decrypt_message(envelope, keys)?;
    let text = verified(envelope, keys, &plaintext)?;
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(OpenError::Payload)?;
    Ok(plaintext)
}

fn decrypt_message(envelope: &Envelope, keys: &Keys) -> Result<Vec<u8>, OpenError> {
    let iv = Iv::from_nonce(&envelope.nonce);
    crypto::decrypt(keys.hash_id(), &iv, &envelope.message).ok_or(OpenError::Rejected)
}

/// Checks the Sign over the decrypted object; every failure up to here is the same error.
fn verified<'a>(
    envelope: &Envelope,
    keys: &Keys,
    plaintext: &'a [u8],
) -> Result<&'a str, OpenError> {
    let text = std::str::from_utf8(plaintext).map_err(|_| OpenError::Rejected)?;
    let fields = SignFields::from_json_text(text).ok_or(OpenError::Rejected)?;
    let digest = fields.digest(&envelope.nonce, keys.hash_id());
    if sign_matches(&envelope.sign, &digest) {
        Ok(text)
    } else {
        Err(OpenError::Rejected)
    }
}

/// Validates `json` as a JSON object and collects its signed fields.
fn json_fields(json: &[u8]) -> Result<SignFields<'_>, serde_json::Error> {
    let text = std::str::from_utf8(json)
        .map_err(|_| <serde_json::Error as serde::de::Error>::custom("payload is not UTF-8"))?;
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)?;
    SignFields::from_json_text(text).ok_or_else(|| {
        <serde_json::Error as serde::de::Error>::custom("payload is not a JSON object")
    })
}

/// The sign string (`k1=v1&k2=v2…`, without nonce and HashID) of a JSON payload.
///
/// # Errors
/// If `json` is not a JSON object.
pub fn sign_string_json(json: &[u8]) -> Result<String, serde_json::Error> {
    Ok(json_fields(json)?.sign_string())
}

/// The sign string of a typed payload.
///
/// # Errors
/// If the payload does not serialize as a JSON object.
pub fn sign_string<T: Serialize + ?Sized>(payload: &T) -> Result<String, SignSerError> {
    Ok(SignFields::from_serialize(payload)?.sign_string())
}

/// The Sign of a JSON payload under `nonce` and the shop's HashID.
///
/// # Errors
/// If `json` is not a JSON object.
pub fn sign_json(json: &[u8], nonce: &str, keys: &Keys) -> Result<Sign, serde_json::Error> {
    let fields = json_fields(json)?;
    Ok(Sign::from_digest(&fields.digest(nonce, keys.hash_id())))
}

/// The Sign of a typed payload under `nonce` and the shop's HashID.
///
/// # Errors
/// If the payload does not serialize as a JSON object.
pub fn sign_payload<T: Serialize + ?Sized>(
    payload: &T,
    nonce: &str,
    keys: &Keys,
) -> Result<Sign, SignSerError> {
    let fields = SignFields::from_serialize(payload)?;
    Ok(Sign::from_digest(&fields.digest(nonce, keys.hash_id())))
}
