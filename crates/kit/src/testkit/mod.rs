//! Test kit: starts the real dependencies integration tests talk to, on free loopback ports, and
//! gives every test its own namespace (database name, Redis key prefix) so tests run in parallel.
//!
//! Dependencies come from the environment when the test runner already started them
//! (`FERROCAST_TEST_MONGODB_URL`, `FERROCAST_TEST_REDIS_URL`), otherwise the kit starts its own.

mod document_store;
mod logs;
pub mod raw_h2;
mod tmpfs;

use std::{collections::BTreeSet, net::TcpListener, path::PathBuf, time::Duration};

pub use document_store::DocumentStore;
pub use logs::LogCapture;
pub use tmpfs::Tmpfs;

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
