//! The ingest's configuration, read from `FERROCAST_*` variables (names in docs/api.md), checked
//! once at start. RTMP limits have safe defaults; tests shorten the timeouts.

use std::time::Duration;

use ferrocast_kit::{
    config::clients::Clients,
    config::{duration, ensure, Common, ConfigError, Secret},
    http::ServerLimits,
};
use serde::Deserialize;

use crate::{
    adapters::media::MediaConfig,
    adapters::recording::RecordingConfig,
    adapters::rtmp::{connection::ConnectionSettings, guard::GuardLimits},
    adapters::thumbnails::ThumbnailSettings,
};

/// The token dev mode uses when none is set (one definition for every service).
pub use ferrocast_kit::config::DEV_SERVICE_TOKEN;

/// The ingest's settings in sections, each read from its own `FERROCAST_*` variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// Dev mode, and the token presented to users (gRPC metadata) and rooms (callback header).
    pub common: Common,
    pub listen: Listen,
    /// Proxies and the per-address connection cap of the HTTP listener.
    pub clients: Clients,
    pub upstreams: Upstreams,
    pub rtmp: Rtmp,
    pub sessions: Sessions,
    pub origin: Origin,
    /// Live thumbnails (`FERROCAST_INGEST_THUMBNAIL_*`).
    pub thumbnails: Thumbnails,
    /// The media side's settings (`FERROCAST_HLS_*`, `FERROCAST_FFMPEG_*`).
    pub media: MediaConfig,
    /// Past broadcasts (`FERROCAST_INGEST_RECORDING_*`).
    pub recording: RecordingConfig,
}

/// The RTMP and HTTP listeners, and how rooms is told where this node's HLS is.
#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    /// `FERROCAST_INGEST_RTMP_ADDR`
    #[serde(rename = "ingest_rtmp_addr", default = "defaults::rtmp_addr")]
    pub rtmp_addr: String,
    /// `FERROCAST_INGEST_HTTP_ADDR`: the HLS origin, health and metrics.
    #[serde(rename = "ingest_http_addr", default = "defaults::http_addr")]
    pub http_addr: String,
    /// `FERROCAST_INGEST_ORIGIN_URL`: this node's HLS origin base URL, sent to rooms so the
    /// gateway can route viewers here.
    #[serde(rename = "ingest_origin_url", default = "defaults::origin_url")]
    pub origin_url: String,
}

/// The services a publish is checked with.
#[derive(Debug, Clone, Deserialize)]
pub struct Upstreams {
    /// `FERROCAST_USERS_GRPC_URL`
    #[serde(default = "defaults::users_grpc_url")]
    pub users_grpc_url: String,
    /// `FERROCAST_ROOMS_CALLBACK_URL`
    #[serde(default = "defaults::callback_url")]
    pub rooms_callback_url: String,
}

