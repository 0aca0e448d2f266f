//! Secrets: the master key, shop credentials encrypted at rest with AES-256-GCM, API tokens.
//!
//! Shop credentials (key id, A1..B2) are stored as `nonce(12) ‖ AES-256-GCM(JSON)` with the
//! ShopNo as associated data, so a ciphertext copied onto another shop's row does not open.
//! Nothing here implements `PartialEq` on secret material, every `Debug` is redacted and the
//! bytes are zeroized on drop.

use std::fmt;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce as GcmNonce};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sinopac_proto::{KeyError, Keys, ShopNo};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Why a secret could not be loaded, sealed or opened. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The master key is not 32 bytes given as 64 hex characters or base64.
    #[error("the master key must be 32 bytes, given as 64 hex characters or base64")]
    MasterKeyFormat,
    /// The stored credentials did not decrypt (wrong master key, or tampered / moved row).
    #[error("stored credentials did not decrypt (wrong master key or tampered row)")]
    Decrypt,
    /// Encryption failed (should not happen).
    #[error("credential encryption failed")]
    Encrypt,
    /// The decrypted credentials were not the expected JSON.
    #[error("stored credentials are malformed")]
    Malformed(#[source] serde_json::Error),
    /// A shop key is invalid.
    #[error("invalid shop key")]
    Key(#[from] KeyError),
}

/// The 32-byte master key that encrypts shop credentials at rest (`SINOPAC_MASTER_KEY`).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Parses 64 hex characters or the standard base64 of 32 bytes (surrounding whitespace
    /// trimmed).
    ///
    /// # Errors
    /// [`SecretError::MasterKeyFormat`] otherwise.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let mut out = [0u8; 32];
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            for (i, slot) in out.iter_mut().enumerate() {
                let pair = text
                    .get(i * 2..i * 2 + 2)
                    .ok_or(SecretError::MasterKeyFormat)?;
                *slot = u8::from_str_radix(pair, 16).map_err(|_| SecretError::MasterKeyFormat)?;
            }
            return Ok(Self(out));
        }
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| SecretError::MasterKeyFormat)?,
        );
        if bytes.len() != 32 {
            return Err(SecretError::MasterKeyFormat);
        }
        out.copy_from_slice(&bytes);
        Ok(Self(out))
    }

    /// A fresh random key (demo mode).
    #[must_use]
    pub fn generate() -> Self {
        let mut out = [0u8; 32];
        OsRng.fill_bytes(&mut out);
        Self(out)
    }

    /// The key as 64 hex characters (to persist a generated demo key). Handle with care.
    #[must_use]
    pub fn expose_hex(&self) -> String {
        hex_lower(&self.0)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    /// Encrypts `plaintext` with `aad` as associated data: `nonce(12) ‖ ciphertext+tag`.
    ///
    /// # Errors
    /// [`SecretError::Encrypt`] if the cipher fails (it does not for these sizes).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                GcmNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SecretError::Encrypt)?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`Self::seal`] produced with the same `aad`.
    ///
    /// # Errors
    /// [`SecretError::Decrypt`] on a wrong key, wrong `aad` or any tampering.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let (nonce, ct) = sealed.split_at_checked(12).ok_or(SecretError::Decrypt)?;
        self.cipher()
            .decrypt(GcmNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| SecretError::Decrypt)
    }
}

/// A shop's credentials: `X-KeyID` and the four hash values A1..B2.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ShopCredentials {
    /// `X-KeyID` (trimmed).
    pub key_id: String,
    /// A1.
    pub a1: String,
    /// A2.
    pub a2: String,
    /// B1.
    pub b1: String,
    /// B2.
    pub b2: String,
}

impl fmt::Debug for ShopCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShopCredentials(<redacted>)")
    }
}

impl ShopCredentials {
    /// Builds and validates credentials (the key id is trimmed; the keys must be 16 hex
    /// characters each).
    ///
    /// # Errors
    /// [`SecretError::Key`] naming the bad key.
    pub fn new(key_id: &str, a1: &str, a2: &str, b1: &str, b2: &str) -> Result<Self, SecretError> {
        let creds = Self {
            key_id: key_id.trim().to_owned(),
            a1: a1.trim().to_owned(),
            a2: a2.trim().to_owned(),
            b1: b1.trim().to_owned(),
            b2: b2.trim().to_owned(),
        };
        creds.keys()?;
        Ok(creds)
    }

    /// The protocol keys.
    ///
    /// # Errors
    /// [`SecretError::Key`] if a stored key is invalid.
    pub fn keys(&self) -> Result<Keys, SecretError> {
        Ok(Keys::new(&self.a1, &self.a2, &self.b1, &self.b2)?)
    }

