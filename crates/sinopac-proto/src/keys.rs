//! Shop keys (A1, A2, B1, B2) and the HashID derived from them.

use std::fmt;
use std::str::FromStr;

use aes::cipher::KeyInit;
use zeroize::Zeroize;

use crate::hex;

/// Which of the four shop keys a [`KeyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    /// The first half of the "A" pair.
    A1,
    /// The second half of the "A" pair.
    A2,
    /// The first half of the "B" pair.
    B1,
    /// The second half of the "B" pair.
    B2,
    /// A HashID given directly (32 hex characters).
    HashId,
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A1 => "A1",
            Self::A2 => "A2",
            Self::B1 => "B1",
            Self::B2 => "B2",
            Self::HashId => "HashID",
        })
    }
}

/// Why a key was refused. Never contains the key material itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is empty.
    #[error("key {0} is empty")]
    Empty(KeyName),
    /// The key has leading or trailing whitespace (a common copy-paste accident).
    #[error("key {0} has leading or trailing whitespace; remove it")]
    Whitespace(KeyName),
    /// The key does not have the expected number of characters.
    #[error("key {key} must be {expected} hex characters, got {actual}")]
    Length {
        /// Which key.
        key: KeyName,
        /// Expected length in characters.
        expected: usize,
        /// Actual length in characters.
        actual: usize,
    },
    /// The key contains a character that is not a hex digit.
    #[error("key {0} contains a character that is not a hex digit (0-9, A-F)")]
    NotHex(KeyName),
}

fn check_shape(name: KeyName, text: &str, expected: usize) -> Result<(), KeyError> {
    if text.is_empty() {
        return Err(KeyError::Empty(name));
    }
    if text.trim() != text {
        return Err(KeyError::Whitespace(name));
    }
    let actual = text.chars().count();
    if actual != expected {
        return Err(KeyError::Length {
            key: name,
            expected,
            actual,
        });
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::NotHex(name));
    }
    Ok(())
}

fn parse_half(name: KeyName, text: &str) -> Result<[u8; 8], KeyError> {
    check_shape(name, text, 16)?;
    hex::decode_array::<8>(text.as_bytes()).ok_or(KeyError::NotHex(name))
}

/// The HashID: upper-case hex of `A1⊕A2` followed by `B1⊕B2`, 32 ASCII characters.
///
/// It is the AES-256 key (as 32 ASCII bytes) and the suffix of every Sign, so it is a secret:
/// `Debug` is redacted, the bytes are zeroized on drop, and there is no `PartialEq`.
#[derive(Clone)]
pub struct HashId {
    text: [u8; 32],
    /// The expanded AES-256 key schedule, computed once (zeroized on drop by `aes`).
    cipher: aes::Aes256,
}

impl Drop for HashId {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

impl HashId {
    /// Parses a HashID given directly as 32 hex characters (either case; stored upper-case).
    ///
    /// # Errors
    /// [`KeyError`] naming `HashID` if the text is not exactly 32 hex characters.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        check_shape(KeyName::HashId, text, 32)?;
        let mut bytes = [0u8; 32];
        for (slot, b) in bytes.iter_mut().zip(text.bytes()) {
            *slot = b.to_ascii_uppercase();
        }
        Ok(Self::from_text(bytes))
    }

    fn from_text(text: [u8; 32]) -> Self {
        let cipher = aes::Aes256::new(&text.into());
        Self { text, cipher }
    }

    /// The expanded AES key.
    pub(crate) fn cipher(&self) -> &aes::Aes256 {
        &self.cipher
    }

    /// The 32 ASCII bytes used as the AES-256 key.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.text
    }

    /// The HashID as text. Handle with care: this is key material.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        // Always upper-case ASCII hex by construction.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }
}

impl fmt::Debug for HashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashId(<redacted>)")
    }
}

