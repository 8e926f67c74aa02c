//! A1 bad stream keys at rooms' callback, A3 login flood (starvation and user enumeration), A3b
//! a flood shed past the password queue limit, A4 the JWT refusal table through the gateway and
//! rooms, and the gRPC service-token guard.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ferrocast_proto::{
    users_v1::{auth_client::AuthClient, AuthenticateStreamKeyRequest},
    SERVICE_TOKEN_HEADER,
};
use ferrocast_testkit::{
    heavy,
    platform::SERVICE_TOKEN,
    stats::{median, percentile},
    Options, Platform,
};
use ferrocast_users::DEV_JWT_SECRET;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::time::Instant;

/// The claims the users service issues (`iss`, `aud`, `sub`, `exp`, `nbf`, `iat`, `jti`, `name`).
fn claims(user_id: &str, username: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "ferrocast-users",
        "aud": "ferrocast",
        "sub": user_id,
        "exp": now + 600,
        "nbf": now,
        "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
        "name": username,
    })
}

fn sign(claims: &Value, algorithm: Algorithm, key: &[u8]) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn with(claims: &Value, changes: &[(&str, Value)]) -> Value {
    let mut claims = claims.clone();
    for (name, value) in changes {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(*name);
        } else {
            claims[*name] = value.clone();
        }
    }
    claims
}