/// What an RTMP connection may do and how long it may take.
#[derive(Debug, Clone, Deserialize)]
pub struct Rtmp {
    /// `FERROCAST_INGEST_RTMP_APP`: the only RTMP application that may publish.
    #[serde(rename = "ingest_rtmp_app", default = "defaults::app")]
    pub app: String,
    /// `FERROCAST_INGEST_HANDSHAKE_TIMEOUT_MS`
    #[serde(
        rename = "ingest_handshake_timeout_ms",
        default = "defaults::handshake_timeout",
        deserialize_with = "duration::millis"
    )]
    pub handshake_timeout: Duration,
    /// `FERROCAST_INGEST_AUTH_TIMEOUT_MS`: from the handshake's end until the publish is
    /// authorised (connect, publish, users).
    #[serde(
        rename = "ingest_auth_timeout_ms",
        default = "defaults::auth_timeout",
        deserialize_with = "duration::millis"
    )]
    pub auth_timeout: Duration,
    /// `FERROCAST_INGEST_IDLE_TIMEOUT_MS`: longest time without audio or video while publishing.
    #[serde(
        rename = "ingest_idle_timeout_ms",
        default = "defaults::idle_timeout",
        deserialize_with = "duration::millis"
    )]
    pub idle_timeout: Duration,
    /// `FERROCAST_INGEST_WRITE_TIMEOUT_MS`
    #[serde(
        rename = "ingest_write_timeout_ms",
        default = "defaults::write_timeout",
        deserialize_with = "duration::millis"
    )]
    pub write_timeout: Duration,
    /// `FERROCAST_INGEST_MAX_CONNECTIONS`
    #[serde(
        rename = "ingest_max_connections",
        default = "defaults::max_connections"
    )]
    pub max_connections: usize,
    /// `FERROCAST_INGEST_MAX_CONNECTIONS_PER_IP`
    #[serde(
        rename = "ingest_max_connections_per_ip",
        default = "defaults::max_connections_per_ip"
    )]
    pub max_connections_per_ip: usize,
    /// `FERROCAST_INGEST_MAX_MESSAGE_BYTES`: largest non-media RTMP message (nginx-rtmp's
    /// `max_message`).
    #[serde(
        rename = "ingest_max_message_bytes",
        default = "defaults::max_message_bytes"
    )]
    pub max_message_bytes: u32,
    /// `FERROCAST_INGEST_MAX_MEDIA_MESSAGE_BYTES`
    #[serde(
        rename = "ingest_max_media_message_bytes",
        default = "defaults::max_media_message_bytes"
    )]
    pub max_media_message_bytes: u32,
    /// `FERROCAST_INGEST_MAX_UNAUTHENTICATED_MESSAGE_BYTES`: largest message of any type before
    /// the publish is authorised.
    #[serde(
        rename = "ingest_max_unauthenticated_message_bytes",
        default = "defaults::max_unauthenticated_message_bytes"
    )]
    pub max_unauthenticated_message_bytes: u32,
    /// `FERROCAST_INGEST_MAX_CHUNK_SIZE`
    #[serde(rename = "ingest_max_chunk_size", default = "defaults::max_chunk_size")]
    pub max_chunk_size: u32,
    /// `FERROCAST_INGEST_MAX_AMF_DEPTH`
    #[serde(rename = "ingest_max_amf_depth", default = "defaults::max_amf_depth")]
    pub max_amf_depth: usize,
}

/// A publish's lifetime: lease renewals with rooms, and its media pipeline's start.
#[derive(Debug, Clone, Deserialize)]
pub struct Sessions {
    /// `FERROCAST_INGEST_UPDATE_INTERVAL_MS`: period of the `call=update` lease renewal.
    #[serde(
        rename = "ingest_update_interval_ms",
        default = "defaults::update_interval",
        deserialize_with = "duration::millis"
    )]
    pub update_interval: Duration,
    /// `FERROCAST_INGEST_CALLBACK_TIMEOUT_MS`
    #[serde(
        rename = "ingest_callback_timeout_ms",
        default = "defaults::callback_timeout",
        deserialize_with = "duration::millis"
    )]
    pub callback_timeout: Duration,
    /// `FERROCAST_INGEST_PIPELINE_START_TIMEOUT_MS`
    #[serde(
        rename = "ingest_pipeline_start_timeout_ms",
        default = "defaults::pipeline_start_timeout",
        deserialize_with = "duration::millis"
    )]
    pub pipeline_start_timeout: Duration,
    /// `FERROCAST_INGEST_TAKEOVER_STALL_MS`: a publish with the user's current key takes over
    /// the user's live session at once when that session received no media for this long (a
    /// frozen encoder, a half-open connection); a session still receiving media is not taken over.
    #[serde(
        rename = "ingest_takeover_stall_ms",
        default = "defaults::takeover_stall",
        deserialize_with = "duration::millis"
    )]
    pub takeover_stall: Duration,
    /// `FERROCAST_INGEST_RECONNECT_GRACE_MS`: how long a session whose connection dropped
    /// without a clean stop stays live for its publisher to reconnect and continue it.
    #[serde(
        rename = "ingest_reconnect_grace_ms",
        default = "defaults::reconnect_grace",
        deserialize_with = "duration::millis"
    )]
    pub reconnect_grace: Duration,
}

