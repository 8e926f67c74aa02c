//! The upload path end to end: presigned PUT and multipart straight to storage, finalize, the
//! original download, and every way an upload can be wrong.

use std::time::Duration;

use ferrocast_catalog::{domain::MediaId, ports::ObjectStore};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{mp4_bytes, put_signed, sha256_hex, video, World};

fn id_of(created: &Value) -> String {
    created["media"]["id"].as_str().expect("id").to_owned()
}

async fn stored(world: &World, id: &str) -> bool {
    let id = MediaId::parse(id).expect("uuid");
    world
        .catalog
        .objects()
        .head(&id.original_key())
        .await
        .expect("storage answers")
        .is_some()
}

#[tokio::test]
async fn a_presigned_put_then_finalize_makes_an_uploaded_item_whose_original_downloads() {
    let world = World::start().await;
    let owner = world.account().await;
    let bytes = mp4_bytes(200_000, 1);
    let created = world
        .create(&owner.token, video("First clip", &["Rust", "obs"], &bytes))
        .await;
    assert_eq!(created["media"]["status"], "awaiting_upload");
    assert_eq!(created["upload"]["method"], "put");
    let signed = &created["upload"]["request"];
    let url = signed["url"].as_str().expect("url");
    assert!(
        url.starts_with(world.catalog.storage.endpoint()),
        "bytes go straight to storage: {url}"
    );
    assert!(
        !url.contains(world.catalog.storage.secret_key()),
        "no secret in the URL"
    );
    let signed_headers = url
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-SignedHeaders="))
        .expect("signed headers")
        .to_owned();
    for header in ["content-length", "x-amz-checksum-sha256"] {
        assert!(
            signed_headers.contains(header),
            "{header} is signed: {signed_headers}"
        );
    }

    let id = id_of(&created);
    let put = put_signed(&world.http, signed, bytes.clone()).await;
    assert!(put.status().is_success(), "{:?}", put.text().await);
    let path = format!("/api/media/{id}/finalize");
    let (status, item) = world
        .json(Method::POST, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["status"], "uploaded");
    assert_eq!(item["tags"], json!(["rust", "obs"]));
    assert_eq!(item["owner"], owner.username);
    // A second finalize changes nothing and says so the same way.
    let (status, again) = world
        .json(Method::POST, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["uploaded_at"], item["uploaded_at"]);

    let original = world.download_original(&owner.token, &id).await;
    assert_eq!(original.status(), StatusCode::OK);
    assert!(original
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("First_clip.mp4")));
    assert_eq!(original.bytes().await.expect("body").as_ref(), &bytes[..]);
}

