//! Typed configuration from the environment.
//!
//! Each service declares one `serde` struct whose field `foo_bar` is read from
//! `FERROCAST_FOO_BAR`, with defaults that work on a developer machine. Loading fails with a
//! message naming the variable, so a bad value is caught at start instead of at the first
//! request; and a `FERROCAST_*` name no service reads (a typo, a retired setting) stops the start
//! too, naming the closest known variable ([`known`]).

pub mod clients;
pub mod content_keys;
pub mod duration;
pub mod known;
pub mod nats;
pub mod storage;

use serde::{de::DeserializeOwned, Deserialize};

pub const ENV_PREFIX: &str = "FERROCAST_";

/// A configured secret (JWT key, service token): deserialises from the plain value and never
/// prints it, so a config struct can derive `Debug` and be logged at start.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The section every service's config starts with: dev mode and the service token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Common {
    /// `FERROCAST_DEV_MODE`: allows the built-in dev secrets (never in a deployment).
    #[serde(default)]
    pub dev_mode: bool,
    /// `FERROCAST_SERVICE_TOKEN`: presented on, and required by, every internal call.
    #[serde(default)]
    pub service_token: Option<Secret>,
}

impl Common {
    /// A test config's: dev mode off, `service_token` set.
    pub fn for_tests(service_token: impl Into<String>) -> Self {
        Self {
            dev_mode: false,
            service_token: Some(Secret::new(service_token)),
        }
    }

    /// The service token under [`service_token`]'s one rule.
    pub fn service_token(&self) -> Result<Secret, ConfigError> {
        service_token(
            self.dev_mode,
            self.service_token.as_ref(),
            DEV_SERVICE_TOKEN,
        )
    }
}

/// The variable every service reads its service token from.
pub const SERVICE_TOKEN_VARIABLE: &str = "FERROCAST_SERVICE_TOKEN";

/// Shortest service token accepted outside dev mode: the same bar as the JWT secret (256 bits
/// when random), since either one opens the internal surface of every service.
pub const MIN_SERVICE_TOKEN_BYTES: usize = 32;

/// The service token every service falls back to in dev mode (`FERROCAST_DEV_MODE=true`) when
/// none is configured. Defined once here so every service agrees; each refuses it outside dev
/// mode ([`service_token`]).
pub const DEV_SERVICE_TOKEN: &str = "ferrocast-dev-service-token";

/// The token in-process tests give every service (`Config::for_tests`): long enough for the
/// rule below, so tests run the services outside dev mode. Public, like the dev token.
pub const TEST_SERVICE_TOKEN: &str = "ferrocast-test-service-token-not-for-production";

/// The one rule every service applies to its service token.
///
/// Outside dev mode a token is required, at least [`MIN_SERVICE_TOKEN_BYTES`] long, printable
/// ASCII (it travels in HTTP headers and gRPC metadata) and not `dev_token`, which is public. In
/// dev mode a configured token must still be printable; without one, `dev_token` is used.
pub fn service_token(
    dev_mode: bool,
    configured: Option<&Secret>,
    dev_token: &str,
) -> Result<Secret, ConfigError> {
    let Some(token) = configured.filter(|t| !t.expose().is_empty()) else {
        ensure(
            dev_mode,
            format!("{SERVICE_TOKEN_VARIABLE} is required unless FERROCAST_DEV_MODE=true"),
        )?;
        return Ok(Secret::new(dev_token));
    };
    ensure(
        token.expose().bytes().all(|b| b.is_ascii_graphic()),
        format!("{SERVICE_TOKEN_VARIABLE} must be printable ASCII without spaces"),
    )?;
    if !dev_mode {
        ensure(
            token.expose() != dev_token,
            format!("{SERVICE_TOKEN_VARIABLE} is the public dev value; set a real secret or FERROCAST_DEV_MODE=true"),
        )?;
        ensure(
            token.expose().len() >= MIN_SERVICE_TOKEN_BYTES,
            format!("{SERVICE_TOKEN_VARIABLE} must be at least {MIN_SERVICE_TOKEN_BYTES} bytes"),
        )?;
    }
    Ok(token.clone())
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Reads `T` from the process environment, after refusing any `FERROCAST_*` variable no service
/// reads ([`known::check`]).
pub fn from_env<T: DeserializeOwned>() -> Result<T, ConfigError> {
    load(std::env::vars())
}

/// What [`from_env`] does, on the given variables: refuses unknown `FERROCAST_*` names, then
/// reads `T`.
pub fn load<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let vars: Vec<(String, String)> = vars.into_iter().collect();
    known::check(vars.iter().map(|(name, _)| name.as_str()))?;
    from_iter(vars)
}

