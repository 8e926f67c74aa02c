//! Durations in configuration, written as durations: `5s`, `250ms`, `1.5s`, `2m`, `1h`.
//!
//! A bare number is read in the unit its variable's name ends with (`_SECONDS`, `_MS`), so every
//! value written before units were accepted keeps its meaning. A config field opts in with
//! `#[serde(deserialize_with = "ferrocast_kit::config::duration::seconds")]` (or `millis`).

use std::{fmt, time::Duration};

use serde::{de, Deserializer};

/// Reads `text` as a duration; a bare number counts `bare` units.
pub fn parse(text: &str, bare: Duration) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = (text[..split].trim(), text[split..].trim());
    let scale = match unit {
        "" => bare,
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (write e.g. 5s, 250ms, 2m, 1h)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (write e.g. 5s, 250ms, 2m, 1h)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a duration of zero or more"));
    }
    Duration::try_from_secs_f64(value * scale.as_secs_f64())
        .map_err(|_| format!("{text:?} is too long"))
}

/// A duration whose bare numbers are seconds (variables named `…_SECONDS`).
pub fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor(Duration::from_secs(1)))
}

/// A duration whose bare numbers are milliseconds (variables named `…_MS`).
pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor(Duration::from_millis(1)))
}

/// A duration whose bare numbers are milliseconds, kept as whole milliseconds: for a setting the
/// code still holds as an integer.
pub fn whole_millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = millis(deserializer)?;
    u64::try_from(value.as_millis()).map_err(|_| de::Error::custom("duration too long"))
}

struct DurationVisitor(Duration);

impl de::Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 5s or 250ms")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse(text, self.0).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Duration, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Duration, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Duration, E> {
        self.visit_str(&value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);
    const MILLI: Duration = Duration::from_millis(1);

    #[test]
    fn units_and_bare_numbers() {
        for (text, bare, expected) in [
            ("5s", MILLI, Duration::from_secs(5)),
            ("250ms", SECOND, Duration::from_millis(250)),
            ("1.5s", MILLI, Duration::from_millis(1500)),
            ("2m", SECOND, Duration::from_secs(120)),
            ("1h", SECOND, Duration::from_secs(3600)),
            (" 45 s ", SECOND, Duration::from_secs(45)),
            ("15", SECOND, Duration::from_secs(15)),
            ("1000", MILLI, Duration::from_secs(1)),
            ("0", MILLI, Duration::ZERO),
            ("0.5", SECOND, Duration::from_millis(500)),
        ] {
            assert_eq!(parse(text, bare), Ok(expected), "{text}");
        }
    }

    #[test]
    fn nonsense_is_refused_with_an_example() {
        for text in [
            "", "s", "5 sec", "-1s", "5d", "fast", "inf", "NaN", "1e300h",
        ] {
            let error = parse(text, SECOND).expect_err(text);
            assert!(error.contains(text.trim()), "{error}");
        }
        assert!(parse("5x", SECOND).expect_err("unit").contains("250ms"));
    }

    #[test]
    fn reads_from_the_environment() {
        #[derive(serde::Deserialize)]
        struct Timing {
            #[serde(deserialize_with = "seconds")]
            lease_seconds: Duration,
            #[serde(deserialize_with = "millis")]
            sweep_ms: Duration,
            #[serde(default, deserialize_with = "whole_millis")]
            timeout_ms: u64,
        }
        let timing: Timing = crate::config::from_pairs(&[
            ("FERROCAST_LEASE_SECONDS", "45"),
            ("FERROCAST_SWEEP_MS", "1s"),
            ("FERROCAST_TIMEOUT_MS", "2.5s"),
        ])
        .expect("valid");
        assert_eq!(timing.timeout_ms, 2500);
        assert_eq!(timing.lease_seconds, Duration::from_secs(45));
        assert_eq!(timing.sweep_ms, Duration::from_secs(1));
        let error = crate::config::from_pairs::<Timing>(&[
            ("FERROCAST_LEASE_SECONDS", "soon"),
            ("FERROCAST_SWEEP_MS", "1s"),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("soon"), "{error}");
    }
}
