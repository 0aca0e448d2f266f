//! The envelope policy: nonces, X-KeyID, WAF, undecryptable messages, bad Sign.

use std::time::Duration;

use http::StatusCode;
use sinopac_proto::{
    Envelope, Keys, OrderQueryRequest, OrderQueryResponse, StatusOnly, open, seal_payload,
};

use crate::support::*;

fn description(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["Status"], "F");
    v["Description"].as_str().unwrap().to_owned()
}

async fn sealed_fail(h: &Harness, env: &Envelope) -> String {
    let (_, reply): (_, StatusOnly) = h.exchange(env).await;
    assert_eq!(reply.status, sinopac_proto::Status::Failure);
    reply.description.unwrap()
}

fn query() -> OrderQueryRequest {
    OrderQueryRequest::by_order_no(shop(), ono("A1"))
}

#[tokio::test]
async fn nonce_has_the_bank_format() {
    let h = Harness::new();
    let n = h.nonce().await;
    assert_eq!(n.as_str().len(), 108);
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD
        .decode(n.as_str())
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    let (t, hex) = text.split_once(':').unwrap();
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // .NET ms since 0001-01-01, Taiwan local time.
    let ms: f64 = t.parse().unwrap();
    let expected = (h.sim.now_ms() + 8 * 3_600_000 + 62_135_596_800_000) as f64;
    assert!((ms - expected).abs() < 1.0, "{ms} vs {expected}");
    assert_eq!(h.sim.counters().nonces_issued, 1);
}

