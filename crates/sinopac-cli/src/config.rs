//! Configuration: flags, then environment variables, then a profile of `sinopac.toml`.
//!
//! Every value remembers where it came from, so `sinopac doctor` can say which file or variable
//! to fix. Secrets are held in [`Secret`] (redacted `Debug`, zeroized on drop) and never printed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sinopac_proto::{HashId, KeyError, Keys, ShopNo};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult, Context as _, ExitKind};

/// Base URL of the bank's sandbox (PROTOCOL.md §1.1, current).
pub const SANDBOX_URL: &str = "https://apisbx.sinopac.com/funBIZ-Sbx/QPay.WebAPI/api/";
/// Base URL of production (PROTOCOL.md §1.1, current).
pub const PRODUCTION_URL: &str = "https://api.sinopac.com/funBIZ/QPay.WebAPI/api/";
/// Default base URL of a local simulator (`sinopac sim serve`).
pub const SIM_URL: &str = "http://127.0.0.1:8080/";

/// Environment variable names.
pub mod vars {
    /// Shop number.
    pub const SHOP_NO: &str = "SINOPAC_SHOP_NO";
    /// Key A1.
    pub const A1: &str = "SINOPAC_A1";
    /// Key A2.
    pub const A2: &str = "SINOPAC_A2";
    /// Key B1.
    pub const B1: &str = "SINOPAC_B1";
    /// Key B2.
    pub const B2: &str = "SINOPAC_B2";
    /// HashID given directly (crypto commands only).
    pub const HASH_ID: &str = "SINOPAC_HASH_ID";
    /// `X-KeyID`.
    pub const KEY_ID: &str = "SINOPAC_KEY_ID";
    /// API base URL.
    pub const BASE_URL: &str = "SINOPAC_BASE_URL";
    /// `sim`, `sandbox` or `production`.
    pub const ENV: &str = "SINOPAC_ENV";
    /// Config file path.
    pub const CONFIG: &str = "SINOPAC_CONFIG";
    /// Profile name.
    pub const PROFILE: &str = "SINOPAC_PROFILE";
    /// Default `ReturnURL` for new orders.
    pub const RETURN_URL: &str = "SINOPAC_RETURN_URL";
    /// Default `BackendURL` for new orders.
    pub const BACKEND_URL: &str = "SINOPAC_BACKEND_URL";
}

/// Which bank the configuration points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvName {
    /// The local simulator.
    Sim,
    /// The bank's sandbox.
    Sandbox,
    /// The bank's production system.
    Production,
}

impl EnvName {
    /// Parses `sim`, `sandbox` or `production` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "sim" | "simulator" => Some(Self::Sim),
            "sandbox" | "test" => Some(Self::Sandbox),
            "production" | "prod" => Some(Self::Production),
            _ => None,
        }
    }

    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    /// The default base URL.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::Sim => SIM_URL,
            Self::Sandbox => SANDBOX_URL,
            Self::Production => PRODUCTION_URL,
        }
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A profile of the config file.
    File {
        /// The file.
        path: PathBuf,
        /// The profile.
        profile: String,
        /// The key inside the profile.
        key: &'static str,
    },
    /// Built in.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::File { path, profile, key } => {
                write!(f, "{} [profiles.{profile}] {key}", path.display())
            }
            Self::Default => f.write_str("built-in default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

/// A secret string (key, HashID, key id): redacted `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret text. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// The config file (`sinopac.toml`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, ProfileFile>,
}

/// One `[profiles.NAME]` table.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    env: Option<String>,
    base_url: Option<String>,
    shop_no: Option<String>,
    key_id: Option<Secret>,
    a1: Option<Secret>,
    a2: Option<Secret>,
    b1: Option<Secret>,
    b2: Option<Secret>,
    hash_id: Option<Secret>,
    return_url: Option<String>,
    backend_url: Option<String>,
}

