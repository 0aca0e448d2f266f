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

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{self, Impossible, Serialize, Serializer};
use serde_json::value::RawValue;
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
#[derive(Default)]
pub(crate) struct SignFields {
    buf: String,
    fields: Vec<(Range<usize>, Range<usize>)>,
}

/// Case-insensitive ordinal comparison like .NET `StringComparer.OrdinalIgnoreCase`
/// (upper-case each UTF-16 code unit's character, then compare ordinally), with an ordinal
/// tie-break so the order is total.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    let folded = if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
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
    value.chars().all(char::is_whitespace)
}

impl SignFields {
    fn name(&self, i: usize) -> &str {
        self.fields
            .get(i)
            .and_then(|(n, _)| self.buf.get(n.clone()))
            .unwrap_or_default()
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| {
            (
                self.buf.get(n.clone()).unwrap_or_default(),
                self.buf.get(v.clone()).unwrap_or_default(),
            )
        })
    }

    /// Records a field whose value was just appended to `buf` starting at `value_start`.
    fn commit(&mut self, name: Range<usize>, value_start: usize) {
        let value = value_start..self.buf.len();
        if is_blank(self.buf.get(value.clone()).unwrap_or_default()) {
            self.buf.truncate(name.start);
        } else {
            self.fields.push((name, value));
        }
    }

    fn push(&mut self, name: &str, value: &str) {
        let start = self.buf.len();
        self.buf.push_str(name);
        let name_range = start..self.buf.len();
        let value_start = self.buf.len();
        self.buf.push_str(value);
        self.commit(name_range, value_start);
    }

    fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.fields.len()).collect();
        order.sort_by(|&i, &j| cmp_ignore_case(self.name(i), self.name(j)));
        let fields = order
            .iter()
            .filter_map(|&i| self.fields.get(i).cloned())
            .collect();
        self.fields = fields;
    }

    /// Collects the signed fields of a typed payload (must serialize as a struct or map).
    pub(crate) fn from_serialize<T: Serialize + ?Sized>(payload: &T) -> Result<Self, SignSerError> {
        let mut fields = SignFields {
            buf: String::with_capacity(384),
            fields: Vec::with_capacity(16),
        };
        payload.serialize(TopSerializer { out: &mut fields })?;
        fields.sort();
        Ok(fields)
    }

    /// Collects the signed fields of a JSON object already scanned into raw entries.
    pub(crate) fn from_raw(object: &RawObject<'_>) -> Result<Self, serde_json::Error> {
        let mut fields = SignFields {
            buf: String::with_capacity(384),
            fields: Vec::with_capacity(16),
        };
        for (name, raw) in &object.entries {
            let text = raw.get();
            match text.as_bytes().first() {
                Some(b'"') => {
                    let value: CowStr<'_> = serde_json::from_str(text)?;
                    fields.push(name, &value.0);
                }
                Some(b'{' | b'[' | b'n') | None => {}
                Some(b't') => fields.push(name, "True"),
                Some(b'f') => fields.push(name, "False"),
                Some(_) => fields.push(name, text),
            }
        }
        fields.sort();
        Ok(fields)
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

    /// SHA-256 of sign string ‖ nonce ‖ HashID, streamed without building the string.
    pub(crate) fn digest(&self, nonce: &str, hash_id: &HashId) -> [u8; 32] {
        let mut h = Sha256::new();
        for (i, (name, value)) in self.pairs().enumerate() {
            if i > 0 {
                h.update(b"&");
            }
            h.update(name.as_bytes());
            h.update(b"=");
            h.update(value.as_bytes());
        }
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

/// A JSON object's top-level members, values kept as raw JSON text.
pub(crate) struct RawObject<'a> {
    pub(crate) entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(12));
                while let Some((k, v)) = map.next_entry::<CowStr<'de>, &'de RawValue>()? {
                    entries.push((k.0, v));
                }
                Ok(RawObject { entries })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> RawObject<'a> {
    /// Scans `json` (must be an object).
    pub(crate) fn parse(json: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// Deserializes a typed value from the scanned members (each raw value parsed once).
    pub(crate) fn to_typed<T: de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let iter = self.entries.iter().map(|(k, v)| (k.as_ref(), *v));
        T::deserialize(de::value::MapDeserializer::<_, serde_json::Error>::new(
            iter,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Typed payloads: a serializer that records top-level scalars.

/// A payload could not be walked for signing (it is not a struct or map, or a key is not a string).
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
    out: &'a mut SignFields,
}

struct TopCompound<'a> {
    out: &'a mut SignFields,
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
            true => self.out.commit(name, value_start),
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
        self.display(v)
    }
    fn serialize_i16(self, v: i16) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_i32(self, v: i32) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_i64(self, v: i64) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_u8(self, v: u8) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_u16(self, v: u16) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_u32(self, v: u32) -> Result<bool, SignSerError> {
        self.display(v)
    }
    fn serialize_u64(self, v: u64) -> Result<bool, SignSerError> {
        self.display(v)
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
    fn typed_and_raw_paths_agree() {
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
        }
        let p = P {
            b: "中 文",
            a: 0,
            nested: vec![1],
            blank: "  ",
            none: None,
        };
        let typed = SignFields::from_serialize(&p).unwrap();
        let json = serde_json::to_vec(&p).unwrap();
        let raw = SignFields::from_raw(&RawObject::parse(&json).unwrap()).unwrap();
        assert_eq!(typed.sign_string(), "A=0&b=中 文");
        assert_eq!(raw.sign_string(), typed.sign_string());
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
