//! A live room as stored and as shown: `LiveRoom` is what Redis holds while the owner publishes,
//! `RoomView` is the public JSON shape of docs/api.md, `Title` and `Rendition` its parts, and
//! `Cursor` the position in the newest-first listing.

use chrono::{DateTime, TimeZone, Utc};
use ferrocast_kit::text::displayable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{SessionId, Username};

/// Titles longer than this are refused (counted in characters, not bytes).
pub const TITLE_MAX_CHARS: usize = 140;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("title must be 1-{TITLE_MAX_CHARS} characters without control, format (invisible, bidi) or line separator characters")]
pub struct TitleError;

/// A room title: trimmed, 1-140 characters, shown as one line of plain text to every viewer
/// (so only [`displayable`] characters: no control, separator or format characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, TitleError> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if (1..=TITLE_MAX_CHARS).contains(&count) && trimmed.chars().all(displayable) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(TitleError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One rendition of a room's HLS ladder, as the ingest reports it in its updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bandwidth: u64,
}

impl Rendition {
    /// Parses the `renditions` callback field; a malformed list is ignored rather than refusing
    /// the update, since a lost ladder is cosmetic but a refused update ends the stream.
    pub fn parse_list(raw: &str) -> Option<Vec<Self>> {
        let list: Vec<Self> = serde_json::from_str(raw).ok()?;
        (list.len() <= 16 && list.iter().all(|r| r.name.len() <= 32)).then_some(list)
    }
}

/// What a successful key publish asks the store to create.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub user_id: String,
    pub username: Username,
    pub session_id: SessionId,
    /// Base URL of the HLS origin that serves this stream (may be empty when unknown).
    pub origin: String,
    pub renditions: Vec<Rendition>,
    /// nginx-rtmp mode: one publish into the HLS application may follow under this username.
    pub expects_relay: bool,
}

/// A room as the store holds it while its owner is live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRoom {
    pub user_id: String,
    pub username: Username,
    pub title: String,
    pub session_id: String,
    pub origin: String,
    pub started_at_ms: i64,
    pub renditions: Vec<Rendition>,
    pub viewers: u64,
    /// The ingest serves a live thumbnail of the stream (its updates say so).
    pub thumbnail: bool,
}

/// The public shape of a live room (docs/api.md `Room`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RoomView {
    pub username: String,
    pub title: String,
    pub started_at: DateTime<Utc>,
    pub viewers: u64,
    pub renditions: Vec<Rendition>,
    /// `/hls/{username}/thumbnail.jpg` (relative to the gateway origin) once the ingest serves
    /// a thumbnail of the stream; null before the first one, and for nginx-rtmp streams.
    pub thumbnail_url: Option<String>,
    /// Relative to the gateway origin: `/hls/{username}/master.m3u8`.
    pub hls_url: String,
}

impl From<&LiveRoom> for RoomView {
    fn from(room: &LiveRoom) -> Self {
        Self {
            username: room.username.to_string(),
            title: room.title.clone(),
            started_at: Utc
                .timestamp_millis_opt(room.started_at_ms)
                .single()
                .unwrap_or_default(),
            viewers: room.viewers,
            renditions: room.renditions.clone(),
            thumbnail_url: room
                .thumbnail
                .then(|| format!("/hls/{}/thumbnail.jpg", room.username)),
            hls_url: format!("/hls/{}/master.m3u8", room.username),
        }
    }
}

/// Position after the last room of a page: the listing is ordered by (started_at, username)
/// descending, so the pair is a stable place to continue from while rooms come and go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub started_at_ms: i64,
    pub username: Username,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct CursorError;

