//! Runs the simulated bank on an address, with the published example shop `NA0249_001`.
//!
//! ```sh
//! cargo run -p sinopac-sim --example serve -- [ADDR] [TIME_SCALE]
//! # e.g. 127.0.0.1:8080 60   → one real second is one simulated minute
//! ```
//!
//! Then point a client at `http://ADDR/` (append `Nonce` / `Order`) with X-KeyID
//! `b5e6986d-8636-4aa0-8c93-441ad14b2098`, and control the sim under `http://ADDR/_sim/`.
//! The `sinopac sim serve` command of the CLI is the full-featured way to do this.

use std::error::Error;

use sinopac_sim::{ShopConfig, Sim, SimConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let time_scale = args.next().map(|s| s.parse::<f64>()).transpose()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let sim = Sim::new(SimConfig {
        start_time_unix: i64::try_from(now)?,
        time_scale: Some(time_scale.unwrap_or(1.0)),
        ..SimConfig::default()
    });
    let shop = ShopConfig::sandbox_example().ok_or("example shop")?;
    println!(
        "sinopac-sim on http://{addr}/  shop {}  (control API: http://{addr}/_sim)",
        shop.shop_no
    );
    sim.add_shop(shop);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    sinopac_sim::serve(sim, listener).await?;
    Ok(())
}
