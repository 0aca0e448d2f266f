//! Putting it together: open the store, pick the bank (real or the in-process sim for demo
//! mode), start the workers and serve HTTP with graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sinopac_http::{Transport, TransportError, TransportRequest, TransportResponse, transport_fn};
use sinopac_proto::{Keys, ShopNo};
use sinopac_sim::{ShopConfig, Sim, SimConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{AppConfig, AppState, app};
use crate::bank::Bank;
use crate::http_bank::HttpBank;
use crate::inbox::{self, IDLE_POLL, InboxWriter};
use crate::metrics::Metrics;
use crate::outbox::{self, HttpNotifier};
use crate::pages::DemoInfo;
use crate::reconcile;
use crate::secrets::{ApiToken, MasterKey, SecretError, ShopCredentials};
use crate::store::{SqliteDurability, Store, StoreError};
use crate::worker::{Deps, WorkerSettings, now_ms, run_loop, run_loop_with_wake};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Store failure.
    #[error("store")]
    Store(#[from] StoreError),
    /// Secret handling failure.
    #[error("secret")]
    Secret(#[from] SecretError),
    /// I/O (listener, data dir).
    #[error("i/o")]
    Io(#[from] std::io::Error),
    /// Invalid configuration.
    #[error("configuration: {0}")]
    Config(String),
}

/// Where the bank is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankTarget {
    /// Demo mode: an in-process simulated bank.
    Demo,
    /// A real base URL (ending in `/`).
    Url(String),
}

/// The demo shop (the public sandbox keys from PROTOCOL.md §11; used only against the sim).
pub const DEMO_SHOP: &str = "NA0249_001";
const DEMO_KEYS: [&str; 4] = [
    "86D50DEF3EB7400E",
    "01FD27C09E5549E5",
    "9E004965F4244953",
    "7FB3385F414E4F91",
];
const DEMO_KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";

/// Everything needed to run the server. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct ServerConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// `postgres://…` or `sqlite:PATH`; `None` = `sqlite:<data_dir>/sinopac.db`.
    pub database_url: Option<String>,
    /// Data directory (SQLite file, demo master key).
    pub data_dir: PathBuf,
    /// Public base URL for BackendURL / ReturnURL; default `http://<addr>`.
    pub public_url: Option<String>,
    /// The bank.
    pub bank: BankTarget,
    /// `SINOPAC_MASTER_KEY` (required unless demo).
    pub master_key: Option<String>,
    /// `SINOPAC_API_TOKEN` (required unless demo).
    pub api_token: Option<String>,
    /// `SINOPAC_ADMIN_TOKEN` (default: the API token).
    pub admin_token: Option<String>,
    /// `SINOPAC_NOTIFY_URL`.
    pub notify_url: Option<String>,
    /// `SINOPAC_NOTIFY_SECRET` (required with a notify URL).
    pub notify_secret: Option<String>,
    /// A shop to upsert at startup (from `SINOPAC_SHOP_NO`, `SINOPAC_KEY_ID`, `SINOPAC_A1`…).
    pub initial_shop: Option<(ShopNo, ShopCredentials)>,
    /// Worker tunables.
    pub settings: WorkerSettings,
    /// Reconciler period.
    pub reconcile_interval: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// SQLite synchronous mode.
    pub sqlite_durability: SqliteDurability,
    /// Demo: ATM auto-pay delay of the sim.
    pub demo_atm_auto_pay: Duration,
    /// Run the background workers (tests may step them by hand).
    pub run_workers: bool,
    /// Retry policy of the bank client (default: sinopac-http's).
    pub bank_retry: Option<sinopac_http::RetryPolicy>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("ServerConfig")
            .field("addr", &self.addr)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|u| redact_url(u)),
            )
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("bank", &self.bank)
            .field("master_key", &redact(&self.master_key))
            .field("api_token", &redact(&self.api_token))
            .field("admin_token", &redact(&self.admin_token))
            .field("notify_url", &self.notify_url)
            .field("notify_secret", &redact(&self.notify_secret))
            .field("initial_shop", &self.initial_shop)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A database URL with any password replaced by `***`.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let userinfo = url.get(s + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..s + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("sinopac-data"),
            public_url: None,
            bank: BankTarget::Demo,
            master_key: None,
            api_token: None,
            admin_token: None,
            notify_url: None,
            notify_secret: None,
            initial_shop: None,
            settings: WorkerSettings::default(),
            reconcile_interval: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            sqlite_durability: SqliteDurability::Full,
            demo_atm_auto_pay: Duration::from_secs(20),
            run_workers: true,
            bank_retry: None,
        }
    }
}

