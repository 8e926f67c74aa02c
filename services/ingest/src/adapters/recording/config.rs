//! Past broadcasts' settings (`FERROCAST_INGEST_RECORDING_*`, and where the catalogue and rooms
//! answer), read with the ingest's other sections.

use std::{path::PathBuf, time::Duration};

use ferrocast_kit::config::{duration, ensure, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct RecordingConfig {
    /// `FERROCAST_INGEST_RECORDING_DIR`: recordings live in `{dir}/{recording id}/` until the
    /// catalogue confirmed their upload; empty: live streams are not recorded.
    #[serde(rename = "ingest_recording_dir", default = "defaults::dir")]
    pub dir: PathBuf,
    /// `FERROCAST_INGEST_RECORDING_MIN_SECONDS`: a shorter broadcast is not kept.
    #[serde(
        rename = "ingest_recording_min_seconds",
        default = "defaults::min_duration",
        deserialize_with = "duration::seconds"
    )]
    pub min_duration: Duration,
    /// `FERROCAST_INGEST_RECORDING_MAX_SECONDS`: the recording stops here (the stream goes on).
    #[serde(
        rename = "ingest_recording_max_seconds",
        default = "defaults::max_duration",
        deserialize_with = "duration::seconds"
    )]
    pub max_duration: Duration,
    /// `FERROCAST_INGEST_RECORDING_MAX_BYTES`: one recording's disk budget; past it the
    /// recording stops (the stream goes on).
    #[serde(rename = "ingest_recording_max_bytes", default = "defaults::max_bytes")]
    pub max_bytes: u64,
    /// `FERROCAST_INGEST_RECORDING_DISK_BUDGET_BYTES`: every recording of this ingest together,
    /// those waiting for their upload included; past it live recordings stop (the streams go
    /// on), so a long storage outage cannot fill the disk the live segments need.
    #[serde(
        rename = "ingest_recording_disk_budget_bytes",
        default = "defaults::disk_budget"
    )]
    pub disk_budget: u64,
    /// `FERROCAST_CATALOG_HTTP_URL`: where recordings are registered (internal routes).
    #[serde(default = "defaults::catalog_http_url")]
    pub catalog_http_url: String,
    /// `FERROCAST_ROOMS_HTTP_URL`: where the stream's title is read for the video's title.
    #[serde(default = "defaults::rooms_http_url")]
    pub rooms_http_url: String,
    /// Longest wait between two tries of an upload the catalogue or storage did not take. Not
    /// read from the environment: tests shorten it.
    #[serde(skip, default = "defaults::retry_cap")]
    pub retry_cap: Duration,
    /// How often leftover recordings (a crash, another node's) are looked for. Not read from the
    /// environment: tests shorten it.
    #[serde(skip, default = "defaults::sweep_interval")]
    pub sweep_interval: Duration,
}

impl RecordingConfig {
    pub fn enabled(&self) -> bool {
        !self.dir.as_os_str().is_empty()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled() {
            return Ok(());
        }
        ensure(
            self.min_duration < self.max_duration,
            "FERROCAST_INGEST_RECORDING_MIN_SECONDS must be below FERROCAST_INGEST_RECORDING_MAX_SECONDS",
        )?;
        ensure(
            self.max_bytes >= 64 * 1024,
            "FERROCAST_INGEST_RECORDING_MAX_BYTES must be at least 64 KiB",
        )?;
        ensure(
            self.disk_budget >= 64 * 1024,
            "FERROCAST_INGEST_RECORDING_DISK_BUDGET_BYTES must be at least 64 KiB",
        )?;
        for (url, name) in [
            (&self.catalog_http_url, "FERROCAST_CATALOG_HTTP_URL"),
            (&self.rooms_http_url, "FERROCAST_ROOMS_HTTP_URL"),
        ] {
            ensure(
                reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
                format!("{name} must be an http(s) URL"),
            )?;
        }
        Ok(())
    }
}

mod defaults {
    use std::{path::PathBuf, time::Duration};

    pub fn dir() -> PathBuf {
        PathBuf::from(".ferrocast/recordings")
    }
    pub fn min_duration() -> Duration {
        Duration::from_secs(10)
    }
    /// The workers' longest accepted video (`FERROCAST_WORKER_MAX_DURATION_SECONDS`).
    pub fn max_duration() -> Duration {
        Duration::from_secs(2 * 3600)
    }
    /// The catalogue's largest upload (`FERROCAST_CATALOG_MAX_UPLOAD_BYTES`).
    pub fn max_bytes() -> u64 {
        4 * 1024 * 1024 * 1024
    }
    /// A few recordings at their largest, well inside a 50 GiB volume.
    pub fn disk_budget() -> u64 {
        20 * 1024 * 1024 * 1024
    }
    pub fn catalog_http_url() -> String {
        "http://127.0.0.1:8084".into()
    }
    pub fn rooms_http_url() -> String {
        "http://127.0.0.1:8082".into()
    }
    pub fn retry_cap() -> Duration {
        Duration::from_secs(60)
    }
    pub fn sweep_interval() -> Duration {
        Duration::from_secs(30)
    }
}
