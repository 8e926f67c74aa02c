//! Playback sessions: what a viewer asks for, what the account is told, and the session token a
//! player presents for keys and private files.
//!
//! A session's id is the id of the request that got it, so a page that asked can recognise its
//! grant whichever way it arrives (pushed, or in the list of sessions after a reconnect). The
//! token is `{session id}.{tag}`, the tag an HMAC of the session id, the account and the video
//! under a key only the catalogue holds: a token names one session of one account for one
//! video, cannot be made up, and is only good while that session is live (checked in the store
//! on every use).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use super::MediaId;

/// Longest device label kept (characters).
pub const DEVICE_MAX_CHARS: usize = 60;
/// Bytes of HMAC kept in a token (128 bits).
const TAG_BYTES: usize = 16;

/// A playback request or session id.
pub type SessionId = Uuid;

/// What the viewer calls the device it plays on ("Firefox on Linux"); something readable
/// whatever the client sent.
pub fn device_label(raw: Option<&str>) -> String {
    let cleaned: String = raw
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| ferrocast_kit::text::displayable(*c))
        .take(DEVICE_MAX_CHARS)
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        "Unknown device".into()
    } else {
        cleaned
    }
}

/// One live playback session, as the account's list and a denial show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActiveSession {
    #[schema(value_type = String)]
    pub session_id: SessionId,
    #[schema(value_type = String)]
    pub media_id: Uuid,
    pub device: String,
    /// The video's title when the session began.
    pub title: String,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    pub expires_at_ms: u64,
}

/// A request waiting for a free slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueuedRequest {
    #[schema(value_type = String)]
    pub request_id: SessionId,
    #[schema(value_type = String)]
    pub media_id: Uuid,
    pub device: String,
    pub title: String,
    /// 1 for the next one granted.
    pub position: u32,
}

/// What happens to a playback request, and to sessions afterwards, as the account is told
/// (pushed to every event stream of the account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlaybackEvent {
    Granted {
        request_id: SessionId,
        media_id: Uuid,
        expires_at_ms: u64,
        /// The lease, so a player whose clock is off can still time its heartbeats.
        lease_ms: u64,
    },
    Denied {
        request_id: SessionId,
        /// `limit_reached`, the one reason there is.
        reason: String,
        /// Sessions the account may hold at once.
        limit: u32,
        active: Vec<ActiveSession>,
    },
    Queued {
        request_id: SessionId,
        position: u32,
    },
    /// A session ended other than by its own player stopping it: ended from another device,
    /// or its lease lapsed.
    Ended {
        session_id: SessionId,
        reason: EndReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Its player stopped it (or the page closed).
    Stopped,
    /// Another device of the account ended it.
    EndedElsewhere,
    /// No heartbeat within the lease.
    Lapsed,
}

impl EndReason {
    /// As events and the store spell it (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::EndedElsewhere => "ended_elsewhere",
            Self::Lapsed => "lapsed",
        }
    }
}

/// An event with the account it belongs to, as replicas pass it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEvent {
    pub user: String,
    #[serde(flatten)]
    pub event: PlaybackEvent,
}

/// Mints and checks session tokens.
#[derive(Clone)]
pub struct Tokens {
    key: [u8; 32],
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

impl Tokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn tag(&self, session: SessionId, user: &str, media: MediaId) -> [u8; TAG_BYTES] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(session.as_bytes());
        mac.update(&[0]);
        mac.update(user.as_bytes());
        mac.update(&[0]);
        mac.update(media.0.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    pub fn mint(&self, session: SessionId, user: &str, media: MediaId) -> String {
        format!(
            "{}.{}",
            session.simple(),
            URL_SAFE_NO_PAD.encode(self.tag(session, user, media))
        )
    }

    /// The session a token names, before anything is checked (the caller loads it to learn
    /// its account and video, then calls [`Tokens::verify`]).
    pub fn session_of(token: &str) -> Option<SessionId> {
        let (id, _) = token.split_once('.')?;
        if id.len() != 32 {
            return None;
        }
        Uuid::try_parse(id).ok()
    }

    /// Whether `token` was minted for this session, account and video.
    pub fn verify(&self, token: &str, session: SessionId, user: &str, media: MediaId) -> bool {
        let Some((id, tag)) = token.split_once('.') else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        if Uuid::try_parse(id).ok() != Some(session) || tag.len() != TAG_BYTES {
            return false;
        }
        use subtle::ConstantTimeEq as _;
        bool::from(tag.ct_eq(&self.tag(session, user, media)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_labels_are_short_readable_text() {
        assert_eq!(
            device_label(Some("  Firefox \n on\tLinux ")),
            "Firefox on Linux"
        );
        assert_eq!(device_label(Some("\u{202e}evil")), "evil");
        assert_eq!(device_label(None), "Unknown device");
        assert_eq!(device_label(Some("\u{0}\u{7}")), "Unknown device");
        assert_eq!(
            device_label(Some(&"x".repeat(500))).chars().count(),
            DEVICE_MAX_CHARS
        );
    }

    #[test]
    fn a_token_names_one_session_of_one_account_for_one_video() {
        let tokens = Tokens::new([7; 32]);
        let session = Uuid::new_v4();
        let media = MediaId(Uuid::new_v4());
        let token = tokens.mint(session, "alice", media);
        assert_eq!(Tokens::session_of(&token), Some(session));
        assert!(tokens.verify(&token, session, "alice", media));
        assert!(!tokens.verify(&token, session, "bob", media));
        assert!(!tokens.verify(&token, session, "alice", MediaId(Uuid::new_v4())));
        assert!(!tokens.verify(&token, Uuid::new_v4(), "alice", media));
        assert!(!Tokens::new([8; 32]).verify(&token, session, "alice", media));
        let mut forged = token.clone();
        forged.replace_range(token.len() - 2.., "AA");
        assert!(!tokens.verify(&forged, session, "alice", media));
        for bad in [
            "",
            ".",
            "abc.def",
            &format!("{}.", session.simple()),
            "no-dot",
        ] {
            assert!(!tokens.verify(bad, session, "alice", media), "{bad}");
        }
        assert_eq!(Tokens::session_of("nope"), None);
    }

    #[test]
    fn end_reasons_are_spelled_as_serde_spells_them() {
        for reason in [
            EndReason::Stopped,
            EndReason::EndedElsewhere,
            EndReason::Lapsed,
        ] {
            assert_eq!(serde_json::to_value(reason).expect("json"), reason.as_str());
        }
    }

    #[test]
    fn events_carry_their_kind_and_account() {
        let event = AccountEvent {
            user: "u1".into(),
            event: PlaybackEvent::Queued {
                request_id: Uuid::nil(),
                position: 2,
            },
        };
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["kind"], "queued");
        assert_eq!(json["user"], "u1");
        assert_eq!(json["position"], 2);
        let back: AccountEvent = serde_json::from_value(json).expect("parses");
        assert_eq!(back, event);
    }
}
