//! The catalogue's configuration, read from `FERROCAST_*` variables (docs/api.md), checked once
//! at start.

use std::time::Duration;

use ferrocast_kit::config::{clients::Clients, duration, ensure, Common, ConfigError, Secret};
pub use ferrocast_kit::config::{content_keys::ContentKeys, nats::Nats, storage::Storage};
use serde::Deserialize;

use crate::domain::upload::{UploadLimits, MIN_PART_BYTES};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    pub listen: Listen,
    pub clients: Clients,
    pub store: Store,
    pub storage: Storage,
    pub users: Users,
    pub uploads: Uploads,
    pub search: Search,
    /// Where video processing jobs go and their reports come from.
    pub queue: Nats,
    pub content_keys: ContentKeys,
    pub playback: Playback,
}

/// Playback sessions: how many streams an account plays at once, decided in Redis.
#[derive(Debug, Clone, Deserialize)]
pub struct Playback {
    /// `FERROCAST_REDIS_URL`: where every replica keeps and decides sessions.
    #[serde(rename = "redis_url", default = "defaults::redis_url")]
    pub redis_url: String,
    /// `FERROCAST_PLAYBACK_KEY_PREFIX`: every key and channel starts with it.
    #[serde(rename = "playback_key_prefix", default = "defaults::playback_prefix")]
    pub key_prefix: String,
    /// `FERROCAST_PLAYBACK_STREAMS_PER_ACCOUNT`
    #[serde(
        rename = "playback_streams_per_account",
        default = "defaults::streams_per_account"
    )]
    pub limit: u32,
    /// `FERROCAST_PLAYBACK_LEASE_SECONDS`: a session without a heartbeat this long ends.
    #[serde(
        rename = "playback_lease_seconds",
        default = "defaults::lease",
        deserialize_with = "duration::seconds"
    )]
    pub lease: Duration,
    /// `FERROCAST_PLAYBACK_REQUESTS_PER_SECOND`: per account; more are refused (429).
    #[serde(
        rename = "playback_requests_per_second",
        default = "defaults::requests_per_second"
    )]
    pub per_second: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    /// `FERROCAST_CATALOG_HTTP_ADDR`
    #[serde(rename = "catalog_http_addr", default = "defaults::http_addr")]
    pub http_addr: String,
}

/// Where items, tags and search live.
#[derive(Debug, Clone, Deserialize)]
pub struct Store {
    /// `FERROCAST_POSTGRES_URL` (may hold a password: never printed).
    #[serde(rename = "postgres_url", default = "defaults::postgres_url")]
    pub url: Secret,
}

/// The users service, which vouches for tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct Users {
    /// `FERROCAST_USERS_GRPC_URL`
    #[serde(rename = "users_grpc_url", default = "defaults::users_grpc_url")]
    pub grpc_url: String,
}

/// What may be uploaded, how, and for how long a half-done upload is kept.
#[derive(Debug, Clone, Deserialize)]
pub struct Uploads {
    /// `FERROCAST_CATALOG_UPLOAD_ORIGINS`: comma-separated web origins allowed to upload from a
    /// browser (the bucket's CORS rule).
    #[serde(
        rename = "catalog_upload_origins",
        default = "defaults::upload_origins"
    )]
    pub origins: String,
    /// `FERROCAST_CATALOG_MAX_UPLOAD_BYTES`
    #[serde(rename = "catalog_max_upload_bytes", default = "defaults::max_upload")]
    pub max_size: u64,
    /// `FERROCAST_CATALOG_QUOTA_BYTES`: all of one user's files together.
    #[serde(rename = "catalog_quota_bytes", default = "defaults::quota")]
    pub quota: u64,
    /// `FERROCAST_CATALOG_MULTIPART_THRESHOLD_BYTES`: larger files go up in parts.
    #[serde(
        rename = "catalog_multipart_threshold_bytes",
        default = "defaults::multipart_threshold"
    )]
    pub multipart_threshold: u64,
    /// `FERROCAST_CATALOG_PART_BYTES`
    #[serde(rename = "catalog_part_bytes", default = "defaults::part_size")]
    pub part_size: u64,
    /// `FERROCAST_CATALOG_UPLOAD_URL_TTL_SECONDS`: life of a presigned URL.
    #[serde(
        rename = "catalog_upload_url_ttl_seconds",
        default = "defaults::url_ttl",
        deserialize_with = "duration::seconds"
    )]
    pub url_ttl: Duration,
    /// `FERROCAST_CATALOG_UPLOAD_EXPIRY_SECONDS`: an upload not finalized this long after it
    /// was created is removed.
    #[serde(
        rename = "catalog_upload_expiry_seconds",
        default = "defaults::upload_expiry",
        deserialize_with = "duration::seconds"
    )]
    pub expiry: Duration,
    /// `FERROCAST_CATALOG_SWEEP_INTERVAL_SECONDS`
    #[serde(
        rename = "catalog_sweep_interval_seconds",
        default = "defaults::sweep_interval",
        deserialize_with = "duration::seconds"
    )]
    pub sweep_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Search {
    /// `FERROCAST_CATALOG_SEARCH_CONCURRENCY`: searches running at once per replica.
    #[serde(
        rename = "catalog_search_concurrency",
        default = "defaults::search_concurrency"
    )]
    pub concurrency: usize,
}

