//! Domain newtypes: identifiers, money and the bank's time formats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::validate::{self, Problem, ValidationError};

macro_rules! text_newtype {
    ($(#[$m:meta])* $name:ident, $wire:literal, $max:expr, $check:path) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Maximum length in UTF-8 bytes.
            pub const MAX_LEN: usize = $max;

            /// Validates and wraps the value.
            ///
            /// # Errors
            /// [`ValidationError`] naming the field if the value is empty, too long, has
            /// surrounding whitespace or a forbidden character.
            pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                $check($wire, &value, $max)?;
                Ok(Self(value))
            }

            /// Re-checks a value that was deserialized without validation.
            ///
            /// # Errors
            /// As for [`Self::new`].
            pub fn validate(&self) -> Result<(), ValidationError> {
                $check($wire, &self.0, $max)
            }

            /// The value as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the value, returning its text.
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn token(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, Problem::Missing));
    }
    if value.len() > max {
        return Err(ValidationError::new(
            field,
            Problem::TooLong {
                max,
                actual: value.len(),
            },
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '\'' | '"' | '%'))
    {
        return Err(ValidationError::new(field, Problem::ForbiddenChar(c)));
    }
    Ok(())
}

text_newtype!(
    /// A merchant shop number such as `NA0249_001` (at most 20 bytes).
    ShopNo, "ShopNo", 20, validate::text
);
text_newtype!(
    /// The merchant's order number: the idempotency key of every order (at most 50 bytes, no
    /// `'` `"` `%`).
    OrderNo, "OrderNo", 50, validate::text
);
text_newtype!(
    /// The token the bank hands out in callbacks, resolved with `OrderPayQuery` (at most 100
    /// bytes; observed as 64 lower-case hex characters).
    PayToken, "PayToken", 100, token
);
text_newtype!(
    /// A nonce from `POST /Nonce`. Opaque: it is only hashed, never parsed (at most 512 bytes of
    /// printable ASCII).
    Nonce, "Nonce", 512, token
);

/// An amount in 1/100 NTD (the bank's unit): NT$500 is `Amount::from_minor(50000)`.
///
/// On the wire it is a JSON integer, except inside `TSResultContent`, where the bank sends a
/// string; both are accepted when reading.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(u64);

impl Amount {
    /// The largest amount the wire format carries (9 digits).
    pub const MAX: Amount = Amount(999_999_999);
    /// The usual ATM (virtual account) cap: NT$30,000. Contracts may differ.
    pub const ATM_CAP: Amount = Amount(3_000_000);

    /// An amount in minor units (1/100 NTD).
    #[must_use]
    pub const fn from_minor(minor: u64) -> Self {
        Self(minor)
    }

