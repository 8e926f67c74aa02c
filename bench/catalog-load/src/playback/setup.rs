//! What the playback figures run against: catalogue replicas sharing the world's database and a
//! Redis key prefix of the run's own, signed-in viewers (each with a client address of its
//! own), one playable video, and the run's Redis keys removed at the end.

use std::time::Duration;

use anyhow::{bail, Context};
use ferrocast_catalog::{Config, Running};
use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::world::World;

/// Per-account requests per second the replicas allow: the most the configuration takes, so
/// no request of the load is refused (any 429 is counted on its own).
pub const PER_SECOND: u32 = 1000;
/// The load's sessions per account: above what one account asks for in a run, so every
/// decision of the load is a grant (a refusal would be `denied`, as cheap a script).
pub const LOAD_LIMIT: u32 = 100;
/// The load's lease: nothing lapses during a run.
pub const LOAD_LEASE: Duration = Duration::from_secs(600);
const TIMEOUT: Duration = Duration::from_secs(10);

/// The world's catalogue as the load's first replica: its playback settings and a key prefix
/// of the run's own (every replica of the run keeps its keys under it).
pub fn configure(config: &mut Config) {
    let id = Uuid::new_v4().simple().to_string();
    let playback = &mut config.playback;
    playback.key_prefix = format!("ferrocast-bench-playback:{}:", &id[..12]);
    playback.limit = LOAD_LIMIT;
    playback.lease = LOAD_LEASE;
    playback.per_second = PER_SECOND;
}

/// One more catalogue in this process; stopped when dropped, or by [`Replica::stop`], which
/// waits until it has.
pub struct Replica {
    pub base: String,
    stop: CancellationToken,
    running: Option<Running>,
}

impl Replica {
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let stop = CancellationToken::new();
        let running = ferrocast_catalog::start(config, stop.clone())
            .await
            .context("a catalogue replica starts")?;
        Ok(Self {
            base: format!("http://{}", running.http_addr),
            stop,
            running: Some(running),
        })
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(running) = self.running.take() {
            running.wait().await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The world's catalogue config with other playback settings, its keys under `name` inside the
/// run's prefix (each limit and lease needs keys of its own: every replica's sweep hands slots
/// on with its own limit).
pub fn variant(world: &World, name: &str, limit: u32, lease: Duration) -> Config {
    let mut config = world.catalog.config.clone();
    config.playback.key_prefix = format!("{}{name}:", config.playback.key_prefix);
    config.playback.limit = limit;
    config.playback.lease = lease;
    config
}

/// A signed-in account and the address its requests come from.
#[derive(Clone)]
pub struct Viewer {
    pub token: String,
    pub client: String,
}

/// `count` new accounts, signed up a few at a time.
pub async fn viewers(world: &World, count: usize) -> Vec<Viewer> {
    let accounts: Vec<_> = futures::stream::iter(0..count)
        .map(|_| world.platform.account())
        .buffered(4)
        .collect()
        .await;
    accounts
        .into_iter()
        .enumerate()
        .map(|(i, account)| Viewer {
            token: account.token,
            client: format!("10.{}.{}.{}", 20 + i / 65_536, (i / 256) % 256, i % 256),
        })
        .collect()
}

/// One public video, processed, written straight into the catalogue's database (a session
/// needs a video with a master playlist; its files are never read).
pub async fn video(world: &World) -> anyhow::Result<Uuid> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(world.catalog.postgres.url()).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO media (id, owner_id, owner_name, kind, title, visibility, status, \
         content_type, size_bytes, sha256, created_at, updated_at, uploaded_at) \
         VALUES ($1, $2, 'bench', 'video', 'Playback bench', 'public', 'uploaded', 'video/mp4', \
         1000000, $3, now(), now(), now())",
    )
    .bind(id)
    .bind(Uuid::new_v4().to_string())
    .bind(vec![7u8; 32])
    .execute(&mut db)
    .await?;
    sqlx::query(
        "INSERT INTO media_jobs (media_id, job_id, state, percent, master, queued, queued_at, \
         started_at, playable_at, finished_at) \
         VALUES ($1, $2, 'done', 100, $3, true, now(), now(), now(), now())",
    )
    .bind(id)
    .bind(Uuid::new_v4())
    .bind(format!("media/{id}/master.m3u8"))
    .execute(&mut db)
    .await?;
    db.close().await.ok();
    Ok(id)
}

/// Asks for a session; the request id of the 202.
pub async fn ask(
    http: &reqwest::Client,
    base: &str,
    viewer: &Viewer,
    media: Uuid,
    wait: bool,
) -> anyhow::Result<String> {
    let response = http
        .post(format!("{base}/api/playback"))
        .bearer_auth(&viewer.token)
        .header("x-forwarded-for", &viewer.client)
        .json(&json!({"media_id": media, "device": "Bench", "wait": wait}))
        .timeout(TIMEOUT)
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::ACCEPTED {
        bail!("POST /api/playback: {}", response.status());
    }
    let body: serde_json::Value = response.json().await?;
    body["request_id"]
        .as_str()
        .map(str::to_owned)
        .context("a 202 without request_id")
}

/// Ends session `id` from another device of the account (`DELETE`).
pub async fn end(
    http: &reqwest::Client,
    base: &str,
    viewer: &Viewer,
    id: &str,
) -> anyhow::Result<()> {
    let response = http
        .delete(format!("{base}/api/playback/{id}"))
        .bearer_auth(&viewer.token)
        .header("x-forwarded-for", &viewer.client)
        .timeout(TIMEOUT)
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::NO_CONTENT {
        bail!("DELETE /api/playback/{{id}}: {}", response.status());
    }
    Ok(())
}

/// Removes every key under `prefix` (the run's sessions, queues and counters).
pub async fn forget(url: &str, prefix: &str) -> anyhow::Result<usize> {
    let client = redis::Client::open(url)?;
    let mut connection = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await??;
    let mut cursor: u64 = 0;
    let mut removed = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = tokio::time::timeout(
            TIMEOUT,
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection),
        )
        .await??;
        if !keys.is_empty() {
            removed += keys.len();
            let _: () = tokio::time::timeout(
                TIMEOUT,
                redis::cmd("UNLINK").arg(&keys).query_async(&mut connection),
            )
            .await??;
        }
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}

/// Redis's process id, when it runs on this machine (for its CPU time).
pub async fn redis_pid(url: &str) -> Option<u32> {
    let client = redis::Client::open(url).ok()?;
    let mut connection = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()?;
    let info: String = tokio::time::timeout(
        Duration::from_secs(2),
        redis::cmd("INFO")
            .arg("server")
            .query_async(&mut connection),
    )
    .await
    .ok()?
    .ok()?;
    let pid: u32 = info
        .lines()
        .find_map(|line| line.strip_prefix("process_id:"))?
        .trim()
        .parse()
        .ok()?;
    let command = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    command.contains("redis").then_some(pid)
}