/// Reads `T` from the given variables (tests pass their own instead of mutating the process env).
/// Only reads: names `T` does not know are ignored here; [`load`] refuses the unknown ones.
pub fn from_iter<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let vars: Vec<(String, String)> = vars.into_iter().collect();
    let read = |vars: Vec<(String, String)>| envy::prefixed(ENV_PREFIX).from_iter::<_, T>(vars);
    read(vars.clone()).map_err(|error| {
        ConfigError(match error {
            envy::Error::MissingValue(field) => {
                format!("{ENV_PREFIX}{} is required", field.to_uppercase())
            }
            // A section's errors (see `section`) already name their variable.
            envy::Error::Custom(message) if message.starts_with(ENV_PREFIX) => message,
            envy::Error::Custom(message) => match culprit(&vars, &message, read) {
                Some(name) => named(&name, &message),
                None => format!("{message} (check the {ENV_PREFIX}* variables)"),
            },
        })
    })
}

/// The variable whose value alone fails the way all of them did: a field's value is parsed on
/// its own, so a bad one gives the same error with or without its neighbours (only a missing
/// field would fail differently, and that is another kind of error). Only runs once loading has
/// failed.
fn culprit<T>(
    vars: &[(String, String)],
    message: &str,
    read: impl Fn(Vec<(String, String)>) -> envy::Result<T>,
) -> Option<String> {
    vars.iter()
        .find(|var| {
            matches!(read(vec![(*var).clone()]), Err(envy::Error::Custom(alone)) if alone == message)
        })
        .map(|(name, _)| name.clone())
}

/// `message` led by the variable it is about (`FERROCAST_ROOM_LEASE_SECONDS: …`), without the
/// `provided by NAME` envy appends to the numbers it parses itself.
fn named(name: &str, message: &str) -> String {
    let bare = name.strip_prefix(ENV_PREFIX).unwrap_or(name);
    let message = message
        .strip_suffix(&format!(" provided by {bare}"))
        .unwrap_or(message);
    format!("{ENV_PREFIX}{bare}: {message}")
}

/// Reads one section of a config made of typed sections, from the variables the config's own
/// `Deserialize` received as a map (without the prefix, as envy hands them over). A service
/// groups its flat `FERROCAST_*` variables into parts this way and stays readable by
/// [`from_env`]; each section is a plain struct, so [`known::check_fields`] can list its fields.
pub fn section<T: DeserializeOwned, E: serde::de::Error>(
    vars: &std::collections::BTreeMap<String, String>,
) -> Result<T, E> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| (name.to_uppercase(), value.clone()))
        .collect();
    let read = |vars: Vec<(String, String)>| envy::from_iter::<_, T>(vars);
    read(vars.clone()).map_err(|error| match error {
        envy::Error::MissingValue(field) => {
            E::custom(format!("{ENV_PREFIX}{} is required", field.to_uppercase()))
        }
        envy::Error::Custom(message) => match culprit(&vars, &message, read) {
            Some(name) => E::custom(named(&name, &message)),
            None => E::custom(message),
        },
    })
}

/// `Deserialize` for a config made of typed sections: every field named is a section, read by
/// [`section`] from the one flat `FERROCAST_*` namespace the config receives. Given the service
/// and each section's type, it also writes `check_known_variables()`, which checks every
/// section's fields against the known-variable list ([`known::check_fields`]), so the sections
/// read and the sections checked are one list.
///
/// ```ignore
/// ferrocast_kit::config_sections!(Config for Service::Rooms { common: Common, listen: Listen });
/// ```
#[macro_export]
macro_rules! config_sections {
    ($config:ident for $service:expr => { $($section:ident: $kind:ty),+ $(,)? }) => {
        $crate::config_sections!($config { $($section),+ });

        impl $config {
            /// Checks every section's fields against the known-variable list (a test runs it).
            pub fn check_known_variables() -> Result<(), $crate::config::ConfigError> {
                $($crate::config::known::check_fields::<$kind>($service)?;)+
                Ok(())
            }
        }
    };
    ($config:ident { $($section:ident),+ $(,)? }) => {
        /// Read from the flat `FERROCAST_*` namespace: every section takes its own variables.
        impl<'de> $crate::config::serde::Deserialize<'de> for $config {
            fn deserialize<D: $crate::config::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let vars = <::std::collections::BTreeMap<String, String> as
                    $crate::config::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self {
                    $($section: $crate::config::section(&vars)?,)+
                })
            }
        }
    };
}

