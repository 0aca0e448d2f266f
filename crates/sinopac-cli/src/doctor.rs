//! `sinopac doctor`: checks the configuration and connectivity and says what to fix.

use std::time::Duration;

use serde::Serialize;
use sinopac_http::{Client, Error as HttpError, ReplyProblem};
use sinopac_proto::{ApiService, BankDate, OrderNo};

use crate::config::{EnvName, KEY_SLOTS, Settings, Source, guess_env, url_host};
use crate::crypto_cmd::fingerprint;
use crate::error::{CliError, CliResult, ExitKind};
use crate::orders;
use crate::output::{self, Format};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Informational.
    Info,
    /// Works, but worth fixing.
    Warn,
    /// Broken: must be fixed.
    Fail,
    /// Not checked (offline, or an earlier check failed).
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip)]
    kind: ExitKind,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            fix: None,
            kind: ExitKind::Config,
        }
    }
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail)
    }
    fn info(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Info, detail)
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail).fix(fix)
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail).fix(fix)
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, detail)
    }
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
    fn transport(mut self) -> Self {
        self.kind = ExitKind::Transport;
        self
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if parts.last() != Some(&t) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Runs every check. `settings` is the result of loading the configuration.
pub fn run(settings: CliResult<Settings>, offline: bool, format: Format) -> CliResult<()> {
    output::no_csv(format, "doctor")?;
    let checks = match settings {
        Err(e) => vec![Check::fail(
            "configuration",
            e.report().replace('\n', " "),
            "fix the config file or the variable named above",
        )],
        Ok(s) => collect(&s, offline),
    };
    print(&checks, format)?;
    let fails: Vec<&Check> = checks.iter().filter(|c| c.status == Status::Fail).collect();
    match fails.first() {
        None => Ok(()),
        Some(first) => Err(CliError::new(
            first.kind,
            format!(
                "doctor found {} problem(s); first: {}",
                fails.len(),
                first.name
            ),
        )),
    }
}

fn print(checks: &[Check], format: Format) -> CliResult<()> {
    if format == Format::Json {
        #[derive(Serialize)]
        struct Doc<'a> {
            ok: bool,
            checks: &'a [Check],
        }
        return output::print_json(&Doc {
            ok: checks.iter().all(|c| c.status != Status::Fail),
            checks,
        });
    }
    let w = checks
        .iter()
        .map(|c| output::width(c.name))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{:<4}  {}{}  {}\n",
            c.status.label(),
            c.name,
            " ".repeat(w.saturating_sub(output::width(c.name))),
            c.detail
        ));
        if let Some(fix) = &c.fix {
            let label = if c.status == Status::Info {
                "note"
            } else {
                "fix"
            };
            out.push_str(&format!("{}  {label}: {fix}\n", " ".repeat(w + 6)));
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "\n{} checks: {} ok, {} warnings, {} problems\n",
        checks.len(),
        count(Status::Ok) + count(Status::Info),
        count(Status::Warn),
        count(Status::Fail)
    ));
    output::print(&out)
}

