//! Playlists the ingest writes itself (the natively remuxed passthrough rung), handed to the
//! origin as they are written, with the names of the segments they have on disk.
//!
//! Players re-read a live playlist every second or so, and for a small file most of the origin's
//! work per request was checking that its cached copy is still current (building the path, a
//! `stat`, a cache lookup). A playlist we write ourselves needs no such check:
//! the writer puts each new version into its session's entry of the [`HlsRegistry`] at the moment
//! it replaces the file, and withdraws it when the rendition stops. The same holds for its
//! segments, which never change once written: each is read once for its first viewer and then
//! answered from its entry ([`PublishedSegment`]). Files ffmpeg writes keep going through
//! [`super::FileCache`].
//!
//! Knowing the moment a segment is listed also lets the origin hold a player's reload until then
//! (blocking playlist reload, `_HLS_msn`, RFC 8216bis 6.2.5.2; the playlist says
//! `CAN-BLOCK-RELOAD=YES`). A polling player learns of a new segment anywhere up to a poll
//! interval late, and hls.js counts its latency from when it learnt; a blocked reload learns at
//! once, so the player can sit closer to the live edge for the same buffer.
//!
//! Low-latency HLS adds partial segments (`EXT-X-PART`, RFC 8216bis 4.4.4.9): a version then
//! also carries the parts it lists, and a reload may wait for a part (`_HLS_msn` with
//! `_HLS_part`). The parts of the segment in progress live only here, in memory; once their
//! segment is on disk a part is only a range of it, answered from the segment's contents (read
//! once, for the first viewer of the segment or of any of its parts), so an unwatched stream
//! holds no more than one segment's parts.

use std::{
    ops::Range,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use tokio::sync::{watch, OnceCell};

use super::{
    files::{CachedFile, FileCache, Lookup},
    HlsRegistry,
};

/// Numbers every version of every playlist, so each version gets its own ETag.
static VERSIONS: AtomicU64 = AtomicU64::new(1);

/// How far a playlist version reaches: every segment before `sequence` is complete, and the
/// first `parts` parts of segment `sequence` (the one in progress) are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub sequence: u64,
    pub parts: u32,
}

impl Edge {
    /// Whether segment `sequence` is complete or, with `part`, that part of it is listed.
    fn reaches(self, sequence: u64, part: Option<u32>) -> bool {
        sequence < self.sequence
            || part.is_some_and(|part| sequence == self.sequence && part < self.parts)
    }
}

/// One version of a published playlist.
#[derive(Debug, Clone)]
pub(super) struct Version {
    pub(super) file: CachedFile,
    pub(super) edge: Edge,
    /// How long a blocked reload may wait: three target durations (RFC 8216bis 6.2.5.2).
    pub(super) hold_limit: Duration,
    /// The rendition's segments on disk when this version was written.
    pub(super) segments: Vec<Arc<PublishedSegment>>,
    /// The parts it lists.
    pub(super) parts: Vec<Arc<PublishedPart>>,
    /// The part its `EXT-X-PRELOAD-HINT` names: not listed yet, and worth waiting for.
    pub(super) preload_hint: Option<String>,
}

impl Version {
    pub(super) fn segment(&self, name: &str) -> Option<&Arc<PublishedSegment>> {
        self.segments.iter().find(|segment| segment.name == name)
    }

    /// The segment on disk, the listed part or the hinted part called `name`.
    pub(super) fn media(&self, name: &str) -> Option<LiveMedia> {
        if let Some(segment) = self.segment(name) {
            return Some(LiveMedia::Segment(segment.clone()));
        }
        if self.preload_hint.as_deref() == Some(name) {
            return Some(LiveMedia::Hinted);
        }
        self.part(name).map(LiveMedia::Part)
    }

    /// The listed part called `name`.
    fn part(&self, name: &str) -> Option<PartMedia> {
        let part = self.parts.iter().find(|part| part.name == name)?;
        match &part.body {
            PartBody::Held(contents) => Some(PartMedia::Held(contents.clone())),
            PartBody::InSegment { segment, range } => Some(PartMedia::InSegment {
                segment: self.segment(segment)?.clone(),
                range: range.clone(),
                version: part.version,
            }),
        }
    }
}

