//! Upper-case hex encoding and case-insensitive decoding, without intermediate allocations.

const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the upper-case hex form of `bytes` to `out`.
pub(crate) fn encode_upper_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(UPPER[usize::from(b >> 4)]));
        out.push(char::from(UPPER[usize::from(b & 0x0f)]));
    }
}

/// Upper-case hex of `bytes`.
pub(crate) fn encode_upper(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    encode_upper_into(bytes, &mut s);
    s
}

/// Writes the upper-case hex of `bytes` into `out`, which must be twice as long.
pub(crate) fn encode_upper_to_slice(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        if let [hi, lo] = pair {
            *hi = UPPER[usize::from(b >> 4)];
            *lo = UPPER[usize::from(b & 0x0f)];
        }
    }
}

const fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex (either case). `None` if the length is odd or a character is not a hex digit.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    for pair in text.chunks_exact(2) {
        let [hi, lo] = pair else { return None };
        out.push((nibble(*hi)? << 4) | nibble(*lo)?);
    }
    Some(out)
}

/// Decodes exactly `N` bytes of hex (either case).
pub(crate) fn decode_array<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *slot = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff];
        assert_eq!(encode_upper(&bytes), "000FA5FF");
        assert_eq!(decode(b"000fa5FF").as_deref(), Some(&bytes[..]));
        assert_eq!(decode_array::<4>(b"000FA5FF"), Some(bytes));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode(b"ABC"), None);
        assert_eq!(decode(b"GG"), None);
        assert_eq!(decode_array::<2>(b"00"), None);
    }
}
