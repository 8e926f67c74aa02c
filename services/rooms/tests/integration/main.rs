//! Integration tests of the rooms service against real Redis, the real users service (on a real
//! document store), and for the drop-in case a real nginx-rtmp driven by a real ffmpeg. One test
//! binary (so the workspace links it once); every test has its own Redis key prefix and users.
//! Users comes from the test kit's [`Platform`] ([`Options::users`]); each test starts the rooms
//! instances it needs from [`ferrocast_testkit::platform::rooms::config`].
#![allow(clippy::unwrap_used)]

mod callbacks;
mod events;
mod lease;
mod nginx_rtmp;
mod redis_restart;
mod rest;
mod secrets_in_logs;

use ferrocast_testkit::{Options, Platform};

/// The users service alone on a throw-away document store.
pub async fn start_users() -> Platform {
    Platform::start(Options::users())
        .await
        .expect("users starts")
}