/// The refusal table: (case, token). Every token names a real user.
fn jwt_table(user_id: &str, username: &str) -> Vec<(&'static str, String)> {
    let key = DEV_JWT_SECRET.as_bytes();
    let good = claims(user_id, username);
    let now = chrono::Utc::now().timestamp();
    let valid = sign(&good, Algorithm::HS256, key);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&with(
            &good,
            &[("name", json!("admin")), ("sub", json!("someone-else"))]
        )),
        parts[2]
    );
    let none_header = b64(&json!({ "alg": "none", "typ": "JWT" }));
    vec![
        (
            "expired",
            sign(
                &with(
                    &good,
                    &[
                        ("exp", json!(now - 3_600)),
                        ("iat", json!(now - 7_200)),
                        ("nbf", json!(now - 7_200)),
                    ],
                ),
                Algorithm::HS256,
                key,
            ),
        ),
        (
            "not yet valid",
            sign(
                &with(&good, &[("nbf", json!(now + 3_600))]),
                Algorithm::HS256,
                key,
            ),
        ),
        (
            "issued in the future",
            sign(
                &with(&good, &[("iat", json!(now + 3_600))]),
                Algorithm::HS256,
                key,
            ),
        ),
        (
            "wrong issuer",
            sign(
                &with(&good, &[("iss", json!("evil"))]),
                Algorithm::HS256,
                key,
            ),
        ),
        (
            "wrong audience",
            sign(
                &with(&good, &[("aud", json!("other-app"))]),
                Algorithm::HS256,
                key,
            ),
        ),
        (
            "no exp",
            sign(&with(&good, &[("exp", Value::Null)]), Algorithm::HS256, key),
        ),
        (
            "no sub",
            sign(&with(&good, &[("sub", Value::Null)]), Algorithm::HS256, key),
        ),
        ("alg none", format!("{none_header}.{}.", b64(&good))),
        (
            "alg none with signature",
            format!("{none_header}.{}.{}", b64(&good), parts[2]),
        ),
        ("wrong key", sign(&good, Algorithm::HS256, &[0x42; 48])),
        (
            "HS512 with the right key",
            sign(&good, Algorithm::HS512, key),
        ),
        ("tampered payload", tampered),
        ("signature stripped", format!("{}.{}.", parts[0], parts[1])),
        ("garbage", "not.a.jwt".to_owned()),
        ("empty", String::new()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a4_forged_and_broken_tokens_get_401_through_the_gateway_and_rooms() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let streamer = platform.streamer().await;
    let client = &platform.http;

    // The control: a token the service would issue (signed by the test) is accepted.
    let control = sign(
        &claims(&streamer.user_id, &streamer.username),
        Algorithm::HS256,
        DEV_JWT_SECRET.as_bytes(),
    );
    let me = client
        .get(platform.gateway_url("/api/users/me"))
        .bearer_auth(&control)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the control token must be accepted");

    let mut wrong = Vec::new();
    for (case, token) in jwt_table(&streamer.user_id, &streamer.username) {
        for (route, how) in [
            ("GET /api/users/me", "bearer"),
            ("GET /api/users/me", "cookie"),
            ("PUT /api/rooms/me/title", "bearer"),
            ("PUT /api/rooms/me/title", "cookie"),
        ] {
            let request = if route.starts_with("GET") {
                client.get(platform.gateway_url("/api/users/me"))
            } else {
                client
                    .put(platform.gateway_url("/api/rooms/me/title"))
                    .json(&json!({ "title": "pwned" }))
            };
            let request = match how {
                "bearer" => request.header("authorization", format!("Bearer {token}")),
                _ => request.header("cookie", format!("ferrocast_session={token}")),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if status != 401 || !body.contains("\"unauthorized\"") {
                wrong.push(format!("{case} / {route} / {how}: {status} {body}"));
            }
        }
    }
    // The title must not have changed through any of them.
    let title = client
        .put(platform.gateway_url("/api/rooms/me/title"))
        .bearer_auth(&streamer.token)
        .json(&json!({ "title": "mine" }))
        .send()
        .await
        .unwrap();
    assert_eq!(title.status(), 200, "the real token sets the title");
    assert!(
        wrong.is_empty(),
        "not refused with 401:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a4_grpc_without_or_with_a_wrong_service_token_is_unauthenticated() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let streamer = platform.streamer().await;
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", platform.users_grpc))
            .unwrap()
            .timeout(Duration::from_secs(5))
            .connect_lazy();
    let request = |token: Option<&str>| {
        let mut request = tonic::Request::new(AuthenticateStreamKeyRequest {
            stream_key: streamer.key.clone(),
        });
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert(SERVICE_TOKEN_HEADER, token.parse().unwrap());
        }
        request
    };
    let mut client = AuthClient::new(channel);
    for (case, token) in [
        ("no token", None),
        ("wrong token", Some("not-the-service-token")),
        ("empty token", Some("")),
        (
            "token prefix",
            Some(&SERVICE_TOKEN[..SERVICE_TOKEN.len() - 1]),
        ),
        ("token with suffix", Some(&*format!("{SERVICE_TOKEN}x"))),
    ] {
        let status = client
            .authenticate_stream_key(request(token))
            .await
            .expect_err(case);
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{case}");
    }
    let reply = client
        .authenticate_stream_key(request(Some(SERVICE_TOKEN)))
        .await
        .expect("the right token is accepted");
    assert_eq!(reply.into_inner().username, streamer.username);
}

/// nginx-rtmp's publish callback for `key` (no service token, like a stock nginx-rtmp).
fn publish_form(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("call", "publish".into()),
        ("app", "live".into()),
        ("name", key.into()),
        ("type", "live".into()),
        ("addr", "127.0.0.1".into()),
        ("clientid", "77".into()),
        ("tcurl", "rtmp://127.0.0.1/live".into()),
        // What our ingest adds (only read with the service token).
        ("session_id", "a1-session".into()),
        ("origin", "http://127.0.0.1:9".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a1_bad_stream_keys_are_refused_at_the_publish_callback() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let victim = platform.streamer().await;
    let rotated_out = victim.key.clone();
    let current = platform.rotate_key(&victim.token).await;
    let other = platform.streamer().await;
    let bad_keys: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("10 kB", format!("live_{}", "A".repeat(10_240))),
        ("unicode", "live_ключ🔑é\u{202e}".to_owned()),
        ("NUL inside", format!("{}\0", current)),
        ("another user's rotated-out key", rotated_out.clone()),
        (
            "well-formed but unknown",
            format!("live_{}", "x".repeat(32)),
        ),
        ("current key with a suffix", format!("{current}x")),
        (
            "current key truncated",
            current[..current.len() - 1].to_owned(),
        ),
        ("current key upper-cased", current.to_uppercase()),
        ("prefix only", "live_".to_owned()),
    ];
    let mut allowed = Vec::new();
    for (case, key) in &bad_keys {
        for trusted in [false, true] {
            let form = publish_form(key);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = platform.callback(&form, trusted).await;
            let status = response.status().as_u16();
            if status < 400 {
                allowed.push(format!("{case} (service token: {trusted}): {status}"));
            }
        }
    }
    assert!(allowed.is_empty(), "bad keys were allowed: {allowed:?}");
    for user in [&victim.username, &other.username] {
        assert!(!platform.is_live(user).await, "{user} went live");
    }
    // The current key still works (the refusals were about the keys, not a broken callback) —
    // from our ingest, which presents the service token; without it nothing is accepted here.
    let form = publish_form(&current);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = platform.callback(&form, false).await;
    assert_eq!(response.status(), 401);
    assert!(!platform.is_live(&victim.username).await);
    let response = platform.callback(&form, true).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert!(platform.is_live(&victim.username).await);
}

/// What one login attempt through the gateway got back.
struct Attempt {
    status: u16,
    body: String,
    retry_after: Option<String>,
    took: Duration,
}

impl Attempt {
    /// A login shed under load: 503 `busy` that says when to retry.
    fn is_busy(&self) -> bool {
        self.status == 503
            && self.retry_after.is_some()
            && serde_json::from_str::<Value>(&self.body)
                .is_ok_and(|body| body["error"]["code"] == "busy")
    }
}

/// One wrong-password login through the gateway.
async fn login(client: &reqwest::Client, platform: &Platform, login: &str) -> Attempt {
    let started = Instant::now();
    let response = client
        .post(platform.gateway_url("/api/users/login"))
        .json(&json!({ "login": login, "password": "wrong password 123" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    Attempt {
        status,
        body,
        retry_after,
        took: started.elapsed(),
    }
}

/// `count` wrong-password logins at once, even ones for `existing` users in turn, odd ones for
/// unknown names; each attempt is paired with whether its user exists.
async fn flood(
    client: &reqwest::Client,
    platform: &Platform,
    existing: &[String],
    count: usize,
) -> Vec<(bool, Attempt)> {
    futures::future::join_all((0..count).map(|i| async move {
        let exists = i % 2 == 0;
        let name = if exists {
            existing[i % existing.len()].clone()
        } else {
            format!("nobody_{i:04}")
        };
        (exists, login(client, platform, &name).await)
    }))
    .await
}

/// Every attempt is a 401 or a shed 503 `busy`, and within each status the body is the same
/// byte for byte whether the user exists or not. Returns how many were shed.
fn assert_refused_alike(attempts: &[(bool, Attempt)]) -> usize {
    let mut first_body = std::collections::BTreeMap::new();
    let mut shed = 0;
    for (exists, attempt) in attempts {
        assert!(
            attempt.status == 401 || attempt.is_busy(),
            "exists: {exists}: {} {:?} {}",
            attempt.status,
            attempt.retry_after,
            attempt.body
        );
        shed += usize::from(attempt.status == 503);
        let first = first_body
            .entry(attempt.status)
            .or_insert_with(|| attempt.body.clone());
        assert_eq!(
            &attempt.body, first,
            "the {} body differs (exists: {exists})",
            attempt.status
        );
    }
    shed
}

/// Concurrent wrong-password logins in test A3.
const FLOOD_LOGINS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a3_login_flood_neither_starves_room_listing_nor_reveals_which_users_exist() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let existing: Vec<String> = futures::future::join_all((0..4).map(|_| platform.streamer()))
        .await
        .into_iter()
        .map(|s| s.username)
        .collect();
    let client = ferrocast_testkit::http::client(Duration::from_secs(30));

    // Honest traffic: GET /api/rooms every 20 ms for the flood's duration.
    let flooding = tokio_util::sync::CancellationToken::new();
    let honest = {
        let url = platform.gateway_url("/api/rooms");
        let client = client.clone();
        let flooding = flooding.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut failures = 0;
            while !flooding.is_cancelled() && samples.len() < 5_000 {
                let started = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => samples.push(started.elapsed()),
                    _ => failures += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (samples, failures)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    // Wrong-password logins at once: half for existing users, half for unknown names. The users
    // service queues the argon2 work; a login still waiting for its turn after the queue limit
    // (3 s) is shed with 503 `busy`, so none reaches the gateway's 8 s response deadline (on a
    // busy 2-core CI host 200 queued logins once took 8.7 s and the last got a 504).
    let attempts = flood(&client, &platform, &existing, FLOOD_LOGINS).await;
    let flood_time = started.elapsed();
    flooding.cancel();
    let (samples, failures) = honest.await.unwrap();

    let p99 = percentile(&samples, 99.0);
    eprintln!(
        "A3 flood of {FLOOD_LOGINS} logins took {flood_time:?}; concurrent GET /api/rooms: {} samples, p50 {:?}, p99 {p99:?}, {failures} failures",
        samples.len(),
        median(&samples),
    );
    assert!(samples.len() >= 20, "too few honest samples to judge");
    assert_eq!(failures, 0, "honest requests failed during the flood");
    // Starvation would queue the listing behind the argon2 work, so its slow requests would take
    // a large share of the whole flood. Judged against the flood's own duration rather than a
    // fixed number of milliseconds, so a slower or busier machine does not fail it.
    assert!(
        p99 < flood_time / 5,
        "p99 of GET /api/rooms during the flood was {p99:?}, the flood took {flood_time:?}"
    );
    // Same status and byte-identical body for existing and unknown users; some may be shed.
    let shed = assert_refused_alike(&attempts);
    eprintln!("A3: {shed} of {FLOOD_LOGINS} logins shed with 503 busy");
    assert!(shed < FLOOD_LOGINS, "every login was shed");

    // Timing, measured one at a time so queueing does not hide a difference.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..30 {
        let attempt = login(&client, &platform, &existing[i % existing.len()]).await;
        assert_eq!(attempt.status, 401);
        known.push(attempt.took);
        let attempt = login(&client, &platform, &format!("ghost_{i:04}")).await;
        assert_eq!(attempt.status, 401);
        unknown.push(attempt.took);
    }
    let (known, unknown) = (median(&known), median(&unknown));
    eprintln!("A3 sequential wrong-password login medians: existing user {known:?}, unknown user {unknown:?}");
    let (low, high) = if known < unknown {
        (known, unknown)
    } else {
        (unknown, known)
    };
    // Loose: an early return for unknown users would be an order of magnitude faster than an
    // argon2 verification; scheduling noise on a shared machine is far below 2x of the median.
    assert!(
        high.as_secs_f64() < low.as_secs_f64() * 2.0,
        "login time reveals whether a user exists: existing {known:?} vs unknown {unknown:?}"
    );
}

/// A3b: a flood longer than the users service's queue limit is shed. The logins that cannot
/// start hashing within the limit get 503 `busy` with `Retry-After` (the same for existing and
/// unknown users) well before the gateway's response deadline, the rest a plain 401; once the
/// flood is over, the right password logs in at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a3b_a_login_flood_past_the_queue_limit_is_shed_with_busy_and_retry_after() {
    let _heavy = heavy().await;
    let queue_limit = Duration::from_millis(300);
    let platform = Platform::start(Options {
        password_queue: Some(queue_limit),
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let streamer = platform.streamer().await;
    let client = ferrocast_testkit::http::client(Duration::from_secs(30));
    // 80 argon2 checks take at least a second on any machine (one is ≥ 15 ms), several times
    // the 300 ms limit: most of the flood must be shed.
    let count = 80;
    let attempts = flood(
        &client,
        &platform,
        std::slice::from_ref(&streamer.username),
        count,
    )
    .await;
    let shed = assert_refused_alike(&attempts);
    let slowest = attempts.iter().map(|(_, a)| a.took).max().unwrap();
    eprintln!("A3b: {shed} of {count} shed; slowest answer {slowest:?}");
    assert!(
        shed > 0,
        "nothing was shed past a {queue_limit:?} queue limit"
    );
    assert!(
        shed < count,
        "every login was shed: none was checked at all"
    );
    for exists in [true, false] {
        assert!(
            attempts.iter().any(|(e, a)| *e == exists && a.is_busy()),
            "no shed login among users that exist: {exists}"
        );
    }
    // Asserts the 200 itself.
    platform
        .login(&streamer.username, ferrocast_testkit::platform::PASSWORD)
        .await;
}
