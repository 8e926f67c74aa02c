//! The JSON shapes of the catalogue's API (docs/api.md, and the OpenAPI document).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        processing::{JobState, Processing},
        MediaId, MediaItem, MediaKind, MediaStatus, Visibility,
    },
    ports::{PresignedRequest, TagCount},
    service::UploadInstructions,
};

/// A media item as anyone who may see it sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaView {
    pub id: String,
    pub kind: MediaKind,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    pub status: MediaStatus,
    pub content_type: String,
    pub size: u64,
    /// The owner's username.
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    /// A video's processing once its upload is finalized.
    pub processing: Option<ProcessingView>,
    /// Set for a video packaged encrypted: how to get its key.
    pub encryption: Option<EncryptionView>,
}

/// An encrypted video (CMAF `cbcs`, every sample encrypted). Players get the key from the
/// ClearKey licence endpoint, which answers the video's owner only for now.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncryptionView {
    /// `cbcs`.
    pub scheme: &'static str,
    /// The key id, 32 hex digits (public: every manifest names it).
    pub key_id: String,
    /// `POST` a W3C ClearKey licence request (`{"kids": [...]}`) here.
    pub licence_url: String,
}

/// Where a video's processing is, and what to play once it plays. URLs are this API's paths
/// (`/api/media/{id}/vod/{job}/…`), relative to its origin.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessingView {
    pub status: JobState,
    pub percent: u8,
    pub attempts: u32,
    /// Why it failed, for the uploader.
    pub reason: Option<String>,
    /// The HLS master once a first rendition plays; more join until `DONE`.
    pub hls_url: Option<String>,
    /// The DASH manifest, once `DONE`.
    pub dash_url: Option<String>,
    pub poster_url: Option<String>,
    /// WebVTT of scrubbing thumbnails (sprite regions).
    pub thumbnails_url: Option<String>,
    /// Renditions playable so far, e.g. `["720p", "360p"]`.
    pub renditions: Vec<String>,
    pub duration_ms: Option<u64>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub playable_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ProcessingView {
    pub(super) fn new(id: MediaId, p: Processing) -> Self {
        // An output's key is `media/{id}/vod/{job}/{file}`; its URL `/api/media/{id}/vod/{job}/{file}`.
        let url = |key: &str| {
            key.strip_prefix(&id.prefix())
                .map(|rest| format!("/api/media/{id}/{rest}"))
        };
        let outputs = p.outputs.as_ref();
        Self {
            status: p.state,
            percent: p.percent,
            attempts: p.attempts,
            reason: p.reason,
            hls_url: p.master.as_deref().and_then(url),
            dash_url: outputs.and_then(|o| url(&o.mpd)),
            poster_url: outputs.and_then(|o| url(&o.poster)),
            thumbnails_url: outputs.and_then(|o| url(&o.thumbnails)),
            renditions: p.renditions,
            duration_ms: outputs.map(|o| o.duration_ms),
            queued_at: p.queued_at,
            started_at: p.started_at,
            playable_at: p.playable_at,
            finished_at: p.finished_at,
        }
    }
}

impl From<MediaItem> for MediaView {
    fn from(item: MediaItem) -> Self {
        Self {
            id: item.id.to_string(),
            kind: item.kind,
            title: item.title.as_str().to_owned(),
            description: item.description.as_str().to_owned(),
            tags: item.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            visibility: item.visibility,
            status: item.status,
            content_type: item.content_type.as_str().to_owned(),
            size: item.size,
            owner: item.owner_name,
            created_at: item.created_at,
            updated_at: item.updated_at,
            uploaded_at: item.uploaded_at,
            processing: item.processing.map(|p| ProcessingView::new(item.id, p)),
            encryption: item.encryption.map(|e| EncryptionView {
                scheme: "cbcs",
                key_id: e.key_id_hex(),
                licence_url: format!("/api/media/{}/licence", item.id),
            }),
        }
    }
}

/// A request to send straight to storage: exactly this method, URL and headers.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

impl From<PresignedRequest> for SignedRequest {
    fn from(request: PresignedRequest) -> Self {
        Self {
            method: request.method.to_owned(),
            url: request.url,
            headers: request.headers.into_iter().collect(),
            expires_at: request.expires_at,
        }
    }
}

/// How to upload the bytes: one signed PUT (`put`), or parts of `part_size` bytes whose URLs
/// come from `POST /api/media/{id}/parts` (`multipart`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum UploadView {
    Put { request: SignedRequest },
    Multipart { part_size: u64, parts: u64 },
}

impl From<UploadInstructions> for UploadView {
    fn from(instructions: UploadInstructions) -> Self {
        match instructions {
            UploadInstructions::Single(request) => Self::Put {
                request: request.into(),
            },
            UploadInstructions::Multipart { part_size, parts } => {
                Self::Multipart { part_size, parts }
            }
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedMedia {
    pub media: MediaView,
    pub upload: UploadView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateMedia {
    pub kind: MediaKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub visibility: Visibility,
    /// Bytes in the file.
    pub size: u64,
    /// The file's SHA-256, 64 hex digits.
    pub sha256: String,
    pub content_type: String,
    /// Videos only: package it encrypted (its own key and key id). Left out: as the owner's
    /// settings say (`GET /api/media/settings`).
    #[serde(default)]
    pub encrypt: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMedia {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartDigest {
    /// 1-based part number.
    pub number: u32,
    /// SHA-256 of the part's bytes, 64 hex digits.
    pub sha256: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartsRequest {
    pub parts: Vec<PartDigest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartUrl {
    pub number: u32,
    pub request: SignedRequest,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartUrls {
    pub parts: Vec<PartUrl>,
}

impl From<Vec<(u32, PresignedRequest)>> for PartUrls {
    fn from(urls: Vec<(u32, PresignedRequest)>) -> Self {
        Self {
            parts: urls
                .into_iter()
                .map(|(number, request)| PartUrl {
                    number,
                    request: request.into(),
                })
                .collect(),
        }
    }
}

impl PartDigest {
    /// `(number, sha256)` of each part, as the service takes them.
    pub fn pairs(parts: Vec<Self>) -> Vec<(u32, String)> {
        parts.into_iter().map(|p| (p.number, p.sha256)).collect()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Words to find in titles and descriptions (prefixes match, small typos are forgiven).
    pub q: Option<String>,
    /// Comma-separated tags an item must all carry.
    pub tags: Option<String>,
    /// Only this user's items (their own private ones too, when they ask).
    pub owner: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1-100, default 24.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaPage {
    pub items: Vec<MediaView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TagParams {
    /// What the tag begins with (empty: the most used tags).
    pub prefix: Option<String>,
    /// 1-100, default 20.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagView {
    pub tag: String,
    /// Public items carrying it.
    pub count: u64,
}

impl From<TagCount> for TagView {
    fn from(tag: TagCount) -> Self {
        Self {
            tag: tag.tag,
            count: tag.count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    pub tags: Vec<TagView>,
}
