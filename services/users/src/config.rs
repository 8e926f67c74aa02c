//! Configuration from `FERROCAST_*` variables (names in docs/api.md), checked once at start so a
//! missing secret or a typo fails with a message naming the variable, not at the first request.

use std::{net::SocketAddr, time::Duration};

use ferrocast_kit::{
    config::clients::Clients,
    config::{duration, ensure, Common, ConfigError},
};
use serde::Deserialize;

use crate::domain::{RateLimit, RateLimits};

/// Built-in secrets for `FERROCAST_DEV_MODE=true` only; refused outside dev mode.
pub const DEV_JWT_SECRET: &str = "ferrocast-dev-jwt-secret-do-not-use-in-production";
/// The service token other services use in dev mode and in-process tests.
pub const DEV_SERVICE_TOKEN: &str = ferrocast_kit::config::DEV_SERVICE_TOKEN;

const MIN_JWT_SECRET_BYTES: usize = 32;

pub use ferrocast_kit::config::Secret;

/// The users service's settings in sections, each read from its own `FERROCAST_*` variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// Dev mode (allows the built-in dev secrets, with a warning) and the token every gRPC
    /// caller must present in `x-service-token`.
    pub common: Common,
    pub listen: Listen,
    /// Proxies and the per-address connection cap of the HTTP listener.
    pub clients: Clients,
    pub store: Store,
    pub tokens: Tokens,
    pub limits: Limits,
}

/// The REST and gRPC listeners and who may connect how often.
#[derive(Debug, Clone, Deserialize)]
pub struct Listen {
    /// `FERROCAST_USERS_HTTP_ADDR`
    #[serde(rename = "users_http_addr", default = "default_http_addr")]
    pub http_addr: String,
    /// `FERROCAST_USERS_GRPC_ADDR`
    #[serde(rename = "users_grpc_addr", default = "default_grpc_addr")]
    pub grpc_addr: String,
}

/// The document store, and how long a stream key's owner is remembered in front of it.
#[derive(Debug, Clone, Deserialize)]
pub struct Store {
    /// `FERROCAST_MONGODB_URL`
    #[serde(rename = "mongodb_url", default = "default_mongodb_url")]
    pub url: String,
    /// `FERROCAST_MONGODB_DATABASE`
    #[serde(rename = "mongodb_database", default = "default_mongodb_database")]
    pub database: String,
    /// `FERROCAST_USERS_STREAM_KEY_CACHE_MS` (`2000`, `2s`): the longest another replica may
    /// accept a key rotated elsewhere. Zero turns the memory off.
    #[serde(
        rename = "users_stream_key_cache_ms",
        default = "default_stream_key_cache",
        deserialize_with = "duration::millis"
    )]
    pub stream_key_cache: Duration,
}

/// Access tokens and the session cookie that carries one.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// `FERROCAST_JWT_SECRET`: HS256 key of access tokens, at least 32 bytes.
    #[serde(default)]
    pub jwt_secret: Option<Secret>,
    /// `FERROCAST_USERS_TOKEN_TTL_SECONDS` (`3600`, `1h`): access token lifetime.
    #[serde(
        rename = "users_token_ttl_seconds",
        default = "default_token_ttl",
        deserialize_with = "duration::seconds"
    )]
    pub ttl: Duration,
    /// `FERROCAST_COOKIE_SECURE`: `false` only for plain-http local runs, since browsers drop
    /// Secure cookies over http.
    #[serde(default = "default_true")]
    pub cookie_secure: bool,
}

