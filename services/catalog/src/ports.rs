//! What the use cases need from the outside world, as traits the adapters implement: the media
//! store (PostgreSQL), object storage (S3), the users service (who a token belongs to), the
//! job queue (NATS JetStream) the workers take videos from, and the announcements of processing
//! progress every replica pushes to its own browsers (core NATS).

use std::time::Duration;

use chrono::{DateTime, Utc};
use ferrocast_kit::jobs::{Event, Job};
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::domain::{
    processing::Processing, ContentType, Description, MediaId, MediaItem, MediaQuery,
    OwnerSettings, SettingsChange, Sha256, Tag, Title, Visibility,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("quota exceeded: {used} of {quota} bytes in use")]
    QuotaExceeded { used: u64, quota: u64 },
    #[error("media store: {0}")]
    Backend(String),
}

/// A signed-in user, as the users service vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not valid")]
    Rejected,
    #[error("users service unavailable: {0}")]
    Unavailable(String),
}

/// The fields an owner may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MediaChanges {
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub tags: Option<Vec<Tag>>,
    pub visibility: Option<Visibility>,
}

/// A tag and how many items anyone may find carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub count: u64,
}

pub trait MediaStore: Send + Sync {
    /// Inserts `item` unless its owner's stored bytes plus its size would pass `quota`, decided
    /// atomically per owner (two uploads at once cannot both squeeze under it).
    fn create<'a>(
        &'a self,
        item: &'a MediaItem,
        quota: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn get(&self, id: MediaId) -> BoxFuture<'_, Result<Option<MediaItem>, StoreError>>;
    /// Applies `changes`; the item after them, or `None` when it no longer exists.
    fn update<'a>(
        &'a self,
        id: MediaId,
        changes: &'a MediaChanges,
    ) -> BoxFuture<'a, Result<Option<MediaItem>, StoreError>>;
    /// Moves an item from `awaiting_upload` to `uploaded`; false when it was not awaiting.
    fn mark_uploaded(&self, id: MediaId) -> BoxFuture<'_, Result<bool, StoreError>>;
    fn delete(&self, id: MediaId) -> BoxFuture<'_, Result<(), StoreError>>;
    /// One page of `query` (at most `query.limit + 1` items, so the caller knows whether more
    /// follow).
    fn search<'a>(
        &'a self,
        query: &'a MediaQuery,
    ) -> BoxFuture<'a, Result<Vec<MediaItem>, StoreError>>;
    /// Tags that start with `prefix`, most used first, as last counted by [`count_tags`].
    ///
    /// [`count_tags`]: MediaStore::count_tags
    fn tags<'a>(
        &'a self,
        prefix: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<TagCount>, StoreError>>;
    /// Counts again how many public items carry each tag (autocomplete reads the counts, so a
    /// lookup never joins every tagged item).
    /// `Some(tags)`: only those (after a write that changed what carries them).
    fn count_tags<'a>(&'a self, only: Option<&'a [Tag]>) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Items still awaiting their upload that were created before `before`.
    fn expired_uploads(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<MediaItem>, StoreError>>;
    /// Bytes of every item past its upload, for the stored-bytes gauge.
    fn stored_bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Writes an item's processing record (a new job replaces the previous one).
    fn save_processing<'a>(
        &'a self,
        id: MediaId,
        processing: &'a Processing,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Applies a worker's report to its item's record, atomically (replicas record reports
    /// concurrently); the record after it when it changed.
    fn record<'a>(
        &'a self,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<Option<Processing>, StoreError>>;
    fn mark_queued(&self, id: MediaId, job_id: Uuid) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Videos uploaded before `before` that have no processing job (their finalize stopped
    /// between the two writes, or they predate processing).
    fn videos_without_job(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<MediaId>, StoreError>>;
    /// Jobs created before `before` that the queue has not taken yet.
    fn unqueued_jobs(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(MediaId, Uuid)>, StoreError>>;
    /// An owner's choices for new uploads (defaults when they never chose).
    fn owner_settings<'a>(
        &'a self,
        owner_id: &'a str,
    ) -> BoxFuture<'a, Result<OwnerSettings, StoreError>>;
    /// Applies `change` in one statement (two changes at once never undo each other); the
    /// settings as stored.
    fn save_owner_settings<'a>(
        &'a self,
        owner_id: &'a str,
        change: &'a SettingsChange,
    ) -> BoxFuture<'a, Result<OwnerSettings, StoreError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The multipart upload is gone (completed before, or aborted).
    #[error("no such upload")]
    NoSuchUpload,
    /// Completing refused the parts (missing, too small, wrong checksum).
    #[error("the parts do not make a valid upload: {0}")]
    InvalidParts(String),
    #[error("object storage: {0}")]
    Backend(String),
}

/// A request a client makes straight to storage: method, URL and the headers it must send
/// exactly (they are part of the signature).
#[derive(Debug, Clone)]
pub struct PresignedRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// What storage says of a stored object.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub size: u64,
    /// The SHA-256 storage verified on a single PUT; multipart objects carry a checksum of
    /// their parts' checksums instead, which is not the file's digest.
    pub sha256: Option<Sha256>,
}

