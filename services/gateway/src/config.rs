//! The gateway's configuration in typed sections (what every service reads, the listeners, the
//! routes), each read from its `FERROCAST_*` variables (docs/api.md), plus tuning that tests may
//! change but operators have no need to.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use ferrocast_kit::{
    client::{Networks, TrustedProxies},
    config::{ensure, section, Common, ConfigError, Secret},
    http::{RequestLimits, ServerLimits},
};
use serde::{Deserialize, Deserializer};

/// The gateway's settings in sections, each read from its own `FERROCAST_*` variables.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Dev mode, and the service token presented to rooms' internal room lookup.
    pub common: Common,
    pub listen: Listen,
    pub routes: Routes,
    /// Not read from the environment.
    pub tuning: Tuning,
}

/// The two listeners and who may connect how often.
#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    /// `FERROCAST_GATEWAY_HTTP_ADDR`: the public listener.
    #[serde(rename = "gateway_http_addr", default = "defaults::http_addr")]
    pub http_addr: String,
    /// `FERROCAST_GATEWAY_INTERNAL_ADDR`: `/metrics`, `/readyz` and `/healthz` for the
    /// orchestrator and Prometheus, never the internet (readiness failures name upstream
    /// addresses; metrics show traffic and routes).
    #[serde(rename = "gateway_internal_addr", default = "defaults::internal_addr")]
    pub internal_addr: String,
    /// `FERROCAST_GATEWAY_TRUSTED_PROXIES`: the TLS-terminating proxies in front (addresses or
    /// CIDR networks); their `X-Forwarded-*` headers are believed, nobody else's. Empty: none.
    #[serde(rename = "gateway_trusted_proxies", default)]
    pub trusted_proxies: TrustedProxies,
    /// `FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS`: open connections one client address may
    /// hold on the public listener; the trusted proxies count toward the total cap only.
    #[serde(
        rename = "http_max_connections_per_address",
        default = "ferrocast_kit::http::default_max_connections_per_address"
    )]
    pub max_connections_per_address: usize,
}

/// Where each request goes.
#[derive(Debug, Clone, Deserialize)]
pub struct Routes {
    /// `FERROCAST_USERS_HTTP_URL`: `/api/users/*`.
    #[serde(rename = "users_http_url", default = "defaults::users_url")]
    pub users_url: String,
    /// `FERROCAST_ROOMS_HTTP_URL`: `/api/rooms/*`, `/api/events` and the room lookups.
    #[serde(rename = "rooms_http_url", default = "defaults::rooms_url")]
    pub rooms_url: String,
    /// `FERROCAST_CATALOG_HTTP_URL`: `/api/media/*` and `/api/tags`.
    #[serde(rename = "catalog_http_url", default = "defaults::catalog_url")]
    pub catalog_url: String,
    /// `FERROCAST_S3_PUBLIC_ENDPOINT`, else `FERROCAST_S3_ENDPOINT`: the storage browsers upload
    /// to straight, which the pages' CSP must let them connect to.
    #[serde(rename = "s3_public_endpoint", default)]
    pub storage_public_endpoint: Option<String>,
    #[serde(rename = "s3_endpoint", default = "defaults::storage_endpoint")]
    pub storage_endpoint: String,
    /// `FERROCAST_INGEST_NETWORKS`: the only networks the gateway connects to for `/hls`. Rooms
    /// records each room's origin as an address inside them; the gateway checks again, so a
    /// room record can never point it at another host.
    #[serde(default = "Networks::loopback")]
    pub ingest_networks: Networks,
    /// `FERROCAST_FRONTEND_DIR`: everything else, with the single-page app's fallback.
    #[serde(default = "defaults::frontend_dir")]
    pub frontend_dir: PathBuf,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            http_addr: defaults::http_addr(),
            internal_addr: defaults::internal_addr(),
            trusted_proxies: TrustedProxies::none(),
            max_connections_per_address: ferrocast_kit::http::default_max_connections_per_address(),
        }
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self {
            users_url: defaults::users_url(),
            rooms_url: defaults::rooms_url(),
            catalog_url: defaults::catalog_url(),
            storage_public_endpoint: None,
            storage_endpoint: defaults::storage_endpoint(),
            ingest_networks: Networks::loopback(),
            frontend_dir: defaults::frontend_dir(),
        }
    }
}

/// Read from the flat `FERROCAST_*` namespace: every section takes its own variables.
impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let vars = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Self {
            common: section(&vars)?,
            listen: section(&vars)?,
            routes: section(&vars)?,
            tuning: Tuning::default(),
        })
    }
}

impl Config {
    /// Checks every section's fields against the known-variable list (a test runs it; a new
    /// section is added here beside [`Config::deserialize`]).
    pub fn check_known_variables() -> Result<(), ConfigError> {
        use ferrocast_kit::config::known::{check_fields, Service};
        check_fields::<Common>(Service::Gateway)?;
        check_fields::<Listen>(Service::Gateway)?;
        check_fields::<Routes>(Service::Gateway)
    }
}

/// Limits and timeouts with defaults that suit production and local runs alike.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub request: RequestLimits,
    pub server: ServerLimits,
    pub connect_timeout: Duration,
    /// Deadline for an upstream's response head. Below the request timeout, so a slow upstream
    /// yields a JSON 504 rather than the limits layer's bare 408.
    pub response_timeout: Duration,
    /// Longest silence between body chunks of a non-streaming upstream answer.
    pub idle_read_timeout: Duration,
    pub lookup_timeout: Duration,
    /// How long a room lookup (live or offline) is reused.
    pub lookup_ttl: Duration,
    pub readiness_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            request: RequestLimits {
                timeout: Duration::from_secs(10),
                max_body_bytes: 64 * 1024,
            },
            server: ServerLimits::default(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(8),
            idle_read_timeout: Duration::from_secs(15),
            lookup_timeout: Duration::from_secs(2),
            lookup_ttl: Duration::from_secs(1),
            readiness_timeout: Duration::from_secs(1),
        }
    }
}

