//! `StreamKey`: the bearer secret an encoder (OBS, ffmpeg) presents to publish. `live_` + 192
//! random bits from the OS CSPRNG in base64url. It is shown to its owner once; only its SHA-256
//! (a fast hash is right for a high-entropy secret: nothing to brute-force) and a short display
//! prefix are stored. The type has no `Display`, and its `Debug` never shows the secret.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

const SCHEME: &str = "live_";
const RANDOM_BYTES: usize = 24;
/// `live_` plus 4 characters: enough for the owner to recognise a key, useless to an attacker.
const DISPLAY_PREFIX_CHARS: usize = 9;

pub struct StreamKey(String);

impl StreamKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; RANDOM_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(format!("{SCHEME}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A key as presented by an encoder; `None` when it cannot be one of ours, so garbage is
    /// refused without a store lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        let body = raw.strip_prefix(SCHEME)?;
        let plausible = (22..=86).contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plausible.then(|| Self(raw.to_owned()))
    }

    /// The full secret, for the one response that shows it to its owner.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> StreamKeyHash {
        StreamKeyHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }

    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_CHARS).collect()
    }
}

impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamKey(<redacted>)")
    }
}

/// Lowercase hex SHA-256 of a stream key: what the store indexes and looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKeyHash(String);

impl StreamKeyHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_scheme_and_at_least_128_bits() {
        let key = StreamKey::generate();
        let body = key.expose_secret().strip_prefix("live_").unwrap();
        assert!(URL_SAFE_NO_PAD.decode(body).unwrap().len() * 8 >= 128);
        assert_ne!(key.expose_secret(), StreamKey::generate().expose_secret());
    }

    #[test]
    fn generated_keys_parse_back() {
        let key = StreamKey::generate();
        let parsed = StreamKey::parse(key.expose_secret()).unwrap();
        assert_eq!(parsed.hash(), key.hash());
    }

    #[test]
    fn foreign_strings_are_not_keys() {
        for bad in [
            "",
            "live_",
            "live_short",
            "key_AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "live_AAAAAAAAAAAAAAAAAAAAAAAA/../",
        ] {
            assert!(StreamKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn hash_is_hex_sha256_and_prefix_is_short() {
        let key = StreamKey::generate();
        assert_eq!(key.hash().as_str().len(), 64);
        assert_eq!(key.display_prefix().len(), 9);
        assert!(key.display_prefix().starts_with("live_"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = StreamKey::generate();
        assert!(!format!("{key:?}").contains(&key.expose_secret()[5..]));
    }
}
