//! A5 rate limits of login, signup and stream key rotation, attacked through the gateway: a
//! password-guessing run against one account, the same run spread over two users replicas on one
//! store, forged `X-Forwarded-For` from an untrusted peer, a signup flood (each 409 is a free
//! "does this email have an account?") and a key-rotation flood. Every attacker connects from an
//! address of its own (127.0.0.x), the way distinct browsers reach the gateway.
#![allow(clippy::unwrap_used)]

use std::{
    net::IpAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use ferrocast_testkit::unique_name;
use ferrocast_testkit::{platform::PASSWORD, Options, Platform};
use ferrocast_users::{RateLimit, RateLimits};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// The window of every limit in these tests.
const WINDOW: Duration = Duration::from_secs(3600);

/// The production counts (the attack must meet the limits an operator gets out of the box),
/// each over an hour instead of its default window: the limits count in fixed windows, and a
/// run that straddled the end of one would start counting afresh halfway through.
fn limits() -> RateLimits {
    let hourly = |limit: RateLimit| RateLimit {
        window: WINDOW,
        ..limit
    };
    let defaults = RateLimits::default();
    RateLimits {
        login_per_account: hourly(defaults.login_per_account),
        login_per_address: hourly(defaults.login_per_address),
        signup_per_address: hourly(defaults.signup_per_address),
        key_rotation_per_account: hourly(defaults.key_rotation_per_account),
        key_rotation_per_address: hourly(defaults.key_rotation_per_address),
    }
}

/// A platform with [`limits`], started at least two minutes before the current window ends (a
/// run takes seconds): when the hour is nearly over, it waits for the next one.
async fn platform() -> Platform {
    let window_ms = WINDOW.as_millis();
    let into_window = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % window_ms;
    let left = window_ms - into_window;
    if left < 120_000 {
        let wait = u64::try_from(left).unwrap() + 1_000;
        eprintln!("the rate-limit window ends in {left} ms; waiting for the next one");
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    Platform::start(Options {
        rate_limits: Some(limits()),
        ..Options::without_ingest()
    })
    .await
    .unwrap()
}

/// A client whose connections come from `address` (a distinct browser to the gateway).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// What one request got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = response.text().await.unwrap_or_default();
        Self {
            status,
            retry_after,
            body,
        }
    }

    /// A 429 in the error envelope with a `Retry-After` no longer than the limit's window.
    fn is_limited_within(&self, window: Duration) -> bool {
        self.status == 429
            && self
                .retry_after
                .is_some_and(|s| (1..=window.as_secs()).contains(&s))
            && serde_json::from_str::<Value>(&self.body)
                .is_ok_and(|b| b["error"]["code"] == "rate_limited")
    }
}

