//! Starting the gateway and the upstream stand-ins each test talks to (fakes of users, rooms
//! and the ingest that record what reached them). Raw HTTP and free ports come from the test kit.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use axum::{
    body::{Body, Bytes},
    extract::{Path as UrlPath, Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use ferrocast_gateway::{start, Config};
use ferrocast_testkit::{free_port, http::raw_get};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A running gateway; stopped when dropped.
pub struct Gateway {
    pub addr: SocketAddr,
    pub url: String,
    /// The internal listener: `/healthz`, `/readyz`, `/metrics`.
    pub internal_url: String,
    shutdown: CancellationToken,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Gateway {
    pub async fn start(mut config: Config) -> Self {
        let shutdown = CancellationToken::new();
        config.listen.http_addr = "127.0.0.1:0".into();
        config.listen.internal_addr = "127.0.0.1:0".into();
        let running = start(config, shutdown.clone())
            .await
            .expect("gateway starts");
        let addr = running.http_addr;
        Self {
            addr,
            url: format!("http://{addr}"),
            internal_url: format!("http://{}", running.internal_addr),
            shutdown,
        }
    }

    /// A gateway in front of the given upstreams, serving `dist`.
    pub async fn with(users: &str, rooms: &str, dist: &Path) -> Self {
        let mut config = Config::for_tests();
        config.routes.users_url = users.into();
        config.routes.rooms_url = rooms.into();
        config.routes.frontend_dir = dist.to_path_buf();
        Self::start(config).await
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn internal_at(&self, path: &str) -> String {
        format!("{}{path}", self.internal_url)
    }

    /// Sends `path` byte for byte (clients like reqwest resolve `..` and `%2e%2e` before sending,
    /// which would hide exactly the requests these tests are about). Returns status and raw text.
    pub async fn raw_get(&self, path: &str) -> (u16, String) {
        let answer = raw_get(self.addr, path.as_bytes()).await;
        assert_ne!(answer.status, 0, "a status line: {}", answer.text);
        (answer.status, answer.text)
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Serves `router` on a free loopback port for the rest of the test; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A URL nothing listens on.
pub fn closed_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// An empty frontend directory for tests that do not look at pages.
pub fn no_dist() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Every path an upstream stand-in received.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, path: String) {
        if let Ok(mut paths) = self.0.lock() {
            paths.push(path);
        }
    }

    pub fn paths(&self) -> Vec<String> {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// An upstream that echoes what it received as JSON and sets two cookies. The answer's status is
/// taken from the request's `x-test-status` header (default 200).
pub async fn echo_upstream() -> (String, Seen) {
    let seen = Seen::default();
    let router = Router::new().fallback(echo).with_state(seen.clone());
    (serve(router).await, seen)
}

async fn echo(State(seen): State<Seen>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    seen.push(path.clone());
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = header("x-test-status")
        .and_then(|s| s.parse().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let echoed = json!({
        "method": parts.method.as_str(),
        "path": path,
        "body": String::from_utf8_lossy(&body),
        "cookie": header("cookie"),
        "authorization": header("authorization"),
        "content_type": header("content-type"),
        "request_id": header("x-request-id"),
        "forwarded_for": header("x-forwarded-for"),
        "connection_header_leaked": header("x-hop"),
    });
    let mut response = (status, Json(echoed)).into_response();
    for cookie in [
        "ferrocast_session=abc; HttpOnly; Path=/",
        "second=2; Path=/",
    ] {
        response
            .headers_mut()
            .append("set-cookie", cookie.parse().expect("cookie"));
    }
    response
}

/// The rooms stand-in: the internal lookup (counted), an SSE stream the test feeds (also at the
/// catalogue's `/api/media/progress`, for a test that points the catalogue here), `/healthz`,
/// and an echo for everything else.
#[derive(Clone, Default)]
pub struct Rooms {
    pub seen: Seen,
    lookups: Arc<AtomicUsize>,
    live: Arc<Mutex<HashMap<String, String>>>,
    events: Arc<Mutex<Option<mpsc::Receiver<String>>>>,
}

impl Rooms {
    pub async fn start() -> (String, Self) {
        let rooms = Self::default();
        let router = Router::new()
            .route("/internal/rooms/{username}", get(lookup))
            .route("/api/events", get(events))
            .route("/api/media/progress", get(events))
            .route("/healthz", get(|| async { "ok" }))
            .fallback(rooms_echo)
            .with_state(rooms.clone());
        (serve(router).await, rooms)
    }

    pub fn set_live(&self, username: &str, origin: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(username.into(), origin.into());
        }
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    /// The sender that feeds the next event stream; dropping it ends the stream.
    pub fn event_feed(&self) -> mpsc::Sender<String> {
        let (sender, receiver) = mpsc::channel(8);
        if let Ok(mut slot) = self.events.lock() {
            *slot = Some(receiver);
        }
        sender
    }
}

async fn lookup(State(rooms): State<Rooms>, UrlPath(username): UrlPath<String>) -> Response {
    rooms.lookups.fetch_add(1, Ordering::SeqCst);
    rooms.seen.push(format!("/internal/rooms/{username}"));
    let origin = rooms
        .live
        .lock()
        .ok()
        .and_then(|l| l.get(&username).cloned());
    match origin {
        Some(origin) => Json(json!({"username": username, "session_id": "s-1", "origin": origin}))
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn events(State(rooms): State<Rooms>) -> Response {
    let receiver = rooms.events.lock().ok().and_then(|mut slot| slot.take());
    let Some(receiver) = receiver else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<_, std::io::Error>(Bytes::from(event)), receiver))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert("content-type", "text/event-stream".parse().expect("mime"));
    response
}

async fn rooms_echo(State(rooms): State<Rooms>, request: Request) -> Response {
    echo(State(rooms.seen), request).await
}

/// An ingest stand-in: answers every `/hls/...` with `{name}:{path}` and records whether the
/// request carried credentials.
pub async fn ingest(name: &'static str) -> (String, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .fallback(
            move |State(seen): State<Seen>, headers: HeaderMap, request: Request| async move {
                let path = request.uri().path().to_owned();
                let credentials =
                    headers.contains_key("cookie") || headers.contains_key("authorization");
                seen.push(format!("{path} credentials={credentials}"));
                (
                    [
                        ("content-type", "application/vnd.apple.mpegurl"),
                        ("cache-control", "no-cache"),
                    ],
                    format!("{name}:{path}"),
                )
            },
        )
        .with_state(seen.clone());
    (serve(router).await, seen)
}