/// A [`Transport`] that sends requests into an in-process axum router (no sockets).
#[must_use]
pub fn router_transport(router: Router) -> Arc<dyn Transport> {
    Arc::new(transport_fn(move |req: TransportRequest| {
        let router = router.clone();
        async move {
            use tower::ServiceExt as _;
            let path = format!("/{}", req.endpoint());
            let mut b = http::Request::builder().method("POST").uri(path);
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            let request = b
                .body(axum::body::Body::from(req.body))
                .map_err(TransportError::connect)?;
            let resp = router
                .oneshot(request)
                .await
                .map_err(TransportError::interrupted)?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
                .await
                .map_err(TransportError::interrupted)?;
            Ok(TransportResponse {
                status,
                content_type,
                body: body.to_vec(),
            })
        }
    }))
}

/// Opens the store and applies migrations.
///
/// # Errors
/// [`ServerError`] if the database cannot be opened or migrated.
pub async fn open_store(cfg: &ServerConfig) -> Result<Store, ServerError> {
    let store = match &cfg.database_url {
        Some(url) => Store::connect(url, cfg.sqlite_durability).await?,
        None => {
            std::fs::create_dir_all(&cfg.data_dir)?;
            Store::open_sqlite(&cfg.data_dir.join("sinopac.db"), cfg.sqlite_durability).await?
        }
    };
    store.migrate().await?;
    Ok(store)
}

/// The master key: from the config, or (demo mode only) generated once and kept in
/// `<data_dir>/master.key`.
///
/// # Errors
/// [`ServerError::Config`] if missing outside demo mode.
pub fn master_key(cfg: &ServerConfig) -> Result<MasterKey, ServerError> {
    if let Some(k) = &cfg.master_key {
        return Ok(MasterKey::parse(k)?);
    }
    if cfg.bank != BankTarget::Demo {
        return Err(ServerError::Config(
            "SINOPAC_MASTER_KEY is required (32 bytes as 64 hex characters or base64)".into(),
        ));
    }
    std::fs::create_dir_all(&cfg.data_dir)?;
    let path = cfg.data_dir.join("master.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(MasterKey::parse(&text)?);
    }
    let k = MasterKey::generate();
    write_private(&path, &k.expose_hex())?;
    Ok(k)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// A running server.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The application state.
    pub state: AppState,
    /// The demo sim, if any.
    pub sim: Option<Sim>,
    /// The API token (printed in demo mode when generated).
    pub api_token: ApiToken,
    /// `true` when the API token was generated.
    pub token_generated: bool,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<std::io::Result<()>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Graceful shutdown: stop accepting, finish in-flight requests and worker steps,
    /// commit the inbox, close the store.
    pub async fn shutdown(mut self) {
        self.state.set_ready(false);
        let _ = self.shutdown.send(true);
        let _ = (&mut self.server).await;
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        let store = self.state.deps().store.clone();
        drop(self.state);
        // Every handler has finished (graceful shutdown), so every acknowledged callback is
        // committed; the writer only waits for handles that outside code may still hold.
        if let Some(w) = self.writer.take() {
            let abort = w.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), w)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        store.close().await;
    }

    /// A handle that starts the shutdown when `true` is sent (the HTTP server and the workers
    /// stop; call [`Running::shutdown`] to wait for them).
    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Starts everything on `listener` (bind `127.0.0.1:0` in tests).
