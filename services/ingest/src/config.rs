//! The ingest's configuration, read from `FERROCAST_*` variables (names in docs/api.md), checked
//! once at start. RTMP limits have safe defaults; tests shorten the timeouts.

use std::time::Duration;

use ferrocast_kit::{
    client::TrustedProxies,
    config::{duration, ensure, ConfigError, Secret},
    http::ServerLimits,
};
use serde::Deserialize;

use crate::{
    media::MediaConfig,
    rtmp::{connection::ConnectionSettings, guard::GuardLimits},
};

/// The token dev mode uses when none is set (one definition for every service).
pub use ferrocast_kit::config::DEV_SERVICE_TOKEN;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub dev_mode: bool,
    /// Presented to users (gRPC metadata) and rooms (callback header).
    #[serde(default)]
    pub service_token: Option<Secret>,
    #[serde(default = "defaults::users_grpc_url")]
    pub users_grpc_url: String,
    #[serde(default = "defaults::rtmp_addr")]
    pub ingest_rtmp_addr: String,
    #[serde(default = "defaults::http_addr")]
    pub ingest_http_addr: String,
    /// This node's HLS origin base URL, sent to rooms so the gateway can route viewers here.
    #[serde(default = "defaults::origin_url")]
    pub ingest_origin_url: String,
    #[serde(default = "defaults::callback_url")]
    pub rooms_callback_url: String,

    /// The only RTMP application that may publish.
    #[serde(default = "defaults::app")]
    pub ingest_rtmp_app: String,
    #[serde(
        default = "defaults::handshake_timeout_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_handshake_timeout_ms: u64,
    /// From the handshake's end until the publish is authorised (connect, publish, users).
    #[serde(
        default = "defaults::auth_timeout_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_auth_timeout_ms: u64,
    /// Longest time without audio or video while publishing.
    #[serde(
        default = "defaults::idle_timeout_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_idle_timeout_ms: u64,
    #[serde(
        default = "defaults::write_timeout_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_write_timeout_ms: u64,
    #[serde(default = "defaults::max_connections")]
    pub ingest_max_connections: usize,
    #[serde(default = "defaults::max_connections_per_ip")]
    pub ingest_max_connections_per_ip: usize,
    /// Largest non-media RTMP message (nginx-rtmp's `max_message`).
    #[serde(default = "defaults::max_message_bytes")]
    pub ingest_max_message_bytes: u32,
    #[serde(default = "defaults::max_media_message_bytes")]
    pub ingest_max_media_message_bytes: u32,
    /// Largest message of any type before the publish is authorised.
    #[serde(default = "defaults::max_unauthenticated_message_bytes")]
    pub ingest_max_unauthenticated_message_bytes: u32,
    #[serde(default = "defaults::max_chunk_size")]
    pub ingest_max_chunk_size: u32,
    #[serde(default = "defaults::max_amf_depth")]
    pub ingest_max_amf_depth: usize,
    /// Period of the `call=update` lease renewal.
    #[serde(
        default = "defaults::update_interval_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_update_interval_ms: u64,
    #[serde(
        default = "defaults::callback_timeout_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_callback_timeout_ms: u64,
    #[serde(
        default = "defaults::pipeline_start_timeout_ms",
        deserialize_with = "duration::whole_millis"
    )]
    pub ingest_pipeline_start_timeout_ms: u64,
    /// Memory for the HLS live window the origin answers from (all streams together).
    #[serde(default = "defaults::hls_cache_mb")]
    pub ingest_hls_cache_mb: u64,
    /// Send cached segments with `sendfile(2)` (like nginx's `sendfile on`); off copies them
    /// from memory. Not read from the environment: a file system without sendfile falls back
    /// to the copy by itself (`hls::sendfile`), so only measurements turn it off.
    #[serde(skip, default = "defaults::hls_sendfile")]
    pub ingest_hls_sendfile: bool,
    /// Threads serving HTTP (the HLS origin), each with its own runtime and listening socket on
    /// the port (`SO_REUSEPORT`); 0 = one per core. Not read from the environment: one per core
    /// is what the origin needs; tests and measurements may pin it.
    #[serde(skip)]
    pub ingest_http_shards: usize,
    /// `FERROCAST_TRUSTED_PROXIES`: proxies (addresses or CIDR networks) in front of the HLS
    /// origin, default the local gateway (`127.0.0.1,::1`); their connections skip the
    /// per-address HTTP connection cap, since one proxy speaks for many viewers.
    #[serde(default = "ferrocast_kit::client::TrustedProxies::loopback")]
    pub trusted_proxies: TrustedProxies,
    /// `FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS`: open HTTP connections one client address
    /// may hold (trusted proxies excepted). RTMP has its own cap.
    #[serde(default = "ferrocast_kit::http::default_max_connections_per_address")]
    pub http_max_connections_per_address: usize,

    /// The media side's settings (`FERROCAST_HLS_*`, `FERROCAST_FFMPEG_*`).
    #[serde(flatten)]
    pub media: MediaConfig,
}

