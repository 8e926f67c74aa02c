//! Identifiers that can only be built valid: `Username`, `SessionId`, `ViewerId`, and
//! `StreamKey`, the one secret this service ever holds (no `Display`, a redacted `Debug`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("username must be 3-24 characters of a-z, 0-9 and _")]
    Username,
    #[error("session id must be 1-128 characters of A-Z, a-z, 0-9 and . _ : -")]
    SessionId,
    #[error("viewer id must be 1-64 characters of A-Z, a-z, 0-9, _ and -")]
    ViewerId,
    #[error("stream key must be 1-256 visible ASCII characters")]
    StreamKey,
}

/// The public name of a user, and so of their room and HLS folder: `^[a-z0-9_]{3,24}$` after
/// case folding (the users service's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let folded = raw.to_ascii_lowercase();
        let valid = (3..=24).contains(&folded.len())
            && folded
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(folded))
        } else {
            Err(IdError::Username)
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

/// One publish of one stream. Our ingest sends its own (a uuid); for nginx-rtmp it is derived
/// from the connection (`clientid`, `addr`, `app`), which every callback of that publish repeats.
/// The character set keeps it safe inside Redis key names and log lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let valid = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::SessionId)
        }
    }

    /// nginx-rtmp numbers connections per worker process (`clientid`); the peer address and the
    /// application make the id unique enough for one publish. Characters outside the allowed set
    /// (e.g. `%` of scoped IPv6 addresses) become `_`.
    pub fn for_nginx(app: &str, clientid: &str, addr: &str) -> Result<Self, IdError> {
        let raw: String = format!("nginx:{app}:{clientid}:{addr}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if app.is_empty() || clientid.is_empty() {
            return Err(IdError::SessionId);
        }
        Self::parse(&raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id a viewer is counted under, issued by the server inside a signed viewer token
/// (`domain::viewer`), so a viewer is counted once however often it heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerId(String);

impl ViewerId {
    /// 128 random bits as 32 hex digits (always a valid id).
    pub fn from_bits(bits: u128) -> Self {
        Self(format!("{bits:032x}"))
    }

    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::ViewerId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stream key as it arrives in a publish callback: the shared bearer-secret type (no
/// `Display`, a redacted `Debug`); it only leaves towards the users service.
pub use ferrocast_proto::StreamKey;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_case_folded_and_checked() {
        assert_eq!(
            Username::parse("Alice_1").map(|u| u.to_string()),
            Ok("alice_1".into())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("a".repeat(25).as_str()).is_err());
        assert!(Username::parse("bad-name").is_err());
        assert!(Username::parse("../etc").is_err());
    }

    #[test]
    fn nginx_session_id_is_stable_and_sanitised() {
        let a = SessionId::for_nginx("live", "12", "127.0.0.1").expect("valid");
        let b = SessionId::for_nginx("live", "12", "127.0.0.1").expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "nginx:live:12:127.0.0.1");
        let scoped = SessionId::for_nginx("live", "3", "fe80::1%eth0").expect("valid");
        assert_eq!(scoped.as_str(), "nginx:live:3:fe80::1_eth0");
        assert_ne!(
            a,
            SessionId::for_nginx("hls", "12", "127.0.0.1").expect("valid")
        );
        assert!(SessionId::for_nginx("live", "", "127.0.0.1").is_err());
    }

    #[test]
    fn session_id_rejects_key_separators_and_spaces() {
        assert!(SessionId::parse("0f3a-uuid").is_ok());
        assert!(SessionId::parse("a b").is_err());
        assert!(SessionId::parse("a{b}").is_err());
        assert!(SessionId::parse("").is_err());
    }

    #[test]
    fn viewer_id_is_bounded() {
        assert!(ViewerId::parse("v-123_abc").is_ok());
        assert!(ViewerId::parse(&"x".repeat(65)).is_err());
        assert!(ViewerId::parse("a:b").is_err());
    }

    #[test]
    fn stream_key_debug_never_shows_the_secret() {
        let key = StreamKey::parse("live_secretsecret".into()).expect("valid");
        assert!(!format!("{key:?}").contains("secret"));
        assert!(StreamKey::parse(String::new()).is_err());
        assert!(StreamKey::parse("with space".into()).is_err());
    }
}
