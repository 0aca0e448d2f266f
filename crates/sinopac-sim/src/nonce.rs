//! Nonces: issued by `POST /Nonce`, single use, expiring on the sim clock, bound to the ShopNo
//! and the X-KeyID they were issued for.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Milliseconds from 0001-01-01T00:00 to 1970-01-01T00:00 (the .NET `DateTime` epoch).
const DOTNET_EPOCH_OFFSET_MS: i64 = 62_135_596_800_000;
/// Taiwan local time offset.
const TAIPEI_OFFSET_MS: i64 = 8 * 3_600_000;

/// Formats a nonce the way the bank does (PROTOCOL.md §2): Base64 of
/// `"<.NET ms since 0001-01-01, Taiwan local time, ≤1 decimal>:<64 lower-case hex>"`.
pub(crate) fn format_nonce(now_ms: i64, tenth: u64, random: &[u8]) -> String {
    let local = now_ms
        .saturating_add(TAIPEI_OFFSET_MS)
        .saturating_add(DOTNET_EPOCH_OFFSET_MS);
    let digest = Sha256::digest(random);
    let mut text = String::with_capacity(84);
    text.push_str(&local.to_string());
    let tenth = tenth % 10;
    if tenth != 0 {
        text.push('.');
        text.push(char::from(b'0' + u8::try_from(tenth).unwrap_or(0)));
    }
    text.push(':');
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in digest {
        for nibble in [b >> 4, b & 0x0F] {
            text.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// Why a nonce was refused (the sim's codes are in the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceProblem {
    /// Never issued (or forgotten long ago).
    Unknown,
    /// Issued more than the TTL ago.
    Expired,
    /// Already used by an earlier `/Order` call.
    Reused,
    /// Issued for another ShopNo or X-KeyID.
    WrongShop,
}

#[derive(Debug)]
struct NonceRecord {
    shop_no: Arc<str>,
    key_id: Arc<str>,
    issued_ms: i64,
    used: bool,
}

/// Issued nonces.
#[derive(Debug, Default)]
pub(crate) struct NonceStore {
    map: HashMap<String, NonceRecord>,
    issued_since_gc: u64,
}

impl NonceStore {
    pub(crate) fn insert(
        &mut self,
        nonce: String,
        shop_no: &Arc<str>,
        key_id: &Arc<str>,
        now_ms: i64,
        ttl_ms: i64,
    ) {
        self.issued_since_gc += 1;
        if self.issued_since_gc >= 16_384 {
            self.issued_since_gc = 0;
            // Keep used nonces around for a while so that reuse is reported as reuse
            // (E9104); later, or when there are many, a reused nonce is just unknown (E9102).
            let horizon = ttl_ms.saturating_mul(2);
            self.map
                .retain(|_, r| now_ms.saturating_sub(r.issued_ms) <= horizon);
            if self.map.len() > 200_000 {
                self.map.retain(|_, r| !r.used);
            }
        }
        self.map.insert(
            nonce,
            NonceRecord {
                shop_no: Arc::clone(shop_no),
                key_id: Arc::clone(key_id),
                issued_ms: now_ms,
                used: false,
            },
        );
    }

    /// Uses a nonce: valid only once, within `ttl_ms`, for the shop and key id it was issued to.
    /// Any nonce that was issued is consumed by this call, valid or not.
    pub(crate) fn consume(
        &mut self,
        nonce: &str,
        shop_no: &str,
        key_id: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<(), NonceProblem> {
        let record = self.map.get_mut(nonce).ok_or(NonceProblem::Unknown)?;
        if record.used {
            return Err(NonceProblem::Reused);
        }
        record.used = true;
        if *record.shop_no != *shop_no || *record.key_id != *key_id {
            return Err(NonceProblem::WrongShop);
        }
        if now_ms.saturating_sub(record.issued_ms) > ttl_ms {
            return Err(NonceProblem::Expired);
        }
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_matches_the_documented_sample() {
        // 2018-04-27 13:34:42.288 Taipei = 05:34:42.288 UTC → 63660432882288(.3)
        let unix_ms = 1_524_807_282_288;
        let n = format_nonce(unix_ms, 3, b"x");
        let text = base64::engine::general_purpose::STANDARD
            .decode(n.as_bytes())
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("63660432882288.3:"), "{text}");
        assert_eq!(n.len(), 108);
        let n0 = format_nonce(unix_ms, 0, b"x");
        assert!(n0.ends_with("=="), "{n0}");
        assert_eq!(n0.len(), 108);
    }

    #[test]
    fn single_use_ttl_and_binding() {
        let mut s = NonceStore::default();
        let (s1, k1): (Arc<str>, Arc<str>) = (Arc::from("S1"), Arc::from("k1"));
        s.insert("a".into(), &s1, &k1, 0, 60_000);
        s.insert("b".into(), &s1, &k1, 0, 60_000);
        s.insert("c".into(), &s1, &k1, 0, 60_000);
        assert_eq!(s.consume("a", "S1", "k1", 60_000, 60_000), Ok(()));
        assert_eq!(
            s.consume("a", "S1", "k1", 60_000, 60_000),
            Err(NonceProblem::Reused)
        );
        assert_eq!(
            s.consume("b", "S1", "k1", 60_001, 60_000),
            Err(NonceProblem::Expired)
        );
        assert_eq!(
            s.consume("c", "S2", "k1", 0, 60_000),
            Err(NonceProblem::WrongShop)
        );
        assert_eq!(
            s.consume("zz", "S1", "k1", 0, 60_000),
            Err(NonceProblem::Unknown)
        );
        assert_eq!(s.len(), 3);
    }
}