/// Values given as flags (they win over everything else).
#[derive(Debug, Clone, Default)]
pub struct FlagValues {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--env`.
    pub env: Option<EnvName>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--shop-no`.
    pub shop_no: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The config file that was read, if any.
    pub config_path: Option<PathBuf>,
    /// The profile used, if any.
    pub profile: Option<String>,
    /// Profiles defined in the file (names only).
    pub profiles: Vec<String>,
    /// `sim` / `sandbox` / `production`.
    pub env: Option<Sourced<EnvName>>,
    /// Raw base URL as configured.
    pub base_url: Option<Sourced<String>>,
    /// Raw shop number.
    pub shop_no: Option<Sourced<String>>,
    /// Raw `X-KeyID` (not trimmed, so doctor can point at stray whitespace).
    pub key_id: Option<Sourced<Secret>>,
    /// A1, A2, B1, B2.
    pub keys: [Option<Sourced<Secret>>; 4],
    /// A HashID given directly (crypto commands only).
    pub hash_id: Option<Sourced<Secret>>,
    /// Default `ReturnURL`.
    pub return_url: Option<Sourced<String>>,
    /// Default `BackendURL`.
    pub backend_url: Option<Sourced<String>>,
}

/// The names of the four keys, with their variables and file keys.
pub const KEY_SLOTS: [(&str, &str, &str); 4] = [
    ("A1", vars::A1, "a1"),
    ("A2", vars::A2, "a2"),
    ("B1", vars::B1, "b1"),
    ("B2", vars::B2, "b2"),
];

impl Settings {
    /// Resolves the configuration from flags, the environment (`env` looks a variable up) and
    /// the config file (`--config`, `$SINOPAC_CONFIG`, then `./sinopac.toml` in `cwd`).
    pub fn load(
        flags: &FlagValues,
        env: &dyn Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> CliResult<Self> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let (config_path, must_exist) = match (&flags.config, env(vars::CONFIG)) {
            (Some(p), _) => (Some(p.clone()), true),
            (None, Some(p)) => (Some(PathBuf::from(p)), true),
            (None, None) => {
                let p = cwd.join("sinopac.toml");
                (p.is_file().then_some(p), false)
            }
        };
        let file = match &config_path {
            Some(path) => Some(read_file(path, must_exist)?),
            None => None,
        };
        let file_profiles: Vec<String> = file
            .as_ref()
            .map(|f| f.profiles.keys().cloned().collect())
            .unwrap_or_default();

        let profile_name = flags
            .profile
            .clone()
            .or_else(|| env(vars::PROFILE))
            .or_else(|| file.as_ref().and_then(|f| f.default_profile.clone()));
        let mut profile = ProfileFile::default();
        if let Some(name) = &profile_name {
            let found = file.and_then(|mut f| f.profiles.remove(name));
            match (found, &config_path) {
                (Some(p), _) => profile = p,
                (None, Some(path)) => {
                    return Err(CliError::config(format!(
                        "profile {name:?} is not defined in {} (defined: {})",
                        path.display(),
                        if file_profiles.is_empty() {
                            "none".to_owned()
                        } else {
                            file_profiles.join(", ")
                        }
                    )));
                }
                (None, None) => {
                    return Err(CliError::config(format!(
                        "profile {name:?} was asked for but no config file was found \
                         (looked for --config, ${}, ./sinopac.toml)",
                        vars::CONFIG
                    )));
                }
            }
        }
        let path = config_path.clone().unwrap_or_default();
        let pname = profile_name.clone().unwrap_or_default();
        let from_file = |key: &'static str| Source::File {
            path: path.clone(),
            profile: pname.clone(),
            key,
        };

