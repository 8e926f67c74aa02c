//! Secrets sealed at rest: AES-256-GCM under a key derived (HKDF-SHA256) from the platform
//! secret, bound to what they belong to, so a sealed value copied onto another record does
//! not open there.
//!
//! Sealed form: a version byte (1), the 12-byte random nonce, then ciphertext and tag. For
//! text carriers (a job message) [`Sealed`] is the standard base64 of those bytes.

use aes_gcm::{
    aead::{rand_core::RngCore, Aead, KeyInit, OsRng, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::config::Secret;

const VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// Seals and opens with one platform secret. `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed secret does not open with this platform key (another key, another record, or damaged)")]
pub struct Unsealable;

impl Sealer {
    pub fn new(secret: &Secret) -> Self {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret.expose().as_bytes())
            .expand(b"ferrocast sealed secrets v1", &mut key)
            // 32 bytes is far below HKDF-SHA256's limit of 8160.
            .unwrap_or_else(|_| unreachable!("HKDF output of 32 bytes"));
        Self {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// `plain` sealed for `context` (what it belongs to, e.g. a video's id).
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_BYTES] = random();
        let nonce = Nonce::from_slice(&nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            // Only inputs beyond GCM's 64 GiB limit fail.
            .unwrap_or_else(|_| unreachable!("a small secret seals"));
        let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    /// What [`Sealer::seal`] sealed for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] != VERSION {
            return Err(Unsealable);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| Unsealable)
    }
}

/// `N` bytes from the operating system's random source.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Sealed bytes as text (standard base64), for messages.
pub fn to_text(sealed: &[u8]) -> String {
    STANDARD.encode(sealed)
}

pub fn from_text(text: &str) -> Result<Vec<u8>, Unsealable> {
    STANDARD.decode(text).map_err(|_| Unsealable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(secret: &str) -> Sealer {
        Sealer::new(&Secret::new(secret))
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let a = sealer("a platform secret of at least thirty-two bytes");
        let plain = [7u8; 48];
        let sealed = a.seal(&plain, b"video-1");
        assert_eq!(sealed.len(), 1 + NONCE_BYTES + 48 + TAG_BYTES);
        assert!(
            !sealed.windows(48).any(|w| w == plain),
            "plain text in the sealed bytes"
        );
        assert_eq!(a.open(&sealed, b"video-1"), Ok(plain.to_vec()));
        assert_eq!(a.open(&sealed, b"video-2"), Err(Unsealable));
        let b = sealer("another platform secret of at least thirty-two bytes");
        assert_eq!(b.open(&sealed, b"video-1"), Err(Unsealable));
        let mut damaged = sealed.clone();
        damaged[20] ^= 1;
        assert_eq!(a.open(&damaged, b"video-1"), Err(Unsealable));
        assert_eq!(a.open(&sealed[..10], b"video-1"), Err(Unsealable));
        // A fresh nonce each time: the same secret never seals to the same bytes.
        assert_ne!(a.seal(&plain, b"video-1"), sealed);
        assert_eq!(from_text(&to_text(&sealed)), Ok(sealed));
        assert!(!format!("{a:?}").contains("platform"));
    }

    #[test]
    fn random_bytes_differ() {
        assert_ne!(random::<16>(), random::<16>());
    }
}
