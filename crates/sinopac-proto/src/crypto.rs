//! The IV rule and AES-256-CBC/PKCS#7 over the HashID (PROTOCOL.md §4, §5).

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, block_padding::Pkcs7};
use sha2::{Digest, Sha256};

use crate::hex;
use crate::keys::HashId;

type Enc = cbc::Encryptor<aes::Aes256>;
type Dec = cbc::Decryptor<aes::Aes256>;

/// The 16-byte IV derived from a nonce: the last 16 characters of the upper-case hex SHA-256 of
/// the nonce, used as ASCII bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Iv([u8; 16]);

impl Iv {
    /// Derives the IV for `nonce`.
    ///
    /// ```
    /// let iv = sinopac_proto::Iv::from_nonce("NjM2NjA0MzI4ODIyODguMzo3NzI0ZDg4ZmI5Nzc2YzQ1MTNhYzg2MTk3NDBlYTRhNGU0N2IxM2Q2M2JkMTIwOGU5YzZhMGFmNGY5MjA5YzVm");
    /// assert_eq!(iv.as_str(), "CB6FA68E42B655AB");
    /// ```
    #[must_use]
    pub fn from_nonce(nonce: &str) -> Self {
        let digest = Sha256::digest(nonce.as_bytes());
        let mut out = [0u8; 16];
        // The last 16 hex characters are the hex of the last 8 digest bytes.
        hex::encode_upper_to_slice(digest.get(24..).unwrap_or_default(), &mut out);
        Self(out)
    }

    /// The IV as 16 ASCII bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The IV as text (16 upper-case hex characters).
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for Iv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Iv({})", self.as_str())
    }
}

/// Encrypts `plaintext` and returns the upper-case hex ciphertext (the envelope's `Message`).
///
/// `buf` is consumed as scratch space so the caller's JSON buffer can be encrypted in place.
pub(crate) fn encrypt_in_place(hash_id: &HashId, iv: &Iv, mut buf: Vec<u8>) -> String {
    let len = buf.len();
    let padded = (len / 16 + 1) * 16;
    buf.resize(padded, 0);
    let cipher = Enc::inner_iv_init(hash_id.cipher().clone(), iv.as_bytes().into());
    let ct = match cipher.encrypt_padded_mut::<Pkcs7>(&mut buf, len) {
        Ok(ct) => ct,
        // Unreachable: the buffer always has room for the padding block.
        Err(_) => return String::new(),
    };
    hex::encode_upper(ct)
}

/// Encrypts `plaintext` bytes as-is; returns the upper-case hex ciphertext.
#[must_use]
pub fn encrypt(hash_id: &HashId, iv: &Iv, plaintext: &[u8]) -> String {
    let mut buf = Vec::with_capacity(plaintext.len() + 16);
    buf.extend_from_slice(plaintext);
    encrypt_in_place(hash_id, iv, buf)
}

/// Decrypts a hex `Message` (either case). `None` on bad hex, bad length or bad padding — the
/// caller must not distinguish these (no padding oracle).
#[must_use]
pub fn decrypt(hash_id: &HashId, iv: &Iv, message_hex: &str) -> Option<Vec<u8>> {
    let mut buf = hex::decode(message_hex.as_bytes())?;
    if buf.is_empty() || buf.len() % 16 != 0 {
        return None;
    }
    let cipher = Dec::inner_iv_init(hash_id.cipher().clone(), iv.as_bytes().into());
    let len = cipher.decrypt_padded_mut::<Pkcs7>(&mut buf).ok()?.len();
    buf.truncate(len);
    Some(buf)
}
