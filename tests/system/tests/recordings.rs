//! Past broadcasts (rows R1–R6 and R9–R11 of docs/reliability.md): a live broadcast recorded by the
//! real ingest becomes a video of its streamer in the real catalogue (PostgreSQL, SeaweedFS,
//! NATS), processed by a real worker; too short or opted out, nothing is kept; the recording
//! stops at its disk budget while the stream goes on; an ingest SIGKILLed mid-stream leaves a
//! recording a restart registers; storage down at the end of a stream delays the upload, loses
//! nothing; a publisher reconnecting within the grace continues the same recording; one the
//! catalogue refuses is kept for an operator and its streamer told why.

use std::{path::Path, time::Duration};

use ferrocast_testkit::{
    catalog::Catalog,
    eventually, free_port, heavy,
    platform::{ingest_config, start_ingest, Service, SERVICE_TOKEN},
    publisher, ObjectStorage, Options, Platform, Streamer,
};
use serde_json::{json, Value};

/// Users and rooms in-process (no gateway, no ingest of the platform's own), and a catalogue.
struct World {
    platform: Platform,
    catalog: Catalog,
    recordings: tempfile::TempDir,
    hls: tempfile::TempDir,
}

impl World {
    async fn start() -> Self {
        Self::start_on(ObjectStorage::start().await.expect("storage starts")).await
    }

    /// With the catalogue's settings adjusted.
    async fn start_with(adjust: impl FnOnce(&mut ferrocast_catalog::Config)) -> Self {
        let storage = ObjectStorage::start().await.expect("storage starts");
        Self::start_configured(storage, adjust).await
    }

    /// With the catalogue on `storage`.
    async fn start_on(storage: ObjectStorage) -> Self {
        Self::start_configured(storage, |_| {}).await
    }

