//! The CLI's error type: one line for the user, the cause chain below it, and an exit code.

use std::fmt;
use std::process::ExitCode;

/// A boxed error kept as the `source()` of a [`CliError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure ended the command; decides the process exit code.
///
/// The codes are part of the tool's contract (documented in `--help` and the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// 1: anything not covered below.
    Other,
    /// 2: bad command line or bad input (flags, JSON on stdin, dates, amounts).
    Usage,
    /// 3: configuration: missing or malformed keys, shop, key id, base URL, config file.
    Config,
    /// 4: transport: the bank (or sim) could not be reached, or did not answer properly.
    Transport,
    /// 5: the bank answered `Status: F` (business rejection).
    Bank,
    /// 6: verification: a Sign did not verify, a message did not decrypt, a vector did not match.
    Verification,
    /// 7: the order (or token) asked for does not exist.
    NotFound,
}

impl ExitKind {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Other => 1,
            Self::Usage => 2,
            Self::Config => 3,
            Self::Transport => 4,
            Self::Bank => 5,
            Self::Verification => 6,
            Self::NotFound => 7,
        }
    }
}

impl From<ExitKind> for ExitCode {
    fn from(kind: ExitKind) -> Self {
        ExitCode::from(kind.code())
    }
}

/// An error that ends a command.
#[derive(Debug, thiserror::Error)]
pub struct CliError {
    /// Decides the exit code.
    pub kind: ExitKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl CliError {
    /// A new error of `kind`.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Usage / bad input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Usage, message)
    }

    /// Configuration (exit 3).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Config, message)
    }

    /// Transport (exit 4).
    pub fn transport(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Transport, message)
    }

    /// Verification (exit 6).
    pub fn verification(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Verification, message)
    }

    /// Other (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Other, message)
    }

    /// The lines printed to stderr: `error: …` then `  caused by: …` for each source.
    pub fn report(&self) -> String {
        let mut out = format!("error: {}", one_line(&self.message));
        let mut last = self.message.clone();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            let text = one_line(&e.to_string());
            // Some errors repeat their source's text; do not print the same line twice.
            if !text.is_empty() && text != last {
                out.push_str("\n  caused by: ");
                out.push_str(&text);
            }
            last = text;
            cause = e.source();
        }
        out
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Result` with a [`CliError`].
pub type CliResult<T> = Result<T, CliError>;

/// Adds a message and a kind to any error.
pub trait Context<T> {
    /// Wraps the error as the source of a new [`CliError`].
    fn context(self, kind: ExitKind, message: impl Into<String>) -> CliResult<T>;
}

impl<T, E: Into<BoxError>> Context<T> for Result<T, E> {
    fn context(self, kind: ExitKind, message: impl Into<String>) -> CliResult<T> {
        self.map_err(|e| CliError::new(kind, message).with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("inner\nproblem")]
    struct Inner;

    #[test]
    fn report_is_one_line_plus_causes() {
        let e = CliError::config("bad key").with_source(Inner);
        assert_eq!(e.report(), "error: bad key\n  caused by: inner problem");
        assert_eq!(e.kind.code(), 3);
    }
}
