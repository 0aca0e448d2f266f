//! Builder and redaction checks that need no bank.

use std::sync::Arc;

use sinopac_http::{Client, ConfigError, Environment, TransportResponse, transport_fn};
use tracing::subscriber::with_default;

use crate::support::*;

#[test]
fn missing_settings_are_named() {
    let e = Client::builder()
        .keys(keys())
        .key_id(KEY_ID)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("ShopNo"), "{e}");
    let e = Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id(KEY_ID)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("base URL"), "{e}");
    let e = Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id("  ")
        .environment(Environment::Sim)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::InvalidKeyId(_)), "{e}");
}

#[test]
fn debug_output_has_no_secrets() {
    let c = Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id(KEY_ID)
        .environment(Environment::Production)
        .transport(Arc::new(transport_fn(|_| async {
            Ok(TransportResponse::json("{}"))
        })))
        .build()
        .unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("b5e6986d"), "{shown}");
    assert!(!shown.contains("86D50DEF"), "{shown}");
    assert!(shown.contains("NA0249_001"));
}

/// Captures everything written by the fmt subscriber.
#[derive(Clone, Default)]
struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn traces_carry_service_order_and_request_id_but_no_secrets() {
    let sink = Sink::default();
    let s2 = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || s2.clone())
        .with_ansi(false)
        .finish();
    with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let sim = sim();
            let c = client(&sim);
            let req = sinopac_proto::OrderCreateRequest::atm(
                shop_no(),
                order_no("TRACE01"),
                sinopac_proto::Amount::from_ntd(1).unwrap(),
                "秘密商品",
                sinopac_proto::BankDate::parse("20261110").unwrap(),
            );
            c.create_order(&req).await.unwrap();
            sim.add_fault(
                sinopac_sim::FaultRule::new(
                    sinopac_sim::Route::Order,
                    sinopac_sim::Fault::HttpStatus { status: 503 },
                )
                .count(1),
            );
            c.find_order(&order_no("TRACE01")).await.unwrap();
        });
    });
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("service=OrderCreate"), "{text}");
    assert!(text.contains("order_no=TRACE01"), "{text}");
    assert!(text.contains("request_id="), "{text}");
    assert!(text.contains("retrying"), "{text}");
    for secret in [KEY_ID, "86D50DEF3EB7400E", "秘密商品", "X-KeyID"] {
        assert!(!text.contains(secret), "leaked {secret}: {text}");
    }
}

/// The futures and the stream can be spawned and held across `.await` in axum handlers.
#[test]
fn futures_and_streams_are_send() {
    fn send<T: Send>(_: &T) {}
    let sim = sim();
    let c = client(&sim);
    let req = sinopac_proto::OrderCreateRequest::atm(
        shop_no(),
        order_no("SEND1"),
        sinopac_proto::Amount::from_ntd(1).unwrap(),
        "x",
        sinopac_proto::BankDate::parse("20261110").unwrap(),
    );
    send(&c.create_order(&req));
    send(&c.call(&req));
    send(&c.find_order(&req.order_no));
    let q = sinopac_proto::OrderQueryRequest::by_order_no(shop_no(), order_no("SEND1"));
    send(&c.query_all(q.clone()));
    send(&c.query_all_vec(q));
    let token = sinopac_proto::PayToken::new("abc").unwrap();
    send(&c.pay_query(&token));
    send(&c.refund(&req.order_no, None, None));
    // Errors work with `anyhow` and across tasks.
    fn error_bounds<E: std::error::Error + Send + Sync + 'static>() {}
    error_bounds::<sinopac_http::Error>();
    error_bounds::<sinopac_http::ConfigError>();
    error_bounds::<sinopac_http::TransportError>();
}

#[test]
fn a_bad_extra_root_certificate_is_a_config_error() {
    let e = Client::builder()
        .shop_no(shop_no())
        .keys(keys())
        .key_id(KEY_ID)
        .environment(Environment::Sandbox)
        .add_root_certificate_pem(
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".to_vec(),
        )
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::Transport(_)), "{e:?}");
}