fn collect(s: &Settings, offline: bool) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(match (&s.config_path, &s.profile) {
        (Some(p), Some(prof)) => {
            Check::ok("config file", format!("{}, profile {prof}", p.display()))
        }
        (Some(p), None) if s.profiles.is_empty() => {
            Check::info("config file", format!("{} (no profiles)", p.display()))
        }
        (Some(p), None) => Check::warn(
            "config file",
            format!(
                "{} defines profiles {} but none is selected",
                p.display(),
                s.profiles.join(", ")
            ),
            "pass --profile NAME, set SINOPAC_PROFILE, or add default_profile = \"NAME\"",
        ),
        (None, _) => Check::info("config file", "none found (environment variables only)"),
    });
    let env = s.env_name();
    checks.push(match &s.env {
        Some(e) => Check::ok("environment", format!("{} (from {})", e.value, e.source)),
        None => Check::info(
            "environment",
            format!("{env} (not set; guessed from the base URL)"),
        ),
    });
    checks.push(match (s.shop_no(), &s.shop_no) {
        (Ok(shop), Some(_))
            if env == EnvName::Production && shop.as_str() == PUBLIC_SANDBOX_SHOP =>
        {
            Check::fail(
                "shop number",
                format!(
                    "{shop} is the public, shared sandbox shop, but the environment is production"
                ),
                "use your own shop number from the bank's contract",
            )
        }
        (Ok(shop), Some(src)) if env != EnvName::Sim && !looks_like_shop_no(shop.as_str()) => {
            Check::warn(
                "shop number",
                format!(
                    "{shop} (from {}) does not look like the bank's shop numbers",
                    src.source
                ),
                "shop numbers look like NA0249_001 (two letters, four digits, _, three digits)",
            )
        }
        (Ok(shop), Some(src)) => Check::ok("shop number", format!("{shop} (from {})", src.source)),
        (Err(e), _) => Check::fail(
            "shop number",
            e.report().replace('\n', " "),
            "set SINOPAC_SHOP_NO (or shop_no in the profile), e.g. NA0249_001",
        ),
        (Ok(shop), None) => Check::ok("shop number", shop.to_string()),
    });
    checks.push(check_keys(s));
    checks.push(check_key_id(s, env));
    checks.push(check_base_url(s, env));
    if let (Some(Source::Env(_)), Some(Source::Env(_))) = (
        s.env.as_ref().map(|e| &e.source),
        s.base_url.as_ref().map(|b| &b.source),
    ) {
        checks.push(Check::warn(
            "SINOPAC_ENV + SINOPAC_BASE_URL",
            "both are set in the environment",
            "set only one: sinopac-http's ClientBuilder::from_env (used by your server) refuses \
             the combination",
        ));
    }
    checks.push(check_time_zone());
    for (name, value, is_backend) in [
        ("ReturnURL", &s.return_url, false),
        ("BackendURL", &s.backend_url, true),
    ] {
        checks.push(check_callback_url(
            name,
            value.as_ref().map(|v| (&v.value, &v.source)),
            is_backend,
            env,
        ));
    }

    if offline {
        for name in [
            "clock",
            "API reachable",
            "keys accepted",
            "callback reachability",
        ] {
            checks.push(Check::skip(name, "--offline"));
        }
        return checks;
    }
    let client = orders::client(s);
    let base = s.base_url().unwrap_or_default();
    let net = orders::block_on(async {
        let mut out = Vec::new();
        out.push(check_clock(&base, env).await);
        match &client {
            Ok(c) => {
                let (reach, keys) = check_api(c, &base).await;
                out.push(reach);
                out.push(keys);
            }
            Err(e) => {
                let why = format!("needs a valid configuration ({e})");
                out.push(Check::skip("API reachable", why.clone()));
                out.push(Check::skip("keys accepted", why));
            }
        }
        for (name, value) in [("ReturnURL", &s.return_url), ("BackendURL", &s.backend_url)] {
            if let Some(v) = value {
                out.push(check_reachable(name, &v.value).await);
            }
        }
        out
    });
    match net {
        Ok(mut n) => checks.append(&mut n),
        Err(e) => checks.push(Check::fail("network checks", e.to_string(), "retry").transport()),
    }
    checks
}

fn check_keys(s: &Settings) -> Check {
    let missing: Vec<&str> = KEY_SLOTS
        .iter()
        .zip(&s.keys)
        .filter(|(_, v)| v.is_none())
        .map(|((_, var, _), _)| *var)
        .collect();
    if !missing.is_empty() {
        return Check::fail(
            "keys",
            format!("not configured: {}", missing.join(", ")),
            "set the four hash keys A1, A2, B1, B2 (16 hex characters each) from the bank's \
             merchant console, as SINOPAC_A1.. or a1.. in the profile",
        );
    }
    match s.keys() {
        Err(e) => Check::fail(
            "keys",
            e.report().replace('\n', " "),
            "copy the key again from the bank's merchant console: 16 hex characters, no spaces",
        ),
        Ok(keys) => {
            let sources: Vec<String> = s
                .keys
                .iter()
                .flatten()
                .map(|k| match &k.source {
                    Source::Env(_) => "environment".to_owned(),
                    other => other.to_string(),
                })
                .collect();
            let detail = format!(
                "A1, A2, B1, B2 valid (HashID fingerprint {})",
                fingerprint(keys.hash_id().expose_secret())
            );
            let mixed = sources.iter().any(|x| {
                // Only the kind matters: all from the environment, or all from one profile.
                x.split(" [").next() != sources.first().and_then(|f| f.split(" [").next())
            });
            if mixed {
                Check::warn(
                    "keys",
                    format!("{detail}, but they come from different places"),
                    "take all four keys from one place (environment or one profile) so they \
                     cannot belong to different shops",
                )
            } else {
                Check::ok("keys", detail)
            }
        }
    }
}

/// The shared sandbox shop published in tutorials (PROTOCOL.md §11.11).
const PUBLIC_SANDBOX_SHOP: &str = "NA0249_001";

