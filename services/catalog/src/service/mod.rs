//! The catalogue's use cases: create an item with its upload, hand out part URLs, finalize,
//! read, change, delete, search, list tags, hand the owner their original, and sweep uploads
//! that never finished. Every write needs the owner's token; a private item is "not found" to
//! everyone else.

mod keys;
mod playback;
mod progress;
pub mod recordings;
pub mod sweeper;

pub use playback::{now_ms, AccountSessions, Playback};

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use ferrocast_kit::jobs::{self, Event, Report};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::{
    domain::{
        processing::{self, JobState, Processing},
        search::{self, PAGE_SIZE, RANKED_RESULTS},
        sniff,
        tags::{self, parse_prefix},
        upload::{self, Plan, PlanError, UploadLimits},
        ContentType, Cursor, Description, MediaId, MediaItem, MediaKind, MediaQuery, MediaStatus,
        SearchText, Sha256, Title, UploadMethod, Visibility,
    },
    ports::{
        AuthError, Authenticator, Caller, JobQueue, MediaChanges, MediaStore, ObjectError,
        ObjectStore, OpenedObject, PresignedRequest, ProgressPublisher, QueueError, StoreError,
        TagCount,
    },
};

/// Part URLs one request may ask for.
pub const MAX_PART_URLS_PER_REQUEST: usize = 100;
/// How long a search waits for a free slot before it is answered `busy`.
const SEARCH_QUEUE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("sign in first")]
    Unauthorized,
    #[error("no such media")]
    NotFound,
    #[error("only the owner may change this media")]
    Forbidden,
    #[error("{field}: {message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    #[error("content type {0:?} is not accepted; accepted: {accepted}", accepted = ContentType::supported())]
    UnsupportedType(String),
    #[error("{0}")]
    TooLarge(PlanError),
    #[error("storage quota exceeded: {used} of {quota} bytes in use, this file needs {size} more")]
    QuotaExceeded { used: u64, quota: u64, size: u64 },
    #[error("the file has not been uploaded yet: upload it, then finalize")]
    NotUploaded,
    #[error("the uploaded file was refused and removed: {0}; create the media again")]
    UploadRefused(String),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("too many searches right now; retry in a moment")]
    Busy,
    #[error("encrypted videos are not available on this server (no platform key is configured)")]
    EncryptionUnavailable,
    #[error("too many playback requests from this account; wait a second")]
    RateLimited,
    #[error("this playback session has ended")]
    SessionEnded,
    #[error("no live playback session of this video: ask for one (POST /api/playback) and send its token")]
    NoSession,
    #[error("playback sessions: {0}")]
    Sessions(String),
    #[error("the users service is unavailable")]
    UsersUnavailable,
    #[error("media store: {0}")]
    Store(String),
    #[error("object storage: {0}")]
    Storage(String),
}

impl From<StoreError> for CatalogError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::QuotaExceeded { used, quota } => Self::QuotaExceeded {
                used,
                quota,
                size: 0,
            },
            StoreError::Backend(message) => Self::Store(message),
        }
    }
}

impl From<ObjectError> for CatalogError {
    fn from(error: ObjectError) -> Self {
        Self::Storage(error.to_string())
    }
}

fn invalid(field: &'static str) -> impl FnOnce(String) -> CatalogError {
    move |message| CatalogError::Validation { field, message }
}

/// The catalogue's settings, from config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: UploadLimits,
    pub quota: u64,
    /// Life of every presigned URL handed out.
    pub url_ttl: Duration,
    /// An upload not finalized this long after creation is removed.
    pub upload_expiry: Duration,
    pub search_concurrency: usize,
    /// Seals and opens content keys; `None`: no encrypted videos on this server.
    pub sealer: Option<ferrocast_kit::sealing::Sealer>,
}

/// What a client sends to create an item.
#[derive(Debug, Clone)]
pub struct NewMedia {
    pub kind: MediaKind,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
    /// Package the video encrypted; `None`: as the owner's setting says.
    pub encrypt: Option<bool>,
}

