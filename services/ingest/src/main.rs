//! Binary entry point: wiring only.

use ferrocast_ingest::{start, Config};
use ferrocast_kit::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init("ingest");
    let config = Config::from_env()?;
    let running = start(config, shutdown::on_signals()).await?;
    running.wait().await;
    Ok(())
}
