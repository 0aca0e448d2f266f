//! Client-side validation errors (PROTOCOL.md §8.2, §11) that name the offending field.

use std::fmt;

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A required value is empty or missing.
    Missing,
    /// The value is longer than the bank accepts (lengths are UTF-8 bytes).
    TooLong {
        /// Maximum length in bytes.
        max: usize,
        /// Actual length in bytes.
        actual: usize,
    },
    /// The value contains a character the bank forbids (`'`, `"`, `%` or a control character).
    ForbiddenChar(char),
    /// The value has leading or trailing whitespace (the bank forbids it; trimming only one of
    /// Sign and Message would break the Sign).
    SurroundingWhitespace,
    /// A number is outside the accepted range.
    OutOfRange {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
        /// The value given.
        actual: u64,
    },
    /// The value does not have the expected format.
    Format(&'static str),
    /// The field must not be present in this combination.
    NotAllowed(&'static str),
    /// Other fields conflict with this one.
    Conflict(&'static str),
}

/// A request field failed client-side validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// The wire name of the field (e.g. `PrdtName`, `CardParam.ExpMinutes`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ValidationError {
    /// A validation error for `field`.
    #[must_use]
    pub fn new(field: &'static str, problem: Problem) -> Self {
        Self { field, problem }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("is required"),
            Self::TooLong { max, actual } => {
                write!(
                    f,
                    "is {actual} bytes long; at most {max} bytes (UTF-8) are accepted"
                )
            }
            Self::ForbiddenChar(c) => write!(f, "contains the forbidden character {c:?}"),
            Self::SurroundingWhitespace => f.write_str("has leading or trailing whitespace"),
            Self::OutOfRange { min, max, actual } => {
                write!(f, "is {actual}; it must be between {min} and {max}")
            }
            Self::Format(expected) => write!(f, "must be {expected}"),
            Self::NotAllowed(why) => write!(f, "is not allowed: {why}"),
            Self::Conflict(why) => f.write_str(why),
        }
    }
}

/// Checks a free-text field: required/non-empty, no surrounding whitespace, at most `max` bytes,
/// and none of the characters the bank forbids.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, Problem::Missing));
    }
    if value.trim() != value {
        return Err(ValidationError::new(field, Problem::SurroundingWhitespace));
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
    // Fast byte scan first: the forbidden characters and C0 controls are ASCII; C1 controls
    // (U+0080..U+009F) are encoded as 0xC2 0x80..0x9F.
    let suspicious = value.bytes().fold(false, |hit, b| {
        hit | matches!(b, b'\'' | b'"' | b'%' | 0x00..=0x1F | 0x7F | 0xC2)
    });
    if suspicious
        && let Some(c) = value
            .chars()
            .find(|c| matches!(c, '\'' | '"' | '%') || c.is_control())
    {
        return Err(ValidationError::new(field, Problem::ForbiddenChar(c)));
    }
    Ok(())
}

/// Like [`text`] for an optional field.
pub(crate) fn opt_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

/// Checks that a number is within `min..=max`.
pub(crate) fn range(
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
) -> Result<(), ValidationError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            Problem::OutOfRange {
                min,
                max,
                actual: value,
            },
        ))
    }
}
