//! Live thumbnails: every live session gets a small JPEG of what it shows now, refreshed every
//! `FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS`, served at `/hls/{username}/thumbnail.jpg`.
//!
//! [`ThumbnailingTranscoder`] wraps the real transcoder: each pipeline it starts also gets a task
//! that, until the session's sink is finished or dropped, takes the newest complete segment of
//! the lowest rung (named by the session's own playlists, [`crate::domain::thumbnail`]) and has
//! ffmpeg decode one keyframe of it, scaled down. The cost is one short ffmpeg per stream per
//! interval, never a decoder running beside the live pipeline: the transcoded rungs are already
//! on disk, and the lowest one is the cheapest picture to decode.
//!
//! A thumbnail is only ever a side show: ffmpeg runs with a deadline and `kill_on_drop`, at most
//! `FERROCAST_INGEST_THUMBNAIL_CONCURRENCY` at once per node, one at a time per stream, from an
//! argv with `PATH` as its whole environment; when it fails or hangs the previous thumbnail stays
//! served and the live stream never notices. Thumbnails live in memory (a few KiB each), so the
//! origin answers them without touching the disk, and go when their session ends.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, SystemTime},
};

use axum::{
    body::Body,
    extract::{Path as UrlPath, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use bytes::Bytes;
use tokio::{io::AsyncReadExt, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    hls::{is_username, HlsRegistry},
    media::WatchedSink,
};
use crate::{
    domain::thumbnail::{self, SegmentRef},
    ports::{BoxFuture, MediaError, MediaSink, Publisher, Transcoder},
};

/// The file name viewers ask for beside the playlists.
pub const FILE_NAME: &str = "thumbnail.jpg";
/// The first try comes this soon after the publish, then again at this pace until one exists
/// (the first segments of the lowest rung take a few seconds to appear).
const EARLY_RETRY: Duration = Duration::from_secs(1);
/// How soon a stream that has no thumbnail yet tries again after a failed one.
const FIRST_FAILURE_RETRY: Duration = Duration::from_secs(5);
/// A playlist bigger than this is not one the ingest wrote.
const MAX_PLAYLIST_BYTES: u64 = 256 * 1024;
/// A 320-pixel JPEG is ≈ 5–30 KiB; more means something else came out.
const MAX_THUMBNAIL_BYTES: usize = 2 * 1024 * 1024;

/// How thumbnails are made (docs/api.md, `FERROCAST_INGEST_THUMBNAIL_*`).
#[derive(Debug, Clone)]
pub struct ThumbnailSettings {
    pub ffmpeg_path: PathBuf,
    /// Time between two thumbnails of one stream.
    pub interval: Duration,
    /// Width in pixels (height follows the picture's aspect ratio).
    pub width: u32,
    /// ffmpeg runs at once for thumbnails on this node.
    pub concurrency: usize,
    /// How long one ffmpeg may take before it is killed.
    pub deadline: Duration,
}

/// One stream's current thumbnail.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    session_id: String,
    bytes: Bytes,
    etag: HeaderValue,
    modified: HeaderValue,
}

/// Why no thumbnail came out this time.
#[derive(Debug, thiserror::Error)]
enum CaptureError {
    /// The session has no complete segment of its lowest rung yet (or it just ended).
    #[error("no segment to take a thumbnail from yet")]
    NotReady,
    #[error("{0}")]
    Failed(String),
}

/// Every live stream's latest thumbnail on this node, and what makes them.
#[derive(Clone)]
pub struct Thumbnails {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ThumbnailSettings,
    registry: HlsRegistry,
    slots: Semaphore,
    latest: RwLock<HashMap<String, Thumbnail>>,
}

impl Thumbnails {
    pub fn new(settings: ThumbnailSettings, registry: HlsRegistry) -> Self {
        let slots = Semaphore::new(settings.concurrency.max(1));
        Self {
            inner: Arc::new(Inner {
                settings,
                registry,
                slots,
                latest: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The thumbnail of `username`'s stream, if one was made.
    pub fn latest(&self, username: &str) -> Option<Thumbnail> {
        self.read().get(username).cloned()
    }

    /// Whether the session has a thumbnail (rooms is told, so the room lists its URL).
    pub fn has(&self, username: &str, session_id: &str) -> bool {
        self.read()
            .get(username)
            .is_some_and(|t| t.session_id == session_id)
    }

    fn store(&self, username: &str, session_id: &str, bytes: Bytes) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        // The content's hash: an unchanged picture keeps its validator.
        let etag =
            HeaderValue::from_str(&format!("\"{:016x}-{:x}\"", hasher.finish(), bytes.len()))
                .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        let modified = HeaderValue::from_str(&http_date(SystemTime::now()))
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        self.write().insert(
            username.to_owned(),
            Thumbnail {
                session_id: session_id.to_owned(),
                bytes,
                etag,
                modified,
            },
        );
    }

    /// Drops the session's thumbnail, unless a newer session of the user replaced it.
    fn forget(&self, username: &str, session_id: &str) {
        let mut latest = self.write();
        if latest
            .get(username)
            .is_some_and(|t| t.session_id == session_id)
        {
            latest.remove(username);
        }
    }

    /// Makes thumbnails of one session until `stop` fires.
    async fn run(self, username: String, session_id: String, stop: CancellationToken) {
        let mut delay = EARLY_RETRY;
        let mut failing = false;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
            let permit = tokio::select! {
                () = stop.cancelled() => break,
                permit = self.inner.slots.acquire() => permit,
            };
            let Ok(_permit) = permit else { break };
            let result = tokio::select! {
                () = stop.cancelled() => break,
                result = self.capture(&username) => result,
            };
            match result {
                Ok(bytes) => {
                    metrics::counter!("ingest_thumbnails_total", "result" => "made").increment(1);
                    self.store(&username, &session_id, bytes);
                    failing = false;
                    delay = self.inner.settings.interval;
                }
                Err(CaptureError::NotReady) => {
                    if !self.has(&username, &session_id) {
                        delay = EARLY_RETRY.min(self.inner.settings.interval);
                    }
                }
                Err(CaptureError::Failed(reason)) => {
                    metrics::counter!("ingest_thumbnails_total", "result" => "failed").increment(1);
                    // Once per run of failures: a stream whose thumbnails keep failing would
                    // otherwise log every interval.
                    if !failing {
                        tracing::warn!(%username, %reason, "live thumbnail failed; the last one stays served");
                    }
                    failing = true;
                    // A stream still without a thumbnail tries again soon, not an interval later.
                    delay = if self.has(&username, &session_id) {
                        self.inner.settings.interval
                    } else {
                        FIRST_FAILURE_RETRY.min(self.inner.settings.interval)
                    };
                }
            }
        }
        self.forget(&username, &session_id);
    }

    /// One thumbnail of the user's served session.
    async fn capture(&self, username: &str) -> Result<Bytes, CaptureError> {
        let dir = self
            .inner
            .registry
            .session_dir(username)
            .ok_or(CaptureError::NotReady)?;
        let master = read_small(&dir.join("master.m3u8")).await?;
        let rung = thumbnail::lowest_rendition(&master).ok_or(CaptureError::NotReady)?;
        let rung_dir = dir.join(&rung);
        let playlist = read_small(&rung_dir.join("index.m3u8")).await?;
        let newest = thumbnail::newest_segment(&playlist).ok_or(CaptureError::NotReady)?;
        self.decode(&rung_dir, &input(&newest)).await
    }

    /// Runs ffmpeg inside the rung's folder on bare file names: its argv then names no path of
    /// the HLS root (what tells the live pipeline's ffmpeg apart, to operators and tests).
    async fn decode(&self, rung_dir: &Path, input: &str) -> Result<Bytes, CaptureError> {
        let settings = &self.inner.settings;
        let mut child = super::media::command(&settings.ffmpeg_path)
            .current_dir(rung_dir)
            .args(thumbnail::ffmpeg_args(input, settings.width))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| CaptureError::Failed(format!("cannot run ffmpeg: {e}")))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(CaptureError::Failed("ffmpeg's pipes are missing".into()));
        };
        let read = async {
            let mut jpeg = Vec::new();
            let mut message = Vec::new();
            let limit = u64::try_from(MAX_THUMBNAIL_BYTES).unwrap_or(u64::MAX) + 1;
            let (mut stdout, mut stderr) = (stdout.take(limit), stderr.take(4096));
            let (out, err) = tokio::join!(
                stdout.read_to_end(&mut jpeg),
                stderr.read_to_end(&mut message),
            );
            out.and(err)?;
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((status, jpeg, message))
        };
        // Dropping the read drops the child, which kills it (`kill_on_drop`).
        let (status, jpeg, message) = tokio::time::timeout(settings.deadline, read)
            .await
            .map_err(|_| {
                CaptureError::Failed(format!("ffmpeg took longer than {:?}", settings.deadline))
            })?
            .map_err(|e| CaptureError::Failed(format!("reading ffmpeg's output failed: {e}")))?;
        if !status.success() {
            let message = String::from_utf8_lossy(&message);
            let last = message.lines().last().unwrap_or_default();
            return Err(CaptureError::Failed(format!(
                "ffmpeg exited with {status}: {last}"
            )));
        }
        if jpeg.len() > MAX_THUMBNAIL_BYTES || !thumbnail::is_jpeg(&jpeg) {
            return Err(CaptureError::Failed(format!(
                "ffmpeg wrote {} bytes that are not a JPEG thumbnail",
                jpeg.len()
            )));
        }
        Ok(Bytes::from(jpeg))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Thumbnail>> {
        self.inner
            .latest
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Thumbnail>> {
        self.inner
            .latest
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A playlist of the session (missing: not written yet).
async fn read_small(path: &Path) -> Result<String, CaptureError> {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CaptureError::NotReady),
        Err(e) => return Err(CaptureError::Failed(format!("cannot read a playlist: {e}"))),
    };
    let mut text = String::new();
    file.take(MAX_PLAYLIST_BYTES)
        .read_to_string(&mut text)
        .await
        .map_err(|e| CaptureError::Failed(format!("cannot read a playlist: {e}")))?;
    Ok(text)
}

/// ffmpeg's input inside the rung's folder: the segment, or for an fMP4 rung its init segment
/// and the segment joined by the `concat:` protocol. Both names passed the path allowlist, so
/// neither holds the protocol's `|` nor leaves the folder.
fn input(newest: &SegmentRef) -> String {
    match &newest.init {
        None => newest.segment.clone(),
        Some(init) => format!("concat:{init}|{}", newest.segment),
    }
}

/// An HTTP date (RFC 9110 5.6.7) for `Last-Modified`.
fn http_date(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// The real transcoder, with a thumbnail task beside each pipeline it starts.
pub struct ThumbnailingTranscoder {
    inner: Arc<dyn Transcoder>,
    thumbnails: Thumbnails,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl ThumbnailingTranscoder {
    pub fn new(
        inner: Arc<dyn Transcoder>,
        thumbnails: Thumbnails,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner,
            thumbnails,
            shutdown,
            tasks: TaskTracker::new(),
        }
    }

    /// Resolves once every thumbnail task has ended (after `shutdown` fired).
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl Transcoder for ThumbnailingTranscoder {
    fn start(
        &self,
        publisher: &Publisher,
    ) -> BoxFuture<'_, Result<Box<dyn MediaSink>, MediaError>> {
        let publisher = publisher.clone();
        Box::pin(async move {
            let sink = self.inner.start(&publisher).await?;
            let stop = self.shutdown.child_token();
            self.tasks.spawn(self.thumbnails.clone().run(
                publisher.username,
                publisher.session_id,
                stop.clone(),
            ));
            // The thumbnails stop when the pipeline has finished or is dropped.
            Ok(WatchedSink::boxed(sink, stop))
        })
    }
}

/// `GET|HEAD /hls/{username}/thumbnail.jpg`, merged beside the HLS origin's routes.
pub fn routes(thumbnails: Thumbnails) -> Router {
    Router::new()
        .route(&format!("/hls/{{username}}/{FILE_NAME}"), get(serve))
        .with_state(thumbnails)
}

async fn serve(
    State(thumbnails): State<Thumbnails>,
    UrlPath(username): UrlPath<String>,
    request: HeaderMap,
) -> Response {
    if !is_username(&username) {
        return error(StatusCode::BAD_REQUEST, "bad_path", "not an HLS path");
    }
    let Some(thumbnail) = thumbnails.latest(&username) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no thumbnail for this user",
        );
    };
    // Caches may keep it as long as it is the newest; the ETag lets them revalidate cheaply.
    let max_age = thumbnails.inner.settings.interval.as_secs().max(1);
    let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("no-cache"));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
        (header::CACHE_CONTROL, cache_control),
        (header::ETAG, thumbnail.etag.clone()),
        (header::LAST_MODIFIED, thumbnail.modified.clone()),
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
    ];
    let unchanged = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim().as_bytes() == thumbnail.etag.as_bytes() || tag.trim() == "*");
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, Body::from(thumbnail.bytes)).into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-cache")],
        Json(ferrocast_kit::http::error_body(code, message)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmp4_rungs_are_read_through_concat() {
        let newest = SegmentRef {
            init: Some("init.mp4".into()),
            segment: "seg-1.m4s".into(),
        };
        assert_eq!(input(&newest), "concat:init.mp4|seg-1.m4s");
        let ts = SegmentRef {
            init: None,
            segment: "a_1.ts".into(),
        };
        assert_eq!(input(&ts), "a_1.ts");
    }

    #[test]
    fn a_thumbnail_belongs_to_its_session() {
        let thumbnails = Thumbnails::new(
            ThumbnailSettings {
                ffmpeg_path: "ffmpeg".into(),
                interval: Duration::from_secs(30),
                width: 320,
                concurrency: 1,
                deadline: Duration::from_secs(5),
            },
            HlsRegistry::new(),
        );
        thumbnails.store("alice", "s1", Bytes::from_static(b"one"));
        assert!(thumbnails.has("alice", "s1"));
        assert!(!thumbnails.has("alice", "s2"));
        let first = thumbnails.latest("alice").map(|t| t.etag);
        thumbnails.store("alice", "s2", Bytes::from_static(b"two"));
        assert_ne!(thumbnails.latest("alice").map(|t| t.etag), first);
        // The old session ending never removes the newer one's.
        thumbnails.forget("alice", "s1");
        assert!(thumbnails.has("alice", "s2"));
        thumbnails.forget("alice", "s2");
        assert!(thumbnails.latest("alice").is_none());
    }

    #[test]
    fn dates_are_http_dates() {
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