/// For [`config_sections!`] in the services' crates.
#[doc(hidden)]
pub use serde;

/// Reads `T` from literal `(name, value)` pairs: how unit tests state the environment they mean.
pub fn from_pairs<T: DeserializeOwned>(pairs: &[(&str, &str)]) -> Result<T, ConfigError> {
    from_iter(
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    )
}

/// A check run after loading: turns a rule violation into a [`ConfigError`].
pub fn ensure(condition: bool, message: impl Into<String>) -> Result<(), ConfigError> {
    if condition {
        Ok(())
    } else {
        Err(ConfigError(message.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Sample {
        http_addr: String,
        #[serde(default = "default_limit")]
        limit: u32,
    }

    fn default_limit() -> u32 {
        7
    }

    #[test]
    fn reads_prefixed_variables_and_applies_defaults() {
        let sample: Sample = from_pairs(&[("FERROCAST_HTTP_ADDR", "127.0.0.1:1")]).expect("valid");
        assert_eq!(sample.http_addr, "127.0.0.1:1");
        assert_eq!(sample.limit, 7);
    }

    #[test]
    fn missing_required_variable_is_named_in_the_error() {
        let error = from_pairs::<Sample>(&[]).expect_err("missing");
        assert!(error.to_string().contains("FERROCAST_HTTP_ADDR"), "{error}");
    }

    #[test]
    fn malformed_number_is_reported() {
        let error =
            from_pairs::<Sample>(&[("FERROCAST_HTTP_ADDR", "x"), ("FERROCAST_LIMIT", "many")])
                .expect_err("malformed");
        assert!(error.to_string().contains("many"), "{error}");
    }

    #[test]
    fn loading_refuses_a_misspelled_variable_and_accepts_other_services_ones() {
        #[derive(serde::Deserialize, Debug)]
        struct Rooms {
            #[serde(default)]
            room_lease_seconds: u64,
        }
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let error = load::<Rooms>(vars(&[("FERROCAST_ROOM_LEASE_SECOND", "45")]))
            .expect_err("a typo stops the start");
        let message = error.to_string();
        assert!(
            message.contains("FERROCAST_ROOM_LEASE_SECOND "),
            "{message}"
        );
        assert!(
            message.contains("FERROCAST_ROOM_LEASE_SECONDS?"),
            "{message}"
        );
        let rooms: Rooms = load(vars(&[
            ("FERROCAST_ROOM_LEASE_SECONDS", "45"),
            ("FERROCAST_JWT_SECRET", "read by users, not rooms"),
            ("FERROCAST_TEST_REDIS_URL", "redis://127.0.0.1:1"),
        ]))
        .expect("other services' and the tools' variables pass");
        assert_eq!(rooms.room_lease_seconds, 45);
    }

    #[test]
    fn a_config_of_sections_reads_each_from_the_flat_variables() {
        #[derive(serde::Deserialize, Debug)]
        struct Listen {
            http_addr: String,
            #[serde(default = "default_limit")]
            limit: u32,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Store {
            #[serde(rename = "store_url")]
            url: String,
        }
        #[derive(Debug)]
        struct Sectioned {
            listen: Listen,
            store: Store,
        }
        crate::config_sections!(Sectioned { listen, store });
        let config: Sectioned = from_pairs(&[
            ("FERROCAST_HTTP_ADDR", "127.0.0.1:1"),
            ("FERROCAST_LIMIT", "9"),
            ("FERROCAST_STORE_URL", "redis://x"),
        ])
        .expect("valid");
        assert_eq!(config.listen.http_addr, "127.0.0.1:1");
        assert_eq!(config.listen.limit, 9);
        assert_eq!(config.store.url, "redis://x");
        let missing = from_pairs::<Sectioned>(&[("FERROCAST_HTTP_ADDR", "127.0.0.1:1")])
            .expect_err("no store url");
        assert!(
            missing.to_string().contains("FERROCAST_STORE_URL"),
            "{missing}"
        );
        let bad = from_pairs::<Sectioned>(&[
            ("FERROCAST_HTTP_ADDR", "127.0.0.1:1"),
            ("FERROCAST_LIMIT", "many"),
            ("FERROCAST_STORE_URL", "redis://x"),
        ])
        .expect_err("bad number");
        assert!(bad.to_string().contains("many"), "{bad}");
    }

    #[test]
    fn a_value_that_does_not_parse_is_named_by_its_variable() {
        #[derive(serde::Deserialize, Debug)]
        struct Leases {
            #[serde(
                rename = "room_lease_seconds",
                deserialize_with = "duration::seconds",
                default = "fifteen_seconds"
            )]
            lease: std::time::Duration,
            #[serde(default)]
            sweep_batch: u32,
        }
        fn fifteen_seconds() -> std::time::Duration {
            std::time::Duration::from_secs(15)
        }
        #[derive(Debug)]
        struct Rooms {
            leases: Leases,
        }
        crate::config_sections!(Rooms { leases });
        let in_a_section = |pairs: &[(&str, &str)]| from_pairs::<Rooms>(pairs).map(|_| ());
        let flat = |pairs: &[(&str, &str)]| from_pairs::<Leases>(pairs).map(|_| ());
        for read in [in_a_section, flat] {
            let error = read(&[
                ("FERROCAST_DEV_MODE", "true"),
                ("FERROCAST_ROOM_LEASE_SECONDS", "soon"),
            ])
            .expect_err("not a duration")
            .to_string();
            assert!(
                error.contains("FERROCAST_ROOM_LEASE_SECONDS: \"soon\""),
                "{error}"
            );
            let error = read(&[
                ("FERROCAST_ROOM_LEASE_SECONDS", "45s"),
                ("FERROCAST_SWEEP_BATCH", "many"),
            ])
            .expect_err("not a number")
            .to_string();
            assert!(error.contains("FERROCAST_SWEEP_BATCH: "), "{error}");
            assert!(error.contains("'many'"), "{error}");
            assert!(!error.contains("provided by"), "{error}");
        }
        let valid = [
            ("FERROCAST_ROOM_LEASE_SECONDS", "45s"),
            ("FERROCAST_SWEEP_BATCH", "3"),
        ];
        let leases = from_pairs::<Rooms>(&valid).expect("valid").leases;
        assert_eq!(
            (leases.lease, leases.sweep_batch),
            (std::time::Duration::from_secs(45), 3)
        );
    }

    #[test]
    fn one_service_token_rule() {
        let dev = "public-dev-token";
        let strong = Secret::new("s".repeat(MIN_SERVICE_TOKEN_BYTES));
        assert_eq!(
            service_token(false, Some(&strong), dev)
                .map(|t| t.expose().len())
                .ok(),
            Some(MIN_SERVICE_TOKEN_BYTES)
        );
        for refused in [
            None,
            Some(Secret::new("")),
            Some(Secret::new(dev)),
            Some(Secret::new("short")),
        ] {
            assert!(service_token(false, refused.as_ref(), dev).is_err());
        }
        let spaced = Secret::new(format!("{} x", "s".repeat(40)));
        assert!(service_token(false, Some(&spaced), dev).is_err());
        assert!(service_token(true, Some(&spaced), dev).is_err());
        assert_eq!(
            service_token(true, None, dev)
                .map(|t| t.expose().to_owned())
                .ok(),
            Some(dev.to_owned())
        );
        assert!(service_token(true, Some(&Secret::new("short")), dev).is_ok());
    }

    #[test]
    fn secrets_are_read_but_never_printed() {
        #[derive(serde::Deserialize, Debug)]
        struct WithSecret {
            token: Secret,
        }
        let config: WithSecret =
            from_pairs(&[("FERROCAST_TOKEN", "hunter2-hunter2")]).expect("valid");
        assert_eq!(config.token.expose(), "hunter2-hunter2");
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }
}
