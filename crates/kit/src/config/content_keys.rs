//! The platform key that seals the content keys of encrypted videos at rest, shared by the
//! services that hold them (catalogue: makes and stores them; worker: packages with them).

use serde::Deserialize;

use super::{ensure, ConfigError, Secret};

/// The platform key of test configs (public, so only for tests).
pub const TEST_SECRET: &str = "ferrocast-test-content-key-secret-not-for-production";

/// Shortest platform key accepted: 256 bits of randomness written as text.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContentKeys {
    /// `FERROCAST_CONTENT_KEY_SECRET`: seals every video's content key (AES-256-GCM under a
    /// key derived from it). Without it the platform makes no encrypted videos. Changing it
    /// makes the stored keys unreadable: rotate by re-sealing, never by replacing.
    #[serde(rename = "content_key_secret", default)]
    pub secret: Option<Secret>,
}

impl ContentKeys {
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: Some(Secret::new(secret)),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match &self.secret {
            None => Ok(()),
            Some(secret) => ensure(
                secret.expose().len() >= MIN_SECRET_BYTES,
                format!("FERROCAST_CONTENT_KEY_SECRET must be at least {MIN_SECRET_BYTES} bytes"),
            ),
        }
    }
}