/// The HLS origin's memory and how it serves.
#[derive(Debug, Clone, Deserialize)]
pub struct Origin {
    /// `FERROCAST_INGEST_HLS_CACHE_MB`: memory for the HLS live window the origin answers from
    /// (all streams together).
    #[serde(rename = "ingest_hls_cache_mb", default = "defaults::hls_cache_mb")]
    pub hls_cache_mb: u64,
    /// Send cached segments with `sendfile(2)` (like nginx's `sendfile on`); off copies them
    /// from memory. Not read from the environment: a file system without sendfile falls back
    /// to the copy by itself (`hls::sendfile`), so only measurements turn it off.
    #[serde(skip, default = "defaults::hls_sendfile")]
    pub sendfile: bool,
    /// Threads serving HTTP (the HLS origin), each with its own runtime and listening socket on
    /// the port (`SO_REUSEPORT`); 0 = one per core. Not read from the environment: one per core
    /// is what the origin needs; tests and measurements may pin it.
    #[serde(skip)]
    pub http_shards: usize,
}

/// How often and how big each live stream's thumbnail is made (`adapters::thumbnails`).
#[derive(Debug, Clone, Deserialize)]
pub struct Thumbnails {
    /// `FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS`: time between two thumbnails of a stream;
    /// `0` makes none.
    #[serde(
        rename = "ingest_thumbnail_interval_seconds",
        default = "defaults::thumbnail_interval",
        deserialize_with = "duration::seconds"
    )]
    pub interval: Duration,
    /// `FERROCAST_INGEST_THUMBNAIL_WIDTH`: pixels (never more than the lowest rung's width).
    #[serde(
        rename = "ingest_thumbnail_width",
        default = "defaults::thumbnail_width"
    )]
    pub width: u32,
    /// `FERROCAST_INGEST_THUMBNAIL_CONCURRENCY`: thumbnails made at once on this node.
    #[serde(
        rename = "ingest_thumbnail_concurrency",
        default = "defaults::thumbnail_concurrency"
    )]
    pub concurrency: usize,
    /// The ffmpeg thumbnails run, when not `FERROCAST_FFMPEG_PATH`'s. Not read from the
    /// environment: tests put a failing or hanging one here and the live pipeline's stays.
    #[serde(skip)]
    pub ffmpeg_path: Option<std::path::PathBuf>,
}

ferrocast_kit::config_sections!(Config for ferrocast_kit::config::known::Service::Ingest => {
    common: Common,
    listen: Listen,
    clients: Clients,
    upstreams: Upstreams,
    rtmp: Rtmp,
    sessions: Sessions,
    origin: Origin,
    thumbnails: Thumbnails,
    media: MediaConfig,
    recording: RecordingConfig,
});