    /// Encrypts these credentials for `shop_no`.
    ///
    /// # Errors
    /// [`SecretError`] if serialisation or encryption fails.
    pub fn seal(&self, master: &MasterKey, shop_no: &ShopNo) -> Result<Vec<u8>, SecretError> {
        let json = Zeroizing::new(serde_json::to_vec(self).map_err(SecretError::Malformed)?);
        master.seal(shop_no.as_str().as_bytes(), &json)
    }

    /// Decrypts credentials stored for `shop_no`.
    ///
    /// # Errors
    /// [`SecretError::Decrypt`] if the blob does not open under this key for this shop.
    pub fn open(master: &MasterKey, shop_no: &ShopNo, sealed: &[u8]) -> Result<Self, SecretError> {
        let json = master.open(shop_no.as_str().as_bytes(), sealed)?;
        serde_json::from_slice(&json).map_err(SecretError::Malformed)
    }
}

/// A bearer token (shop API or admin API). Compared in constant time; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiToken(String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl ApiToken {
    /// Wraps a token (trimmed).
    #[must_use]
    pub fn new(token: &str) -> Self {
        Self(token.trim().to_owned())
    }

    /// A random 32-hex-character token.
    #[must_use]
    pub fn generate() -> Self {
        Self(random_hex(16))
    }

    /// Constant-time comparison with a presented token.
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        !self.0.is_empty() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }

    /// The token text (to print a generated demo token once). Handle with care.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `n` random bytes as lower-case hex.
#[must_use]
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    hex_lower(&buf)
}

/// A uniform random number in `[0, 1)` (for jitter).
#[must_use]
pub fn random_unit() -> f64 {
    let v = OsRng.next_u64() >> 11;
    #[allow(clippy::cast_precision_loss)]
    let f = v as f64 / (1u64 << 53) as f64;
    f
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            s.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> ShopCredentials {
        ShopCredentials::new(
            " b5e6986d-8636-4aa0-8c93-441ad14b2098\t",
            "86D50DEF3EB7400E",
            "01FD27C09E5549E5",
            "9E004965F4244953",
            "7FB3385F414E4F91",
        )
        .unwrap()
    }

    #[test]
    fn credentials_round_trip_and_bind_to_shop() {
        let mk = MasterKey::generate();
        let shop = ShopNo::new("NA0249_001").unwrap();
        let sealed = creds().seal(&mk, &shop).unwrap();
        // The plaintext is not visible in the blob.
        assert!(!sealed.windows(16).any(|w| w == b"86D50DEF3EB7400E"));
        let back = ShopCredentials::open(&mk, &shop, &sealed).unwrap();
        assert_eq!(back.key_id, "b5e6986d-8636-4aa0-8c93-441ad14b2098");
        assert_eq!(
            back.keys().unwrap().hash_id().expose_secret(),
            "87282A2FA0E209EBE1B3713AB56A06C2"
        );
        // Another shop, another key, or a flipped bit: refused.
        let other = ShopNo::new("NA0249_002").unwrap();
        assert!(matches!(
            ShopCredentials::open(&mk, &other, &sealed),
            Err(SecretError::Decrypt)
        ));
        assert!(ShopCredentials::open(&MasterKey::generate(), &shop, &sealed).is_err());
        let mut bad = sealed.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(ShopCredentials::open(&mk, &shop, &bad).is_err());
        assert!(ShopCredentials::open(&mk, &shop, b"short").is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let c = creds();
        let d = format!(
            "{c:?} {:?} {:?}",
            MasterKey::generate(),
            ApiToken::new("tok")
        );
        assert!(!d.contains("86D5"));
        assert!(!d.contains("b5e6"));
        assert!(!d.contains("tok)"));
    }

    #[test]
    fn master_key_formats() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let k = MasterKey::parse(hex).unwrap();
        assert_eq!(k.expose_hex(), hex);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            MasterKey::parse(&b64).unwrap().expose_hex(),
            "07".repeat(32)
        );
        assert!(MasterKey::parse("abc").is_err());
        assert!(MasterKey::parse(&"0".repeat(63)).is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(
            ShopCredentials::new(
                "k",
                "XX",
                "01FD27C09E5549E5",
                "9E004965F4244953",
                "7FB3385F414E4F91"
            ),
            Err(SecretError::Key(_))
        ));
    }

    #[test]
    fn tokens() {
        let t = ApiToken::new("secret");
        assert!(t.matches("secret"));
        assert!(!t.matches("secreT"));
        assert!(!ApiToken::new("").matches(""));
        assert_eq!(ApiToken::generate().expose().len(), 32);
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