ferrocast_kit::config_sections!(Config for ferrocast_kit::config::known::Service::Catalog => {
    common: Common,
    listen: Listen,
    clients: Clients,
    store: Store,
    storage: Storage,
    users: Users,
    uploads: Uploads,
    search: Search,
    queue: Nats,
    content_keys: ContentKeys,
    playback: Playback,
});

mod defaults {
    use std::time::Duration;

    use ferrocast_kit::config::Secret;

    use super::{GIB, MIB};

    pub fn http_addr() -> String {
        "127.0.0.1:8084".into()
    }
    pub fn postgres_url() -> Secret {
        Secret::new("postgres://postgres@127.0.0.1:5432/ferrocast")
    }
    pub fn users_grpc_url() -> String {
        "http://127.0.0.1:50051".into()
    }
    pub fn upload_origins() -> String {
        "http://127.0.0.1:8080,http://localhost:8080".into()
    }
    pub fn max_upload() -> u64 {
        4 * GIB
    }
    pub fn quota() -> u64 {
        20 * GIB
    }
    pub fn multipart_threshold() -> u64 {
        64 * MIB
    }
    pub fn part_size() -> u64 {
        16 * MIB
    }
    pub fn url_ttl() -> Duration {
        Duration::from_secs(15 * 60)
    }
    pub fn upload_expiry() -> Duration {
        Duration::from_secs(24 * 3600)
    }
    pub fn sweep_interval() -> Duration {
        Duration::from_secs(60)
    }
    pub fn search_concurrency() -> usize {
        8
    }
    pub fn redis_url() -> String {
        "redis://127.0.0.1:6379".into()
    }
    pub fn playback_prefix() -> String {
        "ferrocast:playback:".into()
    }
    pub fn streams_per_account() -> u32 {
        3
    }
    pub fn lease() -> Duration {
        Duration::from_secs(30)
    }
    pub fn requests_per_second() -> u32 {
        10
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let config: Self = ferrocast_kit::config::from_env()?;
        config.validate()?;
        Ok(config)
    }