    async fn start_configured(
        storage: ObjectStorage,
        adjust: impl FnOnce(&mut ferrocast_catalog::Config),
    ) -> Self {
        let platform = Platform::start(Options {
            gateway: false,
            ..Options::without_ingest()
        })
        .await
        .expect("platform starts");
        let catalog = Catalog::start_on(storage, &platform.users_grpc_url(), adjust)
            .await
            .expect("catalogue starts");
        Self {
            platform,
            catalog,
            recordings: tempfile::tempdir().expect("temp dir"),
            hls: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn ingest_config(
        &self,
        adjust: impl FnOnce(&mut ferrocast_ingest::Config),
    ) -> ferrocast_ingest::Config {
        let mut config = ingest_config(
            &self.platform.options,
            self.platform.users_grpc,
            self.platform.rooms_http(),
        )
        .expect("ingest config");
        let recording = &mut config.recording;
        recording.dir = self.recordings.path().to_owned();
        recording.catalog_http_url = self.catalog.url("");
        recording.rooms_http_url = self.platform.rooms_url("");
        recording.retry_cap = Duration::from_secs(1);
        recording.sweep_interval = Duration::from_secs(1);
        adjust(&mut config);
        config
    }

    /// The ingest in-process with past broadcasts on; returns it and its RTMP address.
    async fn ingest(
        &self,
        adjust: impl FnOnce(&mut ferrocast_ingest::Config),
    ) -> (
        Service<ferrocast_ingest::Running>,
        std::net::SocketAddr,
        std::net::SocketAddr,
    ) {
        let config = self.ingest_config(adjust);
        let (service, rtmp, http, _) = start_ingest(
            &self.platform.options,
            self.platform.users_grpc,
            self.platform.rooms_http(),
            &self.hls.path().join("hls"),
            Some(config),
        )
        .await
        .expect("ingest starts");
        (service, rtmp, http)
    }

    async fn catalog_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .platform
            .http
            .request(method, self.catalog.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("catalogue answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The streamer's past broadcasts, as the catalogue lists them to them.
    async fn past_broadcasts(&self, streamer: &Streamer) -> Vec<Value> {
        let (status, page) = self
            .catalog_json(
                reqwest::Method::GET,
                &format!("/api/media?owner={}&tags=past-broadcast", streamer.username),
                &streamer.token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits for the streamer's one past broadcast, processed (DONE).
    async fn processed_past_broadcast(&self, streamer: &Streamer, limit: Duration) -> Value {
        let last = std::sync::Mutex::new(Value::Null);
        let found = eventually(limit, || async {
            let items = self.past_broadcasts(streamer).await;
            let done = items
                .first()
                .is_some_and(|item| item["processing"]["status"] == "DONE");
            *last.lock().expect("not poisoned") = json!(items);
            done
        })
        .await;
        assert!(
            found,
            "no processed past broadcast: {}",
            last.lock().expect("not poisoned")
        );
        let items = self.past_broadcasts(streamer).await;
        assert_eq!(items.len(), 1, "exactly one past broadcast: {items:?}");
        items[0].clone()
    }

    /// The streamer's recordings list (`GET /api/media/recordings`).
    async fn recordings(&self, streamer: &Streamer) -> (reqwest::StatusCode, Value) {
        self.catalog_json(
            reqwest::Method::GET,
            "/api/media/recordings",
            &streamer.token,
            None,
        )
        .await
    }

    /// Waits until `field` of the streamer's newest recording (`GET /api/media/recordings`)
    /// contains `text`; fails the test if it does not within `limit`.
    async fn newest_recording_says(
        &self,
        streamer: &Streamer,
        field: &str,
        text: &str,
        limit: Duration,
    ) {
        let recent = std::sync::Mutex::new(Value::Null);
        let said = eventually(limit, || async {
            let (_, listed) = self.recordings(streamer).await;
            let said = listed["recordings"][0][field]
                .as_str()
                .is_some_and(|value| value.contains(text));
            *recent.lock().expect("not poisoned") = listed;
            said
        })
        .await;
        assert!(
            said,
            "the streamer's newest recording has no {field} saying {text:?}: {}",
            recent.lock().expect("not poisoned")
        );
    }

    /// A value of the ingest's `/metrics` at `http` (0 while it has none).
    async fn ingest_metric(&self, http: std::net::SocketAddr, name: &str) -> f64 {
        ferrocast_testkit::hls::get_text(&self.platform.http, &format!("http://{http}/metrics"))
            .await
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|n| n.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    fn recording_folders(&self) -> usize {
        std::fs::read_dir(self.recordings.path()).map_or(0, Iterator::count)
    }

    async fn set_title(&self, streamer: &Streamer, title: &str) {
        let response = self
            .platform
            .http
            .put(self.platform.rooms_url("/api/rooms/me/title"))
            .bearer_auth(&streamer.token)
            .json(&json!({ "title": title }))
            .send()
            .await
            .expect("rooms answers");
        assert_eq!(response.status(), 200);
    }
}

async fn worker(
    catalog: &Catalog,
    scratch: &Path,
) -> (
    tokio_util::sync::CancellationToken,
    ferrocast_worker::Running,
) {
    let mut config = ferrocast_worker::Config::for_tests(
        catalog.nats.url(),
        catalog.config.storage.clone(),
        scratch.to_owned(),
        SERVICE_TOKEN,
    );
    config.work.packager = std::env::var_os("PACKAGER").map_or_else(
        || ferrocast_testkit::workspace_root().join(".ferrocast/venv/bin/packager"),
        Into::into,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = ferrocast_worker::start(config, shutdown.clone())
        .await
        .expect("worker starts");
    (shutdown, running)
}

/// Publishes `seconds` of the test pattern (one keyframe a second), with `extra` output options,
/// and waits for ffmpeg's end.
async fn publish_for(rtmp: std::net::SocketAddr, key: &str, seconds: u32, extra: &[&str]) {
    let url = format!("rtmp://{rtmp}/live/{key}");
    let length = seconds.to_string();
    let options: Vec<&str> = ["-t", length.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let mut ffmpeg = publisher::publish_with(&url, &options);
    let status = tokio::time::timeout(Duration::from_secs(u64::from(seconds) + 30), ffmpeg.wait())
        .await
        .expect("the publisher ends")
        .expect("ffmpeg runs");
    assert!(status.success(), "the publisher streamed to its end");
}

fn duration_ms(item: &Value) -> i64 {
    item["processing"]["duration_ms"].as_i64().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_a_broadcast_becomes_a_processed_past_broadcast_of_its_streamer() {
    let _heavy = heavy().await;
    let world = World::start().await;
    let scratch = tempfile::tempdir().expect("temp dir");
    let (_worker_stop, _worker) = worker(&world.catalog, scratch.path()).await;
    let (_ingest, rtmp, _) = world.ingest(|_| {}).await;
    let streamer = world.platform.streamer().await;
    world.set_title(&streamer, "Speedrun practice").await;

    publish_for(rtmp, &streamer.key, 12, &[]).await;
    let item = world
        .processed_past_broadcast(&streamer, Duration::from_secs(120))
        .await;
    eprintln!("R1: {item}");
    assert_eq!(item["owner"], streamer.username.as_str());
    assert_eq!(item["kind"], "video");
    assert_eq!(item["tags"], json!(["past-broadcast"]));
    let title = item["title"].as_str().unwrap_or_default();
    assert!(
        title.starts_with("Speedrun practice — ") && title.ends_with(" UTC"),
        "{title}"
    );
    // One segment is 1 s here: what was published, within one segment.
    let duration = duration_ms(&item);
    assert!(
        (duration - 12_000).abs() <= 1_000,
        "duration {duration} ms for 12 s published"
    );
    assert!(item["processing"]["hls_url"].is_string(), "{item}");
    // Registered once, then removed from the ingest's disk.
    assert!(
        eventually(Duration::from_secs(10), || async {
            world.recording_folders() == 0
        })
        .await,
        "the recording stays on disk after its registration"
    );
    let (status, recent) = world.recordings(&streamer).await;
    assert_eq!(status, 200);
    assert_eq!(recent["recordings"][0]["media_id"], item["id"], "{recent}");
    assert_eq!(recent["recordings"][0]["finalized"], true, "{recent}");
    assert!(
        recent["recordings"][0]["stopped_reason"].is_null(),
        "{recent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_a_broadcast_shorter_than_the_minimum_is_not_kept() {
    let _heavy = heavy().await;
    let world = World::start().await;
    let (_ingest, rtmp, _) = world.ingest(|_| {}).await;
    let streamer = world.platform.streamer().await;

    let url = format!("rtmp://{rtmp}/live/{}", streamer.key);
    let mut ffmpeg = publisher::publish_with(&url, &["-t", "4"]);
    assert!(
        eventually(Duration::from_secs(20), || async {
            world.recording_folders() == 1
        })
        .await,
        "the broadcast was not recorded while live"
    );
    assert!(ffmpeg.wait().await.expect("ffmpeg runs").success());
    // Settled as too short, its folder goes.
    assert!(
        eventually(Duration::from_secs(30), || async {
            world.recording_folders() == 0
        })
        .await,
        "the short recording was not settled"
    );
    assert!(world.past_broadcasts(&streamer).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r3_with_past_broadcasts_off_nothing_is_recorded() {
    let _heavy = heavy().await;
    let world = World::start().await;
    let streamer = world.platform.streamer().await;
    let (status, settings) = world
        .catalog_json(
            reqwest::Method::PUT,
            "/api/media/settings",
            &streamer.token,
            Some(json!({ "save_past_broadcasts": false })),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(
        settings,
        json!({ "encrypt_videos": false, "save_past_broadcasts": false })
    );
    let (_ingest, rtmp, http) = world.ingest(|_| {}).await;

    let url = format!("rtmp://{rtmp}/live/{}", streamer.key);
    let mut ffmpeg = publisher::publish_with(&url, &["-t", "12"]);
    assert!(
        world
            .platform
            .wait_live(&streamer.username, true, Duration::from_secs(20))
            .await
    );
    // Live, with segments: a recording would have its folder by now.
    ferrocast_testkit::hls::wait_for_segments(
        &world.platform.http,
        &format!("http://{http}"),
        &streamer.username,
        3,
        Duration::from_secs(20),
    )
    .await
    .expect("live segments");
    assert_eq!(
        world.recording_folders(),
        0,
        "a recording was started against the setting"
    );
    let _ = ffmpeg.wait().await;
    assert!(
        world
            .platform
            .wait_live(&streamer.username, false, Duration::from_secs(20))
            .await
    );
    assert_eq!(
        world.recording_folders(),
        0,
        "a recording was made against the setting"
    );
    assert!(world.past_broadcasts(&streamer).await.is_empty());
    let (_, recent) = world.recordings(&streamer).await;
    assert_eq!(recent["recordings"], json!([]));
}

/// The names the live playlist at `url` lists.
async fn listed(world: &World, url: &str) -> Vec<String> {
    ferrocast_testkit::hls::get_text(&world.platform.http, url)
        .await
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Segments journalled by the one recording in `dir`, and their total duration (ms).
fn journalled(dir: &Path) -> (usize, u64) {
    let Some(recording) = std::fs::read_dir(dir)
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(Result::ok)
    else {
        return (0, 0);
    };
    let journal = std::fs::read_to_string(recording.path().join("journal")).unwrap_or_default();
    let durations: Vec<u64> = journal
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields.first() == Some(&"segment")).then(|| fields.get(2)?.parse().ok())?
        })
        .collect();
    (durations.len(), durations.iter().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r4_past_its_disk_budget_the_recording_stops_and_the_stream_goes_on() {
    // About four of the publisher's 1 s segments.
    stops_at_a_budget(
        |config| config.recording.max_bytes = 1024 * 1024,
        "the recording reached its disk budget",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_past_the_servers_recordings_budget_the_recording_stops_and_the_stream_goes_on() {
    // Every recording of the ingest together (here one) against the server's budget, the
    // recording's own left at its default.
    stops_at_a_budget(
        |config| config.recording.disk_budget = 1024 * 1024,
        "this server's recordings reached their disk budget",
    )
    .await;
}

/// Publishes 14 s with `budget` set: the streamer is told why (`reason`) while live, the live
/// stream goes on, the recording does not grow past its stop, and what was recorded becomes
/// the past broadcast.
async fn stops_at_a_budget(budget: impl FnOnce(&mut ferrocast_ingest::Config), reason: &str) {
    let _heavy = heavy().await;
    let world = World::start().await;
    let (_ingest, rtmp, http) = world
        .ingest(|config| {
            budget(config);
            config.recording.min_duration = Duration::from_secs(1);
        })
        .await;
    let streamer = world.platform.streamer().await;
    let url = format!("rtmp://{rtmp}/live/{}", streamer.key);
    let mut ffmpeg = publisher::publish_with(&url, &["-t", "14"]);

    // The streamer sees why, while live.
    world
        .newest_recording_says(&streamer, "stopped_reason", reason, Duration::from_secs(20))
        .await;
    let (recorded, _) = journalled(world.recordings.path());
    assert!(recorded >= 1, "something was recorded before the budget");

    // The stream goes on: three segments the playlist had not listed at the stop.
    let base = format!("http://{http}");
    let variant = ferrocast_testkit::hls::wait_for_segments(
        &world.platform.http,
        &base,
        &streamer.username,
        1,
        Duration::from_secs(5),
    )
    .await
    .expect("a live variant");
    let playlist = format!("{base}/hls/{}/{variant}", streamer.username);
    let at_stop = listed(&world, &playlist).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            listed(&world, &playlist)
                .await
                .iter()
                .filter(|name| !at_stop.contains(name))
                .count()
                >= 3
        })
        .await,
        "the live playlist stopped advancing with the recording"
    );
    assert_eq!(
        journalled(world.recordings.path()).0,
        recorded,
        "the recording grew past its stop"
    );
    let _ = ffmpeg.wait().await;

    // What was recorded up to the budget is kept.
    assert!(
        eventually(Duration::from_secs(60), || async {
            world.recording_folders() == 0
        })
        .await,
        "the stopped recording was not settled"
    );
    let items = world.past_broadcasts(&streamer).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["status"], "uploaded");
}

/// The environment of the ingest as a child process, past broadcasts on.
fn child_env(world: &World, rtmp_port: u16, http_port: u16) -> Vec<(String, String)> {
    let platform = &world.platform;
    [
        ("FERROCAST_SERVICE_TOKEN", SERVICE_TOKEN.to_owned()),
        ("FERROCAST_USERS_GRPC_URL", platform.users_grpc_url()),
        (
            "FERROCAST_ROOMS_CALLBACK_URL",
            platform.rooms_url("/callbacks/rtmp"),
        ),
        ("FERROCAST_ROOMS_HTTP_URL", platform.rooms_url("")),
        ("FERROCAST_CATALOG_HTTP_URL", world.catalog.url("")),
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
        (
            "FERROCAST_HLS_ROOT",
            world.hls.path().join("hls").display().to_string(),
        ),
        ("FERROCAST_HLS_LADDER", String::new()),
        (
            "FERROCAST_INGEST_RECORDING_DIR",
            world.recordings.path().display().to_string(),
        ),
        ("FERROCAST_INGEST_RECORDING_MIN_SECONDS", "1".to_owned()),
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
        Path::new(env!("CARGO_BIN_EXE_ferrocast-system-ingest")),
        env,
    )
}

async fn listening(port: u16) -> bool {
    eventually(Duration::from_secs(20), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await
}

/// The length of the uploaded original, by ffprobe.
async fn original_seconds(world: &World, streamer: &Streamer, id: &str) -> f64 {
    let (status, signed) = world
        .catalog_json(
            reqwest::Method::GET,
            &format!("/api/media/{id}/original"),
            &streamer.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let bytes = world
        .platform
        .http
        .get(signed["url"].as_str().expect("a URL"))
        .send()
        .await
        .expect("storage answers")
        .bytes()
        .await
        .expect("the original");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &bytes).expect("write");
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(file.path())
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a duration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r5_an_ingest_killed_mid_stream_leaves_a_recording_its_restart_registers() {
    let _heavy = heavy().await;
    let world = World::start().await;
    let streamer = world.platform.streamer().await;
    let (rtmp_port, http_port) = (free_port(), free_port());
    let env = child_env(&world, rtmp_port, http_port);
    let mut child = spawn_child_ingest(&env);
    assert!(listening(rtmp_port).await, "the child ingest listens");
    let url = format!("rtmp://127.0.0.1:{rtmp_port}/live/{}", streamer.key);
    let mut ffmpeg = publisher::publish(&url);
    assert!(
        eventually(Duration::from_secs(30), || async {
            journalled(world.recordings.path()).0 >= 6
        })
        .await,
        "the recording did not grow"
    );

    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
    let _ = ffmpeg.start_kill();
    let (segments, recorded_ms) = journalled(world.recordings.path());
    assert!(world.past_broadcasts(&streamer).await.is_empty());

    let mut child = spawn_child_ingest(&env);
    assert!(listening(rtmp_port).await, "the restarted ingest listens");
    assert!(
        eventually(Duration::from_secs(60), || async {
            world.recording_folders() == 0
        })
        .await,
        "the restart did not settle the killed recording"
    );
    let items = world.past_broadcasts(&streamer).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let seconds = original_seconds(&world, &streamer, items[0]["id"].as_str().unwrap_or("")).await;
    eprintln!("R5: {segments} segments ({recorded_ms} ms) journalled at the kill; the original lasts {seconds} s");
    assert!(
        (seconds * 1000.0 - recorded_ms as f64).abs() <= 1000.0,
        "{seconds} s uploaded for {recorded_ms} ms recorded"
    );
    let _ = child.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r6_storage_down_at_the_end_of_a_stream_delays_the_upload_and_loses_nothing() {
    let _heavy = heavy().await;
    // Storage of this test's own, which it stops and starts again.
    let mut world = World::start_on(
        ObjectStorage::start_own_server()
            .await
            .expect("storage starts"),
    )
    .await;
    let (ingest, rtmp, http) = world
        .ingest(|config| config.recording.min_duration = Duration::from_secs(1))
        .await;
    let streamer = world.platform.streamer().await;
    let url = format!("rtmp://{rtmp}/live/{}", streamer.key);
    let mut ffmpeg = publisher::publish_with(&url, &["-t", "6"]);
    assert!(
        world
            .platform
            .wait_live(&streamer.username, true, Duration::from_secs(20))
            .await
    );
    world
        .catalog
        .storage
        .kill()
        .expect("the test's own SeaweedFS stops");
    let _ = ffmpeg.wait().await;

    // The upload is tried, and tried again, while storage is down.
    assert!(
        eventually(Duration::from_secs(30), || async {
            world
                .ingest_metric(http, "ingest_recording_upload_retries_total")
                .await
                >= 2.0
        })
        .await,
        "no retries while storage was down"
    );
    assert_eq!(
        world.recording_folders(),
        1,
        "the recording is kept while storage is down"
    );

    world
        .catalog
        .storage
        .restart()
        .await
        .expect("storage restarts");
    assert!(
        eventually(Duration::from_secs(60), || async {
            world.recording_folders() == 0
        })
        .await,
        "the recording was not uploaded once storage returned"
    );
    // Every retry registered the same recording: one video.
    let items = world.past_broadcasts(&streamer).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["status"], "uploaded");
    drop(ingest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r9_a_publisher_reconnecting_within_the_grace_continues_the_same_recording() {
    reconnecting_within_the_grace("R9", &[]).await;
}

/// The encoder comes back at another size: the MP4 changes resolution where the stream did
/// (ffmpeg `-c copy` keeps each segment's parameter sets), and the worker makes its ladder of it
/// like any other video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r12_a_publisher_reconnecting_at_another_size_continues_the_recording_into_one_video() {
    reconnecting_within_the_grace("R12", &["-s", "854x480"]).await;
}

/// A publisher whose connection drops after 4 recorded segments comes back within the grace
/// (publishing with `again` added to its output options) for 6 s: one video for the whole
/// broadcast, without the time away.
async fn reconnecting_within_the_grace(row: &str, again: &[&str]) {
    let _heavy = heavy().await;
    let world = World::start().await;
    let scratch = tempfile::tempdir().expect("temp dir");
    let (_worker_stop, _worker) = worker(&world.catalog, scratch.path()).await;
    let (_ingest, rtmp, _) = world
        .ingest(|config| {
            config.sessions.reconnect_grace = Duration::from_secs(10);
            config.rtmp.idle_timeout = Duration::from_secs(30);
            config.recording.min_duration = Duration::from_secs(1);
        })
        .await;
    let streamer = world.platform.streamer().await;
    let url = format!("rtmp://{rtmp}/live/{}", streamer.key);

    // The first encoder's connection drops without a clean stop (killed) after 4 segments.
    let mut first = publisher::publish(&url);
    assert!(
        eventually(Duration::from_secs(30), || async {
            journalled(world.recordings.path()).0 >= 4
        })
        .await,
        "the first encoder was not recorded"
    );
    first.start_kill().expect("SIGKILL");
    let _ = first.wait().await;
    let (before, _) = journalled(world.recordings.path());

    // It comes back within the grace and streams 6 s more, then stops cleanly.
    publish_for(rtmp, &streamer.key, 6, again).await;
    assert!(
        eventually(Duration::from_secs(60), || async {
            world.recording_folders() == 0
        })
        .await,
        "the recording was not settled"
    );
    // One video for the whole broadcast, which the worker takes as any other.
    let item = world
        .processed_past_broadcast(&streamer, Duration::from_secs(120))
        .await;
    let seconds = duration_ms(&item) as f64 / 1000.0;
    eprintln!("{row}: {before} segments before the drop; the past broadcast lasts {seconds} s");
    assert!(
        seconds >= before as f64 + 5.0,
        "{seconds} s: the reconnected part is missing ({before} segments before the drop)"
    );
    // Both encoders' media back to back, without the time the encoder was away: at most the
    // segment the first one was cutting, the 6 s after, and a segment's rounding.
    assert!(
        seconds <= before as f64 + 8.0,
        "{seconds} s for {before} segments + 6 s: the time away is in the video"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_a_recording_the_catalogue_refuses_is_kept_for_an_operator_and_the_streamer_sees_why() {
    let _heavy = heavy().await;
    let world = World::start_with(|config| {
        config.uploads.max_size = 64 * 1024;
        config.uploads.quota = 64 * 1024;
    })
    .await;
    let (_ingest, rtmp, http) = world.ingest(|_| {}).await;
    let streamer = world.platform.streamer().await;

    publish_for(rtmp, &streamer.key, 12, &[]).await;
    world
        .newest_recording_says(
            &streamer,
            "refused_reason",
            "the largest allowed is 65536 bytes",
            Duration::from_secs(60),
        )
        .await;
    // Kept on disk, journalled as refused, and shown to operators until one acts.
    assert!(
        eventually(Duration::from_secs(10), || async {
            world.ingest_metric(http, "ingest_recordings_held").await == 1.0
        })
        .await,
        "ingest_recordings_held does not count the refused recording"
    );
    assert!(
        world
            .ingest_metric(http, "ingest_recordings_refused_total")
            .await
            >= 1.0
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        world.recording_folders(),
        1,
        "the refused recording is kept"
    );
    assert!(world.past_broadcasts(&streamer).await.is_empty());
}

/// A recording folder as an ingest leaves it (`recording.json`, the journal, the segments),
/// ended: `segments` (file contents, one second each) of `streamer`'s broadcast; `None` is a
/// segment the journal lists whose file is gone.
fn leave_recording(root: &Path, streamer: &Streamer, segments: &[Option<Vec<u8>>]) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = root.join(&id);
    std::fs::create_dir_all(&dir).expect("recording folder");
    let meta = json!({
        "recording_id": id,
        "user_id": streamer.user_id,
        "username": streamer.username,
        "started_at": "2026-12-07T15:40:12Z",
        "stream_title": "Left behind",
    });
    std::fs::write(dir.join("recording.json"), meta.to_string()).expect("meta");
    let mut journal = String::new();
    for (n, bytes) in segments.iter().enumerate() {
        let file = format!("{n:06}.ts");
        let size = bytes.as_ref().map_or(1, Vec::len);
        if let Some(bytes) = bytes {
            std::fs::write(dir.join(&file), bytes).expect("segment");
        }
        journal.push_str(&format!(
            "segment\t{file}\t1000\t{size}\t360p/s_{n:05}.ts\n"
        ));
    }
    journal.push_str("ended\t2026-12-07T15:41:12Z\n");
    std::fs::write(dir.join("journal"), journal).expect("journal");
    id
}

/// One-second MPEG-TS segments of the test pattern with sound, as the ingest's source rendition
/// writes them (the kit's source file, cut at its keyframes).
fn ts_segments(seconds: u32) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = publisher::make_source(dir.path(), seconds);
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(&source)
        .args(["-c", "copy", "-f", "segment", "-segment_time", "1"])
        .args(["-segment_format", "mpegts"])
        .arg(dir.path().join("s_%05d.ts"))
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    (0..seconds)
        .map(|n| std::fs::read(dir.path().join(format!("s_{n:05}.ts"))).expect("segment"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_recordings_that_keep_failing_do_not_hold_up_the_others_and_lost_segments_are_left_out()
{
    let _heavy = heavy().await;
    let world = World::start().await;
    let scratch = tempfile::tempdir().expect("temp dir");
    let (_worker_stop, _worker) = worker(&world.catalog, scratch.path()).await;
    let streamer = world.platform.streamer().await;
    // Three recordings ffmpeg cannot remux, however often it tries, left before a good one
    // whose fourth segment was lost (power cut): more than the node settles at once.
    let garbage = vec![Some(vec![0x47_u8; 4096]); 12];
    for _ in 0..3 {
        leave_recording(world.recordings.path(), &streamer, &garbage);
    }
    let mut segments: Vec<Option<Vec<u8>>> = ts_segments(12).into_iter().map(Some).collect();
    segments[3] = None;
    let good = leave_recording(world.recordings.path(), &streamer, &segments);

    let (_ingest, _, http) = world.ingest(|_| {}).await;
    let item = world
        .processed_past_broadcast(&streamer, Duration::from_secs(120))
        .await;
    let seconds = duration_ms(&item) as f64 / 1000.0;
    eprintln!("R13: the good recording became a video of {seconds} s");
    assert!(
        (10.5..=11.5).contains(&seconds),
        "{seconds} s: 11 of the 12 segments, without a hole where the lost one was"
    );
    assert!(
        !world.recordings.path().join(&good).exists(),
        "the settled recording stays on disk"
    );
    // The others are still tried, and kept.
    assert!(
        world
            .ingest_metric(http, "ingest_recording_upload_retries_total")
            .await
            >= 3.0
    );
    assert_eq!(world.recording_folders(), 3);
}
