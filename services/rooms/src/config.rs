//! The rooms service's configuration, read from `FERROCAST_*` variables (docs/api.md), checked
//! once at start.

use std::time::Duration;

use ferrocast_kit::{
    client::Networks,
    config::clients::Clients,
    config::{duration, ensure, Common, ConfigError, Secret},
};
use serde::Deserialize;

/// The token dev mode uses when none is set; `./ferrocast up` always sets a random one.
pub const DEV_SERVICE_TOKEN: &str = ferrocast_kit::config::DEV_SERVICE_TOKEN;

/// The rooms service's settings in sections, each read from its own `FERROCAST_*` variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// Dev mode, and the token sent to users on every gRPC call, which our ingest presents on
    /// callbacks.
    pub common: Common,
    pub listen: Listen,
    /// Proxies and the per-address connection cap of the HTTP listener.
    pub clients: Clients,
    pub store: Store,
    pub users: Users,
    pub leases: Leases,
    pub viewers: Viewers,
    pub origins: Origins,
    pub nginx: Nginx,
}

/// The HTTP listener and who may connect how often.
#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    /// `FERROCAST_ROOMS_HTTP_ADDR`
    #[serde(rename = "rooms_http_addr", default = "defaults::http_addr")]
    pub http_addr: String,
}

/// Where rooms, leases and viewers live.
#[derive(Debug, Clone, Deserialize)]
pub struct Store {
    /// `FERROCAST_REDIS_URL`
    #[serde(rename = "redis_url", default = "defaults::redis_url")]
    pub url: String,
    /// `FERROCAST_ROOMS_KEY_PREFIX`: every key and channel starts with it.
    #[serde(rename = "rooms_key_prefix", default = "defaults::key_prefix")]
    pub key_prefix: String,
}

/// The users service, which checks stream keys.
#[derive(Debug, Clone, Deserialize)]
pub struct Users {
    /// `FERROCAST_USERS_GRPC_URL`
    #[serde(rename = "users_grpc_url", default = "defaults::users_grpc_url")]
    pub grpc_url: String,
}

/// How long a room stays live without renewals, and who may take it over.
#[derive(Debug, Clone, Deserialize)]
pub struct Leases {
    /// `FERROCAST_ROOM_LEASE_SECONDS` (`15`, `45s`): lease of a room without updates. With
    /// nginx-rtmp (updates every `notify_update_timeout`, 30 s by default) use 45.
    #[serde(
        rename = "room_lease_seconds",
        default = "defaults::lease",
        deserialize_with = "duration::seconds"
    )]
    pub lease: Duration,
    /// `FERROCAST_ROOMS_SWEEP_INTERVAL_MS` (`1000`, `1s`): how often lapsed leases are swept.
    #[serde(
        rename = "rooms_sweep_interval_ms",
        default = "defaults::sweep_interval",
        deserialize_with = "duration::millis"
    )]
    pub sweep_interval: Duration,
    /// `FERROCAST_ROOMS_TAKEOVER`: a second publish for a live user takes the room over
    /// instead of being refused.
    #[serde(rename = "rooms_takeover", default)]
    pub takeover: bool,
}

/// How viewers are counted and announced.
#[derive(Debug, Clone, Deserialize)]
pub struct Viewers {
    /// `FERROCAST_ROOMS_VIEWER_WINDOW_SECONDS` (`30`, `30s`): a viewer counts this long after
    /// its last heartbeat.
    #[serde(
        rename = "rooms_viewer_window_seconds",
        default = "defaults::viewer_window",
        deserialize_with = "duration::seconds"
    )]
    pub window: Duration,
    /// `FERROCAST_ROOMS_VIEWERS_PER_ADDRESS`: distinct viewers one client address (IPv4, or
    /// IPv6 /64) adds to one room's count at most. Higher is kinder to households and offices
    /// behind one NAT; lower bounds what one address can inflate.
    #[serde(
        rename = "rooms_viewers_per_address",
        default = "defaults::viewers_per_address"
    )]
    pub per_address: u64,
    /// `FERROCAST_ROOMS_VIEWER_EVENTS_INTERVAL_MS` (`1000`, `1s`): a room's `viewers_changed`
    /// events are at least this far apart; changes in between are announced together.
    #[serde(
        rename = "rooms_viewer_events_interval_ms",
        default = "defaults::viewer_events_interval",
        deserialize_with = "duration::millis"
    )]
    pub events_interval: Duration,
}

