//! Client configuration: environments, timeouts, the X-KeyID secret, [`ClientBuilder`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sinopac_proto::{KeyError, Keys, Limits, ShopNo, ValidationError};
use zeroize::Zeroizing;

use crate::client::Client;
use crate::retry::RetryPolicy;
use crate::transport::{BoxError, Transport};

/// Where the bank is (PROTOCOL.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// Our offline simulator (`sinopac-sim`), by default on `http://127.0.0.1:8080/`.
    Sim,
    /// The bank's sandbox: `https://apisbx.sinopac.com/funBIZ-Sbx/QPay.WebAPI/api/`.
    Sandbox,
    /// Production: `https://api.sinopac.com/funBIZ/QPay.WebAPI/api/`.
    Production,
}

impl Environment {
    /// The base URL (ends in `/`; the client appends `Nonce` and `Order`).
    #[must_use]
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Sim => "http://127.0.0.1:8080/",
            Self::Sandbox => "https://apisbx.sinopac.com/funBIZ-Sbx/QPay.WebAPI/api/",
            Self::Production => "https://api.sinopac.com/funBIZ/QPay.WebAPI/api/",
        }
    }

    /// The lower-case name (`sim`, `sandbox`, `production`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Environment {
    type Err = ConfigError;
    /// `sim`, `sandbox` (or `sbx`, `test`), `production` (or `prod`), any case.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sim" | "simulator" => Ok(Self::Sim),
            "sandbox" | "sbx" | "test" => Ok(Self::Sandbox),
            "production" | "prod" => Ok(Self::Production),
            other => Err(ConfigError::UnknownEnvironment(other.to_owned())),
        }
    }
}

/// Timeouts per phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// The whole `POST {base}Nonce` exchange.
    pub nonce: Duration,
    /// The whole `POST {base}Order` exchange.
    pub request: Duration,
}

impl Default for Timeouts {
    /// Connect 5 s, nonce 10 s, order request 30 s.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            nonce: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// The `X-KeyID` credential: trimmed, redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct KeyId(Zeroizing<String>);

impl KeyId {
    /// Trims surrounding whitespace (a tab in the configured value broke a real deployment,
    /// PROTOCOL.md §11.8) and checks the rest is a valid header value.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKeyId`] if empty or containing characters outside printable ASCII.
    pub fn new(value: impl Into<String>) -> Result<Self, ConfigError> {
        let raw = Zeroizing::new(value.into());
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ConfigError::InvalidKeyId("it is empty"));
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::InvalidKeyId(
                "it contains spaces or characters outside printable ASCII",
            ));
        }
        Ok(Self(Zeroizing::new(trimmed.to_owned())))
    }

    /// The value to send. Handle with care: this is a credential.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyId(<redacted>)")
    }
}

