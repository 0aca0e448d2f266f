//! Every vector in fixtures/vectors.json, byte for byte.

use serde::Deserialize;
use sinopac_proto::{
    ApiService, Envelope, Iv, Keys, OpenError, OrderCreateRequest, OrderCreateResponse, PayType,
    Response, Status, encrypt, open, open_json, seal_json, sign_json, sign_payload,
    sign_string_json,
};

#[derive(Deserialize)]
struct Vector {
    name: String,
    direction: String,
    keys: VKeys,
    hash_id: String,
    nonce: String,
    iv: String,
    plaintext: String,
    sign_string: String,
    sign: String,
    message: String,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct VKeys {
    A1: String,
    A2: String,
    B1: String,
    B2: String,
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(super::fixtures().join("vectors.json")).unwrap();
    let v: Vec<Vector> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v.len(),
        4,
        "fixtures/vectors.json changed: update these tests"
    );
    v
}

fn keys(v: &Vector) -> Keys {
    Keys::new(&v.keys.A1, &v.keys.A2, &v.keys.B1, &v.keys.B2).unwrap()
}

fn envelope(v: &Vector) -> Envelope {
    Envelope {
        version: "1.0.0".into(),
        shop_no: "ignored".into(),
        api_service: ApiService::OrderCreate,
        sign: v.sign.clone(),
        nonce: v.nonce.clone(),
        message: v.message.clone(),
    }
}

#[test]
fn hash_id_iv_sign_string_sign_and_message() {
    for v in vectors() {
        let keys = keys(&v);
        assert_eq!(
            keys.hash_id().expose_secret(),
            v.hash_id,
            "{}: HashID",
            v.name
        );
        let iv = Iv::from_nonce(&v.nonce);
        assert_eq!(iv.as_str(), v.iv, "{}: IV", v.name);
        assert_eq!(
            sign_string_json(v.plaintext.as_bytes()).unwrap(),
            v.sign_string,
            "{}: sign string",
            v.name
        );
        assert_eq!(
            sign_json(v.plaintext.as_bytes(), &v.nonce, &keys)
                .unwrap()
                .as_str(),
            v.sign,
            "{}: Sign",
            v.name
        );
        assert_eq!(
            encrypt(keys.hash_id(), &iv, v.plaintext.as_bytes()),
            v.message,
            "{}: Message",
            v.name
        );
        let sealed = seal_json(
            ApiService::OrderCreate,
            "X",
            v.plaintext.as_bytes(),
            &v.nonce,
            &keys,
        )
        .unwrap();
        assert_eq!(sealed.message, v.message, "{}: seal_json Message", v.name);
        assert_eq!(sealed.sign, v.sign, "{}: seal_json Sign", v.name);
    }
}

#[test]
fn every_vector_opens_to_its_plaintext() {
    for v in vectors() {
        let keys = keys(&v);
        let plain = open_json(&envelope(&v), &keys).unwrap();
        assert_eq!(String::from_utf8(plain).unwrap(), v.plaintext, "{}", v.name);
        // Lower-case hex is accepted on input too.
        let mut lower = envelope(&v);
        lower.message = lower.message.to_ascii_lowercase();
        lower.sign = lower.sign.to_ascii_lowercase();
        assert!(
            open_json(&lower, &keys).is_ok(),
            "{}: lower-case hex",
            v.name
        );
    }
}

#[test]
fn documented_response_opens_typed() {
    let v = vectors()
        .into_iter()
        .find(|v| v.direction == "response")
        .unwrap();
    let r: OrderCreateResponse = open(&envelope(&v), &keys(&v)).unwrap();
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.code(), Some("S0000"));
    assert_eq!(r.description.as_deref(), Some("S0000 – 處理成功"));
    assert_eq!(r.ts_no.as_deref(), Some("BA002600000037"));
    assert_eq!(r.amount.unwrap().minor(), 50000);
    assert_eq!(r.pay_type, Some(PayType::Atm));
    let atm = r.atm_param.unwrap();
    assert_eq!(atm.atm_pay_no.as_deref(), Some("99922511001200"));
    assert!(atm.web_atm_url.unwrap().contains("TD=BA002600000037&TK="));
}

#[test]
fn response_must_be_opened_with_the_reply_nonce() {
    let all = vectors();
    let request = all
        .iter()
        .find(|v| v.name == "order_create_atm_request")
        .unwrap();
    let response = all.iter().find(|v| v.direction == "response").unwrap();
    let mut env = envelope(response);
    env.nonce = request.nonce.clone();
    assert!(matches!(
        open_json(&env, &keys(response)),
        Err(OpenError::Rejected)
    ));
}

#[test]
fn request_vectors_parse_as_typed_requests_and_resign_identically() {
    for v in vectors().iter().filter(|v| v.direction == "request") {
        let keys = keys(v);
        let req: OrderCreateRequest = open(&envelope(v), &keys).unwrap();
        // Re-signing the typed request gives the documented Sign (empty CardParam/ATMParam and
        // PHP's [] are "absent"; nested objects never enter the Sign).
        assert_eq!(
            sign_payload(&req, &v.nonce, &keys).unwrap().as_str(),
            v.sign,
            "{}",
            v.name
        );
        let expected = if req.pay_type == PayType::Card {
            "信用卡訂單"
        } else {
            "虛擬帳號訂單"
        };
        assert_eq!(req.prdt_name, expected, "{}", v.name);
    }
}
