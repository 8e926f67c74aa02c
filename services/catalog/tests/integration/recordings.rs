//! Past broadcasts from the catalogue's side: the ingest's internal routes want the service
//! token; a recording registered twice is one video; it goes up and is finalized like any
//! upload, owned by the streamer with the `past-broadcast` tag; an owner who opted out gets none;
//! why a recording stopped reaches the owner's list; a settings change keeps what it leaves out.

use ferrocast_testkit::platform::SERVICE_TOKEN;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{mp4_bytes, put_signed, sha256_hex, World};

/// `POST /internal/recordings/{id}/{action}` with `token` and the owner's names.
async fn internal(
    world: &World,
    token: Option<&str>,
    id: &str,
    action: &str,
    owner: &ferrocast_testkit::Account,
    extra: Value,
) -> (StatusCode, Value) {
    let mut body = json!({ "user_id": owner.user_id, "username": owner.username });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let mut request = world
        .http
        .post(
            world
                .catalog
                .url(&format!("/internal/recordings/{id}/{action}")),
        )
        .json(&body);
    if let Some(token) = token {
        request = request.header("x-service-token", token);
    }
    let response = request.send().await.expect("catalogue answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn finished(bytes: &[u8]) -> Value {
    json!({
        "stream_title": "Speedrun practice",
        "started_at": "2026-12-07T15:40:12Z",
        "size": bytes.len(),
        "sha256": sha256_hex(bytes),
    })
}

#[tokio::test]
async fn a_recording_registered_twice_is_one_past_broadcast_of_its_streamer() {
    let world = World::start().await;
    let streamer = world.account().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let bytes = mp4_bytes(4096, 7);

    // Without the service token, or with another, nothing answers.
    for token in [
        None,
        Some("not the service token, but long enough to be one"),
    ] {
        for action in ["begin", "stopped", "register", "parts", "finalize"] {
            let (status, body) =
                internal(&world, token, &id, action, &streamer, finished(&bytes)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{action}: {body}");
        }
    }

    let (status, begun) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "begin",
        &streamer,
        json!({}),
    )
    .await;
    assert_eq!((status, begun), (StatusCode::OK, json!({ "record": true })));
    let (status, first) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "register",
        &streamer,
        finished(&bytes),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // A retry after a lost answer: the same video, signed anew.
    let (status, second) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "register",
        &streamer,
        finished(&bytes),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(first["media"]["id"], second["media"]["id"]);
    assert_eq!(second["upload"]["method"], "put");

    let put = put_signed(&world.http, &second["upload"]["request"], bytes.clone()).await;
    assert!(put.status().is_success(), "{}", put.status());
    let (status, media) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "finalize",
        &streamer,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{media}");
    assert_eq!(media["status"], "uploaded");
    assert_eq!(media["owner"], streamer.username.as_str());
    assert_eq!(media["tags"], json!(["past-broadcast"]));
    assert_eq!(media["title"], "Speedrun practice — 2026-12-07 15:40 UTC");
    // Registered again after finalize: the video as it is, nothing to upload.
    let (status, again) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "register",
        &streamer,
        finished(&bytes),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["media"]["id"], media["id"]);
    assert!(again["upload"].is_null(), "{again}");

    let (status, mine) = world
        .json(
            Method::GET,
            &format!("/api/media?owner={}&tags=past-broadcast", streamer.username),
            Some(&streamer.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");

    // Someone else naming this recording id finds nothing.
    let stranger = world.account().await;
    let (status, _) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "finalize",
        &stranger,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_owner_who_opted_out_gets_no_past_broadcast_and_sees_why_one_stopped() {
    let world = World::start().await;
    let streamer = world.account().await;
    let token = Some(streamer.token.as_str());
    let (status, settings) = world
        .json(Method::GET, "/api/media/settings", token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        settings,
        json!({ "encrypt_videos": false, "save_past_broadcasts": true })
    );

    // A recording that stopped at its budget: the owner's list says why.
    let id = uuid::Uuid::new_v4().simple().to_string();
    let reason = "the recording reached its disk budget (1 MiB); the stream goes on unrecorded";
    let (status, _) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &id,
        "stopped",
        &streamer,
        json!({ "reason": reason }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, recent) = world
        .json(Method::GET, "/api/media/recordings", token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{recent}");
    assert_eq!(recent["recordings"][0]["recording_id"], id.as_str());
    assert_eq!(recent["recordings"][0]["stopped_reason"], reason);
    let (status, _) = world
        .json(Method::GET, "/api/media/recordings", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Opting out keeps the other setting as it was.
    let (status, saved) = world
        .json(
            Method::PUT,
            "/api/media/settings",
            token,
            Some(json!({ "save_past_broadcasts": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved,
        json!({ "encrypt_videos": false, "save_past_broadcasts": false })
    );
    let other = uuid::Uuid::new_v4().simple().to_string();
    let (status, begun) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &other,
        "begin",
        &streamer,
        json!({}),
    )
    .await;
    assert_eq!(
        (status, begun),
        (StatusCode::OK, json!({ "record": false }))
    );
    let bytes = mp4_bytes(1024, 3);
    let (status, refused) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &other,
        "register",
        &streamer,
        finished(&bytes),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (_, mine) = world
        .json(
            Method::GET,
            &format!("/api/media?owner={}", streamer.username),
            token,
            None,
        )
        .await;
    assert_eq!(mine["items"], json!([]), "{mine}");
}

/// A recording the catalogue cannot take (over the owner's quota, larger than an upload may be)
/// makes no video, and the owner's list says why.
#[tokio::test]
async fn a_recording_over_the_quota_or_the_upload_limit_is_refused_and_the_owner_sees_why() {
    let world = World::start_with(|config| {
        config.uploads.max_size = 8 * 1024;
        config.uploads.quota = 12 * 1024;
    })
    .await;
    let streamer = world.account().await;
    let kept = mp4_bytes(6 * 1024, 1);
    let over_quota = mp4_bytes(7 * 1024, 2);
    let too_large = mp4_bytes(9 * 1024, 3);
    let ids: Vec<String> = (0..3)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();

    let (status, first) = internal(
        &world,
        Some(SERVICE_TOKEN),
        &ids[0],
        "register",
        &streamer,
        finished(&kept),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    for (id, bytes, code) in [
        (&ids[1], &over_quota, "quota_exceeded"),
        (&ids[2], &too_large, "too_large"),
    ] {
        let (status, refused) = internal(
            &world,
            Some(SERVICE_TOKEN),
            id,
            "register",
            &streamer,
            finished(bytes),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
        assert_eq!(refused["error"]["code"], code, "{refused}");
    }

    let (status, recent) = world
        .json(
            Method::GET,
            "/api/media/recordings",
            Some(&streamer.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{recent}");
    let reason = |id: &str| {
        recent["recordings"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["recording_id"] == id))
            .map(|r| (r["refused_reason"].clone(), r["media_id"].clone()))
    };
    assert_eq!(reason(&ids[0]).map(|r| r.0), Some(Value::Null), "{recent}");
    let (quota, media) = reason(&ids[1]).expect("listed");
    assert!(
        quota.as_str().is_some_and(|r| r.contains("quota")),
        "{recent}"
    );
    assert!(media.is_null(), "{recent}");
    let (large, _) = reason(&ids[2]).expect("listed");
    assert!(
        large.as_str().is_some_and(|r| r.contains("8192")),
        "{recent}"
    );
    let (_, mine) = world
        .json(
            Method::GET,
            &format!("/api/media?owner={}", streamer.username),
            Some(&streamer.token),
            None,
        )
        .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");
}