mod defaults {
    pub fn users_grpc_url() -> String {
        "http://127.0.0.1:50051".into()
    }
    pub fn rtmp_addr() -> String {
        "0.0.0.0:1935".into()
    }
    pub fn http_addr() -> String {
        "127.0.0.1:8083".into()
    }
    pub fn origin_url() -> String {
        "http://127.0.0.1:8083".into()
    }
    pub fn callback_url() -> String {
        "http://127.0.0.1:8082/callbacks/rtmp".into()
    }
    pub fn app() -> String {
        "live".into()
    }
    pub fn handshake_timeout_ms() -> u64 {
        5_000
    }
    pub fn auth_timeout_ms() -> u64 {
        10_000
    }
    pub fn idle_timeout_ms() -> u64 {
        10_000
    }
    pub fn write_timeout_ms() -> u64 {
        5_000
    }
    pub fn max_connections() -> usize {
        1_000
    }
    pub fn max_connections_per_ip() -> usize {
        16
    }
    pub fn max_message_bytes() -> u32 {
        1024 * 1024
    }
    pub fn max_media_message_bytes() -> u32 {
        8 * 1024 * 1024
    }
    pub fn max_unauthenticated_message_bytes() -> u32 {
        64 * 1024
    }
    pub fn max_chunk_size() -> u32 {
        65_536
    }
    pub fn max_amf_depth() -> usize {
        16
    }
    pub fn update_interval_ms() -> u64 {
        5_000
    }
    pub fn callback_timeout_ms() -> u64 {
        3_000
    }
    pub fn pipeline_start_timeout_ms() -> u64 {
        10_000
    }
    /// ≈ 6 segments of every rendition of 40 ABR streams at 1 s, or 100 passthrough streams.
    pub fn hls_cache_mb() -> u64 {
        256
    }
    pub fn hls_sendfile() -> bool {
        true
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let config: Self = ferrocast_kit::config::from_env()?;
        config.validate()?;
        Ok(config)
    }

    /// Defaults everywhere (as if no variable were set).
    pub fn defaults() -> Result<Self, ConfigError> {
        ferrocast_kit::config::from_iter(std::iter::empty())
    }