mod defaults {
    use std::time::Duration;

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
    pub fn handshake_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub fn auth_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn idle_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn write_timeout() -> Duration {
        Duration::from_secs(5)
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
    pub fn update_interval() -> Duration {
        Duration::from_secs(5)
    }
    pub fn callback_timeout() -> Duration {
        Duration::from_secs(3)
    }
    pub fn pipeline_start_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn takeover_stall() -> Duration {
        Duration::from_secs(1)
    }
    pub fn reconnect_grace() -> Duration {
        Duration::from_secs(10)
    }
    /// ≈ 6 segments of every rendition of 40 ABR streams at 1 s, or 100 passthrough streams.
    pub fn hls_cache_mb() -> u64 {
        256
    }
    pub fn hls_sendfile() -> bool {
        true
    }
    pub fn thumbnail_interval() -> Duration {
        Duration::from_secs(30)
    }
    pub fn thumbnail_width() -> u32 {
        320
    }
    pub fn thumbnail_concurrency() -> usize {
        2
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
        config.common.service_token = Some(Secret::new(service_token));
        config.upstreams.users_grpc_url = users_grpc_url.into();
        config.upstreams.rooms_callback_url = rooms_callback_url.into();
        config.listen.rtmp_addr = "127.0.0.1:0".into();
        config.listen.http_addr = "127.0.0.1:0".into();
        config.rtmp.handshake_timeout = Duration::from_secs(1);
        config.rtmp.auth_timeout = Duration::from_secs(3);
        config.rtmp.idle_timeout = Duration::from_secs(2);
        config.rtmp.write_timeout = Duration::from_secs(2);
        config.sessions.update_interval = Duration::from_millis(500);
        // A publisher that vanishes ends its room at once, as tests of endings expect; tests of
        // reconnects set their own grace.
        config.sessions.reconnect_grace = Duration::ZERO;
        // Tests that want past broadcasts name a folder and a catalogue (testkit does).
        config.recording.dir = std::path::PathBuf::new();
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.common.service_token()?;
        let (rtmp, sessions) = (&self.rtmp, &self.sessions);
        for (value, name) in [
            (
                rtmp.handshake_timeout,
                "FERROCAST_INGEST_HANDSHAKE_TIMEOUT_MS",
            ),
            (rtmp.auth_timeout, "FERROCAST_INGEST_AUTH_TIMEOUT_MS"),
            (rtmp.idle_timeout, "FERROCAST_INGEST_IDLE_TIMEOUT_MS"),
            (rtmp.write_timeout, "FERROCAST_INGEST_WRITE_TIMEOUT_MS"),
            (
                sessions.update_interval,
                "FERROCAST_INGEST_UPDATE_INTERVAL_MS",
            ),
            (
                sessions.callback_timeout,
                "FERROCAST_INGEST_CALLBACK_TIMEOUT_MS",
            ),
            (
                sessions.takeover_stall,
                "FERROCAST_INGEST_TAKEOVER_STALL_MS",
            ),
        ] {
            ensure(!value.is_zero(), format!("{name} must be positive"))?;
        }
        ensure(
            rtmp.max_connections > 0 && rtmp.max_connections_per_ip > 0,
            "FERROCAST_INGEST_MAX_CONNECTIONS and _PER_IP must be positive",
        )?;
        self.clients.validate()?;
        self.recording.validate()?;
        let thumbnails = &self.thumbnails;
        ensure(
            thumbnails.interval.is_zero()
                || (Duration::from_secs(1)..=Duration::from_secs(3600))
                    .contains(&thumbnails.interval),
            "FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS must be 0 (off) or within 1 s..=1 h",
        )?;
        ensure(
            (16..=1920).contains(&thumbnails.width),
            "FERROCAST_INGEST_THUMBNAIL_WIDTH must be within 16..=1920",
        )?;
        ensure(
            (1..=64).contains(&thumbnails.concurrency),
            "FERROCAST_INGEST_THUMBNAIL_CONCURRENCY must be within 1..=64",
        )?;
        ensure(
            (128..=16 * 1024 * 1024).contains(&rtmp.max_chunk_size),
            "FERROCAST_INGEST_MAX_CHUNK_SIZE must be within 128..=16777216",
        )?;
        ensure(
            (1..=256).contains(&rtmp.max_amf_depth),
            "FERROCAST_INGEST_MAX_AMF_DEPTH must be within 1..=256",
        )?;
        ensure(
            rtmp.max_message_bytes >= 4096
                && rtmp.max_media_message_bytes >= 4096
                && rtmp.max_unauthenticated_message_bytes >= 4096,
            "FERROCAST_INGEST_MAX_*MESSAGE_BYTES must be at least 4096",
        )?;
        Ok(())
    }

    pub fn service_token(&self) -> String {
        self.common
            .service_token
            .as_ref()
            .map(Secret::expose)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEV_SERVICE_TOKEN)
            .to_owned()
    }

