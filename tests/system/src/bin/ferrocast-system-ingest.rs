//! The ingest as a separate process for the crash cases (L4): the same `start()` the real
//! binary runs, configured from `FERROCAST_*` variables, so a test can SIGKILL it — something
//! an in-process service cannot suffer (its connection tasks would outlive a dropped handle).
//! Built by cargo with the tests, so it always runs the ingest code under test. ffmpeg writes
//! every rendition (one ffmpeg per stream), so the crash cases can check none is orphaned.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferrocast_kit::telemetry::init("ingest");
    let mut config = ferrocast_ingest::Config::from_env()?;
    // Past broadcasts only where a case names their folder (the recordings cases): the others
    // run no catalogue to register them with.
    if std::env::var_os("FERROCAST_INGEST_RECORDING_DIR").is_none() {
        config.recording.dir = std::path::PathBuf::new();
    }
    config.media.hls_copy_muxer = ferrocast_ingest::adapters::media::CopyMuxer::Ffmpeg;
    let shutdown = ferrocast_kit::shutdown::on_signals();
    let running = ferrocast_ingest::start(config, shutdown).await?;
    running.wait().await;
    Ok(())
}
