//! Processing progress pushed as Server-Sent Events (`GET /api/media/progress`): a page that
//! follows an upload sees every state from finalize to done, whichever replica it is connected
//! to; nobody learns anything of an item they may not see; a malformed request is refused.

use std::time::Duration;

use ferrocast_testkit::clip;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{
    processing::worker,
    support::{put_signed, video, SseReader, World},
};

/// One open progress stream, read event by event.
struct Progress(SseReader);

impl Progress {
    /// Opens the stream of `ids` on the catalogue at `base` (`http://host:port`).
    async fn open(world: &World, base: &str, token: Option<&str>, ids: &[&str]) -> Self {
        let mut request = world
            .http
            .get(format!("{base}/api/media/progress?ids={}", ids.join(",")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("catalog answers");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[reqwest::header::CONTENT_TYPE],
            "text/event-stream"
        );
        Self(SseReader::new(response))
    }

    /// The data of the next `processing` event, or `None` when none comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        let (name, data) = self.0.next(wait).await?;
        assert_eq!(name, "processing", "an event of another name: {data}");
        Some(data)
    }

    /// Every event until `id` is `DONE` or `FAILED`; panics after `wait`.
    async fn until_finished(&mut self, id: &str, wait: Duration) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let event = self
                .next(wait)
                .await
                .unwrap_or_else(|| panic!("not finished in {wait:?}: {events:#?}"));
            assert_eq!(event["id"], id, "{event}");
            let status = event["processing"]["status"].clone();
            events.push(event);
            if status == "DONE" || status == "FAILED" {
                return events;
            }
        }
    }
}

/// The statuses of `events` without repeats, checking that percent never goes back.
fn steps(events: &[Value]) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    let mut percent = 0;
    for event in events {
        let processing = &event["processing"];
        let now = processing["percent"].as_u64().expect("a percent");
        assert!(now >= percent, "percent went back: {events:#?}");
        percent = now;
        let status = processing["status"].as_str().expect("a status").to_owned();
        if steps.last() != Some(&status) {
            steps.push(status);
        }
    }
    steps
}

/// Creates a video and uploads its bytes, without finalizing it; its id.
async fn uploaded_not_finalized(world: &World, token: &str, fields: Value, bytes: &[u8]) -> String {
    let created = world.create(token, fields).await;
    let put = put_signed(&world.http, &created["upload"]["request"], bytes.to_vec()).await;
    assert!(put.status().is_success(), "{:?}", put.text().await);
    created["media"]["id"].as_str().expect("id").to_owned()
}

