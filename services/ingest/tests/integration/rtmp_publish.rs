//! The publish path end to end on loopback: real ffmpeg publishers, the real users service on a
//! real document store, the real rooms service on Redis, the ingest on port 0.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use crate::rtmp_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_key_publishes_media_and_the_room_is_listed() {
    let (_users, user, rooms, ingest) = publishing(15, |_| {}).await;

    let mut ffmpeg = ffmpeg_publish(&ingest.url(&user.key));
    assert!(
        video_flows(&ingest, &user.username, 0, 30).await,
        "video reaches the pipeline"
    );
    let received = ingest.transcoder.received(&user.username);
    assert!(
        received.audio > 0,
        "audio reaches the pipeline: {received:?}"
    );
    assert_eq!(received.metadata, 1, "onMetaData is forwarded once");
    assert!(rooms.is_live(&user.username).await, "room is listed");

    ffmpeg.kill().await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            !rooms.is_live(&user.username).await
        })
        .await,
        "room ends when the publisher leaves"
    );
    // publish_done goes out first, then the pipeline is finished.
    assert!(
        eventually(Duration::from_secs(5), || async {
            ingest.transcoder.received(&user.username).finished
        })
        .await
    );
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_key_is_refused_without_pipeline_or_room() {
    let _refusing = refusing_keys().await;
    let (users, user, rooms, ingest) = publishing(15, |_| {}).await;
    // Every test that presents a refused key holds `refusing_keys`: this count moves only for ours.
    let refused_before = stream_key_checks(&users, "Unauthenticated").await;

    let mut ffmpeg = ffmpeg_publish(&ingest.url(&unknown_key()));
    let status = tokio::time::timeout(Duration::from_secs(10), ffmpeg.wait())
        .await
        .expect("ffmpeg gives up")
        .unwrap();
    assert!(!status.success());
    assert_eq!(
        stream_key_checks(&users, "Unauthenticated").await - refused_before,
        1,
        "the key was checked exactly once"
    );
    assert_eq!(
        ingest.transcoder.starts.load(Ordering::SeqCst),
        0,
        "no pipeline"
    );
    assert!(!rooms.is_live(&user.username).await, "no room");
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_service_down_refuses_within_three_seconds() {
    let key = unknown_key();
    let down = users_down_url();
    let rooms = start_rooms(&down, 15).await;
    let ingest = start_ingest(&down, &rooms.callback_url(), |_| {}).await;

    let started = Instant::now();
    let mut ffmpeg = ffmpeg_publish(&ingest.url(&key));
    let status = tokio::time::timeout(Duration::from_secs(10), ffmpeg.wait())
        .await
        .expect("ffmpeg gives up")
        .unwrap();
    assert!(!status.success());
    // ffmpeg itself needs a few hundred ms to start and connect.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ingest.transcoder.starts.load(Ordering::SeqCst), 0);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publish_with_the_same_key_is_refused_and_the_first_goes_on() {
    let (_users, user, rooms, ingest) = publishing(15, |_| {}).await;

    let _first = ffmpeg_publish(&ingest.url(&user.key));
    assert!(video_flows(&ingest, &user.username, 0, 30).await);

    let mut second = ffmpeg_publish(&ingest.url(&user.key));
    let status = tokio::time::timeout(Duration::from_secs(10), second.wait())
        .await
        .expect("second ffmpeg gives up")
        .unwrap();
    assert!(!status.success());
    assert_eq!(
        ingest.transcoder.starts.load(Ordering::SeqCst),
        1,
        "one pipeline only"
    );

    let before = ingest.transcoder.received(&user.username).video;
    assert!(
        video_flows(&ingest, &user.username, before, 30).await,
        "first keeps flowing"
    );
    assert!(rooms.is_live(&user.username).await);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_publisher_is_ended_after_the_idle_timeout_with_publish_done() {
    // A long lease: the room can only disappear this fast through publish_done.
    let (_users, user, rooms, ingest) = publishing(60, |c| {
        c.rtmp.idle_timeout = Duration::from_millis(1_500);
    })
    .await;

    let ffmpeg = ffmpeg_publish(&ingest.url(&user.key));
    assert!(video_flows(&ingest, &user.username, 0, 30).await);
    assert!(rooms.is_live(&user.username).await);

    // SIGSTOP: the TCP connection stays open, no byte follows.
    let pid = ffmpeg.id().unwrap().to_string();
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    assert!(stopped.success());
    let frozen_at = Instant::now();

    assert!(
        eventually(Duration::from_secs(6), || async {
            !rooms.is_live(&user.username).await
        })
        .await,
        "room ended by publish_done"
    );
    assert!(frozen_at.elapsed() >= Duration::from_millis(1_000));
    // publish_done goes out first, then the pipeline is finished.
    assert!(
        eventually(Duration::from_secs(5), || async {
            ingest.transcoder.received(&user.username).finished
        })
        .await
    );
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_live_sessions_with_publish_done() {
    let (_users, user, rooms, ingest) = publishing(60, |_| {}).await;

    let _ffmpeg = ffmpeg_publish(&ingest.url(&user.key));
    assert!(video_flows(&ingest, &user.username, 0, 10).await);
    let transcoder = ingest.transcoder.clone();
    ingest.stop().await;
    assert!(
        !rooms.is_live(&user.username).await,
        "room ended on shutdown"
    );
    assert!(transcoder.received(&user.username).finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_cuts_the_stream_that_uses_the_old_key() {
    const RENEWAL: Duration = Duration::from_millis(400);
    // The renewals with the old key are refused by users.
    let _refusing = refusing_keys().await;
    // A long lease: the room can only disappear this fast through publish_done.
    let (users, user, rooms, ingest) = publishing(60, |c| {
        c.sessions.update_interval = RENEWAL;
    })
    .await;

    let mut ffmpeg = ffmpeg_publish(&ingest.url(&user.key));
    assert!(video_flows(&ingest, &user.username, 0, 30).await);
    assert!(rooms.is_live(&user.username).await);

    let new_key = rotate_key(&users, &user).await;
    let rotated_at = Instant::now();
    // Two renewal periods, plus slack for a loaded machine (ffmpeg encodes on the same cores).
    let limit = RENEWAL * 2 + Duration::from_secs(2);
    assert!(
        eventually(limit, || async { !rooms.is_live(&user.username).await }).await,
        "room ended by publish_done after the rotation"
    );
    let room_gone_after = rotated_at.elapsed();
    let status = tokio::time::timeout(Duration::from_secs(5), ffmpeg.wait())
        .await
        .expect("the publisher is disconnected")
        .unwrap();
    assert!(!status.success(), "ffmpeg was cut, not finished: {status}");
    assert!(
        eventually(Duration::from_secs(5), || async {
            ingest.transcoder.received(&user.username).finished
        })
        .await,
        "the pipeline is finished"
    );
    assert!(room_gone_after < limit, "{room_gone_after:?}");

    // The new key publishes as usual.
    let _next = ffmpeg_publish(&ingest.url(&new_key));
    assert!(
        eventually(Duration::from_secs(20), || async {
            rooms.is_live(&user.username).await
        })
        .await,
        "the new key goes live"
    );
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_outage_does_not_cut_a_live_stream() {
    const RENEWAL: Duration = Duration::from_millis(300);
    let mut users = start_users().await;
    let user = users.streamer().await;
    let rooms = start_rooms(&users.users_grpc_url(), 60).await;
    let ingest = start_ingest(&users.users_grpc_url(), &rooms.callback_url(), |c| {
        c.sessions.update_interval = RENEWAL;
    })
    .await;

    let mut ffmpeg = ffmpeg_publish(&ingest.url(&user.key));
    assert!(video_flows(&ingest, &user.username, 0, 30).await);

    users.stop_users().await;
    // Several renewals, each with a key check that cannot reach users.
    tokio::time::sleep(RENEWAL * 8).await;
    let before = ingest.transcoder.received(&user.username).video;
    assert!(
        video_flows(&ingest, &user.username, before, 30).await,
        "the stream keeps flowing"
    );
    assert!(
        ffmpeg.try_wait().unwrap().is_none(),
        "the publisher is still connected"
    );
    assert!(rooms.is_live(&user.username).await, "the room stays live");
    assert!(!ingest.transcoder.received(&user.username).finished);
    ingest.stop().await;
}