        let pick = |flag: Option<(&'static str, String)>,
                    var: &'static str,
                    file_val: Option<String>,
                    key: &'static str|
         -> Option<Sourced<String>> {
            if let Some((name, value)) = flag {
                return Some(Sourced {
                    value,
                    source: Source::Flag(name),
                });
            }
            if let Some(value) = env(var) {
                return Some(Sourced {
                    value,
                    source: Source::Env(var),
                });
            }
            file_val.map(|value| Sourced {
                value,
                source: from_file(key),
            })
        };
        let pick_secret = |var: &'static str,
                           file_val: Option<Secret>,
                           key: &'static str|
         -> Option<Sourced<Secret>> {
            if let Some(value) = env(var) {
                return Some(Sourced {
                    value: Secret::new(value),
                    source: Source::Env(var),
                });
            }
            file_val
                .filter(|s| !s.expose().is_empty())
                .map(|value| Sourced {
                    value,
                    source: from_file(key),
                })
        };

        let env_name = match flags.env {
            Some(e) => Some(Sourced {
                value: e,
                source: Source::Flag("--env"),
            }),
            None => match pick(None, vars::ENV, profile.env.take(), "env") {
                Some(s) => {
                    let value = EnvName::parse(&s.value).ok_or_else(|| {
                        CliError::config(format!(
                            "unknown environment {:?} in {}; use sim, sandbox or production",
                            s.value, s.source
                        ))
                    })?;
                    Some(Sourced {
                        value,
                        source: s.source,
                    })
                }
                None => None,
            },
        };

        let ProfileFile {
            base_url,
            shop_no,
            key_id,
            a1,
            a2,
            b1,
            b2,
            hash_id,
            return_url,
            backend_url,
            ..
        } = profile;
        Ok(Self {
            config_path,
            profile: profile_name,
            profiles: file_profiles,
            env: env_name,
            base_url: pick(
                flags.base_url.clone().map(|v| ("--base-url", v)),
                vars::BASE_URL,
                base_url,
                "base_url",
            ),
            shop_no: pick(
                flags.shop_no.clone().map(|v| ("--shop-no", v)),
                vars::SHOP_NO,
                shop_no,
                "shop_no",
            ),
            key_id: pick_secret(vars::KEY_ID, key_id, "key_id"),
            keys: [
                pick_secret(vars::A1, a1, "a1"),
                pick_secret(vars::A2, a2, "a2"),
                pick_secret(vars::B1, b1, "b1"),
                pick_secret(vars::B2, b2, "b2"),
            ],
            hash_id: pick_secret(vars::HASH_ID, hash_id, "hash_id"),
            return_url: pick(None, vars::RETURN_URL, return_url, "return_url"),
            backend_url: pick(None, vars::BACKEND_URL, backend_url, "backend_url"),
        })
    }

    /// The shop number, validated.
    pub fn shop_no(&self) -> CliResult<ShopNo> {
        let s = self.shop_no.as_ref().ok_or_else(|| {
            CliError::config(format!(
                "no shop number configured; set {} (or shop_no in a profile, or --shop-no)",
                vars::SHOP_NO
            ))
        })?;
        ShopNo::new(s.value.clone()).context(
            ExitKind::Config,
            format!("the shop number from {} is not valid", s.source),
        )
    }

    /// The shop keys (A1..B2), validated; errors name the variable or file key to fix.
    pub fn keys(&self) -> CliResult<Keys> {
        let mut texts: Vec<&str> = Vec::with_capacity(4);
        for (slot, (name, var, _)) in self.keys.iter().zip(KEY_SLOTS) {
            match slot {
                Some(s) => texts.push(s.value.expose()),
                None => {
                    return Err(CliError::config(format!(
                        "key {name} is not configured; set {var} (or {} in a profile)",
                        name.to_ascii_lowercase()
                    )));
                }
            }
        }
        let [a1, a2, b1, b2] = texts.as_slice() else {
            return Err(CliError::config(
                "the four keys A1, A2, B1, B2 are required",
            ));
        };
        Keys::new(a1, a2, b1, b2).map_err(|e| {
            let source = key_error_source(&e, &self.keys);
            CliError::config(format!("key from {source} is not valid")).with_source(e)
        })
    }

    /// Keys for the crypto commands: `--hash-id`, else `SINOPAC_HASH_ID`/`hash_id`, else A1..B2.
    pub fn crypto_keys(&self, hash_id_flag: Option<&str>) -> CliResult<Keys> {
        if let Some(text) = hash_id_flag {
            let h = HashId::parse(text).context(ExitKind::Config, "--hash-id is not valid")?;
            return Ok(Keys::from_hash_id(h));
        }
        if let Some(s) = &self.hash_id {
            let h = HashId::parse(s.value.expose()).context(
                ExitKind::Config,
                format!("the HashID from {} is not valid", s.source),
            )?;
            return Ok(Keys::from_hash_id(h));
        }
        if self.keys.iter().all(Option::is_none) {
            return Err(CliError::config(format!(
                "no keys configured; set {}, {}, {}, {} (or {}, or pass --hash-id)",
                vars::A1,
                vars::A2,
                vars::B1,
                vars::B2,
                vars::HASH_ID
            )));
        }
        self.keys()
    }

