//! A media item and its parts: kind, visibility, status, title, description, declared content
//! type and digest. Each part parses from what a client sends and refuses anything else with a
//! message a person can act on.

use std::fmt;

use chrono::{DateTime, Utc};
use ferrocast_kit::text::{displayable, displayable_multiline};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::tags::Tag;

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 5000;

/// A media item's id (a random UUID: ids leak nothing about order or count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaId(pub Uuid);

impl MediaId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// An id from a URL path; `None` for anything but a UUID.
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }

    /// Key of the uploaded original in the bucket. Every object of an item lives under
    /// `media/{id}/`, a name the service makes; nothing a client sends becomes a key.
    pub fn original_key(self) -> String {
        format!("media/{}/original", self.0)
    }

    /// The prefix of every object of this item (original and, later, processed outputs).
    pub fn prefix(self) -> String {
        format!("media/{}/", self.0)
    }
}

impl fmt::Display for MediaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Video,
    Image,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Image => "image",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "video" => Some(Self::Video),
            "image" => Some(Self::Image),
            _ => None,
        }
    }
}

/// Who sees an item: everyone and search (`public`), whoever has the link (`unlisted`), or only
/// its owner (`private`; 404 to everyone else, as if it did not exist).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "public" => Some(Self::Public),
            "unlisted" => Some(Self::Unlisted),
            "private" => Some(Self::Private),
            _ => None,
        }
    }
}

/// Where an item is in its life: created with an upload to make (`awaiting_upload`), then its
/// bytes checked (`uploaded`). Processing adds the states after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    AwaitingUpload,
    Uploaded,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingUpload => "awaiting_upload",
            Self::Uploaded => "uploaded",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "awaiting_upload" => Some(Self::AwaitingUpload),
            "uploaded" => Some(Self::Uploaded),
            _ => None,
        }
    }
}

/// One line of text: trimmed, 1-200 characters, only [`displayable`] ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if !(1..=TITLE_MAX_CHARS).contains(&count) {
            return Err(format!("must be 1-{TITLE_MAX_CHARS} characters"));
        }
        if !trimmed.chars().all(displayable) {
            return Err(
                "must not contain control, line separator or format (invisible, bidi) characters"
                    .into(),
            );
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text under a title: trimmed, at most 5000 characters, line breaks and tabs allowed
/// (`\r\n` is kept as `\n`), no other control or format characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.replace("\r\n", "\n");
        let trimmed = text.trim();
        if trimmed.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(format!(
                "must be at most {DESCRIPTION_MAX_CHARS} characters"
            ));
        }
        if !trimmed.chars().all(displayable_multiline) {
            return Err(
                "must not contain control or format (invisible, bidi) characters other than line breaks and tabs"
                    .into(),
            );
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The media types an upload may declare, each with the kind it belongs to. Everything else is
/// refused before any URL is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Mp4,
    QuickTime,
    WebM,
    Matroska,
    Jpeg,
    Png,
    WebP,
    Gif,
}

impl ContentType {
    pub const ALL: [ContentType; 8] = [
        Self::Mp4,
        Self::QuickTime,
        Self::WebM,
        Self::Matroska,
        Self::Jpeg,
        Self::Png,
        Self::WebP,
        Self::Gif,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mp4 => "video/mp4",
            Self::QuickTime => "video/quicktime",
            Self::WebM => "video/webm",
            Self::Matroska => "video/x-matroska",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    pub fn kind(self) -> MediaKind {
        match self {
            Self::Mp4 | Self::QuickTime | Self::WebM | Self::Matroska => MediaKind::Video,
            Self::Jpeg | Self::Png | Self::WebP | Self::Gif => MediaKind::Image,
        }
    }

    /// Parses a declared type (case-insensitive, parameters such as `; codecs=…` ignored).
    pub fn parse(raw: &str) -> Option<Self> {
        let essence = raw.split(';').next().unwrap_or("").trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(essence))
    }

    pub fn supported() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

/// A SHA-256 digest, written by clients as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub fn parse_hex(raw: &str) -> Option<Self> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(raw.trim(), &mut digest).ok()?;
        Some(Self(digest))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// The form S3's `x-amz-checksum-sha256` header carries.
    pub fn to_base64(self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn from_base64(raw: &str) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .ok()?;
        Self::from_slice(&bytes)
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

/// How the bytes of an item go up: one presigned PUT, or a multipart upload in parts of
/// `part_size` bytes (the last one shorter) completed at finalize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadMethod {
    Single,
    Multipart { upload_id: String, part_size: u64 },
}

/// A media item as stored.
#[derive(Debug, Clone)]
pub struct MediaItem {
    pub id: MediaId,
    pub owner_id: String,
    pub owner_name: String,
    pub kind: MediaKind,
    pub title: Title,
    pub description: Description,
    pub tags: Vec<Tag>,
    pub visibility: Visibility,
    pub status: MediaStatus,
    pub content_type: ContentType,
    pub size: u64,
    pub sha256: Sha256,
    pub upload: UploadMethod,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    /// A video's processing, once its upload is finalized.
    pub processing: Option<super::processing::Processing>,
    /// Set for a video packaged encrypted.
    pub encryption: Option<Encryption>,
}

/// What an owner chose for their next uploads and broadcasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnerSettings {
    /// New videos are packaged encrypted unless the upload says otherwise.
    pub encrypt_videos: bool,
    /// Every live broadcast is kept as a video (tag `past-broadcast`) when it ends.
    pub save_past_broadcasts: bool,
}

