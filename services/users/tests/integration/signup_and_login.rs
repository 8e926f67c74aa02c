//! The REST error table: per-field 422s, per-field 409s (also under a 50-way race), the same
//! 401 for unknown user and wrong password, 413 over 64 KiB, plus the routes around them.

use std::time::{Duration, Instant};

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::unique_name;
use ferrocast_testkit::{browser, platform::PASSWORD, Options, Platform};
use serde_json::{json, Value};

use crate::start_users;

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    (
        status,
        response.json::<Value>().await.unwrap()["error"].clone(),
    )
}

#[tokio::test]
async fn invalid_signup_fields_are_each_reported_with_422() {
    let app = start_users().await;
    let (status, error) = error_of(app.signup("No Spaces!", "not-an-email", "short").await).await;
    assert_eq!(status, 422);
    assert_eq!(error["code"], "validation");
    for field in ["username", "email", "password"] {
        assert!(
            error["fields"][field]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }

    let too_long = app
        .signup(&"a".repeat(25), "a@example.com", &"p".repeat(129))
        .await;
    let (status, error) = error_of(too_long).await;
    assert_eq!(status, 422);
    assert!(error["fields"]["username"].is_string() && error["fields"]["password"].is_string());
    assert!(
        error["fields"].get("email").is_none(),
        "a valid field is not reported: {error}"
    );

    let missing = app
        .http
        .post(app.users_url("/api/users"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(missing).await;
    assert_eq!(status, 422);
    assert_eq!(error["fields"]["email"], "is required");

    let garbage = app
        .http
        .post(app.users_url("/api/users"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(garbage).await.0, 400);
}

#[tokio::test]
async fn taken_username_or_email_is_a_409_naming_the_field() {
    let app = start_users().await;
    let user = app.account().await;

    // Usernames are case-folded, so a different case is the same name.
    let other_email = format!("{}@example.org", unique_name("x"));
    let (status, error) = error_of(
        app.signup(&user.username.to_uppercase(), &other_email, PASSWORD)
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(error["code"], "conflict");
    assert_eq!(error["fields"]["username"], "already taken");
    assert!(error["fields"].get("email").is_none());

    let (status, error) = error_of(
        app.signup(&unique_name("y"), &user.email.to_uppercase(), PASSWORD)
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(error["fields"]["email"], "already taken");
    assert!(error["fields"].get("username").is_none());
}

#[tokio::test]
async fn fifty_parallel_signups_for_one_name_give_exactly_one_201() {
    // Fifty hashes queue for the hashing slots; in one binary they may share two cores with
    // another test's hashing, so the wait for a slot is long enough that none is shed as 503.
    let options = Options {
        password_queue: Some(Duration::from_secs(30)),
        ..Options::users()
    };
    let app = Platform::start(options).await.unwrap();
    let username = unique_name("race_");
    let attempts = (0..50).map(|i| {
        let client = app.http.clone();
        let url = app.users_url("/api/users");
        let body = json!({ "username": username, "email": format!("{username}{i}@example.com"), "password": PASSWORD });
        async move { client.post(url).json(&body).send().await.unwrap() }
    });
    let responses = futures::future::join_all(attempts).await;
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(
                error_of(response).await.1["fields"]["username"],
                "already taken"
            ),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn bad_login_is_the_same_401_for_unknown_user_and_wrong_password() {
    let app = start_users().await;
    let user = app.account().await;
    let client = browser();

    let wrong_password = app
        .post_login(&client, &user.username, "wrong password!")
        .await;
    assert!(wrong_password.headers().get("set-cookie").is_none());
    let (status, wrong_password) = error_of(wrong_password).await;
    let (unknown_status, unknown_user) = error_of(
        app.post_login(&client, &unique_name("ghost"), PASSWORD)
            .await,
    )
    .await;
    let (email_status, wrong_by_email) = error_of(
        app.post_login(&client, &user.email, "wrong password!")
            .await,
    )
    .await;
    let (junk_status, junk_login) =
        error_of(app.post_login(&client, "not a login!", PASSWORD).await).await;
    assert_eq!(
        (status, unknown_status, email_status, junk_status),
        (401, 401, 401, 401)
    );
    assert_eq!(wrong_password["code"], "unauthorized");
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, wrong_by_email);
    assert_eq!(wrong_password, junk_login);

    // The right password still works afterwards, by username and by email.
    assert_eq!(
        app.post_login(&client, &user.email.to_uppercase(), PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_user_and_wrong_password_both_pay_for_a_hash() {
    let app = start_users().await;
    let user = app.account().await;
    let client = browser();
    let median = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        assert_eq!(
            app.post_login(&client, &user.username, "wrong password!")
                .await
                .status(),
            401
        );
        wrong.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(
            app.post_login(&client, "nobody_here_at_all", "wrong password!")
                .await
                .status(),
            401
        );
        unknown.push(started.elapsed());
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    let ratio = wrong.as_secs_f64() / unknown.as_secs_f64();
    assert!(
        (1.0 / 3.0..3.0).contains(&ratio),
        "wrong password {wrong:?} vs unknown user {unknown:?}"
    );
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413_in_the_envelope() {
    let app = start_users().await;
    let padding = "x".repeat(70 * 1024);
    let body = json!({ "username": "big", "email": "big@example.com", "password": padding });
    let (status, error) = error_of(
        app.http
            .post(app.users_url("/api/users"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(error["code"], "payload_too_large");

    // Without a Content-Length (chunked), the limit still holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(serde_json::to_vec(&body).unwrap())];
    let streamed = app
        .http
        .post(app.users_url("/api/users/login"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(streamed).await;
    assert_eq!(status, 413);
    assert_eq!(error["code"], "payload_too_large");
}

#[tokio::test]
async fn operational_routes_answer() {
    let app = start_users().await;
    let user = app.account().await;
    assert_eq!(
        app.http.fetch(&app.users_url("/healthz")).await.status(),
        200
    );
    assert_eq!(
        app.http.fetch(&app.users_url("/readyz")).await.status(),
        200
    );

    let openapi: Value = app
        .http
        .fetch_json(&app.users_url("/api/users/openapi.json"))
        .await;
    for path in [
        "/api/users",
        "/api/users/login",
        "/api/users/logout",
        "/api/users/me",
        "/api/users/me/stream-key",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }

    let (status, error) = error_of(app.http.fetch(&app.users_url("/api/users/nope")).await).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let unauthenticated = app.http.fetch(&app.users_url("/api/users/me")).await;
    assert_eq!(error_of(unauthenticated).await.0, 401);

    let response = app.get_with_token("/api/users/me", &user.token).await;
    assert!(response.headers().contains_key("x-request-id"));
    let metrics = app.http.fetch_text(&app.users_url("/metrics")).await;
    assert!(metrics.contains("users_logins_total"), "{metrics}");
    assert!(metrics.contains("http_requests_total"));
}

#[tokio::test]
async fn a_public_profile_names_the_user_and_nothing_private() {
    let app = start_users().await;
    let user = app.account().await;

    // Anyone, signed in or not, and by any case of the name.
    let response = app
        .http
        .fetch(&app.users_url(&format!(
            "/api/users/profiles/{}",
            user.username.to_uppercase()
        )))
        .await;
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["username"], user.username.as_str());
    assert!(profile["created_at"].is_string());
    let text = profile.to_string();
    assert!(
        !text.contains(&user.email) && !text.contains(&user.user_id),
        "no email or id: {text}"
    );

    for unknown in ["nobody_here_at_all", "x", "not%20a%20name"] {
        let (status, error) = error_of(
            app.http
                .fetch(&app.users_url(&format!("/api/users/profiles/{unknown}")))
                .await,
        )
        .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (404, Some("not_found")),
            "{unknown}"
        );
    }
}
