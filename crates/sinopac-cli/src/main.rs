//! # `sinopac` — the command-line tool for Bank SinoPac's 豐收款 (QPay / funBIZ) API
//!
//! What a merchant's engineer keeps open while integrating and supporting SinoPac payments:
//!
//! * `sinopac order create atm|card`, `order get`, `order list` (window-splitting past the
//!   bank's 300-row cap, progress bar on a terminal), `order pay-query TOKEN`,
//!   `order capture|void|refund`, `order uncaptured`, `bill DATE`, `allot --from --to`;
//! * `sinopac crypto hash-id|iv|sign|seal|open|vectors verify` — the crypto inspector, with keys
//!   from the environment or the config file, never from the command line (`--hash-id` is the
//!   one debugging override);
//! * `sinopac sim serve|pay|advance|deliveries|faults` — the simulated bank and its control API;
//! * `sinopac doctor` — checks the configuration and connectivity and says what to fix.
//!
//! `-v` / `-vv` log the client's calls and retries to stderr (no keys, key ids or payloads).
//!
//! Output: a readable table by default (money as NT$), `--json` (one JSON document, money in
//! minor units: `50000` = NT$500) and `--csv` for lists (money in minor units).
//!
//! ## Configuration
//!
//! Flags win over environment variables, which win over the selected profile of the config file
//! (`--config FILE`, else `$SINOPAC_CONFIG`, else `./sinopac.toml`):
//!
//! ```toml
//! default_profile = "sim"
//!
//! [profiles.sim]
//! env = "sim"                       # sim | sandbox | production
//! base_url = "http://127.0.0.1:8080/"
//! shop_no = "BA0026_001"
//! key_id = "…"                      # X-KeyID
//! a1 = "…"                          # A1, A2, B1, B2: 16 hex characters each
//! a2 = "…"
//! b1 = "…"
//! b2 = "…"
//! return_url = "https://shop.example/return"
//! backend_url = "https://shop.example/sinopac/notify"
//! ```
//!
//! Environment variables: `SINOPAC_SHOP_NO`, `SINOPAC_A1` … `SINOPAC_B2`, `SINOPAC_KEY_ID`,
//! `SINOPAC_BASE_URL`, `SINOPAC_ENV`, `SINOPAC_PROFILE`, `SINOPAC_CONFIG`,
//! `SINOPAC_RETURN_URL`, `SINOPAC_BACKEND_URL`, and `SINOPAC_HASH_ID` (crypto commands only).
//!
//! ## Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | other failure |
//! | 2 | usage error or bad input (flags, JSON on stdin, dates, amounts) |
//! | 3 | configuration error (keys, shop number, key id, base URL, config file) |
//! | 4 | transport failure (unreachable, timeout, HTTP error, HTML error page) |
//! | 5 | the bank rejected the request (`Status: F`) |
//! | 6 | verification failure (Sign did not verify, message did not decrypt, vector failed) |
//! | 7 | not found (no such order) |
//!
//! Errors print as one line `error: …` followed by `  caused by: …` lines; never a panic or a
//! Debug dump.

mod cli;
mod config;
mod crypto_cmd;
mod doctor;
mod error;
mod orders;
mod output;
mod parse;
mod sim_cmd;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command, CryptoCmd, VectorsCmd};
use crate::config::{FlagValues, Settings};
use crate::error::{CliError, CliResult};
use crate::output::Format;

fn main() -> ExitCode {
    // A bug must still end as one clear line, not a backtrace dump.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        output::note(&format!(
            "error: internal error (a bug in sinopac, please report it)\n  caused by: {}{at}",
            what.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ignored = e.print();
            return ExitCode::from(code);
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            output::note(&e.report());
            e.kind.into()
        }
        // The hook above has printed the error line.
        Err(_) => error::ExitKind::Other.into(),
    }
}

/// Everything a command needs from the global flags.
pub struct Ctx {
    flags: FlagValues,
    format: Format,
    settings: Option<Settings>,
}

