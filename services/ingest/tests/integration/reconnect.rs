//! Reconnects, with nothing stubbed: real users and rooms, the ingest with its real ladder, ffmpeg
//! publishers. A stalled publisher (SIGSTOP: what a dead uplink or a half-open TCP connection
//! looks like to the server) is taken over by a new publish with the same key; a publisher whose
//! connection dropped (SIGKILL) continues the room if it comes back within the grace period and
//! ends it otherwise; a clean stop ends it at once. Continuing means the same room (no
//! `room_ended`/`room_started`), the same playlists (media sequence going on, a discontinuity
//! where the new encoder's timeline starts).

use std::time::{Duration, Instant};

use crate::media_common::segments;
use crate::rtmp_support::*;
use ferrocast_ingest::{adapters::media::CopyMuxer, Config};
use ferrocast_testkit::{platform::rooms::Sse, publisher, Platform};
use serde_json::Value;
use tokio::process::Child;

const LEASE_SECONDS: u64 = 15;

struct Stage {
    _users: Platform,
    rooms: Rooms,
    ingest: LiveIngest,
    user: TestUser,
    _hls_root: tempfile::TempDir,
}

impl Stage {
    async fn start(grace: Duration) -> Self {
        Self::start_with(grace, |_| {}).await
    }

    /// With the ingest's settings adjusted further.
    async fn start_with(grace: Duration, adjust: impl FnOnce(&mut Config)) -> Self {
        let users = start_users().await;
        let user = users.streamer().await;
        let rooms = start_rooms(&users.users_grpc_url(), LEASE_SECONDS).await;
        let hls_root = tempfile::tempdir().unwrap();
        let ingest = start_live_ingest_with(
            &users.users_grpc_url(),
            &rooms.callback_url(),
            hls_root.path(),
            |config: &mut Config| {
                config.sessions.reconnect_grace = grace;
                // Longer than any gap the tests make: a dropped connection is noticed by its
                // read failing, a frozen one by the stall rule, never by the idle timeout.
                config.rtmp.idle_timeout = Duration::from_secs(30);
                adjust(config);
            },
        )
        .await;
        Self {
            _users: users,
            rooms,
            ingest,
            user,
            _hls_root: hls_root,
        }
    }

    /// A 720p publisher (a keyframe every 2 s) with the user's key: the ladder is the remuxed
    /// source and two x264 rungs read back from ffmpeg.
    fn publish(&self) -> Child {
        publisher::publish_as_obs(&self.ingest.url(&self.user.key))
    }

    async fn hls(&self, path: &str) -> Option<String> {
        self.ingest.served(&self.user.username, path).await
    }

    async fn playlists(&self) -> Option<Vec<(String, String)>> {
        self.ingest.served_playlists(&self.user.username).await
    }

    async fn live_with_segments(&self, count: usize) -> bool {
        eventually(Duration::from_secs(20), || async {
            self.playlists().await.is_some_and(|playlists| {
                playlists.len() >= 2
                    && playlists
                        .iter()
                        .all(|(_, playlist)| segments(playlist).len() >= count)
            })
        })
        .await
    }

    async fn room(&self) -> Option<Value> {
        let url = self
            .rooms
            .url(&format!("/api/rooms/{}", self.user.username));
        match http_get(&url).await {
            Some((200, _, body)) => serde_json::from_str(&body).ok(),
            _ => None,
        }
    }

    /// Waits until every rendition of `before` lists, behind a discontinuity, `count` segments
    /// it did not list before, and its media sequence never went back.
    async fn continued(&self, before: &[(String, String)], count: usize) -> bool {
        eventually(Duration::from_secs(20), || async {
            let Some(now) = self.playlists().await else {
                return false;
            };
            before.iter().all(|(rendition, old)| {
                now.iter().any(|(name, new)| {
                    name == rendition
                        && media_sequence(new) >= media_sequence(old)
                        && new_after_discontinuity(old, new) >= count
                })
            })
        })
        .await
    }
}

