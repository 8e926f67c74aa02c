//! Binary entry point: wiring only (config → telemetry → start → wait for a signal).

use ferrocast_kit::{config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init("users");
    let config: ferrocast_users::Config = config::from_env()?;
    let running = ferrocast_users::start(config, shutdown::on_signals()).await?;
    running.wait().await;
    tracing::info!("users service stopped");
    Ok(())
}
