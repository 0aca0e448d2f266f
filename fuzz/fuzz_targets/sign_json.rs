//! The one-pass sign scanner against serde_json: for every input that serde_json accepts as an
//! object (without duplicate keys or top-level numbers), the sign string must not change when the document is
//! re-serialized (escapes and whitespace normalized, values parsed by serde_json).
#![no_main]

use std::fmt;

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

/// Number of top-level members, duplicates included.
struct Members(usize);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut n = 0;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Members(n))
            }
        }
        d.deserialize_map(V)
    }
}

fuzz_target!(|data: &[u8]| {
    let (Ok(map), Ok(members)) =
        (serde_json::from_slice::<Map<String, Value>>(data), serde_json::from_slice::<Members>(data))
    else {
        let _ = sinopac_proto::sign_string_json(data);
        return;
    };
    let ours = sinopac_proto::sign_string_json(data).expect("an object serde_json accepts");
    // Numbers are signed as their raw text, which re-serializing may change (`1e2` → `100.0`).
    let has_number = map.values().any(Value::is_number);
    if members.0 == map.len() && !has_number {
        let normalized = serde_json::to_vec(&map).unwrap_or_default();
        assert_eq!(Some(ours), sinopac_proto::sign_string_json(&normalized).ok());
    }
});