impl Ctx {
    /// Keys for the crypto commands: `--hash-id` alone needs no configuration at all.
    fn crypto_keys(&mut self, hash_id: Option<&str>) -> CliResult<sinopac_proto::Keys> {
        match hash_id {
            Some(h) => Settings::default().crypto_keys(Some(h)),
            None => self.settings()?.crypto_keys(None),
        }
    }

    /// The resolved configuration (loaded on first use).
    pub fn settings(&mut self) -> CliResult<&Settings> {
        if self.settings.is_none() {
            let cwd = std::env::current_dir().unwrap_or_default();
            let loaded = Settings::load(&self.flags, &|k| std::env::var(k).ok(), &cwd)?;
            self.settings = Some(loaded);
        }
        self.settings
            .as_ref()
            .ok_or_else(|| CliError::other("configuration was not loaded"))
    }
}

fn run(cli: Cli) -> CliResult<()> {
    let g = cli.global;
    if g.verbose > 0 {
        let level = if g.verbose > 1 { "trace" } else { "debug" };
        let filter = tracing_subscriber::EnvFilter::new(format!(
            "sinopac_http={level},sinopac_proto={level},warn"
        ));
        let _ignored = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init();
    }
    let format = if g.json {
        Format::Json
    } else if g.csv {
        Format::Csv
    } else {
        Format::Table
    };
    let mut ctx = Ctx {
        flags: FlagValues {
            config: g.config,
            profile: g.profile,
            env: g.env,
            base_url: g.base_url,
            shop_no: g.shop_no,
        },
        format,
        settings: None,
    };
    match cli.command {
        Command::Crypto(cmd) => run_crypto(&mut ctx, cmd),
        Command::Order(cmd) => orders::run(ctx.settings()?, cmd, format),
        Command::Bill { date } => orders::bill(ctx.settings()?, &date, format),
        Command::Allot { from, to, pay_type } => {
            orders::allot(ctx.settings()?, &from, &to, pay_type, format)
        }
        Command::Sim(cmd) => sim_cmd::control(ctx.settings()?, cmd, format),
        Command::Doctor { offline } => {
            let settings = ctx.settings().cloned();
            doctor::run(settings, offline, format)
        }
    }
}

fn run_crypto(ctx: &mut Ctx, cmd: CryptoCmd) -> CliResult<()> {
    let format = ctx.format;
    match cmd {
        CryptoCmd::HashId { reveal, hash_id } => {
            let keys = ctx.crypto_keys(hash_id.as_deref())?;
            crypto_cmd::hash_id(&keys, reveal, format)
        }
        CryptoCmd::Iv { nonce } => crypto_cmd::iv(&nonce, format),
        CryptoCmd::Sign {
            nonce,
            show_string,
            hash_id,
        } => {
            let keys = ctx.crypto_keys(hash_id.as_deref())?;
            let payload = crypto_cmd::read_stdin("a JSON payload")?;
            crypto_cmd::sign(&keys, &nonce, &payload, show_string, format)
        }
        CryptoCmd::Seal {
            nonce,
            service,
            hash_id,
        } => {
            output::no_csv(format, "crypto seal")?;
            let keys = ctx.crypto_keys(hash_id.as_deref())?;
            let shop = ctx.flags.shop_no.clone();
            let payload = crypto_cmd::read_stdin("a JSON payload")?;
            crypto_cmd::seal(&keys, &nonce, &payload, service.as_deref(), shop.as_deref())
        }
        CryptoCmd::Open {
            nonce,
            message,
            sign,
            hash_id,
        } => {
            output::no_csv(format, "crypto open")?;
            let keys = ctx.crypto_keys(hash_id.as_deref())?;
            let parts = match (&nonce, &message, &sign) {
                (Some(n), Some(m), Some(s)) => Some((n.as_str(), m.as_str(), s.as_str())),
                _ => None,
            };
            crypto_cmd::open(&keys, parts, || crypto_cmd::read_stdin("an envelope JSON"))
        }
        CryptoCmd::Vectors(VectorsCmd::Verify { file }) => {
            crypto_cmd::vectors_verify(&file, format)
        }
    }
}
