//! The worker's configuration, read from `FERROCAST_*` variables (docs/api.md), checked once at
//! start.

use std::{path::PathBuf, time::Duration};

pub use ferrocast_kit::config::{content_keys::ContentKeys, nats::Nats, storage::Storage};
use ferrocast_kit::{
    config::{clients::Clients, duration, ensure, Common, ConfigError},
    jobs::Delivery,
};
use ferrocast_media::ladder::{parse_ladder, RungSpec};
use serde::Deserialize;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    pub listen: Listen,
    pub clients: Clients,
    pub storage: Storage,
    pub nats: Nats,
    pub queue: Queue,
    pub work: Work,
    pub content_keys: ContentKeys,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    /// `FERROCAST_WORKER_HTTP_ADDR`: health and metrics (internal).
    #[serde(rename = "worker_http_addr", default = "defaults::http_addr")]
    pub http_addr: String,
}

/// How jobs are delivered.
#[derive(Debug, Clone, Deserialize)]
pub struct Queue {
    /// `FERROCAST_WORKER_ATTEMPTS`: tries at a job before it is dead-lettered.
    #[serde(rename = "worker_attempts", default = "defaults::attempts")]
    pub attempts: u32,
    /// `FERROCAST_WORKER_ACK_WAIT_SECONDS`: a job whose worker stopped reporting this long is
    /// given to another.
    #[serde(
        rename = "worker_ack_wait_seconds",
        default = "defaults::ack_wait",
        deserialize_with = "duration::seconds"
    )]
    pub ack_wait: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Work {
    /// `FERROCAST_WORKER_SCRATCH_DIR`: where a job's files live while it runs.
    #[serde(rename = "worker_scratch_dir", default = "defaults::scratch_dir")]
    pub scratch_dir: PathBuf,
    /// `FERROCAST_WORKER_MAX_SOURCE_BYTES`: a larger original is refused before download.
    #[serde(
        rename = "worker_max_source_bytes",
        default = "defaults::max_source_bytes"
    )]
    pub max_source_bytes: u64,
    /// `FERROCAST_WORKER_MAX_DURATION_SECONDS`: a longer video is refused from its probe,
    /// before a frame is decoded.
    #[serde(
        rename = "worker_max_duration_seconds",
        default = "defaults::max_duration",
        deserialize_with = "duration::seconds"
    )]
    pub max_duration: Duration,
    /// `FERROCAST_WORKER_JOBS`: jobs this worker runs at once.
    #[serde(rename = "worker_jobs", default = "defaults::jobs")]
    pub jobs: usize,
    /// `FERROCAST_WORKER_FFMPEG`
    #[serde(rename = "worker_ffmpeg", default = "defaults::ffmpeg")]
    pub ffmpeg: PathBuf,
    /// `FERROCAST_WORKER_FFPROBE`
    #[serde(rename = "worker_ffprobe", default = "defaults::ffprobe")]
    pub ffprobe: PathBuf,
    /// `FERROCAST_WORKER_PACKAGER`: Shaka Packager.
    #[serde(rename = "worker_packager", default = "defaults::packager")]
    pub packager: PathBuf,
    /// `FERROCAST_WORKER_LADDER`: `height:kbps,…`, as the live ladder is written.
    #[serde(rename = "worker_ladder", default = "defaults::ladder")]
    pub ladder: String,
    /// `FERROCAST_WORKER_X264_PRESET`
    #[serde(rename = "worker_x264_preset", default = "defaults::preset")]
    pub preset: String,
}

ferrocast_kit::config_sections!(Config for ferrocast_kit::config::known::Service::Worker => {
    common: Common,
    listen: Listen,
    clients: Clients,
    storage: Storage,
    nats: Nats,
    queue: Queue,
    work: Work,
    content_keys: ContentKeys,
});

mod defaults {
    use std::{path::PathBuf, time::Duration};

    use super::GIB;