/// `#EXT-X-MEDIA-SEQUENCE` of a playlist.
fn media_sequence(playlist: &str) -> u64 {
    playlist
        .lines()
        .find_map(|line| line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// How many segments `new` lists after a discontinuity that `old` did not list.
fn new_after_discontinuity(old: &str, new: &str) -> usize {
    let known = segments(old);
    let mut after = false;
    let mut count = 0;
    for line in new.lines() {
        if line.starts_with("#EXT-X-DISCONTINUITY") && !line.contains("SEQUENCE") {
            after = true;
        } else if after && !line.starts_with('#') && !line.is_empty() {
            count += usize::from(!known.iter().any(|k| k == line));
        }
    }
    count
}

/// The URIs of the `#EXT-X-PART`s a playlist lists.
fn part_uris(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|line| line.starts_with("#EXT-X-PART:"))
        .filter_map(|line| line.split("URI=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Whether `uri` (a part or a segment) of `rendition` is no longer listed (it slid out of the
/// window between the two requests), which makes a 404 for it fine.
async fn playlist_moved_past(stage: &Stage, rendition: &str, uri: &str) -> bool {
    let now = stage
        .hls(&format!("{rendition}/index.m3u8"))
        .await
        .unwrap_or_default();
    !part_uris(&now)
        .into_iter()
        .chain(segments(&now))
        .any(|listed| listed == uri)
}

/// Every room event about `username` until `until` passes.
async fn events_about(events: &mut Sse, username: &str, until: Instant) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match events.next(left).await {
            Some((name, data)) if data["username"] == username => seen.push(name),
            Some(_) => {}
            None => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_publisher_is_taken_over_and_the_same_room_and_playlists_go_on() {
    taken_over(Stage::start(Duration::from_secs(10)).await, true).await;
}

/// As above with ffmpeg writing every rung, the source's too (the mode for sources whose sound
/// is not AAC): its new process carries the playlists on as the native muxer does, without
/// low-latency parts (ffmpeg's HLS muxer writes none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_publisher_is_taken_over_when_ffmpeg_writes_every_rung() {
    let stage = Stage::start_with(Duration::from_secs(10), |config| {
        config.media.hls_copy_muxer = CopyMuxer::Ffmpeg;
    })
    .await;
    taken_over(stage, false).await;
}

/// A publisher frozen past the stall time, then a new one with the same key: the same room,
/// every playlist going on behind a discontinuity with its segments (and `parts`, if the ladder
/// has them) served, the frozen connection closed.
async fn taken_over(stage: Stage, parts: bool) {
    let mut first = stage.publish();
    assert!(stage.live_with_segments(2).await, "the stream is live");
    let room = stage.room().await.expect("room listed");
    let before = stage.playlists().await.expect("playlists");
    let mut events = stage.rooms.events().await;

    let frozen = first.id().expect("first publisher runs");
    process::signal(frozen, "-STOP");
    // Past the stall time (1 s by default), so the new publish takes over at once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut second = stage.publish();
    assert!(
        stage.continued(&before, 2).await,
        "every rendition goes on behind a discontinuity: before {before:?}, now {:?}",
        stage.playlists().await
    );
    assert!(
        publisher::running(&mut second),
        "the new publisher was accepted"
    );
    // The new publisher's segments, and their low-latency parts, are listed and served like
    // the rest.
    for (rendition, playlist) in stage.playlists().await.expect("playlists") {
        let listed = part_uris(&playlist);
        assert_eq!(!listed.is_empty(), parts, "{rendition} parts: {playlist}");
        for uri in listed.into_iter().chain(segments(&playlist)) {
            let served = stage.hls(&format!("{rendition}/{uri}")).await.is_some()
                || playlist_moved_past(&stage, &rendition, &uri).await;
            assert!(served, "{rendition}/{uri} is served");
        }
    }
    let now = stage.room().await.expect("room still listed");
    assert_eq!(now["started_at"], room["started_at"], "the same room");
    let seen = events_about(&mut events, &stage.user.username, Instant::now()).await;
    assert!(
        !seen
            .iter()
            .any(|e| e == "room_ended" || e == "room_started"),
        "no room_ended/room_started pair: {seen:?}"
    );

    // The stalled connection was closed: resumed, the old ffmpeg finds it gone and fails.
    process::signal(frozen, "-CONT");
    let status = tokio::time::timeout(Duration::from_secs(15), first.wait())
        .await
        .expect("the frozen publisher exits once resumed")
        .unwrap();
    assert!(!status.success(), "its connection was closed");
    assert!(publisher::running(&mut second), "the new publisher goes on");
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_publisher_back_within_the_grace_continues_the_room_at_another_size() {
    let stage = Stage::start(Duration::from_secs(10)).await;
    let mut first = stage.publish();
    assert!(stage.live_with_segments(2).await, "the stream is live");
    let room = stage.room().await.expect("room listed");
    let before = stage.playlists().await.expect("playlists");
    let master_before = stage.hls("master.m3u8").await.unwrap();
    assert!(
        master_before.contains("RESOLUTION=1280x720"),
        "{master_before}"
    );
    let mut events = stage.rooms.events().await;

    // No FCUnpublish, no deleteStream: the connection just drops.
    first.kill().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        stage.room().await.is_some(),
        "the room waits for its publisher"
    );
    // The streamer came back with other settings: 360p, whose ladder is that rung alone.
    let _second = publisher::publish(&stage.ingest.url(&stage.user.key));
    let replanned = eventually(Duration::from_secs(20), || async {
        stage.hls("master.m3u8").await.is_some_and(|master| {
            master.contains("RESOLUTION=640x360") && !master.contains("1280x720")
        })
    })
    .await;
    assert!(
        replanned,
        "the master playlist lists the new source alone: {:?}",
        stage.hls("master.m3u8").await
    );
    // The 360p rung, transcoded before and remuxed now, goes on in the same playlist.
    let kept: Vec<(String, String)> = before
        .iter()
        .filter(|(name, _)| name == "360p")
        .cloned()
        .collect();
    assert_eq!(kept.len(), 1, "a 360p rung before: {before:?}");
    assert!(
        stage.continued(&kept, 2).await,
        "the 360p playlist goes on behind a discontinuity: {:?}",
        stage.playlists().await
    );
    let gone = stage.hls("720p/index.m3u8").await.unwrap_or_default();
    assert!(
        gone.trim_end().ends_with("#EXT-X-ENDLIST"),
        "the rung the new ladder lacks ends: {gone}"
    );
    let now = stage.room().await.expect("room still listed");
    assert_eq!(now["started_at"], room["started_at"], "the same room");
    let seen = events_about(&mut events, &stage.user.username, Instant::now()).await;
    assert!(
        !seen
            .iter()
            .any(|e| e == "room_ended" || e == "room_started"),
        "no room_ended/room_started pair: {seen:?}"
    );
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_publisher_not_back_within_the_grace_ends_the_room() {
    let grace = Duration::from_secs(3);
    let stage = Stage::start(grace).await;
    let mut first = stage.publish();
    assert!(stage.live_with_segments(1).await, "the stream is live");
    let mut events = stage.rooms.events().await;
    // Before the kill: the ingest cannot see the drop sooner, and reaping may take a while.
    let dropped = Instant::now();
    first.kill().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(stage.room().await.is_some(), "live during the grace");
    events
        .expect(
            "room_ended",
            &stage.user.username,
            grace + Duration::from_secs(10),
        )
        .await;
    assert!(
        dropped.elapsed() >= grace,
        "not before the grace ran out: {:?}",
        dropped.elapsed()
    );
    assert!(stage.room().await.is_none(), "the room ended");
    let ended = eventually(Duration::from_secs(10), || async {
        stage.playlists().await.is_some_and(|playlists| {
            playlists
                .iter()
                .all(|(_, p)| p.trim_end().ends_with("#EXT-X-ENDLIST"))
        })
    })
    .await;
    assert!(ended, "the playlists end");
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_ends_the_room_at_once_whatever_the_grace() {
    let stage = Stage::start(Duration::from_secs(60)).await;
    let first = stage.publish();
    assert!(stage.live_with_segments(1).await, "the stream is live");
    let mut events = stage.rooms.events().await;
    // SIGINT: ffmpeg closes the stream (FCUnpublish, deleteStream) before it exits.
    process::signal(first.id().expect("runs"), "-INT");
    events
        .expect("room_ended", &stage.user.username, Duration::from_secs(10))
        .await;
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_publisher_is_not_taken_over_even_with_a_grace() {
    let stage = Stage::start(Duration::from_secs(10)).await;
    let mut first = stage.publish();
    assert!(stage.live_with_segments(1).await, "the stream is live");
    let room = stage.room().await.expect("room listed");
    let mut second = stage.publish();
    let refused = tokio::time::timeout(Duration::from_secs(10), second.wait())
        .await
        .expect("the duplicate gives up")
        .unwrap();
    assert!(!refused.success(), "the duplicate publish is refused");
    assert!(publisher::running(&mut first), "the first one goes on");
    let now = stage.room().await.expect("room listed");
    assert_eq!(now["started_at"], room["started_at"]);
    stage.ingest.stop().await;
}
