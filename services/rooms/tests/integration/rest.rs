//! The REST surface: listing pages, viewer presence, titles (set, and read back while offline),
//! the OpenAPI document.

use std::time::Duration;

use ferrocast_kit::testkit::eventually;
use serde_json::{json, Value};

use crate::support::{config, Rooms, Users};

#[tokio::test]
async fn viewer_count_is_distinct_viewers_and_drops_after_the_window() {
    let users = Users::start().await;
    let mut config = config(&users);
    config.rooms_viewer_window_seconds = 2;
    config.room_lease_seconds = 30;
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);

    for viewer in ["v-1", "v-2", "v-3", "v-1"] {
        assert_eq!(rooms.heartbeat(&alice.username, viewer).await.status(), 200);
    }
    let body: Value = rooms
        .heartbeat(&alice.username, "v-2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["viewers"], 3);

    // v-3 stops; v-1 and v-2 keep heartbeating.
    let dropped = eventually(Duration::from_secs(5), || async {
        rooms.heartbeat(&alice.username, "v-1").await;
        let body: Value = rooms
            .heartbeat(&alice.username, "v-2")
            .await
            .json()
            .await
            .unwrap();
        body["viewers"] == 2
    })
    .await;
    assert!(dropped, "the silent viewer is still counted");
    let room: Value = rooms
        .http
        .get(rooms.url(&format!("/api/rooms/{}", alice.username)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(room["viewers"], 2);

    let offline = rooms.heartbeat("nobody_here", "v-1").await;
    assert_eq!(offline.status(), 404);
}

#[tokio::test]
async fn title_needs_a_valid_token_and_persists_for_the_next_stream() {
    let users = Users::start().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    let mut events = rooms.events().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);

    let put = |token: Option<&str>, title: &str| {
        let mut request = rooms
            .http
            .put(rooms.url("/api/rooms/me/title"))
            .json(&json!({ "title": title }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(put(None, "hi").await.unwrap().status(), 401);
    assert_eq!(put(Some("not-a-jwt"), "hi").await.unwrap().status(), 401);
    assert_eq!(put(Some(&alice.token), "").await.unwrap().status(), 422);
    assert_eq!(
        put(Some(&alice.token), &"x".repeat(141))
            .await
            .unwrap()
            .status(),
        422
    );
    let ok = put(Some(&alice.token), "  Speedrun night ").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["title"], "Speedrun night");
    let changed = events
        .expect("title_changed", &alice.username, Duration::from_secs(5))
        .await;
    assert_eq!(changed["title"], "Speedrun night");

    // The cookie works as well as the bearer header.
    let by_cookie = rooms
        .http
        .put(rooms.url("/api/rooms/me/title"))
        .header("cookie", format!("ferrocast_session={}", alice.token))
        .json(&json!({ "title": "Speedrun night" }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish(&alice.key, "2").await.status(), 200);
    let room: Value = rooms
        .http
        .get(rooms.url(&format!("/api/rooms/{}", alice.username)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(room["title"], "Speedrun night");
}

#[tokio::test]
async fn own_title_is_readable_while_offline() {
    let users = Users::start().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    let bob = users.streamer().await;
    let get = |token: Option<&str>| {
        let mut request = rooms.http.get(rooms.url("/api/rooms/me/title"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let title_of = |token: &str| {
        let request = get(Some(token));
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["title"].clone()
        }
    };

    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(get(Some("not-a-jwt")).await.unwrap().status(), 401);
    assert_eq!(title_of(&alice.token).await, "");

    // Alice has never gone live: the title is stored for her, not for a room.
    let put = rooms
        .http
        .put(rooms.url("/api/rooms/me/title"))
        .bearer_auth(&alice.token)
        .json(&json!({ "title": " Offline plans " }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert!(rooms.internal(&alice.username).await.is_none());
    assert_eq!(title_of(&alice.token).await, "Offline plans");
    assert_eq!(title_of(&bob.token).await, "", "titles are per user");

    // The browser sends the session cookie instead of a bearer header.
    let by_cookie = rooms
        .http
        .get(rooms.url("/api/rooms/me/title"))
        .header("cookie", format!("ferrocast_session={}", alice.token))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);
    assert_eq!(
        by_cookie.json::<Value>().await.unwrap()["title"],
        "Offline plans"
    );

    // Still there after a stream has come and gone.
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert!(rooms.internal(&alice.username).await.is_none());
    assert_eq!(title_of(&alice.token).await, "Offline plans");
}

#[tokio::test]
async fn listing_pages_newest_first_with_a_cursor() {
    let users = Users::start().await;
    let rooms = Rooms::start(config(&users)).await;
    let mut names = Vec::new();
    for clientid in ["1", "2", "3"] {
        let streamer = users.streamer().await;
        assert_eq!(rooms.publish(&streamer.key, clientid).await.status(), 200);
        names.push(streamer.username);
        // Distinct start times, so "newest first" is observable.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first: Value = rooms
        .http
        .get(rooms.url("/api/rooms?limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page: Vec<&str> = first["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec![names[2].as_str(), names[1].as_str()]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second: Value = rooms
        .http
        .get(rooms.url("/api/rooms"))
        .query(&[("limit", "2"), ("cursor", cursor)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page: Vec<&str> = second["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec![names[0].as_str()]);
    assert!(second["next_cursor"].is_null());

    let bad = rooms
        .http
        .get(rooms.url("/api/rooms?limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let offline = rooms
        .http
        .get(rooms.url("/api/rooms/nobody_here"))
        .send()
        .await
        .unwrap();
    assert_eq!(offline.status(), 404);
}

#[tokio::test]
async fn openapi_document_health_and_metrics_are_served() {
    let users = Users::start().await;
    let rooms = Rooms::start(config(&users)).await;
    let doc: Value = rooms
        .http
        .get(rooms.url("/api/rooms/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/rooms"].is_object());
    assert!(doc["paths"]["/api/rooms/me/title"]["get"].is_object());
    assert!(doc["paths"]["/api/rooms/me/title"]["put"].is_object());
    assert!(doc["components"]["schemas"]["RoomView"].is_object());
    assert_eq!(
        rooms
            .http
            .get(rooms.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        rooms
            .http
            .get(rooms.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    rooms.publish("live_unknown_key_for_metrics", "1").await;
    let metrics = rooms
        .http
        .get(rooms.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("rooms_callbacks_total"), "{metrics}");
}
