//! Redis restarting under a live stream: readiness says so while it is down, and the next update
//! brings the lost room back. Uses a redis-server of its own, never the shared one.

use std::time::Duration;

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{
    eventually,
    platform::rooms::{config, nginx, Rooms},
    redis_server::RedisServer,
};

use crate::start_users;

async fn ready_status(rooms: &Rooms) -> (u16, String) {
    let response = rooms.http.fetch(&rooms.url("/readyz")).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn redis_restart_is_reported_and_the_next_update_recreates_the_room() {
    let users = start_users().await;
    let mut redis = RedisServer::start().await.unwrap();
    let mut config = config(&users);
    config.store.url = redis.url();
    config.leases.lease = Duration::from_secs(10);
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    let bob = users.streamer().await;

    // Alice through nginx-rtmp (key in every callback), Bob through our ingest (owner stated,
    // service token presented).
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    let mut bob_publish = nginx("publish", "live", &bob.key, "2");
    bob_publish.push(("session_id", "bob-session"));
    assert_eq!(rooms.ingest_callback(&bob_publish).await.status(), 200);
    let bob_update = [
        ("call", "update"),
        ("app", "live"),
        ("session_id", "bob-session"),
        ("user_id", bob.user_id.as_str()),
        ("username", bob.username.as_str()),
        ("origin", "http://127.0.0.1:8083"),
    ];
    assert_eq!(rooms.live().await.len(), 2);

    redis.stop().await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            let (status, body) = ready_status(&rooms).await;
            status == 503 && body.contains("redis")
        })
        .await,
        "readyz reports Redis down"
    );
    // Admission fails closed; an admitted stream's update is deferred, not refused (a refused
    // update makes nginx-rtmp drop the publisher, and there would be nothing left to recover).
    let bob_again = users.streamer().await;
    assert_eq!(rooms.publish(&bob_again.key, "9").await.status(), 503);
    let during = rooms.update(&alice.key, "1").await;
    assert_eq!(during.status(), 200);

    redis.restart().await.unwrap(); // empty: the rooms are gone
    assert!(
        eventually(Duration::from_secs(10), || async {
            ready_status(&rooms).await.0 == 200
        })
        .await,
        "readyz recovers"
    );
    assert!(rooms.live().await.is_empty());

    // A stated owner without the service token is not trusted to recreate a room.
    let untrusted = rooms.callback(&bob_update).await;
    assert_ne!(untrusted.status(), 200);
    assert!(rooms.live().await.is_empty());

    assert_eq!(rooms.update(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.ingest_callback(&bob_update).await.status(), 200);
    let mut live = rooms.live().await;
    live.sort();
    let mut expected = vec![alice.username.clone(), bob.username.clone()];
    expected.sort();
    assert_eq!(live, expected);
    let bob_room = rooms.internal(&bob.username).await.expect("bob live again");
    assert_eq!(bob_room["session_id"], "bob-session");
    assert_eq!(bob_room["origin"], "http://127.0.0.1:8083");

    // The recreated rooms behave like any other: the old session still ends them.
    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert!(!rooms.is_live(&alice.username).await);
}
