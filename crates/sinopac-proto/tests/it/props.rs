//! Property tests: round trips, tamper detection, field-order independence, no panics on input.

use proptest::prelude::*;
use serde_json::{Map, Value};
use sinopac_proto::{
    ApiService, BackendNotification, BankDate, BankTime, Envelope, HashId, Iv, Keys, OpenError,
    ReturnNotification, decrypt, open, open_json, seal_json, seal_payload, sign_json,
};

fn keys() -> Keys {
    Keys::new(
        "4D9709D699CA40EE",
        "5A4FEF83140C4E9E",
        "BC74301945134CB4",
        "961F67F8FCA44AB9",
    )
    .unwrap()
}

const NONCE: &str = "NjM2NjA0MzI4ODIyODguMzo3NzI0ZDg4ZmI5Nzc2YzQ1MTNhYzg2MTk3NDBlYTRhNGU0N2IxM2Q2M2JkMTIwOGU5YzZhMGFmNGY5MjA5YzVm";

/// Field values: CJK, ASCII, URLs, numbers; never blank so every field is signed.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[\\u{4e00}-\\u{9fa5}]{1,20}".prop_map(Value::from),
        "[ -~]{0,40}[!-~]".prop_map(Value::from),
        "\\PC{1,24}"
            .prop_filter("non-blank", |s: &String| !s.trim().is_empty())
            .prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
    ]
}

fn payload() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,12}", value(), 1..10)
        .prop_map(|m| m.into_iter().collect())
}

fn sealed(map: &Map<String, Value>) -> Envelope {
    seal_payload(ApiService::OrderQuery, "NA0249_001", map, NONCE, &keys()).unwrap()
}

/// Replaces the character at `idx` with a different one that changes the decoded value.
fn mutate(text: &str, idx: usize, pick: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let i = idx % bytes.len();
    let old = bytes[i];
    let candidates: Vec<u8> = b"0123456789ABCDEFZ=+"
        .iter()
        .copied()
        .filter(|c| !c.eq_ignore_ascii_case(&old))
        .collect();
    bytes[i] = candidates[usize::from(pick) % candidates.len()];
    String::from_utf8(bytes).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn open_inverts_seal(map in payload()) {
        let env = sealed(&map);
        let back: Value = open(&env, &keys()).unwrap();
        prop_assert_eq!(back, Value::Object(map));
    }

    #[test]
    fn block_boundary_lengths_round_trip(len in 0usize..80, cjk in any::<bool>()) {
        let text: String = if cjk { "中".repeat(len / 3 + 1) } else { "x".repeat(len + 1) };
        let map: Map<String, Value> = [("PrdtName".to_owned(), Value::from(text))].into_iter().collect();
        let env = sealed(&map);
        prop_assert_eq!(env.message.len() % 32, 0);
        let back: Value = open(&env, &keys()).unwrap();
        prop_assert_eq!(back, Value::Object(map));
    }

    #[test]
    fn any_changed_byte_of_message_sign_or_nonce_is_rejected(
        map in payload(), which in 0u8..3, idx in any::<usize>(), pick in any::<u8>()
    ) {
        let mut env = sealed(&map);
        match which {
            0 => env.message = mutate(&env.message, idx, pick),
            1 => env.sign = mutate(&env.sign, idx, pick),
            _ => env.nonce = mutate(&env.nonce, idx, pick),
        }
        prop_assert!(matches!(open_json(&env, &keys()), Err(OpenError::Rejected)));
    }

    #[test]
    fn sign_does_not_depend_on_field_order(map in payload(), seed in any::<u64>()) {
        let mut entries: Vec<(String, Value)> = map.clone().into_iter().collect();
        // Deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..entries.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            entries.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let as_json = |e: &[(String, Value)]| {
            let body: Vec<String> = e.iter()
                .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v)).collect();
            format!("{{{}}}", body.join(","))
        };
        let a = sign_json(as_json(&map.into_iter().collect::<Vec<_>>()).as_bytes(), NONCE, &keys()).unwrap();
        let b = sign_json(as_json(&entries).as_bytes(), NONCE, &keys()).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = BackendNotification::from_json(&bytes);
        let _ = ReturnNotification::from_form(&bytes);
        let _ = serde_json::from_slice::<Envelope>(&bytes);
        let _ = sign_json(&bytes, NONCE, &keys());
        let _ = seal_json(ApiService::OrderCreate, "S", &bytes, NONCE, &keys());
        let text = String::from_utf8_lossy(&bytes);
        let _ = decrypt(keys().hash_id(), &Iv::from_nonce(&text), &text);
        let _ = BankTime::parse(&text);
        let _ = BankDate::parse(&text);
        let _ = HashId::parse(&text);
        let _ = Keys::new(&text, &text, &text, &text);
    }

    #[test]
    fn open_never_panics_on_strings(message in "[0-9A-Fa-f]{0,200}|\\PC{0,80}", sign in "\\PC{0,70}", nonce in "\\PC{0,120}") {
        let env = Envelope {
            version: "1.0.0".into(), shop_no: "S".into(), api_service: ApiService::OrderCreate,
            sign, nonce, message,
        };
        prop_assert!(open::<Value>(&env, &keys()).is_err());
    }

    #[test]
    fn valid_ciphertext_with_arbitrary_plaintext_never_panics(plain in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Authentic encryption of arbitrary bytes: open must reject (no valid Sign) without panicking.
        let keys = keys();
        let env = Envelope {
            version: "1.0.0".into(), shop_no: "S".into(), api_service: ApiService::OrderCreate,
            sign: "0".repeat(64), nonce: NONCE.into(),
            message: sinopac_proto::encrypt(keys.hash_id(), &Iv::from_nonce(NONCE), &plain),
        };
        prop_assert!(open::<Value>(&env, &keys).is_err());
    }
}

/// Any JSON value, nested, with escapes and odd characters in strings.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
        "\\PC{0,12}|[\"\\\\/\\t\\n {}\\[\\],:]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z\"{}]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The Sign rule written the slow, obvious way over a parsed document.
fn reference_sign_string(map: &Map<String, Value>) -> String {
    let mut fields: Vec<(String, String)> = map
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) if s.trim().is_empty() => return None,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(true) => "True".into(),
                Value::Bool(false) => "False".into(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect();
    fields.sort_by(|a, b| {
        a.0.to_ascii_uppercase()
            .cmp(&b.0.to_ascii_uppercase())
            .then(a.0.cmp(&b.0))
    });
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

proptest! {
    #[test]
    fn sign_string_matches_reference_for_any_object(
        map in proptest::collection::btree_map("[A-Za-z][A-Za-z0-9_]{0,8}", any_json(), 0..8),
        pretty in any::<bool>(),
    ) {
        let map: Map<String, Value> = map.into_iter().collect();
        let text = if pretty { serde_json::to_string_pretty(&map) } else { serde_json::to_string(&map) }.unwrap();
        prop_assert_eq!(sinopac_proto::sign_string_json(text.as_bytes()).unwrap(), reference_sign_string(&map));
        // And a sealed copy opens to the same document.
        let env = seal_json(ApiService::OrderQuery, "S", text.as_bytes(), NONCE, &keys()).unwrap();
        prop_assert_eq!(open::<Value>(&env, &keys()).unwrap(), Value::Object(map));
    }
}
