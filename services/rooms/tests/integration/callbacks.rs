//! Publish callbacks: keys checked with users (fail closed), one room per user, sessions that
//! cannot touch each other's rooms, nginx-rtmp updates that re-check the key (rotation cuts).

use std::time::{Duration, Instant};

use serde_json::Value;

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::platform::rooms::{config, nginx, nginx_config, Rooms};
use ferrocast_testkit::Streamer;

use crate::start_users;

#[tokio::test]
async fn publish_with_valid_key_lists_the_room_under_its_username() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;

    let response = rooms.publish(&alice.key, "1").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], alice.username.as_str());
    assert_eq!(body["user_id"], alice.user_id.as_str());
    assert_eq!(body["session_id"], "nginx:live:1:127.0.0.1");

    assert_eq!(rooms.live().await, vec![alice.username.clone()]);
    let room = rooms.room(&alice.username).await;
    assert_eq!(
        room["hls_url"],
        format!("/hls/{}/master.m3u8", alice.username)
    );
    assert_eq!(room["viewers"], 0);
    assert!(room["thumbnail_url"].is_null());
    assert!(
        !room.to_string().contains(&alice.key),
        "the key never appears in a room"
    );
}

#[tokio::test]
async fn publish_with_unknown_key_is_refused_and_creates_no_room() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let _alice = users.streamer().await;

    let response = rooms.publish("live_not_a_real_key_at_all", "1").await;
    assert_eq!(response.status(), 403);
    assert!(rooms.live().await.is_empty());
}

#[tokio::test]
async fn publish_while_users_is_unreachable_is_refused_with_503_and_creates_no_room() {
    let mut users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    users.stop_users().await;

    let response = rooms.publish(&alice.key, "1").await;
    assert_eq!(response.status(), 503);
    assert!(rooms.live().await.is_empty());
    let ready = rooms.http.fetch(&rooms.url("/readyz")).await;
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("users"));
}

#[tokio::test]
async fn second_publish_for_live_user_is_refused_and_first_room_untouched() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);

    let second = rooms.publish(&alice.key, "2").await;
    assert_eq!(second.status(), 409);

    let room = rooms.internal(&alice.username).await.expect("still live");
    assert_eq!(room["session_id"], "nginx:live:1:127.0.0.1");
    // The first session keeps renewing; the refused one cannot.
    assert_eq!(rooms.update(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.update(&alice.key, "2").await.status(), 409);
    // The refused session's publish_done does not end the first room.
    assert_eq!(rooms.publish_done(&alice.key, "2").await.status(), 200);
    assert!(rooms.is_live(&alice.username).await);
}

#[tokio::test]
async fn publish_done_from_an_old_session_leaves_the_new_room() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;

    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert!(rooms.live().await.is_empty());
    assert_eq!(rooms.publish(&alice.key, "2").await.status(), 200);

    // Late (duplicated) end and update of the first session.
    the_first_session_cannot_end_the_second(&rooms, &alice).await;
}

#[tokio::test]
async fn takeover_replaces_the_room_and_the_old_session_cannot_end_it() {
    let users = start_users().await;
    let mut config = config(&users);
    config.leases.takeover = true;
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;

    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish(&alice.key, "2").await.status(), 200);
    the_first_session_cannot_end_the_second(&rooms, &alice).await;
}

/// `publish_done` and `update` of session 1 of `alice`'s key leave the room of session 2.
async fn the_first_session_cannot_end_the_second(rooms: &Rooms, alice: &Streamer) {
    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.update(&alice.key, "1").await.status(), 409);
    let room = rooms
        .internal(&alice.username)
        .await
        .expect("new room stays");
    assert_eq!(room["session_id"], "nginx:live:2:127.0.0.1");
}

#[tokio::test]
async fn ingest_publish_stores_its_origin_and_session_for_the_gateway() {
    let users = start_users().await;
    let mut config = config(&users);
    config.origins.ingest_networks = "10.0.0.0/8".parse().unwrap();
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    let mut form = nginx("publish", "live", &alice.key, "4");
    form.push(("session_id", "6f1c2a"));
    form.push(("origin", "http://10.0.0.5:8083"));
    let response = rooms.ingest_callback(&form).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["session_id"], "6f1c2a");

    let room = rooms.internal(&alice.username).await.expect("live");
    assert_eq!(room["origin"], "http://10.0.0.5:8083");
    assert_eq!(room["session_id"], "6f1c2a");

    let update = [
        ("call", "update"),
        ("app", "live"),
        ("session_id", "6f1c2a"),
        (
            "renditions",
            r#"[{"name":"720p","width":1280,"height":720,"bandwidth":2800000}]"#,
        ),
    ];
    assert_eq!(rooms.ingest_callback(&update).await.status(), 200);
    let listed = rooms.room(&alice.username).await;
    assert_eq!(listed["renditions"][0]["name"], "720p");
}

