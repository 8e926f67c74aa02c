//! The `ferrocast-worker` binary: configuration, telemetry, signals — everything else is in the
//! library so tests can start the same worker in-process.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferrocast_kit::telemetry::init("worker");
    let config = ferrocast_worker::Config::from_env().context("loading configuration")?;
    let shutdown = ferrocast_kit::shutdown::on_signals();
    let running = ferrocast_worker::start(config, shutdown)
        .await
        .context("starting the worker")?;
    running.wait().await;
    Ok(())
}