    /// The `X-KeyID`, trimmed (a stray space broke a real deployment; `doctor` reports it).
    pub fn key_id(&self) -> CliResult<Secret> {
        let s = self.key_id.as_ref().ok_or_else(|| {
            CliError::config(format!(
                "no key id (X-KeyID) configured; set {} (or key_id in a profile)",
                vars::KEY_ID
            ))
        })?;
        let trimmed = s.value.expose().trim();
        if trimmed.is_empty() {
            return Err(CliError::config(format!(
                "the key id from {} is blank",
                s.source
            )));
        }
        Ok(Secret::new(trimmed.to_owned()))
    }

    /// The environment: explicit, else guessed from the base URL, else `sim`.
    pub fn env_name(&self) -> EnvName {
        if let Some(e) = &self.env {
            return e.value;
        }
        match &self.base_url {
            Some(u) => guess_env(&u.value).unwrap_or(EnvName::Sim),
            None => EnvName::Sim,
        }
    }

    /// The base URL (ending in `/`): configured, else the environment's default.
    pub fn base_url(&self) -> CliResult<String> {
        let raw = match &self.base_url {
            Some(s) => s.value.trim().to_owned(),
            None => self.env_name().default_base_url().to_owned(),
        };
        if !(raw.starts_with("http://") || raw.starts_with("https://")) {
            let source = self
                .base_url
                .as_ref()
                .map_or(Source::Default, |s| s.source.clone());
            return Err(CliError::config(format!(
                "the base URL from {source} must start with http:// or https://"
            )));
        }
        Ok(if raw.ends_with('/') {
            raw
        } else {
            format!("{raw}/")
        })
    }
}

fn key_error_source(e: &KeyError, keys: &[Option<Sourced<Secret>>; 4]) -> String {
    let name = match e {
        KeyError::Empty(n) | KeyError::Whitespace(n) | KeyError::NotHex(n) => Some(*n),
        KeyError::Length { key, .. } => Some(*key),
        _ => None,
    };
    let index = name.and_then(|n| KEY_SLOTS.iter().position(|(k, _, _)| *k == n.to_string()));
    index
        .and_then(|i| keys.get(i))
        .and_then(|s| s.as_ref())
        .map_or_else(|| "the configuration".to_owned(), |s| s.source.to_string())
}

/// Guesses the environment from a base URL's host.
pub fn guess_env(url: &str) -> Option<EnvName> {
    let host = url_host(url)?.to_ascii_lowercase();
    if host == "localhost" || host.starts_with("127.") || host == "[::1]" {
        Some(EnvName::Sim)
    } else if host.starts_with("apisbx.") || host.starts_with("sandbox.") {
        Some(EnvName::Sandbox)
    } else if host == "api.sinopac.com" || host == "funbiz.sinopac.com" {
        Some(EnvName::Production)
    } else {
        None
    }
}

/// The host part of an `http(s)://host[:port]/…` URL.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next();
    }
    authority.split(':').next().filter(|h| !h.is_empty())
}

fn read_file(path: &Path, must_exist: bool) -> CliResult<FileConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FileConfig::default());
        }
        Err(e) => {
            return Err(
                CliError::config(format!("cannot read config file {}", path.display()))
                    .with_source(e),
            );
        }
    };
    toml::from_str(&text).map_err(|e| {
        CliError::config(format!("config file {} is not valid", path.display()))
            .with_source(TomlError(e.message().to_owned()))
    })
}

