//! The public name of a user as it appears in `/hls/{username}/...` URLs.
//!
//! Same rule as the users service (`^[a-z0-9_]{3,24}$`, already case-folded): the gateway refuses
//! anything else before it asks rooms, so odd names never reach a lookup or an upstream URL.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a username is 3 to 24 characters of a-z, 0-9 and `_`")]
pub struct InvalidUsername;

impl Username {
    pub fn parse(raw: &str) -> Result<Self, InvalidUsername> {
        let valid_len = (3..=24).contains(&raw.len());
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid_len && valid_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidUsername)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_users_service_alphabet() {
        assert_eq!(
            Username::parse("alice_01").map(|u| u.to_string()),
            Ok("alice_01".into())
        );
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(24)).is_ok());
    }

    #[test]
    fn refuses_case_length_and_punctuation() {
        for raw in [
            "Alice",
            "ab",
            &"a".repeat(25),
            "a.b.c",
            "al ice",
            "..",
            "al%2e",
        ] {
            assert_eq!(Username::parse(raw), Err(InvalidUsername), "{raw}");
        }
    }
}