pub trait ObjectStore: Send + Sync {
    /// A PUT of exactly `size` bytes whose SHA-256 is `sha256`: storage refuses other bytes.
    fn presign_put<'a>(
        &'a self,
        key: &'a str,
        size: u64,
        sha256: Sha256,
        content_type: ContentType,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, ObjectError>>;
    fn create_multipart<'a>(
        &'a self,
        key: &'a str,
        content_type: ContentType,
    ) -> BoxFuture<'a, Result<String, ObjectError>>;
    /// Part `number` of an upload: exactly `length` bytes whose SHA-256 is `sha256`.
    fn presign_part<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        number: u32,
        length: u64,
        sha256: Sha256,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, ObjectError>>;
    /// Completes an upload from the parts storage holds, which must be `parts` in number.
    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: u32,
    ) -> BoxFuture<'a, Result<(), ObjectError>>;
    fn abort_multipart<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), ObjectError>>;
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<ObjectInfo>, ObjectError>>;
    /// A whole object to stream out; `None` when there is none by that key.
    fn open<'a>(&'a self, key: &'a str)
        -> BoxFuture<'a, Result<Option<OpenedObject>, ObjectError>>;
    /// The first `length` bytes of an object.
    fn read_start<'a>(
        &'a self,
        key: &'a str,
        length: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ObjectError>>;
    /// A short-lived GET of an object, downloaded as `filename`.
    fn presign_get<'a>(
        &'a self,
        key: &'a str,
        filename: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, ObjectError>>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), ObjectError>>;
    /// Removes every object under `prefix`.
    fn delete_prefix<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), ObjectError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), ObjectError>>;
}

pub trait Authenticator: Send + Sync {
    fn validate_token<'a>(
        &'a self,
        token: &'a str,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Caller, AuthError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), AuthError>>;
}

/// An object being read: its length and its bytes as they arrive.
pub struct OpenedObject {
    pub length: u64,
    pub body: futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>,
}

#[derive(Debug, thiserror::Error)]
#[error("job queue: {0}")]
pub struct QueueError(pub String);

pub trait JobQueue: Send + Sync {
    /// Returns once the queue stored the job. The same job twice is stored once (the job id is
    /// the message id the queue deduplicates by).
    fn enqueue<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), QueueError>>;
    /// Tells the workers to stop any job of `media` (deleted); nobody listening is fine.
    fn cancel(&self, media: Uuid) -> BoxFuture<'_, Result<(), QueueError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), QueueError>>;
}

/// Tells every replica that an item's processing record changed, once it is stored, so each
/// can push it to the browsers following that item. Nobody listening is fine; a record that is
/// not announced only reaches streams at their next (re)connect.
pub trait ProgressPublisher: Send + Sync {
    fn announce<'a>(
        &'a self,
        id: MediaId,
        processing: &'a Processing,
    ) -> BoxFuture<'a, Result<(), QueueError>>;
}