#[tokio::test]
async fn storage_refuses_bytes_other_than_the_declared_ones_and_finalize_explains() {
    let world = World::start().await;
    let owner = world.account().await;
    let bytes = mp4_bytes(50_000, 2);
    let created = world
        .create(&owner.token, video("Declared", &[], &bytes))
        .await;
    let id = id_of(&created);
    let finalize = format!("/api/media/{id}/finalize");

    // Finalize before any upload: nothing to check yet.
    let (status, body) = world
        .json(Method::POST, &finalize, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "not_uploaded");

    // Same length, other bytes: the signed checksum does not match.
    let mut other = bytes.clone();
    other[100] ^= 0xff;
    let put = put_signed(&world.http, &created["upload"]["request"], other).await;
    assert!(put.status().is_client_error(), "{}", put.status());
    // Other length: the signed length does not match.
    let put = put_signed(
        &world.http,
        &created["upload"]["request"],
        bytes[..bytes.len() - 1].to_vec(),
    )
    .await;
    assert!(put.status().is_client_error(), "{}", put.status());
    assert!(!stored(&world, &id).await, "nothing was stored");
    let (status, _) = world
        .json(Method::POST, &finalize, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A tampered signature.
    let mut tampered = created["upload"]["request"].clone();
    let url = tampered["url"].as_str().expect("url").to_owned();
    let at = url.find("X-Amz-Signature=").expect("signature") + "X-Amz-Signature=".len();
    let flipped = if &url[at..=at] == "0" { "1" } else { "0" };
    tampered["url"] = json!(format!("{}{flipped}{}", &url[..at], &url[at + 1..]));
    let put = put_signed(&world.http, &tampered, bytes.clone()).await;
    assert_eq!(put.status(), StatusCode::FORBIDDEN);

    // The right bytes still go up afterwards.
    let put = put_signed(&world.http, &created["upload"]["request"], bytes).await;
    assert!(put.status().is_success());
    let (status, item) = world
        .json(Method::POST, &finalize, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
}

#[tokio::test]
async fn an_expired_upload_url_is_refused_and_the_sweeper_removes_the_unfinished_item() {
    let world = World::start_with(|config| {
        config.uploads.url_ttl = Duration::from_secs(1);
        config.uploads.expiry = Duration::from_secs(1);
        config.uploads.sweep_interval = Duration::from_secs(1);
    })
    .await;
    let owner = world.account().await;
    let bytes = mp4_bytes(10_000, 3);
    let created = world.create(&owner.token, video("Late", &[], &bytes)).await;
    let id = id_of(&created);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let put = put_signed(&world.http, &created["upload"]["request"], bytes).await;
    assert_eq!(put.status(), StatusCode::FORBIDDEN, "an expired URL");
    let gone = ferrocast_testkit::eventually(Duration::from_secs(10), || async {
        let (status, _) = world
            .json(
                Method::GET,
                &format!("/api/media/{id}"),
                Some(&owner.token),
                None,
            )
            .await;
        status == StatusCode::NOT_FOUND
    })
    .await;
    assert!(gone, "the sweeper removed the unfinished item");
}

#[tokio::test]
async fn bytes_that_are_not_what_the_type_claims_are_removed_at_finalize() {
    let world = World::start().await;
    let owner = world.account().await;
    let page = b"<!doctype html><script>alert(1)</script>".repeat(20);
    let created = world
        .create(&owner.token, video("Not a video", &[], &page))
        .await;
    let id = id_of(&created);
    let put = put_signed(&world.http, &created["upload"]["request"], page).await;
    assert!(
        put.status().is_success(),
        "storage takes the declared bytes"
    );
    assert!(stored(&world, &id).await);
    let (status, body) = world
        .json(
            Method::POST,
            &format!("/api/media/{id}/finalize"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "upload_refused");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("video/mp4")),
        "{body}"
    );
    assert!(!stored(&world, &id).await, "the object is gone");
    let (status, _) = world
        .json(
            Method::GET,
            &format!("/api/media/{id}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "and so is the record");
    let metrics = world
        .http
        .get(world.catalog.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("catalog_uploads_refused_total{reason=\"content\"}"),
        "refusals are counted by reason"
    );
    assert!(metrics.contains("catalog_uploads_started_total"));
}

#[tokio::test]
async fn big_files_go_up_in_parts_each_bound_to_its_digest() {
    let world = World::start().await;
    let owner = world.account().await;
    // Test config: multipart above 1 MiB, parts of 5 MiB.
    let bytes = mp4_bytes(6 * 1024 * 1024, 4);
    let created = world
        .create(&owner.token, video("Long take", &[], &bytes))
        .await;
    assert_eq!(created["upload"]["method"], "multipart", "{created}");
    let part_size = created["upload"]["part_size"].as_u64().expect("part size") as usize;
    assert_eq!(created["upload"]["parts"], 2);
    let id = id_of(&created);
    let parts: Vec<&[u8]> = bytes.chunks(part_size).collect();
    let digests: Vec<Value> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| json!({"number": i + 1, "sha256": sha256_hex(part)}))
        .collect();
    let (status, urls) = world
        .json(
            Method::POST,
            &format!("/api/media/{id}/parts"),
            Some(&owner.token),
            Some(json!({ "parts": digests })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{urls}");

    // Finalize with a part missing: not uploaded yet.
    let first = &urls["parts"][0]["request"];
    let put = put_signed(&world.http, first, parts[0].to_vec()).await;
    assert!(put.status().is_success(), "{:?}", put.text().await);
    let finalize = format!("/api/media/{id}/finalize");
    let (status, body) = world
        .json(Method::POST, &finalize, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The second part with other bytes is refused by storage; with its own bytes it goes.
    let second = &urls["parts"][1]["request"];
    let mut wrong = parts[1].to_vec();
    wrong[0] ^= 1;
    let put = put_signed(&world.http, second, wrong).await;
    assert!(put.status().is_client_error(), "{}", put.status());
    let put = put_signed(&world.http, second, parts[1].to_vec()).await;
    assert!(put.status().is_success(), "{:?}", put.text().await);

    let (status, item) = world
        .json(Method::POST, &finalize, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["status"], "uploaded");
    let original = world
        .download_original(&owner.token, &id)
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(sha256_hex(&original), sha256_hex(&bytes), "parts in order");

    // A part URL for a finalized upload, or a part that does not exist, is refused.
    let (status, _) = world
        .json(
            Method::POST,
            &format!("/api/media/{id}/parts"),
            Some(&owner.token),
            Some(json!({"parts": [{"number": 1, "sha256": sha256_hex(parts[0])}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn sizes_types_and_quota_are_checked_before_anything_is_signed() {
    let world = World::start_with(|config| {
        config.uploads.max_size = 8 * 1024 * 1024;
        config.uploads.quota = 10 * 1024 * 1024;
    })
    .await;
    let owner = world.account().await;
    let token = Some(owner.token.as_str());
    let body = |size: u64, content_type: &str, kind: &str| {
        json!({"kind": kind, "title": "t", "size": size, "content_type": content_type,
            "sha256": sha256_hex(b"x")})
    };
    let cases = [
        (
            body(9 * 1024 * 1024, "video/mp4", "video"),
            413,
            "too_large",
        ),
        (body(0, "video/mp4", "video"), 422, "validation"),
        (body(10, "text/html", "video"), 415, "unsupported_type"),
        (
            body(10, "application/x-sh", "image"),
            415,
            "unsupported_type",
        ),
        (body(10, "image/png", "video"), 422, "validation"),
    ];
    for (request, status, code) in cases {
        let (got, answer) = world
            .json(Method::POST, "/api/media", token, Some(request.clone()))
            .await;
        assert_eq!(got.as_u16(), status, "{request} → {answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    // Quota: 6 MiB + 6 MiB > 10 MiB, counted whether or not the first was uploaded.
    let first = body(6 * 1024 * 1024, "video/mp4", "video");
    let (status, _) = world
        .json(Method::POST, "/api/media", token, Some(first.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = world
        .json(Method::POST, "/api/media", token, Some(first))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"]["code"], "quota_exceeded");
    // Someone else has their own quota.
    let other = world.account().await;
    let (status, _) = world
        .json(
            Method::POST,
            "/api/media",
            Some(&other.token),
            Some(body(6 * 1024 * 1024, "video/mp4", "video")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
