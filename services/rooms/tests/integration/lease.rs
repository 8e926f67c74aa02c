//! Leases: a room lives only while updates keep coming (tests use a 2 s lease).

use std::time::{Duration, Instant};

use ferrocast_testkit::{
    eventually,
    platform::rooms::{config, Rooms},
};

use crate::start_users;

#[tokio::test]
async fn room_without_updates_is_gone_within_lease_plus_one_second_and_announced() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    let mut events = rooms.events().await;

    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    let published = Instant::now();
    events
        .expect("room_started", &alice.username, Duration::from_secs(5))
        .await;

    let lease = Duration::from_secs(2);
    assert!(
        eventually(lease + Duration::from_secs(1), || async {
            !rooms.is_live(&alice.username).await
        })
        .await,
        "room still listed {:?} after its last publish",
        published.elapsed()
    );
    assert!(rooms.internal(&alice.username).await.is_none());
    // No publish_done was sent: the sweep announces the lapse.
    events
        .expect("room_ended", &alice.username, Duration::from_secs(3))
        .await;
}

#[tokio::test]
async fn updates_keep_a_room_alive_past_three_leases() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);

    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(6_500) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(rooms.update(&alice.key, "1").await.status(), 200);
        assert!(
            rooms.is_live(&alice.username).await,
            "lost after {:?}",
            started.elapsed()
        );
    }
    assert!(rooms.is_live(&alice.username).await);
}