    /// A config for tests: port 0, the given PostgreSQL, storage and users service, small
    /// limits a test can reach (1 MiB multipart threshold, 5 MiB parts, 64 MiB files).
    pub fn for_tests(
        postgres_url: impl Into<String>,
        storage: Storage,
        users_grpc_url: impl Into<String>,
        nats_url: impl Into<String>,
        service_token: impl Into<String>,
    ) -> Self {
        Self {
            common: Common::for_tests(service_token),
            listen: Listen {
                http_addr: "127.0.0.1:0".into(),
            },
            clients: Clients::default(),
            store: Store {
                url: Secret::new(postgres_url),
            },
            storage,
            users: Users {
                grpc_url: users_grpc_url.into(),
            },
            uploads: Uploads {
                origins: defaults::upload_origins(),
                max_size: 64 * MIB,
                quota: 256 * MIB,
                multipart_threshold: MIB,
                part_size: MIN_PART_BYTES,
                url_ttl: defaults::url_ttl(),
                expiry: defaults::upload_expiry(),
                sweep_interval: defaults::sweep_interval(),
            },
            search: Search {
                concurrency: defaults::search_concurrency(),
            },
            queue: Nats::new(nats_url),
            content_keys: ContentKeys::new(ferrocast_kit::config::content_keys::TEST_SECRET),
            playback: Playback {
                redis_url: defaults::redis_url(),
                key_prefix: format!("ferrocast-test:{}:", uuid::Uuid::new_v4().simple()),
                limit: defaults::streams_per_account(),
                lease: defaults::lease(),
                per_second: defaults::requests_per_second(),
            },
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.common.service_token()?;
        self.clients.validate()?;
        self.storage.validate()?;
        self.queue.validate()?;
        self.content_keys.validate()?;
        ensure(
            self.playback.redis_url.starts_with("redis://")
                || self.playback.redis_url.starts_with("rediss://"),
            "FERROCAST_REDIS_URL must be a redis:// or rediss:// URL",
        )?;
        ensure(
            (1..=100).contains(&self.playback.limit),
            "FERROCAST_PLAYBACK_STREAMS_PER_ACCOUNT must be between 1 and 100",
        )?;
        ensure(
            (Duration::from_secs(2)..=Duration::from_secs(600)).contains(&self.playback.lease),
            "FERROCAST_PLAYBACK_LEASE_SECONDS must be between 2 and 600",
        )?;
        ensure(
            (1..=1000).contains(&self.playback.per_second),
            "FERROCAST_PLAYBACK_REQUESTS_PER_SECOND must be between 1 and 1000",
        )?;
        ensure(
            self.store.url.expose().starts_with("postgres://")
                || self.store.url.expose().starts_with("postgresql://"),
            "FERROCAST_POSTGRES_URL must be a postgres:// URL",
        )?;
        let uploads = &self.uploads;
        ensure(
            uploads.max_size > 0 && uploads.quota >= uploads.max_size,
            "FERROCAST_CATALOG_QUOTA_BYTES must be at least FERROCAST_CATALOG_MAX_UPLOAD_BYTES",
        )?;
        ensure(
            uploads.part_size >= MIN_PART_BYTES,
            format!("FERROCAST_CATALOG_PART_BYTES must be at least {MIN_PART_BYTES} (S3's smallest part)"),
        )?;
        ensure(
            (Duration::from_secs(1)..=Duration::from_secs(7 * 24 * 3600))
                .contains(&uploads.url_ttl),
            "FERROCAST_CATALOG_UPLOAD_URL_TTL_SECONDS must be between 1s and 7 days (S3's longest)",
        )?;
        ensure(
            uploads.expiry >= uploads.url_ttl,
            "FERROCAST_CATALOG_UPLOAD_EXPIRY_SECONDS must be at least the URL lifetime",
        )?;
        ensure(
            uploads.sweep_interval >= Duration::from_secs(1),
            "FERROCAST_CATALOG_SWEEP_INTERVAL_SECONDS must be at least 1s",
        )?;
        ensure(
            (1..=crate::adapters::postgres::POOL_SIZE as usize / 2).contains(&self.search.concurrency),
            format!(
                "FERROCAST_CATALOG_SEARCH_CONCURRENCY must be between 1 and {} (half the database connections)",
                crate::adapters::postgres::POOL_SIZE / 2
            ),
        )?;
        for origin in self.upload_origins() {
            ensure(
                origin.starts_with("http://") || origin.starts_with("https://"),
                format!("FERROCAST_CATALOG_UPLOAD_ORIGINS: {origin:?} is not an http(s) origin"),
            )?;
        }
        Ok(())
    }

    pub fn service_token(&self) -> &str {
        self.common
            .service_token
            .as_ref()
            .map_or(ferrocast_kit::config::DEV_SERVICE_TOKEN, Secret::expose)
    }

    pub fn upload_origins(&self) -> Vec<String> {
        self.uploads
            .origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect()
    }

    pub fn upload_limits(&self) -> UploadLimits {
        UploadLimits {
            max_size: self.uploads.max_size,
            multipart_threshold: self.uploads.multipart_threshold,
            part_size: self.uploads.part_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [(&str, &str); 3] = [
        ("FERROCAST_DEV_MODE", "true"),
        ("FERROCAST_S3_ACCESS_KEY", "access"),
        ("FERROCAST_S3_SECRET_KEY", "secret-value-123"),
    ];

    #[test]
    fn every_setting_is_a_known_variable_of_catalog() {
        Config::check_known_variables()
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
    }

    #[test]
    fn defaults_need_storage_keys_and_never_print_secrets() {
        let config: Config =
            ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true")]).expect("parses");
        let error = config.validate().expect_err("no keys");
        assert!(
            error.to_string().contains("FERROCAST_S3_ACCESS_KEY"),
            "{error}"
        );
        let config: Config = ferrocast_kit::config::from_pairs(&KEYS).expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.listen.http_addr, "127.0.0.1:8084");
        assert_eq!(config.uploads.expiry, Duration::from_secs(86_400));
        assert_eq!(
            config.upload_origins(),
            ["http://127.0.0.1:8080", "http://localhost:8080"]
        );
        assert!(!format!("{config:?}").contains("secret-value-123"));
    }

    #[test]
    fn bad_limits_name_their_variable() {
        for (name, value) in [
            ("FERROCAST_CATALOG_PART_BYTES", "1024"),
            ("FERROCAST_CATALOG_QUOTA_BYTES", "10"),
            ("FERROCAST_CATALOG_UPLOAD_URL_TTL_SECONDS", "200h"),
            ("FERROCAST_CATALOG_SEARCH_CONCURRENCY", "0"),
            ("FERROCAST_CATALOG_UPLOAD_ORIGINS", "ftp://x"),
            ("FERROCAST_S3_BUCKET", "Bad_Bucket"),
            ("FERROCAST_POSTGRES_URL", "mysql://x"),
        ] {
            let mut pairs = KEYS.to_vec();
            pairs.push((name, value));
            let config: Config = ferrocast_kit::config::from_pairs(&pairs).expect("parses");
            let error = config.validate().expect_err(name);
            assert!(error.to_string().contains(name), "{name}: {error}");
        }
    }
}
