//! Upper-case hex encoding and case-insensitive decoding, without intermediate allocations.

const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Every byte's two upper-case hex digits, so encoding is one table load per byte.
// Indexing in a const initializer is checked at compile time: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [UPPER[i >> 4], UPPER[i & 0x0f]];
        i += 1;
    }
    t
};

/// Value of each ASCII hex digit (either case); 0xFF for anything else.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
const NIBBLE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Upper-case hex of `bytes`.
pub(crate) fn encode_upper(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    encode_upper_to_slice(bytes, &mut out);
    // Only ASCII hex digits were written, so this cannot fail.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the upper-case hex of `bytes` into `out`, which must be twice as long.
pub(crate) fn encode_upper_to_slice(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair.copy_from_slice(PAIRS.get(usize::from(*b)).unwrap_or(&[b'0'; 2]));
    }
}

#[inline]
fn byte(hi: u8, lo: u8) -> Option<u8> {
    let nibble = |c: u8| NIBBLE.get(usize::from(c)).copied().unwrap_or(0xFF);
    let (h, l) = (nibble(hi), nibble(lo));
    (h < 16 && l < 16).then_some((h << 4) | l)
}

/// Decodes 8 hex digits (either case) packed little-endian in a `u64` into 4 bytes (packed
/// little-endian in the result) and a flag that is non-zero if any byte was not a hex digit.
/// SWAR: all eight digits at once, no branches.
#[inline]
fn decode8(chunk: u64) -> (u32, u64) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // With every top bit set no borrow crosses a byte: top bit of each byte set iff byte >= n.
    let ge = |x: u64, n: u64| ((x | HI).wrapping_sub(LO * n)) & HI;
    let low7 = chunk & !HI;
    let digit = ge(low7, 0x30) & !ge(low7, 0x3A);
    let folded = low7 | (LO * 0x20);
    let letter = ge(folded, 0x61) & !ge(folded, 0x67);
    let bad = (chunk & HI) | ((digit | letter) ^ HI);
    // Value of each digit: low nibble, plus 9 for letters; then pack nibble pairs.
    let n = (chunk & (LO * 0x0F)) + ((letter >> 7) * 9);
    let pairs = ((n & 0x0F0F_0F0F_0F0F_0F0F) << 4) | ((n >> 8) & 0x000F_000F_000F_000F);
    // Keep the even bytes of `pairs`: bytes 0, 2, 4, 6.
    let packed = (pairs & 0xFF)
        | ((pairs >> 8) & 0xFF00)
        | ((pairs >> 16) & 0x00FF_0000)
        | ((pairs >> 24) & 0xFF00_0000);
    (u32::try_from(packed).unwrap_or(0), bad)
}

/// Decodes hex (either case). `None` if the length is odd or a character is not a hex digit.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0u8; text.len() / 2];
    let mut bad = 0u64;
    let mut chunks = text.chunks_exact(8);
    let mut slots = out.chunks_exact_mut(4);
    for (chunk, slot) in (&mut chunks).zip(&mut slots) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let (value, flag) = decode8(u64::from_le_bytes(word));
        bad |= flag;
        slot.copy_from_slice(&value.to_le_bytes());
    }
    let nibble = |c: u8| NIBBLE.get(usize::from(c)).copied().unwrap_or(0xFF);
    for (pair, slot) in chunks
        .remainder()
        .chunks_exact(2)
        .zip(slots.into_remainder())
    {
        if let [hi, lo] = pair {
            let (h, l) = (nibble(*hi), nibble(*lo));
            bad |= u64::from((h | l) & 0xF0);
            *slot = (h << 4) | (l & 0x0F);
        }
    }
    (bad == 0).then_some(out)
}

/// Decodes exactly `N` bytes of hex (either case).
pub(crate) fn decode_array<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *slot = byte(*hi, *lo)?;
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
    fn swar_matches_table_for_every_byte() {
        for c in 0..=255u8 {
            let text = [b'0', b'1', b'2', b'3', b'4', b'5', b'6', c];
            let expected = (c as char)
                .to_digit(16)
                .map(|d| vec![0x01, 0x23, 0x45, 0x60 | d as u8]);
            assert_eq!(decode(&text), expected, "byte {c:#04x}");
        }
        assert_eq!(
            decode(b"abcdefABCDEF0123456789").unwrap(),
            [
                0xAB, 0xCD, 0xEF, 0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89
            ]
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode(b"ABC"), None);
        assert_eq!(decode(b"GG"), None);
        assert_eq!(decode_array::<2>(b"00"), None);
    }
}