/// A media file of a published playlist, found with one registry lookup.
#[derive(Debug)]
pub(super) enum LiveMedia {
    Segment(Arc<PublishedSegment>),
    Part(PartMedia),
    /// The part the playlist hints at, which does not exist yet ([`preloaded_part`]).
    Hinted,
}

/// Where a listed part's bytes are.
#[derive(Debug)]
pub(super) enum PartMedia {
    Held(CachedFile),
    InSegment {
        segment: Arc<PublishedSegment>,
        range: Range<usize>,
        version: u64,
    },
}

impl PartMedia {
    /// The part's contents; for a part of a segment on disk, a slice of the segment's (which
    /// `sendfile` still sends from the file). `None` when the segment is gone or shorter.
    pub(super) async fn contents(self, files: &FileCache) -> Option<CachedFile> {
        match self {
            Self::Held(contents) => Some(contents),
            Self::InSegment {
                segment,
                range,
                version,
            } => {
                let whole = segment.contents(files).await?;
                (range.end <= whole.bytes.len())
                    .then(|| CachedFile::written(whole.bytes.slice(range), version))
            }
        }
    }
}

/// A partial segment, kept for as long as a playlist lists it.
#[derive(Debug)]
pub struct PublishedPart {
    name: String,
    /// Makes its ETag, whichever way its bytes are kept.
    version: u64,
    body: PartBody,
}

#[derive(Debug)]
enum PartBody {
    /// Its bytes, while its segment is in progress.
    Held(CachedFile),
    /// Where it lies in its segment, once that is on disk.
    InSegment {
        segment: String,
        range: Range<usize>,
    },
}

impl PublishedPart {
    pub fn new(name: String, bytes: Bytes) -> Self {
        let version = VERSIONS.fetch_add(1, Ordering::Relaxed);
        Self {
            name,
            version,
            body: PartBody::Held(CachedFile::written(bytes, version)),
        }
    }