impl Cursor {
    pub fn after(room: &LiveRoom) -> Self {
        Self {
            started_at_ms: room.started_at_ms,
            username: room.username.clone(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.started_at_ms, self.username)
    }

    pub fn decode(raw: &str) -> Result<Self, CursorError> {
        let (ms, name) = raw.split_once('.').ok_or(CursorError)?;
        Ok(Self {
            started_at_ms: ms.parse().map_err(|_| CursorError)?,
            username: Username::parse(name).map_err(|_| CursorError)?,
        })
    }

    /// Whether a room at this position comes after the cursor in newest-first order.
    pub fn is_before(&self, started_at_ms: i64, username: &Username) -> bool {
        (started_at_ms, username) < (self.started_at_ms, &self.username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str, started_at_ms: i64) -> LiveRoom {
        LiveRoom {
            user_id: "u1".into(),
            username: Username::parse(name).expect("valid"),
            title: String::new(),
            session_id: "s".into(),
            origin: String::new(),
            started_at_ms,
            renditions: vec![],
            viewers: 0,
            thumbnail: false,
        }
    }

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(Title::parse("  hello ").map(|t| t.0), Ok("hello".into()));
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"é".repeat(140)).is_ok());
        assert!(Title::parse(&"é".repeat(141)).is_err());
        assert!(Title::parse("line\nbreak").is_err());
    }

    #[test]
    fn titles_refuse_format_characters_and_line_separators() {
        let refused = [
            // Soft hyphen, Arabic letter mark, Mongolian vowel separator.
            "\u{00AD}\u{061C}\u{180E}",
            // Zero-width space, non-joiner and joiner, left-to-right and right-to-left marks.
            "\u{200B}\u{200C}\u{200D}\u{200E}\u{200F}",
            // Bidi embeddings and overrides, then isolates.
            "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}",
            // Word joiner and invisible operators, byte order mark, interlinear annotation, tags.
            "\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}\u{FEFF}\u{FFF9}\u{FFFA}\u{FFFB}",
            "\u{E0001}\u{E0020}\u{E007F}",
        ]
        .concat();
        for c in refused.chars() {
            for title in [format!("a{c}b"), format!("{c}ab"), format!("ab{c}")] {
                assert_eq!(Title::parse(&title), Err(TitleError), "U+{:04X}", c as u32);
            }
        }
        // Line and paragraph separators are whitespace: trimmed at the ends, refused inside.
        for c in ['\u{2028}', '\u{2029}'] {
            assert_eq!(Title::parse(&format!("a{c}b")), Err(TitleError));
            assert_eq!(
                Title::parse(&format!("{c}ab{c}")).map(|t| t.0),
                Ok("ab".into())
            );
        }
        // Scripts, marks, emoji and variation selectors that are not Cf stay allowed.
        for title in [
            "שלום עולם",
            "مرحبا",
            "café",
            "🎮 speedrun",
            "❤\u{FE0F} chill",
            "日本語",
        ] {
            assert!(Title::parse(title).is_ok(), "{title}");
        }
    }

    #[test]
    fn view_carries_the_public_hls_url_and_the_thumbnail_once_one_exists() {
        let mut live = room("alice", 1_700_000_000_000);
        let view = RoomView::from(&live);
        assert_eq!(view.hls_url, "/hls/alice/master.m3u8");
        assert_eq!(view.thumbnail_url, None);
        assert_eq!(view.started_at.timestamp_millis(), 1_700_000_000_000);
        live.thumbnail = true;
        assert_eq!(
            RoomView::from(&live).thumbnail_url.as_deref(),
            Some("/hls/alice/thumbnail.jpg")
        );
    }

    #[test]
    fn cursor_round_trips_and_orders_newest_first() {
        let cursor = Cursor::after(&room("bob", 2000));
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor.clone()));
        let alice = Username::parse("alice").expect("valid");
        let carol = Username::parse("carol").expect("valid");
        assert!(cursor.is_before(1999, &carol));
        assert!(cursor.is_before(2000, &alice));
        assert!(!cursor.is_before(2000, &carol));
        assert!(!cursor.is_before(2001, &alice));
        assert!(Cursor::decode("x.bob").is_err());
        assert!(Cursor::decode("12").is_err());
    }

    #[test]
    fn rendition_list_parses_or_is_ignored() {
        let list = Rendition::parse_list(
            r#"[{"name":"720p","width":1280,"height":720,"bandwidth":2500000}]"#,
        );
        assert_eq!(list.map(|l| l.len()), Some(1));
        assert_eq!(Rendition::parse_list("not json"), None);
    }
}
