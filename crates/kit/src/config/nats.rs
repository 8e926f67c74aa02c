//! The NATS server section shared by the services on the VOD job queue (catalogue, worker).

use serde::Deserialize;

use super::{ensure, ConfigError, Secret};

#[derive(Debug, Clone, Deserialize)]
pub struct Nats {
    /// `FERROCAST_NATS_URL` (may hold credentials: never printed).
    #[serde(rename = "nats_url", default = "default_url")]
    pub url: Secret,
    /// `FERROCAST_NATS_STREAM_REPLICAS`: copies of each stream a JetStream cluster keeps (3 on
    /// a 3-node cluster, so a node lost loses no job); streams are made with it when missing.
    #[serde(rename = "nats_stream_replicas", default = "default_replicas")]
    pub stream_replicas: usize,
}

fn default_replicas() -> usize {
    1
}

fn default_url() -> Secret {
    Secret::new("nats://127.0.0.1:4222")
}

impl Nats {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: Secret::new(url),
            stream_replicas: default_replicas(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose();
        ensure(
            url.starts_with("nats://") || url.starts_with("tls://"),
            "FERROCAST_NATS_URL must be a nats:// or tls:// URL",
        )?;
        ensure(
            (1..=5).contains(&self.stream_replicas),
            "FERROCAST_NATS_STREAM_REPLICAS must be between 1 and 5 (JetStream's most)",
        )
    }
}
