//! The gateway's configuration: `FERROCAST_*` variables (docs/api.md) plus tuning that tests may
//! change but operators have no need to.

use std::{path::PathBuf, time::Duration};

use ferrocast_kit::{
    config::{ensure, ConfigError},
    http::{RequestLimits, ServerLimits},
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `FERROCAST_GATEWAY_HTTP_ADDR`
    #[serde(default = "defaults::http_addr")]
    pub gateway_http_addr: String,
    /// `FERROCAST_USERS_HTTP_URL`
    #[serde(default = "defaults::users_url")]
    pub users_http_url: String,
    /// `FERROCAST_ROOMS_HTTP_URL`
    #[serde(default = "defaults::rooms_url")]
    pub rooms_http_url: String,
    /// `FERROCAST_FRONTEND_DIR`
    #[serde(default = "defaults::frontend_dir")]
    pub frontend_dir: PathBuf,
    #[serde(skip)]
    pub tuning: Tuning,
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

impl Default for Config {
    fn default() -> Self {
        Self {
            gateway_http_addr: defaults::http_addr(),
            users_http_url: defaults::users_url(),
            rooms_http_url: defaults::rooms_url(),
            frontend_dir: defaults::frontend_dir(),
            tuning: Tuning::default(),
        }
    }
}

impl Config {
    /// Checks what serde cannot: upstream URLs are plain http(s) bases.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, url) in [
            ("FERROCAST_USERS_HTTP_URL", &self.users_http_url),
            ("FERROCAST_ROOMS_HTTP_URL", &self.rooms_http_url),
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
        ensure(
            !self.gateway_http_addr.is_empty(),
            "FERROCAST_GATEWAY_HTTP_ADDR must be host:port",
        )
    }
}

mod defaults {
    use std::path::PathBuf;

    pub fn http_addr() -> String {
        "127.0.0.1:8080".into()
    }
    pub fn users_url() -> String {
        "http://127.0.0.1:8081".into()
    }
    pub fn rooms_url() -> String {
        "http://127.0.0.1:8082".into()
    }
    pub fn frontend_dir() -> PathBuf {
        "frontend/dist".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_variables_are_read_and_others_ignored() {
        let config: Config = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_GATEWAY_HTTP_ADDR", "0.0.0.0:8080"),
            ("FERROCAST_ROOMS_HTTP_URL", "http://rooms:8082"),
            ("FERROCAST_JWT_SECRET", "not ours"),
        ])
        .expect("valid config");
        assert_eq!(config.gateway_http_addr, "0.0.0.0:8080");
        assert_eq!(config.rooms_http_url, "http://rooms:8082");
        assert_eq!(config.users_http_url, "http://127.0.0.1:8081");
        assert_eq!(config.frontend_dir, PathBuf::from("frontend/dist"));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn a_non_http_upstream_is_named_in_the_error() {
        let config = Config {
            users_http_url: "users:8081".into(),
            ..Config::default()
        };
        let error = config.validate().expect_err("invalid");
        assert!(
            error.to_string().contains("FERROCAST_USERS_HTTP_URL"),
            "{error}"
        );
    }
}
