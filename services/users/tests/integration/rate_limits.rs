//! The rate limits as a client of the service sees them: a 429 in the error envelope with
//! `Retry-After`, the same for an unknown login name as for an account; only wrong passwords
//! count against a login name, so its owner logging in again and again is never limited.
//! (The attacks themselves, through the gateway and across replicas, are A5 in tests/system.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrocast_testkit::DocumentStore;
use ferrocast_testkit::{browser, platform::PASSWORD, Options, Platform};
use ferrocast_users::{RateLimit, RateLimits};

const WINDOW_SECONDS: u64 = 3600;

/// Two failed logins per name per hour; the other limits out of reach. The limits count in
/// fixed windows: when the current one ends within a minute (a test takes a second or two),
/// this waits for the next, so no run straddles the end of one.
async fn app() -> Platform {
    let window_ms = u128::from(WINDOW_SECONDS) * 1000;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let left = window_ms - now_ms % window_ms;
    if left < 60_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap() + 1_000)).await;
    }
    let hourly = |max| RateLimit::per_seconds(max, WINDOW_SECONDS);
    let limits = RateLimits {
        login_per_account: hourly(2),
        login_per_address: hourly(1_000),
        signup_per_address: hourly(1_000),
        key_rotation_per_account: hourly(1_000),
        key_rotation_per_address: hourly(1_000),
    };
    let store = DocumentStore::start().await.unwrap();
    Platform::start_on(
        store,
        Options {
            rate_limits: Some(limits),
            ..Options::users()
        },
    )
    .await
    .unwrap()
}

/// Status, `Retry-After` and body of a response.
async fn answer(response: reqwest::Response) -> (u16, Option<u64>, String) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, response.text().await.unwrap())
}

#[tokio::test]
async fn past_the_limit_a_login_is_a_429_alike_for_unknown_names_and_accounts() {
    let app = app().await;
    let user = app.account().await;
    let client = browser();
    let mut bodies = Vec::new();
    for name in [user.username.as_str(), "nobody_here"] {
        for _ in 0..2 {
            let response = app.post_login(&client, name, "wrong password 1").await;
            assert_eq!(response.status(), 401, "{name}");
        }
        let (status, retry_after, body) =
            answer(app.post_login(&client, name, PASSWORD).await).await;
        assert_eq!(status, 429, "{name}: {body}");
        let retry_after = retry_after.expect("Retry-After");
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "rate_limited");
        bodies.push(body);
    }
    assert_eq!(
        bodies[0], bodies[1],
        "the 429 tells accounts from unknown names"
    );
    // The name is folded as the store folds it: case does not buy a fresh count.
    let upper = app
        .post_login(&client, &user.username.to_uppercase(), PASSWORD)
        .await;
    assert_eq!(upper.status(), 429);
}

#[tokio::test]
async fn right_passwords_do_not_use_up_the_login_limit() {
    let app = app().await;
    let user = app.account().await;
    let client = browser();
    for attempt in 0..6 {
        let response = app.post_login(&client, &user.username, PASSWORD).await;
        assert_eq!(response.status(), 200, "login {attempt}");
    }
    // One wrong password still leaves one before the limit: the successes took none.
    assert_eq!(
        app.post_login(&client, &user.username, "wrong password 1")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.post_login(&client, &user.username, PASSWORD)
            .await
            .status(),
        200
    );
}
