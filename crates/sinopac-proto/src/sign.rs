//! The Sign (PROTOCOL.md §6): SHA-256 over the sorted top-level scalar fields of the payload,
//! then the nonce, then the HashID.
//!
//! Two ways in, one rule: typed payloads are walked with a small `serde::Serializer` that records
//! scalar fields into one buffer (no JSON re-parse), and received JSON is scanned once into
//! borrowed `(name, raw value)` pairs so that fields we do not model still count.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::fmt::Write as _;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{self, Impossible, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::hex;
use crate::keys::HashId;

/// A Sign: 64 upper-case hex characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sign(String);

impl Sign {
    /// Parses a Sign received on the wire (either case; stored upper-case).
    ///
    /// # Errors
    /// [`SignParseError`] if the text is not 64 hex characters.
    pub fn parse(text: &str) -> Result<Self, SignParseError> {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SignParseError);
        }
        Ok(Self(text.to_ascii_uppercase()))
    }

    pub(crate) fn from_digest(digest: &[u8; 32]) -> Self {
        Self(hex::encode_upper(digest))
    }

    /// The Sign as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the Sign, returning its text.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sign({})", self.0)
    }
}

impl fmt::Display for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not a Sign (64 hex characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Sign must be 64 hex characters")]
pub struct SignParseError;

/// Compares a received Sign text with a computed digest in constant time.
pub(crate) fn sign_matches(received: &str, digest: &[u8; 32]) -> bool {
    match hex::decode_array::<32>(received.as_bytes()) {
        Some(bytes) => bool::from(bytes.ct_eq(digest)),
        None => false,
    }
}

/// The signed fields of one payload: names and values live in one buffer.
///
/// For received JSON the buffer is the JSON text itself (borrowed): names and values are ranges
/// into it, nothing is copied. Only a value with escapes (or a boolean) is written out, after an
/// owned copy of the text, so earlier ranges stay valid.
pub(crate) struct SignFields<'a> {
    buf: Cow<'a, str>,
    fields: Vec<Field>,
}

/// One signed field: name and value as ranges of the shared buffer, plus a sort key.
#[derive(Clone)]
struct Field {
    /// The first 8 bytes of the upper-cased name (zero padded) when the name is ASCII:
    /// comparing keys agrees with [`cmp_ignore_case`] whenever the keys differ.
    key: Option<u64>,
    name: Range<usize>,
    value: Range<usize>,
}

fn sort_key(name: &str) -> Option<u64> {
    if !name.is_ascii() {
        return None;
    }
    let mut key = [0u8; 8];
    for (slot, b) in key.iter_mut().zip(name.bytes()) {
        *slot = b.to_ascii_uppercase();
    }
    Some(u64::from_be_bytes(key))
}

/// Case-insensitive ordinal comparison like .NET `StringComparer.OrdinalIgnoreCase`
/// (upper-case each UTF-16 code unit's character, then compare ordinally), with an ordinal
/// tie-break so the order is total.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    let folded = if a.is_ascii() && b.is_ascii() {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        let mut result = x.len().cmp(&y.len());
        for (p, q) in x.iter().zip(y) {
            let (p, q) = (p.to_ascii_uppercase(), q.to_ascii_uppercase());
            if p != q {
                result = p.cmp(&q);
                break;
            }
        }
        result
    } else {
        let up = |s: &str| -> Vec<u16> {
            let mut out = Vec::with_capacity(s.len());
            let mut units = [0u16; 2];
            for c in s.chars() {
                let mut upper = c.to_uppercase();
                let mapped = match (upper.next(), upper.next()) {
                    (Some(u), None) => u,
                    _ => c,
                };
                out.extend_from_slice(mapped.encode_utf16(&mut units));
            }
            out
        };
        up(a).cmp(&up(b))
    };
    folded.then_with(|| a.cmp(b))
}

fn is_blank(value: &str) -> bool {
    match value.as_bytes().first() {
        None => true,
        // Fast path: a visible ASCII first character means the value is not blank.
        Some(b) if b.is_ascii_graphic() => false,
        Some(_) => value.chars().all(char::is_whitespace),
    }
}