/// A TOML error reduced to its message (its `Display` spans several lines with the source text,
/// which could include a secret).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TomlError(String);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    const KEYS: [(&str, &str); 4] = [
        ("SINOPAC_A1", "4D9709D699CA40EE"),
        ("SINOPAC_A2", "5A4FEF83140C4E9E"),
        ("SINOPAC_B1", "BC74301945134CB4"),
        ("SINOPAC_B2", "961F67F8FCA44AB9"),
    ];

    #[test]
    fn env_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut pairs = KEYS.to_vec();
        pairs.push(("SINOPAC_SHOP_NO", "BA0026_001"));
        pairs.push(("SINOPAC_KEY_ID", " abc \t"));
        let s = Settings::load(&FlagValues::default(), &env_of(&pairs), dir.path()).unwrap();
        assert_eq!(
            s.keys().unwrap().hash_id().expose_secret(),
            "17D8E6558DC60E702A6B57E1B9B7060D"
        );
        assert_eq!(s.shop_no().unwrap().as_str(), "BA0026_001");
        assert_eq!(s.key_id().unwrap().expose(), "abc");
        assert_eq!(s.base_url().unwrap(), SIM_URL);
        assert_eq!(s.env_name(), EnvName::Sim);
    }

    #[test]
    fn profile_file_flags_override_env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sinopac.toml"),
            r#"
default_profile = "sandbox"
[profiles.sandbox]
env = "sandbox"
shop_no = "NA0249_001"
a1 = "86D50DEF3EB7400E"
a2 = "01FD27C09E5549E5"
b1 = "9E004965F4244953"
b2 = "7FB3385F414E4F91"
[profiles.production]
env = "production"
"#,
        )
        .unwrap();
        let env = env_of(&[("SINOPAC_SHOP_NO", "FROMENV_001")]);
        let s = Settings::load(&FlagValues::default(), &env, dir.path()).unwrap();
        assert_eq!(s.profile.as_deref(), Some("sandbox"));
        assert_eq!(s.shop_no().unwrap().as_str(), "FROMENV_001");
        assert_eq!(s.base_url().unwrap(), SANDBOX_URL);
        assert_eq!(
            s.keys().unwrap().hash_id().expose_secret(),
            "87282A2FA0E209EBE1B3713AB56A06C2"
        );
        let flags = FlagValues {
            shop_no: Some("FLAG_001".into()),
            profile: Some("production".into()),
            ..FlagValues::default()
        };
        let s = Settings::load(&flags, &env, dir.path()).unwrap();
        assert_eq!(s.shop_no().unwrap().as_str(), "FLAG_001");
        assert_eq!(s.base_url().unwrap(), PRODUCTION_URL);
        let err = s.keys().unwrap_err();
        assert_eq!(err.kind, ExitKind::Config);
        assert!(err.to_string().contains("SINOPAC_A1"), "{err}");

        let flags = FlagValues {
            profile: Some("nope".into()),
            ..FlagValues::default()
        };
        let err = Settings::load(&flags, &env, dir.path()).unwrap_err();
        assert!(err.to_string().contains("production, sandbox"), "{err}");
    }

    #[test]
    fn bad_key_names_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let mut pairs = KEYS.to_vec();
        pairs[2].1 = "BC74301945134CB";
        let s = Settings::load(&FlagValues::default(), &env_of(&pairs), dir.path()).unwrap();
        let e = s.keys().unwrap_err();
        assert!(e.report().contains("SINOPAC_B1"), "{}", e.report());
        assert!(e.report().contains("16 hex"), "{}", e.report());
    }

    #[test]
    fn bad_file_is_a_config_error_without_echoing_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "[profiles.a]\na1 = \"SECRETSECRET\"\nbogus = 1\n").unwrap();
        let flags = FlagValues {
            config: Some(path),
            ..FlagValues::default()
        };
        let e = Settings::load(&flags, &env_of(&[]), dir.path()).unwrap_err();
        assert_eq!(e.kind, ExitKind::Config);
        assert!(!e.report().contains("SECRETSECRET"), "{}", e.report());
        assert!(e.report().contains("bogus"), "{}", e.report());
    }

    #[test]
    fn hosts_and_env_guess() {
        assert_eq!(
            url_host("https://api.sinopac.com/funBIZ/"),
            Some("api.sinopac.com")
        );
        assert_eq!(url_host("http://127.0.0.1:8080/"), Some("127.0.0.1"));
        assert_eq!(guess_env(SANDBOX_URL), Some(EnvName::Sandbox));
        assert_eq!(guess_env(PRODUCTION_URL), Some(EnvName::Production));
        assert_eq!(guess_env("http://localhost:1/"), Some(EnvName::Sim));
        assert_eq!(guess_env("https://example.com/"), None);
    }
}