    /// An amount in whole New Taiwan dollars; `None` on overflow.
    #[must_use]
    pub const fn from_ntd(ntd: u64) -> Option<Self> {
        match ntd.checked_mul(100) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The amount in minor units (1/100 NTD), as sent on the wire.
    #[must_use]
    pub const fn minor(self) -> u64 {
        self.0
    }

    /// `true` for zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Checked subtraction.
    #[must_use]
    pub const fn checked_sub(self, other: Amount) -> Option<Amount> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Checked addition.
    #[must_use]
    pub const fn checked_add(self, other: Amount) -> Option<Amount> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Checks that the amount is positive and fits the wire format.
    ///
    /// # Errors
    /// [`ValidationError`] naming `field`.
    pub fn validate_positive(self, field: &'static str) -> Result<(), ValidationError> {
        validate::range(field, self.0, 1, Self::MAX.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

/// `NT$1,234.50` style; whole amounts without decimals (`NT$500`).
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let cents = self.0 % 100;
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if cents == 0 {
            write!(f, "NT${grouped}")
        } else {
            write!(f, "NT${grouped}.{cents:02}")
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer amount (number or numeric string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map(Amount)
                    .map_err(|_| E::custom("negative amount"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                // Some services model amounts as decimals; accept whole values only.
                if v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(Amount(v as u64))
                } else {
                    Err(E::custom("amount is not a whole number of minor units"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                v.trim()
                    .parse::<u64>()
                    .map(Amount)
                    .map_err(|_| E::custom("amount string is not an integer"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Serializes an [`Amount`] as a JSON string (the `TSResultContent.Amount` quirk).
pub(crate) mod amount_as_string {
    use super::Amount;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Option<Amount>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(a) => s.collect_str(&a.minor()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Amount>, D::Error> {
        Option::<Amount>::deserialize(d)
    }
}

// ---------------------------------------------------------------------------------------------
// Time: the bank speaks Taiwan local time (UTC+8, no DST) as `yyyyMMddHHmm` and `yyyyMMdd`.

/// Offset of Asia/Taipei from UTC, in minutes (no daylight saving since 1979).
pub const TAIPEI_OFFSET_MINUTES: i64 = 8 * 60;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// A calendar date in Taiwan (`yyyyMMdd` on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BankDate {
    /// A date, if it exists (years 1000–9999).
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        ((1000..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day))
        .then_some(Self { year, month, day })
    }

    /// Parses `yyyyMMdd`.
    ///
    /// # Errors
    /// [`ValidationError`] if the text is not a valid date in that format.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let b = text.as_bytes();
        let bad = || ValidationError::new("date", Problem::Format("a date as yyyyMMdd"));
        if b.len() != 8 {
            return Err(bad());
        }
        let y = digits(b.get(0..4).unwrap_or_default()).ok_or_else(bad)?;
        let m = digits(b.get(4..6).unwrap_or_default()).ok_or_else(bad)?;
        let d = digits(b.get(6..8).unwrap_or_default()).ok_or_else(bad)?;
        Self::new(
            u16::try_from(y).map_err(|_| bad())?,
            u8::try_from(m).map_err(|_| bad())?,
            u8::try_from(d).map_err(|_| bad())?,
        )
        .ok_or_else(bad)
    }

    /// Year.
    #[must_use]
    pub fn year(self) -> u16 {
        self.year
    }
    /// Month (1–12).
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }
    /// Day of month.
    #[must_use]
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01.
    #[must_use]
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// The date `days` after 1970-01-01, if it is within years 1000–9999.
    #[must_use]
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        let (y, m, d) = civil_from_days(days);
        Self::new(
            u16::try_from(y).ok()?,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
        )
    }

    /// This date plus `days` (may be negative).
    #[must_use]
    pub fn add_days(self, days: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch().checked_add(days)?)
    }

    /// The minute `hour:minute` of this day.
    #[must_use]
    pub fn at(self, hour: u8, minute: u8) -> Option<BankTime> {
        (hour < 24 && minute < 60).then_some(BankTime {
            date: self,
            hour,
            minute,
        })
    }
}

impl fmt::Display for BankDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for BankDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankDate({self})")
    }
}

impl FromStr for BankDate {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A minute in Taiwan local time (`yyyyMMddHHmm` on the wire, Asia/Taipei, UTC+8).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankTime {
    date: BankDate,
    hour: u8,
    minute: u8,
}

impl BankTime {
    /// Parses `yyyyMMddHHmm`.
    ///
    /// # Errors
    /// [`ValidationError`] if the text is not a valid minute in that format.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("time", Problem::Format("a time as yyyyMMddHHmm"));
        let b = text.as_bytes();
        if b.len() != 12 {
            return Err(bad());
        }
        let date = BankDate::parse(text.get(0..8).ok_or_else(bad)?).map_err(|_| bad())?;
        let h = digits(b.get(8..10).unwrap_or_default()).ok_or_else(bad)?;
        let m = digits(b.get(10..12).unwrap_or_default()).ok_or_else(bad)?;
        date.at(
            u8::try_from(h).map_err(|_| bad())?,
            u8::try_from(m).map_err(|_| bad())?,
        )
        .ok_or_else(bad)
    }

    /// The date part.
    #[must_use]
    pub fn date(self) -> BankDate {
        self.date
    }
    /// Hour (0–23).
    #[must_use]
    pub fn hour(self) -> u8 {
        self.hour
    }
    /// Minute (0–59).
    #[must_use]
    pub fn minute(self) -> u8 {
        self.minute
    }

    /// Minutes since 1970-01-01T00:00 UTC of this Taiwan local minute.
    #[must_use]
    pub fn unix_minutes(self) -> i64 {
        self.date.days_since_epoch() * 1440 + i64::from(self.hour) * 60 + i64::from(self.minute)
            - TAIPEI_OFFSET_MINUTES
    }

    /// The Taiwan local minute containing `minutes` since the Unix epoch (UTC).
    #[must_use]
    pub fn from_unix_minutes(minutes: i64) -> Option<Self> {
        let local = minutes.checked_add(TAIPEI_OFFSET_MINUTES)?;
        let date = BankDate::from_days_since_epoch(local.div_euclid(1440))?;
        let in_day = local.rem_euclid(1440);
        date.at(
            u8::try_from(in_day / 60).ok()?,
            u8::try_from(in_day % 60).ok()?,
        )
    }

    /// The Taiwan local minute containing `seconds` since the Unix epoch (UTC).
    #[must_use]
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        Self::from_unix_minutes(seconds.div_euclid(60))
    }

    /// This time plus `minutes` (may be negative).
    #[must_use]
    pub fn add_minutes(self, minutes: i64) -> Option<Self> {
        Self::from_unix_minutes(self.unix_minutes().checked_add(minutes)?)
    }
}

impl fmt::Display for BankTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}{:02}", self.date, self.hour, self.minute)
    }
}

impl fmt::Debug for BankTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankTime({self})")
    }
}