/// The owned buffer a typed payload is serialized into.
struct Parts {
    buf: String,
    fields: Vec<Field>,
}

/// Records a field whose value was just appended to `buf` from `value_start` on, or drops the
/// name and value again when the value is blank.
fn commit(buf: &mut String, fields: &mut Vec<Field>, name: Range<usize>, value_start: usize) {
    let value = value_start..buf.len();
    if is_blank(buf.get(value.clone()).unwrap_or_default()) {
        buf.truncate(name.start);
    } else {
        let key = sort_key(buf.get(name.clone()).unwrap_or_default());
        fields.push(Field { key, name, value });
    }
}

impl<'a> SignFields<'a> {
    fn text(&self, r: &Range<usize>) -> &str {
        self.buf.get(r.clone()).unwrap_or_default()
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|f| (self.text(&f.name), self.text(&f.value)))
    }

    /// Records a field from ranges of `buf`, unless its value is blank.
    fn push_ranges(&mut self, name: Range<usize>, value: Range<usize>) {
        if !is_blank(self.text(&value)) {
            let key = sort_key(self.text(&name));
            self.fields.push(Field { key, name, value });
        }
    }

    /// Appends a field's name and value to the (now owned) buffer.
    fn push(&mut self, name: &str, value: &str) {
        let buf = self.buf.to_mut();
        let start = buf.len();
        buf.push_str(name);
        let value_start = buf.len();
        buf.push_str(value);
        commit(buf, &mut self.fields, start..value_start, value_start);
    }

    fn sort(&mut self) {
        let buf = &self.buf;
        let name = |r: &Range<usize>| buf.get(r.clone()).unwrap_or_default();
        self.fields.sort_unstable_by(|a, b| match (a.key, b.key) {
            (Some(x), Some(y)) if x != y => x.cmp(&y),
            _ => cmp_ignore_case(name(&a.name), name(&b.name)),
        });
    }

    /// Collects the signed fields of a typed payload (must serialize as a struct or map).
    pub(crate) fn from_serialize<T: Serialize + ?Sized>(payload: &T) -> Result<Self, SignSerError> {
        let mut parts = Parts {
            buf: String::with_capacity(384),
            fields: Vec::with_capacity(16),
        };
        payload.serialize(TopSerializer { out: &mut parts })?;
        let mut fields = SignFields {
            buf: Cow::Owned(parts.buf),
            fields: parts.fields,
        };
        fields.sort();
        Ok(fields)
    }

    /// Collects the signed fields of a JSON object text in one pass, without building a
    /// document: top-level members only, nested objects/arrays and `null` skipped, strings
    /// unescaped only when they contain escapes. `None` if the text is not a JSON object.
    ///
    /// The scan is structural, not a full validator: callers either verify a Sign made by the
    /// key holder over this very text, or validate the text with `serde_json` as well.
    pub(crate) fn from_json_text(text: &'a str) -> Option<Self> {
        let mut fields = SignFields {
            buf: Cow::Borrowed(text),
            fields: Vec::with_capacity(16),
        };
        let mut s = Scanner { text, pos: 0 };
        s.ws();
        s.eat(b'{')?;
        s.ws();
        if s.peek() == Some(b'}') {
            s.pos += 1;
        } else {
            loop {
                s.ws();
                let name = s.string_token()?;
                s.ws();
                s.eat(b':')?;
                s.ws();
                match s.peek()? {
                    b'"' => {
                        let value = s.string_token()?;
                        match (name, value) {
                            ((n, false), (v, false)) => fields.push_ranges(inner(n), inner(v)),
                            (n, v) => fields.push(&unescape(text, n)?, &unescape(text, v)?),
                        }
                    }
                    b'{' | b'[' => s.nested()?,
                    b'n' => s.literal("null")?,
                    b't' => {
                        s.literal("true")?;
                        fields.push(&unescape(text, name)?, "True");
                    }
                    b'f' => {
                        s.literal("false")?;
                        fields.push(&unescape(text, name)?, "False");
                    }
                    _ => {
                        let number = s.number()?;
                        match name {
                            (n, false) => fields.push_ranges(inner(n), number),
                            n => fields.push(&unescape(text, n)?, text.get(number)?),
                        }
                    }
                }
                s.ws();
                match s.peek()? {
                    b',' => s.pos += 1,
                    b'}' => {
                        s.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        s.ws();
        if s.pos != text.len() {
            return None;
        }
        fields.sort();
        Some(fields)
    }

    /// The `k1=v1&k2=v2` sign string (without nonce and HashID).
    pub(crate) fn sign_string(&self) -> String {
        let mut out = String::with_capacity(self.buf.len() + 2 * self.fields.len());
        for (i, (name, value)) in self.pairs().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        out
    }

    /// SHA-256 of sign string ‖ nonce ‖ HashID.
    pub(crate) fn digest(&self, nonce: &str, hash_id: &HashId) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.sign_string().as_bytes());
        h.update(nonce.as_bytes());
        h.update(hash_id.as_bytes());
        h.finalize().into()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw JSON: one scan of the top-level object into borrowed entries.

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A minimal cursor over JSON text for [`SignFields::from_json_text`].
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos.checked_add(word.len())?;
        (self.text.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// Skips a string token; returns its full range (quotes included) and whether it has escapes.
    fn string_token(&mut self) -> Option<(std::ops::Range<usize>, bool)> {
        let start = self.pos;
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            // Jump to the next quote or backslash (SIMD memchr); raw control characters are left
            // to the JSON parser that always reads the same text as well.
            let rest = self.bytes().get(self.pos..)?;
            let i = memchr::memchr2(b'"', b'\\', rest)?;
            if rest.get(i) == Some(&b'"') {
                self.pos += i + 1;
                return Some((start..self.pos, escaped));
            }
            escaped = true;
            self.pos += i + 2;
        }
    }

    fn number(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.pos += 1;
        }
        (self.pos > start).then_some(start..self.pos)
    }

    /// Skips a nested object or array, strings included.
    fn nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            let rest = self.bytes().get(self.pos..)?;
            // Only quotes and brackets matter here.
            let i = rest
                .iter()
                .position(|b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'))?;
            self.pos += i;
            match rest.get(i)? {
                b'"' => {
                    self.string_token()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                _ => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.pos += 1;
                        return Some(());
                    }
                }
            }
            self.pos += 1;
        }
    }
}

