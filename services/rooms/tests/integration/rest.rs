//! The REST surface: listing pages, viewer presence (signed viewer ids, the per-address cap,
//! coalesced events), titles (set, and read back while offline),
//! the OpenAPI document.

use std::time::Duration;

use serde_json::{json, Value};

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::platform::rooms::{
    config, usernames,
    Credential::{Anonymous, Bearer, Cookie},
    Rooms, Viewer,
};

use crate::start_users;

#[tokio::test]
async fn viewer_count_is_distinct_viewers_and_drops_after_the_window() {
    let users = start_users().await;
    let mut config = config(&users);
    config.viewers.window = Duration::from_secs(2);
    config.leases.lease = Duration::from_secs(30);
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);

    let (mut v1, mut v2, mut v3) = (Viewer::default(), Viewer::default(), Viewer::default());
    for viewer in [&mut v1, &mut v2, &mut v3] {
        assert_eq!(viewer.beat(&rooms, &alice.username).await.0, 200);
    }
    // Coming back with its token, a viewer is the same viewer.
    assert_eq!(v1.beat(&rooms, &alice.username).await, (200, Some(3)));
    assert_eq!(v2.beat(&rooms, &alice.username).await, (200, Some(3)));

    // v3 stops; v1 and v2 keep heartbeating.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut dropped = false;
    while !dropped && tokio::time::Instant::now() < deadline {
        v1.beat(&rooms, &alice.username).await;
        dropped = v2.beat(&rooms, &alice.username).await == (200, Some(2));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dropped, "the silent viewer is still counted");
    let room = rooms.room(&alice.username).await;
    assert_eq!(room["viewers"], 2);

    assert_eq!(v1.beat(&rooms, "nobody_here").await.0, 404);
    let not_json = rooms
        .http
        .post(rooms.url(&format!("/api/rooms/{}/viewers", alice.username)))
        .body("viewer")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 422);
}

#[tokio::test]
async fn viewer_ids_are_issued_by_the_server_and_capped_per_client_address() {
    let users = start_users().await;
    let mut config = config(&users);
    config.viewers.per_address = 2;
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    let bob = users.streamer().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish(&bob.key, "2").await.status(), 200);
    let count = |body: Value| body["viewers"].as_u64().unwrap();

    // One client (as the trusted local proxy forwards it) naming its own ids, forging tokens,
    // or minting a fresh token every time: only its quota of 2 counts.
    let attacker = Some("203.0.113.7");
    let mut last = 0;
    for i in 0..30 {
        let body = match i % 3 {
            0 => json!({ "viewer_id": format!("made-up-{i}") }),
            1 => json!({ "viewer_token": format!("{i:032x}.1700000000.AAAA") }),
            _ => json!({}),
        };
        let response = rooms.heartbeat(&alice.username, body, attacker).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body["viewer_token"].as_str().is_some_and(|t| t.len() > 40));
        last = count(body);
    }
    assert_eq!(
        last, 2,
        "one address moved the count by more than its quota"
    );

    // Other addresses count, each up to its own quota; a returning token is not a new viewer.
    let mut honest = Viewer::at("198.51.100.1");
    assert_eq!(honest.beat(&rooms, &alice.username).await, (200, Some(3)));
    assert_eq!(honest.beat(&rooms, &alice.username).await, (200, Some(3)));
    let token = honest.token.clone().unwrap();
    // The token names a viewer of alice's room only: in bob's room it is a new viewer.
    let response = rooms
        .heartbeat(&bob.username, json!({ "viewer_token": token }), None)
        .await;
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["viewer_token"], token.as_str());
    assert_eq!(count(body), 1);

    // Addresses a client wrote into X-Forwarded-For itself (left of what the trusted proxy
    // appended) do not make it several clients.
    let mut direct = Vec::new();
    for i in 0..5 {
        let response = rooms
            .heartbeat(
                &alice.username,
                json!({}),
                Some(&format!("192.0.2.{i}, 127.0.0.2")),
            )
            .await;
        direct.push(count(response.json().await.unwrap()));
    }
    // The proxy (us, 127.0.0.1) appended 127.0.0.2: that is the client, worth 2 more at most.
    assert_eq!(direct.last(), Some(&5), "{direct:?}");
}

#[tokio::test]
async fn viewers_changed_events_of_a_room_are_coalesced() {
    let users = start_users().await;
    let mut config = config(&users);
    config.viewers.events_interval = Duration::from_secs(1);
    let rooms = Rooms::start(config).await;
    let alice = users.streamer().await;
    let mut events = rooms.events().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    events
        .expect("room_started", &alice.username, Duration::from_secs(5))
        .await;

    // 40 viewers from 40 addresses as fast as they come: 40 count changes.
    let started = tokio::time::Instant::now();
    for i in 0..40 {
        let mut viewer = Viewer::at(&format!("198.51.100.{i}"));
        assert_eq!(viewer.beat(&rooms, &alice.username).await.0, 200);
    }
    let took = started.elapsed();
    // Every change is announced eventually (the last one by a sweep), but at most one event per
    // second per room: the 40 changes arrive as a handful of events.
    let mut seen = Vec::new();
    loop {
        let event = events
            .expect("viewers_changed", &alice.username, Duration::from_secs(10))
            .await;
        seen.push(event["viewers"].as_u64().unwrap());
        if seen.last() == Some(&40) {
            break;
        }
    }
    let allowed = took.as_secs() as usize + 2;
    assert!(
        seen.len() <= allowed,
        "{} events for 40 changes in {took:?}: {seen:?}",
        seen.len()
    );
}

