//! ferrocast-testkit: what every test suite of the workspace shares. Real dependencies on free
//! loopback ports (a document store, Redis databases, a redis-server a test may restart, tmpfs),
//! a namespace of its own for every test (database name, Redis key prefix) so tests run in
//! parallel, and with the service features [`platform::Platform`]: any subset of users, rooms,
//! ingest and gateway in-process on port 0, streamers made through the public REST API. Around
//! it: an ffmpeg publisher, one raw RTMP client for malformed input, raw HTTP/1 and HTTP/2 for
//! requests clients would normalise, HLS fetching, log capture and latency statistics.
//!
//! Dependencies come from the environment when the test runner already started them
//! (`FERROCAST_TEST_MONGODB_URL`, `FERROCAST_TEST_REDIS_URL`), otherwise the kit starts its own.
//! Nothing here is product code.

// A panic is how a test kit reports a broken precondition.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "catalog")]
pub mod catalog;
pub mod clip;
mod document_store;
pub mod hls;
pub mod http;
mod logs;
pub mod nats;
mod object_storage;
pub mod openapi;
#[cfg(feature = "users")]
pub mod platform;
mod postgres;
pub mod process;
pub mod publisher;
pub mod raw_h2;
pub mod redis_server;
pub mod rtmp;
pub mod stats;
mod tmpfs;

use std::{collections::BTreeSet, net::TcpListener, path::PathBuf, time::Duration};

pub use document_store::DocumentStore;
pub use logs::LogCapture;
pub use object_storage::{weed_binary, ObjectStorage};
pub use postgres::Postgres;
pub use tmpfs::Tmpfs;

#[cfg(feature = "users")]
pub use platform::{browser, Account, Options, Platform, Streamer};

/// The repository root (where `.ferrocast/` and `frontend/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// A port that was free a moment ago, for processes that cannot be told to bind port 0; never
/// one this process handed out before, since the kernel may give a port just closed out again at
/// once and two servers of one test would then collide.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<BTreeSet<u16>> = std::sync::Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// A name no other test uses: `prefix` + 12 random hex digits, lowercase (valid as a username,
/// database name and Redis prefix).
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}

/// Redis for tests: `FERROCAST_TEST_REDIS_URL` or the local default.
pub fn redis_url() -> String {
    std::env::var("FERROCAST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Waits until something accepts TCP connections on loopback `port` (a dependency the kit
/// started); `what` names it in the error after `timeout`.
async fn wait_until_listening(port: u16, what: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{what} did not listen on port {port} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Polls `url` until it answers 2xx or `timeout` passes.
pub async fn wait_until_ok(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(response) = client.get(url).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("{url} not ready after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serialises the tests that load the machine (ffmpeg publishers, floods, slowhttptest): CI has
/// two cores shared with other work, and two of these at once turn timing assertions into noise.
/// Hold the guard for the whole test.
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}

/// The soft limit on open files of this process, which holds every service's sockets and every
/// attacking client's: flood tests size themselves to fit.
pub fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}
