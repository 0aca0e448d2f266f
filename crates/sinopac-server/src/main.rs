//! `sinopac-server`: the merchant payment service. See the library docs for the API.
//!
//! ```text
//! sinopac-server [serve] [--addr 127.0.0.1:8080] [--config FILE] [--database-url URL] …
//! sinopac-server shop add SHOP_NO        # keys from SINOPAC_KEY_ID, SINOPAC_A1..B2 or JSON on stdin
//! sinopac-server shop list
//! sinopac-server reconcile               # one cycle, JSON result
//! sinopac-server report [--from MS] [--to MS]   # reconciliation report as JSON
//! sinopac-server migrate
//! ```

use std::io::Read as _;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use sinopac_proto::ShopNo;
use sinopac_server::bank::Bank;
use sinopac_server::config::ServeArgs;
use sinopac_server::http_bank::HttpBank;
use sinopac_server::metrics::Metrics;
use sinopac_server::reconcile;
use sinopac_server::secrets::ShopCredentials;
use sinopac_server::server::{self, BankTarget, ServerConfig};
use sinopac_server::worker::{Deps, now_ms};

#[derive(Parser)]
#[command(
    name = "sinopac-server",
    version,
    about = "SinoPac 豐收款 merchant payment service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Manage shops.
    #[command(subcommand)]
    Shop(ShopCmd),
    /// Run one reconcile cycle now and print what it did (JSON).
    Reconcile(ServeArgs),
    /// Print the reconciliation report (JSON).
    Report {
        #[command(flatten)]
        serve: ServeArgs,
        /// Start (Unix ms; default 7 days ago).
        #[arg(long)]
        from: Option<i64>,
        /// End (Unix ms, exclusive; default now).
        #[arg(long)]
        to: Option<i64>,
    },
    /// Apply database migrations and exit.
    Migrate(ServeArgs),
}

#[derive(Subcommand)]
enum ShopCmd {
    /// Add a shop or rotate its keys (no restart needed). Reads SINOPAC_KEY_ID and
    /// SINOPAC_A1..SINOPAC_B2, or with --stdin a JSON {"key_id","a1","a2","b1","b2"}.
    Add {
        /// ShopNo.
        shop_no: String,
        /// Read the credentials as JSON from stdin.
        #[arg(long)]
        stdin: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// List shops (never prints credentials).
    List(ServeArgs),
}

#[derive(serde::Deserialize)]
struct KeysJson {
    key_id: String,
    a1: String,
    a2: String,
    b1: String,
    b2: String,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("SINOPAC_LOG_FORMAT").is_ok_and(|v| v == "json");
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn config(args: ServeArgs) -> Result<ServerConfig> {
    args.into_config().context("configuration")
}

async fn deps_for_cli(cfg: &ServerConfig) -> Result<Deps> {
    let store = server::open_store(cfg).await.context("database")?;
    let master = server::master_key(cfg).context("master key")?;
    let BankTarget::Url(url) = &cfg.bank else {
        bail!(
            "no bank configured (set SINOPAC_BASE_URL or SINOPAC_ENV); demo mode has no persistent bank"
        );
    };
    let bank: Arc<dyn Bank> = Arc::new(HttpBank::new(store.clone(), master, url));
    Ok(Deps {
        store,
        bank,
        metrics: Arc::new(Metrics::new()),
        settings: cfg.settings.clone(),
        notify: cfg.notify_url.is_some(),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    init_tracing();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Cmd::Serve(a)) => serve(a).await,
        Some(Cmd::Migrate(a)) => {
            let cfg = config(a)?;
            server::open_store(&cfg).await.context("database")?;
            println!("migrations applied");
            Ok(())
        }
        Some(Cmd::Shop(ShopCmd::Add {
            shop_no,
            stdin,
            serve,
        })) => {
            let cfg = config(serve)?;
            let shop = ShopNo::new(shop_no.as_str()).context("ShopNo")?;
            let creds = if stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                let k: KeysJson = serde_json::from_str(&text)
                    .map_err(|_| anyhow::anyhow!("stdin: expected {{key_id, a1, a2, b1, b2}}"))?;
                ShopCredentials::new(&k.key_id, &k.a1, &k.a2, &k.b1, &k.b2)?
            } else {
                let get = |n: &str| std::env::var(n).with_context(|| format!("{n} is not set"));
                ShopCredentials::new(
                    &get("SINOPAC_KEY_ID")?,
                    &get("SINOPAC_A1")?,
                    &get("SINOPAC_A2")?,
                    &get("SINOPAC_B1")?,
                    &get("SINOPAC_B2")?,
                )?
            };
            let store = server::open_store(&cfg).await.context("database")?;
            let master = server::master_key(&cfg).context("master key")?;
            let v = store
                .upsert_shop(shop.as_str(), &creds.seal(&master, &shop)?, now_ms())
                .await?;
            println!(
                "shop {shop} stored (credential version {v}); running servers pick it up within 30 s"
            );
            Ok(())
        }
        Some(Cmd::Shop(ShopCmd::List(a))) => {
            let cfg = config(a)?;
            let store = server::open_store(&cfg).await.context("database")?;
            println!(
                "{}",
                serde_json::to_string_pretty(&store.list_shops().await?)?
            );
            Ok(())
        }
        Some(Cmd::Reconcile(a)) => {
            let cfg = config(a)?;
            let deps = deps_for_cli(&cfg).await?;
            let run = reconcile::try_once(&deps, now_ms()).await?;
            println!("{}", serde_json::to_string_pretty(&run)?);
            Ok(())
        }
        Some(Cmd::Report { serve, from, to }) => {
            let cfg = config(serve)?;
            let deps = deps_for_cli(&cfg).await?;
            let to = to.unwrap_or_else(|| now_ms() + 1);
            let from = from.unwrap_or(to - 7 * 86_400_000);
            let rep = reconcile::report(&deps, from, to).await?;
            println!("{}", serde_json::to_string_pretty(&rep)?);
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let cfg = config(args)?;
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("bind {}", cfg.addr))?;
    let demo = cfg.bank == BankTarget::Demo;
    let data_dir = cfg.data_dir.clone();
    let uses_sqlite = cfg.database_url.is_none();
    let running = server::start(cfg, listener).await.context("start")?;
    let addr = running.addr;
    if demo {
        println!("sinopac-server (demo mode: in-process simulated bank)");
        println!("  checkout page:  http://{addr}/");
        if uses_sqlite {
            println!("  data:           {}", data_dir.display());
        }
        if running.token_generated {
            // A throw-away token generated for this demo run only (never a configured secret).
            println!("  demo API token: {}", running.api_token.expose());
        }
        println!("  try: curl -H 'Authorization: Bearer <token>' http://{addr}/api/v1/orders");
    } else {
        println!("sinopac-server listening on http://{addr}");
    }
    tracing::info!(%addr, demo, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight work");
    running.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
