//! V1 viewer-count inflation: one client address floods a live room's heartbeat with made-up
//! viewer ids, forged tokens, another room's tokens and a thousand freshly minted tokens,
//! straight at rooms and through the gateway, with forged `X-Forwarded-For` chains; the room's
//! count moves by the per-address quota at most, honest viewers from other addresses still count
//! once each, and the room's `viewers_changed` events stay a handful.
#![allow(clippy::unwrap_used)]

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{heavy, platform::SERVICE_TOKEN, Options, Platform, Streamer};
use futures::{stream, StreamExt};
use serde_json::{json, Value};

/// Rooms' default `FERROCAST_ROOMS_VIEWERS_PER_ADDRESS` (the platform keeps it).
const QUOTA: u64 = 4;
const FLOOD: usize = 1_000;
/// Heartbeats in flight at once: enough to finish the flood in seconds on two cores.
const PARALLEL: usize = 16;

/// A client whose connections come from `address` (a loopback alias).
fn client_at(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// Puts the streamer's room live the way the ingest does: a publish callback with the service
/// token (no media needed to count viewers).
async fn go_live(platform: &Platform, streamer: &Streamer, clientid: &str) {
    let form = [
        ("call", "publish"),
        ("app", "live"),
        ("name", streamer.key.as_str()),
        ("type", "live"),
        ("addr", "127.0.0.1"),
        ("clientid", clientid),
        ("tcurl", "rtmp://127.0.0.1/live"),
        // Where the HLS would be served from; nobody fetches it here.
        ("origin", "http://127.0.0.1:9"),
    ];
    let response = platform.callback(&form, true).await;
    let status = response.status();
    assert!(
        status.is_success(),
        "{status} {}",
        response.text().await.unwrap()
    );
    assert!(platform.is_live(&streamer.username).await);
}

async fn viewers(platform: &Platform, username: &str) -> u64 {
    let room: Value = platform
        .http
        .fetch_json(&platform.rooms_url(&format!("/api/rooms/{username}")))
        .await;
    room["viewers"].as_u64().unwrap()
}

/// One heartbeat: the answer's count and token (`None` for anything but 200).
async fn beat(
    client: &reqwest::Client,
    url: &str,
    body: Value,
    forwarded_for: Option<String>,
) -> Option<(u64, String)> {
    let mut request = client.post(url).json(&body);
    if let Some(chain) = forwarded_for {
        request = request.header("x-forwarded-for", chain);
    }
    let response = request.send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some((
        body["viewers"].as_u64()?,
        body["viewer_token"].as_str()?.to_owned(),
    ))
}

/// Sends `bodies` to `url` from `client`, `PARALLEL` at a time, each with a forged
/// `X-Forwarded-For` of its own; returns the answers (count, token) of the 200s.
async fn flood(client: &reqwest::Client, url: &str, bodies: Vec<Value>) -> Vec<(u64, String)> {
    stream::iter(bodies.into_iter().enumerate())
        .map(|(i, body)| {
            let forged = format!("198.51.{}.{}", i / 250, i % 250);
            beat(client, url, body, Some(forged))
        })
        .buffer_unordered(PARALLEL)
        .filter_map(|answer| async move { answer })
        .collect()
        .await
}

/// Counts the room's `viewers_changed` events on rooms' SSE stream until `stop`.
async fn count_viewer_events(
    platform: &Platform,
    username: String,
    stop: tokio_util::sync::CancellationToken,
) -> usize {
    let response = platform
        .http
        .get(platform.rooms_url("/api/events"))
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let (mut buffer, mut events) = (String::new(), 0);
    let needle = format!("\"username\":\"{username}\"");
    loop {
        tokio::select! {
            _ = stop.cancelled() => return events,
            chunk = body.next() => match chunk {
                Some(Ok(chunk)) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return events,
            },
        }
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.contains("event: viewers_changed") && block.contains(&needle) {
                events += 1;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_one_address_moves_a_rooms_viewer_count_by_its_quota_at_most() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options {
        // No publisher renews the rooms: a lease that outlasts the test.
        lease_seconds: 300,
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let target = platform.streamer().await;
    let other = platform.streamer().await;
    go_live(&platform, &target, "71").await;
    go_live(&platform, &other, "72").await;
    let stop = tokio_util::sync::CancellationToken::new();
    let sse = {
        let (platform, username, stop) = (&platform, target.username.clone(), stop.clone());
        count_viewer_events(platform, username, stop)
    };
    let attack = async {
        let started = Instant::now();
        let attacker = client_at("127.0.0.2");
        let direct = platform.rooms_url(&format!("/api/rooms/{}/viewers", target.username));
        let gateway = platform.gateway_url(&format!("/api/rooms/{}/viewers", target.username));
        let elsewhere = platform.rooms_url(&format!("/api/rooms/{}/viewers", other.username));
        let mut answers = Vec::new();
        let mut sent = 0;
        for url in [&direct, &gateway] {
            // Made-up ids (the old protocol), forged tokens of a plausible shape.
            let made_up = (0..FLOOD)
                .map(|i| json!({ "viewer_id": format!("bot-{i}") }))
                .collect();
            let forged = (0..FLOOD)
                .map(|i| json!({ "viewer_token": format!("{i:032x}.1800000000.{}", "A".repeat(43)) }))
                .collect();
            // Valid tokens of another room.
            let foreign: Vec<Value> = flood(&attacker, &elsewhere, vec![json!({}); FLOOD])
                .await
                .into_iter()
                .map(|(_, token)| json!({ "viewer_token": token }))
                .collect();
            // A thousand freshly minted tokens of this room, then all of them sent back.
            let minted = flood(&attacker, url, vec![json!({}); FLOOD]).await;
            let replayed = minted
                .iter()
                .map(|(_, token)| json!({ "viewer_token": token }))
                .collect();
            sent += 3 * FLOOD + foreign.len() + minted.len();
            answers.extend(minted);
            answers.extend(flood(&attacker, url, made_up).await);
            answers.extend(flood(&attacker, url, forged).await);
            answers.extend(flood(&attacker, url, foreign).await);
            answers.extend(flood(&attacker, url, replayed).await);
        }
        (started.elapsed(), sent, answers)
    };
    let (events, (took, sent, answers)) = tokio::join!(sse, async {
        let outcome = attack.await;
        // Give the sweep (200 ms) time to announce the last change before counting events.
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.cancel();
        outcome
    });
    let peak = answers.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let after_attack = viewers(&platform, &target.username).await;
    println!(
        "{sent} heartbeats from 127.0.0.2 in {took:?} ({} answered 200): peak count {peak}, \
         count after {after_attack}, {events} viewers_changed events",
        answers.len()
    );
    assert!(
        peak <= QUOTA && after_attack <= QUOTA,
        "one address moved the count to {} (quota {QUOTA})",
        peak.max(after_attack)
    );
    assert!(
        answers.len() >= sent * 9 / 10,
        "the flood was mostly refused, not measured"
    );
    // Coalesced: at most one event a second (rooms' default interval) for the room, whatever
    // the heartbeat rate; here the quota also bounds the changes themselves.
    let allowed = took.as_secs() as usize + 3;
    assert!(
        events <= allowed,
        "{events} viewers_changed events in {took:?}"
    );

    // Honest viewers from three other addresses: each counts once however often it beats, two
    // through the gateway, one direct.
    let mut tokens: Vec<Option<String>> = vec![None; 3];
    for round in 0..3 {
        for (i, address) in ["127.0.0.3", "127.0.0.4", "127.0.0.5"].iter().enumerate() {
            let url = if i < 2 {
                platform.gateway_url(&format!("/api/rooms/{}/viewers", target.username))
            } else {
                platform.rooms_url(&format!("/api/rooms/{}/viewers", target.username))
            };
            let body = match &tokens[i] {
                Some(token) => json!({ "viewer_token": token }),
                None => json!({}),
            };
            let (_, token) = beat(&client_at(address), &url, body, None)
                .await
                .unwrap_or_else(|| panic!("{address} round {round}"));
            tokens[i] = Some(token);
        }
    }
    let honest = viewers(&platform, &target.username).await;
    println!("after 3 honest viewers x 3 heartbeats: {honest}");
    assert_eq!(honest, after_attack + 3);
    // The service token was only needed to go live; no viewer saw it.
    assert!(!tokens.iter().flatten().any(|t| t.contains(SERVICE_TOKEN)));
}
