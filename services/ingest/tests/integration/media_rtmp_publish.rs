//! The whole ingest as viewers meet it: ffmpeg publishes over RTMP to `start()`, the real
//! transcoder writes HLS, the origin serves it, rooms lists the renditions, and when the
//! publisher leaves the playlists end and then disappear; and `start()` refusing to run without
//! a working ffmpeg or HLS root.

use std::time::Duration;

use crate::rtmp_support::*;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_publish_is_served_as_hls_and_ends_with_the_publisher() {
    let users = start_users().await;
    let user = users.streamer().await;
    let rooms = start_rooms(&users.users_grpc_url(), 15).await;
    let hls_root = tempfile::tempdir().expect("tempdir");
    let ingest = start_live_ingest(
        &users.users_grpc_url(),
        &rooms.callback_url(),
        hls_root.path(),
    )
    .await;
    let base = ingest.hls_base(&user.username);

    let publisher = ffmpeg_publish(&ingest.url(&user.key));
    let master = eventually(Duration::from_secs(15), || async {
        http_get(&format!("{base}/master.m3u8"))
            .await
            .is_some_and(|(status, _, body)| status == 200 && body.contains("CODECS="))
    })
    .await;
    assert!(master, "master.m3u8 served within 15 s");
    let (_, content_type, master) = http_get(&format!("{base}/master.m3u8"))
        .await
        .expect("master");
    assert_eq!(content_type, "application/vnd.apple.mpegurl");
    // A 640x360 source: only its copy.
    assert!(master.contains("RESOLUTION=640x360"), "{master}");
    let (status, _, playlist) = http_get(&format!("{base}/360p/index.m3u8"))
        .await
        .expect("playlist");
    assert_eq!(status, 200);
    let segment = playlist
        .lines()
        .find(|l| l.ends_with(".ts"))
        .expect("a segment listed")
        .to_owned();
    let (status, content_type, _) = http_get(&format!("{base}/360p/{segment}"))
        .await
        .expect("segment");
    assert_eq!((status, content_type.as_str()), (200, "video/mp2t"));
    // The key never shows in what viewers can see.
    assert!(!master.contains(&user.key) && !playlist.contains(&user.key));

    // Rooms learns the renditions through the ingest's updates.
    let listed = eventually(Duration::from_secs(10), || async {
        http_get(&rooms.url(&format!("/api/rooms/{}", user.username)))
            .await
            .is_some_and(|(_, _, body)| body.contains("\"360p\""))
    })
    .await;
    assert!(listed, "rooms lists the 360p rendition");

    drop(publisher);
    let ended = eventually(Duration::from_secs(15), || async {
        http_get(&format!("{base}/360p/index.m3u8"))
            .await
            .is_some_and(|(_, _, body)| body.trim_end().ends_with("#EXT-X-ENDLIST"))
    })
    .await;
    assert!(ended, "the ended playlist is served with ENDLIST");
    let gone = eventually(Duration::from_secs(10), || async {
        http_get(&format!("{base}/master.m3u8"))
            .await
            .is_some_and(|(status, _, _)| status == 404)
    })
    .await;
    assert!(gone, "404 once the grace period passed");

    ingest.stop().await;
}

/// A config whose users and rooms are never reached: `start()` must fail before it matters.
fn config_with_hls_root(hls_root: &std::path::Path) -> ferrocast_ingest::Config {
    let down = users_down_url();
    let mut config =
        ferrocast_ingest::Config::for_tests(&down, format!("{down}/callbacks/rtmp"), SERVICE_TOKEN)
            .expect("config");
    config.media.hls_root = hls_root.to_path_buf();
    config
}

/// Why the ingest refuses to start with `config`.
async fn start_error(config: ferrocast_ingest::Config) -> String {
    ferrocast_ingest::start(config, CancellationToken::new())
        .await
        .err()
        .expect("start refuses")
        .to_string()
}

#[tokio::test]
async fn start_fails_with_a_clear_message_when_ffmpeg_is_missing() {
    let hls_root = tempfile::tempdir().expect("tempdir");
    let mut config = config_with_hls_root(hls_root.path());
    config.media.ffmpeg_path = hls_root.path().join("no-such-ffmpeg");
    let error = start_error(config).await;
    assert!(
        error.contains("cannot run ffmpeg") && error.contains("no-such-ffmpeg"),
        "{error}"
    );
}

#[tokio::test]
async fn start_fails_with_a_clear_message_when_the_hls_root_cannot_be_created() {
    let work = tempfile::tempdir().expect("tempdir");
    // Below a regular file: no user, root included, can create that folder.
    let file = work.path().join("a-file");
    std::fs::write(&file, b"").expect("file");
    let config = config_with_hls_root(&file.join("hls"));
    let error = start_error(config).await;
    assert!(
        error.contains("cannot create the HLS root") && error.contains("a-file/hls"),
        "{error}"
    );
}
