//! The live path under faults: bad keys over RTMP (A1), users down (A2), duplicate publish (L1),
//! frozen publisher (L2), the ingest's ffmpeg killed (L3), the ingest process killed (L4), Redis
//! restarted (L5), and slow viewers (H1). Every case runs real ffmpeg publishers against the
//! whole platform; `heavy()` keeps them one at a time.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ferrocast_ingest::adapters::media::CopyMuxer;
use ferrocast_testkit::{
    eventually, free_port, heavy,
    hls::{self, MediaPlaylist},
    platform::SERVICE_TOKEN,
    process::{children_named, signal},
    publisher, rtmp, Options, Platform, Streamer,
};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    time::Instant,
};

fn origin(platform: &Platform) -> String {
    platform.hls_url("")
}

/// Waits for `streamer`'s first segments; returns the variant playlist URI.
async fn segments_flow(platform: &Platform, streamer: &Streamer) -> String {
    hls::wait_for_segments(
        &platform.http,
        &origin(platform),
        &streamer.username,
        2,
        Duration::from_secs(30),
    )
    .await
    .unwrap_or_else(|| panic!("{} produced no segments", streamer.username))
}

async fn playlist(
    platform: &Platform,
    streamer: &Streamer,
    variant: &str,
) -> Option<MediaPlaylist> {
    hls::playlist(
        &platform.http,
        &origin(platform),
        &streamer.username,
        variant,
    )
    .await
}

/// Whether the playlist gains at least `segments` new segments within `limit`.
async fn keeps_producing(
    platform: &Platform,
    streamer: &Streamer,
    variant: &str,
    segments: u64,
    limit: Duration,
) -> bool {
    let Some(start) = playlist(platform, streamer, variant).await else {
        return false;
    };
    eventually(limit, || async {
        playlist(platform, streamer, variant)
            .await
            .is_some_and(|p| p.next_sequence() >= start.next_sequence() + segments)
    })
    .await
}

/// The session id rooms holds for `username` (internal lookup).
async fn session_of(platform: &Platform, username: &str) -> Option<String> {
    platform.internal_room(username).await?["session_id"]
        .as_str()
        .map(str::to_owned)
}

/// Waits up to `limit` for a child process to exit; its exit status if it did.
async fn exits_within(
    child: &mut tokio::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    tokio::time::timeout(limit, child.wait()).await.ok()?.ok()
}

/// The ingest's own ffmpeg pipelines (children of this process reading FLV from stdin).
fn ingest_ffmpegs() -> Vec<u32> {
    children_named("ffmpeg")
        .into_iter()
        .filter(|(_, cmdline)| cmdline.contains("pipe:0"))
        .map(|(pid, _)| pid)
        .collect()
}