/// How the client sends the bytes of a new item.
#[derive(Debug, Clone)]
pub enum UploadInstructions {
    Single(PresignedRequest),
    /// Ask for part URLs with each part's SHA-256, PUT the parts, then finalize.
    Multipart {
        part_size: u64,
        parts: u64,
    },
}

/// One page of a listing or search.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<MediaItem>,
    pub next_cursor: Option<String>,
}

/// A listing or search as the client asks for it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: Option<String>,
    pub tags: Option<String>,
    pub owner: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub struct Catalog {
    store: Arc<dyn MediaStore>,
    objects: Arc<dyn ObjectStore>,
    auth: Arc<dyn Authenticator>,
    jobs: Arc<dyn JobQueue>,
    progress: Arc<dyn ProgressPublisher>,
    playback: Option<Playback>,
    /// What this replica remembers to decide playback requests quickly.
    recent: playback::Recent,
    settings: Settings,
    searches: Semaphore,
}

/// A job the queue did not take at finalize is queued again by the sweeper after this long.
const REQUEUE_AFTER: Duration = Duration::from_secs(5);
/// How long finalize waits for the queue to store a job.
const ENQUEUE_WAIT: Duration = Duration::from_secs(2);

impl Catalog {
    pub fn new(
        store: Arc<dyn MediaStore>,
        objects: Arc<dyn ObjectStore>,
        auth: Arc<dyn Authenticator>,
        jobs: Arc<dyn JobQueue>,
        settings: Settings,
    ) -> Self {
        let searches = Semaphore::new(settings.search_concurrency.max(1));
        Self {
            store,
            objects,
            auth,
            jobs,
            progress: Arc::new(progress::Silent),
            playback: None,
            recent: playback::Recent::default(),
            settings,
            searches,
        }
    }

    /// A new processing job for an uploaded video: recorded first (so it cannot be lost),
    /// then queued; when the queue is away the sweeper queues it later.
    async fn start_processing(&self, id: MediaId) -> Result<(), CatalogError> {
        let processing = Processing::new(Uuid::new_v4(), Utc::now());
        self.store.save_processing(id, &processing).await?;
        self.announce(id, &processing).await;
        metrics::counter!("catalog_jobs_created_total").increment(1);
        self.queue(id, processing.job_id).await;
        Ok(())
    }