#[tokio::test]
async fn title_needs_a_valid_token_and_persists_for_the_next_stream() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    let mut events = rooms.events().await;
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);

    let alice_bearer = Bearer(&alice.token);
    assert_eq!(rooms.put_title(Anonymous, "hi").await.status(), 401);
    assert_eq!(
        rooms.put_title(Bearer("not-a-jwt"), "hi").await.status(),
        401
    );
    assert_eq!(rooms.put_title(alice_bearer, "").await.status(), 422);
    assert_eq!(
        rooms
            .put_title(alice_bearer, &"x".repeat(141))
            .await
            .status(),
        422
    );
    let ok = rooms.put_title(alice_bearer, "  Speedrun night ").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["title"], "Speedrun night");
    let changed = events
        .expect("title_changed", &alice.username, Duration::from_secs(5))
        .await;
    assert_eq!(changed["title"], "Speedrun night");

    // The cookie works as well as the bearer header.
    let by_cookie = rooms
        .put_title(Cookie(&alice.token), "Speedrun night")
        .await;
    assert_eq!(by_cookie.status(), 200);

    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish(&alice.key, "2").await.status(), 200);
    let room = rooms.room(&alice.username).await;
    assert_eq!(room["title"], "Speedrun night");
}

#[tokio::test]
async fn own_title_is_readable_while_offline() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let alice = users.streamer().await;
    let bob = users.streamer().await;

    assert_eq!(rooms.get_title(Anonymous).await.status(), 401);
    assert_eq!(rooms.get_title(Bearer("not-a-jwt")).await.status(), 401);
    assert_eq!(title_of(&rooms, &alice.token).await, "");

    // Alice has never gone live: the title is stored for her, not for a room.
    let put = rooms
        .put_title(Bearer(&alice.token), " Offline plans ")
        .await;
    assert_eq!(put.status(), 200);
    assert!(rooms.internal(&alice.username).await.is_none());
    assert_eq!(title_of(&rooms, &alice.token).await, "Offline plans");
    assert_eq!(
        title_of(&rooms, &bob.token).await,
        "",
        "titles are per user"
    );

    // The browser sends the session cookie instead of a bearer header.
    let by_cookie = rooms.get_title(Cookie(&alice.token)).await;
    assert_eq!(by_cookie.status(), 200);
    assert_eq!(
        by_cookie.json::<Value>().await.unwrap()["title"],
        "Offline plans"
    );

    // Still there after a stream has come and gone.
    assert_eq!(rooms.publish(&alice.key, "1").await.status(), 200);
    assert_eq!(rooms.publish_done(&alice.key, "1").await.status(), 200);
    assert!(rooms.internal(&alice.username).await.is_none());
    assert_eq!(title_of(&rooms, &alice.token).await, "Offline plans");
}

#[tokio::test]
async fn listing_pages_newest_first_with_a_cursor() {
    let users = start_users().await;
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
        .fetch_json(&rooms.url("/api/rooms?limit=2"))
        .await;
    assert_eq!(usernames(&first), [&names[2][..], &names[1][..]]);
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
    assert_eq!(usernames(&second), [&names[0][..]]);
    assert!(second["next_cursor"].is_null());

    let bad = rooms.http.fetch(&rooms.url("/api/rooms?limit=0")).await;
    assert_eq!(bad.status(), 422);
    let offline = rooms.http.fetch(&rooms.url("/api/rooms/nobody_here")).await;
    assert_eq!(offline.status(), 404);
}

#[tokio::test]
async fn openapi_document_health_and_metrics_are_served() {
    let users = start_users().await;
    let rooms = Rooms::start(config(&users)).await;
    let doc: Value = rooms
        .http
        .fetch_json(&rooms.url("/api/rooms/openapi.json"))
        .await;
    assert!(doc["paths"]["/api/rooms"].is_object());
    assert!(doc["paths"]["/api/rooms/me/title"]["get"].is_object());
    assert!(doc["paths"]["/api/rooms/me/title"]["put"].is_object());
    assert!(doc["components"]["schemas"]["RoomView"].is_object());
    assert_eq!(rooms.http.fetch(&rooms.url("/healthz")).await.status(), 200);
    assert_eq!(rooms.http.fetch(&rooms.url("/readyz")).await.status(), 200);
    rooms.publish("live_unknown_key_for_metrics", "1").await;
    let metrics = rooms.http.fetch_text(&rooms.url("/metrics")).await;
    assert!(metrics.contains("rooms_callbacks_total"), "{metrics}");
}

/// The title `GET /api/rooms/me/title` answers the bearer of `token`.
async fn title_of(rooms: &Rooms, token: &str) -> Value {
    let response = rooms.get_title(Bearer(token)).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["title"].clone()
}
