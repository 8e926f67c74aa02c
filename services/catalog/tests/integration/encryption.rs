//! Encrypted videos: packaged with their own key and key id (cbcs, every sample), the key
//! sealed at rest, handed out as a ClearKey licence against a live playback session only, and the media playlists
//! served in the form hls.js plays.

use std::{path::Path, process::Stdio, time::Duration};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use ferrocast_testkit::clip;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    playback::{clip_fields, playable_video, session_token},
    processing::{processing, queue_state, worker},
    support::{video, World},
};

#[tokio::test]
async fn an_encrypted_video_plays_only_with_its_key_which_only_a_live_session_of_it_gets() {
    let world = World::start().await;
    let owner = world.account().await;
    let stranger = world.account().await;
    let bytes = clip::mp4(4);
    let mut fields = video("Locked", &[], &bytes);
    fields["encrypt"] = json!(true);
    let item = world.upload_as(&owner.token, fields, &bytes).await;
    let id = item["id"].as_str().expect("id").to_owned();
    let key_id = item["encryption"]["key_id"]
        .as_str()
        .expect("an encrypted item names its key id")
        .to_owned();
    assert_eq!(key_id.len(), 32, "{item}");
    assert_eq!(item["encryption"]["scheme"], "cbcs");
    let licence_url = format!("/api/media/{id}/licence");
    assert_eq!(item["encryption"]["licence_url"], licence_url.as_str());

    let scratch = tempfile::tempdir().expect("scratch");
    let (stop, running) = worker(&world, scratch.path()).await;
    let done = done(&world, &id).await;

    // The licence: only against a live playback session of this video, for its key id only.
    let kid = hex::decode(&key_id).expect("hex");
    let request = json!({"kids": [URL_SAFE_NO_PAD.encode(&kid)], "type": "temporary"});
    let (status, _) = world
        .json(Method::POST, &licence_url, None, Some(request.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let own = session_token(&world, &owner.token, &id).await;
    let other_video = playable_video(&world, &owner.token, clip_fields("Other")).await;
    let other_session = session_token(&world, &owner.token, &other_video).await;
    let strangers = session_token(&world, &stranger.token, &id).await;
    let mut forged = own.clone();
    forged.replace_range(own.len() - 3.., "AAA");
    let ask_licence = |token: Option<String>, session: Option<String>| {
        let (world, licence_url, request) = (&world, &licence_url, request.clone());
        async move {
            let mut call = world
                .http
                .post(world.catalog.url(licence_url))
                .json(&request);
            if let Some(token) = token {
                call = call.bearer_auth(token);
            }
            if let Some(session) = session {
                call = call.header("x-playback-token", session);
            }
            call.send().await.expect("answers")
        }
    };
    for (who, session, why) in [
        (&owner.token, None, "no session"),
        (
            &owner.token,
            Some(other_session.clone()),
            "another video's session",
        ),
        (&owner.token, Some(forged), "a forged token"),
        (
            &owner.token,
            Some(strangers.clone()),
            "another account's session",
        ),
        (
            &stranger.token,
            Some(own.clone()),
            "another account's token",
        ),
    ] {
        let answer = ask_licence(Some(who.clone()), session).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{why}");
    }
    // Any signed-in viewer with a session of this public video gets its key.
    let answer = ask_licence(Some(stranger.token.clone()), Some(strangers.clone())).await;
    assert_eq!(answer.status(), StatusCode::OK);
    for bad in [
        json!({"kids": [URL_SAFE_NO_PAD.encode([0u8; 16])]}),
        json!({"kids": []}),
        json!({"kids": ["not base64url!"]}),
        json!(["no"]),
    ] {
        let (status, body) = world
            .json(Method::POST, &licence_url, Some(&owner.token), Some(bad))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let answer = ask_licence(Some(owner.token.clone()), Some(own.clone())).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[header::CACHE_CONTROL], "no-store");
    let licence: Value = answer.json().await.expect("json");
    assert_eq!(licence["type"], "temporary");
    assert_eq!(licence["keys"][0]["kty"], "oct");
    assert_eq!(
        licence["keys"][0]["kid"],
        URL_SAFE_NO_PAD.encode(&kid).as_str()
    );
    let key = URL_SAFE_NO_PAD
        .decode(licence["keys"][0]["k"].as_str().expect("k"))
        .expect("base64url");
    assert_eq!(key.len(), 16);
    let key_hex = hex::encode(&key);

    // Media playlists come rewritten for hls.js with EME ClearKey; the manifest names the key.
    let hls = done["hls_url"].as_str().expect("hls").to_owned();
    let base = hls.trim_end_matches("master.m3u8").to_owned();
    let playlist = text(&world, &format!("{base}360p.m3u8")).await;
    assert!(
        playlist.contains(&format!(
            "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,{}\",\
             KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"",
            STANDARD.encode(&kid)
        )),
        "{playlist}"
    );
    assert!(!playlist.contains("identity"), "{playlist}");
    let mpd = text(&world, done["dash_url"].as_str().expect("dash")).await;
    let dashed = format!(
        "{}-{}-{}-{}-{}",
        &key_id[..8],
        &key_id[8..12],
        &key_id[12..16],
        &key_id[16..20],
        &key_id[20..]
    );
    assert!(
        mpd.contains(&format!("cenc:default_KID=\"{dashed}\"")),
        "{mpd}"
    );
    assert!(mpd.contains("value=\"cbcs\""), "{mpd}");

    // The segments really are encrypted: without the key the picture does not decode, with
    // the licence's key every frame does.
    let rendition = scratch.path().join("360p.mp4");
    let mut joined = world
        .http
        .get(world.catalog.url(&format!("{base}360p/init.mp4")))
        .send()
        .await
        .expect("init")
        .bytes()
        .await
        .expect("bytes")
        .to_vec();
    for segment in playlist.lines().filter(|l| l.ends_with(".m4s")) {
        let bytes = world
            .http
            .get(world.catalog.url(&format!("{base}{segment}")))
            .send()
            .await
            .expect("segment")
            .bytes()
            .await
            .expect("bytes");
        joined.extend_from_slice(&bytes);
    }
    std::fs::write(&rendition, joined).expect("write");
    let (frames, errors) = decode(&rendition, None);
    assert!(
        errors > 0,
        "decoded cleanly without the key ({frames} frames)"
    );
    let (frames, errors) = decode(&rendition, Some(&key_hex));
    assert_eq!(errors, 0, "the licence's key does not decrypt");
    assert!(frames >= 90, "{frames} frames of a 4 s clip");

    // The key itself is in no answer but the licence, and at rest only sealed.
    for token in [None, Some(owner.token.as_str())] {
        let (_, item) = world
            .json(Method::GET, &format!("/api/media/{id}"), token, None)
            .await;
        let (_, page) = world.json(Method::GET, "/api/media", token, None).await;
        for answer in [item.to_string(), page.to_string()] {
            assert!(!answer.contains(&key_hex), "{answer}");
            assert!(!answer.contains(&URL_SAFE_NO_PAD.encode(&key)), "{answer}");
        }
    }
    let pool = sqlx::PgPool::connect(world.catalog.postgres.url())
        .await
        .expect("postgres");
    let (stored_kid, sealed): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT key_id, sealed_key FROM media WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .expect("row");
    assert_eq!(stored_kid, kid);
    assert!(
        !sealed.windows(16).any(|w| w == key.as_slice()),
        "the key is stored in the clear"
    );
    stop.cancel();
    running.wait().await;
}

#[tokio::test]
async fn owners_choose_encryption_per_upload_or_by_default() {
    let world = World::start().await;
    let owner = world.account().await;
    let bytes = clip::mp4(1);
    let (status, settings) = world
        .json(Method::GET, "/api/media/settings", Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        settings,
        json!({"encrypt_videos": false, "save_past_broadcasts": true})
    );
    let (status, _) = world
        .json(Method::GET, "/api/media/settings", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let plain = world
        .create(&owner.token, video("Plain", &[], &bytes))
        .await;
    assert!(plain["media"]["encryption"].is_null(), "{plain}");

    let (status, saved) = world
        .json(
            Method::PUT,
            "/api/media/settings",
            Some(&owner.token),
            Some(json!({"encrypt_videos": true})),
        )
        .await;
    assert_eq!(
        (status, &saved),
        (
            StatusCode::OK,
            &json!({"encrypt_videos": true, "save_past_broadcasts": true})
        )
    );
    let by_default = world
        .create(&owner.token, video("Default", &[], &bytes))
        .await;
    assert!(
        by_default["media"]["encryption"]["key_id"].is_string(),
        "{by_default}"
    );
    let mut fields = video("Opted out", &[], &bytes);
    fields["encrypt"] = json!(false);
    let opted_out = world.create(&owner.token, fields).await;
    assert!(opted_out["media"]["encryption"].is_null(), "{opted_out}");
    // Two videos never share a key id.
    let again = world
        .create(&owner.token, video("Default 2", &[], &bytes))
        .await;
    assert_ne!(
        again["media"]["encryption"]["key_id"],
        by_default["media"]["encryption"]["key_id"]
    );

    let image: &[u8] = b"\x89PNG\r\n\x1a\n an image";
    let (status, body) = world
        .json(
            Method::POST,
            "/api/media",
            Some(&owner.token),
            Some(json!({
                "kind": "image", "title": "Pixel", "size": image.len(),
                "sha256": crate::support::sha256_hex(image), "content_type": "image/png",
                "encrypt": true,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("only videos are encrypted"),
        "{body}"
    );

    // The licence of a video that is not encrypted.
    let id = plain["media"]["id"].as_str().expect("id");
    let (status, _) = world
        .json(
            Method::POST,
            &format!("/api/media/{id}/licence"),
            Some(&owner.token),
            Some(json!({"kids": [URL_SAFE_NO_PAD.encode([1u8; 16])]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn without_a_platform_key_encryption_is_refused_with_a_reason() {
    let world = World::start_with(|config| config.content_keys.secret = None).await;
    let owner = world.account().await;
    let bytes = clip::mp4(1);
    let mut fields = video("Locked", &[], &bytes);
    fields["encrypt"] = json!(true);
    let (status, body) = world
        .json(Method::POST, "/api/media", Some(&owner.token), Some(fields))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "encryption_unavailable", "{body}");
    let (status, _) = world
        .json(
            Method::PUT,
            "/api/media/settings",
            Some(&owner.token),
            Some(json!({"encrypt_videos": true})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // Clear videos are unaffected.
    world
        .create(&owner.token, video("Clear", &[], &bytes))
        .await;
}

async fn done(world: &World, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let now = processing(world, None, id).await;
        match now["status"].as_str() {
            Some("DONE") => return now,
            Some("FAILED") => panic!("processing failed: {now}"),
            _ => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not done in 90 s: {now}; {}",
            queue_state(world).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(world: &World, path: &str) -> String {
    let answer = world
        .http
        .get(world.catalog.url(path))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::OK, "{path}");
    answer.text().await.expect("text")
}

/// Frames decoded and decoder errors reported by ffmpeg for `file`, with `key` (hex) if any.
fn decode(file: &Path, key: Option<&str>) -> (usize, usize) {
    let mut command = std::process::Command::new("ffmpeg");
    command.args(["-nostdin", "-v", "error"]);
    if let Some(key) = key {
        command.args(["-decryption_key", key]);
    }
    let output = command
        .arg("-i")
        .arg(file)
        .args(["-map", "0:v", "-f", "framemd5", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg runs");
    let frames = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    let errors = String::from_utf8_lossy(&output.stderr).lines().count();
    (frames, errors)
}