    /// A config for tests: port 0 on loopback, the given users and rooms, short timeouts.
    pub fn for_tests(
        users_grpc_url: impl Into<String>,
        rooms_callback_url: impl Into<String>,
        service_token: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = Self::defaults()?;
        config.service_token = Some(Secret::new(service_token));
        config.users_grpc_url = users_grpc_url.into();
        config.rooms_callback_url = rooms_callback_url.into();
        config.ingest_rtmp_addr = "127.0.0.1:0".into();
        config.ingest_http_addr = "127.0.0.1:0".into();
        config.ingest_handshake_timeout_ms = 1_000;
        config.ingest_auth_timeout_ms = 3_000;
        config.ingest_idle_timeout_ms = 2_000;
        config.ingest_write_timeout_ms = 2_000;
        config.ingest_update_interval_ms = 500;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        ferrocast_kit::config::service_token(
            self.dev_mode,
            self.service_token.as_ref(),
            DEV_SERVICE_TOKEN,
        )?;
        for (value, name) in [
            (
                self.ingest_handshake_timeout_ms,
                "FERROCAST_INGEST_HANDSHAKE_TIMEOUT_MS",
            ),
            (
                self.ingest_auth_timeout_ms,
                "FERROCAST_INGEST_AUTH_TIMEOUT_MS",
            ),
            (
                self.ingest_idle_timeout_ms,
                "FERROCAST_INGEST_IDLE_TIMEOUT_MS",
            ),
            (
                self.ingest_write_timeout_ms,
                "FERROCAST_INGEST_WRITE_TIMEOUT_MS",
            ),
            (
                self.ingest_update_interval_ms,
                "FERROCAST_INGEST_UPDATE_INTERVAL_MS",
            ),
            (
                self.ingest_callback_timeout_ms,
                "FERROCAST_INGEST_CALLBACK_TIMEOUT_MS",
            ),
        ] {
            ensure(value > 0, format!("{name} must be positive"))?;
        }
        ensure(
            self.ingest_max_connections > 0 && self.ingest_max_connections_per_ip > 0,
            "FERROCAST_INGEST_MAX_CONNECTIONS and _PER_IP must be positive",
        )?;
        ensure(
            self.http_max_connections_per_address > 0,
            "FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS must be positive",
        )?;
        ensure(
            (128..=16 * 1024 * 1024).contains(&self.ingest_max_chunk_size),
            "FERROCAST_INGEST_MAX_CHUNK_SIZE must be within 128..=16777216",
        )?;
        ensure(
            (1..=256).contains(&self.ingest_max_amf_depth),
            "FERROCAST_INGEST_MAX_AMF_DEPTH must be within 1..=256",
        )?;
        ensure(
            self.ingest_max_message_bytes >= 4096
                && self.ingest_max_media_message_bytes >= 4096
                && self.ingest_max_unauthenticated_message_bytes >= 4096,
            "FERROCAST_INGEST_MAX_*MESSAGE_BYTES must be at least 4096",
        )?;
        Ok(())
    }