/// Where a room's HLS may come from.
#[derive(Debug, Clone, Deserialize)]
pub struct Origins {
    /// `FERROCAST_ROOMS_DEFAULT_ORIGIN`: origin of nginx-rtmp publishes (the HTTP server of its
    /// HLS folder), and of publishes by our ingest that name none.
    #[serde(rename = "rooms_default_origin", default)]
    pub default_origin: Option<String>,
    /// `FERROCAST_INGEST_NETWORKS`: the addresses a room's HLS origin may have. Our ingest's
    /// stated origin (and the default origin) is resolved and must fall inside them; the
    /// gateway, which connects to it, checks the same list.
    #[serde(default = "Networks::loopback")]
    pub ingest_networks: Networks,
}

/// nginx-rtmp mode.
#[derive(Debug, Clone, Deserialize)]
pub struct Nginx {
    /// `FERROCAST_ROOMS_NGINX_HLS_APP`: set → nginx-rtmp mode, key publishes are answered with a
    /// redirect into this application.
    #[serde(rename = "rooms_nginx_hls_app", default)]
    pub hls_app: Option<String>,
    /// `FERROCAST_ROOMS_NGINX_PUSH_URL`: base of that redirect; include the port when nginx does
    /// not listen on 1935.
    #[serde(rename = "rooms_nginx_push_url", default = "defaults::nginx_push_url")]
    pub push_url: String,
}

ferrocast_kit::config_sections!(Config for ferrocast_kit::config::known::Service::Rooms => {
    common: Common,
    listen: Listen,
    clients: Clients,
    store: Store,
    users: Users,
    leases: Leases,
    viewers: Viewers,
    origins: Origins,
    nginx: Nginx,
});

mod defaults {
    use std::time::Duration;

    pub fn users_grpc_url() -> String {
        "http://127.0.0.1:50051".into()
    }
    pub fn http_addr() -> String {
        "127.0.0.1:8082".into()
    }
    pub fn redis_url() -> String {
        "redis://127.0.0.1:6379".into()
    }
    pub fn key_prefix() -> String {
        "ferrocast:".into()
    }
    pub fn lease() -> Duration {
        Duration::from_secs(15)
    }
    pub fn nginx_push_url() -> String {
        "rtmp://127.0.0.1".into()
    }
    pub fn viewer_window() -> Duration {
        Duration::from_secs(30)
    }
    pub fn sweep_interval() -> Duration {
        Duration::from_secs(1)
    }
    pub fn viewers_per_address() -> u64 {
        4
    }
    pub fn viewer_events_interval() -> Duration {
        Duration::from_secs(1)
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let config: Self = ferrocast_kit::config::from_env()?;
        config.validate()?;
        Ok(config)
    }

