//! The stream key as a publisher sent it: a bearer secret. It has no `Display`, and its `Debug`
//! prints nothing of it, so it cannot slip into a log line, an error or a metric label; the only
//! way out is [`StreamKey::expose`], for the calls that must send it (the users lookup, the rooms
//! `on_publish` form). Ingest and rooms share this one definition.

use std::fmt;

/// Longest key accepted: real keys are `live_` + ~22 characters; anything longer is garbage.
const MAX_LEN: usize = 256;

#[derive(Clone, PartialEq, Eq)]
pub struct StreamKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamKeyError {
    #[error("stream key is empty")]
    Empty,
    #[error("stream key is too long")]
    TooLong,
    #[error("stream key has characters outside printable ASCII")]
    BadCharacters,
}

impl StreamKey {
    /// Accepts what could be a key; whether it is one is for the users service to say.
    pub fn parse(raw: String) -> Result<Self, StreamKeyError> {
        if raw.is_empty() {
            Err(StreamKeyError::Empty)
        } else if raw.len() > MAX_LEN {
            Err(StreamKeyError::TooLong)
        } else if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            Err(StreamKeyError::BadCharacters)
        } else {
            Ok(Self(raw))
        }
    }

    /// The secret itself, for the users lookup and the rooms `on_publish` form only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_key() {
        let key = StreamKey::parse("live_secretsecret".into()).expect("valid");
        assert_eq!(format!("{key:?}"), "StreamKey(<redacted>)");
        assert_eq!(key.expose(), "live_secretsecret");
    }

    #[test]
    fn empty_long_and_odd_keys_are_refused() {
        assert_eq!(StreamKey::parse(String::new()), Err(StreamKeyError::Empty));
        assert_eq!(
            StreamKey::parse("a".repeat(MAX_LEN + 1)),
            Err(StreamKeyError::TooLong)
        );
        assert_eq!(
            StreamKey::parse("live key".into()),
            Err(StreamKeyError::BadCharacters)
        );
        assert_eq!(
            StreamKey::parse("live\u{e9}".into()),
            Err(StreamKeyError::BadCharacters)
        );
    }
}
