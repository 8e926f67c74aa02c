//! Who counts as a viewer: server-issued, signed viewer ids ([`ViewerTokens`]) and the address
//! bucket a viewer is capped by ([`ViewerAddress`]).
//!
//! A viewer count is only worth something if a client cannot name itself into it. So the id a
//! heartbeat is counted under comes from the server: a heartbeat without a valid token gets a
//! fresh random id, signed together with the room and the issue time (HMAC-SHA256), and the page
//! sends that token back on later heartbeats. Forged, other-room and expired tokens carry no
//! weight; minting many tokens does not help either, because the store caps distinct viewers per
//! address per room. The key is derived from the service token, so every replica agrees on it
//! without a secret of its own (rotating the service token only re-issues viewer ids).

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{
    digest::{Key, KeyInit},
    Hmac, Mac,
};
use sha2::{Digest, Sha256};

use super::{Username, ViewerId};

type HmacSha256 = Hmac<Sha256>;

/// How long a viewer token is accepted after it was issued. A watching page renews it well
/// before (see [`Verified::needs_renewal`]), so only stored-away tokens lapse.
pub const VIEWER_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Replicas' clocks may disagree a little: a token issued up to this far "in the future" is fine.
const CLOCK_SKEW_SECS: u64 = 60;

/// Domain separation of the key derivation: this key signs viewer ids and nothing else.
const KEY_LABEL: &[u8] = b"ferrocast viewer ids v1";

/// Longest token we look at; real ones are under 100 characters.
const MAX_TOKEN_LEN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a viewer token")]
    Malformed,
    #[error("viewer token signature does not match")]
    BadSignature,
    #[error("viewer token expired")]
    Expired,
}

impl TokenError {
    /// Metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
        }
    }
}

/// A token that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub id: ViewerId,
    /// Unix seconds.
    pub issued_at: u64,
}

impl Verified {
    /// Past half its life a token is re-issued for the same id, so a page watching for hours
    /// keeps one id (and one place in the count) without ever holding an expired token.
    pub fn needs_renewal(&self, now: u64) -> bool {
        now.saturating_sub(self.issued_at) >= VIEWER_TOKEN_TTL.as_secs() / 2
    }
}

/// Issues and checks viewer tokens: `{id}.{issued_at}.{mac}`, the MAC over the room too, so a
/// token counts in the room it was issued for only.
#[derive(Clone)]
pub struct ViewerTokens {
    key: [u8; 32],
}

impl ViewerTokens {
    /// The key is HMAC(service token, label): no new secret to distribute, and the service
    /// token itself never signs anything a browser holds.
    pub fn from_service_token(service_token: &str) -> Self {
        Self {
            key: mac(service_token.as_bytes(), &[KEY_LABEL]),
        }
    }

    /// A fresh random id: 128 bits, so ids of different viewers never collide.
    pub fn new_id() -> ViewerId {
        ViewerId::from_bits(rand::random())
    }

    pub fn issue(&self, room: &Username, id: &ViewerId, issued_at: u64) -> String {
        let issued = issued_at.to_string();
        let signature = self.sign(room, id.as_str(), &issued);
        format!(
            "{}.{issued}.{}",
            id.as_str(),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    pub fn verify(&self, room: &Username, token: &str, now: u64) -> Result<Verified, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(id), Some(issued), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let id = ViewerId::parse(id).map_err(|_| TokenError::Malformed)?;
        // Only canonical decimal: one token per (id, time), no `+1`/`01` variants.
        let issued_at: u64 = issued.parse().map_err(|_| TokenError::Malformed)?;
        if issued_at.to_string() != issued {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        // Constant-time comparison (hmac's `verify_slice`): no timing oracle on the MAC.
        self.mac(room, id.as_str(), issued)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let fresh = issued_at <= now.saturating_add(CLOCK_SKEW_SECS)
            && now.saturating_sub(issued_at) < VIEWER_TOKEN_TTL.as_secs();
        if !fresh {
            return Err(TokenError::Expired);
        }
        Ok(Verified { id, issued_at })
    }

    fn sign(&self, room: &Username, id: &str, issued: &str) -> [u8; 32] {
        self.mac(room, id, issued).finalize().into_bytes().into()
    }

    fn mac(&self, room: &Username, id: &str, issued: &str) -> HmacSha256 {
        // Fields are joined by a byte none of them can contain, so no two different triples
        // sign the same message.
        let mut mac = keyed(&self.key);
        for (i, field) in [room.as_str(), id, issued].iter().enumerate() {
            if i > 0 {
                mac.update(b"\n");
            }
            mac.update(field.as_bytes());
        }
        mac
    }
}

impl fmt::Debug for ViewerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewerTokens(<redacted>)")
    }
}

