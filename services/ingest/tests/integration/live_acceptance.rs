//! The acceptance test for going live, with nothing stubbed: ffmpeg publishes like OBS
//! (720p30, keyframe every 2 s) to `ferrocast_ingest::start`, stream keys come from the real
//! users service, rooms runs on Redis, and the real ffmpeg ladder writes HLS into a tempdir.
//! Each test names one behaviour of the issue; they share nothing but the binaries.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use crate::media_common::{probe_resolution, segments, variants};
use crate::rtmp_support::*;
use ferrocast_testkit::Platform;
use serde_json::Value;
use tokio::process::Child;

/// A 720p source gets its copy and two x264 rungs, widths following the 16:9 picture.
const LADDER: [(&str, &str); 3] = [
    ("720p", "1280x720"),
    ("480p", "854x480"),
    ("360p", "640x360"),
];

/// Rooms lease: how long a room outlives an ingest that stopped sending updates.
const LEASE_SECONDS: u64 = 15;

/// Users, rooms and the ingest for one test, and one signed-up streamer.
struct Stage {
    users: Platform,
    rooms: Rooms,
    ingest: LiveIngest,
    user: TestUser,
    hls_root: tempfile::TempDir,
}

impl Stage {
    async fn start() -> Self {
        let users = start_users().await;
        let user = users.streamer().await;
        let rooms = start_rooms(&users.users_grpc_url(), LEASE_SECONDS).await;
        let hls_root = tempfile::tempdir().unwrap();
        let ingest = start_live_ingest(
            &users.users_grpc_url(),
            &rooms.callback_url(),
            hls_root.path(),
        )
        .await;
        Self {
            users,
            rooms,
            ingest,
            user,
            hls_root,
        }
    }

    /// ffmpeg as OBS, with `key`.
    fn publish(&self, key: &str) -> Child {
        ffmpeg_publish_as_obs(&self.ingest.url(key))
    }

    async fn hls(&self, path: &str) -> Option<String> {
        self.ingest.served(&self.user.username, path).await
    }

    async fn playlists(&self) -> Option<Vec<(String, String)>> {
        self.ingest.served_playlists(&self.user.username).await
    }

    /// `(rendition, segments listed)` of every variant.
    async fn ladder(&self) -> Option<Vec<(String, Vec<String>)>> {
        let playlists = self.playlists().await?;
        Some(
            playlists
                .into_iter()
                .map(|(rendition, playlist)| (rendition, segments(&playlist)))
                .collect(),
        )
    }

    /// Waits until all three variants list at least `count` segments.
    async fn segments_in_every_variant(&self, count: usize, limit: Duration) -> bool {
        eventually(limit, || async {
            self.ladder().await.is_some_and(|ladder| {
                ladder.len() == LADDER.len() && ladder.iter().all(|(_, s)| s.len() >= count)
            })
        })
        .await
    }

    /// Waits until every variant lists a segment that `before` did not.
    async fn new_segments_in_every_variant(
        &self,
        before: &[(String, Vec<String>)],
        limit: Duration,
    ) -> bool {
        eventually(limit, || async {
            self.ladder().await.is_some_and(|now| {
                now.len() == before.len()
                    && now.iter().zip(before).all(|((_, now), (_, before))| {
                        now.iter().any(|segment| !before.contains(segment))
                    })
            })
        })
        .await
    }

    /// ffmpeg transcoders of this ingest: their argv holds the HLS root, never the key.
    fn transcoders(&self) -> Vec<u32> {
        pids_with_arg(self.hls_root.path())
    }

    /// Session folders the ingest made for the user.
    fn session_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.hls_root.path().join(&self.user.username))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
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

    async fn listed_rooms(&self) -> Vec<Value> {
        let (status, _, body) = http_get(&self.rooms.url("/api/rooms?limit=100"))
            .await
            .expect("rooms list");
        assert_eq!(status, 200);
        let body: Value = serde_json::from_str(&body).unwrap();
        body["rooms"].as_array().cloned().unwrap_or_default()
    }
}