    /// A config for tests: port 0, the given Redis, key prefix and users service, 2 s lease,
    /// quick sweeps.
    pub fn for_tests(
        redis_url: impl Into<String>,
        key_prefix: impl Into<String>,
        users_grpc_url: impl Into<String>,
        service_token: impl Into<String>,
    ) -> Self {
        Self {
            common: Common::for_tests(service_token),
            listen: Listen {
                http_addr: "127.0.0.1:0".into(),
            },
            clients: Clients::default(),
            store: Store {
                url: redis_url.into(),
                key_prefix: key_prefix.into(),
            },
            users: Users {
                grpc_url: users_grpc_url.into(),
            },
            leases: Leases {
                lease: Duration::from_secs(2),
                sweep_interval: Duration::from_millis(200),
                takeover: false,
            },
            viewers: Viewers {
                window: defaults::viewer_window(),
                per_address: defaults::viewers_per_address(),
                events_interval: defaults::viewer_events_interval(),
            },
            origins: Origins {
                default_origin: None,
                ingest_networks: Networks::loopback(),
            },
            nginx: Nginx {
                hls_app: None,
                push_url: defaults::nginx_push_url(),
            },
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.common.service_token()?;
        let (second, hour) = (Duration::from_secs(1), Duration::from_secs(3600));
        ensure(
            (second..=hour).contains(&self.leases.lease),
            "FERROCAST_ROOM_LEASE_SECONDS must be between 1s and 1h",
        )?;
        ensure(
            (second..=hour).contains(&self.viewers.window),
            "FERROCAST_ROOMS_VIEWER_WINDOW_SECONDS must be between 1s and 1h",
        )?;
        ensure(
            (Duration::from_millis(50)..=Duration::from_secs(60))
                .contains(&self.leases.sweep_interval),
            "FERROCAST_ROOMS_SWEEP_INTERVAL_MS must be between 50ms and 60s",
        )?;
        ensure(
            (1..=1000).contains(&self.viewers.per_address),
            "FERROCAST_ROOMS_VIEWERS_PER_ADDRESS must be between 1 and 1000",
        )?;
        ensure(
            self.viewers.events_interval <= Duration::from_secs(60),
            "FERROCAST_ROOMS_VIEWER_EVENTS_INTERVAL_MS must be between 0 and 60s",
        )?;
        ensure(
            !self.store.key_prefix.contains(char::is_whitespace),
            "FERROCAST_ROOMS_KEY_PREFIX must not contain spaces",
        )?;
        self.clients.validate()?;
        if let Some(origin) = &self.origins.default_origin {
            // The gateway proxies viewers to it: only plain http(s) base URLs.
            crate::domain::OriginUrl::parse(origin)
                .map_err(|error| ConfigError(format!("FERROCAST_ROOMS_DEFAULT_ORIGIN: {error}")))?;
        }
        if let Some(app) = &self.nginx.hls_app {
            ensure(
                !app.is_empty()
                    && app
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "FERROCAST_ROOMS_NGINX_HLS_APP must be an application name (a-z, 0-9, _ and -)",
            )?;
            ensure(
                self.nginx.push_url.starts_with("rtmp://"),
                "FERROCAST_ROOMS_NGINX_PUSH_URL must start with rtmp://",
            )?;
        }
        Ok(())
    }

    pub fn service_token(&self) -> &str {
        self.common
            .service_token
            .as_ref()
            .map_or(DEV_SERVICE_TOKEN, Secret::expose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_known_variable_of_rooms() {
        // The list the start checks names against, which docs/api.md's table is tested against.
        Config::check_known_variables()
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
    }

    #[test]
    fn defaults_need_a_service_token_outside_dev_mode() {
        let config: Config = ferrocast_kit::config::from_pairs(&[]).expect("parses");
        assert_eq!(config.leases.lease, Duration::from_secs(15));
        assert_eq!(config.listen.http_addr, "127.0.0.1:8082");
        assert!(config.validate().is_err());
        let dev: Config =
            ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true")]).expect("parses");
        assert!(dev.validate().is_ok());
        assert_eq!(dev.service_token(), DEV_SERVICE_TOKEN);
    }

    #[test]
    fn listener_limits_trust_the_local_gateway_unless_told_otherwise() {
        let config: Config =
            ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true")]).expect("parses");
        assert!(config
            .clients
            .trusted_proxies
            .contains([127, 0, 0, 1].into()));
        assert!(!config
            .clients
            .trusted_proxies
            .contains([127, 0, 0, 2].into()));
        assert_eq!(config.clients.max_connections_per_address, 64);
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ])
        .expect("parses");
        assert!(config
            .clients
            .trusted_proxies
            .contains([10, 9, 8, 7].into()));
        assert!(!config
            .clients
            .trusted_proxies
            .contains([127, 0, 0, 1].into()));
        let error = config.validate().expect_err("a cap of 0 refuses everyone");
        assert!(
            error
                .to_string()
                .contains("FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS"),
            "{error}"
        );
    }

    #[test]
    fn nginx_mode_and_lease_come_from_the_documented_variables() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            (
                "FERROCAST_SERVICE_TOKEN",
                "0123456789abcdef0123456789abcdef0123",
            ),
            ("FERROCAST_ROOMS_NGINX_HLS_APP", "hls"),
            ("FERROCAST_ROOM_LEASE_SECONDS", "45"),
        ])
        .expect("parses");
        assert!(config.validate().is_ok());
        assert_eq!(config.nginx.hls_app.as_deref(), Some("hls"));
        assert_eq!(config.leases.lease, Duration::from_secs(45));
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn durations_are_written_as_durations_or_in_the_unit_of_their_name() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_ROOM_LEASE_SECONDS", "1m"),
            ("FERROCAST_ROOMS_VIEWER_WINDOW_SECONDS", "45"),
            ("FERROCAST_ROOMS_SWEEP_INTERVAL_MS", "250ms"),
            ("FERROCAST_ROOMS_VIEWER_EVENTS_INTERVAL_MS", "1500"),
        ])
        .expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.leases.lease, Duration::from_secs(60));
        assert_eq!(config.viewers.window, Duration::from_secs(45));
        assert_eq!(config.leases.sweep_interval, Duration::from_millis(250));
        assert_eq!(config.viewers.events_interval, Duration::from_millis(1500));
        for (name, value) in [
            ("FERROCAST_ROOM_LEASE_SECONDS", "500ms"),
            ("FERROCAST_ROOM_LEASE_SECONDS", "2h"),
            ("FERROCAST_ROOMS_SWEEP_INTERVAL_MS", "10ms"),
            ("FERROCAST_ROOMS_VIEWER_EVENTS_INTERVAL_MS", "2m"),
        ] {
            let config: Config =
                ferrocast_kit::config::from_pairs(&[("FERROCAST_DEV_MODE", "true"), (name, value)])
                    .expect("parses");
            let error = config.validate().expect_err(value);
            assert!(error.to_string().contains(name), "{error}");
        }
        assert!(ferrocast_kit::config::from_pairs::<Config>(&[(
            "FERROCAST_ROOM_LEASE_SECONDS",
            "soon"
        )])
        .is_err());
    }
}