/// HMAC keyed with `key` of any length, built the way RFC 2104 defines it (a key longer than
/// the block is hashed first, a shorter one zero-padded), through the infallible block-key
/// constructor rather than `new_from_slice`'s `Result`.
fn keyed(key: &[u8]) -> HmacSha256 {
    let mut block = Key::<HmacSha256>::default();
    let hashed;
    let key = if key.len() > block.len() {
        hashed = Sha256::digest(key);
        hashed.as_slice()
    } else {
        key
    };
    for (slot, byte) in block.iter_mut().zip(key) {
        *slot = *byte;
    }
    <HmacSha256 as KeyInit>::new(&block)
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The unit a viewer cap applies to: an IPv4 address, or an IPv6 /64. One subscriber usually
/// holds a whole /64 (often more), so capping single IPv6 addresses would cap nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewerAddress(IpAddr);

impl ViewerAddress {
    pub fn of(client: IpAddr) -> Self {
        match client {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

impl fmt::Display for ViewerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn room(name: &str) -> Username {
        Username::parse(name).expect("valid")
    }

    fn tokens() -> ViewerTokens {
        ViewerTokens::from_service_token("a service token of enough length, 0123456789")
    }

    #[test]
    fn an_issued_token_verifies_for_its_room_and_carries_its_id() {
        let id = ViewerTokens::new_id();
        let token = tokens().issue(&room("alice"), &id, NOW);
        assert!(token.len() < 100, "{token}");
        let verified = tokens()
            .verify(&room("alice"), &token, NOW + 5)
            .expect("valid");
        assert_eq!(verified, Verified { id, issued_at: NOW });
        // Usernames are case-folded: the same room.
        assert!(tokens().verify(&room("ALICE"), &token, NOW).is_ok());
    }

    #[test]
    fn ids_are_random() {
        let a = ViewerTokens::new_id();
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, ViewerTokens::new_id());
    }

    #[test]
    fn another_room_another_key_or_a_changed_field_is_refused() {
        let id = ViewerTokens::new_id();
        let token = tokens().issue(&room("alice"), &id, NOW);
        assert_eq!(
            tokens().verify(&room("bob"), &token, NOW),
            Err(TokenError::BadSignature)
        );
        let other_key = ViewerTokens::from_service_token("another service token, 0123456789abc");
        assert_eq!(
            other_key.verify(&room("alice"), &token, NOW),
            Err(TokenError::BadSignature)
        );
        let (_, rest) = token.split_once('.').expect("three parts");
        let other_id = format!("{}.{rest}", ViewerTokens::new_id().as_str());
        assert_eq!(
            tokens().verify(&room("alice"), &other_id, NOW),
            Err(TokenError::BadSignature)
        );
        let later = token.replace(&format!(".{NOW}."), &format!(".{}.", NOW + 3000));
        assert_eq!(
            tokens().verify(&room("alice"), &later, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn made_up_and_malformed_tokens_are_refused() {
        let alice = room("alice");
        let id = ViewerTokens::new_id();
        let token = tokens().issue(&alice, &id, NOW);
        let padded = token.replace(&format!(".{NOW}."), &format!(".0{NOW}."));
        for bad in [
            "",
            "v-1",
            id.as_str(),
            &format!("{}.{NOW}.", id.as_str()),
            &format!("{}.{NOW}.AAAA", id.as_str()),
            &format!("{token}.x"),
            &format!("{}.{NOW}.{}", id.as_str(), "A".repeat(300)),
            "../../x.1.%%%",
            &padded,
        ] {
            assert!(tokens().verify(&alice, bad, NOW).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_expire_and_are_renewed_at_half_life() {
        let alice = room("alice");
        let ttl = VIEWER_TOKEN_TTL.as_secs();
        let token = tokens().issue(&alice, &ViewerTokens::new_id(), NOW);
        let verified = tokens()
            .verify(&alice, &token, NOW + ttl - 1)
            .expect("valid");
        assert!(verified.needs_renewal(NOW + ttl / 2));
        assert!(!verified.needs_renewal(NOW + ttl / 2 - 1));
        assert_eq!(
            tokens().verify(&alice, &token, NOW + ttl),
            Err(TokenError::Expired)
        );
        // Issued far in the future (a forged clock): refused; a little (skew): fine.
        assert_eq!(
            tokens().verify(&alice, &token, NOW - 3600),
            Err(TokenError::Expired)
        );
        assert!(tokens().verify(&alice, &token, NOW - 30).is_ok());
    }

    #[test]
    fn keys_of_any_length_give_the_standard_hmac() {
        for key in [&b"k"[..], &[7u8; 64][..], &[9u8; 100][..]] {
            let mut ours = keyed(key);
            ours.update(b"m");
            let mut reference = <HmacSha256 as Mac>::new_from_slice(key).expect("any length");
            reference.update(b"m");
            assert_eq!(
                ours.finalize().into_bytes(),
                reference.finalize().into_bytes()
            );
        }
    }

    #[test]
    fn the_key_is_redacted() {
        assert_eq!(format!("{:?}", tokens()), "ViewerTokens(<redacted>)");
    }

    #[test]
    fn ipv6_clients_are_bucketed_by_their_64() {
        let a = ViewerAddress::of("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = ViewerAddress::of("2001:db8:1:2:bbbb::2".parse().expect("ip"));
        let c = ViewerAddress::of("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        let v4 = ViewerAddress::of("::ffff:192.0.2.1".parse().expect("ip"));
        assert_eq!(v4.to_string(), "192.0.2.1");
    }
}