/// The inside of a string token's range (without the quotes).
fn inner(token: Range<usize>) -> Range<usize> {
    token.start + 1..token.end.saturating_sub(1)
}

/// The value of a string token: the text between the quotes, or unescaped by serde_json.
fn unescape(text: &str, (token, escaped): (Range<usize>, bool)) -> Option<Cow<'_, str>> {
    if escaped {
        serde_json::from_str::<CowStr<'_>>(text.get(token)?)
            .ok()
            .map(|c| Cow::Owned(c.0.into_owned()))
    } else {
        text.get(inner(token)).map(Cow::Borrowed)
    }
}

// ---------------------------------------------------------------------------------------------
// Typed payloads: a serializer that records top-level scalars straight from the values (faster
// than scanning the JSON they serialize to; the tests check both give the same sign string).

/// A payload cannot be signed: it does not serialize to a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot sign payload: {0}")]
pub struct SignSerError(String);

impl ser::Error for SignSerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn not_object<T>() -> Result<T, SignSerError> {
    Err(SignSerError(
        "the payload must serialize as a JSON object".to_owned(),
    ))
}

struct TopSerializer<'a> {
    out: &'a mut Parts,
}

struct TopCompound<'a> {
    out: &'a mut Parts,
    pending_key: Option<Range<usize>>,
}

macro_rules! top_reject {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), SignSerError> { not_object() })*
    };
}

impl<'a> Serializer for TopSerializer<'a> {
    type Ok = ();
    type Error = SignSerError;
    type SerializeSeq = Impossible<(), SignSerError>;
    type SerializeTuple = Impossible<(), SignSerError>;
    type SerializeTupleStruct = Impossible<(), SignSerError>;
    type SerializeTupleVariant = Impossible<(), SignSerError>;
    type SerializeMap = TopCompound<'a>;
    type SerializeStruct = TopCompound<'a>;
    type SerializeStructVariant = Impossible<(), SignSerError>;

