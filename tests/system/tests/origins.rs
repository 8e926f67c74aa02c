//! Attacks on where the gateway sends viewers (docs/reliability.md, X1–X2): a room's HLS origin
//! set through rooms' callback, another user's stream ended through it, a room record pointing
//! elsewhere, and an origin answering with headers of its choosing.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{heavy, hls, publisher, Options, Platform};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// An HTTP server that answers every request with `answer` and counts its connections: the
/// attacker's host, or a compromised ingest.
struct FakeOrigin {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl FakeOrigin {
    async fn start(ip: &str, answer: &'static str) -> Self {
        let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self {
            addr,
            connections,
            _task: task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// What a hostile origin answers: HTML with a cookie, a redirect target and a policy of its own.
const HOSTILE: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: ferrocast_session=planted; Path=/\r\nLocation: https://evil.example/\r\nContent-Security-Policy: script-src *\r\nX-Evil: 1\r\nCache-Control: max-age=1\r\nContent-Length: 29\r\nConnection: close\r\n\r\n<script>alert('owned')</script>";

/// The same host's 404, with an HTML body.
const HOSTILE_404: &str = "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nSet-Cookie: a=b\r\nContent-Length: 20\r\nConnection: close\r\n\r\n<h1>not here</h1>   ";

fn publish_form<'a>(key: &'a str, origin: &'a str, session: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("call", "publish"),
        ("app", "live"),
        ("name", key),
        ("addr", "127.0.0.1"),
        ("clientid", "41"),
        ("session_id", session),
        ("origin", origin),
    ]
}

async fn gateway_get(platform: &Platform, path: &str) -> reqwest::Response {
    platform.http.fetch(&platform.gateway_url(path)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x1_a_callback_without_the_service_token_sets_no_origin_and_no_room() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let attacker = FakeOrigin::start("127.0.0.5", HOSTILE).await;
    let streamer = platform.streamer().await;

    // The finding as reported: an own key, an origin of the attacker's, no token.
    let url = attacker.url();
    let form = publish_form(&streamer.key, &url, "attacker-1");
    let response = platform.callback(&form, false).await;
    assert_eq!(response.status(), 401, "untrusted publish callback");
    assert!(!platform.is_live(&streamer.username).await);

    // Even our ingest (the token) cannot name an origin outside the ingest networks.
    for outside in [
        "http://169.254.169.254",
        "http://10.0.0.1:8083",
        "https://evil.example",
    ] {
        let form = publish_form(&streamer.key, outside, "ingest-1");
        let response = platform.callback(&form, true).await;
        assert!(
            response.status().is_client_error() || response.status().is_server_error(),
            "{outside}: {}",
            response.status()
        );
        assert!(!platform.is_live(&streamer.username).await, "{outside}");
    }
    let response = gateway_get(
        &platform,
        &format!("/hls/{}/master.m3u8", streamer.username),
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        attacker.connections(),
        0,
        "the gateway reached the attacker"
    );

    // A host name is pinned to the address it resolves to, so the room names no host.
    let form = publish_form(&streamer.key, "http://localhost:9/", "ingest-2");
    let response = platform.callback(&form, true).await;
    assert!(response.status().is_success(), "{}", response.status());
    let room = platform.internal_room(&streamer.username).await.unwrap();
    let origin = room["origin"].as_str().unwrap();
    assert!(
        origin == "http://127.0.0.1:9" || origin == "http://[::1]:9",
        "{origin}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x1_the_gateway_connects_to_no_origin_outside_the_ingest_networks_whatever_redis_says() {
    let platform = Platform::start(Options {
        ingest_networks: Some("127.0.0.1/32".into()),
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let attacker = FakeOrigin::start("127.0.0.5", HOSTILE).await;
    let ingest = FakeOrigin::start("127.0.0.1", HOSTILE).await;
    let streamer = platform.streamer().await;
    let url = ingest.url();
    let form = publish_form(&streamer.key, &url, "ingest-3");
    assert!(platform.callback(&form, true).await.status().is_success());

    // Someone with Redis access rewrites the room's origin.
    let client = redis::Client::open(platform.redis_url.as_str()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}room:{}", platform.key_prefix, streamer.username);
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("origin")
        .arg(attacker.url())
        .query_async(&mut redis)
        .await
        .unwrap();
    // Past the gateway's lookup cache (1 s).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let response = gateway_get(
        &platform,
        &format!("/hls/{}/master.m3u8", streamer.username),
    )
    .await;
    assert!(response.status().is_server_error(), "{}", response.status());
    assert_eq!(attacker.connections(), 0, "the gateway reached 127.0.0.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x1_hls_answers_carry_only_allowlisted_headers_and_a_content_type_from_the_extension() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    // A compromised ingest inside the ingest networks.
    let ingest = FakeOrigin::start("127.0.0.1", HOSTILE).await;
    let streamer = platform.streamer().await;
    let url = ingest.url();
    let form = publish_form(&streamer.key, &url, "ingest-4");
    assert!(platform.callback(&form, true).await.status().is_success());

    let user = &streamer.username;
    for (path, expected) in [
        (
            format!("/hls/{user}/master.m3u8"),
            "application/vnd.apple.mpegurl",
        ),
        (format!("/hls/{user}/720p/seg-3.ts"), "video/mp2t"),
        (format!("/hls/{user}/720p/init.m4s"), "video/iso.segment"),
    ] {
        let response = gateway_get(&platform, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], expected, "{path}");
        for banned in ["set-cookie", "location", "x-evil"] {
            assert!(headers.get(banned).is_none(), "{path} passed {banned}");
        }
        assert_eq!(headers["cache-control"], "max-age=1", "{path}");
        // The gateway's own policy if any, never the origin's.
        let csp = headers.get_all("content-security-policy");
        assert!(
            csp.iter()
                .all(|v| !v.to_str().unwrap().contains("script-src *")),
            "{path}"
        );
    }
    assert!(ingest.connections() >= 3);

    let not_found = FakeOrigin::start("127.0.0.1", HOSTILE_404).await;
    let viewer = platform.streamer().await;
    let url = not_found.url();
    let form = publish_form(&viewer.key, &url, "ingest-5");
    assert!(platform.callback(&form, true).await.status().is_success());
    let response = gateway_get(&platform, &format!("/hls/{}/master.m3u8", viewer.username)).await;
    assert_eq!(response.status(), 404);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    assert!(!body.contains("<h1>"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x1_nginx_rtmp_mode_records_the_configured_origin_whatever_the_publisher_appends() {
    let nginx_http = FakeOrigin::start("127.0.0.1", HOSTILE).await;
    let platform = Platform::start(Options {
        nginx_mode: Some(("hls".into(), nginx_http.url())),
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let streamer = platform.streamer().await;
    // nginx-rtmp appends the publisher's query string (`?origin=…&session_id=…`) to its form.
    let nginx_form = |name: &'static str, value: &'static str| {
        let key = streamer.key.clone();
        move |call: &'static str, clientid: &'static str| {
            vec![
                ("call", call.to_owned()),
                ("app", "live".to_owned()),
                ("name", key.clone()),
                ("addr", "127.0.0.1".to_owned()),
                ("clientid", clientid.to_owned()),
                (name, value.to_owned()),
            ]
        }
    };
    let form = nginx_form("origin", "http://127.0.0.5:1")("publish", "7");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = platform.callback(&fields, false).await;
    assert_eq!(response.status(), 302, "nginx-rtmp publish");
    let room = platform.internal_room(&streamer.username).await.unwrap();
    assert_eq!(room["origin"], nginx_http.url());

    // A repeated field (the query naming `name` again) refuses the callback outright.
    let form = nginx_form("name", "live_someone_else")("publish", "8");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(platform.callback(&fields, false).await.status(), 400);

    // publish_done: a session id named in the query is ignored and another user's key ends
    // nothing; only nginx's own identification of the publish with the owner's key does.
    let session = room["session_id"].as_str().unwrap().to_owned();
    let other = platform.streamer().await;
    let spoofed = vec![
        ("call", "publish_done"),
        ("app", "live"),
        ("name", other.key.as_str()),
        ("addr", "127.0.0.1"),
        ("clientid", "7"),
    ];
    assert_eq!(platform.callback(&spoofed, false).await.status(), 403);
    let by_id = vec![
        ("call", "publish_done"),
        ("app", "live"),
        ("name", other.key.as_str()),
        ("addr", "127.0.0.9"),
        ("clientid", "99"),
        ("session_id", session.as_str()),
    ];
    assert!(platform.callback(&by_id, false).await.status().is_success());
    assert!(
        platform.is_live(&streamer.username).await,
        "another key ended the room"
    );
    let form = nginx_form("flashver", "LNX 9,0,124,2")("publish_done", "7");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(platform
        .callback(&fields, false)
        .await
        .status()
        .is_success());
    assert!(
        !platform.is_live(&streamer.username).await,
        "the owner's publish_done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x2_nobody_without_the_service_token_learns_a_session_or_ends_a_live_stream() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    let streamer = platform.streamer().await;
    let mut publisher = publisher::publish(&platform.rtmp_url(&streamer.key));
    let variant = hls::wait_for_segments(
        &platform.http,
        &platform.hls_url(""),
        &streamer.username,
        1,
        Duration::from_secs(30),
    )
    .await
    .expect("the stream plays");
    let session = platform.internal_room(&streamer.username).await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The reported attack: read the session id, then end it.
    let lookup = platform
        .http
        .fetch(&platform.rooms_url(&format!("/internal/rooms/{}", streamer.username)))
        .await;
    assert_eq!(lookup.status(), 401);
    let body = lookup.text().await.unwrap();
    assert!(!body.contains(&session), "the session id leaked: {body}");
    let wrong = platform
        .http
        .get(platform.rooms_url(&format!("/internal/rooms/{}", streamer.username)))
        .header("x-service-token", "ferrocast-dev-service-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "the public dev token");
    let done = [
        ("call", "publish_done"),
        ("app", "live"),
        ("session_id", session.as_str()),
    ];
    assert_eq!(platform.callback(&done, false).await.status(), 401);
    let update = [
        ("call", "update"),
        ("app", "live"),
        ("session_id", session.as_str()),
        ("origin", "http://127.0.0.5:1"),
    ];
    assert_eq!(platform.callback(&update, false).await.status(), 401);

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(publisher::running(&mut publisher), "the publisher was cut");
    assert!(platform.is_live(&streamer.username).await, "the room ended");
    let response = gateway_get(&platform, &format!("/hls/{}/{variant}", streamer.username)).await;
    assert_eq!(response.status(), 200, "the stream still plays");
    let _ = publisher.kill().await;
}
