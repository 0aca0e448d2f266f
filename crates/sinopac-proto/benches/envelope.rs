//! `seal` of the documented ATM OrderCreate request and `open` of the documented response.
//! Run with `cargo xtask bench` or `cargo bench -p sinopac-proto -- --output-format bencher`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sinopac_proto::{
    Amount, ApiService, BankDate, Envelope, Keys, Nonce, OrderCreateRequest, OrderCreateResponse,
    OrderNo, ShopNo, open, seal,
};

const REQ_NONCE: &str = "NjM2NjA0MzI4ODIyODguMzo3NzI0ZDg4ZmI5Nzc2YzQ1MTNhYzg2MTk3NDBlYTRhNGU0N2IxM2Q2M2JkMTIwOGU5YzZhMGFmNGY5MjA5YzVm";
const RESP_NONCE: &str = "NjM2NjA0MzI4ODU1MDcuMzo1MzE5ZWIwNGZjNzZlZGJhOGM5M2U1YTM0Nzk2MGM5NThhZjJiMTFiYjNiYmZmNjk1ZGMzYTFlMTEyMDA0MGU2";
const RESP_SIGN: &str = "24CBD10DC8752BF5AEB55EC930F1D57638312D2BD1A7E3EBF0E45DA78721CF04";
const RESP_MESSAGE: &str = "8C3CFD579B58FDAC6C1DF8C8EB8B79F49DD533F8D8C5DC181074397D21E7364E26D347DF264C76A59886DEA58F742C068BB66D6918791797B4DC31245E8E621F3791938F0A716AC20BFDC50A268CF9FDAF01149B73F8E5A2D61928AB79E30CA35C7DD55698010FEC071C2628444348C7B628ED4DCEE281234C31617B5441A3C64466A824BC8907A2D8571F58C4F780EBBB5D6DD98631A867A807718FDD34833FFB2C72F2731D715A35F1BA145C8D1E656136623FFD60EFDAAB87EF1674EA1BD19868DCBC6552D48D9728AB020E75AA6E7804FB9D7FB4AA7E92F89DFFCFA9D263EE9B043AA7A8DB22ECA894F8D5621BF8E6DF5B250CCA9D1C499EF8896B64617FD9FCF142665EA3A660DC6B7296CFE03C80B6FC96CA5B805ADEE4AF9784FF1A6886FCE42C7FA4575FFF4D3AD302B583D08346DD4F876A7BF2B60D514CA021F62293E960458BF886C6CB746A6EEE0EBB3916EE6B861B32D75CE93F8988215D76DEFEE72F4429B2ED48A5AB8FF04683B409FF8072EB1C5E5162EDC625557328F506520AE3DBD2C19F6327AA97911BF2789373CE4DBBB6EC52A2EB9263ADAB1767B4FC7646440BA34E3716BC25E81A86FE5EF432E0C8D40A5BC25EDE8E2D1CC56A2C";

fn keys() -> Keys {
    Keys::new(
        "4D9709D699CA40EE",
        "5A4FEF83140C4E9E",
        "BC74301945134CB4",
        "961F67F8FCA44AB9",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn benches(c: &mut Criterion) {
    let keys = keys();
    let nonce = Nonce::new(REQ_NONCE).unwrap_or_else(|e| panic!("{e}"));
    let request = OrderCreateRequest::atm(
        ShopNo::new("BA0026_001").unwrap_or_else(|e| panic!("{e}")),
        OrderNo::new("A201804270001").unwrap_or_else(|e| panic!("{e}")),
        Amount::from_minor(50000),
        "虛擬帳號訂單",
        BankDate::parse("20180502").unwrap_or_else(|e| panic!("{e}")),
    )
    .return_url("http://10.11.22.113:8803/QPay.ApiClient/Store/Return")
    .backend_url("http://10.11.22.113:8803/QPay.ApiClient/AutoPush/PushSuccess");
    c.bench_function("seal_order_create_atm", |b| {
        b.iter(|| seal(black_box(&request), black_box(&nonce), black_box(&keys)))
    });

    let reply = Envelope {
        version: "1.0.0".into(),
        shop_no: "BA0026_001".into(),
        api_service: ApiService::OrderCreate,
        sign: RESP_SIGN.into(),
        nonce: RESP_NONCE.into(),
        message: RESP_MESSAGE.into(),
    };
    assert!(
        open::<OrderCreateResponse>(&reply, &keys).is_ok(),
        "documented reply must open"
    );
    c.bench_function("open_order_create_atm_response", |b| {
        b.iter(|| open::<OrderCreateResponse>(black_box(&reply), black_box(&keys)))
    });
}

criterion_group!(envelope, benches);
criterion_main!(envelope);
