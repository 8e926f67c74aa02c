//! The streamer's journey end to end: signup → login → me → stream key → the key authenticates
//! over gRPC as that user; rotation retires the old key at once.

use ferrocast_proto::client::UsersAuthError;
use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{browser, platform::PASSWORD, Options, Platform};
use serde_json::Value;

use crate::start_users;

#[tokio::test]
async fn created_stream_key_authenticates_its_owner_over_grpc_and_rotation_retires_the_old_key() {
    let mut app = start_users().await;
    let username = ferrocast_testkit::unique_name("s_");
    let email = format!("{username}@example.com");

    let signup = app.signup(&username.to_uppercase(), &email, PASSWORD).await;
    assert_eq!(signup.status(), 201);
    let user: Value = signup.json().await.unwrap();
    assert_eq!(
        user["username"],
        username.as_str(),
        "username is case-folded"
    );
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    // Log in by email with a cookie-keeping client: the cookie alone authenticates `me`.
    let browser = browser();
    let login = app.post_login(&browser, &email, PASSWORD).await;
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("ferrocast_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["id"], user["id"]);
    let me: Value = browser.fetch_json(&app.users_url("/api/users/me")).await;
    assert_eq!(me["username"], username.as_str());
    assert_eq!(me["email"], email.as_str());

    // No key yet.
    let none = browser
        .fetch(&app.users_url("/api/users/me/stream-key"))
        .await;
    assert_eq!(none.status(), 404);

    let created = browser
        .post(app.users_url("/api/users/me/stream-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let first_key = created["stream_key"].as_str().unwrap().to_owned();
    assert!(first_key.starts_with("live_") && first_key.len() >= 5 + 22);
    assert!(first_key.starts_with(created["prefix"].as_str().unwrap()));

    // Later reads show only the prefix and creation time.
    let info = browser
        .fetch(&app.users_url("/api/users/me/stream-key"))
        .await;
    assert_eq!(info.status(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["prefix"], created["prefix"]);
    assert_eq!(info["created_at"], created["created_at"]);
    assert!(!info.to_string().contains(&first_key));

    let auth = app.users_auth();
    let owner = auth
        .authenticate_stream_key(&first_key, Some("req-1"))
        .await
        .unwrap();
    assert_eq!(owner.username, username);
    assert_eq!(owner.user_id, user["id"].as_str().unwrap());

    let rotated = browser
        .post(app.users_url("/api/users/me/stream-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 201);
    let second_key = rotated.json::<Value>().await.unwrap()["stream_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first_key, second_key);
    assert!(matches!(
        auth.authenticate_stream_key(&first_key, None).await,
        Err(UsersAuthError::Rejected)
    ));
    let owner = auth
        .authenticate_stream_key(&second_key, None)
        .await
        .unwrap();
    assert_eq!(owner.username, username);
    app.stop_users().await;
}

#[tokio::test]
async fn unknown_and_malformed_stream_keys_are_unauthenticated() {
    let app = start_users().await;
    let auth = app.users_auth();
    for key in [
        "live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "",
        "not-a-key",
        "live_../../etc/passwd",
    ] {
        assert!(
            matches!(
                auth.authenticate_stream_key(key, None).await,
                Err(UsersAuthError::Rejected)
            ),
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn logout_clears_the_session_cookie() {
    let app = start_users().await;
    let user = app.account().await;
    let browser = browser();
    assert_eq!(
        app.post_login(&browser, &user.username, PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(
        browser
            .fetch(&app.users_url("/api/users/me"))
            .await
            .status(),
        200
    );

    let logout = browser
        .post(app.users_url("/api/users/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("ferrocast_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let me = browser.fetch(&app.users_url("/api/users/me")).await;
    assert_eq!(me.status(), 401);
    assert_eq!(
        me.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
}

/// The owner of a key is remembered for a short time (5 s here, 2 s by default). A change the
/// service did not make itself — another replica rotating the key — is honoured once that time is up,
/// never later. Rotations through this service are covered above: they take effect at once.
#[tokio::test]
async fn a_key_changed_behind_the_services_back_stops_working_within_the_cache_lifetime() {
    let store = ferrocast_testkit::DocumentStore::start().await.unwrap();
    let app = Platform::start_on(
        store,
        Options::users().adjust_users(|config| {
            config.store.stream_key_cache = std::time::Duration::from_secs(5)
        }),
    )
    .await
    .unwrap();
    let user = app.account().await;
    let key = app.rotate_key(&user.token).await;
    let auth = app.users_auth();
    assert_eq!(
        auth.authenticate_stream_key(&key, None)
            .await
            .unwrap()
            .username,
        user.username
    );

    // Another replica's rotation, as the store sees it.
    let client = mongodb::Client::with_uri_str(app.store.url())
        .await
        .unwrap();
    let changed = client
        .database(app.store.database())
        .collection::<mongodb::bson::Document>("users")
        .update_one(
            mongodb::bson::doc! { "username": &user.username },
            mongodb::bson::doc! { "$set": { "stream_key_hash": "0".repeat(64) } },
        )
        .await
        .unwrap();
    assert_eq!(changed.modified_count, 1);

    // Still answered from memory right after the change...
    assert!(auth.authenticate_stream_key(&key, None).await.is_ok());
    // ...and refused once the remembered answer expires.
    let refused = ferrocast_testkit::eventually(std::time::Duration::from_secs(15), || async {
        matches!(
            auth.authenticate_stream_key(&key, None).await,
            Err(UsersAuthError::Rejected)
        )
    })
    .await;
    assert!(refused, "the old key kept working past the cache lifetime");
}