    /// The same part, its bytes dropped: it is `range` of the segment file `segment`, which the
    /// published versions that list it also have on disk.
    pub fn within(&self, segment: &str, range: Range<usize>) -> Self {
        Self {
            name: self.name.clone(),
            version: self.version,
            body: PartBody::InSegment {
                segment: segment.to_owned(),
                range,
            },
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many bytes it holds, while it holds them.
    pub fn held_len(&self) -> Option<usize> {
        match &self.body {
            PartBody::Held(contents) => Some(contents.bytes.len()),
            PartBody::InSegment { .. } => None,
        }
    }
}

/// A segment the writer has on disk: listed, or slid out and not yet deleted. The writer never
/// changes a segment it wrote, so once read for its first viewer its contents are answered
/// without the `stat` and cache lookup that files ffmpeg writes need (together a tenth of the
/// origin's own work per segment request); they are dropped when the segment leaves the
/// disk, so memory holds only segments that are both watched and still served.
#[derive(Debug)]
pub(super) struct PublishedSegment {
    name: String,
    path: PathBuf,
    contents: OnceCell<CachedFile>,
}

impl PublishedSegment {
    pub(super) fn new(name: String, path: PathBuf) -> Self {
        Self {
            name,
            path,
            contents: OnceCell::new(),
        }
    }

    /// Its contents, read through `files` for the first request (concurrent first requests
    /// share the read); `None` when the file is gone or unreadable, which the disk path then
    /// reports.
    pub(super) async fn contents(&self, files: &FileCache) -> Option<CachedFile> {
        self.contents
            .get_or_try_init(|| async {
                match files.get(&self.path).await {
                    Lookup::Found(file) => Ok(file),
                    _ => Err(()),
                }
            })
            .await
            .ok()
            .cloned()
    }
}

/// What a blocked reload gets.
#[derive(Debug)]
pub enum Reload {
    /// The playlist listing the segment (or part) asked for.
    Ready(CachedFile),
    /// Asked for a segment more than two ahead of the newest complete one: a client error.
    TooFarAhead,
    /// The segment did not come within the hold limit.
    TimedOut,
    /// Nothing is published for this rendition (ffmpeg writes it, or it stopped): the file on
    /// disk answers, without blocking.
    NotPublished,
}

/// The playlist of one rendition of one session, as its writer publishes it. Dropping it
/// withdraws the playlist: the file on disk (closed with `#EXT-X-ENDLIST`) is served from then on,
/// and reloads blocked on it are answered from there.
#[derive(Debug)]
pub struct PublishedPlaylist {
    registry: HlsRegistry,
    username: String,
    session_id: String,
    rendition: String,
    target: Duration,
}

impl PublishedPlaylist {
    /// `target` is the playlist's target duration (segment length).
    pub fn new(
        registry: HlsRegistry,
        username: &str,
        session_id: &str,
        rendition: &str,
        target: Duration,
    ) -> Self {
        Self {
            registry,
            username: username.to_owned(),
            session_id: session_id.to_owned(),
            rendition: rendition.to_owned(),
            target,
        }
    }

    /// `bytes`, reaching `edge` and listing `parts`, is now the playlist's content, and
    /// `on_disk` names the rendition's segment files (call after the files on disk changed).
    pub fn put(&self, bytes: Bytes, edge: Edge, on_disk: &[&str], parts: &[Arc<PublishedPart>]) {
        self.put_hinting(bytes, edge, on_disk, parts, None);
    }

    /// [`Self::put`] for a playlist whose `EXT-X-PRELOAD-HINT` names `hint`: a request for that
    /// part then waits for it ([`preloaded_part`]).
    pub fn put_hinting(
        &self,
        bytes: Bytes,
        edge: Edge,
        on_disk: &[&str],
        parts: &[Arc<PublishedPart>],
        hint: Option<String>,
    ) {
        let version = VERSIONS.fetch_add(1, Ordering::Relaxed);
        self.registry.put_playlist(
            &self.username,
            &self.session_id,
            &self.rendition,
            Version {
                file: CachedFile::written(bytes, version),
                edge,
                hold_limit: self.target.saturating_mul(3),
                segments: Vec::new(),
                parts: parts.to_vec(),
                preload_hint: hint,
            },
            on_disk,
        );
    }
}

impl Drop for PublishedPlaylist {
    fn drop(&mut self) {
        self.registry
            .withdraw_playlist(&self.username, &self.session_id, &self.rendition);
    }
}

/// The published playlist of `rendition` once it lists segment `sequence` complete or, with
/// `part`, that part of it.
pub async fn reload(
    registry: &HlsRegistry,
    username: &str,
    rendition: &str,
    sequence: u64,
    part: Option<u32>,
) -> Reload {
    let Some(mut versions) = registry.playlist_versions(username, rendition) else {
        return Reload::NotPublished;
    };
    let (hold_limit, edge) = {
        let current = versions.borrow();
        (current.hold_limit, current.edge)
    };
    // The segment in progress is `edge.sequence`; two beyond the newest complete one is the most
    // a player that is ahead of this playlist may ask for.
    if sequence > edge.sequence.saturating_add(1) {
        return Reload::TooFarAhead;
    }
    let listed = async {
        versions
            .wait_for(|version| version.edge.reaches(sequence, part))
            .await
            .map(|version| version.file.clone())
    };
    match tokio::time::timeout(hold_limit, listed).await {
        Ok(Ok(file)) => Reload::Ready(file),
        // Withdrawn while waiting: the stream stopped.
        Ok(Err(_closed)) => Reload::NotPublished,
        Err(_elapsed) => Reload::TimedOut,
    }
}

/// The part called `name` that the published playlist of `rendition` hints at
/// (`EXT-X-PRELOAD-HINT`), once it is listed: a player may ask for it before it exists, and the
/// server must answer when it does rather than fail (RFC 8216bis 6.2.6). `None` when `name` is
/// not the hinted part (the caller answers as for any unknown file), when a newer version hints
/// at another part without listing this one (it will not come: the stream ended, say), when the
/// stream stops, or when the part does not come within the hold limit.
pub(super) async fn preloaded_part(
    registry: &HlsRegistry,
    username: &str,
    rendition: &str,
    name: &str,
) -> Option<PartMedia> {
    let mut versions = registry.playlist_versions(username, rendition)?;
    let hold_limit = {
        let current = versions.borrow();
        if current.preload_hint.as_deref() != Some(name) {
            return None;
        }
        current.hold_limit
    };
    let listed = async {
        let version = versions
            .wait_for(|version| {
                version.part(name).is_some() || version.preload_hint.as_deref() != Some(name)
            })
            .await
            .ok()?;
        version.part(name)
    };
    tokio::time::timeout(hold_limit, listed)
        .await
        .ok()
        .flatten()
}

/// What the registry keeps per published rendition: the current version, for readers to borrow
/// or wait on.
pub(super) type Versions = watch::Sender<Version>;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn alice() -> HlsRegistry {
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", PathBuf::from("/hls/alice/s1"));
        registry
    }

    /// A reload of alice's 720p for `sequence` (and `part`), started and left waiting.
    async fn waiting_reload(
        registry: &HlsRegistry,
        sequence: u64,
        part: Option<u32>,
    ) -> tokio::task::JoinHandle<Reload> {
        let registry = registry.clone();
        let waiting =
            tokio::spawn(async move { reload(&registry, "alice", "720p", sequence, part).await });
        tokio::task::yield_now().await;
        waiting
    }

    /// A request for alice's hinted 720p part `name`, already waiting.
    async fn waiting_preload(
        registry: &HlsRegistry,
        name: &'static str,
    ) -> tokio::task::JoinHandle<Option<CachedFile>> {
        let registry = registry.clone();
        let waiting = tokio::spawn(async move {
            let part = preloaded_part(&registry, "alice", "720p", name).await?;
            part.contents(&FileCache::new(1024 * 1024, false)).await
        });
        tokio::task::yield_now().await;
        waiting
    }

    /// The published segment `name` of alice's `rendition`, if the registry has it.
    fn segment_of(
        registry: &HlsRegistry,
        rendition: &str,
        name: &str,
    ) -> Option<Arc<PublishedSegment>> {
        match registry.live_media("alice", rendition, name)? {
            LiveMedia::Segment(segment) => Some(segment),
            LiveMedia::Part(_) | LiveMedia::Hinted => None,
        }
    }

    /// A part of `len` bytes of TS sync bytes.
    fn part(name: &str, len: usize) -> Arc<PublishedPart> {
        Arc::new(PublishedPart::new(
            name.to_owned(),
            Bytes::from(vec![0x47; len]),
        ))
    }

    /// A version whose newest complete segment is `last`.
    fn upto(last: u64) -> Edge {
        Edge {
            sequence: last + 1,
            parts: 0,
        }
    }

    fn playlist(registry: &HlsRegistry, session_id: &str) -> PublishedPlaylist {
        PublishedPlaylist::new(
            registry.clone(),
            "alice",
            session_id,
            "720p",
            Duration::from_millis(100),
        )
    }

    #[test]
    fn each_version_is_served_with_its_own_etag_until_dropped() {
        let registry = alice();
        let published = playlist(&registry, "s1");
        assert!(registry.live_playlist("alice", "720p").is_none());

        published.put(Bytes::from_static(b"one"), upto(0), &[], &[]);
        let first = registry.live_playlist("alice", "720p").expect("put");
        assert_eq!(first.bytes, "one");
        published.put(Bytes::from_static(b"two"), upto(1), &[], &[]);
        let second = registry.live_playlist("alice", "720p").expect("put again");
        assert_eq!(second.bytes, "two");
        assert_ne!(second.etag, first.etag);
        assert!(registry.live_playlist("alice", "480p").is_none());

        drop(published);
        assert!(registry.live_playlist("alice", "720p").is_none());
    }

    #[test]
    fn an_old_session_neither_publishes_nor_withdraws_for_a_newer_one() {
        let registry = alice();
        let old = playlist(&registry, "s1");
        registry.publish("alice", "s2", PathBuf::from("/hls/alice/s2"));
        let new = playlist(&registry, "s2");
        new.put(Bytes::from_static(b"new"), upto(0), &[], &[]);
        old.put(Bytes::from_static(b"old"), upto(0), &[], &[]);
        drop(old);
        let served = registry.live_playlist("alice", "720p").expect("kept");
        assert_eq!(served.bytes, "new");
        drop(new);
    }

    #[tokio::test]
    async fn a_segment_keeps_what_was_read_of_it_until_it_leaves_the_disk() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join("720p")).expect("mkdir");
        std::fs::write(root.path().join("720p/a_00001.ts"), [0x47; 188]).expect("write");
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", root.path().to_path_buf());
        let files = FileCache::new(1024 * 1024, false);
        let published = playlist(&registry, "s1");
        published.put(
            Bytes::from_static(b"up to 1"),
            upto(1),
            &["a_00001.ts"],
            &[],
        );