/// `NA0249_001`: two letters, four digits, `_`, three digits.
fn looks_like_shop_no(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            0 | 1 => c.is_ascii_uppercase(),
            6 => *c == b'_',
            _ => c.is_ascii_digit(),
        })
}

fn looks_like_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn check_key_id(s: &Settings, env: EnvName) -> Check {
    let Some(raw) = &s.key_id else {
        return Check::fail(
            "key id",
            "not configured",
            "set SINOPAC_KEY_ID (or key_id in the profile) to the X-KeyID the bank issued; it is \
             required on every call since April 2023",
        );
    };
    let value = raw.value.expose();
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Check::fail("key id", format!("blank (from {})", raw.source), "set it");
    }
    if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Check::fail(
            "key id",
            format!(
                "contains spaces or non-ASCII characters (from {})",
                raw.source
            ),
            "copy the X-KeyID again; it is a GUID like b5e6986d-8636-4aa0-8c93-441ad14b2098",
        );
    }
    if trimmed != value {
        let what = if value.contains('\t') {
            "a tab"
        } else {
            "whitespace"
        };
        return Check::warn(
            "key id",
            format!("has {what} around it (from {})", raw.source),
            format!(
                "remove it in {}: sinopac trims it, but other code may send it as is (a stray \
                 tab in the X-KeyID broke a real production deployment)",
                raw.source
            ),
        );
    }
    if env != EnvName::Sim && !looks_like_guid(trimmed) {
        return Check::warn(
            "key id",
            format!("does not look like a GUID (from {})", raw.source),
            "the bank's X-KeyIDs look like b5e6986d-8636-4aa0-8c93-441ad14b2098; check you did \
             not paste another value",
        );
    }
    Check::ok(
        "key id",
        format!("set, {} characters (from {})", trimmed.len(), raw.source),
    )
}

fn check_base_url(s: &Settings, env: EnvName) -> Check {
    let url = match s.base_url() {
        Ok(u) => u,
        Err(e) => {
            return Check::fail(
                "base URL",
                e.report().replace('\n', " "),
                "set SINOPAC_BASE_URL to an http(s) URL, or only SINOPAC_ENV",
            );
        }
    };
    let src = s.base_url.as_ref().map_or_else(
        || format!("default for {env}"),
        |b| format!("from {}", b.source),
    );
    let host = url_host(&url).unwrap_or_default().to_ascii_lowercase();
    let guessed = guess_env(&url);
    if let (Some(e), Some(g)) = (&s.env, guessed)
        && e.value != g
    {
        return Check::fail(
            "base URL",
            format!(
                "{url} ({src}) is a {g} URL, but the environment is {} (from {})",
                e.value, e.source
            ),
            format!(
                "make them agree: unset SINOPAC_BASE_URL to use the {} default ({}), or change \
                 the environment",
                e.value,
                e.value.default_base_url()
            ),
        );
    }
    let legacy = [
        ("apisbx.sinopac.com/funbiz/", EnvName::Sandbox),
        ("sandbox.sinopac.com/qpay.webapi", EnvName::Sandbox),
        ("funbiz.sinopac.com", EnvName::Production),
    ];
    let lower = url.to_ascii_lowercase();
    for (needle, e) in legacy {
        if lower.contains(needle) {
            return Check::warn(
                "base URL",
                format!("{url} ({src}) is a legacy {e} URL"),
                format!("use the current one: {}", e.default_base_url()),
            );
        }
    }
    match env {
        EnvName::Sandbox | EnvName::Production if url.starts_with("http://") => Check::fail(
            "base URL",
            format!("{url} ({src}) is plain http for the {env} environment"),
            format!(
                "use https (the current {env} URL is {})",
                env.default_base_url()
            ),
        ),
        EnvName::Sandbox | EnvName::Production if guessed.is_none() => Check::warn(
            "base URL",
            format!("{url} ({src}): {host} is not a known SinoPac API host"),
            format!("the current {env} URL is {}", env.default_base_url()),
        ),
        EnvName::Sim if guessed != Some(EnvName::Sim) => Check::warn(
            "base URL",
            format!("{url} ({src}) is not a local address, but the environment is sim"),
            "point it at `sinopac sim serve` (http://127.0.0.1:8080/ by default)",
        ),
        _ => Check::ok("base URL", format!("{url} ({src})")),
    }
}