async fn login(client: &reqwest::Client, base: &str, login: &str, password: &str) -> Answer {
    let response = client
        .post(format!("{base}/api/users/login"))
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

async fn signup(client: &reqwest::Client, base: &str, name: &str, email: &str) -> Answer {
    let response = client
        .post(format!("{base}/api/users"))
        .json(&json!({ "username": name, "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

async fn rotate(client: &reqwest::Client, base: &str, token: &str) -> Answer {
    let response = client
        .post(format!("{base}/api/users/me/stream-key"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

/// How many answers had `status`.
fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

/// Once the first 429 came, every later answer is a 429 too, each well formed.
fn limited_from_first_429(answers: &[Answer], window: Duration) {
    let first = answers
        .iter()
        .position(|a| a.status == 429)
        .expect("a 429 at all");
    for (i, answer) in answers.iter().enumerate().skip(first) {
        assert!(
            answer.is_limited_within(window),
            "attempt {i} after the first 429: {answer:?}"
        );
    }
}

const WRONG: &str = "wrong password 123";

/// A5 (1): 50 wrong passwords for one account from one address. After the per-account limit
/// every attempt is 429 with `Retry-After`, the right password included, and from another
/// address too: the limit is the account's. Unknown accounts get the same 429 body. Another
/// account logs in from another address meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a5_guessing_one_accounts_password_is_limited_per_account_and_others_still_log_in() {
    let platform = platform().await;
    let base = platform.gateway_url("");
    let victim = platform.streamer().await;
    let bystander = platform.streamer().await;
    let limit = limits().login_per_account;

    let attacker = client_from("127.0.0.2");
    let mut answers = Vec::new();
    for _ in 0..50 {
        answers.push(login(&attacker, &base, &victim.username, WRONG).await);
    }
    let checked = count(&answers, 401);
    eprintln!(
        "A5 guessing: {checked} of 50 wrong passwords checked (401), {} refused with 429, Retry-After {:?}",
        count(&answers, 429),
        answers.iter().find_map(|a| a.retry_after)
    );
    assert_eq!(
        checked + count(&answers, 429),
        50,
        "only 401 and 429 expected"
    );
    assert!(
        checked <= limit.max as usize,
        "{checked} passwords checked for one account, limit {}",
        limit.max
    );
    limited_from_first_429(&answers, limit.window);

    // The right password is refused too while the account is limited, from anywhere.
    let right = login(&client_from("127.0.0.3"), &base, &victim.username, PASSWORD).await;
    assert!(right.is_limited_within(limit.window), "{right:?}");

    // An unknown account is refused alike once limited: the 429 body tells nothing.
    let ghost_client = client_from("127.0.0.4");
    let mut ghost = Vec::new();
    for _ in 0..=limit.max {
        ghost.push(login(&ghost_client, &base, "ghost_nobody", WRONG).await);
    }
    let last = ghost.last().unwrap();
    assert!(last.is_limited_within(limit.window), "{last:?}");
    assert_eq!(last.body, answers.last().unwrap().body, "429 bodies differ");

    let other = login(
        &client_from("127.0.0.5"),
        &base,
        &bystander.username,
        PASSWORD,
    )
    .await;
    assert_eq!(other.status, 200, "{other:?}");
}

/// A5 (2): a second users replica on the same store; wrong passwords for one account alternate
/// between the two. The count lives in the shared store, so the pair allows no more than one
/// replica would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a5_the_per_account_limit_holds_across_two_users_replicas() {
    let platform = platform().await;
    let victim = platform.streamer().await;
    let mut config =
        ferrocast_users::Config::for_tests(platform.store.url(), platform.store.database());
    config.set_rate_limits(limits());
    let shutdown = CancellationToken::new();
    let _guard = shutdown.clone().drop_guard();
    let second = ferrocast_users::start(config, shutdown).await.unwrap();
    let replicas = [
        platform.users_url(""),
        format!("http://{}", second.http_addr),
    ];
    let limit = limits().login_per_account;

    let attacker = client_from("127.0.0.2");
    let mut answers = Vec::new();
    for i in 0..40 {
        answers.push(login(&attacker, &replicas[i % 2], &victim.username, WRONG).await);
    }
    let checked = count(&answers, 401);
    eprintln!(
        "A5 replicas: {checked} of 40 wrong passwords checked across 2 replicas, {} refused",
        count(&answers, 429)
    );
    assert!(
        checked <= limit.max as usize,
        "{checked} passwords checked across two replicas, limit {}",
        limit.max
    );
    limited_from_first_429(&answers, limit.window);
}

/// A5 (3): a client that writes its own `X-Forwarded-For` (a new random address on every
/// request) does not get a fresh per-address count: sent straight to users from an untrusted
/// peer the header is ignored, and through the gateway its real address is the one appended.
/// Every attempt names a different unknown account, so only the per-address limit can apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a5_forged_forwarded_for_does_not_reset_the_per_address_count() {
    let platform = platform().await;
    let limit = limits().login_per_address;
    let attempts = limit.max as usize + 10;
    for (peer, base) in [
        ("127.0.0.2", platform.users_url("")),
        ("127.0.0.3", platform.gateway_url("")),
    ] {
        let client = client_from(peer);
        let mut answers = Vec::new();
        for i in 0..attempts {
            let forged = format!("198.51.100.{}, 203.0.113.{}", i % 250, (i * 7) % 250);
            let response = client
                .post(format!("{base}/api/users/login"))
                .header("x-forwarded-for", forged)
                .json(&json!({ "login": format!("nobody_{i:03}"), "password": WRONG }))
                .send()
                .await
                .unwrap();
            answers.push(Answer::of(response).await);
        }
        let checked = count(&answers, 401);
        eprintln!(
            "A5 forged XFF from {peer} to {base}: {checked} of {attempts} checked, {} refused",
            count(&answers, 429)
        );
        assert!(
            checked <= limit.max as usize,
            "{checked} attempts from {peer} checked with forged X-Forwarded-For, limit {}",
            limit.max
        );
        limited_from_first_429(&answers, limit.window);
    }
}

/// A5 (4): a signup flood from one address. Each 409 tells whether a name or email has an
/// account; past the per-address limit even a taken email gets the 429, not the 409. Another
/// address still signs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a5_a_signup_flood_from_one_address_is_limited() {
    let platform = platform().await;
    let base = platform.gateway_url("");
    let existing = platform.streamer().await;
    let limit = limits().signup_per_address;

    let attacker = client_from("127.0.0.2");
    let mut answers = Vec::new();
    for _ in 0..limit.max + 10 {
        let name = unique_name("f_");
        answers.push(signup(&attacker, &base, &name, &format!("{name}@example.com")).await);
    }
    let created = count(&answers, 201);
    eprintln!(
        "A5 signup flood: {created} of {} created, {} refused",
        answers.len(),
        count(&answers, 429)
    );
    assert!(
        created <= limit.max as usize,
        "{created} signups from one address"
    );
    limited_from_first_429(&answers, limit.window);
    let probe = signup(&attacker, &base, &unique_name("p_"), &existing.email).await;
    assert!(
        probe.is_limited_within(limit.window),
        "existence probe: {probe:?}"
    );

    let name = unique_name("n_");
    let honest = signup(
        &client_from("127.0.0.3"),
        &base,
        &name,
        &format!("{name}@example.com"),
    )
    .await;
    assert_eq!(honest.status, 201, "{honest:?}");
}

/// A5 (5): a stream key rotation flood for one account. Past the per-account limit every
/// rotation is 429, from another address too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a5_a_key_rotation_flood_is_limited() {
    let platform = platform().await;
    let base = platform.gateway_url("");
    let streamer = platform.streamer().await;
    let limit = limits().key_rotation_per_account;

    let attacker = client_from("127.0.0.2");
    let mut answers = Vec::new();
    for _ in 0..limit.max + 10 {
        answers.push(rotate(&attacker, &base, &streamer.token).await);
    }
    let rotated = count(&answers, 201);
    eprintln!(
        "A5 rotation flood: {rotated} of {} rotated, {} refused",
        answers.len(),
        count(&answers, 429)
    );
    // The platform's own `streamer()` rotated once already.
    assert!(rotated < limit.max as usize, "{rotated} rotations");
    limited_from_first_429(&answers, limit.window);
    let elsewhere = rotate(&client_from("127.0.0.3"), &base, &streamer.token).await;
    assert!(elsewhere.is_limited_within(limit.window), "{elsewhere:?}");
}
