//! Who may see and change what: private items do not exist for others, writes are the owner's,
//! and what a client writes is checked.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{mp4_bytes, World};

#[tokio::test]
async fn private_items_are_not_found_by_others_and_only_owners_write() {
    let world = World::start().await;
    let owner = world.account().await;
    let stranger = world.account().await;
    let item = world
        .upload(
            &owner.token,
            "Secret draft",
            &["draft"],
            &mp4_bytes(5_000, 7),
        )
        .await;
    let id = item["id"].as_str().expect("id");
    let path = format!("/api/media/{id}");

    // Public: anyone reads, only the owner writes.
    let (status, _) = world.json(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, suffix, body) in [
        (Method::PATCH, "", Some(json!({"title": "mine now"}))),
        (Method::DELETE, "", None),
        (Method::POST, "/finalize", None),
        (Method::GET, "/original", None),
    ] {
        let (status, answer) = world
            .json(
                method.clone(),
                &format!("{path}{suffix}"),
                Some(&stranger.token),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {suffix}: {answer}");
    }
    let (status, _) = world
        .json(Method::PATCH, &path, None, Some(json!({"title": "x"})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = world
        .json(Method::GET, &path, Some("not-a-token"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bad token is not ignored"
    );

    // Private: 404 to everyone but the owner, for reads and writes alike.
    let (status, changed) = world
        .json(
            Method::PATCH,
            &path,
            Some(&owner.token),
            Some(json!({"visibility": "private", "tags": ["Draft", "wip"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["visibility"], "private");
    assert_eq!(changed["tags"], json!(["draft", "wip"]));
    for token in [None, Some(stranger.token.as_str())] {
        let (status, _) = world.json(Method::GET, &path, token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = world.json(Method::DELETE, &path, token, None).await;
        assert_ne!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = world
        .json(Method::DELETE, &path, Some(&stranger.token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = world
        .json(Method::GET, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // The owner deletes: record and bytes go.
    let (status, _) = world
        .json(Method::DELETE, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = world
        .json(Method::GET, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let key = ferrocast_catalog::domain::MediaId::parse(id)
        .expect("uuid")
        .original_key();
    use ferrocast_catalog::ports::ObjectStore;
    assert!(world
        .catalog
        .objects()
        .head(&key)
        .await
        .expect("storage answers")
        .is_none());
}

#[tokio::test]
async fn titles_descriptions_and_tags_outside_the_rules_are_refused_with_their_field() {
    let world = World::start().await;
    let owner = world.account().await;
    let base = crate::support::video("ok", &[], b"abc");
    let cases = [
        ("title", json!("")),
        ("title", json!("x".repeat(201))),
        ("title", json!("evil\u{202e}txt.exe")),
        ("title", json!("two\nlines")),
        ("description", json!("zero\u{200b}width")),
        ("description", json!("d".repeat(5001))),
        ("tags", json!([""])),
        ("tags", json!(["t".repeat(33)])),
        ("tags", json!(["bell\u{7}"])),
        (
            "tags",
            json!((0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()),
        ),
        ("sha256", json!("abc")),
    ];
    for (field, value) in cases {
        let mut request = base.clone();
        request[field] = value.clone();
        let (status, answer) = world
            .json(
                Method::POST,
                "/api/media",
                Some(&owner.token),
                Some(request),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {answer}"
        );
        assert!(
            answer["error"]["fields"][field].is_string(),
            "{field}={value}: {answer}"
        );
    }
    // Nothing was created by any of them.
    let (status, page) = world
        .json(
            Method::GET,
            &format!("/api/media?owner={}", owner.username),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"], json!([]));
    // A malformed body from a stranger is 401, not a lesson in the rules.
    let response = world
        .http
        .post(world.catalog.url("/api/media"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
