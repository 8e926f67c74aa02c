//! Test kit of ferrocast's cross-service fault and bad-input matrix (docs/reliability.md).
//!
//! [`Platform::start`] runs users, rooms, ingest and gateway in-process on loopback port 0
//! against a document store and Redis of the test's own (unique database and key prefix), with
//! the short timeouts and leases tests need. Around it: REST helpers that create streamers the
//! way a browser does ([`Platform::streamer`]), an ffmpeg publisher, a raw RTMP client for
//! malformed input, a Redis server the test may restart, raw HTTP for paths clients would
//! normalise, and latency statistics. Nothing here is product code.

// A panic is how a test kit reports a broken precondition.
#![allow(clippy::unwrap_used)]

pub mod hls;
pub mod http;
pub mod platform;
pub mod process;
pub mod publisher;
pub mod redis_server;
pub mod rtmp;
pub mod stats;

pub use platform::{Options, Platform, Streamer};

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