/// A configuration problem found by [`ClientBuilder::build`]. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing (names the builder method and environment variable).
    #[error("missing {0}")]
    Missing(&'static str),
    /// The ShopNo is invalid.
    #[error("invalid ShopNo")]
    ShopNo(#[source] ValidationError),
    /// A key is invalid; names the key (A1…B2), never shows it.
    #[error("invalid shop key{}", .var.map(|v| format!(" (from {v})")).unwrap_or_default())]
    Key {
        /// The environment variable it came from, if any.
        var: Option<&'static str>,
        /// Which key and what is wrong.
        #[source]
        source: KeyError,
    },
    /// The X-KeyID is invalid.
    #[error("invalid X-KeyID: {0}")]
    InvalidKeyId(&'static str),
    /// The base URL is invalid.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An unknown environment name.
    #[error("unknown environment {0:?}: expected sim, sandbox or production")]
    UnknownEnvironment(String),
    /// No transport: the `reqwest` feature is off and none was given.
    #[error("no transport: enable the `reqwest` feature or call ClientBuilder::transport")]
    NoTransport,
    /// The default HTTP transport could not be built (e.g. a bad extra root certificate).
    #[error("the HTTP transport could not be built")]
    Transport(#[source] BoxError),
    /// A numeric setting is out of range.
    #[error("invalid {0}")]
    Value(&'static str),
}

/// Builds a [`Client`] from explicit values or from the environment.
///
/// ```
/// use sinopac_http::{Client, Environment};
/// use sinopac_proto::{Keys, ShopNo};
/// let client = Client::builder()
///     .shop_no(ShopNo::new("NA0249_001")?)
///     .keys(Keys::new("86D50DEF3EB7400E", "01FD27C09E5549E5", "9E004965F4244953", "7FB3385F414E4F91")?)
///     .key_id("\tb5e6986d-8636-4aa0-8c93-441ad14b2098 ") // trimmed
///     .environment(Environment::Sandbox)
///     .build()?;
/// assert_eq!(client.shop_no().as_str(), "NA0249_001");
/// assert!(!format!("{client:?}").contains("b5e6986d"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClientBuilder {
    pub(crate) shop_no: Option<ShopNo>,
    pub(crate) keys: Option<Keys>,
    pub(crate) key_id: Option<Result<KeyId, ConfigError>>,
    pub(crate) base_url: Option<String>,
    pub(crate) transport: Option<Arc<dyn Transport>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: Timeouts,
    pub(crate) limits: Limits,
    pub(crate) row_cap: usize,
    pub(crate) root_ca_pem: Vec<Vec<u8>>,
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) deferred: Option<ConfigError>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("shop_no", &self.shop_no)
            .field("keys", &self.keys.as_ref().map(|_| "<redacted>"))
            .field("key_id", &self.key_id.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// Environment variables read by [`ClientBuilder::from_env`].
pub mod env {
    /// `SINOPAC_SHOP_NO`.
    pub const SHOP_NO: &str = "SINOPAC_SHOP_NO";
    /// `SINOPAC_A1`.
    pub const A1: &str = "SINOPAC_A1";
    /// `SINOPAC_A2`.
    pub const A2: &str = "SINOPAC_A2";
    /// `SINOPAC_B1`.
    pub const B1: &str = "SINOPAC_B1";
    /// `SINOPAC_B2`.
    pub const B2: &str = "SINOPAC_B2";
    /// `SINOPAC_KEY_ID` (the X-KeyID).
    pub const KEY_ID: &str = "SINOPAC_KEY_ID";
    /// `SINOPAC_BASE_URL`.
    pub const BASE_URL: &str = "SINOPAC_BASE_URL";
    /// `SINOPAC_ENV`: `sim`, `sandbox` or `production`.
    pub const ENV: &str = "SINOPAC_ENV";
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// An empty builder with default retry policy, timeouts and limits.
    #[must_use]
    pub fn new() -> Self {
        Self {
            shop_no: None,
            keys: None,
            key_id: None,
            base_url: None,
            transport: None,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            row_cap: sinopac_proto::ORDER_QUERY_MAX_ROWS,
            root_ca_pem: Vec::new(),
            jitter_seed: None,
            deferred: None,
        }
    }

    /// The shop number.
    #[must_use]
    pub fn shop_no(mut self, shop_no: ShopNo) -> Self {
        self.shop_no = Some(shop_no);
        self
    }

    /// The shop keys (validated by [`Keys::new`]).
    #[must_use]
    pub fn keys(mut self, keys: Keys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The `X-KeyID` value; surrounding whitespace is trimmed. Errors surface in
    /// [`build`](Self::build).
    #[must_use]
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(KeyId::new(key_id));
        self
    }

    /// The base URL (`http(s)://…/api/`); a missing trailing `/` is added.
    #[must_use]
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_owned());
        self
    }

    /// The base URL of a known environment.
    #[must_use]
    pub fn environment(mut self, environment: Environment) -> Self {
        self.base_url = Some(environment.base_url().to_owned());
        self
    }

    /// The HTTP transport (default: [`ReqwestTransport`](crate::ReqwestTransport) with the
    /// configured timeouts).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The retry policy.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Timeouts per phase.
    #[must_use]
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Contract limits used to validate `OrderCreate` (e.g. the ATM cap).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The row cap of one `OrderQuery` answer (default 300); `query_all` splits windows that
    /// come back with this many rows.
    #[must_use]
    pub fn query_row_cap(mut self, rows: usize) -> Self {
        self.row_cap = rows;
        self
    }

    /// An extra trusted root certificate (PEM) for the default transport, e.g. for a sandbox
    /// whose chain does not validate. Verification stays on.
    #[must_use]
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca_pem.push(pem.into());
        self
    }

    /// Seed of the retry jitter (default: from the clock); for reproducible tests.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Reads `SINOPAC_SHOP_NO`, `SINOPAC_A1`…`SINOPAC_B2`, `SINOPAC_KEY_ID`, `SINOPAC_ENV`
    /// (`sim` / `sandbox` / `production`) and `SINOPAC_BASE_URL` (wins over `SINOPAC_ENV`
    /// when both are set) from the process environment. Variables that are present overwrite
    /// values already set on the builder; errors (bad keys, unknown environment) surface in
    /// [`build`](Self::build).
    #[must_use]
    pub fn from_env(self) -> Self {
        self.from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with a custom lookup (tests, config files).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use sinopac_http::ClientBuilder;
    /// let vars = HashMap::from([
    ///     ("SINOPAC_SHOP_NO", "NA0249_001"),
    ///     ("SINOPAC_A1", "86D50DEF3EB7400E"), ("SINOPAC_A2", "01FD27C09E5549E5"),
    ///     ("SINOPAC_B1", "9E004965F4244953"), ("SINOPAC_B2", "7FB3385F414E4F91"),
    ///     ("SINOPAC_KEY_ID", "b5e6986d-8636-4aa0-8c93-441ad14b2098"),
    ///     ("SINOPAC_ENV", "sandbox"),
    /// ]);
    /// let client = ClientBuilder::new()
    ///     .from_env_with(|k| vars.get(k).map(|v| v.to_string()))
    ///     .build()?;
    /// assert!(client.base_url().starts_with("https://apisbx.sinopac.com/"));
    /// # Ok::<(), sinopac_http::ConfigError>(())
    /// ```
    #[must_use]
    pub fn from_env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(shop) = get(env::SHOP_NO) {
            match ShopNo::new(shop.trim()) {
                Ok(s) => self.shop_no = Some(s),
                Err(e) => self.defer(ConfigError::ShopNo(e)),
            }
        }
        let parts = [env::A1, env::A2, env::B1, env::B2].map(|n| get(n).map(Zeroizing::new));
        match parts {
            [Some(a1), Some(a2), Some(b1), Some(b2)] => {
                match Keys::new(a1.trim(), a2.trim(), b1.trim(), b2.trim()) {
                    Ok(k) => self.keys = Some(k),
                    Err(e) => {
                        let var = match &e {
                            KeyError::Empty(n)
                            | KeyError::Whitespace(n)
                            | KeyError::NotHex(n)
                            | KeyError::Length { key: n, .. } => var_of(*n),
                            _ => None,
                        };
                        self.defer(ConfigError::Key { var, source: e });
                    }
                }
            }
            [None, None, None, None] => {}
            _ => self.defer(ConfigError::Missing(
                "SINOPAC_A1, SINOPAC_A2, SINOPAC_B1 and SINOPAC_B2 (all four or none)",
            )),
        }
        if let Some(k) = get(env::KEY_ID) {
            self.key_id = Some(KeyId::new(k));
        }
        // SINOPAC_ENV picks a known base URL; SINOPAC_BASE_URL, if set, wins (e.g. a sim on
        // another port). An unknown environment name is an error either way.
        if let Some(name) = get(env::ENV) {
            match name.parse::<Environment>() {
                Ok(e) => self.base_url = Some(e.base_url().to_owned()),
                Err(e) => self.defer(e),
            }
        }
        if let Some(url) = get(env::BASE_URL) {
            self.base_url = Some(url.trim().to_owned());
        }
        self
    }

    fn defer(&mut self, e: ConfigError) {
        if self.deferred.is_none() {
            self.deferred = Some(e);
        }
    }

    /// Validates everything and builds the client.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid setting (never showing secrets).
    pub fn build(mut self) -> Result<Client, ConfigError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let shop_no = self
            .shop_no
            .take()
            .ok_or(ConfigError::Missing("ShopNo (shop_no / SINOPAC_SHOP_NO)"))?;
        let keys = self.keys.take().ok_or(ConfigError::Missing(
            "shop keys (keys / SINOPAC_A1..SINOPAC_B2)",
        ))?;
        let key_id = self
            .key_id
            .take()
            .ok_or(ConfigError::Missing("X-KeyID (key_id / SINOPAC_KEY_ID)"))??;
        let base_url =
            normalize_base_url(self.base_url.as_deref().ok_or(ConfigError::Missing(
                "base URL (base_url / environment / SINOPAC_BASE_URL / SINOPAC_ENV)",
            ))?)?;
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::Value("RetryPolicy.max_attempts (must be ≥ 1)"));
        }
        if self.row_cap == 0 {
            return Err(ConfigError::Value("query_row_cap (must be ≥ 1)"));
        }
        let transport = match self.transport.take() {
            Some(t) => t,
            None => default_transport(&self.timeouts, &self.root_ca_pem)?,
        };
        Ok(Client::from_parts(crate::client::Parts {
            shop_no,
            keys,
            key_id,
            base_url,
            transport,
            retry: self.retry,
            timeouts: self.timeouts,
            limits: self.limits,
            row_cap: self.row_cap,
            jitter_seed: self.jitter_seed,
        }))
    }
}