impl FromStr for BankTime {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

macro_rules! string_serde {
    ($t:ty, $what:literal) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl de::Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                        <$t>::parse(v).map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$t, E> {
                        <$t>::parse(&v.to_string()).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}
string_serde!(BankDate, "a date as yyyyMMdd");
string_serde!(BankTime, "a time as yyyyMMddHHmm");

/// Lenient reading of optional bank fields: a missing field, `null` or `""` is `None`.
pub(crate) mod lenient {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::Deserialize;
    use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
    use serde::de::{
        self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
    };

    /// A missing field, `null`, `""`, `{}` and `[]` (PHP encodes an empty object as `[]`) all
    /// mean absent. Works with any self-describing format, without buffering the value.
    pub(crate) fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(Lenient(PhantomData))
    }

    struct Lenient<T>(PhantomData<T>);

    /// Records whether a map or sequence yielded anything, so an empty one can mean "absent".
    struct Track<A> {
        inner: A,
        seen: bool,
    }

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for Track<A> {
        type Error = A::Error;
        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            let key = self.inner.next_key_seed(seed)?;
            self.seen |= key.is_some();
            Ok(key)
        }
        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, A::Error> {
            self.inner.next_value_seed(seed)
        }
    }

    impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Track<A> {
        type Error = A::Error;
        fn next_element_seed<S: DeserializeSeed<'de>>(
            &mut self,
            seed: S,
        ) -> Result<Option<S::Value>, A::Error> {
            let item = self.inner.next_element_seed(seed)?;
            self.seen |= item.is_some();
            Ok(item)
        }
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Lenient<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value, null or an empty string/object/array")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            opt(d)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(Some)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(Some)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(Some)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(Some)
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            if v.is_empty() {
                return Ok(None);
            }
            T::deserialize(de::value::BorrowedStrDeserializer::new(v)).map(Some)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.is_empty() {
                return Ok(None);
            }
            T::deserialize(v.into_deserializer()).map(Some)
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            if v.is_empty() {
                return Ok(None);
            }
            T::deserialize(v.into_deserializer()).map(Some)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let mut track = Track {
                inner: map,
                seen: false,
            };
            let value = T::deserialize(MapAccessDeserializer::new(&mut track));
            if !track.seen {
                // `{}`: absent, whatever T made of it. Drain nothing: the map was empty.
                return Ok(None);
            }
            value.map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let mut track = Track {
                inner: seq,
                seen: false,
            };
            let value = T::deserialize(SeqAccessDeserializer::new(&mut track));
            if !track.seen {
                return Ok(None);
            }
            value.map(Some)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[derive(Debug, PartialEq, Deserialize)]
        struct Inner {
            #[serde(rename = "A")]
            a: u32,
        }

