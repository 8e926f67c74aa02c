//! The object storage section (S3 API) shared by the services that keep media bytes: the
//! catalogue (uploads, downloads) and the workers (originals in, packaged streams out).

use serde::Deserialize;

use super::{ensure, ConfigError, Secret};

#[derive(Debug, Clone, Deserialize)]
pub struct Storage {
    /// `FERROCAST_S3_ENDPOINT`: where the service reaches the storage.
    #[serde(rename = "s3_endpoint", default = "defaults::endpoint")]
    pub endpoint: String,
    /// `FERROCAST_S3_PUBLIC_ENDPOINT`: where browsers reach it (presigned URLs name this
    /// host); the endpoint when unset.
    #[serde(rename = "s3_public_endpoint", default)]
    pub public_endpoint: Option<String>,
    /// `FERROCAST_S3_REGION`
    #[serde(rename = "s3_region", default = "defaults::region")]
    pub region: String,
    /// `FERROCAST_S3_BUCKET`
    #[serde(rename = "s3_bucket", default = "defaults::bucket")]
    pub bucket: String,
    /// `FERROCAST_S3_ACCESS_KEY`
    #[serde(rename = "s3_access_key", default)]
    pub access_key: Option<Secret>,
    /// `FERROCAST_S3_SECRET_KEY`
    #[serde(rename = "s3_secret_key", default)]
    pub secret_key: Option<Secret>,
}

mod defaults {
    pub fn endpoint() -> String {
        "http://127.0.0.1:8333".into()
    }
    pub fn region() -> String {
        "us-east-1".into()
    }
    pub fn bucket() -> String {
        "ferrocast-media".into()
    }
}

impl Storage {
    /// The endpoint browsers reach.
    pub fn public_endpoint(&self) -> &str {
        self.public_endpoint.as_deref().unwrap_or(&self.endpoint)
    }

    pub fn access_key(&self) -> &str {
        self.access_key.as_ref().map_or("", Secret::expose)
    }

    pub fn secret_key(&self) -> &str {
        self.secret_key.as_ref().map_or("", Secret::expose)
    }

    /// Credentials present, endpoints http(s), the bucket a bucket name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, key) in [
            ("FERROCAST_S3_ACCESS_KEY", self.access_key()),
            ("FERROCAST_S3_SECRET_KEY", self.secret_key()),
        ] {
            ensure(!key.is_empty(), format!("{name} is required"))?;
        }
        for (name, url) in [
            ("FERROCAST_S3_ENDPOINT", Some(&self.endpoint)),
            (
                "FERROCAST_S3_PUBLIC_ENDPOINT",
                self.public_endpoint.as_ref(),
            ),
        ] {
            if let Some(url) = url {
                ensure(
                    url.starts_with("http://") || url.starts_with("https://"),
                    format!("{name} must be an http:// or https:// URL"),
                )?;
            }
        }
        ensure(
            (3..=63).contains(&self.bucket.len())
                && self.bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                }),
            "FERROCAST_S3_BUCKET must be a bucket name (3-63 of a-z, 0-9, '-' and '.')",
        )
    }
}
