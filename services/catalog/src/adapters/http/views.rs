//! The JSON shapes of the catalogue's API (docs/api.md, and the OpenAPI document).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{MediaItem, MediaKind, MediaStatus, Visibility},
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