fn local_zone() -> Option<String> {
    if let Ok(tz) = std::env::var("TZ")
        && !tz.is_empty()
    {
        return Some(format!("TZ={tz}"));
    }
    if let Ok(t) = std::fs::read_to_string("/etc/timezone") {
        let t = t.trim();
        if !t.is_empty() {
            return Some(t.to_owned());
        }
    }
    std::fs::read_link("/etc/localtime").ok().map(|p| {
        let p = p.display().to_string();
        p.split("zoneinfo/").nth(1).map_or(p.clone(), str::to_owned)
    })
}

fn check_time_zone() -> Check {
    let zone = local_zone().unwrap_or_else(|| "unknown".to_owned());
    let now = crate::parse::now_taipei()
        .map(|t| orders::fmt_time(Some(t)))
        .unwrap_or_default();
    let taipei = zone.contains("Asia/Taipei") || zone.contains("ROC") || zone.ends_with("CST-8");
    let detail = format!("local zone {zone}; now in Taipei {now}");
    if taipei {
        Check::ok("time zone", detail)
    } else {
        Check::info("time zone", detail).fix(
            "the bank's dates (ExpireDate, query ranges, PayDate) are Asia/Taipei (UTC+8); sinopac \
             converts explicitly — make sure your own code does too instead of using local time",
        )
    }
}

fn check_callback_url(
    name: &'static str,
    value: Option<(&String, &Source)>,
    is_backend: bool,
    env: EnvName,
) -> Check {
    let Some((url, src)) = value else {
        let (var, why) = if is_backend {
            (
                "SINOPAC_BACKEND_URL",
                "orders created by `sinopac order create` carry no BackendURL, so the bank \
                 sends no payment notification",
            )
        } else {
            (
                "SINOPAC_RETURN_URL",
                "card orders need a ReturnURL for the buyer's browser to come back to",
            )
        };
        return Check::warn(
            name,
            "not configured",
            format!("set {var} (or pass the flag): {why}"),
        );
    };
    let field = if is_backend {
        "backend_url"
    } else {
        "return_url"
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Check::fail(
            name,
            format!("{url} (from {src}) is not an http(s) URL"),
            format!("fix {field}"),
        );
    }
    if url.contains(['\'', '"', '%', ' ']) {
        return Check::fail(
            name,
            format!("{url} (from {src}) contains ' \" % or a space, which the bank refuses"),
            format!("fix {field}"),
        );
    }
    if url.len() > 255 {
        return Check::fail(
            name,
            format!("longer than 255 bytes (from {src})"),
            format!("shorten {field}"),
        );
    }
    let host = url_host(url).unwrap_or_default().to_ascii_lowercase();
    let private = host == "localhost"
        || host.starts_with("127.")
        || host.starts_with("10.")
        || host.starts_with("192.168.")
        || host == "[::1]"
        || host.ends_with(".local")
        || host
            .strip_prefix("172.")
            .and_then(|r| r.split('.').next())
            .and_then(|o| o.parse::<u8>().ok())
            .is_some_and(|o| (16..=31).contains(&o));
    if env != EnvName::Sim && private && is_backend {
        return Check::fail(
            name,
            format!("{url} (from {src}): {host} is not reachable from the bank"),
            "use a public https URL (a tunnel such as ngrok during development)",
        );
    }
    if env == EnvName::Production && url.starts_with("http://") {
        return Check::warn(
            name,
            format!("{url} (from {src}) is plain http"),
            "use https in production",
        );
    }
    Check::ok(name, format!("{url} (from {src})"))
}

/// Parses an HTTP `Date` header (`Thu, 26 Nov 2026 00:23:50 GMT`) into Unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let mut it = text.split_whitespace();
    let _weekday = it.next()?;
    let day: u8 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u16 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if it.next()? != "GMT" {
        return None;
    }
    let days = BankDate::new(year, month, day)?.days_since_epoch();
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

fn http_client() -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .ok()
}

async fn check_clock(base: &str, env: EnvName) -> Check {
    let Some(http) = http_client() else {
        return Check::skip("clock", "no HTTP client");
    };
    let url = if env == EnvName::Sim {
        format!("{base}_sim/clock")
    } else {
        base.to_owned()
    };
    let resp = match http.get(&url).send().await {
        Ok(r) => r,
        Err(e) => {
            return Check::skip("clock", format!("could not ask {url}: {}", chain(&e)));
        }
    };
    let date = resp
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date);
    let sim_now = if env == EnvName::Sim {
        resp.bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("Now").and_then(serde_json::Value::as_i64))
    } else {
        None
    };
    let local = crate::parse::unix_now();
    let Some(server) = date else {
        return Check::skip("clock", format!("{url} sent no Date header"));
    };
    let skew = local - server;
    let mut detail = format!("local clock {skew:+} s from the server's");
    if let Some(sim) = sim_now {
        detail.push_str(&format!(
            "; the sim's own clock reads {} (Taipei)",
            crate::sim_cmd::fmt_unix(sim)
        ));
    }
    if skew.abs() <= 30 {
        Check::ok("clock", detail)
    } else {
        Check::warn(
            "clock",
            detail,
            "synchronise the system clock (NTP): dates you compute (ExpireDate, query ranges) \
             would be off, and nonces only live 60 s",
        )
    }
}

