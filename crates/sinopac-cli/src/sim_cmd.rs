//! `sinopac sim …`: serve the simulated bank, and control a running one through its HTTP
//! control API (`/_sim/…`, documented in the `sinopac-sim` crate).

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sinopac_proto::{Keys, OrderNo, ShopNo};
use sinopac_sim::{DeliveryAttempt, DeliveryOutcome, Fault, FaultPlan, FaultRule, Route};
use sinopac_sim::{ShopConfig, Sim, SimConfig};

use crate::cli::{SimCmd, SimFaultsArgs, SimServeArgs};
use crate::config::{EnvName, Settings};
use crate::error::{CliError, CliResult, Context as _, ExitKind};
use crate::orders::block_on;
use crate::output::{self, Format, Table, kv};
use crate::parse;

/// The bank's documented example shop (PROTOCOL.md §3), served with `--demo`.
pub const DEMO_SHOP: &str = "BA0026_001";
const DEMO_KEYS: [&str; 4] = [
    "4D9709D699CA40EE",
    "5A4FEF83140C4E9E",
    "BC74301945134CB4",
    "961F67F8FCA44AB9",
];
/// The demo shop's X-KeyID.
pub const DEMO_KEY_ID: &str = "00000000-0000-4000-8000-000000000000";

/// A shop in a `--shops` file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopFile {
    #[serde(rename = "ShopNo")]
    shop_no: String,
    #[serde(rename = "A1")]
    a1: String,
    #[serde(rename = "A2")]
    a2: String,
    #[serde(rename = "B1")]
    b1: String,
    #[serde(rename = "B2")]
    b2: String,
    #[serde(rename = "KeyId", alias = "KeyID")]
    key_id: String,
}

fn shops_from_file(path: &Path) -> CliResult<Vec<ShopConfig>> {
    let text = std::fs::read_to_string(path).context(
        ExitKind::Config,
        format!("cannot read shops file {}", path.display()),
    )?;
    let list: Vec<ShopFile> = serde_json::from_str(&text).context(
        ExitKind::Config,
        format!(
            "{} is not a shops file (a JSON array of {{\"ShopNo\",\"A1\",\"A2\",\"B1\",\"B2\",\"KeyId\"}})",
            path.display()
        ),
    )?;
    let mut out = Vec::with_capacity(list.len());
    for (i, s) in list.into_iter().enumerate() {
        let at = format!("{} entry {}", path.display(), i + 1);
        let shop = ShopNo::new(s.shop_no)
            .context(ExitKind::Config, format!("{at}: ShopNo is not valid"))?;
        let keys = Keys::new(&s.a1, &s.a2, &s.b1, &s.b2)
            .context(ExitKind::Config, format!("{at}: a key is not valid"))?;
        let key_id = s.key_id.trim().to_owned();
        if key_id.is_empty() {
            return Err(CliError::config(format!("{at}: KeyId is empty")));
        }
        out.push(ShopConfig::new(shop, keys, key_id));
    }
    Ok(out)
}

