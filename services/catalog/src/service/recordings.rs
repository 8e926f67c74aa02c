//! Past broadcasts: the ingest, on a streamer's behalf, turns a recorded live stream into a video
//! through the same upload flow a browser uses (create with size and SHA-256 → presigned PUT or
//! parts → finalize, which checks the bytes and queues processing), so every upload rule applies
//! unchanged and the ingest never holds storage credentials.
//!
//! The ingest is trusted to name the owner because it presents the service token (as with rooms'
//! callbacks); it never names a storage key or URL: those come from here. A recording is known by
//! the ingest's recording id (the room session it recorded): registering it again, after a lost
//! answer or a crash, answers the video the first registration made, fresh upload URLs included
//! while its bytes are missing, so a retry never makes a second video.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Catalog, CatalogError, NewMedia, UploadInstructions};
use crate::{
    domain::{MediaItem, MediaKind, MediaStatus, UploadMethod, Visibility},
    ports::{Caller, PresignedRequest, RecordingRow, RecordingStore},
};

/// The tag every past broadcast carries.
pub const PAST_BROADCAST_TAG: &str = "past-broadcast";
/// What a recording is uploaded as (the ingest remuxes its segments into one MP4).
const RECORDING_TYPE: &str = "video/mp4";
/// Recordings an owner's listing shows.
const RECENT: u32 = 10;

/// What the ingest says about a finished recording.
#[derive(Debug, Clone)]
pub struct FinishedRecording {
    /// The stream's title when it ended; empty when the streamer set none.
    pub stream_title: String,
    pub started_at: DateTime<Utc>,
    pub size: u64,
    pub sha256: String,
}

pub struct Recordings {
    catalog: Arc<Catalog>,
    store: Arc<dyn RecordingStore>,
}

