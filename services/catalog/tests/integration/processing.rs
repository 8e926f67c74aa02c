//! Processing: a finalized video becomes a job on the queue, a real worker takes it, the
//! catalogue records its reports, and the outputs play through the catalogue with the caching
//! and visibility rules; deleting the video removes them.

use std::time::Duration;

use ferrocast_catalog::ports::ObjectStore;
use ferrocast_testkit::clip;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::support::World;

/// A worker on the catalogue's queue and storage, in this process, until the token is
/// cancelled (or the handle dropped).
pub async fn worker(
    world: &World,
    scratch: &std::path::Path,
) -> (
    tokio_util::sync::CancellationToken,
    ferrocast_worker::Running,
) {
    let mut config = ferrocast_worker::Config::for_tests(
        world.catalog.nats.url(),
        world.catalog.config.storage.clone(),
        scratch.to_owned(),
        ferrocast_kit::config::TEST_SERVICE_TOKEN,
    );
    config.work.packager = std::env::var_os("PACKAGER").map_or_else(
        || ferrocast_testkit::workspace_root().join(".ferrocast/venv/bin/packager"),
        Into::into,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = ferrocast_worker::start(config, shutdown.clone())
        .await
        .expect("worker starts");
    (shutdown, running)
}

/// Messages in the queue's streams, for a failure's message.
pub async fn queue_state(world: &World) -> String {
    let Ok(client) = async_nats::connect(world.catalog.nats.url()).await else {
        return "NATS does not answer".into();
    };
    let js = async_nats::jetstream::new(client);
    let mut counts = Vec::new();
    for name in ["VOD_JOBS", "VOD_EVENTS", "VOD_DEAD"] {
        let count = match js.get_stream(name).await {
            Ok(mut stream) => stream
                .info()
                .await
                .map_or_else(|e| e.to_string(), |i| i.state.messages.to_string()),
            Err(error) => error.to_string(),
        };
        counts.push(format!("{name}: {count}"));
    }
    counts.join(", ")
}

pub async fn processing(world: &World, token: Option<&str>, id: &str) -> Value {
    let (status, item) = world
        .json(Method::GET, &format!("/api/media/{id}"), token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    item["processing"].clone()
}

#[tokio::test]
async fn an_uploaded_video_is_processed_recorded_and_played_through_the_catalogue() {
    let world = World::start().await;
    let owner = world.account().await;
    let stranger = world.account().await;
    // Queued with no worker running: the job waits.
    let item = world
        .upload(&owner.token, "Morning run", &["sport"], &clip::mp4(4))
        .await;
    let id = item["id"].as_str().expect("id").to_owned();
    assert_eq!(item["processing"]["status"], "PENDING", "{item}");
    assert_eq!(item["processing"]["percent"], 0);

    let scratch = tempfile::tempdir().expect("scratch");
    let (stop, running) = worker(&world, scratch.path()).await;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let done = loop {
        let now = processing(&world, None, &id).await;
        let status = now["status"].as_str().unwrap_or_default().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "DONE" || status == "FAILED" {
            break now;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "not done in 90 s: {now} after {seen:?}; {}",
                queue_state(&world).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "DONE", "{done}");
    assert_eq!(done["percent"], 100);
    assert_eq!(done["renditions"], json!(["360p", "240p"]));
    assert_eq!(done["attempts"], 1);
    assert!(done["finished_at"].is_string() && done["playable_at"].is_string());

    // The master and what it names, typed and cached as a CDN should.
    let get = |path: String, token: Option<String>| {
        let world = &world;
        async move {
            let mut request = world.http.get(world.catalog.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.expect("answers")
        }
    };
    let hls = done["hls_url"].as_str().expect("hls url").to_owned();
    let master = get(hls.clone(), None).await;
    assert_eq!(master.status(), StatusCode::OK);
    assert_eq!(
        master.headers()[header::CONTENT_TYPE],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(master.headers()[header::CACHE_CONTROL], "public, max-age=2");
    let master = master.text().await.expect("text");
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 2, "{master}");
    let base = hls.trim_end_matches("master.m3u8").to_owned();
    let playlist = get(format!("{base}360p.m3u8"), None)
        .await
        .text()
        .await
        .expect("text");
    let first = playlist
        .lines()
        .find(|l| l.ends_with(".m4s"))
        .expect("a segment")
        .to_owned();
    let segment = get(format!("{base}{first}"), None).await;
    assert_eq!(segment.status(), StatusCode::OK);
    assert_eq!(
        segment.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(segment.bytes().await.expect("bytes").len() > 1000);
    let mpd = get(done["dash_url"].as_str().expect("dash").to_owned(), None).await;
    assert_eq!(mpd.headers()[header::CONTENT_TYPE], "application/dash+xml");
    let poster = get(
        done["poster_url"].as_str().expect("poster").to_owned(),
        None,
    )
    .await;
    assert_eq!(poster.headers()[header::CONTENT_TYPE], "image/jpeg");

    // Nothing outside the job's files: not the original, not another job, no traversal (a
    // client resolves a bare `..` itself, landing on the owner-only original route: 401).
    let job_base = base.trim_end_matches('/');
    for path in [
        format!("{job_base}/../../original"),
        format!("{job_base}/%2e%2e/%2e%2e/original"),
        format!("{job_base}/360p/../../../original"),
        format!("/api/media/{id}/vod/{}/master.m3u8", uuid::Uuid::new_v4()),
        format!("{job_base}/source"),
        format!("{job_base}/packager-360p.m3u8x"),
    ] {
        let status = get(path.clone(), None).await.status();
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::UNAUTHORIZED].contains(&status),
            "{path}: {status}"
        );
    }

    // Private: the owner's only, and not for shared caches.
    let (status, _) = world
        .json(
            Method::PATCH,
            &format!("/api/media/{id}"),
            Some(&owner.token),
            Some(json!({"visibility": "private"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(hls.clone(), None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(hls.clone(), Some(stranger.token.clone()))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // The owner too needs a live playback session of it, its token in a header.
    let without = get(hls.clone(), Some(owner.token.clone())).await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let session = crate::playback::session_token(&world, &owner.token, &id).await;
    let own = world
        .http
        .get(world.catalog.url(&hls))
        .bearer_auth(&owner.token)
        .header("x-playback-token", &session)
        .send()
        .await
        .expect("answers");
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.headers()[header::CACHE_CONTROL], "private, max-age=60");
    assert_eq!(own.headers()[header::VARY], "x-playback-token");
    // The poster is loaded by the browser as an image (no header): the owner's without one.
    let poster_url = done["poster_url"].as_str().expect("poster").to_owned();
    assert_eq!(
        get(poster_url.clone(), Some(owner.token.clone()))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get(poster_url, Some(stranger.token.clone())).await.status(),
        StatusCode::NOT_FOUND
    );

    // Deleting the video removes its outputs.
    let objects = world.catalog.objects();
    let master_key = format!(
        "media/{id}/{}",
        hls.strip_prefix(&format!("/api/media/{id}/"))
            .expect("own url")
    );
    assert!(objects.head(&master_key).await.expect("head").is_some());
    let deleted = world
        .call(
            Method::DELETE,
            &format!("/api/media/{id}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(objects.head(&master_key).await.expect("head").is_none());
    stop.cancel();
    running.wait().await;
}

#[tokio::test]
async fn deleting_a_video_stops_its_running_job_and_leaves_no_files() {
    // Long enough to still be processing when it is deleted; one PUT, not parts.
    let world = World::start_with(|config| config.uploads.multipart_threshold = 64 << 20).await;
    let owner = world.account().await;
    let scratch = tempfile::tempdir().expect("scratch");
    let (stop, running) = worker(&world, scratch.path()).await;
    let item = world
        .upload(&owner.token, "Long walk", &[], &clip::mp4(30))
        .await;
    let id = item["id"].as_str().expect("id").to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let hls = loop {
        let now = processing(&world, None, &id).await;
        if let Some(url) = now["hls_url"].as_str() {
            break url.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never playable: {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deleted = world
        .call(
            Method::DELETE,
            &format!("/api/media/{id}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // The worker stops the job and says why; nothing of the video stays in storage.
    let reason = cancelled_report(&world, &id).await;
    assert_eq!(reason, "the video was deleted");
    let master_key = format!(
        "media/{id}/{}",
        hls.strip_prefix(&format!("/api/media/{id}/"))
            .expect("own url")
    );
    let objects = world.catalog.objects();
    let gone = ferrocast_testkit::eventually(Duration::from_secs(10), || async {
        objects.head(&master_key).await.expect("head").is_none()
    })
    .await;
    assert!(gone, "the job's files are still stored");
    stop.cancel();
    running.wait().await;
}

/// The reason of the failed report about `media`, read from the report stream.
async fn cancelled_report(world: &World, media: &str) -> String {
    use futures::StreamExt;
    let client = async_nats::connect(world.catalog.nats.url())
        .await
        .expect("nats");
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream("VOD_EVENTS").await.expect("stream");
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
            filter_subject: format!("vod.events.{media}"),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let deadline = Duration::from_secs(30);
    loop {
        let message = tokio::time::timeout(deadline, messages.next())
            .await
            .expect("a failed report in time")
            .expect("open")
            .expect("message");
        let event: Value = serde_json::from_slice(&message.payload).expect("json");
        if event["kind"] == "failed" {
            return event["reason"].as_str().unwrap_or_default().to_owned();
        }
        assert_ne!(event["kind"], "done", "the job ran to its end: {event}");
    }
}