    top_reject!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_none(self) -> Result<(), SignSerError> {
        not_object()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), SignSerError> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), SignSerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), SignSerError> {
        not_object()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SignSerError> {
        not_object()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SignSerError> {
        not_object()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, SignSerError> {
        not_object()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SignSerError> {
        not_object()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SignSerError> {
        Ok(TopCompound {
            out: self.out,
            pending_key: None,
        })
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, SignSerError> {
        Ok(TopCompound {
            out: self.out,
            pending_key: None,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SignSerError> {
        not_object()
    }
}

impl TopCompound<'_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: Range<usize>,
        value: &T,
    ) -> Result<(), SignSerError> {
        let value_start = self.out.buf.len();
        match value.serialize(ScalarSerializer {
            buf: &mut self.out.buf,
        })? {
            true => commit(&mut self.out.buf, &mut self.out.fields, name, value_start),
            false => self.out.buf.truncate(name.start),
        }
        Ok(())
    }
}

impl ser::SerializeStruct for TopCompound<'_> {
    type Ok = ();
    type Error = SignSerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SignSerError> {
        let start = self.out.buf.len();
        self.out.buf.push_str(key);
        let name = start..self.out.buf.len();
        self.field(name, value)
    }
    fn end(self) -> Result<(), SignSerError> {
        Ok(())
    }
}

impl ser::SerializeMap for TopCompound<'_> {
    type Ok = ();
    type Error = SignSerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SignSerError> {
        let start = self.out.buf.len();
        if !key.serialize(ScalarSerializer {
            buf: &mut self.out.buf,
        })? {
            return Err(SignSerError("map keys must be strings".to_owned()));
        }
        self.pending_key = Some(start..self.out.buf.len());
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SignSerError> {
        let name = self
            .pending_key
            .take()
            .ok_or_else(|| SignSerError("map value without a key".to_owned()))?;
        self.field(name, value)
    }
    fn end(self) -> Result<(), SignSerError> {
        Ok(())
    }
}

/// Writes a scalar's sign text into the buffer; `Ok(false)` for values that do not take part
/// (null, nested objects and arrays).
struct ScalarSerializer<'a> {
    buf: &'a mut String,
}

/// Swallows a nested value without writing anything.
struct Skip;

impl ser::SerializeSeq for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}
impl ser::SerializeTuple for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}
impl ser::SerializeTupleStruct for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}
impl ser::SerializeTupleVariant for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}
impl ser::SerializeMap for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), SignSerError> {
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}
impl ser::SerializeStruct for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}
impl ser::SerializeStructVariant for Skip {
    type Ok = bool;
    type Error = SignSerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), SignSerError> {
        Ok(())
    }
    fn end(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
}

impl ScalarSerializer<'_> {
    fn unsigned(self, v: u64) -> Result<bool, SignSerError> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = v;
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                // `n % 10` is a single digit.
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        for &d in digits.get(i..).unwrap_or_default() {
            self.buf.push(char::from(d));
        }
        Ok(true)
    }

    fn signed(self, v: i64) -> Result<bool, SignSerError> {
        if v < 0 {
            self.buf.push('-');
        }
        self.unsigned(v.unsigned_abs())
    }

    fn display(self, v: impl fmt::Display) -> Result<bool, SignSerError> {
        write!(self.buf, "{v}").map_err(|e| SignSerError(e.to_string()))?;
        Ok(true)
    }
}

