//! The document store dies while the service runs: requests that need it answer 503 (REST) and
//! UNAVAILABLE (gRPC) quickly instead of hanging, readiness reports it, and once the store is
//! back the service recovers by itself with every user and stream key intact.

use std::time::{Duration, Instant};

use ferrocast_proto::client::UsersAuthError;
use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{browser, platform::PASSWORD, Options, Platform};
use ferrocast_testkit::{eventually, unique_name, DocumentStore};
use serde_json::Value;

#[tokio::test]
async fn store_outage_gives_fast_503s_and_the_service_recovers_without_data_loss() {
    let mut app = Platform::start_on(
        DocumentStore::start_persistent().await.unwrap(),
        Options::users(),
    )
    .await
    .unwrap();
    let user = app.account().await;
    let key = app.rotate_key(&user.token).await;
    let auth = app.users_auth();

    app.store.stop().await.unwrap();

    let started = Instant::now();
    let client = browser();
    let name = unique_name("o_");
    let email = format!("{name}@example.com");
    let (signup, login, me, key_info, ready, grpc) = tokio::join!(
        app.signup(&name, &email, PASSWORD),
        app.post_login(&client, &user.username, PASSWORD),
        app.get_with_token("/api/users/me", &user.token),
        app.get_with_token("/api/users/me/stream-key", &user.token),
        client.get(app.users_url("/readyz")).send(),
        auth.authenticate_stream_key(&key, None),
    );
    for (what, response) in [
        ("signup", signup),
        ("login", login),
        ("me", me),
        ("stream key", key_info),
    ] {
        assert_eq!(response.status(), 503, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{what}");
    }
    assert_eq!(ready.unwrap().status(), 503);
    assert!(
        matches!(grpc, Err(UsersAuthError::Unavailable(_))),
        "{grpc:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "failures must be fast: {:?}",
        started.elapsed()
    );

    // Tokens are verified without the store, so token checks keep working during the outage.
    assert_eq!(
        auth.validate_token(&user.token, None)
            .await
            .unwrap()
            .username,
        user.username
    );

    app.store.restart().await.unwrap();

    let recovered = eventually(Duration::from_secs(20), || async {
        app.post_login(&browser(), &user.email, PASSWORD)
            .await
            .status()
            == 200
    })
    .await;
    assert!(recovered, "login did not recover after the store came back");
    assert_eq!(client.fetch(&app.users_url("/readyz")).await.status(), 200);
    assert_eq!(
        auth.authenticate_stream_key(&key, None)
            .await
            .unwrap()
            .user_id,
        user.user_id
    );
    let me: Value = app
        .get_with_token("/api/users/me", &user.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], user.username.as_str());
    // Uniqueness survived too.
    assert_eq!(
        app.signup(&user.username, "new@example.com", PASSWORD)
            .await
            .status(),
        409
    );
}