/// What bounds the work one client can cause.
#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    /// `FERROCAST_USERS_PASSWORD_QUEUE_MS`: how long a signup or login waits for a free
    /// password-hashing slot before it is answered 503 `busy` with `Retry-After`. Keep it below
    /// the gateway's response deadline (8 s) minus one hash, or the gateway answers 504 first.
    #[serde(
        rename = "users_password_queue_ms",
        default = "default_password_queue",
        deserialize_with = "duration::millis"
    )]
    pub password_queue: Duration,
    /// Rate limits, each `<count>/<seconds>` (defaults and why in [`RateLimits::default`]).
    /// `FERROCAST_USERS_LOGIN_LIMIT_PER_ACCOUNT`: failed logins per login name.
    #[serde(
        rename = "users_login_limit_per_account",
        default = "default_login_per_account"
    )]
    pub login_per_account: RateLimit,
    /// `FERROCAST_USERS_LOGIN_LIMIT_PER_ADDRESS`: login attempts per client address.
    #[serde(
        rename = "users_login_limit_per_address",
        default = "default_login_per_address"
    )]
    pub login_per_address: RateLimit,
    /// `FERROCAST_USERS_SIGNUP_LIMIT_PER_ADDRESS`: signups per client address.
    #[serde(
        rename = "users_signup_limit_per_address",
        default = "default_signup_per_address"
    )]
    pub signup_per_address: RateLimit,
    /// `FERROCAST_USERS_KEY_ROTATION_LIMIT_PER_ACCOUNT`: stream key rotations per account.
    #[serde(
        rename = "users_key_rotation_limit_per_account",
        default = "default_key_rotation_per_account"
    )]
    pub key_rotation_per_account: RateLimit,
    /// `FERROCAST_USERS_KEY_ROTATION_LIMIT_PER_ADDRESS`: stream key rotations per address.
    #[serde(
        rename = "users_key_rotation_limit_per_address",
        default = "default_key_rotation_per_address"
    )]
    pub key_rotation_per_address: RateLimit,
}

ferrocast_kit::config_sections!(Config for ferrocast_kit::config::known::Service::Users => {
    common: Common,
    listen: Listen,
    clients: Clients,
    store: Store,
    tokens: Tokens,
    limits: Limits,
});

fn default_http_addr() -> String {
    "127.0.0.1:8081".into()
}
fn default_grpc_addr() -> String {
    "127.0.0.1:50051".into()
}
fn default_mongodb_url() -> String {
    "mongodb://127.0.0.1:27017".into()
}
fn default_mongodb_database() -> String {
    "ferrocast".into()
}
fn default_true() -> bool {
    true
}
fn default_token_ttl() -> Duration {
    Duration::from_secs(3600)
}
fn default_stream_key_cache() -> Duration {
    Duration::from_secs(2)
}
fn default_password_queue() -> Duration {
    Duration::from_secs(3)
}
fn default_login_per_account() -> RateLimit {
    RateLimits::default().login_per_account
}
fn default_login_per_address() -> RateLimit {
    RateLimits::default().login_per_address
}
fn default_signup_per_address() -> RateLimit {
    RateLimits::default().signup_per_address
}
fn default_key_rotation_per_account() -> RateLimit {
    RateLimits::default().key_rotation_per_account
}
fn default_key_rotation_per_address() -> RateLimit {
    RateLimits::default().key_rotation_per_address
}

/// The checked settings `start` runs with.
pub(crate) struct Resolved {
    pub jwt_secret: Secret,
    pub service_token: Secret,
    pub token_lifetime: Duration,
    pub password_queue_limit: Duration,
}

impl Config {
    /// Dev secrets, ports 0 on loopback, cookie not `Secure`: what in-process tests need. The
    /// rate limits are [`RateLimits::generous`]: every test client shares one loopback address
    /// and many make dozens of accounts; the tests of the limits call [`Self::set_rate_limits`].
    pub fn for_tests(mongodb_url: impl Into<String>, database: impl Into<String>) -> Self {
        let mut config = Self {
            common: Common {
                dev_mode: true,
                service_token: Some(Secret::new(ferrocast_kit::config::TEST_SERVICE_TOKEN)),
            },
            listen: Listen {
                http_addr: "127.0.0.1:0".into(),
                grpc_addr: "127.0.0.1:0".into(),
            },
            clients: Clients::default(),
            store: Store {
                url: mongodb_url.into(),
                database: database.into(),
                stream_key_cache: default_stream_key_cache(),
            },
            tokens: Tokens {
                jwt_secret: Some(Secret::new(DEV_JWT_SECRET)),
                ttl: default_token_ttl(),
                cookie_secure: false,
            },
            limits: Limits {
                password_queue: default_password_queue(),
                login_per_account: default_login_per_account(),
                login_per_address: default_login_per_address(),
                signup_per_address: default_signup_per_address(),
                key_rotation_per_account: default_key_rotation_per_account(),
                key_rotation_per_address: default_key_rotation_per_address(),
            },
        };
        config.set_rate_limits(RateLimits::generous());
        config
    }

    pub fn rate_limits(&self) -> RateLimits {
        let limits = &self.limits;
        RateLimits {
            login_per_account: limits.login_per_account,
            login_per_address: limits.login_per_address,
            signup_per_address: limits.signup_per_address,
            key_rotation_per_account: limits.key_rotation_per_account,
            key_rotation_per_address: limits.key_rotation_per_address,
        }
    }

