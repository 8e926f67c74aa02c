//! Binary entry point: wiring only.

use ferrocast_gateway::{start, Config};
use ferrocast_kit::{config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init("gateway");
    let config: Config = config::from_env()?;
    let running = start(config, shutdown::on_signals()).await?;
    running.wait().await;
    Ok(())
}