/// Parses `ROUTE:FAULT[:PROBABILITY]`, e.g. `Order:http=503:0.1`, `Callback:drop`,
/// `OrderCreate:lose-reply`.
pub fn fault_rule(text: &str) -> CliResult<FaultRule> {
    let bad = |why: &str| {
        CliError::usage(format!(
            "--fault {text:?}: {why}; use ROUTE:FAULT[:PROBABILITY], e.g. Order:http=503:0.1, \
             Nonce:latency=200, Callback:drop, OrderCreate:lose-reply"
        ))
    };
    let mut parts = text.split(':');
    let route = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no route"))?;
    let fault = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no fault"))?;
    let prob = parts.next();
    if parts.next().is_some() {
        return Err(bad("too many parts"));
    }
    let route: Route = serde_json::from_value(serde_json::Value::String(route.to_owned()))
        .map_err(|_| bad("unknown route"))?;
    if let Route::Service(s) = &route
        && !s.is_known()
    {
        return Err(bad(
            "unknown route (Any, Nonce, Order, Callback or an APIService such as OrderCreate)",
        ));
    }
    let (name, arg) = fault.split_once('=').unwrap_or((fault, ""));
    let num = |what: &str| -> CliResult<u64> {
        arg.parse::<u64>()
            .map_err(|_| bad(&format!("{name} needs ={what}")))
    };
    let mut after = false;
    let fault = match name.to_ascii_lowercase().as_str() {
        "latency" => Fault::Latency { ms: num("MS")? },
        "http" | "status" => {
            let status = u16::try_from(num("STATUS")?).map_err(|_| bad("bad HTTP status"))?;
            if !(400..=599).contains(&status) {
                return Err(bad("the HTTP status must be 400–599"));
            }
            Fault::HttpStatus { status }
        }
        "waf" => Fault::WafHtml,
        "hang" => Fault::Hang,
        "tamper-sign" => Fault::TamperSign,
        "stale-nonce" => Fault::StaleNonce,
        "drop" => Fault::Drop,
        "duplicate" => Fault::Duplicate,
        "reorder" => Fault::Reorder,
        "late" => Fault::Late { ms: num("MS")? },
        "lose-reply" => {
            after = true;
            Fault::HttpStatus { status: 502 }
        }
        _ => return Err(bad("unknown fault")),
    };
    let mut rule = FaultRule::new(route, fault);
    if after {
        rule = rule.after_processing();
    }
    if let Some(p) = prob {
        let p: f64 = p
            .parse()
            .map_err(|_| bad("the probability must be a number"))?;
        if !(0.0..=1.0).contains(&p) {
            return Err(bad("the probability must be between 0 and 1"));
        }
        rule = rule.probability(p);
    }
    Ok(rule)
}

/// `sinopac sim serve`.
pub fn serve(settings: &Settings, args: SimServeArgs) -> CliResult<()> {
    let mut shops = Vec::new();
    if let Some(path) = &args.shops {
        shops.extend(shops_from_file(path)?);
    }
    if settings.shop_no.is_some() || settings.keys.iter().any(Option::is_some) {
        shops.push(ShopConfig::new(
            settings.shop_no()?,
            settings.keys()?,
            settings.key_id()?.expose().to_owned(),
        ));
    }
    if args.demo {
        shops.push(ShopConfig::new(
            ShopNo::new(DEMO_SHOP).context(ExitKind::Other, "demo shop")?,
            Keys::new(DEMO_KEYS[0], DEMO_KEYS[1], DEMO_KEYS[2], DEMO_KEYS[3])
                .context(ExitKind::Other, "demo keys")?,
            DEMO_KEY_ID,
        ));
    }
    if shops.is_empty() {
        return Err(CliError::config(
            "no shop to serve: configure one (SINOPAC_SHOP_NO, SINOPAC_A1..B2, SINOPAC_KEY_ID \
             or a profile), pass --shops FILE, or use --demo",
        ));
    }
    let mut config = SimConfig {
        seed: args.seed,
        time_scale: (args.time_scale > 0.0).then_some(args.time_scale),
        ..SimConfig::default()
    };
    if !args.time_scale.is_finite() || args.time_scale < 0.0 {
        return Err(CliError::usage(
            "--time-scale must be 0 or a positive number",
        ));
    }
    if let Some(a) = &args.atm_auto_pay {
        config.atm_auto_pay_after = if a.eq_ignore_ascii_case("off") {
            None
        } else {
            let minutes: u64 = a.parse().map_err(|_| {
                CliError::usage(format!("--atm-auto-pay {a:?}: give minutes or \"off\""))
            })?;
            Some(Duration::from_secs(minutes.saturating_mul(60)))
        };
    }
    if let Some(u) = &args.public_url {
        config.public_base_url = u.trim_end_matches('/').to_owned();
    }
    let mut plan = match &args.faults {
        Some(path) => read_plan(path)?,
        None => FaultPlan::default(),
    };
    for f in &args.fault {
        plan = plan.rule(fault_rule(f)?);
    }

    let sim = Sim::new(config);
    let shop_names: Vec<String> = shops.iter().map(|s| s.shop_no.to_string()).collect();
    for s in shops {
        sim.add_shop(s);
    }
    let rules = plan.rules.len();
    sim.set_faults(plan);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context(ExitKind::Other, "cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .context(ExitKind::Config, format!("cannot listen on {}", args.addr))?;
        let addr = listener
            .local_addr()
            .context(ExitKind::Other, "cannot read the listening address")?;
        // First stdout line: the base URL (scripts and tests read it).
        output::println(&format!("http://{addr}/"))?;
        output::note(&format!(
            "sim serving shop(s) {} at http://{addr}/ (clock {}, {} fault rule(s)); Ctrl-C to stop",
            shop_names.join(", "),
            match args.time_scale {
                s if s > 0.0 => format!("×{s}"),
                _ => "manual: `sinopac sim advance`".to_owned(),
            },
            rules
        ));
        if args.demo {
            output::note(&format!(
                "demo shop {DEMO_SHOP} uses the bank's published example keys (PROTOCOL.md §3):\n  \
                 export SINOPAC_ENV=sim SINOPAC_BASE_URL=http://{addr}/ SINOPAC_SHOP_NO={DEMO_SHOP} \
                 SINOPAC_KEY_ID={DEMO_KEY_ID} SINOPAC_A1={} SINOPAC_A2={} SINOPAC_B1={} SINOPAC_B2={}",
                DEMO_KEYS[0], DEMO_KEYS[1], DEMO_KEYS[2], DEMO_KEYS[3]
            ));
        }
        sinopac_sim::serve_with_shutdown(sim, listener, shutdown_signal())
        .await
        .context(ExitKind::Transport, "the simulator stopped with an error")
    })
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ignored = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ignored = tokio::signal::ctrl_c().await;
    }
    output::note("sim: shutting down");
}