    pub fn set_rate_limits(&mut self, limits: RateLimits) {
        self.limits.login_per_account = limits.login_per_account;
        self.limits.login_per_address = limits.login_per_address;
        self.limits.signup_per_address = limits.signup_per_address;
        self.limits.key_rotation_per_account = limits.key_rotation_per_account;
        self.limits.key_rotation_per_address = limits.key_rotation_per_address;
    }

    pub(crate) fn resolve(&self) -> Result<Resolved, ConfigError> {
        for (variable, addr) in [
            ("FERROCAST_USERS_HTTP_ADDR", &self.listen.http_addr),
            ("FERROCAST_USERS_GRPC_ADDR", &self.listen.grpc_addr),
        ] {
            ensure(
                addr.parse::<SocketAddr>().is_ok(),
                format!("{variable} must be IP:PORT, got {addr:?}"),
            )?;
        }
        let store = &self.store;
        ensure(
            store.url.starts_with("mongodb://") || store.url.starts_with("mongodb+srv://"),
            "FERROCAST_MONGODB_URL must start with mongodb:// or mongodb+srv://",
        )?;
        ensure(
            !store.database.is_empty() && !store.database.contains(['/', '.', ' ', '$']),
            "FERROCAST_MONGODB_DATABASE must be a plain database name",
        )?;
        let minute = Duration::from_secs(60);
        ensure(
            store.stream_key_cache <= minute,
            "FERROCAST_USERS_STREAM_KEY_CACHE_MS must be at most 60s (a rotated key must stop working soon)",
        )?;
        ensure(
            (Duration::from_millis(1)..=minute).contains(&self.limits.password_queue),
            "FERROCAST_USERS_PASSWORD_QUEUE_MS must be between 1ms and 60s",
        )?;
        ensure(
            (minute..=Duration::from_secs(86_400)).contains(&self.tokens.ttl),
            "FERROCAST_USERS_TOKEN_TTL_SECONDS must be between 60s and 24h",
        )?;
        self.clients.validate()?;
        let jwt_secret = self.secret(
            "FERROCAST_JWT_SECRET",
            self.tokens.jwt_secret.as_ref(),
            DEV_JWT_SECRET,
        )?;
        ensure(
            jwt_secret.expose().len() >= MIN_JWT_SECRET_BYTES,
            format!("FERROCAST_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes"),
        )?;
        let service_token = self.common.service_token()?;
        Ok(Resolved {
            jwt_secret,
            service_token,
            token_lifetime: self.tokens.ttl,
            password_queue_limit: self.limits.password_queue,
        })
    }

