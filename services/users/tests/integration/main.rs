//! Integration tests of the users service: the service alone, in-process on port 0, on a real
//! document store (the test kit's [`Platform`] with [`Options::users`]), driven over its REST
//! API and its gRPC contract the way the browser and the other services drive it. One binary
//! (the workspace links it once), the log-capture test included: its capture is scoped to the
//! test's own runtime.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod grpc;
mod rate_limits;
mod secrets_in_logs;
mod signup_and_login;
mod store_outage;
mod stream_keys;
mod tokens;

use ferrocast_testkit::{Options, Platform};

/// Users alone on a throw-away document store.
pub async fn start_users() -> Platform {
    Platform::start(Options::users())
        .await
        .expect("users starts")
}