/// A raw RTMP publish of `key`: whether the server said `NetStream.Publish.Start`, and the
/// connection (still open or not).
async fn raw_publish(platform: &Platform, key: &str) -> (bool, tokio::net::TcpStream) {
    let publish = rtmp::publish(platform.ingest_rtmp.unwrap(), "live", key)
        .await
        .unwrap();
    (publish.started, publish.stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a1_bad_stream_keys_are_refused_over_rtmp_and_create_no_room() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    let victim = platform.streamer().await;
    let rotated_out = victim.key.clone();
    let current = platform.rotate_key(&victim.token).await;
    let cases = [
        ("empty", String::new()),
        ("10 kB", format!("live_{}", "A".repeat(10_240))),
        ("unicode", "live_ключ🔑é\u{202e}".to_owned()),
        ("rotated-out key", rotated_out.clone()),
        ("unknown", format!("live_{}", "x".repeat(32))),
        ("current key with a query", format!("{current}?x=1")),
    ];
    let mut published = Vec::new();
    for (case, key) in &cases {
        let (started, _stream) = raw_publish(&platform, key).await;
        if started {
            published.push(*case);
        }
    }
    assert!(
        published.is_empty(),
        "publish started with bad keys: {published:?}"
    );
    // ffmpeg with the rotated-out key gives up quickly (nginx-rtmp: exit 1 after ≈ 0.26 s).
    let mut ffmpeg = publisher::publish(&platform.rtmp_url(&rotated_out));
    let status = exits_within(&mut ffmpeg, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "ffmpeg with a rotated-out key: {status:?}"
    );
    assert!(!platform.is_live(&victim.username).await);
    // The right key over the same path works.
    let (started, _stream) = raw_publish(&platform, &current).await;
    assert!(started, "the current key must publish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a1_rotating_the_key_cuts_the_stream_that_uses_the_old_key() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    let streamer = platform.streamer().await;
    let mut ffmpeg = publisher::publish(&platform.rtmp_url(&streamer.key));
    segments_flow(&platform, &streamer).await;
    platform.rotate_key(&streamer.token).await;
    // ARCHITECTURE.md: "Rotation cuts an active stream using the old key."
    let cut = exits_within(&mut ffmpeg, Duration::from_secs(15))
        .await
        .is_some();
    let room_gone = platform
        .wait_live(&streamer.username, false, Duration::from_secs(10))
        .await;
    assert!(
        cut && room_gone,
        "after rotation: publisher cut {cut}, room gone {room_gone}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_duplicate_publish_is_refused_and_the_first_stream_goes_on() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    let streamer = platform.streamer().await;
    let _first = publisher::publish(&platform.rtmp_url(&streamer.key));
    let variant = segments_flow(&platform, &streamer).await;
    let session = session_of(&platform, &streamer.username).await.unwrap();

    let mut second = publisher::publish(&platform.rtmp_url(&streamer.key));
    let status = exits_within(&mut second, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "the second publisher was not refused: {status:?}"
    );
    // Also a raw second publish: never told Publish.Start.
    let (started, _stream) = raw_publish(&platform, &streamer.key).await;
    assert!(!started, "a raw duplicate publish started");
    assert!(
        keeps_producing(&platform, &streamer, &variant, 3, Duration::from_secs(10)).await,
        "the first stream stopped producing segments"
    );
    assert_eq!(
        session_of(&platform, &streamer.username).await.as_deref(),
        Some(session.as_str()),
        "the room changed session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l2_frozen_publisher_is_ended_after_the_idle_timeout_and_its_room_goes() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options {
        idle_timeout_ms: 2_000,
        ..Options::default()
    })
    .await
    .unwrap();
    // A publisher that never sends media.
    let silent = platform.streamer().await;
    let (started, mut stream) = raw_publish(&platform, &silent.key).await;
    assert!(started);
    assert!(platform.is_live(&silent.username).await);
    let (closed, _) = rtmp::closed_within(&mut stream, Duration::from_secs(6)).await;
    assert!(closed, "a silent publisher was not disconnected");
    assert!(
        platform
            .wait_live(&silent.username, false, Duration::from_secs(5))
            .await,
        "the silent publisher's room stayed"
    );

    // A publisher that froze mid-stream (SIGSTOP: TCP open, no data).
    let frozen = platform.streamer().await;
    let mut ffmpeg = publisher::publish(&platform.rtmp_url(&frozen.key));
    segments_flow(&platform, &frozen).await;
    let pid = ffmpeg.id().unwrap();
    signal(pid, "-STOP");
    let frozen_at = Instant::now();
    let gone = platform
        .wait_live(&frozen.username, false, Duration::from_secs(10))
        .await;
    let took = frozen_at.elapsed();
    signal(pid, "-CONT");
    let _ = ffmpeg.kill().await;
    assert!(gone, "the frozen publisher's room stayed");
    eprintln!("L2: room of a frozen publisher gone {took:?} after the freeze");
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

/// The L3 cases crash the pipeline's ffmpeg: with the default settings a passthrough-only
/// stream has none (the ingest remuxes it itself), so ffmpeg writes the passthrough here.
fn ffmpeg_writes_the_passthrough() -> Options {
    Options {
        copy_muxer: CopyMuxer::Ffmpeg,
        ..Options::default()
    }
}

/// Publishes, waits for segments and SIGKILLs the ingest's pipeline ffmpeg twice (the restart
/// budget is one); returns the publisher, the variant and whether the first crash was ridden out.
async fn crash_pipeline_twice(
    platform: &Platform,
    streamer: &Streamer,
) -> (tokio::process::Child, String) {
    let ffmpeg = publisher::publish(&platform.rtmp_url(&streamer.key));
    let variant = segments_flow(platform, streamer).await;
    let pipelines = ingest_ffmpegs();
    assert_eq!(
        pipelines.len(),
        1,
        "one pipeline ffmpeg expected: {pipelines:?}"
    );

    // First crash: within the restart budget (FERROCAST_FFMPEG_MAX_RESTARTS=1).
    signal(pipelines[0], "-KILL");
    assert!(
        keeps_producing(platform, streamer, &variant, 3, Duration::from_secs(15)).await,
        "segments stopped after one ffmpeg crash"
    );
    assert!(platform.is_live(&streamer.username).await);
    let restarted = ingest_ffmpegs();
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    assert_ne!(restarted, pipelines);

    // Second crash: the budget is spent and the stream must end.
    signal(restarted[0], "-KILL");
    (ffmpeg, variant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l3_killing_the_ingests_ffmpeg_restarts_it_once_then_ends_the_room_and_the_publish() {
    let _heavy = heavy().await;
    let platform = Platform::start(ffmpeg_writes_the_passthrough())
        .await
        .unwrap();
    let streamer = platform.streamer().await;
    let (mut ffmpeg, _variant) = crash_pipeline_twice(&platform, &streamer).await;
    assert!(
        platform
            .wait_live(&streamer.username, false, Duration::from_secs(10))
            .await,
        "zombie room after the pipeline gave up"
    );
    assert!(
        exits_within(&mut ffmpeg, Duration::from_secs(10))
            .await
            .is_some(),
        "the publisher was not disconnected"
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            ingest_ffmpegs().is_empty()
        })
        .await,
        "ffmpeg processes left: {:?}",
        ingest_ffmpegs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l3_a_pipeline_that_gives_up_closes_its_playlists_with_endlist() {
    let _heavy = heavy().await;
    let platform = Platform::start(ffmpeg_writes_the_passthrough())
        .await
        .unwrap();
    let streamer = platform.streamer().await;
    let (_ffmpeg, variant) = crash_pipeline_twice(&platform, &streamer).await;
    platform
        .wait_live(&streamer.username, false, Duration::from_secs(10))
        .await;
    // Players must learn the stream ended (ENDLIST) rather than see a frozen live playlist;
    // a 404 once the files are cleaned up is fine too.
    let ended = playlist(&platform, &streamer, &variant).await;
    assert!(
        ended.as_ref().is_none_or(|p| p.ended),
        "the playlist is still served without ENDLIST: {ended:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2_users_down_refuses_publishes_keeps_live_streams_and_answers_logins_fast() {
    let _heavy = heavy().await;
    let mut platform = Platform::start(Options::default()).await.unwrap();
    let live = platform.streamer().await;
    let newcomer = platform.streamer().await;
    let _ffmpeg = publisher::publish(&platform.rtmp_url(&live.key));
    let variant = segments_flow(&platform, &live).await;

    platform.stop_users().await;
    // New publish: refused (fail closed), quickly.
    let started = Instant::now();
    let mut refused = publisher::publish(&platform.rtmp_url(&newcomer.key));
    let status = exits_within(&mut refused, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "a publish was not refused with users down: {status:?}"
    );
    eprintln!("A2: publish refused {:?} after start", started.elapsed());
    assert!(!platform.is_live(&newcomer.username).await);
    // The live stream continues for several leases.
    assert!(
        keeps_producing(&platform, &live, &variant, 5, Duration::from_secs(12)).await,
        "the live stream stopped while users was down"
    );
    assert!(
        platform.is_live(&live.username).await,
        "the live room ended"
    );
    // Logins fail fast with the JSON envelope (gateway: upstream down).
    let started = Instant::now();
    let response = platform
        .http
        .post(platform.gateway_url("/api/users/login"))
        .json(&json!({ "login": live.username, "password": "whatever123" }))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    eprintln!("A2: login with users down: {status} {body} in {took:?}");
    assert!(matches!(status, 502 | 503), "{status}");
    assert!(body["error"]["code"].is_string());
    assert!(took < Duration::from_secs(3));

    // Back: publishes work again.
    platform.restart_users().await.unwrap();
    let _again = publisher::publish(&platform.rtmp_url(&newcomer.key));
    segments_flow(&platform, &newcomer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2_users_store_down_refuses_publishes_and_keeps_live_streams() {
    let _heavy = heavy().await;
    let mut platform = Platform::start(Options {
        persistent_store: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let live = platform.streamer().await;
    let newcomer = platform.streamer().await;
    let _ffmpeg = publisher::publish(&platform.rtmp_url(&live.key));
    let variant = segments_flow(&platform, &live).await;
    // Users is up but cannot answer (its store is gone): the slow/unhealthy dependency case.
    platform.store.stop().await.unwrap();
    let mut refused = publisher::publish(&platform.rtmp_url(&newcomer.key));
    let status = exits_within(&mut refused, Duration::from_secs(15)).await;
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    assert!(!platform.is_live(&newcomer.username).await);
    assert!(keeps_producing(&platform, &live, &variant, 5, Duration::from_secs(12)).await);
    assert!(platform.is_live(&live.username).await);
    platform.store.restart().await.unwrap();
}

/// Environment of the ingest child process (same settings as the in-process one).
fn child_env(
    platform: &Platform,
    hls_root: &std::path::Path,
    rtmp_port: u16,
    http_port: u16,
) -> Vec<(String, String)> {
    [
        ("FERROCAST_SERVICE_TOKEN", SERVICE_TOKEN.to_owned()),
        (
            "FERROCAST_USERS_GRPC_URL",
            format!("http://{}", platform.users_grpc),
        ),
        (
            "FERROCAST_ROOMS_CALLBACK_URL",
            platform.rooms_url("/callbacks/rtmp"),
        ),
        (
            "FERROCAST_INGEST_RTMP_ADDR",
            format!("127.0.0.1:{rtmp_port}"),
        ),
        (
            "FERROCAST_INGEST_HTTP_ADDR",
            format!("127.0.0.1:{http_port}"),
        ),
        (
            "FERROCAST_INGEST_ORIGIN_URL",
            format!("http://127.0.0.1:{http_port}"),
        ),
        ("FERROCAST_HLS_ROOT", hls_root.display().to_string()),
        ("FERROCAST_HLS_LADDER", String::new()),
        // The child runs an ffmpeg per stream (its binary sets that), so the case can check none
        // is orphaned when the ingest dies.
        ("FERROCAST_INGEST_UPDATE_INTERVAL_MS", "500".to_owned()),
        ("FERROCAST_INGEST_IDLE_TIMEOUT_MS", "2000".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn spawn_child_ingest(env: &[(String, String)]) -> tokio::process::Child {
    ferrocast_testkit::process::spawn_service(
        std::path::Path::new(env!("CARGO_BIN_EXE_ferrocast-system-ingest")),
        env,
    )
}

/// ffmpeg processes whose parent is `pid` or that were orphaned from it (parent 1 / subreaper)
/// and still read FLV from stdin.
fn pipeline_processes_anywhere() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c).replace('\0', " ");
                c.starts_with("ffmpeg") && c.contains("pipe:0") && c.contains("/child/")
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l4_ingest_killed_leaves_no_room_beyond_the_lease_and_a_restart_accepts_the_key() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options {
        lease_seconds: 3,
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let streamer = platform.streamer().await;
    let (rtmp_port, http_port) = (free_port(), free_port());
    // The platform runs no ingest of its own, so it has no HLS folder to lend the child.
    let hls_root = tempfile::tempdir().unwrap();
    let env = child_env(&platform, hls_root.path(), rtmp_port, http_port);
    let mut child = spawn_child_ingest(&env);
    let url = format!("rtmp://127.0.0.1:{rtmp_port}/live/{}", streamer.key);
    assert!(
        eventually(Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", rtmp_port))
                .await
                .is_ok()
        })
        .await
    );
    let mut ffmpeg = publisher::publish(&url);
    let base = format!("http://127.0.0.1:{http_port}");
    hls::wait_for_segments(
        &platform.http,
        &base,
        &streamer.username,
        2,
        Duration::from_secs(30),
    )
    .await
    .expect("segments from the child ingest");
    assert!(platform.is_live(&streamer.username).await);

    child.start_kill().unwrap();
    let killed_at = Instant::now();
    let _ = child.wait().await;
    let gone = platform
        .wait_live(&streamer.username, false, Duration::from_secs(10))
        .await;
    let took = killed_at.elapsed();
    eprintln!("L4: room gone {took:?} after SIGKILL of the ingest (lease 3 s)");
    assert!(gone, "stale room after the ingest died");
    assert!(
        took < Duration::from_secs(5),
        "room outlived the lease: {took:?}"
    );
    let _ = exits_within(&mut ffmpeg, Duration::from_secs(5)).await;
    // The dead ingest's ffmpeg lost its stdin: it must not linger as an orphan.
    assert!(
        eventually(Duration::from_secs(10), || async {
            pipeline_processes_anywhere().is_empty()
        })
        .await,
        "orphaned pipeline ffmpeg after the ingest died: {:?}",
        pipeline_processes_anywhere()
    );

    // A restarted ingest accepts the same key again.
    let mut child = spawn_child_ingest(&env);
    assert!(
        eventually(Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", rtmp_port))
                .await
                .is_ok()
        })
        .await
    );
    let _ffmpeg = publisher::publish(&url);
    assert!(
        platform
            .wait_live(&streamer.username, true, Duration::from_secs(20))
            .await,
        "the restarted ingest did not accept the key"
    );
    let _ = child.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l5_redis_restart_recreates_live_rooms_and_keeps_no_stale_ones() {
    let _heavy = heavy().await;
    let mut platform = Platform::start(Options {
        own_redis: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let a = platform.streamer().await;
    let b = platform.streamer().await;
    let _fa = publisher::publish(&platform.rtmp_url(&a.key));
    let mut fb = publisher::publish(&platform.rtmp_url(&b.key));
    segments_flow(&platform, &a).await;
    segments_flow(&platform, &b).await;
    let mut live = platform.live_rooms().await.unwrap();
    live.sort();
    let mut expected = vec![a.username.clone(), b.username.clone()];
    expected.sort();
    assert_eq!(live, expected);

    // Redis loses everything; b stops while Redis is away.
    platform.redis.as_mut().unwrap().stop().await.unwrap();
    let _ = fb.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    platform.redis.as_mut().unwrap().restart().await.unwrap();

    let recreated = eventually(Duration::from_secs(15), || async {
        platform.live_rooms().await == Some(vec![a.username.clone()])
    })
    .await;
    let listed = platform.live_rooms().await;
    assert!(
        recreated,
        "after the Redis restart the list is {listed:?}, expected only {}",
        a.username
    );
    // And it stays exact for a few lease periods (b does not come back).
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(platform.live_rooms().await, Some(vec![a.username.clone()]));
    let origin_ok = session_of(&platform, &a.username).await.is_some();
    assert!(
        origin_ok,
        "the recreated room has no origin for the gateway"
    );
    let through_gateway = hls::get_text(
        &platform.http,
        &platform.gateway_url(&format!("/hls/{}/master.m3u8", a.username)),
    )
    .await;
    assert!(
        through_gateway.is_some(),
        "HLS through the gateway after recreation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_slow_viewers_do_not_delay_segment_production() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    let streamer = platform.streamer().await;
    let _ffmpeg = publisher::publish(&platform.rtmp_url(&streamer.key));
    let variant = segments_flow(&platform, &streamer).await;
    let rendition = variant.split('/').next().unwrap().to_owned();
    let origin_addr = platform.hls_origin.unwrap();

    // 20 viewers, each reading a segment at 10 kB/s with a tiny receive window, through the
    // origin and through the gateway.
    let stop = tokio_util::sync::CancellationToken::new();
    let mut viewers = Vec::new();
    for i in 0..20 {
        let current = playlist(&platform, &streamer, &variant).await.unwrap();
        let segment = current.segments.last().unwrap().clone();
        let addr = if i % 2 == 0 {
            origin_addr
        } else {
            platform.gateway_http()
        };
        let path = format!("/hls/{}/{rendition}/{segment}", streamer.username);
        let stop = stop.clone();
        viewers.push(tokio::spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let mut stream = socket.connect(addr).await.unwrap();
            stream
                .write_all(
                    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
            let mut buffer = [0u8; 1024];
            let mut read = 0usize;
            while !stop.is_cancelled() {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            read
        }));
    }

    // Segment production: watch the playlist for 12 s; 1 s segments.
    let watch_start = Instant::now();
    let first = playlist(&platform, &streamer, &variant).await.unwrap();
    let mut last_change = Instant::now();
    let mut last_sequence = first.next_sequence();
    let mut longest_gap = Duration::ZERO;
    while watch_start.elapsed() < Duration::from_secs(12) {
        if let Some(p) = playlist(&platform, &streamer, &variant).await {
            if p.next_sequence() != last_sequence {
                longest_gap = longest_gap.max(last_change.elapsed());
                last_change = Instant::now();
                last_sequence = p.next_sequence();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    longest_gap = longest_gap.max(last_change.elapsed());
    stop.cancel();
    let mut bytes = Vec::new();
    for viewer in viewers {
        bytes.push(viewer.await.unwrap());
    }
    let produced = last_sequence - first.next_sequence();
    eprintln!(
        "H1: {produced} segments in 12 s with 20 slow viewers, longest gap {longest_gap:?}, bytes read per viewer {bytes:?}"
    );
    assert!(
        bytes.iter().all(|b| *b > 0),
        "some slow viewers got nothing"
    );
    assert!(produced >= 9, "only {produced} segments in 12 s");
    assert!(
        longest_gap < Duration::from_millis(2_500),
        "gap {longest_gap:?}"
    );
}
