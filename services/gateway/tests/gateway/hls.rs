//! `/hls/{username}/*`: routed to the origin the room lookup names, cached, and refused early.

use std::time::Duration;

use ferrocast_gateway::{Config, Tuning};
use serde_json::Value;

use crate::support::{client, closed_url, ingest, no_dist, Gateway, Rooms};

#[tokio::test]
async fn hls_goes_to_the_origin_the_lookup_names() {
    let (node_a, seen_a) = ingest("node-a").await;
    let (node_b, seen_b) = ingest("node-b").await;
    let (rooms, fake_rooms) = Rooms::start().await;
    fake_rooms.set_live("alice", &node_a);
    fake_rooms.set_live("bob_2", &format!("{node_b}/"));
    let dist = no_dist();
    let gateway = Gateway::with(&closed_url(), &rooms, dist.path()).await;

    let response = client()
        .get(gateway.at("/hls/alice/master.m3u8"))
        .header("cookie", "ferrocast_session=secret")
        .header("authorization", "Bearer secret")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(
        response.text().await.expect("text"),
        "node-a:/hls/alice/master.m3u8"
    );

    let segment = client()
        .get(gateway.at("/hls/bob_2/720p/seg_00001.ts"))
        .send()
        .await
        .expect("send");
    assert_eq!(
        segment.text().await.expect("text"),
        "node-b:/hls/bob_2/720p/seg_00001.ts"
    );

    let head = client()
        .head(gateway.at("/hls/alice/480p/index.m3u8"))
        .send()
        .await
        .expect("send");
    assert_eq!(head.status(), 200);

    assert_eq!(
        seen_a.paths(),
        [
            "/hls/alice/master.m3u8 credentials=false",
            "/hls/alice/480p/index.m3u8 credentials=false"
        ],
        "the browser's credentials never reach an ingest node"
    );
    assert_eq!(
        seen_b.paths(),
        ["/hls/bob_2/720p/seg_00001.ts credentials=false"]
    );
}

#[tokio::test]
async fn hls_for_an_offline_user_is_404() {
    let (rooms, _) = Rooms::start().await;
    let dist = no_dist();
    let gateway = Gateway::with(&closed_url(), &rooms, dist.path()).await;
    let response = client()
        .get(gateway.at("/hls/carol/master.m3u8"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn room_lookups_are_cached_for_the_ttl_including_offline_answers() {
    let (node, seen) = ingest("node").await;
    let (rooms, fake_rooms) = Rooms::start().await;
    fake_rooms.set_live("alice", &node);
    let dist = no_dist();
    // The default TTL is 1 s; 2 s keeps the test steady on a loaded machine.
    let ttl = Duration::from_secs(2);
    assert_eq!(Tuning::default().lookup_ttl, Duration::from_secs(1));
    let mut config = Config::for_tests();
    config.routes.rooms_url = rooms;
    config.routes.frontend_dir = dist.path().to_path_buf();
    config.tuning.lookup_ttl = ttl;
    let gateway = Gateway::start(config).await;

    for _ in 0..10 {
        let live = client()
            .get(gateway.at("/hls/alice/master.m3u8"))
            .send()
            .await
            .expect("send");
        assert_eq!(live.status(), 200);
        let offline = client()
            .get(gateway.at("/hls/dave/master.m3u8"))
            .send()
            .await
            .expect("send");
        assert_eq!(offline.status(), 404);
    }
    assert_eq!(
        fake_rooms.lookups(),
        2,
        "one lookup per user within the TTL"
    );
    assert_eq!(
        seen.paths().len(),
        10,
        "every HLS request itself reaches the origin"
    );

    // dave goes live: visible once the cached offline answer expires.
    fake_rooms.set_live("dave", &node);
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let now_live = client()
        .get(gateway.at("/hls/dave/master.m3u8"))
        .send()
        .await
        .expect("send");
    assert_eq!(now_live.status(), 200);
    assert_eq!(fake_rooms.lookups(), 3);
}

#[tokio::test]
async fn hls_traversal_and_odd_names_are_refused_without_a_lookup() {
    let (node, seen) = ingest("node").await;
    let (rooms, fake_rooms) = Rooms::start().await;
    fake_rooms.set_live("alice", &node);
    let dist = no_dist();
    let gateway = Gateway::with(&closed_url(), &rooms, dist.path()).await;
    for path in [
        "/hls/alice/../../internal/rooms/alice",
        "/hls/alice/%2e%2e/%2e%2e/etc/passwd",
        "/hls/alice/..%2f..%2fmaster.m3u8",
        "/hls/../alice/master.m3u8",
        "/hls/Alice/master.m3u8",
        "/hls/al/master.m3u8",
        "/hls/alice/stream.key",
        "/hls/alice/a/b/c.ts",
        "/hls/alice/",
        "/hls/alice/.hidden.m3u8",
    ] {
        let (status, text) = gateway.raw_get(path).await;
        assert!(status == 400 || status == 404, "{path} answered {status}");
        assert!(text.contains("\"error\""), "{path}: {text}");
    }
    assert_eq!(fake_rooms.lookups(), 0, "refused before any lookup");
    assert!(seen.paths().is_empty());

    let post = client()
        .post(gateway.at("/hls/alice/master.m3u8"))
        .send()
        .await
        .expect("send");
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn hls_with_rooms_down_is_503_and_with_the_origin_down_is_502() {
    let dist = no_dist();
    let rooms_down = Gateway::with(&closed_url(), &closed_url(), dist.path()).await;
    let response = client()
        .get(rooms_down.at("/hls/alice/master.m3u8"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unavailable");

    let (rooms, fake_rooms) = Rooms::start().await;
    fake_rooms.set_live("alice", &closed_url());
    let origin_down = Gateway::with(&closed_url(), &rooms, dist.path()).await;
    let response = client()
        .get(origin_down.at("/hls/alice/master.m3u8"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "bad_gateway");
}
