//! Over real loopback HTTP: the sim served on 127.0.0.1:0, a plain reqwest client.

use std::sync::Arc;

use sinopac_proto::{
    CardParam, Envelope, Nonce, OrderCreateRequest, OrderCreateResponse, OrderQueryRequest,
    OrderQueryResponse, PayStatus, Request, Status, open, seal,
};
use sinopac_sim::{ShopConfig, Sim};

use crate::support::*;

async fn post<T: serde::Serialize, U: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    body: &T,
) -> U {
    let bytes = client
        .post(url)
        .header("content-type", "application/json")
        .header("X-KeyID", KEY_ID)
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn call<R: Request>(client: &reqwest::Client, base: &str, req: &R) -> R::Response {
    let n: serde_json::Value = post(
        client,
        &format!("{base}Nonce"),
        &serde_json::json!({ "ShopNo": SHOP }),
    )
    .await;
    let nonce = Nonce::new(n["Nonce"].as_str().unwrap()).unwrap();
    let env = seal(req, &nonce, &keys()).unwrap();
    let reply: Envelope = post(client, &format!("{base}Order"), &env).await;
    open(&reply, &keys()).unwrap()
}

#[tokio::test]
async fn end_to_end_over_loopback_with_real_callbacks() {
    // A merchant backend on loopback receiving real HTTP notifications.
    let got = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let g = got.clone();
    let merchant = axum::Router::new().route(
        "/backend",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock().push(body);
                sinopac_proto::BACKEND_ACK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, merchant).await });

    let sim = Sim::new(quiet_config());
    sim.add_shop(ShopConfig::new(shop(), keys(), KEY_ID));
    let server = sim.spawn_loopback().await.unwrap();
    let base = server.base_url();
    assert!(base.ends_with('/'));
    let client = reqwest::Client::new();

    let req: OrderCreateRequest = card_request("LB1", 100, CardParam::auto_capture())
        .backend_url(format!("http://{merchant_addr}/backend"));
    let r: OrderCreateResponse = call(&client, &base, &req).await;
    assert_eq!(r.status, Status::Success);
    let url = r.card_param.unwrap().card_pay_url.unwrap();
    assert!(url.starts_with(&format!("{base}pay/card?")), "{url}");
    // The buyer's browser: GET the page, POST the form.
    let page = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("CardNo1"));
    let reply = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("CardNo1=4143&CardNo2=5200&CardNo3=0187&CardNo4=0127&Action=approve")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(
        reply
            .text()
            .await
            .unwrap()
            .contains("https://shop.example/return")
    );
    sim.run_due().await;
    assert_eq!(got.lock().len(), 1);
    assert!(sim.deliveries()[0].outcome.is_acked());

    let q: OrderQueryResponse = call(
        &client,
        &base,
        &OrderQueryRequest::by_order_no(shop(), ono("LB1")),
    )
    .await;
    assert_eq!(q.order_list[0].pay_status, PayStatus::CardCaptured);

    // Control API over HTTP.
    let clock: serde_json::Value = client
        .get(format!("{base}_sim/clock"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    assert_eq!(clock["Now"].as_i64().unwrap(), sim.now_unix());
    server.shutdown().await;
}

#[tokio::test]
async fn serve_with_shutdown_and_time_scale() {
    let cfg = sinopac_sim::SimConfig {
        time_scale: Some(1000.0),
        ..quiet_config()
    };
    let sim = Sim::new(cfg);
    let start = sim.now_unix();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sinopac_sim::serve_with_shutdown(
        sim.clone(),
        listener,
        async {
            let _ = rx.await;
        },
    ));
    let client = reqwest::Client::new();
    let clock: serde_json::Value = client
        .get(format!("http://{addr}/_sim/clock"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    // The hosted pages' base URL comes from the listener when none was configured.
    assert_eq!(sim.public_base_url(), format!("http://{addr}"));
    // With a time scale the clock follows real time (never backwards).
    assert!(clock["Now"].as_i64().unwrap() >= start);
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn reset_over_loopback_breaks_the_connection() {
    let sim = Sim::new(quiet_config());
    sim.add_shop(ShopConfig::new(shop(), keys(), KEY_ID));
    sim.add_fault(
        sinopac_sim::FaultRule::new(sinopac_sim::Route::Nonce, sinopac_sim::Fault::Reset).count(1),
    );
    let server = sim.spawn_loopback().await.unwrap();
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(format!("{}Nonce", server.base_url()))
            .header("content-type", "application/json")
            .header("X-KeyID", KEY_ID)
            .body(format!(r#"{{"ShopNo":"{SHOP}"}}"#))
            .send()
    };
    let broken = match send().await {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(broken, "the client must see a broken answer");
    let ok = send().await.unwrap();
    assert_eq!(ok.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn page_urls_follow_the_latest_served_address_unless_set() {
    let sim = Sim::new(quiet_config());
    let a = sim.spawn_loopback().await.unwrap();
    assert_eq!(format!("{}/", sim.public_base_url()), a.base_url());
    let b = sim.spawn_loopback().await.unwrap();
    assert_eq!(format!("{}/", sim.public_base_url()), b.base_url());
    sim.set_public_base_url("https://sim.example/bank");
    let c = sim.spawn_loopback().await.unwrap();
    assert_eq!(sim.public_base_url(), "https://sim.example/bank");
    for s in [a, b, c] {
        s.shutdown().await;
    }
}
