//! Playback sessions against real Redis, with two catalogue replicas where it matters: the
//! account's slots are decided atomically whichever replica asks, decisions are pushed to the
//! account's event streams on every replica, leases lapse, and any device of the account can
//! end any of its sessions.

use std::time::Duration;

use ferrocast_testkit::clip;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{
    processing::{processing, worker},
    support::{SseReader, World},
};

/// One account's playback event stream, read event by event.
pub struct Events(SseReader);

impl Events {
    pub async fn open(world: &World, base: &str, token: &str) -> Self {
        let response = world
            .http
            .get(format!("{base}/api/playback/events"))
            .bearer_auth(token)
            .send()
            .await
            .expect("catalog answers");
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = Self(SseReader::new(response));
        let (name, _) = events
            .next(Duration::from_secs(5))
            .await
            .expect("a snapshot");
        assert_eq!(name, "snapshot");
        events
    }

    /// The next event's name and data, or `None` when none comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<(String, Value)> {
        self.0.next(wait).await
    }

    /// Events until `done` says so; panics after `wait`.
    pub async fn until(
        &mut self,
        wait: Duration,
        mut done: impl FnMut(&[(String, Value)]) -> bool,
    ) -> Vec<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut seen = Vec::new();
        while !done(&seen) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(event) => seen.push(event),
                None => panic!("not there in {wait:?}: {seen:#?}"),
            }
        }
        seen
    }
}