    /// A configured secret, or the built-in one in dev mode; the built-in one is refused
    /// outside dev mode even when set explicitly, since it is public.
    fn secret(
        &self,
        variable: &str,
        configured: Option<&Secret>,
        dev: &str,
    ) -> Result<Secret, ConfigError> {
        match configured {
            Some(secret) => {
                ensure(
                    self.common.dev_mode || secret.expose() != dev,
                    format!("{variable} is the public dev value; set a real secret or FERROCAST_DEV_MODE=true"),
                )?;
                Ok(secret.clone())
            }
            None if self.common.dev_mode => {
                tracing::warn!(
                    variable,
                    "not set; using the built-in dev value (dev mode only)"
                );
                Ok(Secret::new(dev))
            }
            None => Err(ConfigError(format!(
                "{variable} is required unless FERROCAST_DEV_MODE=true"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_known_variable_of_users() {
        // The list the start checks names against, which docs/api.md's table is tested against.
        Config::check_known_variables()
            .expect("add the variable to crates/kit/src/config/known.rs and docs/api.md");
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        ferrocast_kit::config::from_iter(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = load(&[]).unwrap();
        assert_eq!(config.listen.http_addr, "127.0.0.1:8081");
        assert_eq!(config.listen.grpc_addr, "127.0.0.1:50051");
        assert_eq!(config.store.database, "ferrocast");
        assert_eq!(config.limits.password_queue, Duration::from_secs(3));
        assert!(config.tokens.cookie_secure);
        assert_eq!(config.rate_limits(), RateLimits::default());
    }

    #[test]
    fn rate_limits_are_read_as_count_per_seconds_and_checked() {
        let config = load(&[("FERROCAST_USERS_LOGIN_LIMIT_PER_ACCOUNT", "3/120")]).unwrap();
        assert_eq!(
            config.rate_limits().login_per_account,
            RateLimit::per_seconds(3, 120)
        );
        let error = load(&[("FERROCAST_USERS_SIGNUP_LIMIT_PER_ADDRESS", "0/60")])
            .err()
            .unwrap();
        assert!(error.to_string().contains("count"), "{error}");
    }

    #[test]
    fn missing_secrets_are_refused_outside_dev_mode() {
        let error = load(&[]).unwrap().resolve().err().unwrap();
        assert!(
            error.to_string().contains("FERROCAST_JWT_SECRET"),
            "{error}"
        );
    }

    #[test]
    fn dev_mode_falls_back_to_the_built_in_secrets() {
        let resolved = load(&[("FERROCAST_DEV_MODE", "true")])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(resolved.service_token.expose(), DEV_SERVICE_TOKEN);
    }

    #[test]
    fn a_short_jwt_secret_is_refused_even_in_dev_mode() {
        let config = load(&[
            ("FERROCAST_DEV_MODE", "true"),
            ("FERROCAST_JWT_SECRET", "short"),
        ])
        .unwrap();
        let error = config.resolve().err().unwrap();
        assert!(error.to_string().contains("32 bytes"), "{error}");
    }

    #[test]
    fn the_dev_secret_is_refused_outside_dev_mode() {
        let config = load(&[
            ("FERROCAST_JWT_SECRET", DEV_JWT_SECRET),
            ("FERROCAST_SERVICE_TOKEN", "a-real-token"),
        ])
        .unwrap();
        assert!(config.resolve().is_err());
    }

    #[test]
    fn real_secrets_resolve() {
        let config = load(&[
            ("FERROCAST_JWT_SECRET", &"k".repeat(32)),
            ("FERROCAST_SERVICE_TOKEN", &"t".repeat(32)),
        ])
        .unwrap();
        assert!(config.resolve().is_ok());
        let short = load(&[
            ("FERROCAST_JWT_SECRET", &"k".repeat(32)),
            ("FERROCAST_SERVICE_TOKEN", "a-real-token"),
        ])
        .unwrap();
        assert!(
            short.resolve().is_err(),
            "one service-token rule everywhere"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = Config::for_tests("mongodb://x", "db");
        assert!(!format!("{config:?}").contains(DEV_JWT_SECRET));
    }

    #[test]
    fn a_password_queue_of_zero_is_refused() {
        let mut config = Config::for_tests("mongodb://x", "db");
        config.limits.password_queue = Duration::ZERO;
        let error = config.resolve().err().unwrap();
        assert!(
            error
                .to_string()
                .contains("FERROCAST_USERS_PASSWORD_QUEUE_MS"),
            "{error}"
        );
    }

    #[test]
    fn durations_are_written_as_durations_or_in_the_unit_of_their_name() {
        let config = load(&[
            ("FERROCAST_USERS_TOKEN_TTL_SECONDS", "2h"),
            ("FERROCAST_USERS_STREAM_KEY_CACHE_MS", "500"),
            ("FERROCAST_USERS_PASSWORD_QUEUE_MS", "1.5s"),
        ])
        .expect("parses");
        assert_eq!(config.tokens.ttl, Duration::from_secs(7200));
        assert_eq!(config.store.stream_key_cache, Duration::from_millis(500));
        assert_eq!(config.limits.password_queue, Duration::from_millis(1500));
        assert_eq!(
            load(&[("FERROCAST_USERS_TOKEN_TTL_SECONDS", "3600")])
                .expect("parses")
                .tokens
                .ttl,
            Duration::from_secs(3600)
        );
        for (name, value) in [
            ("FERROCAST_USERS_TOKEN_TTL_SECONDS", "30s"),
            ("FERROCAST_USERS_TOKEN_TTL_SECONDS", "2d"),
            ("FERROCAST_USERS_STREAM_KEY_CACHE_MS", "2m"),
            ("FERROCAST_USERS_PASSWORD_QUEUE_MS", "0ms"),
        ] {
            let refused = load(&[("FERROCAST_DEV_MODE", "true"), (name, value)])
                .and_then(|config| config.resolve().map(|_| ()));
            let error = refused.expect_err(value).to_string();
            assert!(error.contains(name) || error.contains(value), "{error}");
        }
    }

    #[test]
    fn a_malformed_address_is_named() {
        let mut config = Config::for_tests("mongodb://x", "db");
        config.listen.http_addr = "localhost".into();
        let error = config.resolve().err().unwrap();
        assert!(
            error.to_string().contains("FERROCAST_USERS_HTTP_ADDR"),
            "{error}"
        );
    }
}