impl FromStr for HashId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The keys of one shop, reduced to the HashID that the protocol actually uses.
///
/// ```
/// use sinopac_proto::Keys;
/// let keys = Keys::new("4D9709D699CA40EE", "5A4FEF83140C4E9E", "BC74301945134CB4", "961F67F8FCA44AB9")?;
/// assert_eq!(keys.hash_id().expose_secret(), "17D8E6558DC60E702A6B57E1B9B7060D");
/// # Ok::<(), sinopac_proto::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Keys {
    hash_id: HashId,
}

impl Keys {
    /// Parses A1, A2, B1 and B2 (16 hex characters each, either case) and derives the HashID.
    ///
    /// # Errors
    /// [`KeyError`] naming the first key that is empty, has surrounding whitespace, has the
    /// wrong length or is not hex.
    pub fn new(a1: &str, a2: &str, b1: &str, b2: &str) -> Result<Self, KeyError> {
        let mut a1 = parse_half(KeyName::A1, a1)?;
        let mut a2 = parse_half(KeyName::A2, a2)?;
        let mut b1 = parse_half(KeyName::B1, b1)?;
        let mut b2 = parse_half(KeyName::B2, b2)?;
        let mut xored = [0u8; 16];
        for (i, slot) in xored.iter_mut().enumerate() {
            let (l, r) = if i < 8 { (&a1, &a2) } else { (&b1, &b2) };
            let j = i % 8;
            *slot = l.get(j).copied().unwrap_or(0) ^ r.get(j).copied().unwrap_or(0);
        }
        let mut text = [0u8; 32];
        hex::encode_upper_to_slice(&xored, &mut text);
        a1.zeroize();
        a2.zeroize();
        b1.zeroize();
        b2.zeroize();
        xored.zeroize();
        let hash_id = HashId::from_text(text);
        text.zeroize();
        Ok(Self { hash_id })
    }

    /// Keys from a HashID given directly (for debugging tools; normal code uses [`Keys::new`]).
    #[must_use]
    pub fn from_hash_id(hash_id: HashId) -> Self {
        Self { hash_id }
    }

    /// The derived HashID.
    #[must_use]
    pub fn hash_id(&self) -> &HashId {
        &self.hash_id
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_documented_hash_id_any_case() {
        let keys = Keys::new(
            "4d9709d699ca40ee",
            "5A4FEF83140C4E9E",
            "BC74301945134CB4",
            "961f67f8fca44ab9",
        )
        .unwrap();
        assert_eq!(
            keys.hash_id().expose_secret(),
            "17D8E6558DC60E702A6B57E1B9B7060D"
        );
    }

    #[test]
    fn errors_name_the_key() {
        let ok = "4D9709D699CA40EE";
        assert_eq!(
            Keys::new(ok, " 5A4FEF83140C4E9E", ok, ok).unwrap_err(),
            KeyError::Whitespace(KeyName::A2)
        );
        assert_eq!(
            Keys::new(ok, ok, "", ok).unwrap_err(),
            KeyError::Empty(KeyName::B1)
        );
        assert_eq!(
            Keys::new(ok, ok, ok, "961F67F8FCA44AB").unwrap_err(),
            KeyError::Length {
                key: KeyName::B2,
                expected: 16,
                actual: 15
            }
        );
        assert_eq!(
            Keys::new("4D9709D699CA40EG", ok, ok, ok).unwrap_err(),
            KeyError::NotHex(KeyName::A1)
        );
        let msg = Keys::new(ok, ok, ok, "961F67F8FCA44AB9\t")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("B2"), "{msg}");
        assert!(
            !msg.contains("961F"),
            "error must not echo key material: {msg}"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let keys = Keys::new(
            "4D9709D699CA40EE",
            "5A4FEF83140C4E9E",
            "BC74301945134CB4",
            "961F67F8FCA44AB9",
        )
        .unwrap();
        let shown = format!("{keys:?} {:?}", keys.hash_id());
        assert!(!shown.contains("17D8"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn hash_id_parse_uppercases() {
        let h = HashId::parse("17d8e6558dc60e702a6b57e1b9b7060d").unwrap();
        assert_eq!(h.expose_secret(), "17D8E6558DC60E702A6B57E1B9B7060D");
        assert!(HashId::parse("17D8").is_err());
    }
}