///
/// # Errors
/// [`ServerError`] on configuration, store or I/O failures.
pub async fn start(cfg: ServerConfig, listener: TcpListener) -> Result<Running, ServerError> {
    let addr = listener.local_addr()?;
    let public_url = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| {
            // 0.0.0.0 is not an address a browser or the bank can be sent to.
            let mut shown = addr;
            if shown.ip().is_unspecified() {
                shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{shown}")
        })
        .trim_end_matches('/')
        .to_owned();
    let store = open_store(&cfg).await?;
    let master = master_key(&cfg)?;
    let demo = cfg.bank == BankTarget::Demo;
    let (api_token, token_generated) = match &cfg.api_token {
        Some(t) if !t.trim().is_empty() => (ApiToken::new(t), false),
        _ if demo => (ApiToken::generate(), true),
        _ => {
            return Err(ServerError::Config(
                "SINOPAC_API_TOKEN is required outside demo mode".into(),
            ));
        }
    };
    let admin_token = cfg
        .admin_token
        .as_deref()
        .map_or_else(|| api_token.clone(), ApiToken::new);
    let metrics = Arc::new(Metrics::new());

    let mut sim = None;
    let (http_bank, default_shop) = match &cfg.bank {
        BankTarget::Demo => {
            let s = Sim::new(SimConfig {
                start_time_unix: now_ms() / 1000,
                time_scale: Some(1.0),
                atm_auto_pay_after: Some(cfg.demo_atm_auto_pay),
                public_base_url: format!("{public_url}/sim"),
                ..SimConfig::default()
            });
            let shop = ShopNo::new(DEMO_SHOP).map_err(|e| ServerError::Config(e.to_string()))?;
            let [a1, a2, b1, b2] = DEMO_KEYS;
            let keys = Keys::new(a1, a2, b1, b2).map_err(|e| ServerError::Config(e.to_string()))?;
            s.add_shop(ShopConfig::new(shop.clone(), keys, DEMO_KEY_ID));
            let creds = ShopCredentials::new(DEMO_KEY_ID, a1, a2, b1, b2)?;
            store
                .upsert_shop(shop.as_str(), &creds.seal(&master, &shop)?, now_ms())
                .await?;
            let bank = HttpBank::new(store.clone(), master.clone(), "http://sim.local/")
                .with_transport(router_transport(s.router()));
            sim = Some(s);
            (Arc::new(bank), Some(shop))
        }
        BankTarget::Url(url) => (
            Arc::new(match &cfg.bank_retry {
                Some(r) => HttpBank::new(store.clone(), master.clone(), url).with_retry_policy(*r),
                None => HttpBank::new(store.clone(), master.clone(), url),
            }),
            cfg.initial_shop.as_ref().map(|(s, _)| s.clone()),
        ),
    };
    if let Some((shop, creds)) = &cfg.initial_shop {
        store
            .upsert_shop(shop.as_str(), &creds.seal(&master, shop)?, now_ms())
            .await?;
        http_bank.invalidate(shop.as_str());
    }
    let notifier = match &cfg.notify_url {
        Some(url) => {
            let secret = cfg.notify_secret.clone().ok_or_else(|| {
                ServerError::Config(
                    "SINOPAC_NOTIFY_SECRET is required with SINOPAC_NOTIFY_URL".into(),
                )
            })?;
            Some((
                HttpNotifier::new(url).map_err(|e| ServerError::Config(e.to_string()))?,
                secret,
            ))
        }
        None => None,
    };
    let bank: Arc<dyn Bank> = http_bank.clone();
    let deps = Deps {
        store: store.clone(),
        bank,
        metrics,
        settings: cfg.settings.clone(),
        notify: notifier.is_some(),
    };
    let (writer, writer_task) = InboxWriter::spawn(store.clone());
    let wake = writer.wake_handle();
    let state = AppState::new(AppConfig {
        deps: deps.clone(),
        inbox: writer,
        api_token: api_token.clone(),
        admin_token,
        master,
        public_url,
        http_bank: Some(http_bank),
        default_shop: default_shop.clone(),
        demo: match (&sim, &default_shop) {
            (Some(_), Some(shop)) => Some(DemoInfo {
                shop_no: shop.clone(),
                atm_auto_pay_secs: cfg.demo_atm_auto_pay.as_secs(),
            }),
            _ => None,
        },
        request_timeout: cfg.request_timeout,
    });
    let mut router = app(state.clone());
    if let Some(s) = &sim {
        router = router.nest("/sim", s.router());
    }
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(s) = &sim {
        let ticker = s.spawn_ticker(Duration::from_millis(500));
        let mut rx2 = rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = rx2.wait_for(|v| *v).await;
            ticker.abort();
        }));
    }
    if cfg.run_workers {
        let d = deps.clone();
        tasks.push(tokio::spawn(run_loop_with_wake(
            "inbox",
            rx.clone(),
            Some(wake),
            move || {
                let d = d.clone();
                async move {
                    match inbox::try_once(&d, now_ms()).await {
                        Ok(r) if r.claimed > 0 => Duration::ZERO,
                        Ok(_) => IDLE_POLL,
                        Err(e) => {
                            tracing::error!(error = %e, "inbox worker");
                            Duration::from_secs(1)
                        }
                    }
                }
            },
        )));
        let d = deps.clone();
        let every = cfg.reconcile_interval;
        tasks.push(tokio::spawn(run_loop(
            "reconciler",
            rx.clone(),
            move || {
                let d = d.clone();
                async move {
                    match reconcile::try_once(&d, now_ms()).await {
                        Ok(r) => {
                            if r.examined > 0 {
                                tracing::info!(
                                    examined = r.examined,
                                    corrected = r.corrected,
                                    needs_review = r.needs_review,
                                    calls = r.query_calls,
                                    "reconcile cycle"
                                );
                            }
                            if r.examined
                                >= usize::try_from(d.settings.reconcile_batch).unwrap_or(usize::MAX)
                            {
                                Duration::ZERO
                            } else {
                                every
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "reconciler");
                            every
                        }
                    }
                }
            },
        )));
        if let Some((notifier, secret)) = notifier {
            let d = deps.clone();
            let notifier = Arc::new(notifier);
            let secret: Arc<[u8]> = Arc::from(secret.into_bytes());
            tasks.push(tokio::spawn(run_loop("outbox", rx.clone(), move || {
                let d = d.clone();
                let n = Arc::clone(&notifier);
                let secret = Arc::clone(&secret);
                async move {
                    match outbox::try_once(&d, n.as_ref(), &secret, now_ms()).await {
                        Ok(r) if r.attempted > 0 => Duration::ZERO,
                        Ok(_) => Duration::from_millis(500),
                        Err(e) => {
                            tracing::error!(error = %e, "outbox");
                            Duration::from_secs(1)
                        }
                    }
                }
            })));
        }
    }
    let mut rx_srv = rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx_srv.wait_for(|v| *v).await;
            })
            .await
    });
    Ok(Running {
        addr,
        state,
        sim,
        api_token,
        token_generated,
        shutdown: tx,
        tasks,
        server,
        writer: Some(writer_task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let cfg = ServerConfig {
            master_key: Some("00ff".repeat(16)),
            api_token: Some("api-secret".into()),
            database_url: Some("postgres://pay:hunter2@db/pay".into()),
            ..ServerConfig::default()
        };
        let d = format!("{cfg:?}");
        assert!(
            !d.contains("00ff00ff") && !d.contains("api-secret") && !d.contains("hunter2"),
            "{d}"
        );
        assert!(d.contains("postgres://pay:***@db/pay"));
        assert_eq!(redact_url("sqlite:/x.db"), "sqlite:/x.db");
    }
}
