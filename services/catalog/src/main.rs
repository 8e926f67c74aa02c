//! The `ferrocast-catalog` binary: configuration, telemetry, signals — everything else is in the
//! library so tests can start the same service in-process.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferrocast_kit::telemetry::init("catalog");
    let config = ferrocast_catalog::Config::from_env().context("loading configuration")?;
    let shutdown = ferrocast_kit::shutdown::on_signals();
    let running = ferrocast_catalog::start(config, shutdown)
        .await
        .context("starting the catalog service")?;
    running.wait().await;
    Ok(())
}