#[derive(Debug, thiserror::Error)]
#[error("playback sessions: {0}")]
pub struct PlaybackError(pub String);

/// A playback request as the store decides it.
#[derive(Debug, Clone)]
pub struct PlaybackRequest {
    pub request_id: crate::domain::playback::SessionId,
    pub user: String,
    pub media: Uuid,
    pub device: String,
    pub title: String,
    /// Wait for a slot when none is free (else denied).
    pub wait: bool,
    pub now_ms: u64,
    pub lease: Duration,
    /// Sessions one account may hold at once.
    pub limit: u32,
    /// Requests one account may make per second; past it: [`Outcome::Limited`].
    pub per_second: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Granted { expires_at_ms: u64 },
    Queued { position: u32 },
    Denied,
    Limited,
}

/// An account's live sessions and waiting requests.
pub type AccountPlayback = (
    Vec<crate::domain::playback::ActiveSession>,
    Vec<crate::domain::playback::QueuedRequest>,
);

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub active: crate::domain::playback::ActiveSession,
}

/// Playback sessions of every account, decided atomically per account across replicas. Every
/// decision is also published to the account's event streams (the store's own channel).
pub trait PlaybackStore: Send + Sync {
    fn request<'a>(
        &'a self,
        request: &'a PlaybackRequest,
    ) -> BoxFuture<'a, Result<Outcome, PlaybackError>>;
    /// Extends a live session's lease; `None` when it is over.
    fn heartbeat<'a>(
        &'a self,
        user: &'a str,
        session: crate::domain::playback::SessionId,
        now_ms: u64,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'a, Result<Option<u64>, PlaybackError>>;
    /// Ends one of `user`'s sessions, or withdraws a waiting request; false when neither.
    fn release<'a>(
        &'a self,
        user: &'a str,
        session: crate::domain::playback::SessionId,
        now_ms: u64,
        lease: Duration,
        limit: u32,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<bool, PlaybackError>>;
    /// Ends lapsed sessions and gives their slots to waiting requests; how many ended.
    fn sweep(
        &self,
        now_ms: u64,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'_, Result<u32, PlaybackError>>;
    fn session(
        &self,
        session: crate::domain::playback::SessionId,
    ) -> BoxFuture<'_, Result<Option<SessionRecord>, PlaybackError>>;
    fn sessions<'a>(
        &'a self,
        user: &'a str,
    ) -> BoxFuture<'a, Result<AccountPlayback, PlaybackError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), PlaybackError>>;
}

/// One recorded broadcast as the catalogue keeps it: whose, the video it became (once
/// registered), why its recording stopped early, if it did, and why it was refused as a video
/// (over the owner's quota, too large), if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    pub recording_id: String,
    pub owner_id: String,
    pub media_id: Option<MediaId>,
    pub stopped_reason: Option<String>,
    pub refused_reason: Option<String>,
    pub finalized: bool,
    pub created_at: DateTime<Utc>,
}

/// Past broadcasts' records (PostgreSQL, beside the media). The recording id is the key, so a
/// registration retried after a lost answer finds the video the first one made.
pub trait RecordingStore: Send + Sync + 'static {
    /// Adds the row unless it exists; the row as stored.
    fn claim<'a>(
        &'a self,
        recording_id: &'a str,
        owner: &'a Caller,
    ) -> BoxFuture<'a, Result<RecordingRow, StoreError>>;
    /// Names `media_id` as the recording's video unless one is named already; the video named.
    fn attach(
        &self,
        recording_id: &str,
        media_id: MediaId,
    ) -> BoxFuture<'_, Result<Option<MediaId>, StoreError>>;
    /// Forgets a video that is gone, so the next registration makes a new one.
    fn detach(
        &self,
        recording_id: &str,
        media_id: MediaId,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    fn stopped<'a>(
        &'a self,
        recording_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn refused<'a>(
        &'a self,
        recording_id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn finalized<'a>(&'a self, recording_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// An owner's newest recordings, newest first.
    fn recent<'a>(
        &'a self,
        owner_id: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<RecordingRow>, StoreError>>;
}