async fn finalize(world: &World, token: &str, id: &str) {
    let (status, item) = world
        .json(
            Method::POST,
            &format!("/api/media/{id}/finalize"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
}

#[tokio::test]
async fn progress_is_pushed_from_finalize_to_done_by_every_replica() {
    let world = World::start().await;
    let owner = world.account().await;
    // A second replica on the same database, storage and NATS.
    let stop_second = CancellationToken::new();
    let second = ferrocast_catalog::start(world.catalog.config.clone(), stop_second.clone())
        .await
        .expect("a second replica starts");
    let second_base = format!("http://{}", second.http_addr);
    let first_base = world.catalog.url("");

    let bytes = clip::mp4(4);
    let id = uploaded_not_finalized(&world, &owner.token, video("Tide", &[], &bytes), &bytes).await;
    let mut streams = [
        Progress::open(&world, &first_base, Some(&owner.token), &[&id]).await,
        Progress::open(&world, &second_base, Some(&owner.token), &[&id]).await,
    ];
    for stream in &mut streams {
        let first = stream.next(Duration::from_secs(5)).await;
        assert_eq!(
            first,
            Some(json!({"id": id, "processing": null})),
            "a first event with the state now: not finalized yet"
        );
    }

    // Finalized through the first replica: the second hears of PENDING only from it, and of
    // each report from whichever replica recorded it.
    finalize(&world, &owner.token, &id).await;
    let scratch = tempfile::tempdir().expect("scratch");
    let (stop_worker, worker) = worker(&world, scratch.path()).await;
    for (replica, stream) in streams.iter_mut().enumerate() {
        let events = stream.until_finished(&id, Duration::from_secs(90)).await;
        assert_eq!(
            steps(&events),
            ["PENDING", "IN PROGRESS", "DONE"],
            "replica {replica}: {events:#?}"
        );
        let done = &events.last().expect("an event")["processing"];
        assert_eq!(done["percent"], 100);
        assert_eq!(done["renditions"], json!(["360p", "240p"]));
        for url in ["hls_url", "dash_url", "poster_url", "thumbnails_url"] {
            let url = done[url].as_str().unwrap_or_default();
            assert!(
                url.starts_with(&format!("/api/media/{id}/vod/")),
                "replica {replica}: {done}"
            );
        }
        // The event is the item's processing as the REST API gives it.
        let (_, item) = world
            .json(
                Method::GET,
                &format!("/api/media/{id}"),
                Some(&owner.token),
                None,
            )
            .await;
        assert_eq!(&item["processing"], done);
    }

    // A page that reconnects now starts from the finished state.
    let mut again = Progress::open(&world, &second_base, Some(&owner.token), &[&id]).await;
    let first = again
        .next(Duration::from_secs(5))
        .await
        .expect("a first event");
    assert_eq!(first["processing"]["status"], "DONE");

    stop_worker.cancel();
    worker.wait().await;
    stop_second.cancel();
    second.wait().await;
}

#[tokio::test]
async fn progress_of_someone_elses_private_item_yields_nothing_not_even_a_first_event() {
    let world = World::start().await;
    let owner = world.account().await;
    let stranger = world.account().await;
    let base = world.catalog.url("");
    let public = world
        .upload(&owner.token, "Open sea", &[], &clip::mp4(1))
        .await;
    let public = public["id"].as_str().expect("id").to_owned();
    let bytes = clip::mp4(1);
    let mut private_fields = video("Diary", &[], &bytes);
    private_fields["visibility"] = json!("private");
    let private = uploaded_not_finalized(&world, &owner.token, private_fields, &bytes).await;

    let mut own = Progress::open(&world, &base, Some(&owner.token), &[&private]).await;
    let mut strangers =
        Progress::open(&world, &base, Some(&stranger.token), &[&private, &public]).await;
    let mut anonymous = Progress::open(&world, &base, None, &[&private]).await;
    let first = strangers.next(Duration::from_secs(5)).await;
    assert_eq!(
        first
            .as_ref()
            .map(|e| (&e["id"], &e["processing"]["status"])),
        Some((&json!(public), &json!("PENDING"))),
        "only the public item: {first:?}"
    );
    let own_first = own.next(Duration::from_secs(5)).await.expect("the owner's");
    assert_eq!(own_first, json!({"id": private, "processing": null}));

    // The private item changes: its owner hears of it, nobody else does.
    finalize(&world, &owner.token, &private).await;
    let pending = own.next(Duration::from_secs(5)).await.expect("the owner's");
    assert_eq!(pending["processing"]["status"], "PENDING");
    for (who, stream) in [("stranger", &mut strangers), ("anonymous", &mut anonymous)] {
        let leaked = stream.next(Duration::from_millis(1500)).await;
        assert_eq!(leaked, None, "{who} heard of the private item");
    }
}

#[tokio::test]
async fn progress_of_a_replicas_own_changes_reaches_its_streams_without_nats() {
    let nowhere = format!("nats://127.0.0.1:{}", ferrocast_testkit::free_port());
    let world =
        World::start_with(|config| config.queue = ferrocast_catalog::config::Nats::new(nowhere))
            .await;
    let owner = world.account().await;
    let bytes = clip::mp4(1);
    let id = uploaded_not_finalized(&world, &owner.token, video("Calm", &[], &bytes), &bytes).await;
    let base = world.catalog.url("");
    let mut stream = Progress::open(&world, &base, Some(&owner.token), &[&id]).await;
    let first = stream.next(Duration::from_secs(5)).await;
    assert_eq!(first, Some(json!({"id": id, "processing": null})));
    finalize(&world, &owner.token, &id).await;
    let pending = stream.next(Duration::from_secs(5)).await.expect("pushed");
    assert_eq!(pending["processing"]["status"], "PENDING");
}

#[tokio::test]
async fn progress_streams_refuse_missing_malformed_or_too_many_ids_with_400() {
    let world = World::start().await;
    let many: Vec<String> = (0..51).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let too_many = format!("?ids={}", many.join(","));
    let one_bad = format!("?ids={},../x", uuid::Uuid::new_v4());
    for (query, says) in [
        ("", "name the items"),
        ("?ids=", "name the items"),
        ("?ids=not-an-id", "not a media id"),
        (one_bad.as_str(), "not a media id"),
        (too_many.as_str(), "at most 50"),
    ] {
        let (status, body) = world
            .json(
                Method::GET,
                &format!("/api/media/progress{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{query}: {message}");
    }
    let (status, _) = world
        .json(
            Method::GET,
            &format!("/api/media/progress?ids={}", uuid::Uuid::new_v4()),
            Some("not-a-token"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bad token is not ignored"
    );
}
