//! Configuration from flags, environment and a TOML file (in that order of precedence).
//!
//! Secrets (`SINOPAC_MASTER_KEY`, `SINOPAC_API_TOKEN`, `SINOPAC_ADMIN_TOKEN`,
//! `SINOPAC_NOTIFY_SECRET`, shop keys) come only from the environment, never from flags (they
//! would show in `ps`) or the file.
//!
//! ```toml
//! # sinopac-server.toml
//! addr = "0.0.0.0:8080"
//! database_url = "postgres://pay@db/pay"     # default: sqlite file in data_dir
//! public_url = "https://pay.example.com"      # where the bank reaches BackendURL / ReturnURL
//! bank_url = "https://api.sinopac.com/funBIZ/QPay.WebAPI/api/"  # or: environment = "production"
//! data_dir = "/var/lib/sinopac"
//! notify_url = "https://shop.example.com/hooks/payments"
//! reconcile_interval_secs = 60
//! reconcile_grace_secs = 900
//! request_timeout_secs = 30
//! sqlite_synchronous = "full"                 # or "normal"
//! lease_secs = 60                             # work reserved for the instance that claimed it
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use sinopac_proto::ShopNo;

use crate::secrets::ShopCredentials;
use crate::server::{BankTarget, ServerConfig, ServerError};
use crate::store::SqliteDurability;

/// Flags of `sinopac-server serve` (each also read from the environment variable named).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "SINOPAC_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address (default 127.0.0.1:8080).
    #[arg(long, env = "SINOPAC_SERVER_ADDR")]
    pub addr: Option<SocketAddr>,
    /// `postgres://…` or `sqlite:PATH` (default: SQLite in the data dir).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Public base URL the bank and browsers reach this server at.
    #[arg(long, env = "SINOPAC_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Bank base URL (ending in /). Without it and without --environment: demo mode.
    #[arg(long, env = "SINOPAC_BASE_URL")]
    pub bank_url: Option<String>,
    /// `sandbox` or `production` (`sim` = demo mode).
    #[arg(long, env = "SINOPAC_ENV")]
    pub environment: Option<String>,
    /// Data directory (SQLite file; demo master key).
    #[arg(long, env = "SINOPAC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Shop notification URL.
    #[arg(long, env = "SINOPAC_NOTIFY_URL")]
    pub notify_url: Option<String>,
    /// Force demo mode (in-process simulated bank).
    #[arg(long)]
    pub demo: bool,
    /// Seconds between reconcile cycles.
    #[arg(long)]
    pub reconcile_interval_secs: Option<u64>,
    /// Orders younger than this are left to the callbacks.
    #[arg(long)]
    pub reconcile_grace_secs: Option<u64>,
    /// SQLite `synchronous`: `full` (default) or `normal`.
    #[arg(long)]
    pub sqlite_synchronous: Option<String>,
    /// Seconds a claimed work item stays reserved for the instance that claimed it (after a
    /// crash, its unfinished work is picked up once this has passed; default 60).
    #[arg(long)]
    pub lease_secs: Option<u64>,
}

