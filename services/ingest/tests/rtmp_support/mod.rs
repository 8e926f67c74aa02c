//! Shared pieces of the RTMP integration tests: the real users service on a real document
//! store (stream keys made through its REST API), the real rooms service on Redis, the ingest on
//! port 0 with a transcoder that records what reaches it, an ffmpeg publisher, and a raw RTMP
//! client for the abuse cases.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use ferrocast_ingest::{
    ports::{BoxFuture, MediaError, MediaPacket, MediaSink, Publisher, Rendition, Transcoder},
    Config,
};
use ferrocast_testkit::{redis_url, unique_name, DocumentStore};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};
use tokio_util::sync::CancellationToken;

/// The token users, rooms and the ingest share in tests (`Config::for_tests` of users sets it).
pub const SERVICE_TOKEN: &str = ferrocast_kit::config::TEST_SERVICE_TOKEN;

const PASSWORD: &str = "correct horse battery";

/// A user signed up in the real users service, with a stream key of their own.
#[derive(Clone)]
pub struct TestUser {
    pub key: String,
    pub user_id: String,
    pub username: String,
}

/// A well-formed stream key that no user has.
pub fn unknown_key() -> String {
    format!("live_{}", unique_name("k"))
}

/// The real users service, in-process on port 0, on its own database.
pub struct Users {
    /// The gRPC URL the ingest and rooms authenticate against.
    pub url: String,
    pub http_base: String,
    http: reqwest::Client,
    _store: DocumentStore,
    _stop: tokio_util::sync::DropGuard,
    // Dropping it would abort the service's tasks.
    _running: ferrocast_users::Running,
}

pub async fn start_users() -> Users {
    let store = DocumentStore::start().await.expect("document store starts");
    let config = ferrocast_users::Config::for_tests(store.url(), store.database());
    let stop = CancellationToken::new();
    let running = ferrocast_users::start(config, stop.clone())
        .await
        .expect("users starts");
    Users {
        url: format!("http://{}", running.grpc_addr),
        http_base: format!("http://{}", running.http_addr),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        _store: store,
        _stop: stop.drop_guard(),
        _running: running,
    }
}

