//! `Username`: the public, unique handle of a streamer, also used in room URLs and HLS paths, so
//! its alphabet is deliberately tiny (`^[a-z0-9_]{3,24}$` after case folding).

use std::fmt;

/// A valid, lowercase username.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const RULE: &'static str =
        "must be 3 to 24 characters of lowercase letters, digits or underscore";

    /// Case-folds and checks `raw`; the error is the message shown for the field.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let folded = raw.to_ascii_lowercase();
        let length_ok = (3..=24).contains(&folded.len());
        let alphabet_ok = folded
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if length_ok && alphabet_ok {
            Ok(Self(folded))
        } else {
            Err(Self::RULE.to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_case_is_folded_to_lowercase() {
        assert_eq!(Username::parse("Alice_01").unwrap().as_str(), "alice_01");
    }

    #[test]
    fn length_bounds_are_3_and_24() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(24)).is_ok());
        assert!(Username::parse(&"a".repeat(25)).is_err());
    }

    #[test]
    fn characters_outside_the_alphabet_are_refused() {
        for bad in [
            "al ice", "al-ice", "al.ice", "ålice", "alice\n", "../etc", "",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn non_ascii_that_lowercases_to_ascii_is_refused() {
        // The Kelvin sign lowercases to `k` under Unicode rules; ASCII folding keeps it out.
        assert!(Username::parse("\u{212A}elvin").is_err());
    }
}