    pub fn service_token(&self) -> String {
        self.service_token
            .as_ref()
            .map(Secret::expose)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEV_SERVICE_TOKEN)
            .to_owned()
    }

    pub fn connection_settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            app: self.ingest_rtmp_app.clone(),
            handshake_timeout: Duration::from_millis(self.ingest_handshake_timeout_ms),
            auth_timeout: Duration::from_millis(self.ingest_auth_timeout_ms),
            idle_timeout: Duration::from_millis(self.ingest_idle_timeout_ms),
            write_timeout: Duration::from_millis(self.ingest_write_timeout_ms),
            guard: GuardLimits {
                max_chunk_size: self.ingest_max_chunk_size,
                max_message_bytes: self.ingest_max_message_bytes,
                max_media_message_bytes: self.ingest_max_media_message_bytes,
                max_unauthenticated_message_bytes: self.ingest_max_unauthenticated_message_bytes,
                max_amf_depth: self.ingest_max_amf_depth,
                ..GuardLimits::default()
            },
        }
    }

    /// The limits of the HTTP listener (health, metrics, the HLS origin).
    pub fn http_limits(&self) -> ServerLimits {
        ServerLimits {
            max_connections_per_address: self.http_max_connections_per_address,
            trusted_proxies: self.trusted_proxies.clone(),
            ..ServerLimits::default()
        }
    }

    pub fn update_interval(&self) -> Duration {
        Duration::from_millis(self.ingest_update_interval_ms)
    }

    pub fn callback_timeout(&self) -> Duration {
        Duration::from_millis(self.ingest_callback_timeout_ms)
    }

    pub fn pipeline_start_timeout(&self) -> Duration {
        Duration::from_millis(self.ingest_pipeline_start_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_known_variable_of_ingest() {
        use ferrocast_kit::config::known::{check_fields, check_names, Service};
        // The list the start checks names against, which docs/api.md's table is tested against.
        // The media settings are a plain struct serde can list; `Config` flattens them in, so its
        // own fields are read off its `Debug` form (none of them is renamed).
        check_fields::<MediaConfig>(Service::Ingest)
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
        let printed = format!("{:#?}", Config::defaults().expect("defaults"));
        let fields: Vec<&str> = printed
            .lines()
            .filter_map(|line| line.strip_prefix("    "))
            .filter(|line| !line.starts_with(' '))
            .filter_map(|line| line.split_once(':').map(|(field, _)| field))
            // The media settings, and the switches kept for tests and measurements only.
            .filter(|field| !["media", "ingest_hls_sendfile", "ingest_http_shards"].contains(field))
            .collect();
        assert!(fields.len() > 20, "{fields:?}");
        check_names(Service::Ingest, fields)
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
    }

    #[test]
    fn defaults_follow_the_api_document() {
        let config: Config =
            ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true")]).expect("ok");
        config.validate().expect("dev mode needs no token");
        assert_eq!(config.ingest_rtmp_addr, "0.0.0.0:1935");
        assert_eq!(config.ingest_http_addr, "127.0.0.1:8083");
        assert_eq!(
            config.rooms_callback_url,
            "http://127.0.0.1:8082/callbacks/rtmp"
        );
        assert_eq!(config.service_token(), DEV_SERVICE_TOKEN);
        assert_eq!(
            config.connection_settings().guard.max_message_bytes,
            1024 * 1024
        );
    }

    #[test]
    fn token_is_required_outside_dev_mode() {
        let config: Config = ferrocast_kit::config::from_pairs(&[]).expect("parses");
        let error = config.validate().expect_err("no token");
        assert!(
            error.to_string().contains("FERROCAST_SERVICE_TOKEN"),
            "{error}"
        );
    }

    #[test]
    fn numbers_and_flags_parse_from_env_strings_beside_the_media_settings() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_INGEST_IDLE_TIMEOUT_MS", "1234"),
            ("FERROCAST_INGEST_MAX_CONNECTIONS_PER_IP", "3"),
            ("FERROCAST_HLS_SEGMENT_SECONDS", "2"),
        ])
        .expect("parses");
        assert!(config.dev_mode);
        assert_eq!(config.ingest_idle_timeout_ms, 1234);
        assert_eq!(config.ingest_max_connections_per_ip, 3);
        assert_eq!(config.media.hls_segment_seconds, 2);
    }

    #[test]
    fn durations_are_written_as_durations_or_in_the_unit_of_their_name() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_INGEST_HANDSHAKE_TIMEOUT_MS", "2s"),
            ("FERROCAST_INGEST_UPDATE_INTERVAL_MS", "750"),
            ("FERROCAST_INGEST_PIPELINE_START_TIMEOUT_MS", "0.5m"),
            ("FERROCAST_HLS_PART_MILLIS", "250ms"),
            ("FERROCAST_HLS_CLEANUP_GRACE_SECONDS", "1m"),
        ])
        .expect("parses");
        assert_eq!(config.ingest_handshake_timeout_ms, 2_000);
        assert_eq!(config.update_interval(), Duration::from_millis(750));
        assert_eq!(config.pipeline_start_timeout(), Duration::from_secs(30));
        assert_eq!(config.media.hls_part_millis, 250);
        assert_eq!(config.media.cleanup_grace, Duration::from_secs(60));
        assert!(ferrocast_kit::config::from_pairs::<Config>(&[(
            "FERROCAST_INGEST_IDLE_TIMEOUT_MS",
            "soon"
        )])
        .is_err());
    }

    #[test]
    fn limits_are_read_and_checked() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            (
                "FERROCAST_SERVICE_TOKEN",
                "0123456789abcdef0123456789abcdef0123",
            ),
            ("FERROCAST_INGEST_MAX_CHUNK_SIZE", "2147483647"),
        ])
        .expect("parses");
        assert!(config.validate().is_err());
    }
}