    pub fn connection_settings(&self) -> ConnectionSettings {
        let rtmp = &self.rtmp;
        ConnectionSettings {
            app: rtmp.app.clone(),
            handshake_timeout: rtmp.handshake_timeout,
            auth_timeout: rtmp.auth_timeout,
            idle_timeout: rtmp.idle_timeout,
            write_timeout: rtmp.write_timeout,
            guard: GuardLimits {
                max_chunk_size: rtmp.max_chunk_size,
                max_message_bytes: rtmp.max_message_bytes,
                max_media_message_bytes: rtmp.max_media_message_bytes,
                max_unauthenticated_message_bytes: rtmp.max_unauthenticated_message_bytes,
                max_amf_depth: rtmp.max_amf_depth,
                ..GuardLimits::default()
            },
        }
    }

    /// The limits of the HTTP listener (health, metrics, the HLS origin).
    pub fn http_limits(&self) -> ServerLimits {
        self.clients.server_limits()
    }

    pub fn update_interval(&self) -> Duration {
        self.sessions.update_interval
    }

    pub fn callback_timeout(&self) -> Duration {
        self.sessions.callback_timeout
    }

    pub fn pipeline_start_timeout(&self) -> Duration {
        self.sessions.pipeline_start_timeout
    }

    /// The thumbnail settings, or `None` when thumbnails are off.
    pub fn thumbnail_settings(&self) -> Option<ThumbnailSettings> {
        let thumbnails = &self.thumbnails;
        (!thumbnails.interval.is_zero()).then(|| ThumbnailSettings {
            ffmpeg_path: thumbnails
                .ffmpeg_path
                .clone()
                .unwrap_or_else(|| self.media.ffmpeg_path.clone()),
            interval: thumbnails.interval,
            width: thumbnails.width,
            concurrency: thumbnails.concurrency,
            // A keyframe of a low rung decodes in well under a second; one that takes this
            // long is stuck, and holding its slot would starve the other streams' thumbnails.
            deadline: thumbnails.interval.min(Duration::from_secs(10)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_known_variable_of_ingest() {
        // The list the start checks names against, which docs/api.md's table is tested against.
        Config::check_known_variables()
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
    }

    #[test]
    fn defaults_follow_the_api_document() {
        let config: Config =
            ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true")]).expect("ok");
        config.validate().expect("dev mode needs no token");
        assert_eq!(config.listen.rtmp_addr, "0.0.0.0:1935");
        assert_eq!(config.listen.http_addr, "127.0.0.1:8083");
        assert_eq!(
            config.upstreams.rooms_callback_url,
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
        assert!(config.common.dev_mode);
        assert_eq!(config.rtmp.idle_timeout, Duration::from_millis(1234));
        assert_eq!(config.rtmp.max_connections_per_ip, 3);
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
        assert_eq!(config.rtmp.handshake_timeout, Duration::from_secs(2));
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
    fn thumbnail_settings_are_read_checked_and_can_be_off() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS", "10s"),
            ("FERROCAST_INGEST_THUMBNAIL_WIDTH", "160"),
        ])
        .expect("parses");
        config.validate().expect("valid");
        let settings = config.thumbnail_settings().expect("on");
        assert_eq!(
            (settings.interval, settings.width, settings.concurrency),
            (Duration::from_secs(10), 160, 2)
        );
        assert_eq!(settings.deadline, Duration::from_secs(10));
        assert_eq!(settings.ffmpeg_path, config.media.ffmpeg_path);

        let off: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS", "0"),
        ])
        .expect("parses");
        off.validate().expect("0 is off, not invalid");
        assert!(off.thumbnail_settings().is_none());

        for (name, value) in [
            ("FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS", "500ms"),
            ("FERROCAST_INGEST_THUMBNAIL_WIDTH", "4096"),
            ("FERROCAST_INGEST_THUMBNAIL_CONCURRENCY", "0"),
        ] {
            let config: Config =
                ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true"), (name, value)])
                    .expect("parses");
            let error = config.validate().expect_err(name);
            assert!(error.to_string().contains(name), "{error}");
        }
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
