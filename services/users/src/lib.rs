//! ferrocast users service: accounts, sessions (JWT) and stream keys, over REST for browsers and
//! gRPC (`users.v1.Auth`) for the other services.
//!
//! Layout: `domain` (pure types and rules), `ports` (the traits of the store, the rate-limit
//! counters, the password hasher and the token issuer), `service` (use cases and their rate
//! limits), `adapters` (MongoDB, argon2, JWT, REST, gRPC), `startup` (wiring). Start it
//! in-process with [`start`] and a [`Config`] (e.g. [`Config::for_tests`]).

// In unit tests a panic is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod adapters;
pub mod config;
pub mod domain;
pub mod ports;
pub mod service;
mod startup;

pub use config::{Config, Secret, DEV_JWT_SECRET, DEV_SERVICE_TOKEN};
pub use domain::{RateLimit, RateLimits};
pub use startup::{start, Running, StartError};