/// A playable video of `token`'s account (processed by a worker that stops afterwards).
pub async fn playable_video(world: &World, token: &str, fields: Value) -> String {
    let bytes = clip::mp4(1);
    let mut fields = fields;
    fields["size"] = json!(bytes.len());
    fields["sha256"] = json!(crate::support::sha256_hex(&bytes));
    let item = world.upload_as(token, fields, &bytes).await;
    let id = item["id"].as_str().expect("id").to_owned();
    let scratch = tempfile::tempdir().expect("scratch");
    let (stop, running) = worker(world, scratch.path()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = processing(world, Some(token), &id).await;
        if now["status"] == "DONE" {
            break;
        }
        assert_ne!(now["status"], "FAILED", "{now}");
        assert!(tokio::time::Instant::now() < deadline, "not done: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    running.wait().await;
    id
}

pub fn clip_fields(title: &str) -> Value {
    json!({"kind": "video", "title": title, "content_type": "video/mp4"})
}

async fn ask(
    world: &World,
    base: &str,
    token: &str,
    media: &str,
    wait: bool,
) -> (StatusCode, Value) {
    let response = world
        .http
        .post(format!("{base}/api/playback"))
        .bearer_auth(token)
        .json(&json!({"media_id": media, "device": "Test bench", "wait": wait}))
        .send()
        .await
        .expect("catalog answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn named<'a>(events: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, data)| data)
        .collect()
}

#[tokio::test]
async fn fifty_requests_at_once_on_two_replicas_get_exactly_the_limit_and_the_rest_wait_in_order() {
    let world = World::start_with(|config| config.playback.per_second = 1000).await;
    let viewer = world.account().await;
    let media = playable_video(&world, &viewer.token, clip_fields("Race")).await;
    let stop_second = CancellationToken::new();
    let second = ferrocast_catalog::start(world.catalog.config.clone(), stop_second.clone())
        .await
        .expect("a second replica starts");
    let bases = [
        world.catalog.url(""),
        format!("http://{}", second.http_addr),
    ];
    // A stream on each replica: both hear every decision, whichever replica made it.
    let mut streams = [
        Events::open(&world, &bases[0], &viewer.token).await,
        Events::open(&world, &bases[1], &viewer.token).await,
    ];

    for wait in [false, true] {
        let asks = (0..50).map(|i| ask(&world, &bases[i % 2], &viewer.token, &media, wait));
        let answers = futures::future::join_all(asks).await;
        assert!(
            answers
                .iter()
                .all(|(status, _)| *status == StatusCode::ACCEPTED),
            "{answers:?}"
        );
        for stream in &mut streams {
            let events = stream
                .until(Duration::from_secs(10), |seen| {
                    named(seen, "granted").len()
                        + named(seen, "denied").len()
                        + named(seen, "queued").len()
                        >= 50
                })
                .await;
            assert_eq!(named(&events, "granted").len(), 3, "wait={wait}");
            if wait {
                let mut positions: Vec<u64> = named(&events, "queued")
                    .iter()
                    .map(|q| q["position"].as_u64().expect("position"))
                    .collect();
                positions.sort_unstable();
                assert_eq!(positions, (1..=47).collect::<Vec<_>>(), "one place each");
            } else {
                let denied = named(&events, "denied");
                assert_eq!(denied.len(), 47);
                assert_eq!(denied[0]["reason"], "limit_reached");
                assert_eq!(denied[0]["limit"], 3);
                assert_eq!(denied[0]["active"].as_array().map(Vec::len), Some(3));
            }
        }
        let (status, list) = world
            .json(Method::GET, "/api/playback", Some(&viewer.token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let sessions = list["sessions"].as_array().expect("sessions").clone();
        assert_eq!(sessions.len(), 3, "{list}");
        assert_eq!(
            list["queued"].as_array().map(Vec::len),
            Some(if wait { 47 } else { 0 })
        );
        if wait {
            // A slot freed: the first in line gets it, pushed, and everyone moves up.
            let first_in_line = list["queued"][0]["request_id"].clone();
            let ended = sessions[0]["session_id"].as_str().expect("id");
            let gone = world
                .call(
                    Method::DELETE,
                    &format!("/api/playback/{ended}"),
                    Some(&viewer.token),
                    None,
                )
                .await;
            assert_eq!(gone.status(), StatusCode::NO_CONTENT);
            let events = streams[1]
                .until(Duration::from_secs(5), |seen| {
                    !named(seen, "granted").is_empty()
                })
                .await;
            let granted = named(&events, "granted")[0];
            assert_eq!(granted["request_id"], first_in_line);
            assert!(granted["token"].is_string());
            let lease_ms = world.catalog.config.playback.lease.as_millis();
            assert_eq!(granted["lease_ms"].as_u64().map(u128::from), Some(lease_ms));
            assert!(named(&events, "ended")
                .iter()
                .any(|e| e["session_id"] == ended && e["reason"] == "ended_elsewhere"));
            // The last in line gives up: every stream of the account hears it.
            let last_in_line = list["queued"][46]["request_id"].as_str().expect("id");
            let withdrawn = world
                .call(
                    Method::POST,
                    &format!("/api/playback/{last_in_line}/stop"),
                    Some(&viewer.token),
                    None,
                )
                .await;
            assert_eq!(withdrawn.status(), StatusCode::NO_CONTENT);
            let events = streams[0]
                .until(Duration::from_secs(5), |seen| {
                    named(seen, "ended")
                        .iter()
                        .any(|e| e["session_id"] == last_in_line)
                })
                .await;
            assert!(named(&events, "ended")
                .iter()
                .any(|e| e["session_id"] == last_in_line && e["reason"] == "stopped"));
        } else {
            for session in &sessions {
                let id = session["session_id"].as_str().expect("id");
                let gone = world
                    .call(
                        Method::POST,
                        &format!("/api/playback/{id}/stop"),
                        Some(&viewer.token),
                        None,
                    )
                    .await;
                assert_eq!(gone.status(), StatusCode::NO_CONTENT);
            }
            for stream in &mut streams {
                stream
                    .until(Duration::from_secs(5), |seen| {
                        named(seen, "ended").len() >= 3
                    })
                    .await;
            }
        }
    }
    stop_second.cancel();
    second.wait().await;
}

#[tokio::test]
async fn a_session_that_stops_heartbeating_frees_its_slot_for_the_next_in_line() {
    let world = World::start_with(|config| {
        config.playback.limit = 1;
        config.playback.lease = Duration::from_secs(2);
    })
    .await;
    let viewer = world.account().await;
    let media = playable_video(&world, &viewer.token, clip_fields("Lapse")).await;
    let base = world.catalog.url("");
    let mut events = Events::open(&world, &base, &viewer.token).await;
    ask(&world, &base, &viewer.token, &media, false).await;
    let granted = events
        .until(Duration::from_secs(5), |seen| {
            !named(seen, "granted").is_empty()
        })
        .await;
    let first = named(&granted, "granted")[0]["request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, waiting) = ask(&world, &base, &viewer.token, &media, true).await;
    let waiting = waiting["request_id"].clone();
    // Heartbeats keep the first session past its lease; the second waits.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (status, beat) = world
            .json(
                Method::POST,
                &format!("/api/playback/{first}/heartbeat"),
                Some(&viewer.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{beat}");
    }
    let (_, list) = world
        .json(Method::GET, "/api/playback", Some(&viewer.token), None)
        .await;
    assert_eq!(list["queued"][0]["request_id"], waiting, "{list}");
    // Silence: within the lease and a sweep, the slot goes to the one waiting, pushed.
    let started = tokio::time::Instant::now();
    let events = events
        .until(Duration::from_secs(5), |seen| {
            named(seen, "granted")
                .iter()
                .any(|g| g["request_id"] == waiting)
        })
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(3500),
        "{:?}",
        started.elapsed()
    );
    assert!(named(&events, "ended")
        .iter()
        .any(|e| e["session_id"] == first.as_str() && e["reason"] == "lapsed"));
    let (status, _) = world
        .json(
            Method::POST,
            &format!("/api/playback/{first}/heartbeat"),
            Some(&viewer.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "a lapsed session stays ended");
}

#[tokio::test]
async fn another_device_of_the_account_ends_a_session_and_takes_the_slot() {
    let world = World::start_with(|config| config.playback.limit = 1).await;
    let viewer = world.account().await;
    let media = playable_video(&world, &viewer.token, clip_fields("Sofa")).await;
    let base = world.catalog.url("");
    let mut events = Events::open(&world, &base, &viewer.token).await;
    ask(&world, &base, &viewer.token, &media, false).await;
    ask(&world, &base, &viewer.token, &media, false).await;
    let seen = events
        .until(Duration::from_secs(5), |seen| {
            !named(seen, "granted").is_empty() && !named(seen, "denied").is_empty()
        })
        .await;
    let tv = named(&seen, "granted")[0]["request_id"].clone();
    let denied = named(&seen, "denied")[0];
    assert_eq!(denied["active"][0]["session_id"], tv, "{denied}");
    assert_eq!(denied["active"][0]["device"], "Test bench");
    assert_eq!(denied["active"][0]["title"], "Sofa");
    let ended = world
        .call(
            Method::DELETE,
            &format!("/api/playback/{}", tv.as_str().expect("id")),
            Some(&viewer.token),
            None,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let seen = events
        .until(Duration::from_secs(5), |seen| {
            !named(seen, "ended").is_empty()
        })
        .await;
    assert_eq!(
        named(&seen, "ended")[0],
        &json!({"session_id": tv, "reason": "ended_elsewhere"})
    );
    let (status, _) = world
        .json(
            Method::POST,
            &format!("/api/playback/{}/heartbeat", tv.as_str().expect("id")),
            Some(&viewer.token),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "the ended player stops at its next heartbeat"
    );
    ask(&world, &base, &viewer.token, &media, false).await;
    events
        .until(Duration::from_secs(5), |seen| {
            !named(seen, "granted").is_empty()
        })
        .await;
}

#[tokio::test]
async fn bad_playback_requests_are_refused_and_a_flood_from_one_account_spares_the_others() {
    let world = World::start().await;
    let owner = world.account().await;
    let other = world.account().await;
    let mut private = clip_fields("Diary");
    private["visibility"] = json!("private");
    let secret = playable_video(&world, &owner.token, private).await;
    let public = playable_video(&world, &owner.token, clip_fields("Open")).await;
    let base = world.catalog.url("");

    for (token, media, status) in [
        (
            Some(&other.token),
            uuid::Uuid::new_v4().to_string(),
            StatusCode::NOT_FOUND,
        ),
        (Some(&other.token), secret.clone(), StatusCode::NOT_FOUND),
        (
            Some(&other.token),
            "not-an-id".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (None, public.clone(), StatusCode::UNAUTHORIZED),
    ] {
        let mut request = world
            .http
            .post(format!("{base}/api/playback"))
            .json(&json!({"media_id": media}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_eq!(
            request.send().await.expect("answers").status(),
            status,
            "{media}"
        );
    }
    let (status, _) = world
        .json(
            Method::POST,
            "/api/playback",
            Some(&other.token),
            Some(json!({"media_id": public, "extra": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for path in [
        format!("/api/playback/{}/heartbeat", uuid::Uuid::new_v4()),
        "/api/playback/nonsense/heartbeat".to_owned(),
    ] {
        let (status, _) = world
            .json(Method::POST, &path, Some(&other.token), None)
            .await;
        assert_eq!(status, StatusCode::GONE, "{path}");
    }
    let (status, _) = world
        .json(
            Method::DELETE,
            &format!("/api/playback/{}", uuid::Uuid::new_v4()),
            Some(&other.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A flood from one account: past 10 a second it is refused; another account is not.
    let flood = (0..200).map(|_| ask(&world, &base, &owner.token, &public, false));
    let answers = futures::future::join_all(flood).await;
    let limited = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 150, "{limited} of 200 refused");
    let (status, _) = ask(&world, &base, &other.token, &public, false).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "another account is unaffected"
    );
}

/// A live session of `token`'s account on `media` (a free slot is granted at once): its token.
pub async fn session_token(world: &World, token: &str, media: &str) -> String {
    let (status, asked) = ask(world, &world.catalog.url(""), token, media, false).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    let (_, list) = world
        .json(Method::GET, "/api/playback", Some(token), None)
        .await;
    list["sessions"]
        .as_array()
        .and_then(|sessions| {
            sessions
                .iter()
                .find(|s| s["session_id"] == asked["request_id"])
        })
        .and_then(|s| s["token"].as_str())
        .unwrap_or_else(|| panic!("no session granted: {list}"))
        .to_owned()
}