impl Recordings {
    pub fn new(catalog: Arc<Catalog>, store: Arc<dyn RecordingStore>) -> Self {
        Self { catalog, store }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// A broadcast started: whether its owner keeps past broadcasts (the ingest then records
    /// it). The answer is asked again at registration, so a setting changed meanwhile counts.
    pub async fn begin(&self, owner: &Caller, recording_id: &str) -> Result<bool, CatalogError> {
        let wanted = self.wanted(owner).await?;
        if wanted {
            self.claim(owner, recording_id).await?;
        }
        Ok(wanted)
    }

    /// The recording stopped before the broadcast did (too long, over the disk budget): the
    /// reason is kept for the owner's dashboard.
    pub async fn stopped(
        &self,
        owner: &Caller,
        recording_id: &str,
        reason: &str,
    ) -> Result<(), CatalogError> {
        self.claim(owner, recording_id).await?;
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        Ok(self.store.stopped(recording_id, &reason).await?)
    }

    /// The video a finished recording becomes, and how to upload its bytes (`None`: they are
    /// already there; finalize). 409 when the owner no longer keeps past broadcasts.
    pub async fn register(
        &self,
        owner: &Caller,
        recording_id: &str,
        finished: FinishedRecording,
    ) -> Result<(MediaItem, Option<UploadInstructions>), CatalogError> {
        if !self.wanted(owner).await? {
            return Err(CatalogError::Conflict(
                "the streamer does not keep past broadcasts",
            ));
        }
        let row = self.claim(owner, recording_id).await?;
        if let Some(existing) = self.existing(&row).await? {
            return Ok(existing);
        }
        let created = self
            .catalog
            .create(
                owner,
                NewMedia {
                    kind: MediaKind::Video,
                    title: title(&finished.stream_title, &owner.username, finished.started_at),
                    description: String::new(),
                    tags: vec![PAST_BROADCAST_TAG.to_owned()],
                    visibility: Visibility::Public,
                    size: finished.size,
                    sha256: finished.sha256,
                    content_type: RECORDING_TYPE.to_owned(),
                    encrypt: None,
                },
            )
            .await;
        let (item, instructions) = self.noting_refusal(recording_id, created).await?;
        match self.store.attach(recording_id, item.id).await? {
            Some(named) if named == item.id => Ok((item, Some(instructions))),
            // A registration racing this one named its video first: ours goes.
            _ => {
                self.catalog.remove(&item).await?;
                let row = self.claim(owner, recording_id).await?;
                self.existing(&row)
                    .await?
                    .ok_or(CatalogError::Conflict("the recording is being registered"))
            }
        }
    }

    /// Part URLs of a recording's multipart upload.
    pub async fn parts(
        &self,
        owner: &Caller,
        recording_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Vec<(u32, PresignedRequest)>, CatalogError> {
        let media = self.media_of(owner, recording_id).await?;
        self.catalog.part_urls(owner, media, parts).await
    }

    /// Checks the uploaded recording and queues its processing (idempotent).
    pub async fn finalize(
        &self,
        owner: &Caller,
        recording_id: &str,
    ) -> Result<MediaItem, CatalogError> {
        let media = self.media_of(owner, recording_id).await?;
        let finalized = self.catalog.finalize(owner, media).await;
        let item = self.noting_refusal(recording_id, finalized).await?;
        self.store.finalized(recording_id).await?;
        tracing::info!(recording = recording_id, media = %item.id, "past broadcast registered");
        Ok(item)
    }

    /// The owner's newest recordings.
    pub async fn recent(&self, owner: &Caller) -> Result<Vec<RecordingRow>, CatalogError> {
        Ok(self.store.recent(&owner.user_id, RECENT).await?)
    }

    /// `result`, with a refusal that retrying cannot change (over the quota, too large, the
    /// bytes failed their checks) kept on the recording's row for the owner's dashboard.
    async fn noting_refusal<T>(
        &self,
        recording_id: &str,
        result: Result<T, CatalogError>,
    ) -> Result<T, CatalogError> {
        if let Err(
            error @ (CatalogError::QuotaExceeded { .. }
            | CatalogError::TooLarge(_)
            | CatalogError::Validation { .. }
            | CatalogError::UploadRefused(_)),
        ) = &result
        {
            self.store.refused(recording_id, &error.to_string()).await?;
        }
        result
    }

    async fn wanted(&self, owner: &Caller) -> Result<bool, CatalogError> {
        Ok(self
            .catalog
            .store
            .owner_settings(&owner.user_id)
            .await?
            .save_past_broadcasts)
    }

    /// The recording's row, made if new; another owner's recording id is not found.
    async fn claim(
        &self,
        owner: &Caller,
        recording_id: &str,
    ) -> Result<RecordingRow, CatalogError> {
        if !valid_id(recording_id) {
            return Err(CatalogError::NotFound);
        }
        let row = self.store.claim(recording_id, owner).await?;
        if row.owner_id != owner.user_id {
            return Err(CatalogError::NotFound);
        }
        Ok(row)
    }

    async fn media_of(
        &self,
        owner: &Caller,
        recording_id: &str,
    ) -> Result<crate::domain::MediaId, CatalogError> {
        self.claim(owner, recording_id)
            .await?
            .media_id
            .ok_or(CatalogError::NotFound)
    }

    /// The video `row` names, with fresh upload URLs while its bytes are missing; `None` when it
    /// names none, or one that is gone (deleted, or swept as an unfinished upload).
    async fn existing(
        &self,
        row: &RecordingRow,
    ) -> Result<Option<(MediaItem, Option<UploadInstructions>)>, CatalogError> {
        let Some(media) = row.media_id else {
            return Ok(None);
        };
        let Some(item) = self.catalog.store.get(media).await? else {
            self.store.detach(&row.recording_id, media).await?;
            return Ok(None);
        };
        if item.status != MediaStatus::AwaitingUpload {
            return Ok(Some((item, None)));
        }
        let instructions = match item.upload {
            UploadMethod::Single => UploadInstructions::Single(
                self.catalog
                    .objects
                    .presign_put(
                        &item.id.original_key(),
                        item.size,
                        item.sha256,
                        item.content_type,
                        self.catalog.settings.url_ttl,
                    )
                    .await?,
            ),
            UploadMethod::Multipart { part_size, .. } => UploadInstructions::Multipart {
                part_size,
                parts: item.size.div_ceil(part_size),
            },
        };
        Ok(Some((item, Some(instructions))))
    }
}

/// The ingest's recording ids are its session ids: letters, digits, `_` and `-`.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// "{stream title} — {date}", or "{username}'s broadcast — {date}" without a title; within the
/// title's 200 characters (a stream title has at most 140).
pub fn title(stream_title: &str, username: &str, started_at: DateTime<Utc>) -> String {
    let date = started_at.format("%Y-%m-%d %H:%M UTC");
    let name: String = stream_title
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(160)
        .collect();
    if name.is_empty() {
        format!("{username}'s broadcast — {date}")
    } else {
        format!("{name} — {date}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_past_broadcast_is_titled_by_its_stream_and_date() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 7, 15, 40, 12)
            .single()
            .expect("a date");
        assert_eq!(
            title("Speedrun practice", "alice", at),
            "Speedrun practice — 2026-12-07 15:40 UTC"
        );
        assert_eq!(
            title("  ", "alice", at),
            "alice's broadcast — 2026-12-07 15:40 UTC"
        );
        assert!(title(&"x".repeat(300), "alice", at).chars().count() <= 200);
    }

    #[test]
    fn recording_ids_are_session_ids() {
        assert!(valid_id("0123456789abcdef0123456789abcdef"));
        assert!(!valid_id(""));
        assert!(!valid_id("../x"));
        assert!(!valid_id(&"a".repeat(65)));
    }
}
