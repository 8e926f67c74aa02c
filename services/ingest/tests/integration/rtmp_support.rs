//! Shared pieces of the RTMP integration tests on top of the test kit: the real users service
//! (the kit's platform, stream keys made through its REST API), the real rooms service on Redis,
//! and what only these tests need — the ingest on port 0 with a transcoder that records what
//! reaches it, or as `main.rs` runs it with its real ladder.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
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
use ferrocast_testkit::http::Fetch;
pub use ferrocast_testkit::{
    eventually,
    platform::rooms::Rooms,
    process,
    publisher::{publish as ffmpeg_publish, publish_as_obs as ffmpeg_publish_as_obs},
    rtmp,
};
use ferrocast_testkit::{redis_url, unique_name, Options, Platform, Streamer};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The token users, rooms and the ingest share in tests (`Config::for_tests` of users sets it).
pub const SERVICE_TOKEN: &str = ferrocast_kit::config::TEST_SERVICE_TOKEN;

/// A user signed up in the real users service, with a stream key of their own.
pub type TestUser = Streamer;

/// A well-formed stream key that no user has.
pub fn unknown_key() -> String {
    format!("live_{}", unique_name("k"))
}

/// Held by every test that presents a stream key users refuses: users' request counters are
/// process-wide, and those tests count the refusals their own publish caused.
pub async fn refusing_keys() -> tokio::sync::MutexGuard<'static, ()> {
    static REFUSING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    REFUSING.lock().await
}

/// The real users service, in-process on port 0, on its own database.
pub async fn start_users() -> Platform {
    Platform::start(Options::users())
        .await
        .expect("users starts")
}

/// Rotates `user`'s stream key as the dashboard does and returns the new key; the old one stops
/// working at once.
pub async fn rotate_key(users: &Platform, user: &TestUser) -> String {
    let key = users.rotate_key(&user.token).await;
    assert_ne!(key, user.key, "rotation makes a new key");
    key
}