        let first = segment_of(&registry, "720p", "a_00001.ts").expect("on disk");
        let contents = first.contents(&files).await.expect("read");
        assert_eq!(contents.bytes.len(), 188);

        published.put(
            Bytes::from_static(b"up to 2"),
            upto(2),
            &["a_00001.ts", "a_00002.ts"],
            &[],
        );
        let again = segment_of(&registry, "720p", "a_00001.ts").expect("still on disk");
        assert!(Arc::ptr_eq(&first, &again), "a new version read it again");
        let unread = segment_of(&registry, "720p", "a_00002.ts").expect("listed");
        assert!(unread.contents(&files).await.is_none(), "never written");

        published.put(
            Bytes::from_static(b"up to 3"),
            upto(3),
            &["a_00002.ts"],
            &[],
        );
        assert!(segment_of(&registry, "720p", "a_00001.ts").is_none());
        assert!(segment_of(&registry, "480p", "a_00002.ts").is_none());
        drop(published);
        assert!(segment_of(&registry, "720p", "a_00002.ts").is_none());
    }

    #[tokio::test]
    async fn a_reload_is_held_until_its_segment_is_listed() {
        let registry = alice();
        let published = playlist(&registry, "s1");
        published.put(Bytes::from_static(b"up to 4"), upto(4), &[], &[]);
        assert!(matches!(
            reload(&registry, "alice", "720p", 4, None).await,
            Reload::Ready(file) if file.bytes == "up to 4"
        ));
        let waiting = waiting_reload(&registry, 5, None).await;
        published.put(Bytes::from_static(b"up to 5"), upto(5), &[], &[]);
        assert!(matches!(
            waiting.await.expect("task"),
            Reload::Ready(file) if file.bytes == "up to 5"
        ));
    }

    #[tokio::test]
    async fn a_reload_too_far_ahead_late_or_unpublished_is_not_held() {
        let registry = alice();
        assert!(matches!(
            reload(&registry, "alice", "720p", 0, None).await,
            Reload::NotPublished
        ));
        let published = playlist(&registry, "s1");
        published.put(Bytes::from_static(b"up to 4"), upto(4), &[], &[]);
        assert!(matches!(
            reload(&registry, "alice", "720p", 7, None).await,
            Reload::TooFarAhead
        ));
        // Three target durations (300 ms here) without segment 6.
        assert!(matches!(
            reload(&registry, "alice", "720p", 6, None).await,
            Reload::TimedOut
        ));
        let waiting = waiting_reload(&registry, 5, None).await;
        drop(published);
        assert!(matches!(waiting.await.expect("task"), Reload::NotPublished));
    }

    #[tokio::test]
    async fn a_reload_for_a_part_is_held_until_the_part_is_listed_and_served_from_memory() {
        let registry = alice();
        let published = playlist(&registry, "s1");
        let in_progress = |parts| Edge { sequence: 5, parts };
        let first = part("a_00005-0.ts", 188);
        published.put(
            Bytes::from_static(b"5.0"),
            in_progress(1),
            &[],
            std::slice::from_ref(&first),
        );
        assert!(matches!(
            reload(&registry, "alice", "720p", 5, Some(0)).await,
            Reload::Ready(file) if file.bytes == "5.0"
        ));
        let served = registry
            .live_part("alice", "720p", "a_00005-0.ts")
            .await
            .expect("listed");
        assert_eq!(served.bytes.len(), 188);
        assert!(registry
            .live_part("alice", "720p", "a_00005-1.ts")
            .await
            .is_none());

        let waiting = waiting_reload(&registry, 5, Some(1)).await;
        assert!(!waiting.is_finished());
        let second = part("a_00005-1.ts", 376);
        published.put(
            Bytes::from_static(b"5.1"),
            in_progress(2),
            &[],
            &[first, second],
        );
        assert!(matches!(
            waiting.await.expect("task"),
            Reload::Ready(file) if file.bytes == "5.1"
        ));

        // A part past the segment's last one is answered once the segment is complete.
        let waiting = waiting_reload(&registry, 5, Some(3)).await;
        published.put(Bytes::from_static(b"up to 5"), upto(5), &[], &[]);
        assert!(matches!(
            waiting.await.expect("task"),
            Reload::Ready(file) if file.bytes == "up to 5"
        ));
        assert!(
            registry
                .live_part("alice", "720p", "a_00005-0.ts")
                .await
                .is_none(),
            "no longer listed"
        );
    }

    #[tokio::test]
    async fn a_part_of_a_segment_on_disk_is_answered_from_the_segment_with_the_same_etag() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join("720p")).expect("mkdir");
        let segment: Vec<u8> = (0..=255).cycle().take(3 * 188).collect();
        std::fs::write(root.path().join("720p/a_00005.ts"), &segment).expect("write");
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", root.path().to_path_buf());
        let published = playlist(&registry, "s1");
        let files = FileCache::new(1024 * 1024, false);
        let held = Arc::new(PublishedPart::new(
            "a_00005-1.ts".to_owned(),
            Bytes::copy_from_slice(&segment[188..]),
        ));
        published.put(
            Bytes::from_static(b"5.1"),
            Edge {
                sequence: 5,
                parts: 2,
            },
            &[],
            std::slice::from_ref(&held),
        );
        let before = registry
            .live_part("alice", "720p", "a_00005-1.ts")
            .await
            .expect("held");

        // The segment is complete: the part is now its last two packets.
        let within = Arc::new(held.within("a_00005.ts", 188..3 * 188));
        drop(held);
        published.put(
            Bytes::from_static(b"up to 5"),
            upto(5),
            &["a_00005.ts"],
            &[within],
        );
        let Some(LiveMedia::Part(media)) = registry.live_media("alice", "720p", "a_00005-1.ts")
        else {
            panic!("the part is still listed");
        };
        let after = media.contents(&files).await.expect("read from the segment");
        assert_eq!(after.bytes, before.bytes);
        assert_eq!(after.etag, before.etag, "the same part, the same validator");
        let whole = segment_of(&registry, "720p", "a_00005.ts")
            .expect("on disk")
            .contents(&files)
            .await
            .expect("read");
        assert_eq!(
            whole.bytes.as_ptr().wrapping_add(188),
            after.bytes.as_ptr(),
            "one read shared by the segment and its parts"
        );
    }

    #[tokio::test]
    async fn the_hinted_part_is_answered_once_it_exists_and_no_other_is_waited_for() {
        let registry = alice();
        let published = playlist(&registry, "s1");
        let first = part("a_00005-0.ts", 188);
        published.put_hinting(
            Bytes::from_static(b"5.0, hint 5.1"),
            Edge {
                sequence: 5,
                parts: 1,
            },
            &[],
            std::slice::from_ref(&first),
            Some("a_00005-1.ts".to_owned()),
        );
        for not_hinted in ["a_00005-2.ts", "a_00004-1.ts"] {
            assert!(
                preloaded_part(&registry, "alice", "720p", not_hinted)
                    .await
                    .is_none(),
                "{not_hinted} is not waited for"
            );
        }
        let waiting = waiting_preload(&registry, "a_00005-1.ts").await;
        assert!(!waiting.is_finished(), "held until the part exists");
        published.put_hinting(
            Bytes::from_static(b"5.1, hint 5.2"),
            Edge {
                sequence: 5,
                parts: 2,
            },
            &[],
            &[first, part("a_00005-1.ts", 376)],
            Some("a_00005-2.ts".to_owned()),
        );
        let served = waiting.await.expect("task").expect("answered");
        assert_eq!(served.bytes.len(), 376);

        // Not within three target durations (300 ms here): no answer.
        assert!(preloaded_part(&registry, "alice", "720p", "a_00005-2.ts")
            .await
            .is_none());

        // A hint the stream moves past without the part (here: it ends) is answered at once.
        let waiting = waiting_preload(&registry, "a_00005-2.ts").await;
        published.put(Bytes::from_static(b"ended"), upto(5), &[], &[]);
        let answer = tokio::time::timeout(Duration::from_millis(50), waiting)
            .await
            .expect("answered before the hold limit");
        assert!(answer.expect("task").is_none());
    }
}
