//! Serving the router on a socket: [`Sim::spawn_loopback`] for tests, [`serve`] for binaries.

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::sim::Sim;

/// A sim being served on a socket (from [`Sim::spawn_loopback`]). Dropping it stops the
/// server (in-flight requests finish first).
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    ticker: Option<JoinHandle<()>>,
}

impl SimServer {
    /// `http://127.0.0.1:PORT/` — the bank base URL (ends in `/`; append `Nonce` / `Order`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

fn no_delay(tcp: &mut tokio::net::TcpStream) {
    // Request/response traffic: never wait for Nagle.
    let _ = tcp.set_nodelay(true);
}

impl Sim {
    /// Binds `127.0.0.1:0` and serves [`Sim::router`] in a tokio task. Unless a
    /// `public_base_url` was configured or set with [`Sim::set_public_base_url`], the hosted
    /// pages' URLs use this address (the latest one, if served several times). A sim with a
    /// `time_scale` also gets a ticker that runs due work every 100 ms.
    ///
    /// # Errors
    /// If the socket cannot be bound.
    pub async fn spawn_loopback(&self) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        self.set_base_if_unset(&format!("http://{addr}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            axum::serve(listener.tap_io(no_delay), router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        let ticker = self
            .config()
            .time_scale
            .map(|_| self.spawn_ticker(Duration::from_millis(100)));
        Ok(SimServer {
            addr,
            stop: Some(stop),
            task: Some(task),
            ticker,
        })
    }
}

/// Serves the sim on `listener` until the process ends (for the `sinopac sim serve` binary).
/// Sets the hosted pages' base URL from the listener's address if none was configured, and,
/// when the sim has a `time_scale`, runs due work every 100 ms of real time.
///
/// # Errors
/// If the listener fails.
pub async fn serve(sim: Sim, listener: TcpListener) -> std::io::Result<()> {
    serve_with_shutdown(sim, listener, std::future::pending()).await
}

/// Like [`serve`], stopping gracefully when `shutdown` completes.
///
/// # Errors
/// If the listener fails.
pub async fn serve_with_shutdown(
    sim: Sim,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    sim.set_base_if_unset(&format!("http://{addr}"));
    let ticker = sim
        .config()
        .time_scale
        .map(|_| sim.spawn_ticker(Duration::from_millis(100)));
    let result = axum::serve(listener.tap_io(no_delay), sim.router())
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(t) = ticker {
        t.abort();
    }
    result
}
