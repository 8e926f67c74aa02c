//! Typed configuration from the environment.
//!
//! Each service declares one `serde` struct whose field `foo_bar` is read from
//! `FERROCAST_FOO_BAR`, with defaults that work on a developer machine. Loading fails with a
//! message naming the variable, so a typo is caught at start instead of at the first request.

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

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Reads `T` from the process environment.
pub fn from_env<T: DeserializeOwned>() -> Result<T, ConfigError> {
    from_iter(std::env::vars())
}

/// Reads `T` from the given variables (tests pass their own instead of mutating the process env).
pub fn from_iter<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    envy::prefixed(ENV_PREFIX)
        .from_iter(vars)
        .map_err(|e| ConfigError(describe(e)))
}

fn describe(error: envy::Error) -> String {
    match error {
        envy::Error::MissingValue(field) => {
            format!("{ENV_PREFIX}{} is required", field.to_uppercase())
        }
        envy::Error::Custom(message) => format!("{message} (check the {ENV_PREFIX}* variables)"),
    }
}

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