impl Default for OwnerSettings {
    /// Past broadcasts are kept unless the owner opts out, as streamers expect.
    fn default() -> Self {
        Self {
            encrypt_videos: false,
            save_past_broadcasts: true,
        }
    }
}

/// A change of [`OwnerSettings`]: what is left out stays as it was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    pub encrypt_videos: Option<bool>,
    pub save_past_broadcasts: Option<bool>,
}

/// An encrypted video's content key as stored: the key id, which is public (every manifest
/// names it), and key id, key and IV sealed with the platform key for the item's id. `Debug`
/// shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Encryption {
    pub key_id: [u8; 16],
    pub sealed: Vec<u8>,
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption")
            .field("key_id", &self.key_id_hex())
            .finish_non_exhaustive()
    }
}

impl Encryption {
    /// 32 hex digits, as DASH's `cenc:default_KID` (without dashes) and the API spell it.
    pub fn key_id_hex(&self) -> String {
        self.key_id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl MediaItem {
    /// Whether `caller` (a user id, if signed in) may see the item at all. Private items, and
    /// items whose upload is not finished, are their owner's alone; unlisted and public ones
    /// anyone's who has the id.
    pub fn visible_to(&self, caller: Option<&str>) -> bool {
        self.is_owner(caller)
            || (self.visibility != Visibility::Private
                && self.status != MediaStatus::AwaitingUpload)
    }

    pub fn is_owner(&self, caller: Option<&str>) -> bool {
        caller == Some(self.owner_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_one_line_text_within_the_limit() {
        assert_eq!(Title::parse("  My clip ").expect("ok").as_str(), "My clip");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"x".repeat(TITLE_MAX_CHARS + 1)).is_err());
        assert!(Title::parse(&"é".repeat(TITLE_MAX_CHARS)).is_ok());
        for bad in ["a\nb", "a\u{202e}b", "a\u{200b}b", "a\u{7}b"] {
            assert!(Title::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_keep_line_breaks_and_refuse_hidden_characters() {
        let d = Description::parse("line one\r\nline two\n\ttabbed ").expect("ok");
        assert_eq!(d.as_str(), "line one\nline two\n\ttabbed");
        assert!(Description::parse("")
            .expect("empty is fine")
            .as_str()
            .is_empty());
        assert!(Description::parse("a\u{202e}b").is_err());
        assert!(Description::parse("a\u{0}b").is_err());
        assert!(Description::parse(&"d".repeat(DESCRIPTION_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn content_types_are_an_allowlist_with_a_kind_each() {
        assert_eq!(ContentType::parse("VIDEO/MP4"), Some(ContentType::Mp4));
        assert_eq!(
            ContentType::parse("video/webm; codecs=vp9"),
            Some(ContentType::WebM)
        );
        assert_eq!(
            ContentType::parse("image/png").map(ContentType::kind),
            Some(MediaKind::Image)
        );
        for refused in [
            "text/html",
            "application/octet-stream",
            "image/svg+xml",
            "",
            "video/",
        ] {
            assert_eq!(ContentType::parse(refused), None, "{refused}");
        }
    }

    #[test]
    fn digests_read_hex_and_write_the_s3_header_form() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let digest = Sha256::parse_hex(hex).expect("hex");
        assert_eq!(
            digest.to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(Sha256::from_base64(&digest.to_base64()), Some(digest));
        assert_eq!(Sha256::parse_hex(&hex[1..]), None);
        assert_eq!(Sha256::parse_hex(&hex.replace('e', "g")), None);
    }

    #[test]
    fn others_see_public_and_unlisted_items_once_uploaded() {
        let mut item = MediaItem {
            id: MediaId::random(),
            owner_id: "owner".into(),
            owner_name: "owner".into(),
            kind: MediaKind::Video,
            title: Title::parse("t").expect("title"),
            description: Description::default(),
            tags: Vec::new(),
            visibility: Visibility::Public,
            status: MediaStatus::AwaitingUpload,
            content_type: ContentType::Mp4,
            size: 1,
            sha256: Sha256([0; 32]),
            upload: UploadMethod::Single,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            uploaded_at: None,
            processing: None,
            encryption: None,
        };
        assert!(item.visible_to(Some("owner")));
        assert!(!item.visible_to(Some("other")), "not uploaded yet");
        item.status = MediaStatus::Uploaded;
        for visibility in [Visibility::Public, Visibility::Unlisted] {
            item.visibility = visibility;
            assert!(item.visible_to(None) && item.visible_to(Some("other")));
        }
        item.visibility = Visibility::Private;
        assert!(!item.visible_to(None) && !item.visible_to(Some("other")));
        assert!(item.visible_to(Some("owner")));
    }

    #[test]
    fn object_keys_are_made_from_the_id_only() {
        let id = MediaId::parse("0b5f7c4e-8d1a-4c7e-9f3b-2a6d8e1c5b7a").expect("uuid");
        assert_eq!(
            id.original_key(),
            "media/0b5f7c4e-8d1a-4c7e-9f3b-2a6d8e1c5b7a/original"
        );
        assert!(id.original_key().starts_with(&id.prefix()));
        assert_eq!(MediaId::parse("../etc/passwd"), None);
    }
}