/// A client of a running sim's control API.
struct Control {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ControlError {
    #[serde(rename = "Error")]
    error: String,
}

impl Control {
    fn new(settings: &Settings) -> CliResult<Self> {
        let base = settings.base_url()?;
        let env = settings.env_name();
        if env != EnvName::Sim {
            let from = settings
                .env
                .as_ref()
                .map_or_else(|| format!("the base URL {base}"), |e| e.source.to_string());
            return Err(CliError::config(format!(
                "sim commands talk to a simulator, but the configured environment is {env} \
                 (from {from}); use --env sim and --base-url"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context(ExitKind::Other, "cannot build the HTTP client")?;
        Ok(Self { base, http })
    }

    async fn call(&self, req: reqwest::RequestBuilder, path: &str) -> CliResult<Vec<u8>> {
        let resp = req.send().await.map_err(|e| {
            CliError::transport(format!(
                "cannot reach the simulator at {} (is `sinopac sim serve` running?)",
                self.base
            ))
            .with_source(e)
        })?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .context(ExitKind::Transport, "the simulator's reply was cut off")?
            .to_vec();
        if status.is_success() {
            return Ok(body);
        }
        let text = serde_json::from_slice::<ControlError>(&body)
            .map(|e| e.error)
            .ok();
        match (status.as_u16(), text) {
            (404, Some(t)) => Err(CliError::new(ExitKind::NotFound, t)),
            (_, Some(t)) => Err(CliError::other(format!("the simulator refused: {t}"))),
            (code, None) => Err(CliError::transport(format!(
                "{}{path} answered HTTP {code} without the simulator's JSON (is this a sim?)",
                self.base
            ))),
        }
    }

    async fn get(&self, path: &str) -> CliResult<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        self.call(self.http.get(url), path).await
    }

    async fn put(&self, path: &str, body: String) -> CliResult<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let req = self
            .http
            .put(url)
            .header("content-type", "application/json")
            .body(body);
        self.call(req, path).await
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> CliResult<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.call(req, path).await
    }
}

fn parse_reply<T: for<'de> Deserialize<'de>>(body: &[u8]) -> CliResult<T> {
    serde_json::from_slice(body).context(
        ExitKind::Transport,
        "the simulator's reply is not what this version of sinopac expects",
    )
}

/// `2026-11-02 09:05:30` (Taiwan time) from Unix seconds.
pub fn fmt_unix(secs: i64) -> String {
    match sinopac_proto::BankTime::from_unix_seconds(secs) {
        Some(t) => format!(
            "{}:{:02}",
            crate::orders::fmt_time(Some(t)),
            secs.rem_euclid(60)
        ),
        None => secs.to_string(),
    }
}

#[derive(Deserialize, Serialize)]
struct Clock {
    #[serde(rename = "Now")]
    now: i64,
    #[serde(rename = "BankTime", default)]
    bank_time: Option<String>,
    #[serde(rename = "PendingEvents", default)]
    pending_events: Option<u64>,
}

/// The clock of the sim at the configured base URL (Unix seconds), if it is a sim that answers.
pub fn sim_now(settings: &Settings) -> Option<i64> {
    if settings.env_name() != EnvName::Sim {
        return None;
    }
    let control = Control::new(settings).ok()?;
    let body = block_on(control.get("_sim/clock")).ok()?.ok()?;
    parse_reply::<Clock>(&body).ok().map(|c| c.now)
}

fn read_plan(path: &Path) -> CliResult<FaultPlan> {
    let text = std::fs::read_to_string(path).context(
        ExitKind::Usage,
        format!("cannot read fault plan {}", path.display()),
    )?;
    serde_json::from_str::<FaultPlan>(&text).context(
        ExitKind::Usage,
        format!(
            "{} is not a fault plan (the simulator's FaultPlan JSON)",
            path.display()
        ),
    )
}

fn faults(settings: &Settings, args: SimFaultsArgs, format: Format) -> CliResult<()> {
    let control = Control::new(settings)?;
    let extra = args
        .add
        .iter()
        .map(|r| fault_rule(r))
        .collect::<CliResult<Vec<_>>>()?;
    let replace = match (&args.set, args.clear) {
        (Some(path), _) => Some(read_plan(path)?),
        (None, true) => Some(FaultPlan::default()),
        (None, false) => None,
    };
    let plan: FaultPlan = block_on(async {
        let mut plan = match replace {
            Some(p) => p,
            None => parse_reply(&control.get("_sim/faults").await?)?,
        };
        let changed = args.set.is_some() || args.clear || !extra.is_empty();
        plan.rules.extend(extra);
        if changed {
            let body = serde_json::to_string(&plan)
                .context(ExitKind::Other, "cannot render the fault plan")?;
            plan = parse_reply(&control.put("_sim/faults", body).await?)?;
        }
        Ok::<_, CliError>(plan)
    })??;
    let mut t = Table::new(&[
        "Route",
        "Fault",
        "Probability",
        "Count",
        "Skip",
        "AfterProcessing",
    ]);
    for r in &plan.rules {
        let route = serde_json::to_value(&r.route)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let fault = match &r.fault {
            Fault::Latency { ms } => format!("latency {ms} ms"),
            Fault::HttpStatus { status } => format!("HTTP {status}"),
            Fault::WafHtml => "WAF HTML page".to_owned(),
            Fault::Hang => format!("hang ({} ms)", plan.hang_max_ms),
            Fault::TamperSign => "tampered Sign".to_owned(),
            Fault::StaleNonce => "stale nonce".to_owned(),
            Fault::Drop => "drop".to_owned(),
            Fault::Duplicate => "duplicate".to_owned(),
            Fault::Reorder => "reorder".to_owned(),
            Fault::Late { ms } => format!("late {ms} ms"),
            _ => "other".to_owned(),
        };
        t.row(vec![
            route,
            fault,
            r.probability.to_string(),
            r.count.map_or_else(|| "-".to_owned(), |c| c.to_string()),
            r.skip.to_string(),
            if r.after_processing { "yes" } else { "no" }.to_owned(),
        ]);
    }
    output::print_list(format, &t, &plan)
}

/// `sinopac sim pay|advance|deliveries|faults`.
pub fn control(settings: &Settings, cmd: SimCmd, format: Format) -> CliResult<()> {
    match cmd {
        SimCmd::Serve(args) => serve(settings, args),
        SimCmd::Faults(args) => faults(settings, args, format),
        SimCmd::Pay { order_no, decline } => {
            output::no_csv(format, "sim pay")?;
            let shop = settings.shop_no()?;
            let order_no = OrderNo::new(order_no.clone()).context(
                ExitKind::Usage,
                format!("OrderNo {order_no:?} is not valid"),
            )?;
            let control = Control::new(settings)?;
            let body = serde_json::json!({
                "ShopNo": shop, "OrderNo": order_no, "Approve": !decline,
            });
            let reply = block_on(control.post("_sim/pay", &body))??;
            let v: serde_json::Value = parse_reply(&reply)?;
            match format {
                Format::Json => output::print_json(&v),
                _ => output::print(&kv(&[
                    ("OrderNo", order_no.to_string()),
                    (
                        "PayStatus",
                        v.get("PayStatus")
                            .and_then(|x| x.as_str())
                            .unwrap_or("-")
                            .to_owned(),
                    ),
                    (
                        "PayToken",
                        v.get("PayToken")
                            .and_then(|x| x.as_str())
                            .unwrap_or("-")
                            .to_owned(),
                    ),
                ])),
            }
        }
        SimCmd::Advance { duration } => {
            output::no_csv(format, "sim advance")?;
            let d = parse::duration(&duration)?;
            let control = Control::new(settings)?;
            let body = serde_json::json!({ "Seconds": d.as_secs_f64() });
            let reply = block_on(control.post("_sim/advance", &body))??;
            let clock: Clock = parse_reply(&reply)?;
            match format {
                Format::Json => output::print_json(&clock),
                _ => output::print(&kv(&[
                    ("sim time", format!("{} (Taipei)", fmt_unix(clock.now))),
                    (
                        "pending events",
                        clock
                            .pending_events
                            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    ),
                ])),
            }
        }
        SimCmd::Deliveries { order_no } => {
            let control = Control::new(settings)?;
            let path = match &order_no {
                Some(o) => format!(
                    "_sim/deliveries?OrderNo={}",
                    form_urlencoded::byte_serialize(o.as_bytes()).collect::<String>()
                ),
                None => "_sim/deliveries".to_owned(),
            };
            let reply = block_on(control.get(&path))??;
            let list: Vec<DeliveryAttempt> = parse_reply(&reply)?;
            let mut t = Table::new(&["Id", "Attempt", "At", "ShopNo", "OrderNo", "Outcome", "URL"])
                .right(&["Id", "Attempt"]);
            for d in &list {
                let outcome = match &d.outcome {
                    DeliveryOutcome::Acked { status } => format!("acked (HTTP {status})"),
                    DeliveryOutcome::NotAcked { status } => format!("not acked (HTTP {status})"),
                    DeliveryOutcome::Error { message } => format!("error: {message}"),
                    DeliveryOutcome::Dropped => "dropped (fault)".to_owned(),
                    _ => "other".to_owned(),
                };
                t.row(vec![
                    d.delivery_id.to_string(),
                    if d.duplicate {
                        format!("{} dup", d.attempt)
                    } else {
                        d.attempt.to_string()
                    },
                    if format == Format::Csv {
                        d.at.to_string()
                    } else {
                        fmt_unix(d.at)
                    },
                    d.shop_no.to_string(),
                    d.order_no.to_string(),
                    outcome,
                    d.url.clone(),
                ]);
            }
            #[derive(Serialize)]
            struct Doc<'a> {
                count: usize,
                deliveries: &'a [DeliveryAttempt],
            }
            output::print_list(
                format,
                &t,
                &Doc {
                    count: list.len(),
                    deliveries: &list,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_flags() {
        let r = fault_rule("Order:http=503:0.25").unwrap();
        assert_eq!(r.fault, Fault::HttpStatus { status: 503 });
        assert!((r.probability - 0.25).abs() < 1e-9);
        let r = fault_rule("OrderCreate:lose-reply").unwrap();
        assert!(r.after_processing);
        assert_eq!(fault_rule("Callback:drop").unwrap().fault, Fault::Drop);
        for bad in [
            "",
            "Order",
            "Order:nope",
            "Nowhere:waf",
            "Order:http=200",
            "Order:waf:2",
            "Order:latency",
        ] {
            assert!(fault_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_times() {
        // 2026-11-02 01:00:07 UTC = 09:00:07 Taipei.
        assert_eq!(fmt_unix(1_793_581_207), "2026-11-02 09:00:07");
    }
}