#[tokio::test]
async fn nonce_requires_key_id_json_and_known_shop() {
    let h = Harness::new();
    let body = format!(r#"{{"ShopNo":"{SHOP}"}}"#);
    let (s, b) = h.post_json("/Nonce", None, body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(description(&b).starts_with("E9001 – "));
    let (s, b) = h.post_json("/Nonce", Some("wrong"), body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(description(&b).starts_with("E9002"));
    let (s, b) = h
        .post_json("/Nonce", Some(KEY_ID), r#"{"ShopNo":"XX0000_001"}"#.into())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9010"));
    let (s, b) = h
        .post_json("/Nonce", Some(KEY_ID), r#"{"Shop":1}"#.into())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9011"));
    // A form post is rejected by the "WAF" with an HTML page.
    let (s, headers, b) = h
        .raw(
            "POST",
            "/Nonce",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("X-KeyID", KEY_ID),
            ],
            format!("ShopNo={SHOP}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8(b.to_vec()).unwrap();
    assert!(page.contains("Request Rejected") && page.contains("Your support ID is:"));
    // JSON content type with a non-JSON body: WAF too.
    let (s, _, b) = h
        .raw(
            "POST",
            "/Order",
            &[("content-type", "application/json"), ("X-KeyID", KEY_ID)],
            "ShopNo=x",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&b).contains("Request Rejected"));
    assert_eq!(h.sim.counters().nonces_issued, 0);
}

#[tokio::test]
async fn nonce_is_single_use() {
    let h = Harness::new();
    let nonce = h.nonce().await;
    let env = h.seal(&query(), &nonce);
    let (_, ok): (_, OrderQueryResponse) = h.exchange(&env).await;
    assert_eq!(ok.status, sinopac_proto::Status::Success);
    assert!(sealed_fail(&h, &env).await.starts_with("E9104"));
}

#[tokio::test]
async fn nonce_expires_after_60_sim_seconds() {
    let h = Harness::new();
    let n1 = h.nonce().await;
    let n2 = h.nonce().await;
    h.sim.advance(Duration::from_secs(60)).await;
    let (_, ok): (_, OrderQueryResponse) = h.exchange(&h.seal(&query(), &n1)).await;
    assert_eq!(
        ok.status,
        sinopac_proto::Status::Success,
        "exactly 60 s is still valid"
    );
    h.sim.advance(Duration::from_millis(1)).await;
    assert!(
        sealed_fail(&h, &h.seal(&query(), &n2))
            .await
            .starts_with("E9103")
    );
}

#[tokio::test]
async fn unknown_and_foreign_nonces_are_rejected() {
    let h = Harness::new();
    let forged = sinopac_proto::Nonce::new("bm90LWlzc3VlZA==").unwrap();
    assert!(
        sealed_fail(&h, &h.seal(&query(), &forged))
            .await
            .starts_with("E9102")
    );

    // A nonce issued for another shop (same X-KeyID owner cannot be reused across shops).
    let other_keys = Keys::new(
        "4D9709D699CA40EE",
        "5A4FEF83140C4E9E",
        "BC74301945134CB4",
        "961F67F8FCA44AB9",
    )
    .unwrap();
    h.sim.add_shop(sinopac_sim::ShopConfig::new(
        sinopac_proto::ShopNo::new("BA0026_001").unwrap(),
        other_keys,
        "other-key",
    ));
    let (s, b) = h
        .post_json(
            "/Nonce",
            Some("other-key"),
            r#"{"ShopNo":"BA0026_001"}"#.into(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let foreign = sinopac_proto::Nonce::new(v["Nonce"].as_str().unwrap()).unwrap();
    assert!(
        sealed_fail(&h, &h.seal(&query(), &foreign))
            .await
            .starts_with("E9105")
    );
}

#[tokio::test]
async fn key_id_missing_or_wrong_on_order() {
    let h = Harness::new();
    let env = h.seal(&query(), &h.nonce().await);
    let body = serde_json::to_string(&env).unwrap();
    let (s, b) = h.post_json("/Order", None, body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(description(&b).starts_with("E9001"));
    let (s, b) = h.post_json("/Order", Some("nope"), body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(description(&b).starts_with("E9002"));
    // Key rotation: the old X-KeyID stops working, nonces issued under it too.
    let n = h.nonce().await;
    h.sim
        .add_shop(sinopac_sim::ShopConfig::new(shop(), keys(), "rotated-key"));
    let (s, _) = h.post_envelope(&h.seal(&query(), &n)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = h
        .post_json(
            "/Order",
            Some("rotated-key"),
            serde_json::to_string(&h.seal(&query(), &n)).unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let reply: Envelope = serde_json::from_slice(&b).unwrap();
    let r: StatusOnly = open(&reply, &h.keys).unwrap();
    assert!(r.description.unwrap().starts_with("E9105"));
}

#[tokio::test]
async fn undecryptable_message_bad_version_unknown_shop() {
    let h = Harness::new();
    let mut env = h.seal(&query(), &h.nonce().await);
    env.message = "00".repeat(16);
    let (s, b) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9020"));

    let mut env = h.seal(&query(), &h.nonce().await);
    env.version = "2.0.0".into();
    let (s, b) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9012"));

    let mut env = h.seal(&query(), &h.nonce().await);
    env.shop_no = "ZZ0000_001".into();
    let (s, b) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9010"));

    // Wrong keys: the message does not decrypt (or decrypts to garbage).
    let wrong = Keys::new(
        "0000000000000001",
        "0000000000000002",
        "0000000000000003",
        "0000000000000004",
    )
    .unwrap();
    let env = sinopac_proto::seal(&query(), &h.nonce().await, &wrong).unwrap();
    let (s, b) = h.post_envelope(&env).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9020"));

    let (s, b) = h
        .post_json("/Order", Some(KEY_ID), r#"{"ShopNo":"x"}"#.into())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(description(&b).starts_with("E9011"));
}

#[tokio::test]
async fn bad_sign_gets_a_sealed_failure() {
    let h = Harness::new();
    let mut env = h.seal(&query(), &h.nonce().await);
    env.sign = "0".repeat(64);
    let desc = sealed_fail(&h, &env).await;
    assert!(desc.starts_with("E9101 – "), "{desc}");
    // Lower-case Sign is accepted (hex is case-insensitive).
    let mut env = h.seal(&query(), &h.nonce().await);
    env.sign = env.sign.to_ascii_lowercase();
    let (_, r): (_, OrderQueryResponse) = h.exchange(&env).await;
    assert_eq!(r.status, sinopac_proto::Status::Success);
    assert!(h.sim.counters().envelope_rejections >= 1);
}

#[tokio::test]
async fn unknown_service_and_shop_mismatch() {
    let h = Harness::new();
    let nonce = h.nonce().await;
    let env = seal_payload(
        sinopac_proto::ApiService::parse("RegularQuery"),
        SHOP,
        &serde_json::json!({"ShopNo": SHOP, "MasterOrderNo": "M1"}),
        nonce.as_str(),
        &h.keys,
    )
    .unwrap();
    assert!(sealed_fail(&h, &env).await.starts_with("E9013"));

    // ShopNo inside the message differs from the envelope.
    let nonce = h.nonce().await;
    let env = seal_payload(
        sinopac_proto::ApiService::OrderQuery,
        SHOP,
        &serde_json::json!({"ShopNo": "OTHER_001", "OrderNo": "A1"}),
        nonce.as_str(),
        &h.keys,
    )
    .unwrap();
    assert!(sealed_fail(&h, &env).await.starts_with("E0102"));
}