impl Config {
    /// What in-process tests run: the defaults on loopback port 0 with the tests' service token.
    pub fn for_tests() -> Self {
        Self {
            common: Common::for_tests(ferrocast_kit::config::TEST_SERVICE_TOKEN),
            listen: Listen {
                http_addr: "127.0.0.1:0".into(),
                internal_addr: "127.0.0.1:0".into(),
                ..Listen::default()
            },
            ..Self::default()
        }
    }

    /// The service token (the dev one in dev mode when none is set); checked by [`Self::validate`].
    pub fn service_token(&self) -> Result<Secret, ConfigError> {
        self.common.service_token()
    }

    /// The origin (`scheme://host[:port]`) of the storage browsers upload to.
    pub fn storage_origin(&self) -> Result<String, ConfigError> {
        let (name, endpoint) = match &self.routes.storage_public_endpoint {
            Some(url) => ("FERROCAST_S3_PUBLIC_ENDPOINT", url),
            None => ("FERROCAST_S3_ENDPOINT", &self.routes.storage_endpoint),
        };
        let url = reqwest::Url::parse(endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                ConfigError(format!("{name} must be an http(s) URL, got {endpoint:?}"))
            })?;
        Ok(url.origin().ascii_serialization())
    }

    /// Checks what serde cannot: upstream URLs are plain http(s) bases.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.service_token()?;
        for (name, url) in [
            ("FERROCAST_USERS_HTTP_URL", &self.routes.users_url),
            ("FERROCAST_ROOMS_HTTP_URL", &self.routes.rooms_url),
            ("FERROCAST_CATALOG_HTTP_URL", &self.routes.catalog_url),
        ] {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            let plain = !url.contains(['?', '#']);
            ensure(
                scheme_ok && plain,
                format!(
                    "{name} must be an http(s) base URL such as http://127.0.0.1:8081, got {url:?}"
                ),
            )?;
        }
        self.storage_origin()?;
        ensure(
            !self.listen.http_addr.is_empty(),
            "FERROCAST_GATEWAY_HTTP_ADDR must be host:port",
        )?;
        ensure(
            !self.listen.internal_addr.is_empty(),
            "FERROCAST_GATEWAY_INTERNAL_ADDR must be host:port",
        )?;
        ensure(
            self.listen.max_connections_per_address > 0,
            "FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS must be positive",
        )
    }
}

mod defaults {
    use std::path::PathBuf;

    pub fn http_addr() -> String {
        "127.0.0.1:8080".into()
    }
    pub fn internal_addr() -> String {
        "127.0.0.1:9080".into()
    }
    pub fn users_url() -> String {
        "http://127.0.0.1:8081".into()
    }
    pub fn rooms_url() -> String {
        "http://127.0.0.1:8082".into()
    }
    pub fn catalog_url() -> String {
        "http://127.0.0.1:8084".into()
    }
    pub fn storage_endpoint() -> String {
        "http://127.0.0.1:8333".into()
    }
    pub fn frontend_dir() -> PathBuf {
        "frontend/dist".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_known_variable_of_gateway() {
        // The list the start checks names against, which docs/api.md's table is tested against.
        Config::check_known_variables()
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
    }

    #[test]
    fn documented_variables_are_read_and_others_ignored() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_GATEWAY_HTTP_ADDR", "0.0.0.0:8080"),
            ("FERROCAST_ROOMS_HTTP_URL", "http://rooms:8082"),
            ("FERROCAST_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("FERROCAST_JWT_SECRET", "not ours"),
            (
                "FERROCAST_SERVICE_TOKEN",
                "0123456789abcdef0123456789abcdef",
            ),
            ("FERROCAST_INGEST_NETWORKS", "10.0.0.0/8"),
        ])
        .expect("valid config");
        assert!(config.routes.ingest_networks.contains([10, 9, 8, 7].into()));
        assert!(!config
            .routes
            .ingest_networks
            .contains([127, 0, 0, 1].into()));
        assert_eq!(config.listen.http_addr, "0.0.0.0:8080");
        assert_eq!(config.listen.internal_addr, "127.0.0.1:9080");
        assert!(config.listen.trusted_proxies.contains([10, 1, 2, 3].into()));
        assert!(!config
            .listen
            .trusted_proxies
            .contains([192, 0, 2, 1].into()));
        assert_eq!(config.listen.max_connections_per_address, 64);
        assert_eq!(config.routes.rooms_url, "http://rooms:8082");
        assert_eq!(config.routes.users_url, "http://127.0.0.1:8081");
        assert_eq!(config.routes.frontend_dir, PathBuf::from("frontend/dist"));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn the_service_token_follows_the_one_rule() {
        let error = Config::default().validate().expect_err("no token");
        assert!(
            error.to_string().contains("FERROCAST_SERVICE_TOKEN"),
            "{error}"
        );
        let mut dev = Config::default();
        dev.common.dev_mode = true;
        assert!(dev.validate().is_ok());
        let mut public = Config::default();
        public.common.service_token = Some(Secret::new(ferrocast_kit::config::DEV_SERVICE_TOKEN));
        assert!(public.validate().is_err());
    }

    #[test]
    fn a_non_http_upstream_is_named_in_the_error() {
        let mut config = Config::for_tests();
        config.routes.users_url = "users:8081".into();
        let error = config.validate().expect_err("invalid");
        assert!(
            error.to_string().contains("FERROCAST_USERS_HTTP_URL"),
            "{error}"
        );
    }
}