/// Waits for a publisher that should be refused; `true` if it gave up with an error in time.
async fn refused(publisher: &mut Child) -> bool {
    match tokio::time::timeout(Duration::from_secs(10), publisher.wait()).await {
        Ok(status) => !status.unwrap().success(),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_key_serves_a_720_480_360_ladder_within_ten_seconds_and_the_room_lists_it() {
    let stage = Stage::start().await;
    // Measured from the publisher's start, so ffmpeg's own start-up and the key check count
    // against the limits too: stricter than "from the first media".
    let started = Instant::now();
    let _publisher = stage.publish(&stage.user.key);

    let master = eventually(Duration::from_secs(10), || async {
        stage
            .hls("master.m3u8")
            .await
            .is_some_and(|master| variants(&master).len() >= 3)
    })
    .await;
    let master_after = started.elapsed();
    assert!(master, "master.m3u8 lists 3 variants within 10 s");
    assert!(
        stage
            .segments_in_every_variant(2, Duration::from_secs(10).saturating_sub(master_after))
            .await,
        "every variant lists 2 segments within 10 s"
    );
    eprintln!(
        "master after {master_after:?}, two segments everywhere after {:?}",
        started.elapsed()
    );

    let master = stage.hls("master.m3u8").await.unwrap();
    let listed: Vec<(String, String)> = variants(&master)
        .into_iter()
        .map(|(uri, resolution, _)| (uri.trim_end_matches("/index.m3u8").to_owned(), resolution))
        .collect();
    let expected: Vec<(String, String)> = LADDER
        .iter()
        .map(|(name, size)| ((*name).to_owned(), (*size).to_owned()))
        .collect();
    assert_eq!(listed, expected, "{master}");
    for (rendition, segments) in stage.ladder().await.expect("variants served") {
        let segment = format!(
            "{}/{rendition}/{}",
            stage.ingest.hls_base(&stage.user.username),
            segments[0]
        );
        let (_, size) = LADDER.iter().find(|(name, _)| *name == rendition).unwrap();
        assert_eq!(
            probe_resolution(segment.as_ref()),
            *size,
            "ffprobe decodes {segment}"
        );
    }

    // Rooms learns the ladder from the ingest's updates (every 500 ms in tests).
    let renditions = |room: &Value| -> Vec<(String, String)> {
        room["renditions"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|r| {
                        (
                            r["name"].as_str().unwrap_or_default().to_owned(),
                            format!("{}x{}", r["width"], r["height"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let listed = eventually(Duration::from_secs(5), || async {
        stage
            .room()
            .await
            .is_some_and(|room| renditions(&room) == expected)
    })
    .await;
    assert!(
        listed,
        "room lists the renditions: {:?}",
        stage.room().await
    );
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_key_is_refused_without_ffmpeg_files_or_room() {
    let _refusing = refusing_keys().await;
    let stage = Stage::start().await;
    // Every test that presents a refused key holds `refusing_keys`: this count moves only for ours.
    let refused_before = stream_key_checks(&stage.users, "Unauthenticated").await;

    let mut publisher = stage.publish(&unknown_key());
    // Watch the process table the whole time the publisher tries, not only afterwards.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        assert_eq!(stage.transcoders(), Vec::<u32>::new(), "no ffmpeg spawned");
        if let Some(status) = publisher.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "publisher gives up within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "publish refused");

    assert_eq!(
        stream_key_checks(&stage.users, "Unauthenticated").await - refused_before,
        1,
        "users checked the key once and refused it"
    );
    let written: Vec<_> = std::fs::read_dir(stage.hls_root.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(written.is_empty(), "no session folder or file: {written:?}");
    assert!(stage.room().await.is_none(), "no room");
    assert!(stage.listed_rooms().await.is_empty(), "no room listed");
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_leaving_ends_room_closes_playlists_stops_ffmpeg_and_removes_files() {
    let stage = Stage::start().await;
    let mut publisher = stage.publish(&stage.user.key);
    assert!(
        stage
            .segments_in_every_variant(1, Duration::from_secs(20))
            .await,
        "stream is live"
    );
    assert!(stage.room().await.is_some(), "room is listed");
    assert_eq!(stage.transcoders().len(), 1, "one ffmpeg for the ladder");

    publisher.kill().await.unwrap();
    let left = Instant::now();
    assert!(
        eventually(Duration::from_secs(5), || async {
            stage.room().await.is_none()
        })
        .await,
        "room ends"
    );
    // Served while the grace period lasts, so players read the end of the stream.
    let ended = eventually(Duration::from_secs(10), || async {
        stage.playlists().await.is_some_and(|playlists| {
            playlists.len() == LADDER.len()
                && playlists
                    .iter()
                    .all(|(_, playlist)| playlist.trim_end().ends_with("#EXT-X-ENDLIST"))
        })
    })
    .await;
    assert!(ended, "every variant playlist ends with #EXT-X-ENDLIST");
    assert!(
        eventually(Duration::from_secs(10), || async {
            stage.transcoders().is_empty()
        })
        .await,
        "ffmpeg exits: {:?}",
        stage.transcoders()
    );
    assert!(
        !files_under(stage.hls_root.path()).is_empty(),
        "files outlive ffmpeg for the grace period"
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            files_under(stage.hls_root.path()).is_empty()
        })
        .await,
        "files removed after the grace period: {:?}",
        files_under(stage.hls_root.path())
    );
    eprintln!("publisher left; files gone after {:?}", left.elapsed());
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_killed_mid_stream_recovers_and_leaves_no_orphan() {
    let stage = Stage::start().await;
    let mut publisher = stage.publish(&stage.user.key);
    assert!(
        stage
            .segments_in_every_variant(2, Duration::from_secs(20))
            .await,
        "stream is live"
    );
    let killed = stage.transcoders();
    assert_eq!(killed.len(), 1, "one ffmpeg for the ladder: {killed:?}");
    let status = std::process::Command::new("kill")
        .args(["-9", &killed[0].to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 {}", killed[0]);
    let crashed = Instant::now();
    assert!(
        eventually(Duration::from_secs(5), || async {
            !stage.transcoders().contains(&killed[0])
        })
        .await,
        "killed ffmpeg is gone"
    );

    // The pipeline has a restart budget (one by default): the stream must come back, appending
    // to the same playlists, well before rooms' lease could end it.
    let before = stage.ladder().await.expect("playlists still served");
    assert!(
        stage
            .new_segments_in_every_variant(&before, Duration::from_secs(LEASE_SECONDS))
            .await,
        "new segments in every variant after the crash"
    );
    eprintln!("recovered {:?} after kill -9", crashed.elapsed());
    let restarted = stage.transcoders();
    assert_eq!(restarted.len(), 1, "one new ffmpeg: {restarted:?}");
    assert_ne!(restarted, killed);
    assert!(stage.room().await.is_some(), "room stays live");

    publisher.kill().await.unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            stage.transcoders().is_empty()
        })
        .await,
        "no ffmpeg left after the publisher stops: {:?}",
        stage.transcoders()
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            stage.room().await.is_none()
        })
        .await,
        "room ends"
    );
    stage.ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publish_with_the_same_key_while_live_is_refused_and_the_first_keeps_going() {
    let stage = Stage::start().await;
    let _first = stage.publish(&stage.user.key);
    assert!(
        stage
            .segments_in_every_variant(1, Duration::from_secs(20))
            .await,
        "first stream is live"
    );
    let first_session = stage.session_dirs();
    assert_eq!(first_session.len(), 1);

    let mut second = stage.publish(&stage.user.key);
    assert!(refused(&mut second).await, "second publish refused");
    assert_eq!(stage.session_dirs(), first_session, "no second session");
    assert_eq!(stage.transcoders().len(), 1, "no second ffmpeg");

    let before = stage.ladder().await.expect("first stream served");
    assert!(
        stage
            .new_segments_in_every_variant(&before, Duration::from_secs(10))
            .await,
        "first stream keeps producing segments"
    );
    assert!(stage.room().await.is_some(), "room stays live");
    stage.ingest.stop().await;
}