#[tokio::test]
async fn the_room_names_its_thumbnail_once_the_ingest_says_it_serves_one() {
    let users = start_users().await;
    let mut config = config(&users);
    config.origins.ingest_networks = "10.0.0.0/8".parse().unwrap();
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    let mut form = nginx("publish", "live", &alice.key, "4");
    form.push(("session_id", "7a2b3c"));
    form.push(("origin", "http://10.0.0.5:8083"));
    assert_eq!(rooms.ingest_callback(&form).await.status(), 200);
    assert!(rooms.room(&alice.username).await["thumbnail_url"].is_null());

    let update = [
        ("call", "update"),
        ("app", "live"),
        ("session_id", "7a2b3c"),
    ];
    assert_eq!(rooms.ingest_callback(&update).await.status(), 200);
    assert!(
        rooms.room(&alice.username).await["thumbnail_url"].is_null(),
        "no thumbnail before the ingest says so"
    );
    // From a caller without the service token (nginx-rtmp appends the publisher's query string
    // to its callbacks) the field is dropped.
    let forged = [
        ("call", "update"),
        ("app", "live"),
        ("name", alice.key.as_str()),
        ("clientid", "4"),
        ("addr", "127.0.0.1"),
        ("thumbnail", "1"),
    ];
    rooms.callback(&forged).await;
    assert!(rooms.room(&alice.username).await["thumbnail_url"].is_null());

    let with_thumbnail = [
        ("call", "update"),
        ("app", "live"),
        ("session_id", "7a2b3c"),
        ("thumbnail", "1"),
    ];
    assert_eq!(rooms.ingest_callback(&with_thumbnail).await.status(), 200);
    let expected = format!("/hls/{}/thumbnail.jpg", alice.username);
    assert_eq!(
        rooms.room(&alice.username).await["thumbnail_url"],
        expected.as_str()
    );
    let listed = rooms
        .http
        .fetch(&rooms.url("/api/rooms"))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let entry = listed["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == alice.username.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(entry["thumbnail_url"], expected.as_str());
}

#[tokio::test]
async fn relay_publish_into_the_hls_app_needs_a_fresh_key_publish() {
    let users = start_users().await;
    let mut config = nginx_config(&users);
    config.nginx.push_url = "rtmp://127.0.0.1:19350".into();
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;

    // Nobody is live: a publish straight into the HLS app is refused.
    let early = rooms
        .callback(&nginx("publish", "hls", &alice.username, "1"))
        .await;
    assert_eq!(early.status(), 403);

    let response = rooms.publish(&alice.key, "2").await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("rtmp://127.0.0.1:19350/hls/{}", alice.username).as_str()
    );
    let relay = rooms
        .callback(&nginx("publish", "hls", &alice.username, "3"))
        .await;
    assert_eq!(relay.status(), 200);
    // Only one relay per key publish.
    let intruder = rooms
        .callback(&nginx("publish", "hls", &alice.username, "4"))
        .await;
    assert_eq!(intruder.status(), 403);
    // The relay's own update and end do not touch the room.
    let relay_done = rooms
        .callback(&nginx("publish_done", "hls", &alice.username, "3"))
        .await;
    assert_eq!(relay_done.status(), 200);
    assert!(rooms.is_live(&alice.username).await);
}

#[tokio::test]
async fn nginx_update_with_a_rotated_key_is_refused_and_ends_the_room() {
    let users = start_users().await;
    let rooms = Rooms::start(nginx_config(&users)).await;
    let alice = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 302);
    assert_eq!(rooms.update(&alice.key, "1").await.status(), 200);
    let mut events = rooms.events().await;

    // Rotated through users' REST API, as the dashboard does: the old key stops at once.
    let new_key = users.rotate_key(&alice.token).await;
    assert_ne!(new_key, alice.key);
    // nginx-rtmp drops a publisher whose update is answered with anything but 2xx/3xx.
    let refused = rooms.update(&alice.key, "1").await;
    assert_eq!(refused.status(), 403);
    assert!(!rooms.is_live(&alice.username).await, "room ended at once");
    events
        .expect("room_ended", &alice.username, Duration::from_secs(5))
        .await;
    // The session is over: a retried update cannot bring the room back, and the publish_done
    // nginx sends after dropping the publisher is harmless.
    assert_eq!(rooms.update(&alice.key, "1").await.status(), 409);
    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert!(!rooms.is_live(&alice.username).await);

    // The new key goes live as usual, and its updates pass the check.
    assert_eq!(rooms.publish(&new_key, "2").await.status(), 302);
    assert_eq!(rooms.update(&new_key, "2").await.status(), 200);
    assert!(rooms.is_live(&alice.username).await);
}

#[tokio::test]
async fn nginx_update_while_users_is_down_renews_the_live_room() {
    let mut users = start_users().await;
    let rooms = Rooms::start(nginx_config(&users)).await;
    let alice = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 302);
    users.stop_users().await;

    // Past the 2 s test lease: only renewals can keep the room.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(3_500) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let update = rooms.update(&alice.key, "1").await;
        assert_eq!(update.status(), 200, "an outage never cuts a live stream");
        let body: Value = update.json().await.unwrap();
        assert_eq!(body["deferred"], true);
    }
    assert!(
        rooms.is_live(&alice.username).await,
        "the lease was renewed"
    );
}

#[tokio::test]
async fn ingest_updates_are_not_rechecked_by_rooms() {
    // Our ingest re-checks the key itself and never sends it on updates; rooms renews its
    // session on the service token alone, even with users down.
    let mut users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    let mut form = nginx("publish", "live", &alice.key, "4");
    form.extend([("session_id", "7a2d3b")]);
    assert_eq!(rooms.ingest_callback(&form).await.status(), 200);
    users.stop_users().await;

    let update = [
        ("call", "update"),
        ("app", "live"),
        ("addr", "127.0.0.1"),
        ("clientid", "4"),
        ("session_id", "7a2d3b"),
        ("user_id", alice.user_id.as_str()),
        ("username", alice.username.as_str()),
    ];
    let renewed = rooms.ingest_callback(&update).await;
    assert_eq!(renewed.status(), 200);
    let body: Value = renewed.json().await.unwrap();
    assert_ne!(body["deferred"], true, "renewed, not deferred");
    assert!(rooms.is_live(&alice.username).await);
}
