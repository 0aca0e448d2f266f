//! `open` on arbitrary envelopes: must return an error or a value, never panic. Half of the
//! inputs are authentic encryptions of fuzzed plaintext (with a computed Sign), so the JSON
//! scanner and typed parsing behind a valid Sign are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sinopac_proto::{
    ApiService, Envelope, Iv, Keys, OrderCreateResponse, OrderPayQueryResponse, OrderQueryResponse,
    encrypt, open, open_json, sign_json,
};

const NONCE: &str = "NjM2NjA0MzI4ODU1MDcuMzo1MzE5ZWIwNGZjNzZlZGJhOGM5M2U1YTM0Nzk2MGM5NThhZjJiMTFiYjNiYmZmNjk1ZGMzYTFlMTEyMDA0MGU2";

fuzz_target!(|data: &[u8]| {
    let Ok(keys) = Keys::new("4D9709D699CA40EE", "5A4FEF83140C4E9E", "BC74301945134CB4", "961F67F8FCA44AB9") else {
        return;
    };
    let (flag, rest) = data.split_first().unwrap_or((&0, &[]));
    let env = if flag & 1 == 0 {
        match serde_json::from_slice::<Envelope>(rest) {
            Ok(env) => env,
            Err(_) => return,
        }
    } else {
        let sign = sign_json(rest, NONCE, &keys).map(|s| s.into_string()).unwrap_or_default();
        Envelope {
            version: "1.0.0".into(),
            shop_no: "BA0026_001".into(),
            api_service: ApiService::OrderCreate,
            sign,
            nonce: NONCE.into(),
            message: encrypt(keys.hash_id(), &Iv::from_nonce(NONCE), rest),
        }
    };
    let _ = open_json(&env, &keys);
    let _ = open::<serde_json::Value>(&env, &keys);
    let _ = open::<OrderCreateResponse>(&env, &keys);
    let _ = open::<OrderQueryResponse>(&env, &keys);
    let _ = open::<OrderPayQueryResponse>(&env, &keys);
});