impl Users {
    /// Signs a unique user up, logs in and creates their stream key, all through the REST API.
    pub async fn streamer(&self) -> TestUser {
        let username = unique_name("u_");
        let response = self
            .http
            .post(format!("{}/api/users", self.http_base))
            .json(&json!({
                "username": username,
                "email": format!("{username}@example.com"),
                "password": PASSWORD,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "signup");
        let user_id = response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let response = self
            .http
            .post(format!("{}/api/users/login", self.http_base))
            .json(&json!({ "login": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login");
        let token = response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let response = self
            .http
            .post(format!("{}/api/users/me/stream-key", self.http_base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "stream key");
        let key = response.json::<Value>().await.unwrap()["stream_key"]
            .as_str()
            .expect("stream_key")
            .to_owned();
        TestUser {
            key,
            user_id,
            username,
        }
    }

    /// Rotates `user`'s stream key as the dashboard does (log in, `POST
    /// /api/users/me/stream-key`) and returns the new key; the old one stops working at once.
    pub async fn rotate_key(&self, user: &TestUser) -> String {
        let response = self
            .http
            .post(format!("{}/api/users/login", self.http_base))
            .json(&json!({ "login": user.username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login");
        let token = response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let response = self
            .http
            .post(format!("{}/api/users/me/stream-key", self.http_base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "rotated stream key");
        let key = response.json::<Value>().await.unwrap()["stream_key"]
            .as_str()
            .expect("stream_key")
            .to_owned();
        assert_ne!(key, user.key, "rotation makes a new key");
        key
    }

    /// Stops the users service (gRPC and REST) and waits until it has; its URL then refuses
    /// connections, as during an outage.
    pub async fn stop(self) {
        let Users {
            _stop, _running, ..
        } = self;
        _stop.disarm().cancel();
        tokio::time::timeout(Duration::from_secs(15), _running.wait())
            .await
            .expect("users stops");
    }

    /// `users_grpc_requests_total{method="AuthenticateStreamKey",code=...}` from users'
    /// `/metrics`. The recorder is process-wide: it counts the calls of every test in this
    /// binary, so compare before/after for an outcome no concurrent test produces.
    pub async fn stream_key_checks(&self, code: &str) -> u64 {
        let body = self
            .http
            .get(format!("{}/metrics", self.http_base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.lines()
            .filter(|line| {
                line.starts_with("users_grpc_requests_total{")
                    && line.contains("method=\"AuthenticateStreamKey\"")
                    && line.contains(&format!("code=\"{code}\""))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|value| value as u64)
            .sum()
    }
}

/// A users URL where nothing listens (a port that was free a moment ago).
pub fn users_down_url() -> String {
    format!("http://127.0.0.1:{}", ferrocast_testkit::free_port())
}

/// The real rooms service on the local Redis, under a unique key prefix.
pub struct Rooms {
    pub base: String,
    _stop: tokio_util::sync::DropGuard,
    // Dropping it would abort the service's tasks.
    _running: ferrocast_rooms::Running,
}

pub async fn start_rooms(users_url: &str, lease_seconds: u64) -> Rooms {
    let mut config = ferrocast_rooms::Config::for_tests(
        redis_url(),
        format!("{}:", unique_name("t")),
        users_url,
        SERVICE_TOKEN,
    );
    config.lease = std::time::Duration::from_secs(lease_seconds);
    let stop = CancellationToken::new();
    let running = ferrocast_rooms::start(config, stop.clone()).await.unwrap();
    Rooms {
        base: format!("http://{}", running.http_addr),
        _stop: stop.drop_guard(),
        _running: running,
    }
}

impl Rooms {
    pub fn callback_url(&self) -> String {
        format!("{}/callbacks/rtmp", self.base)
    }

    /// Whether `GET /api/rooms/{username}` finds a live room.
    pub async fn is_live(&self, username: &str) -> bool {
        let url = format!("{}/api/rooms/{username}", self.base);
        match reqwest::get(url).await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }
}

/// What reached the media pipeline, per publish.
#[derive(Default, Debug, Clone)]
pub struct Received {
    pub video: usize,
    pub audio: usize,
    pub metadata: usize,
    pub finished: bool,
}

/// A transcoder that counts packets per username.
#[derive(Default, Clone)]
pub struct RecordingTranscoder {
    pub starts: Arc<AtomicUsize>,
    pub received: Arc<Mutex<HashMap<String, Received>>>,
}

impl RecordingTranscoder {
    pub fn received(&self, username: &str) -> Received {
        self.received
            .lock()
            .unwrap()
            .get(username)
            .cloned()
            .unwrap_or_default()
    }
}

impl Transcoder for RecordingTranscoder {
    fn start(
        &self,
        publisher: &Publisher,
    ) -> BoxFuture<'_, Result<Box<dyn MediaSink>, MediaError>> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        self.received
            .lock()
            .unwrap()
            .insert(publisher.username.clone(), Received::default());
        let sink = RecordingSink {
            username: publisher.username.clone(),
            received: self.received.clone(),
        };
        Box::pin(async move { Ok(Box::new(sink) as Box<dyn MediaSink>) })
    }
}

struct RecordingSink {
    username: String,
    received: Arc<Mutex<HashMap<String, Received>>>,
}

impl MediaSink for RecordingSink {
    fn push(&mut self, packet: MediaPacket) -> Result<(), MediaError> {
        let mut all = self.received.lock().unwrap();
        let entry = all.entry(self.username.clone()).or_default();
        match packet {
            MediaPacket::Video { .. } => entry.video += 1,
            MediaPacket::Audio { .. } => entry.audio += 1,
            MediaPacket::Metadata { .. } => entry.metadata += 1,
        }
        Ok(())
    }
    fn renditions(&self) -> Vec<Rendition> {
        vec![Rendition {
            name: "source".into(),
            width: 640,
            height: 360,
            bandwidth: 1_000_000,
        }]
    }
    fn failed(&self) -> BoxFuture<'static, MediaError> {
        Box::pin(std::future::pending())
    }
    fn finish(self: Box<Self>) -> BoxFuture<'static, ()> {
        if let Some(entry) = self.received.lock().unwrap().get_mut(&self.username) {
            entry.finished = true;
        }
        Box::pin(async {})
    }
}

/// The ingest under test.
pub struct Ingest {
    pub rtmp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub transcoder: RecordingTranscoder,
    pub shutdown: CancellationToken,
    running: Option<ferrocast_ingest::Running>,
}

pub async fn start_ingest(
    users_url: &str,
    rooms_callback_url: &str,
    tweak: impl FnOnce(&mut Config),
) -> Ingest {
    ferrocast_kit::telemetry::init("ingest-test");
    let mut config = Config::for_tests(users_url, rooms_callback_url, SERVICE_TOKEN).unwrap();
    tweak(&mut config);
    let transcoder = RecordingTranscoder::default();
    let shutdown = CancellationToken::new();
    let running = ferrocast_ingest::start_with_transcoder(
        config,
        Arc::new(transcoder.clone()),
        shutdown.clone(),
    )
    .await
    .unwrap();
    Ingest {
        rtmp_addr: running.rtmp_addr,
        http_addr: running.http_addr,
        transcoder,
        shutdown,
        running: Some(running),
    }
}

impl Ingest {
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{key}", self.rtmp_addr)
    }

    /// Stops the ingest and waits for it (live sessions send publish_done first).
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(15), running.wait())
                .await
                .expect("ingest stops");
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The ingest as `main.rs` runs it: [`ferrocast_ingest::start`] with the real ffmpeg ladder
/// writing under `hls_root` (x264 `ultrafast` to spare the CI cores, a short cleanup grace) and
/// the HLS origin.
pub struct LiveIngest {
    pub rtmp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub shutdown: CancellationToken,
    running: Option<ferrocast_ingest::Running>,
}

pub async fn start_live_ingest(
    users_url: &str,
    rooms_callback_url: &str,
    hls_root: &Path,
) -> LiveIngest {
    ferrocast_kit::telemetry::init("ingest-test");
    let mut config = Config::for_tests(users_url, rooms_callback_url, SERVICE_TOKEN).unwrap();
    config.media.hls_root = hls_root.to_path_buf();
    config.media.hls_x264_preset = "ultrafast".into();
    config.media.cleanup_grace = Duration::from_secs(2);
    let shutdown = CancellationToken::new();
    let running = ferrocast_ingest::start(config, shutdown.clone())
        .await
        .expect("ingest starts");
    LiveIngest {
        rtmp_addr: running.rtmp_addr,
        http_addr: running.http_addr,
        shutdown,
        running: Some(running),
    }
}

impl LiveIngest {
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{key}", self.rtmp_addr)
    }

    /// `http://.../hls/{username}`: where viewers find the stream.
    pub fn hls_base(&self, username: &str) -> String {
        format!("http://{}/hls/{username}", self.http_addr)
    }

    /// Stops the ingest and waits until every pipeline has closed its playlists.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(15), running.wait())
                .await
                .expect("ingest stops");
        }
    }
}

impl Drop for LiveIngest {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `(status, content type, body)` of a GET, `None` when the request failed.
pub async fn http_get(url: &str) -> Option<(u16, String, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.ok()?;
    Some((status, content_type, body))
}

/// Pids of processes with `path` in their command line (ffmpeg children write under the HLS
/// root; the stream key is never in their argv).
pub fn pids_with_arg(path: &Path) -> Vec<u32> {
    let output = std::process::Command::new("pgrep")
        .args(["-f", &path.display().to_string()])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Every file below `dir` (recursively); empty when `dir` does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// ffmpeg publishing a 360p test pattern with audio in real time (killed on drop).
pub fn ffmpeg_publish(url: &str) -> Child {
    publish_pattern(url, "640x360", 30)
}

/// ffmpeg publishing as OBS would by default: 720p30, a keyframe every 2 s, AAC audio.
pub fn ffmpeg_publish_as_obs(url: &str) -> Child {
    publish_pattern(url, "1280x720", 60)
}

fn publish_pattern(url: &str, size: &str, gop: u32) -> Child {
    Command::new("/usr/bin/ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={size}:rate=30"),
        ])
        .args(["-f", "lavfi", "-i", "sine"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            &gop.to_string(),
        ])
        .args(["-c:a", "aac", "-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("FERROCAST_TEST_FFMPEG_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

/// Polls `condition` every 50 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `username`'s pipeline has received `at_least` more video packets than `from`.
pub async fn video_flows(ingest: &Ingest, username: &str, from: usize, at_least: usize) -> bool {
    eventually(Duration::from_secs(20), || async {
        ingest.transcoder.received(username).video >= from + at_least
    })
    .await
}

/// A TCP client that completed the RTMP handshake with the ingest.
pub async fn handshaken_client(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut handshake = Handshake::new(PeerType::Client);
    let c0c1 = handshake.generate_outbound_p0_and_p1().unwrap();
    stream.write_all(&c0c1).await.unwrap();
    let mut buffer = vec![0u8; 8192];
    loop {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "server closed during the handshake");
        match handshake.process_bytes(&buffer[..n]).unwrap() {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream.write_all(&response_bytes).await.unwrap();
            }
            HandshakeProcessResult::Completed { response_bytes, .. } => {
                stream.write_all(&response_bytes).await.unwrap();
                return stream;
            }
        }
    }
}

/// Reads and discards until the server closes the connection; `true` if it did within `limit`.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = vec![0u8; 8192];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// One RTMP chunk (fmt 0) carrying a whole message that fits the initial 128-byte chunk size,
/// or split into fmt-3 continuations.
pub fn chunked_message(csid: u8, type_id: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![csid & 0x3f];
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(type_id);
    out.extend_from_slice(&stream_id.to_le_bytes());
    for (i, chunk) in payload.chunks(128).enumerate() {
        if i > 0 {
            out.push(0xC0 | (csid & 0x3f));
        }
        out.extend_from_slice(chunk);
    }
    out
}