    pub fn http_addr() -> String {
        "127.0.0.1:8085".into()
    }
    pub fn attempts() -> u32 {
        4
    }
    pub fn ack_wait() -> Duration {
        Duration::from_secs(30)
    }
    pub fn scratch_dir() -> PathBuf {
        std::env::temp_dir().join("ferrocast-worker")
    }
    pub fn max_source_bytes() -> u64 {
        4 * GIB
    }
    pub fn max_duration() -> Duration {
        ferrocast_media::vod::Limits::default().max_duration
    }
    pub fn jobs() -> usize {
        1
    }
    pub fn ffmpeg() -> PathBuf {
        "ffmpeg".into()
    }
    pub fn ffprobe() -> PathBuf {
        "ffprobe".into()
    }
    pub fn packager() -> PathBuf {
        "packager".into()
    }
    pub fn ladder() -> String {
        ferrocast_media::ladder::DEFAULT_LADDER.into()
    }
    pub fn preset() -> String {
        "veryfast".into()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let config: Self = ferrocast_kit::config::from_env()?;
        config.validate()?;
        Ok(config)
    }

    /// A config for tests: port 0, the given NATS and storage, a scratch folder of the test's,
    /// a small ladder, the fastest x264 preset and a short ack wait.
    pub fn for_tests(
        nats_url: impl Into<String>,
        storage: Storage,
        scratch_dir: PathBuf,
        service_token: impl Into<String>,
    ) -> Self {
        Self {
            common: Common::for_tests(service_token),
            listen: Listen {
                http_addr: "127.0.0.1:0".into(),
            },
            clients: Clients::default(),
            storage,
            nats: Nats::new(nats_url),
            queue: Queue {
                attempts: defaults::attempts(),
                ack_wait: Duration::from_secs(5),
            },
            work: Work {
                scratch_dir,
                max_source_bytes: 256 * MIB,
                max_duration: defaults::max_duration(),
                jobs: 1,
                ffmpeg: defaults::ffmpeg(),
                ffprobe: defaults::ffprobe(),
                packager: defaults::packager(),
                ladder: "360:800,240:400".into(),
                preset: "ultrafast".into(),
            },
            content_keys: ContentKeys::new(ferrocast_kit::config::content_keys::TEST_SECRET),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.common.service_token()?;
        self.clients.validate()?;
        self.storage.validate()?;
        self.nats.validate()?;
        self.content_keys.validate()?;
        ensure(
            (1..=20).contains(&self.queue.attempts),
            "FERROCAST_WORKER_ATTEMPTS must be between 1 and 20",
        )?;
        ensure(
            self.queue.ack_wait >= Duration::from_secs(3),
            "FERROCAST_WORKER_ACK_WAIT_SECONDS must be at least 3s (heartbeats go at a third of it)",
        )?;
        ensure(
            (1..=16).contains(&self.work.jobs),
            "FERROCAST_WORKER_JOBS must be between 1 and 16",
        )?;
        ensure(
            self.work.max_source_bytes > 0,
            "FERROCAST_WORKER_MAX_SOURCE_BYTES must be above 0",
        )?;
        ensure(
            (Duration::from_secs(1)..=Duration::from_secs(24 * 3600))
                .contains(&self.work.max_duration),
            "FERROCAST_WORKER_MAX_DURATION_SECONDS must be between 1 and 86400",
        )?;
        self.rungs()?;
        Ok(())
    }

    pub fn rungs(&self) -> Result<Vec<RungSpec>, ConfigError> {
        parse_ladder(&self.work.ladder)
            .map_err(|e| ConfigError(format!("FERROCAST_WORKER_LADDER: {e}")))
    }

    pub fn delivery(&self) -> Delivery {
        Delivery {
            ack_wait: self.queue.ack_wait,
            attempts: self.queue.attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_a_known_variable() {
        Config::check_known_variables().expect("known");
    }

    #[test]
    fn defaults_need_only_storage_credentials() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_S3_ACCESS_KEY", "a"),
            ("FERROCAST_S3_SECRET_KEY", "b"),
        ])
        .expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.rungs().expect("ladder").len(), 4);
        let bad: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_S3_ACCESS_KEY", "a"),
            ("FERROCAST_S3_SECRET_KEY", "b"),
            ("FERROCAST_NATS_URL", "http://x"),
        ])
        .expect("parses");
        assert!(bad.validate().is_err());
    }
}