        #[derive(Debug, PartialEq, Deserialize)]
        struct Outer {
            #[serde(rename = "X", default, deserialize_with = "opt")]
            x: Option<Inner>,
            #[serde(rename = "L", default, deserialize_with = "opt")]
            l: Option<Vec<u32>>,
        }

        #[test]
        fn empty_forms_are_absent_and_values_parse() {
            for empty in [
                r#"{}"#,
                r#"{"X":null}"#,
                r#"{"X":""}"#,
                r#"{"X":{}}"#,
                r#"{"X":[]}"#,
                r#"{"X": { } }"#,
            ] {
                let o: Outer = serde_json::from_str(empty).unwrap();
                assert_eq!(o.x, None, "{empty}");
            }
            let o: Outer = serde_json::from_str(r#"{"X":{"A":7},"L":[1,2]}"#).unwrap();
            assert_eq!(o.x, Some(Inner { a: 7 }));
            assert_eq!(o.l, Some(vec![1, 2]));
            assert!(serde_json::from_str::<Outer>(r#"{"X":{"B":1}}"#).is_err());
            assert!(serde_json::from_str::<Outer>(r#"{"X":5}"#).is_err());
            // Works from a reader too (no borrowing needed).
            let o: Outer = serde_json::from_reader(&br#"{"X":{"A":1}}"#[..]).unwrap();
            assert_eq!(o.x, Some(Inner { a: 1 }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_time_round_trips_through_unix_minutes() {
        let t = BankTime::parse("201804271334").unwrap();
        assert_eq!(t.to_string(), "201804271334");
        assert_eq!(BankTime::from_unix_minutes(t.unix_minutes()), Some(t));
        // 2018-04-27 13:34 Taipei = 05:34 UTC.
        assert_eq!(t.unix_minutes() % 1440, 5 * 60 + 34);
        assert_eq!(t.add_minutes(11 * 60).unwrap().to_string(), "201804280034");
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(BankDate::parse("20230229").is_err());
        assert!(BankDate::parse("20240229").is_ok());
        assert!(BankTime::parse("202401012400").is_err());
        assert!(BankTime::parse("2024010112").is_err());
        assert!(BankTime::parse("20240101120a").is_err());
    }

    #[test]
    fn amount_display_and_wire() {
        assert_eq!(Amount::from_minor(50000).to_string(), "NT$500");
        assert_eq!(
            Amount::from_minor(123_456_789).to_string(),
            "NT$1,234,567.89"
        );
        let a: Amount = serde_json::from_str("\"9440300\"").unwrap();
        assert_eq!(a.minor(), 9_440_300);
        assert!(serde_json::from_str::<Amount>("-1").is_err());
        assert_eq!(serde_json::to_string(&a).unwrap(), "9440300");
    }

    #[test]
    fn newtypes_validate() {
        assert!(OrderNo::new("A2018'1").is_err());
        assert!(OrderNo::new("x".repeat(51)).is_err());
        assert!(ShopNo::new("NA0249_001").is_ok());
        let e = ShopNo::new(" NA0249_001").unwrap_err();
        assert_eq!(e.field, "ShopNo");
        assert!(PayToken::new("ab cd").is_err());
    }
}
