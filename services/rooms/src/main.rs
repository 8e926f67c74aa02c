//! The `ferrocast-rooms` binary: configuration, telemetry, signals — everything else is in the
//! library so tests can start the same service in-process.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferrocast_kit::telemetry::init("rooms");
    let config = ferrocast_rooms::Config::from_env().context("loading configuration")?;
    let shutdown = ferrocast_kit::shutdown::on_signals();
    let running = ferrocast_rooms::start(config, shutdown)
        .await
        .context("starting the rooms service")?;
    running.wait().await;
    Ok(())
}