    /// Puts job `job_id` of `id` on the queue and notes that it is there. A queue that does
    /// not answer within [`ENQUEUE_WAIT`] is left to the sweeper: finalize does not wait on it.
    async fn queue(&self, id: MediaId, job_id: Uuid) -> bool {
        let mut job = processing::job(id, job_id);
        match self.store.get(id).await {
            Ok(Some(item)) => job.content_key = Self::job_key(item.encryption.as_ref()),
            // Deleted meanwhile: nothing to process.
            Ok(None) => return false,
            Err(error) => {
                tracing::warn!(media = %id, %error, "job not queued yet; the sweeper retries");
                return false;
            }
        }
        let queued = tokio::time::timeout(ENQUEUE_WAIT, self.jobs.enqueue(&job))
            .await
            .unwrap_or_else(|_| Err(QueueError("no answer in time".into())));
        match queued {
            Ok(()) => match self.store.mark_queued(id, job_id).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(media = %id, %error, "queued job not marked; it may be queued twice (the queue drops the copy)");
                    false
                }
            },
            Err(error) => {
                tracing::warn!(media = %id, %error, "job not queued yet; the sweeper retries");
                false
            }
        }
    }

    /// Queues the jobs the queue did not take when they were made, and makes the jobs of
    /// uploaded videos that have none; how many it queued.
    pub async fn requeue(&self) -> Result<usize, CatalogError> {
        let before = Utc::now() - chrono::Duration::from_std(REQUEUE_AFTER).unwrap_or_default();
        for id in self.store.videos_without_job(before, 100).await? {
            tracing::info!(media = %id, "an uploaded video without a job gets one");
            self.start_processing(id).await?;
        }
        let mut queued = 0;
        for (id, job_id) in self.store.unqueued_jobs(before, 100).await? {
            if self.queue(id, job_id).await {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Records a worker's report. Reports about an item that is gone (deleted while its job
    /// ran) remove what the job wrote after the deletion.
    pub async fn record(&self, event: &Event) -> Result<(), CatalogError> {
        let media = MediaId(event.media_id);
        if let Some(processing) = self.store.record(event).await? {
            tracing::debug!(media = %media, state = ?processing.state, "processing recorded");
            self.announce(media, &processing).await;
            if processing.state == JobState::Done {
                metrics::counter!("catalog_jobs_done_total").increment(1);
            } else if processing.state == JobState::Failed {
                metrics::counter!("catalog_jobs_failed_total").increment(1);
            }
        } else if self.store.get(media).await?.is_none()
            && matches!(event.report, Report::Done(_) | Report::Failed { .. })
        {
            self.objects.delete_prefix(&media.prefix()).await?;
        }
        Ok(())
    }

    pub fn store(&self) -> &Arc<dyn MediaStore> {
        &self.store
    }

    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    pub fn auth(&self) -> &Arc<dyn Authenticator> {
        &self.auth
    }

    /// Who `token` belongs to; no token or a refused one is 401.
    pub async fn caller(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<Caller, CatalogError> {
        let token = token.ok_or(CatalogError::Unauthorized)?;
        self.auth
            .validate_token(token, request_id)
            .await
            .map_err(|error| match error {
                AuthError::Rejected => CatalogError::Unauthorized,
                AuthError::Unavailable(_) => CatalogError::UsersUnavailable,
            })
    }

    /// The caller if a token came along; a bad token is still 401 (a client that sends one
    /// expects it to count).
    async fn optional_caller(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<Option<Caller>, CatalogError> {
        match token {
            None => Ok(None),
            Some(_) => self.caller(token, request_id).await.map(Some),
        }
    }

    pub async fn create(
        &self,
        caller: &Caller,
        new: NewMedia,
    ) -> Result<(MediaItem, UploadInstructions), CatalogError> {
        let created = self.create_unchecked(caller, new).await;
        if let Err(error) = &created {
            let reason = match error {
                CatalogError::UnsupportedType(_) => "unsupported_type",
                CatalogError::TooLarge(_) => "too_large",
                CatalogError::QuotaExceeded { .. } => "quota_exceeded",
                CatalogError::Validation { .. } => "invalid",
                _ => return created,
            };
            self.refused(reason);
        }
        created
    }

    async fn create_unchecked(
        &self,
        caller: &Caller,
        new: NewMedia,
    ) -> Result<(MediaItem, UploadInstructions), CatalogError> {
        let content_type = ContentType::parse(&new.content_type)
            .ok_or_else(|| CatalogError::UnsupportedType(shorten(&new.content_type)))?;
        if content_type.kind() != new.kind {
            return Err(CatalogError::Validation {
                field: "content_type",
                message: format!(
                    "{} is not a {} type",
                    content_type.as_str(),
                    new.kind.as_str()
                ),
            });
        }
        let title = Title::parse(&new.title).map_err(invalid("title"))?;
        let description = Description::parse(&new.description).map_err(invalid("description"))?;
        let tags = tags::parse_list(&new.tags).map_err(invalid("tags"))?;
        let sha256 = Sha256::parse_hex(&new.sha256).ok_or_else(|| CatalogError::Validation {
            field: "sha256",
            message: "must be the file's SHA-256 as 64 hex digits".into(),
        })?;
        let plan = upload::plan(new.size, self.settings.limits).map_err(|error| match error {
            PlanError::Empty => CatalogError::Validation {
                field: "size",
                message: error.to_string(),
            },
            PlanError::TooLarge { .. } => CatalogError::TooLarge(error),
        })?;

        let id = MediaId::random();
        let encryption = self
            .new_encryption(caller, id, new.kind, new.encrypt)
            .await?;
        let key = id.original_key();
        let upload = match plan {
            Plan::Single => UploadMethod::Single,
            Plan::Multipart { part_size, .. } => UploadMethod::Multipart {
                upload_id: self.objects.create_multipart(&key, content_type).await?,
                part_size,
            },
        };
        let now = Utc::now();
        let item = MediaItem {
            id,
            owner_id: caller.user_id.clone(),
            owner_name: caller.username.clone(),
            kind: new.kind,
            title,
            description,
            tags,
            visibility: new.visibility,
            status: MediaStatus::AwaitingUpload,
            content_type,
            size: new.size,
            sha256,
            upload,
            created_at: now,
            updated_at: now,
            uploaded_at: None,
            processing: None,
            encryption,
        };
        if let Err(error) = self.store.create(&item, self.settings.quota).await {
            if let UploadMethod::Multipart { upload_id, .. } = &item.upload {
                let _ = self.objects.abort_multipart(&key, upload_id).await;
            }
            return Err(match error {
                StoreError::QuotaExceeded { used, quota } => CatalogError::QuotaExceeded {
                    used,
                    quota,
                    size: item.size,
                },
                other => other.into(),
            });
        }
        let instructions = match plan {
            Plan::Single => UploadInstructions::Single(
                self.objects
                    .presign_put(&key, item.size, sha256, content_type, self.settings.url_ttl)
                    .await?,
            ),
            Plan::Multipart { part_size, parts } => {
                UploadInstructions::Multipart { part_size, parts }
            }
        };
        metrics::counter!("catalog_uploads_started_total").increment(1);
        Ok((item, instructions))
    }

    /// Presigned URLs for parts of a multipart upload, each signed with its length and the
    /// SHA-256 the client states for it.
    pub async fn part_urls(
        &self,
        caller: &Caller,
        id: MediaId,
        parts: &[(u32, String)],
    ) -> Result<Vec<(u32, PresignedRequest)>, CatalogError> {
        let item = self.owned(caller, id).await?;
        if item.status != MediaStatus::AwaitingUpload {
            return Err(CatalogError::Conflict("the upload is already finalized"));
        }
        let UploadMethod::Multipart {
            upload_id,
            part_size,
        } = &item.upload
        else {
            return Err(CatalogError::Conflict(
                "this media goes up in one PUT, not in parts",
            ));
        };
        if parts.is_empty() || parts.len() > MAX_PART_URLS_PER_REQUEST {
            return Err(CatalogError::Validation {
                field: "parts",
                message: format!("ask for 1-{MAX_PART_URLS_PER_REQUEST} parts at a time"),
            });
        }
        let key = item.id.original_key();
        let mut urls = Vec::with_capacity(parts.len());
        for (number, digest) in parts {
            let length = upload::part_length(item.size, *part_size, u64::from(*number))
                .ok_or_else(|| CatalogError::Validation {
                    field: "parts",
                    message: format!("part {number} is not a part of this upload"),
                })?;
            let sha256 = Sha256::parse_hex(digest).ok_or_else(|| CatalogError::Validation {
                field: "parts",
                message: format!("part {number}: sha256 must be 64 hex digits"),
            })?;
            let request = self
                .objects
                .presign_part(
                    &key,
                    upload_id,
                    *number,
                    length,
                    sha256,
                    self.settings.url_ttl,
                )
                .await?;
            urls.push((*number, request));
        }
        Ok(urls)
    }

    /// Checks the uploaded object and moves the item to `uploaded`. Idempotent: finalizing an
    /// item that is past its upload answers the item as it is.
    pub async fn finalize(&self, caller: &Caller, id: MediaId) -> Result<MediaItem, CatalogError> {
        let item = self.owned(caller, id).await?;
        if item.status != MediaStatus::AwaitingUpload {
            return Ok(item);
        }
        let key = item.id.original_key();
        if let UploadMethod::Multipart {
            upload_id,
            part_size,
        } = &item.upload
        {
            let parts = u32::try_from(item.size.div_ceil(*part_size)).unwrap_or(u32::MAX);
            match self
                .objects
                .complete_multipart(&key, upload_id, parts)
                .await
            {
                // Gone: an earlier finalize completed it (the object tells) or it was aborted.
                Ok(()) | Err(ObjectError::NoSuchUpload) => {}
                Err(ObjectError::InvalidParts(_)) => {
                    self.refused("parts_missing");
                    return Err(CatalogError::NotUploaded);
                }
                Err(other) => return Err(other.into()),
            }
        }
        let Some(info) = self.objects.head(&key).await? else {
            self.refused("not_uploaded");
            return Err(CatalogError::NotUploaded);
        };
        if info.size != item.size {
            return Err(self
                .refuse_upload(
                    &item,
                    "size",
                    format!("it is {} bytes, {} were declared", info.size, item.size),
                )
                .await);
        }
        if matches!(item.upload, UploadMethod::Single) && info.sha256 != Some(item.sha256) {
            return Err(self
                .refuse_upload(
                    &item,
                    "checksum",
                    "its SHA-256 is not the declared one".into(),
                )
                .await);
        }
        let head = self.objects.read_start(&key, sniff::SNIFF_BYTES).await?;
        if !sniff::matches(item.content_type, &head) {
            return Err(self
                .refuse_upload(
                    &item,
                    "content",
                    format!("its bytes are not {}", item.content_type.as_str()),
                )
                .await);
        }
        if self.store.mark_uploaded(item.id).await? {
            self.store.count_tags(Some(&item.tags)).await?;
            metrics::counter!("catalog_uploads_finalized_total").increment(1);
            tracing::info!(media = %item.id, size = item.size, "upload finalized");
            if item.kind == MediaKind::Video {
                self.start_processing(item.id).await?;
            }
        }
        self.store.get(item.id).await?.ok_or(CatalogError::NotFound)
    }

    /// Removes an upload that is not what was declared, object and record, and says why.
    async fn refuse_upload(
        &self,
        item: &MediaItem,
        reason: &'static str,
        message: String,
    ) -> CatalogError {
        self.refused(reason);
        tracing::info!(media = %item.id, reason, "upload refused at finalize");
        if let Err(error) = self.remove(item).await {
            return error;
        }
        CatalogError::UploadRefused(message)
    }

    fn refused(&self, reason: &'static str) {
        metrics::counter!("catalog_uploads_refused_total", "reason" => reason).increment(1);
    }

    /// Objects first, then the record: a failure in between leaves a record that a retry (or
    /// the sweeper) removes, never bytes nobody can find.
    async fn remove(&self, item: &MediaItem) -> Result<(), CatalogError> {
        if let (MediaStatus::AwaitingUpload, UploadMethod::Multipart { upload_id, .. }) =
            (item.status, &item.upload)
        {
            match self
                .objects
                .abort_multipart(&item.id.original_key(), upload_id)
                .await
            {
                Ok(()) | Err(ObjectError::NoSuchUpload) => {}
                Err(other) => return Err(other.into()),
            }
        }
        if item.processing.is_some() {
            if let Err(error) = self.jobs.cancel(item.id.0).await {
                // A job still running ends on its own; its report then removes its files.
                tracing::warn!(media = %item.id, %error, "job not cancelled");
            }
        }
        self.objects.delete_prefix(&item.id.prefix()).await?;
        self.store.delete(item.id).await?;
        self.recent.forget(item.id).await;
        self.store.count_tags(Some(&item.tags)).await?;
        Ok(())
    }

    pub async fn get(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
        id: MediaId,
    ) -> Result<MediaItem, CatalogError> {
        let caller = self.optional_caller(token, request_id).await?;
        self.visible(caller.as_ref(), id).await
    }

    /// The item if `caller` (signed in or not) may see it; "not found" otherwise, as if it did
    /// not exist.
    pub(super) async fn visible(
        &self,
        caller: Option<&Caller>,
        id: MediaId,
    ) -> Result<MediaItem, CatalogError> {
        let item = self.store.get(id).await?.ok_or(CatalogError::NotFound)?;
        if item.visible_to(caller.map(|c| c.user_id.as_str())) {
            Ok(item)
        } else {
            Err(CatalogError::NotFound)
        }
    }

    /// The item if `caller` owns it: 404 when they cannot see it, 403 when they can but it
    /// is someone else's.
    async fn owned(&self, caller: &Caller, id: MediaId) -> Result<MediaItem, CatalogError> {
        let item = self.store.get(id).await?.ok_or(CatalogError::NotFound)?;
        let user = Some(caller.user_id.as_str());
        if !item.visible_to(user) {
            return Err(CatalogError::NotFound);
        }
        if !item.is_owner(user) {
            return Err(CatalogError::Forbidden);
        }
        Ok(item)
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: MediaId,
        changes: MediaChanges,
    ) -> Result<MediaItem, CatalogError> {
        let before = self.owned(caller, id).await?;
        let after = self
            .store
            .update(id, &changes)
            .await?
            .ok_or(CatalogError::NotFound)?;
        self.recent.forget(id).await;
        if changes.tags.is_some() || changes.visibility.is_some() {
            let mut touched = before.tags;
            touched.extend(after.tags.iter().cloned());
            self.store.count_tags(Some(&touched)).await?;
        }
        Ok(after)
    }

    pub async fn delete(&self, caller: &Caller, id: MediaId) -> Result<(), CatalogError> {
        let item = self.owned(caller, id).await?;
        self.remove(&item).await?;
        tracing::info!(media = %id, "media deleted");
        Ok(())
    }

    pub async fn search(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
        request: SearchRequest,
    ) -> Result<Page, CatalogError> {
        let caller = self.optional_caller(token, request_id).await?;
        let text = SearchText::parse(request.q.as_deref().unwrap_or("")).map_err(invalid("q"))?;
        let tags = search::parse_tag_filter(request.tags.as_deref().unwrap_or(""))
            .map_err(invalid("tags"))?;
        let cursor = match request.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| CatalogError::Validation {
                field: "cursor",
                message: "not a cursor this service handed out".into(),
            })?),
        };
        let limit = request.limit.unwrap_or(PAGE_SIZE).clamp(1, 100);
        let owner = request
            .owner
            .map(|o| o.trim().to_lowercase())
            .filter(|o| !o.is_empty());
        let query = MediaQuery {
            // A cursor of the other order would skip or repeat items.
            cursor: match (&text, cursor) {
                (Some(_), Some(Cursor::After { .. })) | (None, Some(Cursor::Offset { .. })) => {
                    return Err(CatalogError::Validation {
                        field: "cursor",
                        message: "this cursor belongs to another search".into(),
                    })
                }
                (_, cursor) => cursor,
            },
            text,
            tags,
            owner,
            caller: caller.map(|c| c.user_id),
            limit,
        };

        let _slot = tokio::time::timeout(SEARCH_QUEUE, self.searches.acquire())
            .await
            .map_err(|_| CatalogError::Busy)?
            .map_err(|_| CatalogError::Busy)?;
        let mut items = self.store.search(&query).await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = match (&query.text, items.last()) {
            (_, None) => None,
            _ if !more => None,
            (None, Some(last)) => Some(Cursor::After {
                at: last.created_at,
                id: last.id.0,
            }),
            (Some(_), Some(_)) => {
                let start = match query.cursor {
                    Some(Cursor::Offset { n }) => n,
                    _ => 0,
                };
                let n = start + items.len() as u32;
                (n < RANKED_RESULTS).then_some(Cursor::Offset { n })
            }
        };
        Ok(Page {
            items,
            next_cursor: next_cursor.map(|c| c.encode()),
        })
    }

    pub async fn tags(
        &self,
        prefix: &str,
        limit: Option<u32>,
    ) -> Result<Vec<TagCount>, CatalogError> {
        let prefix = parse_prefix(prefix).ok_or_else(|| CatalogError::Validation {
            field: "prefix",
            message: "no tag starts like this".into(),
        })?;
        let limit = limit.unwrap_or(20).clamp(1, 100);
        Ok(self.store.tags(&prefix, limit).await?)
    }

    /// A short-lived download of the original, for its owner.
    pub async fn original(
        &self,
        caller: &Caller,
        id: MediaId,
    ) -> Result<PresignedRequest, CatalogError> {
        let item = self.owned(caller, id).await?;
        if item.status == MediaStatus::AwaitingUpload {
            return Err(CatalogError::NotUploaded);
        }
        let filename = download_name(&item);
        Ok(self
            .objects
            .presign_get(&item.id.original_key(), &filename, self.settings.url_ttl)
            .await?)
    }

    /// A file of a video's current processing output (`file` relative to the job's folder),
    /// for whoever may see the item (a private item's playlists and segments also want a live
    /// playback session of it, `session_token`); whether the item is private (its bytes are then not for shared
    /// caches).
    pub async fn stream(
        &self,
        token: Option<&str>,
        request_id: Option<&str>,
        id: MediaId,
        job_id: Uuid,
        file: &str,
        session_token: Option<&str>,
    ) -> Result<(OpenedObject, bool), CatalogError> {
        if !jobs::servable(file) {
            return Err(CatalogError::NotFound);
        }
        let caller = self.optional_caller(token, request_id).await?;
        let item = self.visible(caller.as_ref(), id).await?;
        // The stream itself; the poster and thumbnails are loaded by the browser as images,
        // which carry no header: those stay the owner's (cookie) without a session.
        let stream_file = [".m3u8", ".mpd", ".m4s", ".mp4"]
            .iter()
            .any(|ending| file.ends_with(ending));
        if item.visibility == Visibility::Private && stream_file {
            let allowed = match &caller {
                Some(caller) => self.session_allows(caller, id, session_token).await?,
                None => false,
            };
            if !allowed {
                return Err(CatalogError::NoSession);
            }
        }
        let current = item.processing.as_ref().is_some_and(|p| p.job_id == job_id);
        if !current {
            return Err(CatalogError::NotFound);
        }
        let job = processing::job(id, job_id);
        let object = self
            .objects
            .open(&format!("{}{file}", job.output_prefix))
            .await?
            .ok_or(CatalogError::NotFound)?;
        let object = match &item.encryption {
            Some(encryption) if file.ends_with(".m3u8") && file != "master.m3u8" => {
                keys::clearkey_playlist(object, encryption).await?
            }
            _ => object,
        };
        Ok((object, item.visibility == Visibility::Private))
    }

    /// Counts every tag's public items again (writes recount only their own tags; this also
    /// catches what a failed write left behind) and sets the `catalog_stored_bytes` gauge from
    /// the store (every replica reports the same total, so dashboards take the max).
    pub async fn recount(&self) -> Result<(), CatalogError> {
        self.store.count_tags(None).await?;
        let bytes = self.store.stored_bytes().await?;
        metrics::gauge!("catalog_stored_bytes").set(bytes as f64);
        Ok(())
    }

    /// Removes items whose upload was not finalized within the expiry; how many went.
    pub async fn sweep_expired(&self) -> Result<usize, CatalogError> {
        let expiry = chrono::Duration::from_std(self.settings.upload_expiry)
            .unwrap_or(chrono::Duration::days(1));
        let expired = self.store.expired_uploads(Utc::now() - expiry, 100).await?;
        let mut removed = 0;
        for item in &expired {
            match self.remove(item).await {
                Ok(()) => removed += 1,
                Err(error) => {
                    tracing::warn!(media = %item.id, %error, "expired upload not removed")
                }
            }
        }
        Ok(removed)
    }
}

/// A file name for the download: the title's letters, digits, `-` and `_`, and the extension
/// of its type (never a name a client chose verbatim).
fn download_name(item: &MediaItem) -> String {
    let stem: String = item
        .title
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let extension = match item.content_type {
        ContentType::Mp4 => "mp4",
        ContentType::QuickTime => "mov",
        ContentType::WebM => "webm",
        ContentType::Matroska => "mkv",
        ContentType::Jpeg => "jpg",
        ContentType::Png => "png",
        ContentType::WebP => "webp",
        ContentType::Gif => "gif",
    };
    format!("{stem}.{extension}")
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}
