//! A world for worker tests: a NATS server and a bucket of the test's own, an uploaded clip,
//! jobs put on the queue, and every report read as it is published.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use async_nats::jetstream::{self, consumer};
use aws_sdk_s3::{primitives::ByteStream, Client};
use ferrocast_kit::{
    config::storage::Storage,
    jobs::{self, Event, Job, Report},
    s3::{self, Deadlines},
};
use ferrocast_testkit::{nats::Nats, workspace_root, ObjectStorage};
use ferrocast_worker::Config;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use ferrocast_testkit::clip::mp4 as clip;

pub struct World {
    pub nats: Nats,
    /// Dropped with the world: a server of the test's own stops.
    pub storage_server: ObjectStorage,
    pub storage: Storage,
    pub s3: Client,
    pub js: jetstream::Context,
    pub scratch: tempfile::TempDir,
    events: async_nats::Subscriber,
}

/// The packager `./ferrocast setup` installs, or `$PACKAGER`.
pub fn packager() -> PathBuf {
    std::env::var_os("PACKAGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".ferrocast/venv/bin/packager"))
}

impl World {
    pub async fn start() -> Self {
        Self::on(ObjectStorage::start().await.expect("SeaweedFS starts")).await
    }

    /// A world whose SeaweedFS is the test's own, for a test that kills and restarts it.
    pub async fn with_own_storage() -> Self {
        Self::on(
            ObjectStorage::start_own_server()
                .await
                .expect("SeaweedFS starts"),
        )
        .await
    }

    async fn on(storage_server: ObjectStorage) -> Self {
        let nats = Nats::start().await.expect("nats-server starts");
        let storage = storage_server.fresh_bucket();
        let s3 = s3::client(&storage, &storage.endpoint, Deadlines::QUICK);
        s3.create_bucket()
            .bucket(&storage.bucket)
            .send()
            .await
            .expect("bucket");
        let client = async_nats::connect(nats.url()).await.expect("nats client");
        let events = client.subscribe("vod.events.>").await.expect("subscribe");
        let js = jetstream::new(client);
        jobs::ensure_streams(&js, 1).await.expect("streams");
        Self {
            nats,
            storage_server,
            storage,
            s3,
            js,
            scratch: tempfile::tempdir().expect("scratch"),
            events,
        }
    }

    pub fn config(&self) -> Config {
        let mut config = Config::for_tests(
            self.nats.url(),
            self.storage.clone(),
            self.scratch.path().join("work"),
            ferrocast_kit::config::TEST_SERVICE_TOKEN,
        );
        config.work.packager = packager();
        config
    }

    /// A worker in this process until the token is cancelled.
    pub async fn worker(&self, config: Config) -> (CancellationToken, ferrocast_worker::Running) {
        let shutdown = CancellationToken::new();
        let running = ferrocast_worker::start(config, shutdown.clone())
            .await
            .expect("worker starts");
        (shutdown, running)
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.storage.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .expect("put");
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.storage.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(object.body.collect().await.ok()?.into_bytes().to_vec())
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.storage.bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("list");
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// The worker binary, configured by environment from `config` alone, its log in `log`.
    pub fn worker_binary(config: &Config, log: &std::path::Path) -> tokio::process::Command {
        let work = &config.work;
        let storage = &config.storage;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrocast-worker"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs([
                ("FERROCAST_DEV_MODE", "false".to_owned()),
                (
                    "FERROCAST_SERVICE_TOKEN",
                    ferrocast_kit::config::TEST_SERVICE_TOKEN.to_owned(),
                ),
                (
                    "FERROCAST_WORKER_HTTP_ADDR",
                    config.listen.http_addr.clone(),
                ),
                ("FERROCAST_NATS_URL", config.nats.url.expose().to_owned()),
                (
                    "FERROCAST_WORKER_ATTEMPTS",
                    config.queue.attempts.to_string(),
                ),
                (
                    "FERROCAST_WORKER_ACK_WAIT_SECONDS",
                    config.queue.ack_wait.as_secs().to_string(),
                ),
                ("FERROCAST_S3_ENDPOINT", storage.endpoint.clone()),
                ("FERROCAST_S3_REGION", storage.region.clone()),
                ("FERROCAST_S3_BUCKET", storage.bucket.clone()),
                ("FERROCAST_S3_ACCESS_KEY", storage.access_key().to_owned()),
                ("FERROCAST_S3_SECRET_KEY", storage.secret_key().to_owned()),
                (
                    "FERROCAST_WORKER_SCRATCH_DIR",
                    work.scratch_dir.display().to_string(),
                ),
                (
                    "FERROCAST_WORKER_MAX_SOURCE_BYTES",
                    work.max_source_bytes.to_string(),
                ),
                (
                    "FERROCAST_WORKER_MAX_DURATION_SECONDS",
                    work.max_duration.as_secs().to_string(),
                ),
                ("FERROCAST_WORKER_JOBS", work.jobs.to_string()),
                ("FERROCAST_WORKER_FFMPEG", work.ffmpeg.display().to_string()),
                (
                    "FERROCAST_WORKER_FFPROBE",
                    work.ffprobe.display().to_string(),
                ),
                (
                    "FERROCAST_WORKER_PACKAGER",
                    work.packager.display().to_string(),
                ),
                ("FERROCAST_WORKER_LADDER", work.ladder.clone()),
                ("FERROCAST_WORKER_X264_PRESET", work.preset.clone()),
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("worker log"),
            )
            .kill_on_drop(true);
        command
    }

    /// Uploads `bytes` as an original and queues its job.
    pub async fn queue(&self, bytes: Vec<u8>) -> Job {
        let job = self.upload(bytes).await;
        self.enqueue(&job).await;
        job
    }

    /// Uploads `bytes` as an original; the job that would process it, not queued yet.
    pub async fn upload(&self, bytes: Vec<u8>) -> Job {
        let media = Uuid::new_v4();
        let key = format!("originals/{media}");
        self.put(&key, bytes).await;
        Job::new(media, key)
    }

    /// Queues `job` as the catalogue does.
    pub async fn enqueue(&self, job: &Job) {
        jobs::enqueue(&self.js, job).await.expect("queued");
    }

    /// The job kept in `VOD_DEAD` last, and the reason it was given for an operator.
    pub async fn last_dead_letter(&self) -> (Job, String) {
        let stream = self.js.get_stream(jobs::DEAD_STREAM).await.expect("stream");
        let message = stream
            .get_last_raw_message_by_subject(jobs::DEAD_SUBJECT)
            .await
            .expect("a dead letter");
        let reason = message
            .headers
            .get("Ferrocast-Reason")
            .map(|value| value.as_str().to_owned())
            .unwrap_or_default();
        let job = serde_json::from_slice(&message.payload).expect("a job");
        (job, reason)
    }

    /// Reports until one about `job` ends it (done or failed), all of them in order.
    pub async fn reports_until_end(&mut self, job: &Job, within: Duration) -> Vec<Report> {
        self.events_until_end(job, within)
            .await
            .into_iter()
            .map(|event| event.report)
            .collect()
    }

    /// [`Self::reports_until_end`] with each report's time at the worker.
    pub async fn events_until_end(&mut self, job: &Job, within: Duration) -> Vec<Event> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.events.next())
                .await
                .unwrap_or_else(|_| panic!("no end within {within:?}; reports: {seen:?}"))
                .expect("subscription open");
            let event: Event = serde_json::from_slice(&message.payload).expect("event");
            if event.job_id != job.job_id {
                continue;
            }
            let end = matches!(event.report, Report::Done(_) | Report::Failed { .. });
            seen.push(event);
            if end {
                return seen;
            }
        }
    }

    /// Every report stored in `VOD_EVENTS` so far, by job, in order. Read from the stream, not
    /// a subscription, so none is missed while the queue server restarts, and a report sent
    /// twice is counted twice. Empty while the server cannot answer.
    pub async fn stored_reports(&self) -> HashMap<Uuid, Vec<Report>> {
        let mut by_job: HashMap<Uuid, Vec<Report>> = HashMap::new();
        let read = async {
            let stream = self.js.get_stream(jobs::EVENTS_STREAM).await.ok()?;
            let consumer = stream
                .create_consumer(consumer::pull::Config {
                    ack_policy: consumer::AckPolicy::None,
                    inactive_threshold: Duration::from_secs(5),
                    ..Default::default()
                })
                .await
                .ok()?;
            let pending = consumer.cached_info().num_pending;
            let mut events = Vec::new();
            if pending > 0 {
                let mut batch = consumer
                    .batch()
                    .max_messages(usize::try_from(pending).ok()?)
                    .expires(Duration::from_secs(5))
                    .messages()
                    .await
                    .ok()?;
                while let Some(message) = batch.next().await {
                    let message = message.ok()?;
                    events.push(serde_json::from_slice::<Event>(&message.payload).expect("event"));
                }
            }
            Some(events)
        };
        for event in tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
        {
            by_job.entry(event.job_id).or_default().push(event.report);
        }
        by_job
    }

    /// The stored reports of each of `jobs` once every one has ended (done or failed).
    pub async fn stored_until_end(
        &self,
        jobs: &[&Job],
        within: Duration,
    ) -> HashMap<Uuid, Vec<Report>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let stored = self.stored_reports().await;
            let ended = jobs.iter().all(|job| {
                stored.get(&job.job_id).is_some_and(|reports| {
                    reports
                        .iter()
                        .any(|r| matches!(r, Report::Done(_) | Report::Failed { .. }))
                })
            });
            if ended {
                return stored;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not every job ended within {within:?}; reports: {stored:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Messages in a stream, or `None` while the server cannot say.
    pub async fn messages_in_if_answering(&self, stream: &str) -> Option<u64> {
        let answer = async {
            let mut stream = self.js.get_stream(stream).await.ok()?;
            Some(stream.info().await.ok()?.state.messages)
        };
        tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .ok()
            .flatten()
    }

    /// Messages left in a stream.
    pub async fn messages_in(&self, stream: &str) -> u64 {
        let mut stream = self.js.get_stream(stream).await.expect("stream");
        stream.info().await.expect("info").state.messages
    }
}