async fn check_api(client: &Client, base: &str) -> (Check, Check) {
    let reach = match client.fetch_nonce(&ApiService::OrderQuery).await {
        Ok(_) => Check::ok(
            "API reachable",
            format!("{base}Nonce answered with a nonce (shop number and X-KeyID accepted)"),
        ),
        Err(e @ HttpError::Refused { .. }) => {
            return (
                Check::fail(
                    "API reachable",
                    format!("the bank refused the nonce request: {}", chain(&e)),
                    "check the shop number and the X-KeyID (they must belong together, and key \
                     ids expire; ask the bank for a new one)",
                ),
                Check::skip("keys accepted", "needs a nonce"),
            );
        }
        Err(e) => {
            return (
                Check::fail(
                    "API reachable",
                    format!("{base}Nonce: {}", chain(&e)),
                    "check the base URL, the network (proxy, firewall) and that the service is up",
                )
                .transport(),
                Check::skip("keys accepted", "needs a nonce"),
            );
        }
    };
    let probe = OrderNo::new("DOCTOR0PROBE").ok();
    let keys = match probe {
        None => Check::skip("keys accepted", "internal: no probe OrderNo"),
        Some(no) => match client.find_order(&no).await {
            Ok(_) => Check::ok(
                "keys accepted",
                "a signed OrderQuery was accepted and its reply decrypted and verified",
            ),
            Err(e @ HttpError::Refused { .. }) => Check::fail(
                "keys accepted",
                format!("the bank could not read our message: {}", chain(&e)),
                "the keys do not belong to this shop: copy A1, A2, B1, B2 again",
            ),
            Err(
                e @ HttpError::InvalidReply {
                    problem: ReplyProblem::Rejected,
                    ..
                },
            ) => Check::fail(
                "keys accepted",
                format!("the reply did not verify with these keys: {}", chain(&e)),
                "the keys do not belong to this shop: copy A1, A2, B1, B2 again",
            ),
            // A Status F reply only reaches us after it decrypted and verified with our
            // keys, so the keys are right; show the code anyway.
            Err(e @ HttpError::Bank { .. }) => Check::warn(
                "keys accepted",
                format!(
                    "the reply to a probe OrderQuery verified with these keys, but says: {}",
                    chain(&e)
                ),
                "if the code is about the Sign or the nonce, check the keys and the clock;                  otherwise nothing to do",
            ),
            Err(e) => Check::fail(
                "keys accepted",
                chain(&e),
                "retry; if it persists, check the network",
            )
            .transport(),
        },
    };
    (reach, keys)
}

async fn check_reachable(name: &'static str, url: &str) -> Check {
    let Some(http) = http_client() else {
        return Check::skip("callback reachability", "no HTTP client");
    };
    let label = if name == "ReturnURL" {
        "ReturnURL reachable"
    } else {
        "BackendURL reachable"
    };
    match http.get(url).send().await {
        Ok(r) => Check::ok(
            label,
            format!(
                "{url} answered HTTP {} to a GET (from here; the bank will POST)",
                r.status().as_u16()
            ),
        ),
        Err(e) => Check::fail(
            label,
            format!("{url}: {}", chain(&e)),
            "make sure the endpoint is deployed and reachable from the internet",
        )
        .transport(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Thu, 26 Nov 2026 00:23:50 GMT"),
            Some(1_795_652_630)
        );
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn shop_shape() {
        assert!(looks_like_shop_no("NA0249_001"));
        assert!(looks_like_shop_no("BA0026_001"));
        assert!(!looks_like_shop_no("NA0249-001"));
        assert!(!looks_like_shop_no("shop1"));
    }

    #[test]
    fn guid_shape() {
        assert!(looks_like_guid("b5e6986d-8636-4aa0-8c93-441ad14b2098"));
        assert!(!looks_like_guid("b5e6986d86364aa08c93441ad14b2098"));
    }
}