/// The TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address.
    pub addr: Option<SocketAddr>,
    /// Database URL.
    pub database_url: Option<String>,
    /// Public URL.
    pub public_url: Option<String>,
    /// Bank base URL.
    pub bank_url: Option<String>,
    /// `sandbox` / `production` / `sim`.
    pub environment: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Notification URL.
    pub notify_url: Option<String>,
    /// Reconcile period.
    pub reconcile_interval_secs: Option<u64>,
    /// Reconcile grace period.
    pub reconcile_grace_secs: Option<u64>,
    /// Request timeout.
    pub request_timeout_secs: Option<u64>,
    /// `full` / `normal`.
    pub sqlite_synchronous: Option<String>,
    /// Work-item lease in seconds.
    pub lease_secs: Option<u64>,
    /// Demo mode.
    pub demo: Option<bool>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl ServeArgs {
    /// Merges flags/env with the file and defaults.
    ///
    /// # Errors
    /// [`ServerError::Config`] for an unreadable file or invalid values.
    pub fn into_config(self) -> Result<ServerConfig, ServerError> {
        self.into_config_with(env)
    }

    /// As [`Self::into_config`] with a custom secret lookup (tests).
    ///
    /// # Errors
    /// [`ServerError::Config`].
    pub fn into_config_with(
        self,
        secret: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ServerError> {
        let file: FileConfig = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)?;
                toml::from_str(&text)
                    .map_err(|e| ServerError::Config(format!("{}: {e}", p.display())))?
            }
            None => FileConfig::default(),
        };
        let mut cfg = ServerConfig::default();
        if let Some(a) = self.addr.or(file.addr) {
            cfg.addr = a;
        }
        cfg.database_url = self.database_url.or(file.database_url);
        cfg.public_url = self.public_url.or(file.public_url);
        let data_dir = self.data_dir.or(file.data_dir);
        cfg.notify_url = self.notify_url.or(file.notify_url);
        let environment = self.environment.or(file.environment);
        let demo = self.demo || file.demo.unwrap_or(false);
        cfg.bank = match (
            demo,
            self.bank_url.or(file.bank_url),
            environment.as_deref(),
        ) {
            (true, _, _) | (false, None, None | Some("sim" | "demo")) => BankTarget::Demo,
            (false, Some(url), _) => {
                let url = if url.ends_with('/') {
                    url
                } else {
                    format!("{url}/")
                };
                BankTarget::Url(url)
            }
            (false, None, Some(name)) => {
                let e = match name {
                    "sandbox" => sinopac_http::Environment::Sandbox,
                    "production" => sinopac_http::Environment::Production,
                    other => {
                        return Err(ServerError::Config(format!(
                            "unknown environment {other} (sandbox, production or sim)"
                        )));
                    }
                };
                BankTarget::Url(e.base_url().to_owned())
            }
        };
        cfg.data_dir = match (data_dir, &cfg.bank) {
            (Some(d), _) => d,
            // Demo data is throw-away: keep it out of the working directory.
            (None, BankTarget::Demo) => std::env::temp_dir().join("sinopac-server-demo"),
            (None, BankTarget::Url(_)) => PathBuf::from("sinopac-data"),
        };
        if let Some(s) = self
            .reconcile_interval_secs
            .or(file.reconcile_interval_secs)
        {
            cfg.reconcile_interval = Duration::from_secs(s.max(1));
        }
        if let Some(s) = self.reconcile_grace_secs.or(file.reconcile_grace_secs) {
            cfg.settings.reconcile_grace = Duration::from_secs(s);
        }
        if let Some(s) = self.lease_secs.or(file.lease_secs) {
            cfg.settings.lease = Duration::from_secs(s.max(1));
        }
        if let Some(s) = file.request_timeout_secs {
            cfg.request_timeout = Duration::from_secs(s.max(1));
        }
        cfg.sqlite_durability = match self
            .sqlite_synchronous
            .or(file.sqlite_synchronous)
            .as_deref()
        {
            None | Some("full") => SqliteDurability::Full,
            Some("normal") => SqliteDurability::Normal,
            Some(o) => return Err(ServerError::Config(format!("sqlite_synchronous: {o}"))),
        };
        cfg.master_key = secret("SINOPAC_MASTER_KEY");
        cfg.api_token = secret("SINOPAC_API_TOKEN");
        cfg.admin_token = secret("SINOPAC_ADMIN_TOKEN");
        cfg.notify_secret = secret("SINOPAC_NOTIFY_SECRET");
        cfg.initial_shop = initial_shop(&secret)?;
        Ok(cfg)
    }
}

/// A shop from `SINOPAC_SHOP_NO`, `SINOPAC_KEY_ID`, `SINOPAC_A1`..`SINOPAC_B2`, if all set.
///
/// # Errors
/// [`ServerError`] if they are set but invalid.
pub fn initial_shop(
    secret: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(ShopNo, ShopCredentials)>, ServerError> {
    let Some(shop) = secret("SINOPAC_SHOP_NO") else {
        return Ok(None);
    };
    let get = |n: &str| {
        secret(n)
            .ok_or_else(|| ServerError::Config(format!("{n} is required with SINOPAC_SHOP_NO")))
    };
    let shop = ShopNo::new(shop.trim()).map_err(|e| ServerError::Config(e.to_string()))?;
    let creds = ShopCredentials::new(
        &get("SINOPAC_KEY_ID")?,
        &get("SINOPAC_A1")?,
        &get("SINOPAC_A2")?,
        &get("SINOPAC_B1")?,
        &get("SINOPAC_B2")?,
    )?;
    Ok(Some((shop, creds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_secrets_come_from_env() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "addr = \"127.0.0.1:9000\"\npublic_url = \"https://file\"\nenvironment = \"sandbox\"\nreconcile_grace_secs = 5\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(p),
            public_url: Some("https://flag".into()),
            ..ServeArgs::default()
        };
        let cfg = args
            .into_config_with(|n| (n == "SINOPAC_API_TOKEN").then(|| "tok".to_string()))
            .unwrap();
        assert_eq!(cfg.addr.port(), 9000);
        assert_eq!(cfg.public_url.as_deref(), Some("https://flag"));
        assert!(matches!(cfg.bank, BankTarget::Url(ref u) if u.contains("apisbx")));
        assert_eq!(cfg.settings.reconcile_grace, Duration::from_secs(5));
        assert_eq!(cfg.api_token.as_deref(), Some("tok"));
        assert!(cfg.initial_shop.is_none());
    }

    #[test]
    fn demo_by_default_and_bad_values() {
        let cfg = ServeArgs::default().into_config_with(|_| None).unwrap();
        assert_eq!(cfg.bank, BankTarget::Demo);
        let bad = ServeArgs {
            environment: Some("moon".into()),
            ..ServeArgs::default()
        };
        assert!(bad.into_config_with(|_| None).is_err());
        let shop_without_keys = ServeArgs::default()
            .into_config_with(|n| (n == "SINOPAC_SHOP_NO").then(|| "NA0249_001".to_string()));
        assert!(shop_without_keys.is_err());
    }
}