impl Serializer for ScalarSerializer<'_> {
    type Ok = bool;
    type Error = SignSerError;
    type SerializeSeq = Skip;
    type SerializeTuple = Skip;
    type SerializeTupleStruct = Skip;
    type SerializeTupleVariant = Skip;
    type SerializeMap = Skip;
    type SerializeStruct = Skip;
    type SerializeStructVariant = Skip;

    fn serialize_bool(self, v: bool) -> Result<bool, SignSerError> {
        self.buf.push_str(if v { "True" } else { "False" });
        Ok(true)
    }
    fn serialize_i8(self, v: i8) -> Result<bool, SignSerError> {
        self.signed(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<bool, SignSerError> {
        self.signed(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<bool, SignSerError> {
        self.signed(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<bool, SignSerError> {
        self.signed(v)
    }
    fn serialize_u8(self, v: u8) -> Result<bool, SignSerError> {
        self.unsigned(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<bool, SignSerError> {
        self.unsigned(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<bool, SignSerError> {
        self.unsigned(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<bool, SignSerError> {
        self.unsigned(v)
    }
    fn serialize_f32(self, v: f32) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_f64(self, v: f64) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_char(self, v: char) -> Result<bool, SignSerError> {
        self.buf.push(v);
        Ok(true)
    }
    fn serialize_str(self, v: &str) -> Result<bool, SignSerError> {
        self.buf.push_str(v);
        Ok(true)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<bool, SignSerError> {
        Ok(false)
    }
    fn serialize_none(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, SignSerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<bool, SignSerError> {
        Ok(false)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<bool, SignSerError> {
        Ok(false)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<bool, SignSerError> {
        self.buf.push_str(variant);
        Ok(true)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<bool, SignSerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<bool, SignSerError> {
        Ok(false)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
    fn serialize_tuple(self, _: usize) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Skip, SignSerError> {
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_case_order_matches_dotnet() {
        let mut names = vec!["ShopNo", "amount", "APType", "Amount", "BackendURL", "b"];
        names.sort_by(|a, b| cmp_ignore_case(a, b));
        // Upper-cased: AMOUNT, AMOUNT, APTYPE, B, BACKENDURL, SHOPNO ('M' < 'P').
        assert_eq!(
            names,
            ["Amount", "amount", "APType", "b", "BackendURL", "ShopNo"]
        );
    }

    #[test]
    fn typed_and_scanned_paths_agree() {
        #[derive(serde::Serialize)]
        struct P {
            #[serde(rename = "b")]
            b: &'static str,
            #[serde(rename = "A")]
            a: u32,
            #[serde(rename = "Nested")]
            nested: Vec<u8>,
            #[serde(rename = "Blank")]
            blank: &'static str,
            #[serde(rename = "None")]
            none: Option<u8>,
            #[serde(rename = "Esc")]
            esc: &'static str,
        }
        let p = P {
            b: "中 文",
            a: 0,
            nested: vec![1],
            blank: "  ",
            none: None,
            esc: "a\"b/c",
        };
        let typed = SignFields::from_serialize(&p).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let scanned = SignFields::from_json_text(&json).unwrap();
        assert_eq!(typed.sign_string(), "A=0&b=中 文&Esc=a\"b/c");
        assert_eq!(scanned.sign_string(), typed.sign_string());
    }

    #[test]
    fn scanner_rules() {
        let f = |t: &str| SignFields::from_json_text(t).map(|f| f.sign_string());
        assert_eq!(
            f(r#"{"b":"中 文","A":0,"Nested":[1,{"x":"}"}],"Blank":"  ","None":null,"T":true}"#)
                .as_deref(),
            Some("A=0&b=中 文&T=True")
        );
        assert_eq!(
            f(r#" { "k\u0041" : "a\"b" , "n": -1.5e3 } "#).as_deref(),
            Some("kA=a\"b&n=-1.5e3")
        );
        assert_eq!(f("{}").as_deref(), Some(""));
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":"x}"#,
            r#"{"a":{"b":1}"#,
        ] {
            assert_eq!(f(bad), None, "{bad}");
        }
    }

    #[test]
    fn sign_parse_and_compare() {
        let digest = [0xABu8; 32];
        let text = "ab".repeat(32);
        assert!(sign_matches(&text, &digest));
        assert!(!sign_matches(&"ac".repeat(32), &digest));
        assert!(!sign_matches("zz", &digest));
        assert_eq!(Sign::parse(&text).unwrap().as_str(), "AB".repeat(32));
        assert!(Sign::parse("AB").is_err());
    }
}
