//! Live events fan out through Redis: every replica's SSE clients see every replica's events.

use std::time::Duration;

use ferrocast_testkit::platform::rooms::{config, Rooms, Viewer};

use crate::start_users;

#[tokio::test]
async fn sse_client_of_one_replica_sees_rooms_started_and_ended_through_another() {
    let users = start_users().await;
    let config = config(&users);
    let watched = Rooms::start(config.clone()).await;
    let driven = Rooms::start(config).await;
    let alice = users.streamer().await;
    let mut events = watched.events().await;

    assert_eq!(driven.publish(&alice.key, "1").await.status(), 200);
    let started = events
        .expect("room_started", &alice.username, Duration::from_secs(5))
        .await;
    assert_eq!(
        started["hls_url"],
        format!("/hls/{}/master.m3u8", alice.username)
    );

    assert_eq!(
        Viewer::default().beat(&driven, &alice.username).await.0,
        200
    );
    let viewers = events
        .expect("viewers_changed", &alice.username, Duration::from_secs(5))
        .await;
    assert_eq!(viewers["viewers"], 1);

    assert_eq!(driven.publish_done(&alice.key, "1").await.status(), 200);
    events
        .expect("room_ended", &alice.username, Duration::from_secs(5))
        .await;
    // The other replica serves the same state.
    assert!(watched.live().await.is_empty());
}

#[tokio::test]
async fn shutdown_ends_open_event_streams_promptly() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let mut events = rooms.events().await;
    let stopped = tokio::time::timeout(Duration::from_secs(3), rooms.stop()).await;
    assert!(stopped.is_ok(), "an SSE client held shutdown up");
    assert!(
        events.next(Duration::from_secs(2)).await.is_none(),
        "the stream ended"
    );
}