fn var_of(name: sinopac_proto::KeyName) -> Option<&'static str> {
    use sinopac_proto::KeyName;
    match name {
        KeyName::A1 => Some(env::A1),
        KeyName::A2 => Some(env::A2),
        KeyName::B1 => Some(env::B1),
        KeyName::B2 => Some(env::B2),
        _ => None,
    }
}

#[cfg(feature = "reqwest")]
fn default_transport(
    timeouts: &Timeouts,
    roots: &[Vec<u8>],
) -> Result<Arc<dyn Transport>, ConfigError> {
    let mut b = crate::reqwest_transport::ReqwestTransport::builder().timeouts(*timeouts);
    for pem in roots {
        b = b.add_root_certificate_pem(pem);
    }
    Ok(Arc::new(b.build().map_err(ConfigError::Transport)?))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(
    _timeouts: &Timeouts,
    _roots: &[Vec<u8>],
) -> Result<Arc<dyn Transport>, ConfigError> {
    Err(ConfigError::NoTransport)
}

/// Checks the scheme and host and adds a trailing `/`.
pub(crate) fn normalize_base_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    let bad = |reason| ConfigError::BaseUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with https:// (or http:// for a local sim)"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    if url.contains(['?', '#', ' ']) {
        return Err(bad("it must not contain a query, fragment or spaces"));
    }
    let mut out = url.to_owned();
    if !out.ends_with('/') {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const A1: &str = "86D50DEF3EB7400E";
    const A2: &str = "01FD27C09E5549E5";
    const B1: &str = "9E004965F4244953";
    const B2: &str = "7FB3385F414E4F91";

    fn vars(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, String> {
        let mut m: HashMap<&'static str, String> = [
            (env::SHOP_NO, "NA0249_001"),
            (env::A1, A1),
            (env::A2, A2),
            (env::B1, B1),
            (env::B2, B2),
            (env::KEY_ID, " b5e6986d-8636-4aa0-8c93-441ad14b2098\t"),
            (env::ENV, "sim"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
        for (k, v) in extra {
            m.insert(k, (*v).to_owned());
        }
        m
    }

    fn build(m: &HashMap<&'static str, String>) -> Result<Client, ConfigError> {
        ClientBuilder::new()
            .from_env_with(|k| m.get(k).cloned())
            .build()
    }

    #[test]
    fn from_env_builds() {
        let c = build(&vars(&[])).unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:8080/");
        assert_eq!(
            c.key_id().expose_secret(),
            "b5e6986d-8636-4aa0-8c93-441ad14b2098"
        );
        let c = build(&vars(&[(env::ENV, "PRODUCTION")])).unwrap();
        assert_eq!(c.base_url(), Environment::Production.base_url());
    }

    #[test]
    fn from_env_errors_are_clear() {
        let mut m = vars(&[(env::A2, "01FD27C09E5549E")]);
        let e = build(&m).unwrap_err();
        let text = format!("{e} / {}", std::error::Error::source(&e).unwrap());
        assert!(text.contains("SINOPAC_A2") && text.contains("A2"), "{text}");
        assert!(!text.contains("01FD27"), "{text}");

        m = vars(&[(env::ENV, "staging")]);
        assert!(matches!(build(&m), Err(ConfigError::UnknownEnvironment(_))));

        m = vars(&[(env::BASE_URL, "http://localhost:1/api")]);
        assert_eq!(build(&m).unwrap().base_url(), "http://localhost:1/api/");

        m = vars(&[(env::BASE_URL, "localhost:1")]);
        assert!(matches!(build(&m), Err(ConfigError::BaseUrl { .. })));

        m = vars(&[]);
        m.remove(env::B1);
        assert!(matches!(build(&m), Err(ConfigError::Missing(_))));

        m = vars(&[]);
        m.remove(env::KEY_ID);
        assert!(matches!(build(&m), Err(ConfigError::Missing(_))));

        m = vars(&[(env::KEY_ID, "bad key id")]);
        assert!(matches!(build(&m), Err(ConfigError::InvalidKeyId(_))));
    }

    #[test]
    fn base_url_is_normalized_and_checked() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:9/api").unwrap(),
            "http://127.0.0.1:9/api/"
        );
        assert!(normalize_base_url("ftp://x/").is_err());
        assert!(normalize_base_url("https:///api/").is_err());
        assert!(normalize_base_url("https://x/api?y=1").is_err());
    }

    #[test]
    fn environments_parse() {
        assert_eq!(
            "Sandbox".parse::<Environment>().unwrap(),
            Environment::Sandbox
        );
        assert_eq!(
            "prod".parse::<Environment>().unwrap(),
            Environment::Production
        );
        assert_eq!("sim".parse::<Environment>().unwrap(), Environment::Sim);
        assert!("x".parse::<Environment>().is_err());
    }

    #[test]
    fn key_id_is_trimmed_and_redacted() {
        let k = KeyId::new("\tabc-123 \n").unwrap();
        assert_eq!(k.expose_secret(), "abc-123");
        assert_eq!(format!("{k:?}"), "KeyId(<redacted>)");
        assert!(KeyId::new("  ").is_err());
    }
}
