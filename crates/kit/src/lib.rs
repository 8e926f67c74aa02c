//! ferrocast-kit: the few things every ferrocast service needs in the same form — typed config
//! from `FERROCAST_*` variables, tracing, Prometheus metrics, an HTTP server that enforces
//! header/body/time limits, health endpoints, shutdown and the rules for user-written text. Test support lives apart, in
//! `ferrocast-testkit` (crates/testkit).

pub mod admission;
pub mod client;
pub mod config;
pub mod fanout;
pub mod health;
pub mod http;
#[cfg(feature = "jobs")]
pub mod jobs;
pub mod metrics;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "sealing")]
pub mod sealing;
pub mod shutdown;
pub mod telemetry;
pub mod text;