/// `users_grpc_requests_total{method="AuthenticateStreamKey",code=...}` from users' `/metrics`.
/// The recorder is process-wide: it counts the calls of every test in this binary, so compare
/// before/after while holding [`refusing_keys`].
pub async fn stream_key_checks(users: &Platform, code: &str) -> u64 {
    let body = users.http.fetch_text(&users.users_url("/metrics")).await;
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

/// A users URL where nothing listens (a port that was free a moment ago).
pub fn users_down_url() -> String {
    format!("http://127.0.0.1:{}", ferrocast_testkit::free_port())
}

/// The real rooms service on the local Redis, under a unique key prefix, with a lease of
/// `lease_seconds`, authenticating keys against `users_url` (gRPC).
pub async fn start_rooms(users_url: &str, lease_seconds: u64) -> Rooms {
    let mut config = ferrocast_rooms::Config::for_tests(
        redis_url(),
        format!("{}:", unique_name("t")),
        users_url,
        SERVICE_TOKEN,
    );
    config.leases.lease = Duration::from_secs(lease_seconds);
    Rooms::start(config).await
}

/// The world of a publish test: users with one streamer, rooms with a lease of
/// `lease_seconds`, and the ingest (with its [`RecordingTranscoder`]) as `tweak` configures it.
pub async fn publishing(
    lease_seconds: u64,
    tweak: impl FnOnce(&mut Config),
) -> (Platform, TestUser, Rooms, Ingest) {
    let users = start_users().await;
    let user = users.streamer().await;
    let rooms = start_rooms(&users.users_grpc_url(), lease_seconds).await;
    let ingest = start_ingest(&users.users_grpc_url(), &rooms.callback_url(), tweak).await;
    (users, user, rooms, ingest)
}

/// What reached the media pipeline, per publish.
#[derive(Default, Debug, Clone)]
pub struct Received {
    pub video: usize,
    pub audio: usize,
    pub metadata: usize,
    pub finished: bool,
    /// Times a new publisher continued this stream.
    pub new_publishers: usize,
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
    fn new_publisher(&mut self) {
        if let Some(entry) = self.received.lock().unwrap().get_mut(&self.username) {
            entry.new_publishers += 1;
        }
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

/// The ingest under test, with the transcoder it was started with: a [`RecordingTranscoder`]
/// ([`start_ingest`]) or its real ffmpeg ladder ([`start_live_ingest`], no handle).
pub struct Ingest<T = RecordingTranscoder> {
    pub rtmp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub transcoder: T,
    pub shutdown: CancellationToken,
    running: Option<ferrocast_ingest::Running>,
}

/// The ingest as `main.rs` runs it: [`ferrocast_ingest::start`] with the real ffmpeg ladder
/// writing under `hls_root` (x264 `ultrafast` to spare the CI cores, a short cleanup grace) and
/// the HLS origin.
pub type LiveIngest = Ingest<()>;

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
    Ingest::new(running, transcoder, shutdown)
}

pub async fn start_live_ingest(
    users_url: &str,
    rooms_callback_url: &str,
    hls_root: &Path,
) -> LiveIngest {
    start_live_ingest_with(users_url, rooms_callback_url, hls_root, |_| {}).await
}

/// [`start_live_ingest`] with its config changed by `tweak` first.
pub async fn start_live_ingest_with(
    users_url: &str,
    rooms_callback_url: &str,
    hls_root: &Path,
    tweak: impl FnOnce(&mut Config),
) -> LiveIngest {
    ferrocast_kit::telemetry::init("ingest-test");
    let mut config = Config::for_tests(users_url, rooms_callback_url, SERVICE_TOKEN).unwrap();
    config.media.hls_root = hls_root.to_path_buf();
    config.media.hls_x264_preset = "ultrafast".into();
    config.media.cleanup_grace = Duration::from_secs(2);
    tweak(&mut config);
    let shutdown = CancellationToken::new();
    let running = ferrocast_ingest::start(config, shutdown.clone())
        .await
        .expect("ingest starts");
    Ingest::new(running, (), shutdown)
}

impl<T> Ingest<T> {
    fn new(running: ferrocast_ingest::Running, transcoder: T, shutdown: CancellationToken) -> Self {
        Self {
            rtmp_addr: running.rtmp_addr,
            http_addr: running.http_addr,
            transcoder,
            shutdown,
            running: Some(running),
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{key}", self.rtmp_addr)
    }

    /// `http://.../hls/{username}`: where viewers find the stream.
    pub fn hls_base(&self, username: &str) -> String {
        format!("http://{}/hls/{username}", self.http_addr)
    }

    /// A file of `username`'s stream as viewers get it from the origin; `None` unless 200.
    pub async fn served(&self, username: &str, path: &str) -> Option<String> {
        let url = format!("{}/{path}", self.hls_base(username));
        match http_get(&url).await {
            Some((200, _, body)) => Some(body),
            _ => None,
        }
    }

    /// `(rendition, playlist)` of every variant in `username`'s master playlist, or `None`
    /// while any of them is not served.
    pub async fn served_playlists(&self, username: &str) -> Option<Vec<(String, String)>> {
        let master = self.served(username, "master.m3u8").await?;
        let mut playlists = Vec::new();
        for (uri, _, _) in crate::media_common::variants(&master) {
            let playlist = self.served(username, &uri).await?;
            playlists.push((uri.trim_end_matches("/index.m3u8").to_owned(), playlist));
        }
        (!playlists.is_empty()).then_some(playlists)
    }

    /// Stops the ingest and waits for it: live sessions send publish_done first, and every
    /// pipeline closes its playlists.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(15), running.wait())
                .await
                .expect("ingest stops");
        }
    }
}

impl<T> Drop for Ingest<T> {
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
    process::pgrep(&path.display().to_string())
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

/// Waits until `username`'s pipeline has received `at_least` more video packets than `from`.
pub async fn video_flows(ingest: &Ingest, username: &str, from: usize, at_least: usize) -> bool {
    eventually(Duration::from_secs(20), || async {
        ingest.transcoder.received(username).video >= from + at_least
    })
    .await
}

/// Reads and discards until the server closes the connection; `true` if it did within `limit`.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    rtmp::closed_within(stream, limit).await.0
}
